"""The benchmark results, read one way for benchmarks/tables.py, the READMEs and the notebooks.

`read_results` reads the results files (`benchmarks/results/*.json`) matching a pattern, and the
table builders at the end turn them into the Markdown tables of benchmarks/README.md.
`read_scores` finds every results file of a trained run itself (benchmarks/gan_budget.py's
runs, and benchmarks/diffusion_samplers.py's re-samplings of them) and returns one `Score` a
set of scored images: the run's model, training minutes and seed, the sampler, and how many
images were scored. `ranking` compares only scores of one image count (FID's bias depends on
it) and averages the seeds of one setting; `leaderboard_table` is the best setting of each
model at a training budget.
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
    seconds_per_1000: float | None = None  # a diffusion sampler's time on the run's machine (None: a GAN, or
    # images made elsewhere)


# Every results file read in this process, and every pattern matched against the results: a
# notebook records the files' digests and the patterns' matches beside its outputs
# (notebooks/make_notebooks.py), so that new numbers in a file it showed, or a new file one of its
# patterns now matches, make it stale.
FILES_READ: set[Path] = set()
PATTERNS_READ: set[Path] = set()  # results directory / pattern


def _read(path: Path) -> dict:
    FILES_READ.add(path.resolve())
    return json.loads(path.read_text())


def read_results(pattern: str = "*.json", results: Path = RESULTS) -> dict[str, dict]:
    """The results files matching `pattern`, by name (the file's stem), in name order."""
    PATTERNS_READ.add(Path(results).resolve() / pattern)
    return {path.stem: _read(path) for path in sorted(Path(results).glob(pattern))}


def read_result(name: str, results: Path = RESULTS) -> dict:
    """One results file, `results/<name>.json`."""
    return _read(Path(results) / f"{name}.json")


def fid_over_steps(rows: list[dict], by: str | None = "generator") -> dict[str, tuple]:
    """Rows with a step and a FID (a `checkpoint_scores` file's rows, a run's --eval-every
    history) as `viz.plot_fid_over_steps` series: (steps, fids), one series per value of `by`
    (the generator: live, ema), or one series "FID" when `by` is None."""
    labels = dict.fromkeys(row[by] for row in rows) if by else ["FID"]
    return {f"{label} generator" if by else label: tuple(zip(*[(row["step"], row["fid"]) for row in rows
                                                              if by is None or row[by] == label], strict=True))
            for label in labels}


# Runs pinned to one of the two cores (`taskset`) beside another run on the other, and the model
# each of a model's runs was paired with: the partner's name is the run's with the rival's.
ONE_CORE = "*_1core*.json"
ONE_CORE_RIVALS = {"sngan": "wgan"}


def one_core_pairs(model: str, results: Path = RESULTS) -> list[tuple[str, dict, str, dict]]:
    """(name, record, partner's name, partner's record) of each one-core run of `model` whose
    partner of the rival model trained beside it, in name order."""
    runs = read_results(ONE_CORE, results)
    rival = ONE_CORE_RIVALS[model]
    pairs = [(name, record, name.replace(f"{model}_", f"{rival}_", 1)) for name, record in runs.items()
             if record["model"] == model]
    return [(name, record, partner, runs[partner]) for name, record, partner in pairs if partner in runs]


def _machine(record: dict) -> str:
    machine = record.get("machine") or {}
    if not machine.get("cpu_model"):
        return "not recorded"
    cores = "" if "cpus" not in machine else f", {machine.get('cpus_used', machine['cpus'])} of {machine['cpus']} cores"
    return f"{machine['cpu_model']} ({', '.join(machine.get('cpu_flags', []))}){cores}"


def _run_name(run: str) -> str:
    """A run directory's results name: runs/bench-NAME-YYYYMMDD-HHMMSS (gan_budget's) or runs/NAME."""
    name = Path(run).name
    return re.sub(r"-\d{8}-\d{6}$", "", name.removeprefix("bench-"))


def read_scores(results: Path = RESULTS) -> list[Score]:
    """Every scored set of images of a trained run in `results`, each once."""
    records = read_results(results=results)
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
            seconds = None if "sampled_by" in row else row.get("seconds_per_1000_images")
            found.setdefault(key, Score(name, run["model"], setting, sampler, float(minutes),
                                        run["config"].get("max_minutes") is not None, seed, scores["num_samples"],
                                        scores, _machine(run), seconds))
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


def best_by_budget(scores: list[Score], budgets: tuple[int, ...] = (15, 25, 60),
                   images: int = 10_000) -> dict[str, list[tuple[int, dict]]]:
    """Each model's best setting (a `ranking` row) after each budget it was trained for, by model:
    the points of its curve of a metric against training minutes, on `images` images."""
    curves: dict[str, list[tuple[int, dict]]] = {}
    for minutes in budgets:
        for row in ranking(at_budget(scores, minutes, images)):
            curves.setdefault(row["model"], []).append((minutes, row))
    return dict(sorted(curves.items()))


def grid_path(name: str, results: Path = RESULTS) -> Path | None:
    """The sample grid a results file's run left in the repository (markdown_img/), if any."""
    samples = read_result(name, results).get("samples")
    grid = samples.get("grid_in_repo") if isinstance(samples, dict) else None
    return None if grid is None else Path(results).parents[1] / grid


def sampler_frontiers(scores: list[Score], least: int = 4) -> dict[tuple[str, int], list[Score]]:
    """The diffusion samplers that one results file timed (one machine, one session) on one image
    count, by (file, images), fastest first, for the speed/quality frontier: only groups of at
    least `least` samplers."""
    groups: dict[tuple[str, int], list[Score]] = {}
    for score in scores:
        if score.seconds_per_1000 is not None:
            groups.setdefault((score.name, score.images), []).append(score)
    return {key: sorted(members, key=lambda score: score.seconds_per_1000)
            for key, members in sorted(groups.items()) if len(members) >= least}


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


# The tables of benchmarks/README.md, one builder per kind of results file.

def score_cells(scores: dict) -> list[str]:
    return [f"{scores[key]:.2f}" if key in ("fid", "is_mean", "kid_mean") else f"{scores[key]:.3f}" for key in METRICS]


def runs_table(pattern: str, minutes_key: str) -> str:
    lines = ["| run | steps | minutes | real img/s | images | classifier FID | IS | KID | precision | recall |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for stem, record in read_results(pattern).items():
        scores = record[BACKBONE]
        minutes = record.get(minutes_key) or record["train_minutes_this_session"]
        lines.append(f"| {stem} | {record['steps']:,} | {minutes} | {record['images_per_second']} | "
                     f"{scores['num_samples']:,} | " + " | ".join(score_cells(scores)) + " |")
    return "\n".join(lines)


def diffusion_table(name: str) -> str:
    record = read_result(name)
    lines = ["| sampler | images | seconds / 1000 images | classifier FID | IS | KID | precision | recall |",
             "|---|---|---|---|---|---|---|---|"]
    for key, row in record["samplers"].items():
        seconds = row["seconds_per_1000_images"]
        if "sampled_by" in row:  # images made on another machine (diffusion_samplers.py --generate-only)
            machine = row["sampled_by"]["machine"]
            processes = f", {row['parts']} processes" if "parts" in row else ""
            seconds = f"{seconds} ({machine.get('device', 'CPU')}, {machine['backend']}{processes})"
        lines.append(f"| {key} | {row['images']:,} | {seconds} | "
                     + " | ".join(score_cells(row[BACKBONE])) + " |")
    return "\n".join(lines)


def compare_table(budget: str) -> str:
    """Diffusion's DDIM-50 samples against the first 1,000 of each GAN's samples (same image count)."""
    diffusion = read_result(f"diffusion_{budget}")["samplers"]["ddim-50"][BACKBONE]
    lines = ["| model | classifier FID | IS | KID | precision | recall |", "|---|---|---|---|---|---|",
             f"| diffusion, DDIM-50 ({budget}) | " + " | ".join(score_cells(diffusion)) + " |"]
    for stem, record in read_results(f"*_{budget}_metrics_1000img.json").items():
        scores = record[BACKBONE]
        lines.append(f"| {stem.split('_')[0]} ({budget}) | " + " | ".join(score_cells(scores)) + " |")
    return "\n".join(lines)


def throughput_table(name: str) -> str:
    """benchmarks/throughput.py's rows: images/s, the speed-up over the plain step, FLOPs, peak
    fraction; with mirrored rows, the strategy and their images/s over one device's."""
    record = read_result(name)
    strategies = any("mirrored_over_one_device" in row for row in record["rows"])
    header = "| model | step | batch | XLA | precision | images/s | x plain | GFLOP/step | GFLOP/s | of peak |"
    lines = [header + (" strategy | x one device |" if strategies else ""),
             "|---|---|---|---|---|---|---|---|---|---|" + ("---|---|" if strategies else "")]
    for row in record["rows"]:
        cells = [row["model"], row["implementation"], row["batch_size"], row["jit_compile"], row["precision"],
                 row["images_per_second"], row.get("speedup_over_plain", ""), row["gflops_per_step"],
                 row.get("achieved_gflops_per_second", ""), row.get("fraction_of_matmul_peak", "")]
        if strategies:
            cells += [row["strategy"], row.get("mirrored_over_one_device", "")]
        lines.append("| " + " | ".join("" if cell is None else str(cell) for cell in cells) + " |")
    return "\n".join(lines)


# Tables of fixed-step runs: the results files whose names start with the prefix.
RUN_GROUPS = {"ablation": "ablation_", "tricks": "tricks_", "sngan_steps": "sngan_steps_", "grow": "grow_",
              "warm": "warm_", "optim": "optim_", "g_activation": "gact_", "bn_momentum": "bnmom_",
              "ema_decay": "ema_0.", "batch_size": "batch_", "learning_rate": "lr_", "pixel_range": "pixel_range_"}
# The source documents' questions, each answered by runs at equal steps (or equal images seen):
# the baseline run and the patterns of the runs that change one thing. The DCGAN baseline is the
# preset at 4,000 steps, seed 0 (bit-identical to ablation_dcgan_base and tricks_base).
DCGAN_BASELINE = "optim_adam_lr2e-4"
QUESTIONS = {
    "[0, 1] or [-1, 1] pixels, DCGAN": (DCGAN_BASELINE, ("pixel_range_dcgan_*",)),
    "[0, 1] or [-1, 1] pixels, WGAN-GP": ("pixel_range_wgan_11", ("pixel_range_wgan_01",)),
    "ReLU or LeakyReLU in the generator": (DCGAN_BASELINE, ("gact_*",)),
    "Adam, RMSprop or SGD with momentum": (DCGAN_BASELINE, ("optim_*",)),
    "batch size, at equal images seen": (DCGAN_BASELINE, ("batch_*",)),
    "BatchNorm momentum": (DCGAN_BASELINE, ("bnmom_*",)),
    "learning rate, and a critic slower than the generator": (DCGAN_BASELINE, ("lr_*",)),
    "EMA decay of the generator": (DCGAN_BASELINE, ("ema_0.*",)),
}
# Settings that name a run rather than change it.
_NOT_CHANGES = ("sample_every", "checkpoint_every", "max_minutes")


def changed_settings(record: dict, baseline: dict) -> str:
    """The settings in which a run's config differs from the baseline's, as key=value (a setting
    added after the baseline ran counts as its default there)."""
    from gans_keras.config import DEFAULTS

    config, base = record["config"], baseline["config"]
    changes = [f"{key}={config[key]}" for key in config
               if key not in _NOT_CHANGES and config[key] != base.get(key, DEFAULTS.get(key))]
    return ", ".join(changes) or "baseline"


def question_rows(results: Path = RESULTS) -> list[dict]:
    """One row per run of each question that has runs: the question, the run, what it changed,
    its scores, and its FID's change from the baseline's (negative: better)."""
    rows = []
    for question, (baseline_name, patterns) in QUESTIONS.items():
        found = {name: record for pattern in patterns for name, record in read_results(f"{pattern}.json",
                                                                                        results).items()}
        found.pop(baseline_name, None)
        if not found or not (Path(results) / f"{baseline_name}.json").is_file():
            continue
        baseline = read_result(baseline_name, results)
        base_fid = baseline[BACKBONE]["fid"]
        for name, record in {baseline_name: baseline, **found}.items():
            scores = record[BACKBONE]
            rows.append({"question": question, "run": name, "changed": changed_settings(record, baseline),
                         "steps": record["steps"], "scores": scores, "fid_change": scores["fid"] - base_fid})
    return rows


def questions_table(results: Path = RESULTS) -> str:
    """Markdown: the source documents' questions, each baseline followed by the runs that answer it."""
    lines = ["| question | run | changed | steps | images | classifier FID | IS | KID | precision | recall | "
             "FID change |", "|" + "---|" * 11]
    for row in question_rows(results):
        change = "" if row["changed"] == "baseline" else f"{row['fid_change']:+.2f}"
        lines.append(f"| {row['question']} | {row['run']} | {row['changed']} | {row['steps']:,} | "
                     f"{row['scores']['num_samples']:,} | " + " | ".join(score_cells(row["scores"]))
                     + f" | {change} |")
    return "\n".join(lines)
# Tables of text-to-image runs, a row per run and sampler, with the adherence to the prompts.
PROMPTED_GROUPS = {"text": "text_diffusion_", "t2i": "t2i_"}


def prompted_table(pattern: str) -> str:
    lines = ["| run | steps | real img/s | sampler | images | classifier FID | IS | KID | precision | recall | "
             "class adherence | brightness | width |", "|" + "---|" * 13]
    for stem, record in read_results(pattern).items():
        for key, row in record["samplers"].items():
            scores = row[BACKBONE]
            followed = scores["adherence"]
            # A diffusion_samplers.py file scores a run that gan_budget.py trained: its steps are that file's.
            steps, speed = record.get("steps"), record.get("images_per_second", "")
            lines.append(f"| {stem} | {'' if steps is None else f'{steps:,}'} | {speed} | {key} | "
                         f"{scores['num_samples']:,} | " + " | ".join(score_cells(scores)) + " | "
                         + " | ".join(f"{followed[name]:.3f}" for name in
                                      ("class_adherence", "brightness_adherence", "width_adherence")) + " |")
    return "\n".join(lines)


# Tables of diffusion runs, a row per run and sampler, with the test set's bits/dim (gan_budget.py --nll).
LIKELIHOOD_GROUPS = {"iddpm": "iddpm_"}


def likelihood_table(pattern: str) -> str:
    lines = ["| run | steps | real img/s | sampler | images | seconds / 1000 images | classifier FID | IS | KID | "
             "precision | recall | NLL bits/dim (test images) |", "|" + "---|" * 12]
    for stem, record in read_results(pattern).items():
        nll = record.get("nll")
        bound = "" if nll is None else f"{nll['bits_per_dim']:.3f} ± {nll['standard_error']:.3f} ({nll['images']})"
        # A diffusion_samplers.py file scores a run that gan_budget.py trained: its steps are that file's.
        steps, speed = record.get("steps"), record.get("images_per_second", "")
        for key, row in record["samplers"].items():
            lines.append(f"| {stem} | {'' if steps is None else f'{steps:,}'} | {speed} | {key} | "
                         f"{row[BACKBONE]['num_samples']:,} | {row['seconds_per_1000_images']} | "
                         + " | ".join(score_cells(row[BACKBONE])) + f" | {bound} |")
    return "\n".join(lines)


def faults_table() -> str:
    """benchmarks/faults.py's kills: where each landed and the steps it cost."""
    record = read_result("faults")
    rows = ["| kill | moment | last step done | resumed from | steps lost |", "|---|---|---|---|---|"]
    rows += [f"| {kill['kill'] + 1} | {kill['moment']} | {kill.get('last_step_done', '')} | "
             f"{kill.get('resumed_from', '')} | {kill.get('steps_lost', '')} |" for kill in record["kills"]]
    ending = "equal" if record["weights_equal_unbroken"] else "DIFFER from"
    rows.append(f"| all | checkpoint every {record['checkpoint_every']} steps | | | "
                f"at most {record['max_steps_lost']}; final weights {ending} the unbroken run's |")
    return "\n".join(rows)
