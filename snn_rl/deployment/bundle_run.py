"""Run a trained character network on one PyNN simulator: ``python run.py <simulator>``.

``<simulator>`` is ``nest``, ``neuron`` or ``spiNNaker`` (the EBRAINS Neuromorphic Computing
Platform passes the system name as the script's one argument). Needs only PyNN, numpy and
the simulator. Reads ``network.json`` (parameters, trained weights in nA, input gains) and
``dataset.txt`` (the characters) beside this script; writes ``results.json`` (answers,
spike counts, accuracy; on SpiNNaker also the placement) into the working directory.

Every test presentation is scheduled into ONE run, as SpiNNaker favours: presentation ``k``
switches the input currents on at ``k * (window + rest) + 1`` ms (a ``StepCurrentSource``
per input neuron) and off after the window. The membranes are not reset between
presentations (sPyNNaker can reset state only between runs, at the cost of a reload); the
rest gap lets them decay towards rest. The time step is 1 ms, SpiNNaker's.
"""

import json
import sys
from importlib import import_module
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SIMULATORS = {"nest": "nest", "neuron": "neuron", "spinnaker": "spiNNaker"}
TIMESTEP_MS = 1.0
#: first onset: NEST and NEURON want a current step after time 0
FIRST_ONSET_MS = 1.0


def read_dataset(path):
    """(labels, images) from the project's data-set format: ``LABEL 101/010/...`` lines."""
    labels, images = [], []
    for line in Path(path).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            label, rows = line.split()
            labels.append(label)
            images.append([[int(c) for c in row] for row in rows.split("/")])
    return labels, np.array(images, dtype=float)


def encode(image, encoding):
    """Which inputs an image drives: ``ones``, ``zeros`` or both channels (``on_off``)."""
    flat = np.asarray(image, dtype=float).ravel()
    return {"ones": flat, "zeros": 1.0 - flat, "on_off": np.concatenate([flat, 1.0 - flat])}[encoding]


def schedule(net, images):
    """Presentation order (class indices) and per-input current steps (times ms, amplitudes nA)."""
    period = net["window_ms"] + net["rest_ms"]
    order = [c for c in range(len(images)) for _ in range(net["repeats"])]
    gains = np.asarray(net["input_gains"], dtype=float)
    times, amps = [], []
    for k, c in enumerate(order):
        onset = FIRST_ONSET_MS + k * period
        times += [onset, onset + net["window_ms"]]
        amps.append(encode(images[c], net["input_encoding"]) * gains * net["input_current_nA"])
        amps.append(np.zeros_like(gains))
    return order, np.array(times), np.array(amps).T


def winner(counts, k=1, first=None):
    """The class whose group of ``k`` outputs (outputs ``c*k`` .. ``c*k + k - 1`` for class ``c``)
    fired strictly the most spikes, or -1 (silent or tied): the project's vote. ``first``
    (each output's first spike time, inf if silent) settles a tie: the tied group that fired
    strictly first answers."""
    votes = np.asarray(counts).reshape(-1, k).sum(axis=1)
    if votes.max() == 0:
        return -1
    best = np.flatnonzero(votes == votes.max())
    if best.size == 1:
        return int(best[0])
    if first is None:
        return -1
    onset = np.asarray(first, dtype=float).reshape(-1, k).min(axis=1)[best]
    earliest = np.flatnonzero(onset == onset.min())
    return int(best[earliest[0]]) if earliest.size == 1 else -1


def build(sim, net, step_times=None, step_amps=None):
    """The character network on ``sim`` (set up by the caller): input and output populations,
    the trained input -> output projection and the lateral inhibition. With ``step_times``
    and ``step_amps`` (one row per input, nA) every input gets its current steps."""
    weights = np.asarray(net["weights_nA"], dtype=float)
    n_in, n_out = weights.shape
    inputs = sim.Population(n_in, sim.IF_curr_exp(**net["cell"]), label="input")
    outputs = sim.Population(n_out, sim.IF_curr_exp(**net["cell"]), label="output")
    if step_times is not None:
        for i in range(n_in):
            inputs[i:i + 1].inject(sim.StepCurrentSource(times=list(step_times), amplitudes=list(step_amps[i])))
    # sPyNNaker takes no weight arrays, so every simulator gets the same connection list
    plastic = [(i, j, float(weights[i, j]), net["delay_ms"]) for i in range(n_in) for j in range(n_out)]
    trained = sim.Projection(inputs, outputs, sim.FromListConnector(plastic), sim.StaticSynapse(),
                             receptor_type="excitatory", label="input->output")
    lateral = sim.Projection(outputs, outputs, sim.AllToAllConnector(allow_self_connections=False),
                             sim.StaticSynapse(weight=-net["inhibition_nA"], delay=net["inhibition_delay_ms"]),
                             receptor_type="inhibitory", label="lateral inhibition")
    return inputs, outputs, trained, lateral


def placement(populations):
    """Chips and cores sPyNNaker placed the populations on (after a run)."""
    from spinn_utilities.config_holder import get_config_bool
    from spynnaker.pyNN.data import SpynnakerDataView

    chips, cores = set(), {}
    for pop in populations:
        cores[pop.label] = []
        for vertex in pop._vertex.machine_vertices:
            p = SpynnakerDataView.get_placement_of_vertex(vertex)
            chips.add((p.x, p.y))
            cores[pop.label].append({"chip": [p.x, p.y], "core": p.p})
    return {"application_cores": sum(len(v) for v in cores.values()),
            "application_chips": sorted(list(c) for c in chips),
            "total_cores_including_system": SpynnakerDataView.get_n_placements(),
            "populations": cores}, get_config_bool("Machine", "virtual_board")


def count_spikes(trains, n_presentations, period_ms):
    """Spikes of each output in each presentation, shape (presentations, outputs), and each
    output's first spike time in each presentation (ms from its onset, inf if none)."""
    counts = np.zeros((n_presentations, len(trains)), dtype=int)
    first = np.full((n_presentations, len(trains)), np.inf)
    for j, st in enumerate(trains):
        t = np.asarray(st.magnitude) - FIRST_ONSET_MS
        k = np.floor(t / period_ms).astype(int)
        ok = (k >= 0) & (k < n_presentations)
        np.add.at(counts[:, j], k[ok], 1)
        np.minimum.at(first[:, j], k[ok], t[ok] - k[ok] * period_ms)
    return counts, first


def main(argv):
    if len(argv) != 2 or argv[1].lower() not in SIMULATORS:
        sys.exit(f"usage: {argv[0]} <simulator>, one of: nest, neuron, spiNNaker")
    simulator = SIMULATORS[argv[1].lower()]
    net = json.loads((HERE / "network.json").read_text())
    labels, images = read_dataset(HERE / "dataset.txt")
    order, step_times, step_amps = schedule(net, images)
    period = net["window_ms"] + net["rest_ms"]
    duration = FIRST_ONSET_MS + len(order) * period

    sim = import_module("pyNN." + simulator)
    extra = {"spike_precision": "on_grid"} if simulator == "nest" else {}
    sim.setup(timestep=TIMESTEP_MS, min_delay=TIMESTEP_MS, **extra)
    inputs, outputs, _, _ = build(sim, net, step_times, step_amps)
    outputs.record("spikes")
    sim.run(duration)

    results = {"simulator": simulator, "labels": labels, "presentations": len(order)}
    if simulator == "spiNNaker":
        results["placement"], results["virtual_board"] = placement((inputs, outputs))
    counts, first = count_spikes(outputs.get_data("spikes").segments[0].spiketrains, len(order), period)
    sim.end()

    k = counts.shape[1] // len(labels)  # outputs per class
    tie_first = net.get("tie_rule", "none") == "first_spike"
    answers = [winner(c, k, f if tie_first else None) for c, f in zip(counts, first)]
    results.update({
        "targets": order, "answers": answers, "output_spike_counts": counts.tolist(),
        "accuracy": None if results.get("virtual_board") else float(np.mean(np.array(answers) == np.array(order))),
    })
    Path("results.json").write_text(json.dumps(results, indent=2) + "\n")
    acc = results["accuracy"]
    print(f"{simulator}: " + ("mapped on a virtual board (no spikes)" if acc is None
                              else f"accuracy {acc:.3f} over {len(order)} presentations") + " -> results.json")


if __name__ == "__main__":
    main(sys.argv)
