"""The `learned` text encoder of text-to-image diffusion: a small Transformer over caption tokens,
trained with the UNet (the offline alternative to a frozen pretrained backbone)."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence

import keras
from keras import ops

# Token id 0 is padding in keras.layers.TextVectorization's vocabulary, 1 the out-of-vocabulary token.
PADDING_ID = 0


def fit_tokenizer(captions, max_tokens: int = 2000, sequence_length: int = 16) -> keras.layers.TextVectorization:
    """A word-level TextVectorization adapted to `captions` (an iterable of strings): lower case,
    punctuation stripped, padded or cut to `sequence_length` ids."""
    tokenizer = keras.layers.TextVectorization(max_tokens=max_tokens, output_sequence_length=sequence_length,
                                               standardize="lower_and_strip_punctuation")
    tokenizer.adapt(list(captions))
    return tokenizer


def save_tokenizer(tokenizer: keras.layers.TextVectorization, path: str | os.PathLike) -> None:
    """Writes the tokenizer's vocabulary and settings as JSON (a run's tokenizer.json): a sampler
    must turn prompts into the ids the network was trained on."""
    from gans_keras.io import write_json

    config = tokenizer.get_config()
    write_json(path, {"vocabulary": tokenizer.get_vocabulary(), "sequence_length": config["output_sequence_length"],
                      "standardize": config["standardize"]})


def load_tokenizer(path: str | os.PathLike) -> keras.layers.TextVectorization:
    """The tokenizer `save_tokenizer` wrote: the same ids for every caption."""
    saved = json.loads(open(path).read())
    vocabulary: Sequence[str] = saved["vocabulary"]
    if list(vocabulary[:2]) != ["", "[UNK]"]:
        raise ValueError(f"{path}: the vocabulary must start with the padding and out-of-vocabulary tokens")
    # TextVectorization adds the padding and OOV tokens itself.
    return keras.layers.TextVectorization(vocabulary=list(vocabulary[2:]), standardize=saved["standardize"],
                                          output_sequence_length=saved["sequence_length"])


@keras.saving.register_keras_serializable(package="gans_keras")
class TokenMask(keras.layers.Layer):
    """Token ids (B, L) -> bool (B, L): True at real tokens, False at padding (id 0)."""

    def call(self, token_ids):
        return ops.not_equal(token_ids, PADDING_ID)

    def compute_output_spec(self, token_ids):
        return keras.KerasTensor(token_ids.shape, "bool")


@keras.saving.register_keras_serializable(package="gans_keras")
class TextEncoder(keras.layers.Layer):
    """Token ids (B, L) int -> [token features (B, L, dim), pooled (B, dim)].

    Learned token and position embeddings, then `depth` pre-norm Transformer blocks (self-attention
    over the caption's tokens, an MLP of 4 * dim); padding (id 0) is masked out of every attention
    and of the pooled mean, so appending padding changes no real token's features and not the
    pooled vector. A padded position's own features are zeroed, so cross-attention that masks it
    and cross-attention that does not read the same values from it.

    Example:
    >>> TextEncoder(50, 16, dim=32)(keras.ops.ones((2, 16), "int32"))[0].shape
    TensorShape([2, 16, 32])
    """

    def __init__(self, vocabulary_size: int, sequence_length: int, dim: int = 64, depth: int = 2, heads: int = 4,
                 **kwargs):
        super().__init__(**kwargs)
        if min(vocabulary_size, sequence_length, dim, depth, heads) < 1 or dim % heads:
            raise ValueError(f"vocabulary_size, sequence_length, dim, depth and heads must be >= 1 and heads must "
                             f"divide dim, got {vocabulary_size}, {sequence_length}, {dim}, {depth}, {heads}")
        self.vocabulary_size = vocabulary_size
        self.sequence_length = sequence_length
        self.dim = dim
        self.depth = depth
        self.heads = heads
        policy = {"dtype": self.dtype_policy}
        self.token_embedding = keras.layers.Embedding(vocabulary_size, dim, name="token_embedding", **policy)
        self.position_embedding = keras.layers.Embedding(sequence_length, dim, name="position_embedding", **policy)
        self.blocks = [
            (keras.layers.LayerNormalization(name=f"norm1_{i}", **policy),
             keras.layers.MultiHeadAttention(heads, dim // heads, name=f"attention_{i}", **policy),
             keras.layers.LayerNormalization(name=f"norm2_{i}", **policy),
             keras.layers.Dense(4 * dim, activation="gelu", name=f"mlp1_{i}", **policy),
             keras.layers.Dense(dim, name=f"mlp2_{i}", **policy))
            for i in range(depth)
        ]
        self.out_norm = keras.layers.LayerNormalization(name="out_norm", **policy)

    def build(self, input_shape):
        batch, length = input_shape
        features = (batch, length, self.dim)
        self.token_embedding.build(input_shape)
        self.position_embedding.build((length,))
        for norm1, attention, norm2, mlp1, mlp2 in self.blocks:
            norm1.build(features)
            attention.build(features, features)
            norm2.build(features)
            mlp1.build(features)
            mlp2.build((batch, length, 4 * self.dim))
        self.out_norm.build(features)

    def call(self, token_ids):
        mask = ops.not_equal(token_ids, PADDING_ID)  # (B, L)
        length = ops.shape(token_ids)[1]
        x = self.token_embedding(token_ids) + self.position_embedding(ops.arange(length))[None]
        attention_mask = mask[:, None, :]  # each query attends to the real tokens only
        for norm1, attention, norm2, mlp1, mlp2 in self.blocks:
            h = norm1(x)
            x = x + attention(h, h, attention_mask=attention_mask)
            x = x + mlp2(mlp1(norm2(x)))
        weights = ops.cast(mask, x.dtype)[:, :, None]
        x = self.out_norm(x) * weights
        pooled = ops.sum(x, axis=1) / ops.maximum(ops.sum(weights, axis=1), 1.0)
        return [x, pooled]

    def compute_output_shape(self, input_shape):
        return [(*input_shape, self.dim), (input_shape[0], self.dim)]

    def get_config(self):
        return {**super().get_config(), "vocabulary_size": self.vocabulary_size,
                "sequence_length": self.sequence_length, "dim": self.dim, "depth": self.depth, "heads": self.heads}


@keras.saving.register_keras_serializable(package="gans_keras")
class UnpackContext(keras.layers.Layer):
    """A pretrained encoder's packed caption (B, L, D + 1) -> [token features (B, L, D), mask (B, L)
    bool]: the last channel is the padding mask (1 at real tokens)."""

    def call(self, packed):
        return [packed[..., :-1], ops.greater(packed[..., -1], 0.5)]

    def compute_output_spec(self, packed):
        return [keras.KerasTensor((*packed.shape[:-1], packed.shape[-1] - 1), self.compute_dtype),
                keras.KerasTensor(packed.shape[:-1], "bool")]
