/* codegen.c — `crucible inspect` and `crucible codegen`: a live schema listed, and declared in C. */
#include "codegen.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---- table selection ----------------------------------------------------- */

/* Whether name is an item of the comma-separated list. */
static bool in_list(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && strncmp(p, name, n) == 0)
            return true;
        p += len + (end != NULL);
    }
    return false;
}

bool tool_table_wanted(const tool_tables *sel, const char *name)
{
    if (sel->only && !in_list(sel->only, name))
        return false;
    return !(sel->exclude && in_list(sel->exclude, name));
}

/* ---- the schema as the Inspector sees it -------------------------------- */

/* The cr_inspector_get_tables filter of a selection. */
static bool wanted(void *sel, const char *name)
{
    return tool_table_wanted(sel, name);
}

static void put_names(FILE *out, const char *const *names, size_t n)
{
    fputc('(', out);
    for (size_t i = 0; i < n; i++)
        fprintf(out, "%s%s", i ? ", " : "", names[i]);
    fputc(')', out);
}

static void inspect_table(FILE *out, const cr_reflected_table *t)
{
    fprintf(out, "table %s\n", t->name);
    for (size_t i = 0; i < t->ncolumns; i++) {
        const cr_reflected_column *c = &t->columns[i];
        char type[128];
        cr_sqltype_render(&c->type, type, sizeof type);
        fprintf(out, "  column %s %s (%s)%s%s", c->name, c->type_name ? c->type_name : "?",
                type, c->nullable ? "" : " NOT NULL", c->autoincrement ? " autoincrement" : "");
        if (c->default_sql)
            fprintf(out, " default %s", c->default_sql);
        if (c->comment)
            fprintf(out, " comment '%s'", c->comment);
        fputc('\n', out);
    }
    if (t->pk && t->pk->ncolumns) {
        fputs("  primary key ", out);
        put_names(out, t->pk->columns, t->pk->ncolumns);
        fputc('\n', out);
    }
    for (size_t i = 0; i < t->nfks; i++) {
        const cr_reflected_constraint *fk = &t->fks[i];
        fprintf(out, "  foreign key %s ", fk->name ? fk->name : "-");
        put_names(out, fk->columns, fk->ncolumns);
        fprintf(out, " references %s ", fk->referred_table);
        put_names(out, fk->referred_columns, fk->ncolumns);
        if (fk->ondelete)
            fprintf(out, " on delete %s", fk->ondelete);
        if (fk->onupdate)
            fprintf(out, " on update %s", fk->onupdate);
        fputc('\n', out);
    }
    for (size_t i = 0; i < t->nuniques; i++) {
        fprintf(out, "  unique %s ", t->uniques[i].name ? t->uniques[i].name : "-");
        put_names(out, t->uniques[i].columns, t->uniques[i].ncolumns);
        fputc('\n', out);
    }
    for (size_t i = 0; i < t->nindexes; i++) {
        fprintf(out, "  %sindex %s ", t->indexes[i].unique ? "unique " : "",
                t->indexes[i].name ? t->indexes[i].name : "-");
        put_names(out, t->indexes[i].columns, t->indexes[i].ncolumns);
        fputc('\n', out);
    }
}

cr_status tool_inspect(FILE *out, cr_conn *conn, const tool_tables *sel)
{
    cr_inspector *insp = cr_inspect(conn);
    if (!insp)
        return CR_ERR_NO_MEMORY;
    const cr_reflected_table *ts;
    size_t n;
    cr_status st = cr_inspector_get_tables(insp, wanted, (void *)sel, &ts, &n);
    for (size_t i = 0; i < n && !st; i++)
        inspect_table(out, &ts[i]);
    cr_inspector_free(insp);
    return st;
}

/* ---- names ---------------------------------------------------------------- */

#define NAME_MAX_LEN 128

static const char *const c_keywords[] = {
    "auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else",
    "enum", "extern", "float", "for", "goto", "if", "inline", "int", "long", "register",
    "restrict", "return", "short", "signed", "sizeof", "static", "struct", "switch",
    "typedef", "union", "unsigned", "void", "volatile", "while", "bool", "true", "false",
    "_Alignas", "_Alignof", "_Atomic", "_Bool", "_Complex", "_Generic", "_Imaginary",
    "_Noreturn", "_Static_assert", "_Thread_local", "_cr", NULL
};

/* Whether name can be a struct member as it is. */
static bool is_identifier(const char *name)
{
    if (!(isalpha((unsigned char)name[0]) || name[0] == '_'))
        return false;
    for (const char *p = name; *p; p++)
        if (!(isalnum((unsigned char)*p) || *p == '_'))
            return false;
    for (size_t i = 0; c_keywords[i]; i++)
        if (strcmp(name, c_keywords[i]) == 0)
            return false;
    return strlen(name) < NAME_MAX_LEN - 16;
}

/* name made an identifier: other characters become '_', a leading digit
 * gets one before it. */
static void identifier(char *out, const char *name)
{
    size_t k = 0;
    if (!(isalpha((unsigned char)name[0]) || name[0] == '_'))
        out[k++] = '_';
    for (const char *p = name; *p && k < NAME_MAX_LEN - 24; p++)
        out[k++] = isalnum((unsigned char)*p) ? *p : '_';
    out[k] = '\0';
}

/* Compose a name of at most NAME_MAX_LEN - 1 bytes (the parts are
 * identifiers kept shorter than that, so nothing is cut in practice). */
static void name_printf(char *out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, NAME_MAX_LEN, fmt, ap);
    va_end(ap);
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* English plural to singular, for the names SQL tables usually have:
 * categories -> category, addresses -> address, statuses -> status,
 * boxes -> box, users -> user; anything else unchanged. */
static void singular(char *s)
{
    size_t n = strlen(s);
    if (ends_with(s, "ies") && n > 3)
        strcpy(s + n - 3, "y");
    else if ((ends_with(s, "sses") || ends_with(s, "uses") || ends_with(s, "xes") ||
              ends_with(s, "ches") || ends_with(s, "shes")) && n > 4)
        s[n - 2] = '\0';
    else if (ends_with(s, "s") && !ends_with(s, "ss") && !ends_with(s, "us") &&
             !ends_with(s, "is") && n > 1)
        s[n - 1] = '\0';
}

/* snake_case to CamelCase, in place. */
static void camel(char *s)
{
    size_t k = 0;
    bool up = true;
    for (const char *p = s; *p; p++) {
        if (*p == '_' && k > 0) {
            up = true;
            continue;
        }
        s[k++] = up ? (char)toupper((unsigned char)*p) : *p;
        up = false;
    }
    s[k] = '\0';
}

static void upper(char *out, const char *s)
{
    size_t k = 0;
    for (const char *p = s; *p; p++) {
        if (isupper((unsigned char)*p) && k > 0 && islower((unsigned char)p[-1]))
            out[k++] = '_';
        out[k++] = (char)toupper((unsigned char)*p);
    }
    out[k] = '\0';
}

/* A C string literal for s. */
static void put_literal(FILE *out, const char *s)
{
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(out, "\\%c", *p);
        else if (*p < 0x20 || *p >= 0x7f || *p == '?')
            fprintf(out, "\\%03o", *p);
        else
            fputc(*p, out);
    }
    fputc('"', out);
}

/* ---- the model of what to generate ------------------------------------- */

typedef struct grel {
    char name[NAME_MAX_LEN];
    size_t target;               /* index of the related table            */
    bool many;
    char back[NAME_MAX_LEN];     /* the other side's name                 */
    char fk[2 * NAME_MAX_LEN];   /* .foreign_keys, or ""                  */
    const char *secondary;       /* many-to-many: the association table   */
} grel;

typedef struct gtable {
    const cr_reflected_table *r;
    bool model;                  /* a model; else a table declaration     */
    bool runtime;                /* a table whose names are not C identifiers */
    bool association;            /* many-to-many rows between two models  */
    const char *why;             /* why not a model                       */
    char ident[NAME_MAX_LEN];    /* users, likes (C identifier)           */
    char cname[NAME_MAX_LEN];    /* User (model), likes_table (table variable) */
    char macro[NAME_MAX_LEN];    /* USER, LIKES (macro stem)              */
    grel *rels;
    size_t nrels, caprels;
} gtable;

typedef struct gen {
    FILE *out;
    const char *backend;
    gtable *ts;
    size_t n;
    const codegen_options *opt;
    char *msg;
    size_t msgsize;
} gen;

static cr_status gen_fail(gen *g, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g->msg, g->msgsize, fmt, ap);
    va_end(ap);
    return CR_ERR_ARGUMENT;
}

static gtable *find_table(gen *g, const char *name)
{
    for (size_t i = 0; i < g->n; i++)
        if (strcmp(g->ts[i].r->name, name) == 0)
            return &g->ts[i];
    return NULL;
}

static bool is_pk_column(const cr_reflected_table *t, const char *col)
{
    for (size_t i = 0; t->pk && i < t->pk->ncolumns; i++)
        if (strcmp(t->pk->columns[i], col) == 0)
            return true;
    return false;
}

static bool has_fk_column(const cr_reflected_table *t, const char *col)
{
    for (size_t i = 0; i < t->nfks; i++)
        for (size_t j = 0; j < t->fks[i].ncolumns; j++)
            if (strcmp(t->fks[i].columns[j], col) == 0)
                return true;
    return false;
}

/* A constraint on exactly one column, that column. */
static bool on_column(const cr_reflected_constraint *c, const char *col)
{
    return c->ncolumns == 1 && strcmp(c->columns[0], col) == 0;
}

/* Whether a constraint's name is the one the database gives an unnamed
 * constraint of this kind on one column, so that the column-level form
 * (.unique = true, .foreign_key = ...) recreates it. */
static bool default_unique_name(const cr_reflected_table *t, const cr_reflected_constraint *c)
{
    char want[3 * NAME_MAX_LEN];
    if (!c->name || strcmp(c->name, c->columns[0]) == 0)       /* SQLite; MySQL */
        return true;
    snprintf(want, sizeof want, "%s_%s_key", t->name, c->columns[0]);   /* PostgreSQL */
    return strcmp(c->name, want) == 0;
}

static bool default_fk_name(const cr_reflected_table *t, const cr_reflected_constraint *c)
{
    char want[3 * NAME_MAX_LEN];
    if (!c->name)
        return true;
    snprintf(want, sizeof want, "%s_%s_fkey", t->name, c->columns[0]);
    if (strcmp(c->name, want) == 0)
        return true;
    snprintf(want, sizeof want, "%s_ibfk_", t->name);          /* MySQL */
    size_t n = strlen(want);
    if (strncmp(c->name, want, n) != 0 || !c->name[n])
        return false;
    for (const char *p = c->name + n; *p; p++)
        if (!isdigit((unsigned char)*p))
            return false;
    return true;
}

static bool default_index_name(const cr_reflected_table *t, const cr_reflected_constraint *c)
{
    char want[3 * NAME_MAX_LEN];
    snprintf(want, sizeof want, "ix_%s_%s", t->name, c->columns[0]);
    return c->name && !c->unique && strcmp(c->name, want) == 0;
}

/* The unique constraint written on the column itself, or NULL. */
static const cr_reflected_constraint *column_unique(const cr_reflected_table *t, const char *col)
{
    for (size_t i = 0; i < t->nuniques; i++)
        if (on_column(&t->uniques[i], col) && default_unique_name(t, &t->uniques[i]))
            return &t->uniques[i];
    return NULL;
}

static const cr_reflected_constraint *column_fk(const cr_reflected_table *t, const char *col)
{
    for (size_t i = 0; i < t->nfks; i++)
        if (on_column(&t->fks[i], col) && default_fk_name(t, &t->fks[i]))
            return &t->fks[i];
    return NULL;
}

static const cr_reflected_constraint *column_index(const cr_reflected_table *t, const char *col)
{
    for (size_t i = 0; i < t->nindexes; i++)
        if (on_column(&t->indexes[i], col) && default_index_name(t, &t->indexes[i]))
            return &t->indexes[i];
    return NULL;
}

static bool same_columns(const cr_reflected_constraint *a, const cr_reflected_constraint *b)
{
    if (a->ncolumns != b->ncolumns)
        return false;
    for (size_t i = 0; i < a->ncolumns; i++)
        if (strcmp(a->columns[i], b->columns[i]) != 0)
            return false;
    return true;
}

/* Whether an index is only the shadow of a constraint: the unique index
 * behind a unique constraint, or the index MySQL makes for a foreign key
 * (named after the constraint or its first column). */
static bool index_of_constraint(const gen *g, const cr_reflected_table *t,
                                const cr_reflected_constraint *ix)
{
    for (size_t i = 0; ix->unique && i < t->nuniques; i++)
        if (same_columns(ix, &t->uniques[i]) &&
            (!t->uniques[i].name || !ix->name || strcmp(t->uniques[i].name, ix->name) == 0))
            return true;
    if (strcmp(g->backend, "mysql") != 0 || ix->unique || !ix->name)
        return false;
    for (size_t i = 0; i < t->nfks; i++)
        if (same_columns(ix, &t->fks[i]) &&
            ((t->fks[i].name && strcmp(t->fks[i].name, ix->name) == 0) ||
             strcmp(t->fks[i].columns[0], ix->name) == 0))
            return true;
    return false;
}

static bool name_taken(const gtable *t, const char *name)
{
    for (size_t i = 0; i < t->r->ncolumns; i++)
        if (strcmp(t->r->columns[i].name, name) == 0)
            return true;
    for (size_t i = 0; i < t->nrels; i++)
        if (strcmp(t->rels[i].name, name) == 0)
            return true;
    return false;
}

/* A relationship name for t based on base, unique among its fields and
 * relationships. */
static void unique_name(const gtable *t, char *out, const char *base)
{
    char try[NAME_MAX_LEN];
    snprintf(try, sizeof try, "%s", base);
    if (!is_identifier(try) || name_taken(t, try))
        name_printf(try, "%s_rel", base);
    for (int k = 2; !is_identifier(try) || name_taken(t, try); k++)
        name_printf(try, "%s_rel%d", base, k);
    memcpy(out, try, sizeof try);
}

static grel *add_rel(gtable *t)
{
    if (t->nrels == t->caprels) {
        size_t cap = t->caprels ? 2 * t->caprels : 4;
        grel *r = realloc(t->rels, cap * sizeof *r);
        if (!r)
            return NULL;
        t->rels = r;
        t->caprels = cap;
    }
    grel *r = &t->rels[t->nrels++];
    memset(r, 0, sizeof *r);
    return r;
}

/* Decide what each table becomes, and the names. */
static cr_status classify(gen *g)
{
    for (size_t i = 0; i < g->n; i++) {
        gtable *t = &g->ts[i];
        const cr_reflected_table *r = t->r;
        identifier(t->ident, r->name);
        t->runtime = !is_identifier(r->name);
        for (size_t c = 0; c < r->ncolumns; c++)
            if (!is_identifier(r->columns[c].name))
                t->runtime = true;
        if (g->opt->tables_only)
            t->why = "tables only were asked for";
        else if (t->runtime)
            t->why = "a name is not a C identifier";
        else if (!r->pk || !r->pk->ncolumns)
            t->why = "it has no primary key";
        else if (r->ncolumns > 64)
            t->why = "a model has at most 64 fields";
        t->model = !t->why;
    }
    /* Association tables: every column in one of exactly two foreign keys,
     * one to each of two different models. */
    for (size_t i = 0; i < g->n; i++) {
        gtable *t = &g->ts[i];
        const cr_reflected_table *r = t->r;
        if (g->opt->tables_only || t->runtime || r->nfks != 2)
            continue;
        bool all = true;
        for (size_t c = 0; c < r->ncolumns && all; c++)
            all = has_fk_column(r, r->columns[c].name);
        gtable *a = find_table(g, r->fks[0].referred_table);
        gtable *b = find_table(g, r->fks[1].referred_table);
        if (all && a && b && a != b && a->model && b->model) {
            t->association = true;
            t->model = false;
            t->why = "it is the association table of a many-to-many";
        }
    }
    /* Model names: users -> User; table variables: likes -> likes_table. */
    for (size_t i = 0; i < g->n; i++) {
        gtable *t = &g->ts[i];
        if (t->model) {
            char base[NAME_MAX_LEN];
            snprintf(base, sizeof base, "%s", t->ident);
            singular(base);
            camel(base);
            snprintf(t->cname, sizeof t->cname, "%s", base);
            for (int k = 2; !is_identifier(t->cname) || strncmp(t->cname, "cr_", 3) == 0; k++)
                name_printf(t->cname, "%s%d", base, k);
        } else {
            name_printf(t->cname, "%s_table", t->ident);
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(g->ts[j].cname, t->cname) == 0)
                return gen_fail(g, "tables %s and %s would both be declared as %s",
                                g->ts[j].r->name, t->r->name, t->cname);
        upper(t->macro, t->model ? t->cname : t->ident);
    }
    return CR_OK;
}

/* How many single-column foreign keys of t refer to table name. */
static size_t fks_to(const cr_reflected_table *t, const char *name)
{
    size_t k = 0;
    for (size_t i = 0; i < t->nfks; i++)
        k += t->fks[i].ncolumns == 1 && strcmp(t->fks[i].referred_table, name) == 0;
    return k;
}

static bool unique_column(const cr_reflected_table *t, const char *col)
{
    for (size_t i = 0; i < t->nuniques; i++)
        if (on_column(&t->uniques[i], col))
            return true;
    for (size_t i = 0; i < t->nindexes; i++)
        if (t->indexes[i].unique && on_column(&t->indexes[i], col))
            return true;
    return t->pk && t->pk->ncolumns == 1 && strcmp(t->pk->columns[0], col) == 0;
}

/* The two sides of a many-to-one from child's foreign key fk. */
static cr_status relate_fk(gen *g, gtable *child, const cr_reflected_constraint *fk)
{
    gtable *parent = find_table(g, fk->referred_table);
    if (!parent || !parent->model || fk->ncolumns != 1)
        return CR_OK;
    const char *col = fk->columns[0];
    bool self = parent == child, ambiguous = fks_to(child->r, parent->r->name) > 1;
    bool one_to_one = !self && unique_column(child->r, col);

    char base[NAME_MAX_LEN];
    snprintf(base, sizeof base, "%s", col);
    if (ends_with(base, "_id") && strlen(base) > 3)
        base[strlen(base) - 3] = '\0';
    else {
        snprintf(base, sizeof base, "%s", parent->ident);
        singular(base);
    }
    grel *up = add_rel(child);
    if (!up)
        return CR_ERR_NO_MEMORY;
    unique_name(child, up->name, base);
    up->target = (size_t)(parent - g->ts);

    char down_base[NAME_MAX_LEN];
    if (self)
        name_printf(down_base, "%s_reverse", up->name);
    else if (one_to_one) {
        snprintf(down_base, sizeof down_base, "%s", child->ident);
        singular(down_base);
    } else if (ambiguous)
        name_printf(down_base, "%s_%s", child->ident, up->name);
    else
        snprintf(down_base, sizeof down_base, "%s", child->ident);
    grel *down = add_rel(parent);
    if (!down)
        return CR_ERR_NO_MEMORY;
    up = &child->rels[child->nrels - 1 - (self ? 1 : 0)];   /* add_rel may have moved it */
    unique_name(parent, down->name, down_base);
    down->target = (size_t)(child - g->ts);
    down->many = !one_to_one;
    snprintf(up->back, sizeof up->back, "%s", down->name);
    snprintf(down->back, sizeof down->back, "%s", up->name);
    if (ambiguous) {
        snprintf(up->fk, sizeof up->fk, "%s.%s", child->r->name, col);
        snprintf(down->fk, sizeof down->fk, "%s.%s", child->r->name, col);
    }
    return CR_OK;
}

/* A many-to-many's name on t: the other table's, or, when t has a field
 * or relationship of that name, the association table's and the other's. */
static void m2m_name(const gtable *t, char *out, const gtable *assoc, const gtable *other)
{
    char base[NAME_MAX_LEN];
    if (name_taken(t, other->ident))
        name_printf(base, "%s_%s", assoc->ident, other->ident);
    else
        name_printf(base, "%s", other->ident);
    unique_name(t, out, base);
}

static cr_status relate_association(gen *g, gtable *assoc)
{
    gtable *a = find_table(g, assoc->r->fks[0].referred_table);
    gtable *b = find_table(g, assoc->r->fks[1].referred_table);
    grel *ra = add_rel(a);
    if (!ra)
        return CR_ERR_NO_MEMORY;
    m2m_name(a, ra->name, assoc, b);
    grel *rb = add_rel(b);
    if (!rb)
        return CR_ERR_NO_MEMORY;
    m2m_name(b, rb->name, assoc, a);
    ra->target = (size_t)(b - g->ts);
    rb->target = (size_t)(a - g->ts);
    ra->many = rb->many = true;
    ra->secondary = rb->secondary = assoc->r->name;
    snprintf(ra->back, sizeof ra->back, "%s", rb->name);
    snprintf(rb->back, sizeof rb->back, "%s", ra->name);
    return CR_OK;
}

static cr_status relate(gen *g)
{
    cr_status st = CR_OK;
    /* Foreign keys first: their names are the plainer ones. */
    for (size_t i = 0; i < g->n && !st; i++)
        for (size_t f = 0; g->ts[i].model && f < g->ts[i].r->nfks && !st; f++)
            st = relate_fk(g, &g->ts[i], &g->ts[i].r->fks[f]);
    for (size_t i = 0; i < g->n && !st; i++)
        if (g->ts[i].association)
            st = relate_association(g, &g->ts[i]);
    return st;
}

/* ---- writing ---------------------------------------------------------------- */

static void put_type(gen *g, const gtable *t, const cr_reflected_column *c)
{
    const cr_sqltype *ty = &c->type;
    switch (ty->kind) {
    case CR_SQLTYPE_INTEGER: fputs("INTEGER", g->out); break;
    case CR_SQLTYPE_SMALLINT: fputs("SMALLINTEGER", g->out); break;
    case CR_SQLTYPE_BIGINT: fputs("BIGINTEGER", g->out); break;
    case CR_SQLTYPE_STRING: fprintf(g->out, "STRING(%d)", ty->length); break;
    case CR_SQLTYPE_BOOLEAN: fputs("BOOLEAN", g->out); break;
    case CR_SQLTYPE_FLOAT: fputs("FLOAT", g->out); break;
    case CR_SQLTYPE_DOUBLE: fputs("DOUBLE", g->out); break;
    case CR_SQLTYPE_NUMERIC: fprintf(g->out, "NUMERIC(%d, %d)", ty->precision, ty->scale); break;
    case CR_SQLTYPE_DATE: fputs("DATE", g->out); break;
    case CR_SQLTYPE_TIME: fputs("TIME", g->out); break;
    case CR_SQLTYPE_DATETIME: fputs(ty->timezone ? "DATETIME_TZ" : "DATETIME", g->out); break;
    case CR_SQLTYPE_BINARY: fputs("LARGEBINARY", g->out); break;
    case CR_SQLTYPE_JSON: fputs("JSON", g->out); break;
    case CR_SQLTYPE_UUID: fputs("UUID", g->out); break;
    case CR_SQLTYPE_ENUM:
        fputs("ENUM(", g->out);
        if (ty->enum_name)
            put_literal(g->out, ty->enum_name);
        else
            fputs("NULL", g->out);
        fprintf(g->out, ", %s_%s_values)", t->ident, c->name);
        break;
    case CR_SQLTYPE_TEXT:
    default: fputs("TEXT", g->out); break;
    }
}

/* The cr_column_def options of column c, each as ", .x = y". */
static void put_column_options(gen *g, const gtable *t, const cr_reflected_column *c)
{
    const cr_reflected_table *r = t->r;
    FILE *out = g->out;
    bool pk = is_pk_column(r, c->name);
    bool int_kind = c->type.kind == CR_SQLTYPE_INTEGER || c->type.kind == CR_SQLTYPE_BIGINT ||
                    c->type.kind == CR_SQLTYPE_SMALLINT;
    bool auto_pk = pk && r->pk->ncolumns == 1 && int_kind;
    if (pk)
        fputs(", .primary_key = true", out);
    if (auto_pk && !c->autoincrement)
        fputs(", .autoincrement = CR_NO", out);
    if (!pk && !c->nullable)
        fputs(", .nullable = CR_NO", out);
    if (column_unique(r, c->name))
        fputs(", .unique = true", out);
    if (column_index(r, c->name))
        fputs(", .index = true", out);
    if (c->default_sql && !(auto_pk && c->autoincrement)) {
        fputs(", .server_default = ", out);
        put_literal(out, c->default_sql);
    }
    const cr_reflected_constraint *fk = column_fk(r, c->name);
    if (fk) {
        char ref[3 * NAME_MAX_LEN];
        snprintf(ref, sizeof ref, "%s.%s", fk->referred_table, fk->referred_columns[0]);
        fputs(", .foreign_key = ", out);
        put_literal(out, ref);
        if (fk->ondelete) {
            fputs(", .fk_ondelete = ", out);
            put_literal(out, fk->ondelete);
        }
        if (fk->onupdate) {
            fputs(", .fk_onupdate = ", out);
            put_literal(out, fk->onupdate);
        }
    }
    if (c->comment) {
        fputs(", .comment = ", out);
        put_literal(out, c->comment);
    }
}

static void put_enum_arrays(gen *g, const gtable *t)
{
    for (size_t i = 0; i < t->r->ncolumns; i++) {
        const cr_reflected_column *c = &t->r->columns[i];
        if (c->type.kind != CR_SQLTYPE_ENUM)
            continue;
        fprintf(g->out, "static const char *const %s_%s_values[] = {", t->ident, c->name);
        for (size_t k = 0; c->type.enum_values && c->type.enum_values[k]; k++) {
            put_literal(g->out, c->type.enum_values[k]);
            fputs(", ", g->out);
        }
        fputs("NULL};\n", g->out);
    }
}

/* The X-macro of columns: #define USER_FIELDS(F) F(id, INTEGER, ...) ... */
static void put_columns_macro(gen *g, const gtable *t, const char *stem, const char *arg)
{
    fprintf(g->out, "#define %s_%s(%s)", t->macro, stem, arg);
    for (size_t i = 0; i < t->r->ncolumns; i++) {
        const cr_reflected_column *c = &t->r->columns[i];
        fprintf(g->out, " \\\n    %s(%s, ", arg, c->name);
        put_type(g, t, c);
        put_column_options(g, t, c);
        fputc(')', g->out);
    }
    fputc('\n', g->out);
}

static void put_relationships_macro(gen *g, const gtable *t)
{
    fprintf(g->out, "#define %s_RELATIONSHIPS(R)", t->macro);
    for (size_t i = 0; i < t->nrels; i++) {
        const grel *rel = &t->rels[i];
        fprintf(g->out, " \\\n    R(%s, %s(%s), .back_populates = \"%s\"", rel->name,
                rel->many ? "MANY" : "ONE", g->ts[rel->target].cname, rel->back);
        if (rel->secondary) {
            fputs(", .secondary = ", g->out);
            put_literal(g->out, rel->secondary);
        }
        if (rel->fk[0]) {
            fputs(", .foreign_keys = ", g->out);
            put_literal(g->out, rel->fk);
        }
        fputc(')', g->out);
    }
    fputc('\n', g->out);
}

static void put_declaration(gen *g, const gtable *t)
{
    FILE *out = g->out;
    fprintf(out, "\n/* Table ");
    put_literal(out, t->r->name);
    if (!t->model)
        fprintf(out, ": a table, not a model, because %s", t->why);
    fputs(". */\n", out);
    put_enum_arrays(g, t);
    if (t->runtime) {
        fprintf(out, "extern cr_table *%s;\n", t->cname);
        return;
    }
    if (t->model) {
        put_columns_macro(g, t, "FIELDS", "F");
        if (t->nrels) {
            put_relationships_macro(g, t);
            fprintf(out, "CR_DECLARE_MODEL(%s, %s_FIELDS, %s_RELATIONSHIPS)\n", t->cname,
                    t->macro, t->macro);
        } else {
            fprintf(out, "CR_DECLARE_MODEL(%s, %s_FIELDS)\n", t->cname, t->macro);
        }
    } else {
        put_columns_macro(g, t, "COLUMNS", "COLUMN");
        fprintf(out, "CR_DECLARE_TABLE(%s_t, %s_COLUMNS)\nextern %s_t %s;\n", t->cname,
                t->macro, t->cname, t->cname);
    }
}

/* An expression for column col of t's handle. */
static void put_column_handle(gen *g, const gtable *t, const char *col)
{
    if (t->runtime) {
        fprintf(g->out, "cr_table_column(%s, ", t->cname);
        put_literal(g->out, col);
        fputc(')', g->out);
    } else {
        fprintf(g->out, "%s%s.c.%s", t->cname, t->model ? "_model" : "", col);
    }
}

static void put_table_handle(gen *g, const gtable *t)
{
    if (t->runtime)
        fputs(t->cname, g->out);
    else
        fprintf(g->out, "%s%s.table", t->cname, t->model ? "_model" : "");
}

static void put_cols(gen *g, const gtable *t, const cr_reflected_constraint *c)
{
    fputs("CR_COLS(", g->out);
    for (size_t i = 0; i < c->ncolumns; i++) {
        if (i)
            fputs(", ", g->out);
        put_column_handle(g, t, c->columns[i]);
    }
    fputc(')', g->out);
}

static void put_name_or_null(FILE *out, const char *name)
{
    if (name)
        put_literal(out, name);
    else
        fputs("NULL", out);
}

/* The start of a call adding constraint c to t: fn(table, "name", */
static void put_call(gen *g, const gtable *t, const char *fn, const cr_reflected_constraint *c)
{
    fprintf(g->out, "    if (!st)\n        st = %s(", fn);
    put_table_handle(g, t);
    fputs(", ", g->out);
    put_name_or_null(g->out, c->name);
    fputs(", ", g->out);
}

/* What the column-level options cannot say: constraints on several
 * columns or with names of their own, and indexes. */
static void put_constraints(gen *g, const gtable *t)
{
    const cr_reflected_table *r = t->r;
    FILE *out = g->out;
    for (size_t i = 0; i < r->nuniques; i++) {
        const cr_reflected_constraint *c = &r->uniques[i];
        if (c->ncolumns == 1 && column_unique(r, c->columns[0]) == c)
            continue;
        put_call(g, t, "cr_table_unique", c);
        put_cols(g, t, c);
        fputs(");\n", out);
    }
    for (size_t i = 0; i < r->nfks; i++) {
        const cr_reflected_constraint *c = &r->fks[i];
        if (c->ncolumns == 1 && column_fk(r, c->columns[0]) == c)
            continue;
        put_call(g, t, "cr_table_foreign_key", c);
        put_cols(g, t, c);
        fputs(",\n                                  (const char *const[]){", out);
        for (size_t k = 0; k < c->ncolumns; k++) {
            char ref[3 * NAME_MAX_LEN];
            snprintf(ref, sizeof ref, "%s.%s", c->referred_table, c->referred_columns[k]);
            if (k)
                fputs(", ", out);
            put_literal(out, ref);
        }
        fputs("}, ", out);
        put_name_or_null(out, c->ondelete);
        fputs(", ", out);
        put_name_or_null(out, c->onupdate);
        fputs(");\n", out);
    }
    for (size_t i = 0; i < r->nindexes; i++) {
        const cr_reflected_constraint *c = &r->indexes[i];
        if ((c->ncolumns == 1 && column_index(r, c->columns[0]) == c) ||
            index_of_constraint(g, r, c))
            continue;
        put_call(g, t, "cr_table_index", c);
        fprintf(out, "%s, ", c->unique ? "true" : "false");
        put_cols(g, t, c);
        fputs(");\n", out);
    }
}

/* A table whose names are not C identifiers, defined from cr_column_defs. */
static void put_runtime_define(gen *g, const gtable *t)
{
    FILE *out = g->out;
    fputs("    if (!st) {\n        const cr_column_def defs[] = {\n", out);
    for (size_t i = 0; i < t->r->ncolumns; i++) {
        const cr_reflected_column *c = &t->r->columns[i];
        fputs("            {.name = ", out);
        put_literal(out, c->name);
        fputs(", .type = CR_SQL_", out);
        put_type(g, t, c);
        put_column_options(g, t, c);
        fputs("},\n", out);
    }
    fprintf(out, "        };\n        st = cr_table_define(md, ");
    put_literal(out, t->r->name);
    fprintf(out, ", defs, sizeof defs / sizeof defs[0], NULL, &%s);\n    }\n", t->cname);
}

static void put_implementation(gen *g, const char *guard)
{
    FILE *out = g->out;
    fprintf(out, "\n#ifdef %s_IMPLEMENTATION\n", guard);
    for (size_t i = 0; i < g->n; i++) {
        const gtable *t = &g->ts[i];
        if (t->runtime)
            fprintf(out, "cr_table *%s;\n", t->cname);
        else if (!t->model)
            fprintf(out, "%s_t %s;\n", t->cname, t->cname);
        else {
            fprintf(out, "CR_DEFINE_MODEL(%s, ", t->cname);
            put_literal(out, t->r->name);
            fprintf(out, ", %s_FIELDS", t->macro);
            if (t->nrels)
                fprintf(out, ", %s_RELATIONSHIPS", t->macro);
            fputs(")\n", out);
        }
    }
    fprintf(out, "\ncr_status %s_define(cr_metadata *md)\n{\n    cr_status st = CR_OK;\n",
            g->opt->prefix);
    for (size_t i = 0; i < g->n; i++) {
        const gtable *t = &g->ts[i];
        if (t->runtime)
            put_runtime_define(g, t);
        else if (t->model)
            fprintf(out, "    if (!st)\n        st = %s_define(md);\n", t->cname);
        else {
            fprintf(out, "    if (!st)\n        st = %s_t_define(&%s, md, ", t->cname, t->cname);
            put_literal(out, t->r->name);
            fputs(");\n", out);
        }
    }
    for (size_t i = 0; i < g->n; i++)
        put_constraints(g, &g->ts[i]);
    fprintf(out, "    return st;\n}\n#endif /* %s_IMPLEMENTATION */\n", guard);
}

static void put_header(gen *g)
{
    FILE *out = g->out;
    char guard[NAME_MAX_LEN + 8];
    upper(guard, g->opt->prefix);
    fprintf(out,
            "/* %s.h — the tables of a %s database, declared for Crucible.\n"
            " *\n"
            " * Generated by `crucible codegen`",
            g->opt->prefix, g->backend);
    if (g->opt->source)
        fprintf(out, " from %s", g->opt->source);
    fprintf(out,
            ". Review it: relationship names\n"
            " * are guessed from the foreign keys, and check constraints are not read.\n"
            " * Include it anywhere; in exactly one .c file define %s_IMPLEMENTATION\n"
            " * before including it. %s_define(md) then defines every table and model in md.\n"
            " */\n"
            "#ifndef %s_H\n#define %s_H\n\n#include <crucible.h>\n",
            guard, g->opt->prefix, guard, guard);
    for (size_t i = 0; i < g->n; i++)
        put_declaration(g, &g->ts[i]);
    fprintf(out, "\n/* Define every table above in md; returns the first failing status\n"
                 " * (the detail is cr_metadata_error(md)). */\n"
                 "cr_status %s_define(cr_metadata *md);\n",
            g->opt->prefix);
    put_implementation(g, guard);
    fprintf(out, "\n#endif /* %s_H */\n", guard);
}

cr_status tool_codegen(FILE *out, cr_conn *conn, const tool_tables *sel,
                       const codegen_options *opt, char *msg, size_t size)
{
    gen g = {.out = out, .backend = cr_engine_backend(cr_conn_engine(conn)), .opt = opt,
             .msg = msg, .msgsize = size};
    msg[0] = '\0';
    if (!is_identifier(opt->prefix))
        return gen_fail(&g, "prefix '%s' is not a C identifier", opt->prefix);
    cr_inspector *insp = cr_inspect(conn);
    if (!insp)
        return gen_fail(&g, "out of memory");
    const cr_reflected_table *rs;
    size_t n;
    cr_status st = cr_inspector_get_tables(insp, wanted, (void *)sel, &rs, &n);
    if (!st) {
        g.ts = calloc(n ? n : 1, sizeof *g.ts);
        g.n = n;
        if (!g.ts)
            st = gen_fail(&g, "out of memory");
    }
    for (size_t i = 0; i < g.n; i++)
        g.ts[i].r = &rs[i];
    if (!st && !(st = classify(&g)) && !(st = relate(&g)))
        put_header(&g);
    if (st == CR_ERR_NO_MEMORY && !msg[0])
        gen_fail(&g, "out of memory");
    for (size_t i = 0; i < g.n; i++)
        free(g.ts[i].rels);
    free(g.ts);
    cr_inspector_free(insp);
    return st;
}
