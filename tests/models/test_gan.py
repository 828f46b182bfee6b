import keras
import numpy as np
import pytest

from gans_keras.config import make_config
from gans_keras.layers import SpectralNormalization
from gans_keras.losses import GradientPenalty
from gans_keras.models.registry import get_model, jit_compile


def _tiny(**overrides):
    config = make_config({"g_width": 8, "d_width": 8, "latent_dim": 16, "batch_size": 4, **overrides})
    return config, get_model(config, image_size=16, channels=1)


def test_wgan_preset_is_the_papers():
    config, model = _tiny()
    assert (config.loss, config.n_critic, config.lr_d, config.beta_1, config.beta_2) == (
        "wasserstein", 5, 1e-4, 0.0, 0.9
    )
    assert [type(p) for p in model.penalties] == [GradientPenalty] and model.penalties[0].weight == 10.0


def _weights(network):
    return [keras.ops.convert_to_numpy(w).copy() for w in network.trainable_weights]


def test_train_step_updates_critic_n_critic_times_and_generator_once():
    config, model = _tiny(diffaugment="color,translation,cutout")
    d_before, g_before = _weights(model.discriminator), _weights(model.generator)
    real = np.random.default_rng(0).uniform(-1, 1, (config.batch_size, 5, 16, 16, 1)).astype("float32")
    logs = model.train_step((real, np.zeros((config.batch_size, 5), "int32")))
    assert int(model.d_optimizer.iterations) == 5 and int(model.g_optimizer.iterations) == 1
    assert set(logs) >= {"d_loss", "g_loss", "gp", "d_grad_norm", "g_grad_norm", "d_acc_real", "d_acc_fake"}
    assert 0.0 <= float(logs["d_acc_real"]) <= 1.0
    assert all(np.isfinite(float(v)) for v in logs.values())
    changed = [
        w.path for w, a, b in zip(model.discriminator.trainable_weights, d_before, _weights(model.discriminator),
                                  strict=True) if not np.allclose(a, b)
    ]
    # The Wasserstein loss and the penalty do not depend on the score's bias: only it stays.
    assert [w.path for w in model.discriminator.trainable_weights if w.path not in changed] == ["score/bias"]
    assert any(not np.allclose(a, b) for a, b in zip(g_before, _weights(model.generator), strict=True))


def test_unknown_model_lists_choices():
    with pytest.raises(ValueError, match="unknown model 'vae': choose from dcgan, cgan, sngan, wgan"):
        make_config({"model": "vae"})


def _one_step(model, config):
    shape = (config.batch_size, config.n_critic)
    real = np.random.default_rng(0).uniform(-1, 1, (*shape, 16, 16, 1)).astype("float32")
    return model.train_step((real, np.zeros(shape, "int32")))


def test_dcgan_preset_uses_normal_init_and_bce():
    config, model = _tiny(model="dcgan")
    assert (config.loss, config.n_critic, config.beta_1) == ("bce", 1, 0.5)
    kernel = keras.ops.convert_to_numpy(model.generator.layers[1].kernel)
    assert abs(kernel.std() - 0.02) < 0.002
    assert model.penalties == []


def test_sngan_normalises_every_discriminator_layer():
    config, model = _tiny(model="sngan")
    assert config.loss == "hinge" and config.spectral_norm
    weighted = [layer for layer in model.discriminator.layers if layer.weights]
    assert weighted and all(isinstance(layer, SpectralNormalization) for layer in weighted)
    for _ in range(3):
        _one_step(model, config)
    for layer in weighted:  # the power-iteration estimate the layers divide by is the kernel's top singular value
        kernel = keras.ops.convert_to_numpy(layer.layer.kernel)
        top = np.linalg.svd(kernel.reshape(-1, kernel.shape[-1]), compute_uv=False)[0]
        assert float(layer.sigma_and_u()[0]) == pytest.approx(top, rel=0.05)


def test_ema_generator_averages_weights():
    config, model = _tiny(ema_decay=0.9, n_critic=1)
    before_ema = _weights(model.ema_generator)
    assert model.sampling_generator is model.ema_generator
    _one_step(model, config)
    trained = [keras.ops.convert_to_numpy(w) for w in model.generator.trainable_variables]
    averaged = [keras.ops.convert_to_numpy(w) for w in model.ema_generator.trainable_variables]
    for start, new, ema in zip(before_ema, trained, averaged, strict=True):
        np.testing.assert_allclose(ema, 0.9 * start + 0.1 * new, rtol=1e-5, atol=1e-7)


def test_ema_generator_keeps_batchnorm_statistics_of_its_own_weights(monkeypatch):
    config, model = _tiny(model="dcgan", ema_decay=0.9)
    first_kernel = model.generator.trainable_variables[0]
    first_kernel.assign(3.0 * first_kernel)  # the live and the averaged weights now differ
    z = np.random.default_rng(1).standard_normal((64, config.latent_dim)).astype("float32")
    monkeypatch.setattr(model, "sample_latents", lambda batch_size: z)
    norm = next(layer for layer in model.ema_generator.layers if isinstance(layer, keras.layers.BatchNormalization))
    before = keras.ops.convert_to_numpy(norm.moving_mean).copy()
    model._update_ema(len(z), None)

    def batch_mean(network, layer_index):
        inputs = network.get_layer(index=layer_index).input
        activations = keras.ops.convert_to_numpy(keras.Model(network.inputs, inputs)([z]))
        return activations.mean(axis=tuple(range(activations.ndim - 1)))

    index = model.ema_generator.layers.index(norm)
    own, live = batch_mean(model.ema_generator, index), batch_mean(model.generator, index)
    assert np.abs(own - live).max() > 1e-3  # so the check below tells the two apart
    expected = norm.momentum * before + (1 - norm.momentum) * own
    np.testing.assert_allclose(keras.ops.convert_to_numpy(norm.moving_mean), expected, rtol=1e-4, atol=1e-6)


def test_bad_ema_decay():
    with pytest.raises(ValueError, match=r"ema_decay must be in \[0, 1\), got 1.0"):
        _tiny(ema_decay=1.0)


def test_instance_noise_decays_linearly_to_zero():
    config, model = _tiny(instance_noise=0.2, steps=10)
    for step, expected in ((0, 0.2), (5, 0.1), (10, 0.0), (12, 0.0)):
        model.g_optimizer.iterations.assign(step)
        assert float(model.instance_noise_std()) == pytest.approx(expected, abs=1e-7)


def test_penalties_and_optimizer_options():
    config, model = _tiny(r1=1.0, cr=2.0, optimizer="adamw", weight_decay=0.01, clip_grad_norm=1.0)
    assert [p.name for p in model.penalties] == ["gp", "r1", "cr"]
    assert isinstance(model.d_optimizer, keras.optimizers.AdamW) and model.d_optimizer.weight_decay == 0.01
    assert model.clip_grad_norm == 1.0
    logs = _one_step(model, config)
    assert {"gp", "r1", "cr"} <= set(logs) and all(np.isfinite(float(v)) for v in logs.values())


@pytest.mark.parametrize("optimizer, kind, option, value", [
    ("rmsprop", keras.optimizers.RMSprop, "rho", 0.99), ("sgd", keras.optimizers.SGD, "momentum", 0.5)])
def test_rmsprop_and_sgd_are_adams_moments_alone(optimizer, kind, option, value):
    config, model = _tiny(optimizer=optimizer, beta_1=0.5, beta_2=0.99, lr_g=1e-3)
    assert isinstance(model.g_optimizer, kind) and isinstance(model.d_optimizer, kind)
    assert getattr(model.g_optimizer, option) == pytest.approx(value)
    before = [w.numpy().copy() for w in model.generator.trainable_weights]
    logs = _one_step(model, config)
    assert all(np.isfinite(float(v)) for v in logs.values())
    assert any(not np.array_equal(a, b.numpy()) for a, b in zip(before, model.generator.trainable_weights, strict=True))


def test_conditional_gan_trains_with_labels():
    config = make_config({"model": "cgan", "num_classes": 10, "g_width": 8, "d_width": 8, "latent_dim": 16,
                          "batch_size": 4})
    model = get_model(config, image_size=16, channels=1)
    real = np.random.default_rng(0).uniform(-1, 1, (4, 16, 16, 1)).astype("float32")
    logs = model.train_step((real[:, None], np.arange(4, dtype="int32")[:, None]))
    assert all(np.isfinite(float(v)) for v in logs.values())
    with pytest.raises(ValueError, match="needs \\(images, labels\\) batches"):
        model.train_step(real[:, None])
    with pytest.raises(ValueError, match=r"takes n_critic=1 batches side by side, .* got \(4, 16, 16, 1\)"):
        model.train_step((real, np.arange(4, dtype="int32")))


def test_conditional_model_needs_num_classes():
    with pytest.raises(ValueError, match="cgan is conditional: set num_classes"):
        get_model(make_config({"model": "cgan"}), image_size=16, channels=1)


def _cgan(**overrides):
    config = make_config({"model": "cgan", "num_classes": 4, "g_width": 8, "d_width": 8, "latent_dim": 16,
                          "batch_size": 4, **overrides})
    return config, get_model(config, image_size=16, channels=1)


def test_aux_classifier_adds_class_losses():
    config, model = _cgan(aux_classifier=True)
    assert len(model.discriminator.outputs) == 2
    real = np.random.default_rng(0).uniform(-1, 1, (4, 16, 16, 1)).astype("float32")
    logs = model.train_step((real[:, None], np.arange(4, dtype="int32")[:, None]))
    # Untrained logits over 4 classes: cross-entropy near log(4) for each of real and fake.
    assert float(logs["d_aux"]) == pytest.approx(2 * np.log(4), rel=0.5)
    assert float(logs["g_aux"]) > 0 and 0.0 <= float(logs["d_class_acc_real"]) <= 1.0


def test_semi_supervised_discriminator_for_an_unconditional_model():
    config, model = _tiny(model="dcgan", aux_classifier=True, num_classes=4)
    assert model.num_classes is None and len(model.discriminator.outputs) == 2
    real = np.random.default_rng(0).uniform(-1, 1, (4, 16, 16, 1)).astype("float32")
    score, logits = model.discriminator_outputs(real, training=False)
    # Salimans et al. 2016: the real-vs-fake logit is the LogSumExp of the K real classes' logits.
    np.testing.assert_allclose(keras.ops.convert_to_numpy(score)[:, 0],
                               np.log(np.exp(keras.ops.convert_to_numpy(logits)).sum(-1)), rtol=1e-5)
    head = model.discriminator.get_layer("class_logits")
    before = keras.ops.convert_to_numpy(head.kernel).copy()
    logs = model.train_step((real[:, None], np.arange(4, dtype="int32")[:, None]))
    # Only the real images' labels are classified (the fakes have none): about log(4) untrained.
    assert float(logs["d_aux"]) == pytest.approx(np.log(4), rel=0.5) and "g_aux" not in logs
    assert not np.allclose(keras.ops.convert_to_numpy(head.kernel), before)
    with pytest.raises(ValueError, match="needs \\(images, labels\\) batches"):
        model.train_step(real[:, None])


def test_unconditional_num_classes_needs_the_aux_classifier():
    with pytest.raises(ValueError, match="num_classes on the unconditional wgan sizes the --aux-classifier head"):
        _tiny(num_classes=4)
    with pytest.raises(ValueError, match="aux_classifier on wgan classifies the dataset's labels: set num_classes"):
        _tiny(aux_classifier=True)


def test_r3gan_presets_train_with_r1_and_r2():
    for model_name, extra in (("r3gan", {}), ("r3gan_cond", {"num_classes": 4})):
        config, model = _tiny(model=model_name, **extra)
        assert (config.arch, config.loss, config.r1, config.r2, config.latent_dim, config.beta_1) == (
            "r3gan", "rpgan", 0.05, 0.05, 16, 0.0)  # latent 16: the test's override of the preset's 64
        assert [p.name for p in model.penalties] == ["r1", "r2"] and model.ema_generator is not None
        logs = _one_step(model, config)
        assert set(logs) >= {"d_loss", "g_loss", "r1", "r2"} and all(np.isfinite(float(v)) for v in logs.values())
        assert (model.num_classes is None) == (model_name == "r3gan")


def _copy_training_state(source, target):
    """target continues from source's networks, optimiser moments and random stream."""
    for network in ("discriminator", "generator"):
        getattr(target, network).set_weights(getattr(source, network).get_weights())
    for optimizer in ("d_optimizer", "g_optimizer"):
        for a, b in zip(getattr(source, optimizer).variables, getattr(target, optimizer).variables, strict=True):
            b.assign(a)
    target.seed_generator.state.assign(source.seed_generator.state)


def _assert_same_discriminator(a, b):
    for x, y in zip(_weights(a.discriminator), _weights(b.discriminator), strict=True):
        np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-7)


def test_lazy_r1_r2_is_the_penalty_times_reg_every_on_every_reg_every_th_update():
    """StyleGAN2's lazy regularisation: on a due update the penalties weigh reg_every times
    gamma, so the first step equals an eager model's with reg_every x gamma; the next update
    adds no penalty (its D step equals one without R1 and R2) and logs the last value."""
    base = dict(model="r3gan", ema_decay=0.0, n_critic=1)
    config, lazy = _tiny(reg_every=3, r1=0.5, r2=0.25, **base)
    _, eager = _tiny(r1=1.5, r2=0.75, **base)
    _, unregularised = _tiny(r1=0.0, r2=0.0, **base)
    _copy_training_state(lazy, eager)
    first = _one_step(lazy, config)
    eager_first = _one_step(eager, config)
    _assert_same_discriminator(lazy, eager)
    assert float(first["r1"]) == pytest.approx(float(eager_first["r1"]), rel=1e-5) and float(first["r1"]) > 0
    _copy_training_state(lazy, unregularised)
    second = _one_step(lazy, config)
    _one_step(unregularised, config)
    _assert_same_discriminator(lazy, unregularised)
    assert float(second["r1"]) == float(first["r1"]) and float(second["r2"]) == float(first["r2"])


def test_reg_every_needs_r1_or_r2_and_the_r3gan_sizes_need_r3gan():
    with pytest.raises(ValueError, match="reg_every spaces out the R1 and R2 penalties"):
        make_config({"model": "dcgan", "reg_every": 4})
    with pytest.raises(ValueError, match="blocks_per_stage sizes the r3gan networks"):
        make_config({"model": "sngan", "blocks_per_stage": 1})
    with pytest.raises(ValueError, match="width_doubling sizes the r3gan networks"):
        make_config({"model": "dcgan", "width_doubling": True})
    with pytest.raises(ValueError, match="reg_every must be >= 1"):
        make_config({"model": "r3gan", "reg_every": 0})
    with pytest.raises(ValueError, match="XLA does not compile: use --jit-compile auto or off"):
        make_config({"model": "r3gan", "reg_every": 4, "jit_compile": "on"})
    config, model = _tiny(model="r3gan", reg_every=4)  # auto: XLA's choice on a GPU, off with lazy R1/R2
    assert jit_compile(config) is False


def test_replay_buffer_stores_fakes_and_mixes_them_in():
    config, model = _tiny(replay_buffer=8, n_critic=1)
    for step in range(3):
        _one_step(model, config)
        assert int(model.replay_count) == 4 * (step + 1)
    stored = keras.ops.convert_to_numpy(model.replay_images)
    assert np.abs(stored).sum() > 0 and np.abs(stored).max() <= 1.0  # generator outputs, in [-1, 1]
    fake = np.ones((4, 16, 16, 1), "float32") * 0.5
    mixed, _ = model._replay(fake, None)
    mixed = keras.ops.convert_to_numpy(mixed)
    np.testing.assert_array_equal(mixed[:2], 0.5)  # fresh half
    assert not np.allclose(mixed[2:], 0.5)  # replayed half, from earlier steps


def test_replay_buffer_with_labels():
    config, model = _cgan(replay_buffer=8)
    real = np.random.default_rng(0).uniform(-1, 1, (4, 16, 16, 1)).astype("float32")
    for _ in range(2):
        model.train_step((real[:, None], np.array([[3], [3], [3], [3]], "int32")))
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(model.replay_labels), 3)


def test_replay_buffer_smaller_than_a_batch():
    with pytest.raises(ValueError, match="replay_buffer must hold at least one batch"):
        _tiny(replay_buffer=2)


@pytest.mark.parametrize("precision", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision_trains_every_option_and_the_export_samples(precision, tmp_path):
    config, model = _tiny(model="cgan", num_classes=10, precision=precision, loss="rpgan", gp=1.0, r1=1.0, r2=1.0,
                          cr=1.0, diffaugment="color,translation,cutout", replay_buffer=8, aux_classifier=True,
                          instance_noise=0.1, ema_decay=0.9, minibatch_std=True)
    assert keras.config.dtype_policy().name == "float32"  # the global policy is left as it was
    compute = precision.removeprefix("mixed_")
    assert {layer.compute_dtype for layer in model.generator.layers if layer.weights} == {compute}
    # The score and class heads compute in float32, the rest of D in the low precision.
    heads = {layer.name: layer.compute_dtype for layer in model.discriminator.layers if layer.weights}
    assert heads.pop("class_logits") == "float32" and set(heads.values()) == {compute}
    # Variables stay float32; float16 gets a dynamic loss scale, bfloat16 (float32's range) none.
    assert all(v.dtype == "float32" for v in model.generator.trainable_weights)
    scaled = [isinstance(opt, keras.optimizers.LossScaleOptimizer) for opt in (model.d_optimizer, model.g_optimizer)]
    assert scaled == [precision == "mixed_float16"] * 2
    rng = np.random.default_rng(0)
    real = rng.uniform(-1, 1, (config.batch_size, 16, 16, 1)).astype("float32")
    labels = rng.integers(0, 10, config.batch_size).astype("int32")
    before = _weights(model.generator)
    for _ in range(3):
        logs = model.train_step((real[:, None], labels[:, None]))
    assert all(np.isfinite(float(value)) for value in logs.values()), logs
    assert set(logs) >= {"gp", "r1", "r2", "cr", "d_aux"}
    assert any(not np.allclose(a, b) for a, b in zip(before, _weights(model.generator), strict=True))
    model.sampling_generator.save(tmp_path / "generator.keras")
    reloaded = keras.saving.load_model(tmp_path / "generator.keras", compile=False)
    z = rng.standard_normal((3, 16)).astype("float32")
    images = keras.ops.convert_to_numpy(reloaded([z, np.arange(3, dtype="int32")]))
    assert images.shape == (3, 16, 16, 1) and np.isfinite(images.astype("float32")).all()
