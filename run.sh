#!/usr/bin/env bash
# One entry point for a fresh machine: creates .venv, installs the project, then runs
#   ./run.sh pipeline [snakemake args...]   the default Snakemake pipeline (config/config.yaml)
#   ./run.sh test [pytest args...]          the test suite
#   ./run.sh shell                          a shell with the environment activated
set -euo pipefail
cd "$(dirname "$0")"
VENV=.venv
PY=${PYTHON:-python3}

if [ ! -x "$VENV/bin/python" ]; then
    echo "run.sh: creating $VENV" >&2
    "$PY" -m venv "$VENV"
fi
STAMP="$VENV/.installed-$(sha1sum pyproject.toml | cut -c1-12)"
if [ ! -f "$STAMP" ]; then
    echo "run.sh: installing the project and its simulators into $VENV (about a minute)" >&2
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    "$VENV/bin/python" -m pip install --quiet -e ".[all,test]"
    rm -f "$VENV"/.installed-*
    touch "$STAMP"
fi
# pyNN.neuron finds nrnivmodl only on PATH
export PATH="$PWD/$VENV/bin:$PATH"
export MPLBACKEND=Agg

cmd=${1:-}
shift || true
case "$cmd" in
    pipeline) exec "$VENV/bin/snakemake" --cores "${CORES:-2}" "$@" ;;
    test) exec "$VENV/bin/python" -m pytest "$@" ;;
    shell) exec bash --rcfile <(echo "source $VENV/bin/activate") ;;
    *) echo "usage: ./run.sh pipeline|test|shell [args...]" >&2; exit 2 ;;
esac
