"""gans_keras.layers.SpectralNormalization: Miyato et al.'s W / sigma(W) reparametrisation."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from gans_keras.layers import SpectralNormalization

LAYERS = {
    "dense": (lambda: keras.layers.Dense(5), (3, 7)),
    "conv": (lambda: keras.layers.Conv2D(4, 3), (2, 6, 6, 3)),
    "conv_transpose": (lambda: keras.layers.Conv2DTranspose(4, 3, strides=2), (2, 5, 5, 3)),
    "embedding": (lambda: keras.layers.Embedding(6, 5), None),
}


def _inputs(name):
    shape = LAYERS[name][1]
    if shape is None:
        return tf.constant([0, 3, 5, 3])
    return tf.random.stateless_normal(shape, seed=(4, 2))


def _wrapped(name, power_iterations=1):
    layer = SpectralNormalization(LAYERS[name][0](), power_iterations=power_iterations)
    layer(_inputs(name))
    return layer


def _matrix(layer):
    """The kernel as the (rows, output units) matrix whose largest singular value is sigma."""
    kernel = keras.ops.convert_to_numpy(layer._kernel())
    axis = kernel.ndim - 2 if isinstance(layer.layer, keras.layers.Conv2DTranspose) else kernel.ndim - 1
    return np.moveaxis(kernel, axis, -1).reshape(-1, kernel.shape[axis])


@pytest.mark.parametrize("name", LAYERS)
def test_a_training_call_leaves_the_raw_kernel_and_updates_u(name):
    layer = _wrapped(name)
    kernel, u = keras.ops.convert_to_numpy(layer._kernel()), layer.vector_u.numpy()
    layer(_inputs(name), training=True)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer._kernel()), kernel)
    assert not np.allclose(layer.vector_u.numpy(), u)
    u = layer.vector_u.numpy()
    layer(_inputs(name), training=False)
    np.testing.assert_array_equal(layer.vector_u.numpy(), u)


@pytest.mark.parametrize("name", LAYERS)
def test_sigma_converges_to_the_largest_singular_value(name):
    layer = _wrapped(name, power_iterations=50)
    sigma = float(layer.sigma_and_u()[0])
    assert sigma == pytest.approx(np.linalg.svd(_matrix(layer), compute_uv=False)[0], rel=1e-4)


def _explicit(name, kernel, bias, x):
    """The wrapped layer's output with `kernel`, written out."""
    if name == "dense":
        return x @ kernel + bias
    if name == "conv":
        return tf.nn.conv2d(x, kernel, 1, "VALID") + bias
    return tf.gather(kernel, x)


@pytest.mark.parametrize("name", ["dense", "conv", "embedding"])
@pytest.mark.parametrize("power_iterations", [1, 3])
def test_output_and_gradient_are_those_of_w_over_sigma_with_u_and_v_constant(name, power_iterations):
    layer = _wrapped(name, power_iterations)
    kernel_variable = layer._kernel()
    bias = getattr(layer.layer, "bias", None)
    bias = 0.0 if bias is None else tf.constant(keras.ops.convert_to_numpy(bias))
    kernel = tf.constant(keras.ops.convert_to_numpy(kernel_variable))
    u = tf.constant(layer.vector_u.numpy())
    x = _inputs(name)
    weights = tf.random.stateless_normal(layer(x).shape, seed=(7, 7))

    matrix = tf.reshape(kernel, (-1, kernel.shape[-1]))
    for _ in range(power_iterations):  # Miyato et al., Algorithm 1
        v = tf.math.l2_normalize(u @ tf.transpose(matrix))
        u = tf.math.l2_normalize(v @ matrix)
    with tf.GradientTape() as tape:
        tape.watch(kernel)
        sigma = tf.reduce_sum((v @ tf.reshape(kernel, (-1, kernel.shape[-1]))) * u)
        expected = _explicit(name, kernel / sigma, bias, x)
        expected_loss = tf.reduce_sum(expected * weights)
    expected_gradient = tape.gradient(expected_loss, kernel)

    with tf.GradientTape() as tape:
        output = layer(x, training=True)
        loss = tf.reduce_sum(output * weights)
    gradient = tape.gradient(loss, kernel_variable)
    np.testing.assert_allclose(output, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(gradient, expected_gradient, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(layer.vector_u.numpy(), u.numpy(), rtol=1e-5, atol=1e-7)
    # And not the gradient of a kernel with sigma held constant (what writing W / sigma back gives):
    assert not np.allclose(gradient, _gradient_with_sigma_constant(name, kernel, sigma, bias, x, weights), rtol=1e-3)


def _gradient_with_sigma_constant(name, kernel, sigma, bias, x, weights):
    sigma = tf.constant(sigma.numpy())
    with tf.GradientTape() as tape:
        tape.watch(kernel)
        loss = tf.reduce_sum(_explicit(name, kernel / sigma, bias, x) * weights)
    return tape.gradient(loss, kernel)


def test_mixed_precision_computes_sigma_in_float32():
    layer = SpectralNormalization(keras.layers.Dense(5, dtype="mixed_bfloat16"), dtype="mixed_bfloat16")
    output = layer(_inputs("dense"), training=True)
    assert output.dtype == tf.bfloat16
    assert layer.vector_u.dtype == "float32" and layer.sigma_and_u()[0].dtype == tf.float32


def test_power_iterations_must_be_positive():
    with pytest.raises(ValueError, match="power_iterations"):
        SpectralNormalization(keras.layers.Dense(2), power_iterations=0)


def test_a_layer_without_a_kernel_is_refused():
    with pytest.raises(ValueError, match="neither a kernel nor embeddings"):
        SpectralNormalization(keras.layers.Flatten())(tf.ones((2, 3)))


def test_survives_a_keras_round_trip(tmp_path):
    inputs = keras.Input((6, 6, 3))
    h = SpectralNormalization(keras.layers.Conv2D(4, 3), power_iterations=2)(inputs)
    outputs = SpectralNormalization(keras.layers.Dense(2))(keras.layers.Flatten()(h))
    model = keras.Model(inputs, outputs)
    x = tf.random.stateless_normal((2, 6, 6, 3), seed=(1, 1))
    model(x, training=True)
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(loaded(x), model(x), rtol=1e-6)
    wrappers = [layer for layer in loaded.layers if isinstance(layer, SpectralNormalization)]
    assert [layer.power_iterations for layer in wrappers] == [2, 1]
    for old, new in zip([layer for layer in model.layers if isinstance(layer, SpectralNormalization)], wrappers,
                        strict=True):
        np.testing.assert_array_equal(old.vector_u.numpy(), new.vector_u.numpy())
