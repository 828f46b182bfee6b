"""Every malformed input a user can hand train, sample and evaluate ends in one line that names
the problem (exit status 2, no traceback) and leaves nothing half-written. The faults of a
running job (signals, full disks, truncated checkpoints, files that would run code) are in
test_faults.py; corrupt image files and mixed sizes in test_data.py and test_captions.py."""

import json

import numpy as np
import pytest
from PIL import Image

from gans_keras.captions import load_caption_folder
from gans_keras.data import load_folder
from gans_keras.evaluate import main as evaluate_main
from gans_keras.sample import main as sample_main
from gans_keras.train import main as train_main
from tests.test_train import TINY


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert err and err[-1].startswith("error: ") and "Traceback" not in "\n".join(err)
    return err[-1]


# --- train ------------------------------------------------------------------------------------

@pytest.mark.parametrize("overrides, message", [
    ({"steps": "ten"}, "steps must be an int, got 'ten'"),
    ({"steps": 1.5}, "steps must be an int, got 1.5"),
    ({"steps": True}, "steps must be an int, got True"),
    ({"lr_g": "0.1"}, "lr_g must be a float, got '0.1'"),
    ({"image_size": "32"}, "image_size must be an int or null, got '32'"),
    ({"stepz": 3}, "unknown config key(s) ['stepz']"),
])
def test_a_config_file_with_a_wrong_type_or_key_is_named(tmp_path, capsys, overrides, message):
    config = tmp_path / "config.json"
    config.write_text(json.dumps(overrides))
    assert train_main(["--config", str(config), "--out", str(tmp_path / "run")]) == 2
    assert message in _one_error_line(capsys)
    assert not (tmp_path / "run").exists()


def test_whole_numbers_are_accepted_where_a_float_is_meant(tmp_path):
    from gans_keras.config import make_config

    config = make_config({"lr_g": 1, "max_minutes": 3})
    assert (config.lr_g, config.max_minutes) == (1.0, 3.0) and isinstance(config.lr_g, float)


def test_an_unknown_flag_is_named(capsys):
    with pytest.raises(SystemExit) as exit_:
        train_main(["--stepz", "3"])
    assert exit_.value.code == 2 and "unrecognized arguments: --stepz 3" in capsys.readouterr().err


def _image_folder(root, classes=("tops", "schuhe_ü"), count=6):
    """Images of every mode (L, RGB, RGBA, P, 16-bit) and size, under names with spaces and accents."""
    rng = np.random.default_rng(0)
    for name in classes:
        (root / name).mkdir(parents=True)
        for i in range(count):
            pixels = rng.integers(0, 256, (20 + i, 24, 3), dtype=np.uint8)
            image = [Image.fromarray(pixels[..., 0]), Image.fromarray(pixels),
                     Image.fromarray(np.dstack([pixels, pixels[..., :1]])), Image.fromarray(pixels).convert("P"),
                     Image.fromarray(pixels[..., 0].astype(np.uint16) * 257)][i % 5]
            image.save(root / name / f"bild {i} é.png")
    return root


def test_a_folder_of_every_mode_and_size_loads_with_an_image_size(tmp_path):
    root = _image_folder(tmp_path / "my images")
    assert Image.open(root / "tops" / "bild 4 é.png").mode == "I;16"
    images, labels, names = load_folder(root, image_size=16, channels=1)
    assert images.shape == (12, 16, 16, 1) and names == ["schuhe_ü", "tops"]
    np.testing.assert_array_equal(np.bincount(labels), [6, 6])
    # The 16-bit image is rescaled, not clipped to white by PIL's convert("L").
    alone = tmp_path / "sixteen"
    alone.mkdir()
    (root / "tops" / "bild 4 é.png").rename(alone / "16-bit.png")
    loaded, _, _ = load_folder(alone, channels=1)
    expected = np.round(np.asarray(Image.open(alone / "16-bit.png"), np.float64) / 257)
    np.testing.assert_array_equal(loaded[0, ..., 0], expected)


def test_a_conditional_model_on_a_folder_of_one_class_is_refused(tmp_path, capsys):
    root = _image_folder(tmp_path / "shop", classes=("tops",), count=8)
    assert train_main(TINY + ["--model", "cgan", "--dataset", f"folder:{root}", "--image-size", "16",
                              "--out", str(tmp_path / "run")]) == 2
    assert "has one class" in _one_error_line(capsys) and not (tmp_path / "run").exists()


def test_fewer_images_than_one_batch_are_refused(tmp_path, capsys):
    root = _image_folder(tmp_path / "few", count=3)
    assert train_main(TINY + ["--dataset", f"folder:{root}", "--image-size", "16", "--batch-size", "8",
                              "--out", str(tmp_path / "run")]) == 2
    assert "has 6 images, fewer than one batch of 8: lower --batch-size" in _one_error_line(capsys)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("size", ["4", "1000"])
def test_an_image_size_out_of_range_is_refused(tmp_path, capsys, size):
    assert train_main(TINY + ["--image-size", size, "--out", str(tmp_path / "run")]) == 2
    assert f"image size {size} is not supported" in _one_error_line(capsys)


@pytest.mark.parametrize("file_name, message", [
    ("../outside.png", "lie outside it, e.g. '../outside.png'"),
    ("/etc/hostname", "lie outside it, e.g. '/etc/hostname'"),
    ("sub/../../outside.png", "lie outside it"),
    ("missing.png", "do not exist, e.g. missing.png"),
])
def test_a_captions_file_naming_files_outside_the_folder_or_missing_is_refused(tmp_path, file_name, message):
    root = tmp_path / "captioned"
    root.mkdir()
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(root / "a.png")
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "outside.png")
    (root / "metadata.jsonl").write_text(json.dumps({"file_name": "a.png", "text": "a top"}) + "\n"
                                         + json.dumps({"file_name": file_name, "text": "a shoe"}) + "\n")
    with pytest.raises((ValueError, FileNotFoundError), match=message):
        load_caption_folder(root)


# --- sample -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def conditional_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("runs") / "cgan"
    assert train_main(TINY + ["--model", "cgan", "--steps", "2", "--out", str(run)]) == 0
    return run


def test_sample_no_such_run_makes_nothing(tmp_path, capsys):
    assert sample_main(["--run", str(tmp_path / "nosuch"), "--num", "4"]) == 2
    assert f"no run directory {tmp_path / 'nosuch'}" in _one_error_line(capsys)
    assert not (tmp_path / "nosuch").exists()


def test_sample_a_corrupt_generator_file(tmp_path, trained_run, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_bytes((trained_run / "config.json").read_bytes())
    (run / "generator.keras").write_bytes((trained_run / "generator.keras").read_bytes()[:2000])
    assert sample_main(["--run", str(run), "--num", "4"]) == 2
    assert "generator.keras is not a readable .keras file (truncated or corrupt?)" in _one_error_line(capsys)
    assert not (run / "samples.npz").exists()


@pytest.mark.parametrize("flags, message", [
    (["--class", "10"], "--class 10 is not one of {run}'s classes, 0..9"),
    (["--class", "-1"], "--class -1 is not one of {run}'s classes, 0..9"),
    (["--guidance", "2"], "is not a diffusion run: --guidance does not apply"),
    (["--prompt", "a dark boot"], "is not a text-to-image run: --prompt does not apply"),
    (["--num", "0"], "num must be >= 1, got 0"),
    (["--batch-size", "0"], "batch_size must be >= 1, got 0"),
])
def test_sample_settings_the_run_cannot_take(conditional_run, tmp_path, capsys, flags, message):
    out = tmp_path / "s.npz"
    assert sample_main(["--run", str(conditional_run), "--num", "4", "--out", str(out), *flags]) == 2
    assert message.format(run=conditional_run) in _one_error_line(capsys)
    assert not out.exists()


def test_sample_class_on_an_unconditional_run(trained_run, tmp_path, capsys):
    assert sample_main(["--run", str(trained_run), "--num", "4", "--class", "1",
                        "--out", str(tmp_path / "s.npz")]) == 2
    assert "is unconditional: --class does not apply" in _one_error_line(capsys)


def test_sample_refuses_an_existing_output_unless_overwrite(trained_run, tmp_path, capsys):
    out = tmp_path / "s.npz"
    assert sample_main(["--run", str(trained_run), "--num", "4", "--out", str(out)]) == 0
    before = out.read_bytes()
    assert sample_main(["--run", str(trained_run), "--num", "6", "--out", str(out)]) == 2
    assert f"{out} exists: pass --overwrite to replace it" in _one_error_line(capsys)
    assert out.read_bytes() == before
    assert sample_main(["--run", str(trained_run), "--num", "6", "--out", str(out), "--overwrite"]) == 0
    assert np.load(out)["images"].shape[0] == 6


@pytest.mark.parametrize("name, message", [
    ("s.txt", "must end in .npz"),
    ("a_file/s.npz", "cannot write {tmp}/a_file: Not a directory"),
])
def test_sample_an_output_path_that_cannot_be_written(trained_run, tmp_path, capsys, name, message):
    (tmp_path / "a_file").write_text("")
    assert sample_main(["--run", str(trained_run), "--num", "4", "--out", str(tmp_path / name)]) == 2
    assert message.format(tmp=tmp_path) in _one_error_line(capsys)


# --- evaluate ---------------------------------------------------------------------------------

def _real(count=40):
    from gans_keras.data import load_arrays

    return load_arrays("fashion_mnist", "test")[0][:count]


def _with_nan(images):
    images = images.astype(np.float32)
    images[3, 1, 1, 0] = np.nan
    return images


@pytest.mark.parametrize("make, message", [
    (lambda x: x.astype(np.float32), "float32 in 0..255; evaluation takes uint8 0..255"),
    (lambda x: x.astype(np.float32) / 127.5 - 1, "float32 in -1..1; evaluation takes uint8 0..255: convert them "
                                                 "with np.clip(np.round(((images + 1) * 127.5))"),
    (lambda x: (x > 127).astype(np.uint8), "uint8 with every pixel 0 or 1: if they are in 0..1, scale them"),
    (lambda x: x[..., 0], "are (N, H, W) (40, 28, 28), without a channel axis"),
    (lambda x: np.repeat(x, 3, axis=-1), "the images have 3 channel(s) but fashion_mnist has 1"),
    (_with_nan, "1 of 40 images have NaN or inf pixels (the first is image 3)"),
    (lambda x: np.where(np.arange(40)[:, None, None, None] == 5, np.inf, x.astype(np.float64)),
     "1 of 40 images have NaN or inf pixels (the first is image 5)"),
    (lambda x: x.astype(np.uint16) * 257, "uint16 in 0..65535, outside 0..255 (16-bit images?)"),
    (lambda x: x[:0], "the images array is empty"),
    (lambda x: x[:10], "20 samples requested but only 10 given"),
])
def test_evaluate_images_it_cannot_score(tmp_path, capsys, make, message):
    samples = tmp_path / "samples.npz"
    np.savez(samples, images=make(_real()))
    assert evaluate_main(["--samples", str(samples), "--num", "20"]) == 2
    assert message in _one_error_line(capsys)
    assert not (tmp_path / "metrics.json").exists()


def test_evaluate_best_takes_a_run_not_samples(tmp_path, capsys):
    samples = tmp_path / "samples.npz"
    np.savez(samples, images=_real())
    assert evaluate_main(["--samples", str(samples), "--best", "--num", "20"]) == 2
    assert "--best applies to --run, not to --samples" in _one_error_line(capsys)
    assert not (tmp_path / "metrics.json").exists()


def test_evaluate_a_corrupt_metrics_file_is_named_before_scoring(tmp_path, capsys):
    samples = tmp_path / "samples.npz"
    np.savez(samples, images=_real())
    (tmp_path / "metrics.json").write_text("{")
    assert evaluate_main(["--samples", str(samples), "--num", "20"]) == 2
    assert "metrics.json is not valid JSON" in _one_error_line(capsys)
    assert (tmp_path / "metrics.json").read_text() == "{"


def test_evaluate_fewer_images_than_the_kid_subset_uses_the_largest_and_says_so(tmp_path, capsys):
    samples = tmp_path / "samples.npz"
    np.savez(samples, images=_real())
    assert evaluate_main(["--samples", str(samples), "--num", "30"]) == 0
    assert "warning: KID subsets of 30 images, the most there are, instead of 1000" in capsys.readouterr().err
    metrics = json.loads((tmp_path / "metrics.json").read_text())["classifier:fashion_mnist"]
    assert metrics["kid_subset_size"] == 30 and np.isfinite(metrics["kid_mean"])


def test_evaluate_a_run_trained_at_other_channels_compares_it_with_the_dataset_at_those(tmp_path, capsys):
    run = tmp_path / "rgb"
    assert train_main(TINY + ["--model", "dcgan", "--channels", "3", "--steps", "2", "--out", str(run)]) == 0
    assert evaluate_main(["--run", str(run), "--num", "20"]) == 0
    assert json.loads((run / "metrics.json").read_text())["classifier:fashion_mnist"]["num_samples"] == 20
