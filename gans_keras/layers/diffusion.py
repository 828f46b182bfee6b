"""The diffusion UNet's layers: timestep embedding, GroupNorm + SiLU, residual block, attention block."""

from __future__ import annotations

import math

import keras
from keras import ops

from gans_keras.config import CHOICES


@keras.saving.register_keras_serializable(package="gans_keras")
class Dropout(keras.layers.Dropout):
    """keras.layers.Dropout (same variables, same seed stream) whose mask, under TensorFlow, is
    drawn with Philox whether XLA is on or not (`gans_keras.rng` says why)."""

    def call(self, inputs, training=False):
        if training and self.rate > 0 and keras.backend.backend() == "tensorflow":
            from gans_keras import rng  # imported here: the layer also loads where TensorFlow is not

            return rng.dropout(inputs, self.rate, self.seed_generator)
        return super().call(inputs, training=training)


@keras.saving.register_keras_serializable(package="gans_keras")
class SinusoidalEmbedding(keras.layers.Layer):
    """Timesteps (B,) -> (B, dim): [cos(t w_0), ..., cos(t w_{h-1}), sin(t w_0), ..., sin(t w_{h-1})]
    with w_i = max_period^(-i / h), h = dim / 2 (the transformer position encoding as used by
    Ho et al. 2020 and its successors).

    Example:
    >>> SinusoidalEmbedding(8)(keras.ops.zeros((2,))).numpy()[0]  # t = 0: cosines 1, sines 0
    array([1., 1., 1., 1., 0., 0., 0., 0.], dtype=float32)
    """

    def __init__(self, dim: int, max_period: float = 10_000.0, **kwargs):
        super().__init__(**kwargs)
        if dim < 2 or dim % 2:
            raise ValueError(f"dim must be even and >= 2, got {dim}")
        self.dim = dim
        self.max_period = max_period

    def call(self, t):
        half = self.dim // 2
        frequencies = ops.exp(-math.log(self.max_period) * ops.arange(half, dtype="float32") / half)
        angles = ops.reshape(ops.cast(t, "float32"), (-1, 1)) * frequencies[None, :]
        return ops.cast(ops.concatenate([ops.cos(angles), ops.sin(angles)], axis=-1), self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.dim)

    def get_config(self):
        return {**super().get_config(), "dim": self.dim, "max_period": self.max_period}


def _compiled(function):
    """Under TensorFlow, `function` as one XLA cluster, its gradient too; elsewhere `function`."""
    if keras.backend.backend() != "tensorflow":
        return function
    import tensorflow as tf

    return tf.function(function, jit_compile=True)


UNET_ACTIVATIONS = CHOICES["unet_activation"]
# --unet-init's names for the Keras initialisers of the UNet's trained kernels.
UNET_INITIALIZERS = dict(zip(CHOICES["unet_init"], ("glorot_uniform", "he_normal", "orthogonal"), strict=True))
UNET_PADDINGS = CHOICES["unet_padding"]


@keras.saving.register_keras_serializable(package="gans_keras")
class GroupNormSiLU(keras.layers.GroupNormalization):
    """silu(GroupNormalization(x)) (or another of UNET_ACTIVATIONS), the weights and arithmetic of
    GroupNormalization. Under
    TensorFlow with a reduced-precision compute dtype it runs as one compiled kernel: otherwise
    the normalisation, the activation, their casts and gradients are some twenty small ops over
    the feature map, and the bf16 UNet step on a CPU was 1.33x slower; in float32 the compiled
    kernel was slower (0.90-0.96x), so float32 keeps the plain ops (benchmarks/README.md,
    "Where the UNet's step time goes"). The convolutions around it stay outside XLA, with oneDNN."""

    def __init__(self, groups=32, activation: str = "silu", **kwargs):
        super().__init__(groups=groups, **kwargs)
        if activation not in UNET_ACTIVATIONS:
            raise ValueError(f"activation must be one of {', '.join(UNET_ACTIVATIONS)}, got {activation!r}")
        self.activation = activation

    def build(self, input_shape):
        super().build(input_shape)
        self._fused = self._norm_activation if self.compute_dtype == "float32" else _compiled(self._norm_activation)

    def _norm_activation(self, inputs):
        normalized = super().call(inputs)
        if self.activation == "silu":
            return normalized * ops.sigmoid(normalized)
        return keras.activations.get(self.activation)(normalized)

    def call(self, inputs):
        return self._fused(inputs)

    def get_config(self):
        return {**super().get_config(), "activation": self.activation}


def _groups(channels: int, groups: int) -> int:
    """The largest group count <= `groups` that divides `channels`."""
    return max(g for g in range(1, min(groups, channels) + 1) if channels % g == 0)


@keras.saving.register_keras_serializable(package="gans_keras")
class ResidualBlock(keras.layers.Layer):
    """[x (B, H, W, C_in), emb (B, E)] -> (B, H, W, channels).

    GroupNorm and SiLU (one `GroupNormSiLU`), 3x3 conv; plus a projection of the (time, class)
    embedding added to every position; GroupNorm and SiLU, dropout, 3x3 conv initialised to
    zero; plus the input (through a 1x1 conv when the channel count changes). At
    initialisation the block is its shortcut. `activation` replaces SiLU; `kernel_initializer`
    (a Keras initializer name) initialises every kernel but the zero one.
    """

    def __init__(self, channels: int, dropout: float = 0.0, groups: int = 8, activation: str = "silu",
                 kernel_initializer: str = "glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        self.channels = channels
        self.dropout_rate = dropout
        self.groups = groups
        self.activation = activation
        self.kernel_initializer = kernel_initializer

    def build(self, input_shape):
        x_shape, emb_shape = input_shape
        in_channels = x_shape[-1]
        # Sublayers compute as the block does: a reloaded mixed-precision network sets no global policy.
        policy = {"dtype": self.dtype_policy}
        init = {"kernel_initializer": self.kernel_initializer}
        self.norm1 = GroupNormSiLU(_groups(in_channels, self.groups), self.activation, name="norm1", **policy)
        self.conv1 = keras.layers.Conv2D(self.channels, 3, padding="same", name="conv1", **init, **policy)
        self.emb_proj = keras.layers.Dense(self.channels, name="emb_proj", **init, **policy)
        self.norm2 = GroupNormSiLU(_groups(self.channels, self.groups), self.activation, name="norm2", **policy)
        self.dropout = Dropout(self.dropout_rate, **policy)
        self.conv2 = keras.layers.Conv2D(self.channels, 3, padding="same", kernel_initializer="zeros", name="conv2",
                                         **policy)
        self.skip = (None if in_channels == self.channels
                     else keras.layers.Conv2D(self.channels, 1, name="skip", **init, **policy))
        hidden_shape = (*x_shape[:-1], self.channels)
        self.norm1.build(x_shape)
        self.conv1.build(x_shape)
        self.emb_proj.build(emb_shape)
        self.norm2.build(hidden_shape)
        self.conv2.build(hidden_shape)
        if self.skip is not None:
            self.skip.build(x_shape)

    def call(self, inputs, training=False):
        x, emb = inputs
        h = self.conv1(self.norm1(x))
        h = h + self.emb_proj(keras.activations.get(self.activation)(emb))[:, None, None, :]
        h = self.dropout(self.norm2(h), training=training)
        h = self.conv2(h)
        return h + (x if self.skip is None else self.skip(x))

    def compute_output_shape(self, input_shape):
        return (*input_shape[0][:-1], self.channels)

    def get_config(self):
        return {**super().get_config(), "channels": self.channels, "dropout": self.dropout_rate, "groups": self.groups,
                "activation": self.activation, "kernel_initializer": self.kernel_initializer}


@keras.saving.register_keras_serializable(package="gans_keras")
class AttentionBlock(keras.layers.Layer):
    """x (B, H, W, C), or [x, context (B, L, D)], or [x, context, context_mask (B, L)] -> (B, H, W, C).

    Multi-head self-attention over the H*W positions of the group-normalised features, then,
    when a context sequence is given, cross-attention from the positions to the context (the
    text conditioning of latent-diffusion models); `cross_first` swaps the two. The mask's False
    (or 0) entries are context positions no query attends to (a caption's padding). Each is a
    residual branch whose output projection starts at zero, so at initialisation the block is
    the identity.
    """

    def __init__(self, heads: int = 4, groups: int = 8, cross_first: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.heads = heads
        self.groups = groups
        self.cross_first = cross_first

    def build(self, input_shape):
        cross = isinstance(input_shape, (list, tuple)) and isinstance(input_shape[0], (list, tuple))
        x_shape = input_shape[0] if cross else input_shape
        channels = x_shape[-1]
        if channels % self.heads:
            raise ValueError(f"attention heads ({self.heads}) must divide the channels ({channels})")
        tokens_shape = (x_shape[0], None, channels)
        policy = {"dtype": self.dtype_policy}  # as in ResidualBlock.build
        self.norm = keras.layers.GroupNormalization(_groups(channels, self.groups), name="norm", **policy)
        self.attention = keras.layers.MultiHeadAttention(self.heads, channels // self.heads, name="self_attention",
                                                         **policy)
        self.proj = keras.layers.Dense(channels, kernel_initializer="zeros", name="proj", **policy)
        self.norm.build(x_shape)
        self.attention.build(tokens_shape, tokens_shape)
        self.proj.build(tokens_shape)
        self.cross_attention = None
        if cross:
            context_shape = input_shape[1]
            self.cross_norm = keras.layers.LayerNormalization(name="cross_norm", **policy)
            self.cross_attention = keras.layers.MultiHeadAttention(
                self.heads, channels // self.heads, name="cross_attention", **policy
            )
            self.cross_proj = keras.layers.Dense(channels, kernel_initializer="zeros", name="cross_proj", **policy)
            self.cross_norm.build(tokens_shape)
            self.cross_attention.build(tokens_shape, context_shape)
            self.cross_proj.build(tokens_shape)

    def call(self, inputs):
        return self._forward(inputs)[0]

    def cross_attention_scores(self, inputs):
        """The cross-attention weights of a call on `inputs` ([x, context, context_mask]):
        (B, heads, H * W, L), each position's distribution over the context tokens."""
        if self.cross_attention is None:
            raise ValueError("this AttentionBlock has no cross-attention")
        return self._forward(inputs, with_scores=True)[1]

    def _forward(self, inputs, with_scores: bool = False):
        """(output, the cross-attention scores if `with_scores`; Keras' attention computes them on a
        slower path, so only then)."""
        inputs = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        x, context, mask = (inputs + [None, None])[:3]
        if (context is None) != (self.cross_attention is None):
            raise ValueError("an AttentionBlock built with a context must be called with one, and only then")
        height, width, channels = x.shape[1], x.shape[2], x.shape[3]
        tokens = ops.reshape(x, (-1, height * width, channels))
        scores = []

        def attend_self(tokens):
            h = self.norm(ops.reshape(tokens, (-1, height, width, channels)))
            h = ops.reshape(h, (-1, height * width, channels))
            return tokens + self.proj(self.attention(h, h))

        def attend_context(tokens):
            attention_mask = None if mask is None else ops.cast(mask, "bool")[:, None, :]
            h = self.cross_norm(tokens)
            attended = self.cross_attention(h, context, attention_mask=attention_mask,
                                            return_attention_scores=with_scores)
            if with_scores:
                attended, weights = attended
                scores.append(weights)
            return tokens + self.cross_proj(attended)

        steps = [attend_self] if context is None else [attend_self, attend_context]
        for step in reversed(steps) if self.cross_first else steps:
            tokens = step(tokens)
        return ops.reshape(tokens, (-1, height, width, channels)), (scores[0] if scores else None)

    def compute_output_shape(self, input_shape):
        cross = isinstance(input_shape, (list, tuple)) and isinstance(input_shape[0], (list, tuple))
        return tuple(input_shape[0] if cross else input_shape)

    def get_config(self):
        return {**super().get_config(), "heads": self.heads, "groups": self.groups, "cross_first": self.cross_first}


@keras.saving.register_keras_serializable(package="gans_keras")
class MaskedMean(keras.layers.Layer):
    """[sequence (B, L, D), mask (B, L)] -> (B, D): the mean over the positions where the mask is
    True (zeros for an all-False row, e.g. the empty caption)."""

    def call(self, inputs):
        sequence, mask = inputs
        weights = ops.cast(mask, sequence.dtype)[:, :, None]
        return ops.sum(sequence * weights, axis=1) / ops.maximum(ops.sum(weights, axis=1), 1.0)

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0], input_shape[0][2])


@keras.saving.register_keras_serializable(package="gans_keras")
class SpatialPad(keras.layers.Layer):
    """(B, H, W, C) -> (B, H + before + after, W + before + after, C), padded with zeros or by
    reflection (the edge pixels not repeated): how the UNet takes a size its levels do not divide."""

    def __init__(self, before: int, after: int, mode: str = "reflect", **kwargs):
        super().__init__(**kwargs)
        if mode not in UNET_PADDINGS:
            raise ValueError(f"mode must be one of {', '.join(UNET_PADDINGS)}, got {mode!r}")
        self.before, self.after, self.mode = before, after, mode

    def call(self, x):
        widths = [(0, 0), (self.before, self.after), (self.before, self.after), (0, 0)]
        return ops.pad(x, widths, mode="reflect" if self.mode == "reflect" else "constant")

    def compute_output_shape(self, input_shape):
        grow = self.before + self.after
        return (input_shape[0], *(None if size is None else size + grow for size in input_shape[1:3]), input_shape[3])

    def get_config(self):
        return {**super().get_config(), "before": self.before, "after": self.after, "mode": self.mode}

