"""Backend adapters: one PyNN network description, several simulators.

``get(name)`` returns a new, not yet set-up adapter; the simulator itself is imported only
by :meth:`Backend.setup`, so listing or choosing a backend never needs it installed.
Every backend module has the same shape: a plain class on PyNN's API and, where it pays, a
fast class that answers the per-presentation calls through the simulator's own handles.
"""

from __future__ import annotations

import importlib

from snn_rl.backends.base import Backend, BackendError, Capabilities

#: backend name -> ("module:plain class", "module:fast class"), imported on use
REGISTRY = {
    "nest": ("snn_rl.backends.nest:NestBackend", "snn_rl.backends.nest:FastNestBackend"),
    "neuron": ("snn_rl.backends.neuron:NeuronBackend", "snn_rl.backends.neuron:FastNeuronBackend"),
    "brian2": ("snn_rl.backends.brian2:Brian2Backend", "snn_rl.backends.brian2:FastBrian2Backend"),
    "spinnaker": ("snn_rl.backends.spinnaker:SpinnakerBackend",) * 2,
    "spinnaker-emulated": ("snn_rl.backends.spinnaker_emulated:SpinnakerEmulatedBackend",
                           "snn_rl.backends.spinnaker_emulated:FastSpinnakerEmulatedBackend"),
    "spinnaker-emulated-neuron": ("snn_rl.backends.spinnaker_emulated:SpinnakerEmulatedNeuronBackend",
                                  "snn_rl.backends.spinnaker_emulated:FastSpinnakerEmulatedNeuronBackend"),
}


def names() -> list[str]:
    return list(REGISTRY)


def get(name: str, fast: bool = True) -> Backend:
    """A new adapter for backend ``name``; :class:`BackendError` for an unknown name.

    ``fast=False`` keeps every per-presentation call on PyNN's API (see :mod:`.base`).
    """
    try:
        plain, quick = REGISTRY[name]
    except KeyError:
        raise BackendError(f"unknown backend {name!r}; choose one of: {', '.join(REGISTRY)}") from None
    module, cls = (quick if fast else plain).split(":")
    return getattr(importlib.import_module(module), cls)()


__all__ = ["Backend", "BackendError", "Capabilities", "REGISTRY", "get", "names"]
