/* engine.h — internal structures of the engine layer: engine, pool, connection, result. */
#ifndef CR_ENGINE_H
#define CR_ENGINE_H

#include "dialects/driver.h"
#include "engine/memo.h"
#include "engine/sqltext.h"

#include <pthread.h>

/* A statement prepared on one database connection, kept in its cache. */
typedef struct cr_prepared {
    char *key;                  /* textual: the SQL as the caller wrote it;
                                 * compiled: the statement's shape key     */
    size_t keylen;
    bool compiled;              /* made by the SQL compiler (sql/)        */
    const char *sql;            /* the SQL to log and report: key, or the
                                 * compiled SQL                           */
    void *extra;                /* compiled: the compiler's cr_compiled  */
    void (*extra_free)(void *extra);
    const void *const *colkeys; /* compiled: the table column (cr_column *)
                                 * each result column is, or NULL; ncolkeys */
    int ncolkeys;
    uint64_t hash;
    cr_sqltext text;
    cr_driver_stmt *ds;
    const cr_value **by_name;   /* scratch: the value given for each name */
    cr_value *slots;            /* scratch: values in placeholder order   */
    cr_value *row;              /* the current row, ncols values          */
    int ncols;
    char **colnames;            /* owned copies, refreshed when they change */
    uint64_t shape;             /* the driver's shape counter they match */
    bool shaped;                /* colnames and row match shape            */
    double prepared_at;         /* for echo's "cached since"               */
    bool busy;                  /* a result is reading from it             */
    bool cached;                /* in the cache; else its result frees it  */
    struct cr_prepared *hnext;      /* hash chain                              */
    struct cr_prepared *prev, *next;/* LRU list, most recent first             */
} cr_prepared;

/* A database connection as the pool holds it: the driver's connection and
 * what belongs to it for its whole life — prepared statements, the isolation
 * level set on the server. */
typedef struct cr_pconn {
    cr_driver_conn *dc;
    cr_prepared **buckets;
    size_t nbuckets;
    cr_prepared *lru_head, *lru_tail;
    int ncached;
    const char *server_isolation;   /* what the server session is set to */
    bool broken;                    /* lost: never goes back to the pool  */
    double lost_at;                 /* when the loss was seen              */
    bool invalidated;               /* cr_conn_invalidate: discard it      */
    double created;                 /* cr_now_seconds() when opened        */
    uint64_t generation;            /* the pool's generation it belongs to */
    uint64_t id;                    /* unique among all ever opened        */
    uint64_t evictions;             /* statements its cache let go of      */
    struct cr_pconn *next_idle;
} cr_pconn;

struct cr_engine {
    const cr_driver *drv;
    const struct cr_dialect *dialect;   /* how its SQL is written (sql/) */
    cr_url url;
    char *safe_url;
    bool echo;
    cr_log_fn log_fn;
    void *log_userdata;
    /* The engine's isolation level: what every connection's server session
     * is set to (canonical; the backend's own when none is configured), and
     * whether connections run in AUTOCOMMIT instead of transactions. */
    const char *server_isolation;
    bool autocommit;
    /* prepared_statements = CR_NO: no named server statements and no
     * server-session state (the isolation level goes with each BEGIN), for
     * transaction poolers. */
    bool unnamed_statements;
    int stmt_cache_size;
    bool echo_pool;

    /* The pool. Sizes: -1 means unlimited. */
    cr_pool_class poolclass;
    int pool_size;
    int max_overflow;
    double pool_timeout;        /* seconds; 0: do not wait               */
    double pool_recycle;        /* seconds; 0: never                     */
    bool pre_ping;
    bool lifo;

    pthread_mutex_t lock;       /* guards everything below               */
    pthread_cond_t returned;    /* signalled when a connection comes back */
    cr_pconn *idle, *idle_tail; /* next out at the head                  */
    int nidle;
    int nopen;                  /* open: idle + checked out              */
    int nchecked;               /* checked out                           */
    int refs;                   /* checked out or still being returned:
                                 * the engine lives while this is not 0 */
    uint64_t generation;        /* bumped by dispose                     */
    double stale_before;        /* opened at or before this: replace     */
    double last_loss;           /* when a connection was last seen lost  */
    bool freed;                 /* cr_engine_free called; last close frees */
    cr_pool_status stats;       /* counters                              */
    uint64_t cache_hits, cache_misses;  /* compiled statements (atomic)  */
    bool memory_shared;         /* in-memory SQLite, shared by its connections */
    cr_pconn *keeper;           /* and the connection that keeps it alive
                                 * (guarded by lock; opened at first checkout) */
    struct cr_replica_set *replicas;    /* read replicas (replica.c), or NULL */
};

typedef struct cr_result cr_result;

/* A pointer to a connection kept by a handle that may outlive it (an
 * Inspector): closing the connection sets *slot to NULL, so that the
 * handle can report the connection closed instead of using freed memory. */
typedef struct cr_conn_ref {
    cr_conn **slot;
    struct cr_conn_ref *prev, *next;
} cr_conn_ref;

struct cr_conn {
    cr_engine *engine;
    cr_pconn *pc;               /* NULL once closed */
    bool in_tx;
    int sp_depth;
    int sp_counter;
    const char *isolation;      /* canonical level in force */
    bool autocommit;
    bool stream;
    cr_result *results;         /* open results, to detach on close */
    cr_result *streaming;       /* a streamed result still reading */
    cr_result *spare;           /* a freed result kept for the next execute */
    cr_conn_ref *refs;          /* handles to tell when it closes */
    /* Read-only connections (replica.c): the engine they were asked of
     * (engine is then a replica's, or that engine itself on a fallback),
     * and 1 + the index of the replica serving, 0 for the primary. */
    cr_engine *routed_from;
    int replica_slot;
    /* Last: what every statement reads above stays within a cache line or
     * two, not split by the message buffer. */
    cr_error err;
};

struct cr_row {
    const cr_value *values;
    int ncols;
    char *const *colnames;
    const void *const *colkeys; /* compiled statements: column handles, or NULL */
    cr_error *err;              /* where getter errors are recorded */
};

struct cr_result {
    cr_conn *conn;              /* NULL once detached from a closed connection */
    cr_prepared *stmt;              /* while rows remain to be read */
    bool returns_rows;
    bool exhausted;
    bool closed;                /* first/one/close: no more fetches */
    bool scalars;
    int ncols;
    int64_t rowcount;
    int64_t lastrowid;
    cr_status lastrowid_status;
    cr_row row;                 /* the current row of fetchone */
    cr_row held;                /* the row kept by first/one/scalar */
    cr_arena arena;             /* held row's bytes and column names */
    char **colnames;            /* column names, valid while the result lives */
    const void *const *colkeys; /* the statement's column handles (or NULL) */
    cr_rowset *inserted_pk;     /* INSERT: the primary keys it made, or NULL */
    cr_rowset *returned_defaults; /* INSERT with return_defaults, or NULL  */
    bool is_insert;             /* made by an INSERT statement (sql/)      */
    bool built;                 /* made by a built statement (sql/)        */
    bool kept;                  /* freed, kept as its connection's spare:
                                 * freeing it again does nothing             */
    cr_result *prev, *next;     /* the connection's open results */
    /* Last: cr_result_new sets each field above (one by one: zeroing them
     * at once would cost a string instruction on every execute) and leaves
     * the error's message buffer alone. */
    cr_error err;
};

struct cr_rowset {
    cr_arena arena;
    cr_row *rows;
    size_t count, cap;
    char **colnames;
    const void **colkeys;
    int ncols;
    cr_error err;
    /* A fan-out's merged set (shard.c): the shards' sets it took its rows
     * from (freed with it) and each row's shard name (in the arena). */
    struct cr_rowset **parts;
    size_t nparts;
    const char **shards;
};

/* engine.c */
/* Log when echo (cr_engine_log) or echo_pool (cr_pool_log) is on. */
void cr_engine_log(cr_engine *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cr_pool_log(cr_engine *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Free an engine whose last connection has come back (pool.c). */
void cr_engine_destroy(cr_engine *e);
/* Hand a local error to the caller of a call that reports through
 * cr_error ** (a copy when err is not NULL), and clear it. */
void cr_error_hand_over(cr_error *local, cr_error **err);
/* An option in seconds: 0 takes dflt, CR_NONE is 0, else it must be
 * positive (CR_ERR_ARGUMENT naming it). */
cr_status cr_seconds_option(const char *name, double value, double dflt, double *out,
                            cr_error *err);

/* After a driver call on c's connection failed with err: when err says the
 * server is gone, the connection is lost, and so are all the pool's
 * connections opened before now (pool.c: cr_pool_note_lost); err is marked
 * retryable when no COMMIT was in flight (committing false, and the
 * connection not in AUTOCOMMIT, where every statement commits itself), else
 * commit_unknown. */
CR_COLD void cr_conn_note_error(cr_conn *c, cr_error *err, bool committing);

/* replica.c */
void cr_replicas_free(struct cr_replica_set *set);
/* After a commit on a primary connection of an engine with replicas. */
void cr_replicas_note_commit(cr_conn *c);

/* pool.c */
cr_status cr_pool_init(cr_engine *e);
cr_status cr_pool_checkout(cr_engine *e, cr_pconn **out, cr_error *err);
/* Hand a connection back; frees the engine when it was freed and this was
 * its last connection out. */
void cr_pool_checkin(cr_engine *e, cr_pconn *pc);
void cr_pool_dispose(cr_engine *e);
/* Close every idle connection; true when none is checked out. */
bool cr_pool_close_for_free(cr_engine *e);
void cr_pool_destroy(cr_engine *e);
cr_status cr_pconn_open(cr_engine *e, cr_pconn **out, cr_error *err);
void cr_pconn_destroy(cr_engine *e, cr_pconn *pc);
/* pc's server is gone: mark it broken and make every connection of the pool
 * opened until now be replaced at its next checkout (SQLAlchemy invalidates
 * the whole pool on a disconnect, at once, not when pc comes back). */
void cr_pool_note_lost(cr_engine *e, cr_pconn *pc);

/* statement.c */
cr_status cr_prepared_get(cr_conn *c, const char *sql, cr_prepared **out, bool *was_cached);
/* A compiled statement's SQL, made on a cache miss: sql in the driver's
 * placeholder style with nslots placeholders (NULL: the key is the SQL);
 * extra is kept with the prepared statement and freed with extra_free. */
typedef struct cr_compile_out {
    const char *sql;
    int nslots;
    void *extra;
    void (*extra_free)(void *extra);
} cr_compile_out;
typedef cr_status (*cr_compile_fn)(void *ctx, cr_compile_out *out, cr_error *err);
/* Find the statement of this shape key on the connection, or compile it
 * with compile(ctx) and prepare it. Counts the engine's cache hits and
 * misses. memo (may be NULL) is tried first and then set to what was
 * found: the caller keeps it with the key, and clears it (st NULL) when the
 * key changes. */
cr_status cr_prepared_get_keyed(cr_conn *c, const void *key, size_t keylen, cr_compile_fn compile,
                                void *ctx, cr_prepared_memo *memo, cr_prepared **out,
                                bool *was_cached);
/* Give st back to the cache (reset: discard its unread rows first). */
void cr_prepared_release(cr_conn *c, cr_prepared *st, bool reset);
void cr_prepared_destroy(const cr_driver *drv, cr_prepared *st);
void cr_prepared_cache_clear(const cr_driver *drv, cr_pconn *pc);
cr_status cr_prepared_sync_columns(cr_prepared *st, const cr_driver *drv, cr_error *err);

/* connection.c, for the SQL layer's execution of compiled statements */
cr_status cr_conn_check_statement(cr_conn *c);
cr_status cr_conn_autobegin(cr_conn *c);
/* Run SQL without parameters exactly as written (DDL): no ':name' is looked
 * for in it, as text() would. */
cr_status cr_conn_exec_verbatim(cr_conn *c, const char *sql);
cr_status cr_conn_run(cr_conn *c, cr_prepared *st, const cr_value *vals, bool stream);
/* Keep *slot (which holds c) up to date: NULL once c is closed. Detach
 * before the slot's owner is freed; detaching twice, or after the close, is
 * harmless. */
void cr_conn_ref_attach(cr_conn *c, cr_conn_ref *ref, cr_conn **slot);
void cr_conn_ref_detach(cr_conn_ref *ref);
void cr_conn_log_positional(cr_conn *c, cr_prepared *st, bool cached, const char *note,
                            const cr_value *vals, size_t n);

/* result.c */
/* The result of executing st (NULL: nothing executed); takes st. */
cr_result *cr_result_new(cr_conn *c, cr_prepared *st);
/* A row set built from values: nrows rows of ncols, copied. */
cr_rowset *cr_rowset_build(int ncols, char *const *names, const cr_value *values, size_t nrows);
void cr_result_detach(cr_result *r);

#endif
