"""Captioned images for text-to-image models.

Sources: the built-in ``fashion_mnist_captions`` (every Fashion-MNIST image described by its class
and two attributes measured on the image), ``folder:PATH`` with a ``metadata.jsonl`` (the Hugging
Face imagefolder convention: one ``{"file_name": ..., "text": ...}`` object a line, ``text`` a
string or a list of strings) or a ``captions.csv`` (``file_name,text`` columns, one row per caption),
and ``tfds:NAME`` with the text feature named by ``caption_key``.

An image may have several captions; the pipeline draws one of them each time it yields the image.
"""

from __future__ import annotations

import csv
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf

from gans_keras.data import _load_image, check_one_batch, load_arrays

log = logging.getLogger(__name__)

BUILTIN = "fashion_mnist_captions"
# Each Fashion-MNIST class's names; a caption uses one of them.
CLASS_NAMES = (
    ("t-shirt", "top", "tee"),
    ("pair of trousers", "pair of pants", "pair of jeans"),
    ("pullover", "sweater", "jumper"),
    ("dress", "frock"),
    ("coat", "jacket"),
    ("sandal", "summer shoe"),
    ("shirt", "blouse"),
    ("sneaker", "trainer", "running shoe"),
    ("bag", "handbag"),
    ("ankle boot", "boot"),
)
BRIGHTNESS = ("dark", "mid-grey", "light")
WIDTH = ("narrow", "wide")
TRAIN_TEMPLATES = (
    "a {brightness} {width} {item}",
    "a photo of a {width} {item}, {brightness}",
    "{brightness}, {width} {item}",
    "an image of a {item} that is {brightness} and {width}",
    "a {width} {item} in {brightness} tones",
    "product shot: {brightness} {item}, {width} cut",
)
# Never seen in training: prompts for measuring how well a model follows captions.
HELD_OUT_TEMPLATES = (
    "a picture of a {brightness} {item}, quite {width}",
    "{width} and {brightness}: one {item}",
)
# A pixel above this (of 255) belongs to the garment: its share of the image is the filled area.
FILLED_LEVEL = 13


@dataclass(frozen=True)
class AttributeThresholds:
    """Per-class cut points of the measured attributes, from the training split: brightness
    terciles (two cut points per class) and the filled area's median (one)."""

    brightness: np.ndarray  # (classes, 2)
    width: np.ndarray  # (classes,)


def measure(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(brightness, filled area) of uint8 images (N, H, W, 1): the mean level of the garment's
    pixels (those above FILLED_LEVEL) and the fraction of pixels they cover."""
    pixels = images[..., 0].astype(np.float64) if images.ndim == 4 else images.astype(np.float64)
    filled = pixels > FILLED_LEVEL
    count = filled.sum(axis=(1, 2))
    brightness = (pixels * filled).sum(axis=(1, 2)) / np.maximum(count, 1)
    return brightness, count / filled[0].size


def fit_thresholds(images: np.ndarray, labels: np.ndarray, classes: int = 10) -> AttributeThresholds:
    brightness, area = measure(images)
    cuts = np.stack([np.percentile(brightness[labels == c], [100 / 3, 200 / 3]) for c in range(classes)])
    medians = np.array([np.median(area[labels == c]) for c in range(classes)])
    return AttributeThresholds(cuts, medians)


def attributes(images: np.ndarray, labels: np.ndarray, thresholds: AttributeThresholds) -> np.ndarray:
    """(N, 2) int: each image's brightness class (0 dark, 1 mid, 2 light) and width class
    (0 narrow, 1 wide), measured against the cut points of `labels`' classes."""
    brightness, area = measure(images)
    levels = (brightness > thresholds.brightness[labels, 0]).astype(int) + (
        brightness > thresholds.brightness[labels, 1])
    return np.stack([levels, (area > thresholds.width[labels]).astype(int)], axis=1)


def describe(label: int, brightness: int, width: int, template: str, name: int = 0) -> str:
    """One caption: `template` filled with the class's `name`-th name and the attribute words."""
    names = CLASS_NAMES[label]
    return template.format(item=names[name % len(names)], brightness=BRIGHTNESS[brightness], width=WIDTH[width])


def fashion_mnist_captions(split: str = "train", held_out: bool = False, seed: int = 0):
    """(images uint8 (N, 28, 28, 1), captions: N lists of strings, labels int32 (N,), attributes (N, 2)).

    Each image gets one caption per template (the training templates, or with `held_out` those
    kept for evaluation), each with a class name drawn by `seed`. The attributes are measured
    against thresholds fitted on the training split, whatever the split.
    """
    train_images, train_labels = load_arrays("fashion_mnist", "train")
    thresholds = fit_thresholds(train_images, train_labels)
    images, labels = (train_images, train_labels) if split == "train" else load_arrays("fashion_mnist", split)
    measured = attributes(images, labels, thresholds)
    templates = HELD_OUT_TEMPLATES if held_out else TRAIN_TEMPLATES
    names = np.random.default_rng(seed).integers(0, 6, (len(images), len(templates)))
    captions = [[describe(label, level, width, template, name) for template, name in zip(templates, row, strict=True)]
                for label, (level, width), row in zip(labels.tolist(), measured.tolist(), names, strict=True)]
    return images, captions, labels, measured


def _read_metadata(root: Path) -> dict[str, list[str]]:
    """file name -> its captions, from metadata.jsonl or captions.csv."""
    jsonl, table = root / "metadata.jsonl", root / "captions.csv"
    captions: dict[str, list[str]] = {}
    if jsonl.is_file():
        for number, line in enumerate(jsonl.read_text().splitlines(), start=1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
                file_name, text = entry["file_name"], entry["text"]
            except (json.JSONDecodeError, KeyError, TypeError) as error:
                raise ValueError(f"{jsonl}, line {number}: not a {{\"file_name\": ..., \"text\": ...}} object "
                                 f"({error})") from None
            texts = [text] if isinstance(text, str) else text
            if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
                raise ValueError(f"{jsonl}, line {number}: text must be a string or a list of strings")
            captions.setdefault(file_name, []).extend(texts)
        source = jsonl
    elif table.is_file():
        with table.open(newline="") as f:
            reader = csv.DictReader(f)
            if not reader.fieldnames or not {"file_name", "text"} <= set(reader.fieldnames):
                raise ValueError(f"{table} needs a header with file_name and text columns, got {reader.fieldnames}")
            for row in reader:
                captions.setdefault(row["file_name"], []).append(row["text"] or "")
        source = table
    else:
        raise FileNotFoundError(f"captioned folder {root} has neither metadata.jsonl nor captions.csv")
    empty = sorted(name for name, texts in captions.items() if not any(t.strip() for t in texts))
    if empty:
        raise ValueError(f"{source}: {len(empty)} image(s) with only empty captions, e.g. {empty[0]}")
    return {name: [t for t in texts if t.strip()] for name, texts in captions.items()}


def load_caption_folder(path: str | os.PathLike, *, image_size: int | None = None, channels: int = 3,
                        on_corrupt: str = "skip") -> tuple[np.ndarray, list[list[str]]]:
    """(images uint8 (N, H, W, C), captions: N lists of strings) of a captioned folder.

    Every file the metadata names must exist; unreadable images are skipped with a warning that
    counts them (`on_corrupt="error"` fails instead); images the metadata does not name are left out.
    """
    if on_corrupt not in ("skip", "error"):
        raise ValueError(f"on_corrupt must be 'skip' or 'error', got {on_corrupt!r}")
    root = Path(path)
    if not root.is_dir():
        raise FileNotFoundError(f"image folder {root} does not exist or is not a folder")
    metadata = _read_metadata(root)
    outside = sorted(name for name in metadata
                     if Path(name).is_absolute() or not (root / name).resolve().is_relative_to(root.resolve()))
    if outside:
        raise ValueError(f"{len(outside)} file name(s) in {root}'s captions lie outside it, e.g. {outside[0]!r}: name "
                         f"the images by their paths inside the folder")
    missing = sorted(name for name in metadata if not (root / name).is_file())
    if missing:
        raise FileNotFoundError(f"{len(missing)} file(s) named in {root}'s captions do not exist, e.g. {missing[0]}")
    images, captions, corrupt = [], [], []
    for name, texts in metadata.items():
        try:
            images.append(_load_image(root / name, channels, image_size))
            captions.append(texts)
        except Exception:  # noqa: BLE001 - PIL raises many types for broken files
            corrupt.append(name)
    if corrupt:
        message = f"{len(corrupt)} of {len(metadata)} captioned images in {root} could not be read: " + ", ".join(
            corrupt[:5])
        if on_corrupt == "error" or not images:
            raise ValueError(message)
        log.warning("skipped %s", message)
    shapes = {image.shape for image in images}
    if len(shapes) > 1:
        raise ValueError(f"images in {root} have different sizes {sorted(shapes)[:3]}...: pass --image-size "
                         "(image_size)")
    return np.stack(images), captions


def _tfds_captioned(name: str, split: str, caption_key: str, data_dir: str | None) -> tf.data.Dataset:
    import tensorflow_datasets as tfds

    builder = tfds.builder(name, data_dir=data_dir)
    features = builder.info.features
    if "image" not in features or caption_key not in features:
        raise ValueError(f"TFDS dataset {name!r} needs an 'image' feature and the caption feature {caption_key!r}; "
                         f"it has {', '.join(features)}")
    builder.download_and_prepare()
    return builder.as_dataset(split=split).map(
        lambda example: (example["image"], tf.reshape(tf.cast(example[caption_key], tf.string), [-1])))


def load_captioned_dataset(name: str = BUILTIN, split: str = "train", *, batch_size: int = 64,
                           image_size: int | None = None, channels: int | None = None, caption_key: str | None = None,
                           seed: int = 0, shuffle: bool = True, repeat: bool = True, held_out: bool = False,
                           data_dir: str | None = None) -> tf.data.Dataset:
    """Batches of (images float32 (B, H, W, C) in [-1, 1], captions string (B,)): one caption
    drawn, with `seed`, from the image's captions each time it is yielded.

    Args:
        name: fashion_mnist_captions, folder:PATH or tfds:NAME (with `caption_key`).
        held_out: for fashion_mnist_captions, the evaluation templates instead of the training ones.
    """
    if name == BUILTIN:
        images, captions, _, _ = fashion_mnist_captions(split, held_out=held_out, seed=seed)
        source = tf.data.Dataset.from_tensor_slices((images, tf.ragged.constant(captions)))
    elif name.startswith("folder:"):
        images, captions = load_caption_folder(name[len("folder:"):], image_size=image_size, channels=channels or 3)
        if repeat:
            check_one_batch(name, len(images), batch_size)
        source = tf.data.Dataset.from_tensor_slices((images, tf.ragged.constant(captions)))
    elif name.startswith("tfds:"):
        if not caption_key:
            raise ValueError(f"{name} needs caption_key: the name of its text feature (--caption-key)")
        source = _tfds_captioned(name[len("tfds:"):], split, caption_key, data_dir)
    else:
        raise ValueError(f"unknown captioned dataset {name!r}: choose from {BUILTIN}, folder:PATH, tfds:NAME")
    if shuffle:
        unshuffled = source

        def shuffled(_):
            ordered = unshuffled.shuffle(20_000, seed=seed, reshuffle_each_iteration=True)
            return ordered.repeat() if repeat else ordered

        # As in data.load_dataset: every iterator sees the order of a first one.
        source = tf.data.Dataset.range(1).flat_map(shuffled)
    elif repeat:
        source = source.repeat()
    draws = tf.data.Dataset.random(seed=seed)

    def prepare(element, draw):
        image, texts = element
        image = tf.cast(image, tf.float32)
        if channels == 3 and image.shape[-1] == 1:
            image = tf.image.grayscale_to_rgb(image)
        elif channels == 1 and image.shape[-1] == 3:
            image = tf.image.rgb_to_grayscale(image)
        if image_size is not None and not name.startswith("folder:"):
            image = tf.clip_by_value(tf.image.resize(image, (image_size, image_size), antialias=True), 0.0, 255.0)
        if isinstance(texts, tf.RaggedTensor):
            texts = texts.flat_values
        caption = tf.gather(texts, draw % tf.cast(tf.shape(texts)[0], tf.int64))
        return image / 127.5 - 1.0, caption

    dataset = tf.data.Dataset.zip((source, draws)).map(prepare, num_parallel_calls=tf.data.AUTOTUNE)
    return dataset.batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)


def caption_texts(name: str = BUILTIN, *, caption_key: str | None = None, data_dir: str | None = None) -> list[str]:
    """Every caption of a captioned dataset's training split (for fitting a tokenizer)."""
    if name == BUILTIN:
        return [text for texts in fashion_mnist_captions("train")[1] for text in texts]
    if name.startswith("folder:"):
        return [text for texts in _read_metadata(Path(name[len("folder:"):])).values() for text in texts]
    if name.startswith("tfds:"):
        if not caption_key:
            raise ValueError(f"{name} needs caption_key: the name of its text feature (--caption-key)")
        source = _tfds_captioned(name[len("tfds:"):], "train", caption_key, data_dir)
        return [text.decode() for _, texts in source.as_numpy_iterator() for text in texts]
    raise ValueError(f"unknown captioned dataset {name!r}: choose from {BUILTIN}, folder:PATH, tfds:NAME")


def prompts_for(labels, attribute_classes, templates=HELD_OUT_TEMPLATES[:1]) -> list[str]:
    """A prompt per image for fashion_mnist_captions: class `labels[i]` with brightness and width
    classes `attribute_classes[i]` (as `attributes` measures them), in `templates[i % len(templates)]`."""
    return [describe(int(label), int(level), int(width), templates[i % len(templates)])
            for i, (label, (level, width)) in enumerate(zip(labels, attribute_classes, strict=True))]


def grid_prompts(name: str = BUILTIN, count: int = 10, **options) -> list[str]:
    """`count` prompts for a text model's sample grids: for fashion_mnist_captions one per class in
    a held-out template, the attributes varying from row to row; for other datasets the first
    distinct training captions."""
    if name == BUILTIN:
        labels = np.arange(count) % len(CLASS_NAMES)
        attribute_classes = np.stack([np.arange(count) % len(BRIGHTNESS), (np.arange(count) // 2) % len(WIDTH)], 1)
        return prompts_for(labels, attribute_classes)
    return list(dict.fromkeys(caption_texts(name, **options)))[:count]


def evaluation_prompts(num: int, seed: int = 0) -> tuple[list[str], np.ndarray, np.ndarray]:
    """`num` fashion_mnist_captions prompts in the held-out templates (alternating), for measuring
    adherence: (prompts, labels (N,) balanced over the classes, attribute classes (N, 2) drawn
    uniformly with `seed`)."""
    rng = np.random.default_rng(seed)
    labels = np.arange(num) % len(CLASS_NAMES)
    attribute_classes = np.stack([rng.integers(0, len(BRIGHTNESS), num), rng.integers(0, len(WIDTH), num)], axis=1)
    return prompts_for(labels, attribute_classes, HELD_OUT_TEMPLATES), labels, attribute_classes


def adherence(images: np.ndarray, labels: np.ndarray, attribute_classes: np.ndarray,
              classifier: str = "classifier:fashion_mnist") -> dict[str, float]:
    """How well uint8 images (N, 28, 28, 1) follow fashion_mnist_captions prompts of classes
    `labels` and attribute classes `attribute_classes` (N, 2): the shipped classifier's accuracy at
    the prompted class, and the share whose measured brightness and width (against the prompted
    class's thresholds) are the prompted ones; `attribute_adherence` is their mean."""
    from gans_keras.metrics.extractors import extract, get_extractor

    labels, attribute_classes = np.asarray(labels), np.asarray(attribute_classes)
    if len(images) != len(labels) or attribute_classes.shape != (len(labels), 2):
        raise ValueError(f"need one label and two attribute classes per image: {len(images)} images, labels "
                         f"{labels.shape}, attribute classes {attribute_classes.shape}")
    _, logits = extract(get_extractor(classifier), images, verbose=False)
    measured = attributes(images, labels, fit_thresholds(*load_arrays("fashion_mnist", "train")))
    brightness, width = (float(np.mean(measured[:, i] == attribute_classes[:, i])) for i in range(2))
    return {"class_adherence": float(np.mean(np.asarray(logits).argmax(axis=1) == labels)),
            "brightness_adherence": brightness, "width_adherence": width,
            "attribute_adherence": (brightness + width) / 2}
