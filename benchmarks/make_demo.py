"""Times `make demo` and records its training summary and scores in benchmarks/results/<name>.json.

    python benchmarks/make_demo.py --name make_demo_xeon                  # runs make demo here
    python benchmarks/make_demo.py --name demo_nc1 --config benchmarks/configs/wgan_fashion_mnist_demo_nc1_ttur.json
    python benchmarks/make_demo.py --name make_demo_xeon --from-run runs/demo-X --wall-seconds 411
                                                       # records a demo already made (a clean clone's)

The demo is budgeted in steps, so its steps and scores should not depend on the CPU; its minutes do.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import time
from pathlib import Path

from sampler_specs import ROOT, code_version, command_line, machine  # puts ROOT on sys.path

from gans_keras.io import write_json


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--name", required=True, help="results file name")
    parser.add_argument("--config", type=Path, help="the demo's config (default: the Makefile's DEMO_CONFIG)")
    parser.add_argument("--from-run", type=Path, help="a finished demo run directory, instead of running make demo")
    parser.add_argument("--wall-seconds", type=float, help="with --from-run: the minutes make demo took, in seconds")
    args = parser.parse_args()
    if args.from_run is None:
        run = ROOT / "runs" / f"demo-{args.name}-{time.strftime('%Y%m%d-%H%M%S')}"
        started = time.monotonic()
        config = [f"DEMO_CONFIG={args.config}"] if args.config else []
        subprocess.run(["make", "demo", f"DEMO_RUN={run}", *config], cwd=ROOT, check=True)
        wall_seconds = time.monotonic() - started
    else:
        if args.wall_seconds is None:
            parser.error("--from-run needs --wall-seconds (the time make demo took)")
        run, wall_seconds = args.from_run, args.wall_seconds
    summary = json.loads((run / "summary.json").read_text())
    metrics = json.loads((run / "metrics.json").read_text())
    record = {"benchmark": "make_demo", "name": args.name, "command": command_line(), "commit": code_version(),
              "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "machine": machine(),
              "config": json.loads((run / "config.json").read_text()), "make_demo_minutes": round(wall_seconds / 60, 2),
              "summary": summary, "metrics": metrics}
    path = ROOT / "benchmarks" / "results" / f"{args.name}.json"
    write_json(path, record)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
