"""NEURON through ``pyNN.neuron``.

- ``pyNN.neuron`` compiles its NMODL mechanisms with ``nrnivmodl`` on first import and finds
  that program only on ``PATH``: the directory of this Python's executable (the virtual
  environment's ``bin``) is put on ``PATH`` first.
- State reset: PyNN applies ``initialize()`` only at the next ``reset()`` on NEURON, so the
  membrane potential and both synaptic currents of every cell are set directly.
"""

from __future__ import annotations

import os
import sys

from backends.base import Backend, Capabilities


class NeuronBackend(Backend):
    name = "neuron"
    pynn_module = "pyNN.neuron"
    requirement = "neuron==9.0.2"
    capabilities = Capabilities(training=True, inference=True, timestep_ms=None, resets_synapses=True)

    def import_simulator(self):
        bindir = os.path.dirname(sys.executable)
        if bindir not in os.environ.get("PATH", "").split(os.pathsep):
            os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")
        return super().import_simulator()

    def attach(self, net) -> None:
        self._cells = [c._cell for pop in (net.inputs, net.outputs) for c in pop]
        self._v_rest = net.p.cell.v_rest

    def reset_state(self, net) -> None:
        for cell in self._cells:
            cell(0.5).v = self._v_rest
            cell.esyn.i = 0.0
            cell.isyn.i = 0.0
