"""Training configuration: one dataclass of defaults, overridden by a model's preset, a JSON
file and command-line flags, in that order. Unknown keys raise."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

from gans_keras.choices import check_choice
from gans_keras.presets import PRESETS, get_preset
from gans_keras.samplers import SAMPLERS, SPACINGS
from gans_keras.samplers.options import CONFIG_NAMES as SAMPLING_CONFIG_NAMES

# Settings with a fixed set of values. Kept free of TensorFlow, so that the config can be checked
# without importing it; schedules.py takes its choices from this table, the samplers give theirs.
CHOICES = {
    "arch": ("dcgan", "resnet"),
    "noise_schedule": ("linear", "cosine"),
    "prediction": ("eps", "v"),
    "sampler": tuple(SAMPLERS),
    "timestep_spacing": SPACINGS,
    "precision": ("float32", "mixed_float16", "mixed_bfloat16"),
    "optimizer": ("adam", "adamw"),
}


@dataclass
class TrainConfig:
    # What to train on.
    model: str = "wgan"
    dataset: str = "fashion_mnist"
    image_size: int | None = None  # None: the dataset's native size
    channels: int | None = None  # None: the dataset's own
    # Networks.
    latent_dim: int = 128
    g_width: int = 64
    d_width: int = 64
    arch: str = "dcgan"  # dcgan or resnet
    kernel_size: int | None = None  # None: the architecture's own (dcgan 4, resnet 3)
    d_norm: str | None = None  # None or "layer"
    spectral_norm: bool = False  # on every discriminator layer
    minibatch_std: bool = False
    init: str = "glorot"  # glorot, normal (N(0, 0.02)) or orthogonal
    d_conditioning: str = "projection"  # conditional models: projection or channel
    num_classes: int | None = None  # conditional models; None: from the dataset
    aux_classifier: bool = False  # AC-GAN class head on D (conditional models)
    # Objective.
    loss: str = "bce"
    gp: float = 0.0  # gradient penalty weight (lambda); 0 disables it
    r1: float = 0.0  # R1 gamma; 0 disables it
    r2: float = 0.0  # R2 gamma (R1 on fakes); 0 disables it
    cr: float = 0.0  # balanced consistency regularisation weight; 0 disables it
    instance_noise: float = 0.0  # initial std, decaying linearly to 0 at `steps`
    n_critic: int = 1
    diffaugment: str = ""  # DiffAugment policy, e.g. "color,translation,cutout"
    replay_buffer: int = 0  # past fakes kept for D; 0: off
    # Diffusion (--model diffusion).
    unet_width: int = 32
    unet_mults: str = "1,2,2"  # channel multiplier of each UNet level, comma-separated
    unet_res_blocks: int = 1
    attention_resolution: int = 8  # self-attention on feature maps this size and smaller; 0: none
    dropout: float = 0.1
    timesteps: int = 1000
    noise_schedule: str = "linear"  # linear or cosine
    prediction: str = "eps"  # eps or v
    min_snr_gamma: float = 0.0  # Min-SNR-gamma loss weighting (Hang et al. 2023); 0: plain L_simple
    label_dropout: float = 0.1  # classifier-free guidance training
    sampler: str = "ddim"  # one of gans_keras.samplers.SAMPLERS: grids, evaluation and gans_keras.sample
    sampling_steps: int = 50
    timestep_spacing: str = "linear"  # linear, quadratic or logsnr: which of the T timesteps the sampler visits
    eta: float = 0.0
    clip_x0: bool = True
    guidance: float = 0.0
    guidance_sigma_min: float = 0.0  # guidance only where sigma_t lies in (min, max] (Kynkäänniemi et al. 2024)
    guidance_sigma_max: float | None = None  # None: no upper limit
    precision: str = "float32"  # float32, mixed_float16 or mixed_bfloat16
    # Optimisation.
    batch_size: int = 64
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    beta_1: float = 0.5
    beta_2: float = 0.999
    optimizer: str = "adam"  # adam or adamw
    weight_decay: float = 0.004  # AdamW's decoupled weight decay (Keras' default)
    clip_grad_norm: float | None = None  # global gradient-norm clipping of both networks
    ema_decay: float = 0.0  # EMA of the generator's weights for sampling; 0: off
    steps: int = 10_000  # generator updates
    max_minutes: float | None = None
    seed: int = 0
    # Outputs.
    sample_every: int = 500
    checkpoint_every: int = 1000
    keep_checkpoints: int = 3
    log_every: int = 10  # TensorBoard scalars every this many steps
    # Evaluation during training.
    eval_every: int = 0  # 0: off
    eval_backbone: str = "auto"  # "auto": the dataset's shipped classifier, else inception
    eval_samples: int = 2000

    def __post_init__(self):
        positive = ("latent_dim", "g_width", "d_width", "n_critic", "batch_size", "unet_width", "unet_res_blocks",
                    "steps", "sample_every", "checkpoint_every", "keep_checkpoints", "log_every", "eval_samples")
        for name in positive:
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.kernel_size is not None and self.kernel_size < 1:
            raise ValueError(f"kernel_size must be >= 1, got {self.kernel_size}")
        for name in CHOICES:
            check_choice(name, getattr(self, name), CHOICES[name])
        for name in ("gp", "r1", "r2", "cr", "instance_noise", "weight_decay", "min_snr_gamma", "guidance_sigma_min"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.replay_buffer and self.replay_buffer < self.batch_size:
            raise ValueError(
                f"replay_buffer must hold at least one batch ({self.batch_size}), got {self.replay_buffer}"
            )
        if not 1 <= self.sampling_steps <= self.timesteps:
            raise ValueError(f"sampling_steps must be in [1, timesteps={self.timesteps}], got {self.sampling_steps}")
        if not 0 <= self.dropout < 1 or not 0 <= self.label_dropout <= 1:
            raise ValueError(f"dropout must be in [0, 1) and label_dropout in [0, 1], got {self.dropout}, "
                             f"{self.label_dropout}")
        mults = self.unet_mults.split(",")
        if not all(m.strip().isdigit() and int(m) > 0 for m in mults):
            raise ValueError(f"unet_mults must be positive integers separated by commas, got {self.unet_mults!r}")
        if self.guidance_sigma_max is not None and self.guidance_sigma_max <= self.guidance_sigma_min:
            raise ValueError(f"guidance_sigma_max must be > guidance_sigma_min ({self.guidance_sigma_min}), "
                             f"got {self.guidance_sigma_max}")
        if self.eval_every < 0:
            raise ValueError(f"eval_every must be >= 0, got {self.eval_every}")
        if self.max_minutes is not None and self.max_minutes <= 0:
            raise ValueError(f"max_minutes must be > 0, got {self.max_minutes}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


FIELDS = tuple(field.name for field in dataclasses.fields(TrainConfig))


def _models(kind: str | None = None, conditional: bool | None = None) -> tuple[str, ...]:
    return tuple(name for name, preset in PRESETS.items()
                 if kind in (None, preset.kind) and conditional in (None, preset.conditional))


# The models each setting applies to, where that is not every model: a setting a user gives for
# another model is refused (train.py, gan_budget.py), not silently ignored.
APPLIES_TO = {
    **dict.fromkeys(("latent_dim", "g_width", "d_width", "arch", "kernel_size", "d_norm", "spectral_norm",
                     "minibatch_std", "init", "loss", "gp", "r1", "r2", "cr", "instance_noise", "n_critic",
                     "diffaugment", "replay_buffer", "lr_d"), _models("gan")),
    **dict.fromkeys(("d_conditioning", "aux_classifier"), _models("gan", conditional=True)),
    "num_classes": _models(conditional=True),
    **dict.fromkeys(("unet_width", "unet_mults", "unet_res_blocks", "attention_resolution", "dropout", "timesteps",
                     "noise_schedule", "prediction", "min_snr_gamma", "label_dropout", *SAMPLING_CONFIG_NAMES),
                    _models("diffusion")),
}


def check_applicable(overrides: dict, model: str) -> None:
    """Refuses, naming it and the models it is for, a setting given that `model` would ignore."""
    for key in overrides:
        if key in APPLIES_TO and model not in APPLIES_TO[key]:
            raise ValueError(f"{key} (--{key.replace('_', '-')}) does not apply to {model}: it applies to "
                             f"{', '.join(APPLIES_TO[key])}")


def check_keys(overrides: dict, source: str) -> None:
    unknown = sorted(set(overrides) - set(FIELDS))
    if unknown:
        raise ValueError(f"unknown config key(s) {unknown} in {source}: valid keys are {', '.join(FIELDS)}")


def read_overrides(path: str | Path) -> dict:
    """A JSON object of overrides; unknown keys raise."""
    try:
        overrides = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"config file {path} does not exist") from None
    except json.JSONDecodeError as error:
        raise ValueError(f"config file {path} is not valid JSON: {error}") from None
    if not isinstance(overrides, dict):
        raise ValueError(f"config file {path} must hold a JSON object of overrides")
    check_keys(overrides, str(path))
    return overrides


def make_config(*overrides: dict) -> TrainConfig:
    """Defaults, then the model's preset, then each override dict in order."""
    merged: dict = {}
    for layer in overrides:
        check_keys(layer, "overrides")
        merged.update(layer)
    model = merged.get("model", TrainConfig.model)
    return TrainConfig(**{**get_preset(model).defaults, **merged})
