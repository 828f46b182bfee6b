"""Scores samplers of a trained diffusion run: seconds per 1000 images and classifier scores.

    python benchmarks/diffusion_samplers.py --run runs/bench-diffusion_60min-... --name diffusion_60min_guidance \
        --samplers ddim:50:1000:guidance=0.25,ddim:50:1000:guidance=0.5,ddim:50:1000:guidance=1.0

Each sampler is SAMPLER:STEPS[:IMAGES][:KEY=VALUE...] as in gan_budget.py (KEY: eta, guidance,
spacing, clip_x0, guidance_sigma_min, guidance_sigma_max; the run's own setting otherwise).
Latents and labels come from the run's seed, so every sampler starts from the same points as the
run's own gan_budget.py scores. Writes benchmarks/results/<name>.json (or --out).

Sampling and scoring can run on two machines: --generate-only DIR samples and times without
TensorFlow (any Keras backend, e.g. KERAS_BACKEND=jax on a GPU) and writes DIR/<sampler>.npz and
DIR/timings.json; --from-samples DIR then scores those images here, each with the machine and
command that made it (with --samplers too, it also samples and scores those here):

    KERAS_BACKEND=jax python benchmarks/diffusion_samplers.py --run RUN --samplers ddpm:1000 --generate-only gpu/
    python benchmarks/diffusion_samplers.py --run RUN --name NAME --from-samples gpu/ [--samplers ddim:50]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from sampler_specs import ROOT, command_line, machine, parse_samplers, timed_samples  # puts ROOT on sys.path

from gans_keras.config import make_config, read_overrides
from gans_keras.io import atomic_path, write_json
from gans_keras.sampling import load_generator


def generate(generator, args, config) -> None:
    """Samples and times each sampler; writes the uint8 images (and labels) and the timings."""
    args.generate_only.mkdir(parents=True, exist_ok=True)
    made = {"command": command_line(), "run": str(args.run), "machine": machine(), "samplers": {}}
    for key, record, samples in timed_samples(generator, args.samplers, args.num_samples, config):
        with atomic_path(args.generate_only / f"{key}.npz") as tmp, open(tmp, "wb") as f:
            np.savez_compressed(f, images=samples)
        made["samplers"][key] = record
        # Rewritten after every sampler, so a run stopped part-way keeps what it finished.
        write_json(args.generate_only / "timings.json", made)


def score_saved(samples_dir: Path, config, backbone: str) -> dict:
    """Classifier scores of the images in `samples_dir`, each with the timings, machine and
    command recorded beside them."""
    from gans_keras.evaluation import evaluate_images

    made = json.loads((samples_dir / "timings.json").read_text())
    samplers = {}
    for key, record in made["samplers"].items():
        images = np.load(samples_dir / f"{key}.npz")["images"]
        samplers[key] = {**record, "sampled_by": {name: made[name] for name in ("command", "machine")},
                         backbone: evaluate_images(images, config.dataset, backbone=backbone, num=len(images))}
    return samplers


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, required=True, help="a trained diffusion run directory")
    parser.add_argument("--name", help="name of the results file (not with --generate-only)")
    parser.add_argument("--samplers", type=parse_samplers, metavar="SAMPLER:STEPS[:IMAGES][:KEY=VALUE...],...",
                        help="the samplers to sample and score (--from-samples alone scores only what it finds)")
    parser.add_argument("--num-samples", type=int, default=1000, help="images for a sampler that names none")
    parser.add_argument("--out", type=Path, help="results file (default: benchmarks/results/NAME.json)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--generate-only", type=Path, metavar="DIR",
                      help="sample and time only, without TensorFlow: write DIR/<sampler>.npz and DIR/timings.json")
    mode.add_argument("--from-samples", type=Path, metavar="DIR",
                      help="also score the images that --generate-only wrote to DIR (on another machine, say)")
    args = parser.parse_args()
    if args.samplers is None and args.from_samples is None:
        parser.error("give --samplers, --from-samples or both")
    if (args.name is None) != (args.generate_only is not None):
        parser.error("--name is needed, except with --generate-only, which writes no results file")

    config = make_config(read_overrides(args.run / "config.json"), {})
    if config.model != "diffusion":
        parser.error(f"{args.run} is a {config.model} run, not a diffusion run")
    if args.generate_only:
        generate(load_generator(args.run), args, config)
        print(f"wrote {args.generate_only}")
        return 0

    from gan_budget import BACKBONE, provenance, score_samplers

    samplers = score_saved(args.from_samples, config, BACKBONE) if args.from_samples else {}
    if args.samplers:
        scored = score_samplers(load_generator(args.run), args.samplers, args.num_samples, config)
        for record in scored.values():
            del record["samples"]
        samplers.update(scored)
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
