#!/usr/bin/env bash
# Idempotent set-up for `make reports` / `make test` on a fresh machine with only a Rust toolchain
# and python3: a local venv with the Jupyter tools, evcxr_jupyter via cargo, the `rust` kernel, and
# evcxr's config (a persistent build dir and compilation cache in per-user cache dirs).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c "import nbclient, nbconvert" 2>/dev/null; then
  echo "setup: creating .venv with nbclient/nbconvert"
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check "nbconvert==7.17.2" "nbclient==0.11.0"
fi

export PATH="$HOME/.cargo/bin:$PATH"
if ! cargo install --list 2>/dev/null | grep -q "^evcxr_jupyter v0.22"; then
  echo "setup: installing evcxr_jupyter 0.22.0 (about 15-18 min, once per machine)"
  cargo install evcxr_jupyter --locked --version 0.22.0
fi

# Headless Chromium for the reports' browser check (scripts/check_reports.py): Debian's package, as
# the Slurm test installs Slurm's (needs root, as CI is). DICTLAB_CHROMIUM names another browser.
if [ -z "${DICTLAB_CHROMIUM:-}" ] && ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing Debian's chromium (browser check of the reports)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q chromium >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; }
  else
    echo "setup: chromium is missing and cannot be installed here (not root or no apt-get);" \
         "install it or set DICTLAB_CHROMIUM, or the reports' browser check fails" >&2
  fi
fi

KDIR="${JUPYTER_DATA_DIR:-$HOME/.local/share/jupyter}/kernels/rust"
if [ ! -f "$KDIR/kernel.json" ]; then
  echo "setup: registering the rust kernel"
  evcxr_jupyter --install
fi

# evcxr's persistent build directory (see scripts/notebooks.sh): per user, outside the clone, so a
# fresh clone on the same machine reuses every compiled dependency. It is not under $HOME: evcxr's
# dlopen of the compiled cells fails there on these machines (measured: /root/... fails, /tmp and
# /var/tmp work).
mkdir -p "${DICTLAB_CACHE:-/var/tmp/dictlab-$(id -un)}/evcxr-tmp" "${DICTLAB_CACHE:-/var/tmp/dictlab-$(id -un)}/evcxr-config"
