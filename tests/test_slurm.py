"""The pipeline on a real SLURM cluster: a one-node cluster started by the project's own
script (tools/slurm-local: munge, MariaDB, slurmdbd, slurmctld, slurmd), the CI config run
through ``--profile profiles/slurm`` with the SLURM executor plugin, compared with the same
config run locally; and a training job cancelled by SLURM mid-run, retried, resumed from its
checkpoint, with the weights of an uninterrupted run.

The profile is used as it is in the repository, with the site settings (partition, account)
set to the local cluster's, as a user sets them for their site. Needs root (the script
installs SLURM from Debian's packages); deselect with ``-m "not slurm"``.
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from conftest import ROOT, cli_env

pytestmark = pytest.mark.slurm

SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")
SLURM_LOCAL = ROOT / "tools" / "slurm-local"
CI_CONFIG = ROOT / "config" / "ci.yaml"
#: the site settings of the local cluster (tools/slurm-local registers them)
SITE = {"slurm_partition": "main", "slurm_account": "snnrl"}
#: a one-node cluster answers at once: ask it for job states every 2 s instead of the plugin's
#: 40 s before the first check and 10 s between checks (a command-line setting, not the profile's)
QUICK_POLLING = ("--slurm-init-seconds-before-status-checks", "2", "--seconds-between-status-checks", "2")
#: a training long enough to be cancelled while it runs: the alphabet, 40 epochs, no early stop
LONG_TRAINING = {"datasets": ["alphabet"], "backends": ["nest"], "extra_test_backends": [],
                 "noise": {"flips": []}, "lockstep": {"enabled": False},
                 "model": {"training": {"max_epochs": 40, "stop_at_criterion": False}}}


@pytest.fixture(scope="module")
def cluster():
    if os.geteuid() != 0:
        pytest.fail("the SLURM test starts a cluster with tools/slurm-local, which needs root; "
                    'run it as root or deselect it with -m "not slurm"')
    started = subprocess.run([str(SLURM_LOCAL), "start"], capture_output=True, text=True, timeout=1200)
    assert started.returncode == 0, started.stdout + started.stderr
    assert len([line for line in started.stdout.splitlines() if line.endswith(" up") or " up (" in line]) == 5, started.stdout
    yield
    subprocess.run([str(SLURM_LOCAL), "stop"], capture_output=True, text=True, timeout=300)


def site_profile(tmp: Path) -> Path:
    """profiles/slurm with the site's partition and account: nothing else changed."""
    profile = tmp / "profile"
    profile.mkdir(parents=True, exist_ok=True)
    config = yaml.safe_load((ROOT / "profiles" / "slurm" / "config.yaml").read_text())
    config["default-resources"].update(SITE)
    (profile / "config.yaml").write_text(yaml.safe_dump(config))
    return profile


def run(workdir: Path, *args: str, overrides: dict | None = None, timeout: float = 1800,
        background: bool = False):
    configs = [str(CI_CONFIG)]
    if overrides:
        (workdir / "override.yaml").write_text(yaml.safe_dump(overrides))
        configs.append(str(workdir / "override.yaml"))
    command = [SNAKEMAKE, "--snakefile", str(ROOT / "Snakefile"), "--directory", str(workdir),
               "--configfile", *configs, *args]
    if background:
        return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=cli_env())
    proc = subprocess.run(command, capture_output=True, text=True, env=cli_env(), timeout=timeout)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def tsv(path: Path) -> list[dict]:
    """A report table without the columns that measure the machine (wall times, speed)."""
    with open(path) as fh:
        return [{k: v for k, v in row.items() if not re.search(r"wall|_s$|seconds", k)}
                for row in csv.DictReader(fh, delimiter="\t")]


def test_the_ci_config_runs_through_slurm_and_equals_a_local_run(cluster, tmp_path):
    on_slurm, local = tmp_path / "slurm", tmp_path / "local"
    on_slurm.mkdir()
    local.mkdir()
    proc = run(on_slurm, "--profile", str(site_profile(tmp_path)), *QUICK_POLLING)
    text = proc.stdout + proc.stderr
    submitted = re.findall(r"submitted with SLURM jobid (\d+)", text)
    local_jobs = re.findall(r"^localrule (\w+):", text, re.M)
    total = int(re.search(r"^total\s+(\d+)$", text, re.M).group(1))
    assert len(submitted) + len(local_jobs) == total and len(submitted) >= total - 1, text[-3000:]
    # every submitted job ran under SLURM and finished there
    states = subprocess.run(["sacct", "-X", "-n", "-P", "--format=JobIdRaw,State", "-j", ",".join(submitted)],
                            capture_output=True, text=True, check=True).stdout
    assert {line.split("|")[1] for line in states.split()} == {"COMPLETED"}, states

    run(local, "--cores", "2")
    for backend in ("nest", "neuron"):
        a = np.load(on_slurm / "runs" / "abcd" / backend / "seed1" / "weights.npz")
        b = np.load(local / "runs" / "abcd" / backend / "seed1" / "weights.npz")
        assert set(a.files) == set(b.files)
        for key in a.files:
            assert np.array_equal(a[key], b[key]), f"{backend}: {key} differs between the SLURM and the local run"
    for table in ("summary", "transfer", "noise", "margins", "training", "emulation", "nir"):
        path = Path("runs") / "abcd" / "compare" / f"{table}.tsv"
        assert tsv(on_slurm / path) == tsv(local / path), table


def _train_job(workdir: Path, deadline: float) -> str:
    """The SLURM job id of the running training job, once it has written a checkpoint."""
    checkpoints = workdir / "runs" / "alphabet" / "nest" / "seed1" / "checkpoints"
    while time.monotonic() < deadline:
        queue = subprocess.run(["squeue", "-h", "-t", "RUNNING", "-o", "%i %k"], capture_output=True, text=True).stdout
        jobs = [line.split()[0] for line in queue.splitlines() if "train" in line]
        if jobs and checkpoints.is_dir() and len(list(checkpoints.glob("*.npz"))) >= 2:
            return jobs[0]
        time.sleep(0.2)
    raise AssertionError("the training job never ran with a checkpoint written")


def test_a_training_job_cancelled_by_slurm_is_retried_and_resumes(cluster, tmp_path):
    on_slurm, local = tmp_path / "slurm", tmp_path / "local"
    on_slurm.mkdir()
    local.mkdir()
    proc = run(on_slurm, "--profile", str(site_profile(tmp_path)), *QUICK_POLLING, overrides=LONG_TRAINING,
               background=True)
    try:
        job = _train_job(on_slurm, time.monotonic() + 600)
        subprocess.run(["scancel", job], check=True)
        out, _ = proc.communicate(timeout=1800)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out[-4000:]
    state = subprocess.run(["sacct", "-X", "-n", "-P", "--format=State", "-j", job], capture_output=True, text=True).stdout
    assert state.strip().startswith("CANCELLED"), state
    trains = re.findall(r"submitted with SLURM jobid (\d+) \(log: [^)]*rule_train", out)
    assert job in trains and len(trains) >= 2, out[-4000:]  # the cancelled job and its retry went through sbatch
    summary = yaml.safe_load((on_slurm / "runs" / "alphabet" / "nest" / "seed1" / "train.json").read_text())
    assert summary["resumed_from_epoch"] and 0 < summary["resumed_from_epoch"] < 40, summary["resumed_from_epoch"]

    run(local, "--cores", "2", overrides=LONG_TRAINING)
    a = np.load(on_slurm / "runs" / "alphabet" / "nest" / "seed1" / "weights.npz")
    b = np.load(local / "runs" / "alphabet" / "nest" / "seed1" / "weights.npz")
    assert np.array_equal(a["weights_nA"], b["weights_nA"]), "the resumed run's weights differ from an uninterrupted run's"
    shutil.rmtree(tmp_path, ignore_errors=True)
