"""The network, described once with PyNN standard models.

``CharacterNetwork`` builds, on whatever simulator the backend adapter has set up:

- an input layer, one ``IF_curr_exp`` neuron per input channel, driven by a constant
  current (``i_offset``) while its pixel is on: about 3 spikes per 100 ms window;
- an output layer, one ``IF_curr_exp`` neuron per class;
- the plastic input -> output projection (all-to-all, excitatory, weights in nA, written by
  the host-side rule between presentations);
- lateral inhibition between all outputs (all-to-all without self-connections) so that one
  output answers.

A presentation resets every membrane to rest, switches the input currents on for the
window, off for the rest gap, and returns the spikes of both layers with times relative to
the window's onset, snapped to the time grid. Everything simulator-specific (set-up,
state reset, fast weight and spike paths) goes through the backend adapter (``snn_rl.backends``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from snn_rl.model.params import NetworkParams


@dataclass(frozen=True)
class Presentation:
    """Spikes of one presentation: one array of times (ms from window onset) per neuron."""

    pre: list[np.ndarray]
    post: list[np.ndarray]

    @property
    def post_counts(self) -> np.ndarray:
        return np.array([len(s) for s in self.post], dtype=int)


def input_gains(n_inputs: int, jitter: float, rng: np.random.Generator) -> np.ndarray:
    """Fixed per-neuron current gains in ``1 +- jitter`` so inputs do not fire in lockstep."""
    return 1.0 + rng.uniform(-jitter, jitter, size=n_inputs)


def initial_weights(n_inputs: int, n_outputs: int, p: NetworkParams, rng: np.random.Generator) -> np.ndarray:
    """Initial plastic weights (nA), uniform in ``[w_init_min_nA, w_init_max_nA]``."""
    return rng.uniform(p.w_init_min_nA, p.w_init_max_nA, size=(n_inputs, n_outputs))


class CharacterNetwork:
    """Input layer -> plastic weights -> output layer with lateral inhibition."""

    def __init__(self, backend, p: NetworkParams, weights: np.ndarray, gains: np.ndarray):
        """``backend``: a set-up adapter from :mod:`snn_rl.backends`; ``weights`` (nA) shape
        ``(n_inputs, n_outputs)``; ``gains`` one current gain per input neuron."""
        self.backend = backend
        self.p = p
        self.gains = np.asarray(gains, dtype=float)
        weights = np.asarray(weights, dtype=float)
        n_inputs, n_outputs = weights.shape
        if self.gains.shape != (n_inputs,):
            raise ValueError(f"{self.gains.shape[0]} input gains for {n_inputs} inputs")
        sim = backend.sim
        cell = p.cell.pynn()
        self.inputs = sim.Population(n_inputs, sim.IF_curr_exp(i_offset=0.0, **cell), label="input")
        self.outputs = sim.Population(n_outputs, sim.IF_curr_exp(**cell), label="output")
        self.plastic = sim.Projection(
            self.inputs, self.outputs,
            *backend.connection(n_inputs, n_outputs, weights, p.delay_ms),
            receptor_type="excitatory", label="input->output",
        )
        self.lateral = sim.Projection(
            self.outputs, self.outputs,
            *backend.connection(n_outputs, n_outputs, -p.inhibition_nA, p.inhibition_delay_ms,
                                allow_self_connections=False),
            receptor_type="inhibitory", label="lateral inhibition",
        )
        self.inputs.record("spikes")
        self.outputs.record("spikes")
        backend.attach(self)
        self._weights = weights.copy()

    @property
    def shape(self) -> tuple[int, int]:
        return self._weights.shape

    @property
    def presentation_ms(self) -> float:
        return self.p.window_ms + self.p.rest_ms

    def present(self, drive: np.ndarray, output_bias: np.ndarray | None = None) -> Presentation:
        """Show one input pattern: ``drive`` is 1.0 for inputs that are on (0..1 allowed);
        ``output_bias`` (nA, one value per output) is added to the outputs during the window."""
        drive = np.asarray(drive, dtype=float)
        if drive.shape != self.gains.shape:
            raise ValueError(f"input pattern of {drive.size} values for {self.gains.size} inputs")
        b = self.backend
        onset = b.time_ms()
        b.reset_state(self)
        b.set_input_currents(self, drive * self.gains * self.p.input_current_nA)
        if output_bias is not None:
            b.set_output_bias(self, output_bias)
        b.run(self.p.window_ms)
        b.set_input_currents(self, np.zeros_like(drive))
        if output_bias is not None:
            b.set_output_bias(self, np.zeros_like(output_bias, dtype=float))
        if self.p.rest_ms > 0:
            b.run(self.p.rest_ms)
        pre, post = b.read_spikes(self)
        return Presentation(pre=self._relative(pre, onset), post=self._relative(post, onset))

    def _relative(self, trains: list[np.ndarray], onset_ms: float) -> list[np.ndarray]:
        dt = self.p.timestep_ms
        trains = [np.asarray(t, dtype=float) for t in trains]
        flat = np.round((np.concatenate(trains) - onset_ms) / dt) * dt  # one call for every train
        return np.split(flat, np.cumsum([t.size for t in trains])[:-1])

    def with_weights(self, weights: np.ndarray) -> "CharacterNetwork":
        """The network with new plastic weights (nA): this one, written in place, where the
        backend's capabilities allow it (``weights_writable``), else a network built anew
        after the backend restarts (sPyNNaker cannot change a mapped projection)."""
        if self.backend.capabilities.weights_writable:
            self.set_weights(weights)
            return self
        self.backend.restart()
        return CharacterNetwork(self.backend, self.p, weights, self.gains)

    def set_weights(self, weights: np.ndarray) -> None:
        """Write the plastic weights (nA) into the simulator."""
        weights = np.asarray(weights, dtype=float)
        if weights.shape != self._weights.shape:
            raise ValueError(f"weights of shape {weights.shape}, network is {self._weights.shape}")
        self.backend.write_weights(self, weights)
        self._weights = weights.copy()

    def get_weights(self) -> np.ndarray:
        """The plastic weights (nA) as the simulator holds them."""
        return self.backend.read_weights(self)
