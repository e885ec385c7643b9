"""The Snakemake pipeline end to end on the tiny CI config (config/ci.yaml), on NEST and NEURON.

One real run (2 backends x 1 seed, 8 epochs, clean and noisy tests on both backends, a short
lockstep replay, compare, report) in a temporary working directory, then dry runs against
it: nothing left to do, and a changed parameter reruns exactly the jobs that depend on it.
Bad configs stop before any job runs, naming the key; a killed job is rerun; --lint is clean.
"""

from __future__ import annotations

import csv
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, cli_env

SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")
CI_CONFIG = ROOT / "config" / "ci.yaml"

pytestmark = pytest.mark.simulator


def snakemake(workdir: Path, *args: str, overrides: dict | None = None, check: bool = True,
              timeout: float = 900) -> subprocess.CompletedProcess:
    """Run the pipeline's Snakefile in ``workdir`` with the CI config (plus ``overrides``)."""
    configs = [str(CI_CONFIG)]
    if overrides is not None:
        extra = workdir / "override.yaml"
        extra.write_text(yaml.safe_dump(overrides))
        configs.append(str(extra))
    proc = subprocess.run(
        [SNAKEMAKE, "--snakefile", str(ROOT / "Snakefile"), "--directory", str(workdir), "--cores", "2",
         "--configfile", *configs, *args],
        capture_output=True, text=True, env=cli_env(), timeout=timeout,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


def planned_jobs(proc: subprocess.CompletedProcess) -> dict[str, int]:
    """Rule -> number of jobs, from a dry run's job stats table."""
    text = proc.stdout + proc.stderr
    if "Nothing to be done" in text:
        return {}
    table = text.split("Job stats:", 1)[1]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M) if m.group(1) != "total"}


@pytest.fixture(scope="module")
def ci_run(tmp_path_factory) -> Path:
    workdir = tmp_path_factory.mktemp("pipeline")
    snakemake(workdir)
    return workdir


#: jobs of the CI config: 2 backends x 1 seed; tests on 2 backends, clean and 2 flipped pixels
ALL_JOBS = {"train": 2, "test": 8, "lockstep_protocol": 1, "lockstep_run": 2, "lockstep_compare": 1,
            "compare": 1, "report": 1, "all": 1}


def test_lint_is_clean(tmp_path):
    proc = snakemake(tmp_path, "--lint", check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Congratulations" in proc.stdout + proc.stderr


def test_dry_run_lists_every_job(tmp_path):
    proc = snakemake(tmp_path, "-n")
    assert planned_jobs(proc) == ALL_JOBS
    assert not (tmp_path / "runs").exists()


def test_pipeline_outputs(ci_run):
    runs = ci_run / "runs" / "abcd"
    for backend in ("nest", "neuron"):
        run = runs / backend / "seed1"
        summary = json.loads((run / "train.json").read_text())
        assert (summary["backend"], summary["seed"], summary["epochs_run"]) == (backend, 1, 8)
        for tested_on in ("nest", "neuron"):
            for flips in (0, 2):
                test = json.loads((run / "test" / tested_on / f"flips{flips}" / "test.json").read_text())
                assert test["backend"] == tested_on and test["noise_flips"] == flips
                assert test["n_presentations"] == 4 * (3 if flips == 0 else 2)
        assert (ci_run / "runs" / "logs" / "abcd" / backend / "seed1" / "train.log").stat().st_size > 0
        assert (ci_run / "runs" / "benchmarks" / "abcd" / backend / "seed1" / "train.tsv").exists()

    with open(runs / "compare" / "summary.tsv") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    assert len(rows) == 8
    assert {(r["train_backend"], r["test_backend"], r["noise_flips"]) for r in rows} == {
        (a, b, f) for a in ("nest", "neuron") for b in ("nest", "neuron") for f in ("0", "2")}
    assert all(0.0 <= float(r["accuracy"]) <= 1.0 for r in rows)
    with open(runs / "compare" / "transfer.tsv") as fh:
        transfer = list(csv.reader(fh, delimiter="\t"))
    assert transfer[0][1:] == ["nest", "neuron"] and [r[0] for r in transfer[1:]] == ["nest", "neuron"]
    compare = json.loads((runs / "compare" / "compare.json").read_text())
    own = {b: compare["clean_accuracy"][b]["1"][b] for b in ("nest", "neuron")}
    assert own == {b: float(next(r["accuracy"] for r in rows if r["train_backend"] == r["test_backend"] == b
                                 and r["noise_flips"] == "0")) for b in own}
    for name in ("learning_curves", "weights", "transfer", "noise"):
        assert (runs / "compare" / f"{name}.png").stat().st_size > 5_000

    (pair,) = json.loads((runs / "lockstep" / "agreement.json").read_text())["pairs"]
    assert (pair["a"], pair["b"], pair["windows"]) == ("nest", "neuron", 24)
    assert pair["inputs"]["within_one_rate"] == 1.0
    assert pair["all"]["within_one_rate"] >= 0.98

    html = (ci_run / "runs" / "report.html").read_text()
    assert "Transfer matrix" in html and "Lockstep agreement" in html and "Noise robustness" in html
    # self-contained: 4 compare figures, the lockstep figure and 4 rasters, no external files
    assert html.count('src="data:image/png;base64,') == 9
    assert not re.search(r'(src|href)="(?!data:|#)', html)


def test_second_run_has_nothing_to_do(ci_run):
    assert planned_jobs(snakemake(ci_run, "-n")) == {}


@pytest.mark.parametrize("overrides, expected", [
    # noise tests only: their 4 jobs, then the tables and the report
    ({"noise": {"repeats": 3}}, {"test": 4, "compare": 1, "report": 1, "all": 1}),
    # the lockstep replay only
    ({"lockstep": {"windows": 30}},
     {"lockstep_protocol": 1, "lockstep_run": 2, "lockstep_compare": 1, "report": 1, "all": 1}),
    # a model parameter: training and everything downstream of it
    ({"model": {"training": {"max_epochs": 9}}}, ALL_JOBS),
])
def test_changed_parameter_reruns_only_what_depends_on_it(ci_run, overrides, expected):
    assert planned_jobs(snakemake(ci_run, "-n", overrides=overrides)) == expected


@pytest.mark.parametrize("overrides, key", [
    ({"backends": ["nest", "brian2"]}, "['backends'][1]"),
    ({"seeds": -1}, "['seeds']"),
    ({"bogus_key": 1}, "'bogus_key' was unexpected"),
    ({"seeds": "three"}, "['seeds']"),
    ({"lockstep": {"windows": 2.5}}, "['lockstep']['windows']"),
    ({"model": {"training": {"max_epoch": 5}}}, "model.training.max_epoch"),
    ({"model": {"network": {"inhibition_nA": "strong"}}}, "model.network.inhibition_nA"),
])
def test_bad_config_stops_before_any_job_and_names_the_key(tmp_path, overrides, key):
    proc = snakemake(tmp_path, overrides=overrides, check=False)
    assert proc.returncode != 0
    assert key in proc.stdout + proc.stderr
    assert not (tmp_path / "runs").exists()


def test_killed_job_is_rerun_and_its_output_never_taken_as_done(tmp_path):
    """Kill snakemake and its jobs (SIGKILL: no clean-up) while a training job runs.

    snn-rl writes each file atomically, so a half-written file can only come from elsewhere;
    one is planted in the killed job's output to show that even then it is not taken as done.
    """
    overrides = {"backends": ["neuron"], "test_backends": ["neuron"], "noise": {"flips": []},
                 "lockstep": {"enabled": False},
                 "model": {"training": {"max_epochs": 400, "stop_at_criterion": False}}}
    extra = tmp_path / "override.yaml"
    extra.write_text(yaml.safe_dump(overrides))
    log = tmp_path / "runs" / "logs" / "abcd" / "neuron" / "seed1" / "train.log"
    proc = subprocess.Popen(
        [SNAKEMAKE, "--snakefile", str(ROOT / "Snakefile"), "--directory", str(tmp_path), "--cores", "1",
         "--configfile", str(CI_CONFIG), str(extra)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=cli_env(), start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 300
        while not (log.exists() and "epoch 1/" in log.read_text()):
            assert proc.poll() is None, "snakemake ended before the training job got going"
            assert time.monotonic() < deadline, "the training job did not start"
            time.sleep(0.2)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    run = tmp_path / "runs" / "abcd" / "neuron" / "seed1"
    assert not (run / "train.json").exists()
    (run / "weights.npz").write_bytes(b"PK\x03\x04 half a file")
    # without the workflow profile's rerun-incomplete, snakemake refuses to go on ...
    refused = snakemake(tmp_path, "-n", "--workflow-profile", "none", overrides=overrides, check=False)
    assert refused.returncode != 0
    assert "Incomplete files:\nruns/abcd/neuron/seed1/weights.npz" in refused.stdout + refused.stderr
    # ... with it (the default), the killed job is simply run again
    assert planned_jobs(snakemake(tmp_path, "-n", overrides=overrides))["train"] == 1
