"""Train a model: `python -m gans_keras.train --model wgan --steps 2000 --out runs/wgan`.

Every training setting is a flag (`--help`); `gans_keras.training.train` does the work.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from datetime import datetime
from pathlib import Path

from gans_keras.config import CHOICES, FIELDS, TrainConfig, check_applicable, make_config, read_overrides
from gans_keras.data import DATASET_CHOICES
from gans_keras.presets import PRESETS
from gans_keras.samplers.options import HELP as SAMPLING_HELP
from gans_keras.training import train

# Flags that may differ from the saved config when resuming a run.
RESUMABLE_CHANGES = ("steps", "max_minutes")

HELP = {
    "model": "model to train: " + "; ".join(f"{name}: {preset.description}" for name, preset in PRESETS.items()),
    "dataset": f"training data: one of {', '.join(DATASET_CHOICES)}",
    "image_size": "resize images to this square size",
    "channels": "1 (grayscale) or 3 (RGB)",
    "latent_dim": "size of the generator's latent vector z",
    "g_width": "channels of the generator's last hidden layer (doubled at each lower resolution)",
    "d_width": "channels of the discriminator's first layer (doubled at each lower resolution)",
    "arch": "network family: dcgan (strided convolutions) or resnet (the SN-GAN paper's residual blocks)",
    "kernel_size": "convolution kernel size",
    "d_norm": "normalisation in the discriminator: none or layer (BatchNorm would break the GP)",
    "spectral_norm": "spectral normalisation on every discriminator layer (keras.layers.SpectralNormalization)",
    "minibatch_std": "minibatch standard-deviation channel before the discriminator's last convolution",
    "init": "kernel initializer of both networks: glorot, normal (N(0, 0.02)) or orthogonal",
    "d_conditioning": "conditional models: labels enter D by projection or as an extra channel",
    "num_classes": "conditional models: number of classes",
    "aux_classifier": "AC-GAN: D also predicts the class; its cross-entropy is added to both losses (cgan)",
    "loss": "GAN loss: bce (non-saturating), wasserstein, hinge, lsgan or rpgan (relativistic pairing, R3GAN's)",
    "gp": "gradient penalty weight lambda (0: off); interpolates uniform in [0, 1]",
    "r1": "R1 penalty gamma on real images (0: off)",
    "r2": "R2 penalty gamma on fake images (0: off); R3GAN pairs it with --r1 and --loss rpgan",
    "cr": "balanced consistency regularisation weight, real and fake, under translation (0: off)",
    "instance_noise": "std of Gaussian noise on the discriminator's inputs, decaying linearly to 0 (0: off)",
    "n_critic": "discriminator updates per generator update (alias --n-dis)",
    "replay_buffer": "keep this many past fakes; half of each D fake batch comes from them (0: off)",
    "diffaugment": "DiffAugment policy, e.g. color,translation,cutout ('' : off)",
    "unet_width": "diffusion: channels of the UNet's first level",
    "unet_mults": "diffusion: channel multiplier of each UNet level, e.g. 1,2,2 (28x28 allows 3 levels)",
    "unet_res_blocks": "diffusion: residual blocks per UNet level",
    "attention_resolution": "diffusion: self-attention on feature maps of this size and smaller (0: none)",
    "dropout": "diffusion: dropout in the UNet's residual blocks",
    "timesteps": "diffusion: number of noise levels T",
    "noise_schedule": "diffusion: linear (Ho et al. 2020) or cosine (Nichol & Dhariwal 2021)",
    "prediction": "diffusion: the network predicts eps (the noise, L_simple) or v",
    "min_snr_gamma": "diffusion: Min-SNR-gamma loss weighting, each image's error weighted by min(SNR_t, gamma) "
    "relative to L_simple (Hang et al. 2023 use 5; 0: off)",
    "label_dropout": "diffusion: probability of training without the label (for classifier-free guidance)",
    "precision": "float32, mixed_float16 (GPUs; with dynamic loss scaling) or mixed_bfloat16, for every model",
    "batch_size": "images per discriminator update (each step uses n_critic batches)",
    "lr_g": "generator learning rate (Adam); the diffusion network's",
    "lr_d": "discriminator learning rate (Adam)",
    "beta_1": "Adam beta_1 of both optimisers",
    "beta_2": "Adam beta_2 of both optimisers",
    "optimizer": "adam or adamw (decoupled weight decay)",
    "weight_decay": "AdamW weight decay",
    "clip_grad_norm": "clip each network's global gradient norm to this",
    "ema_decay": "exponential moving average of the generator's (or diffusion network's) weights, used for "
    "samples and the export (0: off)",
    "steps": "train until this many generator updates in total",
    "max_minutes": "stop cleanly after this many minutes of training (checkpoint and exports written)",
    "seed": "seed of Python, NumPy, Keras, the data order and the fixed sample latents",
    "sample_every": "write a sample grid every this many steps",
    "checkpoint_every": "write a checkpoint every this many steps",
    "keep_checkpoints": "number of newest checkpoints kept",
    "log_every": "write TensorBoard scalars every this many steps",
    "eval_every": "compute FID and KID every this many steps (0: off); shown in the progress bar and TensorBoard",
    "eval_backbone": "features for --eval-every: auto (the dataset's shipped classifier, else inception), "
    "inception, keras-inception, classifier:NAME or classifier:PATH",
    "eval_samples": "generated and real images compared at each evaluation",
    # The sampling settings' help is declared with them, once for every CLI.
    **{name: f"diffusion: {text}" for name, text in SAMPLING_HELP.items()},
}
GROUPS = {
    "data": ("model", "dataset", "image_size", "channels"),
    "networks": (
        "arch", "latent_dim", "g_width", "d_width", "kernel_size", "d_norm", "spectral_norm", "minibatch_std", "init",
        "d_conditioning", "num_classes", "aux_classifier",
    ),
    "objective": ("loss", "gp", "r1", "r2", "cr", "instance_noise", "n_critic", "diffaugment", "replay_buffer"),
    "diffusion": (
        "unet_width", "unet_mults", "unet_res_blocks", "attention_resolution", "dropout", "timesteps",
        "noise_schedule", "prediction", "min_snr_gamma", "label_dropout", "sampler", "sampling_steps",
        "timestep_spacing", "eta", "clip_x0", "guidance", "guidance_sigma_min", "guidance_sigma_max", "precision",
    ),
    "optimisation": (
        "batch_size", "lr_g", "lr_d", "beta_1", "beta_2", "optimizer", "weight_decay", "clip_grad_norm",
        "ema_decay", "steps", "max_minutes", "seed",
    ),
    "outputs": ("sample_every", "checkpoint_every", "keep_checkpoints", "log_every"),
    "evaluation": ("eval_every", "eval_backbone", "eval_samples"),
}
assert sorted(sum(GROUPS.values(), ())) == sorted(FIELDS) == sorted(HELP), "every field needs a flag"


def _flag_options(field: dataclasses.Field) -> dict:
    if str(field.type) == "bool":
        return {"action": argparse.BooleanOptionalAction}
    return {"type": _flag_type(field), "choices": CHOICES.get(field.name)}


def _flag_type(field: dataclasses.Field):
    if field.name == "d_norm":
        return lambda value: None if value.lower() == "none" else value
    text = str(field.type)
    return int if "int" in text else float if "float" in text else str


# What a setting whose default is None means, for --help.
NONE_MEANS = {
    "image_size": "the dataset's own",
    "channels": "the dataset's own",
    "kernel_size": "4 for dcgan, 3 for resnet, whose blocks need 3",
    "d_norm": "none",
    "num_classes": "the dataset's",
    "clip_grad_norm": "no clipping",
    "max_minutes": "no time limit",
    "guidance_sigma_max": "no upper limit",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m gans_keras.train",
        description="Train a GAN or a diffusion model. Settings come from the model's defaults, then --config, "
        "then flags.",
    )
    parser.add_argument("--out", type=Path, help="run directory (default: runs/MODEL-DATASET-TIME)")
    parser.add_argument("--resume", action="store_true", help="continue the run in --out from its newest checkpoint")
    parser.add_argument("--config", type=Path, help="JSON file of overrides (keys as the flags, with _)")
    fields = {field.name: field for field in dataclasses.fields(TrainConfig)}
    for group, names in GROUPS.items():
        arguments = parser.add_argument_group(group)
        for name in names:
            field = fields[name]
            default = NONE_MEANS[name] if field.default is None else repr(field.default)
            help_text = f"{HELP[name]} [default: {default}, or the model's preset]"
            flags = ["--" + name.replace("_", "-")] + (["--n-dis"] if name == "n_critic" else [])
            arguments.add_argument(*flags, dest=name, default=None, help=help_text, **_flag_options(field))
    return parser


def config_from_args(args: argparse.Namespace) -> tuple[TrainConfig, Path]:
    flags = {name: getattr(args, name) for name in FIELDS if getattr(args, name) is not None}
    file_overrides = read_overrides(args.config) if args.config else {}
    if not args.resume:
        config = make_config(file_overrides, flags)
        check_applicable({**file_overrides, **flags}, config.model)
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        return config, args.out or Path("runs") / f"{config.model}-{config.dataset.replace(':', '_')}-{stamp}"
    if args.out is None:
        raise ValueError("--resume needs --out, the run directory to continue")
    saved = json.loads((args.out / "config.json").read_text()) if (args.out / "config.json").exists() else None
    if saved is None:
        raise FileNotFoundError(f"cannot resume: {args.out / 'config.json'} does not exist")
    requested = {**file_overrides, **flags}
    conflicts = [
        f"--{key.replace('_', '-')} {value!r} (run has {saved[key]!r})"
        for key, value in requested.items()
        if key not in RESUMABLE_CHANGES and saved.get(key) != value
    ]
    if conflicts:
        raise ValueError("a resumed run keeps its settings; these differ: " + ", ".join(conflicts))
    return make_config(saved, requested), args.out


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        config, out = config_from_args(args)
        train(config, out, resume=args.resume)
    except (ValueError, FileNotFoundError, FileExistsError, FloatingPointError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
