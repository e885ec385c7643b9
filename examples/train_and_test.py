"""Train, test and save from Python: the API the command line and the pipeline use.

    python examples/train_and_test.py [OUT]        # default OUT: runs/example

Trains A-D on NEST with the default parameters, tests the trained network on NEURON and on
SpiNNaker's arithmetic (emulated on NEST), then trains the same network on a data set made
in Python. Every call writes its usual files (train.json, weights.npz, test.json, figures)
under OUT and returns a record; docs/api.md describes them.
"""

import sys
from pathlib import Path

import numpy as np

import snn_rl

out = Path(sys.argv[1] if len(sys.argv) > 1 else "runs/example")

# 1. train on NEST: the parameters are a typed record (snn_rl.Params), here the defaults
run = snn_rl.train(snn_rl.Params(), "abcd", "nest", out / "abcd-nest", seed=1, progress=False)
print(run.describe())
print("trained weights (nA):", run.trained.weights.shape, "criterion met:", run.summary["criterion_met"])

# 2. the same weights on another simulator and on SpiNNaker's arithmetic
for backend in ("neuron", "spinnaker-emulated"):
    result = snn_rl.test(run.out, "abcd", backend, out / f"abcd-nest-on-{backend}")
    print(result.describe())

# 3. a data set of your own, made in Python: three 3 x 3 characters
images = np.array([[[1, 0, 1], [0, 1, 0], [1, 0, 1]],   # X
                   [[0, 1, 0], [1, 1, 1], [0, 1, 0]],   # +
                   [[1, 1, 1], [1, 0, 1], [1, 1, 1]]])  # O
mine = snn_rl.Dataset(name="xo", labels=("X", "+", "O"), images=images)
params = snn_rl.load_params("reward").replace(training={"max_epochs": 100})  # a named parameter set
run = snn_rl.train(params, mine, "nest", out / "xo-nest", seed=1, progress=False)
print(run.describe())
print(snn_rl.test(run.out, mine, "neuron", out / "xo-nest-on-neuron").describe())
