#!/usr/bin/env bash
# A MariaDB primary with one GTID replica on loopback, for the read-replica tests.
#
#   mariadb-replica.sh start DIR            primary under DIR/myrepl/primary,
#                                           replica under DIR/myrepl/replica;
#                                           appends to DIR/env
#   mariadb-replica.sh stop DIR             stop both (safe after a partial
#                                           start, safe to repeat)
#   mariadb-replica.sh kill-replica 1 DIR   kill the replica (SIGKILL, a crash)
#   mariadb-replica.sh start-replica 1 DIR  start it again, same port; it
#                                           resumes replication from its GTID
#
# DIR/env gets CRUCIBLE_MYSQL_PRIMARY_URL and CRUCIBLE_MYSQL_REPLICA_URL
# (user crucible, database crucible_test). The replica runs read_only; the
# user may run STOP / START SLAVE SQL_THREAD and SHOW SLAVE STATUS there
# (REPLICATION SLAVE ADMIN, SLAVE MONITOR), so that a test can hold the
# replica's replay back.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../test-servers.sh
source "$HERE/../test-servers.sh"
PROG=mariadb-replica.sh

# launch DIR/x PORT SERVER_ID [extra options]: mariadbd in the background,
# binary log and GTIDs on; pid in DIR/x/launch.pid.
launch() {
    local my=$1 port=$2 id=$3
    shift 3
    "${AS_USER[@]}" "$MARIADBD" --no-defaults \
        --datadir="$my/data" --tmpdir="$my/tmp" \
        --socket="$my/mysqld.sock" --port="$port" --bind-address=127.0.0.1 \
        --pid-file="$my/mariadbd.pid" --log-error="$my/error.log" \
        --skip-name-resolve --server-id="$id" --log-bin="$my/data/binlog" \
        --binlog-format=ROW --log-slave-updates=0 \
        --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci \
        --innodb-flush-log-at-trx-commit=0 --innodb-doublewrite=0 --sync-binlog=0 \
        --innodb-buffer-pool-size=32M --performance-schema=0 "$@" \
        </dev/null >>"$my/mariadbd.out" 2>&1 &
    printf '%s\n' "$!" >"$my/launch.pid"
    local i
    for ((i = 0; i < WAIT_SECS * 20; i++)); do
        proc_alive "$(cat "$my/launch.pid")" || return 1
        "$ADMIN" --no-defaults --socket="$my/mysqld.sock" -uroot --connect-timeout=2 \
            ping >/dev/null 2>&1 && return 0
        sleep 0.05
    done
    return 1
}

# start_one DIR/x SERVER_ID [extra options]: on a free port (PORT).
start_one() {
    local my=$1 id=$2 attempt
    shift 2
    for ((attempt = 1; attempt <= PORT_ATTEMPTS; attempt++)); do
        PORT=$(pick_port 5432 3306 ${USED_PORTS[@]+"${USED_PORTS[@]}"})
        log "MariaDB ($my): starting on 127.0.0.1:$PORT"
        if launch "$my" "$PORT" "$id" "$@"; then
            USED_PORTS+=("$PORT")
            printf '%s\n' "$PORT" >"$my/port"
            return 0
        fi
        if grep -qE 'Address already in use' "$my/error.log" 2>/dev/null; then
            : >"$my/error.log"
            continue
        fi
        break
    done
    show_log "$my/error.log"
    die "MariaDB under $my failed to start"
}

sql() { "$CLIENT" --no-defaults --socket="$1/mysqld.sock" -uroot; }

find_tools() {
    INSTALLDB=$(find_cmd mariadb-install-db mysql_install_db) || die "mariadb-install-db not found"
    MARIADBD=$(find_cmd mariadbd mysqld /usr/libexec/mariadbd) || die "mariadbd not found"
    ADMIN=$(find_cmd mariadb-admin mysqladmin) || die "mariadb-admin not found"
    CLIENT=$(find_cmd mariadb mysql) || die "mariadb client not found"
}

USED_PORTS=()

cmd_start_r() {
    local top dir t0=$SECONDS p r pw pport rport
    [[ -d ${1:-} ]] || die "start: directory '${1:-}' does not exist"
    top=$(abs_dir "$1") || die "start: cannot access $1"
    dir=$top/myrepl
    [[ ! -e $dir ]] || die "start: $dir already holds a topology; use a fresh directory"
    mkdir -p "$dir"
    cd "$top"
    setup_user
    if ((EUID == 0)); then chmod o+x "$top" "$dir"; fi
    find_tools
    p=$dir/primary r=$dir/replica
    mkdir -p "$p/data" "$p/tmp" "$r/tmp"
    # On a failure, test-servers.sh's handler stops what started (cmd_stop,
    # which this script defines again for its servers).
    START_DIR=$top
    CURRENT="the MariaDB replica topology"
    trap on_start_exit EXIT
    if ((EUID == 0)); then chown -R "$TEST_OS_USER:" "$p" "$r"; fi
    chmod 700 "$p" "$r"
    "${AS_USER[@]}" "$INSTALLDB" --no-defaults --datadir="$p/data" \
        --auth-root-authentication-method=normal --skip-test-db --skip-name-resolve \
        >"$p/install.log" 2>&1 || { show_log "$p/install.log"; die "mariadb-install-db failed"; }
    # The replica starts from a copy of the empty system tables (quicker
    # than a second install); everything after comes by replication.
    "${AS_USER[@]}" cp -a "$p/data" "$r/data"
    start_one "$p" 1
    pport=$PORT
    start_one "$r" 2 --read-only=1 --skip-slave-start=1
    rport=$PORT
    pw=$(my_literal "$DB_PASSWORD")
    sql "$p" >"$p/setup.log" 2>&1 <<EOF || { show_log "$p/setup.log"; die "primary setup failed"; }
DROP USER IF EXISTS 'root'@'127.0.0.1', 'root'@'::1';
CREATE DATABASE $DB_NAME CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER '$DB_USER'@'%' IDENTIFIED BY $pw;
GRANT ALL PRIVILEGES ON \`$DB_NAME\`.* TO '$DB_USER'@'%';
GRANT REPLICATION SLAVE ADMIN, SLAVE MONITOR ON *.* TO '$DB_USER'@'%';
CREATE USER 'repl'@'%' IDENTIFIED BY $pw;
GRANT REPLICATION SLAVE ON *.* TO 'repl'@'%';
EOF
    sql "$r" >"$r/setup.log" 2>&1 <<EOF || { show_log "$r/setup.log"; die "replica setup failed"; }
DROP USER IF EXISTS 'root'@'127.0.0.1', 'root'@'::1';
SET GLOBAL gtid_slave_pos = '';
CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=$pport, MASTER_USER='repl',
    MASTER_PASSWORD=$pw, MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1;
START SLAVE;
EOF
    local url="mysql://$DB_USER:$(urlencode "$DB_PASSWORD")@127.0.0.1"
    printf '[client]\nuser=%s\npassword="%s"\n' "$DB_USER" "$DB_PASSWORD" >"$dir/client.cnf"
    chmod 600 "$dir/client.cnf"
    wait_ready "$WAIT_SECS" "$CLIENT" --defaults-file="$dir/client.cnf" --protocol=TCP \
        -h 127.0.0.1 -P "$rport" -D "$DB_NAME" -e 'SELECT 1' ||
        { show_log "$r/error.log"; die "the replica did not replicate the test user and database"; }
    START_DIR=""
    printf '%s=%q\n' CRUCIBLE_MYSQL_PRIMARY_URL "$url:$pport/$DB_NAME" \
        CRUCIBLE_MYSQL_REPLICA_URL "$url:$rport/$DB_NAME" \
        CRUCIBLE_MYSQL_REPLICA_DIR "$top" >>"$top/env"
    log "MariaDB primary on $pport, replica on $rport (started in $((SECONDS - t0))s)"
}

# Stop the server under $1 (DIR/x); non-zero if it still runs.
stop_one() {
    local my=$1 pid
    pid=$(cat "$my/launch.pid" 2>/dev/null || true)
    proc_alive "$pid" 'mariadbd|mysqld' || return 0
    kill -TERM "$pid" 2>/dev/null || true
    wait_gone "$pid" 30 'mariadbd|mysqld' || kill -KILL "$pid" 2>/dev/null || true
    wait_gone "$pid" 10 'mariadbd|mysqld'
}

cmd_stop() {
    local dir rc=0 x
    [[ -d ${1:-} ]] || { log "stop: directory '${1:-}' does not exist; nothing to stop"; return 0; }
    dir=$(abs_dir "$1")/myrepl || die "stop: cannot access $1"
    [[ -d $dir ]] || return 0
    cd "$dir"
    for x in replica primary; do
        [[ -d $dir/$x ]] || continue
        stop_one "$dir/$x" || { log "error: MariaDB in $dir/$x is still running"; rc=1; }
    done
    return "$rc"
}

replica_dir() {
    [[ ${1:-} == 1 ]] || die "replica number must be 1 (got '${1:-}')"
    [[ -d ${2:-} ]] || die "directory '${2:-}' does not exist"
    local dir
    dir=$(abs_dir "$2")/myrepl
    [[ -f $dir/replica/port ]] || die "no replica under $dir"
    printf '%s\n' "$dir/replica"
}

cmd_kill_replica() {
    local r pid
    r=$(replica_dir "$@")
    pid=$(cat "$r/launch.pid" 2>/dev/null || true)
    proc_alive "$pid" 'mariadbd|mysqld' || return 0
    kill -KILL "$pid" 2>/dev/null || true
    wait_gone "$pid" 10 'mariadbd|mysqld'
    # The main thread can be a zombie while other threads still hold the
    # sockets: done when its listening socket (closed with all the others)
    # is gone.
    local port i
    port=$(cat "$r/port")
    for ((i = 0; i < 100; i++)); do
        [[ -z $(ss -Htln "sport = :$port" 2>/dev/null) ]] && return 0
        sleep 0.05
    done
    die "the killed replica still listens on $port"
}

cmd_start_replica() {
    local r owner
    r=$(replica_dir "$@")
    proc_alive "$(cat "$r/launch.pid" 2>/dev/null || true)" 'mariadbd|mysqld' && return 0
    cd "$r"
    find_tools
    owner=$(stat -c %U "$r/data")
    as_user_prefix "$owner"
    launch "$r" "$(cat "$r/port")" 2 --read-only=1 ||
        { show_log "$r/error.log"; die "the replica did not start again"; }
}

case ${1:-} in
    start) [[ $# -eq 2 ]] || die "usage: $PROG start DIR"; cmd_start_r "$2" ;;
    stop) [[ $# -eq 2 ]] || die "usage: $PROG stop DIR"; cmd_stop "$2" ;;
    kill-replica) [[ $# -eq 3 ]] || die "usage: $PROG kill-replica 1 DIR"; cmd_kill_replica "$2" "$3" ;;
    start-replica) [[ $# -eq 3 ]] || die "usage: $PROG start-replica 1 DIR"; cmd_start_replica "$2" "$3" ;;
    *) die "usage: $PROG start DIR | stop DIR | kill-replica 1 DIR | start-replica 1 DIR" ;;
esac
