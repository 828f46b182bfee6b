"""Sampling diffusion models: ancestral DDPM (Ho et al. 2020) and DDIM (Song et al. 2020) over
any subsequence of the T training steps, classifier-free guidance (Ho & Salimans 2022), optionally
limited to an interval of noise levels (Kynkäänniemi et al. 2024), optional clipping of the
predicted x_0 to [-1, 1], and per-step statistics of x_t and x_0."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np

from gans_keras.config import CHOICES, check_choice
from gans_keras.schedules import NoiseSchedule

SAMPLERS = CHOICES["sampler"]
SPACINGS = CHOICES["timestep_spacing"]
STAT_KEYS = ("x_min", "x_max", "x_std", "x0_min", "x0_max", "x0_std")


def sampling_timesteps(timesteps: int, steps: int, spacing: str = "linear") -> np.ndarray:
    """`steps` distinct training timesteps from T-1 down to 0: evenly spread ("linear") or with
    t growing as the square of the step index ("quadratic", Song et al. 2020's choice for
    CIFAR-10), which spends more of the steps at low noise, where the fine detail is made."""
    if not 1 <= steps <= timesteps:
        raise ValueError(f"sampling steps must be in [1, {timesteps}], got {steps}")
    check_choice("timestep_spacing", spacing)
    fractions = np.linspace(0.0, 1.0, steps)
    if spacing == "quadratic":
        fractions = fractions**2
    chosen = (fractions * (timesteps - 1)).round().astype(np.int64)
    # Quadratic spacing rounds its first few timesteps together: t_i = max(t_i, t_{i-1} + 1)
    # keeps them distinct, and still ends at T-1 because t_i - i is largest at the last step.
    index = np.arange(steps)
    return (np.maximum.accumulate(chosen - index) + index)[::-1]


class DiffusionSampler:
    """Turns a trained denoiser into a generator: noise x_T (B, H, W, C) [and labels] -> x_0.

    Every step predicts x_0 from x_t (from the network's eps or v), clips it to [-1, 1] if
    `clip_x0` (then re-derives eps from the clipped x_0, so DDIM and DDPM stay consistent), and
    moves to the previous timestep of the subsequence:
    - ddpm: samples the posterior q(x_prev | x_t, x_0) of the chain restricted to the
      subsequence (Nichol & Dhariwal 2021's respacing; with all T steps, Ho et al.'s sampler
      with variance beta~_t);
    - ddim: x_prev = sqrt(abar_prev) x_0 + sqrt(1 - abar_prev - sigma^2) eps + sigma z, with
      sigma = eta sqrt((1 - abar_prev) / (1 - abar_t)) sqrt(1 - abar_t / abar_prev); eta = 0 is
      deterministic, eta = 1 over all T steps is the DDPM posterior.
    With labels and `guidance` w, eps = (1 + w) eps(x, y) - w eps(x, none): w = 0 is plain
    conditional sampling. The network's label `num_classes` means "no label". Guidance applies
    only at steps whose noise level sigma_t = sqrt((1 - abar_t) / abar_t) lies in
    (guidance_sigma_min, guidance_sigma_max]: Kynkäänniemi et al. 2024 find it harms diversity at
    high noise and does little at low noise; (0, inf], the default, is every step.

    Behaves like a GAN generator for the package (`sample`, grids, evaluation): call it on
    noise (or [noise, labels]) and get images in [-1, 1].
    """

    def __init__(self, network: keras.Model, schedule: NoiseSchedule, prediction: str = "eps",
                 num_classes: int | None = None, sampler: str = "ddim", steps: int = 50, eta: float = 0.0,
                 clip_x0: bool = True, guidance: float = 0.0, spacing: str = "linear",
                 guidance_sigma_min: float = 0.0, guidance_sigma_max: float = np.inf, seed: int = 0):
        check_choice("prediction", prediction)
        self.network = network
        self.schedule = schedule
        self.prediction = prediction
        self.num_classes = num_classes
        self.configure(sampler=sampler, steps=steps, eta=eta, clip_x0=clip_x0, guidance=guidance, spacing=spacing,
                       guidance_sigma_min=guidance_sigma_min, guidance_sigma_max=guidance_sigma_max)
        self.seed = seed
        self.calls = 0  # each call draws fresh step noise, reproducibly
        self.stats: dict[str, np.ndarray] | None = None

    def configure(self, sampler=None, steps=None, eta=None, clip_x0=None, guidance=None, spacing=None,
                  guidance_sigma_min=None, guidance_sigma_max=None) -> DiffusionSampler:
        """Changes the sampling settings given (not None); returns self."""
        if sampler is not None:
            check_choice("sampler", sampler)
            self.sampler = sampler
        if steps is not None or spacing is not None:
            steps = self.steps if steps is None else steps
            spacing = self.spacing if spacing is None else spacing
            self.timesteps = sampling_timesteps(self.schedule.timesteps, steps, spacing)
            self.steps, self.spacing = steps, spacing
        if eta is not None:
            if eta < 0:
                raise ValueError(f"eta must be >= 0, got {eta}")
            self.eta = eta
        if clip_x0 is not None:
            self.clip_x0 = clip_x0
        if guidance is not None:
            if guidance and self.num_classes is None:
                raise ValueError("guidance needs a class-conditional model")
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
    def latent_shape(self) -> tuple[int, ...]:
        return tuple(self.network.inputs[0].shape[1:])

    @property
    def output_shape(self) -> tuple:
        return (None, *self.latent_shape)

    def guided_at(self, t: int) -> bool:
        """Whether the step at timestep t applies guidance."""
        sigma = 1 / np.sqrt(self.schedule.snr()[t])
        return bool(self.guidance) and self.guidance_sigma_min < sigma <= self.guidance_sigma_max

    def predict_eps(self, x: np.ndarray, t: int, labels: np.ndarray | None) -> np.ndarray:
        """The (guided) noise prediction at timestep t."""
        batch = len(x)
        t_vector = np.full(batch, t, np.int32)
        guided = labels is not None and self.guided_at(t)
        if labels is None:
            inputs = [x, t_vector]
        elif guided:  # conditional and unconditional in one call
            null = np.full(batch, self.num_classes, np.int32)
            inputs = [np.concatenate([x, x]), np.concatenate([t_vector, t_vector]), np.concatenate([labels, null])]
        else:
            inputs = [x, t_vector, labels]
        # predict_on_batch compiles the call for the Keras backend in use (tf.function, jax.jit, or
        # torch without autograd), so a network trained with TensorFlow samples on any of them.
        output = self.network.predict_on_batch(inputs).astype(np.float64)
        if guided:
            output = (1 + self.guidance) * output[:batch] - self.guidance * output[batch:]
        if self.prediction == "v":  # eps = sqrt(abar) v + sqrt(1 - abar) x_t
            alpha_bar = self.schedule.alpha_bars[t]
            output = np.sqrt(alpha_bar) * output + np.sqrt(1 - alpha_bar) * x
        return output

    def generate(self, noise: np.ndarray, labels: np.ndarray | None = None, seed=None,
                 on_step: Callable[[float], None] | None = None) -> np.ndarray:
        """x_0 (float32, [-1, 1] when clipping) from x_T = `noise`; step noise from `seed`.

        `on_step`, if given, is called after every step with the fraction of steps done.
        """
        if (labels is None) != (self.num_classes is None):
            raise ValueError("a class-conditional model needs labels" if labels is None
                             else "this model is unconditional: it takes no labels")
        rng = np.random.default_rng(self.seed if seed is None else seed)
        x = np.asarray(noise, np.float64)
        labels = None if labels is None else np.asarray(labels, np.int32)
        alpha_bars = self.schedule.alpha_bars
        stats = {key: [] for key in ("t", *STAT_KEYS)}
        for i, t in enumerate(self.timesteps):
            prev = self.timesteps[i + 1] if i + 1 < len(self.timesteps) else -1
            abar, abar_prev = alpha_bars[t], (alpha_bars[prev] if prev >= 0 else 1.0)
            eps = self.predict_eps(x.astype(np.float32), int(t), labels)
            x0 = (x - np.sqrt(1 - abar) * eps) / np.sqrt(abar)
            for key, values in (("x", x), ("x0", x0)):
                stats[f"{key}_min"].append(values.min())
                stats[f"{key}_max"].append(values.max())
                stats[f"{key}_std"].append(values.std())
            stats["t"].append(int(t))
            if self.clip_x0:
                x0 = np.clip(x0, -1.0, 1.0)
                eps = (x - np.sqrt(abar) * x0) / np.sqrt(1 - abar)
            z = rng.standard_normal(x.shape)  # drawn every step, so both samplers see the same stream
            step_alpha = abar / abar_prev  # 1 - beta of the (respaced) step t -> prev
            if self.sampler == "ddpm":
                mean = (np.sqrt(abar_prev) * (1 - step_alpha) * x0 + np.sqrt(step_alpha) * (1 - abar_prev) * x) / (
                    1 - abar
                )
                variance = (1 - step_alpha) * (1 - abar_prev) / (1 - abar)
                x = mean + np.sqrt(variance) * z
            else:
                sigma = self.eta * np.sqrt((1 - abar_prev) / (1 - abar) * (1 - step_alpha))
                direction = np.sqrt(np.maximum(1 - abar_prev - sigma**2, 0.0))
                x = np.sqrt(abar_prev) * x0 + direction * eps + sigma * z
            if on_step is not None:
                on_step((i + 1) / len(self.timesteps))
        self.stats = {key: np.asarray(values) for key, values in stats.items()}
        return x.astype(np.float32)

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
