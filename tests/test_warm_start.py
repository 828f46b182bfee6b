"""Growing a GAN run to twice its size, warm starts from another run, and the network options
(--g-input, --d-head, --init-std): real networks, real runs on Fashion-MNIST, real checkpoints."""

import json

import keras
import numpy as np
import pytest

from gans_keras.config import make_config
from gans_keras.layers import FadeIn
from gans_keras.models.registry import get_model
from gans_keras.networks import dcgan, resnet
from gans_keras.sample import main as sample_main
from gans_keras.sampling import load_generator, sample
from gans_keras.train import main
from gans_keras.training import image_dataset
from gans_keras.viz import generator_value_range
from gans_keras.warm_start import _copy_by_name, grown_config, start_from
from tests.test_train import TINY

SMALL = TINY + ["--image-size", "16", "--model", "dcgan", "--steps", "4"]


def _numpy(x):
    return keras.ops.convert_to_numpy(x)


def _networks(module, size, width, grown=False, **options):
    generator = module.build_generator(16, size, 1, width, num_classes=3, init="normal", fade_in=grown)
    discriminator = module.build_discriminator(size, 1, width, num_classes=3, minibatch_std=True, spectral_norm=True,
                                               head_units=(8,), fade_in=grown, **options)
    return generator, discriminator


@pytest.mark.parametrize("module, width, size", [(dcgan, 16, 16), (dcgan, 16, 14), (resnet, 8, 16), (resnet, 8, 32)])
def test_grown_networks_at_alpha_zero_are_the_old_ones(module, width, size):
    generator, discriminator = _networks(module, size, width)
    grown_width = width // 2 if module is dcgan else width  # each resolution keeps its channels
    grown_generator, grown_discriminator = _networks(module, 2 * size, grown_width, grown=True)
    copied = _copy_by_name(generator, grown_generator) + _copy_by_name(discriminator, grown_discriminator)
    # Every weighted layer of the old networks has its counterpart.
    old_layers = [layer.name for net in (generator, discriminator) for layer in net.layers if layer.weights]
    assert sorted(copied) == sorted(old_layers)
    rng = np.random.default_rng(0)
    z, labels = rng.standard_normal((4, 16)).astype("float32"), np.array([0, 1, 2, 0], "int32")
    old_images = _numpy(generator([z, labels]))
    grown_images = _numpy(grown_generator([z, labels]))
    assert grown_images.shape == (4, 2 * size, 2 * size, 1)
    np.testing.assert_array_equal(grown_images, old_images.repeat(2, axis=1).repeat(2, axis=2))
    images = rng.uniform(-1, 1, (4, 2 * size, 2 * size, 1)).astype("float32")
    half = images.reshape(4, size, 2, size, 2, 1).mean(axis=(2, 4))
    np.testing.assert_allclose(_numpy(grown_discriminator([images, labels])), _numpy(discriminator([half, labels])),
                               rtol=1e-5, atol=1e-6)
    # The new blocks count once alpha moves: at alpha 1 the old path is gone.
    for network in (grown_generator, grown_discriminator):
        next(layer for layer in network.layers if isinstance(layer, FadeIn)).alpha.assign(1.0)
    assert not np.allclose(_numpy(grown_generator([z, labels])), grown_images)


def test_resnet_runs_over_32_pixels_grow_only_once_grown(tmp_path, capsys):
    # From scratch at 64 px its discriminator stops at 8x8: no counterpart for a grown one's blocks at 4x4.
    source = tmp_path / "resnet64"
    argv = TINY + ["--model", "sngan", "--arch", "resnet", "--n-dis", "1", "--image-size", "64", "--steps", "1"]
    assert main(argv + ["--out", str(source)]) == 0
    assert main(["--grow-from", str(source), "--steps", "1", "--out", str(tmp_path / "grown")]) == 2
    assert "grow resnet runs of 32 px or fewer" in capsys.readouterr().err


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    """A dcgan trained 4 steps at 16 px, with an EMA generator."""
    out = tmp_path_factory.mktemp("runs") / "small"
    assert main(SMALL + ["--ema-decay", "0.9", "--out", str(out)]) == 0
    return out


def _alpha(run, step):
    with np.load(run / "checkpoints" / f"ckpt-{step:08d}.npz") as data:
        return sorted(float(data[key]) for key in data.files if key.startswith("model/") and key.endswith("alpha"))


def test_grow_16_to_32_trains_fades_in_and_samples_from_the_cli(small_run, tmp_path, capsys):
    grown = tmp_path / "grown"
    assert main(["--grow-from", str(small_run), "--steps", "6", "--fade-steps", "4", "--out", str(grown)]) == 0
    assert "grown from" in capsys.readouterr().out
    config = json.loads((grown / "config.json").read_text())
    assert (config["image_size"], config["g_width"], config["d_width"]) == (32, 4, 4)
    assert (config["grow_from"], config["ema_decay"], config["fade_steps"]) == (str(small_run), 0.9, 4)
    # Generator, EMA generator and discriminator each have a FadeIn: alpha = step / fade_steps.
    assert _alpha(grown, 2) == [0.5] * 3
    assert _alpha(grown, 4) == [1.0] * 3 and _alpha(grown, 6) == [1.0] * 3
    assert json.loads((grown / "summary.json").read_text())["final_logs"]["fade_alpha"] == 1.0
    assert sample_main(["--run", str(grown), "--num", "5", "--out", str(tmp_path / "s.npz")]) == 0
    with np.load(tmp_path / "s.npz") as samples:
        assert samples["images"].shape == (5, 32, 32, 1)
    # A grown run resumes (its fade state is in the checkpoint) and grows again to 64.
    assert main(["--resume", "--out", str(grown), "--steps", "8"]) == 0
    assert main(["--grow-from", str(grown), "--steps", "1", "--out", str(tmp_path / "grown64")]) == 0
    assert json.loads((tmp_path / "grown64" / "config.json").read_text())["image_size"] == 64


def test_grow_refuses_a_run_still_fading_in(small_run, tmp_path, capsys):
    grown = tmp_path / "grown"
    assert main(["--grow-from", str(small_run), "--steps", "2", "--fade-steps", "4", "--out", str(grown)]) == 0
    assert main(["--grow-from", str(grown), "--steps", "1", "--out", str(tmp_path / "again")]) == 2
    assert "still fading in its last growth (alpha 0.500)" in capsys.readouterr().err


def test_grown_config_keeps_the_run_and_checks_its_widths(small_run, tmp_path):
    config = grown_config(small_run, {"steps": 3})
    assert (config.image_size, config.g_width, config.latent_dim, config.steps) == (32, 4, 16, 3)
    assert grown_config(small_run, {"g_width": 6}).g_width == 6  # given widths are kept
    odd = tmp_path / "odd"
    odd.mkdir()
    settings = json.loads((small_run / "config.json").read_text())
    (odd / "config.json").write_text(json.dumps({**settings, "g_width": 5}))
    with pytest.raises(ValueError, match="has g_width 5: a grown dcgan network halves it"):
        grown_config(odd)
    (odd / "config.json").write_text(json.dumps({**settings, "image_size": None}))
    with pytest.raises(ValueError, match="give the grown size, --image-size"):
        grown_config(odd)


def _state(network):
    return [_numpy(weight) for weight in network.weights]


def _warm_model(small_run, **settings):
    source_settings = json.loads((small_run / "config.json").read_text())
    config = make_config({**source_settings, "init_from": str(small_run), **settings})
    model = get_model(config, 16, 1)
    return config, model


@pytest.mark.parametrize("parts", ["discriminator", "generator", "generator,discriminator,ema", "ema"])
def test_warm_start_copies_exactly_the_named_parts(small_run, parts):
    source_config, source = _warm_model(small_run)
    from gans_keras.checkpoint import list_checkpoints, load_checkpoint

    load_checkpoint(source, list_checkpoints(small_run / "checkpoints")[-1])
    config, model = _warm_model(small_run, init_parts=parts)
    fresh = {name: _state(getattr(model, name)) for name in ("generator", "discriminator", "ema_generator")}
    assert start_from(model, config, 16, 1).startswith(f"warm start from {small_run}")
    named = parts.split(",")
    for part, network in (("generator", "generator"), ("discriminator", "discriminator"), ("ema", "ema_generator")):
        expected = _state(getattr(source, network)) if part in named else None
        if part == "ema" and part not in named:
            # The run's EMA starts as its generator: the copied one, or its own fresh one.
            expected = _state(model.generator)
        if expected is None:
            expected = fresh[network]
        for got, want in zip(_state(getattr(model, network)), expected, strict=True):
            np.testing.assert_array_equal(got, want)
    # The optimisers start afresh.
    assert int(model.g_optimizer.iterations) == 0 and int(model.d_optimizer.iterations) == 0


def test_warm_start_names_the_first_mismatching_layer(small_run, tmp_path, capsys):
    argv = SMALL + ["--init-from", str(small_run), "--init-parts", "discriminator", "--d-width", "16",
                    "--out", str(tmp_path / "run")]
    assert main(argv) == 2
    error = capsys.readouterr().err
    assert "the discriminator's layer 0 (Conv2D from_images_16, weights [(4, 4, 1, 16), (16,)])" in error
    assert "(Conv2D from_images_16 [(4, 4, 1, 8), (8,)])" in error


def test_warm_start_trains_from_the_cli(small_run, tmp_path):
    out = tmp_path / "run"
    assert main(SMALL + ["--init-from", str(small_run), "--init-parts", "discriminator", "--steps", "2",
                         "--out", str(out)]) == 0
    config = json.loads((out / "config.json").read_text())
    assert (config["init_from"], config["init_parts"]) == (str(small_run), "discriminator")
    assert main(["--resume", "--out", str(out), "--steps", "4"]) == 0  # from its own checkpoint, not the source


@pytest.mark.parametrize("settings, message", [
    ({"fade_steps": 10}, "fade_steps is how fast a grown run's new blocks fade in: it needs grow_from"),
    ({"init_parts": "discriminator"}, "init_parts names what init_from copies: it needs init_from"),
    ({"init_from": "a", "init_parts": "critic"}, "init_parts must name some of generator, discriminator, ema"),
    ({"init_from": "a", "grow_from": "b"}, "grow_from already starts from a run's weights"),
    ({"model": "wgan", "init_std": 0.01}, "init_std is the std of --init normal; init is glorot"),
    ({"d_head": "512"}, "d_head must be dense:UNITS"),
    ({"model": "r3gan", "g_input": "conv"}, "g_input and d_head are for dcgan and resnet"),
    ({"model": "r3gan", "grow_from": "b"}, "r3gan does not grow"),
    ({"arch": "resnet", "g_activation": "leaky_relu"}, "g_activation is the dcgan generator's; arch resnet"),
    ({"bn_momentum": 1.0}, r"bn_momentum must be in \[0, 1\), got 1.0"),
])
def test_bad_settings_are_refused(settings, message):
    with pytest.raises(ValueError, match=message):
        make_config({"model": "dcgan", **settings})


def test_grow_and_warm_start_errors_are_one_line(small_run, tmp_path, capsys):
    assert main(["--grow-from", str(tmp_path / "nothing"), "--out", str(tmp_path / "a")]) == 2
    assert "is not a run directory" in capsys.readouterr().err
    no_ema = SMALL + ["--ema-decay", "0"]
    assert main(no_ema + ["--init-from", str(small_run), "--init-parts", "ema", "--out", str(tmp_path / "b")]) == 2
    assert "init_parts names ema, but this run has no EMA generator" in capsys.readouterr().err
    for setting in ("--init-from", "--grow-from"):  # the source run saw pixels in [-1, 1]
        assert main(SMALL + [setting, str(small_run), "--pixel-range", "01", "--image-size",
                             "16" if setting == "--init-from" else "32", "--out", str(tmp_path / setting)]) == 2
        assert (f"{setting[2:].replace('-', '_')} {small_run} has pixel_range 11; this run has 01: its networks would "
                f"read and write pixels in another range") in capsys.readouterr().err
        assert not (tmp_path / setting).exists()


@pytest.mark.parametrize("options", [
    {"g_input": "reshape"}, {"g_input": "conv"}, {"d_head": "dense:32,16"},
    {"init": "normal", "init_std": 0.01}, {"arch": "resnet", "g_input": "conv", "d_head": "dense:8"},
    {"model": "cgan", "g_input": "reshape", "latent_dim": 32, "num_classes": 10},
    {"g_activation": "leaky_relu", "bn_momentum": 0.9}, {"g_input": "conv", "g_activation": "leaky_relu"},
])
def test_network_options_build_train_a_step_and_serialise(options, tmp_path):
    config = make_config({"model": "dcgan", "latent_dim": 16, "g_width": 8, "d_width": 8, "batch_size": 4,
                          "image_size": 16, **options})
    model = get_model(config, 16, 1)
    names = [layer.name for layer in model.generator.layers]
    assert ("project" in names) == (config.g_input != "reshape")
    if config.d_head:
        assert [layer.name for layer in model.discriminator.layers if layer.name.startswith("head_")] == \
            ["head_0", "head_1"][:len(config.d_head.split(","))]
    activations = {type(layer).__name__ for layer in model.generator.layers} & {"ReLU", "LeakyReLU"}
    assert activations == {"LeakyReLU" if config.g_activation == "leaky_relu" else "ReLU"}
    momenta = {layer.momentum for layer in model.generator.layers if isinstance(layer, keras.layers.BatchNormalization)}
    assert momenta == {config.bn_momentum}
    if "init_std" in options:
        kernel = _numpy(model.generator.get_layer("up_8").kernel)
        assert abs(kernel.std() - 0.01) < 0.002
    images = np.random.default_rng(0).uniform(-1, 1, (4, 1, 16, 16, 1)).astype("float32")
    labels = np.zeros((4, 1), "int32")
    logs = model.train_step((images, labels) if config.model == "cgan" else images)
    assert np.isfinite(float(logs["g_loss"]))
    model.generator.save(tmp_path / "g.keras")
    reloaded = keras.saving.load_model(tmp_path / "g.keras")
    z = np.random.default_rng(1).standard_normal((2, config.latent_dim)).astype("float32")
    inputs = [z, np.zeros(2, "int32")] if config.model == "cgan" else z
    np.testing.assert_allclose(_numpy(reloaded(inputs)), _numpy(model.generator(inputs)), atol=1e-6)


def test_reshape_input_needs_a_multiple_of_16():
    with pytest.raises(ValueError, match="they must be a multiple of 16"):
        get_model(make_config({"model": "dcgan", "latent_dim": 20, "g_input": "reshape"}), 16, 1)


@pytest.mark.parametrize("pixel_range, span", [("11", (-1.0, 1.0)), ("01", (0.0, 1.0))])
def test_pixel_range_sets_the_data_the_output_and_how_samples_become_pixels(pixel_range, span, tmp_path):
    config = make_config({"model": "dcgan", "pixel_range": pixel_range, "batch_size": 64})
    images, _ = next(iter(image_dataset(config)))
    assert (float(np.min(images)), float(np.max(images))) == span  # Fashion-MNIST has black and white pixels
    run = tmp_path / "run"
    assert main(SMALL + ["--pixel-range", pixel_range, "--out", str(run)]) == 0
    generator = load_generator(run)
    assert generator.get_layer("images").activation.__name__ == {"11": "tanh", "01": "sigmoid"}[pixel_range]
    assert generator_value_range(generator) == span
    latents = np.random.default_rng(5).standard_normal((6, 16)).astype("float32")
    low, high = span
    expected = np.clip(np.round((_numpy(generator(latents)) - low) * 255 / (high - low)), 0, 255)
    np.testing.assert_array_equal(sample(generator, 6, seed=5, verbose=False), expected)


def test_pixel_range_01_refuses_augmentations_written_for_minus_one_to_one():
    for option in ({"diffaugment": "translation"}, {"cr": 1.0}):
        with pytest.raises(ValueError, match="pixel_range 01: DiffAugment's colour and translation"):
            make_config({"model": "dcgan", "pixel_range": "01", **option})
