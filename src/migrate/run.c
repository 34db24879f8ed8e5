/* run.c — running migrations: the version table, the lock, upgrade / downgrade / stamp / current, offline SQL and the migration check. */
#include "migrate/migrate.h"

#include "engine/engine.h"
#include "schema/ddl.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- one run ---------------------------------------------------------------- */

typedef struct run {
    const cr_migrate_script *s;
    const cr_dialect *d;
    cr_error err;
    cr_conn *conn;                  /* online */
    bool locked;
    cr_buf out;                     /* offline */
    cr_emitter e;
    bool has_version_table;
    /* The version table's rows: heads (indices of s->revs) and a revision
     * left part-way. */
    long *heads;
    size_t nheads;
    char partial[CR_MIGRATE_ID_MAX + 1];
    char progress[65];
    cr_model model;
} run;

static void run_init(run *r, const cr_migrate_script *s)
{
    memset(r, 0, sizeof *r);
    r->s = s;
    cr_error_init(&r->err);
    cr_buf_init(&r->out);
    cr_model_init(&r->model);
}

static void unlock(run *r)
{
    if (!r->locked || !r->conn)
        return;
    /* After a failure the connection may hold an aborted transaction. */
    if (cr_conn_in_transaction(r->conn))
        cr_conn_rollback(r->conn);
    cr_result *res = cr_conn_execute(r->conn, r->d->ddl->migrate_unlock_sql, NULL);
    cr_result_free(res);
    cr_conn_rollback(r->conn);
    r->locked = false;
}

/* Finish: the lock released, the connection closed, the error handed out. */
static cr_status run_end(run *r, cr_status st, cr_error **err)
{
    unlock(r);
    if (r->conn) {
        if (cr_conn_in_transaction(r->conn))
            cr_conn_rollback(r->conn);
        cr_conn_close(r->conn);
    }
    cr_free(r->heads);
    cr_model_free(&r->model);
    cr_buf_free(&r->out);
    if (err)
        *err = st != CR_OK ? cr_error_dup(&r->err) : NULL;
    cr_error_clear(&r->err);
    return st;
}

static cr_status conn_error(run *r)
{
    const cr_error *e = cr_conn_error(r->conn);
    if (e)
        cr_error_copy(&r->err, e);
    else if (r->err.cls == CR_OK)
        cr_error_oom(&r->err);
    return r->err.cls;
}

static cr_status bad_script(run *r)
{
    if (!r->s)
        return cr_error_set(&r->err, CR_ERR_ARGUMENT, "the migration script is NULL");
    if (!r->s->resolved)
        return cr_error_set(&r->err, CR_ERR_INVALID_REQUEST,
                            "the migration script is not resolved (cr_migrate_script_resolve)");
    return CR_OK;
}

static cr_status use_dialect(run *r, const char *name)
{
    r->d = name ? cr_dialect_find(name) : NULL;
    if (!r->d || r->d == &cr_default_dialect || !r->d->ddl)
        return cr_error_set(&r->err, CR_ERR_ARGUMENT,
                            "no migrations for dialect '%s' (sqlite, postgresql or mysql)",
                            name ? name : "(null)");
    r->e.d = r->d;
    r->e.err = &r->err;
    return CR_OK;
}

/* ---- the revision graph ------------------------------------------------------ */

static void mark_ancestors(const cr_migrate_script *s, long i, bool *mark)
{
    if (i < 0 || mark[i])
        return;
    mark[i] = true;
    for (size_t p = 0; p < s->revs[i].nparents; p++)
        mark_ancestors(s, cr_migrate_find(s, s->revs[i].parents[p]), mark);
}

/* The revisions applied when heads are: every ancestor, inclusive. */
static bool *closure(run *r, const long *heads, size_t n)
{
    bool *mark = cr_calloc(r->s->n ? r->s->n : 1, sizeof *mark);
    if (!mark) {
        cr_error_oom(&r->err);
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        mark_ancestors(r->s, heads[i], mark);
    return mark;
}

/* "head" (NULL), "base" (-1 with *base) or an id; -2 with the error set. */
static long resolve_target(run *r, const char *target, bool allow_base, bool *base)
{
    *base = false;
    if (target && strcmp(target, "base") == 0) {
        if (allow_base) {
            *base = true;
            return -1;
        }
        cr_error_set(&r->err, CR_ERR_ARGUMENT, "'base' is not a target here");
        return -2;
    }
    if (!target || strcmp(target, "head") == 0 || strcmp(target, "heads") == 0) {
        const cr_revision *heads[8];
        size_t n = cr_migrate_script_heads(r->s, heads, CR_ARRAY_LEN(heads));
        if (n == 0) {
            *base = true;
            return -1;
        }
        if (n > 1) {
            cr_buf b;
            cr_buf_init(&b);
            for (size_t i = 0; i < n && i < CR_ARRAY_LEN(heads); i++)
                cr_buf_printf(&b, "%s'%s'", i ? ", " : "", heads[i]->id);
            const char *list = cr_buf_cstr(&b);
            cr_error_set(&r->err, CR_ERR_INVALID_REQUEST,
                         "the history has %zu heads (%s): write a merge revision whose parents "
                         "are all of them, or name the revision to go to", n, list ? list : "");
            cr_buf_free(&b);
            return -2;
        }
        return cr_migrate_find(r->s, heads[0]->id);
    }
    long i = cr_migrate_find(r->s, target);
    if (i < 0)
        cr_error_set(&r->err, CR_ERR_ARGUMENT, "no revision '%s' in the migrations", target);
    return i < 0 ? -2 : i;
}

/* ---- the version table ---------------------------------------------------------- */

static cr_status add_head(run *r, long i)
{
    long *p = cr_realloc(r->heads, (r->nheads + 1) * sizeof *p);
    if (!p)
        return cr_error_oom(&r->err);
    r->heads = p;
    r->heads[r->nheads++] = i;
    return CR_OK;
}

static void remove_head(run *r, long i)
{
    for (size_t k = 0; k < r->nheads; k++)
        if (r->heads[k] == i) {
            memmove(&r->heads[k], &r->heads[k + 1], (r->nheads - k - 1) * sizeof *r->heads);
            r->nheads--;
            return;
        }
}

static bool is_head(const run *r, long i)
{
    for (size_t k = 0; k < r->nheads; k++)
        if (r->heads[k] == i)
            return true;
    return false;
}

/* The rows as they are; ids are kept as text in *ids for current (may be
 * NULL), and must be revisions of the script when check_known. */
static cr_status read_version(run *r, bool check_known, cr_buf *ids)
{
    cr_inspector *insp = cr_inspect(r->conn);
    if (!insp)
        return conn_error(r);
    cr_status st = cr_inspector_has_table(insp, CR_MIGRATE_VERSION_TABLE, &r->has_version_table);
    cr_inspector_free(insp);
    if (st)
        return conn_error(r);
    if (!r->has_version_table)
        return cr_conn_commit(r->conn) ? conn_error(r) : CR_OK;
    cr_result *res = cr_conn_execute(r->conn, "SELECT version_num, progress FROM "
                                              CR_MIGRATE_VERSION_TABLE " ORDER BY version_num",
                                     NULL);
    if (!res)
        return conn_error(r);
    const cr_row *row;
    while (st == CR_OK && (row = cr_result_fetchone(res))) {
        const char *id, *progress = NULL;
        bool null_progress;
        if (cr_row_text_at(row, 0, &id, NULL) ||
            cr_row_text_or_null_at(row, 1, &progress, NULL, &null_progress)) {
            cr_error_copy(&r->err, cr_row_error(row));
            st = r->err.cls;
            break;
        }
        if (!null_progress) {
            snprintf(r->partial, sizeof r->partial, "%s", id);
            snprintf(r->progress, sizeof r->progress, "%s", progress);
        }
        if (ids) {
            cr_buf_puts(ids, id);
            cr_buf_putc(ids, '\0');
        }
        long i = cr_migrate_find(r->s, id);
        if (i < 0 && check_known)
            st = cr_error_set(&r->err, CR_ERR_INVALID_REQUEST,
                              "the database is at revision '%s', which the migrations do not "
                              "have (a newer or another program's history?)", id);
        else if (i >= 0 && null_progress)
            st = add_head(r, i);
    }
    if (st == CR_OK && cr_result_error(res)) {
        cr_error_copy(&r->err, cr_result_error(res));
        st = r->err.cls;
    }
    cr_result_free(res);
    if (st == CR_OK && cr_conn_commit(r->conn))
        st = conn_error(r);
    if (st == CR_OK && check_known && r->partial[0])
        st = cr_error_set(&r->err, CR_ERR_INVALID_REQUEST,
                          "revision '%s' was left part-way (%s operations ran; this backend "
                          "commits DDL as it goes): finish or undo it by hand, then stamp the "
                          "version", r->partial, r->progress);
    return st;
}

/* Connect and take the migration lock. */
static cr_status run_connect(run *r, cr_engine *engine)
{
    if (!engine)
        return cr_error_set(&r->err, CR_ERR_ARGUMENT, "the engine is NULL");
    cr_status st = use_dialect(r, cr_engine_backend(engine));
    if (st)
        return st;
    cr_error *cerr = NULL;
    r->conn = cr_engine_connect(engine, &cerr);
    if (!r->conn) {
        if (cerr)
            cr_error_copy(&r->err, cerr);
        else
            cr_error_oom(&r->err);
        cr_error_free(cerr);
        return r->err.cls;
    }
    r->e.conn = r->conn;
    const char *lock = r->d->ddl->migrate_lock_sql;
    if (!lock)
        return CR_OK;
    cr_result *res = cr_conn_execute(r->conn, lock, NULL);
    if (!res)
        return conn_error(r);
    int64_t got = 0;
    bool b = false;
    st = cr_result_scalar_bool(res, &b);
    if (st == CR_OK)
        got = b;
    cr_result_free(res);
    if (st != CR_OK) {
        res = cr_conn_execute(r->conn, lock, NULL);     /* MySQL answers 1 / 0 */
        st = res ? cr_result_scalar_int64(res, &got) : CR_ERR_DATABASE;
        cr_result_free(res);
    }
    if (st != CR_OK)
        return conn_error(r);
    if (cr_conn_commit(r->conn))
        return conn_error(r);
    if (got != 1)
        return cr_error_set(&r->err, CR_ERR_OPERATIONAL,
                            "another process is migrating this database (the migration lock is "
                            "held); try again when it has finished");
    r->locked = true;
    return CR_OK;
}

/* ---- statements of a run ---------------------------------------------------------- */

static cr_status emit_fmt(run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static cr_status emit_fmt(run *r, const char *fmt, ...)
{
    char sql[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    return cr_emit(&r->e, sql);
}

static cr_status begin(run *r)
{
    if (!r->conn)
        return cr_emit(&r->e, "BEGIN");
    return cr_conn_begin(r->conn) ? conn_error(r) : CR_OK;
}

static cr_status commit(run *r)
{
    if (!r->conn)
        return cr_emit(&r->e, "COMMIT");
    return cr_conn_commit(r->conn) ? conn_error(r) : CR_OK;
}

#define VT CR_MIGRATE_VERSION_TABLE

static cr_status create_version_table(run *r)
{
    if (r->has_version_table)
        return CR_OK;
    cr_buf b;
    cr_buf_init(&b);
    cr_status st = cr_migrate_version_table_sql(r->d, &b, &r->err) ? CR_OK : r->err.cls;
    if (st == CR_OK)
        st = begin(r);
    if (st == CR_OK)
        st = cr_emit_buf(&r->e, &b);
    if (st == CR_OK)
        st = commit(r);
    cr_buf_free(&b);
    r->has_version_table = st == CR_OK;
    return st;
}

/* Inside a revision's transaction: the version table still says what it
 * said when the run began (another process has not moved it: on SQLite,
 * where no lock is held between revisions, this is what keeps a second
 * process from applying a revision again). */
static cr_status recheck_version(run *r)
{
    if (!r->conn)
        return CR_OK;
    cr_result *res = cr_conn_execute(r->conn, "SELECT version_num FROM " VT
                                              " WHERE progress IS NULL", NULL);
    if (!res)
        return conn_error(r);
    size_t n = 0;
    bool same = true;
    const cr_row *row;
    while ((row = cr_result_fetchone(res))) {
        const char *id = "";
        cr_row_text_at(row, 0, &id, NULL);
        same &= is_head(r, cr_migrate_find(r->s, id));
        n++;
    }
    cr_status st = CR_OK;
    if (cr_result_error(res)) {
        cr_error_copy(&r->err, cr_result_error(res));
        st = r->err.cls;
    } else if (!same || n != r->nheads) {
        st = cr_error_set(&r->err, CR_ERR_OPERATIONAL,
                          "the version table changed while migrating: another process is "
                          "migrating this database");
    }
    cr_result_free(res);
    return st;
}

/* SQLite: are foreign keys on (so a rebuild turns them off)? Offline:
 * assumed on, as Crucible's SQLite connections have them. */
static cr_status foreign_keys_on(run *r, bool *on)
{
    *on = true;
    if (!r->conn)
        return CR_OK;
    cr_result *res = cr_conn_execute(r->conn, "PRAGMA foreign_keys", NULL);
    int64_t v = 1;
    cr_status st = res ? cr_result_scalar_int64(res, &v) : CR_ERR_DATABASE;
    cr_result_free(res);
    if (st || cr_conn_commit(r->conn))
        return conn_error(r);
    *on = v != 0;
    return CR_OK;
}

/* PRAGMA foreign_key_check after a rebuild: any row is a broken reference. */
static cr_status foreign_key_check(run *r, const cr_revision *rev)
{
    const char *sql = "PRAGMA foreign_key_check";
    if (!r->conn)
        return cr_emit(&r->e, sql);
    cr_result *res = cr_conn_execute(r->conn, sql, NULL);
    if (!res)
        return conn_error(r);
    const cr_row *row = cr_result_fetchone(res);
    cr_status st = CR_OK;
    if (row) {
        const char *table = "?", *parent = "?";
        cr_row_text_at(row, 0, &table, NULL);
        cr_row_text_at(row, 2, &parent, NULL);
        st = cr_error_set(&r->err, CR_ERR_INTEGRITY,
                          "%s: revision '%s' leaves rows of table '%s' referring to rows of "
                          "'%s' that do not exist (PRAGMA foreign_key_check)", rev->file,
                          rev->id, table, parent);
    } else if (cr_result_error(res)) {
        cr_error_copy(&r->err, cr_result_error(res));
        st = r->err.cls;
    }
    cr_result_free(res);
    return st;
}

/* An operation failed: say which revision, file and line. */
static cr_status op_failed(run *r, const cr_revision *rev, const cr_migrate_op *op)
{
    char msg[sizeof r->err.message];
    snprintf(msg, sizeof msg, "%.200s:%d (revision '%s'): %.700s", rev->file, op->line,
             rev->id, r->err.message);
    snprintf(r->err.message, sizeof r->err.message, "%s", msg);
    return r->err.cls;
}

typedef struct step {
    const cr_revision *rev;
    long index;
    bool up;
} step;

/* The version rows' change for a step, simulated on r->heads: the rows to
 * delete and to insert, and which one an UPDATE can turn into another. */
static cr_status version_change(run *r, const step *sp, long *del, size_t *ndel, long *ins,
                                size_t *nins)
{
    *ndel = *nins = 0;
    const cr_revision *rev = sp->rev;
    if (sp->up) {
        for (size_t p = 0; p < rev->nparents; p++) {
            long k = cr_migrate_find(r->s, rev->parents[p]);
            if (is_head(r, k)) {
                del[(*ndel)++] = k;
                remove_head(r, k);
            }
        }
        ins[(*nins)++] = sp->index;
        return add_head(r, sp->index);
    }
    remove_head(r, sp->index);
    del[(*ndel)++] = sp->index;
    bool *still = closure(r, r->heads, r->nheads);
    if (!still)
        return r->err.cls;
    cr_status st = CR_OK;
    for (size_t p = 0; st == CR_OK && p < rev->nparents; p++) {
        long k = cr_migrate_find(r->s, rev->parents[p]);
        if (!still[k]) {
            ins[(*nins)++] = k;
            st = add_head(r, k);
            mark_ancestors(r->s, k, still);
        }
    }
    cr_free(still);
    return st;
}

static const char *rid(const run *r, long i) { return r->s->revs[i].id; }

/* PostgreSQL, SQLite: the version rows change in the revision's own
 * transaction, an UPDATE where one row becomes another (as Alembic). */
static cr_status version_rows_tx(run *r, const long *del, size_t ndel, const long *ins,
                                 size_t nins)
{
    cr_status st = CR_OK;
    size_t i = 0;
    if (ndel && nins) {
        st = emit_fmt(r, "UPDATE " VT " SET version_num='%s' WHERE version_num='%s'",
                      rid(r, ins[0]), rid(r, del[0]));
        i = 1;
    }
    for (size_t k = i; st == CR_OK && k < ndel; k++)
        st = emit_fmt(r, "DELETE FROM " VT " WHERE version_num='%s'", rid(r, del[k]));
    for (size_t k = i; st == CR_OK && k < nins; k++)
        st = emit_fmt(r, "INSERT INTO " VT " (version_num) VALUES ('%s')", rid(r, ins[k]));
    return st;
}

/* A transactional backend: the whole revision in one transaction. */
static cr_status step_tx(run *r, const step *sp, const cr_migrate_op *ops, size_t nops)
{
    bool rebuilds = false, fk_on = false;
    for (size_t i = 0; i < nops; i++)
        rebuilds |= cr_migrate_op_rebuilds(r->d, &ops[i]);
    cr_status st = rebuilds ? foreign_keys_on(r, &fk_on) : CR_OK;
    if (st == CR_OK && fk_on)
        st = cr_emit_outside_tx(&r->e, "PRAGMA foreign_keys=OFF");
    if (st == CR_OK)
        st = begin(r);
    if (st == CR_OK)
        st = recheck_version(r);
    size_t failed;
    if (st == CR_OK && (st = cr_migrate_render_ops(&r->e, &r->model, ops, nops, &failed)))
        st = op_failed(r, sp->rev, &ops[failed]);
    if (st == CR_OK && rebuilds && fk_on)
        st = foreign_key_check(r, sp->rev);
    long del[64], ins[64];
    size_t ndel, nins;
    if (st == CR_OK)
        st = version_change(r, sp, del, &ndel, ins, &nins);
    if (st == CR_OK)
        st = version_rows_tx(r, del, ndel, ins, nins);
    if (st == CR_OK)
        st = commit(r);
    if (st != CR_OK && r->conn)
        cr_conn_rollback(r->conn);
    /* Foreign keys back on, whatever happened. */
    if (fk_on) {
        cr_status st2 = cr_emit_outside_tx(&r->e, "PRAGMA foreign_keys=ON");
        if (st == CR_OK)
            st = st2;
    }
    return st;
}

/* MySQL: DDL commits at once. The revision's row says how far it got after
 * each operation, each operation and its progress in a transaction of their
 * own (so a data statement and its count commit together). */
static cr_status step_progress(run *r, const step *sp, const cr_migrate_op *ops, size_t nops)
{
    cr_status st = begin(r);
    if (st == CR_OK)
        st = recheck_version(r);
    if (st == CR_OK && sp->up)
        st = emit_fmt(r, "INSERT INTO " VT " (version_num, progress) VALUES ('%s', "
                         "'upgrade 0/%zu')", sp->rev->id, nops);
    else if (st == CR_OK)
        st = emit_fmt(r, "UPDATE " VT " SET progress='downgrade 0/%zu' WHERE "
                         "version_num='%s'", nops, sp->rev->id);
    if (st == CR_OK)
        st = commit(r);
    for (size_t i = 0; st == CR_OK && i < nops; i++) {
        size_t failed;
        /* An operation that runs outside any transaction goes first, its
         * count in a transaction after it. */
        bool outside = cr_migrate_op_outside_tx(r->d, &ops[i]);
        if (!outside)
            st = begin(r);
        if (st == CR_OK && (st = cr_migrate_render_ops(&r->e, &r->model, &ops[i], 1, &failed)))
            st = op_failed(r, sp->rev, &ops[i]);
        if (st == CR_OK && outside)
            st = begin(r);
        if (st == CR_OK)
            st = emit_fmt(r, "UPDATE " VT " SET progress='%s %zu/%zu' WHERE version_num='%s'",
                          sp->up ? "upgrade" : "downgrade", i + 1, nops, sp->rev->id);
        if (st == CR_OK)
            st = commit(r);
    }
    long del[64], ins[64];
    size_t ndel, nins;
    if (st == CR_OK)
        st = version_change(r, sp, del, &ndel, ins, &nins);
    if (st == CR_OK)
        st = begin(r);
    /* The revision's own row: up, it stays (progress cleared); down, it
     * goes. The others are the parents' rows. */
    for (size_t k = 0; st == CR_OK && k < ndel; k++)
        if (del[k] != sp->index || !sp->up)
            st = emit_fmt(r, "DELETE FROM " VT " WHERE version_num='%s'", rid(r, del[k]));
    for (size_t k = 0; st == CR_OK && k < nins; k++)
        if (ins[k] != sp->index)
            st = emit_fmt(r, "INSERT INTO " VT " (version_num) VALUES ('%s')", rid(r, ins[k]));
    if (st == CR_OK && sp->up)
        st = emit_fmt(r, "UPDATE " VT " SET progress=NULL WHERE version_num='%s'",
                      sp->rev->id);
    if (st == CR_OK)
        st = commit(r);
    if (st != CR_OK && r->conn)
        cr_conn_rollback(r->conn);
    return st;
}

static cr_status run_step(run *r, const step *sp)
{
    const cr_migrate_op *ops = sp->up ? sp->rev->upgrade : sp->rev->downgrade;
    size_t nops = sp->up ? sp->rev->nupgrade : sp->rev->ndowngrade;
    bool tx = r->d->ddl->transactional_ddl;
    for (size_t i = 0; tx && i < nops; i++)
        tx = !cr_migrate_op_outside_tx(r->d, &ops[i]);
    if (tx)
        return step_tx(r, sp, ops, nops);
    return step_progress(r, sp, ops, nops);
}

/* The model: every applied revision's upgrade replayed, in history order. */
static cr_status build_model(run *r, const bool *applied)
{
    assert(applied);
    for (size_t i = 0; i < r->s->n; i++) {
        if (!applied[i])
            continue;
        for (size_t k = 0; k < r->s->revs[i].nupgrade; k++)
            if (!cr_model_apply(&r->model, &r->s->revs[i].upgrade[k], &r->err))
                return r->err.cls;
    }
    return CR_OK;
}

/* ---- plans --------------------------------------------------------------------- */

/* The steps from the run's heads to target: upgrades of what target needs
 * and is not applied, in history order; or downgrades of what is applied
 * and target does not need, newest first. *down says which; an upgrade
 * target that is an ancestor of the heads is a downgrade only when
 * allow_down. */
static cr_status plan(run *r, const char *target, bool allow_down, bool want_down, step **out,
                      size_t *n, bool **applied_out)
{
    *out = NULL;
    *n = 0;
    bool base;
    long t = resolve_target(r, target, want_down || allow_down, &base);
    if (t == -2)
        return r->err.cls;
    bool *applied = closure(r, r->heads, r->nheads);
    bool *needed = closure(r, base ? NULL : &t, base ? 0 : 1);
    step *steps = cr_malloc((r->s->n ? r->s->n : 1) * sizeof *steps);
    cr_status st = applied && needed && steps ? CR_OK : cr_error_oom(&r->err);
    bool down = want_down;
    assert(st != CR_OK || (applied && needed && steps));
    if (st == CR_OK && !want_down && allow_down && !base && applied[t] && r->nheads)
        down = !is_head(r, t);
    if (st == CR_OK && allow_down && base && r->nheads)
        down = true;
    if (st == CR_OK && want_down && !base && !applied[t])
        st = cr_error_set(&r->err, CR_ERR_INVALID_REQUEST,
                          "cannot downgrade to '%s': it is not applied to this database "
                          "(upgrade to it instead)", target);
    for (size_t k = 0; st == CR_OK && k < r->s->n; k++) {
        size_t i = down ? r->s->n - 1 - k : k;
        bool take = down ? applied[i] && !needed[i] : needed[i] && !applied[i];
        if (take)
            steps[(*n)++] = (step){&r->s->revs[i], (long)i, !down};
    }
    if (st == CR_OK && applied_out) {
        *applied_out = applied;
        applied = NULL;
    }
    cr_free(applied);
    cr_free(needed);
    if (st != CR_OK) {
        cr_free(steps);
        return st;
    }
    *out = steps;
    return CR_OK;
}

/* ---- the check ------------------------------------------------------------------ */

typedef struct findings {
    cr_migrate_finding *items;
    size_t n;
    bool down;                      /* checking a downgrade's operations */
} findings;

static cr_status finding(run *r, findings *f, cr_migrate_finding_kind kind,
                         const cr_revision *rev, const cr_migrate_op *op, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
static cr_status finding(run *r, findings *f, cr_migrate_finding_kind kind,
                         const cr_revision *rev, const cr_migrate_op *op, const char *fmt, ...)
{
    cr_migrate_finding *p = realloc(f->items, (f->n + 1) * sizeof *p);
    if (!p)
        return cr_error_oom(&r->err);
    f->items = p;
    cr_migrate_finding *x = &p[f->n++];
    x->kind = kind;
    x->revision = rev->id;
    x->file = rev->file;
    x->line = op->line;
    x->downgrade = f->down;
    char what[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    snprintf(x->message, sizeof x->message, "%s:%d: %s%s", rev->file, op->line,
             x->downgrade ? "downgrade: " : "", what);
    return CR_OK;
}

static int int_rank(cr_sqltype_kind k)
{
    return k == CR_SQLTYPE_SMALLINT ? 1 : k == CR_SQLTYPE_INTEGER ? 2
         : k == CR_SQLTYPE_BIGINT ? 3 : 0;
}

/* Whether every value of from fits to without loss. */
static bool widens(const cr_sqltype *from, const cr_sqltype *to)
{
    if (int_rank(from->kind) && int_rank(to->kind))
        return int_rank(to->kind) >= int_rank(from->kind);
    if (from->kind == CR_SQLTYPE_STRING && to->kind == CR_SQLTYPE_TEXT)
        return true;
    if (from->kind == CR_SQLTYPE_FLOAT && to->kind == CR_SQLTYPE_DOUBLE)
        return true;
    if (from->kind != to->kind)
        return false;
    switch (from->kind) {
    case CR_SQLTYPE_STRING:
        return to->length == 0 || (from->length > 0 && to->length >= from->length);
    case CR_SQLTYPE_NUMERIC:
        return to->precision == 0 ||
               (from->precision > 0 && to->scale >= from->scale &&
                to->precision - to->scale >= from->precision - from->scale);
    case CR_SQLTYPE_DATETIME:
    case CR_SQLTYPE_TIME:
        return to->timezone == from->timezone;
    default:
        return true;
    }
}

/* Whether table t has rows (online); *known false when it cannot be told. */
static bool has_rows(run *r, const char *table, bool *known)
{
    *known = false;
    if (!r->conn)
        return true;
    cr_buf b;
    cr_buf_init(&b);
    cr_buf_puts(&b, "SELECT 1 FROM ");
    cr_dialect_quote(r->d, &b, table);
    cr_buf_puts(&b, " LIMIT 1");
    const char *sql = cr_buf_cstr(&b);
    cr_result *res = sql ? cr_conn_execute(r->conn, sql, NULL) : NULL;
    bool rows = res && cr_result_first(res) != NULL;
    *known = res && !cr_result_error(res);
    cr_result_free(res);
    cr_buf_free(&b);
    cr_conn_rollback(r->conn);
    return rows;
}

/* The operations a step runs: its revision's upgrade, or its downgrade. */
static const cr_migrate_op *step_ops(const step *sp, size_t *n)
{
    *n = sp->up ? sp->rev->nupgrade : sp->rev->ndowngrade;
    return sp->up ? sp->rev->upgrade : sp->rev->downgrade;
}

static bool made_in_plan(const step *steps, size_t n, size_t upto, const char *table)
{
    for (size_t s = 0; s <= upto && s < n; s++) {
        size_t nops;
        const cr_migrate_op *ops = step_ops(&steps[s], &nops);
        for (size_t k = 0; k < nops; k++) {
            const cr_migrate_op *op = &ops[k];
            if ((op->kind == CR_MIGRATE_CREATE_TABLE && strcmp(op->table, table) == 0) ||
                (op->kind == CR_MIGRATE_RENAME_TABLE && strcmp(op->new_name, table) == 0))
                return true;
        }
    }
    return false;
}

static cr_status check_op(run *r, findings *f, const step *steps, size_t nsteps, size_t s,
                          const cr_migrate_op *op)
{
    const cr_revision *rev = steps[s].rev;
    const cr_mtable *t = cr_model_table(&r->model, op->table);
    switch (op->kind) {
    case CR_MIGRATE_DROP_TABLE:
        return finding(r, f, CR_FINDING_DROP_TABLE, rev, op,
                       "drop_table %s: the table and its rows are lost", op->table);
    case CR_MIGRATE_DROP_COLUMN:
        return finding(r, f, CR_FINDING_DROP_COLUMN, rev, op,
                       "drop_column %s.%s: the column's values are lost", op->table, op->name);
    case CR_MIGRATE_ALTER_COLUMN: {
        if (!op->new_type)
            return CR_OK;
        const cr_migrate_column *c = cr_mtable_column(t, op->name);
        char from[64] = "an unknown type", to[64];
        if (c)
            cr_sqltype_render(&c->type, from, sizeof from);
        cr_sqltype_render(op->new_type, to, sizeof to);
        if (c && widens(&c->type, op->new_type))
            return CR_OK;
        return finding(r, f, CR_FINDING_NARROW_TYPE, rev, op,
                       "alter_column %s.%s from %s to %s: values may be cut or refused",
                       op->table, op->name, from, to);
    }
    case CR_MIGRATE_ADD_COLUMN: {
        const cr_migrate_column *c = &op->columns[0];
        if (c->nullable || c->server_default || made_in_plan(steps, nsteps, s, op->table))
            return CR_OK;
        bool known;
        if (r->conn && (!has_rows(r, op->table, &known) || !known))
            return CR_OK;
        return finding(r, f, CR_FINDING_NOT_NULL_NO_DEFAULT, rev, op,
                       "add_column %s.%s NOT NULL without a default: fails on a table with "
                       "rows%s", op->table, c->name, r->conn ? " (it has rows)" : "");
    }
    case CR_MIGRATE_ADD_CONSTRAINT:
        if (op->constraints[0].kind != CR_MIGRATE_INDEX || !r->d->ddl->index_blocks_writes ||
            op->concurrently || made_in_plan(steps, nsteps, s, op->table))
            return CR_OK;
        return finding(r, f, CR_FINDING_INDEX_LOCKS_TABLE, rev, op,
                       "create_index %s on %s without CONCURRENTLY: the table takes no writes "
                       "while the index builds", op->constraints[0].name, op->table);
    default:
        return CR_OK;
    }
}

/* The check of the steps, upgrades or downgrades, on the run's model
 * (built for the applied revisions); the model is left as the steps leave
 * it. */
static cr_status check_steps(run *r, const step *steps, size_t n, findings *f)
{
    cr_status st = CR_OK;
    for (size_t s = 0; st == CR_OK && s < n; s++) {
        size_t nops;
        const cr_migrate_op *ops = step_ops(&steps[s], &nops);
        f->down = !steps[s].up;
        for (size_t k = 0; st == CR_OK && k < nops; k++) {
            const cr_migrate_op *op = &ops[k];
            st = check_op(r, f, steps, n, s, op);
            if (st == CR_OK && !cr_model_apply(&r->model, op, &r->err))
                st = r->err.cls;
        }
    }
    return st;
}

/* ---- public: upgrade, downgrade, stamp, current ------------------------------------ */

static cr_status run_steps(run *r, const step *steps, size_t n)
{
    cr_status st = CR_OK;
    for (size_t i = 0; st == CR_OK && i < n; i++)
        st = run_step(r, &steps[i]);
    return st;
}

/* Strict: check first on a model of its own, refusing any finding. */
static cr_status strict_check(run *r, const step *steps, size_t n, const bool *applied)
{
    cr_model saved = r->model;
    cr_model_init(&r->model);
    findings f = {0};
    cr_status st = build_model(r, applied);
    if (st == CR_OK)
        st = check_steps(r, steps, n, &f);
    cr_model_free(&r->model);
    r->model = saved;
    if (st == CR_OK && f.n)
        st = cr_error_set(&r->err, CR_ERR_INVALID_REQUEST,
                          "the migration check refuses %zu operation(s) (strict): %s%s", f.n,
                          f.items[0].message, f.n > 1 ? "; ..." : "");
    free(f.items);
    return st;
}

static cr_status plan_and_run(run *r, const char *target, bool allow_down, bool want_down,
                              bool strict);

/* Before an online run: the same run rendered offline, so that what cannot
 * be rendered (a rebuild of a table the history does not know, a
 * constraint on a column the table lacks) fails before anything is sent. */
static cr_status dry_run(run *r, const char *target, bool allow_down, bool want_down)
{
    run dry;
    run_init(&dry, r->s);
    dry.d = r->d;
    dry.e.d = r->d;
    dry.e.err = &dry.err;
    dry.e.out = &dry.out;
    dry.has_version_table = r->has_version_table;
    cr_status st = CR_OK;
    for (size_t i = 0; st == CR_OK && i < r->nheads; i++)
        st = add_head(&dry, r->heads[i]);
    if (st == CR_OK)
        st = plan_and_run(&dry, target, allow_down, want_down, false);
    if (st != CR_OK)
        cr_error_copy(&r->err, &dry.err);
    run_end(&dry, CR_OK, NULL);
    return st;
}

/* Plan the steps to target, check them when strict, and run them (online
 * — after a dry run — or into the offline text). */
static cr_status plan_and_run(run *r, const char *target, bool allow_down, bool want_down,
                              bool strict)
{
    step *steps = NULL;
    size_t n = 0;
    bool *applied = NULL;
    cr_status st = plan(r, target, allow_down, want_down, &steps, &n, &applied);
    if (st == CR_OK && strict && !want_down)
        st = strict_check(r, steps, n, applied);
    if (st == CR_OK && r->conn)
        st = dry_run(r, target, allow_down, want_down);
    if (st == CR_OK)
        st = build_model(r, applied);
    if (st == CR_OK && n)
        st = create_version_table(r);
    if (st == CR_OK)
        st = run_steps(r, steps, n);
    cr_free(steps);
    cr_free(applied);
    return st;
}

static cr_status migrate(const cr_migrate_script *s, cr_engine *engine, const char *target,
                         bool down, const cr_migrate_options *opts, cr_error **err)
{
    run r;
    run_init(&r, s);
    cr_status st = bad_script(&r);
    if (st == CR_OK && down && !target)
        st = cr_error_set(&r.err, CR_ERR_ARGUMENT, "downgrade needs a target (an id or 'base')");
    if (st == CR_OK)
        st = run_connect(&r, engine);
    if (st == CR_OK)
        st = read_version(&r, true, NULL);
    if (st == CR_OK)
        st = plan_and_run(&r, target, false, down, opts && opts->strict);
    return run_end(&r, st, err);
}

cr_status cr_migrate_upgrade(const cr_migrate_script *s, cr_engine *engine, const char *target,
                             const cr_migrate_options *opts, cr_error **err)
{
    return migrate(s, engine, target, false, opts, err);
}

cr_status cr_migrate_downgrade(const cr_migrate_script *s, cr_engine *engine,
                               const char *target, cr_error **err)
{
    return migrate(s, engine, target, true, NULL, err);
}

cr_status cr_migrate_stamp(const cr_migrate_script *s, cr_engine *engine, const char *target,
                           cr_error **err)
{
    run r;
    run_init(&r, s);
    cr_status st = bad_script(&r);
    if (st == CR_OK && !target)
        st = cr_error_set(&r.err, CR_ERR_ARGUMENT, "stamp needs a target (an id, head or base)");
    bool base = false;
    long t = -2;
    if (st == CR_OK && (t = resolve_target(&r, target, true, &base)) == -2)
        st = r.err.cls;
    if (st == CR_OK)
        st = run_connect(&r, engine);
    if (st == CR_OK)
        st = read_version(&r, false, NULL);
    if (st == CR_OK)
        st = create_version_table(&r);
    if (st == CR_OK)
        st = begin(&r);
    if (st == CR_OK)
        st = cr_emit(&r.e, "DELETE FROM " VT);
    if (st == CR_OK && !base)
        st = emit_fmt(&r, "INSERT INTO " VT " (version_num) VALUES ('%s')", rid(&r, t));
    if (st == CR_OK)
        st = commit(&r);
    return run_end(&r, st, err);
}

struct state_alloc {
    cr_migrate_state state;
    char **heads;
    char *partial, *progress;
};

void cr_migrate_state_free(cr_migrate_state *state)
{
    if (!state)
        return;
    struct state_alloc *a = (struct state_alloc *)state;
    for (size_t i = 0; i < state->nheads; i++)
        cr_free(a->heads[i]);
    cr_free(a->heads);
    cr_free(a->partial);
    cr_free(a->progress);
    cr_free(a);
}

cr_status cr_migrate_current(cr_engine *engine, cr_migrate_state **out, cr_error **err)
{
    run r;
    cr_migrate_script none = {0};
    none.resolved = true;
    run_init(&r, &none);
    cr_status st = out ? CR_OK : cr_error_set(&r.err, CR_ERR_ARGUMENT, "out is NULL");
    if (out)
        *out = NULL;
    cr_buf ids;
    cr_buf_init(&ids);
    if (st == CR_OK)
        st = run_connect(&r, engine);
    if (st == CR_OK)
        st = read_version(&r, false, &ids);
    struct state_alloc *a = NULL;
    if (st == CR_OK && !(a = cr_calloc(1, sizeof *a)))
        st = cr_error_oom(&r.err);
    /* ids holds every row's id, NUL-separated; the partial one is not a head. */
    for (size_t off = 0; st == CR_OK && off < ids.len;) {
        const char *id = ids.data + off;
        off += strlen(id) + 1;
        if (r.partial[0] && strcmp(id, r.partial) == 0)
            continue;
        assert(a);
        char **p = cr_realloc(a->heads, (a->state.nheads + 1) * sizeof *p);
        if (!p || !(p[a->state.nheads] = cr_strdup(id))) {
            if (p)
                a->heads = p;
            st = cr_error_oom(&r.err);
            break;
        }
        a->heads = p;
        a->state.nheads++;
    }
    if (st == CR_OK && ids.oom)
        st = cr_error_oom(&r.err);
    assert(st != CR_OK || a);
    if (st == CR_OK && r.partial[0] &&
        (!(a->partial = cr_strdup(r.partial)) || !(a->progress = cr_strdup(r.progress))))
        st = cr_error_oom(&r.err);
    if (a) {
        a->state.heads = (const char *const *)a->heads;
        a->state.partial = a->partial;
        a->state.progress = a->progress;
    }
    cr_buf_free(&ids);
    assert(st != CR_OK || out);     /* st starts as an ArgumentError without it */
    if (st == CR_OK)
        *out = &a->state;
    else if (a)
        cr_migrate_state_free(&a->state);
    return run_end(&r, st, err);
}

/* ---- offline ----------------------------------------------------------------------- */

/* The heads of an offline run: "base" / NULL none, else the one revision. */
static cr_status offline_start(run *r, const char *from)
{
    if (!from || strcmp(from, "base") == 0)
        return CR_OK;
    long i = cr_migrate_find(r->s, from);
    if (i < 0)
        return cr_error_set(&r->err, CR_ERR_ARGUMENT, "no revision '%s' in the migrations", from);
    r->has_version_table = true;
    return add_head(r, i);
}

cr_status cr_migrate_offline_sql(const cr_migrate_script *s, const char *dialect,
                                 const char *from, const char *to, char **out, cr_error **err)
{
    run r;
    run_init(&r, s);
    cr_status st = out ? bad_script(&r) : cr_error_set(&r.err, CR_ERR_ARGUMENT, "out is NULL");
    if (out)
        *out = NULL;
    if (st == CR_OK)
        st = use_dialect(&r, dialect);
    r.e.out = &r.out;
    if (st == CR_OK)
        st = offline_start(&r, from);
    if (st == CR_OK)
        st = plan_and_run(&r, to, true, false, false);
    assert(st != CR_OK || out);
    if (st == CR_OK) {
        const char *text = cr_buf_cstr(&r.out);
        if (!text || !(*out = strdup(text)))
            st = cr_error_oom(&r.err);
    }
    return run_end(&r, st, err);
}

/* ---- the check, public ---------------------------------------------------------------- */

cr_status cr_migrate_check(const cr_migrate_script *s, cr_engine *engine, const char *dialect,
                           const char *from, const char *target, cr_migrate_finding **out,
                           size_t *nout, cr_error **err)
{
    run r;
    run_init(&r, s);
    cr_status st = out && nout ? bad_script(&r)
                               : cr_error_set(&r.err, CR_ERR_ARGUMENT, "findings or n is NULL");
    if (out)
        *out = NULL;
    if (nout)
        *nout = 0;
    if (st == CR_OK && engine) {
        st = run_connect(&r, engine);
        if (st == CR_OK)
            st = read_version(&r, true, NULL);
    } else if (st == CR_OK) {
        st = use_dialect(&r, dialect);
        if (st == CR_OK)
            st = offline_start(&r, from);
    }
    step *steps = NULL;
    size_t n = 0;
    bool *applied = NULL;
    findings f = {0};
    /* A target below where the database is: the downgrade is checked. */
    if (st == CR_OK)
        st = plan(&r, target, true, false, &steps, &n, &applied);
    if (st == CR_OK)
        st = build_model(&r, applied);
    if (st == CR_OK)
        st = check_steps(&r, steps, n, &f);
    cr_free(steps);
    cr_free(applied);
    assert(st != CR_OK || (out && nout));
    if (st == CR_OK) {
        *out = f.items;
        *nout = f.n;
    } else {
        free(f.items);
    }
    return run_end(&r, st, err);
}
