"""How far two lockstep recordings of one protocol agree, spike for spike.

Per neuron-window: exact spike-count match, within-one match, rate difference, the van
Rossum distance from Elephant; per window: whether the same output wins; and the timing
offset of corresponding spikes in neuron-windows with equal counts. With three or more
backends, :func:`majority` gives a verdict per window: all agree, one (or more) differs from
a majority that agrees, or no majority. The recordings come from
:func:`snn_rl.experiments.lockstep.replay`.
"""

from __future__ import annotations

import warnings
from itertools import combinations
from pathlib import Path

import numpy as np

from snn_rl.analysis import plots
from snn_rl.errors import InputError
from snn_rl.experiments.lockstep import Recording, load_recording
from snn_rl.experiments.outputs import json_with, prepare_out_file
from snn_rl.experiments.storage import write_json
from snn_rl.model.decision import decide


def _van_rossum(a: list[np.ndarray], b: list[np.ndarray], t_stop_ms: float, tau_ms: float) -> np.ndarray:
    """Van Rossum distance (Elephant; 1.0 = one spike against none) of each pair ``a[i], b[i]``."""
    import quantities as pq
    from elephant.spike_train_dissimilarity import van_rossum_distance
    from neo import SpikeTrain

    tau = tau_ms * pq.ms
    out = np.zeros(len(a))
    with warnings.catch_warnings():
        # Elephant clips rounding residues below zero to zero and says so; that is right here
        warnings.filterwarnings("ignore", message="van_rossum_distance: very small negative values")
        for i, (ta, tb) in enumerate(zip(a, b)):
            if len(ta) or len(tb):
                trains = [SpikeTrain(np.sort(t), units="ms", t_stop=t_stop_ms) for t in (ta, tb)]
                out[i] = van_rossum_distance(trains, time_constant=tau)[0, 1]
    return out


def _rates(part: dict, ca: np.ndarray, cb: np.ndarray, window_ms: float) -> None:
    diff = cb - ca
    part["neuron_windows"] = int(diff.size)
    part["exact_match_rate"] = float(np.mean(diff == 0))
    part["within_one_rate"] = float(np.mean(np.abs(diff) <= 1))
    part["window_exact_match_rate"] = float(np.mean(np.all(diff == 0, axis=1)))
    part["mean_rate_a_hz"] = float(ca.mean() * 1000.0 / window_ms)
    part["mean_rate_b_hz"] = float(cb.mean() * 1000.0 / window_ms)
    part["mean_abs_rate_diff_hz"] = float(np.abs(diff).mean() * 1000.0 / window_ms)
    part["count_diff_histogram"] = {str(int(k)): int(v) for k, v in zip(*np.unique(diff, return_counts=True))}


def compare(a: Recording, b: Recording, tau_ms: float = 10.0) -> dict:
    """Agreement of two replays of one protocol, per neuron-window, inputs and outputs apart.

    Counts are compared over the whole presentation (window and rest gap); rates are spikes
    per ``window_ms`` (Hz). ``van_rossum_*`` use Elephant's van Rossum distance with time
    constant ``tau_ms`` (ms). ``b_minus_a_spike_time_ms`` is the mean time difference of
    corresponding spikes in neuron-windows with equal counts (negative: ``b`` fires
    earlier). ``winner_agreement`` is the fraction of windows in which both backends
    give the same answer (or none): the group vote, a tie settled by the network's tie rule.
    """
    if a.protocol_digest != b.protocol_digest:
        raise ValueError(f"recordings of {a.backend} and {b.backend} replay different protocols")
    ca, cb = a.counts(), b.counts()
    n_in = a.n_inputs
    result: dict = {"a": a.backend, "b": b.backend, "windows": a.n_windows, "van_rossum_tau_ms": tau_ms}
    for name, sl in (("all", slice(None)), ("inputs", slice(0, n_in)), ("outputs", slice(n_in, None))):
        part: dict = {}
        _rates(part, ca[:, sl], cb[:, sl], a.window_ms)
        result[name] = part
    flat_a = [t for w in a.spikes for t in w]
    flat_b = [t for w in b.spikes for t in w]
    vr = _van_rossum(flat_a, flat_b, a.presentation_ms, tau_ms).reshape(ca.shape)
    for name, sl in (("all", slice(None)), ("inputs", slice(0, n_in)), ("outputs", slice(n_in, None))):
        v = vr[:, sl]
        result[name]["van_rossum_mean"] = float(v.mean())
        result[name]["van_rossum_max"] = float(v.max())
    shifts = [np.sort(tb) - np.sort(ta) for ta, tb in zip(flat_a, flat_b) if len(ta) == len(tb) and len(ta)]
    shifts = np.concatenate(shifts) if shifts else np.zeros(0)
    result["b_minus_a_spike_time_ms"] = float(shifts.mean()) if shifts.size else None
    result["equal_count_spikes"] = int(shifts.size)
    k = a.outputs_per_class  # the answer: the group vote and the network's tie rule (model/decision.py)
    wa = np.array([decide(w[n_in:], k, a.tie_rule) for w in a.spikes])
    wb = np.array([decide(w[n_in:], k, b.tie_rule) for w in b.spikes])
    result["winner_agreement"] = float(np.mean(wa == wb))
    result["per_window"] = {
        "exact_match_rate": np.mean(ca == cb, axis=1).tolist(),
        "van_rossum_mean": vr.mean(axis=1).tolist(),
    }
    return result


def compare_all(recordings: list[Recording], tau_ms: float = 10.0) -> list[dict]:
    """:func:`compare` for every pair of recordings, in the order given."""
    if len(recordings) < 2:
        raise ValueError("lockstep comparison needs recordings of at least 2 backends")
    return [compare(a, b, tau_ms) for a, b in combinations(recordings, 2)]


def majority(recordings: list[Recording]) -> dict:
    """Per window, which backends agree: the backends are grouped by their spike counts of every
    neuron in the window (equal count vectors, one group); a group of more than half of them
    is the majority and the rest differ from it.

    ``verdicts[w]`` is ``"all agree"``, ``"<name> differs"`` (``"<a>, <b> differ"``) or ``"no
    majority"``; ``differs[name]`` counts the windows in which ``name`` alone differs from a
    majority, ``several_differ`` those in which two or more do; ``outputs`` is the same from
    the output neurons' counts alone. With two backends a difference
    has no majority (each is one of two).
    """
    if len(recordings) < 2:
        raise ValueError("a majority verdict needs recordings of at least 2 backends")
    if len({r.protocol_digest for r in recordings}) != 1:
        raise ValueError("recordings of different protocols: " + ", ".join(r.backend for r in recordings))
    names = [r.backend for r in recordings]
    counts = [r.counts() for r in recordings]
    n_in = recordings[0].n_inputs
    result: dict = {"backends": names, "windows": recordings[0].n_windows}
    for part, sl in (("all", slice(None)), ("outputs", slice(n_in, None))):
        verdicts, differs, several = [], dict.fromkeys(names, 0), 0
        for w in range(recordings[0].n_windows):
            groups: dict[bytes, list[str]] = {}
            for name, c in zip(names, counts):
                groups.setdefault(np.ascontiguousarray(c[w, sl]).tobytes(), []).append(name)
            largest = max(groups.values(), key=len)
            if len(largest) == len(names):
                verdicts.append("all agree")
            elif 2 * len(largest) > len(names):
                odd = [n for n in names if n not in largest]
                if len(odd) == 1:
                    differs[odd[0]] += 1
                else:
                    several += 1
                verdicts.append(", ".join(odd) + (" differs" if len(odd) == 1 else " differ"))
            else:
                verdicts.append("no majority")
        tally = {v: verdicts.count(v) for v in dict.fromkeys(verdicts)}
        result[part] = {"all_agree": verdicts.count("all agree"), "no_majority": verdicts.count("no majority"),
                        "differs": differs, "several_differ": several, "tally": tally, "verdicts": verdicts}
    return result


def agreement(recordings: list[Path | str], out: Path | str, *, tau_ms: float = 10.0, figure: Path | str | None = None,
              overwrite: bool = False) -> dict:
    """Compare recordings of one protocol (one per backend) pair by pair and by majority; write
    ``{"recordings", "pairs", "majority"}`` to ``out`` (.json) and return it; with ``figure``,
    also the agreement figure (.png)."""
    out = prepare_out_file(out, overwrite, json_with("pairs"))
    loaded = [load_recording(Path(p)) for p in recordings]
    names = [r.backend for r in loaded]
    if len(set(names)) != len(names):
        raise InputError(f"each backend once, please: got {', '.join(names)}")
    pairs = compare_all(loaded, tau_ms=tau_ms)
    if figure:
        plots.lockstep_figure(loaded, pairs, Path(figure))
    result = {"recordings": [str(p) for p in recordings], "pairs": pairs, "majority": majority(loaded)}
    write_json(out, result)
    return result


def majority_line(m: dict) -> str:
    """One line for a :func:`majority` result: how many windows each verdict has."""
    return f"of {m['windows']} windows (all neurons' counts): " + ", ".join(
        f"{v} {k}" for k, v in sorted(m["all"]["tally"].items(), key=lambda kv: -kv[1]))
