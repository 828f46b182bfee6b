"""Applying a train step's gradients: summed over replicas, clipped and logged as one device would."""

from __future__ import annotations

import tensorflow as tf

from gans_keras.distribute import replica, sum_over_replicas


def unscaled_global_norm(grads, optimizer) -> tf.Tensor:
    """Global norm of the gradients before loss scaling (a LossScaleOptimizer's scale divided out;
    other optimisers' `scale_loss` is the identity)."""
    norm = tf.linalg.global_norm([tf.cast(g, tf.float32) for g in grads])
    return norm / tf.cast(optimizer.scale_loss(1.0), tf.float32)


def apply_gradients(optimizer, grads, variables, clip_norm: float | None = None) -> tf.Tensor:
    """Updates `variables` with the global batch's gradient; returns its norm before clipping.

    Under a strategy each replica's `grads` are of its share of the loss
    (`distribute.share_of_mean`). They are summed here first, so that the norm and the clipping
    are of the global gradient, as on one device: Keras' optimiser clips each replica's share
    before it sums them. It sums them again, so each replica then passes 1/R of the total (exact
    for R a power of 2).
    """
    _, count = replica()
    # An embedding's gradient comes as IndexedSlices; the sums and scalings below want tensors.
    grads = sum_over_replicas([tf.convert_to_tensor(g) for g in grads])
    norm = unscaled_global_norm(grads, optimizer)
    if clip_norm is not None:
        # The factor of tf.clip_by_global_norm, on the unscaled norm, so loss scaling leaves it alone.
        factor = clip_norm / tf.maximum(norm, clip_norm)
        grads = [g * tf.cast(factor, g.dtype) for g in grads]
    if count > 1:
        grads = [g / count for g in grads]
    optimizer.apply(grads, variables)
    return norm
