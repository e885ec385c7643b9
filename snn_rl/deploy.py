"""``snn-rl deploy`` and ``snn-rl emulate``: take a trained run to SpiNNaker.

``deploy --target spinnaker`` writes a bundle a user runs on a SpiNNaker machine or submits
to the EBRAINS Neuromorphic Computing Platform: ``run.py`` (standalone PyNN, the simulator
name as its one argument), ``network.json`` (parameters and trained weights),
``dataset.txt``, ``quantisation.json`` (what the chip's 16-bit weights do to the trained
ones) and ``README.md``. ``--virtual`` maps the bundle on a virtual SpiNNaker board in a
separate process and reports the placement or the mapping error; ``--submit`` sends the
bundle to the platform with the ``hbp-neuromorphic-platform`` client.

``emulate`` answers, before deploying, whether the trained network still answers correctly
with SpiNNaker's arithmetic: it tests the weights on the ``spinnaker-emulated`` target
(writing the usual ``test.json``) and, in ``emulation.json``, compares the answers with the
float simulator at the trained time step and at 1 ms, so a character that breaks is put
down to the 1 ms time step or to weight quantisation, and lists the weights that round to
zero.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

import backends
from model import quantisation as q
from model.dataset import BUILTIN, load as load_dataset
from model.evaluation import Evaluation, evaluate
from model.network import CharacterNetwork
from model.provenance import provenance
from model.storage import StorageError, read_json, write_json
from snn_rl.cli import CliError, _positive_int, _prepare_out, load_trained, main as cli_main

BUNDLE_SCRIPT = Path(__file__).with_name("bundle_script.py")
VIRTUAL_CFG = Path(__file__).resolve().parent.parent / "config" / "spinnaker" / "virtual.cfg"
TARGETS = ("spinnaker",)
#: run.py shows the characters back to back in one run, with no state reset between them: its
#: rest gap is at least the original work's 50 ms, so membranes and currents decay in between
CONTINUOUS_REST_MS = 50.0
#: environment variables the EBRAINS submission reads
EBRAINS_USER_ENV, EBRAINS_TOKEN_ENV = "EBRAINS_USERNAME", "EBRAINS_TOKEN"
VIRTUAL_MAP_TIMEOUT_S = 600


def _trained(weights_arg: str, dataset_arg: str | None):
    """Weights, data set and SpiNNaker-constrained parameters of a trained run."""
    path = Path(weights_arg)
    if not path.exists():  # named before the data set it would be looked up for
        raise StorageError(f"{path} does not exist")
    folder = path if path.is_dir() else path.parent
    if dataset_arg is None:
        recorded = read_json(folder / "train.json").get("dataset") if (folder / "train.json").exists() else None
        if recorded not in BUILTIN:
            raise CliError(f"cannot tell which data set {path} was trained on; pass --dataset")
        dataset_arg = recorded
    dataset = load_dataset(dataset_arg)
    trained, params = load_trained(path, dataset)
    return trained, dataset, params


# --- deploy -----------------------------------------------------------------------------
def network_json(trained, params, repeats: int) -> dict:
    """What ``run.py`` needs: SpiNNaker-constrained parameters and the trained weights (nA)."""
    n = q.spinnaker_params(params).network
    return {
        "cell": n.cell.pynn(), "window_ms": n.window_ms, "rest_ms": max(n.rest_ms, CONTINUOUS_REST_MS),
        "input_current_nA": n.input_current_nA, "input_encoding": trained.input_encoding,
        "inhibition_nA": n.inhibition_nA, "delay_ms": n.delay_ms, "inhibition_delay_ms": n.inhibition_delay_ms,
        "repeats": repeats, "input_gains": trained.input_gains.tolist(), "weights_nA": trained.weights.tolist(),
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
    """An EBRAINS client from the environment, or :class:`CliError` saying what is missing."""
    user, token = os.environ.get(EBRAINS_USER_ENV), os.environ.get(EBRAINS_TOKEN_ENV)
    if not token:
        raise CliError(f"--submit needs an EBRAINS access token in {EBRAINS_TOKEN_ENV} "
                       f"(and your EBRAINS user name in {EBRAINS_USER_ENV}, optional)")
    try:
        import nmpi
    except ImportError:
        raise CliError("--submit needs the EBRAINS client: pip install hbp-neuromorphic-platform") from None
    return nmpi, user, token


def cmd_deploy(args) -> None:
    if args.submit and not args.collab:
        raise CliError("--submit needs --collab <EBRAINS collab id> to file the job under")
    submission = _submission_client() if args.submit else None
    trained, dataset, params = _trained(args.weights, args.dataset)
    params = q.spinnaker_params(params)
    quant = q.quantise_network(trained.weights, params.network.inhibition_nA).summary(trained.weights, dataset.labels)
    out = Path(args.out)
    _prepare_out(out, "deploy.json", args.overwrite)
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(BUNDLE_SCRIPT, out / "run.py")
    write_json(out / "network.json", network_json(trained, params, args.repeats))
    (out / "dataset.txt").write_text(dataset.to_text())
    write_json(out / "quantisation.json", quant)
    (out / "README.md").write_text(readme_fragment(Path(args.weights).name, dataset, quant))
    report = {"target": args.target, "weights": str(args.weights), "dataset": dataset.name,
              "repeats": args.repeats, "quantisation": {k: v for k, v in quant.items() if k != "rounded_to_zero"},
              "params": params.to_dict(), "provenance": provenance()}
    if args.virtual:
        report["virtual_board"] = virtual_map(out)
    if submission:
        nmpi, user, token = submission
        try:
            client = nmpi.Client(username=user, token=token)
            report["submitted_job"] = client.submit_job(source=str(out), platform=nmpi.SPINNAKER,
                                                        collab_id=args.collab, command="run.py {system}")
        except Exception as exc:  # network and server errors of the client
            report["submission_error"] = f"{type(exc).__name__}: {exc}"
    write_json(out / "deploy.json", report)
    print(f"bundle for {args.target}: {out} ({quant['n_rounded_to_zero']} of {quant['n_weights']} weights round to zero)")
    vb = report.get("virtual_board")
    if vb is not None:
        if not vb["mapped"]:
            raise CliError(f"the bundle did not map on a virtual SpiNNaker board: {vb['error']}")
        print(f"mapped on a virtual board: {vb['application_cores']} application cores on chips "
              f"{vb['application_chips']} ({vb['total_cores_including_system']} cores with system cores)")
    if "submission_error" in report:
        raise CliError(f"submission to EBRAINS failed: {report['submission_error']}")
    if "submitted_job" in report:
        print(f"submitted to the EBRAINS platform as job {report['submitted_job']}")


# --- emulate ----------------------------------------------------------------------------
def _evaluate(backend_name: str, params, trained, dataset, repeats: int):
    backend = backends.get(backend_name)
    backend.sim = backend.import_simulator()
    params = backend.constrain(params)
    backend.setup(params.network.timestep_ms)
    try:
        net = CharacterNetwork(backend, params.network, trained.weights, trained.input_gains)
        return evaluate(net, dataset, trained.input_encoding, repeats=repeats)
    finally:
        backend.end()


def diagnose(labels, float_ev, coarse_ev, chip_ev, zeros: list[dict]) -> list[dict]:
    """Characters answered differently on the chip's arithmetic than in float, and why."""
    broken = []
    for c, label in enumerate(labels):
        idx = [k for k, t in enumerate(chip_ev.targets) if t == c]
        answers = {name: [ev.answers[k] for k in idx] for name, ev in
                   (("float", float_ev), ("float_1ms", coarse_ev), ("emulated", chip_ev))}
        if answers["emulated"] == answers["float"]:
            continue
        if answers["float_1ms"] != answers["float"]:
            cause = "the 1 ms time step (float weights at 1 ms already answer differently)"
        else:
            cause = "weight quantisation (float weights at 1 ms still answer as trained)"
        broken.append({
            "label": label, "cause": cause,
            "answers": {k: ["-" if a < 0 else labels[a] for a in v] for k, v in answers.items()},
            "emulated_spike_counts": [chip_ev.counts[k].tolist() for k in idx],
            "float_spike_counts": [float_ev.counts[k].tolist() for k in idx],
            "weights_to_its_neuron_rounded_to_zero": sum(z["output"] == c for z in zeros),
        })
    return broken


def cmd_emulate(args) -> None:
    trained, dataset, params = _trained(args.weights, args.dataset)
    out = Path(args.out)
    _prepare_out(out, "emulation.json", args.overwrite)
    emulated = "spinnaker-emulated" if args.simulator == "nest" else f"spinnaker-emulated-{args.simulator}"
    argv = ["test", "--backend", emulated, "--weights", args.weights, "--dataset", dataset.name if
            dataset.name in BUILTIN else args.dataset, "--out", str(out), "--repeats", str(args.repeats)]
    if cli_main(argv + (["--overwrite"] if args.overwrite else [])) != 0:
        raise CliError(f"testing on {emulated} failed (see above)")
    chip = read_json(out / "test.json")
    float_ev = _evaluate(args.simulator, params, trained, dataset, args.repeats)
    coarse = q.spinnaker_params(params)
    coarse_ev = _evaluate(args.simulator, coarse, trained, dataset, args.repeats)

    chip_ev = Evaluation(labels=dataset.labels, targets=chip["targets"], answers=chip["answers"],
                         counts=[np.array(c) for c in chip["output_spike_counts"]])
    quant = q.quantise_network(trained.weights, coarse.network.inhibition_nA).summary(trained.weights, dataset.labels)
    broken = diagnose(dataset.labels, float_ev, coarse_ev, chip_ev, quant["rounded_to_zero"])
    report = {
        "weights": args.weights, "dataset": dataset.name, "simulator": args.simulator, "repeats": args.repeats,
        "accuracy": {"float": float_ev.accuracy, "float_1ms": coarse_ev.accuracy, "emulated": chip["accuracy"]},
        "float_timestep_ms": params.network.timestep_ms,
        "same_answers_as_float": not broken and chip["answers"] == float_ev.answers,
        "broken_characters": broken,
        "quantisation": quant,
        "provenance": provenance(),
    }
    write_json(out / "emulation.json", report)
    acc = report["accuracy"]
    print(f"SpiNNaker arithmetic on {args.simulator}: accuracy {acc['emulated']:.3f} (float {acc['float']:.3f}, "
          f"float at 1 ms {acc['float_1ms']:.3f}); {quant['n_rounded_to_zero']} weights round to zero; "
          + (f"broken: {', '.join(b['label'] for b in broken)}" if broken else "same answers as float") + f" -> {out}")


def add_parser(sub) -> None:
    p = sub.add_parser("deploy", help="write a bundle that runs the trained network on SpiNNaker (or EBRAINS)")
    p.add_argument("--target", required=True, choices=TARGETS, help="deployment target")
    p.add_argument("--weights", required=True, help="a trained run directory or weights.npz file")
    p.add_argument("--dataset", help="data set (default: the built-in one recorded in train.json)")
    p.add_argument("--out", required=True, help="bundle directory")
    p.add_argument("--repeats", type=_positive_int, default=3, help="presentations per character (default: 3)")
    p.add_argument("--virtual", action="store_true", help="also map the bundle on a virtual SpiNNaker board")
    p.add_argument("--submit", action="store_true",
                   help=f"submit to the EBRAINS platform (needs {EBRAINS_TOKEN_ENV} and --collab)")
    p.add_argument("--collab", help="EBRAINS collab id for --submit")
    p.add_argument("--overwrite", action="store_true", help="replace a bundle in --out")
    p.set_defaults(func=cmd_deploy)

    p = sub.add_parser("emulate", help="test trained weights with SpiNNaker's arithmetic and report what breaks")
    p.add_argument("--weights", required=True, help="a trained run directory or weights.npz file")
    p.add_argument("--dataset", help="data set (default: the built-in one recorded in train.json)")
    p.add_argument("--out", required=True, help="output directory (test.json, emulation.json)")
    p.add_argument("--simulator", choices=("nest", "neuron"), default="nest", help="float simulator (default: nest)")
    p.add_argument("--repeats", type=_positive_int, default=3, help="presentations per character (default: 3)")
    p.add_argument("--overwrite", action="store_true", help="replace a result in --out")
    p.set_defaults(func=cmd_emulate)

