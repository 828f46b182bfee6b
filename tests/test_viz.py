import numpy as np
import pytest
from PIL import Image

from gans_keras.viz import image_grid, save_grid, to_uint8


def test_to_uint8_maps_and_clips():
    np.testing.assert_array_equal(to_uint8([-2.0, -1.0, 0.0, 1.0, 3.0]), [0, 0, 128, 255, 255])


def test_grid_places_images_row_major():
    images = np.stack([np.full((4, 4, 1), i, np.uint8) for i in range(5)])
    grid = image_grid(images, columns=3, padding=1)
    assert grid.shape == (2 * 5 + 1, 3 * 5 + 1, 1)
    assert grid[1, 1, 0] == 0 and grid[1, 6, 0] == 1 and grid[6, 6, 0] == 4
    assert grid[6, 11, 0] == 255  # the empty sixth cell stays white


def test_save_grid_scales(tmp_path):
    path = save_grid(np.zeros((4, 8, 8, 3), np.uint8), tmp_path / "g.png", scale=2)
    assert Image.open(path).size == (2 * (2 * 10 + 2),) * 2


def test_grid_rejects_floats():
    with pytest.raises(ValueError, match="expected uint8 images"):
        image_grid(np.zeros((1, 4, 4, 1), np.float32))


def test_fid_over_steps_rings_each_series_lowest_point(tmp_path):
    from gans_keras.report import fid_over_steps
    from gans_keras.viz import plot_fid_over_steps

    rows = [{"step": step, "generator": generator, "fid": fid}
            for step, live, ema in ((1000, 40.0, 45.0), (2000, 12.0, 10.0), (3000, 20.0, 18.0))
            for generator, fid in (("live", live), ("ema", ema))]
    series = fid_over_steps(rows)
    assert series == {"live generator": ((1000, 2000, 3000), (40.0, 12.0, 20.0)),
                      "ema generator": ((1000, 2000, 3000), (45.0, 10.0, 18.0))}
    assert fid_over_steps([{"step": 5, "fid": 1.5}], by=None) == {"FID": ((5,), (1.5,))}
    figure = plot_fid_over_steps(series, tmp_path / "fid.png")
    rings = [collection.get_offsets().tolist() for collection in figure.axes[0].collections]
    assert rings == [[[2000.0, 12.0]], [[2000.0, 10.0]]]
    assert Image.open(tmp_path / "fid.png").size[0] > 0
