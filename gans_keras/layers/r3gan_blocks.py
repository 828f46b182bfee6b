"""The building blocks of R3GAN's modernised ResNet (Huang et al. 2024, "The GAN is dead; long
live the GAN! A Modern GAN Baseline", config E): inverted-bottleneck residual blocks with a
grouped convolution and no normalisation, fix-up initialisation, and low-pass downsampling."""

from __future__ import annotations

import functools
import math

import keras
import numpy as np
from keras import layers, ops

LEAKY_SLOPE = 0.2
# He's gain for a leaky ReLU of slope 0.2: the variance a layer's input keeps through it.
LEAKY_GAIN = math.sqrt(2.0 / (1.0 + LEAKY_SLOPE**2))


def fan_in_normal(gain: float = 1.0) -> keras.initializers.Initializer:
    """N(0, gain^2 / fan_in), R3GAN's MSR initialisation (fan_in counts one group's inputs)."""
    if gain == 0:
        return keras.initializers.Zeros()
    return keras.initializers.VarianceScaling(gain**2, mode="fan_in", distribution="untruncated_normal")


@functools.cache
def native_grouped_convolution() -> bool:
    """Whether TensorFlow's own kernels compute a grouped convolution's gradient here: cuDNN on a
    GPU and oneDNN on an x86 CPU do; TensorFlow's plain CPU kernels (TF_ENABLE_ONEDNN_OPTS=0, or a
    CPU oneDNN does not serve) raise for the gradient. Probed once, eagerly, on a tiny input.
    False on another Keras backend, so that sampling under JAX never imports TensorFlow."""
    if keras.backend.backend() != "tensorflow":
        return False
    import tensorflow as tf

    with tf.init_scope():  # eager even while a train step traces; a tape would not record here
        x, kernel = tf.ones((1, 4, 4, 4)), tf.ones((3, 3, 2, 4))
        try:
            tf.raw_ops.Conv2DBackpropInput(input_sizes=tf.shape(x), filter=kernel, out_backprop=x,
                                           strides=[1, 1, 1, 1], padding="SAME")
            tf.raw_ops.Conv2DBackpropFilter(input=x, filter_sizes=tf.shape(kernel), out_backprop=x,
                                            strides=[1, 1, 1, 1], padding="SAME")
        except (tf.errors.InvalidArgumentError, tf.errors.UnimplementedError):
            return False
    return True


@keras.saving.register_keras_serializable(package="gans_keras")
class GroupedConv2D(layers.Conv2D):
    """keras.layers.Conv2D with `groups` that takes TensorFlow's grouped kernels where they have a
    gradient (`native_grouped_convolution`), and elsewhere one ordinary convolution per group,
    concatenated: the same variables and outputs either way. Keras' own grouped convolution runs
    through an XLA-compiled fallback on the TensorFlow backend, which made an R3GAN block 20x
    slower on a CPU; per-group convolutions cost one small op per group, forward and backward
    (96 a layer in the paper's CIFAR-10 network). benchmarks/README.md ("R3GAN") times both."""

    def convolution_op(self, inputs, kernel):
        if self.groups == 1:
            return super().convolution_op(inputs, kernel)
        channels_last = self.data_format == "channels_last"
        if native_grouped_convolution():
            import tensorflow as tf

            return tf.nn.convolution(inputs, kernel, strides=list(self.strides), padding=self.padding.upper(),
                                     dilations=list(self.dilation_rate),
                                     data_format="NHWC" if channels_last else "NCHW")
        axis = -1 if channels_last else 1
        pairs = zip(ops.split(inputs, self.groups, axis=axis), ops.split(kernel, self.groups, axis=-1), strict=True)
        return ops.concatenate([
            ops.conv(x, k, strides=list(self.strides), padding=self.padding, dilation_rate=self.dilation_rate,
                     data_format=self.data_format)
            for x, k in pairs
        ], axis=axis)


@keras.saving.register_keras_serializable(package="gans_keras")
class InvertedBottleneck(keras.layers.Layer):
    """x + conv1x1(act(grouped conv(act(conv1x1(x))))): (B, H, W, C) -> (B, H, W, C).

    The first 1x1 convolution widens C to C * expansion, the grouped 3x3 mixes space within groups
    of `group_width` channels, the last 1x1 narrows back. Each activation is a bias and a leaky
    ReLU (0.2). Fix-up initialisation: the last convolution starts at zero, so the block starts
    as the identity, and the other two are scaled by total_blocks^(-1/4), which keeps the
    variance of a stack of `total_blocks` blocks bounded as it trains (R3GAN's section 3.2).

    Args:
        expansion: width factor of the bottleneck's inner layers (the paper: 2).
        group_width: channels per group of the middle convolution (the paper's CIFAR-10 model:
            1536 channels in 96 groups, 16 each); must divide channels * expansion.
        kernel_size: of the middle convolution.
        total_blocks: residual blocks in the whole network, for the fix-up scaling.

    Example:
    >>> InvertedBottleneck(total_blocks=4)(keras.ops.zeros((2, 8, 8, 16))).shape
    TensorShape([2, 8, 8, 16])
    """

    def __init__(self, expansion: int = 2, group_width: int = 16, kernel_size: int = 3, total_blocks: int = 1,
                 **kwargs):
        super().__init__(**kwargs)
        if expansion < 1 or group_width < 1 or kernel_size < 1 or total_blocks < 1:
            raise ValueError(f"expansion, group_width, kernel_size and total_blocks must be >= 1, got "
                             f"{expansion}, {group_width}, {kernel_size}, {total_blocks}")
        self.expansion = expansion
        self.group_width = group_width
        self.kernel_size = kernel_size
        self.total_blocks = total_blocks

    def build(self, input_shape):
        channels = input_shape[-1]
        inner = channels * self.expansion
        if inner % self.group_width:
            raise ValueError(f"InvertedBottleneck: channels * expansion = {inner} is not a multiple of "
                             f"group_width {self.group_width}")
        # 3 linear layers a block: the fix-up exponent -1 / (2 * 3 - 2).
        gain = LEAKY_GAIN * self.total_blocks ** (-1.0 / 4.0)
        policy = self.dtype_policy
        self.expand = layers.Conv2D(inner, 1, kernel_initializer=fan_in_normal(gain), dtype=policy)
        self.mix = GroupedConv2D(inner, self.kernel_size, padding="same", groups=inner // self.group_width,
                                 kernel_initializer=fan_in_normal(gain), dtype=policy)
        self.project = layers.Conv2D(channels, 1, use_bias=False, kernel_initializer="zeros", dtype=policy)
        self.expand.build(input_shape)
        inner_shape = (*input_shape[:-1], inner)
        self.mix.build(inner_shape)
        self.project.build(inner_shape)

    def call(self, x):
        h = ops.leaky_relu(self.expand(x), LEAKY_SLOPE)
        h = ops.leaky_relu(self.mix(h), LEAKY_SLOPE)
        return x + self.project(h)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "expansion": self.expansion, "group_width": self.group_width,
                "kernel_size": self.kernel_size, "total_blocks": self.total_blocks}


@keras.saving.register_keras_serializable(package="gans_keras")
class BlurDownsample(keras.layers.Layer):
    """Halves H and W: the [1, 3, 3, 1] x [1, 3, 3, 1] / 64 low-pass filter at stride 2, R3GAN's
    (and StyleGAN2's) antialiased downsampling; each output is centred between two input pixels,
    as bilinear downsampling. (B, H, W, C) -> (B, H / 2, W / 2, C). The paper's code names the
    filter [1, 2, 1] and convolves it with [1, 1] to get these four taps.

    Example:
    >>> BlurDownsample()(keras.ops.ones((1, 8, 8, 3))).shape
    TensorShape([1, 4, 4, 3])
    """

    def build(self, input_shape):
        taps = np.array([1.0, 3.0, 3.0, 1.0])
        kernel = np.outer(taps, taps) / 64.0
        # Constant, not a weight: depthwise, the same filter on every channel.
        self.kernel = np.tile(kernel[:, :, None, None], (1, 1, input_shape[-1], 1)).astype("float32")

    def call(self, x):
        # One zero row and column on each side; "valid" then keeps H / 2 positions.
        x = ops.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]])
        return ops.depthwise_conv(x, ops.cast(self.kernel, x.dtype), strides=2, padding="valid")

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[1] // 2, input_shape[2] // 2, input_shape[3])


@keras.saving.register_keras_serializable(package="gans_keras")
class GenerativeBasis(keras.layers.Layer):
    """The generator's 4x4 start: a learned constant (4, 4, C), each channel scaled by a linear
    map of the latent. (B, D) -> (B, 4, 4, C).

    Example:
    >>> GenerativeBasis(8)(keras.ops.ones((2, 5))).shape
    TensorShape([2, 4, 4, 8])
    """

    def __init__(self, channels: int, **kwargs):
        super().__init__(**kwargs)
        if channels < 1:
            raise ValueError(f"channels must be >= 1, got {channels}")
        self.channels = channels

    def build(self, input_shape):
        self.basis = self.add_weight(shape=(4, 4, self.channels), initializer=keras.initializers.RandomNormal(0, 1),
                                     name="basis")
        self.linear = layers.Dense(self.channels, use_bias=False, kernel_initializer=fan_in_normal(),
                                   dtype=self.dtype_policy)
        self.linear.build(input_shape)

    def call(self, z):
        scales = self.linear(z)[:, None, None, :]  # (B, 1, 1, C)
        return ops.cast(self.basis, scales.dtype)[None] * scales

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 4, 4, self.channels)

    def get_config(self):
        return {**super().get_config(), "channels": self.channels}
