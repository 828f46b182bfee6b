"""Callbacks for `model.fit`: progress and TensorBoard, sample grids, checkpoints, time limit.

Each reads the model's own step counter (`model.step`), so a resumed run carries on with the
same step numbers in file names and TensorBoard.
"""

from __future__ import annotations

import math
import signal
import sys
import threading
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from gans_keras.checkpoint import current_step, save_checkpoint
from gans_keras.sampling import generate
from gans_keras.viz import generator_value_range, save_grid, to_uint8

# Sample-quality scores an evaluation callback adds to the logs; TensorBoard gets them from it.
SCORE_KEYS = ("fid", "kid")


class TrainingMonitor(keras.callbacks.Callback):
    """Progress bar (losses, images/s), TensorBoard scalars, and a stop on non-finite losses.

    Args:
        total_steps: the step training ends at.
        images_per_step: real images one step consumes (for images/s).
        log_dir: TensorBoard directory, or None.
        log_every: write TensorBoard scalars every this many steps.
        verbose: show the progress bar.
        time_limit: the run's TimeLimit callback, or None. With one, the bar shows the minutes
            left to whichever limit comes first instead of an ETA to `total_steps`, which a
            time-limited run (often given a huge step count) never reaches.

    The bar counts this session's steps, not the global step: Keras's Progbar divides the
    elapsed time by the count it is given, so a resumed run's time per step and ETA would
    otherwise count the steps of earlier sessions as done in this one.
    """

    def __init__(self, total_steps, images_per_step, log_dir=None, log_every=10, verbose=True, time_limit=None):
        super().__init__()
        self.total_steps = total_steps
        self.time_limit = time_limit
        self.minutes_left: float | None = None
        self.images_per_step = images_per_step
        self.log_every = log_every
        self.writer = tf.summary.create_file_writer(str(log_dir)) if log_dir else None
        self.verbose = verbose
        self.last_logs: dict[str, float] = {}
        self.last_scores: dict[str, float] = {}  # fid/kid from EvaluationCallback, shown until the next
        self.nonfinite_step: int | None = None
        self.images_per_second: float | None = None  # known from the second step on

    def on_train_begin(self, logs=None):
        self.start_step = current_step(self.model)
        # Rate excludes the first step, which traces and compiles the train function.
        self.timed_from: tuple[int, float] | None = None
        interactive = sys.stdout.isatty()
        self.progbar = keras.utils.Progbar(
            None if self.time_limit else self.total_steps - self.start_step,
            verbose=1 if self.verbose else 0,
            interval=0.5 if interactive else 30.0,
            # Shown as they are: each is the value of the latest step, not a running mean.
            stateful_metrics=["loss", "d_loss", "g_loss", "gp", "img/s", "min_left", *SCORE_KEYS],
            unit_name="step",
        )

    def on_train_batch_end(self, batch, logs=None):
        step = current_step(self.model)
        now = time.perf_counter()
        values = {key: float(value) for key, value in (logs or {}).items()}
        self.last_scores.update({key: values.pop(key) for key in SCORE_KEYS if key in values})
        self.last_logs = values
        if not all(math.isfinite(value) for value in self.last_logs.values()):
            self.nonfinite_step = step
            self.model.stop_training = True
            return
        if self.timed_from is None:
            self.timed_from = (step, now)
        elif step > self.timed_from[0]:
            first_step, first_time = self.timed_from
            self.images_per_second = (step - first_step) * self.images_per_step / (now - first_time)
            if self.time_limit:
                seconds_per_step = (now - first_time) / (step - first_step)
                seconds_left = min(self.time_limit.seconds_left(), (self.total_steps - step) * seconds_per_step)
                self.minutes_left = max(seconds_left, 0.0) / 60.0
        if self.writer is not None and step % self.log_every == 0:
            with self.writer.as_default(step=step):
                for key, value in self.last_logs.items():
                    tf.summary.scalar(key, value)
                if self.images_per_second is not None:
                    tf.summary.scalar("images_per_second", self.images_per_second)
        shown = [(key, self.last_logs[key]) for key in ("loss", "d_loss", "g_loss", "gp") if key in self.last_logs]
        shown += list(self.last_scores.items())
        shown.append(("img/s", self.images_per_second or 0.0))
        if self.minutes_left is not None:
            shown.append(("min_left", self.minutes_left))
        self.progbar.update(step - self.start_step, shown)

    def on_train_end(self, logs=None):
        if self.writer is not None:
            self.writer.flush()


class SampleGrid(keras.callbacks.Callback):
    """Writes `samples/step_<step>.png` from a fixed latent batch every `every` steps.

    With `labels` (conditional models: class labels, or a text model's caption token ids), the
    grid has 10 columns: one row per class or caption when they come in runs of 10, each row
    under its `row_titles` entry if given.
    """

    def __init__(self, latents: np.ndarray, directory: str | Path, every: int, labels: np.ndarray | None = None,
                 row_titles: list[str] | None = None):
        super().__init__()
        self.latents = latents
        self.labels = labels
        self.row_titles = row_titles
        self.directory = Path(directory)
        self.every = every

    def write(self) -> Path:
        step = current_step(self.model)
        inputs = self.latents if self.labels is None else [self.latents, self.labels]
        images = generate(self.model.sampling_generator, inputs)
        columns = None if self.labels is None else 10
        pixels = to_uint8(images, generator_value_range(self.model.sampling_generator))
        return save_grid(pixels, self.directory / f"step_{step:08d}.png", columns=columns, scale=2,
                         row_titles=self.row_titles)

    def on_train_batch_end(self, batch, logs=None):
        if current_step(self.model) % self.every == 0:
            self.write()


class PeriodicCheckpoint(keras.callbacks.Callback):
    """Saves a full training checkpoint every `every` steps, and with `minutes` also once that
    much wall time has passed since the last one; keeps the newest `keep`."""

    def __init__(self, directory: str | Path, every: int, keep: int = 3, minutes: float | None = None):
        super().__init__()
        self.directory = Path(directory)
        self.every = every
        self.keep = keep
        self.seconds = None if minutes is None else minutes * 60.0
        self.last_save = time.monotonic()

    def on_train_begin(self, logs=None):
        self.last_save = time.monotonic()

    def on_train_batch_end(self, batch, logs=None):
        if self.model.stop_training:
            return  # the run saves at its end
        due = self.seconds is not None and time.monotonic() - self.last_save >= self.seconds
        if current_step(self.model) % self.every == 0 or due:
            save_checkpoint(self.model, self.directory, self.keep)
            self.last_save = time.monotonic()


class TimeLimit(keras.callbacks.Callback):
    """Stops training cleanly once `minutes` of wall time have passed since training began.

    `agree` (optional) turns this process's verdict into the one every worker acts on
    (`distribute.on_any_worker`): workers whose clocks differ must still stop at the same step.
    """

    def __init__(self, minutes: float, agree=None):
        super().__init__()
        self.seconds = minutes * 60.0
        self.agree = agree
        self.reached = False

    def on_train_begin(self, logs=None):
        self.start = time.monotonic()

    def seconds_left(self) -> float:
        return self.seconds - (time.monotonic() - self.start)

    def on_train_batch_end(self, batch, logs=None):
        reached = self.seconds_left() <= 0
        if self.agree is not None:
            reached = self.agree(reached)
        if reached:
            self.reached = True
            self.model.stop_training = True


class StopOnSignal(keras.callbacks.Callback):
    """Stops training cleanly after the step in flight when the process gets SIGTERM (a
    preemption notice) or SIGINT (Ctrl-C), so the run writes its checkpoint and exports as at
    its end. A second signal acts as it would without this callback. `agree` as `TimeLimit`'s.
    Signal handlers belong to the main thread: elsewhere this does nothing."""

    SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(self, agree=None):
        super().__init__()
        self.agree = agree
        self.received: str | None = None
        self.previous = {}

    def on_train_begin(self, logs=None):
        if threading.current_thread() is threading.main_thread():
            self.previous = {number: signal.signal(number, self._handle) for number in self.SIGNALS}

    def _handle(self, number, frame):
        self.received = signal.Signals(number).name
        self._restore()

    def _restore(self):
        for number, handler in self.previous.items():
            signal.signal(number, handler)
        self.previous = {}

    def on_train_batch_end(self, batch, logs=None):
        stop = self.received is not None
        if self.agree is not None:
            stop = self.agree(stop)
        if stop:
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        self._restore()
