"""Rule deploy_spinnaker: ``snn-rl deploy --target spinnaker --virtual`` of one trained network."""

from pathlib import Path

from job import logged, snn_rl

out = Path(snakemake.output.report).parent
with logged(snakemake.log[0]):
    snn_rl("deploy", "--target", "spinnaker", "--weights", Path(snakemake.input.weights).parent,
           "--dataset", snakemake.params.dataset, "--repeats", snakemake.params.repeats, "--virtual", "--out", out, "--overwrite")
