import argparse
import dataclasses
import math

from gans_keras.config import TrainConfig, make_config
from gans_keras.models.registry import sampler_options
from gans_keras.samplers.options import CONFIG_NAMES, FIELDS, SamplingOptions, add_flags, given_settings


def test_the_config_holds_every_sampling_setting_with_the_same_default():
    defaults = {field.name: field.default for field in dataclasses.fields(TrainConfig)}
    for option in FIELDS:
        assert defaults[option.metadata["config"]] == option.default, option.name


def test_config_flags_and_sampler_keywords_come_from_one_declaration():
    config = make_config({"model": "diffusion", "sampler": "dpmpp_2m", "sampling_steps": 12,
                          "timestep_spacing": "logsnr", "guidance": 0.5, "guidance_sigma_max": 5.42, "seed": 3})
    options = SamplingOptions.from_config(config)
    assert (options.sampler, options.steps, options.spacing, options.guidance) == ("dpmpp_2m", 12, "logsnr", 0.5)
    assert sampler_options(config) == {**options.sampler_settings(), "seed": 3}
    assert sampler_options(make_config({"model": "diffusion"}))["guidance_sigma_max"] == math.inf
    parser = argparse.ArgumentParser()
    add_flags(parser)
    args = parser.parse_args(["--sampler", "dpmpp_2m_sde", "--timestep-spacing", "logsnr", "--no-clip-x0",
                              "--sampling-steps", "20"])
    assert set(vars(args)) == set(CONFIG_NAMES)
    assert given_settings(args) == {"sampler": "dpmpp_2m_sde", "spacing": "logsnr", "clip_x0": False, "steps": 20}
