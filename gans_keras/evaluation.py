"""Scoring generated images against a dataset split with a feature backbone; real-data
features are computed once and cached. `python -m gans_keras.evaluate` is its CLI."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from gans_keras.data import load_dataset, native_channels
from gans_keras.io import atomic_path
from gans_keras.metrics import (
    feature_statistics,
    frechet_distance_from_statistics,
    inception_score,
    kernel_inception_distance,
    precision_recall,
)
from gans_keras.metrics.extractors import Extractor, extract, get_extractor
from gans_keras.metrics.kid import SUBSET_SIZE

CACHE_ENV = "GANS_KERAS_CACHE"
PAPER_COMPARABLE = ("inception",)


def cache_dir() -> Path:
    return Path(os.environ.get(CACHE_ENV, Path.home() / ".cache" / "gans_keras"))


def real_images(dataset: str, split: str, num: int, image_size: int, channels: int) -> np.ndarray:
    """The first `num` images of a split (no shuffling), as uint8 at the given size."""
    ds = load_dataset(
        dataset, split, batch_size=500, image_size=image_size, channels=channels,
        value_range=(0.0, 255.0), shuffle=False, repeat=False, drop_remainder=False, cache=False,
    )
    batches, count = [], 0
    for images, _ in ds:
        batches.append(np.round(images.numpy()).astype(np.uint8))
        count += len(batches[-1])
        if count >= num:
            break
    return np.concatenate(batches)[:num]


def reference_features(
    extractor: Extractor, dataset: str, split: str, num: int, image_size: int, channels: int, verbose: bool = True
) -> dict[str, np.ndarray]:
    """Features, logits, mu and sigma of real images, computed once and cached as .npz.

    The cache name holds dataset, split, image size, backbone and sample count.
    """
    key = f"{dataset}-{split}-{image_size}px{channels}c-{extractor.name}-{num}".replace(":", "_").replace("/", "_")
    path = cache_dir() / "reference" / f"{key}.npz"
    if path.is_file():
        with np.load(path, allow_pickle=False) as cached:
            return {name: cached[name] for name in cached.files}
    images = real_images(dataset, split, num, image_size, channels)
    features, logits = extract(extractor, images, verbose=verbose)
    mu, sigma = feature_statistics(features)
    stats = {"features": features, "logits": logits, "mu": mu, "sigma": sigma}
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, **stats)
    return stats


def predicted_class_counts(logits: np.ndarray) -> np.ndarray:
    """How many images a classifier's logits (N, classes) assign to each class."""
    return np.bincount(logits.argmax(axis=1), minlength=logits.shape[1])


def evaluate_images(
    images: np.ndarray,
    dataset: str = "fashion_mnist",
    split: str = "test",
    backbone: str = "classifier:fashion_mnist",
    num: int = 10_000,
    inception_graph: str | None = None,
    verbose: bool = True,
    reference_channels: int | None = None,
) -> dict:
    """All metrics of uint8 images (N, H, W, C) against `num` real images of `dataset`/`split`.

    The images must have the reference's channels: `reference_channels` if given (a run trained
    on a dataset converted to other channels), else the dataset's own.

    With a classifier backbone, also `predicted_class_counts`: how many images the classifier
    assigns to each class, the direct check that a model covers every class.
    """
    if num < 2:
        raise ValueError(f"num must be at least 2 (FID needs a covariance), got {num}")
    images = check_images(images)
    channels = reference_channels or native_channels(dataset)
    if channels not in (None, images.shape[3]):
        raise ValueError(f"the images have {images.shape[3]} channel(s) but {dataset} has {channels}: convert them "
                         f"or compare them with a {images.shape[3]}-channel dataset (--dataset)")
    if len(images) < num:
        raise ValueError(f"{num} samples requested but only {len(images)} given: generate more or lower --num")
    images = images[:num]
    extractor = get_extractor(backbone, inception_graph)
    features, logits = extract(extractor, images, verbose=verbose)
    real = reference_features(extractor, dataset, split, num, images.shape[1], images.shape[3], verbose)
    mu, sigma = feature_statistics(features)
    is_mean, is_std = inception_score(logits)
    kid_mean, kid_std = kernel_inception_distance(features, real["features"])
    classes = {}
    if backbone.startswith("classifier:"):
        classes = {"predicted_class_counts": predicted_class_counts(logits).tolist()}
    return {
        "backbone": backbone,
        "comparable_with_papers": backbone in PAPER_COMPARABLE,
        "reference": f"{dataset}:{split}",
        "num_samples": int(len(images)),
        "num_reference": int(len(real["features"])),
        "fid": frechet_distance_from_statistics(mu, sigma, real["mu"], real["sigma"]),
        "is_mean": is_mean,
        "is_std": is_std,
        "kid_mean": kid_mean,
        "kid_std": kid_std,
        "kid_subset_size": min(SUBSET_SIZE, len(features), len(real["features"])),
        **precision_recall(real["features"], features, k=3),
        **classes,
    }


def check_images(images: np.ndarray) -> np.ndarray:
    """Images as uint8 (N, H, W, C) for scoring, or a ValueError saying what is wrong with them.

    Anything but integers in 0..255 is refused rather than guessed at: float images in [-1, 1]
    scored as if in 0..255 look black, and uint8 in 0..1 look black too, each scored silently.
    """
    images = np.asarray(images)
    if images.size == 0:
        raise ValueError(f"the images array is empty (shape {images.shape})")
    if images.ndim == 3:
        raise ValueError(f"the images are (N, H, W) {images.shape}, without a channel axis: add one "
                         "(images[..., None])")
    if images.ndim != 4 or images.shape[-1] not in (1, 3):
        raise ValueError(f"images must be (N, H, W, 1 or 3), got shape {images.shape}")
    if images.dtype.kind not in "uif":
        raise ValueError(f"images must be numbers, uint8 0..255, got {images.dtype}")
    if images.dtype.kind == "f":
        broken = ~np.isfinite(images).all(axis=(1, 2, 3))
        if broken.any():
            raise ValueError(f"{broken.sum()} of {len(images)} images have NaN or inf pixels (the first is image "
                             f"{broken.argmax()})")
    low, high = images.min(), images.max()
    if images.dtype.kind == "f":
        conversion = ("((images + 1) * 127.5)" if low < 0 else "(images * 255)") if high <= 1 else "images"
        raise ValueError(f"the images are {images.dtype} in {low:.4g}..{high:.4g}; evaluation takes uint8 0..255: "
                         f"convert them with np.clip(np.round({conversion}), 0, 255).astype(np.uint8)")
    if low < 0 or high > 255:
        raise ValueError(f"the images are {images.dtype} in {low}..{high}, outside 0..255 (16-bit images?): "
                         "scale them to uint8 0..255")
    if high <= 1:
        raise ValueError(f"the images are {images.dtype} with every pixel 0 or 1: if they are in 0..1, scale them "
                         "to 0..255 (images * 255)")
    return images.astype(np.uint8, copy=False)


def format_table(metrics: dict) -> str:
    """One line a metric; a nested group (a text run's adherence) one line a member."""
    flat = {}
    for key, value in metrics.items():
        flat.update({f"{key}.{name}": member for name, member in value.items()} if isinstance(value, dict)
                    else {key: value})
    rows = [(key, f"{value:.4f}" if isinstance(value, float) else str(value)) for key, value in flat.items()]
    width = max(len(key) for key, _ in rows)
    return "\n".join(f"{key:<{width}}  {value}" for key, value in rows)
