"""The host-side reward-modulated STDP rule, as pure functions.

One presentation gives, per neuron, the spike times (ms, relative to the window's onset) of
the input and output layers. From them:

1. :func:`eligibility` -- pair-based STDP eligibility per synapse (all pre/post pairs):
   ``a_plus * exp(-(t_post - t_pre) / tau_plus)`` for pre before post, and
   ``-a_minus * exp(-(t_pre - t_post) / tau_minus)`` for post before pre.
2. :func:`winner` and :func:`reward` -- the scalar reward: the class's assigned output neuron
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

These are the defaults: the seed's rule, which learns A-D. The rule that learns the whole
alphabet (``config/learning/reward.yaml``) switches four options on, all label-free:

5. :func:`normalise` -- every output's summed input weight fixed (``weight_sum_nA``).
6. :func:`output_reward_error` -- the expected reward is the answering output's own running
   reward when it answered (:func:`update_success`), not the presented class's baseline
   (``expectation: output``).
7. ``credit: answer`` -- the reward term changes only the outputs that answered
   (:func:`answering`).
8. :func:`choose_exploration` -- the host gives one output a small extra current in a
   training presentation, chosen by how little reward it has earned; the training loop uses
   it to show a wrongly answered character again (``explore_on: wrong``).

:func:`plasticity_step` chains them. Nothing here touches a simulator.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from model.params import PlasticityParams

SpikeTimes = Sequence[np.ndarray]  #: one array of spike times (ms) per neuron


def spike_counts(spikes: SpikeTimes) -> np.ndarray:
    """Number of spikes per neuron."""
    return np.array([len(s) for s in spikes], dtype=int)


def _flatten(spikes: SpikeTimes) -> tuple[np.ndarray, np.ndarray]:
    times = [np.asarray(s, dtype=float).ravel() for s in spikes]
    index = np.repeat(np.arange(len(times)), [len(t) for t in times])
    flat = np.concatenate(times) if times else np.zeros(0)
    return flat, index


def eligibility(
    pre: SpikeTimes,
    post: SpikeTimes,
    tau_plus_ms: float,
    tau_minus_ms: float,
    a_plus: float = 1.0,
    a_minus: float = 1.0,
) -> np.ndarray:
    """Pair-based STDP eligibility, shape ``(len(pre), len(post))``.

    Every pre/post spike pair contributes; simultaneous spikes contribute nothing.
    Spike times in ms; time constants in ms.
    """
    t_pre, i_pre = _flatten(pre)
    t_post, i_post = _flatten(post)
    elig = np.zeros((len(pre), len(post)))
    if t_pre.size == 0 or t_post.size == 0:
        return elig
    lag = t_post[None, :] - t_pre[:, None]  # > 0: pre before post
    kernel = np.where(
        lag > 0,
        a_plus * np.exp(-np.abs(lag) / tau_plus_ms),
        np.where(lag < 0, -a_minus * np.exp(-np.abs(lag) / tau_minus_ms), 0.0),
    )
    pre_onehot = np.zeros((t_pre.size, len(pre)))
    pre_onehot[np.arange(t_pre.size), i_pre] = 1.0
    post_onehot = np.zeros((t_post.size, len(post)))
    post_onehot[np.arange(t_post.size), i_post] = 1.0
    return pre_onehot.T @ kernel @ post_onehot


def winner(counts: np.ndarray) -> int:
    """Index of the output with strictly the most spikes, or -1 (silent or tied)."""
    counts = np.asarray(counts)
    if counts.size == 0 or counts.max() == 0:
        return -1
    best = np.flatnonzero(counts == counts.max())
    return int(best[0]) if best.size == 1 else -1


def reward(winning: int, target: int, p: PlasticityParams) -> float:
    """The scalar reward of one presentation."""
    return p.reward_correct if winning == target else p.reward_wrong


def reward_error(r: float, baseline: np.ndarray, target: int) -> float:
    """Reward minus the expected reward of the presented class."""
    return float(r - baseline[target])


def output_reward_error(r: float, success: np.ndarray, counts: np.ndarray, p: PlasticityParams) -> float:
    """Reward minus what the answering output(s) expect: their running reward when they
    answered, mapped onto ``[reward_wrong, reward_correct]``. Label-free: an output that is
    usually right when it answers is punished hard for a wrong answer, a new one is not."""
    ans = answering(counts)
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
) -> np.ndarray:
    """The new weight matrix (nA), shape ``(n_pre, n_post)``; ``weights`` is not changed.

    ``pre_active`` is 1.0 for inputs that spiked in the window, ``post_counts`` the output
    spike counts, ``nudge`` one draw in [0, 1) per output (exploration on wrong answers),
    ``explored`` the output the host biased in this presentation (-1: none).

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
        credited = answering(post_counts)
        if explored >= 0 and credited[explored]:
            # the reward judges the action the host forced: a tie partner is not blamed
            credited = np.arange(credited.size) == explored
        delta[:, ~credited] = 0.0
    if p.weight_sum_nA > 0:
        # the reward term only moves weight: each changed output back to the sum it had
        moved = np.clip(weights + delta, p.w_min_nA, p.w_max_nA)
        weights = _rescale_columns(moved, weights.sum(axis=0), changed=np.any(delta != 0, axis=0))
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


def answering(counts: np.ndarray) -> np.ndarray:
    """Mask of the outputs that gave the answer: the most spikes, if any (several on a tie)."""
    counts = np.asarray(counts)
    return (counts == counts.max(initial=0)) & (counts > 0)


def normalise(weights: np.ndarray, p: PlasticityParams) -> np.ndarray:
    """With ``weight_sum_nA > 0``, every output's weights scaled to that sum (nA), else as is.

    Fixing each output's summed input weight fixes its excitability: learning can only decide
    which inputs carry the weight, so no output can grow to answer everything or fall silent.
    An all-zero column stays zero. (Scaling can lift a weight above ``w_max_nA``; with the
    sums used here, 6.5-8 nA over 15 or more inputs, it does not.)
    """
    if p.weight_sum_nA <= 0:
        return weights
    n = weights.shape[1]
    return _rescale_columns(weights, np.full(n, p.weight_sum_nA), np.ones(n, dtype=bool))


def _rescale_columns(w: np.ndarray, sums: np.ndarray, changed: np.ndarray) -> np.ndarray:
    """Columns marked ``changed`` scaled to the given sums (nA); an all-zero column stays zero."""
    have = w.sum(axis=0)
    scale = np.where(changed & (have > 0), sums / np.where(have > 0, have, 1.0), 1.0)
    return w * scale[None, :]


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


@dataclass(frozen=True)
class StepResult:
    """What one plasticity step decided."""

    weights: np.ndarray
    baseline: np.ndarray
    winner: int
    reward: float
    reward_error: float
    counts: np.ndarray


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
) -> StepResult:
    """Eligibility, reward, baseline and weight update for one presentation.

    ``explored``: the output that got the exploration bias, or -1. ``success``: each output's
    running reward when it answered (:func:`update_success`), the expected reward when
    ``p.expectation == "output"``."""
    counts = spike_counts(post)
    win = winner(counts)
    r = reward(win, target, p)
    if p.expectation == "output":
        err = output_reward_error(r, np.zeros(len(counts)) if success is None else success, counts, p)
    else:
        err = reward_error(r, baseline, target)
    elig = eligibility(pre, post, p.tau_plus_ms, p.tau_minus_ms, p.a_plus, p.a_minus)
    pre_active = (spike_counts(pre) > 0).astype(float)
    new_w = update_weights(weights, elig, err, pre_active, counts, win, win == target, p, nudge, explored)
    return StepResult(
        weights=new_w,
        baseline=update_baseline(baseline, target, r, p),
        winner=win,
        reward=r,
        reward_error=err,
        counts=counts,
    )
