"""The trained network as a NIR graph (Neuromorphic Intermediate Representation), and back.

NIR (``pip install nir``) is the interchange format that Lava (Loihi 2), SpiNNaker2's
``py-spinnaker2``, Rockpool (Xylo), Norse, snnTorch, Sinabs and others read. The graph:

``input`` -> ``drive`` (Affine) -> ``input_layer`` (LIF) -> ``plastic`` (Affine, the learned
weights) -> ``output_layer`` (CubaLIF) -> ``output``, and ``output_layer`` -> ``lateral``
(Affine, the inhibition) -> ``output_layer``.

Units (NIR's primitives table): time in ms, voltage in mV, current in nA, resistance in MOhm
(mV = MOhm x nA). The graph input is the image, its pixels in row order, followed by one
"window" channel that is 1 while the character is shown; everything is 0 during the rest
gap. ``drive`` turns that into the input neurons' currents, already multiplied by their
membrane resistance (so ``input_layer`` has r = 1: several importers ignore r on LIF); an
"off" channel of the on/off encoding is ``window - pixel``, so the drive is linear and
silent in the rest gap. Voltages are relative to rest (v_leak = 0), which is exact and what
importers that assume a zero leak or reset potential need.

What NIR cannot say, and how it is written (every item also in the graph's metadata,
``approximations``): no refractory period; one synaptic time constant per node (a
different inhibitory one is folded into the inhibitory weights, charge preserved); spikes
on ``v > threshold`` (PyNN: ``>=``); the 1 ms delays as ``Delay`` nodes only with
``delays="nodes"`` (only Spyx imports them), otherwise left to the importer's one-step
latency on the recurrent edge (the feed-forward delay only shifts every output spike by the
same time, so no answer depends on it).

:func:`read_graph` reads a graph this project wrote back into trained weights and
parameters: the weights, time constants, thresholds, gains and inhibition from the nodes,
the labels, encoding, refractory period and presentation timing from the metadata.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from snn_rl.errors import InputError
from snn_rl.experiments.storage import TrainedWeights, check_trained
from snn_rl.model.dataset import Dataset
from snn_rl.model.params import INPUT_ENCODINGS, Params

#: the extra that installs the nir package
NIR_EXTRA = "nir"
#: how the delays are written: "step" (no Delay node, the importer's one-step latency on the
#: recurrent edge) or "nodes" (NIR Delay nodes)
DELAY_MODES = ("step", "nodes")
#: node types a graph of ours holds without Delay nodes: each is imported by Lava (Loihi 2),
#: py-spinnaker2, Rockpool (Xylo) and Norse (NIR's table of supported primitives)
PORTABLE_NODE_TYPES = ("Input", "Output", "Affine", "LIF", "CubaLIF")
#: the graph's format, in its metadata: a later change of layout raises this
FORMAT = "snn-rl-nir/1"
UNITS = {"time": "ms", "voltage": "mV (relative to v_rest)", "current": "nA", "resistance": "MOhm",
         "plastic_and_lateral_weights": "nA (the jump of the synaptic current per spike, as in PyNN)",
         "drive_weights": "mV (input current x membrane resistance)"}


def require_nir():
    """The nir package, or :class:`InputError` saying how to install it."""
    try:
        import nir
    except ImportError:
        raise InputError('NIR export needs the nir package: pip install "snn-rl[nir]" (./run.sh installs it)') from None
    return nir


def input_channels(n_pixels: int, encoding: str) -> np.ndarray:
    """Which graph inputs drive each input neuron: a row per input neuron over the pixels and
    the window channel (an "off" neuron is driven by window - pixel)."""
    on = np.hstack([np.eye(n_pixels), np.zeros((n_pixels, 1))])
    off = np.hstack([-np.eye(n_pixels), np.ones((n_pixels, 1))])
    return {"ones": on, "zeros": off, "on_off": np.vstack([on, off])}[encoding]


def approximations(params: Params, delays: str) -> list[str]:
    """What the graph cannot say exactly about this network, one sentence each."""
    n, cell = params.network, params.network.cell
    notes = [
        f"no refractory period in NIR's LIF and CubaLIF (PyNN: tau_refrac {cell.tau_refrac:g} ms): a neuron can "
        "fire again as soon as its membrane climbs back to threshold",
        "spikes on v > v_threshold (PyNN's IF_curr_exp: v >= v_thresh)",
        "PyNN integrates the cells exactly on its time grid; each importer discretises the equations its own way "
        "(forward Euler in Norse and snnTorch, fixed-point on Loihi 2, SpiNNaker2 and Xylo)",
    ]
    if cell.tau_syn_I != cell.tau_syn_E:
        notes.append(f"one synaptic time constant per CubaLIF node: tau_syn_E {cell.tau_syn_E:g} ms for both; the "
                     f"inhibitory weights are scaled by tau_syn_I / tau_syn_E = {cell.tau_syn_I / cell.tau_syn_E:g} "
                     "so that each inhibitory spike carries the same charge")
    if delays == "step":
        notes.append(f"no Delay nodes: the inhibition's {n.inhibition_delay_ms:g} ms is the importer's one-step "
                     f"latency on the recurrent edge (exact at a {n.inhibition_delay_ms:g} ms step); the "
                     f"{n.delay_ms:g} ms input->output delay is dropped, which shifts every output spike by the "
                     "same time and changes no answer")
    return notes


def to_graph(trained: TrainedWeights, params: Params, dataset: Dataset, *, delays: str = "step",
             source: str = ""):
    """The trained network as a :class:`nir.NIRGraph` (see the module's docstring)."""
    nir = require_nir()
    if delays not in DELAY_MODES:
        raise InputError(f"delays must be one of {', '.join(DELAY_MODES)}, got {delays!r}")
    nodes = _nodes(nir, trained, params)
    edges = [("input", "drive"), ("drive", "input_layer"), ("input_layer", "plastic"), ("plastic", "output_layer"),
             ("output_layer", "output"), ("output_layer", "lateral"), ("lateral", "output_layer")]
    if delays == "nodes":
        n = params.network
        nodes["input_delay"] = nir.Delay(delay=np.full(trained.weights.shape[0], n.delay_ms))
        nodes["inhibition_delay"] = nir.Delay(delay=np.full(trained.weights.shape[1], n.inhibition_delay_ms))
        edges = [e for e in edges if e not in (("input_layer", "plastic"), ("output_layer", "lateral"))]
        edges += [("input_layer", "input_delay"), ("input_delay", "plastic"),
                  ("output_layer", "inhibition_delay"), ("inhibition_delay", "lateral")]
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=_metadata(trained, params, dataset, delays, source))


def _nodes(nir, trained: TrainedWeights, params: Params) -> dict:
    n, cell = params.network, params.network.cell
    n_pixels = int(np.prod(trained.image_shape))
    n_in, n_out = trained.weights.shape
    r = cell.tau_m / cell.cm  # MOhm: tau_m dv/dt = (v_rest - v) + (tau_m / cm) I
    current = np.asarray(trained.input_gains, dtype=float) * n.input_current_nA  # nA per input neuron
    channels = input_channels(n_pixels, trained.input_encoding)
    if channels.shape[0] != n_in:
        raise InputError(f"{n_in} input neurons do not fit {n_pixels} pixels with encoding {trained.input_encoding}")
    v_th, v_reset = cell.v_thresh - cell.v_rest, cell.v_reset - cell.v_rest
    inhibition = cell.tau_syn_I / cell.tau_syn_E * n.inhibition_nA
    full = np.ones
    return {
        "input": nir.Input({"input": np.array([n_pixels + 1])}),
        # drive: [pixels..., window] -> one current per input neuron (times r, in mV)
        "drive": nir.Affine(weight=channels * (current * r)[:, None], bias=np.zeros(n_in)),
        "input_layer": nir.LIF(tau=full(n_in) * cell.tau_m, r=full(n_in), v_leak=np.zeros(n_in),
                               v_threshold=full(n_in) * v_th, v_reset=full(n_in) * v_reset),
        "plastic": nir.Affine(weight=np.asarray(trained.weights, dtype=float).T.copy(), bias=np.zeros(n_out)),
        # w_in = tau_syn: a spike (a Dirac of unit area) through a weight w makes the synaptic
        # current jump by w nA, as in PyNN
        "output_layer": nir.CubaLIF(tau_syn=full(n_out) * cell.tau_syn_E, tau_mem=full(n_out) * cell.tau_m,
                                    r=full(n_out) * r, v_leak=np.zeros(n_out), v_threshold=full(n_out) * v_th,
                                    v_reset=full(n_out) * v_reset, w_in=full(n_out) * cell.tau_syn_E),
        "lateral": nir.Affine(weight=-inhibition * (1.0 - np.eye(n_out)), bias=np.zeros(n_out)),
        "output": nir.Output({"output": np.array([n_out])}),
    }


def _metadata(trained: TrainedWeights, params: Params, dataset: Dataset, delays: str, source: str) -> dict:
    n = params.network
    rows, cols = trained.image_shape
    return {
        "format": FORMAT,
        "units": UNITS,
        "approximations": approximations(params, delays),
        "delays": delays,
        "input_channels": f"{rows * cols} pixels of a {rows} x {cols} image in row order, then 1 window channel: "
                          "1 while the character is shown, 0 in the rest gap",
        "output_channels": f"{trained.outputs_per_class} output neuron(s) per class, in groups in the order of "
                           "labels; the answer is the class whose group fires strictly the most spikes over window "
                           "and rest gap",
        "outputs_per_class": trained.outputs_per_class,
        "presentation": {"window_ms": n.window_ms, "rest_ms": n.rest_ms, "timestep_ms": n.timestep_ms},
        "labels": list(trained.labels),
        "image_shape": list(trained.image_shape),
        "input_encoding": trained.input_encoding,
        "input_gains": np.asarray(trained.input_gains, dtype=float),
        "v_rest_mV": n.cell.v_rest,
        **dataset.record(),
        "source": source,
        "params_json": json.dumps(params.to_dict()),
    }


def input_sequence(dataset: Dataset, timestep_ms: float, window_ms: float, rest_ms: float) -> np.ndarray:
    """The graph's input for every character: shape (steps, characters, pixels + 1)."""
    images = np.asarray(dataset.images, dtype=float).reshape(len(dataset), -1)
    frame = np.hstack([images, np.ones((len(dataset), 1))])
    n_window, n_rest = round(window_ms / timestep_ms), round(rest_ms / timestep_ms)
    return np.concatenate([np.repeat(frame[None], n_window, axis=0),
                           np.zeros((n_rest, *frame.shape))], axis=0)


@dataclass(frozen=True)
class ImportedNetwork:
    """A graph read back: what a test needs, and what the graph says about itself."""

    trained: TrainedWeights
    params: Params
    metadata: dict
    graph: object  #: the nir.NIRGraph itself


def _close(a, b) -> bool:
    return np.allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float), rtol=1e-12, atol=0.0)


def _uniform(values, name: str, where: str) -> float:
    values = np.atleast_1d(np.asarray(values, dtype=float))
    if values.size == 0 or not np.all(np.isfinite(values)) or not np.all(values == values.flat[0]):
        raise InputError(f"{where}: {name} differs between neurons; the network of this project has one value per layer")
    return float(values.flat[0])


def _prefer(node_value: float, recorded: float) -> float:
    """The recorded value where the node's equals it up to rounding (keeps a round trip
    exact), otherwise the node's (a graph edited elsewhere)."""
    return recorded if _close(node_value, recorded) else node_value


def plain(value):
    """Metadata as read from HDF5 (bytes, numpy scalars and arrays) as plain Python values."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.ndarray):
        return [plain(v) for v in value.tolist()] if value.dtype.kind in "OSU" else value
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def read_graph(graph, where: str = "graph") -> ImportedNetwork:
    """Trained weights and parameters from a graph written by :func:`to_graph`."""
    meta, recorded = _read_metadata(graph, where)
    _check_structure(graph, where)
    nodes = graph.nodes
    labels, image_shape, encoding = tuple(meta["labels"]), tuple(meta["image_shape"]), meta["input_encoding"]
    weights = np.asarray(nodes["plastic"].weight, dtype=float).T.copy()
    if not labels or weights.shape[1] % len(labels) or weights.shape[1] == 0:
        raise InputError(f"{where}: {weights.shape[1]} output neurons do not split into one equal group "
                         f"per label ({len(labels)} labels)")
    network, scale = _network_from_nodes(nodes, recorded, where)
    network["input_encoding"] = encoding
    gains = _gains_from_drive(nodes, recorded, meta, network["cell"]["tau_m"] / network["cell"]["cm"], where)
    try:
        params = recorded.replace(network=network)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{where}: the graph's parameters are not a network this project can run ({exc})") from None
    trained = check_trained({"weights_nA": weights * scale, "input_gains": gains,
                             "labels": np.array(labels, dtype=str), "image_shape": np.array(image_shape),
                             "input_encoding": np.array(encoding)}, where)
    return ImportedNetwork(trained=trained, params=params, metadata=meta, graph=graph)


def _read_metadata(graph, where: str) -> tuple[dict, Params]:
    """The graph's metadata (checked to be ours, its node types too) and the recorded parameters."""
    nir = require_nir()
    meta = plain(dict(graph.metadata or {}))
    if meta.get("format") != FORMAT:
        raise InputError(f"{where} is not a network exported by snn-rl (metadata format {meta.get('format')!r}, "
                         f"expected {FORMAT!r}); import reads graphs written by 'snn-rl export --format nir'")
    kinds = {"drive": nir.Affine, "input_layer": nir.LIF, "plastic": nir.Affine, "output_layer": nir.CubaLIF,
             "lateral": nir.Affine}
    for name, kind in kinds.items():
        if not isinstance(graph.nodes.get(name), kind):
            raise InputError(f"{where}: node {name!r} missing or not a {kind.__name__}")
    try:
        recorded = Params.from_dict(json.loads(meta["params_json"]))
        meta["labels"] = [str(x) for x in meta["labels"]]
        meta["image_shape"] = [int(x) for x in meta["image_shape"]]
        meta["input_encoding"] = str(meta["input_encoding"])
        meta["input_gains"] = np.asarray(meta["input_gains"], dtype=float)
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"{where}: metadata incomplete ({exc})") from None
    if meta["input_encoding"] not in INPUT_ENCODINGS:
        raise InputError(f"{where}: input_encoding {meta['input_encoding']!r} is not one of {', '.join(INPUT_ENCODINGS)}")
    return meta, recorded


def _edges(delays: bool) -> set[tuple[str, str]]:
    edges = {("input", "drive"), ("drive", "input_layer"), ("plastic", "output_layer"), ("output_layer", "output"),
             ("lateral", "output_layer")}
    if delays:
        return edges | {("input_layer", "input_delay"), ("input_delay", "plastic"),
                        ("output_layer", "inhibition_delay"), ("inhibition_delay", "lateral")}
    return edges | {("input_layer", "plastic"), ("output_layer", "lateral")}


def _check_structure(graph, where: str) -> None:
    """The graph is wired as :func:`to_graph` wires it, with matching shapes, no biases, zero
    leak potentials and one threshold and reset for both layers (the project's one cell type):
    anything else is refused rather than read as a different network."""
    nodes = graph.nodes
    delays = "input_delay" in nodes or "inhibition_delay" in nodes
    if {tuple(e) for e in graph.edges} != _edges(delays):
        raise InputError(f"{where}: its edges are not those of the network 'snn-rl export' writes")
    n_out, n_in = np.shape(nodes["plastic"].weight)
    shapes = {"drive": (n_in, None), "lateral": (n_out, n_out)}
    for name, (rows, cols) in shapes.items():
        shape = np.shape(nodes[name].weight)
        if len(shape) != 2 or shape[0] != rows or (cols is not None and shape[1] != cols):
            raise InputError(f"{where}: node {name!r} has weights of shape {shape}, which do not fit "
                             f"{n_in} inputs and {n_out} outputs")
    for name in ("drive", "plastic", "lateral"):
        bias = nodes[name].bias
        if bias is not None and np.any(np.asarray(bias, dtype=float) != 0):
            raise InputError(f"{where}: node {name!r} has a bias; the network has none")
    layers = {"input_layer": (n_in, ("tau", "r", "v_leak", "v_threshold", "v_reset")),
              "output_layer": (n_out, ("tau_syn", "tau_mem", "r", "v_leak", "v_threshold", "v_reset", "w_in"))}
    for name, (size, fields) in layers.items():
        for field in fields:
            if np.size(getattr(nodes[name], field)) not in (1, size):
                raise InputError(f"{where}: {name}.{field} has {np.size(getattr(nodes[name], field))} values "
                                 f"for {size} neurons")
        if np.any(np.asarray(nodes[name].v_leak, dtype=float) != 0):
            raise InputError(f"{where}: {name}.v_leak must be 0 (voltages are relative to rest)")
    for field in ("v_threshold", "v_reset"):
        a = _uniform(getattr(nodes["input_layer"], field), field, where)
        b = _uniform(getattr(nodes["output_layer"], field), field, where)
        if a != b:
            raise InputError(f"{where}: input and output layers have different {field} ({a:g}, {b:g} mV); "
                             "the network has one cell type")


def _network_from_nodes(nodes, recorded: Params, where: str) -> tuple[dict, float]:
    """The network section from the nodes' values, and the factor on the plastic weights
    (1 unless ``w_in`` was edited away from ``tau_syn``)."""
    net, cell = recorded.network, recorded.network.cell
    inp, out = nodes["input_layer"], nodes["output_layer"]
    tau_m = _prefer(_uniform(out.tau_mem, "tau_mem", where), cell.tau_m)
    if not _close(_uniform(inp.tau, "tau", where), tau_m):
        raise InputError(f"{where}: input and output layers have different membrane time constants")
    cm = _prefer(tau_m / _uniform(out.r, "r", where), cell.cm)
    tau_syn = _prefer(_uniform(out.tau_syn, "tau_syn", where), cell.tau_syn_E)
    w_in = _uniform(out.w_in, "w_in", where)
    # w_in = tau_syn makes a spike jump the current by the weight; another w_in scales every weight
    scale = 1.0 if _close(w_in, tau_syn) else w_in / tau_syn
    lateral = np.asarray(nodes["lateral"].weight, dtype=float)
    n_out = lateral.shape[0]
    off_diagonal = lateral[~np.eye(n_out, dtype=bool)]
    if np.any(np.diag(lateral) != 0) or (off_diagonal.size and not np.all(off_diagonal == off_diagonal[0])):
        raise InputError(f"{where}: the lateral inhibition is not uniform between outputs")
    tau_syn_i = cell.tau_syn_I if _close(tau_syn, cell.tau_syn_E) else tau_syn
    inhibition = -float(off_diagonal[0]) * scale * tau_syn / tau_syn_i if off_diagonal.size else 0.0
    delay, inhibition_delay = net.delay_ms, net.inhibition_delay_ms
    if "input_delay" in nodes:
        delay = _prefer(_uniform(nodes["input_delay"].delay, "delay", where), delay)
    if "inhibition_delay" in nodes:
        inhibition_delay = _prefer(_uniform(nodes["inhibition_delay"].delay, "delay", where), inhibition_delay)
    return {"delay_ms": delay, "inhibition_delay_ms": inhibition_delay,
            "inhibition_nA": _prefer(inhibition, net.inhibition_nA),
            "cell": {**cell.pynn(), "tau_m": tau_m, "cm": cm, "tau_syn_E": tau_syn, "tau_syn_I": tau_syn_i,
                     "v_thresh": _prefer(_uniform(out.v_threshold, "v_threshold", where) + cell.v_rest, cell.v_thresh),
                     "v_reset": _prefer(_uniform(out.v_reset, "v_reset", where) + cell.v_rest, cell.v_reset)}}, scale


def _gains_from_drive(nodes, recorded: Params, meta: dict, r: float, where: str) -> np.ndarray:
    """Each input neuron's current gain, from the drive node (checked to be the encoding's)."""
    drive = np.asarray(nodes["drive"].weight, dtype=float)
    n_pixels = int(np.prod(meta["image_shape"]))
    channels = input_channels(n_pixels, meta["input_encoding"])
    if drive.shape != channels.shape:
        raise InputError(f"{where}: the drive node maps {drive.shape[1]} inputs to {drive.shape[0]} neurons; "
                         f"{n_pixels} pixels with encoding {meta['input_encoding']} need {channels.shape[1]} to "
                         f"{channels.shape[0]}")
    peak = np.abs(drive).max(axis=1)
    if not np.allclose(drive, channels * peak[:, None], rtol=1e-12, atol=0.0):
        raise InputError(f"{where}: the drive node does not drive each input neuron from its own pixel "
                         "(or window - pixel); it is not the network this project exports")
    current = recorded.network.input_current_nA
    recorded_gains = meta["input_gains"]
    if not current:
        return recorded_gains
    # the input layer feeds r_in x drive into its membrane, which PyNN writes as R x current
    gains = peak * _uniform(nodes["input_layer"].r, "r", where) / (r * current)
    return recorded_gains if gains.shape == recorded_gains.shape and _close(gains, recorded_gains) else gains


def read_file(path: Path | str) -> ImportedNetwork:
    """:func:`read_graph` of a ``.nir`` file, with one clear error for a file that is not one."""
    nir = require_nir()
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path} is not a file; pass a .nir file written by 'snn-rl export --format nir'")
    try:
        graph = nir.read(str(path))
    except Exception as exc:  # h5py and nir raise many kinds for a damaged or foreign file
        raise InputError(f"{path} is not a readable NIR file ({type(exc).__name__}: {str(exc)[:200]})") from None
    return read_graph(graph, str(path))
