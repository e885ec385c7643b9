"""What every rule script shares: the job's output in its log.

Rule scripts call the project's Python API (``snn_rl``) with the values Snakemake hands
them; the package is imported from the environment the rule runs in (the project's
``.venv``, where ``./run.sh`` installs it).
"""

import contextlib
import os
import sys
from pathlib import Path


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
