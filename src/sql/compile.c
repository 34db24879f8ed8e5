/* compile.c — statements to SQL text: the shape key, then one renderer with dialect flags. */
#include "sql/stmt.h"
#include "schema/ddl.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ==========================================================================
 * The key: a statement's shape, without its values. Two statements with the
 * same key compile to the same SQL, so the key finds compiled SQL (and the
 * prepared statement) in the cache. Walking the tree for the key also numbers
 * the binds and collects their values, in one fixed order the renderer then
 * refers to by number.
 * ========================================================================== */

typedef struct keyer {
    cr_stmt *top;
    uint32_t walk;
    int unrendered;              /* inside a part that is not rendered       */
    bool oom;
} keyer;

/* Keys are built on every execution: appends stay inline while there is
 * room (the buffer's NUL terminator is not kept; keys are compared by
 * length). */
static inline void put(keyer *k, const void *p, size_t n)
{
    cr_buf *b = &k->top->key;
    if (b->cap - b->len > n) {
        memcpy(b->data + b->len, p, n);
        b->len += n;
    } else {
        cr_buf_append(b, p, n);
    }
}
static inline void put_u64(keyer *k, uint64_t v) { put(k, &v, sizeof v); }
static inline void put_u8(keyer *k, unsigned v) { unsigned char c = (unsigned char)v; put(k, &c, 1); }
static void put_str(keyer *k, const char *s)
{
    size_t n = s ? strlen(s) : (size_t)-1;
    put_u64(k, n);
    if (s)
        put(k, s, n);
}

/* A placeholder is keyed by its name (the generic dialect renders it) and
 * listed on the statement, for the values each execution gives. */
static void key_placeholder(keyer *k, cr_expr *e)
{
    cr_stmt *q = k->top;
    put_u8(k, 0xFC);
    put_str(k, e->param->name);
    if (!k->unrendered && e->mark == k->walk)
        return;   /* met again: listed already */
    if (q->nplaceholders == q->placeholdercap) {
        size_t cap = q->placeholdercap ? q->placeholdercap * 2 : 4;
        cr_placeholder *p = cr_realloc(q->placeholders, cap * sizeof *p);
        if (!p) {
            k->oom = true;
            return;
        }
        q->placeholders = p;
        q->placeholdercap = cap;
    }
    /* Its bind index is set by key_bind just after, when it is rendered. */
    q->placeholders[q->nplaceholders++] = (cr_placeholder){e, -1};
}

static void key_bind(keyer *k, cr_expr *e)
{
    cr_stmt *q = k->top;
    if (e->param)
        key_placeholder(k, e);
    /* Whether an untyped value is text or NULL changes its SQL on
     * dialects that cast such values. */
    else if (!e->type && !e->hint)
        put_u8(k, e->u.value.type == CR_TEXT ? 1 : e->u.value.type == CR_NULL ? 2 : 0);
    if (k->unrendered)
        return;
    /* The same node met again (an expression used twice): one value, its
     * placeholder rendered at each place. */
    if (e->mark == k->walk) {
        put_u8(k, 0xFD);
        put_u64(k, (uint64_t)e->bind_index);
        return;
    }
    e->mark = k->walk;
    if (q->nbinds == q->bindcap) {
        size_t cap = q->bindcap * 2;
        bool inline_ = q->binds == q->inline_binds;
        cr_value *v = inline_ ? cr_malloc(cap * sizeof *v) : cr_realloc(q->binds, cap * sizeof *v);
        if (!v) {
            k->oom = true;
            return;
        }
        if (inline_)
            memcpy(v, q->binds, q->nbinds * sizeof *v);
        q->binds = v;
        q->bindcap = cap;
    }
    e->bind_index = (int)q->nbinds;
    q->binds[q->nbinds++] = e->u.value;
    if (e->param && !k->oom)
        q->placeholders[q->nplaceholders - 1].bind_index = e->bind_index;
}

static void key_stmt(keyer *k, cr_stmt *s);
static void key_expr(keyer *k, cr_expr *e);

static void key_list(keyer *k, const cr_list *l)
{
    uint32_t n = (uint32_t)l->n;
    put(k, &n, sizeof n);
    for (size_t i = 0; i < l->n; i++) {
        const uint32_t *tag = l->items[i];
        if (*tag == CR_TAG_TABLE) {
            put_u8(k, 0xFF);
            put_u64(k, cr_table_serial(l->items[i]));
        } else {
            key_expr(k, l->items[i]);
        }
    }
}

/* A FROM item is keyed in full where the walk first meets it, by name after. */
static void key_from(keyer *k, const void *from)
{
    if (*(const uint32_t *)from == CR_TAG_TABLE) {
        put_u8(k, 0xFF);
        put_u64(k, cr_table_serial(from));
        return;
    }
    cr_expr *e = (cr_expr *)from;
    put_u8(k, e->kind);
    put_str(k, e->u.label.name);
    if (e->mark == k->walk)
        return;
    /* Met where nothing is rendered (the left side of an empty IN), a
     * subquery's values are not numbered: it stays unmarked, so that they
     * are when its FROM item is met again, rendered. */
    if (!k->unrendered)
        e->mark = k->walk;
    if (e->kind == CR_N_ALIAS) {
        put_u64(k, cr_table_serial(e->table));
    } else {
        put_u8(k, e->cte_recursive);
        key_stmt(k, e->stmt);
        if (e->recursive)
            key_stmt(k, e->recursive);
    }
}

static void key_opt(keyer *k, cr_expr *e)
{
    if (e)
        key_expr(k, e);
    else
        put_u8(k, 0xFE);
}

static void key_expr(keyer *k, cr_expr *e)
{
    /* kind, op and type in one write; a column adds which one it is. */
    uint64_t head[2] = {(uint64_t)e->kind | (uint64_t)e->op << 8 | (uint64_t)e->type << 16, 0};
    if (e->kind == CR_N_COLUMN) {
        const struct cr_column *c = (const struct cr_column *)e;
        head[1] = cr_table_serial(c->table) << 20 | c->index;   /* < 2^20 columns */
        put(k, head, sizeof head);
        return;
    }
    put(k, head, 4);
    switch ((cr_node_kind)e->kind) {
    case CR_N_COLUMN:
        break;
    case CR_N_BIND:
        key_bind(k, e);
        break;
    case CR_N_LITERAL:
        put_str(k, e->u.text);
        break;
    case CR_N_BINARY:
        key_expr(k, e->u.bin.left);
        key_expr(k, e->u.bin.right);
        break;
    case CR_N_AND: case CR_N_OR:
        key_list(k, &e->u.list);
        break;
    case CR_N_NOT: case CR_N_IS_NULL: case CR_N_IS_NOT_NULL: case CR_N_ORDER: case CR_N_LENGTH:
        key_expr(k, e->u.un.e);
        break;
    case CR_N_BETWEEN:
        key_expr(k, e->u.un.e);
        key_expr(k, e->u.un.a);
        key_expr(k, e->u.un.b);
        break;
    case CR_N_LIKE_ESCAPE:
        key_expr(k, e->u.un.e);
        key_expr(k, e->u.un.a);
        put_u8(k, (unsigned char)e->u.un.escape);
        break;
    case CR_N_IN: case CR_N_NOT_IN:
        /* An empty list renders a constant: its left side is keyed (its
         * tables join the FROM) but not rendered, so none of its values is
         * numbered. */
        put_u64(k, e->u.in.n);
        k->unrendered += e->u.in.n == 0;
        key_expr(k, e->u.in.e);
        k->unrendered -= e->u.in.n == 0;
        for (size_t i = 0; i < e->u.in.n; i++)
            key_expr(k, e->u.in.vals[i]);
        break;
    case CR_N_IN_SELECT: case CR_N_NOT_IN_SELECT: case CR_N_SCALAR_SUB: case CR_N_EXISTS:
        key_opt(k, e->u.sub.e);
        key_stmt(k, e->stmt);
        break;
    case CR_N_FUNC:
        put_str(k, e->u.func.name);
        put_u8(k, e->u.func.distinct);
        key_list(k, &e->u.func.args);
        break;
    case CR_N_CASE:
        key_list(k, &e->u.cases.whens);
        key_list(k, &e->u.cases.thens);
        key_opt(k, e->u.cases.otherwise);
        break;
    case CR_N_CAST:
        for (int i = 0; i < 4; i++)
            put_u64(k, (uint64_t)e->u.cast.type[i]);
        key_expr(k, e->u.un.e);
        break;
    case CR_N_LABEL:
        put_str(k, e->u.label.name);
        key_expr(k, e->u.label.e);
        break;
    case CR_N_OVER:
        key_expr(k, e->u.over.e);
        key_list(k, &e->u.over.partition);
        key_list(k, &e->u.over.order);
        break;
    case CR_N_ALIAS: case CR_N_SUBQUERY: case CR_N_CTE:
        key_from(k, e);
        break;
    case CR_N_FROM_COLUMN:
        key_from(k, e->u.fcol.from);
        put_str(k, e->u.fcol.name);
        break;
    case CR_N_EXCLUDED:
        put_u64(k, e->u.fcol.col->index);
        break;
    case CR_N_NULL: case CR_N_TRUE: case CR_N_FALSE: case CR_N_COUNT_STAR:
    case CR_N_CURRENT_TIMESTAMP:
        break;
    }
}

static void key_assigns(keyer *k, const cr_list *l)
{
    put_u64(k, l->n);
    for (size_t i = 0; i < l->n; i++) {
        cr_assign *a = l->items[i];
        put_u64(k, a->col->index);
        key_expr(k, a->value);
    }
}

static int by_column_index(const void *a, const void *b)
{
    const cr_assign *x = *(cr_assign *const *)a, *y = *(cr_assign *const *)b;
    return (x->col->index > y->col->index) - (x->col->index < y->col->index);
}

/* The row as it will be sent: the columns given, plus the client defaults
 * (insert) or onupdate values (update) of the others, in table order. */
static cr_list *effective_row(cr_stmt *q, const cr_list *given, bool update)
{
    cr_list *row = cr_arena_alloc(&q->arena, sizeof *row);
    if (!row)
        return NULL;
    memset(row, 0, sizeof *row);
    for (size_t i = 0; i < given->n; i++)
        if (!cr_list_push(&q->arena, row, given->items[i]))
            return NULL;
    const cr_table *t = q->table;
    for (size_t c = 0; c < t->ncols; c++) {
        struct cr_column *col = t->cols[c];
        bool set = cr_assign_find(given, col) != NULL;
        cr_default_fn fn = update ? col->onupdate_fn : col->default_fn;
        const cr_value *constant = update ? &col->onupdate_value : &col->default_value;
        if (set || (!fn && constant->type == CR_NULL))
            continue;
        cr_value v = fn ? fn() : *constant;
        cr_expr *b = cr_bind(q, v);
        cr_assign *a = cr_arena_alloc(&q->arena, sizeof *a);
        if (!b || !a || !cr_list_push(&q->arena, row, a))
            return NULL;
        b->type = (uint8_t)col->type.kind;
        b->hint = col->name;
        if (fn) {
            b->flags = CR_BIND_DEFAULT_FN;
            /* Text and bytes are copied into the arena: such a value is
             * made again only by keying the statement again. */
            if (v.type == CR_TEXT || v.type == CR_NUMERIC || v.type == CR_BLOB)
                q->rekey_each_time = true;
        }
        /* A boolean default given as an integer, as SQLAlchemy allows. */
        if (col->type.kind == CR_SQLTYPE_BOOLEAN && b->u.value.type == CR_INT)
            b->u.value = cr_val_bool(b->u.value.v.i != 0);
        a->col = col;
        a->value = b;
    }
    if (row->n > 1)
        qsort(row->items, row->n, sizeof *row->items, by_column_index);
    return row;
}

/* Whether two rows set the same columns. */
static bool same_columns(const cr_list *a, const cr_list *b)
{
    if (a->n != b->n)
        return false;
    for (size_t i = 0; i < a->n; i++)
        if (!cr_assign_find(b, ((const cr_assign *)a->items[i])->col))
            return false;
    return true;
}

/* The rows as sent (CR_ERR_NO_MEMORY), each an INSERT's with the client
 * defaults of the columns it leaves out, which must make every row set the
 * columns row 1 does (a building error on q otherwise, as SQLAlchemy's
 * CompileError: a value would go into another row's column). */
static cr_status build_effective_rows(cr_stmt *q)
{
    q->eff_rows.n = 0;
    if (q->kind == CR_STMT_UPDATE) {
        cr_list *row = effective_row(q, &q->row, true);
        return row && cr_list_push(NULL, &q->eff_rows, row) ? CR_OK : CR_ERR_NO_MEMORY;
    }
    if (q->from_select)
        return CR_OK;
    /* The finished rows, then the one being set (an INSERT of no values is
     * one row of defaults). */
    size_t nrows = q->rows.n + (q->row.n || q->rows.n == 0 ? 1 : 0);
    for (size_t r = 0; r < nrows; r++) {
        const cr_list *given = r < q->rows.n ? q->rows.items[r] : &q->row;
        cr_list *row = effective_row(q, given, false);
        if (!row || !cr_list_push(NULL, &q->eff_rows, row))
            return CR_ERR_NO_MEMORY;
        if (r > 0 && !same_columns(q->eff_rows.items[0], row)) {
            cr_stmt_fail(q, CR_ERR_ARGUMENT, "values: row %zu sets other columns than row 1 "
                         "(a column without a default is given in one and not the other); "
                         "every row of a multi-row VALUES sets the same columns", r + 1);
            return q->err->cls;
        }
    }
    return CR_OK;
}

/* Parts of a SELECT, for the mask that says which are keyed: a typical
 * statement has few of them, and an absent one costs no write. */
enum {
    K_CTES = 1, K_DISTINCT = 2, K_FROMS = 4, K_JOINS = 8, K_WHERE = 16, K_GROUP = 32,
    K_HAVING = 64, K_ORDER = 128, K_LIMIT = 256, K_OFFSET = 512, K_LOCK = 1024,
    K_CORRELATE = 2048
};

static void key_select(keyer *k, cr_stmt *s, uint32_t parts)
{
    if (parts & K_CTES) {
        put_u64(k, s->ctes.n);
        for (size_t i = 0; i < s->ctes.n; i++)
            key_from(k, s->ctes.items[i]);
    }
    key_list(k, &s->columns);
    if (parts & K_FROMS) {
        put_u64(k, s->froms.n);
        for (size_t i = 0; i < s->froms.n; i++)
            key_from(k, s->froms.items[i]);
    }
    if (parts & K_JOINS) {
        put_u64(k, s->joins.n);
        for (size_t i = 0; i < s->joins.n; i++) {
            cr_join_clause *j = s->joins.items[i];
            put_u8(k, j->kind);
            key_from(k, j->target);
            key_opt(k, j->on);
        }
    }
    if (parts & K_WHERE)
        key_expr(k, s->where);
    if (parts & K_GROUP)
        key_list(k, &s->group_by);
    if (parts & K_HAVING)
        key_expr(k, s->having);
    if (parts & K_CORRELATE) {
        put_u8(k, s->correlate);
        put_u64(k, s->correlate_items.n);
        for (size_t i = 0; i < s->correlate_items.n; i++)
            key_from(k, s->correlate_items.items[i]);
    }
}

static void key_stmt(keyer *k, cr_stmt *s)
{
    if (s->err) {
        put_u8(k, 0xA0 + s->kind);
        return;
    }
    uint32_t parts = 0;
    if (s->kind == CR_STMT_SELECT || s->kind == CR_STMT_COMPOUND)
        parts = (s->ctes.n ? K_CTES : 0) | (s->distinct ? K_DISTINCT : 0) |
                (s->froms.n ? K_FROMS : 0) | (s->joins.n ? K_JOINS : 0) |
                (s->where ? K_WHERE : 0) | (s->group_by.n ? K_GROUP : 0) |
                (s->having ? K_HAVING : 0) | (s->order_by.n ? K_ORDER : 0) |
                (s->limit ? K_LIMIT : 0) | (s->offset ? K_OFFSET : 0) |
                (s->for_update >= 0 ? K_LOCK : 0) | (s->correlate ? K_CORRELATE : 0);
    uint32_t head = (uint32_t)(0xA0 + s->kind) | parts << 8;
    put(k, &head, sizeof head);
    switch (s->kind) {
    case CR_STMT_SELECT:
        key_select(k, s, parts);
        break;
    case CR_STMT_COMPOUND:
        put_u8(k, s->op);
        key_stmt(k, s->left);
        key_stmt(k, s->right);
        break;
    case CR_STMT_INSERT:
        put_u64(k, cr_table_serial(s->table));
        put_u64(k, s->eff_rows.n);
        for (size_t i = 0; i < s->eff_rows.n; i++)
            key_assigns(k, s->eff_rows.items[i]);
        if (s->from_select) {
            key_list(k, &s->from_select_cols);
            key_stmt(k, s->from_select);
        }
        put_u8(k, s->conflict);
        key_list(k, &s->conflict_cols);
        key_assigns(k, &s->conflict_sets);
        key_list(k, &s->returning);
        put_u8(k, s->return_defaults);
        break;
    case CR_STMT_UPDATE:
        put_u64(k, cr_table_serial(s->table));
        key_assigns(k, s->eff_rows.items[0]);
        key_opt(k, s->where);
        key_list(k, &s->returning);
        break;
    case CR_STMT_DELETE:
        put_u64(k, cr_table_serial(s->table));
        key_opt(k, s->where);
        key_list(k, &s->returning);
        break;
    }
    if (parts & K_ORDER)
        key_list(k, &s->order_by);
    if (parts & K_LIMIT)
        key_expr(k, s->limit);
    if (parts & K_OFFSET)
        key_expr(k, s->offset);
    if (parts & K_LOCK)
        put_u8(k, (unsigned)s->for_update);
}

static int name_order(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Whether q's placeholders (q keyed) are each rendered once, under names of
 * their own: then a run's values, given in their order, go straight to
 * their binds. A statement may hold thousands (the rows of an INSERT the
 * ORM runs for many objects): their names are compared sorted. Out of
 * memory: false, and values are matched by name instead. */
static bool placeholders_plain(const cr_stmt *q)
{
    size_t n = q->nplaceholders;
    for (size_t i = 0; i < n; i++)
        if (q->placeholders[i].bind_index < 0)
            return false;
    if (n <= 16) {
        for (size_t i = 1; i < n; i++)
            for (size_t j = 0; j < i; j++)
                if (strcmp(q->placeholders[i].e->param->name, q->placeholders[j].e->param->name) == 0)
                    return false;
        return true;
    }
    const char **names = cr_malloc(n * sizeof *names);
    if (!names)
        return false;
    for (size_t i = 0; i < n; i++)
        names[i] = q->placeholders[i].e->param->name;
    qsort(names, n, sizeof *names, name_order);
    bool plain = true;
    for (size_t i = 1; i < n && plain; i++)
        plain = strcmp(names[i - 1], names[i]) != 0;
    cr_free(names);
    return plain;
}

/* Only SELECTs nest, so only the top statement can be an INSERT or UPDATE
 * with rows to complete. */
cr_status cr_stmt_key(cr_stmt *q)
{
    static uint32_t walks;
    if (!q)
        return CR_ERR_ARGUMENT;
    if (q->err)
        return q->err->cls;
    if (q->compile_err)
        cr_error_clear(q->compile_err);
    if (cr_stmt_check_owners(q))
        return q->compile_err ? q->compile_err->cls : CR_ERR_NO_MEMORY;
    cr_buf_clear(&q->key);
    q->nbinds = 0;
    q->nplaceholders = 0;
    q->keyed = false;
    q->memo.st = NULL;
    q->rekey_each_time = false;
    if (q->kind == CR_STMT_UPDATE && q->row.n == 0) {
        cr_stmt_fail(q, CR_ERR_ARGUMENT, "update of table '%s' has no values to set; add them "
                     "with cr_set", q->table->name);
        return q->err->cls;
    }
    if (q->kind == CR_STMT_INSERT || q->kind == CR_STMT_UPDATE) {
        cr_status st = build_effective_rows(q);
        if (st == CR_ERR_NO_MEMORY)
            cr_stmt_fail(q, CR_ERR_NO_MEMORY, "out of memory preparing the statement");
        if (st)
            return q->err->cls;
    }
    keyer k = {.top = q, .walk = __atomic_add_fetch(&walks, 1, __ATOMIC_RELAXED)};
    key_stmt(&k, q);
    if (k.oom || q->key.oom) {
        cr_stmt_fail(q, CR_ERR_NO_MEMORY, "out of memory preparing the statement");
        return q->err->cls;
    }
    q->placeholders_plain = placeholders_plain(q);
    q->keyed = !q->rekey_each_time;
    return CR_OK;
}

/* The client default functions of q's rows, evaluated again into their
 * binds: false when one now gives text or bytes (which keying copies). */
static bool refresh_default_fns(cr_stmt *q)
{
    bool update = q->kind == CR_STMT_UPDATE;
    for (size_t r = 0; r < q->eff_rows.n; r++) {
        const cr_list *row = q->eff_rows.items[r];
        for (size_t i = 0; i < row->n; i++) {
            const cr_assign *a = row->items[i];
            if (a->value->kind != CR_N_BIND || !(a->value->flags & CR_BIND_DEFAULT_FN))
                continue;
            cr_default_fn fn = update ? a->col->onupdate_fn : a->col->default_fn;
            assert(fn && a->value->bind_index >= 0 && (size_t)a->value->bind_index < q->nbinds);
            cr_value v = fn();
            if (v.type == CR_TEXT || v.type == CR_NUMERIC || v.type == CR_BLOB)
                return false;
            if (a->col->type.kind == CR_SQLTYPE_BOOLEAN && v.type == CR_INT)
                v = cr_val_bool(v.v.i != 0);
            q->binds[a->value->bind_index] = v;
        }
    }
    return true;
}

cr_status cr_stmt_key_again(cr_stmt *q)
{
    if (!q)
        return CR_ERR_ARGUMENT;
    if (cr_stmt_key_is_current(q))
        return CR_OK;
    if (!q->keyed || q->err)
        return cr_stmt_key(q);
    if (q->compile_err)
        cr_error_clear(q->compile_err);
    if ((q->kind == CR_STMT_INSERT || q->kind == CR_STMT_UPDATE) && !refresh_default_fns(q))
        return cr_stmt_key(q);
    return CR_OK;
}

/* ==========================================================================
 * The renderer.
 * ========================================================================== */

/* The FROM items of a SELECT being rendered, for correlation and checks. */
typedef struct scope {
    const void **items;
    size_t n;
    struct scope *up;
} scope;

typedef struct compiler {
    const cr_dialect *d;
    cr_buf *b;
    cr_error *err;
    cr_stmt *top;
    cr_compiled *out;
    size_t slotcap;
    bool *rendered;              /* per bind: rendered at least once        */
    char **names;                /* per bind: its name                      */
    struct { const char *hint; int count; } hints[16];   /* name_N counters */
    int nhints;
    struct { const char *base; int count; } anons[16];   /* anon_N, count_N ... */
    int nanons;
    scope *scope;
    bool qualify;                /* columns as table.column                 */
    bool ctes_hoisted;           /* the next SELECT's CTEs were rendered above
                                  * it (a compound member)                    */
    bool force_where;            /* the next SELECT renders WHERE even with no
                                  * condition (INSERT ... SELECT ... ON CONFLICT) */
    bool failed;
    int depth;                   /* SELECTs being rendered, one in another  */
} compiler;

/* Deeper than this a SELECT is not rendered: a CTE whose definition holds
 * the statement that holds the CTE (cr_cte_union_all of a part that selects
 * from it) would nest forever, and the stack is not the place to find out. */
#define MAX_SELECT_DEPTH 128

static void fail(compiler *c, cr_status cls, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fail(compiler *c, cr_status cls, const char *fmt, ...)
{
    if (c->failed)
        return;
    c->failed = true;
    char msg[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cr_error_set(c->err, cls, "%s", msg);
}

static void puts_(compiler *c, const char *s) { cr_buf_puts(c->b, s); }
static const char *true_sql(const compiler *c) { return c->d->native_boolean ? "true" : "1"; }
static void ident(compiler *c, const char *name) { cr_dialect_quote(c->d, c->b, name); }

static void render_expr(compiler *c, const cr_expr *e, int prec);
static void render_select(compiler *c, cr_stmt *s, bool columns);

/* ---- parameters ---- */

/* Names binds as SQLAlchemy does: a value set into a column takes the
 * column's name (name_m0, name_m1 ... in a multi-row VALUES); others take
 * the name of the column they meet, numbered (email_1, id_2), or param_N. */
static char *numbered_name(compiler *c, const char *hint)
{
    const char *base = hint ? hint : "param";
    int i = 0;
    while (i < c->nhints && strcmp(c->hints[i].hint, base) != 0)
        i++;
    if (i == c->nhints) {
        if (c->nhints == (int)CR_ARRAY_LEN(c->hints))
            i = 0, base = c->hints[0].hint;   /* many hints: share a counter */
        else
            c->hints[c->nhints++].hint = base;
    }
    char name[160];
    snprintf(name, sizeof name, "%s_%d", base, ++c->hints[i].count);
    return cr_strdup(name);
}

static cr_status name_binds(compiler *c, cr_stmt *q)
{
    size_t nb = q->nbinds;
    c->names = cr_calloc(nb ? nb : 1, sizeof *c->names);
    c->rendered = cr_calloc(nb ? nb : 1, sizeof *c->rendered);
    if (!c->names || !c->rendered)
        return CR_ERR_NO_MEMORY;
    /* A placeholder is named as the program named it. */
    for (size_t i = 0; i < q->nplaceholders; i++) {
        const cr_placeholder *p = &q->placeholders[i];
        if (p->bind_index >= 0 && !c->names[p->bind_index] &&
            !(c->names[p->bind_index] = cr_strdup(p->e->param->name)))
            return CR_ERR_NO_MEMORY;
    }
    if (q->kind != CR_STMT_INSERT && q->kind != CR_STMT_UPDATE)
        return CR_OK;
    bool multi = q->eff_rows.n > 1;
    for (size_t r = 0; r < q->eff_rows.n; r++) {
        const cr_list *row = q->eff_rows.items[r];
        for (size_t i = 0; i < row->n; i++) {
            const cr_assign *a = row->items[i];
            if (a->value->kind != CR_N_BIND || a->value->param)
                continue;
            char name[160];
            if (multi)
                snprintf(name, sizeof name, "%s_m%zu", a->col->name, r);
            else
                snprintf(name, sizeof name, "%s", a->col->name);
            if (!(c->names[a->value->bind_index] = cr_strdup(name)))
                return CR_ERR_NO_MEMORY;
        }
    }
    return CR_OK;
}

/* A text or NULL value that no column types, where nothing around it
 * gives it a type either (IS NULL, a select-list item, || of two such,
 * length, a function's argument): cast on dialects that cannot infer it. */
static void render_untyped_cast(compiler *c, const cr_expr *e)
{
    if (c->d->cast_untyped_text && e->kind == CR_N_BIND && !e->param && !e->type && !e->hint &&
        (e->u.value.type == CR_TEXT || e->u.value.type == CR_NULL))
        puts_(c, "::VARCHAR");
}

/* A function's arguments. When every one is a value (count($1), upper($1),
 * coalesce($1, $2)), PostgreSQL has nothing to type them by: they are cast
 * as select-list items are. With an expression among them
 * (coalesce(users.email, $1)) the server types the values after it. */
static void render_func_args(compiler *c, const cr_list *args)
{
    bool all_values = true;
    for (size_t i = 0; i < args->n; i++) {
        const cr_expr *a = args->items[i];
        if (a->kind != CR_N_BIND && a->kind != CR_N_NULL)
            all_values = false;
    }
    for (size_t i = 0; i < args->n && !c->failed; i++) {
        if (i)
            puts_(c, ", ");
        render_expr(c, args->items[i], 0);
        if (all_values)
            render_untyped_cast(c, args->items[i]);
    }
}

static void render_bind(compiler *c, const cr_expr *e)
{
    int i = e->bind_index;
    if (i < 0 || (size_t)i >= c->top->nbinds) {
        fail(c, CR_ERR_INTERNAL, "a value of the statement was not numbered");
        return;
    }
    c->rendered[i] = true;
    if (!c->names[i] && !(c->names[i] = numbered_name(c, e->hint))) {
        fail(c, CR_ERR_NO_MEMORY, "out of memory compiling the statement");
        return;
    }
    switch (c->d->param_style) {
    case CR_PARAM_NUMBERED_QMARK:
        cr_buf_printf(c->b, "?%d", i + 1);
        break;
    case CR_PARAM_DOLLAR:
        cr_buf_printf(c->b, "$%d", i + 1);
        break;
    case CR_PARAM_NAMED:
        cr_buf_printf(c->b, ":%s", c->names[i]);
        break;
    case CR_PARAM_QMARK: {
        cr_compiled *o = c->out;
        if (o->nslots == c->slotcap) {
            size_t cap = c->slotcap ? c->slotcap * 2 : 16;
            int *p = cr_realloc(o->slot_bind, cap * sizeof *p);
            if (!p) {
                fail(c, CR_ERR_NO_MEMORY, "out of memory compiling the statement");
                return;
            }
            o->slot_bind = p;
            c->slotcap = cap;
        }
        o->slot_bind[o->nslots++] = i;
        puts_(c, "?");
        break;
    }
    }
}

/* ---- expressions ---- */

/* SQLAlchemy's levels: IS, IN, LIKE, BETWEEN are comparisons. */
enum {
    P_OR = 1, P_AND, P_NOT, P_CMP, P_CONCAT, P_ADD, P_MUL, P_UNARY, P_ATOM = 100
};

static int precedence(const cr_expr *e)
{
    switch ((cr_node_kind)e->kind) {
    case CR_N_OR: return P_OR;
    case CR_N_AND: return P_AND;
    case CR_N_NOT: return P_NOT;
    case CR_N_IS_NULL: case CR_N_IS_NOT_NULL:
    case CR_N_IN: case CR_N_NOT_IN: case CR_N_IN_SELECT: case CR_N_NOT_IN_SELECT:
    case CR_N_BETWEEN: case CR_N_LIKE_ESCAPE:
        return P_CMP;
    case CR_N_BINARY:
        switch ((cr_operator)e->op) {
        case CR_OP_ADD: case CR_OP_SUB: return P_ADD;
        case CR_OP_MUL: case CR_OP_DIV: case CR_OP_MOD: return P_MUL;
        case CR_OP_CONCAT: return P_CONCAT;
        default: return P_CMP;
        }
    default:
        return P_ATOM;
    }
}

/* Whether the FROM of the SELECT being rendered has the item: that
 * SELECT's own only (auto-correlation), or any enclosing one's too. */
static bool in_enclosing(const scope *sc, const void *from, bool all_levels)
{
    for (; sc; sc = all_levels ? sc->up : NULL)
        for (size_t i = 0; i < sc->n; i++)
            if (sc->items[i] == from)
                return true;
    return false;
}

/* Whether a FROM item is visible to the SELECT being rendered. */
static bool in_scope(compiler *c, const void *from)
{
    return in_enclosing(c->scope, from, true);
}

static const char *from_name(const void *from)
{
    if (*(const uint32_t *)from == CR_TAG_TABLE)
        return ((const cr_table *)from)->name;
    return ((const cr_expr *)from)->u.label.name;
}

static void render_column(compiler *c, const struct cr_column *col)
{
    if (c->qualify) {
        if (c->scope && !in_scope(c, col->table)) {
            fail(c, CR_ERR_INVALID_REQUEST, "column %s.%s is used, but table '%s' is not in "
                 "the statement's FROM; join it or select from it", col->table->name,
                 col->name, col->table->name);
            return;
        }
        ident(c, col->table->name);
        puts_(c, ".");
    }
    ident(c, col->name);
}

static void render_list(compiler *c, const cr_list *l, const char *sep)
{
    for (size_t i = 0; i < l->n && !c->failed; i++) {
        if (i)
            puts_(c, sep);
        render_expr(c, l->items[i], 0);
    }
}

static void render_type(compiler *c, const cr_sqltype *t)
{
    if (c->d->ddl && c->d->ddl->cast_type) {
        c->d->ddl->cast_type(c->b, t);
        return;
    }
    char name[128];
    cr_sqltype_render(t, name, sizeof name);
    puts_(c, name);
}

static const char *binary_op(const cr_dialect *d, cr_operator op)
{
    switch (op) {
    case CR_OP_EQ: return " = ";
    case CR_OP_NE: return " != ";
    case CR_OP_LT: return " < ";
    case CR_OP_LE: return " <= ";
    case CR_OP_GT: return " > ";
    case CR_OP_GE: return " >= ";
    case CR_OP_ADD: return " + ";
    case CR_OP_SUB: return " - ";
    case CR_OP_MUL: return " * ";
    case CR_OP_DIV: return " / ";
    case CR_OP_MOD: return " % ";
    case CR_OP_CONCAT: return " || ";
    case CR_OP_LIKE: return " LIKE ";
    case CR_OP_NOT_LIKE: return " NOT LIKE ";
    case CR_OP_ILIKE: return d->has_ilike ? " ILIKE " : " LIKE ";
    case CR_OP_NOT_ILIKE: return d->has_ilike ? " NOT ILIKE " : " NOT LIKE ";
    }
    return " ? ";
}

/* The level an operand of binary e must exceed to go without parentheses:
 * an operand of e's own level is grouped, on either side, unless it is the
 * same associative operator (a + b + c); as in SQLAlchemy. An arithmetic
 * operand of || is grouped too: SQLite binds || tighter than + and *. */
static int operand_level(const cr_expr *e, const cr_expr *operand)
{
    int p = precedence(e), op = precedence(operand);
    bool associative = e->op == CR_OP_ADD || e->op == CR_OP_MUL || e->op == CR_OP_CONCAT;
    if (associative && operand->kind == CR_N_BINARY && operand->op == e->op)
        return p;
    if (e->op == CR_OP_CONCAT && (op == P_ADD || op == P_MUL))
        return P_MUL + 1;
    return p + 1;
}

static void render_binary(compiler *c, const cr_expr *e)
{
    cr_operator op = (cr_operator)e->op;
    if (op == CR_OP_CONCAT && c->d->concat_function) {
        puts_(c, "concat(");
        render_expr(c, e->u.bin.left, 0);
        puts_(c, ", ");
        render_expr(c, e->u.bin.right, 0);
        puts_(c, ")");
        return;
    }
    bool lower = (op == CR_OP_ILIKE || op == CR_OP_NOT_ILIKE) && !c->d->has_ilike;
    if (lower)
        puts_(c, "lower(");
    /* x || y of two values with no type: neither says what the other is. */
    bool untyped = op == CR_OP_CONCAT && !e->u.bin.left->type && !e->u.bin.right->type;
    render_expr(c, e->u.bin.left, lower ? 0 : operand_level(e, e->u.bin.left));
    if (untyped)
        render_untyped_cast(c, e->u.bin.left);
    if (lower)
        puts_(c, ")");
    puts_(c, binary_op(c->d, op));
    if (lower)
        puts_(c, "lower(");
    render_expr(c, e->u.bin.right, lower ? 0 : operand_level(e, e->u.bin.right));
    if (untyped)
        render_untyped_cast(c, e->u.bin.right);
    if (lower)
        puts_(c, ")");
}

static void render_subselect(compiler *c, cr_stmt *s)
{
    puts_(c, "(");
    render_select(c, s, false);
    puts_(c, ")");
}

static void render_order(compiler *c, const cr_expr *e)
{
    int f = e->op;
    const cr_expr *x = e->u.un.e;
    if ((f & (CR_ORDER_NULLS_FIRST | CR_ORDER_NULLS_LAST)) && !c->d->has_nulls_ordering) {
        /* A sort key that puts NULLs where asked, then the value. */
        render_expr(c, x, P_CMP + 1);
        puts_(c, f & CR_ORDER_NULLS_FIRST ? " IS NULL DESC, " : " IS NULL, ");
        render_expr(c, x, 0);
        if (f & CR_ORDER_DESC)
            puts_(c, " DESC");
        return;
    }
    render_expr(c, x, 0);
    if (f & CR_ORDER_DESC)
        puts_(c, " DESC");
    else if (f == 0)
        puts_(c, " ASC");
    if (f & CR_ORDER_NULLS_FIRST)
        puts_(c, " NULLS FIRST");
    if (f & CR_ORDER_NULLS_LAST)
        puts_(c, " NULLS LAST");
}

static void render_expr(compiler *c, const cr_expr *e, int prec)
{
    if (c->failed)
        return;
    bool paren = precedence(e) < prec;
    if (paren)
        puts_(c, "(");
    switch ((cr_node_kind)e->kind) {
    case CR_N_COLUMN:
        render_column(c, (const struct cr_column *)e);
        break;
    case CR_N_BIND:
        render_bind(c, e);
        break;
    case CR_N_NULL:
        puts_(c, "NULL");
        break;
    case CR_N_TRUE:
        puts_(c, true_sql(c));
        break;
    case CR_N_FALSE:
        puts_(c, c->d->native_boolean ? "false" : "0");
        break;
    case CR_N_LITERAL:
        puts_(c, e->u.text);
        break;
    case CR_N_BINARY:
        render_binary(c, e);
        break;
    case CR_N_AND: case CR_N_OR: {
        const cr_list *l = &e->u.list;
        for (size_t i = 0; i < l->n; i++) {
            if (i)
                puts_(c, e->kind == CR_N_AND ? " AND " : " OR ");
            /* a AND (b AND c) is a AND b AND c: no parentheses for its own kind. */
            const cr_expr *item = l->items[i];
            render_expr(c, item, precedence(e) + (item->kind != e->kind));
        }
        break;
    }
    case CR_N_NOT:
        puts_(c, "NOT ");
        render_expr(c, e->u.un.e, P_NOT + 1);
        break;
    case CR_N_IS_NULL: case CR_N_IS_NOT_NULL:
        render_expr(c, e->u.un.e, P_CMP + 1);
        render_untyped_cast(c, e->u.un.e);
        puts_(c, e->kind == CR_N_IS_NULL ? " IS NULL" : " IS NOT NULL");
        break;
    case CR_N_IN: case CR_N_NOT_IN:
        if (e->u.in.n == 0) {
            /* An empty IN is false, an empty NOT IN true, whatever x is. */
            puts_(c, e->kind == CR_N_IN ? c->d->empty_in : "1 = 1");
            break;
        }
        render_expr(c, e->u.in.e, P_CMP + 1);
        puts_(c, e->kind == CR_N_IN ? " IN (" : " NOT IN (");
        for (size_t i = 0; i < e->u.in.n; i++) {
            if (i)
                puts_(c, ", ");
            render_expr(c, e->u.in.vals[i], 0);
        }
        puts_(c, ")");
        break;
    case CR_N_IN_SELECT: case CR_N_NOT_IN_SELECT:
        render_expr(c, e->u.sub.e, P_CMP + 1);
        puts_(c, e->kind == CR_N_IN_SELECT ? " IN " : " NOT IN ");
        render_subselect(c, e->stmt);
        break;
    case CR_N_SCALAR_SUB:
        render_subselect(c, e->stmt);
        break;
    case CR_N_EXISTS:
        puts_(c, "EXISTS ");
        render_subselect(c, e->stmt);
        break;
    case CR_N_BETWEEN:
        render_expr(c, e->u.un.e, P_CMP + 1);
        puts_(c, " BETWEEN ");
        render_expr(c, e->u.un.a, P_CMP + 1);
        puts_(c, " AND ");
        render_expr(c, e->u.un.b, P_CMP + 1);
        break;
    case CR_N_LIKE_ESCAPE:
        render_expr(c, e->u.un.e, P_CMP + 1);
        puts_(c, " LIKE ");
        render_expr(c, e->u.un.a, P_CMP + 1);
        cr_buf_printf(c->b, " ESCAPE '%c'", e->u.un.escape);
        break;
    case CR_N_ORDER:
        render_order(c, e);
        break;
    case CR_N_FUNC:
        /* The name is checked to be an identifier when built. */
        puts_(c, e->u.func.name);
        puts_(c, e->u.func.distinct ? "(DISTINCT " : "(");
        render_func_args(c, &e->u.func.args);
        puts_(c, ")");
        break;
    case CR_N_COUNT_STAR:
        puts_(c, "count(*)");
        break;
    case CR_N_CURRENT_TIMESTAMP:
        puts_(c, "CURRENT_TIMESTAMP");
        break;
    case CR_N_LENGTH:
        puts_(c, c->d->length_function);
        puts_(c, "(");
        render_expr(c, e->u.un.e, 0);
        render_untyped_cast(c, e->u.un.e);
        puts_(c, ")");
        break;
    case CR_N_CASE:
        if (e->u.cases.whens.n == 0) {
            fail(c, CR_ERR_ARGUMENT, "case: no WHEN branch was added (cr_case_when)");
            break;
        }
        puts_(c, "CASE");
        for (size_t i = 0; i < e->u.cases.whens.n; i++) {
            puts_(c, " WHEN ");
            render_expr(c, e->u.cases.whens.items[i], 0);
            puts_(c, " THEN ");
            render_expr(c, e->u.cases.thens.items[i], 0);
        }
        if (e->u.cases.otherwise) {
            puts_(c, " ELSE ");
            render_expr(c, e->u.cases.otherwise, 0);
        }
        puts_(c, " END");
        break;
    case CR_N_CAST: {
        cr_sqltype t = {(cr_sqltype_kind)e->u.cast.type[0], e->u.cast.type[1],
                        e->u.cast.type[2], e->u.cast.type[3], false, NULL, NULL};
        /* A type the backend cannot CAST to (MySQL: BOOLEAN, FLOAT)
         * renders nothing: the value goes as it is, as in SQLAlchemy. */
        cr_buf tb;
        cr_buf_init(&tb);
        cr_buf *saved = c->b;
        c->b = &tb;
        render_type(c, &t);
        c->b = saved;
        if (tb.oom)
            fail(c, CR_ERR_NO_MEMORY, "out of memory compiling the statement");
        if (tb.len) {
            puts_(c, "CAST(");
            render_expr(c, e->u.un.e, 0);
            puts_(c, " AS ");
            cr_buf_append(c->b, tb.data, tb.len);
            puts_(c, ")");
        } else {
            render_expr(c, e->u.un.e, prec);
        }
        cr_buf_free(&tb);
        break;
    }
    case CR_N_LABEL:
        /* Outside a SELECT list a label stands for its expression. */
        render_expr(c, e->u.label.e, prec);
        break;
    case CR_N_OVER:
        render_expr(c, e->u.over.e, 0);
        puts_(c, " OVER (");
        if (e->u.over.partition.n) {
            puts_(c, "PARTITION BY ");
            render_list(c, &e->u.over.partition, ", ");
        }
        if (e->u.over.order.n) {
            puts_(c, e->u.over.partition.n ? " ORDER BY " : "ORDER BY ");
            render_list(c, &e->u.over.order, ", ");
        }
        puts_(c, ")");
        break;
    case CR_N_FROM_COLUMN:
        if (c->qualify) {
            if (c->scope && !in_scope(c, e->u.fcol.from)) {
                fail(c, CR_ERR_INVALID_REQUEST, "column %s.%s is used, but '%s' is not in the "
                     "statement's FROM", from_name(e->u.fcol.from), e->u.fcol.name,
                     from_name(e->u.fcol.from));
                break;
            }
            ident(c, from_name(e->u.fcol.from));
            puts_(c, ".");
        }
        ident(c, e->u.fcol.name);
        break;
    case CR_N_EXCLUDED:
        if (c->d->upsert_style == CR_UPSERT_ON_DUPLICATE) {
            puts_(c, "VALUES(");
            ident(c, e->u.fcol.col->name);
            puts_(c, ")");
        } else {
            puts_(c, "excluded.");
            ident(c, e->u.fcol.col->name);
        }
        break;
    case CR_N_ALIAS: case CR_N_SUBQUERY: case CR_N_CTE:
        fail(c, CR_ERR_ARGUMENT, "'%s' is a FROM item, not a value; use cr_c to read its "
             "columns", e->u.label.name);
        break;
    }
    if (paren)
        puts_(c, ")");
}

/* ---- SELECT ---- */

typedef struct from_set {
    const void **items;
    size_t n, cap;
    bool oom;
} from_set;

static bool from_has(const from_set *f, const void *p)
{
    for (size_t i = 0; i < f->n; i++)
        if (f->items[i] == p)
            return true;
    return false;
}

static void from_add(from_set *f, const void *p)
{
    if (from_has(f, p))
        return;
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 8;
        const void **items = cr_realloc(f->items, cap * sizeof *items);
        if (!items) {
            f->oom = true;
            return;
        }
        f->items = items;
        f->cap = cap;
    }
    f->items[f->n++] = p;
}

static void collect_child(const cr_expr *e, void *f);

/* The FROM items an expression refers to, not looking into subqueries
 * (which have their own FROM). */
static void collect_froms(from_set *f, const cr_expr *e)
{
    if (!e)
        return;
    if (e->kind == CR_N_COLUMN)
        from_add(f, ((const struct cr_column *)e)->table);
    else if (e->kind == CR_N_FROM_COLUMN)
        from_add(f, e->u.fcol.from);
    else
        cr_expr_each_child(e, collect_child, f);
}

static void collect_child(const cr_expr *e, void *f) { collect_froms(f, e); }

static void collect_list(from_set *f, const cr_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        if (*(const uint32_t *)l->items[i] == CR_TAG_TABLE)
            from_add(f, l->items[i]);
        else
            collect_froms(f, l->items[i]);
    }
}

static void render_from_item(compiler *c, const void *from)
{
    if (*(const uint32_t *)from == CR_TAG_TABLE) {
        ident(c, ((const cr_table *)from)->name);
        return;
    }
    const cr_expr *e = from;
    switch (e->kind) {
    case CR_N_ALIAS:
        ident(c, e->table->name);
        puts_(c, " AS ");
        ident(c, e->u.label.name);
        break;
    case CR_N_SUBQUERY:
        puts_(c, "(");
        {
            /* A derived table sees nothing of the enclosing SELECT. */
            scope *saved = c->scope;
            c->scope = NULL;
            render_select(c, e->stmt, false);
            c->scope = saved;
        }
        puts_(c, ") AS ");
        ident(c, e->u.label.name);
        break;
    case CR_N_CTE:
        ident(c, e->u.label.name);
        break;
    }
}

/* One output column of the SELECT list. */
static void add_result_column(compiler *c, const char *name, const struct cr_column *col)
{
    cr_compiled *o = c->out;
    cr_result_column *cols = cr_realloc(o->columns, (o->ncolumns + 1) * sizeof *cols);
    if (!cols) {
        fail(c, CR_ERR_NO_MEMORY, "out of memory compiling the statement");
        return;
    }
    o->columns = cols;
    cols[o->ncolumns].name = cr_strdup(name);
    cols[o->ncolumns].col = col;
    if (!cols[o->ncolumns].name)
        fail(c, CR_ERR_NO_MEMORY, "out of memory compiling the statement");
    else
        o->ncolumns++;
}

static void render_select_item(compiler *c, const void *item, bool top, bool *first)
{
    if (*(const uint32_t *)item == CR_TAG_TABLE) {
        const cr_table *t = item;
        for (size_t i = 0; i < t->ncols; i++) {
            if (!*first)
                puts_(c, ", ");
            *first = false;
            render_column(c, t->cols[i]);
            if (top)
                add_result_column(c, t->cols[i]->name, t->cols[i]);
        }
        return;
    }
    if (!*first)
        puts_(c, ", ");
    *first = false;
    const cr_expr *e = item;
    if (e->kind == CR_N_COLUMN) {
        render_column(c, (const struct cr_column *)e);
        if (top)
            add_result_column(c, ((const struct cr_column *)e)->name, (const void *)e);
        return;
    }
    if (e->kind == CR_N_FROM_COLUMN) {
        render_expr(c, e, 0);
        if (top)
            add_result_column(c, e->u.fcol.name, e->u.fcol.col);
        return;
    }
    const char *label;
    char anon[64];
    const cr_expr *value = e;
    if (e->kind == CR_N_LABEL) {
        label = e->u.label.name;
        value = e->u.label.e;
    } else {
        const char *base = e->kind == CR_N_FUNC ? e->u.func.name
                         : e->kind == CR_N_COUNT_STAR ? "count" : "anon";
        int k = 0;
        while (k < c->nanons && strcmp(c->anons[k].base, base) != 0)
            k++;
        if (k == c->nanons) {
            if (c->nanons == (int)CR_ARRAY_LEN(c->anons))
                k = 0, base = c->anons[0].base;   /* many bases: share a counter */
            else
                c->anons[c->nanons++].base = base;
        }
        snprintf(anon, sizeof anon, "%s_%d", base, ++c->anons[k].count);
        label = anon;
    }
    render_expr(c, value, 0);
    render_untyped_cast(c, value);
    puts_(c, " AS ");
    ident(c, label);
    if (top)
        add_result_column(c, label, NULL);
}

static void render_limit(compiler *c, cr_stmt *s)
{
    if (!s->limit && !s->offset)
        return;
    switch (c->d->limit_style) {
    case CR_LIMIT_MYSQL:
        puts_(c, " LIMIT ");
        if (s->offset) {
            render_bind(c, s->offset);
            puts_(c, ", ");
        }
        if (s->limit)
            render_bind(c, s->limit);
        else
            puts_(c, "18446744073709551615");
        break;
    case CR_LIMIT_OFFSET:
    case CR_LIMIT_PG:
        if (s->limit) {
            puts_(c, " LIMIT ");
            render_bind(c, s->limit);
        } else if (c->d->limit_style == CR_LIMIT_OFFSET) {
            puts_(c, " LIMIT -1");
        }
        if (s->offset) {
            puts_(c, " OFFSET ");
            render_bind(c, s->offset);
        }
        break;
    }
}

static void render_for_update(compiler *c, cr_stmt *s)
{
    if (s->for_update < 0)
        return;
    int f = s->for_update;
    if (!c->d->has_for_update) {
        if (f)
            fail(c, CR_ERR_NOT_SUPPORTED, "the %s dialect has no row locks: FOR UPDATE with "
                 "NOWAIT, SKIP LOCKED or FOR SHARE is not supported (plain FOR UPDATE is left "
                 "out, the database lock being stronger)", c->d->name);
        return;
    }
    if ((f & CR_FOR_SKIP_LOCKED || f & CR_FOR_NOWAIT) && !c->d->has_skip_locked) {
        fail(c, CR_ERR_NOT_SUPPORTED, "the %s dialect has no NOWAIT / SKIP LOCKED", c->d->name);
        return;
    }
    if (f & CR_FOR_SHARE)
        puts_(c, c->d->upsert_style == CR_UPSERT_ON_DUPLICATE ? " LOCK IN SHARE MODE"
                                                              : " FOR SHARE");
    else
        puts_(c, " FOR UPDATE");
    if (f & CR_FOR_NOWAIT)
        puts_(c, " NOWAIT");
    if (f & CR_FOR_SKIP_LOCKED)
        puts_(c, " SKIP LOCKED");
}

/* Whether a statement, or a member of it when it is a compound, has CTEs. */
static bool has_ctes(const cr_stmt *s)
{
    return s->ctes.n ||
           (s->kind == CR_STMT_COMPOUND && (has_ctes(s->left) || has_ctes(s->right)));
}

static void render_ctes(compiler *c, const void *const *ctes, size_t n)
{
    if (!n)
        return;
    bool recursive = false;
    for (size_t i = 0; i < n; i++) {
        const cr_expr *cte = ctes[i];
        recursive |= cte->cte_recursive;
        for (size_t j = 0; j < i; j++)
            if (strcmp(((const cr_expr *)ctes[j])->u.label.name, cte->u.label.name) == 0)
                fail(c, CR_ERR_INVALID_REQUEST, "two CTEs of one WITH are named '%s' (members "
                     "of a compound share the WITH); name them apart", cte->u.label.name);
    }
    puts_(c, recursive ? "WITH RECURSIVE " : "WITH ");
    for (size_t i = 0; i < n && !c->failed; i++) {
        const cr_expr *cte = ctes[i];
        if (i)
            puts_(c, ", ");
        ident(c, cte->u.label.name);
        puts_(c, " AS (");
        scope *saved = c->scope;
        c->scope = NULL;
        render_select(c, cte->stmt, false);
        if (cte->recursive) {
            /* The recursive member refers to the CTE itself. A WITH of its
             * own would stand after UNION ALL, which no dialect takes. */
            if (has_ctes(cte->recursive)) {
                fail(c, CR_ERR_INVALID_REQUEST, "the recursive part of CTE '%s' has a CTE of "
                     "its own; make that one a CTE of the enclosing statement",
                     cte->u.label.name);
                break;
            }
            puts_(c, " UNION ALL ");
            render_select(c, cte->recursive, false);
        }
        c->scope = saved;
        puts_(c, ")");
    }
    puts_(c, " ");
}

/* A foreign key of `from` that refers to `to`, by table name. */
static const cr_constraint *fk_between(const cr_table *from, const cr_table *to, int *count)
{
    const cr_constraint *found = NULL;
    for (size_t i = 0; i < from->ncons; i++) {
        const cr_constraint *k = from->constraints[i];
        if (k->kind == CR_CONSTRAINT_FOREIGN_KEY && k->ncols &&
            strcmp(k->ref_tables[0], to->name) == 0) {
            found = k;
            ++*count;
        }
    }
    return found;
}

static void render_fk_pairs(compiler *c, const cr_table *from, const cr_constraint *k,
                            const cr_table *to)
{
    for (size_t i = 0; i < k->ncols; i++) {
        if (i)
            puts_(c, " AND ");
        ident(c, from->name);
        puts_(c, ".");
        ident(c, k->cols[i]->name);
        puts_(c, " = ");
        ident(c, to->name);
        puts_(c, ".");
        ident(c, k->ref_columns[i]);
    }
}

/* join(target) with no ON: the one foreign key between the target and a
 * table already on the left of the join, either way round, as SQLAlchemy
 * finds it. */
static void render_fk_condition(compiler *c, const void *first, const cr_stmt *s, size_t j)
{
    const cr_join_clause *jn = s->joins.items[j];
    if (*(const uint32_t *)jn->target != CR_TAG_TABLE) {
        fail(c, CR_ERR_ARGUMENT, "join to '%s' needs an ON condition (only tables are joined "
             "along their foreign keys)", from_name(jn->target));
        return;
    }
    const cr_table *to = jn->target;
    const cr_table *from = NULL;
    const cr_constraint *key = NULL;
    bool reverse = false;
    int count = 0;
    for (size_t i = 0; i <= j; i++) {
        const void *left = i == 0 ? first : ((const cr_join_clause *)s->joins.items[i - 1])->target;
        if (*(const uint32_t *)left != CR_TAG_TABLE)
            continue;
        const cr_table *lt = left;
        int before = count;
        const cr_constraint *k = fk_between(lt, to, &count);
        if (count > before) {
            from = lt, key = k, reverse = false;
        }
        before = count;
        k = fk_between(to, lt, &count);
        if (count > before) {
            from = lt, key = k, reverse = true;
        }
    }
    if (count != 1) {
        fail(c, CR_ERR_ARGUMENT, "join to '%s' has no ON condition and %s foreign key links it "
             "to the tables on its left; give the condition", to->name,
             count ? "more than one" : "no");
        return;
    }
    if (reverse)
        render_fk_pairs(c, to, key, from);
    else
        render_fk_pairs(c, from, key, to);
}

static bool list_has(const cr_list *l, const void *p)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->items[i] == p)
            return true;
    return false;
}

/* Correlation as SQLAlchemy's: the FROM items of a nested SELECT that the
 * enclosing SELECTs provide are left out of its own FROM. Automatically
 * only with more than one item, and never all of them; the first item
 * stays when joins hang on it. */
static void correlate_froms(compiler *c, const cr_stmt *s, from_set *f)
{
    if (!c->scope || (s->correlate == CR_CORRELATE_AUTO && f->n < 2))
        return;
    size_t kept = 0;
    for (size_t i = 0; i < f->n; i++) {
        const void *it = f->items[i];
        bool listed = list_has(&s->correlate_items, it);
        bool drop = s->correlate == CR_CORRELATE_AUTO ? in_enclosing(c->scope, it, false)
                  : s->correlate == CR_CORRELATE_ONLY ? listed && in_enclosing(c->scope, it, true)
                  : !listed && in_enclosing(c->scope, it, true);
        if (!drop || (i == 0 && s->joins.n))
            f->items[kept++] = it;
    }
    if (kept == 0 && s->correlate == CR_CORRELATE_AUTO)
        fail(c, CR_ERR_INVALID_REQUEST, "a subquery of '%s' returned no FROM clauses due to "
             "auto-correlation; name what it correlates with cr_correlate (cr_correlate(q, "
             "NULL) for nothing)", from_name(f->items[0]));
    f->n = kept;
}

/* A SELECT's FROM: the items given, then those it refers to, less the join
 * targets (in joined) and the correlated ones. */
static void select_froms(compiler *c, const cr_stmt *s, from_set *f, from_set *joined)
{
    for (size_t i = 0; i < s->froms.n; i++)
        from_add(f, s->froms.items[i]);
    size_t explicit_n = f->n;
    from_set refs = {0};
    collect_list(&refs, &s->columns);
    collect_froms(&refs, s->where);
    collect_list(&refs, &s->group_by);
    collect_froms(&refs, s->having);
    collect_list(&refs, &s->order_by);
    for (size_t i = 0; i < s->joins.n; i++)
        from_add(joined, ((const cr_join_clause *)s->joins.items[i])->target);
    for (size_t i = 0; i < refs.n; i++)
        if (!from_has(joined, refs.items[i]))
            from_add(f, refs.items[i]);
    cr_free(refs.items);
    if (f->oom || joined->oom || refs.oom)
        fail(c, CR_ERR_NO_MEMORY, "out of memory compiling the statement");
    correlate_froms(c, s, f);
    if (!c->failed && explicit_n == 0 && f->n > 1)
        fail(c, CR_ERR_INVALID_REQUEST, "the SELECT uses tables '%s' and '%s' with no join "
             "between them; join them (cr_join) or name both with cr_select_from for a "
             "cartesian product", from_name(f->items[0]), from_name(f->items[1]));
    if (!c->failed && s->joins.n && f->n == 0)
        fail(c, CR_ERR_INVALID_REQUEST, "join: the SELECT has nothing to join from; add "
             "cr_select_from");
}

static void render_plain_select(compiler *c, cr_stmt *s, bool top)
{
    bool hoisted = c->ctes_hoisted, force_where = c->force_where;
    c->ctes_hoisted = c->force_where = false;
    if (s->columns.n == 0) {
        fail(c, CR_ERR_ARGUMENT, "the SELECT has no columns");
        return;
    }
    if (!hoisted)
        render_ctes(c, (const void *const *)s->ctes.items, s->ctes.n);
    from_set f = {0}, joined = {0};
    select_froms(c, s, &f, &joined);

    /* This SELECT's scope: its FROM items and join targets. */
    scope sc = {0};
    size_t nsc = f.n + joined.n;
    sc.items = cr_malloc((nsc ? nsc : 1) * sizeof *sc.items);
    if (!sc.items)
        fail(c, CR_ERR_NO_MEMORY, "out of memory compiling the statement");
    else {
        for (size_t i = 0; i < f.n; i++)
            sc.items[sc.n++] = f.items[i];
        for (size_t i = 0; i < joined.n; i++)
            sc.items[sc.n++] = joined.items[i];
    }
    sc.up = c->scope;
    c->scope = &sc;

    puts_(c, s->distinct ? "SELECT DISTINCT " : "SELECT ");
    bool first = true;
    for (size_t i = 0; i < s->columns.n && !c->failed; i++)
        render_select_item(c, s->columns.items[i], top, &first);
    if (f.n && !c->failed) {
        puts_(c, " \nFROM ");
        for (size_t i = 0; i < f.n && !c->failed; i++) {
            if (i)
                puts_(c, ", ");
            render_from_item(c, f.items[i]);
            if (i == 0)
                for (size_t j = 0; j < s->joins.n && !c->failed; j++) {
                    const cr_join_clause *jn = s->joins.items[j];
                    if (jn->kind == CR_JOIN_FULL && !c->d->has_full_outer_join) {
                        fail(c, CR_ERR_NOT_SUPPORTED, "the %s dialect has no FULL OUTER JOIN",
                             c->d->name);
                        break;
                    }
                    puts_(c, jn->kind == CR_JOIN_INNER ? " JOIN "
                             : jn->kind == CR_JOIN_LEFT ? " LEFT OUTER JOIN "
                                                        : " FULL OUTER JOIN ");
                    render_from_item(c, jn->target);
                    puts_(c, " ON ");
                    if (jn->on)
                        render_expr(c, jn->on, 0);
                    else
                        render_fk_condition(c, f.items[0], s, j);
                }
        }
    }
    if (s->where && !c->failed) {
        puts_(c, " \nWHERE ");
        render_expr(c, s->where, 0);
    } else if (force_where) {
        puts_(c, " \nWHERE ");
        puts_(c, true_sql(c));
    }
    if (s->group_by.n && !c->failed) {
        puts_(c, " GROUP BY ");
        render_list(c, &s->group_by, ", ");
    }
    if (s->having && !c->failed) {
        puts_(c, " \nHAVING ");
        render_expr(c, s->having, 0);
    }
    if (s->order_by.n && !c->failed) {
        puts_(c, " ORDER BY ");
        render_list(c, &s->order_by, ", ");
    }
    render_limit(c, s);
    render_for_update(c, s);
    c->scope = sc.up;
    cr_free(sc.items);
    cr_free(f.items);
    cr_free(joined.items);
}

static bool needs_parens_in_compound(const cr_stmt *s)
{
    return s->kind == CR_STMT_COMPOUND ||
           (s->kind == CR_STMT_SELECT && (s->order_by.n || s->limit || s->offset));
}

/* The CTEs of a compound and of its members, which SQL only takes at the
 * top of the compound. */
static void collect_ctes(from_set *f, const cr_stmt *s)
{
    for (size_t i = 0; i < s->ctes.n; i++)
        from_add(f, s->ctes.items[i]);
    if (s->kind == CR_STMT_COMPOUND) {
        collect_ctes(f, s->left);
        collect_ctes(f, s->right);
    }
}

static void render_compound_member(compiler *c, cr_stmt *m, bool columns)
{
    bool grouped = needs_parens_in_compound(m);
    if (grouped)
        puts_(c, c->d->compound_member_subquery ? "SELECT * FROM (" : "(");
    c->ctes_hoisted = true;
    render_select(c, m, columns);
    if (grouped)
        puts_(c, ")");
}

static void render_compound(compiler *c, cr_stmt *s, bool columns)
{
    static const char *const ops[] = {" UNION ", " UNION ALL ", " INTERSECT ", " EXCEPT "};
    bool hoisted = c->ctes_hoisted;
    c->ctes_hoisted = false;
    if ((s->op == CR_INTERSECT || s->op == CR_EXCEPT) && !c->d->has_intersect_except) {
        fail(c, CR_ERR_NOT_SUPPORTED, "the %s dialect has no%s", c->d->name, ops[s->op]);
        return;
    }
    if (!hoisted) {
        from_set ctes = {0};
        collect_ctes(&ctes, s);
        if (ctes.oom)
            fail(c, CR_ERR_NO_MEMORY, "out of memory compiling the statement");
        render_ctes(c, ctes.items, ctes.n);
        cr_free(ctes.items);
    }
    /* Only the first member names the result columns. */
    render_compound_member(c, s->left, columns);
    puts_(c, ops[s->op]);
    render_compound_member(c, s->right, false);
    if (s->order_by.n && !c->failed) {
        /* ORDER BY of a compound names result columns, unqualified. */
        bool q = c->qualify;
        c->qualify = false;
        puts_(c, " ORDER BY ");
        render_list(c, &s->order_by, ", ");
        c->qualify = q;
    }
    render_limit(c, s);
}

static void render_select(compiler *c, cr_stmt *s, bool columns)
{
    if (s->err) {
        fail(c, s->err->cls, "%s", s->err->message);
        return;
    }
    if (c->depth == MAX_SELECT_DEPTH) {
        fail(c, CR_ERR_INVALID_REQUEST, "the statement nests SELECTs more than %d deep, or "
             "refers to itself (a CTE whose definition selects from a subquery that holds the "
             "CTE)", MAX_SELECT_DEPTH);
        return;
    }
    c->depth++;
    if (s->kind == CR_STMT_COMPOUND)
        render_compound(c, s, columns);
    else
        render_plain_select(c, s, columns);
    c->depth--;
}

/* ---- INSERT, UPDATE, DELETE ---- */

static void render_returning(compiler *c, cr_stmt *s)
{
    if (!s->returning.n)
        return;
    if (!c->d->has_returning || (s->kind == CR_STMT_UPDATE && !c->d->has_returning_update)) {
        fail(c, CR_ERR_NOT_SUPPORTED, "the %s dialect has no %s ... RETURNING", c->d->name,
             s->kind == CR_STMT_INSERT ? "INSERT" : s->kind == CR_STMT_UPDATE ? "UPDATE"
                                                                              : "DELETE");
        return;
    }
    puts_(c, " RETURNING ");
    bool q = c->qualify;
    c->qualify = false;
    bool first = true;
    for (size_t i = 0; i < s->returning.n && !c->failed; i++)
        render_select_item(c, s->returning.items[i], true, &first);
    c->qualify = q;
}

/* A one-table scope for UPDATE and DELETE: columns of other tables are an
 * error, as there is no join. */
static void dml_scope(compiler *c, cr_stmt *s, scope *sc, const void **item)
{
    *item = s->table;
    sc->items = item;
    sc->n = 1;
    sc->up = NULL;
    c->scope = sc;
}

/* A column set by an upsert: qualified on MySQL after INSERT ... SELECT,
 * whose tables may have a column of the same name. */
static void upsert_target(compiler *c, const cr_stmt *s, const struct cr_column *col)
{
    if (s && s->from_select) {
        ident(c, s->table->name);
        puts_(c, ".");
    }
    ident(c, col->name);
}

/* col=value, ...; s: an upsert's SET on MySQL, else NULL. */
static void render_assigns(compiler *c, const cr_list *row, const cr_stmt *s)
{
    for (size_t i = 0; i < row->n && !c->failed; i++) {
        const cr_assign *a = row->items[i];
        if (i)
            puts_(c, ", ");
        upsert_target(c, s, a->col);
        puts_(c, "=");
        render_expr(c, a->value, 0);
    }
}

static void render_upsert(compiler *c, cr_stmt *s)
{
    if (s->conflict == CR_CONFLICT_NONE)
        return;
    if (c->d->upsert_style == CR_UPSERT_ON_DUPLICATE) {
        puts_(c, " ON DUPLICATE KEY UPDATE ");
        if (s->conflict == CR_CONFLICT_NOTHING) {
            /* No DO NOTHING: an update that changes nothing. */
            const struct cr_column *col = s->conflict_cols.n ? s->conflict_cols.items[0]
                                                             : s->table->cols[0];
            upsert_target(c, s, col);
            puts_(c, " = ");
            upsert_target(c, s, col);
            return;
        }
        render_assigns(c, &s->conflict_sets, s);
        return;
    }
    puts_(c, " ON CONFLICT");
    if (s->conflict_cols.n) {
        puts_(c, " (");
        for (size_t i = 0; i < s->conflict_cols.n; i++) {
            if (i)
                puts_(c, ", ");
            ident(c, ((const struct cr_column *)s->conflict_cols.items[i])->name);
        }
        puts_(c, ")");
    } else if (s->conflict == CR_CONFLICT_UPDATE) {
        fail(c, CR_ERR_ARGUMENT, "on_conflict_do_update needs the conflict columns");
        return;
    }
    if (s->conflict == CR_CONFLICT_NOTHING) {
        puts_(c, " DO NOTHING");
        return;
    }
    if (!s->conflict_sets.n) {
        fail(c, CR_ERR_ARGUMENT, "on_conflict_do_update has no columns to set (cr_conflict_set)");
        return;
    }
    puts_(c, " DO UPDATE SET ");
    render_assigns(c, &s->conflict_sets, NULL);
}

/* The SELECT of INSERT ... SELECT. Before ON CONFLICT, SQLite would read
 * ON as a join constraint unless the SELECT ends in a WHERE. */
static void render_insert_select(compiler *c, cr_stmt *s)
{
    cr_stmt *sel = s->from_select;
    if (!s->conflict || !c->d->upsert_select_where) {
        render_select(c, sel, false);
        return;
    }
    bool wrap = sel->kind == CR_STMT_COMPOUND || sel->order_by.n || sel->limit || sel->offset;
    if (wrap)
        puts_(c, "SELECT * FROM (");
    else
        c->force_where = true;
    render_select(c, sel, false);
    if (wrap) {
        puts_(c, ") \nWHERE ");
        puts_(c, true_sql(c));
    }
}

static void render_insert(compiler *c, cr_stmt *s, bool implicit_pk)
{
    cr_compiled *o = c->out;
    puts_(c, "INSERT INTO ");
    ident(c, s->table->name);
    scope sc;
    const void *item;
    if (s->from_select) {
        puts_(c, " (");
        for (size_t i = 0; i < s->from_select_cols.n; i++) {
            if (i)
                puts_(c, ", ");
            ident(c, ((const struct cr_column *)s->from_select_cols.items[i])->name);
        }
        puts_(c, ") ");
        render_insert_select(c, s);
    } else {
        const cr_list *first = s->eff_rows.items[0];
        if (first->n == 0 && s->conflict && c->d->upsert_no_default_values) {
            fail(c, CR_ERR_NOT_SUPPORTED, "the %s dialect has no ON CONFLICT for an INSERT of "
                 "no values (DEFAULT VALUES); set a column", c->d->name);
        } else if (first->n == 0) {
            puts_(c, " ");
            puts_(c, c->d->empty_insert);
        } else {
            puts_(c, " (");
            for (size_t i = 0; i < first->n; i++) {
                if (i)
                    puts_(c, ", ");
                ident(c, ((const cr_assign *)first->items[i])->col->name);
            }
            puts_(c, ") VALUES ");
            dml_scope(c, s, &sc, &item);
            for (size_t r = 0; r < s->eff_rows.n && !c->failed; r++) {
                const cr_list *row = s->eff_rows.items[r];
                puts_(c, r ? ", (" : "(");
                for (size_t i = 0; i < row->n && !c->failed; i++) {
                    if (i)
                        puts_(c, ", ");
                    render_expr(c, ((const cr_assign *)row->items[i])->value, 0);
                }
                puts_(c, ")");
            }
            c->scope = NULL;
        }
    }
    dml_scope(c, s, &sc, &item);
    render_upsert(c, s);
    c->scope = NULL;
    render_returning(c, s);
    /* The primary key of what was inserted, where the backend cannot give
     * it any other way (no lastrowid) or for several rows at once; and the
     * server's defaults when asked (return_defaults). The key comes first. */
    if (!implicit_pk || s->returning.n || !c->d->has_returning || s->from_select ||
        s->conflict != CR_CONFLICT_NONE || c->failed)
        return;
    const struct cr_column *ai = cr_table_autoincrement(s->table);
    const cr_list *first = s->eff_rows.items[0];
    bool want_pk = ai && !cr_assign_find(first, ai) &&
                   (s->eff_rows.n > 1 || !c->d->has_lastrowid || s->return_defaults);
    const char *sep = " RETURNING ";
    if (want_pk) {
        puts_(c, sep);
        ident(c, ai->name);
        add_result_column(c, ai->name, ai);
        o->pk_returning = true;
        sep = ", ";
    }
    for (size_t i = 0; s->return_defaults && i < s->table->ncols; i++) {
        const struct cr_column *col = s->table->cols[i];
        if (col == ai || !col->server_default || cr_assign_find(first, col))
            continue;
        puts_(c, sep);
        ident(c, col->name);
        add_result_column(c, col->name, col);
        sep = ", ";
    }
    o->defaults_returning = s->return_defaults && o->ncolumns > 0;
}

static void render_dml(compiler *c, cr_stmt *s)
{
    scope sc;
    const void *item;
    if (s->kind == CR_STMT_UPDATE) {
        puts_(c, "UPDATE ");
        ident(c, s->table->name);
        puts_(c, " SET ");
        dml_scope(c, s, &sc, &item);
        render_assigns(c, s->eff_rows.items[0], NULL);
    } else {
        puts_(c, "DELETE FROM ");
        ident(c, s->table->name);
        dml_scope(c, s, &sc, &item);
    }
    if (s->where && !c->failed) {
        puts_(c, " WHERE ");
        render_expr(c, s->where, 0);
    }
    c->scope = NULL;
    render_returning(c, s);
}

void cr_compiled_clear(cr_compiled *o)
{
    if (!o)
        return;
    cr_free(o->sql);
    cr_free(o->slot_bind);
    if (o->param_names)
        for (size_t i = 0; i < o->nslots; i++)
            cr_free(o->param_names[i]);
    cr_free(o->param_names);
    cr_free(o->param_values);
    for (size_t i = 0; i < o->ncolumns; i++)
        cr_free(o->columns[i].name);
    cr_free(o->columns);
    memset(o, 0, sizeof *o);
}

cr_status cr_stmt_compile_into(cr_stmt *q, const cr_dialect *d, bool implicit_pk,
                               cr_compiled *out, cr_error *err)
{
    memset(out, 0, sizeof *out);
    if (q->err)
        return cr_error_set(err, q->err->cls, "%s", q->err->message);
    cr_buf b;
    cr_buf_init(&b);
    compiler c = {.d = d, .b = &b, .err = err, .top = q, .out = out, .qualify = true};
    if (name_binds(&c, q)) {
        fail(&c, CR_ERR_NO_MEMORY, "out of memory compiling the statement");
    } else {
        switch (q->kind) {
        case CR_STMT_SELECT: case CR_STMT_COMPOUND:
            render_select(&c, q, true);
            break;
        case CR_STMT_INSERT:
            render_insert(&c, q, implicit_pk);
            break;
        case CR_STMT_UPDATE: case CR_STMT_DELETE:
            render_dml(&c, q);
            break;
        }
    }
    /* Numbered styles: slot k is bind k, and every bind must appear. */
    if (!c.failed && d->param_style != CR_PARAM_QMARK) {
        out->nslots = q->nbinds;
        out->slot_bind = cr_malloc((q->nbinds ? q->nbinds : 1) * sizeof *out->slot_bind);
        if (!out->slot_bind)
            fail(&c, CR_ERR_NO_MEMORY, "out of memory compiling the statement");
        for (size_t i = 0; i < q->nbinds && !c.failed; i++) {
            out->slot_bind[i] = (int)i;
            if (!c.rendered[i])
                fail(&c, CR_ERR_INTERNAL, "value %zu of the statement was not rendered", i + 1);
        }
    }
    /* Names per placeholder, for echo and cr_stmt_compile. */
    if (!c.failed) {
        out->param_names = cr_calloc(out->nslots ? out->nslots : 1, sizeof *out->param_names);
        if (!out->param_names)
            fail(&c, CR_ERR_NO_MEMORY, "out of memory compiling the statement");
        for (size_t k = 0; k < out->nslots && !c.failed; k++) {
            int bi = out->slot_bind[k];
            out->param_names[k] = c.names[bi] ? cr_strdup(c.names[bi]) : NULL;
            if (!out->param_names[k])
                fail(&c, CR_ERR_NO_MEMORY, "out of memory compiling the statement");
        }
    }
    if (!c.failed && b.oom)
        fail(&c, CR_ERR_NO_MEMORY, "out of memory compiling the statement");
    if (!c.failed) {
        out->sql = cr_strndup(b.data ? b.data : "", b.len);
        if (!out->sql)
            fail(&c, CR_ERR_NO_MEMORY, "out of memory compiling the statement");
    }
    if (c.names)
        for (size_t i = 0; i < q->nbinds; i++)
            cr_free(c.names[i]);
    cr_free(c.names);
    cr_free(c.rendered);
    cr_buf_free(&b);
    if (c.failed) {
        cr_compiled_clear(out);
        return err->cls;
    }
    return CR_OK;
}
