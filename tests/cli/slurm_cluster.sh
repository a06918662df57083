#!/usr/bin/env bash
# A throw-away single-node Slurm cluster in a folder, for tst_cli_sweep's real `sbatch --wait` test.
#   slurm_cluster.sh start DIR   munged + slurmctld + slurmd from a generated DIR/slurm.conf (own munge
#                                key and socket, free ports, state and logs under DIR); waits until the
#                                node is idle, then prints "SLURM_CONF=DIR/slurm.conf" and exits 0.
#   slurm_cluster.sh stop DIR    stops the three daemons started for DIR (by their pid files).
# Nothing outside DIR is touched: no /etc, no systemd. On failure: exit 1 and one line on stderr saying
# why (no slurmctld installed, not root, a daemon that would not start: the tail of its log).
set -uo pipefail
cmd=${1:-}
dir=${2:-}
if [ -z "$cmd" ] || [ -z "$dir" ]; then
  echo "usage: slurm_cluster.sh start|stop DIR" >&2
  exit 2
fi

stop() {
  for f in slurmd slurmctld munged; do
    if [ -f "$dir/$f.pid" ]; then
      local pid
      pid=$(cat "$dir/$f.pid" 2>/dev/null)
      [ -n "$pid" ] && kill "$pid" 2>/dev/null
    fi
  done
  # give them a moment to exit, then be blunt
  for _ in $(seq 1 50); do
    local alive=0
    for f in slurmd slurmctld munged; do
      [ -f "$dir/$f.pid" ] && kill -0 "$(cat "$dir/$f.pid" 2>/dev/null)" 2>/dev/null && alive=1
    done
    [ "$alive" -eq 0 ] && break
    sleep 0.1
  done
  for f in slurmd slurmctld munged; do
    [ -f "$dir/$f.pid" ] && kill -9 "$(cat "$dir/$f.pid" 2>/dev/null)" 2>/dev/null
    rm -f "$dir/$f.pid"
  done
  return 0
}

fail() {
  echo "slurm_cluster: $*" >&2
  stop
  exit 1
}

# A TCP port nobody listens on (bash's /dev/tcp: a refused connection means free).
free_port() {
  local p
  for _ in $(seq 1 200); do
    p=$((20000 + RANDOM % 20000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return 0
    fi
  done
  return 1
}

if [ "$cmd" = stop ]; then
  stop
  exit 0
fi
[ "$cmd" = start ] || { echo "slurm_cluster: unknown command '$cmd' (start or stop)" >&2; exit 2; }

for exe in munged slurmctld slurmd sinfo sbatch; do
  command -v "$exe" >/dev/null 2>&1 || PATH=$PATH:/usr/sbin command -v "$exe" >/dev/null 2>&1 ||
    fail "$exe is not installed (scripts/install-deps.sh installs slurm-wlm and munge)"
done
export PATH=$PATH:/usr/sbin
[ "$(id -u)" -eq 0 ] || fail "not root: slurmd must run as root to start jobs (uid $(id -u))"

mkdir -p "$dir"/{state,spool,munge} || fail "cannot create $dir"
dir=$(cd "$dir" && pwd)
chmod 700 "$dir/munge"
host=$(hostname -s)
key="$dir/munge/munge.key"
head -c 1024 /dev/urandom >"$key" && chmod 400 "$key" || fail "cannot write the munge key"
sock="$dir/munge/munge.socket"
munged --force --socket="$sock" --key-file="$key" --pid-file="$dir/munged.pid" \
  --log-file="$dir/munged.log" --seed-file="$dir/munge/seed" >/dev/null 2>&1 ||
  fail "munged would not start: $(tail -n 2 "$dir/munged.log" 2>/dev/null | tr '\n' ' ')"

ctl_port=$(free_port) || fail "no free TCP port"
node_port=$ctl_port
while [ "$node_port" = "$ctl_port" ]; do node_port=$(free_port) || fail "no free TCP port"; done
cpus=$(nproc)
cat >"$dir/slurm.conf" <<EOF
ClusterName=transportlab-test
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$sock
SlurmctldPort=$ctl_port
SlurmdPort=$node_port
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
MpiDefault=none
SwitchType=switch/none
ReturnToService=2
PlugStackConfig=$dir/plugstack.conf
NodeName=$host CPUs=$cpus State=UNKNOWN
PartitionName=tl Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
: >"$dir/plugstack.conf"
export SLURM_CONF="$dir/slurm.conf"

slurmctld -i >/dev/null 2>&1 || fail "slurmctld would not start: $(tail -n 3 "$dir/slurmctld.log" 2>/dev/null | tr '\n' ' ')"
slurmd >/dev/null 2>&1 || fail "slurmd would not start: $(tail -n 3 "$dir/slurmd.log" 2>/dev/null | tr '\n' ' ')"

# Wait (up to 30 s) until the node is idle.
for _ in $(seq 1 300); do
  state=$(sinfo -h -N -o '%t' 2>/dev/null | head -n 1)
  if [ "$state" = idle ]; then
    echo "SLURM_CONF=$SLURM_CONF"
    exit 0
  fi
  sleep 0.1
done
fail "the node did not become idle in 30 s (state '${state:-none}'): $(tail -n 3 "$dir/slurmctld.log" 2>/dev/null | tr '\n' ' ')"
