/* fuzz_orm.c — the ORM's session and unit of work, driven by a byte-coded program of calls.
 *
 * Each input is a program over four models with relationships on an
 * in-memory SQLite database of its own: users and their posts (one-to-many,
 * "all, delete-orphan"), posts and tags (many-to-many through post_tags), and
 * nodes in a tree (self-referential, parent and children) with links between
 * them (a many-to-many of the table to itself through node_links, both of
 * its sides relationships). A byte picks a
 * call — make an object (now and then with the key of another: a row switch
 * when that one is deleted), add, delete, set a many-to-one, append to or remove
 * from a collection, change a field, load, query with a loader option (and
 * now and then populate_existing), flush,
 * commit, rollback, savepoints, expire, refresh, expunge, merge, close, what
 * the mapper and instance event listeners do (load and refresh too) — and
 * the bytes after it pick its objects from those the program has seen.
 * Errors are the program's to make; the oracles are:
 *   - no crash, no sanitizer report, no leak;
 *   - a flush or a query fails for the program's reasons only, never with
 *     ArgumentError or InternalError (statements the session built wrong);
 *   - after every flush that succeeded, memory and the database agree along
 *     the loaded relationships of persistent objects that are not expired:
 *     a post in a user's posts has that user's key as its user_id, in the
 *     struct and in its row; a post whose author is loaded has the author's
 *     key (NULL for none); a tag in a post's tags has its post_tags row, and
 *     the post has no other; a node in another's children has its key as
 *     parent_id; a node in another's links (linked_by) has its node_links
 *     row, and the node has no other;
 *   - after the program, a rollback succeeds and the session can still
 *     query every model. */
#include "fuzz.h"

#include "orm/orm.h"

#define USER_FIELDS(F)                                                                  \
    F(id,   INTEGER,    .primary_key = true)                                            \
    F(name, STRING(20))
#define USER_RELATIONSHIPS(R)                                                           \
    R(posts, MANY(Post), .back_populates = "author", .cascade = "all, delete-orphan",   \
                         .order_by = "id")
CR_MODEL(User, "users", USER_FIELDS, USER_RELATIONSHIPS)

#define POST_FIELDS(F)                                                                  \
    F(id,      INTEGER,    .primary_key = true)                                         \
    F(title,   STRING(20))                                                              \
    F(user_id, INTEGER,    .foreign_key = "users.id")
#define POST_RELATIONSHIPS(R)                                                           \
    R(author, ONE(User),  .back_populates = "posts")                                    \
    R(tags,   MANY(Tag),  .secondary = "post_tags", .back_populates = "posts")
CR_MODEL(Post, "posts", POST_FIELDS, POST_RELATIONSHIPS)

#define TAG_FIELDS(F)                                                                   \
    F(id,   INTEGER,    .primary_key = true)                                            \
    F(name, STRING(20))
#define TAG_RELATIONSHIPS(R)                                                            \
    R(posts, MANY(Post), .secondary = "post_tags", .back_populates = "tags")
CR_MODEL(Tag, "tags", TAG_FIELDS, TAG_RELATIONSHIPS)

#define POST_TAGS(COLUMN)                                                               \
    COLUMN(post_id, INTEGER, .primary_key = true, .foreign_key = "posts.id")            \
    COLUMN(tag_id,  INTEGER, .primary_key = true, .foreign_key = "tags.id")
CR_DECLARE_TABLE(post_tags_table, POST_TAGS)

#define NODE_FIELDS(F)                                                                  \
    F(id,        INTEGER,    .primary_key = true)                                       \
    F(parent_id, INTEGER,    .foreign_key = "nodes.id")                                 \
    F(label,     STRING(20))
#define NODE_RELATIONSHIPS(R)                                                           \
    R(parent,    ONE(Node),  .back_populates = "children")                              \
    R(children,  MANY(Node), .back_populates = "parent", .order_by = "id")              \
    R(links,     MANY(Node), .secondary = "node_links", .back_populates = "linked_by",  \
                             .foreign_keys = "node_links.from_id", .order_by = "id")    \
    R(linked_by, MANY(Node), .secondary = "node_links", .back_populates = "links",      \
                             .foreign_keys = "node_links.to_id", .order_by = "id")
CR_MODEL(Node, "nodes", NODE_FIELDS, NODE_RELATIONSHIPS)

#define NODE_LINKS(COLUMN)                                                              \
    COLUMN(from_id, INTEGER, .primary_key = true, .foreign_key = "nodes.id")            \
    COLUMN(to_id,   INTEGER, .primary_key = true, .foreign_key = "nodes.id")
CR_DECLARE_TABLE(node_links_table, NODE_LINKS)

static cr_metadata *md;
static post_tags_table post_tags;
static node_links_table node_links;

enum { MODEL_USER, MODEL_POST, MODEL_TAG, MODEL_NODE, NMODELS };
enum { MAX_OBJS = 64, MAX_OPS = 160 };

typedef struct vm {
    fuzz_input in;
    cr_session *s;
    void *objs[NMODELS][MAX_OBJS];   /* every object the program made or was handed */
    int n[NMODELS];
    int made;                        /* for distinct names */
    bool unchecked;                  /* a deleted or expunged object came back */
} vm;

static unsigned pick(vm *m, unsigned n) { return fuzz_byte(&m->in) % n; }

static const cr_mapper *mapper_of(int model)
{
    const cr_mapper *ms[NMODELS] = {User_model.mapper, Post_model.mapper, Tag_model.mapper,
                                    Node_model.mapper};
    return ms[model];
}

static bool is_kept(const vm *m, const void *obj)
{
    for (int model = 0; model < NMODELS; model++)
        for (int i = 0; i < m->n[model]; i++)
            if (m->objs[model][i] == obj)
                return true;
    return false;
}

static void keep(vm *m, int model, void *obj)
{
    if (!obj)
        return;
    for (int i = 0; i < m->n[model]; i++)
        if (m->objs[model][i] == obj)
            return;
    if (m->n[model] < MAX_OBJS)
        m->objs[model][m->n[model]++] = obj;
}

/* One of the model's objects, or NULL when there is none (or, now and then, by choice). */
static void *obj_of(vm *m, int model)
{
    unsigned i = pick(m, (unsigned)m->n[model] + 1);
    return i < (unsigned)m->n[model] ? m->objs[model][i] : NULL;
}

static void make(vm *m, int model)
{
    if (m->n[model] == MAX_OBJS)
        return;   /* the program could not free what it did not keep */
    void *obj = cr_object_new(mapper_of(model));
    if (!obj)
        return;
    char name[24];
    snprintf(name, sizeof name, "o%d", m->made++);
    switch (model) {
    case MODEL_USER: cr_field_set_text((User *)obj, name, name); break;
    case MODEL_POST: cr_field_set_text((Post *)obj, title, name); break;
    case MODEL_TAG: cr_field_set_text((Tag *)obj, name, name); break;
    default: cr_field_set_text((Node *)obj, label, name); break;
    }
    keep(m, model, obj);
}

/* The key field of an object of the model. */
static int64_t *id_of(void *obj, int model)
{
    switch (model) {
    case MODEL_USER: return &((User *)obj)->id;
    case MODEL_POST: return &((Post *)obj)->id;
    case MODEL_TAG: return &((Tag *)obj)->id;
    default: return &((Node *)obj)->id;
    }
}

/* A new object given the key of another of its model: a row switch when
 * that one is deleted in the same flush, else a key the flush refuses. */
static void make_keyed(vm *m, int model)
{
    void *other = obj_of(m, model);
    int before = m->n[model];
    if (!other ||
        cr_object_is_null(other, (size_t)((char *)id_of(other, model) - (char *)other)))
        return;
    make(m, model);
    if (m->n[model] > before)
        *id_of(m->objs[model][before], model) = *id_of(other, model);
}

/* An expunge gives back the objects its cascade reached, loaded ones the
 * program never saw among them: every object now the program's that is
 * reachable along relationships is listed, to be freed at the end (a
 * database holds at most the objects the program made, so they fit). */
static void *given_back[NMODELS * MAX_OBJS * 2];
static size_t ngiven_back;

static void keep_given_back(vm *m, void *obj);

static void keep_related_given_back(vm *m, cr_instance *in)
{
    for (size_t r = 0; r < in->mapper->nrels; r++) {
        void **items, *one;
        size_t n = cr_rel_members(in, in->mapper->rels[r], &items, &one);
        for (size_t k = 0; k < n; k++)
            keep_given_back(m, items[k]);
    }
}

static void keep_given_back(vm *m, void *obj)
{
    cr_instance *in = cr_instance_of(obj);
    if (!in || in->owner || is_kept(m, obj))
        return;
    for (size_t i = 0; i < ngiven_back; i++)
        if (given_back[i] == obj)
            return;
    FUZZ_CHECK(ngiven_back < sizeof given_back / sizeof *given_back, "too many given back");
    given_back[ngiven_back++] = obj;
    keep_related_given_back(m, in);
}

static void keep_all(vm *m, int model, cr_objects *list)
{
    for (size_t i = 0; list && i < list->count; i++)
        keep(m, model, list->items[i]);
    cr_objects_free(list);
}

/* A call that failed did so for the program's reasons (a key taken, an
 * object deleted under it, a cycle ...): never because statements the
 * session built were refused (ArgumentError) or it lost its way
 * (InternalError). */
static void check_built_right(cr_session *s, const char *what)
{
    const cr_error *e = cr_session_error(s);
    cr_status cls = cr_error_class(e);
    FUZZ_CHECK(cls != CR_ERR_ARGUMENT && cls != CR_ERR_INTERNAL, "%s failed with %s: %s", what,
               cr_error_class_name(e), cr_error_message(e));
}

/* A query of a model, with a loader option on one of its relationships,
 * and a quarter of the time populate_existing (the byte's high values,
 * added later: earlier inputs pick the same loaders). */
static void query(vm *m, int model)
{
    cr_stmt *q = cr_session_query_mapper(m->s, mapper_of(model));
    if (!q)
        return;
    unsigned byte = fuzz_byte(&m->in);
    cr_loader how = (cr_loader)(CR_LOAD_LAZY + byte % 3);   /* lazy, selectin, joined */
    if (byte >= 0xc0)
        cr_query_populate_existing(q);
    switch (model) {
    case MODEL_USER: cr_query_loader(q, how, CR__RELS(User_model.r.posts)); break;
    case MODEL_POST:
        cr_query_loader(q, how, CR__RELS(pick(m, 2) ? Post_model.r.author : Post_model.r.tags));
        break;
    case MODEL_TAG: cr_query_loader(q, how, CR__RELS(Tag_model.r.posts)); break;
    default: {
        const cr_relationship *rels[] = {Node_model.r.parent, Node_model.r.children,
                                         Node_model.r.links, Node_model.r.linked_by};
        cr_query_loader(q, how, CR__RELS(rels[pick(m, 4)]));
        break;
    }
    }
    cr_objects *all = cr_query_all(q);
    if (!all)
        check_built_right(m->s, "a query");
    keep_all(m, model, all);
    cr_stmt_free(q);
}

/* ---- the oracle after a flush ---- */

/* Objects that were deleted or expunged: one whose row was deleted (or
 * rolled back) can be added back, persistent again with no row, as in
 * SQLAlchemy; its UPDATE may then reach a new row that reused its key. So
 * once such an object is back in the session, the oracle stops comparing
 * for the rest of the input. */
static const void *tainted[NMODELS * MAX_OBJS];
static size_t ntainted;

static bool is_tainted(const void *obj)
{
    for (size_t i = 0; i < ntainted; i++)
        if (tainted[i] == obj)
            return true;
    return false;
}

static void taint(const void *obj)
{
    if (!is_tainted(obj) && ntainted < NMODELS * MAX_OBJS)
        tainted[ntainted++] = obj;
}

/* After a call: an object that became deleted, or detached otherwise than
 * by the session's close, had its row deleted (or was expunged). */
static void note_deleted(vm *m, cr_object_state before[NMODELS][MAX_OBJS], bool closed)
{
    for (int model = 0; model < NMODELS; model++)
        for (int i = 0; i < m->n[model]; i++) {
            cr_object_state now = cr_object_state_of(m->objs[model][i]);
            if (now == CR_STATE_DELETED ||
                (now == CR_STATE_DETACHED && before[model][i] != CR_STATE_DETACHED && !closed))
                taint(m->objs[model][i]);
            else if ((now == CR_STATE_PENDING || now == CR_STATE_PERSISTENT) &&
                     is_tainted(m->objs[model][i]))
                m->unchecked = true;
            /* A new object a rollback makes transient keeps its
             * collections while the other sides are put back (as in
             * SQLAlchemy): added again, it links what they no longer list. */
            if (before[model][i] != CR_STATE_TRANSIENT && now == CR_STATE_TRANSIENT)
                m->unchecked = true;
        }
}

static bool live(const void *obj)
{
    return obj && cr_object_state_of(obj) == CR_STATE_PERSISTENT && !cr_object_expired(obj) &&
           !is_tainted(obj);
}

/* One integer column of one row, read in the session's transaction; *null
 * when it is NULL. False when there is no such row. */
static bool db_int(cr_session *s, cr_stmt *q, int64_t *out, bool *null)
{
    cr_result *r = cr_session_execute(s, q);
    FUZZ_CHECK(r, "oracle query: %s", cr_error_message(cr_session_error(s)));
    const cr_row *row = cr_result_fetchone(r);
    bool found = row != NULL;
    if (row) {
        *null = cr_row_is_null_at(row, 0);
        if (!*null)
            FUZZ_CHECK(cr_row_int64_at(row, 0, out) == CR_OK, "oracle read");
    }
    cr_result_free(r);
    cr_stmt_free(q);
    return found;
}

/* A post's user_id, in memory and in its row, is the user's key (NULL for none). */
static void check_post_author(cr_session *s, Post *p, const User *u)
{
    bool mem_null = cr_field_is_null(p, user_id);
    FUZZ_CHECK(u ? !mem_null && p->user_id == u->id : mem_null,
               "post %lld: user_id %lld%s in memory, its author is user %lld",
               (long long)p->id, (long long)p->user_id, mem_null ? " (NULL)" : "",
               u ? (long long)u->id : -1LL);
    cr_stmt *q = cr_select(Post_model.c.user_id);
    cr_where(q, cr_eq(q, Post_model.c.id, p->id));
    int64_t v = 0;
    bool null = false;
    FUZZ_CHECK(db_int(s, q, &v, &null), "post %lld is persistent but has no row",
               (long long)p->id);
    FUZZ_CHECK(u ? !null && v == u->id : null, "post %lld: its row's user_id is %lld%s, its "
               "author is user %lld", (long long)p->id, (long long)v, null ? " (NULL)" : "",
               u ? (long long)u->id : -1LL);
}

static int64_t key_of(const void *obj)
{
    const cr_instance *in = cr_instance_of(obj);
    return cr_field_value(in, in->mapper->pk[0]).v.i;
}

/* The rows of a secondary table whose column local holds id are exactly
 * those of the objects items lists (their keys in column remote), once
 * every one of them is flushed and live. */
static void check_secondary(cr_session *s, const char *what, int64_t id,
                            const cr_collection *items, cr_column *local, cr_column *remote)
{
    int64_t nlive = 0;
    for (size_t i = 0; i < items->count; i++) {
        if (!live(items->items[i]))
            return;   /* an object not flushed or expired: nothing to compare */
        nlive++;
        int64_t other = key_of(items->items[i]);
        cr_stmt *q = cr_select(remote);
        cr_where(q, cr_and(q, cr_eq(q, local, id), cr_eq(q, remote, other)));
        int64_t v;
        bool null;
        FUZZ_CHECK(db_int(s, q, &v, &null), "%s %lld lists %lld in memory, no row of %s",
                   what, (long long)id, (long long)other, local->table->name);
    }
    cr_stmt *q = cr_select(remote);
    cr_where(q, cr_eq(q, local, id));
    cr_result *r = cr_session_execute(s, q);
    FUZZ_CHECK(r, "oracle query: %s", cr_error_message(cr_session_error(s)));
    int64_t rows = 0;
    while (cr_result_fetchone(r))
        rows++;
    cr_result_free(r);
    cr_stmt_free(q);
    FUZZ_CHECK(rows == nlive, "%s %lld lists %lld in memory, %lld rows of %s", what,
               (long long)id, (long long)nlive, (long long)rows, local->table->name);
}

static void check_node_children(cr_session *s, Node *n)
{
    CR_FOR_EACH(Node, c, &n->children) {
        if (!live(c))
            continue;
        FUZZ_CHECK(!cr_field_is_null(c, parent_id) && c->parent_id == n->id,
                   "node %lld in node %lld's children has parent_id %lld", (long long)c->id,
                   (long long)n->id, (long long)c->parent_id);
        cr_stmt *q = cr_select(Node_model.c.parent_id);
        cr_where(q, cr_eq(q, Node_model.c.id, c->id));
        int64_t v = 0;
        bool null = false;
        FUZZ_CHECK(db_int(s, q, &v, &null) && !null && v == n->id,
                   "node %lld's row does not name parent %lld", (long long)c->id,
                   (long long)n->id);
    }
}

static void check_after_flush(vm *m)
{
    if (m->unchecked)
        return;
    for (int i = 0; i < m->n[MODEL_USER]; i++) {
        User *u = m->objs[MODEL_USER][i];
        if (!live(u) || !cr_is_loaded(u, posts))
            continue;
        CR_FOR_EACH(Post, p, &u->posts)
            if (live(p))
                check_post_author(m->s, p, u);
    }
    for (int i = 0; i < m->n[MODEL_POST]; i++) {
        Post *p = m->objs[MODEL_POST][i];
        if (!live(p))
            continue;
        if (cr_is_loaded(p, author) && (!p->author || live(p->author)))
            check_post_author(m->s, p, p->author);
        if (cr_is_loaded(p, tags))
            check_secondary(m->s, "post's tags", p->id, &p->tags, post_tags.c.post_id,
                            post_tags.c.tag_id);
    }
    for (int i = 0; i < m->n[MODEL_NODE]; i++) {
        Node *n = m->objs[MODEL_NODE][i];
        if (!live(n))
            continue;
        if (cr_is_loaded(n, children))
            check_node_children(m->s, n);
        if (cr_is_loaded(n, links))
            check_secondary(m->s, "node's links", n->id, &n->links, node_links.c.from_id,
                            node_links.c.to_id);
        if (cr_is_loaded(n, linked_by))
            check_secondary(m->s, "node's linked_by", n->id, &n->linked_by,
                            node_links.c.to_id, node_links.c.from_id);
    }
}


/* ---- mapper event listeners ----
 * Registered once on every model, they do what the program's last op 33
 * chose: nothing; rename the user a flush writes (written by that flush);
 * refuse some posts (the flush fails as a whole, IntegrityError); or, after
 * the statements, try the session (refused) and run a statement on the
 * flush's connection. The session's listeners follow the same choice. */

static unsigned listen_mode;
static int renamed;

static cr_status listener(cr_session *s, cr_conn *conn, void *obj, void *userdata)
{
    (void)userdata;
    FUZZ_CHECK(s && conn && cr_object_mapper(obj), "a listener without its session");
    const cr_mapper *m = cr_object_mapper(obj);
    switch (listen_mode) {
    case 1:
        if (m == User_model.mapper) {
            char name[24];
            snprintf(name, sizeof name, "L%d", renamed++);
            return cr_field_set_text((User *)obj, name, name);
        }
        return CR_OK;
    case 2: {
        const char *title = m == Post_model.mapper ? ((Post *)obj)->title : NULL;
        return title && *title && title[strlen(title) - 1] == '3' ? CR_ERR_INTEGRITY : CR_OK;
    }
    case 3:
        FUZZ_CHECK(cr_session_flush(s) == CR_ERR_INVALID_REQUEST &&
                       cr_session_add(s, obj) == CR_ERR_INVALID_REQUEST &&
                       cr_session_rollback(s) == CR_ERR_INVALID_REQUEST,
                   "the session was not refused inside a listener");
        /* Nor may a relationship call change what the flush planned. */
        FUZZ_CHECK(m == User_model.mapper   ? cr_load((User *)obj, posts) == CR_ERR_INVALID_REQUEST
                   : m == Post_model.mapper ? cr_set_related((Post *)obj, author, NULL) ==
                                                  CR_ERR_INVALID_REQUEST
                   : m == Tag_model.mapper  ? cr_load((Tag *)obj, posts) == CR_ERR_INVALID_REQUEST
                                            : cr_append((Node *)obj, children, NULL) ==
                                                  CR_ERR_INVALID_REQUEST,
                   "a relationship call was not refused inside a listener");
        return cr_conn_exec(conn, "SELECT count(*) FROM users", NULL);
    default:
        return CR_OK;
    }
}

/* The session's, by event and mode. Mode 1 lists what the session (or,
 * after a flush, the flush) holds, checking each object's state; mode 2
 * adds a tag before a flush and after every other one (the commit flushes
 * it), and queries before a commit; mode 3 checks what is refused, runs a
 * statement on the connection given, and fails every third call of the
 * event. */
static const cr_session_event session_events[] = {
    CR_BEFORE_FLUSH,         CR_AFTER_COMMIT,  CR_AFTER_BEGIN, CR_AFTER_FLUSH,
    CR_AFTER_FLUSH_POSTEXEC, CR_BEFORE_COMMIT, CR_AFTER_ROLLBACK,
};
static unsigned event_calls[sizeof session_events / sizeof *session_events];

static void list_objects(cr_session *s, bool flushed)
{
    static const cr_object_state wrote[] = {CR_STATE_PERSISTENT, CR_STATE_PERSISTENT,
                                            CR_STATE_DELETED};
    for (int which = CR_SESSION_NEW; which <= CR_SESSION_DELETED; which++) {
        cr_objects *list = cr_session_objects(s, (cr_session_set)which);
        FUZZ_CHECK(list, "cr_session_objects");
        for (size_t i = 0; i < list->count; i++) {
            FUZZ_CHECK(cr_object_mapper(list->items[i]), "not an object");
            /* What a flush wrote is in the state the flush left it. */
            FUZZ_CHECK(!flushed || cr_object_state_of(list->items[i]) == wrote[which],
                       "after_flush lists an object of set %d in state %d", which,
                       (int)cr_object_state_of(list->items[i]));
        }
        cr_objects_free(list);
    }
}

static cr_status add_tag(cr_session *s, const char *name)
{
    Tag *t = cr_new(Tag);
    if (!t)
        return CR_ERR_NO_MEMORY;
    cr_field_set_text(t, name, name);
    cr_status st = cr_session_add(s, t);
    if (st)
        cr_object_free(t);
    return st;
}

static cr_status session_listener(cr_session *s, cr_conn *conn, void *userdata)
{
    cr_session_event ev = *(const cr_session_event *)userdata;
    unsigned n = ++event_calls[ev];
    bool shut = ev == CR_AFTER_COMMIT || ev == CR_AFTER_ROLLBACK || ev == CR_AFTER_BEGIN;
    FUZZ_CHECK((conn != NULL) == (ev == CR_AFTER_BEGIN || ev == CR_AFTER_FLUSH ||
                                  ev == CR_AFTER_FLUSH_POSTEXEC) ||
                   ev == CR_BEFORE_FLUSH || ev == CR_BEFORE_COMMIT,
               "session event %d given connection %p", (int)ev, (void *)conn);
    switch (listen_mode) {
    case 1:
        if (!shut)
            list_objects(s, ev == CR_AFTER_FLUSH);
        return CR_OK;
    case 2:
        if (ev == CR_BEFORE_FLUSH)
            return add_tag(s, "from before_flush");
        if (ev == CR_AFTER_FLUSH && n % 2)
            return add_tag(s, "from after_flush");
        if (ev == CR_BEFORE_COMMIT)
            (void)cr_session_get(s, User, 1);
        return CR_OK;
    case 3:
        if (shut)
            FUZZ_CHECK(cr_session_flush(s) == CR_ERR_INVALID_REQUEST,
                       "the session was not refused in event %d", (int)ev);
        if (ev == CR_BEFORE_COMMIT)
            FUZZ_CHECK(cr_session_commit(s) == CR_ERR_INVALID_REQUEST &&
                           cr_session_rollback(s) == CR_ERR_INVALID_REQUEST,
                       "the transaction could be ended inside before_commit");
        if (conn && cr_conn_exec(conn, "SELECT count(*) FROM users", NULL))
            return cr_conn_error(conn)->cls;
        if (ev == CR_AFTER_COMMIT)   /* as before after_commit: never fails */
            return CR_OK;
        return n % 3 ? CR_OK : CR_ERR_DATA;
    default:
        return CR_OK;
    }
}

static void listen_all(void)
{
    const cr_mapper *ms[] = {User_model.mapper, Post_model.mapper, Tag_model.mapper,
                             Node_model.mapper};
    for (size_t i = 0; i < sizeof ms / sizeof *ms; i++)
        for (int ev = CR_BEFORE_INSERT; ev <= CR_REFRESH; ev++)
            FUZZ_CHECK(cr_mapper_listen((cr_mapper *)ms[i], (cr_mapper_event)ev, listener,
                                        NULL) == CR_OK, "listen");
}

/* ---- the calls ---- */

static void *any_obj(vm *m) { return obj_of(m, (int)pick(m, NMODELS)); }

static void run_op(vm *m, unsigned op)
{
    cr_session *s = m->s;
    switch (op) {
    case 0: case 1: case 2: case 3: make(m, (int)op); break;
    case 4: cr_session_add(s, any_obj(m)); break;
    case 5: cr_session_delete(s, any_obj(m)); break;
    case 6: {
        Post *p = obj_of(m, MODEL_POST);
        if (p)
            cr_set_related(p, author, (User *)obj_of(m, MODEL_USER));
        break;
    }
    case 7: case 8: {
        User *u = obj_of(m, MODEL_USER);
        Post *p = obj_of(m, MODEL_POST);
        if (u && op == 7)
            cr_append(u, posts, p);
        else if (u)
            cr_remove(u, posts, p);
        break;
    }
    case 9: case 10: {
        Post *p = obj_of(m, MODEL_POST);
        Tag *t = obj_of(m, MODEL_TAG);
        if (p && op == 9)
            cr_append(p, tags, t);
        else if (p)
            cr_remove(p, tags, t);
        break;
    }
    case 11: {
        Node *n = obj_of(m, MODEL_NODE);
        if (n)
            cr_set_related(n, parent, (Node *)obj_of(m, MODEL_NODE));
        break;
    }
    case 12: case 13: {
        Node *n = obj_of(m, MODEL_NODE), *c = obj_of(m, MODEL_NODE);
        if (n && op == 12)
            cr_append(n, children, c);
        else if (n)
            cr_remove(n, children, c);
        break;
    }
    case 14: {   /* a field changed in place */
        User *u = obj_of(m, MODEL_USER);
        if (u)
            cr_field_set_text(u, name, pick(m, 2) ? "renamed" : NULL);
        break;
    }
    case 15: {
        /* by the field of any model's relationship: another model's is an error */
        size_t offsets[] = {offsetof(User, posts), offsetof(Post, author),
                            offsetof(Post, tags), offsetof(Node, children),
                            offsetof(Node, links), offsetof(Node, linked_by)};
        void *obj = any_obj(m);
        size_t offset = offsets[pick(m, 6)];
        if (obj)
            cr_object_load(obj, offset);
        break;
    }
    case 16: query(m, (int)pick(m, NMODELS)); break;
    case 17:
        if (cr_session_flush(s) == CR_OK) {
            unsigned mode = listen_mode;   /* the oracle's queries: no listener fails them */
            listen_mode = 0;
            check_after_flush(m);
            listen_mode = mode;
        } else {
            check_built_right(s, "the flush");
        }
        break;
    case 18:
        if (cr_session_commit(s))
            check_built_right(s, "the commit");
        break;
    case 19: cr_session_rollback(s); break;
    case 20: cr_session_begin_nested(s); break;
    case 21: cr_session_commit_nested(s); break;
    case 22: cr_session_rollback_nested(s); break;
    case 23: case 24:
        /* Expiring discards the expired side of a change whose other side
         * (a pending object's collection) stays: the two then disagree, in
         * SQLAlchemy too, and the flush follows one of them. */
        if (cr_session_has_changes(s))
            m->unchecked = true;
        if (op == 23)
            cr_session_expire(s, any_obj(m));
        else
            cr_session_expire_all(s);
        break;
    case 25: cr_session_refresh(s, any_obj(m)); break;
    case 26: {
        void *obj = any_obj(m);
        if (cr_session_expunge(s, obj) == CR_OK && obj)
            keep_related_given_back(m, cr_instance_of(obj));
        break;
    }
    case 27: {
        int model = (int)pick(m, NMODELS);
        void *obj = obj_of(m, model);
        if (obj)
            keep(m, model, cr_session_merge(s, obj));
        break;
    }
    case 28: cr_session_close(s); break;
    case 32: make_keyed(m, (int)pick(m, NMODELS)); break;
    case 33: listen_mode = pick(m, 4); break;
    case 29: {   /* get by a small key */
        int model = (int)pick(m, NMODELS);
        keep(m, model, cr_session_get_values(s, mapper_of(model),
                                             CR_VALUES(cr_val_int(1 + pick(m, 8)))));
        break;
    }
    case 30: case 31: {   /* a link between two nodes, from either side */
        Node *n = obj_of(m, MODEL_NODE), *o = obj_of(m, MODEL_NODE);
        bool add = pick(m, 2);
        if (n && op == 30)
            add ? cr_append(n, links, o) : cr_remove(n, links, o);
        else if (n)
            add ? cr_append(n, linked_by, o) : cr_remove(n, linked_by, o);
        break;
    }
    default: break;
    }
}

/* A fresh database for each input: the schema, nothing else. */
static cr_engine *fresh_engine(void)
{
    cr_error *err = NULL;
    cr_engine *engine = cr_create_engine("sqlite://", NULL, &err);
    FUZZ_CHECK(engine && cr_metadata_create_all_engine(md, engine, false, &err) == CR_OK,
               "setup: %s", err ? cr_error_message(err) : "out of memory");
    return engine;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!md) {
        md = cr_metadata_new(NULL);
        FUZZ_CHECK(md && post_tags_table_define(&post_tags, md, "post_tags") == CR_OK &&
                       node_links_table_define(&node_links, md, "node_links") == CR_OK &&
                       User_define(md) == CR_OK && Post_define(md) == CR_OK &&
                       Tag_define(md) == CR_OK && Node_define(md) == CR_OK &&
                       cr_metadata_configure(md) == CR_OK,
                   "models: %s", md ? cr_error_message(cr_metadata_error(md)) : "no memory");
        listen_all();
    }
    cr_engine *engine = fresh_engine();
    vm m = {.in = {data, size}};
    ntainted = ngiven_back = 0;
    listen_mode = 0;
    m.s = cr_session_new(engine, NULL);
    FUZZ_CHECK(m.s, "session");
    memset(event_calls, 0, sizeof event_calls);
    for (size_t i = 0; i < sizeof session_events / sizeof *session_events; i++)
        FUZZ_CHECK(cr_session_listen(m.s, session_events[i], session_listener,
                                     (void *)&session_events[i]) == CR_OK,
                   "session listen");
    bool trace = getenv("CRUCIBLE_FUZZ_TRACE") != NULL;   /* to read what an input does */
    for (int ops = 0; fuzz_more(&m.in) && ops < MAX_OPS; ops++) {
        /* Ops 32 and 33, added later, on bytes no earlier input of the
         * corpus holds: they decode as they did. */
        unsigned byte = fuzz_byte(&m.in);
        unsigned op = byte == 0xfd ? 32 : byte == 0xfb ? 33 : byte % 32;
        cr_object_state before[NMODELS][MAX_OBJS];
        for (int model = 0; model < NMODELS; model++)
            for (int i = 0; i < MAX_OBJS; i++)   /* objects the call brings: not deletions */
                before[model][i] = i < m.n[model] ? cr_object_state_of(m.objs[model][i])
                                                  : CR_STATE_DETACHED;
        run_op(&m, op);
        note_deleted(&m, before, op == 28);
        if (trace) {
            fprintf(stderr, "op %u: %s\n", op,
                    cr_session_error(m.s) ? cr_error_message(cr_session_error(m.s)) : "ok");
            for (int model = 0; model < NMODELS; model++)
                for (int i = 0; i < m.n[model]; i++) {
                    char d[64];
                    cr_object_describe(m.objs[model][i], d, sizeof d);
                    fprintf(stderr, "    %c%d %s %s%s\n", "UPTN"[model], i, d,
                            cr_object_state_name(cr_object_state_of(m.objs[model][i])),
                            is_tainted(m.objs[model][i]) ? " tainted" : "");
                }
        }
    }

    /* The session is still usable: a rollback, then a query of every model
     * (with listeners that fail nothing). */
    listen_mode = 0;
    FUZZ_CHECK(cr_session_rollback(m.s) == CR_OK, "rollback after the program: %s",
               cr_error_message(cr_session_error(m.s)));
    for (int model = 0; model < NMODELS; model++) {
        cr_stmt *q = cr_session_query_mapper(m.s, mapper_of(model));
        cr_objects *all = cr_query_all(q);
        FUZZ_CHECK(all, "query after the program: %s", cr_error_message(cr_session_error(m.s)));
        cr_objects_free(all);
        cr_stmt_free(q);
    }

    /* The program frees what it owns, after the session freed its own. */
    void *mine[NMODELS * MAX_OBJS];
    size_t nmine = 0;
    for (int model = 0; model < NMODELS; model++)
        for (int i = 0; i < m.n[model]; i++) {
            cr_instance *in = cr_instance_of(m.objs[model][i]);
            if (in && !in->owner)
                mine[nmine++] = m.objs[model][i];
        }
    /* Given back by an expunge and not taken again since. */
    void *theirs[sizeof given_back / sizeof *given_back];
    size_t ntheirs = 0;
    for (size_t i = 0; i < ngiven_back; i++)
        if (!cr_instance_of(given_back[i])->owner)
            theirs[ntheirs++] = given_back[i];
    cr_session_free(m.s);
    for (size_t i = 0; i < nmine; i++)
        FUZZ_CHECK(cr_object_free(mine[i]) == CR_OK, "free a program's object");
    for (size_t i = 0; i < ntheirs; i++)
        FUZZ_CHECK(cr_object_free(theirs[i]) == CR_OK, "free an object given back");
    cr_engine_free(engine);
    return 0;
}
