"""NEURON through ``pyNN.neuron``.

- ``pyNN.neuron`` compiles its NMODL mechanisms with ``nrnivmodl`` on first import and finds
  that program only on ``PATH``: the directory of this Python's executable (the virtual
  environment's ``bin``) is put on ``PATH`` first.
- State reset: PyNN applies ``initialize()`` only at the next ``reset()`` on NEURON, so the
  membrane potential and both synaptic currents of every cell are set directly.
- Fast paths (:class:`FastNeuronBackend`), each giving what PyNN's call gives (``tests/test_fast_paths.py``):
  weights are written to and read from the plastic ``NetCon``s' ``weight[0]`` (nA, as PyNN
  stores them), only where they changed since the last write; input currents go straight to
  each input cell's ``IClamp.amp`` (nA); spikes are taken from the ``h.Vector`` each cell
  records into, which is then emptied, as PyNN's ``get_data(clear=True)`` does. ``run`` stays
  PyNN's: it is a thin wrapper of ``ParallelContext.psolve``.
"""

from __future__ import annotations

import os
import sys

import numpy as np

from snn_rl.backends.base import Backend, Capabilities


class NeuronBackend(Backend):
    """NEURON through PyNN's API (plus the state reset PyNN applies only at ``reset()``)."""

    name = "neuron"
    pynn_module = "pyNN.neuron"
    requirement = "neuron==9.0.2"
    extra = "neuron"
    capabilities = Capabilities(training=True, inference=True, timestep_ms=None)

    def import_simulator(self):
        bindir = os.path.dirname(sys.executable)
        if bindir not in os.environ.get("PATH", "").split(os.pathsep):
            os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")
        return super().import_simulator()

    def attach(self, net) -> None:
        self._cells = [c._cell for pop in (net.inputs, net.outputs) for c in pop]
        self._segments = [cell(0.5) for cell in self._cells]
        self._v_rest = net.p.cell.v_rest

    def reset_state(self, net) -> None:
        for cell, seg in zip(self._cells, self._segments):
            seg.v = self._v_rest
            cell.esyn.i = 0.0
            cell.isyn.i = 0.0


class FastNeuronBackend(NeuronBackend):
    """:class:`NeuronBackend` with every per-presentation call on NEURON's own objects."""

    def attach(self, net) -> None:
        super().attach(net)
        self._stims = [c._cell.stim for c in net.inputs]
        self._output_stims = [c._cell.stim for c in net.outputs]
        self._spike_vectors = [[c._cell.spike_times for c in pop] for pop in (net.inputs, net.outputs)]
        # PyNN keeps the plastic NetCons as {post index: {pre index: [Connection, ...]}}
        found = [(c.nc, i, j) for j, by_pre in net.plastic._connections.items()
                 for i, conns in by_pre.items() for c in conns]
        self._netcons = [nc for nc, _, _ in found]
        self._nc_index = (np.array([i for _, i, _ in found], dtype=int), np.array([j for _, _, j in found], dtype=int))
        self._nc_weights = np.array([nc.weight[0] for nc in self._netcons], dtype=float)

    def set_input_currents(self, net, currents_nA: np.ndarray) -> None:
        for stim, amp in zip(self._stims, np.asarray(currents_nA, dtype=float).tolist()):
            stim.amp = amp

    def set_output_bias(self, net, currents_nA: np.ndarray) -> None:
        for stim, amp in zip(self._output_stims, np.asarray(currents_nA, dtype=float).tolist()):
            stim.amp = amp

    def read_spikes(self, net) -> tuple[list[np.ndarray], list[np.ndarray]]:
        t_ms = self.time_ms()
        empty = np.zeros(0)
        layers = []
        for vectors in self._spike_vectors:
            trains = []
            for vec in vectors:
                if len(vec) == 0:  # most cells are silent: len() costs far less than a copy
                    trains.append(empty)
                    continue
                times = np.array(list(vec))
                trains.append(times[times <= t_ms + 1e-9])  # PyNN's cut-off
                vec.resize(0)
            layers.append(trains)
        return layers[0], layers[1]

    def write_weights(self, net, weights_nA: np.ndarray) -> None:
        new = np.asarray(weights_nA, dtype=float)[self._nc_index]
        changed = np.flatnonzero(new != self._nc_weights)
        netcons = self._netcons
        for k, w in zip(changed.tolist(), new[changed].tolist()):
            netcons[k].weight[0] = w
        self._nc_weights = new

    def read_weights(self, net) -> np.ndarray:
        weights = np.full(net.shape, np.nan)
        weights[self._nc_index] = [nc.weight[0] for nc in self._netcons]
        return weights
