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


def test_image_size_must_fit_the_levels():
    with pytest.raises(ValueError, match="not divisible"):
        build_unet(28, 1, channel_mults=(1, 2, 2, 2))


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
