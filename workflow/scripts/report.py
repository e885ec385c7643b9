"""Rule report: the self-contained HTML report (snn_rl.analysis.report)."""

from pathlib import Path

from job import logged

with logged(snakemake.log[0]):
    from snn_rl.analysis.report import write_report

    # the input lists follow the order of the data sets (workflow/rules/common.smk)
    datasets = snakemake.params.datasets
    lockstep = dict(zip(datasets, map(Path, snakemake.input.lockstep)))
    figures = dict(zip(datasets, map(Path, snakemake.input.lockstep_figures)))
    write_report(Path(snakemake.output.html), [Path(p) for p in snakemake.input.compare], lockstep, figures,
                 snakemake.params.config, params=snakemake.params.model)
    print(f"report -> {snakemake.output.html}")
