import keras
import numpy as np
import pytest
import tensorflow as tf

from gans_keras.augment import DiffAugment
from gans_keras.losses import LOSSES, ConsistencyPenalty, GradientPenalty, R1Penalty, R2Penalty, get_loss

REAL = tf.constant([[2.0], [-1.0]])
FAKE = tf.constant([[0.5], [-3.0]])


def softplus(x):
    return np.log1p(np.exp(x))


@pytest.mark.parametrize(
    "name, d_expected, g_expected",
    [
        ("bce", np.mean(softplus(-REAL.numpy())) + np.mean(softplus(FAKE.numpy())), np.mean(softplus(-FAKE.numpy()))),
        ("wasserstein", np.mean(FAKE) - np.mean(REAL), -np.mean(FAKE)),
        ("hinge", np.mean([0.0, 2.0]) + np.mean([1.5, 0.0]), -np.mean(FAKE)),
        ("lsgan", 0.5 * np.mean([1.0, 4.0]) + 0.5 * np.mean([0.25, 9.0]), 0.5 * np.mean([0.25, 16.0])),
        # Pairs (2, 0.5) and (-1, -3): D(real) - D(fake) = 1.5 and 2.
        ("rpgan", np.mean([softplus(-1.5), softplus(-2.0)]), np.mean([softplus(1.5), softplus(2.0)])),
    ],
)
def test_loss_values(name, d_expected, g_expected):
    loss = get_loss(name)
    assert float(loss.d_loss(REAL, FAKE)) == pytest.approx(d_expected, rel=1e-6)
    assert float(loss.g_loss(REAL, FAKE)) == pytest.approx(g_expected, rel=1e-6)
    # Only the relativistic generator loss reads the real outputs.
    assert float(loss.g_loss(REAL + 1.0, FAKE)) != pytest.approx(g_expected, rel=1e-6) if loss.g_uses_real else True


def test_unknown_loss_lists_choices():
    with pytest.raises(ValueError, match="unknown GAN loss 'kl'.*" + ", ".join(LOSSES)):
        get_loss("kl")


@pytest.mark.parametrize("scale", [0.3, 1.0, 2.5])
def test_gradient_penalty_of_linear_critic_is_exact(scale):
    rng = np.random.default_rng(0)
    w = rng.standard_normal((6, 6, 2)).astype("float32")
    w *= scale / np.linalg.norm(w)

    def critic(x):  # f(x) = w . x, whose gradient is w everywhere
        return tf.reduce_sum(x * w, axis=[1, 2, 3])[:, None]

    real = tf.constant(rng.standard_normal((16, 6, 6, 2)), tf.float32)
    fake = tf.constant(rng.standard_normal((16, 6, 6, 2)), tf.float32)
    penalty = GradientPenalty(10.0)(critic, real, fake, keras.random.SeedGenerator(0))
    assert float(penalty) == pytest.approx((scale - 1.0) ** 2, rel=1e-5, abs=1e-10)


def test_gradient_penalty_interpolates_uniformly():
    # f(x) = ||x||^2 / 2 has gradient x; with real = 1 and fake = 0, x_hat = eps * 1 and the
    # gradient norm is eps * sqrt(d): E[(eps sqrt(d) - 1)^2] = d/3 - sqrt(d) + 1 for U[0, 1].
    d = 16
    real, fake = tf.ones((20_000, 4, 4, 1)), tf.zeros((20_000, 4, 4, 1))

    def critic(x):
        return 0.5 * tf.reduce_sum(x**2, axis=[1, 2, 3])[:, None]

    penalty = float(GradientPenalty()(critic, real, fake, keras.random.SeedGenerator(1)))
    assert penalty == pytest.approx(d / 3 - np.sqrt(d) + 1, rel=0.03)


def test_gradient_penalty_rejects_negative_weight():
    with pytest.raises(ValueError, match="weight must be >= 0"):
        GradientPenalty(-1.0)


def _linear_critic(w):
    def critic(x):
        return tf.reduce_sum(x * w, axis=[1, 2, 3])[:, None]

    return critic


def test_r1_of_linear_critic_is_squared_norm():
    w = np.random.default_rng(2).standard_normal((4, 4, 1)).astype("float32")
    real = tf.random.normal((8, 4, 4, 1))
    penalty = R1Penalty(gamma=4.0)
    assert penalty.weight == 2.0
    value = float(penalty(_linear_critic(w), real, None, keras.random.SeedGenerator(0)))
    assert value == pytest.approx(float(np.sum(w**2)), rel=1e-5)


def test_r2_of_linear_critic_is_squared_norm_on_fakes():
    w = np.random.default_rng(4).standard_normal((4, 4, 1)).astype("float32")

    def critic(x):  # f(x) = sum(w x^2): gradient 2 w x, so the penalty reads the batch it is given
        return tf.reduce_sum(w * x**2, axis=[1, 2, 3])[:, None]

    real, fake = tf.random.normal((8, 4, 4, 1)), tf.random.normal((8, 4, 4, 1))
    penalty = R2Penalty(gamma=3.0)
    assert penalty.weight == 1.5 and penalty.name == "r2"
    value = float(penalty(critic, real, fake, keras.random.SeedGenerator(0)))
    expected = np.mean(np.sum((2 * w * fake.numpy()) ** 2, axis=(1, 2, 3)))
    assert value == pytest.approx(expected, rel=1e-5)
    assert value != pytest.approx(float(R1Penalty(3.0)(critic, real, fake, None)), rel=1e-3)
    with pytest.raises(ValueError, match="R2 gamma must be >= 0"):
        R2Penalty(-1.0)


def test_consistency_matches_its_definition():
    w = np.random.default_rng(3).standard_normal((16, 16, 1)).astype("float32")
    critic = _linear_critic(w)
    real, fake = tf.random.normal((6, 16, 16, 1)), tf.random.normal((6, 16, 16, 1))
    value = float(ConsistencyPenalty(1.0, seed=5)(critic, real, fake, None))
    shift = DiffAugment("translation", seed=5)  # the same random shifts, drawn in the same order
    expected = sum(float(tf.reduce_mean((critic(x) - critic(shift(x))) ** 2)) for x in (real, fake))
    assert value == pytest.approx(expected, rel=1e-5) and value > 0


def test_consistency_of_constant_critic_is_zero():
    def critic(x):
        return tf.ones((tf.shape(x)[0], 1))

    real = tf.random.normal((4, 8, 8, 1))
    assert float(ConsistencyPenalty(10.0, seed=0)(critic, real, real, None)) == 0.0
