/* diff_crucible.c — the Crucible side of the differential test: builds each query spec with the expression language, runs it, prints its rows as tagged values.
 *
 *   diff_crucible URL < specs > rows
 *
 * Each input line is a spec (a flag, a space, an s-expression; the grammar
 * is in gen_queries.py). For each, the output is "Q", then either one line
 * "E <class>: <message>" (the build, the compile or the backend refused it)
 * or one line per row, "R" and the row's values separated by tabs, then "."
 * Values are tagged with what Crucible returned, for run_differential.py to
 * compare with SQLAlchemy's: N (NULL), i<int>, d<double, %.17g>, b<0|1>,
 * n<numeric text>, t<hex of the text>, x<hex of a blob>, D<date>,
 * H<time>, T<datetime>. The tables are run_differential.py's (created
 * through SQLAlchemy), declared here as SQLAlchemy declares them. */
#include <crucible.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DT1(COLUMN)                                                                 \
    COLUMN(id, INTEGER, .primary_key = true)                                        \
    COLUMN(a, INTEGER)                                                              \
    COLUMN(b, STRING(20))                                                           \
    COLUMN(c, FLOAT)                                                                \
    COLUMN(d, DATETIME)                                                             \
    COLUMN(e, BOOLEAN)
CR_DECLARE_TABLE(dt1_table, DT1)
#define DT2(COLUMN)                                                                 \
    COLUMN(id, INTEGER, .primary_key = true)                                        \
    COLUMN(t1_id, INTEGER, .foreign_key = "diff_t1.id")                             \
    COLUMN(x, STRING(20))                                                           \
    COLUMN(y, NUMERIC(10, 2))
CR_DECLARE_TABLE(dt2_table, DT2)

static dt1_table t1;
static dt2_table t2;

/* ---- s-expressions ---- */

typedef struct node {
    const char *atom;     /* an atom or a string's text; NULL for a list */
    bool is_string;
    struct node **kids;
    int n;
} node;

typedef struct parser {
    const char *p;
    const char *err;
} parser;

static void node_free(node *n)
{
    if (!n)
        return;
    for (int i = 0; i < n->n; i++)
        node_free(n->kids[i]);
    free(n->kids);
    free((char *)n->atom);
    free(n);
}

static node *parse(parser *ps)
{
    while (*ps->p == ' ')
        ps->p++;
    node *n = calloc(1, sizeof *n);
    if (!n)
        return ps->err = "out of memory", NULL;
    if (*ps->p == '(') {
        ps->p++;
        for (;;) {
            while (*ps->p == ' ')
                ps->p++;
            if (*ps->p == ')') {
                ps->p++;
                return n;
            }
            if (!*ps->p) {
                ps->err = "unclosed list";
                node_free(n);
                return NULL;
            }
            node *k = parse(ps);
            node **kids = k ? realloc(n->kids, (size_t)(n->n + 1) * sizeof *kids) : NULL;
            if (!kids) {
                node_free(k);
                node_free(n);
                return ps->err = ps->err ? ps->err : "out of memory", NULL;
            }
            n->kids = kids;
            n->kids[n->n++] = k;
        }
    }
    size_t cap = strlen(ps->p) + 1, len = 0;
    char *s = malloc(cap);
    if (!s) {
        free(n);
        return ps->err = "out of memory", NULL;
    }
    if (*ps->p == '"') {
        ps->p++;
        while (*ps->p && *ps->p != '"') {
            if (*ps->p == '\\' && ps->p[1])
                ps->p++;
            s[len++] = *ps->p++;
        }
        if (*ps->p != '"') {
            free(s);
            free(n);
            return ps->err = "unclosed string", NULL;
        }
        ps->p++;
        n->is_string = true;
    } else {
        while (*ps->p && *ps->p != ' ' && *ps->p != '(' && *ps->p != ')')
            s[len++] = *ps->p++;
        if (!len) {
            free(s);
            free(n);
            return ps->err = "empty atom", NULL;
        }
    }
    s[len] = '\0';
    n->atom = s;
    return n;
}

static bool is(const node *n, const char *head)
{
    return n && !n->atom && n->n > 0 && n->kids[0]->atom && strcmp(n->kids[0]->atom, head) == 0;
}

static const char *head(const node *n)
{
    return n && !n->atom && n->n > 0 && n->kids[0]->atom ? n->kids[0]->atom : "";
}

/* ---- building ---- */

static const node empty_node = {NULL, false, NULL, 0};

enum { MAX_SUBS = 32 };

typedef struct builder {
    const char *err;              /* a spec this program cannot read */
    const char *sub_name[MAX_SUBS];
    cr_expr *sub[MAX_SUBS];
    int nsub;
} builder;

static cr_stmt *build_select(builder *b, const node *n);
static cr_expr *build_expr(builder *b, cr_stmt *q, const node *n);

/* The i-th item of list n, or an empty list (and the spec refused) when n
 * has fewer: a malformed spec is a SpecError, not a crash. */
static const node *arg(builder *b, const node *n, int i)
{
    if (i < n->n)
        return n->kids[i];
    b->err = "missing operand";
    return &empty_node;
}

/* The text of the atom or string that is the i-th item of n, or "". */
static const char *atom(builder *b, const node *n, int i)
{
    const node *k = arg(b, n, i);
    if (k->atom)
        return k->atom;
    b->err = "not an atom";
    return "";
}

static cr_column *column(builder *b, const node *n)
{
    if (n->n != 3 || !atom(b, n, 1) || !atom(b, n, 2))
        return b->err = "bad col", NULL;
    cr_table *t = strcmp(atom(b, n, 1), "t1") == 0 ? t1.table
                  : strcmp(atom(b, n, 1), "t2") == 0 ? t2.table : NULL;
    cr_column *c = t ? cr_table_column(t, atom(b, n, 2)) : NULL;
    if (!c)
        b->err = "unknown column";
    return c;
}

static cr_expr *subcol(builder *b, cr_stmt *q, const node *n)
{
    for (int i = 0; i < b->nsub; i++)
        if (n->n == 3 && strcmp(b->sub_name[i], atom(b, n, 1)) == 0)
            return cr_c(q, b->sub[i], atom(b, n, 2));
    return b->err = "unknown subquery", NULL;
}

static cr_value value_of(builder *b, const node *n)
{
    if (is(n, "int") && n->n == 2)
        return cr_val_int(strtoll(atom(b, n, 1), NULL, 10));
    if (is(n, "str") && n->n == 2)
        return cr_val_text(atom(b, n, 1));
    if (is(n, "null"))
        return cr_val_null();
    b->err = "bad IN value";
    return cr_val_null();
}

/* The kids from..n-1 as expressions, NULL-terminated, for the _items calls. */
static const void **expr_list(builder *b, cr_stmt *q, const node *n, int from)
{
    const void **items = calloc((size_t)(n->n - from + 1), sizeof *items);
    if (!items)
        return b->err = "out of memory", NULL;
    for (int i = from; i < n->n; i++)
        items[i - from] = build_expr(b, q, arg(b, n, i));
    return items;
}

static cr_expr *ordering(builder *b, cr_stmt *q, const node *n)
{
    if (n->n != 2)
        return b->err = "bad ordering", NULL;
    cr_expr *e = build_expr(b, q, arg(b, n, 1));
    return is(n, "desc") ? cr_desc(q, e) : cr_asc(q, e);
}

static const void **order_list(builder *b, cr_stmt *q, const node *n)
{
    const void **items = calloc((size_t)n->n, sizeof *items);
    if (!items)
        return b->err = "out of memory", NULL;
    for (int i = 1; i < n->n; i++)
        items[i - 1] = ordering(b, q, arg(b, n, i));
    return items;
}

static cr_sqltype cast_type(const char *name)
{
    static const cr_sqltype integer = CR_SQL_INTEGER, string = CR_SQL_STRING(0),
                            numeric = CR_SQL_NUMERIC(10, 2), floating = CR_SQL_FLOAT;
    return strcmp(name, "integer") == 0   ? integer
           : strcmp(name, "string") == 0  ? string
           : strcmp(name, "numeric") == 0 ? numeric
                                          : floating;
}

static const struct { const char *name; cr_operator op; } binary_ops[] = {
    {"=", CR_OP_EQ},   {"!=", CR_OP_NE},  {"<", CR_OP_LT},  {"<=", CR_OP_LE},
    {">", CR_OP_GT},   {">=", CR_OP_GE},  {"+", CR_OP_ADD}, {"-", CR_OP_SUB},
    {"*", CR_OP_MUL},  {"/", CR_OP_DIV},  {"%", CR_OP_MOD}, {"||", CR_OP_CONCAT},
};

static cr_expr *build_case(builder *b, cr_stmt *q, const node *n)
{
    cr_expr *k = cr_case(q);
    for (int i = 1; i < n->n; i++) {
        const node *w = arg(b, n, i);
        if (is(w, "when") && w->n == 3)
            cr_case_when_expr(q, k, build_expr(b, q, arg(b, w, 1)), build_expr(b, q, arg(b, w, 2)));
        else if (is(w, "else") && w->n == 2)
            cr_case_else_expr(q, k, build_expr(b, q, arg(b, w, 1)));
        else
            b->err = "bad case";
    }
    return k;
}

static cr_expr *build_func(builder *b, cr_stmt *q, const node *n, int first)
{
    const char *name = atom(b, n, first);
    if (strcmp(name, "length") == 0 && n->n == first + 2)
        return cr_length(q, build_expr(b, q, arg(b, n, first + 1)));
    if (n->n == first + 1)
        return cr_func0(q, name);
    const void **args = expr_list(b, q, n, first + 1);
    cr_expr *e = args ? cr_func_items(q, name, args) : NULL;
    free(args);
    return e;
}

static cr_expr *build_over(builder *b, cr_stmt *q, const node *n)
{
    const node *f = arg(b, n, 1);
    cr_expr *fn = f->n == 1 ? cr_func0(q, head(f)) : build_expr(b, q, f);
    cr_expr *w = cr_over(q, fn);
    for (int i = 2; i < n->n; i++) {
        const node *part = arg(b, n, i);
        const void **items = is(part, "partition") ? expr_list(b, q, part, 1)
                             : is(part, "order")   ? order_list(b, q, part) : NULL;
        if (!items)
            return b->err = b->err ? b->err : "bad over", NULL;
        if (is(part, "partition"))
            cr_partition_by_items(q, w, items);
        else
            cr_window_order_by_items(q, w, items);
        free(items);
    }
    return w;
}

static cr_expr *build_in(builder *b, cr_stmt *q, const node *n, bool negate)
{
    cr_value vals[16];
    int nv = n->n - 2;
    if (nv > 16)
        return b->err = "IN list too long", NULL;
    for (int i = 0; i < nv; i++)
        vals[i] = value_of(b, arg(b, n, i + 2));
    cr_expr *e = build_expr(b, q, arg(b, n, 1));
    return negate ? cr_not_in_values(q, e, vals, (size_t)nv) : cr_in_values(q, e, vals, (size_t)nv);
}

static cr_expr *build_like(builder *b, cr_stmt *q, const node *n)
{
    cr_expr *e = build_expr(b, q, arg(b, n, 1));
    const char *h = head(n);
    if (strcmp(h, "contains") == 0 || strcmp(h, "startswith") == 0 || strcmp(h, "endswith") == 0) {
        const char *s = atom(b, n, 2);
        return h[0] == 'c' ? cr_contains(q, e, s) : h[0] == 's' ? cr_startswith(q, e, s)
                                                                : cr_endswith(q, e, s);
    }
    cr_operator op = strcmp(h, "like") == 0 ? CR_OP_LIKE : strcmp(h, "notlike") == 0
                                                               ? CR_OP_NOT_LIKE : CR_OP_ILIKE;
    return cr_binary(q, op, e, build_expr(b, q, arg(b, n, 2)));
}

static cr_expr *build_leaf(builder *b, cr_stmt *q, const node *n, const char *h)
{
    if (strcmp(h, "col") == 0)
        return (cr_expr *)(void *)column(b, n);
    if (strcmp(h, "subcol") == 0)
        return subcol(b, q, n);
    if (strcmp(h, "int") == 0)
        return cr_bind(q, cr_val_int(strtoll(atom(b, n, 1), NULL, 10)));
    if (strcmp(h, "float") == 0)
        return cr_bind(q, cr_val_double(strtod(atom(b, n, 1), NULL)));
    if (strcmp(h, "str") == 0)
        return cr_bind(q, cr_val_text(atom(b, n, 1)));
    if (strcmp(h, "null") == 0)
        return cr_null(q);
    if (strcmp(h, "true") == 0)
        return cr_true(q);
    if (strcmp(h, "false") == 0)
        return cr_false(q);
    return NULL;
}

/* Whether word is one of the space-separated words. */
static bool one_of(const char *word, const char *words)
{
    size_t len = strlen(word);
    for (const char *p = words; len && (p = strstr(p, word)); p += len)
        if ((p == words || p[-1] == ' ') && (p[len] == ' ' || p[len] == '\0'))
            return true;
    return false;
}

static cr_expr *build_expr(builder *b, cr_stmt *q, const node *n)
{
    const char *h = head(n);
    if (b->err)
        return NULL;
    /* A leaf may be NULL when q holds an error already: it is still a leaf. */
    if (one_of(h, "col subcol int float str null true false"))
        return build_leaf(b, q, n, h);
    for (size_t i = 0; i < sizeof binary_ops / sizeof binary_ops[0]; i++)
        if (strcmp(h, binary_ops[i].name) == 0 && n->n == 3)
            return cr_binary(q, binary_ops[i].op, build_expr(b, q, arg(b, n, 1)),
                             build_expr(b, q, arg(b, n, 2)));
    if (strcmp(h, "and") == 0 || strcmp(h, "or") == 0) {
        const void **items = expr_list(b, q, n, 1);
        cr_expr *e = !items ? NULL : h[0] == 'a' ? cr_and_items(q, items) : cr_or_items(q, items);
        free(items);
        return e;
    }
    if (strcmp(h, "not") == 0)
        return cr_not(q, build_expr(b, q, arg(b, n, 1)));
    if (strcmp(h, "isnull") == 0)
        return cr_is_null(q, build_expr(b, q, arg(b, n, 1)));
    if (strcmp(h, "notnull") == 0)
        return cr_is_not_null(q, build_expr(b, q, arg(b, n, 1)));
    if (strcmp(h, "in") == 0 || strcmp(h, "notin") == 0)
        return build_in(b, q, n, h[0] == 'n');
    if (strcmp(h, "insub") == 0 || strcmp(h, "notinsub") == 0) {
        cr_expr *e = build_expr(b, q, arg(b, n, 1));
        cr_stmt *sub = build_select(b, arg(b, n, 2));
        return h[0] == 'n' ? cr_not_in_select(q, e, sub) : cr_in_select(q, e, sub);
    }
    if (strcmp(h, "exists") == 0)
        return cr_exists(q, build_select(b, arg(b, n, 1)));
    if (strcmp(h, "notexists") == 0)
        return cr_not(q, cr_exists(q, build_select(b, arg(b, n, 1))));
    if (strcmp(h, "scalar") == 0)
        return cr_scalar_subquery(q, build_select(b, arg(b, n, 1)));
    if (one_of(h, "like notlike ilike contains startswith endswith"))
        return build_like(b, q, n);
    if (strcmp(h, "between") == 0)
        return cr_between_expr(q, build_expr(b, q, arg(b, n, 1)), build_expr(b, q, arg(b, n, 2)),
                               build_expr(b, q, arg(b, n, 3)));
    if (strcmp(h, "case") == 0)
        return build_case(b, q, n);
    if (strcmp(h, "cast") == 0)
        return cr_cast(q, build_expr(b, q, arg(b, n, 1)), cast_type(atom(b, n, 2)));
    if (strcmp(h, "func") == 0)
        return build_func(b, q, n, 1);
    if (strcmp(h, "count") == 0)
        return cr_count(q, build_expr(b, q, arg(b, n, 1)));
    if (strcmp(h, "countstar") == 0)
        return cr_count_star(q);
    if (strcmp(h, "count_distinct") == 0)
        return cr_count_distinct(q, build_expr(b, q, arg(b, n, 1)));
    if (strcmp(h, "sum") == 0 || strcmp(h, "min") == 0 || strcmp(h, "max") == 0 ||
        strcmp(h, "avg") == 0 || strcmp(h, "row_number") == 0 || strcmp(h, "rank") == 0 ||
        strcmp(h, "dense_rank") == 0)
        return build_func(b, q, n, 0);
    if (strcmp(h, "over") == 0)
        return build_over(b, q, n);
    return b->err = "unknown expression", NULL;
}

static const void *from_item(builder *b, cr_stmt *q, const node *n)
{
    if (is(n, "table") && n->n == 2)
        return strcmp(atom(b, n, 1), "t1") == 0 ? (const void *)t1.table : (const void *)t2.table;
    if ((is(n, "sub") || is(n, "cte")) && n->n == 3 && b->nsub < MAX_SUBS) {
        cr_stmt *sub = build_select(b, arg(b, n, 2));
        cr_expr *s = is(n, "cte") ? cr_cte(q, sub, atom(b, n, 1), false)
                                  : cr_subquery(q, sub, atom(b, n, 1));
        b->sub_name[b->nsub] = atom(b, n, 1);
        b->sub[b->nsub++] = s;
        return s;
    }
    return b->err = "bad FROM item", NULL;
}

static const node *clause(const node *n, const char *name)
{
    for (int i = 1; i < n->n; i++)
        if (is(n->kids[i], name))
            return n->kids[i];
    return NULL;
}

static void build_clause(builder *b, cr_stmt *q, const node *c)
{
    const char *h = head(c);
    if (strcmp(h, "join") == 0 || strcmp(h, "outerjoin") == 0) {
        const void *target = from_item(b, q, arg(b, c, 1));
        cr_expr *on = build_expr(b, q, arg(b, c, 2));
        (h[0] == 'j' ? cr_join : cr_outerjoin)(q, target, on);
    } else if (strcmp(h, "where") == 0) {
        cr_where(q, build_expr(b, q, arg(b, c, 1)));
    } else if (strcmp(h, "having") == 0) {
        cr_having(q, build_expr(b, q, arg(b, c, 1)));
    } else if (strcmp(h, "group") == 0 || strcmp(h, "order") == 0) {
        const void **items = h[0] == 'g' ? expr_list(b, q, c, 1) : order_list(b, q, c);
        if (items)
            (h[0] == 'g' ? cr_group_by_items : cr_order_by_items)(q, items);
        free(items);
    } else if (strcmp(h, "limit") == 0) {
        cr_limit(q, strtoll(atom(b, c, 1), NULL, 10));
    } else if (strcmp(h, "offset") == 0) {
        cr_offset(q, strtoll(atom(b, c, 1), NULL, 10));
    } else if (strcmp(h, "distinct") == 0) {
        cr_distinct(q);
    }
}

/* A statement the caller frees (or an enclosing statement adopts); NULL only
 * out of memory or with b->err set. */
static cr_stmt *build_select(builder *b, const node *n)
{
    const char *h = head(n);
    if (b->err)
        return NULL;
    cr_stmt *(*compound)(cr_stmt *, cr_stmt *) =
        strcmp(h, "union") == 0       ? cr_union
        : strcmp(h, "union_all") == 0 ? cr_union_all
        : strcmp(h, "intersect") == 0 ? cr_intersect
        : strcmp(h, "except") == 0    ? cr_except : NULL;
    if (compound) {
        cr_stmt *l = build_select(b, arg(b, n, 1)), *r = build_select(b, arg(b, n, 2));
        if (!l || !r) {
            cr_stmt_free(l);
            cr_stmt_free(r);
            return NULL;
        }
        return compound(l, r);
    }
    const node *cols = clause(n, "cols"), *from = clause(n, "from");
    if (strcmp(h, "select") != 0 || !cols || !from || from->n != 2) {
        b->err = "bad select";
        return NULL;
    }
    cr_stmt *q = cr_select_new();
    if (!q)
        return NULL;
    cr_select_from(q, from_item(b, q, arg(b, from, 1)));
    /* Joins before the items, which may read a joined subquery's columns. */
    for (int i = 1; i < n->n; i++)
        if (is(arg(b, n, i), "join") || is(arg(b, n, i), "outerjoin"))
            build_clause(b, q, arg(b, n, i));
    for (int i = 1; i < cols->n; i++) {
        char label[16];
        snprintf(label, sizeof label, "c%d", i - 1);
        cr_columns(q, cr_label(q, build_expr(b, q, cols->kids[i]), label));
    }
    for (int i = 1; i < n->n; i++)
        if (!is(arg(b, n, i), "join") && !is(arg(b, n, i), "outerjoin"))
            build_clause(b, q, arg(b, n, i));
    return q;
}

/* ---- running ---- */

static void print_hex(FILE *out, const void *p, size_t len)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < len; i++)
        fprintf(out, "%02x", s[i]);
}

static void print_value(FILE *out, const cr_value *v)
{
    const cr_datetime *t = &v->v.dt;
    switch (v->type) {
    case CR_NULL: fputs("N", out); break;
    case CR_INT: fprintf(out, "i%lld", (long long)v->v.i); break;
    case CR_DOUBLE: fprintf(out, "d%.17g", v->v.d); break;
    case CR_BOOL: fprintf(out, "b%d", v->v.b ? 1 : 0); break;
    case CR_NUMERIC: fprintf(out, "n%.*s", (int)v->v.s.len, v->v.s.ptr); break;
    case CR_TEXT: fputc('t', out); print_hex(out, v->v.s.ptr, v->v.s.len); break;
    case CR_BLOB: fputc('x', out); print_hex(out, v->v.blob.ptr, v->v.blob.len); break;
    case CR_DATE: fprintf(out, "D%04d-%02d-%02d", t->year, t->month, t->day); break;
    case CR_TIME:
        fprintf(out, "H%02d:%02d:%02d.%06d", t->hour, t->minute, t->second, t->microsecond);
        break;
    case CR_DATETIME:
        fprintf(out, "T%04d-%02d-%02d %02d:%02d:%02d.%06d", t->year, t->month, t->day, t->hour,
                t->minute, t->second, t->microsecond);
        break;
    }
}

static void print_error(const cr_error *e)
{
    const char *msg = e ? cr_error_message(e) : "unknown error";
    printf("E %s: ", e ? cr_error_class_name(e) : "Error");
    for (const char *p = msg; *p; p++)
        putchar(*p == '\n' || *p == '\r' ? ' ' : *p);
    putchar('\n');
}

static void run_one(cr_conn *conn, const char *line, const char *dialect)
{
    parser ps = {line, NULL};
    node *n = parse(&ps);
    builder b = {0};
    cr_stmt *q = n ? build_select(&b, n) : NULL;
    puts("Q");
    if (!n || b.err || !q) {
        printf("E SpecError: %s\n.\n", ps.err ? ps.err : b.err ? b.err : "out of memory");
        cr_stmt_free(q);
        node_free(n);
        return;
    }
    if (dialect) {
        cr_compiled *c = cr_stmt_compile(q, dialect);
        fprintf(stderr, "%s\n", c ? cr_compiled_sql(c) : "(no SQL)");
        cr_compiled_free(c);
    }
    cr_result *r = cr_conn_execute_stmt(conn, q);
    if (!r) {
        print_error(cr_stmt_error(q) ? cr_stmt_error(q) : cr_conn_error(conn));
    } else {
        /* Rows are held back until the result is read to its end: an error
         * part way is an error, as SQLAlchemy's fetchall() raises. */
        char *buf = NULL;
        size_t size = 0;
        FILE *mem = open_memstream(&buf, &size);
        const cr_row *row;
        while (mem && (row = cr_result_fetchone(r))) {
            fputc('R', mem);
            for (int i = 0; i < cr_row_column_count(row); i++) {
                fputc('\t', mem);
                print_value(mem, cr_row_value_at(row, i));
            }
            fputc('\n', mem);
        }
        if (mem)
            fclose(mem);
        if (!mem)
            puts("E MemoryError: open_memstream");
        else if (cr_result_error(r))
            print_error(cr_result_error(r));
        else
            fwrite(buf, 1, size, stdout);
        free(buf);
        cr_result_free(r);
    }
    puts(".");
    /* A failed statement aborts a PostgreSQL transaction: start afresh. */
    if (cr_conn_in_transaction(conn))
        cr_conn_rollback(conn);
    cr_stmt_free(q);
    node_free(n);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s URL < specs\n", argv[0]);
        return 2;
    }
    cr_metadata *md = cr_metadata_new(NULL);
    if (!md || dt1_table_define(&t1, md, "diff_t1") != CR_OK ||
        dt2_table_define(&t2, md, "diff_t2") != CR_OK) {
        fprintf(stderr, "diff_crucible: cannot declare the tables\n");
        return 1;
    }
    cr_error *err = NULL;
    cr_engine *engine = cr_create_engine(argv[1], NULL, &err);
    cr_conn *conn = engine ? cr_engine_connect(engine, &err) : NULL;
    if (!conn) {
        fprintf(stderr, "diff_crucible: %s\n", cr_error_message(err));
        cr_error_free(err);
        cr_engine_free(engine);
        cr_metadata_free(md);
        return 1;
    }
    /* DIFF_SHOW_SQL=1: each statement's SQL on stderr. */
    const char *dialect = !getenv("DIFF_SHOW_SQL")                        ? NULL
                          : strncmp(argv[1], "postgres", 8) == 0          ? "postgresql"
                          : strncmp(argv[1], "sqlite", 6) == 0            ? "sqlite"
                                                                          : "mysql";
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, stdin)) > 0) {
        if (line[len - 1] == '\n')
            line[--len] = '\0';
        run_one(conn, len > 2 ? line + 2 : line, dialect);
        fflush(stdout);
    }
    free(line);
    cr_conn_close(conn);
    cr_engine_free(engine);
    cr_metadata_free(md);
    return 0;
}
