"""Training configuration: one dataclass of defaults, overridden by a model's preset, a JSON
file and command-line flags, in that order. Unknown keys raise.

Every setting is declared once, in its section, beside its help text, its fixed choices and
the models it applies to: `python -m gans_keras.train --help`, its argument groups, the JSON
loader's checks and the README's flag table (`python -m gans_keras.config`) all read that
declaration. The object stays flat (`config.loss`, not `config.gan.loss`): a setting's name is
the same as its flag, its JSON key and its `--set` key, and the `config.json` of every run ever
written loads as it is."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

from gans_keras.choices import check_choice
from gans_keras.flags import flag_name
from gans_keras.presets import PRESETS, get_preset
from gans_keras.samplers.options import FIELDS as SAMPLING_FIELDS


def _models(kind: str | None = None, conditional: bool | None = None) -> tuple[str, ...]:
    return tuple(name for name, preset in PRESETS.items()
                 if kind in (None, preset.kind) and conditional in (None, preset.conditional))


# Which models a setting applies to; a setting given for another model is refused.
EVERY_MODEL = _models()
GANS = _models("gan")
CONDITIONAL_GANS = _models("gan", conditional=True)
CONDITIONAL_MODELS = _models(conditional=True)
DIFFUSION_MODELS = _models("diffusion")
TEXT_MODELS = tuple(name for name, preset in PRESETS.items() if preset.text)
# FID while training draws class-balanced or unconditional samples: not made for prompts yet.
UNPROMPTED_MODELS = tuple(name for name in EVERY_MODEL if name not in TEXT_MODELS)
# Models that can take labels: the conditional ones, and any GAN with the semi-supervised discriminator.
LABELLED_MODELS = tuple(dict.fromkeys(CONDITIONAL_MODELS + GANS))


@dataclass(frozen=True)
class Section:
    """One group of settings: its name in --help and the README, and a line on what it holds."""

    name: str
    title: str

    def setting(self, default, help: str, *, applies_to: tuple[str, ...] = EVERY_MODEL, choices=None,
                none_means: str | None = None, parse=None, aliases: tuple[str, ...] = ()) -> dataclasses.Field:
        """A field of TrainConfig. `none_means` says what a None default stands for; `parse` reads
        the flag's text where the field's type does not; `aliases` are extra flag spellings."""
        return dataclasses.field(default=default, metadata=dict(
            section=self, help=help, applies_to=applies_to, choices=choices, none_means=none_means, parse=parse,
            aliases=aliases))

    def sampling_setting(self, config_name: str) -> dataclasses.Field:
        """A field whose default, help and choices SamplingOptions declares (the sample and evaluate
        CLIs and the benchmarks read them there too)."""
        (option,) = (option for option in SAMPLING_FIELDS if option.metadata["config"] == config_name)
        return self.setting(option.default, option.metadata["help"], applies_to=DIFFUSION_MODELS,
                            choices=option.metadata["flag"].get("choices"),
                            none_means="no upper limit" if option.default is None else None)


DATA = Section("data", "what to train on")
NETWORKS = Section("networks", "the GAN's generator and discriminator")
GAN_OBJECTIVE = Section("gan objective", "the GAN's loss, penalties and discriminator schedule")
DIFFUSION = Section("diffusion", "the diffusion model's UNet, noise schedule and loss")
TEXT = Section("text", "how a text-to-image model reads its captions")
SAMPLING = Section("sampling", "how a diffusion model samples its grids, evaluations and gans_keras.sample")
OPTIMISATION = Section("optimisation", "optimisers, length and seed of training")
STARTS = Section("starting point", "where a GAN's weights start: fresh, another run's networks, or a run grown")
DEVICES = Section("devices", "where the train step runs and how: precision, XLA, tf.distribute")
OUTPUTS = Section("outputs", "what the run directory gets, and how often")
EVALUATION = Section("evaluation", "FID and KID while training")


# --init normal's standard deviation (Radford et al. 2015), the networks' default too.
NORMAL_STD = 0.02
# --g-input (gans_keras.networks.common.latent_to_map makes each).
G_INPUTS = ("dense", "reshape", "conv")
# --optimizer (gans_keras.models.registry.make_optimizer makes each).
OPTIMIZERS = ("adam", "adamw", "rmsprop", "sgd")
# --g-activation (gans_keras.networks.common.hidden_activation makes each).
G_ACTIVATIONS = ("relu", "leaky_relu")
# --pixel-range: a GAN's image range and the generator's output activation that spans it.
PIXEL_RANGES = {"11": ((-1.0, 1.0), "tanh"), "01": ((0.0, 1.0), "sigmoid")}
# --init-parts: the GAN's networks a warm start can copy.
INIT_PARTS = ("generator", "discriminator", "ema")


def parse_d_head(spec: str | None) -> tuple[int, ...]:
    """--d-head "dense:512,256" -> (512, 256), the hidden Dense layers before the score; None -> ()."""
    if spec is None:
        return ()
    units = spec[len("dense:"):].split(",") if spec.startswith("dense:") else []
    if not units or not all(unit.strip().isdigit() and int(unit) > 0 for unit in units):
        raise ValueError(f"d_head must be dense:UNITS[,UNITS...] with positive integers (e.g. dense:512,256), "
                         f"got {spec!r}")
    return tuple(int(unit) for unit in units)


def parse_init_parts(spec: str) -> tuple[str, ...]:
    """--init-parts "generator,ema" -> ("generator", "ema"); unknown or repeated names raise."""
    parts = tuple(part.strip() for part in spec.split(","))
    unknown = [part for part in parts if part not in INIT_PARTS]
    if unknown or not parts or len(set(parts)) < len(parts):
        raise ValueError(f"init_parts must name some of {', '.join(INIT_PARTS)}, each once, comma-separated; "
                         f"got {spec!r}")
    return parts


# --jit-compile -> model.compile's jit_compile.
JIT_COMPILE = {"on": True, "off": False, "auto": "auto"}
# --strategy (gans_keras.distribute.make_strategy makes each).
STRATEGIES = ("none", "mirrored", "multi_worker")


def _none_or_text(value: str) -> str | None:
    return None if value.lower() == "none" else value


@dataclass
class TrainConfig:
    model: str = DATA.setting("wgan", "model to train: " + "; ".join(
        f"{name}: {preset.description}" for name, preset in PRESETS.items()))
    dataset: str = DATA.setting("fashion_mnist", "training data: fashion_mnist, mnist, cifar10, digits, tfds:NAME "
                                "(TensorFlow Datasets) or folder:PATH (a folder of images, one subfolder per class); "
                                "text models: fashion_mnist_captions, folder:PATH with a metadata.jsonl or "
                                "captions.csv, or tfds:NAME with --caption-key")
    caption_key: str | None = DATA.setting(None, "the text feature of a tfds:NAME dataset that holds the captions",
                                           applies_to=TEXT_MODELS, none_means="none (needed for tfds:NAME)")
    image_size: int | None = DATA.setting(None, "resize the images (antialiased) to this square size, 8 to 256",
                                          none_means="the dataset's own")
    channels: int | None = DATA.setting(None, "1 (grayscale) or 3 (RGB)", none_means="the dataset's own")
    num_classes: int | None = DATA.setting(None, "number of classes of a conditional model, or of an "
                                           "unconditional GAN's --aux-classifier head",
                                           applies_to=LABELLED_MODELS, none_means="the dataset's")

    latent_dim: int = NETWORKS.setting(128, "size of the generator's latent vector z", applies_to=GANS)
    g_width: int = NETWORKS.setting(64, "channels of the generator's last hidden layer (doubled at each lower "
                                    "resolution; r3gan: only with --width-doubling)", applies_to=GANS)
    d_width: int = NETWORKS.setting(64, "channels of the discriminator's first layer (doubled at each lower "
                                    "resolution; r3gan: only with --width-doubling)", applies_to=GANS)
    arch: str = NETWORKS.setting("dcgan", "network family: dcgan (strided convolutions), resnet (the SN-GAN "
                                 "paper's residual blocks) or r3gan (R3GAN's inverted bottlenecks with grouped "
                                 "convolutions, no normalisation, fix-up initialisation; widths constant across "
                                 "stages unless --width-doubling)", applies_to=GANS,
                                 choices=("dcgan", "resnet", "r3gan"))
    kernel_size: int | None = NETWORKS.setting(None, "convolution kernel size", applies_to=GANS,
                                               none_means="4 for dcgan, 3 for resnet (whose blocks need 3) and "
                                               "r3gan")
    d_norm: str | None = NETWORKS.setting(None, "normalisation in the discriminator: none or layer (BatchNorm "
                                          "would break the gradient penalty)", applies_to=GANS,
                                          choices=(None, "layer"), none_means="none", parse=_none_or_text)
    spectral_norm: bool = NETWORKS.setting(False, "spectral normalisation on every discriminator layer "
                                           "(gans_keras.layers.SpectralNormalization: the layers compute with "
                                           "W / sigma(W) as in Miyato et al. 2018)", applies_to=GANS)
    blocks_per_stage: int = NETWORKS.setting(2, "residual blocks at each resolution of the r3gan networks (the "
                                             "paper: 2)", applies_to=GANS)
    width_doubling: bool = NETWORKS.setting(False, "r3gan networks twice as wide at each lower resolution, "
                                            "--g-width/--d-width at the full one (as dcgan and resnet); off: as "
                                            "wide at every resolution (the paper)", applies_to=GANS)
    minibatch_std: bool = NETWORKS.setting(False, "minibatch standard-deviation channel before the "
                                           "discriminator's last convolution", applies_to=GANS)
    init: str = NETWORKS.setting("glorot", "kernel initializer of both networks: glorot, normal (N(0, --init-std)) "
                                 "or orthogonal", applies_to=GANS, choices=("glorot", "normal", "orthogonal"))
    init_std: float = NETWORKS.setting(NORMAL_STD, "standard deviation of --init normal (Radford et al. 2015: "
                                       "0.02; some implementations use 0.01)", applies_to=GANS)
    g_input: str = NETWORKS.setting("dense", "how the generator makes its first 4x4 map from the latent (joined to "
                                    "a conditional model's label embedding): dense (a Dense layer), reshape (the "
                                    "vector itself reshaped: its size must be a multiple of 16) or conv (a 4x4 "
                                    "transposed convolution of the vector as a 1x1 map); dcgan and resnet",
                                    applies_to=GANS, choices=G_INPUTS)
    g_activation: str = NETWORKS.setting("relu", "the dcgan generator's activation after each BatchNorm: relu "
                                         "(Radford et al.) or leaky_relu (slope 0.2)", applies_to=GANS,
                                         choices=G_ACTIVATIONS)
    bn_momentum: float = NETWORKS.setting(0.99, "momentum of the dcgan generator's BatchNorm moving mean and "
                                          "variance, which the exported generator uses (Keras' default; PyTorch's "
                                          "momentum 0.1 is 0.9 here)", applies_to=GANS)
    pixel_range: str = NETWORKS.setting("11", "the pixel range both networks see: 11 ([-1, 1], tanh generator "
                                        "output, Radford et al.) or 01 ([0, 1], sigmoid output)", applies_to=GANS,
                                        choices=tuple(PIXEL_RANGES))
    d_head: str | None = NETWORKS.setting(None, "hidden Dense layers (LeakyReLU) between the discriminator's "
                                          "features and its score, for a global view: dense:UNITS[,UNITS...], e.g. "
                                          "dense:512,256; dcgan and resnet", applies_to=GANS,
                                          none_means="none (the score reads the features)", parse=_none_or_text)
    d_conditioning: str = NETWORKS.setting("projection", "how labels enter the discriminator: projection "
                                           "(Miyato & Koyama 2018) or an extra channel", applies_to=CONDITIONAL_GANS,
                                           choices=("projection", "channel"))
    aux_classifier: bool = NETWORKS.setting(False, "the discriminator also predicts the class. Conditional models: "
                                            "AC-GAN (Odena et al. 2017), its cross-entropy added to both losses. "
                                            "Unconditional GANs: the semi-supervised discriminator (Salimans et al. "
                                            "2016), K class logits whose LogSumExp is the real-vs-fake score, the "
                                            "real images' cross-entropy added to its loss", applies_to=GANS)

    loss: str = GAN_OBJECTIVE.setting("bce", "bce (non-saturating), wasserstein, hinge, lsgan or rpgan (relativistic "
                                      "pairing, Sun et al. 2020, R3GAN's: softplus(-(D(real) - D(fake))) for D, the "
                                      "mirror for G; a conditional model pairs each real image with a fake of its "
                                      "class)", applies_to=GANS,
                                      choices=("bce", "wasserstein", "hinge", "lsgan", "rpgan"))
    gp: float = GAN_OBJECTIVE.setting(0.0, "gradient penalty weight lambda, on interpolates uniform in [0, 1] "
                                      "(0: off)", applies_to=GANS)
    r1: float = GAN_OBJECTIVE.setting(0.0, "R1 penalty gamma on real images (0: off)", applies_to=GANS)
    r2: float = GAN_OBJECTIVE.setting(0.0, "R2 penalty gamma on fake images (0: off); R3GAN pairs it with --r1 and "
                                      "--loss rpgan", applies_to=GANS)
    reg_every: int = GAN_OBJECTIVE.setting(1, "compute R1 and R2 on every this many discriminator updates only, "
                                           "weighted by it (lazy regularisation, Karras et al. 2020; 1: every "
                                           "update)", applies_to=GANS)
    cr: float = GAN_OBJECTIVE.setting(0.0, "balanced consistency regularisation weight, real and fake, under "
                                      "translation (0: off)", applies_to=GANS)
    instance_noise: float = GAN_OBJECTIVE.setting(0.0, "std of Gaussian noise on the discriminator's inputs, "
                                                  "decaying linearly to 0 at --steps (0: off)", applies_to=GANS)
    n_critic: int = GAN_OBJECTIVE.setting(1, "discriminator updates per generator update, each on its own batch "
                                          "(alias --n-dis)", applies_to=GANS, aliases=("--n-dis",))
    diffaugment: str = GAN_OBJECTIVE.setting("", "DiffAugment policy on real and fake images, e.g. "
                                             "color,translation,cutout ('': off)", applies_to=GANS)
    replay_buffer: int = GAN_OBJECTIVE.setting(0, "keep this many past fakes; half of each discriminator fake batch "
                                               "comes from them (0: off)", applies_to=GANS)

    unet_width: int = DIFFUSION.setting(32, "channels of the UNet's first level", applies_to=DIFFUSION_MODELS)
    unet_mults: str = DIFFUSION.setting("1,2,2", "channel multiplier of each UNet level, e.g. 1,2,2 (28x28 allows "
                                        "3 levels)", applies_to=DIFFUSION_MODELS)
    unet_res_blocks: int = DIFFUSION.setting(1, "residual blocks per UNet level", applies_to=DIFFUSION_MODELS)
    attention_resolution: int = DIFFUSION.setting(8, "self-attention on feature maps of this size and smaller "
                                                  "(0: none)", applies_to=DIFFUSION_MODELS)
    dropout: float = DIFFUSION.setting(0.1, "dropout in the UNet's residual blocks", applies_to=DIFFUSION_MODELS)
    timesteps: int = DIFFUSION.setting(1000, "number of noise levels T", applies_to=DIFFUSION_MODELS)
    noise_schedule: str = DIFFUSION.setting("linear", "linear (Ho et al. 2020) or cosine (Nichol & Dhariwal 2021)",
                                            applies_to=DIFFUSION_MODELS, choices=("linear", "cosine"))
    prediction: str = DIFFUSION.setting("eps", "the network predicts eps (the noise, L_simple) or v",
                                        applies_to=DIFFUSION_MODELS, choices=("eps", "v"))
    min_snr_gamma: float = DIFFUSION.setting(0.0, "Min-SNR-gamma loss weighting: each image's error weighted by "
                                             "min(SNR_t, gamma) relative to L_simple (Hang et al. 2023 use 5; 0: "
                                             "off)", applies_to=DIFFUSION_MODELS)
    learn_sigma: bool = DIFFUSION.setting(False, "the UNet also outputs v, its reverse variance exp(v log beta_t + "
                                          "(1 - v) log beta~_t) (Improved DDPM); needs --loss-type hybrid or vlb",
                                          applies_to=DIFFUSION_MODELS)
    loss_type: str = DIFFUSION.setting("simple", "simple (L_simple), hybrid (L_simple + 0.001 L_vlb, the variance "
                                       "learning from L_vlb; needs --learn-sigma) or vlb (L_vlb alone)",
                                       applies_to=DIFFUSION_MODELS, choices=("simple", "hybrid", "vlb"))
    timestep_sampling: str = DIFFUSION.setting("uniform", "draw t uniformly or by importance, p_t ~ sqrt(E[L_t^2]) "
                                               "over the last 10 L_vlb values of each t (needs --loss-type hybrid "
                                               "or vlb; one device)", applies_to=DIFFUSION_MODELS,
                                               choices=("uniform", "importance"))
    unet_activation: str = DIFFUSION.setting("silu", "the UNet's activation", applies_to=DIFFUSION_MODELS,
                                             choices=("silu", "gelu", "relu", "mish"))
    unet_init: str = DIFFUSION.setting("glorot", "initialiser of the UNet's kernels (glorot uniform, he normal or "
                                       "orthogonal; the zero-initialised ones stay zero)", applies_to=DIFFUSION_MODELS,
                                       choices=("glorot", "he", "orthogonal"))
    unet_padding: str = DIFFUSION.setting("reflect", "how an image size the UNet's levels do not divide is padded "
                                          "(cropped back at the output)", applies_to=DIFFUSION_MODELS,
                                          choices=("reflect", "zero"))
    label_dropout: float = DIFFUSION.setting(0.1, "probability of training without the label, or for a text model "
                                             "with the empty caption (for classifier-free guidance; alias "
                                             "--caption-dropout)", applies_to=DIFFUSION_MODELS,
                                             aliases=("--caption-dropout",))

    text_encoder: str = TEXT.setting("learned", "the caption encoder: learned (a word tokenizer fitted on the "
                                     "training captions and a small Transformer trained with the UNet) or "
                                     "keras_hub:PRESET_OR_DIR (a frozen keras-hub text backbone, e.g. "
                                     "keras_hub:distil_bert_base_en or a local preset directory; needs keras-hub, "
                                     "the [text] extra)", applies_to=TEXT_MODELS)
    text_conditioning: str = TEXT.setting("cross", "how the caption reaches the UNet: cross (its attention blocks "
                                          "cross-attend to the token features, padding masked), pooled (the "
                                          "tokens' masked mean added to the time embedding) or both",
                                          applies_to=TEXT_MODELS, choices=("cross", "pooled", "both"))
    cross_attention_first: bool = TEXT.setting(False, "cross-attention before self-attention in each attention "
                                               "block (default: self first)", applies_to=TEXT_MODELS)
    caption_length: int = TEXT.setting(16, "tokens per caption: longer captions are cut, shorter ones padded",
                                       applies_to=TEXT_MODELS)
    text_vocabulary: int = TEXT.setting(2000, "largest vocabulary of the learned tokenizer (padding and unknown "
                                        "words included); --text-encoder learned only", applies_to=TEXT_MODELS)
    text_dim: int = TEXT.setting(64, "width of the learned text encoder (a multiple of its 4 attention heads); "
                                 "--text-encoder learned only", applies_to=TEXT_MODELS)
    text_depth: int = TEXT.setting(2, "Transformer blocks of the learned text encoder; --text-encoder learned only",
                                   applies_to=TEXT_MODELS)

    sampler: str = SAMPLING.sampling_setting("sampler")
    sampling_steps: int = SAMPLING.sampling_setting("sampling_steps")
    timestep_spacing: str = SAMPLING.sampling_setting("timestep_spacing")
    eta: float = SAMPLING.sampling_setting("eta")
    clip_x0: bool = SAMPLING.sampling_setting("clip_x0")
    guidance: float = SAMPLING.sampling_setting("guidance")
    guidance_sigma_min: float = SAMPLING.sampling_setting("guidance_sigma_min")
    guidance_sigma_max: float | None = SAMPLING.sampling_setting("guidance_sigma_max")

    batch_size: int = OPTIMISATION.setting(64, "images per batch: per discriminator update for a GAN (a step "
                                           "takes n_critic batches), per update for diffusion")
    lr_g: float = OPTIMISATION.setting(2e-4, "learning rate of the generator (a GAN's) or of the diffusion network")
    lr_d: float = OPTIMISATION.setting(2e-4, "learning rate of the discriminator", applies_to=GANS)
    beta_1: float = OPTIMISATION.setting(0.5, "Adam's beta_1, for every optimiser (sgd: its momentum)")
    beta_2: float = OPTIMISATION.setting(0.999, "Adam's beta_2, for every optimiser (rmsprop: its rho)")
    optimizer: str = OPTIMISATION.setting(
        "adam", "adam, adamw (decoupled weight decay), rmsprop (Adam's second moment alone: rho = --beta-2, "
        "no momentum) or sgd (Adam's first moment alone: momentum = --beta-1)", choices=OPTIMIZERS)
    weight_decay: float = OPTIMISATION.setting(0.004, "AdamW's decoupled weight decay (Keras' default)")
    clip_grad_norm: float | None = OPTIMISATION.setting(None, "clip each network's global gradient norm to this",
                                                        none_means="no clipping")
    ema_decay: float = OPTIMISATION.setting(0.0, "exponential moving average of the generator's (or diffusion "
                                            "network's) weights, used for samples and the export (0: off)")
    steps: int = OPTIMISATION.setting(10_000, "train until this many generator (or diffusion network) updates in "
                                      "total")
    max_minutes: float | None = OPTIMISATION.setting(None, "stop cleanly after this many minutes of training "
                                                     "(checkpoint and exports written)", none_means="no time limit")
    seed: int = OPTIMISATION.setting(0, "seed of Python, NumPy, Keras, the data order and the fixed sample latents")

    grow_from: str | None = STARTS.setting(None, "grow this GAN run (dcgan or resnet networks) to twice its image "
                                           "size (Karras et al. 2018): both networks rebuilt with a new block at "
                                           "each end, every other weight copied from the run's newest checkpoint, "
                                           "the new blocks faded in over --fade-steps; the run's settings are "
                                           "kept unless given", applies_to=GANS, none_means="no growing")
    fade_steps: int = STARTS.setting(1000, "steps over which a grown run's new blocks fade in (alpha from 0 to 1); "
                                     "--grow-from only", applies_to=GANS)
    init_from: str | None = STARTS.setting(None, "warm start: copy the --init-parts networks' weights from this GAN "
                                           "run's newest checkpoint (same architecture), then train with fresh "
                                           "optimisers", applies_to=GANS, none_means="fresh weights")
    init_parts: str = STARTS.setting("generator,discriminator", "the networks --init-from copies: any of "
                                     "generator, discriminator, ema (the EMA generator), comma-separated; a "
                                     "generator copied without ema also starts the run's EMA", applies_to=GANS)

    precision: str = DEVICES.setting("float32", "float32, mixed_float16 (with dynamic loss scaling) or "
                                     "mixed_bfloat16: layers compute in 16 bits; weights, the "
                                     "discriminator's score, losses and penalties stay float32",
                                     choices=("float32", "mixed_float16", "mixed_bfloat16"))
    jit_compile: str = DEVICES.setting("auto", "XLA-compile the train step: on, off, or auto (Keras' choice: on "
                                       "with a GPU, off on a CPU; off under a strategy of several replicas and with "
                                       "--reg-every above 1, whose conditional XLA does not compile); the "
                                       "random draws are the same either way",
                                       choices=tuple(JIT_COMPILE))
    strategy: str = DEVICES.setting("none", "tf.distribute strategy: none (one device), mirrored (every local GPU, "
                                    "or the CPU split by --cpu-replicas) or multi_worker (the machines of the "
                                    "TF_CONFIG variable); --batch-size stays the global batch",
                                    choices=STRATEGIES)
    cpu_replicas: int | None = DEVICES.setting(None, "with --strategy mirrored and no GPU, split the CPU into this "
                                               "many logical devices (to try a strategy on one machine)",
                                               none_means="one device")

    sample_every: int = OUTPUTS.setting(500, "write a sample grid every this many steps")
    checkpoint_every: int = OUTPUTS.setting(1000, "write a checkpoint every this many steps")
    checkpoint_minutes: float | None = OUTPUTS.setting(None, "also write a checkpoint once this many minutes have "
                                                       "passed since the last one (for preemptible machines)",
                                                       none_means="by steps only")
    keep_checkpoints: int = OUTPUTS.setting(3, "number of newest checkpoints kept")
    log_every: int = OUTPUTS.setting(10, "write TensorBoard scalars every this many steps")

    eval_every: int = EVALUATION.setting(0, "compute FID and KID every this many steps, shown in the progress bar "
                                         "and TensorBoard, and keep the generator with the lowest FID as "
                                         "generator_best.keras (sample or evaluate it with --best; 0: off)",
                                         applies_to=UNPROMPTED_MODELS)
    eval_backbone: str = EVALUATION.setting("auto", "features for --eval-every: auto (the dataset's shipped "
                                            "classifier, else inception), inception, keras-inception, "
                                            "classifier:NAME or classifier:PATH", applies_to=UNPROMPTED_MODELS)
    eval_samples: int = EVALUATION.setting(2000, "generated and real images compared at each evaluation",
                                           applies_to=UNPROMPTED_MODELS)

    def __post_init__(self):
        self._check_types()
        get_preset(self.model)
        positive = ("latent_dim", "g_width", "d_width", "n_critic", "batch_size", "unet_width", "unet_res_blocks",
                    "steps", "sample_every", "checkpoint_every", "keep_checkpoints", "log_every", "eval_samples",
                    "caption_length", "text_dim", "text_depth", "reg_every", "blocks_per_stage")
        for name in positive:
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.kernel_size is not None and self.kernel_size < 1:
            raise ValueError(f"kernel_size must be >= 1, got {self.kernel_size}")
        for name, choices in CHOICES.items():
            check_choice(name, getattr(self, name), choices)
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
        if self.num_classes is not None and not get_preset(self.model).conditional and not self.aux_classifier:
            raise ValueError(f"num_classes on the unconditional {self.model} sizes the --aux-classifier head: "
                             f"set aux_classifier too")
        if self.text_encoder != "learned":
            if not self.text_encoder.startswith("keras_hub:") or self.text_encoder == "keras_hub:":
                raise ValueError(f"text_encoder must be learned or keras_hub:PRESET_OR_DIR, got {self.text_encoder!r}")
            learned_only = [name for name in ("text_vocabulary", "text_dim", "text_depth")
                            if getattr(self, name) != DEFAULTS[name]]
            if learned_only:
                raise ValueError(f"{learned_only[0]} sizes the learned text encoder; {self.text_encoder} is "
                                 f"pretrained: leave it out")
        if self.text_dim % 4:
            raise ValueError(f"text_dim must be a multiple of the text encoder's 4 attention heads, "
                             f"got {self.text_dim}")
        if self.text_vocabulary < 3:
            raise ValueError(f"text_vocabulary must be >= 3 (padding, unknown and a word), got {self.text_vocabulary}")
        self._check_networks_and_starts()
        conflict = improved_ddpm_conflict(self.learn_sigma, self.loss_type, self.timestep_sampling)
        if conflict:
            raise ValueError(conflict)
        if self.timestep_sampling == "importance" and self.strategy != "none":
            raise ValueError("timestep_sampling importance keeps one device's loss history: use strategy none")
        if self.eval_every < 0:
            raise ValueError(f"eval_every must be >= 0, got {self.eval_every}")
        if self.cpu_replicas is not None and (self.cpu_replicas < 1 or self.strategy != "mirrored"):
            raise ValueError(f"cpu_replicas splits the CPU for strategy mirrored: it must be >= 1 and needs "
                             f"--strategy mirrored, got {self.cpu_replicas} with strategy {self.strategy}")
        if self.weight_decay != DEFAULTS["weight_decay"] and self.optimizer != "adamw":
            raise ValueError(f"weight_decay is AdamW's: it needs optimizer adamw, not {self.optimizer}")
        if self.checkpoint_minutes is not None and self.checkpoint_minutes <= 0:
            raise ValueError(f"checkpoint_minutes must be > 0, got {self.checkpoint_minutes}")
        if self.max_minutes is not None and self.max_minutes <= 0:
            raise ValueError(f"max_minutes must be > 0, got {self.max_minutes}")
        # A setting the model ignores may only hold its default, so that nothing set through the
        # Python API (make_config, a config file) is silently dropped.
        changed = {name: value for name, value in self.to_dict().items() if value != DEFAULTS[name]}
        check_applicable(changed, self.model)

    def _check_types(self):
        """Each setting holds its annotated type (a config file's "steps": "ten" is named here, not
        deep inside training); a whole number is accepted where a float is meant."""
        for setting in SETTINGS:
            value = getattr(self, setting.name)
            kind, *optional = setting.type.replace(" ", "").split("|")
            if value is None and optional:
                continue
            if kind == "float" and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
                setattr(self, setting.name, value)
            if type(value).__name__ != kind:
                raise ValueError(f"{setting.name} must be {'an' if kind == 'int' else 'a'} {kind}"
                                 f"{' or null' if optional else ''}, got {value!r}")

    def _check_networks_and_starts(self):
        if self.init_std <= 0:
            raise ValueError(f"init_std must be > 0, got {self.init_std}")
        if self.init_std != DEFAULTS["init_std"] and self.init != "normal":
            raise ValueError(f"init_std is the std of --init normal; init is {self.init}")
        parse_d_head(self.d_head)
        if self.arch == "r3gan" and (self.g_input != "dense" or self.d_head is not None):
            raise ValueError("the r3gan networks build their own input and head: g_input and d_head are for dcgan "
                             "and resnet")
        if self.blocks_per_stage != DEFAULTS["blocks_per_stage"] and self.arch != "r3gan":
            raise ValueError(f"blocks_per_stage sizes the r3gan networks; arch {self.arch} has its own blocks")
        if self.width_doubling and self.arch != "r3gan":
            raise ValueError(f"width_doubling sizes the r3gan networks; arch {self.arch} always doubles its widths")
        if self.reg_every != DEFAULTS["reg_every"] and not (self.r1 or self.r2):
            raise ValueError("reg_every spaces out the R1 and R2 penalties: set --r1 or --r2")
        if self.reg_every > 1 and self.jit_compile == "on":
            raise ValueError("reg_every > 1 computes R1 and R2 in a conditional that XLA does not compile: use "
                             "--jit-compile auto or off")
        if not 0 <= self.bn_momentum < 1:
            raise ValueError(f"bn_momentum must be in [0, 1), got {self.bn_momentum}")
        dcgan_only = [name for name in ("g_activation", "bn_momentum") if getattr(self, name) != DEFAULTS[name]]
        if dcgan_only and self.arch != "dcgan":
            raise ValueError(f"{dcgan_only[0]} is the dcgan generator's; arch {self.arch} builds its own")
        if self.pixel_range == "01" and (self.diffaugment or self.cr):
            raise ValueError("pixel_range 01: DiffAugment's colour and translation (and so --cr) are written for "
                             "[-1, 1] images")
        if self.fade_steps < 1:
            raise ValueError(f"fade_steps must be >= 1, got {self.fade_steps}")
        if self.grow_from is None and self.fade_steps != DEFAULTS["fade_steps"]:
            raise ValueError("fade_steps is how fast a grown run's new blocks fade in: it needs grow_from")
        if self.grow_from is not None and self.arch == "r3gan":
            raise ValueError("grow_from grows the dcgan and resnet networks; r3gan does not grow")
        if self.grow_from is not None and self.init_from is not None:
            raise ValueError("grow_from already starts from a run's weights: leave out init_from")
        parse_init_parts(self.init_parts)
        if self.init_from is None and self.init_parts != DEFAULTS["init_parts"]:
            raise ValueError("init_parts names what init_from copies: it needs init_from")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


SETTINGS = dataclasses.fields(TrainConfig)
FIELDS = tuple(setting.name for setting in SETTINGS)
DEFAULTS = {setting.name: setting.default for setting in SETTINGS}
SECTIONS = tuple(dict.fromkeys(setting.metadata["section"] for setting in SETTINGS))
# The settings with a fixed set of values (schedules, the diffusion model and the sampling loop
# check theirs against this table too).
CHOICES = {setting.name: setting.metadata["choices"] for setting in SETTINGS if setting.metadata["choices"]}
APPLIES_TO = {setting.name: setting.metadata["applies_to"] for setting in SETTINGS}


def improved_ddpm_conflict(learn_sigma: bool, loss_type: str, timestep_sampling: str) -> str | None:
    """What is wrong with a diffusion model's loss settings (None: nothing)."""
    if learn_sigma and loss_type == "simple":
        return "learn_sigma needs loss_type hybrid or vlb: L_simple does not train the variance"
    if loss_type == "hybrid" and not learn_sigma:
        return "loss_type hybrid trains a learned variance: set learn_sigma"
    if timestep_sampling == "importance" and loss_type == "simple":
        return "timestep_sampling importance weighs t by its L_vlb history: use loss_type hybrid or vlb"
    return None


def check_applicable(overrides: dict, model: str) -> None:
    """Refuses, naming it and the models it is for, a setting given that `model` would ignore."""
    for key in overrides:
        if key in APPLIES_TO and model not in APPLIES_TO[key]:
            raise ValueError(f"{key} ({flag_name(key)}) does not apply to {model}: it applies to "
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


def default_text(setting: dataclasses.Field) -> str:
    return setting.metadata["none_means"] if setting.default is None else repr(setting.default)


def applies_text(setting: dataclasses.Field) -> str:
    models = setting.metadata["applies_to"]
    return "every model" if models == EVERY_MODEL else ", ".join(models)


def flag_table() -> str:
    """The README's table of every training setting, section by section."""
    lines = ["| section | flag | default | models | meaning |", "|---|---|---|---|---|"]
    for setting in SETTINGS:
        flags = ", ".join(f"`{flag}`" for flag in (flag_name(setting.name), *setting.metadata["aliases"]))
        meaning = setting.metadata["help"].replace("|", "\\|")
        lines.append(f"| {setting.metadata['section'].name} | {flags} | {default_text(setting)} | "
                     f"{applies_text(setting)} | {meaning} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(flag_table())
