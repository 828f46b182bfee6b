import keras
import numpy as np
import pytest
import tensorflow as tf

from gans_keras.layers import AttentionBlock
from gans_keras.networks.unet import build_unet


@pytest.mark.parametrize("size, mults", [(28, (1, 2, 2)), (32, (1, 2, 2, 2)), (64, (1, 1, 2, 2))])
def test_output_matches_input_shape_and_starts_at_zero(size, mults):
    unet = build_unet(size, 3, width=8, channel_mults=mults, res_blocks=1)
    x = tf.random.normal((2, size, size, 3))
    y = unet([x, tf.constant([0, 999])])
    assert y.shape == x.shape and y.dtype == tf.float32
    np.testing.assert_array_equal(y.numpy(), 0.0)  # zero-initialised output conv


def test_attention_only_at_low_resolutions():
    unet = build_unet(32, 1, width=8, channel_mults=(1, 2, 2, 2), res_blocks=1, attention_resolution=8)
    sizes = {layer.output.shape[1] for layer in unet.layers if isinstance(layer, AttentionBlock)}
    assert sizes == {8, 4}
    none = build_unet(32, 1, width=8, channel_mults=(1, 2), res_blocks=1, attention_resolution=0)
    assert not [layer for layer in none.layers if isinstance(layer, AttentionBlock)]


@pytest.mark.parametrize("size", [27, 28, 30])
@pytest.mark.parametrize("padding", ["reflect", "zero"])
def test_sizes_the_levels_do_not_divide_are_padded_and_cropped_back(size, padding):
    from gans_keras.layers.diffusion import SpatialPad

    pad = -size % 4  # three levels: multiples of 4
    x = tf.random.normal((2, size, size, 1))
    padded = SpatialPad(pad // 2, pad - pad // 2, padding)(x)
    assert padded.shape[1:3] == (size + pad, size + pad)
    cropped = keras.layers.Cropping2D(((pad // 2, pad - pad // 2),) * 2)(padded)
    np.testing.assert_array_equal(cropped.numpy(), x.numpy())  # the round trip
    if pad // 2 and padding == "reflect":  # the row above the image mirrors its second row
        np.testing.assert_array_equal(padded[:, pad // 2 - 1, pad // 2:pad // 2 + size].numpy(), x[:, 1].numpy())
    unet = build_unet(size, 1, width=8, channel_mults=(1, 2, 2), res_blocks=1, padding=padding, learn_sigma=True)
    for weight in unet.weights:
        weight.assign(tf.random.normal(weight.shape, stddev=0.1))
    y = unet([x, tf.constant([3, 4])])
    assert y.shape == (2, size, size, 2)  # the prediction and v
    assert ("pad" in {layer.name for layer in unet.layers}) == bool(pad)


def test_reflect_padding_refuses_a_size_smaller_than_its_padding():
    with pytest.raises(ValueError, match="too small to reflect-pad"):
        build_unet(3, 1, width=8, channel_mults=(1, 1, 1, 1), res_blocks=1)
    assert build_unet(3, 1, width=8, channel_mults=(1, 1, 1, 1), res_blocks=1, padding="zero").output.shape[1] == 3


@pytest.mark.parametrize("activation, initializer", [("gelu", "he"), ("mish", "orthogonal"), ("relu", "glorot")])
def test_activation_and_initializer_options_reach_the_blocks_and_reload(activation, initializer, tmp_path):
    from gans_keras.layers.diffusion import GroupNormSiLU, ResidualBlock

    unet = build_unet(8, 1, width=8, channel_mults=(1, 2), res_blocks=1, activation=activation,
                      initializer=initializer)
    blocks = [layer for layer in unet.layers if isinstance(layer, ResidualBlock)]
    assert {block.norm1.activation for block in blocks} == {activation}
    assert unet.get_layer("out_norm").activation == activation
    norm = GroupNormSiLU(1, activation)
    x = tf.random.normal((1, 2, 2, 4))
    normalized = keras.layers.GroupNormalization(1)(x)
    np.testing.assert_allclose(norm(x).numpy(), keras.activations.get(activation)(normalized).numpy(), atol=1e-5)
    stem = unet.get_layer("stem").kernel.numpy().reshape(-1, 8)
    if initializer == "orthogonal":  # 9 inputs (3x3x1) by 8 outputs: orthonormal columns
        np.testing.assert_allclose(stem.T @ stem, np.eye(8), atol=1e-5)
    if initializer == "he":  # std sqrt(2 / fan_in), fan_in 9 (truncated normal)
        assert 0.25 < stem.std() < 0.6
    t = tf.constant([5])
    path = tmp_path / "unet.keras"
    for weight in unet.weights:
        weight.assign(tf.random.normal(weight.shape, stddev=0.1))
    unet.save(path)
    loaded = keras.saving.load_model(path)
    x = tf.random.normal((1, 8, 8, 1))
    np.testing.assert_allclose(loaded([x, t]).numpy(), unet([x, t]).numpy(), atol=1e-5)
    with pytest.raises(ValueError, match="initializer must be one of"):
        build_unet(8, 1, channel_mults=(1, 2), initializer="lecun")


def test_class_and_context_conditioning_change_the_output(tmp_path):
    unet = build_unet(28, 1, width=8, channel_mults=(1, 2), res_blocks=1, num_classes=10, context_dim=6,
                      attention_resolution=14)
    assert unet.get_layer("label_embedding").input_dim == 11  # 10 classes + "no label"
    for weight in unet.weights:  # random weights everywhere, zero-initialised ones included
        weight.assign(tf.random.normal(weight.shape, stddev=0.1))
    x, t = tf.random.normal((2, 28, 28, 1)), tf.constant([10, 10])
    context, mask = tf.random.normal((2, 4, 6)), tf.constant([[True, True, True, False]] * 2)
    base = unet([x, t, tf.constant([1, 1]), context, mask]).numpy()
    assert not np.allclose(base, unet([x, t, tf.constant([2, 2]), context, mask]).numpy())
    assert not np.allclose(base, unet([x, t, tf.constant([1, 1]), tf.random.normal((2, 4, 6)), mask]).numpy())
    assert not np.allclose(base, unet([x, tf.constant([500, 500]), tf.constant([1, 1]), context, mask]).numpy())
    # A masked context position (padding) changes nothing, whatever it holds.
    padded = tf.concat([context[:, :3], tf.random.normal((2, 1, 6))], axis=1)
    np.testing.assert_allclose(unet([x, t, tf.constant([1, 1]), padded, mask]).numpy(), base, atol=1e-5)
    path = tmp_path / "unet.keras"
    unet.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(loaded([x, t, tf.constant([1, 1]), context, mask]).numpy(), base, atol=1e-5)


@pytest.mark.parametrize("conditioning, cross_first", [("pooled", False), ("both", True), ("cross", True)])
def test_text_conditioning_kinds_read_the_context_and_ignore_padding(conditioning, cross_first):
    unet = build_unet(16, 1, width=8, channel_mults=(1, 2), res_blocks=1, context_dim=6, attention_resolution=8,
                      text_conditioning=conditioning, cross_attention_first=cross_first)
    names = {layer.name for layer in unet.layers}
    assert ("text_proj" in names) == (conditioning != "cross")
    crosses = {layer.cross_attention is not None for layer in unet.layers if isinstance(layer, AttentionBlock)}
    assert crosses == {conditioning != "pooled"}
    for weight in unet.weights:
        weight.assign(tf.random.normal(weight.shape, stddev=0.1))
    x, t = tf.random.normal((2, 16, 16, 1)), tf.constant([10, 10])
    context, mask = tf.random.normal((2, 5, 6)), tf.constant([[True] * 3 + [False] * 2] * 2)
    base = unet([x, t, context, mask]).numpy()
    assert not np.allclose(base, unet([x, t, tf.random.normal((2, 5, 6)), mask]).numpy())
    padded = tf.concat([context[:, :3], tf.random.normal((2, 2, 6))], axis=1)
    np.testing.assert_allclose(unet([x, t, padded, mask]).numpy(), base, atol=1e-5)


def test_unknown_text_conditioning_is_refused():
    with pytest.raises(ValueError, match="text_conditioning must be one of cross, pooled, both"):
        build_unet(16, 1, context_dim=4, text_conditioning="concat")
