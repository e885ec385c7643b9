"""Golden runs: trained weights stay bit for bit what they were when they were recorded.

``tests/golden/weights.npz`` holds the weights and input gains of seven training runs made
before the project's redesign into one package (commit d49f077): A-D with the seed's rule
(the named parameter set ``seed``), seeds 1-3 on NEST and on NEURON, and the alphabet with
the ``reward`` set, seed 1, on NEST. Every run here goes through the real command line, so
the whole path (parameters, data set, rule, training loop, backend fast paths, storage) is
covered. A change that alters a learning rule on purpose re-records the file in its own
commit and says why.

Bit for bit holds on the kind of machine that recorded the file. On another CPU the C
library picks other variants of ``exp`` and ``log`` (with or without FMA), which may round
the last bit of a result differently; the alphabet run then differs by about 1e-15 nA
(measured on an AMD EPYC with AVX-512). So weights must equal the golden ones to within
:data:`ULP_TOLERANCE_NA`: a billion times finer than any change of behaviour (one spike more or
less moves a weight by about 1e-3 nA), and the gains, which no arithmetic touches, exactly.
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
#: how far a weight may lie from the golden run's (nA): the last bits of double arithmetic
ULP_TOLERANCE_NA = 1e-12


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
        assert np.abs(trained.weights - golden[key]).max() <= ULP_TOLERANCE_NA, (
            f"{key}: weights differ from the golden run (largest difference "
            f"{np.abs(trained.weights - golden[key]).max():.3g} nA)")
