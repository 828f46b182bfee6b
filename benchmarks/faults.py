"""Fault injection: kill -9 a training process again and again, at random moments and inside
checkpoint writes (made slow here, in the killed process only), re-issue the same command with
`--resume auto` each time, and compare the final weights with an unbroken run's.

    python benchmarks/faults.py --kills 20

Writes benchmarks/results/faults.json: for each kill, where it landed, the last step the
process finished, the step the next start resumed from, and so the
steps lost; then whether the finished run's weights equal the unbroken run's.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import time
from pathlib import Path

from sampler_specs import ROOT, code_version, command_line, machine  # puts ROOT on sys.path

from gans_keras.checkpoint import list_checkpoints  # noqa: E402
from gans_keras.io import temporaries  # noqa: E402

# A tiny WGAN-GP on Fashion-MNIST: seconds a start, a checkpoint every other step.
RUN_ARGS = ["--g-width", "8", "--d-width", "8", "--latent-dim", "16", "--batch-size", "8", "--n-critic", "2",
            "--sample-every", "100000", "--checkpoint-every", "2", "--log-every", "1"]
# Run in the killed process (its first argument: a file that gets the step after every step):
# each checkpoint's bytes reach the file in four pieces 0.2 s apart, so that a kill can land
# inside the write.
KILLED_PROCESS = """
import io, sys, time
import numpy as np
from gans_keras import callbacks
progress = sys.argv.pop(1)
savez = np.savez
def slow_savez(file, **arrays):
    buffer = io.BytesIO()
    savez(buffer, **arrays)
    data = buffer.getvalue()
    piece = len(data) // 4 + 1
    for start in range(0, len(data), piece):
        file.write(data[start:start + piece])
        file.flush()
        time.sleep(0.2)
np.savez = slow_savez
monitor_step = callbacks.TrainingMonitor.on_train_batch_end
def recorded_step(self, batch, logs=None):
    monitor_step(self, batch, logs)
    with open(progress, "w") as f:
        f.write(str(callbacks.current_step(self.model)))
callbacks.TrainingMonitor.on_train_batch_end = recorded_step
from gans_keras.train import main
sys.exit(main(sys.argv[1:]))
"""


def writing(run: Path) -> set[str]:
    """Checkpoint files being written (or left half-written by a killed process)."""
    return {path.name for path in temporaries(run / "checkpoints")}


def kill_and_resume(run: Path, steps: int, kills: int, seed: int = 0, timeout: float = 120) -> list[dict]:
    """Starts `steps` of training into `run` with --resume auto `kills` times, each time killed
    (SIGKILL): every other kill inside a checkpoint write, the others at a random moment after
    the start; then once more to the end. Returns one record a kill."""
    rng = random.Random(seed)
    progress = run.with_name(run.name + ".step")
    command = [sys.executable, "-c", KILLED_PROCESS, str(progress), "--resume", "auto", "--out", str(run), *RUN_ARGS,
               "--steps", str(steps)]
    records = []
    for kill in range(kills):
        mid_write = kill % 2 == 0
        delay = rng.uniform(2.0, 20.0)
        progress.unlink(missing_ok=True)
        left_behind = writing(run)  # by the last kill; the new process removes them
        started = time.monotonic()
        process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while process.poll() is None and time.monotonic() - started < timeout:
            if (writing(run) - left_behind if mid_write else time.monotonic() - started >= delay):
                break
            time.sleep(0.02)
        if process.poll() is not None:  # finished (or failed) before the kill came
            records.append({"kill": kill, "moment": "none: the run had ended", "returncode": process.returncode})
            break
        inside_write = bool(writing(run) - left_behind)
        moment = f"{time.monotonic() - started:.1f} s after the start"
        process.kill()
        process.wait()
        checkpoints = list_checkpoints(run / "checkpoints")
        resumed_from = int(checkpoints[-1].stem.split("-")[1]) if checkpoints else 0
        # No step done: the kill came during the start, which costs no step.
        done = int(progress.read_text() or resumed_from) if progress.exists() else resumed_from
        records.append({
            "kill": kill,
            "moment": moment + (", inside a checkpoint write" if inside_write else ""),
            "last_step_done": done,
            "resumed_from": resumed_from,
            "steps_lost": done - resumed_from,
        })
    final = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout * 3)
    if final.returncode != 0:
        raise RuntimeError(f"the last resume failed ({final.returncode}): {final.stderr[-2000:]}")
    return records


def weights_hash(run: Path) -> str:
    return json.loads((run / "summary.json").read_text())["weights_sha256"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--steps", type=int, default=60, help="training steps of the run")
    parser.add_argument("--seed", type=int, default=0, help="seed of the kill moments")
    parser.add_argument("--work", type=Path, default=Path("runs/faults"), help="where the two runs go")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/faults.json")
    args = parser.parse_args()
    for name in ("killed", "unbroken"):
        if (args.work / name).exists():
            raise SystemExit(f"{args.work / name} exists: remove it or pass another --work")
    records = kill_and_resume(args.work / "killed", args.steps, args.kills, args.seed)
    subprocess.run([sys.executable, "-m", "gans_keras.train", "--out", str(args.work / "unbroken"), *RUN_ARGS,
                    "--steps", str(args.steps)], cwd=ROOT, check=True, capture_output=True)
    equal = weights_hash(args.work / "killed") == weights_hash(args.work / "unbroken")
    result = {
        "command": command_line(),
        "code_version": code_version(),
        **machine(),
        "steps": args.steps,
        "benchmark": "faults",
        "checkpoint_every": 2,
        "kills": records,
        "max_steps_lost": max((r.get("steps_lost", 0) for r in records), default=0),
        "weights_equal_unbroken": equal,
        "temporaries_left": sorted(writing(args.work / "killed")),
    }
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({key: value for key, value in result.items() if key != "kills"}, indent=2))


if __name__ == "__main__":
    main()
