/* driver.h — the contract between the engine and each backend's driver. */
#ifndef CR_DRIVER_H
#define CR_DRIVER_H

#include "base/base.h"

/* One host of a URL: a name or address (an IPv6 address without its
 * brackets), and its port, 0 when the URL gives none (the backend's default). */
typedef struct cr_url_host {
    char *name;         /* NULL: none given (postgresql://:5433/db)            */
    int port;
} cr_url_host;

/* A parsed database URL: backend[+driver]://user:password@host:port/database?k=v
 * or, with several hosts for failover, ...@h1:port1,[::1]:port2,h3/database...
 * (libpq's multi-host form). All strings are owned by the URL; user, password,
 * database and options are percent-decoded; absent parts are NULL (port 0). */
typedef struct cr_url {
    char *backend;      /* "sqlite", "postgresql", "mysql" (mariadb maps here) */
    char *driver;       /* the part after '+', or NULL                         */
    char *username;
    char *password;
    cr_url_host *hosts; /* nhosts hosts in URL order; none: NULL, 0            */
    size_t nhosts;
    char *host;         /* the first host's name and port, for the code that   */
    int port;           /* uses one (host points into hosts[0], not owned)     */
    char *database;
    size_t nquery;
    char **query_keys;  /* nquery options in URL order */
    char **query_values;
} cr_url;

/* Parse url into *out. On error returns CR_ERR_ARGUMENT with the reason in err
 * (never quoting the password). */
cr_status cr_url_parse(const char *url, cr_url *out, cr_error *err);
void cr_url_free(cr_url *url);
/* Parse one "host[:port]" or "[ipv6][:port]" of len bytes into out (its name
 * owned by out, NULL when empty); CR_ERR_ARGUMENT naming a bad port or an
 * unterminated '['. For drivers that take hosts from options too. */
cr_status cr_url_parse_host(const char *spec, size_t len, cr_url_host *out, cr_error *err);
/* The URL rendered back with the password masked as "***". Owned by caller. */
char *cr_url_render_safe(const cr_url *url);
/* The value of query option key, or NULL. */
const char *cr_url_query(const cr_url *url, const char *key);
/* Take query option key out of the URL (every occurrence, for options
 * that Crucible consumes and no driver sees). Returns its last value, which
 * the caller frees, or NULL when it was absent. */
char *cr_url_take_query(cr_url *url, const char *key);
/* A URL flag: 1/0, true/false, on/off, yes/no (any case) into *out; false
 * when v is none of them. */
bool cr_url_parse_flag(const char *v, bool *out);
/* Replace the database, and add (or replace) a query option. */
cr_status cr_url_set_database(cr_url *url, const char *database, cr_error *err);
cr_status cr_url_set_query(cr_url *url, const char *key, const char *value, cr_error *err);

/* How a driver spells a bound parameter in SQL text. */
typedef enum cr_param_style {
    CR_PARAM_QMARK,          /* ?    — one per occurrence, in order (MySQL)    */
    CR_PARAM_NUMBERED_QMARK, /* ?NNN — one per distinct name (SQLite)          */
    CR_PARAM_DOLLAR,         /* $NNN — one per distinct name (PostgreSQL)      */
    CR_PARAM_NAMED           /* :name — rendering only (str(stmt))             */
} cr_param_style;

typedef struct cr_driver_conn cr_driver_conn;  /* each driver defines these */
typedef struct cr_driver_stmt cr_driver_stmt;

/* A driver: plain functions over the client library, no policy. The engine
 * decides transactions, caching and logging; the driver runs what it is told
 * and maps errors. Every function that can fail returns a cr_status and fills
 * err: class (cr_sqlstate_class where there is a SQLSTATE), sqlstate, the
 * client library's code and message, and disconnect when the connection is
 * gone. The engine attaches the statement text itself. */
typedef struct cr_driver {
    const char *name;                 /* "sqlite", "postgresql", "mysql"   */
    cr_param_style param_style;
    const char *default_isolation;    /* the level a new connection has     */

    /* Optional: check the URL's options without connecting, when the
     * engine is made (CR_ERR_ARGUMENT naming the option). connect checks
     * them again. */
    cr_status (*check_url)(const cr_url *url, cr_error *err);
    cr_status (*connect)(const cr_url *url, cr_driver_conn **out, cr_error *err);
    /* Close a connection whose statements have all been finalized. */
    void (*close)(cr_driver_conn *dc);

    /* Run SQL that takes no parameters and whose rows are not read: BEGIN,
     * COMMIT, ROLLBACK, SAVEPOINT, SET ... */
    cr_status (*exec_simple)(cr_driver_conn *dc, const char *sql, cr_error *err);
    /* Apply an isolation level by name ("SERIALIZABLE", "REPEATABLE READ",
     * "READ COMMITTED", "READ UNCOMMITTED"; never "AUTOCOMMIT", which the
     * engine handles by not beginning transactions). CR_ERR_ARGUMENT naming
     * the levels the backend has when it has not this one. */
    cr_status (*set_isolation)(cr_driver_conn *dc, const char *level, cr_error *err);

    /* Optional, both or neither: for servers reached through a transaction
     * pooler (PgBouncer's pool_mode=transaction), whose server session can
     * change between transactions, so that nothing may be left in it.
     * unnamed_statements: from now on dc runs every statement as the
     * unnamed one, in a single round trip that a pooler cannot split
     * (Parse, Bind, Execute and Sync together), and never creates, keeps or
     * deallocates a named server statement. begin_isolated: BEGIN with the
     * isolation level of that transaction alone (canonical, as for
     * set_isolation, whose errors it shares). A driver without them does
     * not support the engine's prepared_statements = CR_NO. */
    void (*unnamed_statements)(cr_driver_conn *dc);
    cr_status (*begin_isolated)(cr_driver_conn *dc, const char *level, cr_error *err);

    /* Prepare SQL whose parameters are already in the driver's style, with
     * nparams placeholders. The statement is reused across executions. */
    cr_status (*prepare)(cr_driver_conn *dc, const char *sql, int nparams,
                         cr_driver_stmt **out, cr_error *err);
    void (*finalize)(cr_driver_stmt *st);

    /* Bind params[0..nparams-1] and execute. Afterwards ncols, colname,
     * rowcount and lastrowid describe the outcome and fetch yields the rows.
     * stream: fetch rows from the server as they are read rather than
     * buffering them at execute (drivers whose client streams anyway ignore
     * it). Values borrowed from params need not outlive the call. */
    cr_status (*execute)(cr_driver_stmt *st, const cr_value *params, bool stream,
                         cr_error *err);
    int (*ncols)(cr_driver_stmt *st);
    /* Optional: a counter that changes whenever the statement's columns may
     * have changed (a re-prepare after a schema change). When it is the same
     * as at the last execute, the engine trusts the column names it copied;
     * without it, it compares them after every execute. */
    uint64_t (*shape)(cr_driver_stmt *st);
    /* Column i's name, valid until the next execute, reset or finalize (the
     * engine copies what it keeps). */
    const char *(*colname)(cr_driver_stmt *st, int i);
    /* Read the next row into row[0..ncols-1]: CR_ROW, CR_DONE or an error.
     * Text and blob bytes stay valid until the next fetch or reset; text is
     * NUL-terminated. Must not allocate per row in steady state. */
    int (*fetch)(cr_driver_stmt *st, cr_value *row, cr_error *err);
    /* Rows affected by the last execute (for statements returning rows,
     * what the client library reports: rows buffered, or -1); -1 when not
     * known. */
    int64_t (*rowcount)(cr_driver_stmt *st);
    /* Generated key of the last INSERT, or CR_ERR_NOT_SUPPORTED. */
    cr_status (*lastrowid)(cr_driver_stmt *st, int64_t *out, cr_error *err);
    /* Discard unread rows so the statement can execute again. Never fails in
     * a way the caller must handle; a broken connection shows on the next
     * call. While one statement streams (execute with stream), the engine
     * runs nothing else on its connection but transaction control at close,
     * before which it resets the streaming statement. */
    void (*reset)(cr_driver_stmt *st);

    /* Replication, for read replicas (engine/replica.c). All optional: a
     * backend without replicas (SQLite) leaves them NULL. A position is
     * text the backend defines (a WAL LSN, a GTID list), at most
     * CR_POSITION_MAX bytes with its NUL. */
    /* The server's write position now: every transaction committed on it
     * before the call is at or before it. */
    cr_status (*write_position)(cr_driver_conn *dc, char *buf, size_t size, cr_error *err);
    /* Check the syntax of a position that came from outside (a token),
     * without a server: CR_ERR_ARGUMENT saying what is wrong. */
    cr_status (*check_position)(const char *pos, cr_error *err);
    /* Merge pos into into (size bytes, a position or ""): afterwards into
     * is at or past both. Both are checked positions. */
    cr_status (*merge_position)(char *into, size_t size, const char *pos, cr_error *err);
    /* On a replica: wait up to timeout seconds for it to have applied
     * everything up to pos; *reached says whether it did. A server that is
     * not a replica has applied everything it has: reached. */
    cr_status (*wait_position)(cr_driver_conn *dc, const char *pos, double timeout,
                               bool *reached, cr_error *err);
    /* On a replica: how many seconds it is behind its primary (0: caught
     * up; INFINITY when its replay is stopped and the lag is unknown). 0 on
     * a server that is not a replica. */
    cr_status (*replica_lag)(cr_driver_conn *dc, double *seconds, cr_error *err);
    /* The connection's socket (-1 when unknown), for the engine's cheap
     * check, without a round trip, that the server has not closed it. */
    int (*socket)(cr_driver_conn *dc);
} cr_driver;

#define CR_POSITION_MAX 256

/* The drivers compiled in: each only when its client library was found. */
#ifdef CRUCIBLE_HAVE_SQLITE
extern const cr_driver cr_sqlite_driver;
#endif
#ifdef CRUCIBLE_HAVE_POSTGRESQL
extern const cr_driver cr_postgresql_driver;
#endif
#ifdef CRUCIBLE_HAVE_MYSQL
extern const cr_driver cr_mysql_driver;
#endif

/* Helpers shared by drivers. */
/* replication.c: PostgreSQL's WAL LSNs ("16/B374D848") and MariaDB's GTID
 * lists ("0-1-42,1-2-7") as positions (see write_position). */
cr_status cr_lsn_parse(const char *text, uint64_t *out, cr_error *err);
cr_status cr_lsn_merge(char *into, size_t size, const char *pos, cr_error *err);
cr_status cr_gtid_check(const char *text, cr_error *err);
cr_status cr_gtid_merge(char *into, size_t size, const char *pos, cr_error *err);

/* Map SQL isolation names to upper-case canonical form or NULL if unknown. */
const char *cr_isolation_canonical(const char *level);

#endif
