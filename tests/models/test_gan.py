import keras
import numpy as np
import pytest

from gans_keras.config import make_config
from gans_keras.losses import GradientPenalty
from gans_keras.models.registry import get_model


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
    real = np.random.default_rng(0).uniform(-1, 1, (config.batch_size * 5, 16, 16, 1)).astype("float32")
    logs = model.train_step((real, np.zeros(len(real), "int32")))
    assert int(model.d_optimizer.iterations) == 5 and int(model.g_optimizer.iterations) == 1
    assert set(logs) >= {"d_loss", "g_loss", "gp", "d_grad_norm", "g_grad_norm"}
    assert all(np.isfinite(float(v)) for v in logs.values())
    changed = [
        w.path for w, a, b in zip(model.discriminator.trainable_weights, d_before, _weights(model.discriminator),
                                  strict=True) if not np.allclose(a, b)
    ]
    # The Wasserstein loss and the penalty do not depend on the score's bias: only it stays.
    assert [w.path for w in model.discriminator.trainable_weights if w.path not in changed] == ["score/bias"]
    assert any(not np.allclose(a, b) for a, b in zip(g_before, _weights(model.generator), strict=True))


def test_unknown_model_lists_choices():
    with pytest.raises(ValueError, match="unknown model 'vae': choose from wgan"):
        make_config({"model": "vae"})
