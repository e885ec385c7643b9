"""SpiNNaker through sPyNNaker's PyNN front end (``pyNN.spiNNaker``, sPyNNaker 1!7.4.1).

The machine is chosen by sPyNNaker's own cfg file, ``.spynnaker.cfg``, found (exactly one of
them) in ``$XDG_CONFIG_DIRS`` (``/etc/xdg``), ``$XDG_CONFIG_HOME`` (``~/.config``) or ``~``,
with an optional ``./spynnaker.cfg`` in the working directory on top; its ``[Machine]``
section names a virtual board, a local board's address or a spalloc server (templates in
``backends/spinnaker_cfg/``, installed with the package: :data:`CFG_TEMPLATES`). :func:`read_machine_config` checks that file before sPyNNaker starts,
and :func:`check_machine_reachable` asks the board or server for an answer with a short
timeout, so a wrong cfg or an absent machine gives one line instead of a template written
into the home directory, a traceback or a hang.

How the presentation protocol maps onto sPyNNaker:

- plastic weights go down as a ``FromListConnector`` (sPyNNaker takes no weight arrays);
  the sign of a synapse comes from its receptor type alone, so negative plastic weights are
  refused;
- a presentation resets the state with ``Population.set_state`` (sPyNNaker's extension),
  and ``Population.set(i_offset=...)`` between runs; sPyNNaker reads the state back and
  reloads the neuron data for that, so each presentation costs two reloads on a board;
- new weights cannot be written into a mapped projection (``Projection.set`` is not
  implemented in sPyNNaker, issue SpiNNakerManchester/sPyNNaker#1038): the adapter declares
  ``weights_writable=False``, and a weight write restarts the simulator and builds the
  network anew with the new weights
  (:meth:`snn_rl.model.network.CharacterNetwork.with_weights`): training on a board re-maps
  once per training presentation;
- a virtual board maps the network and generates its data but returns no spikes and cannot
  read state back, so the first ``run`` there stops with an error that reports the placement.
"""

from __future__ import annotations

import configparser
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import numpy as np

from snn_rl.backends.base import Backend, BackendError, Capabilities
from snn_rl.model import quantisation as q

CFG_NAME = "spynnaker.cfg"
#: templates of sPyNNaker's cfg: virtual.cfg, board.cfg, spalloc.cfg
CFG_TEMPLATES = Path(__file__).resolve().with_name("spinnaker_cfg")
#: UDP port of the SpiNNaker control protocol (SCP) on a board's Ethernet chip
SCP_PORT = 17893
DEFAULT_SPALLOC_PORT = 22244
PROBE_TIMEOUT_S = 2.0
MACHINE_KEYS = ("virtual_board", "machine_name", "spalloc_server", "remote_spinnaker_url")


class SpinnakerConfigError(BackendError):
    """The sPyNNaker cfg is absent or does not name a usable machine."""


@dataclass(frozen=True)
class MachineConfig:
    """What the sPyNNaker cfg says about the machine."""

    files: tuple[str, ...]  #: the cfg files read, in the order sPyNNaker reads them
    mode: str  #: "virtual", "board", "spalloc" or "remote"
    version: int | None  #: board version: 3 (4 chips), 5 (48 chips), ...
    address: str | None  #: board address, spalloc server or remote URL
    spalloc_port: int = DEFAULT_SPALLOC_PORT

    def describe(self) -> str:
        where = f" at {self.address}" if self.address else ""
        return f"{self.mode} SpiNNaker machine{where} (version {self.version}; cfg {', '.join(self.files)})"


def user_cfg_candidates() -> list[Path]:
    """Where sPyNNaker looks for its user cfg (``spinn_utilities.config_holder._user_cfg``)."""
    import appdirs

    dotname = "." + CFG_NAME
    return [Path(appdirs.site_config_dir(), dotname), Path(appdirs.user_config_dir(), dotname),
            Path.home() / dotname]


def _value(parser, key: str) -> str | None:
    """A [Machine] value with sPyNNaker's spelling rules: ``None`` and empty mean unset."""
    for option in parser.options("Machine") if parser.has_section("Machine") else ():
        if option.replace("_", "").lower() == key.replace("_", "").lower():
            raw = parser.get("Machine", option).strip()
            return None if raw in ("", "None") else raw
    return None


def read_machine_config(cwd: Path | None = None) -> MachineConfig:
    """Find and check the sPyNNaker cfg; :class:`SpinnakerConfigError` says what to fix."""
    found = [p for p in user_cfg_candidates() if p.is_file()]
    hint = (f"copy virtual.cfg, board.cfg or spalloc.cfg from {CFG_TEMPLATES} to "
            f"~/.{CFG_NAME} (or to $XDG_CONFIG_HOME/.{CFG_NAME})")
    if not found:
        raise SpinnakerConfigError(
            f"no sPyNNaker cfg found (looked for {', '.join(str(p) for p in user_cfg_candidates())}); {hint}")
    if len(found) > 1:
        raise SpinnakerConfigError(f"two sPyNNaker cfg files, {found[0]} and {found[1]}: sPyNNaker accepts one; remove one")
    files = [found[0]]
    local = Path(cwd or os.getcwd()) / CFG_NAME
    if local.is_file():
        files.append(local)
    parser = configparser.ConfigParser(inline_comment_prefixes=("#", ";"))
    for path in files:
        try:
            parser.read(path)
        except configparser.Error as exc:
            raise SpinnakerConfigError(f"{path} is not a valid cfg file: {str(exc).splitlines()[0]}") from None
    where = " + ".join(str(p) for p in files)
    virtual = (_value(parser, "virtual_board") or "False").lower() in ("true", "1", "yes", "on")
    set_keys = [k for k in MACHINE_KEYS[1:] if _value(parser, k)] + (["virtual_board"] if virtual else [])
    if not set_keys:
        raise SpinnakerConfigError(
            f"{where} names no machine: set [Machine] virtual_board = True, machine_name = <board address> "
            f"or spalloc_server = <URL> (templates in {CFG_TEMPLATES})")
    if len(set_keys) > 1:
        raise SpinnakerConfigError(f"{where} sets {' and '.join(set_keys)} in [Machine]; set exactly one")
    version_text = _value(parser, "version")
    try:
        version = int(version_text) if version_text is not None else None
    except ValueError:
        raise SpinnakerConfigError(f"{where}: [Machine] version = {version_text!r} is not a whole number (5 for a 48-chip board, 3 for a 4-chip board)") from None
    if version is None and set_keys[0] in ("virtual_board", "machine_name"):
        raise SpinnakerConfigError(
            f"{where}: [Machine] version is missing; set 5 for a 48-chip board (Spin5) or 3 for a 4-chip board")
    port_text = _value(parser, "spalloc_port")
    mode = {"virtual_board": "virtual", "machine_name": "board", "spalloc_server": "spalloc",
            "remote_spinnaker_url": "remote"}[set_keys[0]]
    return MachineConfig(
        files=tuple(str(p) for p in files), mode=mode, version=version,
        address=None if mode == "virtual" else _value(parser, set_keys[0]),
        spalloc_port=int(port_text) if port_text and port_text.isdigit() else DEFAULT_SPALLOC_PORT,
    )


def check_machine_reachable(cfg: MachineConfig, timeout_s: float = PROBE_TIMEOUT_S) -> None:
    """Ask the board (an SCP version request) or the server (a TCP connection) for an answer
    within ``timeout_s`` seconds; :class:`SpinnakerConfigError` if none comes."""
    if cfg.mode == "virtual":
        return
    fix = f"check that it is switched on and reachable, or set virtual_board = True in {cfg.files[-1]}"
    if cfg.mode == "board":
        from spinnman.connections.udp_packet_connections import SCAMPConnection
        from spinnman.messages.scp.impl import GetVersion

        try:
            conn = SCAMPConnection(remote_host=cfg.address)
            try:
                conn.send(conn.get_scp_data(GetVersion(0, 0, 0)))
                conn.receive_scp_response(timeout=timeout_s)
            finally:
                conn.close()
        except Exception as exc:  # spinnman raises its own IO and timeout exceptions
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise SpinnakerConfigError(
                f"no SpiNNaker board answered at {cfg.address} (UDP port {SCP_PORT}): {reason}; {fix}") from None
        return
    url = urlparse(cfg.address if "://" in cfg.address else f"tcp://{cfg.address}")
    port = url.port or {"http": 80, "https": 443}.get(url.scheme, cfg.spalloc_port)
    try:
        socket.create_connection((url.hostname, port), timeout=timeout_s).close()
    except OSError as exc:
        raise SpinnakerConfigError(f"the {cfg.mode} server {url.hostname}:{port} did not answer ({exc}); {fix}") from None


def placement_report(populations) -> dict:
    """Cores and chips used by the application: per population and in total (after a run)."""
    from spynnaker.pyNN.data import SpynnakerDataView

    per_pop, chips, cores = {}, set(), 0
    for pop in populations:
        entries = []
        for vertex in pop._vertex.machine_vertices:  # sPyNNaker keeps the machine vertices here
            pl = SpynnakerDataView.get_placement_of_vertex(vertex)
            entries.append({"neurons": [vertex.vertex_slice.lo_atom, vertex.vertex_slice.hi_atom],
                            "chip": [pl.x, pl.y], "core": pl.p})
            chips.add((pl.x, pl.y))
        cores += len(entries)
        per_pop[pop.label] = entries
    return {
        "application_cores": cores,
        "application_chips": sorted(list(c) for c in chips),
        "total_cores_including_system": SpynnakerDataView.get_n_placements(),
        "populations": per_pop,
    }


class SpinnakerBackend(Backend):
    name = "spinnaker"
    pynn_module = "pyNN.spiNNaker"
    requirement = "spynnaker==1!7.4.1"
    extra = "spinnaker"
    capabilities = Capabilities(training=True, inference=True, timestep_ms=q.SPINNAKER_TIMESTEP_MS,
                                weights_writable=False)

    def __init__(self) -> None:
        super().__init__()
        self.machine: MachineConfig | None = None
        self._net = None

    def constrain(self, params):
        return q.spinnaker_params(params)

    def usable_now(self) -> str | None:
        """A machine is configured and answers (a virtual board maps but records nothing)."""
        try:
            cfg = read_machine_config()
            check_machine_reachable(cfg)
        except SpinnakerConfigError as exc:
            return str(exc)
        if cfg.mode == "virtual":
            return f"only a virtual board is configured ({cfg.files[-1]}): it maps a network but records no spikes"
        return None

    def _setup(self, timestep_ms: float, threads: int) -> None:
        self.machine = read_machine_config()
        check_machine_reachable(self.machine)
        try:
            self.sim.setup(timestep=timestep_ms)
        except Exception as exc:  # sPyNNaker's cfg and machine errors have many types
            self.sim = None
            raise BackendError(f"sPyNNaker could not start on the {self.machine.describe()}: "
                               f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from None

    def connection(self, n_pre, n_post, weight_nA, delay_ms, allow_self_connections=True):
        w = np.asarray(weight_nA, dtype=float)
        if w.ndim == 0:
            return super().connection(n_pre, n_post, float(w), delay_ms, allow_self_connections)
        if np.any(w < 0):
            raise BackendError("SpiNNaker takes a synapse's sign from its receptor type; "
                               "this projection has negative weights among positive ones")
        # sPyNNaker accepts no weight arrays: every connection goes down as (pre, post, w, delay)
        conns = [(i, j, float(w[i, j]), float(delay_ms)) for i in range(n_pre) for j in range(n_post)
                 if allow_self_connections or i != j]
        return self.sim.FromListConnector(conns), self.sim.StaticSynapse()

    def attach(self, net) -> None:
        self._net = net
        self._v_rest = net.p.cell.v_rest

    def reset_state(self, net) -> None:
        for pop in (net.inputs, net.outputs):
            pop.set_state(v=self._v_rest, isyn_exc=0.0, isyn_inh=0.0)

    def run(self, duration_ms: float) -> None:
        super().run(duration_ms)
        if self.machine.mode == "virtual":
            # nothing after the mapping works without a board: no spikes, no state read-back
            placed = placement_report([self._net.inputs, self._net.outputs])
            raise BackendError(
                f"the network mapped on the virtual board ({placed['application_cores']} cores on chips "
                f"{placed['application_chips']}), but a virtual board runs nothing and returns no spikes; "
                f"name a board or spalloc server in the sPyNNaker cfg (templates in {CFG_TEMPLATES})")

    def write_weights(self, net, weights_nA: np.ndarray) -> None:
        raise BackendError("sPyNNaker cannot change the weights of a mapped projection; "
                           "build the network anew with them (CharacterNetwork.with_weights)")
