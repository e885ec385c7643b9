"""Train and test A-D on NEST and NEURON through the real CLI (issue: the foundation).

For seeds 1-5 on both simulators: training reaches the criterion, testing on the same
backend gives accuracy 1.0 with the right neuron firing 2-4 spikes and the others at most 1,
weights transfer between simulators, and a rerun reproduces the weights bit for bit.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import INSTALLED_BACKENDS, run_cli
from snn_rl.experiments.storage import load_weights

SEEDS = (1, 2, 3, 4, 5)


@pytest.fixture(scope="session")
def trained(tmp_path_factory):
    """Train every (backend, seed) once; returns {(backend, seed): run directory}."""
    root = tmp_path_factory.mktemp("train")
    runs = {}
    for backend in INSTALLED_BACKENDS:
        for seed in SEEDS:
            out = root / f"{backend}-seed{seed}"
            run_cli("train", "--backend", backend, "--dataset", "abcd", "--seed", str(seed), "--out", str(out), "--quiet")
            runs[backend, seed] = out
    return runs


def _test(run_dir, backend, out):
    run_cli("test", "--backend", backend, "--weights", str(run_dir), "--dataset", "abcd", "--out", str(out))
    return json.loads((out / "test.json").read_text())


@pytest.mark.simulator
@pytest.mark.parametrize("seed", SEEDS)
def test_train_then_test_on_the_same_backend(trained, backend_name, seed, tmp_path):
    run_dir = trained[backend_name, seed]
    summary = json.loads((run_dir / "train.json").read_text())
    assert summary["criterion_met"] and summary["epochs_to_criterion"] >= 1
    assert summary["backend"] == backend_name and summary["seed"] == seed
    assert len(summary["learning_curve"]) == summary["epochs_run"]
    assert summary["provenance"]["packages"]["PyNN"] == "0.13.0"
    result = _test(run_dir, backend_name, tmp_path / "test")
    assert result["accuracy"] == 1.0
    assert result["n_presentations"] == 12
    assert 2 <= result["target_spikes_min"] and result["target_spikes_max"] <= 4
    assert result["max_other_spikes"] <= 1
    assert (tmp_path / "test" / "raster.png").stat().st_size > 1000


@pytest.mark.simulator
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("trained_on,tested_on", [("nest", "neuron"), ("neuron", "nest")])
def test_weights_transfer_between_simulators(trained, trained_on, tested_on, seed, tmp_path):
    result = _test(trained[trained_on, seed], tested_on, tmp_path / "test")
    assert result["accuracy"] == 1.0, result["confusion"]


@pytest.mark.simulator
def test_rerun_gives_identical_weights(trained, backend_name, tmp_path):
    again = tmp_path / "again"
    run_cli("train", "--backend", backend_name, "--dataset", "abcd", "--seed", "2", "--out", str(again), "--quiet")
    first = load_weights(trained[backend_name, 2])
    second = load_weights(again)
    assert np.array_equal(first.weights, second.weights)
    assert np.array_equal(first.input_gains, second.input_gains)
    a = json.loads((trained[backend_name, 2] / "train.json").read_text())
    b = json.loads((again / "train.json").read_text())
    assert a["learning_curve"] == b["learning_curve"]
