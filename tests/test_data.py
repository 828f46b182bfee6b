import numpy as np
import pytest
import tensorflow_datasets as tfds
from PIL import Image

from gans_keras.data import load_arrays, load_dataset, load_folder


@pytest.mark.parametrize("split, count", [("train", 60_000), ("test", 10_000)])
def test_fashion_mnist_files(split, count):
    images, labels = load_arrays("fashion_mnist", split)
    assert images.shape == (count, 28, 28, 1)
    assert images.dtype == np.uint8 and labels.dtype == np.int32
    assert images.min() == 0 and images.max() == 255
    assert set(np.unique(labels)) == set(range(10))
    # Fashion-MNIST is balanced: every class has a tenth of the split.
    assert np.all(np.bincount(labels) == count // 10)


def test_pipeline_batches_in_value_range():
    ds = load_dataset("fashion_mnist", batch_size=32, seed=1)
    images, labels = next(iter(ds))
    assert images.shape == (32, 28, 28, 1) and images.dtype == "float32"
    assert -1.0 <= float(images.numpy().min()) and float(images.numpy().max()) <= 1.0
    assert labels.shape == (32,)


def test_pipeline_resizes_and_converts_channels():
    ds = load_dataset("digits", batch_size=4, image_size=16, channels=3, value_range=(0.0, 1.0))
    images, _ = next(iter(ds))
    assert images.shape == (4, 16, 16, 3)
    values = images.numpy()
    assert 0.0 <= values.min() and values.max() <= 1.0
    np.testing.assert_allclose(values[..., 0], values[..., 2])  # gray tiled to RGB


def test_same_seed_same_order_and_other_seed_differs():
    def first_labels(seed):
        return next(iter(load_dataset("digits", batch_size=64, seed=seed)))[1].numpy()

    np.testing.assert_array_equal(first_labels(3), first_labels(3))
    assert not np.array_equal(first_labels(3), first_labels(4))


def test_every_iterator_of_one_pipeline_sees_the_same_order_and_epochs_reshuffle():
    # Keras' fit under a strategy iterates a dataset once to build the model, then again to train.
    dataset = load_dataset("digits", batch_size=500, seed=3)
    first = [labels.numpy() for _, labels in dataset.take(6)]
    second = [labels.numpy() for _, labels in dataset.take(6)]
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)
    # 1,500 images: batches 0-2 are epoch 1, 3-5 epoch 2, in another order.
    assert not np.array_equal(np.concatenate(first[:3])[:100], np.concatenate(first[3:])[:100])


def test_unknown_dataset_lists_choices():
    with pytest.raises(ValueError, match="unknown dataset 'svhn'.*fashion_mnist.*folder:PATH"):
        load_dataset("svhn")


def test_unknown_split():
    with pytest.raises(ValueError, match="unknown split 'valid'"):
        load_arrays("mnist", "valid")


def test_tfds_dataset_through_mock_data():
    with tfds.testing.mock_data(num_examples=16):
        ds = load_dataset("tfds:mnist", batch_size=8, image_size=32, repeat=False)
        batches = list(ds)
    assert len(batches) == 2
    images, labels = batches[0]
    assert images.shape == (8, 32, 32, 1)
    assert labels.dtype == "int32" and np.all((labels.numpy() >= 0) & (labels.numpy() < 10))


def test_tfds_without_labels_gets_label_zero():
    with tfds.testing.mock_data(num_examples=4):
        images, labels = next(iter(load_dataset("tfds:celeb_a", batch_size=4, image_size=16)))
    assert images.shape == (4, 16, 16, 3)
    np.testing.assert_array_equal(labels.numpy(), 0)


def _image_folder(root, sizes=((20, 20), (20, 20), (20, 20))):
    rng = np.random.default_rng(0)
    for label, (name, size) in enumerate(zip(("cats", "dogs", "owls"), sizes, strict=True)):
        folder = root / name
        folder.mkdir(parents=True)
        pixels = rng.integers(0, 256, size=(*size, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f"{label}.png")
        Image.fromarray(pixels).save(folder / f"{label}.jpg", quality=95)
    (root / "dogs" / "broken.png").write_bytes(b"\x89PNG not really an image")
    return root


def test_folder_labels_by_subfolder_and_skips_corrupt(tmp_path, caplog):
    images, labels, names = load_folder(_image_folder(tmp_path), channels=3)
    assert names == ["cats", "dogs", "owls"]
    assert images.shape == (6, 20, 20, 3) and images.dtype == np.uint8
    np.testing.assert_array_equal(labels, [0, 0, 1, 1, 2, 2])
    assert "1 of 7 image files" in caplog.text and "broken.png" in caplog.text


def test_folder_corrupt_can_fail(tmp_path):
    with pytest.raises(ValueError, match=r"1 of 7 image files .* could not be read: dogs/broken.png"):
        load_folder(_image_folder(tmp_path), on_corrupt="error")


def test_folder_pipeline_resizes_and_grayscales(tmp_path):
    _image_folder(tmp_path, sizes=((20, 20), (24, 30), (8, 8)))
    images, _ = next(iter(load_dataset(f"folder:{tmp_path}", batch_size=6, image_size=12, channels=1)))
    assert images.shape == (6, 12, 12, 1)


def test_folder_of_mixed_sizes_needs_image_size(tmp_path):
    _image_folder(tmp_path, sizes=((20, 20), (24, 30), (8, 8)))
    with pytest.raises(ValueError, match="different sizes.*image_size"):
        load_folder(tmp_path)


def test_folder_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_dataset(f"folder:{tmp_path / 'missing'}")
    with pytest.raises(ValueError, match="no image files"):
        load_dataset(f"folder:{tmp_path}")
    (tmp_path / "bad.png").write_bytes(b"nope")
    with pytest.raises(ValueError, match="1 of 1 image files"):
        load_dataset(f"folder:{tmp_path}")


def test_transparent_sprites_get_white_background(tmp_path):
    Image.new("RGBA", (8, 8), (255, 0, 0, 0)).save(tmp_path / "sprite.png")
    images, _, _ = load_folder(tmp_path)
    np.testing.assert_array_equal(images[0], 255)
