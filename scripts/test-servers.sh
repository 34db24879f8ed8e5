#!/usr/bin/env bash
# Start and stop throwaway PostgreSQL and MariaDB servers for Crucible's tests.
#
#   scripts/test-servers.sh start DIR   start both servers with their data under
#                                       DIR and write DIR/env
#   scripts/test-servers.sh stop DIR    stop both servers (safe after a failed or
#                                       partial start, and safe to repeat)
#   scripts/test-servers.sh restart postgresql|mysql DIR
#                                       stop one of the servers started in DIR
#                                       and start it again on the same port,
#                                       socket and data (for disconnect tests)
#
# DIR must be an existing, empty-ish directory created by the caller (e.g. by
# `mktemp -d`); the caller removes it after `stop`.  Both servers listen on
# 127.0.0.1 only, on free ports chosen at random, plus a unix socket under DIR.
# DIR/env contains shell assignments:
#
#   CRUCIBLE_PG_URL=postgresql://crucible:<pw>@127.0.0.1:<port>/crucible_test
#   CRUCIBLE_MYSQL_URL=mysql://crucible:<pw>@127.0.0.1:<port>/crucible_test
#
# (and, for manual use, the ports and socket locations).  The password contains
# characters that must be percent-encoded in a URL, which exercises the
# library's URL decoding.
#
# When run as root, the servers run as an unprivileged system user
# (crucible-test, created if missing; override with CRUCIBLE_TEST_OS_USER)
# because initdb/postgres refuse to run as root.
#
# Environment knobs (all optional):
#   CRUCIBLE_PG_BINDIR      directory holding initdb/pg_ctl/postgres
#   CRUCIBLE_TEST_OS_USER   unprivileged user used when running as root
#   CRUCIBLE_SERVER_WAIT    seconds to wait for each server (default 60)
set -euo pipefail

PROG=test-servers.sh
DB_NAME=crucible_test
DB_USER=crucible
DB_PASSWORD='p@ss:w/rd'
TEST_OS_USER=${CRUCIBLE_TEST_OS_USER:-crucible-test}
WAIT_SECS=${CRUCIBLE_SERVER_WAIT:-60}
PORT_ATTEMPTS=5

# Client-side environment that could redirect our own connections elsewhere.
unset PGHOST PGHOSTADDR PGPORT PGUSER PGDATABASE PGPASSWORD PGPASSFILE \
    PGSERVICE PGSERVICEFILE PGOPTIONS PGSSLMODE PGDATA \
    MYSQL_PWD MYSQL_HOST MYSQL_TCP_PORT MYSQL_UNIX_PORT

# Non-root users often lack the sbin directories (mariadbd, useradd) in PATH.
PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin

log() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() { printf '%s: error: %s\n' "$PROG" "$*" >&2; exit 1; }

usage() {
    cat >&2 <<EOF
usage: $PROG start DIR    start throwaway PostgreSQL + MariaDB servers under DIR
       $PROG stop DIR     stop them again
       $PROG restart postgresql|mysql DIR
                          stop one server and start it again (same port,
                          socket and data)
EOF
    exit 2
}

# Print the last lines of a log file to stderr.
show_log() {
    local file=$1
    if [[ -s $file ]]; then
        printf '%s: ---- last lines of %s ----\n' "$PROG" "$file" >&2
        tail -n 40 "$file" >&2 || true
        printf '%s: ---- end of %s ----\n' "$PROG" "$file" >&2
    fi
}

# Percent-encode everything except RFC 3986 unreserved characters.
urlencode() {
    local LC_ALL=C s=$1 out='' c i
    for ((i = 0; i < ${#s}; i++)); do
        c=${s:i:1}
        case $c in
            [A-Za-z0-9._~-]) out+=$c ;;
            *) out+=$(printf '%%%02X' "'$c") ;;
        esac
    done
    printf '%s' "$out"
}

# SQL string literal bodies: PostgreSQL doubles quotes; MariaDB also treats
# backslash as an escape character.
pg_literal() { local s=${1//\'/\'\'}; printf "'%s'" "$s"; }
my_literal() { local s=${1//\\/\\\\}; s=${s//\'/\'\'}; printf "'%s'" "$s"; }

# True if PID is a live (non-zombie) process whose name matches the regex $2.
proc_alive() {
    local pid=$1 want=${2:-} stat comm state
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
    comm=${stat#*\(}
    comm=${comm%\)*}
    state=${stat##*\) }
    state=${state%% *}
    [[ $state != Z && $state != X ]] || return 1
    [[ -z $want || $comm =~ $want ]]
}

# Wait up to $2 seconds for PID $1 (matching regex $3) to go away.
wait_gone() {
    local pid=$1 secs=$2 want=${3:-} i
    for ((i = 0; i < secs * 10; i++)); do
        proc_alive "$pid" "$want" || return 0
        sleep 0.1
    done
    ! proc_alive "$pid" "$want"
}

# True if something on this machine already uses TCP port $1.
port_in_use() {
    local port=$1
    if command -v ss >/dev/null 2>&1; then
        [[ -n $(ss -Htan "sport = :$port" 2>/dev/null) ]]
    else
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
    fi
}

# Print a free TCP port, different from the ports given as arguments.  Ports
# come from 20000-32767, below Linux's default ephemeral range.
pick_port() {
    local port tries ex taken
    for ((tries = 0; tries < 200; tries++)); do
        port=$((20000 + RANDOM % 12768))
        taken=0
        for ex in "$@"; do [[ $port == "$ex" ]] && taken=1; done
        ((taken)) && continue
        port_in_use "$port" && continue
        printf '%s\n' "$port"
        return 0
    done
    die "could not find a free TCP port"
}

# ---------------------------------------------------------------------------
# Running things as the unprivileged user when we are root.

AS_USER=()      # command prefix; empty when not root

setup_user() {
    [[ $EUID -eq 0 ]] || return 0
    if ! id -u "$TEST_OS_USER" >/dev/null 2>&1; then
        log "creating system user $TEST_OS_USER"
        useradd --system --user-group --no-create-home \
            --home-dir /nonexistent --shell /usr/sbin/nologin \
            "$TEST_OS_USER" >&2 ||
            id -u "$TEST_OS_USER" >/dev/null 2>&1 ||   # lost a race: fine
            die "could not create system user $TEST_OS_USER"
    fi
    as_user_prefix "$TEST_OS_USER"
}

# Set AS_USER to run commands as user $1 (no-op if we are that user).
as_user_prefix() {
    local user=$1
    AS_USER=()
    [[ $EUID -eq 0 && $user != root ]] || return 0
    if command -v setpriv >/dev/null 2>&1; then
        # setpriv execs the command directly, so $! is the server's own pid.
        AS_USER=(setpriv "--reuid=$(id -u "$user")" "--regid=$(id -g "$user")"
                 --init-groups --)
    else
        AS_USER=(runuser -u "$user" --)
    fi
}

# ---------------------------------------------------------------------------
# PostgreSQL

find_pg_bindir() {
    local dir
    if [[ -n ${CRUCIBLE_PG_BINDIR:-} ]]; then
        printf '%s\n' "$CRUCIBLE_PG_BINDIR"
        return 0
    fi
    if command -v pg_config >/dev/null 2>&1; then
        dir=$(pg_config --bindir 2>/dev/null || true)
        if [[ -n $dir && -x $dir/initdb && -x $dir/pg_ctl ]]; then
            printf '%s\n' "$dir"
            return 0
        fi
    fi
    # Debian layout: prefer version 15, else the newest installed.
    if [[ -x /usr/lib/postgresql/15/bin/initdb ]]; then
        printf '%s\n' /usr/lib/postgresql/15/bin
        return 0
    fi
    dir=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
    if [[ -x $dir/initdb ]]; then
        printf '%s\n' "$dir"
        return 0
    fi
    dir=$(command -v initdb 2>/dev/null || true)
    [[ -n $dir ]] || return 1
    dirname "$dir"
}

start_postgres() {
    local dir=$1 pg=$1/pg bindir port attempt psql sock
    bindir=$(find_pg_bindir) ||
        die "PostgreSQL: initdb not found (install postgresql, or set CRUCIBLE_PG_BINDIR)"
    mkdir -p "$pg/run"
    printf '%s\n' "$bindir" >"$pg/bindir"
    : >"$pg/initdb.log"
    : >"$pg/postgres.log"
    : >"$pg/pg_ctl.log"
    if ((EUID == 0)); then chown -R "$TEST_OS_USER:" "$pg"; fi
    chmod 700 "$pg"

    log "PostgreSQL: initdb ($("$bindir/postgres" --version 2>/dev/null || echo "$bindir"))"
    if ! "${AS_USER[@]}" "$bindir/initdb" -D "$pg/data" -U postgres -A trust \
            -E UTF8 --no-locale --no-sync --no-instructions \
            >"$pg/initdb.log" 2>&1; then
        show_log "$pg/initdb.log"
        die "PostgreSQL: initdb failed"
    fi

    # Local (socket) connections: trust, the socket directory is private.
    # TCP: password authentication only.
    cat >"$pg/data/pg_hba.conf" <<'EOF'
# TYPE  DATABASE  USER  ADDRESS        METHOD
local   all       all                  trust
host    all       all   127.0.0.1/32   scram-sha-256
EOF
    printf "include = 'crucible.conf'\n" >>"$pg/data/postgresql.conf"

    for ((attempt = 1; attempt <= PORT_ATTEMPTS; attempt++)); do
        port=$(pick_port 5432 3306)
        sock=$pg/run/.s.PGSQL.$port
        ((${#sock} <= 107)) ||
            die "PostgreSQL: socket path too long (${#sock} > 107 bytes): $sock; use a shorter DIR"
        # Rewritten on every attempt.
        cat >"$pg/data/crucible.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = $(pg_literal "$pg/run")
password_encryption = 'scram-sha-256'
fsync = off
synchronous_commit = off
full_page_writes = off
log_line_prefix = '%m [%p] %q%u@%d '
EOF
        if ((EUID == 0)); then chown "$TEST_OS_USER:" "$pg/data/crucible.conf"; fi
        log "PostgreSQL: starting on 127.0.0.1:$port"
        if "${AS_USER[@]}" "$bindir/pg_ctl" -D "$pg/data" -l "$pg/postgres.log" \
                -w -t "$WAIT_SECS" -s start >>"$pg/pg_ctl.log" 2>&1; then
            break
        fi
        if ((attempt < PORT_ATTEMPTS)) &&
                grep -qE 'could not (bind|create any TCP)|[Aa]ddress already in use' "$pg/postgres.log" &&
                ! proc_alive "$(head -n 1 "$pg/data/postmaster.pid" 2>/dev/null)" postgres; then
            log "PostgreSQL: port $port is taken, trying another"
            continue
        fi
        show_log "$pg/pg_ctl.log"
        show_log "$pg/postgres.log"
        die "PostgreSQL: server failed to start (or was not ready within ${WAIT_SECS}s)"
    done

    # pg_ctl -w waits for readiness already; double-check the TCP listener.
    if ! wait_ready "$WAIT_SECS" "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port" -d postgres; then
        show_log "$pg/postgres.log"
        die "PostgreSQL: not accepting TCP connections on 127.0.0.1:$port after ${WAIT_SECS}s"
    fi

    psql=$bindir/psql
    [[ -x $psql ]] || psql=psql
    if ! "$psql" -X -q -v ON_ERROR_STOP=1 -h "$pg/run" -p "$port" -U postgres \
            -d postgres >"$pg/setup.log" 2>&1 <<EOF
CREATE ROLE $DB_USER LOGIN CREATEDB PASSWORD $(pg_literal "$DB_PASSWORD");
CREATE DATABASE $DB_NAME OWNER $DB_USER;
GRANT ALL PRIVILEGES ON DATABASE $DB_NAME TO $DB_USER;
EOF
    then
        show_log "$pg/setup.log"
        die "PostgreSQL: creating user/database failed"
    fi

    PG_PORT=$port
    PG_URL="postgresql://$DB_USER:$(urlencode "$DB_PASSWORD")@127.0.0.1:$port/$DB_NAME"
    # Prove that password authentication over TCP works with the URL as-is.
    if ! "$psql" -X -q -At "$PG_URL" -c 'SELECT 1' >"$pg/check.log" 2>&1; then
        show_log "$pg/check.log"
        die "PostgreSQL: cannot log in as $DB_USER over TCP"
    fi
}

# Run a command repeatedly (every 0.1 s) until it succeeds or $1 seconds pass.
wait_ready() {
    local secs=$1 i
    shift
    for ((i = 0; i < secs * 10; i++)); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    return 1
}

# ---------------------------------------------------------------------------
# MariaDB

# wait_mariadb PID ADMIN: until the server answers a ping on $MY_SOCKET (0),
# or has exited or not answered within WAIT_SECS (1).
wait_mariadb() {
    local pid=$1 admin=$2 i
    for ((i = 0; i < WAIT_SECS * 10; i++)); do
        proc_alive "$pid" || return 1
        "$admin" --no-defaults --socket="$MY_SOCKET" -uroot --connect-timeout=2 \
            ping >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    return 1
}

find_cmd() {
    local c
    for c in "$@"; do
        if command -v "$c" >/dev/null 2>&1; then
            command -v "$c"
            return 0
        fi
    done
    return 1
}

# Launch mariadbd ($1) in the background with its data under $2 (DIR/mysql),
# listening on 127.0.0.1:$3 and on $MY_SOCKET; its pid goes to LAUNCH_PID
# and $2/launch.pid.  Further arguments are passed on to mariadbd (the
# Galera topology's wsrep options).
LAUNCH_PID=""
launch_mariadbd() {
    local mariadbd=$1 my=$2 port=$3
    shift 3
    "${AS_USER[@]}" "$mariadbd" --no-defaults \
        --datadir="$my/data" --tmpdir="$my/tmp" \
        --socket="$MY_SOCKET" --port="$port" --bind-address=127.0.0.1 \
        --pid-file="$my/mariadbd.pid" --log-error="$my/error.log" \
        --skip-name-resolve --skip-log-bin \
        --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci \
        --innodb-flush-log-at-trx-commit=0 --innodb-doublewrite=0 "$@" \
        </dev/null >>"$my/mariadbd.out" 2>&1 &
    LAUNCH_PID=$!
    printf '%s\n' "$LAUNCH_PID" >"$my/launch.pid"
}

start_mariadb() {
    local dir=$1 my=$1/mysql installdb mariadbd admin client port attempt pid
    installdb=$(find_cmd mariadb-install-db mysql_install_db) ||
        die "MariaDB: mariadb-install-db not found (install mariadb-server)"
    mariadbd=$(find_cmd mariadbd mysqld /usr/libexec/mariadbd) ||
        die "MariaDB: mariadbd not found (install mariadb-server)"
    admin=$(find_cmd mariadb-admin mysqladmin) ||
        die "MariaDB: mariadb-admin not found (install mariadb-client)"
    client=$(find_cmd mariadb mysql) ||
        die "MariaDB: mariadb client not found (install mariadb-client)"
    MY_SOCKET=$my/mysqld.sock
    ((${#MY_SOCKET} <= 107)) ||
        die "MariaDB: socket path too long (${#MY_SOCKET} > 107 bytes): $MY_SOCKET; use a shorter DIR"

    mkdir -p "$my/data" "$my/tmp"
    : >"$my/install.log"
    : >"$my/error.log"
    : >"$my/mariadbd.out"
    if ((EUID == 0)); then chown -R "$TEST_OS_USER:" "$my"; fi
    chmod 700 "$my"

    log "MariaDB: mariadb-install-db ($("$mariadbd" --version 2>/dev/null | sed 's/^[^ ]* *//' || true))"
    if ! "${AS_USER[@]}" "$installdb" --no-defaults --datadir="$my/data" \
            --auth-root-authentication-method=normal --skip-test-db \
            --skip-name-resolve >"$my/install.log" 2>&1; then
        show_log "$my/install.log"
        die "MariaDB: mariadb-install-db failed"
    fi

    for ((attempt = 1; attempt <= PORT_ATTEMPTS; attempt++)); do
        port=$(pick_port 5432 3306 "${PG_PORT:-0}")
        log "MariaDB: starting on 127.0.0.1:$port"
        launch_mariadbd "$mariadbd" "$my" "$port"
        pid=$LAUNCH_PID

        if wait_mariadb "$pid" "$admin"; then
            break
        fi
        if proc_alive "$pid"; then
            show_log "$my/error.log"
            die "MariaDB: server did not accept connections within ${WAIT_SECS}s"
        fi
        wait "$pid" 2>/dev/null || true
        if ((attempt < PORT_ATTEMPTS)) &&
                grep -qE 'Address already in use|Do you already have another' "$my/error.log" "$my/mariadbd.out"; then
            log "MariaDB: port $port is taken, trying another"
            : >"$my/error.log"
            continue
        fi
        show_log "$my/mariadbd.out"
        show_log "$my/error.log"
        die "MariaDB: server exited during startup"
    done

    # Remove the password-less root accounts reachable over TCP, then create
    # the test user for both TCP ('%') and socket ('localhost') connections.
    # It may also create and drop the databases named crucible_shard_* (the
    # shard suite's) and crucible_scratch_* (tests/tools/scratch_db.c's: the
    # tutorial's and the command's); PostgreSQL's test role has CREATEDB.
    local pw
    pw=$(my_literal "$DB_PASSWORD")
    if ! "$client" --no-defaults --socket="$MY_SOCKET" -uroot \
            >"$my/setup.log" 2>&1 <<EOF
DROP USER IF EXISTS 'root'@'127.0.0.1', 'root'@'::1';
CREATE DATABASE $DB_NAME CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER '$DB_USER'@'%' IDENTIFIED BY $pw;
CREATE USER '$DB_USER'@'localhost' IDENTIFIED BY $pw;
GRANT ALL PRIVILEGES ON \`$DB_NAME\`.* TO '$DB_USER'@'%';
GRANT ALL PRIVILEGES ON \`$DB_NAME\`.* TO '$DB_USER'@'localhost';
GRANT ALL PRIVILEGES ON \`crucible\_shard\_%\`.* TO '$DB_USER'@'%';
GRANT ALL PRIVILEGES ON \`crucible\_shard\_%\`.* TO '$DB_USER'@'localhost';
GRANT ALL PRIVILEGES ON \`crucible\_scratch\_%\`.* TO '$DB_USER'@'%';
GRANT ALL PRIVILEGES ON \`crucible\_scratch\_%\`.* TO '$DB_USER'@'localhost';
FLUSH PRIVILEGES;
EOF
    then
        show_log "$my/setup.log"
        die "MariaDB: creating user/database failed"
    fi

    # Prove that password authentication over TCP works.
    printf '[client]\nuser=%s\npassword="%s"\n' "$DB_USER" "$DB_PASSWORD" >"$my/client.cnf"
    chmod 600 "$my/client.cnf"
    if ! "$client" --defaults-file="$my/client.cnf" --protocol=TCP -h 127.0.0.1 \
            -P "$port" -D "$DB_NAME" -e 'SELECT 1' >"$my/check.log" 2>&1; then
        show_log "$my/check.log"
        die "MariaDB: cannot log in as $DB_USER over TCP"
    fi

    MY_PORT=$port
    MY_URL="mysql://$DB_USER:$(urlencode "$DB_PASSWORD")@127.0.0.1:$port/$DB_NAME"
}

# ---------------------------------------------------------------------------

# Absolute, symlink-free path of an existing directory.
abs_dir() { (cd "$1" 2>/dev/null && pwd -P); }

CURRENT=""     # server being started, for the failure message
START_DIR=""   # DIR of a start in progress, for cleanup on failure
STOP_CMD=cmd_stop   # what stops it (a topology script sets its own)

on_start_exit() {
    local rc=$?
    trap - EXIT
    if ((rc != 0)) && [[ -n $START_DIR ]]; then
        log "error: ${CURRENT:-server setup} failed to start; stopping whatever was started (logs are under $START_DIR)"
        "$STOP_CMD" "$START_DIR" || true
    fi
    exit "$rc"
}

cmd_start() {
    local dir t0=$SECONDS
    [[ -d ${1:-} ]] || die "start: directory '${1:-}' does not exist (create it first, e.g. with mktemp -d)"
    dir=$(abs_dir "$1") || die "start: cannot access $1"
    [[ ! -e $dir/pg && ! -e $dir/mysql ]] ||
        die "start: $dir already holds server data; use a fresh directory"
    cd "$dir"   # the unprivileged user may not be able to read the caller's cwd

    setup_user
    if ((EUID == 0)) && ! "${AS_USER[@]}" test -x "$dir"; then
        chmod o+x "$dir"   # let the server user traverse DIR (not list it)
        "${AS_USER[@]}" test -x "$dir" ||
            die "start: user $TEST_OS_USER cannot reach $dir (a parent directory is not searchable); use a directory under /tmp"
    fi

    # On any failure below: name the server, then stop whatever did start.
    START_DIR=$dir
    trap on_start_exit EXIT

    CURRENT=PostgreSQL
    start_postgres "$dir"
    CURRENT=MariaDB
    start_mariadb "$dir"
    CURRENT=""

    # Shell assignments (values quoted with %q where needed; the URLs never
    # need it).  The first two are what the test suites read.
    printf '%s=%q\n' \
        CRUCIBLE_PG_URL "$PG_URL" \
        CRUCIBLE_MYSQL_URL "$MY_URL" \
        CRUCIBLE_PG_PORT "$PG_PORT" \
        CRUCIBLE_PG_SOCKET_DIR "$dir/pg/run" \
        CRUCIBLE_MYSQL_PORT "$MY_PORT" \
        CRUCIBLE_MYSQL_SOCKET "$MY_SOCKET" >"$dir/env.tmp"
    mv "$dir/env.tmp" "$dir/env"
    log "PostgreSQL on 127.0.0.1:$PG_PORT, MariaDB on 127.0.0.1:$MY_PORT (started in $((SECONDS - t0))s; settings in $dir/env)"
}

# Stop the PostgreSQL server whose data is $1/data ($1/bindir names its
# binaries); returns non-zero if it is still running afterwards.  (The
# scale-out topology scripts stop their nodes with it too.)
stop_pg_dir() {
    local pg=$1 pid bindir owner
    [[ -f $pg/data/postmaster.pid ]] || return 0
    pid=$(head -n 1 "$pg/data/postmaster.pid" 2>/dev/null || true)
    proc_alive "$pid" postgres || return 0
    bindir=$(cat "$pg/bindir" 2>/dev/null || find_pg_bindir || true)
    owner=$(stat -c %U "$pg/data" 2>/dev/null || true)
    as_user_prefix "${owner:-root}"
    log "PostgreSQL: stopping $pg (pid $pid)"
    if [[ -x $bindir/pg_ctl && ! ($EUID -eq 0 && $owner == root) ]]; then
        "${AS_USER[@]}" "$bindir/pg_ctl" -D "$pg/data" -m fast -w -t 30 -s stop >&2 || true
    fi
    # Fallback: immediate shutdown, then SIGKILL (children exit on postmaster
    # death).
    if proc_alive "$pid" postgres; then
        kill -QUIT "$pid" 2>/dev/null || true
        wait_gone "$pid" 10 postgres || kill -KILL "$pid" 2>/dev/null || true
    fi
    wait_gone "$pid" 10 postgres
}

# Stop PostgreSQL; returns non-zero if it is still running afterwards.
stop_postgres() { stop_pg_dir "$1/pg"; }

# Print the pid of the mariadbd that launch_mariadbd started in $1, if it
# is still running (else return 1).
mariadbd_pid() {
    local my=$1 p
    for p in "$(cat "$my/launch.pid" 2>/dev/null || true)" \
             "$(cat "$my/mariadbd.pid" 2>/dev/null || true)"; do
        if proc_alive "$p" 'mariadbd|mysqld'; then
            printf '%s\n' "$p"
            return 0
        fi
    done
    return 1
}

# Stop the mariadbd launched in $1 (called $2 in the log); returns non-zero
# if it is still running afterwards.
stop_mariadbd() {
    local my=$1 name=$2 pid
    pid=$(mariadbd_pid "$my") || return 0
    log "$name: stopping (pid $pid)"
    # SIGTERM is mariadbd's normal clean shutdown (and quicker than
    # `mariadb-admin shutdown`, which polls once a second).
    kill -TERM "$pid" 2>/dev/null || true
    wait_gone "$pid" 30 'mariadbd|mysqld' || kill -KILL "$pid" 2>/dev/null || true
    wait_gone "$pid" 10 'mariadbd|mysqld'
}

# Stop MariaDB; returns non-zero if it is still running afterwards.
stop_mariadb() {
    [[ -d $1/mysql ]] || return 0
    stop_mariadbd "$1/mysql" MariaDB
}

# Last resort: kill processes named like the regex $1 whose command line or
# working directory is under one of the directories $2..., e.g. servers
# after `start` was killed half-way.  Repeats a few times in case a set-up
# script spawned something in between.
sweep_under() {
    local names=$1 p pid cmdline cwd round found under hit
    shift
    for ((round = 0; round < 5; round++)); do
        found=()
        for p in /proc/[0-9]*; do
            pid=${p#/proc/}
            proc_alive "$pid" "$names" || continue
            cmdline=$(tr '\0' ' ' <"$p/cmdline" 2>/dev/null || true)
            cwd=$(readlink "$p/cwd" 2>/dev/null || true)/
            hit=0
            for under in "$@"; do
                [[ $cmdline == *"$under/"* || $cwd == "$under/"* ]] && hit=1
            done
            ((hit)) && found+=("$pid")
        done
        ((${#found[@]})) || return 0
        log "killing leftover server processes: ${found[*]}"
        kill -KILL "${found[@]}" 2>/dev/null || true
        for pid in "${found[@]}"; do wait_gone "$pid" 5 || true; done
    done
    return 1
}

sweep() {
    sweep_under 'postgres|initdb|pg_ctl|mariadbd|mysqld|mariadb-install|mysql_install' \
        "$1/pg" "$1/mysql"
}

cmd_stop() {
    local dir rc=0
    if [[ ! -d ${1:-} ]]; then
        log "stop: directory '${1:-}' does not exist; nothing to stop"
        return 0
    fi
    dir=$(abs_dir "$1") || die "stop: cannot access $1"
    cd "$dir"
    stop_mariadb "$dir" || { log "error: MariaDB is still running"; rc=1; }
    stop_postgres "$dir" || { log "error: PostgreSQL is still running"; rc=1; }
    sweep "$dir" || { log "error: could not kill leftover server processes"; rc=1; }
    return "$rc"
}

# Restart PostgreSQL on the port, socket and data directory it had.
restart_postgres() {
    local dir=$1 pg=$1/pg bindir port owner
    [[ -f $pg/data/crucible.conf ]] || die "restart: no PostgreSQL under $dir"
    port=$(sed -n 's/^port = //p' "$pg/data/crucible.conf")
    [[ $port =~ ^[0-9]+$ ]] || die "restart: no port in $pg/data/crucible.conf"
    bindir=$(cat "$pg/bindir" 2>/dev/null || find_pg_bindir) ||
        die "PostgreSQL: pg_ctl not found"
    stop_postgres "$dir" || die "PostgreSQL: the server did not stop"
    owner=$(stat -c %U "$pg/data") || die "restart: cannot stat $pg/data"
    as_user_prefix "$owner"
    log "PostgreSQL: starting again on 127.0.0.1:$port"
    if ! "${AS_USER[@]}" "$bindir/pg_ctl" -D "$pg/data" -l "$pg/postgres.log" \
            -w -t "$WAIT_SECS" -s start >>"$pg/pg_ctl.log" 2>&1; then
        show_log "$pg/pg_ctl.log"
        show_log "$pg/postgres.log"
        die "PostgreSQL: server failed to start again (or was not ready within ${WAIT_SECS}s)"
    fi
    if ! wait_ready "$WAIT_SECS" "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port" -d postgres; then
        show_log "$pg/postgres.log"
        die "PostgreSQL: not accepting TCP connections on 127.0.0.1:$port after ${WAIT_SECS}s"
    fi
}

# Restart MariaDB on the port, socket and data directory it had.
restart_mariadb() {
    local dir=$1 my=$1/mysql mariadbd admin port owner pid
    [[ -d $my/data && -f $dir/env ]] || die "restart: no MariaDB under $dir"
    port=$(sed -n 's/^CRUCIBLE_MYSQL_PORT=//p' "$dir/env")
    [[ $port =~ ^[0-9]+$ ]] || die "restart: no CRUCIBLE_MYSQL_PORT in $dir/env"
    mariadbd=$(find_cmd mariadbd mysqld /usr/libexec/mariadbd) ||
        die "MariaDB: mariadbd not found"
    admin=$(find_cmd mariadb-admin mysqladmin) || die "MariaDB: mariadb-admin not found"
    MY_SOCKET=$my/mysqld.sock
    stop_mariadb "$dir" || die "MariaDB: the server did not stop"
    owner=$(stat -c %U "$my/data") || die "restart: cannot stat $my/data"
    as_user_prefix "$owner"
    log "MariaDB: starting again on 127.0.0.1:$port"
    launch_mariadbd "$mariadbd" "$my" "$port"
    pid=$LAUNCH_PID
    wait_mariadb "$pid" "$admin" && return 0
    show_log "$my/mariadbd.out"
    show_log "$my/error.log"
    if proc_alive "$pid"; then
        die "MariaDB: server did not accept connections within ${WAIT_SECS}s"
    fi
    die "MariaDB: server exited during startup"
}

cmd_restart() {
    local which=$1 dir
    [[ -d ${2:-} ]] || die "restart: directory '${2:-}' does not exist"
    dir=$(abs_dir "$2") || die "restart: cannot access $2"
    cd "$dir"
    case $which in
        postgresql) restart_postgres "$dir" ;;
        mysql|mariadb) restart_mariadb "$dir" ;;
        *) usage ;;
    esac
}

# Sourced (by the scale-out topology scripts under scripts/scaleout/), this
# file only defines its functions: the commands run when it is executed.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
    case ${1:-} in
        start) [[ $# -eq 2 ]] || usage; cmd_start "$2" ;;
        stop)  [[ $# -eq 2 ]] || usage; cmd_stop "$2" ;;
        restart) [[ $# -eq 3 ]] || usage; cmd_restart "$2" "$3" ;;
        -h|--help) usage ;;
        *) usage ;;
    esac
fi
