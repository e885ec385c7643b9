"""The reward-modulated STDP rule as pure functions: no simulator involved."""

import dataclasses

import numpy as np
import pytest

from snn_rl.model.params import load_params
from snn_rl.model.decision import winner
from snn_rl.model.rules.reward import plasticity_step, reward, reward_error, update_baseline, update_weights
from snn_rl.model.rules.stdp import eligibility

#: the seed's rule: the three label-free terms on, no weight-sum normalisation
P = load_params("seed").plasticity


def trains(*lists):
    return [np.array(x, dtype=float) for x in lists]


def test_pre_before_post_gives_positive_eligibility_with_exponential_window():
    e = eligibility(trains([10.0]), trains([15.0]), tau_plus_ms=20.0, tau_minus_ms=20.0, a_plus=0.7)
    assert e.shape == (1, 1)
    assert e[0, 0] == pytest.approx(0.7 * np.exp(-5.0 / 20.0))


def test_post_before_pre_gives_negative_eligibility():
    e = eligibility(trains([15.0]), trains([10.0]), tau_plus_ms=20.0, tau_minus_ms=10.0, a_minus=0.5)
    assert e[0, 0] == pytest.approx(-0.5 * np.exp(-5.0 / 10.0))


def test_simultaneous_spikes_contribute_nothing_and_silence_gives_zero():
    assert eligibility(trains([10.0]), trains([10.0]), 20.0, 20.0)[0, 0] == 0.0
    assert not eligibility(trains([], [1.0]), trains([], []), 20.0, 20.0).any()


def test_all_pairs_are_summed_per_synapse():
    pre = trains([0.0, 30.0], [50.0])
    post = trains([10.0], [])
    e = eligibility(pre, post, tau_plus_ms=20.0, tau_minus_ms=20.0)
    expected_00 = np.exp(-10 / 20) - np.exp(-20 / 20)
    expected_10 = -np.exp(-40 / 20)
    np.testing.assert_allclose(e, [[expected_00, 0.0], [expected_10, 0.0]])


def test_winner_needs_a_strict_maximum():
    assert winner(np.array([0, 3, 1])) == 1
    assert winner(np.array([2, 2, 0])) == -1
    assert winner(np.array([0, 0, 0])) == -1


def test_reward_sign_follows_the_winner_not_silence():
    assert reward(2, 2, P) == P.reward_correct > 0
    assert reward(1, 2, P) == P.reward_wrong < 0
    assert reward(-1, 2, P) == P.reward_wrong  # a silent network is wrong


def test_baseline_tracks_reward_but_never_absorbs_punishment():
    b = np.zeros(2)
    for _ in range(100):
        b = update_baseline(b, 0, P.reward_wrong, P)
    assert b[0] == pytest.approx(P.baseline_min)
    assert reward_error(P.reward_wrong, b, 0) < 0  # still punishing: learning continues
    for _ in range(100):
        b = update_baseline(b, 1, P.reward_correct, P)
    assert b[1] == pytest.approx(P.reward_correct, abs=1e-6)
    assert abs(reward_error(P.reward_correct, b, 1)) < 1e-6  # learned: no further change
    assert b is not update_baseline(b, 0, 1.0, P)


def _only_reward_term(**kw):
    return dataclasses.replace(P, homeostasis_nA=0.0, loser_depression_nA=0.0, exploration_nA=0.0, **kw)


@pytest.mark.parametrize("error,sign", [(1.0, 1), (-1.0, -1)])
def test_weight_change_is_reward_error_times_eligibility(error, sign):
    p = _only_reward_term(learning_rate_nA=0.1)
    w = np.full((2, 2), 1.0)
    e = np.array([[1.0, 0.0], [-0.5, 0.0]])
    new = update_weights(w, e, error, np.ones(2), np.array([3, 0]), 0, error > 0, p)
    np.testing.assert_allclose(new - w, 0.1 * error * e)
    assert np.sign(new[0, 0] - 1.0) == sign
    assert new is not w and np.all(w == 1.0)


def test_weights_stay_within_bounds():
    p = _only_reward_term(learning_rate_nA=10.0, w_min_nA=0.0, w_max_nA=2.0)
    w = np.full((1, 2), 1.0)
    up = update_weights(w, np.array([[1.0, -1.0]]), 1.0, np.ones(1), np.array([1, 1]), -1, False, p)
    np.testing.assert_array_equal(up, [[2.0, 0.0]])


def test_homeostasis_pulls_a_rewarded_winner_towards_the_target_count():
    p = dataclasses.replace(P, learning_rate_nA=0.0, loser_depression_nA=0.0, homeostasis_nA=0.1, target_spikes=3)
    w = np.full((2, 2), 1.0)
    active = np.array([1.0, 0.0])
    quiet = update_weights(w, np.zeros((2, 2)), 0.0, active, np.array([1, 0]), 0, True, p)
    loud = update_weights(w, np.zeros((2, 2)), 0.0, active, np.array([5, 0]), 0, True, p)
    assert quiet[0, 0] == pytest.approx(1.2) and loud[0, 0] == pytest.approx(0.8)
    assert quiet[1, 0] == 1.0 and quiet[0, 1] == 1.0  # inactive input, other neuron untouched


def test_exploration_only_on_wrong_answers_and_never_for_the_wrong_winner():
    p = dataclasses.replace(P, learning_rate_nA=0.0, loser_depression_nA=0.0, homeostasis_nA=0.0, exploration_nA=0.5)
    w = np.ones((1, 3))
    nudge = np.array([0.2, 0.4, 0.6])
    wrong = update_weights(w, np.zeros((1, 3)), -1.0, np.ones(1), np.array([3, 0, 0]), 0, False, p, nudge)
    np.testing.assert_allclose(wrong, [[1.0, 1.2, 1.3]])
    silent = update_weights(w, np.zeros((1, 3)), -1.0, np.ones(1), np.zeros(3, int), -1, False, p, nudge)
    np.testing.assert_allclose(silent, [[1.1, 1.2, 1.3]])
    right = update_weights(w, np.zeros((1, 3)), 1.0, np.ones(1), np.array([3, 0, 0]), 0, True, p, nudge)
    np.testing.assert_allclose(right, w)


def test_co_firing_losers_are_depressed():
    p = dataclasses.replace(P, learning_rate_nA=0.0, homeostasis_nA=0.0, loser_depression_nA=0.1)
    w = np.ones((1, 3))
    new = update_weights(w, np.zeros((1, 3)), 0.0, np.ones(1), np.array([3, 1, 0]), 0, True, p)
    np.testing.assert_allclose(new, [[1.0, 0.9, 1.0]])


def test_plasticity_step_potentiates_the_right_winner_and_depresses_a_wrong_one():
    p = dataclasses.replace(P, homeostasis_nA=0.0, loser_depression_nA=0.0, exploration_nA=0.0)
    pre = trains([10.0, 40.0], [])
    post = trains([12.0, 42.0], [])
    w = np.full((2, 2), 1.0)
    b = np.zeros(2)
    good = plasticity_step(w, b, pre, post, target=0, p=p, nudge=np.zeros(2))
    assert good.winner == 0 and good.reward > 0 and good.weights[0, 0] > 1.0
    assert good.baseline[0] > 0 and good.weights[1, 0] == 1.0  # silent input unchanged
    bad = plasticity_step(w, b, pre, post, target=1, p=p, nudge=np.zeros(2))
    assert bad.reward < 0 and bad.weights[0, 0] < 1.0 and bad.baseline[1] < 0


# --- the alphabet-capable parts of the rule (parameter set reward) -------------------------

from snn_rl.model.decision import answering  # noqa: E402
from snn_rl.model.params import Params  # noqa: E402
from snn_rl.model.rules.reward import choose_exploration, output_reward_error, update_success  # noqa: E402
from snn_rl.model.rules.stdp import normalise  # noqa: E402


def _parts(**kw):
    base = dict(homeostasis_nA=0.0, loser_depression_nA=0.0, exploration_nA=0.0, learning_rate_nA=0.1)
    base.update(kw)
    return dataclasses.replace(P, **base)


def test_normalise_scales_every_output_to_the_weight_sum_and_is_off_at_zero():
    w = np.array([[1.0, 0.0], [3.0, 2.0]])
    np.testing.assert_allclose(normalise(w, _parts(weight_sum_nA=2.0)).sum(axis=0), [2.0, 2.0])
    np.testing.assert_allclose(normalise(w, _parts(weight_sum_nA=2.0))[:, 0], [0.5, 1.5])
    assert normalise(w, _parts(weight_sum_nA=0.0)) is w


def test_with_a_weight_sum_the_reward_term_moves_weight_between_inputs():
    p = _parts(weight_sum_nA=3.0)
    w = np.full((3, 2), 1.0)
    e = np.array([[1.0, 0.0], [0.0, 0.0], [0.0, 0.0]])
    new = update_weights(w, e, 1.0, np.ones(3), np.array([3, 0]), 0, True, p)
    np.testing.assert_allclose(new.sum(axis=0), [3.0, 3.0])
    assert new[0, 0] > 1.0 > new[1, 0]  # potentiated input gained, the others paid for it
    np.testing.assert_allclose(new[:, 1], w[:, 1])  # no eligibility, no change


def test_credit_answer_changes_only_the_answering_outputs():
    p = _parts(credit="answer")
    w = np.full((2, 3), 1.0)
    e = np.ones((2, 3))
    new = update_weights(w, e, -1.0, np.ones(2), np.array([2, 1, 0]), 0, False, p)
    assert np.all(new[:, 0] < 1.0)
    np.testing.assert_allclose(new[:, 1:], 1.0)


def test_an_explored_output_in_a_tie_takes_the_blame_alone():
    p = _parts(credit="answer")
    w = np.full((2, 3), 1.0)
    e = np.ones((2, 3))
    counts = np.array([2, 2, 0])  # a tie: no answer, a wrong one
    both = update_weights(w, e, -1.0, np.ones(2), counts, -1, False, p)
    assert np.all(both[:, :2] < 1.0)
    only = update_weights(w, e, -1.0, np.ones(2), counts, -1, False, p, explored=1)
    np.testing.assert_allclose(only[:, 0], 1.0)
    assert np.all(only[:, 1] < 1.0)


def test_output_expectation_punishes_a_reliable_output_and_spares_a_new_one():
    p = dataclasses.replace(P, reward_wrong=0.0, reward_correct=1.0)
    counts = np.array([3, 0])
    assert output_reward_error(0.0, np.array([1.0, 0.0]), counts, p) == pytest.approx(-1.0)
    assert output_reward_error(0.0, np.array([0.0, 0.0]), counts, p) == 0.0
    assert output_reward_error(1.0, np.array([0.0, 0.0]), counts, p) == pytest.approx(1.0)
    assert output_reward_error(1.0, np.array([1.0, 0.0]), counts, p) == 0.0
    assert output_reward_error(0.0, np.array([1.0, 1.0]), np.array([0, 0]), p) == 0.0  # silence


def test_plasticity_step_uses_the_output_expectation_when_asked():
    p = _parts(expectation="output", reward_wrong=0.0, credit="answer")
    pre, post = trains([5.0], [5.0]), trains([10.0], [])
    w = np.full((2, 2), 1.0)
    fresh = plasticity_step(w, np.zeros(2), pre, post, 1, p, nudge=np.zeros(2), success=np.zeros(2))
    np.testing.assert_allclose(fresh.weights, w)  # a new output answering wrong: nothing to unlearn
    sure = plasticity_step(w, np.zeros(2), pre, post, 1, p, nudge=np.zeros(2), success=np.ones(2))
    assert np.all(sure.weights[:, 0] < 1.0) and sure.reward_error == pytest.approx(-1.0)


def test_exploration_prefers_outputs_that_have_not_earned_reward():
    rng = np.random.default_rng(0)
    p = dataclasses.replace(P, explore_prob=1.0, explore_floor=0.05)
    success = np.array([1.0, 1.0, 0.0, 0.0])
    picks = np.array([choose_exploration(success, p, rng) for _ in range(2000)])
    share_new = np.mean(picks >= 2)
    assert share_new > 0.9  # expected 2 / 2.2 = 0.95
    assert (picks < 2).any()  # the floor keeps every output reachable
    never = dataclasses.replace(P, explore_prob=0.0)
    assert all(choose_exploration(success, never, rng) == -1 for _ in range(50))


def test_success_tracks_the_winners_reward_only():
    p = dataclasses.replace(P, success_rate=0.5)
    s = update_success(np.zeros(3), 1, p.reward_correct, p)
    np.testing.assert_allclose(s, [0.0, 0.5, 0.0])
    s = update_success(s, 1, p.reward_wrong, p)
    np.testing.assert_allclose(s, [0.0, 0.25, 0.0])
    np.testing.assert_allclose(update_success(s, -1, p.reward_correct, p), s)


def test_answering_is_the_outputs_with_the_most_spikes():
    np.testing.assert_array_equal(answering(np.array([1, 3, 3])), [False, True, True])
    assert not answering(np.zeros(3)).any()


@pytest.mark.parametrize("section,key,value", [
    ("plasticity", "rule", "hebbian"), ("plasticity", "credit", "some"),
    ("plasticity", "expectation", "teacher"), ("plasticity", "explore_on", "always"),
    ("plasticity", "explore_prob", 1.5), ("training", "noise_flips", -1),
])
def test_bad_rule_settings_are_rejected_with_the_name(section, key, value):
    with pytest.raises(ValueError, match=key):
        Params.from_dict({section: {key: value}})
