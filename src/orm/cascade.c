/* cascade.c — the cascades of expunge, refresh-expire and merge along relationships (session.expunge, expire / refresh, merge). */
#include "orm/orm.h"

#include <assert.h>
#include <string.h>

/* ---- a map of objects seen (pointer to pointer) ---- */

typedef struct seen_map {
    struct seen_slot { const void *key; void *value; } *slots;
    size_t cap, n;               /* cap: a power of two, or 0                 */
} seen_map;

static size_t seen_hash(const void *p, size_t cap)
{
    uint64_t h = (uint64_t)(uintptr_t)p * UINT64_C(0x9E3779B97F4A7C15);
    return (size_t)(h >> 17) & (cap - 1);
}

static struct seen_slot *seen_find(const seen_map *m, const void *key)
{
    if (!m->cap)
        return NULL;
    for (size_t i = seen_hash(key, m->cap);; i = (i + 1) & (m->cap - 1)) {
        if (m->slots[i].key == key)
            return &m->slots[i];
        if (!m->slots[i].key)
            return NULL;
    }
}

static bool seen_put(seen_map *m, const void *key, void *value)
{
    if ((m->n + 1) * 2 > m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 64;
        struct seen_slot *slots = cr_calloc(cap, sizeof *slots);
        if (!slots)
            return false;
        for (size_t i = 0; i < m->cap; i++) {
            if (!m->slots[i].key)
                continue;
            size_t j = seen_hash(m->slots[i].key, cap);
            while (slots[j].key)
                j = (j + 1) & (cap - 1);
            slots[j] = m->slots[i];
        }
        cr_free(m->slots);
        m->slots = slots;
        m->cap = cap;
    }
    size_t i = seen_hash(key, m->cap);
    while (m->slots[i].key && m->slots[i].key != key)
        i = (i + 1) & (m->cap - 1);
    if (!m->slots[i].key)
        m->n++;
    m->slots[i] = (struct seen_slot){key, value};
    return true;
}

/* ---- walking a cascade ---- */

static cr_status bad_member(cr_session *s, const cr_relationship *r, const void *obj)
{
    const cr_instance *t = cr_instance_of(obj);
    if (!t)
        return cr_session_fail(s, CR_ERR_UNMAPPED_INSTANCE, "relationship %s.%s holds "
                               "something that is not an object of a mapped model",
                               r->parent->name, r->name);
    return cr_session_fail(s, CR_ERR_ARGUMENT, "relationship %s.%s holds a %s object where %s "
                           "objects belong", r->parent->name, r->name, t->mapper->name,
                           r->target->name);
}

/* Whether a cascade with `bit` can reach anything from `in`: a loaded
 * relationship of it has the cascade. Most objects' cannot, and then the
 * cascade is `in` alone, with nothing to allocate. */
static bool cascades_from(const cr_instance *in, unsigned bit)
{
    const cr_mapper *m = in->mapper;
    for (size_t i = 0; i < m->nrels; i++)
        if ((m->rels[i]->cascade & bit) && cr_relstate_of(in, i)->loaded)
            return true;
    return false;
}

/* The objects reached from `in` along relationships whose cascade has
 * `bit`, through what is loaded only (no SQL, as SQLAlchemy's
 * cascade_iterator), each once, `in` first. For expunge and expire (merge
 * false): the objects of this session. For merge: those not of this
 * session (merge takes one of the session as it is), each checked to be an
 * object of its relationship's target, so that a merge refuses bad input
 * before it changes anything. The caller frees *out. */
static cr_status cascade_collect(cr_session *s, cr_instance *in, unsigned bit, bool merge,
                                 cr_instance ***out, size_t *nout)
{
    seen_map seen = {NULL, 0, 0};
    cr_instance **list = cr_malloc(16 * sizeof *list);
    size_t n = 0, cap = 16;
    if (!list || !seen_put(&seen, in, in)) {
        cr_free(list);
        return cr_error_oom(&s->err);
    }
    list[n++] = in;
    cr_status st = CR_OK;
    for (size_t at = 0; at < n && !st; at++) {
        const cr_mapper *m = list[at]->mapper;
        for (size_t i = 0; i < m->nrels && !st; i++) {
            cr_relationship *r = m->rels[i];
            if (!(r->cascade & bit) || !cr_relstate_of(list[at], i)->loaded)
                continue;
            if (merge && (st = cr_rel_ready(r, &s->err)))
                break;
            void **items, *one;
            size_t k = cr_rel_members(list[at], r, &items, &one);
            for (size_t j = 0; j < k && !st; j++) {
                cr_instance *t = cr_instance_of(items[j]);
                if (merge && (!t || t->mapper != r->target)) {
                    st = bad_member(s, r, items[j]);
                    break;
                }
                if (!t || (t->session == s) == merge || seen_find(&seen, t))
                    continue;
                if (n == cap) {
                    cr_instance **bigger = cr_realloc(list, 2 * cap * sizeof *list);
                    if (!bigger) {
                        st = cr_error_oom(&s->err);
                        break;
                    }
                    list = bigger;
                    cap *= 2;
                }
                if (!seen_put(&seen, t, t))
                    st = cr_error_oom(&s->err);
                else
                    list[n++] = t;
            }
        }
    }
    cr_free(seen.slots);
    if (st) {
        cr_free(list);
        return st;
    }
    *out = list;
    *nout = n;
    return CR_OK;
}

cr_status cr_cascade_expunge_list(cr_session *s, cr_instance *in, cr_instance ***out,
                                  size_t *nout)
{
    assert(s && in && in->session == s);
    return cascade_collect(s, in, CR_CASCADE_EXPUNGE, false, out, nout);
}

cr_status cr_cascade_expunge(cr_session *s, cr_instance *in)
{
    if (!cascades_from(in, CR_CASCADE_EXPUNGE)) {
        cr_session_expunge_instance(s, in);
        return CR_OK;
    }
    cr_instance **list = NULL;
    size_t n = 0;
    cr_status st = cr_cascade_expunge_list(s, in, &list, &n);
    if (st)
        return st;
    for (size_t i = 0; i < n; i++)
        cr_session_expunge_instance(s, list[i]);
    cr_free(list);
    return CR_OK;
}

cr_status cr_cascade_expire(cr_session *s, cr_instance *in)
{
    assert(s && in && in->session == s && in->state == CR_INST_PERSISTENT);
    if (!cascades_from(in, CR_CASCADE_REFRESH)) {
        cr_instance_expire(in);
        return CR_OK;
    }
    cr_instance **list = NULL;
    size_t n = 0;
    /* Collected first: expiring unloads the relationships it follows. */
    cr_status st = cascade_collect(s, in, CR_CASCADE_REFRESH, false, &list, &n);
    if (st)
        return st;
    for (size_t i = 0; i < n; i++) {
        cr_instance *t = list[i];
        if (t->state == CR_INST_PERSISTENT) {
            cr_instance_expire(t);
        } else if (t->state == CR_INST_PENDING) {
            /* SQLAlchemy expunges a pending object reached so; it stays the
             * session's to free, as a rollback leaves one. */
            t->state = CR_INST_TRANSIENT;
            t->session = NULL;
        }
    }
    cr_free(list);
    return CR_OK;
}

/* ---- merge ---- */

/* A field value a merge copies onto an object of the session: applied once
 * nothing can fail any more. */
typedef struct merge_put {
    cr_instance *in;
    size_t field;
    cr_field_prep prep;
} merge_put;

/* A relationship of an object as it was before the merge changed it. */
typedef struct rel_was {
    void *one;                   /* a ONE's pointer                           */
    void **items;                /* a collection's members (heap), count      */
    size_t count;
    bool loaded, changed;
} rel_was;

typedef struct merge_ctx {
    cr_session *s;
    seen_map done;               /* source instance -> the session's copy     */
    seen_map found;              /* source instance -> the session's object of
                                  * its key, as merge_prefetch found it (the
                                  * ctx itself: no row)                       */
    /* What a merge that fails halfway (out of memory) puts back: */
    seen_map touched;            /* object -> its rel_was array, saved before
                                  * the merge first changed a relationship of
                                  * it; a copy the merge made -> the ctx      */
    merge_put *puts;
    size_t nputs, capputs;
    struct merge_orphan {        /* a pending object a relationship let go of */
        cr_instance *t, *dest;
        const cr_relationship *r;
        cr_instance **list;      /* what taking it out takes (its cascade)    */
        size_t n;
    } *orphans;
    size_t norphans, caporphans;
} merge_ctx;

static cr_instance *merge_one(merge_ctx *c, cr_instance *src, const cr_relationship *via);

/* Whether a merge into s takes the object as it is: one of s, but for one
 * whose DELETE s flushed, which SQLAlchemy's identity map no longer holds,
 * so that its merge makes a new pending copy of it. */
static bool merged_as_is(const cr_session *s, const cr_instance *in)
{
    return in->session == s && in->state != CR_INST_DELETED;
}

/* Whether merge_one follows relationship i of src, reached through via
 * (whose other side it does not follow back). Of an object made by cr_new
 * and never flushed, only a relationship the program set — holding
 * something, or given by a call (cr_set_related(copy, pet, NULL)) — as
 * SQLAlchemy merges only the attributes set: one left empty keeps the
 * row's (it would otherwise let go of, or delete, what the row holds). */
static bool merge_follows(const cr_instance *src, size_t i, const cr_relationship *via)
{
    const cr_relationship *r = src->mapper->rels[i];
    const cr_relstate *rs = cr_relstate_of(src, i);
    if (!(r->cascade & CR_CASCADE_MERGE) || !rs->loaded || (via && r->back == via))
        return false;
    void **items, *one;
    return !src->as_made || rs->given || cr_rel_members(src, r, &items, &one) > 0;
}

/* Every row the merge reads, read before it changes anything, along the
 * path merge_one takes: the session's object of each key (loaded when not
 * in the identity map, reloaded when expired) and the relationships of it
 * that merge_set replaces, so that a database error leaves the session as
 * it was. What they load stays, as a query's objects do: it is no change.
 * cascade_collect checked the objects first. */
static cr_status merge_prefetch(merge_ctx *c, cr_instance *src, const cr_relationship *via)
{
    cr_session *s = c->s;
    if (merged_as_is(s, src) || seen_find(&c->found, src))
        return CR_OK;
    const cr_mapper *m = src->mapper;
    cr_value key[64];
    void *target = cr_field_key(src, key) ? cr_session_get_values(s, m, key, m->npk) : NULL;
    if (s->err.cls)
        return s->err.cls;
    cr_instance *dest = target ? cr_instance_of(target) : NULL;
    if (!seen_put(&c->found, src, dest ? (void *)dest : (void *)c))
        return cr_error_oom(&s->err);
    cr_status st = CR_OK;
    for (size_t i = 0; i < m->nrels && !st; i++) {
        cr_relationship *r = m->rels[i];
        if (!merge_follows(src, i, via))
            continue;
        if (dest && dest->state == CR_INST_PERSISTENT && !cr_relstate_of(dest, i)->loaded &&
            (st = cr_rel_load(s, dest, r)))
            break;
        void **items, *one;
        size_t n = cr_rel_members(src, r, &items, &one);
        for (size_t j = 0; j < n && !st; j++)
            st = merge_prefetch(c, cr_instance_of(items[j]), r);
    }
    return st;
}

static void free_was(const cr_mapper *m, rel_was *w)
{
    for (size_t i = 0; i < m->nrels; i++)
        cr_free(w[i].items);
    cr_free(w);
}

/* Save the relationships of `in` before the merge first changes one of
 * them (a copy it made needs nothing: it goes whole). */
static cr_status touch(merge_ctx *c, cr_instance *in)
{
    if (!in || seen_find(&c->touched, in))
        return CR_OK;
    const cr_mapper *m = in->mapper;
    rel_was *w = cr_calloc(m->nrels ? m->nrels : 1, sizeof *w);
    bool ok = w != NULL;
    for (size_t i = 0; ok && i < m->nrels; i++) {
        const cr_relationship *r = m->rels[i];
        const cr_relstate *rs = cr_relstate_of(in, i);
        w[i].loaded = rs->loaded;
        w[i].changed = rs->changed;
        if (!r->many) {
            w[i].one = *cr_rel_ref(in, r);
            continue;
        }
        const cr_collection *coll = cr_rel_coll(in, r);
        w[i].count = coll->count;
        if (coll->count && (ok = (w[i].items = cr_malloc(coll->count * sizeof(void *))) != NULL))
            memcpy(w[i].items, coll->items, coll->count * sizeof(void *));
    }
    if (ok && seen_put(&c->touched, in, w))
        return CR_OK;
    if (w)
        free_was(m, w);
    return cr_error_oom(&c->s->err);
}

/* Put an object's relationships back as touch saved them. A collection
 * only grew in between (its capacity), so the old members fit. */
static void restore_was(cr_instance *in, const rel_was *w)
{
    for (size_t i = 0; i < in->mapper->nrels; i++) {
        const cr_relationship *r = in->mapper->rels[i];
        cr_relstate *rs = cr_relstate_of(in, i);
        rs->loaded = w[i].loaded;
        rs->changed = w[i].changed;
        if (!r->many) {
            *cr_rel_ref(in, r) = w[i].one;
            continue;
        }
        cr_collection *coll = cr_rel_coll(in, r);
        assert(coll->capacity >= w[i].count);
        if (w[i].count)
            memcpy(coll->items, w[i].items, w[i].count * sizeof(void *));
        coll->count = w[i].count;
    }
}

/* A pending object dest's relationship r lets go of in the merge: when r
 * is a one-to-many with delete-orphan, the object leaves the session at
 * the end of the merge, as cr_remove takes it out (SQLAlchemy's remove
 * event), unless the merge gave it a parent again. What it takes along is
 * collected now, while the merge may still fail. */
static cr_status note_orphan(merge_ctx *c, cr_instance *dest, const cr_relationship *r,
                             cr_instance *t)
{
    if (!t || t->session != c->s || t->state != CR_INST_PENDING || !cr_rel_deletes_orphans(r))
        return CR_OK;
    if (c->norphans == c->caporphans) {
        size_t cap = c->caporphans ? 2 * c->caporphans : 4;
        struct merge_orphan *more = cr_realloc(c->orphans, cap * sizeof *more);
        if (!more)
            return cr_error_oom(&c->s->err);
        c->orphans = more;
        c->caporphans = cap;
    }
    struct merge_orphan *o = &c->orphans[c->norphans];
    *o = (struct merge_orphan){t, dest, r, NULL, 0};
    cr_status st = cr_cascade_expunge_list(c->s, t, &o->list, &o->n);
    if (!st)
        c->norphans++;
    return st;
}

/* Whether the orphan is still one once the merge is done. */
static bool still_orphan(const merge_ctx *c, const struct merge_orphan *o)
{
    const void *obj = o->t->obj;
    if (o->t->session != c->s || o->t->state != CR_INST_PENDING)
        return false;
    if (o->r->back && !o->r->back->many && *cr_rel_ref(o->t, o->r->back))
        return false;
    return o->r->many ? !cr_collection_has(cr_rel_coll(o->dest, o->r), obj)
                      : *cr_rel_ref(o->dest, o->r) != obj;
}

/* The end of a merge: on success the field values are copied in (nothing
 * can fail there) and the pending orphans taken out; on failure the
 * relationships are put back and the copies it made dropped, so that the
 * session is as it was. */
static void merge_end(merge_ctx *c, bool ok)
{
    for (size_t i = 0; i < c->nputs; i++) {
        if (ok)
            cr_field_apply(c->puts[i].in, c->puts[i].field, &c->puts[i].prep);
        else
            cr_free(c->puts[i].prep.buf);
    }
    cr_free(c->puts);
    for (size_t i = 0; i < c->norphans; i++) {
        struct merge_orphan *o = &c->orphans[i];
        for (size_t j = 0; ok && still_orphan(c, o) && j < o->n; j++)
            if (o->list[j]->session == c->s)
                cr_session_take_out(c->s, o->list[j]);
        cr_free(o->list);
    }
    cr_free(c->orphans);
    /* Put back first: a copy to drop is then named by no object kept. */
    for (size_t i = 0; i < c->touched.cap; i++) {
        struct seen_slot *e = &c->touched.slots[i];
        if (!e->key || e->value == c)
            continue;
        if (!ok)
            restore_was((cr_instance *)e->key, e->value);
        free_was(((const cr_instance *)e->key)->mapper, e->value);
    }
    for (size_t i = 0; !ok && i < c->touched.cap; i++) {
        struct seen_slot *e = &c->touched.slots[i];
        if (!e->key || e->value != c)
            continue;
        cr_instance *copy = (cr_instance *)e->key;
        cr_session_expunge_instance(c->s, copy);
        cr_instance_destroy(copy);
    }
    cr_free(c->touched.slots);
    cr_free(c->done.slots);
    cr_free(c->found.slots);
}

/* Point dest's relationship r at the copies (n of them; a ONE: 0 or 1),
 * keeping the other sides in step as cr_set_related / cr_append would.
 * Every object it changes is touched first. */
static cr_status merge_set(merge_ctx *c, cr_instance *dest, cr_relationship *r, void **copies,
                           size_t n)
{
    cr_session *s = c->s;
    cr_relstate *rs = cr_relstate_of(dest, r->index);
    cr_status st = touch(c, dest);
    if (st)
        return st;
    if (!rs->loaded) {
        if (dest->state == CR_INST_PERSISTENT) {
            st = cr_rel_load(s, dest, r);   /* the old members, to let go of */
            if (st)
                return st;
        }
        rs->loaded = true;
    }
    if (!r->many) {
        void **ref = cr_rel_ref(dest, r);
        void *now = n ? copies[0] : NULL;
        rs->given = true;   /* set, even to what it holds: a NULL clears a new copy's key */
        if (*ref == now)
            return CR_OK;
        cr_instance *old = *ref ? cr_instance_of(*ref) : NULL;
        cr_instance *t = now ? cr_instance_of(now) : NULL;
        if ((st = touch(c, old)) || (st = touch(c, t)) || (st = note_orphan(c, dest, r, old)))
            return st;
        if (old)
            cr_rel_back_link(old, r, dest, false);
        *ref = now;
        return t && cr_rel_back_link(t, r, dest, true) ? cr_error_oom(&s->err) : CR_OK;
    }
    cr_collection *coll = cr_rel_coll(dest, r);
    bool same = coll->count == n;
    for (size_t i = 0; i < n && same; i++)
        same = coll->items[i] == copies[i];
    if (same)
        return CR_OK;
    for (size_t i = 0; i < coll->count && !st; i++)
        st = touch(c, cr_instance_of(coll->items[i]));
    for (size_t j = 0; j < n && !st; j++) {
        cr_instance *t = cr_instance_of(copies[j]);
        st = touch(c, t);
        if (!st && r->back && !r->back->many) {
            void *prev = *cr_rel_ref(t, r->back);
            st = touch(c, prev ? cr_instance_of(prev) : NULL);
        }
    }
    if (st)
        return st;
    if (coll->capacity < n) {
        void **items = cr_realloc(coll->items, n * sizeof *items);
        if (!items)
            return cr_error_oom(&s->err);
        coll->items = items;
        coll->capacity = n;
    }
    for (size_t i = 0; i < coll->count && !st; i++) {
        bool kept = false;
        for (size_t j = 0; j < n && !kept; j++)
            kept = copies[j] == coll->items[i];
        if (!kept && !(st = note_orphan(c, dest, r, cr_instance_of(coll->items[i]))))
            cr_rel_back_link(cr_instance_of(coll->items[i]), r, dest, false);
    }
    if (st)
        return st;
    void **old = coll->items;
    size_t nold = coll->count;
    for (size_t j = 0; j < n && !st; j++) {
        bool had = false;
        for (size_t i = 0; i < nold && !had; i++)
            had = old[i] == copies[j];
        if (had)
            continue;
        cr_instance *t = cr_instance_of(copies[j]);
        /* through a one-to-many a child has one parent: the old one lets go */
        if (r->back && !r->back->many) {
            void *prev = *cr_rel_ref(t, r->back);
            if (prev && prev != dest->obj)
                cr_rel_back_link(cr_instance_of(prev), r->back, t, false);
        }
        if (cr_rel_back_link(t, r, dest, true))
            st = cr_error_oom(&s->err);
    }
    memmove(coll->items, copies, n * sizeof *copies);
    coll->count = n;
    rs->changed = true;
    return st;
}

/* Merge what src's loaded relationship r holds and point dest's at the
 * copies. */
static cr_status merge_rel(merge_ctx *c, cr_instance *src, cr_instance *dest, cr_relationship *r)
{
    cr_session *s = c->s;
    cr_status st = CR_OK;
    void **items, *one;
    size_t n = cr_rel_members(src, r, &items, &one);
    void **copies = cr_malloc((n ? n : 1) * sizeof *copies);
    if (!copies)
        return cr_error_oom(&s->err);
    size_t ncopies = 0;
    for (size_t i = 0; i < n && !st; i++) {
        cr_instance *copy = merge_one(c, cr_instance_of(items[i]), r);   /* checked */
        if (!copy) {
            st = s->err.cls ? s->err.cls : CR_ERR_INTERNAL;
            break;
        }
        bool dup = false;
        for (size_t j = 0; j < ncopies && !dup; j++)
            dup = copies[j] == copy->obj;
        if (!dup)
            copies[ncopies++] = copy->obj;
    }
    if (!st)
        st = merge_set(c, dest, r, copies, ncopies);
    cr_free(copies);
    return st;
}

/* The session's copy of src: src itself when it is this session's, the
 * object of its key (from the identity map, else loaded), else a new
 * pending one; its fields take src's, then its relationships with the merge
 * cascade the copies of what src's hold (loaded ones only). via: the
 * relationship src was reached through, whose other side is not followed
 * back. */
static cr_instance *merge_one(merge_ctx *c, cr_instance *src, const cr_relationship *via)
{
    assert(src && (!via || src->mapper == via->target));   /* cascade_collect checked */
    cr_session *s = c->s;
    if (merged_as_is(s, src))
        return src;
    struct seen_slot *was = seen_find(&c->done, src);
    if (was)
        return was->value;
    const cr_mapper *m = src->mapper;
    struct seen_slot *found = seen_find(&c->found, src);
    assert(found);   /* merge_prefetch took the same path */
    cr_instance *in = found && found->value != c ? found->value : NULL;
    bool fresh = !in;
    if (fresh) {
        if (!(in = cr_instance_alloc(m, 0)) || !seen_put(&c->touched, in, c)) {
            cr_instance_destroy(in);
            cr_error_oom(&s->err);
            return NULL;
        }
        for (size_t i = 0; i < m->nrels; i++)
            cr_relstate_of(in, i)->loaded = true;   /* a new object's are empty */
        s->unsaved = true;
        in->state = CR_INST_PENDING;
        in->order = ++s->order;
        in->session = s;
        cr_owner_link(s, in);
    }
    /* A copy takes src's fields now; an object of the session at the end
     * (merge_end), when nothing can fail any more — of an object made by
     * cr_new and never flushed, only the fields the program set (changed
     * since cr_new, or given by a call such as cr_field_set_null), and of
     * an expired one only those changed since the expiry (the others are
     * stale), nor a deferred field not loaded unless set, as SQLAlchemy
     * copies only the attributes loaded or set. */
    for (size_t i = 0; i < m->nfields; i++) {
        cr_value v = cr_field_value(src, i);
        if (!fresh && ((src->as_made && !(src->given >> i & 1)) || src->expired ||
                       (src->unloaded >> i & 1))) {
            cr_value was = cr_snap_value(src, i);
            if (cr_value_same(&v, &was))
                continue;
        }
        if (fresh) {
            if (cr_field_store(in, i, &v))
                return cr_error_oom(&s->err), NULL;
            continue;
        }
        if (c->nputs == c->capputs) {
            size_t cap = c->capputs ? 2 * c->capputs : 16;
            merge_put *more = cr_realloc(c->puts, cap * sizeof *more);
            if (!more)
                return cr_error_oom(&s->err), NULL;
            c->puts = more;
            c->capputs = cap;
        }
        merge_put *p = &c->puts[c->nputs];
        if (cr_field_prepare(in, i, &v, &p->prep))
            return cr_error_oom(&s->err), NULL;
        p->in = in;
        p->field = i;
        c->nputs++;
    }
    if (!seen_put(&c->done, src, in)) {
        cr_error_oom(&s->err);
        return NULL;
    }
    for (size_t i = 0; i < m->nrels; i++)
        if (merge_follows(src, i, via) && merge_rel(c, src, in, m->rels[i]))
            return NULL;
    return in;
}

/* What a merge reaches from src, checked before it changes anything. */
static cr_status merge_check(cr_session *s, cr_instance *src)
{
    cr_instance **reached = NULL;
    size_t nreached = 0;
    cr_status st = cascade_collect(s, src, CR_CASCADE_MERGE, true, &reached, &nreached);
    cr_free(reached);
    return st;
}

void *cr_session_merge(cr_session *s, void *obj)
{
    if (!s)
        return NULL;
    cr_error_clear(&s->err);
    cr_instance *src = cr_instance_of(obj);
    if (!src) {
        cr_session_fail(s, obj ? CR_ERR_UNMAPPED_INSTANCE : CR_ERR_ARGUMENT, "merge: the object "
                        "is %s", obj ? "not an object of a mapped model" : "NULL");
        return NULL;
    }
    if (cr_session_check(s))
        return NULL;
    bool checked = !merged_as_is(s, src);
    if (checked && merge_check(s, src))
        return NULL;
    /* Autoflush first, none halfway through (as get's: when objects were
     * added or deleted, or relationship calls changed something). An
     * object of this session is the merge's result, flushed then: a pending
     * one is persistent, as SQLAlchemy's merge finds it by its key after
     * the autoflush; one whose DELETE it flushed is merged as a copy. */
    if ((s->unsaved || s->rel_changed) && cr_session_autoflush(s))
        return NULL;
    if (merged_as_is(s, src))
        return obj;
    if (!checked && merge_check(s, src))
        return NULL;
    bool autoflush = s->autoflush;
    s->autoflush = false;
    merge_ctx c;
    memset(&c, 0, sizeof c);
    c.s = s;
    cr_instance *in = merge_prefetch(&c, src, NULL) ? NULL : merge_one(&c, src, NULL);
    merge_end(&c, in != NULL);
    s->autoflush = autoflush;
    return in ? in->obj : NULL;
}
