import importlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gans_keras.evaluate import main as evaluate_main
from gans_keras.sample import main
from gans_keras.samplers import sampling_timesteps
from gans_keras.sampling import balanced_labels, load_generator, sample
from gans_keras.schedules import NoiseSchedule
from gans_keras.viz import to_uint8


def test_sample_cli_writes_uint8_images_and_grid(trained_run, tmp_path):
    out = tmp_path / "s.npz"
    assert main(["--run", str(trained_run), "--num", "30", "--out", str(out), "--batch-size", "7"]) == 0
    with np.load(out) as data:
        images = data["images"]
    assert images.shape == (30, 28, 28, 1) and images.dtype == np.uint8
    assert images.std() > 0
    assert Image.open(out.with_suffix(".png")).size[0] > 28


def test_same_seed_same_samples(trained_run, tmp_path):
    for name, seed in (("a", "1"), ("b", "1"), ("c", "2")):
        out = tmp_path / f"{name}.npz"
        assert main(["--run", str(trained_run), "--num", "5", "--seed", seed, "--out", str(out)]) == 0
    a, b, c = (np.load(tmp_path / f"{n}.npz")["images"] for n in "abc")
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_missing_run(tmp_path, capsys):
    assert main(["--run", str(tmp_path), "--num", "5"]) == 2
    assert "no generator.keras" in capsys.readouterr().err


def test_conditional_run_samples_by_class(tmp_path):
    from gans_keras.train import main as train_main
    from tests.test_train import TINY

    run = tmp_path / "cgan"
    assert train_main(TINY + ["--model", "cgan", "--steps", "2", "--out", str(run)]) == 0
    assert json.loads((run / "config.json").read_text())["num_classes"] == 10
    grid = Image.open(run / "samples" / "step_00000002.png")
    assert grid.size == ((10 * 30 + 2) * 2, (10 * 30 + 2) * 2)  # 10 classes x 10 samples, 28 px + 2 padding
    assert main(["--run", str(run), "--num", "30", "--class", "3", "--out", str(tmp_path / "three.npz")]) == 0
    with np.load(tmp_path / "three.npz") as data:
        assert data["images"].shape == (30, 28, 28, 1)
        np.testing.assert_array_equal(data["labels"], 3)
    assert main(["--run", str(run), "--num", "20", "--out", str(tmp_path / "all.npz")]) == 0
    with np.load(tmp_path / "all.npz") as data:
        np.testing.assert_array_equal(np.bincount(data["labels"]), [2] * 10)


def test_class_on_unconditional_run(trained_run, capsys):
    assert main(["--run", str(trained_run), "--num", "5", "--class", "1"]) == 2
    assert "unconditional" in capsys.readouterr().err


@pytest.fixture(scope="module")
def diffusion_run(tmp_path_factory):
    from gans_keras.train import main as train_main
    from tests.test_train import DIFFUSION_TINY

    run = tmp_path_factory.mktemp("runs") / "diffusion"
    assert train_main(DIFFUSION_TINY + ["--steps", "2", "--out", str(run)]) == 0
    return run


def test_diffusion_run_samples_with_its_default_sampler(diffusion_run, tmp_path):
    out = tmp_path / "d.npz"
    assert main(["--run", str(diffusion_run), "--num", "20", "--out", str(out)]) == 0
    with np.load(out) as data:
        assert data["images"].shape == (20, 28, 28, 1) and data["images"].dtype == np.uint8
        np.testing.assert_array_equal(np.bincount(data["labels"]), [2] * 10)


def test_diffusion_sampler_flags_and_stats(diffusion_run, tmp_path):
    out, stats = tmp_path / "g.npz", tmp_path / "stats.json"
    argv = ["--run", str(diffusion_run), "--num", "6", "--out", str(out), "--sampler", "ddpm",
            "--sampling-steps", "4", "--timestep-spacing", "quadratic", "--guidance", "1.5", "--class", "2",
            "--no-clip-x0", "--stats", str(stats)]
    assert main(argv) == 0
    with np.load(out) as data:
        np.testing.assert_array_equal(data["labels"], 2)
    recorded = json.loads(stats.read_text())
    assert recorded["t"] == sampling_timesteps(NoiseSchedule("linear", 50).alpha_bars, 4, "quadratic").tolist()
    assert stats.with_suffix(".png").exists()
    # Same flags, same seed: the same images; DDIM instead: others.
    assert main(argv[:-2] + ["--out", str(tmp_path / "again.npz")]) == 0
    np.testing.assert_array_equal(np.load(out)["images"], np.load(tmp_path / "again.npz")["images"])


@pytest.mark.parametrize("argv, message", [
    (["--sampling-steps", "51"], "sampling steps must be in [1, 50]"),
    (["--sampler", "ddpm", "--eta", "-1"], "eta must be >= 0"),
    (["--guidance-sigma-min", "2", "--guidance-sigma-max", "1"], "guidance interval needs"),
])
def test_bad_diffusion_settings(diffusion_run, capsys, argv, message):
    assert main(["--run", str(diffusion_run), "--num", "2"] + argv) == 2
    assert message in capsys.readouterr().err


def test_diffusion_flags_on_a_gan_run(trained_run, capsys):
    assert main(["--run", str(trained_run), "--num", "2", "--sampler", "ddim"]) == 2
    assert "not a diffusion run: --sampler" in capsys.readouterr().err


def test_evaluate_a_diffusion_run_with_another_sampler(diffusion_run, capsys):
    assert evaluate_main(["--run", str(diffusion_run), "--num", "150", "--sampler", "ddpm",
                          "--sampling-steps", "4"]) == 0
    metrics = json.loads((diffusion_run / "metrics.json").read_text())["classifier:fashion_mnist"]
    assert metrics["num_samples"] == 150 and np.isfinite(metrics["fid"])
    assert evaluate_main(["--samples", str(diffusion_run / "x.npz"), "--sampler", "ddim"]) == 2
    assert "apply to --run" in capsys.readouterr().err


@pytest.mark.filterwarnings("ignore:20 samples for 128-d features")
def test_benchmark_scores_samplers_with_settings_and_resets_them(diffusion_run, tmp_path):
    """benchmarks/diffusion_samplers.py: a setting holds for its own sampler only, and a plain
    sampler's scores equal `evaluate --run` with the same flags (same seed, same images)."""
    root = Path(__file__).resolve().parents[1]
    out = tmp_path / "samplers.json"
    subprocess.run([sys.executable, "benchmarks/diffusion_samplers.py", "--run", str(diffusion_run), "--name", "t",
                    "--samplers", "ddim:3:20:guidance=2,ddim:3:20", "--out", str(out)], cwd=root, check=True)
    samplers = json.loads(out.read_text())["samplers"]
    assert list(samplers) == ["ddim-3-guidance2-20img", "ddim-3-20img"]
    assert samplers["ddim-3-guidance2-20img"]["guidance"] == 2 and samplers["ddim-3-20img"]["images"] == 20
    reference = tmp_path / "evaluate.json"
    assert evaluate_main(["--run", str(diffusion_run), "--num", "20", "--sampler", "ddim", "--sampling-steps", "3",
                          "--out", str(reference)]) == 0
    expected = json.loads(reference.read_text())["classifier:fashion_mnist"]["fid"]
    assert samplers["ddim-3-20img"]["classifier:fashion_mnist"]["fid"] == pytest.approx(expected, rel=1e-9)
    # Ignored guidance would give the same images, so the same FID to the last bit (the fixture's
    # barely trained network guides weakly: the scores are close).
    assert samplers["ddim-3-guidance2-20img"]["classifier:fashion_mnist"]["fid"] != expected


def test_sampling_from_start_continues_the_seeds_images(trained_run):
    generator = load_generator(trained_run)
    whole = sample(generator, 7, seed=3, batch_size=4, verbose=False)
    pieces = [sample(generator, 2, seed=3, verbose=False), sample(generator, 5, seed=3, start=2, verbose=False)]
    np.testing.assert_array_equal(np.concatenate(pieces), whole)
    with pytest.raises(ValueError, match="start must be >= 0"):
        sample(generator, 2, start=-1)


def test_diffusion_sampling_seed_also_seeds_the_step_noise(diffusion_run):
    """`sample(seed=S)` (and so `--seed S`) draws DDPM's step noise from S as well as the latents,
    not from the run's seed: with the same step noise, other latents give nearly the same images."""
    generator = load_generator(diffusion_run).configure(sampler="ddpm", steps=3)
    assert generator.seed == 0
    images = sample(generator, 4, seed=1, verbose=False)
    latents = np.random.default_rng(1).standard_normal((4, *generator.latent_shape)).astype("float32")
    expected = generator.generate(latents, balanced_labels(4, generator.num_classes), seed=[1, generator.calls])
    np.testing.assert_array_equal(images, to_uint8(expected))


def test_benchmark_parts_join_into_the_images_of_one_process(diffusion_run, tmp_path, monkeypatch, capsys):
    """diffusion_samplers.py --generate-only --part K/N: joined by --from-samples, the parts'
    images are one process's (latents, labels and per-batch step noise), for each sampler."""
    root = Path(__file__).resolve().parents[1]
    monkeypatch.syspath_prepend(str(root / "benchmarks"))
    benchmark = importlib.import_module("diffusion_samplers")
    specs = "ddpm:2:600,ddim:2:520:guidance=1:eta=1"  # two batches of 500 each; the second's noise follows the first's

    def run(*argv):
        monkeypatch.setattr(sys, "argv", ["diffusion_samplers.py", "--run", str(diffusion_run), *argv])
        return benchmark.main()

    for part in ("0/1", "1/2", "0/2"):
        assert run("--samplers", specs, "--generate-only", str(tmp_path / part.replace("/", "of")), "--part", part) == 0
    assert run("--samplers", specs, "--generate-only", str(tmp_path / "seed1"), "--seed", "1") == 0
    whole = benchmark.joined_samples([tmp_path / "0of1"])
    parts = benchmark.joined_samples([tmp_path / "1of2", tmp_path / "0of2"])
    other_seed = benchmark.joined_samples([tmp_path / "seed1"])
    assert list(parts) == list(whole) == ["ddpm-2-600img", "ddim-2-guidance1-eta1-520img"]
    for key, (record, images) in parts.items():
        assert len(images) == record["images"] == whole[key][0]["images"] and record["parts"] == 2
        np.testing.assert_array_equal(images, whole[key][1])
        assert not np.array_equal(images, other_seed[key][1])
    with pytest.raises(ValueError, match="give each of the N parts once"):
        benchmark.joined_samples([tmp_path / "0of2"])

    out = tmp_path / "joined.json"
    with pytest.raises(SystemExit):  # nothing to draw from another seed
        run("--name", "t", "--from-samples", str(tmp_path / "0of1"), "--seed", "1", "--out", str(out))
    assert "the saved images keep the seed they were made with" in capsys.readouterr().err and not out.exists()
    assert run("--name", "t", "--from-samples", str(tmp_path / "0of2"), str(tmp_path / "1of2"), "--out", str(out)) == 0
    scored = json.loads(out.read_text())["samplers"]["ddpm-2-600img"]
    assert scored["parts"] == 2 and len(scored["sampled_by"]["command"]) == 2
    assert scored["classifier:fashion_mnist"]["num_samples"] == 600
