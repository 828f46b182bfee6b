"""The models' gradient step: the global norm it logs and clips by, under loss scaling too."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from gans_keras.models.gradients import apply_gradients


@pytest.mark.parametrize("loss_scale", [None, 1024.0])
def test_clips_the_global_norm_and_returns_it_unscaled(loss_scale):
    variables = [keras.Variable(np.zeros(2, "float32")), keras.Variable(np.zeros(1, "float32"))]
    optimizer = keras.optimizers.SGD(1.0)
    if loss_scale:
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer, initial_scale=loss_scale)
    optimizer.build(variables)
    scale = loss_scale or 1.0
    grads = [tf.constant([3.0, 0.0]) * scale, tf.constant([4.0]) * scale]  # global norm 5
    norm = apply_gradients(optimizer, grads, variables, clip_norm=1.0)
    assert float(norm) == pytest.approx(5.0)
    np.testing.assert_allclose(np.concatenate([v.numpy() for v in variables]), [-0.6, 0.0, -0.8], rtol=1e-6)
    # Below the limit the gradient passes unchanged.
    norm = apply_gradients(optimizer, [g / 50.0 for g in grads], variables, clip_norm=1.0)
    assert float(norm) == pytest.approx(0.1)
    np.testing.assert_allclose(np.concatenate([v.numpy() for v in variables]), [-0.66, 0.0, -0.88], rtol=1e-5)


def test_an_embedding_gradient_is_clipped_too():
    table = keras.Variable(np.ones((3, 2), "float32"))
    optimizer = keras.optimizers.SGD(1.0)
    optimizer.build([table])
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.gather(table, [0, 0]) * 10.0)
    grad = tape.gradient(loss, [table])
    assert isinstance(grad[0], tf.IndexedSlices)
    norm = apply_gradients(optimizer, grad, [table], clip_norm=1.0)
    assert float(norm) == pytest.approx(np.sqrt(2 * 20.0**2))
    np.testing.assert_allclose(table.numpy()[0], 1.0 - np.sqrt(0.5), rtol=1e-6)
    np.testing.assert_array_equal(table.numpy()[1:], 1.0)
