"""Scores samplers of a trained diffusion run: seconds per 1000 images and classifier scores.

    python benchmarks/diffusion_samplers.py --run runs/bench-diffusion_60min-... --name diffusion_60min_guidance \
        --samplers ddim:50:1000:guidance=0.25,ddim:50:1000:guidance=0.5,ddim:50:1000:guidance=1.0

Each sampler is SAMPLER:STEPS[:IMAGES][:KEY=VALUE...] as in gan_budget.py (KEY: eta, guidance,
spacing, clip_x0, guidance_sigma_min, guidance_sigma_max; the run's own setting otherwise).
Latents and labels come from the run's seed, so every sampler starts from the same points as the
run's own gan_budget.py scores. Writes benchmarks/results/<name>.json (or --out).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gan_budget import BACKBONE, ROOT, parse_samplers, provenance, score_samplers  # puts ROOT on sys.path

from gans_keras.config import make_config, read_overrides
from gans_keras.io import write_json
from gans_keras.sampling import load_generator


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, required=True, help="a trained diffusion run directory")
    parser.add_argument("--name", required=True, help="name of the results file")
    parser.add_argument("--samplers", type=parse_samplers, required=True,
                        metavar="SAMPLER:STEPS[:IMAGES][:KEY=VALUE...],...", help="the samplers to score")
    parser.add_argument("--num-samples", type=int, default=1000, help="images for a sampler that names none")
    parser.add_argument("--out", type=Path, help="results file (default: benchmarks/results/NAME.json)")
    args = parser.parse_args()

    config = make_config(read_overrides(args.run / "config.json"), {})
    if config.model != "diffusion":
        parser.error(f"{args.run} is a {config.model} run, not a diffusion run")
    samplers = score_samplers(load_generator(args.run), args.samplers, args.num_samples, config)
    for record in samplers.values():
        del record["samples"]
    result = {
        **provenance("diffusion_samplers", args.name),
        "run": str(args.run),
        "backbone": BACKBONE,
        "samplers": samplers,
    }
    path = args.out or ROOT / "benchmarks" / "results" / f"{args.name}.json"
    write_json(path, result)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
