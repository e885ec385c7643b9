"""snn-rl: reward-modulated STDP, described once in PyNN, run on NEST, NEURON and SpiNNaker.

The Python API (docs/api.md), used by the ``snn-rl`` command line and by every Snakemake
rule; each call takes parameters, a data set, a backend name and an output folder, checks
everything before it writes, and returns a result record::

    import snn_rl

    params = snn_rl.load_params("reward")                 # or snn_rl.Params(), or a YAML file
    run = snn_rl.train(params, "alphabet", "nest", "runs/alpha", seed=1)
    result = snn_rl.test("runs/alpha", "alphabet", "neuron", "runs/alpha-on-neuron")
    print(result.evaluation.accuracy)

The layout behind it: :mod:`snn_rl.model` (the model's description, no simulator),
:mod:`snn_rl.backends` (one adapter per simulator), :mod:`snn_rl.experiments` (training,
testing, lockstep replay), :mod:`snn_rl.deployment` (SpiNNaker emulation and bundles, NIR export),
:mod:`snn_rl.analysis` (tables, figures, the report) and :mod:`snn_rl.cli`.
"""

from __future__ import annotations

import importlib

#: API name -> module that defines it, imported on first use (``import snn_rl`` stays cheap)
_API = {
    "Params": "snn_rl.model.params",
    "load_params": "snn_rl.model.params",
    "parameter_set_names": "snn_rl.model.params",
    "Dataset": "snn_rl.model.dataset",
    "load_dataset": "snn_rl.model.dataset",
    "train": "snn_rl.experiments.training",
    "TrainResult": "snn_rl.experiments.training",
    "test": "snn_rl.experiments.evaluation",
    "TestResult": "snn_rl.experiments.evaluation",
    "load_run": "snn_rl.experiments.runs",
    "lockstep_protocol": "snn_rl.experiments.lockstep",
    "replay": "snn_rl.experiments.lockstep",
    "agreement": "snn_rl.analysis.agreement",
    "emulate": "snn_rl.deployment.emulation",
    "EmulationResult": "snn_rl.deployment.emulation",
    "deploy": "snn_rl.deployment.spinnaker",
    "DeployResult": "snn_rl.deployment.spinnaker",
    "export": "snn_rl.deployment.nir_run",
    "import_graph": "snn_rl.deployment.nir_run",
    "nir_test": "snn_rl.deployment.nir_run",
    "InputError": "snn_rl.errors",
    "DeploymentError": "snn_rl.errors",
}
_RENAMED = {"load_dataset": "load"}  #: API name -> name in its module

__all__ = sorted(_API)


def __getattr__(name: str):
    if name not in _API:
        raise AttributeError(f"module 'snn_rl' has no attribute {name!r}")
    value = getattr(importlib.import_module(_API[name]), _RENAMED.get(name, name))
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_API))
