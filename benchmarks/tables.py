"""Prints the Markdown tables of benchmarks/README.md from benchmarks/results/*.json (read and
built by gans_keras.report, which the notebooks use too), so the README's numbers are the files'
numbers.

    python benchmarks/tables.py 15min      # runs after 15 minutes; also 25min, 60min
    python benchmarks/tables.py ablation
    python benchmarks/tables.py tricks         # issue 23's ablation of every GAN option
    python benchmarks/tables.py sngan_steps    # SN-GAN with Keras' spectral norm against the paper's
    python benchmarks/tables.py one_core       # runs pinned to one core, beside another on the other
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
    python benchmarks/tables.py questions         # the source documents' questions, each against its baseline
    python benchmarks/tables.py ema_decay         # one question's runs alone; also batch_size, learning_rate,
                                                  # pixel_range
"""

from __future__ import annotations

import sys

from gans_keras.report import (
    LIKELIHOOD_GROUPS,
    ONE_CORE,
    PROMPTED_GROUPS,
    RESULTS,
    RUN_GROUPS,
    compare_table,
    diffusion_table,
    faults_table,
    leaderboard_table,
    likelihood_table,
    prompted_table,
    questions_table,
    read_result,
    runs_table,
    throughput_table,
)


def _kind(name: str) -> str | None:
    """The benchmark that wrote results/<name>.json, None without one."""
    return read_result(name).get("benchmark") if (RESULTS / f"{name}.json").is_file() else None


def main(which: str) -> int:
    if which == "leaderboard":
        print(leaderboard_table())
    elif which == "questions":
        print(questions_table())
    elif which == "faults":
        print(faults_table())
    elif which == "one_core":
        print(runs_table(ONE_CORE, "train_minutes_this_session"))
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
        groups = ", ".join([*RUN_GROUPS, *PROMPTED_GROUPS, *LIKELIHOOD_GROUPS])
        print(f"choose one of: 15min, 25min, 60min, {groups}, one_core, questions, faults, leaderboard, "
              "diffusion_15min, diffusion_60min, diffusion_60min_guidance, compare_15min, compare_60min, or a "
              "throughput or diffusion_samplers results file's name",
              file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else ""))
