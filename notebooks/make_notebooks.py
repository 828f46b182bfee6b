"""Writes the report notebooks (narrative and plots only; every computation is a package call)
and optionally executes them.

    python notebooks/make_notebooks.py              # write the .ipynb files, without outputs
    python notebooks/make_notebooks.py --execute    # and run them (real runs: minutes each)

With GANS_KERAS_SMOKE=1 the notebooks train a few steps and evaluate a few hundred images, as
the tests do; GANS_KERAS_RUNS sets where their runs go (default: runs/notebooks).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

SETUP = """\
import os
from datetime import datetime
from pathlib import Path

from IPython.display import display
from PIL import Image

import gans_keras as gk
from gans_keras.evaluation import evaluate_images, format_table
from gans_keras.viz import architecture_plot, plot_curves

# Smoke mode (the tests): a few steps and a small evaluation. A real run trains MINUTES.
SMOKE = os.environ.get("GANS_KERAS_SMOKE") == "1"
MINUTES = 3
EVAL_IMAGES = 300 if SMOKE else 10_000
RUNS = Path(os.environ.get("GANS_KERAS_RUNS", "../runs/notebooks"))"""

MODELS = {
    "02_dcgan": dict(
        model="dcgan",
        title="DCGAN",
        text="""\
Radford et al. 2015: strided convolutions instead of pooling, BatchNorm and ReLU in the
generator, LeakyReLU(0.2) in the discriminator, a tanh output, weights from N(0, 0.02) and
Adam(2e-4, beta_1 = 0.5). The discriminator is trained with binary cross-entropy and the
generator with the non-saturating loss -log D(G(z)). In this package `--model dcgan` is the
generic GAN class with that preset (`gans_keras/models/registry.py`).""",
        cam=True,
    ),
    "03_cgan": dict(
        model="cgan",
        title="Conditional GAN",
        text="""\
A class-conditional GAN: the generator joins a label embedding to its latent, and the
discriminator is a projection discriminator (Miyato & Koyama 2018): its score is
psi(phi(x)) + <embed(y), phi(x)>, with spectral normalisation and the hinge loss. Each row of
the sample grids is one class, so we can see whether the labels are obeyed.""",
        classes=True,
    ),
    "04_wgan_gp": dict(
        model="wgan",
        title="WGAN-GP",
        text="""\
Gulrajani et al. 2017: the critic estimates the Wasserstein-1 distance; instead of clipping
weights, a gradient penalty lambda E[(||grad D(x_hat)|| - 1)^2] on points x_hat between real and
fake samples (interpolation coefficients uniform in [0, 1]) keeps it 1-Lipschitz. Five critic
updates per generator update, Adam(1e-4, 0, 0.9), no BatchNorm in the critic. The critic's loss
is minus the distance estimate, so it rising towards 0 is the sign of progress.""",
        tags=("d_loss", "g_loss", "gp"),
    ),
    "05_sngan": dict(
        model="sngan",
        title="SN-GAN",
        text="""\
Miyato et al. 2018: spectral normalisation divides each discriminator weight by its largest
singular value (one power iteration a step, `keras.layers.SpectralNormalization`), bounding its
Lipschitz constant without a penalty. Hinge loss, five discriminator updates per generator
update, Adam(2e-4, 0, 0.9).""",
    ),
}


def model_notebook(name: str, spec: dict) -> nbformat.NotebookNode:
    model, tags = spec["model"], spec.get("tags", ("d_loss", "g_loss", "d_acc_real", "d_acc_fake"))
    cells = [
        new_markdown_cell(f"# {spec['title']} on Fashion-MNIST\n\n{spec['text']}"),
        new_code_cell(SETUP, metadata={"tags": ["parameters"]}),
        new_markdown_cell("## Configuration\n\nThe model's preset, with the small networks the 2-core budget allows."),
        new_code_cell(f"""\
config = gk.make_config({{
    "model": "{model}", "g_width": 32, "d_width": 32,
    "max_minutes": MINUTES, "steps": 20 if SMOKE else 1_000_000,
    "sample_every": 10 if SMOKE else 500, "checkpoint_every": 20 if SMOKE else 2000,
    "num_classes": {10 if spec.get("classes") else None},
}})
config"""),
        new_markdown_cell(
            "## Architecture\n\nGenerator, then discriminator (visualkeras, through the package's Keras 3 adapter)."
        ),
        new_code_cell("""\
model = gk.get_model(config, image_size=28, channels=1)
display(architecture_plot(model.generator, scale_xy=2, max_z=120))
display(architecture_plot(model.discriminator, scale_xy=2, max_z=120))"""),
        new_markdown_cell(
            "## Training\n\n`gk.train` is what `python -m gans_keras.train` runs: checkpoints, sample grids "
            "and TensorBoard logs go to the run directory."
        ),
        new_code_cell(f"""\
out = RUNS / f"{model}-{{datetime.now():%Y%m%d-%H%M%S}}"
summary = gk.train(config, out, verbose=False)
{{key: summary[key] for key in ("steps", "stopped_by", "images_per_second", "final_logs")}}"""),
        new_code_cell(f"plot_curves(out, tags={tuple(tags)!r});"),
        new_markdown_cell(
            "## Samples\n\nThe fixed latent batch of every grid, after the last step"
            + (" (one row per class)." if spec.get("classes") else ".")
        ),
        new_code_cell('Image.open(out / summary["sample_grid"])'),
        new_markdown_cell(
            "## Metrics\n\nClassifier FID, IS, KID and precision/recall against the test split "
            "(the shipped Fashion-MNIST classifier's features; see `Conclusion.ipynb` for all "
            "models after the same 15-minute budget)."
        ),
        new_code_cell("""\
images = gk.sample(gk.load_generator(out), EVAL_IMAGES, verbose=False)
print(format_table(evaluate_images(images, num=EVAL_IMAGES, verbose=False)))"""),
    ]
    if spec.get("cam"):
        cells += [
            new_markdown_cell(
                "## What the discriminator looks at\n\nGrad-CAM of the discriminator's score on real "
                "test images (left) and its heatmap over them (right)."
            ),
            new_code_cell("""\
from gans_keras.checkpoint import list_checkpoints, load_checkpoint
from gans_keras.data import load_arrays
from gans_keras.viz import cam_overlay_grid, discriminator_cam

real, _ = load_arrays("fashion_mnist", "test")
trained = gk.get_model(config, image_size=28, channels=1)
load_checkpoint(trained, list_checkpoints(out / "checkpoints")[-1])
pairs = cam_overlay_grid(real[:10], discriminator_cam(trained, real[:10]), out / "cam.png")
Image.open(out / "cam.png")"""),
        ]
    return new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}})


def data_notebook() -> nbformat.NotebookNode:
    return new_notebook(cells=[
        new_markdown_cell("""\
# Data and augmentation

Fashion-MNIST: 60,000 training and 10,000 test images, 28x28 grayscale, ten balanced classes.
`gk.load_dataset` turns any supported source into a `tf.data` pipeline of images in [-1, 1] and
labels; here, the arrays and one batch."""),
        new_code_cell(SETUP, metadata={"tags": ["parameters"]}),
        new_code_cell("""\
import numpy as np

from gans_keras.data import load_arrays
from gans_keras.viz import save_grid, to_uint8

images, labels = load_arrays("fashion_mnist", "train")
print(images.shape, images.dtype, np.bincount(labels))
per_class = np.concatenate([images[labels == c][:10] for c in range(10)])
save_grid(per_class, RUNS / "real_by_class.png", columns=10, scale=2)
Image.open(RUNS / "real_by_class.png")"""),
        new_markdown_cell("""\
One row per class: T-shirt/top, trouser, pullover, dress, coat, sandal, shirt, sneaker, bag,
ankle boot. Shirts, pullovers and coats are the classes a generator (and a classifier) mixes up."""),
        new_code_cell("""\
batch, batch_labels = next(iter(gk.load_dataset("fashion_mnist", batch_size=16, seed=0)))
print(batch.shape, float(batch.numpy().min()), float(batch.numpy().max()), batch_labels.numpy())"""),
        new_markdown_cell("""\
## DiffAugment

Zhao et al. 2020 augment real *and* fake images with differentiable transforms before the
discriminator, so it cannot memorise the training set and the generator still gets gradients.
Below: the same 10 images under each transform (rows: none, color, translation, cutout, all)."""),
        new_code_cell("""\
from gans_keras.augment import DiffAugment

x = batch[:10]
policies = ("color", "translation", "cutout", "color,translation,cutout")
rows = [x] + [DiffAugment(policy, seed=0)(x) for policy in policies]
save_grid(to_uint8(np.concatenate([np.asarray(r) for r in rows])), RUNS / "diffaugment.png", columns=10, scale=2)
Image.open(RUNS / "diffaugment.png")"""),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}})


def conclusion_notebook() -> nbformat.NotebookNode:
    return new_notebook(cells=[
        new_markdown_cell("""\
# Conclusion: the GANs compared

Every model trained for the same 15 minutes on 2 CPU cores (widths 32, batch 64, each
model's paper preset), then 10,000 samples scored against the Fashion-MNIST test split with
the shipped classifier's features. The numbers come from `benchmarks/results/*_15min.json`,
written by `python benchmarks/gan_budget.py --config benchmarks/configs/MODEL_fashion_mnist_15min.json
--name MODEL_15min`. Lower FID and KID are better; higher IS, precision and recall are better.
These classifier scores rank models within this project; they are not the Inception FIDs of
papers."""),
        new_code_cell("""\
import json
from pathlib import Path

import matplotlib.pyplot as plt
from IPython.display import display
from PIL import Image

ROOT = Path(".")  # the repository root, where this notebook lives
BACKBONE = "classifier:fashion_mnist"
results = {}
for path in sorted((ROOT / "benchmarks" / "results").glob("*_15min.json")):
    record = json.loads(path.read_text())
    results[record["model"]] = {"steps": record["steps"], **record[BACKBONE]}
real = json.loads((ROOT / "benchmarks" / "results" / "metrics_real_fashion_mnist.json").read_text())[BACKBONE]
columns = ("steps", "fid", "is_mean", "kid_mean", "precision", "recall", "coverage")
print(f"{'model':<8}" + "".join(f"{c:>11}" for c in columns))
for model, row in results.items():
    cells = (f"{row[c]:>11.3f}" if isinstance(row[c], float) else f"{row[c]:>11}" for c in columns)
    print(f"{model:<8}" + "".join(cells))
print(f"{'real':<8}" + f"{'':>11}" + "".join(f"{real[c]:>11.3f}" for c in columns[1:]))"""),
        new_code_cell("""\
figure, axes = plt.subplots(1, 3, figsize=(12, 3))
for axis, key in zip(axes, ("fid", "is_mean", "recall")):
    axis.bar(list(results), [row[key] for row in results.values()])
    axis.axhline(real[key], color="gray", linestyle="--", label="real data")
    axis.set_title(key)
axes[0].legend();"""),
        new_markdown_cell("Their sample grids after the 15 minutes (the conditional GAN: one row per class):"),
        new_code_cell("""\
for model in results:
    print(model)
    display(Image.open(ROOT / "markdown_img" / f"{model}_15min.png"))"""),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}})


def notebooks() -> dict[Path, nbformat.NotebookNode]:
    found = {HERE / "01_data_and_augmentation.ipynb": data_notebook()}
    found.update({HERE / f"{name}.ipynb": model_notebook(name, spec) for name, spec in MODELS.items()})
    found[ROOT / "Conclusion.ipynb"] = conclusion_notebook()
    for notebook in found.values():
        for number, cell in enumerate(notebook.cells):
            cell.id = f"cell-{number}"  # stable ids: rewriting a notebook changes only what changed
    return found


def execute(notebook: nbformat.NotebookNode, path: Path, timeout: int = 1800) -> None:
    resources = {"metadata": {"path": str(path.parent)}}  # run where the notebook lives
    NotebookClient(notebook, timeout=timeout, kernel_name="python3", resources=resources).execute()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--execute", action="store_true", help="run each notebook and keep its outputs")
    parser.add_argument("--only", nargs="*", help="file names to write (default: all)")
    args = parser.parse_args()
    for path, notebook in notebooks().items():
        if args.only and path.name not in args.only:
            continue
        if args.execute:
            print(f"executing {path.name}", flush=True)
            execute(notebook, path)
        nbformat.write(notebook, path)
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
