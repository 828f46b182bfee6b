"""Sample a trained run: `python -m gans_keras.sample --run runs/NAME --num 10000 --out samples.npz`.

Writes uint8 images [N, H, W, C] under the key `images` (and `labels` for conditional models)
and a PNG grid beside it (one row per class for conditional models).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from gans_keras.sampling import balanced_labels, generator_classes, load_generator, sample, write_samples


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m gans_keras.sample",
        description=__doc__.splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--run", type=Path, required=True, help="run directory holding generator.keras")
    parser.add_argument("--num", type=int, default=10_000, help="number of images")
    parser.add_argument(
        "--out", type=Path, help="output .npz (default: RUN/samples.npz); the grid goes beside it as .png"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the latent vectors")
    parser.add_argument("--batch-size", type=int, default=500, help="images per generator call")
    parser.add_argument(
        "--class", dest="label", type=int, help="conditional models: only this class (default: all, balanced)"
    )
    args = parser.parse_args(argv)
    try:
        generator = load_generator(args.run)
        classes = generator_classes(generator)
        labels = None
        if args.label is not None:
            labels = np.full(args.num, args.label)
        elif classes is not None:
            labels = balanced_labels(args.num, classes)
        images = sample(generator, args.num, args.seed, args.batch_size, labels=labels)
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    out, grid = write_samples(images, args.out or args.run / "samples.npz", labels)
    print(f"wrote {len(images)} images {images.shape[1:]} to {out} and a grid to {grid}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
