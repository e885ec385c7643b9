"""``snn-rl lockstep``: replay one fixed protocol on several backends and compare their spikes.

    snn-rl lockstep protocol --weights RUN --out protocol.npz [--windows 200 --seed 1 ...]
    snn-rl lockstep run --backend nest --protocol protocol.npz --out nest.npz
    snn-rl lockstep compare nest.npz neuron.npz --out agreement.json [--figure agreement.png]

See :mod:`snn_rl.experiments.lockstep` for what a protocol holds and
:mod:`snn_rl.analysis.agreement` for what is measured.
"""

from __future__ import annotations

from snn_rl.analysis.agreement import agreement, majority_line
from snn_rl.cli.args import (
    DATASET_HELP, PARAMS_HELP, flips_arg, non_negative_float, positive_float, seed_arg, threads_arg, windows_arg,
)
from snn_rl.experiments.lockstep import lockstep_protocol, replay
from snn_rl.model.params import load_params


def cmd_protocol(args) -> None:
    protocol = lockstep_protocol(args.weights, args.dataset, args.out, windows=args.windows, seed=args.seed,
                                 weight_jitter_nA=args.weight_jitter_nA, noise_flips=args.noise_flips,
                                 params=load_params(args.params) if args.params else None, overwrite=args.overwrite)
    print(f"lockstep protocol: {protocol.n_windows} windows of {args.dataset}, seed {args.seed}, "
          f"weight jitter {args.weight_jitter_nA} nA, {args.noise_flips} flipped pixels -> {args.out}")


def cmd_run(args) -> None:
    recording = replay(args.protocol, args.backend, args.out, threads=args.threads, overwrite=args.overwrite)
    print(f"lockstep replay on {recording.backend}: {recording.n_windows} windows in {recording.wall_seconds:.1f} s "
          f"-> {args.out}")


def cmd_compare(args) -> None:
    result = agreement(args.recordings, args.out, tau_ms=args.tau_ms, figure=args.figure, overwrite=args.overwrite)
    for p in result["pairs"]:
        print(f"lockstep {p['a']} vs {p['b']}: exact count match {p['all']['exact_match_rate']:.4f}, "
              f"within one {p['all']['within_one_rate']:.4f} of {p['all']['neuron_windows']} neuron-windows, "
              f"same winner in {p['winner_agreement']:.3f} of windows -> {args.out}")
    print(f"lockstep majority: {majority_line(result['majority'])}")


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("lockstep", help="replay one fixed input/weight sequence on several backends and compare spikes")
    sub = p.add_subparsers(dest="lockstep_command", required=True)

    q = sub.add_parser("protocol", help="draw a fixed sequence of inputs and weight matrices around trained weights")
    q.add_argument("--weights", required=True, help="a run directory or weights.npz file")
    q.add_argument("--dataset", default="abcd", help=DATASET_HELP)
    q.add_argument("--params", help=PARAMS_HELP)
    q.add_argument("--windows", type=windows_arg, default=200, help="presentation windows (default: 200)")
    q.add_argument("--seed", type=seed_arg, default=1, help="seed of the characters and weight perturbations (default: 1)")
    q.add_argument("--weight-jitter-nA", type=non_negative_float, default=0.3,
                   help="standard deviation of the per-window weight perturbation, nA (default: 0.3)")
    q.add_argument("--noise-flips", type=flips_arg, default=0, help="pixels flipped in each window (default: 0)")
    q.add_argument("--out", required=True, help="protocol file (.npz)")
    q.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    q.set_defaults(func=cmd_protocol)

    q = sub.add_parser("run", help="replay a protocol on one backend and record every spike")
    q.add_argument("--backend", required=True, help="simulator to replay on")
    q.add_argument("--protocol", required=True, help="protocol file from 'snn-rl lockstep protocol'")
    q.add_argument("--threads", type=threads_arg, default=1, help="simulator threads (NEST OpenMP)")
    q.add_argument("--out", required=True, help="recording file (.npz)")
    q.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    q.set_defaults(func=cmd_run)

    q = sub.add_parser("compare", help="agreement of the recordings of one protocol, for every pair of backends")
    q.add_argument("recordings", nargs="+", help="recording files from 'snn-rl lockstep run'")
    q.add_argument("--tau-ms", type=positive_float, default=10.0, help="van Rossum time constant, ms (default: 10)")
    q.add_argument("--out", required=True, help="agreement summary (.json)")
    q.add_argument("--figure", help="also draw the agreement figure (.png)")
    q.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    q.set_defaults(func=cmd_compare)
