/* crucible.c — the `crucible` command: look at a live database, and declare its tables in C. */
#include "codegen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
    "usage: crucible inspect URL [--tables a,b] [--exclude a,b]\n"
    "       crucible codegen URL [--prefix NAME] [--tables-only] [--tables a,b]\n"
    "                            [--exclude a,b] [-o FILE]\n"
    "       crucible --version | --help\n"
    "\n"
    "  inspect   list the tables, columns, keys and indexes as the Inspector sees them\n"
    "  codegen   write a C header declaring every table (as a model, with relationships\n"
    "            from the foreign keys, when it has a primary key) and NAME_define(md)\n"
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

typedef struct args {
    const char *command, *url, *output;
    tool_tables tables;
    codegen_options codegen;
} args;

/* Parse argv; returns 0, or the exit status of a usage error. */
static int parse(int argc, char **argv, args *a)
{
    memset(a, 0, sizeof *a);
    a->codegen.prefix = "models";
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        bool takes = strcmp(s, "--tables") == 0 || strcmp(s, "--exclude") == 0 ||
                     strcmp(s, "--prefix") == 0 || strcmp(s, "-o") == 0;
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
        else if (strcmp(s, "--tables-only") == 0)
            a->codegen.tables_only = true;
        else if (s[0] == '-' && s[1] && strcmp(s, "-") != 0) {
            fprintf(stderr, "crucible: unknown option %s\n", s);
            return usage();
        } else if (!a->command)
            a->command = s;
        else if (!a->url)
            a->url = s;
        else {
            fprintf(stderr, "crucible: unexpected argument %s\n", s);
            return usage();
        }
        i += takes;
    }
    if (!a->command || !a->url)
        return usage();
    if (strcmp(a->url, "-") == 0) {
        a->url = getenv("DATABASE_URL");
        if (!a->url || !*a->url) {
            fprintf(stderr, "crucible: URL is -, and DATABASE_URL is not set\n");
            return 2;
        }
    }
    return 0;
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
    if (strcmp(a.command, "inspect") != 0 && strcmp(a.command, "codegen") != 0) {
        fprintf(stderr, "crucible: unknown command %s\n", a.command);
        return usage();
    }
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
