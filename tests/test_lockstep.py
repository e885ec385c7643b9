"""Lockstep replay: the protocol, the comparison metrics, and real replays on NEST, NEURON and Brian 2."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import run_cli
from snn_rl.analysis.agreement import compare, compare_all, majority, majority_line
from snn_rl.experiments.lockstep import (
    Recording, load_protocol, load_recording, make_protocol, save_protocol, save_recording,
)
from snn_rl.experiments.storage import StorageError, TrainedWeights, save_weights
from snn_rl.model.dataset import builtin
from snn_rl.model.params import Params


def _trained(seed: int = 0) -> TrainedWeights:
    rng = np.random.default_rng(seed)
    return TrainedWeights(weights=rng.uniform(0.2, 1.6, (15, 4)), input_gains=1 + rng.uniform(-0.05, 0.05, 15),
                          labels=("A", "B", "C", "D"), image_shape=(5, 3), input_encoding="ones")


def _protocol(seed: int = 1, windows: int = 10, jitter: float = 0.3, flips: int = 1):
    return make_protocol(_trained(), builtin("abcd"), Params(), windows, seed, jitter, flips, source="test")


def test_protocol_is_determined_by_its_seed():
    a, b, c = _protocol(seed=1), _protocol(seed=1), _protocol(seed=2)
    assert a.digest() == b.digest()
    assert np.array_equal(a.weights, b.weights) and np.array_equal(a.drives, b.drives)
    assert a.digest() != c.digest()
    assert not np.array_equal(a.weights, c.weights)


def test_protocol_weights_are_perturbed_trained_weights_within_bounds():
    p = _protocol(windows=50, jitter=0.5)
    bounds = Params().plasticity
    assert p.weights.shape == (50, 15, 4)
    assert p.weights.min() >= bounds.w_min_nA and p.weights.max() <= bounds.w_max_nA
    assert 0.2 < np.std(p.weights - _trained().weights) < 0.6
    assert np.array_equal(_protocol(jitter=0.0).weights[3], _trained().weights)


def test_protocol_inputs_are_the_characters_with_flipped_pixels():
    data = builtin("abcd")
    p = _protocol(windows=30, flips=2)
    flipped = [int(np.sum(d != data.images[t].ravel())) for d, t in zip(p.drives, p.targets)]
    assert flipped == [2] * 30
    assert set(p.targets.tolist()) <= {0, 1, 2, 3} and len(set(p.targets.tolist())) > 1


def test_protocol_round_trip_and_corruption(tmp_path):
    p = _protocol()
    save_protocol(tmp_path / "p.npz", p)
    q = load_protocol(tmp_path / "p.npz")
    assert q.digest() == p.digest() and q.network == p.network and q.labels == p.labels
    with np.load(tmp_path / "p.npz") as data:
        arrays = {k: data[k] for k in data.files}
    arrays["weights_nA"] = arrays["weights_nA"] + 0.1
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(StorageError, match="corrupted"):
        load_protocol(tmp_path / "bad.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip file")
    with pytest.raises(StorageError, match="junk.npz"):
        load_protocol(tmp_path / "junk.npz")


def _recording(backend: str, spikes, digest: str = "d", tie_rule: str = "none") -> Recording:
    """Two inputs and two outputs per window; 100 ms window, 150 ms presentation."""
    return Recording(backend=backend, protocol_digest=digest, labels=("A", "B"), n_inputs=2, window_ms=100.0,
                     presentation_ms=150.0, spikes=[[np.array(t, dtype=float) for t in w] for w in spikes],
                     wall_seconds=0.0, tie_rule=tie_rule)


WINDOWS = [
    [[10, 40, 70], [12, 45], [20, 50, 80], []],
    [[10, 40, 70], [12, 45], [], [30]],
]


def test_identical_recordings_agree_completely():
    r = compare(_recording("x", WINDOWS), _recording("y", WINDOWS))
    for part in ("all", "inputs", "outputs"):
        assert r[part]["exact_match_rate"] == 1.0
        assert r[part]["within_one_rate"] == 1.0
        assert r[part]["window_exact_match_rate"] == 1.0
        assert r[part]["mean_abs_rate_diff_hz"] == 0.0
        assert r[part]["van_rossum_mean"] == pytest.approx(0.0, abs=1e-6)
    assert r["winner_agreement"] == 1.0
    assert r["b_minus_a_spike_time_ms"] == 0.0


def test_count_and_timing_differences_are_measured():
    other = [
        [[9, 39, 69], [11, 44], [20, 50, 80], [60]],   # inputs 1 ms earlier; output B gains a spike
        [[10, 40, 70], [12, 45], [], [30, 60, 90]],    # output B: 1 -> 3 spikes
    ]
    r = compare(_recording("a", WINDOWS), _recording("b", other))
    assert r["outputs"]["neuron_windows"] == 4
    assert r["outputs"]["exact_match_rate"] == 0.5
    assert r["outputs"]["within_one_rate"] == 0.75
    assert r["outputs"]["window_exact_match_rate"] == 0.0
    assert r["outputs"]["count_diff_histogram"] == {"0": 2, "1": 1, "2": 1}
    assert r["outputs"]["mean_abs_rate_diff_hz"] == pytest.approx((0 + 1 + 0 + 2) / 4 * 10.0)
    assert r["inputs"]["exact_match_rate"] == 1.0
    # equal-count trains: window 0 inputs 1 ms earlier (5 spikes), the rest unchanged
    assert r["b_minus_a_spike_time_ms"] == pytest.approx(-5 / (5 + 5 + 3))
    # window 0: A wins on both (3 vs 0, 3 vs 1); window 1: B wins on both
    assert r["winner_agreement"] == 1.0
    # Elephant's normalisation: two extra spikes far from the others give about sqrt(2)
    assert r["outputs"]["van_rossum_max"] == pytest.approx(np.sqrt(2), rel=0.1)


def test_winner_agreement_settles_ties_by_the_networks_tie_rule(tmp_path):
    # two spikes each: A fires first on backend a, B first on backend b
    a = [[[10], [12], [5, 50], [7, 60]]]
    b = [[[10], [12], [8, 50], [6, 60]]]
    # without a tie rule both windows are no answer: the same answer
    assert compare(_recording("a", a), _recording("b", b))["winner_agreement"] == 1.0
    # with first_spike, a answers A and b answers B
    ra, rb = _recording("a", a, tie_rule="first_spike"), _recording("b", b, tie_rule="first_spike")
    assert compare(ra, rb)["winner_agreement"] == 0.0
    # the tie rule is kept in the recording file
    save_recording(tmp_path / "a.npz", ra)
    assert load_recording(tmp_path / "a.npz").tie_rule == "first_spike"
    with np.load(tmp_path / "a.npz") as data:
        arrays = {k: data[k] for k in data.files}
    meta = json.loads(str(arrays["meta_json"]))
    arrays["meta_json"] = np.array(json.dumps({**meta, "tie_rule": "coin"}))
    np.savez(tmp_path / "edited.npz", **arrays)
    with pytest.raises(StorageError, match="tie rule"):
        load_recording(tmp_path / "edited.npz")


def test_van_rossum_of_one_spike_against_none_is_one():
    a = _recording("a", [[[], [], [50], []]])
    b = _recording("b", [[[], [], [], []]])
    assert compare(a, b, tau_ms=10.0)["outputs"]["van_rossum_max"] == pytest.approx(1.0, abs=1e-6)


def test_recordings_of_different_protocols_are_not_compared():
    with pytest.raises(ValueError, match="different protocols"):
        compare(_recording("a", WINDOWS, "p1"), _recording("b", WINDOWS, "p2"))
    with pytest.raises(ValueError, match="at least 2"):
        compare_all([_recording("a", WINDOWS)])


def test_majority_names_the_backend_that_differs():
    windows = [
        [[10], [20], [30], []],
        [[10], [20], [30], []],
        [[10], [20], [30], []],
        [[10], [20], [30], []],
    ]

    def changed(edits):
        w = [[list(t) for t in win] for win in windows]
        for (win, neuron), times in edits.items():
            w[win][neuron] = times
        return w

    recs = [
        _recording("nest", windows),
        # window 1: an extra input spike on neuron (only timing differs in window 3: still agree)
        _recording("neuron", changed({(1, 0): [10, 50], (3, 2): [31]})),
        # window 2: an extra output spike; window 3: everyone differs from everyone
        _recording("brian2", changed({(2, 3): [60], (3, 2): [30, 70]})),
    ]
    recs[0].spikes[3][2] = np.array([30.0, 70.0, 90.0])
    m = majority(recs)
    assert m["backends"] == ["nest", "neuron", "brian2"] and m["windows"] == 4
    assert m["all"]["verdicts"] == ["all agree", "neuron differs", "brian2 differs", "no majority"]
    assert m["all"]["differs"] == {"nest": 0, "neuron": 1, "brian2": 1}
    assert (m["all"]["all_agree"], m["all"]["no_majority"], m["all"]["several_differ"]) == (1, 1, 0)
    # the outputs alone: neuron's extra input spike does not count
    assert m["outputs"]["verdicts"] == ["all agree", "all agree", "brian2 differs", "no majority"]
    assert majority_line(m) == "of 4 windows (all neurons' counts): 1 all agree, 1 neuron differs, 1 brian2 differs, 1 no majority"
    # five backends, two of them off in the same way: a majority of three, two differ
    five = recs[:1] * 3 + [_recording("a", changed({(0, 0): []})), _recording("b", changed({(0, 0): []}))]
    for k, r in enumerate(five[:3]):
        five[k] = _recording(f"x{k}", r.spikes)
    # (window 3: the three copies of nest's recording against a and b's one spike)
    assert majority(five)["all"]["verdicts"] == ["a, b differ", "all agree", "all agree", "a, b differ"]
    assert majority(five)["all"]["several_differ"] == 2
    # two backends that differ: no majority
    assert majority(recs[:2])["all"]["verdicts"][1] == "no majority"
    with pytest.raises(ValueError, match="different protocols"):
        majority([recs[0], _recording("z", windows, "other")])


def test_recording_round_trip(tmp_path):
    r = _recording("a", WINDOWS)
    save_recording(tmp_path / "r.npz", r)
    q = load_recording(tmp_path / "r.npz")
    assert q.backend == "a" and q.n_windows == 2
    assert np.array_equal(q.counts(), r.counts())
    assert compare(r, q)["all"]["exact_match_rate"] == 1.0


@pytest.mark.simulator
def test_three_simulators_replay_one_protocol_in_lockstep(tmp_path):
    """The same inputs and weights on NEST, NEURON and Brian 2: spike counts agree to within one
    spike, and the three-way vote names the simulator that differs."""
    save_weights(tmp_path / "weights.npz", _trained())
    run_cli("lockstep", "protocol", "--weights", str(tmp_path / "weights.npz"), "--windows", "24",
            "--noise-flips", "1", "--out", str(tmp_path / "protocol.npz"))
    for name, backend in (("nest", "nest"), ("neuron", "neuron"), ("neuron2", "neuron"), ("brian2", "brian2")):
        run_cli("lockstep", "run", "--backend", backend, "--protocol", str(tmp_path / "protocol.npz"),
                "--out", str(tmp_path / f"{name}.npz"))
    proc = run_cli("lockstep", "compare", str(tmp_path / "nest.npz"), str(tmp_path / "neuron.npz"),
                   str(tmp_path / "brian2.npz"),
                   "--out", str(tmp_path / "agreement.json"), "--figure", str(tmp_path / "agreement.png"))
    assert "lockstep nest vs neuron" in proc.stdout and "lockstep neuron vs brian2" in proc.stdout
    assert "lockstep majority: of 24 windows" in proc.stdout
    assert (tmp_path / "agreement.png").stat().st_size > 10_000
    result = json.loads((tmp_path / "agreement.json").read_text())
    across, nest_brian2, _ = result["pairs"]
    # two exact integrators (NEST, Brian 2): the same inputs fire the same counts
    assert (nest_brian2["a"], nest_brian2["b"]) == ("nest", "brian2")
    assert nest_brian2["inputs"]["exact_match_rate"] == 1.0
    assert nest_brian2["all"]["within_one_rate"] >= 0.98
    vote = result["majority"]["all"]
    assert len(vote["verdicts"]) == 24 and vote["no_majority"] + vote["all_agree"] + sum(vote["differs"].values()) == 24
    assert vote["all_agree"] >= 18
    assert (across["a"], across["b"]) == ("nest", "neuron")
    assert across["outputs"]["neuron_windows"] == 24 * 4
    assert across["inputs"]["within_one_rate"] == 1.0
    assert across["all"]["within_one_rate"] >= 0.98
    assert across["all"]["mean_rate_a_hz"] > 5.0, "the protocol must make the network fire"
    # a replay is deterministic: the same backend twice agrees spike for spike
    again = compare(load_recording(tmp_path / "neuron.npz"), load_recording(tmp_path / "neuron2.npz"))
    assert again["all"]["exact_match_rate"] == 1.0
    assert again["all"]["van_rossum_mean"] == pytest.approx(0.0, abs=1e-6)
    # the same backend twice is refused: every recording must come from another simulator
    bad = run_cli("lockstep", "compare", str(tmp_path / "neuron.npz"), str(tmp_path / "neuron2.npz"),
                  "--out", str(tmp_path / "twice.json"), check=False)
    assert bad.returncode == 2 and "each backend once" in bad.stderr
    assert not (tmp_path / "twice.json").exists()
