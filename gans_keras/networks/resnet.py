"""ResNet generator and discriminator of the SN-GAN paper (Miyato et al. 2018, appendix B,
CIFAR-10 models), for any square size from 8 to 256.

Generator: latent -> 4x4 -> one `ResBlockUp` per doubling -> BN, ReLU, 3x3 conv -> crop -> tanh.
Discriminator: an optimised first `ResBlockDown`, further downsampling blocks to about 4x4
(at most three in all), two blocks at that size, ReLU, global sum pooling, linear score.
"""

from __future__ import annotations

import keras
from keras import layers

from gans_keras.layers import MinibatchStdDev, ResBlockDown, ResBlockUp
from gans_keras.layers.batch_norm import batch_norm
from gans_keras.networks.common import (
    crop_and_squash,
    discriminator_inputs,
    discriminator_outputs,
    generator_inputs,
    kernel_initializer,
    num_upsamplings,
)


def build_generator(
    latent_dim: int = 128,
    image_size: int = 32,
    channels: int = 3,
    width: int = 64,
    kernel_size: int = 3,
    init: str = "glorot",
    num_classes: int | None = None,
    label_dim: int = 32,
    name: str = "generator",
) -> keras.Model:
    """z (B, latent_dim) [and labels (B,)] -> images (B, image_size, image_size, channels) in [-1, 1].

    Args:
        width: channels of every block (the paper: 256).
        kernel_size: of the output convolution (the blocks use 3x3).
    """
    levels = num_upsamplings(image_size)
    initializer = kernel_initializer(init)
    inputs, x = generator_inputs(latent_dim, num_classes, label_dim)
    x = layers.Dense(4 * 4 * width, kernel_initializer=initializer)(x)
    x = layers.Reshape((4, 4, width))(x)  # (B, 4, 4, width)
    for _ in range(levels):
        x = ResBlockUp(width, kernel_initializer=initializer)(x)  # doubles H and W
    x = layers.ReLU()(batch_norm()(x))
    x = layers.Conv2D(channels, kernel_size, padding="same", kernel_initializer=initializer)(x)
    return keras.Model(inputs, crop_and_squash(x, image_size), name=name)


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
    initializer = kernel_initializer(init)
    downsamplings = min(3, num_upsamplings(image_size))
    inputs, x, labels = discriminator_inputs(image_size, channels, num_classes, conditioning)
    x = ResBlockDown(width, first=True, spectral_norm=spectral_norm, kernel_initializer=initializer)(x)
    for _ in range(downsamplings - 1):
        x = ResBlockDown(width, spectral_norm=spectral_norm, kernel_initializer=initializer)(x)
    if minibatch_std:
        x = MinibatchStdDev()(x)
    for _ in range(2):
        x = ResBlockDown(width, downsample=False, spectral_norm=spectral_norm, kernel_initializer=initializer)(x)
    x = layers.ReLU()(x)
    features = layers.GlobalAveragePooling2D()(x)  # (B, width)
    # Sum pooling, as the paper: the average times the (static) number of positions.
    features = layers.Rescaling(float(x.shape[1] * x.shape[2]))(features)
    outputs = discriminator_outputs(
        features, labels, num_classes, conditioning, aux_classifier, spectral_norm, initializer, semi_supervised_classes
    )
    return keras.Model(inputs, outputs, name=name)
