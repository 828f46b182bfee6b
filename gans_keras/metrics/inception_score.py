"""Inception Score from class logits, as the OpenAI reference computes it."""

from __future__ import annotations

import numpy as np
from scipy.special import log_softmax


def inception_score(logits: np.ndarray, splits: int = 10) -> tuple[float, float]:
    """exp(E_x KL(p(y|x) || p(y))) over `splits` consecutive parts: (mean, std with ddof 0).

    p(y) is the mean prediction within each part; no shuffling, as in the reference.
    """
    logits = np.asarray(logits, dtype=np.float64)
    if logits.ndim != 2 or len(logits) < splits:
        raise ValueError(f"logits must be (N >= splits={splits}, classes), got shape {logits.shape}")
    log_p = log_softmax(logits, axis=1)
    p = np.exp(log_p)
    count = len(logits)
    scores = []
    for i in range(splits):
        part = slice(i * count // splits, (i + 1) * count // splits)
        log_marginal = np.log(p[part].mean(axis=0, keepdims=True))
        kl = np.sum(p[part] * (log_p[part] - log_marginal), axis=1)
        scores.append(np.exp(kl.mean()))
    return float(np.mean(scores)), float(np.std(scores))
