import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from gans_keras.networks.unet import build_unet
from gans_keras.samplers import SAMPLERS, sampling_timesteps
from gans_keras.samplers.loop import DiffusionSampler, plot_sampling_stats
from gans_keras.sampling import load_generator
from gans_keras.schedules import NoiseSchedule

T = 50


def _network(num_classes=None, random_weights=True):
    unet = build_unet(8, 1, width=8, channel_mults=(1, 2), res_blocks=1, attention_resolution=4,
                      num_classes=num_classes)
    if random_weights:  # a network that predicts something, the zero-initialised convs included
        rng = np.random.default_rng(0)
        for weight in unet.weights:
            weight.assign(rng.normal(0, 0.2, weight.shape).astype("float32"))
    return unet


@pytest.fixture(scope="module")
def noise():
    return np.random.default_rng(1).standard_normal((4, 8, 8, 1)).astype("float32")


def test_configure_changes_steps_and_spacing_independently():
    schedule = NoiseSchedule("linear", T)
    sampler = DiffusionSampler(_network(), schedule, steps=10)
    np.testing.assert_array_equal(sampler.configure(spacing="quadratic").timesteps,
                                  sampling_timesteps(schedule.alpha_bars, 10, "quadratic"))
    np.testing.assert_array_equal(sampler.configure(steps=5).timesteps,
                                  sampling_timesteps(schedule.alpha_bars, 5, "quadratic"))
    np.testing.assert_array_equal(sampler.configure(sampler="dpmpp_2m").timesteps,
                                  sampling_timesteps(schedule.alpha_bars, 5, "quadratic"))


def test_ddim_with_eta_0_is_deterministic(noise):
    sampler = DiffusionSampler(_network(), NoiseSchedule("linear", T), sampler="ddim", steps=10, eta=0.0)
    a = sampler.generate(noise, seed=1)
    b = sampler.generate(noise, seed=2)
    np.testing.assert_array_equal(a, b)
    noisy = sampler.configure(eta=1.0)
    assert not np.allclose(noisy.generate(noise, seed=1), noisy.generate(noise, seed=2))


@pytest.mark.parametrize("clip", [True, False])
def test_ddim_eta_1_over_all_steps_follows_the_ddpm_posterior(noise, clip):
    network, schedule = _network(), NoiseSchedule("cosine", T)
    ddpm = DiffusionSampler(network, schedule, sampler="ddpm", steps=T, clip_x0=clip).generate(noise, seed=5)
    ddim = DiffusionSampler(network, schedule, sampler="ddim", steps=T, eta=1.0, clip_x0=clip).generate(noise, seed=5)
    np.testing.assert_allclose(ddim, ddpm, rtol=1e-4, atol=1e-4)
    # and it is a different path from deterministic DDIM
    ddim0 = DiffusionSampler(network, schedule, sampler="ddim", steps=T, eta=0.0, clip_x0=clip).generate(noise)
    assert not np.allclose(ddim0, ddpm, atol=1e-2)


def test_on_step_reports_the_fraction_done_after_every_step(noise):
    sampler = DiffusionSampler(_network(), NoiseSchedule("linear", T), sampler="ddpm", steps=7)
    fractions = []
    with_progress = sampler.generate(noise, seed=3, on_step=fractions.append)
    np.testing.assert_allclose(fractions, np.arange(1, 8) / 7)
    np.testing.assert_array_equal(with_progress, sampler.generate(noise, seed=3))


def test_a_network_saved_under_tensorflow_samples_the_same_under_jax(tmp_path, noise):
    # What lets a run trained here be sampled on a GPU machine that has Keras but no TensorFlow.
    run = tmp_path / "run"
    run.mkdir()
    _network(num_classes=3).save(run / "generator.keras")
    (run / "config.json").write_text(json.dumps({"model": "diffusion", "timesteps": T, "num_classes": 3}))
    np.save(tmp_path / "noise.npy", noise)
    labels = [0, 1, 2, 0]
    settings = dict(sampler="ddpm", steps=10, guidance=1.0)  # stochastic steps, doubled guided batches
    script = f"""
import sys
import numpy as np
from gans_keras.sampling import load_generator
sampler = load_generator({str(run)!r}).configure(**{settings!r})
np.save({str(tmp_path / "jax.npy")!r}, sampler.generate(np.load({str(tmp_path / "noise.npy")!r}), {labels}, seed=5))
assert "tensorflow" not in sys.modules, "sampling imported TensorFlow"
"""
    done = subprocess.run([sys.executable, "-c", script], env={**os.environ, "KERAS_BACKEND": "jax"},
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    expected = load_generator(run).configure(**settings).generate(noise, np.array(labels), seed=5)
    np.testing.assert_allclose(np.load(tmp_path / "jax.npy"), expected, atol=1e-4)


def test_zero_noise_prediction_explodes_without_clipping_and_not_with_it(noise):
    # eps = 0 everywhere (the untrained, zero-initialised UNet): each DDIM step rescales x_t by
    # sqrt(abar_prev / abar_t), so x_0 = x_T / sqrt(abar_{T-1}): the over-exposed images.
    schedule = NoiseSchedule("linear", T)
    sampler = DiffusionSampler(_network(random_weights=False), schedule, steps=10, clip_x0=False)
    unclipped = sampler.generate(noise)
    np.testing.assert_allclose(unclipped, noise / np.sqrt(schedule.alpha_bars[-1]), rtol=1e-5)
    assert np.abs(unclipped).max() > 10
    assert sampler.stats["x0_max"][0] == pytest.approx(noise.max() / np.sqrt(schedule.alpha_bars[-1]), rel=1e-5)
    clipped = sampler.configure(clip_x0=True).generate(noise)
    assert np.abs(clipped).max() <= 1.0 + 1e-6
    assert len(sampler.stats["t"]) == 10 and sampler.stats["t"][0] == T - 1
    assert set(sampler.stats) == {"t", "x_min", "x_max", "x_std", "x0_min", "x0_max", "x0_std"}


def test_guidance_0_equals_the_conditional_prediction(noise):
    network = _network(num_classes=3)
    sampler = DiffusionSampler(network, NoiseSchedule("linear", T), num_classes=3, guidance=0.0)
    labels = np.array([0, 1, 2, 1], np.int32)
    t = np.full(4, 20, np.int32)
    conditional = network([noise, t, labels]).numpy()
    np.testing.assert_allclose(sampler.predict_eps(noise, 20, labels), conditional, rtol=1e-5, atol=1e-6)
    unconditional = network([noise, t, np.full(4, 3, np.int32)]).numpy()
    guided = sampler.configure(guidance=2.0).predict_eps(noise, 20, labels)
    np.testing.assert_allclose(guided, 3 * conditional - 2 * unconditional, rtol=1e-4, atol=1e-5)


def test_guidance_applies_only_inside_its_noise_interval(noise):
    network, schedule = _network(num_classes=3), NoiseSchedule("linear", T)
    sigmas = 1 / np.sqrt(schedule.snr())
    sampler = DiffusionSampler(network, schedule, num_classes=3, guidance=2.0,
                               guidance_sigma_min=sigmas[10], guidance_sigma_max=sigmas[30])
    assert [t for t in range(T) if sampler.guided_at(t)] == list(range(11, 31))  # (min, max]
    labels = np.array([0, 1, 2, 1], np.int32)
    for t, guided in ((40, False), (30, True), (10, False)):
        inside = sampler.predict_eps(noise, t, labels)
        plain = sampler.configure(guidance=0.0).predict_eps(noise, t, labels)
        everywhere = sampler.configure(guidance=2.0, guidance_sigma_min=0.0, guidance_sigma_max=np.inf).predict_eps(
            noise, t, labels)
        np.testing.assert_allclose(inside, everywhere if guided else plain, rtol=1e-5, atol=1e-6)
        assert not np.allclose(everywhere, plain, atol=1e-3)
        sampler.configure(guidance_sigma_min=sigmas[10], guidance_sigma_max=sigmas[30])
    with pytest.raises(ValueError, match=r"guidance interval needs .*got \(3.0, 1.0\]"):
        sampler.configure(guidance_sigma_min=3.0, guidance_sigma_max=1.0)


def test_v_prediction_is_turned_into_eps(noise):
    schedule = NoiseSchedule("linear", T)
    sampler = DiffusionSampler(_network(random_weights=False), schedule, prediction="v")
    # v = 0 means eps = sqrt(1 - abar_t) x_t.
    np.testing.assert_allclose(sampler.predict_eps(noise, 30, None), np.sqrt(1 - schedule.alpha_bars[30]) * noise,
                               rtol=1e-6)


def test_bad_settings_raise(noise):
    network, schedule = _network(), NoiseSchedule("linear", T)
    with pytest.raises(ValueError, match="guidance needs"):
        DiffusionSampler(network, schedule, guidance=1.0)
    with pytest.raises(ValueError, match="sampler must be one of ddim, ddpm, dpmpp_2m, dpmpp_2m_sde, got 'euler'"):
        DiffusionSampler(network, schedule, sampler="euler")
    with pytest.raises(ValueError, match="timestep_spacing must be one of"):
        DiffusionSampler(network, schedule).configure(spacing="cubic")
    with pytest.raises(ValueError, match="sampling steps must be in"):
        DiffusionSampler(network, schedule).configure(steps=0)
    with pytest.raises(ValueError, match="takes no labels"):
        DiffusionSampler(network, schedule).generate(noise, labels=np.zeros(4, np.int32))
    with pytest.raises(ValueError, match="needs labels"):
        DiffusionSampler(_network(num_classes=2), schedule, num_classes=2).generate(noise)


def test_call_and_predict_give_fresh_reproducible_noise(noise, tmp_path):
    network, schedule = _network(), NoiseSchedule("linear", T)

    def images():
        return DiffusionSampler(network, schedule, sampler="ddpm", steps=5).predict(tf.constant(noise), batch_size=2)

    first = images()
    assert first.shape == noise.shape
    np.testing.assert_array_equal(first, images())
    assert not np.allclose(first[:2], first[2:])
    sampler = DiffusionSampler(network, schedule, steps=5)
    sampler.generate(noise)
    plot_sampling_stats(sampler.stats, tmp_path / "stats.png")
    assert (tmp_path / "stats.png").stat().st_size > 0


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_guidance_0_is_conditional_sampling_for_every_sampler(noise, name):
    # w = 0, and w = 2 limited to an interval that holds no step, give the conditional images;
    # w = 2 at every step gives others, whichever sampler takes the guided predictions.
    network, schedule = _network(num_classes=3), NoiseSchedule("linear", T)
    labels = np.array([0, 1, 2, 1], np.int32)

    def images(**settings):
        sampler = DiffusionSampler(network, schedule, num_classes=3, sampler=name, steps=6, spacing="logsnr",
                                   **settings)
        return sampler.generate(noise, labels, seed=4)

    conditional = images(guidance=0.0)
    never_guided = images(guidance=2.0, guidance_sigma_min=1e6, guidance_sigma_max=1e7)
    np.testing.assert_allclose(never_guided, conditional, rtol=1e-5, atol=1e-5)
    assert not np.allclose(images(guidance=2.0), conditional, atol=1e-3)
