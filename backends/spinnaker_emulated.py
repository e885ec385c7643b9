"""SpiNNaker's arithmetic on NEST or NEURON: see before deploying what the chip will answer.

The network runs as it would after ``sim.setup(timestep=1.0)`` on sPyNNaker:

- a 1 ms time step and delays rounded to whole milliseconds
  (:func:`snn_rl.model.quantisation.spinnaker_params`, applied through :meth:`Backend.constrain`);
- every weight that goes into the simulator (at build time and at every write) replaced by
  the value sPyNNaker's 16-bit synaptic word holds for it, with the ring-buffer left shift
  sPyNNaker would choose for the weights of that moment
  (:func:`snn_rl.model.quantisation.ring_buffer_shift`).

What is *not* emulated: the chip's own neuron update (sPyNNaker integrates ``IF_curr_exp``
in S16.15 fixed point with its own update order), so the spike times can still differ by a
step; the weights, time grid and delays are exactly those the chip uses.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from snn_rl.backends.nest import FastNestBackend, NestBackend
from snn_rl.backends.neuron import FastNeuronBackend, NeuronBackend
from snn_rl.model import quantisation as q


class SpinnakerArithmetic:
    """Mixin for a float simulator's adapter: SpiNNaker's time step, delays and weights."""

    def constrain(self, params):
        return super().constrain(q.spinnaker_params(params))

    def connection(self, n_pre, n_post, weight_nA, delay_ms, allow_self_connections=True):
        return super().connection(n_pre, n_post, self.on_chip(weight_nA, n_pre), delay_ms, allow_self_connections)

    def write_weights(self, net, weights_nA: np.ndarray) -> None:
        super().write_weights(net, self.on_chip(weights_nA, weights_nA.shape[0]))

    @staticmethod
    def on_chip(weight_nA, n_pre: int):
        """The weight(s) the chip applies for an all-to-all projection from ``n_pre`` neurons,
        the only projection into its receptor type (as in the character network)."""
        w = np.asarray(weight_nA, dtype=float)
        shift = q.ring_buffer_shift(q.expected_max_input([(float(np.abs(w).max(initial=0.0)), n_pre)]))
        wq = q.quantise(w, shift)
        return float(wq) if wq.ndim == 0 else wq


class SpinnakerEmulatedBackend(SpinnakerArithmetic, NestBackend):
    name = "spinnaker-emulated"
    capabilities = dataclasses.replace(NestBackend.capabilities, timestep_ms=q.SPINNAKER_TIMESTEP_MS)


class FastSpinnakerEmulatedBackend(SpinnakerArithmetic, FastNestBackend):
    name = SpinnakerEmulatedBackend.name
    capabilities = SpinnakerEmulatedBackend.capabilities


class SpinnakerEmulatedNeuronBackend(SpinnakerArithmetic, NeuronBackend):
    name = "spinnaker-emulated-neuron"
    capabilities = dataclasses.replace(NeuronBackend.capabilities, timestep_ms=q.SPINNAKER_TIMESTEP_MS)


class FastSpinnakerEmulatedNeuronBackend(SpinnakerArithmetic, FastNeuronBackend):
    name = SpinnakerEmulatedNeuronBackend.name
    capabilities = SpinnakerEmulatedNeuronBackend.capabilities
