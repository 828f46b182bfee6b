"""Sample a trained run: `python -m gans_keras.sample --run runs/NAME --num 10000 --out samples.npz`.

Writes uint8 images [N, H, W, C] under the key `images` (and `labels` for conditional models)
and a PNG grid beside it (one row per class for conditional models). A text-to-image run samples
from prompts (`--prompt "a dark ankle boot" --prompt ...` or `--prompts FILE`, one a line; `--num`
images shared evenly between them, stored as `prompts`), a grid row under each. Diffusion runs also take
the sampler settings (`--sampler ddim --sampling-steps 50 --eta 0 --guidance 2`) and can write
the per-step statistics of x_t and the predicted x_0 (`--stats stats.json`, with a plot).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from gans_keras.cli import HelpFormatter
from gans_keras.flags import flag_name
from gans_keras.io import WRITE_ERRORS, check_writable, write_json
from gans_keras.samplers.loop import DiffusionSampler, plot_sampling_stats
from gans_keras.samplers.options import CONFIG_NAMES, add_flags, given_settings
from gans_keras.sampling import (
    balanced_labels,
    generator_classes,
    load_generator,
    sample,
    takes_prompts,
    write_samples,
)

DIFFUSION_FLAGS = CONFIG_NAMES


def add_diffusion_flags(parser: argparse.ArgumentParser) -> argparse._ArgumentGroup:
    diffusion = parser.add_argument_group("diffusion runs (default: the run's training settings)")
    add_flags(diffusion)
    return diffusion


def add_best_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--best", action="store_true",
                        help="use the run's generator_best.keras (the generator with the lowest FID, kept by "
                             "training with --eval-every) instead of generator.keras")


def run_output(args: argparse.Namespace, name: str) -> Path:
    """RUN/NAME, or RUN/NAME_best with --best: the best generator's outputs do not replace the final one's."""
    path = args.run / name
    return path.with_stem(f"{path.stem}_best") if args.best else path


def load_configured_generator(args: argparse.Namespace, extra_flags: tuple[str, ...] = ()):
    """The run's generator (with --best, the kept best one); a diffusion run's sampler set to
    the flags given. Diffusion flags on a GAN run are an error."""
    generator = load_generator(args.run, best=args.best)
    given = [name for name in DIFFUSION_FLAGS + extra_flags if getattr(args, name) is not None]
    if isinstance(generator, DiffusionSampler):
        generator.configure(**given_settings(args))
    elif given:
        raise ValueError(f"{args.run} is not a diffusion run: {flag_name(given[0])} does not apply")
    return generator


def read_prompts(args: argparse.Namespace) -> list[str] | None:
    """The prompts of --prompt and --prompts FILE, in that order; None when neither is given."""
    prompts = list(args.prompts or [])
    if args.prompts_file is not None:
        if not args.prompts_file.is_file():
            raise FileNotFoundError(f"prompts file {args.prompts_file} does not exist")
        prompts += [line.strip() for line in args.prompts_file.read_text().splitlines() if line.strip()]
        if not prompts:
            raise ValueError(f"prompts file {args.prompts_file} holds no prompt")
    if any(not prompt.strip() for prompt in prompts):
        raise ValueError("a prompt is empty: give some text (guidance already uses the empty caption)")
    return prompts or None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m gans_keras.sample",
        description=__doc__.splitlines()[0],
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--run", type=Path, required=True, help="run directory holding generator.keras")
    parser.add_argument("--num", type=int, default=10_000, help="number of images")
    parser.add_argument(
        "--out", type=Path,
        help="output .npz (default: RUN/samples.npz, with --best RUN/samples_best.npz); the grid goes beside it as .png"
    )
    add_best_flag(parser)
    parser.add_argument("--overwrite", action="store_true", help="replace the output file if it exists")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the latent vectors (and of a diffusion sampler's step noise)")
    parser.add_argument("--batch-size", type=int, default=500, help="images per generator call")
    parser.add_argument(
        "--class", dest="label", type=int, help="conditional models: only this class (default: all, balanced)"
    )
    parser.add_argument("--prompt", dest="prompts", action="append",
                        help="text-to-image runs: a prompt (repeat the flag for several)")
    parser.add_argument("--prompts", dest="prompts_file", type=Path,
                        help="text-to-image runs: a file of prompts, one a line")
    diffusion = add_diffusion_flags(parser)
    diffusion.add_argument("--stats", type=Path, help="write per-step min/max/std of x_t and x_0 of the last "
                           "batch to this .json, and a plot beside it (.png)")
    args = parser.parse_args(argv)
    out = args.out or run_output(args, "samples.npz")
    try:
        prompts = read_prompts(args)
        generator = load_configured_generator(args, extra_flags=("stats",))
        check_output(out, args.overwrite)
        classes = generator_classes(generator)
        labels = None
        if prompts is not None and not takes_prompts(generator):
            raise ValueError(f"{args.run} is not a text-to-image run: --prompt does not apply")
        if takes_prompts(generator):
            if prompts is None:
                raise ValueError(f"{args.run} is a text-to-image run: give --prompt TEXT or --prompts FILE")
            if args.label is not None:
                raise ValueError("--class does not apply to a text-to-image run: describe the class in the prompt")
            prompts = [prompts[i] for i in balanced_labels(args.num, len(prompts))]
        elif args.label is not None:
            if classes is None:
                raise ValueError(f"{args.run} is unconditional: --class does not apply")
            if not 0 <= args.label < classes:
                raise ValueError(f"--class {args.label} is not one of {args.run}'s classes, 0..{classes - 1}")
            labels = np.full(args.num, args.label)
        elif classes is not None:
            labels = balanced_labels(args.num, classes)
        images = sample(generator, args.num, args.seed, args.batch_size, labels=labels, prompts=prompts)
        out, grid = write_samples(images, out, labels, prompts)
        print(f"wrote {len(images)} images {images.shape[1:]} to {out} and a grid to {grid}")
        if args.stats is not None:
            write_json(args.stats, {key: value.tolist() for key, value in generator.stats.items()})
            plot_sampling_stats(generator.stats, args.stats.with_suffix(".png"))
            print(f"wrote sampling statistics to {args.stats} and {args.stats.with_suffix('.png')}")
    except (ValueError, FileNotFoundError, FileExistsError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        if error.errno not in WRITE_ERRORS:
            raise
        print(f"error: cannot write {error.filename}: {error.strerror}", file=sys.stderr)
        return 2
    return 0


def check_output(out: Path, overwrite: bool) -> None:
    """Refuses, before any sampling, an output that is no .npz, exists (without --overwrite) or
    lies where nothing can be written."""
    if out.suffix != ".npz":
        raise ValueError(f"--out {out} must end in .npz")
    if out.is_dir():
        raise FileExistsError(f"--out {out} is a directory: name a .npz file")
    if out.exists() and not overwrite:
        raise FileExistsError(f"{out} exists: pass --overwrite to replace it, or another --out")
    check_writable(out.parent)


if __name__ == "__main__":
    sys.exit(main())
