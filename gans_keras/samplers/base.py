"""What every sampler is: its timesteps and its update rule x_t -> x_prev.

A sampler sees the schedule's alpha_bar_t, never the network: the shared loop
(`gans_keras.samplers.loop.DiffusionSampler`) predicts eps and x_0 at each step (with guidance
and clipping) and hands them to `step`. `set_timesteps` computes each step's coefficients once,
in float64 NumPy; `step` only adds and scales tensors by those numbers, so it runs on the device
of any Keras backend and imports nothing.
"""

from __future__ import annotations

import numpy as np

from gans_keras.samplers.timesteps import sampling_timesteps


class Sampler:
    """Base class. Subclasses set `stochastic` (whether `step` takes fresh noise), `history`
    (how many earlier x_0 predictions a multistep method reads), `takes_variance` (whether `step`
    uses a learned variance, keyword `variance_frac`) and implement `prepare` and `step`.
    Settings beyond the shared ones (DDIM's eta) are constructor arguments."""

    stochastic = False
    history = 0
    takes_variance = False

    def __init__(self, alpha_bars: np.ndarray):
        self.alpha_bars = np.asarray(alpha_bars, np.float64)
        self.timesteps = np.zeros(0, np.int64)

    def set_timesteps(self, steps: int, spacing: str = "linear") -> np.ndarray:
        """Chooses the timesteps (descending, T-1 first) and prepares each step's coefficients."""
        self.timesteps = sampling_timesteps(self.alpha_bars, steps, spacing)
        abar = self.alpha_bars[self.timesteps]
        # Step i goes from timesteps[i] to timesteps[i + 1]; the last one to alpha_bar = 1, the data.
        self.prepare(abar, np.concatenate([abar[1:], [1.0]]))
        return self.timesteps

    def prepare(self, abar: np.ndarray, abar_prev: np.ndarray) -> None:
        """Per-step coefficients from alpha_bar at each step's start and end (arrays, one per step)."""
        raise NotImplementedError

    def step(self, i: int, x, x0, eps, noise=None, earlier_x0: tuple = ()):
        """x at the end of step i from x_t, the predicted x_0 and eps at its start, the step
        noise (stochastic samplers) and the x_0 predictions of the `history` steps before
        (newest last; fewer at the first steps)."""
        raise NotImplementedError
