"""Every figure the project draws: of one run (test raster, learning curve, weights as pixel
grids), of a data set's comparison (learning curves, weight panels, transfer matrix, noise
robustness) and of a lockstep replay.

Figures are built on :class:`matplotlib.figure.Figure` directly, not through pyplot, so
drawing one neither needs nor changes a matplotlib backend.
"""

from __future__ import annotations

import math

from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from snn_rl.model.decision import output_names, outputs_per_class


def _subplots(*grid: int, figsize: tuple[float, float], layout: str | None = None, **kwargs):
    """A figure and its axes, as ``pyplot.subplots`` gives them, without pyplot."""
    fig = Figure(figsize=figsize, layout=layout)
    return fig, fig.subplots(*grid, **kwargs)


def save_figure(fig, path: Path) -> None:
    """Write ``fig`` to ``path`` through a temporary file (never half a PNG) and close it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    fig.savefig(tmp, dpi=110, bbox_inches="tight")
    tmp.replace(path)


def raster(evaluation, presentation_ms: float, path: Path, title: str = "") -> None:
    """Output spikes over consecutive test presentations, one row per output neuron.

    Success looks like a diagonal: each character's own neuron (or group of neurons) bursts
    while it is shown.
    """
    labels = evaluation.labels
    k = evaluation.k
    n = len(labels) * k
    fig, ax = _subplots(figsize=(max(6, 0.35 * len(evaluation.targets) + 2), max(2.5, (0.3 if k == 1 else 0.1) * n + 1)))
    for k, (target, answer, trains) in enumerate(zip(evaluation.targets, evaluation.answers, evaluation.output_spikes)):
        t0 = k * presentation_ms
        ax.axvspan(t0, t0 + presentation_ms, color="0.93" if k % 2 else "white", zorder=0)
        ax.add_patch(Rectangle((t0, target * k - 0.45), presentation_ms, k - 0.1,
                               color="tab:green" if answer == target else "tab:red", alpha=0.15, zorder=1))
        for j, times in enumerate(trains):
            ax.vlines(t0 + np.asarray(times), j - 0.35, j + 0.35, color="k", lw=1.2, zorder=2)
    ticks = [k * presentation_ms + presentation_ms / 2 for k in range(len(evaluation.targets))]
    ax.set_xticks(ticks, [labels[t] for t in evaluation.targets], fontsize=8)
    if k == 1:
        ax.set_yticks(range(n), [f"out {lab}" for lab in labels], fontsize=8)
    else:  # one tick per group of k outputs
        ax.set_yticks([c * k + (k - 1) / 2 for c in range(len(labels))], [f"group {lab}" for lab in labels], fontsize=8)
    ax.set_ylim(-0.6, n - 0.4)
    ax.invert_yaxis()
    ax.set_xlim(0, len(evaluation.targets) * presentation_ms)
    ax.set_xlabel("presented character (green: answered right, red: wrong)")
    ax.set_title(title or f"test raster, accuracy {evaluation.accuracy:.3f}")
    save_figure(fig, path)


def learning_curve(history: list[dict], path: Path, title: str = "") -> None:
    """Evaluation accuracy and training reward per epoch."""
    epochs = [h["epoch"] for h in history]
    fig, ax = _subplots(figsize=(6, 3.2))
    evaluated = [h for h in history if h.get("eval_accuracy") is not None]
    if evaluated:
        ax.plot([h["epoch"] for h in evaluated], [h["eval_accuracy"] for h in evaluated], marker=".",
                label="evaluation accuracy (plasticity off)")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.plot(epochs, [h["train_correct"] for h in history], alpha=0.6, label="training presentations right")
    held = [h for h in history if h.get("heldout_accuracy") is not None]
    if held:
        ax.plot([h["epoch"] for h in held], [h["heldout_accuracy"] for h in held], marker="s", ms=3,
                label="held-out accuracy (plasticity off)")
    crit = [h["epoch"] for h in history if h["criterion"]]
    if crit:
        ax.axvline(crit[0], color="tab:green", ls="--", lw=1, label=f"criterion (epoch {crit[0]})")
    ax.set_xlabel("epoch")
    ax.set_ylim(-0.05, 1.05)
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title(title)
    save_figure(fig, path)


def _output_image(weights: np.ndarray, j: int, image_shape) -> np.ndarray:
    """Output ``j``'s input weights as the pixel grid, one grid per input channel side by side
    (ON left), a blank column between them."""
    rows, cols = image_shape
    n_pix = rows * cols
    grids = [weights[c * n_pix:(c + 1) * n_pix, j].reshape(rows, cols) for c in range(weights.shape[0] // n_pix)]
    gap = np.full((rows, 1), np.nan)
    return np.hstack([g if i == 0 else np.hstack([gap, g]) for i, g in enumerate(grids)])


def weight_grids(weights: np.ndarray, labels, image_shape, encoding: str, path: Path, title: str = "") -> None:
    """Each output neuron's incoming weights drawn as the pixel grid (one panel per channel);
    with several outputs per class, one row per class and its outputs side by side (the
    ON and OFF grids of an output next to each other)."""
    rows, cols = image_shape
    n_pix = rows * cols
    channels = ["ON (1s)", "OFF (0s)"] if encoding == "on_off" else [{"ones": "pixel = 1", "zeros": "pixel = 0"}[encoding]]
    k = outputs_per_class(weights.shape[1], len(labels))
    vmax = max(float(np.max(weights)), 1e-9)
    if k > 1:
        fig, axes = _subplots(len(labels), k, figsize=(0.5 * k * len(channels) + 1.5, 0.55 * len(labels) + 0.8),
                              squeeze=False)
        for j in range(weights.shape[1]):
            ax = axes[j // k, j % k]
            im = ax.imshow(_output_image(weights, j, image_shape), cmap="viridis", vmin=0, vmax=vmax)
            ax.set_xticks([])
            ax.set_yticks([])
        for c, lab in enumerate(labels):
            axes[c, 0].set_ylabel(lab, fontsize=8, rotation=0, ha="right", va="center")
    else:
        fig, axes = _subplots(len(channels), len(labels), figsize=(max(4, 0.8 * len(labels)), 1.6 * len(channels) + 0.6),
                              squeeze=False)
        for c, name in enumerate(channels):
            for j, lab in enumerate(labels):
                ax = axes[c, j]
                im = ax.imshow(weights[c * n_pix:(c + 1) * n_pix, j].reshape(rows, cols), cmap="viridis", vmin=0, vmax=vmax)
                ax.set_xticks([])
                ax.set_yticks([])
                if c == 0:
                    ax.set_title(lab, fontsize=9)
            axes[c, 0].set_ylabel(name, fontsize=8)
    fig.colorbar(im, ax=axes, shrink=0.8, label="weight (nA)")
    fig.suptitle(title)
    save_figure(fig, path)


def learning_curves(runs: dict, backends: list[str], path: Path, dataset: str) -> None:
    """Accuracy per epoch, one panel per training backend, one colour per seed: the line is the
    training presentations answered right, the dots the evaluations (plasticity off)."""
    fig, axes = _subplots(1, len(backends), figsize=(4.2 * len(backends), 3.2), squeeze=False, sharey=True,
                             layout="constrained")
    for ax, backend in zip(axes[0], backends):
        for (b, seed), r in sorted(runs.items()):
            if b != backend:
                continue
            curve = r["learning_curve"]
            (line,) = ax.plot([h["epoch"] for h in curve], [h["train_correct"] for h in curve], alpha=0.7,
                              label=f"seed {seed}")
            evaluated = [h for h in curve if h.get("eval_accuracy") is not None]
            ax.plot([h["epoch"] for h in evaluated], [h["eval_accuracy"] for h in evaluated], ls="", marker="o",
                    ms=3, color=line.get_color())
            if r["epochs_to_criterion"]:
                ax.axvline(r["epochs_to_criterion"], color=line.get_color(), ls=":", lw=1)
        ax.set_title(f"trained on {backend}")
        ax.set_xlabel("epoch")
        ax.set_ylim(-0.05, 1.05)
        ax.legend(fontsize=8, loc="lower right")
    axes[0, 0].set_ylabel("accuracy (line: training, dots: evaluation)")
    fig.suptitle(f"{dataset}: learning curves (dotted: criterion met)")
    save_figure(fig, path)


def weight_panels(trained: dict, backends: list[str], seeds: list[int], path: Path, dataset: str) -> None:
    """Trained weights (``trained[(backend, seed)]``: :class:`~snn_rl.experiments.storage.TrainedWeights`)
    as the pixel grid per output neuron: one row per run, one column per neuron.

    With ON/OFF input channels the two grids of a neuron are drawn side by side (ON left).
    """
    keys = [(b, s) for b in backends for s in seeds if (b, s) in trained]
    first = trained[keys[0]]
    n_out = first.weights.shape[1]
    names = output_names(first.labels, outputs_per_class(n_out, len(first.labels)))
    vmax = max(float(t.weights.max()) for t in trained.values()) or 1.0
    panel = min(0.75, 30.0 / n_out)  # inches per output: 100 outputs stay within about 60 inches
    fig, axes = _subplots(len(keys), n_out, figsize=(panel * n_out * (2 if first.input_encoding == "on_off" else 1) + 1.5,
                                                      1.25 * len(keys) + 0.6), squeeze=False)
    for r, key in enumerate(keys):
        t = trained[key]
        for j, label in enumerate(names):
            ax = axes[r, j]
            im = ax.imshow(_output_image(t.weights, j, t.image_shape), cmap="viridis", vmin=0, vmax=vmax)
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
    fig, ax = _subplots(figsize=(1.4 * len(test_backends) + 2.2, 1.0 * len(train_backends) + 1.4))
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
    """Mean accuracy (band: min to max over seeds) against the number of flipped pixels, one
    small panel per trained -> tested pair on a shared scale, so no series hides another."""
    pairs = list(dict.fromkeys((n["train_backend"], n["test_backend"]) for n in noise))
    cols = min(3, max(1, math.ceil(math.sqrt(len(pairs)))))
    rows = -(-len(pairs) // cols) or 1
    fig, axes = _subplots(rows, cols, figsize=(3.0 * cols, 2.3 * rows + 0.5), sharex=True, sharey=True,
                          squeeze=False, layout="constrained")
    for ax, (tb, tt) in zip(axes.ravel(), pairs):
        pts = sorted((n["noise_flips"], n["mean"], n["min"], n["max"]) for n in noise
                     if (n["train_backend"], n["test_backend"]) == (tb, tt))
        x, mean, lo, hi = map(np.array, zip(*pts))
        ax.fill_between(x, lo, hi, color="C0", alpha=0.2, label="min-max over seeds")
        ax.plot(x, mean, marker="o", color="C0", label="mean")
        ax.set_title(f"{tb} -> {tt}", fontsize=9)
        ax.set_ylim(-0.05, 1.05)
        ax.grid(alpha=0.3)
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.tick_params(labelbottom=True)
    for ax in axes.ravel()[len(pairs):]:
        ax.set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel("flipped pixels")
    for ax in axes[:, 0]:
        ax.set_ylabel("accuracy")
    axes[0, 0].legend(fontsize=7, loc="lower left")
    fig.suptitle(f"{dataset}: noise robustness (trained -> tested)")
    save_figure(fig, path)


def lockstep_figure(recordings, pairs: list[dict], path: Path, windows_shown: int = 12) -> None:
    """Lockstep agreement: output spikes of the first windows overlaid, and count differences.

    Left: output raster of the first ``windows_shown`` windows, one colour per backend.
    Right: histogram of per neuron-window spike-count differences for each pair of backends.
    """
    fig, (ax, bx) = _subplots(1, 2, figsize=(12, 3.4), gridspec_kw={"width_ratios": [2.4, 1]})
    first = recordings[0]
    n_out = first.n_outputs
    names = output_names(first.labels, outputs_per_class(n_out, len(first.labels)))
    shown = min(windows_shown, first.n_windows)
    colours = matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, rec in enumerate(recordings):
        offset = (i - (len(recordings) - 1) / 2) * 0.3
        for w in range(shown):
            for j, times in enumerate(rec.spikes[w][rec.n_inputs:]):
                t0 = w * rec.presentation_ms
                ax.vlines(t0 + np.asarray(times), j + offset - 0.13, j + offset + 0.13, color=colours[i % len(colours)],
                          lw=1.2, label=rec.backend if w == 0 and j == 0 else None)
    for w in range(shown):
        ax.axvspan(w * first.presentation_ms, w * first.presentation_ms + first.window_ms, color="0.94", zorder=0)
    ax.set_yticks(range(n_out), [f"out {name}" for name in names], fontsize=8 if n_out <= 30 else 4)
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
