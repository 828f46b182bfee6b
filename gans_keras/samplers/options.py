"""The sampling settings, declared once: the training config's fields, the sample and evaluate
CLIs' flags, DiffusionSampler.configure's keywords and the benchmarks' sampler specs all come
from SamplingOptions."""

from __future__ import annotations

import argparse
import dataclasses
import math
from dataclasses import dataclass, field

from gans_keras.flags import flag_name, flag_options
from gans_keras.samplers import SAMPLERS
from gans_keras.samplers.timesteps import SPACINGS


def _option(default, config: str, help: str, **flag) -> dataclasses.Field:
    """A setting: its default, its name in the training config and its help text; `flag` holds
    argparse options (choices, metavar)."""
    return field(default=default, metadata={"config": config, "help": help, "flag": flag})


@dataclass(frozen=True)
class SamplingOptions:
    sampler: str = _option("ddim", "sampler", "ddim, ddpm, dpmpp_2m (DPM-Solver++(2M), Lu et al. 2022) or "
                           "dpmpp_2m_sde (its SDE variant)", choices=tuple(SAMPLERS))
    steps: int = _option(50, "sampling_steps", "sampling steps (a subsequence of the T timesteps)")
    spacing: str = _option("linear", "timestep_spacing", "the steps' timesteps evenly spread (linear), denser at "
                           "low noise (quadratic) or evenly spread in log-SNR (logsnr, DPM-Solver's choice)",
                           choices=SPACINGS)
    eta: float = _option(0.0, "eta", "DDIM noise (0: deterministic, 1: DDPM-like); ddim only")
    clip_x0: bool = _option(True, "clip_x0", "clip the predicted x_0 to [-1, 1] at every sampling step")
    guidance: float = _option(0.0, "guidance", "classifier-free guidance weight w (0: plain conditional)")
    guidance_sigma_min: float = _option(0.0, "guidance_sigma_min", "guide only steps whose noise level "
                                        "sqrt((1 - abar_t) / abar_t) is above this (Kynkäänniemi et al. 2024 "
                                        "use 0.28)", metavar="SIGMA")
    guidance_sigma_max: float | None = _option(None, "guidance_sigma_max", "and at most this (Kynkäänniemi et "
                                               "al. 2024 use 5.42; default: no upper limit)", metavar="SIGMA")

    @classmethod
    def from_config(cls, config) -> SamplingOptions:
        return cls(**{option.name: getattr(config, option.metadata["config"]) for option in dataclasses.fields(cls)})

    def sampler_settings(self) -> dict:
        """DiffusionSampler's keywords (no upper guidance limit: infinity)."""
        settings = dataclasses.asdict(self)
        if settings["guidance_sigma_max"] is None:
            settings["guidance_sigma_max"] = math.inf
        return settings


FIELDS = dataclasses.fields(SamplingOptions)
CONFIG_NAMES = tuple(option.metadata["config"] for option in FIELDS)
HELP = {option.metadata["config"]: option.metadata["help"] for option in FIELDS}


def add_flags(group) -> None:
    """One flag per setting, named as in the training config, default None (the run's own)."""
    for option in FIELDS:
        name = option.metadata["config"]
        group.add_argument(flag_name(name), dest=name, help=option.metadata["help"], **flag_options(option),
                           **option.metadata["flag"])


def given_settings(args: argparse.Namespace) -> dict:
    """DiffusionSampler.configure keywords for the flags given on the command line."""
    return {option.name: getattr(args, option.metadata["config"]) for option in FIELDS
            if getattr(args, option.metadata["config"]) is not None}
