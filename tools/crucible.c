/* crucible.c — the `crucible` command: look at a live database, declare its tables in C, migrate its schema. */
#include "codegen.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char usage_text[] =
    "usage: crucible inspect URL [--tables a,b] [--exclude a,b]\n"
    "       crucible codegen URL [--prefix NAME] [--tables-only] [--tables a,b]\n"
    "                            [--exclude a,b] [-o FILE]\n"
    "       crucible upgrade URL [TARGET] [--strict] [--sql] [-d DIR]\n"
    "       crucible downgrade URL TARGET [--sql] [-d DIR]\n"
    "       crucible current URL [-d DIR]      crucible stamp URL TARGET [-d DIR]\n"
    "       crucible check URL [TARGET] [-d DIR]\n"
    "       crucible history|heads [URL] [-d DIR]\n"
    "       crucible revision|merge [URL] [-m] MESSAGE [-d DIR]\n"
    "       crucible --version | --help\n"
    "\n"
    "  inspect    list the tables, columns, keys and indexes as the Inspector sees them\n"
    "  codegen    write a C header declaring every table (as a model, with relationships\n"
    "             from the foreign keys, when it has a primary key) and NAME_define(md)\n"
    "  upgrade    apply the revisions of DIR (default: migrations) up to TARGET (head);\n"
    "             --sql prints the SQL instead (FROM:TO for a range), --strict refuses\n"
    "             what the check flags\n"
    "  downgrade  undo revisions down to TARGET (an id, or base)\n"
    "  current    where the database is, as its crucible_version table says\n"
    "  stamp      set crucible_version to TARGET without running anything\n"
    "  check      list what an upgrade would do that loses data or locks a table\n"
    "  history    the revisions, newest first; heads: the newest of each branch\n"
    "  revision   write a new revision file after the head; merge: one after every head\n"
    "             (--autogenerate is a program's own, through cr_migrate_command: this\n"
    "             command has no schema to compare with the database)\n"
    "\n"
    "URL is a database URL (sqlite:///file.db, postgresql://..., mysql://...); when it\n"
    "is -, the DATABASE_URL environment variable is used.\n";

static int usage(void)
{
    fputs(usage_text, stderr);
    return 2;
}

static int fail(const char *what, const char *detail)
{
    fprintf(stderr, "crucible: %s: %s\n", what, detail);
    return 1;
}

#define MAX_ARGS 16

typedef struct args {
    const char *command, *url, *output, *directory;
    const char *rest[MAX_ARGS];   /* a migration command's arguments after the URL */
    int nrest;
    tool_tables tables;
    codegen_options codegen;
} args;

static const char *const migrate_commands[] = {
    "upgrade", "downgrade", "current", "stamp", "check", "history", "heads", "revision", "merge",
    NULL
};

static bool is_migrate_command(const char *name)
{
    for (int i = 0; migrate_commands[i]; i++)
        if (strcmp(name, migrate_commands[i]) == 0)
            return true;
    return false;
}

/* Commands that read only the migrations directory: their URL is optional. */
static bool needs_no_database(const char *name)
{
    return strcmp(name, "history") == 0 || strcmp(name, "heads") == 0 ||
           strcmp(name, "revision") == 0 || strcmp(name, "merge") == 0;
}

static bool looks_like_url(const char *s)
{
    return strcmp(s, "-") == 0 || strstr(s, "://") != NULL;
}

/* Parse argv; returns 0, or the exit status of a usage error. */
static int parse(int argc, char **argv, args *a)
{
    memset(a, 0, sizeof *a);
    a->codegen.prefix = "models";
    a->directory = "migrations";
    const char *pos[MAX_ARGS];
    int npos = 0;
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        bool takes = strcmp(s, "--tables") == 0 || strcmp(s, "--exclude") == 0 ||
                     strcmp(s, "--prefix") == 0 || strcmp(s, "-o") == 0 || strcmp(s, "-d") == 0;
        if (takes && !value) {
            fprintf(stderr, "crucible: %s needs a value\n", s);
            return 2;
        }
        if (strcmp(s, "--tables") == 0)
            a->tables.only = value;
        else if (strcmp(s, "--exclude") == 0)
            a->tables.exclude = value;
        else if (strcmp(s, "--prefix") == 0)
            a->codegen.prefix = value;
        else if (strcmp(s, "-o") == 0)
            a->output = value;
        else if (strcmp(s, "-d") == 0)
            a->directory = value;
        else if (strcmp(s, "--tables-only") == 0)
            a->codegen.tables_only = true;
        else if ((strcmp(s, "--sql") == 0 || strcmp(s, "--strict") == 0) && npos < MAX_ARGS)
            pos[npos++] = s;       /* the migration command's own flags, kept in place */
        else if (strcmp(s, "-m") == 0 && value && npos + 1 < MAX_ARGS) {
            pos[npos++] = s;       /* revision -m MESSAGE, as Alembic spells it */
            pos[npos++] = value;
            i++;
        }
        else if (s[0] == '-' && s[1] && strcmp(s, "-") != 0) {
            fprintf(stderr, "crucible: unknown option %s\n", s);
            return usage();
        } else if (npos < MAX_ARGS)
            pos[npos++] = s;
        else {
            fprintf(stderr, "crucible: too many arguments\n");
            return usage();
        }
        i += takes;
    }
    if (npos == 0)
        return usage();
    a->command = pos[0];
    int next = 1;
    if (npos > 1 && (!needs_no_database(a->command) || looks_like_url(pos[1])))
        a->url = pos[next++];
    for (; next < npos; next++)
        a->rest[a->nrest++] = pos[next];
    bool migrate = is_migrate_command(a->command);
    if (!migrate && strcmp(a->command, "inspect") != 0 && strcmp(a->command, "codegen") != 0) {
        fprintf(stderr, "crucible: unknown command %s\n", a->command);
        return usage();
    }
    if (!migrate && a->nrest) {
        fprintf(stderr, "crucible: unexpected argument %s\n", a->rest[0]);
        return usage();
    }
    if (!a->url && !(migrate && needs_no_database(a->command)))
        return usage();
    if (a->url && strcmp(a->url, "-") == 0) {
        a->url = getenv("DATABASE_URL");
        if (!a->url || !*a->url) {
            fprintf(stderr, "crucible: URL is -, and DATABASE_URL is not set\n");
            return 2;
        }
    }
    return 0;
}

static void print_line(void *userdata, const char *line)
{
    fprintf(userdata, "%s\n", line);
}

/* A migration command through cr_migrate_command, the call a program embeds
 * for its own `db ...` command. Commands that need no database get an
 * engine on an in-memory SQLite database, which they never connect. */
static int run_migrate(const args *a)
{
    cr_error *err = NULL;
    cr_engine *engine = cr_create_engine(a->url ? a->url : "sqlite://", NULL, &err);
    if (!engine) {
        int status = fail("engine", err ? cr_error_message(err) : "out of memory");
        cr_error_free(err);
        return status;
    }
    /* The first revision makes the directory (alembic init's part). */
    if (strcmp(a->command, "revision") == 0 && mkdir(a->directory, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "crucible: %s: %s\n", a->directory, strerror(errno));
        cr_engine_free(engine);
        return 1;
    }
    const char *argv[MAX_ARGS + 1] = {a->command};
    for (int i = 0; i < a->nrest; i++)
        argv[i + 1] = a->rest[i];
    cr_status st = cr_migrate_command(engine, a->directory, NULL, a->nrest + 1, argv, print_line,
                                      stdout, &err);
    int status = 0;
    if (fflush(stdout) != 0) {
        perror("stdout");
        status = 1;
    }
    if (st) {
        fprintf(stderr, "crucible: %s: %s: %s\n", a->command,
                err ? cr_error_class_name(err) : cr_status_name(st),
                err ? cr_error_message(err) : "failed");
        status = 1;
    }
    cr_error_free(err);
    cr_engine_free(engine);
    return status;
}

static int run(const args *a, cr_conn *conn)
{
    FILE *out = stdout;
    if (a->output && !(out = fopen(a->output, "w"))) {
        perror(a->output);
        return 1;
    }
    char msg[512] = "";
    cr_status st;
    if (strcmp(a->command, "inspect") == 0) {
        st = tool_inspect(out, conn, &a->tables);
    } else {
        codegen_options opt = a->codegen;
        opt.source = cr_engine_url(cr_conn_engine(conn));
        st = tool_codegen(out, conn, &a->tables, &opt, msg, sizeof msg);
    }
    if (out != stdout && fclose(out) != 0 && !st) {
        perror(a->output);
        return 1;
    }
    if (!st && fflush(stdout) != 0) {
        perror("stdout");
        return 1;
    }
    if (st) {
        const cr_error *err = cr_conn_error(conn);
        if (msg[0] || !err)
            return fail(a->command, msg[0] ? msg : cr_status_name(st));
        fprintf(stderr, "crucible: %s: %s: %s\n", a->command, cr_error_class_name(err),
                cr_error_message(err));
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--version") == 0) {
        printf("crucible %s\n", CRUCIBLE_VERSION);
        return 0;
    }
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(usage_text, stdout);
        return 0;
    }
    args a;
    int status = parse(argc, argv, &a);
    if (status)
        return status;
    if (is_migrate_command(a.command))
        return run_migrate(&a);
    cr_error *err = NULL;
    cr_engine *engine = cr_create_engine(a.url, NULL, &err);
    cr_conn *conn = engine ? cr_engine_connect(engine, &err) : NULL;
    if (!conn) {
        status = fail(a.url[0] ? "cannot connect" : "empty URL",
                      err ? cr_error_message(err) : "out of memory");
        cr_error_free(err);
        cr_engine_free(engine);
        return status;
    }
    status = run(&a, conn);
    cr_conn_close(conn);
    cr_engine_free(engine);
    return status;
}
