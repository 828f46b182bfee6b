import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from gans_keras.layers import r3gan_blocks
from gans_keras.layers.r3gan_blocks import (
    LEAKY_GAIN,
    BlurDownsample,
    GenerativeBasis,
    GroupedConv2D,
    InvertedBottleneck,
)


def test_inverted_bottleneck_starts_as_the_identity_and_learns_a_residual():
    block = InvertedBottleneck(group_width=8, total_blocks=4)
    x = np.random.default_rng(0).normal(size=(2, 8, 8, 16)).astype("float32")
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(block(x)), x)  # zero-initialised last layer
    assert block.mix.groups == 32 // 8 and block.expand.filters == 32 and not block.project.use_bias
    block.project.kernel.assign(np.ones(block.project.kernel.shape, "float32") * 0.01)
    assert not np.allclose(keras.ops.convert_to_numpy(block(x)), x)


def test_inverted_bottleneck_fixup_initialisation_scale():
    total_blocks = 16
    block = InvertedBottleneck(expansion=2, group_width=16, total_blocks=total_blocks)
    block.build((None, 8, 8, 128))
    expected = LEAKY_GAIN * total_blocks ** -0.25
    # N(0, gain^2 / fan_in); the grouped convolution's fan-in is one group's 3 x 3 x 16 inputs.
    for layer, fan_in in ((block.expand, 128), (block.mix, 9 * 16)):
        kernel = keras.ops.convert_to_numpy(layer.kernel)
        assert kernel.std() * np.sqrt(fan_in) == pytest.approx(expected, rel=0.05)
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer.bias), 0.0)


def test_inverted_bottleneck_refuses_groups_that_do_not_divide():
    with pytest.raises(ValueError, match="channels \\* expansion = 20 is not a multiple of group_width 16"):
        InvertedBottleneck()(np.zeros((1, 4, 4, 10), "float32"))


def test_inverted_bottleneck_round_trips_its_config():
    block = InvertedBottleneck(expansion=3, group_width=4, kernel_size=5, total_blocks=6)
    config = block.get_config()
    clone = InvertedBottleneck.from_config(config)
    assert (clone.expansion, clone.group_width, clone.kernel_size, clone.total_blocks) == (3, 4, 5, 6)


def test_blur_downsample_is_the_1331_filter_between_pixel_pairs():
    x = np.random.default_rng(1).normal(size=(2, 8, 6, 3)).astype("float32")
    out = keras.ops.convert_to_numpy(BlurDownsample()(x))
    taps = np.array([1.0, 3.0, 3.0, 1.0]) / 8
    padded = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    expected = np.zeros((2, 4, 3, 3))
    for i in range(4):
        for j in range(3):
            # Taps on pixels 2i-1 .. 2i+2: centred between 2i and 2i+1.
            window = padded[:, 2 * i : 2 * i + 4, 2 * j : 2 * j + 4, :]
            expected[:, i, j] = np.einsum("bhwc,h,w->bc", window, taps, taps)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)
    # Away from the zero border a constant image stays constant (the filter sums to 1).
    constant = keras.ops.convert_to_numpy(BlurDownsample()(np.ones((1, 8, 8, 1), "float32")))
    np.testing.assert_allclose(constant[0, 1:3, 1:3], 1.0, rtol=1e-6)


def test_generative_basis_scales_a_learned_constant_by_a_linear_map_of_z():
    layer = GenerativeBasis(6)
    z = np.random.default_rng(2).normal(size=(3, 5)).astype("float32")
    out = keras.ops.convert_to_numpy(layer(z))
    basis = keras.ops.convert_to_numpy(layer.basis)
    scales = z @ keras.ops.convert_to_numpy(layer.linear.kernel)
    np.testing.assert_allclose(out, basis[None] * scales[:, None, None, :], rtol=1e-5)
    assert basis.std() == pytest.approx(1.0, abs=0.3)  # N(0, 1), as the paper's basis


@pytest.mark.parametrize("native", [True, False], ids=["tensorflow_kernel", "per_group"])
def test_grouped_conv_equals_keras_grouped_conv_with_first_and_second_gradients(native, monkeypatch):
    if native and not r3gan_blocks.native_grouped_convolution():
        pytest.fail("TensorFlow's grouped convolution has no gradient here: is oneDNN off?")
    monkeypatch.setattr(r3gan_blocks, "native_grouped_convolution", lambda: native)
    x = tf.random.normal((2, 6, 6, 12))
    ours = GroupedConv2D(8, 3, padding="same", groups=4, bias_initializer="ones")
    keras_conv = keras.layers.Conv2D(8, 3, padding="same", groups=4)
    ours.build(x.shape)
    keras_conv.build(x.shape)
    keras_conv.set_weights(ours.get_weights())  # the same variables: ours' kernel and bias fit Keras' layer
    results = []
    for layer in (ours, keras_conv):
        with tf.GradientTape() as outer:
            with tf.GradientTape(persistent=True) as tape:
                tape.watch(x)
                y = layer(x)
                loss = tf.reduce_sum(tf.square(y))
            input_gradient = tape.gradient(loss, x)
            penalty = tf.reduce_sum(tf.square(input_gradient))  # R1's shape: a gradient of the input gradient
        results.append([y, input_gradient, *tape.gradient(loss, layer.trainable_variables),
                        *outer.gradient(penalty, layer.trainable_variables)])
    for a, b in zip(*results, strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-5)


def test_grouped_conv_falls_back_to_per_group_convolutions_where_tensorflow_has_no_gradient():
    # TensorFlow's CPU kernels without oneDNN raise for a grouped convolution's gradient.
    script = ("import tensorflow as tf\n"
              "from gans_keras.layers.r3gan_blocks import GroupedConv2D, native_grouped_convolution\n"
              "layer = GroupedConv2D(8, 3, padding='same', groups=4)\n"
              "x = tf.random.normal((2, 6, 6, 12))\n"
              "with tf.GradientTape() as tape:\n"
              "    loss = tf.reduce_sum(layer(x))\n"
              "gradients = tape.gradient(loss, layer.trainable_variables)\n"
              "print(native_grouped_convolution(), [tuple(g.shape) for g in gradients])\n")
    env = {**os.environ, "TF_ENABLE_ONEDNN_OPTS": "0", "CUDA_VISIBLE_DEVICES": ""}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "False [(3, 3, 3, 8), (8,)]"
