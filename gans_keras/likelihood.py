"""The variational bound of a diffusion model (Ho et al. 2020, eq. 5) with learned reverse
variances (Nichol & Dhariwal 2021, "Improved DDPM"), in bits per dimension.

L_vlb = L_0 + L_1 + ... + L_{T-1} + L_T over the 0-based timesteps t = 0 .. T-1:
- L_t, t > 0: KL(q(x_{t-1} | x_t, x_0) || p(x_{t-1} | x_t)), two diagonal Gaussians;
- L_0: -log p(x_0 | x_1), the discretised Gaussian decoder (256 bins over [-1, 1]);
- L_T: KL(q(x_T | x_0) || N(0, I)), the prior term, free of the network.
The network's mean is the posterior mean at its predicted x_0; its variance is beta~_t (fixed)
or exp(v log beta_t + (1 - v) log beta~_t) from its extra output v (their eq. 15). The functions
take keras tensors and run in a train step (under XLA too) or in `nll_bits_per_dim`.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable

import numpy as np
from keras import ops

from gans_keras.schedules import NoiseSchedule

LOG2 = math.log(2.0)
BIN = 1.0 / 255.0  # half a pixel level of an image scaled from 0..255 to [-1, 1]


def normal_kl(mean1, log_var1, mean2, log_var2):
    """KL(N(mean1, exp(log_var1)) || N(mean2, exp(log_var2))) per element, in nats."""
    return 0.5 * (log_var2 - log_var1 + ops.exp(log_var1 - log_var2)
                  + ops.square(mean1 - mean2) * ops.exp(-log_var2) - 1.0)


def standard_normal_cdf(x):
    """Phi(x) through erfc, precise in the lower tail (erf's 1 + erf(x) loses it in float32)."""
    return 0.5 * ops.erfc(-x / math.sqrt(2.0))


def discretized_gaussian_log_likelihood(x, mean, log_scale):
    """log P(x) per element, nats, for x in [-1, 1] on the 256 levels of 8-bit pixels, under
    N(mean, exp(log_scale)^2) integrated over each level's bin of width 2/255; the edge bins
    reach to -inf and +inf (Ho et al. 2020, eq. 13). A bin's mass is taken in the tail it lies
    in (mirrored above the mean), so float32 keeps it far from the mean; it is floored at 1e-12,
    as in Nichol & Dhariwal's code."""
    inverse_scale = ops.exp(-log_scale)
    # Distances in standard deviations, mirrored so that the bin lies at or below the mean.
    mirror = ops.where(x > mean, -1.0, 1.0)
    upper = mirror * (x - mean) + BIN
    lower = mirror * (x - mean) - BIN
    cdf_upper = standard_normal_cdf(inverse_scale * upper)
    cdf_lower = standard_normal_cdf(inverse_scale * lower)
    # The edge bins: all mass below (x = -1) or above (x = 1), i.e. Phi((x + BIN - mean) / s)
    # and Phi(-(x - BIN - mean) / s).
    below = standard_normal_cdf(inverse_scale * (x + BIN - mean))
    above = standard_normal_cdf(-inverse_scale * (x - BIN - mean))
    mass = ops.where(x < -0.999, below, ops.where(x > 0.999, above, cdf_upper - cdf_lower))
    return ops.log(ops.maximum(mass, 1e-12))


def _mean_over_pixels(values):
    return ops.mean(values, axis=list(range(1, len(values.shape))))


def model_log_variance(schedule: NoiseSchedule, t, like, variance_frac=None):
    """log of the reverse step's variance at timesteps t, shaped to broadcast against `like`:
    log beta~_t (fixed), or v log beta_t + (1 - v) log beta~_t for the network's v. beta~_0 is
    0, so at t = 0 its log is taken at t = 1 (the decoder reads the variance only there)."""
    ndim = len(like.shape)
    log_small = schedule._gather(schedule.posterior_log_variance_clipped, t, ndim)
    if variance_frac is None:
        return log_small + ops.zeros_like(like)
    log_large = schedule._gather(np.log(schedule.betas), t, ndim)
    return variance_frac * log_large + (1.0 - variance_frac) * log_small


def vlb_term(schedule: NoiseSchedule, x0, x_t, t, predicted_x0, variance_frac=None, clip: bool = True):
    """L_t per image in bits per dimension (t > 0: the KL; t = 0: the decoder's NLL of x_0),
    for the network's x_0 prediction (clipped to [-1, 1] if `clip`, as in sampling; training
    leaves it unclipped, so that its gradient flows) and variance."""
    if clip:
        predicted_x0 = ops.clip(predicted_x0, -1.0, 1.0)
    true_mean = schedule.posterior_mean(x0, x_t, t)
    true_log_var = model_log_variance(schedule, t, x_t)
    model_mean = schedule.posterior_mean(predicted_x0, x_t, t)
    log_var = model_log_variance(schedule, t, x_t, variance_frac)
    kl = _mean_over_pixels(normal_kl(true_mean, true_log_var, model_mean, log_var)) / LOG2
    decoder_nll = -_mean_over_pixels(discretized_gaussian_log_likelihood(x0, model_mean, 0.5 * log_var)) / LOG2
    return ops.where(ops.equal(ops.cast(t, "int32"), 0), decoder_nll, kl)


def prior_term(schedule: NoiseSchedule, x0) -> np.ndarray:
    """L_T per image in bits per dimension, KL(q(x_T | x_0) || N(0, I)), in float64: for a small
    alpha_bar_T its terms cancel, -log(1 - abar) - abar + abar x_0^2, and log1p keeps them."""
    abar = schedule.alpha_bars[-1]
    x0 = np.asarray(ops.convert_to_numpy(x0), np.float64)
    kl = 0.5 * (-np.log1p(-abar) - abar + abar * np.square(x0))
    return kl.reshape(len(x0), -1).mean(axis=1) / LOG2


def nll_bits_per_dim(predict: Callable, schedule: NoiseSchedule, images: np.ndarray, labels: np.ndarray | None = None,
                     batch_size: int = 250, seed: int = 0, on_batch: Callable[[int], None] | None = None) -> dict:
    """The test images' negative log-likelihood bound in bits per dimension: every L_t summed
    over all T timesteps, one network call per image and timestep, plus L_T.

    `predict(x_t, t, labels) -> (x_0 prediction, variance fraction or None)`; `images` in
    [-1, 1]. Returns the mean bound with its standard error, the mean of each term over the
    images (`terms`, t = 0 .. T-1) and the prior term.
    """
    rng = np.random.default_rng(seed)
    totals, prior, terms = [], [], np.zeros(schedule.timesteps)
    for start in range(0, len(images), batch_size):
        x0 = ops.convert_to_tensor(np.asarray(images[start:start + batch_size], np.float32))
        batch_labels = None if labels is None else labels[start:start + batch_size]
        batch = int(x0.shape[0])
        per_image = np.zeros(batch)
        for t in range(schedule.timesteps):
            t_vector = ops.full((batch,), t, "int32")
            noise = ops.convert_to_tensor(rng.standard_normal(x0.shape).astype(np.float32))
            x_t = schedule.q_sample(x0, t_vector, noise)
            predicted_x0, variance_frac = predict(x_t, t, batch_labels)
            term = ops.convert_to_numpy(vlb_term(schedule, x0, x_t, t_vector, predicted_x0, variance_frac))
            per_image += term
            terms[t] += term.sum()
        last = prior_term(schedule, x0)
        totals.append(per_image + last)
        prior.append(last)
        if on_batch is not None:
            on_batch(batch)
    totals = np.concatenate(totals)
    return {"bits_per_dim": float(totals.mean()),
            "standard_error": float(totals.std(ddof=1) / math.sqrt(len(totals))) if len(totals) > 1 else 0.0,
            "prior_bits_per_dim": float(np.concatenate(prior).mean()), "images": len(totals),
            "terms": (terms / len(totals)).tolist()}


def sampler_nll(sampler, images: np.ndarray, labels: np.ndarray | None = None, batch_size: int = 250,
                seed: int = 0, verbose: bool = True) -> dict:
    """`nll_bits_per_dim` of a run's `DiffusionSampler` (its network, unguided) on uint8 images
    (N, H, W, C); a class model is scored given the images' `labels`."""
    import keras

    if sampler.null_caption is not None:
        raise ValueError("the likelihood of a text-to-image model needs each test image's caption: not supported")
    if (labels is None) != (sampler.num_classes is None):
        raise ValueError("a class-conditional model is scored with the images' labels, an unconditional one without")
    if tuple(images.shape[1:]) != sampler.latent_shape:
        raise ValueError(f"the images are {images.shape[1:]}, the model's {sampler.latent_shape}")
    unguided = copy.copy(sampler).configure(guidance=0.0)  # the likelihood is the model's, unguided
    schedule = sampler.schedule

    def predict(x_t, t, batch_labels):
        eps, variance_frac = unguided.denoise(x_t, t, batch_labels)
        return schedule.predicted_x0(x_t, ops.full((x_t.shape[0],), t, "int32"), eps, "eps"), variance_frac

    progbar = keras.utils.Progbar(len(images), verbose=1 if verbose else 0, unit_name="image")
    scaled = images.astype(np.float32) / 127.5 - 1.0
    return nll_bits_per_dim(predict, schedule, scaled, labels, batch_size, seed, on_batch=progbar.add)
