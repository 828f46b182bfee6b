"""Spectral normalisation as Miyato et al. (2018) define it: the layer computes with W / sigma(W)."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="gans_keras")
class SpectralNormalization(keras.layers.Wrapper):
    """Wraps a Dense, Conv, Conv-transpose or Embedding layer so that it computes with
    W / sigma(W), sigma the largest singular value of its kernel W, from `power_iterations`
    steps of power iteration per call on a persistent vector u (Miyato et al. 2018, Algorithm 1).

    The raw kernel stays the trained variable and is never overwritten; the gradient flows
    through sigma(W) with u and v held constant, as in PyTorch's `spectral_norm`. Keras's own
    `keras.layers.SpectralNormalization` instead writes W / sigma back into the kernel and runs
    the layer on it, so no gradient reaches sigma and the optimiser's moments follow a kernel
    that is replaced on the next call (keras-team/keras issue 20309).

    The kernel is seen as a matrix with one column per output unit (the last kernel axis, the
    second to last for a transposed convolution, the embedding axis for an Embedding); u is
    updated only in training. sigma is computed in the kernel's dtype (float32 under mixed
    precision).
    """

    def __init__(self, layer, power_iterations: int = 1, **kwargs):
        # Not autocast: the power iteration reads the float32 kernel; the wrapped layer autocasts itself.
        super().__init__(layer, **{**kwargs, "autocast": False})
        if power_iterations < 1:
            raise ValueError(f"power_iterations must be at least 1, got {power_iterations}")
        self.power_iterations = power_iterations

    def _kernel(self):
        for name in ("kernel", "embeddings"):
            if getattr(self.layer, name, None) is not None:
                return getattr(self.layer, name)
        raise ValueError(f"{type(self.layer).__name__} has neither a kernel nor embeddings to normalise")

    def build(self, input_shape):
        super().build(input_shape)
        kernel = self._kernel()
        self._output_axis = kernel.ndim - 2 if "Transpose" in type(self.layer).__name__ else kernel.ndim - 1
        self.vector_u = self.add_weight(shape=(1, kernel.shape[self._output_axis]), name="vector_u",
                                        initializer=keras.initializers.RandomNormal(), trainable=False,
                                        dtype=kernel.dtype, aggregation="only_first_replica")

    def sigma_and_u(self):
        """sigma(W) (differentiable in W) and the updated u (constant), from the current u."""
        kernel = self._kernel()
        raw = ops.convert_to_tensor(kernel)
        matrix = ops.reshape(ops.moveaxis(raw, self._output_axis, -1), (-1, kernel.shape[self._output_axis]))
        u = self.vector_u.value
        for _ in range(self.power_iterations):
            v = ops.normalize(ops.matmul(u, ops.transpose(matrix)), epsilon=1e-12)
            u = ops.normalize(ops.matmul(v, matrix), epsilon=1e-12)
        u, v = ops.stop_gradient(u), ops.stop_gradient(v)
        return ops.sum(ops.matmul(v, matrix) * u), u, raw

    def call(self, inputs, training=False):
        sigma, u, raw = self.sigma_and_u()
        if training:
            self.vector_u.assign(u)
        with keras.StatelessScope(state_mapping=[(self._kernel(), raw / sigma)]):
            return self.layer(inputs)

    def get_config(self):
        return {**super().get_config(), "power_iterations": self.power_iterations}
