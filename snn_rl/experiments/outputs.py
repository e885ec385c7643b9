"""Where results go: the one guard of every output folder and file the project writes.

Every command that writes a folder (``train``, ``test``, ``emulate``, ``deploy``, the
benchmarks) holds it through :func:`output_folder`:

- it writes only into a folder that is new, empty, or marked as its own by an earlier run of
  the same command (the mark is ``.snn-rl.json``: the command and every file it wrote);
- a folder that holds a *finished* result of that command is replaced only with
  ``overwrite`` (or continued with ``resume``), and ``overwrite`` removes only files the
  project wrote: a user's own files in the folder are never touched;
- a folder that holds files the project did not write is refused; with ``overwrite`` the
  command writes beside them, but only if none of them has the name of a file it writes;
- a folder marked by another command (a test into a training run's folder) is refused;
- an empty path, the file-system root and the home folder are refused;
- a lock (``.snn-rl.lock``, an exclusive ``flock``) keeps a second process out while the
  first writes; the kernel drops the lock when its process dies, so a stale lock file left
  by a killed process never blocks the next run.

Single result files (lockstep protocols, recordings, agreement tables) go through
:func:`prepare_out_file`: a new file, or with ``overwrite`` a file of the project's own format.
Everything is checked before the folder is created, so a refused command leaves no trace.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterable, Iterator

from snn_rl.errors import InputError
from snn_rl.model.text_input import clip

MARK = ".snn-rl.json"
LOCK = ".snn-rl.lock"
_OWN = (MARK, LOCK)

#: folders this process holds: resolved path -> command (an API call inside another, such as
#: emulate's test, writes into the folder its caller already holds)
_HELD: dict[Path, "OutputFolder"] = {}


def short(value: object, limit: int = 80) -> str:
    """``repr(value)`` cut to ``limit`` characters: an error line never echoes unbounded input."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit - 15]}... ({len(text)} chars)"


def check_out_path(out: Path | str, flag: str = "--out") -> Path:
    """``out`` as a path, refused if it is empty, the file-system root or the home folder."""
    if out is None or not str(out).strip():
        raise InputError(f"{flag} is empty; give a folder name such as runs/abcd-nest")
    path = Path(out)
    resolved = path.expanduser().resolve()
    forbidden = {Path(resolved.anchor), Path.home().resolve()}
    if resolved in forbidden:
        raise InputError(f"{flag} {clip(str(out))} is {'the home folder' if resolved == Path.home().resolve() else 'the file-system root'}; "
                         "give a folder of its own such as runs/abcd-nest")
    return path


def _check_parent(out: Path, flag: str) -> None:
    parent = out.absolute()
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise InputError(f"{flag} {out} cannot be created: {parent} is a file, not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"{flag} {out} cannot be created: {parent} is not writable")


def _walk(folder: Path) -> set[str]:
    """Every file under ``folder`` (relative, '/'-separated), the guard's own files left out."""
    found = set()
    for root, _dirs, files in os.walk(folder):
        for name in files:
            rel = os.path.relpath(os.path.join(root, name), folder).replace(os.sep, "/")
            if rel not in _OWN:
                found.add(rel)
    return found


def read_mark(folder: Path) -> dict | None:
    """The mark of a folder the project wrote, or None (no mark, or one that is not ours)."""
    try:
        mark = json.loads((Path(folder) / MARK).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(mark, dict) or not isinstance(mark.get("command"), str) or not isinstance(mark.get("files"), list):
        return None
    return mark


def _legacy_mark(folder: Path, finished: str, produces: tuple[str, ...]) -> dict | None:
    """A result written before folders were marked: its finished file is a JSON record with
    the project's provenance block; the files of the command's own names are its files."""
    try:
        record = json.loads((folder / finished).read_text())
    except (OSError, ValueError):
        return None
    if isinstance(record, dict) and isinstance(record.get("provenance"), dict):
        return {"files": sorted(p for p in _walk(folder) if p.split("/")[0] in produces)}
    return None


class OutputFolder:
    """A folder held by one command: see the module's description."""

    def __init__(self, path: Path, command: str, finished: str, produces: tuple[str, ...],
                 recognise: Callable[[str], bool] | None = None):
        self.path = path
        self.recognise = recognise
        self.command = command
        self.finished = finished
        self.produces = produces
        self.listed: set[str] = set()  #: files an earlier run of the command wrote
        self.foreign: set[str] = set()  #: files the project did not write (never removed)
        self._fd: int | None = None

    # -- checks, before anything is written ----------------------------------------------
    def check(self, overwrite: bool, resume: bool, flag: str) -> None:
        out = self.path
        if out.exists() and not out.is_dir():
            raise InputError(f"{flag} {out} exists and is not a directory")
        _check_parent(out, flag)
        if not out.exists():
            return
        present = _walk(out)
        mark = read_mark(out)
        if mark is None and (out / self.finished).exists():
            mark = _legacy_mark(out, self.finished, self.produces)
            if mark is not None:
                mark["command"] = self.command
        if mark is not None and mark["command"] != self.command:
            raise InputError(f"{out} holds the result of 'snn-rl {mark['command']}'; "
                             f"choose another {flag} for '{self.command}'")
        if mark is not None:
            self.listed = {str(f) for f in mark["files"]}
            # files of a run that was killed before it could list them count as its own
            recorded_foreign = {str(f) for f in mark.get("foreign", [])}
            self.foreign = present & recorded_foreign if not mark.get("complete", True) else present - self.listed
            if (out / self.finished).exists() and not (overwrite or resume):
                raise InputError(f"{out} already holds a finished result ({self.finished}); pass --overwrite "
                                 f"to replace it or choose another {flag}")
            return
        if self.recognise is not None and present and all(self.recognise(p) for p in present):
            # files the command knows by name and content (checkpoints copied in to resume)
            self.listed = set(present)
            return
        if not present:
            return
        example = sorted(present)[0]
        if not overwrite:
            raise InputError(f"{out} holds {len(present)} file(s) that snn-rl did not write (e.g. {short(example, 60)}); "
                             f"choose a new or empty {flag}, or pass --overwrite to write beside them")
        clash = sorted(p for p in present if p.split("/")[0] in self.produces)
        if clash:
            raise InputError(f"{out} holds {short(clash[0], 60)}, which snn-rl did not write and '{self.command}' "
                             f"would replace; move it away or choose another {flag}")
        self.foreign = present

    # -- the lock and the mark -------------------------------------------------------------
    def acquire(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        lock = self.path / LOCK
        while True:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.read(fd, 200).decode(errors="replace").strip() or "another process"
                os.close(fd)
                raise InputError(f"{self.path} is being written by {holder}; wait for it to finish "
                                 "or choose another --out") from None
            # the holder before us may have removed the lock file after we opened it
            try:
                same = os.fstat(fd).st_ino == os.stat(lock).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        os.ftruncate(fd, 0)
        os.write(fd, f"snn-rl {self.command} (pid {os.getpid()} on {socket.gethostname()})\n".encode())
        self._fd = fd
        self._write_mark(complete=False)

    def _write_mark(self, complete: bool) -> None:
        from snn_rl.experiments.storage import write_json

        write_json(self.path / MARK, {"command": self.command, "complete": complete,
                                      "files": sorted(self.listed), "foreign": sorted(self.foreign)})

    def clear(self) -> None:
        """Remove every file an earlier run of the command wrote (and only those), the
        finished file first, so an interrupted removal never leaves a stale result."""
        order = sorted(self.listed, key=lambda f: f != self.finished)
        for rel in order:
            path = self.path / rel
            if rel not in self.foreign:
                path.unlink(missing_ok=True)
                parent = path.parent
                while parent != self.path and parent.is_dir() and not any(parent.iterdir()):
                    parent.rmdir()
                    parent = parent.parent
        self.listed = set()
        self._write_mark(complete=False)

    def release(self, complete: bool) -> None:
        try:
            if self.path.is_dir():
                self.listed = _walk(self.path) - self.foreign
                self._write_mark(complete=complete)
                (self.path / LOCK).unlink(missing_ok=True)
        finally:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None


@contextmanager
def output_folder(out: Path | str, command: str, finished: str, *, produces: Iterable[str] = (),
                  overwrite: bool = False, resume: bool = False, flag: str = "--out",
                  recognise: Callable[[str], bool] | None = None) -> Iterator[OutputFolder]:
    """Hold ``out`` for ``command`` while the block writes into it (see the module's
    description); ``finished`` is the file a finished result writes last, ``produces`` the
    top-level names the command writes, ``recognise`` tells (by relative name) files the
    command adopts in an unmarked folder. Raises :class:`InputError` before anything is
    written if the folder cannot be used."""
    path = check_out_path(out, flag)
    key = path.expanduser().resolve()
    held = _HELD.get(key)
    if held is not None:  # the caller already holds it (emulate -> test)
        yield held
        return
    folder = OutputFolder(path, command, finished, tuple(produces) + (finished,), recognise)
    folder.check(overwrite, resume, flag)
    folder.acquire()
    _HELD[key] = folder
    complete = False
    try:
        # re-checked under the lock: another process may have finished here in the meantime
        folder.check(overwrite, resume, flag)
        yield folder
        complete = (path / finished).exists()
    finally:
        _HELD.pop(key, None)
        folder.release(complete)


def prepare_out(out: Path | str, marker: str, overwrite: bool, resume: bool = False, command: str = "",
                produces: Iterable[str] = (), recognise: Callable[[str], bool] | None = None) -> Path:
    """Check ``out`` without holding it (for callers that only read first); see :func:`output_folder`."""
    path = check_out_path(out)
    if path.expanduser().resolve() not in _HELD:
        OutputFolder(path, command, marker, (*produces, marker), recognise).check(overwrite, resume, "--out")
    return path


def prepare_out_file(path: Path | str, overwrite: bool, ours: Callable[[Path], bool] | None = None) -> Path:
    """Check that ``path`` can be written as a result file: not a folder, not root-like, and
    an existing file only with ``overwrite`` and only if ``ours`` recognises it as a file of
    the project's own format."""
    path = check_out_path(path)
    if path.is_dir():
        raise InputError(f"--out {path} is a directory; give a file name")
    _check_parent(path.absolute().parent, "--out")
    if path.exists():
        if not overwrite:
            raise InputError(f"{path} exists; pass --overwrite to replace it or choose another --out")
        if ours is not None and not ours(path):
            raise InputError(f"{path} exists and is not a file snn-rl wrote; --overwrite replaces only the "
                             "project's own files: move it away or choose another --out")
    return path


def npz_with(key: str) -> Callable[[Path], bool]:
    """Recognises an .npz file of the project's that holds array ``key``."""
    def ours(path: Path) -> bool:
        import zipfile

        try:
            with zipfile.ZipFile(path) as zf:
                return f"{key}.npy" in zf.namelist()
        except (OSError, zipfile.BadZipFile):
            return False
    return ours


def json_with(key: str) -> Callable[[Path], bool]:
    """Recognises a JSON result of the project's that holds ``key``."""
    def ours(path: Path) -> bool:
        try:
            if path.stat().st_size > 50_000_000:
                return False
            return key in json.loads(path.read_text())
        except (OSError, ValueError, TypeError):
            return False
    return ours
