/* metadata.c — MetaData, Table, Column and constraints: declaring a schema and the rules SQLAlchemy applies to it. */
#include "schema/ddl.h"
#include "schema/schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- errors -------------------------------------------------------------- */

/* The first error is the one a program wants to see; later ones are often
 * its consequences (a column of a table that could not be created). */
static cr_status md_error(cr_metadata *md, cr_status cls, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static cr_status md_error(cr_metadata *md, cr_status cls, const char *fmt, ...)
{
    if (!md || md->err.cls != CR_OK)
        return cls;
    char msg[sizeof md->err.message];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return cr_error_set(&md->err, cls, "%s", msg);
}

static cr_status md_oom(cr_metadata *md)
{
    return md_error(md, CR_ERR_NO_MEMORY, "out of memory");
}

/* Make room for extra more pointers in the array *arrp (any T **) holding
 * n; false when out of memory. memcpy moves the pointer in and out so the
 * array's own type is never accessed as void **. */
static bool grow(void *arrp, size_t n, size_t *cap, size_t extra)
{
    if (n + extra <= *cap)
        return true;
    size_t ncap = *cap ? *cap * 2 : 8;
    while (ncap < n + extra)
        ncap *= 2;
    void *items;
    memcpy(&items, arrp, sizeof items);
    void *p = cr_realloc(items, ncap * sizeof(void *));
    if (!p)
        return false;
    memcpy(arrp, &p, sizeof p);
    *cap = ncap;
    return true;
}

/* ---- types --------------------------------------------------------------- */

int cr_sqltype_render(const cr_sqltype *type, char *buf, size_t size)
{
    if (!type || (!buf && size))
        return -1;
    cr_buf b;
    cr_buf_init(&b);
    cr_ddl_generic_type(&b, type);
    const char *s = cr_buf_cstr(&b);
    int n = snprintf(buf, size, "%s", s ? s : "");
    cr_buf_free(&b);
    return n;
}

static bool valid_type(cr_sqltype_kind k)
{
    return k > CR_SQLTYPE_NONE && k <= CR_SQLTYPE_ENUM;
}

static bool integer_type(cr_sqltype_kind k)
{
    return k == CR_SQLTYPE_INTEGER || k == CR_SQLTYPE_SMALLINT || k == CR_SQLTYPE_BIGINT;
}

/* ---- values the caller may free ------------------------------------------ */

static bool copy_value(cr_value *dst, const cr_value *src)
{
    *dst = *src;
    if (src->type == CR_TEXT || src->type == CR_NUMERIC) {
        char *p = cr_strndup(src->v.s.ptr ? src->v.s.ptr : "", src->v.s.len);
        if (!p) {
            dst->type = CR_NULL;
            return false;
        }
        dst->v.s.ptr = p;
    } else if (src->type == CR_BLOB) {
        /* One byte more than asked so that an empty blob still owns memory. */
        char *p = cr_malloc(src->v.blob.len + 1);
        if (!p) {
            dst->type = CR_NULL;
            return false;
        }
        if (src->v.blob.len)
            memcpy(p, src->v.blob.ptr, src->v.blob.len);
        dst->v.blob.ptr = p;
    }
    return true;
}

static void free_value(cr_value *v)
{
    if (v->type == CR_TEXT || v->type == CR_NUMERIC)
        cr_free((void *)v->v.s.ptr);
    else if (v->type == CR_BLOB)
        cr_free((void *)v->v.blob.ptr);
    v->type = CR_NULL;
}

/* Copy a string that may be NULL; false only when out of memory. */
static bool copy_str(char **dst, const char *src)
{
    *dst = NULL;
    if (!src)
        return true;
    *dst = cr_strdup(src);
    return *dst != NULL;
}

/* ---- freeing ------------------------------------------------------------- */

static void free_constraint(cr_constraint *c)
{
    if (!c)
        return;
    cr_free(c->name);
    cr_free(c->cols);
    cr_free(c->sqltext);
    if (c->ref_tables)
        for (size_t i = 0; i < c->ncols; i++)
            cr_free(c->ref_tables[i]);
    if (c->ref_columns)
        for (size_t i = 0; i < c->ncols; i++)
            cr_free(c->ref_columns[i]);
    cr_free(c->ref_tables);
    cr_free(c->ref_columns);
    cr_free(c->ondelete);
    cr_free(c->onupdate);
    cr_free(c);
}

static void free_enum_values(cr_sqltype *type)
{
    if (type->enum_values) {
        for (size_t i = 0; type->enum_values[i]; i++)
            cr_free((void *)type->enum_values[i]);
        cr_free((void *)type->enum_values);
    }
    cr_free((void *)type->enum_name);
    type->enum_values = NULL;
    type->enum_name = NULL;
}

static void free_column(cr_column *col)
{
    if (!col)
        return;
    cr_free(col->name);
    free_enum_values(&col->type);
    free_value(&col->default_value);
    free_value(&col->onupdate_value);
    cr_free(col->server_default);
    cr_free(col->comment);
    cr_free(col);
}

static void free_table(cr_table *t)
{
    if (!t)
        return;
    if (t->mapper_free)
        t->mapper_free(t->mapper);
    for (size_t i = 0; i < t->ncons; i++)
        free_constraint(t->constraints[i]);
    for (size_t i = 0; i < t->ncols; i++)
        free_column(t->cols[i]);
    cr_free(t->constraints);
    cr_free(t->cols);
    cr_free(t->pkcols);
    cr_free(t->name);
    cr_free(t);
}

/* ---- MetaData ------------------------------------------------------------ */

cr_metadata *cr_metadata_new(const cr_naming_convention *naming)
{
    cr_metadata *md = cr_calloc(1, sizeof *md);
    if (!md)
        return NULL;
    cr_error_init(&md->err);
    if (naming && !(copy_str((char **)&md->naming.ix, naming->ix) &&
                    copy_str((char **)&md->naming.uq, naming->uq) &&
                    copy_str((char **)&md->naming.ck, naming->ck) &&
                    copy_str((char **)&md->naming.fk, naming->fk) &&
                    copy_str((char **)&md->naming.pk, naming->pk))) {
        cr_metadata_free(md);
        return NULL;
    }
    return md;
}

void cr_metadata_free(cr_metadata *md)
{
    if (!md)
        return;
    for (size_t i = 0; i < md->ntables; i++)
        free_table(md->tables[i]);
    cr_free(md->tables);
    cr_free((void *)md->naming.ix);
    cr_free((void *)md->naming.uq);
    cr_free((void *)md->naming.ck);
    cr_free((void *)md->naming.fk);
    cr_free((void *)md->naming.pk);
    cr_error_clear(&md->err);
    cr_free(md);
}

static const cr_error null_metadata_error = {
    .cls = CR_ERR_ARGUMENT, .message = "metadata handle is NULL",
};

const cr_error *cr_metadata_error(const cr_metadata *md)
{
    if (!md)
        return &null_metadata_error;
    return md->err.cls != CR_OK ? &md->err : NULL;
}

size_t cr_metadata_table_count(const cr_metadata *md)
{
    return md ? md->ntables : 0;
}

cr_table *cr_metadata_table_at(const cr_metadata *md, size_t i)
{
    return md && i < md->ntables ? md->tables[i] : NULL;
}

cr_table *cr_metadata_table(const cr_metadata *md, const char *name)
{
    if (!md || !name)
        return NULL;
    for (size_t i = 0; i < md->ntables; i++)
        if (strcmp(md->tables[i]->name, name) == 0)
            return md->tables[i];
    return NULL;
}

/* Whether table a has a foreign key to table b (other than itself). */
static bool refers_to(const cr_table *a, const cr_table *b)
{
    if (a == b)
        return false;
    for (size_t i = 0; i < a->ncons; i++) {
        const cr_constraint *c = a->constraints[i];
        if (c->kind == CR_CONSTRAINT_FOREIGN_KEY && c->ncols > 0 &&
            strcmp(c->ref_tables[0], b->name) == 0)
            return true;
    }
    return false;
}

static int compare_table_names(const void *a, const void *b)
{
    return strcmp((*(cr_table *const *)a)->name, (*(cr_table *const *)b)->name);
}

/* Referred tables first, as SQLAlchemy's topological sort_as_subsets: each
 * round takes, in the given order, every table whose referred tables are
 * all placed. Tables in a cycle follow in the given order (SQLAlchemy warns
 * and does the same). tables is sorted in place; false when out of memory. */
bool cr_schema_sort_tables(cr_table **tables, size_t n)
{
    if (n < 2)
        return true;
    cr_table **todo = cr_malloc(n * sizeof *todo);
    bool *ready = cr_malloc(n * sizeof *ready);
    if (!todo || !ready) {
        cr_free(todo);
        cr_free(ready);
        return false;
    }
    memcpy(todo, tables, n * sizeof *todo);
    size_t ntodo = n, out = 0;
    while (ntodo > 0) {
        size_t taken = 0;
        for (size_t i = 0; i < ntodo; i++) {
            ready[i] = true;
            for (size_t j = 0; j < ntodo && ready[i]; j++)
                if (refers_to(todo[i], todo[j]))
                    ready[i] = false;
            taken += ready[i];
        }
        if (taken == 0) {
            for (size_t i = 0; i < ntodo; i++)
                tables[out++] = todo[i];
            break;
        }
        size_t keep = 0;
        for (size_t i = 0; i < ntodo; i++) {
            if (ready[i])
                tables[out++] = todo[i];
            else
                todo[keep++] = todo[i];
        }
        ntodo = keep;
    }
    cr_free(todo);
    cr_free(ready);
    return true;
}

size_t cr_metadata_sorted_tables(const cr_metadata *md, cr_table **out, size_t n)
{
    if (!md || md->ntables == 0)
        return 0;
    /* metadata.sorted_tables sorts by name first, then by dependency. */
    cr_table **all = cr_malloc(md->ntables * sizeof *all);
    if (!all)
        return 0;
    memcpy(all, md->tables, md->ntables * sizeof *all);
    qsort(all, md->ntables, sizeof *all, compare_table_names);
    size_t count = 0;
    if (cr_schema_sort_tables(all, md->ntables)) {
        count = md->ntables < n ? md->ntables : n;
        if (out)
            memcpy(out, all, count * sizeof *out);
    }
    cr_free(all);
    return count;
}

/* ---- naming conventions -------------------------------------------------- */

static const char *convention_for(const cr_metadata *md, cr_constraint_kind kind)
{
    switch (kind) {
    case CR_CONSTRAINT_PRIMARY_KEY: return md->naming.pk;
    case CR_CONSTRAINT_UNIQUE: return md->naming.uq;
    case CR_CONSTRAINT_CHECK: return md->naming.ck;
    case CR_CONSTRAINT_FOREIGN_KEY: return md->naming.fk;
    case CR_CONSTRAINT_INDEX: return md->naming.ix ? md->naming.ix : "ix_%(column_0_label)s";
    }
    return NULL;
}

/* One column token's value: attr is "name", "key" or "label". */
static void put_column_attr(cr_buf *b, const cr_table *t, const cr_column *col, const char *attr)
{
    if (strcmp(attr, "label") == 0) {
        cr_buf_puts(b, t->name);
        cr_buf_putc(b, '_');
    }
    cr_buf_puts(b, col->name);
}

/* Expand one %(token)s; false when the token is unknown or needs a name. */
static bool expand_token(cr_buf *b, const cr_table *t, const char *token, const char *name,
                         cr_column *const *cols, size_t ncols, char *const *ref_tables,
                         char *const *ref_columns, const char **why)
{
    if (strcmp(token, "table_name") == 0) {
        cr_buf_puts(b, t->name);
        return true;
    }
    if (strcmp(token, "constraint_name") == 0) {
        if (!name) {
            *why = "requires that the constraint is explicitly named";
            return false;
        }
        cr_buf_puts(b, name);
        return true;
    }
    if (strcmp(token, "referred_table_name") == 0) {
        if (ref_tables && ncols > 0)
            cr_buf_puts(b, ref_tables[0]);
        return true;
    }
    /* column_<i>_<attr>, column_0N_<attr>, column_0_N_<attr>, and the same
     * with referred_ in front (names only). */
    bool referred = strncmp(token, "referred_", 9) == 0;
    const char *p = token + (referred ? 9 : 0);
    if (strncmp(p, "column_", 7) != 0)
        goto unknown;
    p += 7;
    if (*p < '0' || *p > '9')
        goto unknown;
    size_t idx = 0;
    while (*p >= '0' && *p <= '9')
        idx = idx * 10 + (size_t)(*p++ - '0');
    const char *sep = NULL;
    if (strncmp(p, "N_", 2) == 0) {
        sep = "";
        p += 2;
    } else if (strncmp(p, "_N_", 3) == 0) {
        sep = "_";
        p += 3;
    } else if (*p == '_') {
        p++;
    } else {
        goto unknown;
    }
    if (referred ? strcmp(p, "name") != 0
                 : strcmp(p, "name") != 0 && strcmp(p, "key") != 0 && strcmp(p, "label") != 0)
        goto unknown;
    if (referred && !ref_columns)
        goto unknown;
    size_t from = sep ? 0 : idx, to = sep ? ncols : idx + 1;
    for (size_t i = from; i < to && i < ncols; i++) {
        if (sep && i > 0)
            cr_buf_puts(b, sep);
        if (referred)
            cr_buf_puts(b, ref_columns[i]);
        else
            put_column_attr(b, t, cols[i], p);
    }
    return true;
unknown:
    *why = "has an unknown token";
    return false;
}

/* The constraint's name: the convention's when there is one and the
 * constraint has no name or the pattern uses %(constraint_name)s, else its
 * own (SQLAlchemy's _constraint_name_for_table). *ok is false on error
 * (recorded on the metadata). */
static char *constraint_name(cr_table *t, cr_constraint_kind kind, const char *name,
                             cr_column *const *cols, size_t ncols, char *const *ref_tables,
                             char *const *ref_columns, bool *ok)
{
    *ok = true;
    const char *pattern = convention_for(t->md, kind);
    if (!pattern || (name && !strstr(pattern, "%(constraint_name)s"))) {
        char *copy = NULL;
        if (!copy_str(&copy, name)) {
            md_oom(t->md);
            *ok = false;
        }
        return copy;
    }
    cr_buf b;
    cr_buf_init(&b);
    for (const char *p = pattern; *p;) {
        if (p[0] == '%' && p[1] == '%') {
            cr_buf_putc(&b, '%');
            p += 2;
            continue;
        }
        if (p[0] == '%' && p[1] == '(') {
            const char *end = strstr(p + 2, ")s");
            if (end) {
                char token[64];
                size_t len = (size_t)(end - (p + 2));
                const char *why = "has an unknown token";
                bool good = len < sizeof token;
                if (good) {
                    memcpy(token, p + 2, len);
                    token[len] = '\0';
                    good = expand_token(&b, t, token, name, cols, ncols, ref_tables,
                                        ref_columns, &why);
                }
                if (!good) {
                    md_error(t->md, CR_ERR_INVALID_REQUEST,
                             "naming convention '%s' for a constraint of table '%s' %s",
                             pattern, t->name, why);
                    cr_buf_free(&b);
                    *ok = false;
                    return NULL;
                }
                p = end + 2;
                continue;
            }
        }
        cr_buf_putc(&b, *p++);
    }
    const char *s = cr_buf_cstr(&b);
    char *result = s ? cr_strdup(s) : NULL;
    cr_buf_free(&b);
    if (!result) {
        md_oom(t->md);
        *ok = false;
    }
    return result;
}

char *cr_schema_convention_name(const cr_table *t, cr_constraint_kind kind, const char *name,
                                cr_column *const *cols, size_t ncols, char *const *ref_tables,
                                char *const *ref_columns)
{
    bool ok;
    return constraint_name((cr_table *)t, kind, name, cols, ncols, ref_tables, ref_columns,
                           &ok);
}

/* ---- tables -------------------------------------------------------------- */

cr_table *cr_table_new(cr_metadata *md, const char *name)
{
    if (!md)
        return NULL;
    if (!name || !*name) {
        md_error(md, CR_ERR_ARGUMENT, "a table needs a name");
        return NULL;
    }
    if (cr_metadata_table(md, name)) {
        md_error(md, CR_ERR_INVALID_REQUEST, "table '%s' is already defined for this MetaData",
                 name);
        return NULL;
    }
    cr_table *t = cr_calloc(1, sizeof *t);
    if (t) {
        t->tag = CR_TAG_TABLE;
        t->md = md;
        t->name = cr_strdup(name);
    }
    if (!t || !t->name || !grow(&md->tables, md->ntables, &md->cap, 1)) {
        free_table(t);
        md_oom(md);
        return NULL;
    }
    md->tables[md->ntables++] = t;
    return t;
}

const char *cr_table_name(const cr_table *t) { return t ? t->name : NULL; }
cr_metadata *cr_table_metadata(const cr_table *t) { return t ? t->md : NULL; }
size_t cr_table_column_count(const cr_table *t) { return t ? t->ncols : 0; }

cr_column *cr_table_column_at(const cr_table *t, size_t i)
{
    return t && i < t->ncols ? t->cols[i] : NULL;
}

cr_column *cr_table_column(const cr_table *t, const char *name)
{
    if (!t || !name)
        return NULL;
    for (size_t i = 0; i < t->ncols; i++)
        if (strcmp(t->cols[i]->name, name) == 0)
            return t->cols[i];
    return NULL;
}

const char *cr_column_name(const cr_column *col) { return col ? col->name : NULL; }
cr_table *cr_column_table(const cr_column *col) { return col ? col->table : NULL; }
const cr_sqltype *cr_column_type(const cr_column *col) { return col ? &col->type : NULL; }
bool cr_column_primary_key(const cr_column *col) { return col && col->primary_key; }
bool cr_column_nullable(const cr_column *col) { return col && col->nullable; }

static bool resolve_nullable(cr_tristate declared, bool primary_key)
{
    return declared.value == CR_AUTO.value ? !primary_key : declared.value == CR_YES.value;
}

/* Split "table.column" or "schema.table.column" into table and column. */
static bool parse_ref(cr_table *t, const char *ref, char **table, char **column)
{
    *table = *column = NULL;
    const char *dot = ref ? strrchr(ref, '.') : NULL;
    if (!dot || dot == ref || !dot[1]) {
        md_error(t->md, CR_ERR_ARGUMENT,
                 "foreign key '%s' of table '%s' is not \"table.column\"", ref ? ref : "(null)",
                 t->name);
        return false;
    }
    const char *start = ref;
    for (const char *p = ref; p < dot; p++)
        if (*p == '.')
            start = p + 1;
    if (start == dot) {
        md_error(t->md, CR_ERR_ARGUMENT,
                 "foreign key '%s' of table '%s' is not \"table.column\"", ref, t->name);
        return false;
    }
    *table = cr_strndup(start, (size_t)(dot - start));
    *column = cr_strdup(dot + 1);
    if (!*table || !*column) {
        cr_free(*table);
        cr_free(*column);
        *table = *column = NULL;
        md_oom(t->md);
        return false;
    }
    return true;
}

/* A new constraint over n columns of t (copied), not yet attached. NULL on
 * error, recorded. The name goes through the naming convention. */
static cr_constraint *new_constraint(cr_table *t, cr_constraint_kind kind, const char *name,
                                     cr_column *const *cols, size_t n, const char *const *refs)
{
    cr_constraint *c = cr_calloc(1, sizeof *c);
    if (!c) {
        md_oom(t->md);
        return NULL;
    }
    c->kind = kind;
    c->ncols = n;
    if (n) {
        c->cols = cr_malloc(n * sizeof *c->cols);
        if (!c->cols)
            goto oom;
        memcpy(c->cols, cols, n * sizeof *c->cols);
    }
    if (refs) {
        c->ref_tables = cr_calloc(n, sizeof *c->ref_tables);
        c->ref_columns = cr_calloc(n, sizeof *c->ref_columns);
        if (!c->ref_tables || !c->ref_columns)
            goto oom;
        for (size_t i = 0; i < n; i++) {
            if (!parse_ref(t, refs[i], &c->ref_tables[i], &c->ref_columns[i]))
                goto fail;
            if (i > 0 && strcmp(c->ref_tables[i], c->ref_tables[0]) != 0) {
                md_error(t->md, CR_ERR_ARGUMENT,
                         "foreign key of table '%s' refers to two tables, '%s' and '%s'",
                         t->name, c->ref_tables[0], c->ref_tables[i]);
                goto fail;
            }
        }
    }
    bool ok;
    c->name = constraint_name(t, kind, name, c->cols, n, c->ref_tables, c->ref_columns, &ok);
    if (!ok)
        goto fail;
    return c;
oom:
    md_oom(t->md);
fail:
    free_constraint(c);
    return NULL;
}

/* Check that cols are n columns of t. */
static bool check_columns(cr_table *t, const char *what, cr_column *const *cols, size_t n)
{
    if (n == 0 || !cols) {
        md_error(t->md, CR_ERR_ARGUMENT, "%s of table '%s' has no columns", what, t->name);
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (!cols[i] || cols[i]->table != t) {
            md_error(t->md, CR_ERR_ARGUMENT, "%s of table '%s' names a column of another table%s%s",
                     what, t->name, cols[i] ? ": " : " (or NULL)", cols[i] ? cols[i]->name : "");
            return false;
        }
    }
    return true;
}

static cr_status attach(cr_table *t, cr_constraint *c)
{
    if (!grow(&t->constraints, t->ncons, &t->conscap, 1)) {
        free_constraint(c);
        return md_oom(t->md);
    }
    t->constraints[t->ncons++] = c;
    return CR_OK;
}

cr_column *cr_table_add_column(cr_table *t, const cr_column_def *def)
{
    if (!t)
        return NULL;
    cr_metadata *md = t->md;
    if (!def || !def->name || !*def->name) {
        md_error(md, CR_ERR_ARGUMENT, "a column of table '%s' has no name", t->name);
        return NULL;
    }
    const char *name = def->name;
    /* More than any backend allows (SQLite's limit is the highest); the
     * statement cache's keys count on it. */
    if (t->ncols >= 32767) {
        md_error(md, CR_ERR_ARGUMENT, "table '%s' has 32767 columns, the most there can be",
                 t->name);
        return NULL;
    }
    if (cr_table_column(t, name)) {
        md_error(md, CR_ERR_ARGUMENT, "duplicate column '%s' in table '%s'", name, t->name);
        return NULL;
    }
    char why[128];
    if (cr_value_check(&def->default_value, why, sizeof why) ||
        cr_value_check(&def->onupdate_value, why, sizeof why)) {
        md_error(md, CR_ERR_ARGUMENT, "default of column '%s.%s': %s", t->name, name, why);
        return NULL;
    }
    const cr_sqltype *type = &def->type;
    if (!valid_type(type->kind)) {
        md_error(md, CR_ERR_ARGUMENT, "column '%s.%s' has an unknown type (%d)", t->name, name,
                 (int)type->kind);
        return NULL;
    }
    if (type->length < 0 || type->precision < 0 || type->scale < 0) {
        md_error(md, CR_ERR_ARGUMENT, "column '%s.%s' has a negative length, precision or scale",
                 t->name, name);
        return NULL;
    }
    if (type->kind == CR_SQLTYPE_ENUM && (!type->enum_values || !type->enum_values[0])) {
        md_error(md, CR_ERR_ARGUMENT, "Enum column '%s.%s' has no values", t->name, name);
        return NULL;
    }
    if (def->autoincrement.value > CR_NO.value || def->nullable.value > CR_NO.value) {
        md_error(md, CR_ERR_ARGUMENT, "column '%s.%s': autoincrement and nullable must be "
                 "CR_AUTO, CR_YES or CR_NO", t->name, name);
        return NULL;
    }
    if (def->autoincrement.value == CR_YES.value && !integer_type(type->kind)) {
        md_error(md, CR_ERR_ARGUMENT,
                 "column type of '%s.%s' is not compatible with autoincrement=True", t->name,
                 name);
        return NULL;
    }

    cr_column *col = cr_calloc(1, sizeof *col);
    if (!col) {
        md_oom(md);
        return NULL;
    }
    col->base.tag = CR_TAG_EXPR;
    col->base.kind = CR_N_COLUMN;
    col->base.type = (uint8_t)type->kind;
    col->table = t;
    col->index = t->ncols;
    col->type = *type;
    col->type.enum_values = NULL;
    col->type.enum_name = NULL;
    col->primary_key = def->primary_key;
    col->autoincrement = def->autoincrement;
    col->nullable_declared = def->nullable;
    col->nullable = resolve_nullable(def->nullable, def->primary_key);
    col->unique = def->unique;
    col->indexed = def->index;
    col->default_fn = def->default_fn;
    col->onupdate_fn = def->onupdate_fn;
    bool ok = copy_str(&col->name, name) && copy_str(&col->server_default, def->server_default) &&
              copy_str(&col->comment, def->comment) &&
              copy_value(&col->default_value, &def->default_value) &&
              copy_value(&col->onupdate_value, &def->onupdate_value) &&
              copy_str((char **)&col->type.enum_name, type->enum_name);
    if (ok && type->kind == CR_SQLTYPE_ENUM) {
        size_t n = 0;
        while (type->enum_values[n])
            n++;
        const char **values = cr_calloc(n + 1, sizeof *values);
        col->type.enum_values = values;
        ok = values != NULL;
        for (size_t i = 0; ok && i < n; i++)
            ok = (values[i] = cr_strdup(type->enum_values[i])) != NULL;
    }
    if (!ok) {
        free_column(col);
        md_oom(md);
        return NULL;
    }

    /* Column(index=True) is an index (unique when unique=True too); else
     * Column(unique=True) a UNIQUE constraint — as Column._set_parent. The
     * foreign key comes after. */
    cr_constraint *pending[2] = {NULL, NULL};
    size_t npending = 0;
    cr_column *self[1] = {col};
    if (def->index) {
        pending[npending] = new_constraint(t, CR_CONSTRAINT_INDEX, NULL, self, 1, NULL);
        if (pending[npending])
            pending[npending++]->unique = def->unique;
        else
            ok = false;
    } else if (def->unique) {
        pending[npending] = new_constraint(t, CR_CONSTRAINT_UNIQUE, NULL, self, 1, NULL);
        ok = pending[npending++] != NULL;
    }
    if (ok && def->foreign_key) {
        const char *refs[1] = {def->foreign_key};
        cr_constraint *fk = new_constraint(t, CR_CONSTRAINT_FOREIGN_KEY, NULL, self, 1, refs);
        pending[npending++] = fk;
        ok = fk && copy_str(&fk->ondelete, def->fk_ondelete) &&
             copy_str(&fk->onupdate, def->fk_onupdate);
        if (fk && !ok)
            md_oom(md);
    }
    /* Room for everything first, so that a failure leaves the table as it was. */
    if (ok && !(grow(&t->cols, t->ncols, &t->cap, 1) &&
                grow(&t->constraints, t->ncons, &t->conscap, npending) &&
                (!def->primary_key || grow(&t->pkcols, t->npk, &t->pkcap, 1)))) {
        md_oom(md);
        ok = false;
    }
    if (!ok) {
        for (size_t i = 0; i < npending; i++)
            free_constraint(pending[i]);
        free_column(col);
        return NULL;
    }
    t->cols[t->ncols++] = col;
    for (size_t i = 0; i < npending; i++)
        t->constraints[t->ncons++] = pending[i];
    if (def->primary_key)
        t->pkcols[t->npk++] = col;
    return col;
}

cr_status cr_table_define(cr_metadata *md, const char *name, const cr_column_def *defs,
                          size_t n, cr_column **const *handles, cr_table **out)
{
    if (out)
        *out = NULL;
    for (size_t i = 0; handles && i < n; i++)
        if (handles[i])
            *handles[i] = NULL;
    if (!md)
        return CR_ERR_ARGUMENT;
    if (!defs && n > 0) {
        md_error(md, CR_ERR_ARGUMENT, "table '%s' is defined with %zu columns but no column "
                 "definitions (defs is NULL)", name ? name : "(null)", n);
        return CR_ERR_ARGUMENT;
    }
    cr_status before = md->err.cls;
    cr_table *t = cr_table_new(md, name);
    if (!t)
        return md->err.cls != CR_OK ? md->err.cls : CR_ERR_ARGUMENT;
    cr_status st = CR_OK;
    for (size_t i = 0; i < n; i++) {
        cr_column *col = cr_table_add_column(t, &defs[i]);
        if (!col && st == CR_OK)
            st = before == CR_OK && md->err.cls != CR_OK ? md->err.cls : CR_ERR_ARGUMENT;
        if (handles && handles[i])
            *handles[i] = col;
    }
    if (out)
        *out = t;
    return st;
}

/* ---- table-level constraints --------------------------------------------- */

cr_status cr_table_primary_key(cr_table *t, const char *name, cr_column *const *cols, size_t n)
{
    if (!t)
        return CR_ERR_ARGUMENT;
    if (!check_columns(t, "PRIMARY KEY", cols, n))
        return CR_ERR_ARGUMENT;
    cr_constraint *c = new_constraint(t, CR_CONSTRAINT_PRIMARY_KEY, name, cols, n, NULL);
    if (!c)
        return t->md->err.cls;
    /* One primary key: a new one replaces the old, as Table.append_constraint. */
    size_t old = t->ncons;
    for (size_t i = 0; i < t->ncons; i++)
        if (t->constraints[i]->kind == CR_CONSTRAINT_PRIMARY_KEY)
            old = i;
    if (old < t->ncons) {
        free_constraint(t->constraints[old]);
        t->constraints[old] = c;
    } else {
        cr_status st = attach(t, c);
        if (st != CR_OK)
            return st;
    }
    /* The constraint's columns are the key; the others no longer are. */
    for (size_t i = 0; i < t->ncols; i++) {
        cr_column *col = t->cols[i];
        bool in = false;
        for (size_t j = 0; j < n; j++)
            in = in || cols[j] == col;
        col->primary_key = in;
        col->nullable = resolve_nullable(col->nullable_declared, in);
    }
    return CR_OK;
}

cr_status cr_table_unique(cr_table *t, const char *name, cr_column *const *cols, size_t n)
{
    if (!t)
        return CR_ERR_ARGUMENT;
    if (!check_columns(t, "UNIQUE constraint", cols, n))
        return CR_ERR_ARGUMENT;
    cr_constraint *c = new_constraint(t, CR_CONSTRAINT_UNIQUE, name, cols, n, NULL);
    return c ? attach(t, c) : t->md->err.cls;
}

cr_status cr_table_check(cr_table *t, const char *name, const char *sqltext)
{
    if (!t)
        return CR_ERR_ARGUMENT;
    if (!sqltext || !*sqltext)
        return md_error(t->md, CR_ERR_ARGUMENT, "CHECK constraint of table '%s' has no text",
                        t->name);
    cr_constraint *c = new_constraint(t, CR_CONSTRAINT_CHECK, name, NULL, 0, NULL);
    if (!c)
        return t->md->err.cls;
    if (!copy_str(&c->sqltext, sqltext)) {
        free_constraint(c);
        return md_oom(t->md);
    }
    return attach(t, c);
}

cr_status cr_table_index(cr_table *t, const char *name, bool unique, cr_column *const *cols,
                         size_t n)
{
    if (!t)
        return CR_ERR_ARGUMENT;
    if (!check_columns(t, "index", cols, n))
        return CR_ERR_ARGUMENT;
    cr_constraint *c = new_constraint(t, CR_CONSTRAINT_INDEX, name, cols, n, NULL);
    if (!c)
        return t->md->err.cls;
    c->unique = unique;
    return attach(t, c);
}

cr_status cr_table_foreign_key(cr_table *t, const char *name, cr_column *const *cols, size_t n,
                               const char *const *refs, const char *ondelete,
                               const char *onupdate)
{
    if (!t)
        return CR_ERR_ARGUMENT;
    if (!check_columns(t, "FOREIGN KEY", cols, n))
        return CR_ERR_ARGUMENT;
    if (!refs)
        return md_error(t->md, CR_ERR_ARGUMENT, "FOREIGN KEY of table '%s' has no references",
                        t->name);
    cr_constraint *c = new_constraint(t, CR_CONSTRAINT_FOREIGN_KEY, name, cols, n, refs);
    if (!c)
        return t->md->err.cls;
    if (!copy_str(&c->ondelete, ondelete) || !copy_str(&c->onupdate, onupdate)) {
        free_constraint(c);
        return md_oom(t->md);
    }
    return attach(t, c);
}

/* ---- what the compilers ask ---------------------------------------------- */

size_t cr_table_pk(const cr_table *t, cr_column *const **cols)
{
    if (!t) {
        if (cols)
            *cols = NULL;
        return 0;
    }
    for (size_t i = 0; i < t->ncons; i++) {
        const cr_constraint *c = t->constraints[i];
        if (c->kind == CR_CONSTRAINT_PRIMARY_KEY) {
            if (cols)
                *cols = c->cols;
            return c->ncols;
        }
    }
    if (cols)
        *cols = t->pkcols;
    return t->npk;
}

static bool has_foreign_key(const cr_table *t, const cr_column *col)
{
    for (size_t i = 0; i < t->ncons; i++) {
        const cr_constraint *c = t->constraints[i];
        if (c->kind != CR_CONSTRAINT_FOREIGN_KEY)
            continue;
        for (size_t j = 0; j < c->ncols; j++)
            if (c->cols[j] == col)
                return true;
    }
    return false;
}

/* PrimaryKeyConstraint._autoincrement_column: only key columns qualify; in
 * "auto" mode an integer column with no default of its own and no foreign
 * key, when it is the whole key. */
cr_column *cr_table_autoincrement(const cr_table *t)
{
    cr_column *const *pk;
    size_t n = cr_table_pk(t, &pk);
    if (n == 1) {
        cr_column *col = pk[0];
        if (col->autoincrement.value == CR_YES.value)
            return col;
        if (col->autoincrement.value == CR_NO.value || !integer_type(col->type.kind))
            return NULL;
        if (col->default_value.type != CR_NULL || col->default_fn || col->server_default)
            return NULL;
        return has_foreign_key(t, col) ? NULL : col;
    }
    for (size_t i = 0; i < n; i++)
        if (pk[i]->autoincrement.value == CR_YES.value)
            return pk[i];
    return NULL;
}
