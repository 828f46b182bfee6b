import numpy as np
from PIL import Image

from gans_keras.sample import main


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
