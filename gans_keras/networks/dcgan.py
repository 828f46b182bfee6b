"""DCGAN-style convolutional generator and discriminator for any square size from 8 to 256.

The generator reshapes the latent to 4x4 and doubles the resolution with strided transposed
convolutions up to the first power-of-two multiple of 4 that covers the image, then crops
(28 is generated at 32 and cropped). The discriminator mirrors it with strided convolutions.
"""

from __future__ import annotations

import math

import keras
from keras import layers

from gans_keras.layers import MinibatchStdDev

MIN_SIZE, MAX_SIZE = 8, 256
INITIALIZERS = ("glorot", "normal", "orthogonal")


def kernel_initializer(name: str) -> keras.initializers.Initializer:
    """glorot (Keras' default), normal (N(0, 0.02), Radford et al. 2015) or orthogonal."""
    if name == "glorot":
        return keras.initializers.GlorotUniform()
    if name == "normal":
        return keras.initializers.RandomNormal(0.0, 0.02)
    if name == "orthogonal":
        return keras.initializers.Orthogonal()
    raise ValueError(f"unknown initializer {name!r}: choose from {', '.join(INITIALIZERS)}")


def num_upsamplings(image_size: int) -> int:
    """Doublings from 4x4 to the smallest 4 * 2^k >= image_size; raises on unsupported sizes."""
    if not MIN_SIZE <= image_size <= MAX_SIZE:
        raise ValueError(
            f"image size {image_size} is not supported by the dcgan networks: "
            f"use a size from {MIN_SIZE} to {MAX_SIZE} (e.g. --image-size 32)"
        )
    return math.ceil(math.log2(image_size / 4))


def build_generator(
    latent_dim: int = 128,
    image_size: int = 28,
    channels: int = 1,
    width: int = 64,
    kernel_size: int = 4,
    init: str = "glorot",
    name: str = "generator",
) -> keras.Model:
    """z (B, latent_dim) -> images (B, image_size, image_size, channels) in [-1, 1].

    Args:
        width: channels of the last hidden layer; each lower resolution has twice as many.
        init: kernel initializer, see `kernel_initializer`.
    """
    levels = num_upsamplings(image_size)
    base = width * 2 ** (levels - 1)
    init = kernel_initializer(init)
    z = keras.Input((latent_dim,), name="z")
    x = layers.Dense(4 * 4 * base, use_bias=False, kernel_initializer=init)(z)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU()(x)
    x = layers.Reshape((4, 4, base))(x)  # (B, 4, 4, base)
    for level in range(1, levels):
        filters = base // 2**level
        x = layers.Conv2DTranspose(
            filters, kernel_size, strides=2, padding="same", use_bias=False, kernel_initializer=init
        )(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)  # (B, 4 * 2^level, 4 * 2^level, filters)
    x = layers.Conv2DTranspose(channels, kernel_size, strides=2, padding="same", kernel_initializer=init)(x)
    excess = 4 * 2**levels - image_size
    if excess:
        x = layers.Cropping2D(((excess // 2, excess - excess // 2),) * 2)(x)
    images = layers.Activation("tanh", name="images", dtype="float32")(x)
    return keras.Model(z, images, name=name)


def build_discriminator(
    image_size: int = 28,
    channels: int = 1,
    width: int = 64,
    kernel_size: int = 4,
    norm: str | None = None,
    spectral_norm: bool = False,
    minibatch_std: bool = False,
    init: str = "glorot",
    name: str = "discriminator",
) -> keras.Model:
    """images (B, image_size, image_size, channels) -> one raw score per image (B, 1).

    No BatchNorm: it would couple the samples of a batch, which breaks the per-sample
    gradient penalty.

    Args:
        norm: None, or "layer" for LayerNormalization after each hidden convolution.
        spectral_norm: wrap every convolution and the output layer in
            `keras.layers.SpectralNormalization` (Miyato et al. 2018).
        minibatch_std: append a `MinibatchStdDev` channel before the last convolution.
        init: kernel initializer, see `kernel_initializer`.
    """
    if norm not in (None, "layer"):
        raise ValueError(f"discriminator norm must be None or 'layer', got {norm!r}")
    levels = num_upsamplings(image_size)
    init = kernel_initializer(init)

    def maybe_sn(layer):
        return layers.SpectralNormalization(layer) if spectral_norm else layer

    images = keras.Input((image_size, image_size, channels), name="images")
    x = images
    for level in range(levels):
        if minibatch_std and level == levels - 1:
            x = MinibatchStdDev()(x)
        conv = layers.Conv2D(width * 2**level, kernel_size, strides=2, padding="same", kernel_initializer=init)
        x = maybe_sn(conv)(x)
        if norm == "layer" and level > 0:
            x = layers.LayerNormalization(axis=[1, 2, 3])(x)
        x = layers.LeakyReLU(0.2)(x)  # (B, ceil(size / 2^(level+1)), ..., width * 2^level)
    x = layers.Flatten()(x)
    score = maybe_sn(layers.Dense(1, kernel_initializer=init, name="score", dtype="float32"))(x)
    return keras.Model(images, score, name=name)
