"""Sampling trained generators: uint8 images, labels for conditional models, grids.

A "generator" is a GAN's Keras generator or a diffusion run's `DiffusionSampler`: both map
latents (noise images for diffusion), with labels for conditional models, to images in [-1, 1].
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import keras
import numpy as np

from gans_keras.io import atomic_path
from gans_keras.samplers.loop import DiffusionSampler
from gans_keras.viz import generator_value_range, save_grid, to_uint8

GENERATOR_FILE = "generator.keras"  # the generator at the end of training
BEST_GENERATOR_FILE = "generator_best.keras"  # the one with the lowest --eval-every FID


def load_network(path: str | Path) -> keras.Model:
    """A saved `.keras` network, in Keras' safe mode: a file holding a Lambda layer (code that
    would run on load) is refused, and the package's networks have none."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"{path} does not exist")
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{path} is not a readable .keras file (truncated or corrupt?): train the run again or "
                         "restore the file")
    try:
        return keras.saving.load_model(path, compile=False, safe_mode=True)
    except ValueError as error:
        if "safe_mode" not in str(error):
            raise
        raise ValueError(f"{path} holds a Lambda layer, code that would run on loading: refused (the package "
                         f"saves none; load it yourself with safe_mode=False only if you trust it)") from None


def load_generator(run: str | Path, best: bool = False) -> keras.Model | DiffusionSampler:
    """The run's exported generator (with `best`, the one with the lowest FID that training with
    --eval-every kept); for a diffusion run, a sampler on its (EMA) network with the run's
    schedule and default sampling settings (change them with `.configure`)."""
    import gans_keras.layers  # noqa: F401  (registers the custom layers that load_model looks up)
    from gans_keras.config import make_config
    from gans_keras.models.registry import sampler_options
    from gans_keras.presets import get_preset
    from gans_keras.schedules import NoiseSchedule

    if not Path(run).is_dir():
        raise FileNotFoundError(f"no run directory {run}")
    path = Path(run) / (BEST_GENERATOR_FILE if best else GENERATOR_FILE)
    if best and not path.exists():
        raise FileNotFoundError(f"no {BEST_GENERATOR_FILE} in {run}: only a run trained with --eval-every N keeps "
                                f"its best generator")
    if not path.exists():
        raise FileNotFoundError(f"no {GENERATOR_FILE} in {run}: train the run to its end first")
    network = load_network(path)
    config_path = Path(run) / "config.json"
    config = make_config(json.loads(config_path.read_text())) if config_path.exists() else None
    if config is None or get_preset(config.model).kind != "diffusion":
        return network
    schedule = NoiseSchedule(config.noise_schedule, config.timesteps)
    text = {}
    if get_preset(config.model).text:
        from gans_keras.text_encoders import caption_encoding

        encoding = caption_encoding(config, run)
        text = dict(null_caption=encoding.null_caption, tokenizer=encoding.encode)
    return DiffusionSampler(network, schedule, config.prediction, config.num_classes, **sampler_options(config),
                            **text)


def takes_prompts(generator: keras.Model | DiffusionSampler) -> bool:
    """Whether the generator is a text model's sampler (conditioned on prompts)."""
    return isinstance(generator, DiffusionSampler) and generator.null_caption is not None


def generator_classes(generator: keras.Model | DiffusionSampler) -> int | None:
    """Number of classes of a conditional generator (inputs [z, labels]); None if unconditional."""
    if isinstance(generator, DiffusionSampler):
        return generator.num_classes
    if len(generator.inputs) == 1:
        return None
    return generator.get_layer("label_embedding").input_dim


def latent_shape(generator: keras.Model | DiffusionSampler) -> tuple[int, ...]:
    if isinstance(generator, DiffusionSampler):
        return generator.latent_shape
    return (generator.inputs[0].shape[-1],)


def generate(generator: keras.Model | DiffusionSampler, inputs, batch_size: int = 500) -> np.ndarray:
    """Images in [-1, 1] for `inputs` (latents, or [latents, labels]), batch by batch, in this
    process alone: a multi-worker strategy's Keras `predict` would wait for the other workers,
    which a sample grid or evaluation that the chief writes by itself must not."""
    if isinstance(generator, DiffusionSampler):
        return generator.predict(inputs, batch_size=batch_size)
    parts = inputs if isinstance(inputs, list) else [inputs]
    images = []
    for start in range(0, len(parts[0]), batch_size):
        batch = [part[start:start + batch_size] for part in parts]
        images.append(keras.ops.convert_to_numpy(generator(batch if len(batch) > 1 else batch[0], training=False)))
    return np.concatenate(images)


def balanced_labels(num: int, classes: int) -> np.ndarray:
    """0, 1, ..., classes - 1, 0, 1, ...: every class equally often (within one)."""
    return (np.arange(num) % classes).astype("int32")


def sample(
    generator: keras.Model,
    num: int,
    seed: int = 0,
    batch_size: int = 500,
    labels: np.ndarray | None = None,
    verbose: bool = True,
    start: int = 0,
    prompts: list[str] | None = None,
) -> np.ndarray:
    """`num` uint8 images (N, H, W, C) from z ~ N(0, I); the same seed gives the same images.

    A conditional generator takes `labels` (N,), by default balanced over its classes
    (i % classes); an unconditional one takes none. `start` skips the seed's first `start`
    latents (and default labels), so that pieces sampled apart join into one call's images.
    A diffusion sampler also draws its step noise (DDPM, DDIM with eta > 0) from `seed`: from
    the same noise, DDPM-1000 turns other latents into nearly the same images. A text model takes
    `prompts` instead of labels: one per image.
    """
    if num < 1:
        raise ValueError(f"num must be >= 1, got {num}")
    if start < 0:
        raise ValueError(f"start must be >= 0, got {start}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    classes = generator_classes(generator)
    if takes_prompts(generator):
        if labels is not None:
            raise ValueError("this generator is text-conditioned: it takes prompts, not class labels")
        if prompts is None or len(prompts) != num:
            raise ValueError(f"this generator is text-conditioned: give {num} prompts, one per image, got "
                             f"{'none' if prompts is None else len(prompts)}")
        labels = generator.encode(prompts)
    elif prompts is not None:
        raise ValueError("this generator is not text-conditioned: it takes no prompts")
    elif classes is None and labels is not None:
        raise ValueError("this generator is unconditional: it takes no class labels")
    elif classes is not None:
        labels = balanced_labels(start + num, classes)[start:] if labels is None else np.asarray(labels)
        if labels.shape != (num,):
            raise ValueError(f"labels must be {num} integers, one per image, got shape {labels.shape}")
        if labels.min() < 0 or labels.max() >= classes:
            raise ValueError(f"labels must be in [0, {classes}), the generator's classes, got "
                             f"{labels.min()}..{labels.max()}")
        labels = labels.astype("int32")
    latents = np.random.default_rng(seed).standard_normal((start + num, *latent_shape(generator)))[start:]
    latents = latents.astype("float32")
    value_range = generator_value_range(generator)
    progbar = keras.utils.Progbar(num, verbose=1 if verbose else 0, unit_name="image")
    batches = []
    for first in range(0, num, batch_size):
        part = slice(first, first + batch_size)
        inputs = latents[part] if labels is None else [latents[part], labels[part]]
        if isinstance(generator, DiffusionSampler):
            # A diffusion batch runs for minutes (DDPM-1000: over an hour on CPU), so the bar moves
            # at every denoising step; the last step completes the batch.
            size = len(latents[part])
            output = generator(inputs, seed=seed,
                               on_step=lambda done, first=first, size=size: progbar.update(first + done * size))
        else:
            output = generator(inputs, training=False)
            progbar.update(min(first + batch_size, num))
        batches.append(to_uint8(keras.ops.convert_to_numpy(output), value_range))
    return np.concatenate(batches)


def write_samples(images: np.ndarray, out: str | Path, labels: np.ndarray | None = None,
                  prompts: list[str] | None = None) -> tuple[Path, Path]:
    """Writes `out` (.npz: `images`, and `labels` or `prompts` when given) and a grid PNG beside it.

    With labels the grid shows up to 10 images of each of the first 10 classes, a row each; with
    prompts, of each of the first 10 distinct prompts, a row each under its prompt.
    """
    out = Path(out)
    arrays = {"images": images}
    if labels is not None:
        arrays["labels"] = labels
    if prompts is not None:
        arrays["prompts"] = np.asarray(prompts, dtype=str)  # a unicode array: np.load needs no pickle
    with atomic_path(out) as tmp, open(tmp, "wb") as f:
        np.savez_compressed(f, **arrays)
    if labels is None and prompts is None:
        return out, save_grid(images[:100], out.with_suffix(".png"), scale=2)
    keys = np.asarray(labels if prompts is None else prompts)
    rows = np.unique(keys).tolist()[:10] if prompts is None else list(dict.fromkeys(prompts))[:10]
    cells = [images[keys == key][:10] for key in rows]
    cells = np.concatenate([np.concatenate([r, np.full((10 - len(r), *r.shape[1:]), 255, np.uint8)]) for r in cells])
    grid = save_grid(cells, out.with_suffix(".png"), columns=10, scale=2,
                     row_titles=None if prompts is None else rows)
    return out, grid
