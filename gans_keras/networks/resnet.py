"""ResNet generator and discriminator of the SN-GAN paper (Miyato et al. 2018, appendix B,
CIFAR-10 models), for any square size from 8 to 256.

Generator: latent -> 4x4 -> one `ResBlockUp` per doubling -> BN, ReLU, 3x3 conv -> crop -> tanh.
Discriminator: an optimised first `ResBlockDown`, further downsampling blocks to about 4x4
(at most three in all), two blocks at that size, ReLU, global sum pooling, linear score.

Every block has the same width, so a network built with `fade_in=True` at twice a run's size
holds every layer of that run under the same name (`up_R`, `to_images_R`, `from_images_R`,
`down_R`: the blocks that make or read resolution R), plus a new block at each end, faded in.
A grown discriminator downsamples to 4x4 at every size (one built from scratch stops after
three downsamplings), so a run grows if its own discriminator reached 4x4: one grown, or one
of 32 pixels or fewer.
"""

from __future__ import annotations

import keras
from keras import layers

from gans_keras.layers import FadeIn, MinibatchStdDev, ResBlockDown, ResBlockUp
from gans_keras.layers.batch_norm import batch_norm
from gans_keras.networks.common import (
    NORMAL_STD,
    crop_and_squash,
    discriminator_inputs,
    discriminator_outputs,
    fade_images,
    generator_inputs,
    kernel_initializer,
    latent_to_map,
    num_upsamplings,
    refuse_grown_channel_conditioning,
)

MAX_DOWNSAMPLINGS = 3


def build_generator(
    latent_dim: int = 128,
    image_size: int = 32,
    channels: int = 3,
    width: int = 64,
    kernel_size: int = 3,
    init: str = "glorot",
    num_classes: int | None = None,
    label_dim: int = 32,
    g_input: str = "dense",
    init_std: float = NORMAL_STD,
    fade_in: bool = False,
    output_activation: str = "tanh",
    name: str = "generator",
) -> keras.Model:
    """z (B, latent_dim) [and labels (B,)] -> images (B, image_size, image_size, channels) in [-1, 1]
    (`output_activation` tanh) or [0, 1] (sigmoid).

    Args:
        width: channels of every block (the paper: 256).
        kernel_size: of the output convolution (the blocks use 3x3).
        g_input, init_std, fade_in: as `gans_keras.networks.dcgan.build_generator`.
    """
    levels = num_upsamplings(image_size)
    initializer = kernel_initializer(init, init_std)
    inputs, x = generator_inputs(latent_dim, num_classes, label_dim)
    x = latent_to_map(x, g_input, width, initializer, use_bias=True, normalise=False)  # (B, 4, 4, width)
    previous = x
    for level in range(1, levels + 1):
        previous = x
        x = ResBlockUp(width, kernel_initializer=initializer, name=f"up_{4 * 2**level}")(x)  # doubles H and W
    resolution = 4 * 2**levels
    x = _to_images(x, channels, kernel_size, initializer, resolution)
    if fade_in:
        x = fade_images(_to_images(previous, channels, kernel_size, initializer, resolution // 2), x, "fade_in")
    return keras.Model(inputs, crop_and_squash(x, image_size, output_activation), name=name)


def _to_images(x, channels: int, kernel_size: int, initializer, resolution: int):
    """BN, ReLU, convolution: the map at `resolution` -> images, before tanh."""
    x = layers.ReLU()(batch_norm(name=f"to_images_{resolution}_norm")(x))
    return layers.Conv2D(channels, kernel_size, padding="same", kernel_initializer=initializer,
                         name=f"to_images_{resolution}")(x)


def build_discriminator(
    image_size: int = 32,
    channels: int = 3,
    width: int = 64,
    kernel_size: int = 3,
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
    """images [and labels] -> raw scores (B, 1) [and class logits].

    Args as `gans_keras.networks.dcgan.build_discriminator`; `width` is the channels of every
    block (the paper: 128). `norm` must be None and `kernel_size` 3: the blocks fix both.
    """
    if norm is not None:
        raise ValueError(f"the resnet discriminator takes no norm, got {norm!r}")
    if kernel_size != 3:
        raise ValueError(f"the resnet blocks use 3x3 convolutions, got kernel_size {kernel_size}")
    levels = num_upsamplings(image_size)
    downsamplings = levels if fade_in else min(MAX_DOWNSAMPLINGS, levels)
    if fade_in:
        refuse_grown_channel_conditioning(num_classes, conditioning)
        if levels < 2:
            raise ValueError(f"a grown network has at least two doublings: image size {image_size} is too small")
    initializer = kernel_initializer(init, init_std)
    block = dict(spectral_norm=spectral_norm, kernel_initializer=initializer)
    inputs, x, labels = discriminator_inputs(image_size, channels, num_classes, conditioning)
    images = x
    resolution = 4 * 2**levels
    x = ResBlockDown(width, first=True, name=f"from_images_{resolution}", **block)(x)
    for _ in range(downsamplings - 1):
        resolution //= 2
        x = ResBlockDown(width, name=f"down_{resolution}", **block)(x)
        if fade_in and resolution == 4 * 2 ** (levels - 1):  # the half-size network's first block, on half-size images
            old = ResBlockDown(width, first=True, name=f"from_images_{resolution}", **block)(
                layers.AveragePooling2D(2)(images))
            x = FadeIn(name="fade_in")([old, x])
    if minibatch_std:
        x = MinibatchStdDev()(x)
    for i in range(2):
        x = ResBlockDown(width, downsample=False, name=f"block_{i}", **block)(x)
    x = layers.ReLU()(x)
    features = layers.GlobalAveragePooling2D()(x)  # (B, width)
    # Sum pooling, as the paper: the average times the (static) number of positions.
    features = layers.Rescaling(float(x.shape[1] * x.shape[2]))(features)
    outputs = discriminator_outputs(features, labels, num_classes, conditioning, aux_classifier, spectral_norm,
                                    initializer, semi_supervised_classes, head_units)
    return keras.Model(inputs, outputs, name=name)
