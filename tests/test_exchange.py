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
from snn_rl.experiments.exchange import counts_per_presentation
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
    (seg,) = block.segments
    (epoch,) = seg.epochs
    assert counts_per_presentation(block).tolist() == result["output_spike_counts"]
    assert list(epoch.array_annotations["target"]) == result["targets"]
    assert list(epoch.labels) == ["ABCD"[t] for t in result["targets"]]
    assert [a if a else None for a in epoch.array_annotations["answer"]] == [
        "ABCD"[a] if a >= 0 else None for a in result["answers"]]
    # Elephant on the trains as Neo gives them: each output's rate over the whole test is its
    # spikes over the test's duration
    presentation_ms = block.annotations["window_ms"] + block.annotations["rest_ms"]
    assert block.annotations["presentation_ms"] == presentation_ms
    for i, st in enumerate(seg.spiketrains):
        rate = float(mean_firing_rate(st).rescale(pq.Hz))
        total = sum(c[i] for c in result["output_spike_counts"])
        assert rate == pytest.approx(total / (len(result["targets"]) * presentation_ms / 1000))


@pytest.mark.simulator
def test_lockstep_recordings_read_with_neo_and_compared_with_elephant(run):
    blocks = {b: _read(run / f"{b}.nix") for b in ("nest", "neuron")}
    for backend, block in blocks.items():
        recording = load_recording(run / f"{backend}.npz")
        assert block.annotations["protocol_digest"] == recording.protocol_digest
        assert block.annotations["n_presentations"] == recording.n_windows == 12
        (seg,) = block.segments
        assert len(seg.spiketrains) == len(recording.spikes[0])
        p = block.annotations["presentation_ms"]
        for i, st in enumerate(seg.spiketrains):
            expected = np.concatenate([recording.spikes[k][i] + k * p for k in range(recording.n_windows)])
            np.testing.assert_array_equal(st.rescale(pq.ms).magnitude, expected)
    # NEST against NEURON, output by output over the whole replay, with Elephant's van Rossum distance
    n_in = blocks["nest"].annotations["n_inputs"]
    outputs = zip(blocks["nest"].segments[0].spiketrains[n_in:], blocks["neuron"].segments[0].spiketrains[n_in:])
    distances = [van_rossum_distance([a, b], time_constant=10 * pq.ms)[0, 1] for a, b in outputs]
    assert np.all(np.isfinite(distances)) and max(distances) < 3.0


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
