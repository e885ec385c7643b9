"""K outputs per class on the 8 x 8 digits: held-out accuracy and training time per K, backend, seed.

    python benchmarks/digits_groups.py [--ks 1 3 5 10] [--backends nest neuron spinnaker-emulated]
                                       [--neuron-ks 10] [--seeds 5] [--jobs 2] [--params reward-groups]
                                       [--out runs/digits-groups]
    python benchmarks/digits_groups.py --letters 3 [--backends ...] [--seeds 5] [--out ...]

Every run goes through the CLI in its own interpreter: ``snn-rl train --dataset digits --params
reward-groups`` (K set by ``network.outputs_per_class``) with ``--heldout digits-test``, so the
learning curve holds the held-out accuracy after every epoch (plasticity off; the last one is
what ``snn-rl test --dataset digits-test --repeats 1`` gives). Weights trained on NEST are also
tested on ``spinnaker-emulated`` (SpiNNaker's 1 ms step and 16-bit weights), weights trained on
``spinnaker-emulated`` (``--backends ... spinnaker-emulated``) on NEST. Writes
``digits_groups.{json,md}`` under ``--out`` and prints the table.

``--letters K`` trains A-D and the alphabet instead, with K outputs per class, to the letters'
criterion (:data:`LETTERS`), and tests the kept weights with ``snn-rl test --repeats 1``;
writes ``letters_groups.{json,md}``.

A finished run is read back, not repeated, unless its parameters differ from the ones asked
for; ``--jobs`` runs that many trainings at once (one per core).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _cli(*args: str) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "snn_rl", *args], capture_output=True, text=True, env=env)
    if proc.returncode:
        raise RuntimeError(f"snn-rl {' '.join(args)} failed: {proc.stderr.strip().splitlines()[-1:]}")


#: where the weights trained on a backend are tested as well
CROSS = {"nest": "spinnaker-emulated", "spinnaker-emulated": "nest"}


def _trained(run: Path, params: Path, backend: str, dataset: str, seed: int, *extra: str) -> dict:
    """``run``'s train.json, trained first unless it is there with the parameters of ``params``."""
    done = run / "train.json"
    if not done.exists() or json.loads(done.read_text())["params"] != json.loads(params.read_text()):
        _cli("train", "--backend", backend, "--dataset", dataset, "--params", str(params), "--seed", str(seed),
             *extra, "--quiet", "--overwrite", "--out", str(run))
    return json.loads(done.read_text())


def _tested(run: Path, backend: str, dataset: str) -> float:
    """The accuracy of ``run``'s weights on ``backend`` (``snn-rl test --repeats 1``), tested
    first unless a test newer than the training is there."""
    test = run / f"test-{backend}" / "test.json"
    if not test.exists() or test.stat().st_mtime < (run / "train.json").stat().st_mtime:
        _cli("test", "--backend", backend, "--weights", str(run), "--dataset", dataset, "--repeats", "1",
             "--overwrite", "--out", str(test.parent))
    return json.loads(test.read_text())["accuracy"]


def run_one(out: Path, backend: str, k: int, seed: int) -> dict:
    """Train one run (and test it on :data:`CROSS`), unless finished; its figures."""
    run = out / f"{backend}-k{k}-seed{seed}"
    summary = _trained(run, out / f"params-k{k}.json", backend, "digits", seed, "--heldout", "digits-test")
    curve = [h["heldout_accuracy"] for h in summary["learning_curve"]]
    row = {"backend": backend, "k": k, "seed": seed, "heldout_curve": curve, "heldout": curve[-1],
           "train_seconds": summary["wall_seconds"], "epochs": summary["epochs_run"]}
    if backend in CROSS:
        row["cross"] = _tested(run, CROSS[backend], "digits-test")
    print(json.dumps(row), flush=True)
    return row


#: the letters with K outputs per class, trained to the letters' criterion (the weight norm
#: follows from the images: plasticity.match_drive_nA)
LETTERS = {"training": {"max_epochs": 60, "stop_at_criterion": True, "min_margin": 2, "evaluate": "every"}}


def run_letters(out: Path, backend: str, dataset: str, k: int, seed: int) -> dict:
    """Train ``dataset`` (abcd, alphabet) with K outputs per class, unless finished, and test the
    kept weights on the backend and (NEST-trained) on spinnaker-emulated."""
    run = out / f"{dataset}-{backend}-k{k}-seed{seed}"
    summary = _trained(run, out / f"params-letters-k{k}.json", backend, dataset, seed)
    row = {"dataset": dataset, "backend": backend, "k": k, "seed": seed, "epochs": summary["epochs_run"],
           "criterion_met": summary["criterion_met"], "train_seconds": summary["wall_seconds"],
           "accuracy": _tested(run, backend, dataset)}
    if backend in CROSS:
        row["cross"] = _tested(run, CROSS[backend], dataset)
    print(json.dumps(row), flush=True)
    return row


def letters_table(rows: list[dict]) -> str:
    lines = ["| data set | K | trained and tested on | seeds | accuracy, median (range) | the same weights on "
             "(NEST: spinnaker-emulated; spinnaker-emulated: NEST) | criterion met | epochs (median) | "
             "training wall time, s (median) |", "|---|---|---|---|---|---|---|---|---|"]
    for dataset, k, backend in sorted({(r["dataset"], r["k"], r["backend"]) for r in rows}):
        sel = [r for r in rows if (r["dataset"], r["k"], r["backend"]) == (dataset, k, backend)]
        acc = [r["accuracy"] for r in sel]
        cross = [r["cross"] for r in sel if "cross" in r]
        lines.append(f"| {dataset} | {k} | {backend} | {len(sel)} | {_cell(acc)} | {_cell(cross)} | "
                     f"{sum(r['criterion_met'] for r in sel)} of {len(sel)} | "
                     f"{statistics.median(r['epochs'] for r in sel):.0f} | "
                     f"{statistics.median(r['train_seconds'] for r in sel):.1f} |")
    return "\n".join(lines) + "\n"


def _cell(values: list[float], fmt: str = ".3f") -> str:
    return f"{statistics.median(values):{fmt}} ({min(values):{fmt}}-{max(values):{fmt}})" if values else "-"


def table(rows: list[dict]) -> str:
    lines = ["| K | outputs | trained and tested on | seeds | held-out accuracy, median (range) | "
             "the same weights on (NEST: spinnaker-emulated; spinnaker-emulated: NEST) | "
             "held-out after each epoch (median) | training wall time, s (median) |",
             "|---|---|---|---|---|---|---|---|"]
    keys = sorted({(r["k"], r["backend"]) for r in rows})
    for k, backend in keys:
        sel = [r for r in rows if (r["k"], r["backend"]) == (k, backend)]
        emu = [r["cross"] for r in sel if "cross" in r]
        curve = " / ".join(f"{statistics.median(e):.3f}" for e in zip(*[r["heldout_curve"] for r in sel]))
        lines.append(f"| {k} | {10 * k} | {backend} | {len(sel)} | {_cell([r['heldout'] for r in sel])} | {_cell(emu)} | "
                     f"{curve} | {statistics.median(r['train_seconds'] for r in sel):.0f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ks", nargs="+", type=int, default=[1, 3, 5, 10], help="outputs per class, on NEST")
    ap.add_argument("--backends", nargs="+", default=["nest", "neuron", "spinnaker-emulated"],
                    choices=["nest", "neuron", "spinnaker-emulated"])
    ap.add_argument("--neuron-ks", nargs="+", type=int, default=[10],
                    help="outputs per class, on NEURON and spinnaker-emulated")
    ap.add_argument("--seeds", type=int, default=5, help="seeds 1..N")
    ap.add_argument("--jobs", type=int, default=2, help="trainings at once")
    ap.add_argument("--params", default="reward-groups", help="parameter set (name or file) K is set in")
    ap.add_argument("--letters", type=int, metavar="K", default=0,
                    help="instead of the digits: A-D and the alphabet with K outputs per class on --backends "
                         "(to the letters' criterion, at most 60 epochs)")
    ap.add_argument("--out", type=Path, default=ROOT / "runs" / "digits-groups")
    args = ap.parse_args(argv)
    if min(args.ks + args.neuron_ks) < 1 or args.seeds < 1 or args.jobs < 1 or args.letters < 0:
        ap.error("--ks, --neuron-ks, --seeds, --jobs and --letters must be positive")
    args.out.mkdir(parents=True, exist_ok=True)
    from snn_rl.model.params import load_params

    if args.letters:
        params = load_params(args.params).merged({**LETTERS, "network": {"outputs_per_class": args.letters}})
        (args.out / f"params-letters-k{args.letters}.json").write_text(json.dumps(params.to_dict(), indent=1) + "\n")
        jobs = [(b, d, args.letters, s) for d in ("alphabet", "abcd") for b in args.backends
                for s in range(1, args.seeds + 1)]
        return _run_all(args, "letters_groups", run_letters, jobs, letters_table)
    for k in set(args.ks + args.neuron_ks):  # reward-groups with K outputs per class, every value stated
        params = load_params(args.params).merged({"network": {"outputs_per_class": k}})
        (args.out / f"params-k{k}.json").write_text(json.dumps(params.to_dict(), indent=1) + "\n")
    jobs = [(b, k, s) for b in args.backends for k in (args.ks if b == "nest" else args.neuron_ks)
            for s in range(1, args.seeds + 1)]
    jobs.sort(key=lambda j: (j[0] != "neuron", -j[1]))  # the longest first
    return _run_all(args, "digits_groups", run_one, jobs, table)


def _run_all(args, name: str, run, jobs: list[tuple], make_table) -> int:
    """``run(out, *job)`` for every job, ``--jobs`` at once; writes ``name``.json and .md, prints the table."""
    with ThreadPoolExecutor(args.jobs) as pool:
        rows = list(pool.map(lambda j: run(args.out, *j), jobs))
    text = make_table(rows)
    (args.out / f"{name}.json").write_text(json.dumps({"rows": rows}, indent=1) + "\n")
    (args.out / f"{name}.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
