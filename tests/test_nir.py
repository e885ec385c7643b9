"""NIR export (issue: beyond SpiNNaker 1): the graph's content, the round trip back into the
PyNN network on NEST and NEURON, and Norse, an independent NIR importer, against NEST.

The pure tests build graphs from small hand-made weights; the simulator tests train A-D on
NEST with the defaults, export it, and run the file through ``snn-rl import``/``test`` and
``snn-rl nir-test`` as a user would.
"""

from __future__ import annotations

import json

import nir
import numpy as np
import pytest

import snn_rl
from conftest import run_cli
from snn_rl.deployment import nir_graph, nir_run
from snn_rl.errors import InputError
from snn_rl.experiments.evaluation import Evaluation
from snn_rl.experiments.storage import TrainedWeights
from snn_rl.model.dataset import as_dataset, encode
from snn_rl.model.params import Params

#: the node types each target importer lists as supported (NIR's table of supported
#: primitives: Lava, SpiNNaker2, Rockpool and Norse all import Affine, LIF and CubaLIF)
TARGET_IMPORTERS = {
    "lava (Loihi 2)": {"Input", "Output", "Affine", "Linear", "LIF", "CubaLIF", "IF", "Flatten", "Conv2d", "SumPool2d"},
    "spinnaker2": {"Input", "Output", "Affine", "Linear", "LIF", "CubaLIF", "IF", "Flatten", "Conv1d", "Conv2d", "SumPool2d"},
    "rockpool (Xylo)": {"Input", "Output", "Affine", "Linear", "LIF", "CubaLIF", "LI"},
    "norse": {"Input", "Output", "Affine", "LIF", "CubaLIF", "IF", "LI", "Flatten", "Conv2d", "SumPool2d"},
}


def small_network(encoding: str = "on_off", seed: int = 0) -> tuple[TrainedWeights, Params]:
    ds = as_dataset("abcd")
    n_in = ds.n_pixels * (2 if encoding == "on_off" else 1)
    rng = np.random.default_rng(seed)
    trained = TrainedWeights(weights=rng.uniform(0, 2, (n_in, 4)), input_gains=rng.uniform(0.95, 1.05, n_in),
                             labels=ds.labels, image_shape=ds.shape, input_encoding=encoding)
    return trained, Params().replace(network={"input_encoding": encoding})


@pytest.mark.parametrize("delays", nir_graph.DELAY_MODES)
@pytest.mark.parametrize("encoding", ["on_off", "ones", "zeros"])
def test_a_written_graph_reads_back_as_the_same_network(tmp_path, encoding, delays):
    trained, params = small_network(encoding)
    graph = nir_graph.to_graph(trained, params, as_dataset("abcd"), delays=delays)
    nir.write(tmp_path / "g.nir", graph)
    back = nir_graph.read_file(tmp_path / "g.nir")
    assert back.params == params
    assert np.array_equal(back.trained.weights, trained.weights)
    assert np.array_equal(back.trained.input_gains, trained.input_gains)
    assert back.trained.labels == trained.labels and back.trained.input_encoding == encoding


def test_the_portable_graph_holds_only_node_types_every_target_importer_reads(tmp_path):
    trained, params = small_network()
    graph = nir_graph.to_graph(trained, params, as_dataset("abcd"))
    nir.write(tmp_path / "g.nir", graph)
    types = {type(n).__name__ for n in nir.read(tmp_path / "g.nir").nodes.values()}
    assert types == set(nir_graph.PORTABLE_NODE_TYPES)
    for importer, supported in TARGET_IMPORTERS.items():
        assert types <= supported, importer
    with_delays = nir_graph.to_graph(trained, params, as_dataset("abcd"), delays="nodes")
    assert sum(type(n).__name__ == "Delay" for n in with_delays.nodes.values()) == 2


def test_parameters_map_with_stated_units():
    trained, params = small_network()
    cell, n = params.network.cell, params.network
    graph = nir_graph.to_graph(trained, params, as_dataset("abcd"))
    out, inp = graph.nodes["output_layer"], graph.nodes["input_layer"]
    assert np.all(out.tau_mem == cell.tau_m) and np.all(out.tau_syn == cell.tau_syn_E)  # ms
    assert np.all(out.r == cell.tau_m / cell.cm)  # MOhm
    assert np.all(out.v_threshold == cell.v_thresh - cell.v_rest) and np.all(out.v_leak == 0)  # mV from rest
    assert np.all(out.w_in == cell.tau_syn_E)  # a unit spike through weight w jumps the current by w nA
    assert np.array_equal(graph.nodes["plastic"].weight, trained.weights.T)  # nA
    lateral = graph.nodes["lateral"].weight
    assert np.all(np.diag(lateral) == 0) and np.all(lateral[~np.eye(4, dtype=bool)] == -n.inhibition_nA)
    assert np.all(inp.r == 1)  # r folded into the drive: mV
    assert graph.metadata["units"]["time"] == "ms"
    assert ("output_layer", "lateral") in graph.edges and ("lateral", "output_layer") in graph.edges
    notes = " ".join(graph.metadata["approximations"])
    assert "refractory" in notes and "Delay" in notes and "v > v_threshold" in notes


def test_the_drive_is_the_encoded_image_times_gain_current_and_resistance_in_the_window_only():
    trained, params = small_network("on_off")
    ds = as_dataset("abcd")
    graph = nir_graph.to_graph(trained, params, ds)
    seq = nir_graph.input_sequence(ds, 1.0, params.network.window_ms, params.network.rest_ms)
    assert seq.shape == (115, 4, ds.n_pixels + 1)
    drive = graph.nodes["drive"].weight
    r = params.network.cell.tau_m / params.network.cell.cm
    for c, image in enumerate(ds.images):
        expected = encode(image, "on_off") * trained.input_gains * params.network.input_current_nA * r
        assert np.allclose(drive @ seq[0, c], expected, rtol=1e-12, atol=1e-12)
        assert np.all(drive @ seq[-1, c] == 0)  # the rest gap: every current off


def test_a_different_inhibitory_time_constant_keeps_each_spikes_charge():
    trained, params = small_network()
    params = params.replace(network={"cell": {"tau_syn_I": 10.0}})
    graph = nir_graph.to_graph(trained, params, as_dataset("abcd"))
    assert graph.nodes["lateral"].weight[0, 1] == -2 * params.network.inhibition_nA
    assert any("tau_syn_I / tau_syn_E = 2" in a for a in graph.metadata["approximations"])
    assert nir_graph.read_graph(graph).params == params


def test_an_edited_graph_is_read_from_its_nodes_not_its_metadata(tmp_path):
    trained, params = small_network()
    graph = nir_graph.to_graph(trained, params, as_dataset("abcd"))
    graph.nodes["plastic"].weight = graph.nodes["plastic"].weight * 0.5
    for layer in ("input_layer", "output_layer"):
        graph.nodes[layer].v_threshold = graph.nodes[layer].v_threshold + 1.0
    back = nir_graph.read_graph(graph)
    assert np.allclose(back.trained.weights, trained.weights * 0.5)
    assert back.params.network.cell.v_thresh == params.network.cell.v_thresh + 1.0


def test_the_same_network_written_another_way_reads_back_the_same():
    """r moved from the drive into the input layer, w_in doubled with the weights halved:
    the same equations, so the same network."""
    trained, params = small_network()
    graph = nir_graph.to_graph(trained, params, as_dataset("abcd"))
    r = params.network.cell.tau_m / params.network.cell.cm
    graph.nodes["drive"].weight = graph.nodes["drive"].weight / r
    graph.nodes["input_layer"].r = graph.nodes["input_layer"].r * r
    out = graph.nodes["output_layer"]
    out.w_in = out.w_in * 2
    graph.nodes["plastic"].weight = graph.nodes["plastic"].weight / 2
    graph.nodes["lateral"].weight = graph.nodes["lateral"].weight / 2
    back = nir_graph.read_graph(graph)
    assert np.allclose(back.trained.input_gains, trained.input_gains, rtol=1e-12)
    assert np.allclose(back.trained.weights, trained.weights, rtol=1e-12)
    assert back.params.network.inhibition_nA == pytest.approx(params.network.inhibition_nA)


def test_a_round_trip_keeps_values_that_do_not_survive_subtraction():
    trained, params = small_network()
    params = params.replace(network={"cell": {"v_rest": -65.38, "v_reset": -65.38, "v_thresh": -10.23}})
    assert nir_graph.read_graph(nir_graph.to_graph(trained, params, as_dataset("abcd"))).params == params


@pytest.mark.parametrize("edit, words", [
    (lambda g: g.metadata.update(format="other"), "not a network exported by snn-rl"),
    (lambda g: g.nodes.pop("lateral"), "node 'lateral' missing"),
    (lambda g: setattr(g.nodes["output_layer"], "tau_mem", np.arange(1.0, 5.0)), "tau_mem differs between neurons"),
    (lambda g: setattr(g.nodes["lateral"], "weight", -np.arange(16.0).reshape(4, 4)), "not uniform"),
    (lambda g: setattr(g.nodes["plastic"], "weight", np.full((4, 30), np.nan)), "non-finite"),
    (lambda g: setattr(g.nodes["drive"], "weight", np.ones((30, 16))), "does not drive each input neuron"),
    (lambda g: [setattr(g.nodes[n], "v_threshold", np.full(k, -5.0)) for n, k in (("output_layer", 4), ("input_layer", 30))],
     "not a network this project can run"),
    (lambda g: setattr(g.nodes["output_layer"], "v_threshold", np.full(4, 20.0)), "different v_threshold"),
    (lambda g: setattr(g.nodes["plastic"], "bias", np.ones(4)), "has a bias"),
    (lambda g: setattr(g.nodes["input_layer"], "v_leak", np.ones(30)), "v_leak must be 0"),
    (lambda g: g.edges.remove(("lateral", "output_layer")), "edges are not those"),
    (lambda g: setattr(g.nodes["lateral"], "weight", -np.ones((4, 3))), "do not fit"),
    (lambda g: setattr(g.nodes["output_layer"], "tau_syn", np.ones(3)), "3 values for 4 neurons"),
])
def test_a_graph_that_is_not_ours_or_not_runnable_is_refused(edit, words):
    trained, params = small_network()
    graph = nir_graph.to_graph(trained, params, as_dataset("abcd"))
    edit(graph)
    with pytest.raises(ValueError, match=words):
        nir_graph.read_graph(graph)


def test_a_difference_is_put_down_to_the_first_cause_that_explains_it():
    labels = ("A", "B")

    def ev(answers):
        e = Evaluation(labels=labels, targets=[0, 1], answers=list(answers))
        e.counts = [np.array([2, 0]), np.array([0, 2])]
        return e

    found = nir_run.diagnose(labels, ev([1, 0]), ev([0, 1]), ev([1, 1]), ev([0, 1]), 1.0)
    assert [d["label"] for d in found] == ["A", "B"]
    assert "refractory" in found[0]["cause"] and "Euler" in found[1]["cause"]
    found = nir_run.diagnose(labels, ev([-1, 1]), ev([0, 1]), ev([0, 1]), ev([-1, 1]), 1.0)
    assert len(found) == 1 and "1 ms step" in found[0]["cause"]
    assert nir_run.diagnose(labels, ev([0, 1]), ev([0, 1]), ev([1, 0]), ev([1, 0]), 1.0) == []


# --- with the simulators and the consumer -----------------------------------------------------


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A-D trained on NEST with the defaults, and its NIR file (command line)."""
    d = tmp_path_factory.mktemp("nir")
    snn_rl.train(Params(), "abcd", "nest", d / "run", seed=2, progress=False)
    run_cli("export", "--format", "nir", "--weights", str(d / "run"), "--out", str(d / "network.nir"))
    return d


@pytest.mark.simulator
@pytest.mark.parametrize("backend", ["nest", "neuron"])
def test_the_round_trip_answers_exactly_as_the_original(exported, backend):
    d = exported
    imported = d / f"imported-{backend}"
    run_cli("import", "--nir", str(d / "network.nir"), "--out", str(imported))
    for weights, out in ((d / "run", d / f"original-on-{backend}"), (imported, d / f"imported-on-{backend}")):
        run_cli("test", "--backend", backend, "--weights", str(weights), "--out", str(out))
    original = json.loads((d / f"original-on-{backend}" / "test.json").read_text())
    back = json.loads((d / f"imported-on-{backend}" / "test.json").read_text())
    assert original["accuracy"] == 1.0
    assert back["answers"] == original["answers"]
    assert back["output_spike_counts"] == original["output_spike_counts"]
    assert back["params"] == original["params"]


@pytest.mark.simulator
def test_norse_answers_every_character_as_nest(exported):
    d = exported
    proc = run_cli("nir-test", "--nir", str(d / "network.nir"), "--out", str(d / "norse"))
    assert "same answers as nest" in proc.stdout
    report = json.loads((d / "norse" / "nir.json").read_text())
    assert report["same_answers"] and report["accuracy"]["consumer"] == 1.0
    assert report["consumer"] == "norse" and report["consumer_step_ms"] == 1.0
    counts = np.array(report["spike_counts"]["consumer"])
    assert np.all(counts.argmax(axis=1) == np.arange(4)) and counts.max() >= 2  # real spikes, not silence
    test = json.loads((d / "norse" / "test.json").read_text())
    assert test["backend"] == "nir-norse" and test["answers"] == [0, 1, 2, 3]
    assert (d / "norse" / "raster.png").stat().st_size > 1000


@pytest.mark.simulator
def test_an_exported_file_is_replaced_only_with_overwrite_and_stays_whole(exported):
    d = exported
    before = (d / "network.nir").read_bytes()
    proc = run_cli("export", "--format", "nir", "--weights", str(d / "run"), "--out", str(d / "network.nir"),
                   check=False)
    assert proc.returncode == 2 and "pass --overwrite" in proc.stderr
    assert (d / "network.nir").read_bytes() == before
    run_cli("export", "--format", "nir", "--weights", str(d / "run"), "--out", str(d / "network.nir"), "--overwrite")
    assert nir_graph.read_file(d / "network.nir").params == snn_rl.load_run(d / "run")[2]
    with pytest.raises(InputError, match="Delay nodes"):
        run_cli("export", "--format", "nir", "--weights", str(d / "run"), "--out", str(d / "delays.nir"),
                "--delays", "nodes")
        nir_run.nir_test(d / "delays.nir", d / "never")
    assert not (d / "never").exists()
