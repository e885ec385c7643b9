"""Rule test: :func:`snn_rl.test` of one trained network on one backend, clean or with noise."""

from pathlib import Path

from job import logged

with logged(snakemake.log[0]):
    import snn_rl

    result = snn_rl.test(Path(snakemake.input.weights), snakemake.params.dataset, snakemake.wildcards.test_backend,
                         Path(snakemake.output.result).parent, repeats=snakemake.params.repeats,
                         noise_flips=int(snakemake.wildcards.flips), noise_seed=snakemake.params.noise_seed,
                         threads=snakemake.threads)
    print(result.describe())
