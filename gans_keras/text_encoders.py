"""How a text-to-image model turns captions into its network's caption input.

`--text-encoder learned`: a word tokenizer fitted on the training captions (saved as the run's
tokenizer.json) gives token ids, which the network's own TextEncoder reads. `--text-encoder
keras_hub:PRESET_OR_DIR`: a frozen keras-hub text backbone (DistilBERT as in the source
project, BERT, ...) from a preset name or a local preset directory gives token features; each
distinct training caption is encoded once, when training starts, and looked up from then on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf

from gans_keras.layers.text_encoder import fit_tokenizer, load_tokenizer, save_tokenizer

PREFIX = "keras_hub:"
LEARNED = "learned"
TOKENIZER_FILE = "tokenizer.json"  # a learned encoder's vocabulary, beside generator.keras


def preset_name(spec: str) -> str:
    """`keras_hub:NAME` -> NAME (a keras-hub preset name, a Kaggle handle or a local directory)."""
    if not spec.startswith(PREFIX) or not spec[len(PREFIX):]:
        raise ValueError(f"a pretrained text encoder is keras_hub:PRESET_OR_DIR, got {spec!r}")
    return spec[len(PREFIX):]


class PretrainedTextEncoder:
    """Captions -> (N, L, dim + 1) float32: a frozen keras-hub backbone's token features (zero at
    padding) with the padding mask (1 at real tokens) as the last channel, so that one array is a
    caption's whole condition. The preset's own preprocessor tokenizes and packs each caption to
    `sequence_length` tokens (with its start and end tokens: the empty caption, the unconditional
    input of guidance, is those two).

    Example (offline, a preset saved to a directory beforehand):
    >>> encoder = PretrainedTextEncoder("keras_hub:/models/distil_bert_base_en", sequence_length=16)
    >>> encoder(["a dark ankle boot"]).shape
    (1, 16, 769)
    """

    def __init__(self, spec: str, sequence_length: int):
        name = preset_name(spec)
        try:
            import keras_hub
        except ImportError:
            raise ImportError(f"--text-encoder {spec} needs keras-hub: pip install 'gans_keras[text]' "
                              f"(or pip install keras-hub)") from None
        try:
            self.backbone = keras_hub.models.Backbone.from_preset(name)
            self.preprocessor = keras_hub.models.TextClassifierPreprocessor.from_preset(
                name, sequence_length=sequence_length)
        except Exception as error:  # keras-hub raises many types for a missing or unreachable preset
            reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise ValueError(
                f"cannot load the keras-hub text preset {name!r} ({reason}). Without internet, save it once "
                f"where it can be downloaded (keras_hub.models.Backbone.from_preset(NAME).save_to_preset(DIR), "
                f"and the same for keras_hub.models.TextClassifierPreprocessor) and pass --text-encoder "
                f"keras_hub:DIR") from None
        self.backbone.trainable = False
        self.spec = spec
        self.sequence_length = sequence_length
        self.null_caption = self.encode([""])[0]  # guidance's unconditional input
        self.dim = self.null_caption.shape[-1] - 1

    def encode(self, captions, batch_size: int = 256) -> np.ndarray:
        captions = [str(caption) for caption in captions]
        parts = []
        for start in range(0, len(captions), batch_size):
            inputs = self.preprocessor(captions[start:start + batch_size])
            outputs = self.backbone(inputs, training=False)
            features = np.asarray(outputs["sequence_output"] if isinstance(outputs, dict) else outputs, np.float32)
            mask = np.asarray(inputs["padding_mask"], np.float32)[..., None]  # (B, L, 1)
            parts.append(np.concatenate([features * mask, mask], axis=-1))
        return np.concatenate(parts) if parts else np.zeros((0, self.sequence_length, self.dim + 1), np.float32)

    __call__ = encode

    def lookup(self, captions) -> Callable:
        """A TensorFlow function for a tf.data pipeline: caption strings (B,) -> their encodings,
        each distinct caption of `captions` (the training set's) encoded once, now."""
        distinct = sorted(set(captions))
        table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(tf.constant(distinct), tf.range(len(distinct), dtype=tf.int64)), -1)
        encodings = tf.constant(self.encode(distinct))

        def encoded(batch):
            return tf.gather(encodings, table.lookup(batch))

        encoded.distinct = len(distinct)
        return encoded


@dataclass
class CaptionEncoding:
    """A text model's captions -> network input. `encode`: any strings (prompts) -> the input array;
    `pipeline`: the same for a tf.data pipeline of training captions; `null_caption`: the empty
    caption's input, guidance's unconditional one; `context_dim`: a pretrained encoder's feature
    width (None for the learned one, whose width is the config's)."""

    encode: Callable
    pipeline: Callable
    null_caption: np.ndarray
    context_dim: int | None = None
    tokenizer: object | None = None  # the learned encoder's TextVectorization

    def save(self, run: str | Path) -> None:
        """Writes what sampling needs beside generator.keras (the learned tokenizer's vocabulary;
        a pretrained encoder is the preset the config names)."""
        if self.tokenizer is not None:
            save_tokenizer(self.tokenizer, Path(run) / TOKENIZER_FILE)


def caption_encoding(config, run: str | Path | None = None, captions: list[str] | None = None) -> CaptionEncoding:
    """The caption encoding of a text model's `config`: for the learned encoder, the tokenizer
    saved in `run` if it has one, else one fitted on `captions`; for a pretrained one, its
    preset, with the distinct `captions` (if given) encoded once for `pipeline`."""
    length = config.caption_length
    if config.text_encoder == LEARNED:
        saved = None if run is None else Path(run) / TOKENIZER_FILE
        if saved is not None and saved.is_file():
            tokenizer = load_tokenizer(saved)
        elif captions is not None:
            tokenizer = fit_tokenizer(captions, max_tokens=config.text_vocabulary, sequence_length=length)
        else:
            raise FileNotFoundError(f"no {TOKENIZER_FILE} in {run}: a text model's run needs the tokenizer it was "
                                    f"trained with")
        return CaptionEncoding(tokenizer, tokenizer, np.zeros(length, np.int32), tokenizer=tokenizer)
    encoder = PretrainedTextEncoder(config.text_encoder, length)
    pipeline = encoder.lookup(captions) if captions is not None else encoder.encode
    return CaptionEncoding(encoder.encode, pipeline, encoder.null_caption, context_dim=encoder.dim)
