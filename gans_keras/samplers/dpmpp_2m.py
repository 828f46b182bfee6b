"""DPM-Solver++(2M) (Lu et al. 2022): multistep, second order, in data (x_0) prediction."""

from __future__ import annotations

import numpy as np

from gans_keras.samplers.base import Sampler
from gans_keras.samplers.timesteps import log_snr


class DPMSolverPP2M(Sampler):
    """Solves the probability-flow ODE in lambda = log(alpha / sigma) (alpha = sqrt(abar),
    sigma = sqrt(1 - abar)). With h = lambda_prev - lambda_t, the first-order step is
    x_prev = (sigma_prev / sigma_t) x_t + alpha_prev (1 - e^-h) x_0 (DDIM's, eta 0); later steps
    replace x_0 by D = x_0 + (x_0 - x_0') / (2 r), x_0' the previous step's prediction and
    r = h' / h the ratio of the previous step's h to this one's. The last step, to sigma = 0
    (h infinite), is first order and returns x_0. Place the steps with `--timestep-spacing
    logsnr` (even in lambda, the paper's choice): unevenly spaced lambdas make r swing, and
    the method loses its order."""

    history = 1

    def prepare(self, abar, abar_prev):
        with np.errstate(divide="ignore"):  # the last step ends at alpha_bar = 1: lambda = inf
            self.h = log_snr(abar_prev) - log_snr(abar)
        decay = np.exp(-self.h)
        self.x_coef = np.sqrt((1 - abar_prev) / (1 - abar))
        self.x0_coef = np.sqrt(abar_prev) * (1 - decay)

    def second_order(self, i: int, earlier_x0: tuple) -> bool:
        return bool(earlier_x0) and np.isfinite(self.h[i])

    def correction(self, i: int, x0, earlier_x0: tuple):
        """(x_0 - x_0') / r, the finite-difference term both 2M variants scale by half their x_0 coefficient."""
        return float(self.h[i] / self.h[i - 1]) * (x0 - earlier_x0[-1])

    def step(self, i, x, x0, eps, noise=None, earlier_x0=()):
        data = x0 + 0.5 * self.correction(i, x0, earlier_x0) if self.second_order(i, earlier_x0) else x0
        return float(self.x_coef[i]) * x + float(self.x0_coef[i]) * data
