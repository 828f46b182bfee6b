"""Keras 3 GANs and diffusion models: train, sample and evaluate image generators."""

from gans_keras.config import TrainConfig, make_config
from gans_keras.data import load_dataset
from gans_keras.evaluation import evaluate_images
from gans_keras.models.registry import get_model
from gans_keras.sampling import load_generator, sample
from gans_keras.training import train

# The CLI modules (gans_keras.train, .sample, .evaluate) are not imported here, so that
# `python -m gans_keras.train` runs its module once and these names stay the functions.
__all__ = ["TrainConfig", "evaluate_images", "get_model", "load_dataset", "load_generator", "make_config", "sample",
           "train"]
