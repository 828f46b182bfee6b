"""Run directories written by an earlier version (tests/fixtures/runs_8e6feea) still load,
resume, sample and evaluate, and a diffusion run samples the images it sampled then."""

import shutil
from pathlib import Path

import numpy as np
import pytest

from gans_keras.evaluate import main as evaluate_main
from gans_keras.sample import main as sample_main
from gans_keras.sampling import load_generator, sample
from gans_keras.train import main as train_main

FIXTURES = Path(__file__).parent / "fixtures" / "runs_8e6feea"


@pytest.mark.filterwarnings("ignore:20 samples for 128-d features")  # a 20-image evaluation, on purpose
@pytest.mark.parametrize("name", ["wgan", "diffusion"])
def test_an_old_run_resumes_samples_and_evaluates(name, tmp_path):
    run = tmp_path / name
    shutil.copytree(FIXTURES / name, run)
    assert train_main(["--resume", "--out", str(run), "--steps", "4"]) == 0
    assert (run / "checkpoints" / "ckpt-00000004.npz").exists()
    assert sample_main(["--run", str(run), "--num", "20", "--out", str(tmp_path / "s.npz")]) == 0
    with np.load(tmp_path / "s.npz") as data:
        assert data["images"].shape == (20, 28, 28, 1)
    assert evaluate_main(["--samples", str(tmp_path / "s.npz"), "--num", "20", "--out", str(tmp_path / "m.json")]) == 0
    assert (tmp_path / "m.json").exists()


def test_an_old_diffusion_run_samples_the_images_it_sampled_then():
    # The sampler classes and the keras.ops float32 loop replaced a float64 NumPy loop: same
    # images but for rounding, one grey level at most.
    expected = np.load(FIXTURES / "diffusion" / "expected_samples.npz")
    for key, settings in (("ddim", dict(sampler="ddim", steps=5)),
                          ("ddpm_guided", dict(sampler="ddpm", steps=5, guidance=1.0))):
        generator = load_generator(FIXTURES / "diffusion").configure(**settings)
        images = sample(generator, 20, seed=3, verbose=False).astype(int)
        difference = np.abs(images - expected[key].astype(int))
        assert difference.max() <= 1 and (difference > 0).mean() < 0.01, (key, difference.max())
