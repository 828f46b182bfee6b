"""FID and KID during training, on a smaller sample, so every run has a quality curve."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from gans_keras.checkpoint import current_step
from gans_keras.evaluation import reference_features
from gans_keras.metrics.extractors import extract, get_extractor, shipped_classifier_path
from gans_keras.metrics.fid import feature_statistics, frechet_distance_from_statistics
from gans_keras.metrics.kid import SUBSET_SIZE, kernel_inception_distance
from gans_keras.sampling import balanced_labels, generate
from gans_keras.viz import generator_value_range, to_uint8


def default_backbone(dataset: str) -> str:
    """The shipped classifier of the dataset if there is one, else the reference Inception."""
    return f"classifier:{dataset}" if shipped_classifier_path(dataset).is_file() else "inception"


class EvaluationCallback(keras.callbacks.Callback):
    """Every `every` steps: FID and KID of `num_samples` images from a fixed latent batch
    against as many images of the dataset's test split (their features cached on disk).

    Puts `fid` and `kid` into the step's logs (so the progress bar shows them; place this
    callback before `TrainingMonitor`) and writes them to TensorBoard under `log_dir`.
    """

    def __init__(self, every: int, dataset: str, backbone: str, num_samples: int = 2000,
                 log_dir: str | Path | None = None, seed: int = 0):
        super().__init__()
        self.every = every
        self.dataset = dataset
        self.backbone = backbone
        self.num_samples = num_samples
        self.writer = tf.summary.create_file_writer(str(log_dir)) if log_dir else None
        self.seed = seed
        self.history: list[dict] = []

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
        if logs is not None:
            logs.update(scores)
        if self.writer is not None:
            with self.writer.as_default(step=step):
                for key, value in scores.items():
                    tf.summary.scalar(f"{key}_{self.backbone.replace(':', '_')}", value)
            self.writer.flush()
