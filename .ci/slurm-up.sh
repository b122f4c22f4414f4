#!/usr/bin/env bash
# A one-node SLURM cluster on this machine, for the cluster-grading test (tests/test_slurm.py):
#
#   .ci/slurm-up.sh start DIR   # munged, slurmctld and slurmd, configured and logging under DIR;
#                               # prints SLURM_CONF=DIR/slurm.conf (set it for sbatch, squeue, ...)
#   .ci/slurm-up.sh stop DIR    # cancels DIR's jobs, stops the three daemons
#
# Needs root and Debian's slurm-wlm and munge (.ci/run installs them). Everything lives under DIR:
# a munge key and socket of its own, the state and spool folders, the logs. The daemons listen on
# 127.0.0.1 only (CommunicationParameters=NoInAddrAny binds them to the node's address, here
# 127.0.0.1), on ports away from SLURM's defaults. Processes are tracked by proctrack/linuxproc and
# no cgroups are used, so it runs in a container without a systemd or cgroup delegation.
set -euo pipefail
action=${1:?usage: slurm-up.sh start|stop DIR}
dir=$(realpath -m "${2:?usage: slurm-up.sh start|stop DIR}")
node=aekit-node
ctld_port=${AEKIT_SLURMCTLD_PORT:-16817}
slurmd_port=${AEKIT_SLURMD_PORT:-16818}

stop_daemon() {  # stop_daemon PIDFILE: TERM, then KILL after 10 s
    local pidfile=$1 pid
    [ -f "$pidfile" ] || return 0
    pid=$(cat "$pidfile")
    kill "$pid" 2>/dev/null || return 0
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.2; done
    kill -9 "$pid" 2>/dev/null || true
}

if [ "$action" = stop ]; then
    if [ -f "$dir/slurm.conf" ]; then
        SLURM_CONF=$dir/slurm.conf scancel --full --quiet --partition=aekit 2>/dev/null || true
        sleep 1
    fi
    stop_daemon "$dir/slurmd.pid"
    stop_daemon "$dir/slurmctld.pid"
    stop_daemon "$dir/munged.pid"
    exit 0
fi
[ "$action" = start ] || { echo "usage: slurm-up.sh start|stop DIR" >&2; exit 2; }
if [ "$(id -u)" != 0 ]; then echo "slurm-up.sh: needs root (slurmd starts jobs as their users)" >&2; exit 3; fi
for tool in munged slurmctld slurmd sbatch; do
    command -v "$tool" >/dev/null || { echo "slurm-up.sh: $tool is missing (apt-get install slurm-wlm munge)" >&2; exit 3; }
done

mkdir -p "$dir/state" "$dir/spool" "$dir/munge"
chmod 700 "$dir/munge"
# slurmstepd makes a socket per job step in the spool: NODE_JOBID.STEP, at most 108 bytes in all.
spool="$(cd "$dir/spool" && pwd)"
if [ $(( ${#spool} + 30 )) -gt 108 ]; then
    echo "slurm-up.sh: $spool is too long for slurmd's job sockets (Unix socket paths hold 108 bytes); use a shorter folder" >&2
    exit 2
fi
# A munge key of this cluster's own; munged insists on root-only key and socket folders.
[ -f "$dir/munge/munge.key" ] || dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$dir/munge/munge.key"
munged --force --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.socket" \
       --pid-file="$dir/munged.pid" --log-file="$dir/munged.log" --seed-file="$dir/munge/munge.seed"

cpus=$(nproc)
memory=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 * 8 / 10 ))
cat > "$dir/slurm.conf" <<EOF
ClusterName=aekit
SlurmctldHost=$(hostname -s)(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
CommunicationParameters=NoCtldInAddrAny,NoInAddrAny
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.socket
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
SlurmdParameters=config_overrides
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
NodeName=$node NodeAddr=127.0.0.1 NodeHostname=$(hostname -s) CPUs=$cpus RealMemory=$memory State=UNKNOWN
PartitionName=aekit Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF=$dir/slurm.conf
slurmctld -c -f "$SLURM_CONF"
slurmd -N "$node" -f "$SLURM_CONF"
for _ in $(seq 60); do
    if sinfo --noheader --nodes="$node" --format=%t 2>/dev/null | grep -Eq '^(idle|mix|alloc)'; then
        echo "SLURM_CONF=$SLURM_CONF"
        exit 0
    fi
    sleep 1
done
echo "slurm-up.sh: the node did not come up; logs in $dir" >&2
tail -n 20 "$dir/slurmctld.log" "$dir/slurmd.log" >&2 || true
exit 1
