/* mangen.c — the reference manual made from the public headers: man pages (section 3) and one HTML page.
 *
 *   mangen OUTDIR HEADER...    write OUTDIR/man3/<name>.3 for each documented
 *                              function, macro and type, OUTDIR/man3/crucible.3
 *                              (the index) and OUTDIR/html/reference.html
 *   mangen --check HEADER...   list every CR_API function without a comment
 *                              before it; exit 1 when there is one
 *
 * The headers are the one source: a comment directly above a declaration
 * (or a run of declarations, up to the next blank line) documents it, and a
 * banner comment (a line of dashes, a title, a line of dashes) starts a
 * section. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define VERSION_TEXT "Crucible 0.1.0"

typedef struct item {
    char *name;
    char *decl;             /* the declaration as written            */
    int group;              /* items documented by one comment share it */
    const char *kind;       /* "function", "macro", "type"           */
    bool api;               /* a CR_API function                     */
} item;

typedef struct group {
    char *doc;              /* the comment, its " * " margins removed, or NULL */
    char *section;
    const char *header;
    size_t first, count;    /* its items                            */
} group;

/* A section: a banner's title and the text under it, or a header's
 * opening comment (its overview). */
typedef struct section {
    char *title;
    char *intro;            /* or NULL */
    bool shown;             /* written into the index already */
} section;

static section *sections;
static size_t nsections;

static item *items;
static size_t nitems, capitems;
static group *groups;
static size_t ngroups, capgroups;

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n);
    if (!q) {
        fputs("mangen: out of memory\n", stderr);
        exit(1);
    }
    return q;
}

static char *xstrndup(const char *s, size_t n)
{
    char *d = xrealloc(NULL, n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

/* A growing string. */
typedef struct str {
    char *p;
    size_t len, cap;
} str;

static void str_add(str *s, const char *t, size_t n)
{
    if (s->len + n + 1 > s->cap) {
        s->cap = (s->len + n + 1) * 2;
        s->p = xrealloc(s->p, s->cap);
    }
    memcpy(s->p + s->len, t, n);
    s->len += n;
    s->p[s->len] = '\0';
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "mangen: %s: %s\n", path, strerror(errno));
        exit(1);
    }
    str s = {0};
    char buf[8192];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        str_add(&s, buf, n);
    fclose(f);
    if (!s.p)
        str_add(&s, "", 0);
    return s.p;
}

/* ---- reading a header --------------------------------------------------- */

/* The comment's text without its delimiters and " * " margins. */
static char *comment_text(const char *start, const char *end)
{
    str s = {0};
    const char *p = start + 2;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *stop = eol ? eol : end;
        const char *q = p;
        while (q < stop && (*q == ' ' || *q == '\t'))
            q++;
        if (q < stop && *q == '*' && !(q + 1 < stop && q[1] == '/'))
            q++;
        if (q < stop && *q == ' ')
            q++;
        if (p == start + 2)      /* the first line: after the opening */
            q = p + (*p == ' ');
        str_add(&s, q, (size_t)(stop - q));
        str_add(&s, "\n", 1);
        p = stop + 1;
    }
    /* trim trailing blank lines and spaces */
    while (s.len && (s.p[s.len - 1] == '\n' || s.p[s.len - 1] == ' '))
        s.p[--s.len] = '\0';
    return s.p ? s.p : xstrndup("", 0);
}

static void add_section(char *title, char *intro)
{
    sections = xrealloc(sections, (nsections + 1) * sizeof *sections);
    sections[nsections].title = title;
    sections[nsections].intro = intro;
    sections[nsections].shown = false;
    nsections++;
}

/* A banner: "---...\n Title\n[ text\n] ---..." gives "Title" and records
 * the section with its text. */
static char *banner_title(const char *text)
{
    if (strncmp(text, "----", 4) != 0)
        return NULL;
    const char *line = strchr(text, '\n');
    if (!line)
        return NULL;
    line++;
    const char *eol = strchr(line, '\n');
    char *title = xstrndup(line, eol ? (size_t)(eol - line) : strlen(line));
    char *intro = NULL;
    if (eol) {
        const char *body = eol + 1, *end = body + strlen(body);
        while (end > body && (end[-1] == '-' || end[-1] == '\n' || end[-1] == ' '))
            end--;
        while (body < end && *body == '\n')
            body++;
        if (end > body)
            intro = xstrndup(body, (size_t)(end - body));
    }
    add_section(xstrndup(title, strlen(title)), intro);
    return title;
}

/* The name a declaration declares: for a function the identifier before its
 * first '(' that is not inside a type; for a macro the identifier after
 * #define; for a typedef the last identifier before the final ';'. */
static char *decl_name(const char *decl, const char *kind)
{
    const char *p = decl, *start = NULL, *end = NULL;
    if (strcmp(kind, "macro") == 0) {
        p = strstr(decl, "define") + 6;
        while (*p == ' ')
            p++;
        start = p;
        while (isalnum((unsigned char)*p) || *p == '_')
            p++;
        return xstrndup(start, (size_t)(p - start));
    }
    if (strcmp(kind, "type") == 0) {
        const char *semi = strrchr(decl, ';');
        const char *q = semi;
        while (q > decl && !(isalnum((unsigned char)q[-1]) || q[-1] == '_'))
            q--;
        end = q;
        while (q > decl && (isalnum((unsigned char)q[-1]) || q[-1] == '_'))
            q--;
        return xstrndup(q, (size_t)(end - q));
    }
    const char *paren = strchr(decl, '(');
    if (!paren)
        return xstrndup("", 0);
    const char *q = paren;
    while (q > decl && q[-1] == ' ')
        q--;
    end = q;
    while (q > decl && (isalnum((unsigned char)q[-1]) || q[-1] == '_'))
        q--;
    return xstrndup(q, (size_t)(end - q));
}

static void add_item(const char *decl, size_t len, const char *kind, size_t g, bool api)
{
    if (nitems == capitems) {
        capitems = capitems ? 2 * capitems : 256;
        items = xrealloc(items, capitems * sizeof *items);
    }
    item *it = &items[nitems++];
    it->decl = xstrndup(decl, len);
    it->kind = kind;
    it->name = decl_name(it->decl, kind);
    it->group = (int)g;
    it->api = api;
    groups[g].count++;
}

static size_t new_group(char *doc, const char *section, const char *header)
{
    if (ngroups == capgroups) {
        capgroups = capgroups ? 2 * capgroups : 128;
        groups = xrealloc(groups, capgroups * sizeof *groups);
    }
    group *g = &groups[ngroups];
    g->doc = doc;
    g->section = xstrndup(section, strlen(section));
    g->header = header;
    g->first = nitems;
    g->count = 0;
    return ngroups++;
}

/* Where a declaration starting at p ends (after its ';', or the macro's
 * last continued line). */
static const char *decl_end(const char *p, const char *kind)
{
    if (strcmp(kind, "macro") == 0) {
        for (;;) {
            const char *eol = strchr(p, '\n');
            if (!eol)
                return p + strlen(p);
            if (eol > p && eol[-1] == '\\') {
                p = eol + 1;
                continue;
            }
            return eol;
        }
    }
    int depth = 0;
    for (; *p; p++) {
        if (*p == '{' || *p == '(')
            depth++;
        else if (*p == '}' || *p == ')')
            depth--;
        else if (*p == ';' && depth == 0)
            return p + 1;
    }
    return p;
}

/* Whether a #define at p is public API: a function-like or constant macro
 * named cr_* or CR_* (not CR__*, not an include guard). */
static bool public_macro(const char *p)
{
    const char *q = strstr(p, "define") + 6;
    while (*q == ' ')
        q++;
    if (strncmp(q, "CR__", 4) == 0 || strncmp(q, "CRUCIBLE_", 9) == 0)
        return false;
    if (strncmp(q, "cr_", 3) != 0 && strncmp(q, "CR_", 3) != 0)
        return false;
    return strncmp(q, "CR_API", 6) != 0;
}

/* Whether a CR_API declaration is of an internal helper (cr__name) that
 * macros expand to: not part of the manual. */
static bool private_function(const char *p)
{
    const char *paren = strchr(p, '(');
    const char *q = strstr(p, "cr__");
    return q && paren && q < paren;
}

static void read_header(const char *path, const char *display)
{
    char *text = read_file(path);
    char *section = xstrndup(display, strlen(display));
    char *doc = NULL;               /* the comment waiting for its declarations */
    bool opening = true;            /* the file's first comment: its overview */
    long cur = -1;                  /* the group declarations join, or -1 */
    const char *p = text;
    while (*p) {
        const char *line = p;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\n') {           /* a blank line ends a group */
            cur = -1;
            free(doc);
            doc = NULL;
            p++;
            continue;
        }
        if (p[0] == '/' && p[1] == '*') {
            const char *end = strstr(p, "*/");
            end = end ? end : p + strlen(p);
            char *c = comment_text(p, end);
            char *title = banner_title(c);
            const char *after = end + 2;
            while (*after == ' ' || *after == '\t')
                after++;
            bool trailing = line != p;   /* a comment after code on its line */
            opening = opening && !title;
            if (opening && !title) {
                add_section(xstrndup(section, strlen(section)), c);
                opening = false;
            } else if (title) {
                free(section);
                section = title;
                free(c);
            } else if (!trailing && (*after == '\n' || !*after)) {
                free(doc);
                doc = c;
                cur = -1;
            } else {
                free(c);
            }
            p = *after ? after + (*after == '\n') : after;
            continue;
        }
        const char *kind = NULL;
        bool api = false;
        if (strncmp(p, "CR_API", 6) == 0 && !private_function(p)) {
            kind = "function";
            api = true;
        } else if (strncmp(p, "#define", 7) == 0 && public_macro(p)) {
            kind = "macro";
        } else if (strncmp(p, "typedef", 7) == 0 && (doc || cur >= 0)) {
            kind = "type";
        }
        if (kind) {
            const char *end = decl_end(p, kind);
            if (cur < 0) {
                cur = (long)new_group(doc, section, display);
                doc = NULL;
            }
            const char *d = api ? p + 7 : p;
            add_item(d, (size_t)(end - d), kind, (size_t)cur, api);
            p = end;
        } else {
            /* other lines (#include, #endif, struct bodies) end nothing */
            const char *eol = strchr(p, '\n');
            p = eol ? eol : p + strlen(p);
        }
        if (*p == '\n')
            p++;
    }
    free(doc);
    free(section);
    free(text);
}

/* ---- writing -------------------------------------------------------------- */

/* The text of a section not written yet (then it counts as written). */
static const char *section_intro(const char *title)
{
    for (size_t i = 0; i < nsections; i++)
        if (strcmp(sections[i].title, title) == 0 && !sections[i].shown) {
            sections[i].shown = true;
            return sections[i].intro;
        }
    return NULL;
}

static void reset_shown(void)
{
    for (size_t i = 0; i < nsections; i++)
        sections[i].shown = false;
}

/* The first sentence of a comment, for NAME lines and the index. */
static char *summary(const char *doc)
{
    if (!doc)
        return xstrndup("(undocumented)", 14);
    str s = {0};
    for (const char *p = doc; *p; p++) {
        if (*p == '\n') {
            if (p[1] == '\n')
                break;
            str_add(&s, " ", 1);
            continue;
        }
        str_add(&s, p, 1);
        if (*p == '.' && (p[1] == ' ' || p[1] == '\n' || !p[1]))
            break;
        if (s.len > 160) {
            str_add(&s, "...", 3);
            break;
        }
    }
    return s.p ? s.p : xstrndup("", 0);
}

/* roff text: backslashes escaped, lines starting with . or ' protected. */
static void roff(FILE *f, const char *text)
{
    bool bol = true;
    for (const char *p = text; *p; p++) {
        if (bol && (*p == '.' || *p == '\''))
            fputs("\\&", f);
        unsigned char c = (unsigned char)*p;
        if (c >= 0xc0) {        /* UTF-8: \[uXXXX], as groff reads it anywhere */
            int n = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : 1;
            unsigned long cp = c & (0x3f >> n);
            for (int k = 0; k < n && (p[1] & 0xc0) == 0x80; k++)
                cp = (cp << 6) | ((unsigned char)*++p & 0x3f);
            fprintf(f, "\\[u%04lX]", cp);
        } else if (c >= 0x80)
            continue;           /* a stray continuation byte */
        else if (*p == '\\')
            fputs("\\e", f);
        else if (*p == '-')
            fputs("\\-", f);
        else
            fputc(*p, f);
        bol = *p == '\n';
    }
}

static void html(FILE *f, const char *text)
{
    for (const char *p = text; *p; p++) {
        switch (*p) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*p, f);
        }
    }
}

/* A group's declarations, a line each, then between, then its comment,
 * each escaped by esc. */
static void put_group(FILE *f, const group *g, void (*esc)(FILE *, const char *),
                      const char *between)
{
    for (size_t i = 0; i < g->count; i++) {
        esc(f, items[g->first + i].decl);
        fputc('\n', f);
    }
    fputs(between, f);
    esc(f, g->doc ? g->doc : "(undocumented)");
}

static FILE *create(const char *dir, const char *name)
{
    char path[4096];
    int n = snprintf(path, sizeof path, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= sizeof path) {
        fprintf(stderr, "mangen: %s/%s: path too long\n", dir, name);
        exit(1);
    }
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "mangen: %s: %s\n", path, strerror(errno));
        exit(1);
    }
    return f;
}

static void finish(FILE *f)
{
    if (ferror(f) || fclose(f) != 0) {
        fprintf(stderr, "mangen: write error\n");
        exit(1);
    }
}

static void upper_name(FILE *f, const char *name)
{
    for (const char *p = name; *p; p++)
        fputc(*p == '-' ? '_' : toupper((unsigned char)*p), f);
}

static void write_page(const char *dir, const group *g)
{
    const item *first = &items[g->first];
    char file[512];
    snprintf(file, sizeof file, "%s.3", first->name);
    FILE *f = create(dir, file);
    char *sum = summary(g->doc);
    fputs(".TH ", f);
    upper_name(f, first->name);
    fprintf(f, " 3 \"\" \"%s\" \"Crucible Manual\"\n.SH NAME\n", VERSION_TEXT);
    for (size_t i = 0; i < g->count; i++)
        fprintf(f, "%s%s", i ? ", " : "", items[g->first + i].name);
    fputs(" \\- ", f);
    roff(f, sum);
    fputs("\n.SH SYNOPSIS\n.nf\n.B #include <crucible.h>\n.PP\n", f);
    put_group(f, g, roff, ".fi\n.SH DESCRIPTION\n.nf\n");
    fputs("\n.fi\n.SH SECTION\n", f);
    roff(f, g->section);
    fprintf(f, " (%s)\n.SH SEE ALSO\n.BR crucible (3)\n", g->header);
    finish(f);
    free(sum);
    /* The group's other names point at this page. */
    for (size_t i = 1; i < g->count; i++) {
        char alias[512];
        snprintf(alias, sizeof alias, "%s.3", items[g->first + i].name);
        if (strcmp(alias, file) == 0)
            continue;
        FILE *a = create(dir, alias);
        fprintf(a, ".so man3/%s\n", file);
        finish(a);
    }
}

static void write_index(const char *dir)
{
    FILE *f = create(dir, "crucible.3");
    fprintf(f, ".TH CRUCIBLE 3 \"\" \"%s\" \"Crucible Manual\"\n", VERSION_TEXT);
    fputs(".SH NAME\ncrucible \\- the SQL toolkit and ORM for C\n"
          ".SH SYNOPSIS\n.nf\n.B #include <crucible.h>\n.fi\n"
          ".SH DESCRIPTION\nOne API over SQLite, PostgreSQL and MySQL/MariaDB: engine and pool,\n"
          "schema and reflection, an SQL expression language, and an ORM over plain C\n"
          "structs. Each function, macro and type below has a page of its own.\n", f);
    reset_shown();
    for (size_t i = 0; i < nsections; i++)
        if (strstr(sections[i].title, ".h") && sections[i].intro) {
            fputs(".SS ", f);
            roff(f, sections[i].title);
            fputs("\n.nf\n", f);
            roff(f, sections[i].intro);
            fputs("\n.fi\n", f);
            sections[i].shown = true;
        }
    const char *section = NULL;
    for (size_t i = 0; i < ngroups; i++) {
        const group *g = &groups[i];
        if (!section || strcmp(section, g->section) != 0) {
            section = g->section;
            fputs(".SH ", f);
            roff(f, section);
            fputc('\n', f);
            const char *intro = section_intro(section);
            if (intro) {
                fputs(".nf\n", f);
                roff(f, intro);
                fputs("\n.fi\n", f);
            }
        }
        char *sum = summary(g->doc);
        for (size_t k = 0; k < g->count; k++) {
            fprintf(f, ".TP\n.BR %s (3)\n", items[g->first + k].name);
            if (k == 0) {
                roff(f, sum);
                fputc('\n', f);
            } else {
                fprintf(f, "See %s.\n", items[g->first].name);
            }
        }
        free(sum);
    }
    fputs(".SH SEE ALSO\n.BR crucible (1)\n", f);
    finish(f);
}

static void write_html(const char *dir)
{
    FILE *f = create(dir, "reference.html");
    fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
               "<title>%s reference</title>\n<style>body{max-width:62em;margin:auto;"
               "font-family:sans-serif}pre{background:#f4f4f4;padding:.6em;overflow:auto}"
               "h3{font-family:monospace}</style></head><body>\n<h1>%s reference</h1>\n"
               "<p>Made from the public headers (<code>crucible.h</code> and "
               "<code>crucible/*.h</code>).</p>\n<h2>Contents</h2>\n<ul>\n",
            VERSION_TEXT, VERSION_TEXT);
    const char *section = NULL;
    int nsec = 0;
    for (size_t i = 0; i < ngroups; i++)
        if (!section || strcmp(section, groups[i].section) != 0) {
            section = groups[i].section;
            fprintf(f, "<li><a href=\"#s%d\">", nsec++);
            html(f, section);
            fputs("</a></li>\n", f);
        }
    fputs("</ul>\n", f);
    reset_shown();
    section = NULL;
    nsec = 0;
    for (size_t i = 0; i < ngroups; i++) {
        const group *g = &groups[i];
        if (!section || strcmp(section, g->section) != 0) {
            section = g->section;
            fprintf(f, "<h2 id=\"s%d\">", nsec++);
            html(f, section);
            fputs("</h2>\n", f);
            const char *intro = section_intro(section);
            if (intro) {
                fputs("<pre>", f);
                html(f, intro);
                fputs("</pre>\n", f);
            }
        }
        fprintf(f, "<h3 id=\"%s\">", items[g->first].name);
        for (size_t k = 0; k < g->count; k++) {
            if (k)
                fprintf(f, ", <span id=\"%s\"></span>", items[g->first + k].name);
            html(f, items[g->first + k].name);
        }
        fputs("</h3>\n<pre>", f);
        put_group(f, g, html, "</pre>\n<pre>");
        fputs("</pre>\n", f);
    }
    fputs("</body></html>\n", f);
    finish(f);
}

static void make_dir(const char *path)
{
    if (mkdir(path, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "mangen: %s: %s\n", path, strerror(errno));
        exit(1);
    }
}

int main(int argc, char **argv)
{
    bool check = argc > 1 && strcmp(argv[1], "--check") == 0;
    if (argc < 3) {
        fputs("usage: mangen OUTDIR HEADER... | mangen --check HEADER...\n", stderr);
        return 2;
    }
    for (int i = 2; i < argc; i++) {
        const char *display = strstr(argv[i], "include/");
        read_header(argv[i], display ? display + 8 : argv[i]);
    }
    if (check) {
        int missing = 0;
        for (size_t i = 0; i < nitems; i++)
            if (items[i].api && !groups[items[i].group].doc) {
                fprintf(stderr, "%s: %s has no comment\n", groups[items[i].group].header,
                        items[i].name);
                missing++;
            }
        size_t napi = 0;
        for (size_t i = 0; i < nitems; i++)
            napi += items[i].api;
        printf("%zu public functions, %zu items in %zu groups, %d undocumented\n", napi, nitems,
               ngroups, missing);
        return missing ? 1 : 0;
    }
    char path[4096];
    make_dir(argv[1]);
    snprintf(path, sizeof path, "%s/man3", argv[1]);
    make_dir(path);
    for (size_t i = 0; i < ngroups; i++)
        write_page(path, &groups[i]);
    write_index(path);
    snprintf(path, sizeof path, "%s/html", argv[1]);
    make_dir(path);
    write_html(path);
    return 0;
}
