"""Training throughput: images/s of every preset with XLA off and on, in float32 and bf16, at
two batch sizes, against a plain keras-io-style GAN step on the same networks; with each
step's FLOPs and the fraction of this machine's matmul peak (measured in the same run).

    python benchmarks/throughput.py --name throughput_cpu
    python benchmarks/throughput.py --name throughput_quick --models dcgan --batch-sizes 64 --steps 10
    python benchmarks/throughput.py --name mirrored_cpu --jit off --precisions float32 --strategies none,mirrored
    python benchmarks/throughput.py --name diffusion_no_dropout --models diffusion --set dropout=0
    python benchmarks/throughput.py --name text_path --models diffusion,text_diffusion --jit off  # the text's cost

Images/s counts real images through discriminator updates (a GAN step takes n_critic batches;
the plain baseline's does too) or through diffusion updates. The networks are the 15-minute
benchmark presets' (widths 32) on Fashion-MNIST, `model.fit` as training runs it. With
`--strategies none,mirrored` the CPU is split into `--cpu-replicas` logical devices and each
model also trains (float32, no XLA) under MirroredStrategy on the same global batch; its row has
`mirrored_over_one_device`. Writes benchmarks/results/<name>.json; every ratio in it is between
rows of the same run.
"""

from __future__ import annotations

import argparse
import itertools
import time

import keras
import tensorflow as tf
from plain_gan import plain_gan
from sampler_specs import ROOT, code_version, command_line, machine, parse_setting  # puts ROOT on sys.path

from gans_keras.captions import caption_texts, load_captioned_dataset
from gans_keras.config import make_config, read_overrides
from gans_keras.data import load_dataset
from gans_keras.distribute import make_strategy
from gans_keras.io import write_json
from gans_keras.models.registry import get_model
from gans_keras.presets import get_preset
from gans_keras.text_encoders import caption_encoding

MODELS = ("dcgan", "wgan", "sngan", "cgan", "diffusion")


def matmul_peak(dtype: str, size: int = 2048, repeats: int = 20) -> float:
    """GFLOP/s of a chain of size x size matmuls, the best of three rounds."""
    a = tf.random.normal((size, size), dtype=tf.float32)
    a = tf.cast(a, dtype)

    @tf.function
    def chain(x):
        for _ in range(repeats):
            x = tf.matmul(x, a) * tf.cast(1.0 / size**0.5, dtype)
        return x

    chain(a).numpy()
    best = min(_seconds(lambda: chain(a).numpy()) for _ in range(3))
    return 2 * size**3 * repeats / best / 1e9


def _seconds(work) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def step_flops(model, inputs) -> float | None:
    """FLOPs of one train step from its graph's op statistics (convolutions, matmuls and their
    gradients; TensorFlow's profiler), None when the profiler finds none."""
    concrete = tf.function(model.train_step).get_concrete_function(inputs)
    options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    found = tf.compat.v1.profiler.profile(concrete.graph, options=options)
    return float(found.total_float_ops) or None


class _BatchTimes(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.times = []

    def on_train_batch_end(self, batch, logs=None):
        self.times.append(time.perf_counter())


def measure(model, data, images_per_step: int, warmup: int, steps: int) -> float:
    """Images/s of `model.fit` over `steps` steps after `warmup` (tracing, XLA compilation, the
    shuffle buffer filling): timed between batch ends, in one fit as training runs it."""
    clock = _BatchTimes()
    model.fit(data, epochs=1, steps_per_epoch=warmup + steps, verbose=0, callbacks=[clock])
    return images_per_step * steps / (clock.times[-1] - clock.times[warmup - 1])


def with_speedups(rows: list[dict]) -> list[dict]:
    """Each package row with its images/s over the plain baseline's (same model and batch size),
    and each mirrored row with its images/s over one device's (float32, no XLA)."""
    plain = {(row["model"], row["batch_size"]): row["images_per_second"] for row in rows
             if row["implementation"] != "package"}
    one_device = {(row["model"], row["batch_size"]): row["images_per_second"] for row in rows
                  if row["implementation"] == "package" and row["strategy"] == "none"
                  and (row["jit_compile"], row["precision"]) == ("off", "float32")}
    ratios = []
    for row in rows:
        key = (row["model"], row["batch_size"])
        if row["implementation"] == "package" and row["strategy"] == "none" and key in plain:
            row = row | {"speedup_over_plain": round(row["images_per_second"] / plain[key], 2)}
        if row["strategy"] != "none" and key in one_device:
            row = row | {"mirrored_over_one_device": round(row["images_per_second"] / one_device[key], 3)}
        ratios.append(row)
    return ratios


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--name", required=True, help="results file name")
    parser.add_argument("--models", default=",".join(MODELS), help="comma-separated presets")
    parser.add_argument("--batch-sizes", default="64,256", help="comma-separated batch sizes")
    parser.add_argument("--jit", default="off,on", help="--jit-compile values to measure")
    parser.add_argument("--precisions", default="float32,mixed_bfloat16", help="--precision values to measure")
    parser.add_argument("--steps", type=int, default=20, help="timed steps per row")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first (tracing, compiling; >= 1)")
    parser.add_argument("--strategies", default="none", help="none, or none,mirrored to add MirroredStrategy rows")
    parser.add_argument("--cpu-replicas", type=int, default=2, help="logical CPU devices of the mirrored rows")
    parser.add_argument("--set", type=parse_setting, action="append", default=[], metavar="KEY=JSON",
                        help="override one preset key in every row, e.g. --set dropout=0")
    args = parser.parse_args()
    strategies = args.strategies.split(",")
    mirrored = make_strategy("mirrored", args.cpu_replicas) if "mirrored" in strategies else None  # before TF starts

    peak = {dtype: round(matmul_peak(dtype), 1) for dtype in ("float32", "bfloat16")}
    print(f"matmul peak GFLOP/s: {peak}", flush=True)
    header = {"benchmark": "throughput", "name": args.name, "command": command_line(), "commit": code_version(),
              "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "machine": machine(),
              "steps": args.steps, "warmup": args.warmup, "settings": dict(args.set),
              "matmul_peak_gflops_per_second": peak}
    path = ROOT / "benchmarks" / "results" / f"{args.name}.json"
    rows = []
    for model_name, batch_size in itertools.product(args.models.split(","), map(int, args.batch_sizes.split(","))):
        base = read_overrides(ROOT / "benchmarks" / "configs" / f"{model_name}_fashion_mnist_15min.json")
        text = {}
        if get_preset(model_name).text:  # captioned images, the captions as the network takes them
            encoding = caption_encoding(make_config(base, dict(args.set)), None, caption_texts(base["dataset"]))
            batches = load_captioned_dataset(base["dataset"], batch_size=batch_size).map(
                lambda images, captions, encoding=encoding: (images, encoding.pipeline(captions)))
            text = {"caption_text": encoding}
        else:
            batches = load_dataset("fashion_mnist", batch_size=batch_size)
        variants = list(itertools.product(["package"], args.jit.split(","), args.precisions.split(","), ["none"]))
        if get_preset(model_name).kind == "gan":
            variants.append(("plain keras-io", "off", "float32", "none"))
        if mirrored is not None:
            variants.append(("package", "off", "float32", "mirrored"))
        classes = {"num_classes": 10} if get_preset(model_name).conditional else {}
        for kind, jit, precision, strategy in variants:
            settings = {"batch_size": batch_size, "jit_compile": jit, "precision": precision, "strategy": strategy}
            if strategy == "mirrored":
                settings["cpu_replicas"] = args.cpu_replicas
            config = make_config(base, classes, dict(args.set), settings)
            with (mirrored if strategy == "mirrored" else tf.distribute.get_strategy()).scope():
                package_model = get_model(config, 28, 1, **text)
            # The plain step takes the same grouped batches, on networks built as the package's.
            model = package_model if kind == "package" else plain_gan(package_model, config)
            data = package_model.step_inputs(batches)
            per_step = batch_size * package_model.batches_per_step
            # The FLOPs of a step do not depend on how many replicas share it.
            flops = step_flops(model, next(iter(data))) if strategy == "none" else None
            images_per_second = measure(model, data, per_step, args.warmup, args.steps)
            row = {"model": model_name, "implementation": kind, "batch_size": batch_size, "jit_compile": jit,
                   "precision": precision, "strategy": strategy, "images_per_second": round(images_per_second, 1),
                   "gflops_per_step": flops and round(flops / 1e9, 3)}
            if flops:
                achieved = flops * images_per_second / per_step / 1e9
                reference = peak["bfloat16" if "bfloat16" in precision else "float32"]
                row |= {"achieved_gflops_per_second": round(achieved, 1),
                        "fraction_of_matmul_peak": round(achieved / reference, 3)}
            rows.append(row)
            print(row, flush=True)
            # Rewritten after every row, so a run stopped part-way keeps what it measured.
            write_json(path, {**header, "rows": with_speedups(rows)})
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
