"""FID and KID during training, on a smaller sample, so every run has a quality curve."""

from __future__ import annotations

import json
import math
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from gans_keras.checkpoint import current_step
from gans_keras.evaluation import reference_features
from gans_keras.io import atomic_path, file_sha256, write_json
from gans_keras.metrics.extractors import extract, get_extractor, shipped_classifier_path
from gans_keras.metrics.fid import feature_statistics, frechet_distance_from_statistics
from gans_keras.metrics.kid import SUBSET_SIZE, kernel_inception_distance
from gans_keras.sampling import BEST_GENERATOR_FILE, balanced_labels, generate
from gans_keras.viz import generator_value_range, to_uint8


def default_backbone(dataset: str) -> str:
    """The shipped classifier of the dataset if there is one, else the reference Inception."""
    return f"classifier:{dataset}" if shipped_classifier_path(dataset).is_file() else "inception"


class EvaluationCallback(keras.callbacks.Callback):
    """Every `every` steps: FID and KID of `num_samples` images from a fixed latent batch
    against as many images of the dataset's test split (their features cached on disk).

    Puts `fid` and `kid` into the step's logs (so the progress bar shows them; place this
    callback before `TrainingMonitor`) and writes them to TensorBoard under `log_dir`.

    With `keep_best` (a run directory), the sampling generator with the lowest FID so far is
    exported there as generator_best.keras, its scores in generator_best.json: a GAN's FID can
    rise late in a run (DCGAN's does, benchmarks/README.md), and this keeps the best one. With
    `resume`, the record left by the earlier part of the run is the one to beat, when it was
    scored the same way.
    """

    def __init__(self, every: int, dataset: str, backbone: str, num_samples: int = 2000,
                 log_dir: str | Path | None = None, seed: int = 0, keep_best: str | Path | None = None,
                 resume: bool = False):
        super().__init__()
        self.every = every
        self.dataset = dataset
        self.backbone = backbone
        self.num_samples = num_samples
        self.writer = tf.summary.create_file_writer(str(log_dir)) if log_dir else None
        self.seed = seed
        self.history: list[dict] = []
        self.best_path = Path(keep_best) / BEST_GENERATOR_FILE if keep_best is not None else None
        self.best = self._earlier_best() if resume and self.best_path is not None else None

    @property
    def best_record_path(self) -> Path:
        return self.best_path.with_suffix(".json")

    def _scored_the_same_way(self) -> dict:
        return {"backbone": self.backbone, "dataset": self.dataset, "num_samples": self.num_samples,
                "seed": self.seed}

    def _earlier_best(self) -> dict | None:
        """The earlier part of the run's best, if its generator and record are there, belong
        together and were scored as this evaluation scores."""
        if not (self.best_path.is_file() and self.best_record_path.is_file()):
            return None
        try:
            record = json.loads(self.best_record_path.read_text())
        except json.JSONDecodeError:
            return None  # a record torn by a crash: the next evaluation writes a whole one
        same = all(record.get(key) == value for key, value in self._scored_the_same_way().items())
        # A crash between saving a new best generator and writing its record leaves the
        # generator beside an older record: then neither counts.
        paired = record.get("generator_sha256") == file_sha256(self.best_path)
        return record if same and paired and math.isfinite(record.get("fid", math.nan)) else None

    def on_train_begin(self, logs=None):
        _, size, _, channels = self.model.sampling_generator.output_shape
        self.extractor = get_extractor(self.backbone)
        self.reference = reference_features(self.extractor, self.dataset, "test", self.num_samples, size, channels)
        rng = np.random.default_rng(self.seed)
        self.latents = rng.standard_normal((self.num_samples, *self.model.latent_shape)).astype("float32")

    def evaluate(self) -> dict:
        inputs = self.latents
        if self.model.num_classes is not None:  # balanced classes, like the test split
            inputs = [self.latents, balanced_labels(len(self.latents), self.model.num_classes)]
        fake = generate(self.model.sampling_generator, inputs)
        images = to_uint8(fake, generator_value_range(self.model.sampling_generator))
        features, _ = extract(self.extractor, images, verbose=False)
        reference = self.reference
        fid = frechet_distance_from_statistics(*feature_statistics(features), reference["mu"], reference["sigma"])
        kid, _ = kernel_inception_distance(features, reference["features"],
                                           subset_size=min(SUBSET_SIZE, self.num_samples))
        return {"fid": fid, "kid": kid}

    def on_train_batch_end(self, batch, logs=None):
        step = current_step(self.model)
        if step % self.every:
            return
        scores = self.evaluate()
        self.history.append({"step": step, **scores})
        if self.best_path is not None and math.isfinite(scores["fid"]) and (
                self.best is None or scores["fid"] < self.best["fid"]):
            self._keep(step, scores)
        if logs is not None:
            logs.update(scores)
        if self.writer is not None:
            with self.writer.as_default(step=step):
                for key, value in scores.items():
                    tf.summary.scalar(f"{key}_{self.backbone.replace(':', '_')}", value)
            self.writer.flush()

    def _keep(self, step: int, scores: dict) -> None:
        with atomic_path(self.best_path) as tmp:
            self.model.sampling_generator.save(tmp)
        self.best = {"step": step, **{key: float(value) for key, value in scores.items()},
                     **self._scored_the_same_way(), "generator_sha256": file_sha256(self.best_path)}
        write_json(self.best_record_path, self.best)
