"""Scores samplers of a trained diffusion run: seconds per 1000 images and classifier scores.

    python benchmarks/diffusion_samplers.py --run runs/bench-diffusion_60min-... --name diffusion_60min_guidance \
        --samplers ddim:50:1000:guidance=0.25,ddim:50:1000:guidance=0.5,ddim:50:1000:guidance=1.0

Each sampler is SAMPLER:STEPS[:IMAGES][:KEY=VALUE...] as in gan_budget.py (KEY: eta, guidance,
spacing, clip_x0, guidance_sigma_min, guidance_sigma_max; the run's own setting otherwise).
Latents and labels come from the run's seed, so every sampler starts from the same points as the
run's own gan_budget.py scores; a text-to-image run's prompts are gan_budget.py's held-out-template
prompts, and its scores add the adherence to them. Writes benchmarks/results/<name>.json (or --out).

Sampling and scoring can run on two machines: --generate-only DIR samples and times without
TensorFlow (any Keras backend, e.g. KERAS_BACKEND=jax on a GPU) and writes DIR/<sampler>.npz and
DIR/timings.json; --from-samples DIR then scores those images here, each with the machine and
command that made it (with --samplers too, it also samples and scores those here):

    KERAS_BACKEND=jax python benchmarks/diffusion_samplers.py --run RUN --samplers ddpm:1000 --generate-only gpu/
    python benchmarks/diffusion_samplers.py --run RUN --name NAME --from-samples gpu/ [--samplers ddim:50]

A slow sampler can be split over processes sharing one GPU (the host side of sampling is what
bounds it there): --part K/N makes the K-th of N runs of whole batches, with the latents and step
noise of one process making them all, and --from-samples joins the N directories in part order;
the joined seconds are the slowest part's over all the images (the parts run at the same time):

    for k in 0 1 2 3; do KERAS_BACKEND=jax python benchmarks/diffusion_samplers.py --run RUN \
        --samplers ddpm:1000:10000 --generate-only gpu/part$k --part $k/4 & done; wait
    python benchmarks/diffusion_samplers.py --run RUN --name NAME --from-samples gpu/part{0,1,2,3}
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from sampler_specs import ROOT, command_line, machine, parse_samplers, timed_samples  # puts ROOT on sys.path

from gans_keras.captions import evaluation_prompts
from gans_keras.config import make_config, read_overrides
from gans_keras.io import atomic_path, write_json
from gans_keras.presets import get_preset
from gans_keras.sampling import load_generator


def parse_part(text: str) -> tuple[int, int]:
    """"2/4" -> (2, 4): the third of four parts."""
    index, _, parts = text.partition("/")
    if not (index.isdigit() and parts.isdigit() and int(index) < int(parts)):
        raise argparse.ArgumentTypeError(f"{text!r} is not K/N with 0 <= K < N")
    return int(index), int(parts)


def generate(generator, args, config, prompted=None) -> None:
    """Samples and times each sampler; writes the uint8 images (and labels) and the timings."""
    args.generate_only.mkdir(parents=True, exist_ok=True)
    made = {"command": command_line(), "run": str(args.run), "machine": machine(), "part": list(args.part),
            "samplers": {}}
    prompts = None if prompted is None else prompted[0]
    for key, record, samples in timed_samples(generator, args.samplers, args.num_samples, config, args.part,
                                              prompts):
        with atomic_path(args.generate_only / f"{key}.npz") as tmp, open(tmp, "wb") as f:
            np.savez_compressed(f, images=samples)
        made["samplers"][key] = record
        # Rewritten after every sampler, so a run stopped part-way keeps what it finished.
        write_json(args.generate_only / "timings.json", made)


def joined_samples(samples_dirs: list[Path]) -> dict[str, tuple[dict, np.ndarray]]:
    """Per sampler key: its record (with `sampled_by`) and its images, joined over the parts that
    --part wrote to `samples_dirs`; the joined seconds are the slowest part's over all the images."""
    made = sorted((json.loads((path / "timings.json").read_text()) | {"dir": path} for path in samples_dirs),
                  key=lambda found: found.get("part", [0, 1]))
    parts = [tuple(found.get("part", [0, 1])) for found in made]
    if parts != [(index, len(made)) for index in range(len(made))]:
        raise ValueError(f"{', '.join(map(str, samples_dirs))} hold parts {parts}: give each of the N parts once")
    keys = set(made[0]["samplers"])
    if any(set(found["samplers"]) != keys for found in made):
        raise ValueError("the parts did not all finish the same samplers: "
                         + "; ".join(f"{found['dir']}: {', '.join(found['samplers'])}" for found in made))
    joined = {}
    for key in made[0]["samplers"]:
        records = [found["samplers"][key] for found in made]
        images = np.concatenate([np.load(found["dir"] / f"{key}.npz")["images"] for found in made])
        slowest = max(record["seconds_per_1000_images"] * record["images"] / 1000 for record in records)
        commands = [found["command"] for found in made]
        record = {**records[0], "images": len(images),
                  "seconds_per_1000_images": round(slowest / len(images) * 1000, 1),
                  "sampled_by": {"command": commands[0] if len(made) == 1 else commands,
                                 "machine": made[0]["machine"]}}
        joined[key] = (record | ({"parts": len(made)} if len(made) > 1 else {}), images)
    return joined


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
    mode.add_argument("--from-samples", type=Path, nargs="+", metavar="DIR",
                      help="also score the images that --generate-only wrote to DIR (on another machine, say), "
                           "or joined from the directories of its N --part runs")
    parser.add_argument("--part", type=parse_part, default=(0, 1), metavar="K/N",
                        help="with --generate-only: make only the K-th (from 0) of N runs of whole batches of "
                             "each sampler's images, for N processes sharing the work (default 0/1: all)")
    parser.add_argument("--seed", type=int, help="draw the latents, labels and step noise from this seed instead "
                        "of the run's, for another sample of the same sampler")
    args = parser.parse_args()
    if args.samplers is None and args.from_samples is None:
        parser.error("give --samplers, --from-samples or both")
    if args.part != (0, 1) and not args.generate_only:
        parser.error("--part goes with --generate-only")
    if args.seed is not None and args.from_samples and not args.samplers:
        parser.error("--seed draws new images, and --from-samples alone samples none: "
                     "the saved images keep the seed they were made with")
    if (args.name is None) != (args.generate_only is not None):
        parser.error("--name is needed, except with --generate-only, which writes no results file")

    config = make_config(read_overrides(args.run / "config.json"), {} if args.seed is None else {"seed": args.seed})
    if get_preset(config.model).kind != "diffusion":
        parser.error(f"{args.run} is a {config.model} run, not a diffusion run")
    prompted = None
    if get_preset(config.model).text:
        largest = max([args.num_samples] + [images or 0 for _, _, images, _ in args.samplers or []])
        prompted = evaluation_prompts(largest, config.seed)
    if args.generate_only:
        generate(load_generator(args.run), args, config, prompted)
        print(f"wrote {args.generate_only}")
        return 0

    from gan_budget import BACKBONE, provenance, score_samplers, with_scores

    # Images made elsewhere (one directory, or the parts of one job), with the timings, machine
    # and command recorded beside them.
    saved = joined_samples(args.from_samples) if args.from_samples else {}
    samplers = {key: with_scores(record, images, config, prompted) for key, (record, images) in saved.items()}
    if args.samplers:
        scored = score_samplers(load_generator(args.run), args.samplers, args.num_samples, config, prompted)
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
