"""snn-rl: train, test, emulate, deploy and replay reward-trained spiking networks from the command line.

Every subcommand is a thin layer over the Python API (:mod:`snn_rl`): it parses the
arguments, calls one API function and prints its one-line summary. Every input is checked
before anything is written: a bad argument, data set, parameter, weights file or missing
simulator gives one line on stderr and exit status 2, and the output is left as it was.
"""

from __future__ import annotations

import argparse
import os
import sys

from snn_rl.backends import BackendError
from snn_rl.backends.base import VERBOSE_ENV
from snn_rl.cli import deployment, lockstep, training
from snn_rl.cli.args import EXIT_USAGE, Parser
from snn_rl.errors import DeploymentError

#: the modules that add subcommands: each has ``add_parser(subparsers)``, which registers
#: parsers with ``set_defaults(func=...)``
COMMAND_MODULES = (training, deployment, lockstep)


EXAMPLES = """examples:
  snn-rl train --backend nest --dataset abcd --out runs/abcd-nest
  snn-rl test --backend neuron --weights runs/abcd-nest --out runs/abcd-nest-on-neuron
  snn-rl test --backend nest --weights runs/abcd-nest --noise-flips 1 --repeats 50 --out runs/noisy
  snn-rl emulate --weights runs/abcd-nest --out runs/abcd-nest-spinnaker
  snn-rl deploy --target spinnaker --virtual --weights runs/abcd-nest --out runs/abcd-bundle
  snn-rl export --format nir --weights runs/abcd-nest --out runs/abcd-nest.nir
  snn-rl nir-test --nir runs/abcd-nest.nir --out runs/abcd-nest-norse
  snn-rl import --nir runs/abcd-nest.nir --out runs/abcd-from-nir
  snn-rl lockstep protocol --weights runs/abcd-nest --out runs/ls/protocol.npz
  snn-rl backends

Each subcommand has its own --help. Parameters: model/params.py (defaults) or --params NAME|FILE|JSON.
The whole pipeline (train, test, cross-validate, report): ./run.sh pipeline (Snakemake)."""


def _add_verbose(parser) -> None:
    """``--verbose`` on ``parser`` and on every subcommand under it."""
    parser.add_argument("--verbose", action="store_true", default=argparse.SUPPRESS,
                        help="show the simulators' own notices (NEST deprecation warnings, PyNN's log, NEURON's)")
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                _add_verbose(child)


def build_parser() -> Parser:
    from importlib.metadata import PackageNotFoundError, version

    parser = Parser(prog="snn-rl", description=__doc__.splitlines()[0], epilog=EXAMPLES,
                    formatter_class=argparse.RawDescriptionHelpFormatter)
    try:
        parser.add_argument("--version", action="version", version=f"snn-rl {version('snn-rl')}")
    except PackageNotFoundError:  # run from a checkout that was never installed
        parser.add_argument("--version", action="version", version="snn-rl (not installed: run from a checkout)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.add_parser(sub)
    _add_verbose(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "verbose", False):
        os.environ[VERBOSE_ENV] = "1"
    try:
        args.func(args)
    except (ValueError, BackendError, DeploymentError) as exc:  # the input: InputError, DatasetError, StorageError, ...
        print(f"snn-rl: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:  # the file system (full, read-only, removed under us), not the input
        print(f"snn-rl: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("snn-rl: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
