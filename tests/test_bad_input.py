"""The bad-input catalogue: every malformed input gives one line naming the problem, a
non-zero exit status and no change to any file.

Each case runs the real command line (``python -m snn_rl``) in a fresh interpreter, in a
directory of its own that holds the case's inputs and output directory. Before and after,
every file and folder under that directory is recorded (size, modification time, SHA-256):
nothing may be created, changed or removed, and an output directory that did not exist must
still not exist. stderr must be exactly one line, starting with the program's name, with no
traceback, and must contain the words that name the problem.

A simulator that is not installed is produced by putting a package of the simulator's name
that fails to import (as a missing one does) first on ``PYTHONPATH``: it fakes only the
missing installation, everything else is the real program.

Config keys of the pipeline are checked through ``snakemake`` itself (a dry run of the real
Snakefile on the CI config plus one bad override, in the case's directory as working
directory). Snakemake announces the project's workflow profile on stderr before it reads
the Snakefile; that notice is not an error and is the one line set aside.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
import yaml

from conftest import ROOT, cli_env, run_cli
from snn_rl.experiments.storage import load_weights, save_weights
from snn_rl.experiments.checkpoints import checkpoint_paths

SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")
PROFILE_NOTICE = "Using workflow specific profile profiles/default for setting default command line arguments."
#: the longest error line a case may print: input never echoes unbounded
MAX_ERROR_LINE = 600
GOOD_DATA = "A 101/010/000/010/010\nB 001/010/001/010/001\nC 000/011/011/011/000\nD 001/010/010/010/001\n"


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    """A short finished training run on NEST (weights, checkpoints, train.json)."""
    out = tmp_path_factory.mktemp("finished") / "run"
    run_cli("train", "--backend", "nest", "--dataset", "abcd", "--seed", "3", "--epochs", "3", "--out", str(out), "--quiet")
    return out


@dataclass
class Case:
    """``args`` may hold ``{dir}`` (the case's directory), ``{out}`` (the output directory,
    ``out``) and ``{run}`` (a copy of the finished run in the case's directory)."""

    id: str
    args: list[str]
    expect: str  #: words the error line must contain
    prepare: Callable[[Path], None] = lambda d: None
    missing_simulator: str | None = None  #: a package to make unimportable
    out: str = "{dir}/out"
    config: dict | None = None  #: a pipeline config override: run snakemake instead of snn-rl


def write(name: str, text: str | bytes) -> Callable[[Path], None]:
    def prepare(d: Path) -> None:
        path = d / name
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return prepare


def foreign_graph(path: Path) -> None:
    """A NIR graph another tool wrote: one LIF layer, no snn-rl metadata."""
    import nir

    nir.write(path, nir.NIRGraph(nodes={"input": nir.Input({"input": np.array([2])}),
                                        "lif": nir.LIF(tau=np.ones(2), r=np.ones(2), v_leak=np.zeros(2),
                                                       v_threshold=np.ones(2), v_reset=np.zeros(2)),
                                        "output": nir.Output({"output": np.array([2])})},
                                 edges=[("input", "lif"), ("lif", "output")]))


def our_graph(d: Path, delays: str = "step", **output_layer) -> None:
    """``d/g.nir``: the case's run exported, with ``output_layer`` attributes edited."""
    import nir

    from snn_rl.deployment import nir_graph
    from snn_rl.experiments.runs import load_run

    trained, dataset, params = load_run(d / "run")
    graph = nir_graph.to_graph(trained, params, dataset, delays=delays)
    for key, value in output_layer.items():
        setattr(graph.nodes["output_layer"], key, value)
    nir.write(d / "g.nir", graph)


def train_cmd(*args: str, out: str = "{out}") -> list[str]:
    return ["train", "--backend", "nest", "--dataset", "abcd", "--out", out, "--quiet", *args]


def eval_cmd(*args: str, weights: str = "{run}") -> list[str]:
    return ["test", "--backend", "nest", "--weights", weights, "--out", "{out}", *args]


def _weights_with(d: Path, **changes) -> None:
    tw = load_weights(d / "run")
    arrays = {"weights": tw.weights, "input_gains": tw.input_gains}
    arrays.update(changes)
    save_weights(d / "odd.npz", type(tw)(arrays["weights"], arrays["input_gains"], tw.labels, tw.image_shape, tw.input_encoding))


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _unfinished(d: Path) -> None:
    """The run's directory as a kill would leave it: checkpoints only."""
    for name in ("train.json", "weights.npz", "weights.png", "learning_curve.png"):
        (d / "run" / name).unlink()


def _all_checkpoints_damaged(d: Path) -> None:
    _unfinished(d)
    for path in checkpoint_paths(d / "run"):
        _truncate(path)


def _npz(d: Path, **override) -> None:
    """``odd.npz``: the finished run's weights file with some arrays replaced as given."""
    with np.load(d / "run" / "weights.npz") as data:
        arrays = {k: data[k] for k in data.files}
    arrays.update(override)
    np.savez(d / "odd.npz", **arrays)


def _record(d: Path, **changes) -> None:
    """The run's train.json with some entries changed."""
    path = d / "run" / "train.json"
    record = json.loads(path.read_text())
    record.update(changes)
    path.write_text(json.dumps(record))


def _folder(name: str, files: dict[str, str | bytes]) -> Callable[[Path], None]:
    """A user's own folder ``name`` holding ``files``."""
    def prepare(d: Path) -> None:
        for rel, text in files.items():
            path = d / name / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return prepare


def _users_weights(d: Path) -> None:
    (d / "mine").mkdir()
    shutil.copy(d / "run" / "weights.npz", d / "mine" / "weights.npz")


#: a YAML alias bomb: nine levels of nine-fold references (9**9 strings if expanded)
ALIAS_BOMB = "network:\n  cell:\n    cm: [&l0 [" + ", ".join(['"lol"'] * 9) + "], " + ", ".join(
    f"&l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]" for i in range(1, 9)) + "]\n"


def deploy_cmd(*args: str, weights: str = "{run}", out: str = "{out}") -> list[str]:
    return ["deploy", "--target", "spinnaker", "--weights", weights, "--out", out, *args]


def emulate_cmd(*args: str, weights: str = "{run}", out: str = "{out}") -> list[str]:
    return ["emulate", "--weights", weights, "--out", out, *args]


CASES = [
    # command-line arguments
    Case("unknown-backend", ["train", "--backend", "brian9", "--out", "{out}"], "unknown backend 'brian9'"),
    Case("epochs-zero", train_cmd("--epochs", "0"), "--epochs: must be positive"),
    Case("epochs-negative", train_cmd("--epochs", "-1"), "--epochs: must be positive"),
    Case("epochs-not-a-number", train_cmd("--epochs", "x"), "--epochs: expected a whole number"),
    Case("seed-negative", train_cmd("--seed", "-3"), "--seed: must be >= 0"),
    Case("threads-zero", train_cmd("--threads", "0"), "--threads: must be positive"),
    Case("unknown-command", ["trian", "--backend", "nest"], "invalid choice: 'trian'"),
    Case("out-missing", ["train", "--backend", "nest"], "required: --out"),
    Case("repeats-zero", eval_cmd("--repeats", "0"), "--repeats: must be positive"),
    Case("too-many-flipped-pixels", eval_cmd("--noise-flips", "16"), "--noise-flips 16 is more than the 15 pixels"),
    # data-set files
    Case("data-missing", train_cmd("--dataset", "{dir}/nope.txt"), "neither a built-in"),
    Case("data-ragged-rows", train_cmd("--dataset", "{dir}/d.txt"), "different lengths",
         write("d.txt", GOOD_DATA.replace("C 000/011/011/011/000", "C 000/011/01/011/000"))),
    Case("data-bad-cell", train_cmd("--dataset", "{dir}/d.txt"), "cells must be 0 or 1, found '2'",
         write("d.txt", GOOD_DATA.replace("B 001/010", "B 001/210"))),
    Case("data-duplicate-label", train_cmd("--dataset", "{dir}/d.txt"), "duplicate label 'A'",
         write("d.txt", GOOD_DATA + "A 111/111/111/111/111\n")),
    Case("data-empty", train_cmd("--dataset", "{dir}/d.txt"), "no characters found", write("d.txt", "")),
    Case("data-single-character", train_cmd("--dataset", "{dir}/d.txt"), "expected 'LABEL ROWS'", write("d.txt", "x")),
    Case("data-one-class", train_cmd("--dataset", "{dir}/d.txt"), "at least 2 characters",
         write("d.txt", "A 101/010/000/010/010\n")),
    Case("data-mixed-shapes", train_cmd("--dataset", "{dir}/d.txt"), "earlier characters are 5 x 3",
         write("d.txt", GOOD_DATA + "E 0000/0110/0010/0110/0000\n")),
    Case("data-not-text", train_cmd("--dataset", "{dir}/d.txt"), "cannot read data set file",
         write("d.txt", b"\xff\xfe\x00\x81binary")),
    Case("data-is-a-directory", train_cmd("--dataset", "{dir}/run"), "is not a regular file"),
    # parameters (--params, inline or a file)
    Case("params-unknown-key", train_cmd("--params", '{"training": {"max_epoch": 5}}'), "unknown parameter training.max_epoch"),
    Case("params-unknown-section", train_cmd("--params", '{"trainig": {}}'), "unknown parameter trainig"),
    Case("params-wrong-type", train_cmd("--params", '{"training": {"max_epochs": "many"}}'),
         "training.max_epochs must be a whole number"),
    Case("params-bool-as-number", train_cmd("--params", '{"network": {"cell": {"cm": true}}}'), "network.cell.cm must be a number"),
    Case("params-invalid-value", train_cmd("--params", '{"network": {"timestep_ms": -0.1}}'), "network.timestep_ms must be in [0.001, 1], got -0.1"),
    Case("params-invalid-yaml", train_cmd("--params", "{dir}/p.yaml"), "not valid YAML", write("p.yaml", "training: [max_epochs: 5\n")),
    Case("params-not-a-mapping", train_cmd("--params", "{dir}/p.yaml"), "must be a mapping", write("p.yaml", "- 1\n- 2\n")),
    Case("params-file-missing", train_cmd("--params", "{dir}/none.yaml"), "parameter file"),
    Case("params-k-not-a-number", train_cmd("--params", '{"network": {"outputs_per_class": 2.5}}'),
         "network.outputs_per_class must be a whole number"),
    Case("params-k-zero", train_cmd("--params", '{"network": {"outputs_per_class": 0}}'),
         "network.outputs_per_class must be in [1, 1000], got 0"),
    Case("params-match-drive-and-norm",
         train_cmd("--params", '{"plasticity": {"match_drive_nA": 5.6, "weight_norm_nA": 0.7}}'),
         "plasticity.match_drive_nA sets each output's weight norm from the training images"),
    Case("params-match-drive-negative", train_cmd("--params", '{"plasticity": {"match_drive_nA": -1}}'),
         "plasticity.match_drive_nA must be in [0, 100], got -1"),
    Case("params-unknown-tie-rule", train_cmd("--params", '{"network": {"tie_rule": "coin"}}'),
         "network.tie_rule must be one of none, first_spike"),
    Case("heldout-other-classes", train_cmd("--heldout", "alphabet"), "use a held-out set of the same classes"),
    Case("heldout-missing", train_cmd("--heldout", "{dir}/nope.txt"), "neither a built-in"),
    Case("weights-outputs-not-per-class", eval_cmd(weights="{dir}/odd.npz"), "K outputs per class",
         lambda d: _weights_with(d, weights=np.full((30, 6), 0.1))),
    # weights files
    Case("weights-missing", eval_cmd(weights="{dir}/none.npz"), "does not exist"),
    Case("weights-wrong-data-set", eval_cmd("--dataset", "alphabet"), "trained on 4 characters"),
    Case("weights-wrong-image-shape", eval_cmd("--dataset", "{dir}/d.txt"), "trained on 4 characters of 5 x 3",
         write("d.txt", "A 101/010/000/010\nB 001/010/001/010\nC 000/011/011/011\nD 001/010/010/010\n")),
    Case("weights-not-npz", eval_cmd(weights="{dir}/w.npz"), "not a readable .npz", write("w.npz", "weights: 1 2 3\n")),
    Case("weights-truncated", eval_cmd(weights="{dir}/run/weights.npz"), "not a readable .npz",
         lambda d: _truncate(d / "run" / "weights.npz")),
    Case("weights-missing-arrays", eval_cmd(weights="{dir}/w.npz"), "not a weights file (missing",
         lambda d: np.savez(d / "w.npz", weights_nA=np.ones((15, 4)))),
    Case("weights-not-finite", eval_cmd(weights="{dir}/odd.npz"), "weights_nA holds non-finite values",
         lambda d: _weights_with(d, weights=np.full((30, 4), np.nan))),
    Case("weights-gains-mismatch", eval_cmd(weights="{dir}/odd.npz"), "inconsistent",
         lambda d: _weights_with(d, input_gains=np.ones(14))),
    Case("weights-beside-unknown-params", eval_cmd(), "train.json has no usable parameters (unknown parameter bogus",
         write("run/train.json", '{"params": {"bogus": 1}}')),
    Case("weights-beside-broken-train-json", eval_cmd(), "train.json is not valid JSON", write("run/train.json", "{")),
    # output directory
    Case("out-is-a-file", train_cmd(out="{dir}/f"), "exists and is not a directory", write("f", "x")),
    Case("out-under-a-file", train_cmd(out="{dir}/f/sub"), "f is a file, not a directory", write("f", "x")),
    Case("train-finished-run-without-overwrite", train_cmd("--seed", "3", out="{run}"), "already holds a finished result"),
    Case("test-finished-without-overwrite", eval_cmd(), "already holds a finished result",
         write("test.json", '{"provenance": {}}'),
         out="{dir}"),
    Case("unfinished-run-without-resume", train_cmd("--seed", "3", "--epochs", "3", out="{run}"),
         "checkpoints of an unfinished run", _unfinished),
    # checkpoints
    Case("checkpoint-other-seed", train_cmd("--seed", "4", "--epochs", "3", "--resume", out="{run}"), "seed 3 (this run: 4)",
         _unfinished),
    Case("checkpoint-other-backend", ["train", "--backend", "neuron", "--dataset", "abcd", "--seed", "3", "--epochs", "3",
                                      "--resume", "--out", "{run}", "--quiet"], "backend 'nest' (this run: 'neuron')",
         _unfinished),
    Case("checkpoint-other-params", train_cmd("--seed", "3", "--resume", "--params", '{"plasticity": {"learning_rate_nA": 0.1}}',
                                          out="{run}"), "another plasticity.learning_rate_nA", _unfinished),
    Case("checkpoint-beyond-epochs", train_cmd("--seed", "3", "--epochs", "2", "--resume", out="{run}"),
         "beyond max_epochs 2", _unfinished),
    Case("checkpoints-all-damaged", train_cmd("--seed", "3", "--epochs", "3", "--resume", out="{run}"),
         "none of the 3 checkpoints", _all_checkpoints_damaged),
    # --- data safety: an output folder holds only what the command wrote --------------------
    Case("deploy-into-users-folder", deploy_cmd(out="{dir}/mine"), "holds 3 file(s) that snn-rl did not write",
         _folder("mine", {"README.md": "my notes", "run.py": "print(1)", "dataset.txt": "mine"})),
    Case("deploy-overwrite-users-files", deploy_cmd("--overwrite", out="{dir}/mine"), "which snn-rl did not write",
         _folder("mine", {"README.md": "my notes", "run.py": "print(1)", "dataset.txt": "mine"})),
    Case("train-into-users-weights", train_cmd(out="{dir}/mine"), "did not write (e.g. 'weights.npz')", _users_weights),
    Case("train-overwrite-users-weights", train_cmd("--overwrite", out="{dir}/mine"),
         "holds 'weights.npz', which snn-rl did not write", _users_weights),
    Case("out-empty", train_cmd(out=""), "--out is empty"),
    Case("out-blank", train_cmd(out="  "), "--out is empty"),
    Case("out-root", train_cmd(out="/"), "is the file-system root"),
    Case("out-home", train_cmd(out="~"), "is the home folder"),
    Case("test-into-a-training-run", eval_cmd(), "holds the result of 'snn-rl train'", out="{run}"),
    Case("emulate-into-a-training-run", emulate_cmd(out="{run}"), "holds the result of 'snn-rl train'"),
    Case("train-into-a-test-folder", train_cmd(out="{dir}/t"), "holds the result of 'snn-rl test'",
         _folder("t", {".snn-rl.json": '{"command": "test", "files": ["test.json"]}', "test.json": "{}"})),
    Case("lockstep-overwrite-users-file", ["lockstep", "protocol", "--weights", "{run}", "--out", "{dir}/mine.npz",
                                          "--overwrite"], "not a file snn-rl wrote",
         lambda d: np.savez(d / "mine.npz", data=np.ones(3))),
    Case("agreement-overwrite-users-file", ["lockstep", "compare", "{dir}/a.npz", "{dir}/b.npz", "--out", "{dir}/mine.json",
                                            "--overwrite"], "not a file snn-rl wrote", write("mine.json", '{"mine": 1}')),
    Case("mark-reaching-outside", train_cmd("--overwrite", out="{dir}/m"), "is damaged",
         _folder("m", {".snn-rl.json": '{"command": "train", "files": ["../victim.txt", "/etc/hostname"]}',
                       "weights.npz": "x"})),
    Case("refused-test-keeps-the-earlier-result", ["test", "--backend", "spinnaker-emulated", "--weights", "{run}",
                                                   "--overwrite", "--out", "{dir}/t"], "rounds to 0.0 ms",
         lambda d: (_record(d, params={**json.loads((d / "run" / "train.json").read_text())["params"],
                                       "network": {**json.loads((d / "run" / "train.json").read_text())["params"]["network"],
                                                   "inhibition_delay_ms": 0.1}}),
                    _folder("t", {".snn-rl.json": '{"command": "test", "complete": true, "files": ["test.json"]}',
                                  "test.json": '{"accuracy": 1.0}'})(d))),
    # --- data sets are known by content, not by name --------------------------------------------
    Case("deploy-user-file-named-abcd", deploy_cmd(), "cannot tell which data set",
         lambda d: _record(d, dataset="abcd", dataset_source=str(d / "abcd.txt"))),
    Case("emulate-user-file-named-abcd", emulate_cmd(), "cannot tell which data set",
         lambda d: _record(d, dataset="abcd", dataset_source=str(d / "abcd.txt"))),
    Case("deploy-digest-mismatch", deploy_cmd(), "cannot tell which data set",
         lambda d: _record(d, dataset_sha256="0" * 64)),
    Case("deploy-record-without-digest", deploy_cmd(), "cannot tell which data set",
         lambda d: _record(d, dataset_sha256=None)),
    # --- invalid numbers never pass ---------------------------------------------------------------
    Case("weights-negative-gains", eval_cmd(weights="{dir}/odd.npz"), "input gains must lie in [0, 100]",
         lambda d: _weights_with(d, input_gains=-np.ones(30))),
    Case("weights-nan-gains", eval_cmd(weights="{dir}/odd.npz"), "input_gains holds non-finite values",
         lambda d: _weights_with(d, input_gains=np.full(30, np.nan))),
    Case("deploy-nan-weights", deploy_cmd("--dataset", "abcd", weights="{dir}/odd.npz"), "weights_nA holds non-finite",
         lambda d: _weights_with(d, weights=np.full((30, 4), np.nan))),
    Case("weights-negative", eval_cmd(weights="{dir}/odd.npz"), "weights must lie in [0, 100] nA",
         lambda d: _weights_with(d, weights=-np.ones((30, 4)))),
    Case("params-nan", train_cmd("--params", '{"plasticity": {"learning_rate_nA": .nan}}'),
         "plasticity.learning_rate_nA must be a finite number"),
    Case("params-inf-in-file", train_cmd("--params", "{dir}/p.yaml"), "network.cell.tau_m must be a finite number",
         write("p.yaml", "network:\n  cell:\n    tau_m: .inf\n")),
    Case("params-negative-tau-m-neuron", ["train", "--backend", "neuron", "--out", "{out}", "--quiet", "--params",
                                          '{"network": {"cell": {"tau_m": -20}}}'], "network.cell.tau_m must be in (0, 10000]"),
    Case("params-zero-capacitance", train_cmd("--params", '{"network": {"cell": {"cm": 0}}}'), "network.cell.cm must be in (0"),
    Case("params-threshold-below-reset", train_cmd("--params", '{"network": {"cell": {"v_thresh": -70}}}'),
         "v_reset (-65 mV) must be below network.cell.v_thresh"),
    Case("params-step-off-nest-grid", train_cmd("--params", '{"network": {"timestep_ms": 0.0015}}'),
         "timestep_ms must be a multiple of 0.001"),
    Case("params-window-off-grid", train_cmd("--params", '{"network": {"timestep_ms": 0.3}}'),
         "window_ms must be a whole number of time steps (0.3 ms)"),
    Case("params-delay-off-grid", train_cmd("--params", '{"network": {"timestep_ms": 1.0, "inhibition_delay_ms": 0.5}}'),
         "inhibition_delay_ms must be a whole number of time steps"),
    Case("params-huge-integer", train_cmd("--params", '{"training": {"max_epochs": ' + "9" * 400 + '}}'),
         "training.max_epochs must be in [1, 100000]"),
    Case("params-jitter-one", train_cmd("--params", '{"network": {"input_jitter": 1.0}}'), "network.input_jitter must be in [0, 1)"),
    Case("params-negative-rest", train_cmd("--params", '{"network": {"rest_ms": -5}}'), "network.rest_ms must be in [0"),
    Case("params-duplicate-key", train_cmd("--params", "{dir}/p.yaml"), "key 'max_epochs' is given twice",
         write("p.yaml", "training:\n  max_epochs: 3\n  max_epochs: 5\n")),
    Case("params-file-is-a-folder", train_cmd("--params", "{dir}/run"), "does not exist or is not a file"),
    # --- malformed weight arrays: one line, never a TypeError/IndexError/OverflowError ---------
    Case("weights-strings", eval_cmd(weights="{dir}/odd.npz"), "weights_nA must hold numbers",
         lambda d: _npz(d, weights_nA=np.full((30, 4), "x"))),
    Case("weights-3d", eval_cmd(weights="{dir}/odd.npz"), "inconsistent", lambda d: _npz(d, weights_nA=np.ones((30, 4, 2)))),
    Case("weights-huge-image-shape", eval_cmd(weights="{dir}/odd.npz"), "image_shape must be two positive whole numbers",
         lambda d: _npz(d, image_shape=np.array([2**62, 2**62]))),
    Case("weights-float-image-shape", eval_cmd(weights="{dir}/odd.npz"), "image_shape must be two positive whole numbers",
         lambda d: _npz(d, image_shape=np.array([5.0, 3.0]))),
    Case("weights-numeric-labels", eval_cmd(weights="{dir}/odd.npz"), "labels must be 2 to 1000 strings",
         lambda d: _npz(d, labels=np.arange(4))),
    Case("weights-unknown-encoding", eval_cmd(weights="{dir}/odd.npz"), "input_encoding must be one of",
         lambda d: _npz(d, input_encoding=np.array("morse"))),
    Case("weights-empty-labels", eval_cmd(weights="{dir}/odd.npz"), "labels must be 2 to 1000 strings",
         lambda d: _npz(d, labels=np.array([], dtype=str))),
    # --- bounded resources ------------------------------------------------------------------------
    Case("data-dev-zero", train_cmd("--dataset", "/dev/zero"), "is not a regular file"),
    Case("data-too-large", train_cmd("--dataset", "{dir}/d.txt"), "is larger than 2 MB",
         write("d.txt", "# " + "x" * 2_100_000 + "\n" + GOOD_DATA)),
    Case("data-long-label", train_cmd("--dataset", "{dir}/d.txt"), "a label has at most 32 characters",
         write("d.txt", GOOD_DATA + "Z" * 5000 + " 111/111/111/111/111\n")),
    Case("data-long-garbage-line", train_cmd("--dataset", "{dir}/d.txt"), "expected 'LABEL ROWS'",
         write("d.txt", GOOD_DATA + "x y " * 50_000 + "\n")),
    Case("threads-too-many", train_cmd("--threads", "1000"), "--threads: must be at most"),
    Case("epochs-too-many", train_cmd("--epochs", "100000000"), "--epochs: must be at most 100000"),
    Case("repeats-too-many", eval_cmd("--repeats", "1000000000"), "--repeats: must be at most 1000"),
    Case("window-too-long", train_cmd("--params", '{"network": {"window_ms": 1e9}}'), "network.window_ms must be in (0, 10000]"),
    Case("params-alias-bomb", train_cmd("--params", "{dir}/p.yaml"), "must be a number, got", write("p.yaml", ALIAS_BOMB)),
    Case("params-file-too-large", train_cmd("--params", "{dir}/p.yaml"), "is larger than 1000 kB",
         write("p.yaml", "# " + "x" * 1_100_000 + "\n")),
    # --- a data set that cannot be learned ----------------------------------------------------------
    Case("data-identical-bitmaps", train_cmd("--dataset", "{dir}/d.txt"), "'E' has the same bitmap as 'A'",
         write("d.txt", GOOD_DATA + "E 101/010/000/010/010\n")),
    # --- NIR export, import and consumer ------------------------------------------------------------
    Case("export-unknown-format", ["export", "--format", "onnx", "--weights", "{run}", "--out", "{dir}/g.nir"],
         "invalid choice: 'onnx'"),
    Case("export-unknown-delays", ["export", "--format", "nir", "--weights", "{run}", "--out", "{dir}/g.nir",
                                   "--delays", "half"], "invalid choice: 'half'"),
    Case("export-out-is-a-folder", ["export", "--format", "nir", "--weights", "{run}", "--out", "{dir}"],
         "is a directory"),
    Case("export-over-a-file-without-overwrite", ["export", "--format", "nir", "--weights", "{run}", "--out",
                                                  "{dir}/g.nir"], "pass --overwrite", write("g.nir", "my notes\n")),
    Case("export-over-a-users-file", ["export", "--format", "nir", "--weights", "{run}", "--out", "{dir}/g.nir",
                                      "--overwrite"], "is not a file snn-rl wrote", write("g.nir", "my notes\n")),
    Case("export-missing-weights", ["export", "--format", "nir", "--weights", "{dir}/nothing", "--out", "{dir}/g.nir"],
         "does not exist"),
    Case("export-nir-not-installed", ["export", "--format", "nir", "--weights", "{run}", "--out", "{dir}/g.nir"],
         'needs the nir package: pip install "snn-rl[nir]"', missing_simulator="nir"),
    Case("import-not-a-nir-file", ["import", "--nir", "{dir}/g.nir", "--out", "{out}"], "is not a readable NIR file",
         write("g.nir", "not hdf5\n")),
    Case("import-missing-file", ["import", "--nir", "{dir}/none.nir", "--out", "{out}"], "is not a file"),
    Case("import-foreign-graph", ["import", "--nir", "{dir}/g.nir", "--out", "{out}"],
         "is not a network exported by snn-rl", lambda d: foreign_graph(d / "g.nir")),
    Case("import-edited-graph-not-runnable", ["import", "--nir", "{dir}/g.nir", "--out", "{out}"],
         "tau_mem differs between neurons", lambda d: our_graph(d, tau_mem=np.arange(1.0, 5.0))),
    Case("import-into-a-training-run", ["import", "--nir", "{dir}/g.nir", "--out", "{run}"],
         "holds the result of 'snn-rl train'", lambda d: our_graph(d)),
    Case("nir-test-graph-with-delay-nodes", ["nir-test", "--nir", "{dir}/g.nir", "--out", "{out}"],
         "Delay nodes, which Norse does not import", lambda d: our_graph(d, delays="nodes")),
    Case("nir-test-consumer-not-installed", ["nir-test", "--nir", "{dir}/g.nir", "--out", "{out}"],
         'needs PyTorch and Norse: pip install "snn-rl[nir-consumer]"', lambda d: our_graph(d),
         missing_simulator="norse"),
    Case("nir-test-unknown-consumer", ["nir-test", "--nir", "{dir}/g.nir", "--out", "{out}", "--consumer", "lava"],
         "invalid choice: 'lava'", lambda d: our_graph(d)),
    Case("nir-test-wrong-dataset", ["nir-test", "--nir", "{dir}/g.nir", "--out", "{out}", "--dataset", "alphabet"],
         "was trained on 4 characters", lambda d: our_graph(d)),
    # --- pipeline config ---------------------------------------------------------------------------
    Case("config-count-as-float", [], "config['seeds']: 2.0 is not of type 'integer' (write a whole number",
         config={"seeds": 2.0}),
    Case("config-nested-count-as-float", [], "config['noise']['flips'][0]: 1.0 is not of type 'integer'",
         config={"noise": {"flips": [1.0]}}),
    Case("config-bad-data-file", [], "config key dataset_files.mine: ", write("bad.txt", "A 101/010\nB 10x/010\n"),
         config={"datasets": ["mine"], "dataset_files": {"mine": "bad.txt"}}),
    # simulators that are not installed
    Case("nest-not-installed", train_cmd(), "needs nest-simulator", missing_simulator="nest"),
    Case("neuron-not-installed", ["test", "--backend", "neuron", "--weights", "{run}", "--out", "{out}"], "needs neuron",
         missing_simulator="neuron"),
    Case("brian2-not-installed", ["train", "--backend", "brian2", "--out", "{out}", "--quiet"], "needs brian2==2.11.0",
         missing_simulator="brian2"),
    # the same bad input on Brian 2 as on the others
    Case("params-negative-tau-m-brian2", ["train", "--backend", "brian2", "--out", "{out}", "--quiet", "--params",
                                          '{"network": {"cell": {"tau_m": -20}}}'], "network.cell.tau_m must be in (0, 10000]"),
    Case("brian2-test-wrong-dataset", ["test", "--backend", "brian2", "--weights", "{run}", "--dataset", "alphabet",
                                       "--out", "{out}"], "trained on 4 characters"),
    Case("brian2-lockstep-other-protocol", ["lockstep", "run", "--backend", "brian2", "--protocol", "{dir}/p.npz",
                                            "--out", "{out}/r.npz"], "p.npz", write("p.npz", b"not a zip file")),
    # pipeline config keys
    Case("config-unknown-key", [], "'bogus_key' was unexpected", config={"bogus_key": 1}),
    Case("config-wrong-type", [], "config['seeds']: 'three' is not of type 'integer'", config={"seeds": "three"}),
    Case("config-unknown-backend", [], "config['backends'][1]: 'brian9' is not one of", config={"backends": ["nest", "brian9"]}),
    Case("config-negative-seed", [], "config['first_seed']: -1 is less than the minimum", config={"first_seed": -1}),
    Case("config-nested-wrong-type", [], "config['lockstep']['windows']: 2.5 is not of type 'integer'",
         config={"lockstep": {"windows": 2.5}}),
    Case("config-model-unknown-key", [], "config['model']['training']: Additional properties are not allowed ('max_epoch'",
         config={"model": {"training": {"max_epoch": 5}}}),
    Case("config-model-wrong-type", [], "config['model']['network']['inhibition_nA']: 'strong' is not of type 'number'",
         config={"model": {"network": {"inhibition_nA": "strong"}}}),
    Case("config-model-invalid-value", [], "config['model']['network']['timestep_ms']: -1.0 is less than the minimum of 0.001",
         config={"model": {"network": {"timestep_ms": -1.0}}}),
    Case("config-unknown-dataset", [], "'klingon' is neither a built-in data set", config={"datasets": ["klingon"]}),
    Case("config-lockstep-reference-not-trained", [], "lockstep.reference_backend: 'neuron' is not in backends",
         config={"backends": ["nest"], "lockstep": {"reference_backend": "neuron"}}),
]


def snapshot(root: Path) -> dict[str, tuple]:
    """Every file and folder under ``root``: kind, size, modification time and content digest."""
    found = {}
    for path in sorted([root, *root.rglob("*")]):
        st = path.lstat()
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None
        found[str(path.relative_to(root))] = (path.is_dir(), st.st_size if path.is_file() else None, st.st_mtime_ns, digest)
    return found


def _fill(arg: str, d: Path, case: Case) -> str:
    out = case.out.replace("{dir}", str(d))
    return arg.replace("{out}", out).replace("{run}", str(d / "run")).replace("{dir}", str(d))


def test_catalogue_is_large_enough():
    assert len(CASES) >= 100 and len({c.id for c in CASES}) == len(CASES)


@pytest.mark.simulator
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_bad_input_is_refused_cleanly(case, finished_run, tmp_path):
    shutil.copytree(finished_run, tmp_path / "run")
    case.prepare(tmp_path)
    args = [_fill(a, tmp_path, case) for a in case.args]
    command, tool = [sys.executable, "-m", "snn_rl", *args], "snn-rl"
    if case.config is not None:
        (tmp_path / "override.yaml").write_text(yaml.safe_dump(case.config))
        command, tool = [SNAKEMAKE, "--snakefile", str(ROOT / "Snakefile"), "--directory", str(tmp_path), "--dry-run",
                         "--configfile", str(ROOT / "config" / "ci.yaml"), str(tmp_path / "override.yaml")], "snakemake"
    env = cli_env()
    if case.missing_simulator:
        stub = tmp_path.parent / f"{tmp_path.name}-stub" / case.missing_simulator
        stub.mkdir(parents=True)
        (stub / "__init__.py").write_text(f"raise ModuleNotFoundError(\"No module named '{case.missing_simulator}'\")\n")
        env["PYTHONPATH"] = str(stub.parent)
    before = snapshot(tmp_path)
    proc = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    lines = [line for line in proc.stderr.splitlines() if line.strip() and line != PROFILE_NOTICE]
    assert proc.returncode != 0, f"exit status 0 for {command}"
    assert len(lines) == 1, f"expected one line on stderr, got:\n{proc.stderr}"
    assert lines[0].startswith(tool), lines[0]
    assert case.expect in lines[0], lines[0]
    assert len(lines[0]) <= MAX_ERROR_LINE, f"an error line of {len(lines[0])} characters"
    assert snapshot(tmp_path) == before, "files changed"
