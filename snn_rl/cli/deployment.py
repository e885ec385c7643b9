"""``snn-rl deploy`` and ``snn-rl emulate``: take a trained run to SpiNNaker."""

from __future__ import annotations

from snn_rl.cli.args import repeats_arg
from snn_rl.deployment.emulation import SIMULATORS, emulate
from snn_rl.deployment.spinnaker import EBRAINS_TOKEN_ENV, TARGETS, deploy


def cmd_deploy(args) -> None:
    result = deploy(args.weights, args.out, target=args.target, dataset=args.dataset, repeats=args.repeats,
                    virtual=args.virtual, submit=args.submit, collab=args.collab, overwrite=args.overwrite)
    print("\n".join(result.describe()))


def cmd_emulate(args) -> None:
    result = emulate(args.weights, args.out, dataset=args.dataset, simulator=args.simulator, repeats=args.repeats,
                     overwrite=args.overwrite)
    print(result.describe())


def add_parser(sub) -> None:
    p = sub.add_parser("deploy", help="write a bundle that runs the trained network on SpiNNaker (or EBRAINS)")
    p.add_argument("--target", required=True, choices=TARGETS, help="deployment target")
    p.add_argument("--weights", required=True, help="a trained run directory or weights.npz file")
    p.add_argument("--dataset", help="data set (default: the built-in one recorded in train.json)")
    p.add_argument("--out", required=True, help="bundle directory")
    p.add_argument("--repeats", type=repeats_arg, default=3, help="presentations per character (default: 3)")
    p.add_argument("--virtual", action="store_true", help="also map the bundle on a virtual SpiNNaker board")
    p.add_argument("--submit", action="store_true",
                   help=f"submit to the EBRAINS platform (needs {EBRAINS_TOKEN_ENV} and --collab)")
    p.add_argument("--collab", help="EBRAINS collab id for --submit")
    p.add_argument("--overwrite", action="store_true", help="replace a bundle in --out")
    p.set_defaults(func=cmd_deploy)

    p = sub.add_parser("emulate", help="test trained weights with SpiNNaker's arithmetic and report what breaks")
    p.add_argument("--weights", required=True, help="a trained run directory or weights.npz file")
    p.add_argument("--dataset", help="data set (default: the built-in one recorded in train.json)")
    p.add_argument("--out", required=True, help="output directory (test.json, emulation.json)")
    p.add_argument("--simulator", choices=SIMULATORS, default="nest", help="float simulator (default: nest)")
    p.add_argument("--repeats", type=repeats_arg, default=3, help="presentations per character (default: 3)")
    p.add_argument("--overwrite", action="store_true", help="replace a result in --out")
    p.set_defaults(func=cmd_emulate)
