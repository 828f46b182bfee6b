"""Diffusion samplers, one file each, and the loop they share (`gans_keras.samplers.loop`).

To add a sampler: subclass `base.Sampler` in a new file (its `prepare` and `step`), then
register it in SAMPLERS below; the config, the CLIs and the benchmarks take their choices
from that table. This module and the samplers import neither Keras nor TensorFlow; the loop,
which runs the network, needs Keras.
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

__all__ = ["SAMPLERS", "SPACINGS", "Sampler", "sampling_timesteps"]
