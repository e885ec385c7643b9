"""How the network answers: the output with strictly the most spikes.

A silent or tied network gives no answer (``-1``), and no answer is wrong: there is no
"true negative" credit. Training, evaluation, lockstep comparison and the deployment
bundle all decide with :func:`winner`.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

SpikeTimes = Sequence[np.ndarray]  #: one array of spike times (ms) per neuron


def spike_counts(spikes: SpikeTimes) -> np.ndarray:
    """Number of spikes per neuron."""
    return np.array([len(s) for s in spikes], dtype=int)


def winner(counts: np.ndarray) -> int:
    """Index of the output with strictly the most spikes, or -1 (silent or tied)."""
    counts = np.asarray(counts)
    if counts.size == 0 or counts.max() == 0:
        return -1
    best = np.flatnonzero(counts == counts.max())
    return int(best[0]) if best.size == 1 else -1


def answering(counts: np.ndarray) -> np.ndarray:
    """Mask of the outputs that gave the answer: the most spikes, if any (several on a tie)."""
    counts = np.asarray(counts)
    return (counts == counts.max(initial=0)) & (counts > 0)
