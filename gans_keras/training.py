"""Training a model into a run directory: config.json, checkpoints/, samples/, logs/
(TensorBoard), generator.keras and summary.json. `python -m gans_keras.train` is its CLI."""

from __future__ import annotations

import dataclasses
import functools
import json
import re
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from gans_keras.callbacks import PeriodicCheckpoint, SampleGrid, StopOnSignal, TimeLimit, TrainingMonitor
from gans_keras.captions import caption_texts, grid_prompts, load_captioned_dataset
from gans_keras.checkpoint import (
    current_step,
    list_checkpoints,
    load_newest_readable,
    save_checkpoint,
    weights_fingerprint,
)
from gans_keras.config import PIXEL_RANGES, TrainConfig
from gans_keras.data import load_dataset, num_classes
from gans_keras.distribute import is_chief, is_multi_worker, make_strategy, on_any_worker
from gans_keras.io import atomic_path, check_writable, remove_stray_temporaries, write_json
from gans_keras.metrics.callback import EvaluationCallback, default_backbone
from gans_keras.models.registry import get_model
from gans_keras.presets import get_preset
from gans_keras.sampling import GENERATOR_FILE
from gans_keras.text_encoders import caption_encoding
from gans_keras.warm_start import start_from

GRID_SIZE = 100  # samples in each grid: 10 x 10


class WorkerLostError(ConnectionError):
    """A multi-worker run stopped because another worker (or the network to it) failed."""


# What a collective raises when a peer is gone (UnavailableError: its heartbeats stopped, seen when
# a worker is killed) or does not answer in time; other errors keep their own message.
LOST_WORKER_ERRORS = (tf.errors.UnavailableError, tf.errors.DeadlineExceededError, tf.errors.AbortedError,
                      tf.errors.CancelledError)


def _first_lines(message: str, count: int = 2) -> str:
    """The lines of a TensorFlow error that say what happened, without its op names and traces."""
    lines = [line.strip() for line in re.sub(r"\{\{[^}]*\}\}", "", message).splitlines()]
    useful = [line for line in lines if line and not line.startswith(("Graph execution error", "Detected at node"))]
    return " ".join(useful[:count])


def fit_multi_worker(model: keras.Model, inputs: tf.data.Dataset, steps: int, callbacks: list,
                     strategy: tf.distribute.Strategy) -> None:
    """`model.fit(inputs, steps_per_epoch=steps, callbacks=callbacks)` for a
    MultiWorkerMirroredStrategy, which Keras 3's fit cannot run (keras-team/keras#20585): each
    replica runs the model's `train_step` on its share of the batch, the logs are averaged over
    every replica, and the callbacks are called as fit calls them."""

    @tf.function
    def train_function(data):
        logs = strategy.run(model.train_step, args=(data,))
        return {key: strategy.reduce(tf.distribute.ReduceOp.MEAN, value, axis=None) for key, value in logs.items()}

    callback_list = keras.callbacks.CallbackList(callbacks, model=model)
    batches = iter(strategy.experimental_distribute_dataset(inputs))
    model.stop_training = False
    logs = {}
    callback_list.on_train_begin()
    callback_list.on_epoch_begin(0)
    for batch in range(steps):
        callback_list.on_train_batch_begin(batch)
        logs = {key: float(value) for key, value in train_function(next(batches)).items()}
        callback_list.on_train_batch_end(batch, logs)
        if model.stop_training:
            break
    callback_list.on_epoch_end(0, logs)
    callback_list.on_train_end(logs)


def image_dataset(config: TrainConfig) -> tf.data.Dataset:
    """The training batches (images, labels) of a model without captions, in the range its
    networks see (`config.pixel_range`; diffusion: [-1, 1])."""
    return load_dataset(config.dataset, batch_size=config.batch_size, image_size=config.image_size,
                        channels=config.channels, value_range=PIXEL_RANGES[config.pixel_range][0], seed=config.seed)


def train(config: TrainConfig, out: str | Path, resume: bool | str = False, verbose: bool = True) -> dict:
    """Trains `config.model` into the run directory `out`; returns the run's summary.

    With `resume`, training continues from the newest checkpoint in `out` to `config.steps`
    and gives the same weights as an unbroken run with the same seed. Without it, a run
    directory that already holds checkpoints is refused rather than overwritten. `resume="auto"`
    continues `out` if it holds checkpoints and starts it otherwise (the CLI's --resume auto).

    Under `config.strategy` the model is built in the strategy's scope and `config.batch_size`
    is the global batch. In a multi-worker cluster every worker calls this with the same `out`
    (a shared file system); the chief alone writes it, and the others read its checkpoints to resume.
    """
    # First: a strategy, and the CPU's logical devices, must be set up before TensorFlow starts.
    strategy = make_strategy(config.strategy, config.cpu_replicas)
    chief = is_chief(strategy)
    replicas = strategy.num_replicas_in_sync
    if config.batch_size % replicas:
        raise ValueError(f"batch_size {config.batch_size} does not split evenly over the strategy's {replicas} "
                         f"replicas")
    out = Path(out)
    checkpoint_dir = out / "checkpoints"
    checkpoints = list_checkpoints(checkpoint_dir)
    if resume not in (True, False, "auto"):
        raise ValueError(f"resume must be True, False or 'auto', got {resume!r}")
    if resume == "auto":
        resume = bool(checkpoints)
    if resume and not checkpoints:
        raise FileNotFoundError(f"cannot resume: no checkpoint in {checkpoint_dir}")
    if not resume and checkpoints:
        raise FileExistsError(
            f"{out} already holds checkpoints: pass --resume to continue it, or choose another --out"
        )
    if chief:  # an output directory that cannot be written is refused before any work
        check_writable(out)
    keras.utils.set_random_seed(config.seed)
    text = get_preset(config.model).text
    caption_text = None
    if text:
        caption_text = caption_encoding(config, out if resume else None,
                                        caption_texts(config.dataset, caption_key=config.caption_key))
        dataset = load_captioned_dataset(config.dataset, batch_size=config.batch_size, image_size=config.image_size,
                                         channels=config.channels, caption_key=config.caption_key, seed=config.seed)
        dataset = dataset.map(lambda images, captions: (images, caption_text.pipeline(captions)),
                              num_parallel_calls=tf.data.AUTOTUNE)
    else:
        dataset = image_dataset(config)
    if (get_preset(config.model).conditional or config.aux_classifier) and config.num_classes is None:
        config = dataclasses.replace(config, num_classes=num_classes(config.dataset))
        if config.num_classes < 2:
            raise ValueError(f"{config.dataset} has one class (a folder without class subfolders, or one subfolder): "
                             f"{config.model if get_preset(config.model).conditional else '--aux-classifier'} "
                             f"needs two or more; train an unconditional model")
    _, height, width, channels = dataset.element_spec[0].shape
    if height is None or height != width:
        raise ValueError(
            f"{config.dataset} images are {height}x{width} (None: sizes vary): pass --image-size to make them square"
        )
    with strategy.scope():
        model = get_model(config, height, channels, **({"caption_text": caption_text} if text else {}))
    if chief:  # what a killed process left half-written
        for directory in (out, checkpoint_dir, out / "samples"):
            remove_stray_temporaries(directory)
    start_step = load_newest_readable(model, checkpoints) if resume else 0
    started_from = None if resume else start_from(model, config, height, channels)
    if started_from and verbose and chief:
        print(started_from)
    if chief:
        out.mkdir(parents=True, exist_ok=True)
        write_json(out / "config.json", config.to_dict())
        if caption_text is not None:
            caption_text.save(out)

    grid_labels, grid_titles = None, None
    if config.num_classes and get_preset(config.model).conditional:
        # One row per class (the first 10 classes), 10 samples each.
        grid_labels = np.repeat(np.arange(min(config.num_classes, 10)), 10).astype("int32")
    elif text:
        # One row per prompt, 10 samples each, the prompt written above its row.
        grid_titles = grid_prompts(config.dataset, caption_key=config.caption_key)
        grid_labels = np.repeat(np.asarray(caption_text.encode(grid_titles)), 10, axis=0)
    grid_size = GRID_SIZE if grid_labels is None else len(grid_labels)
    latents = np.random.default_rng(config.seed).standard_normal((grid_size, *model.latent_shape))
    time_limit = None
    if config.max_minutes:
        time_limit = TimeLimit(config.max_minutes, agree=functools.partial(on_any_worker, strategy))
    monitor = TrainingMonitor(
        config.steps,
        images_per_step=config.batch_size * model.batches_per_step,
        log_dir=out / "logs" if chief else None,
        log_every=config.log_every,
        verbose=verbose and chief,
        time_limit=time_limit,
    )
    sampler = SampleGrid(latents.astype("float32"), out / "samples", config.sample_every, grid_labels, grid_titles)
    # Workers other than the chief only train: the logged losses (reduced over every replica)
    # and the agreed time limit stop them where the chief stops.
    callbacks = [monitor]
    if chief:
        callbacks += [sampler, PeriodicCheckpoint(checkpoint_dir, config.checkpoint_every, config.keep_checkpoints,
                                                       config.checkpoint_minutes)]
    evaluator = None
    if config.eval_every and chief:
        backbone = default_backbone(config.dataset) if config.eval_backbone == "auto" else config.eval_backbone
        evaluator = EvaluationCallback(
            config.eval_every, config.dataset, backbone, config.eval_samples, out / "logs" / "eval", config.seed,
            keep_best=out, resume=resume,
        )
        callbacks.insert(0, evaluator)  # before the monitor, which shows its scores
    if time_limit:
        callbacks.append(time_limit)
    stop_on_signal = StopOnSignal(agree=functools.partial(on_any_worker, strategy))
    callbacks.append(stop_on_signal)

    started = time.monotonic()
    if start_step < config.steps:
        # One batch per step from an endless, seeded stream: skipping the batches used before
        # the checkpoint gives a resumed run the data an unbroken run would have seen.
        # The pipeline is in memory, not in files: a multi-worker strategy splits each global batch.
        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
        inputs = model.step_inputs(dataset).skip(start_step).with_options(options)
        if is_multi_worker(strategy):
            try:
                fit_multi_worker(model, inputs, config.steps - start_step, callbacks, strategy)
            except LOST_WORKER_ERRORS as error:
                last = list_checkpoints(checkpoint_dir)
                raise WorkerLostError(
                    f"training stopped at step {current_step(model)}: the cluster lost a worker "
                    f"({_first_lines(error.message)}). Start every worker again with --resume to continue "
                    f"from {last[-1] if last else 'the start (no checkpoint yet)'}"
                ) from error
        else:
            model.fit(inputs, epochs=1, steps_per_epoch=config.steps - start_step, callbacks=callbacks,
                      shuffle=False,  # the pipeline shuffles, with the run's seed
                      verbose=0)
    if monitor.nonfinite_step is not None:
        last = list_checkpoints(checkpoint_dir)
        raise FloatingPointError(
            f"non-finite loss at step {monitor.nonfinite_step} ({monitor.last_logs}); stopped "
            f"without saving. Last good checkpoint: {last[-1] if last else 'none'}"
        )
    step = current_step(model)
    if not chief:
        return {"model": config.model, "steps": step, "chief": False, "weights_sha256": weights_fingerprint(model)}
    if not (checkpoint_dir / f"ckpt-{step:08d}.npz").exists():
        save_checkpoint(model, checkpoint_dir, config.keep_checkpoints)
    sampler.set_model(model)
    grid = sampler.write()
    with atomic_path(out / GENERATOR_FILE) as tmp:
        model.sampling_generator.save(tmp)
    stopped_by = "time limit" if time_limit and time_limit.reached else "steps"
    if stop_on_signal.received:
        stopped_by = stop_on_signal.received
    summary = {
        "model": config.model,
        "dataset": config.dataset,
        "steps": step,
        "target_steps": config.steps,
        "stopped_by": stopped_by,
        "train_minutes_this_session": round((time.monotonic() - started) / 60.0, 2),
        # Real images consumed per second (a GAN step takes n_critic batches), the first step excluded.
        "images_per_second": monitor.images_per_second and round(monitor.images_per_second, 1),
        "final_logs": {key: round(value, 5) for key, value in monitor.last_logs.items()},
        "weights_sha256": weights_fingerprint(model),
        "sample_grid": str(grid.relative_to(out)),
    }
    if evaluator is not None:
        summary["eval"] = {"backbone": evaluator.backbone, "history": evaluator.history, "best": evaluator.best}
    write_json(out / "summary.json", summary)
    if verbose:
        print(f"\nstopped by {stopped_by} at step {step}; run in {out}")
        print(json.dumps(summary, indent=2))
    return summary
