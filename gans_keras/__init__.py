"""Keras 3 GANs and diffusion models: train, sample and evaluate image generators."""

import importlib

# Imported on first use, so that `import gans_keras` stays light and `python -m
# gans_keras.train` does not import its own module twice.
_API = {
    "TrainConfig": "gans_keras.config",
    "make_config": "gans_keras.config",
    "load_dataset": "gans_keras.data",
    "get_model": "gans_keras.models.registry",
    "load_generator": "gans_keras.sample",
    "sample": "gans_keras.sample",
    "train": "gans_keras.train",
}
__all__ = sorted(_API)


def __getattr__(name):
    if name not in _API:
        raise AttributeError(f"module 'gans_keras' has no attribute {name!r}")
    return getattr(importlib.import_module(_API[name]), name)
