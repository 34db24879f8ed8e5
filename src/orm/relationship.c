/* relationship.c — relationships: declaration and resolution, the calls that change them with their back side, lazy loads, cascades. */
#include "orm/orm.h"

#include <assert.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define ALIGN16(n) (((n) + 15) & ~(size_t)15)

/* ---- declaration ---- */

static void rel_free(cr_relationship *r)
{
    if (!r)
        return;
    if (r->handle && *r->handle == r)
        *r->handle = NULL;
    cr_free(r->name);
    cr_free(r->target_name);
    cr_free(r->secondary_name);
    cr_free(r->back_name);
    cr_free(r->foreign_keys);
    cr_free(r->order_text);
    cr_free(r);
}

void cr_mapper_free_relationships(cr_mapper *m)
{
    for (size_t i = 0; i < m->nrels; i++)
        rel_free(m->rels[i]);
    cr_free(m->rels);
    m->rels = NULL;
    m->nrels = 0;
}

static bool dup_opt(char **dst, const char *src)
{
    *dst = NULL;
    return !src || (*dst = cr_strdup(src)) != NULL;
}

/* The cascade words, in alphabetical order (as SQLAlchemy lists them). */
static const struct { const char *word; unsigned bits; } cascade_words[] = {
    {"all", CR_CASCADE_SAVE_UPDATE | CR_CASCADE_MERGE | CR_CASCADE_DELETE |
                CR_CASCADE_REFRESH | CR_CASCADE_EXPUNGE},
    {"delete", CR_CASCADE_DELETE}, {"delete-orphan", CR_CASCADE_DELETE_ORPHAN},
    {"expunge", CR_CASCADE_EXPUNGE}, {"merge", CR_CASCADE_MERGE}, {"none", 0},
    {"refresh-expire", CR_CASCADE_REFRESH}, {"save-update", CR_CASCADE_SAVE_UPDATE},
};

/* "all, delete-orphan" into CR_CASCADE_* bits; false on a word it does not know. */
static bool parse_cascade(const char *text, unsigned *out, char *bad, size_t badsize)
{
    *out = 0;
    const char *p = text;
    while (*p) {
        while (*p == ' ' || *p == ',' || *p == '\t')
            p++;
        size_t len = strcspn(p, " ,\t");
        if (!len)
            break;
        bool known = false;
        for (size_t k = 0; k < CR_ARRAY_LEN(cascade_words) && !known; k++)
            if (strlen(cascade_words[k].word) == len &&
                strncmp(cascade_words[k].word, p, len) == 0) {
                *out |= cascade_words[k].bits;
                known = true;
            }
        if (!known) {
            snprintf(bad, badsize, "%.*s", (int)(len < 60 ? len : 60), p);
            return false;
        }
        p += len;
    }
    return true;
}

/* The names of the single cascades in bits ("delete, save-update"), into
 * out (64 bytes hold any three). */
static void cascade_names(unsigned bits, char *out, size_t size)
{
    size_t len = 0;
    out[0] = '\0';
    for (size_t k = 0; k < CR_ARRAY_LEN(cascade_words); k++) {
        unsigned b = cascade_words[k].bits;
        if (b && !(b & (b - 1)) && (bits & b))
            len += (size_t)snprintf(out + len, size - len, "%s%s", len ? ", " : "",
                                    cascade_words[k].word);
    }
}

/* The cascades that act in a flush, which a viewonly relationship (one the
 * flush ignores) cannot have, as SQLAlchemy refuses them: its cascade is
 * "merge" unless given, and may add refresh-expire and expunge. */
#define PERSISTENCE_CASCADES \
    (CR_CASCADE_SAVE_UPDATE | CR_CASCADE_DELETE | CR_CASCADE_DELETE_ORPHAN)

static cr_status configure(cr_metadata *md, bool pending_ok);

cr_status cr_model_relationships(cr_mapper *m, const cr_relationship_def *defs, size_t n,
                                 cr_relationship **const *handles)
{
    if (!m || (!defs && n))
        return CR_ERR_ARGUMENT;
    cr_metadata *md = m->table->md;
    if (m->nrels)
        return cr_error_set(&md->err, CR_ERR_INVALID_REQUEST, "model %s: relationships are "
                            "already given", m->name);
    m->rels = cr_calloc(n ? n : 1, sizeof *m->rels);
    if (!m->rels)
        return cr_error_oom(&md->err);
    for (size_t i = 0; i < n; i++) {
        const cr_relationship_def *d = &defs[i];
        if (!d->name || !d->target || d->offset < sizeof(cr_object) || d->offset >= m->size) {
            cr_mapper_free_relationships(m);
            return cr_error_set(&md->err, CR_ERR_ARGUMENT, "model %s: relationship %zu has no "
                                "name, no target or lies outside the struct", m->name, i + 1);
        }
        cr_relationship *r = cr_calloc(1, sizeof *r);
        bool ok = r && (r->name = cr_strdup(d->name)) && (r->target_name = cr_strdup(d->target)) &&
                  dup_opt(&r->secondary_name, d->secondary) &&
                  dup_opt(&r->back_name, d->back_populates ? d->back_populates : d->backref) &&
                  dup_opt(&r->foreign_keys, d->foreign_keys) && dup_opt(&r->order_text, d->order_by);
        if (!ok) {
            rel_free(r);
            cr_mapper_free_relationships(m);
            return cr_error_oom(&md->err);
        }
        m->rels[m->nrels++] = r;
        r->parent = m;
        r->index = i;
        r->offset = d->offset;
        r->many = d->many;
        r->lazy = d->lazy == CR_LOAD_DEFAULT ? CR_LOAD_LAZY : d->lazy;
        r->passive_deletes = d->passive_deletes;
        r->post_update = d->post_update;
        r->viewonly = d->viewonly;
        r->single_parent = d->single_parent;
        char bad[64];
        const char *cascade = d->cascade    ? d->cascade
                              : d->viewonly ? "merge"
                                            : "save-update, merge";
        if (!parse_cascade(cascade, &r->cascade, bad, sizeof bad)) {
            cr_mapper_free_relationships(m);
            return cr_error_set(&md->err, CR_ERR_ARGUMENT, "relationship %s.%s: unknown cascade "
                                "'%s' (save-update, merge, delete, delete-orphan, "
                                "refresh-expire, expunge, all, none)", m->name, d->name, bad);
        }
        if (r->viewonly && (r->cascade & PERSISTENCE_CASCADES)) {
            cascade_names(r->cascade & PERSISTENCE_CASCADES, bad, sizeof bad);
            cr_mapper_free_relationships(m);
            return cr_error_set(&md->err, CR_ERR_ARGUMENT, "relationship %s.%s: cascade "
                                "settings \"%s\" apply to persistence operations and should not "
                                "be combined with viewonly", m->name, d->name, bad);
        }
        if (d->lazy > CR_LOAD_RAISE) {
            cr_mapper_free_relationships(m);
            return cr_error_set(&md->err, CR_ERR_ARGUMENT, "relationship %s.%s: unknown loader "
                                "%d", m->name, d->name, (int)d->lazy);
        }
        if (handles && handles[i]) {
            *handles[i] = r;
            r->handle = handles[i];
        }
    }
    /* Each object carries one cr_relstate per relationship. */
    m->rel_off = ALIGN16(m->fbuf_off + m->nfields * sizeof(void *));
    m->alloc_size = m->rel_off + m->nrels * sizeof(cr_relstate);
    /* What is not defined yet is not an error here: models come one by one. */
    return configure(md, true);
}

/* ---- resolution ---- */

static pthread_mutex_t resolve_lock = PTHREAD_MUTEX_INITIALIZER;

static cr_mapper *find_mapper(cr_metadata *md, const char *name)
{
    for (size_t i = 0; i < md->ntables; i++) {
        cr_mapper *m = cr_table_mapper(md->tables[i]);
        if (m && strcmp(m->name, name) == 0)
            return m;
    }
    return NULL;
}

static cr_table *find_table(cr_metadata *md, const char *name)
{
    for (size_t i = 0; i < md->ntables; i++)
        if (strcmp(md->tables[i]->name, name) == 0)
            return md->tables[i];
    return NULL;
}

static cr_status rel_error(cr_error *err, cr_status cls, const cr_relationship *r,
                           const char *fmt, const char *a, const char *b)
{
    char msg[400];
    snprintf(msg, sizeof msg, fmt, a ? a : "", b ? b : "");
    return cr_error_set(err, cls, "relationship %s.%s: %s", r->parent->name, r->name, msg);
}

/* Whether the foreign_keys option lets column col of table t take part. */
static bool fk_allowed(const cr_relationship *r, const cr_table *t, const cr_column *col)
{
    if (!r->foreign_keys)
        return true;
    const char *p = r->foreign_keys;
    size_t tl = strlen(t->name), cl = strlen(col->name);
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t len = strcspn(p, " ,");
        if (!len)
            break;
        if ((len == cl && strncmp(p, col->name, cl) == 0) ||
            (len == tl + 1 + cl && strncmp(p, t->name, tl) == 0 && p[tl] == '.' &&
             strncmp(p + tl + 1, col->name, cl) == 0))
            return true;
        p += len;
    }
    return false;
}

/* The foreign keys of table `from` referring to table `to` that the
 * relationship may use: how many, the first in *found. */
static size_t find_fks(const cr_relationship *r, const cr_table *from, const cr_table *to,
                       const cr_constraint **found)
{
    size_t n = 0;
    for (size_t c = 0; c < from->ncons; c++) {
        const cr_constraint *k = from->constraints[c];
        if (k->kind != CR_CONSTRAINT_FOREIGN_KEY || k->ncols == 0 ||
            k->ncols > CR_REL_MAX_KEYS || strcmp(k->ref_tables[0], to->name) != 0)
            continue;
        bool allowed = true;
        for (size_t j = 0; j < k->ncols && allowed; j++)
            allowed = fk_allowed(r, from, k->cols[j]);
        if (!allowed)
            continue;
        if (n++ == 0)
            *found = k;
    }
    return n;
}

/* Pair the constraint's columns (of table `from`) with the fields of mapper
 * `to` they refer to. */
static bool pair_fk(const cr_constraint *k, const cr_mapper *to, size_t *ref)
{
    for (size_t j = 0; j < k->ncols; j++) {
        cr_column *rc = cr_table_column(to->table, k->ref_columns[j]);
        if (!rc)
            return false;
        ref[j] = rc->index;
    }
    return true;
}

static cr_status resolve_secondary(cr_relationship *r, cr_error *err)
{
    const cr_constraint *a = NULL, *b = NULL;
    cr_table *sec = r->secondary;
    size_t na = find_fks(r, sec, r->parent->table, &a);
    size_t nb = find_fks(r, sec, r->target->table, &b);
    if (r->parent == r->target) {
        /* followers(follower_id, followed_id): foreign_keys names the one
         * that holds this side's key. */
        if (na != 1 && !r->foreign_keys)
            return rel_error(err, CR_ERR_ARGUMENT, r, "the secondary table '%s' refers twice to "
                             "its table: name the column holding this side's key with "
                             ".foreign_keys%s", sec->name, NULL);
        /* The target's key is the other foreign key to the table (the
         * search above, for the same table, found this side's again). */
        b = NULL;
        for (size_t c = 0; c < sec->ncons && !b; c++) {
            const cr_constraint *k = sec->constraints[c];
            if (k != a && k->kind == CR_CONSTRAINT_FOREIGN_KEY &&
                strcmp(k->ref_tables[0], sec->name) != 0 &&
                strcmp(k->ref_tables[0], r->parent->table->name) == 0)
                b = k;
        }
        nb = b ? 1 : 0;
    }
    if (na != 1 || nb != 1)
        return rel_error(err, CR_ERR_ARGUMENT, r, na + nb < 2 ? "the secondary table '%s' has no "
                         "foreign key to '%s' (each side needs one)" : "the secondary table '%s' "
                         "has several foreign keys to '%s': name one with .foreign_keys",
                         sec->name, na != 1 ? r->parent->table->name : r->target->table->name);
    if (a->ncols != b->ncols && (a->ncols > CR_REL_MAX_KEYS || b->ncols > CR_REL_MAX_KEYS))
        return rel_error(err, CR_ERR_ARGUMENT, r, "foreign key of too many columns%s%s", NULL,
                         NULL);
    if (!pair_fk(a, r->parent, r->ref) || !pair_fk(b, r->target, r->tref))
        return rel_error(err, CR_ERR_ARGUMENT, r, "a foreign key of '%s' names a column '%s' "
                         "does not have", sec->name, NULL);
    r->nkeys = a->ncols;
    r->ntkeys = b->ncols;
    for (size_t j = 0; j < a->ncols; j++)
        r->sec_local[j] = a->cols[j];
    for (size_t j = 0; j < b->ncols; j++)
        r->sec_remote[j] = b->cols[j];
    r->kind = CR_REL_MANY_TO_MANY;
    if (!r->many)
        return rel_error(err, CR_ERR_ARGUMENT, r, "a relationship through a secondary table is "
                         "MANY%s%s", NULL, NULL);
    return CR_OK;
}

static cr_status resolve_keys(cr_relationship *r, cr_error *err)
{
    const cr_constraint *up = NULL, *down = NULL;
    cr_table *pt = r->parent->table, *tt = r->target->table;
    size_t nup = find_fks(r, pt, tt, &up);       /* the parent refers to the target */
    size_t ndown = pt == tt ? 0 : find_fks(r, tt, pt, &down);
    if (pt == tt) {                               /* self-referential */
        if (nup == 0)
            return rel_error(err, CR_ERR_ARGUMENT, r, "table '%s' has no foreign key to "
                             "itself%s", pt->name, NULL);
        if (nup > 1)
            return rel_error(err, CR_ERR_ARGUMENT, r, "table '%s' has several foreign keys to "
                             "itself: name one with .foreign_keys%s", pt->name, NULL);
        if (r->many) {
            down = up;
            up = NULL;
        }
    } else if (nup + ndown == 0) {
        return rel_error(err, CR_ERR_ARGUMENT, r, "no foreign key joins '%s' and '%s' (declare "
                         "one, or give .secondary)", pt->name, tt->name);
    } else if (nup > 1 || ndown > 1 || (nup && ndown)) {
        return rel_error(err, CR_ERR_ARGUMENT, r, "several foreign keys could join '%s' and '%s': "
                         "name the column(s) with .foreign_keys", pt->name, tt->name);
    } else if (nup && r->many) {
        return rel_error(err, CR_ERR_ARGUMENT, r, "'%s' holds the foreign key to '%s', so this "
                         "side is many-to-one: declare it ONE", pt->name, tt->name);
    }
    const cr_constraint *k = up ? up : down;
    if (k->ncols > CR_REL_MAX_KEYS)
        return rel_error(err, CR_ERR_ARGUMENT, r, "a foreign key of too many columns%s%s", NULL,
                         NULL);
    r->kind = up ? CR_REL_MANY_TO_ONE : CR_REL_ONE_TO_MANY;
    r->nkeys = k->ncols;
    for (size_t j = 0; j < k->ncols; j++)
        r->fk[j] = k->cols[j]->index;
    if (!pair_fk(k, up ? r->target : r->parent, r->ref))
        return rel_error(err, CR_ERR_ARGUMENT, r, "its foreign key names a column '%s' does not "
                         "have%s", up ? tt->name : pt->name, NULL);
    return CR_OK;
}

static cr_status resolve_order(cr_relationship *r, cr_error *err)
{
    const char *p = r->order_text;
    while (p && *p) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t len = strcspn(p, " ,");
        if (!len)
            break;
        char name[128];
        snprintf(name, sizeof name, "%.*s", (int)(len < 127 ? len : 127), p);
        p += len;
        while (*p == ' ')
            p++;
        bool desc = false;
        if (strncasecmp(p, "desc", 4) == 0 && (p[4] == 0 || p[4] == ',' || p[4] == ' ')) {
            desc = true;
            p += 4;
        } else if (strncasecmp(p, "asc", 3) == 0 && (p[3] == 0 || p[3] == ',' || p[3] == ' ')) {
            p += 3;
        }
        /* "Post.id" or "posts.id", as SQLAlchemy writes it: the target's. */
        char *dot = strchr(name, '.');
        const char *colname = name;
        if (dot) {
            *dot = '\0';
            colname = dot + 1;
            if (strcmp(name, r->target->name) != 0 && strcmp(name, r->target->table->name) != 0) {
                *dot = '.';
                return rel_error(err, CR_ERR_ARGUMENT, r, "order_by: '%s' is not a column of "
                                 "the target, %s", name, r->target->name);
            }
        }
        cr_column *col = cr_table_column(r->target->table, colname);
        if (!col)
            return rel_error(err, CR_ERR_ARGUMENT, r, "order_by: '%s' has no column '%s'",
                             r->target->table->name, colname);
        if (r->norder == CR_ARRAY_LEN(r->order))
            return rel_error(err, CR_ERR_ARGUMENT, r, "order_by: more than 4 columns%s%s",
                             NULL, NULL);
        r->order[r->norder] = col;
        r->desc[r->norder++] = desc;
    }
    return CR_OK;
}

/* Resolve r; *pending is set when it failed because its target model,
 * secondary table or back side is not defined yet. */
static cr_status resolve(cr_relationship *r, cr_error *err, bool *pending)
{
    *pending = true;
    cr_metadata *md = r->parent->table->md;
    cr_mapper *target = find_mapper(md, r->target_name);
    if (!target)
        return rel_error(err, CR_ERR_INVALID_REQUEST, r, "model '%s' is not defined in this "
                         "metadata%s", r->target_name, NULL);
    cr_table *sec = NULL;
    if (r->secondary_name && !(sec = find_table(md, r->secondary_name)))
        return rel_error(err, CR_ERR_INVALID_REQUEST, r, "the secondary table '%s' is not defined "
                         "in this metadata%s", r->secondary_name, NULL);
    cr_relationship *back = NULL;
    if (r->back_name) {
        for (size_t i = 0; i < target->nrels && !back; i++)
            if (strcmp(target->rels[i]->name, r->back_name) == 0)
                back = target->rels[i];
        *pending = target->nrels == 0;
        if (!back)
            return rel_error(err, target->nrels ? CR_ERR_ARGUMENT : CR_ERR_INVALID_REQUEST, r,
                             "back_populates / backref: model '%s' has no relationship '%s' "
                             "(a C struct cannot grow one: declare it on that model too)",
                             target->name, r->back_name);
        if (strcmp(back->target_name, r->parent->name) != 0)
            return rel_error(err, CR_ERR_ARGUMENT, r, "back_populates: '%s' relates to another "
                             "model than this one%s", r->back_name, NULL);
    }
    *pending = false;
    r->target = target;
    r->secondary = sec;
    r->nkeys = r->ntkeys = r->norder = 0;
    cr_status st = sec ? resolve_secondary(r, err) : resolve_keys(r, err);
    if (!st)
        st = resolve_order(r, err);
    if (st)
        return st;
    /* delete-orphan from the many side: SQLAlchemy asks for single_parent.
     * Refused, not ignored. */
    if ((r->cascade & CR_CASCADE_DELETE_ORPHAN) && r->kind != CR_REL_ONE_TO_MANY &&
        !r->single_parent)
        return rel_error(err, CR_ERR_ARGUMENT, r, "delete-orphan cascade is not supported on a "
                         "%s relationship when single_parent is not set; set .single_parent = "
                         "true on the relationship%s", r->kind == CR_REL_MANY_TO_ONE
                                                       ? "many-to-one" : "many-to-many", NULL);
    if (back) {
        if (back->back && back->back != r)
            return rel_error(err, CR_ERR_ARGUMENT, r, "back_populates: '%s' is already the back "
                             "side of another relationship%s", r->back_name, NULL);
        r->back = back;
        back->back = r;
    }
    __atomic_store_n(&r->resolved, true, __ATOMIC_RELEASE);
    return CR_OK;
}

/* Resolve what can be; the first error goes on md. pending_ok: a
 * relationship waiting for a model not defined yet is no error. */
static cr_status configure(cr_metadata *md, bool pending_ok)
{
    cr_status first = CR_OK;
    pthread_mutex_lock(&resolve_lock);
    for (size_t i = 0; i < md->ntables && !first; i++) {
        cr_mapper *m = cr_table_mapper(md->tables[i]);
        for (size_t j = 0; m && j < m->nrels && !first; j++) {
            if (m->rels[j]->resolved)
                continue;
            cr_error e;
            cr_error_init(&e);
            bool pending;
            cr_status st = resolve(m->rels[j], &e, &pending);
            if (st && !(pending && pending_ok)) {
                first = st;
                cr_error_copy(&md->err, &e);
            }
            cr_error_clear(&e);
        }
    }
    pthread_mutex_unlock(&resolve_lock);
    return first;
}

cr_status cr_metadata_configure(cr_metadata *md)
{
    return md ? configure(md, false) : CR_ERR_ARGUMENT;
}

cr_status cr_rel_ready(cr_relationship *r, cr_error *err)
{
    if (__atomic_load_n(&r->resolved, __ATOMIC_ACQUIRE))
        return CR_OK;
    pthread_mutex_lock(&resolve_lock);
    bool pending;
    cr_status st = r->resolved ? CR_OK : resolve(r, err, &pending);
    /* Its back side with it: what works on a pair (the flush clearing a
     * many-to-many's rows) may go through either side. */
    if (!st && r->back && !r->back->resolved)
        st = resolve(r->back, err, &pending);
    pthread_mutex_unlock(&resolve_lock);
    return st;
}

cr_status cr_mapper_rels_ready(const cr_mapper *m, cr_error *err)
{
    for (size_t i = 0; i < m->nrels; i++) {
        cr_status st = cr_rel_ready(m->rels[i], err);
        if (st)
            return st;
    }
    return CR_OK;
}

const char *cr_relationship_name(const cr_relationship *r) { return r ? r->name : NULL; }
cr_mapper *cr_relationship_parent(const cr_relationship *r) { return r ? r->parent : NULL; }
cr_mapper *cr_relationship_target(const cr_relationship *r)
{
    return r && r->resolved ? r->target : NULL;
}

/* ---- an object's relationship state ---- */

cr_relstate *cr_relstate_of(const cr_instance *in, size_t r)
{
    return (cr_relstate *)((char *)in + in->mapper->rel_off) + r;
}

void **cr_rel_ref(const cr_instance *in, const cr_relationship *r)
{
    return (void **)((char *)in->obj + r->offset);
}

void **cr_rel_snap_ref(const cr_instance *in, const cr_relationship *r)
{
    return (void **)((char *)in->snap + r->offset);
}

cr_collection *cr_rel_coll(const cr_instance *in, const cr_relationship *r)
{
    return (cr_collection *)((char *)in->obj + r->offset);
}

bool cr_rel_deletes_orphans(const cr_relationship *r)
{
    return r->kind == CR_REL_ONE_TO_MANY && (r->cascade & CR_CASCADE_DELETE_ORPHAN);
}

bool cr_rel_orphans_target(const cr_relationship *r)
{
    return r->kind != CR_REL_ONE_TO_MANY && (r->cascade & CR_CASCADE_DELETE_ORPHAN);
}

/* An object of s other than self that holds target through r (its
 * many-to-one pointing at it, or its many-to-many collection holding it),
 * not deleted; NULL when none. */
static cr_instance *other_parent(const cr_session *s, const cr_relationship *r,
                                 const cr_instance *self, const void *target)
{
    for (cr_instance *in = s->head; in; in = in->next) {
        if (in == self || in->session != s || in->mapper != r->parent || in->marked_delete ||
            in->state == CR_INST_DELETED)
            continue;
        if (r->many ? cr_collection_has(cr_rel_coll(in, r), target) : *cr_rel_ref(in, r) == target)
            return in;
    }
    return NULL;
}

size_t cr_rel_members(const cr_instance *in, const cr_relationship *r, void ***items, void **one)
{
    if (r->many) {
        cr_collection *c = cr_rel_coll(in, r);
        *items = c->items;
        return c->count;
    }
    *one = *cr_rel_ref(in, r);
    *items = one;
    return *one ? 1 : 0;
}

bool cr_collection_has(const cr_collection *c, const void *obj)
{
    for (size_t i = 0; i < c->count; i++)
        if (c->items[i] == obj)
            return true;
    return false;
}

cr_status cr_collection_push(cr_collection *c, void *obj)
{
    if (c->count == c->capacity) {
        size_t cap = c->capacity ? c->capacity * 2 : 4;
        void **items = cr_realloc(c->items, cap * sizeof *items);
        if (!items)
            return CR_ERR_NO_MEMORY;
        c->items = items;
        c->capacity = cap;
    }
    c->items[c->count++] = obj;
    return CR_OK;
}

bool cr_collection_drop(cr_collection *c, const void *obj)
{
    for (size_t i = 0; i < c->count; i++)
        if (c->items[i] == obj) {
            memmove(&c->items[i], &c->items[i + 1], (c->count - i - 1) * sizeof *c->items);
            c->count--;
            return true;
        }
    return false;
}

cr_status cr_rel_snapshot(cr_instance *in)
{
    const cr_mapper *m = in->mapper;
    /* Copies first, so that running out of memory changes nothing. */
    void **fresh[64];
    for (size_t i = 0; i < m->nrels; i++) {
        const cr_relationship *r = m->rels[i];
        fresh[i] = NULL;
        if (!r->many || cr_rel_coll(in, r)->count == 0)
            continue;
        cr_collection *c = cr_rel_coll(in, r);
        if (!(fresh[i] = cr_malloc(c->count * sizeof(void *)))) {
            for (size_t j = 0; j < i; j++)
                cr_free(fresh[j]);
            return CR_ERR_NO_MEMORY;
        }
        memcpy(fresh[i], c->items, c->count * sizeof(void *));
    }
    for (size_t i = 0; i < m->nrels; i++) {
        const cr_relationship *r = m->rels[i];
        cr_relstate *rs = cr_relstate_of(in, i);
        if (r->many) {
            cr_free(rs->orig);
            rs->orig = fresh[i];
            rs->norig = cr_rel_coll(in, r)->count;
        } else {
            *cr_rel_snap_ref(in, r) = *cr_rel_ref(in, r);
        }
        rs->changed = false;
    }
    return CR_OK;
}

void cr_rel_forget(cr_instance *in)
{
    const cr_mapper *m = in->mapper;
    for (size_t i = 0; i < m->nrels; i++) {
        cr_relstate *rs = cr_relstate_of(in, i);
        cr_free(rs->orig);
        rs->orig = NULL;
        rs->norig = 0;
        if (m->rels[i]->many) {
            cr_collection *c = cr_rel_coll(in, m->rels[i]);
            cr_free(c->items);
            memset(c, 0, sizeof *c);
        }
    }
}

void cr_rel_restore(cr_instance *in)
{
    for (size_t i = 0; i < in->mapper->nrels; i++) {
        const cr_relationship *r = in->mapper->rels[i];
        cr_relstate *rs = cr_relstate_of(in, i);
        if (!r->many) {
            *cr_rel_ref(in, r) = *cr_rel_snap_ref(in, r);
            continue;
        }
        cr_collection *c = cr_rel_coll(in, r);
        if (!rs->changed || c->capacity < rs->norig)
            continue;   /* it only grew: the old members fit */
        if (rs->norig)
            memcpy(c->items, rs->orig, rs->norig * sizeof *c->items);
        c->count = rs->norig;
        rs->changed = false;
    }
}

void cr_rel_drop_unloaded(cr_instance *in)
{
    for (size_t i = 0; i < in->mapper->nrels; i++) {
        const cr_relationship *r = in->mapper->rels[i];
        cr_relstate *rs = cr_relstate_of(in, i);
        if (rs->loaded)
            continue;
        if (!r->many) {
            if (*cr_rel_ref(in, r) == *cr_rel_snap_ref(in, r))   /* not set since */
                *cr_rel_ref(in, r) = *cr_rel_snap_ref(in, r) = NULL;
        } else if (!rs->changed) {
            cr_rel_coll(in, r)->count = 0;
            rs->norig = 0;
        }
    }
}

void cr_rel_expire(cr_instance *in)
{
    for (size_t i = 0; i < in->mapper->nrels; i++) {
        const cr_relationship *r = in->mapper->rels[i];
        cr_relstate *rs = cr_relstate_of(in, i);
        rs->loaded = false;
        rs->raise = false;
        /* What an expired reference holds is stale, not a change: a link
         * the flush left out (to an object expunged or made transient) is
         * not followed nor written later. A reference assigned by hand
         * after the expiry differs from this again. */
        if (!r->many)
            *cr_rel_snap_ref(in, r) = *cr_rel_ref(in, r);
    }
}

/* ---- the calls ---- */

/* The instance and relationship of a call, with the error on the object's
 * session when it has one, else on the thread's last_error. */
typedef struct rel_call {
    cr_instance *in;
    cr_relationship *r;
    cr_session *s;
} rel_call;

/* The error of the thread's last relationship call (cr_relationship_error):
 * with no session, where its error goes; with one, a copy made as the call
 * ends (call_end). Never holds a statement, so that nothing of it is left
 * to free when the thread ends. */
static _Thread_local cr_error last_error;

const cr_error *cr_relationship_error(void)
{
    return last_error.cls != CR_OK ? &last_error : NULL;
}

static cr_error *call_err(rel_call *c) { return c->s ? &c->s->err : &last_error; }

/* The status of the public call on obj, its error kept as the thread's. */
static cr_status call_end(const void *obj, cr_status st)
{
    if (st == CR_OK) {
        cr_error_clear(&last_error);
        return st;
    }
    /* Set already when the object had no session as the call began. */
    const cr_instance *in = cr_instance_of(obj);
    if (last_error.cls == CR_OK && in && in->session && in->session->err.cls != CR_OK)
        cr_error_copy(&last_error, &in->session->err);
    else if (last_error.cls == CR_OK)
        cr_error_set(&last_error, st, "relationship call: %s", !obj ? "the object is NULL"
                     : !in ? "the object is not an object of a model (made by cr_new, or "
                             "loaded by a session)"
                           : cr_status_name(st));
    cr_free(last_error.statement);
    last_error.statement = NULL;
    return st;
}

static cr_status call_fail(rel_call *c, cr_status cls, const char *fmt, const char *a,
                           const char *b)
{
    return rel_error(call_err(c), cls, c->r, fmt, a, b);
}

static cr_status call_start(rel_call *c, void *obj, size_t offset, bool want_many, int want_one)
{
    memset(c, 0, sizeof *c);
    cr_error_clear(&last_error);
    c->in = cr_instance_of(obj);
    if (!c->in)
        return obj ? CR_ERR_UNMAPPED_INSTANCE : CR_ERR_ARGUMENT;
    c->s = c->in->session;
    if (c->s)
        cr_error_clear(&c->s->err);
    const cr_mapper *m = c->in->mapper;
    for (size_t i = 0; i < m->nrels && !c->r; i++)
        if (m->rels[i]->offset == offset)
            c->r = m->rels[i];
    if (!c->r)
        return cr_error_set(call_err(c), CR_ERR_ARGUMENT, "%s has no relationship at that "
                            "field", m->name);
    cr_status st = cr_rel_ready(c->r, call_err(c));
    if (st)
        return st;
    /* Mid-flush, a changed collection would leave the flush's plan wrong. */
    if (c->s && c->s->listening)
        return call_fail(c, CR_ERR_INVALID_REQUEST, "the object's Session is in a listener that "
                         "may not use it (a mapper event's, after_begin's, after_commit's or "
                         "after_rollback's)%s%s", NULL, NULL);
    if (want_many && !c->r->many)
        return call_fail(c, CR_ERR_ARGUMENT, "it holds one object, not a collection: use "
                         "cr_set_related%s%s", NULL, NULL);
    if (want_one && c->r->many)
        return call_fail(c, CR_ERR_ARGUMENT, "it is a collection: use cr_append / "
                         "cr_remove%s%s", NULL, NULL);
    return CR_OK;
}

/* The related object's instance, checked against the relationship. */
static cr_status related_arg(rel_call *c, void *obj, cr_instance **out, bool null_ok)
{
    *out = NULL;
    if (!obj)
        return null_ok ? CR_OK : call_fail(c, CR_ERR_ARGUMENT, "the related object is NULL%s%s",
                                           NULL, NULL);
    cr_instance *t = cr_instance_of(obj);
    if (!t)
        return call_fail(c, CR_ERR_UNMAPPED_INSTANCE, "the related object is not an object of a "
                         "mapped model%s%s", NULL, NULL);
    if (t->mapper != c->r->target)
        return call_fail(c, CR_ERR_ARGUMENT, "it takes %s objects, not %s", c->r->target->name,
                         t->mapper->name);
    if (t->session && t->session->listening)
        return call_fail(c, CR_ERR_INVALID_REQUEST, "the %s object's Session is in a listener "
                         "that may not use it%s", t->mapper->name, NULL);
    if (t->session && c->s && t->session != c->s)
        return call_fail(c, CR_ERR_INVALID_REQUEST, "the %s object belongs to another "
                         "session%s", t->mapper->name, NULL);
    *out = t;
    return CR_OK;
}

/* Back side: make the other side of r on `other` say `in` (add) or not. */
cr_status cr_rel_back_link(cr_instance *other, const cr_relationship *r, cr_instance *in,
                           bool add)
{
    const cr_relationship *b = r->back;
    if (!b || !other)
        return CR_OK;
    cr_relstate *rs = cr_relstate_of(other, b->index);
    if (b->many) {
        if (!rs->loaded)
            return CR_OK;    /* it loads with the change from the database */
        cr_collection *c = cr_rel_coll(other, b);
        if (add && !cr_collection_has(c, in->obj)) {
            if (cr_collection_push(c, in->obj))
                return CR_ERR_NO_MEMORY;
            rs->changed = true;
        } else if (!add && cr_collection_drop(c, in->obj)) {
            rs->changed = true;
        }
        return CR_OK;
    }
    void **ref = cr_rel_ref(other, b);
    if (add) {
        /* Known from here, as SQLAlchemy's backref puts it in the object's
         * dict: a later set_related lets go of it. */
        *ref = in->obj;
        rs->loaded = true;
    } else if (*ref == in->obj) {
        *ref = NULL;
    }
    return CR_OK;
}

/* A relationship call changed in (and t): their sessions' lazy loads
 * autoflush before they read. */
static void note_change(cr_instance *in, cr_instance *t)
{
    if (in->session)
        in->session->rel_changed = true;
    if (t && t->session)
        t->session->rel_changed = true;
}

/* Whether the object's DELETE was flushed (or committed: detached then). */
static bool row_gone(const cr_instance *in)
{
    return in->state == CR_INST_DELETED || in->row_deleted;
}

/* Adding to a relationship of an object in a session adds the related
 * object (save-update cascade). */
static cr_status cascade_one(rel_call *c, cr_instance *t)
{
    if (c->s && !t->session && (c->r->cascade & CR_CASCADE_SAVE_UPDATE))
        return cr_rel_cascade_add(c->s, t);
    /* The other side's cascade, as SQLAlchemy's backref event runs it: an
     * object in no session linked to one in a session goes in along the
     * back relationship (post.author = user: user.posts takes the post).
     * An object whose DELETE was flushed cascades nothing: SQLAlchemy 2.0
     * has no backref cascade, and 1.4's takes the post in only to insert it
     * without the user's key. */
    const cr_relationship *back = c->r->back;
    if (!c->s && t->session && !row_gone(t) && back && (back->cascade & CR_CASCADE_SAVE_UPDATE))
        return cr_rel_cascade_add(t->session, c->in);
    return CR_OK;
}

/* Linking an object whose DELETE was flushed or committed to an object of
 * a session, along a relationship whose save-update cascade would reach
 * it, is refused before anything changes, as SQLAlchemy's cascade refuses
 * it (session.add of a deleted object): checked both ways. */
static cr_status refuse_deleted(rel_call *c, cr_instance *t)
{
    const cr_relationship *r = c->r, *back = r->back;
    bool cascades = c->in->session && (r->cascade & CR_CASCADE_SAVE_UPDATE);
    bool to_t = t && row_gone(t) && cascades;
    /* t's cascade runs when t is in a session, or this call puts it there */
    bool to_in = t && row_gone(c->in) && (t->session || cascades) && back &&
                 (back->cascade & CR_CASCADE_SAVE_UPDATE);
    if (!to_t && !to_in)
        return CR_OK;
    cr_buf b;
    cr_buf_init(&b);
    cr_describe(to_t ? t : c->in, &b);
    cr_status st = call_fail(c, CR_ERR_INVALID_REQUEST, "instance '%s' has been deleted (its "
                             "DELETE was flushed)%s", cr_buf_cstr(&b) ? cr_buf_cstr(&b) : "?",
                             NULL);
    cr_buf_free(&b);
    return st;
}

/* Make sure the relationship is loaded (cr_load), and before a change (a
 * persistent object's collection is loaded first, as attribute access
 * does; a detached one's cannot be). */
static cr_status ensure_loaded(rel_call *c)
{
    cr_relstate *rs = cr_relstate_of(c->in, c->r->index);
    if (rs->loaded)
        return CR_OK;
    if (c->in->state == CR_INST_TRANSIENT || c->in->state == CR_INST_PENDING) {
        rs->loaded = true;   /* new: nothing to load */
        return CR_OK;
    }
    if (!c->s)   /* a change blind to the members would fight the back side's */
        return call_fail(c, CR_ERR_DETACHED_INSTANCE, "the %s object is not bound to a Session; "
                         "lazy load operation cannot proceed%s", c->in->mapper->name, NULL);
    if (c->r->lazy == CR_LOAD_RAISE || rs->raise)
        return call_fail(c, CR_ERR_INVALID_REQUEST, "'%s.%s' is not available due to "
                         "lazy='raise'", c->r->parent->name, c->r->name);
    cr_status st = cr_session_check(c->s);
    return st ? st : cr_rel_load(c->s, c->in, c->r);
}

/* The start of cr_append / cr_remove: the collection relationship at
 * offset, child checked as its target, the collection loaded. */
static cr_status collection_call(rel_call *c, void *obj, size_t offset, void *child,
                                 cr_instance **t)
{
    cr_status st = call_start(c, obj, offset, true, 0);
    if (!st)
        st = related_arg(c, child, t, false);
    assert(st || *t);   /* related_arg refuses a NULL child */
    return st ? st : ensure_loaded(c);
}

/* The collection changed by a call (its flush compares it; lazy loads
 * autoflush). */
static void collection_changed(rel_call *c, cr_instance *t)
{
    cr_relstate_of(c->in, c->r->index)->changed = true;
    note_change(c->in, t);
}

/* Whether the snapshot of parent's collection r (as loaded or last
 * flushed) holds child. */
static bool in_snapshot(const cr_instance *parent, const cr_relationship *r, const void *child)
{
    const cr_relstate *rs = cr_relstate_of(parent, r->index);
    for (size_t i = 0; i < rs->norig; i++)
        if (rs->orig[i] == child)
            return true;
    return false;
}

/* A persistent child that parent's collection r lets go of, when no
 * snapshot of that collection tells it at the flush (a new parent's, one
 * not loaded, or one the child came into since it was loaded): the flush
 * deletes it as an orphan of r unless it has a parent again (SQLAlchemy's
 * has-parent flag, set by the append and cleared by the remove). */
static void note_left(const cr_relationship *r, const cr_instance *parent, cr_instance *child)
{
    if (cr_rel_deletes_orphans(r) && child->state == CR_INST_PERSISTENT &&
        (parent->state != CR_INST_PERSISTENT || !cr_relstate_of(parent, r->index)->loaded ||
         !in_snapshot(parent, r, child)))
        child->left_parent = r;
}

/* A pending orphan: a child never flushed that leaves a one-to-many (or a
 * one-to-one from the side without the key) with delete-orphan. SQLAlchemy
 * expunges it there and then (the remove event of unitofwork.py): it has
 * no row to delete, and its INSERT would carry a NULL key. It is taken out
 * with what its loaded expunge cascades reach, and stays the session's to
 * free, as a pending child the delete cascade reaches does. What it takes
 * is collected before the call changes anything, so that running out of
 * memory changes nothing. */
typedef struct orphan_out {
    cr_session *s;               /* NULL: t is no pending orphan              */
    cr_instance **list;
    size_t n;
} orphan_out;

/* t, pending, is an orphan when orphaned is true. */
static cr_status orphan_prepare_if(bool orphaned, cr_instance *t, orphan_out *o)
{
    memset(o, 0, sizeof *o);
    if (!orphaned || !t || !t->session || t->state != CR_INST_PENDING)
        return CR_OK;
    o->s = t->session;   /* the child's: the parent may be in no session */
    return cr_cascade_expunge_list(o->s, t, &o->list, &o->n);
}

/* r: the relationship t leaves (NULL: none). */
static cr_status orphan_prepare(const cr_relationship *r, cr_instance *t, orphan_out *o)
{
    return orphan_prepare_if(r && cr_rel_deletes_orphans(r), t, o);
}

/* Whether t, pending, is an orphan once self lets go of it through a
 * many-to-one or many-to-many with delete-orphan: no other parent holds it
 * (only then is the session scanned). */
static bool target_orphaned(const cr_relationship *r, const cr_instance *self,
                            const cr_instance *t)
{
    return cr_rel_orphans_target(r) && t && t->session && t->state == CR_INST_PENDING &&
           !other_parent(t->session, r, self, t->obj);
}

/* single_parent: target t (of c's relationship) may not have another
 * parent in its session already (SQLAlchemy's single_parent validator). An
 * object in no session has no parent the calls gave it: a loop making new
 * objects scans nothing; what plain assignments did, the flush checks. */
static cr_status check_single_parent(rel_call *c, cr_instance *t)
{
    const cr_session *s = t->session;
    if (!c->r->single_parent || c->r->kind == CR_REL_ONE_TO_MANY || !s ||
        !other_parent(s, c->r, c->in, t->obj))
        return CR_OK;
    return call_fail(c, CR_ERR_INVALID_REQUEST, "the %s object is already associated with "
                     "another %s through it, and is only allowed a single parent",
                     t->mapper->name, c->r->parent->name);
}

static void orphan_finish(orphan_out *o)
{
    for (size_t i = 0; i < o->n; i++)
        cr_session_take_out(o->s, o->list[i]);
    cr_free(o->list);
}

static cr_status object_append(void *obj, size_t offset, void *child)
{
    rel_call c;
    cr_instance *t;
    cr_status st = collection_call(&c, obj, offset, child, &t);
    if (st)
        return st;
    cr_collection *coll = cr_rel_coll(c.in, c.r);
    if (cr_collection_has(coll, child)) {
        cr_relstate_of(c.in, c.r->index)->given = true;
        return CR_OK;
    }
    if ((st = refuse_deleted(&c, t)) || (st = check_single_parent(&c, t)))
        return st;
    if (cr_collection_push(coll, child))
        return c.s ? cr_error_oom(&c.s->err) : CR_ERR_NO_MEMORY;
    cr_relstate_of(c.in, c.r->index)->given = true;
    collection_changed(&c, t);
    /* A child has one parent through a one-to-many: it leaves the old one's
     * loaded collection. */
    if (c.r->back && !c.r->back->many) {
        void *old = *cr_rel_ref(t, c.r->back);
        cr_instance *oin = old ? cr_instance_of(old) : NULL;
        if (oin && oin != c.in)
            cr_rel_back_link(oin, c.r->back, t, false);
    }
    if (cr_rel_back_link(t, c.r, c.in, true))
        return c.s ? cr_error_oom(&c.s->err) : CR_ERR_NO_MEMORY;
    return cascade_one(&c, t);
}

static cr_status object_remove(void *obj, size_t offset, void *child)
{
    rel_call c;
    cr_instance *t;
    cr_status st = collection_call(&c, obj, offset, child, &t);
    if (st)
        return st;
    cr_collection *coll = cr_rel_coll(c.in, c.r);
    if (!cr_collection_has(coll, child))
        return call_fail(&c, CR_ERR_INVALID_REQUEST, "the %s object is not in the "
                         "collection%s", t->mapper->name, NULL);
    orphan_out o;
    bool orphaned = cr_rel_deletes_orphans(c.r) || target_orphaned(c.r, c.in, t);
    if ((st = orphan_prepare_if(orphaned, t, &o)))
        return st;
    cr_collection_drop(coll, child);
    cr_relstate_of(c.in, c.r->index)->given = true;
    collection_changed(&c, t);
    cr_rel_back_link(t, c.r, c.in, false);
    orphan_finish(&o);
    note_left(c.r, c.in, t);
    return CR_OK;
}

/* The side without the key of a one-to-one, about to take c->in through
 * its back side (profile.user = user: user.profile), is loaded first when
 * persistent, as SQLAlchemy's active history loads it: its old partner then
 * lets go, and is an orphan where the cascade says so. */
static cr_status load_partner(const rel_call *c, cr_instance *t)
{
    const cr_relationship *back = c->r->back;
    if (!back || back->many || back->kind != CR_REL_ONE_TO_MANY || !t->session ||
        t->state != CR_INST_PERSISTENT || cr_relstate_of(t, back->index)->loaded)
        return CR_OK;
    rel_call tc = {t, (cr_relationship *)back, t->session};
    cr_status st = ensure_loaded(&tc);
    if (st && !c->s)   /* the call's error, kept by call_end */
        cr_error_copy(&last_error, &t->session->err);
    return st;
}

/* A reference set on an expired object of a session, even to what it
 * held: SQLAlchemy's object is modified then, and its flush loads it. */
static void touch_expired(rel_call *c)
{
    if (c->s && c->in->expired && c->in->state == CR_INST_PERSISTENT) {
        c->in->touched = true;
        c->s->rel_changed = true;   /* a get's autoflush runs for it too */
    }
}

static cr_status object_set_related(void *obj, size_t offset, void *target)
{
    rel_call c;
    cr_instance *t;
    cr_status st = call_start(&c, obj, offset, false, 1);
    if (!st)
        st = related_arg(&c, target, &t, true);
    if (st)
        return st;
    cr_relstate *rs = cr_relstate_of(c.in, c.r->index);
    void **ref = cr_rel_ref(c.in, c.r);
    /* The old value's back side is only known when loaded (a one-to-one
     * whose other side holds the key is loaded first, as SQLAlchemy does). */
    if (!rs->loaded && c.r->kind == CR_REL_ONE_TO_MANY && (st = ensure_loaded(&c)))
        return st;
    void *old = *ref;
    if (old == target) {
        /* Not loaded (expired, or not yet), the reference is set all the
         * same: as SQLAlchemy's set, which has no old value to compare, it
         * is a change (a get's autoflush runs for it) and cascades the
         * target (one expunged or made transient comes in again). */
        bool known = rs->loaded;
        if (!known && t && (st = refuse_deleted(&c, t)))
            return st;
        rs->loaded = rs->given = true;
        if (!known && c.s)
            c.s->rel_changed = true;
        touch_expired(&c);
        return !known && t ? cascade_one(&c, t) : CR_OK;
    }
    if ((st = refuse_deleted(&c, t)) || (t && (st = load_partner(&c, t))) ||
        (t && (st = check_single_parent(&c, t))))
        return st;
    cr_instance *oin = old ? cr_instance_of(old) : NULL;
    /* A reference not loaded, of an expired object or to one, is not known
     * without a load: SQLAlchemy sets it without loading the old value
     * (it finds it only in the identity map, by a key it holds), so no back
     * side lets go of this object and it is no orphan of that one. */
    if (oin && !rs->loaded && c.r->kind == CR_REL_MANY_TO_ONE && (c.in->expired || oin->expired))
        oin = NULL;
    /* Orphaned: the old target of a one-to-one, or this object itself when
     * it leaves its parent's collection for none (moved to another parent,
     * it is saved under that one). */
    orphan_out o, o_old;
    bool to_one = c.r->kind == CR_REL_MANY_TO_ONE;
    if ((st = orphan_prepare(!to_one ? c.r : oin && !t ? c.r->back : NULL, to_one ? c.in : oin,
                             &o)))
        return st;
    /* A many-to-one with delete-orphan: the pending object it lets go of,
     * held by no other parent, leaves the session (SQLAlchemy's set event). */
    if ((st = orphan_prepare_if(to_one && target_orphaned(c.r, c.in, oin), oin, &o_old))) {
        cr_free(o.list);
        return st;
    }
    if (oin) {
        cr_rel_back_link(oin, c.r, c.in, false);
        if (c.r->back)
            note_left(c.r->back, oin, c.in);
    }
    *ref = target;
    rs->loaded = rs->given = true;
    touch_expired(&c);
    note_change(c.in, t);
    if (oin)
        note_change(oin, NULL);
    orphan_finish(&o);
    orphan_finish(&o_old);
    if (t) {
        /* one-to-one: the target's previous partner lets go of it */
        if (c.r->back && !c.r->back->many) {
            void *prev = *cr_rel_ref(t, c.r->back);
            cr_instance *pin = prev ? cr_instance_of(prev) : NULL;
            if (pin && pin != c.in && *cr_rel_ref(pin, c.r) == target)
                *cr_rel_ref(pin, c.r) = NULL;
        }
        if (cr_rel_back_link(t, c.r, c.in, true))
            return c.s ? cr_error_oom(&c.s->err) : CR_ERR_NO_MEMORY;
        return cascade_one(&c, t);
    }
    return CR_OK;
}

/* The field of m at offset, or -1. */
static int field_at(const cr_mapper *m, size_t offset)
{
    for (size_t i = 0; i < m->nfields; i++)
        if (m->fields[i].offset == offset)
            return (int)i;
    return -1;
}

bool cr_object_loaded(const void *obj, size_t offset)
{
    const cr_instance *in = cr_instance_of(obj);
    if (!in)
        return false;
    int f = field_at(in->mapper, offset);
    if (f >= 0)
        return !in->expired && !(in->unloaded >> f & 1);
    for (size_t i = 0; i < in->mapper->nrels; i++)
        if (in->mapper->rels[i]->offset == offset)
            return cr_relstate_of(in, i)->loaded;
    return false;
}

/* cr_load of a field: one left out by its query (deferred), or of an
 * expired object, is loaded. */
static cr_status field_load(cr_instance *in, size_t i)
{
    rel_call c = {.in = in, .s = in->session};
    if (c.s)
        cr_error_clear(&c.s->err);
    if (!(in->unloaded >> i & 1) && !in->expired)
        return CR_OK;
    const char *name = in->mapper->fields[i].col->name;
    if (!c.s)
        return cr_error_set(call_err(&c), CR_ERR_DETACHED_INSTANCE, "the %s object is not bound "
                            "to a Session; deferred load operation of attribute '%s' cannot "
                            "proceed", in->mapper->name, name);
    if (c.s->listening)
        return cr_error_set(call_err(&c), CR_ERR_INVALID_REQUEST, "loading %s.%s: the object's "
                            "Session is in a listener that may not use it", in->mapper->name,
                            name);
    cr_status st = cr_session_check(c.s);
    return st ? st : cr_instance_load_field(c.s, in, i);
}

static cr_status object_load(void *obj, size_t offset)
{
    cr_instance *in = cr_instance_of(obj);
    int f = in ? field_at(in->mapper, offset) : -1;
    if (f >= 0) {
        cr_error_clear(&last_error);
        return field_load(in, (size_t)f);
    }
    rel_call c;
    cr_status st = call_start(&c, obj, offset, false, 0);
    return st ? st : ensure_loaded(&c);
}

cr_status cr_object_load(void *obj, size_t offset)
{
    return call_end(obj, object_load(obj, offset));
}

cr_status cr_object_set_related(void *obj, size_t offset, void *target)
{
    return call_end(obj, object_set_related(obj, offset, target));
}

cr_status cr_object_append(void *obj, size_t offset, void *child)
{
    return call_end(obj, object_append(obj, offset, child));
}

cr_status cr_object_remove(void *obj, size_t offset, void *child)
{
    return call_end(obj, object_remove(obj, offset, child));
}

/* ---- lazy loads ---- */

cr_expr *cr_rel_secondary_on(cr_stmt *q, const cr_relationship *r, bool target_side)
{
    return cr_rel_secondary_on_from(q, r, target_side, NULL, NULL);
}

/* The statement loading relationship r for one parent: the target's
 * columns WHERE the keys equal :pk_0.. (built once per session). */
static cr_stmt *lazy_stmt(cr_session *s, const cr_relationship *r, size_t *slot)
{
    for (size_t i = 0; i < s->nlazyq; i++)
        if (s->lazyq[i].r == r) {
            *slot = i;
            return s->lazyq[i].q;
        }
    const cr_mapper *t = r->target;
    cr_stmt *q = cr_select_new();
    if (!q) {
        cr_error_oom(&s->err);
        return NULL;
    }
    q->orm_mapper = t;
    cr_mapper_columns(q, NULL, t, t->deferred);
    if (r->kind == CR_REL_MANY_TO_MANY) {
        cr_join(q, r->secondary, cr_rel_secondary_on(q, r, true));
        for (size_t k = 0; k < r->nkeys; k++)
            cr_where(q, cr_binary(q, CR_OP_EQ, (cr_expr *)(void *)r->sec_local[k],
                                  cr_bindparam(q, cr_key_names[k])));
    } else if (r->kind == CR_REL_ONE_TO_MANY) {
        for (size_t k = 0; k < r->nkeys; k++)
            cr_where(q, cr_binary(q, CR_OP_EQ, (cr_expr *)(void *)t->fields[r->fk[k]].col,
                                  cr_bindparam(q, cr_key_names[k])));
    } else {
        for (size_t k = 0; k < r->nkeys; k++)
            cr_where(q, cr_binary(q, CR_OP_EQ, (cr_expr *)(void *)t->fields[r->ref[k]].col,
                                  cr_bindparam(q, cr_key_names[k])));
    }
    for (size_t k = 0; k < r->norder; k++)
        cr_order_by(q, r->desc[k] ? cr_desc(q, (cr_expr *)(void *)r->order[k])
                                  : (cr_expr *)(void *)r->order[k]);
    if (cr_stmt_error(q)) {
        cr_error_copy(&s->err, cr_stmt_error(q));
        cr_stmt_free(q);
        return NULL;
    }
    struct lazy_stmt *grown = cr_realloc(s->lazyq, (s->nlazyq + 1) * sizeof *grown);
    size_t *counts = grown ? cr_realloc(s->lazy_per_rel, (s->nlazyq + 1) * sizeof *counts) : NULL;
    if (grown)
        s->lazyq = grown;
    if (!counts) {
        cr_stmt_free(q);
        cr_error_oom(&s->err);
        return NULL;
    }
    s->lazy_per_rel = counts;
    counts[s->nlazyq] = 0;
    s->lazyq[s->nlazyq] = (struct lazy_stmt){r, q};
    *slot = s->nlazyq++;
    return q;
}

/* The parent's values the lazy load binds: its key fields (many-to-one:
 * its foreign key). false when one is NULL (nothing to load). */
static bool lazy_keys(const cr_instance *in, const cr_relationship *r, cr_param *params)
{
    for (size_t k = 0; k < r->nkeys; k++) {
        size_t f = r->kind == CR_REL_MANY_TO_ONE ? r->fk[k] : r->ref[k];
        cr_value v = cr_field_value(in, f);
        if (v.type == CR_NULL)
            return false;
        params[k] = (cr_param){cr_key_names[k], v};
    }
    params[r->nkeys] = (cr_param){NULL, cr_val_null()};
    return true;
}

/* Set the back side of freshly loaded members to the parent, unless the
 * program changed it. */
static void back_populate(cr_instance *parent, const cr_relationship *r, void **objs, size_t n)
{
    const cr_relationship *b = r->back;
    if (!b || b->many)
        return;
    for (size_t i = 0; i < n; i++) {
        cr_instance *ch = cr_instance_of(objs[i]);
        cr_relstate *rs = cr_relstate_of(ch, b->index);
        void **ref = cr_rel_ref(ch, b);
        if (rs->loaded && *ref != *cr_rel_snap_ref(ch, b))
            continue;
        *ref = parent->obj;
        *cr_rel_snap_ref(ch, b) = parent->obj;
        rs->loaded = true;
    }
}

cr_status cr_rel_set_loaded(cr_instance *in, cr_relationship *r, void **objs, size_t n)
{
    cr_relstate *rs = cr_relstate_of(in, r->index);
    if (!r->many) {
        *cr_rel_ref(in, r) = n ? objs[0] : NULL;
        *cr_rel_snap_ref(in, r) = n ? objs[0] : NULL;
    } else {
        void **orig = n ? cr_malloc(n * sizeof *orig) : NULL;
        cr_collection *c = cr_rel_coll(in, r);
        if (n && (!orig || c->capacity < n)) {
            void **items = orig ? cr_realloc(c->items, n * sizeof *items) : NULL;
            if (!items) {
                cr_free(orig);
                return CR_ERR_NO_MEMORY;
            }
            c->items = items;
            c->capacity = n;
        }
        if (n) {
            if (c->items != objs)
                memmove(c->items, objs, n * sizeof *objs);
            memcpy(orig, objs, n * sizeof *objs);
        }
        c->count = n;
        cr_free(rs->orig);
        rs->orig = orig;
        rs->norig = n;
    }
    rs->loaded = true;
    rs->changed = false;
    if (r->kind != CR_REL_MANY_TO_MANY)
        back_populate(in, r, objs, n);
    return CR_OK;
}

/* The N+1 report: once per relationship and session, under echo. */
static void count_lazy(cr_session *s, const cr_relationship *r, size_t slot)
{
    s->lazy_loads++;
    if (++s->lazy_per_rel[slot] != (size_t)s->lazy_warn + 1 || s->lazy_warn <= 0)
        return;
    cr_engine_log(s->engine, "N+1 pattern: %s.%s was lazily loaded %zu times in one session; "
                  "load it with cr_selectinload(q, %s_model.r.%s) (or joinedload)",
                  r->parent->name, r->name, s->lazy_per_rel[slot], r->parent->name, r->name);
}

/* A one-to-many's rows, loaded without a flush before (in a delete's
 * cascade, or with autoflush off), may still name in for a child the
 * program has since given another parent, or none, through the back side
 * (cr_set_related, cr_append): such a child is no member, as SQLAlchemy's
 * collection keeps that change as a pending removal until it loads. A back
 * side only stale (as loaded or flushed) does not count. */
static void drop_moved(const cr_instance *in, const cr_relationship *r, cr_objects *list)
{
    const cr_relationship *b = r->back;
    if (r->kind != CR_REL_ONE_TO_MANY || !b || b->many)
        return;
    size_t n = 0;
    for (size_t i = 0; i < list->count; i++) {
        cr_instance *t = cr_instance_of(list->items[i]);
        void *now = t ? *cr_rel_ref(t, b) : NULL;
        if (t && cr_relstate_of(t, b->index)->loaded && now != in->obj &&
            now != *cr_rel_snap_ref(t, b))
            continue;
        list->items[n++] = list->items[i];
    }
    list->count = n;
}

/* The session's object a many-to-one r refers to by the key values
 * params (lazy_keys), found in the identity map when r refers to the
 * target's primary key; else NULL. */
static cr_instance *mapped_target(cr_session *s, const cr_relationship *r,
                                  const cr_param *params)
{
    bool by_pk = r->nkeys == r->target->npk;
    cr_value key[CR_REL_MAX_KEYS];
    for (size_t k = 0; k < r->nkeys && by_pk; k++) {
        by_pk = r->ref[k] == r->target->pk[k];
        key[k] = params[k].value;
    }
    return by_pk ? cr_map_find(s, r->target, key, cr_key_hash(key, r->nkeys)) : NULL;
}

void cr_rel_match_keys(cr_session *s, cr_instance *in)
{
    const cr_mapper *m = in->mapper;
    for (size_t i = 0; i < m->nrels; i++) {
        const cr_relationship *r = m->rels[i];
        if (r->kind != CR_REL_MANY_TO_ONE)
            continue;
        cr_param params[CR_REL_MAX_KEYS + 1];
        void *o = NULL;
        cr_instance *t = lazy_keys(in, r, params) ? mapped_target(s, r, params) : NULL;
        if (t && !t->marked_delete)
            o = t->obj;
        *cr_rel_ref(in, r) = o;
        *cr_rel_snap_ref(in, r) = o;
        cr_relstate_of(in, i)->changed = false;
    }
}

/* cr_rel_load, under its autoflush. */
static cr_status load_related(cr_session *s, cr_instance *in, cr_relationship *r)
{
    /* An expired object is loaded again first, keeping the fields set since:
     * its keys may have changed in the database (SQLAlchemy's lazy loader
     * reads them through the expired attributes, which loads them). */
    if (in->expired && in->session == s && in->state == CR_INST_PERSISTENT) {
        cr_status st = cr_instance_reload(s, in);
        if (st)
            return st;
    }
    cr_param params[CR_REL_MAX_KEYS + 1];
    if (!lazy_keys(in, r, params))
        return cr_rel_set_loaded(in, r, NULL, 0) ? cr_error_oom(&s->err) : CR_OK;
    /* A many-to-one to the target's primary key: the identity map first. */
    if (r->kind == CR_REL_MANY_TO_ONE) {
        cr_instance *t = mapped_target(s, r, params);
        if (t && !t->expired && !t->marked_delete) {
            void *o = t->obj;
            return cr_rel_set_loaded(in, r, &o, 1) ? cr_error_oom(&s->err) : CR_OK;
        }
    }
    size_t slot;
    cr_stmt *q = lazy_stmt(s, r, &slot);
    if (!q)
        return s->err.cls;
    count_lazy(s, r, slot);
    cr_objects *list = cr_session_all_params(s, q, params);
    if (!list)
        return s->err.cls;
    drop_moved(in, r, list);
    cr_status st = cr_rel_set_loaded(in, r, list->items, list->count);
    cr_objects_free(list);
    return st ? cr_error_oom(&s->err) : CR_OK;
}

cr_status cr_rel_load(cr_session *s, cr_instance *in, cr_relationship *r)
{
    /* The autoflush is for what can change the rows this load reads: new
     * and deleted objects, and changes made by the relationship calls. A
     * field changed by hand (post->user_id = 5, post->author = user) waits
     * for the next flush: finding it would compare every object of the
     * session, and a lazy load per object would cost N² (SQLAlchemy's
     * attribute events know what changed; a C struct cannot tell). */
    bool af = s->autoflush;
    s->autoflush = af && (s->unsaved || s->rel_changed);
    cr_status st = load_related(s, in, r);
    s->autoflush = af;
    return st;
}

size_t cr_session_lazy_loads(const cr_session *s) { return s ? s->lazy_loads : 0; }

/* ---- cascades ---- */

static cr_status cascade_add(cr_session *s, cr_instance *in, bool at_call);

/* One member of in's relationship r, taken into s by the cascade. */
static cr_status cascade_member(cr_session *s, const cr_relationship *r, void *obj, bool at_call)
{
    cr_instance *t = cr_instance_of(obj);
    if (!t)
        return CR_OK;
    if (t->session == s)
        return at_call ? cr_session_refuse_deleted(s, t) : CR_OK;
    if (!at_call && t->kept_out)
        return CR_OK;
    if (t->mapper != r->target)
        return rel_error(&s->err, CR_ERR_ARGUMENT, r, "it holds a %s object where %s "
                         "objects belong", t->mapper->name, r->target->name);
    if (t->session)
        return rel_error(&s->err, CR_ERR_INVALID_REQUEST, r, "it holds a %s object "
                         "that belongs to another session%s", t->mapper->name, NULL);
    return cascade_add(s, t, at_call);
}

/* The save-update cascade from in, taken into s. At a call (cr_session_add
 * and the relationship calls) a member whose DELETE was flushed is refused,
 * and one expunged or made transient is taken in again, as SQLAlchemy's
 * add cascades; the flush's cascade refuses nothing and leaves the latter
 * out, as SQLAlchemy cascaded at the call, before it went out. A call's
 * cascade also takes what a loaded relationship held before its unflushed
 * changes (a member removed, a reference replaced), as SQLAlchemy's
 * cascades the pending history, so that the flush can write what the
 * change means for it. */
static cr_status cascade_add(cr_session *s, cr_instance *in, bool at_call)
{
    cr_status st = cr_session_add_instance(s, in);
    if (st)
        return st;
    const cr_mapper *m = in->mapper;
    for (size_t i = 0; i < m->nrels; i++) {
        cr_relationship *r = m->rels[i];
        if (!(r->cascade & CR_CASCADE_SAVE_UPDATE))
            continue;
        /* The object may have come along another relationship: its model's
         * relationships may not be resolved yet. */
        if ((st = cr_rel_ready(r, &s->err)))
            return st;
        /* A relationship not loaded (expired) holds what it held before: the
         * cascade does not follow it, as SQLAlchemy's loads nothing. A
         * reference assigned by hand since (not its snapshot's) is
         * followed. */
        const cr_relstate *rs = cr_relstate_of(in, i);
        if (!rs->loaded && (r->many || *cr_rel_ref(in, r) == *cr_rel_snap_ref(in, r)))
            continue;
        void **items, *one;
        size_t n = cr_rel_members(in, r, &items, &one);
        for (size_t k = 0; k < n && !st; k++)
            st = cascade_member(s, r, items[k], at_call);
        if (at_call && rs->loaded && !r->many) {
            void *was = *cr_rel_snap_ref(in, r);
            if (!st && was && was != one)
                st = cascade_member(s, r, was, true);
        } else if (at_call && rs->loaded && rs->changed) {
            for (size_t k = 0; k < rs->norig && !st; k++)
                if (!cr_ptr_in(items, n, rs->orig[k]))
                    st = cascade_member(s, r, rs->orig[k], true);
        }
        if (st)
            return st;
    }
    return CR_OK;
}

cr_status cr_rel_cascade_add(cr_session *s, cr_instance *in) { return cascade_add(s, in, true); }

cr_status cr_rel_flush_cascade_add(cr_session *s, cr_instance *in)
{
    return cascade_add(s, in, false);
}

/* Whether cr_rel_cascade_delete loads a relationship of in: one with the
 * delete cascade, not loaded, not left to the database (passive_deletes). */
bool cr_rel_delete_loads(const cr_instance *in)
{
    for (size_t i = 0; i < in->mapper->nrels; i++) {
        const cr_relationship *r = in->mapper->rels[i];
        if ((r->cascade & CR_CASCADE_DELETE) && !r->passive_deletes &&
            !cr_relstate_of(in, i)->loaded)
            return true;
    }
    return false;
}

cr_status cr_rel_cascade_delete(cr_session *s, cr_instance *in, bool orphan)
{
    const cr_mapper *m = in->mapper;
    for (size_t i = 0; i < m->nrels; i++) {
        cr_relationship *r = m->rels[i];
        if (!(r->cascade & CR_CASCADE_DELETE))
            continue;
        cr_status st = cr_rel_ready(r, &s->err);
        if (st)
            return st;
        cr_relstate *rs = cr_relstate_of(in, i);
        if (!rs->loaded) {
            if (r->passive_deletes)
                continue;    /* the database's ON DELETE CASCADE deletes them */
            bool af = s->autoflush;   /* no flush halfway through a cascade */
            s->autoflush = false;
            st = cr_rel_load(s, in, r);
            s->autoflush = af;
            if (st)
                return st;
        }
        void **items, *one;
        size_t n = cr_rel_members(in, r, &items, &one);
        for (size_t k = 0; k < n; k++) {
            cr_instance *t = cr_instance_of(items[k]);
            /* A detached object (expunged with `in`, say) is attached to be
             * deleted, as SQLAlchemy's delete cascade attaches it; the
             * flush's cascade of an orphan stays in the session. */
            if (t && !orphan && !t->session && t->state == CR_INST_DETACHED &&
                !t->row_deleted && (st = cr_session_add_instance(s, t)))
                return st;
            /* A new object has no row to delete: SQLAlchemy's cascade
             * passes it by, and the flush takes it out if it is still
             * there then (take_out_new_children). */
            if (!t || t->marked_delete || t->session != s || t->state == CR_INST_DELETED ||
                t->state == CR_INST_PENDING)
                continue;
            t->marked_delete = true;
            t->orphaned = orphan;
            if ((st = cr_rel_cascade_delete(s, t, orphan)))
                return st;
        }
    }
    return CR_OK;
}
