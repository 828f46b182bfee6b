"""Diffusion samplers, one file each, and the loop they share (`loop.DiffusionSampler`).

To add a sampler: subclass `base.Sampler` in a new file (its `prepare` and `step`), then
register it in SAMPLERS below; the config, the CLIs and the benchmarks take their choices
from that table. This module imports neither Keras nor TensorFlow.
"""

from __future__ import annotations

from gans_keras.samplers.base import Sampler
from gans_keras.samplers.ddim import DDIM
from gans_keras.samplers.ddpm import DDPM
from gans_keras.samplers.dpmpp_2m import DPMSolverPP2M
from gans_keras.samplers.dpmpp_2m_sde import DPMSolverPP2MSDE
from gans_keras.samplers.timesteps import SPACINGS, sampling_timesteps

SAMPLERS: dict[str, type[Sampler]] = {
    "ddim": DDIM,
    "ddpm": DDPM,
    "dpmpp_2m": DPMSolverPP2M,
    "dpmpp_2m_sde": DPMSolverPP2MSDE,
}

__all__ = ["SAMPLERS", "SPACINGS", "DiffusionSampler", "Sampler", "plot_sampling_stats", "sampling_timesteps"]


def __getattr__(name: str):
    # The loop needs Keras: loaded on first use, so that the config can read SAMPLERS without it.
    if name in ("DiffusionSampler", "plot_sampling_stats"):
        from gans_keras.samplers import loop

        return getattr(loop, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
