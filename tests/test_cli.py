"""The command line as a newcomer meets it: help, version, backends, and a quiet normal run."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from conftest import cli_env, run_cli
from snn_rl.cli import COMMAND_MODULES, build_parser


def _subcommands() -> list[str]:
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return list(action.choices)


def test_help_lists_every_subcommand_and_has_examples():
    out = run_cli("--help").stdout
    names = _subcommands()
    assert len(names) >= 2 * len(COMMAND_MODULES)  # every module adds at least two
    for name in names:
        assert re.search(rf"^\s+{name}\s+\S", out, re.M), f"{name} missing from --help"
        assert f"snn-rl {name}" in out, f"no example of {name}"


def test_version():
    out = run_cli("--version").stdout
    assert re.fullmatch(r"snn-rl \d+\.\d+\.\d+\S*\n", out), out


def test_backends_tell_installed_from_usable_now():
    lines = run_cli("backends").stdout.splitlines()
    rows = {line.split()[0]: line for line in lines}
    assert {"nest", "neuron", "brian2", "spinnaker", "spinnaker-emulated"} <= set(rows)
    for name in ("nest", "neuron", "brian2", "spinnaker-emulated"):
        assert "installed=yes" in rows[name] and "usable now=yes" in rows[name]
    # CI has sPyNNaker but no board or spalloc server configured
    assert "installed=yes" in rows["spinnaker"] and "usable now=no: " in rows["spinnaker"]


@pytest.mark.simulator
@pytest.mark.parametrize("backend", ["nest", "neuron", "brian2"])
def test_a_normal_run_prints_no_simulator_notice(backend, tmp_path):
    quiet = run_cli("train", "--backend", backend, "--out", str(tmp_path / "run"), "--epochs", "2")
    # progress lines and nothing else: no NEST deprecation warning, no PyNN log, no NEURON display
    # notice, no Brian 2 integration-method notice
    lines = [line for line in quiet.stderr.splitlines() if line.strip()]
    assert lines and all(line.startswith(f"train abcd on {backend} seed 1: epoch") for line in lines), quiet.stderr
    # this test process may have quietened NEURON in the environment it hands down: not the user's
    env = {k: v for k, v in cli_env().items() if k != "NEURON_MODULE_OPTIONS"}
    loud = subprocess.run([sys.executable, "-m", "snn_rl", "train", "--backend", backend, "--out", str(tmp_path / "loud"),
                           "--epochs", "2", "--verbose"], capture_output=True, text=True, env=env, timeout=600)
    assert loud.returncode == 0, loud.stderr
    notices = {"nest": "is deprecated", "neuron": "DISPLAY", "brian2": "No numerical integration method specified"}[backend]
    assert notices in loud.stderr, loud.stderr


def test_brian2_on_an_older_python_says_how_to_get_one(monkeypatch):
    """Brian 2.11 needs Python 3.13: on an older one the adapter refuses in one line that says
    what to install (checked here by raising the adapter's minimum, as this Python is 3.13)."""
    from snn_rl import backends
    from snn_rl.backends import brian2

    monkeypatch.setattr(brian2, "MIN_PYTHON", (sys.version_info[0], sys.version_info[1] + 1))
    with pytest.raises(backends.BackendError) as err:
        backends.get("brian2").import_simulator()
    message = str(err.value)
    assert "\n" not in message
    assert f"needs Python {sys.version_info[0]}.{sys.version_info[1] + 1} or newer" in message
    assert "rm -rf .venv && ./run.sh test" in message
