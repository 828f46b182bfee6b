"""One GAN model class; DCGAN, WGAN-GP and the others differ only by their arguments."""

from __future__ import annotations

from collections.abc import Sequence

import keras
import tensorflow as tf

from gans_keras import rng
from gans_keras.distribute import share_of_mean
from gans_keras.layers.fade import FadeIn
from gans_keras.losses import get_loss
from gans_keras.models.gradients import apply_gradients


class GAN(keras.Model):
    """Adversarial training of a generator against a discriminator (critic).

    Each `train_step` takes `n_critic` batches side by side, images (B, n_critic, H, W, C) and
    labels (B, n_critic) (`step_inputs` groups a dataset of batches so; batch-major, so that a
    tf.distribute strategy splitting the first axis gives each replica its rows of every batch): the discriminator is
    updated `n_critic` times, each on its own batch of B real images and B fresh fakes, then
    the generator once on B fresh fakes (Algorithm 1 of Gulrajani et al. 2017 for n_critic=5).

    Args:
        generator: z (B, latent_dim) -> images (B, H, W, C) in [-1, 1].
        discriminator: images -> raw scores (B, 1).
        latent_dim: size of z ~ N(0, I).
        loss: a name from `gans_keras.losses.LOSSES`.
        penalties: discriminator penalties (`gans_keras.losses.Penalty`, e.g.
            `[GradientPenalty(10)]`); Keras tracks them, so their state is checkpointed.
        n_critic: discriminator updates per generator update.
        augment: a layer applied to real and fake images before the discriminator
            (e.g. `DiffAugment`), or None.
        seed: seed of the latent and penalty random stream.
        ema_decay: when > 0, keep `ema_generator`, an exponential moving average of the
            generator's weights (with BatchNorm statistics of its own), used for sampling and export.
        instance_noise: std of Gaussian noise added to every image the discriminator sees,
            decaying linearly to 0 at step `instance_noise_steps` (Sønderby et al. 2017).
        num_classes: for class-conditional networks (both take `[inputs, labels]`): fakes in
            the discriminator step get the real batch's labels, the generator step draws
            labels uniformly.
        aux_classifier: the discriminator has a second output, class logits. With `num_classes`
            (AC-GAN, Odena et al. 2017) their cross-entropy on real and fake images is added to
            D's loss and on fake images to G's. Without (an unconditional model: the semi-supervised
            discriminator of Salimans et al. 2016, whose score is the logits' LogSumExp) D adds
            the cross-entropy of the real images' labels; G's loss is unchanged.
        replay_buffer: when > 0, keep that many past fakes; half of each discriminator fake
            batch is drawn from them once enough are stored (Shrivastava et al. 2017).
            Penalties see the real batch's labels. Under a strategy each replica keeps its own.
        clip_grad_norm: clip each network's global gradient norm to this (None: no clipping).
        reg_every: compute the lazy penalties (R1, R2) on every `reg_every`-th discriminator
            update only, weighted by `reg_every` (lazy regularisation, Karras et al. 2020,
            StyleGAN2 section 3.1); the logged value is that of the last update that computed it.
        fade_steps: for grown networks (`gans_keras.layers.FadeIn` layers): their alpha is
            step / fade_steps after each step, so it reaches 1 at step `fade_steps`.
    """

    def __init__(
        self,
        generator: keras.Model,
        discriminator: keras.Model,
        latent_dim: int,
        loss: str = "bce",
        penalties: Sequence = (),
        n_critic: int = 1,
        augment: keras.layers.Layer | None = None,
        seed: int | None = None,
        ema_decay: float = 0.0,
        instance_noise: float = 0.0,
        instance_noise_steps: int = 1,
        num_classes: int | None = None,
        aux_classifier: bool = False,
        replay_buffer: int = 0,
        clip_grad_norm: float | None = None,
        fade_steps: int | None = None,
        reg_every: int = 1,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if n_critic < 1:
            raise ValueError(f"n_critic must be >= 1, got {n_critic}")
        if reg_every < 1:
            raise ValueError(f"reg_every must be >= 1, got {reg_every}")
        if not 0.0 <= ema_decay < 1.0:
            raise ValueError(f"ema_decay must be in [0, 1), got {ema_decay}")
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = latent_dim
        self.gan_loss = get_loss(loss)
        self.penalties = list(penalties)
        self.reg_every = reg_every
        # The lazy penalties' last computed values, logged between the updates that compute them.
        self.last_penalty_values = {
            penalty.name: self.add_weight(shape=(), initializer="zeros", trainable=False, aggregation="mean",
                                          name=f"last_{penalty.name}")
            for penalty in self.penalties if penalty.lazy and reg_every > 1
        }
        self.n_critic = n_critic
        self.augment = augment
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.ema_decay = ema_decay
        self.instance_noise = instance_noise
        self.instance_noise_steps = instance_noise_steps
        self.num_classes = num_classes
        self.aux_classifier = aux_classifier
        self.clip_grad_norm = clip_grad_norm
        self.replay_size = replay_buffer
        if replay_buffer:
            self.replay_images = self.add_weight(
                shape=(replay_buffer, *generator.output_shape[1:]), initializer="zeros", trainable=False,
                name="replay_images",
            )
            self.replay_labels = self.add_weight(
                shape=(replay_buffer,), dtype="int32", initializer="zeros", trainable=False, name="replay_labels"
            )
            self.replay_count = self.add_weight(
                shape=(), dtype="int32", initializer="zeros", trainable=False, name="replay_count"
            )
        self.ema_generator = None
        if ema_decay:
            self.ema_generator = keras.models.clone_model(generator)
            self.ema_generator.set_weights(generator.get_weights())
        networks = [net for net in (generator, discriminator, self.ema_generator) if net is not None]
        self.fade_layers = [layer for net in networks for layer in net.layers if isinstance(layer, FadeIn)]
        if self.fade_layers and not fade_steps:
            raise ValueError("grown networks (with FadeIn layers) need fade_steps >= 1")
        self.fade_steps = fade_steps
        # Both networks are built functional models, so the GAN needs no build from data.
        self.built = True

    def compile(self, d_optimizer, g_optimizer, **kwargs):
        super().compile(**kwargs)
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        d_optimizer.build(self.discriminator.trainable_variables)
        g_optimizer.build(self.generator.trainable_variables)

    @property
    def optimizers(self) -> dict:
        return {"d_optimizer": self.d_optimizer, "g_optimizer": self.g_optimizer}

    @property
    def step(self):
        """Generator updates so far (the unit of --steps)."""
        return self.g_optimizer.iterations

    @property
    def latent_shape(self) -> tuple[int, ...]:
        return (self.latent_dim,)

    @property
    def sampling_generator(self) -> keras.Model:
        """The generator that samples and exports use: the EMA copy when there is one."""
        return self.ema_generator if self.ema_generator is not None else self.generator

    def _update_ema(self, batch_size, labels):
        decay = self.ema_decay
        pairs = zip(self.ema_generator.trainable_variables, self.generator.trainable_variables, strict=True)
        for average, weight in pairs:
            average.assign(decay * average + (1.0 - decay) * weight)
        if self.ema_generator.non_trainable_variables:
            # BatchNorm statistics must be those of the averaged weights: the live generator's
            # describe other activations. A training-mode pass updates the copy's own.
            z = self.sample_latents(batch_size)
            self.ema_generator(z if labels is None else [z, labels], training=True)

    def call(self, inputs, training=False):
        return self.generator(inputs, training=training)

    def sample_latents(self, batch_size):
        return rng.normal((batch_size, self.latent_dim), self.seed_generator)

    def sample_labels(self, batch_size):
        return rng.randint((batch_size,), 0, self.num_classes, self.seed_generator)

    def generate(self, batch_size, labels=None, training=True):
        z = self.sample_latents(batch_size)
        # float32 whatever the networks compute in: losses, penalties and the replay buffer are float32.
        return tf.cast(self.generator(z if self.num_classes is None else [z, labels], training=training), tf.float32)

    def instance_noise_std(self):
        progress = tf.cast(self.step, tf.float32) / float(self.instance_noise_steps)
        return self.instance_noise * tf.maximum(0.0, 1.0 - progress)

    def discriminator_outputs(self, images, labels=None, training=True):
        """(scores (B, 1), class logits (B, classes) or None) of noised, augmented images."""
        if self.instance_noise:
            noise = rng.normal(tf.shape(images), self.seed_generator, dtype=images.dtype)
            images = images + self.instance_noise_std() * noise
        if self.augment is not None:
            images = self.augment(images)
        outputs = self.discriminator(images if self.num_classes is None else [images, labels], training=training)
        if self.aux_classifier:
            return tf.cast(outputs[0], tf.float32), tf.cast(outputs[1], tf.float32)
        return tf.cast(outputs, tf.float32), None

    def discriminate(self, images, labels=None, training=True):
        return self.discriminator_outputs(images, labels, training)[0]

    def _replay(self, fake, labels):
        """Half fresh fakes, half stored ones (once enough are stored); stores the fresh ones."""
        batch = tf.shape(fake)[0]
        stored = tf.minimum(self.replay_count, self.replay_size)
        n_old = batch // 2
        draws = rng.uniform((n_old,), self.seed_generator) * tf.cast(tf.maximum(stored, 1), "float32")
        picked = tf.cast(draws, "int32")
        ready = stored >= n_old
        mixed = tf.where(ready, tf.concat([fake[n_old:], tf.gather(self.replay_images, picked)], 0), fake)
        positions = ((self.replay_count + tf.range(batch)) % self.replay_size)[:, None]
        self.replay_images.assign(tf.tensor_scatter_nd_update(self.replay_images, positions, fake))
        self.replay_count.assign_add(batch)
        if labels is None:
            return mixed, None
        mixed_labels = tf.where(ready, tf.concat([labels[n_old:], tf.gather(self.replay_labels, picked)], 0), labels)
        self.replay_labels.assign(tf.tensor_scatter_nd_update(self.replay_labels, positions, labels))
        return mixed, mixed_labels

    @staticmethod
    def _class_loss(labels, logits):
        return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits))

    def _discriminator_step(self, real, labels):
        fake, fake_labels = self.generate(tf.shape(real)[0], labels), labels
        if self.replay_size:
            fake, fake_labels = self._replay(fake, labels)

        def discriminate(images):  # what the penalties differentiate: D at the real labels
            return self.discriminate(images, labels)

        with tf.GradientTape() as tape:
            real_out, real_logits = self.discriminator_outputs(real, labels)
            fake_out, fake_logits = self.discriminator_outputs(fake, fake_labels)
            d_loss = self.gan_loss.d_loss(real_out, fake_out)
            aux_values = {}
            if self.aux_classifier:
                aux = self._class_loss(labels, real_logits)
                if self.num_classes is not None:  # AC-GAN: fakes are classified as their labels too
                    aux = aux + self._class_loss(fake_labels, fake_logits)
                d_loss = d_loss + aux
                correct = tf.equal(tf.argmax(real_logits, -1, output_type=tf.int32), labels)
                aux_values = {"d_aux": aux, "d_class_acc_real": tf.reduce_mean(tf.cast(correct, tf.float32))}
            penalty_values = {}
            for penalty in self.penalties:
                term, penalty_values[penalty.name] = self._penalty(penalty, discriminate, real, fake)
                d_loss = d_loss + term
            scaled_loss = self.d_optimizer.scale_loss(share_of_mean(d_loss))  # loss scaling under mixed_float16
        variables = self.discriminator.trainable_variables
        grad_norm = apply_gradients(self.d_optimizer, tape.gradient(scaled_loss, variables), variables,
                                    self.clip_grad_norm)
        threshold = self.gan_loss.decision_threshold
        return {
            "d_loss": d_loss,
            **penalty_values,
            **aux_values,
            "d_real": tf.reduce_mean(real_out),
            "d_fake": tf.reduce_mean(fake_out),
            "d_acc_real": tf.reduce_mean(tf.cast(real_out > threshold, tf.float32)),
            "d_acc_fake": tf.reduce_mean(tf.cast(fake_out <= threshold, tf.float32)),
            "d_grad_norm": grad_norm,
        }

    def _penalty(self, penalty, discriminate, real, fake):
        """(its term in D's loss, its logged value). A lazy penalty is computed on every
        reg_every-th D update, weighted by reg_every so that its expected gradient is unchanged,
        and adds nothing in between; its logged value is the last one computed."""
        if penalty.name not in self.last_penalty_values:
            value = penalty(discriminate, real, fake, self.seed_generator)
            return penalty.weight * value, value
        last = self.last_penalty_values[penalty.name]
        due = tf.equal(self.d_optimizer.iterations % self.reg_every, 0)
        value = tf.cond(due, lambda: penalty(discriminate, real, fake, self.seed_generator),
                        lambda: tf.convert_to_tensor(last))
        # Outside the conditional: under a strategy the update synchronises the replicas.
        last.assign(value)
        return penalty.weight * self.reg_every * tf.cast(due, tf.float32) * value, value

    def _generator_step(self, real, real_labels):
        """One G update. A loss that compares with real outputs (rpgan) sees D on `real`, and its
        fakes take the real images' labels, so each pair is of one class; the others draw labels."""
        batch_size = tf.shape(real)[0]
        pairs_real = self.gan_loss.g_uses_real
        labels = None
        if self.num_classes is not None:
            labels = real_labels if pairs_real else self.sample_labels(batch_size)
        with tf.GradientTape() as tape:
            fake = self.generate(batch_size, labels)
            fake_out, fake_logits = self.discriminator_outputs(fake, labels)
            real_out = self.discriminate(real, real_labels) if pairs_real else None
            g_loss = self.gan_loss.g_loss(real_out, fake_out)
            aux_values = {}
            if self.aux_classifier and self.num_classes is not None:
                aux = self._class_loss(labels, fake_logits)
                g_loss = g_loss + aux
                aux_values = {"g_aux": aux}
            scaled_loss = self.g_optimizer.scale_loss(share_of_mean(g_loss))
        variables = self.generator.trainable_variables
        grad_norm = apply_gradients(self.g_optimizer, tape.gradient(scaled_loss, variables), variables,
                                    self.clip_grad_norm)
        if self.ema_generator is not None:
            self._update_ema(batch_size, labels)
        return {"g_loss": g_loss, **aux_values, "g_grad_norm": grad_norm}

    @property
    def batches_per_step(self) -> int:
        return self.n_critic

    def step_inputs(self, batches: tf.data.Dataset) -> tf.data.Dataset:
        """A dataset of batches -> one element per step: `n_critic` batches side by side (B, n_critic, ...)."""

        def side_by_side(*parts):
            swapped = tuple(tf.experimental.numpy.swapaxes(part, 0, 1) for part in parts)
            return swapped if len(swapped) > 1 else swapped[0]

        return batches.batch(self.n_critic, drop_remainder=True).map(side_by_side)

    def train_step(self, data):
        real, labels = data if isinstance(data, (tuple, list)) else (data, None)
        if (self.num_classes is not None or self.aux_classifier) and labels is None:
            raise ValueError("a conditional GAN or one with aux_classifier needs (images, labels) batches")
        real = tf.convert_to_tensor(real)
        if real.shape.rank != 5 or real.shape[1] != self.n_critic:
            raise ValueError(f"a GAN step takes n_critic={self.n_critic} batches side by side, images "
                             f"(B, n_critic, H, W, C) (GAN.step_inputs groups a dataset so); got {real.shape}")
        labels = None if labels is None else tf.convert_to_tensor(labels)
        for i in range(self.n_critic):
            batch_labels = None if labels is None else labels[:, i]
            d_logs = self._discriminator_step(real[:, i], batch_labels)
        # Logged discriminator values are those of its last update in this step, whose real
        # batch the generator step reuses.
        logs = {**d_logs, **self._generator_step(real[:, i], batch_labels)}
        if self.fade_layers:
            alpha = tf.minimum(1.0, tf.cast(self.step, tf.float32) / float(self.fade_steps))
            for layer in self.fade_layers:
                layer.alpha.assign(alpha)
            logs["fade_alpha"] = alpha
        return logs
