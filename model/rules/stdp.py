"""Building blocks every rule shares: pair-STDP eligibility and weight normalisation."""

from __future__ import annotations

import dataclasses

import numpy as np

from snn_rl.model.decision import SpikeTimes


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

    Every pre/post spike pair contributes ``a_plus * exp(-(t_post - t_pre) / tau_plus)``
    for pre before post and ``-a_minus * exp(-(t_pre - t_post) / tau_minus)`` for post
    before pre; simultaneous spikes contribute nothing. Spike times and time constants in ms.
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


def norm_for_data(p, drives):
    """``p`` (plasticity parameters) as training on input patterns ``drives`` (one 0/1 vector
    per training image) runs it: with ``match_drive_nA > 0``, ``weight_norm_nA`` set to
    ``match_drive_nA / sqrt(mean number of active inputs)`` and ``match_drive_nA`` to 0;
    otherwise ``p`` itself."""
    if p.match_drive_nA <= 0:
        return p
    active = float(np.mean([np.count_nonzero(d) for d in drives])) if len(drives) else 0.0
    if active <= 0:
        raise ValueError("plasticity.match_drive_nA needs training images that drive some input; these drive none")
    return dataclasses.replace(p, weight_norm_nA=p.match_drive_nA / np.sqrt(active), match_drive_nA=0.0)


def normalise(weights: np.ndarray, p) -> np.ndarray:
    """With ``p.weight_sum_nA > 0``, every output's weights scaled to that sum (nA), else as is
    (with ``p.weight_norm_nA > 0``: to that Euclidean norm instead, :func:`l2_columns`).

    Fixing each output's summed input weight fixes its excitability: learning can only decide
    which inputs carry the weight, so no output can grow to answer everything or fall silent.
    An all-zero column stays zero. (Scaling can lift a weight above ``w_max_nA``; with the
    sums used here, 6.5-8 nA over 15 or more inputs, it does not.)
    """
    if p.weight_norm_nA > 0:
        return l2_columns(weights, p.weight_norm_nA)
    if p.weight_sum_nA <= 0:
        return weights
    n = weights.shape[1]
    return rescale_columns(weights, np.full(n, p.weight_sum_nA), np.ones(n, dtype=bool))


def rescale_columns(w: np.ndarray, sums: np.ndarray, changed: np.ndarray) -> np.ndarray:
    """Columns marked ``changed`` scaled to the given sums (nA); an all-zero column stays zero."""
    have = w.sum(axis=0)
    scale = np.where(changed & (have > 0), sums / np.where(have > 0, have, 1.0), 1.0)
    return w * scale[None, :]


def l2_columns(w: np.ndarray, norm: float) -> np.ndarray:
    """Every column scaled to Euclidean norm ``norm``; an all-zero column stays zero."""
    have = np.linalg.norm(w, axis=0)
    return w * np.where(have > 0, norm / np.where(have > 0, have, 1.0), 1.0)[None, :]
