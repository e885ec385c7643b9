"""Rule train: ``snn-rl train`` for one backend, seed and data set."""

from pathlib import Path

from job import logged, snn_rl

# --resume --overwrite: a killed job goes on from its last checkpoint (snakemake removes only the
# declared outputs, not the checkpoints), with the result an uninterrupted run gives; a
# directory whose checkpoints do not fit (changed parameters) is started again
with logged(snakemake.log[0]):
    snn_rl("train", "--backend", snakemake.wildcards.backend, "--dataset", snakemake.params.dataset,
           "--seed", snakemake.wildcards.seed, "--params", snakemake.params.model,
           "--threads", snakemake.threads, "--resume", "--overwrite", "--out", Path(snakemake.output.summary).parent)
