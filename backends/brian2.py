"""Brian 2 through ``pyNN.brian2``.

- Brian 2.11 needs Python 3.13 or newer (Brian 2.9, the last release for 3.11, fails to import
  with numpy 2); on an older Python the adapter says so and how to get it.
- Brian generates and compiles (Cython) code for each group; the first run on a machine
  compiles it (about 30 s) into Cython's cache (``~/.cython/brian_extensions``), later
  processes load it from there (about 3 s).
- ``prefs.logging.warn_for_unused_objects`` is switched off: with it, Brian calls
  ``gc.collect()`` at every ``run()``, which in a process holding NEST, NEURON and PyTorch
  costs about 0.1 s a call; it changes nothing simulated. Brian's notice that it chose exact
  integration for ``IF_curr_exp`` is not shown (``snn-rl --verbose`` shows it).
- State reset: the membrane potential and both synaptic currents of every cell are set in the
  Brian groups directly. ``pyNN.brian2``'s ``reset()`` would restore the whole network as it was
  before the first run, weights included, so it is never called: training writes weights
  into the running network, as on NEST and NEURON.
- Spike read-out: ``get_data(clear=True)`` on ``pyNN.brian2`` 0.13 with Brian 2.11 leaves the
  ``SpikeMonitor`` counting from its old length, so the next read starts with zeros; spikes
  are therefore read without clearing and only those after the previous read are kept.
- Spike times: Brian stamps a spike with the start of the step in which the membrane crossed
  threshold, NEST and NEURON with its end; within one simulator every time is stamped alike.
- Fast paths (:class:`FastBrian2Backend`), each giving what PyNN's call gives (``tests/test_fast_paths.py``):
  input currents and weights are written into the arrays Brian's generated code reads
  (``i_offset`` in A, the plastic synapses' ``weight`` in A, in Brian's synapse order);
  spikes are read from PyNN's ``SpikeMonitor`` arrays from where the previous read ended. ``run`` after the first one steps Brian's network without
  its ``before_run``: Brian regenerates every code object at every ``run()`` (about 30 ms for
  this network) although nothing it generates from has changed (no equation, no group, no
  delay; only values in the arrays the code reads).
"""

from __future__ import annotations

import logging
import sys

import numpy as np

from snn_rl.backends.base import Backend, BackendError, Capabilities, verbose

#: the oldest Python Brian 2.11 runs on
MIN_PYTHON = (3, 13)


class Brian2Backend(Backend):
    """Brian 2 through PyNN's API (plus the state reset PyNN offers only with ``reset()``)."""

    name = "brian2"
    pynn_module = "pyNN.brian2"
    requirement = "brian2==2.11.0"
    extra = "brian2"
    capabilities = Capabilities(training=True, inference=True, timestep_ms=None)

    def import_simulator(self):
        if sys.version_info[:2] < MIN_PYTHON:
            have = ".".join(map(str, sys.version_info[:2]))
            want = ".".join(map(str, MIN_PYTHON))
            raise BackendError(
                f"backend {self.name!r} needs Python {want} or newer (Brian 2.11; this is Python {have}): "
                f"install Python {want} ('pyenv install {want}' or python.org), then rm -rf .venv && ./run.sh test "
                f"(run.sh picks python{want})"
            )
        return super().import_simulator()

    def _setup(self, timestep_ms: float, threads: int) -> None:
        import brian2

        brian2.prefs.logging.warn_for_unused_objects = False
        if not verbose():
            # "No numerical integration method specified ... using method 'exact'"
            logging.getLogger("brian2.stateupdaters.base.method_choice").setLevel(logging.WARNING)
            brian2.BrianLogger.suppress_name("method_choice")
        self.sim.setup(timestep=timestep_ms, min_delay=timestep_ms)

    def attach(self, net) -> None:
        import brian2

        self._groups = [net.inputs.brian2_group, net.outputs.brian2_group]
        self._v_rest_V = float(net.p.cell.v_rest) * 1e-3
        self._second = brian2.second
        self._read_until_ms = -1.0  #: spikes up to this time (ms) have been read

    def read_spikes(self, net) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Spike times (ms) since the last read: PyNN's whole record, cut at the last read's time."""
        t_ms = self.time_ms()
        since = self._read_until_ms
        layers = tuple(
            [(lambda t: t[(t > since) & (t <= t_ms + 1e-9)])(np.asarray(st.magnitude, dtype=float))
             for st in pop.get_data("spikes", clear=False).segments[0].spiketrains]
            for pop in (net.inputs, net.outputs)
        )
        self._read_until_ms = t_ms
        return layers

    def reset_state(self, net) -> None:
        for group in self._groups:
            group.v_ = self._v_rest_V
            group.ie_ = 0.0
            group.ii_ = 0.0


class FastBrian2Backend(Brian2Backend):
    """:class:`Brian2Backend` with every per-presentation call on Brian's own arrays."""

    def attach(self, net) -> None:
        super().attach(net)
        self._state = self.sim.simulator.state
        inputs, outputs = self._groups
        self._i_offset = [g.variables["i_offset"].get_value() for g in (inputs, outputs)]
        self._resets = [(g.variables["v"].get_value(), g.variables["ie"].get_value(), g.variables["ii"].get_value())
                        for g in self._groups]
        self._syn = net.plastic._brian2_synapses[0][0]
        self._weights = None  #: (Brian's weight array, its (pre, post) index), taken at first use
        self._monitors = None  # PyNN creates its SpikeMonitors at the first run
        self._prepared = False  # Brian's code objects exist once the first run has prepared them

    def _weight_array(self):
        # the synapses' arrays are dynamic: taken once Brian has built every connection (the
        # projection is built before any weight is written), then unchanged for the network's life
        if self._weights is None:
            syn = self._syn
            index = (np.asarray(syn.i[:], dtype=int), np.asarray(syn.j[:], dtype=int))
            self._weights = syn.variables["weight"].get_value(), index
        return self._weights

    def reset_state(self, net) -> None:
        for v, ie, ii in self._resets:
            v[:] = self._v_rest_V
            ie[:] = 0.0
            ii[:] = 0.0

    def set_input_currents(self, net, currents_nA: np.ndarray) -> None:
        self._i_offset[0][:] = np.asarray(currents_nA, dtype=float) * 1e-9

    def set_output_bias(self, net, currents_nA: np.ndarray) -> None:
        self._i_offset[1][:] = np.asarray(currents_nA, dtype=float) * 1e-9

    def write_weights(self, net, weights_nA: np.ndarray) -> None:
        array, index = self._weight_array()
        array[:] = np.asarray(weights_nA, dtype=float)[index] * 1e-9

    def read_weights(self, net) -> np.ndarray:
        array, index = self._weight_array()
        weights = np.full(net.shape, np.nan)
        weights[index] = array / 1e-9  # as PyNN reads: weight / nA
        return weights

    def run(self, duration_ms: float) -> None:
        if not self._prepared:
            super().run(duration_ms)  # PyNN's first run adds its monitors; Brian prepares the code
            self._prepared = True
            return
        self._step(duration_ms)

    def _step(self, duration_ms: float) -> None:
        """Brian's ``Network.run`` for one clock, without ``before_run``."""
        network = self._state.network
        clock = network.clock
        t_start = network.t_
        steps = int(round(duration_ms / (clock.dt_ * 1e3)))
        t_end = t_start + steps * clock.dt_
        clock.set_interval(network.t, t_end * self._second)
        objects = [obj.run for obj in network.sorted_objects if obj.active]
        timestep = clock.variables["timestep"].get_value()
        t_arr = clock.variables["t"].get_value()
        i_end = clock._i_end
        while timestep[0] < i_end:
            network.t_ = t_arr[0]
            for f in objects:
                f()
            clock.advance()
        network.t_ = float(t_end)
        network.after_run()

    def read_spikes(self, net) -> tuple[list[np.ndarray], list[np.ndarray]]:
        if self._monitors is None:
            self._monitors = [pop.recorder._devices["spikes"] for pop in (net.inputs, net.outputs)]
            self._read = [0, 0]
        layers = []
        for k, (mon, size) in enumerate(zip(self._monitors, (net.shape[0], net.shape[1]))):
            n = int(mon.variables["N"].get_value()[0])
            start, self._read[k] = self._read[k], n
            index = np.asarray(mon.variables["i"].get_value()[start:n], dtype=np.int64)
            times = np.asarray(mon.variables["t"].get_value()[start:n], dtype=float) * 1e3  # s -> ms
            order = np.argsort(index, kind="stable")
            bounds = np.cumsum(np.bincount(index, minlength=size))[:-1]
            layers.append(np.split(times[order], bounds))
        return layers[0], layers[1]
