import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from gans_keras import rng
from gans_keras.layers import AttentionBlock, ResidualBlock, SinusoidalEmbedding
from gans_keras.layers.diffusion import GroupNormSiLU


def _round_trip(model, tmp_path):
    path = tmp_path / "m.keras"
    model.save(path)
    return keras.saving.load_model(path)


def test_timestep_embedding_values_at_known_t():
    t = np.array([0, 1, 250, 999])
    y = SinusoidalEmbedding(16)(t).numpy()
    assert y.shape == (4, 16) and y.dtype == np.float32
    np.testing.assert_array_equal(y[0], [1.0] * 8 + [0.0] * 8)
    # Frequency i is 10000^(-i/8); check every entry against the formula.
    frequencies = 10_000.0 ** (-np.arange(8) / 8)
    for row, step in zip(y, t, strict=True):
        np.testing.assert_allclose(row, np.concatenate([np.cos(step * frequencies), np.sin(step * frequencies)]),
                                   atol=1e-4)
    assert y[1, 0] == pytest.approx(math.cos(1.0)) and y[1, 8] == pytest.approx(math.sin(1.0))


def test_timestep_embedding_needs_an_even_size():
    with pytest.raises(ValueError, match="even"):
        SinusoidalEmbedding(7)


def test_residual_block_shapes_and_identity_at_init():
    x, emb = tf.random.normal((2, 8, 8, 6)), tf.random.normal((2, 12))
    same = ResidualBlock(6, dropout=0.1)
    # The second conv starts at zero, so the block is its shortcut: here the identity.
    np.testing.assert_allclose(same([x, emb]).numpy(), x.numpy(), atol=1e-6)
    wider = ResidualBlock(10, groups=4)
    y = wider([x, emb])
    assert y.shape == (2, 8, 8, 10)
    np.testing.assert_allclose(y.numpy(), wider.skip(x).numpy(), atol=1e-6)


def test_residual_block_uses_the_embedding():
    block = ResidualBlock(4, groups=2)
    x = tf.random.normal((1, 4, 4, 4))
    block([x, tf.zeros((1, 3))])
    block.conv2.kernel.assign(tf.random.normal(block.conv2.kernel.shape))
    assert not np.allclose(block([x, tf.zeros((1, 3))]).numpy(), block([x, tf.ones((1, 3))]).numpy())


def test_attention_block_is_identity_at_init_and_mixes_positions_once_trained():
    x = tf.random.normal((2, 4, 4, 8))
    block = AttentionBlock(heads=2)
    np.testing.assert_allclose(block(x).numpy(), x.numpy(), atol=1e-6)
    block.proj.kernel.assign(tf.random.normal(block.proj.kernel.shape))
    changed = x.numpy().copy()
    changed[0, 0, 0] += 1.0  # one position of one image
    delta = block(changed).numpy() - block(x).numpy()
    assert np.abs(delta[0, 3, 3]).max() > 1e-4  # a far position sees it: attention is global
    np.testing.assert_allclose(delta[1], 0.0, atol=1e-6)  # the other image does not


def test_cross_attention_reads_the_context():
    x = tf.random.normal((2, 4, 4, 8))
    context = tf.random.normal((2, 5, 6))  # 5 random context vectors of size 6
    block = AttentionBlock(heads=2)
    y = block([x, context])
    assert y.shape == x.shape
    block.cross_proj.kernel.assign(tf.random.normal(block.cross_proj.kernel.shape))
    other = block([x, tf.random.normal((2, 5, 6))]).numpy()
    assert not np.allclose(block([x, context]).numpy(), other)
    with pytest.raises(ValueError, match="context"):
        block(x)


def test_attention_heads_must_divide_channels():
    with pytest.raises(ValueError, match="heads"):
        AttentionBlock(heads=3)(tf.zeros((1, 2, 2, 8)))


def test_layers_survive_a_keras_round_trip(tmp_path):
    x_in = keras.Input((8, 8, 4))
    t_in = keras.Input((), dtype="int32")
    context_in = keras.Input((3, 5))
    emb = SinusoidalEmbedding(6)(t_in)
    h = ResidualBlock(8, dropout=0.2, groups=4)([x_in, emb])
    h = AttentionBlock(heads=2, groups=4)([h, context_in])
    model = keras.Model([x_in, t_in, context_in], h)
    for layer in model.layers:  # non-zero output weights, so the check means something
        for name in ("conv2", "proj", "cross_proj"):
            if hasattr(layer, name):
                getattr(layer, name).kernel.assign(tf.random.normal(getattr(layer, name).kernel.shape))
    inputs = [tf.random.normal((2, 8, 8, 4)), tf.constant([3, 700]), tf.random.normal((2, 3, 5))]
    loaded = _round_trip(model, tmp_path)
    np.testing.assert_allclose(loaded(inputs).numpy(), model(inputs).numpy(), atol=1e-5)
    block = next(layer for layer in loaded.layers if isinstance(layer, ResidualBlock))
    assert (block.channels, block.dropout_rate, block.groups) == (8, 0.2, 4)


@pytest.mark.parametrize("dtype, tolerance", [("float32", 1e-6), ("mixed_bfloat16", 2e-2)])
def test_group_norm_silu_equals_group_norm_then_silu_in_values_and_gradients(dtype, tolerance):
    """float32 runs the plain ops, bf16 the XLA-compiled kernel: each against GroupNormalization
    then SiLU under the same policy, as relative errors of whole tensors."""
    x = tf.random.stateless_normal((2, 6, 6, 8), seed=(1, 2))
    fused = GroupNormSiLU(4, dtype=dtype)
    reference = keras.layers.GroupNormalization(4, dtype=dtype)
    fused.build(x.shape)
    reference.build(x.shape)
    for variable, value in zip(fused.weights, (np.linspace(0.5, 2, 8), np.linspace(-1, 1, 8)), strict=True):
        variable.assign(value)
    for variable, source in zip(reference.weights, fused.weights, strict=True):
        variable.assign(source)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y_fused = tf.cast(fused(x), "float32")
        y_reference = tf.cast(keras.activations.silu(reference(x)), "float32")
        loss_fused = tf.reduce_sum(y_fused * tf.sin(x))
        loss_reference = tf.reduce_sum(y_reference * tf.sin(x))
    pairs = [(y_fused, y_reference), *zip(tape.gradient(loss_fused, [x, *fused.trainable_weights]),
                                          tape.gradient(loss_reference, [x, *reference.trainable_weights]),
                                          strict=True)]
    for a, b in pairs:
        assert np.linalg.norm(a - b) <= tolerance * np.linalg.norm(b)


@pytest.mark.parametrize("rate", [0.1, 0.3, 0.5])
def test_dropout_mask_is_the_uniform_draw_compared_with_the_rate(rate):
    inputs = tf.ones((4, 16, 16, 8))
    dropped = rng.dropout(inputs, rate, keras.random.SeedGenerator(5))
    kept = rng.uniform(inputs.shape, keras.random.SeedGenerator(5)) >= rate
    np.testing.assert_array_equal(dropped.numpy() != 0, kept.numpy())
    np.testing.assert_allclose(dropped.numpy()[kept.numpy()], 1 / (1 - rate), rtol=1e-6)


def test_cross_attention_mask_and_order():
    x, context = tf.random.normal((2, 4, 4, 8)), tf.random.normal((2, 5, 6))
    mask = tf.constant([[True, True, False, False, False], [True] * 5])
    blocks = [AttentionBlock(heads=2, groups=4, cross_first=first) for first in (False, True)]
    for block in blocks:
        block([x, context, mask])
    blocks[1].set_weights(blocks[0].get_weights())
    for weight in blocks[0].weights:  # non-zero output projections, so both branches act
        weight.assign(tf.random.normal(weight.shape, stddev=0.3))
    blocks[1].set_weights(blocks[0].get_weights())
    self_then_cross, cross_then_self = (block([x, context, mask]).numpy() for block in blocks)
    assert not np.allclose(self_then_cross, cross_then_self)  # the order is a real choice
    # What the mask hides (the first sample's last three positions) changes nothing.
    hidden = tf.concat([context[:, :2], tf.random.normal((2, 3, 6))], axis=1)
    np.testing.assert_allclose(blocks[0]([x, hidden, mask]).numpy()[0], self_then_cross[0], atol=1e-5)
    assert not np.allclose(blocks[0]([x, hidden, mask]).numpy()[1], self_then_cross[1])
    assert AttentionBlock.from_config(blocks[1].get_config()).cross_first


@pytest.mark.parametrize("cross_first", [False, True])
def test_cross_attention_scores_are_the_weights_the_block_uses(cross_first):
    x, context = tf.random.normal((2, 4, 4, 8)), tf.random.normal((2, 5, 6))
    mask = tf.constant([[True, True, False, False, False], [True] * 5])
    block = AttentionBlock(heads=2, groups=4, cross_first=cross_first)
    block([x, context, mask])
    for weight in block.weights:
        weight.assign(tf.random.normal(weight.shape, stddev=0.3))
    output, scores = block._forward([x, context, mask], with_scores=True)
    # Keras computes the scores on its explicit softmax path; the output matches the fast one's.
    np.testing.assert_allclose(output.numpy(), block([x, context, mask]).numpy(), atol=1e-5)
    scores = block.cross_attention_scores([x, context, mask]).numpy()
    assert scores.shape == (2, 2, 16, 5)
    np.testing.assert_allclose(scores.sum(axis=-1), 1.0, rtol=1e-5)
    assert np.all(scores[0, :, :, 2:] == 0) and np.all(scores[1] > 0)
    self_only = AttentionBlock(heads=2, groups=4)
    self_only(x)
    with pytest.raises(ValueError, match="has no cross-attention"):
        self_only.cross_attention_scores(x)
