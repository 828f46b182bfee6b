import keras
import numpy as np
import pytest
import tensorflow as tf

from gans_keras import rng
from gans_keras.config import make_config
from gans_keras.data import load_arrays
from gans_keras.models.registry import get_model

TINY = {"model": "diffusion", "unet_width": 8, "unet_mults": "1,2", "timesteps": 100, "dropout": 0.0}


def _batch(n=16):
    images, labels = load_arrays("fashion_mnist", "train")
    return images[:n].astype("float32") / 127.5 - 1.0, labels[:n].astype("int32")


def test_tiny_model_overfits_one_batch():
    model = get_model(make_config(TINY, {"lr_g": 2e-3, "num_classes": 10, "ema_decay": 0.0}), 28, 1)
    images, labels = _batch()
    data = tf.data.Dataset.from_tensors((images, labels)).repeat()
    history = model.fit(data, steps_per_epoch=200, epochs=1, verbose=0, shuffle=False, callbacks=[LossRecorder()])
    losses = np.array(history.model.recorded)
    # Untrained, the zero output conv predicts eps = 0: MSE 1 against unit-variance noise.
    assert losses[0] == pytest.approx(1.0, abs=0.1)
    assert losses[-50:].mean() < 0.15


class LossRecorder(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.model.recorded = []

    def on_train_batch_end(self, batch, logs=None):
        self.model.recorded.append(float(logs["loss"]))


@pytest.mark.parametrize("dropout, trained_rows", [(0.0, "classes"), (1.0, "null")])
def test_label_dropout_trains_the_no_label_embedding(dropout, trained_rows):
    model = get_model(make_config(TINY, {"num_classes": 10, "label_dropout": dropout, "ema_decay": 0.0}), 28, 1)
    embedding = model.network.get_layer("label_embedding").embeddings
    before = embedding.numpy().copy()
    images, labels = _batch()
    for _ in range(4):  # the zero-initialised convs pass no gradient back in the first steps
        model.train_on_batch(images, labels)
    changed = np.abs(embedding.numpy() - before).max(axis=1) > 0
    if trained_rows == "null":
        np.testing.assert_array_equal(changed, [False] * 10 + [True])
    else:
        assert not changed[10] and changed[np.unique(labels)].all()


def test_ema_network_follows_the_weights_with_warm_up():
    model = get_model(make_config(TINY, {"num_classes": 10, "ema_decay": 0.5}), 28, 1)
    images, labels = _batch()
    for update in (1, 2, 3):
        before = [w.numpy().copy() for w in model.ema_network.weights]
        model.train_on_batch(images, labels)
        decay = min(0.5, (1 + update) / (10 + update))  # 2/11, 3/12, 4/13: below the 0.5 cap
        for average, start, weight in zip(model.ema_network.weights, before, model.network.weights, strict=True):
            np.testing.assert_allclose(average.numpy(), decay * start + (1 - decay) * weight.numpy(),
                                       rtol=1e-5, atol=1e-7)
    assert model.sampling_generator.network is model.ema_network


def test_every_sampling_generator_repeats_its_draw_from_one_trace():
    settings = {"num_classes": 10, "sampler": "ddpm", "sampling_steps": 3, "guidance_sigma_min": 0.28}
    model = get_model(make_config(TINY, settings), 28, 1)
    noise = np.random.default_rng(0).standard_normal((2, 28, 28, 1)).astype("float32")
    labels = np.array([0, 1])
    first, second = model.sampling_generator, model.sampling_generator
    assert (first.guidance_sigma_min, first.guidance_sigma_max) == (0.28, np.inf)  # no upper limit by default
    first.configure(guidance=1.0)
    assert second.guidance == 0.0  # settings are each sampler's own
    # Same step noise (a sample grid looks the same each time it is drawn), one traced network call.
    np.testing.assert_array_equal(first.configure(guidance=0.0)([noise, labels]), second([noise, labels]))
    assert second.network_call is first.network_call  # the compiled call, shared by every copy
    assert first.network_call.experimental_get_tracing_count() == 1


@pytest.mark.parametrize("precision", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision_trains(precision):
    model = get_model(make_config(TINY, {"num_classes": 10, "precision": precision, "prediction": "v"}), 28, 1)
    assert keras.config.dtype_policy().name == "float32"  # the global policy is left as it was
    assert model.network.get_layer("stem").compute_dtype == precision.removeprefix("mixed_")
    images, labels = _batch()
    for _ in range(2):
        logs = model.train_on_batch(images, labels, return_dict=True)
    assert np.isfinite(logs["loss"]) and np.isfinite(logs["grad_norm"])
    if precision == "mixed_float16":
        assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    out = model.network([tf.constant(images[:2]), tf.constant([3, 4]), tf.constant([1, 2])])
    assert out.dtype == tf.float32


def test_adamw_takes_effect_and_decays_the_weights():
    settings = {"num_classes": 10, "optimizer": "adamw", "weight_decay": 0.5, "ema_decay": 0.0, "lr_g": 1e-3}
    model = get_model(make_config(TINY, settings), 28, 1)
    assert isinstance(model.optimizer, keras.optimizers.AdamW) and model.optimizer.weight_decay == 0.5
    kernel = model.network.get_layer("stem").kernel
    before = keras.ops.convert_to_numpy(kernel)
    model.optimizer.apply([keras.ops.zeros_like(v) for v in model.network.trainable_variables],
                          model.network.trainable_variables)
    # A zero gradient leaves Adam's step at 0: only the decoupled decay, w -= lr * wd * w, moves w.
    np.testing.assert_allclose(keras.ops.convert_to_numpy(kernel), before * (1 - 1e-3 * 0.5), rtol=1e-6)


def test_gan_settings_are_refused():
    with pytest.raises(ValueError, match="n_critic"):
        get_model(make_config(TINY, {"num_classes": 10, "n_critic": 2}), 28, 1)


@pytest.mark.parametrize("gamma", [0.0, 0.5])
def test_min_snr_gamma_weights_each_images_error(gamma):
    config = make_config(TINY, {"num_classes": 10, "ema_decay": 0.0, "min_snr_gamma": gamma})
    model = get_model(config, 28, 1)
    images, labels = _batch()
    # The same stream the train step draws t and the noise from.
    stream = keras.random.SeedGenerator(config.seed)
    t = rng.randint((len(images),), 0, config.timesteps, stream)
    noise = keras.ops.convert_to_numpy(rng.normal(images.shape, stream))
    # The untrained network's zero output convolution predicts eps = 0, so each image's error
    # is the mean square of its noise.
    errors = (noise**2).mean(axis=(1, 2, 3))
    snr = model.schedule.snr()[keras.ops.convert_to_numpy(t)]
    weights = np.minimum(snr, gamma) / snr if gamma else np.ones_like(snr)
    if gamma:  # the batch holds steps on both sides of gamma
        assert 0 < (weights < 1).sum() < len(weights)
    loss = model.train_on_batch(images, labels, return_dict=True)["loss"]
    assert loss == pytest.approx((weights * errors).mean(), rel=1e-5)
