"""Rule emulate_spinnaker: ``snn-rl emulate`` of one trained network."""

from pathlib import Path

from job import logged, snn_rl

out = Path(snakemake.output.result).parent
with logged(snakemake.log[0]):
    snn_rl("emulate", "--weights", Path(snakemake.input.weights).parent, "--dataset", snakemake.params.dataset,
           "--repeats", snakemake.params.repeats, "--out", out, "--overwrite")
