"""Evaluate a run or a samples file: `python -m gans_keras.evaluate --run runs/NAME`.

Computes FID, Inception Score, KID and precision/recall/density/coverage of generated images
against a dataset split (default: the run's dataset, test split), with one feature backbone. A
text-to-image run on fashion_mnist_captions is prompted with its held-out-template captions and
also scored on following them (adherence: class, brightness, width).
Writes metrics.json in the run directory (or beside the samples) and prints a table. With
`--nll`, a diffusion run's negative log-likelihood bound on the split's images instead, in bits
per dimension (Improved DDPM's measure: T network calls per image).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from gans_keras.captions import BUILTIN as BUILTIN_CAPTIONS
from gans_keras.captions import adherence, evaluation_prompts
from gans_keras.cli import HelpFormatter
from gans_keras.evaluation import evaluate_images, format_table
from gans_keras.io import write_json
from gans_keras.metrics.extractors import BACKBONES, INCEPTION_GRAPH_ENV, INCEPTION_GRAPH_FILE
from gans_keras.sample import DIFFUSION_FLAGS, add_best_flag, add_diffusion_flags, load_configured_generator, run_output
from gans_keras.sampling import sample, takes_prompts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m gans_keras.evaluate",
        description=__doc__.splitlines()[0],
        formatter_class=HelpFormatter,
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--run", type=Path, help="run directory: samples its generator.keras")
    source.add_argument("--samples", type=Path, help=".npz with uint8 images under 'images'")
    parser.add_argument("--backbone", default="classifier:fashion_mnist", help=f"one of {', '.join(BACKBONES)}")
    parser.add_argument("--num", type=int, default=10_000,
                        help="generated and real images compared (with --nll: the split's first NUM images scored)")
    parser.add_argument("--nll", action="store_true",
                        help="a diffusion run's negative log-likelihood bound on the split, in bits/dim, instead of "
                             "sample metrics")
    parser.add_argument("--dataset", help="reference dataset (default: the run's, else fashion_mnist)")
    parser.add_argument("--split", default="test", help="reference split")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the latents (and of a diffusion sampler's step noise) when sampling a run")
    parser.add_argument("--inception-graph", help=f"path of {INCEPTION_GRAPH_FILE} (or ${INCEPTION_GRAPH_ENV})")
    parser.add_argument(
        "--out", type=Path,
        help="metrics file (default: metrics.json in the run, metrics_best.json with --best, or beside the samples)"
    )
    add_best_flag(parser)
    add_diffusion_flags(parser)
    args = parser.parse_args(argv)
    try:
        if args.samples and any(getattr(args, name) is not None for name in DIFFUSION_FLAGS):
            raise ValueError("the diffusion sampler flags apply to --run, not to --samples")
        if args.samples and args.best:
            raise ValueError("--best applies to --run, not to --samples")
        if args.nll:
            return nll_main(args)
        prompted, reference_channels = None, None
        if args.run:
            run_config = read_json(args.run / "config.json")
            run_dataset = run_config.get("dataset", "fashion_mnist")
            dataset = args.dataset or run_dataset
            if dataset == run_dataset:
                reference_channels = run_config.get("channels")
            generator = load_configured_generator(args)
            if takes_prompts(generator):
                prompted = text_run_prompts(run_dataset, args.num, args.seed)
                dataset = args.dataset or "fashion_mnist"
            images = sample(generator, args.num, seed=args.seed, prompts=None if prompted is None else prompted[0])
            out = args.out or run_output(args, "metrics.json")
        else:
            if not args.samples.is_file():
                raise FileNotFoundError(f"samples file {args.samples} does not exist")
            images = read_images(args.samples)
            dataset = args.dataset or "fashion_mnist"
            out = args.out or args.samples.with_name("metrics.json")
        existing = read_json(out, ": move it away or pass another --out")
        metrics = evaluate_images(images, dataset, args.split, args.backbone, args.num, args.inception_graph,
                                  reference_channels=reference_channels)
        if prompted is not None:
            metrics["adherence"] = adherence(images, *prompted[1:])
        write_json(out, {**existing, args.backbone: metrics})
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"error: cannot write {error.filename}: {error.strerror}", file=sys.stderr)
        return 2
    print(format_table(metrics))
    print(f"wrote {out}")
    return 0


def read_json(path: Path, remedy: str = "") -> dict:
    """A JSON file's object; {} when there is none (a run directory holding only a generator, a
    first evaluation); a ValueError naming the file when it is not JSON."""
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not valid JSON ({error}){remedy}") from None


def read_images(path: Path) -> np.ndarray:
    """The `images` array of a samples file; never unpickles (an object array is refused)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            if "images" not in data.files:
                raise ValueError(f"{path} has no 'images' array (found {data.files})")
            return data["images"]
    except ValueError as error:
        if "allow_pickle" not in str(error):
            raise
        raise ValueError(f"{path}'s images are an object array, which would need unpickling: refused (save "
                         f"them as a numeric array, uint8 (N, H, W, C))") from None


def text_run_prompts(dataset: str, num: int, seed: int) -> tuple[list[str], np.ndarray, np.ndarray]:
    """A text run's evaluation prompts: fashion_mnist_captions' held-out templates, whose
    adherence can be measured on the samples."""
    if dataset != BUILTIN_CAPTIONS:
        raise ValueError(f"evaluate prompts a text model with {BUILTIN_CAPTIONS}' held-out captions; for {dataset}, "
                         "sample it with `gans_keras.sample --prompts FILE` and evaluate --samples")
    return evaluation_prompts(num, seed)


def nll_main(args: argparse.Namespace) -> int:
    from gans_keras.data import load_arrays
    from gans_keras.likelihood import sampler_nll
    from gans_keras.samplers.loop import DiffusionSampler

    if args.run is None:
        raise ValueError("--nll scores a diffusion run's model: give --run")
    if args.num < 1:
        raise ValueError(f"--num must be >= 1, got {args.num}")
    sampler = load_configured_generator(args)
    if not isinstance(sampler, DiffusionSampler):
        raise ValueError(f"{args.run} is not a diffusion run: --nll needs one")
    dataset = args.dataset or read_json(args.run / "config.json").get("dataset", "fashion_mnist")
    images, labels = load_arrays(dataset, args.split)
    images, labels = images[:args.num], labels[:args.num]
    out = args.out or run_output(args, "metrics.json")
    existing = read_json(out, ": move it away or pass another --out")
    result = sampler_nll(sampler, images, labels if sampler.num_classes is not None else None, seed=args.seed)
    write_json(out, {**existing, "nll": {"dataset": dataset, "split": args.split, **result}})
    print(f"NLL {result['bits_per_dim']:.4f} +- {result['standard_error']:.4f} bits/dim on {result['images']:,} "
          f"{dataset} {args.split} images (prior term {result['prior_bits_per_dim']:.2e})")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
