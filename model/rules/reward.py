"""The host-side reward-modulated STDP rule: pure functions, and :class:`RewardRule` around them.

One presentation gives, per neuron, the spike times (ms, relative to the window's onset) of
the input and output layers. From them:

1. :func:`~snn_rl.model.rules.stdp.eligibility` -- pair-based STDP eligibility per synapse (all pre/post pairs):
   ``a_plus * exp(-(t_post - t_pre) / tau_plus)`` for pre before post, and
   ``-a_minus * exp(-(t_pre - t_post) / tau_minus)`` for post before pre.
2. :func:`~snn_rl.model.decision.winner` and :func:`reward` -- the scalar reward: the class's assigned output neuron
   fired strictly more spikes than every other output (``reward_correct``), or not
   (``reward_wrong``; a silent network is wrong). No teacher current, no per-neuron target.
3. :func:`reward_error` / :func:`update_baseline` -- reward minus the expected reward of the
   class (Fremaux et al. 2010), the baseline floored at ``baseline_min`` so that a class that
   is always punished keeps learning.
4. :func:`update_weights` -- ``W += learning_rate * (R - b) * E``, plus three label-free terms:
   a homeostatic pull of a rewarded winner's spike count towards ``target_spikes``, a
   depression of non-winners that fired alongside the winner (winner-take-all competition),
   and, when the reward says wrong, a random potentiation of the active inputs of every
   output that did not win (exploration: it lets a silent output overtake a wrong winner,
   and keeps silent outputs from staying tied); then clipping to ``[w_min, w_max]``.

With the three label-free terms alone (parameter set ``seed``) this is the seed's rule,
which learns A-D. The default rule (and parameter set ``reward``, its form with a 0.1 ms
inhibition) switches four options on, all label-free, and keeps the homeostasis and loser
depression terms that make its answers survive SpiNNaker's 1 ms step (docs/learning.md):

5. :func:`~snn_rl.model.rules.stdp.normalise` -- every output's summed input weight fixed (``weight_sum_nA``).
6. :func:`output_reward_error` -- the expected reward is the answering output's own running
   reward when it answered (:func:`update_success`), not the presented class's baseline
   (``expectation: output``).
7. ``credit: answer`` -- the reward term changes only the outputs that answered
   (:func:`~snn_rl.model.decision.answering`).
8. :func:`choose_exploration` -- the host gives one output a small extra current in a
   training presentation, chosen by how little reward it has earned; the training loop uses
   it to show a wrongly answered character again (``explore_on: wrong``).

:func:`plasticity_step` chains them; :class:`RewardRule` is the rule object the training
loop uses (:mod:`snn_rl.model.rules.base`). Nothing here touches a simulator.
"""

from __future__ import annotations

import numpy as np

from snn_rl.model.decision import SpikeTimes, answer_outputs, answering, decide, spike_counts
from snn_rl.model.params import PlasticityParams
from snn_rl.model.rules.base import RuleDefaults, RuleState, StepResult, Update
from snn_rl.model.rules.stdp import eligibility, normalise, rescale_columns


def reward(winning: int, target: int, p: PlasticityParams) -> float:
    """The scalar reward of one presentation."""
    return p.reward_correct if winning == target else p.reward_wrong


def reward_error(r: float, baseline: np.ndarray, target: int) -> float:
    """Reward minus the expected reward of the presented class."""
    return float(r - baseline[target])


def output_reward_error(r: float, success: np.ndarray, counts: np.ndarray, p: PlasticityParams, k: int = 1) -> float:
    """Reward minus what the answering output(s) expect: their running reward when they
    answered, mapped onto ``[reward_wrong, reward_correct]``. Label-free: an output that is
    usually right when it answers is punished hard for a wrong answer, a new one is not.
    ``k``: outputs per class (:mod:`~snn_rl.model.decision`)."""
    ans = answering(counts, k)
    if not ans.any():
        return float(r - p.reward_wrong) if r != p.reward_wrong else 0.0
    s = float(np.mean(np.asarray(success)[ans]))
    return float(r - (p.reward_wrong + s * (p.reward_correct - p.reward_wrong)))


def update_baseline(baseline: np.ndarray, target: int, r: float, p: PlasticityParams) -> np.ndarray:
    """Move the class's expected reward towards ``r``; never below ``baseline_min``."""
    new = np.array(baseline, dtype=float, copy=True)
    new[target] = max(p.baseline_min, new[target] + p.baseline_rate * (r - new[target]))
    return new


def update_weights(
    weights: np.ndarray,
    elig: np.ndarray,
    error: float,
    pre_active: np.ndarray,
    post_counts: np.ndarray,
    winning: int,
    rewarded: bool,
    p: PlasticityParams,
    nudge: np.ndarray | None = None,
    explored: int = -1,
    k: int = 1,
) -> np.ndarray:
    """The new weight matrix (nA), shape ``(n_pre, n_post)``; ``weights`` is not changed.

    ``pre_active`` is 1.0 for inputs that spiked in the window, ``post_counts`` the output
    spike counts, ``winning`` the output that answered (-1: none), ``nudge`` one draw in
    [0, 1) per output (exploration on wrong answers), ``explored`` the output the host biased
    in this presentation (-1: none), ``k`` the outputs per class.

    With ``p.credit == "answer"`` the reward term changes only the answering outputs (in a
    tie that includes the explored output, only that one). With ``p.weight_sum_nA > 0`` every
    output's weights are scaled back to that sum, so the reward term only moves weight between
    an output's inputs: punishment shifts it away from the wrongly answered pattern instead
    of silencing the output.
    """
    pre_active = np.asarray(pre_active, dtype=float)
    post_counts = np.asarray(post_counts)
    delta = p.learning_rate_nA * error * elig
    if p.credit == "answer":
        credited = answering(post_counts, k)
        if explored >= 0 and credited[explored]:
            # the reward judges the action the host forced: a tie partner is not blamed
            credited = np.arange(credited.size) == explored
        delta[:, ~credited] = 0.0
    if p.weight_sum_nA > 0:
        # the reward term only moves weight: each changed output back to the sum it had
        moved = np.clip(weights + delta, p.w_min_nA, p.w_max_nA)
        weights = rescale_columns(moved, weights.sum(axis=0), changed=np.any(delta != 0, axis=0))
        delta = np.zeros_like(delta)
    if winning >= 0:
        if rewarded:
            missing = p.target_spikes - post_counts[winning]
            delta[:, winning] += p.homeostasis_nA * missing * pre_active
        losers = post_counts.astype(float)
        losers[winning] = 0.0
        delta -= p.loser_depression_nA * np.outer(pre_active, losers)
    if not rewarded and nudge is not None:
        explore = np.asarray(nudge, dtype=float).copy()
        if winning >= 0:
            explore[winning] = 0.0
        delta += p.exploration_nA * np.outer(pre_active, explore)
    new = np.clip(weights + delta, p.w_min_nA, p.w_max_nA)
    return normalise(new, p)


def choose_exploration(success: np.ndarray, p: PlasticityParams, rng: np.random.Generator) -> int:
    """The output that gets the exploration bias in one training presentation, or -1.

    With probability ``explore_prob`` one output is drawn, the more likely the less reward it
    has earned when it won (``1 - success``, plus a floor so that no output is excluded for
    ever). Label-free: it uses only each output's own reward history, not the presented class.
    """
    draw = rng.random()
    weights = 1.0 - np.asarray(success, dtype=float) + p.explore_floor
    pick = int(rng.choice(weights.size, p=weights / weights.sum()))
    return pick if draw < p.explore_prob else -1


def update_success(success: np.ndarray, winning: int, r: float, p: PlasticityParams) -> np.ndarray:
    """Each output's running mean of "rewarded when it won" (0..1); only the winner moves."""
    new = np.array(success, dtype=float, copy=True)
    if winning >= 0:
        hit = 1.0 if r == p.reward_correct else 0.0
        new[winning] += p.success_rate * (hit - new[winning])
    return new


def plasticity_step(
    weights: np.ndarray,
    baseline: np.ndarray,
    pre: SpikeTimes,
    post: SpikeTimes,
    target: int,
    p: PlasticityParams,
    nudge: np.ndarray,
    explored: int = -1,
    success: np.ndarray | None = None,
    k: int = 1,
    tie_rule: str = "none",
) -> StepResult:
    """Eligibility, reward, baseline and weight update for one presentation.

    ``explored``: the output that got the exploration bias, or -1. ``success``: each output's
    running reward when it answered (:func:`update_success`), the expected reward when
    ``p.expectation == "output"``. ``k``: outputs per class; the answer is the class of the
    group that fired the most (:func:`~snn_rl.model.decision.winner`), the answering output
    the one that fired the most in that group."""
    counts = spike_counts(post)
    win = decide(post, k, tie_rule)
    out = int(answer_outputs(counts, post, win, k)[0]) if win >= 0 else -1
    r = reward(win, target, p)
    if p.expectation == "output":
        err = output_reward_error(r, np.zeros(len(counts)) if success is None else success, counts, p, k)
    else:
        err = reward_error(r, baseline, target)
    elig = eligibility(pre, post, p.tau_plus_ms, p.tau_minus_ms, p.a_plus, p.a_minus)
    pre_active = (spike_counts(pre) > 0).astype(float)
    new_w = update_weights(weights, elig, err, pre_active, counts, out, win == target, p, nudge, explored, k)
    return StepResult(
        weights=new_w,
        baseline=update_baseline(baseline, target, r, p),
        winner=win,
        output=out,
        reward=r,
        reward_error=err,
        counts=counts,
    )


class RewardRule(RuleDefaults):
    """Reward-modulated STDP (the functions above) as a :class:`~snn_rl.model.rules.base.LearningRule`.

    State: ``baseline`` (expected reward per class) and ``success`` (per output, running
    mean of "rewarded when it won"). Exploration: with ``explore_on: any`` an output may be
    biased in any presentation; with ``explore_on: wrong`` a wrongly answered character is
    shown again with one output biased (trial and error).
    """

    name = "reward"

    def explore(self, state: RuleState, rng: np.random.Generator) -> int:
        if self.p.explore_prob > 0 and self.p.explore_on == "any":
            return choose_exploration(state["success"], self.p, rng)
        return -1

    def output_bias(self, explored: int, n_outputs: int, state: RuleState | None = None) -> np.ndarray | None:
        return None if explored < 0 else self.p.explore_bias_nA * (np.arange(n_outputs) == explored)

    def update(self, weights, state, pre, post, target, nudge, explored) -> Update:
        step = plasticity_step(weights, state["baseline"], pre, post, target, self.p,
                               nudge=nudge, explored=explored, success=state["success"], k=self.k,
                               tie_rule=self.tie_rule)
        success = update_success(state["success"], step.output, step.reward, self.p)
        return Update(weights=step.weights, state={"baseline": step.baseline, "success": success},
                      winner=step.winner, reward=step.reward, rewarded=step.reward == self.p.reward_correct)

    def retry(self, update: Update, state: RuleState, rng: np.random.Generator) -> int:
        if self.p.explore_prob > 0 and self.p.explore_on == "wrong" and not update.rewarded:
            return choose_exploration(state["success"], self.p, rng)
        return -1
