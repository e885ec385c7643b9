"""``snn-rl``: train, test and list backends from the command line.

Every input is checked before anything is written: a bad argument, data set, parameter,
weights file or missing simulator gives one line on stderr and exit status 2, and the
output directory is left as it was.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

import backends
from model import plots
from model.dataset import DatasetError, load as load_dataset
from model.params import Params
from model.provenance import provenance
from model.storage import WEIGHTS_FILE, StorageError, load_weights, read_json, save_weights, write_json

EXIT_USAGE = 2

#: modules that add further subcommands: each has ``add_parser(subparsers)`` which registers a
#: parser with ``set_defaults(func=...)``; raise :class:`CliError` for bad input
COMMAND_MODULES: list[str] = ["snn_rl.deploy", "snn_rl.lockstep"]


class CliError(Exception):
    """A problem with the user's input; printed as one line."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (the usage text is one ``--help`` away)."""

    def error(self, message: str):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _number(cast: type, positive: bool):
    """An argparse ``type``: ``cast`` (int or float) of the text, > 0 (``positive``) or >= 0."""
    noun = "a whole number" if cast is int else "a number"

    def parse(text: str):
        try:
            value = cast(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {noun}, got {text!r}") from None
        if not (value > 0 if positive else value >= 0):  # a NaN fails both
            raise argparse.ArgumentTypeError(f"must be {'positive' if positive else '>= 0'}, got {value}")
        return value

    return parse


_positive_int = _number(int, positive=True)
_non_negative_int = _number(int, positive=False)
_positive_float = _number(float, positive=True)
_non_negative_float = _number(float, positive=False)


def load_params(spec: str | None) -> Params:
    """Parameters from a YAML/JSON file, an inline JSON object, or the defaults."""
    if not spec:
        return Params()
    if spec.lstrip().startswith("{"):
        source, text = "--params", spec
    else:
        path = Path(spec)
        if not path.is_file():
            raise CliError(f"parameter file {spec} does not exist")
        source, text = str(path), path.read_text()
    try:
        import yaml

        data = yaml.safe_load(text)
    except Exception as exc:  # yaml.YAMLError and friends: one line is enough
        raise CliError(f"{source} is not valid YAML/JSON: {str(exc).splitlines()[0]}") from None
    try:
        return Params.from_dict(data or {})
    except (TypeError, ValueError) as exc:
        raise CliError(f"{source}: {exc}") from None


def _backend(name: str):
    return _import_simulator(backends.get(name))


def _import_simulator(backend):
    """Import the adapter's simulator now, so that a missing one fails before any output
    exists; import-time warnings (pyNN.neuron's "mpi4py not available") are not the user's."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        backend.sim = backend.import_simulator()
    return backend


def _prepare_out(out: Path, marker: str, overwrite: bool, resume: bool = False) -> None:
    if out.exists() and not out.is_dir():
        raise CliError(f"--out {out} exists and is not a directory")
    # the folder that will hold --out must be a writable directory, found out now rather
    # than when the first result is written
    parent = out.absolute()
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise CliError(f"--out {out} cannot be created: {parent} is a file, not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise CliError(f"--out {out} cannot be created: {parent} is not writable")
    if (out / marker).exists() and not (overwrite or resume):
        raise CliError(f"{out} already holds a finished result ({marker}); pass --overwrite to replace it or choose another --out")


def cmd_train(args) -> None:
    from model.training import check_resume, checkpoint_paths, train

    dataset = load_dataset(args.dataset)
    params = load_params(args.params)
    if args.epochs is not None:
        params = params.replace(training={"max_epochs": args.epochs})
    out = Path(args.out)
    _prepare_out(out, "train.json", args.overwrite, args.resume)
    if checkpoint_paths(out) and not (args.resume or args.overwrite):
        raise CliError(f"{out} holds the checkpoints of an unfinished run; pass --resume to continue it "
                       "or --overwrite to start again")
    backend = backends.get(args.backend)
    params = backend.constrain(params)
    resume = args.resume
    if resume:
        try:
            check_resume(out, backend.name, dataset, params, args.seed)
        except StorageError as exc:
            if not args.overwrite:
                raise
            print(f"warning: not resuming: {exc}", file=sys.stderr)
            resume = False
    _import_simulator(backend)
    if args.overwrite and not resume:
        # the old result goes first (its marker, train.json, first of all), so that an
        # interrupted new run leaves a directory of checkpoints only, never a stale result
        for name in ("train.json", WEIGHTS_FILE, "learning_curve.png", "weights.png"):
            (out / name).unlink(missing_ok=True)
    result = train(backend, dataset, params, args.seed, out, resume=resume, threads=args.threads, progress=not args.quiet)
    save_weights(out / WEIGHTS_FILE, result.trained)
    plots.learning_curve(result.summary["learning_curve"], out / "learning_curve.png",
                         title=f"{dataset.name} on {backend.name}, seed {args.seed}")
    plots.weight_grids(result.trained.weights, dataset.labels, dataset.shape, result.trained.input_encoding,
                       out / "weights.png", title=f"weights after epoch {result.summary['weights_from_epoch']}")
    write_json(out / "train.json", {**result.summary, "provenance": provenance({"dataset": _dataset_file(args.dataset)})})
    s = result.summary
    crit = s["epochs_to_criterion"]
    print(f"{s['dataset']} on {s['backend']} seed {s['seed']}: "
          + (f"criterion after {crit} epochs" if crit else f"criterion not met in {s['epochs_run']} epochs")
          + f", {s['wall_seconds']:.1f} s ({s['sim_ms_per_wall_s']:.0f} simulated ms per wall second) -> {out}")


def cmd_test(args) -> None:
    from model.evaluation import evaluate
    from model.network import CharacterNetwork

    dataset = load_dataset(args.dataset)
    weights_path = Path(args.weights)
    trained, params = load_trained(weights_path, dataset, args.params)
    check_noise_flips(args.noise_flips, dataset)
    out = Path(args.out)
    _prepare_out(out, "test.json", args.overwrite)
    backend = _backend(args.backend)
    params = backend.constrain(params)
    net_p = params.network

    t0 = time.perf_counter()
    backend.setup(net_p.timestep_ms, threads=args.threads)
    net = CharacterNetwork(backend, net_p, trained.weights, trained.input_gains)
    rng = np.random.default_rng(args.noise_seed)
    ev = evaluate(net, dataset, trained.input_encoding, repeats=args.repeats, noise_flips=args.noise_flips, rng=rng)
    wall = time.perf_counter() - t0
    backend.end()
    summary = {
        "backend": backend.name,
        "weights": str(weights_path),
        "dataset": dataset.name,
        "repeats": args.repeats,
        "noise_flips": args.noise_flips,
        "noise_seed": args.noise_seed,
        **ev.summary(),
        "answers": ev.answers,
        "targets": ev.targets,
        "output_spike_counts": [c.tolist() for c in ev.counts],
        "wall_seconds": wall,
        "params": params.to_dict(),
        "provenance": provenance({
            "dataset": _dataset_file(args.dataset),
            "weights": weights_path / WEIGHTS_FILE if weights_path.is_dir() else weights_path,
        }),
    }
    plots.raster(ev, net.presentation_ms, out / "raster.png",
                 title=f"{dataset.name} on {backend.name}: accuracy {ev.accuracy:.3f}"
                 + (f", {args.noise_flips} flipped pixels" if args.noise_flips else ""))
    write_json(out / "test.json", summary)
    print(f"{dataset.name} on {backend.name}: accuracy {ev.accuracy:.3f} "
          f"({sum(a == t for a, t in zip(ev.answers, ev.targets))}/{len(ev.targets)}), "
          f"mean winner spikes {summary['mean_winner_spikes']:.2f} -> {out}")


def _dataset_file(spec: str) -> Path | None:
    """The file a ``--dataset`` value names, or None for a built-in data set."""
    from model.dataset import BUILTIN, DIGITS

    return None if spec in BUILTIN or spec in DIGITS else Path(spec)


def load_trained(weights_path: Path, dataset, params_spec: str | None = None):
    """Trained weights that fit ``dataset``, and the parameters to run them with: ``params_spec``
    (see :func:`load_params`) or else those recorded beside the weights, with the input
    encoding the weights were trained with."""
    from model.dataset import n_inputs

    trained = load_weights(weights_path)
    trained.check_matches(dataset.labels, dataset.shape, str(weights_path))
    if trained.weights.shape[0] != n_inputs(dataset.n_pixels, trained.input_encoding):
        raise CliError(f"{weights_path}: {trained.weights.shape[0]} inputs do not fit {dataset.n_pixels} pixels "
                       f"with encoding {trained.input_encoding}")
    params = _train_params(weights_path) if params_spec is None else load_params(params_spec)
    if params.network.input_encoding != trained.input_encoding:
        params = params.replace(network={"input_encoding": trained.input_encoding})
    return trained, params


def check_noise_flips(n_flips: int, dataset) -> None:
    if n_flips > dataset.n_pixels:
        raise CliError(f"--noise-flips {n_flips} is more than the {dataset.n_pixels} pixels of a character")


def _train_params(weights_path: Path) -> Params:
    """The parameters recorded beside a weights file, or the defaults."""
    folder = weights_path if weights_path.is_dir() else weights_path.parent
    if (folder / "train.json").exists():
        try:
            return Params.from_dict(read_json(folder / "train.json")["params"])
        except (KeyError, TypeError, ValueError) as exc:
            raise CliError(f"{folder / 'train.json'} has no usable parameters ({exc})") from None
    return Params()


def cmd_backends(args) -> None:
    for name in backends.names():
        backend = backends.get(name)
        try:
            backend.import_simulator()
            status = "available"
        except backends.BackendError as exc:
            status = f"not available: {exc}"
        caps = backend.capabilities
        print(f"{name:10s} training={'yes' if caps.training else 'no':3s} inference={'yes' if caps.inference else 'no':3s} {status}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="snn-rl", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p):
        p.add_argument("--backend", required=True, help=f"simulator: {', '.join(backends.names())}")
        p.add_argument("--dataset", default="abcd", help="built-in name (abcd, alphabet, digits, digits-test) or a data-set file (default: abcd)")
        p.add_argument("--out", required=True, help="output directory")
        p.add_argument("--params", help="parameter overrides: a YAML/JSON file or an inline JSON object")
        p.add_argument("--threads", type=_positive_int, default=1, help="simulator threads (NEST OpenMP)")
        p.add_argument("--overwrite", action="store_true", help="replace a finished result in --out")

    p = sub.add_parser("train", help="train the network with the host-side reward-modulated STDP loop")
    common(p)
    p.add_argument("--seed", type=_non_negative_int, default=1, help="master seed of the run (default: 1)")
    p.add_argument("--epochs", type=_positive_int, help="maximum number of epochs (default from parameters: 200)")
    p.add_argument("--resume", action="store_true",
                   help="continue from the newest good checkpoint in --out (with --overwrite: start again "
                        "when no checkpoint fits this run)")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("test", help="evaluate trained weights with plasticity off")
    common(p)
    p.add_argument("--weights", required=True, help="a run directory or weights.npz file")
    p.add_argument("--repeats", type=_positive_int, default=3, help="presentations per character (default: 3)")
    p.add_argument("--noise-flips", type=_non_negative_int, default=0, help="pixels flipped in each test presentation")
    p.add_argument("--noise-seed", type=_non_negative_int, default=0, help="seed of the input noise")
    p.set_defaults(func=cmd_test)

    p = sub.add_parser("backends", help="list backends and whether their simulator is installed")
    p.set_defaults(func=cmd_backends)
    for module in COMMAND_MODULES:
        importlib.import_module(module).add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.func(args)
    except (CliError, DatasetError, StorageError, backends.BackendError, ValueError) as exc:
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
