"""Rule test: ``snn-rl test`` of one trained network on one backend, clean or with noise."""

from pathlib import Path

from job import logged, snn_rl

with logged(snakemake.log[0]):
    snn_rl("test", "--backend", snakemake.wildcards.test_backend, "--dataset", snakemake.params.dataset,
           "--weights", snakemake.input.weights, "--repeats", snakemake.params.repeats,
           "--noise-flips", snakemake.wildcards.flips, "--noise-seed", snakemake.params.noise_seed,
           "--threads", snakemake.threads, "--out", Path(snakemake.output.result).parent)
