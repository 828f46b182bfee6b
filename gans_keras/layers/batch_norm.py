"""BatchNormalization with the statistics of the global batch under a tf.distribute strategy."""

from __future__ import annotations

import keras


def batch_norm(**kwargs) -> keras.layers.BatchNormalization:
    """A BatchNormalization layer that, made inside a strategy of several replicas, normalises by
    the mean and variance of the whole global batch (all-reduced), as one device would: each
    replica's own share gives other statistics, and other weights."""
    return keras.layers.BatchNormalization(synchronized=_replicated(), **kwargs)


def _replicated() -> bool:
    if keras.backend.backend() != "tensorflow":
        return False
    import tensorflow as tf

    return tf.distribute.has_strategy() and tf.distribute.get_strategy().num_replicas_in_sync > 1
