"""Reward-gated competitive learning for groups of outputs: K outputs per class, a vote, one
scalar reward per presentation (parameter set ``reward-groups``; docs/learning.md).

The network answers with the class whose group of outputs fires the most spikes
(:func:`~snn_rl.model.decision.winner`). From one presentation the host knows which inputs
spiked (``x``, 1 or 0 per input), the spike counts of the outputs, the weights and the
reward: 1 if the answering group is the presented class, else 0. It never sees the class.

- **Wrong answer**: the output(s) that answered are pushed away from the image
  (``w -= push * x/|x|``, then rescaled), and the image is shown again with a negative
  current (``suppress_nA``) into every output of every group that has answered it wrongly,
  so the network's next choice answers (trial and error); at most one showing per class.
  After no answer (silent, or groups tied, as when every output still has the same weights)
  the image is shown again with ``explore_bias_nA`` into one output drawn at random from the
  groups not ruled out.
- **Right answer**: the credit goes to one output of the rewarded group, the one with the
  largest input drive ``x . w/|w|`` (computed on the host from the spikes and weights) minus
  ``conscience * (its share of the group's credits - 1/K)``: an output that has taken much of
  its group's credit gives way to its neighbours, so the K outputs of a class settle on
  different ways of drawing it. That output is pulled towards the image,
  ``w = (1 - a) w + a x/|x|`` (then rescaled), with ``a = max(1/(n + 1), pull_floor)``
  after its ``n``-th credit: the first credit copies the image, later ones average
  (on-line k-means, MacQueen 1967); ``pull_floor`` and ``push`` shrink by ``rate_decay``
  every epoch.
- **Right answer, close rival**: before the pull, the output of any other group with the
  largest drive is pushed away from the image by ``rival_push`` (also shrinking by
  ``rate_decay``) if its drive is within ``rival_window`` (a fraction) of the rewarded
  group's largest (LVQ 2.1's window, Kohonen 1990). The reward says the answer was right,
  so that output belongs to a wrong class; right answers keep a margin, and the answers
  hold when the time step changes (SpiNNaker's 1 ms). Only an answer the network gave on
  the image's first showing does this: after a retry (suppressed groups, a head start)
  the margin is not the network's own, and pushing then, when the network has begun to
  fall silent, clips columns to fewer inputs until it does (measured: K = 3 fell silent
  in the third epoch for 2 of 5 seeds).

Every column keeps the Euclidean norm ``weight_norm_nA`` (or the sum ``weight_sum_nA``), so
an output's drive measures how well the image matches its weights, not how large they are;
``match_drive_nA`` sets that norm from the training images' size when training starts
(:func:`~snn_rl.model.rules.stdp.norm_for_data`).
Start from ``init_weights: input_mean`` (the mean training image, no labels): outputs drawn
at random would never reach the drive of one that has learned, and would never answer.

The terms use which inputs spiked, not the spike timing: the STDP eligibility of an output
is zero when it did not fire, and the credited output need not have fired most. Nothing here
touches a simulator.
"""

from __future__ import annotations

import numpy as np

from snn_rl.model.decision import SpikeTimes, answer_outputs, decide, spike_counts
from snn_rl.model.rules.base import RuleDefaults, RuleState, Update
from snn_rl.model.rules.stdp import normalise


def unit(v: np.ndarray) -> np.ndarray:
    """``v`` scaled to Euclidean norm 1 (all zeros stay zeros)."""
    n = float(np.linalg.norm(v))
    return v / n if n > 0 else v


def drives(weights: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The drive of the image ``x`` through every output's unit-norm weights."""
    norms = np.linalg.norm(weights, axis=0)
    return (x @ weights) / np.where(norms > 0, norms, 1.0)


def credited_output(weights: np.ndarray, x: np.ndarray, group: np.ndarray, share: np.ndarray, conscience: float,
                    k: int) -> int:
    """The output of ``group`` (indices) that takes a reward: the largest drive of the image
    ``x`` through its unit-norm weights, less ``conscience`` times its share above ``1/k``."""
    drive = drives(weights[:, group], x)
    return int(group[np.argmax(drive - conscience * (share[group] - 1.0 / k))])


def pull(column: np.ndarray, x: np.ndarray, a: float) -> np.ndarray:
    """A column moved a fraction ``a`` of the way to the unit image, at its own norm."""
    norm = float(np.linalg.norm(column))
    return (1.0 - a) * unit(column) * norm + a * unit(x) * norm


def push(column: np.ndarray, x: np.ndarray, rate: float) -> np.ndarray:
    """A column moved away from the unit image by ``rate`` (of its norm), clipped at zero."""
    norm = float(np.linalg.norm(column))
    return np.clip(column - rate * unit(x) * norm, 0.0, None)


def rival(weights: np.ndarray, x: np.ndarray, answer: int, k: int, window: float) -> int:
    """The output outside group ``answer`` with the largest drive, if that drive is within
    ``window`` (a fraction) of the group's largest; else -1 (also when there is no other group)."""
    d = drives(weights, x)
    inside = np.zeros(d.size, dtype=bool)
    inside[answer * k:answer * k + k] = True
    if inside.all():
        return -1
    j = int(np.argmax(np.where(inside, -np.inf, d)))
    return j if d[j] >= (1.0 - window) * d[inside].max() else -1


def push_rival(w: np.ndarray, x: np.ndarray, answer: int, k: int, p, decay: float) -> int:
    """After a right answer of group ``answer``, in place: its :func:`rival` (if any, and if
    ``rival_push > 0``) pushed ``rival_push * decay`` away from the image; returns that output
    or -1."""
    j = rival(w, x, answer, k, p.rival_window) if p.rival_push > 0 else -1
    if j >= 0:
        w[:, j] = push(w[:, j], x, p.rival_push * decay)
    return j


def credit(w: np.ndarray, x: np.ndarray, answer: int, share: np.ndarray, credits: np.ndarray, p, k: int,
           decay: float) -> int:
    """A reward for group ``answer``, in place: its output chosen by :func:`credited_output`
    takes a share ``1/n_outputs`` of the group's credit and is pulled towards the image by
    ``max(1/(credits + 1), pull_floor * decay)``; returns that output."""
    group = np.arange(answer * k, answer * k + k)
    c = credited_output(w, x, group, share, p.conscience, k)
    rate = 1.0 / w.shape[1]
    share[group] *= 1.0 - rate
    share[c] += rate
    credits[c] += 1.0
    w[:, c] = pull(w[:, c], x, max(1.0 / (credits[c] + 1.0), p.pull_floor * decay))
    return c


def groups_step(weights: np.ndarray, state: RuleState, pre: SpikeTimes, post: SpikeTimes, target: int, p,
                k: int, first: bool = True, tie_rule: str = "none") -> tuple[np.ndarray, RuleState, int, bool]:
    """One presentation (``first``: the image's first showing, not a retry): new weights, new
    state, the class answered (-1: none), rewarded."""
    counts = spike_counts(post)
    x = (spike_counts(pre) > 0).astype(float)
    answer = decide(post, k, tie_rule)
    rewarded = answer >= 0 and answer == target  # the scalar reward: the only use of the class
    w = np.array(weights, dtype=float, copy=True)
    st = {key: np.array(v, dtype=float, copy=True) for key, v in state.items()}
    if first:
        st["blocked"][:] = 0.0
    decay = p.rate_decay ** max(0.0, float(st["epoch"][0]) - 1.0)
    if rewarded:
        if first:
            push_rival(w, x, answer, k, p, decay)
        credit(w, x, answer, st["share"], st["credits"], p, k, decay)
        st["blocked"][:] = 0.0
    elif answer >= 0:
        for j in answer_outputs(counts, post, answer, k):
            w[:, j] = push(w[:, j], x, p.push_rate * decay)
        st["blocked"][answer * k:answer * k + k] = 1.0
    w = normalise(np.clip(w, p.w_min_nA, p.w_max_nA), p)
    st["answer"][:] = answer
    return w, st, answer, rewarded


class GroupsRule(RuleDefaults):
    """:func:`groups_step` as a :class:`~snn_rl.model.rules.base.LearningRule`.

    State: ``share`` (each output's share of its group's credits), ``credits`` (how often it
    took a reward), ``blocked`` (outputs of groups that answered the current image wrongly),
    ``answer`` and ``epoch``."""

    name = "groups"

    def initial_state(self, n_outputs: int) -> RuleState:
        return {"share": np.full(n_outputs, 1.0 / self.k), "credits": np.zeros(n_outputs),
                "blocked": np.zeros(n_outputs), "answer": np.full(1, -1.0), "epoch": np.zeros(1)}

    def new_epoch(self, state: RuleState, epoch: int) -> RuleState:
        return {**state, "epoch": np.full(1, float(epoch)), "blocked": np.zeros_like(state["blocked"])}

    def output_bias(self, explored: int, n_outputs: int, state: RuleState | None = None) -> np.ndarray | None:
        if explored < 0 or state is None:
            return None
        bias = -self.p.suppress_nA * state["blocked"]
        if state["answer"][0] < 0:  # no answer last time: one output gets a head start
            bias[explored] += self.p.explore_bias_nA
        return bias

    def update(self, weights, state, pre, post, target, nudge, explored) -> Update:
        w, st, answer, rewarded = groups_step(weights, state, pre, post, target, self.p, self.k, first=explored < 0,
                                              tie_rule=self.tie_rule)
        return Update(weights=w, state=st, winner=answer, reward=float(rewarded), rewarded=rewarded)

    def retry(self, update: Update, state: RuleState, rng: np.random.Generator) -> int:
        """After a wrong answer, show the image again with the wrongly answering groups
        suppressed; after no answer, also with one output of the other groups, drawn at random,
        given a head start (:meth:`output_bias`). -1: no retry."""
        free = np.flatnonzero(state["blocked"] == 0)
        if update.rewarded or free.size == 0:
            return -1
        return int(rng.choice(free)) if update.winner < 0 else int(free[0])

    def max_presentations(self, n_classes: int) -> int:
        return n_classes

