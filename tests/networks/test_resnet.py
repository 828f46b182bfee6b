import numpy as np
import pytest

from gans_keras.layers import ResBlockDown, ResBlockUp
from gans_keras.networks.resnet import build_discriminator, build_generator


@pytest.mark.parametrize("size, channels", [(28, 1), (32, 3)])
def test_generator_and_discriminator_shapes(size, channels):
    generator = build_generator(latent_dim=8, image_size=size, channels=channels, width=8)
    images = generator(np.zeros((2, 8), "float32"))
    assert images.shape == (2, size, size, channels)
    assert sum(isinstance(layer, ResBlockUp) for layer in generator.layers) == 3  # 4 -> 32
    discriminator = build_discriminator(image_size=size, channels=channels, width=8, spectral_norm=True)
    assert discriminator(images).shape == (2, 1)
    assert sum(isinstance(layer, ResBlockDown) for layer in discriminator.layers) == 5


def test_conditional_resnet_with_aux_head():
    generator = build_generator(latent_dim=8, image_size=16, channels=1, width=8, num_classes=3)
    discriminator = build_discriminator(image_size=16, channels=1, width=8, num_classes=3, aux_classifier=True)
    images = generator([np.zeros((2, 8), "float32"), np.array([0, 2])])
    score, logits = discriminator([np.asarray(images), np.array([0, 2])])
    assert score.shape == (2, 1) and logits.shape == (2, 3)


def test_resnet_rejects_what_it_cannot_honour():
    with pytest.raises(ValueError, match="takes no norm"):
        build_discriminator(norm="layer")
    with pytest.raises(ValueError, match="3x3"):
        build_discriminator(kernel_size=4)
