"""Scores a GAN run's kept checkpoints along its training: the live generator and, if the run has
one, the EMA generator, at each checkpoint, on the same latents. It shows whether a run drifts
(gets worse with more steps) and whether the EMA of G holds it.

    python benchmarks/checkpoint_scores.py --run runs/RUN --steps 14000,26000,66000 --name NAME

Writes benchmarks/results/<name>.json (or --out), a plot of FID against steps in
markdown_img/<name>.png (or --plot), and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gan_budget import BACKBONE, ROOT, provenance  # puts ROOT on sys.path

from gans_keras.checkpoint import PATTERN, list_checkpoints, load_checkpoint
from gans_keras.config import make_config, read_overrides
from gans_keras.data import load_arrays
from gans_keras.evaluation import evaluate_images
from gans_keras.io import write_json
from gans_keras.models.registry import get_model
from gans_keras.presets import get_preset
from gans_keras.report import fid_over_steps, score_cells
from gans_keras.sampling import sample
from gans_keras.viz import plot_fid_over_steps

# report.METRICS' columns, then coverage: a drifting class mix shows in it.
HEADER = ("classifier FID", "IS", "KID", "precision", "recall", "coverage")


def parse_steps(text: str) -> list[int]:
    try:
        return sorted({int(step) for step in text.split(",")})
    except ValueError:
        raise argparse.ArgumentTypeError(f"--steps takes comma-separated step counts, got {text!r}") from None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] + " " + __doc__.splitlines()[1])
    parser.add_argument("--run", type=Path, required=True, help="a GAN run directory with kept checkpoints")
    parser.add_argument("--steps", type=parse_steps, help="checkpoint steps to score (default: every kept one)")
    parser.add_argument("--name", required=True, help="name of the results file")
    parser.add_argument("--num", type=int, default=10_000, help="images scored for each generator and step")
    parser.add_argument("--out", type=Path, help="results file (default: benchmarks/results/NAME.json)")
    parser.add_argument("--plot", type=Path, help="FID against steps (default: markdown_img/NAME.png)")
    args = parser.parse_args()

    config = make_config(read_overrides(args.run / "config.json"), {})
    if get_preset(config.model).kind != "gan":
        parser.error(f"{args.run} is a {config.model} run, not a GAN run")
    kept = {int(PATTERN.match(path.name).group(1)): path for path in list_checkpoints(args.run / "checkpoints")}
    missing = sorted(set(args.steps or ()) - set(kept))
    if missing or not kept:
        parser.error(f"{args.run} keeps no checkpoint at step(s) {missing or 'any'}; it keeps {sorted(kept)}")
    test_images, _ = load_arrays(config.dataset, "test")
    size = config.image_size or test_images.shape[1]
    model = get_model(config, size, test_images.shape[-1])

    rows = []
    for step in args.steps or sorted(kept):
        load_checkpoint(model, kept[step])
        generators = {"live": model.generator}
        if config.ema_decay:
            generators["ema"] = model.ema_generator
        for name, generator in generators.items():
            scores = evaluate_images(sample(generator, args.num, seed=config.seed), config.dataset,
                                     backbone=BACKBONE, num=args.num)
            rows.append({"step": step, "generator": name, **scores})
            print(f"step {step:>7,} {name:5s} FID {scores['fid']:.2f}", flush=True)
    result = {**provenance("checkpoint_scores", args.name), "run": str(args.run), "images": args.num, "rows": rows}
    path = args.out or ROOT / "benchmarks" / "results" / f"{args.name}.json"
    write_json(path, result)
    plot = args.plot or ROOT / "markdown_img" / f"{args.name}.png"
    plot_fid_over_steps(fid_over_steps(rows), plot, title=f"{config.model}, {args.num:,} images a point")
    print(f"wrote {path} and {plot}\n")
    print("| step | generator | " + " | ".join(HEADER) + " |")
    print("|---|---|" + "---|" * len(HEADER))
    for row in rows:
        cells = [*score_cells(row), f"{row['coverage']:.3f}"]
        print(f"| {row['step']:,} | {row['generator']} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
