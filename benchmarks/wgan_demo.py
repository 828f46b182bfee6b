"""The demo budget as a benchmark: train, sample 10k images, record steps, images/s and files.

    python benchmarks/wgan_demo.py                       # the demo configuration
    python benchmarks/wgan_demo.py --name nc2 --set n_critic=2 --set max_minutes=5

Writes benchmarks/results/wgan_demo_<name>.json and copies the final sample grid to
markdown_img/wgan_demo_<name>.png for the README.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import sys
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from gans_keras.config import make_config, read_overrides  # noqa: E402
from gans_keras.io import write_json  # noqa: E402
from gans_keras.sample import load_generator, sample, write_samples  # noqa: E402
from gans_keras.train import train  # noqa: E402


def parse_setting(text: str) -> tuple[str, object]:
    key, _, value = text.partition("=")
    return key, json.loads(value)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=ROOT / "benchmarks/configs/wgan_fashion_mnist_demo.json")
    parser.add_argument("--set", type=parse_setting, action="append", default=[], metavar="KEY=JSON",
                        help="override one config key, e.g. --set n_critic=2")
    parser.add_argument("--name", default="default", help="name of this variant in results and images")
    parser.add_argument("--out", type=Path, help="run directory (default: runs/bench-wgan-demo-NAME-TIME)")
    parser.add_argument("--num-samples", type=int, default=10_000)
    args = parser.parse_args()

    config = make_config(read_overrides(args.config), dict(args.set))
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    out = args.out or ROOT / "runs" / f"bench-wgan-demo-{args.name}-{stamp}"
    summary = train(config, out)
    images = sample(load_generator(out), args.num_samples, seed=config.seed)
    samples_path, samples_grid = write_samples(images, out / "samples.npz")

    grid = ROOT / "markdown_img" / f"wgan_demo_{args.name}.png"
    shutil.copyfile(out / summary["sample_grid"], grid)
    result = {
        "benchmark": "wgan_demo",
        "name": args.name,
        "command": "python benchmarks/wgan_demo.py " + shlex.join(sys.argv[1:]),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "processor": platform.processor() or platform.machine(),
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
        },
        "config": config.to_dict(),
        **summary,
        "samples": {"npz": str(samples_path), "count": len(images), "grid_in_repo": str(grid.relative_to(ROOT))},
    }
    results = ROOT / "benchmarks" / "results" / f"wgan_demo_{args.name}.json"
    write_json(results, result)
    print(f"wrote {results} and {grid}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
