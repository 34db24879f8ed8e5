/* sqltext.c — the :name parameter scanner for textual SQL. */
#include "engine/sqltext.h"

#include <string.h>

static bool is_word(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c >= 0x80;
}

void cr_sqltext_free(cr_sqltext *t)
{
    if (!t)
        return;
    cr_free(t->sql);
    for (int i = 0; i < t->nnames; i++)
        cr_free(t->names[i]);
    cr_free(t->names);
    cr_free(t->slot_name);
    memset(t, 0, sizeof *t);
}

int cr_sqltext_find(const cr_sqltext *t, const char *name)
{
    for (int i = 0; i < t->nnames; i++)
        if (strcmp(t->names[i], name) == 0)
            return i;
    return -1;
}

static bool push_int(int **arr, int *n, int *cap, int v)
{
    if (*n == *cap) {
        int nc = *cap ? *cap * 2 : 8;
        int *p = cr_realloc(*arr, sizeof(int) * (size_t)nc);
        if (!p)
            return false;
        *arr = p;
        *cap = nc;
    }
    (*arr)[(*n)++] = v;
    return true;
}

/* Length of a PostgreSQL dollar-quote tag at p ("$$" or "$tag$"), or 0. */
static size_t dollar_tag(const char *p)
{
    size_t i = 1;
    if ((unsigned char)p[1] >= '0' && (unsigned char)p[1] <= '9')
        return 0;
    while (is_word((unsigned char)p[i]))
        i++;
    return p[i] == '$' ? i + 1 : 0;
}

cr_status cr_sqltext_parse(const char *sql, cr_param_style style, cr_sqltext *t,
                           cr_error *err)
{
    memset(t, 0, sizeof *t);
    cr_buf b;
    cr_buf_init(&b);
    int slot_cap = 0, name_cap = 0;
    const char *p = sql;
    while (*p) {
        char c = *p;
        /* Backticks quote identifiers in MySQL and SQLite, not PostgreSQL. */
        if (c == '\'' || c == '"' || (c == '`' && style != CR_PARAM_DOLLAR)) {
            /* Backslash escapes: MySQL strings, and PostgreSQL's E'...'. */
            bool e_string = c == '\'' && p > sql && (p[-1] == 'E' || p[-1] == 'e') &&
                            (p - 1 == sql || !is_word((unsigned char)p[-2]));
            bool backslash_escapes = c != '`' && ((style == CR_PARAM_QMARK) ||
                                                  (style == CR_PARAM_DOLLAR && e_string));
            const char *q = p + 1;
            while (*q) {
                if (backslash_escapes && *q == '\\' && q[1]) {
                    q += 2;
                } else if (*q == c) {
                    if (q[1] == c) {
                        q += 2;          /* doubled quote */
                    } else {
                        break;
                    }
                } else {
                    q++;
                }
            }
            if (*q)
                q++;
            cr_buf_append(&b, p, (size_t)(q - p));
            p = q;
        } else if (c == '-' && p[1] == '-') {
            size_t n = strcspn(p, "\n");
            cr_buf_append(&b, p, n);
            p += n;
        } else if (c == '#' && style == CR_PARAM_QMARK) {
            size_t n = strcspn(p, "\n");
            cr_buf_append(&b, p, n);
            p += n;
        } else if (c == '/' && p[1] == '*') {
            const char *end = strstr(p + 2, "*/");
            size_t n = end ? (size_t)(end + 2 - p) : strlen(p);
            cr_buf_append(&b, p, n);
            p += n;
        } else if (c == '$' && style == CR_PARAM_DOLLAR && (p == sql || !is_word((unsigned char)p[-1])) &&
                   dollar_tag(p)) {
            size_t tag = dollar_tag(p);
            const char *q = p + tag;
            const char *end = NULL;
            while ((q = strchr(q, '$')) != NULL) {
                if (strncmp(q, p, tag) == 0) {
                    end = q + tag;
                    break;
                }
                q++;
            }
            size_t n = end ? (size_t)(end - p) : strlen(p);
            cr_buf_append(&b, p, n);
            p += n;
        } else if (c == '\\' && p[1] == ':') {
            cr_buf_putc(&b, ':');
            p += 2;
        } else if (c == ':' && p[1] == ':') {
            /* PostgreSQL cast; the name after it is a type, not a parameter. */
            size_t n = 2;
            while (p[n] == ':')
                n++;
            cr_buf_append(&b, p, n);
            p += n;
        } else if (c == ':' && is_word((unsigned char)p[1]) &&
                   (p == sql || !is_word((unsigned char)p[-1]))) {
            size_t n = 1;
            while (is_word((unsigned char)p[n]))
                n++;
            char *name = cr_strndup(p + 1, n - 1);
            if (!name)
                goto oom;
            int idx = cr_sqltext_find(t, name);
            if (idx < 0) {
                if (t->nnames == name_cap) {
                    int nc = name_cap ? name_cap * 2 : 8;
                    char **np = cr_realloc(t->names, sizeof(char *) * (size_t)nc);
                    if (!np) {
                        cr_free(name);
                        goto oom;
                    }
                    t->names = np;
                    name_cap = nc;
                }
                idx = t->nnames;
                t->names[t->nnames++] = name;
            } else {
                cr_free(name);
            }
            if (style == CR_PARAM_QMARK) {
                cr_buf_putc(&b, '?');
                if (!push_int(&t->slot_name, &t->nslots, &slot_cap, idx))
                    goto oom;
            } else {
                cr_buf_printf(&b, "%c%d", style == CR_PARAM_DOLLAR ? '$' : '?', idx + 1);
            }
            p += n;
        } else {
            /* Copy a run of ordinary characters at once. */
            size_t n = 1;
            while (p[n] && !strchr("'\"`-#/$\\:", p[n]))
                n++;
            cr_buf_append(&b, p, n);
            p += n;
        }
    }
    if (style != CR_PARAM_QMARK) {
        for (int i = 0; i < t->nnames; i++)
            if (!push_int(&t->slot_name, &t->nslots, &slot_cap, i))
                goto oom;
    }
    if (b.oom)
        goto oom;
    t->sql = b.data ? b.data : cr_strdup("");
    if (!t->sql)
        goto oom;
    return CR_OK;
oom:
    cr_buf_free(&b);
    cr_sqltext_free(t);
    return cr_error_oom(err);
}
