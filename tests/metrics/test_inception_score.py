import numpy as np
import pytest

from gans_keras.metrics import inception_score


def openai_reference(logits, splits=10):
    """The OpenAI improved-GAN inception_score, written out on softmax predictions."""
    preds = np.exp(logits - logits.max(1, keepdims=True))
    preds /= preds.sum(1, keepdims=True)
    scores = []
    for i in range(splits):
        part = preds[(i * preds.shape[0] // splits) : ((i + 1) * preds.shape[0] // splits), :]
        kl = part * (np.log(part) - np.log(np.expand_dims(np.mean(part, 0), 0)))
        scores.append(np.exp(np.mean(np.sum(kl, 1))))
    return np.mean(scores), np.std(scores)


def test_identical_predictions_score_one():
    logits = np.tile(np.random.default_rng(0).standard_normal(10), (1000, 1))
    mean, std = inception_score(logits)
    assert mean == pytest.approx(1.0, abs=1e-9) and std == pytest.approx(0.0, abs=1e-9)


def test_confident_balanced_predictions_score_the_class_count():
    logits = np.full((1000, 10), -1e4)
    logits[np.arange(1000), np.arange(1000) % 10] = 0.0  # one-hot, each split balanced
    mean, std = inception_score(logits)
    assert mean == pytest.approx(10.0, rel=1e-9) and std == pytest.approx(0.0, abs=1e-7)


def test_matches_the_reference_formula():
    logits = np.random.default_rng(1).standard_normal((1003, 1008)) * 3
    for got, expected in zip(inception_score(logits), openai_reference(logits), strict=True):
        assert got == pytest.approx(expected, rel=1e-6)


def test_too_few_samples():
    with pytest.raises(ValueError, match="N >= splits=10"):
        inception_score(np.zeros((5, 10)))
