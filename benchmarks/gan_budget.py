"""A GAN or diffusion model trained for a fixed wall-clock budget: train, sample 10k images,
score them with the shipped Fashion-MNIST classifier, record steps, images/s, scores and files.

    python benchmarks/gan_budget.py --name wgan_demo_default      # the `make demo` configuration
    python benchmarks/gan_budget.py --config benchmarks/configs/dcgan_fashion_mnist_15min.json --name dcgan_15min
    python benchmarks/gan_budget.py --name wgan_tune --set n_critic=2 --set max_minutes=5
    python benchmarks/gan_budget.py --continue-from runs/bench-dcgan_15min-... --set max_minutes=15 --name dcgan_30min

--continue-from copies a finished run and resumes the copy for `max_minutes` more, so a longer
budget reuses the shorter run's minutes; `minutes_total` in the results adds them up.

Diffusion runs score each sampler of --samplers SAMPLER:STEPS[:IMAGES][:KEY=VALUE...],... (the
first is the headline, its images go to samples.npz) and time it; KEY is one of eta, guidance,
spacing, clip_x0, guidance_sigma_min, guidance_sigma_max, otherwise the run's setting:

    python benchmarks/gan_budget.py --config benchmarks/configs/diffusion_fashion_mnist_15min.json \
        --name diffusion_15min --samplers ddim:50,ddim:10,ddim:20,ddim:100,ddpm:1000:100,ddim:50:100

A text-to-image run (text_diffusion on fashion_mnist_captions) samples image i from the i-th of
10,000 held-out-template prompts (classes balanced, attributes drawn with the run's seed), is
scored against Fashion-MNIST's test images, and adds each sampler's prompt adherence (the
prompted class by the shipped classifier, brightness and width by measurement).

A run trained with --set eval_every=N also scores the generator with the lowest --eval-every FID
(generator_best.keras) on as many images, recorded under `best_generator` with its step.

--nll N adds a diffusion run's negative log-likelihood bound on the first N test images, in
bits/dim (`python -m gans_keras.evaluate --nll`), as Improved DDPM compares models:

    python benchmarks/gan_budget.py --config benchmarks/configs/diffusion_fashion_mnist_15min.json \
        --set learn_sigma=true --set 'loss_type="hybrid"' --name iddpm_hybrid --samplers ddpm:50 --nll 100

Writes benchmarks/results/<name>.json and copies the final sample grid to
markdown_img/<name>.png. (Until the metrics existed this script was benchmarks/wgan_demo.py,
which wrote results/wgan_demo_<name>.json without scores.)
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sampler_specs import code_version, command_line, machine, parse_samplers, parse_setting, timed_samples  # noqa: E402

from gans_keras.captions import BUILTIN as BUILTIN_CAPTIONS  # noqa: E402
from gans_keras.captions import adherence, evaluation_prompts  # noqa: E402
from gans_keras.config import check_applicable, make_config, read_overrides  # noqa: E402
from gans_keras.data import load_arrays  # noqa: E402
from gans_keras.evaluation import evaluate_images  # noqa: E402
from gans_keras.io import write_json  # noqa: E402
from gans_keras.likelihood import sampler_nll  # noqa: E402
from gans_keras.presets import get_preset  # noqa: E402
from gans_keras.sampling import BEST_GENERATOR_FILE, load_generator, sample, write_samples  # noqa: E402
from gans_keras.training import train  # noqa: E402

BACKBONE = "classifier:fashion_mnist"


def with_scores(record: dict, images, config, prompted=None) -> dict:
    """A sampler's record with the classifier scores of its images added, and for a text model
    (`prompted`: the prompts, labels and attribute classes) the adherence to its prompts."""
    reference = "fashion_mnist" if config.dataset == BUILTIN_CAPTIONS else config.dataset
    scores = evaluate_images(images, reference, backbone=BACKBONE, num=len(images))
    if prompted is not None:
        _, labels, attribute_classes = prompted
        scores["adherence"] = adherence(images, labels[:len(images)], attribute_classes[:len(images)])
    return {**record, BACKBONE: scores}


def score_samplers(generator, specs, num_samples: int, config, prompted=None) -> dict:
    """Per sampler (see sampler_specs.timed_samples): settings, seconds per 1000 images, images
    and classifier scores."""
    prompts = None if prompted is None else prompted[0]
    return {key: {**with_scores(record, samples, config, prompted), "samples": samples}
            for key, record, samples in timed_samples(generator, specs, num_samples, config, prompts=prompts)}


def provenance(benchmark: str, name: str) -> dict:
    """What every results file opens with: which benchmark, the exact command, when, on what."""
    return {
        "benchmark": benchmark,
        "name": name,
        "command": command_line(),
        "commit": code_version(),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] + " " + __doc__.splitlines()[1])
    parser.add_argument("--config", type=Path, default=ROOT / "benchmarks/configs/wgan_fashion_mnist_demo.json")
    parser.add_argument("--set", type=parse_setting, action="append", default=[], metavar="KEY=JSON",
                        help="override one config key, e.g. --set n_critic=2")
    parser.add_argument("--name", required=True, help="name of the results file and image")
    parser.add_argument("--out", type=Path, help="run directory (default: runs/bench-NAME-TIME)")
    parser.add_argument("--num-samples", type=int, default=10_000)
    parser.add_argument("--continue-from", type=Path, metavar="RUN",
                        help="copy this finished run (its config.json replaces --config) and train the copy further")
    parser.add_argument("--samplers", type=parse_samplers, metavar="SAMPLER:STEPS[:IMAGES][:KEY=VALUE...],...",
                        help="diffusion runs: score each sampler (IMAGES: fewer than --num-samples, for slow ones)")
    parser.add_argument("--nll", type=int, default=0, metavar="N",
                        help="diffusion runs: the likelihood bound on the first N test images, bits/dim (0: none)")
    args = parser.parse_args()

    base = args.continue_from / "config.json" if args.continue_from else args.config
    config = make_config(read_overrides(base), dict(args.set))
    if not args.continue_from:  # a run's own config.json holds every setting
        check_applicable({**read_overrides(base), **dict(args.set)}, config.model)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    out = args.out or ROOT / "runs" / f"bench-{args.name}-{stamp}"
    minutes_before = 0.0
    if args.continue_from:
        previous = json.loads((args.continue_from / "summary.json").read_text())
        minutes_before = previous.get("minutes_total", previous["train_minutes_this_session"])
        shutil.copytree(args.continue_from, out)
    summary = train(config, out, resume=args.continue_from is not None)
    summary["minutes_total"] = round(minutes_before + summary["train_minutes_this_session"], 2)
    write_json(out / "summary.json", summary)
    generator = load_generator(out)
    prompted = evaluation_prompts(args.num_samples, config.seed) if get_preset(config.model).text else None
    prompts = None if prompted is None else prompted[0]
    samplers = {}
    if args.samplers:
        samplers = score_samplers(generator, args.samplers, args.num_samples, config, prompted)
        headline = samplers[next(iter(samplers))]
        images, scores = headline["samples"], headline[BACKBONE]
        for record in samplers.values():
            del record["samples"]
    else:
        images = sample(generator, args.num_samples, seed=config.seed, prompts=prompts)
        scores = with_scores({}, images, config, prompted)[BACKBONE]
    samples_path, _ = write_samples(images, out / "samples.npz", prompts=prompts)
    best = {}
    if (out / BEST_GENERATOR_FILE).exists():  # --eval-every kept the generator with the lowest FID
        best_images = sample(load_generator(out, best=True), args.num_samples, seed=config.seed, prompts=prompts)
        best = {"best_generator": {"kept_by": summary["eval"]["best"],
                                   BACKBONE: with_scores({}, best_images, config, prompted)[BACKBONE]}}
    nll = {}
    if args.nll:
        test_images, test_labels = load_arrays(config.dataset, "test")
        labels = test_labels[:args.nll] if generator.num_classes is not None else None  # the preset's classes
        nll = {"nll": {"split": "test", **sampler_nll(generator, test_images[:args.nll], labels, seed=config.seed)}}

    grid = ROOT / "markdown_img" / f"{args.name}.png"
    shutil.copyfile(out / summary["sample_grid"], grid)
    result = {
        **provenance("gan_budget", args.name),
        "config": config.to_dict(),
        **summary,
        "continued_from": str(args.continue_from) if args.continue_from else None,
        "samples": {"npz": str(samples_path), "count": len(images), "grid_in_repo": str(grid.relative_to(ROOT))},
        BACKBONE: scores,
        **({"samplers": samplers} if samplers else {}),
        **best,
        **nll,
    }
    results = ROOT / "benchmarks" / "results" / f"{args.name}.json"
    write_json(results, result)
    print(f"wrote {results} and {grid}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
