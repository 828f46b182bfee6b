"""Ancestral DDPM (Ho et al. 2020), on any subsequence of the timesteps."""

from __future__ import annotations

import numpy as np

from gans_keras.samplers.base import Sampler


class DDPM(Sampler):
    """Samples the posterior q(x_prev | x_t, x_0) of the chain restricted to the subsequence
    (Nichol & Dhariwal 2021's respacing); over all T steps, Ho et al.'s sampler with variance
    beta~_t."""

    stochastic = True

    def prepare(self, abar, abar_prev):
        step_alpha = abar / abar_prev  # 1 - beta of the (respaced) step t -> prev
        self.x0_coef = np.sqrt(abar_prev) * (1 - step_alpha) / (1 - abar)
        self.x_coef = np.sqrt(step_alpha) * (1 - abar_prev) / (1 - abar)
        self.std = np.sqrt((1 - step_alpha) * (1 - abar_prev) / (1 - abar))

    def step(self, i, x, x0, eps, noise=None, earlier_x0=()):
        return float(self.x0_coef[i]) * x0 + float(self.x_coef[i]) * x + float(self.std[i]) * noise
