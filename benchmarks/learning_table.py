"""The README's learning table: rule x data set x backend -> accuracy, epochs, wall time.

    python benchmarks/learning_table.py [--seeds 5] [--backends nest neuron]
        [--rules reward unsupervised] [--datasets abcd alphabet digits] [--out runs/learning]
        [--rest-ms 50 --out runs/learning-rest50] [--table-only --same-weights-as runs/learning-rest50]

Every cell is real runs of the command-line tool, each in a fresh interpreter:
``snn-rl train --params <rule>`` (a named parameter set) on the data set (``reward-noise``, the
reward rule trained with one flipped pixel per presentation, on ``abcd`` only;
``reward-digits``, its digits tuning, on ``digits`` only), then ``snn-rl test``
on the same backend: on the training characters for ``abcd`` and ``alphabet`` (clean, and
for ``abcd`` also with one flipped pixel in every presentation, 50 repeats), on the held-out
``digits-test`` for ``digits``. A run whose ``test.json`` already exists is read back, not
repeated, so an interrupted table continues where it stopped.

``--ablations``: instead, the alphabet with the reward rule once per design choice, each
time with that one choice undone (:data:`ABLATIONS`), tested on the training characters;
writes ``ablations.md`` / ``ablations.json``.

``--rest-ms``: train with another rest gap than the rule files' (into another ``--out``);
``--same-weights-as DIR`` then says which runs (table and ablations) trained bit for bit the
weights of the same run under DIR (docs/performance.md: the rest gap).

Writes ``learning_table.md`` (the table, with the original work's figures from SEED.md
beside it), ``learning_table.json`` (every run) and prints the table. Nothing here is a
test: wall times depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent

#: the original work's figures (SEED.md), per data set
ORIGINAL = {
    "abcd": "87.5 % (9 of 12); B and D confused",
    "alphabet": "41-78 % answered by the right neuron; well over an hour per train + test",
    "digits": "not attempted",
}
#: data set to test on, per training data set
TEST_SET = {"abcd": "abcd", "alphabet": "alphabet", "digits": "digits-test"}
#: presentations per letter in the noisy A-D test (200 in all: a standard error of about 0.02)
NOISY_REPEATS = 50
#: rules (named parameter sets, model/parameter_sets/<rule>.yaml) and the data sets each is tabled on
RULES = {"reward": ("abcd", "alphabet"), "reward-noise": ("abcd",), "reward-digits": ("digits",),
         "unsupervised": tuple(TEST_SET)}
#: one design choice of the parameter set reward undone: name -> (parameter overrides, why it is there)
ABLATIONS = {
    "none (parameter set reward)": ({}, "the full rule"),
    "input_encoding: ones": ({"network": {"input_encoding": "ones"}}, "ON/OFF channels: no pattern is a subset of another"),
    "inhibition_delay_ms: 1.0": ({"network": {"inhibition_delay_ms": 1.0}}, "fast inhibition: the best-matching output silences the rest"),
    "weight_sum_nA: 0 (no normalisation)": ({"plasticity": {"weight_sum_nA": 0.0}}, "fixed excitability per output"),
    "expectation: class": ({"plasticity": {"expectation": "class"}}, "punish an output by what it expected"),
    "credit: all": ({"plasticity": {"credit": "all"}}, "only answering outputs are credited"),
    "explore_prob: 0 (no exploration)": ({"plasticity": {"explore_prob": 0.0}}, "exploration bias finds the right output"),
    "explore_on: any, explore_prob 0.5": ({"plasticity": {"explore_on": "any", "explore_prob": 0.5}}, "retry after a wrong answer"),
}
#: epochs per data set (digits: a fixed budget; the criterion needs every image right)
EPOCHS = {"abcd": None, "alphabet": None, "digits": 3}


def _cli(*args: str) -> None:
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env["MPLBACKEND"] = "Agg"
    proc = subprocess.run([sys.executable, "-m", "snn_rl", *args], capture_output=True, text=True, cwd=ROOT, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"snn-rl {' '.join(args)} failed:\n{proc.stderr[-2000:]}")


def _rule_file(rule: str) -> Path:
    from snn_rl.model.params import PARAMETER_SETS

    return PARAMETER_SETS / f"{rule}.yaml"


def _rule_settings(rule: str, rest_ms: float | None) -> dict:
    """A rule file's settings, with another rest gap (ms) if one is given."""
    import yaml

    params = yaml.safe_load(_rule_file(rule).read_text())
    if rest_ms is not None:
        params.setdefault("network", {})["rest_ms"] = rest_ms
    return params


def _rule_params(rule: str, rest_ms: float | None) -> str:
    """``--params`` for a rule: its name, or its settings with another rest gap (inline JSON)."""
    if rest_ms is None:
        return rule
    return json.dumps(_rule_settings(rule, rest_ms))


def run_one(rule: str, dataset: str, backend: str, seed: int, out: Path, rest_ms: float | None = None) -> dict:
    """Train and test one (rule, data set, backend, seed); returns the row's numbers."""
    run = out / rule / dataset / backend / f"seed{seed}"
    params = _rule_params(rule, rest_ms)
    if not (run / "train" / "train.json").exists():
        extra = ["--epochs", str(EPOCHS[dataset])] if EPOCHS[dataset] else []
        _cli("train", "--backend", backend, "--dataset", dataset, "--seed", str(seed), "--params", params,
             "--out", str(run / "train"), "--quiet", "--overwrite", *extra)
    tests = {"clean": []}
    if dataset == "abcd":
        tests["noisy"] = ["--noise-flips", "1", "--repeats", str(NOISY_REPEATS), "--noise-seed", str(seed)]
    if dataset == "digits":
        tests["clean"] = ["--repeats", "1"]
    result = {"rule": rule, "dataset": dataset, "backend": backend, "seed": seed}
    train = json.loads((run / "train" / "train.json").read_text())
    result.update(epochs_to_criterion=train["epochs_to_criterion"], epochs_run=train["epochs_run"],
                  wall_seconds=train["wall_seconds"])
    for name, extra in tests.items():
        folder = run / f"test-{name}"
        if not (folder / "test.json").exists():
            _cli("test", "--backend", backend, "--weights", str(run / "train"), "--dataset", TEST_SET[dataset],
                 "--out", str(folder), "--overwrite", *extra)
        result[f"{name}_accuracy"] = json.loads((folder / "test.json").read_text())["accuracy"]
    print(json.dumps(result), flush=True)
    return result


def _ablation_dir(name: str, backend: str, seed: int, out: Path) -> Path:
    slug = "".join(c if c.isalnum() else "_" for c in name)[:40]
    return out / "ablations" / slug / backend / f"seed{seed}"


def run_ablation(name: str, backend: str, seed: int, out: Path, rest_ms: float | None = None) -> dict:
    """The alphabet with the reward rule and one choice undone; returns the row's numbers."""
    overrides, why = ABLATIONS[name]
    params = _rule_settings("reward", rest_ms)
    for section, values in overrides.items():
        params.setdefault(section, {}).update(values)
    run = _ablation_dir(name, backend, seed, out)
    if not (run / "train" / "train.json").exists():
        _cli("train", "--backend", backend, "--dataset", "alphabet", "--seed", str(seed), "--params", json.dumps(params),
             "--out", str(run / "train"), "--quiet", "--overwrite")
    train = json.loads((run / "train" / "train.json").read_text())
    row = {"ablation": name, "why": why, "backend": backend, "seed": seed, "accuracy": train["best_eval_accuracy"],
           "epochs_to_criterion": train["epochs_to_criterion"], "epochs_run": train["epochs_run"],
           "wall_seconds": train["wall_seconds"]}
    print(json.dumps(row), flush=True)
    return row


def ablation_table(rows: list[dict]) -> str:
    lines = ["| choice undone | what it is for | backend | seeds | alphabet accuracy, mean (min-max) | epochs to criterion (runs that met it) |",
             "|---|---|---|---|---|---|"]
    for name in ABLATIONS:
        for backend in sorted({r["backend"] for r in rows}):
            sel = [r for r in rows if r["ablation"] == name and r["backend"] == backend]
            if not sel:
                continue
            met = [r["epochs_to_criterion"] for r in sel if r["epochs_to_criterion"]]
            epochs = f"{np.mean(met):.0f} ({len(met)}/{len(sel)})" if met else f"- (0/{len(sel)}, {sel[0]['epochs_run']} run)"
            lines.append(f"| {name} | {sel[0]['why']} | {backend} | {len(sel)} | {_fmt_acc([r['accuracy'] for r in sel])} | {epochs} |")
    return "\n".join(lines) + "\n"


def compare_weights(out: Path, other: Path) -> str:
    """How many trained runs under ``out`` hold bit for bit the weights of the same run under
    ``other`` (e.g. the table trained with another ``--rest-ms``)."""
    same, differ = 0, []
    for path in sorted(out.glob("**/train/weights.npz")):
        twin = other / path.relative_to(out)
        if twin.exists():
            a, b = (np.load(f)["weights_nA"] for f in (path, twin))
            if a.shape == b.shape and np.array_equal(a, b):
                same += 1
            else:
                differ.append(str(path.parent.parent.relative_to(out)))
    lines = [f"identical weights in {same} of {same + len(differ)} runs found under both {out} and {other}"]
    lines += [f"  differ: {name}" for name in differ]
    return "\n".join(lines)


def _finished(run: Path, dataset: str) -> bool:
    tests = ["test-clean"] + (["test-noisy"] if dataset == "abcd" else [])
    return all((run / t / "test.json").exists() for t in tests) and (run / "train" / "train.json").exists()


def _fmt_acc(values: list[float]) -> str:
    if not values:
        return "-"
    return f"{np.mean(values):.3f} ({min(values):.2f}-{max(values):.2f})" if len(values) > 1 else f"{values[0]:.3f}"


def table(rows: list[dict]) -> str:
    lines = [
        "| rule | data set | backend | seeds | test accuracy, mean (min-max) | 1 flipped pixel | "
        "epochs to criterion (runs that met it) | training wall time, s | original (SEED.md) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    keys = sorted({(r["rule"], r["dataset"], r["backend"]) for r in rows},
                  key=lambda k: (list(RULES).index(k[0]), list(TEST_SET).index(k[1]), k[2]))
    for rule, dataset, backend in keys:
        sel = [r for r in rows if (r["rule"], r["dataset"], r["backend"]) == (rule, dataset, backend)]
        met = [r["epochs_to_criterion"] for r in sel if r["epochs_to_criterion"]]
        epochs = f"{np.mean(met):.0f} ({len(met)}/{len(sel)})" if met else f"- (0/{len(sel)}, {sel[0]['epochs_run']} run)"
        noisy = _fmt_acc([r["noisy_accuracy"] for r in sel if "noisy_accuracy" in r])
        test_name = "digits-test" if dataset == "digits" else dataset
        lines.append(
            f"| {rule} | {dataset} (tested on {test_name}) | {backend} | {len(sel)} | "
            f"{_fmt_acc([r['clean_accuracy'] for r in sel])} | {noisy} | {epochs} | "
            f"{np.mean([r['wall_seconds'] for r in sel]):.0f} | {ORIGINAL[dataset]} |"
        )
    return "\n".join(lines) + "\n"


def _report(rows: list[dict], text: str, out: Path, name: str, same_weights_as: Path | None) -> None:
    """Write ``<name>.md`` (the table) and ``<name>.json`` (every row), print the table and,
    if asked, the comparison of the trained weights with another table's."""
    (out / f"{name}.md").write_text(text)
    (out / f"{name}.json").write_text(json.dumps(rows, indent=1))
    print(text)
    if same_weights_as:
        print(compare_weights(out, same_weights_as))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rules", nargs="+", default=list(RULES), choices=list(RULES))
    ap.add_argument("--datasets", nargs="+", default=list(TEST_SET), choices=list(TEST_SET))
    ap.add_argument("--backends", nargs="+", default=["nest", "neuron"])
    ap.add_argument("--seeds", type=int, default=5, help="seeds 1..N per cell (default: 5)")
    ap.add_argument("--out", type=Path, default=ROOT / "runs" / "learning")
    ap.add_argument("--ablations", action="store_true", help="the alphabet with each design choice undone instead")
    ap.add_argument("--table-only", action="store_true",
                    help="start no run: table the finished runs under --out (those with every test done)")
    ap.add_argument("--rest-ms", type=float, help="train with this rest gap (ms) instead of the rule file's")
    ap.add_argument("--same-weights-as", type=Path, metavar="DIR",
                    help="afterwards, count the runs whose weights equal those of the same run under DIR")
    args = ap.parse_args(argv)
    from snn_rl.experiments.outputs import benchmark_folder

    args.out = args.out.resolve()  # the runs are made from the repository's root
    name = "ablations" if args.ablations else "learning_table"
    # the runs under --out are reused, so a rerun continues a stopped one
    with benchmark_folder("learning_table", args.out, f"{name}.json", resume=True, status=1):
        _run(args)


def _run(args) -> None:
    if args.ablations:
        cells = [(name, backend, seed) for name in ABLATIONS for backend in args.backends
                 for seed in range(1, args.seeds + 1)]
        if args.table_only:
            cells = [c for c in cells if (_ablation_dir(*c, args.out) / "train" / "train.json").exists()]
        rows = [run_ablation(*cell, args.out, rest_ms=args.rest_ms) for cell in cells]
        _report(rows, ablation_table(rows), args.out, "ablations", args.same_weights_as)
        return
    cells = [(rule, dataset, backend, seed)
             for rule in args.rules for dataset in args.datasets if dataset in RULES[rule]
             for backend in args.backends for seed in range(1, args.seeds + 1)]
    if args.table_only:
        cells = [c for c in cells if _finished(args.out / c[0] / c[1] / c[2] / f"seed{c[3]}", c[1])]
    rows = [run_one(*cell, args.out, rest_ms=args.rest_ms) for cell in cells]
    _report(rows, table(rows), args.out, "learning_table", args.same_weights_as)


if __name__ == "__main__":
    main()
