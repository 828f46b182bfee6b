import numpy as np
import pytest

from gans_keras.metrics import kernel_inception_distance


def torch_fidelity_mmd2(f1, f2):
    """torch-fidelity's polynomial-kernel MMD^2 (mmd_est='unbiased'), written out with loops."""
    gamma = 1.0 / f1.shape[1]
    m = len(f1)

    def k(a, b):
        return (a @ b * gamma + 1.0) ** 3

    xx = sum(k(f1[i], f1[j]) for i in range(m) for j in range(m) if i != j)
    yy = sum(k(f2[i], f2[j]) for i in range(m) for j in range(m) if i != j)
    xy = sum(k(f1[i], f2[j]) for i in range(m) for j in range(m))
    return (xx + yy) / (m * (m - 1)) - 2 * xy / (m * m)


def test_matches_torch_fidelity_formula_on_the_same_subsets():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((60, 16)), rng.standard_normal((50, 16)) + 0.5
    mean, std = kernel_inception_distance(a, b, num_subsets=3, subset_size=20, seed=7)
    subsets = np.random.RandomState(7)
    expected = []
    for _ in range(3):
        x = a[subsets.choice(len(a), 20, replace=False)]
        y = b[subsets.choice(len(b), 20, replace=False)]
        expected.append(torch_fidelity_mmd2(x, y))
    assert mean == pytest.approx(np.mean(expected), rel=1e-6)
    assert std == pytest.approx(np.std(expected), rel=1e-6)


def test_same_distribution_is_unbiased_zero():
    rng = np.random.default_rng(1)
    means = []
    for seed in range(10):
        a, b = rng.standard_normal((400, 32)), rng.standard_normal((400, 32))
        means.append(kernel_inception_distance(a, b, num_subsets=20, subset_size=200, seed=seed)[0])
    # Unbiased: the mean over draws is within its standard error of 0 (a biased V-statistic
    # would sit at a positive offset of about 2 E[k(x, x)] / m).
    assert abs(np.mean(means)) < 3 * np.std(means) / np.sqrt(len(means)) + 1e-12
    different = kernel_inception_distance(a, b + 0.5, num_subsets=20, subset_size=200)[0]
    assert different > 10 * np.std(means)


def test_fewer_samples_than_the_subset_use_the_largest_subset_and_say_so(capsys):
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(30, 4)), rng.normal(size=(12, 4))
    assert kernel_inception_distance(a, b, num_subsets=5) == kernel_inception_distance(
        a, b, num_subsets=5, subset_size=12)
    assert "KID subsets of 12 images, the most there are, instead of 1000" in capsys.readouterr().err
    with pytest.raises(ValueError, match="at least 2 images a side"):
        kernel_inception_distance(a, b[:1])
