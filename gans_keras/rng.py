"""Random draws that are the same with XLA and without it.

TensorFlow's stateless random ops give other numbers under XLA than without it, whatever the
algorithm: XLA picks another one unless told, and even told Philox it turns the same random bits
into other floats. The integers agree, so these draw 24-bit integers with Philox and make the
floats themselves (uniform: the integer times 2^-24, exact in float32; normal: Box-Muller). A
jit-compiled train step (Keras' default on a GPU) then sees the latents, noise, augmentations and
dropout masks it would see without XLA, from the same `keras.random.SeedGenerator` stream.
"""

from __future__ import annotations

import math

import keras
import tensorflow as tf

ALGORITHM = "philox"
BITS = 24  # float32's significand: every multiple of 2^-24 in [0, 1) is exact


def _seed(generator: keras.random.SeedGenerator) -> tf.Tensor:
    """The generator's next seed, as int32 the way Keras' TensorFlow backend casts it."""
    seed = generator.next()
    if seed.dtype == tf.int32:
        return seed
    return tf.cast(tf.math.floormod(seed, tf.int32.max - 1), tf.int32)


def randint(shape, minval, maxval, generator) -> tf.Tensor:
    """int32 in [minval, maxval)."""
    return tf.random.stateless_uniform(shape, seed=_seed(generator), minval=minval, maxval=maxval, dtype=tf.int32,
                                       alg=ALGORITHM)


def _unit(shape, generator) -> tf.Tensor:
    """float32 uniform on the multiples of 2^-24 in [0, 1)."""
    return tf.cast(randint(shape, 0, 2**BITS, generator), tf.float32) * 2.0**-BITS


def uniform(shape, generator, minval=0.0, maxval=1.0, dtype="float32") -> tf.Tensor:
    return tf.cast(minval + (maxval - minval) * _unit(shape, generator), dtype)


def normal(shape, generator, dtype="float32") -> tf.Tensor:
    """Standard normal by Box-Muller from two uniforms (1 - u is in (0, 1], so its log is finite)."""
    radius = tf.sqrt(-2.0 * tf.math.log(1.0 - _unit(shape, generator)))
    return tf.cast(radius * tf.cos(2.0 * math.pi * _unit(shape, generator)), dtype)


def dropout(inputs, rate: float, generator) -> tf.Tensor:
    """Zeroes each element with probability `rate` and scales the kept ones by 1 / (1 - rate)."""
    keep = uniform(tf.shape(inputs), generator) >= rate
    return tf.where(keep, inputs / tf.cast(1.0 - rate, inputs.dtype), tf.zeros_like(inputs))
