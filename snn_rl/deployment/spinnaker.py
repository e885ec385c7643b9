"""``deploy``: a trained run as a bundle for SpiNNaker (or the EBRAINS platform).

The bundle is what a user runs on a SpiNNaker machine or submits to the EBRAINS
Neuromorphic Computing Platform: ``run.py`` (standalone PyNN, the simulator name as its one
argument; :mod:`snn_rl.deployment.bundle_run`), ``network.json`` (parameters and trained
weights), ``dataset.txt``, ``quantisation.json`` (what the chip's 16-bit weights do to the
trained ones) and ``README.md``. ``virtual=True`` maps the bundle on a virtual SpiNNaker
board in a separate process and reports the placement or the mapping error; ``submit=True``
sends the bundle to the platform with the ``hbp-neuromorphic-platform`` client.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from snn_rl.backends.spinnaker import CFG_TEMPLATES
from snn_rl.errors import DeploymentError, InputError
from snn_rl.experiments.outputs import output_folder, prepare_out
from snn_rl.experiments.provenance import provenance
from snn_rl.experiments.runs import load_run
from snn_rl.experiments.storage import write_json
from snn_rl.model import quantisation as q
from snn_rl.model.dataset import Dataset

BUNDLE_SCRIPT = Path(__file__).with_name("bundle_run.py")
VIRTUAL_CFG = CFG_TEMPLATES / "virtual.cfg"
TARGETS = ("spinnaker",)
#: run.py shows the characters back to back in one run, with no state reset between them: its
#: rest gap is at least the original work's 50 ms, so membranes and currents decay in between
CONTINUOUS_REST_MS = 50.0
#: environment variables the EBRAINS submission reads
EBRAINS_USER_ENV, EBRAINS_TOKEN_ENV = "EBRAINS_USERNAME", "EBRAINS_TOKEN"
VIRTUAL_MAP_TIMEOUT_S = 600


def network_json(trained, params, repeats: int, dataset: Dataset | None = None) -> dict:
    """What ``run.py`` needs: SpiNNaker-constrained parameters and the trained weights (nA);
    with ``dataset``, the digest of the data set the bundle's dataset.txt holds."""
    n = q.spinnaker_params(params).network
    return {**({"dataset_sha256": dataset.digest()} if dataset is not None else {}),
        "cell": n.cell.pynn(), "window_ms": n.window_ms, "rest_ms": max(n.rest_ms, CONTINUOUS_REST_MS),
        "input_current_nA": n.input_current_nA, "input_encoding": trained.input_encoding,
        "inhibition_nA": n.inhibition_nA, "delay_ms": n.delay_ms, "inhibition_delay_ms": n.inhibition_delay_ms,
        "repeats": repeats, "input_gains": trained.input_gains.tolist(), "weights_nA": trained.weights.tolist(),
        "outputs_per_class": trained.outputs_per_class, "tie_rule": n.tie_rule,
    }


def readme_fragment(name: str, dataset, quant: dict) -> str:
    return f"""# SpiNNaker bundle: {name}

The trained {len(dataset)}-character network ({''.join(dataset.labels)}), ready for PyNN.

    python run.py nest         # or neuron, or spiNNaker
    nmpi run run.py -p SpiNNaker -c <collab>    # EBRAINS platform: uploads this directory

`run.py` needs PyNN, numpy and the simulator only; it reads `network.json` and `dataset.txt`
beside it and writes `results.json` (answers, spike counts, accuracy; on SpiNNaker the
placement) into the working directory. All test presentations run in one simulation at
SpiNNaker's 1 ms time step. On SpiNNaker, sPyNNaker's cfg file (`~/.spynnaker.cfg`) names
the machine; on the platform it is provided.

On the chip the input -> output weights are 16-bit integers with a ring-buffer left shift of
{quant['excitatory_ring_buffer_shift']} (one unit = {quant['excitatory_lsb_nA']:.6g} nA);
{quant['n_rounded_to_zero']} of {quant['n_weights']} weights round to zero
(`quantisation.json`). Check the answers under that arithmetic beforehand with
`snn-rl emulate`.
"""


def virtual_map(bundle: Path) -> dict:
    """Run the bundle with ``spiNNaker`` on a virtual board in a separate process, with a
    private home and cfg so neither the user's cfg nor the working directory is touched."""
    bundle = bundle.resolve()
    work = bundle / "virtual_board"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    with tempfile.TemporaryDirectory(prefix="snn-rl-spinnaker-") as tmp:
        home, xdg = Path(tmp, "home"), Path(tmp, "config")
        home.mkdir()
        xdg.mkdir()
        cfg = VIRTUAL_CFG.read_text().replace("default_report_file_path = DEFAULT",
                                              f"default_report_file_path = {work}")
        (xdg / ".spynnaker.cfg").write_text(cfg)
        env = {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(xdg), "XDG_CONFIG_DIRS": str(Path(tmp, "etc"))}
        try:
            proc = subprocess.run([sys.executable, str(bundle / "run.py"), "spiNNaker"], cwd=work, env=env,
                                  capture_output=True, text=True, timeout=VIRTUAL_MAP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            return {"mapped": False, "error": f"mapping did not finish within {VIRTUAL_MAP_TIMEOUT_S} s"}
    (work / "run.log").write_text(proc.stdout + proc.stderr)
    if proc.returncode != 0 or not (work / "results.json").exists():
        lines = [ln for ln in proc.stderr.splitlines() if ln.strip() and not ln.startswith((" ", "|", "="))]
        errors = [ln for ln in lines if "Error" in ln or "Exception" in ln]
        return {"mapped": False, "error": (errors or lines or ["no output"])[-1].strip(), "log": str(work / "run.log")}
    return {"mapped": True, **json.loads((work / "results.json").read_text())["placement"]}


def _submission_client():
    """An EBRAINS client from the environment, or :class:`InputError` saying what is missing."""
    user, token = os.environ.get(EBRAINS_USER_ENV), os.environ.get(EBRAINS_TOKEN_ENV)
    if not token:
        raise InputError(f"--submit needs an EBRAINS access token in {EBRAINS_TOKEN_ENV} "
                       f"(and your EBRAINS user name in {EBRAINS_USER_ENV}, optional)")
    try:
        import nmpi
    except ImportError:
        raise InputError("--submit needs the EBRAINS client: pip install hbp-neuromorphic-platform") from None
    return nmpi, user, token


@dataclass(frozen=True)
class DeployResult:
    """A bundle written into ``out``; ``report`` is the content of its ``deploy.json``."""

    report: dict
    out: Path

    def describe(self) -> list[str]:
        r, quant = self.report, self.report["quantisation"]
        lines = [f"bundle for {r['target']}: {self.out} ({quant['n_rounded_to_zero']} of {quant['n_weights']} "
                 "weights round to zero)"]
        vb = r.get("virtual_board")
        if vb and vb["mapped"]:
            lines.append(f"mapped on a virtual board: {vb['application_cores']} application cores on chips "
                         f"{vb['application_chips']} ({vb['total_cores_including_system']} cores with system cores)")
        if "submitted_job" in r:
            lines.append(f"submitted to the EBRAINS platform as job {r['submitted_job']}")
        return lines


#: every top-level name a bundle folder holds besides deploy.json
BUNDLE_FILES = ("run.py", "network.json", "dataset.txt", "quantisation.json", "README.md", "virtual_board")


def is_bundle_file(folder: Path, rel: str) -> bool:
    """Whether a file of an unmarked folder is part of a bundle this project wrote (a bundle
    from before folders were marked, whose deploy.json a rerun removed first): known by its
    content, never by its name alone."""
    if rel.split("/")[0] == "virtual_board":
        return (folder / "virtual_board" / "run.log").exists()
    path = folder / rel
    try:
        if rel == "run.py":
            return path.read_bytes() == BUNDLE_SCRIPT.read_bytes()
        with open(path, "rb") as fh:
            head = fh.read(4096)
    except OSError:
        return False
    if rel == "README.md":
        return head.startswith(b"# SpiNNaker bundle: ")
    if rel == "dataset.txt":
        return head.startswith(b"# data set ")
    if rel in ("network.json", "quantisation.json"):
        return head.lstrip().startswith(b"{") and (b'"weights_nA"' in head or b'"rounded_to_zero"' in head
                                                   or b'"n_weights"' in head)
    return False


def _write_bundle(out: Path, name: str, trained, dataset: Dataset, params, repeats: int, quant: dict) -> None:
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(BUNDLE_SCRIPT, out / "run.py")
    write_json(out / "network.json", network_json(trained, params, repeats, dataset))
    (out / "dataset.txt").write_text(dataset.to_text())
    write_json(out / "quantisation.json", quant)
    (out / "README.md").write_text(readme_fragment(name, dataset, quant))


def _submit(client_parts, out: Path, collab: str) -> dict:
    nmpi, user, token = client_parts
    try:
        client = nmpi.Client(username=user, token=token)
        return {"submitted_job": client.submit_job(source=str(out), platform=nmpi.SPINNAKER,
                                                   collab_id=collab, command="run.py {system}")}
    except Exception as exc:  # network and server errors of the client
        return {"submission_error": f"{type(exc).__name__}: {exc}"}


def deploy(weights: Path | str, out: Path | str, *, target: str = "spinnaker", dataset: Dataset | str | None = None,
           repeats: int = 3, virtual: bool = False, submit: bool = False, collab: str | None = None,
           overwrite: bool = False) -> DeployResult:
    """Write the deployment bundle of a trained run into ``out`` (``dataset``: default, the
    built-in one recorded in its train.json); ``virtual`` maps it on a virtual SpiNNaker
    board, ``submit`` sends it to the EBRAINS platform under ``collab``. Raises
    :class:`~snn_rl.errors.DeploymentError` (after writing deploy.json) if either fails."""
    if target not in TARGETS:
        raise InputError(f"unknown deployment target {target!r}; choose one of: {', '.join(TARGETS)}")
    if submit and not collab:
        raise InputError("--submit needs --collab <EBRAINS collab id> to file the job under")
    submission = _submission_client() if submit else None
    trained, dataset, params = load_run(weights, dataset)
    params = q.spinnaker_params(params)
    quant = q.quantise_network(trained.weights, params.network.inhibition_nA).summary(trained.weights, dataset.labels)
    out = prepare_out(out, "deploy.json", overwrite, command="deploy", produces=BUNDLE_FILES, recognise=is_bundle_file)
    with output_folder(out, "deploy", "deploy.json", produces=BUNDLE_FILES, overwrite=overwrite,
                       recognise=is_bundle_file, clear=overwrite):
        _write_bundle(out, Path(weights).name, trained, dataset, params, repeats, quant)
        report = {"target": target, "weights": str(weights), **dataset.record(), "repeats": repeats,
                  "quantisation": {k: v for k, v in quant.items() if k != "rounded_to_zero"},
                  "params": params.to_dict(), "provenance": provenance()}
        if virtual:
            report["virtual_board"] = virtual_map(out)
        if submission:
            report.update(_submit(submission, out, collab))
        write_json(out / "deploy.json", report)
    vb = report.get("virtual_board")
    if vb is not None and not vb["mapped"]:
        raise DeploymentError(f"the bundle did not map on a virtual SpiNNaker board: {vb['error']}")
    if "submission_error" in report:
        raise DeploymentError(f"submission to EBRAINS failed: {report['submission_error']}")
    return DeployResult(report=report, out=out)
