"""Config validation, the derived lists every rule uses, and the input functions."""

import os
import sys
import time
from itertools import product
from pathlib import Path

import jsonschema
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

# the model's own parameter records check the parameters: and model: sections
from snn_rl.model.dataset import BUILTIN
from snn_rl.model.dataset import load as load_dataset
from snn_rl.model.params import load_params, params_json_schema
from snn_rl.model.text_input import standard_numbers
from snn_rl.analysis.report import config_digest, report_config_digest


def _stop(message):
    """Stop before any job with one line that names the config key (a traceback of the
    Snakefile is no help with a typo in a config file)."""
    print(f"snakemake: error: {message}", file=sys.stderr)
    sys.exit(2)


try:
    validate(config, schema="../schemas/config.schema.yaml")
except WorkflowError as exc:
    error = exc.__context__
    if not isinstance(error, jsonschema.ValidationError):
        raise
    _stop("config" + "".join(f"[{key!r}]" for key in error.absolute_path) + f": {error.message}")


def _check_against_schema(data, schema, path=()):
    """Stop at the first error of ``data`` against ``schema``, naming its key. JSON Schema
    counts 3.0 as an integer; a count written as 3.0 is a slip, so it is refused too."""
    base = jsonschema.validators.validator_for(schema)
    checker = base.TYPE_CHECKER.redefine("integer", lambda _c, x: isinstance(x, int) and not isinstance(x, bool))
    strict = jsonschema.validators.extend(base, type_checker=checker)(schema)
    error = jsonschema.exceptions.best_match(strict.iter_errors(data))
    if error is not None:
        _stop("config" + "".join(f"[{key!r}]" for key in [*path, *error.absolute_path]) + f": {error.message}"
              + (" (write a whole number without a decimal point)" if isinstance(error.instance, float)
                 and "integer" in error.message else ""))


def _strict_integers():
    import yaml

    schema = yaml.safe_load((Path(workflow.basedir) / "workflow" / "schemas" / "config.schema.yaml").read_text())
    _check_against_schema(config, schema)


_strict_integers()


def model_params():
    """The model's parameters: the named set or file of ``parameters`` with ``model`` laid over it."""
    try:
        base = load_params(config["parameters"])
    except ValueError as exc:
        raise ValueError(f"config key parameters: {exc}") from None
    config["model"] = standard_numbers(config["model"])  # 1e-3 is a number, as in a parameter file
    _check_against_schema(config["model"], params_json_schema(), ["model"])
    try:
        return base.merged(config["model"])
    except (TypeError, ValueError) as exc:
        raise ValueError(f"config key model: {exc}") from None


def _check_config():
    for name in config["datasets"]:
        if name not in BUILTIN and name not in config["dataset_files"]:
            raise ValueError(f"config key datasets: {name!r} is neither a built-in data set "
                             f"({', '.join(BUILTIN)}) nor a name in dataset_files")
        if name in config["dataset_files"]:  # read now: a bad file stops the run before any job
            try:
                load_dataset(config["dataset_files"][name])
            except ValueError as exc:
                raise ValueError(f"config key dataset_files.{name}: {exc}") from None
    both = set(EXTRA_TEST_BACKENDS) & set(TEST_BACKENDS)
    if both:
        raise ValueError(f"config key extra_test_backends: {', '.join(sorted(both))} already among the test backends")
    ls = config["lockstep"]
    if ls["reference_backend"] not in (None, *config["backends"]):
        raise ValueError(f"config key lockstep.reference_backend: {ls['reference_backend']!r} is not in backends")
    if ls["reference_seed"] is not None and ls["reference_seed"] not in SEEDS:
        raise ValueError(f"config key lockstep.reference_seed: {ls['reference_seed']} is not one of the seeds {SEEDS}")
    if ls["enabled"] and len(ls["backends"] or TEST_BACKENDS) < 2:
        raise ValueError("config key lockstep.backends: lockstep needs at least 2 backends (or lockstep.enabled: false)")


DATASETS = config["datasets"]
BACKENDS = config["backends"]
TEST_BACKENDS = config["test_backends"] or BACKENDS
EXTRA_TEST_BACKENDS = config["extra_test_backends"]
SEEDS = list(range(config["first_seed"], config["first_seed"] + config["seeds"]))
NOISE_FLIPS = config["noise"]["flips"]
LOCKSTEP = config["lockstep"]
LOCKSTEP_BACKENDS = LOCKSTEP["backends"] or TEST_BACKENDS
LOCKSTEP_REFERENCE = (LOCKSTEP["reference_backend"] or BACKENDS[0],
                      SEEDS[0] if LOCKSTEP["reference_seed"] is None else LOCKSTEP["reference_seed"])
try:
    _check_config()
    #: the full parameter set every training job runs with (a change reruns training)
    MODEL_PARAMS = model_params().to_dict()
except ValueError as exc:
    _stop(str(exc))

RUN = "runs/{dataset}/{backend}/seed{seed}"
TEST = "runs/{dataset}/{backend}/seed{seed}/test/{test_backend}/flips{flips}"


wildcard_constraints:
    dataset="|".join(DATASETS),
    backend="|".join(BACKENDS),
    seed=r"\d+",
    flips=r"\d+",


def dataset_spec(wildcards):
    """What ``snn-rl --dataset`` takes: a built-in name or the data-set file."""
    return config["dataset_files"].get(wildcards.dataset, wildcards.dataset)


def dataset_file(wildcards):
    """The data-set file as an input (none for a built-in), so editing it reruns its jobs."""
    path = config["dataset_files"].get(wildcards.dataset)
    return [path] if path else []


def test_keys():
    """(train backend, seed, test backend, flipped pixels) of every test of a data set."""
    keys = list(product(BACKENDS, SEEDS, TEST_BACKENDS, [0, *NOISE_FLIPS]))
    keys += [(b, s, t, 0) for b, s, t in product(BACKENDS, SEEDS, EXTRA_TEST_BACKENDS)]
    return keys


def test_results(wildcards):
    """Every ``test.json`` of a data set, in the order of :func:`test_keys`."""
    return [f"{TEST}/test.json".format(dataset=wildcards.dataset, backend=b, seed=s, test_backend=t, flips=f)
            for b, s, t, f in test_keys()]


def lockstep_reference(name):
    """Input function: file ``name`` of the training run whose weights seed the protocol."""
    backend, seed = LOCKSTEP_REFERENCE
    return lambda wildcards: f"{RUN}/{name}".format(dataset=wildcards.dataset, backend=backend, seed=seed)


def report_inputs(kind):
    """The files of one kind the report shows, over every data set."""
    if kind == "rasters":  # the clean tests of the first seed
        return [f"{TEST}/raster.png".format(dataset=d, backend=b, seed=s, test_backend=t, flips=f)
                for d in DATASETS for b, s, t, f in test_keys() if f == 0 and s == SEEDS[0]]
    patterns = {
        "compare": ["runs/{dataset}/compare/compare.json"],
        "figures": [f"runs/{{dataset}}/compare/{name}.png" for name in ("learning_curves", "weights", "transfer", "noise")],
        "lockstep": ["runs/{dataset}/lockstep/agreement.json"] if LOCKSTEP["enabled"] else [],
        "lockstep_figures": ["runs/{dataset}/lockstep/agreement.png"] if LOCKSTEP["enabled"] else [],
    }[kind]
    return [p.format(dataset=d) for d in DATASETS for p in patterns]


REPORT = "runs/report.html"
PREVIOUS_REPORT = "runs/report.previous.html"
CONFIG_DIGEST = config_digest(config)


# A report is the result of the config that made it: it carries the config's digest. A
# report of another config (or of no known config) is set aside before anything is planned,
# so Snakemake can never take it as up to date ("nothing to be done") for this config; after
# a failed run, a report that the run did not remake is set aside too. So runs/report.html
# never stands as the result of a run that did not make it. The earlier report is kept,
# renamed to runs/report.previous.html, never deleted. A dry run changes nothing and says so.
_STARTED = []


def _set_aside_report(why):
    if os.path.exists(REPORT):
        os.replace(REPORT, PREVIOUS_REPORT)
        print(f"snakemake: {why}; the earlier report is kept as {PREVIOUS_REPORT}", file=sys.stderr)


if os.path.exists(REPORT) and report_config_digest(Path(REPORT)) != CONFIG_DIGEST and workflow.is_main_process:
    if workflow.output_settings.dryrun:
        print(f"snakemake: note: {REPORT} was made with another config; a real run sets it aside and "
              "makes this config's report", file=sys.stderr)
    else:
        _set_aside_report(f"{REPORT} was made with another config")
