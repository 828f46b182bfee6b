import numpy as np
import pytest

from gans_keras.checkpoint import list_checkpoints, load_checkpoint, save_checkpoint
from gans_keras.config import make_config
from gans_keras.models.registry import get_model


def _model(width=8):
    config = make_config({"g_width": width, "d_width": width, "latent_dim": 8, "batch_size": 2})
    return get_model(config, image_size=8, channels=1)


def _train_one_step(model):
    real = np.random.default_rng(0).uniform(-1, 1, (2, model.n_critic, 8, 8, 1)).astype("float32")
    model.train_step((real, np.zeros((2, model.n_critic), "int32")))


def test_round_trip_restores_every_variable(tmp_path):
    model = _model()
    _train_one_step(model)
    path = save_checkpoint(model, tmp_path)
    assert path.name == "ckpt-00000001.npz"
    fresh = _model()
    assert load_checkpoint(fresh, path) == 1
    groups = [(model.variables, fresh.variables)] + [
        (model.optimizers[name].variables, fresh.optimizers[name].variables) for name in model.optimizers
    ]
    for saved, restored in groups:
        for a, b in zip(saved, restored, strict=True):
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_mismatched_model_is_refused(tmp_path):
    model = _model(width=8)
    path = save_checkpoint(model, tmp_path)
    with pytest.raises(ValueError, match="does not fit this model.*shape"):
        load_checkpoint(_model(width=16), path)


def test_prunes_to_keep(tmp_path):
    model = _model()
    for _ in range(4):
        _train_one_step(model)
        save_checkpoint(model, tmp_path, keep=2)
    assert [p.name for p in list_checkpoints(tmp_path)] == ["ckpt-00000003.npz", "ckpt-00000004.npz"]
