import numpy as np
import pytest

from gans_keras.samplers import sampling_timesteps
from gans_keras.samplers.timesteps import LOGSNR_MIN, distinct, log_snr
from gans_keras.schedules import NoiseSchedule


def _abar(timesteps, kind="linear"):
    return NoiseSchedule(kind, timesteps).alpha_bars


def test_sampling_timesteps_cover_the_range_descending():
    steps = sampling_timesteps(_abar(1000), 50)
    assert len(steps) == 50 and steps[0] == 999 and steps[-1] == 0
    assert np.all(np.diff(steps) < 0)
    np.testing.assert_array_equal(sampling_timesteps(_abar(10, "cosine"), 10), np.arange(10)[::-1])
    with pytest.raises(ValueError, match="sampling steps"):
        sampling_timesteps(_abar(10, "cosine"), 11)


@pytest.mark.parametrize("spacing", ["quadratic", "logsnr"])
@pytest.mark.parametrize("kind", ["linear", "cosine"])
@pytest.mark.parametrize("timesteps, steps", [(1000, 50), (1000, 10), (1000, 200), (1000, 1000), (50, 7), (4000, 3)])
def test_spacings_are_distinct_and_span_the_range(timesteps, steps, kind, spacing):
    chosen = sampling_timesteps(_abar(timesteps, kind), steps, spacing)
    assert len(chosen) == steps and chosen[0] == timesteps - 1 and chosen[-1] == 0
    assert np.all(np.diff(chosen) < 0)
    if steps == timesteps:
        np.testing.assert_array_equal(chosen, np.arange(timesteps)[::-1])


def test_quadratic_spacing_follows_the_square_law_denser_at_low_noise():
    chosen = sampling_timesteps(_abar(1000), 50, "quadratic")[::-1]
    index = np.arange(10, 50)  # past the first steps, which are pushed apart to stay distinct
    np.testing.assert_allclose(chosen[index], (index / 49) ** 2 * 999, atol=0.5)
    gaps = np.diff(chosen)
    assert gaps[0] < gaps[-1]
    with pytest.raises(ValueError, match="timestep_spacing must be one of linear, quadratic, logsnr, got 'cubic'"):
        sampling_timesteps(_abar(1000), 50, "cubic")


@pytest.mark.parametrize("kind", ["linear", "cosine"])
def test_logsnr_spacing_is_even_in_log_snr(kind):
    alpha_bars = _abar(1000, kind)
    chosen = sampling_timesteps(alpha_bars, 20, "logsnr")
    lambdas = log_snr(alpha_bars)
    even = np.linspace(max(lambdas[-1], LOGSNR_MIN), lambdas[0], 20)
    # Each chosen timestep is the one whose lambda is nearest its even target; the first is T-1.
    nearest = np.abs(lambdas[None, :] - even[:, None]).argmin(axis=1)
    assert chosen[0] == 999
    np.testing.assert_array_equal(chosen[1:], nearest[1:])
    gaps = np.diff(lambdas[chosen[1:]])
    np.testing.assert_allclose(gaps, gaps.mean(), rtol=0.25)  # even up to the rounding to whole timesteps


def test_distinct_pushes_dense_ends_apart_within_the_range():
    np.testing.assert_array_equal(distinct(np.array([0, 0, 0, 5, 9, 9]), 10), [0, 1, 2, 5, 8, 9])
    np.testing.assert_array_equal(distinct(np.array([0, 9, 9, 9]), 10), [0, 7, 8, 9])
