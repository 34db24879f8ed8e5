/* flush.c — the unit of work: the flush plan as data (ordered steps), its execution, and settling objects after it. */
#include "orm/orm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum step_kind { STEP_INSERT, STEP_UPDATE, STEP_DELETE } step_kind;

/* One object of a step, and what the flush learnt for it (generated keys,
 * server and client defaults, the new version), stored into it once every
 * statement succeeded. */
typedef struct flush_item {
    cr_instance *in;
    int rank;                    /* the table's place in dependency order    */
    uint64_t cols;               /* INSERT: fields given; UPDATE: changed    */
    uint64_t post_mask;          /* fields of post to store afterwards       */
    cr_value *post;              /* nfields values (in the plan's arena)     */
} flush_item;

/* A run of items of one mapper, of one statement shape. */
typedef struct flush_step {
    step_kind kind;
    const cr_mapper *m;
    uint64_t cols;
    size_t first, n;             /* items[first .. first + n)                */
} flush_step;

typedef struct flush_plan {
    flush_item *items;
    size_t nitems, capitems;
    flush_step *steps;
    size_t nsteps, capsteps;
    size_t ninserts;
    cr_arena arena;
    const cr_mapper *ranked[16];  /* table ranks of the mappers seen */
    int ranks[16];
    size_t nranks;
} flush_plan;

static void plan_free(flush_plan *p)
{
    cr_free(p->items);
    cr_free(p->steps);
    cr_arena_free(&p->arena);
}

bool cr_instance_dirty(const cr_instance *in)
{
    for (size_t i = 0; i < in->mapper->nfields; i++) {
        cr_value v = cr_field_value(in, i);
        cr_value was = cr_snap_value(in, i);
        if (!cr_value_same(&v, &was))
            return true;
    }
    return false;
}

static uint64_t changed_fields(const cr_instance *in)
{
    uint64_t mask = 0;
    for (size_t i = 0; i < in->mapper->nfields; i++) {
        cr_value v = cr_field_value(in, i);
        cr_value was = cr_snap_value(in, i);
        if (!cr_value_same(&v, &was))
            mask |= UINT64_C(1) << i;
    }
    return mask;
}

/* ---- planning ---- */

/* The table's place among its metadata's tables sorted by foreign keys. */
static int table_rank(const cr_table *t)
{
    cr_metadata *md = t->md;
    cr_table *sorted[256];
    cr_table **all = md->ntables <= 256 ? sorted : cr_malloc(md->ntables * sizeof *all);
    if (!all)
        return 0;
    size_t n = cr_metadata_sorted_tables(md, all, md->ntables);
    int rank = -1;
    for (size_t i = 0; i < n && rank < 0; i++)
        if (all[i] == t)
            rank = (int)i;
    if (all != sorted)
        cr_free(all);
    if (rank < 0)   /* a foreign-key cycle: the order tables were added */
        for (size_t i = 0; i < md->ntables && rank < 0; i++)
            if (md->tables[i] == t)
                rank = (int)i;
    return rank;
}

static cr_status describe_fail(cr_session *s, cr_status cls, const cr_instance *in,
                               const char *fmt, const char *detail)
{
    cr_buf b;
    cr_buf_init(&b);
    cr_describe(in, &b);
    cr_status st = cr_session_fail(s, cls, fmt, cr_buf_cstr(&b) ? cr_buf_cstr(&b) : "?", detail);
    cr_buf_free(&b);
    return st;
}

/* The rank of the mapper's table, computed once per plan. */
static int mapper_rank(flush_plan *p, const cr_mapper *m)
{
    for (size_t k = 0; k < p->nranks; k++)
        if (p->ranked[k] == m)
            return p->ranks[k];
    int rank = table_rank(m->table);
    if (p->nranks < CR_ARRAY_LEN(p->ranked)) {
        p->ranked[p->nranks] = m;
        p->ranks[p->nranks++] = rank;
    }
    return rank;
}

/* The item's values to store after the flush, made on first use. */
static cr_value *item_post(flush_plan *p, flush_item *it)
{
    if (!it->post) {
        size_t n = it->in->mapper->nfields;
        it->post = cr_arena_alloc(&p->arena, n * sizeof(cr_value));
        for (size_t i = 0; it->post && i < n; i++)
            it->post[i] = cr_val_null();
    }
    return it->post;
}

/* Keep value v for field i of the item, to store into the object once the
 * flush succeeded: a generated key or default the database returned, a
 * client default or version the flush computed. An integer for a bool field
 * (MySQL returns them so) becomes a bool. */
static cr_status keep_value(cr_session *s, flush_plan *p, flush_item *it, size_t i, cr_value v)
{
    if (it->in->mapper->fields[i].vtype == CR_BOOL && v.type == CR_INT)
        v = cr_val_bool(v.v.i != 0);
    cr_value *copy = cr_arena_copy_values(&p->arena, &v, 1);
    if (!copy || !item_post(p, it))
        return cr_error_oom(&s->err);
    it->post[i] = *copy;
    it->post_mask |= UINT64_C(1) << i;
    return CR_OK;
}

/* The fields an INSERT of this object gives: those not NULL, those whose
 * client default is computed now, and the version. */
static cr_status insert_fields(cr_session *s, flush_plan *p, flush_item *it)
{
    const cr_mapper *m = it->in->mapper;
    for (size_t i = 0; i < m->nfields; i++) {
        const cr_field *f = &m->fields[i];
        cr_value v = cr_field_value(it->in, i);
        uint64_t bit = UINT64_C(1) << i;
        if ((int)i == m->version) {
            v = cr_val_int(1);
        } else if (v.type == CR_NULL && f->col->default_fn) {
            v = f->col->default_fn();
        } else if (v.type != CR_NULL) {
            it->cols |= bit;
            continue;
        }
        if (v.type == CR_NULL) {
            bool generated = (int)i == m->autoinc || f->col->server_default;
            if (!generated && !f->col->nullable)
                return describe_fail(s, CR_ERR_INTEGRITY, it->in, "%s: field '%s' is NULL and "
                                     "its column is NOT NULL with no default", f->col->name);
            continue;
        }
        cr_status st = keep_value(s, p, it, i, v);
        if (st)
            return st;
        it->cols |= bit;
    }
    return CR_OK;
}

/* Room for one more element in *array (n used of *cap, of size bytes). */
static bool grow(void *array, size_t n, size_t *cap, size_t size)
{
    void **p = array;
    if (n < *cap)
        return true;
    size_t want = *cap ? *cap * 2 : 32;
    void *bigger = cr_realloc(*p, want * size);
    if (!bigger)
        return false;
    *p = bigger;
    *cap = want;
    return true;
}

static cr_status push_item(cr_session *s, flush_plan *p, cr_instance *in)
{
    if (!grow(&p->items, p->nitems, &p->capitems, sizeof *p->items))
        return cr_error_oom(&s->err);
    flush_item *it = &p->items[p->nitems];
    memset(it, 0, sizeof *it);
    it->in = in;
    it->rank = mapper_rank(p, in->mapper);
    p->nitems++;
    return CR_OK;
}

static step_kind kind_of(const flush_item *it)
{
    return it->in->marked_delete ? STEP_DELETE
           : it->in->state == CR_INST_PENDING ? STEP_INSERT : STEP_UPDATE;
}

static int compare_items(const void *a, const void *b)
{
    const flush_item *x = a, *y = b;
    step_kind kx = kind_of(x), ky = kind_of(y);
    /* Saves (INSERT and UPDATE) table by table, referred tables first, then
     * DELETEs, referring tables first. */
    int gx = kx == STEP_DELETE, gy = ky == STEP_DELETE;
    if (gx != gy)
        return gx - gy;
    if (x->rank != y->rank)
        return gx ? y->rank - x->rank : x->rank - y->rank;
    if (kx != ky)
        return (int)kx - (int)ky;
    return x->in->order < y->in->order ? -1 : x->in->order > y->in->order;
}

static cr_status push_step(cr_session *s, flush_plan *p, step_kind kind, size_t first)
{
    const flush_item *it = &p->items[first];
    flush_step *last = p->nsteps ? &p->steps[p->nsteps - 1] : NULL;
    if (last && last->kind == kind && last->m == it->in->mapper && last->cols == it->cols &&
        last->first + last->n == first) {
        last->n++;
        return CR_OK;
    }
    if (!grow(&p->steps, p->nsteps, &p->capsteps, sizeof *p->steps))
        return cr_error_oom(&s->err);
    p->steps[p->nsteps++] = (flush_step){kind, it->in->mapper, it->cols, first, 1};
    return CR_OK;
}

/* A new object whose key an object of the identity map already has. */
static cr_status check_identity(cr_session *s, const cr_instance *in)
{
    const cr_mapper *m = in->mapper;
    cr_value key[64];
    for (size_t k = 0; k < m->npk; k++) {
        key[k] = cr_field_value(in, m->pk[k]);
        if (key[k].type == CR_NULL)
            return CR_OK;   /* generated, or refused as NULL */
    }
    cr_instance *other = cr_map_find(s, m, key, cr_key_hash(key, m->npk));
    if (other && other != in && !other->marked_delete)
        return describe_fail(s, CR_ERR_FLUSH, in, "New instance %s conflicts with a "
                             "persistent instance of the same identity key%s", "");
    return CR_OK;
}

/* ---- rows of a table that refers to itself ---- */

/* The field holding a foreign key to the mapper's own one-column primary
 * key (an adjacency list: parent_id), or -1. */
static int self_reference(const cr_mapper *m)
{
    const cr_table *t = m->table;
    if (m->npk != 1)
        return -1;
    for (size_t c = 0; c < t->ncons; c++) {
        const cr_constraint *k = t->constraints[c];
        if (k->kind == CR_CONSTRAINT_FOREIGN_KEY && k->ncols == 1 &&
            strcmp(k->ref_tables[0], t->name) == 0 &&
            strcmp(k->ref_columns[0], m->fields[m->pk[0]].col->name) == 0)
            return (int)k->cols[0]->index;
    }
    return -1;
}

typedef struct node {
    uint64_t hash;               /* of the row's key                          */
    size_t at;                   /* its place in the run                      */
} node;

static int compare_nodes(const void *a, const void *b)
{
    const node *x = a, *y = b;
    return x->hash < y->hash ? -1 : x->hash > y->hash;
}

/* The key a row has (deletes: as loaded) or refers to through field f. */
static cr_value row_value(const flush_item *it, size_t f, bool deleting)
{
    return deleting ? cr_snap_value(it->in, f) : cr_field_value(it->in, f);
}

/* The place in the run of the row whose key is v, or SIZE_MAX. */
static size_t find_row(const flush_item *run, const node *byhash, size_t n, size_t pk,
                       const cr_value *v, bool deleting)
{
    uint64_t h = cr_key_hash(v, 1);
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (byhash[mid].hash < h)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (; lo < n && byhash[lo].hash == h; lo++) {
        cr_value k = row_value(&run[byhash[lo].at], pk, deleting);
        if (cr_value_same(&k, v))
            return byhash[lo].at;
    }
    return SIZE_MAX;
}

/* Emit row i after the row it refers to (depth first; a cycle is left in
 * the order it came). */
static void visit(const flush_item *run, const node *byhash, size_t n, size_t pk, size_t fk,
                  bool deleting, size_t i, uint8_t *mark, flush_item *out, size_t *nout)
{
    if (mark[i])
        return;
    mark[i] = 1;
    cr_value ref = row_value(&run[i], fk, deleting);
    if (ref.type != CR_NULL) {
        size_t parent = find_row(run, byhash, n, pk, &ref, deleting);
        if (parent != SIZE_MAX && parent != i)
            visit(run, byhash, n, pk, fk, deleting, parent, mark, out, nout);
    }
    out[(*nout)++] = run[i];
}

/* Order a run of INSERTs (or DELETEs) of one self-referring mapper: parents
 * before children (children before parents). */
static cr_status order_run(cr_session *s, flush_item *run, size_t n, int fk, bool deleting)
{
    size_t pk = run[0].in->mapper->pk[0];
    node *byhash = cr_malloc(n * sizeof *byhash);
    uint8_t *mark = cr_calloc(n, 1);
    flush_item *out = cr_malloc(n * sizeof *out);
    if (!byhash || !mark || !out) {
        cr_free(byhash);
        cr_free(mark);
        cr_free(out);
        return cr_error_oom(&s->err);
    }
    for (size_t i = 0; i < n; i++) {
        cr_value k = row_value(&run[i], pk, deleting);
        byhash[i] = (node){cr_key_hash(&k, 1), i};
    }
    qsort(byhash, n, sizeof *byhash, compare_nodes);
    size_t nout = 0;
    for (size_t i = 0; i < n; i++)
        visit(run, byhash, n, pk, (size_t)fk, deleting, i, mark, out, &nout);
    if (deleting)   /* children first: the reverse */
        for (size_t i = 0; i < n; i++)
            run[i] = out[n - 1 - i];
    else
        memcpy(run, out, n * sizeof *run);
    cr_free(byhash);
    cr_free(mark);
    cr_free(out);
    return CR_OK;
}


/* Rows of self-referring mappers in dependency order, run by run. */
static cr_status order_self_references(cr_session *s, flush_plan *p)
{
    for (size_t i = 0; i < p->nitems;) {
        const cr_mapper *m = p->items[i].in->mapper;
        step_kind kind = kind_of(&p->items[i]);
        size_t j = i + 1;
        while (j < p->nitems && p->items[j].in->mapper == m && kind_of(&p->items[j]) == kind)
            j++;
        int fk = kind == STEP_UPDATE ? -1 : self_reference(m);
        if (fk >= 0 && j - i > 1) {
            cr_status st = order_run(s, &p->items[i], j - i, fk, kind == STEP_DELETE);
            if (st)
                return st;
        }
        i = j;
    }
    return CR_OK;
}

/* Two new objects of one mapper with the same key given: refused before
 * anything is sent. */
typedef struct keyed { uint64_t hash; const cr_instance *in; } keyed;

static int compare_keyed(const void *a, const void *b)
{
    const keyed *x = a, *y = b;
    return x->hash < y->hash ? -1 : x->hash > y->hash;
}

static bool same_key(const cr_instance *a, const cr_instance *b)
{
    if (a->mapper != b->mapper)
        return false;
    for (size_t k = 0; k < a->mapper->npk; k++) {
        cr_value x = cr_field_value(a, a->mapper->pk[k]), y = cr_field_value(b, b->mapper->pk[k]);
        if (!cr_value_same(&x, &y))
            return false;
    }
    return true;
}

static cr_status check_duplicate_keys(cr_session *s, const flush_plan *p)
{
    keyed *ks = NULL;
    size_t n = 0;
    for (size_t i = 0; i < p->nitems; i++) {
        const cr_instance *in = p->items[i].in;
        if (in->state != CR_INST_PENDING || in->marked_delete)
            continue;
        cr_value key[64];
        bool given = true;
        for (size_t k = 0; given && k < in->mapper->npk; k++) {
            key[k] = cr_field_value(in, in->mapper->pk[k]);
            given = key[k].type != CR_NULL;
        }
        if (!given)
            continue;
        if (!ks && !(ks = cr_malloc(p->nitems * sizeof *ks)))
            return cr_error_oom(&s->err);
        ks[n++] = (keyed){cr_key_hash(key, in->mapper->npk), in};
    }
    if (n > 1)
        qsort(ks, n, sizeof *ks, compare_keyed);
    cr_status st = CR_OK;
    for (size_t i = 0; i + 1 < n && !st; i++)
        for (size_t j = i + 1; j < n && ks[j].hash == ks[i].hash && !st; j++)
            if (same_key(ks[i].in, ks[j].in))
                st = describe_fail(s, CR_ERR_FLUSH, ks[j].in, "New instance %s has the same "
                                   "primary key as another new instance in this flush%s", "");
    cr_free(ks);
    return st;
}

static cr_status plan_build(cr_session *s, flush_plan *p)
{
    memset(p, 0, sizeof *p);
    cr_arena_init(&p->arena, 8192);
    cr_status st = CR_OK;
    for (cr_instance *in = s->head; in && !st; in = in->next) {
        if (in->session != s)
            continue;
        if (in->state == CR_INST_PENDING || in->marked_delete)
            st = push_item(s, p, in);
        else if (in->state == CR_INST_PERSISTENT) {
            uint64_t changed = changed_fields(in);
            if (changed && !(st = push_item(s, p, in)))
                p->items[p->nitems - 1].cols = changed;
        }
    }
    if (st)
        return st;
    /* Objects come in the order they were added, which is often already
     * the plan's order (one mapper's new objects): no sort then. */
    bool sorted = true;
    for (size_t i = 1; i < p->nitems && sorted; i++)
        sorted = compare_items(&p->items[i - 1], &p->items[i]) <= 0;
    if (!sorted)
        qsort(p->items, p->nitems, sizeof *p->items, compare_items);
    st = order_self_references(s, p);
    for (size_t i = 0; i < p->nitems && !st; i++) {
        flush_item *it = &p->items[i];
        step_kind kind = kind_of(it);
        if (kind == STEP_INSERT) {
            p->ninserts++;
            st = insert_fields(s, p, it);
            if (!st)
                st = check_identity(s, it->in);
        } else if (kind == STEP_DELETE) {
            it->cols = 0;
        }
        if (!st)
            st = push_step(s, p, kind, i);
    }
    if (!st && p->ninserts > 1)
        st = check_duplicate_keys(s, p);
    return st;
}

static void describe_cols(cr_buf *b, const cr_mapper *m, uint64_t cols)
{
    cr_buf_puts(b, " (");
    bool first = true;
    for (size_t i = 0; i < m->nfields; i++)
        if (cols >> i & 1) {
            cr_buf_printf(b, "%s%s", first ? "" : ", ", m->fields[i].col->name);
            first = false;
        }
    cr_buf_putc(b, ')');
}

static char *plan_text(const flush_plan *p)
{
    static const char *const verbs[] = {"INSERT", "UPDATE", "DELETE"};
    cr_buf b;
    cr_buf_init(&b);
    for (size_t k = 0; k < p->nsteps; k++) {
        const flush_step *st = &p->steps[k];
        cr_buf_printf(&b, "%s %s", verbs[st->kind], st->m->table->name);
        if (st->kind != STEP_DELETE)
            describe_cols(&b, st->m, st->cols);
        cr_buf_printf(&b, " %zu\n", st->n);
    }
    const char *text = cr_buf_cstr(&b);
    char *out = text ? strdup(text) : NULL;
    cr_buf_free(&b);
    return out;
}

char *cr_flush_describe(cr_session *s)
{
    flush_plan p;
    cr_status st = plan_build(s, &p);
    char *text = st ? NULL : plan_text(&p);
    if (!st && !text)
        cr_error_oom(&s->err);
    plan_free(&p);
    return text;
}

/* ---- execution ---- */

/* The value field i of the item binds: what the flush computed, else the
 * field's. */
static cr_value item_value(const flush_item *it, size_t i)
{
    return it->post_mask >> i & 1 ? it->post[i] : cr_field_value(it->in, i);
}

static void bind_to(cr_stmt *q, struct cr_column *col, cr_value v, bool set)
{
    cr_expr *e = cr_bind(q, v);
    if (set)
        cr_set_expr(q, col, e);
    else
        cr_where(q, cr_binary(q, CR_OP_EQ, (cr_expr *)(void *)col, e));
}


/* Read RETURNING rows into the batch's items, in order. */
static cr_status read_returning(cr_session *s, flush_plan *p, flush_item *items, size_t n,
                                const size_t *fetch, size_t nfetch, cr_result *r)
{
    for (size_t k = 0; k < n; k++) {
        const cr_row *row = cr_result_fetchone(r);
        if (!row) {
            const cr_error *e = cr_result_error(r);
            if (e) {
                cr_error_copy(&s->err, e);
                return e->cls;
            }
            return cr_session_fail(s, CR_ERR_FLUSH, "INSERT into '%s' returned %zu rows for %zu "
                                   "objects", items[0].in->mapper->table->name, k, n);
        }
        for (size_t j = 0; j < nfetch; j++) {
            const cr_value *v = cr_row_value_at(row, (int)j);
            cr_status st = v ? keep_value(s, p, &items[k], fetch[j], *v)
                             : cr_session_fail(s, CR_ERR_INTERNAL, "RETURNING row too short");
            if (st)
                return st;
        }
    }
    return CR_OK;
}

/* INSERT a batch of items sharing the step's columns: one statement of many
 * rows, RETURNING what the database generated. */
static cr_status insert_batch(cr_session *s, flush_plan *p, const flush_step *step,
                              flush_item *items, size_t n)
{
    const cr_mapper *m = step->m;
    const cr_dialect *d = s->engine->dialect;
    size_t fetch[64], nfetch = 0;
    for (size_t i = 0; i < m->nfields; i++)
        if (!(step->cols >> i & 1) && ((int)i == m->autoinc || m->fields[i].col->server_default))
            fetch[nfetch++] = i;
    cr_stmt *q = cr_insert(m->table);
    for (size_t k = 0; q && k < n; k++) {
        for (size_t i = 0; i < m->nfields; i++)
            if (step->cols >> i & 1)
                bind_to(q, m->fields[i].col, item_value(&items[k], i), true);
        cr_next_row(q);
    }
    const void *ret[65];
    for (size_t j = 0; j < nfetch; j++)
        ret[j] = m->fields[fetch[j]].col;
    ret[nfetch] = NULL;
    if (q && nfetch && d->has_returning)
        cr_returning_items(q, ret);
    cr_result *r = cr_session_run(s, q);
    cr_status st = r ? CR_OK : s->err.cls;
    if (!st && nfetch && d->has_returning) {
        st = read_returning(s, p, items, n, fetch, nfetch, r);
    } else if (!st && m->autoinc >= 0 && !(step->cols >> m->autoinc & 1)) {
        /* No RETURNING: one row per statement, its key from lastrowid. */
        const cr_row *pk = cr_result_inserted_primary_key(r);
        const cr_value *v = pk ? cr_row_value_at(pk, 0) : NULL;
        st = v ? keep_value(s, p, &items[0], (size_t)m->autoinc, *v)
               : cr_session_fail(s, CR_ERR_FLUSH, "INSERT into '%s': no generated key came back",
                                 m->table->name);
    }
    cr_result_free(r);
    cr_stmt_free(q);
    return st;
}

static cr_status run_insert(cr_session *s, flush_plan *p, const flush_step *step)
{
    const cr_dialect *d = s->engine->dialect;
    size_t ncols = 0;
    for (size_t i = 0; i < step->m->nfields; i++)
        ncols += step->cols >> i & 1;
    size_t batch = d->max_params / (ncols ? ncols : 1);
    if (batch > 1000)
        batch = 1000;
    bool needs_key = step->m->autoinc >= 0 && !(step->cols >> step->m->autoinc & 1);
    if (batch == 0 || (!d->has_returning && needs_key))
        batch = 1;
    for (size_t k = 0; k < step->n; k += batch) {
        size_t n = step->n - k < batch ? step->n - k : batch;
        cr_status st = insert_batch(s, p, step, &p->items[step->first + k], n);
        if (st)
            return st;
    }
    return CR_OK;
}

static cr_status stale(cr_session *s, const flush_item *it, const char *verb, int64_t matched)
{
    char detail[160];
    snprintf(detail, sizeof detail, "%s statement on table '%s' expected to %s 1 row(s); %lld "
             "were matched", verb, it->in->mapper->table->name,
             verb[0] == 'U' ? "update" : "delete", (long long)matched);
    return describe_fail(s, CR_ERR_STALE_DATA, it->in, "%s: %s", detail);
}

/* WHERE the item's key (as last loaded) and version. */
static void where_identity(cr_stmt *q, const flush_item *it)
{
    const cr_mapper *m = it->in->mapper;
    for (size_t k = 0; k < m->npk; k++)
        bind_to(q, m->fields[m->pk[k]].col, cr_snap_value(it->in, m->pk[k]), false);
    if (m->version >= 0)
        bind_to(q, m->fields[m->version].col, cr_snap_value(it->in, m->version), false);
}

static cr_status run_one(cr_session *s, cr_stmt *q, const flush_item *it, const char *verb)
{
    cr_result *r = cr_session_run(s, q);
    cr_status st = r ? CR_OK : s->err.cls;
    if (!st) {
        int64_t n = cr_result_rowcount(r);
        if (n >= 0 && n != 1)
            st = stale(s, it, verb, n);
    }
    cr_result_free(r);
    cr_stmt_free(q);
    return st;
}

/* SET field i to a value the flush computed, kept to store afterwards. */
static cr_status set_computed(cr_session *s, flush_plan *p, flush_item *it, cr_stmt *q, size_t i,
                              cr_value v)
{
    cr_status st = keep_value(s, p, it, i, v);
    if (!st)
        bind_to(q, it->in->mapper->fields[i].col, it->post[i], true);
    return st;
}

/* UPDATE each object: its changed columns, the new version, and the
 * columns with an onupdate default that the program did not change. */
static cr_status run_update(cr_session *s, flush_plan *p, const flush_step *step)
{
    const cr_mapper *m = step->m;
    for (size_t k = 0; k < step->n; k++) {
        flush_item *it = &p->items[step->first + k];
        cr_stmt *q = cr_update(m->table);
        cr_status st = q ? CR_OK : cr_error_oom(&s->err);
        for (size_t i = 0; !st && i < m->nfields; i++) {
            const struct cr_column *col = m->fields[i].col;
            if ((int)i == m->version)
                st = set_computed(s, p, it, q, i,
                                  cr_val_int(cr_snap_value(it->in, i).v.i + 1));
            else if (step->cols >> i & 1)
                bind_to(q, m->fields[i].col, cr_field_value(it->in, i), true);
            else if (col->onupdate_fn || col->onupdate_value.type != CR_NULL)
                st = set_computed(s, p, it, q, i,
                                  col->onupdate_fn ? col->onupdate_fn() : col->onupdate_value);
        }
        if (!st) {
            where_identity(q, it);
            st = run_one(s, q, it, "UPDATE");
        } else {
            cr_stmt_free(q);
        }
        if (st)
            return st;
    }
    return CR_OK;
}

/* DELETEs: of a one-column key without a version, many rows per statement
 * (WHERE id IN (...)); else one statement a row. */
static cr_status run_delete(cr_session *s, flush_plan *p, const flush_step *step)
{
    const cr_mapper *m = step->m;
    /* A table that refers to itself: one row at a time, in the order
     * planned (MySQL checks its foreign keys row by row, in index order). */
    if (m->npk != 1 || m->version >= 0 || step->n == 1 || self_reference(m) >= 0) {
        for (size_t k = 0; k < step->n; k++) {
            flush_item *it = &p->items[step->first + k];
            cr_stmt *q = cr_delete(m->table);
            if (q)
                where_identity(q, it);
            cr_status st = run_one(s, q, it, "DELETE");
            if (st)
                return st;
        }
        return CR_OK;
    }
    const size_t batch = 500;
    cr_value keys[500];
    for (size_t k = 0; k < step->n; k += batch) {
        size_t n = step->n - k < batch ? step->n - k : batch;
        for (size_t j = 0; j < n; j++)
            keys[j] = cr_snap_value(p->items[step->first + k + j].in, m->pk[0]);
        cr_stmt *q = cr_delete(m->table);
        if (q)
            cr_where(q, cr_in_values(q, (cr_expr *)(void *)m->fields[m->pk[0]].col, keys, n));
        cr_result *r = cr_session_run(s, q);
        cr_status st = r ? CR_OK : s->err.cls;
        int64_t got = r ? cr_result_rowcount(r) : -1;
        cr_result_free(r);
        cr_stmt_free(q);
        if (st)
            return st;
        if (got >= 0 && (size_t)got != n) {
            char detail[160];
            snprintf(detail, sizeof detail, "DELETE statement on table '%s' expected to delete "
                     "%zu row(s); only %lld were matched", m->table->name, n, (long long)got);
            return describe_fail(s, CR_ERR_STALE_DATA, p->items[step->first + k].in, "%s: %s",
                                 detail);
        }
    }
    return CR_OK;
}

/* ---- settling ---- */

static cr_status settle_item(cr_session *s, flush_item *it, step_kind kind)
{
    cr_instance *in = it->in;
    if (kind == STEP_DELETE) {
        cr_map_remove(s, in);
        in->marked_delete = false;
        in->state = CR_INST_DELETED;
        in->delete_level = s->level;
        return CR_OK;
    }
    for (size_t i = 0; i < in->mapper->nfields; i++)
        if ((it->post_mask >> i & 1) && cr_field_store(in, i, &it->post[i]))
            return cr_error_oom(&s->err);
    bool was_mapped = in->in_map;
    if (cr_snapshot_take(in))
        return cr_error_oom(&s->err);
    if (was_mapped)
        cr_map_remove(s, in);   /* its key may have changed */
    cr_map_insert(s, in);
    if (kind == STEP_INSERT) {
        in->state = CR_INST_PERSISTENT;
        in->insert_level = s->level;
    }
    return CR_OK;
}

static cr_status plan_run(cr_session *s, flush_plan *p)
{
    cr_status st = cr_map_reserve(s, p->ninserts) ? cr_error_oom(&s->err) : CR_OK;
    if (!st)
        st = cr_session_begin_if_needed(s);
    for (size_t k = 0; k < p->nsteps && !st; k++) {
        const flush_step *step = &p->steps[k];
        st = step->kind == STEP_INSERT   ? run_insert(s, p, step)
             : step->kind == STEP_UPDATE ? run_update(s, p, step)
                                         : run_delete(s, p, step);
    }
    for (size_t k = 0; k < p->nsteps && !st; k++)
        for (size_t j = 0; j < p->steps[k].n && !st; j++)
            st = settle_item(s, &p->items[p->steps[k].first + j], p->steps[k].kind);
    return st;
}

cr_status cr_flush(cr_session *s)
{
    if (s->flushing)
        return cr_session_fail(s, CR_ERR_INVALID_REQUEST, "Session is already flushing");
    flush_plan p;
    cr_status st = plan_build(s, &p);
    if (!st && p.nsteps) {
        s->flushing = true;
        st = plan_run(s, &p);
        s->flushing = false;
    }
    plan_free(&p);
    if (!st)
        s->unsaved = false;
    if (st) {
        /* The transaction is rolled back; objects keep the state they had
         * before the flush, and the session waits for cr_session_rollback. */
        cr_error keep;
        cr_error_init(&keep);
        cr_error_copy(&keep, &s->err);
        cr_session_end(s, false);
        cr_error_copy(&s->err, &keep);
        cr_error_clear(&keep);
        s->need_rollback = true;
    }
    return st;
}
