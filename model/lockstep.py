"""Lockstep replay: the same inputs and the same weights on every backend, spike for spike.

Cross-validating simulators needs more than equal accuracies: two backends may both answer
right for different reasons. A lockstep *protocol* fixes everything the simulators could
otherwise see differently:

- a sequence of presentation windows, each with one character (chosen by a seed, optionally
  with a few flipped pixels) as the input pattern, and
- one weight matrix per window (nA): the trained weights of a run plus a seeded Gaussian
  perturbation, clipped to the plasticity bounds, so that the outputs are exercised well
  beyond the one-winner regime the trained weights produce,
- the input gains and network parameters of that run.

The protocol is written to a file so that every backend replays exactly the same one
(:func:`replay`); each replay records, per window and neuron, the spike times (ms from the
window's onset). :func:`compare` then measures how far two recordings agree: per
neuron-window exact spike-count match, within-one match, rate difference, the van Rossum
distance from Elephant, the timing offset of spikes in equal-count windows, and whether the
same output wins.

Nothing here imports a simulator: :func:`replay` gets a backend adapter.
"""

from __future__ import annotations

import hashlib
import json
import time
import warnings
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import numpy as np

from model.dataset import Dataset, encode, flip_pixels
from model.network import CharacterNetwork
from model.params import NetworkParams, Params, PlasticityParams
from model.plasticity import winner
# one .npz reader and writer for every file the project stores
from model.storage import StorageError, TrainedWeights, _load_npz, _npz_bytes, atomic_write_bytes

PROTOCOL_VERSION = 1


@dataclass(frozen=True)
class Protocol:
    """What every backend replays: one input pattern and one weight matrix per window."""

    drives: np.ndarray  #: (n_windows, n_inputs), 1.0 = input driven
    weights: np.ndarray  #: (n_windows, n_inputs, n_outputs), nA
    targets: np.ndarray  #: (n_windows,), class index of the character shown
    gains: np.ndarray  #: (n_inputs,), per-input current gain
    labels: tuple[str, ...]  #: class of each output neuron
    network: NetworkParams  #: cells, drive and connectivity of the run the weights come from
    seed: int  #: seed the windows were drawn with
    source: str  #: where the weights came from (a path), for the record

    @property
    def n_windows(self) -> int:
        return self.drives.shape[0]

    def digest(self) -> str:
        """SHA-256 over the inputs, weights, gains and network: recordings name their protocol."""
        h = hashlib.sha256()
        for arr in (self.drives, self.weights, self.targets, self.gains):
            arr = np.ascontiguousarray(arr)
            h.update(str(arr.dtype).encode() + str(arr.shape).encode() + arr.tobytes())
        h.update(json.dumps(Params(network=self.network).to_dict()["network"], sort_keys=True).encode())
        return h.hexdigest()


def make_protocol(
    trained: TrainedWeights,
    dataset: Dataset,
    params: Params,
    n_windows: int,
    seed: int,
    weight_jitter_nA: float,
    noise_flips: int = 0,
    source: str = "",
) -> Protocol:
    """Draw a protocol around trained weights.

    ``n_windows`` windows; window ``k`` shows an image of the data set drawn uniformly (with
    ``noise_flips`` pixels inverted) under ``trained.weights + weight_jitter_nA * N(0, 1)``,
    clipped to ``[w_min_nA, w_max_nA]`` of ``params.plasticity``.
    """
    if n_windows < 1:
        raise ValueError(f"a lockstep protocol needs at least 1 window, got {n_windows}")
    if weight_jitter_nA < 0:
        raise ValueError(f"weight_jitter_nA must be >= 0, got {weight_jitter_nA}")
    trained.check_matches(dataset.labels, dataset.shape, source or "the weights")
    pp: PlasticityParams = params.plasticity
    rng = np.random.default_rng(seed)
    shown = rng.integers(len(dataset.images), size=n_windows)
    targets = dataset.targets[shown]
    drives = np.stack([
        encode(flip_pixels(dataset.images[i], noise_flips, rng) if noise_flips else dataset.images[i],
               trained.input_encoding)
        for i in shown
    ])
    jitter = weight_jitter_nA * rng.standard_normal((n_windows, *trained.weights.shape))
    weights = np.clip(trained.weights[None, :, :] + jitter, pp.w_min_nA, pp.w_max_nA)
    network = params.replace(network={"input_encoding": trained.input_encoding}).network
    return Protocol(drives=drives, weights=weights, targets=targets, gains=trained.input_gains.copy(),
                    labels=tuple(trained.labels), network=network, seed=seed, source=source)


def save_protocol(path: Path, p: Protocol) -> None:
    meta = {"version": PROTOCOL_VERSION, "labels": list(p.labels), "seed": p.seed, "source": p.source,
            "network": Params(network=p.network).to_dict()["network"], "digest": p.digest()}
    atomic_write_bytes(Path(path), _npz_bytes({
        "drives": p.drives, "weights_nA": p.weights, "targets": p.targets, "input_gains": p.gains,
        "meta_json": np.array(json.dumps(meta)),
    }))


def load_protocol(path: Path) -> Protocol:
    data = _load_npz(Path(path))
    if "meta_json" not in data:
        raise StorageError(f"{path} is not a lockstep protocol (no metadata)")
    meta = json.loads(str(data["meta_json"]))
    p = Protocol(
        drives=data["drives"], weights=data["weights_nA"], targets=data["targets"], gains=data["input_gains"],
        labels=tuple(meta["labels"]), network=Params.from_dict({"network": meta["network"]}).network,
        seed=int(meta["seed"]), source=meta["source"],
    )
    if p.digest() != meta["digest"]:
        raise StorageError(f"{path} is corrupted (its digest does not match its content)")
    return p


@dataclass(frozen=True)
class Recording:
    """Spikes of one backend's replay of a protocol."""

    backend: str
    protocol_digest: str
    labels: tuple[str, ...]
    n_inputs: int
    window_ms: float  #: input-on part of each presentation, ms
    presentation_ms: float  #: window plus rest gap, ms
    spikes: list[list[np.ndarray]]  #: [window][neuron] spike times, ms from onset; inputs first
    wall_seconds: float

    @property
    def n_windows(self) -> int:
        return len(self.spikes)

    def counts(self) -> np.ndarray:
        """Spike counts, shape ``(n_windows, n_inputs + n_outputs)``."""
        return np.array([[len(t) for t in window] for window in self.spikes], dtype=int)


def replay(backend, protocol: Protocol, threads: int = 1) -> Recording:
    """Run ``protocol`` on ``backend`` (a not yet set-up adapter) and record every spike."""
    t0 = time.perf_counter()
    backend.setup(protocol.network.timestep_ms, threads=threads)
    net = CharacterNetwork(backend, protocol.network, protocol.weights[0], protocol.gains)
    spikes = []
    for drive, weights in zip(protocol.drives, protocol.weights):
        net.set_weights(weights)
        pres = net.present(drive)
        spikes.append([np.asarray(t, dtype=float) for t in (*pres.pre, *pres.post)])
    backend.end()
    return Recording(
        backend=backend.name, protocol_digest=protocol.digest(), labels=protocol.labels,
        n_inputs=protocol.drives.shape[1], window_ms=protocol.network.window_ms,
        presentation_ms=net.presentation_ms, spikes=spikes, wall_seconds=time.perf_counter() - t0,
    )


def save_recording(path: Path, r: Recording) -> None:
    n_neurons = len(r.spikes[0]) if r.spikes else 0
    window = np.repeat(np.arange(r.n_windows), [sum(len(t) for t in w) for w in r.spikes])
    neuron = np.concatenate([np.repeat(np.arange(n_neurons), [len(t) for t in w]) for w in r.spikes] or [np.zeros(0, int)])
    times = np.concatenate([t for w in r.spikes for t in w] or [np.zeros(0)])
    meta = {"backend": r.backend, "protocol_digest": r.protocol_digest, "labels": list(r.labels),
            "n_inputs": r.n_inputs, "n_neurons": n_neurons, "n_windows": r.n_windows,
            "window_ms": r.window_ms, "presentation_ms": r.presentation_ms, "wall_seconds": r.wall_seconds}
    atomic_write_bytes(Path(path), _npz_bytes({
        "window": window, "neuron": neuron, "times_ms": times, "meta_json": np.array(json.dumps(meta)),
    }))


def load_recording(path: Path) -> Recording:
    data = _load_npz(Path(path))
    if "meta_json" not in data:
        raise StorageError(f"{path} is not a lockstep recording (no metadata)")
    m = json.loads(str(data["meta_json"]))
    spikes = [[[] for _ in range(m["n_neurons"])] for _ in range(m["n_windows"])]
    for w, n, t in zip(data["window"], data["neuron"], data["times_ms"]):
        spikes[int(w)][int(n)].append(float(t))
    return Recording(
        backend=m["backend"], protocol_digest=m["protocol_digest"], labels=tuple(m["labels"]),
        n_inputs=m["n_inputs"], window_ms=m["window_ms"], presentation_ms=m["presentation_ms"],
        spikes=[[np.array(t) for t in w] for w in spikes], wall_seconds=m["wall_seconds"],
    )


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
    earlier). ``winner_agreement`` is the fraction of windows in which the same output
    neuron wins (or none does) on both backends.
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
    wa = np.array([winner(c[n_in:]) for c in ca])
    wb = np.array([winner(c[n_in:]) for c in cb])
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
