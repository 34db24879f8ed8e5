/* orm_crucible.c — the Crucible side of the ORM differential test: runs each program of session calls through the ORM and prints its transcript.
 *
 *   orm_crucible URL < programs > transcripts
 *
 * The programs, their calls and the transcript's lines are described in
 * orm_sqlalchemy.py, which is SQLAlchemy's side; each program on the input
 * ends with a line "end", and so does its transcript on the output. The
 * models here declare what the SQLAlchemy models there do. */
#include <crucible.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OD_USER(F)                                                                      \
    F(id,   INTEGER,    .primary_key = true, .autoincrement = CR_NO)                   \
    F(name, STRING(20))
#define OD_USER_RELS(R)                                                                 \
    R(posts, MANY(OdPost), .back_populates = "author", .cascade = "all, delete-orphan", \
                           .order_by = "id")
CR_MODEL(OdUser, "od_users", OD_USER, OD_USER_RELS)

#define OD_POST(F)                                                                      \
    F(id,      INTEGER,    .primary_key = true, .autoincrement = CR_NO)                \
    F(title,   STRING(20))                                                              \
    F(user_id, INTEGER,    .foreign_key = "od_users.id")
#define OD_POST_RELS(R)                                                                 \
    R(author, ONE(OdUser), .back_populates = "posts")                                   \
    R(tags,   MANY(OdTag), .secondary = "od_post_tags", .order_by = "id")
CR_MODEL(OdPost, "od_posts", OD_POST, OD_POST_RELS)

#define OD_TAG(F)                                                                       \
    F(id,   INTEGER,    .primary_key = true, .autoincrement = CR_NO)                   \
    F(name, STRING(20))
CR_MODEL(OdTag, "od_tags", OD_TAG)

#define OD_POST_TAGS(COLUMN)                                                            \
    COLUMN(post_id, INTEGER, .primary_key = true, .autoincrement = CR_NO,               \
                             .foreign_key = "od_posts.id")                              \
    COLUMN(tag_id,  INTEGER, .primary_key = true, .autoincrement = CR_NO,               \
                             .foreign_key = "od_tags.id")
CR_DECLARE_TABLE(od_post_tags_table, OD_POST_TAGS)

enum kind { USER, POST, TAG };
enum { MAX_VARS = 256, MAX_OBJS = 4096 };

typedef struct var {
    void *obj;
    enum kind kind;
} var;

static cr_metadata *md;
static od_post_tags_table post_tags;
static void *made[MAX_OBJS];   /* every object the program made, to free */
static size_t nmade;
static int nested;              /* savepoints the program opened, not closed */

static void die(const char *what, const cr_error *e)
{
    fprintf(stderr, "orm_crucible: %s: %s\n", what, e ? cr_error_message(e) : "out of memory");
    exit(1);
}

static int kind_of(const char *word)
{
    return strcmp(word, "user") == 0 ? USER : strcmp(word, "post") == 0 ? POST : TAG;
}

static const cr_mapper *mapper_of(enum kind k)
{
    return k == USER ? OdUser_model.mapper : k == POST ? OdPost_model.mapper : OdTag_model.mapper;
}

/* obj is the program's to free at the end (once, whoever made it). */
static void own(void *obj)
{
    for (size_t i = 0; i < nmade; i++)
        if (made[i] == obj)
            return;
    if (nmade == MAX_OBJS)
        die("own", NULL);
    made[nmade++] = obj;
}

/* The user's or tag's name, the post's title (the library's or the program's
 * text: copied by the setters). */
static const char *label(const void *obj, enum kind k)
{
    const char *s = k == POST ? ((const OdPost *)obj)->title : k == USER
                                ? ((const OdUser *)obj)->name : ((const OdTag *)obj)->name;
    return s ? s : "None";
}

static void set_label(void *obj, enum kind k, const char *text)
{
    if (k == POST)
        cr_field_set_text((OdPost *)obj, title, text);
    else if (k == USER)
        cr_field_set_text((OdUser *)obj, name, text);
    else
        cr_field_set_text((OdTag *)obj, name, text);
}

static int64_t key_of(const void *obj, enum kind k)
{
    return k == POST ? ((const OdPost *)obj)->id : k == USER ? ((const OdUser *)obj)->id
                                                            : ((const OdTag *)obj)->id;
}

/* The rows of every table, a line each, in key order. */
static void dump(cr_engine *engine)
{
    static const char *const sql[] = {
        "SELECT id, name, 0 FROM od_users ORDER BY id",
        "SELECT id, title, user_id FROM od_posts ORDER BY id",
        "SELECT id, name, 0 FROM od_tags ORDER BY id",
        "SELECT post_id, tag_id, 0 FROM od_post_tags ORDER BY post_id, tag_id",
    };
    static const char *const names[] = {"users", "posts", "tags", "post_tags"};
    cr_error *err = NULL;
    cr_conn *c = cr_engine_connect(engine, &err);
    if (!c)
        die("connect", err);
    for (int t = 0; t < 4; t++) {
        cr_result *r = cr_conn_execute(c, sql[t], NULL);
        if (!r)
            die(sql[t], cr_conn_error(c));
        printf("%s", names[t]);
        const cr_row *row;
        while ((row = cr_result_fetchone(r))) {
            int64_t a = 0, b = 0;
            cr_row_int64_at(row, 0, &a);
            if (t == 3) {
                cr_row_int64_at(row, 1, &b);
                printf(" %lld-%lld", (long long)a, (long long)b);
                continue;
            }
            const char *text = NULL;
            size_t len = 0;
            if (cr_row_is_null_at(row, 1) || cr_row_text_at(row, 1, &text, &len))
                text = "None";
            printf(" %lld=%s", (long long)a, text);
            if (t == 1) {
                if (cr_row_is_null_at(row, 2))
                    printf(":-");
                else if (cr_row_int64_at(row, 2, &b) == CR_OK)
                    printf(":%lld", (long long)b);
            }
        }
        if (cr_result_error(r))
            die(sql[t], cr_result_error(r));
        cr_result_free(r);
        printf("\n");
    }
    cr_conn_commit(c);
    cr_conn_close(c);
}

/* The variable a word names, or NULL for "-" and for a variable holding
 * none. */
static var *var_at(var *vars, const char *word)
{
    if (strcmp(word, "-") == 0)
        return NULL;
    int i = atoi(word);
    return i >= 0 && i < MAX_VARS && vars[i].obj ? &vars[i] : NULL;
}

/* An expunged object is the program's, and so are the posts of a user the
 * expunge cascade ("all") took out with it. */
static void own_expunged(const var *a)
{
    own(a->obj);
    if (a->kind != USER)
        return;
    const OdUser *u = a->obj;
    for (size_t i = 0; i < u->posts.count; i++) {
        cr_object_state st = cr_object_state_of(u->posts.items[i]);
        if (st == CR_STATE_TRANSIENT || st == CR_STATE_DETACHED)
            own(u->posts.items[i]);
    }
}

static int by_key(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The keys of a collection's members, in key order, after its name. */
static void print_keys(const char *name, const cr_collection *c, enum kind k)
{
    int64_t keys[MAX_VARS];
    size_t n = 0;
    for (size_t i = 0; i < c->count && n < MAX_VARS; i++)
        keys[n++] = key_of(c->items[i], k);
    qsort(keys, n, sizeof *keys, by_key);
    printf("%s", name);
    for (size_t i = 0; i < n; i++) {
        if (keys[i] == CR_NULL_INT64)
            printf(" None");   /* dropped by a make_transient of an expired object */
        else
            printf(" %lld", (long long)keys[i]);
    }
}

/* show V: a user's posts, a post's tags and author, loaded when not. */
static bool show(const var *a)
{
    if (a->kind == USER) {
        OdUser *u = a->obj;
        if (!cr_is_loaded(u, posts) && cr_load(u, posts))
            return false;
        print_keys("posts", (const cr_collection *)&u->posts, POST);
    } else if (a->kind == POST) {
        OdPost *p = a->obj;
        if ((!cr_is_loaded(p, tags) && cr_load(p, tags)) ||
            (!cr_is_loaded(p, author) && cr_load(p, author)))
            return false;
        print_keys("tags", (const cr_collection *)&p->tags, TAG);
        if (p->author)
            printf(" author %lld", (long long)p->author->id);
        else
            printf(" author -");
    } else {
        printf("tag");
    }
    printf("\n");
    return true;
}

/* One call; false when it failed. */
static bool call(cr_session *s, var *vars, char **w, int n, cr_engine *engine)
{
    const char *op = w[0];
    if (strcmp(op, "new") == 0 && n == 5) {
        enum kind k = kind_of(w[2]);
        void *obj = cr_object_new(mapper_of(k));
        if (!obj)
            die("new", NULL);
        own(obj);
        int64_t key = atoll(w[3]);
        if (k == POST)
            ((OdPost *)obj)->id = key;
        else if (k == USER)
            ((OdUser *)obj)->id = key;
        else
            ((OdTag *)obj)->id = key;
        set_label(obj, k, w[4]);
        vars[atoi(w[1])] = (var){obj, k};
        return true;
    }
    if (strcmp(op, "get") == 0 && n == 4) {
        enum kind k = kind_of(w[2]);
        cr_value key = cr_val_int(atoll(w[3]));
        void *obj = cr_session_get_values(s, mapper_of(k), &key, 1);
        if (!obj && cr_session_error(s))
            return false;
        vars[atoi(w[1])] = (var){obj, k};
        printf("%s\n", obj ? "found" : "none");
        return true;
    }
    if (strcmp(op, "merge") == 0 && n == 3) {
        var *src = var_at(vars, w[2]);
        if (!src) {
            printf("skip\n");
            return true;
        }
        void *obj = cr_session_merge(s, src->obj);
        if (!obj)
            return false;
        vars[atoi(w[1])] = (var){obj, src->kind};
        printf("ok\n");
        return true;
    }
    if (strcmp(op, "query") == 0 && n == 2) {
        enum kind k = kind_of(w[1]);
        cr_stmt *q = cr_select_mapper(mapper_of(k));
        cr_order_by(q, k == POST ? OdPost_model.c.id : k == USER ? OdUser_model.c.id
                                                                  : OdTag_model.c.id);
        cr_objects *all = cr_session_all(s, q);
        cr_stmt_free(q);
        if (!all)
            return false;
        printf("%s", w[1]);
        for (size_t i = 0; i < all->count; i++)
            printf(" %lld=%s", (long long)key_of(all->items[i], k), label(all->items[i], k));
        printf("\n");
        cr_objects_free(all);
        return true;
    }
    if (strcmp(op, "savepoint") == 0) {
        if (cr_session_begin_nested(s))
            return false;
        nested++;
        printf("ok\n");
        return true;
    }
    if (strcmp(op, "release") == 0 || strcmp(op, "rollback_to") == 0) {
        if (nested == 0) {
            printf("skip\n");
            return true;
        }
        if (op[1] == 'e' ? cr_session_commit_nested(s) : cr_session_rollback_nested(s))
            return false;
        nested--;
        printf("ok\n");
        return true;
    }
    if (strcmp(op, "flush") == 0 || strcmp(op, "commit") == 0 || strcmp(op, "rollback") == 0) {
        if (op[0] != 'f')
            nested = 0;
        cr_status st = op[0] == 'f' ? cr_session_flush(s) : op[0] == 'c' ? cr_session_commit(s)
                                                                         : cr_session_rollback(s);
        if (st)
            return false;
        printf("ok\n");
        if (op[0] == 'c')
            dump(engine);
        if (op[0] == 'r')
            memset(vars, 0, MAX_VARS * sizeof *vars);   /* reuse-after-rollback */
        return true;
    }
    var *a = n > 1 ? var_at(vars, w[1]) : NULL;
    var *b = n > 2 ? var_at(vars, w[2]) : NULL;
    bool two = strcmp(op, "append") == 0 || strcmp(op, "remove") == 0;
    if (!a || (two && !b)) {
        printf("skip\n");
        return true;
    }
    cr_status st = CR_OK;
    if (strcmp(op, "add") == 0) {
        st = cr_session_add(s, a->obj);
    } else if (strcmp(op, "delete") == 0) {
        st = cr_session_delete(s, a->obj);
    } else if (two) {
        bool add = op[0] == 'a';
        if (a->kind == USER && b->kind == POST)
            st = add ? cr_append((OdUser *)a->obj, posts, (OdPost *)b->obj)
                     : cr_remove((OdUser *)a->obj, posts, (OdPost *)b->obj);
        else if (a->kind == POST && b->kind == TAG)
            st = add ? cr_append((OdPost *)a->obj, tags, (OdTag *)b->obj)
                     : cr_remove((OdPost *)a->obj, tags, (OdTag *)b->obj);
    } else if (strcmp(op, "author") == 0 && a->kind == POST) {
        st = cr_set_related((OdPost *)a->obj, author, b ? (OdUser *)b->obj : NULL);
    } else if (strcmp(op, "show") == 0) {
        return show(a);
    } else if (strcmp(op, "transient") == 0) {
        st = cr_make_transient(a->obj);
        if (!st)
            own(a->obj);   /* a loaded object is the program's now */
    } else if (strcmp(op, "expunge") == 0) {
        st = cr_session_expunge(s, a->obj);
        if (!st)
            own_expunged(a);
    } else if (strcmp(op, "expire") == 0) {
        st = cr_session_expire(s, a->obj);
    } else if (strcmp(op, "refresh") == 0) {
        st = cr_session_refresh(s, a->obj);
    } else if (strcmp(op, "rename") == 0 && n == 3) {
        set_label(a->obj, a->kind, w[2]);
    }
    if (st)
        return false;
    printf("ok\n");
    return true;
}

/* Free what the program made and still owns (the session refuses to free
 * its own, which it frees itself). */
static void free_made(var *vars)
{
    for (size_t i = 0; i < nmade; i++)
        cr_object_free(made[i]);
    nmade = 0;
    memset(vars, 0, MAX_VARS * sizeof *vars);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: orm_crucible URL < programs\n");
        return 2;
    }
    md = cr_metadata_new(NULL);
    if (!md || od_post_tags_table_define(&post_tags, md, "od_post_tags") ||
        OdUser_define(md) || OdPost_define(md) || OdTag_define(md) || cr_metadata_configure(md))
        die("models", md ? cr_metadata_error(md) : NULL);
    cr_error *err = NULL;
    cr_engine *engine = cr_create_engine(argv[1], &(cr_engine_options){.echo = getenv("ORM_DIFF_ECHO") != NULL}, &err);
    if (!engine)
        die("engine", err);
    char line[512];
    var vars[MAX_VARS];
    memset(vars, 0, sizeof vars);
    cr_session *s = NULL;
    bool trace = getenv("ORM_DIFF_TRACE") != NULL;   /* each failure's message on stderr */
    while (fgets(line, sizeof line, stdin)) {
        char what[512];
        snprintf(what, sizeof what, "%.*s", (int)strcspn(line, "\n"), line);
        char *w[8];
        int n = 0;
        for (char *tok = strtok(line, " \n"); tok && n < 8; tok = strtok(NULL, " \n"))
            w[n++] = tok;
        if (n == 0)
            continue;
        if (strcmp(w[0], "end") == 0) {
            nested = 0;
            free_made(vars);
            cr_session_free(s);
            s = NULL;
            printf("end\n");
            fflush(stdout);
            continue;
        }
        if (!s) {
            if (cr_metadata_drop_all_engine(md, engine, true, &err) ||
                cr_metadata_create_all_engine(md, engine, false, &err))
                die("tables", err);
            if (!(s = cr_session_new(engine, NULL)))
                die("session", NULL);
        }
        if (!call(s, vars, w, n, engine)) {
            if (trace)
                fprintf(stderr, "crucible: %s: %s\n", what, cr_session_error(s)
                        ? cr_error_message(cr_session_error(s)) : "(no message)");
            printf("error\n");
            cr_session_rollback(s);
            nested = 0;
            memset(vars, 0, sizeof vars);   /* reuse-after-rollback */
        }
    }
    cr_engine_free(engine);
    cr_metadata_free(md);
    return 0;
}
