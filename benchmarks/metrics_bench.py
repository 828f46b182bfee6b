"""Metric benchmarks on Fashion-MNIST: scores of real data and of a run's samples, and the time
to compute FID on 10k samples with each backbone.

    python benchmarks/metrics_bench.py scores --samples runs/NAME/samples.npz --name wgan_demo_default
    python benchmarks/metrics_bench.py timing [--num 10000]

`scores` writes results/metrics_real_fashion_mnist.json (train 10k against test 10k) and
results/<name>_metrics.json; `timing` writes results/fid_timing.json.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from gans_keras.data import load_arrays  # noqa: E402
from gans_keras.evaluation import evaluate_images  # noqa: E402
from gans_keras.io import write_json  # noqa: E402
from gans_keras.metrics import feature_statistics, frechet_distance_from_statistics  # noqa: E402
from gans_keras.metrics.extractors import InceptionGraph, KerasInception, extract, get_extractor  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
BACKBONE = "classifier:fashion_mnist"


def _record(command: str, **fields) -> dict:
    return {
        "command": command,
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        **fields,
    }


def scores(samples: Path, name: str, num: int) -> None:
    train_images = load_arrays("fashion_mnist", "train")[0][:num]
    real = evaluate_images(train_images, backbone=BACKBONE, num=num)
    write_json(RESULTS / "metrics_real_fashion_mnist.json", _record(
        f"python benchmarks/metrics_bench.py scores --samples {samples} --name {name}",
        what=f"first {num} Fashion-MNIST train images against the first {num} test images",
        **{BACKBONE: real},
    ))
    with np.load(samples) as data:
        images = data["images"]
    generated = evaluate_images(images, backbone=BACKBONE, num=num)
    write_json(RESULTS / f"{name}_metrics.json", _record(
        f"python benchmarks/metrics_bench.py scores --samples {samples} --name {name}",
        what=f"{num} samples of {samples} against the first {num} Fashion-MNIST test images",
        **{BACKBONE: generated},
    ))


def timing(num: int) -> None:
    """Seconds for the features of `num` generated images plus the FID against cached
    reference statistics (computing those once costs another feature pass of the same size)."""
    images = load_arrays("fashion_mnist", "test")[0][:num]
    backbones = {
        BACKBONE: lambda: get_extractor(BACKBONE),
        # Same network and compute as the ImageNet weights, which cannot be fetched offline.
        "keras-inception (random weights)": lambda: KerasInception(weights=None),
    }
    try:
        InceptionGraph()
        backbones["inception"] = InceptionGraph
    except FileNotFoundError as error:
        print(f"inception: not measured ({error})")
    timings = {}
    for label, make in backbones.items():
        extractor = make()
        extract(extractor, images[: extractor.batch_size], verbose=False)  # trace and warm up
        start = time.perf_counter()
        features, _ = extract(extractor, images)
        extracted = time.perf_counter()
        mu, sigma = feature_statistics(features)
        statistics_done = time.perf_counter()
        # Stand-in reference statistics of the same dimension (untimed): the distance costs the same.
        reference = feature_statistics(features[: num // 2])
        math_start = time.perf_counter()
        frechet_distance_from_statistics(mu, sigma, *reference)
        math_seconds = statistics_done - extracted + time.perf_counter() - math_start
        done = extracted + math_seconds
        timings[label] = {
            "feature_dim": int(len(mu)),
            "extract_seconds": round(extracted - start, 1),
            "fid_math_seconds": round(math_seconds, 2),
            "total_seconds": round(done - start, 1),
        }
        print(label, timings[label])
    write_json(RESULTS / "fid_timing.json", _record(
        f"python benchmarks/metrics_bench.py timing --num {num}",
        what=f"FID of {num} generated 28x28 images against cached reference statistics: "
        "features of the images, then statistics and the distance",
        timings=timings,
    ))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    score_parser = commands.add_parser("scores")
    score_parser.add_argument("--samples", type=Path, required=True)
    score_parser.add_argument("--name", required=True)
    score_parser.add_argument("--num", type=int, default=10_000)
    timing_parser = commands.add_parser("timing")
    timing_parser.add_argument("--num", type=int, default=10_000)
    args = parser.parse_args()
    # Reference features are recomputed, not read from a user's cache.
    os.environ["GANS_KERAS_CACHE"] = tempfile.mkdtemp()
    if args.command == "scores":
        scores(args.samples, args.name, args.num)
    else:
        timing(args.num)
    return 0


if __name__ == "__main__":
    sys.exit(main())
