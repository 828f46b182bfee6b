"""A denoising diffusion model trained as in DDPM (Ho et al. 2020), with Improved DDPM's learned
variances, hybrid loss and importance-sampled timesteps (Nichol & Dhariwal 2021)."""

from __future__ import annotations

import copy

import keras
import numpy as np
import tensorflow as tf

from gans_keras import rng
from gans_keras.choices import check_choice
from gans_keras.config import CHOICES, improved_ddpm_conflict
from gans_keras.distribute import share_of_mean
from gans_keras.likelihood import vlb_term
from gans_keras.models.gradients import apply_gradients
from gans_keras.models.timestep_importance import TimestepImportance
from gans_keras.networks.unet import learns_variance
from gans_keras.samplers.loop import DiffusionSampler
from gans_keras.schedules import NoiseSchedule

# lambda of L_hybrid = L_simple + lambda L_vlb (Nichol & Dhariwal 2021).
VLB_WEIGHT = 0.001


class Diffusion(keras.Model):
    """Trains `network` to predict the noise (L_simple, Ho et al. 2020) or v (Salimans & Ho 2022).

    Each step draws t uniformly from {0, ..., T-1} and noise ~ N(0, I) per image, forms
    x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) noise and minimises the mean squared error of
    the network's prediction, each image's error weighted by Min-SNR-gamma when
    `min_snr_gamma` is set. With `num_classes`, each label is replaced by the "no label"
    index `num_classes` with probability `label_dropout`, so one network learns the
    conditional and the unconditional model that classifier-free guidance combines. A text model
    (`null_caption`) takes captions instead (token ids, or a pretrained encoder's features: the
    network's third input), and a dropped caption is `null_caption`, the empty one.

    Args:
        network: [x_t, t (int32), (labels)] -> prediction shaped like x_t.
        schedule: the noise schedule.
        prediction: "eps" or "v".
        min_snr_gamma: Min-SNR-gamma loss weighting (Hang et al. 2023; they use 5); 0: the plain
            mean squared error (L_simple).
        ema_decay: when > 0, `ema_network` averages the weights and is what sampling uses. The
            decay at update n is min(ema_decay, (1 + n) / (10 + n)) (the warm-up of
            `tf.train.ExponentialMovingAverage`), so short runs are not dominated by the
            untrained initial weights.
        num_classes: class-conditional network when set.
        null_caption: a text-conditional network's empty caption (one example of its third input,
            e.g. all-padding token ids (L,)), when the network is text-conditional.
        label_dropout: probability of training a sample without its label or caption.
        seed: seed of the timestep, noise and label-dropout stream.
        sampler_options: defaults of `sampling_generator` (sampler, steps, eta, clip_x0, guidance).
        clip_grad_norm: clip the global gradient norm to this (None: no clipping).
        loss_type: "simple", "hybrid" or "vlb".
        timestep_sampling: "uniform" or "importance" (needs the L_vlb term: hybrid or vlb).
    """

    def __init__(self, network: keras.Model, schedule: NoiseSchedule, prediction: str = "eps",
                 min_snr_gamma: float = 0.0, ema_decay: float = 0.999, num_classes: int | None = None,
                 label_dropout: float = 0.1, seed: int | None = None, sampler_options: dict | None = None,
                 clip_grad_norm: float | None = None, null_caption=None, loss_type: str = "simple",
                 timestep_sampling: str = "uniform", **kwargs):
        super().__init__(**kwargs)
        check_choice("prediction", prediction, CHOICES["prediction"])
        check_choice("loss_type", loss_type, CHOICES["loss_type"])
        check_choice("timestep_sampling", timestep_sampling, CHOICES["timestep_sampling"])
        self.learned_variance = learns_variance(network)
        conflict = improved_ddpm_conflict(self.learned_variance, loss_type, timestep_sampling)
        if conflict:
            raise ValueError(conflict)
        if min_snr_gamma < 0:
            raise ValueError(f"min_snr_gamma must be >= 0, got {min_snr_gamma}")
        if not 0.0 <= ema_decay < 1.0:
            raise ValueError(f"ema_decay must be in [0, 1), got {ema_decay}")
        if not 0.0 <= label_dropout <= 1.0:
            raise ValueError(f"label_dropout must be in [0, 1], got {label_dropout}")
        if num_classes is not None and null_caption is not None:
            raise ValueError("a diffusion model takes class labels (num_classes) or captions (null_caption), "
                             "not both")
        self.network = network
        self.schedule = schedule
        self.prediction = prediction
        self.min_snr_gamma = min_snr_gamma
        self.ema_decay = ema_decay
        self.num_classes = num_classes
        self.null_caption = None if null_caption is None else np.asarray(null_caption)
        self.label_dropout = label_dropout
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.sampler_options = dict(sampler_options or {})
        self.clip_grad_norm = clip_grad_norm
        self.loss_type = loss_type
        self.importance = TimestepImportance(schedule.timesteps) if timestep_sampling == "importance" else None
        self._sampler = None
        self.ema_network = None
        if ema_decay:
            self.ema_network = keras.models.clone_model(network)
            self.ema_network.set_weights(network.get_weights())
        self.built = True

    def compile(self, optimizer, **kwargs):
        super().compile(optimizer=optimizer, **kwargs)
        self.optimizer.build(self.network.trainable_variables)

    @property
    def optimizers(self) -> dict:
        return {"optimizer": self.optimizer}

    @property
    def step(self):
        """Optimizer updates so far (the unit of --steps)."""
        return self.optimizer.iterations

    @property
    def latent_shape(self) -> tuple[int, ...]:
        return tuple(self.network.inputs[0].shape[1:])

    @property
    def sampling_generator(self) -> DiffusionSampler:
        """A sampler on the EMA network (or the network itself without EMA), with its own settings
        and call count, so every sample grid draws the same step noise. All of them share one
        traced network call: tracing anew for each grid took seconds."""
        if self._sampler is None:
            network = self.ema_network if self.ema_network is not None else self.network
            self._sampler = DiffusionSampler(network, self.schedule, self.prediction, self.num_classes,
                                             null_caption=self.null_caption, **self.sampler_options)
        return copy.copy(self._sampler)

    def call(self, inputs, training=False):
        return self.network(inputs, training=training)

    batches_per_step = 1

    @staticmethod
    def step_inputs(batches: tf.data.Dataset) -> tf.data.Dataset:
        """One batch a step, as it comes."""
        return batches

    def train_step(self, data):
        x0, labels, _ = keras.utils.unpack_x_y_sample_weight(data)
        if self.num_classes is not None and labels is None:
            raise ValueError("a class-conditional diffusion model needs (images, labels) batches")
        if self.null_caption is not None and labels is None:
            raise ValueError("a text-conditional diffusion model needs (images, captions) batches")
        x0 = tf.convert_to_tensor(x0)
        batch = tf.shape(x0)[0]
        if self.importance is None:
            t, weights = rng.randint((batch,), 0, self.schedule.timesteps, self.seed_generator), None
        else:
            t, weights = self.importance.sample(batch, self.seed_generator)
        noise = rng.normal(tf.shape(x0), self.seed_generator)
        x_t = self.schedule.q_sample(x0, t, noise)
        inputs = [x_t, t]
        if self.num_classes is not None:
            dropped = rng.uniform((batch,), self.seed_generator) < self.label_dropout
            inputs.append(tf.where(dropped, self.num_classes, tf.cast(labels, tf.int32)))
        elif self.null_caption is not None:
            dropped = rng.uniform((batch,), self.seed_generator) < self.label_dropout
            null = tf.constant(self.null_caption)
            dropped = tf.reshape(dropped, [-1] + [1] * len(self.null_caption.shape))
            inputs.append(tf.where(dropped, null[None], tf.cast(labels, null.dtype)))
        target = noise if self.prediction == "eps" else self.schedule.v_target(x0, t, noise)
        metrics = {}
        with tf.GradientTape() as tape:
            prediction = tf.cast(self.network(inputs, training=True), tf.float32)
            variance_frac = None
            if self.learned_variance:
                prediction, variance_frac = tf.split(prediction, 2, axis=-1)
            per_image = tf.reduce_mean(tf.square(prediction - target), axis=list(range(1, len(x0.shape))))
            if self.min_snr_gamma:
                per_image = per_image * self.schedule.min_snr_weights(t, self.min_snr_gamma, self.prediction)
            if self.loss_type != "simple":
                predicted_x0 = self.schedule.predicted_x0(x_t, t, prediction, self.prediction)
                if self.loss_type == "hybrid":  # L_vlb trains the variance only
                    predicted_x0 = tf.stop_gradient(predicted_x0)
                term = vlb_term(self.schedule, x0, x_t, t, predicted_x0, variance_frac, clip=False)
                vlb = self.schedule.timesteps * term
                per_image = per_image + VLB_WEIGHT * vlb if self.loss_type == "hybrid" else vlb
                metrics["vlb"] = tf.reduce_mean(vlb if weights is None else vlb * weights)
            if weights is not None:
                per_image = per_image * weights
            loss = tf.reduce_mean(per_image)
            scaled_loss = self.optimizer.scale_loss(share_of_mean(loss))  # loss scaling under mixed_float16
        variables = self.network.trainable_variables
        grad_norm = apply_gradients(self.optimizer, tape.gradient(scaled_loss, variables), variables,
                                    self.clip_grad_norm)
        if self.ema_network is not None:
            updates = tf.cast(self.optimizer.iterations, tf.float32)
            decay = tf.minimum(self.ema_decay, (1.0 + updates) / (10.0 + updates))
            for average, weight in zip(self.ema_network.weights, self.network.weights, strict=True):
                average.assign(decay * average + (1.0 - decay) * tf.cast(weight, average.dtype))
        if self.importance is not None:
            self.importance.update(t, term)
        return {"loss": loss, "grad_norm": grad_norm, **metrics}
