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
        model=MODEL_PARAMS,
    threads: 1
    conda:
        "../envs/snn-rl.yaml"
    script:
        "../scripts/report.py"


onstart:
    _STARTED.append(time.time())


onerror:
    if os.path.exists(REPORT) and _STARTED and os.path.getmtime(REPORT) < _STARTED[0]:
        _set_aside_report(f"the run failed, so {REPORT} is not its result")
