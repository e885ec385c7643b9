"""Files a run writes and reads: weights, checkpoints, JSON results.

Every file is written to a temporary name in the same directory, flushed to disk and then
renamed over the target, so a reader (or a killed process) never sees half a file.
Checkpoints also carry a SHA-256 digest of their content, checked on load.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

WEIGHTS_FILE = "weights.npz"
FORMAT_VERSION = 1


#: the process's file-creation mask (reading it means setting it, so once, at import)
_UMASK = os.umask(0)
os.umask(_UMASK)


class StorageError(ValueError):
    """A file that cannot be used; the message names it and says what is wrong."""


def atomic_write_bytes(path: Path, data: bytes, durable: bool = True) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename.

    A killed process leaves either the old file or the new one, never half of one.
    ``durable`` also syncs the file and its directory to disk, so the file survives a
    machine crash too (a few ms per call on a busy disk).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        # mkstemp creates the file readable by its owner only; give it a plain file's mode
        os.fchmod(fd, 0o666 & ~_UMASK)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            if durable:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
        if durable:
            # the rename itself reaches the disk only with its directory
            dir_fd = os.open(path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_json(path: Path, data: Any) -> None:
    atomic_write_bytes(path, (json.dumps(data, indent=2, sort_keys=False) + "\n").encode())


def read_json(path: Path) -> Any:
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise StorageError(f"{path} does not exist") from None
    except (OSError, ValueError) as exc:
        raise StorageError(f"{path} is not valid JSON: {exc}") from None


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """The arrays as the bytes of an uncompressed .npz file (write them with :func:`atomic_write_bytes`)."""
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def load_npz(path: Path) -> dict[str, np.ndarray]:
    """Every array of an .npz file (no pickles); :class:`StorageError` if it cannot be read."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except FileNotFoundError:
        raise StorageError(f"{path} does not exist") from None
    except Exception as exc:  # a damaged zip fails in many ways: BadZipFile, NotImplementedError, ...
        raise StorageError(f"{path} is not a readable .npz file ({type(exc).__name__}: {exc})") from None


@dataclass(frozen=True)
class TrainedWeights:
    """What a test needs from training: the weights and how inputs were driven."""

    weights: np.ndarray  #: (n_inputs, n_outputs), nA
    input_gains: np.ndarray  #: (n_inputs,), per-neuron current gain
    labels: tuple[str, ...]  #: class of each output neuron
    image_shape: tuple[int, int]
    input_encoding: str

    def check_matches(self, labels: tuple[str, ...], image_shape: tuple[int, int], where: str) -> None:
        """Raise :class:`StorageError` unless these weights fit a data set."""
        if tuple(image_shape) != tuple(self.image_shape) or tuple(labels) != tuple(self.labels):
            raise StorageError(
                f"{where} was trained on {len(self.labels)} characters of "
                f"{self.image_shape[0]} x {self.image_shape[1]} ({''.join(self.labels)}), "
                f"the data set has {len(labels)} of {image_shape[0]} x {image_shape[1]} ({''.join(labels)})"
            )


def save_weights(path: Path, tw: TrainedWeights) -> None:
    atomic_write_bytes(Path(path), npz_bytes({
        "format_version": np.array(FORMAT_VERSION),
        "weights_nA": tw.weights,
        "input_gains": tw.input_gains,
        "labels": np.array(tw.labels),
        "image_shape": np.array(tw.image_shape),
        "input_encoding": np.array(tw.input_encoding),
    }))


def load_weights(path: Path) -> TrainedWeights:
    """Read a weights file (or a run directory holding ``weights.npz``)."""
    path = Path(path)
    if path.is_dir():
        path = path / WEIGHTS_FILE
    data = load_npz(path)
    required = ("weights_nA", "input_gains", "labels", "image_shape", "input_encoding")
    missing = [k for k in required if k not in data]
    if missing:
        raise StorageError(f"{path} is not a weights file (missing {', '.join(missing)})")
    w = np.asarray(data["weights_nA"], dtype=float)
    gains = np.asarray(data["input_gains"], dtype=float)
    labels = tuple(str(x) for x in data["labels"])
    if w.ndim != 2 or w.shape[1] != len(labels) or gains.shape != (w.shape[0],):
        raise StorageError(
            f"{path} is inconsistent: weights {w.shape}, {gains.size} input gains, {len(labels)} labels"
        )
    if not np.all(np.isfinite(w)):
        raise StorageError(f"{path} holds non-finite weights")
    return TrainedWeights(
        weights=w, input_gains=gains, labels=labels,
        image_shape=tuple(int(x) for x in data["image_shape"]),
        input_encoding=str(data["input_encoding"]),
    )


def _digest(arrays: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    for key in sorted(arrays):
        arr = np.ascontiguousarray(arrays[key])
        h.update(key.encode())
        h.update(str(arr.dtype).encode())
        h.update(str(arr.shape).encode())
        h.update(arr.tobytes())
    return h.hexdigest()


def save_checkpoint(path: Path, arrays: dict[str, np.ndarray], state: dict[str, Any], durable: bool = False) -> None:
    """Arrays plus a JSON-able state dict, with a digest over both.

    Not synced to disk by default: checkpoints are written often, and one lost to a machine
    crash is caught by its digest on load, when the next older one is used instead.
    """
    payload = dict(arrays)
    payload["state_json"] = np.array(json.dumps(state, sort_keys=True))
    payload["sha256"] = np.array(_digest(payload))
    atomic_write_bytes(Path(path), npz_bytes(payload), durable=durable)


def load_checkpoint(path: Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read a checkpoint; :class:`StorageError` if it is unreadable or its digest is wrong."""
    data = load_npz(Path(path))
    stored = str(data.pop("sha256", ""))
    if not stored or "state_json" not in data:
        raise StorageError(f"{path} is not a checkpoint (no digest or state)")
    if _digest(data) != stored:
        raise StorageError(f"{path} is corrupted (SHA-256 digest does not match its content)")
    state = json.loads(str(data.pop("state_json")))
    return data, state
