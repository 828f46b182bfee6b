import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

from gans_keras.data import load_arrays
from gans_keras.evaluate import main
from gans_keras.evaluation import evaluate_images, reference_features
from gans_keras.metrics.extractors import extract, get_extractor

METRIC_KEYS = {"fid", "is_mean", "is_std", "kid_mean", "kid_std", "precision", "recall", "density", "coverage"}


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GANS_KERAS_CACHE", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def train_images():
    return load_arrays("fashion_mnist", "train")[0][:10_000]


@pytest.fixture(scope="module")
def train_labels():
    return load_arrays("fashion_mnist", "train")[1][:10_000]


def test_shipped_classifier_accuracy():
    images, labels = load_arrays("fashion_mnist", "test")
    _, logits = extract(get_extractor("classifier:fashion_mnist"), images, batch_size=1000, verbose=False)
    assert (logits.argmax(1) == labels).mean() >= 0.90


def test_real_data_scores_well_and_degraded_data_badly(train_images):
    real = evaluate_images(train_images, verbose=False)
    assert set(real) >= METRIC_KEYS
    assert real["is_mean"] > 7.0  # ten balanced, confidently classified classes
    assert real["precision"] > 0.6 and real["recall"] > 0.6
    blurred = ndimage.gaussian_filter(train_images.astype(float), sigma=(0, 1.5, 1.5, 0)).astype(np.uint8)
    rng = np.random.default_rng(0)
    noised = np.clip(train_images + rng.normal(0, 40, train_images.shape), 0, 255).astype(np.uint8)
    for degraded in (blurred, noised):
        worse = evaluate_images(degraded, verbose=False)
        assert worse["fid"] > 10 * real["fid"]
        assert worse["kid_mean"] > 10 * max(real["kid_mean"], 1e-4)


def test_reference_features_are_cached(tmp_path):
    extractor = get_extractor("classifier:fashion_mnist")
    first = reference_features(extractor, "fashion_mnist", "test", 500, 28, 1, verbose=False)
    cached = list((tmp_path / "cache" / "reference").iterdir())
    assert [p.name for p in cached] == ["fashion_mnist-test-28px1c-classifier_fashion_mnist-500.npz"]
    again = reference_features(extractor, "fashion_mnist", "test", 500, 28, 1, verbose=False)
    np.testing.assert_array_equal(first["sigma"], again["sigma"])


def test_evaluate_cli_on_a_run(trained_run, capsys):
    assert main(["--run", str(trained_run), "--num", "300"]) == 0
    metrics = json.loads((trained_run / "metrics.json").read_text())["classifier:fashion_mnist"]
    assert set(metrics) >= METRIC_KEYS and metrics["num_samples"] == 300
    assert metrics["comparable_with_papers"] is False
    assert "fid" in capsys.readouterr().out


def test_evaluate_cli_on_samples_and_errors(tmp_path, train_images, train_labels, capsys):
    samples = tmp_path / "s.npz"
    np.savez(samples, images=train_images[:200])
    assert main(["--samples", str(samples), "--num", "200"]) == 0
    metrics = json.loads((tmp_path / "metrics.json").read_text())["classifier:fashion_mnist"]
    # Real training images: the classifier sees every class, about as often as the labels say.
    counts = np.array(metrics["predicted_class_counts"])
    assert counts.sum() == 200 and len(counts) == 10
    np.testing.assert_allclose(counts, np.bincount(train_labels[:200], minlength=10), atol=8)
    assert main(["--samples", str(samples), "--num", "500"]) == 2
    assert "500 samples requested but only 200" in capsys.readouterr().err
    assert main(["--samples", str(tmp_path / "missing.npz")]) == 2
    assert main(["--samples", str(samples), "--num", "200", "--backbone", "inception"]) == 2
    assert "classify_image_graph_def.pb was not found" in capsys.readouterr().err


def ema_run_and_rows(tmp_path, model: str) -> tuple[Path, dict]:
    """A two-step `model` run with an EMA generator, and benchmarks/ema_batchnorm.py's rows for it."""
    from gans_keras.train import main as train_main
    from tests.test_train import TINY

    run = tmp_path / model
    assert train_main(TINY + ["--model", model, "--ema-decay", "0.9", "--steps", "2", "--out", str(run)]) == 0
    out = tmp_path / "ema.json"
    subprocess.run([sys.executable, "benchmarks/ema_batchnorm.py", "--run", str(run), "--name", "t", "--num", "200",
                    "--out", str(out)], cwd=Path(__file__).resolve().parents[1], check=True)
    return run, json.loads(out.read_text())["generators"]


def test_ema_batchnorm_benchmark_scores_the_exported_generator_and_the_copied_statistics(tmp_path):
    """benchmarks/ema_batchnorm.py: its EMA-with-own-statistics row is the run's exported
    generator (`evaluate --run` scores it the same), and copying the live statistics changes it."""
    run, generators = ema_run_and_rows(tmp_path, "dcgan")
    assert set(generators) == {"ema_own_statistics", "live", "ema_live_statistics"}
    assert main(["--run", str(run), "--num", "200", "--out", str(tmp_path / "evaluate.json")]) == 0
    exported = json.loads((tmp_path / "evaluate.json").read_text())["classifier:fashion_mnist"]["fid"]
    assert generators["ema_own_statistics"]["fid"] == pytest.approx(exported, rel=1e-9)
    assert generators["ema_live_statistics"]["fid"] != pytest.approx(exported, rel=1e-6)


def test_ema_batchnorm_benchmark_scores_two_generators_without_batchnorm(tmp_path):
    """r3gan's generator has no BatchNorm statistics: no third row that would repeat the first."""
    _, generators = ema_run_and_rows(tmp_path, "r3gan")
    assert set(generators) == {"ema_own_statistics", "live"}


@pytest.mark.slow
def test_checkpoint_scores_benchmark_scores_each_kept_checkpoint_live_and_ema(tmp_path):
    """benchmarks/checkpoint_scores.py: one live and one EMA row per requested checkpoint; the
    last checkpoint's EMA row is the run's exported generator; a step not kept is refused."""
    from gans_keras.train import main as train_main
    from tests.test_train import TINY

    run = tmp_path / "dcgan"
    assert train_main(TINY + ["--model", "dcgan", "--ema-decay", "0.9", "--steps", "4", "--out", str(run)]) == 0
    out = tmp_path / "scores.json"
    root = Path(__file__).resolve().parents[1]
    command = [sys.executable, "benchmarks/checkpoint_scores.py", "--run", str(run), "--name", "t", "--num", "200",
               "--out", str(out), "--plot", str(tmp_path / "fids.png")]
    subprocess.run(command + ["--steps", "4,2"], cwd=root, check=True)
    rows = json.loads(out.read_text())["rows"]
    assert [(row["step"], row["generator"]) for row in rows] == [(2, "live"), (2, "ema"), (4, "live"), (4, "ema")]
    assert rows[0]["fid"] != pytest.approx(rows[2]["fid"], rel=1e-6)
    assert (tmp_path / "fids.png").stat().st_size > 0
    assert main(["--run", str(run), "--num", "200", "--out", str(tmp_path / "evaluate.json")]) == 0
    exported = json.loads((tmp_path / "evaluate.json").read_text())["classifier:fashion_mnist"]["fid"]
    assert rows[3]["fid"] == pytest.approx(exported, rel=1e-9)
    refused = subprocess.run(command + ["--steps", "3"], cwd=root, capture_output=True, text=True)
    assert refused.returncode == 2 and "keeps no checkpoint at step(s) [3]; it keeps [2, 4]" in refused.stderr


def test_evaluate_nll_scores_a_diffusion_run_in_bits_per_dim(tmp_path, trained_run, capsys):
    from gans_keras.train import main as train
    from tests.test_train import DIFFUSION_TINY

    run = tmp_path / "improved"
    assert train(DIFFUSION_TINY + ["--learn-sigma", "--loss-type", "vlb", "--steps", "2", "--out", str(run)]) == 0
    assert main(["--run", str(run), "--nll", "--num", "6"]) == 0
    nll = json.loads((run / "metrics.json").read_text())["nll"]
    # Two steps of training leave the denoiser close to its start (eps = 0): every term is positive.
    assert nll["images"] == 6 and nll["split"] == "test" and len(nll["terms"]) == 50
    assert nll["bits_per_dim"] > 0 and min(nll["terms"]) > 0 and nll["standard_error"] > 0
    assert "bits/dim" in capsys.readouterr().out
    assert main(["--run", str(trained_run), "--nll", "--num", "6"]) == 2
    assert "not a diffusion run" in capsys.readouterr().err
    assert main(["--samples", str(tmp_path / "s.npz"), "--nll"]) == 2
    assert "give --run" in capsys.readouterr().err
