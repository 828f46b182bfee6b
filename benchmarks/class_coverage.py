"""How many of each benchmark run's samples the shipped classifier assigns to each class: the
check that a model's samples cover all ten Fashion-MNIST classes.

    python benchmarks/class_coverage.py results/dcgan_15min.json results/cgan_15min.json ...

Reads each results file's samples.npz (run directories are not in the repository, so this runs
where the benchmarks ran) and writes benchmarks/results/class_coverage.json.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from gans_keras.evaluation import predicted_class_counts  # noqa: E402
from gans_keras.io import write_json  # noqa: E402
from gans_keras.metrics.extractors import extract, get_extractor  # noqa: E402

BACKBONE = "classifier:fashion_mnist"
MIN_SHARE = 0.02  # a class "covered" has at least 2% of the samples (uniform: 10%)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="+", type=Path, help="results files (relative to benchmarks/ or absolute)")
    args = parser.parse_args()
    extractor = get_extractor(BACKBONE)
    out = ROOT / "benchmarks" / "results" / "class_coverage.json"
    coverage = json.loads(out.read_text())["runs"] if out.exists() else {}
    for path in args.results:
        path = path if path.is_absolute() or path.exists() else ROOT / "benchmarks" / path
        record = json.loads(path.read_text())
        with np.load(record["samples"]["npz"]) as data:
            images = data["images"][:10_000]
        _, logits = extract(extractor, images, verbose=False)
        counts = predicted_class_counts(logits)
        shares = counts / counts.sum()
        coverage[path.stem] = {
            "images": int(counts.sum()),
            "predicted_class_counts": counts.tolist(),
            "min_share": round(float(shares.min()), 4),
            "classes_below_min_share": np.flatnonzero(shares < MIN_SHARE).tolist(),
        }
        print(f"{path.stem:<28} min share {shares.min():.3f}  counts {counts.tolist()}")
    write_json(out, {
        "command": "python benchmarks/class_coverage.py " + shlex.join(sys.argv[1:]),
        "backbone": BACKBONE,
        "min_share": MIN_SHARE,
        "runs": coverage,
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())
