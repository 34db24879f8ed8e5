/* command.c — the migration commands in one call (cr_migrate_command), for a program's own `db upgrade` and, later, the crucible tool. */
#include "migrate/migrate.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct cmd {
    cr_engine *engine;
    cr_migrate_script *s;
    cr_log_fn out;
    void *ud;
    cr_error err;
    cr_error *sub;          /* an error handed back by a run function */
} cmd;

static void say(cmd *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(cmd *c, const char *fmt, ...)
{
    if (!c->out)
        return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    c->out(c->ud, line);
}

/* Text line by line to out. */
static void say_lines(cmd *c, const char *text)
{
    while (*text) {
        const char *end = strchr(text, '\n');
        size_t n = end ? (size_t)(end - text) : strlen(text);
        say(c, "%.*s", (int)n, text);
        text += n + (end != NULL);
    }
}

static cr_status usage(cmd *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static cr_status usage(cmd *c, const char *fmt, ...)
{
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return cr_error_set(&c->err, CR_ERR_ARGUMENT, "%s (commands: upgrade [TARGET] [--strict] "
                        "[--sql], downgrade TARGET [--sql], current, history, heads, stamp "
                        "TARGET, check [TARGET], revision MESSAGE [--autogenerate "
                        "[--metadata-tables-only]], merge MESSAGE)", what);
}

/* A run function's status, its error kept for the caller. */
/* A failure of a call that stored its error in e: keep e for the caller.
 * (Call it with the status already computed: sub(c, f(&e), e) would read e
 * in whatever order the compiler evaluates the arguments.) */
static cr_status sub(cmd *c, cr_status st, cr_error *e)
{
    c->sub = e;
    return st;
}

/* --sql: "from:to" or just "to" (from base). */
static cr_status offline(cmd *c, const char *range, bool down)
{
    char from[CR_MIGRATE_ID_MAX * 2 + 2] = "base";
    const char *to = range;
    const char *colon = range ? strchr(range, ':') : NULL;
    if (colon) {
        snprintf(from, sizeof from, "%.*s", (int)(colon - range), range);
        to = colon + 1;
    } else if (down) {
        return usage(c, "downgrade --sql needs FROM:TO (offline there is no database to start "
                        "from)");
    }
    char *sql = NULL;
    cr_error *e = NULL;
    cr_status st = cr_migrate_offline_sql(c->s, cr_engine_backend(c->engine), from, to, &sql, &e);
    if (st == CR_OK)
        say_lines(c, sql);
    free(sql);
    return sub(c, st, e);
}

static cr_status history(cmd *c)
{
    for (size_t i = cr_migrate_revision_count(c->s); i-- > 0;) {
        const cr_revision *r = cr_migrate_revision_at(c->s, i);
        char parents[256] = "<base>";
        size_t off = 0;
        for (size_t p = 0; p < r->nparents && off < sizeof parents; p++)
            off += (size_t)snprintf(parents + off, sizeof parents - off, "%s%s", p ? ", " : "",
                                    r->parents[p]);
        bool head = false;
        const cr_revision *heads[16];
        size_t nh = cr_migrate_script_heads(c->s, heads, 16);
        for (size_t h = 0; h < nh && h < 16; h++)
            head |= heads[h] == r;
        say(c, "%s -> %s%s, %s", parents, r->id, head ? " (head)" : "", r->message);
    }
    return CR_OK;
}

static cr_status current(cmd *c)
{
    cr_migrate_state *state = NULL;
    cr_error *e = NULL;
    cr_status st = cr_migrate_current(c->engine, &state, &e);
    if (st == CR_OK) {
        for (size_t i = 0; i < state->nheads; i++)
            say(c, "%s", state->heads[i]);
        if (state->partial)
            say(c, "%s (left part-way: %s)", state->partial, state->progress);
        if (!state->nheads && !state->partial)
            say(c, "<base>");
    }
    cr_migrate_state_free(state);
    return sub(c, st, e);
}

static cr_status check(cmd *c, const char *target)
{
    cr_migrate_finding *f = NULL;
    size_t n = 0;
    cr_error *e = NULL;
    cr_status st = cr_migrate_check(c->s, c->engine, NULL, NULL, target, &f, &n, &e);
    for (size_t i = 0; st == CR_OK && i < n; i++)
        say(c, "%s", f[i].message);
    free(f);
    if (st != CR_OK)
        return sub(c, st, e);
    if (n)
        return cr_error_set(&c->err, CR_ERR_INVALID_REQUEST,
                            "the migration check flags %zu operation(s)", n);
    say(c, "the migration check found nothing");
    return CR_OK;
}

/* A new revision id: 12 hex digits from the system's random source (as
 * Alembic's uuid4().hex[-12:]). */
static cr_status new_id(cmd *c, char id[13])
{
    unsigned char bytes[6];
    FILE *f = fopen("/dev/urandom", "rb");
    bool ok = f && fread(bytes, 1, sizeof bytes, f) == sizeof bytes;
    if (f)
        fclose(f);
    if (!ok)
        return cr_error_set(&c->err, CR_ERR_OPERATIONAL, "cannot read /dev/urandom for a "
                            "revision id");
    for (size_t i = 0; i < sizeof bytes; i++)
        snprintf(id + 2 * i, 3, "%02x", bytes[i]);
    return CR_OK;
}

/* The body of an autogenerated revision: the notes as comments, then the
 * upgrade and downgrade operations as text. */
typedef struct rev_body {
    const cr_migrate_diff *diff;
    char *up, *down;
} rev_body;

/* revision MESSAGE / merge MESSAGE: a new file <id>_<slug>.rev whose
 * parent is the head (revision; refused when there are several) or every
 * head (merge), with empty sections to fill in, or body's. Its path goes to
 * out and, when path is not NULL, to *path (the caller's, free()). */
static cr_status new_revision(cmd *c, const char *dir, const char *message, bool merge,
                              const rev_body *body, char **path_out)
{
    const cr_revision *heads[16];
    size_t n = cr_migrate_script_heads(c->s, heads, 16);
    if (n > 16)
        return cr_error_set(&c->err, CR_ERR_INVALID_REQUEST, "more than 16 heads");
    if (!merge && n > 1)
        return cr_error_set(&c->err, CR_ERR_INVALID_REQUEST,
                            "the history has %zu heads: merge them first (merge MESSAGE)", n);
    if (merge && n < 2)
        return cr_error_set(&c->err, CR_ERR_INVALID_REQUEST,
                            "the history has %zu head(s): nothing to merge", n);
    for (const char *p = message; *p; p++)
        if (*p == '\n' || *p == '\r')
            return usage(c, "the message must be one line");
    char id[13];
    cr_status st = new_id(c, id);
    if (st)
        return st;
    char slug[41];
    size_t k = 0;
    for (const char *p = message; *p && k < sizeof slug - 1; p++) {
        char ch = *p;
        bool word = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
        if (ch >= 'A' && ch <= 'Z')
            ch = (char)(ch - 'A' + 'a'), word = true;
        if (word)
            slug[k++] = ch;
        else if (k && slug[k - 1] != '_')
            slug[k++] = '_';
    }
    while (k && slug[k - 1] == '_')
        k--;
    slug[k] = '\0';
    char path[4096];
    snprintf(path, sizeof path, "%s/%s%s%s.rev", dir, id, k ? "_" : "", slug);
    FILE *f = fopen(path, "wx");
    if (!f)
        return cr_error_set(&c->err, CR_ERR_OPERATIONAL, "cannot create %s", path);
    fprintf(f, "-- revision: %s\n-- parent: ", id);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s%s", i ? ", " : "", heads[i]->id);
    fprintf(f, "%s\n-- message: %s\n\n", n ? "" : "base", message);
    if (body) {
        fprintf(f, "# autogenerated: review it before running it\n");
        for (size_t i = 0; i < body->diff->nnotes; i++)
            fprintf(f, "# NOTE: %s\n", body->diff->notes[i]);
        if (!body->diff->nupgrade)
            fprintf(f, "# no differences found\n");
        fprintf(f, "\n-- upgrade\n%s\n-- downgrade\n%s", body->up, body->down);
    } else {
        fprintf(f, "-- upgrade\n\n-- downgrade\n");
    }
    if (fclose(f) != 0)
        return cr_error_set(&c->err, CR_ERR_OPERATIONAL, "cannot write %s", path);
    if (path_out && !(*path_out = strdup(path)))
        return cr_error_oom(&c->err);
    say(c, "%s", path);
    return CR_OK;
}

/* Whether the database is at the script's head (or both at base): what
 * autogenerate compares must be what the history already made. */
static cr_status at_head(cmd *c)
{
    const cr_revision *heads[16];
    size_t n = cr_migrate_script_heads(c->s, heads, 16);
    if (n > 1)
        return cr_error_set(&c->err, CR_ERR_INVALID_REQUEST,
                            "the history has %zu heads: merge them first (merge MESSAGE)", n);
    cr_migrate_state *state = NULL;
    cr_error *e = NULL;
    cr_status st = cr_migrate_current(c->engine, &state, &e);
    if (st != CR_OK)
        return sub(c, st, e);
    bool same = !state->partial && state->nheads == n &&
                (n == 0 || strcmp(state->heads[0], heads[0]->id) == 0);
    if (!same)
        st = cr_error_set(&c->err, CR_ERR_INVALID_REQUEST,
                          "the database is not up to date (at %s, the head is %s): upgrade it "
                          "before autogenerating a revision",
                          state->partial ? state->partial
                          : state->nheads ? state->heads[0] : "base",
                          n ? heads[0]->id : "base");
    cr_migrate_state_free(state);
    return st;
}

/* What autogenerate found, as Alembic's "Detected ..." lines: each
 * operation's first line, then the notes. */
static void say_detected(cmd *c, const char *ops, const cr_migrate_diff *diff)
{
    for (const char *p = ops; *p;) {
        size_t n = strcspn(p, "\n");
        if (*p != ' ')          /* not a create_table's continuation line */
            say(c, "detected: %.*s", (int)n, p);
        p += n + (p[n] == '\n');
    }
    for (size_t i = 0; i < diff->nnotes; i++)
        say(c, "note: %s", diff->notes[i]);
}

/* revision MESSAGE --autogenerate. */
static cr_status autogenerate(cmd *c, const char *dir, const cr_metadata *md,
                              const char *message, const cr_migrate_compare_options *opts,
                              char **path)
{
    if (!md)
        return cr_error_set(&c->err, CR_ERR_ARGUMENT, "revision --autogenerate needs the "
                            "program's metadata (cr_migrate_command's metadata is NULL)");
    cr_status st = at_head(c);
    if (st != CR_OK)
        return st;
    cr_migrate_diff *diff = NULL;
    cr_error *e = NULL;
    rev_body body = {NULL, NULL, NULL};
    st = cr_migrate_compare_opts(c->engine, md, opts, &diff, &e);
    if (st == CR_OK)
        st = cr_migrate_ops_text(diff->upgrade, diff->nupgrade, &body.up, &e);
    if (st == CR_OK)
        st = cr_migrate_ops_text(diff->downgrade, diff->ndowngrade, &body.down, &e);
    if (st == CR_OK) {
        body.diff = diff;
        say_detected(c, body.up, diff);
        st = new_revision(c, dir, message, false, &body, path);
    } else {
        st = sub(c, st, e);
    }
    free(body.up);
    free(body.down);
    cr_migrate_diff_free(diff);
    return st;
}

static cr_status dispatch(cmd *c, const char *dir, const cr_metadata *md, int argc,
                          const char *const *argv)
{
    const char *name = argv[0];
    assert(name);       /* cr_migrate_command checked argv[0] */
    const char *target = NULL;
    bool strict = false, sql = false, autogen = false;
    cr_migrate_compare_options compare = {0};
    for (int i = 1; i < argc; i++) {
        if (!argv[i])
            return usage(c, "argument %d is NULL", i);
        if (strcmp(argv[i], "--strict") == 0)
            strict = true;
        else if (strcmp(argv[i], "--sql") == 0)
            sql = true;
        else if (strcmp(argv[i], "--autogenerate") == 0)
            autogen = true;
        else if (strcmp(argv[i], "--metadata-tables-only") == 0)
            compare.metadata_tables_only = true;
        else if (strcmp(argv[i], "-m") == 0 && !target) {
            if (i + 1 >= argc || !argv[i + 1])
                return usage(c, "%s: -m needs a message", name);
            target = argv[++i];
        }
        else if (argv[i][0] == '-' || target)
            return usage(c, "%s: unexpected argument '%s'", name, argv[i]);
        else
            target = argv[i];
    }
    bool up = strcmp(name, "upgrade") == 0, down = strcmp(name, "downgrade") == 0;
    if ((strict && !up) || (sql && !up && !down))
        return usage(c, "%s takes no %s", name, strict ? "--strict" : "--sql");
    if (autogen && strcmp(name, "revision") != 0)
        return usage(c, "%s takes no --autogenerate", name);
    if (compare.metadata_tables_only && !autogen)
        return usage(c, "--metadata-tables-only goes with revision --autogenerate");
    cr_error *e = NULL;
    if (up && sql)
        return offline(c, target, false);
    if (up) {
        cr_migrate_options o = {strict};
        cr_status st = cr_migrate_upgrade(c->s, c->engine, target, &o, &e);
        return sub(c, st, e);
    }
    if (down && !target)
        return usage(c, "downgrade needs a target (an id or base)");
    if (down && sql)
        return offline(c, target, true);
    if (down) {
        cr_status st = cr_migrate_downgrade(c->s, c->engine, target, &e);
        return sub(c, st, e);
    }
    if (strcmp(name, "stamp") == 0) {
        if (!target)
            return usage(c, "stamp needs a target (an id, head or base)");
        cr_status st = cr_migrate_stamp(c->s, c->engine, target, &e);
        return sub(c, st, e);
    }
    if (strcmp(name, "check") == 0)
        return check(c, target);
    if (strcmp(name, "revision") == 0 || strcmp(name, "merge") == 0) {
        if (!target)
            return usage(c, "%s needs a message", name);
        if (autogen)
            return autogenerate(c, dir, md, target, &compare, NULL);
        return new_revision(c, dir, target, name[0] == 'm', NULL, NULL);
    }
    if (target)
        return usage(c, "%s takes no argument", name);
    if (strcmp(name, "current") == 0)
        return current(c);
    if (strcmp(name, "history") == 0)
        return history(c);
    if (strcmp(name, "heads") == 0) {
        const cr_revision *heads[16];
        size_t n = cr_migrate_script_heads(c->s, heads, 16);
        for (size_t i = 0; i < n && i < 16; i++)
            say(c, "%s (head)", heads[i]->id);
        return CR_OK;
    }
    return usage(c, "unknown command '%s'", name);
}

/* The end of a public call: the error (a run function's, or the command's
 * own) to *err, the script freed. */
static cr_status finish(cmd *c, cr_status st, cr_error **err)
{
    if (err)
        *err = st == CR_OK ? NULL : c->sub ? c->sub : cr_error_dup(&c->err);
    if (!err || st == CR_OK || !c->sub)
        cr_error_free(c->sub);
    cr_error_clear(&c->err);
    cr_migrate_script_free(c->s);
    return st;
}

cr_status cr_migrate_command(cr_engine *engine, const char *directory,
                             const cr_metadata *metadata, int argc, const char *const *argv,
                             cr_log_fn out, void *userdata, cr_error **err)
{
    cmd c = {engine, NULL, out, userdata, {0}, NULL};
    cr_error_init(&c.err);
    cr_status st = CR_OK;
    if (!engine || !directory)
        st = cr_error_set(&c.err, CR_ERR_ARGUMENT, "cr_migrate_command: the %s is NULL",
                          engine ? "directory" : "engine");
    else if (argc < 1 || !argv || !argv[0])
        st = usage(&c, "no command given");
    if (st == CR_OK) {
        cr_error *e = NULL;
        c.s = cr_migrate_load(directory, &e);
        st = c.s ? dispatch(&c, directory, metadata, argc, argv) : sub(&c, e ? cr_error_class(e) : CR_ERR_NO_MEMORY, e);
    }
    return finish(&c, st, err);
}

/* cr_migrate_autogenerate and cr_migrate_autogenerate_opts; fn names the call in errors. */
static cr_status autogenerate_call(const char *fn, cr_engine *engine, const char *directory,
                                   const cr_metadata *metadata, const char *message,
                                   const cr_migrate_compare_options *opts, char **path,
                                   cr_error **err)
{
    cmd c = {engine, NULL, NULL, NULL, {0}, NULL};
    cr_error_init(&c.err);
    cr_status st = CR_OK;
    if (path)
        *path = NULL;
    if (!engine || !directory || !metadata || !message)
        st = cr_error_set(&c.err, CR_ERR_ARGUMENT, "%s: the %s is NULL", fn,
                          !engine ? "engine" : !directory ? "directory"
                          : !metadata ? "metadata" : "message");
    if (st == CR_OK) {
        cr_error *e = NULL;
        c.s = cr_migrate_load(directory, &e);
        st = c.s ? autogenerate(&c, directory, metadata, message, opts, path)
                 : sub(&c, e ? cr_error_class(e) : CR_ERR_NO_MEMORY, e);
    }
    return finish(&c, st, err);
}

cr_status cr_migrate_autogenerate(cr_engine *engine, const char *directory,
                                  const cr_metadata *metadata, const char *message, char **path,
                                  cr_error **err)
{
    return autogenerate_call("cr_migrate_autogenerate", engine, directory, metadata, message,
                             NULL, path, err);
}

cr_status cr_migrate_autogenerate_opts(cr_engine *engine, const char *directory,
                                       const cr_metadata *metadata, const char *message,
                                       const cr_migrate_compare_options *opts, char **path,
                                       cr_error **err)
{
    return autogenerate_call("cr_migrate_autogenerate_opts", engine, directory, metadata,
                             message, opts, path, err);
}
