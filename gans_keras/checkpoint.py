"""Training checkpoints: every variable of a model and of its optimisers in one `.npz` file.

A model exposes `optimizers` (a dict name -> optimizer) and `step` (its update counter).
Files are written atomically and only the newest `keep` are kept.
"""

from __future__ import annotations

import hashlib
import re
import sys
import zipfile
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


class UnreadableCheckpointError(ValueError):
    """A checkpoint file that cannot be read (truncated, corrupt, or gone)."""


def load_checkpoint(model: keras.Model, path: str | Path) -> int:
    """Restores every variable saved by `save_checkpoint`; returns the restored step. The whole
    file is read before any variable is assigned, so an unreadable one changes nothing."""
    try:
        with np.load(path, allow_pickle=False) as data:
            saved = {key: data[key] for key in data.files}
    except (OSError, EOFError, zipfile.BadZipFile, ValueError) as error:
        raise UnreadableCheckpointError(f"checkpoint {path} is unreadable ({type(error).__name__}: {error})") \
            from None
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


def load_newest_readable(model: keras.Model, checkpoints: list[Path]) -> int:
    """Restores the newest of `checkpoints` (oldest first) that can be read, saying on stderr
    which were skipped; returns its step."""
    skipped = []
    for path in reversed(checkpoints):
        try:
            step = load_checkpoint(model, path)
        except UnreadableCheckpointError as error:
            skipped.append(str(error))
            continue
        for message in skipped:
            print(f"warning: {message}; resuming from {path.name}", file=sys.stderr)
        return step
    raise UnreadableCheckpointError("no checkpoint can be read: " + "; ".join(skipped))
