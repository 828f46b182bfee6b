"""Custom Keras layers, each serialisable."""

from gans_keras.layers.diffusion import AttentionBlock, ResidualBlock, SinusoidalEmbedding
from gans_keras.layers.fade import FadeIn
from gans_keras.layers.minibatch_std import MinibatchStdDev
from gans_keras.layers.r3gan_blocks import BlurDownsample, GenerativeBasis, GroupedConv2D, InvertedBottleneck
from gans_keras.layers.resblocks import ResBlockDown, ResBlockUp
from gans_keras.layers.spectral_norm import SpectralNormalization
from gans_keras.layers.text_encoder import TextEncoder, TokenMask, UnpackContext

__all__ = ["AttentionBlock", "BlurDownsample", "FadeIn", "GenerativeBasis", "GroupedConv2D", "InvertedBottleneck",
           "MinibatchStdDev", "ResBlockDown", "ResBlockUp", "ResidualBlock", "SinusoidalEmbedding",
           "SpectralNormalization", "TextEncoder", "TokenMask", "UnpackContext"]
