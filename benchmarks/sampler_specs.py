"""Diffusion sampler specs (SAMPLER:STEPS[:IMAGES][:KEY=VALUE...]), timed sampling of a run, and
the command and machine that every results file records.

Imports no TensorFlow, so that diffusion_samplers.py --generate-only can make the images on a
machine with another Keras backend (JAX or PyTorch on a GPU) for scoring elsewhere.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import keras  # noqa: E402
import numpy as np  # noqa: E402

from gans_keras.models.registry import sampler_options  # noqa: E402
from gans_keras.samplers import SAMPLERS  # noqa: E402
from gans_keras.samplers.options import FIELDS as SAMPLING_FIELDS  # noqa: E402
from gans_keras.sampling import sample  # noqa: E402


def command_line() -> str:
    """The command that is running, as it was typed from the project root."""
    return f"python benchmarks/{Path(sys.argv[0]).name} " + shlex.join(sys.argv[1:])


def code_version() -> str | None:
    """The commit the code ran at, with "+dirty" when the working tree differs from it (None
    outside a git checkout): a results file is remade by its command at that commit."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        return commit + ("+dirty" if git("status", "--porcelain", "--untracked-files=no") else "")
    except (OSError, subprocess.CalledProcessError):
        return None


# CPU features that decide how fast the TensorFlow kernels run (AVX-512 and bf16/AMX or AVX2 only).
CPU_FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_bf16")


def cpu_model() -> dict:
    """The CPU's model name and which of CPU_FLAGS it has (Linux; empty elsewhere)."""
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return {}
    fields = dict(line.split(":", 1) for line in info.splitlines() if ":" in line)
    fields = {key.strip(): value.strip() for key, value in fields.items()}
    flags = set(fields.get("flags", "").split())
    return {"cpu_model": fields.get("model name", ""), "cpu_flags": [flag for flag in CPU_FLAGS if flag in flags]}


def machine() -> dict:
    """The machine and Keras backend (with its version, and its GPU if any) running this."""
    backend = keras.backend.backend()
    module = importlib.import_module(backend)
    # cpus_used: the cores this process may run on (fewer than cpus under taskset, as in side-by-side pairs)
    found = {"cpus": os.cpu_count(), "cpus_used": len(os.sched_getaffinity(0)),
             "processor": platform.processor() or platform.machine(), **cpu_model(),
             "keras": keras.__version__, "backend": backend, backend: module.__version__}
    if backend == "jax":
        found["device"] = module.devices()[0].device_kind
    elif backend == "torch" and module.cuda.is_available():
        found["device"] = module.cuda.get_device_name()
    return found


def parse_setting(text: str) -> tuple[str, object]:
    """"n_critic=2" -> ("n_critic", 2): one config key of a --set option, its value as JSON."""
    key, _, value = text.partition("=")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        raise argparse.ArgumentTypeError(f"{text!r} is not KEY=JSON (e.g. n_critic=2, precision=\"float32\")") from None


# DiffusionSampler.configure's keywords a spec may set, besides its sampler and steps
SAMPLER_SETTINGS = tuple(option.name for option in SAMPLING_FIELDS if option.name not in ("sampler", "steps"))


def parse_samplers(text: str) -> list[tuple[str, int, int | None, dict]]:
    """"ddim:50,ddpm:1000:200,ddim:50:guidance=0.5" ->
    [("ddim", 50, None, {}), ("ddpm", 1000, 200, {}), ("ddim", 50, None, {"guidance": 0.5})]."""
    specs = []
    for item in text.split(","):
        parts = item.split(":")
        settings = dict(part.split("=", 1) for part in parts if "=" in part)
        plain = [part for part in parts if "=" not in part]
        if len(plain) not in (2, 3) or plain[0] not in SAMPLERS or not set(settings) <= set(SAMPLER_SETTINGS):
            raise argparse.ArgumentTypeError(
                f"{item!r} is not SAMPLER:STEPS[:IMAGES][:KEY=VALUE...] with SAMPLER one of {', '.join(SAMPLERS)} "
                "and KEY one of " + ", ".join(SAMPLER_SETTINGS))
        settings = {key: value if key == "spacing" else json.loads(value) for key, value in settings.items()}
        specs.append((plain[0], int(plain[1]), int(plain[2]) if len(plain) == 3 else None, settings))
    return specs


BATCH_SIZE = 500  # sample()'s default: the batches that step noise is drawn for


def timed_samples(generator, specs, num_samples: int, config, part: tuple[int, int] = (0, 1),
                  prompts: list[str] | None = None) -> Iterator[tuple[str, dict, np.ndarray]]:
    """Per sampler: its results key, its record (settings, image count, seconds per 1000 images in
    batches of 500) and its uint8 images, all from the run's seed, so every sampler starts from the
    same latents and labels. Settings a spec leaves out are the run's, not the previous spec's.

    With `part` (k, n), only the k-th of n runs of whole batches of each sampler's images, from the
    latents and step noise that one process making them all would use (a DiffusionSampler draws
    its step noise per call), so n processes can share the work and join their images.
    A text model samples image i from `prompts[i]`.
    """
    index, parts = part
    run_settings = {key: value for key, value in sampler_options(config).items() if key in SAMPLER_SETTINGS}
    calls_before = generator.calls
    for sampler, steps, images, settings in specs:
        generator.configure(sampler=sampler, steps=steps, **{**run_settings, **settings})
        num = images or num_samples
        batches = -(-num // BATCH_SIZE)
        if batches < parts:
            raise ValueError(f"{num} images are {batches} batches of {BATCH_SIZE}: too few for {parts} parts")
        first, last = batches * index // parts, batches * (index + 1) // parts
        start, stop = first * BATCH_SIZE, min(last * BATCH_SIZE, num)
        generator.calls = calls_before + first
        calls_before += batches
        name = f"{sampler}-{steps}" + "".join(f"-{key}{value}" for key, value in settings.items())
        started = time.perf_counter()
        samples = sample(generator, stop - start, seed=config.seed, batch_size=BATCH_SIZE, start=start,
                         prompts=None if prompts is None else prompts[start:stop])
        seconds = time.perf_counter() - started
        print(f"{name}: {stop - start} images in {seconds:.1f} s", flush=True)
        record = {"sampler": sampler, "steps": steps, **settings, "images": stop - start,
                  "seconds_per_1000_images": round(seconds / (stop - start) * 1000, 1)}
        yield name + (f"-{images}img" if images else ""), record, samples
