"""tf.distribute strategies, each in fresh processes (logical CPU devices and a cluster must be set
up before TensorFlow starts): 2 mirrored replicas train as one device on the same global batch,
two workers on 127.0.0.1 end alike with only the chief writing, a killed worker stops the other
with a clear error and the run resumes. Marked `distributed`: `make test` leaves them to
`make test-distributed` (CI runs both)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from gans_keras.checkpoint import list_checkpoints

pytestmark = pytest.mark.distributed
ROOT = Path(__file__).resolve().parents[2]
TINY_GAN = {"batch_size": 8, "g_width": 8, "d_width": 8, "latent_dim": 16, "seed": 3, "sample_every": 1000,
            "checkpoint_every": 10}
TINY = {
    "dcgan": {"model": "dcgan", **TINY_GAN},
    "wgan": {"model": "wgan", **TINY_GAN},  # gradient penalty, 5 critic updates a step
    # The CPU recipe's networks: one block a stage, doubled widths, lazy R1 and R2.
    "r3gan_lazy": {"model": "r3gan", **TINY_GAN, "blocks_per_stage": 1, "width_doubling": True, "r1": 1.0,
                   "r2": 1.0, "reg_every": 3},
    "diffusion": {"model": "diffusion", "batch_size": 8, "unet_width": 8, "seed": 3, "sample_every": 1000,
                  "checkpoint_every": 10, "sampling_steps": 2},
}


def _worker(out, overrides, env=None, **popen):
    command = [sys.executable, "-m", "tests.distributed.train_worker", str(out), json.dumps(overrides)]
    return subprocess.Popen(command, cwd=ROOT, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)


def _summary(process, timeout=600):
    stdout, stderr = process.communicate(timeout=timeout)
    assert process.returncode == 0, stderr[-3000:]
    (line,) = [line for line in stdout.splitlines() if line.startswith("SUMMARY ")]
    return json.loads(line[len("SUMMARY "):])


def _model_weights(run):
    with np.load(list_checkpoints(Path(run) / "checkpoints")[-1]) as saved:
        return [saved[key] for key in sorted(saved.files) if key.startswith("model/")]


@pytest.mark.parametrize("model", ["dcgan", "wgan", "r3gan_lazy", "diffusion"])
def test_two_mirrored_replicas_train_as_one_device(tmp_path, model):
    config = {**TINY[model], "steps": 20}
    one = _summary(_worker(tmp_path / "one", config))
    two = _summary(_worker(tmp_path / "two", {**config, "strategy": "mirrored", "cpu_replicas": 2}))
    assert one["steps"] == two["steps"] == 20
    one_weights, two_weights = _model_weights(tmp_path / "one"), _model_weights(tmp_path / "two")
    assert [w.shape for w in one_weights] == [w.shape for w in two_weights]
    difference = np.sqrt(sum(np.sum((a - b) ** 2.0) for a, b in zip(one_weights, two_weights, strict=True)))
    size = np.sqrt(sum(np.sum(a**2.0) for a in one_weights))
    # Only the order of float sums differs (a mean over 2 x 4 images, not 8).
    assert difference / size < 1e-5, difference / size
    for key, value in one["final_logs"].items():
        assert two["final_logs"][key] == pytest.approx(value, rel=1e-3, abs=1e-4), key


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def _cluster(outs, overrides):
    """Two workers (worker 0 is the chief) training `overrides` into `outs[i]`."""
    addresses = [f"127.0.0.1:{port}" for port in _free_ports(2)]
    processes = []
    for index, out in enumerate(outs):
        tf_config = {"cluster": {"worker": addresses}, "task": {"type": "worker", "index": index}}
        processes.append(_worker(out, {**overrides, "strategy": "multi_worker"}, {"TF_CONFIG": json.dumps(tf_config)}))
    return processes


def test_two_workers_end_alike_and_only_the_chief_writes(tmp_path):
    chief_out, worker_out = tmp_path / "chief", tmp_path / "worker"
    chief, worker = [_summary(p) for p in _cluster([chief_out, worker_out], {**TINY["wgan"], "steps": 20})]
    assert chief["steps"] == worker["steps"] == 20
    assert chief["weights_sha256"] == worker["weights_sha256"]
    assert worker["chief"] is False and not worker_out.exists()
    assert {p.name for p in chief_out.iterdir()} >= {"config.json", "checkpoints", "samples", "logs",
                                                      "generator.keras", "summary.json"}
    assert json.loads((chief_out / "summary.json").read_text())["weights_sha256"] == chief["weights_sha256"]


def test_killed_worker_stops_the_other_and_the_run_resumes(tmp_path):
    config = {**TINY["dcgan"], "steps": 20}
    unbroken = [_summary(p) for p in _cluster([tmp_path / "unbroken"] * 2, config)]

    run = tmp_path / "run"
    chief, worker = _cluster([run, run], {**config, "steps": 100_000})
    deadline = time.monotonic() + 300
    while not list_checkpoints(run / "checkpoints"):
        assert time.monotonic() < deadline and chief.poll() is None, "no checkpoint written"
        time.sleep(0.2)
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    _, stderr = chief.communicate(timeout=300)
    assert chief.returncode != 0
    assert "the cluster lost a worker" in stderr and "again with --resume" in stderr, stderr[-3000:]

    resumed = [_summary(p) for p in _cluster([run, run], {**config, "resume": True})]
    assert resumed[0]["steps"] == 20
    # From the checkpoint on, the same batches and random draws: the weights of an unbroken run.
    assert resumed[0]["weights_sha256"] == resumed[1]["weights_sha256"] == unbroken[0]["weights_sha256"]


@pytest.mark.parametrize("case,precision", [("sngan", "float32"), ("cgan", "mixed_bfloat16"),
                                            ("diffusion", "mixed_bfloat16")])
def test_replicas_keep_their_state_in_sync(case, precision):
    """Every option of the model on 2 replicas: spectral-norm vectors, EMA weights, batch-norm
    statistics, optimiser and seed state stay identical on both; only the replay buffer is each
    replica's own."""
    process = subprocess.run([sys.executable, "-m", "tests.distributed.replica_state", case, precision], cwd=ROOT,
                             env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}, capture_output=True, text=True,
                             timeout=600)
    assert process.returncode == 0, process.stderr[-3000:]
    (line,) = [line for line in process.stdout.splitlines() if line.startswith("RESULT ")]
    result = json.loads(line[len("RESULT "):])
    assert result["finite"], result
    replay = [path for path in result["differing"] if "replay_images" in path or "replay_labels" in path]
    assert result["differing"] == replay, result["differing"]
    assert len(replay) == (0 if case == "diffusion" else 2)


@pytest.mark.parametrize("model", ["cgan", "r3gan_lazy", "diffusion"])
def test_mixed_precision_under_mirrored_exports_a_generator_that_samples(tmp_path, model):
    from gans_keras.sampling import load_generator, sample

    config = {**TINY["wgan"], "model": "cgan"} if model == "cgan" else TINY[model]
    overrides = {**config, "steps": 3, "precision": "mixed_bfloat16", "strategy": "mirrored", "cpu_replicas": 2}
    summary = _summary(_worker(tmp_path / "run", overrides))
    assert summary["steps"] == 3
    generator = load_generator(tmp_path / "run")
    images = sample(generator, 4, seed=0, verbose=False)
    assert images.shape == (4, 28, 28, 1) and images.dtype == np.uint8 and len(np.unique(images)) > 2
