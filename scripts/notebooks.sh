#!/usr/bin/env bash
# Run every notebook (or those given) with the project's runner, writing HTML to $1.
set -euo pipefail
cd "$(dirname "$0")/.."
out="$1"; shift || true
export PATH="$HOME/.cargo/bin:$PATH"
CACHE="${DICTLAB_CACHE:-/var/tmp/dictlab-$(id -un)}"
mkdir -p "$CACHE/evcxr-tmp" "$CACHE/evcxr-config"
export EVCXR_CONFIG_DIR="$CACHE/evcxr-config"
# One persistent build dir: notebooks run one after another, so sharing it is safe, and a
# repeat run (or a fresh clone on the same machine) reuses every compiled dependency.
export EVCXR_TMPDIR="$CACHE/evcxr-tmp"
export MATMUL_NUM_THREADS="${MATMUL_NUM_THREADS:-2}"
if [ "$#" -eq 0 ]; then set -- notebooks/*.ipynb; fi
exec .venv/bin/python scripts/run_notebooks.py "$out" "$@"
