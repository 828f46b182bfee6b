"""DiffAugment: differentiable augmentation applied to real and fake batches alike."""

from __future__ import annotations

import keras
import tensorflow as tf

from gans_keras import rng

POLICIES = ("color", "translation", "cutout")


@keras.saving.register_keras_serializable(package="gans_keras")
class DiffAugment(keras.layers.Layer):
    """Differentiable augmentation for data-efficient GAN training.

    Every transform is built from differentiable ops, so the generator's gradients flow
    through the augmentation of its samples. It is applied on every call (training or not):
    the GAN's `train_step` calls it on both the real and the fake batch.

    Args:
        policy: comma-separated transforms, applied in this order: "color" (random
            brightness, saturation and contrast), "translation" (shift by up to
            `translation_ratio` of the size, zero padded), "cutout" (zero a square of
            `cutout_ratio` of the size at a random place). "" is the identity.
        translation_ratio: largest shift as a fraction of the image size.
        cutout_ratio: side of the cut-out square as a fraction of the image size.
        seed: seed of the layer's random stream.

    Example:
    >>> augment = DiffAugment("translation,cutout", seed=0)
    >>> augment(keras.ops.ones((2, 32, 32, 3))).shape
    TensorShape([2, 32, 32, 3])

    Reference: Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN
    Training", https://arxiv.org/abs/2006.10738 (images in [-1, 1]).
    """

    def __init__(
        self,
        policy: str = "color,translation,cutout",
        translation_ratio: float = 0.125,
        cutout_ratio: float = 0.5,
        seed: int | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        transforms = [name.strip() for name in policy.split(",") if name.strip()]
        unknown = [name for name in transforms if name not in POLICIES]
        if unknown:
            raise ValueError(
                f"unknown DiffAugment transform(s) {unknown} in policy {policy!r}: "
                f"choose from {', '.join(POLICIES)}"
            )
        for arg, value in (("translation_ratio", translation_ratio), ("cutout_ratio", cutout_ratio)):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{arg} must be in [0, 1], got {value}")
        self.policy = ",".join(transforms)
        self.transforms = transforms
        self.translation_ratio = translation_ratio
        self.cutout_ratio = cutout_ratio
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        # Its seed is all its state: built now, so that Keras' fit under a strategy, which builds
        # what is unbuilt by calling the model on a batch, leaves the GAN alone.
        self.built = True

    def call(self, images):
        for name in self.transforms:
            images = getattr(self, f"_{name}")(images)
        return images

    def _uniform(self, batch, low=0.0, high=1.0):
        return rng.uniform((batch, 1, 1, 1), self.seed_generator, low, high, dtype=self.compute_dtype)

    def _color(self, x):
        batch = tf.shape(x)[0]
        x = x + self._uniform(batch, -0.5, 0.5)  # brightness
        mean = tf.reduce_mean(x, axis=-1, keepdims=True)
        x = (x - mean) * self._uniform(batch, 0.0, 2.0) + mean  # saturation
        mean = tf.reduce_mean(x, axis=[1, 2, 3], keepdims=True)
        return (x - mean) * self._uniform(batch, 0.5, 1.5) + mean  # contrast

    def _translation(self, x):
        batch, height, width = tf.shape(x)[0], x.shape[1], x.shape[2]
        shift_h = int(height * self.translation_ratio + 0.5)
        shift_w = int(width * self.translation_ratio + 0.5)
        dy = rng.randint((batch, 1), -shift_h, shift_h + 1, self.seed_generator)
        dx = rng.randint((batch, 1), -shift_w, shift_w + 1, self.seed_generator)
        padded = tf.pad(x, [[0, 0], [shift_h, shift_h], [shift_w, shift_w], [0, 0]])
        rows = tf.range(height)[None, :] + shift_h - dy  # (B, H) rows of `padded` to read
        cols = tf.range(width)[None, :] + shift_w - dx  # (B, W)
        x = tf.gather(padded, rows, axis=1, batch_dims=1)  # (B, H, W + 2 shift_w, C)
        return tf.gather(x, cols, axis=2, batch_dims=1)  # (B, H, W, C)

    def _cutout(self, x):
        batch, height, width = tf.shape(x)[0], x.shape[1], x.shape[2]
        size_h = int(height * self.cutout_ratio + 0.5)
        size_w = int(width * self.cutout_ratio + 0.5)
        # The square's centre ranges over the whole image, so squares near the border are
        # cut by it, as in the reference implementation.
        top = rng.randint((batch, 1), 0, height + 1 - size_h % 2, self.seed_generator)
        left = rng.randint((batch, 1), 0, width + 1 - size_w % 2, self.seed_generator)
        top, left = top - size_h // 2, left - size_w // 2
        rows = tf.range(height)[None, :]
        cols = tf.range(width)[None, :]
        inside_rows = (rows >= top) & (rows < top + size_h)  # (B, H)
        inside_cols = (cols >= left) & (cols < left + size_w)  # (B, W)
        inside = inside_rows[:, :, None] & inside_cols[:, None, :]  # (B, H, W)
        return x * tf.cast(~inside, x.dtype)[..., None]

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "policy": self.policy,
            "translation_ratio": self.translation_ratio,
            "cutout_ratio": self.cutout_ratio,
            "seed": self.seed,
        }
