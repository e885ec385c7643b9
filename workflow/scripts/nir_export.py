"""Rule export_nir: :func:`snn_rl.export` of one trained network as a NIR graph."""

from pathlib import Path

from job import logged

with logged(snakemake.log[0]):
    import snn_rl

    result = snn_rl.export(Path(snakemake.input.weights).parent, snakemake.output.graph, fmt="nir",
                           dataset=snakemake.params.dataset, overwrite=True)
    print(result.describe())
