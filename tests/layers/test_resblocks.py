import keras
import numpy as np
import pytest
import tensorflow as tf

from gans_keras.layers import ResBlockDown, ResBlockUp, SpectralNormalization


def test_up_block_shape_and_dtype():
    y = ResBlockUp(6)(tf.random.normal((2, 4, 4, 3)), training=True)
    assert y.shape == (2, 8, 8, 6) and y.dtype == tf.float32


@pytest.mark.parametrize("downsample, first, size", [(True, True, 3), (True, False, 3), (False, False, 7)])
def test_down_block_shapes(downsample, first, size):
    y = ResBlockDown(5, downsample=downsample, first=first)(tf.random.normal((2, 7, 7, 3)))
    assert y.shape == (2, size, size, 5)


def test_up_block_is_its_shortcut_when_the_main_path_is_zero():
    block = ResBlockUp(4)
    x = tf.random.normal((2, 4, 4, 3))
    block(x)
    block.conv2.kernel.assign(tf.zeros_like(block.conv2.kernel))
    block.conv2.bias.assign(tf.zeros_like(block.conv2.bias))
    expected = block.shortcut(tf.repeat(tf.repeat(x, 2, axis=1), 2, axis=2))  # nearest upsampling
    np.testing.assert_allclose(block(x), expected, rtol=1e-5, atol=1e-6)


def test_first_down_block_pools_before_its_shortcut():
    block = ResBlockDown(4, first=True)
    x = tf.random.normal((2, 8, 8, 3))
    block(x)
    block.conv2.kernel.assign(tf.zeros_like(block.conv2.kernel))
    block.conv2.bias.assign(tf.zeros_like(block.conv2.bias))
    expected = block.shortcut(tf.nn.avg_pool2d(x, 2, 2, "VALID"))
    np.testing.assert_allclose(block(x), expected, rtol=1e-5, atol=1e-6)


def test_spectral_norm_blocks_normalise_their_kernels():
    block = ResBlockDown(4, spectral_norm=True)
    x = tf.random.normal((2, 8, 8, 3))
    for _ in range(20):
        block(x, training=True)
    assert isinstance(block.conv1, SpectralNormalization)
    kernel = keras.ops.convert_to_numpy(block.conv1.layer.kernel)
    top = np.linalg.svd(kernel.reshape(-1, kernel.shape[-1]), compute_uv=False)[0]
    assert top / float(block.conv1.sigma_and_u()[0]) == pytest.approx(1.0, abs=0.05)  # what the block computes with


@pytest.mark.parametrize("layer", [ResBlockUp(4, kernel_initializer="orthogonal"),
                                   ResBlockDown(4, downsample=False, first=True, spectral_norm=True)])
def test_config_and_keras_file_round_trip(layer, tmp_path):
    clone = type(layer).from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    inputs = keras.Input((8, 8, 3))
    model = keras.Model(inputs, layer(inputs))
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    x = np.random.default_rng(0).standard_normal((2, 8, 8, 3)).astype("float32")
    np.testing.assert_allclose(loaded(x), model(x), rtol=1e-5, atol=1e-6)


def test_bad_filters():
    with pytest.raises(ValueError, match="filters must be >= 1"):
        ResBlockUp(0)
