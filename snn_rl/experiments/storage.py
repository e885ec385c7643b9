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
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from snn_rl.model.text_input import excerpt

WEIGHTS_FILE = "weights.npz"
FORMAT_VERSION = 1


#: the process's file-creation mask (reading it means setting it, so once, at import)
_UMASK = os.umask(0)
os.umask(_UMASK)
#: the mode of a plain new file under that mask (temporary files are made 0600 first)
FILE_MODE = 0o666 & ~_UMASK


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


@contextmanager
def atomic_path(path: Path) -> Iterator[str]:
    """A temporary file beside ``path`` for a library that writes by file name (NIX, NIR):
    renamed to ``path`` with a plain file's mode when the block ends, removed if it fails,
    so ``path`` is never half a file."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield tmp
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
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


#: the most an .npz file may unpack to (bytes): far above any network of this project, far
#: below what would exhaust memory
MAX_NPZ_BYTES = 2_000_000_000


def load_npz(path: Path) -> dict[str, np.ndarray]:
    """Every array of an .npz file (no pickles); :class:`StorageError` if it cannot be read
    or would unpack to more than :data:`MAX_NPZ_BYTES`."""
    import zipfile

    try:
        if Path(path).is_file() and zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as zf:
                unpacked = sum(info.file_size for info in zf.infolist())
            if unpacked > MAX_NPZ_BYTES:
                raise StorageError(f"{path} would unpack to {unpacked / 1e9:.1f} GB; "
                                   f"no file of this project is larger than {MAX_NPZ_BYTES / 1e9:g} GB")
    except (OSError, zipfile.BadZipFile):
        pass  # np.load below reports the file
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

    weights: np.ndarray  #: (n_inputs, n_outputs), nA; n_outputs = outputs per class x classes
    input_gains: np.ndarray  #: (n_inputs,), per-neuron current gain
    labels: tuple[str, ...]  #: the classes, in the order of the output groups
    image_shape: tuple[int, int]
    input_encoding: str

    @property
    def outputs_per_class(self) -> int:
        """K: the outputs of each class's group (:mod:`snn_rl.model.decision`)."""
        return self.weights.shape[1] // len(self.labels)

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
    return check_trained(data, str(path))


#: the largest weight or input gain a weights file may hold (nA; the rule's bound is 100)
MAX_WEIGHT_NA = 100.0
MAX_GAIN = 100.0
#: the most outputs per class a weights file may hold (``network.outputs_per_class``'s bound)
MAX_OUTPUTS_PER_CLASS = 1000


def _numbers(data: dict[str, np.ndarray], key: str, where: str) -> np.ndarray:
    arr = data[key]
    if arr.dtype.kind not in "iuf":
        raise StorageError(f"{where}: {key} must hold numbers, it holds {arr.dtype}")
    arr = np.asarray(arr, dtype=float)
    if not np.all(np.isfinite(arr)):
        raise StorageError(f"{where}: {key} holds non-finite values (NaN or infinity)")
    return arr


def check_trained(data: dict[str, np.ndarray], where: str) -> TrainedWeights:
    """The arrays of a weights file checked (kinds, shapes, finite, in range) and made
    :class:`TrainedWeights`; :class:`StorageError` naming the first problem."""
    from snn_rl.model.dataset import MAX_CLASSES, MAX_LABEL, MAX_PIXELS, n_inputs
    from snn_rl.model.params import INPUT_ENCODINGS

    w = _numbers(data, "weights_nA", where)
    gains = _numbers(data, "input_gains", where)
    labels_arr, shape_arr, enc_arr = data["labels"], data["image_shape"], data["input_encoding"]
    if labels_arr.dtype.kind != "U" or labels_arr.ndim != 1 or not 2 <= labels_arr.size <= MAX_CLASSES:
        raise StorageError(f"{where}: labels must be 2 to {MAX_CLASSES} strings, got {labels_arr.dtype} {labels_arr.shape}")
    labels = tuple(str(x) for x in labels_arr)
    if any(not 0 < len(lab) <= MAX_LABEL for lab in labels) or len(set(labels)) != len(labels):
        raise StorageError(f"{where}: labels must be distinct, non-empty and at most {MAX_LABEL} characters long")
    if shape_arr.dtype.kind not in "iu" or shape_arr.shape != (2,) or not all(0 < int(x) <= MAX_PIXELS for x in shape_arr):
        raise StorageError(f"{where}: image_shape must be two positive whole numbers, got {excerpt(shape_arr.tolist(), 40)}")
    image_shape = (int(shape_arr[0]), int(shape_arr[1]))
    if image_shape[0] * image_shape[1] > MAX_PIXELS:
        raise StorageError(f"{where}: image_shape {image_shape} has more than {MAX_PIXELS} pixels")
    encoding = str(enc_arr) if enc_arr.dtype.kind == "U" and enc_arr.ndim == 0 else None
    if encoding not in INPUT_ENCODINGS:
        raise StorageError(f"{where}: input_encoding must be one of {', '.join(INPUT_ENCODINGS)}, "
                           f"got {excerpt(enc_arr.tolist(), 40)}")
    expected = n_inputs(image_shape[0] * image_shape[1], encoding)
    n_out = w.shape[1] if w.ndim == 2 else 0
    if (w.ndim != 2 or w.shape[0] != expected or not 0 < n_out <= MAX_OUTPUTS_PER_CLASS * len(labels)
            or n_out % len(labels) or gains.shape != (expected,)):
        raise StorageError(f"{where} is inconsistent: weights {w.shape} and {gains.size} input gains, but "
                           f"{image_shape[0]} x {image_shape[1]} images ({encoding}) and {len(labels)} labels need "
                           f"weights ({expected}, K x {len(labels)}) for K outputs per class "
                           f"(1 to {MAX_OUTPUTS_PER_CLASS}) and {expected} gains")
    if w.size and not (w.min() >= 0 and w.max() <= MAX_WEIGHT_NA):
        raise StorageError(f"{where}: weights must lie in [0, {MAX_WEIGHT_NA:g}] nA, found {w.min():g} to {w.max():g}")
    if not (gains.min() >= 0 and gains.max() <= MAX_GAIN):
        raise StorageError(f"{where}: input gains must lie in [0, {MAX_GAIN:g}], found {gains.min():g} to {gains.max():g}")
    return TrainedWeights(weights=w, input_gains=gains, labels=labels, image_shape=image_shape, input_encoding=encoding)


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
