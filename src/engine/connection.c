/* connection.c — connections: executing statements, transactions, savepoints, isolation. */
#include "engine/engine.h"

#include <stdio.h>
#include <string.h>

/* Report a NULL or closed connection; returns the status to hand back. */
static cr_status check_conn(cr_conn *c)
{
    if (!c)
        return CR_ERR_ARGUMENT;
    cr_error_clear(&c->err);
    if (!c->pc)
        return cr_error_set(&c->err, CR_ERR_RESOURCE_CLOSED, "this connection is closed");
    return CR_OK;
}

static cr_status server_isolation(cr_conn *c, const char *level);

/* A handle whose database connection was lost: while the transaction it was
 * in is open, refused (the server rolled it back; the program must roll it
 * back too); after that, moved to a new connection of the pool, as
 * SQLAlchemy's Connection reconnects at its next use once invalidated. A
 * read-only connection of the replicas does not move (its replica was
 * chosen when it was checked out). */
static CR_COLD cr_status reconnect(cr_conn *c)
{
    if (c->in_tx || c->routed_from) {
        cr_error_set(&c->err, CR_ERR_OPERATIONAL, c->in_tx ?
                     "the connection to the database was lost earlier in this transaction, "
                     "which the server has rolled back: roll it back here too (cr_conn_rollback, "
                     "or cr_session_rollback for a session's); the next statement then runs "
                     "on a new connection" :
                     "the connection to the replica was lost: close this connection and "
                     "check out another");
        c->err.disconnect = true;
        c->err.retryable = true;
        return CR_ERR_OPERATIONAL;
    }
    cr_pconn *pc;
    cr_status st = cr_pool_checkout(c->engine, &pc, &c->err);
    if (st)
        return st;
    while (c->results)
        cr_result_detach(c->results);
    cr_pool_checkin(c->engine, c->pc);
    c->pc = pc;
    c->sp_depth = 0;
    return c->autocommit ? CR_OK : server_isolation(c, c->isolation);
}

/* check_conn, and a lost database connection replaced where it may be. */
static cr_status check_live(cr_conn *c)
{
    cr_status st = check_conn(c);
    if (st == CR_OK && c->pc->broken)
        st = reconnect(c);
    return st;
}

static const cr_error null_conn_error = {
    .cls = CR_ERR_ARGUMENT, .message = "connection handle is NULL",
};

const cr_error *cr_conn_error(const cr_conn *c)
{
    if (!c)
        return &null_conn_error;
    return c->err.cls ? &c->err : NULL;
}

cr_engine *cr_conn_engine(const cr_conn *c)
{
    return c ? (c->routed_from ? c->routed_from : c->engine) : NULL;
}
bool cr_conn_in_transaction(const cr_conn *c) { return c && c->in_tx; }
int cr_conn_savepoint_depth(const cr_conn *c) { return c ? c->sp_depth : 0; }
const char *cr_conn_isolation_level(const cr_conn *c)
{
    return c ? (c->autocommit ? "AUTOCOMMIT" : c->isolation) : NULL;
}

void cr_conn_note_error(cr_conn *c, cr_error *err, bool committing)
{
    if (!err->disconnect)
        return;
    cr_pool_note_lost(c->engine, c->pc);
    /* The driver knows the server refused the statement without running it
     * (a Galera node not ready, 1047): nothing happened, COMMIT included. */
    if (err->retryable)
        return;
    /* The server rolls back a transaction whose connection it loses: when
     * no COMMIT was sent, nothing of it happened and it may run again on
     * another connection. A COMMIT sent without an answer may have happened
     * or not; that is the caller's to find out, never to retry blindly
     * (SQLAlchemy does not retry either). */
    if (committing || c->autocommit)
        err->commit_unknown = true;
    else
        err->retryable = true;
}

/* Run a transaction-control statement, logging it and noting a lost connection. */
static cr_status run_simple(cr_conn *c, const char *sql, const char *log_as)
{
    cr_engine_log(c->engine, "%s", log_as ? log_as : sql);
    cr_status st = c->engine->drv->exec_simple(c->pc->dc, sql, &c->err);
    if (st) {
        cr_conn_note_error(c, &c->err, strcmp(sql, "COMMIT") == 0);
        cr_error_set_statement(&c->err, sql);
    }
    return st;
}

/* BEGIN; where the server session is not ours to keep state in
 * (unnamed_statements), with the isolation level for this transaction.
 * Out of line: once a transaction, not once a statement. */
static __attribute__((noinline)) cr_status begin_tx(cr_conn *c, const char *log_as)
{
    cr_status st;
    if (c->engine->unnamed_statements) {
        cr_engine_log(c->engine, "%s", log_as ? log_as : "BEGIN");
        st = c->engine->drv->begin_isolated(c->pc->dc, c->isolation, &c->err);
        if (st) {
            cr_conn_note_error(c, &c->err, false);
            cr_error_set_statement(&c->err, "BEGIN");
        }
    } else {
        st = run_simple(c, "BEGIN", log_as);
    }
    if (st == CR_OK)
        c->in_tx = true;
    return st;
}

static cr_status autobegin(cr_conn *c)
{
    if (c->in_tx || c->autocommit)
        return CR_OK;
    return begin_tx(c, "BEGIN (implicit)");
}

cr_status cr_conn_begin(cr_conn *c)
{
    cr_status st = check_live(c);
    if (st)
        return st;
    if (c->in_tx)
        return cr_error_set(&c->err, CR_ERR_INVALID_REQUEST,
                            "a transaction is already begun on this connection; commit or "
                            "roll it back first, or use a savepoint (cr_conn_begin_nested)");
    if (c->autocommit)
        return CR_OK;
    return begin_tx(c, NULL);
}

/* A ROLLBACK (or ROLLBACK TO SAVEPOINT) that found the connection lost has
 * nothing left to undo: the server rolled the transaction back when it lost
 * the connection. It succeeds, as one sent after the loss was seen does. */
static cr_status lost_in_rollback(cr_conn *c)
{
    cr_error_clear(&c->err);
    return CR_OK;
}

static cr_status end_tx(cr_conn *c, const char *sql)
{
    cr_status st = check_conn(c);
    if (st || !c->in_tx)
        return st;
    if (c->pc->broken) {
        /* Lost earlier in this transaction: the server has rolled it back.
         * A ROLLBACK has nothing left to do (and succeeds, as SQLAlchemy's
         * of an invalidated connection does, so that rolling back after an
         * error reports that error, not one of its own); a COMMIT sent now
         * could only add doubt. */
        c->in_tx = false;
        c->sp_depth = 0;
        if (strcmp(sql, "ROLLBACK") == 0)
            return CR_OK;
        cr_error_set(&c->err, CR_ERR_OPERATIONAL,
                     "cannot commit: the connection to the database was lost earlier in this "
                     "transaction, which the server has rolled back (nothing of it was "
                     "committed; it is safe to run it again)");
        c->err.disconnect = true;
        c->err.retryable = true;
        cr_error_set_statement(&c->err, sql);
        return CR_ERR_OPERATIONAL;
    }
    st = run_simple(c, sql, NULL);
    if (st && c->pc->broken && strcmp(sql, "ROLLBACK") == 0)
        st = lost_in_rollback(c);
    /* A failed COMMIT leaves the transaction for the caller to roll back;
     * a failed ROLLBACK leaves nothing to roll back. */
    if (st == CR_OK || strcmp(sql, "ROLLBACK") == 0 || c->pc->broken) {
        c->in_tx = false;
        c->sp_depth = 0;
    }
    /* Read-your-writes remembers where the commit is (engines with
     * replicas only: one pointer test for the others). */
    if (st == CR_OK && c->engine->replicas && !c->routed_from && sql[0] == 'C')
        cr_replicas_note_commit(c);
    return st;
}

cr_status cr_conn_commit(cr_conn *c) { return end_tx(c, "COMMIT"); }
cr_status cr_conn_rollback(cr_conn *c) { return end_tx(c, "ROLLBACK"); }

static cr_status savepoint_op(cr_conn *c, const char *verb, int depth)
{
    char sql[64];
    snprintf(sql, sizeof sql, "%s sa_savepoint_%d", verb, depth);
    return run_simple(c, sql, NULL);
}

cr_status cr_conn_begin_nested(cr_conn *c)
{
    cr_status st = check_live(c);
    if (st)
        return st;
    if (c->autocommit)
        return cr_error_set(&c->err, CR_ERR_INVALID_REQUEST,
                            "savepoints need a transaction; this connection is in AUTOCOMMIT");
    if ((st = autobegin(c)))
        return st;
    if ((st = savepoint_op(c, "SAVEPOINT", c->sp_depth + 1)) == CR_OK)
        c->sp_depth++;
    return st;
}

static cr_status end_savepoint(cr_conn *c, const char *verb)
{
    cr_status st = check_conn(c);
    if (st)
        return st;
    if (c->sp_depth == 0)
        return cr_error_set(&c->err, CR_ERR_INVALID_REQUEST, "no savepoint is open");
    /* Lost: the server has rolled back the savepoint with the rest. */
    if (c->pc->broken && strcmp(verb, "ROLLBACK TO SAVEPOINT") == 0) {
        c->sp_depth--;
        return CR_OK;
    }
    st = savepoint_op(c, verb, c->sp_depth);
    if (st && c->pc->broken && strcmp(verb, "ROLLBACK TO SAVEPOINT") == 0)
        st = lost_in_rollback(c);
    if (st == CR_OK)
        c->sp_depth--;
    return st;
}

cr_status cr_conn_release_savepoint(cr_conn *c) { return end_savepoint(c, "RELEASE SAVEPOINT"); }
cr_status cr_conn_rollback_savepoint(cr_conn *c) { return end_savepoint(c, "ROLLBACK TO SAVEPOINT"); }

/* Put the server session at level (canonical, not AUTOCOMMIT) if it is not.
 * Without session state the level goes with each BEGIN instead. */
static cr_status server_isolation(cr_conn *c, const char *level)
{
    if (c->engine->unnamed_statements || strcmp(c->pc->server_isolation, level) == 0)
        return CR_OK;
    cr_status st = c->engine->drv->set_isolation(c->pc->dc, level, &c->err);
    if (st == CR_OK)
        c->pc->server_isolation = level;
    return st;
}

cr_status cr_conn_set_isolation_level(cr_conn *c, const char *level)
{
    cr_status st = check_live(c);
    if (st)
        return st;
    const char *canon = cr_isolation_canonical(level);
    if (!canon)
        return cr_error_set(&c->err, CR_ERR_ARGUMENT,
                            "unknown isolation level '%s' (known: SERIALIZABLE, REPEATABLE "
                            "READ, READ COMMITTED, READ UNCOMMITTED, AUTOCOMMIT)",
                            level ? level : "(null)");
    if (c->in_tx)
        return cr_error_set(&c->err, CR_ERR_INVALID_REQUEST,
                            "cannot change the isolation level inside a transaction");
    if (strcmp(canon, "AUTOCOMMIT") == 0) {
        c->autocommit = true;
        return CR_OK;
    }
    if ((st = server_isolation(c, canon)))
        return st;
    c->autocommit = false;
    c->isolation = canon;
    return CR_OK;
}

cr_status cr_conn_set_stream_results(cr_conn *c, bool on)
{
    cr_status st = check_conn(c);
    if (st == CR_OK)
        c->stream = on;
    return st;
}

/* Echo the statement and its parameters as SQLAlchemy does. */
static void log_statement(cr_conn *c, cr_prepared *st, bool cached, const cr_value *const *by_name,
                          const char *const *names, size_t nparams, const cr_value *sets,
                          size_t nsets)
{
    cr_engine *e = c->engine;
    cr_buf b;
    cr_buf_init(&b);
    if (cached)
        cr_buf_printf(&b, "[cached since %.4gs ago] ", cr_now_seconds() - st->prepared_at);
    else
        cr_buf_printf(&b, "[generated in %.5fs] ", cr_now_seconds() - st->prepared_at);
    size_t nn = sets ? nparams : (size_t)st->text.nnames;
    size_t shown = nsets > 10 ? 10 : nsets;
    if (sets)
        cr_buf_putc(&b, '[');
    for (size_t s = 0; s < (sets ? shown : 1); s++) {
        cr_buf_puts(&b, s ? ", {" : "{");
        for (size_t i = 0; i < nn; i++) {
            cr_buf_printf(&b, "%s'%s': ", i ? ", " : "", sets ? names[i] : st->text.names[i]);
            cr_buf_put_value(&b, sets ? &sets[s * nn + i] : by_name[i]);
        }
        cr_buf_putc(&b, '}');
    }
    if (sets && nsets > shown)
        cr_buf_printf(&b, " ... displaying %zu of %zu total bound parameter sets ...", shown,
                      nsets);
    if (sets)
        cr_buf_putc(&b, ']');
    cr_engine_log(e, "%s", st->sql);
    cr_engine_log(e, "%s", b.oom ? "[parameters not shown: out of memory]" : cr_buf_cstr(&b));
    cr_buf_free(&b);
}

/* A value no backend could store correctly is refused before anything is
 * sent: dates and times must be real ones, text and blobs must have bytes. */
static __attribute__((noinline)) cr_status check_value_general(cr_conn *c, const char *name,
                                                                const cr_value *v)
{
    char why[128];
    cr_status st = cr_value_check(v, why, sizeof why);
    if (st)
        return cr_error_set(&c->err, st, "parameter '%s': %s", name, why);
    return CR_OK;
}

/* A null, number or boolean needs no check: the common case, inline. */
static inline cr_status check_value(cr_conn *c, const char *name, const cr_value *v)
{
    return cr_value_check_needless(v) ? CR_OK : check_value_general(c, name, v);
}

/* Match the caller's named parameters to the statement's names and lay the
 * values out in placeholder order. Where each name has one placeholder
 * ($N, ?N) the value goes straight to its slot. */
static cr_status bind_params(cr_conn *c, cr_prepared *st, const cr_param *params)
{
    cr_sqltext *t = &st->text;
    bool direct = c->engine->drv->param_style != CR_PARAM_QMARK;
    for (int i = 0; i < t->nnames; i++)
        st->by_name[i] = NULL;
    for (const cr_param *p = params; p && p->name; p++) {
        int idx = -1;
        /* Parameters usually come in the order they appear in the SQL. */
        int guess = (int)(p - params);
        if (guess < t->nnames && cr_same_name(t->names[guess], p->name))
            idx = guess;
        else
            idx = cr_sqltext_find(t, p->name);
        if (idx < 0)
            return cr_error_set(&c->err, CR_ERR_ARGUMENT,
                                "parameter '%s' is not in the statement (it takes %d named "
                                "parameter%s%s%s)", p->name, t->nnames,
                                t->nnames == 1 ? "" : "s", t->nnames ? ", first :" : "",
                                t->nnames ? t->names[0] : "");
        if (st->by_name[idx])
            return cr_error_set(&c->err, CR_ERR_ARGUMENT, "parameter '%s' is given twice",
                                p->name);
        cr_status rc = check_value(c, p->name, &p->value);
        if (rc)
            return rc;
        st->by_name[idx] = &p->value;
        if (direct)
            st->slots[idx] = p->value;
    }
    for (int i = 0; i < t->nnames; i++)
        if (!st->by_name[i])
            return cr_error_set(&c->err, CR_ERR_ARGUMENT,
                                "a value is required for bind parameter '%s'", t->names[i]);
    if (!direct)
        for (int k = 0; k < t->nslots; k++)
            st->slots[k] = *st->by_name[t->slot_name[k]];
    return CR_OK;
}

/* Before any statement: the connection is usable and no streamed result
 * holds it. */
CR_HOT cr_status cr_conn_check_statement(cr_conn *c)
{
    cr_status rc = check_live(c);
    if (rc)
        return rc;
    if (c->streaming)
        return cr_error_set(&c->err, CR_ERR_INVALID_REQUEST,
                            "a streamed result is still being read on this connection; "
                            "fetch all of it or free it first");
    return CR_OK;
}

/* The first statement outside a transaction begins one (unless AUTOCOMMIT). */
CR_HOT cr_status cr_conn_autobegin(cr_conn *c)
{
    return autobegin(c);
}

/* A statement whose SQL is its key, with no parameters. (The compiler's
 * shape keys start with a byte above 0x9F, which no SQL text starts with.) */
static cr_status as_written(void *ctx, cr_compile_out *out, cr_error *err)
{
    (void)ctx;
    (void)err;
    out->sql = NULL;
    out->nslots = 0;
    return CR_OK;
}

cr_status cr_conn_exec_verbatim(cr_conn *c, const char *sql)
{
    cr_status rc = cr_conn_check_statement(c);
    if (rc)
        return rc;
    if (!sql)
        return cr_error_set(&c->err, CR_ERR_ARGUMENT, "SQL text is NULL");
    if ((rc = autobegin(c)))
        return rc;
    cr_prepared *st;
    bool cached;
    if ((rc = cr_prepared_get_keyed(c, sql, strlen(sql), as_written, NULL, NULL, &st, &cached)))
        return rc;
    if (c->engine->echo)
        cr_conn_log_positional(c, st, cached, NULL, NULL, 0);
    rc = cr_conn_run(c, st, st->slots, false);
    cr_prepared_release(c, st, true);
    return rc;
}

/* Shared front of execute and executemany: checks, statement, transaction. */
static cr_status start(cr_conn *c, const char *sql, cr_prepared **st, bool *cached)
{
    cr_status rc = cr_conn_check_statement(c);
    if (rc == CR_OK)
        rc = autobegin(c);
    if (rc)
        return rc;
    if (!sql)
        return cr_error_set(&c->err, CR_ERR_ARGUMENT, "SQL text is NULL");
    return cr_prepared_get(c, sql, st, cached);
}

static CR_COLD cr_status run_failed(cr_conn *c, cr_prepared *st, cr_status rc)
{
    cr_conn_note_error(c, &c->err, false);
    cr_error_set_statement(&c->err, st->sql);
    return rc;
}

CR_HOT cr_status cr_conn_run(cr_conn *c, cr_prepared *st, const cr_value *vals, bool stream)
{
    cr_status rc = c->engine->drv->execute(st->ds, vals, stream, &c->err);
    return rc ? run_failed(c, st, rc) : CR_OK;
}

/* Echo a compiled statement with its positional parameters, as SQLAlchemy
 * shows them: [cached since 2.1s ago] ('bob@example.com', 1). */
CR_COLD void cr_conn_log_positional(cr_conn *c, cr_prepared *st, bool cached, const char *note,
                                    const cr_value *vals, size_t n)
{
    cr_engine *e = c->engine;
    cr_buf b;
    cr_buf_init(&b);
    if (cached)
        cr_buf_printf(&b, "[cached since %.4gs ago]", cr_now_seconds() - st->prepared_at);
    else
        cr_buf_printf(&b, "[generated in %.5fs]", cr_now_seconds() - st->prepared_at);
    if (note)
        cr_buf_printf(&b, " [%s]", note);
    size_t shown = n > 20 ? 20 : n;
    cr_buf_puts(&b, " (");
    for (size_t i = 0; i < shown; i++) {
        if (i)
            cr_buf_puts(&b, ", ");
        cr_buf_put_value(&b, &vals[i]);
    }
    if (n > shown)
        cr_buf_printf(&b, " ... %zu parameters in all", n);
    cr_buf_puts(&b, n == 1 ? ",)" : ")");
    cr_engine_log(e, "%s", st->sql);
    cr_engine_log(e, "%s", b.oom ? "[parameters not shown: out of memory]" : cr_buf_cstr(&b));
    cr_buf_free(&b);
}

/* Prepare (or find), bind and execute: the statement, executed, or NULL. */
static cr_prepared *execute(cr_conn *c, const char *sql, const cr_param *params, bool stream)
{
    cr_prepared *st;
    bool cached;
    if (start(c, sql, &st, &cached))
        return NULL;
    if (bind_params(c, st, params)) {
        cr_error_set_statement(&c->err, sql);
        cr_prepared_release(c, st, true);
        return NULL;
    }
    if (c->engine->echo)
        log_statement(c, st, cached, st->by_name, NULL, 0, NULL, 0);
    if (cr_conn_run(c, st, st->slots, stream)) {
        cr_prepared_release(c, st, true);
        return NULL;
    }
    return st;
}

cr_result *cr_conn_execute(cr_conn *c, const char *sql, const cr_param *params)
{
    cr_prepared *st = execute(c, sql, params, c && c->stream);
    return st ? cr_result_new(c, st) : NULL;
}

/* No result is made: the rows, if any, are discarded with the statement's
 * reset. */
cr_status cr_conn_exec(cr_conn *c, const char *sql, const cr_param *params)
{
    cr_prepared *st = execute(c, sql, params, false);
    if (!st)
        return c ? c->err.cls : CR_ERR_ARGUMENT;
    cr_prepared_release(c, st, true);
    return CR_OK;
}

cr_result *cr_conn_executemany(cr_conn *c, const char *sql, const char *const *names,
                               size_t nparams, const cr_value *values, size_t nsets)
{
    cr_prepared *st;
    bool cached;
    if (check_conn(c))
        return NULL;
    if ((nparams && !names) || (nsets && nparams && !values)) {
        cr_error_set(&c->err, CR_ERR_ARGUMENT, "executemany: names or values is NULL");
        return NULL;
    }
    if (start(c, sql, &st, &cached))
        return NULL;
    const cr_driver *drv = c->engine->drv;
    cr_sqltext *t = &st->text;
    /* Map each of the statement's names to its column in values, once. */
    int *col = cr_malloc(sizeof(int) * (size_t)(t->nnames ? t->nnames : 1));
    cr_status rc = col ? CR_OK : cr_error_oom(&c->err);
    for (int i = 0; rc == CR_OK && i < t->nnames; i++) {
        col[i] = -1;
        for (size_t j = 0; j < nparams; j++)
            if (names[j] && strcmp(names[j], t->names[i]) == 0)
                col[i] = (int)j;
        if (col[i] < 0)
            rc = cr_error_set(&c->err, CR_ERR_ARGUMENT,
                              "a value is required for bind parameter '%s'", t->names[i]);
    }
    for (size_t j = 0; rc == CR_OK && j < nparams; j++)
        if (!names[j] || cr_sqltext_find(t, names[j]) < 0)
            rc = cr_error_set(&c->err, CR_ERR_ARGUMENT, "parameter '%s' is not in the statement",
                              names[j] ? names[j] : "(null)");
    for (size_t k = 0; rc == CR_OK && k < nsets * nparams; k++)
        rc = check_value(c, names[k % nparams], &values[k]);
    if (rc == CR_OK && c->engine->echo)
        log_statement(c, st, cached, NULL, names, nparams, values, nsets);
    int64_t total = 0;
    for (size_t s = 0; rc == CR_OK && s < nsets; s++) {
        const cr_value *row = values + s * nparams;
        for (int k = 0; k < t->nslots; k++)
            st->slots[k] = row[col[t->slot_name[k]]];
        if ((rc = cr_conn_run(c, st, st->slots, false)))
            break;
        int64_t n = drv->rowcount(st->ds);
        total = (total < 0 || n < 0) ? -1 : total + n;
        if (s + 1 < nsets)
            drv->reset(st->ds);
    }
    cr_free(col);
    if (rc) {
        if (!cr_error_statement(&c->err))
            cr_error_set_statement(&c->err, sql);
        cr_prepared_release(c, st, true);
        return NULL;
    }
    if (nsets == 0) {
        cr_prepared_release(c, st, true);
        st = NULL;
    }
    cr_result *r = cr_result_new(c, st);
    if (r && nsets)
        r->rowcount = total;
    return r;
}

void cr_conn_invalidate(cr_conn *c)
{
    if (!c || !c->pc)
        return;
    while (c->results)
        cr_result_detach(c->results);
    c->pc->invalidated = true;
    c->in_tx = false;
    c->sp_depth = 0;
    cr_pool_checkin(c->engine, c->pc);
    c->pc = NULL;
}

void cr_conn_ref_attach(cr_conn *c, cr_conn_ref *ref, cr_conn **slot)
{
    *slot = c;
    ref->slot = slot;
    ref->prev = NULL;
    ref->next = c->refs;
    if (c->refs)
        c->refs->prev = ref;
    c->refs = ref;
}

void cr_conn_ref_detach(cr_conn_ref *ref)
{
    cr_conn *c = ref->slot ? *ref->slot : NULL;
    if (!c)
        return;
    if (ref->prev)
        ref->prev->next = ref->next;
    else
        c->refs = ref->next;
    if (ref->next)
        ref->next->prev = ref->prev;
    ref->prev = ref->next = NULL;
    *ref->slot = NULL;
}

void cr_conn_close(cr_conn *c)
{
    if (!c)
        return;
    while (c->refs)
        cr_conn_ref_detach(c->refs);
    if (c->pc) {
        while (c->results)
            cr_result_detach(c->results);
        if (c->in_tx && !c->pc->broken)
            end_tx(c, "ROLLBACK");
        /* Hand the connection back as the engine configured it. A
         * connection whose level cannot be restored is not reused; only a
         * lost server makes the older connections suspect too. */
        cr_engine *e = c->engine;
        if (!c->pc->broken && server_isolation(c, e->server_isolation)) {
            cr_conn_note_error(c, &c->err, false);
            c->pc->invalidated = !c->pc->broken;
        }
        cr_pool_checkin(e, c->pc);
        c->pc = NULL;
    }
    cr_free(c->spare);
    cr_error_clear(&c->err);
    cr_free(c);
}
