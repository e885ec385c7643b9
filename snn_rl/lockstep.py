"""``snn-rl lockstep``: replay one fixed protocol on several backends and compare their spikes.

    snn-rl lockstep protocol --weights RUN --out protocol.npz [--windows 200 --seed 1 ...]
    snn-rl lockstep run --backend nest --protocol protocol.npz --out nest.npz
    snn-rl lockstep compare nest.npz neuron.npz --out agreement.json [--figure agreement.png]

See :mod:`model.lockstep` for what a protocol holds and what is measured.
"""

from __future__ import annotations

from pathlib import Path

from snn_rl.cli import (
    CliError, _backend, _non_negative_float, _non_negative_int, _positive_float, _positive_int, check_noise_flips,
    load_trained,
)


def _check_out(path: Path, overwrite: bool) -> None:
    if path.is_dir():
        raise CliError(f"--out {path} is a directory; give a file name")
    if path.exists() and not overwrite:
        raise CliError(f"{path} exists; pass --overwrite to replace it or choose another --out")


def cmd_protocol(args) -> None:
    from model.dataset import load as load_dataset
    from model.lockstep import make_protocol, save_protocol

    dataset = load_dataset(args.dataset)
    weights_path = Path(args.weights)
    trained, params = load_trained(weights_path, dataset, args.params)
    out = Path(args.out)
    _check_out(out, args.overwrite)
    check_noise_flips(args.noise_flips, dataset)
    protocol = make_protocol(trained, dataset, params, args.windows, args.seed, args.weight_jitter_nA,
                             args.noise_flips, source=str(weights_path))
    save_protocol(out, protocol)
    print(f"lockstep protocol: {protocol.n_windows} windows of {dataset.name}, seed {args.seed}, "
          f"weight jitter {args.weight_jitter_nA} nA, {args.noise_flips} flipped pixels -> {out}")


def cmd_run(args) -> None:
    from model.lockstep import load_protocol, replay, save_recording

    protocol = load_protocol(Path(args.protocol))
    out = Path(args.out)
    _check_out(out, args.overwrite)
    backend = _backend(args.backend)
    recording = replay(backend, protocol, threads=args.threads)
    save_recording(out, recording)
    print(f"lockstep replay on {backend.name}: {recording.n_windows} windows in {recording.wall_seconds:.1f} s -> {out}")


def cmd_compare(args) -> None:
    from model import compare as figures
    from model.lockstep import compare_all, load_recording
    from model.storage import write_json

    out = Path(args.out)
    _check_out(out, args.overwrite)
    recordings = [load_recording(Path(p)) for p in args.recordings]
    names = [r.backend for r in recordings]
    if len(set(names)) != len(names):
        raise CliError(f"each backend once, please: got {', '.join(names)}")
    pairs = compare_all(recordings, tau_ms=args.tau_ms)
    if args.figure:
        figures.lockstep_figure(recordings, pairs, Path(args.figure))
    write_json(out, {"recordings": [str(p) for p in args.recordings], "pairs": pairs})
    for p in pairs:
        print(f"lockstep {p['a']} vs {p['b']}: exact count match {p['all']['exact_match_rate']:.4f}, "
              f"within one {p['all']['within_one_rate']:.4f} of {p['all']['neuron_windows']} neuron-windows, "
              f"same winner in {p['winner_agreement']:.3f} of windows -> {out}")


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("lockstep", help="replay one fixed input/weight sequence on several backends and compare spikes")
    sub = p.add_subparsers(dest="lockstep_command", required=True)

    q = sub.add_parser("protocol", help="draw a fixed sequence of inputs and weight matrices around trained weights")
    q.add_argument("--weights", required=True, help="a run directory or weights.npz file")
    q.add_argument("--dataset", default="abcd", help="built-in name (abcd, alphabet) or a data-set file (default: abcd)")
    q.add_argument("--params", help="parameter overrides (default: those recorded beside the weights)")
    q.add_argument("--windows", type=_positive_int, default=200, help="presentation windows (default: 200)")
    q.add_argument("--seed", type=_non_negative_int, default=1, help="seed of the characters and weight perturbations (default: 1)")
    q.add_argument("--weight-jitter-nA", type=_non_negative_float, default=0.3,
                   help="standard deviation of the per-window weight perturbation, nA (default: 0.3)")
    q.add_argument("--noise-flips", type=_non_negative_int, default=0, help="pixels flipped in each window (default: 0)")
    q.add_argument("--out", required=True, help="protocol file (.npz)")
    q.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    q.set_defaults(func=cmd_protocol)

    q = sub.add_parser("run", help="replay a protocol on one backend and record every spike")
    q.add_argument("--backend", required=True, help="simulator to replay on")
    q.add_argument("--protocol", required=True, help="protocol file from 'snn-rl lockstep protocol'")
    q.add_argument("--threads", type=_positive_int, default=1, help="simulator threads (NEST OpenMP)")
    q.add_argument("--out", required=True, help="recording file (.npz)")
    q.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    q.set_defaults(func=cmd_run)

    q = sub.add_parser("compare", help="agreement of the recordings of one protocol, for every pair of backends")
    q.add_argument("recordings", nargs="+", help="recording files from 'snn-rl lockstep run'")
    q.add_argument("--tau-ms", type=_positive_float, default=10.0, help="van Rossum time constant, ms (default: 10)")
    q.add_argument("--out", required=True, help="agreement summary (.json)")
    q.add_argument("--figure", help="also draw the agreement figure (.png)")
    q.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    q.set_defaults(func=cmd_compare)
