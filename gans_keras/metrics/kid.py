"""Kernel Inception Distance: unbiased MMD^2 with a cubic polynomial kernel, as torch-fidelity."""

from __future__ import annotations

import sys

import numpy as np

# Images a KID subset holds (torch-fidelity's default), fewer when there are fewer.
SUBSET_SIZE = 1000


def polynomial_kernel(x: np.ndarray, y: np.ndarray, degree: int = 3, coef0: float = 1.0) -> np.ndarray:
    """(x . y / d + coef0) ^ degree for every pair of rows."""
    return (x @ y.T / x.shape[1] + coef0) ** degree


def mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """MMD^2 with the diagonals of K_xx and K_yy left out (Bińkowski et al. 2018)."""
    m = len(x)
    k_xx, k_yy, k_xy = polynomial_kernel(x, x), polynomial_kernel(y, y), polynomial_kernel(x, y)
    off_diagonal = (k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
    return float(off_diagonal - 2.0 * k_xy.sum() / (m * m))


def kernel_inception_distance(
    features_a: np.ndarray,
    features_b: np.ndarray,
    num_subsets: int = 100,
    subset_size: int = SUBSET_SIZE,
    seed: int = 0,
) -> tuple[float, float]:
    """Mean and std (ddof 0) of MMD^2 over random subsets drawn without replacement.

    With fewer features than `subset_size` on either side, the subsets are as large as the
    smaller side allows, and a warning says so (torch-fidelity raises instead).
    """
    features_a = np.asarray(features_a, dtype=np.float64)
    features_b = np.asarray(features_b, dtype=np.float64)
    largest = min(len(features_a), len(features_b))
    if largest < 2:
        raise ValueError(f"KID needs at least 2 images a side, got {len(features_a)} and {len(features_b)}")
    if subset_size > largest:
        print(f"warning: KID subsets of {largest} images, the most there are, instead of {subset_size}",
              file=sys.stderr)
        subset_size = largest
    rng = np.random.RandomState(seed)
    mmds = np.empty(num_subsets)
    for i in range(num_subsets):
        a = features_a[rng.choice(len(features_a), subset_size, replace=False)]
        b = features_b[rng.choice(len(features_b), subset_size, replace=False)]
        mmds[i] = mmd2_unbiased(a, b)
    return float(mmds.mean()), float(mmds.std())
