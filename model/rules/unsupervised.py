"""The original, unsupervised rule as a baseline: pair STDP under winner-take-all, no reward.

As in Gupta & Long (2007) and the original code, the outputs compete through lateral
inhibition and the winner's input synapses follow pair STDP; nothing tells the network which
class is shown. Two label-free terms keep it running as the reward rule's do: the winner's
spike count is pulled towards ``target_spikes`` and, when every output is silent, the
active inputs of every output get a small random potentiation (otherwise a silent network
never learns). With ``weight_sum_nA`` every output's summed weight is fixed, so STDP only
moves weight between an output's inputs, which bounds it the way the original's weight
normalisation did.

Since no output is told its class, classes are assigned to outputs after training: every
character is shown with plasticity off, ``M[class, output]`` counts the presentations the
output won, and the one-to-one assignment with the most wins (Hungarian method,
:func:`scipy.optimize.linear_sum_assignment`) decides. The weight columns are then put in
class order, so a trained network is evaluated, stored and tested exactly like one trained
with the reward rule (the outputs are identical cells with symmetric inhibition, so
reordering them changes nothing but their names). :class:`UnsupervisedRule` is the rule
object the training loop uses.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from snn_rl.model.decision import SpikeTimes, spike_counts, winner
from snn_rl.model.params import PlasticityParams
from snn_rl.model.rules.base import RuleDefaults, StepResult, Update
from snn_rl.model.rules.stdp import eligibility, normalise, rescale_columns


def unsupervised_step(
    weights: np.ndarray,
    baseline: np.ndarray,
    pre: SpikeTimes,
    post: SpikeTimes,
    p: PlasticityParams,
    nudge: np.ndarray,
) -> StepResult:
    """One presentation of pair STDP with winner-take-all; weights in nA, no reward used.

    ``baseline`` is passed through unchanged (the reward rule's state), ``nudge`` is one draw
    in [0, 1) per output, used only when every output is silent.
    """
    counts = spike_counts(post)
    win = winner(counts)
    elig = eligibility(pre, post, p.tau_plus_ms, p.tau_minus_ms, p.a_plus, p.a_minus)
    pre_active = (spike_counts(pre) > 0).astype(float)
    delta = p.unsupervised_rate_nA * elig
    new = np.clip(weights + delta, p.w_min_nA, p.w_max_nA)
    if p.weight_sum_nA > 0:
        new = rescale_columns(new, weights.sum(axis=0), changed=np.any(delta != 0, axis=0))
    extra = np.zeros_like(new)
    if win >= 0:
        extra[:, win] += p.homeostasis_nA * (p.target_spikes - counts[win]) * pre_active
        losers = counts.astype(float)
        losers[win] = 0.0
        extra -= p.loser_depression_nA * np.outer(pre_active, losers)
    elif counts.max() == 0:
        extra += p.exploration_nA * np.outer(pre_active, nudge)
    return StepResult(
        weights=normalise(np.clip(new + extra, p.w_min_nA, p.w_max_nA), p),
        baseline=np.asarray(baseline, dtype=float),
        winner=win,
        output=win,
        reward=0.0,
        reward_error=0.0,
        counts=counts,
    )


def win_matrix(targets: np.ndarray, counts: np.ndarray, n_classes: int) -> np.ndarray:
    """``M[class, output]``: presentations of the class that the output won (ties: nobody)."""
    counts = np.asarray(counts)
    m = np.zeros((n_classes, counts.shape[1]))
    for t, c in zip(targets, counts):
        w = winner(c)
        if w >= 0:
            m[t, w] += 1
    return m


def assign_classes(targets: np.ndarray, counts: np.ndarray, n_classes: int) -> np.ndarray:
    """``order[class]`` = the output assigned to the class, one output per class.

    Most wins first; among equal wins, the output that fired more for the class (mean spike
    count, a tie-break below one win) is preferred.
    """
    counts = np.asarray(counts, dtype=float)
    targets = np.asarray(targets)
    if counts.shape[1] != n_classes:
        raise ValueError(f"{counts.shape[1]} outputs for {n_classes} classes: the assignment is one-to-one")
    mean_spikes = np.zeros((n_classes, counts.shape[1]))
    for cls in range(n_classes):
        sel = counts[targets == cls]
        if len(sel):
            mean_spikes[cls] = sel.mean(axis=0)
    score = win_matrix(targets, counts, n_classes) + mean_spikes / (1.0 + mean_spikes.max(initial=0.0))
    rows, cols = linear_sum_assignment(-score)
    order = np.empty(n_classes, dtype=int)
    order[rows] = cols
    return order


class UnsupervisedRule(RuleDefaults):
    """Pair STDP under winner-take-all (:func:`unsupervised_step`) as a
    :class:`~snn_rl.model.rules.base.LearningRule`: no reward, no exploration bias; the
    outputs are named after each epoch (:func:`assign_classes`)."""

    name = "unsupervised"
    names_outputs_after_evaluation = True

    def update(self, weights, state, pre, post, target, nudge, explored) -> Update:
        step = unsupervised_step(weights, state["baseline"], pre, post, self.p, nudge=nudge)
        return Update(weights=step.weights, state=state, winner=step.winner, reward=step.reward, rewarded=False)

    def assign_outputs(self, targets, counts, n_classes):
        return assign_classes(np.asarray(targets), np.asarray(counts), n_classes)
