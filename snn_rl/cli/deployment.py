"""``snn-rl deploy``, ``emulate``, ``export``, ``import`` and ``nir-test``: take a trained run
to SpiNNaker, or as a NIR graph to the other neuromorphic platforms."""

from __future__ import annotations

from snn_rl.cli.args import repeats_arg
from snn_rl.deployment.emulation import SIMULATORS, emulate
from snn_rl.deployment.spinnaker import EBRAINS_TOKEN_ENV, TARGETS, deploy


def cmd_export(args) -> None:
    from snn_rl.deployment.nir_run import export

    print(export(args.weights, args.out, fmt=args.format, dataset=args.dataset, delays=args.delays,
                 overwrite=args.overwrite).describe())


def cmd_import(args) -> None:
    from snn_rl.deployment.nir_run import import_graph

    print(import_graph(args.nir, args.out, overwrite=args.overwrite).describe())


def cmd_nir_test(args) -> None:
    from snn_rl.deployment.nir_run import nir_test

    print(nir_test(args.nir, args.out, dataset=args.dataset, consumer=args.consumer, reference=args.reference,
                   overwrite=args.overwrite).describe())


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

    p = sub.add_parser("export", help="write a trained run as a NIR graph (Loihi 2, SpiNNaker2, Xylo, Norse, ...)",
                       description="Write a trained run as a NIR graph; docs/deployment.md says how to take it to "
                                   "Loihi 2 (Lava), SpiNNaker2 and Xylo (Rockpool).")
    p.add_argument("--format", required=True, choices=("nir",), help="interchange format")
    p.add_argument("--weights", required=True, help="a trained run directory or weights.npz file")
    p.add_argument("--dataset", help="data set (default: the built-in one recorded in train.json)")
    p.add_argument("--out", required=True, help="the .nir file to write")
    p.add_argument("--delays", choices=("step", "nodes"), default="step",
                   help="step: no Delay nodes, the importer's one-step latency (default; every target imports it); "
                        "nodes: NIR Delay nodes (only Spyx imports them)")
    p.add_argument("--overwrite", action="store_true", help="replace a .nir file snn-rl wrote")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("import", help="read a NIR graph written by 'snn-rl export' back into a run folder",
                       description="Read a NIR graph written by 'snn-rl export' into a run folder (weights.npz, "
                                   "train.json) that test, emulate and deploy take like a trained run.")
    p.add_argument("--nir", required=True, help="a .nir file written by 'snn-rl export --format nir'")
    p.add_argument("--out", required=True, help="run folder to write")
    p.add_argument("--overwrite", action="store_true", help="replace an imported run in --out")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("nir-test", help="run a NIR graph in an independent NIR importer and compare it with NEST",
                       description="Run a NIR graph in Norse's NIR importer and compare its answers and spike "
                                   "counts per character with NEST running the same graph read back; every "
                                   "different answer is put down to its cause.")
    p.add_argument("--nir", required=True, help="a .nir file written by 'snn-rl export --format nir'")
    p.add_argument("--dataset", help="data set (default: the built-in one the graph's metadata names)")
    p.add_argument("--out", required=True, help="output directory (test.json, nir.json)")
    p.add_argument("--consumer", choices=("norse",), default="norse", help="the NIR importer (default: norse)")
    p.add_argument("--reference", choices=("nest", "neuron"), default="nest", help="reference simulator (default: nest)")
    p.add_argument("--overwrite", action="store_true", help="replace a result in --out")
    p.set_defaults(func=cmd_nir_test)
