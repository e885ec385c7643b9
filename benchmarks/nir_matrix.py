"""Does the NIR export keep the answers? Round trip on NEST and NEURON, and Norse against NEST.

    python benchmarks/nir_matrix.py [--datasets abcd alphabet] [--seeds 3] [--out runs/nir-matrix]

For every data set and seed: train on NEST with the defaults (``snn-rl train``), export
(``snn-rl export --format nir``), read the file back (``snn-rl import``) and test original and
imported weights on NEST and NEURON (``snn-rl test``): the round trip must give the same
answers and spike counts. Then ``snn-rl nir-test`` runs the file in Norse's NIR importer and
compares it with NEST: same answers, same spike counts, and the cause of every difference.

Every step is the command-line tool in a fresh interpreter, as a user runs it. A finished
step is read back, not repeated, so an interrupted table continues where it stopped.
Writes ``nir.md`` and ``nir.json`` under ``--out`` and prints the table.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIMULATORS = ("nest", "neuron")


def _cli(*args: str) -> None:
    proc = subprocess.run([sys.executable, "-m", "snn_rl", *args], capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        raise SystemExit(f"snn-rl {' '.join(args[:1])} failed: {(proc.stderr.strip().splitlines() or ['?'])[-1]}")


def _json(path: Path) -> dict:
    return json.loads(path.read_text())


def run_one(dataset: str, seed: int, run: Path) -> dict:
    if not (run / "train" / "train.json").exists():
        _cli("train", "--backend", "nest", "--dataset", dataset, "--seed", str(seed), "--out", str(run / "train"),
             "--overwrite", "--quiet")
    if not (run / "network.nir").exists():
        _cli("export", "--format", "nir", "--weights", str(run / "train"), "--out", str(run / "network.nir"))
    if not (run / "imported" / "train.json").exists():
        _cli("import", "--nir", str(run / "network.nir"), "--out", str(run / "imported"), "--overwrite")
    row = {"dataset": dataset, "seed": seed, "epochs_to_criterion": _json(run / "train" / "train.json")["epochs_to_criterion"]}
    for backend in SIMULATORS:
        for which in ("train", "imported"):
            out = run / f"{which}-on-{backend}"
            if not (out / "test.json").exists():
                _cli("test", "--backend", backend, "--dataset", dataset, "--weights", str(run / which), "--out", str(out),
                     "--overwrite")
        a, b = (_json(run / f"{w}-on-{backend}" / "test.json") for w in ("train", "imported"))
        row[f"accuracy_{backend}"] = a["accuracy"]
        row[f"round_trip_same_{backend}"] = (a["answers"] == b["answers"]
                                             and a["output_spike_counts"] == b["output_spike_counts"])
    if not (run / "norse" / "nir.json").exists():
        _cli("nir-test", "--nir", str(run / "network.nir"), "--out", str(run / "norse"), "--overwrite")
    r = _json(run / "norse" / "nir.json")
    row.update(norse_accuracy=r["accuracy"]["consumer"], nest_accuracy=r["accuracy"]["reference"],
               norse_same_answers=r["same_answers"], norse_same_counts=f"{r['same_counts']}/{len(r['labels'])}",
               differences="; ".join(f"{d['label']}: {d['cause']}" for d in r["different_answers"]) or "-",
               mean_abs_count_difference=round(sum(abs(x - y) for cs, rs in zip(r["spike_counts"]["consumer"],
                                                                                  r["spike_counts"]["reference"])
                                                   for x, y in zip(cs, rs)) / len(r["labels"]), 3))
    print(json.dumps(row), flush=True)
    return row


def table(rows: list[dict]) -> str:
    head = ["data set", "seed", "NEST", "NEURON", "round trip same (NEST/NEURON)", "Norse", "Norse answers as NEST",
            "same spike counts", "spikes differing per character", "differences"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [r["dataset"], str(r["seed"]), f"{r['accuracy_nest']:.3f}", f"{r['accuracy_neuron']:.3f}",
                 "/".join("yes" if r[f"round_trip_same_{b}"] else "NO" for b in SIMULATORS),
                 f"{r['norse_accuracy']:.3f}", "yes" if r["norse_same_answers"] else "NO", r["norse_same_counts"],
                 f"{r['mean_abs_count_difference']:.2f}", r["differences"]]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--datasets", nargs="+", default=["abcd", "alphabet"])
    ap.add_argument("--seeds", type=int, default=3, help="seeds 1..N (default: 3)")
    ap.add_argument("--out", type=Path, default=ROOT / "runs" / "nir-matrix")
    args = ap.parse_args(argv)
    from snn_rl.experiments.outputs import benchmark_folder

    args.out = args.out.resolve()
    with benchmark_folder("nir_matrix", args.out, "nir.json", resume=True, status=1):
        rows = [run_one(d, s, args.out / d / f"seed{s}") for d in args.datasets for s in range(1, args.seeds + 1)]
        text = table(rows)
        (args.out / "nir.md").write_text(text)
        (args.out / "nir.json").write_text(json.dumps(rows, indent=1))
    print(text)


if __name__ == "__main__":
    main()
