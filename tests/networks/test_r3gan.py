import subprocess
import sys

import keras
import numpy as np
import pytest

from gans_keras.layers.r3gan_blocks import InvertedBottleneck
from gans_keras.networks.common import LogSumExp
from gans_keras.networks.r3gan import build_discriminator, build_generator

NORMALISATIONS = (keras.layers.BatchNormalization, keras.layers.LayerNormalization, keras.layers.GroupNormalization)


def _blocks(network):
    return sum(isinstance(layer, InvertedBottleneck) for layer in network.layers)


@pytest.mark.parametrize("size, channels", [(28, 1), (32, 3), (16, 1)])
def test_shapes_and_one_stage_per_resolution(size, channels):
    generator = build_generator(latent_dim=8, image_size=size, channels=channels, width=8)
    images = generator(np.zeros((2, 8), "float32"))
    assert images.shape == (2, size, size, channels)
    stages = {28: 4, 32: 4, 16: 3}[size]  # 4x4 up to the first 4 * 2^k covering the image
    assert _blocks(generator) == 2 * stages
    discriminator = build_discriminator(image_size=size, channels=channels, width=8)
    assert discriminator(images).shape == (2, 1) and _blocks(discriminator) == 2 * stages
    for network in (generator, discriminator):
        assert not any(isinstance(layer, NORMALISATIONS) for layer in network.layers)


@pytest.mark.parametrize("blocks_per_stage", [1, 3])
def test_blocks_per_stage_sets_the_blocks_and_their_fixup_scaling(blocks_per_stage):
    generator = build_generator(latent_dim=8, image_size=16, channels=1, width=8, blocks_per_stage=blocks_per_stage)
    discriminator = build_discriminator(image_size=16, channels=1, width=8, blocks_per_stage=blocks_per_stage)
    for network in (generator, discriminator):
        assert _blocks(network) == 3 * blocks_per_stage  # 3 stages: 4x4, 8x8, 16x16
        assert {layer.total_blocks for layer in network.layers if isinstance(layer, InvertedBottleneck)} == {
            3 * blocks_per_stage}
    assert discriminator(generator(np.zeros((2, 8), "float32"))).shape == (2, 1)


def test_width_doubling_widens_each_lower_resolution():
    generator = build_generator(latent_dim=8, image_size=28, channels=1, width=8, width_doubling=True,
                                num_classes=3)
    discriminator = build_discriminator(image_size=28, channels=1, width=8, width_doubling=True, num_classes=3,
                                        minibatch_std=True)
    for network in (generator, discriminator):
        widths = {layer.output.shape[1]: layer.output.shape[-1] for layer in network.layers
                  if isinstance(layer, InvertedBottleneck)}
        assert widths == {4: 64, 8: 32, 16: 16, 32: 8}  # 28 is padded to 32
    labels = keras.ops.convert_to_tensor(np.array([0, 2], "int32"))
    images = generator([keras.ops.zeros((2, 8)), labels])
    assert images.shape == (2, 28, 28, 1) and discriminator([images, labels]).shape == (2, 1)
    constant = build_generator(latent_dim=8, image_size=28, channels=1, width=8)
    assert generator.count_params() > 4 * constant.count_params()


def test_conditional_and_semi_supervised_discriminators():
    labels = keras.ops.convert_to_tensor(np.array([0, 2], "int32"))
    generator = build_generator(latent_dim=8, image_size=16, channels=1, width=8, num_classes=3)
    images = generator([keras.ops.zeros((2, 8)), labels])
    assert generator.get_layer("label_embedding").output_dim == 8  # the paper: as wide as the latent
    conditional = build_discriminator(image_size=16, channels=1, width=8, num_classes=3)
    assert conditional([images, labels]).shape == (2, 1)
    semi = build_discriminator(image_size=16, channels=1, width=8, semi_supervised_classes=3)
    score, logits = semi(images)
    assert any(isinstance(layer, LogSumExp) for layer in semi.layers)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(score)[:, 0],
                               np.log(np.exp(keras.ops.convert_to_numpy(logits)).sum(-1)), rtol=1e-5)


def test_generator_export_loads_in_a_fresh_process(tmp_path):
    generator = build_generator(latent_dim=8, image_size=16, channels=1, width=8)
    z = np.random.default_rng(0).normal(size=(2, 8)).astype("float32")
    generator.save(tmp_path / "generator.keras")
    np.save(tmp_path / "z.npy", z)
    # A new interpreter has imported none of the network code: the package's loader must register it.
    script = ("import sys, numpy as np, keras; from gans_keras.sampling import load_generator; "
              "g = load_generator(sys.argv[1]); "
              "np.save(sys.argv[2], keras.ops.convert_to_numpy(g(np.load(sys.argv[3]))))")
    subprocess.run([sys.executable, "-c", script, str(tmp_path), str(tmp_path / "out.npy"),
                    str(tmp_path / "z.npy")], check=True, capture_output=True)
    np.testing.assert_allclose(np.load(tmp_path / "out.npy"), keras.ops.convert_to_numpy(generator(z)), rtol=1e-6)


def test_r3gan_refuses_what_it_does_not_have():
    with pytest.raises(ValueError, match="fix-up initialisation: --init normal does not apply"):
        build_generator(init="normal")
    with pytest.raises(ValueError, match="no normalisation layers"):
        build_discriminator(spectral_norm=True)
    with pytest.raises(ValueError, match="no normalisation layers"):
        build_discriminator(norm="layer")


def test_bilinear_upsampling_is_the_papers_1331_upsampler_inside_the_border():
    x = np.random.default_rng(3).normal(size=(1, 6, 6, 1)).astype("float32")
    up = keras.ops.convert_to_numpy(keras.layers.UpSampling2D(2, interpolation="bilinear")(x))[0, :, :, 0]
    # Zero insertion, then the [1, 3, 3, 1] / 4 filter on each axis (gain 2 per axis).
    taps = np.array([1.0, 3.0, 3.0, 1.0]) / 4
    inserted = np.zeros((12, 12))
    inserted[::2, ::2] = x[0, :, :, 0]
    rows = np.stack([np.convolve(row, taps, mode="full")[1:13] for row in inserted])
    expected = np.stack([np.convolve(col, taps, mode="full")[1:13] for col in rows.T]).T
    np.testing.assert_allclose(up[1:-1, 1:-1], expected[1:-1, 1:-1], rtol=1e-5, atol=1e-6)
