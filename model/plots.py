"""Figures: output raster of a test, learning curve, weights drawn as pixel grids."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def save_figure(fig, path: Path) -> None:
    """Write ``fig`` to ``path`` through a temporary file (never half a PNG) and close it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    fig.savefig(tmp, dpi=110, bbox_inches="tight")
    plt.close(fig)
    tmp.replace(path)


def raster(evaluation, presentation_ms: float, path: Path, title: str = "") -> None:
    """Output spikes over consecutive test presentations, one row per output neuron.

    Success looks like a diagonal: each character's own neuron bursts while it is shown.
    """
    labels = evaluation.labels
    n = len(labels)
    fig, ax = plt.subplots(figsize=(max(6, 0.35 * len(evaluation.targets) + 2), max(2.5, 0.3 * n + 1)))
    for k, (target, answer, trains) in enumerate(zip(evaluation.targets, evaluation.answers, evaluation.output_spikes)):
        t0 = k * presentation_ms
        ax.axvspan(t0, t0 + presentation_ms, color="0.93" if k % 2 else "white", zorder=0)
        ax.add_patch(plt.Rectangle((t0, target - 0.45), presentation_ms, 0.9, color="tab:green" if answer == target else "tab:red", alpha=0.15, zorder=1))
        for j, times in enumerate(trains):
            ax.vlines(t0 + np.asarray(times), j - 0.35, j + 0.35, color="k", lw=1.2, zorder=2)
    ticks = [k * presentation_ms + presentation_ms / 2 for k in range(len(evaluation.targets))]
    ax.set_xticks(ticks, [labels[t] for t in evaluation.targets], fontsize=8)
    ax.set_yticks(range(n), [f"out {lab}" for lab in labels], fontsize=8)
    ax.set_ylim(-0.6, n - 0.4)
    ax.invert_yaxis()
    ax.set_xlim(0, len(evaluation.targets) * presentation_ms)
    ax.set_xlabel("presented character (green: answered right, red: wrong)")
    ax.set_title(title or f"test raster, accuracy {evaluation.accuracy:.3f}")
    save_figure(fig, path)


def learning_curve(history: list[dict], path: Path, title: str = "") -> None:
    """Evaluation accuracy and training reward per epoch."""
    epochs = [h["epoch"] for h in history]
    fig, ax = plt.subplots(figsize=(6, 3.2))
    ax.plot(epochs, [h["eval_accuracy"] for h in history], label="evaluation accuracy")
    ax.plot(epochs, [h["train_correct"] for h in history], alpha=0.6, label="training presentations right")
    crit = [h["epoch"] for h in history if h["criterion"]]
    if crit:
        ax.axvline(crit[0], color="tab:green", ls="--", lw=1, label=f"criterion (epoch {crit[0]})")
    ax.set_xlabel("epoch")
    ax.set_ylim(-0.05, 1.05)
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title(title)
    save_figure(fig, path)


def weight_grids(weights: np.ndarray, labels, image_shape, encoding: str, path: Path, title: str = "") -> None:
    """Each output neuron's incoming weights drawn as the pixel grid (one panel per channel)."""
    rows, cols = image_shape
    n_pix = rows * cols
    channels = ["ON (1s)", "OFF (0s)"] if encoding == "on_off" else [{"ones": "pixel = 1", "zeros": "pixel = 0"}[encoding]]
    n = len(labels)
    fig, axes = plt.subplots(len(channels), n, figsize=(max(4, 0.8 * n), 1.6 * len(channels) + 0.6), squeeze=False)
    vmax = max(float(np.max(weights)), 1e-9)
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
