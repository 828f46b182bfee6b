"""One training process for tests/distributed: `python -m tests.distributed.train_worker OUT JSON`
trains the tiny config JSON (its `cpu_replicas` split the CPU first) into OUT and prints the
summary, which a worker other than the chief returns without writing OUT."""

import json
import sys

from gans_keras.config import make_config
from gans_keras.training import train

if __name__ == "__main__":
    out, overrides = sys.argv[1], json.loads(sys.argv[2])
    resume = overrides.pop("resume", False)
    summary = train(make_config(overrides), out, resume=resume, verbose=False)
    print("SUMMARY " + json.dumps(summary))
