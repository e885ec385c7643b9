"""Data safety beyond the bad-input catalogue: a second writer is locked out, a stale lock
does not block, ``--overwrite`` removes only what the project wrote, good input in standard
notation is accepted, and a data set is known by its content.

Every run goes through the real command line on NEST.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT, cli_env, run_cli
from snn_rl.errors import InputError
from snn_rl.experiments.outputs import LOCK, MARK, read_mark
from snn_rl.experiments.runs import recorded_builtin
from snn_rl.experiments.storage import load_weights
from snn_rl.model.dataset import MAX_CLASSES, DatasetError, builtin, load, parse
from snn_rl.model.params import load_params

ABCD_TEXT = builtin("abcd").to_text()
#: long enough (about 2 s on NEST) that a second process starts while the first still writes
LONG_RUN = ["--params", '{"training": {"stop_at_criterion": false}}', "--epochs", "60"]


def _train(out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "snn_rl", "train", "--backend", "nest", "--dataset", "abcd", "--out", str(out),
            "--quiet", *extra]


@pytest.mark.simulator
def test_a_second_writer_is_locked_out_and_the_first_result_is_whole(tmp_path):
    out = tmp_path / "run"
    first = subprocess.Popen(_train(out, *LONG_RUN), stderr=subprocess.PIPE, text=True, cwd=ROOT, env=cli_env())
    deadline = time.time() + 60
    while not (out / LOCK).exists() and time.time() < deadline:
        time.sleep(0.02)
    assert (out / LOCK).exists(), "the first run never took its lock"
    second = subprocess.run(_train(out, *LONG_RUN, "--overwrite"), capture_output=True, text=True, cwd=ROOT,
                            env=cli_env(), timeout=300)
    assert first.wait(timeout=300) == 0, first.stderr.read()
    assert second.returncode == 2
    assert "is being written by snn-rl train (pid" in second.stderr, second.stderr
    # the first run's result is whole: its weights equal a run made alone
    alone = tmp_path / "alone"
    run_cli("train", "--backend", "nest", "--dataset", "abcd", "--out", str(alone), "--quiet", *LONG_RUN)
    assert np.array_equal(load_weights(out).weights, load_weights(alone).weights)
    assert not (out / LOCK).exists()
    assert read_mark(out)["complete"] is True


@pytest.mark.simulator
def test_a_lock_left_by_a_killed_process_does_not_block(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    # what a killed run leaves: a lock file naming a process that no longer holds it
    (out / LOCK).write_text("snn-rl train (pid 999999 on a host)\n")
    (out / MARK).write_text(json.dumps({"command": "train", "complete": False, "files": [], "foreign": []}))
    run_cli("train", "--backend", "nest", "--dataset", "abcd", "--out", str(out), "--quiet", "--epochs", "3")
    assert (out / "train.json").exists() and not (out / LOCK).exists()


@pytest.mark.simulator
def test_overwrite_removes_only_what_the_project_wrote(tmp_path):
    out = tmp_path / "run"
    run_cli("train", "--backend", "nest", "--dataset", "abcd", "--out", str(out), "--quiet", "--epochs", "3")
    run_cli("test", "--backend", "nest", "--weights", str(out), "--out", str(out / "test" / "nest"))
    (out / "notes.txt").write_text("the user's notes")
    (out / "checkpoints" / "keep.txt").write_text("the user's file among the checkpoints")
    test_json = (out / "test" / "nest" / "test.json").read_bytes()
    run_cli("train", "--backend", "nest", "--dataset", "abcd", "--out", str(out), "--quiet", "--epochs", "2",
            "--overwrite")
    assert (out / "notes.txt").read_text() == "the user's notes"
    assert (out / "checkpoints" / "keep.txt").exists()
    assert (out / "test" / "nest" / "test.json").read_bytes() == test_json
    assert json.loads((out / "train.json").read_text())["epochs_run"] == 2
    # the old run's third checkpoint was the project's: removed
    assert not (out / "checkpoints" / "epoch_0003.npz").exists()
    mark = read_mark(out)
    assert "notes.txt" in mark["foreign"] and "train.json" in mark["files"]


@pytest.mark.simulator
def test_standard_number_notation_and_a_byte_order_mark_are_accepted(tmp_path):
    data = tmp_path / "chars.txt"
    data.write_bytes(b"\xef\xbb\xbf" + ABCD_TEXT.encode())
    params = tmp_path / "p.yaml"
    params.write_bytes(b"\xef\xbb\xbfplasticity:\n  homeostasis_nA: 5e-2\n  loser_depression_nA: 5E-2\n")
    assert load(str(data)).labels == ("A", "B", "C", "D")
    assert load_params(str(params)).plasticity.homeostasis_nA == 0.05
    out = tmp_path / "run"
    run_cli("train", "--backend", "nest", "--dataset", str(data), "--out", str(out), "--quiet", "--epochs", "2",
            "--params", '{"plasticity": {"learning_rate_nA": 2e-1}}')
    record = json.loads((out / "train.json").read_text())
    assert record["labels"] == ["A", "B", "C", "D"]
    assert record["params"]["plasticity"]["learning_rate_nA"] == 0.2


def test_a_users_file_named_like_a_builtin_is_not_the_builtin(tmp_path):
    mine = tmp_path / "abcd.txt"
    mine.write_text(ABCD_TEXT.replace("A 101/010/000/010/010", "A 111/010/000/010/010"))
    users = load(str(mine))
    assert users.name == "abcd" and users.digest() != builtin("abcd").digest()
    run = tmp_path / "run"
    run.mkdir()
    (run / "train.json").write_text(json.dumps(users.record()))
    with pytest.raises(InputError, match="cannot tell which data set"):
        recorded_builtin(run)
    (run / "train.json").write_text(json.dumps(builtin("abcd").record()))
    assert recorded_builtin(run).digest() == builtin("abcd").digest()


def test_the_data_set_digest_is_of_the_content():
    a = builtin("abcd")
    assert parse(a.to_text(), name="renamed").digest() == a.digest()
    assert builtin("alphabet").digest() != a.digest()


def test_a_large_data_file_parses_or_is_refused_at_once():
    """The parser is linear (a quadratic one took 3 s for 20 000 lines here); a file of more
    classes than a network can hold is refused at the first line past the limit."""
    lines = [f"L{i} " + "/".join(format(i, "015b")[r * 3:r * 3 + 3] for r in range(5)) for i in range(1, 20_001)]
    data = parse("\n".join(lines[:MAX_CLASSES]))
    assert len(data) == MAX_CLASSES and data.images.shape == (MAX_CLASSES, 5, 3)
    assert data.images[5].ravel().tolist() == [int(c) for c in format(6, "015b")]
    with pytest.raises(DatasetError, match=f"<text>:{MAX_CLASSES + 1}: a data set holds at most {MAX_CLASSES}"):
        parse("\n".join(lines))


@pytest.mark.simulator
def test_an_unmarked_run_of_an_earlier_version_is_continued(tmp_path):
    """A pipeline run from before folders were marked, whose declared outputs Snakemake
    removed before rerunning: its checkpoints are recognised by name, its nested test
    results are left alone."""
    old = tmp_path / "old"
    run_cli("train", "--backend", "nest", "--dataset", "abcd", "--out", str(old), "--quiet", "--epochs", "4")
    run_cli("test", "--backend", "nest", "--weights", str(old), "--out", str(old / "test" / "nest" / "flips0"))
    for name in ("train.json", "weights.npz", "weights.png", "learning_curve.png", "connections.txt", MARK):
        (old / name).unlink()
    (old / "test" / "nest" / "flips0" / MARK).unlink()
    kept = (old / "test" / "nest" / "flips0" / "test.json").read_bytes()
    run_cli("train", "--backend", "nest", "--dataset", "abcd", "--out", str(old), "--quiet", "--epochs", "6",
            "--resume", "--overwrite")
    assert json.loads((old / "train.json").read_text())["resumed_from_epoch"] == 4
    assert (old / "test" / "nest" / "flips0" / "test.json").read_bytes() == kept
    assert "test/nest/flips0/test.json" in read_mark(old)["foreign"]


def test_yaml_merge_keys_may_be_overridden(tmp_path):
    from snn_rl.model.text_input import load_yaml

    assert load_yaml("b: &b {x: 1, y: 2}\nc: {<<: *b, x: 3}\n", "t")["c"] == {"x": 3, "y": 2}
    assert load_yaml("a: 08\nb: 1e5\nc: v1.2\n", "t") == {"a": "08", "b": 100000.0, "c": "v1.2"}
