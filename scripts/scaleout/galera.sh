#!/usr/bin/env bash
# galera.sh — a throwaway three-node MariaDB Galera cluster on loopback for Crucible's tests.
#
#   scripts/scaleout/galera.sh start DIR        bootstrap node 1, join nodes 2 and 3
#                                               (state transfer by rsync), create the
#                                               test database and user; append the
#                                               settings to DIR/env
#   scripts/scaleout/galera.sh stop DIR         stop every node (safe after a partial
#                                               start, and safe to repeat)
#   scripts/scaleout/galera.sh kill-node N DIR  SIGKILL node N (1-3): a crash, no clean leave
#   scripts/scaleout/galera.sh start-node N DIR start node N again on its ports and data;
#                                               it rejoins (IST from the others' gcache)
#                                               and the command returns once it is Synced
#   scripts/scaleout/galera.sh isolate-node N DIR  cut node N off the group (as a network
#                                               partition would); returns once it is
#                                               non-Primary and refuses queries (1047)
#   scripts/scaleout/galera.sh rejoin-node N DIR   undo isolate-node; returns once Synced
#   scripts/scaleout/galera.sh status DIR       each node's wsrep state, one line a node
#
# DIR is an existing directory made by the caller (mktemp -d); it may be the
# one scripts/test-servers.sh uses: the cluster lives under DIR/galera.  Every
# port (client, group communication, IST, SST) is picked free on 127.0.0.1.
# DIR/env gets:
#
#   CRUCIBLE_GALERA_URL1..3   mysql://crucible:<pw>@127.0.0.1:<port>/crucible_test, a node each
#   CRUCIBLE_GALERA_URL       the three nodes as one multi-host URL
#                             (mysql://crucible:<pw>@127.0.0.1:<p1>,127.0.0.1:<p2>,127.0.0.1:<p3>/crucible_test)
#   CRUCIBLE_GALERA_DIR       DIR, for tests that kill and restart nodes
#   CRUCIBLE_GALERA_PORT1..3, CRUCIBLE_GALERA_SOCKET1..3
#
# When run as root the nodes run as the unprivileged user of
# scripts/test-servers.sh (crucible-test).  Needs mariadb-server, galera-4 and
# rsync (the state transfer method).  CRUCIBLE_GALERA_PROVIDER overrides the
# provider library (default /usr/lib/galera/libgalera_smm.so).
set -euo pipefail

GALERA_SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=../test-servers.sh
source "$GALERA_SCRIPT_DIR/../test-servers.sh"
PROG=galera.sh

NODES=3
PROVIDER=${CRUCIBLE_GALERA_PROVIDER:-/usr/lib/galera/libgalera_smm.so}
CLUSTER_NAME=crucible_galera

usage() {
    cat >&2 <<EOF
usage: $PROG start DIR | stop DIR | status DIR
       $PROG kill-node N DIR | start-node N DIR | isolate-node N DIR | rejoin-node N DIR
EOF
    exit 2
}

node_dir() { printf '%s/galera/node%s' "$1" "$2"; }

# The node's four ports, saved at start: client gmcast ist sst.
read_ports() {
    local file
    file=$(node_dir "$1" "$2")/ports
    [[ -s $file ]] || die "no node $2 under $1/galera (was the cluster started there?)"
    read -r CLIENT_PORT GMCAST_PORT IST_PORT SST_PORT <"$file"
}

# The absolute path of the directory $2 that command $1 was given.
command_dir() {
    [[ -d $2 ]] || die "$1: directory '$2' does not exist"
    abs_dir "$2" || die "$1: cannot access $2"
}

check_node_number() {
    [[ ${1:-} =~ ^[1-3]$ ]] || die "node number must be 1, 2 or 3, not '${1:-}'"
}

find_tools() {
    MARIADBD=$(find_cmd mariadbd mysqld /usr/libexec/mariadbd) ||
        die "mariadbd not found (install mariadb-server)"
    CLIENT=$(find_cmd mariadb mysql) || die "mariadb client not found (install mariadb-client)"
    ADMIN=$(find_cmd mariadb-admin mysqladmin) ||
        die "mariadb-admin not found (install mariadb-client)"
    [[ -r $PROVIDER ]] || die "Galera provider $PROVIDER not found (install galera-4)"
    command -v rsync >/dev/null 2>&1 ||
        die "rsync not found: the nodes join by rsync state transfer (install rsync)"
}

# Run SQL ($3) on node $2 of DIR $1 as root over its socket.
node_sql() {
    "$CLIENT" --no-defaults --socket="$(node_dir "$1" "$2")/mysqld.sock" -uroot \
        --connect-timeout=2 -N -B -e "$3"
}

# True when node $2 answers and is a Synced member of the primary component.
node_synced() {
    local out
    out=$(node_sql "$1" "$2" "SHOW GLOBAL STATUS WHERE Variable_name IN
            ('wsrep_ready', 'wsrep_local_state_comment', 'wsrep_cluster_status')" 2>/dev/null) ||
        return 1
    [[ $out == *$'wsrep_ready\tON'* && $out == *$'wsrep_local_state_comment\tSynced'* &&
       $out == *$'wsrep_cluster_status\tPrimary'* ]]
}

# Launch node $2 of DIR $1 with further mariadbd arguments $3...
# (--wsrep-new-cluster to bootstrap).
launch_node() {
    local dir=$1 n=$2 nd i addr=""
    shift 2
    nd=$(node_dir "$dir" "$n")
    for ((i = 1; i <= NODES; i++)); do
        read_ports "$dir" "$i"
        addr+=${addr:+,}127.0.0.1:$GMCAST_PORT
    done
    read_ports "$dir" "$n"
    local args=(
        --wsrep-on=ON --wsrep-provider="$PROVIDER"
        --wsrep-cluster-name="$CLUSTER_NAME" --wsrep-cluster-address="gcomm://$addr"
        --wsrep-node-name="node$n" --wsrep-node-address=127.0.0.1
        --wsrep-node-incoming-address="127.0.0.1:$CLIENT_PORT"
        --wsrep-sst-method=rsync --wsrep-sst-receive-address="127.0.0.1:$SST_PORT"
        # Loopback on a busy test machine: a crashed node is suspected after
        # 3 s instead of the default 5 (and dropped after 6 instead of 15),
        # so that the survivors resume writes soon after a kill-node.
        "--wsrep-provider-options=gmcast.listen_addr=tcp://127.0.0.1:$GMCAST_PORT;ist.recv_addr=127.0.0.1:$IST_PORT;gcache.size=64M;evs.keepalive_period=PT0.5S;evs.inactive_check_period=PT0.5S;evs.suspect_timeout=PT3S;evs.inactive_timeout=PT6S;evs.install_timeout=PT6S"
        --binlog-format=ROW --innodb-autoinc-lock-mode=2 --default-storage-engine=InnoDB
        --innodb-buffer-pool-size=64M --wsrep-slave-threads=2
    )
    MY_SOCKET=$nd/mysqld.sock
    launch_mariadbd "$MARIADBD" "$nd" "$CLIENT_PORT" "${args[@]}" "$@"
}

# Wait until node $2 of DIR $1 (pid $3) is Synced; dies with its log if not.
wait_node() {
    local dir=$1 n=$2 pid=$3 nd i
    nd=$(node_dir "$dir" "$n")
    for ((i = 0; i < WAIT_SECS * 10; i++)); do
        if ! proc_alive "$pid"; then
            show_log "$nd/mariadbd.out"
            show_log "$nd/error.log"
            die "Galera node $n exited during startup"
        fi
        node_synced "$dir" "$n" && return 0
        sleep 0.1
    done
    show_log "$nd/error.log"
    die "Galera node $n was not Synced within ${WAIT_SECS}s"
}

node_pid() { mariadbd_pid "$(node_dir "$1" "$2")"; }

cmd_galera_start() {
    local dir t0=$SECONDS n nd taken=() p installdb pid2 pid3
    [[ -d ${1:-} ]] || die "start: directory '${1:-}' does not exist (create it first, e.g. with mktemp -d)"
    dir=$(abs_dir "$1") || die "start: cannot access $1"
    [[ ! -e $dir/galera ]] || die "start: $dir already holds a Galera cluster; use a fresh directory"
    find_tools
    installdb=$(find_cmd mariadb-install-db mysql_install_db) ||
        die "mariadb-install-db not found (install mariadb-server)"
    cd "$dir"
    setup_user
    if ((EUID == 0)) && ! "${AS_USER[@]}" test -x "$dir"; then
        chmod o+x "$dir"
        "${AS_USER[@]}" test -x "$dir" ||
            die "start: user $TEST_OS_USER cannot reach $dir (a parent directory is not searchable); use a directory under /tmp"
    fi
    # On a failure below, on_start_exit stops whatever did start.
    START_DIR=$dir
    STOP_CMD=cmd_galera_stop
    CURRENT="the Galera cluster"
    trap on_start_exit EXIT

    for ((n = 1; n <= NODES; n++)); do
        nd=$(node_dir "$dir" "$n")
        mkdir -p "$nd/data" "$nd/tmp"
        ((${#nd} + 12 <= 107)) || die "socket path too long under $nd; use a shorter DIR"
        : >"$nd/error.log"
        : >"$nd/mariadbd.out"
        local ports=()
        for p in client gmcast ist sst; do
            ports+=("$(pick_port 3306 4567 4568 4444 "${taken[@]}")")
            taken+=("${ports[-1]}")
        done
        printf '%s %s %s %s\n' "${ports[@]}" >"$nd/ports"
    done
    if ((EUID == 0)); then chown -R "$TEST_OS_USER:" "$dir/galera"; fi
    chmod 700 "$dir/galera"

    log "node 1: mariadb-install-db"
    nd=$(node_dir "$dir" 1)
    if ! "${AS_USER[@]}" "$installdb" --no-defaults --datadir="$nd/data" \
            --auth-root-authentication-method=normal --skip-test-db \
            --skip-name-resolve >"$nd/install.log" 2>&1; then
        show_log "$nd/install.log"
        die "mariadb-install-db failed for node 1"
    fi

    log "node 1: bootstrapping the cluster"
    launch_node "$dir" 1 --wsrep-new-cluster
    wait_node "$dir" 1 "$LAUNCH_PID"

    # The test user and database, replicated to the joiners by their state
    # transfer.  Root keeps only its socket login.
    local pw
    pw=$(my_literal "$DB_PASSWORD")
    if ! node_sql "$dir" 1 "
DROP USER IF EXISTS 'root'@'127.0.0.1', 'root'@'::1';
CREATE DATABASE $DB_NAME CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER '$DB_USER'@'%' IDENTIFIED BY $pw;
CREATE USER '$DB_USER'@'localhost' IDENTIFIED BY $pw;
GRANT ALL PRIVILEGES ON \`$DB_NAME\`.* TO '$DB_USER'@'%';
GRANT ALL PRIVILEGES ON \`$DB_NAME\`.* TO '$DB_USER'@'localhost';
FLUSH PRIVILEGES;" >"$nd/setup.log" 2>&1; then
        show_log "$nd/setup.log"
        die "creating the test user and database on node 1 failed"
    fi

    # Both joiners at once: the second waits for a donor while the first
    # takes its state transfer, then takes it from node 1 or node 2.
    log "nodes 2 and 3: joining (rsync state transfer)"
    launch_node "$dir" 2
    pid2=$LAUNCH_PID
    launch_node "$dir" 3
    pid3=$LAUNCH_PID
    wait_node "$dir" 2 "$pid2"
    wait_node "$dir" 3 "$pid3"

    local size
    size=$(node_sql "$dir" 1 "SHOW GLOBAL STATUS LIKE 'wsrep_cluster_size'" | cut -f2)
    [[ $size == "$NODES" ]] || die "the cluster has $size nodes, not $NODES"

    local url urls=() hosts="" enc
    enc=$(urlencode "$DB_PASSWORD")
    for ((n = 1; n <= NODES; n++)); do
        read_ports "$dir" "$n"
        urls+=("mysql://$DB_USER:$enc@127.0.0.1:$CLIENT_PORT/$DB_NAME")
        hosts+=${hosts:+,}127.0.0.1:$CLIENT_PORT
    done
    url="mysql://$DB_USER:$enc@$hosts/$DB_NAME"
    # Proof that the test user logs in over TCP on every node.
    for ((n = 1; n <= NODES; n++)); do
        read_ports "$dir" "$n"
        if ! MYSQL_PWD=$DB_PASSWORD "$CLIENT" --no-defaults --protocol=TCP -h 127.0.0.1 \
                -P "$CLIENT_PORT" -u "$DB_USER" -D "$DB_NAME" -e 'SELECT 1' \
                >"$(node_dir "$dir" "$n")/check.log" 2>&1; then
            show_log "$(node_dir "$dir" "$n")/check.log"
            die "cannot log in as $DB_USER over TCP on node $n"
        fi
    done
    {
        for ((n = 1; n <= NODES; n++)); do
            read_ports "$dir" "$n"
            printf '%s=%q\n' "CRUCIBLE_GALERA_URL$n" "${urls[n - 1]}" \
                "CRUCIBLE_GALERA_PORT$n" "$CLIENT_PORT" \
                "CRUCIBLE_GALERA_SOCKET$n" "$(node_dir "$dir" "$n")/mysqld.sock"
        done
        printf '%s=%q\n' CRUCIBLE_GALERA_URL "$url" CRUCIBLE_GALERA_DIR "$dir"
    } >>"$dir/env"
    START_DIR=""
    trap - EXIT
    log "Galera: 3 nodes Synced on 127.0.0.1:$(
        for ((n = 1; n <= NODES; n++)); do read_ports "$dir" "$n"; printf '%s ' "$CLIENT_PORT"; done
    )(started in $((SECONDS - t0))s; settings in $dir/env)"
}

# Stop node $2 of DIR $1 with SIGTERM (a clean leave), SIGKILL if it hangs.
stop_node() { stop_mariadbd "$(node_dir "$1" "$2")" "node $2"; }

cmd_galera_stop() {
    local dir rc=0 n pids=()
    if [[ ! -d ${1:-} ]]; then
        log "stop: directory '${1:-}' does not exist; nothing to stop"
        return 0
    fi
    dir=$(abs_dir "$1") || die "stop: cannot access $1"
    [[ -d $dir/galera ]] || return 0
    cd "$dir"
    # All at once: a node that finds itself alone only has to shut down.
    for ((n = 1; n <= NODES; n++)); do
        stop_node "$dir" "$n" &
        pids+=($!)
    done
    for n in "${!pids[@]}"; do
        wait "${pids[n]}" || { log "error: node $((n + 1)) is still running"; rc=1; }
    done
    # Leftovers (a start interrupted half-way, a state transfer's rsync).
    sweep_under 'mariadbd|mysqld|mariadb-install|mysql_install|rsync|wsrep_sst|socat' \
        "$dir/galera" || { log "error: could not kill leftover processes"; rc=1; }
    return "$rc"
}

cmd_kill_node() {
    local n=$1 dir pid
    check_node_number "$n"
    dir=$(command_dir kill-node "${2:-}")
    read_ports "$dir" "$n"
    pid=$(node_pid "$dir" "$n") || die "kill-node: node $n is not running"
    log "node $n: SIGKILL (pid $pid)"
    kill -KILL "$pid"
    wait_gone "$pid" 10 'mariadbd|mysqld' || die "kill-node: node $n (pid $pid) did not die"
}

# True once every running node but $2 reports a cluster of the running
# nodes only (node $2 not among them).
wait_evicted() {
    local dir=$1 n=$2 i m up size ok
    for ((i = 0; i < WAIT_SECS * 10; i++)); do
        up=() ok=1
        for ((m = 1; m <= NODES; m++)); do
            ((m != n)) && node_pid "$dir" "$m" >/dev/null && up+=("$m")
        done
        for m in "${up[@]}"; do
            size=$(node_sql "$dir" "$m" "SHOW GLOBAL STATUS LIKE 'wsrep_cluster_size'" \
                       2>/dev/null | cut -f2) || size=""
            [[ $size == "${#up[@]}" ]] || ok=0
        done
        ((ok)) && return 0
        sleep 0.1
    done
    return 1
}

cmd_start_node() {
    local n=$1 dir nd owner t0=$SECONDS
    check_node_number "$n"
    dir=$(command_dir start-node "${2:-}")
    read_ports "$dir" "$n"
    find_tools
    cd "$dir"
    if node_pid "$dir" "$n" >/dev/null; then
        die "start-node: node $n is already running"
    fi
    nd=$(node_dir "$dir" "$n")
    owner=$(stat -c %U "$nd/data") || die "start-node: cannot stat $nd/data"
    as_user_prefix "$owner"
    # A node killed a moment ago is still a member for the others until they
    # suspect it (evs.suspect_timeout): joining again before that makes the
    # group agree on a view twice over, some 15 s lost.  Wait for the others
    # to count only themselves.
    wait_evicted "$dir" "$n" ||
        die "start-node: the other nodes still count node $n as a member after ${WAIT_SECS}s"
    local seen how=IST position=()
    seen=$(wc -l <"$nd/error.log")
    # A node that crashed left seqno -1 in grastate.dat: without its
    # position it would need a full state transfer.  InnoDB knows the last
    # write set it committed; --wsrep-recover reads it (what Debian's
    # galera_recovery does for systemd).
    if grep -q '^seqno: *-1' "$nd/data/grastate.dat" 2>/dev/null; then
        rm -f "$nd/recover.log"   # written by the node's user
        launch_node "$dir" "$n" --wsrep-recover --log-error="$nd/recover.log"
        wait_gone "$LAUNCH_PID" "$WAIT_SECS" || die "start-node: node $n's recovery did not finish"
        local pos
        pos=$(sed -n 's/.*WSREP: Recovered position: *\([0-9a-f-]*:-\{0,1\}[0-9]*\).*/\1/p' \
                  "$nd/recover.log" | tail -n 1)
        if [[ -n $pos ]]; then
            position=(--wsrep-start-position="$pos")
            log "node $n: recovered position $pos"
        else
            show_log "$nd/recover.log"
            log "node $n: no position recovered: it will take a full state transfer"
        fi
    fi
    log "node $n: starting again on 127.0.0.1:$CLIENT_PORT"
    launch_node "$dir" "$n" "${position[@]}"
    wait_node "$dir" "$n" "$LAUNCH_PID"
    # The SST script runs for an IST too (and says "rsync IST completed").
    tail -n +"$((seen + 1))" "$nd/error.log" | grep -q 'rsync SST completed on joiner' && how=SST
    log "node $n: Synced again in $((SECONDS - t0))s (by $how)"
}

# Cut node $1 off the group (gmcast.isolate: it drops its links to the
# others, as in a network partition) and wait until it knows itself
# non-Primary: it then refuses statements on tables with error 1047.
cmd_isolate_node() {
    local n=$1 dir i out
    check_node_number "$n"
    dir=$(command_dir isolate-node "${2:-}")
    find_tools
    node_pid "$dir" "$n" >/dev/null || die "isolate-node: node $n is not running"
    log "node $n: isolating it from the group"
    node_sql "$dir" "$n" "SET GLOBAL wsrep_provider_options = 'gmcast.isolate=1'" ||
        die "isolate-node: could not isolate node $n"
    for ((i = 0; i < WAIT_SECS * 10; i++)); do
        out=$(node_sql "$dir" "$n" "SHOW GLOBAL STATUS LIKE 'wsrep_cluster_status'" 2>/dev/null) || out=""
        [[ $out == *non-Primary* ]] && return 0
        sleep 0.1
    done
    die "isolate-node: node $n still counts itself in the primary component after ${WAIT_SECS}s"
}

# Undo isolate-node: node $1 reconnects and catches up (IST); returns once
# it is Synced and the others count it again.
cmd_rejoin_node() {
    local n=$1 dir pid
    check_node_number "$n"
    dir=$(command_dir rejoin-node "${2:-}")
    find_tools
    pid=$(node_pid "$dir" "$n") || die "rejoin-node: node $n is not running"
    log "node $n: rejoining the group"
    node_sql "$dir" "$n" "SET GLOBAL wsrep_provider_options = 'gmcast.isolate=0'" ||
        die "rejoin-node: could not lift node $n's isolation"
    wait_node "$dir" "$n" "$pid"
}

cmd_status() {
    local dir n
    dir=$(command_dir status "${1:-}")
    find_tools
    for ((n = 1; n <= NODES; n++)); do
        printf 'node %s: %s\n' "$n" "$(node_sql "$dir" "$n" "SHOW GLOBAL STATUS WHERE Variable_name IN
            ('wsrep_local_state_comment', 'wsrep_cluster_status', 'wsrep_cluster_size', 'wsrep_ready')" 2>/dev/null |
            tr '\t\n' '= ' || echo down)"
    done
}

case ${1:-} in
    start) [[ $# -eq 2 ]] || usage; cmd_galera_start "$2" ;;
    stop) [[ $# -eq 2 ]] || usage; cmd_galera_stop "$2" ;;
    kill-node) [[ $# -eq 3 ]] || usage; cmd_kill_node "$2" "$3" ;;
    start-node) [[ $# -eq 3 ]] || usage; cmd_start_node "$2" "$3" ;;
    isolate-node) [[ $# -eq 3 ]] || usage; cmd_isolate_node "$2" "$3" ;;
    rejoin-node) [[ $# -eq 3 ]] || usage; cmd_rejoin_node "$2" "$3" ;;
    status) [[ $# -eq 2 ]] || usage; cmd_status "$2" ;;
    *) usage ;;
esac
