"""Improved DDPM's pieces: the learned variance, the terms of the variational bound, importance
sampling of t, and the bound in bits/dim."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf
from scipy.stats import norm

from gans_keras.likelihood import (
    BIN,
    discretized_gaussian_log_likelihood,
    model_log_variance,
    nll_bits_per_dim,
    normal_kl,
    prior_term,
    vlb_term,
)
from gans_keras.models.timestep_importance import TimestepImportance
from gans_keras.samplers.loop import DiffusionSampler
from gans_keras.schedules import NoiseSchedule


def test_the_variance_interpolation_runs_from_beta_tilde_at_zero_to_beta_at_one():
    schedule = NoiseSchedule("linear", 100)
    t = tf.constant([1, 50, 99])
    like = tf.zeros((3, 2, 2, 1))
    small = model_log_variance(schedule, t, like, tf.zeros_like(like)).numpy()[:, 0, 0, 0]
    large = model_log_variance(schedule, t, like, tf.ones_like(like)).numpy()[:, 0, 0, 0]
    np.testing.assert_allclose(small, np.log(schedule.posterior_variance[[1, 50, 99]]), rtol=1e-5)
    np.testing.assert_allclose(large, np.log(schedule.betas[[1, 50, 99]]), rtol=1e-5)
    half = model_log_variance(schedule, t, like, tf.fill(like.shape, 0.5)).numpy()[:, 0, 0, 0]
    np.testing.assert_allclose(half, (small + large) / 2, rtol=1e-5)
    # Fixed: beta~, with beta~_0 = 0 read at t = 1.
    fixed = model_log_variance(schedule, tf.constant([0, 1]), like[:2]).numpy()[:, 0, 0, 0]
    np.testing.assert_allclose(fixed, np.log(schedule.posterior_variance[[1, 1]]), rtol=1e-5)


def test_normal_kl_is_the_gaussian_kl():
    m1, s1, m2, s2 = 1.0, 2.0, -0.5, 0.7
    by_hand = math.log(s2 / s1) + (s1**2 + (m1 - m2) ** 2) / (2 * s2**2) - 0.5
    kl = normal_kl(tf.constant(m1), tf.constant(2 * math.log(s1)), tf.constant(m2), tf.constant(2 * math.log(s2)))
    np.testing.assert_allclose(float(kl), by_hand, rtol=1e-6)
    assert float(normal_kl(tf.constant(0.3), tf.constant(-1.0), tf.constant(0.3), tf.constant(-1.0))) == 0.0


def test_the_decoder_likelihood_is_the_gaussian_mass_of_the_pixel_bin():
    levels = np.array([0, 1, 100, 254, 255])
    x = levels / 127.5 - 1.0
    mean, std = np.array([-0.98, -1.0, 0.1, 0.95, 0.5]), np.array([0.02, 0.1, 0.05, 0.03, 0.3])
    upper = np.where(levels == 255, 1.0, norm.cdf((x + BIN - mean) / std))
    lower = np.where(levels == 0, 0.0, norm.cdf((x - BIN - mean) / std))
    expected = np.log(upper - lower)
    got = discretized_gaussian_log_likelihood(tf.constant(x, tf.float32), tf.constant(mean, tf.float32),
                                              tf.constant(np.log(std), tf.float32)).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-4)


def test_vlb_terms_are_zero_for_the_true_posterior_and_the_decoder_at_t0():
    schedule = NoiseSchedule("linear", 50)
    x0 = tf.constant(np.random.default_rng(0).integers(0, 256, (3, 4, 4, 1)) / 127.5 - 1.0, tf.float32)
    t = tf.constant([0, 10, 49])
    x_t = schedule.q_sample(x0, t, tf.random.stateless_normal(x0.shape, [1, 2]))
    terms = vlb_term(schedule, x0, x_t, t, x0).numpy()
    assert np.all(np.abs(terms[1:]) < 1e-6)  # the model's posterior is q's: no KL
    sigma = math.sqrt(schedule.posterior_variance[1])
    interior = -np.log(2 * norm.cdf(BIN / sigma) - 1) / math.log(2)  # the mean sits on the pixel
    edge = -np.log(norm.cdf(BIN / sigma)) / math.log(2)
    on_edge = np.isin(np.round((x0[0].numpy() + 1) * 127.5), (0, 255)).mean()
    np.testing.assert_allclose(terms[0], (1 - on_edge) * interior + on_edge * edge, rtol=1e-4)


def test_bits_per_dim_of_noise_images_under_the_true_posterior_is_the_closed_form():
    """Uniformly random pixel levels, scored by a model whose x_0 prediction is the truth: every
    KL term is zero, so the bound is the decoder's bin mass at its own mean and the prior term."""
    schedule = NoiseSchedule("cosine", 20)
    levels = np.random.default_rng(1).integers(0, 256, (5, 6, 6, 1))
    images = (levels / 127.5 - 1.0).astype(np.float32)

    def predict(x_t, t, labels):  # one batch holds every image
        return tf.constant(images), None

    result = nll_bits_per_dim(predict, schedule, images, batch_size=5)
    sigma = math.sqrt(schedule.posterior_variance[1])
    edge = np.isin(levels, (0, 255))
    decoder = np.where(edge, -np.log(norm.cdf(BIN / sigma)), -np.log(2 * norm.cdf(BIN / sigma) - 1)) / math.log(2)
    abar = schedule.alpha_bars[-1]
    prior = 0.5 * (-np.log(1 - abar) + (1 - abar) + abar * images**2 - 1) / math.log(2)
    np.testing.assert_allclose(result["bits_per_dim"], (decoder + prior).mean(), rtol=1e-4)
    np.testing.assert_allclose(result["prior_bits_per_dim"], prior.mean(), rtol=1e-4)
    np.testing.assert_allclose(prior_term(schedule, tf.constant(images)),
                               prior.reshape(5, -1).mean(axis=1), rtol=1e-4)
    assert result["images"] == 5 and len(result["terms"]) == 20 and np.allclose(result["terms"][1:], 0, atol=1e-5)


def test_importance_sampling_is_uniform_until_full_then_proportional_to_the_root_mean_square():
    layer = TimestepImportance(4, history_length=3, uniform_mix=0.0)
    np.testing.assert_allclose(layer.probabilities().numpy(), 0.25)
    # t = 3 seen five times in one batch keeps its last three values.
    layer.update(tf.constant([0, 1, 2, 3, 3, 3, 3, 3]), tf.constant([1.0, 2.0, 3.0, 9.0, 9.0, 4.0, 4.0, 4.0]))
    np.testing.assert_allclose(layer.probabilities().numpy(), 0.25)  # t = 0, 1, 2 have one value each
    layer.update(tf.constant([0, 0, 1, 1, 2, 2]), tf.constant([1.0, 1.0, 2.0, 2.0, 6.0, 6.0]))
    rms = np.sqrt([1.0, 4.0, (9 + 36 + 36) / 3, 16.0])
    np.testing.assert_allclose(layer.probabilities().numpy(), rms / rms.sum(), rtol=1e-6)
    np.testing.assert_allclose(layer.history.numpy()[3], [4.0, 4.0, 4.0])
    np.testing.assert_array_equal(layer.counts.numpy(), [3, 3, 3, 5])
    # A new value replaces the oldest one.
    layer.update(tf.constant([2]), tf.constant([0.0]))
    rms[2] = np.sqrt((0 + 36 + 36) / 3)
    np.testing.assert_allclose(layer.probabilities().numpy(), rms / rms.sum(), rtol=1e-6)
    # Draws follow p, and each example's weight is 1 / (T p_t).
    t, weights = layer.sample(20_000, keras.random.SeedGenerator(0))
    p = rms / rms.sum()
    np.testing.assert_allclose(np.bincount(t.numpy(), minlength=4) / 20_000, p, atol=0.01)
    np.testing.assert_allclose(weights.numpy(), 1 / (4 * p[t.numpy()]), rtol=1e-6)
    mixed = TimestepImportance(4, history_length=3, uniform_mix=0.1)
    mixed.history.assign(layer.history)
    mixed.counts.assign(layer.counts)
    np.testing.assert_allclose(mixed.probabilities().numpy(), 0.9 * p + 0.1 / 4, rtol=1e-6)


def _network(learned: bool) -> keras.Model:
    """eps = 0.3 x_t, and v = 0 when `learned`."""
    x_t = keras.Input((4, 4, 1))
    t = keras.Input((), dtype="int32")
    eps = keras.layers.Rescaling(0.3)(x_t)
    out = keras.layers.Concatenate()([eps, keras.layers.Rescaling(0.0)(x_t)]) if learned else eps
    return keras.Model([x_t, t], out)


@pytest.mark.parametrize("steps", [1000, 25])
def test_a_learned_variance_at_beta_tilde_samples_as_the_fixed_sampler(steps):
    schedule = NoiseSchedule("linear", 1000)
    noise = np.random.default_rng(0).standard_normal((2, 4, 4, 1)).astype(np.float32)
    fixed = DiffusionSampler(_network(False), schedule, sampler="ddpm", steps=steps)
    learned = DiffusionSampler(_network(True), schedule, sampler="ddpm", steps=steps)
    assert learned.learned_variance and not fixed.learned_variance
    np.testing.assert_allclose(learned(noise, seed=4), fixed(noise, seed=4), rtol=1e-5, atol=1e-5)


def test_a_learned_variance_at_beta_samples_with_the_larger_noise():
    schedule = NoiseSchedule("linear", 1000)
    sampler = DiffusionSampler(_network(True), schedule, sampler="ddpm", steps=10)
    x = tf.zeros((1, 4, 4, 1))
    noise = tf.ones((1, 4, 4, 1))
    method = sampler.method
    small = method.step(3, x, x, x, noise, variance_frac=tf.zeros_like(x)).numpy()
    large = method.step(3, x, x, x, noise, variance_frac=tf.ones_like(x)).numpy()
    np.testing.assert_allclose(small, method.std[3], rtol=1e-5)
    np.testing.assert_allclose(large, method.large_std[3], rtol=1e-5)
    assert method.large_std[3] > method.std[3]
