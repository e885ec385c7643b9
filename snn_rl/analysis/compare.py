"""Cross-run and cross-simulator comparison of one data set: tables and figures.

Input: the ``train.json`` of every training run and the ``test.json`` of every test of those
runs (clean and with flipped pixels, on every test backend). Output:

- ``summary.tsv``: one row per test (train backend, seed, test backend, flipped pixels) with
  the test's accuracy and spike counts and the run's epochs to criterion and wall times;
- ``transfer.tsv``: mean clean accuracy over seeds, trained on the row's backend, tested on
  the column's (the transfer matrix);
- ``noise.tsv``: accuracy against the number of flipped pixels per train/test backend;
- ``margins.tsv``: decision margins of the clean tests per train/test backend (the right
  neuron's spikes minus the most of any other output: how far an answer is from flipping);
- ``training.tsv``: epochs to criterion and wall time per training run;
- ``compare.json``: the same numbers for the report;
- figures: learning curves, weights as pixel grids per output neuron, the transfer matrix,
  noise robustness (drawn by :mod:`snn_rl.analysis.plots`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from snn_rl.analysis import plots
from snn_rl.experiments.storage import atomic_write_bytes, load_weights, read_json, write_json


@dataclass(frozen=True)
class TestKey:
    """Which test a ``test.json`` holds."""

    __test__ = False  # not a test case for pytest, whatever its name says

    train_backend: str
    seed: int
    test_backend: str
    noise_flips: int


def _write_tsv(path: Path, header: list[str], rows: list[list]) -> None:
    lines = ["\t".join(header)]
    for row in rows:
        lines.append("\t".join("" if v is None else (f"{v:.6g}" if isinstance(v, float) else str(v)) for v in row))
    atomic_write_bytes(Path(path), ("\n".join(lines) + "\n").encode())


def _ordered(values) -> list:
    return list(dict.fromkeys(values))


def _stats(values: list) -> dict:
    vals = [v for v in values if v is not None]
    if not vals:
        return {"n": 0, "mean": None, "min": None, "max": None}
    return {"n": len(vals), "mean": float(np.mean(vals)), "min": float(np.min(vals)), "max": float(np.max(vals))}


@dataclass
class _Inputs:
    """The training runs and tests of one data set, read and cross-checked."""

    runs: dict  #: (train backend, seed) -> (train.json path, its content)
    tests: dict  #: TestKey -> (test.json path, its content)
    train_backends: list[str]
    test_backends: list[str]
    seeds: list[int]
    flips: list[int]

    def accuracy(self, tb: str, seed: int, tt: str, flips: int):
        hit = self.tests.get(TestKey(tb, seed, tt, flips))
        return None if hit is None else hit[1]["accuracy"]


def _read(train_files: list[Path], test_files: list[Path], test_keys: list[TestKey]) -> _Inputs:
    if len(test_files) != len(test_keys):
        raise ValueError(f"{len(test_files)} test files but {len(test_keys)} test keys")
    runs = {}
    for path in train_files:
        summary = read_json(path)
        runs[(summary["backend"], int(summary["seed"]))] = (Path(path), summary)
    tests = {}
    for key, path in zip(test_keys, test_files):
        summary = read_json(path)
        if summary["backend"] != key.test_backend or int(summary["noise_flips"]) != key.noise_flips:
            raise ValueError(f"{path} holds a test on {summary['backend']} with {summary['noise_flips']} flipped "
                             f"pixels, expected {key.test_backend} with {key.noise_flips}")
        if (key.train_backend, key.seed) not in runs:
            raise ValueError(f"{path}: no training run of {key.train_backend} seed {key.seed} among the inputs")
        tests[key] = (Path(path), summary)
    return _Inputs(runs=runs, tests=tests, train_backends=_ordered(b for b, _ in runs),
                   test_backends=_ordered(k.test_backend for k in test_keys), seeds=sorted({s for _, s in runs}),
                   flips=sorted({k.noise_flips for k in test_keys}))


def _summary_table(dataset: str, inp: _Inputs, path: Path) -> None:
    rows = []
    for key, (_, t) in inp.tests.items():
        r = inp.runs[(key.train_backend, key.seed)][1]
        rows.append([dataset, key.train_backend, key.seed, key.test_backend, key.noise_flips, t["accuracy"],
                     t["n_presentations"], t["mean_winner_spikes"], t["target_spikes_min"], t["target_spikes_max"],
                     t["max_other_spikes"], t.get("margin_min"), r["epochs_to_criterion"], r["epochs_run"],
                     r["wall_seconds"], t["wall_seconds"]])
    rows.sort(key=lambda row: (inp.train_backends.index(row[1]), row[2], inp.test_backends.index(row[3]), row[4]))
    _write_tsv(path, ["dataset", "train_backend", "seed", "test_backend", "noise_flips", "accuracy", "presentations",
                      "mean_winner_spikes", "target_spikes_min", "target_spikes_max", "max_other_spikes",
                      "margin_min", "epochs_to_criterion", "epochs_run", "train_wall_s", "test_wall_s"], rows)


def _transfer_table(inp: _Inputs, path: Path) -> tuple[dict, dict]:
    """Clean accuracy per run and test backend, and its mean over seeds (the transfer matrix)."""
    clean = {tb: {sd: {tt: inp.accuracy(tb, sd, tt, 0) for tt in inp.test_backends} for sd in inp.seeds}
             for tb in inp.train_backends}
    transfer = {tb: {tt: _stats([clean[tb][sd][tt] for sd in inp.seeds]) for tt in inp.test_backends}
                for tb in inp.train_backends}
    _write_tsv(path, ["trained_on \\ tested_on", *inp.test_backends],
               [[tb, *(transfer[tb][tt]["mean"] for tt in inp.test_backends)] for tb in inp.train_backends])
    return clean, transfer


def _noise_table(inp: _Inputs, path: Path) -> list[dict]:
    noise = []
    for tb in inp.train_backends:
        for tt in inp.test_backends:
            for fl in inp.flips:
                s = _stats([inp.accuracy(tb, sd, tt, fl) for sd in inp.seeds])
                if s["n"]:
                    noise.append({"train_backend": tb, "test_backend": tt, "noise_flips": fl, **s})
    _write_tsv(path, ["train_backend", "test_backend", "noise_flips", "seeds", "mean_accuracy", "min_accuracy",
                      "max_accuracy"],
               [[n["train_backend"], n["test_backend"], n["noise_flips"], n["n"], n["mean"], n["min"], n["max"]]
                for n in noise])
    return noise


def _margin_table(inp: _Inputs, path: Path) -> list[dict]:
    """Decision margins of the clean tests per train and test backend, over every seed: the
    lowest, and how many presentations had each margin (right neuron's spikes minus the most
    of any other output)."""
    margins = []
    for tb in inp.train_backends:
        for tt in inp.test_backends:
            hists = [t["margin_histogram"] for k, (_, t) in inp.tests.items()
                     if (k.train_backend, k.test_backend, k.noise_flips) == (tb, tt, 0) and "margin_histogram" in t]
            if not hists:
                continue
            pooled: dict[int, int] = {}
            for h in hists:
                for m, n in h.items():
                    pooled[int(m)] = pooled.get(int(m), 0) + n
            margins.append({"train_backend": tb, "test_backend": tt, "seeds": len(hists), "min": min(pooled),
                            "histogram": {str(m): pooled[m] for m in sorted(pooled)}})
    _write_tsv(path, ["train_backend", "test_backend", "seeds", "min_margin", "presentations_per_margin"],
               [[m["train_backend"], m["test_backend"], m["seeds"], m["min"],
                 "; ".join(f"{k}: {v}" for k, v in m["histogram"].items())] for m in margins])
    return margins


def _training_table(inp: _Inputs, path: Path) -> list[dict]:
    training = []
    for (tb, sd), (_, r) in sorted(inp.runs.items(), key=lambda kv: (inp.train_backends.index(kv[0][0]), kv[0][1])):
        training.append({"backend": tb, "seed": sd, "epochs_to_criterion": r["epochs_to_criterion"],
                         "epochs_run": r["epochs_run"], "weights_from_epoch": r["weights_from_epoch"],
                         "best_eval_accuracy": r["best_eval_accuracy"], "wall_seconds": r["wall_seconds"],
                         "sim_ms_per_wall_s": r["sim_ms_per_wall_s"]})
    _write_tsv(path, list(training[0]) if training else ["backend"], [list(t.values()) for t in training])
    return training


def _beside_clean_tests(inp: _Inputs, name: str):
    """(test key, content) of every file ``name`` that a clean test left beside its test.json,
    in the order of training backend and seed."""
    order = sorted(inp.tests.items(), key=lambda kv: (inp.train_backends.index(kv[0].train_backend), kv[0].seed))
    for key, (test_path, _) in order:
        report = test_path.parent / name
        if key.noise_flips == 0 and report.exists():
            yield key, read_json(report)


def _emulation_table(inp: _Inputs, path: Path) -> list[dict]:
    """A hardware-emulation test leaves emulation.json beside its test.json: what breaks and why."""
    emulation = []
    for key, e in _beside_clean_tests(inp, "emulation.json"):
        emulation.append({
            "train_backend": key.train_backend, "seed": key.seed, "test_backend": key.test_backend,
            "accuracy": e["accuracy"], "n_weights": e["quantisation"]["n_weights"],
            "n_rounded_to_zero": e["quantisation"]["n_rounded_to_zero"],
            "max_abs_weight_error_nA": e["quantisation"]["max_abs_weight_error_nA"],
            "broken": [{"label": b["label"], "cause": b["cause"]} for b in e["broken_characters"]],
        })
    _write_tsv(path, ["train_backend", "seed", "test_backend", "accuracy_float", "accuracy_float_1ms",
                      "accuracy_emulated", "weights", "rounded_to_zero", "max_abs_weight_error_nA", "broken_characters"],
               [[e["train_backend"], e["seed"], e["test_backend"], e["accuracy"]["float"], e["accuracy"]["float_1ms"],
                 e["accuracy"]["emulated"], e["n_weights"], e["n_rounded_to_zero"], e["max_abs_weight_error_nA"],
                 "; ".join(f"{b['label']}: {b['cause']}" for b in e["broken"]) or "-"] for e in emulation])
    return emulation


def _nir_table(inp: _Inputs, path: Path) -> list[dict]:
    """A NIR consumer's test leaves nir.json beside its test.json: its answers and spike counts
    against NEST running the same graph, and the cause of every different answer."""
    rows = []
    for key, r in _beside_clean_tests(inp, "nir.json"):
        rows.append({
            "train_backend": key.train_backend, "seed": key.seed, "test_backend": key.test_backend,
            "consumer": r["consumer"], "step_ms": r["consumer_step_ms"], "reference": r["reference"],
            "accuracy": r["accuracy"], "same_counts": r["same_counts"], "n_characters": len(r["labels"]),
            "different": [{"label": d["label"], "cause": d["cause"]} for d in r["different_answers"]],
        })
    _write_tsv(path, ["train_backend", "seed", "test_backend", "consumer", "step_ms", "reference",
                      "accuracy_reference", "accuracy_consumer", "same_spike_counts", "characters",
                      "different_answers"],
               [[r["train_backend"], r["seed"], r["test_backend"], r["consumer"], r["step_ms"], r["reference"],
                 r["accuracy"]["reference"], r["accuracy"]["consumer"], r["same_counts"], r["n_characters"],
                 "; ".join(f"{d['label']}: {d['cause']}" for d in r["different"]) or "-"] for r in rows])
    return rows


def _figures(dataset: str, inp: _Inputs, transfer: dict, noise: list[dict], out_dir: Path) -> dict[str, Path]:
    figures = {name: out_dir / f"{name}.png" for name in ("learning_curves", "weights", "transfer", "noise")}
    plots.learning_curves({k: v[1] for k, v in inp.runs.items()}, inp.train_backends, figures["learning_curves"], dataset)
    plots.weight_panels({k: load_weights(v[0].parent) for k, v in inp.runs.items()}, inp.train_backends, inp.seeds,
                        figures["weights"], dataset)
    plots.transfer_figure(transfer, inp.train_backends, inp.test_backends, figures["transfer"], dataset)
    plots.noise_figure(noise, figures["noise"], dataset)
    return figures


def compare_dataset(dataset: str, train_files: list[Path], test_files: list[Path], test_keys: list[TestKey],
                    out_dir: Path, extra_test_backends: tuple[str, ...] = ()) -> dict:
    """Write the tables, figures and ``compare.json`` of one data set into ``out_dir``.

    ``test_keys[i]`` says which test ``test_files[i]`` holds. ``extra_test_backends`` are test
    columns that are not simulators of the one description (e.g. an emulated hardware
    target); the report keeps them apart from the simulators' verdict. Returns the
    ``compare.json`` content.
    """
    out_dir = Path(out_dir)
    inp = _read(train_files, test_files, test_keys)
    _summary_table(dataset, inp, out_dir / "summary.tsv")
    clean, transfer = _transfer_table(inp, out_dir / "transfer.tsv")
    noise = _noise_table(inp, out_dir / "noise.tsv")
    margins = _margin_table(inp, out_dir / "margins.tsv")
    training = _training_table(inp, out_dir / "training.tsv")
    emulation = _emulation_table(inp, out_dir / "emulation.tsv")
    nir = _nir_table(inp, out_dir / "nir.tsv")
    figures = _figures(dataset, inp, transfer, noise, out_dir)
    result = {
        "dataset": dataset,
        "labels": next(iter(inp.runs.values()))[1]["labels"] if inp.runs else [],
        "train_backends": inp.train_backends,
        "test_backends": inp.test_backends,
        "extra_test_backends": [t for t in inp.test_backends if t in extra_test_backends],
        "seeds": inp.seeds,
        "noise_flips": inp.flips,
        "clean_accuracy": clean,
        "transfer": transfer,
        "noise": noise,
        "margins": margins,
        "training": training,
        "emulation": emulation,
        "nir": nir,
        "rasters": {f"{k.train_backend}/seed{k.seed}/{k.test_backend}": str(p.parent / "raster.png")
                    for k, (p, _) in inp.tests.items() if k.noise_flips == 0},
        "tables": {name: str(out_dir / f"{name}.tsv")
                   for name in ("summary", "transfer", "noise", "margins", "training", "emulation", "nir")},
        "figures": {k: str(v) for k, v in figures.items()},
        "provenance": next((r.get("provenance") for _, r in inp.runs.values() if r.get("provenance")), None),
    }
    write_json(out_dir / "compare.json", result)
    return result
