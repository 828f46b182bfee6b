import numpy as np
import pytest
import tensorflow as tf

from gans_keras.schedules import NoiseSchedule


@pytest.mark.parametrize("kind", ["linear", "cosine"])
def test_alpha_bar_decreases_from_one_to_near_zero(kind):
    schedule = NoiseSchedule(kind, 1000)
    assert np.all(np.diff(schedule.alpha_bars) < 0)
    assert 0.99 < schedule.alpha_bars[0] < 1.0
    assert schedule.alpha_bars[-1] < 1e-4
    assert np.all((schedule.betas > 0) & (schedule.betas <= 0.999))


def test_linear_endpoints_are_ho_et_al():
    schedule = NoiseSchedule("linear", 1000)
    assert schedule.betas[0] == pytest.approx(1e-4) and schedule.betas[-1] == pytest.approx(0.02)
    np.testing.assert_allclose(schedule.alpha_bars, np.cumprod(1 - np.linspace(1e-4, 0.02, 1000)))


def test_cosine_alpha_bar_is_the_closed_form():
    s, T = 0.008, 1000
    schedule = NoiseSchedule("cosine", T)
    t = np.arange(1, T + 1)
    closed = np.cos((t / T + s) / (1 + s) * np.pi / 2) ** 2 / np.cos(s / (1 + s) * np.pi / 2) ** 2
    # Equal until the 0.999 clip of beta takes over at the very end.
    np.testing.assert_allclose(schedule.alpha_bars[:-5], closed[:-5], rtol=1e-10)


def test_q_sample_has_the_stated_mean_and_variance():
    schedule = NoiseSchedule("linear", 1000)
    n = 200_000
    x0 = np.full((n, 1), 0.7, np.float32)
    for t in (0, 250, 999):
        noise = tf.random.stateless_normal((n, 1), seed=(t, 1))
        x_t = schedule.q_sample(x0, np.full(n, t), noise).numpy()
        abar = schedule.alpha_bars[t]
        assert x_t.mean() == pytest.approx(np.sqrt(abar) * 0.7, abs=4 * np.sqrt((1 - abar) / n) + 1e-6)
        assert x_t.var() == pytest.approx(1 - abar, rel=0.01)


def test_posterior_mean_of_the_true_x0_recovers_its_scale():
    # q(x_{t-1} | x_t, x0) averaged over x_t is q(x_{t-1} | x0): mean sqrt(abar_{t-1}) x0.
    schedule = NoiseSchedule("cosine", 100)
    n, t = 100_000, 40
    x0 = np.full((n, 1), -0.5, np.float32)
    x_t = schedule.q_sample(x0, np.full(n, t), tf.random.stateless_normal((n, 1), seed=(3, 4)))
    mean = schedule.posterior_mean(x0, x_t, np.full(n, t)).numpy().mean()
    assert mean == pytest.approx(np.sqrt(schedule.alpha_bars[t - 1]) * -0.5, abs=0.005)


def test_v_target_definition():
    schedule = NoiseSchedule("linear", 100)
    x0, noise, t = np.ones((1, 2), np.float32), np.full((1, 2), 2.0, np.float32), np.array([5])
    abar = schedule.alpha_bars[5]
    expected = np.sqrt(abar) * 2 - np.sqrt(1 - abar)
    np.testing.assert_allclose(schedule.v_target(x0, t, noise).numpy(), expected, rtol=1e-6)


@pytest.mark.parametrize("kwargs, message", [
    (dict(kind="quadratic"), "noise_schedule must be one of linear, cosine, got 'quadratic'"),
    (dict(timesteps=1), "timesteps"),
    (dict(timesteps=10), "too small"),
])
def test_bad_schedules_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        NoiseSchedule(**kwargs)


@pytest.mark.parametrize("prediction", ["eps", "v"])
def test_min_snr_weights_are_the_papers(prediction):
    schedule = NoiseSchedule("linear", 1000)
    t = np.array([0, 100, 500, 999])
    snr = schedule.alpha_bars[t] / (1 - schedule.alpha_bars[t])
    assert snr[0] > 5 > snr[-1]  # steps on both sides of gamma
    expected = np.minimum(snr, 5.0) / (snr if prediction == "eps" else snr + 1)
    weights = schedule.min_snr_weights(tf.constant(t), 5.0, prediction).numpy()
    np.testing.assert_allclose(weights, expected, rtol=1e-6)
    if prediction == "eps":  # high noise keeps L_simple's weight; t = 0 has SNR 1/beta_1 - 1
        assert weights[-1] == 1.0 and weights[0] == pytest.approx(5.0 / (1 / 1e-4 - 1), rel=1e-5)
