REPORT = "runs/report.html"
PREVIOUS_REPORT = "runs/report.previous.html"
CONFIG_DIGEST = config_digest(config)


rule report:
    """The one self-contained HTML report of every data set."""
    input:
        compare=report_inputs("compare"),
        figures=report_inputs("figures"),
        lockstep=report_inputs("lockstep"),
        lockstep_figures=report_inputs("lockstep_figures"),
        rasters=report_inputs("rasters"),
    output:
        html=report("runs/report.html", category="Report", caption="../report/report.rst"),
    log:
        "runs/logs/report.log",
    benchmark:
        "runs/benchmarks/report.tsv"
    params:
        config=config,
        datasets=DATASETS,
    threads: 1
    conda:
        "../envs/snn-rl.yaml"
    script:
        "../scripts/report.py"


# A report is the result of the config that made it: it carries the config's digest. A
# report of another config (or of no known config) is set aside before anything is planned,
# so Snakemake can never take it as up to date ("nothing to be done") for this config; after
# a failed run, a report that the run did not remake is set aside too. So runs/report.html
# never stands as the result of a run that did not make it. The earlier report is kept,
# renamed to runs/report.previous.html, never deleted. A dry run changes nothing and says so.
_STARTED = []


def _set_aside_report(why):
    if os.path.exists(REPORT):
        os.replace(REPORT, PREVIOUS_REPORT)
        print(f"snakemake: {why}; the earlier report is kept as {PREVIOUS_REPORT}", file=sys.stderr)


if os.path.exists(REPORT) and report_config_digest(Path(REPORT)) != CONFIG_DIGEST and workflow.is_main_process:
    if workflow.output_settings.dryrun:
        print(f"snakemake: note: {REPORT} was made with another config; a real run sets it aside and "
              "makes this config's report", file=sys.stderr)
    else:
        _set_aside_report(f"{REPORT} was made with another config")


onstart:
    _STARTED.append(time.time())


onerror:
    if os.path.exists(REPORT) and _STARTED and os.path.getmtime(REPORT) < _STARTED[0]:
        _set_aside_report(f"the run failed, so {REPORT} is not its result")
