/* autogen.c — autogenerate: a program's cr_metadata compared with a live database through the Inspector, the differences as operations, and operations written back as revision text. */
#include "migrate/migrate.h"

#include "engine/engine.h"
#include "schema/ddl.h"
#include "schema/inspect.h"
#include "schema/schema.h"

#include <assert.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct oplist {
    cr_migrate_op *v;
    size_t n, cap;
} oplist;

/* The public diff and what backs it: every string and array is in the
 * arena, so the diff outlives the inspector and the metadata. */
typedef struct diff_impl {
    cr_migrate_diff pub;
    cr_arena arena;
    oplist up, down;        /* down holds each inverse in the order made;
                             * reversed once the comparison is done        */
    const char **notes;
    size_t nnotes, notecap;
} diff_impl;

/* One comparison's state. */
typedef struct ag {
    diff_impl *df;
    cr_conn *conn;
    cr_inspector *insp;
    const cr_dialect *d;
    const cr_metadata *md;
    const cr_migrate_compare_options *opts;     /* NULL: compare everything */
    cr_error *err;
} ag;

/* A table in both, and what the include filter left out of its comparison:
 * a flag beside each object of either side (NULL arrays when there is no
 * filter), decided once before the phases that visit the objects. */
typedef struct tpair {
    const cr_table *t;
    const cr_reflected_table *rt;
    bool *out_rcol, *out_rix, *out_ruq, *out_rfk;   /* by rt's arrays         */
    bool *out_mcol, *out_mcon;                      /* by t->cols, constraints */
} tpair;

/* ---- allocation ------------------------------------------------------------- */

static void *alloc(ag *a, size_t n)
{
    void *p = cr_arena_alloc(&a->df->arena, n ? n : 1);
    if (!p)
        cr_error_oom(a->err);
    else
        memset(p, 0, n ? n : 1);
    return p;
}

/* A copy in the diff's arena; NULL for NULL (and, with the error set, when
 * out of memory: callers check a->err->cls). */
static const char *str(ag *a, const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *c = alloc(a, n);
    if (c)
        memcpy(c, s, n);
    return c;
}

static const char *const *strs(ag *a, const char *const *v, size_t n)
{
    const char **c = alloc(a, n * sizeof *c);
    for (size_t i = 0; c && i < n; i++)
        c[i] = str(a, v[i]);
    return c;
}

static bool ok(const ag *a) { return a->err->cls == CR_OK; }

static bool push(ag *a, oplist *l, const cr_migrate_op *op)
{
    if (!ok(a))
        return false;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        cr_migrate_op *v = cr_realloc(l->v, cap * sizeof *v);
        if (!v) {
            cr_error_oom(a->err);
            return false;
        }
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = *op;
    return true;
}

static void note(ag *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(ag *a, const char *fmt, ...)
{
    if (!ok(a))
        return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    diff_impl *df = a->df;
    if (df->nnotes == df->notecap) {
        size_t cap = df->notecap ? df->notecap * 2 : 8;
        const char **v = cr_realloc(df->notes, cap * sizeof *v);
        if (!v) {
            cr_error_oom(a->err);
            return;
        }
        df->notes = v;
        df->notecap = cap;
    }
    const char *s = str(a, line);
    if (s)
        df->notes[df->nnotes++] = s;
}

/* ---- the include filter ------------------------------------------------------- */

/* Whether the program's include callback keeps an object (no callback:
 * everything is kept). */
static bool included(ag *a, cr_migrate_object_kind kind, const char *table, const char *name,
                     const char *const *cols, size_t ncols, bool in_database, bool in_metadata)
{
    if (!a->opts || !a->opts->include)
        return true;
    cr_migrate_object o = {kind, table, name, cols, ncols, in_database, in_metadata};
    return a->opts->include(a->opts->ctx, &o);
}

static bool left_out(const bool *flags, size_t i) { return flags && flags[i]; }

/* A metadata constraint's column names, for the callback (at most 64). */
static size_t md_col_names(const cr_constraint *k, const char **out)
{
    size_t n = k->ncols < 64 ? k->ncols : 64;
    for (size_t i = 0; i < n; i++)
        out[i] = k->cols[i]->name;
    return n;
}

/* ---- the metadata's side ------------------------------------------------------ */

static bool md_is_pk(const cr_table *t, const cr_column *c)
{
    cr_column *const *pk;
    size_t n = cr_table_pk(t, &pk);
    for (size_t i = 0; i < n; i++)
        if (pk[i] == c)
            return true;
    return false;
}

static void md_column(ag *a, const cr_table *t, const cr_column *c, cr_migrate_column *out)
{
    out->name = str(a, c->name);
    out->type = c->type;
    out->type.enum_values = NULL;   /* enums are not written (see type_text) */
    out->type.enum_name = str(a, c->type.enum_name);
    out->primary_key = md_is_pk(t, c);
    out->nullable = c->nullable && !out->primary_key;
    out->server_default = str(a, c->server_default);
}

static cr_migrate_constraint_kind md_kind(cr_constraint_kind k)
{
    switch (k) {
    case CR_CONSTRAINT_PRIMARY_KEY: return CR_MIGRATE_PRIMARY_KEY;
    case CR_CONSTRAINT_UNIQUE: return CR_MIGRATE_UNIQUE;
    case CR_CONSTRAINT_CHECK: return CR_MIGRATE_CHECK;
    case CR_CONSTRAINT_FOREIGN_KEY: return CR_MIGRATE_FOREIGN_KEY;
    case CR_CONSTRAINT_INDEX: break;
    }
    return CR_MIGRATE_INDEX;
}

static void md_constraint(ag *a, const cr_constraint *k, cr_migrate_constraint *out)
{
    out->kind = md_kind(k->kind);
    out->name = str(a, k->name);
    const char **cols = alloc(a, k->ncols * sizeof *cols);
    for (size_t i = 0; cols && i < k->ncols; i++)
        cols[i] = str(a, k->cols[i]->name);
    out->columns = cols;
    out->ncolumns = k->ncols;
    out->unique = k->unique;
    out->sqltext = str(a, k->sqltext);
    if (k->kind == CR_CONSTRAINT_FOREIGN_KEY && k->ncols) {
        out->referred_table = str(a, k->ref_tables[0]);
        out->referred_columns = strs(a, (const char *const *)k->ref_columns, k->ncols);
        out->ondelete = str(a, k->ondelete);
        out->onupdate = str(a, k->onupdate);
    }
}

/* ---- the database's side ------------------------------------------------------ */

static bool conn_failed(ag *a)
{
    cr_error_copy(a->err, cr_conn_error(a->conn));
    if (a->err->cls == CR_OK)
        cr_error_oom(a->err);
    return false;
}

static bool has_name(const cr_reflected_constraint *v, size_t n, const char *name)
{
    for (size_t i = 0; name && i < n; i++)
        if (v[i].name && strcmp(v[i].name, name) == 0)
            return true;
    return false;
}

static const cr_constraint *md_named(const cr_table *t, cr_constraint_kind kind, const char *name)
{
    for (size_t i = 0; name && i < t->ncons; i++)
        if (t->constraints[i]->kind == kind && t->constraints[i]->name &&
            strcmp(t->constraints[i]->name, name) == 0)
            return t->constraints[i];
    return NULL;
}

/* Whether a reflected index is one to compare: not the index a unique
 * constraint or a foreign key brings along (PostgreSQL and MySQL list
 * those among the indexes too) unless the metadata declares it, and not an
 * expression index (a NULL column), which Crucible cannot declare. */
static bool index_counts(const cr_table *t, const cr_reflected_table *rt,
                         const cr_reflected_constraint *ix)
{
    if (t && md_named(t, CR_CONSTRAINT_INDEX, ix->name))
        return true;
    if (has_name(rt->uniques, rt->nuniques, ix->name) || has_name(rt->fks, rt->nfks, ix->name))
        return false;
    for (size_t i = 0; i < ix->ncolumns; i++)
        if (!ix->columns[i])
            return false;
    return true;
}

/* Whether a reflected unique constraint is one to compare: MySQL reports a
 * unique index as a unique constraint too. */
static bool unique_counts(const cr_table *t, const cr_reflected_constraint *uq)
{
    return !(t && md_named(t, CR_CONSTRAINT_INDEX, uq->name));
}

static bool is_rpk(const cr_reflected_table *rt, const char *col)
{
    for (size_t i = 0; rt->pk && i < rt->pk->ncolumns; i++)
        if (strcmp(rt->pk->columns[i], col) == 0)
            return true;
    return false;
}

/* A reflected default, NULL when there is none to speak of: MariaDB says
 * "NULL" for a nullable column without one, and a generated key's
 * nextval(...) comes with its type. */
static const char *r_default(const cr_reflected_column *c)
{
    if (!c->default_sql || c->autoincrement || strcasecmp(c->default_sql, "NULL") == 0)
        return NULL;
    return c->default_sql;
}

static void r_column(ag *a, const cr_reflected_table *rt, const cr_reflected_column *c,
                     cr_migrate_column *out)
{
    out->name = str(a, c->name);
    out->type = c->type;
    out->type.enum_values = NULL;
    out->type.enum_name = str(a, c->type.enum_name);
    out->primary_key = is_rpk(rt, c->name);
    out->nullable = c->nullable && !out->primary_key;
    out->server_default = str(a, r_default(c));
}

static void r_constraint(ag *a, cr_migrate_constraint_kind kind,
                         const cr_reflected_constraint *k, cr_migrate_constraint *out)
{
    out->kind = kind;
    out->name = str(a, k->name);
    out->columns = strs(a, k->columns, k->ncolumns);
    out->ncolumns = k->ncolumns;
    out->unique = k->unique;
    if (kind == CR_MIGRATE_FOREIGN_KEY) {
        out->referred_table = str(a, k->referred_table);
        out->referred_columns = strs(a, k->referred_columns, k->ncolumns);
        out->ondelete = str(a, k->ondelete);
        out->onupdate = str(a, k->onupdate);
    }
}

/* ---- comparing values ----------------------------------------------------------- */

/* The metadata's type as this backend reflects it: spelt as its DDL spells
 * it, then read back as the Inspector reads types. Whatever the database
 * does to a type (BOOLEAN as TINYINT(1), JSON as LONGTEXT, FLOAT as REAL)
 * happens to both sides, so it is never reported as a change. */
static bool md_type_reflected(ag *a, const cr_column *c, cr_sqltype *out)
{
    cr_buf b;
    cr_buf_init(&b);
    a->d->ddl->column_type(&b, c, false);
    const char *text = cr_buf_cstr(&b);
    bool good = text && cr_reflect_parse_type(a->insp, text, out) == CR_OK;
    cr_buf_free(&b);
    if (!good)
        cr_error_oom(a->err);
    return good;
}

/* x the metadata's, y the database's. */
static bool same_type(const cr_sqltype *x, const cr_sqltype *y)
{
    /* A FLOAT the database keeps as double precision (PostgreSQL's FLOAT is
     * FLOAT(53)) is the same; the other way round is a change. */
    if (x->kind == CR_SQLTYPE_FLOAT && y->kind == CR_SQLTYPE_DOUBLE)
        return true;
    /* JSON a database keeps as text (MariaDB's JSON is LONGTEXT). */
    if (x->kind == CR_SQLTYPE_JSON && y->kind == CR_SQLTYPE_TEXT)
        return true;
    if (x->kind != y->kind)
        return false;
    switch (x->kind) {
    case CR_SQLTYPE_STRING: return x->length == y->length;
    case CR_SQLTYPE_NUMERIC: return x->precision == y->precision && x->scale == y->scale;
    case CR_SQLTYPE_DATETIME:
    case CR_SQLTYPE_TIME: return x->timezone == y->timezone;
    default: return true;
    }
}

/* A server default as comparable text: lower case and no spaces outside
 * quotes, casts (::type) and enclosing parentheses gone, the spellings of
 * now and of booleans made one, a quoted number unquoted. Empty for none. */
static void norm_default(const char *in, char *out, size_t size)
{
    size_t k = 0;
    char quote = 0;
    for (const char *p = in ? in : ""; *p && k + 1 < size; p++) {
        char c = *p;
        if (quote) {
            out[k++] = c;
            if (c == quote)
                quote = 0;
        } else if (c == '\'' || c == '"') {
            out[k++] = quote = c;
        } else if (c == ':' && p[1] == ':') {
            p += 2;
            int depth = 0;
            while (*p && (depth || isalnum((unsigned char)*p) || *p == '_' || *p == ' ' ||
                          *p == '(' || *p == '[' || *p == ']')) {
                depth += *p == '(';
                depth -= *p == ')' && depth;
                p++;
            }
            p--;
        } else if (!isspace((unsigned char)c)) {
            out[k++] = (char)tolower((unsigned char)c);
        }
    }
    out[k] = '\0';
    /* Enclosing parentheses: strip while the first one closes at the end. */
    while (k >= 2 && out[0] == '(' && out[k - 1] == ')') {
        int depth = 0;
        size_t i = 0;
        for (; i < k; i++) {
            depth += out[i] == '(';
            depth -= out[i] == ')';
            if (depth == 0)
                break;
        }
        if (i != k - 1)
            break;
        memmove(out, out + 1, k - 2);
        out[k -= 2] = '\0';
    }
    /* now(), current_timestamp(), current_timestamp(6) (MariaDB's, with
     * the column's fractional digits) are all current_timestamp. */
    static const char *const nows[] = {"now(", "current_timestamp("};
    for (size_t i = 0; i < CR_ARRAY_LEN(nows); i++) {
        size_t n = strlen(nows[i]);
        if (k > n && strncmp(out, nows[i], n) == 0 &&
            strspn(out + n, "0123456789") == k - n - 1 && out[k - 1] == ')') {
            snprintf(out, size, "current_timestamp");
            return;
        }
    }
    static const char *const same[][2] = {
        {"true", "1"}, {"false", "0"}, {"'t'", "1"}, {"'f'", "0"}, {"null", ""},
    };
    for (size_t i = 0; i < CR_ARRAY_LEN(same); i++)
        if (strcmp(out, same[i][0]) == 0) {
            snprintf(out, size, "%s", same[i][1]);
            return;
        }
    /* A number, quoted or not, as its value: '0.00', 0.0000 and 0 are one. */
    const char *num = out;
    size_t len = k;
    if (k >= 3 && out[0] == '\'' && out[k - 1] == '\'')
        num = out + 1, len = k - 2;
    size_t digits = 0;
    for (size_t i = 0; i < len; i++)
        digits += isdigit((unsigned char)num[i]) != 0;
    if (len && digits && strspn(num, "0123456789.+-e") >= len) {
        char tmp[64];
        snprintf(tmp, sizeof tmp, "%.*s", (int)len, num);
        char *end;
        double v = strtod(tmp, &end);
        if (*end == '\0')
            snprintf(out, size, "%.17g", v);
    }
}

static bool same_default(const char *x, const char *y)
{
    char nx[512], ny[512];
    norm_default(x, nx, sizeof nx);
    norm_default(y, ny, sizeof ny);
    return strcmp(nx, ny) == 0;
}

/* "a,b" of a constraint's columns, or its foreign key's whole target. */
static void signature(char *out, size_t size, const char *const *cols, size_t n,
                      const char *rtable, const char *const *rcols, const char *ondelete,
                      const char *onupdate)
{
    assert(size > 0);
    size_t k = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && k < size; i++)
        k += (size_t)snprintf(out + k, size - k, "%s%s", i ? "," : "", cols[i]);
    if (rtable) {
        for (size_t i = 0; i < n && k < size; i++)
            k += (size_t)snprintf(out + k, size - k, "%s%s.%s", i ? "," : ">", rtable, rcols[i]);
        /* NO ACTION is what no action says. */
        const char *acts[2] = {ondelete, onupdate};
        for (size_t i = 0; i < 2 && k < size; i++) {
            const char *act = acts[i] && strcasecmp(acts[i], "NO ACTION") != 0 ? acts[i] : "";
            k += (size_t)snprintf(out + k, size - k, "|%s", act);
        }
    }
    if (k >= size)
        out[size - 1] = '\0';
    for (char *p = out; *p; p++)
        *p = (char)tolower((unsigned char)*p);
}

static void md_signature(const cr_constraint *k, char *out, size_t size)
{
    const char *cols[64];
    size_t n = md_col_names(k, cols);
    signature(out, size, cols, n, k->kind == CR_CONSTRAINT_FOREIGN_KEY ? k->ref_tables[0] : NULL,
              (const char *const *)k->ref_columns, k->ondelete, k->onupdate);
}

static void r_signature(const cr_reflected_constraint *k, bool fk, char *out, size_t size)
{
    signature(out, size, k->columns, k->ncolumns, fk ? k->referred_table : NULL,
              k->referred_columns, k->ondelete, k->onupdate);
}

/* A name for a constraint the metadata leaves unnamed, for the operation
 * that adds it on its own (the syntax names every constraint it adds). */
static const char *made_name(ag *a, const char *prefix, const char *table, const char *col)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s_%s_%s", prefix, table, col);
    return str(a, buf);
}

/* ---- operations for one table ----------------------------------------------------- */

/* An operation on one constraint, and its inverse. */
static void constraint_op(ag *a, bool add, const char *table, const cr_migrate_constraint *k)
{
    cr_migrate_constraint *kc = alloc(a, sizeof *kc);
    if (!kc)
        return;
    *kc = *k;
    cr_migrate_op add_op = {.kind = CR_MIGRATE_ADD_CONSTRAINT, .table = str(a, table),
                            .constraints = kc, .nconstraints = 1};
    cr_migrate_op drop_op = add_op;
    drop_op.kind = CR_MIGRATE_DROP_CONSTRAINT;
    push(a, &a->df->up, add ? &add_op : &drop_op);
    push(a, &a->df->down, add ? &drop_op : &add_op);
}

static void create_table_ops(ag *a, const cr_table *t)
{
    cr_migrate_op op = {.kind = CR_MIGRATE_CREATE_TABLE, .table = str(a, t->name)};
    cr_migrate_column *cols = alloc(a, t->ncols * sizeof *cols);
    cr_migrate_constraint *cons = alloc(a, t->ncons * sizeof *cons);
    if (!cols || !cons)
        return;
    for (size_t i = 0; i < t->ncols; i++)
        md_column(a, t, t->cols[i], &cols[i]);
    op.columns = cols;
    op.ncolumns = t->ncols;
    /* The primary key goes with its columns; indexes are operations of
     * their own after the table. */
    for (size_t i = 0; i < t->ncons; i++)
        if (t->constraints[i]->kind != CR_CONSTRAINT_INDEX &&
            t->constraints[i]->kind != CR_CONSTRAINT_PRIMARY_KEY)
            md_constraint(a, t->constraints[i], &cons[op.nconstraints++]);
    op.constraints = cons;
    cr_migrate_op drop = {.kind = CR_MIGRATE_DROP_TABLE, .table = op.table};
    push(a, &a->df->up, &op);
    push(a, &a->df->down, &drop);
    for (size_t i = 0; i < t->ncons; i++) {
        const cr_constraint *ix = t->constraints[i];
        const char *names[64];
        if (ix->kind == CR_CONSTRAINT_INDEX &&
            included(a, CR_MIGRATE_OBJECT_INDEX, t->name, ix->name, names,
                     md_col_names(ix, names), false, true)) {
            cr_migrate_constraint *k = alloc(a, sizeof *k);
            if (!k)
                return;
            md_constraint(a, ix, k);
            cr_migrate_op op_ix = {.kind = CR_MIGRATE_ADD_CONSTRAINT, .table = op.table,
                                   .constraints = k, .nconstraints = 1};
            push(a, &a->df->up, &op_ix);   /* undone by the drop_table */
        }
    }
}

/* A table the metadata does not have: drop it, and recreate it as reflected
 * in the downgrade (pushed backwards: the down list is reversed). */
static void drop_table_ops(ag *a, const cr_reflected_table *rt)
{
    cr_migrate_op create = {.kind = CR_MIGRATE_CREATE_TABLE, .table = str(a, rt->name)};
    cr_migrate_column *cols = alloc(a, rt->ncolumns * sizeof *cols);
    cr_migrate_constraint *cons = alloc(a, (rt->nfks + rt->nuniques) * sizeof *cons);
    if (!cols || !cons)
        return;
    for (size_t i = 0; i < rt->ncolumns; i++)
        r_column(a, rt, &rt->columns[i], &cols[i]);
    create.columns = cols;
    create.ncolumns = rt->ncolumns;
    for (size_t i = 0; i < rt->nuniques; i++)
        if (unique_counts(NULL, &rt->uniques[i]))
            r_constraint(a, CR_MIGRATE_UNIQUE, &rt->uniques[i], &cons[create.nconstraints++]);
    for (size_t i = 0; i < rt->nfks; i++)
        r_constraint(a, CR_MIGRATE_FOREIGN_KEY, &rt->fks[i], &cons[create.nconstraints++]);
    create.constraints = cons;
    for (size_t i = rt->nindexes; i-- > 0;) {
        const cr_reflected_constraint *ix = &rt->indexes[i];
        if (!index_counts(NULL, rt, ix) ||
            !included(a, CR_MIGRATE_OBJECT_INDEX, rt->name, ix->name, ix->columns,
                      ix->ncolumns, true, false))
            continue;
        cr_migrate_constraint *k = alloc(a, sizeof *k);
        if (!k)
            return;
        r_constraint(a, CR_MIGRATE_INDEX, ix, k);
        cr_migrate_op op_ix = {.kind = CR_MIGRATE_ADD_CONSTRAINT, .table = create.table,
                               .constraints = k, .nconstraints = 1};
        push(a, &a->df->down, &op_ix);
    }
    cr_migrate_op drop = {.kind = CR_MIGRATE_DROP_TABLE, .table = create.table};
    push(a, &a->df->up, &drop);
    push(a, &a->df->down, &create);
    note(a, "table %s: the downgrade makes it again as the Inspector reflects it (columns, "
         "keys, unique constraints, indexes): add its check constraints by hand, if it had "
         "any", rt->name);
}

/* The phases of an existing table's comparison, run over every table in
 * turn: foreign keys are dropped before anything else changes and added
 * after everything else, so that the columns and keys they need exist. */
enum { PHASE_DROP_FKS, PHASE_BODY, PHASE_ADD_FKS };

/* Where the metadata's table has a constraint of kind with signature sig
 * among its constraints; t->ncons when it has none. */
static size_t md_find(const cr_table *t, cr_constraint_kind kind, const char *sig)
{
    char other[1024];
    for (size_t j = 0; j < t->ncons; j++)
        if (t->constraints[j]->kind == kind) {
            md_signature(t->constraints[j], other, sizeof other);
            if (strcmp(sig, other) == 0)
                return j;
        }
    return t->ncons;
}

static bool r_has(const cr_reflected_constraint *v, size_t n, bool fk, const char *sig)
{
    char other[1024];
    for (size_t i = 0; i < n; i++) {
        r_signature(&v[i], fk, other, sizeof other);
        if (strcmp(sig, other) == 0)
            return true;
    }
    return false;
}

/* Unique constraints or foreign keys (kind), matched by what they
 * constrain and refer to, not by name: the database names what the
 * metadata leaves unnamed. drop: those the metadata lacks; add: those the
 * database lacks. */
static void compare_keys(ag *a, const tpair *p, cr_constraint_kind kind, bool drop, bool add)
{
    const cr_table *t = p->t;
    const cr_reflected_table *rt = p->rt;
    bool fk = kind == CR_CONSTRAINT_FOREIGN_KEY;
    const cr_reflected_constraint *rk = fk ? rt->fks : rt->uniques;
    size_t nrk = fk ? rt->nfks : rt->nuniques;
    const bool *out_r = fk ? p->out_rfk : p->out_ruq;
    char sig[1024];
    for (size_t i = 0; drop && i < nrk; i++) {
        r_signature(&rk[i], fk, sig, sizeof sig);
        if ((!fk && !unique_counts(t, &rk[i])) || md_find(t, kind, sig) < t->ncons ||
            left_out(out_r, i))
            continue;
        if (!rk[i].name) {
            note(a, "table %s: %s (%s) is not in the metadata, but the database gives it no "
                 "name to drop it by", t->name, fk ? "foreign key" : "unique constraint", sig);
            continue;
        }
        cr_migrate_constraint k = {0};
        r_constraint(a, fk ? CR_MIGRATE_FOREIGN_KEY : CR_MIGRATE_UNIQUE, &rk[i], &k);
        constraint_op(a, false, t->name, &k);
    }
    for (size_t j = 0; add && j < t->ncons; j++) {
        const cr_constraint *mk = t->constraints[j];
        if (mk->kind != kind || left_out(p->out_mcon, j))
            continue;
        md_signature(mk, sig, sizeof sig);
        if (r_has(rk, nrk, fk, sig))
            continue;
        cr_migrate_constraint k = {0};
        md_constraint(a, mk, &k);
        if (!k.name)
            k.name = made_name(a, fk ? "fk" : "uq", t->name, mk->cols[0]->name);
        constraint_op(a, true, t->name, &k);
    }
}

/* Indexes by name; one whose columns or uniqueness changed is dropped and
 * made again. */
static void compare_indexes(ag *a, const tpair *p, bool add)
{
    const cr_table *t = p->t;
    const cr_reflected_table *rt = p->rt;
    char sig[1024], other[1024];
    for (size_t i = 0; i < rt->nindexes; i++) {
        const cr_reflected_constraint *ix = &rt->indexes[i];
        if (!index_counts(t, rt, ix) || left_out(p->out_rix, i))
            continue;
        const cr_constraint *mk = md_named(t, CR_CONSTRAINT_INDEX, ix->name);
        bool same = false;
        if (mk) {
            r_signature(ix, false, sig, sizeof sig);
            md_signature(mk, other, sizeof other);
            same = strcmp(sig, other) == 0 && mk->unique == ix->unique;
        }
        if (same)
            continue;
        cr_migrate_constraint k = {0};
        if (add && mk) {
            md_constraint(a, mk, &k);
            constraint_op(a, true, t->name, &k);
        } else if (!add) {
            r_constraint(a, CR_MIGRATE_INDEX, ix, &k);
            constraint_op(a, false, t->name, &k);
        }
    }
    for (size_t j = 0; add && j < t->ncons; j++) {
        const cr_constraint *mk = t->constraints[j];
        if (mk->kind != CR_CONSTRAINT_INDEX || has_name(rt->indexes, rt->nindexes, mk->name) ||
            left_out(p->out_mcon, j))
            continue;
        cr_migrate_constraint k = {0};
        md_constraint(a, mk, &k);
        constraint_op(a, true, t->name, &k);
    }
}

static const cr_reflected_column *r_find(const cr_reflected_table *rt, const char *name)
{
    for (size_t i = 0; i < rt->ncolumns; i++)
        if (strcmp(rt->columns[i].name, name) == 0)
            return &rt->columns[i];
    return NULL;
}

/* One column in both: its type, nullability and default, as one
 * alter_column and its inverse. */
static void compare_column(ag *a, const cr_table *t, const cr_column *mc,
                           const cr_reflected_column *rc)
{
    cr_migrate_op up = {.kind = CR_MIGRATE_ALTER_COLUMN, .table = str(a, t->name),
                        .name = str(a, mc->name)};
    cr_migrate_op down = up;
    bool changed = false;
    cr_sqltype mt;
    if (!md_type_reflected(a, mc, &mt))
        return;
    if (rc->type.kind == CR_SQLTYPE_NONE) {
        note(a, "table %s: column %s has type %s, which Crucible cannot compare", t->name,
             mc->name, rc->type_name ? rc->type_name : "(unknown)");
    } else if (!same_type(&mt, &rc->type)) {
        cr_sqltype *nt = alloc(a, sizeof *nt), *ot = alloc(a, sizeof *ot);
        if (!nt || !ot)
            return;
        *nt = mc->type;
        *ot = rc->type;
        nt->enum_values = ot->enum_values = NULL;
        up.new_type = nt;
        down.new_type = ot;
        changed = true;
    }
    bool pk = md_is_pk(t, mc);
    if (!pk && mc->nullable != rc->nullable) {
        up.new_nullable = mc->nullable ? CR_YES : CR_NO;
        down.new_nullable = rc->nullable ? CR_YES : CR_NO;
        changed = true;
    }
    bool generated = rc->autoincrement || cr_table_autoincrement(t) == mc;
    if (!generated && !same_default(mc->server_default, r_default(rc))) {
        up.set_default = down.set_default = true;
        up.new_default = str(a, mc->server_default);
        down.new_default = str(a, r_default(rc));
        changed = true;
    }
    if (changed) {
        push(a, &a->df->up, &up);
        push(a, &a->df->down, &down);
    }
}

static void compare_columns(ag *a, const tpair *p)
{
    const cr_table *t = p->t;
    const cr_reflected_table *rt = p->rt;
    char added[512] = "", dropped[512] = "";
    for (size_t i = 0; i < t->ncols; i++) {
        const cr_column *mc = t->cols[i];
        const cr_reflected_column *rc = r_find(rt, mc->name);
        if (left_out(p->out_mcol, i))
            continue;
        if (rc) {
            compare_column(a, t, mc, rc);
            continue;
        }
        cr_migrate_column *c = alloc(a, sizeof *c);
        if (!c)
            return;
        md_column(a, t, mc, c);
        cr_migrate_op add = {.kind = CR_MIGRATE_ADD_COLUMN, .table = str(a, t->name),
                             .columns = c, .ncolumns = 1};
        cr_migrate_op drop = {.kind = CR_MIGRATE_DROP_COLUMN, .table = add.table,
                              .name = c->name};
        push(a, &a->df->up, &add);
        push(a, &a->df->down, &drop);
        size_t k = strlen(added);
        snprintf(added + k, sizeof added - k, "%s%s", k ? ", " : "", mc->name);
    }
    for (size_t i = 0; i < rt->ncolumns; i++) {
        const cr_reflected_column *rc = &rt->columns[i];
        if (cr_table_column(t, rc->name) || left_out(p->out_rcol, i))
            continue;
        cr_migrate_column *c = alloc(a, sizeof *c);
        if (!c)
            return;
        r_column(a, rt, rc, c);
        cr_migrate_op drop = {.kind = CR_MIGRATE_DROP_COLUMN, .table = str(a, t->name),
                              .name = c->name};
        cr_migrate_op add = {.kind = CR_MIGRATE_ADD_COLUMN, .table = drop.table, .columns = c,
                             .ncolumns = 1};
        push(a, &a->df->up, &drop);
        push(a, &a->df->down, &add);
        size_t k = strlen(dropped);
        snprintf(dropped + k, sizeof dropped - k, "%s%s", k ? ", " : "", rc->name);
    }
    if (*added && *dropped)
        note(a, "table %s: column(s) %s dropped and %s added: if that is a rename, write "
             "alter_column %s OLD rename to NEW in place of the drop_column and add_column "
             "(the values are lost otherwise)", t->name, dropped, added, t->name);
}

static void compare_table(ag *a, const tpair *p, int phase)
{
    switch (phase) {
    case PHASE_DROP_FKS:
        compare_keys(a, p, CR_CONSTRAINT_FOREIGN_KEY, true, false);
        break;
    case PHASE_BODY:
        compare_indexes(a, p, false);
        compare_keys(a, p, CR_CONSTRAINT_UNIQUE, true, true);
        compare_columns(a, p);
        compare_indexes(a, p, true);
        break;
    default:
        compare_keys(a, p, CR_CONSTRAINT_FOREIGN_KEY, false, true);
        break;
    }
}

/* ---- the whole comparison ------------------------------------------------------- */

static bool ignored(const char *table)
{
    return strcmp(table, CR_MIGRATE_VERSION_TABLE) == 0 || strncmp(table, "sqlite_", 7) == 0;
}

/* Whether some other table still to be dropped refers to table i. */
static bool referred_by_rest(const cr_reflected_table *rts, const bool *pending, size_t n,
                             size_t i)
{
    for (size_t j = 0; j < n; j++)
        for (size_t k = 0; pending[j] && j != i && k < rts[j].nfks; k++)
            if (strcmp(rts[j].fks[k].referred_table, rts[i].name) == 0)
                return true;
    return false;
}

/* The reflected table of that name, or NULL. */
static const cr_reflected_table *r_table(const cr_reflected_table *rts, size_t n,
                                         const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(rts[i].name, name) == 0)
            return &rts[i];
    return NULL;
}

/* Unique constraints or foreign keys of a table in both: each asked about
 * once, a pair matched by signature (as compare_keys matches them) as one. */
static void decide_keys(ag *a, tpair *p, cr_constraint_kind kind)
{
    const cr_table *t = p->t;
    bool fk = kind == CR_CONSTRAINT_FOREIGN_KEY;
    cr_migrate_object_kind what = fk ? CR_MIGRATE_OBJECT_FOREIGN_KEY : CR_MIGRATE_OBJECT_UNIQUE;
    const cr_reflected_constraint *rk = fk ? p->rt->fks : p->rt->uniques;
    size_t nrk = fk ? p->rt->nfks : p->rt->nuniques;
    bool *out_r = fk ? p->out_rfk : p->out_ruq;
    char sig[1024];
    const char *names[64];
    for (size_t i = 0; i < nrk; i++) {
        if (!fk && !unique_counts(t, &rk[i]))
            continue;
        r_signature(&rk[i], fk, sig, sizeof sig);
        size_t j = md_find(t, kind, sig);
        bool both = j < t->ncons;
        const char *name = rk[i].name ? rk[i].name : both ? t->constraints[j]->name : NULL;
        out_r[i] = !included(a, what, t->name, name, rk[i].columns, rk[i].ncolumns, true, both);
        if (both)
            p->out_mcon[j] = out_r[i];
    }
    for (size_t j = 0; j < t->ncons; j++) {
        const cr_constraint *mk = t->constraints[j];
        if (mk->kind != kind)
            continue;
        md_signature(mk, sig, sizeof sig);
        if (!r_has(rk, nrk, fk, sig))
            p->out_mcon[j] = !included(a, what, t->name, mk->name, names,
                                       md_col_names(mk, names), false, true);
    }
}

/* Ask the include callback about every column, index and constraint of a
 * table in both, once each, before the phases visit them (some twice). */
static bool decide(ag *a, tpair *p)
{
    if (!a->opts || !a->opts->include)
        return true;
    const cr_table *t = p->t;
    const cr_reflected_table *rt = p->rt;
    size_t n = rt->ncolumns + rt->nindexes + rt->nuniques + rt->nfks + t->ncols + t->ncons;
    bool *flags = cr_calloc(n ? n : 1, sizeof *flags);
    if (!flags) {
        cr_error_oom(a->err);
        return false;
    }
    p->out_rcol = flags;
    p->out_rix = p->out_rcol + rt->ncolumns;
    p->out_ruq = p->out_rix + rt->nindexes;
    p->out_rfk = p->out_ruq + rt->nuniques;
    p->out_mcol = p->out_rfk + rt->nfks;
    p->out_mcon = p->out_mcol + t->ncols;
    for (size_t i = 0; i < t->ncols; i++) {
        const cr_reflected_column *rc = r_find(rt, t->cols[i]->name);
        p->out_mcol[i] = !included(a, CR_MIGRATE_OBJECT_COLUMN, t->name, t->cols[i]->name,
                                   NULL, 0, rc != NULL, true);
        if (rc)
            p->out_rcol[rc - rt->columns] = p->out_mcol[i];
    }
    for (size_t i = 0; i < rt->ncolumns; i++)
        if (!cr_table_column(t, rt->columns[i].name))
            p->out_rcol[i] = !included(a, CR_MIGRATE_OBJECT_COLUMN, t->name,
                                       rt->columns[i].name, NULL, 0, true, false);
    /* Indexes by name, as compare_indexes matches them. */
    const char *names[64];
    for (size_t i = 0; i < rt->nindexes; i++) {
        const cr_reflected_constraint *ix = &rt->indexes[i];
        if (!index_counts(t, rt, ix))
            continue;
        const cr_constraint *mk = md_named(t, CR_CONSTRAINT_INDEX, ix->name);
        p->out_rix[i] = !included(a, CR_MIGRATE_OBJECT_INDEX, t->name, ix->name, ix->columns,
                                  ix->ncolumns, true, mk != NULL);
        for (size_t j = 0; mk && j < t->ncons; j++)
            if (t->constraints[j] == mk)
                p->out_mcon[j] = p->out_rix[i];
    }
    for (size_t j = 0; j < t->ncons; j++) {
        const cr_constraint *mk = t->constraints[j];
        if (mk->kind == CR_CONSTRAINT_INDEX && !has_name(rt->indexes, rt->nindexes, mk->name))
            p->out_mcon[j] = !included(a, CR_MIGRATE_OBJECT_INDEX, t->name, mk->name, names,
                                       md_col_names(mk, names), false, true);
    }
    decide_keys(a, p, CR_CONSTRAINT_UNIQUE);
    decide_keys(a, p, CR_CONSTRAINT_FOREIGN_KEY);
    return true;
}

/* The get_tables filter: which of the database's tables to read and
 * compare, asked once per name. */
static bool table_wanted(void *ctx, const char *table)
{
    ag *a = ctx;
    if (ignored(table))
        return false;
    bool in_metadata = cr_metadata_table(a->md, table) != NULL;
    if (a->opts && a->opts->metadata_tables_only && !in_metadata)
        return false;
    return included(a, CR_MIGRATE_OBJECT_TABLE, table, NULL, NULL, 0, true, in_metadata);
}

static int compare_names(const void *x, const void *y)
{
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

static void compare_all(ag *a)
{
    /* Every name too, to tell a table the filter left out from one that is
     * not there (as which the metadata's would be created). */
    const char *const *names;
    size_t nnames;
    const cr_reflected_table *rts;
    size_t nr;
    if (cr_inspector_get_table_names(a->insp, &names, &nnames) != CR_OK ||
        cr_inspector_get_tables(a->insp, table_wanted, a, &rts, &nr) != CR_OK) {
        conn_failed(a);
        return;
    }
    bool *pending = cr_calloc(nr ? nr : 1, sizeof *pending);
    size_t ntables = cr_metadata_table_count(a->md);
    cr_table **sorted = cr_calloc(ntables ? ntables : 1, sizeof *sorted);
    tpair *pairs = cr_calloc(ntables ? ntables : 1, sizeof *pairs);
    size_t npairs = 0;
    if (!pending || !sorted || !pairs) {
        cr_error_oom(a->err);
        goto done;
    }
    cr_metadata_sorted_tables(a->md, sorted, ntables);
    /* New tables, referred tables first; those in both paired. */
    char added[512] = "", dropped[512] = "";
    for (size_t i = 0; i < ntables; i++) {
        const char *name = sorted[i]->name;
        if (bsearch(&name, names, nnames, sizeof *names, compare_names)) {
            const cr_reflected_table *rt = r_table(rts, nr, name);
            if (rt) {
                pairs[npairs] = (tpair){.t = sorted[i], .rt = rt};
                if (!decide(a, &pairs[npairs++]))
                    goto done;
            }
            continue;
        }
        if (!included(a, CR_MIGRATE_OBJECT_TABLE, name, NULL, NULL, 0, false, true))
            continue;
        create_table_ops(a, sorted[i]);
        size_t k = strlen(added);
        snprintf(added + k, sizeof added - k, "%s%s", k ? ", " : "", name);
    }
    for (int phase = PHASE_DROP_FKS; phase <= PHASE_ADD_FKS; phase++)
        for (size_t i = 0; i < npairs; i++)
            compare_table(a, &pairs[i], phase);
    /* Tables to drop, referring tables first. */
    size_t left = 0;
    for (size_t j = 0; j < nr; j++) {
        pending[j] = !cr_metadata_table(a->md, rts[j].name);
        left += pending[j];
    }
    while (left && ok(a)) {
        size_t pick = nr;
        for (size_t j = 0; pick == nr && j < nr; j++)
            if (pending[j] && !referred_by_rest(rts, pending, nr, j))
                pick = j;
        for (size_t j = 0; pick == nr && j < nr; j++)   /* a cycle */
            if (pending[j])
                pick = j;
        drop_table_ops(a, &rts[pick]);
        pending[pick] = false;
        left--;
        size_t k = strlen(dropped);
        snprintf(dropped + k, sizeof dropped - k, "%s%s", k ? ", " : "", rts[pick].name);
    }
    if (*added && *dropped)
        note(a, "table(s) %s dropped and %s added: if that is a rename, write rename_table "
             "OLD to NEW in place of the drop_table and create_table (the rows are lost "
             "otherwise)", dropped, added);
done:
    for (size_t i = 0; pairs && i < npairs; i++)
        cr_free(pairs[i].out_rcol);
    cr_free(pairs);
    cr_free(pending);
    cr_free(sorted);
}

void cr_migrate_diff_free(cr_migrate_diff *diff)
{
    if (!diff)
        return;
    diff_impl *df = (diff_impl *)diff;
    cr_free(df->up.v);
    cr_free(df->down.v);
    cr_free(df->notes);
    cr_arena_free(&df->arena);
    cr_free(df);
}

static cr_status give_error(cr_error *e, cr_error **err)
{
    cr_status st = e->cls;
    if (err)
        *err = st == CR_OK ? NULL : cr_error_dup(e);
    cr_error_clear(e);
    return st;
}

/* cr_migrate_compare and cr_migrate_compare_opts; fn names the call in errors. */
static cr_status compare(const char *fn, cr_engine *engine, const cr_metadata *metadata,
                         const cr_migrate_compare_options *opts, cr_migrate_diff **out,
                         cr_error **err)
{
    cr_error e;
    cr_error_init(&e);
    if (out)
        *out = NULL;
    if (!engine || !metadata || !out) {
        cr_error_set(&e, CR_ERR_ARGUMENT, "%s: the %s is NULL", fn,
                     !engine ? "engine" : !metadata ? "metadata" : "output pointer");
        return give_error(&e, err);
    }
    if (cr_metadata_error(metadata)) {
        cr_error_set(&e, CR_ERR_ARGUMENT, "%s: the metadata has an error: %s", fn,
                     cr_error_message(cr_metadata_error(metadata)));
        return give_error(&e, err);
    }
    const cr_dialect *d = cr_dialect_find(cr_engine_backend(engine));
    diff_impl *df = cr_calloc(1, sizeof *df);
    if (!df || !d) {
        cr_free(df);
        cr_error_set(&e, df ? CR_ERR_NOT_SUPPORTED : CR_ERR_NO_MEMORY, "%s: %s", fn,
                     df ? "no dialect for the engine's backend" : "out of memory");
        return give_error(&e, err);
    }
    cr_arena_init(&df->arena, 4096);
    ag a = {df, NULL, NULL, d, metadata, opts, &e};
    cr_error *ce = NULL;
    a.conn = cr_engine_connect(engine, &ce);
    if (!a.conn) {
        if (ce)
            cr_error_copy(&e, ce);
        else
            cr_error_oom(&e);
        cr_error_free(ce);
    } else if (!(a.insp = cr_inspect(a.conn))) {
        conn_failed(&a);
    } else {
        compare_all(&a);
    }
    cr_inspector_free(a.insp);
    if (a.conn) {
        cr_conn_rollback(a.conn);
        cr_conn_close(a.conn);
    }
    if (e.cls != CR_OK) {
        cr_migrate_diff_free(&df->pub);
        return give_error(&e, err);
    }
    /* The inverses were made in the upgrade's order: undo newest first. */
    for (size_t i = 0, j = df->down.n; i < j / 2; i++) {
        cr_migrate_op tmp = df->down.v[i];
        df->down.v[i] = df->down.v[j - 1 - i];
        df->down.v[j - 1 - i] = tmp;
    }
    df->pub.upgrade = df->up.v;
    df->pub.nupgrade = df->up.n;
    df->pub.downgrade = df->down.v;
    df->pub.ndowngrade = df->down.n;
    df->pub.notes = df->notes;
    df->pub.nnotes = df->nnotes;
    *out = &df->pub;
    return give_error(&e, err);
}

cr_status cr_migrate_compare(cr_engine *engine, const cr_metadata *metadata,
                             cr_migrate_diff **out, cr_error **err)
{
    return compare("cr_migrate_compare", engine, metadata, NULL, out, err);
}

cr_status cr_migrate_compare_opts(cr_engine *engine, const cr_metadata *metadata,
                                  const cr_migrate_compare_options *opts,
                                  cr_migrate_diff **out, cr_error **err)
{
    return compare("cr_migrate_compare_opts", engine, metadata, opts, out, err);
}

/* ---- operations as revision text ------------------------------------------------ */

/* A name as the syntax reads it: a word, unless it is one of the syntax's
 * own words where a name may stand, or is no word at all: "quoted". */
static void put_name(cr_buf *b, const char *name)
{
    static const char *const words[] = {"check", "constraint", "foreign", "on", "primary",
                                        "references", "to", "unique"};
    bool word = (isalpha((unsigned char)name[0]) || name[0] == '_');
    for (const char *p = name; word && *p; p++)
        word = isalnum((unsigned char)*p) || *p == '_';
    for (size_t i = 0; word && i < CR_ARRAY_LEN(words); i++)
        word = strcasecmp(name, words[i]) != 0;
    if (word) {
        cr_buf_puts(b, name);
        return;
    }
    cr_buf_putc(b, '"');
    for (const char *p = name; *p; p++) {
        if (*p == '"')
            cr_buf_putc(b, '"');
        cr_buf_putc(b, *p);
    }
    cr_buf_putc(b, '"');
}

static void put_names(cr_buf *b, const char *const *names, size_t n)
{
    cr_buf_puts(b, "(");
    for (size_t i = 0; i < n; i++) {
        if (i)
            cr_buf_puts(b, ", ");
        put_name(b, names[i]);
    }
    cr_buf_puts(b, ")");
}

/* SQL text on one line: a revision's line ends an operation. */
static void put_sql(cr_buf *b, const char *sql)
{
    for (const char *p = sql; *p; p++)
        cr_buf_putc(b, *p == '\n' || *p == '\r' || *p == '\t' ? ' ' : *p);
}

static bool type_text(cr_buf *b, const cr_sqltype *t)
{
    switch (t->kind) {
    case CR_SQLTYPE_INTEGER: cr_buf_puts(b, "integer"); return true;
    case CR_SQLTYPE_SMALLINT: cr_buf_puts(b, "smallint"); return true;
    case CR_SQLTYPE_BIGINT: cr_buf_puts(b, "bigint"); return true;
    case CR_SQLTYPE_STRING:
        if (t->length)
            cr_buf_printf(b, "varchar(%d)", t->length);
        else
            cr_buf_puts(b, "varchar");
        return true;
    case CR_SQLTYPE_TEXT: cr_buf_puts(b, "text"); return true;
    case CR_SQLTYPE_BOOLEAN: cr_buf_puts(b, "boolean"); return true;
    case CR_SQLTYPE_FLOAT: cr_buf_puts(b, "float"); return true;
    case CR_SQLTYPE_DOUBLE: cr_buf_puts(b, "double"); return true;
    case CR_SQLTYPE_NUMERIC:
        if (t->precision && t->scale)
            cr_buf_printf(b, "numeric(%d, %d)", t->precision, t->scale);
        else if (t->precision)
            cr_buf_printf(b, "numeric(%d)", t->precision);
        else
            cr_buf_puts(b, "numeric");
        return true;
    case CR_SQLTYPE_DATE: cr_buf_puts(b, "date"); return true;
    case CR_SQLTYPE_TIME:
        cr_buf_puts(b, "time");
        return !t->timezone;
    case CR_SQLTYPE_DATETIME:
        cr_buf_puts(b, t->timezone ? "datetime with time zone" : "datetime");
        return true;
    case CR_SQLTYPE_BINARY: cr_buf_puts(b, "blob"); return true;
    case CR_SQLTYPE_JSON: cr_buf_puts(b, "json"); return true;
    case CR_SQLTYPE_UUID: cr_buf_puts(b, "uuid"); return true;
    case CR_SQLTYPE_ENUM:
    case CR_SQLTYPE_NONE: break;
    }
    return false;
}

/* A default as the syntax reads it: a number, a 'string' or a word as it
 * is, anything else in parentheses. */
static void put_default(cr_buf *b, const char *sql)
{
    size_t n = strlen(sql);
    const char *p = sql;
    bool plain = false;
    if (*p == '\'') {
        for (p++; *p; p++)
            if (*p == '\'' && *++p != '\'')
                break;
        plain = !*p && n >= 2 && sql[n - 1] == '\'';
    } else if (isdigit((unsigned char)*p) || ((*p == '-' || *p == '+') && isdigit((unsigned char)p[1]))) {
        for (p++; isdigit((unsigned char)*p) || *p == '.'; p++)
            ;
        plain = !*p;
    } else if (isalpha((unsigned char)*p) || *p == '_') {
        while (isalnum((unsigned char)*p) || *p == '_')
            p++;
        plain = !*p;
    }
    bool wrapped = false;
    if (!plain && sql[0] == '(') {
        int depth = 0;
        size_t i = 0;
        for (; i < n; i++) {
            depth += sql[i] == '(';
            depth -= sql[i] == ')';
            if (depth == 0)
                break;
        }
        wrapped = i == n - 1;
    }
    if (!plain && !wrapped)
        cr_buf_putc(b, '(');
    put_sql(b, sql);
    if (!plain && !wrapped)
        cr_buf_putc(b, ')');
}

static bool column_text(cr_buf *b, const char *table, const cr_migrate_column *c, cr_error *e)
{
    put_name(b, c->name);
    cr_buf_putc(b, ' ');
    if (!type_text(b, &c->type))
        return cr_error_set(e, CR_ERR_NOT_SUPPORTED, "column %s.%s: its type cannot be written "
                            "in a revision (an enum or a time with time zone): write it by "
                            "hand with execute", table, c->name), false;
    if (c->primary_key)
        cr_buf_puts(b, " primary key");
    else if (!c->nullable)
        cr_buf_puts(b, " not null");
    if (c->server_default) {
        cr_buf_puts(b, " default ");
        put_default(b, c->server_default);
    }
    return true;
}

static void references_text(cr_buf *b, const cr_migrate_constraint *k)
{
    cr_buf_puts(b, " references ");
    put_name(b, k->referred_table);
    cr_buf_putc(b, ' ');
    put_names(b, k->referred_columns, k->ncolumns);
    if (k->ondelete)
        cr_buf_printf(b, " on delete %s", k->ondelete);
    if (k->onupdate)
        cr_buf_printf(b, " on update %s", k->onupdate);
}

/* A constraint inside create_table. */
static void table_constraint_text(cr_buf *b, const cr_migrate_constraint *k)
{
    if (k->name) {
        cr_buf_puts(b, "constraint ");
        put_name(b, k->name);
        cr_buf_putc(b, ' ');
    }
    switch (k->kind) {
    case CR_MIGRATE_PRIMARY_KEY: cr_buf_puts(b, "primary key "); break;
    case CR_MIGRATE_UNIQUE: cr_buf_puts(b, "unique "); break;
    case CR_MIGRATE_CHECK:
        cr_buf_puts(b, "check (");
        put_sql(b, k->sqltext);
        cr_buf_puts(b, ")");
        return;
    case CR_MIGRATE_FOREIGN_KEY: cr_buf_puts(b, "foreign key "); break;
    case CR_MIGRATE_INDEX: break;
    }
    put_names(b, k->columns, k->ncolumns);
    if (k->kind == CR_MIGRATE_FOREIGN_KEY)
        references_text(b, k);
}

static const char *const constraint_word[] = {
    [CR_MIGRATE_PRIMARY_KEY] = "primary_key", [CR_MIGRATE_UNIQUE] = "unique",
    [CR_MIGRATE_CHECK] = "check", [CR_MIGRATE_FOREIGN_KEY] = "foreign_key",
    [CR_MIGRATE_INDEX] = "index",
};

static bool constraint_op_text(cr_buf *b, const cr_migrate_op *op, cr_error *e)
{
    const cr_migrate_constraint *k = op->constraints;
    bool drop = op->kind == CR_MIGRATE_DROP_CONSTRAINT;
    if (!k || op->nconstraints != 1 || !k->name || k->kind == CR_MIGRATE_PRIMARY_KEY)
        return cr_error_set(e, CR_ERR_NOT_SUPPORTED, "a %s of table %s without a name (or of a "
                            "primary key) cannot be written in a revision",
                            drop ? "drop" : "create", op->table), false;
    cr_buf_printf(b, "%s_%s ", drop ? "drop" : "create", constraint_word[k->kind]);
    put_name(b, k->name);
    cr_buf_puts(b, " on ");
    put_name(b, op->table);
    if (drop)
        return true;
    cr_buf_putc(b, ' ');
    if (k->kind == CR_MIGRATE_CHECK) {
        cr_buf_putc(b, '(');
        put_sql(b, k->sqltext);
        cr_buf_putc(b, ')');
        return true;
    }
    put_names(b, k->columns, k->ncolumns);
    if (k->kind == CR_MIGRATE_INDEX) {
        if (k->unique)
            cr_buf_puts(b, " unique");
        if (op->concurrently)
            cr_buf_puts(b, " concurrently");
    }
    if (k->kind == CR_MIGRATE_FOREIGN_KEY)
        references_text(b, k);
    return true;
}

static bool alter_text(cr_buf *b, const cr_migrate_op *op, cr_error *e)
{
    cr_buf_puts(b, "alter_column ");
    put_name(b, op->table);
    cr_buf_putc(b, ' ');
    put_name(b, op->name);
    if (op->new_type) {
        cr_buf_puts(b, " type ");
        if (!type_text(b, op->new_type))
            return cr_error_set(e, CR_ERR_NOT_SUPPORTED, "column %s.%s: its new type cannot be "
                                "written in a revision", op->table, op->name), false;
        if (op->type_using) {
            cr_buf_puts(b, " using (");
            put_sql(b, op->type_using);
            cr_buf_putc(b, ')');
        }
    }
    if (op->new_nullable.value != CR_AUTO.value)
        cr_buf_puts(b, op->new_nullable.value == CR_YES.value ? " null" : " not null");
    if (op->set_default && op->new_default) {
        cr_buf_puts(b, " default ");
        put_default(b, op->new_default);
    } else if (op->set_default) {
        cr_buf_puts(b, " drop default");
    }
    if (op->new_name) {
        cr_buf_puts(b, " rename to ");
        put_name(b, op->new_name);
    }
    return true;
}

static bool op_text(cr_buf *b, const cr_migrate_op *op, cr_error *e)
{
    switch (op->kind) {
    case CR_MIGRATE_CREATE_TABLE:
        cr_buf_puts(b, "create_table ");
        put_name(b, op->table);
        cr_buf_puts(b, " (");
        for (size_t i = 0; i < op->ncolumns; i++) {
            cr_buf_puts(b, i ? ",\n    " : "\n    ");
            if (!column_text(b, op->table, &op->columns[i], e))
                return false;
        }
        for (size_t i = 0; i < op->nconstraints; i++) {
            cr_buf_puts(b, ",\n    ");
            table_constraint_text(b, &op->constraints[i]);
        }
        cr_buf_puts(b, ")");
        return true;
    case CR_MIGRATE_DROP_TABLE:
        cr_buf_puts(b, "drop_table ");
        put_name(b, op->table);
        return true;
    case CR_MIGRATE_RENAME_TABLE:
        cr_buf_puts(b, "rename_table ");
        put_name(b, op->table);
        cr_buf_puts(b, " to ");
        put_name(b, op->new_name);
        return true;
    case CR_MIGRATE_ADD_COLUMN:
        cr_buf_puts(b, "add_column ");
        put_name(b, op->table);
        cr_buf_putc(b, ' ');
        if (op->ncolumns != 1 || !column_text(b, op->table, op->columns, e))
            return e->cls != CR_OK ? false
                                   : (cr_error_set(e, CR_ERR_ARGUMENT, "add_column on %s "
                                                   "without one column", op->table), false);
        for (size_t i = 0; i < op->nconstraints; i++) {
            const cr_migrate_constraint *k = &op->constraints[i];
            if (k->kind == CR_MIGRATE_UNIQUE)
                cr_buf_puts(b, " unique");
            else if (k->kind == CR_MIGRATE_FOREIGN_KEY)
                references_text(b, k);
        }
        return true;
    case CR_MIGRATE_DROP_COLUMN:
        cr_buf_puts(b, "drop_column ");
        put_name(b, op->table);
        cr_buf_putc(b, ' ');
        put_name(b, op->name);
        return true;
    case CR_MIGRATE_ALTER_COLUMN:
        return alter_text(b, op, e);
    case CR_MIGRATE_ADD_CONSTRAINT:
    case CR_MIGRATE_DROP_CONSTRAINT:
        return constraint_op_text(b, op, e);
    case CR_MIGRATE_EXECUTE:
        cr_buf_puts(b, "execute ");
        put_sql(b, op->sql);
        return true;
    }
    return cr_error_set(e, CR_ERR_ARGUMENT, "unknown operation kind %d", (int)op->kind), false;
}

cr_status cr_migrate_ops_text(const cr_migrate_op *ops, size_t n, char **out, cr_error **err)
{
    cr_error e;
    cr_error_init(&e);
    if (out)
        *out = NULL;
    if ((!ops && n) || !out) {
        cr_error_set(&e, CR_ERR_ARGUMENT, "cr_migrate_ops_text: the %s is NULL",
                     out ? "operations array" : "output pointer");
        return give_error(&e, err);
    }
    cr_buf b;
    cr_buf_init(&b);
    for (size_t i = 0; i < n && e.cls == CR_OK; i++) {
        if (op_text(&b, &ops[i], &e))
            cr_buf_putc(&b, '\n');
    }
    const char *text = cr_buf_cstr(&b);
    /* free()-able for the caller, whatever allocator the library uses. */
    if (e.cls == CR_OK && (!text || !(*out = strdup(text))))
        cr_error_oom(&e);
    cr_buf_free(&b);
    return give_error(&e, err);
}
