"""Where results go: checks on an output folder or file before anything is written into it.

Every entry point calls these first, so bad input never leaves a half-written result, and
a finished result is replaced only when the caller says ``overwrite``.
"""

from __future__ import annotations

import os
from pathlib import Path

from snn_rl.errors import InputError


def prepare_out(out: Path, marker: str, overwrite: bool, resume: bool = False) -> Path:
    """Check that ``out`` can become (or is) the folder of a result whose last file is
    ``marker``; :class:`InputError` if it is a file, cannot be created, or already holds a
    finished result and neither ``overwrite`` nor ``resume`` is given."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} exists and is not a directory")
    # the folder that will hold --out must be a writable directory, found out now rather
    # than when the first result is written
    parent = out.absolute()
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise InputError(f"--out {out} cannot be created: {parent} is a file, not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"--out {out} cannot be created: {parent} is not writable")
    if (out / marker).exists() and not (overwrite or resume):
        raise InputError(f"{out} already holds a finished result ({marker}); pass --overwrite to replace it "
                         "or choose another --out")
    return out


def prepare_out_file(path: Path, overwrite: bool) -> Path:
    """Check that ``path`` can be written as a result file (not a folder, not an existing
    file unless ``overwrite``)."""
    path = Path(path)
    if path.is_dir():
        raise InputError(f"--out {path} is a directory; give a file name")
    if path.exists() and not overwrite:
        raise InputError(f"{path} exists; pass --overwrite to replace it or choose another --out")
    return path
