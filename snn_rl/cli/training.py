"""``snn-rl train``, ``snn-rl test`` and ``snn-rl backends``."""

from __future__ import annotations

from snn_rl import backends
from snn_rl.cli.args import DATASET_HELP, PARAMS_HELP, epochs_arg, flips_arg, repeats_arg, seed_arg, threads_arg
from snn_rl.experiments.evaluation import test
from snn_rl.experiments.training import train
from snn_rl.model.params import load_params


def cmd_train(args) -> None:
    params = load_params(args.params)
    if args.epochs is not None:
        params = params.replace(training={"max_epochs": args.epochs})
    result = train(params, args.dataset, args.backend, args.out, seed=args.seed, resume=args.resume,
                   overwrite=args.overwrite, threads=args.threads, progress=not args.quiet, heldout=args.heldout)
    print(result.describe())


def cmd_test(args) -> None:
    params = load_params(args.params) if args.params else None
    result = test(args.weights, args.dataset, args.backend, args.out, params=params, repeats=args.repeats,
                  noise_flips=args.noise_flips, noise_seed=args.noise_seed, threads=args.threads,
                  overwrite=args.overwrite)
    print(result.describe())


def cmd_backends(args) -> None:
    """Each backend: what it can do, whether its simulator is installed and whether a run can
    start now (hardware needs a configured, reachable machine)."""
    for name in backends.names():
        backend = backends.get(name)
        try:
            backend.require()
            installed, why_not = "yes", backend.usable_now()
        except backends.BackendError as exc:
            installed, why_not = "no", str(exc)
        caps = backend.capabilities
        usable = "yes" if why_not is None else f"no: {why_not}"
        print(f"{name:27s} training={'yes' if caps.training else 'no':3s} inference={'yes' if caps.inference else 'no':3s} "
              f"installed={installed:3s} usable now={usable}")


def _common(p) -> None:
    p.add_argument("--backend", required=True, help=f"simulator: {', '.join(backends.names())}")
    p.add_argument("--dataset", default="abcd", help=DATASET_HELP)
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--params", help=PARAMS_HELP)
    p.add_argument("--threads", type=threads_arg, default=1, help="simulator threads (NEST OpenMP)")
    p.add_argument("--overwrite", action="store_true", help="replace a finished result in --out")


def add_parser(sub) -> None:
    p = sub.add_parser("train", help="train the network with the host-side reward-modulated STDP loop")
    _common(p)
    p.add_argument("--seed", type=seed_arg, default=1, help="master seed of the run (default: 1)")
    p.add_argument("--epochs", type=epochs_arg, help="maximum number of epochs (default from parameters: 200)")
    p.add_argument("--resume", action="store_true",
                   help="continue from the newest good checkpoint in --out (with --overwrite: start again "
                        "when no checkpoint fits this run)")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.add_argument("--heldout", metavar="DATASET",
                   help="also test on this data set (same classes, plasticity off) after every epoch: the "
                        "learning curve's held-out accuracy (e.g. digits-test)")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("test", help="evaluate trained weights with plasticity off")
    _common(p)
    p.add_argument("--weights", required=True, help="a run directory or weights.npz file")
    p.add_argument("--repeats", type=repeats_arg, default=3, help="presentations per character (default: 3)")
    p.add_argument("--noise-flips", type=flips_arg, default=0, help="pixels flipped in each test presentation")
    p.add_argument("--noise-seed", type=seed_arg, default=0, help="seed of the input noise")
    p.set_defaults(func=cmd_test)

    p = sub.add_parser("backends", help="list backends: installed, and usable now (hardware: a machine configured and reachable)")
    p.set_defaults(func=cmd_backends)
