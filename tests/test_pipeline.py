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

import numpy as np
import pytest
import yaml

from conftest import ROOT, cli_env
from snn_rl.analysis.report import report_config_digest

SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")
CI_CONFIG = ROOT / "config" / "ci.yaml"


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
    # a report another config left behind: the run must not take it as its own result
    (workdir / "runs").mkdir()
    (workdir / "runs" / "report.html").write_text(OTHER_REPORT)
    snakemake(workdir)
    return workdir


OTHER_REPORT = '<html><head><meta name="snn-rl-config" content="0123456789abcdef"></head>another config</html>'


def test_a_report_of_another_config_is_set_aside_not_lost(ci_run):
    assert (ci_run / "runs" / "report.previous.html").read_text() == OTHER_REPORT
    made_with = report_config_digest(ci_run / "runs" / "report.html")
    assert made_with is not None and made_with != "0123456789abcdef"


#: jobs of the CI config: 2 backends x 1 seed; tests on 2 backends, clean and 2 flipped pixels;
#: each trained network also tested on SpiNNaker's arithmetic
ALL_JOBS = {"train": 2, "test": 8, "emulate_spinnaker": 2, "export_nir": 2, "test_nir": 2, "lockstep_protocol": 1,
            "lockstep_run": 2, "lockstep_compare": 1, "compare": 1, "report": 1, "all": 1}


def test_lint_is_clean(tmp_path):
    proc = snakemake(tmp_path, "--lint", check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Congratulations" in proc.stdout + proc.stderr


def test_dry_run_lists_every_job(tmp_path):
    proc = snakemake(tmp_path, "-n")
    assert planned_jobs(proc) == ALL_JOBS
    assert not (tmp_path / "runs").exists()


@pytest.mark.simulator
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
    assert len(rows) == 12
    assert {(r["train_backend"], r["test_backend"], r["noise_flips"]) for r in rows} == {
        (a, b, f) for a in ("nest", "neuron") for b in ("nest", "neuron") for f in ("0", "2")} | {
        (a, extra, "0") for a in ("nest", "neuron") for extra in ("spinnaker-emulated", "nir-norse")}
    assert all(0.0 <= float(r["accuracy"]) <= 1.0 for r in rows)
    with open(runs / "compare" / "transfer.tsv") as fh:
        transfer = list(csv.reader(fh, delimiter="\t"))
    assert transfer[0][1:] == ["nest", "neuron", "spinnaker-emulated", "nir-norse"]
    assert [r[0] for r in transfer[1:]] == ["nest", "neuron"]
    with open(runs / "compare" / "emulation.tsv") as fh:
        emulation = list(csv.DictReader(fh, delimiter="\t"))
    assert [(r["train_backend"], r["test_backend"]) for r in emulation] == [
        ("nest", "spinnaker-emulated"), ("neuron", "spinnaker-emulated")]
    assert all(int(r["weights"]) == 120 and 0 <= int(r["rounded_to_zero"]) <= 120 for r in emulation)
    with open(runs / "compare" / "nir.tsv") as fh:
        nir_rows = list(csv.DictReader(fh, delimiter="\t"))
    assert [(r["train_backend"], r["test_backend"], r["consumer"], r["reference"]) for r in nir_rows] == [
        ("nest", "nir-norse", "norse", "nest"), ("neuron", "nir-norse", "norse", "nest")]
    for r in nir_rows:  # the consumer answers as NEST, or the table names each difference and its cause
        same = float(r["accuracy_consumer"]) == float(r["accuracy_reference"]) and r["different_answers"] == "-"
        assert same or all(": " in part for part in r["different_answers"].split("; ")), r
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
    assert "Hardware emulation" in html and "NIR export: an independent importer" in html
    # self-contained: 4 compare figures, the lockstep figure, 8 rasters of seed 1 (4 simulator
    # tests, 2 emulated, 2 NIR) and one more raster per clean test below 1.0; links only to files beside it
    below = sum(acc < 1.0 for per_seed in compare["clean_accuracy"].values() for tests in per_seed.values()
                for acc in tests.values() if acc is not None)
    assert html.count('src="data:image/png;base64,') == 13 + below
    assert ("Rasters of every clean test below 1.0" in html) == (below > 0)
    assert not re.search(r'src="(?!data:)', html)


@pytest.mark.simulator
def test_second_run_has_nothing_to_do(ci_run):
    assert planned_jobs(snakemake(ci_run, "-n")) == {}


@pytest.mark.simulator
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
    ({"backends": ["nest", "brian9"]}, "['backends'][1]"),
    ({"seeds": -1}, "['seeds']"),
    ({"bogus_key": 1}, "'bogus_key' was unexpected"),
    ({"seeds": "three"}, "['seeds']"),
    ({"lockstep": {"windows": 2.5}}, "['lockstep']['windows']"),
    ({"model": {"training": {"max_epoch": 5}}}, "['model']['training']: Additional properties are not allowed ('max_epoch'"),
    ({"model": {"network": {"inhibition_nA": "strong"}}}, "['model']['network']['inhibition_nA']"),
])
def test_bad_config_stops_before_any_job_and_names_the_key(tmp_path, overrides, key):
    proc = snakemake(tmp_path, overrides=overrides, check=False)
    assert proc.returncode != 0
    assert key in proc.stdout + proc.stderr
    assert not (tmp_path / "runs").exists()


@pytest.mark.simulator
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


def _fake_runs(root: Path, accuracy: dict) -> tuple[list[Path], list[Path], list]:
    """train.json/weights.npz per (backend, seed) and test.json/raster.png per test key."""
    from snn_rl.analysis.compare import TestKey
    from snn_rl.experiments.storage import TrainedWeights, save_weights, write_json

    trains, tests, keys = [], [], []
    for backend in ("nest", "neuron"):
        for seed in (1, 2):
            run = root / backend / f"seed{seed}"
            save_weights(run / "weights.npz", TrainedWeights(
                weights=np.full((15, 4), 0.5), input_gains=np.ones(15), labels=tuple("ABCD"), image_shape=(5, 3),
                input_encoding="ones"))
            write_json(run / "train.json", {
                "backend": backend, "seed": seed, "labels": list("ABCD"), "epochs_to_criterion": 10 * seed,
                "epochs_run": 10 * seed, "weights_from_epoch": 10 * seed, "best_eval_accuracy": 1.0,
                "wall_seconds": 2.0, "sim_ms_per_wall_s": 5000.0,
                "learning_curve": [{"epoch": e, "eval_accuracy": e / (10 * seed), "train_correct": 0.5,
                                    "criterion": e == 10 * seed} for e in range(1, 10 * seed + 1)]})
            trains.append(run / "train.json")
            for (b, sd, tested_on, flips), acc in accuracy.items():
                if (b, sd) != (backend, seed):
                    continue
                folder = run / "test" / tested_on / f"flips{flips}"
                write_json(folder / "test.json", {
                    "backend": tested_on, "noise_flips": flips, "accuracy": acc, "n_presentations": 12,
                    "mean_winner_spikes": 3.0, "target_spikes_min": 2, "target_spikes_max": 4,
                    "max_other_spikes": 0, "wall_seconds": 1.0, "margin_min": 2 if acc == 1.0 else -1,
                    "margin_histogram": {"2": 12} if acc == 1.0 else {"-1": round(12 * (1 - acc)), "2": round(12 * acc)}})
                (folder / "raster.png").write_bytes((root / "weights_fig.png").read_bytes())
                tests.append(folder / "test.json")
                keys.append(TestKey(b, sd, tested_on, flips))
    return trains, tests, keys


def test_compare_tables_and_report_from_results(tmp_path):
    """model.compare and model.report on made-up results whose numbers are known."""
    import matplotlib.pyplot as plt

    from snn_rl.analysis.compare import TestKey, compare_dataset
    from snn_rl.analysis.report import write_report

    fig = plt.figure(figsize=(1, 1))
    fig.savefig(tmp_path / "weights_fig.png")
    plt.close(fig)
    accuracy = {}
    for b in ("nest", "neuron"):
        for sd in (1, 2):
            for t in ("nest", "neuron"):
                accuracy[(b, sd, t, 0)] = 1.0 if (b, t) != ("neuron", "nest") or sd == 1 else 0.5
                accuracy[(b, sd, t, 2)] = 0.25 * sd
            accuracy[(b, sd, "chip", 0)] = 0.75
    trains, tests, keys = _fake_runs(tmp_path, accuracy)
    out = tmp_path / "compare"
    result = compare_dataset("abcd", trains, tests, keys, out, extra_test_backends=("chip",))

    with open(out / "transfer.tsv") as fh:
        transfer = {r[0]: r[1:] for r in csv.reader(fh, delimiter="\t")}
    assert transfer["trained_on \\ tested_on"] == ["nest", "neuron", "chip"]
    assert transfer["nest"] == ["1", "1", "0.75"]
    assert transfer["neuron"] == ["0.75", "1", "0.75"]
    assert result["transfer"]["neuron"]["nest"] == {"n": 2, "mean": 0.75, "min": 0.5, "max": 1.0}
    noise = {(n["train_backend"], n["test_backend"], n["noise_flips"]): n for n in result["noise"]}
    assert noise[("nest", "neuron", 2)]["mean"] == pytest.approx(0.375)
    assert ("nest", "chip", 2) not in noise
    with open(out / "summary.tsv") as fh:
        assert len(list(csv.DictReader(fh, delimiter="\t"))) == len(keys) == 20
    assert [t["epochs_to_criterion"] for t in result["training"]] == [10, 20, 10, 20]
    margins = {(m["train_backend"], m["test_backend"]): m for m in result["margins"]}
    assert margins[("nest", "nest")] == {"train_backend": "nest", "test_backend": "nest", "seeds": 2, "min": 2,
                                         "histogram": {"2": 24}}
    assert margins[("neuron", "nest")]["min"] == -1 and margins[("neuron", "nest")]["histogram"] == {"-1": 6, "2": 18}
    with open(out / "margins.tsv") as fh:
        assert len(list(csv.DictReader(fh, delimiter="\t"))) == 6  # 2 train x 3 test backends

    write_report(tmp_path / "report.html", [out / "compare.json"], {}, {}, {"backends": ["nest", "neuron"]})
    html = (tmp_path / "report.html").read_text()
    assert "1 of 8 clean tests on nest, neuron fall short of accuracy 1.0 (lowest 0.500)" in html
    assert "Extra test column chip: mean accuracy 0.750 over 4 trained networks" in html
    assert "Decision margins (clean tests, every seed)" in html
    assert not re.search(r'src="(?!data:)', html)
    for href in re.findall(r'href="([^"#][^"]*)"', html):  # full-size figures: files beside the report
        assert (tmp_path / href).is_file(), href

    wrong = list(keys)
    wrong[0] = TestKey("nest", 1, "neuron", 0)
    with pytest.raises(ValueError, match="expected neuron"):
        compare_dataset("abcd", trains, tests, wrong, tmp_path / "bad")


def test_a_fresh_run_logs_no_warning(ci_run):
    logs = sorted((ci_run / "runs" / "logs").rglob("*.log"))
    assert logs
    for log in logs:
        text = log.read_text().lower()
        assert "warning" not in text and "deprecated" not in text, f"{log}:\n{text[-2000:]}"


def test_the_report_is_complete_offline_and_linked(ci_run):
    """Parameter table, job table, every link resolves to a file beside the report, no
    external URL, every image embedded and linked to its full-size file."""
    from html.parser import HTMLParser

    class Links(HTMLParser):
        def __init__(self):
            super().__init__()
            self.hrefs, self.images, self.in_a, self.linked_images = [], 0, 0, 0

        def handle_starttag(self, tag, attrs):
            attrs = dict(attrs)
            if tag == "a":
                self.in_a += 1
                self.hrefs.append(attrs.get("href", ""))
            if tag == "img":
                self.images += 1
                self.linked_images += bool(self.in_a)
                assert attrs["src"].startswith("data:image/png;base64,")

        def handle_endtag(self, tag):
            if tag == "a":
                self.in_a -= 1

    report = ci_run / "runs" / "report.html"
    html = report.read_text()
    parser = Links()
    parser.feed(html)
    assert 'id="parameters"' in html and "<code>network.cell.tau_m</code>" in html and "<td>mV</td>" in html
    assert 'id="jobs"' in html and ">train<" in html and ">lockstep_compare<" in html and "all jobs" in html
    assert not re.search(r"(src|href)=\"(https?:)?//", html), "an external URL"
    files = [h for h in parser.hrefs if not h.startswith("#")]
    assert len(files) > 20
    for href in files:
        assert (report.parent / href).is_file(), href
    assert "abcd/nest/seed1/test/nest/flips0/spikes.nix" in files
    assert parser.images >= 5 and parser.linked_images == parser.images
