import keras
import numpy as np
import pytest
import tensorflow as tf

from gans_keras.layers import MinibatchStdDev


def test_shape_and_dtype():
    y = MinibatchStdDev(4)(tf.random.normal((8, 5, 5, 3)))
    assert y.shape == (8, 5, 5, 4) and y.dtype == tf.float32


def test_identical_samples_give_zero_std():
    x = tf.tile(tf.random.normal((1, 4, 4, 2)), [8, 1, 1, 1])
    y = MinibatchStdDev(4, epsilon=0.0)(x).numpy()
    np.testing.assert_array_equal(y[..., -1], 0.0)
    np.testing.assert_array_equal(y[..., :-1], x.numpy())


def test_value_matches_numpy_per_group():
    x = np.random.default_rng(0).standard_normal((6, 3, 3, 2)).astype("float32")
    y = MinibatchStdDev(3, epsilon=0.0)(x).numpy()
    # Groups interleave: group of sample i is {i, i + 2, i + 4} for a batch of 6 and size 3.
    for i in range(6):
        members = x[i % 2 :: 2]
        assert y[i, 0, 0, -1] == pytest.approx(members.std(axis=0).mean(), rel=1e-5)
        assert np.all(y[i, ..., -1] == y[i, 0, 0, -1])


def test_indivisible_batch_uses_whole_batch():
    x = np.random.default_rng(1).standard_normal((5, 2, 2, 1)).astype("float32")
    y = MinibatchStdDev(4, epsilon=0.0)(x).numpy()
    np.testing.assert_allclose(y[:, 0, 0, -1], x.std(axis=0).mean(), rtol=1e-5)


def test_gradient_is_finite_for_identical_samples():
    x = tf.ones((4, 2, 2, 1))
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.reduce_sum(MinibatchStdDev(4)(x))
    assert np.all(np.isfinite(tape.gradient(y, x).numpy()))


def test_config_and_keras_file_round_trip(tmp_path):
    layer = MinibatchStdDev(2, epsilon=1e-6)
    assert MinibatchStdDev.from_config(layer.get_config()).get_config() == layer.get_config()
    inputs = keras.Input((4, 4, 3))
    model = keras.Model(inputs, MinibatchStdDev(2)(inputs))
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    x = np.random.default_rng(2).standard_normal((4, 4, 4, 3)).astype("float32")
    np.testing.assert_allclose(loaded(x), model(x), rtol=1e-6)


def test_bad_group_size():
    with pytest.raises(ValueError, match="group_size must be >= 1, got 0"):
        MinibatchStdDev(0)
