"""Fixed-point weights as sPyNNaker (1!7.4.1) stores them for this network.

On SpiNNaker a synaptic weight is a 16-bit unsigned integer in a synaptic row; on arrival
it is added to a ring buffer, and the ring buffer's value is shifted left by the
*ring-buffer left shift* of its receptor type to give an S16.15 current (nA). sPyNNaker
picks one shift per receptor type of a post-synaptic population so that the largest sum the
ring buffer can hold covers the largest input it expects. What follows re-computes that
choice in numpy, so a trained network can be checked on NEST or NEURON with the chip's
arithmetic before it is deployed.

Where each step comes from (``spynnaker/pyNN/`` of sPyNNaker 1!7.4.1):

- expected maximum input of a receptor type, ``models/neuron/population_vertex.py``
  ``_Stats``: each projection into the type adds ``spikes_per_tick * max|w| * n_conns``
  with ``spikes_per_tick = max(1, spikes_per_second / steps_per_second) = 1`` at the
  default 30 spikes/s and 1 ms, and ``n_conns`` the largest in-degree of a post neuron
  (an ``AllToAllConnector`` counts every pre neuron, even with
  ``allow_self_connections=False``). With constant delays (our network) ``get_max_weight``
  returns ``max(total_weights, biggest_weight)``, i.e. that sum.
- the shift, ``PopulationVertex.get_ring_buffer_shifts``: ``p = ceil(max(0, log2 M))``,
  plus one if ``2**p <= M``; 0 when ``M <= 0``.
- the scale, ``PopulationVertex.__get_weight_scale``: ``2 ** (16 - (shift + 1))`` times the
  input type's global scale (1.0 for current-based input, ``input_type_current.py``).
- the stored integer, ``synapse_io.get_synapses`` (``weight * scale``) and
  ``SynapseDynamicsStatic.get_static_synaptic_data``: ``rint(|w * scale|) & 0xFFFF``
  (numpy's ``rint`` rounds halves to even; the sign is dropped, the receptor type alone
  makes a synapse excitatory or inhibitory).
- reading back, ``synapse_io._rescale_connections``: ``integer / scale``.

Everything here is in nA (PyNN's unit for current-based synapses).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: bits of a synaptic weight in a SpiNNaker synaptic row
WEIGHT_BITS = 16
#: fractional bits of the S16.15 fixed-point type the shifted ring buffer is read as
ACCUM_FRACTIONAL_BITS = 15
#: cfg ``[Simulation] spikes_per_second`` default: expected rate of a pre neuron, Hz
DEFAULT_SPIKES_PER_SECOND = 30.0
#: the only time step SpiNNaker runs this network at, ms
SPINNAKER_TIMESTEP_MS = 1.0


def spikes_per_tick(timestep_ms: float = SPINNAKER_TIMESTEP_MS,
                    spikes_per_second: float = DEFAULT_SPIKES_PER_SECOND) -> float:
    """Spikes a pre neuron is assumed to send per time step (at least 1)."""
    return max(1.0, spikes_per_second / (1000.0 / timestep_ms))


def expected_max_input(projections: list[tuple[float, int]], timestep_ms: float = SPINNAKER_TIMESTEP_MS) -> float:
    """sPyNNaker's bound ``M`` on one receptor type's summed input, in nA.

    ``projections``: one ``(largest |weight| in nA, largest in-degree of a post neuron)``
    per projection into that receptor type, all with constant delays.
    """
    per_tick = spikes_per_tick(timestep_ms)
    return float(sum(per_tick * abs(w_max) * n_conns for w_max, n_conns in projections))


def ring_buffer_shift(max_input_nA: float) -> int:
    """The ring-buffer left shift sPyNNaker chooses for an expected maximum input (nA)."""
    if max_input_nA <= 0:
        return 0
    power = int(math.ceil(max(0.0, math.log2(max_input_nA))))
    # the ring buffer holds 0 .. just under 2**power, so an exact power needs one more bit
    return power + 1 if 2 ** power <= max_input_nA else power


def weight_scale(shift: int) -> float:
    """Integer units per nA for a shift (current-based input): ``2 ** (15 - shift)``."""
    return float(2 ** (WEIGHT_BITS - (shift + 1)))


def stored_integers(weights_nA: np.ndarray, shift: int) -> np.ndarray:
    """The 16-bit integers sPyNNaker writes into the synaptic rows for these weights."""
    scaled = np.abs(np.asarray(weights_nA, dtype=float) * weight_scale(shift))
    return (np.rint(scaled).astype(np.uint32) & 0xFFFF).astype(np.uint16)


def quantise(weights_nA: np.ndarray, shift: int) -> np.ndarray:
    """The weights (nA) the chip applies, with their sign kept for simulators that need it."""
    w = np.asarray(weights_nA, dtype=float)
    return np.sign(w) * stored_integers(w, shift) / weight_scale(shift)


@dataclass(frozen=True)
class NetworkQuantisation:
    """The chip's view of the character network's weights."""

    excitatory_shift: int  #: ring-buffer left shift of the output layer's excitatory input
    inhibitory_shift: int  #: ... and of its inhibitory input
    weights_nA: np.ndarray  #: plastic input -> output weights as the chip applies them, nA
    inhibition_nA: float  #: lateral inhibition magnitude as the chip applies it, nA
    rounded_to_zero: np.ndarray  #: (n_inputs, n_outputs) bool: non-zero weights stored as 0

    @property
    def excitatory_lsb_nA(self) -> float:
        """Smallest non-zero excitatory weight the chip can represent, nA."""
        return 1.0 / weight_scale(self.excitatory_shift)

    @property
    def inhibitory_lsb_nA(self) -> float:
        return 1.0 / weight_scale(self.inhibitory_shift)

    def zero_list(self, labels: tuple[str, ...] | list[str]) -> list[dict]:
        """Every weight that rounds to zero, as ``{"input", "output", "label"}`` entries (the
        label of the class whose group holds the output)."""
        k = max(1, self.rounded_to_zero.shape[1] // max(1, len(labels)))
        return [{"input": int(i), "output": int(j), "label": str(labels[j // k])}
                for i, j in zip(*np.nonzero(self.rounded_to_zero))]

    def summary(self, weights_nA: np.ndarray, labels: tuple[str, ...] | list[str]) -> dict:
        """JSON-ready account of what quantisation does to ``weights_nA``."""
        w = np.asarray(weights_nA, dtype=float)
        err = np.abs(self.weights_nA - w)
        return {
            "excitatory_ring_buffer_shift": self.excitatory_shift,
            "inhibitory_ring_buffer_shift": self.inhibitory_shift,
            "excitatory_lsb_nA": self.excitatory_lsb_nA,
            "inhibitory_lsb_nA": self.inhibitory_lsb_nA,
            "inhibition_nA": self.inhibition_nA,
            "max_abs_weight_error_nA": float(err.max(initial=0.0)),
            "n_weights": int(w.size),
            "n_rounded_to_zero": int(self.rounded_to_zero.sum()),
            "rounded_to_zero": self.zero_list(labels),
        }


def quantise_network(weights_nA: np.ndarray, inhibition_nA: float) -> NetworkQuantisation:
    """Quantise the plastic weights ``(n_inputs, n_outputs)`` and the lateral inhibition.

    The output layer receives the plastic all-to-all projection (in-degree ``n_inputs``) on
    its excitatory receptor and the all-to-all lateral inhibition (in-degree ``n_outputs``,
    since sPyNNaker counts the absent self-connection) on its inhibitory receptor. The
    input layer receives nothing, so only the output layer's shifts matter.
    """
    w = np.asarray(weights_nA, dtype=float)
    if w.ndim != 2:
        raise ValueError(f"weights must be a 2-d (inputs x outputs) array, got shape {w.shape}")
    if np.any(w < 0):
        raise ValueError(
            "SpiNNaker stores |w| and takes the sign from the receptor type, so negative weights on the "
            "excitatory input -> output projection would turn excitatory; keep plasticity.w_min_nA >= 0"
        )
    n_inputs, n_outputs = w.shape
    exc_shift = ring_buffer_shift(expected_max_input([(float(w.max(initial=0.0)), n_inputs)]))
    inh_shift = ring_buffer_shift(expected_max_input([(abs(inhibition_nA), n_outputs)]))
    wq = quantise(w, exc_shift)
    inh_q = float(quantise(np.array([abs(inhibition_nA)]), inh_shift)[0])
    return NetworkQuantisation(
        excitatory_shift=exc_shift, inhibitory_shift=inh_shift, weights_nA=wq,
        inhibition_nA=inh_q, rounded_to_zero=(w != 0) & (wq == 0),
    )


def round_delay_ms(delay_ms: float, timestep_ms: float = SPINNAKER_TIMESTEP_MS) -> float:
    """A delay on SpiNNaker's time grid (``rint(delay / dt) * dt``, as sPyNNaker rounds it).

    Raises ``ValueError`` for a delay that would round to zero steps.
    """
    rounded = float(np.rint(delay_ms / timestep_ms) * timestep_ms)
    if rounded < timestep_ms:
        raise ValueError(f"a delay of {delay_ms} ms rounds to {rounded} ms on SpiNNaker's {timestep_ms} ms grid; "
                         f"use a delay of at least {timestep_ms} ms")
    return rounded


def spinnaker_params(params):
    """``params`` (:class:`model.params.Params`) as SpiNNaker runs them: a 1 ms time step and
    delays on the 1 ms grid. Raises ``ValueError`` for what the chip cannot represent."""
    if params.plasticity.w_min_nA < 0:
        raise ValueError(
            f"plasticity.w_min_nA = {params.plasticity.w_min_nA} allows negative input -> output weights, "
            "which SpiNNaker would store as excitatory |w|; set it to 0 or more for a SpiNNaker target"
        )
    n = params.network
    return params.replace(network={
        "timestep_ms": SPINNAKER_TIMESTEP_MS,
        "delay_ms": round_delay_ms(n.delay_ms),
        "inhibition_delay_ms": round_delay_ms(n.inhibition_delay_ms),
    })
