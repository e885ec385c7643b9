"""Rule train: :func:`snn_rl.train` for one backend, seed and data set."""

from pathlib import Path

from job import logged

# resume + overwrite: a killed job goes on from its last checkpoint (snakemake removes only the
# declared outputs, not the checkpoints), with the result an uninterrupted run gives; a
# directory whose checkpoints do not fit (changed parameters) is started again
with logged(snakemake.log[0]):
    import snn_rl

    result = snn_rl.train(snn_rl.Params.from_dict(snakemake.params.model), snakemake.params.dataset,
                          snakemake.wildcards.backend, Path(snakemake.output.summary).parent,
                          seed=int(snakemake.wildcards.seed), threads=snakemake.threads, resume=True, overwrite=True)
    print(result.describe())
