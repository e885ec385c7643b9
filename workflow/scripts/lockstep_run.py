"""Rule lockstep_run: ``snn-rl lockstep run`` on one backend."""

from job import logged, snn_rl

with logged(snakemake.log[0]):
    snn_rl("lockstep", "run", "--backend", snakemake.wildcards.lockstep_backend,
           "--protocol", snakemake.input.protocol, "--threads", snakemake.threads,
           "--out", snakemake.output.recording)
