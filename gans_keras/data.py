"""Datasets as `tf.data` pipelines of (image, label) pairs.

Sources: ``fashion_mnist`` (default), ``mnist``, ``cifar10`` (Keras loaders, which read their
local cache first), ``digits`` (scikit-learn's, shipped with it: works offline), ``tfds:NAME``
(any TensorFlow Datasets image dataset) and ``folder:PATH`` (an image folder, one subfolder per
label).
"""

from __future__ import annotations

import gzip
import logging
import os
from pathlib import Path

import numpy as np
import tensorflow as tf

from gans_keras.viz import from_uint8

log = logging.getLogger(__name__)

KERAS_DATASETS = ("fashion_mnist", "mnist", "cifar10", "digits")
DATASET_CHOICES = KERAS_DATASETS + ("tfds:NAME", "folder:PATH")
# Where Debian's `dataset-fashion-mnist` package puts the same idx.gz files Keras downloads.
DEBIAN_FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")
SPLITS = ("train", "test")


def _read_idx(path: Path, expected_magic: int) -> np.ndarray:
    """Reads one gzipped IDX file (the MNIST file format) into a uint8 array."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic = int.from_bytes(data[:4], "big")
    if magic != expected_magic:
        raise ValueError(f"{path} is not an IDX file of the expected kind (magic {magic})")
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    array = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if array.size != int(np.prod(shape)):
        raise ValueError(f"{path} is truncated: header says {shape}, found {array.size} values")
    return array.reshape(shape)


def _fashion_mnist(split: str) -> tuple[np.ndarray, np.ndarray]:
    prefix = "train" if split == "train" else "t10k"
    images_path = DEBIAN_FASHION_MNIST_DIR / f"{prefix}-images-idx3-ubyte.gz"
    labels_path = DEBIAN_FASHION_MNIST_DIR / f"{prefix}-labels-idx1-ubyte.gz"
    if images_path.exists() and labels_path.exists():
        return _read_idx(images_path, 2051), _read_idx(labels_path, 2049)
    import keras

    train, test = keras.datasets.fashion_mnist.load_data()
    return train if split == "train" else test


def _keras_dataset(name: str, split: str) -> tuple[np.ndarray, np.ndarray]:
    import keras

    train, test = getattr(keras.datasets, name).load_data()
    return train if split == "train" else test


def _digits(split: str) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    digits = load_digits()
    # 8x8 images with values 0..16; the first 1500 are "train", the remaining 297 "test".
    images = np.round(digits.images * (255.0 / 16.0)).astype(np.uint8)
    labels = digits.target
    return (images[:1500], labels[:1500]) if split == "train" else (images[1500:], labels[1500:])


def _load_image(path: Path, channels: int, image_size: int | None) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as image:
        image.load()
        if image.mode.startswith("I") or image.mode == "F":
            # 16-bit grayscale (opened as I;16 or I): PIL's convert("L") clips it to white, so
            # rescale 0..65535 to 0..255; an 8-bit range stored wide is kept.
            wide = np.asarray(image, dtype=np.float64)
            wide = wide / 257.0 if wide.max() > 255 else wide
            image = Image.fromarray(np.clip(np.round(wide), 0, 255).astype(np.uint8))
        if image.mode in ("RGBA", "LA", "P"):
            # Transparent backgrounds (sprites) become white rather than black.
            rgba = image.convert("RGBA")
            image = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            image.alpha_composite(rgba)
        image = image.convert("L" if channels == 1 else "RGB")
        if image_size is not None and image.size != (image_size, image_size):
            image = image.resize((image_size, image_size), Image.Resampling.LANCZOS)
        array = np.asarray(image, dtype=np.uint8)
    return array[..., None] if channels == 1 else array


def load_folder(
    path: str | os.PathLike,
    *,
    image_size: int | None = None,
    channels: int = 3,
    on_corrupt: str = "skip",
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Reads an image folder into memory.

    Images in subfolders are labelled by the subfolder's index in sorted order; images at the
    top level get label 0 when there are no subfolders.

    Args:
        path: the folder.
        image_size: resize every image to this square size (Lanczos, antialiased). Needed
            when the images do not all have the same size.
        channels: 1 (grayscale) or 3 (RGB).
        on_corrupt: "skip" to skip unreadable files with a warning that counts them, or
            "error" to fail naming them.

    Returns:
        (images uint8 [N, H, W, C], labels int32 [N], class names).
    """
    if on_corrupt not in ("skip", "error"):
        raise ValueError(f"on_corrupt must be 'skip' or 'error', got {on_corrupt!r}")
    root = Path(path)
    if not root.is_dir():
        raise FileNotFoundError(f"image folder {root} does not exist or is not a folder")
    class_dirs = sorted(p for p in root.iterdir() if p.is_dir())
    sources = [(d, label) for label, d in enumerate(class_dirs)] or [(root, 0)]
    files = [
        (file, label)
        for folder, label in sources
        for file in sorted(folder.rglob("*"))
        if file.suffix.lower() in IMAGE_EXTENSIONS and file.is_file()
    ]
    if not files:
        raise ValueError(f"no image files in {root} (looked for {', '.join(IMAGE_EXTENSIONS)})")

    images, labels, corrupt = [], [], []
    for file, label in files:
        try:
            images.append(_load_image(file, channels, image_size))
            labels.append(label)
        except Exception:  # noqa: BLE001 - PIL raises many types for broken files
            corrupt.append(file)
    if corrupt:
        names = ", ".join(str(f.relative_to(root)) for f in corrupt[:5])
        message = f"{len(corrupt)} of {len(files)} image files in {root} could not be read: {names}"
        if on_corrupt == "error" or len(corrupt) == len(files):
            raise ValueError(message)
        log.warning("skipped %s", message)
    shapes = {image.shape for image in images}
    if len(shapes) > 1:
        raise ValueError(
            f"images in {root} have different sizes {sorted(shapes)[:3]}...: pass --image-size (image_size)"
        )
    class_names = [d.name for d in class_dirs] or [root.name]
    return np.stack(images), np.asarray(labels, dtype=np.int32), class_names


def load_arrays(
    name: str = "fashion_mnist", split: str = "train", **folder_options
) -> tuple[np.ndarray, np.ndarray]:
    """Loads an in-memory dataset as (images uint8 [N, H, W, C], labels int32 [N]).

    Covers every source but ``tfds:NAME``, which streams (see `load_dataset`).
    `folder_options` go to `load_folder`.
    """
    if name.startswith("folder:"):
        images, labels, _ = load_folder(name[len("folder:") :], **folder_options)
        return images, labels
    if name not in KERAS_DATASETS:
        raise ValueError(f"unknown dataset {name!r}: choose from {', '.join(DATASET_CHOICES)}")
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r} for {name}: choose from {', '.join(SPLITS)}")
    if name == "fashion_mnist":
        images, labels = _fashion_mnist(split)
    elif name == "digits":
        images, labels = _digits(split)
    else:
        images, labels = _keras_dataset(name, split)
    if images.ndim == 3:  # (N, H, W) grayscale -> (N, H, W, 1)
        images = images[..., None]
    return images.astype(np.uint8), labels.reshape(-1).astype(np.int32)


def native_channels(name: str) -> int | None:
    """Channels a dataset's images come with; None for folders, which are read at any."""
    if name in KERAS_DATASETS:
        return 3 if name == "cifar10" else 1
    if name.startswith("tfds:"):
        import tensorflow_datasets as tfds

        return int(tfds.builder(name[len("tfds:") :]).info.features["image"].shape[-1])
    if name.startswith("folder:"):
        return None
    raise ValueError(f"unknown dataset {name!r}: choose from {', '.join(DATASET_CHOICES)}")


def num_classes(name: str) -> int:
    """Classes of a dataset's labels (for conditional models)."""
    if name in KERAS_DATASETS:
        return 10
    if name.startswith("folder:"):
        root = Path(name[len("folder:") :])
        if not root.is_dir():
            raise FileNotFoundError(f"image folder {root} does not exist or is not a folder")
        return max(1, sum(1 for p in root.iterdir() if p.is_dir()))
    if name.startswith("tfds:"):
        import tensorflow_datasets as tfds

        features = tfds.builder(name[len("tfds:") :]).info.features
        if "label" not in features:
            raise ValueError(f"TFDS dataset {name!r} has no 'label' feature for a conditional model")
        return int(features["label"].num_classes)
    raise ValueError(f"unknown dataset {name!r}: choose from {', '.join(DATASET_CHOICES)}")


def _tfds_source(name: str, split: str, data_dir: str | None) -> tf.data.Dataset:
    import tensorflow_datasets as tfds

    try:
        builder = tfds.builder(name, data_dir=data_dir)
    except Exception as error:  # tfds raises DatasetNotFoundError and friends
        raise ValueError(f"unknown TFDS dataset {name!r}: {error}") from error
    features = builder.info.features
    if "image" not in features:
        raise ValueError(f"TFDS dataset {name!r} has no 'image' feature")
    has_label = "label" in features
    builder.download_and_prepare()
    source = builder.as_dataset(split=split)
    return source.map(
        lambda example: (
            example["image"],
            tf.cast(example["label"], tf.int32) if has_label else tf.constant(0, tf.int32),
        ),
        num_parallel_calls=tf.data.AUTOTUNE,
    )


def check_one_batch(name: str, count: int, batch_size: int) -> None:
    """Refuses a training set smaller than one batch (each batch would repeat its images)."""
    if count < batch_size:
        raise ValueError(f"{name} has {count} images, fewer than one batch of {batch_size}: lower --batch-size")


def load_dataset(
    name: str = "fashion_mnist",
    split: str = "train",
    *,
    batch_size: int = 64,
    image_size: int | None = None,
    channels: int | None = None,
    value_range: tuple[float, float] = (-1.0, 1.0),
    shuffle: bool = True,
    repeat: bool = True,
    drop_remainder: bool = True,
    cache: bool | str = True,
    shuffle_buffer: int = 20_000,
    seed: int = 0,
    data_dir: str | None = None,
    on_corrupt: str = "skip",
) -> tf.data.Dataset:
    """Builds the training pipeline: float32 images [B, H, W, C] in `value_range`, int32 labels.

    Args:
        name: fashion_mnist, mnist, cifar10, digits, tfds:NAME or folder:PATH.
        split: "train" or "test" (any TFDS split string for tfds:NAME).
        batch_size: images per batch.
        image_size: square size to resize to (antialiased); None keeps the native size.
        channels: 1 or 3; None keeps the source's (3 for folders).
        value_range: (low, high) the uint8 range 0..255 is mapped to.
        shuffle, repeat, drop_remainder: the usual tf.data switches.
        cache: True caches in memory after preprocessing; a string caches to that file.
        shuffle_buffer: upper bound of the shuffle buffer (the dataset size if smaller).
        seed: shuffle seed; the same seed gives the same order of batches.
        data_dir: TFDS data directory.
        on_corrupt: for folders, "skip" or "error" on unreadable images.
    """
    if channels not in (None, 1, 3):
        raise ValueError(f"channels must be 1 or 3, got {channels}")
    if image_size is not None and image_size < 1:
        raise ValueError(f"image_size must be positive, got {image_size}")
    resize_to = image_size
    if name.startswith("tfds:"):
        source = _tfds_source(name[len("tfds:") :], split, data_dir)
        num_examples = None
    else:
        folder_options = {}
        if name.startswith("folder:"):
            folder_options = dict(image_size=image_size, channels=channels or 3, on_corrupt=on_corrupt)
            resize_to = None  # load_folder already resized
        images, labels = load_arrays(name, split, **folder_options)
        source = tf.data.Dataset.from_tensor_slices((images, labels))
        num_examples = len(images)
        if repeat and drop_remainder:
            check_one_batch(name, num_examples, batch_size)

    def preprocess(image, label):
        image = tf.cast(image, tf.float32)
        if channels == 3 and image.shape[-1] == 1:
            image = tf.image.grayscale_to_rgb(image)
        elif channels == 1 and image.shape[-1] == 3:
            image = tf.image.rgb_to_grayscale(image)
        if resize_to is not None:
            image = tf.image.resize(image, (resize_to, resize_to), antialias=True)
            image = tf.clip_by_value(image, 0.0, 255.0)
        return from_uint8(image, value_range), label

    ds = source.map(preprocess, num_parallel_calls=tf.data.AUTOTUNE)
    if cache:
        ds = ds.cache() if cache is True else ds.cache(str(cache))
    if shuffle:
        buffer = shuffle_buffer if num_examples is None else min(shuffle_buffer, num_examples)
        unshuffled = ds

        def shuffled(_):
            ordered = unshuffled.shuffle(buffer, seed=seed, reshuffle_each_iteration=True)
            return ordered.repeat() if repeat else ordered

        # Built inside flat_map, the shuffle starts afresh in every iterator, so each one sees the
        # order of a first one (a seeded shuffle otherwise reorders for every new iterator, and
        # Keras' fit under a strategy iterates once to build the model, then again to train).
        ds = tf.data.Dataset.range(1).flat_map(shuffled)
    elif repeat:
        ds = ds.repeat()
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    return ds.prefetch(tf.data.AUTOTUNE)
