"""How the network answers: the class whose group of outputs fires strictly the most spikes.

The outputs come in groups, ``k`` per class and in class order (outputs ``c*k`` to
``c*k + k - 1`` answer for class ``c``; ``k = 1`` is one output per class). The answer is a
vote: each group's spikes are summed and the group with strictly the most spikes gives the
answer. A silent network or a tie between groups gives no answer (``-1``), and no answer is
wrong: there is no "true negative" credit; with the tie rule ``first_spike``
(``network.tie_rule``) the tied group that fired first answers. Training, evaluation, emulation, lockstep
comparison, NIR and the deployment bundle all decide with :func:`winner`.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

SpikeTimes = Sequence[np.ndarray]  #: one array of spike times (ms) per neuron


def spike_counts(spikes: SpikeTimes) -> np.ndarray:
    """Number of spikes per neuron."""
    return np.array([len(s) for s in spikes], dtype=int)


def outputs_per_class(n_outputs: int, n_classes: int) -> int:
    """``k``, the size of each class's group of outputs; ``ValueError`` unless the outputs
    split evenly into ``n_classes`` groups."""
    if n_classes < 1 or n_outputs < n_classes or n_outputs % n_classes:
        raise ValueError(f"{n_outputs} outputs do not split into {n_classes} equal groups, one per class")
    return n_outputs // n_classes


def class_counts(counts: np.ndarray, k: int = 1) -> np.ndarray:
    """Spikes per class: the counts of each group of ``k`` outputs summed (the vote)."""
    counts = np.asarray(counts)
    if k == 1:
        return counts
    if counts.size % k:
        raise ValueError(f"{counts.size} output counts do not split into groups of {k}")
    return counts.reshape(-1, k).sum(axis=1)


#: how a tie between groups is settled: "none" (no answer) or "first_spike" (the tied group
#: whose first spike came strictly first answers; :data:`NetworkParams.tie_rule`)
TIE_RULES = ("none", "first_spike")


def winner(counts: np.ndarray, k: int = 1, first: np.ndarray | None = None) -> int:
    """The class whose group of ``k`` outputs fired strictly the most spikes, or -1 (silent
    or tied). With ``k = 1`` the class is the output's index. ``first``: each output's first
    spike time (ms, ``inf`` if silent); given, a tie between groups goes to the tied group
    whose earliest spike is strictly the earliest (still tied: -1)."""
    votes = class_counts(counts, k)
    if votes.size == 0 or votes.max() == 0:
        return -1
    best = np.flatnonzero(votes == votes.max())
    if best.size == 1:
        return int(best[0])
    if first is None:
        return -1
    onset = np.asarray(first, dtype=float).reshape(-1, k).min(axis=1)[best]
    earliest = np.flatnonzero(onset == onset.min())
    return int(best[earliest[0]]) if earliest.size == 1 else -1


def first_spikes(spikes: SpikeTimes) -> np.ndarray:
    """Each neuron's first spike time (ms), ``inf`` for a silent one."""
    return np.array([np.min(s) if len(s) else np.inf for s in spikes], dtype=float)


def decide(spikes: SpikeTimes, k: int = 1, tie_rule: str = "none") -> int:
    """The answer from the output spike trains: :func:`winner` of their counts, a tie between
    groups settled by ``tie_rule`` (:data:`TIE_RULES`)."""
    if tie_rule not in TIE_RULES:
        raise ValueError(f"tie rule must be one of {', '.join(TIE_RULES)}, got {tie_rule!r}")
    return winner(spike_counts(spikes), k, first_spikes(spikes) if tie_rule == "first_spike" else None)


def answering(counts: np.ndarray, k: int = 1) -> np.ndarray:
    """Mask of the outputs that gave the answer: in the group(s) with the most spikes, the
    output(s) with the most spikes of their group (several on a tie); none if all are silent."""
    counts = np.asarray(counts)
    votes = class_counts(counts, k)
    top = (votes == votes.max(initial=0)) & (votes > 0)
    if k == 1:
        return top
    groups = counts.reshape(-1, k)
    best_in_group = groups == groups.max(axis=1, keepdims=True)
    return (best_in_group & top[:, None]).ravel() & (counts > 0)


def answer_outputs(counts: np.ndarray, spikes: SpikeTimes, answer: int, k: int = 1) -> np.ndarray:
    """The outputs of group ``answer`` that gave its answer: its most active ones, or, when
    its top is tied, those of them that fired first (several only if they fired together)."""
    group = np.arange(answer * k, answer * k + k)
    top = group[counts[group] == counts[group].max()]
    if top.size == 1:
        return top
    first = first_spikes([spikes[j] for j in top])
    return top[first == first.min()]


def output_names(labels: Sequence[str], k: int = 1) -> list[str]:
    """A name per output neuron: its class's label, numbered within the group when ``k > 1``
    (``3.0``, ``3.1``, ...)."""
    return list(labels) if k == 1 else [f"{lab}.{i}" for lab in labels for i in range(k)]
