"""Beyond the seed: the alphabet-capable reward rule, the unsupervised baseline, training
noise and the 8 x 8 digits (issue 6).

Pure functions first (class assignment, the digits split), then short runs on NEST and
NEURON: the reward rule's parameter set (``reward``) learns A-D and stays
right with a flipped pixel; the unsupervised baseline trains, names its outputs and tests
back to the accuracy it trained to; a data set with many images per class trains through
the same loop. The full alphabet and digits figures come from benchmarks/learning_table.py.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import snn_rl
from conftest import run_cli
from snn_rl.experiments.evaluation import Evaluation
from snn_rl.model.dataset import DIGITS_SPLIT_SEED, Dataset, load
from snn_rl.model.params import PARAMETER_SETS, Params, load_params
from snn_rl.model.rules.unsupervised import assign_classes, unsupervised_step, win_matrix

REWARD = PARAMETER_SETS / "reward.yaml"
UNSUPERVISED = PARAMETER_SETS / "unsupervised.yaml"


def _params(path, **sections) -> Params:
    return load_params(str(path)).replace(**sections)


# --- the unsupervised baseline's pure parts ------------------------------------------------

def test_classes_go_to_the_outputs_that_won_them_one_to_one():
    targets = np.array([0, 0, 1, 1, 2, 2])
    counts = np.array([[0, 3, 0], [0, 2, 1], [3, 0, 0], [2, 0, 0], [0, 0, 3], [1, 0, 2]])
    np.testing.assert_array_equal(win_matrix(targets, counts, 3), [[0, 2, 0], [2, 0, 0], [0, 0, 2]])
    np.testing.assert_array_equal(assign_classes(targets, counts, 3), [1, 0, 2])


def test_an_output_that_wins_two_classes_gets_one_and_the_other_goes_elsewhere():
    targets = np.array([0, 1, 2])
    counts = np.array([[3, 0, 1], [3, 0, 0], [0, 0, 3]])  # output 0 answers classes 0 and 1
    order = assign_classes(targets, counts, 3)
    assert sorted(order) == [0, 1, 2] and order[2] == 2


def test_relabel_renames_outputs_and_recomputes_answers():
    ev = Evaluation(labels=("a", "b"), targets=[0, 1], answers=[1, 0],
                    counts=[np.array([0, 3]), np.array([2, 0])], output_spikes=[[[], [1.0]], [[2.0], []]])
    assert ev.accuracy == 0.0
    re = ev.relabelled(np.array([1, 0]))
    assert re.accuracy == 1.0 and re.answers == [0, 1]
    assert re.output_spikes[0] == [[1.0], []]


def test_unsupervised_step_ignores_the_class_and_potentiates_the_winner():
    p = _params(UNSUPERVISED).plasticity
    w = np.full((2, 2), 1.0)
    pre = [np.array([5.0]), np.array([])]
    post = [np.array([8.0]), np.array([])]
    step = unsupervised_step(w, np.zeros(2), pre, post, p, nudge=np.zeros(2))
    assert step.winner == 0 and step.reward == 0.0
    assert step.weights[0, 0] > step.weights[1, 0]  # pre-before-post input gained
    np.testing.assert_allclose(step.weights.sum(axis=0), p.weight_sum_nA)


# --- the digits ----------------------------------------------------------------------------

def test_digits_split_is_fixed_stratified_and_covers_every_image_once():
    from sklearn.datasets import load_digits

    train_set, test_set = load("digits"), load("digits-test")
    assert (train_set.n_images, test_set.n_images) == (1347, 450)
    assert train_set.labels == test_set.labels == tuple("0123456789")
    assert train_set.shape == (8, 8) and set(np.unique(train_set.images)) <= {0, 1}
    for part in (train_set, test_set):
        share = np.bincount(part.targets, minlength=10) / part.n_images
        assert share.min() > 0.09 and share.max() < 0.11  # every digit about a tenth
    # the two parts together are the whole set, binarised: each image in exactly one part
    full = load_digits()
    both = np.concatenate([train_set.images, test_set.images]).reshape(1797, -1)
    whole = (full.images >= 8).astype(np.uint8).reshape(1797, -1)
    key = lambda rows, labels: sorted(r.tobytes() + bytes([t]) for r, t in zip(rows, labels))
    assert key(both, np.concatenate([train_set.targets, test_set.targets])) == key(whole, full.target)
    np.testing.assert_array_equal(load("digits").images, train_set.images)  # the same split every time
    assert DIGITS_SPLIT_SEED == 0


def test_dataset_rejects_targets_outside_its_classes():
    from snn_rl.model.dataset import DatasetError

    with pytest.raises(DatasetError, match="class index"):
        Dataset(name="x", labels=("a", "b"), images=np.zeros((3, 2, 2)), targets=np.array([0, 1, 2]))


# --- on the simulators -----------------------------------------------------------------------

@pytest.mark.simulator
def test_reward_rule_learns_abcd_and_tolerates_a_flipped_pixel(backend_name, tmp_path):
    out = tmp_path / "train"
    run_cli("train", "--backend", backend_name, "--dataset", "abcd", "--seed", "1",
            "--params", str(REWARD), "--out", str(out), "--quiet")
    summary = json.loads((out / "train.json").read_text())
    assert summary["criterion_met"] and summary["epochs_to_criterion"] <= 60
    assert summary["params"]["network"]["inhibition_delay_ms"] == 0.1
    run_cli("test", "--backend", backend_name, "--weights", str(out), "--dataset", "abcd",
            "--noise-flips", "1", "--repeats", "10", "--noise-seed", "1", "--out", str(tmp_path / "noisy"))
    noisy = json.loads((tmp_path / "noisy" / "test.json").read_text())
    assert noisy["n_presentations"] == 40 and noisy["accuracy"] >= 0.8


@pytest.mark.simulator
def test_a_short_rest_gap_trains_the_same_weights_as_the_originals(backend_name, tmp_path):
    """Every presentation starts from an exact state reset, so the learning configurations'
    15 ms rest gap (it holds every spike the window causes) gives what the original 50 ms
    gives (A-D to criterion, 3 alphabet epochs with retries), bit for bit."""
    import yaml

    long_rest = yaml.safe_load(REWARD.read_text())
    assert long_rest["network"]["rest_ms"] == 15.0
    long_rest["network"]["rest_ms"] = 50.0
    for dataset, epochs in (("abcd", "60"), ("alphabet", "3")):
        runs = {}
        for name, params in (("short", str(REWARD)), ("long", json.dumps(long_rest))):
            out = tmp_path / f"{dataset}-{name}"
            run_cli("train", "--backend", backend_name, "--dataset", dataset, "--seed", "2", "--epochs", epochs,
                    "--params", params, "--out", str(out), "--quiet")
            runs[name] = (np.load(out / "weights.npz")["weights_nA"], json.loads((out / "train.json").read_text()))
        (short, short_summary), (long, long_summary) = runs["short"], runs["long"]
        np.testing.assert_array_equal(short, long)
        assert short_summary["learning_curve"] == long_summary["learning_curve"]
        assert short_summary["simulated_ms"] == pytest.approx(long_summary["simulated_ms"] * 115 / 150)
    assert sum(h["retries"] for h in long_summary["learning_curve"]) > 0


@pytest.mark.simulator
def test_unsupervised_baseline_names_its_outputs_and_tests_back_to_its_training_accuracy(tmp_path):
    out = tmp_path / "train"
    run_cli("train", "--backend", "nest", "--dataset", "abcd", "--seed", "2", "--epochs", "15",
            "--params", str(UNSUPERVISED), "--out", str(out), "--quiet")
    summary = json.loads((out / "train.json").read_text())
    assert summary["params"]["plasticity"]["rule"] == "unsupervised"
    assert all(h["mean_reward"] == 0.0 for h in summary["learning_curve"])  # no reward was used
    run_cli("test", "--backend", "nest", "--weights", str(out), "--dataset", "abcd", "--out", str(tmp_path / "test"))
    result = json.loads((tmp_path / "test" / "test.json").read_text())
    assert result["accuracy"] == pytest.approx(summary["best_eval_accuracy"])
    assert summary["best_eval_accuracy"] >= 0.25


@pytest.mark.simulator
def test_many_images_per_class_and_training_noise_go_through_the_loop(tmp_path):
    digits = load("digits")
    pick = np.concatenate([np.flatnonzero(digits.targets == c)[:4] for c in range(3)])
    small = Dataset(name="digits-small", labels=("0", "1", "2"), images=digits.images[pick], targets=digits.targets[pick])
    params = _params(REWARD, training={"max_epochs": 2, "stop_at_criterion": False, "noise_flips": 2})
    runs = [snn_rl.train(params, small, "nest", tmp_path / f"s{seed}-{i}", seed=seed, progress=False)
            for i, seed in enumerate((3, 3, 4))]
    first = runs[0].summary
    assert first["epochs_run"] == 2 and first["labels"] == ["0", "1", "2"]
    retries = sum(h["retries"] for h in first["learning_curve"])
    assert retries > 0  # wrong answers were tried again with an exploration bias
    presentation_ms = params.network.window_ms + params.network.rest_ms
    assert first["simulated_ms"] == pytest.approx((2 * 2 * 12 + retries) * presentation_ms)  # train, retries, evaluate
    for h in first["learning_curve"]:
        assert h["train_correct"] * 12 == pytest.approx(round(h["train_correct"] * 12))
    np.testing.assert_array_equal(runs[0].trained.weights, runs[1].trained.weights)  # seeded noise
    assert not np.array_equal(runs[0].trained.weights, runs[2].trained.weights)
