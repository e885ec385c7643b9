"""The adapters' fast paths give the same spikes and weights as PyNN's API (issue 5), and
``reset_state`` makes a presentation forget the one before it.

For each installed backend the same scenario runs twice, each in a fresh interpreter (NEURON
cannot be set up twice in one process): once with ``fast=False`` (every call through PyNN)
and once with ``fast=True``. The scenario is a short stretch of real training on A-D:
presentations with the plasticity rule's weight writes after each, weights read back after
every write, a second data set's drive (all inputs on, so every output fires and the lateral
inhibition acts), every third presentation with an exploration bias current into one output,
and a last presentation after a long pause. Spike times and weights must
be equal exactly: NEST and NEURON both keep weights as doubles, and both paths write the
same doubles (nA, or pA = nA x 1000 on NEST as PyNN's translation does).

Every backend's state reset must give a presentation exactly the spikes it gave on a fresh network, even right after a
presentation that drove every input at 5 times the usual current, with a rest gap of only
2 ms, where leftover synaptic currents (e^-0.4 of their value) change the spikes.

The file is also the probe: ``python tests/test_fast_paths.py BACKEND fast|plain|reset OUT.npz``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).resolve().parent
N_PRESENTATIONS = 12


def probe(backend_name: str, fast: bool, out: Path, threads: int = 1) -> None:
    """Run the scenario and save every spike train and weight matrix it saw to ``out``."""
    from snn_rl import backends
    from snn_rl.model.dataset import builtin, encode
    from snn_rl.model.network import CharacterNetwork, initial_weights, input_gains
    from snn_rl.model.params import load_params
    from snn_rl.model.rules.reward import plasticity_step

    params = load_params("seed")  # the seed's network: one input per pixel
    net_p = params.network
    data = builtin("abcd")
    drives = [encode(img, net_p.input_encoding) for img in data.images] + [np.ones(data.n_pixels)]
    rng = np.random.default_rng(7)
    gains = input_gains(data.n_pixels, net_p.input_jitter, rng)
    weights = initial_weights(data.n_pixels, len(data), net_p, rng)
    baseline = np.zeros(len(data))

    backend = backends.get(backend_name, fast=fast).setup(net_p.timestep_ms, threads=threads)
    net = CharacterNetwork(backend, net_p, weights, gains)
    saved = {"initial_weights": net.get_weights()}
    for k in range(N_PRESENTATIONS):
        cls = int(rng.integers(len(drives)))
        if k == N_PRESENTATIONS - 1:
            backend.run(1000.0)  # a long pause, so the clock has moved between reads
        bias = np.zeros(len(data))
        if k % 3 == 1:
            bias[k % len(data)] = 0.5  # nA, as the alphabet rule's exploration gives
        pres = net.present(drives[cls], output_bias=bias if bias.any() else None)
        target = min(cls, len(data) - 1)
        step = plasticity_step(weights, baseline, pres.pre, pres.post, target, params.plasticity,
                               nudge=rng.random(len(data)))
        weights, baseline = step.weights, step.baseline
        net.set_weights(weights)
        saved[f"onset_{k}"] = np.array([backend.time_ms()])
        saved[f"weights_{k}"] = net.get_weights()
        for layer, trains in (("pre", pres.pre), ("post", pres.post)):
            for i, times in enumerate(trains):
                saved[f"{layer}_{k}_{i}"] = np.asarray(times, dtype=float)
    backend.end()
    np.savez(out, **saved)


def probe_reset(backend_name: str, out: Path) -> None:
    """One drive on a fresh network, then after a presentation of strong drive; 2 ms rests."""
    from snn_rl import backends
    from snn_rl.model.dataset import builtin, encode
    from snn_rl.model.network import CharacterNetwork, initial_weights, input_gains
    from snn_rl.model.params import load_params

    net_p = load_params("seed").replace(network={"rest_ms": 2.0}).network
    data = builtin("abcd")
    rng = np.random.default_rng(3)
    gains = input_gains(data.n_pixels, net_p.input_jitter, rng)
    weights = initial_weights(data.n_pixels, len(data), net_p, rng)
    backend = backends.get(backend_name).setup(net_p.timestep_ms)
    net = CharacterNetwork(backend, net_p, weights, gains)
    drive = encode(data.images[1], net_p.input_encoding)
    fresh = net.present(drive)
    busy = net.present(np.full(data.n_pixels, 5.0))  # inputs fire every few ms up to the end
    again = net.present(drive)
    backend.end()
    saved = {"busy_post_spikes": np.array(sum(len(t) for t in busy.post))}
    for name, pres in (("fresh", fresh), ("again", again)):
        for i, times in enumerate(pres.pre + pres.post):
            saved[f"{name}_{i}"] = np.asarray(times, dtype=float)
    np.savez(out, **saved)


def _run_probe(backend_name: str, mode: str, out: Path, threads: int = 1) -> dict[str, np.ndarray]:
    from conftest import cli_env

    proc = subprocess.run(
        [sys.executable, str(Path(__file__)), backend_name, mode, str(out), str(threads)],
        capture_output=True, text=True, env=cli_env(), cwd=HERE.parent, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    with np.load(out) as data:
        return {k: data[k] for k in data.files}


@pytest.mark.simulator
def test_fast_paths_match_pynn(backend_name, tmp_path):
    _compare_paths(backend_name, 1, tmp_path)


@pytest.mark.simulator
def test_fast_paths_match_pynn_with_two_nest_threads(tmp_path):
    _compare_paths("nest", 2, tmp_path)


def _compare_paths(backend_name: str, threads: int, tmp_path: Path) -> None:
    plain = _run_probe(backend_name, "plain", tmp_path / "plain.npz", threads)
    fast = _run_probe(backend_name, "fast", tmp_path / "fast.npz", threads)
    assert sorted(plain) == sorted(fast)
    spikes = sum(plain[k].size for k in plain if k.startswith("post_"))
    assert spikes > N_PRESENTATIONS, "the scenario should make the outputs fire"
    assert sum(plain[k].size for k in plain if k.startswith("pre_")) > 10 * N_PRESENTATIONS
    for key in plain:
        assert np.array_equal(plain[key], fast[key]), f"{backend_name}: {key} differs between fast and plain paths"
    # the weights really changed, so the comparison covers the writes
    assert not np.array_equal(plain["initial_weights"], plain[f"weights_{N_PRESENTATIONS - 1}"])


@pytest.mark.simulator
def test_reset_state_forgets_the_previous_presentation(backend_name, tmp_path):
    got = _run_probe(backend_name, "reset", tmp_path / "reset.npz")
    assert int(got["busy_post_spikes"]) >= 4, "the presentation in between should make the outputs fire"
    fresh = [got[k] for k in sorted(got) if k.startswith("fresh_")]
    again = [got[k] for k in sorted(got) if k.startswith("again_")]
    assert sum(t.size for t in fresh) > 0
    for i, (a, b) in enumerate(zip(fresh, again)):
        assert np.array_equal(a, b), f"{backend_name}: neuron {i} fires at {b}, on a fresh network at {a}"


def _loop_cost(*args: str) -> subprocess.CompletedProcess:
    from conftest import cli_env

    return subprocess.run([sys.executable, str(HERE.parent / "benchmarks" / "loop_cost.py"), *args],
                          capture_output=True, text=True, env=cli_env(), cwd=HERE.parent, timeout=600)


@pytest.mark.simulator
def test_loop_cost_benchmark_measures_the_real_training_loop(backend_name):
    """A smoke test of the benchmark's measurement (no timing is asserted): 2 epochs of A-D."""
    import json

    spec = {"backend": backend_name, "fast": True, "dataset": "abcd", "epochs": 2, "stop_at_criterion": False,
            "params": "seed"}
    proc = _loop_cost("--worker", "loop", json.dumps(spec))
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got["presentations"] == 16 and got["epochs_run"] == 2 and got["rebuilds"] == 0
    phases = got["per_presentation_ms"]
    assert set(phases) == {"run", "read", "plasticity", "write", "drive", "rebuild", "checkpoint", "other"}
    assert phases["run"] > 0 and phases["read"] > 0 and phases["write"] > 0 and phases["plasticity"] > 0
    assert abs(sum(phases.values()) * 16 / 1000.0 - got["wall_s"]) < 1e-3


def test_loop_cost_benchmark_rejects_an_unknown_backend(tmp_path):
    proc = _loop_cost("--backends", "nest", "brian9", "--out", str(tmp_path / "out"))
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()] and "brian9" in proc.stderr
    assert not (tmp_path / "out").exists()


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parent))
    backend_arg, mode, out_arg, threads_arg = sys.argv[1:5]
    if mode == "reset":
        probe_reset(backend_arg, Path(out_arg))
    else:
        probe(backend_arg, mode == "fast", Path(out_arg), int(threads_arg))
