"""Starting a GAN run from another run's weights: a warm start (`--init-from RUN`, the same
networks) or growing (`--grow-from RUN`, the networks at twice the image size, Karras et al. 2018).

Both read the other run's newest checkpoint into that run's own model (built from its
config.json) and copy the weights across; optimisers, step counter and any other state start
afresh. A warm start copies layer by layer in order and names the first layer that does not
match; growing copies every layer by name (the networks name each block after its resolution)
and leaves the new blocks, and the fade-in's alpha, at their initial values.
"""

from __future__ import annotations

import json
from pathlib import Path

import keras

from gans_keras.checkpoint import list_checkpoints, load_checkpoint
from gans_keras.config import DEFAULTS, TrainConfig, make_config, parse_init_parts
from gans_keras.layers.fade import FadeIn
from gans_keras.models.registry import get_model
from gans_keras.networks.common import num_upsamplings
from gans_keras.networks.resnet import MAX_DOWNSAMPLINGS
from gans_keras.presets import get_preset


def run_settings(run: str | Path) -> dict:
    """A run directory's config.json."""
    path = Path(run) / "config.json"
    if not path.is_file():
        raise FileNotFoundError(f"{run} is not a run directory: {path} does not exist")
    return json.loads(path.read_text())


def grown_config(run: str | Path, overrides: dict | None = None) -> TrainConfig:
    """The config of `run` grown to twice its image size: the run's settings, then `overrides`.

    Unless overridden: image_size is twice the run's, and the dcgan networks' widths are halved,
    which keeps every resolution's channels (the dcgan networks double them at each lower
    resolution); resnet blocks keep theirs. The new run's own state starts afresh: no init_from,
    the default fade_steps.
    """
    saved = run_settings(run)
    overrides = dict(overrides or {})
    if get_preset(saved["model"]).kind != "gan":
        raise ValueError(f"grow_from {run} is a {saved['model']} run: only GANs grow")
    settings = {**saved, "grow_from": str(run), "init_from": None, "init_parts": DEFAULTS["init_parts"],
                "fade_steps": DEFAULTS["fade_steps"], "model": saved["model"]}
    if "image_size" not in overrides:
        if saved.get("image_size") is None:
            raise ValueError(f"{run} trained at its dataset's own image size: give the grown size, --image-size "
                             f"(twice that)")
        settings["image_size"] = 2 * saved["image_size"]
    if saved.get("arch", DEFAULTS["arch"]) == "dcgan":
        for key in ("g_width", "d_width"):
            if key not in overrides:
                if saved[key] % 2:
                    raise ValueError(f"{run} has {key} {saved[key]}: a grown dcgan network halves it to keep each "
                                     f"resolution's channels, so it must be even (or give {key})")
                settings[key] = saved[key] // 2
    return make_config(settings, overrides)


def start_from(model: keras.Model, config: TrainConfig, image_size: int, channels: int) -> str | None:
    """Copies weights into a freshly built GAN from `config.init_from` or `config.grow_from`
    (`image_size`, `channels`: the new run's data); returns a line saying what was copied, or None
    when the config starts fresh."""
    if config.grow_from is not None:
        if image_size % 2:
            raise ValueError(f"a grown run's image size is twice its source's: {image_size} is odd")
        source_settings = run_settings(config.grow_from)
        if (config.arch == "resnet" and source_settings.get("grow_from") is None
                and num_upsamplings(image_size // 2) > MAX_DOWNSAMPLINGS):
            raise ValueError(f"grow_from {config.grow_from}: its resnet discriminator, built for {image_size // 2} "
                             f"px, stops downsampling at 8x8 or more, so a grown one (down to 4x4) has no "
                             f"counterpart for its last blocks; grow resnet runs of 32 px or fewer")
        source = _source_model(config.grow_from, source_settings, "grow_from", image_size // 2, channels,
                               config.pixel_range)
        unfinished = [layer.alpha for layer in source.fade_layers if float(layer.alpha) < 1.0]
        if unfinished:
            raise ValueError(f"grow_from {config.grow_from} is still fading in its last growth (alpha "
                             f"{float(unfinished[0]):.3f}): train it past its fade_steps first")
        copied = {part: _copy_by_name(getattr(source, part), getattr(model, part))
                  for part in ("generator", "discriminator")}
        _start_ema(model, source, copy_source_ema=True, copy=_copy_by_name)
        counts = ", ".join(f"{part} {len(names)} layers" for part, names in copied.items())
        return f"grown from {config.grow_from} ({image_size // 2} px): copied {counts}; new blocks fade in over " \
               f"{config.fade_steps} steps"
    if config.init_from is not None:
        parts = parse_init_parts(config.init_parts)
        source = _source_model(config.init_from, run_settings(config.init_from), "init_from", image_size, channels,
                               config.pixel_range)
        if "ema" in parts and (source.ema_generator is None or model.ema_generator is None):
            which = config.init_from if source.ema_generator is None else "this run"
            raise ValueError(f"init_parts names ema, but {which} has no EMA generator (ema_decay 0)")
        for part in ("generator", "discriminator"):
            if part in parts:
                _copy_in_order(getattr(source, part), getattr(model, part), part, config.init_from)
        if "generator" in parts or "ema" in parts:
            _start_ema(model, source, copy_source_ema="ema" in parts,
                       copy=lambda src, dst: _copy_in_order(src, dst, "EMA generator", config.init_from))
        return f"warm start from {config.init_from}: copied {', '.join(parts)}"
    return None


def _source_model(run: str | Path, saved: dict, setting: str, image_size: int, channels: int,
                  pixel_range: str) -> keras.Model:
    """The GAN of `run` (whose config.json is `saved`), at its newest checkpoint; `pixel_range`
    is the new run's, which the copied networks must share."""
    if get_preset(saved["model"]).kind != "gan":
        raise ValueError(f"{setting} {run} is a {saved['model']} run: it has no GAN networks to copy")
    source_range = saved.get("pixel_range", DEFAULTS["pixel_range"])
    if source_range != pixel_range:
        raise ValueError(f"{setting} {run} has pixel_range {source_range}; this run has {pixel_range}: its "
                         f"networks would read and write pixels in another range")
    checkpoints = list_checkpoints(Path(run) / "checkpoints")
    if not checkpoints:
        raise FileNotFoundError(f"{setting} {run} has no checkpoint to start from")
    config = make_config(saved)
    if config.image_size is not None and config.image_size != image_size:
        raise ValueError(f"{setting} {run} has {config.image_size}-pixel images; this run needs {image_size}")
    source = get_model(config, image_size, channels)
    try:
        load_checkpoint(source, checkpoints[-1])
    except ValueError as error:
        raise ValueError(f"{setting} {run}: {error} (are its images {image_size} px?)") from None
    return source


def _start_ema(model, source, copy_source_ema: bool, copy) -> None:
    """The new run's EMA generator starts as its (copied) generator, then takes the source's EMA
    where asked."""
    if model.ema_generator is None:
        return
    model.ema_generator.set_weights(model.generator.get_weights())
    if copy_source_ema and source.ema_generator is not None:
        copy(source.ema_generator, model.ema_generator)


def _weighted(network: keras.Model) -> list[keras.layers.Layer]:
    return [layer for layer in network.layers if layer.weights]


def _shapes(layer) -> list[tuple]:
    return [tuple(weight.shape) for weight in layer.weights]


def _copy_by_name(source: keras.Model, target: keras.Model) -> list[str]:
    """Copies each layer of `source` into the layer of `target` with its name (FadeIn's alpha
    excepted: it starts at 0); returns the names copied."""
    by_name = {layer.name: layer for layer in _weighted(source)}
    copied = []
    for layer in _weighted(target):
        counterpart = by_name.get(layer.name)
        if counterpart is None or isinstance(layer, FadeIn):
            continue
        if _shapes(counterpart) != _shapes(layer):
            raise ValueError(f"the grown {target.name}'s layer {layer.name} has weights {_shapes(layer)}, the "
                             f"source's {_shapes(counterpart)}: the grown run needs the source's channels at each "
                             f"resolution")
        layer.set_weights(counterpart.get_weights())
        copied.append(layer.name)
    return copied


def _copy_in_order(source: keras.Model, target: keras.Model, part: str, run) -> None:
    """Copies the layers of `source` into those of `target`, which must match one for one."""
    source_layers, target_layers = _weighted(source), _weighted(target)
    for index, layer in enumerate(target_layers):
        counterpart = source_layers[index] if index < len(source_layers) else None
        if counterpart is None or type(counterpart) is not type(layer) or _shapes(counterpart) != _shapes(layer):
            found = "nothing" if counterpart is None else \
                f"{type(counterpart).__name__} {counterpart.name} {_shapes(counterpart)}"
            raise ValueError(f"init_from {run}: the {part}'s layer {index} ({type(layer).__name__} {layer.name}, "
                             f"weights {_shapes(layer)}) does not match that run's ({found}): the networks must "
                             f"be the same")
    if len(source_layers) > len(target_layers):
        extra = source_layers[len(target_layers)]
        raise ValueError(f"init_from {run}: that run's {part} has more layers ({extra.name} and on): the networks "
                         f"must be the same")
    for layer, counterpart in zip(target_layers, source_layers, strict=True):
        layer.set_weights(counterpart.get_weights())
