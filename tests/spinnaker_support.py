"""Isolated sPyNNaker set-ups for the SpiNNaker tests: a private home, cfg and working
directory per test, so neither the user's ``~/.spynnaker.cfg`` nor the repository is touched."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CFG_DIR = ROOT / "backends" / "spinnaker_cfg"


def isolated_env(tmp_path: Path, cfg_text: str | None) -> dict[str, str]:
    """Environment for a subprocess whose only sPyNNaker cfg is ``cfg_text`` (None: no cfg)."""
    home, xdg, etc = tmp_path / "home", tmp_path / "xdg", tmp_path / "etc"
    for d in (home, xdg, etc):
        d.mkdir(exist_ok=True)
    if cfg_text is not None:
        (xdg / ".spynnaker.cfg").write_text(cfg_text)
    env = dict(os.environ)
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(xdg), XDG_CONFIG_DIRS=str(etc), MPLBACKEND="Agg",
               PATH=str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", ""))
    return env


def virtual_cfg(report_dir: Path) -> str:
    """The project's virtual-board template (a version 5 board) with reports under ``report_dir``."""
    text = (CFG_DIR / "virtual.cfg").read_text()
    return text.replace("default_report_file_path = DEFAULT", f"default_report_file_path = {report_dir}")
