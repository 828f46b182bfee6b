"""Pieces both network families share: initializers, sizes, label inputs and output heads."""

from __future__ import annotations

import math

import keras
from keras import layers

from gans_keras.config import G_ACTIVATIONS, G_INPUTS, NORMAL_STD
from gans_keras.layers.batch_norm import batch_norm
from gans_keras.layers.fade import FadeIn
from gans_keras.layers.spectral_norm import SpectralNormalization

MIN_SIZE, MAX_SIZE = 8, 256
INITIALIZERS = ("glorot", "normal", "orthogonal")
CONDITIONINGS = ("projection", "channel")


def kernel_initializer(name: str, std: float = NORMAL_STD) -> keras.initializers.Initializer:
    """glorot (Keras' default), normal (N(0, std); Radford et al. 2015 use 0.02) or orthogonal."""
    if name == "glorot":
        return keras.initializers.GlorotUniform()
    if name == "normal":
        return keras.initializers.RandomNormal(0.0, std)
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
    """`layer`, or it spectrally normalised; the wrapper is named after the layer, so that a grown
    network finds its counterpart by name."""
    return SpectralNormalization(layer, name=f"{layer.name}_sn") if enabled else layer


def generator_inputs(latent_dim: int, num_classes: int | None, label_dim: int = 32, label_init="uniform"):
    """(inputs, x): z, or [z, labels] with the labels' embedding (initialised by `label_init`) joined to z."""
    z = keras.Input((latent_dim,), name="z")
    if num_classes is None:
        return z, z
    labels = keras.Input((), dtype="int32", name="labels")
    embedding = layers.Embedding(num_classes, label_dim, embeddings_initializer=label_init,
                                 name="label_embedding")(labels)  # (B, label_dim)
    return [z, labels], layers.Concatenate()([z, embedding])


def hidden_activation(name: str) -> layers.Layer:
    """A generator's hidden activation: relu, or leaky_relu with the discriminators' slope 0.2."""
    if name == "relu":
        return layers.ReLU()
    if name == "leaky_relu":
        return layers.LeakyReLU(0.2)
    raise ValueError(f"unknown activation {name!r}: choose from {', '.join(G_ACTIVATIONS)}")


def latent_to_map(x, g_input: str, filters: int, init, *, use_bias: bool, normalise: bool, activation: str = "relu",
                  bn_momentum: float = 0.99):
    """The generator's input vector (B, D) -> its first map (B, 4, 4, C).

    dense: a Dense layer to 4 * 4 * filters values, reshaped (with `normalise`, BatchNorm with
    `bn_momentum` and `activation` on the vector first, as the DCGAN generator always had);
    reshape: the vector itself as a 4x4 map of D / 16 channels, no weights; conv: a 4x4
    transposed convolution of the vector as a 1x1 map (with `normalise`, BatchNorm and the
    activation after it).
    """
    if g_input == "reshape":
        if x.shape[-1] % 16:
            raise ValueError(f"g_input reshape makes the generator's {x.shape[-1]} inputs (the latent, and a "
                             f"conditional model's label embedding) a 4x4 map: they must be a multiple of 16")
        return layers.Reshape((4, 4, x.shape[-1] // 16))(x)
    if g_input == "dense":
        x = layers.Dense(4 * 4 * filters, use_bias=use_bias, kernel_initializer=init, name="project")(x)
        if normalise:
            x = hidden_activation(activation)(batch_norm(momentum=bn_momentum, name="project_norm")(x))
        return layers.Reshape((4, 4, filters))(x)
    if g_input == "conv":
        x = layers.Reshape((1, 1, x.shape[-1]))(x)
        x = layers.Conv2DTranspose(filters, 4, use_bias=use_bias, kernel_initializer=init, name="project")(x)
        if normalise:
            x = hidden_activation(activation)(batch_norm(momentum=bn_momentum, name="project_norm")(x))
        return x
    raise ValueError(f"unknown g_input {g_input!r}: choose from {', '.join(G_INPUTS)}")


def refuse_grown_channel_conditioning(num_classes: int | None, conditioning: str) -> None:
    if num_classes is not None and conditioning == "channel":
        raise ValueError("a grown discriminator takes its labels by projection: the channel conditioning's label "
                         "map has the image's size, so it has no counterpart at half the size")


def fade_images(old, new, name: str):
    """A grown generator's output: its new block's images faded in over the old path's, upsampled
    (nearest, so that the old images are exactly those of the network grown from)."""
    return FadeIn(name=name)([layers.UpSampling2D(2)(old), new])


def crop_and_squash(x, image_size: int, output_activation: str = "tanh"):
    """Centre-crops a (B, 4 * 2^k, 4 * 2^k, C) map to image_size and applies tanh (images in
    [-1, 1]) or sigmoid ([0, 1]); `gans_keras.viz.generator_value_range` reads it back."""
    excess = x.shape[1] - image_size
    if excess:
        x = layers.Cropping2D(((excess // 2, excess - excess // 2),) * 2)(x)
    return layers.Activation(output_activation, name="images", dtype="float32")(x)


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
                          semi_supervised_classes=None, head_units=()):
    """Score (B, 1) from flat features, plus the class projection and class logits when asked.

    `head_units`: hidden Dense layers (LeakyReLU 0.2) between the features and every output, for
    a global view of the image. With `semi_supervised_classes` (an unconditional model) the
    class logits come first and the score is their LogSumExp, so D's real-vs-fake decision and
    its classes share one head."""
    for i, units in enumerate(head_units):
        dense = layers.Dense(units, kernel_initializer=init, name=f"head_{i}")
        features = layers.LeakyReLU(0.2)(spectral(dense, spectral_norm)(features))
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
