import itertools

import keras
import numpy as np
import pytest
import tensorflow as tf

from gans_keras.augment import DiffAugment


def test_shape_and_dtype_preserved():
    x = tf.random.uniform((4, 28, 28, 1), -1, 1)
    y = DiffAugment(seed=0)(x)
    assert y.shape == x.shape and y.dtype == x.dtype


def test_empty_policy_is_identity():
    x = tf.random.uniform((4, 16, 16, 3), -1, 1)
    np.testing.assert_array_equal(DiffAugment("", seed=0)(x), x)


@pytest.mark.parametrize("policy", ["color", "translation", "cutout", "color,translation,cutout"])
def test_gradients_reach_the_input(policy):
    x = tf.random.uniform((4, 16, 16, 3), -1, 1)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.reduce_sum(DiffAugment(policy, seed=0)(x) ** 2)
    grad = tape.gradient(y, x)
    assert grad is not None and float(tf.reduce_sum(tf.abs(grad))) > 0


def _expected_kept_fraction_translation(size, ratio):
    shift = int(size * ratio + 0.5)
    # Output pixels read from the zero padding: a fraction |t| / size per axis.
    kept = np.mean([(size - abs(t)) / size for t in range(-shift, shift + 1)])
    return kept**2


def _expected_cut_fraction(size, ratio):
    cut = int(size * ratio + 0.5)
    # Centre uniform over size + 1 - cut % 2 places; the square is clipped by the border.
    lengths = [
        len(set(range(c - cut // 2, c - cut // 2 + cut)) & set(range(size)))
        for c in range(size + 1 - cut % 2)
    ]
    return (np.mean(lengths) / size) ** 2


def test_translation_zeroes_the_expected_fraction():
    x = tf.ones((4000, 32, 32, 1))
    y = DiffAugment("translation", seed=1)(x).numpy()
    kept = (y == 1.0).mean()
    assert kept == pytest.approx(_expected_kept_fraction_translation(32, 0.125), abs=2e-3)
    # Every output is the input shifted: ones form one rectangle touching two borders.
    assert set(np.unique(y)) == {0.0, 1.0}


def test_cutout_zeroes_the_expected_fraction():
    x = tf.ones((4000, 32, 32, 1))
    y = DiffAugment("cutout", seed=2)(x).numpy()
    per_image = (y == 0.0).mean(axis=(1, 2, 3))
    assert per_image.max() <= 0.25 + 1e-9  # at most a 16x16 square
    assert per_image.mean() == pytest.approx(_expected_cut_fraction(32, 0.5), abs=3e-3)


def test_translation_shifts_content():
    x = np.zeros((1, 8, 8, 1), np.float32)
    x[0, 3, 4, 0] = 1.0
    outs = [DiffAugment("translation", seed=s)(x).numpy()[0, :, :, 0] for s in range(40)]
    positions = {tuple(np.argwhere(o == 1.0)[0]) for o in outs if o.max() == 1.0}
    # A shift of at most 1 pixel (8 * 0.125) in each direction: the 3x3 neighbourhood.
    assert positions == set(itertools.product((2, 3, 4), (3, 4, 5)))


def test_color_keeps_grayscale_structure_and_varies_per_sample():
    x = tf.random.uniform((8, 16, 16, 1), -1, 1)
    y = DiffAugment("color", seed=0)(x).numpy()
    means = y.mean(axis=(1, 2, 3)) - x.numpy().mean(axis=(1, 2, 3))
    assert np.std(means) > 0.05  # brightness differs between samples


def test_unknown_transform_named():
    with pytest.raises(ValueError, match=r"unknown DiffAugment transform\(s\) \['flip'\]"):
        DiffAugment("color,flip")


def test_config_round_trip_and_serialisation(tmp_path):
    layer = DiffAugment("translation,cutout", translation_ratio=0.25, cutout_ratio=0.3, seed=7)
    clone = DiffAugment.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    inputs = keras.Input((16, 16, 3))
    model = keras.Model(inputs, DiffAugment("cutout", seed=3)(inputs))
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert loaded.layers[-1].get_config()["policy"] == "cutout"
