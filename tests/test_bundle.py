"""The deployment bundle's network is the model's network.

``run.py`` in a bundle is standalone (PyNN and numpy only), so it describes the network a
second time. Here both descriptions are built on NEST from the same trained weights and
compared element by element: population sizes, every cell parameter, every connection of
the trained projection and of the lateral inhibition with its weight and delay. The bundle
runs at SpiNNaker's 1 ms step with delays on its grid, so the model's network is built with
the same SpiNNaker constraints (:func:`snn_rl.model.quantisation.spinnaker_params`). The
bundle's copies of the input encoding and of the decision rule are checked against the
model's too.
"""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest

import snn_rl
from snn_rl import backends
from snn_rl.experiments.storage import TrainedWeights, save_weights, write_json
from snn_rl.model import quantisation as q
from snn_rl.model.dataset import builtin, encode, n_inputs
from snn_rl.model.decision import winner
from snn_rl.model.network import CharacterNetwork
from snn_rl.model.params import load_params

#: data set -> parameters trained with (the reward set with a delay SpiNNaker's grid can hold)
CASES = {"abcd": ("seed", {}), "alphabet": ("reward", {"network": {"inhibition_delay_ms": 1.0}})}
CELL = ("cm", "tau_m", "v_rest", "v_reset", "v_thresh", "tau_refrac", "tau_syn_E", "tau_syn_I", "i_offset")


def _bundle(tmp_path, dataset_name: str):
    """A trained run (random weights) and its deployment bundle; returns the bundle's module,
    its network.json, the weights and the parameters."""
    name, overrides = CASES[dataset_name]
    params = load_params(name).merged(overrides)
    data = builtin(dataset_name)
    n_in = n_inputs(data.n_pixels, params.network.input_encoding)
    rng = np.random.default_rng(3)
    trained = TrainedWeights(weights=rng.uniform(0.0, 1.5, (n_in, len(data))), input_gains=1 + rng.uniform(-0.05, 0.05, n_in),
                             labels=data.labels, image_shape=data.shape, input_encoding=params.network.input_encoding)
    run = tmp_path / "run"
    save_weights(run / "weights.npz", trained)
    write_json(run / "train.json", {**data.record(), "params": params.to_dict()})
    snn_rl.deploy(run, tmp_path / "bundle")
    spec = importlib.util.spec_from_file_location(f"bundle_{dataset_name}", tmp_path / "bundle" / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module, json.loads((tmp_path / "bundle" / "network.json").read_text()), trained, params


def _describe(sim, inputs, outputs, plastic, lateral) -> dict:
    """Everything the network is made of, as plain values."""
    def conns(proj):
        return sorted((int(i), int(j), round(float(w), 9), round(float(d), 9))
                      for i, j, w, d in proj.get(["weight", "delay"], format="list"))

    return {
        "sizes": (inputs.size, outputs.size),
        "cells": {pop.label: {p: np.atleast_1d(pop.get(p)).tolist() for p in CELL} for pop in (inputs, outputs)},
        "receptors": (plastic.receptor_type, lateral.receptor_type),
        "plastic": conns(plastic),
        "lateral": conns(lateral),
    }


@pytest.mark.simulator
@pytest.mark.parametrize("dataset_name", sorted(CASES))
def test_the_bundle_builds_the_models_network(dataset_name, tmp_path):
    module, net_json, trained, params = _bundle(tmp_path, dataset_name)
    nest = backends.get("nest", fast=False).setup(q.SPINNAKER_TIMESTEP_MS)
    bundle = _describe(nest.sim, *module.build(nest.sim, net_json))
    nest.end()

    chip = q.spinnaker_params(params).network
    nest = backends.get("nest", fast=False).setup(chip.timestep_ms)
    net = CharacterNetwork(nest, chip, trained.weights, trained.input_gains)
    model = _describe(nest.sim, net.inputs, net.outputs, net.plastic, net.lateral)
    nest.end()

    assert bundle["sizes"] == model["sizes"] == trained.weights.shape
    assert bundle["cells"] == model["cells"]
    assert bundle["receptors"] == model["receptors"] == ("excitatory", "inhibitory")
    assert len(model["plastic"]) == trained.weights.size and bundle["plastic"] == model["plastic"]
    n_out = trained.weights.shape[1]
    assert len(model["lateral"]) == n_out * (n_out - 1) and bundle["lateral"] == model["lateral"]
    assert {d for *_, d in model["lateral"]} == {chip.inhibition_delay_ms}


@pytest.mark.parametrize("dataset_name", sorted(CASES))
def test_the_bundles_encoding_and_answer_are_the_models(dataset_name, tmp_path):
    module, net_json, trained, params = _bundle(tmp_path, dataset_name)
    data = builtin(dataset_name)
    labels, images = module.read_dataset(tmp_path / "bundle" / "dataset.txt")
    assert tuple(labels) == data.labels and np.array_equal(images, data.images)
    for encoding in ("ones", "zeros", "on_off"):
        for image in data.images:
            assert np.array_equal(module.encode(image, encoding), encode(image, encoding))
    rng = np.random.default_rng(0)
    for counts in [np.zeros(4, int), np.array([2, 2, 0, 1]), *rng.integers(0, 4, (200, len(data)))]:
        assert module.winner(counts) == winner(counts)
