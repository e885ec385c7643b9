"""What every backend adapter provides, with the plain PyNN implementation as default.

An adapter sets a simulator up through its PyNN module and answers the calls
:class:`snn_rl.model.network.CharacterNetwork` makes. The defaults below use only PyNN's
API, so an adapter overrides just what its simulator needs (kernel settings, a state reset
PyNN does not offer after a run).

Fast paths are classes of their own: ``FastNestBackend`` subclasses ``NestBackend`` and
answers the per-presentation calls (input currents, ``run``, spike read-out, weight writes)
through handles it takes from the PyNN objects once, instead of PyNN's generic per-call
machinery. The network is still built from the one PyNN description. The registry
(:func:`snn_rl.backends.get`) hands out the fast class unless asked for the plain one;
both must give the same spikes and weights (``tests/test_fast_paths.py``).
"""

from __future__ import annotations

import os

import contextlib
import importlib
import io
import logging
import warnings
from dataclasses import dataclass

import numpy as np



#: the environment variable that shows the simulators' own notices (``snn-rl --verbose``)
VERBOSE_ENV = "SNN_RL_VERBOSE"
#: notices the simulators print on every normal run that say nothing about the user's run:
#: NEST 3.10 marks the SetStatus/GetStatus calls PyNN 0.13 makes as deprecated; PyNN logs
#: that NEST cannot set I_syn (the adapters reset it another way); NEURON says it has no
#: display (it needs none)
KNOWN_NOISE = (r"\s*(Set|Get)Status\(\) is deprecated",)


def verbose() -> bool:
    return os.environ.get(VERBOSE_ENV, "") not in ("", "0")


def silence_known_noise() -> None:
    """Filter the simulators' known notices, unless :data:`VERBOSE_ENV` is set."""
    if verbose():
        return
    for message in KNOWN_NOISE:
        warnings.filterwarnings("ignore", message=message)
    logging.getLogger("PyNN").setLevel(logging.ERROR)
    os.environ.setdefault("NEURON_MODULE_OPTIONS", "-nogui")

def max_threads() -> int:
    """The most simulator threads a run may ask for: the machine's cores."""
    return os.cpu_count() or 1

class BackendError(RuntimeError):
    """A backend cannot be used as asked; the message says why and how to fix it."""


@dataclass(frozen=True)
class Capabilities:
    """What a backend can do, declared up front rather than discovered by failing."""

    training: bool  #: the host-side learning loop can run on it (checked before training)
    inference: bool  #: a trained network can be run and its spikes read back (checked before a test)
    timestep_ms: float | None  #: a fixed integration step the target imposes, ms (None: any)
    #: plastic weights can be written into the built network between runs; if not, every
    #: weight write restarts the simulator and builds the network anew with the new weights
    #: (:meth:`snn_rl.model.network.CharacterNetwork.with_weights`)
    weights_writable: bool = True


class Backend:
    """Base adapter: plain PyNN calls on ``self.sim``."""

    name = "base"
    pynn_module = ""
    requirement = ""  #: the pip requirement that provides the simulator
    extra = ""  #: the extra of snn-rl that installs it (pip install "snn-rl[EXTRA]")
    capabilities = Capabilities(training=True, inference=True, timestep_ms=None)

    def __init__(self) -> None:
        self.sim = None
        self._started: tuple[float, int] | None = None  #: (timestep_ms, threads) of the last setup

    # set-up and tear-down -------------------------------------------------------------
    def import_simulator(self):
        """Import and return the PyNN module, or raise :class:`BackendError`."""
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                return importlib.import_module(self.pynn_module)
        except ImportError as exc:
            raise BackendError(
                f"backend {self.name!r} needs {self.requirement} ({exc}); "
                f"install it with: pip install 'snn-rl[{self.extra}]' (or pip install '{self.requirement}')"
            ) from exc

    def usable_now(self) -> str | None:
        """None if a run can start now, else why not (hardware: no machine configured or
        reachable); a simulator on this machine is usable once installed."""
        return None

    def require(self) -> "Backend":
        """Import the simulator now, so that a missing one fails before any output exists;
        import-time warnings (pyNN.neuron's "mpi4py not available") are not the user's."""
        silence_known_noise()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.sim = self.import_simulator()
        return self

    def setup(self, timestep_ms: float, threads: int = 1) -> "Backend":
        """Start the simulator with an integration step of ``timestep_ms`` (ms)."""
        if not isinstance(threads, int) or not 1 <= threads <= max_threads():
            raise BackendError(f"threads must be a whole number from 1 to {max_threads()} (this machine's cores), got {threads!r}")
        fixed = self.capabilities.timestep_ms
        if fixed is not None and timestep_ms != fixed:
            raise BackendError(f"backend {self.name!r} runs at a fixed time step of {fixed} ms, not {timestep_ms} ms")
        silence_known_noise()
        self.sim = self.import_simulator()
        self._setup(timestep_ms, threads)
        self._started = (timestep_ms, threads)
        return self

    def restart(self) -> "Backend":
        """End the simulator and set it up again as before (a network built anew follows)."""
        timestep_ms, threads = self._started
        self.end()
        return self.setup(timestep_ms, threads)

    def _setup(self, timestep_ms: float, threads: int) -> None:
        self.sim.setup(timestep=timestep_ms, min_delay=timestep_ms)

    def end(self) -> None:
        if self.sim is not None:
            self.sim.end()
            self.sim = None

    def attach(self, net) -> None:
        """Called once the network is built; adapters cache simulator handles here."""

    def check(self, use: str) -> None:
        """:class:`BackendError` unless the capabilities allow ``use`` ("training" or "inference")."""
        if not getattr(self.capabilities, use):
            raise BackendError(f"backend {self.name!r} does not support {use}; "
                               f"see 'snn-rl backends' for what each backend can do")

    # the calls a presentation makes ---------------------------------------------------
    def time_ms(self) -> float:
        return float(self.sim.get_current_time())

    def reset_state(self, net) -> None:
        """Put every membrane of ``net`` back to rest before a presentation."""
        raise NotImplementedError

    def set_input_currents(self, net, currents_nA: np.ndarray) -> None:
        net.inputs.set(i_offset=np.asarray(currents_nA, dtype=float))

    def set_output_bias(self, net, currents_nA: np.ndarray) -> None:
        """Extra current into each output neuron (nA): the exploration bias of training."""
        net.outputs.set(i_offset=np.asarray(currents_nA, dtype=float))

    def run(self, duration_ms: float) -> None:
        self.sim.run(duration_ms)

    def read_spikes(self, net) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Spike times (ms, absolute) of inputs and outputs since the last read."""
        return tuple(
            [np.asarray(st.magnitude, dtype=float) for st in pop.get_data("spikes", clear=True).segments[0].spiketrains]
            for pop in (net.inputs, net.outputs)
        )

    def write_weights(self, net, weights_nA: np.ndarray) -> None:
        net.plastic.set(weight=weights_nA)

    def read_weights(self, net) -> np.ndarray:
        return np.asarray(net.plastic.get("weight", format="array"), dtype=float)

    # what a target with its own arithmetic adjusts ------------------------------------
    def constrain(self, params):
        """The parameters (:class:`model.params.Params`) this target really runs.

        A target with fixed arithmetic (time step, delay grid) returns an adjusted copy, or
        raises ``ValueError`` for a combination it cannot run; the default changes nothing.
        """
        return params

    def connection(self, n_pre: int, n_post: int, weight_nA, delay_ms: float, allow_self_connections: bool = True):
        """Connector and synapse of an all-to-all projection.

        ``weight_nA``: one weight for every connection or an ``(n_pre, n_post)`` array (nA);
        ``delay_ms``: the delay of every connection (ms).
        """
        return (self.sim.AllToAllConnector(allow_self_connections=allow_self_connections),
                self.sim.StaticSynapse(weight=weight_nA, delay=delay_ms))
