"""DCGAN-style convolutional generator and discriminator for any square size from 8 to 256.

The generator turns the latent into a 4x4 map (`--g-input`: a Dense layer, by default) and
doubles the resolution with strided transposed convolutions up to the first power-of-two
multiple of 4 that covers the image, then crops (28 is generated at 32 and cropped). The
discriminator mirrors it with strided convolutions.

Growing (Karras et al. 2018): every resolution keeps its channels whatever the image size, so a
network built with `fade_in=True` at twice a run's size and half its width holds every layer of
that run under the same name (`up_R`: the transposed convolution that makes resolution R,
`to_images_R`: the one that makes R-pixel images; `from_images_R`, `down_R`: the convolutions
that read R-pixel images and maps), plus one new block at each end, faded in.
"""

from __future__ import annotations

import keras
from keras import layers

from gans_keras.layers import FadeIn, MinibatchStdDev
from gans_keras.layers.batch_norm import batch_norm
from gans_keras.networks.common import (
    NORMAL_STD,
    crop_and_squash,
    discriminator_inputs,
    discriminator_outputs,
    fade_images,
    generator_inputs,
    hidden_activation,
    kernel_initializer,
    latent_to_map,
    num_upsamplings,
    refuse_grown_channel_conditioning,
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
    g_input: str = "dense",
    init_std: float = NORMAL_STD,
    fade_in: bool = False,
    activation: str = "relu",
    bn_momentum: float = 0.99,
    output_activation: str = "tanh",
    name: str = "generator",
) -> keras.Model:
    """z (B, latent_dim) [and labels (B,)] -> images (B, image_size, image_size, channels) in [-1, 1]
    (`output_activation` tanh) or [0, 1] (sigmoid).

    Args:
        width: channels of the last hidden layer; each lower resolution has twice as many.
        init: kernel initializer, see `kernel_initializer` (`init_std`: the normal one's std).
        num_classes: when given, the generator also takes integer labels, whose embedding
            (`label_dim` values) is joined to the latent.
        g_input: how the input vector becomes a 4x4 map, see `latent_to_map`.
        fade_in: the network grown from one at half the size: its last block is faded in
            (`FadeIn`, alpha from 0 to 1) over the half-size network's images, upsampled.
        activation: after each hidden BatchNorm, relu (Radford et al.) or leaky_relu (0.2).
        bn_momentum: of the BatchNorm layers' moving mean and variance, which the exported
            generator (inference mode) normalises with.
    """
    levels = num_upsamplings(image_size)
    if fade_in and levels < 2:
        raise ValueError(f"a grown network has at least two doublings: image size {image_size} is too small")
    base = width * 2 ** (levels - 1)
    init = kernel_initializer(init, init_std)
    inputs, x = generator_inputs(latent_dim, num_classes, label_dim)
    x = latent_to_map(x, g_input, base, init, use_bias=False, normalise=True, activation=activation,
                      bn_momentum=bn_momentum)  # (B, 4, 4, base)
    previous = x
    for level in range(1, levels):
        resolution = 4 * 2**level
        previous = x
        x = layers.Conv2DTranspose(
            base // 2**level, kernel_size, strides=2, padding="same", use_bias=False, kernel_initializer=init,
            name=f"up_{resolution}",
        )(x)
        x = batch_norm(momentum=bn_momentum, name=f"up_{resolution}_norm")(x)
        x = hidden_activation(activation)(x)  # (B, resolution, resolution, filters)
    resolution = 4 * 2**levels
    x = to_images(x, channels, kernel_size, init, resolution)
    if fade_in:  # the half-size network's output layer, on the map before the new block
        x = fade_images(to_images(previous, channels, kernel_size, init, resolution // 2), x, "fade_in")
    return keras.Model(inputs, crop_and_squash(x, image_size, output_activation), name=name)


def to_images(x, channels: int, kernel_size: int, init, resolution: int):
    """The output layer: the map at half `resolution` -> images at `resolution`, before tanh."""
    return layers.Conv2DTranspose(channels, kernel_size, strides=2, padding="same", kernel_initializer=init,
                                  name=f"to_images_{resolution}")(x)


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
    head_units: tuple[int, ...] = (),
    init_std: float = NORMAL_STD,
    fade_in: bool = False,
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
        init: kernel initializer, see `kernel_initializer` (`init_std`: the normal one's std).
        num_classes: when given, the discriminator also takes integer labels.
        conditioning: how labels enter: "projection" (score + <embed(y), features>, Miyato &
            Koyama 2018) or "channel" (a learned label map as an extra input channel).
        aux_classifier: a second output, class logits (B, num_classes) from the same features.
        semi_supervised_classes: for an unconditional model, a head of this many class logits
            whose LogSumExp is the score (Salimans et al. 2016); the outputs are [score, logits].
        head_units: hidden Dense layers between the flattened features and the outputs.
        fade_in: the network grown from one at half the size: its new first block is faded in
            over the half-size network's first layer on the images average-pooled to half size.
    """
    if norm not in (None, "layer"):
        raise ValueError(f"discriminator norm must be None or 'layer', got {norm!r}")
    levels = num_upsamplings(image_size)
    if fade_in:
        refuse_grown_channel_conditioning(num_classes, conditioning)
        if levels < 2:
            raise ValueError(f"a grown network has at least two doublings: image size {image_size} is too small")
    init = kernel_initializer(init, init_std)
    inputs, x, labels = discriminator_inputs(image_size, channels, num_classes, conditioning)
    images = x
    resolution = 4 * 2**levels  # that of the generator's output, before any crop
    for level in range(levels):
        if minibatch_std and level == levels - 1:
            x = MinibatchStdDev()(x)
        x = _down(x, width * 2**level, kernel_size, init, spectral_norm, norm if level > 0 else None,
                  f"from_images_{resolution}" if level == 0 else f"down_{resolution}")
        resolution //= 2
        if fade_in and level == 1:  # the half-size network's first layer, on half-size images
            half_images = layers.AveragePooling2D(2)(images)
            old = _down(half_images, width * 2, kernel_size, init, spectral_norm, None,
                        f"from_images_{resolution * 2}")
            x = FadeIn(name="fade_in")([old, x])
    features = layers.Flatten()(x)
    outputs = discriminator_outputs(features, labels, num_classes, conditioning, aux_classifier, spectral_norm, init,
                                    semi_supervised_classes, head_units)
    return keras.Model(inputs, outputs, name=name)


def _down(x, filters: int, kernel_size: int, init, spectral_norm: bool, norm: str | None, name: str):
    """Strided convolution [LayerNorm] LeakyReLU: (B, H, W, C) -> (B, ceil(H / 2), ceil(W / 2), filters)."""
    conv = layers.Conv2D(filters, kernel_size, strides=2, padding="same", kernel_initializer=init, name=name)
    x = spectral(conv, spectral_norm)(x)
    if norm == "layer":
        x = layers.LayerNormalization(axis=[1, 2, 3], name=f"{name}_norm")(x)
    return layers.LeakyReLU(0.2)(x)
