"""Rule emulate_spinnaker: :func:`snn_rl.emulate` of one trained network."""

from pathlib import Path

from job import logged

with logged(snakemake.log[0]):
    import snn_rl

    result = snn_rl.emulate(Path(snakemake.input.weights).parent, Path(snakemake.output.result).parent,
                            dataset=snakemake.params.dataset, repeats=snakemake.params.repeats, overwrite=True)
    print(result.describe())
