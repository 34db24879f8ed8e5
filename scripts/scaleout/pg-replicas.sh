#!/usr/bin/env bash
# A PostgreSQL primary with two streaming replicas on loopback, for the read-replica tests.
#
#   pg-replicas.sh start DIR            primary under DIR/pgrepl/primary,
#                                       replicas (pg_basebackup -R, hot_standby)
#                                       under DIR/pgrepl/r1 and r2; appends to
#                                       DIR/env
#   pg-replicas.sh stop DIR             stop all three (safe after a partial
#                                       start, safe to repeat)
#   pg-replicas.sh kill-replica N DIR   stop replica N (1 or 2) at once
#                                       (immediate shutdown, as a crash)
#   pg-replicas.sh start-replica N DIR  start replica N again, same port
#
# DIR/env gets CRUCIBLE_PG_PRIMARY_URL, CRUCIBLE_PG_REPLICA1_URL and
# CRUCIBLE_PG_REPLICA2_URL (user crucible, database crucible_test). The user
# may call pg_wal_replay_pause() / pg_wal_replay_resume() (granted on the
# primary, replicated), so that a test can hold a replica's replay back.
# The primary commits synchronously (fsync stays off): with
# synchronous_commit off its WAL would reach the replicas only at the WAL
# writer's next round, up to 200 ms after a commit.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../test-servers.sh
source "$HERE/../test-servers.sh"
PROG=pg-replicas.sh

# Start the replica under $1/pg from a base backup of the primary at socket
# dir $2, port $3, on a new port.
make_replica() {
    local rdir=$1 psock=$2 pport=$3 bindir=$4 pg=$1/pg port attempt
    mkdir -p "$pg/run"
    printf '%s\n' "$bindir" >"$pg/bindir"
    : >"$pg/postgres.log"
    : >"$pg/pg_ctl.log"
    if ((EUID == 0)); then chown -R "$TEST_OS_USER:" "$pg"; fi
    chmod 700 "$pg"
    if ! "${AS_USER[@]}" "$bindir/pg_basebackup" -h "$psock" -p "$pport" -U postgres \
            -D "$pg/data" -R -X stream -c fast --no-sync >"$pg/basebackup.log" 2>&1; then
        show_log "$pg/basebackup.log"
        die "PostgreSQL: pg_basebackup into $pg/data failed"
    fi
    for ((attempt = 1; attempt <= PORT_ATTEMPTS; attempt++)); do
        port=$(pick_port 5432 3306 "$pport" ${USED_PORTS[@]+"${USED_PORTS[@]}"})
        # The primary's settings (crucible.conf came with the backup), then
        # the replica's own, which override them.
        cat >"$pg/data/replica.conf" <<EOF
port = $port
unix_socket_directories = $(pg_literal "$pg/run")
hot_standby = on
hot_standby_feedback = on
wal_receiver_status_interval = 1
EOF
        grep -q "^include = 'replica.conf'" "$pg/data/postgresql.conf" ||
            printf "include = 'replica.conf'\n" >>"$pg/data/postgresql.conf"
        if ((EUID == 0)); then chown "$TEST_OS_USER:" "$pg/data/replica.conf"; fi
        log "PostgreSQL replica: starting on 127.0.0.1:$port"
        if "${AS_USER[@]}" "$bindir/pg_ctl" -D "$pg/data" -l "$pg/postgres.log" \
                -w -t "$WAIT_SECS" -s start >>"$pg/pg_ctl.log" 2>&1; then
            USED_PORTS+=("$port")
            REPLICA_PORT=$port
            return 0
        fi
        if ((attempt < PORT_ATTEMPTS)) &&
                grep -qE 'could not (bind|create any TCP)|[Aa]ddress already in use' "$pg/postgres.log"; then
            continue
        fi
        break
    done
    show_log "$pg/postgres.log"
    die "PostgreSQL replica under $pg failed to start"
}

USED_PORTS=()

cmd_start_r() {
    local top dir t0=$SECONDS bindir psql purl i
    [[ -d ${1:-} ]] || die "start: directory '${1:-}' does not exist"
    top=$(abs_dir "$1") || die "start: cannot access $1"
    dir=$top/pgrepl
    [[ ! -e $dir ]] || die "start: $dir already holds a topology; use a fresh directory"
    cd "$top"
    setup_user
    mkdir -p "$dir/primary" "$dir/r1" "$dir/r2"
    if ((EUID == 0)); then chmod o+x "$top" "$dir" "$dir/primary" "$dir/r1" "$dir/r2"; fi
    # On a failure, test-servers.sh's handler stops what started (cmd_stop,
    # which this script defines again for its servers).
    START_DIR=$top
    CURRENT="the PostgreSQL replica topology"
    trap on_start_exit EXIT
    bindir=$(find_pg_bindir) || die "PostgreSQL: initdb not found"
    start_postgres "$dir/primary"
    USED_PORTS+=("$PG_PORT")
    psql=$bindir/psql
    # Base backups and replication over the private socket, trusted.
    printf 'local   replication  all  trust\n' >>"$dir/primary/pg/data/pg_hba.conf"
    "$psql" -X -q -v ON_ERROR_STOP=1 -h "$dir/primary/pg/run" -p "$PG_PORT" -U postgres \
        -d crucible_test >>"$dir/primary/pg/setup.log" 2>&1 <<'EOF' ||
ALTER SYSTEM SET synchronous_commit = on;
SELECT pg_reload_conf();
GRANT EXECUTE ON FUNCTION pg_wal_replay_pause() TO crucible;
GRANT EXECUTE ON FUNCTION pg_wal_replay_resume() TO crucible;
EOF
        { show_log "$dir/primary/pg/setup.log"; die "PostgreSQL: primary setup failed"; }
    purl=$PG_URL
    local urls=()
    for i in 1 2; do
        make_replica "$dir/r$i" "$dir/primary/pg/run" "$PG_PORT" "$bindir"
        urls+=("${purl/127.0.0.1:$PG_PORT/127.0.0.1:$REPLICA_PORT}")
    done
    # Ready when each replica has replayed what the primary has now.
    for i in 1 2; do
        wait_ready "$WAIT_SECS" "$psql" -X -At "${urls[i - 1]}" -c 'SELECT 1' ||
            die "PostgreSQL replica $i does not answer"
    done
    START_DIR=""
    printf '%s=%q\n' CRUCIBLE_PG_PRIMARY_URL "$purl" CRUCIBLE_PG_REPLICA1_URL "${urls[0]}" \
        CRUCIBLE_PG_REPLICA2_URL "${urls[1]}" CRUCIBLE_PG_REPLICAS_DIR "$top" >>"$top/env"
    log "PostgreSQL primary on $PG_PORT, replicas on ${USED_PORTS[*]:1} (started in $((SECONDS - t0))s)"
}

cmd_stop() {
    local dir rc=0 i
    [[ -d ${1:-} ]] || { log "stop: directory '${1:-}' does not exist; nothing to stop"; return 0; }
    dir=$(abs_dir "$1")/pgrepl || die "stop: cannot access $1"
    [[ -d $dir ]] || return 0
    cd "$dir"
    for i in r1 r2 primary; do
        [[ -d $dir/$i ]] || continue
        stop_postgres "$dir/$i" || { log "error: PostgreSQL in $dir/$i is still running"; rc=1; }
        sweep "$dir/$i" || rc=1
    done
    return "$rc"
}

# The replica's directory, checked.
replica_dir() {
    [[ ${1:-} == 1 || ${1:-} == 2 ]] || die "replica number must be 1 or 2 (got '${1:-}')"
    [[ -d ${2:-} ]] || die "directory '${2:-}' does not exist"
    local dir
    dir=$(abs_dir "$2")/pgrepl
    [[ -f $dir/r$1/pg/data/replica.conf ]] || die "no replica $1 under $dir"
    printf '%s\n' "$dir/r$1"
}

cmd_kill_replica() {
    local r pid
    r=$(replica_dir "$@")
    cd "$r"
    pid=$(head -n 1 "$r/pg/data/postmaster.pid" 2>/dev/null || true)
    proc_alive "$pid" postgres || return 0
    # SIGQUIT is an immediate shutdown: no checkpoint, clients cut off, as
    # a crash would leave them.
    kill -QUIT "$pid" 2>/dev/null || true
    wait_gone "$pid" 20 postgres || { kill -KILL "$pid" 2>/dev/null || true; wait_gone "$pid" 10 postgres; }
}

cmd_start_replica() {
    local r owner bindir pid
    r=$(replica_dir "$@")
    cd "$r"
    pid=$(head -n 1 "$r/pg/data/postmaster.pid" 2>/dev/null || true)
    if proc_alive "$pid" postgres; then return 0; fi
    bindir=$(cat "$r/pg/bindir")
    owner=$(stat -c %U "$r/pg/data")
    as_user_prefix "$owner"
    "${AS_USER[@]}" "$bindir/pg_ctl" -D "$r/pg/data" -l "$r/pg/postgres.log" \
        -w -t "$WAIT_SECS" -s start >>"$r/pg/pg_ctl.log" 2>&1 ||
        { show_log "$r/pg/postgres.log"; die "replica $1 did not start again"; }
}

case ${1:-} in
    start) [[ $# -eq 2 ]] || die "usage: $PROG start DIR"; cmd_start_r "$2" ;;
    stop) [[ $# -eq 2 ]] || die "usage: $PROG stop DIR"; cmd_stop "$2" ;;
    kill-replica) [[ $# -eq 3 ]] || die "usage: $PROG kill-replica N DIR"; cmd_kill_replica "$2" "$3" ;;
    start-replica) [[ $# -eq 3 ]] || die "usage: $PROG start-replica N DIR"; cmd_start_replica "$2" "$3" ;;
    *) die "usage: $PROG start DIR | stop DIR | kill-replica N DIR | start-replica N DIR" ;;
esac
