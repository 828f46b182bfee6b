import keras
import numpy as np
import pytest
import tensorflow as tf

from gans_keras.metrics.extractors import (
    Classifier,
    InceptionGraph,
    KerasInception,
    extract,
    find_inception_graph,
    get_extractor,
)


def _write_inception_like_graph(path, feature_dim=6, classes=5):
    """A tiny GraphDef with the tensor names of classify_image_graph_def.pb: input at
    "ExpandDims:0" (batch 1 in the real graph), a resize to a fixed size, "pool_3:0" of shape
    (1, 1, 1, D), and "softmax/logits/MatMul" whose second input holds the logit weights."""
    rng = np.random.default_rng(0)
    projection = rng.standard_normal((3, feature_dim)).astype("float32")
    weights = rng.standard_normal((feature_dim, classes)).astype("float32")
    graph = tf.Graph()
    with graph.as_default():
        images = tf.compat.v1.placeholder(tf.float32, [1, None, None, 3], name="ExpandDims")
        resized = tf.compat.v1.image.resize_bilinear(images, [7, 7])
        normalised = (resized - 128.0) / 128.0
        mixed = tf.nn.conv2d(normalised, tf.constant(projection[None, None]), 1, "VALID")  # (1, 7, 7, D)
        pool3 = tf.nn.avg_pool2d(mixed, 7, 1, "VALID", name="pool_3")  # (1, 1, 1, D)
        flat = tf.reshape(pool3, [1, feature_dim])
        with tf.compat.v1.name_scope("softmax/logits"):
            tf.matmul(flat, tf.constant(weights, name="weights"), name="MatMul")
    path.write_bytes(graph.as_graph_def().SerializeToString())
    return projection, weights


def test_inception_graph_wiring_batches_and_resizes(tmp_path):
    path = tmp_path / "classify_image_graph_def.pb"
    projection, weights = _write_inception_like_graph(path)
    extractor = InceptionGraph(path)
    images = np.random.default_rng(1).integers(0, 256, (5, 12, 12, 1)).astype(np.uint8)
    features, logits = extract(extractor, images, batch_size=2, verbose=False)
    assert features.shape == (5, 6) and logits.shape == (5, 5)
    rgb = tf.image.grayscale_to_rgb(tf.constant(images, tf.float32))
    resized = tf.compat.v1.image.resize_bilinear(rgb, [7, 7]).numpy()
    expected = ((resized - 128.0) / 128.0 @ projection).mean(axis=(1, 2))
    np.testing.assert_allclose(features, expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(logits, expected @ weights, rtol=1e-5, atol=1e-5)


def test_inception_graph_found_through_environment(tmp_path, monkeypatch):
    path = tmp_path / "graph.pb"
    _write_inception_like_graph(path)
    monkeypatch.setenv("GANS_KERAS_INCEPTION_GRAPH", str(path))
    assert find_inception_graph() == path


def test_missing_inception_graph_says_what_to_provide(tmp_path, monkeypatch):
    monkeypatch.delenv("GANS_KERAS_INCEPTION_GRAPH", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="classify_image_graph_def.pb was not found.*inception-2015-12-05.tgz"):
        get_extractor("inception")


def test_keras_inception_random_weights_shapes():
    extractor = KerasInception(weights=None)
    images = np.random.default_rng(2).integers(0, 256, (3, 28, 28, 1)).astype(np.uint8)
    features, logits = extract(extractor, images, batch_size=2, verbose=False)
    assert features.shape == (3, 2048) and logits.shape == (3, 1000)
    # Logits are the pre-softmax outputs of the ImageNet head.
    probabilities = keras.ops.softmax(logits).numpy()
    np.testing.assert_allclose(probabilities.sum(1), 1.0, rtol=1e-6)


def test_keras_inception_missing_weights_is_clear(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr(keras.utils, "get_file", lambda *a, **k: (_ for _ in ()).throw(OSError("offline")))
    with pytest.raises(FileNotFoundError, match="inception_v3_weights_tf_dim_ordering_tf_kernels.h5 are not in"):
        KerasInception()


def test_classifier_logits_match_the_model(tmp_path):
    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Flatten()(keras.layers.Rescaling(1 / 255)(inputs))
    features = keras.layers.Dense(4, activation="relu", name="features")(x)
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(features))
    model.save(tmp_path / "c.keras")
    extractor = Classifier(tmp_path / "c.keras")
    images = np.random.default_rng(3).integers(0, 256, (4, 16, 16, 3)).astype(np.uint8)  # resized, grayed
    got_features, logits = extract(extractor, images, verbose=False)
    small = tf.image.rgb_to_grayscale(tf.image.resize(tf.constant(images, tf.float32), (8, 8), antialias=True))
    np.testing.assert_allclose(keras.ops.softmax(logits).numpy(), model.predict(small, verbose=0), rtol=1e-5, atol=1e-6)
    assert got_features.shape == (4, 4)


def test_unknown_backbone_and_classifier():
    with pytest.raises(ValueError, match="unknown backbone 'vgg'"):
        get_extractor("vgg")
    with pytest.raises(ValueError, match="no shipped classifier for 'svhn'"):
        get_extractor("classifier:svhn")
