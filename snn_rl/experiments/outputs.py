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

import errno
import fcntl
import json
import os
import socket
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterable, Iterator

from snn_rl.errors import InputError
from snn_rl.model.text_input import clip, excerpt

MARK = ".snn-rl.json"
LOCK = ".snn-rl.lock"
_OWN = (MARK, LOCK)

#: folders this process holds: resolved path -> command (an API call inside another, such as
#: emulate's test, writes into the folder its caller already holds)
_HELD: dict[Path, "OutputFolder"] = {}


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
    """Every file under ``folder`` (relative, '/'-separated), without the guard's own files
    and without the subfolders that hold a result of their own (a mark): those belong to
    another command and are neither this command's files nor foreign ones."""
    found = set()
    for root, dirs, files in os.walk(folder):
        if root != str(folder) and MARK in files:
            dirs[:] = []
            continue
        for name in files:
            rel = os.path.relpath(os.path.join(root, name), folder).replace(os.sep, "/")
            if rel not in _OWN:
                found.add(rel)
    return found


def _relative_names(values) -> set[str] | None:
    """The entries of a mark's file list, or None if any is not a plain relative path (a
    damaged or edited mark must never make --overwrite reach outside the folder)."""
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        return None
    for v in values:
        parts = v.split("/")
        if not v or v.startswith("/") or ".." in parts or "" in parts or "\\" in v:
            return None
    return set(values)


def read_mark(folder: Path) -> dict | None:
    """The mark of a folder the project wrote, or None (no mark, or one that is not a valid mark)."""
    try:
        mark = json.loads((Path(folder) / MARK).read_text())
    except (OSError, ValueError):
        return None
    if (not isinstance(mark, dict) or not isinstance(mark.get("command"), str)
            or _relative_names(mark.get("files")) is None or _relative_names(mark.get("foreign", [])) is None
            or not isinstance(mark.get("complete", True), bool)):
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


#: file systems without flock (some NFS, Lustre without -o flock, FUSE) say so with these
_NO_LOCKING = {errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL}


class OutputFolder:
    """A folder held by one command: see the module's description."""

    def __init__(self, path: Path, command: str, finished: str, produces: tuple[str, ...],
                 recognise: Callable[[Path, str], bool] | None = None):
        self.path = path
        self.recognise = recognise
        self.command = command
        self.finished = finished
        self.produces = produces
        self.listed: set[str] = set()  #: files an earlier run of the command wrote
        self.foreign: set[str] = set()  #: files the project did not write (never removed)
        self._fd: int | None = None
        self._created = False

    def _adoptable(self, rel: str) -> bool:
        """A file this command writes: one of its top-level names, or one it recognises."""
        return rel in self.produces or bool(self.recognise and self.recognise(self.path, rel))

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
        if mark is None and (out / MARK).exists() and present:
            raise InputError(f"{out / MARK} is damaged (not the mark snn-rl writes); if the folder is yours, "
                             f"remove that file, or choose another {flag}")
        if mark is None and (out / self.finished).exists():
            mark = _legacy_mark(out, self.finished, self.produces)
            if mark is not None:
                mark["command"] = self.command
        if mark is not None and mark["command"] != self.command and present:
            raise InputError(f"{out} holds the result of 'snn-rl {mark['command']}'; "
                             f"choose another {flag} for '{self.command}'")
        if mark is not None and mark["command"] == self.command:
            self.listed = set(mark["files"]) & present
            self.foreign = {p for p in present - self.listed if not self._adoptable(p)}
            self.listed |= present - self.foreign
            if (out / self.finished).exists() and not (overwrite or resume):
                raise InputError(f"{out} already holds a finished result ({self.finished}); pass --overwrite "
                                 f"to replace it or choose another {flag}")
            return
        # not marked (or marked by another command but emptied): files it recognises are its own
        adopted = {p for p in present if self.recognise and self.recognise(out, p)}
        others = present - adopted
        self.listed = adopted
        if not others:
            return
        example = sorted(others)[0]
        if not overwrite:
            raise InputError(f"{out} holds {len(others)} file(s) that snn-rl did not write (e.g. {excerpt(example, 60)}); "
                             f"choose a new or empty {flag}, or pass --overwrite to write beside them")
        clash = sorted(p for p in others if p.split("/")[0] in self.produces)
        if clash:
            raise InputError(f"{out} holds {excerpt(clash[0], 60)}, which snn-rl did not write and '{self.command}' "
                             f"would replace; move it away or choose another {flag}")
        self.foreign = others

    # -- the lock and the mark -------------------------------------------------------------
    def lock(self) -> None:
        """Take the folder's lock (creating the folder if needed); the mark is not written yet."""
        self._created = not self.path.exists()
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
            except OSError as exc:
                os.close(fd)
                if exc.errno not in _NO_LOCKING:
                    raise
                print(f"warning: {self.path} cannot be locked on this file system ({exc.strerror}); "
                      "make sure no other snn-rl process writes into it", file=sys.stderr)
                fd = None
                break
            # the holder before us may have removed the lock file after we opened it
            try:
                same = os.fstat(fd).st_ino == os.stat(lock).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        if fd is not None:
            os.ftruncate(fd, 0)
            os.write(fd, f"snn-rl {self.command} (pid {os.getpid()} on {socket.gethostname()})\n".encode())
        self._fd = fd

    def _write_mark(self, complete: bool) -> None:
        from snn_rl.experiments.storage import write_json

        write_json(self.path / MARK, {"command": self.command, "complete": complete,
                                      "files": sorted(self.listed), "foreign": sorted(self.foreign)})

    def clear(self) -> None:
        """Remove every file an earlier run of the command wrote (and only those: each must
        still be listed, inside the folder and not foreign), the finished file first, so an
        interrupted removal never leaves a stale result."""
        present = _walk(self.path)
        order = sorted(self.listed & present - self.foreign, key=lambda f: f != self.finished)
        for rel in order:
            path = self.path / rel
            path.unlink(missing_ok=True)
            parent = path.parent
            while parent != self.path and parent.is_dir() and not any(parent.iterdir()):
                parent.rmdir()
                parent = parent.parent
        self.listed = set()
        self._write_mark(complete=False)

    def release(self, complete: bool) -> None:
        """Write the mark (the files now here that this command writes) and drop the lock."""
        try:
            if self.path.is_dir():
                present = _walk(self.path)
                self.listed = {p for p in present - self.foreign if p in self.listed or self._adoptable(p)}
                self.foreign = present - self.listed
                self._write_mark(complete=complete)
                (self.path / LOCK).unlink(missing_ok=True)
        finally:
            self._unlock()

    def abandon(self) -> None:
        """Drop the lock without a mark; remove the folder if this command created it."""
        try:
            (self.path / LOCK).unlink(missing_ok=True)
            if self._created and self.path.is_dir() and not any(self.path.iterdir()):
                self.path.rmdir()
        finally:
            self._unlock()

    def _unlock(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


@contextmanager
def output_folder(out: Path | str, command: str, finished: str, *, produces: Iterable[str] = (),
                  overwrite: bool = False, resume: bool = False, flag: str = "--out",
                  recognise: Callable[[Path, str], bool] | None = None, clear: bool = False) -> Iterator[OutputFolder]:
    """Hold ``out`` for ``command`` while the block writes into it (see the module's
    description); ``finished`` is the file a finished result writes last, ``produces`` the
    top-level names the command writes, ``recognise(folder, relative name)`` tells files it
    adopts in an unmarked folder; ``clear`` first removes what an earlier run of the command
    wrote (:meth:`OutputFolder.clear`). Raises :class:`InputError` before anything is written
    if the folder cannot be used."""
    path = check_out_path(out, flag)
    key = path.expanduser().resolve()
    held = _HELD.get(key)
    if held is not None:  # the caller already holds it (emulate -> test)
        yield held
        return
    folder = OutputFolder(path, command, finished, tuple(produces) + (finished,), recognise)
    folder.check(overwrite, resume, flag)
    folder.lock()
    try:
        # checked again under the lock, against the mark as it is on disk: another process
        # may have finished here in the meantime
        fresh = OutputFolder(path, command, finished, folder.produces, recognise)
        fresh.check(overwrite, resume, flag)
    except BaseException:
        folder.abandon()
        raise
    fresh._fd, fresh._created = folder._fd, folder._created
    fresh._write_mark(complete=False)
    if clear:
        fresh.clear()
    _HELD[key] = fresh
    complete = False
    try:
        yield fresh
        complete = (path / finished).exists()
    finally:
        _HELD.pop(key, None)
        fresh.release(complete)


@contextmanager
def benchmark_folder(benchmark: str, out: Path | str, finished: str, *, produces: Iterable[str] = (),
                     resume: bool = False, overwrite: bool = False, status: int = 2) -> Iterator[OutputFolder]:
    """The output folder of ``benchmarks/BENCHMARK.py``, held as :func:`output_folder` holds a
    command's; a folder it cannot use (or bad input in the block) ends the script with one line,
    ``BENCHMARK: error: ...``, and exit status ``status``."""
    try:
        with output_folder(out, f"benchmark {benchmark}", finished, produces=produces, resume=resume,
                           overwrite=overwrite) as folder:
            yield folder
    except InputError as exc:
        print(f"{benchmark}: error: {exc}", file=sys.stderr)
        raise SystemExit(status) from None


def prepare_out(out: Path | str, marker: str, overwrite: bool, resume: bool = False, command: str = "",
                produces: Iterable[str] = (), recognise: Callable[[Path, str], bool] | None = None) -> Path:
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
