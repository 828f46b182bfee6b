"""DPM-Solver++(2M) SDE (Lu et al. 2022; the stochastic variant, as in diffusers' sde-dpmsolver++)."""

from __future__ import annotations

import numpy as np

from gans_keras.samplers.dpmpp_2m import DPMSolverPP2M


class DPMSolverPP2MSDE(DPMSolverPP2M):
    """Solves the reverse SDE in lambda: x_prev = (sigma_prev / sigma_t) e^-h x_t
    + alpha_prev (1 - e^-2h) D + sigma_prev sqrt(1 - e^-2h) z, with D as in DPM-Solver++(2M)
    (first order at the first and last steps). Its first-order step is exactly DDPM's posterior
    step, so it adds fresh noise like DDPM, at a second-order step's cost."""

    stochastic = True

    def prepare(self, abar, abar_prev):
        super().prepare(abar, abar_prev)
        decay = np.exp(-self.h)
        self.x_coef = self.x_coef * decay
        self.x0_coef = np.sqrt(abar_prev) * (1 - decay**2)
        self.std = np.sqrt((1 - abar_prev) * (1 - decay**2))

    def step(self, i, x, x0, eps, noise=None, earlier_x0=()):
        return super().step(i, x, x0, eps, earlier_x0=earlier_x0) + float(self.std[i]) * noise
