#!/usr/bin/env bash
# Run by `snakemake --sdm conda` in the new environment, from the pipeline's working directory
# (the project root): the rule scripts import the project as the package snn_rl.
set -euo pipefail
python -m pip install --no-deps --quiet -e .
