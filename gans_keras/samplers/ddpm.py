"""Ancestral DDPM (Ho et al. 2020), on any subsequence of the timesteps."""

from __future__ import annotations

import numpy as np

from gans_keras.samplers.base import Sampler


class DDPM(Sampler):
    """Samples the posterior q(x_prev | x_t, x_0) of the chain restricted to the subsequence
    (Nichol & Dhariwal 2021's respacing); over all T steps, Ho et al.'s sampler with variance
    beta~_t. A network that learns its variance (Improved DDPM) gives each step's log-variance
    as v log beta + (1 - v) log beta~ of the respaced step, beta = 1 - abar_t / abar_prev."""

    stochastic = True
    takes_variance = True

    def prepare(self, abar, abar_prev):
        step_alpha = abar / abar_prev  # 1 - beta of the (respaced) step t -> prev
        self.x0_coef = np.sqrt(abar_prev) * (1 - step_alpha) / (1 - abar)
        self.x_coef = np.sqrt(step_alpha) * (1 - abar_prev) / (1 - abar)
        self.std = np.sqrt((1 - step_alpha) * (1 - abar_prev) / (1 - abar))
        self.large_std = np.sqrt(1 - step_alpha)  # sqrt(beta) of the step

    def step(self, i, x, x0, eps, noise=None, earlier_x0=(), variance_frac=None):
        mean = float(self.x0_coef[i]) * x0 + float(self.x_coef[i]) * x
        if variance_frac is None or self.std[i] == 0:  # the last step, to the data, adds no noise
            return mean + float(self.std[i]) * noise
        # exp((v log beta + (1 - v) log beta~) / 2) as powers: arithmetic on the backend's tensor.
        std = float(self.large_std[i]) ** variance_frac * float(self.std[i]) ** (1 - variance_frac)
        return mean + std * noise
