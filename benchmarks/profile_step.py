"""Where a preset's train step spends its time: TensorFlow's profiler over a few `model.fit`
steps, the CPU op time summed by op type and by the layer the op belongs to (forward and
gradient apart), with the threads' idle share.

    python benchmarks/profile_step.py --name diffusion_step_profile_float32
    python benchmarks/profile_step.py --name diffusion_step_profile_bf16 --set precision='"mixed_bfloat16"'

The network is the 15-minute benchmark preset's (benchmarks/configs/MODEL_fashion_mnist_15min.json,
class-conditional where the model can be), XLA off so that every op is seen by name. Op time is
the sum over TensorFlow's compute threads, so on 2 cores a step of s seconds holds at most 2s;
`idle_share` is the part of that capacity no op used (executor overhead, waits). An XLA
cluster's kernel (GroupNormSiLU in bf16) runs outside those op events and is not counted: profile
those settings for their step time only. Writes benchmarks/results/<name>.json.
"""

from __future__ import annotations

import argparse
import collections
import tempfile
import time
from pathlib import Path

import tensorflow as tf
from sampler_specs import ROOT, code_version, command_line, machine, parse_setting  # puts ROOT on sys.path
from tensorflow.tsl.profiler.protobuf import xplane_pb2

from gans_keras.config import make_config, read_overrides
from gans_keras.data import load_dataset
from gans_keras.io import write_json
from gans_keras.models.registry import get_model
from gans_keras.presets import get_preset

# The first of these found in an op's name is its layer (UNet and GAN layer names).
LAYERS = ("attention", "norm", "dropout", "emb_proj", "time_mlp", "label_embedding", "skip", "conv", "dense",
          "adam", "ema", "assign")


def layer_of(op_name: str) -> str:
    lowered = op_name.lower()
    layer = next((key for key in LAYERS if key in lowered), "other")
    return f"gradient of {layer}" if "gradient_tape" in lowered else layer


def op_times(log_dir: Path) -> tuple[collections.Counter, collections.Counter, float]:
    """Seconds by op type and by layer, summed over the compute threads, and the threads' span."""
    space = xplane_pb2.XSpace()
    space.ParseFromString(next(log_dir.glob("plugins/profile/*/*.xplane.pb")).read_bytes())
    plane = next(plane for plane in space.planes if plane.name == "/host:CPU")
    names = {key: value.name for key, value in plane.event_metadata.items()}
    by_type, by_layer, span = collections.Counter(), collections.Counter(), 0.0
    for line in plane.lines:
        if not line.name.startswith("tf_Compute") or not line.events:
            continue
        span += (max(e.offset_ps + e.duration_ps for e in line.events) - min(e.offset_ps for e in line.events)) / 1e12
        for event in line.events:
            name = names[event.metadata_id]
            # "op_name:OpType" events are the ops; "Scope::Method" events (the executor, XLA's
            # runtime inside an XLA op's event) are not, and would count an XLA op twice.
            if ":" not in name or "::" in name or name.startswith("ExecutorState"):
                continue
            op_name, op_type = name.rsplit(":", 1)
            by_type[op_type] += event.duration_ps / 1e12
            by_layer[layer_of(op_name)] += event.duration_ps / 1e12
    return by_type, by_layer, span


def shares(seconds: collections.Counter, total: float, top: int) -> dict:
    return {name: round(value / total, 4) for name, value in seconds.most_common(top)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--name", required=True, help="results file name")
    parser.add_argument("--model", default="diffusion", help="preset whose 15-minute benchmark network to profile")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=10, help="profiled steps")
    parser.add_argument("--warmup", type=int, default=5, help="unprofiled steps first (tracing, the shuffle buffer)")
    parser.add_argument("--set", type=parse_setting, action="append", default=[], metavar="KEY=JSON",
                        help="override one preset key, e.g. --set dropout=0")
    args = parser.parse_args()

    base = read_overrides(ROOT / "benchmarks" / "configs" / f"{args.model}_fashion_mnist_15min.json")
    classes = {"num_classes": 10} if get_preset(args.model).conditional else {}
    config = make_config(base, classes, {"batch_size": args.batch_size, "jit_compile": "off"}, dict(args.set))
    model = get_model(config, 28, 1)
    data = model.step_inputs(load_dataset("fashion_mnist", batch_size=args.batch_size))
    model.fit(data, epochs=1, steps_per_epoch=args.warmup, verbose=0)
    with tempfile.TemporaryDirectory() as log_dir:
        started = time.perf_counter()
        tf.profiler.experimental.start(log_dir)
        model.fit(data, epochs=1, steps_per_epoch=args.steps, verbose=0)
        tf.profiler.experimental.stop()
        seconds = time.perf_counter() - started
        by_type, by_layer, span = op_times(Path(log_dir))
    total = sum(by_type.values())
    result = {"benchmark": "profile_step", "name": args.name, "command": command_line(), "commit": code_version(),
              "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "machine": machine(),
              "model": args.model, "batch_size": args.batch_size, "settings": dict(args.set), "steps": args.steps,
              "seconds_per_step_profiled": round(seconds / args.steps, 4),
              "op_seconds_per_step": round(total / args.steps, 4),
              "idle_share": round(1 - total / span, 4) if span else None,
              "share_by_layer": shares(by_layer, total, 30), "share_by_op_type": shares(by_type, total, 25)}
    path = ROOT / "benchmarks" / "results" / f"{args.name}.json"
    write_json(path, result)
    for key in ("seconds_per_step_profiled", "op_seconds_per_step", "idle_share"):
        print(f"{key}: {result[key]}")
    for title in ("share_by_layer", "share_by_op_type"):
        print(title)
        for name, share in list(result[title].items())[:12]:
            print(f"  {share:6.1%}  {name}")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
