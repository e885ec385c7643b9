"""What the host-side training loop costs, against one continuous run of the same network.

    python benchmarks/loop_cost.py [--quick] [--backends nest neuron brian2] [--sections loop criterion scaling]
        [--out runs/loop-cost]

For every backend, in one run on one machine, it prints and writes
``loop_cost.{json,tsv,png}``:

- ``loop``: N presentations through the real training loop (:func:`snn_rl.experiments.training.run_training` on
  A-D, the seed's rule (parameter set ``seed``: one weight write per presentation), criterion stop off, evaluation after each epoch as always), fast
  paths on and (fewer presentations) off. ``loop_ratio`` = the loop's wall time / the wall
  time of one continuous ``run()`` of the same simulated time (N x (window + rest)) on the
  same network (same cells, initial weights, inhibition and input gains), its inputs driven
  by the first character's currents throughout (see :func:`measure_continuous`);
  ``overhead_ratio`` = the loop's wall time / its time inside ``run()``. Per presentation: time in ``run``, in reading
  spikes, in the plasticity update, in writing weights, in resetting the state and setting
  the input currents (``drive``), and the rest of the loop (``other``: evaluation
  bookkeeping, checkpoints, rebuilding the network between epochs where a backend needs it).
  ``growth``: median wall time per presentation of the last 1000 / the first 1000.
- ``criterion``: training wall time to criterion (seed 1, at most 200 epochs) for ``abcd``
  and for the 26-letter ``alphabet``, both with the default parameters;
  import and set-up time apart.
- ``scaling``: cost per presentation through the same loop for inputs x outputs from
  15 x 4 to 1024 x 100 on a synthetic data set (random patterns, half the inputs on),
  weights and plasticity steps scaled by 15 / inputs so that outputs fire about as in
  A-D; the exponent of cost versus synapse count (plastic + lateral) from a log-log fit.
  The largest size also runs with 2 NEST threads.

Every measurement runs in a fresh interpreter (a NEURON process can set up only once).
Nothing here is a test: numbers depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SIZES = ((15, 4), (64, 10), (256, 26), (1024, 100))
QUICK_SIZES = ((15, 4), (64, 10))
PHASES = ("run", "read", "plasticity", "write", "drive", "rebuild", "checkpoint", "other")


# --------------------------------------------------------------------------------------
# measurements, each run in its own interpreter
# --------------------------------------------------------------------------------------
class LoopTimer:
    """Wall time of the calls one training run makes, taken by wrapping them in place."""

    def __init__(self):
        self.seconds = defaultdict(float)
        self.calls = defaultdict(list)  #: durations (s) of the calls that happen once per epoch
        self.starts: list[float] = []  #: perf_counter at the start of every presentation
        self._inner: list[float] = []  #: time taken by timed calls nested in each open call

    def wrap(self, obj, name: str, phase: str, marks_presentation: bool = False, per_call: bool = False) -> None:
        call = getattr(obj, name)

        def timed(*args, **kwargs):
            t = time.perf_counter()
            if marks_presentation:
                self.starts.append(t)
            self._inner.append(0.0)
            try:
                return call(*args, **kwargs)
            finally:
                took = time.perf_counter() - t
                # a nested timed call (NEST's reset runs one step) counts in its own phase only
                self.seconds[phase] += took - self._inner.pop()
                if self._inner:
                    self._inner[-1] += took
                if per_call:
                    self.calls[name].append(took)

        setattr(obj, name, timed)

    def instrument(self, backend) -> None:
        from snn_rl.experiments import checkpoints, training
        from snn_rl.model.rules.reward import RewardRule
        from snn_rl.model.rules.unsupervised import UnsupervisedRule

        self.wrap(backend, "reset_state", "drive", marks_presentation=True)
        self.wrap(backend, "set_input_currents", "drive")
        self.wrap(backend, "run", "run")
        self.wrap(backend, "read_spikes", "read")
        self.wrap(backend, "write_weights", "write")
        for rule in (RewardRule, UnsupervisedRule):  # the rule's whole step: eligibility, reward, update
            self.wrap(rule, "update", "plasticity")
        self.wrap(checkpoints, "save", "checkpoint", per_call=True)
        for obj, name in ((backend, "setup"), (backend, "end"), (training, "CharacterNetwork")):
            self.wrap(obj, name, "build", per_call=True)

    def rebuild_seconds(self) -> float:
        """Building the network again inside the loop: all set-ups and network builds but the
        first (timed as set-up), all ends but the last (after the loop)."""
        c = self.calls
        return sum(c["setup"][1:]) + sum(c["CharacterNetwork"][1:]) + sum(c["end"][:-1])


def _synthetic(n_inputs: int, n_outputs: int, seed: int = 0):
    """``n_outputs`` random patterns of ``n_inputs`` pixels, each pixel on with p = 0.5."""
    from snn_rl.model.dataset import Dataset

    rng = np.random.default_rng(seed)
    images = (rng.random((n_outputs, n_inputs, 1)) < 0.5).astype(int)
    labels = tuple(f"c{i}" for i in range(n_outputs))
    return Dataset(name=f"synthetic{n_inputs}x{n_outputs}", labels=labels, images=images)


def _scaled_params(n_inputs: int, epochs: int, stop_at_criterion: bool):
    """The seed's parameters (one input per pixel), every weight and weight step (nA) x 15 / ``n_inputs``."""
    from snn_rl.model.params import load_params

    p = load_params("seed")
    k = 15.0 / n_inputs
    net = {"w_init_min_nA": p.network.w_init_min_nA * k, "w_init_max_nA": p.network.w_init_max_nA * k}
    names = ("learning_rate_nA", "homeostasis_nA", "loser_depression_nA", "exploration_nA", "w_max_nA")
    plast = {n: getattr(p.plasticity, n) * k for n in names}
    return p.replace(network=net, plasticity=plast,
                     training={"max_epochs": epochs, "stop_at_criterion": stop_at_criterion})


def _dataset(spec: dict):
    from snn_rl.model.dataset import builtin

    if spec["dataset"] == "synthetic":
        return _synthetic(spec["n_inputs"], spec["n_outputs"])
    return builtin(spec["dataset"])


def measure_loop(spec: dict) -> dict:
    """Train for ``spec['epochs']`` epochs (or to criterion) and time every phase."""
    from snn_rl import backends
    from snn_rl.experiments.training import run_training
    from snn_rl.model.params import load_params

    dataset = _dataset(spec)
    if spec["dataset"] == "synthetic":
        params = _scaled_params(dataset.n_pixels, spec["epochs"], spec["stop_at_criterion"])
    else:
        params = load_params(spec.get("params"))
        params = params.replace(training={"max_epochs": spec["epochs"], "stop_at_criterion": spec["stop_at_criterion"]})
    t0 = time.perf_counter()
    backend = backends.get(spec["backend"], fast=spec["fast"])
    backend.import_simulator()
    import_s = time.perf_counter() - t0
    timer = LoopTimer()
    timer.instrument(backend)
    with tempfile.TemporaryDirectory() as tmp:
        trained, s = run_training(backend, dataset, params, seed=spec.get("seed", 1), run_dir=Path(tmp),
                                  threads=spec.get("threads", 1), progress=False)
    n = len(timer.starts)
    steps = np.diff(np.array(timer.starts))
    window = min(1000, steps.size // 2) if steps.size >= 2 else 0
    per = {ph: 1000.0 * timer.seconds[ph] / n for ph in PHASES if ph not in ("rebuild", "other")}
    per["rebuild"] = 1000.0 * timer.rebuild_seconds() / n
    per["other"] = 1000.0 * s["wall_seconds"] / n - sum(per.values())
    saves = timer.calls["save"]
    k = min(100, len(saves) // 2)
    weights = trained.weights
    return {
        "n_inputs": int(weights.shape[0]),
        "n_outputs": int(weights.shape[1]),
        "presentations": n,
        "simulated_ms": s["simulated_ms"],
        "wall_s": s["wall_seconds"],
        "import_s": import_s,
        "setup_s": s["setup_seconds"],
        "rebuilds": len(timer.calls["setup"]) - 1,
        "epochs_run": s["epochs_run"],
        "epochs_to_criterion": s["epochs_to_criterion"],
        "criterion_met": s["criterion_met"],
        "best_eval_accuracy": s["best_eval_accuracy"],
        "per_presentation_ms": {k: round(v, 4) for k, v in per.items()},
        "growth": (float(np.median(steps[-window:]) / np.median(steps[:window])) if window else None),
        "growth_window": window,
        "checkpoint_growth": (float(np.mean(saves[-k:]) / np.mean(saves[:k])) if k else None),
    }


def measure_continuous(spec: dict) -> dict:
    """One ``run()`` of ``spec['simulated_ms']`` on the training network, no host call inside.

    Same cells, initial weights, lateral inhibition and input gains as the training run; the
    inputs are driven by the first character's currents (``i_offset``, as in a window)
    throughout, so they fire at least as often as in the loop, where they rest a third of
    the time. Current-source devices switching the drive per presentation would be closer
    to the loop's input, but on NEST a current generator sends an event to its target every
    time step, which made that "floor" slower than the loop itself.
    """
    from snn_rl import backends
    from snn_rl.model.dataset import encode, n_inputs
    from snn_rl.model.network import CharacterNetwork, initial_weights, input_gains
    from snn_rl.model.params import load_params
    from snn_rl.experiments.checkpoints import seed_streams

    dataset = _dataset(spec)
    params = (_scaled_params(dataset.n_pixels, 1, False) if spec["dataset"] == "synthetic"
              else load_params(spec.get("params")))
    net_p = params.network
    n_in = n_inputs(dataset.n_pixels, net_p.input_encoding)
    init_rng = seed_streams(spec.get("seed", 1)).init  # the training run's gains and weights
    gains = input_gains(n_in, net_p.input_jitter, init_rng)
    weights = initial_weights(n_in, len(dataset), net_p, init_rng)
    backend = backends.get(spec["backend"], fast=spec["fast"])
    backend.setup(net_p.timestep_ms, threads=spec.get("threads", 1))
    net = CharacterNetwork(backend, net_p, weights, gains)
    backend.set_input_currents(net, encode(dataset.images[0], net_p.input_encoding) * gains * net_p.input_current_nA)
    t = time.perf_counter()
    backend.run(spec["simulated_ms"])
    wall = time.perf_counter() - t
    pre, post = backend.read_spikes(net)
    backend.end()
    return {"wall_s": wall, "input_spikes": int(sum(len(s) for s in pre)), "output_spikes": int(sum(len(s) for s in post))}


WORKERS = {"loop": measure_loop, "continuous": measure_continuous}


def _in_fresh_interpreter(kind: str, spec: dict) -> dict:
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.setdefault("MPLBACKEND", "Agg")
    proc = subprocess.run([sys.executable, __file__, "--worker", kind, json.dumps(spec)],
                          capture_output=True, text=True, env=env, cwd=ROOT)
    if proc.returncode != 0:
        raise RuntimeError(f"{kind} {spec} failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------------------
# the benchmark
# --------------------------------------------------------------------------------------
def _loop_row(section, backend, fast, spec, loop, cont=None, threads=1) -> dict:
    n_in, n_out = loop["n_inputs"], loop["n_outputs"]
    params = spec.get("params") or ("seed scaled by 15 / inputs" if spec["dataset"] == "synthetic" else "defaults")
    row = {
        "section": section, "backend": backend, "fast": fast, "threads": threads,
        "dataset": spec["dataset"], "params": params, "n_inputs": n_in, "n_outputs": n_out,
        "synapses": n_in * n_out + n_out * (n_out - 1),
        **{k: loop[k] for k in ("presentations", "simulated_ms", "wall_s", "import_s", "setup_s", "rebuilds",
                                "epochs_run", "epochs_to_criterion", "criterion_met", "growth", "checkpoint_growth")},
        "per_presentation_ms": round(1000.0 * loop["wall_s"] / loop["presentations"], 4),
        **{f"{ph}_ms": loop["per_presentation_ms"][ph] for ph in PHASES},
    }
    if cont is not None:
        row["continuous_s"] = cont["wall_s"]
        row["loop_ratio"] = loop["wall_s"] / cont["wall_s"]
        per_epoch_ms = loop["per_presentation_ms"]["rebuild"] + loop["per_presentation_ms"]["checkpoint"]
        row["presentations_ratio"] = (loop["wall_s"] - per_epoch_ms * loop["presentations"] / 1000.0) / cont["wall_s"]
    row["overhead_ratio"] = loop["wall_s"] / (loop["per_presentation_ms"]["run"] * loop["presentations"] / 1000.0)
    return row


def _progress(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


SECTIONS = ("loop", "criterion", "scaling")


def benchmark(backend_names: list[str], quick: bool, sections=SECTIONS) -> dict:
    rows = []
    abcd_epoch = 8  # A-D: 4 training + 4 evaluation presentations per epoch
    loop_n = 80 if quick else 10000
    plain_n = 40 if quick else 1000
    for name in backend_names:
        for fast, n in ((True, loop_n), (False, plain_n)) if "loop" in sections else ():
            spec = {"backend": name, "fast": fast, "dataset": "abcd", "epochs": n // abcd_epoch,
                    "stop_at_criterion": False, "params": "seed"}
            _progress(f"loop: {name} fast={fast} {n} presentations")
            loop = _in_fresh_interpreter("loop", spec)
            cont = _in_fresh_interpreter("continuous", {**spec, "simulated_ms": loop["simulated_ms"]})
            rows.append(_loop_row("loop", name, fast, spec, loop, cont))
            _progress(report_row(rows[-1]))
        for dataset, rule, epochs in (("abcd", None, 200), ("alphabet", None, 2 if quick else 200)) \
                if "criterion" in sections else ():
            spec = {"backend": name, "fast": True, "dataset": dataset, "epochs": epochs, "stop_at_criterion": True,
                    "params": rule}
            _progress(f"criterion: {name} {dataset} {rule or 'default parameters'} (at most {epochs} epochs)")
            loop = _in_fresh_interpreter("loop", spec)
            rows.append(_loop_row("criterion", name, True, spec, loop))
            _progress(report_row(rows[-1]))
        for n_in, n_out in (QUICK_SIZES if quick else SIZES) if "scaling" in sections else ():
            threads_list = (1, 2) if (name == "nest" and (n_in, n_out) == SIZES[-1]) else (1,)
            for threads in threads_list:
                epochs = max(1, math.ceil((20 if quick else 120) / (2 * n_out)))
                spec = {"backend": name, "fast": True, "dataset": "synthetic", "n_inputs": n_in, "n_outputs": n_out,
                        "epochs": epochs, "stop_at_criterion": False, "threads": threads}
                _progress(f"scaling: {name} {n_in} x {n_out} threads={threads}")
                loop = _in_fresh_interpreter("loop", spec)
                cont = _in_fresh_interpreter("continuous", {**spec, "simulated_ms": loop["simulated_ms"]})
                rows.append(_loop_row("scaling", name, True, spec, loop, cont, threads=threads))
                _progress(report_row(rows[-1]))
    return {"rows": rows, "exponents": _exponents(rows)}


def _exponents(rows: list[dict]) -> dict:
    """Slope of log(cost per presentation) against log(synapses), per backend and phase."""
    out = {}
    for name in sorted({r["backend"] for r in rows}):
        pts = sorted((r for r in rows if r["section"] == "scaling" and r["backend"] == name and r["threads"] == 1),
                     key=lambda r: r["synapses"])
        if len(pts) < 2:
            continue
        x = np.log([r["synapses"] for r in pts])
        fits = {}
        for key in ("per_presentation_ms", "run_ms", "read_ms", "plasticity_ms", "write_ms"):
            y = np.log(np.maximum([r[key] for r in pts], 1e-6))
            fits[key] = {"all_sizes": float(np.polyfit(x, y, 1)[0]),
                         "two_largest": float((y[-1] - y[-2]) / (x[-1] - x[-2]))}
        out[name] = fits
    return out


TSV_COLUMNS = ("section", "backend", "fast", "threads", "dataset", "params", "n_inputs", "n_outputs", "synapses",
               "presentations", "simulated_ms", "wall_s", "continuous_s", "loop_ratio", "presentations_ratio", "overhead_ratio",
               "per_presentation_ms",
               *(f"{ph}_ms" for ph in PHASES), "growth", "checkpoint_growth", "import_s", "setup_s", "rebuilds", "epochs_run",
               "epochs_to_criterion", "criterion_met")


def _fmt(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def write_outputs(result: dict, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "loop_cost.json").write_text(json.dumps(result, indent=1) + "\n")
    lines = ["\t".join(TSV_COLUMNS)]
    lines += ["\t".join(_fmt(r.get(c)) for c in TSV_COLUMNS) for r in result["rows"]]
    (out / "loop_cost.tsv").write_text("\n".join(lines) + "\n")
    plot(result, out / "loop_cost.png")


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = result["rows"]
    names = sorted({r["backend"] for r in rows})
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.5))
    for name in names:
        pts = sorted((r for r in rows if r["section"] == "scaling" and r["backend"] == name and r["threads"] == 1),
                     key=lambda r: r["synapses"])
        if not pts:
            continue
        x = [r["synapses"] for r in pts]
        k = result["exponents"].get(name, {}).get("per_presentation_ms", {}).get("all_sizes")
        label = f"{name} loop" + (f" (exponent {k:.2f})" if k is not None else "")
        line, = ax1.loglog(x, [r["per_presentation_ms"] for r in pts], "o-", label=label)
        ax1.loglog(x, [1000.0 * r["continuous_s"] / r["presentations"] for r in pts], "s--", color=line.get_color(),
                   label=f"{name} continuous run, same simulated time")
    ax1.set_xlabel("synapses (plastic + lateral)")
    ax1.set_ylabel("wall time per presentation (ms)")
    ax1.set_title("cost per 150 ms presentation")
    ax1.legend(fontsize=8)
    bars = [r for r in rows if r["section"] == "loop"]
    labels = [f"{r['backend']}\n{'fast' if r['fast'] else 'PyNN API'}" for r in bars]
    bottom = np.zeros(len(bars))
    for ph in PHASES:
        vals = np.array([max(r[f"{ph}_ms"], 0.0) for r in bars])
        ax2.bar(labels, vals, bottom=bottom, label=ph)
        bottom += vals
    for i, r in enumerate(bars):
        floor = 1000.0 * r["continuous_s"] / r["presentations"]
        ax2.plot([i - 0.4, i + 0.4], [floor, floor], "k-", lw=2)
        ax2.text(i, bottom[i], f"ratio {r['loop_ratio']:.2f}", ha="center", va="bottom", fontsize=8)
    ax2.set_ylim(0, 1.12 * bottom.max())
    ax2.set_ylabel("wall time per presentation (ms)")
    ax2.set_title("15 x 4, A-D training loop (black: continuous run)")
    ax2.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _phases(row: dict) -> str:
    return ", ".join(f"{ph} {row[f'{ph}_ms']:.3f}" for ph in PHASES)


def report_row(r: dict) -> str:
    """One line for one measurement."""
    if r["section"] == "loop":
        return (
            f"loop      {r['backend']:7s} {'fast' if r['fast'] else 'pynn'}  N={r['presentations']:6d}  "
            f"loop_ratio={r['loop_ratio']:.2f} (without checkpoints {r['presentations_ratio']:.2f})  "
            f"overhead_ratio={r['overhead_ratio']:.2f}  "
            f"per presentation {r['per_presentation_ms']:.2f} ms (" + _phases(r) + ")  "
            f"continuous {r['continuous_s']:.2f} s  growth {_fmt(r['growth'])}  "
            f"checkpoint growth {_fmt(r['checkpoint_growth'])}  rebuilds {r['rebuilds']}")
    if r["section"] == "criterion":
        return (
            f"criterion {r['backend']:7s} {r['dataset']:8s} ({r['params']}) wall {r['wall_s']:.2f} s  criterion met: "
            f"{r['criterion_met']} (epochs to criterion {r['epochs_to_criterion']}, epochs run {r['epochs_run']})  "
            f"{r['simulated_ms'] / r['wall_s']:.0f} simulated ms per wall second  "
            f"import {r['import_s']:.2f} s  set-up {r['setup_s']:.2f} s")
    return (
        f"scaling   {r['backend']:7s} {r['n_inputs']:4d} x {r['n_outputs']:3d} threads={r['threads']}  "
        f"synapses {r['synapses']:6d}  per presentation {r['per_presentation_ms']:.2f} ms "
        f"(" + _phases(r) + f")  loop_ratio {r['loop_ratio']:.2f}  overhead_ratio {r['overhead_ratio']:.2f}")


def report(result: dict) -> str:
    lines = [report_row(r) for r in result["rows"]]
    for name, fits in result["exponents"].items():
        lines.append(f"exponent  {name:7s} " + "  ".join(
            f"{k.replace('_ms', '')} {v['all_sizes']:.2f} (two largest {v['two_largest']:.2f})" for k, v in fits.items()))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="a smoke test: few presentations, small sizes (~1 min)")
    ap.add_argument("--backends", nargs="+", help="backends to measure (default: nest and neuron)")
    ap.add_argument("--sections", nargs="+", choices=SECTIONS, default=list(SECTIONS),
                    help="what to measure (default: all three)")
    ap.add_argument("--out", type=Path, help="output directory (default: runs/loop-cost, with --quick runs/loop-cost-quick)")
    ap.add_argument("--worker", nargs=2, metavar=("KIND", "SPEC"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        kind, spec = args.worker
        print(json.dumps(WORKERS[kind](json.loads(spec))))
        return 0
    from snn_rl import backends

    names = args.backends or ["nest", "neuron"]
    unknown = [n for n in names if n not in backends.names()]
    if unknown:
        print(f"loop_cost: unknown backend {unknown[0]!r}; choose from: {', '.join(backends.names())}", file=sys.stderr)
        return 2
    out = args.out or ROOT / "runs" / ("loop-cost-quick" if args.quick else "loop-cost")
    from snn_rl.experiments.outputs import benchmark_folder

    with benchmark_folder("loop_cost", out, "loop_cost.json", produces=("loop_cost.tsv", "loop_cost.png"),
                          overwrite=True):
        return _run(args, names, out)


def _run(args, names: list[str], out: Path) -> int:
    t = time.perf_counter()
    result = benchmark(names, args.quick, args.sections)
    result["command"] = "python benchmarks/loop_cost.py" + (" --quick" if args.quick else "") + \
        (f" --backends {' '.join(names)}" if args.backends else "") + \
        (f" --sections {' '.join(args.sections)}" if list(args.sections) != list(SECTIONS) else "")
    result["quick"] = args.quick
    result["machine"] = {"cpus": os.cpu_count(), "load_average": os.getloadavg()}
    result["benchmark_wall_s"] = time.perf_counter() - t
    result["continuous_run"] = ("same network, cells, initial weights and input gains; one run() of the loop's "
                                "simulated time (presentations x (window + rest)) with the first character's input "
                                "currents (i_offset) on throughout")
    write_outputs(result, out)
    print(report(result))
    print(f"wrote {out / 'loop_cost.json'}, .tsv, .png in {result['benchmark_wall_s']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
