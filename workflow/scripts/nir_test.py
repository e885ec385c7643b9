"""Rule test_nir: :func:`snn_rl.nir_test` of one exported graph (Norse against NEST)."""

from pathlib import Path

from job import logged

with logged(snakemake.log[0]):
    import snn_rl

    result = snn_rl.nir_test(snakemake.input.graph, Path(snakemake.output.result).parent,
                             dataset=snakemake.params.dataset, overwrite=True)
    print(result.describe())
