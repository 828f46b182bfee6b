"""Diffusion noise schedules, independent of any network: beta_t for t = 0 .. T-1 and the
quantities the forward process q(x_t | x_0) and the samplers need, in float64."""

from __future__ import annotations

import math

import numpy as np
from keras import ops

from gans_keras.choices import check_choice
from gans_keras.config import CHOICES


class NoiseSchedule:
    """beta_1..beta_T (stored 0-based) and derived terms.

    linear: betas evenly spaced from `beta_start` to `beta_end` (Ho et al. 2020: 1e-4, 0.02,
    T = 1000). cosine: alpha_bar(t) = f(t) / f(0), f(t) = cos^2((t/T + s) / (1 + s) * pi/2),
    betas clipped at 0.999 (Nichol & Dhariwal 2021, s = 0.008).
    """

    def __init__(self, kind: str = "linear", timesteps: int = 1000, beta_start: float = 1e-4,
                 beta_end: float = 0.02, cosine_offset: float = 0.008):
        check_choice("noise_schedule", kind, CHOICES["noise_schedule"])
        if timesteps < 2:
            raise ValueError(f"timesteps must be >= 2, got {timesteps}")
        self.kind = kind
        self.timesteps = timesteps
        if kind == "linear":
            # Ho et al.'s endpoints are for T = 1000; rescaling keeps the total noise for other T.
            scale = 1000 / timesteps
            if scale * beta_end >= 1:
                raise ValueError(f"linear schedule: T = {timesteps} is too small for beta_end {beta_end}")
            self.betas = np.linspace(scale * beta_start, scale * beta_end, timesteps, dtype=np.float64)
        else:
            steps = np.arange(timesteps + 1, dtype=np.float64) / timesteps
            f = np.cos((steps + cosine_offset) / (1 + cosine_offset) * math.pi / 2) ** 2
            alpha_bar = f / f[0]
            self.betas = np.clip(1 - alpha_bar[1:] / alpha_bar[:-1], 0.0, 0.999)
        self.alphas = 1.0 - self.betas
        self.alpha_bars = np.cumprod(self.alphas)
        # alpha_bar_{t-1}, with alpha_bar before the first step = 1.
        self.alpha_bars_prev = np.concatenate([[1.0], self.alpha_bars[:-1]])
        # Variance of q(x_{t-1} | x_t, x_0): beta~_t = beta_t (1 - alpha_bar_{t-1}) / (1 - alpha_bar_t).
        self.posterior_variance = self.betas * (1 - self.alpha_bars_prev) / (1 - self.alpha_bars)
        # Its log with beta~_0 = 0 replaced by beta~_1 (the t = 0 step adds no noise; its decoder reads this).
        self.posterior_log_variance_clipped = np.log(np.append(self.posterior_variance[1], self.posterior_variance[1:]))

    def _gather(self, values: np.ndarray, t, ndim: int):
        """values[t] as float32, shaped to broadcast against a tensor of rank `ndim`."""
        picked = ops.take(ops.convert_to_tensor(values, "float32"), ops.cast(t, "int32"))
        return ops.reshape(picked, (-1,) + (1,) * (ndim - 1))

    def q_sample(self, x0, t, noise):
        """x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) noise."""
        ndim = len(x0.shape)
        return (self._gather(np.sqrt(self.alpha_bars), t, ndim) * x0
                + self._gather(np.sqrt(1 - self.alpha_bars), t, ndim) * noise)

    def v_target(self, x0, t, noise):
        """v = sqrt(alpha_bar_t) noise - sqrt(1 - alpha_bar_t) x_0 (Salimans & Ho 2022)."""
        ndim = len(x0.shape)
        return (self._gather(np.sqrt(self.alpha_bars), t, ndim) * noise
                - self._gather(np.sqrt(1 - self.alpha_bars), t, ndim) * x0)

    def predicted_x0(self, x_t, t, output, prediction: str):
        """x_0 from a network's eps (x_0 = (x_t - sqrt(1 - abar) eps) / sqrt(abar)) or v
        (x_0 = sqrt(abar) x_t - sqrt(1 - abar) v) at timesteps t."""
        ndim = len(x_t.shape)
        if prediction == "eps":
            return (x_t - self._gather(np.sqrt(1 - self.alpha_bars), t, ndim) * output) / self._gather(
                np.sqrt(self.alpha_bars), t, ndim)
        return self._gather(np.sqrt(self.alpha_bars), t, ndim) * x_t - self._gather(
            np.sqrt(1 - self.alpha_bars), t, ndim) * output

    def snr(self) -> np.ndarray:
        """Signal-to-noise ratio of x_t, alpha_bar_t / (1 - alpha_bar_t), for t = 0 .. T-1."""
        return self.alpha_bars / (1 - self.alpha_bars)

    def min_snr_weights(self, t, gamma: float, prediction: str):
        """Min-SNR-gamma loss weights (Hang et al. 2023), shape (B,): the x_0 error's weight
        min(SNR_t, gamma) expressed for the target the network predicts, min(SNR_t, gamma) / SNR_t
        for eps and min(SNR_t, gamma) / (SNR_t + 1) for v. Low-noise steps, whose x_0 error
        the plain eps loss weighs by SNR_t, stop dominating the gradient."""
        snr = self.snr()
        # gamma / max(SNR, gamma) is min(SNR, gamma) / SNR without 0 / 0 where alpha_bar_t is 0.
        weights = gamma / np.maximum(snr, gamma) if prediction == "eps" else np.minimum(snr, gamma) / (snr + 1)
        return self._gather(weights, t, 1)

    def posterior_mean(self, x0, xt, t):
        """Mean of q(x_{t-1} | x_t, x_0) (Ho et al. 2020, eq. 7)."""
        ndim = len(xt.shape)
        coef_x0 = self.betas * np.sqrt(self.alpha_bars_prev) / (1 - self.alpha_bars)
        coef_xt = (1 - self.alpha_bars_prev) * np.sqrt(self.alphas) / (1 - self.alpha_bars)
        return self._gather(coef_x0, t, ndim) * x0 + self._gather(coef_xt, t, ndim) * xt

    def get_config(self) -> dict:
        return {"kind": self.kind, "timesteps": self.timesteps}
