"""GAN losses as (discriminator, generator) pairs, and discriminator penalties.

Both losses of a pair take the discriminator's raw outputs (logits or critic values), shape
(B, 1), on a real and on a fake batch, so relativistic losses, which compare the two, fit the
same signature. To add a loss, add an entry to LOSSES; to add a penalty, subclass Penalty and
build it in `gans_keras.models.registry.build_gan`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import keras
import tensorflow as tf

from gans_keras import rng
from gans_keras.augment import DiffAugment


@dataclass(frozen=True)
class GANLoss:
    """d_loss(real_out, fake_out) and g_loss(real_out, fake_out) of one GAN objective."""

    name: str
    d_loss: Callable[[tf.Tensor, tf.Tensor], tf.Tensor]
    g_loss: Callable[[tf.Tensor, tf.Tensor], tf.Tensor]
    # Outputs above it count as "real" when D's accuracy is logged.
    decision_threshold: float = 0.0
    # Whether g_loss reads real_out: only then does the generator step pay for D on a real batch.
    g_uses_real: bool = False


def _mean(x):
    return tf.reduce_mean(x)


LOSSES = {
    # Goodfellow et al. 2014 with the non-saturating generator loss -log D(G(z)).
    "bce": GANLoss(
        "bce",
        d_loss=lambda real, fake: _mean(tf.nn.softplus(-real)) + _mean(tf.nn.softplus(fake)),
        g_loss=lambda real, fake: _mean(tf.nn.softplus(-fake)),
    ),
    # Arjovsky et al. 2017; the critic maximises E[D(real)] - E[D(fake)].
    "wasserstein": GANLoss(
        "wasserstein",
        d_loss=lambda real, fake: _mean(fake) - _mean(real),
        g_loss=lambda real, fake: -_mean(fake),
    ),
    # Lim & Ye 2017, Miyato et al. 2018.
    "hinge": GANLoss(
        "hinge",
        d_loss=lambda real, fake: _mean(tf.nn.relu(1.0 - real)) + _mean(tf.nn.relu(1.0 + fake)),
        g_loss=lambda real, fake: -_mean(fake),
    ),
    # Mao et al. 2017, with targets a=0 (fake), b=c=1 (real).
    "lsgan": GANLoss(
        "lsgan",
        d_loss=lambda real, fake: 0.5 * _mean(tf.square(real - 1.0)) + 0.5 * _mean(tf.square(fake)),
        g_loss=lambda real, fake: 0.5 * _mean(tf.square(fake - 1.0)),
        decision_threshold=0.5,
    ),
    # Relativistic pairing GAN (Jolicoeur-Martineau 2018; Sun et al. 2020), R3GAN's loss: each real
    # image is paired with one fake, D raises D(real) - D(fake), G raises D(fake) - D(real).
    "rpgan": GANLoss(
        "rpgan",
        d_loss=lambda real, fake: _mean(tf.nn.softplus(-(real - fake))),
        g_loss=lambda real, fake: _mean(tf.nn.softplus(-(fake - real))),
        g_uses_real=True,
    ),
}


def get_loss(name: str) -> GANLoss:
    if name not in LOSSES:
        raise ValueError(f"unknown GAN loss {name!r}: choose from {', '.join(LOSSES)}")
    return LOSSES[name]


class Penalty(keras.layers.Layer):
    """A discriminator penalty: `penalty(discriminate, real, fake, seed_generator)` is its
    unweighted value, `weight` its coefficient in D's loss, `name` its logged name.

    A Layer so that Keras tracks what it holds (ConsistencyPenalty's random shifts): the GAN's
    checkpoints save and restore it. It is called directly, not through Layer.__call__, since
    its inputs are a function and two batches, not tensors for Keras to cast.

    `lazy`: the GAN's `reg_every` may compute it on every k-th discriminator update only (a
    zero-centred penalty, whose value does not depend on a random draw).
    """

    lazy = False

    def __init__(self, weight: float, **kwargs):
        super().__init__(**kwargs)
        if weight < 0:
            raise ValueError(f"{type(self).__name__} weight must be >= 0, got {weight}")
        self.weight = weight
        self.built = True

    def __call__(self, discriminate, real, fake, seed_generator) -> tf.Tensor:
        raise NotImplementedError

    def __repr__(self):
        return f"{type(self).__name__}(weight={self.weight})"


class GradientPenalty(Penalty):
    """WGAN-GP's two-sided penalty E[(||grad_x D(x_hat)||_2 - 1)^2].

    x_hat = eps * real + (1 - eps) * fake with eps ~ U[0, 1] drawn per sample, as in
    Gulrajani et al. 2017, "Improved Training of Wasserstein GANs" (Algorithm 1).

    Args:
        weight: lambda, the penalty's coefficient in the discriminator loss.
    """

    def __init__(self, weight: float = 10.0):
        super().__init__(weight, name="gp")

    def __call__(self, discriminate, real, fake, seed_generator) -> tf.Tensor:
        """Returns the unweighted penalty; `discriminate` maps images to (B, 1) outputs."""
        eps = rng.uniform((tf.shape(real)[0], 1, 1, 1), seed_generator, dtype=real.dtype)
        interpolated = eps * real + (1.0 - eps) * fake
        return tf.reduce_mean(tf.square(_input_gradient_norms(discriminate, interpolated) - 1.0))


def _input_gradient_norms(discriminate, images) -> tf.Tensor:
    """||grad_x D(x)||_2 per sample, (B,)."""
    images = tf.convert_to_tensor(images)
    with tf.GradientTape() as tape:
        tape.watch(images)
        outputs = discriminate(images)
    grads = tf.cast(tape.gradient(outputs, images), tf.float32)  # float32 norms under mixed precision
    # The epsilon keeps the gradient of the norm finite where grads are exactly 0.
    return tf.sqrt(tf.reduce_sum(tf.square(grads), axis=[1, 2, 3]) + 1e-12)


class R1Penalty(Penalty):
    """R1: (gamma / 2) E_real[||grad_x D(x)||^2], on real images only.

    Mescheder et al. 2018, "Which Training Methods for GANs do actually Converge?".

    Args:
        gamma: the paper's gamma; the penalty's weight is gamma / 2.
    """

    lazy = True

    def __init__(self, gamma: float = 10.0, name: str = "r1"):
        if gamma < 0:
            raise ValueError(f"{name.upper()} gamma must be >= 0, got {gamma}")
        super().__init__(gamma / 2.0, name=name)
        self.gamma = gamma

    def __call__(self, discriminate, real, fake, seed_generator) -> tf.Tensor:
        return tf.reduce_mean(tf.square(_input_gradient_norms(discriminate, real)))

    def __repr__(self):
        return f"{type(self).__name__}(gamma={self.gamma})"


class R2Penalty(R1Penalty):
    """R2: (gamma / 2) E_fake[||grad_x D(x)||^2], R1's zero-centred penalty on fake images.

    Mescheder et al. 2018 define it; Huang et al. 2024 (R3GAN) pair it with R1 so that the
    relativistic loss converges locally.
    """

    def __init__(self, gamma: float = 10.0):
        super().__init__(gamma, name="r2")

    def __call__(self, discriminate, real, fake, seed_generator) -> tf.Tensor:
        return tf.reduce_mean(tf.square(_input_gradient_norms(discriminate, fake)))


class ConsistencyPenalty(Penalty):
    """Balanced consistency regularisation: E||D(x) - D(T(x))||^2 on real and on fake images.

    T shifts images by up to 1/8 of their size (zero padded). Zhao et al. 2020, "Improved
    Consistency Regularization for GANs" (bCR, with lambda_real = lambda_fake = weight).
    """

    def __init__(self, weight: float = 10.0, seed: int | None = None):
        super().__init__(weight, name="cr")
        self.transform = DiffAugment("translation", seed=seed)  # tracked: its random state is checkpointed

    def __call__(self, discriminate, real, fake, seed_generator) -> tf.Tensor:
        total = 0.0
        for images in (real, fake):
            total += tf.reduce_mean(tf.square(discriminate(images) - discriminate(self.transform(images))))
        return total
