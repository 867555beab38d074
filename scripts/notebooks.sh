#!/usr/bin/env bash
# Run every notebook (or those given) with the project's runner, writing HTML and index.html to $1,
# then open every report in headless Chromium with the network off (scripts/check_reports.py):
# each chart must render, no table may be empty, no script error; screenshots go to $1/screenshots.
# Extra pages to check (the standalone Report written by tests/report_html.rs) are named by
# DICTLAB_CHECK_EXTRA (space-separated).
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
rc=0
.venv/bin/python scripts/run_notebooks.py "$out" "$@" || rc=$?
pages=()
for nb in "$@"; do pages+=("$out/$(basename "$nb" .ipynb).html"); done
pages+=("$out/index.html")
for extra in ${DICTLAB_CHECK_EXTRA:-}; do pages+=("$extra"); done
.venv/bin/python scripts/check_reports.py "$out/screenshots" "${pages[@]}" || rc=1
exit $rc
