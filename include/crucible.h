/* crucible.h — the public API of Crucible, the SQL toolkit for C.
 *
 * Crucible gives a C program one API over SQLite, PostgreSQL and MySQL/MariaDB:
 * an engine configured by a URL, connections with transactions and savepoints,
 * textual SQL with named parameters that are always bound (never pasted into
 * the SQL), results streamed row by row with typed column access, and errors
 * classified as SQLAlchemy classifies them.
 *
 * Conventions used throughout this header:
 *
 *   Status.   A fallible call returns a cr_status: CR_OK (0) on success, else
 *             the class of the error. Calls that return a handle return NULL
 *             on failure. The detail of the last failure stays on the handle
 *             the call was made on (cr_conn_error, cr_result_error, ...).
 *   Handles.  Opaque; made by a constructor, released by a destructor.
 *             Passing NULL to a destructor is a no-op. Passing NULL to any
 *             other call is reported as CR_ERR_ARGUMENT, never a crash.
 *   Memory.   Whoever creates a thing frees it. A pointer a getter returns is
 *             borrowed: it stays valid until the point its documentation names
 *             (typically the next fetch on the same result, or freeing it).
 *   Threads.  An engine may be shared by any number of threads. A connection,
 *             a result and a row set belong to one thread at a time.
 *   Output.   The library never prints, aborts or exits on its own. Echo
 *             logging writes only when asked (cr_engine_options.echo).
 */
#ifndef CRUCIBLE_H
#define CRUCIBLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(CRUCIBLE_BUILDING) && defined(__GNUC__)
#define CR_API __attribute__((visibility("default")))
#else
#define CR_API
#endif

#define CRUCIBLE_VERSION "0.1.0"

/* ------------------------------------------------------------------------
 * Status codes and errors
 * ------------------------------------------------------------------------ */

/* The classes follow SQLAlchemy's exception hierarchy (sqlalchemy.exc).
 * Database errors carry the backend's SQLSTATE where it has one. */
typedef enum cr_status {
    CR_OK = 0,
    /* Raised by the database (DBAPI errors in SQLAlchemy's terms). */
    CR_ERR_INTERFACE,        /* InterfaceError: misuse of the client library    */
    CR_ERR_DATABASE,         /* DatabaseError: a database error of no finer class */
    CR_ERR_DATA,             /* DataError: bad value (overflow, bad format ...)  */
    CR_ERR_OPERATIONAL,      /* OperationalError: connection lost, locked, ...   */
    CR_ERR_INTEGRITY,        /* IntegrityError: unique, foreign key, not null    */
    CR_ERR_INTERNAL,         /* InternalError: the database's own inconsistency  */
    CR_ERR_PROGRAMMING,      /* ProgrammingError: SQL syntax, missing table ...  */
    CR_ERR_NOT_SUPPORTED,    /* NotSupportedError: feature the backend lacks     */
    /* Raised by Crucible itself. */
    CR_ERR_ARGUMENT,         /* ArgumentError: a bad argument (URL, name, type)  */
    CR_ERR_INVALID_REQUEST,  /* InvalidRequestError: call not valid in this state */
    CR_ERR_NO_RESULT_FOUND,  /* NoResultFound: one() / scalar_one() saw no row   */
    CR_ERR_MULTIPLE_RESULTS, /* MultipleResultsFound: one() saw more than one row */
    CR_ERR_RESOURCE_CLOSED,  /* ResourceClosedError: result or connection closed */
    CR_ERR_NO_MEMORY,        /* out of memory                                   */
    CR_ERR_TIMEOUT,          /* TimeoutError: pool checkout timed out           */
    /* Raised by the ORM (sqlalchemy.orm.exc and sqlalchemy.exc names). */
    CR_ERR_PENDING_ROLLBACK, /* PendingRollbackError: a flush failed; rollback first */
    CR_ERR_STALE_DATA,       /* StaleDataError: the row changed or went meanwhile */
    CR_ERR_DETACHED_INSTANCE,/* DetachedInstanceError: the object is in no session */
    CR_ERR_OBJECT_DELETED,   /* ObjectDeletedError: the object's row is gone     */
    CR_ERR_FLUSH,            /* FlushError: the flush cannot be done as asked    */
    CR_ERR_UNMAPPED_INSTANCE /* UnmappedInstanceError: not an object of a model  */
} cr_status;

/* One error: its class, SQLSTATE, the driver's own code and message, and the
 * statement that failed. Errors are read through the accessors below. */
typedef struct cr_error cr_error;

/* The class of the error, CR_OK for NULL. */
CR_API cr_status cr_error_class(const cr_error *err);
/* SQLAlchemy's name of the class: "IntegrityError", "OperationalError", ... */
CR_API const char *cr_error_class_name(const cr_error *err);
/* The five-character SQLSTATE ("23505"), or "" when the backend gave none. */
CR_API const char *cr_error_sqlstate(const cr_error *err);
/* The driver's own error code (SQLite extended result code, MySQL errno,
 * 0 for PostgreSQL and for Crucible's own errors). */
CR_API long cr_error_code(const cr_error *err);
/* The message: the driver's text, or Crucible's for its own errors. Never
 * contains a password. Never NULL. */
CR_API const char *cr_error_message(const cr_error *err);
/* The statement that failed, or NULL when the error is not about one. */
CR_API const char *cr_error_statement(const cr_error *err);
/* True when the error means the connection to the database was lost
 * (OperationalError): the server went away, restarted, failed over, or
 * dropped the session; or that it is of no further use: a MariaDB Galera
 * node that is not a synced member of its cluster's primary component
 * refuses statements (error 1047, "WSREP has not yet prepared node for
 * application use"). The engine then replaces every pooled connection
 * opened before the loss at its next checkout, as SQLAlchemy invalidates its
 * pool; the connection that saw it is discarded when closed. */
CR_API bool cr_error_is_disconnect(const cr_error *err);
/* True when running the transaction again, on a new connection, may
 * succeed:
 * - a serialization failure or deadlock (SQLSTATE 40001, 40P01; MySQL 1213,
 *   1205 — on a MariaDB Galera cluster 1213 is also how a transaction that
 *   lost certification to a conflicting one committed on another node is
 *   reported; SQLite busy or locked);
 * - a lost connection (cr_error_is_disconnect) in a transaction before its
 *   COMMIT was sent: the server rolled the transaction back, nothing of it
 *   was committed;
 * - a Galera node not ready (1047, above), whatever the statement, COMMIT
 *   included: the node refused it without running it. The new connection
 *   goes to another node when the URL names several (multi-host URL).
 * Never true when cr_error_is_commit_unknown is. A failure to connect is not
 * retryable (a bad password looks like a server that is not up yet). */
CR_API bool cr_error_is_retryable(const cr_error *err);
/* True when the connection was lost while a COMMIT was in flight (or, on a
 * connection in AUTOCOMMIT, while a statement was, which commits itself):
 * the transaction may have been committed or not, and no one can tell from
 * this side. Running it again could apply it twice, so neither
 * cr_engine_run_transaction nor SQLAlchemy does; check the database for its
 * effect (a row with a known key) on a new connection, then decide. */
CR_API bool cr_error_is_commit_unknown(const cr_error *err);
/* Release an error handed to the caller (by cr_create_engine). */
CR_API void cr_error_free(cr_error *err);
/* SQLAlchemy's name for a status: cr_status_name(CR_ERR_INTEGRITY) is
 * "IntegrityError"; cr_status_name(CR_OK) is "OK". */
CR_API const char *cr_status_name(cr_status status);

/* ------------------------------------------------------------------------
 * Values
 * ------------------------------------------------------------------------ */

typedef enum cr_type {
    CR_NULL = 0,
    CR_INT,       /* 64-bit signed integer                          */
    CR_DOUBLE,    /* double                                         */
    CR_BOOL,      /* bool                                           */
    CR_TEXT,      /* UTF-8 text with its length                     */
    CR_BLOB,      /* bytes with their length                        */
    CR_DATE,      /* cr_datetime, date fields                        */
    CR_TIME,      /* cr_datetime, time fields                        */
    CR_DATETIME,  /* cr_datetime, all fields                         */
    CR_NUMERIC    /* exact decimal as text: "-12.50"                 */
} cr_type;

/* A calendar date and/or time of day, with microseconds. When has_utc_offset
 * is set, utc_offset is the offset east of UTC in seconds (timestamptz).
 * SQLite keeps no offset: a value with one is stored as the same instant in
 * UTC and reads back without an offset. (SQLAlchemy's SQLite DATETIME drops
 * the offset and stores the wall time, 12:00+01:00 as 12:00; Crucible stores
 * 11:00, the instant, which SQLAlchemy then reads as 11:00 naive UTC. Give
 * naive values in UTC to agree with such a program.) */
typedef struct cr_datetime {
    int year, month, day;
    int hour, minute, second, microsecond;
    int utc_offset;
    bool has_utc_offset;
} cr_datetime;

/* A typed value: a parameter passed in, or a column value read out. */
typedef struct cr_value {
    cr_type type;
    union {
        int64_t i;                                  /* CR_INT              */
        double d;                                   /* CR_DOUBLE           */
        bool b;                                     /* CR_BOOL             */
        struct { const char *ptr; size_t len; } s;  /* CR_TEXT, CR_NUMERIC */
        struct { const void *ptr; size_t len; } blob; /* CR_BLOB           */
        cr_datetime dt;                             /* CR_DATE/TIME/DATETIME */
    } v;
} cr_value;

/* Value constructors. Text and blob values borrow the caller's bytes for the
 * duration of the call they are passed to. cr_val_text(NULL) is NULL. They
 * are inline: building parameters costs no call. A value built by hand with
 * a NULL text or blob pointer and a length other than 0 is refused with
 * CR_ERR_ARGUMENT wherever it is passed. */
static inline cr_value cr_val_null(void) { cr_value v = {CR_NULL, {0}}; return v; }
static inline cr_value cr_val_int(int64_t i) { cr_value v = {CR_INT, {0}}; v.v.i = i; return v; }
static inline cr_value cr_val_double(double d) { cr_value v = {CR_DOUBLE, {0}}; v.v.d = d; return v; }
static inline cr_value cr_val_bool(bool b) { cr_value v = {CR_BOOL, {0}}; v.v.b = b; return v; }
static inline cr_value cr_val_textn(const char *s, size_t len)
{
    cr_value v = {s ? CR_TEXT : CR_NULL, {0}};
    v.v.s.ptr = s;
    v.v.s.len = s ? len : 0;
    return v;
}
static inline cr_value cr_val_text(const char *s) { return cr_val_textn(s, s ? strlen(s) : 0); }
static inline cr_value cr_val_blob(const void *p, size_t len)
{
    cr_value v = {p || !len ? CR_BLOB : CR_NULL, {0}};
    v.v.blob.ptr = p ? p : "";
    v.v.blob.len = p ? len : 0;
    return v;
}
/* A decimal number as text, as Python's Decimal reads one ("-12.50", "1e-3",
 * "NaN"): anything else is an ArgumentError where it is bound. */
static inline cr_value cr_val_numeric(const char *decimal)
{
    cr_value v = cr_val_text(decimal);
    if (decimal)
        v.type = CR_NUMERIC;
    return v;
}
static inline cr_value cr_val_date(int year, int month, int day)
{
    cr_value v = {CR_DATE, {0}};
    v.v.dt.year = year;
    v.v.dt.month = month;
    v.v.dt.day = day;
    return v;
}
static inline cr_value cr_val_time(int hour, int minute, int second, int microsecond)
{
    cr_value v = {CR_TIME, {0}};
    v.v.dt.hour = hour;
    v.v.dt.minute = minute;
    v.v.dt.second = second;
    v.v.dt.microsecond = microsecond;
    return v;
}
static inline cr_value cr_val_datetime(int year, int month, int day, int hour, int minute,
                                       int second, int microsecond)
{
    cr_value v = cr_val_date(year, month, day);
    v.type = CR_DATETIME;
    v.v.dt.hour = hour;
    v.v.dt.minute = minute;
    v.v.dt.second = second;
    v.v.dt.microsecond = microsecond;
    return v;
}
/* The current local date and time, to the microsecond (datetime.now()). */
CR_API cr_value cr_val_now(void);
/* The current UTC date and time, to the microsecond, without an offset
 * (datetime.utcnow(), the usual Column(DateTime, default=...)). */
CR_API cr_value cr_val_utcnow(void);

/* Name of a type: "INTEGER", "TEXT", "DATETIME", ... */
CR_API const char *cr_type_name(cr_type type);

/* Format a date, time or datetime as SQLAlchemy stores it on SQLite:
 * "YYYY-MM-DD", "HH:MM:SS.ffffff" or "YYYY-MM-DD HH:MM:SS.ffffff" (with
 * "+HH:MM", or "+HH:MM:SS" when the offset has seconds, when it has an
 * offset). Writes at most size bytes including the terminating NUL; returns
 * the length it needed, as snprintf does. buf may be NULL when size is 0.
 * Returns -1, writing nothing, when dt is NULL, buf is NULL with a size, or
 * type is not CR_DATE, CR_TIME or CR_DATETIME. What cr_datetime_parse
 * accepts, this writes back in a form that parses to the same value. */
CR_API int cr_datetime_format(const cr_datetime *dt, cr_type type, char *buf,
                              size_t size);
/* A value as Python prints it, for a port's output to match its original:
 * cr_value_format is str() — None, True, 42, 0.1 (a float's shortest form
 * that reads back the same, as repr: 1.0, 1e+16, inf), text and numerics
 * as they are, a blob as b'\x00ab', a date "2024-01-02", a time
 * "03:04:05", a datetime "2024-01-02 03:04:05" (".ffffff" only when not
 * zero, "+HH:MM" when it has an offset). cr_value_repr is repr() — text
 * quoted and escaped ('it\'s' reads "it's"), Decimal('1.50'),
 * datetime.datetime(2024, 1, 2, 3, 4, 5), the rest as cr_value_format.
 * Both write as snprintf does (at most size bytes with the NUL; buf may be
 * NULL when size is 0) and return the length needed, or -1 when v is NULL
 * or not a valid value, or buf is NULL with a size. See also
 * cr_row_format. */
CR_API int cr_value_format(const cr_value *v, char *buf, size_t size);
CR_API int cr_value_repr(const cr_value *v, char *buf, size_t size);

/* Parse "YYYY-MM-DD", "HH:MM[:SS[.ffffff]]" or a date and time separated by a
 * space or 'T', with an optional "Z" or "+HH[[:]MM[[:]SS]]" offset (at most
 * 23:59:59 either way; digits past the sixth of a fraction are dropped).
 * Stores the kind it
 * found in *type (may be NULL). Returns CR_OK or CR_ERR_DATA. */
CR_API cr_status cr_datetime_parse(const char *text, size_t len,
                                   cr_datetime *out, cr_type *type);

/* A named parameter for a statement. A list of them ends with a NULL name. */
typedef struct cr_param {
    const char *name;
    cr_value value;
} cr_param;

/* Build a parameter list in place, without allocation:
 *     CR_PARAMS({"id", cr_val_int(7)}, {"name", cr_val_text("Alice")})   */
#define CR_PARAMS(...) ((const cr_param[]){__VA_ARGS__, {NULL, {CR_NULL, {0}}}})

/* ------------------------------------------------------------------------
 * Engine
 * ------------------------------------------------------------------------ */

typedef struct cr_engine cr_engine;
typedef struct cr_conn cr_conn;
typedef struct cr_result cr_result;
typedef struct cr_row cr_row;
typedef struct cr_rowset cr_rowset;

/* Receives each echo log line (without a trailing newline). Called from
 * whichever thread runs the statement: it must be thread-safe when the engine
 * is shared. */
typedef void (*cr_log_fn)(void *userdata, const char *line);

/* Three-valued options (engine, session and replica options, column
 * definitions): CR_YES, CR_NO, or CR_AUTO (the default, a field left out)
 * to let Crucible decide as SQLAlchemy does. Write CR_NO, never false:
 * false is 0, which is CR_AUTO. cr_tristate is a struct so that compilers
 * catch most such slips: `opts.autoflush = false;` is an error, and
 * `.nullable = false` among a column's options a -Wall warning (missing
 * braces). An initializer of that one field alone,
 * `(cr_session_options){.expire_on_commit = false}`, reads as the {0}
 * idiom and is not caught. Compare a value's .value with CR_NO.value. */
typedef struct cr_tristate { unsigned char value; } cr_tristate;
#define CR_AUTO ((cr_tristate){0})
#define CR_YES ((cr_tristate){1})
#define CR_NO ((cr_tristate){2})

/* Values for options whose zero means "the default": CR_NONE asks for none
 * (no overflow, no wait), CR_UNLIMITED for no limit. */
#define CR_NONE (-1)
#define CR_UNLIMITED (-2)

/* How the engine pools connections (SQLAlchemy's poolclass). */
typedef enum cr_pool_class {
    /* QueuePool: keep up to pool_size connections for reuse; under load
     * open up to max_overflow more, closed again on return; past that,
     * wait up to pool_timeout for one to come back. The default. */
    CR_POOL_QUEUE = 0,
    /* NullPool: open a connection per checkout, close it on return. */
    CR_POOL_NULL
} cr_pool_class;

/* Engine options. Zero-initialise and set what you need; every zero field
 * takes its default. Pass NULL for all defaults. */
typedef struct cr_engine_options {
    /* Log BEGIN (implicit), each statement with its parameters, COMMIT and
     * ROLLBACK, as SQLAlchemy's echo=True does. Off by default. */
    bool echo;
    /* Where echo lines go; NULL writes them to stderr. */
    cr_log_fn log_fn;
    void *log_userdata;
    /* Isolation level of every connection: "SERIALIZABLE",
     * "REPEATABLE READ", "READ COMMITTED", "READ UNCOMMITTED" or
     * "AUTOCOMMIT" (those the backend supports). NULL: the backend's own. */
    const char *isolation_level;
    /* Prepared statements kept per connection (default 100). */
    int statement_cache_size;
    /* Whether statements become named server-side prepared statements,
     * prepared once per connection and reused (CR_YES), or run as the
     * unnamed statement each time (CR_NO). CR_AUTO: as the URL's
     * prepared_statements option says (prepared_statements=false, or 0,
     * no, off), else CR_YES; CR_YES and CR_NO override the URL.
     *
     * Use CR_NO when the server connection under a Crucible connection may
     * change from one transaction to the next: PgBouncer in
     * pool_mode=transaction (unless PgBouncer 1.21 or later tracks named
     * statements, max_prepared_statements > 0) or pool_mode=statement
     * (which allows no transaction of several statements: use
     * isolation_level "AUTOCOMMIT" there), other poolers that multiplex
     * sessions, PostgreSQL-compatible distributed engines that route each
     * transaction. There, two clients' named statements collide on one
     * server connection ("prepared statement "cr_1" already exists") or go
     * missing on another. With CR_NO each statement travels as one round
     * trip (Parse, Bind, Execute and Sync together) that a pooler cannot
     * split, and Crucible leaves nothing else in the server session
     * either: an isolation level (the engine's, or
     * cr_conn_set_isolation_level's) is given with each BEGIN (BEGIN
     * ISOLATION LEVEL ...) instead of being set on the session. What
     * Crucible caches on the client stays: SQL compiled once per
     * statement shape, parameter slots, column names. The cost: the
     * server parses and plans every execution (see bench/, workload
     * unprepared). Behind a pooler, session-level features of your own
     * (SET, LISTEN, advisory locks, temporary tables) break the same way.
     *
     * PostgreSQL only for now: CR_NO (or prepared_statements=false) on
     * another backend is CR_ERR_NOT_SUPPORTED. Also the asyncpg dialect's
     * prepared_statement_cache_size=0 and psycopg's prepare_threshold=None
     * in SQLAlchemy's terms. */
    cr_tristate prepared_statements;

    /* The pool (an in-memory SQLite engine always shares one database). */
    cr_pool_class poolclass;
    /* Connections kept open for reuse (default 5; CR_UNLIMITED). */
    int pool_size;
    /* Connections opened beyond pool_size when all are in use (default 10;
     * CR_NONE for none, CR_UNLIMITED). */
    int max_overflow;
    /* Seconds to wait for a connection when pool_size + max_overflow are
     * all checked out, then CR_ERR_TIMEOUT (default 30; CR_NONE: fail at
     * once). */
    double pool_timeout;
    /* Replace a connection at checkout once it is this many seconds old
     * (default: never) — for servers and proxies that drop old ones. */
    double pool_recycle;
    /* Test each connection with a round trip at checkout and replace it
     * when the server is gone (pool_pre_ping=True). */
    bool pool_pre_ping;
    /* Hand out the most recently returned connection first (LIFO), letting
     * the others idle out; the default is first in, first out. */
    bool pool_use_lifo;
    /* Log checkouts, returns, invalidations and recycles (echo_pool). */
    bool echo_pool;

    /* SQLite only (ignored by the other backends, which always enforce
     * foreign keys): whether each connection runs PRAGMA foreign_keys=ON.
     * CR_AUTO: as the URL's foreign_keys option says (foreign_keys=0 or
     * false turns it off), else on — data integrity first. CR_YES or CR_NO
     * override the URL. */
    cr_tristate sqlite_foreign_keys;
} cr_engine_options;

/* Create an engine for a database URL (NULL: the environment's
 * DATABASE_URL; neither is an ArgumentError), parsed as SQLAlchemy parses them:
 *   sqlite:///relative.db   sqlite:////absolute/path.db   sqlite://
 *   sqlite:///:memory:      postgresql://user:pass@host:port/db?opt=value
 *   postgresql+libpq://...  mysql://...  mariadb://...  mysql+mariadb://...
 * User and password are percent-decoded; query options go to the driver
 * (sslmode, connect_timeout, unix_socket, charset ...). SQLite's options
 * (timeout: seconds from 0 to 2147483, uri, foreign_keys, journal_mode:
 * delete, truncate, persist, memory, wal or off) and MySQL's
 * (connect_timeout, read_timeout, write_timeout: whole seconds from 0 to
 * 2147483647; ssl_verify_server_cert ...) are checked here, PostgreSQL's by
 * libpq at connect: a bad one is CR_ERR_ARGUMENT naming it. One option is
 * Crucible's own, on every backend, and no driver sees it:
 * prepared_statements=true|false (see cr_engine_options).
 * Several hosts, for failover (libpq's multi-host form):
 *   postgresql://u:p@h1:5432,h2:5433/db?target_session_attrs=read-write
 *   mysql://u:p@h1:3306,[::1]:3307/db
 * A host without a port takes the backend's default; an IPv6 address goes
 * in brackets. Each new connection tries the hosts in order and takes the
 * first that answers (PostgreSQL: libpq, which with target_session_attrs
 * also skips standbys; MySQL: the driver, which also passes over a MariaDB
 * Galera node that answers but is not a synced member of its cluster's
 * primary component, at the cost of one status query per new connection).
 * When none does, one OperationalError names each host's failure. SQLite
 * refuses hosts.
 * No connection is made until the first cr_engine_connect (an in-memory
 * SQLite engine opens there the one connection that keeps its database
 * alive until the engine is freed). On failure returns NULL and, when err is
 * not NULL, stores in *err an error the caller frees with cr_error_free. */
CR_API cr_engine *cr_create_engine(const char *url,
                                   const cr_engine_options *options,
                                   cr_error **err);
/* Close every pooled connection and free the engine. Connections still
 * checked out stay usable; the engine is gone once the last is closed. */
CR_API void cr_engine_free(cr_engine *engine);
/* Close the idle pooled connections and let those checked out be closed
 * when they come back, so that every later checkout opens a new one (after
 * fork, for instance, or after a failover). */
CR_API void cr_engine_dispose(cr_engine *engine);

/* The pool's state and counters since the engine was created, read at any
 * time from any thread. */
typedef struct cr_pool_status {
    int pool_size;          /* as configured (-1: unlimited)               */
    int max_overflow;       /* as configured (-1: unlimited)               */
    int checked_out;        /* connections in use now                      */
    int idle;               /* connections waiting in the pool now         */
    int overflow;           /* open connections beyond pool_size now       */
    long checkouts;         /* successful checkouts                        */
    long connects;          /* database connections opened                 */
    long waits;             /* checkouts that had to wait                  */
    long timeouts;          /* checkouts that gave up (CR_ERR_TIMEOUT)     */
    long invalidations;     /* connections discarded as broken or stale    */
    long recycles;          /* connections replaced for age (pool_recycle) */
} cr_pool_status;
CR_API cr_status cr_engine_pool_status(cr_engine *engine, cr_pool_status *out);

/* Options for cr_engine_run_transaction; zero fields take the defaults. */
typedef struct cr_retry_options {
    int max_attempts;         /* runs of the callback at most (default 5)   */
    double initial_backoff;   /* seconds before the 2nd run (default 0.01)  */
    double max_backoff;       /* cap on the doubling backoff (default 1.0)  */
    /* Seconds after the engine last saw a connection lost during which a
     * failure to connect is waited out (with the backoff, not counted as a
     * run) instead of returned: the time a failover takes to bring up a
     * new primary. Default 0: returned at once. */
    double failover_wait;
} cr_retry_options;

/* Run fn(conn, userdata) in a transaction as cr_engine_transaction does and,
 * when the transaction fails in a way cr_error_is_retryable calls retryable
 * (a serialization failure or a deadlock: SQLSTATE 40001 / 40P01, MySQL
 * 1213 / 1205 — a Galera certification conflict among them —, SQLite busy;
 * a connection lost before COMMIT was sent, as in a failover; a Galera node
 * not ready, 1047), roll back and run it again in a new transaction, on a
 * new connection, after a jittered, doubling backoff, up to max_attempts
 * runs in all.
 *
 * Not retried: a COMMIT whose connection was lost before its answer
 * (cr_error_is_commit_unknown: it may have committed; the error is returned
 * for the caller to check), and a failure to connect — unless the engine
 * lost a connection less than failover_wait seconds before: then there may
 * be no primary yet, and connecting is tried again until one answers or
 * that time is up.
 *
 * THE CALLBACK MAY RUN MORE THAN ONCE. Everything it does must happen
 * through the connection it is given (which is rolled back before a retry),
 * or be safe to repeat.
 *
 * Returns CR_OK once a run commits, else the last failure's status with its
 * detail in *err (when err is not NULL; the caller frees it). attempts, when
 * not NULL, receives the number of runs made. */
CR_API cr_status cr_engine_run_transaction(cr_engine *engine,
                                           cr_status (*fn)(cr_conn *conn, void *userdata),
                                           void *userdata, const cr_retry_options *options,
                                           int *attempts, cr_error **err);
/* The backend's name: "sqlite", "postgresql" or "mysql". */
CR_API const char *cr_engine_backend(const cr_engine *engine);
/* The URL with its password replaced by "***". Borrowed until the engine
 * is freed. */
CR_API const char *cr_engine_url(const cr_engine *engine);
/* Whether this build of Crucible has a driver for the backend ("sqlite",
 * "postgresql", "mysql"). */
CR_API bool cr_backend_available(const char *backend);

/* Check out a connection from the engine's pool (engine.connect()).
 * Returns NULL on failure, with the error in *err as for cr_create_engine. */
CR_API cr_conn *cr_engine_connect(cr_engine *engine, cr_error **err);
/* Check out a connection and begin a transaction on it (engine.begin()).
 * Finish it with cr_conn_commit or cr_conn_rollback, then cr_conn_close. */
CR_API cr_conn *cr_engine_begin(cr_engine *engine, cr_error **err);
/* Run fn(conn, userdata) in a transaction on a fresh connection: commit when
 * it returns CR_OK, roll back otherwise, then close the connection. Returns
 * fn's status, or the status of a failed connect or commit; the detail, when
 * err is not NULL, is stored in *err for the caller to free. The connection
 * is the engine's: fn must not close it (cr_conn_invalidate is fine: the
 * commit then fails). */
CR_API cr_status cr_engine_transaction(cr_engine *engine,
                                       cr_status (*fn)(cr_conn *conn, void *userdata),
                                       void *userdata, cr_error **err);

/* ------------------------------------------------------------------------
 * Connections and transactions
 * ------------------------------------------------------------------------ */

/* Return the connection to its engine's pool and free the handle. A
 * transaction still open is rolled back first; the connection's isolation
 * level goes back to the engine's. Results still open on it are closed
 * (reading them then reports CR_ERR_RESOURCE_CLOSED; they must still be
 * freed). NULL is a no-op. */
CR_API void cr_conn_close(cr_conn *conn);
/* The last error on this connection, or NULL when the last call on it
 * succeeded. Borrowed until the next call on the connection. */
CR_API const cr_error *cr_conn_error(const cr_conn *conn);

/* Execute one statement with named parameters (:name; write \: for a literal
 * colon). params is a list ended by a NULL name (see CR_PARAMS) or NULL for
 * none. Every name in the SQL must have a parameter and every parameter a
 * name in the SQL. The first statement outside a transaction begins one
 * ("BEGIN (implicit)"), unless the isolation level is AUTOCOMMIT. Returns a
 * result the caller frees with cr_result_free, or NULL on error. The
 * statement is prepared once per connection and reused. */
CR_API cr_result *cr_conn_execute(cr_conn *conn, const char *sql,
                                  const cr_param *params);
/* As cr_conn_execute, for statements whose rows are not wanted: returns the
 * status and frees the result itself. */
CR_API cr_status cr_conn_exec(cr_conn *conn, const char *sql,
                              const cr_param *params);
/* Execute one statement once per parameter set (executemany). names holds
 * nparams parameter names; values holds nsets rows of nparams values each,
 * laid end to end. The result's rowcount is the total over all sets. */
CR_API cr_result *cr_conn_executemany(cr_conn *conn, const char *sql,
                                      const char *const *names, size_t nparams,
                                      const cr_value *values, size_t nsets);

/* Begin a transaction explicitly (conn.begin()). CR_ERR_INVALID_REQUEST when
 * one is already in progress. */
CR_API cr_status cr_conn_begin(cr_conn *conn);
/* Commit the transaction in progress; a no-op when there is none. Open
 * savepoints are committed with it. */
CR_API cr_status cr_conn_commit(cr_conn *conn);
/* Roll back the transaction in progress; a no-op when there is none. When
 * the connection to the server is lost (cr_error_is_disconnect of an earlier
 * call, or found by the ROLLBACK itself), the server has rolled the
 * transaction back already: the rollback ends it here and succeeds, as it does for a savepoint (cr_conn_rollback_savepoint), so that
 * "on error, roll back" keeps the error that mattered. Until then the
 * handle refuses statements (OperationalError, disconnect and retryable);
 * after it, the next statement runs on a new connection from the pool, with
 * the handle's isolation level (SQLAlchemy reconnects an invalidated
 * Connection the same way). A read-only connection of the replicas does not
 * reconnect: close it and check out another. */
CR_API cr_status cr_conn_rollback(cr_conn *conn);
/* Whether a transaction is in progress. */
CR_API bool cr_conn_in_transaction(const cr_conn *conn);
/* Mark the database connection unusable (connection.invalidate()): it is
 * closed instead of going back to the pool when this handle is closed, and
 * every later call on the handle fails with CR_ERR_RESOURCE_CLOSED. */
CR_API void cr_conn_invalidate(cr_conn *conn);

/* Savepoints (conn.begin_nested()), nested to any depth: begin_nested
 * emits SAVEPOINT (beginning the outer transaction if there is none);
 * release_savepoint emits RELEASE SAVEPOINT for the innermost one (its
 * commit), rollback_savepoint emits ROLLBACK TO SAVEPOINT for it. Both pop
 * it; CR_ERR_INVALID_REQUEST when there is none. */
CR_API cr_status cr_conn_begin_nested(cr_conn *conn);
CR_API cr_status cr_conn_release_savepoint(cr_conn *conn);
CR_API cr_status cr_conn_rollback_savepoint(cr_conn *conn);
/* How many savepoints are open. */
CR_API int cr_conn_savepoint_depth(const cr_conn *conn);

/* Set this connection's isolation level (execution_options(isolation_level=
 * ...)): one of the names listed at cr_engine_options.isolation_level. Not
 * allowed inside a transaction. The engine's level is restored when the
 * connection returns to the pool. */
CR_API cr_status cr_conn_set_isolation_level(cr_conn *conn, const char *level);
/* The isolation level in force, by name. */
CR_API const char *cr_conn_isolation_level(const cr_conn *conn);
/* Stream the rows of later results from the server as they are fetched
 * instead of buffering them all at execute (stream_results=True). Only
 * backends whose client buffers by default differ; on SQLite rows are always
 * streamed. While a streamed result is open no other statement may run on
 * the connection. */
CR_API cr_status cr_conn_set_stream_results(cr_conn *conn, bool on);
/* The engine this connection came from. */
CR_API cr_engine *cr_conn_engine(const cr_conn *conn);

/* ------------------------------------------------------------------------
 * Results
 * ------------------------------------------------------------------------ */

/* Free a result (result.close()). NULL is a no-op. */
CR_API void cr_result_free(cr_result *res);
/* The last error on this result, or NULL. */
CR_API const cr_error *cr_result_error(const cr_result *res);
/* Whether the statement returns rows (SELECT, RETURNING ...). */
CR_API bool cr_result_returns_rows(const cr_result *res);
/* Number of columns, and the name of column i (borrowed until the result is
 * freed). -1 / NULL with CR_ERR_ARGUMENT for a bad index. */
CR_API int cr_result_column_count(const cr_result *res);
CR_API const char *cr_result_column_name(cr_result *res, int i);
/* Rows inserted, updated or deleted by the statement (or by all parameter
 * sets of an executemany); -1 when it is not known. */
CR_API int64_t cr_result_rowcount(const cr_result *res);
/* The primary key the last INSERT generated (SQLite's rowid, MySQL's
 * insert id). On PostgreSQL there is no such thing: write INSERT ...
 * RETURNING id and read the row; this reports CR_ERR_NOT_SUPPORTED. */
CR_API cr_status cr_result_lastrowid(cr_result *res, int64_t *out);

/* Fetch the next row (fetchone). Returns NULL when there are no more rows or
 * on error; tell them apart with cr_result_error. The row is borrowed until
 * the next fetch on this result or until it is freed; once the result's
 * connection is closed, its getters report CR_ERR_RESOURCE_CLOSED (rows of
 * first, one and fetchmany / fetchall sets stay readable). */
CR_API const cr_row *cr_result_fetchone(cr_result *res);
/* Fetch up to n more rows into a row set the caller frees (fetchmany). An
 * empty set when the rows are exhausted; NULL on error. */
CR_API cr_rowset *cr_result_fetchmany(cr_result *res, size_t n);
/* Fetch all remaining rows (fetchall / all). NULL on error. */
CR_API cr_rowset *cr_result_fetchall(cr_result *res);
CR_API cr_rowset *cr_result_all(cr_result *res);
/* The first row, discarding the rest (first): NULL when there is none
 * (cr_result_error is then NULL) or on error. The row stays valid until the
 * result is freed; the result is closed to further fetches. */
CR_API const cr_row *cr_result_first(cr_result *res);
/* Exactly one row (one): CR_ERR_NO_RESULT_FOUND or CR_ERR_MULTIPLE_RESULTS
 * otherwise. Closes the result as first does. */
CR_API const cr_row *cr_result_one(cr_result *res);
/* At most one row (one_or_none): NULL with no error when there is none,
 * CR_ERR_MULTIPLE_RESULTS when there are more. */
CR_API const cr_row *cr_result_one_or_none(cr_result *res);
/* The first column of the first row (scalar), or a CR_NULL value when there
 * is no row. Text and blobs stay valid until the result is freed. */
CR_API cr_status cr_result_scalar(cr_result *res, cr_value *out);
/* The first column of exactly one row (scalar_one). */
CR_API cr_status cr_result_scalar_one(cr_result *res, cr_value *out);
/* Typed scalars: the first column of the first row, read as the row
 * getters below read it (int64 also reads booleans, double also integers
 * and numerics ...), the rest discarded and the result closed as
 * cr_result_first does: count(*) in one call. CR_ERR_NO_RESULT_FOUND when
 * there is no row, CR_ERR_ARGUMENT when the value is NULL or of another
 * type (use cr_result_scalar for a value that may be NULL); *out is written
 * only on success. Text stays valid until the result is freed; len may be
 * NULL. The detail is on the result (cr_result_error). */
CR_API cr_status cr_result_scalar_int64(cr_result *res, int64_t *out);
CR_API cr_status cr_result_scalar_double(cr_result *res, double *out);
CR_API cr_status cr_result_scalar_bool(cr_result *res, bool *out);
CR_API cr_status cr_result_scalar_text(cr_result *res, const char **out, size_t *len);
/* The integer primary key of the row an INSERT made, in one call: for an
 * INSERT built with cr_insert, the one column of inserted_primary_key
 * (CR_ERR_INVALID_REQUEST when it made several rows, or its key is
 * composite or not an integer); for textual SQL, cr_result_lastrowid (SQLite's
 * rowid, MySQL's insert id; CR_ERR_NOT_SUPPORTED on PostgreSQL, where
 * RETURNING gives the key; meaningful only after an INSERT). *out is written
 * only on success. */
CR_API cr_status cr_result_inserted_id(cr_result *res, int64_t *out);
/* From now on yield only the first column of each row (scalars()); returns
 * res itself. */
CR_API cr_result *cr_result_scalars(cr_result *res);

/* A set of rows fetched at once. It owns its rows and their bytes. */
CR_API size_t cr_rowset_count(const cr_rowset *rows);
/* Row i, borrowed until the set is freed; NULL when out of range. */
CR_API const cr_row *cr_rowset_row(const cr_rowset *rows, size_t i);
CR_API void cr_rowset_free(cr_rowset *rows);

/* ------------------------------------------------------------------------
 * Rows: typed column access by index or by name
 *
 * Each getter takes a column index (int) or a column name (const char *);
 * the macros choose. On success they store the value and return CR_OK. A
 * bad index or name, a NULL value, or a value of another type is reported
 * as CR_ERR_ARGUMENT naming the column and the type it holds; the error is
 * then readable with cr_row_error. Conversions: int64 also reads booleans;
 * bool also reads the integers 0 and 1 (SQLite and MySQL store booleans so);
 * double also reads integers and numerics; numeric also reads integers;
 * date, time and datetime also read text in the formats cr_datetime_parse
 * accepts (SQLite stores them as text).
 * ------------------------------------------------------------------------ */

/* The number of columns (-1 for a NULL row), and the name of column i
 * (NULL when i is out of range), borrowed as the row is. */
CR_API int cr_row_column_count(const cr_row *row);
CR_API const char *cr_row_column_name(const cr_row *row, int i);
/* The error of the last getter on this row (or on its result / set). */
CR_API const cr_error *cr_row_error(const cr_row *row);
/* Index of the named column, or -1. */
CR_API int cr_row_index(const cr_row *row, const char *name);

/* A column's value as it came, of whatever type, borrowed as the row is;
 * NULL for a bad index or name (the error is then on the row). */
CR_API const cr_value *cr_row_value_at(const cr_row *row, int col);
CR_API const cr_value *cr_row_value_named(const cr_row *row, const char *col);
/* The row as print(row) shows it in Python: the tuple of its values'
 * repr (cr_value_repr), "(1, 'spongebob', None)", "(5,)" for one column.
 * snprintf conventions; -1 for a NULL row or a closed result's row. */
CR_API int cr_row_format(const cr_row *row, char *buf, size_t size);
/* 1 when the value is NULL, 0 when not, -1 for a bad column. */
CR_API int cr_row_is_null_at(const cr_row *row, int col);
CR_API int cr_row_is_null_named(const cr_row *row, const char *col);
CR_API cr_status cr_row_int64_at(const cr_row *row, int col, int64_t *out);
CR_API cr_status cr_row_int64_named(const cr_row *row, const char *col, int64_t *out);
CR_API cr_status cr_row_double_at(const cr_row *row, int col, double *out);
CR_API cr_status cr_row_double_named(const cr_row *row, const char *col, double *out);
CR_API cr_status cr_row_bool_at(const cr_row *row, int col, bool *out);
CR_API cr_status cr_row_bool_named(const cr_row *row, const char *col, bool *out);
/* Text: NUL-terminated, borrowed like the row; len may be NULL. */
CR_API cr_status cr_row_text_at(const cr_row *row, int col, const char **out, size_t *len);
CR_API cr_status cr_row_text_named(const cr_row *row, const char *col, const char **out, size_t *len);
CR_API cr_status cr_row_blob_at(const cr_row *row, int col, const void **out, size_t *len);
CR_API cr_status cr_row_blob_named(const cr_row *row, const char *col, const void **out, size_t *len);
/* Exact decimal text ("12.50"), NUL-terminated, borrowed like the row. */
CR_API cr_status cr_row_numeric_at(const cr_row *row, int col, const char **out);
CR_API cr_status cr_row_numeric_named(const cr_row *row, const char *col, const char **out);
CR_API cr_status cr_row_date_at(const cr_row *row, int col, cr_datetime *out);
CR_API cr_status cr_row_date_named(const cr_row *row, const char *col, cr_datetime *out);
CR_API cr_status cr_row_time_at(const cr_row *row, int col, cr_datetime *out);
CR_API cr_status cr_row_time_named(const cr_row *row, const char *col, cr_datetime *out);
CR_API cr_status cr_row_datetime_at(const cr_row *row, int col, cr_datetime *out);
CR_API cr_status cr_row_datetime_named(const cr_row *row, const char *col, cr_datetime *out);

/* Nullable reads: as the getters above, but a NULL value is not an error:
 * it sets *is_null to true, returns CR_OK and leaves *out as it was (so a
 * program may put a default there first); any other value sets *is_null to
 * false and is read as the getter reads it. A bad column or a value of
 * another type is still CR_ERR_ARGUMENT. is_null may be NULL: a NULL is
 * then an error, as for the plain getter. The cr_row_*_or_null macros take
 * an index, a name or a column handle, as the getters do. */
CR_API cr_status cr_row_int64_or_null_at(const cr_row *row, int col, int64_t *out, bool *is_null);
CR_API cr_status cr_row_int64_or_null_named(const cr_row *row, const char *col, int64_t *out,
                                            bool *is_null);
CR_API cr_status cr_row_double_or_null_at(const cr_row *row, int col, double *out, bool *is_null);
CR_API cr_status cr_row_double_or_null_named(const cr_row *row, const char *col, double *out,
                                             bool *is_null);
CR_API cr_status cr_row_bool_or_null_at(const cr_row *row, int col, bool *out, bool *is_null);
CR_API cr_status cr_row_bool_or_null_named(const cr_row *row, const char *col, bool *out,
                                           bool *is_null);
CR_API cr_status cr_row_text_or_null_at(const cr_row *row, int col, const char **out,
                                        size_t *len, bool *is_null);
CR_API cr_status cr_row_text_or_null_named(const cr_row *row, const char *col, const char **out,
                                           size_t *len, bool *is_null);
CR_API cr_status cr_row_blob_or_null_at(const cr_row *row, int col, const void **out,
                                        size_t *len, bool *is_null);
CR_API cr_status cr_row_blob_or_null_named(const cr_row *row, const char *col, const void **out,
                                           size_t *len, bool *is_null);
CR_API cr_status cr_row_numeric_or_null_at(const cr_row *row, int col, const char **out,
                                           bool *is_null);
CR_API cr_status cr_row_numeric_or_null_named(const cr_row *row, const char *col,
                                              const char **out, bool *is_null);
CR_API cr_status cr_row_date_or_null_at(const cr_row *row, int col, cr_datetime *out,
                                        bool *is_null);
CR_API cr_status cr_row_date_or_null_named(const cr_row *row, const char *col, cr_datetime *out,
                                           bool *is_null);
CR_API cr_status cr_row_time_or_null_at(const cr_row *row, int col, cr_datetime *out,
                                        bool *is_null);
CR_API cr_status cr_row_time_or_null_named(const cr_row *row, const char *col, cr_datetime *out,
                                           bool *is_null);
CR_API cr_status cr_row_datetime_or_null_at(const cr_row *row, int col, cr_datetime *out,
                                            bool *is_null);
CR_API cr_status cr_row_datetime_or_null_named(const cr_row *row, const char *col,
                                               cr_datetime *out, bool *is_null);

#define CR__BY_COL(name, col) _Generic((col), \
    char *: name##_named, const char *: name##_named, \
    struct cr_column *: name##_column, const struct cr_column *: name##_column, \
    default: name##_at)
#define cr_row_value(row, col)         CR__BY_COL(cr_row_value, col)(row, col)
#define cr_row_is_null(row, col)       CR__BY_COL(cr_row_is_null, col)(row, col)
#define cr_row_int64(row, col, out)    CR__BY_COL(cr_row_int64, col)(row, col, out)
#define cr_row_double(row, col, out)   CR__BY_COL(cr_row_double, col)(row, col, out)
#define cr_row_bool(row, col, out)     CR__BY_COL(cr_row_bool, col)(row, col, out)
#define cr_row_text(row, col, out, len) CR__BY_COL(cr_row_text, col)(row, col, out, len)
#define cr_row_blob(row, col, out, len) CR__BY_COL(cr_row_blob, col)(row, col, out, len)
#define cr_row_numeric(row, col, out)  CR__BY_COL(cr_row_numeric, col)(row, col, out)
#define cr_row_date(row, col, out)     CR__BY_COL(cr_row_date, col)(row, col, out)
#define cr_row_time(row, col, out)     CR__BY_COL(cr_row_time, col)(row, col, out)
#define cr_row_datetime(row, col, out) CR__BY_COL(cr_row_datetime, col)(row, col, out)
#define cr_row_int64_or_null(row, col, out, is_null) \
    CR__BY_COL(cr_row_int64_or_null, col)(row, col, out, is_null)
#define cr_row_double_or_null(row, col, out, is_null) \
    CR__BY_COL(cr_row_double_or_null, col)(row, col, out, is_null)
#define cr_row_bool_or_null(row, col, out, is_null) \
    CR__BY_COL(cr_row_bool_or_null, col)(row, col, out, is_null)
#define cr_row_text_or_null(row, col, out, len, is_null) \
    CR__BY_COL(cr_row_text_or_null, col)(row, col, out, len, is_null)
#define cr_row_blob_or_null(row, col, out, len, is_null) \
    CR__BY_COL(cr_row_blob_or_null, col)(row, col, out, len, is_null)
#define cr_row_numeric_or_null(row, col, out, is_null) \
    CR__BY_COL(cr_row_numeric_or_null, col)(row, col, out, is_null)
#define cr_row_date_or_null(row, col, out, is_null) \
    CR__BY_COL(cr_row_date_or_null, col)(row, col, out, is_null)
#define cr_row_time_or_null(row, col, out, is_null) \
    CR__BY_COL(cr_row_time_or_null, col)(row, col, out, is_null)
#define cr_row_datetime_or_null(row, col, out, is_null) \
    CR__BY_COL(cr_row_datetime_or_null, col)(row, col, out, is_null)

/* The schema (MetaData, Table, Column, DDL, Inspector), the SQL expression
 * language (select, insert, update, delete), the ORM (models, Session) and
 * read replicas, horizontal sharding (shard sets, fan-out queries, the sharded
 * session) and schema migrations (revisions, upgrade, downgrade). */
#include "crucible/schema.h"
#include "crucible/sql.h"
#include "crucible/orm.h"
#include "crucible/replica.h"
#include "crucible/shard.h"
#include "crucible/migrate.h"

#ifdef __cplusplus
}
#endif
#endif /* CRUCIBLE_H */
