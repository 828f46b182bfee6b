"""tf.distribute for training: the strategies `--strategy` names, logical CPU devices for trying
them on one machine, and what a train step needs to know of its replica.

A step under a strategy sees its replica's share of the global batch. The models divide their
loss by the number of replicas (the optimiser sums the replicas' gradients), draw their random
numbers for the global batch and keep their own rows (`gans_keras.rng`), and synchronise batch
statistics, so that R replicas compute what one device computes for the same global batch.
"""

from __future__ import annotations

import json
import os

import tensorflow as tf

from gans_keras.config import STRATEGIES

# Seconds a collective waits for a lost worker before failing (a live run's collectives take ms).
COLLECTIVE_TIMEOUT = 120.0


def split_cpu(replicas: int) -> None:
    """Makes the first CPU `replicas` logical devices (MirroredStrategy then has that many
    replicas on a machine without GPUs). Must come before TensorFlow sets up its devices."""
    (cpu, *_) = tf.config.list_physical_devices("CPU")
    wanted = [tf.config.LogicalDeviceConfiguration() for _ in range(replicas)]
    current = tf.config.get_logical_device_configuration(cpu)
    if current is not None and len(current) == replicas:
        return
    try:
        tf.config.set_logical_device_configuration(cpu, wanted)
    except RuntimeError as error:
        raise RuntimeError(
            f"cpu_replicas={replicas} must be set before TensorFlow starts (this process already has "
            f"{len(tf.config.list_logical_devices('CPU'))} CPU device(s)): train in a fresh process"
        ) from error


def make_strategy(name: str, cpu_replicas: int | None = None) -> tf.distribute.Strategy:
    """`none`: the default strategy (one device); `mirrored`: every local GPU, or with no GPU the
    CPU split into `cpu_replicas` logical devices; `multi_worker`: MultiWorkerMirroredStrategy
    across the machines (or processes) that the standard `TF_CONFIG` variable lists."""
    if name == "none":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        if cpu_replicas:
            split_cpu(cpu_replicas)
        if tf.config.list_physical_devices("GPU"):
            return tf.distribute.MirroredStrategy()
        devices = [device.name for device in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices)
    if name == "multi_worker":
        if "TF_CONFIG" not in os.environ:
            raise ValueError("--strategy multi_worker reads the cluster from the TF_CONFIG environment variable, "
                             "which is not set (see the README's Training section)")
        try:
            cluster = json.loads(os.environ["TF_CONFIG"])
            cluster["cluster"], cluster["task"]["type"], cluster["task"]["index"]
        except (ValueError, KeyError, TypeError) as error:
            raise ValueError(f"TF_CONFIG must be JSON with cluster, task.type and task.index: {error}") from error
        return tf.distribute.MultiWorkerMirroredStrategy(
            communication_options=tf.distribute.experimental.CommunicationOptions(timeout_seconds=COLLECTIVE_TIMEOUT)
        )
    raise ValueError(f"unknown strategy {name!r}: choose from {', '.join(STRATEGIES)}")


def is_multi_worker(strategy: tf.distribute.Strategy) -> bool:
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """Whether this process writes the run directory: always, except for the workers of a
    multi-worker cluster other than its chief (task "chief", or worker 0 when there is none)."""
    if not is_multi_worker(strategy):
        return True
    resolver = strategy.cluster_resolver
    if resolver.task_type == "chief":
        return True
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return resolver.task_type == "worker" and resolver.task_id == 0 and not has_chief


def replica() -> tuple[tf.Tensor | int, int]:
    """(this replica's index, the number of replicas) inside a train step; (0, 1) outside one."""
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return 0, 1
    return context.replica_id_in_sync_group, context.num_replicas_in_sync


def share_of_mean(loss: tf.Tensor) -> tf.Tensor:
    """This replica's part of the global batch's mean loss: its own mean over replicas, so that the
    optimiser's sum of the replicas' gradients is the gradient of the global mean."""
    return loss / replica()[1]


def sum_over_replicas(values):
    """The sum over replicas of each tensor of `values` (the values themselves with one replica)."""
    _, count = replica()
    if count == 1:
        return values
    return tf.distribute.get_replica_context().all_reduce(tf.distribute.ReduceOp.SUM, values)


def on_any_worker(strategy: tf.distribute.Strategy, flag: bool) -> bool:
    """Whether `flag` holds on any worker of a multi-worker strategy (`flag` itself otherwise), so
    that every worker stops at the same step. A collective: every worker must ask at the same point."""
    if not is_multi_worker(strategy):
        return flag
    flags = strategy.experimental_distribute_values_from_function(lambda context: tf.constant(int(flag)))
    # ReduceOp has SUM and MEAN only: any flag set makes the sum positive.
    return bool(strategy.reduce(tf.distribute.ReduceOp.SUM, flags, axis=None) > 0)
