"""Custom Keras layers, one a file, each serialisable."""

from gans_keras.layers.minibatch_std import MinibatchStdDev

__all__ = ["MinibatchStdDev"]
