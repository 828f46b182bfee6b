"""The benchmark results, read one way for benchmarks/tables.py, the READMEs and the notebooks.

`read_scores` finds every results file of a trained run under `benchmarks/results/` itself
(benchmarks/gan_budget.py's runs, and benchmarks/diffusion_samplers.py's re-samplings of them)
and returns one `Score` a set of scored images: the run's model, training minutes and seed, the
sampler, and how many images were scored. `ranking` compares only scores of one image count
(FID's bias depends on it) and averages the seeds of one setting; `leaderboard_table` is the
best setting of each model at a training budget.
"""

from __future__ import annotations

import json
import re
import statistics
from dataclasses import dataclass
from pathlib import Path

BACKBONE = "classifier:fashion_mnist"
RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"
METRICS = ("fid", "is_mean", "kid_mean", "precision", "recall")
# A run's training minutes count as a budget's within this many minutes (a time limit stops after
# the step in flight; a resumed run adds its parts).
BUDGET_TOLERANCE = 1.5


@dataclass(frozen=True)
class Score:
    name: str  # the results file's stem
    model: str
    setting: str  # the run's name without its seed: the seeds of one setting are averaged
    sampler: str | None  # a diffusion run's sampler; None for a GAN
    minutes: float  # training minutes of the run, all its parts
    timed: bool  # whether a time limit stopped the run (not a step count that took so long)
    seed: int
    images: int
    scores: dict
    machine: str


def _machine(record: dict) -> str:
    machine = record.get("machine") or {}
    if not machine.get("cpu_model"):
        return "not recorded"
    return f"{machine['cpu_model']} ({', '.join(machine.get('cpu_flags', []))})"


def _run_name(run: str) -> str:
    """A run directory's results name: runs/bench-NAME-YYYYMMDD-HHMMSS (gan_budget's) or runs/NAME."""
    name = Path(run).name
    return re.sub(r"-\d{8}-\d{6}$", "", name.removeprefix("bench-"))


def read_scores(results: Path = RESULTS) -> list[Score]:
    """Every scored set of images of a trained run in `results`, each once."""
    records = {path.stem: json.loads(path.read_text()) for path in sorted(Path(results).glob("*.json"))}
    runs = {name: record for name, record in records.items() if record.get("benchmark") == "gan_budget"}
    found: dict[tuple, Score] = {}
    for name, record in records.items():
        kind = record.get("benchmark")
        if kind == "gan_budget":
            run = record
        elif kind == "diffusion_samplers" and _run_name(record["run"]) in runs:
            run = runs[_run_name(record["run"])]
        else:
            continue
        minutes = run.get("minutes_total") or run["train_minutes_this_session"]
        seed = run["config"]["seed"]
        setting = re.sub(r"_seed\d+", "", run["name"])
        rows = record.get("samplers") or {None: {BACKBONE: record[BACKBONE]}}
        for sampler, row in rows.items():
            scores = row[BACKBONE]
            sampler = None if sampler is None else re.sub(r"-\d+img$", "", sampler)
            key = (run["name"], sampler, scores["num_samples"])
            found.setdefault(key, Score(name, run["model"], setting, sampler, float(minutes),
                                        run["config"].get("max_minutes") is not None, seed, scores["num_samples"],
                                        scores, _machine(run)))
    return list(found.values())


def at_budget(scores: list[Score], minutes: float, images: int = 10_000) -> list[Score]:
    """The scores of runs a time limit stopped after `minutes` (within BUDGET_TOLERANCE), on `images` images."""
    return [score for score in scores
            if score.timed and abs(score.minutes - minutes) <= BUDGET_TOLERANCE and score.images == images]


def ranking(scores: list[Score]) -> list[dict]:
    """Each model's best setting (and sampler) by mean FID over its seeds, best model first: the
    mean and the population standard deviation of each metric, and the files they came from."""
    counts = {score.images for score in scores}
    if len(counts) > 1:
        raise ValueError(f"scores of {sorted(counts)} images cannot share one ranking: FID depends on the count")
    groups: dict[tuple, list[Score]] = {}
    for score in scores:
        groups.setdefault((score.model, score.setting, score.sampler), []).append(score)
    rows = []
    for (model, setting, sampler), members in groups.items():
        row = {"model": model, "setting": setting, "sampler": sampler, "seeds": sorted(m.seed for m in members),
               "files": sorted({m.name for m in members}), "machine": members[0].machine,
               "images": members[0].images}
        for metric in METRICS:
            values = [m.scores[metric] for m in members]
            row[metric] = (statistics.fmean(values), statistics.pstdev(values))
        rows.append(row)
    best: dict[str, dict] = {}
    for row in sorted(rows, key=lambda row: row["fid"][0]):
        best.setdefault(row["model"], row)
    return list(best.values())


def _cell(metric: str, mean: float, spread: float, seeds: int) -> str:
    digits = 3 if metric in ("precision", "recall") else 2
    return f"{mean:.{digits}f}" + (f" ± {spread:.{digits}f}" if seeds > 1 else "")


def leaderboard_table(results: Path = RESULTS, budgets: tuple[int, ...] = (15, 60), images: int = 10_000) -> str:
    """Markdown: each model's best classifier FID, IS, KID, precision and recall after each budget."""
    lines = ["| budget | model | setting (sampler) | seeds | classifier FID | IS | KID | precision | recall "
             "| machine |", "|---|---|---|---|---|---|---|---|---|---|"]
    scores = read_scores(results)
    for minutes in budgets:
        for row in ranking(at_budget(scores, minutes, images)):
            setting = row["setting"] + (f" ({row['sampler']})" if row["sampler"] else "")
            cells = [_cell(metric, *row[metric], len(row["seeds"])) for metric in METRICS]
            lines.append(f"| {minutes} min | {row['model']} | {setting} | {', '.join(map(str, row['seeds']))} | "
                         + " | ".join(cells) + f" | {row['machine']} |")
    return "\n".join(lines)
