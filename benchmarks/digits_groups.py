"""K outputs per class on the 8 x 8 digits: held-out accuracy and training time per K, backend, seed.

    python benchmarks/digits_groups.py [--ks 1 3 5 10] [--backends nest neuron spinnaker-emulated]
                                       [--neuron-ks 10] [--seeds 5] [--jobs 2] [--out runs/digits-groups]

Every run goes through the CLI in its own interpreter: ``snn-rl train --dataset digits --params
reward-groups`` (K set by ``network.outputs_per_class``) with ``--heldout digits-test``, so the
learning curve holds the held-out accuracy after every epoch (plasticity off; the last one is
what ``snn-rl test --dataset digits-test --repeats 1`` gives). Weights trained on NEST are also
tested on ``spinnaker-emulated`` (SpiNNaker's 1 ms step and 16-bit weights), weights trained on
``spinnaker-emulated`` (``--backends ... spinnaker-emulated``) on NEST. A finished run
is read back, not repeated. Writes ``digits_groups.{json,md}`` under ``--out`` and prints
the table; ``--jobs`` runs that many trainings at once (one per core).
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


def run_one(out: Path, backend: str, k: int, seed: int) -> dict:
    """Train one run (and test it on :data:`CROSS`), unless finished; its figures."""
    run = out / f"{backend}-k{k}-seed{seed}"
    if not (run / "train.json").exists():
        params = out / f"params-k{k}.json"
        _cli("train", "--backend", backend, "--dataset", "digits", "--params", str(params), "--seed", str(seed),
             "--heldout", "digits-test", "--quiet", "--overwrite", "--out", str(run))
    summary = json.loads((run / "train.json").read_text())
    curve = [h["heldout_accuracy"] for h in summary["learning_curve"]]
    row = {"backend": backend, "k": k, "seed": seed, "heldout_curve": curve, "heldout": curve[-1],
           "train_seconds": summary["wall_seconds"], "epochs": summary["epochs_run"]}
    if backend in CROSS:
        test = run / f"test-{CROSS[backend]}"
        if not (test / "test.json").exists():
            _cli("test", "--backend", CROSS[backend], "--weights", str(run), "--dataset", "digits-test",
                 "--repeats", "1", "--overwrite", "--out", str(test))
        row["cross"] = json.loads((test / "test.json").read_text())["accuracy"]
    print(json.dumps(row), flush=True)
    return row


def table(rows: list[dict]) -> str:
    def cell(values: list[float], fmt: str = ".3f") -> str:
        return f"{statistics.median(values):{fmt}} ({min(values):{fmt}}-{max(values):{fmt}})" if values else "-"

    lines = ["| K | outputs | trained and tested on | seeds | held-out accuracy, median (range) | "
             "the same weights on (NEST: spinnaker-emulated; spinnaker-emulated: NEST) | "
             "held-out after each epoch (median) | training wall time, s (median) |",
             "|---|---|---|---|---|---|---|---|"]
    keys = sorted({(r["k"], r["backend"]) for r in rows})
    for k, backend in keys:
        sel = [r for r in rows if (r["k"], r["backend"]) == (k, backend)]
        emu = [r["cross"] for r in sel if "cross" in r]
        curve = " / ".join(f"{statistics.median(e):.3f}" for e in zip(*[r["heldout_curve"] for r in sel]))
        lines.append(f"| {k} | {10 * k} | {backend} | {len(sel)} | {cell([r['heldout'] for r in sel])} | {cell(emu)} | "
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
    ap.add_argument("--out", type=Path, default=ROOT / "runs" / "digits-groups")
    args = ap.parse_args(argv)
    if min(args.ks + args.neuron_ks) < 1 or args.seeds < 1 or args.jobs < 1:
        ap.error("--ks, --neuron-ks, --seeds and --jobs must be positive")
    args.out.mkdir(parents=True, exist_ok=True)
    from snn_rl.model.params import load_params

    for k in set(args.ks + args.neuron_ks):  # reward-groups with K outputs per class, every value stated
        params = load_params("reward-groups").merged({"network": {"outputs_per_class": k}})
        (args.out / f"params-k{k}.json").write_text(json.dumps(params.to_dict(), indent=1) + "\n")
    jobs = [(b, k, s) for b in args.backends for k in (args.ks if b == "nest" else args.neuron_ks)
            for s in range(1, args.seeds + 1)]
    jobs.sort(key=lambda j: (j[0] != "neuron", -j[1]))  # the longest first
    with ThreadPoolExecutor(args.jobs) as pool:
        rows = list(pool.map(lambda j: run_one(args.out, *j), jobs))
    text = table(rows)
    (args.out / "digits_groups.json").write_text(json.dumps({"rows": rows}, indent=1) + "\n")
    (args.out / "digits_groups.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
