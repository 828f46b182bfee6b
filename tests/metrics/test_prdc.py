import numpy as np
import pytest

from gans_keras.metrics import precision_recall


def brute_force(real, fake, k):
    """Kynkäänniemi / Naeem definitions with explicit loops."""
    def radius(points, i):
        d = sorted(np.linalg.norm(points[i] - points[j]) for j in range(len(points)) if j != i)
        return d[k - 1]

    r_real = [radius(real, i) for i in range(len(real))]
    r_fake = [radius(fake, j) for j in range(len(fake))]
    inside = [[np.linalg.norm(x - y) < r_real[i] for y in fake] for i, x in enumerate(real)]
    return {
        "precision": np.mean([any(inside[i][j] for i in range(len(real))) for j in range(len(fake))]),
        "recall": np.mean([any(np.linalg.norm(x - y) < r_fake[j] for j, y in enumerate(fake)) for x in real]),
        "density": np.sum(inside) / (k * len(fake)),
        "coverage": np.mean([any(row) for row in inside]),
    }


def test_matches_brute_force():
    rng = np.random.default_rng(0)
    real, fake = rng.standard_normal((40, 5)), rng.standard_normal((35, 5)) * 1.5 + 0.3
    got = precision_recall(real, fake, k=3)
    for key, value in brute_force(real, fake, 3).items():
        assert got[key] == pytest.approx(value, rel=1e-12), key


def test_identical_and_disjoint_sets():
    real = np.random.default_rng(1).standard_normal((200, 8))
    same = precision_recall(real, real.copy())
    assert same["precision"] == same["recall"] == same["coverage"] == 1.0
    far = precision_recall(real, real + 100.0)
    assert far == {"precision": 0.0, "recall": 0.0, "density": 0.0, "coverage": 0.0}
