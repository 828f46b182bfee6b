import keras
import numpy as np
import pytest

from gans_keras.networks.dcgan import build_discriminator, build_generator


@pytest.mark.parametrize("size, channels", [(8, 1), (28, 1), (32, 3), (64, 3)])
def test_generator_output_shape_and_range(size, channels):
    generator = build_generator(latent_dim=16, image_size=size, channels=channels, width=8)
    images = generator(np.random.default_rng(0).standard_normal((3, 16)).astype("float32"))
    assert images.shape == (3, size, size, channels)
    assert np.abs(keras.ops.convert_to_numpy(images)).max() <= 1.0


@pytest.mark.parametrize("size", [8, 28, 32, 64])
def test_discriminator_scores_each_image(size):
    discriminator = build_discriminator(image_size=size, channels=3, width=8, norm="layer")
    assert discriminator(np.zeros((5, size, size, 3), "float32")).shape == (5, 1)


def test_generator_starts_from_4x4():
    generator = build_generator(latent_dim=16, image_size=28, width=8)
    shapes = [layer.output.shape[1:3] for layer in generator.layers if "reshape" in layer.name]
    assert shapes == [(4, 4)]


def test_discriminator_has_no_batchnorm():
    # BatchNorm mixes samples, which would make the per-sample gradient penalty wrong.
    for norm in (None, "layer"):
        layers = build_discriminator(image_size=32, width=8, norm=norm).layers
        assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in layers)


@pytest.mark.parametrize("size", [4, 300])
def test_unsupported_size_named(size):
    with pytest.raises(ValueError, match=f"image size {size} is not supported"):
        build_generator(image_size=size)


def test_unknown_norm_named():
    with pytest.raises(ValueError, match="norm must be None or 'layer'"):
        build_discriminator(norm="batch")


def test_minibatch_std_and_init_options():
    from gans_keras.layers import MinibatchStdDev

    discriminator = build_discriminator(image_size=16, width=8, minibatch_std=True, init="orthogonal")
    assert sum(isinstance(layer, MinibatchStdDev) for layer in discriminator.layers) == 1
    assert discriminator(np.zeros((4, 16, 16, 1), "float32")).shape == (4, 1)


def test_unknown_init_named():
    with pytest.raises(ValueError, match="unknown initializer 'he'"):
        build_generator(init="he")


def test_conditional_generator_uses_labels():
    generator = build_generator(latent_dim=8, image_size=16, width=8, num_classes=10)
    z = np.zeros((2, 8), "float32")
    images = keras.ops.convert_to_numpy(generator([z, np.array([1, 7], "int32")]))
    assert images.shape == (2, 16, 16, 1)
    assert not np.allclose(images[0], images[1])  # same z, other class


def test_projection_discriminator_adds_the_class_projection():
    discriminator = build_discriminator(image_size=16, width=8, num_classes=3)
    x = np.random.default_rng(0).uniform(-1, 1, (2, 16, 16, 1)).astype("float32")
    embedding = discriminator.get_layer("class_embedding")
    embedding.embeddings.assign(np.zeros(embedding.embeddings.shape, "float32"))
    unconditional = keras.ops.convert_to_numpy(discriminator([x, np.array([0, 2], "int32")]))
    vectors = np.random.default_rng(1).standard_normal(embedding.embeddings.shape).astype("float32")
    embedding.embeddings.assign(vectors)
    features = keras.Model(discriminator.inputs, discriminator.get_layer("score").input)([x, np.array([0, 2])])
    features = keras.ops.convert_to_numpy(features)
    scored = keras.ops.convert_to_numpy(discriminator([x, np.array([0, 2], "int32")]))
    expected = unconditional[:, 0] + np.sum(vectors[[0, 2]] * features, axis=1)
    np.testing.assert_allclose(scored[:, 0], expected, rtol=1e-4, atol=1e-4)


def test_channel_conditioning_and_bad_conditioning():
    discriminator = build_discriminator(image_size=16, width=8, num_classes=4, conditioning="channel")
    assert discriminator([np.zeros((3, 16, 16, 1), "float32"), np.array([0, 1, 3])]).shape == (3, 1)
    with pytest.raises(ValueError, match="conditioning must be 'projection' or 'channel'"):
        build_discriminator(num_classes=4, conditioning="concat")
