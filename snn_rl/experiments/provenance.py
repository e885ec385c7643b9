"""What a run records about where it came from: package versions, git commit, platform, and
the SHA-256 of every input file, so a figure can be traced to exactly what produced it."""

from __future__ import annotations

import hashlib
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

#: distributions whose versions every run records (absent ones are recorded as null)
PACKAGES = ("PyNN", "nest-simulator", "NEURON", "sPyNNaker", "numpy", "neo", "elephant", "snakemake")


def package_versions() -> dict[str, str | None]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def git_commit(directory: Path | None = None) -> str | None:
    """The commit of the project checkout (with ``+dirty`` if it has changes), or None."""
    directory = directory or Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=directory, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=directory, capture_output=True, text=True, timeout=10, check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return commit + ("+dirty" if dirty else "")


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def provenance(inputs: dict[str, Path | None] | None = None) -> dict:
    """The record written into every result file.

    ``inputs``: role -> file read by the run (a data-set file, a weights file); ``None``
    entries (e.g. a built-in data set) are left out. Each is recorded with its SHA-256.
    """
    return {
        "packages": package_versions(),
        "git_commit": git_commit(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "command": sys.argv,
        "inputs": {role: {"path": str(path), "sha256": file_sha256(path)}
                   for role, path in (inputs or {}).items() if path is not None},
    }
