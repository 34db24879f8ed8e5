/* crucible/replica.h — read replicas: routing read-only work to replicas, with read-your-writes.
 *
 * Included by crucible.h; not meant to be included on its own.
 *
 * An engine is made for the primary as usual (cr_create_engine); replicas
 * are added to it by URL. Everything that goes through the engine as before
 * (cr_engine_connect, cr_engine_begin, sessions) goes to the primary. Work a
 * program declares read-only (cr_engine_connect_readonly and the functions
 * beside it, or a session made with read_from_replicas) goes to a healthy
 * replica, chosen round-robin or by least lag; when none can serve, to the
 * primary (or, when asked, it fails).
 *
 * Replication is asynchronous: a replica may not have replayed a commit made
 * a moment ago on the primary. A program that must see its own writes asks
 * for read-your-writes, either engine-wide (every commit through this
 * engine's primary connections is remembered, and a later read-only
 * checkout waits until its replica has replayed it) or with a token it
 * carries itself (cr_conn_commit_token on the committing connection, handed
 * to cr_engine_connect_readonly_after, in this process or another). The
 * wait is bounded (wait_timeout); past it the read goes to the primary. A
 * read that asked for read-your-writes is never served by a replica that
 * has not replayed the position.
 *
 * Backends: PostgreSQL 14 or later, streaming replicas (positions are WAL
 * LSNs; the wait polls pg_last_wal_replay_lsn(); the lag is the time since
 * the last transaction replayed while WAL is waiting to be replayed) and
 * MariaDB GTID replicas (positions are GTID lists from @@gtid_binlog_pos,
 * so the primary needs its binary log; the wait is MASTER_GTID_WAIT; the
 * lag is SHOW SLAVE STATUS's Seconds_Behind_Master, for which the user needs
 * the SLAVE MONITOR privilege on the replica; MySQL's own GTIDs are not
 * supported). SQLite has no replicas: adding one is CR_ERR_NOT_SUPPORTED.
 *
 * Threads: configure replicas (cr_engine_add_replica,
 * cr_engine_set_replica_options) before the engine is shared between
 * threads; everything else here may be called from any thread.
 */
#ifndef CRUCIBLE_REPLICA_H
#define CRUCIBLE_REPLICA_H

/* Replicas one engine may have. */
#define CR_MAX_REPLICAS 16
/* The size a read-your-writes token needs, with its NUL. */
#define CR_TOKEN_MAX 256

/* How a replica is chosen for read-only work. */
typedef enum cr_replica_policy {
    /* Each checkout starts at the next replica in turn (the default). */
    CR_REPLICA_ROUND_ROBIN = 0,
    /* The replica with the least lag at its last check (replicas are
     * checked every check_interval); ties go round-robin. */
    CR_REPLICA_LEAST_LAG
} cr_replica_policy;

/* Options of an engine's replicas. Zero-initialise and set what you need;
 * every zero field takes its default. */
typedef struct cr_replica_options {
    cr_replica_policy policy;
    /* A replica more than this many seconds behind its primary at its last
     * check is skipped until a later check finds it within the bound
     * (default: no bound, and no lag checks under round-robin). */
    double max_lag;
    /* Seconds between two lag checks of one replica (default 1). A check is
     * one query on the connection being checked out. */
    double check_interval;
    /* Seconds a replica that failed (cannot connect, connection lost, a
     * check or wait failed) is skipped before it is tried again (default 5). */
    double retry_interval;
    /* Engine-wide read-your-writes: after each commit on a primary
     * connection of this engine (cr_conn_commit, cr_engine_transaction;
     * one query more per commit), read-only checkouts wait until their
     * replica has replayed it. Off by default. Statements run in AUTOCOMMIT
     * are not commits the engine sees: use a token for them. */
    bool read_your_writes;
    /* The bound of a read-your-writes wait in seconds (default 2); past it
     * the read goes to the primary (or fails: primary_fallback). */
    double wait_timeout;
    /* Whether read-only work goes to the primary when no replica can serve
     * it (CR_AUTO and CR_YES: it does, counted in the primary's status).
     * CR_NO: the checkout fails instead, with CR_ERR_OPERATIONAL naming
     * why each replica could not serve (CR_ERR_TIMEOUT when a
     * read-your-writes wait ran out). */
    cr_tristate primary_fallback;
    /* Whether a replica's pooled connection is checked before it is handed
     * out (CR_AUTO and CR_YES: it is): a poll of its socket, no round trip,
     * finds one the server closed (a replica killed or restarted since),
     * and the replica is then skipped, so that its death costs no read.
     * The check is one system call per read-only checkout (0.1 to 0.3 us on
     * a plain Linux kernel, more under a sandboxing one). CR_NO skips it: a
     * replica that died since its connection was pooled then fails the
     * first statement on it, with a disconnect error, and is skipped from
     * the next checkout on that finds it down. */
    cr_tristate check_connections;
} cr_replica_options;

/* Add a replica of the engine's database, by URL (same backend as the
 * engine). It gets a pool of its own with the engine's options. No
 * connection is made here: a replica that cannot be reached is found at
 * the first read-only checkout, skipped for retry_interval, and its reads
 * go to the other replicas or the primary. CR_ERR_ARGUMENT for a bad URL,
 * another backend or more than CR_MAX_REPLICAS; CR_ERR_NOT_SUPPORTED on
 * SQLite. On failure, when err is not NULL, *err receives an error the
 * caller frees with cr_error_free. */
CR_API cr_status cr_engine_add_replica(cr_engine *engine, const char *url, cr_error **err);
/* Set the replica options (NULL: the defaults). CR_ERR_ARGUMENT naming a
 * bad field (negative seconds, unknown policy); CR_ERR_NOT_SUPPORTED on
 * SQLite. Errors as for cr_engine_add_replica. */
CR_API cr_status cr_engine_set_replica_options(cr_engine *engine,
                                               const cr_replica_options *options,
                                               cr_error **err);
/* How many replicas the engine has. */
CR_API int cr_engine_replica_count(const cr_engine *engine);

/* Check out a connection for read-only work: from a replica chosen by the
 * policy, skipping those down or lagging, after the read-your-writes wait
 * when the engine asks for it; from the primary when no replica can serve
 * (or when the engine has none). The program must not write on it: a
 * replica refuses writes (PostgreSQL's hot standby, MariaDB's read_only),
 * the primary would not. Close it with cr_conn_close as any other;
 * cr_conn_replica tells where it went. cr_conn_engine returns the engine
 * given here, valid while that engine is. NULL on failure, with the error
 * in *err as for cr_engine_connect. */
CR_API cr_conn *cr_engine_connect_readonly(cr_engine *engine, cr_error **err);
/* As cr_engine_connect_readonly, and wait (up to wait_timeout) for the
 * replica to have replayed the position in token (from cr_conn_commit_token,
 * on this engine's primary or any engine on the same primary) as well as
 * the engine's own when read_your_writes is on. NULL or "" waits for
 * nothing more. A token that is not a position of this backend is
 * CR_ERR_ARGUMENT. */
CR_API cr_conn *cr_engine_connect_readonly_after(cr_engine *engine, const char *token,
                                                 cr_error **err);
/* cr_engine_connect_readonly, then begin a transaction on the connection. */
CR_API cr_conn *cr_engine_begin_readonly(cr_engine *engine, cr_error **err);

/* A read-your-writes token: the primary's write position now, which every
 * transaction committed on it so far (this connection's last commit among
 * them) is at or before. Written to buf (size bytes; CR_TOKEN_MAX is
 * always enough) as text a program may store or send to another process.
 * CR_ERR_INVALID_REQUEST inside a transaction (commit first) or on a
 * read-only connection; CR_ERR_ARGUMENT when buf is NULL or too small;
 * CR_ERR_NOT_SUPPORTED on SQLite. The detail is on the connection. */
CR_API cr_status cr_conn_commit_token(cr_conn *conn, char *buf, size_t size);
/* Which server a connection is on: the index (0, 1, ... in the order
 * cr_engine_add_replica added them) of the replica serving a read-only
 * connection, or -1 for the primary (every connection not made read-only,
 * and read-only ones that fell back to it). -1 for NULL. */
CR_API int cr_conn_replica(const cr_conn *conn);

/* A replica's state and counters since it was added. */
typedef struct cr_replica_status {
    const char *url;         /* password masked; borrowed while the engine lives */
    bool up;                 /* false: skipped after a failure until the retry */
    bool lagging;            /* skipped: past max_lag at its last check       */
    double lag;              /* seconds behind at its last check; -1: not checked */
    long reads;              /* read-only checkouts it served                 */
    long skips;              /* checkouts that passed it over (down, lagging) */
    long failures;           /* connects, checks and waits that failed        */
    long waits;              /* read-your-writes waits on it                  */
    long wait_timeouts;      /* waits that ran out (the read went elsewhere)  */
    char last_error[200];    /* why it last failed, "" when it never did      */
} cr_replica_status;
/* The status of replica index (0 .. count-1), or with index -1 the
 * primary's part in read-only work: reads counts the read-only checkouts
 * that fell back to it (url is the engine's, up is true, the rest 0).
 * CR_ERR_ARGUMENT for a NULL engine or out, or a bad index. */
CR_API cr_status cr_engine_replica_status(cr_engine *engine, int index,
                                          cr_replica_status *out);

#endif /* CRUCIBLE_REPLICA_H */
