"""SpiNNaker targets: the sPyNNaker backend, the emulated target, deploy and emulate.

Everything runs without a SpiNNaker machine: sPyNNaker maps on a virtual board (the
project's ``backends/spinnaker_cfg/virtual.cfg``, a version 5 board), each in a separate process
with a private home, cfg and working directory (``spinnaker_support.isolated_env``).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from snn_rl.backends import spinnaker as spinn
from snn_rl.model.dataset import builtin
from snn_rl.experiments.evaluation import Evaluation
from snn_rl.experiments.storage import TrainedWeights, save_weights
from snn_rl.deployment.emulation import diagnose
from spinnaker_support import CFG_DIR, ROOT, isolated_env, virtual_cfg


def snn_rl(args, env, cwd, timeout=900):
    return subprocess.run([sys.executable, "-m", "snn_rl", *args], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=timeout)


def assert_one_line_error(proc, *fragments):
    """Exit status 2, no traceback, and a last line naming the problem."""
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("snn-rl: error:")]
    assert len(errors) == 1, proc.stderr[-2000:]
    for fragment in fragments:
        assert fragment in errors[0], errors[0]


def synthetic_run(folder: Path, dataset_name: str, seed: int = 0) -> Path:
    """A run directory with random weights (nA) for ``dataset_name``: enough to deploy and map."""
    ds = builtin(dataset_name)
    rng = np.random.default_rng(seed)
    save_weights(folder / "weights.npz", TrainedWeights(
        weights=rng.uniform(0.0, 2.0, size=(ds.n_pixels, len(ds))), input_gains=1 + rng.uniform(-0.05, 0.05, ds.n_pixels),
        labels=ds.labels, image_shape=ds.shape, input_encoding="ones"))
    return folder


@pytest.fixture(scope="module")
def trained_abcd(tmp_path_factory):
    """A 4-character run trained on float NEST (about 10 s) and its float NEST test."""
    work = tmp_path_factory.mktemp("abcd")
    env = isolated_env(work, None)
    run = work / "nest-seed1"
    proc = snn_rl(["train", "--backend", "nest", "--dataset", "abcd", "--seed", "1", "--out", str(run), "--quiet"], env, work)
    assert proc.returncode == 0, proc.stderr[-3000:]
    proc = snn_rl(["test", "--backend", "nest", "--weights", str(run), "--out", str(work / "nest-test")], env, work)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return run, json.loads((work / "nest-test" / "test.json").read_text())


# --- deployment bundle on a virtual board --------------------------------------------------
def test_virtual_template_is_a_version_5_board(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(CFG_DIR.parent))  # no .spynnaker.cfg there
    monkeypatch.setenv("XDG_CONFIG_DIRS", str(tmp_path / "etc"))
    (tmp_path / ".spynnaker.cfg").write_text((CFG_DIR / "virtual.cfg").read_text())
    cfg = spinn.read_machine_config(cwd=tmp_path)
    assert (cfg.mode, cfg.version) == ("virtual", 5)


@pytest.mark.parametrize("dataset, n_out", [("abcd", 4), ("alphabet", 26)])
def test_deploy_bundle_maps_on_a_virtual_board(dataset, n_out, tmp_path):
    run = synthetic_run(tmp_path / "run", dataset)
    bundle = tmp_path / "run" / "deploy"
    env = isolated_env(tmp_path, None)  # deploy --virtual brings its own virtual-board cfg
    proc = snn_rl(["deploy", "--target", "spinnaker", "--weights", str(run), "--dataset", dataset,
                   "--out", str(bundle), "--virtual"], env, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert {"run.py", "network.json", "dataset.txt", "README.md", "quantisation.json", "deploy.json"} <= {
        p.name for p in bundle.iterdir()}
    report = json.loads((bundle / "deploy.json").read_text())["virtual_board"]
    assert report["mapped"] is True
    # one core per population, both on the Ethernet chip, plus the system cores of a 48-chip board
    assert report["application_cores"] == 2 and report["application_chips"] == [[0, 0]]
    assert report["total_cores_including_system"] == 2 + 48 + 1
    assert "mapped on a virtual board: 2 application cores" in proc.stdout
    net = json.loads((bundle / "network.json").read_text())
    assert np.array(net["weights_nA"]).shape == (15, n_out) and net["cell"]["tau_m"] == 20.0
    assert not (tmp_path / "reports").exists() and not (ROOT / "reports").exists()


def test_bundle_runs_standalone_on_nest_with_the_backend_as_its_argument(trained_abcd, tmp_path):
    run, float_test = trained_abcd
    env = isolated_env(tmp_path, None)
    proc = snn_rl(["deploy", "--target", "spinnaker", "--weights", str(run), "--out", str(tmp_path / "b")], env, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    work = tmp_path / "work"
    work.mkdir()
    proc = subprocess.run([sys.executable, str(tmp_path / "b" / "run.py"), "nest"], capture_output=True, text=True,
                          cwd=work, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    res = json.loads((work / "results.json").read_text())
    assert res["targets"] == float_test["targets"] and len(res["answers"]) == 12
    # one continuous run without state resets answers as the per-presentation float test does
    assert res["answers"] == float_test["answers"], (res["output_spike_counts"], float_test["output_spike_counts"])
    bad = subprocess.run([sys.executable, str(tmp_path / "b" / "run.py"), "brian"], capture_output=True, text=True,
                         cwd=work, env=env, timeout=600)
    assert bad.returncode != 0 and "one of: nest, neuron, spiNNaker" in bad.stderr


def test_bundle_rest_gap_lets_a_run_without_resets_decay():
    """Training resets the state before every presentation, so a short rest gap trains the
    same weights; run.py shows the characters back to back without resets and keeps 50 ms."""
    from snn_rl.model.params import Params
    from snn_rl.deployment.spinnaker import CONTINUOUS_REST_MS, network_json

    trained = TrainedWeights(weights=np.full((15, 4), 0.5), input_gains=np.ones(15), labels=tuple("ABCD"),
                             image_shape=(5, 3), input_encoding="ones")
    for rest, bundled in ((5.0, CONTINUOUS_REST_MS), (80.0, 80.0)):
        net = network_json(trained, Params().replace(network={"rest_ms": rest}), repeats=1)
        assert net["rest_ms"] == bundled and net["window_ms"] == 100.0


# --- emulation -----------------------------------------------------------------------------
def test_emulated_target_answers_like_float_nest_or_says_what_breaks(trained_abcd, tmp_path):
    run, float_test = trained_abcd
    out = tmp_path / "emulated"
    proc = snn_rl(["emulate", "--weights", str(run), "--out", str(out)], isolated_env(tmp_path, None), tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads((out / "emulation.json").read_text())
    chip = json.loads((out / "test.json").read_text())
    assert chip["backend"] == "spinnaker-emulated" and chip["params"]["network"]["timestep_ms"] == 1.0
    assert report["accuracy"]["float"] == float_test["accuracy"]
    labels = float_test["labels"]
    differing = sorted({labels[t] for t, a, b in zip(chip["targets"], chip["answers"], float_test["answers"]) if a != b})
    assert sorted(b["label"] for b in report["broken_characters"]) == differing
    assert report["same_answers_as_float"] == (not differing)
    assert all(b["cause"] for b in report["broken_characters"])
    q = report["quantisation"]
    assert q["excitatory_ring_buffer_shift"] >= 1 and q["n_weights"] == 30 * 4  # ON/OFF inputs
    assert q["n_rounded_to_zero"] == len(q["rounded_to_zero"])
    # measured: the seed-1 run answers identically under SpiNNaker's arithmetic
    assert report["same_answers_as_float"], report["broken_characters"]


def _ev(labels, answers):
    return Evaluation(labels=labels, targets=list(range(len(answers))), answers=answers,
                      counts=[np.eye(len(labels), dtype=int)[max(a, 0)] * 3 for a in answers])


def test_diagnose_separates_time_step_from_quantisation():
    labels = ("A", "B", "C")
    broken = diagnose(labels, _ev(labels, [0, 1, 2]), _ev(labels, [1, 1, 2]), _ev(labels, [1, -1, 2]),
                      zeros=[{"input": 3, "output": 1, "label": "B"}])
    assert [(b["label"], b["cause"].split(" (")[0]) for b in broken] == [
        ("A", "the 1 ms time step"), ("B", "weight quantisation")]
    assert broken[1]["answers"]["emulated"] == ["-"] and broken[1]["weights_to_its_neuron_rounded_to_zero"] == 1


def test_emulated_backend_writes_the_weights_the_chip_holds():
    from snn_rl.backends.spinnaker_emulated import SpinnakerArithmetic

    w = np.array([[0.0009, 1.0], [2.9, 0.1]])
    # max |w| 2.9 x 2 inputs = 5.8 -> shift 3, one unit = 1/4096 nA
    np.testing.assert_array_equal(SpinnakerArithmetic.on_chip(w, 2), np.rint(w * 4096) / 4096)
    assert SpinnakerArithmetic.on_chip(-10.0, 26) == -10.0


# --- the sPyNNaker backend ------------------------------------------------------------------
REBUILD_PROBE = textwrap.dedent("""
    import numpy as np
    from snn_rl import backends
    from snn_rl.model.network import CharacterNetwork
    from snn_rl.model.params import Params
    from snn_rl.model import quantisation as q

    backend = backends.get("spinnaker")
    p = backend.constrain(Params()).network
    backend.setup(p.timestep_ms)
    w1 = np.full((15, 4), 0.5)
    net = CharacterNetwork(backend, p, w1, np.ones(15))
    w2 = np.random.default_rng(0).uniform(0.0, 2.0, size=(15, 4))
    assert not backend.capabilities.weights_writable
    net = net.with_weights(w2)             # sPyNNaker cannot set weights: the network is built anew
    backend.sim.run(1.0)                   # map the rebuilt network (the adapter's run stops on a virtual board)
    got = net.get_weights()
    backend.end()
    expect = q.quantise_network(w2, 10.0).weights_nA
    print("REBUILT", np.array_equal(got, expect))
""")


def test_weight_write_rebuilds_the_network_with_the_new_weights(tmp_path):
    env = isolated_env(tmp_path, virtual_cfg(tmp_path))
    env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.run([sys.executable, "-c", REBUILD_PROBE], capture_output=True, text=True, cwd=tmp_path,
                          env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "REBUILT True" in proc.stdout


def test_test_on_a_virtual_board_maps_and_then_says_it_returns_no_spikes(tmp_path):
    run = synthetic_run(tmp_path / "run", "abcd")
    proc = snn_rl(["test", "--backend", "spinnaker", "--weights", str(run), "--out", str(tmp_path / "t")],
                  isolated_env(tmp_path, virtual_cfg(tmp_path)), tmp_path)
    assert_one_line_error(proc, "mapped on the virtual board (2 cores", "returns no spikes")
    assert not (tmp_path / "t" / "test.json").exists()


# --- clear errors for what cannot work -----------------------------------------------------
@pytest.mark.parametrize("cfg, fragment", [
    (None, "no sPyNNaker cfg found"),
    ("[Machine]\nversion = 5\n", "names no machine"),
    ("[Machine]\nvirtual_board = True\n", "version is missing"),
    ("[Machine]\nvirtual_board = True\nversion = five\n", "is not a whole number"),
    ("[Machine]\nvirtual_board = True\nmachine_name = 10.0.0.1\nversion = 5\n", "set exactly one"),
    ("[Machine\nvirtual_board = True\n", "is not a valid cfg file"),
    ("[Machine]\nmachine_name = 127.0.0.1\nversion = 5\n", "no SpiNNaker board answered at 127.0.0.1"),
    ("[Machine]\nspalloc_server = http://127.0.0.1:9/\nversion = 5\n", "server 127.0.0.1:9 did not answer"),
])
def test_cfg_problems_give_one_line(cfg, fragment, tmp_path, monkeypatch):
    for key, value in isolated_env(tmp_path, cfg).items():
        monkeypatch.setenv(key, value)
    with pytest.raises(spinn.SpinnakerConfigError, match=fragment):
        spinn.check_machine_reachable(spinn.read_machine_config(cwd=tmp_path), timeout_s=1.0)


def test_two_user_cfgs_are_refused(tmp_path, monkeypatch):
    for key, value in isolated_env(tmp_path, virtual_cfg(tmp_path)).items():
        monkeypatch.setenv(key, value)
    (tmp_path / "home" / ".spynnaker.cfg").write_text(virtual_cfg(tmp_path))
    with pytest.raises(spinn.SpinnakerConfigError, match="two sPyNNaker cfg files"):
        spinn.read_machine_config(cwd=tmp_path)


def test_missing_machine_fails_fast_from_the_cli(tmp_path):
    run = synthetic_run(tmp_path / "run", "abcd")
    env = isolated_env(tmp_path, "[Machine]\nmachine_name = 127.0.0.1\nversion = 5\n")
    proc = snn_rl(["test", "--backend", "spinnaker", "--weights", str(run), "--out", str(tmp_path / "t")], env, tmp_path,
                  timeout=60)
    assert_one_line_error(proc, "no SpiNNaker board answered at 127.0.0.1")
    bare = tmp_path / "bare"
    bare.mkdir()
    proc = snn_rl(["train", "--backend", "spinnaker", "--out", str(tmp_path / "tr")], isolated_env(bare, None), bare)
    assert_one_line_error(proc, "no sPyNNaker cfg found")
    assert not (bare / "home" / ".spynnaker.cfg").exists(), "sPyNNaker must not write a cfg template into the home"


@pytest.mark.parametrize("backend", ["spinnaker-emulated", "spinnaker"])
@pytest.mark.parametrize("params, fragment", [
    ('{"plasticity": {"w_min_nA": -0.5}}', "w_min_nA"),
    ('{"network": {"delay_ms": 0.4}}', "rounds to 0.0 ms"),
])
def test_what_spinnaker_cannot_represent_is_refused(backend, params, fragment, tmp_path):
    proc = snn_rl(["train", "--backend", backend, "--params", params, "--out", str(tmp_path / "x")],
                  isolated_env(tmp_path, virtual_cfg(tmp_path)), tmp_path)
    assert_one_line_error(proc, fragment)
    assert not (tmp_path / "x").exists()


def test_submit_needs_credentials_and_a_collab(tmp_path):
    run = synthetic_run(tmp_path / "run", "abcd")
    env = isolated_env(tmp_path, None)
    env.pop("EBRAINS_TOKEN", None)
    base = ["deploy", "--target", "spinnaker", "--weights", str(run), "--dataset", "abcd", "--out", str(tmp_path / "b"), "--submit"]
    assert_one_line_error(snn_rl(base, env, tmp_path), "--collab")
    assert_one_line_error(snn_rl(base + ["--collab", "my-collab"], env, tmp_path), "EBRAINS_TOKEN")
    assert not (tmp_path / "b").exists()


def test_a_bundle_that_fails_on_the_virtual_board_reports_the_error(tmp_path):
    from snn_rl.deployment.spinnaker import virtual_map

    run = synthetic_run(tmp_path / "run", "abcd")
    bundle = tmp_path / "b"
    proc = snn_rl(["deploy", "--target", "spinnaker", "--weights", str(run), "--dataset", "abcd", "--out", str(bundle)],
                  isolated_env(tmp_path, None), tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    net = json.loads((bundle / "network.json").read_text())
    net["cell"]["tau_mem"] = 20.0  # not a parameter of IF_curr_exp
    (bundle / "network.json").write_text(json.dumps(net))
    report = virtual_map(bundle)
    assert report["mapped"] is False and "tau_mem" in report["error"], report
    assert Path(report["log"]).is_file()
