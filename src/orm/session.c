/* session.c — the Session: objects it owns, the identity map, transactions, object states. */
#include "orm/orm.h"

#include <stdio.h>
#include <assert.h>
#include <string.h>

/* ---- errors ---- */

cr_status cr_session_fail(cr_session *s, cr_status cls, const char *fmt, ...)
{
    va_list ap;
    char msg[sizeof s->err.message];
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return cr_error_set(&s->err, cls, "%s", msg);
}

cr_status cr_session_conn_failed(cr_session *s, cr_conn *c)
{
    const cr_error *e = c ? cr_conn_error(c) : NULL;
    if (!e)
        return cr_session_fail(s, CR_ERR_INTERNAL, "the connection failed without an error");
    cr_error_copy(&s->err, e);
    return e->cls;
}

/* Every call that works on the database starts here. */
/* Whether the program closed the connection the session was bound to. */
static bool bind_closed(const cr_session *s) { return s->bound && !s->bind; }

/* A bound session whose connection the program closed holds nothing of it. */
static void forget_closed_bind(cr_session *s)
{
    if (bind_closed(s)) {
        s->conn = NULL;
        s->level = 0;
        s->outer_savepoint = false;
    }
}

/* The start of every call that uses or changes the session: none while a
 * listener that may not use it runs (s->listening). */
cr_status cr_session_enter(cr_session *s)
{
    cr_error_clear(&s->err);
    if (s->listening)
        return cr_session_fail(s, CR_ERR_INVALID_REQUEST, "this Session is in a listener that "
                               "may not use it: a mapper event or after_begin listener runs "
                               "statements on the connection it is given; an after_commit or "
                               "after_rollback listener is in no transaction");
    return CR_OK;
}

/* The start of a call that ends a transaction or savepoint: none inside a
 * flush's or a commit's listeners either, which run in the middle of one. */
static cr_status enter_end(cr_session *s, const char *call)
{
    if (cr_session_enter(s))
        return s->err.cls;
    if (s->committing || s->flushing)
        return cr_session_fail(s, CR_ERR_INVALID_REQUEST, "this Session is %s: %s is refused "
                               "inside a %s listener", s->flushing ? "flushing" : "committing",
                               call, s->flushing ? "before_flush or after_flush" : "before_commit");
    return CR_OK;
}

cr_status cr_session_check(cr_session *s)
{
    if (cr_session_enter(s))
        return s->err.cls;
    forget_closed_bind(s);
    if (s->need_rollback && s->nested_lost)
        return cr_session_fail(s, CR_ERR_PENDING_ROLLBACK,
                               "This Session's transaction has been rolled back to the "
                               "savepoint of begin_nested due to a previous exception during "
                               "flush. To go on in the enclosing transaction, first issue "
                               "cr_session_rollback_nested() (cr_session_rollback() rolls "
                               "back everything).");
    if (s->need_rollback)
        return cr_session_fail(s, CR_ERR_PENDING_ROLLBACK,
                               "This Session's transaction has been rolled back due to a "
                               "previous exception during flush. To begin a new transaction "
                               "with this Session, first issue cr_session_rollback().");
    return CR_OK;
}

static const cr_error null_session_error = {
    .cls = CR_ERR_ARGUMENT, .message = "session handle is NULL",
};

const cr_error *cr_session_error(const cr_session *s)
{
    if (!s)
        return &null_session_error;
    return s->err.cls != CR_OK ? &s->err : NULL;
}

/* ---- session events ---- */

static cr_status hooks_add(cr_session_hooks *h, cr_session_event event, cr_session_listener fn,
                           void *userdata)
{
    if (!fn || (unsigned)event > CR_AFTER_ROLLBACK)
        return CR_ERR_ARGUMENT;
    struct cr_session_hook *items = cr_realloc(h->items, (h->n + 1) * sizeof *items);
    if (!items)
        return CR_ERR_NO_MEMORY;
    items[h->n++] = (struct cr_session_hook){event, fn, userdata};
    h->items = items;
    return CR_OK;
}

cr_status cr_session_listen(cr_session *s, cr_session_event event, cr_session_listener fn,
                            void *userdata)
{
    return s ? hooks_add(&s->hooks, event, fn, userdata) : CR_ERR_ARGUMENT;
}

cr_status cr_sessionmaker_listen(cr_sessionmaker *f, cr_session_event event,
                                 cr_session_listener fn, void *userdata)
{
    return f ? hooks_add(&f->hooks, event, fn, userdata) : CR_ERR_ARGUMENT;
}

bool cr_session_listens(const cr_session *s, cr_session_event event)
{
    for (size_t i = 0; i < s->hooks.n; i++)
        if (s->hooks.items[i].event == event)
            return true;
    return false;
}

bool cr_session_listens_after_flush(const cr_session *s)
{
    return cr_session_listens(s, CR_AFTER_FLUSH) || cr_session_listens(s, CR_AFTER_FLUSH_POSTEXEC);
}

cr_status cr_session_fire(cr_session *s, cr_session_event event, cr_conn *conn)
{
    static const char *const names[] = {"before_flush",   "after_commit",           "after_begin",
                                        "after_flush",    "after_flush_postexec",   "before_commit",
                                        "after_rollback"};
    for (size_t i = 0; i < s->hooks.n; i++) {
        const struct cr_session_hook *h = &s->hooks.items[i];
        if (h->event != event)
            continue;
        if (conn)
            cr_error_clear(&conn->err);
        cr_status rc = h->fn(s, conn, h->userdata);
        if (!rc)
            continue;
        /* A statement the listener ran failed: that error, as for the
         * session's own. */
        if (conn && cr_conn_error(conn))
            return cr_session_conn_failed(s, conn);
        return cr_session_fail(s, cr_listener_class(rc, CR_ERR_INVALID_REQUEST),
                               "the session's %s listener returned %s%s", names[event],
                               cr_status_name(rc),
                               event == CR_AFTER_COMMIT     ? " (the transaction is committed)"
                               : event == CR_AFTER_ROLLBACK ? " (the transaction is rolled back)"
                                                            : "");
    }
    cr_error_clear(&s->err);   /* of a session call a listener was refused */
    return CR_OK;
}

/* Fire an event whose listeners may not use the session. */
cr_status cr_session_fire_shut(cr_session *s, cr_session_event event, cr_conn *conn)
{
    if (!s->hooks.n)
        return CR_OK;
    bool was = s->listening;
    s->listening = true;
    cr_status st = cr_session_fire(s, event, conn);
    s->listening = was;
    return st;
}

/* ---- making and freeing ---- */

static cr_session *session_make(cr_engine *engine, cr_conn *bind, const cr_session_options *o,
                                const cr_session_hooks *hooks)
{
    cr_session *s = cr_calloc(1, sizeof *s);
    if (!s)
        return NULL;
    if (hooks && hooks->n) {
        s->hooks.items = cr_malloc(hooks->n * sizeof *hooks->items);
        if (!s->hooks.items) {
            cr_free(s);
            return NULL;
        }
        memcpy(s->hooks.items, hooks->items, hooks->n * sizeof *hooks->items);
        s->hooks.n = hooks->n;
    }
    cr_error_init(&s->err);
    s->engine = engine;
    if (bind) {
        /* The program may close its connection before freeing the session:
         * the connection then clears s->bind (as it does an inspector's). */
        s->bound = true;
        cr_conn_ref_attach(bind, &s->bind_ref, &s->bind);
    }
    s->autoflush = !o || o->autoflush.value != CR_NO.value;
    s->expire_on_commit = !o || o->expire_on_commit.value != CR_NO.value;
    int warn = o ? o->lazy_warn_threshold : 0;
    s->lazy_warn = warn > 0 ? warn : warn == 0 && engine->echo ? 10 : 0;
    s->read_replicas = o && o->read_from_replicas && !bind;
    return s;
}

cr_session *cr_session_new(cr_engine *engine, const cr_session_options *options)
{
    return engine ? session_make(engine, NULL, options, NULL) : NULL;
}

cr_session *cr_session_new_bind(cr_conn *conn, const cr_session_options *options)
{
    return conn ? session_make(cr_conn_engine(conn), conn, options, NULL) : NULL;
}

cr_sessionmaker *cr_sessionmaker_new(cr_engine *engine, const cr_session_options *options)
{
    if (!engine)
        return NULL;
    cr_sessionmaker *f = cr_calloc(1, sizeof *f);
    if (f) {
        f->engine = engine;
        if (options)
            f->options = *options;
    }
    return f;
}

void cr_sessionmaker_free(cr_sessionmaker *f)
{
    if (f)
        cr_free(f->hooks.items);
    cr_free(f);
}

cr_session *cr_sessionmaker_session(cr_sessionmaker *f)
{
    return f ? session_make(f->engine, NULL, &f->options, &f->hooks) : NULL;
}

void cr_owner_link(cr_session *s, cr_instance *in)
{
    in->owner = s;
    in->prev = s->tail;
    in->next = NULL;
    if (s->tail)
        s->tail->next = in;
    else
        s->head = in;
    s->tail = in;
}

void cr_owner_unlink(cr_instance *in)
{
    cr_session *s = in->owner;
    if (!s)
        return;
    if (in->prev)
        in->prev->next = in->next;
    else
        s->head = in->next;
    if (in->next)
        in->next->prev = in->prev;
    else
        s->tail = in->prev;
    in->prev = in->next = NULL;
    in->owner = NULL;
}

void cr_session_free(cr_session *s)
{
    if (!s)
        return;
    cr_session_close(s);
    cr_instance *in = s->head;
    while (in) {
        cr_instance *next = in->next;
        cr_instance_destroy(in);
        in = next;
    }
    for (size_t i = 0; i < s->nbykey; i++)
        cr_stmt_free(s->bykey[i].q);
    for (size_t i = 0; i < s->nlazyq; i++)
        cr_stmt_free(s->lazyq[i].q);
    cr_free(s->lazyq);
    cr_free(s->lazy_per_rel);
    cr_free(s->slots);
    cr_free(s->hooks.items);
    cr_error_clear(&s->err);
    if (s->bind)
        cr_conn_ref_detach(&s->bind_ref);
    cr_free(s);
}

/* ---- the identity map ---- */

static void key_of(const cr_instance *in, cr_value *key)
{
    for (size_t k = 0; k < in->mapper->npk; k++)
        key[k] = cr_snap_value(in, in->mapper->pk[k]);
}

static bool key_equal(const cr_instance *in, const cr_value *key)
{
    for (size_t k = 0; k < in->mapper->npk; k++) {
        cr_value v = cr_snap_value(in, in->mapper->pk[k]);
        if (!cr_value_same(&v, &key[k]))
            return false;
    }
    return true;
}

/* Where a hash's probe starts (cr_key_hash spreads its low bits). */
static size_t home_slot(const cr_session *s, uint64_t hash)
{
    return (size_t)hash & (s->nslots - 1);
}

cr_instance *cr_map_find(cr_session *s, const cr_mapper *m, const cr_value *key, uint64_t hash)
{
    if (!s->nslots)
        return NULL;
    size_t mask = s->nslots - 1;
    for (size_t i = home_slot(s, hash);; i = (i + 1) & mask) {
        const struct cr_map_slot *sl = &s->slots[i];
        if (!sl->in)
            return NULL;
        if (sl->hash == hash && sl->in->mapper == m && key_equal(sl->in, key))
            return sl->in;
    }
}

/* Put in at the first empty slot of its probe (there is one: the map is at
 * most half full). */
static void place(cr_session *s, uint64_t hash, cr_instance *in)
{
    size_t mask = s->nslots - 1, i = home_slot(s, hash);
    while (s->slots[i].in)
        i = (i + 1) & mask;
    s->slots[i] = (struct cr_map_slot){hash, in};
}

cr_status cr_map_reserve(cr_session *s, size_t extra)
{
    size_t want = 2 * (s->nmap + extra);
    if (want <= s->nslots)
        return CR_OK;
    size_t n = s->nslots ? s->nslots : 128;
    while (n < want)
        n *= 2;
    struct cr_map_slot *slots = cr_calloc(n, sizeof *slots), *old = s->slots;
    if (!slots)
        return CR_ERR_NO_MEMORY;
    size_t nold = s->nslots;
    s->slots = slots;
    s->nslots = n;
    for (size_t i = 0; i < nold; i++)
        if (old[i].in)
            place(s, old[i].hash, old[i].in);
    cr_free(old);
    return CR_OK;
}

/* Callers reserve first: inserting never allocates. */
void cr_map_insert(cr_session *s, cr_instance *in)
{
    cr_value key[64];
    key_of(in, key);
    cr_map_insert_hashed(s, in, cr_key_hash(key, in->mapper->npk));
}

void cr_map_insert_hashed(cr_session *s, cr_instance *in, uint64_t hash)
{
    in->hash = hash;
    place(s, hash, in);
    in->in_map = true;
    s->nmap++;
}

/* Take in out, then move back each slot after it in the run that its probe
 * would otherwise no longer reach (no tombstones). */
void cr_map_remove(cr_session *s, cr_instance *in)
{
    if (!in->in_map)
        return;
    in->in_map = false;
    size_t mask = s->nslots - 1, i = home_slot(s, in->hash);
    while (s->slots[i].in != in) {
        if (!s->slots[i].in)
            return;   /* not there: cannot happen while in_map says so */
        i = (i + 1) & mask;
    }
    s->nmap--;
    for (size_t j = (i + 1) & mask; s->slots[j].in; j = (j + 1) & mask) {
        size_t home = home_slot(s, s->slots[j].hash);
        /* j's entry stays when its home lies cyclically in (i, j]. */
        bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
        if (!stays) {
            s->slots[i] = s->slots[j];
            i = j;
        }
    }
    s->slots[i] = (struct cr_map_slot){0, NULL};
}

void cr_map_clear(cr_session *s)
{
    if (s->nmap)
        memset(s->slots, 0, s->nslots * sizeof *s->slots);
    s->nmap = 0;
}

size_t cr_session_identity_count(const cr_session *s) { return s ? s->nmap : 0; }

/* ---- transactions ---- */

/* The after_begin listeners, with the connection the session took; when
 * one fails, the session gives the connection back (its error kept). */
static cr_status after_begin(cr_session *s)
{
    cr_status st = cr_session_fire_shut(s, CR_AFTER_BEGIN, s->conn);
    if (st) {
        cr_error keep;
        cr_error_init(&keep);
        cr_error_copy(&keep, &s->err);
        cr_session_end(s, false);
        cr_error_copy(&s->err, &keep);
        cr_error_clear(&keep);
    }
    return st;
}

/* A connection for the session's transaction, if it has none: a
 * read-only one when it reads from replicas and the work does not write. */
static cr_status begin_conn(cr_session *s, bool write)
{
    forget_closed_bind(s);
    if (s->conn)
        return CR_OK;
    if (bind_closed(s))
        return cr_session_fail(s, CR_ERR_RESOURCE_CLOSED,
                               "the connection this session was bound to is closed");
    if (s->bind) {
        s->conn = s->bind;
        s->outer_savepoint = cr_conn_in_transaction(s->bind);
        if (s->outer_savepoint && cr_conn_begin_nested(s->conn)) {
            s->conn = NULL;
            return cr_session_conn_failed(s, s->bind);
        }
        return after_begin(s);
    }
    cr_error *err = NULL;
    s->reading = !write && s->read_replicas && !s->token_lost;
    s->conn = s->reading ? cr_engine_connect_readonly_after(s->engine, s->token, &err)
                         : cr_engine_connect(s->engine, &err);
    if (!s->conn) {
        cr_error_copy(&s->err, err);
        cr_status st = err ? err->cls : CR_ERR_NO_MEMORY;
        cr_error_free(err);
        return st;
    }
    /* The transaction begins with the first statement (BEGIN (implicit)). */
    return after_begin(s);
}

cr_status cr_session_begin_if_needed(cr_session *s) { return begin_conn(s, false); }

/* A session reading from a replica gives its read-only connection back
 * (nothing on it to keep: it wrote nothing) and begins on the primary. */
cr_status cr_session_begin_for_write(cr_session *s)
{
    if (s->reading && s->conn) {
        cr_conn_close(s->conn);
        s->conn = NULL;
    }
    s->reading = false;
    return begin_conn(s, true);
}

cr_result *cr_session_run(cr_session *s, cr_stmt *q) { return cr_session_run_params(s, q, NULL); }

cr_result *cr_session_run_params(cr_session *s, cr_stmt *q, const cr_param *params)
{
    if (!q) {
        cr_error_oom(&s->err);
        return NULL;
    }
    if (s->reading && q->kind != CR_STMT_SELECT && q->kind != CR_STMT_COMPOUND &&
        cr_session_begin_for_write(s))
        return NULL;
    if (cr_stmt_error(q)) {
        cr_error_copy(&s->err, cr_stmt_error(q));
        return NULL;
    }
    cr_result *r = params ? cr_conn_execute_stmt_params(s->conn, q, params)
                          : cr_conn_execute_stmt(s->conn, q);
    if (!r)
        cr_session_conn_failed(s, s->conn);
    return r;
}

cr_conn *cr_session_connection(cr_session *s)
{
    if (!s || cr_session_check(s) || cr_session_begin_for_write(s))
        return NULL;
    return s->conn;
}

/* End the session's transaction: commit or roll back, give the connection
 * back. */
cr_status cr_session_end(cr_session *s, bool commit)
{
    forget_closed_bind(s);
    if (!s->conn)
        return CR_OK;
    cr_conn *c = s->conn;
    cr_status st;
    if (s->bind) {
        /* Savepoints of begin_nested still open go with the session's. */
        while (s->level > 0 && cr_conn_savepoint_depth(c) > 0) {
            (commit ? cr_conn_release_savepoint : cr_conn_rollback_savepoint)(c);
            s->level--;
        }
        if (s->outer_savepoint)
            st = commit ? cr_conn_release_savepoint(c) : cr_conn_rollback_savepoint(c);
        else
            st = commit ? cr_conn_commit(c) : cr_conn_rollback(c);
    } else {
        st = commit ? cr_conn_commit(c) : cr_conn_rollback(c);
    }
    if (st)
        cr_session_conn_failed(s, c);
    /* What the session committed on the primary, for its next reads. */
    if (s->read_replicas && commit && !st && !s->reading)
        s->token_lost = cr_conn_commit_token(c, s->token, sizeof s->token) != CR_OK;
    if (!s->bind)
        cr_conn_close(c);
    s->conn = NULL;
    s->reading = false;
    s->level = 0;
    s->outer_savepoint = false;
    return st;
}

void cr_instance_expire(cr_instance *in)
{
    for (size_t i = 0; i < in->mapper->nfields; i++) {
        cr_value was = cr_snap_value(in, i);
        cr_field_store(in, i, &was);
    }
    cr_rel_restore(in);
    in->expired = true;
    in->touched = false;
    cr_rel_expire(in);
}

/* After a commit: inserted and deleted objects are settled (nothing is left
 * unflushed to discard). */
static void settle_after_commit(cr_session *s)
{
    for (cr_instance *in = s->head; in; in = in->next) {
        if (in->session != s)
            continue;
        cr_instance_forget_saves(in);
        if (in->state == CR_INST_DELETED) {
            in->state = CR_INST_DETACHED;
            in->session = NULL;
            in->row_deleted = true;
        }
        in->insert_level = in->delete_level = -1;
        if (in->state == CR_INST_PERSISTENT && s->expire_on_commit) {
            in->expired = true;
            cr_rel_expire(in);
        }
    }
}

void cr_session_restore(cr_session *s, int level)
{
    bool any_back = false;
    for (cr_instance *in = s->head; in; in = in->next) {
        if (in->session != s)
            continue;
        in->left_parent = NULL;
        if (in->insert_level >= level) {
            /* Its INSERT is gone: transient again (SQLAlchemy expunges it). */
            cr_instance_forget_saves(in);
            cr_map_remove(s, in);
            in->state = CR_INST_TRANSIENT;
            in->session = NULL;
            in->insert_level = in->delete_level = -1;
            in->marked_delete = false;
            continue;
        }
        if (in->delete_level >= level) {
            in->state = CR_INST_PERSISTENT;
            in->delete_level = -1;
            in->keys_back = any_back = true;   /* its many-to-ones too */
            if (!in->in_map && cr_map_reserve(s, 1) == CR_OK)
                cr_map_insert(s, in);
        }
        if (in->state == CR_INST_PENDING) {   /* added since: expunged */
            cr_instance_forget_saves(in);
            in->state = CR_INST_TRANSIENT;
            in->session = NULL;
            continue;
        }
        in->marked_delete = false;
        if (in->state != CR_INST_PERSISTENT)
            continue;
        /* Fields and snapshot as the rolled-back level found the row (its
         * key too: mapped again), then expired: reloaded when next handed
         * out. */
        bool mapped = in->in_map;
        if (cr_instance_unsave(in, level)) {
            if (mapped) {
                cr_map_remove(s, in);
                cr_map_insert(s, in);
            }
            in->keys_back = any_back = true;
        }
        cr_instance_expire(in);
    }
    /* With every key back, the many-to-ones of those put back follow
     * their keys. */
    for (cr_instance *in = s->head; in && any_back; in = in->next) {
        if (in->keys_back)
            cr_rel_match_keys(s, in);
        in->keys_back = false;
    }
}

/* The before_commit listeners, the session usable but for ending its
 * transaction. */
static cr_status before_commit(cr_session *s)
{
    if (!s->hooks.n)
        return CR_OK;
    s->committing = true;
    cr_status st = cr_session_fire(s, CR_BEFORE_COMMIT, s->conn);
    s->committing = false;
    return st;
}

/* A commit's flush: again while after_flush listeners leave something to
 * write, as SQLAlchemy's commit does. */
static cr_status commit_flush(cr_session *s)
{
    cr_status st = cr_flush(s);
    bool again = cr_session_listens_after_flush(s);
    for (int n = 1; !st && again && cr_flush_has_work(s); n++) {
        if (n == 100)
            return cr_session_fail(s, CR_ERR_FLUSH, "over 100 subsequent flushes have occurred "
                                   "within a commit: is an after_flush listener making new "
                                   "objects?");
        st = cr_flush(s);
    }
    return st;
}

cr_status cr_session_commit(cr_session *s)
{
    if (!s)
        return CR_ERR_ARGUMENT;
    cr_status st = enter_end(s, "commit");
    if (!st)
        st = cr_session_check(s);
    if (!st)
        st = before_commit(s);
    if (!st)
        st = commit_flush(s);
    if (st)
        return st;
    while (s->level > 0 && s->conn) {
        if ((st = cr_conn_release_savepoint(s->conn)))
            return cr_session_conn_failed(s, s->conn);
        s->level--;
    }
    if ((st = cr_session_end(s, true)))
        return st;
    settle_after_commit(s);
    if (!s->hooks.n)
        return CR_OK;
    return cr_session_fire_shut(s, CR_AFTER_COMMIT, NULL);   /* in no transaction */
}

cr_status cr_session_rollback(cr_session *s)
{
    if (!s)
        return CR_ERR_ARGUMENT;
    if (enter_end(s, "rollback"))
        return s->err.cls;
    forget_closed_bind(s);
    bool began = s->conn != NULL;   /* else nothing to roll back: no event */
    cr_status st = cr_session_end(s, false);
    s->need_rollback = s->nested_lost = false;
    s->unsaved = s->rel_changed = false;
    if (began && !st)
        st = cr_session_fire_shut(s, CR_AFTER_ROLLBACK, NULL);
    cr_session_restore(s, 0);
    return st;
}

cr_status cr_session_close(cr_session *s)
{
    if (!s)
        return CR_ERR_ARGUMENT;
    if (enter_end(s, "close"))
        return s->err.cls;
    cr_status st = cr_session_end(s, false);
    s->need_rollback = s->nested_lost = false;
    size_t mapped = 0;
    for (cr_instance *in = s->head; in; in = in->next) {
        if (in->session != s)
            continue;
        mapped += in->in_map;
        in->in_map = false;   /* every mapped instance is here: the map is cleared below */
        /* The transaction was rolled back: what it inserted has no row. */
        bool had_row = in->state != CR_INST_PENDING && in->insert_level < 0;
        in->state = had_row ? CR_INST_DETACHED : CR_INST_TRANSIENT;
        in->session = NULL;
        cr_instance_forget_saves(in);
        in->marked_delete = false;
        in->insert_level = in->delete_level = -1;
    }
    assert(mapped == s->nmap);
    (void)mapped;
    cr_map_clear(s);
    return st;
}

cr_status cr_session_begin_nested(cr_session *s)
{
    if (!s)
        return CR_ERR_ARGUMENT;
    cr_status st = cr_session_check(s);
    if (!st)
        st = cr_flush(s);
    if (!st)
        st = cr_session_begin_for_write(s);
    if (st)
        return st;
    if (cr_conn_begin_nested(s->conn))
        return cr_session_conn_failed(s, s->conn);
    s->level++;
    return CR_OK;
}

cr_status cr_session_commit_nested(cr_session *s)
{
    if (!s)
        return CR_ERR_ARGUMENT;
    cr_status st = enter_end(s, "commit_nested");
    if (!st)
        st = cr_session_check(s);
    if (st)
        return st;
    if (s->level == 0 || !s->conn)
        return cr_session_fail(s, CR_ERR_INVALID_REQUEST, "commit_nested: no savepoint of "
                               "begin_nested is open");
    if ((st = before_commit(s)) || (st = commit_flush(s)))
        return st;
    if (cr_conn_release_savepoint(s->conn))
        return cr_session_conn_failed(s, s->conn);
    /* What was flushed inside now belongs to the enclosing level. */
    for (cr_instance *in = s->head; in; in = in->next) {
        cr_instance_release_save(in, s->level);
        if (in->insert_level >= s->level)
            in->insert_level = s->level - 1;
        if (in->delete_level >= s->level)
            in->delete_level = s->level - 1;
    }
    s->level--;
    return CR_OK;
}

cr_status cr_session_rollback_nested(cr_session *s)
{
    if (!s)
        return CR_ERR_ARGUMENT;
    if (enter_end(s, "rollback_nested"))
        return s->err.cls;
    if (s->nested_lost) {   /* the failed flush rolled it back and closed it */
        /* What changed while the session waited is discarded too. */
        cr_session_restore(s, s->level + 1);
        s->need_rollback = s->nested_lost = false;
        return CR_OK;
    }
    if (s->level == 0 || !s->conn)
        return cr_session_fail(s, CR_ERR_INVALID_REQUEST, "rollback_nested: no savepoint of "
                               "begin_nested is open");
    if (cr_conn_rollback_savepoint(s->conn))
        return cr_session_conn_failed(s, s->conn);
    cr_status st = cr_session_fire_shut(s, CR_AFTER_ROLLBACK, NULL);
    cr_session_restore(s, s->level);
    s->level--;
    s->need_rollback = false;
    return st;
}

/* ---- objects in and out ---- */

/* The instance of obj, or an error naming what obj is not. */
static cr_instance *instance_arg(cr_session *s, void *obj, const char *what)
{
    cr_instance *in = cr_instance_of(obj);
    if (!obj)
        cr_session_fail(s, CR_ERR_ARGUMENT, "%s: the object is NULL", what);
    else if (!in)
        cr_session_fail(s, CR_ERR_UNMAPPED_INSTANCE, "%s: the object is not an object of a "
                        "mapped model (make it with cr_new)", what);
    /* Its model's relationships resolved before the session follows them,
     * as SQLAlchemy configures its mappers at their first use. */
    else if (cr_mapper_rels_ready(in->mapper, &s->err))
        return NULL;
    return in;
}

/* InvalidRequestError about an object: fmt's one %s is its description. */
static cr_status fail_about(cr_session *s, const cr_instance *in, const char *fmt)
{
    cr_buf b;
    cr_buf_init(&b);
    cr_describe(in, &b);
    cr_status st = cr_session_fail(s, CR_ERR_INVALID_REQUEST, fmt,
                                   cr_buf_cstr(&b) ? cr_buf_cstr(&b) : in->mapper->name);
    cr_buf_free(&b);
    return st;
}

/* An object whose DELETE was flushed (or committed: detached since),
 * added again: refused, as SQLAlchemy does; its row is gone. */
static cr_status flushed_deleted(cr_session *s, cr_instance *in)
{
    return fail_about(s, in, "Instance '%s' has been deleted (its DELETE was flushed)");
}

/* cr_session_add_instance, but for an object whose DELETE was committed
 * (session.delete of it attaches it: its flush finds no row). */
static cr_status take_in(cr_session *s, cr_instance *in)
{
    if (in->session == s) {
        if (in->state == CR_INST_PERSISTENT)
            in->marked_delete = false;   /* added again: not deleted (SQLAlchemy's add) */
        return CR_OK;
    }
    if (in->session)
        return fail_about(s, in, "Object '%s' is already attached to another session");
    if (in->state == CR_INST_DETACHED) {
        cr_value key[64];
        for (size_t k = 0; k < in->mapper->npk; k++)
            key[k] = cr_snap_value(in, in->mapper->pk[k]);
        if (cr_map_find(s, in->mapper, key, cr_key_hash(key, in->mapper->npk)))
            return fail_about(s, in, "Can't attach instance %s; another instance with the same "
                              "key is already present in this session");
        if (cr_map_reserve(s, 1))
            return cr_error_oom(&s->err);
        cr_map_insert(s, in);
        in->state = CR_INST_PERSISTENT;
    } else {
        in->state = CR_INST_PENDING;
        in->order = ++s->order;
        s->unsaved = true;
    }
    if (in->owner != s) {
        cr_owner_unlink(in);
        cr_owner_link(s, in);
    }
    in->session = s;
    in->kept_out = false;
    return CR_OK;
}

cr_status cr_session_add_instance(cr_session *s, cr_instance *in)
{
    return in->session != s && in->row_deleted ? flushed_deleted(s, in) : take_in(s, in);
}

cr_status cr_session_refuse_deleted(cr_session *s, cr_instance *in)
{
    if ((in->session == s && in->state == CR_INST_DELETED) || in->row_deleted)
        return flushed_deleted(s, in);
    return CR_OK;
}

cr_status cr_session_add(cr_session *s, void *obj)
{
    if (!s)
        return CR_ERR_ARGUMENT;
    if (cr_session_enter(s))
        return s->err.cls;
    cr_instance *in = instance_arg(s, obj, "add");
    if (!in)
        return s->err.cls;
    cr_status st = cr_session_refuse_deleted(s, in);
    return st ? st : cr_rel_cascade_add(s, in);
}

cr_status cr_session_add_all(cr_session *s, void *const *objs, size_t n)
{
    if (!s)
        return CR_ERR_ARGUMENT;
    if (cr_session_enter(s))
        return s->err.cls;
    if (!objs && n)
        return cr_session_fail(s, CR_ERR_ARGUMENT, "add_all: the list is NULL");
    /* Check them all first: all are added or none. */
    for (size_t i = 0; i < n; i++) {
        cr_instance *in = instance_arg(s, objs[i], "add_all");
        if (!in)
            return s->err.cls;
        if (in->session && in->session != s)
            return cr_session_add_instance(s, in);
        cr_status st = cr_session_refuse_deleted(s, in);
        if (st)
            return st;
    }
    for (size_t i = 0; i < n; i++) {
        cr_status st = cr_rel_cascade_add(s, cr_instance_of(objs[i]));
        if (st)
            return st;
    }
    return CR_OK;
}

static cr_status not_in_session(cr_session *s, cr_instance *in, const char *what)
{
    cr_buf b;
    cr_buf_init(&b);
    cr_describe(in, &b);
    cr_status st = cr_session_fail(s, CR_ERR_INVALID_REQUEST, "%s: instance '%s' is not "
                                   "persisted in this session (it is %s)", what,
                                   cr_buf_cstr(&b) ? cr_buf_cstr(&b) : in->mapper->name,
                                   cr_object_state_name(cr_object_state_of(in->obj)));
    cr_buf_free(&b);
    return st;
}

/* Give the object back to the program. */
void cr_session_take_out(cr_session *s, cr_instance *in)
{
    cr_map_remove(s, in);
    in->state = in->state == CR_INST_PENDING ? CR_INST_TRANSIENT : CR_INST_DETACHED;
    in->insert_level = in->delete_level = -1;
    in->session = NULL;
    cr_instance_forget_saves(in);
    in->marked_delete = false;
}

void cr_session_expunge_instance(cr_session *s, cr_instance *in)
{
    cr_session_take_out(s, in);
    cr_owner_unlink(in);
    in->kept_out = true;
}

cr_status cr_session_delete(cr_session *s, void *obj)
{
    if (!s)
        return CR_ERR_ARGUMENT;
    if (cr_session_enter(s))
        return s->err.cls;
    cr_instance *in = instance_arg(s, obj, "delete");
    if (!in)
        return s->err.cls;
    /* A detached object is attached first, as SQLAlchemy's delete does; a
     * pending one has no row to delete: refused, as there
     * (cr_session_expunge takes it out). One whose DELETE was committed has
     * no row either: nothing is left to do, as below. */
    if (!in->session && in->state == CR_INST_DETACHED) {
        if (in->row_deleted)
            return CR_OK;
        cr_status st = take_in(s, in);
        if (st)
            return st;
    }
    /* Its DELETE was flushed (an autoflush may have run a cascade's): its
     * row is gone, which is what is asked. SQLAlchemy registers it again
     * and its next flush deletes no row; here nothing is left to do. */
    if (in->session == s && in->state == CR_INST_DELETED)
        return CR_OK;
    if (in->session != s || in->state != CR_INST_PERSISTENT)
        return not_in_session(s, in, "delete");
    /* SQLAlchemy gathers the delete cascade before it marks the object, and
     * a lazy load of it autoflushes, as any does (here: after add, delete or
     * relationship calls), so that what they changed is in the rows it
     * reads. An expired object is loaded first then (autoflush, SELECT): the
     * lazy load refreshes it. With every such relationship loaded, nothing
     * is flushed nor read. */
    cr_status st = CR_OK;
    if (cr_rel_delete_loads(in)) {
        if (in->expired)
            st = cr_instance_reload(s, in);
        else if (s->unsaved || s->rel_changed)
            st = cr_session_autoflush(s);
        if (st)
            return st;
        if (in->state != CR_INST_PERSISTENT)   /* the autoflush deleted it */
            return CR_OK;
    }
    in->marked_delete = true;
    s->unsaved = true;
    return cr_rel_cascade_delete(s, in, false);
}

cr_status cr_session_expunge(cr_session *s, void *obj)
{
    if (!s)
        return CR_ERR_ARGUMENT;
    if (cr_session_enter(s))
        return s->err.cls;
    cr_instance *in = instance_arg(s, obj, "expunge");
    if (!in)
        return s->err.cls;
    if (in->session != s)
        return not_in_session(s, in, "expunge");
    return cr_cascade_expunge(s, in);
}

cr_status cr_session_expunge_all(cr_session *s)
{
    if (!s)
        return CR_ERR_ARGUMENT;
    if (cr_session_enter(s))
        return s->err.cls;
    /* Detached as by cr_session_close, still the session's to free: the
     * program cannot list every object the session loaded. */
    for (cr_instance *in = s->head; in; in = in->next)
        if (in->session == s)
            cr_session_take_out(s, in);
    return CR_OK;
}

cr_status cr_make_transient(void *obj)
{
    cr_instance *in = cr_instance_of(obj);
    if (!in)
        return CR_ERR_ARGUMENT;
    cr_session *s = in->session;
    if (s) {
        if (cr_session_enter(s))
            return s->err.cls;
        cr_session_expunge_instance(s, in);
    }
    if (in->expired)
        for (size_t i = 0; i < in->mapper->nfields; i++)
            cr_instance_set_null(in, i);
    cr_rel_drop_unloaded(in);
    in->state = CR_INST_TRANSIENT;
    in->expired = in->touched = false;
    in->row_deleted = in->keys_back = false;
    in->left_parent = NULL;
    return CR_OK;
}

cr_status cr_make_transient_to_detached(void *obj)
{
    cr_instance *in = cr_instance_of(obj);
    if (!in)
        return CR_ERR_ARGUMENT;
    cr_value key[64];
    if (in->state != CR_INST_TRANSIENT || in->session || in->row_deleted ||
        !cr_field_key(in, key))
        return CR_ERR_INVALID_REQUEST;
    /* As loaded: the fields are the row, nothing of them to flush. */
    if (cr_snapshot_take(in))
        return CR_ERR_NO_MEMORY;
    in->as_made = false;
    in->given = 0;
    in->state = CR_INST_DETACHED;
    return CR_OK;
}

cr_status cr_session_expire(cr_session *s, void *obj)
{
    if (!s)
        return CR_ERR_ARGUMENT;
    if (cr_session_enter(s))
        return s->err.cls;
    cr_instance *in = instance_arg(s, obj, "expire");
    if (!in)
        return s->err.cls;
    if (in->session != s || in->state != CR_INST_PERSISTENT)
        return not_in_session(s, in, "expire");
    return cr_cascade_expire(s, in);
}

cr_status cr_session_expire_all(cr_session *s)
{
    if (!s)
        return CR_ERR_ARGUMENT;
    if (cr_session_enter(s))
        return s->err.cls;
    for (cr_instance *in = s->head; in; in = in->next)
        if (in->session == s && in->state == CR_INST_PERSISTENT)
            cr_instance_expire(in);
    return CR_OK;
}

cr_status cr_session_refresh(cr_session *s, void *obj)
{
    if (!s)
        return CR_ERR_ARGUMENT;
    cr_status st = cr_session_check(s);
    if (st)
        return st;
    cr_instance *in = instance_arg(s, obj, "refresh");
    if (!in)
        return s->err.cls;
    if (in->session != s || in->state != CR_INST_PERSISTENT)
        return not_in_session(s, in, "refresh");
    /* Expired first, as SQLAlchemy does: its own changes not flushed are
     * discarded, not written by the autoflush. */
    if ((st = cr_cascade_expire(s, in)) || (st = cr_session_autoflush(s)))
        return st;
    if (in->state != CR_INST_PERSISTENT)   /* the autoflush deleted it */
        return not_in_session(s, in, "refresh");
    /* The autoflush may have loaded it again (a collection it read to
     * delete rows held it): reloaded all the same, as refresh promises. */
    if (!in->expired)
        cr_instance_expire(in);
    return cr_instance_refresh(s, in);
}

void cr_session_set_autoflush(cr_session *s, bool on)
{
    if (s)
        s->autoflush = on;
}

cr_status cr_session_autoflush(cr_session *s)
{
    return s->autoflush && !s->flushing ? cr_flush(s) : CR_OK;
}

cr_status cr_session_flush(cr_session *s)
{
    if (!s)
        return CR_ERR_ARGUMENT;
    cr_status st = cr_session_check(s);
    return st ? st : cr_flush(s);
}

bool cr_session_has_changes(cr_session *s)
{
    if (!s)
        return false;
    for (cr_instance *in = s->head; in; in = in->next) {
        if (in->session != s)
            continue;
        if (in->state == CR_INST_PENDING || in->marked_delete)
            return true;
        if (in->state == CR_INST_PERSISTENT && cr_instance_dirty(in))
            return true;
    }
    return false;
}

bool cr_session_is_modified(cr_session *s, const void *obj)
{
    const cr_instance *in = cr_instance_of(obj);
    if (!s || !in || in->session != s)
        return false;
    return cr_instance_dirty(in) || cr_instance_rel_changed(in);
}

bool cr_session_in_transaction(const cr_session *s)
{
    return s && ((s->conn && !bind_closed(s)) || s->need_rollback);
}

bool cr_session_in_nested_transaction(const cr_session *s)
{
    return s && ((s->level > 0 && s->conn && !bind_closed(s)) || s->nested_lost);
}

bool cr_objects_push(cr_objects *list, size_t *cap, void *obj)
{
    if (list->count == *cap) {
        size_t n = *cap ? 2 * *cap : 8;
        void **items = cr_realloc(list->items, n * sizeof *items);
        if (!items) {
            cr_objects_free(list);
            return false;
        }
        list->items = items;
        *cap = n;
    }
    list->items[list->count++] = obj;
    return true;
}

cr_objects *cr_objects_copy(const cr_objects *list)
{
    cr_objects *copy = cr_calloc(1, sizeof *copy);
    size_t cap = 0;
    for (size_t i = 0; copy && i < list->count; i++)
        if (!cr_objects_push(copy, &cap, list->items[i]))
            copy = NULL;
    return copy;
}

cr_objects *cr_session_objects(cr_session *s, cr_session_set which)
{
    if (!s || (unsigned)which > CR_SESSION_DELETED)
        return NULL;
    if (s->flushed)
        return cr_objects_copy(s->flushed[which]);
    cr_objects *list = cr_calloc(1, sizeof *list);
    size_t cap = 0;
    for (cr_instance *in = s->head; list && in; in = in->next) {
        if (in->session != s)
            continue;
        bool member = which == CR_SESSION_NEW     ? in->state == CR_INST_PENDING
                      : which == CR_SESSION_DELETED ? in->marked_delete
                                                    : in->state == CR_INST_PERSISTENT &&
                                                          !in->marked_delete &&
                                                          cr_instance_dirty(in);
        if (member && !cr_objects_push(list, &cap, in->obj))
            return NULL;
    }
    return list;
}

char *cr_session_plan(cr_session *s)
{
    if (!s)
        return NULL;
    cr_error_clear(&s->err);
    return cr_flush_describe(s);
}

void cr_objects_free(cr_objects *list)
{
    if (!list)
        return;
    cr_free(list->items);
    cr_free(list);
}
