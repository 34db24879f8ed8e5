#!/usr/bin/env bash
# A PostgreSQL primary and a synchronous streaming standby on 127.0.0.1, for failover tests.
#
#   scripts/scaleout/pg-failover.sh start DIR         initdb a primary, clone a standby from
#                                                     it (pg_basebackup), start both, wait
#                                                     until the standby is the synchronous one;
#                                                     append CRUCIBLE_PG_FAILOVER_* to DIR/env
#   scripts/scaleout/pg-failover.sh stop DIR          stop both (safe after a partial start,
#                                                     safe to repeat)
#   scripts/scaleout/pg-failover.sh kill-primary DIR  the primary dies: pg_ctl stop -m immediate
#                                                     (no shutdown checkpoint, clients cut off)
#   scripts/scaleout/pg-failover.sh promote DIR       pg_ctl promote the standby; it becomes the
#                                                     primary and commits without waiting for a
#                                                     standby (it has none)
#   scripts/scaleout/pg-failover.sh rejoin DIR        the dead old primary comes back as a
#                                                     synchronous standby of the new one (a fresh
#                                                     pg_basebackup): the pair is a pair again
#   scripts/scaleout/pg-failover.sh status DIR        which node is the primary, which is up
#
# The primary runs with synchronous_standby_names = '*' and synchronous_commit = on:
# a COMMIT returns only once the standby has the commit record, so a commit
# reported successful survives the primary's death and the standby's promotion.
#
# DIR/env gets (appended, one assignment a line):
#   CRUCIBLE_PG_FAILOVER_URL=postgresql://crucible:<pw>@127.0.0.1:<p1>,127.0.0.1:<p2>/crucible_test?target_session_attrs=read-write
#   CRUCIBLE_PG_FAILOVER_PORTS="<p1> <p2>"     node 1 (the first primary), node 2
#   CRUCIBLE_PG_FAILOVER_DIR=DIR               for the other subcommands
#
# Uses the helpers of scripts/test-servers.sh (sourced): ports, the unprivileged
# user when run as root, pg binaries, waiting.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=../test-servers.sh
source "$HERE/../test-servers.sh"
PROG=pg-failover.sh

usage() {
    cat >&2 <<EOF
usage: $PROG start|stop|kill-primary|promote|rejoin|status DIR
EOF
    exit 2
}

# Node N's directory, data, socket directory and port.
node_dir() { printf '%s/pgfo/node%s' "$1" "$2"; }
node_port() { cat "$(node_dir "$1" "$2")/port"; }
node_pid() { head -n 1 "$(node_dir "$1" "$2")/data/postmaster.pid" 2>/dev/null || true; }
node_up() { proc_alive "$(node_pid "$1" "$2")" postgres; }
primary_node() { cat "$1/pgfo/primary" 2>/dev/null || echo 1; }
other_node() { if [[ $1 == 1 ]]; then echo 2; else echo 1; fi; }

# psql as the superuser over node N's socket (trusted: the directory is private).
node_psql() {
    local dir=$1 n=$2 bindir
    shift 2
    bindir=$(cat "$dir/pgfo/bindir")
    "$bindir/psql" -X -q -At -v ON_ERROR_STOP=1 -h "$(node_dir "$dir" "$n")/run" \
        -p "$(node_port "$dir" "$n")" -U postgres -d postgres "$@"
}

# The settings both nodes share, and node N's own; sync: whether commits
# wait for a synchronous standby ('*': whichever is streaming).
write_conf() {
    local dir=$1 n=$2 sync=$3 nd
    nd=$(node_dir "$dir" "$n")
    cat >"$nd/data/crucible.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $(node_port "$dir" "$n")
unix_socket_directories = $(pg_literal "$nd/run")
password_encryption = 'scram-sha-256'
wal_level = replica
max_wal_senders = 4
max_replication_slots = 4
hot_standby = on
wal_receiver_status_interval = 1s
synchronous_commit = on
synchronous_standby_names = $(pg_literal "$sync")
fsync = off
full_page_writes = off
shared_buffers = 16MB
max_connections = 60
log_line_prefix = '%m [%p] %q%u@%d '
EOF
    if ((EUID == 0)); then chown "$TEST_OS_USER:" "$nd/data/crucible.conf"; fi
}

# pg_ctl -D <node N's data> ARGS..., as the user who owns the data.
node_ctl() {
    local dir=$1 n=$2 nd
    shift 2
    nd=$(node_dir "$dir" "$n")
    as_user_prefix "$(stat -c %U "$nd/data")"
    "${AS_USER[@]}" "$(cat "$dir/pgfo/bindir")/pg_ctl" -D "$nd/data" "$@"
}

# Start node N with pg_ctl; on failure show its log and die.
start_node() {
    local dir=$1 n=$2 nd
    nd=$(node_dir "$dir" "$n")
    log "node $n: starting on 127.0.0.1:$(node_port "$dir" "$n")"
    if ! node_ctl "$dir" "$n" -l "$nd/postgres.log" -w -t "$WAIT_SECS" -s start \
            >>"$nd/pg_ctl.log" 2>&1; then
        show_log "$nd/pg_ctl.log"
        show_log "$nd/postgres.log"
        die "node $n: server failed to start"
    fi
}

# Make node N a standby of node P: a fresh base backup over P's socket, then
# streaming from P as the superuser (trusted on the socket).
clone_standby() {
    local dir=$1 n=$2 p=$3 nd pd bindir
    nd=$(node_dir "$dir" "$n")
    pd=$(node_dir "$dir" "$p")
    bindir=$(cat "$dir/pgfo/bindir")
    rm -rf "$nd/data"
    log "node $n: pg_basebackup from node $p"
    if ! "${AS_USER[@]}" "$bindir/pg_basebackup" -D "$nd/data" -h "$pd/run" \
            -p "$(node_port "$dir" "$p")" -U postgres -X stream -c fast --no-sync \
            >"$nd/basebackup.log" 2>&1; then
        show_log "$nd/basebackup.log"
        die "node $n: pg_basebackup failed"
    fi
    # A standby commits nothing itself; once promoted it waits for no one.
    write_conf "$dir" "$n" ''
    cat >>"$nd/data/crucible.conf" <<EOF
primary_conninfo = $(pg_literal "host=$pd/run port=$(node_port "$dir" "$p") user=postgres application_name=node$n")
EOF
    "${AS_USER[@]}" touch "$nd/data/standby.signal"
    rm -f "$nd/data/postmaster.pid" "$nd/data/postmaster.opts"
}

# Whether node N's commits wait for a synchronous standby: '*' (any one) or ''.
# (ALTER SYSTEM, after the standby was cloned: its copy does not wait.)
set_sync() {
    node_psql "$1" "$2" -c "ALTER SYSTEM SET synchronous_standby_names = $(pg_literal "$3")" \
        -c "SELECT pg_reload_conf()" >/dev/null
}

# Wait until node P has a synchronous standby streaming to it.
wait_sync() {
    local dir=$1 p=$2 i state
    for ((i = 0; i < WAIT_SECS * 10; i++)); do
        state=$(node_psql "$dir" "$p" -c \
            "SELECT sync_state FROM pg_stat_replication WHERE state = 'streaming' LIMIT 1" \
            2>/dev/null || true)
        [[ $state == sync ]] && return 0
        sleep 0.1
    done
    die "node $p: no synchronous standby after ${WAIT_SECS}s"
}

pg_start() {
    local dir t0=$SECONDS bindir p1 p2 nd1 url hosts
    [[ -d ${1:-} ]] || die "start: directory '${1:-}' does not exist (create it first)"
    dir=$(abs_dir "$1") || die "start: cannot access $1"
    [[ ! -e $dir/pgfo ]] || die "start: $dir already holds a failover pair; use a fresh directory"
    cd "$dir"
    setup_user
    if ((EUID == 0)) && ! "${AS_USER[@]}" test -x "$dir"; then
        chmod o+x "$dir"
        "${AS_USER[@]}" test -x "$dir" ||
            die "start: user $TEST_OS_USER cannot reach $dir; use a directory under /tmp"
    fi
    START_DIR=$dir
    trap 'rc=$?; trap - EXIT; if ((rc)); then log "start failed; stopping what started (logs under $START_DIR/pgfo)"; pg_stop "$START_DIR" || true; fi; exit $rc' EXIT

    bindir=$(find_pg_bindir) || die "PostgreSQL: initdb not found (install postgresql)"
    mkdir -p "$dir/pgfo/node1/run" "$dir/pgfo/node2/run"
    printf '%s\n' "$bindir" | tee "$dir/pgfo/node1/bindir" "$dir/pgfo/node2/bindir" \
        >"$dir/pgfo/bindir"
    echo 1 >"$dir/pgfo/primary"
    p1=$(pick_port 5432 3306)
    p2=$(pick_port 5432 3306 "$p1")
    echo "$p1" >"$dir/pgfo/node1/port"
    echo "$p2" >"$dir/pgfo/node2/port"
    if ((EUID == 0)); then chown -R "$TEST_OS_USER:" "$dir/pgfo"; fi
    chmod 700 "$dir/pgfo"
    nd1=$(node_dir "$dir" 1)

    log "node 1: initdb"
    if ! "${AS_USER[@]}" "$bindir/initdb" -D "$nd1/data" -U postgres -A trust -E UTF8 \
            --no-locale --no-sync --no-instructions >"$nd1/initdb.log" 2>&1; then
        show_log "$nd1/initdb.log"
        die "node 1: initdb failed"
    fi
    # Sockets: trust (private directories); TCP: passwords only.
    cat >"$nd1/data/pg_hba.conf" <<'EOF'
# TYPE  DATABASE     USER  ADDRESS        METHOD
local   all          all                  trust
local   replication  all                  trust
host    all          all   127.0.0.1/32   scram-sha-256
EOF
    printf "include = 'crucible.conf'\n" >>"$nd1/data/postgresql.conf"
    # No synchronous standby until there is one: until then a commit would wait.
    write_conf "$dir" 1 ''
    start_node "$dir" 1
    node_psql "$dir" 1 >"$nd1/setup.log" 2>&1 <<EOF
CREATE ROLE $DB_USER LOGIN CREATEDB PASSWORD $(pg_literal "$DB_PASSWORD");
CREATE DATABASE $DB_NAME OWNER $DB_USER;
EOF

    clone_standby "$dir" 2 1
    start_node "$dir" 2
    set_sync "$dir" 1 '*'
    wait_sync "$dir" 1

    hosts="127.0.0.1:$p1,127.0.0.1:$p2"
    url="postgresql://$DB_USER:$(urlencode "$DB_PASSWORD")@$hosts/$DB_NAME?target_session_attrs=read-write"
    # Proves the URL, the password and that node 1 takes writes.
    if ! "$bindir/psql" -X -q -At "$url" -c 'CREATE TABLE IF NOT EXISTS pgfo_check (id int); DROP TABLE pgfo_check' \
            >"$dir/pgfo/check.log" 2>&1; then
        show_log "$dir/pgfo/check.log"
        die "cannot write through $hosts as $DB_USER"
    fi
    printf '%s=%q\n' \
        CRUCIBLE_PG_FAILOVER_URL "$url" \
        CRUCIBLE_PG_FAILOVER_PORTS "$p1 $p2" \
        CRUCIBLE_PG_FAILOVER_DIR "$dir" >>"$dir/env"
    trap - EXIT
    log "primary on 127.0.0.1:$p1, synchronous standby on 127.0.0.1:$p2 (started in $((SECONDS - t0))s)"
}

pg_stop() {
    local dir rc=0 n p pid
    if [[ ! -d ${1:-} ]]; then
        log "stop: directory '${1:-}' does not exist; nothing to stop"
        return 0
    fi
    dir=$(abs_dir "$1") || die "stop: cannot access $1"
    [[ -d $dir/pgfo ]] || return 0
    cd "$dir"
    # The standby first: stopped first, the primary would wait for its
    # standby to take the shutdown checkpoint.
    p=$(primary_node "$dir")
    for n in "$(other_node "$p")" "$p"; do
        [[ -d $(node_dir "$dir" "$n") ]] || continue
        stop_pg_dir "$(node_dir "$dir" "$n")" || { log "error: node $n is still running"; rc=1; }
    done
    # Leftovers of a start killed half-way (initdb, pg_basebackup, postgres).
    # (One grep over every command line: a loop of reads per process is slow.)
    for p in $(grep -alsF -- "$dir/pgfo/" /proc/[0-9]*/cmdline 2>/dev/null || true); do
        pid=${p#/proc/}
        pid=${pid%/cmdline}
        [[ $pid != "$$" ]] || continue
        proc_alive "$pid" 'postgres|initdb|pg_ctl|pg_basebackup' || continue
        log "killing leftover process $pid"
        kill -KILL "$pid" 2>/dev/null || true
        wait_gone "$pid" 5 || rc=1
    done
    return "$rc"
}

pg_kill_primary() {
    local dir n
    dir=$(abs_dir "$1") || die "kill-primary: cannot access $1"
    cd "$dir"
    n=$(primary_node "$dir")
    node_up "$dir" "$n" || die "kill-primary: node $n (the primary) is not running"
    log "node $n (primary): pg_ctl stop -m immediate"
    node_ctl "$dir" "$n" -m immediate -w -t 20 -s stop >&2 ||
        die "node $n: pg_ctl stop -m immediate failed"
}

pg_promote() {
    local dir s
    dir=$(abs_dir "$1") || die "promote: cannot access $1"
    cd "$dir"
    s=$(other_node "$(primary_node "$dir")")
    node_up "$dir" "$s" || die "promote: node $s (the standby) is not running"
    log "node $s (standby): pg_ctl promote"
    node_ctl "$dir" "$s" -w -t "$WAIT_SECS" -s promote >&2 || die "node $s: pg_ctl promote failed"
    echo "$s" >"$dir/pgfo/primary"
    # Alone now: its commits must not wait for a standby it does not have.
    set_sync "$dir" "$s" ''
}

pg_rejoin() {
    local dir p n
    dir=$(abs_dir "$1") || die "rejoin: cannot access $1"
    cd "$dir"
    p=$(primary_node "$dir")
    n=$(other_node "$p")
    node_up "$dir" "$p" || die "rejoin: node $p (the primary) is not running"
    ! node_up "$dir" "$n" || die "rejoin: node $n is running; kill-primary and promote first"
    as_user_prefix "$(stat -c %U "$(node_dir "$dir" "$p")/data")"
    clone_standby "$dir" "$n" "$p"
    start_node "$dir" "$n"
    set_sync "$dir" "$p" '*'
    wait_sync "$dir" "$p"
    log "node $n streams synchronously from node $p again"
}

pg_status() {
    local dir n p role
    dir=$(abs_dir "$1") || die "status: cannot access $1"
    p=$(primary_node "$dir")
    for n in 1 2; do
        role=standby
        [[ $n == "$p" ]] && role=primary
        if node_up "$dir" "$n"; then
            printf 'node%s %s 127.0.0.1:%s up\n' "$n" "$role" "$(node_port "$dir" "$n")"
        else
            printf 'node%s %s 127.0.0.1:%s down\n' "$n" "$role" "$(node_port "$dir" "$n")"
        fi
    done
}

[[ $# -eq 2 ]] || usage
case $1 in
    start) pg_start "$2" ;;
    stop) pg_stop "$2" ;;
    kill-primary) pg_kill_primary "$2" ;;
    promote) pg_promote "$2" ;;
    rejoin) pg_rejoin "$2" ;;
    status) pg_status "$2" ;;
    *) usage ;;
esac
