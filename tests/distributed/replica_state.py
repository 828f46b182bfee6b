"""`python -m tests.distributed.replica_state CASE PRECISION`: trains tests/models/test_xla.py's
CASE (every option of its model) for 3 steps on 2 mirrored CPU replicas in PRECISION and prints
which model variables differ between the replicas and whether the logs are finite."""

import json
import math
import sys

import numpy as np

from gans_keras.distribute import make_strategy

if __name__ == "__main__":
    strategy = make_strategy("mirrored", cpu_replicas=2)  # before TensorFlow starts

    from gans_keras.config import make_config
    from gans_keras.data import load_dataset
    from gans_keras.models.registry import get_model
    from tests.models.test_xla import CASES

    case, precision = sys.argv[1], sys.argv[2]
    config = make_config(CASES[case], {"precision": precision, "strategy": "mirrored", "cpu_replicas": 2, "seed": 3})
    with strategy.scope():
        model = get_model(config, 16, 1)
    batches = load_dataset("fashion_mnist", batch_size=config.batch_size, image_size=16, seed=3)
    history = model.fit(model.step_inputs(batches), epochs=1, steps_per_epoch=3, verbose=0).history
    differing = []
    for variable in model.variables:
        copies = [np.asarray(value) for value in strategy.experimental_local_results(variable.value)]
        if any(not np.array_equal(copies[0], copy) for copy in copies[1:]):
            differing.append(variable.path)
    finite = all(math.isfinite(values[-1]) for values in history.values())
    print("RESULT " + json.dumps({"differing": differing, "finite": finite, "logs": sorted(history)}))
