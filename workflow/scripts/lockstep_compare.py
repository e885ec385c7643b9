"""Rule lockstep_compare: ``snn-rl lockstep compare`` of every backend's recording."""

from job import logged, snn_rl

with logged(snakemake.log[0]):
    snn_rl("lockstep", "compare", *snakemake.input.recordings, "--tau-ms", snakemake.params.tau_ms,
           "--figure", snakemake.output.figure, "--out", snakemake.output.agreement)
