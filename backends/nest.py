"""NEST through ``pyNN.nest``.

- On-grid spiking (``iaf_psc_exp``), the grid-based model the other simulators use; PyNN's
  default for NEST is off-grid (``iaf_psc_exp_ps``).
- ``spike_buffer_shrink_limit = 0``: otherwise NEST keeps a log of spike-buffer resizes that
  PyNN reads back on every ``run()``, and the cost per call grows with every call.
- ``local_num_threads`` from ``threads`` (the wheel has OpenMP threads, no MPI).
- State reset: ``V_m`` is set directly; NEST gives no access to the synaptic currents, which
  decay through the rest gap (``tau_syn`` 5 ms, 50 ms rest: a factor of e^-10), so
  ``resets_synapses`` is false and training rebuilds the network at each epoch boundary.
- PyNN's first ``run()`` on NEST simulates one extra ``min_delay`` and later parameter changes
  act at the kernel's time, one ``min_delay`` after the time PyNN reports: the first
  presentation after set-up would start one time step earlier than every later one. One
  time step is run as soon as the network is built, so every presentation is timed alike.
"""

from __future__ import annotations

import os
import warnings

from backends.base import Backend


class NestBackend(Backend):
    name = "nest"
    pynn_module = "pyNN.nest"
    requirement = "nest-simulator==3.10.0"

    def import_simulator(self):
        os.environ.setdefault("PYNEST_QUIET", "1")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return super().import_simulator()

    def _setup(self, timestep_ms: float, threads: int) -> None:
        import nest

        # PyNN 0.13 still calls nest.GetStatus, which NEST 3.10 marks as deprecated on every run
        warnings.filterwarnings("ignore", message=r"GetStatus\(\) is deprecated")
        self.sim.setup(timestep=timestep_ms, min_delay=timestep_ms, spike_precision="on_grid", verbosity="error")
        nest.SetKernelStatus({"spike_buffer_shrink_limit": 0.0, "local_num_threads": int(threads)})

    def attach(self, net) -> None:
        self._all_cells = net.inputs.node_collection + net.outputs.node_collection
        self._v_rest = net.p.cell.v_rest
        self.sim.run(self.sim.get_time_step())

    def reset_state(self, net) -> None:
        self._all_cells.set(V_m=self._v_rest)
