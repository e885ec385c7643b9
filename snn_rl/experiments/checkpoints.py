"""Checkpoints of a training run: everything needed to continue exactly where it stopped.

An atomic, digest-checked checkpoint (:func:`snn_rl.experiments.storage.save_checkpoint`)
is written after every epoch into ``RUN/checkpoints/``; the newest :data:`KEEP_CHECKPOINTS`
are kept. :func:`restore` continues from the newest good one (random generator states
included), so an interrupted run ends with the weights an uninterrupted run would have had.
A checkpoint belongs to one run: its fingerprint (backend, seed, data set digest and
parameters) must equal the resuming run's.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, NamedTuple

import numpy as np

from snn_rl.experiments.storage import StorageError, load_checkpoint, save_checkpoint
from snn_rl.model.dataset import Dataset
from snn_rl.model.params import Params

CHECKPOINT_DIR = "checkpoints"
KEEP_CHECKPOINTS = 3
_CKPT_RE = re.compile(r"^epoch_(\d+)\.npz$")


_CKPT_TMP_RE = re.compile(r"^\.epoch_(\d+)\.npz\..*\.tmp$")


def is_checkpoint_name(folder: Path, rel: str) -> bool:
    """Whether a file (relative to the run folder ``folder``) is one of its checkpoints, or
    the temporary file of one that a killed run left."""
    top, _, name = rel.partition("/")
    return top == CHECKPOINT_DIR and bool(_CKPT_RE.match(name) or _CKPT_TMP_RE.match(name))


class Streams(NamedTuple):
    """Independent random streams of one training run."""

    init: np.random.Generator  #: initial weights and input gains
    order: np.random.Generator  #: presentation order
    nudge: np.random.Generator  #: the rule's random draws per presentation
    explore: np.random.Generator  #: exploration choices
    noise: np.random.Generator  #: training noise (flipped pixels)


def seed_streams(seed: int) -> Streams:
    """The run's streams from one master seed (adding a stream leaves the earlier ones' draws
    unchanged)."""
    return Streams(*(np.random.Generator(np.random.PCG64(s)) for s in np.random.SeedSequence(seed).spawn(5)))


@dataclass
class TrainState:
    """Everything needed to continue training exactly where it stopped."""

    epoch: int  #: epochs completed
    weights: np.ndarray  #: plastic weights (nA)
    rule_state: dict[str, np.ndarray]  #: the learning rule's own arrays (e.g. reward baseline)
    best_weights: np.ndarray
    best_score: tuple[int, float] = (-1, -1.0)  #: (criterion met, evaluation accuracy)
    best_epoch: int = 0
    epochs_to_criterion: int | None = None
    history: list[dict] = field(default_factory=list)
    #: one entry per process that trained: first epoch, git commit and package versions
    segments: list[dict] = field(default_factory=list)


def checkpoint_paths(run_dir: Path) -> list[Path]:
    """Checkpoints of a run directory, newest first."""
    folder = Path(run_dir) / CHECKPOINT_DIR
    found = [(int(m.group(1)), p) for p in folder.glob("epoch_*.npz") if (m := _CKPT_RE.match(p.name))]
    return [p for _, p in sorted(found, reverse=True)]


def fingerprint(backend_name: str, dataset: Dataset, params: Params, seed: int) -> dict:
    """What a checkpoint must share with the run that resumes it.

    ``training.max_epochs`` is left out: it only says where to stop, so a resumed run may
    go on for longer than the interrupted one planned to. ``training.evaluate: every`` is left
    out too, so checkpoints written before that key existed (which evaluated every epoch) fit.
    """
    fitted = params.to_dict()
    fitted["training"].pop("max_epochs")
    if fitted["training"]["evaluate"] == "every":  # what checkpoints from before the key did
        fitted["training"].pop("evaluate")
    images = np.ascontiguousarray(dataset.images)
    return {"backend": backend_name, "seed": seed, "labels": list(dataset.labels),
            "images": f"{images.shape} sha256:{hashlib.sha256(images.tobytes()).hexdigest()}",
            "params": fitted}


def _first_difference(stored: dict, wanted: dict, prefix: str = "") -> str:
    """The first key (dotted) whose values differ, e.g. ``seed`` or ``params.network.delay_ms``;
    backend, seed and data set are named before any parameter."""
    order = {"backend": 0, "seed": 1, "labels": 2, "images": 3}
    for key in sorted(set(stored) | set(wanted), key=lambda k: (order.get(k, len(order)), k)):
        a, b = stored.get(key), wanted.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            found = _first_difference(a, b, f"{prefix}{key}.")
            if found:
                return found
        elif a != b:
            return f"{prefix}{key}"
    return ""


def _describe(key: str, stored: dict, wanted: dict) -> str:
    if key in ("backend", "seed"):
        return f"{key} {stored.get(key)!r} (this run: {wanted.get(key)!r})"
    if key in ("labels", "images"):
        return "another data set"
    return f"another {key.removeprefix('params.')}"


def _history_columns(history: list[dict]) -> dict[str, np.ndarray]:
    """The learning curve as one array per field: its cost per checkpoint stays small
    however long the curve grows (as JSON it grew with every epoch). A field that is None in
    some epochs (an epoch without evaluation) is stored with 0 there and a mask
    ``history/KEY/none``."""
    keys = list(history[0]) if history else []
    columns = {}
    for k in keys:
        values = [h[k] for h in history]
        missing = [v is None for v in values]
        if any(missing):
            present = next((v for v in values if v is not None), 0)
            values = [type(present)(0) if v is None else v for v in values]
            columns[f"history/{k}/none"] = np.array(missing)
        columns[f"history/{k}"] = np.array(values)
    return columns


def _history_rows(arrays: dict[str, np.ndarray], keys: list[str]) -> list[dict]:
    columns = []
    for k in keys:
        values = arrays[f"history/{k}"].tolist()
        mask = arrays.get(f"history/{k}/none")
        columns.append(values if mask is None else [None if m else v for v, m in zip(values, mask.tolist())])
    return [dict(zip(keys, row)) for row in zip(*columns)]


def save(run_dir: Path, st: TrainState, streams: Streams, fitted: dict) -> None:
    """Write the checkpoint of ``st`` (with the generators' states and the run's fingerprint
    ``fitted``) and prune all but the newest :data:`KEEP_CHECKPOINTS`."""
    arrays = {"weights": st.weights, "best_weights": st.best_weights, **st.rule_state,
              **_history_columns(st.history)}
    state = {
        "epoch": st.epoch, "best_score": list(st.best_score), "best_epoch": st.best_epoch,
        "epochs_to_criterion": st.epochs_to_criterion, "history_keys": list(st.history[0]) if st.history else [],
        "rule_state_keys": sorted(st.rule_state), "segments": st.segments,
        "rng": [g.bit_generator.state for g in streams], "fingerprint": fitted,
    }
    path = Path(run_dir) / CHECKPOINT_DIR / f"epoch_{st.epoch:04d}.npz"
    save_checkpoint(path, arrays, state)
    for old in checkpoint_paths(run_dir)[KEEP_CHECKPOINTS:]:
        old.unlink()


def _state_from(arrays: dict, state: dict) -> TrainState:
    return TrainState(
        epoch=state["epoch"], weights=arrays["weights"], best_weights=arrays["best_weights"],
        rule_state={k: arrays[k] for k in state["rule_state_keys"]}, best_score=tuple(state["best_score"]),
        best_epoch=state["best_epoch"], epochs_to_criterion=state["epochs_to_criterion"],
        history=_history_rows(arrays, state["history_keys"]), segments=state.get("segments", []),
    )


def restore(run_dir: Path, streams: Streams, fitted: dict, max_epochs: int,
            warn: Callable[[str], None]) -> TrainState | None:
    """The newest good checkpoint's state (generators restored in place), or None if none exist.

    A checkpoint that is unreadable or fails its digest is reported through ``warn`` and the
    next older one is tried; :class:`StorageError` if there are checkpoints but none is
    good, or if the newest good one belongs to another run.
    """
    paths = checkpoint_paths(run_dir)
    for path in paths:
        try:
            arrays, state = load_checkpoint(path)
        except StorageError as exc:
            warn(f"{exc}; trying the next older checkpoint")
            continue
        stored = state.get("fingerprint", {})
        if stored != fitted:
            key = _first_difference(stored, fitted)
            raise StorageError(
                f"{path} was written by a run with {_describe(key, stored, fitted)}; "
                "resume with the same settings, or drop --resume and pass --overwrite to start again"
            )
        if state["epoch"] > max_epochs:
            raise StorageError(f"{path} is at epoch {state['epoch']}, beyond max_epochs {max_epochs}; "
                               f"raise --epochs to at least {state['epoch']}")
        for g, s in zip(streams, state["rng"]):
            g.bit_generator.state = s
        return _state_from(arrays, state)
    if paths:
        raise StorageError(f"none of the {len(paths)} checkpoints in {paths[0].parent} is good; "
                           "drop --resume and pass --overwrite to start again")
    return None


def check_resume(run_dir: Path, backend_name: str, dataset: Dataset, params: Params, seed: int) -> int | None:
    """The epoch a resumed training would continue from (None: no checkpoints yet).

    Raises :class:`StorageError` exactly where resuming would, without starting a simulator
    and without the warnings about damaged checkpoints (training gives those).
    """
    state = restore(run_dir, seed_streams(seed), fingerprint(backend_name, dataset, params, seed),
                    params.training.max_epochs, warn=lambda msg: None)
    return None if state is None else state.epoch


def clear(run_dir: Path, keep_good: bool) -> None:
    """Remove what a killed checkpoint write left behind and, unless ``keep_good``, every
    checkpoint (a run started afresh must not be pruned against an older run's epochs)."""
    folder = Path(run_dir) / CHECKPOINT_DIR
    stale = list(folder.glob(".epoch_*.tmp"))
    for path in stale + ([] if keep_good else checkpoint_paths(run_dir)):
        path.unlink()
