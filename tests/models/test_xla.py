"""Every model trains under XLA (`--jit-compile on`) with the losses and weights it has without it."""

import json

import numpy as np
import pytest
import tensorflow as tf

from gans_keras import rng
from gans_keras.config import make_config
from gans_keras.models.registry import get_model
from gans_keras.sampling import load_generator, sample

EVERY_GAN_OPTION = dict(gp=1.0, r1=1.0, r2=1.0, cr=1.0, diffaugment="color,translation,cutout", replay_buffer=8,
                        instance_noise=0.1, ema_decay=0.9, minibatch_std=True, spectral_norm=True, g_width=8,
                        d_width=8, latent_dim=16, batch_size=4)
CASES = {
    "dcgan": dict(model="dcgan", **EVERY_GAN_OPTION),
    "wgan": dict(model="wgan", n_critic=2, **EVERY_GAN_OPTION),
    "sngan": dict(model="sngan", n_critic=2, arch="resnet", **EVERY_GAN_OPTION),
    "cgan": dict(model="cgan", num_classes=10, aux_classifier=True, loss="rpgan", **EVERY_GAN_OPTION),
    # R3GAN's networks take no spectral norm; its unconditional form tries the semi-supervised head, and
    # the doubled widths their 1x1 transitions.
    "r3gan": dict(model="r3gan", num_classes=10, aux_classifier=True, blocks_per_stage=1, width_doubling=True,
                  **{**EVERY_GAN_OPTION, "spectral_norm": False}),
    # Grown networks (get_model builds them without reading grow_from's run), fading in over the 3 steps.
    "grown_dcgan": dict(model="dcgan", grow_from="unread", fade_steps=2, g_input="conv", d_head="dense:8",
                        init_std=0.01, **EVERY_GAN_OPTION),
    "diffusion": dict(model="diffusion", num_classes=10, unet_width=8, unet_mults="1,2", batch_size=4, dropout=0.3,
                      min_snr_gamma=5.0),
    "improved_ddpm": dict(model="diffusion", num_classes=10, unet_width=8, unet_mults="1,2", batch_size=4,
                          learn_sigma=True, loss_type="hybrid", timestep_sampling="importance", unet_activation="mish",
                          unet_init="orthogonal"),
}
STEPS = 3


def _train(overrides: dict, jit_compile: str):
    config = make_config(overrides, {"jit_compile": jit_compile, "seed": 3})
    tf.keras.utils.set_random_seed(config.seed)
    model = get_model(config, image_size=16, channels=1)
    data = np.random.default_rng(0)
    count = STEPS * model.batches_per_step * config.batch_size
    images = data.uniform(-1, 1, (count, 16, 16, 1)).astype("float32")
    labels = data.integers(0, 10, count).astype("int32")
    batches = tf.data.Dataset.from_tensor_slices((images, labels)).batch(config.batch_size)
    history = model.fit(model.step_inputs(batches), epochs=1, steps_per_epoch=STEPS, verbose=0)
    return {name: values[-1] for name, values in history.history.items()}, [w.numpy() for w in model.weights]


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(CASES))
def test_xla_trains_every_option_to_the_same_numbers(case):
    logs_off, weights_off = _train(CASES[case], "off")
    logs_on, weights_on = _train(CASES[case], "on")
    assert set(logs_on) == set(logs_off)
    for name in logs_off:
        assert np.isfinite(logs_on[name]), name
        np.testing.assert_allclose(logs_on[name], logs_off[name], rtol=1e-3, atol=1e-4, err_msg=name)
    for on, off in zip(weights_on, weights_off, strict=True):
        np.testing.assert_allclose(on, off, rtol=1e-3, atol=1e-4)


def _draws(generator):
    return (rng.normal((200, 100), generator), rng.uniform((200, 100), generator, -2.0, 2.0),
            rng.randint((200, 100), -3, 4, generator), rng.dropout(tf.ones((200, 100)), 0.3, generator))


def test_draws_under_xla_equal_those_without_it_and_have_their_distributions():
    import keras

    plain = [x.numpy() for x in tf.function(_draws)(keras.random.SeedGenerator(7))]
    compiled = [x.numpy() for x in tf.function(_draws, jit_compile=True)(keras.random.SeedGenerator(7))]
    for a, b in zip(plain, compiled, strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-6)  # Box-Muller's log and cos: an ulp apart at most
    normal, uniform, integers, dropped = plain
    assert abs(normal.mean()) < 0.03 and abs(normal.std() - 1) < 0.02 and abs((normal**3).mean()) < 0.1
    assert uniform.min() >= -2 and uniform.max() < 2 and abs(uniform.mean()) < 0.03
    assert set(np.unique(integers)) == set(range(-3, 4))
    assert set(np.unique(dropped)) == {0.0, np.float32(1 / 0.7)} and abs((dropped == 0).mean() - 0.3) < 0.02
    # The next draw of a stream is a new one.
    generator = keras.random.SeedGenerator(7)
    assert not np.allclose(rng.normal((10,), generator), rng.normal((10,), generator))


# dcgan networks, resnet blocks, R3GAN's blocks and bilinear upsampling, the UNet; the resnet case compiles
# for about 3 minutes on 2 cores and the r3gan one for about 40 s, so they run with the slow tests (make
# test-slow, in CI) to keep make test under 15 minutes.
@pytest.mark.parametrize("case", ["cgan", pytest.param("sngan", marks=pytest.mark.slow),
                                  pytest.param("r3gan", marks=pytest.mark.slow), "diffusion"])
def test_mixed_precision_trains_under_xla_and_the_export_reloads_and_samples(case, tmp_path):
    import keras

    config = make_config(CASES[case], {"jit_compile": "on", "precision": "mixed_bfloat16"})
    model = get_model(config, image_size=16, channels=1)
    data = np.random.default_rng(0)
    count = 2 * model.batches_per_step * config.batch_size
    batches = tf.data.Dataset.from_tensor_slices(
        (data.uniform(-1, 1, (count, 16, 16, 1)).astype("float32"), data.integers(0, 10, count).astype("int32"))
    ).batch(config.batch_size)
    history = model.fit(model.step_inputs(batches), epochs=1, steps_per_epoch=2, verbose=0).history
    assert all(np.isfinite(values[-1]) for values in history.values()), history
    model.sampling_generator.save(tmp_path / "generator.keras")  # what training exports
    reloaded = keras.saving.load_model(tmp_path / "generator.keras", compile=False)
    assert "bfloat16" in {layer.compute_dtype for layer in reloaded.layers if layer.weights}
    (tmp_path / "config.json").write_text(json.dumps(config.to_dict()))
    generator = load_generator(tmp_path)
    if case == "diffusion":
        generator.configure(steps=3)
    images = sample(generator, 4, verbose=False)  # a conditional generator's default labels: i % classes
    assert images.shape == (4, 16, 16, 1) and np.isfinite(images).all()
