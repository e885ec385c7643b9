"""Shared fixtures: the backends the README installs, and running the real CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: every simulator backend the README installs; a missing one fails, it is never skipped.
#: brian2 is installed by ./run.sh where Python 3.13 is found (Brian 2.11 needs it): on an
#: older Python its tests fail with the backend's own message saying how to get it.
INSTALLED_BACKENDS = ("nest", "neuron", "brian2")


def cli_env() -> dict[str, str]:
    env = dict(os.environ)
    bindir = str(Path(sys.executable).parent)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    env["MPLBACKEND"] = "Agg"
    return env


def run_cli(*args: str, check: bool = True, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run ``snn-rl`` as a user would, in a fresh interpreter."""
    proc = subprocess.run(
        [sys.executable, "-m", "snn_rl", *args], capture_output=True, text=True,
        cwd=cwd or ROOT, env=cli_env(), timeout=900,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"snn-rl {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return proc


@pytest.fixture(params=INSTALLED_BACKENDS)
def backend_name(request) -> str:
    return request.param
