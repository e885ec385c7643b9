"""What every rule script shares: this project on ``sys.path``, the job's output in its log,
and ``snn-rl`` commands run in-process.

Rule scripts run with whatever Python the rule's environment provides (the project's
``.venv``, or the conda environment of ``--sdm conda``), so the project is imported from
this checkout rather than from an installation.
"""

import contextlib
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@contextlib.contextmanager
def logged(path):
    """Send stdout and stderr to ``path``: Python's and the simulators' own C/C++ output."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def snn_rl(*argv) -> None:
    """Run one ``snn-rl`` command in this process; a non-zero exit status fails the job."""
    from snn_rl.cli import main

    args = [str(a) for a in argv]
    code = main(args)
    if code:
        raise SystemExit(f"snn-rl {' '.join(args)} failed with exit status {code}; the job's log has the details")
