"""The default rule learns a user's own character set and keeps its answers on every target.

A user's file the project has never seen (eight 5 x 3 shapes, neither letters nor A-D) is
trained on NEST with the defaults (no ``--params``) through the command line, then tested on
NEURON and on SpiNNaker's arithmetic (``spinnaker-emulated``: 1 ms step, delays on the 1 ms
grid, 16-bit weights): every shape must be answered right, with the decision margin the
training criterion asked for. The defaults must also be deployable by construction.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from conftest import run_cli
from snn_rl.model import quantisation as q
from snn_rl.model.params import Params, load_params

SHAPES = """\
# eight shapes of 5 x 3 pixels: a user's own data set
plus      000/010/111/010/000
box       111/101/101/101/111
bar       010/010/010/010/010
stripes   111/000/111/000/111
check     101/010/101/010/101
corner    100/100/100/100/111
diagonal  100/100/010/001/001
arrow     010/111/010/010/010
"""


def test_the_defaults_fit_spinnaker_by_construction():
    p = Params()
    n = p.network
    for name in ("delay_ms", "inhibition_delay_ms"):
        delay = getattr(n, name)
        assert delay >= q.SPINNAKER_TIMESTEP_MS and math.isclose(delay % q.SPINNAKER_TIMESTEP_MS, 0.0), name
    # SpiNNaker's parameters change the time step only: the delays are already on its grid
    constrained = q.spinnaker_params(p).network
    assert (constrained.delay_ms, constrained.inhibition_delay_ms) == (n.delay_ms, n.inhibition_delay_ms)
    # the largest weight the rule can write, in a column of the largest sum, survives 16 bits
    w = np.full((30, 1), p.plasticity.weight_sum_nA / 30)
    w[0, 0] = p.plasticity.w_max_nA
    shift = q.ring_buffer_shift(q.expected_max_input([(p.plasticity.w_max_nA, 30)]))
    assert np.abs(q.quantise(w, shift) - w).max() <= 0.5 / q.weight_scale(shift)
    assert p.training.min_margin >= 2
    # the seed's rule stays available by name, with its own values
    seed = load_params("seed")
    assert seed.network.input_encoding == "ones" and seed.plasticity.weight_sum_nA == 0.0
    assert seed.training.min_margin == 1


@pytest.mark.simulator
@pytest.mark.parametrize("seed", [1, 2])
def test_a_users_own_character_set_learns_with_the_defaults_and_answers_the_same_everywhere(seed, tmp_path):
    data = tmp_path / "shapes.txt"
    data.write_text(SHAPES)
    run_cli("train", "--backend", "nest", "--dataset", str(data), "--seed", str(seed), "--out", str(tmp_path / "run"),
            "--quiet")
    train = json.loads((tmp_path / "run" / "train.json").read_text())
    assert train["epochs_to_criterion"] is not None, "the defaults did not meet the criterion"
    assert train["params"] == Params().to_dict()
    for backend in ("nest", "neuron", "spinnaker-emulated"):
        out = tmp_path / backend
        run_cli("test", "--backend", backend, "--weights", str(tmp_path / "run"), "--dataset", str(data),
                "--out", str(out))
        result = json.loads((out / "test.json").read_text())
        assert result["accuracy"] == 1.0, (backend, result["per_class_accuracy"])
        assert result["margin_min"] >= 1, (backend, result["margin_histogram"])
