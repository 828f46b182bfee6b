"""Faults a run survives: kill -9 at any moment (inside checkpoint writes too), SIGTERM, a failed
write, a truncated newest checkpoint, temporaries of an interrupted write, and re-issuing one
command after a crash (--resume auto); durable writes; files that would run code
on loading (a Lambda layer, pickled arrays) refused."""

import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pytest

from gans_keras.io import write_json
from gans_keras.train import main
from tests.test_train import TINY

ROOT = Path(__file__).resolve().parents[1]


def _weights_hash(run):
    return json.loads((run / "summary.json").read_text())["weights_sha256"]


def test_writes_reach_the_disk_before_and_after_the_rename(tmp_path, monkeypatch):
    synced = []
    real_fsync = os.fsync

    def recording_fsync(fd):
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    write_json(tmp_path / "a.json", {"a": 1})
    # The temporary file's data, then the directory holding the new name.
    assert len(synced) == 2 and synced[0].startswith(str(tmp_path / ".a-")) and synced[1] == str(tmp_path)


def test_truncated_newest_checkpoint_falls_back_to_the_previous_one(tmp_path, capsys):
    unbroken, broken = tmp_path / "unbroken", tmp_path / "broken"
    assert main(TINY + ["--steps", "6", "--out", str(unbroken)]) == 0
    assert main(TINY + ["--steps", "4", "--out", str(broken)]) == 0
    newest = broken / "checkpoints" / "ckpt-00000004.npz"
    newest.write_bytes(newest.read_bytes()[: newest.stat().st_size // 2])  # a write cut short
    stray = broken / "checkpoints" / ".ckpt-00000006-ab12cd_3.npz"  # a killed write's temporary
    stray.write_bytes(b"half")
    capsys.readouterr()
    assert main(["--resume", "--out", str(broken), "--steps", "6"]) == 0
    error = capsys.readouterr().err
    assert f"warning: checkpoint {newest} is unreadable" in error and "resuming from ckpt-00000002.npz" in error
    assert not stray.exists()
    assert _weights_hash(broken) == _weights_hash(unbroken)


def test_no_readable_checkpoint_is_one_clear_line(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(TINY + ["--steps", "2", "--out", str(run)]) == 0
    (run / "checkpoints" / "ckpt-00000002.npz").write_bytes(b"")
    assert main(["--resume", "--out", str(run), "--steps", "4"]) == 2
    assert "error: no checkpoint can be read: checkpoint" in capsys.readouterr().err


def test_resume_auto_starts_then_continues(tmp_path, capsys):
    run = tmp_path / "run"
    unbroken = tmp_path / "unbroken"
    assert main(TINY + ["--steps", "4", "--out", str(unbroken)]) == 0
    assert main(TINY + ["--resume", "auto", "--steps", "2", "--out", str(run)]) == 0  # nothing to resume: starts
    assert json.loads((run / "summary.json").read_text())["steps"] == 2
    assert main(TINY + ["--resume", "auto", "--steps", "4", "--out", str(run)]) == 0  # the same command, continued
    assert _weights_hash(run) == _weights_hash(unbroken)
    assert main(["--resume", "auto", "--steps", "4"]) == 2
    assert "--resume auto needs --out" in capsys.readouterr().err


def test_the_api_resumes_auto_too(tmp_path):
    from gans_keras.config import make_config
    from gans_keras.training import train

    tiny = dict(g_width=8, d_width=8, latent_dim=16, batch_size=8, n_critic=2, sample_every=2, checkpoint_every=2)
    assert train(make_config(tiny, {"steps": 2}), tmp_path / "run", resume="auto", verbose=False)["steps"] == 2
    summary = train(make_config(tiny, {"steps": 4}), tmp_path / "run", resume="auto", verbose=False)
    unbroken = train(make_config(tiny, {"steps": 4}), tmp_path / "unbroken", verbose=False)
    assert summary["steps"] == 4 and summary["weights_sha256"] == unbroken["weights_sha256"]
    with pytest.raises(ValueError, match="resume must be True, False or 'auto'"):
        train(make_config(tiny), tmp_path / "run", resume="yes")


def test_a_generator_with_a_lambda_layer_is_refused(tmp_path, capsys):
    from gans_keras.sample import main as sample_main

    inputs = keras.Input((4,))
    crafted = keras.Model(inputs, keras.layers.Lambda(lambda z: z * 2)(inputs))  # code that would run on load
    run = tmp_path / "run"
    run.mkdir()
    crafted.save(run / "generator.keras")
    assert sample_main(["--run", str(run), "--num", "2", "--out", str(tmp_path / "s.npz")]) == 2
    error = capsys.readouterr().err
    assert "holds a Lambda layer, code that would run on loading: refused" in error and len(error.splitlines()) == 1
    assert not (tmp_path / "s.npz").exists()


def test_samples_stored_as_an_object_array_are_refused(tmp_path, capsys):
    from gans_keras.evaluate import main as evaluate_main

    samples = tmp_path / "samples.npz"
    images = np.empty(2, dtype=object)
    images[:] = [np.zeros((28, 28, 1), np.uint8), np.zeros((28, 28, 1), np.uint8)]
    np.savez(samples, images=images)  # unpickling it could run code
    assert evaluate_main(["--samples", str(samples), "--num", "2"]) == 2
    error = capsys.readouterr().err
    assert "images are an object array, which would need unpickling: refused" in error
    assert not (tmp_path / "metrics.json").exists()


def test_a_checkpoint_with_an_object_array_is_unreadable(tmp_path):
    from gans_keras.checkpoint import UnreadableCheckpointError, load_checkpoint

    path = tmp_path / "ckpt-00000001.npz"
    np.savez(path, **{"model/00000/x": np.array([{"a": 1}], dtype=object)})
    with pytest.raises(UnreadableCheckpointError, match="Object arrays cannot be loaded"):
        load_checkpoint(None, path)


def test_sigterm_writes_a_checkpoint_at_the_current_step_and_the_run_continues_exactly(tmp_path):
    run, unbroken = tmp_path / "run", tmp_path / "unbroken"
    command = [sys.executable, "-m", "gans_keras.train", *TINY, "--steps", "100000", "--checkpoint-every", "100000",
               "--sample-every", "100000", "--out", str(run)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not list((run / "logs").glob("**/events.out.tfevents.*")) and time.monotonic() < deadline:
        time.sleep(0.5)  # the monitor's TensorBoard file appears once training runs
    time.sleep(3)
    process.send_signal(signal.SIGTERM)
    _, error = process.communicate(timeout=120)
    assert process.returncode == 143, error
    summary = json.loads((run / "summary.json").read_text())
    step = summary["steps"]
    assert summary["stopped_by"] == "SIGTERM" and 0 < step < 100000
    assert f"stopped by SIGTERM at step {step} with its checkpoint written" in error
    assert (run / "checkpoints" / f"ckpt-{step:08d}.npz").exists()
    assert main(["--resume", "--out", str(run), "--steps", str(step + 3)]) == 0
    assert main(TINY + ["--steps", str(step + 3), "--checkpoint-every", "100000", "--sample-every", "100000",
                        "--out", str(unbroken)]) == 0
    assert _weights_hash(run) == _weights_hash(unbroken)


def _train_with_file_size_limit(argv, limit_bytes):
    """`python -m gans_keras.train argv` in a process whose files cannot grow past `limit_bytes`:
    a real write failure (EFBIG), as a full disk gives one (ENOSPC)."""
    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write fails instead of killing the process
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))

    return subprocess.run([sys.executable, "-m", "gans_keras.train", *argv], preexec_fn=limit,
                          capture_output=True, text=True, timeout=300)


def test_a_failed_checkpoint_write_keeps_the_previous_one_and_says_why(tmp_path):
    run = tmp_path / "run"
    assert main(TINY + ["--steps", "2", "--sample-every", "1000", "--out", str(run)]) == 0
    previous = run / "checkpoints" / "ckpt-00000002.npz"
    before = previous.read_bytes()
    size = len(before)
    result = _train_with_file_size_limit(["--resume", "--out", str(run), "--steps", "4"], size // 2)
    assert result.returncode == 2, result.stderr
    (error,) = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert error.startswith(f"error: cannot write {run / 'checkpoints' / 'ckpt-00000004.npz'}: File too large")
    assert f"the newest checkpoint, {previous}, is intact" in error
    assert previous.read_bytes() == before
    assert sorted(path.name for path in (run / "checkpoints").iterdir()) == ["ckpt-00000002.npz"]  # no temporary


def test_an_output_directory_that_cannot_be_made_is_refused_before_training(tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    assert main(TINY + ["--steps", "2", "--out", str(blocker / "run")]) == 2
    assert capsys.readouterr().err == (f"error: cannot write {blocker}: Not a directory; no checkpoint was written "
                                       f"yet: free space, fix permissions or choose another --out\n")


def test_checkpoint_minutes_adds_checkpoints_by_time(tmp_path):
    run = tmp_path / "run"
    # Every step takes longer than 1e-6 minutes (60 microseconds), so each one is due; the step interval never is.
    assert main(TINY + ["--steps", "3", "--checkpoint-every", "1000", "--checkpoint-minutes", "1e-6",
                        "--out", str(run)]) == 0
    assert sorted(path.name for path in (run / "checkpoints").iterdir()) == [
        "ckpt-00000001.npz", "ckpt-00000002.npz", "ckpt-00000003.npz"]
    assert main(["--resume", "--out", str(run), "--steps", "4", "--checkpoint-minutes", "30"]) == 0
    assert json.loads((run / "config.json").read_text())["checkpoint_minutes"] == 30


@pytest.mark.slow
def test_kill_9_again_and_again_then_resume_auto_ends_as_an_unbroken_run(tmp_path):
    """benchmarks/faults.py: SIGKILL at random moments and inside (slowed) checkpoint writes, the
    same command with --resume auto after each, then to the end."""
    out = tmp_path / "faults.json"
    # 60 steps, as the benchmark: a shorter run can end before a random kill (up to 20 s) lands.
    subprocess.run([sys.executable, "benchmarks/faults.py", "--kills", "4", "--steps", "60", "--work",
                    str(tmp_path / "runs"), "--out", str(out)], cwd=ROOT, check=True, capture_output=True)
    record = json.loads(out.read_text())
    kills = record["kills"]
    assert len(kills) == 4 and sum("inside a checkpoint write" in kill["moment"] for kill in kills) >= 2
    assert all(0 <= kill["steps_lost"] <= record["checkpoint_every"] for kill in kills)
    assert record["weights_equal_unbroken"] and record["temporaries_left"] == []
