"""Feature extractors: images (N, H, W, C) with values 0..255 -> (features (N, D), logits (N, K)).

- ``inception``: the 2015-12-05 Inception graph that TTUR, pytorch-fid and TF-GAN compute FID
  with; pool_3 features and the 1008 logits of the OpenAI Inception Score. Comparable with
  published numbers.
- ``keras-inception``: `keras.applications.InceptionV3` with ImageNet weights. Convenient,
  NOT comparable with published FID: other weights, average- instead of max-pooling in
  mixed10, x/127.5 - 1 instead of (x - 128)/128, half-pixel resizing.
- ``classifier:fashion_mnist``: the small CNN shipped in the package, for an offline,
  domain-appropriate "classifier FID/IS" on 28x28 data. ``classifier:PATH`` loads any Keras
  classifier the same way (features: the layer named "features", else the input of the last
  layer; logits: the output before any softmax).

Grayscale images are tiled to 3 channels for both Inception networks.
"""

from __future__ import annotations

import os
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from gans_keras.sampling import load_network

INCEPTION_GRAPH_FILE = "classify_image_graph_def.pb"
INCEPTION_GRAPH_ENV = "GANS_KERAS_INCEPTION_GRAPH"
INCEPTION_URL = "http://download.tensorflow.org/models/image/imagenet/inception-2015-12-05.tgz"
KERAS_INCEPTION_FILE = "inception_v3_weights_tf_dim_ordering_tf_kernels.h5"
CLASSIFIERS_DIR = Path(__file__).resolve().parent / "weights"
BACKBONES = ("inception", "keras-inception", "classifier:fashion_mnist", "classifier:PATH")


def keras_models_dir() -> Path:
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "models"


def _to_rgb(images: tf.Tensor) -> tf.Tensor:
    return tf.image.grayscale_to_rgb(images) if images.shape[-1] == 1 else images


class Extractor:
    """Base: `__call__` maps one batch of float32 images in 0..255 to (features, logits)."""

    name = "extractor"
    batch_size = 200  # images per call; the Inception networks at 299x299 need less

    def __call__(self, images: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        raise NotImplementedError


class InceptionGraph(Extractor):
    """The 2015-12-05 Inception graph, imported with `import_graph_def` in `wrap_function`.

    Images of any size go in at "ExpandDims:0" as float 0..255; the graph resizes them to
    299x299 and normalises them itself. Features are "pool_3:0" (2048-d); logits are pool_3
    times the weights of "softmax/logits/MatMul", as the OpenAI Inception Score computes them.
    """

    name = "inception"
    batch_size = 50

    def __init__(self, graph_path: str | os.PathLike | None = None):
        path = find_inception_graph(graph_path)
        graph_def = tf.compat.v1.GraphDef()
        graph_def.ParseFromString(Path(path).read_bytes())

        def forward(images):
            pool3, matmul = tf.compat.v1.import_graph_def(
                graph_def,
                input_map={"ExpandDims:0": images},
                return_elements=["pool_3:0", "softmax/logits/MatMul"],
                name="inception",
            )
            features = tf.reshape(pool3, [tf.shape(images)[0], -1])  # (B, 2048)
            return features, tf.matmul(features, matmul.inputs[1])  # (B, 1008)

        self._forward = tf.compat.v1.wrap_function(forward, [tf.TensorSpec([None, None, None, 3], tf.float32)])
        self.path = path

    def __call__(self, images):
        return self._forward(_to_rgb(images))


def find_inception_graph(path: str | os.PathLike | None = None) -> Path:
    """The graph file: `path`, else $GANS_KERAS_INCEPTION_GRAPH, else the Keras cache."""
    candidates = [Path(p) for p in (path, os.environ.get(INCEPTION_GRAPH_ENV)) if p]
    candidates.append(keras_models_dir() / INCEPTION_GRAPH_FILE)
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        f"the Inception graph {INCEPTION_GRAPH_FILE} was not found (looked at "
        f"{', '.join(map(str, candidates))}). Download {INCEPTION_URL}, extract "
        f"{INCEPTION_GRAPH_FILE} into {keras_models_dir()}, or pass its path with "
        f"--inception-graph or ${INCEPTION_GRAPH_ENV}."
    )


class KerasInception(Extractor):
    """`keras.applications.InceptionV3`: avg_pool features (2048-d) and 1000 ImageNet logits.

    Args:
        weights: "imagenet" (read from the Keras cache, else downloaded) or None (random,
            for tests).
    """

    name = "keras-inception"
    batch_size = 50

    def __init__(self, weights: str | None = "imagenet"):
        if weights == "imagenet":
            weights = self._weights_file()
        model = keras.applications.InceptionV3(weights=weights, include_top=True)
        features = model.get_layer("avg_pool").output
        top = model.get_layer("predictions")
        self._features = keras.Model(model.input, features)
        self._top = top

    @staticmethod
    def _weights_file() -> str:
        cached = keras_models_dir() / KERAS_INCEPTION_FILE
        if cached.is_file():
            return str(cached)
        try:
            return keras.utils.get_file(
                KERAS_INCEPTION_FILE,
                "https://storage.googleapis.com/tensorflow/keras-applications/inception_v3/" + KERAS_INCEPTION_FILE,
                cache_subdir="models",
            )
        except Exception as error:  # offline: get_file raises URL or OS errors
            raise FileNotFoundError(
                f"the InceptionV3 ImageNet weights {KERAS_INCEPTION_FILE} are not in {keras_models_dir()} "
                f"and could not be downloaded ({error}); copy the file there"
            ) from None

    @tf.function(reduce_retracing=True)
    def __call__(self, images):
        images = tf.image.resize(_to_rgb(images), (299, 299))  # bilinear, half-pixel centres
        features = self._features(images / 127.5 - 1.0, training=False)
        logits = tf.matmul(features, self._top.kernel) + self._top.bias
        return features, logits


class Classifier(Extractor):
    """A Keras classifier: images are resized and converted to its input's size and channels.

    Its input takes 0..255 values (the shipped models begin with a Rescaling layer). Its
    last layer must be a Dense layer; its activation is left out so the output is logits.
    """

    def __init__(self, path: str | os.PathLike, name: str | None = None):
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"classifier file {path} does not exist")
        model = load_network(path)
        top = model.layers[-1]
        if not isinstance(top, keras.layers.Dense):
            raise ValueError(f"classifier {path} must end with a Dense layer, not {type(top).__name__}")
        names = [layer.name for layer in model.layers]
        features = model.get_layer("features").output if "features" in names else top.input
        self._features = keras.Model(model.input, features)
        self._top = top
        self.input_size = model.input_shape[1:3]
        self.input_channels = model.input_shape[-1]
        self.name = name or f"classifier:{path}"

    def __call__(self, images):
        if tuple(images.shape[1:3]) != tuple(self.input_size):
            images = tf.image.resize(images, self.input_size, antialias=True)
        if self.input_channels == 1 and images.shape[-1] == 3:
            images = tf.image.rgb_to_grayscale(images)
        elif self.input_channels == 3:
            images = _to_rgb(images)
        features = self._features(images, training=False)
        return features, tf.matmul(features, self._top.kernel) + self._top.bias


def shipped_classifier_path(dataset: str) -> Path:
    return CLASSIFIERS_DIR / f"classifier_{dataset}.keras"


def get_extractor(name: str, inception_graph: str | os.PathLike | None = None) -> Extractor:
    """An extractor by name: inception, keras-inception, classifier:fashion_mnist or classifier:PATH."""
    if name == "inception":
        return InceptionGraph(inception_graph)
    if name == "keras-inception":
        return KerasInception()
    if name.startswith("classifier:"):
        target = name[len("classifier:") :]
        shipped = shipped_classifier_path(target)
        if shipped.is_file():
            return Classifier(shipped, name=name)
        if not target.endswith(".keras"):
            raise ValueError(
                f"no shipped classifier for {target!r}: pass classifier:fashion_mnist or classifier:PATH.keras"
            )
        return Classifier(target, name=name)
    raise ValueError(f"unknown backbone {name!r}: choose from {', '.join(BACKBONES)}")


def extract(
    extractor: Extractor, images: np.ndarray, batch_size: int | None = None, verbose: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Features (float64) and logits (float64) of images (N, H, W, C), uint8 or float 0..255.

    `batch_size` defaults to the extractor's own.
    """
    images = np.asarray(images)
    batch_size = batch_size or extractor.batch_size
    if images.ndim != 4 or images.shape[-1] not in (1, 3):
        raise ValueError(f"images must be (N, H, W, 1 or 3), got shape {images.shape}")
    progbar = keras.utils.Progbar(len(images), verbose=1 if verbose else 0, unit_name="image")
    features, logits = [], []
    for start in range(0, len(images), batch_size):
        batch = tf.convert_to_tensor(images[start : start + batch_size], tf.float32)
        batch_features, batch_logits = extractor(batch)
        features.append(np.asarray(batch_features, np.float64))
        logits.append(np.asarray(batch_logits, np.float64))
        progbar.update(min(start + batch_size, len(images)))
    return np.concatenate(features), np.concatenate(logits)
