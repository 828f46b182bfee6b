"""Keras 3 GANs and diffusion models: train, sample and evaluate image generators."""

import importlib

# Imported on first use, so that `import gans_keras.sampling` (say) loads only what sampling
# needs: a trained diffusion network then samples on any Keras backend, TensorFlow or not. The
# CLI modules (gans_keras.train, .sample, .evaluate) are not listed, so that
# `python -m gans_keras.train` runs its module once and these names stay the functions.
_EXPORTS = {
    "TrainConfig": "gans_keras.config",
    "make_config": "gans_keras.config",
    "load_dataset": "gans_keras.data",
    "evaluate_images": "gans_keras.evaluation",
    "grown_config": "gans_keras.warm_start",
    "get_model": "gans_keras.models.registry",
    "load_generator": "gans_keras.sampling",
    "sample": "gans_keras.sampling",
    "train": "gans_keras.training",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'gans_keras' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
