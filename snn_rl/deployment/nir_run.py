"""``export --format nir``, ``import`` and ``nir-test``: a trained run as a NIR file, the file
read back into a run, and the file run by an independent NIR importer.

The independent consumer is Norse (``pip install "snn-rl[nir-consumer]"``: CPU PyTorch,
Norse, nirtorch). Norse's own importer (``norse.torch.from_nir``, built on nirtorch) turns the
graph into PyTorch modules and integrates them with forward Euler; the recurrent inhibition
edge gets nirtorch's one-step latency. Two adaptations are made, and only to Norse's input,
never to the file: the step is the graph's inhibition delay (1 ms, so the latency is the
delay), and ``w_in`` is divided by that step because Norse feeds a spike as a pulse of
height 1 lasting one step where NIR's equations take a Dirac of unit area.

Every difference between the consumer's answers and NEST's is put down to its cause by
running NEST again with one difference at a time: without the refractory period (which NIR
cannot express), then also at the consumer's 1 ms step; an answer that still differs is
put down to the integration scheme (forward Euler on a 1 ms grid against NEST's exact
integration).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from snn_rl import backends
from snn_rl.analysis import plots
from snn_rl.errors import InputError
from snn_rl.experiments.evaluation import Evaluation
from snn_rl.experiments.outputs import output_folder, prepare_out, prepare_out_file
from snn_rl.experiments.provenance import provenance
from snn_rl.experiments.runs import load_run
from snn_rl.experiments.storage import WEIGHTS_FILE, atomic_path, save_weights, write_json
from snn_rl.model.dataset import BUILTIN, DIGITS, Dataset, as_dataset
from snn_rl.model.decision import decide, outputs_per_class
from snn_rl.deployment import nir_graph
from snn_rl.deployment.emulation import evaluate_on
from snn_rl.deployment.nir_graph import ImportedNetwork, read_file, require_nir

FORMATS = ("nir",)
CONSUMERS = ("norse",)
#: the extra that installs the consumer
CONSUMER_EXTRA = "nir-consumer"
#: the result file of nir-test
RESULT_FILE = "nir.json"


def _is_our_nir(path: Path) -> bool:
    try:
        import h5py

        with h5py.File(path, "r") as fh:
            fmt = fh["node/metadata/format"][()]
        return (fmt.decode() if isinstance(fmt, bytes) else str(fmt)) == nir_graph.FORMAT
    except Exception:  # not HDF5, or not ours
        return False


@dataclass(frozen=True)
class ExportResult:
    out: Path
    graph: object
    n_nodes: int

    def describe(self) -> str:
        types = sorted({type(n).__name__ for n in self.graph.nodes.values()})
        return (f"NIR graph of {self.n_nodes} nodes ({', '.join(types)}), "
                f"{len(self.graph.metadata['approximations'])} approximations in its metadata -> {self.out}")


def export(weights: Path | str, out: Path | str, *, fmt: str = "nir", dataset: Dataset | str | None = None,
           delays: str = "step", overwrite: bool = False) -> ExportResult:
    """Write a trained run as a NIR file (``fmt`` "nir"): :func:`nir_graph.to_graph`, written
    through a temporary file and checked by reading it back with ``nir.read``."""
    if fmt not in FORMATS:
        raise InputError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if delays not in nir_graph.DELAY_MODES:
        raise InputError(f"--delays must be one of {', '.join(nir_graph.DELAY_MODES)}, got {delays!r}")
    nir = require_nir()
    trained, dataset, params = load_run(weights, dataset)
    out = prepare_out_file(out, overwrite, ours=_is_our_nir)
    graph = nir_graph.to_graph(trained, params, dataset, delays=delays, source=str(weights))
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as tmp:
        nir.write(tmp, graph)
        nir_graph.read_graph(nir.read(tmp), str(out))  # the file reads back as the network it holds
    return ExportResult(out=out, graph=graph, n_nodes=len(graph.nodes))


def recorded_dataset(meta: dict, dataset: Dataset | str | None, where: str) -> Dataset:
    """``dataset``, or the built-in data set the graph's metadata names by name and digest."""
    if dataset is not None:
        return as_dataset(dataset)
    name = meta.get("dataset")
    if (name in BUILTIN or name in DIGITS) and meta.get("dataset_source") == "built-in":
        candidate = as_dataset(name)
        if meta.get("dataset_sha256") == candidate.digest():
            return candidate
    raise InputError(f"{where} was exported from a network trained on a file, not a built-in data set; "
                     "pass --dataset")


@dataclass(frozen=True)
class ImportResult:
    out: Path
    network: ImportedNetwork

    def describe(self) -> str:
        t = self.network.trained
        return (f"imported {t.weights.shape[0]} inputs x {t.weights.shape[1]} outputs "
                f"({''.join(t.labels)}) -> {self.out}; test it with: snn-rl test --weights {self.out} ...")


def import_graph(nir_file: Path | str, out: Path | str, *, overwrite: bool = False) -> ImportResult:
    """Read a NIR file written by :func:`export` into a run folder (``weights.npz`` and
    ``train.json``) that ``test``, ``emulate`` and ``deploy`` take like a trained run."""
    network = read_file(nir_file)
    out = prepare_out(out, "train.json", overwrite, command="import")
    meta = network.metadata
    with output_folder(out, "import", "train.json", produces=(WEIGHTS_FILE,), overwrite=overwrite, clear=overwrite):
        save_weights(out / WEIGHTS_FILE, network.trained)
        write_json(out / "train.json", {
            "imported_from": str(nir_file),
            **{k: meta[k] for k in ("dataset", "dataset_source", "dataset_sha256") if k in meta},
            "labels": list(network.trained.labels), "params": network.params.to_dict(),
            "nir_approximations": list(meta.get("approximations", [])),
            "provenance": provenance({"nir": Path(nir_file)}),
        })
    return ImportResult(out=out, network=network)


def require_consumer(consumer: str):
    """Norse's NIR importer and torch, or :class:`InputError` saying how to install them."""
    if consumer not in CONSUMERS:
        raise InputError(f"--consumer must be one of {', '.join(CONSUMERS)}, got {consumer!r}")
    try:
        import norse.torch  # noqa: F401
        import torch
    except ImportError:
        raise InputError(f'the {consumer} consumer needs PyTorch and Norse: pip install "snn-rl[{CONSUMER_EXTRA}]" '
                         "(./run.sh installs it; CPU PyTorch: see docs/deployment.md)") from None
    return torch


def check_consumable(graph, where: str = "the graph") -> None:
    """:class:`InputError` if Norse cannot import the graph."""
    if any(type(node).__name__ == "Delay" for node in graph.nodes.values()):
        raise InputError(f"{where} has Delay nodes, which Norse does not import; export it with --delays step")
    for name in ("input_layer", "output_layer"):
        node = graph.nodes.get(name)
        if node is not None and np.any(np.asarray(node.v_reset, dtype=float) != 0):
            raise InputError(f"{where}: {name} resets to {np.ravel(node.v_reset)[0]:g} mV above rest; Norse's importer "
                             "resets to rest whatever v_reset says, so its answers would not be comparable")


def run_norse(graph, dataset: Dataset, step_ms: float) -> list[list[np.ndarray]]:
    """Every character of ``dataset`` through the graph in Norse, as one batch: per character,
    the output spike times (ms from the window's onset, at the end of the step they fall in)."""
    torch = require_consumer("norse")
    import copy
    import logging

    import norse.torch

    check_consumable(graph)
    graph = copy.deepcopy(graph)
    layer = graph.nodes["output_layer"]
    layer.w_in = np.asarray(layer.w_in, dtype=float) / step_ms  # Norse: a spike is 1 for one step, not a Dirac
    presentation = graph.metadata["presentation"]
    inputs = nir_graph.input_sequence(dataset, step_ms, float(presentation["window_ms"]),
                                      float(presentation["rest_ms"]))
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # Norse warns about r != 1 on CubaLIF, which it applies
    try:
        module = norse.torch.from_nir(graph, dt=step_ms, ignore_warnings=True)
    finally:
        root.setLevel(level)
    x = torch.as_tensor(inputs, dtype=torch.float32)
    spikes = np.zeros((x.shape[0], x.shape[1], len(graph.metadata["labels"])), dtype=bool)
    state = None
    with torch.no_grad():
        for k in range(x.shape[0]):
            _, state = module(x[k], state)
            # the Output node's value (nirtorch's executor returns the last node it ran, which
            # in a graph with a cycle is the lateral inhibition, not the output)
            spikes[k] = state.cache["output"].numpy() > 0
    times = (np.arange(x.shape[0]) + 1) * step_ms
    return [[times[spikes[:, c, i]] for i in range(spikes.shape[2])] for c in range(spikes.shape[1])]


def diagnose(labels, consumer: Evaluation, reference: Evaluation, no_refrac: Evaluation,
             coarse: Evaluation, step_ms: float) -> list[dict]:
    """Characters the consumer answers differently from the reference, and why."""
    out = []
    for k, label in enumerate(labels):
        if consumer.answers[k] == reference.answers[k]:
            continue
        if no_refrac.answers[k] == consumer.answers[k]:
            cause = "no refractory period in NIR (the reference without one answers as the consumer)"
        elif coarse.answers[k] == consumer.answers[k]:
            cause = f"the {step_ms:g} ms step (the reference at {step_ms:g} ms without refractory period answers as the consumer)"
        else:
            cause = f"the integration scheme (forward Euler on the {step_ms:g} ms grid against exact integration)"
        name = lambda a: labels[a] if a >= 0 else "-"  # noqa: E731
        out.append({"label": label, "cause": cause, "consumer_answer": name(consumer.answers[k]),
                    "reference_answer": name(reference.answers[k]),
                    "consumer_counts": consumer.counts[k].tolist(), "reference_counts": reference.counts[k].tolist()})
    return out


def _as_evaluation(trains: list[list[np.ndarray]], dataset: Dataset, tie_rule: str = "none") -> Evaluation:
    """The consumer's spikes, one presentation per character, as an evaluation (answers by
    the vote, a tie settled by ``tie_rule``)."""
    ev = Evaluation(labels=dataset.labels, k=outputs_per_class(len(trains[0]), len(dataset.labels)))
    for c, post in enumerate(trains):
        counts = np.array([len(t) for t in post], dtype=int)
        ev.targets.append(c)
        ev.answers.append(decide(post, ev.k, tie_rule))
        ev.counts.append(counts)
        ev.output_spikes.append(post)
    return ev


def _comparison(ev: Evaluation, ref: Evaluation, no_refrac: Evaluation, coarse: Evaluation, step: float) -> dict:
    """Accuracies and spike counts of the consumer and of the reference's variants."""
    return {
        "accuracy": {"consumer": ev.accuracy, "reference": ref.accuracy, "reference_no_refractory": no_refrac.accuracy,
                     f"reference_no_refractory_{step:g}ms": coarse.accuracy},
        "same_counts": int(sum(np.array_equal(a, b) for a, b in zip(ev.counts, ref.counts))),
        "spike_counts": {"consumer": [c.tolist() for c in ev.counts], "reference": [c.tolist() for c in ref.counts],
                         "reference_no_refractory": [c.tolist() for c in no_refrac.counts]},
    }


@dataclass(frozen=True)
class NirTestResult:
    report: dict
    out: Path

    def describe(self) -> str:
        r = self.report
        differ = r["different_answers"]
        return (f"{r['dataset']} through NIR in {r['consumer']}: accuracy {r['accuracy']['consumer']:.3f} "
                f"({r['reference']} {r['accuracy']['reference']:.3f}); "
                + (f"answers differ for {', '.join(d['label'] for d in differ)}" if differ else
                   f"same answers as {r['reference']}") + f"; spike counts equal for {r['same_counts']} of "
                f"{len(r['labels'])} characters -> {self.out}")


def nir_test(nir_file: Path | str, out: Path | str, *, dataset: Dataset | str | None = None,
             consumer: str = "norse", reference: str = "nest", overwrite: bool = False) -> NirTestResult:
    """Run a NIR file in an independent consumer and compare it with ``reference`` (NEST)
    running the same file read back (:func:`nir_graph.read_file`). Writes ``test.json`` (the
    consumer's answers, as ``snn-rl test`` writes them), its ``raster.png`` and ``nir.json``
    (the comparison)."""
    network = read_file(nir_file)
    graph = network.graph
    check_consumable(graph, str(nir_file))
    dataset = recorded_dataset(network.metadata, dataset, str(nir_file))
    network.trained.check_matches(dataset.labels, dataset.shape, str(nir_file))
    if len(dataset.labels) != len(dataset) or list(dataset.targets) != list(range(len(dataset))):
        raise InputError(f"nir-test shows each character once; {dataset.name} has {len(dataset)} images of "
                         f"{len(dataset.labels)} classes (use 'snn-rl import' and 'snn-rl test' for held-out sets)")
    require_consumer(consumer)
    if reference not in ("nest", "neuron"):
        raise InputError(f"--reference must be nest or neuron, got {reference!r}")
    backends.get(reference).require()
    out = prepare_out(out, RESULT_FILE, overwrite, command="nir-test")
    with output_folder(out, "nir-test", RESULT_FILE, produces=("test.json", "raster.png"), overwrite=overwrite,
                       clear=overwrite):
        # the consumer's step is the inhibition delay: nirtorch's one-step latency on the
        # recurrent edge is then the delay
        step = network.params.network.inhibition_delay_ms
        t0 = time.perf_counter()
        ev = _as_evaluation(run_norse(graph, dataset, step), dataset, network.params.network.tie_rule)
        wall = time.perf_counter() - t0
        params, trained = network.params, network.trained
        ref = evaluate_on(reference, params, trained, dataset, 1)
        no_refrac = params.replace(network={"cell": {"tau_refrac": 0.0}})
        ref_no_refrac = evaluate_on(reference, no_refrac, trained, dataset, 1)
        ref_coarse = evaluate_on(reference, no_refrac.replace(network={"timestep_ms": step}), trained, dataset, 1)
        differ = diagnose(dataset.labels, ev, ref, ref_no_refrac, ref_coarse, step)
        backend_name = f"nir-{consumer}"
        summary = {"backend": backend_name, "weights": str(nir_file), **dataset.record(), "repeats": 1,
                   "noise_flips": 0, "noise_seed": 0, **ev.summary(), "answers": ev.answers, "targets": ev.targets,
                   "output_spike_counts": [c.tolist() for c in ev.counts], "wall_seconds": wall,
                   "consumer_step_ms": step, "provenance": provenance({"nir": Path(nir_file)})}
        presentation = network.metadata["presentation"]
        plots.raster(ev, float(presentation["window_ms"]) + float(presentation["rest_ms"]), out / "raster.png",
                     title=f"{dataset.name} through NIR in {consumer} ({step:g} ms): accuracy {ev.accuracy:.3f}")
        write_json(out / "test.json", summary)
        report = {
            "nir": str(nir_file), "consumer": consumer, "consumer_step_ms": step, "reference": reference,
            **dataset.record(), "labels": list(dataset.labels),
            **_comparison(ev, ref, ref_no_refrac, ref_coarse, step), "different_answers": differ,
            "same_answers": not differ, "approximations": list(network.metadata.get("approximations", [])),
            "provenance": provenance({"nir": Path(nir_file)}),
        }
        write_json(out / RESULT_FILE, report)
    return NirTestResult(report=report, out=out)
