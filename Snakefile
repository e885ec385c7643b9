"""snn-rl pipeline: train on every backend and seed, test every trained network on every
backend (clean and with flipped pixels), replay one fixed protocol on every backend in
lockstep, compare, and write one HTML report (runs/report.html).

    snakemake --cores 2                                  # the main job (config/config.yaml)
    snakemake --cores 2 --configfile config/alphabet.yaml
    snakemake --profile profiles/slurm                   # on a SLURM cluster

Rules live in workflow/rules/, the config schema in workflow/schemas/, the logic in the
project's packages (model/, backends/, snn_rl/).
"""

from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/test.smk"
include: "workflow/rules/lockstep.smk"
include: "workflow/rules/spinnaker.smk"
include: "workflow/rules/nir.smk"
include: "workflow/rules/compare.smk"
include: "workflow/rules/report.smk"


rule all:
    """The report and everything it shows."""
    input:
        report="runs/report.html",
    default_target: True
