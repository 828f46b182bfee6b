"""Each sampler's update rule, and DPM-Solver++'s order on data whose exact denoiser is known."""

import keras
import numpy as np
import pytest
from keras import ops

from gans_keras.samplers import SAMPLERS
from gans_keras.samplers.ddim import DDIM
from gans_keras.samplers.ddpm import DDPM
from gans_keras.samplers.dpmpp_2m import DPMSolverPP2M
from gans_keras.samplers.dpmpp_2m_sde import DPMSolverPP2MSDE
from gans_keras.samplers.loop import DiffusionSampler
from gans_keras.schedules import NoiseSchedule

MU, S = 0.3, 0.5  # the data: N(MU, S^2 I)


class GaussianDenoiser(keras.Model):
    """The exact E[eps | x_t] for data N(mu, s^2 I): x_t ~ N(sqrt(abar) mu, (abar s^2 + 1 - abar) I),
    so E[eps | x_t] = sqrt(1 - abar) (x_t - sqrt(abar) mu) / (abar s^2 + 1 - abar)."""

    def __init__(self, alpha_bars, mu=MU, s=S):
        super().__init__()
        a = np.asarray(alpha_bars)  # coefficients in float64, then float32: 1 - abar is tiny at t = 0
        self.scale = ops.convert_to_tensor(np.sqrt(1 - a) / (a * s**2 + 1 - a), "float32")
        self.shift = ops.convert_to_tensor(np.sqrt(a) * mu, "float32")

    def call(self, inputs, training=False):
        x, t = inputs

        def pick(values):
            return ops.reshape(ops.take(values, t), (-1, 1, 1, 1))

        return pick(self.scale) * (x - pick(self.shift))


def ode_solution(schedule, noise):
    """Along the probability-flow ODE (x_t - sqrt(abar_t) mu) / sqrt(abar_t s^2 + 1 - abar_t) stays
    constant, so x_T = noise at t = T-1 ends at mu + s times that constant."""
    a = schedule.alpha_bars[-1]
    return MU + S * (noise - np.sqrt(a) * MU) / np.sqrt(a * S**2 + 1 - a)


@pytest.fixture(scope="module")
def gaussian():
    schedule = NoiseSchedule("linear", 1000)
    noise = np.random.default_rng(0).standard_normal((256, 4, 4, 1)).astype("float32")
    return schedule, GaussianDenoiser(schedule.alpha_bars), noise


def ode_error(gaussian, sampler, steps, spacing):
    schedule, network, noise = gaussian
    images = DiffusionSampler(network, schedule, sampler=sampler, steps=steps, spacing=spacing,
                              clip_x0=False).generate(noise)
    return float(np.sqrt(np.mean((images - ode_solution(schedule, noise)) ** 2)))


def test_dpmpp_2m_at_10_steps_beats_ddim_at_40(gaussian):
    dpm = ode_error(gaussian, "dpmpp_2m", 10, "logsnr")
    for spacing in ("linear", "logsnr"):
        assert dpm < ode_error(gaussian, "ddim", 40, spacing)


def test_dpmpp_2m_is_second_order_and_ddim_first(gaussian):
    # Halving the step in log-SNR divides the error by about 4 for a second-order method, 2 for DDIM.
    dpm = [ode_error(gaussian, "dpmpp_2m", steps, "logsnr") for steps in (20, 40)]
    ddim = [ode_error(gaussian, "ddim", steps, "logsnr") for steps in (20, 40)]
    assert dpm[0] / dpm[1] > 3.0
    assert 1.7 < ddim[0] / ddim[1] < 2.3
    assert dpm[0] < ddim[0] / 5


def test_dpmpp_2m_sde_matches_the_data_spread_where_ddpm_at_as_few_steps_does_not():
    schedule = NoiseSchedule("linear", 1000)
    network = GaussianDenoiser(schedule.alpha_bars)
    noise = np.random.default_rng(1).standard_normal((20_000, 1, 1, 1)).astype("float32")

    def spread(sampler):
        images = DiffusionSampler(network, schedule, sampler=sampler, steps=20, spacing="logsnr",
                                  clip_x0=False).generate(noise, seed=3)
        return images.mean(), images.std()

    mean, std = spread("dpmpp_2m_sde")
    assert mean == pytest.approx(MU, abs=0.01) and std == pytest.approx(S, abs=0.03)
    assert spread("ddpm")[1] < S - 0.05  # ancestral sampling at 20 steps under-disperses


def _step_inputs(shape=(3, 4, 4, 1)):
    rng = np.random.default_rng(2)
    return [rng.standard_normal(shape).astype("float32") for _ in range(4)]  # x, x0, eps, noise


@pytest.mark.parametrize("first_order, partner", [(DPMSolverPP2M, DDIM), (DPMSolverPP2MSDE, DDPM)])
def test_first_dpmpp_steps_are_ddim_and_ddpm_steps(first_order, partner):
    # Without a previous x_0 the ODE solver's step is DDIM's (eta 0), the SDE solver's DDPM's posterior.
    alpha_bars = NoiseSchedule("cosine", 100).alpha_bars
    x, x0, eps, noise = _step_inputs()
    solver, reference = first_order(alpha_bars), partner(alpha_bars)
    solver.set_timesteps(7, "quadratic")
    reference.set_timesteps(7, "quadratic")
    abar = alpha_bars[solver.timesteps[2]]
    eps = (x - np.sqrt(abar) * x0) / np.sqrt(1 - abar)  # a consistent pair, as the loop gives
    np.testing.assert_allclose(solver.step(2, x, x0, eps, noise), reference.step(2, x, x0, eps, noise),
                               rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", ["dpmpp_2m", "dpmpp_2m_sde"])
def test_dpmpp_second_order_step_and_last_step(name):
    alpha_bars = NoiseSchedule("linear", 100).alpha_bars
    solver = SAMPLERS[name](alpha_bars)
    timesteps = solver.set_timesteps(5, "logsnr")
    x, x0, earlier, noise = _step_inputs()
    first = solver.step(1, x, x0, None, noise)
    second = solver.step(1, x, x0, None, noise, (earlier,))
    # The second-order term: half the x_0 coefficient times (x0 - x0') / r, r = h' / h.
    r = solver.h[0] / solver.h[1]
    np.testing.assert_allclose(second - first, solver.x0_coef[1] * 0.5 * (x0 - earlier) / r, rtol=1e-4, atol=1e-5)
    assert timesteps[-1] == 0
    np.testing.assert_allclose(solver.step(4, x, x0, None, noise, (earlier,)), x0, rtol=1e-6)  # sigma_prev = 0


def test_ddim_eta_is_refused_by_the_other_samplers():
    network = GaussianDenoiser(NoiseSchedule("linear", 50).alpha_bars)
    sampler = DiffusionSampler(network, NoiseSchedule("linear", 50), sampler="ddim", steps=5, eta=1.0)
    with pytest.raises(ValueError, match="eta applies to the ddim sampler only, not to dpmpp_2m"):
        sampler.configure(sampler="dpmpp_2m")
    assert sampler.configure(sampler="dpmpp_2m", eta=0.0).sampler == "dpmpp_2m"
    with pytest.raises(ValueError, match="eta must be >= 0"):
        sampler.configure(sampler="ddim", eta=-1.0)
