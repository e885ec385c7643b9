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
reordering them changes nothing but their names).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from model.evaluation import Evaluation
from model.params import PlasticityParams
from model.plasticity import (
    SpikeTimes, StepResult, _rescale_columns, eligibility, normalise, spike_counts, winner,
)


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
        new = _rescale_columns(new, weights.sum(axis=0), changed=np.any(delta != 0, axis=0))
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


def relabel(ev: Evaluation, order: np.ndarray) -> Evaluation:
    """The evaluation as it reads once output ``order[c]`` is renamed to class ``c``."""
    order = np.asarray(order)
    out = Evaluation(labels=ev.labels, targets=list(ev.targets))
    for counts, spikes in zip(ev.counts, ev.output_spikes):
        c = np.asarray(counts)[order]
        out.counts.append(c)
        out.answers.append(winner(c))
        out.output_spikes.append([spikes[i] for i in order])
    return out
