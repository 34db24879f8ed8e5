/* fuzz_migrate.c — revision files from hostile text: a parse error names the file and a line of it, and a revision that parses renders offline for every dialect, the same twice, or fails with a clear error.
 *
 * Input: the text of one revision file (up to a NUL byte). Oracles: the
 * parser refuses with an ArgumentError (or InvalidRequestError) whose
 * message starts "fuzz.rev:<line>:" with a line of the text; a revision that
 * parses resolves alone, or not for a parent it names; rendered offline
 * from base to head for SQLite, PostgreSQL and MySQL it gives the same SQL
 * twice, or an error that is not out of memory and says something. */
#include "fuzz.h"

static void check_render(const cr_migrate_script *s, const char *dialect)
{
    char *a = NULL, *b = NULL;
    cr_error *ea = NULL, *eb = NULL;
    cr_status sa = cr_migrate_offline_sql(s, dialect, NULL, NULL, &a, &ea);
    cr_status sb = cr_migrate_offline_sql(s, dialect, NULL, NULL, &b, &eb);
    FUZZ_CHECK(sa == sb, "%s: rendered twice, %s then %s", dialect, cr_status_name(sa),
               cr_status_name(sb));
    if (sa == CR_OK) {
        FUZZ_CHECK(a && b && strcmp(a, b) == 0, "%s: two renderings differ", dialect);
    } else {
        FUZZ_CHECK(sa != CR_ERR_NO_MEMORY && ea && *cr_error_message(ea),
                   "%s: render failed without a message (%s)", dialect, cr_status_name(sa));
        FUZZ_CHECK(!a, "%s: output on failure", dialect);
    }
    free(a);
    free(b);
    cr_error_free(ea);
    cr_error_free(eb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    int lines = 1;
    for (const char *p = text; *p; p++)
        lines += *p == '\n';
    cr_migrate_script *s = cr_migrate_script_new();
    FUZZ_CHECK(s, "no script");
    cr_status st = cr_migrate_script_add(s, "fuzz.rev", text);
    if (st != CR_OK) {
        const char *msg = cr_error_message(cr_migrate_script_error(s));
        FUZZ_CHECK(st == CR_ERR_ARGUMENT || st == CR_ERR_INVALID_REQUEST,
                   "parse: %s (%s)", cr_status_name(st), msg);
        int line = 0;
        FUZZ_CHECK(sscanf(msg, "fuzz.rev:%d:", &line) == 1 && line >= 1 && line <= lines + 1,
                   "parse error without its line: %s", msg);
    } else if (cr_migrate_script_resolve(s) == CR_OK) {
        check_render(s, "sqlite");
        check_render(s, "postgresql");
        check_render(s, "mysql");
    } else {
        FUZZ_CHECK(strstr(cr_error_message(cr_migrate_script_error(s)), "broken chain"),
                   "a lone revision that does not resolve: %s",
                   cr_error_message(cr_migrate_script_error(s)));
    }
    cr_migrate_script_free(s);
    free(text);
    return 0;
}
