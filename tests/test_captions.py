import json

import numpy as np
import pytest
from PIL import Image

from gans_keras.captions import (
    BRIGHTNESS,
    CLASS_NAMES,
    FILLED_LEVEL,
    HELD_OUT_TEMPLATES,
    TRAIN_TEMPLATES,
    WIDTH,
    AttributeThresholds,
    attributes,
    fashion_mnist_captions,
    load_caption_folder,
    load_captioned_dataset,
    measure,
)


def test_measure_reads_brightness_and_filled_area_off_the_pixels():
    image = np.zeros((1, 4, 4, 1), np.uint8)
    image[0, :2, :2, 0] = 200  # a quarter of the image at level 200
    image[0, 3, 3, 0] = FILLED_LEVEL  # background: not above the level
    brightness, area = measure(image)
    assert brightness[0] == pytest.approx(200.0) and area[0] == pytest.approx(0.25)
    thresholds = AttributeThresholds(np.array([[100.0, 150.0]]), np.array([0.5]))
    np.testing.assert_array_equal(attributes(image, np.array([0]), thresholds), [[2, 0]])  # light, narrow


@pytest.fixture(scope="module")
def train_captions():
    return fashion_mnist_captions("train", seed=1)


def test_builtin_captions_carry_class_and_measured_attributes(train_captions):
    images, captions, labels, measured = train_captions
    assert len(images) == len(captions) == 60_000 and all(len(c) == len(TRAIN_TEMPLATES) for c in captions[:100])
    for i in range(0, 60_000, 997):
        level, width = measured[i]
        for caption in captions[i]:
            assert any(name in caption for name in CLASS_NAMES[labels[i]]), caption
            assert BRIGHTNESS[level] in caption and WIDTH[width] in caption, caption
    # Thresholds per class: every class has each brightness tercile and both widths about equally.
    for c in range(10):
        shares = np.bincount(measured[labels == c, 0], minlength=3) / (labels == c).sum()
        np.testing.assert_allclose(shares, 1 / 3, atol=0.02)
        assert measured[labels == c, 1].mean() == pytest.approx(0.5, abs=0.02)


def test_held_out_templates_never_appear_in_training(train_captions):
    _, held_out, _, _ = fashion_mnist_captions("test", held_out=True)
    assert not set(HELD_OUT_TEMPLATES) & set(TRAIN_TEMPLATES)
    training = {caption for captions in train_captions[1][:2000] for caption in captions}
    assert not training & {caption for captions in held_out[:2000] for caption in captions}


def _folder(tmp_path, sizes=((8, 8),) * 3):
    for i, size in enumerate(sizes):
        Image.fromarray(np.full((*size, 3), 40 * i, np.uint8)).save(tmp_path / f"img{i}.png")
    return tmp_path


def test_metadata_jsonl_with_several_captions_per_image(tmp_path):
    folder = _folder(tmp_path)
    lines = [{"file_name": "img0.png", "text": "a black square"},
             {"file_name": "img1.png", "text": ["a grey square", "a dim tile"]},
             {"file_name": "img2.png", "text": "a lighter square"}]
    (folder / "metadata.jsonl").write_text("\n".join(json.dumps(line) for line in lines))
    images, captions = load_caption_folder(folder)
    assert images.shape == (3, 8, 8, 3) and captions[1] == ["a grey square", "a dim tile"]
    dataset = load_captioned_dataset(f"folder:{folder}", batch_size=3, channels=1, seed=0)
    drawn = {}
    for batch_images, batch_captions in dataset.take(20):
        assert batch_images.shape == (3, 8, 8, 1)
        for image, caption in zip(batch_images.numpy(), batch_captions.numpy(), strict=True):
            drawn.setdefault(round(float(image.mean()), 3), set()).add(caption.decode())
    # Every image keeps its own captions, and the two-caption image is shown with both.
    assert sorted(map(sorted, drawn.values())) == [["a black square"], ["a dim tile", "a grey square"],
                                                   ["a lighter square"]]


def test_captions_csv_with_one_row_per_caption(tmp_path):
    folder = _folder(tmp_path)
    (folder / "captions.csv").write_text("file_name,text\nimg0.png,first\nimg0.png,second\nimg2.png,third\n")
    _, captions = load_caption_folder(folder)
    assert captions == [["first", "second"], ["third"]]  # img1 has no caption: left out


@pytest.mark.parametrize("metadata, error, match", [
    ('{"file_name": "gone.png", "text": "x"}', FileNotFoundError, "do not exist, e.g. gone.png"),
    ('{"file_name": "img0.png", "text": "  "}', ValueError, "only empty captions, e.g. img0.png"),
    ('{"file_name": "img0.png"}', ValueError, "line 1: not a"),
    ('{"file_name": "img0.png", "text": 3}', ValueError, "line 1: text must be a string or a list of strings"),
])
def test_bad_metadata_is_named(tmp_path, metadata, error, match):
    folder = _folder(tmp_path)
    (folder / "metadata.jsonl").write_text(metadata)
    with pytest.raises(error, match=match):
        load_caption_folder(folder)


def test_folder_without_captions_and_unknown_sources(tmp_path):
    with pytest.raises(FileNotFoundError, match="neither metadata.jsonl nor captions.csv"):
        load_caption_folder(_folder(tmp_path))
    with pytest.raises(ValueError, match="unknown captioned dataset 'mnist'"):
        load_captioned_dataset("mnist")
    with pytest.raises(ValueError, match="needs caption_key"):
        load_captioned_dataset("tfds:coco_captions")


def test_unreadable_captioned_images_are_counted_and_skipped(tmp_path, caplog):
    folder = _folder(tmp_path)
    (folder / "img2.png").write_bytes(b"not a png")
    (folder / "captions.csv").write_text("file_name,text\nimg0.png,a\nimg1.png,b\nimg2.png,c\n")
    images, captions = load_caption_folder(folder)
    assert len(images) == 2 and captions == [["a"], ["b"]]
    assert "1 of 3 captioned images" in caplog.text
    with pytest.raises(ValueError, match="1 of 3 captioned images .* could not be read: img2.png"):
        load_caption_folder(folder, on_corrupt="error")
