"""The baseline of benchmarks/throughput.py: a GAN train step written the plain keras-io way.

It is what the keras-io DCGAN and WGAN-GP examples do, on this package's networks (the same
layers, widths and spectral norm as the preset's): `keras.random` latents, the losses written
out, one tape per network, no XLA, float32. Each step updates D `n_critic` times, each on its
own real batch as the package does, then G once, so both do the same work per image.
"""

from __future__ import annotations

import keras
import tensorflow as tf


class PlainGAN(keras.Model):
    def __init__(self, generator, discriminator, latent_dim: int, loss: str, gp: float, n_critic: int,
                 conditional: bool, seed: int = 0):
        super().__init__()
        self.generator, self.discriminator = generator, discriminator
        self.latent_dim, self.loss_name, self.gp, self.n_critic = latent_dim, loss, gp, n_critic
        self.conditional = conditional
        self.seed_generator = keras.random.SeedGenerator(seed)

    def compile(self, d_optimizer, g_optimizer):
        super().compile(jit_compile=False)
        self.d_optimizer, self.g_optimizer = d_optimizer, g_optimizer

    def _inputs(self, x, labels):
        return [x, labels] if self.conditional else x

    def _d_loss(self, real_out, fake_out):
        if self.loss_name == "hinge":
            return tf.reduce_mean(tf.nn.relu(1.0 - real_out)) + tf.reduce_mean(tf.nn.relu(1.0 + fake_out))
        if self.loss_name == "wasserstein":
            return tf.reduce_mean(fake_out) - tf.reduce_mean(real_out)
        return tf.reduce_mean(tf.nn.softplus(-real_out)) + tf.reduce_mean(tf.nn.softplus(fake_out))

    def _g_loss(self, fake_out):
        if self.loss_name in ("hinge", "wasserstein"):
            return -tf.reduce_mean(fake_out)
        return tf.reduce_mean(tf.nn.softplus(-fake_out))

    def _gradient_penalty(self, real, fake, labels):
        eps = keras.random.uniform((tf.shape(real)[0], 1, 1, 1), seed=self.seed_generator)
        mixed = eps * real + (1.0 - eps) * fake
        with tf.GradientTape() as tape:
            tape.watch(mixed)
            out = self.discriminator(self._inputs(mixed, labels), training=True)
        grads = tape.gradient(out, mixed)
        return tf.reduce_mean(tf.square(tf.sqrt(tf.reduce_sum(tf.square(grads), axis=[1, 2, 3])) - 1.0))

    def train_step(self, data):
        images, labels = data
        for i in range(self.n_critic):
            real, batch_labels = images[:, i], labels[:, i]
            z = keras.random.normal((tf.shape(real)[0], self.latent_dim), seed=self.seed_generator)
            with tf.GradientTape() as tape:
                fake = self.generator(self._inputs(z, batch_labels), training=True)
                d_loss = self._d_loss(self.discriminator(self._inputs(real, batch_labels), training=True),
                                      self.discriminator(self._inputs(fake, batch_labels), training=True))
                if self.gp:
                    d_loss += self.gp * self._gradient_penalty(real, fake, batch_labels)
            grads = tape.gradient(d_loss, self.discriminator.trainable_variables)
            self.d_optimizer.apply_gradients(zip(grads, self.discriminator.trainable_variables, strict=True))
        z = keras.random.normal((tf.shape(real)[0], self.latent_dim), seed=self.seed_generator)
        with tf.GradientTape() as tape:
            fake = self.generator(self._inputs(z, batch_labels), training=True)
            g_loss = self._g_loss(self.discriminator(self._inputs(fake, batch_labels), training=True))
        grads = tape.gradient(g_loss, self.generator.trainable_variables)
        self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_variables, strict=True))
        return {"d_loss": d_loss, "g_loss": g_loss}


def plain_gan(networks_from, config) -> PlainGAN:
    """The baseline on the networks of `networks_from` (a freshly built package GAN), with the
    config's loss, gradient penalty, n_critic and Adam."""
    model = PlainGAN(networks_from.generator, networks_from.discriminator, config.latent_dim, config.loss, config.gp,
                     config.n_critic, conditional=networks_from.num_classes is not None, seed=config.seed)
    model.compile(keras.optimizers.Adam(config.lr_d, config.beta_1, config.beta_2),
                  keras.optimizers.Adam(config.lr_g, config.beta_1, config.beta_2))
    return model
