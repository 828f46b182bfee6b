"""k-NN precision and recall (Kynkäänniemi et al. 2019) and density and coverage (Naeem et al.
2020) of generated features against real ones."""

from __future__ import annotations

import numpy as np

CHUNK = 2048  # rows of the distance matrix held at once


def _distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    squared = (a**2).sum(1)[:, None] - 2.0 * a @ b.T + (b**2).sum(1)[None, :]
    return np.sqrt(np.maximum(squared, 0.0))


def _knn_radii(features: np.ndarray, k: int) -> np.ndarray:
    """Distance of each row to its k-th nearest other row."""
    radii = np.empty(len(features))
    for start in range(0, len(features), CHUNK):
        block = _distances(features[start : start + CHUNK], features)
        # Position 0 of the partition is the row itself (distance 0).
        radii[start : start + CHUNK] = np.partition(block, k, axis=1)[:, k]
    return radii


def precision_recall(real: np.ndarray, fake: np.ndarray, k: int = 3) -> dict[str, float]:
    """precision, recall, density and coverage of `fake` against `real` features (N, D)."""
    real = np.asarray(real, dtype=np.float64)
    fake = np.asarray(fake, dtype=np.float64)
    if min(len(real), len(fake)) <= k:
        raise ValueError(f"need more than k={k} samples on each side, got {len(real)} and {len(fake)}")
    real_radii, fake_radii = _knn_radii(real, k), _knn_radii(fake, k)
    fake_in_real_balls = np.zeros(len(fake))  # count of real balls holding each fake
    real_in_fake_ball = np.zeros(len(real), dtype=bool)
    real_ball_has_fake = np.zeros(len(real), dtype=bool)
    for start in range(0, len(real), CHUNK):
        block = _distances(real[start : start + CHUNK], fake)  # (chunk, M)
        inside = block < real_radii[start : start + CHUNK, None]
        fake_in_real_balls += inside.sum(axis=0)
        real_ball_has_fake[start : start + CHUNK] = inside.any(axis=1)
        real_in_fake_ball[start : start + CHUNK] = (block < fake_radii[None, :]).any(axis=1)
    return {
        "precision": float((fake_in_real_balls > 0).mean()),
        "recall": float(real_in_fake_ball.mean()),
        "density": float(fake_in_real_balls.mean() / k),
        "coverage": float(real_ball_has_fake.mean()),
    }
