"""Results in the formats other tools read: spike trains as Neo blocks in NIX files, and the
trained connections as a list PyNN's ``FromFileConnector`` loads.

- **Spikes (Neo, NIX).** ``snn-rl test`` writes ``spikes.nix`` beside ``test.json`` and
  ``snn-rl lockstep run`` writes ``RECORDING.nix`` beside its ``.npz``: one Neo ``Block``
  with one ``Segment``, one ``SpikeTrain`` per recorded neuron in ms over the whole sequence (presentation ``k`` starts at ``k * presentation_ms``), and an ``Epoch``
  marking each presentation with its character and answer; annotated with the backend, data set
  (name and SHA-256), window and rest lengths. NIX (via ``nixio``, HDF5 underneath) is Neo's
  own lossless format: it keeps every annotation and reads back as the same objects, which
  NWB (``pynwb``) does only through a schema of its own and a much larger dependency.
  ``neo.io.NixIO(path, mode="ro").read_block()`` reads one; Elephant takes its spike trains
  as they are (``tests/test_exchange.py``).
- **Connections (PyNN).** ``snn-rl train`` writes ``connections.txt``: the learned
  input -> output weights (nA) and delays (ms), one connection per line, under PyNN's column
  header, so ``sim.Projection(inputs, outputs, sim.FromFileConnector("connections.txt"))``
  builds them in any PyNN simulator.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

SPIKES_FILE = "spikes.nix"
CONNECTIONS_FILE = "connections.txt"


def spike_block(spikes: list[list[np.ndarray]], presentation_ms: float, *, name: str, annotations: dict,
                segments: list[dict], neuron_labels: list[str]):
    """A Neo ``Block`` of consecutive presentations: ``spikes[k][i]`` (ms from the onset of
    presentation ``k``) of neuron ``i``. One ``Segment`` holds one ``SpikeTrain`` per neuron
    over the whole sequence (presentation ``k`` starts at ``k * presentation_ms``) and an
    ``Epoch`` per presentation whose array annotations are ``segments[k]`` (character, answer,
    ...): a few objects however long the sequence, which NIX writes and reads quickly."""
    import neo
    import quantities as pq

    n = len(spikes)
    onsets = np.arange(n) * presentation_ms
    block = neo.Block(name=name, **_plain({**annotations, "presentation_ms": float(presentation_ms),
                                           "n_presentations": n}))
    seg = neo.Segment(name="presentations", index=0)
    for i, label in enumerate(neuron_labels):
        times = np.concatenate([np.asarray(spikes[k][i], dtype=float) + onsets[k] for k in range(n)] or [np.zeros(0)])
        seg.spiketrains.append(neo.SpikeTrain(times * pq.ms, t_start=0 * pq.ms, t_stop=max(n, 1) * presentation_ms * pq.ms,
                                              name=label, neuron=i))
    keys = list(segments[0]) if segments else []
    seg.epochs.append(neo.Epoch(times=onsets * pq.ms, durations=np.full(n, presentation_ms) * pq.ms,
                                labels=np.array([str(notes.get("character", k)) for k, notes in enumerate(segments)]),
                                name="presentations",
                                array_annotations={key: np.array([notes[key] for notes in segments]) for key in keys}))
    block.segments.append(seg)
    return block


def counts_per_presentation(block) -> np.ndarray:
    """Spike counts ``(n_presentations, n_neurons)`` of a block made by :func:`spike_block`."""
    p, n = block.annotations["presentation_ms"], int(block.annotations["n_presentations"])
    edges = np.arange(n + 1) * p
    trains = block.segments[0].spiketrains
    return np.stack([np.histogram(st.rescale("ms").magnitude, bins=edges)[0] for st in trains], axis=1)


def _plain(values: dict) -> dict:
    """Annotations NIX stores: strings, numbers, booleans (None becomes '')."""
    out = {}
    for key, value in values.items():
        if isinstance(value, (np.integer, np.floating)):
            value = value.item()
        out[key] = "" if value is None else value
    return out


def write_nix(path: Path, block) -> None:
    """Write ``block`` to ``path`` through a temporary file and a rename (never half a file)."""
    from neo.io import NixIO

    from snn_rl.experiments.storage import atomic_path

    with atomic_path(path) as tmp:
        io = NixIO(tmp, mode="ow")
        try:
            io.write_block(block)
        finally:
            io.close()


def read_nix(path: Path):
    """The block of a NIX file this project wrote."""
    from neo.io import NixIO

    io = NixIO(str(path), mode="ro")
    try:
        return io.read_block()
    finally:
        io.close()


def write_connections(path: Path, weights_nA: np.ndarray, delay_ms: float) -> None:
    """The ``(n_pre, n_post)`` weights as PyNN's ``FromFileConnector`` list (every value to
    full double precision)."""
    from snn_rl.experiments.storage import atomic_write_bytes

    pre, post = np.indices(weights_nA.shape)
    rows = np.column_stack([pre.ravel(), post.ravel(), weights_nA.ravel(), np.full(weights_nA.size, delay_ms)])
    lines = ["# columns = ['i', 'j', 'weight', 'delay']"]
    lines += [f"{int(i)}\t{int(j)}\t{w!r}\t{d!r}" for i, j, w, d in rows.tolist()]
    atomic_write_bytes(Path(path), ("\n".join(lines) + "\n").encode())
