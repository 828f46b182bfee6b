"""Custom Keras layers, one a file, each serialisable."""

from gans_keras.layers.minibatch_std import MinibatchStdDev
from gans_keras.layers.resblocks import ResBlockDown, ResBlockUp

__all__ = ["MinibatchStdDev", "ResBlockDown", "ResBlockUp"]
