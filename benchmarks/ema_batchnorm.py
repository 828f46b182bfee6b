"""Scores a GAN run's EMA generator with its own BatchNorm statistics against the same averaged
weights with the live generator's statistics (what training copied until 2026-11-25), and the
live generator, all from the run's newest checkpoint and on the same latents. A generator
without BatchNorm (r3gan) has no statistics to copy, so it gets the first two rows only.

    python benchmarks/ema_batchnorm.py --run runs/bench-ablation_dcgan_ema-... --name ema_batchnorm_dcgan

Writes benchmarks/results/<name>.json (or --out).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gan_budget import BACKBONE, ROOT, provenance  # puts ROOT on sys.path

from gans_keras.checkpoint import list_checkpoints, load_checkpoint
from gans_keras.config import make_config, read_overrides
from gans_keras.evaluation import evaluate_images
from gans_keras.io import write_json
from gans_keras.models.registry import get_model
from gans_keras.presets import get_preset
from gans_keras.sampling import load_generator, sample


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, required=True, help="a GAN run trained with --ema-decay > 0")
    parser.add_argument("--name", required=True, help="name of the results file")
    parser.add_argument("--num", type=int, default=10_000, help="images scored for each generator")
    parser.add_argument("--out", type=Path, help="results file (default: benchmarks/results/NAME.json)")
    args = parser.parse_args()

    config = make_config(read_overrides(args.run / "config.json"), {})
    if not config.ema_decay or get_preset(config.model).kind == "diffusion":
        parser.error(f"{args.run} is not a GAN run with an EMA generator")
    checkpoint = list_checkpoints(args.run / "checkpoints")[-1]
    _, size, _, channels = load_generator(args.run).output_shape
    model = get_model(config, size, channels)
    step = load_checkpoint(model, checkpoint)

    def score(generator) -> dict:
        return evaluate_images(sample(generator, args.num, seed=config.seed), config.dataset, backbone=BACKBONE,
                               num=args.num)

    generators = {"ema_own_statistics": score(model.ema_generator), "live": score(model.generator)}
    if model.generator.non_trainable_variables:
        for average, live in zip(model.ema_generator.non_trainable_variables,
                                 model.generator.non_trainable_variables, strict=True):
            average.assign(live)
        generators["ema_live_statistics"] = score(model.ema_generator)
    result = {**provenance("ema_batchnorm", args.name), "run": str(args.run), "checkpoint": checkpoint.name,
              "step": step, "generators": generators}
    path = args.out or ROOT / "benchmarks" / "results" / f"{args.name}.json"
    write_json(path, result)
    print(f"wrote {path}")
    for name, scores in generators.items():
        print(f"{name:20s} FID {scores['fid']:.2f}  precision {scores['precision']:.3f}  recall {scores['recall']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
