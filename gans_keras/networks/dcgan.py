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
    z = keras.Input((latent_dim,), name="z")
    inputs, x = z, z
    if num_classes is not None:
        labels = keras.Input((), dtype="int32", name="labels")
        embedding = layers.Embedding(num_classes, label_dim, name="label_embedding")(labels)  # (B, label_dim)
        inputs, x = [z, labels], layers.Concatenate()([z, embedding])
    x = layers.Dense(4 * 4 * base, use_bias=False, kernel_initializer=init)(x)
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
    return keras.Model(inputs, images, name=name)


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
    name: str = "discriminator",
) -> keras.Model:
    """images (B, image_size, image_size, channels) [and labels (B,)] -> raw scores (B, 1).

    No BatchNorm: it would couple the samples of a batch, which breaks the per-sample
    gradient penalty.

    Args:
        norm: None, or "layer" for LayerNormalization after each hidden convolution.
        spectral_norm: wrap every convolution and the output layer in
            `keras.layers.SpectralNormalization` (Miyato et al. 2018).
        minibatch_std: append a `MinibatchStdDev` channel before the last convolution.
        init: kernel initializer, see `kernel_initializer`.
        num_classes: when given, the discriminator also takes integer labels.
        conditioning: how labels enter: "projection" (score + <embed(y), features>, Miyato &
            Koyama 2018) or "channel" (a learned label map as an extra input channel).
        aux_classifier: a second output, class logits (B, num_classes) from the same features.
    """
    if norm not in (None, "layer"):
        raise ValueError(f"discriminator norm must be None or 'layer', got {norm!r}")
    if conditioning not in ("projection", "channel"):
        raise ValueError(f"conditioning must be 'projection' or 'channel', got {conditioning!r}")
    levels = num_upsamplings(image_size)
    init = kernel_initializer(init)

    def maybe_sn(layer):
        return layers.SpectralNormalization(layer) if spectral_norm else layer

    images = keras.Input((image_size, image_size, channels), name="images")
    inputs, x = images, images
    if num_classes is not None:
        labels = keras.Input((), dtype="int32", name="labels")
        inputs = [images, labels]
        if conditioning == "channel":
            label_map = layers.Embedding(num_classes, image_size * image_size, name="label_map")(labels)
            label_map = layers.Reshape((image_size, image_size, 1))(label_map)
            x = layers.Concatenate()([images, label_map])  # (B, H, W, C + 1)
    for level in range(levels):
        if minibatch_std and level == levels - 1:
            x = MinibatchStdDev()(x)
        conv = layers.Conv2D(width * 2**level, kernel_size, strides=2, padding="same", kernel_initializer=init)
        x = maybe_sn(conv)(x)
        if norm == "layer" and level > 0:
            x = layers.LayerNormalization(axis=[1, 2, 3])(x)
        x = layers.LeakyReLU(0.2)(x)  # (B, ceil(size / 2^(level+1)), ..., width * 2^level)
    features = layers.Flatten()(x)
    score = maybe_sn(layers.Dense(1, kernel_initializer=init, name="score", dtype="float32"))(features)
    if num_classes is not None and conditioning == "projection":
        # Not spectrally normalised: Keras' wrapper casts its output to the input's (int) dtype.
        class_vectors = layers.Embedding(num_classes, features.shape[-1], name="class_embedding")(labels)
        score = layers.Add(dtype="float32")([score, layers.Dot(axes=1)([class_vectors, features])])
    if aux_classifier:
        if num_classes is None:
            raise ValueError("aux_classifier needs num_classes")
        class_logits = layers.Dense(num_classes, kernel_initializer=init, name="class_logits", dtype="float32")
        return keras.Model(inputs, [score, class_logits(features)], name=name)
    return keras.Model(inputs, score, name=name)
