import os

import keras
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(0)


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory):
    """A tiny WGAN-GP trained for 4 steps on the real Fashion-MNIST files."""
    from gans_keras.train import main
    from tests.test_train import TINY

    out = tmp_path_factory.mktemp("runs") / "wgan"
    assert main(TINY + ["--steps", "4", "--out", str(out)]) == 0
    return out
