"""Results in the ecosystem's formats: spike trains read with Neo and measured with Elephant,
and the trained connections loaded by PyNN itself with the same answers."""

from __future__ import annotations

import json

import numpy as np
import pytest
import quantities as pq
from elephant.spike_train_dissimilarity import van_rossum_distance
from elephant.statistics import mean_firing_rate
from neo.io import NixIO

from conftest import run_cli
from snn_rl import backends
from snn_rl.experiments.evaluation import evaluate
from snn_rl.experiments.lockstep import load_recording
from snn_rl.experiments.runs import load_run
from snn_rl.model.network import CharacterNetwork


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A-D trained on NEST to criterion, tested on NEST and NEURON, and a 12-window lockstep
    replay on both."""
    root = tmp_path_factory.mktemp("exchange")
    run_cli("train", "--backend", "nest", "--dataset", "abcd", "--out", str(root / "run"), "--quiet")
    for backend in ("nest", "neuron"):
        run_cli("test", "--backend", backend, "--weights", str(root / "run"), "--out", str(root / f"test-{backend}"))
    run_cli("lockstep", "protocol", "--weights", str(root / "run"), "--windows", "12", "--out", str(root / "protocol.npz"))
    for backend in ("nest", "neuron"):
        run_cli("lockstep", "run", "--backend", backend, "--protocol", str(root / "protocol.npz"),
                "--out", str(root / f"{backend}.npz"))
    return root


def _read(path):
    io = NixIO(str(path), mode="ro")
    try:
        return io.read_block()
    finally:
        io.close()


@pytest.mark.simulator
@pytest.mark.parametrize("backend", ["nest", "neuron"])
def test_a_tests_spikes_read_with_neo_and_measured_with_elephant(run, backend):
    result = json.loads((run / f"test-{backend}" / "test.json").read_text())
    block = _read(run / f"test-{backend}" / "spikes.nix")
    assert block.annotations["backend"] == backend
    assert block.annotations["dataset_sha256"] == result["dataset_sha256"]
    assert len(block.segments) == len(result["output_spike_counts"])
    for seg, counts, target in zip(block.segments, result["output_spike_counts"], result["targets"]):
        assert [len(st) for st in seg.spiketrains] == counts
        assert seg.annotations["target"] == target and seg.annotations["character"] == "ABCD"[target]
        # Elephant on the trains as Neo gives them: the rate is the count over the presentation
        winner = seg.spiketrains[target]
        rate = mean_firing_rate(winner).rescale(pq.Hz)
        presentation_s = (block.annotations["window_ms"] + block.annotations["rest_ms"]) / 1000
        assert float(rate) == pytest.approx(counts[target] / presentation_s)
        assert np.all((winner.magnitude >= 0) & (winner.magnitude < block.annotations["window_ms"] + block.annotations["rest_ms"]))


@pytest.mark.simulator
def test_lockstep_recordings_read_with_neo_and_compared_with_elephant(run):
    blocks = {b: _read(run / f"{b}.nix") for b in ("nest", "neuron")}
    for backend, block in blocks.items():
        recording = load_recording(run / f"{backend}.npz")
        assert block.annotations["protocol_digest"] == recording.protocol_digest
        assert len(block.segments) == recording.n_windows == 12
        for seg, window in zip(block.segments, recording.spikes):
            assert len(seg.spiketrains) == len(window)
            for st, times in zip(seg.spiketrains, window):
                np.testing.assert_array_equal(st.rescale(pq.ms).magnitude, times)
    # NEST against NEURON, output by output, with Elephant's van Rossum distance
    n_in = blocks["nest"].annotations["n_inputs"]
    distances = [van_rossum_distance([a, b], time_constant=10 * pq.ms)[0, 1]
                 for sa, sb in zip(blocks["nest"].segments, blocks["neuron"].segments)
                 for a, b in zip(sa.spiketrains[n_in:], sb.spiketrains[n_in:])]
    assert np.all(np.isfinite(distances)) and np.median(distances) < 1.0


@pytest.mark.simulator
@pytest.mark.parametrize("backend", ["nest", "neuron"])
def test_pynn_loads_the_trained_connections_and_answers_the_same(run, backend):
    trained, dataset, params = load_run(run / "run")
    adapter = backends.get(backend).require()
    sim = adapter.setup(params.network.timestep_ms).sim
    cells = sim.IF_curr_exp(**params.network.cell.pynn())
    pre, post = sim.Population(trained.weights.shape[0], cells), sim.Population(trained.weights.shape[1], cells)
    proj = sim.Projection(pre, post, sim.FromFileConnector(str(run / "run" / "connections.txt")),
                          receptor_type="excitatory")
    loaded = np.nan_to_num(proj.get("weight", format="array"))
    delays = proj.get("delay", format="array")
    adapter.end()
    # NEURON holds nA as given; NEST holds pA, so a weight may come back 1 ulp away
    np.testing.assert_allclose(loaded, trained.weights, rtol=1e-15, atol=0)
    assert np.all(delays == params.network.delay_ms)
    adapter.setup(params.network.timestep_ms)
    ev = evaluate(CharacterNetwork(adapter, params.network, loaded, trained.input_gains), dataset,
                  trained.input_encoding, repeats=3)
    adapter.end()
    expected = json.loads((run / f"test-{backend}" / "test.json").read_text())
    assert ev.answers == expected["answers"]
    assert [c.tolist() for c in ev.counts] == expected["output_spike_counts"]
