"""DCGAN-style convolutional generator and discriminator for any square size from 8 to 256.

The generator reshapes the latent to 4x4 and doubles the resolution with strided transposed
convolutions up to the first power-of-two multiple of 4 that covers the image, then crops
(28 is generated at 32 and cropped). The discriminator mirrors it with strided convolutions.
"""

from __future__ import annotations

import keras
from keras import layers

from gans_keras.layers import MinibatchStdDev
from gans_keras.layers.batch_norm import batch_norm
from gans_keras.networks.common import (
    crop_and_squash,
    discriminator_inputs,
    discriminator_outputs,
    generator_inputs,
    kernel_initializer,
    num_upsamplings,
    spectral,
)


def build_generator(
    latent_dim: int = 128,
    image_size: int = 28,
    channels: int = 1,
    width: int = 64,
    kernel_size: int = 4,
    init: str = "glorot",
    num_classes: int | None = None,
    label_dim: int = 32,
    name: str = "generator",
) -> keras.Model:
    """z (B, latent_dim) [and labels (B,)] -> images (B, image_size, image_size, channels) in [-1, 1].

    Args:
        width: channels of the last hidden layer; each lower resolution has twice as many.
        init: kernel initializer, see `kernel_initializer`.
        num_classes: when given, the generator also takes integer labels, whose embedding
            (`label_dim` values) is joined to the latent.
    """
    levels = num_upsamplings(image_size)
    base = width * 2 ** (levels - 1)
    init = kernel_initializer(init)
    inputs, x = generator_inputs(latent_dim, num_classes, label_dim)
    x = layers.Dense(4 * 4 * base, use_bias=False, kernel_initializer=init)(x)
    x = batch_norm()(x)
    x = layers.ReLU()(x)
    x = layers.Reshape((4, 4, base))(x)  # (B, 4, 4, base)
    for level in range(1, levels):
        filters = base // 2**level
        x = layers.Conv2DTranspose(
            filters, kernel_size, strides=2, padding="same", use_bias=False, kernel_initializer=init
        )(x)
        x = batch_norm()(x)
        x = layers.ReLU()(x)  # (B, 4 * 2^level, 4 * 2^level, filters)
    x = layers.Conv2DTranspose(channels, kernel_size, strides=2, padding="same", kernel_initializer=init)(x)
    return keras.Model(inputs, crop_and_squash(x, image_size), name=name)


def build_discriminator(
    image_size: int = 28,
    channels: int = 1,
    width: int = 64,
    kernel_size: int = 4,
    norm: str | None = None,
    spectral_norm: bool = False,
    minibatch_std: bool = False,
    init: str = "glorot",
    num_classes: int | None = None,
    conditioning: str = "projection",
    aux_classifier: bool = False,
    semi_supervised_classes: int | None = None,
    name: str = "discriminator",
) -> keras.Model:
    """images (B, image_size, image_size, channels) [and labels (B,)] -> raw scores (B, 1).

    No BatchNorm: it would couple the samples of a batch, which breaks the per-sample
    gradient penalty.

    Args:
        norm: None, or "layer" for LayerNormalization after each hidden convolution.
        spectral_norm: wrap every convolution and the output layer in
            `gans_keras.layers.SpectralNormalization` (Miyato et al. 2018).
        minibatch_std: append a `MinibatchStdDev` channel before the last convolution.
        init: kernel initializer, see `kernel_initializer`.
        num_classes: when given, the discriminator also takes integer labels.
        conditioning: how labels enter: "projection" (score + <embed(y), features>, Miyato &
            Koyama 2018) or "channel" (a learned label map as an extra input channel).
        aux_classifier: a second output, class logits (B, num_classes) from the same features.
        semi_supervised_classes: for an unconditional model, a head of this many class logits
            whose LogSumExp is the score (Salimans et al. 2016); the outputs are [score, logits].
    """
    if norm not in (None, "layer"):
        raise ValueError(f"discriminator norm must be None or 'layer', got {norm!r}")
    levels = num_upsamplings(image_size)
    init = kernel_initializer(init)
    inputs, x, labels = discriminator_inputs(image_size, channels, num_classes, conditioning)
    for level in range(levels):
        if minibatch_std and level == levels - 1:
            x = MinibatchStdDev()(x)
        conv = layers.Conv2D(width * 2**level, kernel_size, strides=2, padding="same", kernel_initializer=init)
        x = spectral(conv, spectral_norm)(x)
        if norm == "layer" and level > 0:
            x = layers.LayerNormalization(axis=[1, 2, 3])(x)
        x = layers.LeakyReLU(0.2)(x)  # (B, ceil(size / 2^(level+1)), ..., width * 2^level)
    features = layers.Flatten()(x)
    outputs = discriminator_outputs(features, labels, num_classes, conditioning, aux_classifier, spectral_norm, init,
                                    semi_supervised_classes)
    return keras.Model(inputs, outputs, name=name)
