/* loading.c — loader options and eager loading (selectin, joined, raise), joins along relationships. */
#include "orm/orm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PATH 4

/* contains_eager: a loader of the options only (not a lazy= of a
 * relationship): the query joins the target itself. */
#define LOAD_CONTAINS_EAGER ((cr_loader)(CR_LOAD_RAISE + 1))

/* One loader option of a statement, in its arena. A joined one keeps the
 * aliases and ON clauses it adds to the statement while it runs, and
 * whether the last run loaded it in the statement's own rows. */
typedef struct load_opt {
    struct load_opt *next;
    cr_loader how;
    size_t n;
    const cr_relationship *path[MAX_PATH];
    cr_expr *alias, *on, *sec_alias, *sec_on;
    bool in_query;
} load_opt;

static void add_option(cr_stmt *q, cr_loader how, const cr_relationship *const *path, size_t n,
                       const char *what)
{
    if (!q || cr_stmt_error(q))
        return;
    if (how < CR_LOAD_LAZY || how > LOAD_CONTAINS_EAGER || !path || n == 0 || n > MAX_PATH) {
        cr_stmt_fail(q, CR_ERR_ARGUMENT, "%s: %s", what, !path || n == 0 ? "no relationship"
                     : n > MAX_PATH ? "a path of more than 4 relationships" : "unknown loader");
        return;
    }
    const cr_mapper *m = q->orm_mapper;
    if (!m && q->kind == CR_STMT_SELECT && q->columns.n) {
        const cr_table *t = q->columns.items[0];
        m = t->tag == CR_TAG_TABLE ? cr_table_mapper(t) : NULL;
    }
    for (size_t i = 0; i < n; i++) {
        cr_relationship *r = (cr_relationship *)path[i];
        cr_error e;
        cr_error_init(&e);
        if (!r || (r->resolved ? CR_OK : cr_rel_ready(r, &e))) {
            cr_stmt_fail(q, r ? e.cls : CR_ERR_ARGUMENT, "%s: %s", what,
                         r ? cr_error_message(&e) : "a relationship of the path is NULL (was its "
                         "model defined?)");
            cr_error_clear(&e);
            return;
        }
        if (r->parent != m) {
            cr_stmt_fail(q, CR_ERR_ARGUMENT, "%s: relationship %s.%s does not follow from %s",
                         what, r->parent->name, r->name, m ? m->name : "the statement (it "
                         "selects no model)");
            return;
        }
        m = r->target;
    }
    load_opt *o = cr_arena_alloc(&q->arena, sizeof *o);
    if (!o) {
        cr_stmt_fail(q, CR_ERR_NO_MEMORY, "out of memory");
        return;
    }
    memset(o, 0, sizeof *o);
    o->how = how;
    o->n = n;
    memcpy(o->path, path, n * sizeof *path);
    /* Options keep their order: a later one for the same path wins. */
    load_opt **tail = (load_opt **)&q->orm_loads;
    while (*tail)
        tail = &(*tail)->next;
    *tail = o;
    cr_stmt_changed(q);
}

void cr_query_loader(cr_stmt *q, cr_loader how, const cr_relationship *const *path, size_t n)
{
    /* contains_eager's own value is no cr_loader of the API: refused as unknown */
    add_option(q, how == LOAD_CONTAINS_EAGER ? CR_LOAD_DEFAULT : how, path, n, "loader option");
}

void cr_query_contains_eager(cr_stmt *q, const cr_relationship *const *path, size_t n)
{
    add_option(q, LOAD_CONTAINS_EAGER, path, n, "contains_eager");
}

void cr_query_populate_existing(cr_stmt *q)
{
    if (q && !cr_stmt_error(q))
        q->orm_populate = true;
}

/* The option for exactly this path, the last given. */
static load_opt *option_for(cr_stmt *q, const cr_relationship *const *path, size_t n)
{
    load_opt *found = NULL;
    for (load_opt *o = q ? q->orm_loads : NULL; o; o = o->next)
        if (o->n == n && memcmp(o->path, path, n * sizeof *path) == 0)
            found = o;
    return found;
}

/* The last option naming a longer path through this one, or NULL. */
static load_opt *option_below(cr_stmt *q, const cr_relationship *const *path, size_t n)
{
    load_opt *found = NULL;
    for (load_opt *o = q ? q->orm_loads : NULL; o; o = o->next)
        if (o->n > n && memcmp(o->path, path, n * sizeof *path) == 0)
            found = o;
    return found;
}

/* How relationship path[n-1] loads under q. */
static cr_loader strategy(cr_stmt *q, const cr_relationship *const *path, size_t n)
{
    load_opt *o = option_for(q, path, n);
    cr_loader how = o ? o->how : path[n - 1]->lazy;
    /* A path through it asks for what lies below: load it eagerly, joined
     * when that is joined (joinedload(A.b).joinedload(B.c)), else with
     * SELECT ... IN. */
    load_opt *below = how == CR_LOAD_LAZY ? option_below(q, path, n) : NULL;
    if (below)
        how = below->how == CR_LOAD_JOINED || below->how == LOAD_CONTAINS_EAGER ? below->how
                                                                             : CR_LOAD_SELECTIN;
    return how;
}

/* Whether path[n-1] was loaded by the last run of q in its own rows
 * (joinedload, contains_eager). */
static bool loaded_in_query(cr_stmt *q, const cr_relationship *const *path, size_t n)
{
    load_opt *o = option_for(q, path, n);
    return o && o->in_query;
}

/* ---- selectin ---- */

typedef struct pair {
    size_t parent;
    void *child;
} pair;

typedef struct keyslot {
    uint64_t hash;
    size_t parent;
} keyslot;

static int compare_slots(const void *a, const void *b)
{
    const keyslot *x = a, *y = b;
    return x->hash < y->hash ? -1 : x->hash > y->hash;
}

/* The value the parent's side of r is matched on (one-column keys). */
static cr_value parent_key(const cr_instance *in, const cr_relationship *r)
{
    return cr_field_value(in, r->kind == CR_REL_MANY_TO_ONE ? r->fk[0] : r->ref[0]);
}

/* How many keys one IN may hold on this backend. */
static size_t in_batch(const cr_session *s)
{
    size_t max = s->engine->dialect->max_params;
    return max > 500 ? 500 : max ? max : 100;
}

static cr_status grow_pairs(cr_session *s, pair **pairs, size_t n, size_t *cap)
{
    if (n < *cap)
        return CR_OK;
    size_t want = *cap ? *cap * 2 : 64;
    pair *p = cr_realloc(*pairs, want * sizeof *p);
    if (!p)
        return cr_error_oom(&s->err);
    *pairs = p;
    *cap = want;
    return CR_OK;
}

/* Run one IN batch of r, for keys, and collect (parent, child): slots (all
 * the parents, by hash) find the parents of each row's key. */
static cr_status selectin_batch(cr_session *s, const cr_relationship *r, cr_instance **parents,
                                const keyslot *slots, size_t nslots, const cr_value *keys,
                                size_t nkeys, pair **pairs, size_t *npairs, size_t *cap)
{
    const cr_mapper *t = r->target;
    cr_stmt *q;
    int base = 0;
    const cr_column *match;
    if (r->kind == CR_REL_MANY_TO_MANY) {
        match = r->sec_local[0];
        q = cr_select(r->sec_local[0]);
        base = 1;
        if (q)
            cr_mapper_columns(q, NULL, t, t->deferred);
        if (q) {
            cr_select_from(q, t->table);
            cr_join(q, r->secondary, cr_rel_secondary_on(q, r, true));
        }
    } else {
        match = t->fields[r->kind == CR_REL_ONE_TO_MANY ? r->fk[0] : r->ref[0]].col;
        q = cr_select_new();
        if (q)
            cr_mapper_columns(q, NULL, t, t->deferred);
    }
    if (!q)
        return cr_error_oom(&s->err);
    cr_where(q, cr_in_values(q, (cr_expr *)(void *)match, keys, nkeys));
    /* The rows are grouped by parent here anyway, so ordering by the
     * matched key first gives each collection the same order; and an index
     * on the key (the foreign key's, which holds the primary key too) then
     * hands the rows over in that order, without a sort. */
    if (r->norder)
        cr_order_by(q, (cr_expr *)(void *)match);
    for (size_t k = 0; k < r->norder; k++)
        cr_order_by(q, r->desc[k] ? cr_desc(q, (cr_expr *)(void *)r->order[k])
                                  : (cr_expr *)(void *)r->order[k]);
    cr_result *res = cr_session_run(s, q);
    cr_status st = res ? CR_OK : s->err.cls;
    int match_col = r->kind == CR_REL_MANY_TO_MANY ? 0 : (int)match->index;
    const cr_row *row;
    while (!st && (row = cr_result_fetchone(res))) {
        void *child = cr_session_object_at(s, t, row, base, t->deferred);
        if (!child) {
            st = s->err.cls ? s->err.cls : CR_ERR_INTERNAL;
            break;
        }
        const cr_value *kv = cr_row_value_at(row, match_col);
        if (!kv || kv->type == CR_NULL)
            continue;
        cr_value k = *kv;
        uint64_t h = cr_key_hash(&k, 1);
        size_t lo = 0, hi = nslots;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (slots[mid].hash < h)
                lo = mid + 1;
            else
                hi = mid;
        }
        for (; lo < nslots && slots[lo].hash == h && !st; lo++) {
            cr_value pk = parent_key(parents[slots[lo].parent], r);
            if (!cr_value_same(&pk, &k))
                continue;
            if (!(st = grow_pairs(s, pairs, *npairs, cap))) {
                (*pairs)[*npairs] = (pair){slots[lo].parent, child};
                ++*npairs;
            }
        }
    }
    if (!st && res && cr_result_error(res)) {
        cr_error_copy(&s->err, cr_result_error(res));
        st = s->err.cls;
    }
    cr_result_free(res);
    cr_stmt_free(q);
    return st;
}

/* Load r for every parent not loaded yet with SELECT ... IN, a batch of
 * keys at a time; the children loaded go to *out (may be NULL). */
static cr_status load_selectin(cr_session *s, cr_relationship *r, cr_instance **all, size_t n,
                               cr_objects *out)
{
    cr_instance **parents = cr_malloc((n ? n : 1) * sizeof *parents);
    keyslot *slots = cr_malloc((n ? n : 1) * sizeof *slots);
    cr_value *keys = cr_malloc((n ? n : 1) * sizeof *keys);
    pair *pairs = NULL;
    size_t np = 0, npairs = 0, cap = 0;
    cr_status st = parents && slots && keys ? CR_OK : cr_error_oom(&s->err);
    for (size_t i = 0; i < n && !st; i++) {
        cr_relstate *rs = cr_relstate_of(all[i], r->index);
        if (rs->loaded && !all[i]->expired)
            continue;
        if (r->nkeys != 1 || (r->kind == CR_REL_MANY_TO_MANY && r->ntkeys != 1)) {
            st = cr_rel_load(s, all[i], r);   /* composite keys: one load each */
            continue;
        }
        cr_value k = parent_key(all[i], r);
        if (k.type == CR_NULL) {
            if (cr_rel_set_loaded(all[i], r, NULL, 0))
                st = cr_error_oom(&s->err);
            continue;
        }
        parents[np++] = all[i];
    }
    /* slots, sorted by hash, find a row's parents by key. */
    size_t ns = 0;
    for (size_t i = 0; i < np && !st; i++) {
        cr_value k = parent_key(parents[i], r);
        slots[ns++] = (keyslot){cr_key_hash(&k, 1), i};
    }
    if (ns > 1)
        qsort(slots, ns, sizeof *slots, compare_slots);
    /* Each distinct key once, in the parents' order, as SQLAlchemy batches
     * them: the parents of one IN are neighbours in the query's order, and
     * so, usually, are their children's rows (keys in hash order would send
     * each IN to pages all over the table). first[i]: parent i is the one
     * of its key that sends it. */
    bool *first = st ? NULL : cr_malloc((np ? np : 1) * sizeof *first);
    if (!st && !first)
        st = cr_error_oom(&s->err);
    for (size_t j = 0; j < ns && !st; j++) {
        cr_value k = parent_key(parents[slots[j].parent], r);
        bool dup = false;
        for (size_t d = j; d-- > 0 && slots[d].hash == slots[j].hash && !dup;) {
            cr_value o = parent_key(parents[slots[d].parent], r);
            dup = cr_value_same(&o, &k);
        }
        first[slots[j].parent] = !dup;
    }
    size_t nk = 0;
    for (size_t i = 0; i < np && !st; i++)
        if (first[i])
            keys[nk++] = parent_key(parents[i], r);
    cr_free(first);
    size_t batch = in_batch(s);
    for (size_t i = 0; i < nk && !st; i += batch)
        st = selectin_batch(s, r, parents, slots, ns, &keys[i], nk - i < batch ? nk - i : batch,
                            &pairs, &npairs, &cap);
    /* Each parent's children in the order their rows came (the pairs are
     * made in that order): a counting sort by parent. end[i] is where
     * parent i's children end in group, once placed. */
    void **group = NULL;
    size_t *end = NULL;
    if (!st && !(end = cr_calloc(np + 1, sizeof *end)))
        st = cr_error_oom(&s->err);
    if (!st && npairs && !(group = cr_malloc(npairs * sizeof *group)))
        st = cr_error_oom(&s->err);
    for (size_t i = 0; i < npairs && !st; i++)
        end[pairs[i].parent + 1]++;
    for (size_t i = 0; i < np && !st; i++)
        end[i + 1] += end[i];
    for (size_t i = 0; i < npairs && !st; i++)
        group[end[pairs[i].parent]++] = pairs[i].child;
    for (size_t i = 0; i < np && !st; i++) {
        size_t from = i ? end[i - 1] : 0, g = end[i] - from;
        if (cr_rel_set_loaded(parents[i], r, g ? group + from : NULL, r->many ? g : (g ? 1 : 0)))
            st = cr_error_oom(&s->err);
    }
    for (size_t i = 0; out && i < npairs && !st; i++) {
        if (out->count % 64 == 0) {
            void **items = cr_realloc(out->items, (out->count + 64) * sizeof *items);
            if (!items) {
                st = cr_error_oom(&s->err);
                break;
            }
            out->items = items;
        }
        out->items[out->count++] = group[i];
    }
    cr_free(end);
    cr_free(group);
    cr_free(pairs);
    cr_free(parents);
    cr_free(slots);
    cr_free(keys);
    return st;
}

/* A many-to-one whose target is in the identity map needs no SQL. */
static bool from_identity_map(cr_session *s, cr_instance *in, cr_relationship *r)
{
    if (r->kind != CR_REL_MANY_TO_ONE || r->nkeys != r->target->npk)
        return false;
    cr_value key[CR_REL_MAX_KEYS];
    for (size_t k = 0; k < r->nkeys; k++) {
        if (r->ref[k] != r->target->pk[k])
            return false;
        key[k] = cr_field_value(in, r->fk[k]);
        if (key[k].type == CR_NULL)
            return false;
    }
    cr_instance *t = cr_map_find(s, r->target, key, cr_key_hash(key, r->nkeys));
    if (!t || t->expired)
        return false;
    void *o = t->obj;
    return cr_rel_set_loaded(in, r, &o, 1) == CR_OK;
}

/* ---- eager loading after a query ---- */

static cr_status eager_level(cr_session *s, cr_stmt *q, const cr_mapper *m,
                             const cr_relationship **path, size_t depth, cr_instance **objs,
                             size_t n);

/* The instances of a list of objects. */
static cr_instance **instances_of(void **objs, size_t n)
{
    cr_instance **ins = cr_malloc((n ? n : 1) * sizeof *ins);
    for (size_t i = 0; ins && i < n; i++)
        ins[i] = cr_instance_of(objs[i]);
    return ins;
}

static cr_status eager_rel(cr_session *s, cr_stmt *q, cr_relationship *r, cr_loader how,
                           const cr_relationship **path, size_t depth, cr_instance **objs,
                           size_t n)
{
    if (how == CR_LOAD_RAISE) {
        for (size_t i = 0; i < n; i++)
            if (!cr_relstate_of(objs[i], r->index)->loaded)
                cr_relstate_of(objs[i], r->index)->raise = true;
        return CR_OK;
    }
    cr_objects children = {0, NULL};
    cr_status st = CR_OK;
    path[depth] = r;
    if (loaded_in_query(q, path, depth + 1)) {
        /* Loaded by the query itself: collect the children for what lies below. */
        for (size_t i = 0; i < n && !st; i++) {
            void **items, *one;
            size_t k = cr_rel_members(objs[i], r, &items, &one);
            for (size_t j = 0; j < k; j++) {
                if (children.count % 64 == 0) {
                    void **more = cr_realloc(children.items, (children.count + 64) * sizeof *more);
                    if (!more) {
                        st = cr_error_oom(&s->err);
                        break;
                    }
                    children.items = more;
                }
                children.items[children.count++] = items[j];
            }
        }
    } else if (how == LOAD_CONTAINS_EAGER) {
        /* not in the rows (below a selectin level, or past what one
         * statement joins): left to cr_load */
    } else {
        /* selectin (a joinedload below a selectin level loads the same way:
         * one statement per relationship) */
        size_t todo = 0;
        for (size_t i = 0; i < n; i++)
            if (!from_identity_map(s, objs[i], r) || r->kind != CR_REL_MANY_TO_ONE)
                objs[todo++] = objs[i];
        st = load_selectin(s, r, objs, todo, &children);
    }
    if (!st && children.count && depth + 1 < MAX_PATH) {
        cr_instance **ins = instances_of(children.items, children.count);
        st = ins ? eager_level(s, q, r->target, path, depth + 1, ins, children.count)
                 : cr_error_oom(&s->err);
        cr_free(ins);
    }
    cr_free(children.items);
    return st;
}

static cr_status eager_level(cr_session *s, cr_stmt *q, const cr_mapper *m,
                             const cr_relationship **path, size_t depth, cr_instance **objs,
                             size_t n)
{
    cr_status st = CR_OK;
    for (size_t i = 0; i < m->nrels && !st && n; i++) {
        cr_relationship *r = m->rels[i];
        /* Not back up the path: that side was filled as the rows came. */
        if (depth && path[depth - 1]->back == r)
            continue;
        path[depth] = r;
        cr_loader how = strategy(q, path, depth + 1);
        if (how == CR_LOAD_LAZY)
            continue;
        if ((st = cr_rel_ready(r, &s->err)))
            break;
        /* eager_rel may reorder objs (which need SQL): work on a copy */
        cr_instance **work = cr_malloc(n * sizeof *work);
        if (!work)
            return cr_error_oom(&s->err);
        memcpy(work, objs, n * sizeof *work);
        st = eager_rel(s, q, r, how, path, depth, work, n);
        cr_free(work);
    }
    return st;
}

cr_status cr_rel_eager(cr_session *s, cr_stmt *q, const cr_mapper *m, void **objs, size_t n)
{
    if (!m->nrels || !n)
        return CR_OK;
    bool any = q && q->orm_loads;
    for (size_t i = 0; i < m->nrels && !any; i++)
        any = m->rels[i]->lazy != CR_LOAD_LAZY;
    if (!any)
        return CR_OK;
    cr_instance **ins = instances_of(objs, n);
    if (!ins)
        return cr_error_oom(&s->err);
    const cr_relationship *path[MAX_PATH];
    cr_status st = eager_level(s, q, m, path, 0, ins, n);
    cr_free(ins);
    return st;
}

/* ---- joined eager loading: the query's own LEFT OUTER JOINs ---- */

/* A column of a table, or the same column of `from` (an alias of the
 * table, or a subquery selecting it) when from is not NULL. */
static cr_expr *col_at(cr_stmt *q, cr_expr *from, cr_column *col)
{
    return from ? cr_c(q, from, col->name) : (cr_expr *)(void *)col;
}

static cr_expr *col_of(cr_stmt *q, cr_expr *from, const cr_mapper *m, size_t field)
{
    return col_at(q, from, m->fields[field].col);
}

cr_expr *cr_rel_on(cr_stmt *q, const cr_relationship *r, cr_expr *parent_from,
                   cr_expr *target_from)
{
    cr_expr *on = NULL;
    for (size_t k = 0; k < r->nkeys; k++) {
        cr_expr *e;
        if (r->kind == CR_REL_MANY_TO_ONE)
            e = cr_binary(q, CR_OP_EQ, col_of(q, target_from, r->target, r->ref[k]),
                          col_of(q, parent_from, r->parent, r->fk[k]));
        else
            e = cr_binary(q, CR_OP_EQ, col_of(q, parent_from, r->parent, r->ref[k]),
                          col_of(q, target_from, r->target, r->fk[k]));
        on = on ? cr_and(q, on, e) : e;
    }
    return on;
}

cr_expr *cr_rel_secondary_on_from(cr_stmt *q, const cr_relationship *r, bool target_side,
                                  cr_expr *from, cr_expr *secondary_from)
{
    const cr_mapper *m = target_side ? r->target : r->parent;
    size_t n = target_side ? r->ntkeys : r->nkeys;
    cr_expr *on = NULL;
    for (size_t k = 0; k < n; k++) {
        cr_expr *e = cr_binary(q, CR_OP_EQ,
                               col_of(q, from, m, target_side ? r->tref[k] : r->ref[k]),
                               col_at(q, secondary_from,
                                      target_side ? r->sec_remote[k] : r->sec_local[k]));
        on = on ? cr_and(q, on, e) : e;
    }
    return on;
}

bool cr_stmt_reads_table(const cr_stmt *q, const cr_table *t)
{
    for (size_t i = 0; i < q->columns.n; i++)
        if (q->columns.items[i] == t)
            return true;
    for (size_t i = 0; i < q->froms.n; i++)
        if (q->froms.items[i] == t)
            return true;
    for (size_t i = 0; i < q->joins.n; i++)
        if (((const cr_join_clause *)q->joins.items[i])->target == t)
            return true;
    return false;
}

/* What cr_joined_begin works with while it adds the joined relationships. */
typedef struct joined_build {
    cr_session *s;
    cr_stmt *q;                  /* the query: its options say what to join   */
    cr_stmt *into;               /* where the joins go: q, or the SELECT that
                                  * wraps it (LIMIT with a collection)        */
    cr_joined *j;
    int at;                      /* where the next entry's columns start      */
    size_t naliases;
    bool dry;                    /* only look what would be joined:           */
    bool found, collection;      /* anything, a collection (not contains_eager) */
    bool failed;                 /* the error is on the session               */
} joined_build;

/* LEFT OUTER JOIN r's target (through its secondary table for a
 * many-to-many) to parent_from, an alias each; the alias of the target. An
 * in-place join keeps what it made on the option for the next run. */
static cr_expr *join_entry(joined_build *b, load_opt *o, const cr_relationship *r,
                           cr_expr *parent_from)
{
    cr_stmt *q = b->into;
    bool keep = q == b->q;
    cr_expr *alias = keep ? o->alias : NULL, *on = keep ? o->on : NULL;
    cr_expr *sec = keep ? o->sec_alias : NULL, *sec_on = keep ? o->sec_on : NULL;
    char name[80];
    if (r->kind == CR_REL_MANY_TO_MANY) {
        ++b->naliases;
        if (!sec) {
            snprintf(name, sizeof name, "%s_%zu", r->secondary->name, b->naliases);
            sec = cr_alias(q, r->secondary, name);
            sec_on = sec ? cr_rel_secondary_on_from(q, r, false, parent_from, sec) : NULL;
        }
        cr_outerjoin(q, sec, sec_on);
    }
    ++b->naliases;
    if (!alias) {
        snprintf(name, sizeof name, "%s_%zu", r->target->table->name, b->naliases);
        alias = cr_alias(q, r->target->table, name);
        if (alias)
            on = r->kind == CR_REL_MANY_TO_MANY ? cr_rel_secondary_on_from(q, r, true, alias, sec)
                                                : cr_rel_on(q, r, parent_from, alias);
    }
    if (!alias || !on)
        return NULL;
    if (keep) {
        o->alias = alias;
        o->on = on;
        o->sec_alias = sec;
        o->sec_on = sec_on;
    }
    for (size_t c = 0; c < r->target->nfields; c++)
        cr_columns(q, cr_field_item(q, alias, r->target, c, r->target->deferred));
    cr_outerjoin(q, alias, on);
    for (size_t k = 0; k < r->norder; k++) {
        cr_expr *c = col_at(q, alias, r->order[k]);
        cr_order_by(q, r->desc[k] ? cr_desc(q, c) : c);
    }
    return alias;
}

/* contains_eager: r's target is joined by the query itself; its columns
 * are added to the query's for the run. */
static void contains_entry(joined_build *b, const cr_relationship *r, cr_expr *parent_from)
{
    const char *why = NULL;
    cr_status cls = CR_ERR_NOT_SUPPORTED;
    if (b->into != b->q) {
        why = "the query is wrapped in a subquery for a joinedload of a collection with "
              "LIMIT, OFFSET or DISTINCT";
    } else if (parent_from) {
        why = "its parent is loaded by a joinedload, through an alias";
    } else if (!cr_stmt_reads_table(b->q, r->target->table)) {
        why = "the query does not join the target's table: join it first (cr_join_related)";
        cls = CR_ERR_INVALID_REQUEST;
    }
    if (why)
        cr_stmt_fail(b->into, cls, "contains_eager of %s.%s: %s", r->parent->name, r->name, why);
    else
        cr_columns(b->q, r->target->table);
}

/* Add the joined relationships below model m (reached by path[0..depth))
 * whose parent is entry `from` of j (-1: the row's own object), read from
 * parent_from (NULL: the model's table). */
static void add_entries(joined_build *b, const cr_mapper *m, const cr_relationship **path,
                        size_t depth, int from, cr_expr *parent_from)
{
    cr_joined *j = b->j;
    for (size_t i = 0; i < m->nrels && !b->failed; i++) {
        cr_relationship *r = m->rels[i];
        /* Not back up the path: that side is the row's parent. */
        if (depth && path[depth - 1]->back == r)
            continue;
        path[depth] = r;
        cr_loader how = strategy(b->q, path, depth + 1);
        if (how != CR_LOAD_JOINED && how != LOAD_CONTAINS_EAGER)
            continue;
        if (cr_rel_ready(r, &b->s->err)) {
            b->failed = true;
            return;
        }
        b->found = true;
        int me = -1;
        cr_expr *me_from = NULL;
        if (b->dry) {
            b->collection |= how == CR_LOAD_JOINED && r->many;
        } else {
            if (j->n == CR_ARRAY_LEN(j->rels))
                continue;   /* past what one statement joins: selectin after it */
            load_opt *o = option_for(b->q, path, depth + 1);
            if (!o) {   /* the relationship's own lazy="joined": an option made here */
                add_option(b->q, how, path, depth + 1, "loader option");
                if (!(o = option_for(b->q, path, depth + 1)))
                    return;   /* the error is on q */
            }
            if (how == LOAD_CONTAINS_EAGER)
                contains_entry(b, r, parent_from);
            else
                me_from = join_entry(b, o, r, parent_from);
            if (cr_stmt_error(b->into) || cr_stmt_error(b->q))
                return;
            o->in_query = true;
            me = (int)j->n++;
            j->rels[me] = r;
            j->base[me] = b->at;
            j->from[me] = from;
            j->unloaded[me] = how == LOAD_CONTAINS_EAGER ? 0 : r->target->deferred;
            b->at += (int)r->target->nfields;
        }
        if (depth + 1 < MAX_PATH)
            add_entries(b, r->target, path, depth + 1, me, me_from);
    }
}

/* An ORDER BY item of q as the same ordering of the wrapping subquery's
 * column: a column of m's table is one of the subquery's already; anything
 * else (a joined table's column, an expression) is added to q's columns,
 * labelled, for the run (SQLAlchemy does the same). */
static cr_expr *order_on(cr_stmt *outer, cr_stmt *q, cr_expr *anon, const cr_mapper *m,
                         const cr_expr *item, size_t i)
{
    const cr_expr *e = item->kind == CR_N_ORDER ? item->u.un.e : item;
    const char *name;
    char label[32];
    if (e->kind == CR_N_COLUMN && ((const cr_column *)(const void *)e)->table == m->table) {
        name = ((const cr_column *)(const void *)e)->name;
    } else {
        snprintf(label, sizeof label, "anon_order_%zu", i + 1);
        cr_columns(q, cr_label(q, (cr_expr *)e, label));
        if (cr_stmt_error(q)) {
            cr_stmt_fail(outer, cr_error_class(cr_stmt_error(q)), "%s",
                         cr_error_message(cr_stmt_error(q)));
            return NULL;
        }
        name = label;
    }
    cr_expr *c = cr_c(outer, anon, name);
    if (c && item->kind == CR_N_ORDER) {
        c = cr_asc(outer, c);
        if (c)
            c->op = item->op;
    }
    return c;
}

/* SELECT anon_1.<m's columns> FROM (q) AS anon_1 ORDER BY q's order on
 * anon_1: q keeps its WHERE, ORDER BY, LIMIT / OFFSET and DISTINCT inside,
 * and the collections are joined to anon_1 (SQLAlchemy's subquery for a
 * joinedload with a LIMIT). q is lent to it; cr_joined_end takes it back. */
static cr_stmt *wrap(cr_session *s, cr_stmt *q, const cr_mapper *m, cr_expr **anon)
{
    cr_stmt *outer = cr_select_new();
    if (!outer || !cr_stmt_reserve_adoption(outer)) {
        cr_stmt_free(outer);
        cr_error_oom(&s->err);
        return NULL;
    }
    cr_expr *a = cr_subquery(outer, q, "anon_1");
    for (size_t f = 0; a && f < m->nfields; f++)
        cr_columns(outer, col_of(outer, a, m, f));
    cr_select_from(outer, a);
    size_t norder = q->order_by.n;   /* q's list, which order_on does not grow */
    for (size_t i = 0; a && i < norder && !cr_stmt_error(outer); i++)
        cr_order_by(outer, order_on(outer, q, a, m, q->order_by.items[i], i));
    outer->orm_mapper = m;
    *anon = a;
    if (cr_stmt_error(outer)) {
        cr_error_copy(&s->err, cr_stmt_error(outer));
        cr_stmt_unadopt(outer, q);
        cr_stmt_free(outer);
        return NULL;
    }
    return outer;
}

/* The joined relationships for q's model m (joinedload, contains_eager,
 * down their paths): added to q for the run (columns, LEFT OUTER JOIN,
 * ORDER BY) and taken away by cr_joined_end, or, for a collection under a
 * LIMIT, OFFSET or DISTINCT, to a SELECT wrapping q. */
size_t cr_joined_begin(cr_session *s, cr_stmt *q, const cr_mapper *m, cr_joined *j)
{
    memset(j, 0, sizeof *j);
    j->gen = ++s->load_gen;
    for (load_opt *o = q->orm_loads; o; o = o->next)
        o->in_query = false;
    if (!m || !m->nrels || q->kind != CR_STMT_SELECT)
        return 0;
    const cr_relationship *path[MAX_PATH];
    joined_build b = {.s = s, .q = q, .into = q, .j = j, .dry = true};
    add_entries(&b, m, path, 0, -1, NULL);
    if (b.failed)
        return SIZE_MAX;
    if (!b.found)
        return 0;
    b.dry = false;
    cr_expr *parent_from = NULL;
    j->restore = true;
    j->ncolumns = q->columns.n;
    j->njoins = q->joins.n;
    j->norder = q->order_by.n;
    if (b.collection && (q->limit || q->offset || q->distinct)) {
        if (!(b.into = j->outer = wrap(s, q, m, &parent_from))) {
            cr_joined_end(q, j);
            return SIZE_MAX;
        }
        b.at = (int)m->nfields;
    } else {
        for (size_t c = 0; c < q->columns.n; c++) {
            const cr_table *t = q->columns.items[c];
            b.at += t->tag == CR_TAG_TABLE ? (int)t->ncols : 1;
        }
    }
    add_entries(&b, m, path, 0, -1, parent_from);
    const cr_error *e = cr_stmt_error(b.into) ? cr_stmt_error(b.into) : cr_stmt_error(q);
    if (b.failed || e) {
        if (e)
            cr_error_copy(&s->err, e);
        cr_joined_end(q, j);
        return SIZE_MAX;
    }
    return j->n;
}

void cr_joined_end(cr_stmt *q, cr_joined *j)
{
    if (j->outer) {
        cr_stmt_unadopt(j->outer, q);
        cr_stmt_free(j->outer);
        j->outer = NULL;
    }
    if (!j->restore)
        return;
    j->restore = false;
    q->columns.n = j->ncolumns;
    q->joins.n = j->njoins;
    q->order_by.n = j->norder;
    cr_stmt_changed(q);
}

/* One row of a joined query: the child it holds for each joined entry
 * goes to its parent's collection (the row's object, or the child of the
 * entry above). A relationship loaded before (and not expired) is left as
 * it is. */
cr_status cr_joined_row(cr_session *s, cr_joined *j, cr_instance *root, const cr_row *row)
{
    cr_instance *made[CR_ARRAY_LEN(j->rels)];
    for (size_t i = 0; i < j->n; i++) {
        cr_relationship *r = j->rels[i];
        cr_instance *parent = j->from[i] < 0 ? root : made[j->from[i]];
        made[i] = NULL;
        if (!parent)
            continue;   /* no parent in this row */
        cr_relstate *rs = cr_relstate_of(parent, r->index);
        if (rs->gen != j->gen) {
            rs->gen = j->gen;
            rs->collecting = !rs->loaded || parent->expired;
            if (rs->collecting) {
                if (r->many)
                    cr_rel_coll(parent, r)->count = 0;
                else
                    *cr_rel_ref(parent, r) = NULL;
            }
        }
        const cr_value *first = cr_row_value_at(row, j->base[i] + (int)r->target->pk[0]);
        if (!first || first->type == CR_NULL)
            continue;   /* LEFT OUTER JOIN: no child */
        void *child = cr_session_object_at(s, r->target, row, j->base[i], j->unloaded[i]);
        if (!child)
            return s->err.cls ? s->err.cls : CR_ERR_INTERNAL;
        made[i] = cr_instance_of(child);
        if (!rs->collecting)
            continue;
        if (r->many) {
            cr_collection *c = cr_rel_coll(parent, r);
            if (!cr_collection_has(c, child) && cr_collection_push(c, child))
                return cr_error_oom(&s->err);
        } else {
            *cr_rel_ref(parent, r) = child;
        }
    }
    return CR_OK;
}

/* The entries below `from` of an object the rows filled become loaded,
 * and those of their children, down the entries. */
static cr_status finish_entries(cr_session *s, cr_joined *j, cr_instance *in, int from)
{
    for (size_t i = 0; i < j->n; i++) {
        cr_relationship *r = j->rels[i];
        if (j->from[i] != from || r->parent != in->mapper)
            continue;
        cr_relstate *rs = cr_relstate_of(in, r->index);
        if (rs->gen != j->gen)
            continue;   /* not in the rows */
        void **items, *one;
        size_t cnt = cr_rel_members(in, r, &items, &one);
        if (rs->collecting) {
            rs->collecting = false;
            if (cr_rel_set_loaded(in, r, items, cnt))
                return cr_error_oom(&s->err);
            cnt = cr_rel_members(in, r, &items, &one);
        }
        for (size_t k = 0; k < cnt; k++) {
            cr_status st = finish_entries(s, j, cr_instance_of(items[k]), (int)i);
            if (st)
                return st;
        }
    }
    return CR_OK;
}

/* The joined relationships of the parents collected become loaded. */
cr_status cr_joined_finish(cr_session *s, cr_joined *j, void **objs, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        cr_status st = finish_entries(s, j, cr_instance_of(objs[k]), -1);
        if (st)
            return st;
    }
    return CR_OK;
}

/* ---- joins along relationships ---- */

static void join_related(cr_stmt *q, const cr_relationship *cr, bool outer)
{
    cr_relationship *r = (cr_relationship *)cr;
    if (!q || cr_stmt_error(q))
        return;
    cr_error e;
    cr_error_init(&e);
    if (!r || cr_rel_ready(r, &e)) {
        cr_stmt_fail(q, r ? e.cls : CR_ERR_ARGUMENT, "join along a relationship: %s",
                     r ? cr_error_message(&e) : "the relationship is NULL");
        cr_error_clear(&e);
        return;
    }
    if (r->parent == r->target) {
        cr_stmt_fail(q, CR_ERR_INVALID_REQUEST, "join along %s.%s: the relationship joins its "
                     "table to itself; join an alias with an explicit ON clause",
                     r->parent->name, r->name);
        return;
    }
    void (*join)(cr_stmt *, const void *, cr_expr *) = outer ? cr_outerjoin : cr_join;
    if (r->kind == CR_REL_MANY_TO_MANY) {
        join(q, r->secondary, cr_rel_secondary_on(q, r, false));
        join(q, r->target->table, cr_rel_secondary_on(q, r, true));
        return;
    }
    join(q, r->target->table, cr_rel_on(q, r, NULL, NULL));
}

void cr_join_related(cr_stmt *q, const cr_relationship *r) { join_related(q, r, false); }
void cr_outerjoin_related(cr_stmt *q, const cr_relationship *r) { join_related(q, r, true); }
