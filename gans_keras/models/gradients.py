"""The gradient norm the models log, the same under loss scaling as without it."""

from __future__ import annotations

import tensorflow as tf


def unscaled_global_norm(grads, optimizer) -> tf.Tensor:
    """Global norm of the gradients before loss scaling (a LossScaleOptimizer's scale divided out;
    other optimisers' `scale_loss` is the identity)."""
    norm = tf.linalg.global_norm([tf.cast(g, tf.float32) for g in grads])
    return norm / tf.cast(optimizer.scale_loss(1.0), tf.float32)
