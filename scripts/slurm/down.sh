#!/usr/bin/env bash
# Stop the Slurm started by scripts/slurm/up.sh (by its PID files, never by name).
# --purge also deletes its directory. Idempotent.
set -uo pipefail
D=${DICTLAB_SLURM_DIR:-/var/tmp/dictlab-slurm}
export SLURM_CONF=$D/slurm.conf
stop() {
  local pf=$1 pid
  [ -s "$pf" ] || return 0
  pid=$(cat "$pf")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
  fi
  rm -f "$pf"
}
if [ -s "$D/slurmctld.pid" ] && kill -0 "$(cat "$D/slurmctld.pid")" 2>/dev/null; then
  scancel --quiet --user="$(id -un)" 2>/dev/null || true
  for _ in $(seq 20); do [ -z "$(squeue -h 2>/dev/null)" ] && break; sleep 0.5; done
fi
stop "$D/slurmd.pid"
stop "$D/slurmctld.pid"
stop "$D/munge/munged.pid"
[ "${1:-}" = --purge ] && rm -rf "$D"
exit 0
