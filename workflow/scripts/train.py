"""Rule train: ``snn-rl train`` for one backend, seed and data set."""

from pathlib import Path

from job import fresh_directory, logged, snn_rl

out = Path(snakemake.output.summary).parent
# a killed run leaves checkpoints behind; the rerun trains from scratch (same seed, same result)
fresh_directory(out / "checkpoints")
with logged(snakemake.log[0]):
    snn_rl("train", "--backend", snakemake.wildcards.backend, "--dataset", snakemake.params.dataset,
           "--seed", snakemake.wildcards.seed, "--params", snakemake.params.model,
           "--threads", snakemake.threads, "--out", out)
