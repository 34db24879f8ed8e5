/* fuzz_sqltext.c — textual SQL with :name parameters on in-memory SQLite: a bound text value
 * comes back byte-exact.
 *
 * Input: SQL text, a NUL byte, then a value (any bytes, NULs and invalid
 * UTF-8 included). The value is bound as text and as a blob in fixed
 * statements and read back, which must give the same bytes; then the fuzzed
 * SQL runs with every :name it holds bound to the value (nothing to check but
 * that nothing crashes). SQL that could reach the file system (ATTACH,
 * VACUUM INTO, PRAGMA) is not run. */
#include "fuzz.h"
#include "sqlite_limits.h"

#include "engine/sqltext.h"

#include <strings.h>

static bool contains_word(const char *sql, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = sql; *p; p++)
        if (strncasecmp(p, word, n) == 0)
            return true;
    return false;
}

static void expect_bytes(cr_conn *c, const char *sql, const cr_param *params, bool blob,
                         const char *v, size_t len)
{
    cr_result *r = cr_conn_execute(c, sql, params);
    if (!r) {
        const cr_error *e = cr_conn_error(c);
        /* Too long for the length limit set above: not the oracle's business. */
        if (e && strstr(cr_error_message(e), "too big"))
            return;
        fuzz_fail("%s failed: %s", sql, e ? cr_error_message(e) : "?");
    }
    const cr_row *row = cr_result_fetchone(r);
    FUZZ_CHECK(row, "%s returned no row", sql);
    const void *out = NULL;
    size_t n = 0;
    cr_status st = blob ? cr_row_blob_at(row, 0, &out, &n)
                        : cr_row_text_at(row, 0, (const char **)&out, &n);
    FUZZ_CHECK(st == CR_OK, "%s: reading the value failed: %s", sql,
               cr_error_message(cr_row_error(row)));
    if (n != len || (len && memcmp(out, v, len) != 0))
        fuzz_fail("%s: %zu bytes bound as %s came back as %zu different bytes", sql, len,
                  blob ? "a blob" : "text", n);
    if (!blob)
        FUZZ_CHECK(((const char *)out)[n] == '\0', "%s: text not NUL-terminated", sql);
    cr_result_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    size_t sql_len = nul ? (size_t)(nul - data) : size;
    char *sql = strndup((const char *)data, sql_len);
    size_t vlen = nul ? size - sql_len - 1 : 0;
    char *v = malloc(vlen + 1);
    if (vlen)
        memcpy(v, nul + 1, vlen);
    v[vlen] = '\0';

    cr_error *err = NULL;
    cr_engine *e = cr_create_engine("sqlite://", NULL, &err);
    FUZZ_CHECK(e, "no engine: %s", cr_error_message(err));
    cr_conn *c = cr_engine_connect(e, &err);
    FUZZ_CHECK(c, "no connection: %s", cr_error_message(err));
    fuzz_limit_sqlite(c);

    /* The oracle: the value comes back byte for byte. */
    const cr_param text[] = {{"v", cr_val_textn(v, vlen)}, {NULL, {CR_NULL, {0}}}};
    const cr_param blob[] = {{"v", cr_val_blob(v, vlen)}, {NULL, {CR_NULL, {0}}}};
    expect_bytes(c, "SELECT :v", text, false, v, vlen);
    expect_bytes(c, "SELECT :v AS \"a:b\", ':v' -- :w\n", text, false, v, vlen);
    expect_bytes(c, "SELECT :v", blob, true, v, vlen);
    FUZZ_CHECK(cr_conn_exec(c, "CREATE TABLE t (id INTEGER PRIMARY KEY, s TEXT, b BLOB)", NULL) ==
                   CR_OK, "CREATE TABLE failed");
    const cr_param both[] = {{"s", cr_val_textn(v, vlen)}, {"b", cr_val_blob(v, vlen)},
                             {NULL, {CR_NULL, {0}}}};
    if (cr_conn_exec(c, "INSERT INTO t (s, b) VALUES (:s, :b)", both) == CR_OK) {
        expect_bytes(c, "SELECT s FROM t", NULL, false, v, vlen);
        expect_bytes(c, "SELECT b FROM t", NULL, true, v, vlen);
        expect_bytes(c, "SELECT s FROM t WHERE s = :v", text, false, v, vlen);
    }

    /* The fuzzed SQL, each of its parameters bound to the value. */
    if (!contains_word(sql, "attach") && !contains_word(sql, "vacuum") &&
        !contains_word(sql, "pragma")) {
        cr_sqltext parsed;
        cr_error perr = {0};
        if (cr_sqltext_parse(sql, CR_PARAM_NUMBERED_QMARK, &parsed, &perr) == CR_OK) {
            cr_param *params = calloc((size_t)parsed.nnames + 1, sizeof *params);
            for (int i = 0; i < parsed.nnames; i++)
                params[i] = (cr_param){parsed.names[i], cr_val_textn(v, vlen)};
            cr_result *r = cr_conn_execute(c, sql, params);
            if (r) {
                for (int i = 0; i < 100 && cr_result_fetchone(r); i++)
                    ;
                cr_result_free(r);
            } else {
                const cr_error *e2 = cr_conn_error(c);
                FUZZ_CHECK(e2 && *cr_error_message(e2), "execute failed with no error");
            }
            free(params);
            cr_sqltext_free(&parsed);
        }
        cr_error_clear(&perr);
    }
    cr_conn_close(c);
    cr_engine_free(e);
    free(v);
    free(sql);
    return 0;
}
