"""Evaluation with plasticity off.

Each character is presented ``repeats`` times; the answer is the output neuron with strictly
the most spikes. A silent or tied network gives no answer, and no answer is wrong: there is
no "true negative" credit. Presentations are reset to rest first, so without input noise the
repeats of a character give identical spikes (they keep the original's 12-presentation count
for A-D comparable).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from model.dataset import Dataset, encode, flip_pixels
from model.plasticity import winner
from model.params import TrainingParams


@dataclass
class Evaluation:
    """Per-presentation answers and spikes of one test."""

    labels: tuple[str, ...]
    targets: list[int] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)  #: winning output, -1 = none
    counts: list[np.ndarray] = field(default_factory=list)  #: output spike counts
    output_spikes: list[list[np.ndarray]] = field(default_factory=list)  #: ms from onset

    @property
    def accuracy(self) -> float:
        return float(np.mean(np.array(self.answers) == np.array(self.targets)))

    def confusion(self) -> np.ndarray:
        """Rows: presented class; columns: answering output, last column = no answer."""
        n = len(self.labels)
        m = np.zeros((n, n + 1), dtype=int)
        for t, a in zip(self.targets, self.answers):
            m[t, a if a >= 0 else n] += 1
        return m

    def target_spike_counts(self) -> np.ndarray:
        """Spikes of the right neuron per presentation."""
        return np.array([c[t] for c, t in zip(self.counts, self.targets)])

    def max_other_spike_counts(self) -> np.ndarray:
        """Most spikes of any wrong neuron per presentation."""
        return np.array([np.delete(c, t).max(initial=0) for c, t in zip(self.counts, self.targets)])

    def winner_spike_counts(self) -> np.ndarray:
        """Spikes of the winning neuron per presentation (0 when there is none)."""
        return np.array([c[a] if a >= 0 else 0 for c, a in zip(self.counts, self.answers)])

    def meets_criterion(self, t: TrainingParams) -> bool:
        """Every presentation right, the right neuron within the spike band, others quiet."""
        ts = self.target_spike_counts()
        return bool(
            self.accuracy == 1.0
            and ts.min() >= t.min_winner_spikes
            and ts.max() <= t.max_winner_spikes
            and self.max_other_spike_counts().max(initial=0) <= t.max_other_spikes
        )

    def summary(self) -> dict:
        return {
            "accuracy": self.accuracy,
            "n_presentations": len(self.targets),
            "labels": list(self.labels),
            "confusion": self.confusion().tolist(),
            "confusion_columns": list(self.labels) + ["none"],
            "mean_winner_spikes": float(self.winner_spike_counts().mean()),
            "target_spikes_min": int(self.target_spike_counts().min()),
            "target_spikes_max": int(self.target_spike_counts().max()),
            "max_other_spikes": int(self.max_other_spike_counts().max(initial=0)),
            "per_class_accuracy": {
                lab: float(np.mean([a == t for a, t in zip(self.answers, self.targets) if t == i]))
                for i, lab in enumerate(self.labels)
            },
        }


def evaluate(
    net,
    dataset: Dataset,
    encoding: str,
    repeats: int = 1,
    noise_flips: int = 0,
    rng: np.random.Generator | None = None,
) -> Evaluation:
    """Present every character ``repeats`` times (in data-set order) with plasticity off.

    ``noise_flips`` pixels of each presentation, drawn by ``rng``, are inverted.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    if noise_flips and rng is None:
        raise ValueError("noise_flips needs an rng")
    ev = Evaluation(labels=dataset.labels)
    for cls, image in zip(dataset.targets.tolist(), dataset.images):
        for _ in range(repeats):
            shown = flip_pixels(image, noise_flips, rng) if noise_flips else image
            pres = net.present(encode(shown, encoding))
            counts = pres.post_counts
            ev.targets.append(cls)
            ev.answers.append(winner(counts))
            ev.counts.append(counts)
            ev.output_spikes.append(pres.post)
    return ev
