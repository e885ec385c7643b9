"""All model parameters in one place, with their units.

Three records: the network (cells, input drive, connectivity), the plasticity rule and the
training schedule. Each is a frozen dataclass so a parameter set can be hashed, written to
JSON with the results it produced, and read back unchanged.

The defaults are the project's portable rule (docs/learning.md): it learns A-D, the alphabet
and a user's own small character sets, within SpiNNaker's constraints (every delay a whole
1 ms step, weights that survive its 16-bit storage), and trains until every answer has a
decision margin of 2 spikes, which keeps the answers on NEST, NEURON and SpiNNaker's
arithmetic. The seed's rule and the other rules are named parameter sets
(``parameter_sets/*.yaml``, every value stated).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from snn_rl.model.decision import TIE_RULES
from snn_rl.model.text_input import MAX_PARAMS_BYTES, clip, excerpt, load_yaml

INPUT_ENCODINGS = ("ones", "zeros", "on_off")
#: how the initial weights are made (PlasticityParams.init_weights)
INIT_WEIGHTS = ("drawn", "input_mean")
#: when training runs its evaluation pass (TrainingParams.evaluate)
EVALUATE_CHOICES = ("every", "clean")

#: the smallest time step and the grid every time is on: NEST's default tic, ms
TIME_GRID_MS = 0.001

#: the allowed range of every number, by key: ``[`` / ``]`` include a bound, ``(`` / ``)``
#: exclude it. Every value must also be finite. Times are in ms, currents in nA, voltages in
#: mV, capacitance in nF. The upper bounds keep one run within hours, not years.
LIMITS = {
    "network.timestep_ms": "[0.001, 1]",
    "network.window_ms": "(0, 10000]",
    "network.rest_ms": "[0, 10000]",
    "network.input_current_nA": "[0, 100]",
    "network.input_jitter": "[0, 1)",
    "network.w_init_min_nA": "[0, 100]",
    "network.w_init_max_nA": "[0, 100]",
    "network.inhibition_nA": "[0, 1000]",
    "network.delay_ms": "(0, 100]",
    "network.inhibition_delay_ms": "(0, 100]",
    "network.outputs_per_class": "[1, 1000]",
    "network.cell.cm": "(0, 1000]",
    "network.cell.tau_m": "(0, 10000]",
    "network.cell.v_rest": "[-200, 100]",
    "network.cell.v_reset": "[-200, 100]",
    "network.cell.v_thresh": "[-200, 100]",
    "network.cell.tau_refrac": "[0, 1000]",
    "network.cell.tau_syn_E": "(0, 10000]",
    "network.cell.tau_syn_I": "(0, 10000]",
    "plasticity.tau_plus_ms": "(0, 10000]",
    "plasticity.tau_minus_ms": "(0, 10000]",
    "plasticity.a_plus": "[0, 1000]",
    "plasticity.a_minus": "[0, 1000]",
    "plasticity.learning_rate_nA": "[0, 100]",
    "plasticity.baseline_rate": "[0, 1]",
    "plasticity.baseline_min": "[-1000, 1000]",
    "plasticity.reward_correct": "[-1000, 1000]",
    "plasticity.reward_wrong": "[-1000, 1000]",
    "plasticity.target_spikes": "[0, 1000]",
    "plasticity.homeostasis_nA": "[0, 100]",
    "plasticity.loser_depression_nA": "[0, 100]",
    "plasticity.exploration_nA": "[0, 100]",
    "plasticity.weight_sum_nA": "[0, 10000]",
    "plasticity.explore_prob": "[0, 1]",
    "plasticity.explore_bias_nA": "[0, 100]",
    "plasticity.explore_floor": "(0, 1]",
    "plasticity.success_rate": "(0, 1]",
    "plasticity.unsupervised_rate_nA": "[0, 100]",
    "plasticity.w_min_nA": "[0, 100]",
    "plasticity.w_max_nA": "[0, 100]",
    "plasticity.weight_norm_nA": "[0, 100]",
    "plasticity.match_drive_nA": "[0, 100]",
    "plasticity.conscience": "[0, 1000]",
    "plasticity.pull_floor": "[0, 1]",
    "plasticity.push_rate": "[0, 1]",
    "plasticity.rate_decay": "(0, 1]",
    "plasticity.suppress_nA": "[0, 100]",
    "plasticity.rival_push": "[0, 1]",
    "plasticity.rival_window": "[0, 1]",
    "training.max_epochs": "[1, 100000]",
    "training.min_winner_spikes": "[0, 1000]",
    "training.max_winner_spikes": "[0, 1000]",
    "training.max_other_spikes": "[0, 1000]",
    "training.min_margin": "[1, 1000]",
    "training.noise_flips": "[0, 10000]",
}


def _in_range(value: float, spec: str) -> bool:
    lo, hi = (float(x) for x in spec[1:-1].split(","))
    return (lo <= value if spec[0] == "[" else lo < value) and (value <= hi if spec[-1] == "]" else value < hi)


def _on_grid(value: float, step: float) -> bool:
    n = round(value / step)
    return abs(value - n * step) <= 1e-9 * max(1.0, abs(value))


@dataclass(frozen=True)
class CellParams:
    """Parameters of PyNN's standard ``IF_curr_exp`` cell (PyNN units)."""

    cm: float = 1.0  #: membrane capacitance, nF
    tau_m: float = 20.0  #: membrane time constant, ms
    v_rest: float = -65.0  #: resting potential, mV
    v_reset: float = -65.0  #: reset potential after a spike, mV
    v_thresh: float = -50.0  #: spike threshold, mV
    tau_refrac: float = 2.0  #: refractory period, ms
    tau_syn_E: float = 5.0  #: excitatory synaptic current decay, ms
    tau_syn_I: float = 5.0  #: inhibitory synaptic current decay, ms

    def pynn(self) -> dict[str, float]:
        """Keyword arguments for ``sim.IF_curr_exp``."""
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class NetworkParams:
    """The network: input drive, cells and connectivity."""

    timestep_ms: float = 0.1  #: integration time step, ms
    window_ms: float = 100.0  #: presentation window: input current on, ms
    #: rest gap after each window, input current off (ms). Each presentation starts from an
    #: exact state reset, so the gap must outlast the longest delay and the refractory period,
    #: and should outlast the last input's PSP peak (about 10 ms here) so that no spike the
    #: window causes is cut off; 15 ms does (the original work's 50 ms: parameter set seed)
    rest_ms: float = 15.0
    input_current_nA: float = 1.0  #: current into an input neuron whose pixel is on, nA
    input_jitter: float = 0.05  #: fixed per-neuron relative spread of that current (uniform +-)
    input_encoding: str = "on_off"  #: which pixels drive an input: "ones", "zeros" or "on_off" (both channels)
    w_init_min_nA: float = 0.2  #: initial input->output weights drawn uniformly from ...
    w_init_max_nA: float = 0.6  #: ... this range, nA
    inhibition_nA: float = 10.0  #: lateral inhibition between outputs (magnitude), nA
    delay_ms: float = 1.0  #: delay of the input -> output connections, ms
    inhibition_delay_ms: float = 1.0  #: delay of the lateral inhibition, ms (SpiNNaker: a whole number of 1 ms steps)
    #: output neurons per class (K): the class whose group fires the most spikes answers
    #: (model/decision.py); 1 is one output per class. Lateral inhibition spans all outputs
    outputs_per_class: int = 1
    #: a tie between groups: "none" (no answer) or "first_spike" (the tied group that fired first)
    tie_rule: str = "none"
    cell: CellParams = field(default_factory=CellParams)


@dataclass(frozen=True)
class PlasticityParams:
    """The host-side learning rule: ``"reward"`` (:mod:`snn_rl.model.rules.reward`) or the
    ``"unsupervised"`` baseline (:mod:`snn_rl.model.rules.unsupervised`)."""

    rule: str = "reward"  #: which learning rule trains the network (:data:`snn_rl.model.rules.REGISTRY`)
    tau_plus_ms: float = 20.0  #: decay of the pre-before-post STDP window, ms
    tau_minus_ms: float = 20.0  #: decay of the post-before-pre STDP window, ms
    a_plus: float = 1.0  #: amplitude of pre-before-post eligibility (per spike pair)
    a_minus: float = 1.0  #: amplitude of post-before-pre eligibility (per spike pair)
    learning_rate_nA: float = 0.2  #: weight change per unit of reward error x eligibility, nA
    baseline_rate: float = 0.2  #: step of the per-class expected-reward estimate
    expectation: str = "output"  #: reward expected per presented "class" (baseline) or per answering "output"
    baseline_min: float = -0.5  #: floor of the baseline, so punishment never stops learning
    reward_correct: float = 1.0  #: reward when the class's neuron wins
    reward_wrong: float = 0.0  #: reward when another neuron wins or all are silent
    target_spikes: int = 3  #: homeostatic target spike count of a rewarded winner
    homeostasis_nA: float = 0.05  #: homeostatic step per missing/extra winner spike, nA
    loser_depression_nA: float = 0.05  #: depression per spike of a co-firing non-winner, nA
    exploration_nA: float = 0.0  #: largest random potentiation of non-winners on a wrong answer, nA
    weight_sum_nA: float = 5.0  #: if > 0, every output's input weights are scaled to this sum, nA
    credit: str = "answer"  #: reward term on "all" outputs' eligibility or only the "answer"ing ones
    explore_prob: float = 1.0  #: probability that a presentation ("any") or retry ("wrong") biases one output
    explore_on: str = "wrong"  #: bias in "any" training presentation, or show a "wrong"ly answered one again
    explore_bias_nA: float = 0.5  #: extra current into the explored output during the window, nA
    explore_floor: float = 0.05  #: lowest relative chance of an output that always earns reward
    success_rate: float = 0.2  #: step of each output's running "rewarded when it won" mean
    unsupervised_rate_nA: float = 0.05  #: STDP step of the unsupervised rule per unit eligibility, nA
    w_min_nA: float = 0.0  #: lower weight bound, nA
    w_max_nA: float = 3.0  #: upper weight bound, nA
    #: with > 0, every output's weights scaled to this Euclidean norm (nA) instead of weight_sum_nA
    weight_norm_nA: float = 0.0
    #: > 0: the Euclidean norm is set from the training images instead, when training starts:
    #: match_drive_nA / sqrt(their mean number of active inputs), so that an image that
    #: matches an output's weights drives it with this current whatever the image size
    #: (8 x 8 digits, on_off: 64 active inputs, 5.6 nA gives the norm 0.7 nA; 5 x 3 letters:
    #: 15, 1.45 nA); :func:`snn_rl.model.rules.stdp.norm_for_data`
    match_drive_nA: float = 0.0
    #: the initial weights: "drawn" (uniform in network.w_init_*), or "input_mean": the mean input
    #: pattern of the training images (no labels) plus the drawn weights, every output alike but
    #: for the draw
    init_weights: str = "drawn"
    #: rule "groups": a rewarded group's credit goes to its output with the largest input drive
    #: minus conscience x (its share of the group's credit - 1/K): no output hogs the class
    conscience: float = 4.0
    pull_floor: float = 0.02  #: rule "groups": smallest pull of a credited output towards the image
    push_rate: float = 0.1  #: rule "groups": push of an output that answered wrong away from the image
    rate_decay: float = 0.6  #: rule "groups": pull floor and push shrink by this factor every epoch
    #: rule "groups": current into every output of a group that answered wrong, while the image
    #: is shown again (the network's next choice answers), nA
    suppress_nA: float = 3.0
    #: rule "groups": after a right answer, the output of another group with the largest drive
    #: is pushed this far (of its norm) from the image when its drive is within rival_window
    #: (a fraction) of the credited output's: right answers keep a margin (LVQ 2.1's window)
    rival_push: float = 0.0
    rival_window: float = 0.1


@dataclass(frozen=True)
class TrainingParams:
    """The training schedule."""

    max_epochs: int = 200  #: upper limit of epochs (one epoch = every training image once)
    stop_at_criterion: bool = True  #: stop at the first epoch that meets the criterion
    min_winner_spikes: int = 2  #: criterion: the right neuron fires at least this ...
    max_winner_spikes: int = 4  #: ... and at most this many spikes
    max_other_spikes: int = 1  #: criterion: every other output fires at most this many
    #: criterion: in every presentation the right neuron fires at least this many spikes more
    #: than any other output (its decision margin; 1 = merely the strict winner; 2 survives
    #: SpiNNaker's 1 ms step and the other simulator: docs/learning.md)
    min_margin: int = 2
    noise_flips: int = 0  #: pixels inverted at random in every training presentation (0: none)
    #: when the evaluation pass runs: after "every" epoch, or only after a training pass whose
    #: every answer already met the criterion ("clean"; the others skip it, so the criterion is
    #: still checked with plasticity off, at about half the simulated time of a learning epoch)
    evaluate: str = "clean"


@dataclass(frozen=True)
class Params:
    """The complete parameter set of one run."""

    network: NetworkParams = field(default_factory=NetworkParams)
    plasticity: PlasticityParams = field(default_factory=PlasticityParams)
    training: TrainingParams = field(default_factory=TrainingParams)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Params":
        """Build from a (possibly partial) nested dict; unknown keys are an error."""
        data = data or {}
        _check_keys(cls, data, "")
        net = dict(data.get("network", {}))
        cell = CellParams(**net.pop("cell", {}))
        params = cls(
            network=NetworkParams(cell=cell, **net),
            plasticity=PlasticityParams(**data.get("plasticity", {})),
            training=TrainingParams(**data.get("training", {})),
        )
        params.validate()
        return params

    def replace(self, **sections: dict[str, Any]) -> "Params":
        """A copy with some fields of some sections changed: ``replace(training={...})``."""
        return self.merged(sections)

    def merged(self, overrides: dict[str, Any]) -> "Params":
        """A copy with the (partial, nested) ``overrides`` laid over it, checked like
        :meth:`from_dict`: ``merged({"network": {"cell": {"tau_m": 10.0}}})``."""
        def merge(base: dict, over: dict) -> dict:
            return {**base, **{k: merge(base[k], v) if isinstance(v, dict) and isinstance(base.get(k), dict) else v
                               for k, v in over.items()}}

        _check_keys(Params, overrides or {}, "")
        return Params.from_dict(merge(self.to_dict(), overrides or {}))

    def validate(self) -> None:
        """Every value finite and in range (:data:`LIMITS`), every time on the time grid,
        the choices known and the pairs consistent; ``ValueError`` naming the first key that
        is not, with what is allowed."""
        flat = _flatten(self.to_dict())
        for key, spec in LIMITS.items():
            try:
                value = float(flat[key])
            except OverflowError:
                raise ValueError(f"{key} must be in {spec}, got a number too large to hold") from None
            if not math.isfinite(value):
                raise ValueError(f"{key} must be a finite number in {spec}, got {value}")
            if not _in_range(value, spec):
                raise ValueError(f"{key} must be in {spec}, got {value:g}")
        n, p, t = self.network, self.plasticity, self.training
        if n.input_encoding not in INPUT_ENCODINGS:
            raise ValueError(
                f"network.input_encoding must be one of {', '.join(INPUT_ENCODINGS)}, "
                f"got {excerpt(n.input_encoding, 40)}"
            )
        if n.tie_rule not in TIE_RULES:
            raise ValueError(f"network.tie_rule must be one of {', '.join(TIE_RULES)}, got {excerpt(n.tie_rule, 40)}")
        if not _on_grid(n.timestep_ms, TIME_GRID_MS):
            raise ValueError(f"network.timestep_ms must be a multiple of {TIME_GRID_MS} ms (NEST's time grid), "
                             f"got {n.timestep_ms:g}")
        for name in ("window_ms", "rest_ms", "delay_ms", "inhibition_delay_ms"):
            value = getattr(n, name)
            if not _on_grid(value, n.timestep_ms):
                raise ValueError(f"network.{name} must be a whole number of time steps ({n.timestep_ms:g} ms), "
                                 f"got {value:g}")
            if name.endswith("delay_ms") and value < n.timestep_ms - 1e-12:
                raise ValueError(f"network.{name} must be at least one time step ({n.timestep_ms:g} ms), got {value:g}")
        # a spike still in flight, or a refractory period, would reach into the next presentation
        floor = max(n.delay_ms, n.inhibition_delay_ms, n.cell.tau_refrac)
        if n.rest_ms < floor:
            raise ValueError(
                f"network.rest_ms must be at least {floor:g} ms (the longest delay or refractory period), "
                f"got {n.rest_ms:g}: raise it so that no spike reaches into the next presentation"
            )
        if not n.cell.v_reset < n.cell.v_thresh:
            raise ValueError(f"network.cell.v_reset ({n.cell.v_reset:g} mV) must be below network.cell.v_thresh "
                             f"({n.cell.v_thresh:g} mV)")
        if not n.w_init_min_nA <= n.w_init_max_nA:
            raise ValueError("network.w_init_min_nA must not exceed network.w_init_max_nA")
        self._validate_rule()
        if t.evaluate not in EVALUATE_CHOICES:
            raise ValueError(f"training.evaluate must be one of {', '.join(EVALUATE_CHOICES)}, "
                             f"got {excerpt(t.evaluate, 40)}")
        if t.min_winner_spikes > t.max_winner_spikes:
            raise ValueError(f"training.min_winner_spikes ({t.min_winner_spikes}) must not exceed "
                             f"training.max_winner_spikes ({t.max_winner_spikes})")

    def _validate_rule(self) -> None:
        """The plasticity section's choices known, its bounds ordered, the rule fit for the network."""
        from snn_rl.model.rules import REGISTRY  # the registry imports no rule until one is used

        n, p = self.network, self.plasticity
        if p.rule not in REGISTRY:
            raise ValueError(f"plasticity.rule must be one of {', '.join(REGISTRY)}, got {excerpt(p.rule, 40)}")
        if p.explore_on not in ("any", "wrong"):
            raise ValueError(f"plasticity.explore_on must be 'any' or 'wrong', got {excerpt(p.explore_on, 40)}")
        if p.expectation not in ("class", "output"):
            raise ValueError(f"plasticity.expectation must be 'class' or 'output', got {excerpt(p.expectation, 40)}")
        if p.init_weights not in INIT_WEIGHTS:
            raise ValueError(f"plasticity.init_weights must be one of {', '.join(INIT_WEIGHTS)}, "
                             f"got {excerpt(p.init_weights, 40)}")
        if p.credit not in ("all", "answer"):
            raise ValueError(f"plasticity.credit must be 'all' or 'answer', got {excerpt(p.credit, 40)}")
        if p.rule == "unsupervised" and n.outputs_per_class != 1:
            raise ValueError("plasticity.rule unsupervised names one output per class after each evaluation; "
                             f"it needs network.outputs_per_class 1, got {n.outputs_per_class}")
        if not p.w_min_nA <= p.w_max_nA:
            raise ValueError("plasticity.w_min_nA must not exceed plasticity.w_max_nA")
        if p.match_drive_nA > 0 and (p.weight_norm_nA > 0 or p.weight_sum_nA > 0):
            raise ValueError("plasticity.match_drive_nA sets each output's weight norm from the training images: "
                             "set plasticity.weight_norm_nA and plasticity.weight_sum_nA to 0, or match_drive_nA to 0")


#: the unit of a parameter, by the end of its name (or its whole name in the cell)
_UNITS = {"_ms": "ms", "_nA": "nA", "cm": "nF", "v_rest": "mV", "v_reset": "mV", "v_thresh": "mV",
          "tau_m": "ms", "tau_refrac": "ms", "tau_syn_E": "ms", "tau_syn_I": "ms"}


def describe_parameters(params: "Params") -> list[dict[str, Any]]:
    """Every parameter as ``{"key", "value", "unit", "doc"}``: the key dotted, the unit from
    its name, the description from its ``#:`` comment in this file (the report's table)."""
    import inspect
    import re

    docs: dict[tuple[str, str], str] = {}
    for cls in (CellParams, NetworkParams, PlasticityParams, TrainingParams):
        above: list[str] = []  # a "#:" comment on the lines before a field
        for line in inspect.getsource(cls).splitlines():
            text = line.strip()
            if text.startswith("#:") or (above and text.startswith("#")):
                above.append(text.lstrip("#:").strip())
                continue
            m = re.match(r"\s+(\w+):[^#]*(?:#:\s*(.*))?$", line)
            if m and (m.group(2) or above):
                docs[cls.__name__, m.group(1)] = m.group(2) or " ".join(above)
            above = []
    owners = {"network.cell": "CellParams", "network": "NetworkParams", "plasticity": "PlasticityParams",
              "training": "TrainingParams"}
    rows = []
    for key, value in _flatten(params.to_dict()).items():
        section, _, name = key.rpartition(".")
        unit = next((u for end, u in _UNITS.items() if name == end or (end.startswith("_") and name.endswith(end))), "")
        rows.append({"key": key, "value": value, "unit": unit, "doc": docs.get((owners[section], name), "")})
    return rows


#: the choices of every string parameter (plasticity.rule: the rule registry's names)
CHOICES = {"network.input_encoding": INPUT_ENCODINGS, "network.tie_rule": TIE_RULES, "plasticity.expectation": ("class", "output"),
           "plasticity.credit": ("all", "answer"), "plasticity.explore_on": ("any", "wrong"),
           "plasticity.init_weights": INIT_WEIGHTS,
           "training.evaluate": EVALUATE_CHOICES}


def params_json_schema() -> dict[str, Any]:
    """The JSON Schema of a (partial) parameter set, generated from the records above: every
    key with its type, range (:data:`LIMITS`), choices and description; unknown keys refused.
    The pipeline validates its ``model:`` section with it; :meth:`Params.validate` adds the
    checks that relate two keys (the time grid, reset below threshold, ...)."""
    from snn_rl.model.rules import REGISTRY

    choices = {**CHOICES, "plasticity.rule": tuple(REGISTRY)}
    docs = {row["key"]: row for row in describe_parameters(Params())}

    def record(cls: type, prefix: str) -> dict[str, Any]:
        props: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            key = f"{prefix}{f.name}"
            sub = _section_types.get((cls, f.name))
            if sub is not None:
                props[f.name] = record(sub, f"{key}.")
                continue
            default = getattr(cls(), f.name)
            kind = ("boolean" if isinstance(default, bool) else "integer" if isinstance(default, int)
                    else "number" if isinstance(default, float) else "string")
            prop: dict[str, Any] = {"type": kind, "default": default,
                                    "description": docs[key]["doc"]}
            if key in LIMITS:
                spec = LIMITS[key]
                low, high = (float(x) for x in spec[1:-1].split(","))
                prop["exclusiveMinimum" if spec[0] == "(" else "minimum"] = int(low) if kind == "integer" else low
                prop["exclusiveMaximum" if spec[-1] == ")" else "maximum"] = int(high) if kind == "integer" else high
            if key in choices:
                prop["enum"] = list(choices[key])
            props[f.name] = prop
        return {"type": "object", "additionalProperties": False, "properties": props}

    schema = record(Params, "")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["description"] = "A parameter set of snn-rl (model/params.py), every key optional."
    return schema


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat = {}
    for key, value in data.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _check_keys(cls: type, data: dict[str, Any], prefix: str) -> None:
    if not isinstance(data, dict):
        raise ValueError(f"parameter section {prefix.rstrip('.') or 'root'} must be a mapping")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key, value in data.items():
        if key not in fields:
            raise ValueError(f"unknown parameter {prefix}{clip(str(key), 40)} (known: {', '.join(fields)})")
        sub = _section_types.get((cls, key))
        if sub is not None:
            _check_keys(sub, value, f"{prefix}{key}.")
        else:
            _check_type(f"{prefix}{key}", fields[key].default, value)


def _check_type(name: str, default: Any, value: Any) -> None:
    """A value of the kind the field's default has (a whole number also passes for a float)."""
    if isinstance(default, bool):
        ok, kind = isinstance(value, bool), "true or false"
    elif isinstance(default, int):
        ok, kind = isinstance(value, int) and not isinstance(value, bool), "a whole number"
    elif isinstance(default, float):
        ok, kind = isinstance(value, (int, float)) and not isinstance(value, bool), "a number"
    elif isinstance(default, str):
        ok, kind = isinstance(value, str), "a string"
    else:
        ok, kind = True, ""
    if not ok:
        raise ValueError(f"parameter {name} must be {kind}, got {excerpt(value, 60)}")


_section_types = {
    (Params, "network"): NetworkParams,
    (Params, "plasticity"): PlasticityParams,
    (Params, "training"): TrainingParams,
    (NetworkParams, "cell"): CellParams,
}


#: the named parameter sets: ``parameter_sets/NAME.yaml`` beside this module (in the wheel too)
PARAMETER_SETS = Path(__file__).resolve().with_name("parameter_sets")


def parameter_set_names() -> list[str]:
    """Names that :func:`load_params` takes for a named parameter set (``reward``, ...)."""
    return sorted(p.stem for p in PARAMETER_SETS.glob("*.yaml"))


def load_params(spec: str | None = None) -> Params:
    """Parameters from a named set (:func:`parameter_set_names`), a YAML/JSON file, an
    inline JSON object (text starting with ``{``), or the defaults (``None``).

    Raises ``ValueError`` naming the source and the problem.
    """
    if not spec:
        return Params()
    if spec.lstrip().startswith("{"):
        source, text = "--params", spec
    else:
        path = Path(spec)
        if not path.is_file() and spec in parameter_set_names():
            path = PARAMETER_SETS / f"{spec}.yaml"
        if not path.is_file():
            raise ValueError(f"parameter file {clip(spec)} does not exist or is not a file "
                             f"(named parameter sets: {', '.join(parameter_set_names())})")
        source = str(path)
        try:
            with open(path, "rb") as fh:
                text = fh.read(MAX_PARAMS_BYTES + 1)
        except OSError as exc:
            raise ValueError(f"cannot read parameter file {path}: {exc.strerror}") from None
    data = load_yaml(text, source)
    try:
        return Params.from_dict(data or {})
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{source}: {exc}") from None
