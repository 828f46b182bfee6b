"""`--model NAME` -> a compiled model; the CLI, notebooks, benchmarks and tests all use it."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

import keras

from gans_keras.config import JIT_COMPILE, PIXEL_RANGES, TrainConfig, parse_d_head
from gans_keras.presets import get_preset
from gans_keras.samplers.options import SamplingOptions

if TYPE_CHECKING:
    from gans_keras.models.diffusion import Diffusion
    from gans_keras.models.gan import GAN
    from gans_keras.text_encoders import CaptionEncoding


def build_gan(config: TrainConfig, image_size: int, channels: int) -> GAN:
    """A GAN on the DCGAN networks, with the loss, penalties and optimisers of `config`."""
    # Imported here, not at the top, so that presets and samplers load without the training code
    # (and without TensorFlow: a trained diffusion network samples on any Keras backend).
    from gans_keras.augment import DiffAugment
    from gans_keras.losses import ConsistencyPenalty, GradientPenalty, R1Penalty, R2Penalty
    from gans_keras.models.gan import GAN
    from gans_keras.networks import dcgan, r3gan, resnet

    conditional = get_preset(config.model).conditional
    num_classes = config.num_classes if conditional else None
    if conditional and num_classes is None:
        raise ValueError(f"{config.model} is conditional: set num_classes")
    networks = {"dcgan": dcgan, "resnet": resnet, "r3gan": r3gan}[config.arch]
    kernel = {} if config.kernel_size is None else {"kernel_size": config.kernel_size}
    # An unconditional model's class head is the semi-supervised one (its score is the head's LogSumExp).
    semi_supervised_classes = config.num_classes if config.aux_classifier and not conditional else None
    if config.aux_classifier and not conditional and config.num_classes is None:
        raise ValueError(f"aux_classifier on {config.model} classifies the dataset's labels: set num_classes")
    # The options of the dcgan and resnet networks (r3gan builds its own input, head and initialisation).
    generator_options, discriminator_options = {}, {}
    if config.arch == "r3gan":
        generator_options = discriminator_options = dict(blocks_per_stage=config.blocks_per_stage,
                                                         width_doubling=config.width_doubling)
    else:
        grown = config.grow_from is not None
        generator_options = dict(g_input=config.g_input, init_std=config.init_std, fade_in=grown)
        if config.arch == "dcgan":
            generator_options.update(activation=config.g_activation, bn_momentum=config.bn_momentum)
        discriminator_options = dict(head_units=parse_d_head(config.d_head), init_std=config.init_std, fade_in=grown)
    with dtype_policy(config.precision):
        _, output_activation = PIXEL_RANGES[config.pixel_range]
        generator = networks.build_generator(
            config.latent_dim, image_size, channels, config.g_width, init=config.init, num_classes=num_classes,
            output_activation=output_activation, **kernel, **generator_options,
        )
        discriminator = networks.build_discriminator(
            image_size,
            channels,
            config.d_width,
            norm=config.d_norm,
            spectral_norm=config.spectral_norm,
            minibatch_std=config.minibatch_std,
            init=config.init,
            num_classes=num_classes,
            conditioning=config.d_conditioning,
            aux_classifier=config.aux_classifier and conditional,
            semi_supervised_classes=semi_supervised_classes,
            **kernel, **discriminator_options,
        )
    penalties = []
    if config.gp > 0:
        penalties.append(GradientPenalty(config.gp))
    if config.r1 > 0:
        penalties.append(R1Penalty(config.r1))
    if config.r2 > 0:
        penalties.append(R2Penalty(config.r2))
    if config.cr > 0:
        penalties.append(ConsistencyPenalty(config.cr, seed=config.seed + 2))
    augment = DiffAugment(config.diffaugment, seed=config.seed + 1) if config.diffaugment else None
    model = GAN(
        generator,
        discriminator,
        config.latent_dim,
        loss=config.loss,
        penalties=penalties,
        n_critic=config.n_critic,
        augment=augment,
        seed=config.seed,
        ema_decay=config.ema_decay,
        instance_noise=config.instance_noise,
        instance_noise_steps=config.steps,
        num_classes=num_classes,
        aux_classifier=config.aux_classifier,
        replay_buffer=config.replay_buffer,
        clip_grad_norm=config.clip_grad_norm,
        fade_steps=config.fade_steps if config.grow_from is not None else None,
        reg_every=config.reg_every,
    )
    # The GAN's two optimisers are its own (no Model.compile wrapping): loss scaling is asked for here.
    model.compile(d_optimizer=make_optimizer(config, config.lr_d, loss_scaling=True),
                  g_optimizer=make_optimizer(config, config.lr_g, loss_scaling=True),
                  jit_compile=jit_compile(config))
    return model


def jit_compile(config: TrainConfig) -> bool | str:
    """model.compile's jit_compile for --jit-compile. XLA compiles one device's step: under a
    strategy of several replicas TensorFlow cannot compile a step whose variables sit on several
    devices, so there `auto` is off and `on` is refused. Lazy R1/R2 (reg_every > 1) differentiate
    through a conditional (the penalties' branch) whose gradient XLA fails to compile, with or
    without DiffAugment, so `auto` is off there too (the config refuses `on`)."""
    import tensorflow as tf

    wanted = JIT_COMPILE[config.jit_compile]
    if config.reg_every > 1:
        return False
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    if replicas == 1:
        return wanted
    if wanted is True:
        raise ValueError(f"--jit-compile on needs one replica; strategy {config.strategy} has {replicas}: "
                         f"use --jit-compile auto or off")
    return False


@contextlib.contextmanager
def dtype_policy(precision: str):
    """Layers made inside take `precision` (float32, mixed_float16, mixed_bfloat16); the global
    policy is restored after."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(precision)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def make_optimizer(config: TrainConfig, learning_rate: float, loss_scaling: bool = False):
    """`config.optimizer` with the config's betas and weight decay: Adam, AdamW, RMSprop (rho
    beta_2, Adam's second-moment average without its first moment) or SGD (momentum beta_1,
    Adam's first moment without its second); with `loss_scaling` under mixed_float16, inside a
    LossScaleOptimizer (dynamic loss scale). The models clip the gradients themselves
    (`gradients.apply_gradients`): of the global batch."""
    options = dict(beta_1=config.beta_1, beta_2=config.beta_2)
    if config.optimizer == "adamw":
        optimizer = keras.optimizers.AdamW(learning_rate, weight_decay=config.weight_decay, **options)
    elif config.optimizer == "rmsprop":
        optimizer = keras.optimizers.RMSprop(learning_rate, rho=config.beta_2)
    elif config.optimizer == "sgd":
        optimizer = keras.optimizers.SGD(learning_rate, momentum=config.beta_1)
    else:
        optimizer = keras.optimizers.Adam(learning_rate, **options)
    if loss_scaling and config.precision == "mixed_float16":
        return keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


def build_diffusion(config: TrainConfig, image_size: int, channels: int,
                    caption_text: CaptionEncoding | None = None) -> Diffusion:
    """The UNet denoiser, its schedule and optimiser, in `config.precision`. A text model with a
    pretrained encoder reads its feature width and empty caption from `caption_text` (or loads
    the encoder)."""
    import numpy as np

    from gans_keras.models.diffusion import Diffusion
    from gans_keras.networks.unet import build_text_unet, build_unet
    from gans_keras.schedules import NoiseSchedule
    from gans_keras.text_encoders import LEARNED, caption_encoding

    text = get_preset(config.model).text
    unet_options = dict(
        width=config.unet_width,
        channel_mults=[int(m) for m in config.unet_mults.split(",")],
        res_blocks=config.unet_res_blocks,
        attention_resolution=config.attention_resolution,
        dropout=config.dropout,
        learn_sigma=config.learn_sigma,
        activation=config.unet_activation,
        initializer=config.unet_init,
        padding=config.unet_padding,
    )
    with dtype_policy(config.precision):
        null_caption = None
        if text:
            text_options = dict(text_conditioning=config.text_conditioning,
                                cross_attention_first=config.cross_attention_first, **unet_options)
            if config.text_encoder == LEARNED:
                # The token embedding has the tokenizer's largest vocabulary, so the network's shape
                # is the config's alone (a smaller fitted vocabulary leaves rows unused).
                network = build_text_unet(image_size, channels, config.caption_length, config.text_vocabulary,
                                          config.text_dim, config.text_depth, **text_options)
                null_caption = np.zeros(config.caption_length, np.int32)
            else:
                encoding = caption_text or caption_encoding(config)
                network = build_text_unet(image_size, channels, config.caption_length,
                                          context_dim=encoding.context_dim, **text_options)
                null_caption = encoding.null_caption
        else:
            network = build_unet(image_size, channels, num_classes=config.num_classes, **unet_options)
        model = Diffusion(
            network,
            NoiseSchedule(config.noise_schedule, config.timesteps),
            prediction=config.prediction,
            min_snr_gamma=config.min_snr_gamma,
            ema_decay=config.ema_decay,
            num_classes=config.num_classes,
            label_dropout=config.label_dropout,
            seed=config.seed,
            sampler_options=sampler_options(config),
            clip_grad_norm=config.clip_grad_norm,
            null_caption=null_caption,
            loss_type=config.loss_type,
            timestep_sampling=config.timestep_sampling,
        )
        # Under mixed_float16, compile wraps the optimiser in a LossScaleOptimizer.
        model.compile(optimizer=make_optimizer(config, config.lr_g), jit_compile=jit_compile(config))
    return model


def sampler_options(config: TrainConfig) -> dict:
    """DiffusionSampler's keywords for the run's sampling settings and seed."""
    return {**SamplingOptions.from_config(config).sampler_settings(), "seed": config.seed}


# Each model kind's builder (gans_keras.presets.KINDS): `--model NAME` builds with its preset's kind.
BUILDERS = {"gan": build_gan, "diffusion": build_diffusion}


def get_model(config: TrainConfig, image_size: int, channels: int, **options) -> keras.Model:
    """Builds and compiles `config.model` for images of the given size and channels (`options`:
    `caption_text`, a text model's CaptionEncoding)."""
    return BUILDERS[get_preset(config.model).kind](config, image_size, channels, **options)
