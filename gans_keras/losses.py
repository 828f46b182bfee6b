"""GAN losses as (discriminator, generator) pairs, and discriminator penalties.

Every loss takes the discriminator's raw outputs (logits or critic values), shape (B, 1).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import keras
import tensorflow as tf

from gans_keras.augment import DiffAugment


@dataclass(frozen=True)
class GANLoss:
    """d_loss(real_out, fake_out) and g_loss(fake_out) of one GAN objective."""

    name: str
    d_loss: Callable[[tf.Tensor, tf.Tensor], tf.Tensor]
    g_loss: Callable[[tf.Tensor], tf.Tensor]
    # Outputs above it count as "real" when D's accuracy is logged.
    decision_threshold: float = 0.0


def _mean(x):
    return tf.reduce_mean(x)


LOSSES = {
    # Goodfellow et al. 2014 with the non-saturating generator loss -log D(G(z)).
    "bce": GANLoss(
        "bce",
        d_loss=lambda real, fake: _mean(tf.nn.softplus(-real)) + _mean(tf.nn.softplus(fake)),
        g_loss=lambda fake: _mean(tf.nn.softplus(-fake)),
    ),
    # Arjovsky et al. 2017; the critic maximises E[D(real)] - E[D(fake)].
    "wasserstein": GANLoss(
        "wasserstein",
        d_loss=lambda real, fake: _mean(fake) - _mean(real),
        g_loss=lambda fake: -_mean(fake),
    ),
    # Lim & Ye 2017, Miyato et al. 2018.
    "hinge": GANLoss(
        "hinge",
        d_loss=lambda real, fake: _mean(tf.nn.relu(1.0 - real)) + _mean(tf.nn.relu(1.0 + fake)),
        g_loss=lambda fake: -_mean(fake),
    ),
    # Mao et al. 2017, with targets a=0 (fake), b=c=1 (real).
    "lsgan": GANLoss(
        "lsgan",
        d_loss=lambda real, fake: 0.5 * _mean(tf.square(real - 1.0)) + 0.5 * _mean(tf.square(fake)),
        g_loss=lambda fake: 0.5 * _mean(tf.square(fake - 1.0)),
        decision_threshold=0.5,
    ),
}


def get_loss(name: str) -> GANLoss:
    if name not in LOSSES:
        raise ValueError(f"unknown GAN loss {name!r}: choose from {', '.join(LOSSES)}")
    return LOSSES[name]


class GradientPenalty:
    """WGAN-GP's two-sided penalty E[(||grad_x D(x_hat)||_2 - 1)^2].

    x_hat = eps * real + (1 - eps) * fake with eps ~ U[0, 1] drawn per sample, as in
    Gulrajani et al. 2017, "Improved Training of Wasserstein GANs" (Algorithm 1).

    Args:
        weight: lambda, the penalty's coefficient in the discriminator loss.
    """

    name = "gp"

    def __init__(self, weight: float = 10.0):
        if weight < 0:
            raise ValueError(f"gradient penalty weight must be >= 0, got {weight}")
        self.weight = weight

    def __call__(self, discriminate, real, fake, seed_generator) -> tf.Tensor:
        """Returns the unweighted penalty; `discriminate` maps images to (B, 1) outputs."""
        eps = keras.random.uniform(
            (tf.shape(real)[0], 1, 1, 1), 0.0, 1.0, dtype=real.dtype, seed=seed_generator
        )
        interpolated = eps * real + (1.0 - eps) * fake
        return tf.reduce_mean(tf.square(_input_gradient_norms(discriminate, interpolated) - 1.0))

    def __repr__(self):
        return f"GradientPenalty(weight={self.weight})"


def _input_gradient_norms(discriminate, images) -> tf.Tensor:
    """||grad_x D(x)||_2 per sample, (B,)."""
    images = tf.convert_to_tensor(images)
    with tf.GradientTape() as tape:
        tape.watch(images)
        outputs = discriminate(images)
    grads = tape.gradient(outputs, images)
    # The epsilon keeps the gradient of the norm finite where grads are exactly 0.
    return tf.sqrt(tf.reduce_sum(tf.square(grads), axis=[1, 2, 3]) + 1e-12)


class R1Penalty:
    """R1: (gamma / 2) E_real[||grad_x D(x)||^2], on real images only.

    Mescheder et al. 2018, "Which Training Methods for GANs do actually Converge?".

    Args:
        gamma: the paper's gamma; the penalty's weight is gamma / 2.
    """

    name = "r1"

    def __init__(self, gamma: float = 10.0):
        if gamma < 0:
            raise ValueError(f"R1 gamma must be >= 0, got {gamma}")
        self.gamma = gamma
        self.weight = gamma / 2.0

    def __call__(self, discriminate, real, fake, seed_generator) -> tf.Tensor:
        return tf.reduce_mean(tf.square(_input_gradient_norms(discriminate, real)))

    def __repr__(self):
        return f"R1Penalty(gamma={self.gamma})"


class ConsistencyPenalty:
    """Balanced consistency regularisation: E||D(x) - D(T(x))||^2 on real and on fake images.

    T shifts images by up to 1/8 of their size (zero padded). Zhao et al. 2020, "Improved
    Consistency Regularization for GANs" (bCR, with lambda_real = lambda_fake = weight).
    """

    name = "cr"

    def __init__(self, weight: float = 10.0, seed: int | None = None):
        if weight < 0:
            raise ValueError(f"consistency weight must be >= 0, got {weight}")
        self.weight = weight
        self.transform = DiffAugment("translation", seed=seed)

    def __call__(self, discriminate, real, fake, seed_generator) -> tf.Tensor:
        total = 0.0
        for images in (real, fake):
            total += tf.reduce_mean(tf.square(discriminate(images) - discriminate(self.transform(images))))
        return total

    def __repr__(self):
        return f"ConsistencyPenalty(weight={self.weight})"
