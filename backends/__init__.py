"""Backend adapters: one PyNN network description, several simulators.

``get(name)`` returns a new, not yet set-up adapter; the simulator itself is imported only
by :meth:`Backend.setup`, so listing or choosing a backend never needs it installed.
"""

from __future__ import annotations

import importlib

from backends.base import Backend, BackendError, Capabilities

#: backend name -> "module:class", imported on use
REGISTRY = {
    "nest": "backends.nest:NestBackend",
    "neuron": "backends.neuron:NeuronBackend",
    "spinnaker": "backends.spinnaker:SpinnakerBackend",
    "spinnaker-emulated": "backends.spinnaker_emulated:SpinnakerEmulatedBackend",
    "spinnaker-emulated-neuron": "backends.spinnaker_emulated:SpinnakerEmulatedNeuronBackend",
}


def names() -> list[str]:
    return list(REGISTRY)


def get(name: str, fast: bool = True) -> Backend:
    """A new adapter for backend ``name``; :class:`BackendError` for an unknown name.

    ``fast=False`` keeps every per-presentation call on PyNN's API (see :mod:`backends.base`).
    """
    try:
        target = REGISTRY[name]
    except KeyError:
        raise BackendError(f"unknown backend {name!r}; choose one of: {', '.join(REGISTRY)}") from None
    module, cls = target.split(":")
    return getattr(importlib.import_module(module), cls)(fast=fast)


__all__ = ["Backend", "BackendError", "Capabilities", "REGISTRY", "get", "names"]
