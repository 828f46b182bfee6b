"""Prints the Markdown tables of benchmarks/README.md from benchmarks/results/*.json, so the
README's numbers are the files' numbers.

    python benchmarks/tables.py 15min      # or: 25min, ablation, diffusion
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
BACKBONE = "classifier:fashion_mnist"
SCORES = ("fid", "is_mean", "kid_mean", "precision", "recall")


def score_cells(scores: dict) -> list[str]:
    return [f"{scores[key]:.2f}" if key in ("fid", "is_mean", "kid_mean") else f"{scores[key]:.3f}" for key in SCORES]


def runs_table(pattern: str, minutes_key: str) -> str:
    lines = ["| run | steps | minutes | real img/s | images | classifier FID | IS | KID | precision | recall |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for path in sorted(RESULTS.glob(pattern)):
        record = json.loads(path.read_text())
        scores = record[BACKBONE]
        minutes = record.get(minutes_key) or record["train_minutes_this_session"]
        lines.append(f"| {path.stem} | {record['steps']:,} | {minutes} | {record['images_per_second']} | "
                     f"{scores['num_samples']:,} | " + " | ".join(score_cells(scores)) + " |")
    return "\n".join(lines)


def diffusion_table(name: str) -> str:
    record = json.loads((RESULTS / f"{name}.json").read_text())
    lines = ["| sampler | images | seconds / 1000 images | classifier FID | IS | KID | precision | recall |",
             "|---|---|---|---|---|---|---|---|"]
    for key, row in record["samplers"].items():
        lines.append(f"| {key} | {row['images']:,} | {row['seconds_per_1000_images']} | "
                     + " | ".join(score_cells(row[BACKBONE])) + " |")
    return "\n".join(lines)


def main(which: str) -> int:
    tables = {
        "15min": lambda: runs_table("*_15min.json", "minutes_total"),
        "25min": lambda: runs_table("*_25min.json", "minutes_total"),
        "ablation": lambda: runs_table("ablation_*.json", "train_minutes_this_session"),
        "diffusion": lambda: diffusion_table("diffusion_15min"),
    }
    if which not in tables:
        print(f"choose one of {', '.join(tables)}", file=sys.stderr)
        return 2
    print(tables[which]())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else ""))
