"""Pieces both network families share: initializers, sizes, label inputs and output heads."""

from __future__ import annotations

import math

import keras
from keras import layers

from gans_keras.layers.spectral_norm import SpectralNormalization

MIN_SIZE, MAX_SIZE = 8, 256
INITIALIZERS = ("glorot", "normal", "orthogonal")
CONDITIONINGS = ("projection", "channel")


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
            f"image size {image_size} is not supported by the networks: "
            f"use a size from {MIN_SIZE} to {MAX_SIZE} (e.g. --image-size 32)"
        )
    return math.ceil(math.log2(image_size / 4))


def spectral(layer: keras.layers.Layer, enabled: bool) -> keras.layers.Layer:
    return SpectralNormalization(layer) if enabled else layer


def generator_inputs(latent_dim: int, num_classes: int | None, label_dim: int = 32, label_init="uniform"):
    """(inputs, x): z, or [z, labels] with the labels' embedding (initialised by `label_init`) joined to z."""
    z = keras.Input((latent_dim,), name="z")
    if num_classes is None:
        return z, z
    labels = keras.Input((), dtype="int32", name="labels")
    embedding = layers.Embedding(num_classes, label_dim, embeddings_initializer=label_init,
                                 name="label_embedding")(labels)  # (B, label_dim)
    return [z, labels], layers.Concatenate()([z, embedding])


def crop_and_squash(x, image_size: int):
    """Centre-crops a (B, 4 * 2^k, 4 * 2^k, C) map to image_size and applies tanh."""
    excess = x.shape[1] - image_size
    if excess:
        x = layers.Cropping2D(((excess // 2, excess - excess // 2),) * 2)(x)
    return layers.Activation("tanh", name="images", dtype="float32")(x)


def discriminator_inputs(image_size: int, channels: int, num_classes: int | None, conditioning: str):
    """(inputs, x, labels): with "channel" conditioning, x carries a learned label map."""
    if conditioning not in CONDITIONINGS:
        raise ValueError(f"conditioning must be 'projection' or 'channel', got {conditioning!r}")
    images = keras.Input((image_size, image_size, channels), name="images")
    if num_classes is None:
        return images, images, None
    labels = keras.Input((), dtype="int32", name="labels")
    x = images
    if conditioning == "channel":
        label_map = layers.Embedding(num_classes, image_size * image_size, name="label_map")(labels)
        label_map = layers.Reshape((image_size, image_size, 1))(label_map)
        x = layers.Concatenate()([images, label_map])  # (B, H, W, C + 1)
    return [images, labels], x, labels


@keras.saving.register_keras_serializable(package="gans_keras")
class LogSumExp(layers.Layer):
    """log sum_k exp(logits_k), (B, K) -> (B, 1): the semi-supervised discriminator's real-vs-fake
    logit, its K real classes against a "fake" class whose logit is fixed at 0 (Salimans et al. 2016,
    section 5)."""

    def call(self, logits):
        return keras.ops.logsumexp(logits, axis=-1, keepdims=True)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 1)


def discriminator_outputs(features, labels, num_classes, conditioning, aux_classifier, spectral_norm, init,
                          semi_supervised_classes=None):
    """Score (B, 1) from flat features, plus the class projection and class logits when asked.

    With `semi_supervised_classes` (an unconditional model) the class logits come first and the
    score is their LogSumExp, so D's real-vs-fake decision and its classes share one head."""
    if semi_supervised_classes is not None:
        if num_classes is not None:
            raise ValueError("semi_supervised_classes is for an unconditional discriminator: a conditional one "
                             "takes aux_classifier")
        logits = spectral(layers.Dense(semi_supervised_classes, kernel_initializer=init, name="class_logits",
                                       dtype="float32"), spectral_norm)(features)
        return [LogSumExp(name="score", dtype="float32")(logits), logits]
    score = spectral(layers.Dense(1, kernel_initializer=init, name="score", dtype="float32"), spectral_norm)(features)
    if num_classes is not None and conditioning == "projection":
        # Not spectrally normalised, as in every measured cgan run (Miyato & Koyama normalise it too).
        class_vectors = layers.Embedding(num_classes, features.shape[-1], name="class_embedding")(labels)
        score = layers.Add(dtype="float32")([score, layers.Dot(axes=1)([class_vectors, features])])
    if not aux_classifier:
        return score
    if num_classes is None:
        raise ValueError("aux_classifier needs num_classes")
    class_logits = layers.Dense(num_classes, kernel_initializer=init, name="class_logits", dtype="float32")
    return [score, class_logits(features)]
