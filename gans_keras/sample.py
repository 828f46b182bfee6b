"""Sample a trained run: `python -m gans_keras.sample --run runs/NAME --num 10000 --out samples.npz`.

Writes uint8 images [N, H, W, C] under the key `images` and a PNG grid of the first 100.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import keras
import numpy as np

from gans_keras.io import atomic_path
from gans_keras.viz import save_grid, to_uint8


def load_generator(run: str | Path) -> keras.Model:
    path = Path(run) / "generator.keras"
    if not path.exists():
        raise FileNotFoundError(f"no generator.keras in {run}: train the run to its end first")
    return keras.saving.load_model(path, compile=False)


def sample(generator: keras.Model, num: int, seed: int = 0, batch_size: int = 500, verbose: bool = True) -> np.ndarray:
    """`num` uint8 images (N, H, W, C) from z ~ N(0, I); the same seed gives the same images."""
    if num < 1:
        raise ValueError(f"num must be >= 1, got {num}")
    latent_dim = generator.input_shape[-1]
    latents = np.random.default_rng(seed).standard_normal((num, latent_dim)).astype("float32")
    progbar = keras.utils.Progbar(num, verbose=1 if verbose else 0, unit_name="image")
    batches = []
    for start in range(0, num, batch_size):
        batch = generator(latents[start : start + batch_size], training=False)
        batches.append(to_uint8(keras.ops.convert_to_numpy(batch)))
        progbar.update(min(start + batch_size, num))
    return np.concatenate(batches)


def write_samples(images: np.ndarray, out: str | Path) -> tuple[Path, Path]:
    """Writes `out` (.npz, key `images`) and a grid PNG beside it; returns both paths."""
    out = Path(out)
    with atomic_path(out) as tmp, open(tmp, "wb") as f:
        np.savez_compressed(f, images=images)
    grid = save_grid(images[:100], out.with_suffix(".png"), scale=2)
    return out, grid


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
    args = parser.parse_args(argv)
    try:
        generator = load_generator(args.run)
        images = sample(generator, args.num, args.seed, args.batch_size)
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    out, grid = write_samples(images, args.out or args.run / "samples.npz")
    print(f"wrote {len(images)} images {images.shape[1:]} to {out} and a grid to {grid}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
