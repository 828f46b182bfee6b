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

PARAMETERS = """\
# Smoke mode (the tests): a few steps and a small evaluation. A real run trains MINUTES.
SMOKE = os.environ.get("GANS_KERAS_SMOKE") == "1"
MINUTES = 3
EVAL_IMAGES = 300 if SMOKE else 10_000
RUNS = Path(os.environ.get("GANS_KERAS_RUNS", "../runs/notebooks"))"""

# The parameters cell of the notebooks that train and evaluate a model.
SETUP = """\
import os
from datetime import datetime
from pathlib import Path

from IPython.display import display
from PIL import Image

import gans_keras as gk
from gans_keras.evaluation import evaluate_images, format_table
from gans_keras.viz import architecture_plot, plot_curves

""" + PARAMETERS

# The data notebook's: it trains nothing.
DATA_SETUP = """\
import os
from pathlib import Path

from PIL import Image

import gans_keras as gk

""" + PARAMETERS

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
singular value (one power iteration a step), bounding its Lipschitz constant without a penalty.
Hinge loss, five discriminator updates per generator update, Adam(2e-4, 0, 0.9). The package's
`gans_keras.layers.SpectralNormalization` keeps the raw kernel as the trained variable and
computes with W / sigma(W), gradients flowing through sigma as in the paper; Keras' own layer,
which this preset used before, writes W / sigma back into the kernel instead. The last section
compares the two on the same seed and budget.""",
        compare=dict(title="Before and after: Keras' layer against the paper's reparametrisation", text="""\
The same preset, seed and number of steps, with Keras' `SpectralNormalization` (before) and the
package's (after), 10,000 samples each scored with the classifier (`benchmarks/README.md`,
"SN-GAN with the paper's spectral normalisation", has the commands). The 3-minute run above was
made before the change, with Keras' layer."""),
    ),
    "07_r3gan": dict(
        model="r3gan",
        title="R3GAN",
        text="""\
Huang et al. 2024, "The GAN is dead; long live the GAN!": a relativistic pairing loss
(softplus(-(D(real) - D(fake))), each real image paired with a fake) made locally convergent by
two zero-centred gradient penalties, R1 on real and R2 on fake images, on a modernised ResNet
with no normalisation and no tricks: inverted-bottleneck blocks with grouped convolutions,
fix-up initialisation (each block's last layer starts at zero), bilinear upsampling and
[1, 3, 3, 1] low-pass downsampling, a learned 4x4 basis in the generator and a depthwise 4x4 head
in the discriminator. `--model r3gan_cond` is its class-conditional form.""",
        tags=("d_loss", "g_loss", "r1", "r2"),
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
    if spec.get("compare"):
        cells += [
            new_markdown_cell(f"## {spec['compare']['title']}\n\n{spec['compare']['text']}"),
            new_code_cell(f"""\
import json

for label, stem in (("before: keras.layers.SpectralNormalization", "{model}_steps_keras_sn"),
                    ("after: gans_keras.layers.SpectralNormalization", "{model}_steps_paper_sn")):
    record = json.loads((Path("../benchmarks/results") / f"{{stem}}.json").read_text())
    print(f"{{label}} ({{record['steps']:,}} steps, {{record['images_per_second']}} real img/s)")
    scores = record["classifier:fashion_mnist"]
    print(format_table({{key: scores[key] for key in ("fid", "is_mean", "kid_mean", "precision", "recall")}}),
          end="\\n\\n")"""),
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
        new_code_cell(DATA_SETUP, metadata={"tags": ["parameters"]}),
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


def diffusion_notebook() -> nbformat.NotebookNode:
    setup = SETUP.replace(
        "EVAL_IMAGES = 300 if SMOKE else 10_000", "EVAL_IMAGES = 200 if SMOKE else 500"
    ) + """
# Smoke mode: a tiny UNet with T = 100, so every sampler below still runs.
SMOKE_SETTINGS = {"unet_width": 8, "timesteps": 100, "sampling_steps": 5} if SMOKE else {}
SAMPLING_STEPS = (2, 5, 100) if SMOKE else (10, 20, 50, 100, 1000)
EVAL_STEPS = 5 if SMOKE else 50
SPACING_STEPS = (5,) if SMOKE else (10, 20)"""
    cells = [
        new_markdown_cell("""\
# Diffusion on Fashion-MNIST: DDPM training, DDPM and DDIM sampling

A denoising diffusion model (Ho et al. 2020) learns to undo a fixed forward process that adds
Gaussian noise over T = 1000 steps: x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps. A UNet
eps_theta(x_t, t, y) is trained to predict the noise eps (the "L_simple" mean squared error);
sampling starts from pure noise and removes it step by step, either with the ancestral DDPM
sampler (all 1000 steps) or with DDIM (Song et al. 2020), which can skip steps.

This notebook answers the questions the project started with: should samples be clipped to
[-1, 1], should the model end in tanh, where does attention go, and why do pixel values blow up
towards the end of sampling, giving over-exposed or single-colour images?"""),
        new_code_cell(setup, metadata={"tags": ["parameters"]}),
        new_markdown_cell("""\
## The forward process

Eight test images (rows) noised to t = 0, 50, 100, 250, 500, 750, 999 (columns), under the
linear schedule (first grid) and the cosine schedule (second), with the same noise."""),
        new_code_cell("""\
import time

import matplotlib.pyplot as plt
import numpy as np

from gans_keras.data import load_arrays
from gans_keras.samplers.loop import plot_sampling_stats
from gans_keras.schedules import NoiseSchedule
from gans_keras.viz import save_grid, to_uint8

test_images, test_labels = load_arrays("fashion_mnist", "test")
x0 = test_images[:8].astype("float32") / 127.5 - 1.0
shown_t = [0, 50, 100, 250, 500, 750, 999]
noise = np.random.default_rng(0).standard_normal(x0.shape).astype("float32")
for kind in ("linear", "cosine"):
    schedule = NoiseSchedule(kind)
    noised = np.stack([schedule.q_sample(x0, np.full(8, t), noise).numpy() for t in shown_t], axis=1)
    save_grid(to_uint8(noised.reshape(-1, 28, 28, 1)), RUNS / f"forward_{kind}.png", columns=len(shown_t), scale=2)
    print(kind)
    display(Image.open(RUNS / f"forward_{kind}.png"))"""),
        new_markdown_cell("""\
## The schedules compared

abar_t is the fraction of the signal's variance left at step t; the signal-to-noise ratio is
abar_t / (1 - abar_t). The linear schedule (Ho et al.) destroys the image early: its last few
hundred steps are almost pure noise, and the model spends its capacity there. The cosine
schedule (Nichol & Dhariwal 2021) spreads the destruction evenly in log-SNR."""),
        new_code_cell("""\
figure, axes = plt.subplots(1, 2, figsize=(10, 3))
for kind in ("linear", "cosine"):
    schedule = NoiseSchedule(kind)
    axes[0].plot(schedule.alpha_bars, label=kind)
    axes[1].plot(np.log(schedule.alpha_bars / (1 - schedule.alpha_bars)), label=kind)
for axis, title in zip(axes, ("abar_t", "log SNR"), strict=True):
    axis.set(title=title, xlabel="t")
axes[0].legend();"""),
        new_markdown_cell("""\
## The UNet

Residual blocks with GroupNorm and SiLU; the sinusoidal timestep embedding goes through an MLP,
the class embedding is added to it, and the sum enters every residual block. Two levels of
downsampling (28, 14, 7). **Where attention goes:** self-attention costs (H W)^2 per head, so
only at the 7x7 level (49 positions) and in the middle block (`--attention-resolution 8`); at
28x28 it would attend over 784 positions for little gain on images this small (Ho et al. use
it at 16x16 only). The output convolution starts at zero, so the untrained model predicts
eps = 0."""),
        new_code_cell("""\
config = gk.make_config({
    "model": "diffusion", "max_minutes": MINUTES, "steps": 20 if SMOKE else 1_000_000,
    "sample_every": 10 if SMOKE else 1000, "checkpoint_every": 20 if SMOKE else 500, "num_classes": 10,
    **SMOKE_SETTINGS,
})
model = gk.get_model(config, image_size=28, channels=1)
print(f"{model.network.count_params():,} parameters")
display(architecture_plot(model.network, scale_xy=1, max_z=40))
config"""),
        new_markdown_cell("""\
## Training

`gk.train` is what `python -m gans_keras.train --model diffusion` runs: the EMA network (decay
0.999, with warm-up) is checkpointed with the rest and used for every sample below."""),
        new_code_cell("""\
out = RUNS / f"diffusion-{datetime.now():%Y%m%d-%H%M%S}"
summary = gk.train(config, out, verbose=False)
{key: summary[key] for key in ("steps", "stopped_by", "images_per_second", "final_logs")}"""),
        new_code_cell('plot_curves(out, tags=("loss", "grad_norm"));'),
        new_markdown_cell("""\
## DDIM at 10 to 1000 steps, and DDPM

The same starting noise and labels (one column per class) for each sampler, a row each:
deterministic DDIM (eta = 0) at each number of steps, then ancestral DDPM over all steps.
DDIM keeps the same image as the steps change, which is what makes it a good fast sampler."""),
        new_code_cell("""\
sampler = gk.load_generator(out)
start_noise = np.random.default_rng(1).standard_normal((10, 28, 28, 1)).astype("float32")
classes = np.arange(10)
rows, seconds = [], {}
for name, steps in [("ddim", n) for n in SAMPLING_STEPS] + [("ddpm", SAMPLING_STEPS[-1])]:
    sampler.configure(sampler=name, steps=steps)
    started = time.perf_counter()
    rows.append(sampler.generate(start_noise, classes))
    seconds[f"{name}-{steps}"] = round(time.perf_counter() - started, 1)
save_grid(to_uint8(np.concatenate(rows)), RUNS / "samplers.png", columns=10, scale=2)
print("seconds for 10 images:", seconds)
Image.open(RUNS / "samplers.png")"""),
        new_markdown_cell("""\
## Where few steps go: linear or quadratic spacing

DDIM may visit any subsequence of the T timesteps. Evenly spread steps (`--timestep-spacing
linear`, the default) spend as many steps where x_t is almost pure noise as where the detail
is formed; quadratic spacing (t grows as the square of the step index, Song et al. 2020's
choice for CIFAR-10) puts more of them at low noise. Classifier FID of DDIM at few steps with
each spacing, EVAL_IMAGES images:"""),
        new_code_cell("""\
spacing_fid = {}
for steps in SPACING_STEPS:
    for spacing in ("linear", "quadratic"):
        sampler.configure(sampler="ddim", steps=steps, spacing=spacing)
        images = gk.sample(sampler, EVAL_IMAGES, verbose=False)
        scores_now = evaluate_images(images, num=EVAL_IMAGES, verbose=False)
        spacing_fid[f"ddim-{steps} {spacing}"] = round(scores_now["fid"], 2)
sampler.configure(spacing="linear")
spacing_fid"""),
        new_markdown_cell("""\
## Classifier-free guidance

One network learnt both p(x | y) and p(x) (labels were dropped 10% of the time). Guidance
extrapolates from the unconditional towards the conditional prediction,
eps = (1 + w) eps(x, y) - w eps(x): w = 0 is plain conditional sampling, larger w gives more
typical, less varied images. One row per class, DDIM-50, w = 0, 1 and 3."""),
        new_code_cell("""\
grid_labels = np.repeat(np.arange(10), 5)
for w in (0.0, 1.0, 3.0):
    sampler.configure(sampler="ddim", steps=EVAL_STEPS, guidance=w)
    guided = gk.sample(sampler, len(grid_labels), labels=grid_labels, verbose=False)
    save_grid(guided, RUNS / f"guidance_{w}.png", columns=5, scale=2)
    print(f"w = {w}")
    display(Image.open(RUNS / f"guidance_{w}.png"))"""),
        new_markdown_cell("""\
## Why values explode, and clipping x_0

Each step estimates the clean image, x0_hat = (x_t - sqrt(1 - abar_t) eps_hat) / sqrt(abar_t).
Early in sampling sqrt(abar_t) is tiny (0.006 at t = 999 for the linear schedule), so any
error in eps_hat is multiplied by up to ~160: x0_hat leaves [-1, 1] by far. The samplers then
mix that estimate into x_{t-1}; without a correction the excess survives to the end and shows
as over-exposed, saturated or single-colour images. Clipping x0_hat to [-1, 1] at every step
(what Ho et al.'s code does, and this package's default; `--no-clip-x0` turns it off) keeps
the chain in the data range. Below: DDPM with and without clipping from the same noise, and
the per-step statistics of x_t and of x0_hat before clipping."""),
        new_code_cell("""\
sampler.configure(sampler="ddpm", steps=SAMPLING_STEPS[-1], guidance=0.0)
for clip in (True, False):
    final = sampler.configure(clip_x0=clip).generate(start_noise, classes)
    print(f"clip_x0={clip}: final values in [{final.min():.2f}, {final.max():.2f}], "
          f"{np.mean(np.abs(final) > 1):.1%} of pixels outside [-1, 1]")
    plot_sampling_stats(sampler.stats, title=f"(clip_x0={clip})")
    plt.show()
    save_grid(to_uint8(final), RUNS / f"clip_{clip}.png", columns=10, scale=2)
    display(Image.open(RUNS / f"clip_{clip}.png"))"""),
        new_markdown_cell("""\
## Should the network end in tanh?

No. The network predicts the noise eps ~ N(0, I), not the image: about a third of its targets
lie outside [-1, 1], and a tanh could not produce them (it would bias every prediction towards
0). The range of the *image* is enforced where it belongs, on x0_hat, by the clipping above.
The output layer is a plain convolution, initialised to zero."""),
        new_code_cell("""\
targets = np.random.default_rng(0).standard_normal(1_000_000)
print(f"fraction of noise targets outside [-1, 1]: {np.mean(np.abs(targets) > 1):.3f}")"""),
        new_markdown_cell("""\
## Linear or cosine schedule?

The same model trained for the same minutes with the cosine schedule; both scored with DDIM
on EVAL_IMAGES images against as many test images (classifier FID, lower is better)."""),
        new_code_cell("""\
import dataclasses

cosine_config = dataclasses.replace(config, noise_schedule="cosine")
cosine_out = RUNS / f"diffusion-cosine-{datetime.now():%Y%m%d-%H%M%S}"
gk.train(cosine_config, cosine_out, verbose=False)
scores = {}
for kind, run in (("linear", out), ("cosine", cosine_out)):
    run_sampler = gk.load_generator(run).configure(sampler="ddim", steps=EVAL_STEPS)
    images = gk.sample(run_sampler, EVAL_IMAGES, verbose=False)
    scores[kind] = evaluate_images(images, num=EVAL_IMAGES, verbose=False)
    save_grid(images[:50], RUNS / f"schedule_{kind}.png", columns=10, scale=2)
    print(f"{kind}: FID {scores[kind]['fid']:.2f}, IS {scores[kind]['is_mean']:.2f}")
    display(Image.open(RUNS / f"schedule_{kind}.png"))"""),
        new_markdown_cell("""\
## Metrics

All metrics of the linear-schedule model (DDIM, EVAL_IMAGES images). `Conclusion.ipynb`
compares it with the GANs after the same training budget, from `benchmarks/`."""),
        new_code_cell('print(format_table(scores["linear"]))'),
        new_markdown_cell("""\
## Learned variances (Improved DDPM)

Nichol & Dhariwal (2021) let the UNet also output v, which sets each reverse step's variance
between beta~_t and beta_t, trained by L_hybrid = L_simple + 0.001 L_vlb (`--learn-sigma
--loss-type hybrid`). Their claim: a fixed variance is right for 1000 steps but not for a
respaced chain of a few dozen, where the learned one keeps the quality. Both models below
trained for the same steps on the same machine (`benchmarks/README.md`, "Improved DDPM", has the
commands); each row is one sampler on the same images' count, with the test images' likelihood
bound in bits/dim (`python -m gans_keras.evaluate --nll`)."""),
        new_code_cell("""\
from IPython.display import Markdown

from gans_keras.report import likelihood_table, read_results  # the reader of benchmarks/README.md's tables

display(Markdown(likelihood_table("iddpm_*.json")))
figure, axis = plt.subplots(figsize=(6, 3.5))
for name, record in read_results("iddpm_*.json").items():
    samplers = record["samplers"]
    ancestral = sorted((int(key.split("-")[1]), row["classifier:fashion_mnist"]["fid"])
                       for key, row in samplers.items() if key.startswith("ddpm-") and key.count("-") == 1)
    axis.plot(*zip(*ancestral, strict=True), marker="o", label=name)
axis.set(xscale="log", xlabel="respaced ancestral (DDPM) steps", ylabel="classifier FID")
axis.legend();"""),
    ]
    return new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}})


def conclusion_notebook() -> nbformat.NotebookNode:
    return new_notebook(cells=[
        new_markdown_cell("""\
# Conclusion: the models compared

Every model trained for the same wall-clock budget on 2 CPU cores (widths 32, batch 64, each
model's paper preset), then its samples scored against the Fashion-MNIST test split with the
shipped classifier's features. The numbers come from `benchmarks/results/*.json`, written by
`python benchmarks/gan_budget.py` (the command is in each file). Lower FID and KID are better;
higher IS, precision and recall are better. These classifier scores rank models within this
project; they are not the Inception FIDs of papers. FID falls as the number of images grows,
so compare rows with the same `images`."""),
        new_code_cell("""\
import json
from pathlib import Path

import matplotlib.pyplot as plt
from IPython.display import display
from PIL import Image

ROOT = Path(".")  # the repository root, where this notebook lives
RESULTS = ROOT / "benchmarks" / "results"
BACKBONE = "classifier:fashion_mnist"
COLUMNS = ("steps", "images", "fid", "is_mean", "kid_mean", "precision", "recall", "coverage")
real = json.loads((RESULTS / "metrics_real_fashion_mnist.json").read_text())[BACKBONE]


def load(pattern):
    rows = {}
    for path in sorted(RESULTS.glob(pattern)):
        record = json.loads(path.read_text())
        rows[path.stem] = {"steps": record["steps"], "images": record[BACKBONE]["num_samples"], **record[BACKBONE]}
    return rows


def show(rows, real_row=True):
    print(f"{'run':<28}" + "".join(f"{c:>10}" for c in COLUMNS))
    for name, row in rows.items():
        print(f"{name:<28}" + "".join(f"{row[c]:>10.3f}" if isinstance(row[c], float) else f"{row[c]:>10}"
                                      for c in COLUMNS))
    if real_row:
        print(f"{'real (train vs test)':<28}{'':>10}{real['num_samples']:>10}"
              + "".join(f"{real[c]:>10.3f}" for c in COLUMNS[2:]))


after_15 = load("*_15min.json")
show(after_15)"""),
        new_markdown_cell("""\
## Leaderboard

Each model's best setting (and sampler) after 15 and 60 minutes, every score on 10,000 images,
read by `gans_keras.report`, which also writes the leaderboard of `benchmarks/README.md` and the
README. Only time-limited runs count, and seeds of one setting are averaged (mean ± std)."""),
        new_code_cell("""\
from IPython.display import Markdown

from gans_keras.report import at_budget, leaderboard_table, ranking, read_scores

display(Markdown(leaderboard_table(RESULTS)))"""),
        new_code_cell("""\
figure, axes = plt.subplots(1, 3, figsize=(12, 3))
names = [name.removesuffix("_15min") for name in after_15]
for axis, key in zip(axes, ("fid", "is_mean", "recall"), strict=True):
    axis.bar(names, [row[key] for row in after_15.values()])
    axis.axhline(real[key], color="gray", linestyle="--", label="real data")
    axis.set_title(f"{key} after 15 minutes")
axes[0].legend();"""),
        new_markdown_cell("Their sample grids after the 15 minutes (the conditional models: one row per class):"),
        new_code_cell("""\
for name in after_15:
    print(name)
    display(Image.open(ROOT / "markdown_img" / f"{name}.png"))"""),
        new_markdown_cell("""\
## Longer runs

Each 15-minute GAN run continued on its own checkpoint (`--continue-from`, same data order and
optimiser state): 10 more minutes for 25 in all, and from there 35 more for 60 in all. The plot
below takes every model's best setting at each budget from the same reader as the leaderboard,
on 10,000 images only (the diffusion runs before bf16 were scored on 1,000, and are compared
with the GANs on 1,000 further down)."""),
        new_code_cell("""\
show(load("*_25min.json"), real_row=False)
show(load("*_60min.json"), real_row=False)"""),
        new_code_cell("""\
scores = read_scores(RESULTS)
curves = {}
for budget in (15, 25, 60):
    for row in ranking(at_budget(scores, budget)):
        curves.setdefault(row["model"], []).append((budget, row["fid"][0]))
figure, axis = plt.subplots(figsize=(6, 3.5))
for model, points in sorted(curves.items()):
    axis.plot(*zip(*points, strict=True), marker="o", label=model)
axis.set(xlabel="training minutes (2 CPU cores)", ylabel="classifier FID, 10,000 images", yscale="log")
axis.legend(fontsize=8);"""),
        new_markdown_cell("""\
## What each trick does (DCGAN, 4,000 steps)

The DCGAN preset with one option switched on at a time, every run 4,000 generator steps from
the same seed (a fixed number of steps, not minutes, so that the comparison does not depend on
what else the machine ran; the minutes each took are in the last column)."""),
        new_code_cell("""\
ablation = load("ablation_dcgan_*.json")
show(ablation, real_row=False)
for name in ablation:
    minutes = json.loads((RESULTS / f"{name}.json").read_text())["train_minutes_this_session"]
    print(f"{name:<28} {minutes:>6.1f} min")"""),
        new_markdown_cell("""\
## Diffusion samplers

The diffusion model after 15 and after 60 minutes, sampled by DDIM at several step counts and
by DDPM over all 1000 steps: classifier scores and the seconds to sample 1000 images on the 2
cores (the slow samplers are scored on fewer images; compare rows with the same `images`)."""),
        new_code_cell("""\
for path in sorted(RESULTS.glob("diffusion_*min.json")):
    record = json.loads(path.read_text())
    print(f"{path.stem}: {record['steps']} steps")
    print(f"{'sampler':<18}{'images':>8}{'s/1000 img':>12}{'fid':>10}{'is':>8}{'kid':>8}")
    for name, row in record["samplers"].items():
        scores = row[BACKBONE]
        print(f"{name:<18}{row['images']:>8}{row['seconds_per_1000_images']:>12}{scores['fid']:>10.2f}"
              f"{scores['is_mean']:>8.2f}{scores['kid_mean']:>8.2f}")"""),
        new_markdown_cell("""\
DDIM-50 against DDPM-1000 on the same starting points (the project's target: DDIM-50's FID
within 10% of DDPM-1000's), on two 60-minute models: the plain run (500 images a sampler, then its
step-matched retraining on 1,000, on 2,000 with the DDPM images made on a GPU, and on 10,000
from the run's seed and from seed 1, all made on a GPU) and the Min-SNR-5 seed-1 run at the
same step count (1,000 and 10,000 images, `benchmarks/diffusion_samplers.py`). On 10,000
images the Min-SNR model is inside the target (8.6%, one draw) and the plain model is not
(30.1% and 42.3% on two draws)."""),
        new_code_cell("""\
pairs = [  # (results file, key) of DDIM-50 and of DDPM-1000 on the same starting points
    (("diffusion_60min", "ddim-50-500img"), ("diffusion_60min", "ddpm-1000-500img")),
    (("diffusion_60min_ddpm", "ddim-50-1000img"), ("diffusion_60min_ddpm", "ddpm-1000-1000img")),
    (("diffusion_60min_minsnr5_seed1_ddpm", "ddim-50-1000img"),
     ("diffusion_60min_minsnr5_seed1_ddpm", "ddpm-1000-1000img")),
    (("diffusion_60min_ddpm_2000img", "ddim-50-2000img"), ("diffusion_60min_ddpm_2000img", "ddpm-1000-2000img")),
    (("diffusion_60min_10k_gpu_sampled", "ddim-50-10000img"),
     ("diffusion_60min_ddpm_10k_gpu_sampled", "ddpm-1000-10000img")),
    (("diffusion_60min_seed1_10k_gpu_sampled", "ddim-50-10000img"),
     ("diffusion_60min_seed1_10k_gpu_sampled", "ddpm-1000-10000img")),
    (("diffusion_60min_minsnr5_seed1_10k_gpu_sampled", "ddim-50-10000img"),
     ("diffusion_60min_minsnr5_seed1_ddpm_10k_gpu_sampled", "ddpm-1000-10000img")),
]


def samplers(stem):  # a diffusion results file's rows by sampler; none when the file is absent
    path = RESULTS / f"{stem}.json"
    return json.loads(path.read_text())["samplers"] if path.exists() else {}


def sampler_row(stem, key):
    rows = samplers(stem)
    return rows[key] if rows else None


print(f"{'DDPM-1000 results file':<52}{'images':>8}{'ddim-50':>10}{'ddpm-1000':>11}{'gap':>8}")
for (ddim_stem, ddim), (ddpm_stem, ddpm) in pairs:
    fast, slow = sampler_row(ddim_stem, ddim), sampler_row(ddpm_stem, ddpm)
    if fast and slow:
        fast_fid, slow_fid = fast[BACKBONE]["fid"], slow[BACKBONE]["fid"]
        gap = fast_fid / slow_fid - 1
        print(f"{ddpm_stem:<52}{slow['images']:>8}{fast_fid:>10.2f}{slow_fid:>11.2f}{gap:>8.1%}")"""),
        new_markdown_cell("""\
## Diffusion against the GANs

The diffusion model's DDIM-50 samples (1,000 images) against the first 1,000 of each GAN's
benchmark samples after the same budget, so that every FID here comes from 1,000 images. After
60 minutes the diffusion model is also shown with classifier-free guidance (`--guidance W`,
`benchmarks/diffusion_samplers.py`), the same 1,000 starting points, and at both budgets a
run trained with Min-SNR-5 loss weighting (`--min-snr-gamma 5`) from each of two seeds (seed 1
trained to seed 0's step counts, 1,418 and 5,684, on a machine a quarter slower that day), and
at 60 minutes a third (seed 2, trained straight to 5,684 steps) and a run that predicts v
instead of the noise (`--prediction v`, seed 0, the plain run's 5,556 steps). The
"w W in (A, B]" rows guide only the steps whose noise level sqrt((1 - abar_t) / abar_t) lies
in (A, B] (`--guidance-sigma-min A --guidance-sigma-max B`, Kynkäänniemi et al. 2024); the
plain model's interval row comes from the same run retrained to its 5,556 steps (its unguided
DDIM-50 score reproduced: 9.10)."""),
        new_code_cell("""\
def guidance_label(row):  # "w W", or "w W in (A, B]" when guided only at those noise levels
    label = f"w {row['guidance']}"
    if "guidance_sigma_max" in row:
        label += f" in ({row['guidance_sigma_min']}, {row['guidance_sigma_max']}]"
    return label


def print_scores(rows, keys):
    print(f"{'run':<48}" + "".join(f"{key:>12}" for key in keys))
    for name, row in rows.items():
        print(f"{name:<48}" + "".join(f"{row[key]:>12}" if isinstance(row[key], int) else f"{row[key]:>12.3f}"
                                      for key in keys))


for budget in ("15min", "60min"):
    unguided = samplers(f"diffusion_{budget}")
    if not unguided:
        continue
    rows = {f"diffusion ddim-50 {budget}": unguided["ddim-50"][BACKBONE]}
    for name, row in samplers(f"diffusion_{budget}_guidance").items():
        if row.get("guidance"):  # its unguided row is the one above
            rows[f"diffusion {name.removesuffix('-1000img')}"] = row[BACKBONE]
    for row in samplers(f"diffusion_{budget}_stepmatched").values():
        if "guidance_sigma_max" in row:  # its unguided row repeats the original run's
            rows[f"diffusion {guidance_label(row)}"] = row[BACKBONE]
    for seed, suffix in ((0, ""), (1, "_seed1"), (2, "_seed2")):
        for name, row in samplers(f"diffusion_{budget}_minsnr5{suffix}").items():
            rows[f"diffusion min-snr-5 seed {seed} {name.removesuffix('-1000img')}"] = row[BACKBONE]
        for row in samplers(f"diffusion_{budget}_minsnr5{suffix}_guidance_interval").values():
            rows[f"diffusion min-snr-5 seed {seed} {guidance_label(row)}"] = row[BACKBONE]
    for row in samplers(f"diffusion_{budget}_vpred").values():
        rows[f"diffusion v-prediction {guidance_label(row) if row.get('guidance') else 'ddim-50'}"] = row[BACKBONE]
    for gan_path in sorted(RESULTS.glob(f"*_{budget}_metrics_1000img.json")):
        rows[gan_path.stem.removesuffix("_metrics_1000img")] = json.loads(gan_path.read_text())[BACKBONE]
    second_cgan = RESULTS / f"cgan_{budget}_seed1_metrics_1000img.json"  # retrained from seed 1, same steps
    if second_cgan.exists():
        rows["cgan seed 1"] = json.loads(second_cgan.read_text())[BACKBONE]
    print_scores(rows, ("fid", "is_mean", "kid_mean", "precision", "recall"))
    print()"""),
        new_markdown_cell("""\
On 1,000 images the interval-guided rows pass the CGAN, by margins inside the noise of a
1,000-image FID: the CGAN retrained from seed 1 to the same 65,891 steps ("cgan seed 1")
scores 6.32 there, ahead of them. On 10,000 images, the GANs' own count against the same
test-split reference, the plain model with guidance 0.5 in (0.28, 5.42]
(`diffusion_60min_guidance_interval_10k.json`) and both 60-minute models unguided and guided
(their images made on a GPU under Keras's JAX backend, scored here: `*_10k_gpu_sampled.json`)
against each GAN after 60 minutes: the CGAN is well ahead of both (FID 2.42, and 2.77 from
seed 1, against 4.56 and 4.09), and both beat every unconditional GAN unguided."""),
        new_code_cell("""\
after_60 = {name: row for name, row in load("*_60min.json").items() if not name.startswith("diffusion")}
for stem, model in (("diffusion_60min_guidance_interval_10k", ""), ("diffusion_60min_10k_gpu_sampled", ""),
                    ("diffusion_60min_minsnr5_seed1_10k_gpu_sampled", "min-snr-5 seed 1 ")):
    for row in samplers(stem).values():
        label = f"diffusion {model}{guidance_label(row) if row.get('guidance') else 'unguided'}"
        after_60.setdefault(label, row[BACKBONE])  # the GPU's guided plain images are the CPU's (4.56)
second_cgan = RESULTS / "cgan_60min_seed1_metrics_10000img.json"
if second_cgan.exists():
    after_60["cgan seed 1"] = json.loads(second_cgan.read_text())[BACKBONE]
print_scores(after_60, ("num_samples", "fid", "is_mean", "kid_mean", "precision", "recall", "coverage"))"""),
        new_markdown_cell("""\
## Is GELU 1-Lipschitz?

A Wasserstein critic must be 1-Lipschitz. Spectral normalisation bounds each layer's linear
map by 1, so the critic's bound is the product of its activations' Lipschitz constants: 1 for
ReLU and LeakyReLU (their slopes are at most 1). GELU's, x Phi(x), is the maximum of its
derivative Phi(x) + x phi(x), computed here on a fine grid by automatic differentiation."""),
        new_code_cell("""\
import numpy as np
import tensorflow as tf
from scipy.stats import norm

x = tf.constant(np.linspace(-8.0, 8.0, 160_001))
for approximate in (False, True):
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.nn.gelu(x, approximate=approximate)
    slope = tape.gradient(y, x).numpy()
    print(f"GELU (approximate={approximate}): largest slope {slope.max():.5f} at x = {x.numpy()[slope.argmax()]:.4f}, "
          f"smallest {slope.min():.5f}")
root2 = np.sqrt(2.0)
closed_form = norm.cdf(root2) + root2 * norm.pdf(root2)
print(f"closed form of the exact GELU's: Phi(sqrt 2) + sqrt 2 phi(sqrt 2) = {closed_form:.5f}")"""),
        new_markdown_cell("""\
GELU is not 1-Lipschitz: its slope reaches 1.129 at x = sqrt 2 (the second derivative, phi(x)
(2 - x^2), vanishes there), and dips below 0 (-0.13) for negative inputs. A spectrally
normalised critic with GELU after each of its 4 layers is therefore only bounded by 1.129^4 =
1.62, not 1; a gradient penalty (WGAN-GP) enforces the constraint on the samples whatever the
activation, spectral normalisation alone would not. The package's critics use LeakyReLU (dcgan,
r3gan) or ReLU (resnet), whose constants are exactly 1."""),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}})


def text_notebook() -> nbformat.NotebookNode:
    setup = SETUP.replace(
        "EVAL_IMAGES = 300 if SMOKE else 10_000", "EVAL_IMAGES = 200 if SMOKE else 1000"
    ).replace("evaluate_images, format_table", "evaluate_images").replace(
        "from gans_keras.viz import architecture_plot, plot_curves\n", "") + """
# Smoke mode: a tiny UNet and text encoder with T = 100.
SMOKE_SETTINGS = {"unet_width": 8, "timesteps": 100, "sampling_steps": 5, "text_dim": 8, "text_depth": 1} \\
    if SMOKE else {}
SAMPLER = {"sampler": "dpmpp_2m_sde", "steps": 5 if SMOKE else 20, "spacing": "logsnr"}"""
    cells = [
        new_markdown_cell("""\
# Text-to-image diffusion on captioned Fashion-MNIST

One of the project's source documents is a text-to-image diffusion project: captions encoded
by a frozen DistilBERT, fed to a UNet through the timestep embedding and through
cross-attention beside self-attention, with a cosine schedule and fewer noising steps. This
notebook builds the same with `--model text_diffusion`: captions with more in them than the
label, a text encoder, cross-attention, classifier-free guidance with the empty caption, and
prompts at sampling time; then it answers the source document's questions with measurements
made at equal budgets (`benchmarks/README.md`, "Text-to-image")."""),
        new_code_cell(setup, metadata={"tags": ["parameters"]}),
        new_markdown_cell("""\
## The captions

`fashion_mnist_captions` describes every image by its class (with synonyms) and by two
attributes measured on the image itself: brightness (the garment pixels' mean level, in the
terciles of its class: dark, mid-grey, light) and width (the garment's filled area against its
class's median: narrow, wide). Six sentence templates are used in training; two more are held
out, so that a model is asked for descriptions it never read. A caption can be checked on a
sample: the class by the shipped classifier, the attributes by the same measurement."""),
        new_code_cell("""\
import matplotlib.pyplot as plt
import numpy as np

from gans_keras import captions

images, texts, labels, measured = captions.fashion_mnist_captions("train")
figure, axes = plt.subplots(2, 4, figsize=(12, 6))
for axis, index in zip(axes.flat, range(0, 8000, 1000), strict=True):
    axis.imshow(images[index, ..., 0], cmap="gray")
    axis.set_title("\\n".join(texts[index][:3]), fontsize=8)
    axis.axis("off")
print("training templates:", captions.TRAIN_TEMPLATES)
print("held-out templates:", captions.HELD_OUT_TEMPLATES)
print("attribute classes (brightness, width) of the whole split:", np.bincount(measured[:, 0]),
      np.bincount(measured[:, 1]))"""),
        new_markdown_cell("""\
## The text encoder

`--text-encoder learned` (the offline default) fits a word tokenizer on the training captions
and trains a small Transformer with the UNet; padding (id 0) is masked out of every attention.
The empty caption, all padding, is what guidance uses as "no caption". (`--text-encoder
keras_hub:distil_bert_base_en` puts the source document's frozen DistilBERT in its place.)"""),
        new_code_cell("""\
from gans_keras.layers.text_encoder import fit_tokenizer

tokenizer = fit_tokenizer(captions.caption_texts(), sequence_length=16)
print(f"vocabulary: {len(tokenizer.get_vocabulary())} tokens, e.g. {tokenizer.get_vocabulary()[:12]}")
for prompt in ("a picture of a dark ankle boot, quite wide", ""):
    print(repr(prompt), "->", tokenizer([prompt]).numpy()[0])"""),
        new_markdown_cell("""\
## Training

`gk.train` is what `python -m gans_keras.train --model text_diffusion` runs; each sample grid
row is drawn under its prompt (held-out templates). A fixed number of steps (a few minutes on a
laptop CPU), so the notebook shows the same model on any machine."""),
        new_code_cell("""\
config = gk.make_config({
    "model": "text_diffusion", "steps": 20 if SMOKE else 400,
    "sample_every": 10 if SMOKE else 1000, "checkpoint_every": 20 if SMOKE else 500, **SMOKE_SETTINGS,
})
out = RUNS / f"text-{datetime.now():%Y%m%d-%H%M%S}"
summary = gk.train(config, out, verbose=False)
print({key: summary[key] for key in ("steps", "stopped_by", "images_per_second", "final_logs")})
Image.open(out / summary["sample_grid"])"""),
        new_markdown_cell("""\
## Prompts, with and without guidance

Held-out-template prompts, DPM-Solver++(2M) SDE in log-SNR steps; guidance w mixes the
captioned and the empty-caption predictions as (1 + w) eps(x, c) - w eps(x, "")."""),
        new_code_cell("""\
from gans_keras.sampling import write_samples

sampler = gk.load_generator(out).configure(**SAMPLER)
prompts = [prompt for prompt in captions.grid_prompts()[:5] for _ in range(5)]
for w in (0.0, 1.0):
    sampler.configure(guidance=w)
    grid_images = gk.sample(sampler, len(prompts), prompts=prompts, verbose=False)
    _, grid = write_samples(grid_images, RUNS / f"prompts_w{w}.npz", prompts=prompts)
    print(f"guidance {w}")
    display(Image.open(grid))"""),
        new_markdown_cell("""\
## Does it follow the prompt?

EVAL_IMAGES held-out-template prompts (classes balanced, attributes drawn at random): the share
of samples the classifier puts in the prompted class, and whose measured brightness and width
are the prompted ones (chance: 0.10, 0.33 and 0.50); with the classifier FID against the test
split."""),
        new_code_cell("""\
eval_prompts, eval_labels, eval_attributes = captions.evaluation_prompts(EVAL_IMAGES)
for w in (0.0, 1.0):
    sampler.configure(guidance=w)
    samples = gk.sample(sampler, EVAL_IMAGES, prompts=eval_prompts, verbose=False)
    followed = captions.adherence(samples, eval_labels, eval_attributes)
    fid = evaluate_images(samples, num=EVAL_IMAGES, verbose=False)["fid"]
    print(f"guidance {w}: FID {fid:.2f}, " + ", ".join(f"{key} {value:.3f}" for key, value in followed.items()))"""),
        new_markdown_cell("""\
## Which pixels attend to which words

The cross-attention weights of the 7x7 attention blocks of the decoder, averaged over heads, for
a sample of each prompt at a middle noise level (t = 300): each map is one word's share of the
positions' attention, drawn over the image. The source document asked how attention identifies
things: here the class word and the attribute words can be told apart by where they are read."""),
        new_code_cell("""\
from gans_keras.viz import cross_attention_maps, plot_word_attention

shown = captions.grid_prompts()[:4]
sampler.configure(guidance=1.0)
shown_images = gk.sample(sampler, len(shown), prompts=shown, verbose=False)
tokens = sampler.encode(shown)
x0 = shown_images.astype("float32") / 127.5 - 1.0
noise = np.random.default_rng(0).standard_normal(x0.shape).astype("float32")
x_t = sampler.schedule.q_sample(x0, np.full(len(x0), 300 if not SMOKE else 30), noise).numpy()
maps = cross_attention_maps(sampler.network, x_t, 300 if not SMOKE else 30, tokens)
last = list(maps)[-1]
vocabulary = sampler.tokenizer.get_vocabulary()  # the run's tokenizer
words = [[vocabulary[i] for i in row if i] for row in tokens]
plot_word_attention(shown_images, maps[last], words);"""),
        new_markdown_cell("""\
## The source document's questions, at equal budgets

Each variant trained for the same number of steps on the same machine (bf16), sampled with
DPM-Solver++(2M) SDE in 20 log-SNR steps, unguided and with guidance 1, on held-out-template
prompts (`benchmarks/README.md`, "Text-to-image", has the commands):

- cross-attention against the pooled caption added to t only (`--text-conditioning pooled`),
  and against both;
- self- then cross-attention against the reverse (`--cross-attention-first`);
- the cosine schedule with fewer noising steps (T = 250) against the linear one with T = 1000."""),
        new_code_cell("""\
from IPython.display import Markdown

from gans_keras.report import prompted_table  # the same reader that writes benchmarks/README.md's tables

display(Markdown(prompted_table("t2i_*.json")))
display(Markdown(prompted_table("text_diffusion_*.json")))"""),
    ]
    return new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}})


def notebooks() -> dict[Path, nbformat.NotebookNode]:
    found = {HERE / "01_data_and_augmentation.ipynb": data_notebook()}
    found.update({HERE / f"{name}.ipynb": model_notebook(name, spec) for name, spec in MODELS.items()})
    found[HERE / "06_diffusion.ipynb"] = diffusion_notebook()
    found[HERE / "08_text_to_image.ipynb"] = text_notebook()
    found[ROOT / "Conclusion.ipynb"] = conclusion_notebook()
    for notebook in found.values():
        for number, cell in enumerate(notebook.cells):
            cell.id = f"cell-{number}"  # stable ids: rewriting a notebook changes only what changed
    return found


# TensorFlow's start-up lines on stderr (CUDA probing, oneDNN, CPU features): not the report's.
LOG_NOISE = ("I0000 ", "W0000 ", "E0000 ", "WARNING: All log messages before absl", "To enable the following "
             "instructions")


def strip_log_noise(notebook: nbformat.NotebookNode) -> None:
    """Drops TensorFlow's start-up log lines from the notebook's stderr outputs."""
    for cell in notebook.cells:
        outputs = []
        for output in cell.get("outputs", []):
            if output.output_type == "stream" and output.name == "stderr":
                kept = [line for line in output.text.splitlines(keepends=True) if not line.startswith(LOG_NOISE)]
                if not "".join(kept).strip():
                    continue
                output.text = "".join(kept)
            outputs.append(output)
        if "outputs" in cell:
            cell.outputs = outputs


def execute(notebook: nbformat.NotebookNode, path: Path, timeout: int = 1800) -> None:
    resources = {"metadata": {"path": str(path.parent)}}  # run where the notebook lives
    NotebookClient(notebook, timeout=timeout, kernel_name="python3", resources=resources).execute()
    strip_log_noise(notebook)


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
