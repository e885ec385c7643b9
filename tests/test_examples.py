"""The examples/ scripts run as a user runs them, and do what they say."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import ROOT, cli_env


@pytest.mark.simulator
def test_train_and_test_example(tmp_path):
    proc = subprocess.run([sys.executable, str(ROOT / "examples" / "train_and_test.py"), str(tmp_path)],
                          capture_output=True, text=True, cwd=tmp_path, env=cli_env(), timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for run in ("abcd-nest", "xo-nest"):
        assert (tmp_path / run / "weights.npz").is_file() and (tmp_path / run / "train.json").is_file()
    on_neuron = json.loads((tmp_path / "abcd-nest-on-neuron" / "test.json").read_text())
    assert on_neuron["backend"] == "neuron" and on_neuron["accuracy"] == 1.0
    emulated = json.loads((tmp_path / "abcd-nest-on-spinnaker-emulated" / "test.json").read_text())
    assert emulated["backend"] == "spinnaker-emulated" and emulated["params"]["network"]["timestep_ms"] == 1.0
    mine = json.loads((tmp_path / "xo-nest-on-neuron" / "test.json").read_text())
    assert mine["labels"] == ["X", "+", "O"] and mine["accuracy"] == 1.0
    assert "abcd on neuron: accuracy 1.000" in proc.stdout
