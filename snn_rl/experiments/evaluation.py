"""Evaluation with plasticity off, and :func:`test`, the API call that tests trained weights.

Each character is presented ``repeats`` times; the answer is the class whose group of output
neurons fired strictly the most spikes (:func:`snn_rl.model.decision.winner`; one output per
class by default). A silent or tied network gives no
answer, and no answer is wrong: there is no "true negative" credit. Presentations are reset
to rest first, so without input noise the repeats of a character give identical spikes (they
keep the original's 12-presentation count for A-D comparable).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from snn_rl import backends
from snn_rl.analysis import plots
from snn_rl.errors import InputError
from snn_rl.experiments.exchange import SPIKES_FILE, spike_block, write_nix
from snn_rl.experiments.outputs import output_folder, prepare_out
from snn_rl.experiments.provenance import provenance
from snn_rl.experiments.runs import load_trained
from snn_rl.experiments.storage import WEIGHTS_FILE, write_json
from snn_rl.model.dataset import Dataset, as_dataset, encode, flip_pixels
from snn_rl.model.decision import class_counts, decide, output_names, outputs_per_class, winner
from snn_rl.model.network import CharacterNetwork
from snn_rl.model.params import Params, TrainingParams


@dataclass
class Evaluation:
    """Per-presentation answers and spikes of one test."""

    labels: tuple[str, ...]
    targets: list[int] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)  #: the class answered, -1 = none
    counts: list[np.ndarray] = field(default_factory=list)  #: spike counts per output neuron
    output_spikes: list[list[np.ndarray]] = field(default_factory=list)  #: ms from onset
    k: int = 1  #: output neurons per class (the answer is the group vote)

    def votes(self) -> np.ndarray:
        """Spikes per class and presentation, shape ``(n_presentations, n_classes)``: each
        group of ``k`` outputs summed."""
        return np.array([class_counts(c, self.k) for c in self.counts]).reshape(len(self.counts), len(self.labels))

    @property
    def accuracy(self) -> float:
        return float(np.mean(np.array(self.answers) == np.array(self.targets)))

    def confusion(self) -> np.ndarray:
        """Rows: presented class; columns: answering output, last column = no answer."""
        from sklearn.metrics import confusion_matrix

        n = len(self.labels)
        answered = [a if a >= 0 else n for a in self.answers]  # "no answer" is class n
        return confusion_matrix(self.targets, answered, labels=list(range(n + 1)))[:n]

    def target_spike_counts(self) -> np.ndarray:
        """Spikes of the right class's output(s) per presentation."""
        return np.array([v[t] for v, t in zip(self.votes(), self.targets)], dtype=int)

    def max_other_spike_counts(self) -> np.ndarray:
        """Most spikes of any wrong class's output(s) per presentation."""
        return np.array([np.delete(v, t).max(initial=0) for v, t in zip(self.votes(), self.targets)], dtype=int)

    def margins(self) -> np.ndarray:
        """Decision margin per presentation: the right neuron's spikes minus the most spikes of
        any other output. 1 or more: answered right; 0: tied or silent; below 0: wrong."""
        return self.target_spike_counts() - self.max_other_spike_counts()

    def winner_spike_counts(self) -> np.ndarray:
        """Spikes of the winning class's output(s) per presentation (0 when there is none)."""
        return np.array([v[a] if a >= 0 else 0 for v, a in zip(self.votes(), self.answers)])

    def meets_criterion(self, t: TrainingParams) -> bool:
        """Every presentation right by at least the margin, the right neuron within the spike
        band, others quiet."""
        ts = self.target_spike_counts()
        return bool(
            self.accuracy == 1.0
            and ts.min() >= t.min_winner_spikes
            and ts.max() <= t.max_winner_spikes
            and self.max_other_spike_counts().max(initial=0) <= t.max_other_spikes
            and self.margins().min() >= t.min_margin
        )

    def relabelled(self, order: np.ndarray) -> "Evaluation":
        """The evaluation as it reads once output ``order[c]`` is renamed to class ``c``."""
        order = np.asarray(order)
        if self.k != 1:
            raise ValueError("outputs are renamed one per class; this network has several per class")
        out = Evaluation(labels=self.labels, targets=list(self.targets))
        for counts, spikes in zip(self.counts, self.output_spikes):
            c = np.asarray(counts)[order]
            out.counts.append(c)
            out.answers.append(winner(c))
            out.output_spikes.append([spikes[i] for i in order])
        return out

    def summary(self) -> dict:
        return {
            "accuracy": self.accuracy,
            "n_presentations": len(self.targets),
            "labels": list(self.labels),
            "outputs_per_class": self.k,
            "confusion": self.confusion().tolist(),
            "confusion_columns": list(self.labels) + ["none"],
            "mean_winner_spikes": float(self.winner_spike_counts().mean()),
            "target_spikes_min": int(self.target_spike_counts().min()),
            "target_spikes_max": int(self.target_spike_counts().max()),
            "max_other_spikes": int(self.max_other_spike_counts().max(initial=0)),
            "margin_min": int(self.margins().min()),
            "margin_histogram": {str(int(k)): int(v) for k, v in zip(*np.unique(self.margins(), return_counts=True))},
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
    ev = Evaluation(labels=dataset.labels, k=outputs_per_class(net.shape[1], len(dataset.labels)))
    for cls, image in zip(dataset.targets.tolist(), dataset.images):
        for _ in range(repeats):
            shown = flip_pixels(image, noise_flips, rng) if noise_flips else image
            pres = net.present(encode(shown, encoding))
            counts = pres.post_counts
            ev.targets.append(cls)
            ev.answers.append(decide(pres.post, ev.k, net.p.tie_rule))
            ev.counts.append(counts)
            ev.output_spikes.append(pres.post)
    return ev


def check_noise_flips(n_flips: int, dataset: Dataset) -> None:
    """:class:`InputError` unless ``n_flips`` pixels can be flipped in a character of ``dataset``."""
    if n_flips > dataset.n_pixels:
        raise InputError(f"--noise-flips {n_flips} is more than the {dataset.n_pixels} pixels of a character")


@dataclass(frozen=True)
class TestResult:
    """What :func:`test` wrote into ``out``: ``summary`` is the content of ``test.json``."""

    __test__ = False  # not a test case for pytest, whatever its name says

    evaluation: Evaluation
    summary: dict
    out: Path

    def describe(self) -> str:
        ev, s = self.evaluation, self.summary
        right = sum(a == t for a, t in zip(ev.answers, ev.targets))
        return (f"{s['dataset']} on {s['backend']}: accuracy {ev.accuracy:.3f} ({right}/{len(ev.targets)}), "
                f"mean winner spikes {s['mean_winner_spikes']:.2f}, lowest decision margin {s['margin_min']} "
                f"-> {self.out}")


def test(weights: Path | str, dataset: Dataset | str, backend: str, out: Path | str, *,
         params: Params | None = None, repeats: int = 3, noise_flips: int = 0, noise_seed: int = 0,
         threads: int = 1, overwrite: bool = False) -> TestResult:
    """Test trained weights on ``backend`` with plasticity off; writes ``test.json`` and
    ``raster.png`` into ``out``.

    ``weights``: a run folder or weights file; ``params``: the parameters to run them with
    (default: those recorded beside the weights); every character is shown ``repeats`` times
    with ``noise_flips`` random pixels inverted (drawn from ``noise_seed``).
    """
    dataset = as_dataset(dataset)
    weights = Path(weights)
    trained, params = load_trained(weights, dataset, params)
    check_noise_flips(noise_flips, dataset)
    out = prepare_out(out, "test.json", overwrite, command="test")
    adapter = backends.get(backend)
    adapter.check("inference")
    adapter.require()
    params = adapter.constrain(params)  # a network the target cannot run is refused before --overwrite removes anything
    with output_folder(out, "test", "test.json", produces=("raster.png", SPIKES_FILE), overwrite=overwrite,
                       clear=overwrite):
        t0 = time.perf_counter()
        adapter.setup(params.network.timestep_ms, threads=threads)
        net = CharacterNetwork(adapter, params.network, trained.weights, trained.input_gains)
        ev = evaluate(net, dataset, trained.input_encoding, repeats=repeats, noise_flips=noise_flips,
                      rng=np.random.default_rng(noise_seed))
        wall = time.perf_counter() - t0
        adapter.end()
        summary = {
            "backend": adapter.name, "weights": str(weights), **dataset.record(), "repeats": repeats,
            "noise_flips": noise_flips, "noise_seed": noise_seed, **ev.summary(), "answers": ev.answers,
            "targets": ev.targets, "output_spike_counts": [c.tolist() for c in ev.counts], "wall_seconds": wall,
            "params": params.to_dict(),
            "provenance": provenance({"dataset": dataset.path,
                                      "weights": weights / WEIGHTS_FILE if weights.is_dir() else weights}),
        }
        write_nix(out / SPIKES_FILE, evaluation_block(ev, net, summary))
        plots.raster(ev, net.presentation_ms, out / "raster.png",
                     title=f"{dataset.name} on {adapter.name}: accuracy {ev.accuracy:.3f}"
                     + (f", {noise_flips} flipped pixels" if noise_flips else ""))
        write_json(out / "test.json", summary)
    return TestResult(evaluation=ev, summary=summary, out=out)


test.__test__ = False


def evaluation_block(ev: Evaluation, net: CharacterNetwork, summary: dict):
    """The output spikes of a test as a Neo block (:mod:`snn_rl.experiments.exchange`)."""
    labels = ev.labels
    n = net.p
    notes = {k: summary[k] for k in ("backend", "dataset", "dataset_sha256", "weights", "repeats", "noise_flips",
                                     "noise_seed", "accuracy")}
    notes.update(window_ms=n.window_ms, rest_ms=n.rest_ms, timestep_ms=n.timestep_ms, time_origin="window onset")
    segments = [{"character": labels[t], "target": int(t), "answer": labels[a] if a >= 0 else "",
                 "right": bool(a == t)} for t, a in zip(ev.targets, ev.answers)]
    return spike_block(ev.output_spikes, net.presentation_ms, name=f"test on {summary['backend']}", annotations=notes,
                       segments=segments, neuron_labels=[f"output {name}" for name in output_names(labels, ev.k)])  # the API call, not a test for pytest to collect
