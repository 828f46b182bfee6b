"""Importance sampling of the diffusion timestep (Nichol & Dhariwal 2021, eq. 17-18)."""

from __future__ import annotations

import keras
import tensorflow as tf

from gans_keras import rng


class TimestepImportance(keras.layers.Layer):
    """Draws t with p_t proportional to sqrt(E[L_t^2]), E over the last `history_length` values of
    L_t seen in training, once every t has that many (uniform until then), mixed with
    `uniform_mix` of the uniform distribution (their code's 0.001, so that no t is starved);
    the loss of an example drawn at t is weighted by 1 / (T p_t), which keeps it an unbiased
    estimate of the uniform-t loss. Its state (the histories and their counts) is the layer's
    weights, so a checkpoint holds it. Row T of `history` takes the writes that the histories
    drop (a t drawn more than `history_length` times in one batch keeps its last values), so
    every scatter has distinct indices and fixed shapes (XLA)."""

    def __init__(self, timesteps: int, history_length: int = 10, uniform_mix: float = 0.001, **kwargs):
        super().__init__(**kwargs)
        if history_length < 1 or not 0.0 <= uniform_mix <= 1.0:
            raise ValueError(f"history_length must be >= 1 and uniform_mix in [0, 1], got {history_length}, "
                             f"{uniform_mix}")
        self.timesteps, self.history_length, self.uniform_mix = timesteps, history_length, uniform_mix
        self.history = self.add_weight((timesteps + 1, history_length), initializer="zeros", trainable=False,
                                       name="loss_history", dtype="float32")
        self.counts = self.add_weight((timesteps,), initializer="zeros", trainable=False, name="loss_counts",
                                      dtype="int32")

    def probabilities(self) -> tf.Tensor:
        """p_t for t = 0 .. T-1."""
        uniform = tf.fill([self.timesteps], 1.0 / self.timesteps)
        root_mean_square = tf.sqrt(tf.reduce_mean(tf.square(self.history[:-1]), axis=1))
        weighted = root_mean_square / tf.maximum(tf.reduce_sum(root_mean_square), 1e-30)
        weighted = (1.0 - self.uniform_mix) * weighted + self.uniform_mix * uniform
        full = tf.reduce_all(tf.convert_to_tensor(self.counts) >= self.history_length)
        return tf.where(full, weighted, uniform)

    def sample(self, batch, seed_generator: keras.random.SeedGenerator) -> tuple[tf.Tensor, tf.Tensor]:
        """(t (batch,) int32, each example's loss weight 1 / (T p_t)), by inverse transform of a
        uniform draw from the model's seed stream."""
        p = self.probabilities()
        u = rng.uniform((batch,), seed_generator)
        t = tf.minimum(tf.searchsorted(tf.cumsum(p), u, side="right"), self.timesteps - 1)
        return t, 1.0 / (self.timesteps * tf.gather(p, t))

    def update(self, t, losses) -> None:
        """Appends each example's L_t to its t's history (oldest value out)."""
        t = tf.cast(t, tf.int32)
        losses = tf.cast(tf.stop_gradient(losses), tf.float32)
        same = tf.cast(tf.equal(t[:, None], t[None, :]), tf.int32)
        earlier = tf.linalg.band_part(tf.ones_like(same), -1, 0) - tf.eye(tf.shape(t)[0], dtype=tf.int32)
        rank = tf.reduce_sum(same * earlier, axis=1)  # earlier examples of this batch at the same t
        kept = rank >= tf.reduce_sum(same, axis=1) - self.history_length
        slot = tf.math.floormod(tf.gather(self.counts, t) + rank, self.history_length)
        row = tf.where(kept, t, self.timesteps)
        self.history.assign(tf.tensor_scatter_nd_update(self.history, tf.stack([row, slot], axis=1), losses))
        self.counts.assign(tf.tensor_scatter_nd_add(self.counts, t[:, None], tf.ones_like(t)))

    def get_config(self):
        return {**super().get_config(), "timesteps": self.timesteps, "history_length": self.history_length,
                "uniform_mix": self.uniform_mix}
