/* fuzz_datetime.c — cr_datetime_parse / cr_datetime_format round trips: what parses formats,
 * and the text formatted parses back to the same value; a value's str() (cr_value_format) of
 * a parsed one parses back too, and the repr (cr_value_repr) of any text or bytes is
 * printable, control characters escaped. */
#include "fuzz.h"

static bool same(const cr_datetime *a, const cr_datetime *b)
{
    return a->year == b->year && a->month == b->month && a->day == b->day &&
           a->hour == b->hour && a->minute == b->minute && a->second == b->second &&
           a->microsecond == b->microsecond && a->has_utc_offset == b->has_utc_offset &&
           (!a->has_utc_offset || a->utc_offset == b->utc_offset);
}

static void show(const char *what, const cr_datetime *d)
{
    fprintf(stderr, "%s: %d-%d-%d %d:%d:%d.%d offset %s%d\n", what, d->year, d->month, d->day,
            d->hour, d->minute, d->second, d->microsecond, d->has_utc_offset ? "" : "(none) ",
            d->utc_offset);
}

/* Formatting into buffers of every size up to the whole writes a prefix of
 * the whole, NUL-terminated, and always returns the whole length. */
static void check_truncation(const cr_datetime *dt, cr_type type, const char *whole, int n)
{
    char small[256];
    for (int size = 0; size <= n + 1; size++) {
        memset(small, 'X', sizeof small);
        int m = cr_datetime_format(dt, type, size ? small : NULL, (size_t)size);
        FUZZ_CHECK(m == n, "format into %d bytes returned %d, into enough %d", size, m, n);
        if (size) {
            size_t kept = (size_t)(size - 1 < n ? size - 1 : n);
            FUZZ_CHECK(memcmp(small, whole, kept) == 0 && small[kept] == '\0',
                       "format into %d bytes is not the prefix of '%s'", size, whole);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* 1. Parse the input as text. */
    cr_datetime dt = {0};
    cr_type type = CR_NULL;
    if (cr_datetime_parse((const char *)data, size, &dt, &type) == CR_OK) {
        FUZZ_CHECK(type == CR_DATE || type == CR_TIME || type == CR_DATETIME,
                   "parse gave type %d", (int)type);
        char buf[256];
        int n = cr_datetime_format(&dt, type, buf, sizeof buf);
        FUZZ_CHECK(n > 0 && (size_t)n < sizeof buf && strlen(buf) == (size_t)n,
                   "format of a parsed value returned %d", n);
        cr_datetime back;
        cr_type back_type = CR_NULL;
        if (cr_datetime_parse(buf, (size_t)n, &back, &back_type) != CR_OK) {
            show("parsed", &dt);
            fuzz_fail("'%.*s' parsed, was formatted as '%s', which does not parse", (int)size,
                      (const char *)data, buf);
        }
        if (back_type != type || !same(&dt, &back)) {
            show("parsed", &dt);
            show("reparsed", &back);
            fuzz_fail("'%.*s' formatted as '%s' reparses to another value", (int)size,
                      (const char *)data, buf);
        }
        check_truncation(&dt, type, buf, n);
        /* str() of the value is ISO text that parses to it as well. */
        cr_value v = {.type = type};
        v.v.dt = dt;
        n = cr_value_format(&v, buf, sizeof buf);
        FUZZ_CHECK(n > 0 && (size_t)n < sizeof buf, "str() of a parsed value returned %d", n);
        FUZZ_CHECK(cr_datetime_parse(buf, (size_t)n, &back, &back_type) == CR_OK &&
                       back_type == type && same(&dt, &back),
                   "'%.*s' as str() '%s' does not reparse to the same value", (int)size,
                   (const char *)data, buf);
        FUZZ_CHECK(cr_value_repr(&v, NULL, 0) > 0, "repr of a parsed value failed");
        /* The date or time part of a datetime formats and parses on its own. */
        if (type == CR_DATETIME) {
            static const cr_type parts[] = {CR_DATE, CR_TIME};
            for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
                cr_type part = parts[i];
                n = cr_datetime_format(&dt, part, buf, sizeof buf);
                FUZZ_CHECK(n > 0 && cr_datetime_parse(buf, (size_t)n, &back, &back_type) ==
                                        CR_OK && back_type == part,
                           "the %s part '%s' does not parse", cr_type_name(part), buf);
            }
        }
    }

    /* 2. Any field values format without overflow (the formatter is
     * documented to take any int; range checks are the binder's). */
    if (size >= 1 + 8 * sizeof(int)) {
        int f[8];
        memcpy(f, data + 1, sizeof f);
        cr_datetime any = {f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7], data[0] & 1};
        char buf[256];
        for (cr_type t = CR_DATE; t <= CR_DATETIME; t++) {
            int n = cr_datetime_format(&any, t, buf, sizeof buf);
            FUZZ_CHECK(n > 0 && (size_t)n < sizeof buf && strlen(buf) == (size_t)n,
                       "format of arbitrary fields returned %d", n);
            cr_value v = {.type = t};
            v.v.dt = any;
            FUZZ_CHECK(cr_value_format(&v, NULL, 0) > 0 && cr_value_repr(&v, NULL, 0) > 0,
                       "str() or repr of arbitrary fields failed");
        }
    }
    /* 3. The input as text and as bytes: repr quotes and escapes it, so
     * what it writes holds no control character and ends with its quote. */
    for (int bytes = 0; bytes < 2; bytes++) {
        cr_value v = bytes ? cr_val_blob(data, size) : cr_val_textn((const char *)data, size);
        int n = cr_value_repr(&v, NULL, 0);
        FUZZ_CHECK(n >= 2 + bytes, "repr of %zu bytes returned %d", size, n);
        char *out = malloc((size_t)n + 1);
        FUZZ_CHECK(out && cr_value_repr(&v, out, (size_t)n + 1) == n, "repr into its size");
        for (int i = 0; i < n; i++)
            FUZZ_CHECK((unsigned char)out[i] >= 0x20 && out[i] != 0x7f,
                       "repr holds control character 0x%02x at %d", (unsigned char)out[i], i);
        FUZZ_CHECK(out[n - 1] == '\'' || out[n - 1] == '"', "repr does not end with a quote");
        free(out);
    }
    FUZZ_CHECK(cr_datetime_format(&dt, CR_INT, NULL, 0) == -1, "format of CR_INT is not -1");
    return 0;
}
