"""A long training run is never lost, and every run says where it came from.

- Storage: a checkpoint reads back bit for bit; truncation at 60 lengths and a flipped byte
  at every 7th position are detected (by the zip reader or the SHA-256 digest) unless the
  byte is one the reader ignores, and a failed write leaves the old file.
- Kill and resume, on every installed backend: ``snn-rl train`` is killed with SIGKILL at a
  seeded random moment after its first checkpoint (twice), resumed with ``--resume``, and
  must end with exactly the weights, learning curve and final state of an uninterrupted run.
- Damaged newest checkpoints are reported and the previous good one is used; a kill while
  the results are written; a finished run resumed with a larger ``--epochs``;
  ``--overwrite`` and ``--resume --overwrite``; a backend rebuilt at every epoch.
- Provenance: package versions, git commit, full parameters, seed and input digests are
  recorded, suffice to reproduce the weights, and a resume under other code is flagged.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import INSTALLED_BACKENDS, ROOT, cli_env, run_cli
from snn_rl.experiments.outputs import MARK
from snn_rl.experiments import storage
from snn_rl.experiments.storage import StorageError, load_checkpoint, load_weights, save_checkpoint
from snn_rl.experiments.checkpoints import CHECKPOINT_DIR, checkpoint_paths

EPOCHS = 12
#: short runs that never stop early, so an interrupted run has something left to do
PARAMS = json.dumps({"training": {"stop_at_criterion": False, "max_epochs": EPOCHS}})
SEED = 4


# -- storage ------------------------------------------------------------------------------
def _checkpoint(tmp_path: Path) -> tuple[Path, dict, dict]:
    rng = np.random.default_rng(0)
    arrays = {"weights": rng.uniform(0, 3, (15, 4)), "baseline": rng.uniform(-1, 1, 4)}
    state = {"epoch": 7, "rng": [np.random.default_rng(1).bit_generator.state], "history": [{"a": 0.5}]}
    path = tmp_path / "epoch_0007.npz"
    save_checkpoint(path, arrays, state)
    return path, arrays, state


def test_checkpoint_reads_back_bit_for_bit(tmp_path):
    path, arrays, state = _checkpoint(tmp_path)
    got_arrays, got_state = load_checkpoint(path)
    assert set(got_arrays) == set(arrays)
    for key in arrays:
        assert np.array_equal(got_arrays[key], arrays[key]) and got_arrays[key].dtype == arrays[key].dtype
    assert got_state == json.loads(json.dumps(state))


def test_truncations_are_detected(tmp_path):
    path, _, _ = _checkpoint(tmp_path)
    data = path.read_bytes()
    bad = tmp_path / "bad.npz"
    for length in sorted(set(np.linspace(0, len(data) - 1, 60).astype(int))):
        bad.write_bytes(data[:length])
        with pytest.raises(StorageError, match="bad.npz"):
            load_checkpoint(bad)


def test_flipped_bytes_are_detected(tmp_path):
    path, _, _ = _checkpoint(tmp_path)
    data = path.read_bytes()
    bad = tmp_path / "bad.npz"
    undetected = []
    for pos in range(0, len(data), 7):
        flipped = bytearray(data)
        flipped[pos] ^= 0x20
        bad.write_bytes(bytes(flipped))
        try:
            load_checkpoint(bad)
        except StorageError:
            continue
        undetected.append(pos)
    # bytes the zip reader never looks at (e.g. the "version made by" field) change nothing
    # that is read back; everything that is read back is covered
    for pos in undetected:
        flipped = bytearray(data)
        flipped[pos] ^= 0x20
        bad.write_bytes(bytes(flipped))
        got, _ = load_checkpoint(bad)
        ref, _ = load_checkpoint(path)
        assert all(np.array_equal(got[k], ref[k]) for k in ref)


def test_digest_catches_a_consistent_rewrite(tmp_path):
    """Content changed and re-zipped with valid CRCs: only the SHA-256 digest can tell."""
    path, _, _ = _checkpoint(tmp_path)
    with np.load(path) as data:
        content = {k: data[k] for k in data.files}
    content["weights"] = content["weights"].copy()
    content["weights"][3, 2] += 1e-12
    np.savez(path, **content)
    with pytest.raises(StorageError, match="corrupted .*SHA-256"):
        load_checkpoint(path)


@pytest.mark.parametrize("failing", ["replace", "fsync"])
def test_failed_write_leaves_the_previous_file(tmp_path, monkeypatch, failing):
    """A write that fails half-way (the rename of a checkpoint, or the sync of a durable
    result file) leaves the previous file as it was and no temporary file behind."""
    path, arrays, _ = _checkpoint(tmp_path)
    before = path.read_bytes()

    def broken(*args):
        raise OSError("disk full")

    monkeypatch.setattr(storage.os, failing, broken)
    with pytest.raises(OSError, match="disk full"):
        if failing == "replace":
            save_checkpoint(path, {"weights": np.zeros((15, 4))}, {"epoch": 8})
        else:
            storage.atomic_write_bytes(path, b"new content", durable=True)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]  # no temporary file left


def test_written_files_get_a_plain_file_mode(tmp_path):
    path, _, _ = _checkpoint(tmp_path)
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


# -- kill and resume through the real CLI -------------------------------------------------
def _train_args(backend: str, out: Path, *extra: str) -> list[str]:
    return ["train", "--backend", backend, "--dataset", "abcd", "--seed", str(SEED), "--params", PARAMS,
            "--out", str(out), "--quiet", *extra]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """One uninterrupted run per installed backend: {backend: run directory}."""
    root = tmp_path_factory.mktemp("reference")
    runs = {}
    for backend in INSTALLED_BACKENDS:
        runs[backend] = root / backend
        run_cli(*_train_args(backend, runs[backend]))
    return runs


def _kill_during_training(args: list[str], out: Path, after_epoch: int, delay_s: float) -> int:
    """Start ``snn-rl`` and SIGKILL it ``delay_s`` after checkpoint ``after_epoch`` appears;
    returns the newest checkpoint epoch at the moment of the kill."""
    log = out.parent / f"{out.name}-killed-after-{after_epoch}.log"
    with open(log, "w") as stderr:
        proc = subprocess.Popen([sys.executable, "-m", "snn_rl", *args], cwd=ROOT, env=cli_env(),
                                stdout=subprocess.DEVNULL, stderr=stderr)
    try:
        target = out / CHECKPOINT_DIR / f"epoch_{after_epoch:04d}.npz"
        deadline = time.monotonic() + 300
        while not target.exists():
            assert proc.poll() is None, f"training ended before checkpoint {after_epoch}: {log.read_text()[-2000:]}"
            assert time.monotonic() < deadline, "no checkpoint within 300 s"
            time.sleep(0.005)
        time.sleep(delay_s)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL, "training finished before it could be killed"
    assert not (out / "train.json").exists()
    newest = checkpoint_paths(out)[0]
    return int(newest.stem.split("_")[1])


def _final_state(run_dir: Path) -> dict:
    arrays, state = load_checkpoint(checkpoint_paths(run_dir)[0])
    return {"arrays": arrays, "epoch": state["epoch"], "rng": state["rng"]}


def _assert_same_run(resumed: Path, reference: Path) -> None:
    got, ref = load_weights(resumed), load_weights(reference)
    assert np.array_equal(got.weights, ref.weights), "trained weights differ from the uninterrupted run"
    assert np.array_equal(got.input_gains, ref.input_gains)
    a, b = _final_state(resumed), _final_state(reference)
    assert a["epoch"] == b["epoch"] == EPOCHS
    for key in b["arrays"]:
        assert np.array_equal(a["arrays"][key], b["arrays"][key]), f"final {key} differs"
    assert a["rng"] == b["rng"]
    got_summary = json.loads((resumed / "train.json").read_text())
    ref_summary = json.loads((reference / "train.json").read_text())
    assert got_summary["learning_curve"] == ref_summary["learning_curve"]
    for key in ("epochs_run", "epochs_to_criterion", "weights_from_epoch", "best_eval_accuracy", "params"):
        assert got_summary[key] == ref_summary[key], key


@pytest.mark.simulator
def test_killed_twice_and_resumed_equals_uninterrupted(reference, backend_name, tmp_path):
    # one epoch's wall time, from the reference's last checkpoints (not its whole wall time,
    # which holds a first run() that may generate code: seconds on Brian 2)
    kept = checkpoint_paths(reference[backend_name])
    epoch_s = (kept[0].stat().st_mtime - kept[-1].stat().st_mtime) / (len(kept) - 1)
    rng = np.random.default_rng(sorted(INSTALLED_BACKENDS).index(backend_name))
    out = tmp_path / "killed"
    args = _train_args(backend_name, out)
    # first kill: somewhere in the epochs after the first checkpoint
    killed_at = _kill_during_training(args, out, 1, rng.uniform(0.0, 0.5 * (EPOCHS - 1)) * epoch_s)
    assert 1 <= killed_at < EPOCHS
    # second kill: the resumed run, at a random moment after its first new checkpoint
    killed_again_at = _kill_during_training(args + ["--resume"], out, killed_at + 1,
                                            rng.uniform(0.0, 0.5 * (EPOCHS - killed_at - 1)) * epoch_s)
    assert killed_at < killed_again_at < EPOCHS
    proc = run_cli(*args, "--resume")
    summary = json.loads((out / "train.json").read_text())
    assert summary["resumed_from_epoch"] == killed_again_at
    assert not [line for line in proc.stderr.splitlines() if line.startswith("warning:")], proc.stderr
    _assert_same_run(out, reference[backend_name])


@pytest.mark.simulator
def test_corrupted_checkpoints_are_reported_and_skipped(reference, tmp_path):
    """The two newest checkpoints damaged (one truncated, one with a flipped byte): both are
    named in a warning, training goes on from the third, and the result is unchanged."""
    backend = "nest"
    out = tmp_path / "damaged"
    shutil.copytree(reference[backend] / CHECKPOINT_DIR, out / CHECKPOINT_DIR)
    newest, second, third = checkpoint_paths(out)
    newest.write_bytes(newest.read_bytes()[: newest.stat().st_size // 2])
    data = bytearray(second.read_bytes())
    data[len(data) // 2] ^= 0xFF
    second.write_bytes(bytes(data))
    proc = run_cli(*_train_args(backend, out, "--resume"))
    warnings = [line for line in proc.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 2 and newest.name in warnings[0] and second.name in warnings[1], proc.stderr
    summary = json.loads((out / "train.json").read_text())
    assert summary["resumed_from_epoch"] == int(third.stem.split("_")[1])
    _assert_same_run(out, reference[backend])


@pytest.mark.simulator
def test_resume_with_more_epochs_extends_a_finished_run(reference, tmp_path):
    backend = "nest"
    out = tmp_path / "extended"
    short = json.dumps({"training": {"stop_at_criterion": False, "max_epochs": EPOCHS // 2}})
    args = _train_args(backend, out)
    args[args.index("--params") + 1] = short
    run_cli(*args)
    assert json.loads((out / "train.json").read_text())["epochs_run"] == EPOCHS // 2
    run_cli(*args, "--resume", "--epochs", str(EPOCHS))
    _assert_same_run(out, reference[backend])


# -- provenance ---------------------------------------------------------------------------
@pytest.mark.simulator
def test_run_records_its_provenance(reference, backend_name):
    from importlib import metadata

    summary = json.loads((reference[backend_name] / "train.json").read_text())
    prov = summary["provenance"]
    for dist in ("PyNN", "nest-simulator", "NEURON", "sPyNNaker"):
        assert dist in prov["packages"]
        try:
            installed = metadata.version(dist)
        except metadata.PackageNotFoundError:
            installed = None
        assert prov["packages"][dist] == installed
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    if head.returncode == 0:  # a checkout; an installed copy records null
        assert prov["git_commit"].split("+")[0] == head.stdout.strip()
    assert summary["seed"] == SEED and summary["backend"] == backend_name
    assert summary["params"]["training"]["max_epochs"] == EPOCHS
    from snn_rl.model.params import Params

    assert Params.from_dict(summary["params"]).to_dict() == summary["params"]  # complete and valid


@pytest.mark.simulator
def test_recorded_provenance_reproduces_the_weights(reference, tmp_path):
    """Only what train.json records (backend, data set, seed, full parameters) is passed."""
    recorded = json.loads((reference["nest"] / "train.json").read_text())
    out = tmp_path / "again"
    run_cli("train", "--backend", recorded["backend"], "--dataset", recorded["dataset"],
            "--seed", str(recorded["seed"]), "--params", json.dumps(recorded["params"]), "--out", str(out), "--quiet")
    assert np.array_equal(load_weights(out).weights, load_weights(reference["nest"]).weights)


@pytest.mark.simulator
def test_test_run_records_the_digest_of_its_inputs(reference, tmp_path):
    import hashlib

    data = tmp_path / "abcd.txt"
    data.write_text("\n".join(f"{c} {b}" for c, b in zip("ABCD", ("101/010/000/010/010", "001/010/001/010/001",
                                                                      "000/011/011/011/000", "001/010/010/010/001"))))
    out = tmp_path / "test"
    run_cli("test", "--backend", "nest", "--weights", str(reference["nest"]), "--dataset", str(data),
            "--out", str(out), "--repeats", "1")
    inputs = json.loads((out / "test.json").read_text())["provenance"]["inputs"]
    weights_file = reference["nest"] / "weights.npz"
    assert inputs["weights"] == {"path": str(weights_file), "sha256": hashlib.sha256(weights_file.read_bytes()).hexdigest()}
    assert inputs["dataset"]["sha256"] == hashlib.sha256(data.read_bytes()).hexdigest()


@pytest.mark.simulator
def test_killed_while_writing_results_is_finished_by_resume(reference, tmp_path):
    """Killed after the last checkpoint, before train.json: --resume only writes the results."""
    out = tmp_path / "late"
    shutil.copytree(reference["nest"] / CHECKPOINT_DIR, out / CHECKPOINT_DIR)
    shutil.copy(reference["nest"] / "weights.npz", out / "weights.npz")
    shutil.copy(reference["nest"] / MARK, out / MARK)  # the killed run had marked its folder
    refused = run_cli(*_train_args("nest", out), check=False)
    assert refused.returncode == 2 and "--resume" in refused.stderr
    run_cli(*_train_args("nest", out, "--resume"))
    assert json.loads((out / "train.json").read_text())["resumed_from_epoch"] == EPOCHS
    _assert_same_run(out, reference["nest"])


@pytest.mark.simulator
def test_overwrite_removes_the_old_result_before_training(reference, tmp_path):
    """A new run over a finished one, killed: no stale train.json or weights are left."""
    out = tmp_path / "over"
    shutil.copytree(reference["nest"], out)
    args = _train_args("nest", out, "--overwrite")
    args[args.index("--seed") + 1] = str(SEED + 1)
    _kill_during_training(args, out, 1, 0.0)
    assert not (out / "train.json").exists() and not (out / "weights.npz").exists()
    assert all(load_checkpoint(p)[1]["fingerprint"]["seed"] == SEED + 1 for p in checkpoint_paths(out))


@pytest.mark.simulator
def test_backend_whose_weights_cannot_be_written_is_rebuilt_at_every_write(tmp_path):
    """A backend that cannot change the weights of a built network (``weights_writable =
    False``, as sPyNNaker) gets the network built anew after every weight write: the training
    loop consults the capability. Shown with NEST's adapter declaring that it cannot: one
    set-up per training presentation, and the same weights and learning curve, bit for bit,
    as writing them in place."""
    import dataclasses

    from snn_rl import backends
    from snn_rl.backends.nest import FastNestBackend
    from snn_rl.experiments.training import run_training
    from snn_rl.model.dataset import builtin
    from snn_rl.model.params import load_params

    class NestRebuilt(FastNestBackend):
        capabilities = dataclasses.replace(FastNestBackend.capabilities, weights_writable=False)
        setups = 0

        def _setup(self, timestep_ms, threads):
            NestRebuilt.setups += 1
            super()._setup(timestep_ms, threads)

    # the seed's rule: one weight write per presentation (no retries after wrong answers)
    params = load_params("seed").replace(training={"stop_at_criterion": False, "max_epochs": 2})
    data = builtin("abcd")
    in_place, in_place_summary = run_training(backends.get("nest"), data, params, 5, tmp_path / "a", progress=False)
    rebuilt, rebuilt_summary = run_training(NestRebuilt(), data, params, 5, tmp_path / "b", progress=False)
    assert NestRebuilt.setups == 1 + 2 * data.n_images
    assert np.array_equal(rebuilt.weights, in_place.weights)
    assert rebuilt_summary["learning_curve"] == in_place_summary["learning_curve"]


@pytest.mark.simulator
def test_resume_with_overwrite_continues_what_fits_and_replaces_the_rest(reference, tmp_path):
    """``--resume --overwrite`` (what a pipeline wants): continue a matching run, start again
    over one that cannot be continued."""
    out = tmp_path / "run"
    shutil.copytree(reference["nest"] / CHECKPOINT_DIR, out / CHECKPOINT_DIR)
    newest = checkpoint_paths(out)[0]
    newest.unlink()  # killed during the last epoch
    proc = run_cli(*_train_args("nest", out, "--resume", "--overwrite"))
    assert json.loads((out / "train.json").read_text())["resumed_from_epoch"] == EPOCHS - 1
    assert not [line for line in proc.stderr.splitlines() if line.startswith("warning:")], proc.stderr
    _assert_same_run(out, reference["nest"])

    other = _train_args("nest", out, "--resume", "--overwrite", "--epochs", "2")
    other[other.index("--seed") + 1] = str(SEED + 1)
    proc = run_cli(*other)
    assert "warning: not resuming:" in proc.stderr and "seed 4 (this run: 5)" in proc.stderr
    summary = json.loads((out / "train.json").read_text())
    assert summary["seed"] == SEED + 1 and summary["resumed_from_epoch"] is None and summary["epochs_run"] == 2
    assert [int(p.stem.split("_")[1]) for p in checkpoint_paths(out)] == [2, 1]


@pytest.mark.simulator
def test_resume_under_other_code_is_reported_and_recorded(reference, tmp_path):
    """Each process that trained is a segment in train.json (first epoch, git commit,
    package versions); resuming with another commit or other packages gives a warning."""
    out = tmp_path / "run"
    shutil.copytree(reference["nest"] / CHECKPOINT_DIR, out / CHECKPOINT_DIR)
    newest = checkpoint_paths(out)[0]
    arrays, state = load_checkpoint(newest)
    assert [s["from_epoch"] for s in state["segments"]] == [1]
    state["segments"][0]["git_commit"] = "0" * 40
    save_checkpoint(newest, arrays, state)
    proc = run_cli(*_train_args("nest", out, "--resume"))
    assert any(line.startswith("warning: epochs 1-12 were trained with other code") for line in proc.stderr.splitlines())
    segments = json.loads((out / "train.json").read_text())["segments"]
    assert [s["from_epoch"] for s in segments] == [1, EPOCHS + 1]
    assert segments[0]["git_commit"] == "0" * 40 and segments[1]["git_commit"] != "0" * 40
