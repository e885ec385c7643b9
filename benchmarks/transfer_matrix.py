"""Does a trained network answer the same everywhere? Train on each backend, test on each.

    python benchmarks/transfer_matrix.py [--datasets abcd alphabet] [--seeds 5]
        [--train-backends nest neuron brian2 spinnaker-emulated] [--test-backends ...] [--out runs/transfer]
    python benchmarks/transfer_matrix.py --ablations [--seeds 3] --out runs/transfer-ablations

Every run is the command-line tool in a fresh interpreter (``snn-rl train``, ``snn-rl test``),
as a user runs it, with the default parameters (or ``--params``): train on each train backend
and seed, then test the
weights on every test backend (``nest``, ``neuron``, ``brian2`` and ``spinnaker-emulated``:
SpiNNaker's 1 ms step, delays and 16-bit weights; ``--test-backends`` chooses). For ``abcd`` the NEST and NEURON tests are repeated
with one flipped pixel in every presentation (50 repeats, 200 presentations).

``--ablations``: instead, the alphabet trained on NEST once per variant of the default rule
(:data:`VARIANTS`: one choice undone, or the 0.1 ms inhibition of the parameter set
``reward``, or a 1 ms step in training too), tested on the three backends.

A finished run (its ``test.json`` exists) is read back, not repeated, so an interrupted table
continues where it stopped. Writes ``transfer.md`` / ``transfer.json`` (or ``ablations.*``)
under ``--out`` and prints the table. Nothing here is a test: wall times depend on the load.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BACKENDS = ["nest", "neuron", "brian2", "spinnaker-emulated"]
#: a variant of the default rule: name -> (parameter overrides, what the choice is for)
VARIANTS = {
    "defaults": ({}, "the default rule"),
    "min_margin: 1": ({"training": {"min_margin": 1}}, "train until every answer leads by 2 spikes"),
    "homeostasis_nA: 0": ({"plasticity": {"homeostasis_nA": 0.0}}, "a rewarded winner pulled to 3 spikes"),
    "loser_depression_nA: 0": ({"plasticity": {"loser_depression_nA": 0.0}}, "co-firing outputs pushed off the pattern"),
    "weight_sum_nA: 6.5": ({"plasticity": {"weight_sum_nA": 6.5}}, "drive near rheobase: ties become spike-count gaps"),
    "inhibition_delay_ms: 0.1 (not deployable)": ({"network": {"inhibition_delay_ms": 0.1}},
                                                 "the reward set's sub-millisecond inhibition"),
    "timestep_ms: 1.0 in training": ({"network": {"timestep_ms": 1.0}}, "train on SpiNNaker's grid instead"),
    "parameter set reward": ("reward", "the alphabet rule with 0.1 ms inhibition (not deployable)"),
    "parameter set seed": ("seed", "the seed's rule"),
}
NOISY_REPEATS = 50


def _params(spec, base: str | None):
    from snn_rl.model.params import load_params

    if isinstance(spec, str):
        return load_params(spec)
    return load_params(base).merged(spec)


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "snn_rl", *args], capture_output=True, text=True, cwd=ROOT)


def run_one(params, dataset: str, train_backend: str, seed: int, run: Path, noisy: bool,
            test_backends: list[str] = BACKENDS) -> dict:
    """Train (unless done) and test on every backend; the row's numbers."""
    if not (run / "train" / "train.json").exists():
        load = os.getloadavg()[0]
        proc = _cli("train", "--backend", train_backend, "--dataset", dataset, "--seed", str(seed), "--params",
                    json.dumps(params.to_dict()), "--out", str(run / "train"), "--overwrite", "--quiet")
        if proc.returncode != 0:
            raise SystemExit(f"{run}: training failed: {proc.stderr.strip().splitlines()[-1]}")
        (run / "load.json").write_text(json.dumps({"load_average_1min_before": load,
                                                   "load_average_1min_after": os.getloadavg()[0]}))
    summary = json.loads((run / "train" / "train.json").read_text())
    row = {"dataset": dataset, "train_backend": train_backend, "seed": seed,
           "epochs_to_criterion": summary["epochs_to_criterion"], "epochs_run": summary["epochs_run"],
           "wall_seconds": summary["wall_seconds"]}
    if (run / "load.json").exists():
        row.update(json.loads((run / "load.json").read_text()))
    tests = [(b, f"test-{b}", {}) for b in test_backends]
    if noisy:
        tests += [(b, f"noisy-{b}", {"repeats": NOISY_REPEATS, "noise_flips": 1, "noise_seed": seed})
                  for b in ("nest", "neuron")]
    for backend, folder, extra in tests:
        if not (run / folder / "test.json").exists():
            options = [f"--{k.replace('_', '-')}={v}" for k, v in extra.items()]
            proc = _cli("test", "--backend", backend, "--dataset", dataset, "--weights", str(run / "train"),
                        "--out", str(run / folder), "--overwrite", *options)
            if proc.returncode == 2:  # e.g. a delay SpiNNaker's 1 ms grid cannot hold
                print(f"{run}: {backend} refuses the network: {proc.stderr.strip()}", flush=True)
                row[folder] = row[f"{folder}-margin"] = None
                continue
            if proc.returncode != 0:
                raise SystemExit(f"{run}: test on {backend} failed: {proc.stderr.strip().splitlines()[-1]}")
        result = json.loads((run / folder / "test.json").read_text())
        row[folder] = result["accuracy"]
        if not extra:
            row[f"{folder}-margin"] = result["margin_min"]
    print(json.dumps(row), flush=True)
    return row


def _fmt(values: list[float | None]) -> str:
    if any(v is None for v in values):
        return "refused"
    if len(values) == 1:
        return f"{values[0]:.3f}"
    return f"{statistics.mean(values):.3f} ({min(values):.2f}-{max(values):.2f})"


def table(rows: list[dict], key: str, key_title: str, test_backends: list[str] = BACKENDS) -> str:
    cols = [f"test-{b}" for b in test_backends]
    noisy = any("noisy-nest" in r for r in rows)
    head = [key_title, "data set", "trained on", "seeds", *(f"on {b}" for b in test_backends),
            f"lowest margin ({'/'.join(test_backends)})"]
    head += ["1 flipped pixel (nest/neuron)"] if noisy else []
    head += ["epochs to criterion, median (runs that met it)", "training wall time, median s"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault((r[key], r["dataset"], r["train_backend"]), []).append(r)
    for (name, dataset, backend), sel in groups.items():
        met = [r["epochs_to_criterion"] for r in sel if r["epochs_to_criterion"]]
        epochs = f"{statistics.median(met):.0f} ({len(met)}/{len(sel)})" if met else f"- (0/{len(sel)})"
        margins = "/".join("-" if any(r[f"{c}-margin"] is None for r in sel) else str(min(r[f"{c}-margin"] for r in sel))
                           for c in cols)
        cells = [name, dataset, backend, str(len(sel)), *(_fmt([r[c] for r in sel]) for c in cols), margins]
        if noisy:
            cells.append(" / ".join(_fmt([r[f"noisy-{b}"] for r in sel if f"noisy-{b}" in r]) or "-"
                                    for b in ("nest", "neuron")) if any("noisy-nest" in r for r in sel) else "-")
        cells += [epochs, f"{statistics.median(r['wall_seconds'] for r in sel):.1f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--datasets", nargs="+", default=["abcd", "alphabet"])
    ap.add_argument("--train-backends", nargs="+", default=BACKENDS, choices=BACKENDS)
    ap.add_argument("--test-backends", nargs="+", default=BACKENDS, choices=BACKENDS)
    ap.add_argument("--seeds", type=int, default=5, help="seeds 1..N per cell (default: 5)")
    ap.add_argument("--params", help="a named parameter set or file instead of the defaults")
    ap.add_argument("--ablations", action="store_true", help="the alphabet on NEST with each variant of the default rule")
    ap.add_argument("--variants", nargs="+", choices=list(VARIANTS), help="with --ablations: only these")
    ap.add_argument("--out", type=Path, default=ROOT / "runs" / "transfer")
    args = ap.parse_args(argv)
    from snn_rl.experiments.outputs import benchmark_folder

    args.out = args.out.resolve()  # the runs are made from the repository's root
    name = "ablations" if args.ablations else "transfer"
    # the runs under --out are reused, so a rerun continues a stopped one
    with benchmark_folder("transfer_matrix", args.out, f"{name}.json", resume=True, status=1):
        _run(args)


def _run(args) -> None:
    rows = []
    if args.ablations:
        for name in args.variants or VARIANTS:
            spec, why = VARIANTS[name]
            slug = "".join(c if c.isalnum() else "_" for c in name)[:40]
            for seed in range(1, args.seeds + 1):
                row = run_one(_params(spec, args.params), "alphabet", "nest", seed,
                              args.out / slug / f"seed{seed}", noisy=False, test_backends=args.test_backends)
                rows.append({"variant": name, "why": why, **row})
        text, name = table(rows, "variant", "variant of the default rule", args.test_backends), "ablations"
    else:
        params = _params({}, args.params)
        for dataset in args.datasets:
            for backend in args.train_backends:
                for seed in range(1, args.seeds + 1):
                    run = args.out / dataset / backend / f"seed{seed}"
                    rows.append({"rule": args.params or "defaults",
                                 **run_one(params, dataset, backend, seed, run, noisy=dataset == "abcd",
                                           test_backends=args.test_backends)})
        text, name = table(rows, "rule", "rule", args.test_backends), "transfer"
    (args.out / f"{name}.md").write_text(text)
    (args.out / f"{name}.json").write_text(json.dumps(rows, indent=1))
    print(text)


if __name__ == "__main__":
    main()
