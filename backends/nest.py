"""NEST through ``pyNN.nest``.

- On-grid spiking (``iaf_psc_exp``), the grid-based model the other simulators use; PyNN's
  default for NEST is off-grid (``iaf_psc_exp_ps``).
- ``spike_buffer_shrink_limit = 0``: otherwise NEST keeps a log of spike-buffer resizes that
  PyNN reads back on every ``run()``, and the cost per call grows with every call.
- ``local_num_threads`` from ``threads`` (the wheel has OpenMP threads, no MPI).
- State reset: NEST gives no write access to the synaptic currents of ``iaf_psc_exp``, but it
  decays them by ``exp(-h / tau_syn)`` per step: for one time step before each presentation
  ``tau_syn_ex``/``tau_syn_in`` are set to ``1e-4`` of the step, so the factor underflows
  to exactly 0.0 and both currents become exactly 0 (spikes in transit are none after the
  rest gap); then the time constants NEST held are written back and ``V_m`` is set to rest.
  So every presentation starts from an exact reset, as on NEURON, and training never
  rebuilds the network between epochs. Every presentation therefore starts one time step after the last ended.
- PyNN's first ``run()`` on NEST simulates one extra ``min_delay`` and later parameter changes
  act at the kernel's time, one ``min_delay`` after the time PyNN reports: the first
  presentation after set-up would start one time step earlier than every later one. One
  time step is run as soon as the network is built, so every presentation is timed alike.
- Fast paths (:class:`FastNestBackend`), each giving what PyNN's call gives (``tests/test_fast_paths.py``):
  weights are written (only those that changed) and read on the plastic connections'
  ``SynapseCollection`` taken once (nA -> pA: x1000 on writes, x0.001 on reads, as PyNN);
  input currents are written as ``I_e`` (pA) in one call; spikes are taken from PyNN's
  ``spike_recorder`` devices' event arrays, which are then emptied (``n_events = 0``),
  keeping PyNN's rule for events stamped after the current time; ``run`` calls
  ``nest.Simulate`` and the clock is kept in steps on the host, so no call queries the
  kernel status. Status writes go to NEST's low-level kernel calls (``nest.nestkernel_api``,
  what ``NodeCollection.set`` and ``SynapseCollection.set`` end in), skipping the
  MPI-locality and network-size queries those wrappers add to every call (about 0.1 ms
  each; this wheel has no MPI). NEST's ``Prepare``/``Run``/``Cleanup`` would save nothing:
  ``Simulate`` of one step costs about 10 us.
"""

from __future__ import annotations

import os
import warnings

import numpy as np

from snn_rl.backends.base import Backend, Capabilities


class NestBackend(Backend):
    """NEST through PyNN's API (plus the state reset PyNN does not offer)."""

    name = "nest"
    pynn_module = "pyNN.nest"
    requirement = "nest-simulator==3.10.0"
    extra = "nest"
    capabilities = Capabilities(training=True, inference=True, timestep_ms=None)

    def import_simulator(self):
        os.environ.setdefault("PYNEST_QUIET", "1")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return super().import_simulator()

    def _setup(self, timestep_ms: float, threads: int) -> None:
        import nest

        # PyNN 0.13 still calls nest.GetStatus, which NEST 3.10 marks as deprecated on every run
        warnings.filterwarnings("ignore", message=r"GetStatus\(\) is deprecated")
        # threads go through PyNN's setup: NEST refuses to change them once delays are set
        self.sim.setup(timestep=timestep_ms, min_delay=timestep_ms, spike_precision="on_grid", verbosity="error",
                       threads=int(threads))
        nest.SetKernelStatus({"spike_buffer_shrink_limit": 0.0})

    def attach(self, net) -> None:
        self._all_cells = net.inputs.node_collection + net.outputs.node_collection
        self._v_rest = net.p.cell.v_rest
        self._dt_ms = float(self.sim.get_time_step())
        held = self._all_cells.get(["tau_syn_ex", "tau_syn_in"])
        flush_ms = 1e-4 * self._dt_ms
        self._flush_status = [{"tau_syn_ex": flush_ms, "tau_syn_in": flush_ms}] * len(self._all_cells)
        self._rest_status = [
            {"tau_syn_ex": float(ex), "tau_syn_in": float(inh), "V_m": float(self._v_rest)}
            for ex, inh in zip(np.atleast_1d(held["tau_syn_ex"]), np.atleast_1d(held["tau_syn_in"]))
        ]
        self._take_handles(net)
        self.sim.run(self.sim.get_time_step())

    def _take_handles(self, net) -> None:
        """Simulator handles a subclass keeps for its fast paths (none here)."""

    def _set_nodes(self, nodes, statuses: list[dict]) -> None:
        """One status dict per node."""
        nodes.set(statuses)

    def reset_state(self, net) -> None:
        """Synaptic currents to exactly 0 in one time step (see above), then ``V_m`` to rest."""
        self._set_nodes(self._all_cells, self._flush_status)
        self.run(self._dt_ms)
        self._set_nodes(self._all_cells, self._rest_status)


class FastNestBackend(NestBackend):
    """:class:`NestBackend` with every per-presentation call on NEST's own handles."""

    def _take_handles(self, net) -> None:
        from nest import nestkernel_api

        self._kernel = nestkernel_api
        self._steps = None  # host clock in time steps; read from PyNN once, on first use
        self._inputs = net.inputs.node_collection
        self._outputs = net.outputs.node_collection
        self._recorders = [pop.recorder._spike_detector.device for pop in (net.inputs, net.outputs)]
        self._node_ids = [np.asarray(pop.all_cells, dtype=np.int64) for pop in (net.inputs, net.outputs)]
        self._overrun = [None, None]
        # taken after the first run: NEST sorts the connections when it first prepares them
        self._conns = None

    def _set_nodes(self, nodes, statuses: list[dict]) -> None:
        """``nodes.set(statuses)``, one status dict per node, straight to NEST's kernel call."""
        self._kernel.llapi_set_nc_status(nodes._datum, statuses)

    def _plastic_connections(self, net):
        if self._conns is None:
            import nest

            proj = net.plastic
            conns = nest.GetConnections(
                source=net.inputs.node_collection, target=net.outputs.node_collection,
                synapse_model=proj.nest_synapse_model, synapse_label=proj.nest_synapse_label,
            )
            pre = np.searchsorted(self._node_ids[0], np.fromiter(conns.sources(), dtype=np.int64))
            post = np.searchsorted(self._node_ids[1], np.fromiter(conns.targets(), dtype=np.int64))
            self._conns, self._conn_index = conns, (pre, post)
            self._written_pA = np.full(len(conns), np.nan)  # the first write sets them all
        return self._conns

    def _clock_steps(self) -> int:
        if self._steps is None:
            self._steps = int(round(self.sim.get_current_time() / self._dt_ms))
        return self._steps

    def time_ms(self) -> float:
        # PyNN's own rounding of the kernel clock, so both paths give the same floats
        return round(self._clock_steps() * self._dt_ms, 12)

    def set_input_currents(self, net, currents_nA: np.ndarray) -> None:
        pA = np.asarray(currents_nA, dtype=float) * 1000.0
        self._set_nodes(self._inputs, [{"I_e": v} for v in pA.tolist()])

    def set_output_bias(self, net, currents_nA: np.ndarray) -> None:
        pA = np.asarray(currents_nA, dtype=float) * 1000.0
        self._set_nodes(self._outputs, [{"I_e": v} for v in pA.tolist()])

    def run(self, duration_ms: float) -> None:
        import nest

        steps = self._clock_steps()
        if not self.sim.simulator.state.running:
            # PyNN's first run connects its recorders and adds one min_delay
            self.sim.run(duration_ms)
            self._conns = None
        else:
            nest.Simulate(duration_ms)
        self._steps = steps + int(round(duration_ms / self._dt_ms))

    def read_spikes(self, net) -> tuple[list[np.ndarray], list[np.ndarray]]:
        t_ms = self.time_ms()
        layers = []
        for k, (device, ids) in enumerate(zip(self._recorders, self._node_ids)):
            events = device.get("events")
            senders = np.asarray(events["senders"], dtype=np.int64)
            times = np.asarray(events["times"], dtype=float)
            self._set_nodes(device, [{"n_events": 0}])
            # as PyNN: events stamped after the current time are held back for the next read
            later = times > t_ms
            held, self._overrun[k] = self._overrun[k], (senders[later], times[later]) if later.any() else None
            if held is not None:
                senders, times = np.concatenate((held[0], senders)), np.concatenate((held[1], times))
            now = times <= t_ms
            senders, times = senders[now], times[now]
            index = np.searchsorted(ids, senders)
            order = np.argsort(index, kind="stable")
            bounds = np.cumsum(np.bincount(index, minlength=ids.size))[:-1]
            layers.append(np.split(times[order], bounds))
        return layers[0], layers[1]

    def write_weights(self, net, weights_nA: np.ndarray) -> None:
        conns = self._plastic_connections(net)
        pA = np.asarray(weights_nA, dtype=float)[self._conn_index] * 1000.0
        # NEST takes one status dict per connection (about 2 us each): write only those that changed
        changed = np.flatnonzero(pA != self._written_pA).tolist()
        handles = conns._datum
        self._kernel.llapi_set_connection_status([handles[k] for k in changed],
                                                 [{"weight": v} for v in pA[changed].tolist()])
        self._written_pA = pA

    def read_weights(self, net) -> np.ndarray:
        conns = self._plastic_connections(net)
        weights = np.full(net.shape, np.nan)
        weights[self._conn_index] = np.asarray(conns.get("weight"), dtype=float) * 0.001  # as PyNN reads
        return weights
