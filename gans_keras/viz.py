"""Images for people to look at: sample grids."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from gans_keras.io import atomic_path


def to_uint8(images, value_range: tuple[float, float] = (-1.0, 1.0)) -> np.ndarray:
    """Float images in `value_range` -> uint8 0..255 (values outside are clipped)."""
    low, high = value_range
    scaled = (np.asarray(images, dtype=np.float32) - low) * (255.0 / (high - low))
    return np.clip(np.round(scaled), 0, 255).astype(np.uint8)


def image_grid(images: np.ndarray, columns: int | None = None, padding: int = 2) -> np.ndarray:
    """uint8 images (N, H, W, C) -> one uint8 image (rows, columns) with white padding."""
    images = np.asarray(images)
    if images.ndim != 4 or images.dtype != np.uint8:
        raise ValueError(f"expected uint8 images (N, H, W, C), got {images.dtype} {images.shape}")
    count, height, width, channels = images.shape
    columns = columns or math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    grid = np.full(
        (rows * (height + padding) + padding, columns * (width + padding) + padding, channels),
        255,
        dtype=np.uint8,
    )
    for i, image in enumerate(images):
        top = padding + (i // columns) * (height + padding)
        left = padding + (i % columns) * (width + padding)
        grid[top : top + height, left : left + width] = image
    return grid


def save_grid(images: np.ndarray, path: str | Path, columns: int | None = None, scale: int = 1) -> Path:
    """Writes uint8 images as one PNG grid, each pixel repeated `scale` times per side."""
    from PIL import Image

    grid = image_grid(images, columns)
    if scale > 1:
        grid = grid.repeat(scale, axis=0).repeat(scale, axis=1)
    image = Image.fromarray(grid[..., 0] if grid.shape[-1] == 1 else grid)
    with atomic_path(path) as tmp:
        image.save(tmp, format="PNG")
    return Path(path)
