"""Residual blocks of the SN-GAN ResNet generator and discriminator (Miyato et al. 2018,
after Gulrajani et al. 2017): pre-activation, 3x3 convolutions, learnable 1x1 shortcuts."""

from __future__ import annotations

import keras
from keras import layers

from gans_keras.layers.batch_norm import batch_norm
from gans_keras.layers.spectral_norm import SpectralNormalization


def _conv(filters, kernel_size, initializer, spectral_norm, dtype):
    conv = layers.Conv2D(filters, kernel_size, padding="same", kernel_initializer=initializer, dtype=dtype)
    return SpectralNormalization(conv, dtype=dtype) if spectral_norm else conv


@keras.saving.register_keras_serializable(package="gans_keras")
class ResBlockUp(keras.layers.Layer):
    """BN-ReLU-upsample-conv-BN-ReLU-conv, plus upsample-conv1x1 shortcut: (B, H, W, C) -> (B, 2H, 2W, filters).

    Args:
        filters: output channels.
        kernel_initializer: initializer of every convolution (a Keras initializer or its name).

    Example:
    >>> ResBlockUp(16)(keras.ops.zeros((2, 4, 4, 8))).shape
    TensorShape([2, 8, 8, 16])
    """

    def __init__(self, filters: int, kernel_initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        if filters < 1:
            raise ValueError(f"filters must be >= 1, got {filters}")
        self.filters = filters
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.norm1 = batch_norm(dtype=self.dtype_policy)
        self.norm2 = batch_norm(dtype=self.dtype_policy)
        self.upsample = layers.UpSampling2D(2, dtype=self.dtype_policy)
        self.conv1 = _conv(filters, 3, self.kernel_initializer, False, self.dtype_policy)
        self.conv2 = _conv(filters, 3, self.kernel_initializer, False, self.dtype_policy)
        self.shortcut = _conv(filters, 1, self.kernel_initializer, False, self.dtype_policy)

    def build(self, input_shape):
        self.norm1.build(input_shape)
        self.upsample.build(input_shape)
        up_shape = (input_shape[0], input_shape[1] * 2, input_shape[2] * 2, input_shape[3])
        self.conv1.build(up_shape)
        self.norm2.build((*up_shape[:3], self.filters))
        self.conv2.build((*up_shape[:3], self.filters))
        self.shortcut.build(up_shape)

    def call(self, x, training=None):
        h = self.upsample(keras.activations.relu(self.norm1(x, training=training)))  # (B, 2H, 2W, C)
        h = self.conv1(h)
        h = self.conv2(keras.activations.relu(self.norm2(h, training=training)))  # (B, 2H, 2W, filters)
        return h + self.shortcut(self.upsample(x))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[1] * 2, input_shape[2] * 2, self.filters)

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
        }


@keras.saving.register_keras_serializable(package="gans_keras")
class ResBlockDown(keras.layers.Layer):
    """ReLU-conv-ReLU-conv[-avgpool], plus conv1x1[-avgpool] shortcut; no normalisation
    (the discriminator's penalties need per-sample outputs).

    Args:
        filters: output channels.
        downsample: halve the resolution (2x2 average pooling, odd sizes rounded down).
        first: the "optimised" first block: no activation before its first convolution,
            and pooling before the shortcut's convolution.
        spectral_norm: wrap the convolutions in `gans_keras.layers.SpectralNormalization`.
        kernel_initializer: initializer of every convolution.
    """

    def __init__(self, filters: int, downsample: bool = True, first: bool = False, spectral_norm: bool = False,
                 kernel_initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        if filters < 1:
            raise ValueError(f"filters must be >= 1, got {filters}")
        self.filters = filters
        self.downsample = downsample
        self.first = first
        self.spectral_norm = spectral_norm
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.conv1 = _conv(filters, 3, self.kernel_initializer, spectral_norm, self.dtype_policy)
        self.conv2 = _conv(filters, 3, self.kernel_initializer, spectral_norm, self.dtype_policy)
        self.shortcut = _conv(filters, 1, self.kernel_initializer, spectral_norm, self.dtype_policy)
        self.pool = layers.AveragePooling2D(2, dtype=self.dtype_policy)

    def build(self, input_shape):
        self.conv1.build(input_shape)
        self.conv2.build((*input_shape[:3], self.filters))
        if self.first and self.downsample:
            self.shortcut.build((input_shape[0], input_shape[1] // 2, input_shape[2] // 2, input_shape[3]))
        else:
            self.shortcut.build(input_shape)

    def call(self, x, training=None):
        h = x if self.first else keras.activations.relu(x)
        h = self.conv2(keras.activations.relu(self.conv1(h, training=training)), training=training)
        if self.downsample:
            h = self.pool(h)  # (B, H/2, W/2, filters)
        if self.first:
            skip = self.shortcut(self.pool(x) if self.downsample else x, training=training)
        else:
            skip = self.shortcut(x, training=training)
            skip = self.pool(skip) if self.downsample else skip
        return h + skip

    def compute_output_shape(self, input_shape):
        scale = 2 if self.downsample else 1
        return (input_shape[0], input_shape[1] // scale, input_shape[2] // scale, self.filters)

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "downsample": self.downsample,
            "first": self.first,
            "spectral_norm": self.spectral_norm,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
        }
