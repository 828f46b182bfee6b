"""DDIM (Song et al. 2020)."""

from __future__ import annotations

import numpy as np

from gans_keras.samplers.base import Sampler


class DDIM(Sampler):
    """x_prev = sqrt(abar_prev) x_0 + sqrt(1 - abar_prev - sigma^2) eps + sigma z, with
    sigma = eta sqrt((1 - abar_prev) / (1 - abar_t)) sqrt(1 - abar_t / abar_prev): eta = 0 is
    deterministic, eta = 1 over all T steps is the DDPM posterior."""

    def __init__(self, alpha_bars: np.ndarray, eta: float = 0.0):
        super().__init__(alpha_bars)
        self.eta = eta
        self.stochastic = eta > 0

    def prepare(self, abar, abar_prev):
        self.sigma = self.eta * np.sqrt((1 - abar_prev) / (1 - abar) * (1 - abar / abar_prev))
        self.x0_coef = np.sqrt(abar_prev)
        self.eps_coef = np.sqrt(np.maximum(1 - abar_prev - self.sigma**2, 0.0))

    def step(self, i, x, x0, eps, noise=None, earlier_x0=()):
        x_prev = float(self.x0_coef[i]) * x0 + float(self.eps_coef[i]) * eps
        return x_prev + float(self.sigma[i]) * noise if self.stochastic else x_prev
