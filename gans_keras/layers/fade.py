"""The fade-in of a grown network's new block (Karras et al. 2018, section 3)."""

from __future__ import annotations

import keras


@keras.saving.register_keras_serializable(package="gans_keras")
class FadeIn(keras.layers.Layer):
    """[old, new] -> (1 - alpha) old + alpha new, two tensors of one shape.

    `alpha` is a non-trainable weight that training raises from 0 to 1 (`gans_keras.models.gan.GAN`
    sets it each step), so it is checkpointed, and a saved network keeps the value it had. At
    alpha = 0 the output is `old` exactly, at alpha = 1 `new` exactly.
    """

    def build(self, input_shape):
        # Every replica sets the same value, so the first one's assignment is the one kept.
        self.alpha = self.add_weight(shape=(), initializer="zeros", trainable=False, name="alpha",
                                     aggregation="only_first_replica")

    def call(self, inputs):
        old, new = inputs
        alpha = keras.ops.cast(self.alpha, old.dtype)
        return (1.0 - alpha) * old + alpha * new

    def compute_output_shape(self, input_shape):
        return input_shape[0]
