"""Random draws that are the same with XLA and without it.

TensorFlow's stateless random ops give other numbers under XLA than without it, whatever the
algorithm: XLA picks another one unless told, and even told Philox it turns the same random bits
into other floats. The integers agree, so these draw 24-bit integers with Philox and make the
floats themselves (uniform: the integer times 2^-24, exact in float32; normal: Box-Muller). A
jit-compiled train step (Keras' default on a GPU) then sees the latents, noise, augmentations and
dropout masks it would see without XLA, from the same `keras.random.SeedGenerator` stream.

Under a tf.distribute strategy every replica draws for the global batch (its batch times the
number of replicas) and keeps its own rows, so the replicas' shares together are what one device
draws: R replicas train as one device does on the same global batch.
"""

from __future__ import annotations

import functools
import math

import keras
import numpy as np
import tensorflow as tf

from gans_keras.distribute import replica

ALGORITHM = "philox"
BITS = 24  # float32's significand: every multiple of 2^-24 in [0, 1) is exact


def _seed(generator: keras.random.SeedGenerator) -> tf.Tensor:
    """The generator's next seed, as int32 the way Keras' TensorFlow backend casts it."""
    seed = generator.next()
    if seed.dtype == tf.int32:
        return seed
    return tf.cast(tf.math.floormod(seed, tf.int32.max - 1), tf.int32)


def _replica_rows(draw):
    """`draw(shape, ...)` made for the global batch, of which this replica keeps its rows."""

    @functools.wraps(draw)
    def replica_draw(shape, *args, **kwargs):
        index, count = replica()
        if count == 1:
            return draw(shape, *args, **kwargs)
        shape = tf.convert_to_tensor(shape, tf.int32)
        rows = shape[0]
        drawn = draw(tf.concat([[rows * count], shape[1:]], 0), *args, **kwargs)
        return drawn[index * rows:(index + 1) * rows]

    return replica_draw


def _randint(shape, minval, maxval, generator) -> tf.Tensor:
    return tf.random.stateless_uniform(shape, seed=_seed(generator), minval=minval, maxval=maxval, dtype=tf.int32,
                                       alg=ALGORITHM)


@_replica_rows
def randint(shape, minval, maxval, generator) -> tf.Tensor:
    """int32 in [minval, maxval)."""
    return _randint(shape, minval, maxval, generator)


def _unit(shape, generator) -> tf.Tensor:
    """float32 uniform on the multiples of 2^-24 in [0, 1)."""
    return tf.cast(_randint(shape, 0, 2**BITS, generator), tf.float32) * 2.0**-BITS


@_replica_rows
def uniform(shape, generator, minval=0.0, maxval=1.0, dtype="float32") -> tf.Tensor:
    return tf.cast(minval + (maxval - minval) * _unit(shape, generator), dtype)


@_replica_rows
def normal(shape, generator, dtype="float32") -> tf.Tensor:
    """Standard normal by Box-Muller from two uniforms (1 - u is in (0, 1], so its log is finite)."""
    radius = tf.sqrt(-2.0 * tf.math.log(1.0 - _unit(shape, generator)))
    return tf.cast(radius * tf.cos(2.0 * math.pi * _unit(shape, generator)), dtype)


def dropout(inputs, rate: float, generator) -> tf.Tensor:
    """Zeroes each element with probability `rate` and scales the kept ones by 1 / (1 - rate).

    The mask is `uniform(...) >= rate`, compared as the 24-bit integers it is made of: the
    same mask without a float pass over the feature map."""
    threshold = math.ceil(float(np.float32(rate)) * 2**BITS)  # as the float32 comparison rounds rate
    keep = randint(tf.shape(inputs), 0, 2**BITS, generator) >= threshold
    return inputs * tf.cast(keep, inputs.dtype) * tf.cast(1.0 / (1.0 - rate), inputs.dtype)
