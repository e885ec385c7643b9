"""Every backend against exact solutions: one test body per scenario, run on each backend.

The cells are PyNN's standard ``IF_curr_exp`` with the project's parameters
(:class:`model.params.CellParams`), built through the backend adapters exactly as the
character network builds them. A backend the README installs that fails to import fails
these tests; none is skipped.

What each simulator integrates, and so what "exact" means for it:

- NEST's ``iaf_psc_exp`` integrates the linear sub-threshold dynamics exactly on the time
  grid (exact integration, Rotter & Diesmann 1999) and detects the threshold at the end of
  a step: a membrane trace equals the closed form to rounding, and a threshold crossing is
  reported at the first grid point after it, so ``0 <= ISI - T < dt``.
- Brian 2 (``pyNN.brian2``) also integrates ``IF_curr_exp`` exactly (its ``exact`` method:
  the membrane trace equals the closed form to rounding), but stamps a spike with the *start*
  of the step in which the membrane crossed threshold, and counts the refractory period from
  that stamp: a first spike comes at most one step before the closed form, ``-dt <= t - T < 0``,
  and so does every ISI. A synapse acts after the membrane update of its arrival step, so a
  spike from a ``SpikeSourceArray`` at ``t`` moves the membrane from ``t + delay + dt`` (a
  PSP exact to rounding, one step later than NEST's). Between two cells the two shifts cancel:
  a crossing in the step ``[T - dt, T)`` moves the target from ``T + delay`` on both simulators.
- NEURON (``pyNN.neuron``, fixed step) integrates the membrane with implicit (backward)
  Euler, which is first order in ``dt``: the membrane charges as if its time constant were
  ``dt / ln(1 + dt / tau_m)`` instead of ``tau_m``, and the crossing is reported on the grid.
  The time to threshold ``T_c`` therefore grows by at most ``T_c * (x / ln(1 + x) - 1)``
  with ``x = dt / tau_m``, plus the one step of the grid; the membrane trace deviates by a
  first-order error, bounded here by ``0.5 * dt / tau_syn`` of the peak (measured: 0.43).

Beyond the tolerances, the deviations are shown to be the integrators' own: every ISI equals
the integrator's discrete solution rounded up to the grid, exactly, and NEURON's PSP
deviation shrinks tenfold with a tenfold smaller step.

The SpiNNaker-emulating backends are these simulators at SpiNNaker's fixed 1 ms step, so they
get the bounds of the simulator they run on, at that step.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from snn_rl import backends
from snn_rl.backends.brian2 import Brian2Backend
from snn_rl.backends.nest import NestBackend
from snn_rl.backends.neuron import NeuronBackend
from conftest import INSTALLED_BACKENDS
from snn_rl.model.dataset import builtin, encode
from snn_rl.model.network import CharacterNetwork
from snn_rl.model.params import CellParams, NetworkParams, PlasticityParams, load_params

#: the seed's network and rule (one input per pixel), which these scenarios were written for
SEED = load_params("seed")
from snn_rl.model.rules.reward import plasticity_step
from snn_rl.model.rules.stdp import eligibility

#: backends validated here: every registered one except "spinnaker", which needs a board
#: (sPyNNaker's virtual board returns no recordings)
SCENARIO_BACKENDS = tuple(name for name in backends.names() if name != "spinnaker")
CELL = CellParams()


def _integration(backend) -> str:
    if isinstance(backend, NestBackend):
        return "exact"
    if isinstance(backend, Brian2Backend):
        return "exact_step_start"
    if isinstance(backend, NeuronBackend):
        return "backward_euler"
    raise AssertionError(f"backend {backend.name!r} has no declared integration method in this suite")


def _cases(timesteps=(0.1, 1.0)):
    """(backend, dt) pairs: every free-step backend at each dt, a fixed-step one at its own."""
    cases = []
    for name in SCENARIO_BACKENDS:
        fixed = backends.get(name).capabilities.timestep_ms
        for dt in (fixed,) if fixed is not None else timesteps:
            cases.append(pytest.param(name, dt, id=f"{name}-dt{dt}"))
    return cases


@pytest.fixture
def simulator(request):
    """A set-up adapter for (backend name, dt in ms); ended after the test."""
    made = []

    def start(name: str, dt: float):
        backend = backends.get(name)
        backend.setup(dt)
        made.append(backend)
        return backend

    yield start
    for backend in made:
        backend.end()


def test_every_installed_backend_is_validated():
    missing = set(INSTALLED_BACKENDS) - set(SCENARIO_BACKENDS)
    assert not missing, f"installed backends without scenarios: {missing}"
    for name in SCENARIO_BACKENDS:
        backends.get(name).import_simulator()  # a BackendError here fails the suite


# -- the input neuron under constant current ----------------------------------------------
def lif_time_to_threshold_ms(current_nA: float, c: CellParams, v_start: float) -> float:
    """Time for an LIF membrane starting at ``v_start`` (mV) to reach threshold under a
    constant current (nA): ``tau_m * ln((R I + v_rest - v_start) / (R I + v_rest - v_thresh))``."""
    r_mohm = c.tau_m / c.cm  # ms / nF = MOhm; MOhm x nA = mV
    drive = r_mohm * current_nA + c.v_rest
    return c.tau_m * math.log((drive - v_start) / (drive - c.v_thresh))


def lif_isi_ms(current_nA: float, c: CellParams) -> float:
    """Closed-form inter-spike interval: refractory period plus the climb from reset."""
    return c.tau_refrac + lif_time_to_threshold_ms(current_nA, c, c.v_reset)


def isi_bounds_ms(integration: str, current_nA: float, c: CellParams, dt: float) -> tuple[float, float]:
    """Smallest and largest ``ISI - T`` (or first spike minus its closed form) the integration
    method allows (see the module docstring)."""
    if integration == "exact":
        return 0.0, dt
    if integration == "exact_step_start":
        return -dt, 0.0
    x = dt / c.tau_m
    return 0.0, dt + lif_time_to_threshold_ms(current_nA, c, c.v_reset) * (x / math.log1p(x) - 1.0)


def isi_on_grid_ms(integration: str, current_nA: float, c: CellParams, dt: float) -> float:
    """The ISI the integrator itself gives: its discrete climb from reset, ended at the first
    grid point at or above threshold, plus the refractory period (a whole number of steps).
    Exact integration climbs as the closed form; implicit Euler multiplies the distance to
    the asymptote by ``1 / (1 + dt / tau_m)`` per step."""
    if integration in ("exact", "exact_step_start"):
        steps = lif_time_to_threshold_ms(current_nA, c, c.v_reset) / dt
        if integration == "exact_step_start":  # stamped one step earlier, refractory from the stamp
            return c.tau_refrac + dt * (math.ceil(steps - 1e-9) - 1)
    else:
        drive = c.tau_m / c.cm * current_nA + c.v_rest
        steps = math.log((drive - c.v_reset) / (drive - c.v_thresh)) / math.log1p(dt / c.tau_m)
    return c.tau_refrac + dt * math.ceil(steps - 1e-9)


CURRENTS_NA = (0.8, 1.0, 1.5, 3.0)  #: 1.0 nA is the model's input drive; 0.8 is near rheobase (0.75)


@pytest.mark.simulator
@pytest.mark.parametrize("name,dt", _cases())
def test_input_neuron_isi_matches_closed_form(simulator, name, dt):
    backend = simulator(name, dt)
    sim = backend.sim
    cells = sim.Population(len(CURRENTS_NA), sim.IF_curr_exp(i_offset=list(CURRENTS_NA), **CELL.pynn()))
    cells.record("spikes")
    sim.run(400.0)
    trains = cells.get_data("spikes").segments[0].spiketrains
    for current, train in zip(CURRENTS_NA, trains):
        times = np.asarray(train.magnitude, dtype=float)
        expected = lif_isi_ms(current, CELL)
        assert times.size >= 5, f"{current} nA: only {times.size} spikes"
        isi = np.diff(times)
        excess = isi - expected
        low, high = isi_bounds_ms(_integration(backend), current, CELL, dt)
        assert np.all(excess >= low - 1e-9) and np.all(excess <= high + 1e-9), (
            f"{current} nA at dt {dt} ms: ISIs {np.unique(np.round(isi, 6))} ms, closed form {expected:.4f} ms, "
            f"allowed excess [{low}, {high:.4f}] ms"
        )
        if dt <= 0.1:
            assert np.all(np.abs(excess) <= 0.01 * expected), f"{current} nA: ISI off by more than 1 %"
        # and the whole deviation is the integrator's: every ISI is its exact grid value
        np.testing.assert_allclose(isi, isi_on_grid_ms(_integration(backend), current, CELL, dt), rtol=0, atol=1e-9)
        # the first spike climbs from rest, with no refractory period before it
        first = lif_time_to_threshold_ms(current, CELL, CELL.v_rest)
        assert low - 1e-9 <= times[0] - first <= high + 1e-9


# -- the output neuron's response to one input spike --------------------------------------
def psp_mv(t_ms: np.ndarray, weight_nA: float, c: CellParams, tau_syn_ms: float) -> np.ndarray:
    """Membrane of a current-based exponential-synapse LIF after one spike arriving at t = 0:
    ``v_rest + w tau_m tau_s / (cm (tau_m - tau_s)) (exp(-t/tau_m) - exp(-t/tau_s))``."""
    t = np.asarray(t_ms, dtype=float)
    amplitude = weight_nA * c.tau_m * tau_syn_ms / (c.cm * (c.tau_m - tau_syn_ms))  # nA ms / nF = mV
    return np.where(t >= 0, c.v_rest + amplitude * (np.exp(-t / c.tau_m) - np.exp(-t / tau_syn_ms)), c.v_rest)


def measure_psps(backend, dt: float) -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray]]:
    """One excitatory and one inhibitory spike of 0.5 nA (a weight SpiNNaker holds exactly)
    through the connections the backend builds, with the network's delay; per synapse type:
    (name, sample times, recorded membrane, closed form), ms and mV."""
    sim = backend.sim
    weight, spike_ms, delay = 0.5, 10.0, NetworkParams().delay_ms
    source = sim.Population(1, sim.SpikeSourceArray(spike_times=[spike_ms]))
    # one population per synapse type (not views of one): pyNN.brian2 0.13 reads a projection
    # onto a view with the parent's indices
    cells = [sim.Population(1, sim.IF_curr_exp(**CELL.pynn())) for _ in range(2)]
    for cell, (sign, receptor) in zip(cells, ((1.0, "excitatory"), (-1.0, "inhibitory"))):
        proj = sim.Projection(source, cell, *backend.connection(1, 1, sign * weight, delay),
                              receptor_type=receptor)
        # format="array": pyNN.brian2 0.13 cannot build format="list"
        assert np.array_equal(np.asarray(proj.get("weight", format="array")).ravel(), [sign * weight])
        cell.record("v")
    sim.run(100.0)
    signals = [cell.get_data("v").segments[0].analogsignals[0] for cell in cells]
    t = np.asarray(signals[0].times.magnitude, dtype=float)
    v = np.column_stack([np.asarray(s.magnitude, dtype=float)[:, 0] for s in signals])
    assert t[1] - t[0] == pytest.approx(dt)
    # nothing moves before the spike arrives
    # (on Brian 2 one step later: its synapses act after the membrane update, see above)
    onset = spike_ms + delay + (dt if _integration(backend) == "exact_step_start" else 0.0)
    assert np.all(v[t < onset] == CELL.v_rest)
    return [(kind, t, v[:, k], psp_mv(t - onset, sign * weight, CELL, tau_syn))
            for k, (kind, sign, tau_syn) in enumerate((("excitatory", 1.0, CELL.tau_syn_E),
                                                       ("inhibitory", -1.0, CELL.tau_syn_I)))]


@pytest.mark.simulator
@pytest.mark.parametrize("name,dt", _cases())
def test_output_neuron_psp_matches_closed_form(simulator, name, dt):
    backend = simulator(name, dt)
    for kind, t, v, expected in measure_psps(backend, dt):
        error = np.abs(v - expected)
        peak = np.abs(expected - CELL.v_rest).max()
        assert peak > 1.0  # mV: a response worth comparing (1.57 mV)
        tau_syn = CELL.tau_syn_E if kind == "excitatory" else CELL.tau_syn_I
        bound = 1e-9 if _integration(backend).startswith("exact") else 0.5 * dt / tau_syn * peak
        assert error.max() <= bound, (
            f"{kind} PSP at dt {dt} ms: largest deviation {error.max():.3g} mV (peak {peak:.3f} mV), "
            f"allowed {bound:.3g} mV"
        )


@pytest.mark.simulator
@pytest.mark.parametrize("name", [n for n in SCENARIO_BACKENDS if backends.get(n).capabilities.timestep_ms is None])
def test_psp_deviation_is_discretisation_error(simulator, name):
    """A first-order integrator's deviation shrinks tenfold with a tenfold smaller step: it is
    the time step's, not a wrong time constant, weight or delay (those would not shrink)."""
    worst = {}
    for dt in (1.0, 0.1):
        backend = simulator(name, dt)
        worst[dt] = max(np.abs(v - expected).max() for _, _, v, expected in measure_psps(backend, dt))
        backend.end()
    if _integration(backend).startswith("exact"):
        assert worst[1.0] <= 1e-9 and worst[0.1] <= 1e-9
    else:
        assert 0.07 <= worst[0.1] / worst[1.0] <= 0.13, f"deviation {worst[1.0]:.3g} mV at 1 ms, {worst[0.1]:.3g} mV at 0.1 ms"


# -- the learning rule on the spikes a backend returned -----------------------------------
def reference_eligibility(pre, post, p: PlasticityParams) -> np.ndarray:
    """Pair-based STDP summed over every pre/post spike pair, written out from the formula."""
    elig = np.zeros((len(pre), len(post)))
    for i, pre_times in enumerate(pre):
        for j, post_times in enumerate(post):
            for t_pre in pre_times:
                for t_post in post_times:
                    lag = t_post - t_pre
                    if lag > 0:
                        elig[i, j] += p.a_plus * math.exp(-lag / p.tau_plus_ms)
                    elif lag < 0:
                        elig[i, j] -= p.a_minus * math.exp(lag / p.tau_minus_ms)
    return elig


def reference_update(w, baseline, pre, post, target, p: PlasticityParams, nudge):
    """``W + lr (R - b) E`` + homeostasis of a rewarded winner - depression of co-firing losers
    + exploration of non-winners after a wrong answer, clipped; from the rule's definition."""
    counts = [len(s) for s in post]
    top = max(counts)
    winner = counts.index(top) if top > 0 and counts.count(top) == 1 else -1
    r = p.reward_correct if winner == target else p.reward_wrong
    active = np.array([1.0 if len(s) else 0.0 for s in pre])
    new = w + p.learning_rate_nA * (r - baseline[target]) * reference_eligibility(pre, post, p)
    if winner >= 0:
        if winner == target:
            new[:, winner] += p.homeostasis_nA * (p.target_spikes - counts[winner]) * active
        for j, n in enumerate(counts):
            if j != winner:
                new[:, j] -= p.loser_depression_nA * n * active
    if winner != target:
        for j in range(len(post)):
            if j != winner:
                new[:, j] += p.exploration_nA * nudge[j] * active
    return np.clip(new, p.w_min_nA, p.w_max_nA), winner, r


@pytest.mark.simulator
@pytest.mark.parametrize("name", SCENARIO_BACKENDS)
def test_learning_rule_on_backend_spikes_matches_reference(simulator, name):
    dataset = builtin("abcd")
    net_p = backends.get(name).constrain(SEED).network
    backend = simulator(name, net_p.timestep_ms)
    rng = np.random.default_rng(7)
    n_in, n_out = dataset.n_pixels, len(dataset)
    weights = rng.uniform(0.9, 1.3, size=(n_in, n_out))  # strong enough for several outputs to fire
    gains = 1.0 + rng.uniform(-0.05, 0.05, size=n_in)
    net = CharacterNetwork(backend, net_p, weights, gains)
    p = SEED.plasticity
    saw_potentiation = saw_depression = False
    for target, image in enumerate(dataset.images):
        drive = encode(image, net_p.input_encoding)
        pres = net.present(drive)
        # the spikes returned are the simulator's own: on the grid, inside the presentation,
        # the driven inputs firing at their closed-form interval
        dt = net_p.timestep_ms
        for train in pres.pre + pres.post:
            assert np.all((train >= 0) & (train < net.presentation_ms))
            assert np.allclose(train / dt, np.round(train / dt), atol=1e-6)
        for i in np.flatnonzero(drive):
            isi = np.diff(pres.pre[i])
            expected = lif_isi_ms(net_p.input_current_nA * gains[i], CELL)
            low, high = isi_bounds_ms(_integration(backend), net_p.input_current_nA * gains[i], CELL, dt)
            assert isi.size >= 2 and np.all(isi - expected >= low - 1e-9) and np.all(isi - expected <= high + 1e-9)
        assert not any(len(pres.pre[i]) for i in np.flatnonzero(drive == 0))

        elig = reference_eligibility(pres.pre, pres.post, p)
        np.testing.assert_allclose(eligibility(pres.pre, pres.post, p.tau_plus_ms, p.tau_minus_ms, p.a_plus, p.a_minus),
                                   elig, rtol=1e-12, atol=1e-12)
        baseline = rng.uniform(-0.5, 0.5, size=n_out)
        nudge = rng.random(n_out)
        step = plasticity_step(weights, baseline, pres.pre, pres.post, target, p, nudge=nudge)
        expected_w, expected_winner, expected_r = reference_update(weights, baseline, pres.pre, pres.post, target, p, nudge)
        assert step.winner == expected_winner and step.reward == expected_r
        np.testing.assert_allclose(step.weights, expected_w, rtol=0, atol=1e-12)
        lags = np.array([b - a for pre_t in pres.pre for post_t in pres.post for a in pre_t for b in post_t])
        saw_potentiation |= bool(np.any(lags > 0))
        saw_depression |= bool(np.any(lags < 0))
    # the spike pairs exercised both halves of the STDP window
    assert saw_potentiation and saw_depression


# -- the weight matrix through the write and read path ------------------------------------
@pytest.mark.simulator
@pytest.mark.parametrize("name", SCENARIO_BACKENDS)
def test_weight_matrix_survives_write_and_read(simulator, name):
    """Distinct values in a non-square matrix, so a transposition or a lost entry shows.

    NEURON holds weights in nA as written. NEST holds them in pA (Brian 2 in A, alike): the simulator keeps the
    double nearest to 1000 w, and dividing by 1000 on the way back can land one unit in the
    last place (ulp) away from w; that is the whole allowed difference. A SpiNNaker-emulating
    backend holds, exactly, the value of SpiNNaker's 16-bit synaptic word for w (its
    ``on_chip``, within 1 % of the largest weight here; the rounding itself is tested with
    :mod:`model.quantisation`).
    """
    net_p = backends.get(name).constrain(SEED).network
    backend = simulator(name, net_p.timestep_ms)
    rng = np.random.default_rng(11)
    n_in, n_out = 15, 4
    built = rng.uniform(0.0, 3.0, size=(n_in, n_out))
    written = rng.permutation(np.linspace(0.01, 2.99, n_in * n_out)).reshape(n_in, n_out) + rng.uniform(0, 1e-3, (n_in, n_out))
    net = CharacterNetwork(backend, net_p, built, np.ones(n_in))

    on_chip = getattr(backend, "on_chip", None)
    # NEST in pA and Brian 2 in A: one ulp; NEURON in nA and SpiNNaker's words (exact in pA too): none
    allowed_ulps = 1 if isinstance(backend, (NestBackend, Brian2Backend)) and on_chip is None else 0

    def assert_transferred(read, w):
        expect = w if on_chip is None else np.asarray(on_chip(w, n_in))
        assert np.abs(expect - w).max() <= 0.01 * np.abs(w).max()
        ulps = np.abs(read - expect) / np.spacing(np.abs(expect))
        assert ulps.max() <= allowed_ulps, f"read-back differs by up to {ulps.max():.0f} ulp"

    assert_transferred(net.get_weights(), built)
    net.set_weights(written)
    assert_transferred(net.get_weights(), written)
    net.present(np.ones(n_in))  # a run leaves static weights as they are
    assert_transferred(net.get_weights(), written)
    net.set_weights(built)
    assert_transferred(net.get_weights(), built)
