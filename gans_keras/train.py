"""Train a model: `python -m gans_keras.train --model wgan --steps 2000 --out runs/wgan`.

Every training setting is a flag (`--help`); `gans_keras.training.train` does the work.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path

from gans_keras.checkpoint import list_checkpoints
from gans_keras.config import (
    EVERY_MODEL,
    FIELDS,
    SECTIONS,
    SETTINGS,
    TrainConfig,
    applies_text,
    check_applicable,
    default_text,
    make_config,
    read_overrides,
)
from gans_keras.flags import flag_name, flag_options
from gans_keras.io import WRITE_ERRORS
from gans_keras.training import WorkerLostError, train
from gans_keras.warm_start import grown_config

# The exit status of a run stopped by a signal, after writing its checkpoint (the shells' 128 + signal).
SIGNAL_EXIT = {"SIGINT": 130, "SIGTERM": 143}
# Flags that may differ from the saved config when resuming a run.
RESUMABLE_CHANGES = ("steps", "max_minutes", "strategy", "cpu_replicas", "checkpoint_minutes")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m gans_keras.train",
        description="Train a GAN or a diffusion model. Settings come from the model's defaults, then --config, "
        "then flags.",
    )
    parser.add_argument("--out", type=Path, help="run directory (default: runs/MODEL-DATASET-TIME)")
    parser.add_argument("--resume", nargs="?", const="yes", choices=("yes", "auto"),
                        help="continue the run in --out from its newest readable checkpoint; --resume auto continues "
                        "it if it has checkpoints and starts it otherwise, so a scheduler can re-issue one command "
                        "after a crash or preemption")
    parser.add_argument("--config", type=Path, help="JSON file of overrides (keys as the flags, with _)")
    for section in SECTIONS:
        arguments = parser.add_argument_group(section.name, section.title)
        for setting in SETTINGS:
            if setting.metadata["section"] != section:
                continue
            applies = "" if setting.metadata["applies_to"] == EVERY_MODEL else f"{applies_text(setting)}; "
            help_text = f"{setting.metadata['help']} [{applies}default: {default_text(setting)}, or the model's preset]"
            arguments.add_argument(flag_name(setting.name), *setting.metadata["aliases"], dest=setting.name,
                                   default=None, help=help_text, choices=setting.metadata["choices"],
                                   **flag_options(setting, setting.metadata["parse"]))
    return parser


def resumes(args: argparse.Namespace) -> bool:
    """Whether this command continues a run: --resume, or --resume auto on a run with checkpoints."""
    if args.resume == "auto":
        if args.out is None:
            raise ValueError("--resume auto needs --out, the run directory to continue or start")
        return bool(list_checkpoints(args.out / "checkpoints"))
    return args.resume == "yes"


def config_from_args(args: argparse.Namespace) -> tuple[TrainConfig, Path, bool]:
    """(config, run directory, whether the run is resumed)."""
    flags = {name: getattr(args, name) for name in FIELDS if getattr(args, name) is not None}
    file_overrides = read_overrides(args.config) if args.config else {}
    if not resumes(args):
        requested = {**file_overrides, **flags}
        grow_from = requested.get("grow_from")
        # A grown run keeps the settings of the run it grows (its networks must fit).
        config = grown_config(grow_from, requested) if grow_from else make_config(file_overrides, flags)
        check_applicable({**file_overrides, **flags}, config.model)
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        return config, args.out or Path("runs") / f"{config.model}-{config.dataset.replace(':', '_')}-{stamp}", False
    if args.out is None:
        raise ValueError("--resume needs --out, the run directory to continue")
    saved = json.loads((args.out / "config.json").read_text()) if (args.out / "config.json").exists() else None
    if saved is None:
        raise FileNotFoundError(f"cannot resume: {args.out / 'config.json'} does not exist")
    requested = {**file_overrides, **flags}
    conflicts = [
        f"{flag_name(key)} {value!r} (run has {saved[key]!r})"
        for key, value in requested.items()
        if key not in RESUMABLE_CHANGES and saved.get(key) != value
    ]
    if conflicts:
        raise ValueError("a resumed run keeps its settings; these differ: " + ", ".join(conflicts))
    return make_config(saved, requested), args.out, True


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    out = None
    try:
        config, out, resume = config_from_args(args)
        summary = train(config, out, resume=resume)
    except (ValueError, FileNotFoundError, FileExistsError, FloatingPointError, WorkerLostError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        if error.errno not in WRITE_ERRORS:
            raise
        # Every file is written atomically, so what was there before the failed write is intact.
        last = list_checkpoints(out / "checkpoints") if out else []
        kept = (f"the newest checkpoint, {last[-1]}, is intact: free space or fix permissions, then --resume" if last
                else "no checkpoint was written yet: free space, fix permissions or choose another --out")
        print(f"error: cannot write {error.filename}: {error.strerror}; {kept}", file=sys.stderr)
        return 2
    if summary.get("stopped_by") in SIGNAL_EXIT:
        print(f"stopped by {summary['stopped_by']} at step {summary['steps']} with its checkpoint written: the same "
              f"command with --resume (or --resume auto) continues it", file=sys.stderr)
        return SIGNAL_EXIT[summary["stopped_by"]]
    return 0


if __name__ == "__main__":
    sys.exit(main())
