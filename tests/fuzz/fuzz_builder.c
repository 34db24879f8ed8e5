/* fuzz_builder.c — the expression builder and compiler, driven by a byte-coded program of
 * builder calls over a fixed schema.
 *
 * Each input is a program: a byte picks a builder call (a new SELECT,
 * INSERT, UPDATE or DELETE; an expression; a clause; a subquery, CTE or
 * compound closing the innermost statement), the bytes after it its
 * operands. Expressions and FROM items go on stacks, statements on a stack
 * of their own: a subquery is built on top of the statement that adopts it.
 * Every statement left unadopted is then compiled for each dialect and run
 * on an in-memory SQLite database holding the schema. Oracles:
 *   - no crash, no sanitizer report, no leak;
 *   - SQL compiled for SQLite runs there without a syntax error (other
 *     errors at run time, a type mismatch say, are the program's);
 *   - no bound text value appears in the SQL text of any dialect (every
 *     text value the program binds starts with "zq", which no name has);
 *   - a compile that failed for one dialect leaves the statement as it was
 *     for the next: SQLite compiles the same before and after the others. */
#include "fuzz.h"
#include "sqlite_limits.h"

#include "sql/stmt.h"

#define T1(COLUMN)                                                                  \
    COLUMN(id, INTEGER, .primary_key = true)                                        \
    COLUMN(a, INTEGER)                                                              \
    COLUMN(b, STRING(20))                                                           \
    COLUMN(c, DOUBLE)                                                               \
    COLUMN(d, DATETIME)                                                             \
    COLUMN(e, BOOLEAN)
CR_DECLARE_TABLE(t1_table, T1)
#define T2(COLUMN)                                                                  \
    COLUMN(id, INTEGER, .primary_key = true)                                        \
    COLUMN(t1_id, INTEGER, .foreign_key = "t1.id")                                  \
    COLUMN(x, TEXT)                                                                 \
    COLUMN(y, NUMERIC(10, 2))
CR_DECLARE_TABLE(t2_table, T2)

static cr_metadata *md;
static t1_table t1;
static t2_table t2;
static cr_engine *engine;
static cr_column *cols[10];
static cr_table *tables[2];

static void setup(void)
{
    md = cr_metadata_new(NULL);
    FUZZ_CHECK(md && t1_table_define(&t1, md, "t1") == CR_OK &&
                   t2_table_define(&t2, md, "t2") == CR_OK, "schema");
    cr_column *all[] = {t1.c.id, t1.c.a, t1.c.b, t1.c.c, t1.c.d, t1.c.e,
                        t2.c.id, t2.c.t1_id, t2.c.x, t2.c.y};
    memcpy(cols, all, sizeof cols);
    tables[0] = t1.table;
    tables[1] = t2.table;
    cr_error *err = NULL;
    engine = cr_create_engine("sqlite://", NULL, &err);
    FUZZ_CHECK(engine && cr_metadata_create_all_engine(md, engine, false, &err) == CR_OK,
               "setup: %s", cr_error_message(err));
    cr_conn *c = cr_engine_connect(engine, &err);
    FUZZ_CHECK(c, "connect");
    FUZZ_CHECK(cr_conn_exec(c, "INSERT INTO t1 (id, a, b, c, d, e) VALUES "
                               "(1, 1, 'x', 1.5, '2024-01-02 03:04:05.000000', 1), "
                               "(2, NULL, '%_''', NULL, NULL, 0), (3, 3, NULL, -2, NULL, NULL)",
                            NULL) == CR_OK &&
                   cr_conn_exec(c, "INSERT INTO t2 (id, t1_id, x, y) VALUES "
                                   "(1, 1, 'a', 1.25), (2, 1, NULL, NULL), (3, NULL, 'b', 0)",
                                NULL) == CR_OK &&
                   cr_conn_commit(c) == CR_OK,
               "setup rows: %s", cr_error_message(cr_conn_error(c)));
    cr_conn_close(c);
}

enum { MAX_EXPRS = 24, MAX_FROMS = 8, MAX_STMTS = 6, MAX_MADE = 64, MAX_OPS = 200 };

typedef struct vm {
    fuzz_input in;
    cr_expr *e[MAX_EXPRS];
    int ne;
    cr_expr *f[MAX_FROMS];      /* aliases, subqueries, CTEs */
    int nf;
    cr_stmt *s[MAX_STMTS];      /* the innermost last */
    int ns;
    cr_stmt *made[MAX_MADE];    /* every statement made, to free the roots */
    int nmade;
    int names;                  /* for unique subquery / CTE / alias names */
} vm;

static unsigned pick(vm *m, unsigned n) { return fuzz_byte(&m->in) % n; }

static cr_expr *column_expr(cr_column *c) { return (cr_expr *)(void *)c; }

static void push(vm *m, cr_expr *e)
{
    if (!e)
        return;
    if (m->ne == MAX_EXPRS)
        memmove(m->e, m->e + 1, sizeof m->e[0] * (MAX_EXPRS - 1)), m->ne--;
    m->e[m->ne++] = e;
}

/* The expression on top, or a column when there is none. */
static cr_expr *pop(vm *m)
{
    if (m->ne)
        return m->e[--m->ne];
    return column_expr(cols[pick(m, 10)]);
}

static void push_from(vm *m, cr_expr *f)
{
    if (f && m->nf < MAX_FROMS)
        m->f[m->nf++] = f;
}

/* A table or a FROM item. */
static const void *from_item(vm *m)
{
    unsigned i = pick(m, 2 + (unsigned)m->nf);
    return i < 2 ? (const void *)tables[i] : (const void *)m->f[i - 2];
}

static void push_stmt(vm *m, cr_stmt *q)
{
    if (!q)
        return;
    m->made[m->nmade++] = q;
    if (m->ns < MAX_STMTS)
        m->s[m->ns++] = q;
}

/* A bound text value: "zq", up to 12 bytes of the input, "qz". */
static cr_value text_value(vm *m, char *buf)
{
    size_t n = pick(m, 13);
    memcpy(buf, "zq", 2);
    for (size_t i = 0; i < n; i++)
        buf[2 + i] = (char)(fuzz_byte(&m->in) | 1);   /* no NUL inside */
    memcpy(buf + 2 + n, "qz", 3);
    return cr_val_text(buf);
}

static cr_value any_value(vm *m, char *buf)
{
    switch (pick(m, 9)) {
    case 0: return cr_val_int((int8_t)fuzz_byte(&m->in));
    case 1: return text_value(m, buf);
    case 2: return cr_val_double((int8_t)fuzz_byte(&m->in) / 4.0);
    case 3: return cr_val_bool(fuzz_byte(&m->in) & 1);
    case 4: return cr_val_null();
    case 5: return cr_val_datetime(2024, 1 + (int)pick(m, 12), 1 + (int)pick(m, 28), 3, 4, 5, 6);
    case 6: return cr_val_date(2024, 2, 29);
    case 7: return cr_val_blob("zq\0qz", 5);
    default: return cr_val_numeric("12.50");
    }
}

static const char *const func_names[] = {"coalesce", "lower", "upper", "abs", "max", "min",
                                         "sum", "avg", "length", "nullif", "random",
                                         "row_number", "rank", "ifnull", "a.", "..."};
static const char *const labels[] = {"l1", "l2", "id", "a", "x", "select", "l 1", "\"q\""};
static const char *const cnames[] = {"id", "a", "b", "x", "t1_id", "l1", "zz", "c"};

static void build_expr(vm *m, cr_stmt *q, unsigned op)
{
    char buf[32];
    switch (op) {
    case 0: push(m, column_expr(cols[pick(m, 10)])); break;
    case 1: push(m, cr_bind(q, any_value(m, buf))); break;
    case 2: {
        cr_expr *r = pop(m), *l = pop(m);
        push(m, cr_binary(q, (cr_operator)pick(m, CR_OP_NOT_ILIKE + 1), l, r));
        break;
    }
    case 3: {
        cr_expr *b = pop(m), *a = pop(m);
        if (pick(m, 2))
            push(m, cr_and(q, a, b));
        else
            push(m, cr_or(q, a, b));
        break;
    }
    case 4: {
        cr_expr *a = pop(m);
        switch (pick(m, 3)) {
        case 0: push(m, cr_not(q, a)); break;
        case 1: push(m, cr_is_null(q, a)); break;
        default: push(m, cr_is_not_null(q, a)); break;
        }
        break;
    }
    case 5: {
        cr_expr *a = pop(m);
        char bufs[4][32];
        cr_value vals[4];
        size_t n = pick(m, 5);
        for (size_t i = 0; i < n; i++)
            vals[i] = any_value(m, bufs[i]);
        push(m, pick(m, 2) ? cr_in_values(q, a, vals, n) : cr_not_in_values(q, a, vals, n));
        break;
    }
    case 6: {
        cr_expr *hi = pop(m), *lo = pop(m), *a = pop(m);
        push(m, cr_between_expr(q, a, lo, hi));
        break;
    }
    case 7: {
        cr_expr *a = pop(m);
        cr_value v = text_value(m, buf);
        switch (pick(m, 3)) {
        case 0: push(m, cr_contains(q, a, v.v.s.ptr)); break;
        case 1: push(m, cr_startswith(q, a, v.v.s.ptr)); break;
        default: push(m, cr_endswith(q, a, v.v.s.ptr)); break;
        }
        break;
    }
    case 8: {
        const char *name = func_names[pick(m, 16)];
        switch (pick(m, 3)) {
        case 0: push(m, cr_func0(q, name)); break;
        case 1: push(m, cr_func(q, name, pop(m))); break;
        default: {
            cr_expr *b = pop(m), *a = pop(m);
            push(m, cr_func(q, name, a, b));
            break;
        }
        }
        break;
    }
    case 9:
        switch (pick(m, 5)) {
        case 0: push(m, cr_count(q, pop(m))); break;
        case 1: push(m, cr_count_star(q)); break;
        case 2: push(m, cr_count_distinct(q, pop(m))); break;
        case 3: push(m, cr_length(q, pop(m))); break;
        default: push(m, cr_current_timestamp(q)); break;
        }
        break;
    case 10: {
        cr_expr *c = cr_case(q);
        unsigned n = 1 + pick(m, 2);
        for (unsigned i = 0; i < n; i++) {
            cr_expr *result = pop(m), *cond = pop(m);
            cr_case_when_expr(q, c, cond, result);
        }
        if (pick(m, 2))
            cr_case_else_expr(q, c, pop(m));
        push(m, c);
        break;
    }
    case 11: {
        static const cr_sqltype types[] = {CR_SQL_INTEGER, CR_SQL_STRING(10), CR_SQL_TEXT,
                                           CR_SQL_NUMERIC(10, 2), CR_SQL_DATETIME,
                                           CR_SQL_BOOLEAN, CR_SQL_DOUBLE, CR_SQL_DATE};
        push(m, cr_cast(q, pop(m), types[pick(m, 8)]));
        break;
    }
    case 12: push(m, cr_label(q, pop(m), labels[pick(m, 8)])); break;
    case 13: {
        cr_expr *w = cr_over(q, pop(m));
        if (pick(m, 2))
            cr_partition_by(q, w, pop(m));
        if (pick(m, 2))
            cr_window_order_by(q, w, pop(m));
        push(m, w);
        break;
    }
    case 14:
        switch (pick(m, 4)) {
        case 0: push(m, cr_null(q)); break;
        case 1: push(m, cr_true(q)); break;
        case 2: push(m, cr_false(q)); break;
        default: push(m, cr_literal(q, "1")); break;
        }
        break;
    case 15:
        if (m->nf)
            push(m, cr_c(q, m->f[pick(m, (unsigned)m->nf)], cnames[pick(m, 8)]));
        break;
    case 16: {
        cr_expr *a = pop(m);
        switch (pick(m, 4)) {
        case 0: push(m, cr_asc(q, a)); break;
        case 1: push(m, cr_desc(q, a)); break;
        case 2: push(m, cr_nulls_first(q, a)); break;
        default: push(m, cr_nulls_last(q, a)); break;
        }
        break;
    }
    case 17: push(m, cr_excluded(q, cols[pick(m, 10)])); break;
    }
}

static void build_clause(vm *m, cr_stmt *q, unsigned op)
{
    char name[16];
    switch (op) {
    case 0: cr_where(q, pop(m)); break;
    case 1: cr_having(q, pop(m)); break;
    case 2: cr_order_by(q, pop(m)); break;
    case 3: cr_group_by(q, pop(m)); break;
    case 4: cr_limit(q, (int8_t)fuzz_byte(&m->in)); break;
    case 5: cr_offset(q, (int8_t)fuzz_byte(&m->in)); break;
    case 6: cr_distinct(q); break;
    case 7: cr_columns(q, pop(m)); break;
    case 8: cr_select_from(q, from_item(m)); break;
    case 9: {
        const void *target = from_item(m);
        cr_expr *on = pick(m, 3) ? pop(m) : NULL;
        switch (pick(m, 3)) {
        case 0: cr_join(q, target, on); break;
        case 1: cr_outerjoin(q, target, on); break;
        default: cr_full_outerjoin(q, target, on); break;
        }
        break;
    }
    case 10: cr_set_expr(q, cols[pick(m, 10)], pop(m)); break;
    case 11: cr_next_row(q); break;
    case 12: cr_returning(q, pop(m)); break;
    case 13: {
        cr_column *c = cols[pick(m, 10)];
        if (pick(m, 2))
            cr_on_conflict_do_nothing(q, &c, 1);
        else
            cr_on_conflict_do_update(q, &c, 1);
        break;
    }
    case 14: cr_conflict_set_expr(q, cols[pick(m, 10)], pop(m)); break;
    case 15: cr_for_update(q, (int)pick(m, 8)); break;
    case 16:
        snprintf(name, sizeof name, "al%d", m->names++);
        push_from(m, cr_alias(q, tables[pick(m, 2)], name));
        break;
    case 17:
        switch (pick(m, 3)) {
        case 0: cr_correlate(q, from_item(m)); break;
        case 1: cr_correlate_except(q, from_item(m)); break;
        default: cr_correlate_items(q, (const void *const[]){NULL}); break;
        }
        break;
    case 18: cr_return_defaults(q); break;
    case 19: {
        cr_column *c[2] = {cols[pick(m, 10)], cols[pick(m, 10)]};
        cr_value v[4] = {cr_val_int(7), cr_val_null(), cr_val_int(8), cr_val_int(9)};
        cr_values_rows(q, c, 1 + pick(m, 2), v, 2);
        break;
    }
    }
}

static void new_statement(vm *m, unsigned op)
{
    cr_table *t = tables[pick(m, 2)];
    if (m->nmade == MAX_MADE)
        return;
    switch (op) {
    case 0: push_stmt(m, cr_select(t)); break;
    case 1: push_stmt(m, cr_select(column_expr(cols[pick(m, 10)]))); break;
    case 2: push_stmt(m, cr_select_new()); break;
    case 3: push_stmt(m, cr_insert(t)); break;
    case 4: push_stmt(m, cr_update(t)); break;
    default: push_stmt(m, cr_delete(t)); break;
    }
}

/* Close the innermost statement into the one around it. */
static void close_statement(vm *m, unsigned op)
{
    if (m->ns < 2 || m->nmade == MAX_MADE)   /* a compound is made here */
        return;
    cr_stmt *sub = m->s[--m->ns], *q = m->s[m->ns - 1];
    char name[16];
    switch (op) {
    case 0: push(m, cr_scalar_subquery(q, sub)); break;
    case 1: push(m, cr_exists(q, sub)); break;
    case 2: push(m, cr_in_select(q, pop(m), sub)); break;
    case 3: push(m, cr_not_in_select(q, pop(m), sub)); break;
    case 4:
        snprintf(name, sizeof name, "sq%d", m->names++);
        push_from(m, cr_subquery(q, sub, name));
        break;
    case 5:
        snprintf(name, sizeof name, "cte%d", m->names++);
        push_from(m, cr_cte(q, sub, name, pick(m, 2)));
        break;
    case 6: {
        cr_expr *cte = NULL;
        for (int i = m->nf - 1; i >= 0 && !cte; i--)
            if (m->f[i]->kind == CR_N_CTE)
                cte = m->f[i];
        cr_cte_union_all(q, cte ? cte : (m->nf ? m->f[0] : NULL), sub);
        break;
    }
    case 7: {
        cr_column *c[2] = {cols[pick(m, 10)], cols[pick(m, 10)]};
        cr_from_select(q, c, 1 + pick(m, 2), sub);
        break;
    }
    default: {
        /* A compound of the two innermost statements, in place of both. */
        cr_stmt *a = q, *b = sub, *u;
        m->ns--;
        switch (pick(m, 4)) {
        case 0: u = cr_union(a, b); break;
        case 1: u = cr_union_all(a, b); break;
        case 2: u = cr_intersect(a, b); break;
        default: u = cr_except(a, b); break;
        }
        push_stmt(m, u);
        break;
    }
    }
}

static bool is_syntax_error(const char *msg)
{
    return strstr(msg, "syntax error") || strstr(msg, "unrecognized token") ||
           strstr(msg, "incomplete input");
}

static char *compile(cr_stmt *q, const char *dialect, bool *ok)
{
    cr_compiled *c = cr_stmt_compile(q, dialect);
    *ok = c != NULL;
    if (!c) {
        FUZZ_CHECK(cr_stmt_error(q) != NULL, "compile for %s failed with no error",
                   dialect ? dialect : "generic");
        return NULL;
    }
    const char *sql = cr_compiled_sql(c);
    FUZZ_CHECK(sql, "no SQL");
    if (strstr(sql, "zq"))
        fuzz_fail("a bound value is in the SQL for %s: %s", dialect ? dialect : "generic", sql);
    for (size_t i = 0; i < cr_compiled_param_count(c); i++)
        FUZZ_CHECK(cr_compiled_param_name(c, i) && cr_compiled_param_value(c, i),
                   "parameter %zu of %s has no name or value", i, sql);
    char *copy = strdup(sql);
    cr_compiled_free(c);
    return copy;
}

static void run_root(cr_conn *conn, cr_stmt *q)
{
    bool ok_sqlite, ok;
    char *sqlite_sql = compile(q, "sqlite", &ok_sqlite);
    free(compile(q, "postgresql", &ok));
    free(compile(q, "mysql", &ok));
    free(compile(q, NULL, &ok));
    char *again = compile(q, "sqlite", &ok);
    FUZZ_CHECK(ok == ok_sqlite && (!ok || strcmp(again, sqlite_sql) == 0),
               "compiling for SQLite gave %s before the other dialects and %s after: %s / %s",
               ok_sqlite ? "SQL" : "an error", ok ? "SQL" : "an error",
               sqlite_sql ? sqlite_sql : cr_error_message(cr_stmt_error(q)),
               again ? again : cr_error_message(cr_stmt_error(q)));
    free(again);
    if (ok_sqlite) {
        cr_result *r = cr_conn_execute_stmt(conn, q);
        if (!r) {
            const cr_error *e = cr_conn_error(conn);
            const char *msg = e ? cr_error_message(e) : "(no error)";
            if (is_syntax_error(msg))
                fuzz_fail("SQL compiled for SQLite is a syntax error there (%s): %s", msg,
                          sqlite_sql);
            /* To review the other errors SQLite gives (running a corpus). */
            if (getenv("CRUCIBLE_FUZZ_SHOW_ERRORS"))
                fprintf(stderr, "sqlite error: %s\n  in: %s\n", msg, sqlite_sql);
        } else {
            for (int i = 0; i < 50 && cr_result_fetchone(r); i++)
                ;
            cr_result_free(r);
        }
    }
    free(sqlite_sql);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!engine)
        setup();
    vm m = {.in = {data, size}};
    for (int ops = 0; fuzz_more(&m.in) && ops < MAX_OPS; ops++) {
        unsigned op = fuzz_byte(&m.in);
        if (getenv("CRUCIBLE_FUZZ_TRACE"))   /* to read what an input does */
            fprintf(stderr, "op %u (%u) with %d statements, %d expressions\n", op % 64, op,
                    m.ns, m.ne);
        /* 0-17 expressions, 18-37 clauses, 38-43 new statements, 44-52 close. */
        if (op % 64 >= 38 && op % 64 < 44) {
            new_statement(&m, op % 64 - 38);
            continue;
        }
        if (!m.ns)
            push_stmt(&m, cr_select(t1.table));
        cr_stmt *q = m.s[m.ns - 1];
        op %= 64;
        if (op < 18)
            build_expr(&m, q, op);
        else if (op < 38)
            build_clause(&m, q, op - 18);
        else if (op < 53)
            close_statement(&m, op - 44);
        else
            build_expr(&m, q, op - 53);
    }

    cr_error *err = NULL;
    cr_conn *conn = cr_engine_connect(engine, &err);
    FUZZ_CHECK(conn, "connect: %s", cr_error_message(err));
    fuzz_limit_sqlite(conn);
    /* Roots first, all of them before any is freed (freeing one frees the
     * statements it adopted). */
    cr_stmt *roots[MAX_MADE];
    int nroots = 0;
    for (int i = 0; i < m.nmade; i++)
        if (!m.made[i]->parent)
            roots[nroots++] = m.made[i];
    for (int i = 0; i < nroots; i++)
        run_root(conn, roots[i]);
    cr_conn_close(conn);   /* rolls back what DML did */
    for (int i = 0; i < nroots; i++)
        cr_stmt_free(roots[i]);
    return 0;
}
