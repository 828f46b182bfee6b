"""Custom Keras layers, each serialisable."""

from gans_keras.layers.diffusion import AttentionBlock, ResidualBlock, SinusoidalEmbedding
from gans_keras.layers.minibatch_std import MinibatchStdDev
from gans_keras.layers.resblocks import ResBlockDown, ResBlockUp
from gans_keras.layers.spectral_norm import SpectralNormalization

__all__ = ["AttentionBlock", "MinibatchStdDev", "ResBlockDown", "ResBlockUp", "ResidualBlock", "SinusoidalEmbedding",
           "SpectralNormalization"]
