"""DDIM-50 sampling time of one diffusion run under this checkout and an earlier commit of the
package, each in its own process, alternating: how much moving the sampling loop's arithmetic
(from float64 NumPy on the host to keras.ops on the backend's tensors) changed the time, and
how much it changed the images.

    python benchmarks/sampling_loop_timing.py --run runs/diffusion_60min_remade --before 8e6feea \
        --name sampling_loop_timing_cpu

Writes benchmarks/results/<name>.json: seconds per 1000 images of each round and the largest
and mean difference between the two versions' uint8 images (same latents, seed 0).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

import numpy as np
from sampler_specs import ROOT, command_line, machine  # puts ROOT on sys.path

from gans_keras.io import write_json

TIMER = """
import json, sys, time
import numpy as np
import gans_keras
from gans_keras.sampling import load_generator, sample
run, num, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
generator = load_generator(run).configure(sampler="ddim", steps=1)
sample(generator, min(num, 500), seed=0, verbose=False)  # traces the network call at the batch size
generator.configure(steps=50)
start = time.perf_counter()
images = sample(generator, num, seed=0, verbose=False)
seconds = time.perf_counter() - start
np.save(out, images)
print(json.dumps({"seconds": seconds, "package": gans_keras.__file__}))
"""


def export_package(commit: str, directory: Path) -> None:
    """Writes gans_keras/ as it was at `commit` into `directory`."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit, "gans_keras"], check=True,
                             capture_output=True).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(directory, filter="data")


def time_version(run: Path, num: int, package_root: Path, out: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(package_root)}
    # From package_root: `python -c` puts the working directory first on sys.path.
    done = subprocess.run([sys.executable, "-c", TIMER, str(run.resolve()), str(num), str(out)], env=env,
                          cwd=package_root, check=True, capture_output=True, text=True)
    found = json.loads(done.stdout.strip().splitlines()[-1])
    if not Path(found["package"]).is_relative_to(package_root):
        raise RuntimeError(f"the timed process imported {found['package']}, not the package under {package_root}")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, required=True, help="a trained diffusion run directory")
    parser.add_argument("--before", required=True, help="the git commit whose package to compare with")
    parser.add_argument("--name", required=True, help="name of the results file")
    parser.add_argument("--num", type=int, default=500, help="images per timing")
    parser.add_argument("--rounds", type=int, default=2, help="alternating before/after rounds")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        export_package(args.before, scratch / "before")
        versions = {"before": scratch / "before", "after": ROOT}
        seconds = {name: [] for name in versions}
        for round_index in range(args.rounds):
            for name, package_root in versions.items():
                found = time_version(args.run, args.num, package_root, scratch / f"{name}.npy")
                seconds[name].append(round(found["seconds"] / args.num * 1000, 1))
                print(f"round {round_index}: {name} {seconds[name][-1]} s per 1000 images", flush=True)
        before, after = (np.load(scratch / f"{name}.npy").astype(np.int16) for name in versions)
    difference = np.abs(after - before)
    record = {
        "command": command_line(), "machine": machine(), "run": str(args.run), "before_commit": args.before,
        "sampler": "ddim", "steps": 50, "images": args.num,
        "seconds_per_1000_images": seconds,
        "image_difference": {"max_levels": int(difference.max()), "mean_levels": float(difference.mean()),
                             "pixels_differing": float((difference > 0).mean())},
    }
    out = ROOT / "benchmarks" / "results" / f"{args.name}.json"
    write_json(out, record)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
