"""``emulate``: before deploying, does the trained network still answer with SpiNNaker's arithmetic?

It tests the weights on the ``spinnaker-emulated`` target (NEST or NEURON at SpiNNaker's
1 ms step, delays and 16-bit weights: :mod:`snn_rl.backends.spinnaker_emulated`) and puts
every character that breaks down to the 1 ms time step or to weight quantisation.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from snn_rl import backends
from snn_rl.errors import InputError
from snn_rl.experiments.evaluation import Evaluation, evaluate, test
from snn_rl.experiments.exchange import SPIKES_FILE
from snn_rl.experiments.outputs import output_folder, prepare_out
from snn_rl.experiments.provenance import provenance
from snn_rl.experiments.runs import load_run
from snn_rl.experiments.storage import write_json
from snn_rl.model import quantisation as q
from snn_rl.model.dataset import Dataset
from snn_rl.model.network import CharacterNetwork

#: float simulators the chip's arithmetic is emulated on
SIMULATORS = ("nest", "neuron")


def evaluate_on(backend_name: str, params, trained, dataset, repeats: int) -> Evaluation:
    """The trained weights evaluated on a backend, nothing written."""
    backend = backends.get(backend_name).require()
    params = backend.constrain(params)
    backend.setup(params.network.timestep_ms)
    try:
        net = CharacterNetwork(backend, params.network, trained.weights, trained.input_gains)
        return evaluate(net, dataset, trained.input_encoding, repeats=repeats)
    finally:
        backend.end()


def diagnose(labels, float_ev, coarse_ev, chip_ev, zeros: list[dict]) -> list[dict]:
    """Characters answered differently on the chip's arithmetic than in float, and why."""
    broken = []
    for c, label in enumerate(labels):
        idx = [k for k, t in enumerate(chip_ev.targets) if t == c]
        answers = {name: [ev.answers[k] for k in idx] for name, ev in
                   (("float", float_ev), ("float_1ms", coarse_ev), ("emulated", chip_ev))}
        if answers["emulated"] == answers["float"]:
            continue
        if answers["float_1ms"] != answers["float"]:
            cause = "the 1 ms time step (float weights at 1 ms already answer differently)"
        else:
            cause = "weight quantisation (float weights at 1 ms still answer as trained)"
        broken.append({
            "label": label, "cause": cause,
            "answers": {k: ["-" if a < 0 else labels[a] for a in v] for k, v in answers.items()},
            "emulated_spike_counts": [chip_ev.counts[k].tolist() for k in idx],
            "float_spike_counts": [float_ev.counts[k].tolist() for k in idx],
            "weights_to_its_neuron_rounded_to_zero": sum(z["label"] == label for z in zeros),
        })
    return broken


@dataclass(frozen=True)
class EmulationResult:
    """What :func:`emulate` wrote: ``report`` is the content of ``emulation.json``."""

    report: dict
    out: Path

    def describe(self) -> str:
        r = self.report
        acc, broken = r["accuracy"], r["broken_characters"]
        return (f"SpiNNaker arithmetic on {r['simulator']}: accuracy {acc['emulated']:.3f} (float {acc['float']:.3f}, "
                f"float at 1 ms {acc['float_1ms']:.3f}); {r['quantisation']['n_rounded_to_zero']} weights round to "
                "zero; " + (f"broken: {', '.join(b['label'] for b in broken)}" if broken else "same answers as float")
                + f" -> {self.out}")


def emulate(weights: Path | str, out: Path | str, *, dataset: Dataset | str | None = None, simulator: str = "nest",
            repeats: int = 3, overwrite: bool = False) -> EmulationResult:
    """Test trained weights with SpiNNaker's arithmetic on ``simulator`` (nest or neuron).

    Writes the usual ``test.json`` and ``raster.png`` of the emulated target into ``out``,
    and ``emulation.json``: the answers compared with the float simulator at the trained time
    step and at 1 ms, so a character that breaks is put down to the 1 ms time step or to
    weight quantisation, and the weights that round to zero.
    """
    if simulator not in SIMULATORS:
        raise InputError(f"--simulator must be one of {', '.join(SIMULATORS)}, got {simulator!r}")
    trained, dataset, params = load_run(weights, dataset)
    out = prepare_out(out, "emulation.json", overwrite, command="emulate")
    q.spinnaker_params(params)  # a network the chip cannot run is refused before --overwrite removes anything
    with output_folder(out, "emulate", "emulation.json", produces=("test.json", "raster.png", SPIKES_FILE),
                       overwrite=overwrite, clear=overwrite):
        emulated = "spinnaker-emulated" if simulator == "nest" else f"spinnaker-emulated-{simulator}"
        chip = test(weights, dataset, emulated, out, repeats=repeats, overwrite=overwrite).evaluation
        float_ev = evaluate_on(simulator, params, trained, dataset, repeats)
        coarse = q.spinnaker_params(params)
        coarse_ev = evaluate_on(simulator, coarse, trained, dataset, repeats)
        quant = q.quantise_network(trained.weights, coarse.network.inhibition_nA).summary(trained.weights, dataset.labels)
        broken = diagnose(dataset.labels, float_ev, coarse_ev, chip, quant["rounded_to_zero"])
        report = {
            "weights": str(weights), **dataset.record(), "simulator": simulator, "repeats": repeats,
            "accuracy": {"float": float_ev.accuracy, "float_1ms": coarse_ev.accuracy, "emulated": chip.accuracy},
            "float_timestep_ms": params.network.timestep_ms,
            "same_answers_as_float": not broken and chip.answers == float_ev.answers,
            "broken_characters": broken,
            "quantisation": quant,
            "provenance": provenance(),
        }
        write_json(out / "emulation.json", report)
    return EmulationResult(report=report, out=out)
