"""K outputs per class end to end on real simulators: train with the groups rule on NEST, test
on NEURON, emulate SpiNNaker's arithmetic, write the SpiNNaker bundle and run its run.py on
NEST, export to NIR and read it back. Every step decides by the group vote."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest

import snn_rl
from snn_rl.experiments.storage import load_weights
from snn_rl.model.params import load_params

#: the groups rule on 5 x 3 letters, three outputs per class; the weight norm follows from the
#: images (plasticity.match_drive_nA: 5.6 / sqrt(15 active inputs))
K3 = {"network": {"outputs_per_class": 3},
      "training": {"max_epochs": 60, "stop_at_criterion": True, "min_margin": 2, "evaluate": "every"}}


@pytest.fixture(scope="module")
def trained_k3(tmp_path_factory):
    out = tmp_path_factory.mktemp("k3") / "run"
    result = snn_rl.train(load_params("reward-groups").merged(K3), "abcd", "nest", out, seed=1, progress=False,
                          heldout="abcd")
    return out, result


@pytest.mark.simulator
def test_groups_rule_learns_abcd_with_three_outputs_per_class(trained_k3):
    out, result = trained_k3
    assert result.summary["criterion_met"], result.summary["learning_curve"][-3:]
    w = load_weights(out)
    assert w.weights.shape == (30, 12) and w.outputs_per_class == 3
    assert np.allclose(np.linalg.norm(w.weights, axis=0), 5.6 / np.sqrt(15))
    ran = result.summary["run_params"]["plasticity"]
    assert ran["weight_norm_nA"] == pytest.approx(5.6 / np.sqrt(15)) and ran["match_drive_nA"] == 0
    assert result.summary["params"]["plasticity"]["match_drive_nA"] == 5.6  # as asked
    # the held-out pass after every epoch (here the training set itself) answers as the evaluation
    curve = result.summary["learning_curve"]
    assert [h["heldout_accuracy"] for h in curve] == [h["eval_accuracy"] for h in curve]


@pytest.mark.simulator
def test_k3_weights_answer_by_vote_on_neuron_and_on_spinnaker_arithmetic(trained_k3, tmp_path):
    out, _ = trained_k3
    res = snn_rl.test(out, "abcd", "neuron", tmp_path / "neuron", repeats=1)
    assert res.summary["outputs_per_class"] == 3 and len(res.summary["output_spike_counts"][0]) == 12
    assert res.evaluation.accuracy == 1.0
    snn_rl.emulate(out, tmp_path / "emulated", repeats=1)
    report = json.loads((tmp_path / "emulated" / "emulation.json").read_text())
    emulated = json.loads((tmp_path / "emulated" / "test.json").read_text())
    assert emulated["outputs_per_class"] == 3 and report["quantisation"]["n_weights"] == 360
    assert report["same_answers_as_float"], report["broken_characters"]


@pytest.mark.simulator
def test_k3_bundle_runs_on_nest_and_votes(trained_k3, tmp_path, monkeypatch):
    out, _ = trained_k3
    snn_rl.deploy(out, tmp_path / "bundle", repeats=1)
    net = json.loads((tmp_path / "bundle" / "network.json").read_text())
    assert net["outputs_per_class"] == 3 and np.shape(net["weights_nA"]) == (30, 12)
    spec = importlib.util.spec_from_file_location("bundle_k3", tmp_path / "bundle" / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.winner([0, 2, 1, 3, 0, 0], 3) == -1 and module.winner([0, 2, 2, 3, 0, 0], 3) == 0
    monkeypatch.chdir(tmp_path)
    module.main(["run.py", "nest"])
    results = json.loads((tmp_path / "results.json").read_text())
    assert len(results["output_spike_counts"][0]) == 12
    assert results["accuracy"] == 1.0, results["answers"]


@pytest.mark.simulator
def test_k3_network_goes_through_nir_and_back(trained_k3, tmp_path):
    out, _ = trained_k3
    snn_rl.export(out, tmp_path / "net.nir")
    imported = snn_rl.import_graph(tmp_path / "net.nir", tmp_path / "imported")
    back = load_weights(tmp_path / "imported")
    assert back.outputs_per_class == 3
    res = snn_rl.test(tmp_path / "imported", "abcd", "nest", tmp_path / "test", repeats=1)
    assert res.evaluation.accuracy == 1.0 and imported.out == tmp_path / "imported"
