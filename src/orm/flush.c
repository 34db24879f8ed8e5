/* flush.c — the unit of work: the flush plan as data (ordered steps), its execution, and settling objects after it. */
#include "orm/orm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum step_kind {
    STEP_INSERT, STEP_UPDATE, STEP_DELETE, STEP_POST_UPDATE, STEP_ASSOC_DELETE, STEP_ASSOC_CLEAR,
    STEP_ASSOC_INSERT
} step_kind;

/* A foreign key field the flush sets from a related object's key (src
 * NULL: to NULL). post: by a second UPDATE after the INSERTs (post_update). */
typedef struct fk_sync {
    struct fk_sync *next;
    const cr_relationship *r;
    size_t field;
    cr_instance *src;
    size_t src_field;
    bool post;
} fk_sync;

/* What the flush running now knows about an object (in->note). */
struct flush_note {
    fk_sync *syncs;
    size_t item;                 /* its index in the plan's items, or SIZE_MAX */
    bool done;                   /* its INSERT ran                              */
};

/* A row of an association table to insert or delete (a: r's parent side,
 * b: its target), or every row of one object (clear: b NULL). */
typedef struct assoc_op {
    const cr_relationship *r;
    cr_instance *a, *b;
    step_kind kind;
    bool remote;                 /* clear: a is on the target side           */
    const cr_instance *holder;   /* whose collection changed (a or b)        */
} assoc_op;

/* A value the flush keeps for a field of an object, to store into it once
 * the flush succeeded. Most objects get one (a generated key): a list, not
 * a value for every field, keeps a large flush's memory small. */
typedef struct post_value {
    struct post_value *next;
    size_t field;
    cr_value v;
} post_value;

/* One object of a step, and what the flush learnt for it (generated keys,
 * server and client defaults, the new version), stored into it once every
 * statement succeeded. */
typedef struct flush_item {
    cr_instance *in;
    int rank;                    /* the table's place in dependency order    */
    uint64_t cols;               /* INSERT: fields given; UPDATE: changed    */
    uint64_t post_mask;          /* fields of post to store afterwards       */
    post_value *post;            /* their values (in the plan's arena)       */
    cr_instance *switched;       /* a new object taking over the row of this
                                  * deleted one: UPDATEd (a row switch)     */
    bool listonly;               /* deleted, its row taken over: no DELETE   */
    signed char event;           /* its before event (cr_mapper_event), -1: none */
    unsigned char kind;          /* step_kind as planned: insert, update, delete */
} flush_item;

/* A run of items of one mapper, of one statement shape. */
typedef struct flush_step {
    step_kind kind;
    const cr_mapper *m;
    const cr_relationship *rel;  /* association and post-update steps        */
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
    bool rels;                    /* the session has objects with relationships */
    cr_instance **noted;          /* objects given a note                       */
    size_t nnoted, capnoted;
    assoc_op *assoc;
    size_t nassoc, capassoc;
    struct post_sync {            /* post_update syncs, with their objects      */
        const fk_sync *y;
        cr_instance *in;
    } *posts;
    size_t nposts, capposts;
    unsigned listen_mask;         /* the events its mappers have listeners of
                                   * (none for cr_session_plan)                */
} flush_plan;

static uint64_t sync_fields(const cr_instance *in);

static bool item_step(step_kind k)
{
    return k == STEP_INSERT || k == STEP_UPDATE || k == STEP_DELETE;
}


static void plan_free(flush_plan *p)
{
    for (size_t i = 0; i < p->nnoted; i++)
        p->noted[i]->note = NULL;
    cr_free(p->noted);
    cr_free(p->assoc);
    cr_free(p->posts);
    cr_free(p->items);
    cr_free(p->steps);
    cr_arena_free(&p->arena);
}

bool cr_instance_dirty(const cr_instance *in)
{
    if (cr_instance_same_bytes(in))
        return false;
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
    if (cr_instance_same_bytes(in))
        return 0;
    for (size_t i = 0; i < in->mapper->nfields; i++) {
        cr_value v = cr_field_value(in, i);
        cr_value was = cr_snap_value(in, i);
        if (!cr_value_same(&v, &was))
            mask |= UINT64_C(1) << i;
    }
    return mask;
}

/* ---- planning ---- */

/* Whether a post_update relationship of md's models sets foreign key k of
 * table t: an UPDATE after the INSERTs (and before the DELETEs) sets it, so
 * the key does not order the tables. */
static bool fk_post_updated(const cr_metadata *md, const cr_table *t, const cr_constraint *k)
{
    for (size_t i = 0; i < md->ntables; i++) {
        const cr_mapper *m = cr_table_mapper(md->tables[i]);
        for (size_t j = 0; m && j < m->nrels; j++) {
            const cr_relationship *r = m->rels[j];
            if (!r->post_update || !r->resolved || r->viewonly ||
                r->kind == CR_REL_MANY_TO_MANY)
                continue;
            const cr_mapper *holder = r->kind == CR_REL_MANY_TO_ONE ? r->parent : r->target;
            if (holder->table == t && holder->fields[r->fk[0]].col == k->cols[0])
                return true;
        }
    }
    return false;
}

/* Whether table a must be written after table b: a foreign key of a refers
 * to b, one that no post_update relationship sets. */
static bool saved_after(const cr_table *a, const cr_table *b)
{
    if (a == b)
        return false;
    for (size_t i = 0; i < a->ncons; i++) {
        const cr_constraint *c = a->constraints[i];
        if (c->kind == CR_CONSTRAINT_FOREIGN_KEY && c->ncols > 0 &&
            strcmp(c->ref_tables[0], b->name) == 0 && !fk_post_updated(a->md, a, c))
            return true;
    }
    return false;
}

/* The place of t among md's tables sorted by the foreign keys that order
 * the flush (post_update ones left out), as cr_metadata_sorted_tables
 * sorts them: by name, then in rounds of the tables whose referred tables
 * are placed; a cycle left follows in name order. -1 when out of memory. */
static int table_rank_post_update(const cr_table *t)
{
    cr_metadata *md = t->md;
    size_t n = md->ntables;
    const cr_table **todo = cr_malloc(n * sizeof *todo);
    bool *ready = cr_malloc(n * sizeof *ready);
    int rank = -1, placed = 0;
    if (!todo || !ready)
        goto done;
    memcpy(todo, md->tables, n * sizeof *todo);
    for (size_t i = 1; i < n; i++)   /* by name (an insertion sort: few tables) */
        for (size_t j = i; j > 0 && strcmp(todo[j - 1]->name, todo[j]->name) > 0; j--) {
            const cr_table *x = todo[j];
            todo[j] = todo[j - 1];
            todo[j - 1] = x;
        }
    while (n > 0 && rank < 0) {
        size_t taken = 0;
        for (size_t i = 0; i < n; i++) {
            ready[i] = true;
            for (size_t j = 0; j < n && ready[i]; j++)
                ready[i] = !saved_after(todo[i], todo[j]);
            taken += ready[i];
        }
        size_t keep = 0;
        for (size_t i = 0; i < n; i++) {
            if (!ready[i] && taken)
                todo[keep++] = todo[i];
            else if (todo[i] == t)
                rank = placed;
            else
                placed++;
        }
        n = taken ? keep : 0;
    }
done:
    cr_free(todo);
    cr_free(ready);
    return rank;
}

static bool has_post_update(const cr_metadata *md)
{
    for (size_t i = 0; i < md->ntables; i++) {
        const cr_mapper *m = cr_table_mapper(md->tables[i]);
        for (size_t j = 0; m && j < m->nrels; j++)
            if (m->rels[j]->post_update)
                return true;
    }
    return false;
}

/* The table's place among its metadata's tables sorted by foreign keys. */
static int table_rank(const cr_table *t)
{
    cr_metadata *md = t->md;
    if (has_post_update(md)) {
        int rank = table_rank_post_update(t);
        return rank < 0 ? 0 : rank;
    }
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
    p->listen_mask |= m->listen_mask;   /* every mapper of the plan passes here */
    if (p->nranks < CR_ARRAY_LEN(p->ranked)) {
        p->ranked[p->nranks] = m;
        p->ranks[p->nranks++] = rank;
    }
    return rank;
}

/* The value kept for field i of the item (its bit set in post_mask). */
static cr_value *item_post(const flush_item *it, size_t i)
{
    post_value *pv = it->post;
    while (pv->field != i)
        pv = pv->next;
    return &pv->v;
}

/* Keep value v for field i of the item, to store into the object once the
 * flush succeeded: a generated key or default the database returned, a
 * client default or version the flush computed. An integer for a bool field
 * (MySQL returns them so) becomes a bool. */
static cr_status keep_value(cr_session *s, flush_plan *p, flush_item *it, size_t i, cr_value v)
{
    if (it->in->mapper->fields[i].vtype == CR_BOOL && v.type == CR_INT)
        v = cr_val_bool(v.v.i != 0);
    /* Text and bytes are copied (the result they came from goes first). */
    bool bytes = v.type == CR_TEXT || v.type == CR_NUMERIC || v.type == CR_BLOB;
    cr_value *copy = bytes ? cr_arena_copy_values(&p->arena, &v, 1) : &v;
    if (!copy)
        return cr_error_oom(&s->err);
    if (it->post_mask >> i & 1) {
        *item_post(it, i) = *copy;
        return CR_OK;
    }
    post_value *pv = cr_arena_alloc(&p->arena, sizeof *pv);
    if (!pv)
        return cr_error_oom(&s->err);
    *pv = (post_value){it->post, i, *copy};
    it->post = pv;
    it->post_mask |= UINT64_C(1) << i;
    return CR_OK;
}

/* The fields an INSERT of this object gives: those not NULL, those whose
 * client default is computed now, and the version. */
static cr_status insert_fields(cr_session *s, flush_plan *p, flush_item *it)
{
    const cr_mapper *m = it->in->mapper;
    uint64_t synced = it->in->note ? sync_fields(it->in) : 0;
    for (size_t i = 0; i < m->nfields; i++) {
        const cr_field *f = &m->fields[i];
        cr_value v = cr_field_value(it->in, i);
        uint64_t bit = UINT64_C(1) << i;
        if (synced & bit) {
            it->cols |= bit;   /* its value comes from the related object */
            continue;
        }
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

/* ---- relationships: what the flush derives from them ---- */

static struct flush_note *note_of(cr_session *s, flush_plan *p, cr_instance *in)
{
    if (in->note)
        return in->note;
    struct flush_note *n = cr_arena_alloc(&p->arena, sizeof *n);
    if (!n || !grow(&p->noted, p->nnoted, &p->capnoted, sizeof *p->noted)) {
        cr_error_oom(&s->err);
        return NULL;
    }
    memset(n, 0, sizeof *n);
    n->item = SIZE_MAX;
    p->noted[p->nnoted++] = in;
    in->note = n;
    return n;
}

/* The object's foreign key fields of r take src's key (src NULL: NULL);
 * post: by an UPDATE of their own. */
static cr_status push_syncs(cr_session *s, flush_plan *p, cr_instance *in,
                            const cr_relationship *r, cr_instance *src, bool post)
{
    struct flush_note *n = note_of(s, p, in);
    if (!n)
        return CR_ERR_NO_MEMORY;
    for (size_t k = 0; k < r->nkeys; k++) {
        fk_sync *y = cr_arena_alloc(&p->arena, sizeof *y);
        if (!y)
            return cr_error_oom(&s->err);
        *y = (fk_sync){n->syncs, r, r->fk[k], src, r->ref[k], post};
        n->syncs = y;
    }
    return CR_OK;
}

/* The child's foreign key fields of r take src's key (src NULL: NULL),
 * after the INSERTs when post_update (on either side of a pair) says so
 * and src is being inserted. */
static cr_status add_sync(cr_session *s, flush_plan *p, cr_instance *child,
                          const cr_relationship *r, cr_instance *src)
{
    bool post = r->post_update || (r->back && r->back->post_update);
    return push_syncs(s, p, child, r, src, post && src && src->state == CR_INST_PENDING);
}

/* Whether the child's fields of r are set from an object by this flush. */
static bool has_parent_sync(const cr_instance *child, const cr_relationship *r)
{
    for (const fk_sync *y = child->note ? child->note->syncs : NULL; y; y = y->next)
        if (y->src && y->field == r->fk[0])
            return true;
    return false;
}

/* Whether the object already has a pre-delete UPDATE of r's key. */
static bool has_pre_delete_sync(const cr_instance *in, const cr_relationship *r)
{
    for (const fk_sync *y = in->note ? in->note->syncs : NULL; y; y = y->next)
        if (y->field == r->fk[0] && y->post && !y->src)
            return true;
    return false;
}

/* Whether r's back side speaks for the pair of a many-to-many in the plan:
 * the side whose model, then relationship, is named first — the same on
 * every run, as the plan and its SQL are (not the side first in memory). */
static bool back_speaks(const cr_relationship *r)
{
    if (!r->back)
        return false;
    int c = strcmp(r->back->parent->name, r->parent->name);
    return c < 0 || (c == 0 && strcmp(r->back->name, r->name) < 0);
}

static cr_status add_assoc(cr_session *s, flush_plan *p, const cr_relationship *r,
                           cr_instance *a, cr_instance *b, step_kind kind, bool remote)
{
    /* Both sides of a many-to-many see the same change: one side speaks
     * for the pair. */
    const cr_instance *holder = a;
    if (b && back_speaks(r)) {
        cr_instance *t = a;
        a = b;
        b = t;
        r = r->back;
    }
    if (!grow(&p->assoc, p->nassoc, &p->capassoc, sizeof *p->assoc))
        return cr_error_oom(&s->err);
    p->assoc[p->nassoc++] = (assoc_op){r, a, b, kind, remote, holder};
    return CR_OK;
}

static bool same_assoc(const assoc_op *x, const assoc_op *y)
{
    return x->r == y->r && x->a == y->a && x->b == y->b && x->kind == y->kind &&
           x->remote == y->remote;
}

static int compare_assoc(const void *a, const void *b)
{
    const assoc_op *x = a, *y = b;
    if (x->kind != y->kind)
        return (int)x->kind - (int)y->kind;
    if (x->r != y->r)
        return x->r < y->r ? -1 : 1;
    if (x->a != y->a)
        return x->a->order < y->a->order ? -1 : x->a->order > y->a->order ? 1
               : x->a < y->a ? -1 : 1;
    if (x->b != y->b)
        return !x->b ? -1 : !y->b ? 1 : x->b->order < y->b->order ? -1
               : x->b->order > y->b->order ? 1 : x->b < y->b ? -1 : 1;
    return (int)x->remote - (int)y->remote;
}

static void mark_orphan(cr_instance *child)
{
    if (child->marked_delete || child->state != CR_INST_PERSISTENT)
        return;
    child->marked_delete = true;
    child->orphaned = true;
}

/* A related object expunged or made transient, and no call
 * since put back: the link to it is not written, nor its removal, as
 * SQLAlchemy's flush does not proceed with an object not in the session. */
static bool kept_out(const cr_session *s, const cr_instance *t)
{
    return t && t->kept_out && t->session != s;
}

/* A related object must be of the target model and of this session. */
static cr_status check_member(cr_session *s, const cr_relationship *r, const cr_instance *t)
{
    if (!t)
        return cr_session_fail(s, CR_ERR_UNMAPPED_INSTANCE, "relationship %s.%s holds something "
                               "that is not an object of a mapped model", r->parent->name,
                               r->name);
    if (t->mapper != r->target)
        return cr_session_fail(s, CR_ERR_ARGUMENT, "relationship %s.%s holds a %s object where "
                               "%s objects belong", r->parent->name, r->name, t->mapper->name,
                               r->target->name);
    if (t->session != s)
        return cr_session_fail(s, CR_ERR_INVALID_REQUEST, "relationship %s.%s holds a %s object "
                               "that is not in this session (it is %s; cascade save-update "
                               "is off?)", r->parent->name, r->name, t->mapper->name,
                               cr_object_state_name(cr_object_state_of(t->obj)));
    return CR_OK;
}

/* A child taken out of a relationship: its key becomes NULL, or it is
 * deleted, unless the flush gives it another parent. */
typedef struct orphan {
    cr_instance *in;
    const cr_relationship *r;
} orphan;

typedef struct orphans {
    orphan *items;
    size_t n, cap;
} orphans;

static cr_status push_orphan(cr_session *s, orphans *o, cr_instance *in,
                             const cr_relationship *r)
{
    if (!grow(&o->items, o->n, &o->cap, sizeof *o->items))
        return cr_error_oom(&s->err);
    o->items[o->n++] = (orphan){in, r};
    return CR_OK;
}

/* What one relationship of a saved object asks: foreign keys to set,
 * association rows, orphans (collected in *orph). */
static cr_status rel_saves(cr_session *s, flush_plan *p, cr_instance *in, cr_relationship *r,
                           orphans *orph)
{
    cr_relstate *rs = cr_relstate_of(in, r->index);
    bool pending = in->state == CR_INST_PENDING;
    cr_status st = CR_OK;
    if (!r->many) {
        void *now = *cr_rel_ref(in, r), *was = *cr_rel_snap_ref(in, r);
        if (!pending && now == was)
            return CR_OK;
        if (pending && !now && !was && !rs->given)
            return CR_OK;   /* never set: a key given by hand stays; set NULL: cleared */
        cr_instance *t = now ? cr_instance_of(now) : NULL;
        if (kept_out(s, t))
            return CR_OK;
        if (now && (st = check_member(s, r, t)))
            return st;
        if (r->kind == CR_REL_MANY_TO_ONE) {
            /* delete-orphan: the object let go of is deleted, unless
             * another parent holds it when the orphans are resolved */
            if (!pending && was && was != now && cr_rel_orphans_target(r) &&
                (st = push_orphan(s, orph, cr_instance_of(was), r)))
                return st;
            return add_sync(s, p, in, r, t);
        }
        /* one-to-one from the side without the key */
        if (t && (st = add_sync(s, p, t, r, in)))
            return st;
        cr_instance *old = was && !pending ? cr_instance_of(was) : NULL;
        return old && old != t ? push_orphan(s, orph, old, r) : CR_OK;
    }
    if (!pending && !rs->changed)
        return CR_OK;
    cr_collection *c = cr_rel_coll(in, r);
    for (size_t i = 0; i < c->count && !st; i++) {
        if (!pending && cr_ptr_in(rs->orig, rs->norig, c->items[i]))
            continue;
        cr_instance *t = cr_instance_of(c->items[i]);
        if (kept_out(s, t))
            continue;
        if ((st = check_member(s, r, t)))
            break;
        if (t->state == CR_INST_DELETED)
            continue;   /* its row is gone: nothing to link (SQLAlchemy skips it too) */
        st = r->kind == CR_REL_MANY_TO_MANY ? add_assoc(s, p, r, in, t, STEP_ASSOC_INSERT, false)
                                            : add_sync(s, p, t, r, in);
    }
    for (size_t i = 0; !pending && i < rs->norig && !st; i++) {
        if (cr_ptr_in(c->items, c->count, rs->orig[i]))
            continue;
        cr_instance *t = cr_instance_of(rs->orig[i]);
        if (!t || kept_out(s, t))
            continue;
        if (r->kind == CR_REL_MANY_TO_MANY) {
            st = add_assoc(s, p, r, in, t, STEP_ASSOC_DELETE, false);
            if (!st && cr_rel_orphans_target(r))
                st = push_orphan(s, orph, t, r);
            continue;
        }
        st = push_orphan(s, orph, t, r);
    }
    return st;
}

/* A deleted object's collection r (its i-th), loaded unless it is or
 * passive_deletes says the database takes care: SQLAlchemy reads it to know
 * the rows the delete touches, and it stays loaded on the object. No
 * autoflush: this is the flush. */
static cr_status load_for_delete(cr_session *s, cr_instance *in, cr_relationship *r, size_t i)
{
    if (cr_relstate_of(in, i)->loaded || r->passive_deletes)
        return CR_OK;
    bool af = s->autoflush;
    s->autoflush = false;
    cr_status st = cr_rel_load(s, in, r);
    s->autoflush = af;
    return st;
}

/* Every association table row of a deleted object (its own collections
 * loaded first, as SQLAlchemy does; the rows go by its key all the same). */
static cr_status rel_clear_assoc(cr_session *s, flush_plan *p, cr_instance *in)
{
    cr_metadata *md = in->mapper->table->md;
    cr_status st = CR_OK;
    for (size_t i = 0; i < in->mapper->nrels && !st; i++) {
        cr_relationship *r = in->mapper->rels[i];
        if (!r->resolved || r->kind != CR_REL_MANY_TO_MANY || r->viewonly)
            continue;
        if ((st = load_for_delete(s, in, r, i)))
            break;
        /* The two sides of a pair clear the same rows: always through the
         * one that speaks for the pair, so that the plan's duplicates meet. */
        st = back_speaks(r) ? add_assoc(s, p, r->back, in, NULL, STEP_ASSOC_CLEAR, true)
                            : add_assoc(s, p, r, in, NULL, STEP_ASSOC_CLEAR, false);
    }
    /* many-to-many of other models onto this one, declared on their side only */
    for (size_t t = 0; t < md->ntables && !st; t++) {
        const cr_mapper *m = cr_table_mapper(md->tables[t]);
        for (size_t i = 0; m && i < m->nrels && !st; i++) {
            const cr_relationship *r = m->rels[i];
            if (r->resolved && r->kind == CR_REL_MANY_TO_MANY && r->target == in->mapper &&
                !r->back && !r->viewonly)
                st = add_assoc(s, p, r, in, NULL, STEP_ASSOC_CLEAR, true);
        }
    }
    return st;
}

/* Before the DELETEs, an UPDATE sets NULL the foreign key of r that the
 * row of `holder` (being deleted) has: SQLAlchemy's pre-update of a
 * post_update relationship, so that the rows of a cycle may go in any
 * order. */
static cr_status add_pre_delete_sync(cr_session *s, flush_plan *p, cr_instance *holder,
                                     const cr_relationship *r)
{
    bool refers = false;
    for (size_t k = 0; k < r->nkeys && !refers; k++)
        refers = cr_snap_value(holder, r->fk[k]).type != CR_NULL;
    return refers ? push_syncs(s, p, holder, r, NULL, true) : CR_OK;
}

/* The pre-updates a deleted object asks: its own key of a post_update
 * many-to-one, and the keys of its loaded children deleted with it through
 * a post_update one-to-many (children that stay lose their key by an
 * UPDATE of rel_deletes). */
static cr_status rel_pre_delete_updates(cr_session *s, flush_plan *p, cr_instance *in)
{
    cr_status st = CR_OK;
    for (size_t i = 0; i < in->mapper->nrels && !st; i++) {
        const cr_relationship *r = in->mapper->rels[i];
        if (!r->resolved || !r->post_update || r->viewonly)
            continue;
        if (r->kind == CR_REL_MANY_TO_ONE) {
            if (!has_pre_delete_sync(in, r))
                st = add_pre_delete_sync(s, p, in, r);
            continue;
        }
        if (r->kind != CR_REL_ONE_TO_MANY || !cr_relstate_of(in, i)->loaded)
            continue;
        void **items, *one;
        size_t n = cr_rel_members(in, r, &items, &one);
        for (size_t k = 0; k < n && !st; k++) {
            cr_instance *t = cr_instance_of(items[k]);
            if (t && t->session == s && t->marked_delete && t->state == CR_INST_PERSISTENT &&
                !has_pre_delete_sync(t, r))
                st = add_pre_delete_sync(s, p, t, r);
        }
    }
    return st;
}

/* A deleted object's one-to-many children without a delete cascade lose
 * their foreign key (loaded first unless passive_deletes). */
static cr_status rel_deletes(cr_session *s, flush_plan *p, cr_instance *in)
{
    cr_status st = rel_clear_assoc(s, p, in);
    if (!st)
        st = rel_pre_delete_updates(s, p, in);
    for (size_t i = 0; i < in->mapper->nrels && !st; i++) {
        cr_relationship *r = in->mapper->rels[i];
        if (!r->resolved || r->kind != CR_REL_ONE_TO_MANY || r->viewonly ||
            (r->cascade & CR_CASCADE_DELETE))
            continue;
        if ((st = load_for_delete(s, in, r, i)))
            return st;
        if (!cr_relstate_of(in, i)->loaded)
            continue;   /* passive_deletes */
        void **items, *one;
        size_t n = cr_rel_members(in, r, &items, &one);
        for (size_t k = 0; k < n && !st; k++) {
            cr_instance *t = cr_instance_of(items[k]);
            if (t && t->session == s && !t->marked_delete && t->state == CR_INST_PERSISTENT &&
                !has_parent_sync(t, r))
                st = add_sync(s, p, t, r, NULL);
        }
    }
    return st;
}

/* Bring the loaded other side of a plain pointer assignment in step. */
static cr_status rel_backrefs(cr_instance *in)
{
    for (size_t i = 0; i < in->mapper->nrels; i++) {
        const cr_relationship *r = in->mapper->rels[i];
        if (r->many || !r->back || !r->resolved)
            continue;
        void *now = *cr_rel_ref(in, r), *was = *cr_rel_snap_ref(in, r);
        if (now == was)
            continue;
        if (!r->back->many)
            continue;
        cr_instance *old = was ? cr_instance_of(was) : NULL;
        cr_instance *t = now ? cr_instance_of(now) : NULL;
        /* An object of another session is refused later, untouched. */
        if (t && t->session && t->session != in->session)
            continue;
        if (old && old->mapper == r->target)
            cr_rel_back_link(old, r, in, false);
        if (t && t->mapper == r->target && cr_rel_back_link(t, r, in, true))
            return CR_ERR_NO_MEMORY;
    }
    return CR_OK;
}

bool cr_instance_rel_changed(const cr_instance *in)
{
    for (size_t i = 0; i < in->mapper->nrels; i++) {
        const cr_relationship *r = in->mapper->rels[i];
        if (r->many ? cr_relstate_of(in, i)->changed
                    : *cr_rel_ref(in, r) != *cr_rel_snap_ref(in, r))
            return true;
    }
    return false;
}

/* Whether an object's relationships may ask the flush for anything. */
static bool rel_touched(const cr_instance *in)
{
    return in->state == CR_INST_PENDING || in->marked_delete || cr_instance_rel_changed(in);
}

/* The new objects in the delete-cascade relationships of an object to be
 * deleted leave the session: there is no row of theirs to delete, and their
 * INSERT would refer to the row being deleted. cr_session_delete's cascade
 * takes out those it meets; these came after it. */
static void take_out_new_children(cr_session *s, cr_instance *in)
{
    for (size_t i = 0; i < in->mapper->nrels; i++) {
        const cr_relationship *r = in->mapper->rels[i];
        if (!(r->cascade & CR_CASCADE_DELETE) || !cr_relstate_of(in, i)->loaded)
            continue;
        void **items, *one;
        size_t n = cr_rel_members(in, r, &items, &one);
        for (size_t k = 0; k < n; k++) {
            cr_instance *t = cr_instance_of(items[k]);
            if (t && t->session == s && t->state == CR_INST_PENDING && !t->marked_delete)
                cr_session_take_out(s, t);
        }
    }
}

/* One object held through a single_parent many-to-one or many-to-many, by
 * whom, and whether that is new since the holder was loaded or flushed. */
typedef struct held_by {
    const cr_relationship *r;
    const void *target;
    const cr_instance *holder;
    bool changed;
} held_by;

/* Every such hold of a flush's objects, sorted by relationship and target. */
typedef struct held_index {
    held_by *items;
    size_t n;
} held_index;

static int held_by_cmp(const void *a, const void *b)
{
    const held_by *x = a, *y = b;
    uintptr_t xr = (uintptr_t)x->r, yr = (uintptr_t)y->r;
    uintptr_t xt = (uintptr_t)x->target, yt = (uintptr_t)y->target;
    return xr != yr ? (xr < yr ? -1 : 1) : xt != yt ? (xt < yt ? -1 : 1) : 0;
}

/* single_parent relationships of the session's objects (many-to-ones and
 * many-to-many collections), indexed into *h: no object held by two
 * through the same relationship where one of them is a change (rows loaded
 * that way are the database's business, as SQLAlchemy checks only what the
 * program sets). The calls refuse that as they are made; plain assignments
 * (owner->pet = pet) are checked here, sorted, so that a big flush stays
 * O(n log n). The orphans of a many-to-one or a many-to-many with
 * delete-orphan (single_parent) look their parent up in the index. */
static cr_status index_single_parents(cr_session *s, held_index *h)
{
    held_by *held = NULL;
    size_t n = 0, cap = 0;
    cr_status st = CR_OK;
    for (cr_instance *in = s->head; in && !st; in = in->next) {
        if (in->session != s || in->marked_delete || in->state == CR_INST_DELETED)
            continue;
        for (size_t i = 0; i < in->mapper->nrels && !st; i++) {
            const cr_relationship *r = in->mapper->rels[i];
            if (!r->single_parent || r->kind == CR_REL_ONE_TO_MANY)
                continue;
            void **items, *one;
            size_t k = cr_rel_members(in, r, &items, &one);
            const cr_relstate *rs = cr_relstate_of(in, r->index);
            for (size_t j = 0; j < k; j++) {
                if (!grow(&held, n, &cap, sizeof *held)) {
                    st = cr_error_oom(&s->err);
                    break;
                }
                bool changed = in->state == CR_INST_PENDING ||
                               (r->many ? !cr_ptr_in(rs->orig, rs->norig, items[j])
                                        : *cr_rel_snap_ref(in, r) != items[j]);
                held[n++] = (held_by){r, items[j], in, changed};
            }
        }
    }
    if (!st && n > 1)
        qsort(held, n, sizeof *held, held_by_cmp);
    for (size_t i = 1; i < n && !st; i++) {
        if (held_by_cmp(&held[i - 1], &held[i]) != 0 || !(held[i - 1].changed || held[i].changed))
            continue;
        const cr_relationship *r = held[i].r;
        st = cr_session_fail(s, CR_ERR_INVALID_REQUEST, "relationship %s.%s: a %s object is "
                             "held by two %s objects, and is only allowed a single parent",
                             r->parent->name, r->name, r->target->name, r->parent->name);
    }
    if (st) {
        cr_free(held);
        return st;
    }
    h->items = held;
    h->n = n;
    return CR_OK;
}

/* Whether an object not deleted holds target through r (in the index). */
static bool held_by_live(const held_index *h, const cr_relationship *r, const void *target)
{
    held_by key = {r, target, NULL, false};
    const held_by *e = h->n ? bsearch(&key, h->items, h->n, sizeof key, held_by_cmp) : NULL;
    if (!e)
        return false;
    while (e > h->items && held_by_cmp(e - 1, &key) == 0)
        e--;
    for (; e < h->items + h->n && held_by_cmp(e, &key) == 0; e++)
        if (!e->holder->marked_delete)
            return true;
    return false;
}

/* Everything the relationships ask of this flush, before its plan: the
 * save-update cascade, foreign keys to set, association rows, orphans,
 * children of deleted objects. */
static cr_status rel_prepare(cr_session *s, flush_plan *p)
{
    cr_status st = CR_OK;
    for (cr_instance *in = s->head; in; in = in->next) {
        if (in->session != s || !in->mapper->nrels)
            continue;
        p->rels = true;
        if (in->marked_delete)
            take_out_new_children(s, in);
    }
    if (!p->rels)
        return CR_OK;
    /* Resolve, cascade in what is reachable, and fix loaded back sides of
     * plain assignments; the list grows as objects are added. */
    for (cr_instance *in = s->head; in && !st; in = in->next) {
        if (in->session != s || !in->mapper->nrels || !rel_touched(in))
            continue;
        for (size_t i = 0; i < in->mapper->nrels && !st; i++)
            st = cr_rel_ready(in->mapper->rels[i], &s->err);
        /* A deleted object cascades nothing, as below it saves nothing. */
        if (!st && !in->marked_delete && in->state != CR_INST_DELETED) {
            if (rel_backrefs(in))
                return cr_error_oom(&s->err);
            st = cr_rel_flush_cascade_add(s, in);
        }
    }
    held_index held = {NULL, 0};
    if (!st)
        st = index_single_parents(s, &held);
    orphans orph = {NULL, 0, 0};
    for (cr_instance *in = s->head; in && !st; in = in->next) {
        /* A deleted object's relationships save nothing: its row is gone. */
        if (in->session != s || !in->mapper->nrels || in->marked_delete ||
            in->state == CR_INST_DELETED || !rel_touched(in))
            continue;
        for (size_t i = 0; i < in->mapper->nrels && !st; i++)
            if (!in->mapper->rels[i]->viewonly)
                st = rel_saves(s, p, in, in->mapper->rels[i], &orph);
    }
    /* A child taken from one parent and given to another keeps the new one. */
    for (size_t i = 0; i < orph.n && !st; i++) {
        cr_instance *t = orph.items[i].in;
        const cr_relationship *r = orph.items[i].r;
        if (t->session != s || t->marked_delete ||
            (r->kind != CR_REL_ONE_TO_MANY ? held_by_live(&held, r, t->obj)
                                           : has_parent_sync(t, r)))
            continue;
        if (r->cascade & CR_CASCADE_DELETE_ORPHAN) {
            if (t->state == CR_INST_PENDING)
                cr_session_take_out(s, t);
            else {
                mark_orphan(t);
                st = cr_rel_cascade_delete(s, t, true);
            }
        } else if (t->state == CR_INST_PERSISTENT) {
            st = add_sync(s, p, t, r, NULL);
        }
    }
    cr_free(orph.items);
    cr_free(held.items);
    /* A persistent child a new parent let go of (in->left_parent), with no
     * parent now: an orphan too. */
    for (cr_instance *in = s->head; in && !st; in = in->next) {
        const cr_relationship *r = in->left_parent;
        if (!r || in->session != s || in->state != CR_INST_PERSISTENT || in->marked_delete ||
            !r->back || *cr_rel_ref(in, r->back) || has_parent_sync(in, r))
            continue;
        mark_orphan(in);
        st = cr_rel_cascade_delete(s, in, true);
    }
    for (cr_instance *in = s->head; in && !st; in = in->next)
        if (in->session == s && in->marked_delete && in->mapper->nrels)
            st = rel_deletes(s, p, in);
    /* A row added to the collection of an object this flush deletes (an
     * orphan found after its collections were read, say) is not inserted:
     * its rows go with it. A row whose other end is deleted is, as
     * SQLAlchemy inserts it: the DELETE of that end then fails on the
     * foreign key, where the database enforces it, rather than the link the
     * program made being dropped unseen. */
    size_t kept = 0;
    for (size_t i = 0; i < p->nassoc; i++) {
        const assoc_op *a = &p->assoc[i];
        if (a->kind == STEP_ASSOC_INSERT && a->holder->marked_delete)
            continue;
        p->assoc[kept++] = *a;
    }
    p->nassoc = kept;
    if (!st && p->nassoc > 1) {
        qsort(p->assoc, p->nassoc, sizeof *p->assoc, compare_assoc);
        size_t w = 1;
        for (size_t i = 1; i < p->nassoc; i++)
            if (!same_assoc(&p->assoc[i], &p->assoc[w - 1]))
                p->assoc[w++] = p->assoc[i];
        p->nassoc = w;
    }
    return st;
}

/* The fields of a child the flush sets (post_update ones aside). */
static uint64_t sync_fields(const cr_instance *in)
{
    uint64_t mask = 0;
    for (const fk_sync *y = in->note ? in->note->syncs : NULL; y; y = y->next)
        if (!y->post)
            mask |= UINT64_C(1) << y->field;
    return mask;
}

/* The sync fields of a persistent object whose value changes. */
static uint64_t sync_changes(const cr_instance *in)
{
    uint64_t mask = 0;
    for (const fk_sync *y = in->note ? in->note->syncs : NULL; y; y = y->next) {
        if (y->post)
            continue;
        cr_value now = cr_field_value(in, y->field);
        if (y->src && y->src->state == CR_INST_PENDING) {
            mask |= UINT64_C(1) << y->field;
            continue;
        }
        cr_value v = y->src ? cr_field_value(y->src, y->src_field) : cr_val_null();
        if (!cr_value_same(&now, &v))
            mask |= UINT64_C(1) << y->field;
    }
    return mask;
}

static bool has_post_syncs(const cr_instance *in)
{
    for (const fk_sync *y = in->note ? in->note->syncs : NULL; y; y = y->next)
        if (y->post)
            return true;
    return false;
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
           : it->in->state == CR_INST_PENDING && !it->switched ? STEP_INSERT : STEP_UPDATE;
}

/* The object whose snapshot has the row's key and version: for a row
 * switch, the deleted one's. */
static const cr_instance *row_owner(const flush_item *it)
{
    return it->switched ? it->switched : it->in;
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

/* Whether the item takes a key from an object of the step (a row of one
 * INSERT cannot refer to another row of it: its key is not known yet). */
static bool depends_on_step(const flush_plan *p, const flush_item *it, const flush_step *step)
{
    for (const fk_sync *y = it->in->note ? it->in->note->syncs : NULL; y; y = y->next) {
        const struct flush_note *n = y->src ? y->src->note : NULL;
        if (n && n->item >= step->first && n->item < step->first + step->n &&
            p->items[n->item].in == y->src)
            return true;
    }
    return false;
}

static cr_status push_step(cr_session *s, flush_plan *p, step_kind kind, size_t first)
{
    const flush_item *it = &p->items[first];
    flush_step *last = p->nsteps ? &p->steps[p->nsteps - 1] : NULL;
    if (last && last->kind == kind && last->m == it->in->mapper && last->cols == it->cols &&
        last->first + last->n == first && !(p->rels && depends_on_step(p, it, last))) {
        last->n++;
        return CR_OK;
    }
    if (!grow(&p->steps, p->nsteps, &p->capsteps, sizeof *p->steps))
        return cr_error_oom(&s->err);
    p->steps[p->nsteps++] = (flush_step){kind, it->in->mapper, NULL, it->cols, first, 1};
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

/* The key a new object's INSERT would give, as far as the plan knows it
 * (a field set from a related object's key reads that object's): false
 * when a part is not known before the flush runs (generated). */
static bool planned_key(const cr_instance *in, cr_value *key)
{
    const cr_mapper *m = in->mapper;
    for (size_t k = 0; k < m->npk; k++) {
        key[k] = cr_field_value(in, m->pk[k]);
        for (const fk_sync *y = in->note ? in->note->syncs : NULL; y; y = y->next)
            if (y->field == m->pk[k] && !y->post)
                key[k] = y->src && (y->src->state == CR_INST_PERSISTENT ||
                                    y->src->state == CR_INST_PENDING)
                             ? cr_field_value(y->src, y->src_field) : cr_val_null();
        if (key[k].type == CR_NULL)
            return false;
    }
    return true;
}

/* A new object given the key of an object this flush deletes takes over
 * its row (SQLAlchemy's row switch): the flush UPDATEs the row to the new
 * object and sends no DELETE, where an INSERT would meet the row still
 * there. One new object per deleted one: a second keeps its INSERT, and
 * the check of duplicate keys refuses the pair. */
static void find_row_switch(cr_session *s, flush_plan *p, flush_item *it)
{
    const cr_mapper *m = it->in->mapper;
    cr_value key[64];
    if (!planned_key(it->in, key))
        return;
    cr_instance *gone = cr_map_find(s, m, key, cr_key_hash(key, m->npk));
    if (!gone || gone == it->in || !gone->marked_delete)
        return;
    for (size_t j = 0; j < p->nitems; j++)
        if (p->items[j].in == gone && !p->items[j].listonly) {
            p->items[j].listonly = true;
            it->switched = gone;
            return;
        }
}

/* Whether a new object's key is known before its statement runs: it takes
 * over a deleted object's row. */
static bool key_known(const flush_plan *p, const cr_instance *in)
{
    const struct flush_note *n = in->note;
    return n && n->item < p->nitems && p->items[n->item].in == in && p->items[n->item].switched;
}

static bool is_key_field(const cr_mapper *m, size_t f)
{
    for (size_t k = 0; k < m->npk; k++)
        if (m->pk[k] == f)
            return true;
    return false;
}

/* The fields a row switch's UPDATE sets, as SQLAlchemy's: those the
 * program gave the new object (changed since cr_new made it) and those set
 * from a related object's key, never the key. The others keep the row's
 * values, which the object takes from the deleted one as last loaded
 * (client defaults are an INSERT's); the UPDATE then sets the version, and
 * the onupdate defaults of columns it does not set. */
static cr_status switch_fields(cr_session *s, flush_plan *p, flush_item *it)
{
    const cr_mapper *m = it->in->mapper;
    uint64_t given = changed_fields(it->in) | (it->in->note ? sync_fields(it->in) : 0);
    cr_status st = CR_OK;
    for (size_t i = 0; i < m->nfields && !st; i++) {
        if (is_key_field(m, i))
            continue;
        if (given >> i & 1 && (int)i != m->version)
            it->cols |= UINT64_C(1) << i;
        else
            st = keep_value(s, p, it, i, cr_snap_value(it->switched, i));
    }
    return st;
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
    /* A parent the flush is inserting is found through the relationship:
     * its key is not known yet. */
    for (const fk_sync *y = run[i].in->note ? run[i].in->note->syncs : NULL;
         y && !deleting; y = y->next)
        if (y->field == fk && y->src && y->src->note && y->src->note->item < n &&
            run[y->src->note->item].in == y->src) {
            if (!y->post && y->src->note->item != i)
                visit(run, byhash, n, pk, fk, deleting, y->src->note->item, mark, out, nout);
            out[(*nout)++] = run[i];
            return;
        }
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
        if (run[i].in->note)
            run[i].in->note->item = i;   /* its place in the run, for visit */
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
        if (!cr_field_key(in, key))
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

/* The post_update syncs of the plan's objects, in plan order. */
static cr_status collect_posts(cr_session *s, flush_plan *p)
{
    for (size_t i = 0; i < p->nitems; i++) {
        cr_instance *in = p->items[i].in;
        if (p->items[i].listonly)
            continue;   /* its row is the new object's */
        for (fk_sync *y = in->note ? in->note->syncs : NULL; y; y = y->next) {
            if (!y->post || (in->marked_delete && y->src))
                continue;
            /* both sides of a pair may ask for the same key: one UPDATE */
            bool dup = false;
            for (size_t j = p->nposts; j > 0 && p->posts[j - 1].in == in && !dup; j--)
                dup = p->posts[j - 1].y->field == y->field;
            if (dup)
                continue;
            if (!grow(&p->posts, p->nposts, &p->capposts, sizeof *p->posts))
                return cr_error_oom(&s->err);
            p->posts[p->nposts++] = (struct post_sync){y, in};
        }
    }
    return CR_OK;
}

static cr_status push_rel_step(cr_session *s, flush_plan *p, step_kind kind,
                               const cr_relationship *r, const cr_mapper *m, size_t first)
{
    if (!grow(&p->steps, p->nsteps, &p->capsteps, sizeof *p->steps))
        return cr_error_oom(&s->err);
    p->steps[p->nsteps] = (flush_step){kind, m, r, 0, first, 1};
    p->nsteps++;
    return CR_OK;
}

/* Steps between the saves and the deletes: post-updates, association rows
 * deleted, then inserted. */
static cr_status push_middle_steps(cr_session *s, flush_plan *p)
{
    cr_status st = CR_OK;
    for (size_t i = 0; i < p->nposts && !st; i++) {
        flush_step *last = p->nsteps ? &p->steps[p->nsteps - 1] : NULL;
        if (last && last->kind == STEP_POST_UPDATE && last->rel == p->posts[i].y->r)
            last->n++;
        else
            st = push_rel_step(s, p, STEP_POST_UPDATE, p->posts[i].y->r, p->posts[i].in->mapper, i);
    }
    static const step_kind order[] = {STEP_ASSOC_DELETE, STEP_ASSOC_CLEAR, STEP_ASSOC_INSERT};
    for (size_t o = 0; o < CR_ARRAY_LEN(order) && !st; o++)
        for (size_t i = 0; i < p->nassoc && !st; i++) {
            const assoc_op *a = &p->assoc[i];
            if (a->kind != order[o])
                continue;
            flush_step *last = p->nsteps ? &p->steps[p->nsteps - 1] : NULL;
            if (last && last->kind == a->kind && last->rel == a->r && a->kind != STEP_ASSOC_CLEAR &&
                last->first + last->n == i)
                last->n++;
            else
                st = push_rel_step(s, p, a->kind, a->r, NULL, i);
        }
    return st;
}

static cr_status circular_fail(cr_session *s, const cr_instance *child, const fk_sync *y)
{
    cr_buf b;
    cr_buf_init(&b);
    cr_describe(child, &b);
    cr_status st = cr_session_fail(s, CR_ERR_FLUSH, "Circular dependency: %s needs the key of a "
                                   "%s not inserted yet through relationship %s.%s; break the "
                                   "cycle with post_update", cr_buf_cstr(&b) ? cr_buf_cstr(&b) : "?",
                                   y->src->mapper->name, y->r->parent->name, y->r->name);
    cr_buf_free(&b);
    return st;
}

/* Every key taken from an object being inserted is taken by a step after
 * that object's INSERT: a cycle of rows without post_update is refused
 * before anything is sent (SQLAlchemy's CircularDependencyError). */
static cr_status check_order(cr_session *s, flush_plan *p)
{
    size_t *step_of = cr_malloc((p->nitems ? p->nitems : 1) * sizeof *step_of);
    if (!step_of)
        return cr_error_oom(&s->err);
    for (size_t k = 0; k < p->nsteps; k++)
        for (size_t j = 0; item_step(p->steps[k].kind) && j < p->steps[k].n; j++)
            step_of[p->steps[k].first + j] = k;
    cr_status st = CR_OK;
    for (size_t i = 0; i < p->nitems && !st; i++) {
        const cr_instance *in = p->items[i].in;
        if (in->marked_delete)
            continue;
        for (const fk_sync *y = in->note ? in->note->syncs : NULL; y && !st; y = y->next) {
            if (y->post || !y->src || y->src->state != CR_INST_PENDING || key_known(p, y->src))
                continue;
            const struct flush_note *n = y->src->note;
            bool before = n && n->item < p->nitems && p->items[n->item].in == y->src &&
                          step_of[n->item] < step_of[i];
            if (!before)
                st = circular_fail(s, in, y);
        }
    }
    cr_free(step_of);
    return st;
}

/* Whether a flush writes the persistent object: the fields it changes
 * into *cols (a sync's included), or post_update keys it sets. */
static bool will_update(const cr_instance *in, uint64_t *cols)
{
    uint64_t changed = changed_fields(in);
    if (in->note)
        changed |= sync_changes(in);
    *cols = changed;
    return changed || (in->note && has_post_syncs(in));
}

/* ---- mapper events ---- */

/* Call the listeners of the item's event, before its statement or after,
 * with the flush's connection (begun by fire_all). */
static cr_status fire(cr_session *s, flush_item *it, bool after)
{
    const cr_mapper *m = it->in->mapper;
    int ev = it->event + after;
    if (it->event < 0 || !(m->listen_mask >> ev & 1))
        return CR_OK;
    cr_status rc = cr_mapper_fire(s, it->in, (cr_mapper_event)ev);
    if (rc)
        return cr_mapper_listener_failed(s, it->in, (cr_mapper_event)ev, rc, "flush",
                                         CR_ERR_FLUSH);
    cr_error_clear(&s->err);   /* of a session call the listener was refused */
    /* What a before_update listener set is written too. */
    if (ev == CR_BEFORE_UPDATE && it->in->state == CR_INST_PERSISTENT)
        will_update(it->in, &it->cols);
    return CR_OK;
}

/* The listeners of every item of the plan, in its order: before the
 * statements (each item's event decided first) or after them. */
static cr_status fire_all(cr_session *s, flush_plan *p, bool after)
{
    for (size_t i = 0; i < p->nitems && !after; i++) {
        flush_item *it = &p->items[i];
        step_kind k = kind_of(it);
        it->event = it->listonly          ? -1
                    : k == STEP_INSERT    ? CR_BEFORE_INSERT
                    : k == STEP_UPDATE    ? CR_BEFORE_UPDATE
                                          : CR_BEFORE_DELETE;
    }
    cr_status st = cr_session_begin_for_write(s) ? s->err.cls : CR_OK;
    for (size_t i = 0; i < p->nitems && !st; i++)
        st = fire(s, &p->items[i], after);
    return st;
}

/* An expired object the flush updates, or one a relationship call set a
 * reference of (touched), is loaded first, as SQLAlchemy's flush loads
 * what it needs of an object with an attribute set (a SELECT before the
 * UPDATE): the fields set since the expiry are kept and written, the others
 * take the row's values, and the object is no longer expired. Read on the
 * primary, in the transaction the flush writes in (not a replica's); no
 * autoflush: this is the flush. */
static cr_status load_expired(cr_session *s, cr_instance *in)
{
    if (cr_session_begin_for_write(s))
        return s->err.cls;
    bool af = s->autoflush;
    s->autoflush = false;
    cr_status st = cr_instance_reload(s, in);
    s->autoflush = af;
    return st;
}

/* The flush's plan; listen: call the before listeners (a flush, not
 * cr_session_plan). */
static cr_status plan_build(cr_session *s, flush_plan *p, bool listen)
{
    memset(p, 0, sizeof *p);
    cr_arena_init(&p->arena, 8192);
    cr_status st = rel_prepare(s, p);
    for (cr_instance *in = s->head; in && !st; in = in->next) {
        if (in->session != s)
            continue;
        if (in->state == CR_INST_PENDING || in->marked_delete)
            st = push_item(s, p, in);
        else if (in->state == CR_INST_PERSISTENT) {
            uint64_t changed;
            bool update = will_update(in, &changed);
            if (listen && in->expired && (update || in->touched)) {
                if ((st = load_expired(s, in)))
                    break;
                update = will_update(in, &changed);
            }
            if (update && !(st = push_item(s, p, in)))
                p->items[p->nitems - 1].cols = changed;
        }
    }
    for (size_t i = 0; i < p->nitems && !st; i++)
        if (p->items[i].in->state == CR_INST_PENDING && !p->items[i].in->marked_delete)
            find_row_switch(s, p, &p->items[i]);
    if (st)
        return st;
    /* Objects come in the order they were added, which is often already
     * the plan's order (one mapper's new objects): no sort then. */
    bool sorted = true;
    for (size_t i = 1; i < p->nitems && sorted; i++)
        sorted = compare_items(&p->items[i - 1], &p->items[i]) <= 0;
    if (!sorted)
        qsort(p->items, p->nitems, sizeof *p->items, compare_items);
    if (!listen)
        p->listen_mask = 0;
    if (p->listen_mask && (st = fire_all(s, p, false)))
        return st;
    for (size_t i = 0; p->rels && i < p->nitems && !st; i++)
        if (!note_of(s, p, p->items[i].in))
            st = CR_ERR_NO_MEMORY;
    if (!st)
        st = order_self_references(s, p);
    for (size_t i = 0; p->rels && i < p->nitems && !st; i++) {
        struct flush_note *n = note_of(s, p, p->items[i].in);
        if (!n)
            st = CR_ERR_NO_MEMORY;
        else
            n->item = i;
    }
    if (!st && p->rels)
        st = collect_posts(s, p);
    bool middle = false;
    for (size_t i = 0; i < p->nitems && !st; i++) {
        flush_item *it = &p->items[i];
        step_kind kind = kind_of(it);
        it->kind = (unsigned char)kind;
        if (kind == STEP_DELETE && !middle) {
            middle = true;
            st = push_middle_steps(s, p);
            if (st)
                break;
        }
        if (it->listonly)
            continue;
        if (kind == STEP_INSERT) {
            p->ninserts++;
            st = insert_fields(s, p, it);
            if (!st)
                st = check_identity(s, it->in);
        } else if (it->switched) {
            p->ninserts++;   /* a new object all the same */
            st = switch_fields(s, p, it);
        } else if (kind == STEP_DELETE) {
            it->cols = 0;
        }
        if (!st)
            st = push_step(s, p, kind, i);
    }
    if (!st && !middle)
        st = push_middle_steps(s, p);
    if (!st && p->ninserts > 1)
        st = check_duplicate_keys(s, p);
    if (!st && p->rels)
        st = check_order(s, p);
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
    static const char *const verbs[] = {"INSERT", "UPDATE", "DELETE", "UPDATE", "DELETE",
                                        "DELETE", "INSERT"};
    cr_buf b;
    cr_buf_init(&b);
    for (size_t k = 0; k < p->nsteps; k++) {
        const flush_step *st = &p->steps[k];
        if (st->kind == STEP_POST_UPDATE) {
            cr_buf_printf(&b, "UPDATE %s (%s) %zu post-update\n", st->m->table->name,
                          st->m->fields[p->posts[st->first].y->field].col->name, st->n);
            continue;
        }
        if (!item_step(st->kind)) {
            cr_buf_printf(&b, "%s %s %zu%s\n", verbs[st->kind], st->rel->secondary->name, st->n,
                          st->kind == STEP_ASSOC_CLEAR ? " all" : "");
            continue;
        }
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

/* The objects the plan marked deleted as orphans: unmarked (undo), as they
 * were before it, or left deleted, the parents they left forgotten then. */
static void end_orphans(cr_session *s, bool undo)
{
    for (cr_instance *in = s->head; in; in = in->next) {
        if (in->orphaned) {
            in->orphaned = false;
            if (undo)
                in->marked_delete = false;
        }
        if (!undo)
            in->left_parent = NULL;
    }
}

/* Free a plan built only to be looked at: what building it marked is undone. */
static void plan_drop(cr_session *s, flush_plan *p)
{
    bool rels = p->rels;
    plan_free(p);
    if (rels)
        end_orphans(s, true);
}

char *cr_flush_describe(cr_session *s)
{
    flush_plan p;
    cr_status st = plan_build(s, &p, false);
    char *text = st ? NULL : plan_text(&p);
    if (!st && !text)
        cr_error_oom(&s->err);
    plan_drop(s, &p);   /* describing changes nothing */
    return text;
}

/* Whether a flush has anything to write: a plan that cannot be built
 * counts (a before_flush listener may mend it, a flush reports it). */
bool cr_flush_has_work(cr_session *s)
{
    flush_plan p;
    cr_status st = plan_build(s, &p, false);
    bool work = st != CR_OK || p.nitems > 0 || p.nsteps > 0;
    plan_drop(s, &p);
    cr_error_clear(&s->err);
    return work;
}

/* What the flush p wrote, in its order, as cr_session_objects lists it
 * inside an after_flush listener; NULL when out of memory. */
static cr_objects *flush_written(const flush_plan *p, cr_session_set which)
{
    cr_objects *list = cr_calloc(1, sizeof *list);
    size_t cap = 0;
    for (size_t i = 0; list && i < p->nitems; i++) {
        const flush_item *it = &p->items[i];
        bool made = it->kind == STEP_INSERT || (it->kind == STEP_UPDATE && it->switched);
        bool member = which == CR_SESSION_NEW       ? made
                      : which == CR_SESSION_DELETED ? it->kind == STEP_DELETE
                                                    : it->kind == STEP_UPDATE && !made;
        if (member && !cr_objects_push(list, &cap, it->in->obj))
            list = NULL;
    }
    return list;
}

/* ---- execution ---- */

/* The value field i of the item binds: what the flush computed, else the
 * field's. */
static cr_value item_value(const flush_item *it, size_t i)
{
    return it->post_mask >> i & 1 ? *item_post(it, i) : cr_field_value(it->in, i);
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

/* The key value of a related object now: what the flush gave it if it is
 * being inserted (its INSERT must have run), else its field. */
static cr_status source_value(cr_session *s, flush_plan *p, const fk_sync *y,
                              const cr_instance *child, cr_value *out)
{
    if (!y->src) {
        *out = cr_val_null();
        return CR_OK;
    }
    const struct flush_note *n = y->src->note;
    if (y->src->state == CR_INST_PENDING) {
        if (!n || n->item == SIZE_MAX || !(n->done || key_known(p, y->src)))
            return circular_fail(s, child, y);
        *out = item_value(&p->items[n->item], y->src_field);
        return CR_OK;
    }
    *out = cr_field_value(y->src, y->src_field);
    return CR_OK;
}

/* Keep the foreign keys the flush sets on the step's objects. */
static cr_status apply_syncs(cr_session *s, flush_plan *p, const flush_step *step)
{
    for (size_t k = 0; k < step->n; k++) {
        flush_item *it = &p->items[step->first + k];
        for (const fk_sync *y = it->in->note ? it->in->note->syncs : NULL; y; y = y->next) {
            if (y->post)
                continue;
            cr_value v;
            cr_status st = source_value(s, p, y, it->in, &v);
            if (!st)
                st = keep_value(s, p, it, y->field, v);
            if (st)
                return st;
        }
    }
    return CR_OK;
}

/* The INSERT a step runs for each batch of n of its objects: n rows of
 * placeholders for the step's columns, RETURNING what the objects fetch
 * back. Built once and run with every batch of that size, as SQLAlchemy's
 * flush runs one compiled INSERT for many objects: a batch costs its values,
 * not a statement built and keyed anew. */
typedef struct batch_insert {
    cr_stmt *q;
    cr_param *params;            /* n * the step's columns, then a NULL name  */
    char *names;                 /* the placeholders' names (batch_name)      */
    size_t n;
} batch_insert;

static void batch_insert_free(batch_insert *b)
{
    cr_stmt_free(b->q);
    cr_free(b->params);
    cr_free(b->names);
    *b = (batch_insert){0};
}

/* The name of the placeholder of column col in row `row` of a batch,
 * "price_12", which an error about its value then names; "p<k>" (k: the
 * placeholder's number) for a column named otherwise than a parameter may
 * be. Each name is one placeholder's: the digits after the last '_' are the
 * row, what comes before them the column. A column name of up to 64
 * characters leaves room for the row (up to 20 digits) within BATCH_NAME. */
#define BATCH_NAME 90   /* the longest name, NUL-ended */

static size_t batch_name(char *to, const char *col, size_t row, size_t k)
{
    bool plain = strlen(col) <= 64 && cr_is_param_name(col);
    int n = plain ? snprintf(to, BATCH_NAME, "%s_%zu", col, row)
                  : snprintf(to, BATCH_NAME, "p%zu", k);
    return (size_t)n + 1;
}

/* The INSERT of n rows of step, each of its ncols columns, fetching back
 * the fields fetch names. */
static cr_status batch_insert_build(cr_session *s, const flush_step *step, size_t n, size_t ncols,
                                    const size_t *fetch, size_t nfetch, batch_insert *b)
{
    const cr_mapper *m = step->m;
    b->n = n;
    b->q = cr_insert(m->table);
    b->params = cr_calloc(n * ncols + 1, sizeof *b->params);
    b->names = cr_malloc(n * ncols * BATCH_NAME + 1);
    if (!b->q || !b->params || !b->names)
        return cr_error_oom(&s->err);
    size_t k = 0;
    char *name = b->names;   /* one after another: what is touched is what is used */
    for (size_t row = 0; row < n; row++) {
        for (size_t i = 0; i < m->nfields; i++) {
            if (!(step->cols >> i & 1))
                continue;
            const char *pname = name;
            name += batch_name(name, m->fields[i].col->name, row, k);
            b->params[k++].name = pname;
            cr_set_expr(b->q, m->fields[i].col, cr_bindparam(b->q, pname));
        }
        if (step->cols)   /* else one row, of no columns: DEFAULT VALUES */
            cr_next_row(b->q);
    }
    const void *ret[65];
    for (size_t j = 0; j < nfetch; j++)
        ret[j] = m->fields[fetch[j]].col;
    ret[nfetch] = NULL;
    if (nfetch && s->engine->dialect->has_returning)
        cr_returning_items(b->q, ret);
    const cr_error *e = cr_stmt_error(b->q);
    if (e) {
        cr_error_copy(&s->err, e);
        return e->cls;
    }
    return CR_OK;
}

/* INSERT a batch of items sharing the step's columns through b (a statement
 * of as many rows), reading back what the database generated. */
static cr_status insert_batch(cr_session *s, flush_plan *p, const flush_step *step,
                              batch_insert *b, flush_item *items, const size_t *fetch,
                              size_t nfetch)
{
    const cr_mapper *m = step->m;
    size_t k = 0;
    for (size_t row = 0; row < b->n; row++)
        for (size_t i = 0; i < m->nfields; i++)
            if (step->cols >> i & 1)
                b->params[k++].value = item_value(&items[row], i);
    cr_result *r = cr_session_run_params(s, b->q, b->params);
    cr_status st = r ? CR_OK : s->err.cls;
    if (!st && nfetch && s->engine->dialect->has_returning) {
        st = read_returning(s, p, items, b->n, fetch, nfetch, r);
    } else if (!st && m->autoinc >= 0 && !(step->cols >> m->autoinc & 1)) {
        /* No RETURNING: one row per statement, its key from lastrowid. */
        const cr_row *pk = cr_result_inserted_primary_key(r);
        const cr_value *v = pk ? cr_row_value_at(pk, 0) : NULL;
        st = v ? keep_value(s, p, &items[0], (size_t)m->autoinc, *v)
               : cr_session_fail(s, CR_ERR_FLUSH, "INSERT into '%s': no generated key came back",
                                 m->table->name);
    }
    cr_result_free(r);
    return st;
}

static cr_status run_insert(cr_session *s, flush_plan *p, const flush_step *step)
{
    cr_status st = p->rels ? apply_syncs(s, p, step) : CR_OK;
    if (st)
        return st;
    const cr_mapper *m = step->m;
    const cr_dialect *d = s->engine->dialect;
    size_t ncols = 0, fetch[64], nfetch = 0;
    for (size_t i = 0; i < m->nfields; i++) {
        ncols += step->cols >> i & 1;
        if (!(step->cols >> i & 1) && ((int)i == m->autoinc || m->fields[i].col->server_default))
            fetch[nfetch++] = i;
    }
    size_t batch = d->max_params / (ncols ? ncols : 1);
    if (batch > 1000)
        batch = 1000;
    bool needs_key = m->autoinc >= 0 && !(step->cols >> m->autoinc & 1);
    /* A row of no columns is DEFAULT VALUES, which takes one row a
     * statement, as does a generated key without RETURNING. */
    if (batch == 0 || ncols == 0 || (!d->has_returning && needs_key))
        batch = 1;
    /* Every batch but the last is full: two statements at most. */
    batch_insert full = {0}, last = {0};
    for (size_t k = 0; k < step->n && !st; k += batch) {
        size_t n = step->n - k < batch ? step->n - k : batch;
        batch_insert *b = n == batch ? &full : &last;
        if (!b->q)
            st = batch_insert_build(s, step, n, ncols, fetch, nfetch, b);
        if (!st)
            st = insert_batch(s, p, step, b, &p->items[step->first + k], fetch, nfetch);
        for (size_t j = 0; !st && p->rels && j < n; j++)
            p->items[step->first + k + j].in->note->done = true;
    }
    batch_insert_free(&full);
    batch_insert_free(&last);
    return st;
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
    const cr_instance *row = row_owner(it);
    for (size_t k = 0; k < m->npk; k++)
        bind_to(q, m->fields[m->pk[k]].col, cr_snap_value(row, m->pk[k]), false);
    if (m->version >= 0)
        bind_to(q, m->fields[m->version].col, cr_snap_value(row, m->version), false);
}

/* Run the UPDATE or DELETE of one row. An UPDATE that matches no row is
 * StaleDataError, a DELETE only when the mapper has a version (SQLAlchemy
 * warns of the others: the row is gone, as asked). */
static cr_status run_one(cr_session *s, cr_stmt *q, const flush_item *it, const char *verb)
{
    cr_result *r = cr_session_run(s, q);
    cr_status st = r ? CR_OK : s->err.cls;
    if (!st && (verb[0] == 'U' || it->in->mapper->version >= 0)) {
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
        bind_to(q, it->in->mapper->fields[i].col, *item_post(it, i), true);
    return st;
}

/* UPDATE each object: its changed columns, the new version, and the
 * columns with an onupdate default that the program did not change. */
static cr_status run_update(cr_session *s, flush_plan *p, const flush_step *step)
{
    const cr_mapper *m = step->m;
    cr_status st0 = p->rels ? apply_syncs(s, p, step) : CR_OK;
    if (st0)
        return st0;
    for (size_t k = 0; k < step->n; k++) {
        flush_item *it = &p->items[step->first + k];
        if (!step->cols)
            continue;   /* only a post-update to do */
        cr_stmt *q = cr_update(m->table);
        cr_status st = q ? CR_OK : cr_error_oom(&s->err);
        for (size_t i = 0; !st && i < m->nfields; i++) {
            const struct cr_column *col = m->fields[i].col;
            if ((int)i == m->version)
                st = set_computed(s, p, it, q, i,
                                  cr_val_int(cr_snap_value(row_owner(it), i).v.i + 1));
            else if (step->cols >> i & 1)
                bind_to(q, m->fields[i].col, item_value(it, i), true);
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
 * (WHERE id IN (...)), a row already gone no error; else one statement a
 * row. */
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
        cr_result_free(r);
        cr_stmt_free(q);
        if (st)
            return st;
    }
    return CR_OK;
}

/* ---- settling ---- */

static void settle_deleted(cr_session *s, cr_instance *in)
{
    cr_map_remove(s, in);
    in->marked_delete = false;
    in->state = CR_INST_DELETED;
    in->delete_level = s->level;
}

static cr_status settle_item(cr_session *s, flush_item *it, step_kind kind)
{
    cr_instance *in = it->in;
    if (kind == STEP_DELETE) {
        settle_deleted(s, in);
        return CR_OK;
    }
    if (it->switched)
        settle_deleted(s, it->switched);   /* out of the map before in goes in */
    else if ((kind == STEP_UPDATE || kind == STEP_POST_UPDATE) &&
             in->state == CR_INST_PERSISTENT && cr_instance_save(in, s->level))
        return cr_error_oom(&s->err);   /* kept for a rollback: the row as found */
    for (const post_value *pv = it->post; pv; pv = pv->next)
        if (cr_field_store(in, pv->field, &pv->v))
            return cr_error_oom(&s->err);
    bool was_mapped = in->in_map;
    if (cr_snapshot_take(in))
        return cr_error_oom(&s->err);
    if (was_mapped)
        cr_map_remove(s, in);   /* its key may have changed */
    cr_map_insert(s, in);
    if (kind == STEP_INSERT || it->switched) {
        in->state = CR_INST_PERSISTENT;
        in->insert_level = s->level;
    }
    return CR_OK;
}

/* ---- relationship steps ---- */

static cr_status run_counted(cr_session *s, cr_stmt *q)
{
    cr_result *r = cr_session_run(s, q);
    cr_status st = r ? CR_OK : s->err.cls;
    cr_result_free(r);
    cr_stmt_free(q);
    return st;
}

/* UPDATE child SET fk = key of the object it refers to, after the INSERTs
 * (post_update). */
static cr_status run_post_update(cr_session *s, flush_plan *p, const flush_step *step)
{
    for (size_t k = 0; k < step->n; k++) {
        const fk_sync *y = p->posts[step->first + k].y;
        cr_instance *in = p->posts[step->first + k].in;
        flush_item *it = &p->items[in->note->item];
        const cr_mapper *m = in->mapper;
        cr_value v;
        cr_status st = source_value(s, p, y, in, &v);
        if (!st && !in->marked_delete)   /* a deleted row's: only sent */
            st = keep_value(s, p, it, y->field, v);
        if (st)
            return st;
        cr_stmt *q = cr_update(m->table);
        if (q) {
            bind_to(q, m->fields[y->field].col, v, true);
            for (size_t j = 0; j < m->npk; j++)
                bind_to(q, m->fields[m->pk[j]].col,
                        in->marked_delete ? cr_snap_value(in, m->pk[j]) : item_value(it, m->pk[j]),
                        false);
        }
        if ((st = run_counted(s, q)))
            return st;
    }
    return CR_OK;
}

/* The key value of one side of an association row. */
static cr_value side_value(flush_plan *p, const cr_instance *in, size_t field)
{
    const struct flush_note *n = in->note;
    if (n && n->item != SIZE_MAX && p->items[n->item].in == in)
        return item_value(&p->items[n->item], field);
    return in->state == CR_INST_DELETED || in->marked_delete ? cr_snap_value(in, field)
                                                            : cr_field_value(in, field);
}

/* INSERT / DELETE association rows: one INSERT of many rows, a DELETE per
 * row; CLEAR: every row of a deleted object. */
static cr_status run_assoc(cr_session *s, flush_plan *p, const flush_step *step)
{
    const cr_relationship *r = step->rel;
    if (step->kind == STEP_ASSOC_INSERT) {
        size_t per = r->nkeys + r->ntkeys;
        size_t batch = s->engine->dialect->max_params / per;
        if (batch > 1000)
            batch = 1000;
        for (size_t k = 0; k < step->n; k += batch) {
            size_t n = step->n - k < batch ? step->n - k : batch;
            cr_stmt *q = cr_insert(r->secondary);
            for (size_t j = 0; q && j < n; j++) {
                const assoc_op *a = &p->assoc[step->first + k + j];
                for (size_t c = 0; c < r->nkeys; c++)
                    bind_to(q, r->sec_local[c], side_value(p, a->a, r->ref[c]), true);
                for (size_t c = 0; c < r->ntkeys; c++)
                    bind_to(q, r->sec_remote[c], side_value(p, a->b, r->tref[c]), true);
                cr_next_row(q);
            }
            cr_status st = run_counted(s, q);
            if (st)
                return st;
        }
        return CR_OK;
    }
    for (size_t k = 0; k < step->n; k++) {
        const assoc_op *a = &p->assoc[step->first + k];
        cr_stmt *q = cr_delete(r->secondary);
        if (q && step->kind == STEP_ASSOC_CLEAR && a->remote) {
            for (size_t c = 0; c < r->ntkeys; c++)
                bind_to(q, r->sec_remote[c], side_value(p, a->a, r->tref[c]), false);
        } else if (q) {
            for (size_t c = 0; c < r->nkeys; c++)
                bind_to(q, r->sec_local[c], side_value(p, a->a, r->ref[c]), false);
            for (size_t c = 0; a->b && c < r->ntkeys; c++)
                bind_to(q, r->sec_remote[c], side_value(p, a->b, r->tref[c]), false);
        }
        cr_status st = run_counted(s, q);
        if (st)
            return st;
    }
    return CR_OK;
}

static cr_status plan_run(cr_session *s, flush_plan *p)
{
    cr_status st = cr_map_reserve(s, p->ninserts) ? cr_error_oom(&s->err) : CR_OK;
    if (!st)
        st = cr_session_begin_for_write(s);
    for (size_t k = 0; k < p->nsteps && !st; k++) {
        const flush_step *step = &p->steps[k];
        switch (step->kind) {
        case STEP_INSERT: st = run_insert(s, p, step); break;
        case STEP_UPDATE: st = run_update(s, p, step); break;
        case STEP_DELETE: st = run_delete(s, p, step); break;
        case STEP_POST_UPDATE: st = run_post_update(s, p, step); break;
        default: st = run_assoc(s, p, step); break;
        }
    }
    for (size_t k = 0; k < p->nsteps && !st; k++)
        for (size_t j = 0; item_step(p->steps[k].kind) && j < p->steps[k].n && !st; j++)
            st = settle_item(s, &p->items[p->steps[k].first + j], p->steps[k].kind);
    if (!st && p->listen_mask)
        st = fire_all(s, p, true);
    /* Relationships as flushed become what later flushes compare with. A
     * deleted object's changes were not written, its row went as it was:
     * its snapshot stays what the row held (SQLAlchemy keeps a deleted
     * object's history), for a rollback to put back and for the pending
     * history an add after cr_make_transient cascades. */
    for (size_t i = 0; i < p->nnoted && !st; i++)
        if (p->noted[i]->state != CR_INST_DELETED && cr_rel_snapshot(p->noted[i]))
            st = cr_error_oom(&s->err);
    for (cr_instance *in = s->head; p->rels && in && !st; in = in->next)
        if (in->session == s && in->state != CR_INST_DELETED && in->mapper->nrels &&
            !in->note && rel_touched(in) && cr_rel_snapshot(in))
            st = cr_error_oom(&s->err);
    return st;
}

/* After a failed flush, keeping its error: inside begin_nested (and with
 * the connection there), the savepoint is rolled back and what it held
 * undone at once, as SQLAlchemy does, and the session waits for
 * cr_session_rollback_nested; else the transaction is rolled back, objects
 * keep the state they had before the flush, and the session waits for
 * cr_session_rollback. */
static void flush_failed(cr_session *s)
{
    cr_error keep;
    cr_error_init(&keep);
    cr_error_copy(&keep, &s->err);
    s->need_rollback = true;
    if (s->level > 0 && s->conn && !cr_error_is_disconnect(&keep) &&
        cr_conn_rollback_savepoint(s->conn) == CR_OK) {
        cr_session_fire_shut(s, CR_AFTER_ROLLBACK, NULL);
        cr_session_restore(s, s->level);
        s->level--;
        s->nested_lost = true;
    } else {
        bool began = s->conn != NULL;
        if (cr_session_end(s, false) == CR_OK && began)
            cr_session_fire_shut(s, CR_AFTER_ROLLBACK, NULL);
    }
    cr_error_copy(&s->err, &keep);   /* the flush's error, not a listener's */
    cr_error_clear(&keep);
}

/* The after_flush listeners (cr_session_objects listing what p wrote),
 * then the after_flush_postexec ones; no flush inside. What p wrote is
 * listed first, and its notes let go of: a listener may expunge an object
 * of it and free it. */
static cr_status after_flush(cr_session *s, flush_plan *p)
{
    for (size_t i = 0; i < p->nnoted; i++)
        p->noted[i]->note = NULL;
    p->nnoted = 0;
    cr_objects *lists[3];
    for (int w = CR_SESSION_NEW; w <= CR_SESSION_DELETED; w++)
        lists[w] = flush_written(p, (cr_session_set)w);
    cr_status st = lists[0] && lists[1] && lists[2] ? CR_OK : cr_error_oom(&s->err);
    s->flushing = true;
    s->flushed = lists;
    if (!st)
        st = cr_session_fire(s, CR_AFTER_FLUSH, s->conn);
    s->flushed = NULL;
    if (!st)
        st = cr_session_fire(s, CR_AFTER_FLUSH_POSTEXEC, s->conn);
    s->flushing = false;
    for (int w = CR_SESSION_NEW; w <= CR_SESSION_DELETED; w++)
        cr_objects_free(lists[w]);
    return st;
}

cr_status cr_flush(cr_session *s)
{
    if (s->flushing)
        return cr_session_fail(s, CR_ERR_INVALID_REQUEST, "Session is already flushing");
    if (cr_session_listens(s, CR_BEFORE_FLUSH) && cr_flush_has_work(s)) {
        s->flushing = true;   /* no autoflush, no flush inside */
        cr_status rc = cr_session_fire(s, CR_BEFORE_FLUSH, s->conn);
        s->flushing = false;
        if (rc)
            return rc;
    }
    flush_plan p;
    cr_status st = plan_build(s, &p, true);
    bool wrote = !st && p.nsteps;
    if (wrote) {
        s->flushing = true;
        st = plan_run(s, &p);
        s->flushing = false;
    }
    if (p.rels)   /* left_parent counts only with a relationship back to the parent */
        end_orphans(s, st != CR_OK);
    if (!st)
        s->unsaved = s->rel_changed = false;
    if (!st && wrote && cr_session_listens_after_flush(s))
        st = after_flush(s, &p);
    plan_free(&p);
    if (st)
        flush_failed(s);
    return st;
}
