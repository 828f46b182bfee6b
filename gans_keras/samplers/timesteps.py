"""Which of the T training timesteps a sampler visits: the spacings every sampler shares."""

from __future__ import annotations

import numpy as np

from gans_keras.choices import check_choice

SPACINGS = ("linear", "quadratic", "logsnr")
# The lowest log-SNR the logsnr spacing spreads its steps from: the cosine schedule's last few
# timesteps (betas clipped at 0.999) fall to lambda = -9.9, which would crowd the steps there.
# -5.1 is the clip the DPM-Solver authors use for the cosine schedule; the linear one ends at -5.06.
LOGSNR_MIN = -5.1


def log_snr(alpha_bars: np.ndarray) -> np.ndarray:
    """lambda_t = log(alpha_t / sigma_t) = log(alpha_bar_t / (1 - alpha_bar_t)) / 2, decreasing in t."""
    return 0.5 * (np.log(alpha_bars) - np.log1p(-alpha_bars))


def sampling_timesteps(alpha_bars: np.ndarray, steps: int, spacing: str = "linear") -> np.ndarray:
    """`steps` distinct training timesteps from T-1 down to 0, for a schedule's alpha_bar_0..T-1:
    - linear: evenly spread in t;
    - quadratic: t growing as the square of the step index (Song et al. 2020's choice for
      CIFAR-10), more of the steps at low noise, where the fine detail is made;
    - logsnr: evenly spread in log-SNR lambda_t (Lu et al. 2022's choice for DPM-Solver, whose
      error per step grows with the step's lambda difference), nearest timestep to each, from
      lambda_0 down to max(lambda_{T-1}, LOGSNR_MIN); the first step still starts at T-1.
    """
    timesteps = len(alpha_bars)
    if not 1 <= steps <= timesteps:
        raise ValueError(f"sampling steps must be in [1, {timesteps}], got {steps}")
    check_choice("timestep_spacing", spacing, SPACINGS)
    fractions = np.linspace(0.0, 1.0, steps)
    if spacing == "logsnr":
        lambdas = log_snr(np.asarray(alpha_bars, np.float64))
        targets = lambdas[0] + fractions * (max(lambdas[-1], LOGSNR_MIN) - lambdas[0])
        # np.interp needs increasing x: lambda decreases in t, so interpolate on -lambda.
        positions = np.interp(-targets, -lambdas, np.arange(timesteps))
        positions[-1] = timesteps - 1
    else:
        positions = (fractions**2 if spacing == "quadratic" else fractions) * (timesteps - 1)
    return distinct(positions.round().astype(np.int64), timesteps)[::-1]


def distinct(chosen: np.ndarray, timesteps: int) -> np.ndarray:
    """Ascending timesteps from 0 to T-1 made strictly increasing: pushed
    up past their predecessors where rounding made them equal (dense low-noise ends), then
    down below their successors where that pushed them past T-1 (dense high-noise ends)."""
    index = np.arange(len(chosen))
    upward = np.maximum.accumulate(chosen - index) + index
    # t_i = min(up_i, t_{i+1} - 1), t_last <= T-1: in w = t - index, a reverse running minimum.
    capped = np.minimum(upward - index, timesteps - len(chosen))
    return np.minimum.accumulate(capped[::-1])[::-1] + index
