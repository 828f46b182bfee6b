"""Images for people to look at: sample grids, architecture plots, discriminator Grad-CAM."""

from __future__ import annotations

import contextlib
import math
import warnings
from pathlib import Path

import numpy as np

from gans_keras.io import atomic_path


def to_uint8(images, value_range: tuple[float, float] = (-1.0, 1.0)) -> np.ndarray:
    """Float images in `value_range` -> uint8 0..255 (values outside are clipped)."""
    low, high = value_range
    scaled = (np.asarray(images, dtype=np.float32) - low) * (255.0 / (high - low))
    return np.clip(np.round(scaled), 0, 255).astype(np.uint8)


def from_uint8(pixels, value_range: tuple[float, float] = (-1.0, 1.0)):
    """Float pixel levels 0..255 (an array or a tensor) -> `value_range`: what `to_uint8` undoes."""
    low, high = value_range
    return pixels * ((high - low) / 255.0) + low


def generator_value_range(generator) -> tuple[float, float]:
    """The range of a generator's images, read from its output layer ("images": tanh [-1, 1],
    sigmoid [0, 1]), so that a saved generator says how its output becomes pixels; [-1, 1] for a
    diffusion sampler."""
    from gans_keras.config import PIXEL_RANGES

    layers = {layer.name: layer for layer in getattr(generator, "layers", [])}
    activation = getattr(getattr(layers.get("images"), "activation", None), "__name__", "tanh")
    return next(span for span, name in PIXEL_RANGES.values() if name == activation)


GRID_PADDING = 2


def image_grid(images: np.ndarray, columns: int | None = None, padding: int = GRID_PADDING) -> np.ndarray:
    """uint8 images (N, H, W, C) -> one uint8 image (rows, columns) with white padding."""
    images = np.asarray(images)
    if images.ndim != 4 or images.dtype != np.uint8:
        raise ValueError(f"expected uint8 images (N, H, W, C), got {images.dtype} {images.shape}")
    count, height, width, channels = images.shape
    columns = columns or math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    grid = np.full(
        (rows * (height + padding) + padding, columns * (width + padding) + padding, channels),
        255,
        dtype=np.uint8,
    )
    for i, image in enumerate(images):
        top = padding + (i // columns) * (height + padding)
        left = padding + (i % columns) * (width + padding)
        grid[top : top + height, left : left + width] = image
    return grid


def save_grid(images: np.ndarray, path: str | Path, columns: int | None = None, scale: int = 1,
              row_titles: list[str] | None = None) -> Path:
    """Writes uint8 images as one PNG grid, each pixel repeated `scale` times per side; with
    `row_titles`, each row's title (a text model's prompt, say) is written above it."""
    from PIL import Image

    grid = image_grid(images, columns)
    if scale > 1:
        grid = grid.repeat(scale, axis=0).repeat(scale, axis=1)
    image = Image.fromarray(grid[..., 0] if grid.shape[-1] == 1 else grid)
    if row_titles is not None:
        image = _with_row_titles(image, row_titles, row_height=(images.shape[1] + GRID_PADDING) * scale)
    with atomic_path(path) as tmp:
        image.save(tmp, format="PNG")
    return Path(path)


def _with_row_titles(grid, titles: list[str], row_height: int, band: int = 14):
    """The grid image with a white band holding `titles[r]` above its row r."""
    from PIL import Image, ImageDraw

    rows = min(len(titles), grid.height // row_height)
    titled = Image.new(grid.mode, (grid.width, grid.height + rows * band), "white")
    draw = ImageDraw.Draw(titled)
    for row in range(rows):
        top = row * (row_height + band)
        draw.text((4, top + 1), titles[row], fill="black")
        titled.paste(grid.crop((0, row * row_height, grid.width, (row + 1) * row_height)), (0, top + band))
    titled.paste(grid.crop((0, rows * row_height, grid.width, grid.height)), (0, rows * (row_height + band)))
    return titled


@contextlib.contextmanager
def keras3_output_shapes(model):
    """Lends every layer class of `model` an `output_shape` property for the duration.

    visualkeras reads `layer.output_shape`, which Keras 3 layers no longer have; the shape is
    taken from the layer's symbolic output (a list of shapes for several outputs).
    """
    def output_shape(layer):
        outputs = layer.output
        if isinstance(outputs, (list, tuple)):
            return [tuple(tensor.shape) for tensor in outputs]
        return tuple(outputs.shape)

    lent = {type(layer) for layer in model.layers if "output_shape" not in dir(type(layer))}
    for cls in lent:
        cls.output_shape = property(output_shape)
    try:
        yield model
    finally:
        for cls in lent:
            del cls.output_shape


def architecture_plot(model, path: str | Path | None = None, legend: bool = True, **options):
    """visualkeras' layered view of a Keras 3 functional model, as a PIL image (and a PNG)."""
    import visualkeras

    with keras3_output_shapes(model), warnings.catch_warnings():
        # visualkeras warns about its own default of a parameter it deprecated.
        warnings.filterwarnings("ignore", message="The legend_text_spacing_offset parameter is deprecated")
        image = visualkeras.layered_view(model, legend=legend, **options)
    if path is not None:
        with atomic_path(path) as tmp:
            image.save(tmp, format="PNG")
    return image


def discriminator_cam(model, images, labels=None) -> np.ndarray:
    """Grad-CAM of the discriminator's score: where D looks, as heatmaps (N, H, W) in [0, 1].

    Uses the last 4-D feature map of the discriminator (its last convolution block); the
    channel weights are the spatial means of the score's gradients (Selvaraju et al. 2017).

    Args:
        model: a GAN (its `discriminator` is used, without augmentation) or a discriminator.
        images: uint8 (N, H, W, C), or floats already in the discriminator's range (a GAN's
            generator's range; [-1, 1] for a discriminator alone).
        labels: class labels (N,), for a conditional discriminator.
    """
    import keras
    import tensorflow as tf

    discriminator = getattr(model, "discriminator", model)
    images = np.asarray(images)
    if images.dtype == np.uint8:
        images = from_uint8(images.astype(np.float32), generator_value_range(getattr(model, "generator", None)))
    feature_layers = [layer for layer in discriminator.layers[1:] if len(layer.output.shape) == 4]
    if not feature_layers:
        raise ValueError(f"{discriminator.name} has no convolutional feature map for Grad-CAM")
    probe = keras.Model(discriminator.inputs, [feature_layers[-1].output, discriminator.outputs[0]])
    inputs = tf.convert_to_tensor(images, tf.float32)
    if len(discriminator.inputs) == 2:
        if labels is None:
            raise ValueError(f"{discriminator.name} is conditional: pass the images' labels")
        inputs = [inputs, tf.convert_to_tensor(labels, tf.int32)]
    with tf.GradientTape() as tape:
        features, scores = probe(inputs, training=False)
    grads = tape.gradient(scores, features)  # (N, h, w, C)
    weights = tf.reduce_mean(grads, axis=[1, 2], keepdims=True)  # (N, 1, 1, C)
    cam = tf.nn.relu(tf.reduce_sum(weights * features, axis=-1, keepdims=True))  # (N, h, w, 1)
    cam = tf.image.resize(cam, images.shape[1:3])[..., 0].numpy()
    peak = cam.max(axis=(1, 2), keepdims=True)
    return np.divide(cam, peak, out=np.zeros_like(cam), where=peak > 0)


def cross_attention_maps(network, images, t: int, captions) -> dict[str, np.ndarray]:
    """Where a text model's image positions look in its caption: for each cross-attending block
    of a `build_text_unet` network, the attention weight of every position on every caption token
    (averaged over heads), as maps (B, L, h, w) at the block's resolution, keyed by block name.

    Args:
        network: the text network (`gk.load_generator(run).network`, or a model's `.network`).
        images: x_t (B, H, W, C) in the network's input range (x_0 in [-1, 1] at t = 0).
        t: the timestep the network sees.
        captions: the network's caption input (B, L, ...) (`sampler.encode(prompts)`).
    """
    import keras
    from keras import ops

    from gans_keras.layers.diffusion import AttentionBlock

    unet = network.get_layer("unet")
    blocks = [layer for layer in unet.layers if isinstance(layer, AttentionBlock) and layer.cross_attention]
    if not blocks:
        raise ValueError(f"{network.name} has no cross-attention (it was trained with text_conditioning 'pooled')")
    # Each block's feature input, from the UNet's inputs: [x_t, t, context, context_mask].
    probe = keras.Model(unet.inputs, [block.input[0] for block in blocks])
    captions = ops.convert_to_tensor(np.asarray(captions))
    names = {layer.name for layer in network.layers}
    if "text_encoder" in names:  # the learned encoder, on token ids
        context, _ = network.get_layer("text_encoder")(captions)
        mask = network.get_layer("caption_mask")(captions)
    else:  # a pretrained encoder's packed features
        context, mask = network.get_layer("caption_unpack")(captions)
    steps = ops.full((len(images),), t, "int32")
    features = probe([ops.convert_to_tensor(np.asarray(images, np.float32)), steps, context, mask])
    maps = {}
    for block, h in zip(blocks, features if len(blocks) > 1 else [features], strict=True):
        scores = ops.mean(ops.cast(block.cross_attention_scores([h, context, mask]), "float32"), axis=1)
        batch, _, length = scores.shape  # (B, h * w, L)
        maps[block.name] = ops.convert_to_numpy(scores).reshape(batch, h.shape[1], h.shape[2], length).transpose(
            0, 3, 1, 2)
    return maps


def plot_word_attention(images: np.ndarray, word_maps: np.ndarray, words: list[list[str]],
                        path: str | Path | None = None):
    """One row per image: the image, then for each word of its caption the attention map
    (upsampled to the image, over it). `word_maps` (B, L, h, w) from `cross_attention_maps`;
    `words[i]`: image i's tokens, in order."""
    import matplotlib.pyplot as plt
    from PIL import Image

    columns = 1 + max(len(row) for row in words)
    figure, axes = plt.subplots(len(images), columns, figsize=(1.3 * columns, 1.4 * len(images)), squeeze=False)
    for row, (image, maps, tokens) in enumerate(zip(images, word_maps, words, strict=True)):
        axes[row, 0].imshow(image[..., 0] if image.shape[-1] == 1 else image, cmap="gray")
        for column, (word, heat) in enumerate(zip(tokens, maps, strict=False), start=1):
            upsampled = np.asarray(Image.fromarray(heat.astype(np.float32)).resize(image.shape[1::-1], Image.BILINEAR))
            axes[row, column].imshow(image[..., 0] if image.shape[-1] == 1 else image, cmap="gray")
            axes[row, column].imshow(upsampled, cmap="jet", alpha=0.5)
            axes[row, column].set_title(word, fontsize=8)
    for axis in axes.flat:
        axis.axis("off")
    figure.tight_layout()
    if path is not None:
        figure.savefig(path, dpi=100)
    return figure


def cam_overlay_grid(images: np.ndarray, heatmaps: np.ndarray, path: str | Path | None = None,
                     alpha: float = 0.5, scale: int = 3) -> np.ndarray:
    """Pairs of (image, image with heatmap) side by side in a grid; uint8 RGB, saved if `path`."""
    images = np.asarray(images)
    if images.dtype != np.uint8:
        images = to_uint8(images)
    rgb = np.repeat(images, 3, axis=-1) if images.shape[-1] == 1 else images
    heat = np.asarray(heatmaps, dtype=np.float32)[..., None]
    # "hot" colour map: black -> red -> yellow -> white.
    colours = np.clip(np.concatenate([3 * heat, 3 * heat - 1, 3 * heat - 2], axis=-1), 0, 1) * 255
    overlay = np.round((1 - alpha) * rgb + alpha * colours).astype(np.uint8)
    pairs = np.stack([rgb, overlay], axis=1).reshape(-1, *rgb.shape[1:])  # image, overlay, image, ...
    if path is not None:
        save_grid(pairs, path, columns=min(len(pairs), 10), scale=scale)
    return pairs


def read_scalars(log_dir: str | Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """TensorBoard scalars of a directory's event files: tag -> (steps, values), by step."""
    import tensorflow as tf

    series: dict[str, dict[int, float]] = {}
    for events in sorted(Path(log_dir).glob("events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(str(events)):
            for value in event.summary.value:
                number = float(tf.make_ndarray(value.tensor)) if value.HasField("tensor") else value.simple_value
                series.setdefault(value.tag, {})[event.step] = number
    return {
        tag: (np.array(sorted(points)), np.array([points[step] for step in sorted(points)]))
        for tag, points in series.items()
    }


def plot_curves(run: str | Path, tags=("d_loss", "g_loss"), smooth: int = 20):
    """Matplotlib figure of a run's training curves (moving average over `smooth` points)."""
    import matplotlib.pyplot as plt

    scalars = read_scalars(Path(run) / "logs")
    scalars.update(read_scalars(Path(run) / "logs" / "eval"))
    present = [tag for tag in tags if tag in scalars]
    figure, axes = plt.subplots(1, len(present), figsize=(4 * len(present), 3), squeeze=False)
    for axis, tag in zip(axes[0], present, strict=True):
        steps, values = scalars[tag]
        window = max(1, min(smooth, len(values) // 5))
        smoothed = np.convolve(values, np.ones(window) / window, mode="valid")
        axis.plot(steps, values, alpha=0.3)
        axis.plot(steps[window - 1 :], smoothed)
        axis.set_title(tag)
        axis.set_xlabel("step")
    figure.tight_layout()
    return figure


def plot_fid_over_steps(series: dict[str, tuple], path: str | Path | None = None, title: str = "",
                        ylabel: str = "classifier FID"):
    """FID against generator steps, one line per entry of `series` (label -> (steps, fids)), the
    lowest point of each ringed: where a run was best, and how far it drifted from there.
    Saved to `path` if given; returns the figure."""
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(7, 3.5))
    for label, (steps, fids) in series.items():
        (line,) = axis.plot(steps, fids, marker="o", markersize=3, label=label)
        lowest = int(np.argmin(fids))
        axis.scatter([steps[lowest]], [fids[lowest]], s=90, facecolors="none", edgecolors=line.get_color())
    axis.set(xlabel="generator steps", ylabel=ylabel, title=title)
    axis.legend()
    axis.grid(alpha=0.3)
    figure.tight_layout()
    if path is not None:
        figure.savefig(path, dpi=100)
    return figure
