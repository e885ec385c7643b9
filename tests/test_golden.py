"""Golden runs: trained weights stay bit for bit what they were when they were recorded.

``tests/golden/weights.npz`` holds the weights and input gains of seven training runs made
before the project's redesign into one package (commit d49f077): A-D with the seed's rule
(the named parameter set ``seed``), seeds 1-3 on NEST and on NEURON, and the alphabet with
the ``reward`` set, seed 1, on NEST. Every run here goes through the real command line, so
the whole path (parameters, data set, rule, training loop, backend fast paths, storage) is
covered. A change that alters a learning rule on purpose re-records the file in its own
commit and says why.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import run_cli
from snn_rl.experiments.storage import load_weights

GOLDEN = Path(__file__).resolve().parent / "golden" / "weights.npz"
RUNS = [("abcd", "seed", backend, seed) for backend in ("nest", "neuron") for seed in (1, 2, 3)]
RUNS.append(("alphabet", "reward", "nest", 1))


@pytest.mark.simulator
@pytest.mark.parametrize("dataset,params,backend,seed", RUNS, ids=lambda v: str(v))
def test_trained_weights_equal_the_golden_run(dataset, params, backend, seed, tmp_path):
    run_cli("train", "--backend", backend, "--dataset", dataset, "--params", params, "--seed", str(seed),
            "--out", str(tmp_path / "run"), "--quiet")
    trained = load_weights(tmp_path / "run")
    with np.load(GOLDEN) as golden:
        key = f"{dataset}-{backend}-seed{seed}"
        assert np.array_equal(trained.input_gains, golden[f"{key}/gains"])
        assert trained.weights.dtype == golden[key].dtype
        assert np.array_equal(trained.weights, golden[key]), (
            f"{key}: weights differ from the golden run (largest difference "
            f"{np.abs(trained.weights - golden[key]).max():.3g} nA)")
