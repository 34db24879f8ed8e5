/* build.c — building statements and expressions: every node lives in its statement's arena. */
#include "sql/stmt.h"

#include <assert.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

static const cr_error stmt_oom = {.cls = CR_ERR_NO_MEMORY, .message = "out of memory"};
static const cr_error null_stmt = {.cls = CR_ERR_ARGUMENT, .message = "statement is NULL"};
static const cr_error freed_stmt = {.cls = CR_ERR_INVALID_REQUEST,
                                    .message = "the statement was freed (cr_stmt_free)"};

static cr_status set_error(cr_error *e, cr_status cls, const char *fmt, va_list ap)
{
    cr_error_init(e);
    char msg[sizeof e->message];
    vsnprintf(msg, sizeof msg, fmt, ap);
    return cr_error_set(e, cls, "%s", msg);
}

void cr_stmt_fail(cr_stmt *q, cr_status cls, const char *fmt, ...)
{
    if (!q || q->err)
        return;
    q->err = cr_malloc(sizeof *q->err);
    if (!q->err) {
        q->err = (cr_error *)&stmt_oom;
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    set_error(q->err, cls, fmt, ap);
    va_end(ap);
}

cr_status cr_stmt_compile_fail(cr_stmt *q, cr_status cls, const char *fmt, ...)
{
    if (!q->compile_err && !(q->compile_err = cr_malloc(sizeof *q->compile_err))) {
        cr_stmt_fail(q, CR_ERR_NO_MEMORY, "out of memory compiling the statement");
        return CR_ERR_NO_MEMORY;
    }
    va_list ap;
    va_start(ap, fmt);
    cr_status st = set_error(q->compile_err, cls, fmt, ap);
    va_end(ap);
    return st;
}

const cr_error *cr_stmt_error(const cr_stmt *q)
{
    if (!q)
        return &null_stmt;
    if (q->err)
        return q->err;
    return q->compile_err && q->compile_err->cls != CR_OK ? q->compile_err : NULL;
}

void cr_stmt_changed(cr_stmt *q)
{
    for (; q; q = q->parent)
        q->keyed = false;
}

/* Building goes on only while q is sound. Every builder call asks this
 * first: q is being changed, so what its last keying found is not current,
 * nor that of the statements enclosing it, if any. The helpers a call goes
 * on to (use, refuse_ordering) read q->err instead. */
static bool ok(cr_stmt *q)
{
    cr_stmt_changed(q);
    return q && !q->err;
}

static void *alloc(cr_stmt *q, size_t n)
{
    void *p = cr_arena_alloc(&q->arena, n);
    if (!p) {
        cr_stmt_fail(q, CR_ERR_NO_MEMORY, "out of memory building the statement");
        return NULL;
    }
    memset(p, 0, n);
    return p;
}

static char *copy_str(cr_stmt *q, const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = cr_arena_alloc(&q->arena, n);
    if (!p) {
        cr_stmt_fail(q, CR_ERR_NO_MEMORY, "out of memory building the statement");
        return NULL;
    }
    return memcpy(p, s, n);
}

/* Room for extra more items: in the arena when a is given, else the heap. */
static bool list_reserve(cr_arena *a, cr_list *l, size_t extra)
{
    if (l->n + extra <= l->cap)
        return true;
    size_t cap = l->cap ? l->cap * 2 : 4;
    if (cap < l->n + extra)
        cap = l->n + extra;
    void **items;
    if (a) {
        items = cr_arena_alloc(a, cap * sizeof *items);
        if (items && l->n)
            memcpy(items, l->items, l->n * sizeof *items);
    } else {
        items = cr_realloc(l->items, cap * sizeof *items);
    }
    if (!items)
        return false;
    l->items = items;
    l->cap = cap;
    return true;
}

bool cr_list_push(cr_arena *a, cr_list *l, void *item)
{
    if (!list_reserve(a, l, 1))
        return false;
    l->items[l->n++] = item;
    return true;
}

static void push(cr_stmt *q, cr_list *l, void *item)
{
    if (ok(q) && !cr_list_push(&q->arena, l, item))
        cr_stmt_fail(q, CR_ERR_NO_MEMORY, "out of memory building the statement");
}

uint64_t cr_table_serial(const cr_table *t)
{
    static uint64_t counter;
    uint64_t s = __atomic_load_n(&t->serial, __ATOMIC_ACQUIRE);
    if (s)
        return s;
    uint64_t fresh = __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED);
    uint64_t expected = 0;
    uint64_t *slot = (uint64_t *)&t->serial;
    if (__atomic_compare_exchange_n(slot, &expected, fresh, false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE))
        return fresh;
    return expected;
}

/* ---- statements ---------------------------------------------------------- */

/* A program builds, runs and frees statements in a loop: each thread keeps
 * its last freed statement for the next one instead of going back to the
 * allocator. A key destructor frees it when the thread exits; the key is set
 * once per thread, to the thread's own slot. Under AddressSanitizer nothing
 * is kept, so that a use of a freed statement is reported, not hidden. */
#if defined(__SANITIZE_ADDRESS__)
#define CR_RECYCLE_STMT 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CR_RECYCLE_STMT 0
#endif
#endif
#ifndef CR_RECYCLE_STMT
#define CR_RECYCLE_STMT 1
#endif
static _Thread_local cr_stmt *spare;
static _Thread_local bool spare_registered;
static pthread_key_t spare_key;
static pthread_once_t spare_once = PTHREAD_ONCE_INIT;
static bool spare_ok;

static void spare_destroy(void *slot)
{
    cr_stmt **p = slot;
    cr_free(*p);
    *p = NULL;
}

static void spare_init(void) { spare_ok = pthread_key_create(&spare_key, spare_destroy) == 0; }

/* The thread that ends the process (main, mostly) runs no key destructor:
 * its spare is freed as the library unloads, so that a leak checker finds
 * nothing left. */
__attribute__((destructor)) static void spare_at_exit(void) { spare_destroy(&spare); }

static bool spare_usable(void)
{
    if (!spare_registered) {
        pthread_once(&spare_once, spare_init);
        if (!spare_ok || pthread_setspecific(spare_key, &spare) != 0)
            return false;
        spare_registered = true;
    }
    return true;
}

static cr_stmt *stmt_new(cr_stmt_kind kind)
{
    static uint64_t serials;
    cr_stmt *q = spare;
    if (q)
        spare = NULL;
    else if (!(q = cr_malloc(sizeof *q)))
        return NULL;
    memset(q, 0, offsetof(cr_stmt, inline_binds));
    q->tag = CR_TAG_STMT;
    q->kind = kind;
    q->serial = __atomic_add_fetch(&serials, 1, __ATOMIC_RELAXED);
    q->for_update = -1;
    cr_arena_init_with(&q->arena, q->inline_arena, sizeof q->inline_arena, 4096);
    cr_buf_init_with(&q->key, q->inline_key, sizeof q->inline_key);
    q->binds = q->inline_binds;
    q->bindcap = CR_ARRAY_LEN(q->inline_binds);
    return q;
}

static void stmt_destroy(cr_stmt *q)
{
    for (size_t i = 0; i < q->adopted.n; i++)
        stmt_destroy(q->adopted.items[i]);
    cr_free(q->adopted.items);
    if (q->err != &stmt_oom && q->err != &freed_stmt) {
        if (q->err)
            cr_error_clear(q->err);
        cr_free(q->err);
    }
    if (q->compile_err)
        cr_error_clear(q->compile_err);
    cr_free(q->compile_err);
    cr_buf_free(&q->key);
    cr_free(q->placeholders);
    if (q->binds != q->inline_binds)
        cr_free(q->binds);
    cr_free(q->eff_rows.items);
    cr_arena_free(&q->arena);
    q->tag = 0;
    if (CR_RECYCLE_STMT && !spare && spare_usable()) {
        /* Kept: until it is taken again, a builder or an execute given it
         * fails with the freed error, and freeing it again does nothing. */
        q->err = (cr_error *)&freed_stmt;
        q->parent = NULL;
        spare = q;
        return;
    }
    cr_free(q);
}

void cr_stmt_free(cr_stmt *q)
{
    /* A statement another adopted is freed with it: freeing it here too
     * (the program forgetting it gave it away) would free it twice. */
    if (!q || q->tag != CR_TAG_STMT || q->parent)
        return;
    stmt_destroy(q);
}

static const char *const kind_names[] = {"a SELECT", "an INSERT", "an UPDATE", "a DELETE",
                                         "a compound SELECT"};

static cr_stmt *root_of(cr_stmt *q)
{
    while (q->parent)
        q = q->parent;
    return q;
}

/* A call that takes sub failed before adopting it: q (or, with no q, the
 * call itself) still owns it, so that it is not leaked; unless sub is not
 * the caller's to give (adopted elsewhere, or q's own enclosing statement). */
static void take(cr_stmt *q, cr_stmt *sub)
{
    if (!sub || sub == q || sub->tag != CR_TAG_STMT || sub->parent ||
        (q && root_of(q) == sub))
        return;
    if (!q || !cr_list_push(NULL, &q->adopted, sub))
        cr_stmt_free(sub);
    else
        sub->parent = q;
}

/* q takes sub, a SELECT: it is freed with q. A statement is adopted once. */
static bool adopt(cr_stmt *q, cr_stmt *sub, const char *what)
{
    if (!q) {
        take(q, sub);
        return false;
    }
    if (!sub || sub->tag != CR_TAG_STMT) {
        cr_stmt_fail(q, CR_ERR_ARGUMENT, "%s: the statement is NULL (out of memory?)", what);
        return false;
    }
    if (sub == q || root_of(q) == sub) {
        cr_stmt_fail(q, CR_ERR_INVALID_REQUEST, "%s: a statement cannot contain itself", what);
        return false;
    }
    if (sub->parent) {
        cr_stmt_fail(q, CR_ERR_INVALID_REQUEST, "%s: the statement is already part of another "
                     "statement (%s adopted it); build a new one", what,
                     kind_names[sub->parent->kind]);
        return false;
    }
    if (!cr_list_push(NULL, &q->adopted, sub)) {
        cr_stmt_free(sub);
        cr_stmt_fail(q, CR_ERR_NO_MEMORY, "out of memory building the statement");
        return false;
    }
    sub->parent = q;
    if (sub->err && !q->err)
        cr_stmt_fail(q, sub->err->cls, "%s: %s", what, sub->err->message);
    if (ok(q) && sub->kind != CR_STMT_SELECT && sub->kind != CR_STMT_COMPOUND)
        cr_stmt_fail(q, CR_ERR_ARGUMENT, "%s: the statement must be a SELECT, not %s", what,
                     kind_names[sub->kind]);
    return ok(q);
}

bool cr_stmt_reserve_adoption(cr_stmt *q)
{
    return list_reserve(NULL, &q->adopted, 1);
}

void cr_stmt_unadopt(cr_stmt *q, cr_stmt *sub)
{
    for (size_t i = 0; q && sub && i < q->adopted.n; i++)
        if (q->adopted.items[i] == sub) {
            memmove(&q->adopted.items[i], &q->adopted.items[i + 1],
                    (q->adopted.n - i - 1) * sizeof *q->adopted.items);
            q->adopted.n--;
            cr_stmt_changed(q);
            sub->parent = NULL;
            return;
        }
}

/* q uses e (an expression or FROM item): fine when e is q's, a table's or
 * of q's statement tree; else remembered, to be checked when q's tree is
 * compiled (the enclosing statement may adopt it later). */
static void use(cr_stmt *q, const cr_expr *e, const char *what)
{
    cr_stmt *o = e->owner;
    if (!o || o == q || q->err || root_of(o) == root_of(q))
        return;
    for (size_t i = 0; i < q->foreign.n; i++)
        if (((cr_foreign *)q->foreign.items[i])->serial == o->serial)
            return;
    cr_foreign *f = cr_arena_alloc(&q->arena, sizeof *f);
    if (!f || !cr_list_push(&q->arena, &q->foreign, f)) {
        cr_stmt_fail(q, CR_ERR_NO_MEMORY, "out of memory building the statement");
        return;
    }
    f->serial = o->serial;
    f->kind = o->kind;
    f->what = what;
}

static bool tree_has(const cr_stmt *s, uint64_t serial)
{
    if (s->serial == serial)
        return true;
    for (size_t i = 0; i < s->adopted.n; i++)
        if (tree_has(s->adopted.items[i], serial))
            return true;
    return false;
}

static cr_status check_tree(cr_stmt *q, const cr_stmt *root, const cr_stmt *s)
{
    for (size_t i = 0; i < s->foreign.n; i++) {
        const cr_foreign *f = s->foreign.items[i];
        if (!tree_has(root, f->serial))
            return cr_stmt_compile_fail(
                q, CR_ERR_INVALID_REQUEST, "%s: an expression built on %s (statement %llu) is "
                "used by %s (statement %llu), which does not contain that statement (freed or "
                "separate): build the expression on the statement that uses it",
                f->what, kind_names[f->kind], (unsigned long long)f->serial,
                kind_names[s->kind], (unsigned long long)s->serial);
    }
    for (size_t i = 0; i < s->adopted.n; i++)
        if (check_tree(q, root, s->adopted.items[i]))
            return cr_stmt_error(q)->cls;
    return CR_OK;
}

cr_status cr_stmt_check_owners(cr_stmt *q)
{
    return check_tree(q, root_of(q), root_of(q));
}

/* What an item of a list is. */
static bool is_table(const void *p) { return p && *(const uint32_t *)p == CR_TAG_TABLE; }
static bool is_expr(const void *p) { return p && *(const uint32_t *)p == CR_TAG_EXPR; }

static bool is_from_node(const void *p)
{
    if (!is_expr(p))
        return false;
    int k = ((const cr_expr *)p)->kind;
    return k == CR_N_ALIAS || k == CR_N_SUBQUERY || k == CR_N_CTE;
}

static bool is_ordering(const void *p)
{
    return is_expr(p) && ((const cr_expr *)p)->kind == CR_N_ORDER;
}

/* An ordering (asc, desc, nulls_first, nulls_last) is an ORDER BY item only:
 * anywhere else it would render "x DESC" inside an expression, which no
 * database parses. */
static bool refuse_ordering(cr_stmt *q, const void *e, const char *what)
{
    if (!q->err && is_ordering(e))
        cr_stmt_fail(q, CR_ERR_ARGUMENT, "%s: asc, desc, nulls_first and nulls_last make "
                     "ORDER BY items (of a statement or a window) only", what);
    return !q->err;
}

/* Its address marks the arrays of the list macros (CR__ITEMS). */
const char cr_list_mark = 0;

/* The items of a list, *n of them from *items: a list macro's, between its
 * marks, where a NULL item is refused (but a lone NULL is the empty list when
 * lone_null_empty); or an array built by hand, up to its NULL. */
static bool list_items(cr_stmt *q, const void *const **items, size_t *n, const char *what,
                       bool lone_null_empty)
{
    const void *const *it = *items;
    *n = 0;
    if (!ok(q))
        return false;
    if (!it) {
        cr_stmt_fail(q, CR_ERR_ARGUMENT, "%s: the list is NULL", what);
        return false;
    }
    if (it[0] != &cr_list_mark) {
        while (it[*n])
            ++*n;
        return true;
    }
    *items = ++it;
    if (lone_null_empty && !it[0] && it[1] == &cr_list_mark)
        return true;
    size_t k = 0;
    for (; it[k] != &cr_list_mark; k++)
        if (!it[k]) {
            cr_stmt_fail(q, CR_ERR_ARGUMENT, "%s: item %zu is NULL (a lookup or a builder "
                         "that failed?)", what, k + 1);
            return false;
        }
    *n = k;
    return true;
}

/* Add items (tables, expressions) to a list, checking each; orderings only
 * to an ORDER BY list. */
static void push_items(cr_stmt *q, cr_list *l, const void *const *items, const char *what,
                       bool tables_ok, bool orderings_ok)
{
    size_t n;
    if (!list_items(q, &items, &n, what, false))
        return;
    for (size_t k = 0; k < n; k++) {
        const void *it = items[k];
        if (is_table(it) && tables_ok)
            continue;
        if (is_table(it) || !is_expr(it) || is_from_node(it)) {
            cr_stmt_fail(q, CR_ERR_ARGUMENT,
                         "%s: item %zu is not a %s; pass columns (table.c.name) or expressions",
                         what, k + 1, tables_ok ? "table, column or expression" :
                                                  "column or expression");
            return;
        }
        if (!orderings_ok && !refuse_ordering(q, it, what))
            return;
        use(q, it, what);
    }
    if (n == 0 || q->err)
        return;
    /* Room for all of them at once: lists are built from one call mostly. */
    if (!list_reserve(&q->arena, l, n)) {
        cr_stmt_fail(q, CR_ERR_NO_MEMORY, "out of memory building the statement");
        return;
    }
    memcpy(l->items + l->n, items, n * sizeof *items);
    l->n += n;
}

cr_stmt *cr_select_new(void)
{
    return stmt_new(CR_STMT_SELECT);
}

cr_stmt *cr_select_items(const void *const *items)
{
    cr_stmt *q = stmt_new(CR_STMT_SELECT);
    if (q)
        push_items(q, &q->columns, items, "select", true, false);
    return q;
}

static cr_stmt *dml_new(cr_stmt_kind kind, cr_table *t, const char *what)
{
    cr_stmt *q = stmt_new(kind);
    if (q) {
        q->table = t;
        if (!is_table(t))
            cr_stmt_fail(q, CR_ERR_ARGUMENT, "%s: the table is NULL or not a table", what);
    }
    return q;
}

cr_stmt *cr_insert(cr_table *t) { return dml_new(CR_STMT_INSERT, t, "insert"); }
cr_stmt *cr_update(cr_table *t) { return dml_new(CR_STMT_UPDATE, t, "update"); }
cr_stmt *cr_delete(cr_table *t) { return dml_new(CR_STMT_DELETE, t, "delete"); }

static bool expect(cr_stmt *q, cr_stmt_kind kind, const char *what)
{
    if (!ok(q))
        return false;
    if (q->kind != kind) {
        cr_stmt_fail(q, CR_ERR_INVALID_REQUEST, "%s applies to %s, not to %s", what,
                     kind_names[kind], kind_names[q->kind]);
        return false;
    }
    return true;
}

void cr_columns_items(cr_stmt *q, const void *const *items)
{
    if (expect(q, CR_STMT_SELECT, "columns"))
        push_items(q, &q->columns, items, "columns", true, false);
}

/* e is an expression q may use; orderings too (for asc, desc ...). */
static bool check_expr_or_ordering(cr_stmt *q, const cr_expr *e, const char *what)
{
    if (!ok(q))
        return false;
    if (!is_expr(e) || is_from_node(e)) {
        cr_stmt_fail(q, CR_ERR_ARGUMENT, "%s: %s", what,
                     e ? "not a column or expression" : "the expression is NULL");
        return false;
    }
    use(q, e, what);
    return ok(q);
}

/* e is an expression q may use, not an ordering. */
static bool check_expr(cr_stmt *q, const cr_expr *e, const char *what)
{
    return check_expr_or_ordering(q, e, what) && refuse_ordering(q, e, what);
}

static bool refuse_window(cr_stmt *q, const cr_expr *e, const char *what);

static void and_into(cr_stmt *q, cr_expr **slot, cr_expr *cond, const char *what)
{
    if (!check_expr(q, cond, what) || !refuse_window(q, cond, what))
        return;
    if (!*slot)
        *slot = cond;
    else
        *slot = cr_and(q, *slot, cond);
}

void (cr_where)(cr_stmt *q, cr_expr *cond)
{
    if (!ok(q))
        return;
    if (q->kind == CR_STMT_INSERT) {
        cr_stmt_fail(q, CR_ERR_INVALID_REQUEST, "where applies to SELECT, UPDATE and DELETE");
        return;
    }
    if (q->kind == CR_STMT_COMPOUND) {
        cr_stmt_fail(q, CR_ERR_INVALID_REQUEST,
                     "where: a compound SELECT has no WHERE; filter its members");
        return;
    }
    and_into(q, &q->where, cond, "where");
}

void (cr_having)(cr_stmt *q, cr_expr *cond)
{
    if (expect(q, CR_STMT_SELECT, "having"))
        and_into(q, &q->having, cond, "having");
}

static bool check_from(cr_stmt *q, const void *from, const char *what)
{
    if (!ok(q))
        return false;
    if (!is_table(from) && !is_from_node(from)) {
        cr_stmt_fail(q, CR_ERR_ARGUMENT, "%s: not a table, alias, subquery or CTE", what);
        return false;
    }
    if (!is_table(from))
        use(q, from, what);
    return ok(q);
}

static void correlate(cr_stmt *q, const void *const *items, cr_correlate_mode mode,
                      const char *what)
{
    if (!expect(q, CR_STMT_SELECT, what))
        return;
    q->correlate = mode;
    q->correlate_items.n = 0;
    size_t n = 0;
    if (items && !list_items(q, &items, &n, what, true))
        return;
    for (size_t i = 0; i < n && ok(q); i++) {
        if (!is_table(items[i]) && !is_from_node(items[i])) {
            cr_stmt_fail(q, CR_ERR_ARGUMENT, "%s: item %zu is not a table, alias, subquery or "
                         "CTE", what, i + 1);
            return;
        }
        if (check_from(q, items[i], what))
            push(q, &q->correlate_items, (void *)items[i]);
    }
}

void cr_correlate_items(cr_stmt *q, const void *const *items)
{
    correlate(q, items, CR_CORRELATE_ONLY, "correlate");
}

void cr_correlate_except_items(cr_stmt *q, const void *const *items)
{
    correlate(q, items, CR_CORRELATE_EXCEPT, "correlate_except");
}

void cr_select_from(cr_stmt *q, const void *from)
{
    if (expect(q, CR_STMT_SELECT, "select_from") && check_from(q, from, "select_from"))
        push(q, &q->froms, (void *)from);
}

static void join(cr_stmt *q, const void *target, cr_expr *on, cr_join_kind kind,
                 const char *what)
{
    if (!expect(q, CR_STMT_SELECT, what) || !check_from(q, target, what))
        return;
    if (on && !check_expr(q, on, what))
        return;
    cr_join_clause *j = alloc(q, sizeof *j);
    if (!j)
        return;
    j->target = target;
    j->on = on;
    j->kind = kind;
    push(q, &q->joins, j);
}

void cr_join(cr_stmt *q, const void *t, cr_expr *on) { join(q, t, on, CR_JOIN_INNER, "join"); }
void cr_outerjoin(cr_stmt *q, const void *t, cr_expr *on) { join(q, t, on, CR_JOIN_LEFT, "outerjoin"); }
void cr_full_outerjoin(cr_stmt *q, const void *t, cr_expr *on)
{
    join(q, t, on, CR_JOIN_FULL, "full outer join");
}

void cr_order_by_items(cr_stmt *q, const void *const *items)
{
    if (!ok(q))
        return;
    if (q->kind != CR_STMT_SELECT && q->kind != CR_STMT_COMPOUND) {
        cr_stmt_fail(q, CR_ERR_INVALID_REQUEST, "order_by applies to SELECT");
        return;
    }
    push_items(q, &q->order_by, items, "order_by", false, true);
}

void cr_group_by_items(cr_stmt *q, const void *const *items)
{
    if (!expect(q, CR_STMT_SELECT, "group_by"))
        return;
    size_t from = q->group_by.n;
    push_items(q, &q->group_by, items, "group_by", false, false);
    for (size_t i = from; i < q->group_by.n && ok(q); i++)
        refuse_window(q, q->group_by.items[i], "group_by");
}

static cr_expr *node(cr_stmt *q, cr_node_kind kind)
{
    if (!ok(q))
        return NULL;
    cr_expr *e = alloc(q, sizeof *e);
    if (e) {
        e->tag = CR_TAG_EXPR;
        e->kind = (uint8_t)kind;
        e->owner = q;
    }
    return e;
}

static cr_expr *bind_value(cr_stmt *q, cr_value v)
{
    cr_expr *e = node(q, CR_N_BIND);
    if (!e)
        return NULL;
    if ((unsigned)v.type > CR_NUMERIC) {
        cr_stmt_fail(q, CR_ERR_ARGUMENT, "a value has no valid type (%d)", (int)v.type);
        return NULL;
    }
    char why[128];
    /* (An impossible date is checked where a column types it, as DataError
     * naming the column, and before execution for the others.) */
    if ((v.type == CR_TEXT || v.type == CR_NUMERIC || v.type == CR_BLOB) &&
        cr_value_check(&v, why, sizeof why)) {
        cr_stmt_fail(q, CR_ERR_ARGUMENT, "%s", why);
        return NULL;
    }
    if (v.type == CR_TEXT || v.type == CR_NUMERIC) {
        char *p = cr_arena_alloc(&q->arena, v.v.s.len + 1);
        if (!p) {
            cr_stmt_fail(q, CR_ERR_NO_MEMORY, "out of memory building the statement");
            return NULL;
        }
        if (v.v.s.len)
            memcpy(p, v.v.s.ptr, v.v.s.len);
        p[v.v.s.len] = '\0';
        v.v.s.ptr = p;
    } else if (v.type == CR_BLOB && v.v.blob.len) {
        void *p = cr_arena_alloc(&q->arena, v.v.blob.len);
        if (!p) {
            cr_stmt_fail(q, CR_ERR_NO_MEMORY, "out of memory building the statement");
            return NULL;
        }
        v.v.blob.ptr = memcpy(p, v.v.blob.ptr, v.v.blob.len);
    }
    e->u.value = v;
    return e;
}

cr_expr *cr_bind(cr_stmt *q, cr_value v) { return bind_value(q, v); }

bool cr_is_param_name(const char *name)
{
    if (!name || !*name || (*name >= '0' && *name <= '9'))
        return false;
    size_t n = 0;
    for (const char *p = name; *p; p++, n++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              (*p >= '0' && *p <= '9') || *p == '_'))
            return false;
    return n <= CR_PARAM_NAME_MAX;
}

cr_expr *cr_bindparam(cr_stmt *q, const char *name)
{
    if (!ok(q))
        return NULL;
    if (!cr_is_param_name(name)) {
        cr_stmt_fail(q, CR_ERR_ARGUMENT, "bindparam: %s%.100s%s is not a parameter name (letters, "
                     "digits and '_', not starting with a digit, at most 100)",
                     name ? "'" : "", name ? name : "NULL", name ? "'" : "");
        return NULL;
    }
    cr_expr *e = bind_value(q, cr_val_null());
    cr_param_node *p = alloc(q, sizeof *p);
    if (!e || !p)
        return NULL;
    p->name = copy_str(q, name);
    if (!p->name)
        return NULL;
    p->plain_type = -1;
    e->param = p;
    return e;
}

void cr_limit(cr_stmt *q, int64_t n)
{
    if (!ok(q))
        return;
    if (q->kind != CR_STMT_SELECT && q->kind != CR_STMT_COMPOUND) {
        cr_stmt_fail(q, CR_ERR_INVALID_REQUEST, "limit applies to SELECT");
        return;
    }
    if (ok(q) && n < 0) {
        cr_stmt_fail(q, CR_ERR_ARGUMENT, "limit must not be negative (got %lld)", (long long)n);
        return;
    }
    q->limit = bind_value(q, cr_val_int(n));
}

void cr_offset(cr_stmt *q, int64_t n)
{
    if (!ok(q))
        return;
    if (q->kind != CR_STMT_SELECT && q->kind != CR_STMT_COMPOUND) {
        cr_stmt_fail(q, CR_ERR_INVALID_REQUEST, "offset applies to SELECT");
        return;
    }
    if (ok(q) && n < 0) {
        cr_stmt_fail(q, CR_ERR_ARGUMENT, "offset must not be negative (got %lld)", (long long)n);
        return;
    }
    q->offset = bind_value(q, cr_val_int(n));
}

void cr_distinct(cr_stmt *q)
{
    if (expect(q, CR_STMT_SELECT, "distinct"))
        q->distinct = true;
}

void cr_for_update(cr_stmt *q, int flags)
{
    if (!expect(q, CR_STMT_SELECT, "for_update"))
        return;
    if (flags & ~(CR_FOR_NOWAIT | CR_FOR_SKIP_LOCKED | CR_FOR_SHARE)) {
        cr_stmt_fail(q, CR_ERR_ARGUMENT, "for_update: unknown flags %#x", (unsigned)flags);
        return;
    }
    if ((flags & CR_FOR_NOWAIT) && (flags & CR_FOR_SKIP_LOCKED)) {
        cr_stmt_fail(q, CR_ERR_ARGUMENT, "for_update: NOWAIT and SKIP LOCKED exclude each other");
        return;
    }
    q->for_update = flags;
}

static cr_stmt *compound(cr_stmt *a, cr_stmt *b, cr_compound_op op)
{
    cr_stmt *q = stmt_new(CR_STMT_COMPOUND);
    if (!q) {
        cr_stmt_free(a);
        cr_stmt_free(b);
        return NULL;
    }
    q->op = op;
    static const char *const names[] = {"union", "union_all", "intersect", "except"};
    if (adopt(q, a, names[op]))
        q->left = a;
    if (adopt(q, b, names[op]))
        q->right = b;
    return q;
}

cr_stmt *cr_union(cr_stmt *a, cr_stmt *b) { return compound(a, b, CR_UNION); }
cr_stmt *cr_union_all(cr_stmt *a, cr_stmt *b) { return compound(a, b, CR_UNION_ALL); }
cr_stmt *cr_intersect(cr_stmt *a, cr_stmt *b) { return compound(a, b, CR_INTERSECT); }
cr_stmt *cr_except(cr_stmt *a, cr_stmt *b) { return compound(a, b, CR_EXCEPT); }

/* ---- FROM items made of statements ----------------------------------------- */

static cr_expr *from_stmt(cr_stmt *q, cr_stmt *sub, const char *name, cr_node_kind kind,
                          const char *what)
{
    if (!ok(q)) {
        take(q, sub);
        return NULL;
    }
    if (!adopt(q, sub, what))
        return NULL;
    if (kind != CR_N_SCALAR_SUB && kind != CR_N_EXISTS && kind != CR_N_IN_SELECT &&
        (!name || !*name)) {
        cr_stmt_fail(q, CR_ERR_ARGUMENT, "%s: a name is required", what);
        return NULL;
    }
    cr_expr *e = node(q, kind);
    if (!e)
        return NULL;
    e->stmt = sub;
    if (name)
        e->u.label.name = copy_str(q, name);
    return e;
}

cr_expr *cr_subquery(cr_stmt *q, cr_stmt *sub, const char *name)
{
    return from_stmt(q, sub, name, CR_N_SUBQUERY, "subquery");
}

cr_expr *cr_cte(cr_stmt *q, cr_stmt *sub, const char *name, bool recursive)
{
    cr_expr *e = from_stmt(q, sub, name, CR_N_CTE, "cte");
    if (e) {
        e->cte_recursive = recursive;
        push(q, &q->ctes, e);
    }
    return ok(q) ? e : NULL;
}

void cr_cte_union_all(cr_stmt *q, cr_expr *cte, cr_stmt *part)
{
    bool is_cte = is_expr(cte) && cte->kind == CR_N_CTE;
    if (ok(q) && !is_cte)
        cr_stmt_fail(q, CR_ERR_ARGUMENT, "cte_union_all: not a CTE");
    if (!ok(q) || !is_cte) {
        take(q, part);
        return;
    }
    if (!adopt(q, part, "cte_union_all"))
        return;
    use(q, cte, "cte_union_all");
    if (!cte->cte_recursive) {
        cr_stmt_fail(q, CR_ERR_ARGUMENT, "cte_union_all: the CTE '%s' was not made recursive",
                     cte->u.label.name);
        return;
    }
    cte->recursive = part;
}

cr_expr *cr_alias(cr_stmt *q, cr_table *t, const char *name)
{
    if (ok(q) && (!is_table(t) || !name || !*name)) {
        cr_stmt_fail(q, CR_ERR_ARGUMENT, "alias: %s", !is_table(t) ? "not a table"
                                                                  : "a name is required");
        return NULL;
    }
    cr_expr *e = node(q, CR_N_ALIAS);
    if (e) {
        e->table = t;
        e->u.label.name = copy_str(q, name);
    }
    return ok(q) ? e : NULL;
}

cr_expr *cr_c(cr_stmt *q, cr_expr *from, const char *name)
{
    if (!ok(q))
        return NULL;
    if (!is_from_node(from) || !name) {
        cr_stmt_fail(q, CR_ERR_ARGUMENT, "c: %s", !name ? "the column name is NULL"
                                                       : "not an alias, subquery or CTE");
        return NULL;
    }
    use(q, from, "c");
    const cr_column *col = NULL;
    if (from->kind == CR_N_ALIAS) {
        col = cr_table_column(from->table, name);
        if (!col) {
            cr_stmt_fail(q, CR_ERR_ARGUMENT, "alias '%s' of table '%s' has no column '%s'",
                         from->u.label.name, from->table->name, name);
            return NULL;
        }
    }
    cr_expr *e = node(q, CR_N_FROM_COLUMN);
    if (e) {
        e->u.fcol.from = from;
        e->u.fcol.name = copy_str(q, name);
        e->u.fcol.col = (struct cr_column *)col;
        if (col)
            e->type = (uint8_t)col->type.kind;
    }
    return ok(q) ? e : NULL;
}

/* ---- values ----------------------------------------------------------------- */

static bool enum_has(const struct cr_column *col, const cr_value *v)
{
    for (const char *const *e = col->type.enum_values; *e; e++)
        if (strlen(*e) == v->v.s.len && memcmp(*e, v->v.s.ptr, v->v.s.len) == 0)
            return true;
    return false;
}

/* What a column of each type takes, for messages. */
static const char *takes(cr_sqltype_kind k)
{
    switch (k) {
    case CR_SQLTYPE_INTEGER: case CR_SQLTYPE_SMALLINT: case CR_SQLTYPE_BIGINT:
        return "an integer";
    case CR_SQLTYPE_BOOLEAN: return "a bool or the integers 0 and 1";
    case CR_SQLTYPE_FLOAT: case CR_SQLTYPE_DOUBLE: return "a floating-point number or an integer";
    case CR_SQLTYPE_NUMERIC: return "a numeric, an integer or a floating-point number";
    case CR_SQLTYPE_DATE: return "a date or ISO-8601 text (YYYY-MM-DD)";
    case CR_SQLTYPE_TIME: return "a time or ISO-8601 text (HH:MM[:SS[.ffffff]])";
    case CR_SQLTYPE_DATETIME:
        return "a datetime or ISO-8601 text (YYYY-MM-DD[ HH:MM[:SS[.ffffff]]][+HH:MM])";
    case CR_SQLTYPE_BINARY: return "a blob";
    default: return "text";
    }
}

/* Whether v fits a column of kind k, converting integers to the booleans
 * and doubles those columns hold. */
static bool fits(cr_value *v, cr_sqltype_kind k)
{
    switch (k) {
    case CR_SQLTYPE_INTEGER: case CR_SQLTYPE_SMALLINT: case CR_SQLTYPE_BIGINT:
        return v->type == CR_INT;
    case CR_SQLTYPE_STRING: case CR_SQLTYPE_TEXT: case CR_SQLTYPE_JSON: case CR_SQLTYPE_UUID:
    case CR_SQLTYPE_ENUM:
        return v->type == CR_TEXT;
    case CR_SQLTYPE_BOOLEAN:
        if (v->type == CR_INT && (v->v.i == 0 || v->v.i == 1))
            *v = cr_val_bool(v->v.i == 1);
        return v->type == CR_BOOL;
    case CR_SQLTYPE_FLOAT: case CR_SQLTYPE_DOUBLE:
        if (v->type == CR_INT)
            *v = cr_val_double((double)v->v.i);
        return v->type == CR_DOUBLE;
    case CR_SQLTYPE_NUMERIC:
        return v->type == CR_NUMERIC || v->type == CR_INT || v->type == CR_DOUBLE;
    case CR_SQLTYPE_DATE: return v->type == CR_DATE;
    case CR_SQLTYPE_TIME: return v->type == CR_TIME;
    case CR_SQLTYPE_DATETIME: return v->type == CR_DATETIME;
    case CR_SQLTYPE_BINARY: return v->type == CR_BLOB;
    default: return true;
    }
}

/* The column's type as SQL, for a message. */
static const char *type_name_of(const struct cr_column *col, char *tn, size_t n)
{
    cr_sqltype_render(&col->type, tn, n);
    return tn;
}

/* ISO-8601 text for a date, time or datetime column becomes the typed
 * value (a date alone is midnight for a datetime column). */
static cr_status parse_datetime_text(cr_value *v, const struct cr_column *col, char *msg,
                                     size_t n)
{
    cr_sqltype_kind k = col->type.kind;
    if (v->type != CR_TEXT ||
        (k != CR_SQLTYPE_DATE && k != CR_SQLTYPE_TIME && k != CR_SQLTYPE_DATETIME))
        return CR_OK;
    cr_datetime dt;
    cr_type t;
    char tn[64];
    int shown = v->v.s.len < 40 ? (int)v->v.s.len : 40;   /* not NUL-terminated */
    if (cr_datetime_parse(v->v.s.ptr, v->v.s.len, &dt, &t) != CR_OK) {
        snprintf(msg, n, "column %s.%s is %s, which takes %s; '%.*s' is not ISO-8601",
                 col->table->name, col->name, type_name_of(col, tn, sizeof tn), takes(k),
                 shown, v->v.s.ptr);
        return CR_ERR_ARGUMENT;
    }
    if (t == CR_DATE && k == CR_SQLTYPE_DATETIME)
        t = CR_DATETIME;
    cr_type want = k == CR_SQLTYPE_DATE ? CR_DATE : k == CR_SQLTYPE_TIME ? CR_TIME : CR_DATETIME;
    if (t != want) {
        snprintf(msg, n, "column %s.%s is %s, which takes %s; '%.*s' is a %s", col->table->name,
                 col->name, type_name_of(col, tn, sizeof tn), takes(k), shown, v->v.s.ptr,
                 cr_type_name(t));
        return CR_ERR_ARGUMENT;
    }
    v->type = t;
    v->v.dt = dt;
    return CR_OK;
}

cr_status cr_value_fit_column(cr_value *v, const struct cr_column *col, char *msg, size_t n)
{
    assert(v && col && msg && n);
    if (v->type == CR_NULL)
        return CR_OK;
    cr_sqltype_kind k = col->type.kind;
    cr_status rc = parse_datetime_text(v, col, msg, n);
    if (rc)
        return rc;
    if (!fits(v, k)) {
        const char *vt = cr_type_name(v->type);
        char tn[64];
        snprintf(msg, n, "column %s.%s is %s, which takes %s; %s %s value does not fit it",
                 col->table->name, col->name, type_name_of(col, tn, sizeof tn), takes(k),
                 vt[0] && strchr("AEIOU", vt[0]) ? "an" : "a", vt);
        return CR_ERR_ARGUMENT;
    }
    if (k == CR_SQLTYPE_ENUM && col->type.enum_values && !enum_has(col, v)) {
        snprintf(msg, n, "'%.*s' is not one of the values of enum column %s.%s",
                 (int)(v->v.s.len < 200 ? v->v.s.len : 200), v->v.s.ptr, col->table->name,
                 col->name);
        return CR_ERR_DATA;
    }
    if (v->type == CR_DATE || v->type == CR_TIME || v->type == CR_DATETIME) {
        char why[128];
        if (cr_datetime_check(&v->v.dt, v->type, why, sizeof why)) {
            snprintf(msg, n, "value for %s.%s: %s", col->table->name, col->name, why);
            return CR_ERR_DATA;
        }
    }
    return CR_OK;
}

/* Values are checked against the column they meet: a wrong one is refused
 * here, before anything is sent. Integers meeting a boolean column become
 * booleans (SQLite and MySQL hand booleans back as 0 / 1). A placeholder
 * keeps the column, to check the values it is given. */
/* The type of value a column's placeholder sends as it is given. */
static int plain_type(const struct cr_column *col)
{
    switch (col->type.kind) {
    case CR_SQLTYPE_INTEGER: case CR_SQLTYPE_SMALLINT: case CR_SQLTYPE_BIGINT:
        return CR_INT;
    case CR_SQLTYPE_FLOAT: case CR_SQLTYPE_DOUBLE:
        return CR_DOUBLE;
    case CR_SQLTYPE_BOOLEAN:
        return CR_BOOL;
    case CR_SQLTYPE_STRING: case CR_SQLTYPE_TEXT:
        return CR_TEXT;
    default:
        return -1;
    }
}

static void coerce(cr_stmt *q, cr_expr *bind, const struct cr_column *col)
{
    if (!ok(q) || !bind || bind->kind != CR_N_BIND || !col)
        return;
    bind->type = (uint8_t)col->type.kind;
    bind->hint = col->name;
    if (bind->param) {
        bind->param->col = col;
        bind->param->plain_type = plain_type(col);
    }
    char msg[600];
    cr_status rc = cr_value_fit_column(&bind->u.value, col, msg, sizeof msg);
    if (rc)
        cr_stmt_fail(q, rc, "%s", msg);
}

static const struct cr_column *item_column(const cr_expr *from, const char *name);

/* The table column an expression is, if it is one (directly, through an
 * alias, or as a subquery's or CTE's column selecting it). */
static const struct cr_column *column_of(const cr_expr *e)
{
    if (!e)
        return NULL;
    if (e->kind == CR_N_COLUMN)
        return (const struct cr_column *)e;
    if (e->kind == CR_N_FROM_COLUMN)
        return e->u.fcol.col ? e->u.fcol.col : item_column(e->u.fcol.from, e->u.fcol.name);
    return NULL;
}

/* The table column that the item named name of a subquery's or CTE's SELECT
 * (the first SELECT of a compound) is, if it is one: a value compared with
 * s.c.name is then typed as SQLAlchemy types it, after the item. */
static const struct cr_column *item_column(const cr_expr *from, const char *name)
{
    if (!from || (from->kind != CR_N_SUBQUERY && from->kind != CR_N_CTE))
        return NULL;
    const cr_stmt *sub = from->stmt;
    while (sub && sub->kind == CR_STMT_COMPOUND)
        sub = sub->left;
    if (!sub || sub->kind != CR_STMT_SELECT)
        return NULL;
    for (size_t i = 0; i < sub->columns.n; i++) {
        const void *item = sub->columns.items[i];
        if (is_table(item)) {
            const struct cr_column *c = cr_table_column((const cr_table *)item, name);
            if (c)
                return c;
            continue;
        }
        if (!is_expr(item))
            continue;
        const cr_expr *x = item;
        if (x->kind == CR_N_LABEL) {
            if (strcmp(x->u.label.name, name) == 0)
                return column_of(x->u.label.e);
            continue;
        }
        const struct cr_column *c = column_of(x);
        const char *shown = x->kind == CR_N_FROM_COLUMN ? x->u.fcol.name : c ? c->name : NULL;
        if (shown && strcmp(shown, name) == 0)
            return c;
    }
    return NULL;
}

/* coerce() after what e is: a value meeting a subquery's column is named
 * after that column (u_1 for s.c.u), as SQLAlchemy names it. */
static void coerce_to(cr_stmt *q, cr_expr *bind, const cr_expr *e)
{
    const struct cr_column *col = column_of(e);
    coerce(q, bind, col);
    if (col && bind && bind->kind == CR_N_BIND && e->kind == CR_N_FROM_COLUMN)
        bind->hint = e->u.fcol.name;
}

static void slots_in(cr_list *l, void (*fn)(cr_expr **, void *), void *ctx)
{
    for (size_t i = 0; i < l->n; i++)
        if (is_expr(l->items[i]))
            fn((cr_expr **)&l->items[i], ctx);
}

static void slot(cr_expr **p, void (*fn)(cr_expr **, void *), void *ctx)
{
    if (*p)
        fn(p, ctx);
}

void cr_expr_each_slot(cr_expr *e, void (*fn)(cr_expr **slot, void *ctx), void *ctx)
{
    switch ((cr_node_kind)e->kind) {
    case CR_N_BINARY:
        slot(&e->u.bin.left, fn, ctx);
        slot(&e->u.bin.right, fn, ctx);
        break;
    case CR_N_AND: case CR_N_OR:
        slots_in(&e->u.list, fn, ctx);
        break;
    case CR_N_NOT: case CR_N_IS_NULL: case CR_N_IS_NOT_NULL: case CR_N_ORDER: case CR_N_LENGTH:
        slot(&e->u.un.e, fn, ctx);
        break;
    case CR_N_CAST:
        slot(&e->u.cast.e, fn, ctx);
        break;
    case CR_N_BETWEEN: case CR_N_LIKE_ESCAPE:
        slot(&e->u.un.e, fn, ctx);
        slot(&e->u.un.a, fn, ctx);
        slot(&e->u.un.b, fn, ctx);
        break;
    case CR_N_IN: case CR_N_NOT_IN:
        slot(&e->u.in.e, fn, ctx);
        for (size_t i = 0; i < e->u.in.n; i++)
            slot(&e->u.in.vals[i], fn, ctx);
        break;
    case CR_N_IN_SELECT: case CR_N_NOT_IN_SELECT:
        slot(&e->u.sub.e, fn, ctx);
        break;
    case CR_N_FUNC:
        slots_in(&e->u.func.args, fn, ctx);
        break;
    case CR_N_CASE:
        slots_in(&e->u.cases.whens, fn, ctx);
        slots_in(&e->u.cases.thens, fn, ctx);
        slot(&e->u.cases.otherwise, fn, ctx);
        break;
    case CR_N_LABEL:
        slot(&e->u.label.e, fn, ctx);
        break;
    case CR_N_OVER:
        slot(&e->u.over.e, fn, ctx);
        slots_in(&e->u.over.partition, fn, ctx);
        slots_in(&e->u.over.order, fn, ctx);
        break;
    default:
        break;
    }
}

typedef struct child_visit {
    void (*fn)(const cr_expr *, void *);
    void *ctx;
} child_visit;

static void visit_child(cr_expr **p, void *ctx)
{
    const child_visit *v = ctx;
    v->fn(*p, v->ctx);
}

void cr_expr_each_child(const cr_expr *e, void (*fn)(const cr_expr *child, void *ctx),
                        void *ctx)
{
    /* The walk only reads: the slots are not written through. */
    cr_expr_each_slot((cr_expr *)e, visit_child, &(child_visit){fn, ctx});
}

/* ---- adapting an expression to an alias (SQLAlchemy's ClauseAdapter) ---- */

typedef struct adapt_ctx {
    cr_stmt *q;
    const cr_table *t;
    cr_expr *alias;
    const char *what;
} adapt_ctx;

static cr_expr *adapt(adapt_ctx *a, cr_expr *e);

static void not_a_leaf(const cr_expr *child, void *leaf)
{
    (void)child;
    *(bool *)leaf = false;
}

static void adapt_slot(cr_expr **p, void *ctx) { *p = adapt(ctx, *p); }

static bool copy_list(cr_stmt *q, cr_list *l)
{
    if (!l->n)
        return true;
    void **items = alloc(q, l->n * sizeof *items);
    if (!items)
        return false;
    memcpy(items, l->items, l->n * sizeof *items);
    l->items = items;
    l->cap = l->n;
    return true;
}

/* e with every column of a->t read from a->alias instead: a copy of each
 * node above such a column, the rest shared. */
static cr_expr *adapt(adapt_ctx *a, cr_expr *e)
{
    cr_stmt *q = a->q;
    if (!e || !ok(q))
        return NULL;
    switch ((cr_node_kind)e->kind) {
    case CR_N_COLUMN: {
        const cr_column *col = (const cr_column *)e;
        return col->table == a->t ? cr_c(q, a->alias, col->name) : e;
    }
    case CR_N_IN_SELECT: case CR_N_NOT_IN_SELECT: case CR_N_SCALAR_SUB: case CR_N_EXISTS:
    case CR_N_OVER: case CR_N_ALIAS: case CR_N_SUBQUERY: case CR_N_CTE:
        cr_stmt_fail(q, CR_ERR_NOT_SUPPORTED, "%s: a subquery, window or FROM item in the "
                     "condition is not adapted to the alias of table %s; write the EXISTS with "
                     "cr_alias and cr_exists", a->what, a->t->name);
        return NULL;
    default:
        break;
    }
    bool leaf = true;
    cr_expr_each_child(e, not_a_leaf, &leaf);
    if (leaf)
        return e;   /* a value, a literal, a column of an alias ... */
    cr_expr *n = node(q, (cr_node_kind)e->kind);
    if (!n)
        return NULL;
    *n = *e;
    n->owner = q;
    n->mark = 0;
    bool copied = true;
    if (e->kind == CR_N_AND || e->kind == CR_N_OR)
        copied = copy_list(q, &n->u.list);
    else if (e->kind == CR_N_FUNC)
        copied = copy_list(q, &n->u.func.args);
    else if (e->kind == CR_N_CASE)
        copied = copy_list(q, &n->u.cases.whens) && copy_list(q, &n->u.cases.thens);
    else if ((e->kind == CR_N_IN || e->kind == CR_N_NOT_IN) && e->u.in.n) {
        cr_expr **vals = alloc(q, e->u.in.n * sizeof *vals);
        if ((copied = vals != NULL))
            n->u.in.vals = memcpy(vals, e->u.in.vals, e->u.in.n * sizeof *vals);
    }
    if (!copied)
        return NULL;
    cr_expr_each_slot(n, adapt_slot, a);
    return ok(q) ? n : NULL;
}

cr_expr *cr_expr_adapt(cr_stmt *q, cr_expr *e, const cr_table *t, cr_expr *alias,
                       const char *what)
{
    adapt_ctx a = {q, t, alias, what};
    return adapt(&a, e);
}

static void find_window(const cr_expr *e, void *found)
{
    if (e->kind == CR_N_OVER)
        *(bool *)found = true;
    else
        cr_expr_each_child(e, find_window, found);
}

/* WHERE, HAVING and GROUP BY are computed before window functions. */
static bool refuse_window(cr_stmt *q, const cr_expr *e, const char *what)
{
    bool found = false;
    find_window(e, &found);
    if (found)
        cr_stmt_fail(q, CR_ERR_INVALID_REQUEST, "%s: a window function (cr_over) cannot be "
                     "used here; filter on it in an enclosing SELECT (cr_subquery)", what);
    return !found;
}

const cr_assign *cr_assign_find(const cr_list *row, const struct cr_column *col)
{
    for (size_t i = 0; i < row->n; i++)
        if (((const cr_assign *)row->items[i])->col == col)
            return row->items[i];
    return NULL;
}

static void set_into(cr_stmt *q, cr_list *l, cr_column *col, cr_expr *value, const char *what)
{
    if (!ok(q))
        return;
    if (!is_expr(col) || col->base.kind != CR_N_COLUMN) {
        cr_stmt_fail(q, CR_ERR_ARGUMENT, "%s: not a column", what);
        return;
    }
    if (col->table != q->table) {
        cr_stmt_fail(q, CR_ERR_ARGUMENT, "%s: column %s.%s is not a column of table '%s'", what,
                     col->table->name, col->name, q->table->name);
        return;
    }
    if (!check_expr(q, value, what))
        return;
    if (cr_assign_find(l, col)) {
        cr_stmt_fail(q, CR_ERR_ARGUMENT, "%s: column '%s' is given twice (to run one statement "
                     "with other values each time, give the column cr_bindparam and the values "
                     "to cr_conn_execute_stmt_params; cr_next_row starts another row)", what,
                     col->name);
        return;
    }
    coerce(q, value, col);
    cr_assign *a = alloc(q, sizeof *a);
    if (a) {
        a->col = col;
        a->value = value;
        push(q, l, a);
    }
}

void cr_set_expr(cr_stmt *q, cr_column *col, cr_expr *value)
{
    if (!ok(q))
        return;
    if (q->kind != CR_STMT_INSERT && q->kind != CR_STMT_UPDATE) {
        cr_stmt_fail(q, CR_ERR_INVALID_REQUEST, "values apply to INSERT and UPDATE");
        return;
    }
    if (q->from_select) {
        cr_stmt_fail(q, CR_ERR_INVALID_REQUEST, "values: this INSERT takes its rows from a SELECT");
        return;
    }
    set_into(q, &q->row, col, value, "values");
}

void cr_next_row(cr_stmt *q)
{
    if (!expect(q, CR_STMT_INSERT, "next_row"))
        return;
    if (q->row.n == 0) {
        cr_stmt_fail(q, CR_ERR_ARGUMENT, "next_row: the row has no values");
        return;
    }
    cr_list *done = alloc(q, sizeof *done);
    if (!done)
        return;
    *done = q->row;
    memset(&q->row, 0, sizeof q->row);
    push(q, &q->rows, done);
}

void cr_values_rows(cr_stmt *q, cr_column *const *cols, size_t ncols, const cr_value *values,
                    size_t nrows)
{
    if (!expect(q, CR_STMT_INSERT, "values"))
        return;
    if (!cols || !ncols || (nrows && !values)) {
        cr_stmt_fail(q, CR_ERR_ARGUMENT, "values: no columns or no values");
        return;
    }
    if (q->row.n)
        cr_next_row(q);
    for (size_t r = 0; r < nrows && ok(q); r++) {
        for (size_t c = 0; c < ncols; c++)
            set_into(q, &q->row, cols[c], bind_value(q, values[r * ncols + c]), "values");
        cr_next_row(q);
    }
}

/* The number of columns a SELECT gives (a table counts all of its own). */
static size_t select_width(const cr_stmt *s)
{
    if (s->kind == CR_STMT_COMPOUND)
        return select_width(s->left);
    size_t n = 0;
    for (size_t i = 0; i < s->columns.n; i++)
        n += is_table(s->columns.items[i]) ? ((const cr_table *)s->columns.items[i])->ncols : 1;
    return n;
}

void cr_from_select(cr_stmt *q, cr_column *const *cols, size_t ncols, cr_stmt *sel)
{
    if (!expect(q, CR_STMT_INSERT, "from_select")) {
        take(q, sel);
        return;
    }
    if (!adopt(q, sel, "from_select"))
        return;
    if (!cols && ncols) {
        cr_stmt_fail(q, CR_ERR_ARGUMENT, "from_select: the columns are NULL");
        return;
    }
    if (q->row.n || q->rows.n || q->from_select) {
        /* A second SELECT would add its columns to the first one's. */
        cr_stmt_fail(q, CR_ERR_INVALID_REQUEST, "from_select: this INSERT already has %s",
                     q->from_select ? "a SELECT" : "values");
        return;
    }
    size_t nsel = select_width(sel);
    if (nsel && nsel != ncols) {
        cr_stmt_fail(q, CR_ERR_ARGUMENT, "from_select: %zu column%s named and the SELECT has "
                     "%zu", ncols, ncols == 1 ? " is" : "s are", nsel);
        return;
    }
    for (size_t i = 0; i < ncols && ok(q); i++) {
        if (!is_expr(cols[i]) || cols[i]->base.kind != CR_N_COLUMN || cols[i]->table != q->table)
            cr_stmt_fail(q, CR_ERR_ARGUMENT, "from_select: column %zu is not a column of '%s'",
                         i + 1, q->table->name);
        push(q, &q->from_select_cols, cols[i]);
    }
    q->from_select = sel;
}

/* The first column of another table than ctx's in e (subqueries aside). */
typedef struct foreign_column {
    const cr_table *table;
    const struct cr_column *found;
} foreign_column;

static void find_foreign_column(const cr_expr *e, void *ctx)
{
    foreign_column *fc = ctx;
    if (fc->found)
        return;
    if (e->kind == CR_N_COLUMN) {
        const struct cr_column *c = (const struct cr_column *)e;
        if (c->table != fc->table)
            fc->found = c;
        return;
    }
    cr_expr_each_child(e, find_foreign_column, ctx);
}

/* RETURNING reads the rows the statement wrote: a column of another table
 * would be rendered unqualified and read the written row's column of that
 * name, or fail. */
static void refuse_foreign_returning(cr_stmt *q, size_t from)
{
    for (size_t i = from; i < q->returning.n && ok(q); i++) {
        const void *it = q->returning.items[i];
        foreign_column fc = {q->table, NULL};
        if (is_table(it)) {
            if (it != q->table)
                cr_stmt_fail(q, CR_ERR_ARGUMENT, "returning: a statement writing '%s' cannot "
                             "return table '%s'", q->table->name, ((const cr_table *)it)->name);
            continue;
        }
        find_foreign_column(it, &fc);
        if (fc.found)
            cr_stmt_fail(q, CR_ERR_ARGUMENT, "returning: a statement writing '%s' cannot "
                         "return column '%s.%s'", q->table->name, fc.found->table->name,
                         fc.found->name);
    }
}

void cr_returning_items(cr_stmt *q, const void *const *items)
{
    if (!ok(q))
        return;
    if (q->kind != CR_STMT_INSERT && q->kind != CR_STMT_UPDATE &&
        q->kind != CR_STMT_DELETE) {
        cr_stmt_fail(q, CR_ERR_INVALID_REQUEST, "returning applies to INSERT, UPDATE and DELETE");
        return;
    }
    size_t from = q->returning.n;
    push_items(q, &q->returning, items, "returning", true, false);
    refuse_foreign_returning(q, from);
}

void cr_return_defaults(cr_stmt *q)
{
    if (expect(q, CR_STMT_INSERT, "return_defaults"))
        q->return_defaults = true;
}

static void on_conflict(cr_stmt *q, cr_column *const *cols, size_t ncols, cr_conflict_kind k)
{
    if (!expect(q, CR_STMT_INSERT, "on_conflict"))
        return;
    if (q->conflict) {
        cr_stmt_fail(q, CR_ERR_INVALID_REQUEST, "on_conflict is already set");
        return;
    }
    for (size_t i = 0; i < ncols && ok(q); i++) {
        if (!cols || !is_expr(cols[i]) || cols[i]->base.kind != CR_N_COLUMN ||
            cols[i]->table != q->table)
            cr_stmt_fail(q, CR_ERR_ARGUMENT, "on_conflict: column %zu is not a column of '%s'",
                         i + 1, q->table->name);
        else
            push(q, &q->conflict_cols, cols[i]);
    }
    q->conflict = k;
}

void cr_on_conflict_do_nothing(cr_stmt *q, cr_column *const *c, size_t n)
{
    on_conflict(q, c, n, CR_CONFLICT_NOTHING);
}

void cr_on_conflict_do_update(cr_stmt *q, cr_column *const *c, size_t n)
{
    on_conflict(q, c, n, CR_CONFLICT_UPDATE);
}

void cr_conflict_set_expr(cr_stmt *q, cr_column *col, cr_expr *value)
{
    if (!ok(q))
        return;
    if (q->conflict != CR_CONFLICT_UPDATE) {
        cr_stmt_fail(q, CR_ERR_INVALID_REQUEST, "conflict_set needs on_conflict_do_update first");
        return;
    }
    set_into(q, &q->conflict_sets, col, value, "conflict_set");
}

cr_expr *cr_excluded(cr_stmt *q, cr_column *col)
{
    if (ok(q) && (!is_expr(col) || col->base.kind != CR_N_COLUMN || col->table != q->table)) {
        cr_stmt_fail(q, CR_ERR_ARGUMENT, "excluded: not a column of the INSERT's table");
        return NULL;
    }
    /* excluded.col is the row an upsert proposed: nowhere else has one. */
    if (ok(q) && q->conflict != CR_CONFLICT_UPDATE) {
        cr_stmt_fail(q, CR_ERR_INVALID_REQUEST, "excluded needs an INSERT with "
                     "on_conflict_do_update first");
        return NULL;
    }
    cr_expr *e = node(q, CR_N_EXCLUDED);
    if (e) {
        e->u.fcol.col = col;
        e->type = (uint8_t)col->type.kind;
    }
    return e;
}

/* ---- expressions ------------------------------------------------------------ */

cr_expr *cr__operand_expr(cr_stmt *q, cr_expr *e)
{
    if (ok(q) && !e)
        cr_stmt_fail(q, CR_ERR_ARGUMENT, "an operand is NULL (cast NULL to (void *) for SQL "
                     "NULL, or an earlier call failed)");
    return ok(q) ? e : NULL;
}
cr_expr *cr__operand_column(cr_stmt *q, cr_column *c) { return cr__operand_expr(q, (cr_expr *)c); }
/* A NULL value is None (col == None is IS NULL), as the NULL pointer is;
 * cr_bind binds one. */
cr_expr *cr__operand_value(cr_stmt *q, cr_value v)
{
    return v.type == CR_NULL ? node(q, CR_N_NULL) : bind_value(q, v);
}
cr_expr *cr__operand_text(cr_stmt *q, const char *s) { return s ? bind_value(q, cr_val_text(s)) : node(q, CR_N_NULL); }
cr_expr *cr__operand_null(cr_stmt *q, const void *p)
{
    if (ok(q) && p)
        cr_stmt_fail(q, CR_ERR_ARGUMENT, "an operand is an untyped pointer; pass a column, an "
                     "expression, a value or NULL");
    return node(q, CR_N_NULL);
}
cr_expr *cr__operand_bool(cr_stmt *q, bool b) { return bind_value(q, cr_val_bool(b)); }
cr_expr *cr__operand_int(cr_stmt *q, long long i) { return bind_value(q, cr_val_int(i)); }
cr_expr *cr__operand_uint(cr_stmt *q, unsigned long long i)
{
    if (ok(q) && i > INT64_MAX) {
        cr_stmt_fail(q, CR_ERR_ARGUMENT, "the integer %llu does not fit a 64-bit signed value", i);
        return NULL;
    }
    return bind_value(q, cr_val_int((int64_t)i));
}
cr_expr *cr__operand_double(cr_stmt *q, double d) { return bind_value(q, cr_val_double(d)); }

static bool is_comparison(cr_operator op)
{
    return op <= CR_OP_GE || op >= CR_OP_LIKE;
}

cr_expr *cr_binary(cr_stmt *q, cr_operator op, cr_expr *l, cr_expr *r)
{
    if (!check_expr(q, l, "operator") || !check_expr(q, r, "operator"))
        return NULL;
    if ((unsigned)op > CR_OP_NOT_ILIKE) {
        cr_stmt_fail(q, CR_ERR_ARGUMENT, "unknown operator %d", (int)op);
        return NULL;
    }
    /* == NULL and != NULL are IS NULL and IS NOT NULL, as in SQLAlchemy. */
    if ((op == CR_OP_EQ || op == CR_OP_NE) && (l->kind == CR_N_NULL || r->kind == CR_N_NULL)) {
        cr_expr *e = node(q, op == CR_OP_EQ ? CR_N_IS_NULL : CR_N_IS_NOT_NULL);
        if (e)
            e->u.un.e = l->kind == CR_N_NULL ? r : l;
        return e;
    }
    /* x < NULL is refused, as SQLAlchemy refuses col < None. */
    if (op >= CR_OP_LT && op <= CR_OP_GE && (l->kind == CR_N_NULL || r->kind == CR_N_NULL)) {
        cr_stmt_fail(q, CR_ERR_ARGUMENT,
                     "only the '=' and '!=' operators can be used with NULL "
                     "(IS NULL / IS NOT NULL); a '<', '<=', '>' or '>=' with NULL is never true");
        return NULL;
    }
    const struct cr_column *lc = column_of(l), *rc = column_of(r);
    if (lc && r->kind == CR_N_BIND && op != CR_OP_CONCAT && op < CR_OP_LIKE)
        coerce_to(q, r, l);
    if (rc && l->kind == CR_N_BIND && op != CR_OP_CONCAT && op < CR_OP_LIKE)
        coerce_to(q, l, r);
    /* A LIKE pattern is named after its column (name_1), not typed by it. */
    if (lc && r->kind == CR_N_BIND && op >= CR_OP_LIKE && !r->hint)
        r->hint = l->kind == CR_N_FROM_COLUMN ? l->u.fcol.name : lc->name;
    cr_expr *e = node(q, CR_N_BINARY);
    if (!e)
        return NULL;
    e->op = (uint8_t)op;
    e->u.bin.left = l;
    e->u.bin.right = r;
    if (is_comparison(op))
        e->type = CR_SQLTYPE_BOOLEAN;
    else if (op == CR_OP_CONCAT)
        e->type = CR_SQLTYPE_TEXT;
    else
        e->type = l->type ? l->type : r->type;
    return e;
}

/* LIKE with the pattern's own %, _ and escape character escaped. */
static cr_expr *like_escaped(cr_stmt *q, cr_expr *e, const char *s, bool lead, bool trail,
                             const char *what)
{
    if (!check_expr(q, e, what))
        return NULL;
    if (!s) {
        cr_stmt_fail(q, CR_ERR_ARGUMENT, "%s: the text is NULL", what);
        return NULL;
    }
    cr_buf b;
    cr_buf_init(&b);
    if (lead)
        cr_buf_putc(&b, '%');
    for (const char *p = s; *p; p++) {
        if (*p == '%' || *p == '_' || *p == '/')
            cr_buf_putc(&b, '/');
        cr_buf_putc(&b, *p);
    }
    if (trail)
        cr_buf_putc(&b, '%');
    const char *pat = cr_buf_cstr(&b);
    cr_expr *p = pat ? bind_value(q, cr_val_textn(pat, b.len)) : NULL;
    cr_buf_free(&b);
    if (!pat)
        cr_stmt_fail(q, CR_ERR_NO_MEMORY, "out of memory building the statement");
    cr_expr *n = node(q, CR_N_LIKE_ESCAPE);
    if (!n)
        return NULL;
    const struct cr_column *col = column_of(e);
    if (p && col)
        p->hint = col->name;
    n->u.un.e = e;
    n->u.un.a = p;
    n->u.un.escape = '/';
    n->type = CR_SQLTYPE_BOOLEAN;
    return n;
}

cr_expr *(cr_contains)(cr_stmt *q, cr_expr *e, const char *s) { return like_escaped(q, e, s, true, true, "contains"); }
cr_expr *(cr_startswith)(cr_stmt *q, cr_expr *e, const char *s) { return like_escaped(q, e, s, false, true, "startswith"); }
cr_expr *(cr_endswith)(cr_stmt *q, cr_expr *e, const char *s) { return like_escaped(q, e, s, true, false, "endswith"); }

static cr_expr *bool_list(cr_stmt *q, cr_node_kind kind, const void *const *items)
{
    const char *what = kind == CR_N_AND ? "and" : "or";
    cr_expr *e = node(q, kind);
    if (!e)
        return NULL;
    push_items(q, &e->u.list, items, what, false, false);
    if (ok(q) && e->u.list.n == 0)
        cr_stmt_fail(q, CR_ERR_ARGUMENT, "%s: at least one condition is required (an empty %s "
                     "has no meaning)", what, what);
    if (ok(q) && e->u.list.n == 1)
        return e->u.list.items[0];
    e->type = CR_SQLTYPE_BOOLEAN;
    return ok(q) ? e : NULL;
}

cr_expr *cr_and_items(cr_stmt *q, const void *const *items) { return bool_list(q, CR_N_AND, items); }
cr_expr *cr_or_items(cr_stmt *q, const void *const *items) { return bool_list(q, CR_N_OR, items); }

static cr_expr *unary(cr_stmt *q, cr_node_kind kind, cr_expr *e, const char *what)
{
    if (!check_expr(q, e, what))
        return NULL;
    cr_expr *n = node(q, kind);
    if (n) {
        n->u.un.e = e;
        n->type = e->type;
    }
    return n;
}

cr_expr *(cr_not)(cr_stmt *q, cr_expr *e) { return unary(q, CR_N_NOT, e, "not"); }
cr_expr *(cr_is_null)(cr_stmt *q, cr_expr *e) { return unary(q, CR_N_IS_NULL, e, "is_null"); }
cr_expr *(cr_is_not_null)(cr_stmt *q, cr_expr *e) { return unary(q, CR_N_IS_NOT_NULL, e, "is_not_null"); }

static cr_expr *in_values(cr_stmt *q, cr_node_kind kind, cr_expr *e, const cr_value *vals,
                          size_t n)
{
    if (!check_expr(q, e, "in"))
        return NULL;
    if (n && !vals) {
        cr_stmt_fail(q, CR_ERR_ARGUMENT, "in: the values are NULL");
        return NULL;
    }
    cr_expr *in = node(q, kind);
    if (!in)
        return NULL;
    in->u.in.e = e;
    in->u.in.n = n;
    in->u.in.vals = n ? alloc(q, n * sizeof(cr_expr *)) : NULL;
    for (size_t i = 0; i < n && ok(q); i++) {
        in->u.in.vals[i] = bind_value(q, vals[i]);
        coerce_to(q, in->u.in.vals[i], e);
    }
    in->type = CR_SQLTYPE_BOOLEAN;
    return ok(q) ? in : NULL;
}

cr_expr *cr_in_values(cr_stmt *q, cr_expr *e, const cr_value *v, size_t n) { return in_values(q, CR_N_IN, e, v, n); }
cr_expr *cr_not_in_values(cr_stmt *q, cr_expr *e, const cr_value *v, size_t n) { return in_values(q, CR_N_NOT_IN, e, v, n); }

static cr_expr *with_sub(cr_stmt *q, cr_node_kind kind, cr_expr *e, cr_stmt *sub,
                         const char *what)
{
    if (ok(q) && e && !check_expr(q, e, what))
        e = NULL;
    cr_expr *n = from_stmt(q, sub, NULL, kind, what);
    if (n) {
        n->u.sub.e = e;
        n->u.sub.sub = sub;
        n->type = kind == CR_N_SCALAR_SUB ? CR_SQLTYPE_NONE : CR_SQLTYPE_BOOLEAN;
    }
    return n;
}

cr_expr *(cr_in_select)(cr_stmt *q, cr_expr *e, cr_stmt *sub)
{
    if (ok(q) && !e)
        cr_stmt_fail(q, CR_ERR_ARGUMENT, "in_select: the expression is NULL");
    return with_sub(q, CR_N_IN_SELECT, e, sub, "in_select");
}

cr_expr *(cr_not_in_select)(cr_stmt *q, cr_expr *e, cr_stmt *sub)
{
    cr_expr *n = cr_in_select(q, e, sub);
    if (n)
        n->kind = CR_N_NOT_IN_SELECT;
    return n;
}

cr_expr *cr_scalar_subquery(cr_stmt *q, cr_stmt *sub) { return with_sub(q, CR_N_SCALAR_SUB, NULL, sub, "scalar_subquery"); }
cr_expr *cr_exists(cr_stmt *q, cr_stmt *sub) { return with_sub(q, CR_N_EXISTS, NULL, sub, "exists"); }

cr_expr *cr_between_expr(cr_stmt *q, cr_expr *e, cr_expr *lo, cr_expr *hi)
{
    if (!check_expr(q, e, "between") || !check_expr(q, lo, "between") ||
        !check_expr(q, hi, "between"))
        return NULL;
    coerce_to(q, lo, e);
    coerce_to(q, hi, e);
    cr_expr *n = node(q, CR_N_BETWEEN);
    if (n) {
        n->u.un.e = e;
        n->u.un.a = lo;
        n->u.un.b = hi;
        n->type = CR_SQLTYPE_BOOLEAN;
    }
    return n;
}

static cr_expr *order(cr_stmt *q, cr_expr *e, int flag, const char *what)
{
    if (!check_expr_or_ordering(q, e, what))
        return NULL;
    if (e->kind == CR_N_ORDER) {
        /* desc(x).nulls_last(): modify a copy, never a node shared elsewhere.
         * The new modifier replaces the one it contradicts (asc / desc,
         * nulls first / last): one direction and one NULL placement each. */
        int nulls = CR_ORDER_NULLS_FIRST | CR_ORDER_NULLS_LAST;
        int keep = flag & nulls ? CR_ORDER_DESC : nulls;
        cr_expr *n = node(q, CR_N_ORDER);
        if (n) {
            *n = *e;
            n->owner = q;
            n->op = (uint8_t)((n->op & keep) | flag);
        }
        return n;
    }
    cr_expr *n = unary(q, CR_N_ORDER, e, what);
    if (n)
        n->op = (uint8_t)flag;
    return n;
}

cr_expr *(cr_asc)(cr_stmt *q, cr_expr *e) { return order(q, e, 0, "asc"); }
cr_expr *(cr_desc)(cr_stmt *q, cr_expr *e) { return order(q, e, CR_ORDER_DESC, "desc"); }
cr_expr *(cr_nulls_first)(cr_stmt *q, cr_expr *e) { return order(q, e, CR_ORDER_NULLS_FIRST, "nulls_first"); }
cr_expr *(cr_nulls_last)(cr_stmt *q, cr_expr *e) { return order(q, e, CR_ORDER_NULLS_LAST, "nulls_last"); }

/* Identifiers separated by dots: schema.function. */
static bool valid_function_name(const char *name)
{
    if (!name)
        return false;
    const char *p = name;
    do {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_'))
            return false;
        while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' ||
               (*p >= '0' && *p <= '9'))
            p++;
    } while (*p == '.' && *++p);
    return *p == '\0' && p[-1] != '.';
}

cr_expr *cr_func_items(cr_stmt *q, const char *name, const void *const *args)
{
    if (ok(q) && !valid_function_name(name)) {
        cr_stmt_fail(q, CR_ERR_ARGUMENT, "func: '%s' is not a function name (identifiers of "
                     "letters, digits and '_', joined by '.')", name ? name : "(null)");
        return NULL;
    }
    cr_expr *e = node(q, CR_N_FUNC);
    if (!e)
        return NULL;
    e->u.func.name = copy_str(q, name);
    if (args)
        push_items(q, &e->u.func.args, args, name, false, false);
    /* Aggregates of one argument keep its type (min, max, sum); count is an
     * integer. */
    if (e->u.func.args.n == 1 && (strcmp(name, "min") == 0 || strcmp(name, "max") == 0 ||
                                  strcmp(name, "sum") == 0 || strcmp(name, "coalesce") == 0 ||
                                  strcmp(name, "lower") == 0 || strcmp(name, "upper") == 0))
        e->type = ((cr_expr *)e->u.func.args.items[0])->type;
    return ok(q) ? e : NULL;
}

cr_expr *cr_func0(cr_stmt *q, const char *name)
{
    static const void *const none[] = {NULL};
    return cr_func_items(q, name, none);
}

cr_expr *(cr_count)(cr_stmt *q, cr_expr *e)
{
    if (!e) {
        /* cr_func would take the NULL for the end of its list: count(). */
        if (ok(q))
            cr_stmt_fail(q, CR_ERR_ARGUMENT, "count: the expression is NULL "
                         "(cr_count_star for count(*))");
        return NULL;
    }
    cr_expr *f = cr_func(q, "count", e);
    if (f)
        f->type = CR_SQLTYPE_INTEGER;
    return f;
}

cr_expr *(cr_count_distinct)(cr_stmt *q, cr_expr *e)
{
    cr_expr *f = cr_count(q, e);
    if (f)
        f->u.func.distinct = true;
    return f;
}

cr_expr *cr_count_star(cr_stmt *q)
{
    cr_expr *e = node(q, CR_N_COUNT_STAR);
    if (e)
        e->type = CR_SQLTYPE_INTEGER;
    return e;
}

cr_expr *(cr_length)(cr_stmt *q, cr_expr *e)
{
    cr_expr *n = unary(q, CR_N_LENGTH, e, "length");
    if (n)
        n->type = CR_SQLTYPE_INTEGER;
    return n;
}

cr_expr *cr_current_timestamp(cr_stmt *q)
{
    cr_expr *e = node(q, CR_N_CURRENT_TIMESTAMP);
    if (e)
        e->type = CR_SQLTYPE_DATETIME;
    return e;
}

cr_expr *cr_case(cr_stmt *q) { return node(q, CR_N_CASE); }

static bool check_case(cr_stmt *q, cr_expr *c, const char *what)
{
    if (ok(q) && (!is_expr(c) || c->kind != CR_N_CASE))
        cr_stmt_fail(q, CR_ERR_ARGUMENT, "%s: not a CASE made by cr_case", what);
    else if (ok(q))
        use(q, c, what);
    return ok(q);
}

void cr_case_when_expr(cr_stmt *q, cr_expr *c, cr_expr *cond, cr_expr *result)
{
    if (!check_case(q, c, "case_when") || !check_expr(q, cond, "case_when") ||
        !check_expr(q, result, "case_when"))
        return;
    push(q, &c->u.cases.whens, cond);
    push(q, &c->u.cases.thens, result);
    if (!c->type)
        c->type = result->type;
}

void cr_case_else_expr(cr_stmt *q, cr_expr *c, cr_expr *otherwise)
{
    if (check_case(q, c, "case_else") && check_expr(q, otherwise, "case_else"))
        c->u.cases.otherwise = otherwise;
}

cr_expr *(cr_cast)(cr_stmt *q, cr_expr *e, cr_sqltype type)
{
    if (ok(q) && (type.kind <= CR_SQLTYPE_NONE || type.kind > CR_SQLTYPE_ENUM)) {
        cr_stmt_fail(q, CR_ERR_ARGUMENT, "cast: unknown type kind %d", (int)type.kind);
        return NULL;
    }
    cr_expr *n = unary(q, CR_N_CAST, e, "cast");
    if (n) {
        n->u.cast.type[0] = type.kind;
        n->u.cast.type[1] = type.length;
        n->u.cast.type[2] = type.precision;
        n->u.cast.type[3] = type.scale;
        n->type = (uint8_t)type.kind;
    }
    return n;
}

cr_expr *(cr_label)(cr_stmt *q, cr_expr *e, const char *name)
{
    if (ok(q) && (!name || !*name)) {
        cr_stmt_fail(q, CR_ERR_ARGUMENT, "label: a name is required");
        return NULL;
    }
    if (!check_expr(q, e, "label"))
        return NULL;
    cr_expr *n = node(q, CR_N_LABEL);
    if (n) {
        n->u.label.e = e;
        n->u.label.name = copy_str(q, name);
        n->type = e->type;
    }
    return ok(q) ? n : NULL;
}

cr_expr *(cr_over)(cr_stmt *q, cr_expr *e)
{
    if (!check_expr(q, e, "over"))
        return NULL;
    if (e->kind != CR_N_FUNC && e->kind != CR_N_COUNT_STAR) {
        cr_stmt_fail(q, CR_ERR_ARGUMENT, "over: not a function; OVER applies to window and "
                     "aggregate functions (row_number(), count(*), sum(x) ...)");
        return NULL;
    }
    cr_expr *n = node(q, CR_N_OVER);
    if (n) {
        n->u.over.e = e;
        n->type = e->type;
    }
    return n;
}

static bool check_over(cr_stmt *q, cr_expr *w, const char *what)
{
    if (ok(q) && (!is_expr(w) || w->kind != CR_N_OVER))
        cr_stmt_fail(q, CR_ERR_ARGUMENT, "%s: not a window made by cr_over", what);
    else if (ok(q))
        use(q, w, what);
    return ok(q);
}

void cr_partition_by_items(cr_stmt *q, cr_expr *w, const void *const *items)
{
    if (check_over(q, w, "partition_by"))
        push_items(q, &w->u.over.partition, items, "partition_by", false, false);
}

void cr_window_order_by_items(cr_stmt *q, cr_expr *w, const void *const *items)
{
    if (check_over(q, w, "window order_by"))
        push_items(q, &w->u.over.order, items, "window order_by", false, true);
}

cr_expr *cr_literal(cr_stmt *q, const char *sql)
{
    if (ok(q) && !sql) {
        cr_stmt_fail(q, CR_ERR_ARGUMENT, "literal: the SQL text is NULL");
        return NULL;
    }
    cr_expr *e = node(q, CR_N_LITERAL);
    if (e)
        e->u.text = copy_str(q, sql);
    return ok(q) ? e : NULL;
}

cr_expr *cr_null(cr_stmt *q) { return node(q, CR_N_NULL); }

cr_expr *cr_true(cr_stmt *q)
{
    cr_expr *e = node(q, CR_N_TRUE);
    if (e)
        e->type = CR_SQLTYPE_BOOLEAN;
    return e;
}

cr_expr *cr_false(cr_stmt *q)
{
    cr_expr *e = node(q, CR_N_FALSE);
    if (e)
        e->type = CR_SQLTYPE_BOOLEAN;
    return e;
}
