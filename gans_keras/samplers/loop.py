"""The loop every diffusion sampler shares: the network's (guided) noise prediction, x_0 from it
(clipped to [-1, 1] if asked), the sampler's step, per-step statistics and progress.
Classifier-free guidance (Ho & Salimans 2022) can be limited to an interval of noise levels
(Kynkäänniemi et al. 2024). The arithmetic is keras.ops on the backend's tensors, so the
images stay on the device between steps."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np
from keras import ops

from gans_keras.choices import check_choice
from gans_keras.config import CHOICES
from gans_keras.networks.unet import learns_variance
from gans_keras.samplers import SAMPLERS
from gans_keras.samplers.ddim import DDIM
from gans_keras.schedules import NoiseSchedule

STAT_KEYS = ("x_min", "x_max", "x_std", "x0_min", "x0_max", "x0_std")


def compiled_call(network: keras.Model) -> Callable:
    """The network's inference call, compiled for the Keras backend in use (tf.function, jax.jit;
    torch runs eagerly without autograd), returning tensors on the device. Imports TensorFlow only
    on the TensorFlow backend, so a network trained with it samples on any backend."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.function(lambda inputs: network(inputs, training=False), reduce_retracing=True)
    if backend == "jax":
        import jax

        pure = jax.jit(lambda trainable, fixed, inputs: network.stateless_call(trainable, fixed, inputs)[0])
        return lambda inputs: pure([v.value for v in network.trainable_variables],
                                   [v.value for v in network.non_trainable_variables], inputs)
    if backend == "torch":
        import torch

        def call(inputs):
            with torch.no_grad():
                return network(inputs, training=False)

        return call
    return lambda inputs: network(inputs, training=False)


class DiffusionSampler:
    """Turns a trained denoiser into a generator: noise x_T (B, H, W, C) [and labels] -> x_0.

    Every step predicts eps from x_t (the network's eps, or eps from its v), x_0 from eps, clips
    x_0 to [-1, 1] if `clip_x0` (then re-derives eps from the clipped x_0, so every sampler sees
    a consistent pair), and hands both to the sampler (`gans_keras.samplers.SAMPLERS`: ddim,
    ddpm, dpmpp_2m, dpmpp_2m_sde), which moves x to its next timestep. `eta` is DDIM's.
    With labels and `guidance` w, eps = (1 + w) eps(x, y) - w eps(x, none): w = 0 is plain
    conditional sampling. The network's label `num_classes` means "no label". A text model takes
    captions where a class model takes labels (token ids, or a pretrained encoder's features: one
    array per batch) and `null_caption`, the empty caption's, is its "no caption"; `tokenizer`
    (strings -> that array) lets it take prompts (`encode`). Guidance applies
    only at steps whose noise level sigma_t = sqrt((1 - abar_t) / abar_t) lies in
    (guidance_sigma_min, guidance_sigma_max]; (0, inf], the default, is every step.
    A network that learns its variance (Improved DDPM: `networks.unet.learns_variance`) gives
    the samplers that use one (`takes_variance`: ddpm) its v, the conditional one under guidance.

    Behaves like a GAN generator for the package (`sample`, grids, evaluation): call it on
    noise (or [noise, labels]) and get images in [-1, 1].
    """

    def __init__(self, network: keras.Model, schedule: NoiseSchedule, prediction: str = "eps",
                 num_classes: int | None = None, sampler: str = "ddim", steps: int = 50, eta: float = 0.0,
                 clip_x0: bool = True, guidance: float = 0.0, spacing: str = "linear",
                 guidance_sigma_min: float = 0.0, guidance_sigma_max: float = np.inf, seed: int = 0,
                 null_caption: np.ndarray | None = None, tokenizer: Callable | None = None):
        check_choice("prediction", prediction, CHOICES["prediction"])
        if num_classes is not None and null_caption is not None:
            raise ValueError("a sampler takes class labels (num_classes) or captions (null_caption), not both")
        self.network = network
        self.network_call = compiled_call(network)
        self.schedule = schedule
        self.prediction = prediction
        self.num_classes = num_classes
        self.null_caption = None if null_caption is None else np.asarray(null_caption)
        self.tokenizer = tokenizer
        self.learned_variance = learns_variance(network)
        self.configure(sampler=sampler, steps=steps, eta=eta, clip_x0=clip_x0, guidance=guidance, spacing=spacing,
                       guidance_sigma_min=guidance_sigma_min, guidance_sigma_max=guidance_sigma_max)
        self.seed = seed
        self.calls = 0  # each call draws fresh step noise, reproducibly
        self.stats: dict[str, np.ndarray] | None = None

    def configure(self, sampler=None, steps=None, eta=None, clip_x0=None, guidance=None, spacing=None,
                  guidance_sigma_min=None, guidance_sigma_max=None) -> DiffusionSampler:
        """Changes the sampling settings given (not None); returns self."""
        if sampler is not None or steps is not None or spacing is not None or eta is not None:
            name = self.sampler if sampler is None else sampler
            check_choice("sampler", name, SAMPLERS)
            eta = self.eta if eta is None else eta
            if eta < 0:
                raise ValueError(f"eta must be >= 0, got {eta}")
            options = {"eta": eta} if issubclass(SAMPLERS[name], DDIM) else {}
            if eta and not options:
                raise ValueError(f"eta applies to the ddim sampler only, not to {name} (got eta {eta})")
            method = SAMPLERS[name](self.schedule.alpha_bars, **options)
            steps = self.steps if steps is None else steps
            spacing = self.spacing if spacing is None else spacing
            method.set_timesteps(steps, spacing)
            # A new object each time: copies of this sampler (the model's grids) keep their own.
            self.method, self.sampler, self.steps, self.spacing, self.eta = method, name, steps, spacing, eta
        if clip_x0 is not None:
            self.clip_x0 = clip_x0
        if guidance is not None:
            if guidance and not self.conditional:
                raise ValueError("guidance needs a class- or text-conditional model")
            self.guidance = guidance
        if guidance_sigma_min is not None or guidance_sigma_max is not None:
            low = self.guidance_sigma_min if guidance_sigma_min is None else guidance_sigma_min
            high = self.guidance_sigma_max if guidance_sigma_max is None else guidance_sigma_max
            if not 0 <= low < high:
                raise ValueError(f"the guidance interval needs 0 <= guidance_sigma_min < guidance_sigma_max, "
                                 f"got ({low}, {high}]")
            self.guidance_sigma_min, self.guidance_sigma_max = low, high
        return self

    @property
    def conditional(self) -> bool:
        """Whether the network takes a condition: class labels or caption token ids."""
        return self.num_classes is not None or self.null_caption is not None

    @property
    def condition_dtype(self) -> str:
        return "int32" if self.null_caption is None else str(self.null_caption.dtype)

    def null_condition(self, batch: int):
        """The "no label" labels or the empty captions of classifier-free guidance."""
        if self.null_caption is not None:
            return ops.convert_to_tensor(np.repeat(self.null_caption[None], batch, axis=0))
        return ops.full((batch,), self.num_classes, "int32")

    def encode(self, prompts) -> np.ndarray:
        """The network's caption input for N prompts (token ids (N, L), or a pretrained encoder's
        features), as the network was trained on."""
        if self.null_caption is None:
            raise ValueError("this model is not text-conditioned: it takes no prompts")
        if self.tokenizer is None:
            raise ValueError("this sampler has no tokenizer: load the run with gans_keras.sampling.load_generator")
        encoded = np.asarray(ops.convert_to_numpy(self.tokenizer(list(prompts))), self.null_caption.dtype)
        if encoded.shape[1:] != self.null_caption.shape:
            raise ValueError(f"the tokenizer gives captions shaped {encoded.shape[1:]}, the network takes "
                             f"{self.null_caption.shape}")
        return encoded

    @property
    def timesteps(self) -> np.ndarray:
        return self.method.timesteps

    @property
    def latent_shape(self) -> tuple[int, ...]:
        return tuple(self.network.inputs[0].shape[1:])

    @property
    def output_shape(self) -> tuple:
        return (None, *self.latent_shape)

    def guided_at(self, t: int) -> bool:
        """Whether the step at timestep t applies guidance."""
        sigma = 1 / np.sqrt(self.schedule.snr()[t])
        return bool(self.guidance) and self.guidance_sigma_min < sigma <= self.guidance_sigma_max

    def predict_eps(self, x, t: int, labels=None):
        """The (guided) noise prediction at timestep t, a float32 tensor like x."""
        return self.denoise(x, t, labels)[0]

    def denoise(self, x, t: int, labels=None):
        """(the (guided) noise prediction at timestep t, a float32 tensor like x; the network's
        variance interpolation v like x, or None when it does not learn its variance)."""
        x = ops.convert_to_tensor(x, "float32")
        batch = x.shape[0]
        t_vector = ops.full((batch,), t, "int32")
        guided = labels is not None and self.guided_at(t)
        if labels is None:
            inputs = [x, t_vector]
        elif guided:  # conditional and unconditional in one call
            condition = ops.convert_to_tensor(labels, self.condition_dtype)
            inputs = [ops.concatenate([x, x]), ops.concatenate([t_vector, t_vector]),
                      ops.concatenate([condition, self.null_condition(batch)])]
        else:
            inputs = [x, t_vector, ops.convert_to_tensor(labels, self.condition_dtype)]
        output = ops.cast(self.network_call(inputs), "float32")
        variance_frac = None
        if self.learned_variance:
            channels = x.shape[-1]
            output, variance_frac = output[..., :channels], output[:batch, ..., channels:]
        if guided:
            output = (1 + self.guidance) * output[:batch] - self.guidance * output[batch:]
        if self.prediction == "v":  # eps = sqrt(abar) v + sqrt(1 - abar) x_t
            alpha_bar = float(self.schedule.alpha_bars[t])
            output = math.sqrt(alpha_bar) * output + math.sqrt(1 - alpha_bar) * x
        return output, variance_frac

    def generate(self, noise: np.ndarray, labels: np.ndarray | None = None, seed=None,
                 on_step: Callable[[float], None] | None = None) -> np.ndarray:
        """x_0 (float32, [-1, 1] when clipping) from x_T = `noise`; step noise from `seed`.

        `on_step`, if given, is called after every step with the fraction of steps done.
        """
        if (labels is None) == self.conditional:
            kind = "text-conditional model needs captions" if self.null_caption is not None else \
                "class-conditional model needs labels"
            raise ValueError(f"a {kind}" if labels is None else "this model is unconditional: it takes no labels")
        # Step noise is drawn on the host, from NumPy's generator, so every backend draws the same.
        rng = np.random.default_rng(self.seed if seed is None else seed)
        shape = np.shape(noise)
        x = ops.convert_to_tensor(np.asarray(noise, np.float32))
        labels = None if labels is None else ops.convert_to_tensor(np.asarray(labels, self.condition_dtype))
        method, stats, earlier_x0 = self.method, [], ()
        for i, t in enumerate(method.timesteps):
            abar = float(self.schedule.alpha_bars[t])
            eps, variance_frac = self.denoise(x, int(t), labels)
            x0 = (x - math.sqrt(1 - abar) * eps) / math.sqrt(abar)
            stats.append(ops.stack([ops.min(x), ops.max(x), ops.std(x), ops.min(x0), ops.max(x0), ops.std(x0)]))
            if self.clip_x0:
                x0 = ops.clip(x0, -1.0, 1.0)
                eps = (x - math.sqrt(abar) * x0) / math.sqrt(1 - abar)
            step_noise = None
            if method.stochastic:
                step_noise = ops.convert_to_tensor(rng.standard_normal(shape).astype(np.float32))
            learned = {"variance_frac": variance_frac} if method.takes_variance and variance_frac is not None else {}
            x = method.step(i, x, x0, eps, step_noise, earlier_x0, **learned)
            earlier_x0 = (*earlier_x0, x0)[-method.history:] if method.history else ()
            if on_step is not None:
                on_step((i + 1) / len(method.timesteps))
        values = ops.convert_to_numpy(ops.stack(stats)).astype(np.float64)
        self.stats = {"t": method.timesteps.astype(int), **dict(zip(STAT_KEYS, values.T, strict=True))}
        return ops.convert_to_numpy(x).astype(np.float32)

    def __call__(self, inputs, training=False, on_step: Callable[[float], None] | None = None,
                 seed: int | None = None):
        """Step noise from (`seed`, or the sampler's own, and the number of this call)."""
        noise, labels = (inputs[0], inputs[1]) if isinstance(inputs, (list, tuple)) else (inputs, None)
        self.calls += 1
        return self.generate(np.asarray(noise), None if labels is None else np.asarray(labels),
                             seed=[self.seed if seed is None else seed, self.calls], on_step=on_step)

    def predict(self, inputs, batch_size: int = 500, verbose: int = 0) -> np.ndarray:
        noise, labels = (inputs[0], inputs[1]) if isinstance(inputs, (list, tuple)) else (inputs, None)
        parts = []
        for start in range(0, len(noise), batch_size):
            part = slice(start, start + batch_size)
            parts.append(self(noise[part] if labels is None else [noise[part], labels[part]]))
        return np.concatenate(parts)

    def save(self, path: str | Path) -> None:
        """Saves the denoising network; `gans_keras.sampling.load_generator` rebuilds the sampler."""
        self.network.save(path)


def plot_sampling_stats(stats: dict[str, np.ndarray], path: str | Path | None = None, title: str = ""):
    """min / max / std of x_t and of the predicted x_0 (before clipping) at each sampling step."""
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(10, 3.2), sharex=True)
    step = np.arange(len(stats["t"]))
    for axis, key in zip(axes, ("x", "x0"), strict=True):
        for stat in ("min", "max", "std"):
            axis.plot(step, stats[f"{key}_{stat}"], label=stat)
        axis.axhline(1.0, color="gray", linestyle=":")
        axis.axhline(-1.0, color="gray", linestyle=":")
        axis.set_title(f"{'x_t' if key == 'x' else 'predicted x_0 (before clipping)'} {title}")
        axis.set_xlabel("sampling step (from x_T)")
    axes[0].legend()
    figure.tight_layout()
    if path is not None:
        figure.savefig(path, dpi=100)
    return figure
