#!/usr/bin/env bash
# A one-node Slurm cluster on loopback for bmeq's tests (Debian 12, as root).
#
#   bash scripts/ci/slurm-cluster.sh install|up|down|status DIR
#   or: source it, then bmeq_slurm_install; bmeq_slurm_up DIR; ...; bmeq_slurm_down DIR
#
# Everything the cluster has (slurm.conf, munge key and socket, state, spool, logs and the
# daemons' pid files) lives under DIR, so it never touches a system Slurm or munge: own
# ports (BMEQ_SLURM_PORT and the next one; by default the first pair from 16817 on that
# nothing listens on, so a system Slurm or a second test cluster does not collide), own
# munge socket. The daemons
# run in the foreground (-D / -F) as children started here, so their pids are known, and
# they are stopped by pid (checked against the daemon's name, so a reused pid is never
# signalled). Clients need SLURM_CONF=DIR/etc/slurm.conf (bmeq_slurm_up exports it).
# Keep DIR short (/tmp/...): munge's socket path must fit in 108 bytes.
# Returns non-zero (and says why on stderr) when Slurm cannot be installed or started;
# callers that may skip (tests) decide what that means.

BMEQ_SLURM_PORT=${BMEQ_SLURM_PORT:-}    # empty: the first free pair from 16817 on
BMEQ_SLURM_WAIT=${BMEQ_SLURM_WAIT:-60}   # seconds for the node to become idle

_bs_log() { echo "slurm-cluster: $*" >&2; }

# Installs slurm-wlm and munge from Debian when their programs are missing. The packages'
# maintainer scripts would start the system daemons; a policy-rc.d that denies service
# starts (if the machine has none) keeps them from doing so while installing.
bmeq_slurm_install() {
    local p missing=0 own_policy=0 rc=0
    for p in slurmctld slurmd sbatch squeue scontrol sinfo munged munge; do
        command -v "$p" >/dev/null 2>&1 || missing=1
    done
    ((missing)) || return 0
    if [[ $(id -u) != 0 ]]; then
        _bs_log "slurm-wlm/munge are not installed and installing needs root"; return 1
    fi
    command -v apt-get >/dev/null 2>&1 || { _bs_log "no apt-get: cannot install slurm-wlm"; return 1; }
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        printf '#!/bin/sh\n# bmeq slurm-cluster.sh: no service starts while installing\nexit 101\n' \
            >/usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        own_policy=1
    fi
    _bs_log "installing slurm-wlm and munge (apt-get)"
    { DEBIAN_FRONTEND=noninteractive apt-get update -q &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends slurm-wlm munge
    } >"${TMPDIR:-/tmp}/bmeq-slurm-apt.log" 2>&1 || rc=$?
    ((own_policy)) && rm -f /usr/sbin/policy-rc.d
    if ((rc)); then
        _bs_log "apt-get failed ($rc):"; tail -n 5 "${TMPDIR:-/tmp}/bmeq-slurm-apt.log" >&2
    fi
    return $rc
}

# True while pid runs and is not a zombie.
_bs_alive() {
    local st
    st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
    [[ -n $st && $st != Z* ]]
}

# True when something accepts TCP connections on 127.0.0.1:$1.
_bs_listening() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Stops the daemon named $1 whose pid is in file $2: TERM, up to 15 s, then KILL.
_bs_stop() {
    local name=$1 pidfile=$2 pid i
    [[ -s $pidfile ]] || return 0
    pid=$(<"$pidfile")
    if _bs_alive "$pid" && [[ $(cat "/proc/$pid/comm" 2>/dev/null) == "$name"* ]]; then
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < 150; i++)); do
            _bs_alive "$pid" || break
            sleep 0.1
        done
        if _bs_alive "$pid"; then
            _bs_log "$name ($pid) ignored TERM; KILL"
            kill -KILL "$pid" 2>/dev/null || true
        fi
        wait "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
}

# Cancels what is still queued and stops the daemons. Safe to call twice or on a DIR
# that never came up.
bmeq_slurm_down() {
    local d=${1:?usage: bmeq_slurm_down DIR}
    if [[ -s $d/pids/slurmctld.pid ]] && _bs_alive "$(<"$d/pids/slurmctld.pid")"; then
        SLURM_CONF=$d/etc/slurm.conf timeout 10 scancel --quiet --user="$(id -un)" 2>/dev/null || true
    fi
    _bs_stop slurmd "$d/pids/slurmd.pid"
    _bs_stop slurmctld "$d/pids/slurmctld.pid"
    _bs_stop munged "$d/pids/munged.pid"
    return 0
}

_bs_tail_logs() {
    local d=$1 f
    for f in "$d"/log/*; do
        [[ -s $f ]] || continue
        echo "--- $f" >&2; tail -n 20 "$f" >&2
    done
}

# Starts munged, slurmctld and slurmd for a node "localhost" on 127.0.0.1 with all of
# this machine's CPUs and 80% of its memory, and waits until the node is idle.
bmeq_slurm_up() {
    local d=${1:?usage: bmeq_slurm_up DIR} cpus mem i st name
    [[ $(id -u) == 0 ]] || { _bs_log "the test cluster runs as root"; return 1; }
    id munge >/dev/null 2>&1 || { _bs_log "no munge user (munge not installed?)"; return 1; }
    bmeq_slurm_down "$d"
    rm -rf "$d/state" "$d/spool" "$d/munge" "$d/log"
    mkdir -p "$d/etc" "$d/state" "$d/spool" "$d/log" "$d/pids"
    chmod 755 "$d"
    install -d -o munge -g munge -m 0755 "$d/munge"

    # munge: a fresh key readable by munge only, and its own socket.
    head -c 1024 /dev/urandom >"$d/munge/munge.key"
    chown munge:munge "$d/munge/munge.key"
    chmod 0400 "$d/munge/munge.key"
    # setpriv execs munged in place, so $! is munged's own pid.
    setpriv --reuid=munge --regid=munge --clear-groups \
        /usr/sbin/munged -F --key-file="$d/munge/munge.key" --socket="$d/munge/munge.sock" \
        --pid-file="$d/munge/munged.pid" --seed-file="$d/munge/munged.seed" \
        --log-file="$d/munge/munged.log" </dev/null >>"$d/log/munged.out" 2>&1 &
    echo $! >"$d/pids/munged.pid"
    for ((i = 0; i < 100; i++)); do
        [[ -S $d/munge/munge.sock ]] && break
        _bs_alive "$(<"$d/pids/munged.pid")" || break
        sleep 0.1
    done
    if ! munge -S "$d/munge/munge.sock" -n </dev/null | unmunge -S "$d/munge/munge.sock" >/dev/null 2>&1; then
        _bs_log "munged did not come up"; _bs_tail_logs "$d"; cat "$d/munge/munged.log" >&2 2>/dev/null
        bmeq_slurm_down "$d"; return 1
    fi

    local port=${BMEQ_SLURM_PORT:-16817}
    if [[ -z $BMEQ_SLURM_PORT ]]; then
        while _bs_listening "$port" || _bs_listening $((port + 1)); do
            port=$((port + 2))
            ((port < 16917)) || { _bs_log "no free port pair in 16817..16916"; bmeq_slurm_down "$d"; return 1; }
        done
    fi
    cpus=$(nproc)
    mem=$(awk '/^MemTotal:/ { print int($2 / 1024 * 0.8) }' /proc/meminfo)
    # No cgroups, accounting or mail: proctrack/linuxproc and task/none work in containers.
    cat >"$d/etc/slurm.conf" <<CONF
ClusterName=bmeqci
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
CommunicationParameters=NoInAddrAny,NoCtldInAddrAny
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$d/munge/munge.sock
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MailProg=/bin/true
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=$((mem / cpus))
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0,sched_min_interval=100000
MinJobAge=600
ReturnToService=2
StateSaveLocation=$d/state
SlurmdSpoolDir=$d/spool
SlurmctldPidFile=$d/state/slurmctld.pid
SlurmdPidFile=$d/spool/slurmd.pid
SlurmctldLogFile=$d/log/slurmctld.log
SlurmdLogFile=$d/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
NodeName=localhost NodeAddr=127.0.0.1 NodeHostname=localhost CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
    export SLURM_CONF=$d/etc/slurm.conf

    # -D: foreground, so $! is the daemon; -i: ignore state of an earlier run;
    # -N localhost: the node name whatever this machine's hostname is.
    slurmctld -D -i -f "$SLURM_CONF" </dev/null >>"$d/log/slurmctld.out" 2>&1 &
    echo $! >"$d/pids/slurmctld.pid"
    slurmd -D -N localhost -f "$SLURM_CONF" </dev/null >>"$d/log/slurmd.out" 2>&1 &
    echo $! >"$d/pids/slurmd.pid"

    st=
    for ((i = 0; i < BMEQ_SLURM_WAIT * 2; i++)); do
        st=$(timeout 5 sinfo -h -n localhost -o %T 2>/dev/null) || st=
        [[ $st == idle ]] && break
        for name in munged slurmctld slurmd; do
            if ! _bs_alive "$(<"$d/pids/$name.pid")"; then
                _bs_log "$name died while starting"; _bs_tail_logs "$d"
                bmeq_slurm_down "$d"; return 1
            fi
        done
        sleep 0.5
    done
    if [[ $st != idle ]]; then
        _bs_log "node not idle after ${BMEQ_SLURM_WAIT} s (state '$st')"; _bs_tail_logs "$d"
        bmeq_slurm_down "$d"; return 1
    fi
    _bs_log "up: munged $(<"$d/pids/munged.pid"), slurmctld $(<"$d/pids/slurmctld.pid"), slurmd $(<"$d/pids/slurmd.pid"); SLURM_CONF=$SLURM_CONF"
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
    set -euo pipefail
    case ${1:-} in
        install) bmeq_slurm_install ;;
        up) bmeq_slurm_install && bmeq_slurm_up "${2:?DIR}" ;;
        down) bmeq_slurm_down "${2:?DIR}" ;;
        status) export SLURM_CONF=${2:?DIR}/etc/slurm.conf; sinfo; squeue ;;
        *) echo "usage: $0 install|up|down|status DIR" >&2; exit 2 ;;
    esac
fi
