import keras
import numpy as np
import pytest
from PIL import Image

from gans_keras.config import make_config
from gans_keras.models.registry import get_model
from gans_keras.networks.dcgan import build_discriminator, build_generator
from gans_keras.viz import architecture_plot, cam_overlay_grid, discriminator_cam


@pytest.mark.parametrize("network", [
    build_generator(latent_dim=8, image_size=28, width=8),
    build_discriminator(image_size=28, width=8, spectral_norm=True, minibatch_std=True),
])
def test_architecture_plot_works_on_keras3_models(network, tmp_path):
    image = architecture_plot(network, tmp_path / "a.png")
    assert image.size[0] > 100 and Image.open(tmp_path / "a.png").size == image.size
    # The output_shape lent to visualkeras is taken back afterwards.
    assert not hasattr(network.layers[1], "output_shape")


def test_discriminator_cam_shapes_range_and_locality():
    config = make_config({"g_width": 8, "d_width": 8, "latent_dim": 8})
    model = get_model(config, image_size=16, channels=1)
    images = np.random.default_rng(0).integers(0, 256, (3, 16, 16, 1)).astype(np.uint8)
    cams = discriminator_cam(model, images)
    assert cams.shape == (3, 16, 16) and cams.min() >= 0.0 and cams.max() <= 1.0


def test_cam_is_zero_where_features_are_zero():
    # Bias-free convolution + ReLU on an image that is zero (in [-1, 1]: value 127.5) in its
    # bottom half: the feature map, and so the heatmap, vanish there.
    inputs = keras.Input((16, 16, 1))
    features = keras.layers.Conv2D(4, 1, use_bias=False, activation="relu",
                                   kernel_initializer=keras.initializers.Constant(1.0))(inputs)
    score = keras.layers.Dense(1, kernel_initializer="ones")(keras.layers.Flatten()(features))
    discriminator = keras.Model(inputs, score)
    images = np.zeros((1, 16, 16, 1), np.float32)
    images[:, :8] = 1.0
    cam = discriminator_cam(discriminator, images)
    assert cam[0, :7].min() > 0.9 and cam[0, 9:].max() == 0.0


def test_overlay_grid(tmp_path):
    images = np.random.default_rng(1).integers(0, 256, (4, 8, 8, 1)).astype(np.uint8)
    pairs = cam_overlay_grid(images, np.ones((4, 8, 8)), tmp_path / "cam.png")
    assert pairs.shape == (8, 8, 8, 3)
    np.testing.assert_array_equal(pairs[0], np.repeat(images[0], 3, axis=-1))
    assert (tmp_path / "cam.png").exists()


def test_cam_of_conditional_discriminator_needs_labels():
    discriminator = build_discriminator(image_size=16, width=8, num_classes=3, aux_classifier=True)
    images = np.zeros((2, 16, 16, 1), np.uint8)
    assert discriminator_cam(discriminator, images, labels=[0, 2]).shape == (2, 16, 16)
    with pytest.raises(ValueError, match="is conditional: pass the images' labels"):
        discriminator_cam(discriminator, images)


def test_read_scalars_and_plot_curves(trained_run):
    from gans_keras.viz import plot_curves, read_scalars

    scalars = read_scalars(trained_run / "logs")
    steps, values = scalars["d_loss"]
    np.testing.assert_array_equal(steps, [1, 2, 3, 4])
    assert np.all(np.isfinite(values))
    figure = plot_curves(trained_run, tags=("d_loss", "g_loss", "missing"))
    assert len(figure.axes) == 2
