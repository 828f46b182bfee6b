"""Minibatch standard deviation (Karras et al. 2018): lets the discriminator see diversity."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="gans_keras")
class MinibatchStdDev(keras.layers.Layer):
    """Appends one channel: the feature-averaged standard deviation within groups of samples.

    The batch is split into groups of `group_size` consecutive samples (the whole batch when
    it is smaller or not divisible); each sample gets the mean over features of the per-feature
    standard deviation of its group, as a constant feature map.

    Args:
        group_size: samples per group.
        epsilon: added to the variance before the square root, so the gradient stays finite
            for identical samples.

    Example:
    >>> MinibatchStdDev(4)(keras.ops.ones((8, 7, 7, 16))).shape
    TensorShape([8, 7, 7, 17])

    Reference: Karras et al. 2018, "Progressive Growing of GANs", section 3,
    https://arxiv.org/abs/1710.10196.

    Note: it couples the samples of a batch, as BatchNorm does, so a per-sample gradient
    penalty (WGAN-GP) is no longer exactly per sample.
    """

    def __init__(self, group_size: int = 4, epsilon: float = 1e-8, **kwargs):
        super().__init__(**kwargs)
        if group_size < 1:
            raise ValueError(f"group_size must be >= 1, got {group_size}")
        self.group_size = group_size
        self.epsilon = epsilon

    def call(self, x):
        batch = ops.shape(x)[0]
        height, width, channels = x.shape[1], x.shape[2], x.shape[3]
        if isinstance(batch, int):  # JAX traces need a static reshape
            group = min(self.group_size, batch)
            group = group if batch % group == 0 else batch
        else:  # a TensorFlow graph's batch size, known only at run time
            group = ops.minimum(self.group_size, batch)
            group = ops.where(batch % group == 0, group, batch)
        grouped = ops.reshape(x, (group, -1, height, width, channels))  # (G, B/G, H, W, C)
        variance = ops.mean(ops.square(grouped - ops.mean(grouped, axis=0)), axis=0)
        std = ops.mean(ops.sqrt(variance + self.epsilon), axis=(1, 2, 3))  # (B/G,)
        # Sample i belongs to group i % (B/G) because of the reshape above.
        per_sample = ops.tile(std, (group,))[:, None, None, None]  # (B, 1, 1, 1)
        feature = ops.ones_like(x[..., :1]) * ops.cast(per_sample, x.dtype)
        return ops.concatenate([x, feature], axis=-1)  # (B, H, W, C + 1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] + 1)

    def get_config(self):
        return {**super().get_config(), "group_size": self.group_size, "epsilon": self.epsilon}
