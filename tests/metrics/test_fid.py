import numpy as np
import pytest
from scipy import linalg

from gans_keras.metrics import feature_statistics, frechet_distance, frechet_distance_from_statistics


def _psd_sqrt(matrix):
    values, vectors = np.linalg.eigh(matrix)
    return (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T


def closed_form_fid(mu1, s1, mu2, s2):
    """Tr(S1 + S2 - 2 (S1^1/2 S2 S1^1/2)^1/2) by eigendecompositions: independent of sqrtm(S1 S2)."""
    root1 = _psd_sqrt(s1)
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(s1 + s2 - 2 * _psd_sqrt(root1 @ s2 @ root1)))


def pytorch_fid_reference(mu1, sigma1, mu2, sigma2, eps=1e-6):
    """pytorch-fid's calculate_frechet_distance, written out."""
    diff = mu1 - mu2
    covmean = linalg.sqrtm(sigma1.dot(sigma2))
    if not np.isfinite(covmean).all():
        offset = np.eye(sigma1.shape[0]) * eps
        covmean = linalg.sqrtm((sigma1 + offset).dot(sigma2 + offset))
    if np.iscomplexobj(covmean):
        covmean = covmean.real
    return diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean)


def _random_cov(rng, d):
    a = rng.standard_normal((d, d)) / np.sqrt(d)
    return a @ a.T + 0.1 * np.eye(d)


def test_identical_sets_have_zero_fid():
    features = np.random.default_rng(0).standard_normal((3000, 64))
    assert abs(frechet_distance(features, features)) < 1e-6


def test_diagonal_gaussians_match_closed_form():
    rng = np.random.default_rng(1)
    d = 64
    mu1, mu2 = rng.standard_normal(d), rng.standard_normal(d)
    var1, var2 = rng.uniform(0.5, 2, d), rng.uniform(0.5, 2, d)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum(var1 + var2 - 2 * np.sqrt(var1 * var2))
    got = frechet_distance_from_statistics(mu1, np.diag(var1), mu2, np.diag(var2))
    assert got == pytest.approx(expected, rel=1e-9)


def test_full_covariances_match_closed_form():
    rng = np.random.default_rng(2)
    d = 96
    mu1, mu2 = rng.standard_normal(d), rng.standard_normal(d)
    s1, s2 = _random_cov(rng, d), _random_cov(rng, d)
    got = frechet_distance_from_statistics(mu1, s1, mu2, s2)
    assert got == pytest.approx(closed_form_fid(mu1, s1, mu2, s2), rel=1e-8)


def test_samples_converge_to_the_population_value():
    rng = np.random.default_rng(3)
    d = 64
    mu1, mu2 = np.zeros(d), np.full(d, 0.3)
    s1, s2 = _random_cov(rng, d), _random_cov(rng, d)
    a = rng.multivariate_normal(mu1, s1, size=200_000)
    b = rng.multivariate_normal(mu2, s2, size=200_000)
    assert frechet_distance(a, b) == pytest.approx(closed_form_fid(mu1, s1, mu2, s2), rel=0.01)


def test_symmetric_and_matches_pytorch_fid():
    rng = np.random.default_rng(4)
    a, b = rng.standard_normal((500, 80)), rng.standard_normal((400, 80)) * 1.3 + 0.2
    stats_a, stats_b = feature_statistics(a), feature_statistics(b)
    forward = frechet_distance(a, b)
    assert forward == pytest.approx(frechet_distance(b, a), rel=1e-9)
    assert forward == pytest.approx(pytorch_fid_reference(*stats_a, *stats_b), rel=1e-6)


def test_shifted_mean_adds_squared_norm():
    rng = np.random.default_rng(5)
    a = rng.standard_normal((2000, 64))
    delta = rng.standard_normal(64)
    assert frechet_distance(a, a + delta) == pytest.approx(delta @ delta, rel=1e-6)


def test_statistics_use_ddof_1():
    features = np.random.default_rng(6).standard_normal((10, 3))
    _, sigma = feature_statistics(features)
    centred = features - features.mean(0)
    np.testing.assert_allclose(sigma, centred.T @ centred / 9)


def test_few_samples_warn_and_singular_products_stay_finite():
    a = np.random.default_rng(7).standard_normal((20, 64))
    with pytest.warns(UserWarning, match="20 samples for 64-d features"):
        value = frechet_distance(a, a[::-1] + 1.0)
    assert np.isfinite(value)


def test_shape_mismatch_named():
    with pytest.raises(ValueError, match="statistics differ in shape"):
        frechet_distance(np.zeros((5, 3)) + np.arange(3), np.ones((5, 4)) + np.arange(4))
