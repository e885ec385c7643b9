"""K outputs per class: the vote (model/decision.py), the groups rule (model/rules/groups.py) and
the weights files and parameters that carry K. Pure logic, no simulator."""

import dataclasses

import numpy as np
import pytest

from snn_rl.experiments.evaluation import Evaluation
from snn_rl.experiments.storage import StorageError, check_trained
from snn_rl.model import rules
from snn_rl.model.decision import (answer_outputs, answering, class_counts, output_names, outputs_per_class,
                                   winner)
from snn_rl.model.params import Params, load_params
from snn_rl.model.rules.groups import credited_output, groups_step, pull, push, rival
from snn_rl.model.rules.stdp import l2_columns, norm_for_data, normalise


def test_the_vote_sums_each_group_and_needs_a_strict_maximum():
    # classes 0, 1, 2 with two outputs each: group sums 3, 4, 0
    counts = np.array([3, 0, 2, 2, 0, 0])
    assert class_counts(counts, 2).tolist() == [3, 4, 0]
    assert winner(counts, 2) == 1  # the single output with most spikes (3) is in class 0: the vote differs
    assert winner(counts, 1) == 0
    assert winner(np.array([2, 1, 3, 0]), 2) == -1  # 3 against 3: a tie is no answer
    assert winner(np.zeros(6, int), 3) == -1
    with pytest.raises(ValueError, match="groups of 4"):
        class_counts(np.arange(6), 4)


def test_the_answering_output_is_the_most_active_in_the_winning_group():
    counts = np.array([3, 0, 2, 2, 0, 0])
    assert answering(counts, 2).tolist() == [False, False, True, True, False, False]
    together = [np.array([1.0, 2.0, 3.0]), np.array([]), np.array([4.0, 5.0]), np.array([4.0, 6.0]), [], []]
    assert answer_outputs(counts, together, 1, 2).tolist() == [2, 3]  # two outputs of the winning group tie
    apart = [np.array([1.0, 2.0, 3.0]), np.array([]), np.array([4.2, 5.0]), np.array([4.1, 6.0]), [], []]
    assert answer_outputs(counts, apart, 1, 2).tolist() == [3]  # ... unless one fired first
    assert answer_outputs(np.array([3, 0, 3, 1, 0, 0]), apart, 1, 2).tolist() == [2]
    assert answering(np.array([0, 2, 1, 0]), 1).tolist() == [False, True, False, False]  # K = 1 as before


def test_outputs_per_class_and_names():
    assert outputs_per_class(30, 10) == 3
    with pytest.raises(ValueError, match="equal groups"):
        outputs_per_class(31, 10)
    assert output_names(("A", "B"), 1) == ["A", "B"]
    assert output_names(("A", "B"), 2) == ["A.0", "A.1", "B.0", "B.1"]


def test_an_evaluation_scores_the_groups():
    ev = Evaluation(labels=("A", "B"), targets=[0, 1], answers=[0, -1], k=2,
                    counts=[np.array([1, 2, 1, 0]), np.array([1, 1, 2, 0])])
    assert ev.votes().tolist() == [[3, 1], [2, 2]]
    assert ev.margins().tolist() == [2, 0]
    assert ev.summary()["outputs_per_class"] == 2


def _trained(n_out: int) -> dict:
    return {"weights_nA": np.full((30, n_out), 0.1), "input_gains": np.ones(30), "labels": np.array(["A", "B", "C"]),
            "image_shape": np.array([5, 3]), "input_encoding": np.array("on_off")}


def test_a_weights_file_holds_a_whole_number_of_outputs_per_class():
    assert check_trained(_trained(9), "w").outputs_per_class == 3
    for bad in (4, 2, 0):
        with pytest.raises(StorageError, match="K outputs per class"):
            check_trained(_trained(bad), "w")


def test_parameters_take_k_and_refuse_it_for_the_unsupervised_rule():
    assert Params().network.outputs_per_class == 1
    assert load_params('{"network": {"outputs_per_class": 10}}').network.outputs_per_class == 10
    with pytest.raises(ValueError, match="outputs_per_class must be in"):
        load_params('{"network": {"outputs_per_class": 0}}')
    with pytest.raises(ValueError, match="needs network.outputs_per_class 1"):
        load_params('{"network": {"outputs_per_class": 2}, "plasticity": {"rule": "unsupervised"}}')
    with pytest.raises(ValueError, match="init_weights must be one of"):
        load_params('{"plasticity": {"init_weights": "zeros"}}')


def test_the_euclidean_norm_replaces_the_sum_when_set():
    p = load_params('{"plasticity": {"weight_norm_nA": 2.0}}').plasticity
    w = normalise(np.array([[3.0, 0.0], [4.0, 0.0]]), p)
    assert np.allclose(w[:, 0], [1.2, 1.6]) and np.all(w[:, 1] == 0)
    assert np.allclose(np.linalg.norm(l2_columns(np.ones((4, 3)), 0.5), axis=0), 0.5)


def _spikes(active: np.ndarray, counts: np.ndarray):
    pre = [np.array([10.0]) if a else np.array([]) for a in active]
    post = [np.arange(c, dtype=float) + 20.0 for c in counts]
    return pre, post


#: the groups rule's parameters as training on the 8 x 8 digits resolves them (64 active inputs)
P = norm_for_data(load_params("reward-groups").plasticity, [np.ones(64)])


def test_the_weight_norm_follows_the_images_from_the_matching_drive():
    p = load_params("reward-groups").plasticity
    assert p.weight_norm_nA == 0 and p.match_drive_nA > 0
    digits = norm_for_data(p, [np.r_[np.ones(64), np.zeros(64)]] * 3)
    assert digits.weight_norm_nA == 0.7 and digits.match_drive_nA == 0  # 5.6 nA / sqrt(64)
    letters = norm_for_data(p, [np.r_[np.ones(15), np.zeros(15)], np.r_[np.zeros(15), np.ones(15)]])
    assert letters.weight_norm_nA == pytest.approx(5.6 / np.sqrt(15))
    assert norm_for_data(digits, [np.ones(3)]) is digits  # nothing to resolve
    with pytest.raises(ValueError, match="drive none"):
        norm_for_data(p, [np.zeros(30)])
    with pytest.raises(ValueError, match="match_drive_nA sets"):
        load_params("reward-groups").merged({"plasticity": {"weight_norm_nA": 0.7}})


def _rule_state(n_out: int, k: int):
    return rules.create(P, k).initial_state(n_out)


def test_a_right_answer_pulls_the_credited_output_towards_the_image():
    k, x = 2, np.array([1, 0, 1, 0.0])
    w = l2_columns(np.ones((4, 4)), P.weight_norm_nA)
    st = _rule_state(4, k)
    pre, post = _spikes(x, np.array([0, 0, 2, 1]))
    # (every output has the same drive here: without rival_push = 0 a rival would be pushed too)
    new, st2, answer, rewarded = groups_step(w, st, pre, post, target=1, p=dataclasses.replace(P, rival_push=0.0), k=k)
    assert (answer, rewarded) == (1, True)
    moved = np.flatnonzero(np.any(~np.isclose(new, w), axis=0))
    assert moved.size == 1 and moved[0] in (2, 3)  # one output of the rewarded group, none elsewhere
    c = moved[0]
    assert new[0, c] > w[0, c] and new[1, c] < w[1, c]  # towards the active inputs
    assert st2["credits"][c] == 1 and st2["share"][c] > st["share"][c]


def test_a_right_answer_pushes_a_close_rival_of_another_group_away():
    k, x = 2, np.array([1, 1, 1, 0.0])
    w = l2_columns(np.array([[1, 0, 1, 0], [1, 0, 1, 0], [0, 1, 1, 1], [1, 1, 0, 1.0]]), P.weight_norm_nA)
    # drives of the image: 1.73 for output 2 (group 1), 1.15 for output 0 and 0.71 for output 1 (group 0)
    pre, post = _spikes(x, np.array([0, 0, 2, 0]))
    on = dataclasses.replace(P, rival_push=0.2, rival_window=0.4)
    assert rival(w, x, 1, k, 0.4) == 0 and rival(w, x, 1, k, 0.3) == -1
    assert rival(w, x, 0, 4, 1.0) == -1  # one group of four: no rival
    new, *_ = groups_step(w, _rule_state(4, k), pre, post, target=1, p=on, k=k)
    assert new[0, 0] < w[0, 0] and new[3, 0] > w[3, 0]  # output 0 (class 0) moved away from the image
    assert np.allclose(new[:, 1], w[:, 1])  # the far rival is left alone
    narrow = dataclasses.replace(on, rival_window=0.3)
    new, *_ = groups_step(w, _rule_state(4, k), pre, post, target=1, p=narrow, k=k)
    assert np.allclose(new[:, :2], w[:, :2])  # outside the window: no push
    # a right answer on a retry (not the image's first showing) pushes no rival
    new, *_ = groups_step(w, _rule_state(4, k), pre, post, target=1, p=on, k=k, first=False)
    assert np.allclose(new[:, :2], w[:, :2])
    off = dataclasses.replace(on, rival_push=0.0)
    new, *_ = groups_step(w, _rule_state(4, k), pre, post, target=1, p=off, k=k)
    assert np.allclose(new[:, :2], w[:, :2])


def test_a_wrong_answer_pushes_the_answering_output_and_suppresses_its_group_in_the_retry():
    k, x = 2, np.array([1, 0, 1, 0.0])
    w = l2_columns(np.ones((4, 4)), P.weight_norm_nA)
    rule = rules.create(P, k)
    st = rule.initial_state(4)
    pre, post = _spikes(x, np.array([0, 3, 1, 0]))
    update = rule.update(w, st, pre, post, 1, nudge=np.zeros(4), explored=-1)
    assert update.winner == 0 and not update.rewarded
    assert update.weights[0, 1] < w[0, 1] and np.allclose(update.weights[:, 2:], w[:, 2:])
    assert update.state["blocked"].tolist() == [1, 1, 0, 0]
    again = rule.retry(update, update.state, np.random.default_rng(0))
    assert again == 2
    bias = rule.output_bias(again, 4, update.state)
    assert bias.tolist() == [-P.suppress_nA, -P.suppress_nA, 0.0, 0.0]
    # the next image's first showing starts with nothing suppressed
    pre, post = _spikes(x, np.array([0, 0, 2, 0]))
    nxt = rule.update(update.weights, update.state, pre, post, 1, nudge=np.zeros(4), explored=-1)
    assert nxt.rewarded and nxt.state["blocked"].sum() == 0


def test_no_answer_explores_one_output_of_the_groups_not_ruled_out():
    rule = rules.create(P, 2)
    st = rule.initial_state(4)
    w = l2_columns(np.ones((4, 4)), P.weight_norm_nA)
    pre, post = _spikes(np.array([1, 0, 1, 0.0]), np.array([1, 0, 1, 0]))  # two groups tie
    update = rule.update(w, st, pre, post, 1, nudge=np.zeros(4), explored=-1)
    assert update.winner == -1 and np.allclose(update.weights, w)
    picks = {rule.retry(update, update.state, np.random.default_rng(s)) for s in range(20)}
    assert picks == {0, 1, 2, 3}
    assert rule.output_bias(3, 4, update.state)[3] == P.explore_bias_nA


def test_the_conscience_hands_credit_to_a_neighbour_that_has_taken_less():
    x = np.array([1.0, 1.0, 0.0])
    w = np.array([[1.0, 0.9], [1.0, 0.9], [0.0, 0.3]])
    group = np.array([0, 1])
    assert credited_output(w, x, group, np.array([0.5, 0.5]), 4.0, 2) == 0
    assert credited_output(w, x, group, np.array([0.9, 0.1]), 4.0, 2) == 1
    assert credited_output(w, x, group, np.array([0.9, 0.1]), 0.0, 2) == 0


def test_pull_and_push_keep_the_norm_and_push_stops_at_zero():
    col, x = np.array([0.6, 0.8, 0.0]), np.array([1.0, 0.0, 0.0])
    assert np.isclose(np.linalg.norm(pull(col, x, 0.5)), 1.0, atol=0.2)
    assert np.allclose(pull(col, x, 1.0), [1.0, 0.0, 0.0])
    assert np.all(push(col, x, 5.0) >= 0)


def test_input_mean_initial_weights_are_the_mean_image_plus_the_draw():
    rule = rules.create(P, 2)
    mean = np.array([1.0, 0.0, 0.5])
    w = rule.initial_weights(np.zeros((3, 4)), mean)
    assert np.allclose(w, l2_columns(np.repeat(mean[:, None], 4, axis=1), P.weight_norm_nA))


def test_the_first_spike_settles_a_tie_between_groups():
    from snn_rl.model.decision import decide

    counts = np.array([1, 0, 0, 1])  # groups 0 and 1 tie at one spike each
    assert winner(counts, 2) == -1
    assert winner(counts, 2, first=np.array([12.3, np.inf, np.inf, 12.2])) == 1
    assert winner(counts, 2, first=np.array([12.3, np.inf, np.inf, 12.3])) == -1  # same step: still a tie
    assert winner(np.array([2, 0, 0, 1]), 2, first=np.array([30.0, np.inf, np.inf, 1.0])) == 0  # no tie: counts rule
    spikes = [np.array([12.3]), np.array([]), np.array([]), np.array([12.2])]
    assert decide(spikes, 2, "none") == -1 and decide(spikes, 2, "first_spike") == 1
    with pytest.raises(ValueError, match="tie rule"):
        decide(spikes, 2, "coin")
    with pytest.raises(ValueError, match="tie_rule must be one of"):
        load_params('{"network": {"tie_rule": "coin"}}')


def test_the_bundle_settles_ties_as_the_model_does():
    import importlib.util
    from pathlib import Path

    import snn_rl.deployment

    path = Path(snn_rl.deployment.__file__).with_name("bundle_run.py")
    spec = importlib.util.spec_from_file_location("bundle_run_copy", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rng = np.random.default_rng(0)
    for _ in range(200):
        counts = rng.integers(0, 3, 6)
        first = np.where(counts > 0, rng.integers(0, 4, 6) * 0.1 + 10.0, np.inf)
        assert module.winner(counts, 2, first) == winner(counts, 2, first)
        assert module.winner(counts, 3) == winner(counts, 3)


def test_a_tie_settled_by_the_first_spike_blames_only_the_answering_group():
    rule = rules.create(P, 2, "first_spike")
    w = l2_columns(np.ones((4, 4)), P.weight_norm_nA)
    pre = [np.array([10.0]), np.array([]), np.array([10.0]), np.array([])]
    post = [np.array([20.0]), np.array([]), np.array([20.1]), np.array([])]  # group 0 fired first
    update = rule.update(w, rule.initial_state(4), pre, post, 1, nudge=np.zeros(4), explored=-1)
    assert update.winner == 0 and not update.rewarded
    assert update.weights[0, 0] < w[0, 0] and np.allclose(update.weights[:, 1:], w[:, 1:])
