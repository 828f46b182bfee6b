"""The diffusion UNet (Ho et al. 2020, with the refinements of Nichol & Dhariwal 2021):
residual blocks with GroupNorm and SiLU, a timestep (and class) embedding fed to every block,
self-attention at low resolutions only, skip connections, a zero-initialised output conv."""

from __future__ import annotations

from collections.abc import Sequence

import keras

from gans_keras.layers.diffusion import (
    UNET_INITIALIZERS,
    AttentionBlock,
    GroupNormSiLU,
    MaskedMean,
    ResidualBlock,
    SinusoidalEmbedding,
    SpatialPad,
)
from gans_keras.layers.text_encoder import TextEncoder, TokenMask, UnpackContext

TEXT_CONDITIONINGS = ("cross", "pooled", "both")


def build_unet(
    image_size: int,
    channels: int,
    width: int = 32,
    channel_mults: Sequence[int] = (1, 2, 2),
    res_blocks: int = 2,
    attention_resolution: int = 8,
    dropout: float = 0.1,
    heads: int = 4,
    groups: int = 8,
    num_classes: int | None = None,
    context_dim: int | None = None,
    text_conditioning: str = "cross",
    cross_attention_first: bool = False,
    learn_sigma: bool = False,
    activation: str = "silu",
    initializer: str = "glorot",
    padding: str = "reflect",
    name: str = "unet",
) -> keras.Model:
    """[x_t (B, S, S, C), t (B,) int32, (labels (B,) int32), (context (B, L, context_dim), context_mask (B, L))]
    -> (B, S, S, C), or (B, S, S, 2C) with `learn_sigma`.

    Level i works at S' / 2^i with `width * channel_mults[i]` channels, S' the image size
    rounded up to a multiple of 2^(levels - 1): the input is padded to S' (`padding`: reflect or
    zero, split evenly between the sides) and the output cropped back to S, so any size works
    (28 needs no padding with three levels: 28, 14, 7; with four it is padded to 32).
    `learn_sigma`: twice the channels out, the prediction and then the variance interpolation v
    of Improved DDPM (`gans_keras.likelihood`). `activation` (silu, gelu, relu, mish) is every
    block's; `initializer` (glorot, he, orthogonal) initialises every kernel that does not start
    at zero.
    `attention_resolution`: self-attention on feature maps of this size and smaller (0: none).
    `num_classes`: a label embedding is added to the time embedding; label `num_classes` is the
    "no label" of classifier-free guidance. `context_dim`: the network takes a context sequence
    (a caption's token features) and its mask (False at padding), used as `text_conditioning` says:
    "cross" (the attention blocks cross-attend to it), "pooled" (its masked mean, projected, is
    added to the time embedding) or "both"; `cross_attention_first` puts cross-attention before
    self-attention in each block.
    """
    if text_conditioning not in TEXT_CONDITIONINGS:
        raise ValueError(f"text_conditioning must be one of {', '.join(TEXT_CONDITIONINGS)}, got {text_conditioning!r}")
    levels = len(channel_mults)
    if levels < 1:
        raise ValueError("a UNet needs at least one level (channel_mults)")
    if initializer not in UNET_INITIALIZERS:
        raise ValueError(f"initializer must be one of {', '.join(UNET_INITIALIZERS)}, got {initializer!r}")
    init = UNET_INITIALIZERS[initializer]
    multiple = 2 ** (levels - 1)
    pad = -image_size % multiple
    if padding == "reflect" and pad and image_size <= pad // 2 + pad % 2:
        raise ValueError(f"image size {image_size} is too small to reflect-pad to {image_size + pad} "
                         f"({levels} UNet levels): use padding zero or fewer levels")
    inner_size = image_size + pad
    x_t = keras.Input((image_size, image_size, channels), name="x_t")
    t = keras.Input((), dtype="int32", name="t")
    inputs = [x_t, t]
    embed_dim = 4 * width
    emb = SinusoidalEmbedding(width, name="time_embedding")(t)
    emb = keras.layers.Dense(embed_dim, activation=activation, kernel_initializer=init, name="time_mlp_1")(emb)
    emb = keras.layers.Dense(embed_dim, kernel_initializer=init, name="time_mlp_2")(emb)
    if num_classes is not None:
        labels = keras.Input((), dtype="int32", name="labels")
        inputs.append(labels)
        label_embedding = keras.layers.Embedding(num_classes + 1, embed_dim, name="label_embedding")(labels)
        emb = keras.layers.Add(name="time_plus_label")([emb, label_embedding])
    cross = None
    if context_dim is not None:
        context = keras.Input((None, context_dim), name="context")
        context_mask = keras.Input((None,), dtype="bool", name="context_mask")
        inputs += [context, context_mask]
        if text_conditioning in ("pooled", "both"):
            pooled = MaskedMean(name="context_pool")([context, context_mask])
            text_embedding = keras.layers.Dense(embed_dim, name="text_proj")(pooled)
            emb = keras.layers.Add(name="time_plus_text")([emb, text_embedding])
        if text_conditioning in ("cross", "both"):
            smallest = inner_size // multiple
            if not 0 < smallest <= attention_resolution:
                raise ValueError(f"text_conditioning {text_conditioning!r} cross-attends in the attention blocks, "
                                 f"but attention_resolution {attention_resolution} gives none (the smallest feature "
                                 f"map is {smallest}x{smallest}): raise attention_resolution or use 'pooled'")
            cross = [context, context_mask]

    def attend(h):
        return AttentionBlock(heads, groups, cross_first=cross_attention_first)(h if cross is None else [h, *cross])

    def residual(h, channels):
        return ResidualBlock(channels, dropout, groups, activation, init)([h, emb])

    h = x_t if not pad else SpatialPad(pad // 2, pad - pad // 2, padding, name="pad")(x_t)
    h = keras.layers.Conv2D(width, 3, padding="same", kernel_initializer=init, name="stem")(h)
    skips = [h]
    for level, mult in enumerate(channel_mults):
        size = inner_size // 2**level
        for _ in range(res_blocks):
            h = residual(h, width * mult)
            if size <= attention_resolution:
                h = attend(h)
            skips.append(h)
        if level < levels - 1:
            h = keras.layers.Conv2D(width * mult, 3, strides=2, padding="same", kernel_initializer=init,
                                    name=f"down_{level}")(h)
            skips.append(h)
    h = residual(h, width * channel_mults[-1])
    if inner_size // multiple <= attention_resolution:
        h = attend(h)
    h = residual(h, width * channel_mults[-1])
    for level in reversed(range(levels)):
        size = inner_size // 2**level
        for _ in range(res_blocks + 1):
            h = keras.layers.Concatenate()([h, skips.pop()])
            h = residual(h, width * channel_mults[level])
            if size <= attention_resolution:
                h = attend(h)
        if level > 0:
            h = keras.layers.UpSampling2D(2, name=f"up_{level}")(h)
            h = keras.layers.Conv2D(width * channel_mults[level], 3, padding="same", kernel_initializer=init,
                                    name=f"up_conv_{level}")(h)
    h = GroupNormSiLU(min(groups, width), activation, name="out_norm")(h)
    # Zero-initialised: the untrained network predicts 0 (and v = 0, the variance beta~); float32
    # output under mixed precision.
    out = keras.layers.Conv2D(channels * (2 if learn_sigma else 1), 3, padding="same", kernel_initializer="zeros",
                              dtype="float32", name="out")(h)
    if pad:
        out = keras.layers.Cropping2D(((pad // 2, pad - pad // 2),) * 2, name="crop")(out)
    return keras.Model(inputs, out, name=name)


def learns_variance(network: keras.Model) -> bool:
    """Whether a denoiser outputs the variance interpolation v beside its prediction (twice the
    image's channels: `build_unet(learn_sigma=True)`). A subclassed denoiser without functional
    outputs predicts only."""
    outputs = getattr(network, "outputs", None)
    return bool(outputs) and outputs[0].shape[-1] == 2 * network.inputs[0].shape[-1]


def build_text_unet(
    image_size: int,
    channels: int,
    caption_length: int,
    vocabulary_size: int | None = None,
    text_dim: int = 64,
    text_depth: int = 2,
    text_heads: int = 4,
    context_dim: int | None = None,
    name: str = "text_unet",
    **unet_options,
) -> keras.Model:
    """[x_t (B, S, S, C), t (B,) int32, caption] -> (B, S, S, C), the caption as either

    - token ids (B, caption_length) int32 (`vocabulary_size`): the learned TextEncoder turns them
      into token features; all padding is the empty caption, guidance's unconditional input;
    - a pretrained encoder's packed features (B, caption_length, context_dim + 1) float32
      (`context_dim`, see gans_keras.pretrained_text): token features and the padding mask.

    The UNet (`build_unet` with `unet_options`, e.g. text_conditioning, cross_attention_first)
    takes the token features with the padding mask.
    """
    if (vocabulary_size is None) == (context_dim is None):
        raise ValueError("give vocabulary_size (the learned encoder) or context_dim (a pretrained one)")
    x_t = keras.Input((image_size, image_size, channels), name="x_t")
    t = keras.Input((), dtype="int32", name="t")
    if context_dim is None:
        caption = keras.Input((caption_length,), dtype="int32", name="caption")
        tokens, _ = TextEncoder(vocabulary_size, caption_length, text_dim, text_depth, text_heads,
                                name="text_encoder")(caption)
        mask = TokenMask(name="caption_mask")(caption)
    else:
        caption = keras.Input((caption_length, context_dim + 1), name="caption_features")
        tokens, mask = UnpackContext(name="caption_unpack")(caption)
    unet = build_unet(image_size, channels, context_dim=context_dim or text_dim, **unet_options)
    return keras.Model([x_t, t, caption], unet([x_t, t, tokens, mask]), name=name)
