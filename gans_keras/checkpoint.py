"""Training checkpoints: every variable of a model and of its optimisers in one `.npz` file.

A model exposes `optimizers` (a dict name -> optimizer) and `step` (its update counter).
Files are written atomically and only the newest `keep` are kept.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import keras
import numpy as np

from gans_keras.io import atomic_path

PATTERN = re.compile(r"^ckpt-(\d+)\.npz$")


def _state(model: keras.Model) -> dict[str, list]:
    groups = {"model": list(model.variables)}
    for name, optimizer in model.optimizers.items():
        groups[name] = list(optimizer.variables)
    return groups


def current_step(model: keras.Model) -> int:
    """The model's update counter as an int (under a strategy, a mirrored variable without `__int__`)."""
    return int(keras.ops.convert_to_numpy(model.step))


def weights_fingerprint(model: keras.Model) -> str:
    """SHA-256 of every model variable's bytes: equal exactly when two runs (or two workers of one
    run) end with bitwise-identical weights."""
    digest = hashlib.sha256()
    for variable in model.variables:
        digest.update(np.ascontiguousarray(keras.ops.convert_to_numpy(variable)).tobytes())
    return digest.hexdigest()


def list_checkpoints(directory: str | Path) -> list[Path]:
    """Checkpoints in `directory`, oldest first."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in directory.iterdir() if (m := PATTERN.match(p.name))]
    return [path for _, path in sorted(found)]


def save_checkpoint(model: keras.Model, directory: str | Path, keep: int = 3) -> Path:
    """Writes `ckpt-<step>.npz` and deletes all but the newest `keep` checkpoints."""
    step = current_step(model)
    arrays = {}
    for group, variables in _state(model).items():
        for i, variable in enumerate(variables):
            arrays[f"{group}/{i:05d}/{variable.path}"] = keras.ops.convert_to_numpy(variable)
    path = Path(directory) / f"ckpt-{step:08d}.npz"
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, **arrays)
    for old in list_checkpoints(directory)[:-keep]:
        old.unlink()
    return path


def load_checkpoint(model: keras.Model, path: str | Path) -> int:
    """Restores every variable saved by `save_checkpoint`; returns the restored step."""
    with np.load(path) as data:
        saved = {key: data[key] for key in data.files}
    for group, variables in _state(model).items():
        keys = sorted(key for key in saved if key.startswith(f"{group}/"))
        if len(keys) != len(variables):
            raise ValueError(
                f"checkpoint {path} does not fit this model: {group} has {len(keys)} saved "
                f"variables, the model {len(variables)} (was the configuration changed?)"
            )
        for key, variable in zip(keys, variables, strict=True):
            if saved[key].shape != tuple(variable.shape):
                raise ValueError(
                    f"checkpoint {path} does not fit this model: {key} has shape "
                    f"{saved[key].shape}, the model's {variable.path} {tuple(variable.shape)}"
                )
            variable.assign(saved[key])
    return current_step(model)
