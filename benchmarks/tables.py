"""Prints the Markdown tables of benchmarks/README.md from benchmarks/results/*.json, so the
README's numbers are the files' numbers.

    python benchmarks/tables.py 15min      # runs after 15 minutes; also 25min, 60min
    python benchmarks/tables.py ablation
    python benchmarks/tables.py tricks         # issue 23's ablation of every GAN option
    python benchmarks/tables.py sngan_steps    # SN-GAN with Keras' spectral norm against the paper's
    python benchmarks/tables.py diffusion_60min   # its samplers; also diffusion_15min, diffusion_60min_guidance
    python benchmarks/tables.py compare_60min     # diffusion DDIM-50 vs GANs on 1,000 images
    python benchmarks/tables.py throughput_cpu    # a benchmarks/throughput.py results file
    python benchmarks/tables.py text              # text-to-image runs, each sampler with its prompt adherence
    python benchmarks/tables.py t2i               # the text-to-image variants at equal steps
    python benchmarks/tables.py iddpm             # Improved DDPM against L_simple: samplers and bits/dim
    python benchmarks/tables.py grow              # a GAN grown 16 -> 32 against one trained at 32
    python benchmarks/tables.py warm              # a new generator against a trained or a fresh discriminator
    python benchmarks/tables.py optim             # Adam against RMSprop and SGD, DCGAN at 4,000 steps
    python benchmarks/tables.py g_activation      # the DCGAN generator with LeakyReLU; also bn_momentum
    python benchmarks/tables.py faults            # benchmarks/faults.py's kills
    python benchmarks/tables.py leaderboard       # each model's best at 15 and 60 minutes (gans_keras.report)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from gans_keras.report import leaderboard_table

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
    diffusion = json.loads((RESULTS / f"diffusion_{budget}.json").read_text())["samplers"]["ddim-50"][BACKBONE]
    lines = ["| model | classifier FID | IS | KID | precision | recall |", "|---|---|---|---|---|---|",
             f"| diffusion, DDIM-50 ({budget}) | " + " | ".join(score_cells(diffusion)) + " |"]
    for path in sorted(RESULTS.glob(f"*_{budget}_metrics_1000img.json")):
        scores = json.loads(path.read_text())[BACKBONE]
        lines.append(f"| {path.stem.split('_')[0]} ({budget}) | " + " | ".join(score_cells(scores)) + " |")
    return "\n".join(lines)


def throughput_table(name: str) -> str:
    """benchmarks/throughput.py's rows: images/s, the speed-up over the plain step, FLOPs, peak
    fraction; with mirrored rows, the strategy and their images/s over one device's."""
    record = json.loads((RESULTS / f"{name}.json").read_text())
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
              "warm": "warm_", "optim": "optim_", "g_activation": "gact_", "bn_momentum": "bnmom_"}
# Tables of text-to-image runs, a row per run and sampler, with the adherence to the prompts.
PROMPTED_GROUPS = {"text": "text_diffusion_", "t2i": "t2i_"}


def prompted_table(pattern: str) -> str:
    lines = ["| run | steps | real img/s | sampler | images | classifier FID | IS | KID | precision | recall | "
             "class adherence | brightness | width |", "|" + "---|" * 13]
    for path in sorted(RESULTS.glob(pattern)):
        record = json.loads(path.read_text())
        for key, row in record["samplers"].items():
            scores = row[BACKBONE]
            followed = scores["adherence"]
            # A diffusion_samplers.py file scores a run that gan_budget.py trained: its steps are that file's.
            steps, speed = record.get("steps"), record.get("images_per_second", "")
            lines.append(f"| {path.stem} | {'' if steps is None else f'{steps:,}'} | {speed} | {key} | "
                         f"{scores['num_samples']:,} | " + " | ".join(score_cells(scores)) + " | "
                         + " | ".join(f"{followed[name]:.3f}" for name in
                                      ("class_adherence", "brightness_adherence", "width_adherence")) + " |")
    return "\n".join(lines)


# Tables of diffusion runs, a row per run and sampler, with the test set's bits/dim (gan_budget.py --nll).
LIKELIHOOD_GROUPS = {"iddpm": "iddpm_"}


def likelihood_table(pattern: str) -> str:
    lines = ["| run | steps | real img/s | sampler | images | seconds / 1000 images | classifier FID | IS | KID | "
             "precision | recall | NLL bits/dim (test images) |", "|" + "---|" * 12]
    for path in sorted(RESULTS.glob(pattern)):
        record = json.loads(path.read_text())
        nll = record.get("nll")
        bound = "" if nll is None else f"{nll['bits_per_dim']:.3f} ± {nll['standard_error']:.3f} ({nll['images']})"
        # A diffusion_samplers.py file scores a run that gan_budget.py trained: its steps are that file's.
        steps, speed = record.get("steps"), record.get("images_per_second", "")
        for key, row in record["samplers"].items():
            lines.append(f"| {path.stem} | {'' if steps is None else f'{steps:,}'} | {speed} | {key} | "
                         f"{row[BACKBONE]['num_samples']:,} | {row['seconds_per_1000_images']} | "
                         + " | ".join(score_cells(row[BACKBONE])) + f" | {bound} |")
    return "\n".join(lines)


def faults_table() -> str:
    """benchmarks/faults.py's kills: where each landed and the steps it cost."""
    record = json.loads((RESULTS / "faults.json").read_text())
    rows = ["| kill | moment | last step done | resumed from | steps lost |", "|---|---|---|---|---|"]
    rows += [f"| {kill['kill'] + 1} | {kill['moment']} | {kill.get('last_step_done', '')} | "
             f"{kill.get('resumed_from', '')} | {kill.get('steps_lost', '')} |" for kill in record["kills"]]
    ending = "equal" if record["weights_equal_unbroken"] else "DIFFER from"
    rows.append(f"| all | checkpoint every {record['checkpoint_every']} steps | | | "
                f"at most {record['max_steps_lost']}; final weights {ending} the unbroken run's |")
    return "\n".join(rows)


def _kind(name: str) -> str | None:
    """The benchmark that wrote results/<name>.json, None without one."""
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()).get("benchmark") if path.is_file() else None


def main(which: str) -> int:
    if which == "leaderboard":
        print(leaderboard_table())
    elif which == "faults":
        print(faults_table())
    elif which in PROMPTED_GROUPS:
        print(prompted_table(f"{PROMPTED_GROUPS[which]}*.json"))
    elif which in LIKELIHOOD_GROUPS:
        print(likelihood_table(f"{LIKELIHOOD_GROUPS[which]}*.json"))
    elif which in RUN_GROUPS:
        print(runs_table(f"{RUN_GROUPS[which]}*.json", "train_minutes_this_session"))
    elif which.startswith("throughput") or _kind(which) == "throughput":
        print(throughput_table(which))
    elif which.startswith("diffusion_") or _kind(which) == "diffusion_samplers":
        print(diffusion_table(which))
    elif which.startswith("compare_"):
        print(compare_table(which.removeprefix("compare_")))
    elif which.endswith("min"):
        print(runs_table(f"*_{which}.json", "minutes_total"))
    else:
        print("choose one of: 15min, 25min, 60min, ablation, tricks, sngan_steps, grow, warm, optim, g_activation, "
              "bn_momentum, text, t2i, iddpm, "
              "faults, leaderboard, diffusion_15min, diffusion_60min, diffusion_60min_guidance, compare_15min, "
              "compare_60min",
              file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else ""))
