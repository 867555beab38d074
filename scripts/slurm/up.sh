#!/usr/bin/env bash
# Start a single-node Slurm (munged + slurmctld + slurmd) on this machine for dictlab's
# end-to-end test: no systemd, no cgroups, no accounting. Adapted from ../shared/slurm/slurm-up.sh.
# Idempotent: when the daemons already run it only checks their health.
#
# Needs root on Debian (installs munge slurmctld slurmd slurm-client when missing).
# Env: DICTLAB_SLURM_DIR  config/state/logs/sockets (default /var/tmp/dictlab-slurm)
#      DICTLAB_SLURM_PORT first of two TCP ports (default 6917: slurmctld 6917, slurmd 6918)
#      DICTLAB_SLURM_NICE niceness of slurmd, inherited by every job (default 0; 19 lets a long
#                         benchmark use only the CPU time other work leaves, e.g. on a shared desk machine)
# Prints the SLURM_CONF path to use on its last line.
set -euo pipefail
D=${DICTLAB_SLURM_DIR:-/var/tmp/dictlab-slurm}
PORT=${DICTLAB_SLURM_PORT:-6917}
NODE=localhost
export SLURM_CONF=$D/slurm.conf
say() { printf '[slurm-up] %s\n' "$*" >&2; }
running() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

[ "$(id -u)" = 0 ] || { say "needs root (daemons run as root, packages come from apt)"; exit 2; }
command -v dpkg-query >/dev/null || { say "not a Debian system: no dpkg"; exit 2; }

PKGS="munge slurmctld slurmd slurm-client"
need=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need="$need $p"
done
if [ -n "$need" ]; then
  say "installing$need"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends $need >/dev/null
fi

mkdir -p "$D"/{munge,state,spool,log}
chown munge:munge "$D/munge"; chmod 0755 "$D/munge"
if [ ! -s "$D/munge/munge.key" ]; then
  head -c 1024 /dev/urandom > "$D/munge/munge.key"
  chown munge:munge "$D/munge/munge.key"; chmod 0400 "$D/munge/munge.key"
fi
if ! running "$D/munge/munged.pid"; then
  rm -f "$D/munge/munge.socket" "$D/munge/munge.socket.lock"
  runuser -u munge -- /usr/sbin/munged --key-file="$D/munge/munge.key" \
    --socket="$D/munge/munge.socket" --pid-file="$D/munge/munged.pid" \
    --seed-file="$D/munge/munged.seed" --log-file="$D/munge/munged.log"
  say "munged started"
fi
munge -S "$D/munge/munge.socket" -n | unmunge -S "$D/munge/munge.socket" >/dev/null

read -r CPUS SOCKETS CORES THREADS MEM < <(slurmd -C | head -1 | tr ' ' '\n' | awk -F= '
  /^CPUs=/{c=$2} /^SocketsPerBoard=/{s=$2} /^CoresPerSocket=/{k=$2} /^ThreadsPerCore=/{t=$2}
  /^RealMemory=/{m=$2} END{print c, s, k, t, m}')
MEM=$(( MEM * 9 / 10 ))
cat > "$D/slurm.conf.new" <<CONF
# single-node Slurm for dictlab's tests (written by scripts/slurm/up.sh)
ClusterName=dictlab
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$PORT
SlurmdPort=$(( PORT + 1 ))
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$D/munge/munge.socket
StateSaveLocation=$D/state
SlurmdSpoolDir=$D/spool
SlurmctldPidFile=$D/slurmctld.pid
SlurmdPidFile=$D/slurmd.pid
SlurmctldLogFile=$D/log/slurmctld.log
SlurmdLogFile=$D/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SwitchType=switch/none
MpiDefault=none
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SlurmdTimeout=30
InactiveLimit=0
MinJobAge=600
KillWait=5
Waittime=0
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$CPUS Boards=1 SocketsPerBoard=$SOCKETS CoresPerSocket=$CORES ThreadsPerCore=$THREADS RealMemory=$MEM State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP DefMemPerCPU=$(( MEM / CPUS / 2 ))
CONF
changed=1
if cmp -s "$D/slurm.conf.new" "$D/slurm.conf"; then rm -f "$D/slurm.conf.new"; changed=0
else mv "$D/slurm.conf.new" "$D/slurm.conf"; fi

if running "$D/slurmctld.pid"; then
  [ $changed = 1 ] && scontrol reconfigure
else
  /usr/sbin/slurmctld -i
  say "slurmctld started"
fi
for _ in $(seq 60); do scontrol ping 2>/dev/null | grep -q 'is UP' && break; sleep 0.5; done
scontrol ping | grep -q 'is UP' || { tail -20 "$D/log/slurmctld.log" >&2; exit 1; }

if [ "${DICTLAB_SLURM_NICE:-0}" != 0 ] && [ -w /proc/sys/kernel/sched_autogroup_enabled ]; then
  # with autogroups every job (its own session) gets a fair share whatever its niceness: off,
  # so nice jobs really only take the CPU time the rest of the machine leaves
  echo 0 > /proc/sys/kernel/sched_autogroup_enabled
  say "scheduler autogroups off (niceness applies across sessions)"
fi
running "$D/slurmd.pid" || {
  nice -n "${DICTLAB_SLURM_NICE:-0}" /usr/sbin/slurmd -N "$NODE"
  say "slurmd started (nice ${DICTLAB_SLURM_NICE:-0})"
}
st=""
for i in $(seq 60); do
  st=$(sinfo -h -n "$NODE" -o '%T' 2>/dev/null || true)
  case "$st" in
    idle*|mixed*|allocated*|completing*) break ;;
    down*|drain*|fail*) [ "$i" -gt 4 ] && scontrol update NodeName="$NODE" State=RESUME 2>/dev/null || true ;;
  esac
  sleep 0.5
done
case "$st" in idle*|mixed*|allocated*|completing*) ;;
  *) say "node state '$st'"; tail -20 "$D/log/slurmd.log" >&2; exit 1 ;;
esac
say "ready"
echo "$SLURM_CONF"
