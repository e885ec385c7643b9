"""A finished training run read back: its weights, the parameters it ran with, its data set."""

from __future__ import annotations

from pathlib import Path

from snn_rl.errors import InputError
from snn_rl.experiments.storage import StorageError, TrainedWeights, load_weights, read_json
from snn_rl.model.dataset import BUILTIN, DIGITS, Dataset, as_dataset, n_inputs
from snn_rl.model.params import Params


def _folder(weights_path: Path) -> Path:
    return weights_path if weights_path.is_dir() else weights_path.parent


def recorded_params(weights_path: Path) -> Params:
    """The parameters recorded in ``train.json`` beside a weights file, or the defaults."""
    summary = _folder(weights_path) / "train.json"
    if summary.exists():
        try:
            return Params.from_dict(read_json(summary)["params"])
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"{summary} has no usable parameters ({exc})") from None
    return Params()


def load_trained(weights_path: Path, dataset: Dataset, params: Params | None = None) -> tuple[TrainedWeights, Params]:
    """Trained weights that fit ``dataset``, and the parameters to run them with: ``params``
    or else those recorded beside the weights, with the input encoding the weights were
    trained with and the outputs per class the weights have."""
    weights_path = Path(weights_path)
    trained = load_weights(weights_path)
    trained.check_matches(dataset.labels, dataset.shape, str(weights_path))
    if trained.weights.shape[0] != n_inputs(dataset.n_pixels, trained.input_encoding):
        raise InputError(f"{weights_path}: {trained.weights.shape[0]} inputs do not fit {dataset.n_pixels} pixels "
                         f"with encoding {trained.input_encoding}")
    params = recorded_params(weights_path) if params is None else params
    # the weights say how inputs are driven and how many outputs answer for each class
    fitted = {"input_encoding": trained.input_encoding, "outputs_per_class": trained.outputs_per_class}
    if any(getattr(params.network, key) != value for key, value in fitted.items()):
        params = params.replace(network=fitted)
    return trained, params


def recorded_builtin(weights: Path) -> Dataset:
    """The built-in data set a run was trained on, known by the digest its ``train.json``
    records (a user's file named ``abcd.txt`` is not the built-in A-D);
    :class:`InputError` if the run was trained on anything else."""
    summary = _folder(Path(weights)) / "train.json"
    record = read_json(summary) if summary.exists() else {}
    name = record.get("dataset") if isinstance(record, dict) else None
    if name in BUILTIN or name in DIGITS:
        candidate = as_dataset(name)
        if record.get("dataset_source") == "built-in" and record.get("dataset_sha256") == candidate.digest():
            return candidate
        # a record from before digests were kept: it named a file among its inputs if it read one
        inputs = (record.get("provenance") or {}).get("inputs") or {}
        if ("dataset_source" not in record and "dataset_sha256" not in record and "dataset" not in inputs
                and record.get("labels") == list(candidate.labels)):
            return candidate
    raise InputError(f"cannot tell which data set {weights} was trained on "
                     f"({'a file' if name else 'no train.json record'}, not a built-in one); pass --dataset")


def load_run(weights: Path | str, dataset: Dataset | str | None = None) -> tuple[TrainedWeights, Dataset, Params]:
    """Weights, data set and parameters of a trained run; without ``dataset``, the built-in
    data set recorded in its ``train.json``."""
    path = Path(weights)
    if not path.exists():  # named before the data set it would be looked up for
        raise StorageError(f"{path} does not exist")
    if dataset is None:
        dataset = recorded_builtin(path)
    dataset = as_dataset(dataset)
    trained, params = load_trained(path, dataset)
    return trained, dataset, params
