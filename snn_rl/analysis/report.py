"""One self-contained HTML report of a pipeline run: headline tables first, figures after.

Everything is in the one file (figures embedded as base64 PNG, no external style sheet or
script), so it can be mailed or archived and opened anywhere. Per data set it shows, at the
top, the clean accuracy per backend and seed, the transfer matrix, noise robustness, epochs to
criterion and wall time, and the lockstep agreement between simulators; cells are coloured
(green = 1.0, red = 0) so a glance tells whether anything is off.
"""

from __future__ import annotations

import base64
import html
import os
from datetime import datetime, timezone
from pathlib import Path

import yaml

from snn_rl.experiments.storage import atomic_write_bytes, read_json

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:1.5em auto;max-width:1150px;color:#222;padding:0 1em}
h1{font-size:1.6em;margin-bottom:.2em} h2{border-bottom:2px solid #ccc;padding-bottom:.2em;margin-top:1.8em}
h3{margin:1.2em 0 .4em} .meta{color:#666;font-size:.9em}
table{border-collapse:collapse;margin:.3em 0 1em;font-size:.92em}
th,td{border:1px solid #ccc;padding:.25em .6em;text-align:center} th{background:#f2f2f2}
td.l,th.l{text-align:left}
.verdict{font-size:1.05em;padding:.5em .8em;border-radius:4px;margin:.5em 0;width:fit-content}
.ok{background:#d8f0d8} .bad{background:#f6d5d5}
.grid{display:flex;flex-wrap:wrap;gap:1.2em;align-items:flex-start} .grid>div{flex:1 1 420px}
.cols{display:flex;flex-wrap:wrap;gap:2em;align-items:flex-start}
img{max-width:100%;border:1px solid #eee} figcaption{font-size:.85em;color:#555}
pre{background:#f7f7f7;padding:.8em;font-size:.8em;overflow:auto}
"""


def _esc(x) -> str:
    return html.escape(str(x))


def _colour(v: float | None) -> str:
    """Background of a rate or accuracy cell: green at 1.0, then paler bands down to red."""
    if v is None:
        return "#eee"
    for floor, colour in ((1.0, "#b9e4b9"), (0.99, "#dcefc0"), (0.9, "#f3eeb0"), (0.5, "#f8d9a8")):
        if v >= floor:
            return colour
    return "#f2b8b8"


def _acc_cell(v: float | None, extra: str = "") -> str:
    text = "n/a" if v is None else f"{v:.3f}"
    return f'<td style="background:{_colour(v)}">{text}{extra}</td>'


def _img(path: str | Path, caption: str, here: Path) -> str:
    """The figure embedded (the report stays one offline file) and linked to its full-size
    file, relative to ``here``, the report's folder."""
    data = base64.b64encode(Path(path).read_bytes()).decode()
    href = os.path.relpath(Path(path).resolve(), Path(here).resolve())
    return (f'<figure><a href="{_esc(href)}" title="full size"><img src="data:image/png;base64,{data}" '
            f'alt="{_esc(caption)}"></a><figcaption>{_esc(caption)} (<a href="{_esc(href)}">full size</a>)'
            "</figcaption></figure>")


def _table(header: list[str], rows: list[str]) -> str:
    head = "".join(f"<th>{h}</th>" for h in header)
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


def _fmt(v, digits: int = 3) -> str:
    if v is None:
        return "&ndash;"
    return f"{v:.{digits}f}" if isinstance(v, float) else _esc(v)


def _verdicts(c: dict) -> list[str]:
    """One line for the simulators (every clean test right?) and one per extra test column."""
    extras = c.get("extra_test_backends", [])
    simulators = [t for t in c["test_backends"] if t not in extras]
    clean = [v for tb in c["train_backends"] for s in c["seeds"] for tt in simulators
             if (v := _get(c["clean_accuracy"], tb, s, tt)) is not None]
    perfect = bool(clean) and min(clean) == 1.0
    verdict = (f"All {len(clean)} clean tests on {', '.join(simulators)} (every seed, every train/test backend pair) "
               "answered every character right." if perfect else
               f"{sum(v < 1.0 for v in clean)} of {len(clean)} clean tests on {', '.join(simulators)} fall short of "
               f"accuracy 1.0 (lowest {min(clean, default=float('nan')):.3f}).")
    parts = [f'<div class="verdict {"ok" if perfect else "bad"}">{_esc(verdict)}</div>']
    for extra in extras:
        vals = [v for tb in c["train_backends"] for s in c["seeds"]
                if (v := _get(c["clean_accuracy"], tb, s, extra)) is not None]
        if vals:
            good = min(vals) == 1.0
            parts.append(f'<div class="verdict {"ok" if good else "bad"}">Extra test column {_esc(extra)}: '
                         f"mean accuracy {sum(vals) / len(vals):.3f} over {len(vals)} trained networks "
                         f"(lowest {min(vals):.3f}).</div>")
    return parts


def _emulation_section(c: dict) -> list[str]:
    if not c.get("emulation"):
        return []
    rows = [f"<tr><td>{_esc(e['train_backend'])}</td><td>{e['seed']}</td><td>{_esc(e['test_backend'])}</td>"
            + _acc_cell(e["accuracy"]["float"]) + _acc_cell(e["accuracy"]["float_1ms"]) + _acc_cell(e["accuracy"]["emulated"])
            + f"<td>{e['n_rounded_to_zero']} of {e['n_weights']}</td>"
            + f"<td>{_esc('; '.join(b['label'] + ': ' + b['cause'] for b in e['broken']) or 'none')}</td></tr>"
            for e in c["emulation"]]
    return ["<h3>Hardware emulation: what breaks on the target's arithmetic, and why</h3>",
            _table(["trained on", "seed", "target", "float", "float at 1 ms", "emulated",
                    "weights that round to zero", "characters answered differently"], rows)]


def _nir_section(c: dict) -> list[str]:
    if not c.get("nir"):
        return []
    rows = [f"<tr><td>{_esc(r['train_backend'])}</td><td>{r['seed']}</td><td>{_esc(r['consumer'])} at "
            f"{r['step_ms']:g} ms</td>" + _acc_cell(r["accuracy"]["reference"]) + _acc_cell(r["accuracy"]["consumer"])
            + f"<td>{r['same_counts']} of {r['n_characters']}</td>"
            + f"<td>{_esc('; '.join(d['label'] + ': ' + d['cause'] for d in r['different']) or 'none')}</td></tr>"
            for r in c["nir"]]
    return ["<h3>NIR export: an independent importer against NEST, and why answers differ</h3>",
            "<p>The trained network exported with <code>snn-rl export --format nir</code> and run by the importer "
            "named; NEST runs the same file read back. NIR has no refractory period and each importer "
            "discretises time its own way (docs/deployment.md).</p>",
            _table(["trained on", "seed", "consumer", "NEST", "consumer accuracy", "same spike counts",
                    "characters answered differently"], rows)]


def _accuracy_tables(c: dict) -> str:
    """Accuracy per backend and seed (trained and tested on the same backend) beside the transfer matrix."""
    rows = []
    for b in c["train_backends"]:
        cells = "".join(_acc_cell(_get(c["clean_accuracy"], b, s, b)) for s in c["seeds"])
        rows.append(f'<tr><th class="l">{_esc(b)}</th>{cells}</tr>')
    acc_table = _table(["trained and tested on", *(f"seed {s}" for s in c["seeds"])], rows)
    rows = []
    for tb in c["train_backends"]:
        cells = "".join(_acc_cell(c["transfer"][tb][tt]["mean"],
                                  "" if c["transfer"][tb][tt]["min"] in (None, c["transfer"][tb][tt]["mean"])
                                  else f' <small>(min {c["transfer"][tb][tt]["min"]:.3f})</small>')
                        for tt in c["test_backends"])
        rows.append(f'<tr><th class="l">{_esc(tb)}</th>{cells}</tr>')
    transfer_table = _table(["trained on &darr; / tested on &rarr;", *map(_esc, c["test_backends"])], rows)
    return (f'<div class="cols"><div><h3>Accuracy per backend and seed</h3>{acc_table}</div>'
            f'<div><h3>Transfer matrix (mean over seeds)</h3>{transfer_table}</div></div>')


def _margin_section(c: dict) -> list[str]:
    """Decision margins: how many spikes separate each right answer from the next output."""
    if not c.get("margins"):
        return []
    values = sorted({int(m) for row in c["margins"] for m in row["histogram"]})
    rows = []
    for m in c["margins"]:
        low = m["min"]
        colour = "#b9e4b9" if low >= 2 else "#f3eeb0" if low == 1 else "#f2b8b8"
        cells = "".join(f'<td>{m["histogram"].get(str(v), 0) or ""}</td>' for v in values)
        rows.append(f'<tr><th class="l">{_esc(m["train_backend"])} &rarr; {_esc(m["test_backend"])}</th>'
                    f'<td style="background:{colour}">{low}</td>{cells}</tr>')
    return ["<h3>Decision margins (clean tests, every seed)</h3>",
            _table(["trained &rarr; tested", "lowest margin", *(f"margin {v}" for v in values)], rows),
            "<p class='meta'>Margin: the right neuron's spikes minus the most spikes of any other output, per "
            "presentation (below 1: answered wrong or not at all). A margin of 2 or more survives a spike gained or "
            "lost between simulators or on the hardware's arithmetic; the cells count presentations.</p>"]


def _noise_and_training_tables(c: dict) -> str:
    flips = c["noise_flips"]
    rows = []
    pairs = list(dict.fromkeys((n["train_backend"], n["test_backend"]) for n in c["noise"]))
    for tb, tt in pairs:
        by_flip = {n["noise_flips"]: n for n in c["noise"] if (n["train_backend"], n["test_backend"]) == (tb, tt)}
        cells = "".join(_acc_cell(by_flip[f]["mean"]) if f in by_flip else "<td>&ndash;</td>" for f in flips)
        rows.append(f'<tr><th class="l">{_esc(tb)} &rarr; {_esc(tt)}</th>{cells}</tr>')
    noise_table = _table(["trained &rarr; tested", *(f"{f} flipped" for f in flips)], rows)
    rows = []
    for t in c["training"]:
        crit = t["epochs_to_criterion"]
        rows.append(f'<tr><th class="l">{_esc(t["backend"])}</th><td>{t["seed"]}</td>'
                    f'<td style="background:{"#b9e4b9" if crit else "#f6d5d5"}">{crit if crit else "not met"}</td>'
                    f'<td>{t["epochs_run"]}</td><td>{_fmt(t["wall_seconds"], 1)}</td>'
                    f'<td>{_fmt(t["sim_ms_per_wall_s"], 0)}</td></tr>')
    training_table = _table(["backend", "seed", "epochs to criterion", "epochs run", "wall time (s)",
                             "simulated ms per wall s"], rows)
    return (f'<div class="cols"><div><h3>Noise robustness (mean accuracy over seeds)</h3>{noise_table}</div>'
            f'<div><h3>Training</h3>{training_table}</div></div>')


def _figures(c: dict, lockstep_figure: str | None, here: Path) -> list[str]:
    figs = c["figures"]
    shown = [(figs["learning_curves"], "Learning curves: evaluation accuracy per epoch"),
             (figs["transfer"], "Transfer matrix: trained on the row backend, tested on the column backend"),
             (figs["noise"], "Noise robustness: accuracy against flipped pixels (band: min-max over seeds)"),
             (figs["weights"], "Trained weights drawn as the pixel grid, per output neuron")]
    if lockstep_figure:
        shown.append((lockstep_figure, "Lockstep replay: the same inputs and weights on each backend"))
    parts = [_grid("Figures", shown, here)]
    first_seed = c["seeds"][0]
    rasters = [(p, k.replace(f"/seed{first_seed}/", " -> ")) for k, p in c["rasters"].items()
               if k.split("/")[1] == f"seed{first_seed}"]
    if rasters:
        parts.append(_grid(f"Test rasters, seed {first_seed} (trained on / tested on)", rasters, here))
    failing = []
    for key, p in c["rasters"].items():  # key: train backend/seedN/test backend
        train_backend, seed, test_backend = key.split("/")
        acc = _get(c["clean_accuracy"], train_backend, int(seed[4:]), test_backend)
        if Path(p).exists() and acc is not None and acc < 1.0:
            failing.append((p, f"{key}: accuracy {acc:.3f}"))
    if failing:
        parts.append(_grid("Rasters of every clean test below 1.0 (trained on / seed / tested on)", failing, here))
    return parts


def _grid(title: str, figures: list[tuple], here: Path) -> str:
    """A heading and its figures side by side."""
    return (f"<h3>{_esc(title)}</h3><div class='grid'>"
            + "".join(f"<div>{_img(p, caption, here)}</div>" for p, caption in figures) + "</div>")


def _dataset_section(c: dict, lockstep: dict | None, lockstep_figure: str | None, here: Path) -> str:
    ds = c["dataset"]
    parts = [f'<h2 id="{_esc(ds)}">Data set <code>{_esc(ds)}</code> ({len(c["labels"])} characters: '
             f'{_esc("".join(c["labels"]))})</h2>']
    parts += _verdicts(c)
    parts += _emulation_section(c)
    parts += _nir_section(c)
    parts.append(_accuracy_tables(c))
    parts += _margin_section(c)
    parts.append(_noise_and_training_tables(c))
    if lockstep:
        parts.append(_lockstep_section(lockstep))
    parts += _figures(c, lockstep_figure, here)
    return "\n".join(parts)


def _get(clean: dict, tb: str, seed: int, tt: str):
    per_seed = clean[tb]
    return per_seed.get(str(seed), per_seed.get(seed, {})).get(tt)


def _lockstep_section(lockstep: dict) -> str:
    rows = []
    for p in lockstep["pairs"]:
        for part in ("outputs", "inputs", "all"):
            q = p[part]
            rows.append(
                f'<tr><th class="l">{_esc(p["a"])} vs {_esc(p["b"])}</th><td class="l">{part}</td>'
                f'<td>{q["neuron_windows"]}</td><td>{q["exact_match_rate"]:.4f}</td><td>{q["within_one_rate"]:.4f}</td>'
                f'<td>{q["window_exact_match_rate"]:.3f}</td><td>{q["mean_abs_rate_diff_hz"]:.3f}</td>'
                f'<td>{q["van_rossum_mean"]:.3f}</td>'
                + (f'<td>{p["winner_agreement"]:.3f}</td><td>{_fmt(p["b_minus_a_spike_time_ms"], 3)}</td>'
                   if part == "outputs" else "<td></td><td></td>") + "</tr>")
    p0 = lockstep["pairs"][0]
    return (f"<h3>Lockstep agreement ({p0['windows']} windows, same inputs and weights on every backend)</h3>"
            + _table(["backends", "neurons", "neuron-windows", "exact count match", "within one spike",
                      "windows with all counts equal", "mean |rate diff| (Hz)",
                      f"van Rossum distance (&tau; {p0['van_rossum_tau_ms']:g} ms)", "same winner",
                      "spike time b&minus;a (ms)"], rows)
            + "<p class='meta'>Counts over each presentation (window and rest gap); rates per input window. "
              "Van Rossum distance from Elephant, 1.0 = one spike against none. Spike-time offset: mean "
              "difference of corresponding spikes in neuron-windows with equal counts.</p>"
            + _majority_section(lockstep.get("majority")))


def _majority_section(m: dict | None) -> str:
    """The per-window vote of three or more backends: which one differs when the others agree."""
    if not m or len(m["backends"]) < 3:
        return ""
    names = m["backends"]
    rows = []
    for part in ("all", "outputs"):
        q = m[part]
        rows.append(f'<tr><td class="l">{part}</td><td>{q["all_agree"]}</td>'
                    + "".join(f'<td>{q["differs"][n]}</td>' for n in names)
                    + f'<td>{q["several_differ"]}</td>'
                    + f'<td>{q["no_majority"]}</td></tr>')
    return (f"<h3>Majority verdict per window ({m['windows']} windows, {len(names)} backends)</h3>"
            + _table(["counts of", "all agree"] + [f"{_esc(n)} differs" for n in names]
                     + ["two or more differ", "no majority"], rows)
            + "<p class='meta'>Per window, the backends are grouped by their spike counts (every neuron, or "
              "the outputs alone); a group of more than half is the majority, and a backend outside it "
              "differs (a backend's column: the windows in which it alone differs).</p>")


def config_digest(config: dict) -> str:
    """A short SHA-256 of a pipeline config: the report carries it, so a report is known to
    belong to the config that made it."""
    import hashlib
    import json

    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()[:16]


def report_config_digest(path: Path) -> str | None:
    """The config digest a report file carries (None: no report, or not one of ours)."""
    import re

    try:
        with open(path, "rb") as fh:
            head = fh.read(4096).decode(errors="replace")
    except OSError:
        return None
    match = re.search(r'<meta name="snn-rl-config" content="([0-9a-f]+)">', head)
    return match.group(1) if match else None


def job_table(benchmarks: Path) -> tuple[list[dict], dict]:
    """Per rule: jobs, total and longest wall time, largest peak memory, from Snakemake's
    benchmark files under ``benchmarks`` (rule = the file's name up to its first ``_`` or
    digit-free stem: train, test, emulate_spinnaker, ...)."""
    import csv

    rules: dict[str, dict] = {}
    for tsv in sorted(Path(benchmarks).rglob("*.tsv")):
        try:
            with open(tsv, newline="") as fh:
                row = next(csv.DictReader(fh, delimiter="\t"))
            seconds = float(row["s"])
        except (OSError, StopIteration, KeyError, ValueError):
            continue
        try:  # Snakemake writes NA for a job that ended before its first memory sample
            rss = float(row.get("max_rss") or 0)
        except ValueError:
            rss = 0.0
        stem = tsv.stem
        rule = next((r for r in ("emulate_spinnaker", "deploy_spinnaker") if stem.startswith(r)), stem.split("_")[0])
        if tsv.parent.name == "lockstep":
            rule = "lockstep_protocol" if stem == "protocol" else "lockstep_compare" if stem == "compare" else "lockstep_run"
        r = rules.setdefault(rule, {"rule": rule, "count": 0, "total_s": 0.0, "max_s": 0.0, "max_rss_mb": 0.0})
        r["count"] += 1
        r["total_s"] += seconds
        r["max_s"] = max(r["max_s"], seconds)
        r["max_rss_mb"] = max(r["max_rss_mb"], rss)
    jobs = sorted(rules.values(), key=lambda r: -r["total_s"])
    total = {"count": sum(r["count"] for r in jobs), "total_s": sum(r["total_s"] for r in jobs),
             "max_s": max((r["max_s"] for r in jobs), default=0.0),
             "max_rss_mb": max((r["max_rss_mb"] for r in jobs), default=0.0)}
    return jobs, total


#: the raw results the report lists (by suffix), under each data set's folder
RESULT_SUFFIXES = (".json", ".tsv", ".npz", ".nix", ".txt")


def result_files(runs: Path, datasets: list[str]) -> list[str]:
    """Every raw result file of the data sets, relative to ``runs`` (checkpoints and the
    project's own marks left out)."""
    found = []
    for ds in datasets:
        for path in sorted((Path(runs) / ds).rglob("*")):
            rel = path.relative_to(runs)
            if (path.is_file() and path.suffix in RESULT_SUFFIXES and "checkpoints" not in rel.parts
                    and not path.name.startswith(".")):
                found.append(rel.as_posix())
    return found


def write_report(path: Path, compares: list[Path], lockstep: dict[str, Path], lockstep_figures: dict[str, Path],
                 config: dict, title: str = "snn-rl pipeline report", params: dict | None = None) -> None:
    """Write the report from its template: ``compares`` are ``compare.json`` files (one per
    data set); ``lockstep`` / ``lockstep_figures`` map a data set to its agreement JSON /
    figure; ``params``: the effective model parameters (a :class:`Params` dict)."""
    import jinja2

    from snn_rl.model.params import Params, describe_parameters

    path = Path(path)
    sections, provenance, datasets = [], None, []
    for cpath in compares:
        c = read_json(cpath)
        ds = c["dataset"]
        datasets.append(ds)
        ls = read_json(lockstep[ds]) if ds in lockstep else None
        sections.append(jinja2.utils.markupsafe.Markup(_dataset_section(c, ls, lockstep_figures.get(ds), path.parent)))
        if provenance is None and c.get("provenance"):
            provenance = c["provenance"]
    jobs, jobs_total = job_table(path.parent / "benchmarks")
    env = jinja2.Environment(loader=jinja2.PackageLoader("snn_rl.analysis", "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined)
    doc = env.get_template("report.html.j2").render(
        title=title, css=jinja2.utils.markupsafe.Markup(_CSS), config=config, config_digest=config_digest(config),
        stamp=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), datasets=datasets, provenance=provenance,
        sections=sections, parameters=describe_parameters(Params.from_dict(params)) if params else [],
        jobs=jobs, jobs_total=jobs_total, files=result_files(path.parent, datasets),
        config_yaml=yaml.safe_dump(config, sort_keys=False))
    atomic_write_bytes(path, doc.encode())
