"""Writes the report notebooks (narrative and plots only; every computation is a package call)
and optionally executes them.

    python notebooks/make_notebooks.py              # write the .ipynb files, without outputs
    python notebooks/make_notebooks.py --execute    # and run them (real runs: minutes each)

With GANS_KERAS_SMOKE=1 the notebooks train a few steps and evaluate a few hundred images, as
the tests do; GANS_KERAS_RUNS sets where their runs go (default: runs/notebooks).
"""

from __future__ import annotations

import argparse
import hashlib
import json
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
generic GAN class with that preset (`gans_keras/models/registry.py`), and two changes measured
here (the last sections): a 16-d latent instead of the 128-d one it had (the paper's is 100-d), and an exponential
moving average of the generator's weights (decay 0.999) as the generator that samples.""",
        cam=True,
        trajectories=(dict(title="Why the 60-minute DCGAN scores worse than the 25-minute one",
                           name="dcgan_ema_trajectory", text="""\
The preset as it was (128-d latent, no EMA) trained to the 60-minute run's 67,461 steps with an
EMA of G (decay 0.999) beside the live generator, both scored on the same 10,000 latents at kept checkpoints
(`benchmarks/checkpoint_scores.py`). Both curves bottom out near 20,000 steps and rise together
after: the EMA generator is better at most checkpoints (by up to 3.5 points) but drifts the same
way, so EMA does not fix the drift. Precision and recall do not fall; the class mix does:
by the end coats are 15 to 16% of the samples and sandals 5%, and FID counts that imbalance."""),
                      dict(title="A 16-d latent along the same steps", name="dcgan_latent16_ema_trajectory", text="""\
The same run with `latent_dim` 16 and nothing else changed. It is better at every step scored,
live and EMA (the EMA generator 5.00 at 20,000 steps against the 128-d run's 10.67), and the EMA
generator is ahead of the live one from 8,000 steps on; it drifts too, later and from a lower
floor. This made the preset's latent 16 and its sampling generator the EMA one.""")),
        keep_best=dict(title="Keeping the best generator: --eval-every", name="dcgan_best_67461steps", text="""\
The remedy: train with `--eval-every 2000` and the run scores its generator every 2,000 steps
(FID on 2,000 images) and keeps the best one as `generator_best.keras`, which `sample --best` and
`evaluate --best` use. The 128-d preset trained to the same 67,461 steps this way kept the generator of
step 20,000; on 10,000 images it scores 11.05 where the final generator scores 26.58 (the
recorded 60-minute run scored 26.66)."""),
        runs=dict(title="The preset before and after, side by side", pattern="dcgan_*_1core_*.json", text="""\
The preset as it is now (16-d latent, EMA of G) and as it was (`latent128`: 128-d latent, no EMA)
trained for 15 and for 60 minutes, each pair at the same time, each run pinned to one of the
machine's two cores, seed 0; 10,000 samples each, scored with the classifier
(`benchmarks/README.md`, "The preset's 16-d latent and EMA, side by side", has the commands)."""),
        explain=("strided", "minimax", "nash", "batch_norm", "questions"),
        questions=("[0, 1] or [-1, 1] pixels, DCGAN", "ReLU or LeakyReLU in the generator",
                   "Adam, RMSprop or SGD with momentum", "batch size, at equal images seen", "BatchNorm momentum",
                   "learning rate, and a critic slower than the generator", "EMA decay of the generator"),
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
        explain=("labels",),
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
        explain=("lipschitz", "questions"),
        questions=("[0, 1] or [-1, 1] pixels, WGAN-GP",),
    ),
    "05_sngan": dict(
        model="sngan",
        title="SN-GAN",
        text="""\
Miyato et al. 2018: spectral normalisation divides each discriminator weight by its largest
singular value (one power iteration a step), bounding its Lipschitz constant without a penalty.
Hinge loss and the paper's setting C: one discriminator update per generator update, Adam(2e-4,
0.5, 0.999); the paper's CIFAR-10 setting (n_dis 5, Adam(2e-4, 0, 0.9)) lost to it on a CPU budget
(the last section). The package's
`gans_keras.layers.SpectralNormalization` keeps the raw kernel as the trained variable and
computes with W / sigma(W), gradients flowing through sigma as in the paper; Keras' own layer,
which this preset used before, writes W / sigma back into the kernel instead. The last section
compares the two on the same seed and budget.""",
        compare=dict(title="Before and after: Keras' layer against the paper's reparametrisation", text="""\
The same preset, seed and number of steps, with Keras' `SpectralNormalization` (before) and the
package's (after), 10,000 samples each scored with the classifier (`benchmarks/README.md`,
"SN-GAN with the paper's spectral normalisation", has the commands). The 3-minute run above
uses the package's layer."""),
        pairs=dict(title="SN-GAN against WGAN-GP at equal time", text="""\
Miyato et al. rank SN-GAN ahead of WGAN-GP at equal architecture (CIFAR-10 FID 25.5 against
40.2). Each pair below trained at the same time on one machine, each run pinned to one of its two
cores (`taskset`), with the same seed, widths and budget, and 10,000 samples of each were scored
with the classifier (`benchmarks/README.md`, "SN-GAN against WGAN-GP, side by side", has the
commands). Both sides of these pairs ran n_dis 5 (the preset then), so they are equal in
architecture and discriminator steps. A ratio below 1 is SN-GAN ahead. The grids are each budget's
seed-0 pair. The table's `ndis` rows are SN-GAN against itself with other discriminator steps,
trained the same way: the 60-minute `ndis1` / `ndis5` pair made setting C the preset."""),
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
        runs=dict(title="Sized for a CPU budget", pattern="r3gan*_1core_*.json", text="""\
The preset's networks (two blocks a stage, R1 and R2 on every update) make about 900 steps in 15
minutes on one core, too few for the recipe. The `cpu` runs below take one block a stage
(`--blocks-per-stage 1`) and compute R1 and R2 on every 8th discriminator update only, weighted by
8 (`--reg-every 8`, StyleGAN2's lazy regularisation): about 3x the steps in the same time. The
`doubled` runs add `--width-doubling`: 16 channels at 32x32 and twice as many at each lower
resolution (128 at 4x4) instead of 16 at every one, so that the latent reaches the 4x4 basis
through 128 channels, not 16; each step costs about 1.6x. The
`doubled_w32` run doubles from 32 channels instead (256 at 4x4): it learns more per step, but
makes 2.55x fewer steps in the hour and loses it. All runs here use gamma 1 and no EMA, except
the `ema` runs: they keep an EMA of G (0.999), which is what they show and score. Each run
is pinned to one of the machine's two cores, with its partner training beside it on the other.
The `latent16` runs add `--latent-dim 16`, the whole CPU recipe. The `ema` and `latent16` runs
trained on an AMD EPYC that makes 1.7x the Xeon's steps in an hour, and the others on the Xeon;
each `latent16` run trained beside SN-GAN or the CGAN, whose scores from those same hours are in
`benchmarks/README.md`. The two `lr5e-4` runs add `--lr-g 5e-4 --lr-d 5e-4`, 2.5x the paper's
learning rate, and trained beside each other on the EPYC; the `lr5e-4_ema` runs are that recipe
with the EMA generator (`benchmarks/configs/r3gan_fashion_mnist_cpu.json`): seed 1 trained beside
SN-GAN, seed 0 beside the conditional form's seed 0, whose seed 1 trained beside the CGAN. On two
seeds it is the best unconditional GAN of the package after an hour. The conditional `recipe_mbstd`
runs add `--minibatch-std` to that recipe (seeds 0 and 1 beside each other, a session later): 2.85
and 2.81, still behind the CGAN; the `recipe_mbstd_lr1e-3` and `recipe_mbstd_lr2e-4` runs change
both learning rates on top (a pair each, the same day): both lose to 5e-4. The `recipe_mbstd_batch32`,
`recipe_mbstd_batch128` and `recipe_mbstd_ema0.9995` runs (a session later) change the batch size and the EMA
decay instead: all lose to the recipe, and recall stays at 0.27-0.30. The `dcgan32` runs (a session later)
keep the recipe and swap R3GAN's networks for the CGAN's (`--arch dcgan --g-width 32 --d-width 32`), a
quarter of the cost per image: the conditional `recipe_mbstd_dcgan32` runs score 0.87 and 1.01 with recall
0.72, ahead of the CGAN, and the unconditional `recipe_dcgan32` run 1.09, so on a CPU hour it is R3GAN's
networks that hold it back, not its objective. The `recipe_mbstd_w8` runs (a session later) halve R3GAN's
own widths instead (`--g-width 8 --d-width 8`, twice the images per second): 2.55 and 2.30, level with the
CGAN's 2.42 but not ahead of it, with recall 0.24. Each run is scored on 10,000 samples with the classifier
(`benchmarks/README.md`, "R3GAN", has the commands)."""),
    ),
}


# Explanations of the seed GAN report, each with this project's evidence (spec["explain"] names them).
QUESTIONS_CELL = """\
from IPython.display import Markdown

from gans_keras import report

QUESTIONS = @@QUESTIONS@@
lines = ["| question | run | changed | classifier FID | recall | FID change |", "|---|---|---|---|---|---|"]
for row in report.question_rows():
    if row["question"] in QUESTIONS:
        change = "" if row["changed"] == "baseline" else f"{row['fid_change']:+.2f}"
        lines.append(f"| {row['question']} | {row['run']} | {row['changed']} | {row['scores']['fid']:.2f} | "
                     f"{row['scores']['recall']:.3f} | {change} |")
display(Markdown("\\n".join(lines)))"""

EXPLANATIONS = {
    "strided": ("""\
## Why strided convolutions instead of pooling

Radford et al. replaced every pooling layer by a strided convolution (and the generator's
upsampling by transposed convolutions), so that each network learns its own down- or
upsampling. The gradient shows the difference: max pooling passes each 2x2 window's gradient
to the one pixel that won, so three quarters of the image get no signal from that layer, while
a stride-2 convolution with a 4x4 kernel passes gradient to every pixel. The discriminator
above downsamples only by strided convolutions; here is the measurement, with
`tf.GradientTape`, on a batch of real images.""", """\
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf

from gans_keras.data import load_arrays

real, real_labels = load_arrays("fashion_mnist", "test")
x = tf.constant(real[:64].astype("float32") / 127.5 - 1.0)
strided = tf.keras.layers.Conv2D(8, 4, strides=2, padding="same")
for name, layer in (("max pooling 2x2", tf.keras.layers.MaxPooling2D(2)), ("stride-2 convolution", strided)):
    with tf.GradientTape() as tape:
        tape.watch(x)
        total = tf.reduce_sum(layer(x))
    reached = float(tf.reduce_mean(tf.cast(tape.gradient(total, x) != 0, tf.float32)))
    print(f"{name:<22} pixels that receive a gradient: {reached:.1%}")
print([(layer.name, layer.strides) for layer in model.discriminator.layers if hasattr(layer, "strides")])"""),
    "minimax": ("""\
## The minimax loss, the non-saturating loss and GradientTape

Goodfellow et al.'s game is min_G max_D E[log D(x)] + E[log(1 - D(G(z)))]. Early in training
the discriminator rejects the fakes with confidence (its logit l on a fake is very negative),
and there the generator's minimax loss log(1 - sigmoid(l)) is flat: its gradient sigmoid(l)
vanishes. The non-saturating loss -log sigmoid(l), which this package's `bce` generator uses,
has the same fixed point but a gradient 1 - sigmoid(l) that is largest exactly there.
`tf.GradientTape` records the forward computation and differentiates it; the package's
`GAN.train_step` (`gans_keras/models/gan.py`) opens one tape for the discriminator's loss and
applies its gradients, then another for the generator's, each network updated only by its own
loss. The same tape, on the two losses:""", """\
logits = tf.constant(np.linspace(-8.0, 8.0, 161))
with tf.GradientTape(persistent=True) as tape:
    tape.watch(logits)
    minimax = -tf.nn.softplus(logits)  # log(1 - sigmoid(l)), which G minimises in the original game
    non_saturating = tf.nn.softplus(-logits)  # -log sigmoid(l)
figure, axis = plt.subplots(figsize=(6, 3))
for label, loss in (("minimax log(1 - D)", minimax), ("non-saturating -log D", non_saturating)):
    axis.plot(logits, np.abs(tape.gradient(loss, logits)), label=label)
axis.set(xlabel="discriminator logit on a fake", ylabel="|dLoss_G / dlogit|")
axis.legend()
print("gradient at logit -6 (a confident rejection): minimax", float(tape.gradient(minimax, logits)[20]),
      "non-saturating", float(tape.gradient(non_saturating, logits)[20]))"""),
    "nash": ("""\
## Reaching a Nash equilibrium

For a fixed generator the best discriminator is D*(x) = p_data(x) / (p_data(x) + p_g(x)). At the
game's Nash equilibrium p_g = p_data, so D* = 1/2 everywhere: the discriminator's loss
E[softplus(-l_real)] + E[softplus(l_fake)] is 2 ln 2 = 1.386, the generator's non-saturating
loss is ln 2 = 0.693 and both accuracies are 50%. Gradient descent on both players does not
converge to it in general (the game's dynamics rotate around it); what a run shows is how far
from it the players stay. This run's last logs against the equilibrium values:""", """\
equilibrium = {"d_loss": 2 * np.log(2), "g_loss": np.log(2), "d_acc_real": 0.5, "d_acc_fake": 0.5}
for key, value in equilibrium.items():
    print(f"{key:<11} at the equilibrium {value:.3f}, after training {summary['final_logs'][key]:.3f}")"""),
    "batch_norm": ("""\
## Batch norm in theory and in practice

In theory BatchNorm normalises each channel by the batch's mean and variance and then learns a
scale and a shift, which keeps the generator's activations in range and let Radford et al.
train deeper GANs (they left it out of the generator's output and the discriminator's input).
In practice it behaves differently in training and in inference: a training step normalises
by the batch's statistics, a saved generator by moving averages (momentum 0.99 here,
`--bn-momentum`). The same latents through the trained generator both ways, in pixel levels
(0..255):""", """\
from gans_keras.viz import generator_value_range, to_uint8

z = np.random.default_rng(0).standard_normal((64, config.latent_dim)).astype("float32")
span = generator_value_range(trained.generator)
batch_stats = to_uint8(trained.generator(z, training=True).numpy(), span).astype(float)
moving = to_uint8(trained.generator(z, training=False).numpy(), span).astype(float)
print(f"mean |training mode - inference mode| = {np.abs(batch_stats - moving).mean():.2f} pixel levels")"""),
    "labels": ("""\
## Does the generator obey its labels?

The projection discriminator scores an image against its label, so a conditional generator is
pushed to make the class it is asked for. The shipped classifier (the features behind every
score here) labels 1,000 samples per class, asked for by class:""", """\
import numpy as np

from gans_keras.metrics.extractors import extract, get_extractor

per_class = 30 if SMOKE else 1000
asked = np.repeat(np.arange(10), per_class)
made = gk.sample(gk.load_generator(out), len(asked), labels=asked, verbose=False)
_, logits = extract(get_extractor("classifier:fashion_mnist"), made, verbose=False)
agree = logits.argmax(axis=1) == asked
print(f"the classifier agrees with the label asked for on {agree.mean():.1%} of the samples")
print("by class:", " ".join(f"{rate:.2f}" for rate in agree.reshape(10, per_class).mean(axis=1)))"""),
    "lipschitz": ("""\
## Is the critic 1-Lipschitz?

The Kantorovich-Rubinstein duality needs a 1-Lipschitz critic; the gradient penalty asks for a
gradient norm of 1 on points between real and fake images, where the optimal critic's gradient
has norm 1. Measured on the trained critic with `tf.GradientTape`, on 512 such points and on
real and fake images alone. (The critic has no BatchNorm for the same reason: the penalty is a
per-image gradient, and BatchNorm would make each image's score depend on the rest of its
batch; `--d-norm` offers layer normalisation instead.) `Conclusion.ipynb` computes why a GELU
critic could not be bounded by 1 through spectral normalisation alone.""", """\
import numpy as np
import tensorflow as tf

from gans_keras.checkpoint import list_checkpoints, load_checkpoint
from gans_keras.data import load_arrays

trained = gk.get_model(config, image_size=28, channels=1)
load_checkpoint(trained, list_checkpoints(out / "checkpoints")[-1])
real, _ = load_arrays("fashion_mnist", "test")
real = tf.constant(real[:512].astype("float32") / 127.5 - 1.0)
fake = trained.generator(tf.random.normal((512, config.latent_dim), seed=0), training=False)
alpha = tf.random.uniform((512, 1, 1, 1), seed=1)
for name, points in (("between real and fake", alpha * real + (1 - alpha) * fake), ("real", real), ("fake", fake)):
    with tf.GradientTape() as tape:
        tape.watch(points)
        critic = trained.discriminator(points, training=False)
    norms = tf.norm(tf.reshape(tape.gradient(critic, points), (512, -1)), axis=1).numpy()
    print(f"{name:<22} gradient norm: mean {norms.mean():.3f}, 10%-90% {np.percentile(norms, 10):.3f}-"
          f"{np.percentile(norms, 90):.3f}")"""),
    "questions": ("""\
## The source documents' questions, on this model

The runs that answer the questions about this model (each against its baseline at equal steps,
FID on 10,000 images, `benchmarks/README.md` has the commands); `Conclusion.ipynb` sums them up
with the other models'.""", None),
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
from gans_keras.report import read_result

for label, stem in (("before: keras.layers.SpectralNormalization", "{model}_steps_keras_sn"),
                    ("after: gans_keras.layers.SpectralNormalization", "{model}_steps_paper_sn")):
    record = read_result(stem)
    print(f"{{label}} ({{record['steps']:,}} steps, {{record['images_per_second']}} real img/s)")
    scores = record["classifier:fashion_mnist"]
    print(format_table({{key: scores[key] for key in ("fid", "is_mean", "kid_mean", "precision", "recall")}}),
          end="\\n\\n")"""),
        ]
    if spec.get("pairs"):
        cells += [
            new_markdown_cell(f"## {spec['pairs']['title']}\n\n{spec['pairs']['text']}"),
            new_code_cell(f"""\
import matplotlib.pyplot as plt
from IPython.display import Markdown

from gans_keras.report import BACKBONE, ONE_CORE, grid_path, one_core_pairs, runs_table

display(Markdown(runs_table(ONE_CORE, "train_minutes_this_session")))
shown = []
for name, record, rival, partner in one_core_pairs("{model}"):
    ours, theirs = record[BACKBONE]["fid"], partner[BACKBONE]["fid"]
    print(f"{{name}}: FID {{ours:.2f}} against {{rival}}'s {{theirs:.2f}}, ratio {{ours / theirs:.2f}}")
    if name.endswith("_seed0"):
        shown += [name, rival]
figure, axes = plt.subplots(len(shown) // 2, 2, figsize=(8, 4 * len(shown) // 2), squeeze=False)
for axis, name in zip(axes.flat, shown, strict=True):
    axis.imshow(Image.open(grid_path(name)), cmap="gray")
    axis.set_title(name)
    axis.axis("off")
plt.show()"""),
        ]
    for trajectory in spec.get("trajectories", ()):
        cells += [
            new_markdown_cell(f"## {trajectory['title']}\n\n{trajectory['text']}"),
            new_code_cell(f"""\
import matplotlib.pyplot as plt

from gans_keras.report import fid_over_steps, read_result
from gans_keras.viz import plot_fid_over_steps

plot_fid_over_steps(fid_over_steps(read_result("{trajectory['name']}")["rows"]),
                    ylabel="classifier FID (10,000 images)")
plt.show()"""),
        ]
    if spec.get("keep_best"):
        cells += [
            new_markdown_cell(f"## {spec['keep_best']['title']}\n\n{spec['keep_best']['text']}"),
            new_code_cell(f"""\
import matplotlib.pyplot as plt

from gans_keras.report import BACKBONE, fid_over_steps, read_result
from gans_keras.viz import plot_fid_over_steps

run = read_result("{spec['keep_best']['name']}")
plot_fid_over_steps(fid_over_steps(run["eval"]["history"], by=None),
                    ylabel=f"classifier FID ({{run['config']['eval_samples']:,}} images)")
plt.show()
best = run["best_generator"]
print(f"kept at step {{best['kept_by']['step']:,}}: FID {{best[BACKBONE]['fid']:.2f}} on 10,000 images; "
      f"the final generator (step {{run['steps']:,}}): {{run[BACKBONE]['fid']:.2f}}")"""),
        ]
    if spec.get("runs"):
        cells += [
            new_markdown_cell(f"## {spec['runs']['title']}\n\n{spec['runs']['text']}"),
            new_code_cell(f"""\
import matplotlib.pyplot as plt
from IPython.display import Markdown

from gans_keras.report import grid_path, read_results, runs_table

display(Markdown(runs_table("{spec['runs']['pattern']}", "train_minutes_this_session")))
names = list(read_results("{spec['runs']['pattern']}"))
columns = min(4, len(names))  # rows of four keep each grid large enough to see
rows = -(-len(names) // columns)
figure, axes = plt.subplots(rows, columns, figsize=(4 * columns, 4 * rows), squeeze=False)
for axis in axes.flat:
    axis.axis("off")
for axis, name in zip(axes.flat[:len(names)], names, strict=True):
    axis.imshow(Image.open(grid_path(name)), cmap="gray")
    axis.set_title(name, fontsize=8)
plt.show()"""),
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
    for key in spec.get("explain", ()):
        text, code = EXPLANATIONS[key]
        if key == "questions":
            listed = "".join(f"\n    {question!r}," for question in spec["questions"])
            code = QUESTIONS_CELL.replace("@@QUESTIONS@@", f"({listed}\n)")
        cells += [new_markdown_cell(text), new_code_cell(code)]
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
respaced chain of a few dozen, where the learned one keeps the quality. Two pairs below: the
`_1000steps` runs trained for the same steps, and the `_15min` runs for the same 15 minutes side
by side, one core each (`benchmarks/README.md`, "Improved DDPM", has the commands). Each row is
one sampler on the given number of images (compare FIDs within one count only), with the test
images' likelihood bound in bits/dim (`python -m gans_keras.evaluate --nll`)."""),
        new_code_cell("""\
from IPython.display import Markdown

from gans_keras.report import likelihood_table, read_results  # the reader of benchmarks/README.md's tables

display(Markdown(likelihood_table("iddpm_*.json")))
figure, axis = plt.subplots(figsize=(6, 3.5))
for name, record in read_results("iddpm_*.json").items():
    samplers = record["samplers"]
    ancestral = sorted((int(key.split("-")[1]), row["classifier:fashion_mnist"]["fid"])
                       for key, row in samplers.items() if key.startswith("ddpm-") and key.count("-") == 1)
    if ancestral:  # the _spacing files hold other spacings only
        axis.plot(*zip(*ancestral, strict=True), marker="o", label=name)
axis.set(xscale="log", xlabel="respaced ancestral (DDPM) steps", ylabel="classifier FID")
axis.legend();"""),
    ]
    return new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}})


# The Conclusion's summary: every number is read from the results, and every statement beside one
# is checked against it (`claim`), so that new results cannot leave a stale sentence behind.
CONCLUSIONS = """\
from gans_keras.presets import PRESETS

board = {budget: {row["model"]: row for row in report.ranking(report.at_budget(scores, budget))}
         for budget in (15, 60)}
asked = {row["run"]: row for row in report.question_rows(RESULTS)}
tricks = {}  # each trick's FIDs, one per seed run (tricks_NAME is seed 0, tricks_NAME_seedK seed K)
for name, record in report.read_results("tricks_*.json", RESULTS).items():
    trick = name.removeprefix("tricks_").split("_seed")[0]
    tricks.setdefault(trick, []).append(record[report.BACKBONE]["fid"])
remade = {score.sampler: score for score in report.sampler_frontiers(scores)[("diffusion_60min_remade_samplers", 1000)]}
one_core = report.read_results(report.ONE_CORE, RESULTS)
equal_time_ddpm = report.read_results("iddpm_*_15min*.json", RESULTS)  # learned against fixed variance, one core each
equal_time_fids = {name: {key: row[report.BACKBONE]["fid"] for key, row in record["samplers"].items()}
                   for name, record in equal_time_ddpm.items()}


def few_step_cost(loss, sampler, runs="_15min"):  # FID of `sampler` over the same model's DDPM-1000 FID, minus 1
    return equal_time_fids[f"iddpm_{loss}{runs}"][sampler] / equal_time_fids[f"iddpm_{loss}_15min"]["ddpm-1000"] - 1


def bits(loss):
    return equal_time_ddpm[f"iddpm_{loss}_15min"]["nll"]["bits_per_dim"]


def fid(model, budget):
    return board[budget][model]["fid"][0]


def metric(model, budget, name):
    return board[budget][model][name][0]


def change(run):
    return asked[run]["fid_change"]


# (SN-GAN's FID, WGAN-GP's FID) of each seed's pair trained side by side, one core each, by budget
sngan_pairs = report.one_core_pairs("sngan", RESULTS)
pairs = {minutes: [(record[report.BACKBONE]["fid"], rival[report.BACKBONE]["fid"])
                   for name, record, _, rival in sngan_pairs if name.startswith(f"sngan_{minutes}min_1core_seed")]
         for minutes in (15, 60)}


def ndis(steps, seed, minutes=15):  # SN-GAN's FID on one core with n_dis `steps` (15 minutes: 5 is the pairs' run)
    name = (f"sngan_15min_1core_seed{seed}" if (steps, minutes) == (5, 15)
            else f"sngan_{minutes}min_1core_ndis{steps}_seed{seed}")
    return one_core[name][report.BACKBONE]["fid"]


tuned_seeds = sorted(int(name.rsplit("seed", 1)[1]) for name in one_core
                     if name.startswith("sngan_15min_1core_ndis2_seed"))


def listed(values):
    return " and ".join(f"{value:.2f}" for value in values)


def side(minutes, index):  # 0: SN-GAN's FIDs, 1: WGAN-GP's
    return listed(pair[index] for pair in pairs[minutes])


def by_seed(steps):
    return listed(ndis(steps, seed) for seed in tuned_seeds)


def claim(text, holds):
    assert holds, f"the results no longer support: {text}"
    return text


unconditional = ("dcgan", "wgan", "sngan", "r3gan")
ranked_15, ranked_60 = (sorted((model for model in unconditional if model in board[budget]),
                                key=lambda model: fid(model, budget)) for budget in (15, 60))
best_gan_15, best_gan_60 = ranked_15[0], ranked_60[0]
r3gan_place_60 = ranked_60.index("r3gan")
ORDINALS = ("first", "second", "third", "fourth")


def seeds_named(seeds):
    return ("seed " if len(seeds) == 1 else "seeds ") + ", ".join(map(str, seeds))


fast, slow = remade["dpmpp_2m-10-spacinglogsnr"], remade["ddim-100"]
# The text and the class model trained side by side for 60 minutes, one core each: {model: {sampler: scores}}.
side_by_side = {model: {sampler: row[report.BACKBONE] for sampler, row in
                        report.read_result(f"{model}_60min_pair_bf16", RESULTS)["samplers"].items()}
                for model in ("text_diffusion", "diffusion")}
pair_best = {model: min(scores["fid"] for scores in rows.values()) for model, rows in side_by_side.items()}
prompted = side_by_side["text_diffusion"]["dpmpp_2m_sde-20-spacinglogsnr-guidance1"]
# The DCGAN preset now and as it was (latent 128, no EMA), trained side by side: {(minutes, when): FID}.
dcgan_pair = {(minutes, when): report.read_result(f"dcgan_{minutes}min_1core{setting}_seed0", RESULTS)
              [report.BACKBONE]["fid"]
              for minutes in (15, 60) for when, setting in (("now", ""), ("before", "_latent128"))}
# R3GAN's CPU recipe on its own networks, the setting the leaderboard's DCGAN-network row replaced.
r3gan_own_networks = [score for score in report.at_budget(scores, 60)
                      if score.setting == "r3gan_60min_1core_doubled_latent16_lr5e-4_ema"]
r3gan_own_fid = np.mean([score.scores["fid"] for score in r3gan_own_networks])
base_fids = tricks.pop("base")
base = float(np.mean(base_fids))
helped = sorted((np.mean(fids), name) for name, fids in tricks.items() if np.mean(fids) < base - 5)
hurt = sorted((np.mean(fids), name) for name, fids in tricks.items() if np.mean(fids) > base + 5)

sections = {"Which model for which need": [
    claim(f"**Class-conditional images: a GAN.** After 15 minutes the conditional GAN is first (FID "
          f"{fid('cgan', 15):.2f}, the class-conditional diffusion model {fid('diffusion', 15):.2f}). After an hour "
          f"R3GAN's objective and CPU recipe on the CGAN's networks is first (`r3gan_cond --arch dcgan`, "
          f"{seeds_named(board[60]['r3gan_cond']['seeds'])}): FID {fid('r3gan_cond', 60):.2f}, against the CGAN's "
          f"{fid('cgan', 60):.2f} and diffusion's {fid('diffusion', 60):.2f}. Both GANs sample in one forward pass.",
          min(board[15], key=lambda model: fid(model, 15)) == "cgan"
          and min(board[60], key=lambda model: fid(model, 60)) == "r3gan_cond"
          and "dcgan32" in board[60]["r3gan_cond"]["setting"]),
    claim(f"**Fidelity and coverage: the conditional GANs with an EMA generator.** After 60 minutes the CGAN "
          f"(whose best hour keeps an EMA of G) is the most precise ({metric('cgan', 60, 'precision'):.3f}, against "
          f"{metric('r3gan_cond', 60, 'precision'):.3f} for the R3GAN recipe and "
          f"{metric('diffusion', 60, 'precision'):.3f} for diffusion) and the R3GAN recipe covers the most "
          f"({metric('r3gan_cond', 60, 'recall'):.3f} recall, "
          f"against {metric('cgan', 60, 'recall'):.3f} and {metric('diffusion', 60, 'recall'):.3f}); diffusion pays "
          f"at sampling time (below).",
          "ema" in board[60]["cgan"]["setting"]
          and all(metric("cgan", 60, "precision") > metric(rival, 60, "precision")
                  for rival in ("r3gan_cond", "diffusion"))
          and all(metric("r3gan_cond", 60, "recall") > metric(rival, 60, "recall") for rival in ("cgan", "diffusion"))),
    claim(f"**Images from a sentence: the text-to-image model**, FID {fid('text_diffusion', 60):.2f} after 60 minutes "
          f"(sampler {board[60]['text_diffusion']['sampler']}), behind the class-conditional diffusion model "
          f"({fid('diffusion', 60):.2f}), which reads a label instead of a caption.",
          fid("text_diffusion", 60) > fid("diffusion", 60)),
    claim(f"**A caption costs little against a label at equal compute:** trained side by side for 60 minutes, one "
          f"core each, the text model's best FID ({pair_best['text_diffusion']:.2f}) is "
          f"{pair_best['text_diffusion'] / pair_best['diffusion']:.2f}x the class model's "
          f"({pair_best['diffusion']:.2f}); with guidance 1 the classifier finds the prompted class in "
          f"{prompted['adherence']['class_adherence']:.1%} of its samples and their brightness and width match the "
          f"prompt in {prompted['adherence']['brightness_adherence']:.1%} and "
          f"{prompted['adherence']['width_adherence']:.1%}, at FID {prompted['fid']:.2f} "
          f"({prompted['fid'] / pair_best['diffusion']:.2f}x).",
          max(pair_best["text_diffusion"], prompted["fid"]) <= 1.2 * pair_best["diffusion"]
          and prompted["adherence"]["class_adherence"] >= 0.9
          and min(prompted["adherence"]["brightness_adherence"], prompted["adherence"]["width_adherence"]) >= 0.8),
    claim(f"**Unconditional images: {best_gan_15.upper()} on 15 minutes (FID {fid(best_gan_15, 15):.2f}), "
          f"{best_gan_60.upper()} on an hour ({fid(best_gan_60, 60):.2f}).** R3GAN, whose recipe is built for far "
          f"more steps than a CPU gives, is last after 15 minutes (FID {fid('r3gan', 15):.0f}) and "
          f"{ORDINALS[r3gan_place_60]} of {len(ranked_60)} after an hour ({fid('r3gan', 60):.2f}, "
          f"{seeds_named(board[60]['r3gan']['seeds'])}) with notebook 07's CPU recipe (2.5x the paper's learning "
          f"rate and the EMA generator) on the DCGAN networks: on R3GAN's own networks the same recipe scores "
          f"{r3gan_own_fid:.2f} ({seeds_named(sorted(score.seed for score in r3gan_own_networks))}; notebook 07), "
          f"as they cost about four times as much per image.",
          ranked_15[-1] == "r3gan" and best_gan_60 == "r3gan" and "dcgan32" in board[60]["r3gan"]["setting"]
          and r3gan_own_fid > fid("r3gan", 60)),
], "SN-GAN against WGAN-GP (side by side, one core each)": [
    claim(f"**With the paper's spectral normalisation, SN-GAN is ahead of WGAN-GP at every budget and seed, as "
          f"Miyato et al. found:** FID {side(15, 0)} against {side(15, 1)} after 15 minutes and "
          f"{side(60, 0)} against {side(60, 1)} after 60 ({len(pairs[15])} and {len(pairs[60])} seeds). Each pair "
          f"trained at the same time, one run on each core, so the comparison is at equal compute on one machine.",
          all(ours < theirs for ours, theirs in pairs[15] + pairs[60]) and pairs[60]),
    claim(f"**On a CPU budget, fewer discriminator steps pay, so the sngan preset is the paper's setting C:** "
          f"after 15 minutes on one core, SN-GAN with n_dis 2 scored {by_seed(2)} and with n_dis 1 "
          f"(Adam(2e-4, 0.5, 0.999), setting C) {by_seed(1)}, against n_dis 5's {by_seed(5)} from the same "
          f"{len(tuned_seeds)} seeds; after 60 minutes, beside each other, setting C scored "
          f"{ndis(1, 0, 60):.2f} and n_dis 5 {ndis(5, 0, 60):.2f} (seed 0). More generator steps beat a "
          f"better-trained discriminator here, though n_dis 5 keeps the better recall.",
          all(max(ndis(1, seed), ndis(2, seed)) < ndis(5, seed) - 5 for seed in tuned_seeds)
          and ndis(1, 0, 60) < ndis(5, 0, 60) and PRESETS["sngan"].defaults["n_critic"] == 1),
], "The DCGAN preset (side by side, one core each)": [
    claim(f"**A 16-d latent and an EMA of G made the DCGAN preset better:** trained beside each other, the "
          f"preset scored FID {dcgan_pair[15, 'now']:.2f} after 15 minutes and {dcgan_pair[60, 'now']:.2f} after 60, "
          f"against {dcgan_pair[15, 'before']:.2f} and {dcgan_pair[60, 'before']:.2f} for the preset as it was "
          f"(128-d latent, no EMA). Both drift after about 20,000 steps (notebook 02); `--eval-every` keeps the "
          f"best generator.",
          all(dcgan_pair[minutes, "now"] < dcgan_pair[minutes, "before"] for minutes in (15, 60))
          and PRESETS["dcgan"].defaults["latent_dim"] == 16),
], "GAN against diffusion": [
    claim(f"Diffusion gains more from training time: its FID falls {fid('diffusion', 15) / fid('diffusion', 60):.1f}-"
          f"fold from 15 to 60 minutes, the CGAN's {fid('cgan', 15) / fid('cgan', 60):.1f}-fold.",
          fid("diffusion", 15) / fid("diffusion", 60) > fid("cgan", 15) / fid("cgan", 60)),
    claim(f"A GAN's 10,000 samples take seconds; a diffusion model pays a network pass per step. On the remade "
          f"60-minute model (1,000 images), DPM-Solver++(2M) with 10 log-SNR-spaced steps takes "
          f"{fast.seconds_per_1000:.0f} s per 1,000 images for FID {fast.scores['fid']:.2f}, better and faster "
          f"than DDIM with 100 steps ({slow.seconds_per_1000:.0f} s, {slow.scores['fid']:.2f}).",
          fast.scores["fid"] < slow.scores["fid"] and fast.seconds_per_1000 < slow.seconds_per_1000),
], "Learned variances (Improved DDPM, 15 minutes each, side by side on one core each)": [
    claim(f"**A learned variance keeps few-step quality, as Nichol & Dhariwal found:** at 50 respaced ancestral "
          f"steps the hybrid-loss model's FID is {few_step_cost('hybrid', 'ddpm-50'):.0%} above its own 1,000-step "
          f"FID, L_simple's {few_step_cost('simple', 'ddpm-50'):.0%}; at 25 steps "
          f"{few_step_cost('hybrid', 'ddpm-25'):.0%} against {few_step_cost('simple', 'ddpm-25'):.0%}; and with "
          f"quadratically spaced steps "
          f"{few_step_cost('hybrid', 'ddpm-50-spacingquadratic', '_15min_spacing'):.0%} against "
          f"{few_step_cost('simple', 'ddpm-50-spacingquadratic', '_15min_spacing'):.0%} (500 images each). "
          f"Its test bits/dim are lower too: {bits('hybrid'):.2f} against {bits('simple'):.2f}.",
          all(few_step_cost("hybrid", key) < few_step_cost("simple", key) for key in ("ddpm-25", "ddpm-50"))
          and few_step_cost("hybrid", "ddpm-50-spacingquadratic", "_15min_spacing") < 0.1
          and bits("hybrid") < bits("simple")),
], f"What each trick did (DCGAN, 4,000 steps, baseline FID {listed(base_fids)} over {len(base_fids)} seeds)": [
    "Helped by more than 5 FID points on the mean of its seeds: "
    + ", ".join(f"{name} ({listed(tricks[name])})" for _, name in helped) + ".",
    "Hurt by more than 5: " + ", ".join(f"{name} ({listed(tricks[name])})" for _, name in hurt) + ".",
    claim(f"Spectral normalisation with the Wasserstein loss and no penalty collapses (FID "
          f"{tricks['sn_wasserstein'][0]:.0f}): it bounds each layer, and nothing else holds the critic.",
          min(tricks["sn_wasserstein"]) > 3 * base),
]}
sections["The source documents' questions (one seed each: a few FID points are not a finding)"] = [
    claim(f"**Is GELU 1-Lipschitz?** No: its slope peaks at {largest_slope[False]:.3f} at x = sqrt 2 (computed "
          f"above), so spectral normalisation alone bounds a 4-layer GELU critic by {largest_slope[False] ** 4:.2f}, "
          f"not 1; the package's critics use LeakyReLU or ReLU, whose slopes are at most 1.", largest_slope[False] > 1),
    claim(f"**Adam is not king here.** RMSprop at Adam's learning rate scored "
          f"{asked['optim_rmsprop_lr2e-4']['scores']['fid']:.2f} ({change('optim_rmsprop_lr2e-4'):+.2f}) and SGD "
          f"with momentum 0.5 at 2e-2 "
          f"{asked['optim_sgd_lr2e-2']['scores']['fid']:.2f} ({change('optim_sgd_lr2e-2'):+.2f}); each fails at the "
          f"other's rate (RMSprop 5e-5: {change('optim_rmsprop_lr5e-5'):+.2f}, SGD 2e-3: "
          f"{change('optim_sgd_lr2e-3'):+.2f}).",
          change("optim_rmsprop_lr2e-4") < -5 and change("optim_sgd_lr2e-2") < -5 and change("optim_sgd_lr2e-3") > 5),
    claim(f"**ReLU or LeakyReLU in the generator:** LeakyReLU {change('gact_leaky_relu'):+.2f}, within a seed's reach; "
          f"its recall rose from {asked['optim_adam_lr2e-4']['scores']['recall']:.3f} to "
          f"{asked['gact_leaky_relu']['scores']['recall']:.3f}.", abs(change("gact_leaky_relu")) < 5),
    claim(f"**BatchNorm momentum 0.9 against 0.99:** {change('bnmom_0.9'):+.2f}: no difference. It only changes the "
          f"moving statistics the saved generator uses.", abs(change("bnmom_0.9")) < 5),
    claim(f"**EMA decay:** 0.99 helped ({change('ema_0.99'):+.2f}), 0.999 hurt ({change('ema_0.999'):+.2f}) and "
          f"0.9999 is ruinous over 4,000 steps (FID {asked['ema_0.9999']['scores']['fid']:.0f}). The GAN's average "
          f"has no warm-up: 0.999's still puts {0.999 ** 1000:.0%} of its weight on the generator of more than "
          f"1,000 steps ago, and 0.9999's {0.9999 ** 4000:.0%} on the initial weights.",
          change("ema_0.99") < -5 and change("ema_0.999") > 5 and asked["ema_0.9999"]["scores"]["fid"] > 100),
    claim(f"**Batch size at equal images seen:** 32 scored {asked['batch_32']['scores']['fid']:.2f} and 128 "
          f"{asked['batch_128']['scores']['fid']:.2f} against 64's {asked['optim_adam_lr2e-4']['scores']['fid']:.2f}: "
          f"at a fixed number of images, more and smaller updates win; a larger batch is not free speed.",
          change("batch_32") < -5 and change("batch_128") > 5),
    claim(f"**Learning rates:** 1e-5 is too low (FID {asked['lr_1e-5']['scores']['fid']:.0f} after 4,000 steps); "
          f"FID falls as the rate rises through 1e-4 ({asked['lr_1e-4']['scores']['fid']:.2f}), 2e-4 "
          f"({asked['optim_adam_lr2e-4']['scores']['fid']:.2f}) and 5e-4 ({asked['lr_5e-4']['scores']['fid']:.2f}). "
          f"A critic four times slower than the generator changes little ({change('lr_d_quarter'):+.2f}).",
          asked["lr_1e-5"]["scores"]["fid"] > asked["lr_1e-4"]["scores"]["fid"]
          > asked["optim_adam_lr2e-4"]["scores"]["fid"] > asked["lr_5e-4"]["scores"]["fid"]
          and abs(change("lr_d_quarter")) < 5),
    claim(f"**[0, 1] or [-1, 1] pixels:** with a sigmoid generator and [0, 1] data the DCGAN scored "
          f"{change('pixel_range_dcgan_01'):+.2f} and WGAN-GP {change('pixel_range_wgan_01'):+.2f} against "
          f"[-1, 1] and tanh, a few points worse in both, within a seed's reach: [0, 1] gains nothing, and [-1, 1], "
          f"zero-centred for the discriminator, stays the default.",
          0 < change("pixel_range_dcgan_01") < 5 and 0 < change("pixel_range_wgan_01") < 5),
]
display(Markdown("\\n\\n".join(f"### {title}\\n\\n" + "\\n".join(f"- {point}" for point in points)
                               for title, points in sections.items())))"""

def conclusion_notebook() -> nbformat.NotebookNode:
    return new_notebook(cells=[
        new_markdown_cell("""\
# Conclusion: the models compared

Every model trained for the same wall-clock budgets on 2 CPU cores (widths 32, batch 64, each
model's paper preset), then 10,000 of its samples were scored against the 10,000 Fashion-MNIST
test images with the shipped classifier's features: FID and KID (lower is better), IS,
precision and recall (higher is better). Every number here is read from
`benchmarks/results/*.json` by `gans_keras.report`, the reader that also writes the tables of
`benchmarks/README.md`; each results file holds the command that made it, its commit and the
machine. These classifier scores rank models within this project; they are not the Inception
FIDs of papers. FID falls as the number of images grows, so every plot and table below compares
scores of one image count. The exceptions to the 2 cores are the settings whose names hold
`_1core`: SN-GAN and WGAN-GP trained two at a time, each run pinned to one core, so they had half
the machine; they are compared with each other at the end."""),
        new_code_cell("""\
from pathlib import Path

import matplotlib.pyplot as plt
from IPython.display import Markdown, display
from PIL import Image

from gans_keras import report

RESULTS = Path("benchmarks") / "results"  # this notebook lives at the repository root
scores = report.read_scores(RESULTS)
real = report.read_result("metrics_real_fashion_mnist", RESULTS)[report.BACKBONE]  # training split vs test split"""),
        new_markdown_cell("""\
## Leaderboard

Each model's best setting (and sampler) after 15 and 60 minutes. Only runs that a time limit
stopped count (a step count that happened to take 15 minutes on a shared CPU is not a budget),
and the seeds of one setting are averaged (mean ± standard deviation) where there are several."""),
        new_code_cell("display(Markdown(report.leaderboard_table(RESULTS)))"),
        new_markdown_cell("""\
## Quality against training time

Each model's best setting after each budget it was trained for (the GANs' 25- and 60-minute
runs continue their 15-minute runs from the checkpoint; the diffusion models in bf16 were
trained for 15 and for 60 minutes). The dashed line is the real training images scored the
same way: the best any model can do on this reference."""),
        new_code_cell("""\
curves = report.best_by_budget(scores)
figure, axes = plt.subplots(1, 4, figsize=(16, 3.5))
for axis, metric, title in zip(axes, ("fid", "is_mean", "precision", "recall"),
                               ("classifier FID (log)", "IS", "precision", "recall"), strict=True):
    for model, points in curves.items():
        axis.plot([minutes for minutes, _ in points], [row[metric][0] for _, row in points], marker="o", label=model)
    axis.axhline(real[metric], color="gray", linestyle="--", label="real images")
    axis.set(xlabel="training minutes (2 CPU cores)", title=title, yscale="log" if metric == "fid" else "linear")
axes[0].legend(fontsize=7);"""),
        new_markdown_cell("""\
## Samples side by side

Each leaderboard row's sample grid (its run's headline sampler; the conditional models: one row
per class, the text model: one row per caption)."""),
        new_code_cell("""\
for budget in (15, 60):
    rows = report.ranking(report.at_budget(scores, budget))
    figure, axes = plt.subplots(1, len(rows), figsize=(3.2 * len(rows), 3.6))
    for axis, row in zip(axes, rows, strict=True):
        axis.imshow(Image.open(report.grid_path(row["files"][0], RESULTS)), cmap="gray")
        axis.set_title(f"{row['model']}, {budget} min\\nFID {row['fid'][0]:.2f}", fontsize=9)
        axis.axis("off")"""),
        new_markdown_cell("""\
## Samplers: speed against quality

A GAN makes an image in one forward pass. A diffusion model makes it in as many network passes
as its sampler takes steps, so its quality has a price. Each line below is one results file's
samplers, timed on one machine in one session, on the same 1,000 (or 10,000) starting points:
seconds to sample 1,000 images on the 2 cores against classifier FID. Down and to the left is
better."""),
        new_code_cell("""\
frontiers = report.sampler_frontiers(scores, least=2)
panels = sorted({(group[0].model, images) for (_, images), group in frontiers.items() if images in (1000, 10_000)})


def short(sampler):  # ddim-50-guidance0.5-guidance_sigma_min0.28-guidance_sigma_max5.42 -> ddim-50 w0.5 in (0.28, 5.42]
    label = sampler.replace("-spacinglogsnr", " logsnr").replace("-guidance_sigma_min", " in (")
    label = label.replace("-guidance_sigma_max", ", ").replace("-guidance", " w")
    return label + "]" if " in (" in label else label


figure, axes = plt.subplots(2, 2, figsize=(16, 11))
for axis, (model, count) in zip(axes.flat, panels, strict=False):
    for (name, images), frontier in frontiers.items():
        if images != count or frontier[0].model != model:
            continue
        seconds = [score.seconds_per_1000 for score in frontier]
        line, = axis.plot(seconds, [score.scores["fid"] for score in frontier], marker="o",
                          label=f"{name} ({frontier[0].minutes:.0f} min)")
        for score in frontier:
            axis.annotate(short(score.sampler), (score.seconds_per_1000, score.scores["fid"]), fontsize=6,
                          color=line.get_color())
    axis.set(xscale="log", yscale="log", xlabel="seconds per 1,000 images (2 CPU cores)",
             ylabel="classifier FID (log)", title=f"{model}, {count:,} images")
    axis.legend(fontsize=7)"""),
        new_markdown_cell("""\
## What each trick does

The DCGAN preset with one option switched on at a time, every run 4,000 generator steps from the
same seed (a fixed number of steps, so that the comparison does not depend on what else the
machine ran), scored on 10,000 images."""),
        new_code_cell("""\
display(Markdown(report.runs_table("tricks_*.json", "train_minutes_this_session")))"""),
        new_markdown_cell("""\
## The source documents' questions

Each question's baseline, then the runs that change one thing (the settings named), at equal
steps (the batch sizes: at equal images seen), each scored on 10,000 images; the last column is
the change of FID from the baseline."""),
        new_code_cell("""\
display(Markdown(report.questions_table(RESULTS)))
answers = report.question_rows(RESULTS)
figure, axis = plt.subplots(figsize=(8, 0.3 * len(answers) + 1))
changes = [row for row in answers if row["changed"] != "baseline"]
axis.barh([f"{row['run']} ({row['question'].split(',')[0]})" for row in changes],
          [row["fid_change"] for row in changes], color=["tab:green" if row["fid_change"] < 0 else "tab:red"
                                                          for row in changes])
axis.axvline(0, color="black")
axis.invert_yaxis()
axis.set(xlabel="FID change from the baseline (negative: better)");"""),
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
largest_slope = {}
for approximate in (False, True):
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.nn.gelu(x, approximate=approximate)
    slope = tape.gradient(y, x).numpy()
    largest_slope[approximate] = slope.max()
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
        new_markdown_cell("""\
## Conclusions

The numbers in the summary below are read from the results files when this notebook runs; the
statements next to them were written from those numbers, and the cell checks each one against
them, so a rerun with other results fails here instead of printing a stale claim."""),
        new_code_cell(CONCLUSIONS),
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


# Run last in the kernel (and then removed): the package files the notebook's code imported, the
# results files gans_keras.report read for it and the patterns it matched against them.
IMPORTED_FILES = """\
import json, sys
report = sys.modules.get("gans_keras.report")
print(json.dumps({"files": sorted({module.__file__ for name, module in list(sys.modules.items())
                                   if name.split(".")[0] == "gans_keras" and getattr(module, "__file__", None)}
                                  | {str(path) for path in getattr(report, "FILES_READ", ())}),
                  "patterns": sorted(str(pattern) for pattern in getattr(report, "PATTERNS_READ", ()))}))"""


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def cells_digest(notebook: nbformat.NotebookNode) -> str:
    return hashlib.sha256(json.dumps([cell.source for cell in notebook.cells]).encode()).hexdigest()


def _relative(path: str) -> str:
    return Path(path).resolve().relative_to(ROOT).as_posix()


def matches(pattern: str) -> list[str]:
    """The files a repository-relative glob pattern matches now, repository-relative."""
    return sorted(path.relative_to(ROOT).as_posix() for path in ROOT.glob(pattern))


def fingerprint(notebook: nbformat.NotebookNode, used: list[str], patterns: list[str] = ()) -> dict:
    """What a notebook's outputs were made from: its cells, each package file its kernel imported
    and results file it read (repository-relative path -> SHA-256), and the files each results
    pattern it listed matched; tests/test_notebooks.py compares it with the current files, so
    outputs older than the code, the numbers they show or the set of runs they list are found."""
    files = sorted(_relative(name) for name in used)
    return {"cells": cells_digest(notebook), "files": {name: file_digest(ROOT / name) for name in files},
            "patterns": {pattern: matches(pattern) for pattern in sorted(map(_relative, patterns))}}


def stale_parts(notebook: nbformat.NotebookNode) -> list[str]:
    """What changed since the notebook's outputs were made: "cells", the files it used, or the
    patterns that match other files now; all of it when it has no fingerprint."""
    recorded = notebook.metadata.get("gans_keras_fingerprint")
    if recorded is None:
        return ["no fingerprint: never executed by make_notebooks.py --execute"]
    changed = ["cells"] if recorded["cells"] != cells_digest(notebook) else []
    changed += [name for name, digest in recorded["files"].items()
                if not (ROOT / name).is_file() or file_digest(ROOT / name) != digest]
    return changed + [f"the files {pattern} matches" for pattern, found in recorded["patterns"].items()
                      if matches(pattern) != found]


def execute(notebook: nbformat.NotebookNode, path: Path, timeout: int = 1800) -> None:
    """Runs the notebook where it lives, strips the log noise and records its fingerprint."""
    resources = {"metadata": {"path": str(path.parent)}}
    notebook.cells.append(new_code_cell(IMPORTED_FILES))
    try:
        NotebookClient(notebook, timeout=timeout, kernel_name="python3", resources=resources).execute()
        # The kernel may send the printed line in several stream messages (seen in CI: a lone "\n").
        used = json.loads("".join(output.text for output in notebook.cells[-1].outputs
                                  if output.output_type == "stream" and output.name == "stdout"))
    finally:
        notebook.cells.pop()
    strip_log_noise(notebook)
    notebook.metadata["gans_keras_fingerprint"] = fingerprint(notebook, used["files"], used["patterns"])


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
