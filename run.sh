#!/usr/bin/env bash
# One entry point for a fresh machine: creates .venv, installs the project, then runs
#   ./run.sh pipeline [snakemake args...]   the default Snakemake pipeline (config/config.yaml)
#   ./run.sh test [pytest args...]          the test suite
#   ./run.sh shell                          a shell with the environment activated
set -euo pipefail
cd "$(dirname "$0")"
VENV=.venv
# The brian2 backend needs Python 3.13 (Brian 2.11); every other part runs on 3.11 or newer.
WANT=3.13

runs() { [ -n "$1" ] && "$1" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; }
has_want() { "$1" -c "import sys; sys.exit(sys.version_info[:2] < tuple(map(int, '$WANT'.split('.'))))" 2>/dev/null; }

# $PYTHON if set, else python3.13 (on PATH or installed by pyenv), else python3
pick_python() {
    if [ -n "${PYTHON:-}" ]; then echo "$PYTHON"; return; fi
    local c
    local roots="${PYENV_ROOT:-$HOME/.pyenv}"
    if command -v pyenv >/dev/null 2>&1; then roots="$roots $(pyenv root 2>/dev/null || true)"; fi
    # shellcheck disable=SC2086
    for c in "python$WANT" $(for r in $roots; do echo "$r"/versions/"$WANT"*/bin/"python$WANT"; done); do
        if runs "$c"; then echo "$c"; return; fi
    done
    echo python3
}

if [ ! -x "$VENV/bin/python" ]; then
    PY=$(pick_python)
    if ! runs "$PY"; then
        echo "run.sh: $PY is not a Python 3.11 or newer; install Python $WANT (python.org or 'pyenv install $WANT') or set PYTHON=/path/to/python3.13" >&2
        exit 2
    fi
    if ! has_want "$PY"; then
        echo "run.sh: no Python $WANT found (python$WANT, pyenv): using $("$PY" -V 2>&1), without the brian2 backend; for it install Python $WANT ('pyenv install $WANT') and remove $VENV" >&2
    fi
    echo "run.sh: creating $VENV with $("$PY" -V 2>&1)" >&2
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
