#!/usr/bin/env bash
# Scale-out topology: a PgBouncer in pool_mode=transaction in front of the test PostgreSQL server.
#
#   scripts/scaleout/pgbouncer.sh start DIR   start PgBouncer with its files under DIR/pgbouncer
#                                            and append its settings to DIR/env
#   scripts/scaleout/pgbouncer.sh stop DIR    stop it (safe after a partial start, and to repeat)
#
# The PostgreSQL server is the one scripts/test-servers.sh started: its URL
# comes from CRUCIBLE_PG_URL in the environment or, when that is not set,
# from DIR/env (so DIR may be test-servers.sh's own directory, or another
# one with CRUCIBLE_PG_URL exported). PgBouncer listens on 127.0.0.1 on a
# free port, authenticates clients with SCRAM against the same user and
# password (the test password, URL-special characters and all) and logs in
# to PostgreSQL with them. Each database has a server pool of
# CRUCIBLE_PGBOUNCER_POOL_SIZE connections (default 2), so that more
# clients than that share them, one transaction at a time.
#
# Appended to DIR/env:
#   CRUCIBLE_PGBOUNCER_URL=postgresql://crucible:<pw>@127.0.0.1:<port>/<db>
#       the PostgreSQL test database through PgBouncer (pool of 2)
#   CRUCIBLE_PGBOUNCER_SINGLE_URL=...<port>/<db>_single
#       the same database through a pool of exactly one server connection,
#       on which any two clients share a server session deterministically
#   CRUCIBLE_PGBOUNCER_POOL_SIZE, CRUCIBLE_PGBOUNCER_PORT
#
# When run as root, PgBouncer (which refuses to run as root) runs as
# test-servers.sh's unprivileged user.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=../test-servers.sh
source "$here/../test-servers.sh"
PROG=pgbouncer.sh
POOL_SIZE=${CRUCIBLE_PGBOUNCER_POOL_SIZE:-2}

usage() {
    echo "usage: $PROG start DIR | stop DIR" >&2
    exit 2
}

# Percent-decode $1.
urldecode() {
    local s=${1//+/%2B}
    printf '%b' "${s//%/\\x}"
}

# Split CRUCIBLE_PG_URL into PG_USER PG_PASSWORD PG_HOST PG_PORT PG_DB.
parse_pg_url() {
    local url=$1 userinfo hostport
    [[ $url =~ ^postgresql(\+[a-z0-9]+)?://([^@/]*)@([^/?]*)/([^?]*) ]] ||
        die "CRUCIBLE_PG_URL is not postgresql://user:password@host:port/database: $url"
    userinfo=${BASH_REMATCH[2]}
    hostport=${BASH_REMATCH[3]}
    PG_DB=${BASH_REMATCH[4]}
    PG_USER=$(urldecode "${userinfo%%:*}")
    PG_PASSWORD=""
    [[ $userinfo == *:* ]] && PG_PASSWORD=$(urldecode "${userinfo#*:}")
    PG_HOST=${hostport%:*}
    PG_PORT=${hostport##*:}
    [[ $hostport == *:* && $PG_PORT =~ ^[0-9]+$ ]] || PG_PORT=5432
    [[ -n $PG_USER && -n $PG_DB ]] || die "CRUCIBLE_PG_URL has no user or database: $url"
    [[ $PG_DB =~ ^[A-Za-z0-9_]+$ ]] || die "database name '$PG_DB' is not a plain identifier"
}

pgbouncer_bin() {
    find_cmd pgbouncer /usr/sbin/pgbouncer || die "pgbouncer not found (apt-get install pgbouncer)"
}

bouncer_pid() {
    local pid
    pid=$(cat "$1/pgbouncer.pid" 2>/dev/null || true)
    proc_alive "$pid" pgbouncer && printf '%s\n' "$pid"
}

cmd_start() {
    local dir b bin port attempt url single psql t0=$SECONDS
    [[ -d ${1:-} ]] || die "start: directory '${1:-}' does not exist (create it first)"
    dir=$(abs_dir "$1") || die "start: cannot access $1"
    b=$dir/pgbouncer
    [[ ! -e $b/pgbouncer.pid ]] || ! bouncer_pid "$b" >/dev/null ||
        die "start: a PgBouncer of $dir is running already; stop it first"
    if [[ -z ${CRUCIBLE_PG_URL:-} && -f $dir/env ]]; then
        # shellcheck source=/dev/null
        CRUCIBLE_PG_URL=$(. "$dir/env" && printf '%s' "${CRUCIBLE_PG_URL:-}")
    fi
    [[ -n ${CRUCIBLE_PG_URL:-} ]] ||
        die "start: CRUCIBLE_PG_URL is not set and $dir/env has none (start scripts/test-servers.sh first)"
    parse_pg_url "$CRUCIBLE_PG_URL"
    bin=$(pgbouncer_bin)
    cd "$dir"
    # On any failure below, stop whatever did start.
    trap 'rc=$?; trap - EXIT; ((rc == 0)) || cmd_stop "$dir" || true; exit "$rc"' EXIT
    setup_user
    if ((EUID == 0)) && ! "${AS_USER[@]}" test -x "$dir"; then
        chmod o+x "$dir"
    fi
    mkdir -p "$b"
    # userlist.txt: "user" "password", a double quote doubled.
    printf '"%s" "%s"\n' "${PG_USER//\"/\"\"}" "${PG_PASSWORD//\"/\"\"}" >"$b/userlist.txt"
    : >"$b/pgbouncer.log"
    chmod 700 "$b"
    chmod 600 "$b/userlist.txt"
    if ((EUID == 0)); then chown -R "$TEST_OS_USER:" "$b"; fi

    for ((attempt = 1; attempt <= PORT_ATTEMPTS; attempt++)); do
        port=$(pick_port 5432 6432 "$PG_PORT")
        cat >"$b/pgbouncer.ini" <<INI
[databases]
$PG_DB = host=$PG_HOST port=$PG_PORT dbname=$PG_DB
${PG_DB}_single = host=$PG_HOST port=$PG_PORT dbname=$PG_DB pool_size=1

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = scram-sha-256
auth_file = $b/userlist.txt
pool_mode = transaction
default_pool_size = $POOL_SIZE
min_pool_size = 0
reserve_pool_size = 0
max_client_conn = 500
; LIFO reuse of server connections: the one just released serves next.
server_round_robin = 0
; No named prepared statements are tracked by this PgBouncer (1.21+ could).
logfile = $b/pgbouncer.log
pidfile = $b/pgbouncer.pid
log_connections = 0
log_disconnections = 0
INI
        if ((EUID == 0)); then chown "$TEST_OS_USER:" "$b/pgbouncer.ini"; fi
        log "PgBouncer: starting on 127.0.0.1:$port (pool_mode=transaction, pool size $POOL_SIZE) before $PG_HOST:$PG_PORT"
        if "${AS_USER[@]}" "$bin" -d -q "$b/pgbouncer.ini" >>"$b/pgbouncer.log" 2>&1 &&
                wait_ready 10 bouncer_pid "$b"; then
            break
        fi
        if ((attempt < PORT_ATTEMPTS)) && grep -q 'Address already in use' "$b/pgbouncer.log"; then
            log "PgBouncer: port $port is taken, trying another"
            continue
        fi
        show_log "$b/pgbouncer.log"
        die "PgBouncer: failed to start"
    done

    url="postgresql://$(urlencode "$PG_USER"):$(urlencode "$PG_PASSWORD")@127.0.0.1:$port/$PG_DB"
    single="postgresql://$(urlencode "$PG_USER"):$(urlencode "$PG_PASSWORD")@127.0.0.1:$port/${PG_DB}_single"
    psql=$(find_pg_bindir 2>/dev/null)/psql
    [[ -x $psql ]] || psql=psql
    if ! wait_ready 20 "$psql" -X -q -At "$url" -c 'SELECT 1'; then
        "$psql" -X -q -At "$url" -c 'SELECT 1' >&2 || true
        show_log "$b/pgbouncer.log"
        die "PgBouncer: cannot log in through it as $PG_USER"
    fi
    printf '%s=%q\n' \
        CRUCIBLE_PGBOUNCER_URL "$url" \
        CRUCIBLE_PGBOUNCER_SINGLE_URL "$single" \
        CRUCIBLE_PGBOUNCER_POOL_SIZE "$POOL_SIZE" \
        CRUCIBLE_PGBOUNCER_PORT "$port" >>"$dir/env"
    log "PgBouncer on 127.0.0.1:$port (started in $((SECONDS - t0))s; settings appended to $dir/env)"
}

cmd_stop() {
    local dir b pid
    if [[ ! -d ${1:-} ]]; then
        log "stop: directory '${1:-}' does not exist; nothing to stop"
        return 0
    fi
    dir=$(abs_dir "$1") || die "stop: cannot access $1"
    b=$dir/pgbouncer
    pid=$(bouncer_pid "$b" || true)
    if [[ -n $pid ]]; then
        log "PgBouncer: stopping (pid $pid)"
        kill -INT "$pid" 2>/dev/null || true   # immediate shutdown
        wait_gone "$pid" 10 pgbouncer || kill -KILL "$pid" 2>/dev/null || true
        wait_gone "$pid" 5 pgbouncer || { log "error: PgBouncer (pid $pid) is still running"; return 1; }
    fi
    rm -f "$b/pgbouncer.pid"
    return 0
}

case ${1:-} in
    start) [[ $# -eq 2 ]] || usage; cmd_start "$2" ;;
    stop)  [[ $# -eq 2 ]] || usage; cmd_stop "$2" ;;
    *) usage ;;
esac
