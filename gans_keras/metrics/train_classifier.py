"""Train the small CNN behind `classifier:fashion_mnist` (classifier FID/IS on 28x28 data).

    python -m gans_keras.metrics.train_classifier            # writes the shipped weights

Fixed seed; reports the test accuracy and stores it beside the model.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timezone
from pathlib import Path

import keras
from keras import layers

from gans_keras.cli import HelpFormatter
from gans_keras.data import load_arrays
from gans_keras.io import atomic_path, write_json
from gans_keras.metrics.extractors import shipped_classifier_path


def build_classifier(input_shape=(28, 28, 1), num_classes: int = 10, width: int = 32) -> keras.Model:
    """Images 0..255 -> logits; the 128-d "features" layer feeds the logits directly."""
    inputs = keras.Input(input_shape, name="images")
    x = layers.Rescaling(1.0 / 255.0)(inputs)
    for filters in (width, 2 * width):
        x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = layers.MaxPooling2D()(x)  # (B, H/2, W/2, filters)
    x = layers.Flatten()(x)
    x = layers.Dropout(0.3)(x)
    features = layers.Dense(128, activation="relu", name="features")(x)
    logits = layers.Dense(num_classes, name="logits")(features)
    return keras.Model(inputs, logits, name="classifier")


def train_classifier(dataset: str = "fashion_mnist", epochs: int = 8, seed: int = 0, out: Path | None = None) -> dict:
    keras.utils.set_random_seed(seed)
    train_images, train_labels = load_arrays(dataset, "train")
    test_images, test_labels = load_arrays(dataset, "test")
    model = build_classifier(train_images.shape[1:], int(train_labels.max()) + 1)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    model.fit(train_images, train_labels, batch_size=128, epochs=epochs, validation_split=0.1, verbose=2)
    _, accuracy = model.evaluate(test_images, test_labels, batch_size=500, verbose=0)
    out = Path(out or shipped_classifier_path(dataset))
    # A fresh, uncompiled copy: the file holds the weights without the optimizer's state.
    export = build_classifier(train_images.shape[1:], int(train_labels.max()) + 1)
    export.set_weights(model.get_weights())
    with atomic_path(out) as tmp:
        export.save(tmp)
    record = {
        "dataset": dataset,
        "test_accuracy": round(float(accuracy), 4),
        "epochs": epochs,
        "seed": seed,
        "parameters": model.count_params(),
        "command": f"python -m gans_keras.metrics.train_classifier --dataset {dataset} --epochs {epochs} --seed {seed}",
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "keras": keras.__version__,
    }
    write_json(out.with_suffix(".json"), record)
    return record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m gans_keras.metrics.train_classifier",
        description=__doc__.splitlines()[0],
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--dataset", default="fashion_mnist", help="an in-memory dataset of gans_keras.data")
    parser.add_argument("--epochs", type=int, default=8, help="training epochs")
    parser.add_argument("--seed", type=int, default=0, help="seed of initialisation, data order and dropout")
    parser.add_argument("--out", type=Path, help="model file (default: the shipped classifier_<dataset>.keras)")
    args = parser.parse_args(argv)
    record = train_classifier(args.dataset, args.epochs, args.seed, args.out)
    print(f"test accuracy {record['test_accuracy']:.4f}; wrote {args.out or shipped_classifier_path(args.dataset)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
