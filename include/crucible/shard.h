/* crucible/shard.h — horizontal sharding: engines under names, choosers, fan-out queries, a sharded session.
 *
 * What SQLAlchemy's ext.horizontal_shard does, in C. A shard set holds
 * several engines, each under a name ("eu", "us", "shard_3"); the program
 * gives callbacks (choosers) that route:
 *
 *   key      a key (a customer id, a region ...)      -> one shard's name
 *   object   an ORM object about to be inserted       -> one shard's name
 *                                                        (shard_chooser)
 *   ids      a primary key to get                     -> the shards to try,
 *                                                        in order (identity_chooser)
 *   query    a SELECT                                 -> the shards to run it
 *                                                        on (execute_chooser)
 *
 * A name a chooser returns that is no shard of the set is an ArgumentError
 * naming it and the set's shards; nothing runs.
 *
 * A fan-out SELECT runs on every shard (or the few the query chooser or the
 * program names), each on a connection of its own, one after the other, and
 * the rows are merged into one cr_rowset: concatenated in shard order when
 * the statement has no ORDER BY, else merged in ORDER BY order (each shard
 * returns its rows sorted; the merge takes the least head each time, ties in
 * shard order). The merge compares values as the database would with the C
 * collation: numbers by value, text and blobs byte by byte, dates and times
 * field by field (a text sort key under a case-insensitive or linguistic
 * collation — MySQL's default, a PostgreSQL database made with a locale —
 * merges in byte order, which differs where case or accents do: give such
 * keys a binary / "C" collation on the shards); DESC reverses; NULLs sort as
 * the dialect of the first shard queried puts them (PostgreSQL: above every
 * value; SQLite, MySQL: below) unless the item says NULLS FIRST / LAST. The
 * rows of all the shards are held at once (a fan-out is for result sets
 * that fit in memory; LIMIT bounds each shard's share). Every ORDER BY item must be among
 * the selected columns (a column of a selected table, a selected column, a
 * selected label, or the very expression selected): the merge reads its
 * values from the rows. LIMIT n OFFSET m is sent to each shard as LIMIT n+m
 * (no OFFSET), and applied to the merged rows. Aggregates are not merged:
 * count(*) over a fan-out gives one row per shard (sum them); GROUP BY and
 * DISTINCT hold per shard only.
 *
 * Threads: the engines may be shared as usual; a shard set (its choosers'
 * calls and its last error) and a sharded session belong to one thread at a
 * time. The choosers are called on the calling thread.
 */
#ifndef CRUCIBLE_SHARD_H
#define CRUCIBLE_SHARD_H

typedef struct cr_shard_set cr_shard_set;

/* The key chooser: the shard of a key of n values (n >= 1). Returns a
 * shard's name, read before the call that asked returns. */
typedef const char *(*cr_shard_key_fn)(void *userdata, const cr_value *key, size_t n);
/* The object chooser (shard_chooser): the shard a new object of mapper m
 * goes to. obj is the model struct; the chooser reads its fields. */
typedef const char *(*cr_shard_object_fn)(void *userdata, const cr_mapper *m, const void *obj);
/* The id chooser (identity_chooser): the shards that may hold the row of
 * primary key pk (npk values, in key order), to try in order: writes up to
 * max names into out and returns how many; 0 means every shard. */
typedef size_t (*cr_shard_ids_fn)(void *userdata, const cr_mapper *m, const cr_value *pk,
                                  size_t npk, const char **out, size_t max);
/* The query chooser (execute_chooser): the shards a SELECT runs on, as the
 * id chooser writes them; 0 means every shard. cr_stmt_where_values reads
 * the values a WHERE compares a column with. */
typedef size_t (*cr_shard_query_fn)(void *userdata, const cr_stmt *q, const char **out,
                                    size_t max);

/* The choosers of a set; each may be NULL (then: key and object choosers
 * are required only by the calls that use them; no id or query chooser
 * means every shard). userdata is passed to each. */
typedef struct cr_shard_choosers {
    cr_shard_key_fn key;
    cr_shard_object_fn object;
    cr_shard_ids_fn ids;
    cr_shard_query_fn query;
    void *userdata;
} cr_shard_choosers;

/* At most this many shards in a set. */
#define CR_SHARD_MAX 64

/* A new, empty shard set with these choosers (copied; NULL: none). NULL
 * when out of memory. */
CR_API cr_shard_set *cr_shard_set_new(const cr_shard_choosers *choosers);
/* Free the set and the engines it made (cr_shard_set_add_url); engines
 * added with cr_shard_set_add_engine are the program's. Every connection,
 * result and sharded session of the set must be closed / freed first.
 * NULL is a no-op. */
CR_API void cr_shard_set_free(cr_shard_set *set);
/* The last error of a call on the set (or of a sharded session's fan-out),
 * or NULL when it succeeded; an ArgumentError for a NULL set. */
CR_API const cr_error *cr_shard_set_error(const cr_shard_set *set);

/* Add a shard: engine, under name (copied; a name is 1 to 63 characters,
 * unique in the set). The engine is borrowed: the program frees it after
 * the set. CR_ERR_ARGUMENT for a bad or taken name, a NULL engine, or a set
 * already holding CR_SHARD_MAX shards. */
CR_API cr_status cr_shard_set_add_engine(cr_shard_set *set, const char *name,
                                         cr_engine *engine);
/* Add a shard on an engine the set creates from url with options (NULL:
 * the defaults) and frees with itself. The engine's error (a bad URL ...)
 * is the set's. */
CR_API cr_status cr_shard_set_add_url(cr_shard_set *set, const char *name, const char *url,
                                      const cr_engine_options *options);
/* How many shards; the name of shard i (in the order they were added:
 * "shard order"), borrowed until the set is freed; NULL out of range. */
CR_API size_t cr_shard_set_count(const cr_shard_set *set);
CR_API const char *cr_shard_set_name(const cr_shard_set *set, size_t i);
/* The engine of the named shard; NULL with CR_ERR_ARGUMENT naming it when
 * there is no such shard. */
CR_API cr_engine *cr_shard_set_engine(cr_shard_set *set, const char *name);

/* The shard of a key (n values) by the key chooser: its name, borrowed
 * from the set. NULL with CR_ERR_INVALID_REQUEST when the set has no key
 * chooser, CR_ERR_ARGUMENT when it returned NULL or a name that is no
 * shard (the error names it). */
CR_API const char *cr_shard_set_choose(cr_shard_set *set, const cr_value *key, size_t n);
/* A connection to the named shard (cr_engine_connect on its engine), the
 * caller's to close. NULL with the error on the set. */
CR_API cr_conn *cr_shard_set_connect(cr_shard_set *set, const char *name);
/* Execute q (any statement: an INSERT routed by cr_shard_set_choose, DDL
 * through cr_metadata ... use cr_shard_set_connect) on the named shard in a
 * transaction of its own, committed (engine.begin()). rowcount (may be
 * NULL) receives the rows it changed. On error the transaction is rolled
 * back and the error, prefixed with the shard's name, is on the set. */
CR_API cr_status cr_shard_set_exec(cr_shard_set *set, const char *name, cr_stmt *q,
                                   int64_t *rowcount);

/* Run a SELECT on several shards and merge the rows (see the top of this
 * header). names: the shards, nnames of them, in the order to concatenate
 * (NULL: those the query chooser picks, or every shard in shard order).
 * Each shard runs q on a connection of its own, returned at once (a read:
 * nothing is committed). q is not consumed and is left as it was (its
 * LIMIT and OFFSET restored). Returns a row set the caller frees
 * (cr_rowset_free), readable with the usual cr_rowset_* and cr_row_*
 * calls; cr_rowset_shard tells each row's shard. NULL with the error on the
 * set: a shard's error is prefixed with its name ("shard 'eu': ..."), an
 * ORDER BY item that is not selected is CR_ERR_INVALID_REQUEST naming its
 * position. */
CR_API cr_rowset *cr_shard_set_fetch(cr_shard_set *set, cr_stmt *q, const char *const *names,
                                     size_t nnames);
/* The name of the shard row i of a fan-out's row set came from (borrowed
 * from the row set); NULL for another row set or out of range. */
CR_API const char *cr_rowset_shard(const cr_rowset *rows, size_t i);

/* For query choosers: the values q's WHERE compares col with, where the
 * WHERE (an AND of conditions) holds col = value, value = col or col IN
 * (values). Writes up to max of them into out (borrowed from q, valid until
 * q changes or is freed) and returns how many there are (more than max:
 * only max written); 0 when the WHERE does not pin col to values (no such
 * condition, or one under OR / NOT). Placeholders (cr_bindparam) are not
 * values: a condition on one is left out. */
CR_API size_t cr_stmt_where_values(const cr_stmt *q, const cr_column *col, cr_value *out,
                                   size_t max);

/* ------------------------------------------------------------------------
 * The sharded session
 *
 * One cr_session per shard under one handle: an object belongs to the
 * session of its shard, so the identity map is keyed by (shard, mapper,
 * primary key) — the same key on two shards is two objects, as SQLAlchemy's
 * identity_token makes it. A new object goes to the shard the object
 * chooser picks (or the one named); a loaded one flushes back to the shard
 * it came from; its relationships load from that shard; objects that
 * cascade from it (save-update) join its shard. Flush and commit run shard
 * by shard, in shard order: a commit is one transaction per shard, not one
 * atomic transaction over them (no two-phase commit) — a failure on a later
 * shard leaves the earlier ones committed, and the call reports the shard
 * that failed.
 * ------------------------------------------------------------------------ */

typedef struct cr_shard_session cr_shard_session;

/* A sharded session over set (which must outlive it), each shard's session
 * made with options (NULL: defaults). NULL when out of memory or set is
 * NULL or empty. */
CR_API cr_shard_session *cr_shard_session_new(cr_shard_set *set,
                                              const cr_session_options *options);
/* Close every shard's session (rolling back what is open) and free them
 * with their objects. NULL is a no-op. */
CR_API void cr_shard_session_free(cr_shard_session *ss);
/* The last error, or NULL when the last call succeeded. A shard's error
 * is prefixed with the shard's name. */
CR_API const cr_error *cr_shard_session_error(const cr_shard_session *ss);
/* The session of the named shard (borrowed; freed with ss): the whole
 * cr_session API works on it, within that shard. NULL with CR_ERR_ARGUMENT
 * when there is no such shard. */
CR_API cr_session *cr_shard_session_shard(cr_shard_session *ss, const char *name);
/* The shard an object of this sharded session belongs to (its identity
 * token), borrowed from the set; NULL when it is in none of its shards. */
CR_API const char *cr_shard_session_object_shard(const cr_shard_session *ss, const void *obj);

/* Add an object: one of a shard's session stays there; a new one goes to
 * the shard the object chooser picks (CR_ERR_INVALID_REQUEST when there is
 * none; CR_ERR_ARGUMENT for a name that is no shard). */
CR_API cr_status cr_shard_session_add(cr_shard_session *ss, void *obj);
/* Add a new object to the named shard (set_shard_id). An object already in
 * another shard's session is refused (CR_ERR_INVALID_REQUEST). */
CR_API cr_status cr_shard_session_add_to(cr_shard_session *ss, const char *name, void *obj);
/* Mark an object of one of the shards for deletion (cr_session_delete on
 * its shard's session). */
CR_API cr_status cr_shard_session_delete(cr_shard_session *ss, void *obj);
/* Flush, commit or roll back every shard's session, in shard order
 * (commit flushes them all before committing any). */
CR_API cr_status cr_shard_session_flush(cr_shard_session *ss);
CR_API cr_status cr_shard_session_commit(cr_shard_session *ss);
CR_API cr_status cr_shard_session_rollback(cr_shard_session *ss);
/* Objects in the identity maps of all shards. */
CR_API size_t cr_shard_session_identity_count(const cr_shard_session *ss);

/* The object of this primary key: looked for on the shards the id chooser
 * names (every shard without one), in order, as cr_session_get_values does
 * on each (identity map first); the first found wins. NULL with no error
 * when no shard has it. */
CR_API void *cr_shard_session_get_values(cr_shard_session *ss, const cr_mapper *m,
                                         const cr_value *values, size_t n);
#define cr_shard_session_get(ss, T, key)                                                 \
    ((T *)cr_shard_session_get_values((ss), T##_model.mapper,                            \
                                      (const cr_value[]){CR__KEYVAL(key)}, 1))
/* Run an ORM query (cr_select_model(T) ...) on several shards — names as
 * cr_shard_set_fetch takes them, NULL for the query chooser's or all —
 * through each shard's session (autoflush, loader options and the identity
 * map of that shard), and merge the objects: concatenated in shard order, or
 * by q's ORDER BY, whose items must then be columns of the model's table
 * (CR_ERR_INVALID_REQUEST otherwise); LIMIT and OFFSET as
 * cr_shard_set_fetch applies them. One object per row, as cr_session_all.
 * The list is the caller's (cr_objects_free), the objects their shard
 * sessions'. NULL with the error on ss. */
CR_API cr_objects *cr_shard_session_all(cr_shard_session *ss, cr_stmt *q,
                                        const char *const *names, size_t nnames);

#endif /* CRUCIBLE_SHARD_H */
