import json
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from gans_keras.callbacks import TimeLimit, TrainingMonitor
from gans_keras.checkpoint import list_checkpoints
from gans_keras.config import FIELDS, make_config
from gans_keras.models.registry import get_model
from gans_keras.train import build_parser, main
from tests.test_text_to_image import TEXT_TINY

TINY = ["--g-width", "8", "--d-width", "8", "--latent-dim", "16", "--batch-size", "8",
        "--n-critic", "2", "--sample-every", "2", "--checkpoint-every", "2", "--log-every", "1"]

DIFFUSION_TINY = ["--model", "diffusion", "--unet-width", "8", "--unet-mults", "1,2", "--timesteps", "50",
                  "--sampling-steps", "3", "--batch-size", "8", "--sample-every", "2", "--checkpoint-every", "2",
                  "--log-every", "1"]


def _checkpoint_arrays(run, step):
    with np.load(run / "checkpoints" / f"ckpt-{step:08d}.npz") as data:
        return [data[key] for key in sorted(data.files)]


def test_run_directory_contents(trained_run):
    config = json.loads((trained_run / "config.json").read_text())
    assert set(config) == set(FIELDS) and config["model"] == "wgan" and config["steps"] == 4
    summary = json.loads((trained_run / "summary.json").read_text())
    assert summary["steps"] == 4 and summary["stopped_by"] == "steps"
    assert summary["images_per_second"] > 0
    assert {"d_loss", "g_loss", "gp"} <= set(summary["final_logs"])
    assert [p.name for p in list_checkpoints(trained_run / "checkpoints")] == [
        "ckpt-00000002.npz", "ckpt-00000004.npz"
    ]
    assert sorted(p.name for p in (trained_run / "samples").iterdir()) == [
        "step_00000002.png", "step_00000004.png"
    ]
    generator = keras.saving.load_model(trained_run / "generator.keras")
    assert generator.output_shape == (None, 28, 28, 1)
    assert not [p for p in trained_run.rglob(".*")], "temporary files left behind"


def test_tensorboard_scalars(trained_run):
    tags = set()
    for events in (trained_run / "logs").glob("events.out.tfevents.*"):
        for event in tf.compat.v1.train.summary_iterator(str(events)):
            tags |= {value.tag for value in event.summary.value}
    assert {"d_loss", "g_loss", "gp", "d_grad_norm", "g_grad_norm", "images_per_second"} <= tags


@pytest.mark.parametrize("variant", [
    [],
    # Spectral-norm power-iteration vectors, the EMA generator and minibatch-std ride along too.
    ["--model", "sngan", "--ema-decay", "0.9", "--minibatch-std"],
    ["--model", "cgan", "--d-conditioning", "channel", "--aux-classifier", "--replay-buffer", "16"],
    # Consistency regularisation's random shifts are checkpointed beside DiffAugment's.
    ["--model", "dcgan", "--cr", "1", "--diffaugment", "color,translation,cutout"],
    # R1, R2 and consistency regularisation together: a minute on 2 cores, run by make test-slow and CI.
    pytest.param(["--model", "cgan", "--loss", "rpgan", "--r1", "1", "--r2", "1", "--cr", "1", "--diffaugment",
                  "translation"], marks=pytest.mark.slow),
])
def test_resume_matches_an_unbroken_run(tmp_path, variant):
    unbroken, resumed = tmp_path / "unbroken", tmp_path / "resumed"
    assert main(TINY + variant + ["--steps", "4", "--out", str(unbroken)]) == 0
    assert main(TINY + variant + ["--steps", "2", "--out", str(resumed)]) == 0
    assert main(["--resume", "--out", str(resumed), "--steps", "4"]) == 0
    # Every variable (networks, optimiser moments, step counters, random-stream states).
    for a, b in zip(_checkpoint_arrays(unbroken, 4), _checkpoint_arrays(resumed, 4), strict=True):
        np.testing.assert_array_equal(a, b)
    # Resuming a finished run trains nothing and rewrites the same exports.
    assert main(["--resume", "--out", str(resumed)]) == 0
    assert json.loads((resumed / "summary.json").read_text())["steps"] == 4


IMPROVED_DDPM = ["--learn-sigma", "--loss-type", "hybrid", "--timestep-sampling", "importance", "--unet-activation",
                 "gelu", "--unet-init", "he", "--image-size", "27", "--sampler", "ddpm"]


# The text and Improved-DDPM variants take minutes on 2 cores: make test-slow and CI run them.
@pytest.mark.parametrize("argv", [DIFFUSION_TINY, pytest.param(TEXT_TINY, marks=pytest.mark.slow),
                                  pytest.param(DIFFUSION_TINY + IMPROVED_DDPM, marks=pytest.mark.slow)],
                         ids=["classes", "captions", "improved_ddpm"])
def test_diffusion_resume_matches_an_unbroken_run(tmp_path, argv):
    """A text model also keeps its tokenizer (tokenizer.json) and its captions' order; Improved
    DDPM's run its timestep importance history (an odd image size, padded in the UNet)."""
    unbroken, resumed = tmp_path / "unbroken", tmp_path / "resumed"
    assert main(argv + ["--steps", "4", "--out", str(unbroken)]) == 0
    assert main(argv + ["--steps", "2", "--out", str(resumed)]) == 0
    resume = ["--resume", "--out", str(resumed), "--steps", "4"]
    if argv is TEXT_TINY:
        # Resumed in a fresh process, as after a crash: within one process that has trained two text
        # models, a third's text-encoder gradients differ from the first's by an ulp in a few
        # embedding rows (not found why; a fresh process resumes bitwise).
        subprocess.run([sys.executable, "-m", "gans_keras.train", *resume], check=True, capture_output=True)
    else:
        assert main(resume) == 0
    for a, b in zip(_checkpoint_arrays(unbroken, 4), _checkpoint_arrays(resumed, 4), strict=True):
        np.testing.assert_array_equal(a, b)
    summary = json.loads((unbroken / "summary.json").read_text())
    assert {"loss", "grad_norm"} <= set(summary["final_logs"])
    assert ("vlb" in summary["final_logs"]) == (argv[-1] == "ddpm")
    grid = (unbroken / "samples" / "step_00000004.png")
    assert grid.exists()  # one row per class or prompt, sampled with DDIM from the EMA network


def test_refuses_to_overwrite_a_run(trained_run, capsys):
    before = {p.name: p.read_bytes() for p in (trained_run / "checkpoints").iterdir()}
    assert main(TINY + ["--steps", "4", "--out", str(trained_run)]) == 2
    assert "already holds checkpoints: pass --resume" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in (trained_run / "checkpoints").iterdir()} == before


def test_resume_refuses_changed_settings(trained_run, capsys):
    assert main(["--resume", "--out", str(trained_run), "--lr-d", "0.1"]) == 2
    assert "--lr-d 0.1 (run has 0.0001)" in capsys.readouterr().err


def test_refuses_settings_another_model_would_ignore(tmp_path, capsys):
    (tmp_path / "overrides.json").write_text(json.dumps({"model": "diffusion", "replay_buffer": 64}))
    assert main(["--config", str(tmp_path / "overrides.json"), "--out", str(tmp_path / "run")]) == 2
    assert "replay_buffer (--replay-buffer) does not apply to diffusion" in capsys.readouterr().err
    assert main(["--model", "wgan", "--guidance", "1", "--out", str(tmp_path / "run")]) == 2
    assert "guidance (--guidance) does not apply to wgan: it applies to diffusion" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_resume_without_checkpoint(tmp_path, capsys):
    assert main(["--resume", "--out", str(tmp_path)]) == 2
    assert "cannot resume" in capsys.readouterr().err


def test_time_limit_stops_cleanly_with_exports(tmp_path):
    out = tmp_path / "run"
    assert main(TINY + ["--steps", "1000", "--max-minutes", "0.0001", "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["stopped_by"] == "time limit" and summary["steps"] < 1000
    assert list_checkpoints(out / "checkpoints")[-1].name == f"ckpt-{summary['steps']:08d}.npz"
    assert (out / "generator.keras").exists()


def test_keeps_only_the_newest_checkpoints(tmp_path):
    out = tmp_path / "run"
    assert main(TINY + ["--steps", "8", "--keep-checkpoints", "2", "--out", str(out)]) == 0
    assert [p.name for p in list_checkpoints(out / "checkpoints")] == ["ckpt-00000006.npz", "ckpt-00000008.npz"]


def test_nonfinite_loss_stops_training():
    model = get_model(make_config({"g_width": 8, "d_width": 8}), image_size=8, channels=1)
    monitor = TrainingMonitor(total_steps=10, images_per_step=1, verbose=False)
    monitor.set_model(model)
    monitor.on_train_begin()
    monitor.on_train_batch_end(0, {"d_loss": 1.0, "g_loss": float("nan")})
    assert model.stop_training and monitor.nonfinite_step == 0


@pytest.mark.parametrize("total_steps, expected_minutes", [
    (1_000_000, (120 - 11) / 60),  # the time limit comes first: 109 s of the 2 minutes remain
    (5, 3 / 60),  # the steps come first: 3 steps left at 1 s a step
])
def test_time_limited_run_shows_minutes_left_to_the_earlier_limit(monkeypatch, total_steps, expected_minutes):
    now = [0.0]
    monkeypatch.setattr("gans_keras.callbacks.time.perf_counter", lambda: now[0])
    monkeypatch.setattr("gans_keras.callbacks.time.monotonic", lambda: now[0])
    model = get_model(make_config({"g_width": 8, "d_width": 8}), image_size=8, channels=1)
    time_limit = TimeLimit(minutes=2)
    monitor = TrainingMonitor(total_steps=total_steps, images_per_step=1, verbose=False, time_limit=time_limit)
    for callback in (monitor, time_limit):
        callback.set_model(model)
        callback.on_train_begin()
    assert monitor.progbar.target is None  # no ETA to a step count the run may never reach
    for step, seconds in ((1, 10.0), (2, 11.0)):
        now[0] = seconds
        model.step.assign(step)
        monitor.on_train_batch_end(step, {"d_loss": 1.0, "g_loss": 1.0})
    assert monitor.minutes_left == pytest.approx(expected_minutes)


def test_resumed_run_bar_times_the_steps_of_this_session(monkeypatch, capsys):
    # Resumed at step 1000 and running to 1004 at one second a step: the bar must count 4
    # steps of 1 s, not 1004 steps in 4 s (4 ms/step).
    now = [0.0]
    monkeypatch.setattr("keras.src.utils.progbar.time.time", lambda: now[0])
    model = get_model(make_config({"g_width": 8, "d_width": 8}), image_size=8, channels=1)
    model.step.assign(1000)
    monitor = TrainingMonitor(total_steps=1004, images_per_step=1, verbose=True)
    monitor.set_model(model)
    monitor.on_train_begin()
    for step in range(1001, 1005):
        now[0] += 1.0
        model.step.assign(step)
        monitor.on_train_batch_end(step, {"d_loss": 1.0, "g_loss": 1.0})
    final_line = capsys.readouterr().out.strip().splitlines()[-1]
    assert "4/4" in final_line and "1s/step" in final_line


def test_help_documents_every_flag():
    text = build_parser().format_help()
    for name in FIELDS + ("out", "resume", "config"):
        assert f"--{name.replace('_', '-')}" in text
    from gans_keras.config import SECTIONS
    from gans_keras.data import DATASET_CHOICES

    groups = [group.title for group in build_parser()._action_groups]
    assert groups[-len(SECTIONS):] == [section.name for section in SECTIONS]
    dataset_help = next(action.help for action in build_parser()._actions if action.dest == "dataset")
    assert all(choice in dataset_help for choice in DATASET_CHOICES)


@pytest.mark.parametrize("argv, message", [
    (["--model", "vae"], "unknown model 'vae'"),
    (["--dataset", "svhn"], "unknown dataset 'svhn'"),
    (["--image-size", "300"], "image size 300 is not supported"),
])
def test_bad_input_is_one_clear_line(tmp_path, capsys, argv, message):
    assert main(TINY + argv + ["--steps", "1", "--out", str(tmp_path / "run")]) == 2
    assert message in capsys.readouterr().err


def test_eval_every_logs_fid_and_kid(tmp_path, monkeypatch):
    monkeypatch.setenv("GANS_KERAS_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "run"
    assert main(TINY + ["--steps", "4", "--eval-every", "2", "--eval-samples", "200", "--out", str(out)]) == 0
    evaluation = json.loads((out / "summary.json").read_text())["eval"]
    assert evaluation["backbone"] == "classifier:fashion_mnist"
    assert [entry["step"] for entry in evaluation["history"]] == [2, 4]
    assert all(entry["fid"] > 0 and np.isfinite(entry["kid"]) for entry in evaluation["history"])
    tags = set()
    for events in (out / "logs" / "eval").glob("events.out.tfevents.*"):
        for event in tf.compat.v1.train.summary_iterator(str(events)):
            tags |= {value.tag for value in event.summary.value}
    assert tags == {"fid_classifier_fashion_mnist", "kid_classifier_fashion_mnist"}


def test_eval_every_keeps_the_best_generator_across_a_resume(tmp_path, monkeypatch, capsys):
    from gans_keras.checkpoint import load_checkpoint
    from gans_keras.config import read_overrides
    from gans_keras.evaluate import main as evaluate_main
    from gans_keras.sample import main as sample_main
    from gans_keras.sampling import load_generator

    monkeypatch.setenv("GANS_KERAS_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "run"
    # A generator learning rate high enough that FID gets worse after step 2 and the resumed
    # part must not replace the first part's best.
    evaluation = ["--eval-every", "2", "--eval-samples", "200", "--keep-checkpoints", "10", "--lr-g", "0.05"]
    assert main(TINY + evaluation + ["--steps", "4", "--out", str(out)]) == 0
    first = json.loads((out / "summary.json").read_text())["eval"]["history"]
    assert main(["--resume", "--out", str(out), "--steps", "8"]) == 0
    second = json.loads((out / "summary.json").read_text())["eval"]
    history = first + second["history"]
    assert [entry["step"] for entry in history] == [2, 4, 6, 8]
    best = min(history, key=lambda entry: entry["fid"])
    assert best["step"] <= 4
    record = json.loads((out / "generator_best.json").read_text())
    assert (record["step"], record["fid"]) == (best["step"], best["fid"]) and second["best"] == record
    # The kept generator is the one of the best step's checkpoint.
    model = get_model(make_config(read_overrides(out / "config.json")), 28, 1)
    load_checkpoint(model, out / "checkpoints" / f"ckpt-{best['step']:08d}.npz")
    latents = np.random.default_rng(0).standard_normal((5, 16)).astype("float32")
    np.testing.assert_allclose(load_generator(out, best=True)(latents), model.sampling_generator(latents), atol=1e-6)
    # Sampling and evaluating it write beside the final generator's files, not over them.
    assert sample_main(["--run", str(out), "--best", "--num", "20"]) == 0
    assert (out / "samples_best.npz").is_file() and not (out / "samples.npz").exists()
    assert evaluate_main(["--run", str(out), "--best", "--num", "200"]) == 0
    assert (out / "metrics_best.json").is_file() and not (out / "metrics.json").exists()


def test_a_best_generator_without_its_record_is_not_kept_on_resume(tmp_path, monkeypatch):
    """A crash between saving a new best generator and writing its record leaves the file beside
    an older record; the resumed run must not let that older FID guard an unknown generator."""
    from gans_keras.sampling import load_network

    monkeypatch.setenv("GANS_KERAS_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "run"
    evaluation = ["--eval-every", "2", "--eval-samples", "200", "--lr-g", "0.05"]
    assert main(TINY + evaluation + ["--steps", "4", "--out", str(out)]) == 0
    orphan = load_network(out / "generator_best.keras")
    orphan.set_weights([weights + 1.0 for weights in orphan.get_weights()])
    orphan.save(out / "generator_best.keras")
    assert main(["--resume", "--out", str(out), "--steps", "6"]) == 0
    record = json.loads((out / "generator_best.json").read_text())
    assert record["step"] == 6  # the resumed part's first score, whatever it is, replaced the orphan


def test_eval_every_keeps_the_best_diffusion_network(tmp_path, monkeypatch):
    from gans_keras.checkpoint import load_checkpoint
    from gans_keras.config import read_overrides
    from gans_keras.sample import main as sample_main
    from gans_keras.sampling import load_generator

    monkeypatch.setenv("GANS_KERAS_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "run"
    evaluation = ["--eval-every", "2", "--eval-samples", "200", "--keep-checkpoints", "10", "--ema-decay", "0.5"]
    assert main(DIFFUSION_TINY + evaluation + ["--steps", "6", "--out", str(out)]) == 0
    history = json.loads((out / "summary.json").read_text())["eval"]["history"]
    best = min(history, key=lambda entry: entry["fid"])
    record = json.loads((out / "generator_best.json").read_text())
    assert (record["step"], record["fid"]) == (best["step"], best["fid"])
    # What was kept is a sampler on the best step's EMA network, with the run's schedule.
    model = get_model(make_config(read_overrides(out / "config.json")), 28, 1)
    load_checkpoint(model, out / "checkpoints" / f"ckpt-{best['step']:08d}.npz")
    kept = load_generator(out, best=True)
    for ours, theirs in zip(kept.network.get_weights(), model.ema_network.get_weights(), strict=True):
        np.testing.assert_array_equal(ours, theirs)
    assert kept.schedule.timesteps == 50
    assert sample_main(["--run", str(out), "--best", "--num", "8"]) == 0
    with np.load(out / "samples_best.npz") as samples:
        assert samples["images"].shape == (8, 28, 28, 1)
    assert not (out / "samples.npz").exists()


def test_best_generator_needs_eval_every(trained_run, capsys):
    from gans_keras.sample import main as sample_main

    assert sample_main(["--run", str(trained_run), "--best", "--num", "4", "--out", str(trained_run / "x.npz")]) == 2
    assert "no generator_best.keras in" in capsys.readouterr().err


def test_every_option_trains_from_the_cli(tmp_path):
    options = ["--model", "dcgan", "--r1", "1", "--cr", "1", "--gp", "1", "--instance-noise", "0.1",
               "--diffaugment", "color,translation,cutout", "--optimizer", "adamw", "--clip-grad-norm", "5",
               "--ema-decay", "0.99", "--minibatch-std", "--spectral-norm", "--init", "orthogonal", "--n-dis", "2",
               "--loss", "lsgan"]
    out = tmp_path / "run"
    assert main(TINY + options + ["--steps", "2", "--out", str(out)]) == 0
    config = json.loads((out / "config.json").read_text())
    assert (config["n_critic"], config["loss"], config["spectral_norm"]) == (2, "lsgan", True)
    assert {"gp", "r1", "cr"} <= set(json.loads((out / "summary.json").read_text())["final_logs"])


def test_non_square_images_need_image_size(tmp_path, capsys):
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=4):  # celeb_a's images are 218x178
        assert main(TINY + ["--dataset", "tfds:celeb_a", "--steps", "1", "--out", str(tmp_path / "run")]) == 2
    assert "tfds:celeb_a images are 218x178" in capsys.readouterr().err


def test_resnet_arch_trains(tmp_path):
    out = tmp_path / "run"
    assert main(TINY + ["--model", "sngan", "--arch", "resnet", "--n-dis", "1", "--steps", "2", "--out", str(out)]) == 0
    assert json.loads((out / "config.json").read_text())["arch"] == "resnet"
