"""model.quantisation against sPyNNaker 1!7.4.1's own representation of weights.

Two sources of expected values, neither of them our function:

- tables written down from sPyNNaker's code (``spynnaker/pyNN/models/neuron/
  population_vertex.py`` ``get_ring_buffer_shifts`` and ``__get_weight_scale``,
  ``synapse_dynamics/synapse_dynamics_static.py`` ``get_static_synaptic_data``), whose
  integers were produced by calling those functions on a virtual board;
- sPyNNaker itself, run on a virtual board in a separate process
  (:func:`test_matches_spynnaker_on_a_virtual_board`): its chosen shifts, the integers its
  static-synapse encoder writes, and the weights ``Projection.get`` reads back.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from snn_rl.model import quantisation as q
from snn_rl.model.params import Params
from spinnaker_support import isolated_env, virtual_cfg

# expected maximum input M (nA) -> shift: p = ceil(max(0, log2 M)), +1 if 2**p <= M, 0 for M <= 0
SHIFT_TABLE = [
    (0.0, 0), (0.5, 0), (1.0, 1), (1.5, 1), (2.0, 2), (4.0, 3), (32.0, 6), (40.0, 6),
    (45.0, 6), (250.0, 8), (260.0, 9), (1000.0, 10),
]

# weight (nA) -> 16-bit integer, from SynapseDynamicsStatic.get_static_synaptic_data on a
# virtual Spin5 board (15 -> 4 net, max weight 3 nA: shift 6; max_expected_summed_weight 4: shift 3)
INTEGER_TABLE = [
    # w_nA, int at shift 6, int at shift 3
    (0.0001, 0, 0),
    (0.001, 1, 4),
    (0.01, 5, 41),
    (0.1, 51, 410),
    (1.0, 512, 4096),
    (2.5, 1280, 10240),
    (3.0, 1536, 12288),
]


@pytest.mark.parametrize("max_input, shift", SHIFT_TABLE)
def test_ring_buffer_shift_table(max_input, shift):
    assert q.ring_buffer_shift(max_input) == shift


def test_weight_scale_is_two_to_the_fifteen_minus_shift():
    # __get_weight_scale: 2 ** (16 - (shift + 1)); current-based input has global scale 1
    assert [q.weight_scale(s) for s in (0, 3, 6, 9)] == [32768.0, 4096.0, 512.0, 64.0]


@pytest.mark.parametrize("w, int6, int3", INTEGER_TABLE)
def test_stored_integer_table(w, int6, int3):
    assert int(q.stored_integers(np.array([w]), 6)[0]) == int6
    assert int(q.stored_integers(np.array([w]), 3)[0]) == int3
    assert q.quantise(np.array([w]), 6)[0] == int6 / 512.0
    assert q.quantise(np.array([w]), 3)[0] == int3 / 4096.0


def test_rounding_is_half_to_even_and_the_word_is_masked_to_16_bits():
    lsb = 1.0 / 512.0  # shift 6
    assert q.stored_integers(np.array([0.5, 1.5, 2.5]) * lsb, 6).tolist() == [0, 2, 2]
    # (rint(w * scale) & 0xFFFF): 65536 units wrap to 0, as in get_static_synaptic_data
    assert q.stored_integers(np.array([65536 * lsb, 65537 * lsb]), 6).tolist() == [0, 1]


def test_sign_comes_from_the_receptor_not_the_word():
    assert q.stored_integers(np.array([-10.0]), 6)[0] == q.stored_integers(np.array([10.0]), 6)[0]
    assert q.quantise(np.array([-10.0]), 6)[0] == -10.0


def test_network_quantisation_of_the_4_and_26_output_nets():
    rng = np.random.default_rng(3)
    for n_out, inh_shift in ((4, 6), (26, 9)):  # inhibitory M = 10 nA x n_out: 40 and 260
        w = rng.uniform(0.0, 3.0, size=(15, n_out))
        w[0, 0] = 0.0009  # under half an LSB (0.00098 nA) at shift 6
        nq = q.quantise_network(w, 10.0)
        assert nq.excitatory_shift == q.ring_buffer_shift(15 * w.max()) == 6
        assert nq.inhibitory_shift == inh_shift
        assert nq.inhibition_nA == 10.0
        assert np.abs(nq.weights_nA - w).max() <= 0.5 / 512
        assert nq.rounded_to_zero.sum() == 1 and nq.rounded_to_zero[0, 0]
        summary = nq.summary(w, [chr(65 + j) for j in range(n_out)])
        assert summary["rounded_to_zero"] == [{"input": 0, "output": 0, "label": "A"}]


def test_negative_plastic_weights_are_refused():
    with pytest.raises(ValueError, match="w_min_nA"):
        q.quantise_network(np.array([[0.5, -0.1]]), 10.0)


def test_spinnaker_params_fix_the_time_grid():
    p = Params().replace(network={"timestep_ms": 0.1, "delay_ms": 1.4, "inhibition_delay_ms": 2.6})
    sp = q.spinnaker_params(p)
    assert (sp.network.timestep_ms, sp.network.delay_ms, sp.network.inhibition_delay_ms) == (1.0, 1.0, 3.0)
    with pytest.raises(ValueError, match="rounds to 0.0 ms"):
        q.spinnaker_params(p.replace(network={"delay_ms": 0.4}))
    with pytest.raises(ValueError, match="w_min_nA"):
        q.spinnaker_params(p.replace(plasticity={"w_min_nA": -0.5}))


SPYNNAKER_PROBE = textwrap.dedent("""
    import json, sys
    import numpy as np
    import pyNN.spiNNaker as sim
    from spynnaker.pyNN.models.neural_projections.connectors.abstract_connector import AbstractConnector

    n_out, probe = int(sys.argv[1]), [float(x) for x in sys.argv[2].split(",")]
    w = np.random.default_rng(7).uniform(0.0, 2.0, size=(15, n_out))
    w[:len(probe), 0] = probe
    sim.setup(timestep=1.0)
    inp = sim.Population(15, sim.IF_curr_exp(), label="input")
    out = sim.Population(n_out, sim.IF_curr_exp(), label="output")
    exc = sim.Projection(inp, out, sim.FromListConnector(
        [(i, j, float(w[i, j]), 1.0) for i in range(15) for j in range(n_out)]), sim.StaticSynapse(),
        receptor_type="excitatory")
    sim.Projection(out, out, sim.AllToAllConnector(allow_self_connections=False),
                   sim.StaticSynapse(weight=-10.0, delay=1.0), receptor_type="inhibitory")
    sim.run(1.0)
    shifts = [int(s) for s in out._vertex.get_ring_buffer_shifts()]
    scale = float(out._vertex.get_weight_scales(shifts)[0])
    info = exc._synapse_information
    c = np.zeros(len(probe), dtype=AbstractConnector.NUMPY_SYNAPSES_DTYPE)
    c["source"] = np.arange(len(probe)); c["weight"] = np.abs(probe) * scale; c["delay"] = 1
    rows, _ = info.synapse_dynamics.get_static_synaptic_data(c, c["source"], len(probe), 2, 1, 256)
    ints = (np.concatenate(rows) >> 16).tolist()
    got = np.asarray(exc.get("weight", format="array"), dtype=float)
    sim.end()
    print(json.dumps({"weights": w.tolist(), "shifts": shifts, "scale": scale, "ints": ints, "read_back": got.tolist()}))
""")


@pytest.mark.parametrize("n_out", [4, 26])
def test_matches_spynnaker_on_a_virtual_board(n_out, tmp_path):
    env = isolated_env(tmp_path, virtual_cfg(tmp_path))
    probe = [0.0001, 0.0009, 0.001, 0.01, 0.1, 0.3337, 1.0, 1.9999]
    proc = subprocess.run([sys.executable, "-c", SPYNNAKER_PROBE, str(n_out), ",".join(map(str, probe))],
                          capture_output=True, text=True, cwd=tmp_path, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ref = json.loads(proc.stdout.strip().splitlines()[-1])
    w = np.array(ref["weights"])
    nq = q.quantise_network(w, 10.0)
    assert [nq.excitatory_shift, nq.inhibitory_shift] == ref["shifts"]
    assert q.weight_scale(nq.excitatory_shift) == ref["scale"]
    assert q.stored_integers(np.array(probe), nq.excitatory_shift).tolist() == ref["ints"]
    np.testing.assert_array_equal(nq.weights_nA, np.array(ref["read_back"]))
