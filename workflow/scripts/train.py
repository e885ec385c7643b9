"""Rule train: :func:`snn_rl.train` for one backend, seed and data set."""

from pathlib import Path

from job import logged

# resume + overwrite: a killed job goes on from its last checkpoint (snakemake removes only the
# declared outputs, not the checkpoints), with the result an uninterrupted run gives; a
# directory whose checkpoints do not fit (changed parameters) is started again; a fresh job
# (no checkpoints) simply starts, without a "nothing to resume" warning
with logged(snakemake.log[0]):
    import snn_rl
    from snn_rl.experiments.checkpoints import checkpoint_paths

    out = Path(snakemake.output.summary).parent
    result = snn_rl.train(snn_rl.Params.from_dict(snakemake.params.model), snakemake.params.dataset,
                          snakemake.wildcards.backend, out, seed=int(snakemake.wildcards.seed),
                          threads=snakemake.threads, resume=bool(checkpoint_paths(out)), overwrite=True)
    print(result.describe())
