#!/usr/bin/env bash
# Cost per run before/after issue 23 (benches/cost/{before,after}.toml): runs both plans on the same three
# full-size instances, one thread per run, and prints the per-method table (CPU seconds summed over the
# three instances, ratio, recovery before/after). Usage: benches/cost/run.sh [OUT_DIR] [WORKERS]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="${1:-$root/target/cost}"
workers="${2:-2}"
cargo build --release --quiet --manifest-path "$root/Cargo.toml"
bin="$root/target/release/dictlab"
mkdir -p "$out"
for p in before after; do
  "$bin" sweep "$here/$p.toml" --out "$out/$p" --workers "$workers" --quiet >/dev/null
  "$bin" merge "$out/$p" -o "$out/$p.parquet" >/dev/null
  "$bin" headline "$out/$p.parquet" --csv "$out/$p.csv" >/dev/null
done
python3 "$here/compare.py" "$out/before.csv" "$out/after.csv"
