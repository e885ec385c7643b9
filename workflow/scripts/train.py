"""Rule train: ``snn-rl train`` for one backend, seed and data set."""

from pathlib import Path

from job import logged, snn_rl

# --overwrite: a killed run's checkpoints are cleared and training starts again (same seed,
# same result); snakemake has already removed the outputs of the job it reruns
with logged(snakemake.log[0]):
    snn_rl("train", "--backend", snakemake.wildcards.backend, "--dataset", snakemake.params.dataset,
           "--seed", snakemake.wildcards.seed, "--params", snakemake.params.model,
           "--threads", snakemake.threads, "--overwrite", "--out", Path(snakemake.output.summary).parent)
