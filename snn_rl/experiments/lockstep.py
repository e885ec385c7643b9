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
window's onset). :mod:`snn_rl.analysis.agreement` then measures how far two recordings
agree. :func:`lockstep_protocol` and :func:`replay` are the API calls that write a protocol
and a recording.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from snn_rl import backends
from snn_rl.experiments.evaluation import check_noise_flips
from snn_rl.experiments.exchange import spike_block, write_nix
from snn_rl.experiments.outputs import npz_with, prepare_out_file
from snn_rl.experiments.runs import load_trained
from snn_rl.experiments.storage import StorageError, TrainedWeights, atomic_write_bytes, load_npz, npz_bytes
from snn_rl.model.dataset import Dataset, as_dataset, encode, flip_pixels
from snn_rl.model.decision import TIE_RULES, output_names, outputs_per_class
from snn_rl.model.network import CharacterNetwork
from snn_rl.model.params import NetworkParams, Params, PlasticityParams

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
    atomic_write_bytes(Path(path), npz_bytes({
        "drives": p.drives, "weights_nA": p.weights, "targets": p.targets, "input_gains": p.gains,
        "meta_json": np.array(json.dumps(meta)),
    }))


def load_protocol(path: Path) -> Protocol:
    data = load_npz(Path(path))
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
    tie_rule: str = "none"  #: the protocol network's ``tie_rule`` (model/decision.py)

    @property
    def n_windows(self) -> int:
        return len(self.spikes)

    @property
    def n_outputs(self) -> int:
        return len(self.spikes[0]) - self.n_inputs if self.spikes else 0

    @property
    def outputs_per_class(self) -> int:
        return outputs_per_class(self.n_outputs, len(self.labels)) if self.spikes else 1

    def counts(self) -> np.ndarray:
        """Spike counts, shape ``(n_windows, n_inputs + n_outputs)``."""
        return np.array([[len(t) for t in window] for window in self.spikes], dtype=int)


def record(backend, protocol: Protocol, threads: int = 1) -> Recording:
    """Run ``protocol`` on ``backend`` (a not yet set-up adapter) and record every spike."""
    t0 = time.perf_counter()
    backend.setup(protocol.network.timestep_ms, threads=threads)
    net = CharacterNetwork(backend, protocol.network, protocol.weights[0], protocol.gains)
    spikes = []
    for drive, weights in zip(protocol.drives, protocol.weights):
        net = net.with_weights(weights)
        pres = net.present(drive)
        spikes.append([np.asarray(t, dtype=float) for t in (*pres.pre, *pres.post)])
    backend.end()
    return Recording(
        backend=backend.name, protocol_digest=protocol.digest(), labels=protocol.labels,
        n_inputs=protocol.drives.shape[1], window_ms=protocol.network.window_ms,
        presentation_ms=net.presentation_ms, spikes=spikes, wall_seconds=time.perf_counter() - t0,
        tie_rule=protocol.network.tie_rule,
    )


def save_recording(path: Path, r: Recording) -> None:
    n_neurons = len(r.spikes[0]) if r.spikes else 0
    window = np.repeat(np.arange(r.n_windows), [sum(len(t) for t in w) for w in r.spikes])
    neuron = np.concatenate([np.repeat(np.arange(n_neurons), [len(t) for t in w]) for w in r.spikes] or [np.zeros(0, int)])
    times = np.concatenate([t for w in r.spikes for t in w] or [np.zeros(0)])
    meta = {"backend": r.backend, "protocol_digest": r.protocol_digest, "labels": list(r.labels),
            "n_inputs": r.n_inputs, "n_neurons": n_neurons, "n_windows": r.n_windows,
            "window_ms": r.window_ms, "presentation_ms": r.presentation_ms, "wall_seconds": r.wall_seconds,
            "tie_rule": r.tie_rule}
    atomic_write_bytes(Path(path), npz_bytes({
        "window": window, "neuron": neuron, "times_ms": times, "meta_json": np.array(json.dumps(meta)),
    }))


def load_recording(path: Path) -> Recording:
    data = load_npz(Path(path))
    if "meta_json" not in data:
        raise StorageError(f"{path} is not a lockstep recording (no metadata)")
    m = json.loads(str(data["meta_json"]))
    if m.get("tie_rule", "none") not in TIE_RULES:
        raise StorageError(f"{path}: unknown tie rule {m['tie_rule']!r} in the recording (one of {', '.join(TIE_RULES)})")
    spikes = [[[] for _ in range(m["n_neurons"])] for _ in range(m["n_windows"])]
    for w, n, t in zip(data["window"], data["neuron"], data["times_ms"]):
        spikes[int(w)][int(n)].append(float(t))
    return Recording(
        backend=m["backend"], protocol_digest=m["protocol_digest"], labels=tuple(m["labels"]),
        n_inputs=m["n_inputs"], window_ms=m["window_ms"], presentation_ms=m["presentation_ms"],
        spikes=[[np.array(t) for t in w] for w in spikes], wall_seconds=m["wall_seconds"],
        tie_rule=m.get("tie_rule", "none"),  # recordings written before the tie rule: none
    )




def lockstep_protocol(weights: Path | str, dataset: Dataset | str, out: Path | str, *, windows: int = 200,
                      seed: int = 1, weight_jitter_nA: float = 0.3, noise_flips: int = 0,
                      params: Params | None = None, overwrite: bool = False) -> Protocol:
    """Draw a protocol around a trained run's weights (:func:`make_protocol`) and write it to
    ``out`` (.npz); ``params`` default to those recorded beside the weights."""
    dataset = as_dataset(dataset)
    weights = Path(weights)
    trained, params = load_trained(weights, dataset, params)
    out = prepare_out_file(out, overwrite, npz_with("meta_json"))
    check_noise_flips(noise_flips, dataset)
    protocol = make_protocol(trained, dataset, params, windows, seed, weight_jitter_nA, noise_flips,
                             source=str(weights))
    save_protocol(out, protocol)
    return protocol


def replay(protocol: Protocol | Path | str, backend: str, out: Path | str, *, threads: int = 1,
           overwrite: bool = False) -> Recording:
    """Replay a protocol (or a protocol file) on ``backend``, write the recording to ``out`` (.npz)."""
    if not isinstance(protocol, Protocol):
        protocol = load_protocol(Path(protocol))
    out = prepare_out_file(out, overwrite, npz_with("meta_json"))
    nix = prepare_out_file(Path(out).with_suffix(".nix"), overwrite, nix_file)
    adapter = backends.get(backend)
    adapter.check("inference")
    recording = record(adapter.require(), protocol, threads=threads)
    save_recording(out, recording)
    write_nix(nix, recording_block(recording, protocol))
    return recording


def nix_file(path: Path) -> bool:
    """Recognises a NIX (HDF5) file, which is what --overwrite may replace beside a recording."""
    try:
        with open(path, "rb") as fh:
            return fh.read(8) == b"\x89HDF\r\n\x1a\n"
    except OSError:
        return False


def recording_block(r: Recording, p: Protocol):
    """A recording as a Neo block: one segment per window, every input and output neuron."""
    names = [f"input {i}" for i in range(r.n_inputs)] + [f"output {name}" for name in output_names(r.labels, r.outputs_per_class)]
    segments = [{"window": k, "character": r.labels[int(t)], "target": int(t)} for k, t in enumerate(p.targets)]
    notes = {"backend": r.backend, "protocol_digest": r.protocol_digest, "protocol_source": p.source,
             "window_ms": r.window_ms, "presentation_ms": r.presentation_ms, "time_origin": "window onset",
             "n_inputs": r.n_inputs}
    return spike_block(r.spikes, r.presentation_ms, name=f"lockstep on {r.backend}", annotations=notes,
                       segments=segments, neuron_labels=names)
