"""R3GAN's generator and discriminator (Huang et al. 2024, config E), for any square size from 8
to 256: one stage per resolution from 4x4 up, each of `blocks_per_stage` (the paper: 2) inverted-bottleneck
residual blocks (`gans_keras.layers.r3gan_blocks`), no normalisation layers.

Generator: latent [+ label embedding] -> learned 4x4 basis -> blocks -> (bilinear 2x
upsampling, blocks) per doubling -> 1x1 conv to the image channels -> crop -> tanh.
Discriminator, the mirror: zero-padded to 4 * 2^k -> 1x1 conv -> (blocks, [1, 3, 3, 1] low-pass
downsampling) per halving -> blocks at 4x4 -> depthwise 4x4 convolution -> linear score (and the
class projection of a conditional model).

The upsampling is Keras' bilinear UpSampling2D, which is the paper's [1, 3, 3, 1] interpolating
upsampler away from the border (at the border Keras repeats the edge pixel, the paper pads zeros).
Where it departs from the paper: the generator ends in tanh like the package's others (so
samples stay in [-1, 1]; the paper's output is linear), and the networks are as wide at every
stage as `width` (the paper's CIFAR-10 model: 768 at every stage), or with `width_doubling`
twice as wide at each lower resolution, as the package's dcgan and resnet networks. Widths change
as in the paper's code: a 1x1 convolution before the generator's upsampling and after the
discriminator's downsampling.
"""

from __future__ import annotations

import keras
from keras import layers

from gans_keras.layers import MinibatchStdDev
from gans_keras.layers.r3gan_blocks import BlurDownsample, GenerativeBasis, InvertedBottleneck, fan_in_normal
from gans_keras.networks.common import (
    crop_and_squash,
    discriminator_inputs,
    discriminator_outputs,
    generator_inputs,
    num_upsamplings,
)

GROUP_WIDTH = 16


def _refuse(init: str, spectral_norm: bool = False, norm: str | None = None) -> None:
    if init != "glorot":
        raise ValueError(f"the r3gan networks use R3GAN's fix-up initialisation: --init {init} does not apply")
    if spectral_norm or norm is not None:
        raise ValueError("the r3gan discriminator has no normalisation layers: spectral_norm and d_norm do not "
                         "apply (R1 and R2 regularise it)")


def _blocks(x, count: int, total_blocks: int, kernel_size: int):
    for _ in range(count):
        x = InvertedBottleneck(group_width=GROUP_WIDTH, kernel_size=kernel_size, total_blocks=total_blocks)(x)
    return x


def stage_widths(width: int, stages: int, doubling: bool) -> list[int]:
    """Channels of each stage from 4x4 up: `width` at every stage, or with `doubling` `width` at the
    full resolution and twice as many at each lower one."""
    return [width * 2 ** (stages - 1 - stage) if doubling else width for stage in range(stages)]


def _change_width(x, channels: int):
    """The paper's transition: a linear 1x1 convolution, only where the width changes."""
    if x.shape[-1] == channels:
        return x
    return layers.Conv2D(channels, 1, use_bias=False, kernel_initializer=fan_in_normal())(x)


def build_generator(
    latent_dim: int = 64,
    image_size: int = 32,
    channels: int = 3,
    width: int = 64,
    kernel_size: int = 3,
    init: str = "glorot",
    num_classes: int | None = None,
    label_dim: int | None = None,
    output_activation: str = "tanh",
    blocks_per_stage: int = 2,
    width_doubling: bool = False,
    name: str = "generator",
) -> keras.Model:
    """z (B, latent_dim) [and labels (B,)] -> images (B, image_size, image_size, channels) in [-1, 1]
    (`output_activation` tanh) or [0, 1] (sigmoid).

    Args:
        width: channels of every stage (of the last one with `width_doubling`); width * 2 must be a
            multiple of 16 (the groups' width).
        kernel_size: of the blocks' grouped convolutions.
        init: must be "glorot" (the default): the networks initialise themselves as the paper.
        label_dim: size of a conditional model's label embedding (None: latent_dim, as the paper).
        blocks_per_stage: residual blocks at each resolution (the paper: 2).
        width_doubling: twice the channels at each lower resolution (the paper: the same at every one).
    """
    _refuse(init)
    stages = num_upsamplings(image_size) + 1
    total_blocks = stages * blocks_per_stage
    widths = stage_widths(width, stages, width_doubling)
    # The paper's embedding is a linear map of the one-hot label, N(0, 1 / classes) like its other layers.
    label_init = keras.initializers.RandomNormal(0, num_classes**-0.5) if num_classes else None
    inputs, x = generator_inputs(latent_dim, num_classes, label_dim or latent_dim, label_init)
    x = GenerativeBasis(widths[0])(x)  # (B, 4, 4, widths[0])
    x = _blocks(x, blocks_per_stage, total_blocks, kernel_size)
    for stage_width in widths[1:]:
        x = _change_width(x, stage_width)  # before upsampling: on the 4x cheaper map
        # In float32: XLA compiles the gradient of a bfloat16 bilinear resize to a float32 product that
        # it then refuses to mix with bfloat16 (mixed_bfloat16 under --jit-compile on); the next block casts back.
        x = layers.UpSampling2D(2, interpolation="bilinear", dtype="float32")(x)
        x = _blocks(x, blocks_per_stage, total_blocks, kernel_size)
    x = layers.Conv2D(channels, 1, use_bias=False, kernel_initializer=fan_in_normal())(x)
    return keras.Model(inputs, crop_and_squash(x, image_size, output_activation), name=name)


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
    blocks_per_stage: int = 2,
    width_doubling: bool = False,
    name: str = "discriminator",
) -> keras.Model:
    """images [and labels] -> raw scores (B, 1) [and class logits].

    Args as `gans_keras.networks.dcgan.build_discriminator`; `width` is the channels of every
    stage (of the first one with `width_doubling`). `norm` and `spectral_norm` do not apply (the
    paper uses neither), `init` must be the default; `minibatch_std` adds its channel before the
    4x4 stage; `blocks_per_stage` and `width_doubling` as the generator's.
    """
    _refuse(init, spectral_norm, norm)
    halvings = num_upsamplings(image_size)
    total_blocks = (halvings + 1) * blocks_per_stage
    widths = stage_widths(width, halvings + 1, width_doubling)[::-1]  # from the full resolution down
    inputs, x, labels = discriminator_inputs(image_size, channels, num_classes, conditioning)
    padding = 4 * 2**halvings - image_size
    if padding:
        x = layers.ZeroPadding2D(((padding // 2, padding - padding // 2),) * 2)(x)  # 28 -> 32
    x = layers.Conv2D(widths[0], 1, use_bias=False, kernel_initializer=fan_in_normal())(x)
    for stage_width in widths[1:]:
        x = _blocks(x, blocks_per_stage, total_blocks, kernel_size)
        x = BlurDownsample()(x)
        x = _change_width(x, stage_width)  # after downsampling: on the 4x cheaper map
    if minibatch_std:
        x = MinibatchStdDev()(x)
        x = layers.Conv2D(widths[-1], 1, use_bias=False, kernel_initializer=fan_in_normal())(x)
    x = _blocks(x, blocks_per_stage, total_blocks, kernel_size)  # (B, 4, 4, widths[-1])
    # The discriminative basis: one 4x4 filter per channel (fan-in 16) reduces the map to a vector.
    x = layers.DepthwiseConv2D(4, use_bias=False, depthwise_initializer=keras.initializers.RandomNormal(0, 0.25))(x)
    features = layers.Flatten()(x)  # (B, widths[-1])
    outputs = discriminator_outputs(features, labels, num_classes, conditioning, aux_classifier, False,
                                    fan_in_normal(), semi_supervised_classes)
    return keras.Model(inputs, outputs, name=name)
