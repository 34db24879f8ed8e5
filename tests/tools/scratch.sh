# scratch.sh — sourced by the test scripts that need a database of their own.
#
#   scratch_database BACKEND SCRATCH_DB NAME
#
# Makes WORK (a temporary directory, removed at exit) and sets URL: a SQLite
# file in WORK, or, on PostgreSQL and MariaDB, the database crucible_scratch_NAME
# made empty by SCRATCH_DB (tests/tools/scratch_db.c) on the server of
# CRUCIBLE_PG_URL / CRUCIBLE_MYSQL_URL and dropped at exit. Without that
# server it exits 77 (skipped), or 1 when CRUCIBLE_REQUIRE_ALL_BACKENDS=1.
scratch_database() {
    local backend=$1 name=crucible_scratch_$3
    scratch_db=$2
    WORK=$(mktemp -d)
    scratch_server=""
    scratch_name=$name
    trap scratch_cleanup EXIT
    case $backend in
        sqlite) URL="sqlite:///$WORK/$3.db"; return 0 ;;
        postgresql) scratch_server=${CRUCIBLE_PG_URL:-} ;;
        mysql) scratch_server=${CRUCIBLE_MYSQL_URL:-} ;;
        *) echo "unknown backend $backend" >&2; exit 2 ;;
    esac
    if [[ -z $scratch_server ]]; then
        if [[ ${CRUCIBLE_REQUIRE_ALL_BACKENDS:-} == 1 ]]; then
            echo "no server for $backend (CRUCIBLE_REQUIRE_ALL_BACKENDS=1)" >&2
            exit 1
        fi
        echo "no server for $backend: skipped" >&2
        exit 77
    fi
    URL=$("$scratch_db" create "$scratch_server" "$name")
}

scratch_cleanup() {
    [[ -z ${scratch_server:-} ]] || "$scratch_db" drop "$scratch_server" "$scratch_name" || true
    rm -rf "$WORK"
}
