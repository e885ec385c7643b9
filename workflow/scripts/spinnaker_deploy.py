"""Rule deploy_spinnaker: :func:`snn_rl.deploy` of one trained network, mapped on a virtual board."""

from pathlib import Path

from job import logged

with logged(snakemake.log[0]):
    import snn_rl

    result = snn_rl.deploy(Path(snakemake.input.weights).parent, Path(snakemake.output.report).parent,
                           target="spinnaker", dataset=snakemake.params.dataset, repeats=snakemake.params.repeats,
                           virtual=True, overwrite=True)
    print("\n".join(result.describe()))
