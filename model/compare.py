"""Cross-run and cross-simulator comparison of one data set: tables and figures.

Input: the ``train.json`` of every training run and the ``test.json`` of every test of those
runs (clean and with flipped pixels, on every test backend). Output:

- ``summary.tsv``: one row per test (train backend, seed, test backend, flipped pixels) with
  the test's accuracy and spike counts and the run's epochs to criterion and wall times;
- ``transfer.tsv``: mean clean accuracy over seeds, trained on the row's backend, tested on
  the column's (the transfer matrix);
- ``noise.tsv``: accuracy against the number of flipped pixels per train/test backend;
- ``training.tsv``: epochs to criterion and wall time per training run;
- ``compare.json``: the same numbers for the report;
- figures: learning curves, weights as pixel grids per output neuron, the transfer matrix,
  noise robustness; and (:func:`lockstep_figure`) the lockstep agreement of backends.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from model.plots import save_figure  # noqa: E402
from model.storage import atomic_write_bytes, load_weights, read_json, write_json  # noqa: E402


@dataclass(frozen=True)
class TestKey:
    """Which test a ``test.json`` holds."""

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


def compare_dataset(dataset: str, train_files: list[Path], test_files: list[Path], test_keys: list[TestKey],
                    out_dir: Path, extra_test_backends: tuple[str, ...] = ()) -> dict:
    """Write the tables, figures and ``compare.json`` of one data set into ``out_dir``.

    ``test_keys[i]`` says which test ``test_files[i]`` holds. ``extra_test_backends`` are test
    columns that are not simulators of the one description (e.g. an emulated hardware
    target); the report keeps them apart from the simulators' verdict. Returns the
    ``compare.json`` content.
    """
    if len(test_files) != len(test_keys):
        raise ValueError(f"{len(test_files)} test files but {len(test_keys)} test keys")
    out_dir = Path(out_dir)
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

    train_backends = _ordered(b for b, _ in runs)
    seeds = sorted({s for _, s in runs})
    test_backends = _ordered(k.test_backend for k in test_keys)
    flips = sorted({k.noise_flips for k in test_keys})

    rows = []
    for key, (_, t) in tests.items():
        r = runs[(key.train_backend, key.seed)][1]
        rows.append([dataset, key.train_backend, key.seed, key.test_backend, key.noise_flips, t["accuracy"],
                     t["n_presentations"], t["mean_winner_spikes"], t["target_spikes_min"], t["target_spikes_max"],
                     t["max_other_spikes"], r["epochs_to_criterion"], r["epochs_run"], r["wall_seconds"],
                     t["wall_seconds"]])
    rows.sort(key=lambda row: (train_backends.index(row[1]), row[2], test_backends.index(row[3]), row[4]))
    _write_tsv(out_dir / "summary.tsv",
               ["dataset", "train_backend", "seed", "test_backend", "noise_flips", "accuracy", "presentations",
                "mean_winner_spikes", "target_spikes_min", "target_spikes_max", "max_other_spikes",
                "epochs_to_criterion", "epochs_run", "train_wall_s", "test_wall_s"], rows)

    def acc(tb, sd, tt, fl):
        hit = tests.get(TestKey(tb, sd, tt, fl))
        return None if hit is None else hit[1]["accuracy"]

    clean = {tb: {sd: {tt: acc(tb, sd, tt, 0) for tt in test_backends} for sd in seeds} for tb in train_backends}
    transfer = {tb: {tt: _stats([clean[tb][sd][tt] for sd in seeds]) for tt in test_backends} for tb in train_backends}
    _write_tsv(out_dir / "transfer.tsv", ["trained_on \\ tested_on", *test_backends],
               [[tb, *(transfer[tb][tt]["mean"] for tt in test_backends)] for tb in train_backends])

    noise = []
    for tb in train_backends:
        for tt in test_backends:
            for fl in flips:
                s = _stats([acc(tb, sd, tt, fl) for sd in seeds])
                if s["n"]:
                    noise.append({"train_backend": tb, "test_backend": tt, "noise_flips": fl, **s})
    _write_tsv(out_dir / "noise.tsv", ["train_backend", "test_backend", "noise_flips", "seeds", "mean_accuracy",
                                       "min_accuracy", "max_accuracy"],
               [[n["train_backend"], n["test_backend"], n["noise_flips"], n["n"], n["mean"], n["min"], n["max"]]
                for n in noise])

    training = []
    for (tb, sd), (_, r) in sorted(runs.items(), key=lambda kv: (train_backends.index(kv[0][0]), kv[0][1])):
        training.append({"backend": tb, "seed": sd, "epochs_to_criterion": r["epochs_to_criterion"],
                         "epochs_run": r["epochs_run"], "weights_from_epoch": r["weights_from_epoch"],
                         "best_eval_accuracy": r["best_eval_accuracy"], "wall_seconds": r["wall_seconds"],
                         "sim_ms_per_wall_s": r["sim_ms_per_wall_s"]})
    _write_tsv(out_dir / "training.tsv", list(training[0]) if training else ["backend"],
               [list(t.values()) for t in training])

    # a hardware-emulation test leaves emulation.json beside its test.json: what breaks and why
    emulation = []
    for key, (path, _) in sorted(tests.items(), key=lambda kv: (train_backends.index(kv[0].train_backend), kv[0].seed)):
        report = path.parent / "emulation.json"
        if key.noise_flips == 0 and report.exists():
            e = read_json(report)
            emulation.append({
                "train_backend": key.train_backend, "seed": key.seed, "test_backend": key.test_backend,
                "accuracy": e["accuracy"], "n_weights": e["quantisation"]["n_weights"],
                "n_rounded_to_zero": e["quantisation"]["n_rounded_to_zero"],
                "max_abs_weight_error_nA": e["quantisation"]["max_abs_weight_error_nA"],
                "broken": [{"label": b["label"], "cause": b["cause"]} for b in e["broken_characters"]],
            })
    _write_tsv(out_dir / "emulation.tsv",
               ["train_backend", "seed", "test_backend", "accuracy_float", "accuracy_float_1ms", "accuracy_emulated",
                "weights", "rounded_to_zero", "max_abs_weight_error_nA", "broken_characters"],
               [[e["train_backend"], e["seed"], e["test_backend"], e["accuracy"]["float"], e["accuracy"]["float_1ms"],
                 e["accuracy"]["emulated"], e["n_weights"], e["n_rounded_to_zero"], e["max_abs_weight_error_nA"],
                 "; ".join(f"{b['label']}: {b['cause']}" for b in e["broken"]) or "-"] for e in emulation])

    figures = {
        "learning_curves": out_dir / "learning_curves.png",
        "weights": out_dir / "weights.png",
        "transfer": out_dir / "transfer.png",
        "noise": out_dir / "noise.png",
    }
    learning_curves({k: v[1] for k, v in runs.items()}, train_backends, figures["learning_curves"], dataset)
    weight_panels({k: v[0].parent for k, v in runs.items()}, train_backends, seeds, figures["weights"], dataset)
    transfer_figure(transfer, train_backends, test_backends, figures["transfer"], dataset)
    noise_figure(noise, figures["noise"], dataset)

    result = {
        "dataset": dataset,
        "labels": next(iter(runs.values()))[1]["labels"] if runs else [],
        "train_backends": train_backends,
        "test_backends": test_backends,
        "extra_test_backends": [t for t in test_backends if t in extra_test_backends],
        "seeds": seeds,
        "noise_flips": flips,
        "clean_accuracy": clean,
        "transfer": transfer,
        "noise": noise,
        "training": training,
        "emulation": emulation,
        "rasters": {f"{k.train_backend}/seed{k.seed}/{k.test_backend}": str(p.parent / "raster.png")
                    for k, (p, _) in tests.items() if k.noise_flips == 0},
        "tables": {name: str(out_dir / f"{name}.tsv") for name in ("summary", "transfer", "noise", "training", "emulation")},
        "figures": {k: str(v) for k, v in figures.items()},
        "provenance": next((r.get("provenance") for _, r in runs.values() if r.get("provenance")), None),
    }
    write_json(out_dir / "compare.json", result)
    return result


def _stats(values: list) -> dict:
    vals = [v for v in values if v is not None]
    if not vals:
        return {"n": 0, "mean": None, "min": None, "max": None}
    return {"n": len(vals), "mean": float(np.mean(vals)), "min": float(np.min(vals)), "max": float(np.max(vals))}


def learning_curves(runs: dict, backends: list[str], path: Path, dataset: str) -> None:
    """Evaluation accuracy per epoch, one panel per training backend, one line per seed."""
    fig, axes = plt.subplots(1, len(backends), figsize=(4.2 * len(backends), 3.2), squeeze=False, sharey=True,
                             layout="constrained")
    for ax, backend in zip(axes[0], backends):
        for (b, seed), r in sorted(runs.items()):
            if b != backend:
                continue
            curve = r["learning_curve"]
            (line,) = ax.plot([h["epoch"] for h in curve], [h["eval_accuracy"] for h in curve], label=f"seed {seed}")
            if r["epochs_to_criterion"]:
                ax.axvline(r["epochs_to_criterion"], color=line.get_color(), ls=":", lw=1)
        ax.set_title(f"trained on {backend}")
        ax.set_xlabel("epoch")
        ax.set_ylim(-0.05, 1.05)
        ax.legend(fontsize=8, loc="lower right")
    axes[0, 0].set_ylabel("evaluation accuracy")
    fig.suptitle(f"{dataset}: learning curves (dotted: criterion met)")
    save_figure(fig, path)


def weight_panels(run_dirs: dict, backends: list[str], seeds: list[int], path: Path, dataset: str) -> None:
    """Trained weights as the pixel grid per output neuron: one row per run, one column per neuron.

    With ON/OFF input channels the two grids of a neuron are drawn side by side (ON left).
    """
    keys = [(b, s) for b in backends for s in seeds if (b, s) in run_dirs]
    trained = {k: load_weights(run_dirs[k]) for k in keys}
    first = trained[keys[0]]
    rows, cols = first.image_shape
    n_pix = rows * cols
    n_out = len(first.labels)
    vmax = max(float(t.weights.max()) for t in trained.values()) or 1.0
    fig, axes = plt.subplots(len(keys), n_out, figsize=(0.75 * n_out * (2 if first.input_encoding == "on_off" else 1) + 1.5,
                                                      1.25 * len(keys) + 0.6), squeeze=False)
    for r, key in enumerate(keys):
        t = trained[key]
        for j, label in enumerate(t.labels):
            grids = [t.weights[c * n_pix:(c + 1) * n_pix, j].reshape(rows, cols)
                     for c in range(t.weights.shape[0] // n_pix)]
            gap = np.full((rows, 1), np.nan)
            image = np.hstack([g if i == 0 else np.hstack([gap, g]) for i, g in enumerate(grids)])
            ax = axes[r, j]
            im = ax.imshow(image, cmap="viridis", vmin=0, vmax=vmax)
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(label, fontsize=9)
        axes[r, 0].set_ylabel(f"{key[0]}\nseed {key[1]}", fontsize=8)
    fig.colorbar(im, ax=axes, shrink=0.8, label="weight (nA)")
    fig.suptitle(f"{dataset}: input weights of each output neuron, as the pixel grid")
    save_figure(fig, path)


def transfer_figure(transfer: dict, train_backends: list[str], test_backends: list[str], path: Path, dataset: str) -> None:
    """Mean clean accuracy (min over seeds in brackets): trained on the row, tested on the column."""
    m = np.array([[np.nan if transfer[tb][tt]["mean"] is None else transfer[tb][tt]["mean"] for tt in test_backends]
                  for tb in train_backends])
    fig, ax = plt.subplots(figsize=(1.4 * len(test_backends) + 2.2, 1.0 * len(train_backends) + 1.4))
    ax.imshow(m, cmap="RdYlGn", vmin=0, vmax=1)
    for i, tb in enumerate(train_backends):
        for j, tt in enumerate(test_backends):
            s = transfer[tb][tt]
            text = "n/a" if s["mean"] is None else f"{s['mean']:.3f}\n(min {s['min']:.3f})"
            dark = s["mean"] is not None and (s["mean"] > 0.85 or s["mean"] < 0.15)
            ax.text(j, i, text, ha="center", va="center", fontsize=9, color="white" if dark else "black")
    ax.set_xticks(range(len(test_backends)), test_backends)
    ax.set_yticks(range(len(train_backends)), train_backends)
    ax.set_xlabel("tested on")
    ax.set_ylabel("trained on")
    ax.set_title(f"{dataset}: transfer matrix (accuracy)")
    save_figure(fig, path)


def noise_figure(noise: list[dict], path: Path, dataset: str) -> None:
    """Mean accuracy (band: min to max over seeds) against the number of flipped pixels."""
    fig, ax = plt.subplots(figsize=(5.5, 3.2))
    pairs = _ordered((n["train_backend"], n["test_backend"]) for n in noise)
    for tb, tt in pairs:
        pts = sorted((n["noise_flips"], n["mean"], n["min"], n["max"]) for n in noise
                     if (n["train_backend"], n["test_backend"]) == (tb, tt))
        x, mean, lo, hi = map(np.array, zip(*pts))
        (line,) = ax.plot(x, mean, marker="o", ls="-" if tb == tt else "--", label=f"{tb} -> {tt}")
        ax.fill_between(x, lo, hi, color=line.get_color(), alpha=0.12)
    ax.set_xlabel("flipped pixels per presentation")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_ylabel("accuracy")
    ax.set_ylim(-0.05, 1.05)
    ax.legend(fontsize=8, title="trained -> tested", title_fontsize=8)
    ax.set_title(f"{dataset}: noise robustness")
    save_figure(fig, path)


def lockstep_figure(recordings, pairs: list[dict], path: Path, windows_shown: int = 12) -> None:
    """Lockstep agreement: output spikes of the first windows overlaid, and count differences.

    Left: output raster of the first ``windows_shown`` windows, one colour per backend.
    Right: histogram of per neuron-window spike-count differences for each pair of backends.
    """
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(12, 3.4), gridspec_kw={"width_ratios": [2.4, 1]})
    first = recordings[0]
    n_out = len(first.labels)
    shown = min(windows_shown, first.n_windows)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, rec in enumerate(recordings):
        offset = (i - (len(recordings) - 1) / 2) * 0.3
        for w in range(shown):
            for j, times in enumerate(rec.spikes[w][rec.n_inputs:]):
                t0 = w * rec.presentation_ms
                ax.vlines(t0 + np.asarray(times), j + offset - 0.13, j + offset + 0.13, color=colours[i % len(colours)],
                          lw=1.2, label=rec.backend if w == 0 and j == 0 else None)
    for w in range(shown):
        ax.axvspan(w * first.presentation_ms, w * first.presentation_ms + first.window_ms, color="0.94", zorder=0)
    ax.set_yticks(range(n_out), [f"out {lab}" for lab in first.labels], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, shown * first.presentation_ms)
    ax.set_xlabel("time (ms); grey: input on")
    ax.legend(fontsize=8, loc="upper right", ncols=len(recordings))
    ax.set_title(f"output spikes of the first {shown} lockstep windows")
    width = 0.8 / max(len(pairs), 1)
    for k, p in enumerate(pairs):
        hist = p["all"]["count_diff_histogram"]
        x = np.array(sorted(int(d) for d in hist))
        y = np.array([hist[str(d)] for d in x]) / p["all"]["neuron_windows"]
        bx.bar(x + (k - (len(pairs) - 1) / 2) * width, y, width=width, label=f"{p['b']} - {p['a']}")
    bx.set_yscale("log")
    bx.set_xlabel("spike-count difference per neuron-window")
    bx.set_ylabel("fraction")
    bx.legend(fontsize=8)
    bx.set_title("count differences (all neurons)")
    save_figure(fig, path)
