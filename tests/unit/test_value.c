/* test_value.c — values, dates and times as text, integers as text, status and
 * SQLSTATE classes, growable buffers and arenas. */
#define _DEFAULT_SOURCE /* timegm */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base/base.h"

#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- date and time text ------------------------------------------------------- */

static cr_datetime parse_ok(const char *text, cr_type want_type)
{
    cr_datetime dt;
    memset(&dt, 0x7f, sizeof dt);
    cr_type type = (cr_type)-1;
    cr_status st = cr_datetime_parse(text, strlen(text), &dt, &type);
    if (st != CR_OK)
        print_error("cr_datetime_parse(\"%s\") -> %s\n", text, cr_status_name(st));
    assert_int_equal(st, CR_OK);
    assert_int_equal(type, want_type);
    return dt;
}

static void parse_bad(const char *text)
{
    cr_datetime dt = {0};
    cr_type type = CR_NULL;
    cr_status st = cr_datetime_parse(text, strlen(text), &dt, &type);
    if (st != CR_ERR_DATA)
        print_error("cr_datetime_parse(\"%s\") -> %s, want DataError\n", text,
                    cr_status_name(st));
    assert_int_equal(st, CR_ERR_DATA);
}

static void format_is(const cr_datetime *dt, cr_type type, const char *want)
{
    char buf[80];
    memset(buf, 'Z', sizeof buf);
    int n = cr_datetime_format(dt, type, buf, sizeof buf);
    assert_string_equal(buf, want);
    assert_int_equal(n, (int)strlen(want));
}

static void test_datetime_round_trip(void **state)
{
    (void)state;
    cr_datetime dt = parse_ok("2024-02-29 13:05:09.123456", CR_DATETIME);
    assert_int_equal(dt.year, 2024);
    assert_int_equal(dt.month, 2);
    assert_int_equal(dt.day, 29);
    assert_int_equal(dt.hour, 13);
    assert_int_equal(dt.minute, 5);
    assert_int_equal(dt.second, 9);
    assert_int_equal(dt.microsecond, 123456);
    assert_false(dt.has_utc_offset);
    assert_int_equal(dt.utc_offset, 0);
    format_is(&dt, CR_DATETIME, "2024-02-29 13:05:09.123456");
}

static void test_datetime_t_separator(void **state)
{
    (void)state;
    cr_datetime dt = parse_ok("2024-02-29T13:05:09", CR_DATETIME);
    assert_int_equal(dt.day, 29);
    assert_int_equal(dt.hour, 13);
    assert_int_equal(dt.second, 9);
    assert_int_equal(dt.microsecond, 0);
    format_is(&dt, CR_DATETIME, "2024-02-29 13:05:09.000000");

    /* Seconds are optional after the date too. */
    dt = parse_ok("1999-12-31 23:59", CR_DATETIME);
    assert_int_equal(dt.minute, 59);
    assert_int_equal(dt.second, 0);
}

static void test_fraction_digits(void **state)
{
    (void)state;
    cr_datetime dt = parse_ok("2024-01-02 03:04:05.5", CR_DATETIME);
    assert_int_equal(dt.microsecond, 500000);
    dt = parse_ok("2024-01-02 03:04:05.012", CR_DATETIME);
    assert_int_equal(dt.microsecond, 12000);
    /* More than six digits: truncated, not rounded. */
    dt = parse_ok("2024-01-02 03:04:05.1234567", CR_DATETIME);
    assert_int_equal(dt.microsecond, 123456);
    dt = parse_ok("2024-01-02 03:04:05.999999999", CR_DATETIME);
    assert_int_equal(dt.microsecond, 999999);
    assert_int_equal(dt.second, 5);
}

static void test_date_only(void **state)
{
    (void)state;
    cr_datetime dt = parse_ok("2024-02-29", CR_DATE);
    assert_int_equal(dt.year, 2024);
    assert_int_equal(dt.month, 2);
    assert_int_equal(dt.day, 29);
    assert_int_equal(dt.hour, 0);
    assert_int_equal(dt.minute, 0);
    assert_int_equal(dt.second, 0);
    assert_int_equal(dt.microsecond, 0);
    assert_false(dt.has_utc_offset);
    format_is(&dt, CR_DATE, "2024-02-29");

    dt = parse_ok("0001-01-01", CR_DATE);
    format_is(&dt, CR_DATE, "0001-01-01");
    dt = parse_ok("9999-12-31", CR_DATE);
    assert_int_equal(dt.year, 9999);
}

static void test_time_only(void **state)
{
    (void)state;
    cr_datetime dt = parse_ok("13:05", CR_TIME);
    assert_int_equal(dt.hour, 13);
    assert_int_equal(dt.minute, 5);
    assert_int_equal(dt.second, 0);
    assert_int_equal(dt.microsecond, 0);
    format_is(&dt, CR_TIME, "13:05:00.000000");

    dt = parse_ok("13:05:09.000001", CR_TIME);
    assert_int_equal(dt.second, 9);
    assert_int_equal(dt.microsecond, 1);
    format_is(&dt, CR_TIME, "13:05:09.000001");

    dt = parse_ok("00:00:00", CR_TIME);
    assert_int_equal(dt.hour, 0);
    dt = parse_ok("23:59:59.999999", CR_TIME);
    assert_int_equal(dt.microsecond, 999999);
}

static void test_utc_offsets(void **state)
{
    (void)state;
    cr_datetime dt = parse_ok("2024-02-29 13:05:09+05:30", CR_DATETIME);
    assert_true(dt.has_utc_offset);
    assert_int_equal(dt.utc_offset, 5 * 3600 + 30 * 60);
    assert_int_equal(dt.second, 9);
    format_is(&dt, CR_DATETIME, "2024-02-29 13:05:09.000000+05:30");

    dt = parse_ok("2024-02-29 13:05:09.25-08", CR_DATETIME);
    assert_true(dt.has_utc_offset);
    assert_int_equal(dt.utc_offset, -8 * 3600);
    assert_int_equal(dt.microsecond, 250000);
    format_is(&dt, CR_DATETIME, "2024-02-29 13:05:09.250000-08:00");

    dt = parse_ok("2024-02-29T13:05:09Z", CR_DATETIME);
    assert_true(dt.has_utc_offset);
    assert_int_equal(dt.utc_offset, 0);
    format_is(&dt, CR_DATETIME, "2024-02-29 13:05:09.000000+00:00");

    dt = parse_ok("13:05:09-03:30", CR_TIME);
    assert_true(dt.has_utc_offset);
    assert_int_equal(dt.utc_offset, -(3 * 3600 + 30 * 60));
    format_is(&dt, CR_TIME, "13:05:09.000000-03:30");

    /* Without a colon between hours and minutes. */
    dt = parse_ok("2024-02-29 13:05:09+0530", CR_DATETIME);
    assert_int_equal(dt.utc_offset, 19800);

    /* A date has no offset; none shown for a plain datetime. */
    cr_datetime plain = {2024, 2, 29, 1, 2, 3, 4, 0, false};
    format_is(&plain, CR_DATETIME, "2024-02-29 01:02:03.000004");
    /* The offset is not part of a date. */
    format_is(&dt, CR_DATE, "2024-02-29");
}

/* Issue 8, finding 8: whatever the parser accepts, the formatter writes in a
 * form the parser reads back as the same value (offset seconds included),
 * and offsets of a day or more are refused. */
static void reparses_same(const char *text)
{
    cr_datetime a, b;
    cr_type ta, tb;
    assert_int_equal(cr_datetime_parse(text, strlen(text), &a, &ta), CR_OK);
    char buf[200];
    int n = cr_datetime_format(&a, ta, buf, sizeof buf);
    assert_true(n > 0 && (size_t)n < sizeof buf);
    cr_status st = cr_datetime_parse(buf, (size_t)n, &b, &tb);
    if (st != CR_OK)
        print_error("\"%s\" formats as \"%s\", which does not parse\n", text, buf);
    assert_int_equal(st, CR_OK);
    assert_int_equal(tb, ta);
    if (memcmp(&a, &b, sizeof a) != 0)
        print_error("\"%s\" formats as \"%s\", which parses to another value\n", text, buf);
    assert_memory_equal(&a, &b, sizeof a);
}

static void test_format_parse_round_trip(void **state)
{
    (void)state;
    static const char *const inputs[] = {
        "2024-02-29 13:05:09+00:00:01", "2024-02-29 13:05:09-00:00:01",
        "2024-02-29 13:05:09+23:59:59", "2024-02-29 13:05:09-23:59",
        "1883-11-18 12:00:00-07:52:58", "13:05:09+05:30:15", "13:05+01",
        "2024-02-29T13:05:09.1234567Z", "0001-01-01", "9999-12-31 23:59:59.999999",
        "24:00", "23:59:60", "2024-02-29 13:05:09+0530", "2024-02-29 13:05:09+05:",
    };
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++)
        reparses_same(inputs[i]);
    cr_datetime dt = parse_ok("2024-02-29 13:05:09+00:00:01", CR_DATETIME);
    assert_int_equal(dt.utc_offset, 1);
    format_is(&dt, CR_DATETIME, "2024-02-29 13:05:09.000000+00:00:01");
    dt = parse_ok("13:05:09-05:30:15", CR_TIME);
    format_is(&dt, CR_TIME, "13:05:09.000000-05:30:15");
    /* Offsets past +-23:59:59, and minutes or seconds past 59, are not offsets. */
    parse_bad("2024-02-29 13:05:09+9960");
    parse_bad("2024-02-29 13:05:09+24:00");
    parse_bad("2024-02-29 13:05:09-99:00");
    parse_bad("2024-02-29 13:05:09+05:60");
    parse_bad("2024-02-29 13:05:09+05:00:60");
    parse_bad("13:05:09+99");
}

/* Issue 8, finding 10: an aware value moved to UTC (SQLite stores it so). */
static void test_datetime_to_utc(void **state)
{
    (void)state;
    cr_datetime dt = parse_ok("2024-03-01 01:30:00+05:00", CR_DATETIME);
    assert_int_equal(cr_datetime_to_utc(&dt, CR_DATETIME), CR_OK);
    format_is(&dt, CR_DATETIME, "2024-02-29 20:30:00.000000");
    dt = parse_ok("2023-12-31 20:00:00.5-05:30", CR_DATETIME);
    assert_int_equal(cr_datetime_to_utc(&dt, CR_DATETIME), CR_OK);
    format_is(&dt, CR_DATETIME, "2024-01-01 01:30:00.500000");
    dt = parse_ok("01:00:00+02:00", CR_TIME);
    assert_int_equal(cr_datetime_to_utc(&dt, CR_TIME), CR_OK);
    format_is(&dt, CR_TIME, "23:00:00.000000");
    dt = parse_ok("2024-02-29 13:05:09", CR_DATETIME);      /* naive: left alone */
    assert_int_equal(cr_datetime_to_utc(&dt, CR_DATETIME), CR_OK);
    format_is(&dt, CR_DATETIME, "2024-02-29 13:05:09.000000");
    /* Out of the calendar's years once moved: refused, the value unchanged. */
    dt = parse_ok("0001-01-01 00:30:00+01:00", CR_DATETIME);
    assert_int_equal(cr_datetime_to_utc(&dt, CR_DATETIME), CR_ERR_DATA);
    format_is(&dt, CR_DATETIME, "0001-01-01 00:30:00.000000+01:00");
    dt = parse_ok("9999-12-31 23:30:00-01:00", CR_DATETIME);
    assert_int_equal(cr_datetime_to_utc(&dt, CR_DATETIME), CR_ERR_DATA);
}

/* Issue 8, finding 3: NULL arguments to the formatter are errors, not crashes. */
static void test_format_null_arguments(void **state)
{
    (void)state;
    cr_datetime dt = {2024, 2, 29, 13, 5, 9, 0, 0, false};
    char buf[40];
    assert_int_equal(cr_datetime_format(NULL, CR_DATETIME, buf, sizeof buf), -1);
    assert_int_equal(cr_datetime_format(NULL, CR_DATETIME, NULL, 0), -1);
    assert_int_equal(cr_datetime_format(&dt, CR_DATETIME, NULL, 10), -1);
    assert_int_equal(cr_datetime_format(&dt, CR_TEXT, buf, sizeof buf), -1);
}

static void test_garbage(void **state)
{
    (void)state;
    parse_bad("2024-13-01");
    parse_bad("2024-00-10");
    parse_bad("2024-01-00");
    parse_bad("2024-01-32");
    parse_bad("2024-02-30x");
    parse_bad("");
    parse_bad("12:3");
    parse_bad("1:30");
    parse_bad("13:60");
    parse_bad("25:00");
    parse_bad("2024-02-29 13:05:09.");
    parse_bad("2024-02-29 13:05:9");
    parse_bad("2024-02-29 13");
    parse_bad("2024-02-29 ");
    parse_bad("2024/02/29");
    parse_bad("24-02-29");
    parse_bad("2024-2-29");
    parse_bad("2024-02-29 13:05:09+5");
    parse_bad("2024-02-29 13:05:09 +05:00");
    parse_bad("13:05:09abc");
    parse_bad("yesterday");
}

static void test_impossible_calendar_dates(void **state)
{
    (void)state;
    /* Days that no month has are rejected, as Python's datetime.date (which
     * SQLAlchemy's SQLite DATE type builds) rejects them. */
    parse_bad("2024-02-30");
    parse_bad("2023-02-29");          /* not a leap year */
    parse_bad("2024-04-31");
    parse_bad("1900-02-29");          /* century, not a leap year */
    parse_bad("2024-06-31 12:00:00");
    /* While real ones are fine. */
    parse_ok("2000-02-29", CR_DATE);
    parse_ok("2024-04-30", CR_DATE);
}

static void test_parse_uses_length(void **state)
{
    (void)state;
    cr_datetime dt;
    cr_type type;
    /* Only len bytes are read; the text need not be NUL-terminated there. */
    assert_int_equal(cr_datetime_parse("2024-02-29 13:05:09", 10, &dt, &type), CR_OK);
    assert_int_equal(type, CR_DATE);
    assert_int_equal(dt.day, 29);
    assert_int_equal(cr_datetime_parse("13:05:09.5xyz", 10, &dt, &type), CR_OK);
    assert_int_equal(type, CR_TIME);
    assert_int_equal(dt.microsecond, 500000);
    /* A length that cuts a field is an error. */
    assert_int_equal(cr_datetime_parse("2024-02-29", 9, &dt, &type), CR_ERR_DATA);
    /* type may be NULL. */
    assert_int_equal(cr_datetime_parse("2024-02-29", 10, &dt, NULL), CR_OK);
    /* NULL text or output is an argument error, never a crash. */
    assert_int_equal(cr_datetime_parse(NULL, 10, &dt, &type), CR_ERR_ARGUMENT);
    assert_int_equal(cr_datetime_parse("2024-02-29", 10, NULL, &type), CR_ERR_ARGUMENT);
}

static void test_format_kinds(void **state)
{
    (void)state;
    cr_datetime dt = {2024, 2, 9, 3, 4, 5, 60, 0, false};
    format_is(&dt, CR_DATE, "2024-02-09");
    format_is(&dt, CR_TIME, "03:04:05.000060");
    format_is(&dt, CR_DATETIME, "2024-02-09 03:04:05.000060");

    cr_value v = cr_val_date(1970, 1, 1);
    format_is(&v.v.dt, CR_DATE, "1970-01-01");
    v = cr_val_time(0, 0, 0, 0);
    format_is(&v.v.dt, CR_TIME, "00:00:00.000000");
    v = cr_val_datetime(2038, 1, 19, 3, 14, 7, 999999);
    format_is(&v.v.dt, CR_DATETIME, "2038-01-19 03:14:07.999999");
}

static void test_format_small_buffer(void **state)
{
    (void)state;
    cr_datetime dt = {2024, 2, 29, 13, 5, 9, 123456, 0, false};
    char buf[16];
    memset(buf, 'Z', sizeof buf);
    /* As snprintf: the length needed, a truncated NUL-terminated string. */
    assert_int_equal(cr_datetime_format(&dt, CR_DATETIME, buf, 5), 26);
    assert_string_equal(buf, "2024");
    assert_int_equal(buf[5], 'Z');                  /* nothing written past size */
    assert_int_equal(cr_datetime_format(&dt, CR_DATE, buf, 11), 10);
    assert_string_equal(buf, "2024-02-29");
    assert_int_equal(cr_datetime_format(&dt, CR_DATE, buf, 10), 10);
    assert_string_equal(buf, "2024-02-2");
    /* size 0: nothing written at all, buf may be NULL. */
    memset(buf, 'Z', sizeof buf);
    assert_int_equal(cr_datetime_format(&dt, CR_TIME, buf, 0), 15);
    assert_int_equal(buf[0], 'Z');
    assert_int_equal(cr_datetime_format(&dt, CR_DATETIME, NULL, 0), 26);
}

/* Run fn in a child process, so that a crash there (stack smashing, ASan)
 * fails this test instead of killing the whole program. */
static void run_isolated(void (*fn)(void))
{
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* cmocka's handlers would resume its test loop in the child. */
        static const int sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};
        for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
            signal(sigs[i], SIG_DFL);
        fn();
        _exit(0);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (WIFSIGNALED(status))
        print_error("child died of signal %d\n", WTERMSIG(status));
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static void format_out_of_range_fields(void)
{
    /* Fields far outside their ranges (a caller's mistake, or values from
     * another program) must still be formatted within the caller's buffer,
     * with snprintf's return value. */
    cr_datetime dt = {INT_MIN, INT_MIN, INT_MIN, INT_MIN, INT_MIN, INT_MIN, INT_MIN,
                      -INT_MAX, true};
    char want[256];
    int wn = snprintf(want, sizeof want, "%04d-%02d-%02d %02d:%02d:%02d.%06d", INT_MIN, INT_MIN,
                      INT_MIN, INT_MIN, INT_MIN, INT_MIN, INT_MIN);
    char buf[256];
    int n = cr_datetime_format(&dt, CR_DATETIME, buf, sizeof buf);
    /* The date and time part comes first, whatever follows for the offset. */
    if (n < wn || strncmp(buf, want, (size_t)wn) != 0)
        _exit(3);
    if ((int)strlen(buf) != n)
        _exit(4);
}

static void test_format_out_of_range_fields(void **state)
{
    (void)state;
    run_isolated(format_out_of_range_fields);
}

/* ---- integers as text ------------------------------------------------------------ */

static void parse_int_is(const char *s, int64_t want)
{
    int64_t v = 12345;
    bool ok = cr_parse_int64(s, strlen(s), &v);
    if (!ok)
        print_error("cr_parse_int64(\"%s\") failed\n", s);
    assert_true(ok);
    assert_true(v == want);
}

static void parse_int_bad(const char *s)
{
    int64_t v = 12345;
    bool ok = cr_parse_int64(s, strlen(s), &v);
    if (ok)
        print_error("cr_parse_int64(\"%s\") accepted as %lld\n", s, (long long)v);
    assert_false(ok);
}

/* cr_value_format / cr_value_repr print what Python's str() / repr() print
 * for the value SQLAlchemy would hand back (the expected texts are Python
 * 3.11's). */
static void expect_py(cr_value v, const char *str, const char *repr)
{
    char buf[200];
    int n = cr_value_format(&v, buf, sizeof buf);
    assert_string_equal(buf, str);
    assert_int_equal(n, (int)strlen(str));
    n = cr_value_repr(&v, buf, sizeof buf);
    assert_string_equal(buf, repr);
    assert_int_equal(n, (int)strlen(repr));
}

static cr_value dt_val(cr_type type, int y, int mo, int d, int h, int mi, int s, int us)
{
    cr_value v = {type, {0}};
    v.v.dt = (cr_datetime){y, mo, d, h, mi, s, us, 0, false};
    return v;
}

static void test_python_str_and_repr(void **state)
{
    (void)state;
    expect_py(cr_val_null(), "None", "None");
    expect_py(cr_val_bool(true), "True", "True");
    expect_py(cr_val_bool(false), "False", "False");
    expect_py(cr_val_int(-42), "-42", "-42");
    expect_py(cr_val_int(INT64_MAX), "9223372036854775807", "9223372036854775807");
    static const struct { double d; const char *py; } floats[] = {
        {0.1, "0.1"}, {1.0, "1.0"}, {-0.0, "-0.0"}, {1e16, "1e+16"}, {1.5e-5, "1.5e-05"},
        {123456789.125, "123456789.125"}, {1e-4, "0.0001"}, {2.5e15, "2500000000000000.0"},
        {1.0 / 3, "0.3333333333333333"}, {1e300 * 1e10, "inf"}, {-1e300 * 1e10, "-inf"},
        {5e-324, "5e-324"}, {1.7976931348623157e308, "1.7976931348623157e+308"},
    };
    for (size_t i = 0; i < sizeof floats / sizeof *floats; i++)
        expect_py(cr_val_double(floats[i].d), floats[i].py, floats[i].py);
    expect_py(cr_val_double(NAN), "nan", "nan");
    expect_py(cr_val_text("it's"), "it's", "\"it's\"");
    expect_py(cr_val_text("say \"hi\""), "say \"hi\"", "'say \"hi\"'");
    expect_py(cr_val_text("both ' and \""), "both ' and \"", "'both \\' and \"'");
    expect_py(cr_val_text("tab\there\nnl\\"), "tab\there\nnl\\", "'tab\\there\\nnl\\\\'");
    expect_py(cr_val_text("caf\xc3\xa9 \xc2\xa0\xc2\x85\xc2\xad\xf0\x9f\x98\x80"),
              "caf\xc3\xa9 \xc2\xa0\xc2\x85\xc2\xad\xf0\x9f\x98\x80",
              "'caf\xc3\xa9 \\xa0\\x85\\xad\xf0\x9f\x98\x80'");
    expect_py(cr_val_text("\x01\x7f"), "\x01\x7f", "'\\x01\\x7f'");
    /* Separators, format and private-use characters: escaped as Python's
     * repr escapes them; CJK kept. */
    const char *marks = "a\xe2\x80\x8b" "b\xe2\x80\xa8\xee\x80\x80\xef\xbb\xbf\xf3\xb0\x80\x80"
                        "\xe3\x80\x80\xe4\xb8\xad";
    expect_py(cr_val_text(marks), marks,
              "'a\\u200bb\\u2028\\ue000\\ufeff\\U000f0000\\u3000\xe4\xb8\xad'");
    expect_py(cr_val_blob("\0ab'\xff", 5), "b\"\\x00ab'\\xff\"", "b\"\\x00ab'\\xff\"");
    expect_py(cr_val_numeric("1.50"), "1.50", "Decimal('1.50')");
    expect_py(dt_val(CR_DATE, 2024, 1, 2, 0, 0, 0, 0), "2024-01-02", "datetime.date(2024, 1, 2)");
    expect_py(dt_val(CR_TIME, 0, 0, 0, 3, 4, 5, 0), "03:04:05", "datetime.time(3, 4, 5)");
    expect_py(dt_val(CR_TIME, 0, 0, 0, 3, 4, 0, 0), "03:04:00", "datetime.time(3, 4)");
    expect_py(dt_val(CR_TIME, 0, 0, 0, 0, 0, 0, 123), "00:00:00.000123",
              "datetime.time(0, 0, 0, 123)");
    expect_py(dt_val(CR_DATETIME, 2024, 1, 2, 3, 4, 5, 0), "2024-01-02 03:04:05",
              "datetime.datetime(2024, 1, 2, 3, 4, 5)");
    expect_py(dt_val(CR_DATETIME, 2024, 1, 2, 0, 0, 0, 0), "2024-01-02 00:00:00",
              "datetime.datetime(2024, 1, 2, 0, 0)");
    expect_py(dt_val(CR_DATETIME, 2024, 1, 2, 3, 4, 0, 7), "2024-01-02 03:04:00.000007",
              "datetime.datetime(2024, 1, 2, 3, 4, 0, 7)");
    cr_value tz = dt_val(CR_DATETIME, 2024, 1, 2, 3, 4, 5, 0);
    tz.v.dt.has_utc_offset = true;
    expect_py(tz, "2024-01-02 03:04:05+00:00",
              "datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)");
    tz.v.dt.utc_offset = 7200;
    expect_py(tz, "2024-01-02 03:04:05+02:00",
              "datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.timezone("
              "datetime.timedelta(seconds=7200)))");
    tz.v.dt.utc_offset = -(5 * 3600 + 30 * 60);
    expect_py(tz, "2024-01-02 03:04:05-05:30",
              "datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.timezone("
              "datetime.timedelta(days=-1, seconds=66600)))");

    /* snprintf's conventions: the length needed, the text cut to fit, a
     * NUL inside text kept within the length; bad arguments -1. */
    char small[4];
    cr_value t = cr_val_text("abcdef");
    assert_int_equal(cr_value_format(&t, small, sizeof small), 6);
    assert_string_equal(small, "abc");
    assert_int_equal(cr_value_repr(&t, NULL, 0), 8);
    cr_value nul = cr_val_textn("a\0b", 3);
    char out[8];
    assert_int_equal(cr_value_format(&nul, out, sizeof out), 3);
    assert_memory_equal(out, "a\0b", 4);
    assert_int_equal(cr_value_repr(&nul, out, sizeof out), 8);
    assert_string_equal(out, "'a\\x00b");
    assert_int_equal(cr_value_format(NULL, out, sizeof out), -1);
    assert_int_equal(cr_value_format(&t, NULL, 5), -1);
    cr_value bad = {CR_TEXT, {0}};
    bad.v.s.len = 3;   /* a NULL pointer with a length */
    assert_int_equal(cr_value_repr(&bad, out, sizeof out), -1);
    bad.type = (cr_type)99;
    assert_int_equal(cr_value_format(&bad, out, sizeof out), -1);
}

static void test_parse_int64(void **state)
{
    (void)state;
    parse_int_is("0", 0);
    parse_int_is("-0", 0);
    parse_int_is("+42", 42);
    parse_int_is("-42", -42);
    parse_int_is("007", 7);
    parse_int_is("9223372036854775807", INT64_MAX);
    parse_int_is("-9223372036854775808", INT64_MIN);
    parse_int_is("+9223372036854775807", INT64_MAX);
    parse_int_is("-9223372036854775807", -INT64_MAX);
    parse_int_is("922337203685477580", INT64_MAX / 10);

    parse_int_bad("9223372036854775808");     /* INT64_MAX + 1 */
    parse_int_bad("-9223372036854775809");    /* INT64_MIN - 1 */
    parse_int_bad("+9223372036854775808");
    parse_int_bad("9223372036854775810");
    parse_int_bad("18446744073709551616");    /* 2^64: no wrap-around */
    parse_int_bad("99999999999999999999");
    parse_int_bad("");
    parse_int_bad("-");
    parse_int_bad("+");
    parse_int_bad("--1");
    parse_int_bad("+-1");
    parse_int_bad("12a");
    parse_int_bad("a12");
    parse_int_bad(" 12");
    parse_int_bad("12 ");
    parse_int_bad("1.5");
    parse_int_bad("0x10");
    parse_int_bad("1e3");

    /* Only len bytes are read. */
    int64_t v = 0;
    assert_true(cr_parse_int64("123456", 3, &v));
    assert_int_equal(v, 123);
    assert_true(cr_parse_int64("-9223372036854775808junk", 20, &v));
    assert_true(v == INT64_MIN);
    assert_false(cr_parse_int64("123", 0, &v));
}

static void format_int_is(int64_t v, const char *want)
{
    char buf[32];
    memset(buf, 'Z', sizeof buf);
    int n = cr_format_int64(v, buf);
    assert_string_equal(buf, want);
    assert_int_equal(n, (int)strlen(want));
}

static void test_format_int64(void **state)
{
    (void)state;
    format_int_is(0, "0");
    format_int_is(7, "7");
    format_int_is(-1, "-1");
    format_int_is(10, "10");
    format_int_is(-1000000, "-1000000");
    format_int_is(INT64_MAX, "9223372036854775807");
    format_int_is(INT64_MIN, "-9223372036854775808");
    format_int_is(INT64_MIN + 1, "-9223372036854775807");

    /* Round trip through both. */
    static const int64_t samples[] = {1, -9, 99, 100, -101, 65535, 4294967296LL,
                                      -4294967297LL, 1234567890123456789LL};
    for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
        char buf[32], ref[32];
        int n = cr_format_int64(samples[i], buf);
        snprintf(ref, sizeof ref, "%lld", (long long)samples[i]);
        assert_string_equal(buf, ref);
        int64_t back = 0;
        assert_true(cr_parse_int64(buf, (size_t)n, &back));
        assert_true(back == samples[i]);
    }
}

/* ---- value constructors and names ---------------------------------------------------- */

static void test_constructors(void **state)
{
    (void)state;
    cr_value v = cr_val_null();
    assert_int_equal(v.type, CR_NULL);

    v = cr_val_int(INT64_MIN);
    assert_int_equal(v.type, CR_INT);
    assert_true(v.v.i == INT64_MIN);

    v = cr_val_double(-2.5);
    assert_int_equal(v.type, CR_DOUBLE);
    assert_true(v.v.d == -2.5);

    v = cr_val_bool(true);
    assert_int_equal(v.type, CR_BOOL);
    assert_true(v.v.b);
    v = cr_val_bool(false);
    assert_false(v.v.b);

    const char *hello = "hello";
    v = cr_val_text(hello);
    assert_int_equal(v.type, CR_TEXT);
    assert_ptr_equal(v.v.s.ptr, hello);     /* borrowed, not copied */
    assert_int_equal(v.v.s.len, 5);
    v = cr_val_text("");
    assert_int_equal(v.type, CR_TEXT);
    assert_int_equal(v.v.s.len, 0);
    v = cr_val_text(NULL);
    assert_int_equal(v.type, CR_NULL);

    v = cr_val_textn("hello world", 5);
    assert_int_equal(v.type, CR_TEXT);
    assert_int_equal(v.v.s.len, 5);
    assert_memory_equal(v.v.s.ptr, "hello", 5);
    v = cr_val_textn("a\0b", 3);              /* embedded NUL kept by length */
    assert_int_equal(v.v.s.len, 3);
    v = cr_val_textn(NULL, 4);
    assert_int_equal(v.type, CR_NULL);

    static const unsigned char bytes[] = {0, 1, 2, 255};
    v = cr_val_blob(bytes, sizeof bytes);
    assert_int_equal(v.type, CR_BLOB);
    assert_ptr_equal(v.v.blob.ptr, bytes);
    assert_int_equal(v.v.blob.len, 4);
    v = cr_val_blob(NULL, 0);                 /* an empty blob, not NULL */
    assert_int_equal(v.type, CR_BLOB);
    assert_int_equal(v.v.blob.len, 0);
    assert_non_null(v.v.blob.ptr);
    v = cr_val_blob(NULL, 3);
    assert_int_equal(v.type, CR_NULL);

    v = cr_val_numeric("-12.50");
    assert_int_equal(v.type, CR_NUMERIC);
    assert_int_equal(v.v.s.len, 6);
    assert_memory_equal(v.v.s.ptr, "-12.50", 6);
    v = cr_val_numeric(NULL);
    assert_int_equal(v.type, CR_NULL);

    v = cr_val_date(2024, 2, 29);
    assert_int_equal(v.type, CR_DATE);
    assert_int_equal(v.v.dt.year, 2024);
    assert_int_equal(v.v.dt.month, 2);
    assert_int_equal(v.v.dt.day, 29);
    assert_int_equal(v.v.dt.hour, 0);
    assert_false(v.v.dt.has_utc_offset);

    v = cr_val_time(13, 5, 9, 42);
    assert_int_equal(v.type, CR_TIME);
    assert_int_equal(v.v.dt.hour, 13);
    assert_int_equal(v.v.dt.minute, 5);
    assert_int_equal(v.v.dt.second, 9);
    assert_int_equal(v.v.dt.microsecond, 42);
    assert_int_equal(v.v.dt.year, 0);
    assert_false(v.v.dt.has_utc_offset);

    v = cr_val_datetime(2024, 2, 29, 13, 5, 9, 123456);
    assert_int_equal(v.type, CR_DATETIME);
    assert_int_equal(v.v.dt.year, 2024);
    assert_int_equal(v.v.dt.day, 29);
    assert_int_equal(v.v.dt.minute, 5);
    assert_int_equal(v.v.dt.microsecond, 123456);
    assert_false(v.v.dt.has_utc_offset);
    assert_int_equal(v.v.dt.utc_offset, 0);
}

/* A datetime as a struct tm, for mktime / timegm. */
static struct tm broken_down(const cr_datetime *dt)
{
    struct tm tm = {0};
    tm.tm_year = dt->year - 1900;
    tm.tm_mon = dt->month - 1;
    tm.tm_mday = dt->day;
    tm.tm_hour = dt->hour;
    tm.tm_min = dt->minute;
    tm.tm_sec = dt->second;
    return tm;
}

static void test_val_now(void **state)
{
    (void)state;
    time_t before = time(NULL);
    cr_value v = cr_val_now();
    time_t after = time(NULL);
    assert_int_equal(v.type, CR_DATETIME);
    assert_false(v.v.dt.has_utc_offset);
    assert_true(v.v.dt.year >= 2024);
    assert_in_range(v.v.dt.month, 1, 12);
    assert_in_range(v.v.dt.day, 1, 31);
    assert_in_range(v.v.dt.hour, 0, 23);
    assert_in_range(v.v.dt.minute, 0, 59);
    assert_in_range(v.v.dt.second, 0, 60);
    assert_in_range(v.v.dt.microsecond, 0, 999999);
    /* It is local time, now. */
    struct tm tm = broken_down(&v.v.dt);
    tm.tm_isdst = -1;
    time_t t = mktime(&tm);
    assert_true(t >= before - 1);
    assert_true(t <= after + 1);

    /* Microseconds move: two readings a few ms apart differ. */
    struct timespec ms = {0, 3 * 1000 * 1000};
    nanosleep(&ms, NULL);
    cr_value w = cr_val_now();
    char a[40], b[40];
    cr_datetime_format(&v.v.dt, CR_DATETIME, a, sizeof a);
    cr_datetime_format(&w.v.dt, CR_DATETIME, b, sizeof b);
    assert_true(strcmp(a, b) < 0);
}

/* cr_val_utcnow is UTC: read back as UTC (timegm), it is the clock's now,
 * whatever the local time zone. */
static void test_val_utcnow(void **state)
{
    (void)state;
    /* A local zone five hours west of UTC, so that local time would fail. */
    char *tz = getenv("TZ") ? strdup(getenv("TZ")) : NULL;
    setenv("TZ", "XYZ5", 1);
    tzset();
    time_t before = time(NULL);
    cr_value v = cr_val_utcnow();
    time_t after = time(NULL);
    assert_int_equal(v.type, CR_DATETIME);
    assert_false(v.v.dt.has_utc_offset);
    assert_in_range(v.v.dt.microsecond, 0, 999999);
    struct tm tm = broken_down(&v.v.dt);
    time_t t = timegm(&tm);
    if (tz)
        setenv("TZ", tz, 1);
    else
        unsetenv("TZ");
    free(tz);
    tzset();
    assert_true(t >= before - 1);
    assert_true(t <= after + 1);
}

static void test_type_names(void **state)
{
    (void)state;
    assert_string_equal(cr_type_name(CR_NULL), "NULL");
    assert_string_equal(cr_type_name(CR_INT), "INTEGER");
    assert_string_equal(cr_type_name(CR_DOUBLE), "DOUBLE");
    assert_string_equal(cr_type_name(CR_BOOL), "BOOLEAN");
    assert_string_equal(cr_type_name(CR_TEXT), "TEXT");
    assert_string_equal(cr_type_name(CR_BLOB), "BLOB");
    assert_string_equal(cr_type_name(CR_DATE), "DATE");
    assert_string_equal(cr_type_name(CR_TIME), "TIME");
    assert_string_equal(cr_type_name(CR_DATETIME), "DATETIME");
    assert_string_equal(cr_type_name(CR_NUMERIC), "NUMERIC");
    assert_string_equal(cr_type_name((cr_type)(CR_NUMERIC + 1)), "UNKNOWN");
    assert_string_equal(cr_type_name((cr_type)-1), "UNKNOWN");
}

static void test_status_names(void **state)
{
    (void)state;
    static const struct {
        cr_status st;
        const char *name;
    } want[] = {
        {CR_OK, "OK"},
        {CR_ERR_INTERFACE, "InterfaceError"},
        {CR_ERR_DATABASE, "DatabaseError"},
        {CR_ERR_DATA, "DataError"},
        {CR_ERR_OPERATIONAL, "OperationalError"},
        {CR_ERR_INTEGRITY, "IntegrityError"},
        {CR_ERR_INTERNAL, "InternalError"},
        {CR_ERR_PROGRAMMING, "ProgrammingError"},
        {CR_ERR_NOT_SUPPORTED, "NotSupportedError"},
        {CR_ERR_ARGUMENT, "ArgumentError"},
        {CR_ERR_INVALID_REQUEST, "InvalidRequestError"},
        {CR_ERR_NO_RESULT_FOUND, "NoResultFound"},
        {CR_ERR_MULTIPLE_RESULTS, "MultipleResultsFound"},
        {CR_ERR_RESOURCE_CLOSED, "ResourceClosedError"},
        {CR_ERR_NO_MEMORY, "OutOfMemoryError"},
        {CR_ERR_TIMEOUT, "TimeoutError"},
        {CR_ERR_PENDING_ROLLBACK, "PendingRollbackError"},
        {CR_ERR_STALE_DATA, "StaleDataError"},
        {CR_ERR_DETACHED_INSTANCE, "DetachedInstanceError"},
        {CR_ERR_OBJECT_DELETED, "ObjectDeletedError"},
        {CR_ERR_FLUSH, "FlushError"},
        {CR_ERR_UNMAPPED_INSTANCE, "UnmappedInstanceError"},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        assert_string_equal(cr_status_name(want[i].st), want[i].name);
    /* Every status has a name of its own. */
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        for (size_t j = i + 1; j < sizeof want / sizeof want[0]; j++)
            assert_true(strcmp(cr_status_name(want[i].st), cr_status_name(want[j].st)) != 0);
    assert_string_equal(cr_status_name((cr_status)(CR_ERR_UNMAPPED_INSTANCE + 1)), "UnknownError");
    assert_string_equal(cr_status_name((cr_status)-1), "UnknownError");
    assert_string_equal(cr_status_name((cr_status)CR_ROW), "UnknownError");

    /* Error accessors on NULL. */
    assert_int_equal(cr_error_class(NULL), CR_OK);
    assert_string_equal(cr_error_class_name(NULL), "OK");
    assert_string_equal(cr_error_sqlstate(NULL), "");
    assert_string_equal(cr_error_message(NULL), "");
    assert_null(cr_error_statement(NULL));
    assert_false(cr_error_is_disconnect(NULL));
    assert_int_equal(cr_error_code(NULL), 0);
    cr_error_free(NULL);
}

static void test_error_records(void **state)
{
    (void)state;
    cr_error e = {0};
    assert_int_equal(cr_error_set(&e, CR_ERR_ARGUMENT, "bad %s %d", "thing", 7), CR_ERR_ARGUMENT);
    assert_string_equal(cr_error_message(&e), "bad thing 7");
    assert_string_equal(cr_error_class_name(&e), "ArgumentError");
    cr_error_set_statement(&e, "SELECT 1");
    assert_string_equal(cr_error_statement(&e), "SELECT 1");

    /* A driver error: SQLSTATE, code, trailing newlines trimmed; the
     * previous statement is dropped. */
    assert_int_equal(cr_error_set_db(&e, CR_ERR_INTEGRITY, "23505", 19,
                                     "duplicate key value\n"), CR_ERR_INTEGRITY);
    assert_string_equal(cr_error_sqlstate(&e), "23505");
    assert_int_equal(cr_error_code(&e), 19);
    assert_string_equal(cr_error_message(&e), "duplicate key value");
    assert_null(cr_error_statement(&e));
    cr_error_set_statement(&e, "INSERT");

    /* dup is a deep copy the caller frees. */
    cr_error *d = cr_error_dup(&e);
    assert_non_null(d);
    assert_int_equal(cr_error_class(d), CR_ERR_INTEGRITY);
    assert_string_equal(cr_error_statement(d), "INSERT");
    assert_ptr_not_equal(cr_error_statement(d), cr_error_statement(&e));
    cr_error_free(d);

    /* A long message is cut, not overrun. */
    char big[3000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    cr_error_set_db(&e, CR_ERR_DATABASE, NULL, 0, big);
    assert_int_equal(strlen(cr_error_message(&e)), sizeof e.message - 1);
    assert_string_equal(cr_error_sqlstate(&e), "");

    /* Even when the copy cannot be allocated, dup hands back an error. */
    cr_error_oom(&e);
    cr_mem_fail_after(0);
    d = cr_error_dup(&e);
    cr_mem_fail_after(-1);
    assert_non_null(d);
    assert_int_equal(cr_error_class(d), CR_ERR_NO_MEMORY);
    cr_error_free(d);
    cr_error_clear(&e);
    assert_int_equal(cr_error_class(&e), CR_OK);
}

static void test_sqlstate_class(void **state)
{
    (void)state;
    assert_int_equal(cr_sqlstate_class("23505"), CR_ERR_INTEGRITY);   /* unique */
    assert_int_equal(cr_sqlstate_class("23503"), CR_ERR_INTEGRITY);   /* foreign key */
    assert_int_equal(cr_sqlstate_class("23502"), CR_ERR_INTEGRITY);   /* not null */
    assert_int_equal(cr_sqlstate_class("22P02"), CR_ERR_DATA);        /* bad text repr */
    assert_int_equal(cr_sqlstate_class("22003"), CR_ERR_DATA);        /* out of range */
    assert_int_equal(cr_sqlstate_class("42601"), CR_ERR_PROGRAMMING); /* syntax */
    assert_int_equal(cr_sqlstate_class("42P01"), CR_ERR_PROGRAMMING); /* no table */
    assert_int_equal(cr_sqlstate_class("40001"), CR_ERR_OPERATIONAL); /* serialization */
    assert_int_equal(cr_sqlstate_class("40P01"), CR_ERR_OPERATIONAL); /* deadlock */
    assert_int_equal(cr_sqlstate_class("08006"), CR_ERR_OPERATIONAL); /* connection lost */
    assert_int_equal(cr_sqlstate_class("08001"), CR_ERR_OPERATIONAL);
    assert_int_equal(cr_sqlstate_class("57014"), CR_ERR_OPERATIONAL); /* query canceled */
    assert_int_equal(cr_sqlstate_class("53300"), CR_ERR_OPERATIONAL); /* too many conns */
    assert_int_equal(cr_sqlstate_class("0A000"), CR_ERR_NOT_SUPPORTED);
    assert_int_equal(cr_sqlstate_class("XX000"), CR_ERR_INTERNAL);
    assert_int_equal(cr_sqlstate_class("P0001"), CR_ERR_INTERNAL);    /* RAISE EXCEPTION */
    assert_int_equal(cr_sqlstate_class("25P02"), CR_ERR_INTERNAL);    /* failed tx */
    assert_int_equal(cr_sqlstate_class("21000"), CR_ERR_PROGRAMMING); /* cardinality */
    assert_int_equal(cr_sqlstate_class("3D000"), CR_ERR_PROGRAMMING); /* no database */
    assert_int_equal(cr_sqlstate_class("28P01"), CR_ERR_OPERATIONAL); /* bad password */
    assert_int_equal(cr_sqlstate_class(NULL), CR_ERR_DATABASE);
    assert_int_equal(cr_sqlstate_class(""), CR_ERR_DATABASE);
    assert_int_equal(cr_sqlstate_class("2"), CR_ERR_DATABASE);
    assert_int_equal(cr_sqlstate_class("00000"), CR_ERR_DATABASE);
    assert_int_equal(cr_sqlstate_class("ZZ999"), CR_ERR_DATABASE);
}

/* ---- growable buffers ------------------------------------------------------------ */

static void test_buf_growth(void **state)
{
    (void)state;
    cr_buf b;
    cr_buf_init(&b);
    assert_string_equal(cr_buf_cstr(&b), "");
    assert_int_equal(b.len, 0);
    assert_false(b.oom);

    /* Many appends of odd sizes: contents and length exact, always
     * NUL-terminated, capacity covering the length. */
    size_t total = 0;
    for (int i = 0; i < 2000; i++) {
        char piece[8];
        int n = snprintf(piece, sizeof piece, "%d,", i % 1000);
        cr_buf_append(&b, piece, (size_t)n);
        total += (size_t)n;
        assert_int_equal(b.len, total);
        assert_true(b.cap > b.len);
        assert_int_equal(b.data[b.len], '\0');
    }
    assert_false(b.oom);
    assert_int_equal(strlen(cr_buf_cstr(&b)), total);
    assert_memory_equal(b.data, "0,1,2,3,", 8);
    assert_memory_equal(b.data + total - 4, "999,", 4);

    /* A zero-length append changes nothing. */
    cr_buf_append(&b, "x", 0);
    assert_int_equal(b.len, total);

    /* clear keeps the memory, empties the string. */
    size_t cap = b.cap;
    cr_buf_clear(&b);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, cap);
    assert_string_equal(cr_buf_cstr(&b), "");

    cr_buf_puts(&b, "ab");
    cr_buf_putc(&b, 'c');
    cr_buf_printf(&b, "-%d-%s", 42, "x");
    assert_string_equal(cr_buf_cstr(&b), "abc-42-x");

    /* printf longer than its stack buffer takes the reserve path. */
    char big[1000];
    memset(big, 'q', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    cr_buf_clear(&b);
    cr_buf_printf(&b, "<%s>", big);
    assert_int_equal(b.len, 1001);
    assert_int_equal(b.data[0], '<');
    assert_int_equal(b.data[999], 'q');
    assert_int_equal(b.data[1000], '>');
    assert_int_equal(b.data[1001], '\0');
    cr_buf_free(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
}

static void test_buf_oom_flag(void **state)
{
    (void)state;
    cr_buf b;
    cr_buf_init(&b);
    cr_mem_fail_after(0);
    cr_buf_puts(&b, "hello");
    cr_mem_fail_after(-1);
    assert_true(b.oom);
    assert_null(cr_buf_cstr(&b));
    /* Later appends do nothing, even though memory is back. */
    cr_buf_puts(&b, "world");
    cr_buf_printf(&b, "%d", 5);
    assert_true(b.oom);
    assert_null(cr_buf_cstr(&b));
    assert_false(cr_buf_reserve(&b, 1));
    /* clear starts over. */
    cr_buf_clear(&b);
    assert_false(b.oom);
    cr_buf_puts(&b, "again");
    assert_string_equal(cr_buf_cstr(&b), "again");
    cr_buf_free(&b);

    /* Failing to grow keeps the old block (freed by cr_buf_free, no leak). */
    cr_buf_init(&b);
    cr_buf_puts(&b, "short");
    char big[200];
    memset(big, 'x', sizeof big);
    cr_mem_fail_after(0);
    cr_buf_append(&b, big, sizeof big);
    cr_mem_fail_after(-1);
    assert_true(b.oom);
    assert_int_equal(b.len, 5);
    assert_null(cr_buf_cstr(&b));
    cr_buf_free(&b);

    /* Long printf path under failure. */
    cr_buf_init(&b);
    char longtext[600];
    memset(longtext, 'y', sizeof longtext - 1);
    longtext[sizeof longtext - 1] = '\0';
    cr_mem_fail_after(0);
    cr_buf_printf(&b, "%s", longtext);
    cr_mem_fail_after(-1);
    assert_true(b.oom);
    assert_null(cr_buf_cstr(&b));
    cr_buf_free(&b);
}

static void put_value_is(cr_value v, const char *want)
{
    cr_buf b;
    cr_buf_init(&b);
    cr_buf_put_value(&b, &v);
    assert_non_null(cr_buf_cstr(&b));
    assert_string_equal(cr_buf_cstr(&b), want);
    cr_buf_free(&b);
}

static void test_buf_put_value(void **state)
{
    (void)state;
    put_value_is(cr_val_text("Alice"), "'Alice'");
    put_value_is(cr_val_text("it's"), "\"it's\"");
    put_value_is(cr_val_text("a'b\"c\n"), "'a\\'b\"c\\n'");
    put_value_is(cr_val_text("back\\slash"), "'back\\\\slash'");
    put_value_is(cr_val_text(""), "''");
    put_value_is(cr_val_null(), "None");
    put_value_is(cr_val_bool(true), "True");
    put_value_is(cr_val_bool(false), "False");
    put_value_is(cr_val_numeric("1.5"), "Decimal('1.5')");
    put_value_is(cr_val_int(-42), "-42");
    put_value_is(cr_val_int(INT64_MIN), "-9223372036854775808");
    put_value_is(cr_val_double(1.5), "1.5");
    put_value_is(cr_val_double(0.1), "0.1");
    put_value_is(cr_val_blob("abc", 3), "<3 bytes>");
    put_value_is(cr_val_blob(NULL, 0), "<0 bytes>");
    put_value_is(cr_val_date(2024, 2, 29), "'2024-02-29'");
    put_value_is(cr_val_datetime(2024, 2, 29, 1, 2, 3, 4), "'2024-02-29 01:02:03.000004'");
    /* Only the part of the text its length covers. */
    put_value_is(cr_val_textn("abcdef", 3), "'abc'");

    /* Long text is cut so a log line stays readable. */
    char text[251];
    memset(text, 'a', 250);
    text[250] = '\0';
    cr_buf b;
    cr_buf_init(&b);
    cr_value v = cr_val_text(text);
    cr_buf_put_value(&b, &v);
    const char *s = cr_buf_cstr(&b);
    assert_non_null(s);
    assert_int_equal(s[0], '\'');
    assert_int_equal(s[201], '\'');
    assert_int_equal(s[200], 'a');
    assert_string_equal(s + 202, " ... (50 characters truncated) ...");
    cr_buf_free(&b);
    /* The cut does not split a character: "\xc3\xa9" at bytes 199-200. */
    memcpy(text + 199, "\xc3\xa9", 2);
    cr_buf_init(&b);
    cr_buf_put_value(&b, &v);
    s = cr_buf_cstr(&b);
    assert_non_null(s);
    assert_int_equal(s[200], '\'');
    assert_string_equal(s + 201, " ... (51 characters truncated) ...");
    cr_buf_free(&b);
}

/* ---- arenas ------------------------------------------------------------------ */

static void test_arena_many_aligned(void **state)
{
    (void)state;
    cr_arena a;
    cr_arena_init(&a, 256);
    enum { N = 3000 };
    unsigned char *ptrs[N];
    size_t sizes[N];
    for (int i = 0; i < N; i++) {
        sizes[i] = (size_t)(i * 37 % 301) + 1;     /* 1 .. 301, some past the chunk */
        if (i % 500 == 0)
            sizes[i] = 5000;                        /* bigger than any chunk so far */
        ptrs[i] = cr_arena_alloc(&a, sizes[i]);
        assert_non_null(ptrs[i]);
        assert_int_equal((uintptr_t)ptrs[i] % _Alignof(max_align_t), 0);
        memset(ptrs[i], i & 0xff, sizes[i]);
    }
    /* No block overlaps another: every one still holds its own pattern. */
    for (int i = 0; i < N; i++)
        for (size_t k = 0; k < sizes[i]; k++)
            if (ptrs[i][k] != (unsigned char)(i & 0xff)) {
                print_error("block %d byte %zu overwritten\n", i, k);
                fail();
            }
    cr_arena_free(&a);
    assert_null(a.head);

    /* Usable again after free. */
    void *p = cr_arena_alloc(&a, 10);
    assert_non_null(p);
    memset(p, 1, 10);
    cr_arena_free(&a);

    /* Default chunk size when 0 is given. */
    cr_arena_init(&a, 0);
    assert_true(a.chunk_size > 0);
    assert_non_null(cr_arena_alloc(&a, 1));
    cr_arena_free(&a);
}

static void test_arena_out_of_memory(void **state)
{
    (void)state;
    cr_arena a;
    cr_arena_init(&a, 64);
    cr_mem_fail_after(0);
    assert_null(cr_arena_alloc(&a, 8));
    cr_mem_fail_after(-1);
    /* The arena is still usable. */
    void *p = cr_arena_alloc(&a, 8);
    assert_non_null(p);
    cr_mem_fail_after(0);
    assert_null(cr_arena_alloc(&a, 1000));          /* needs a new chunk */
    cr_mem_fail_after(-1);
    assert_ptr_not_equal(cr_arena_alloc(&a, 8), NULL);
    cr_arena_free(&a);
}

static void test_arena_copy_values(void **state)
{
    (void)state;
    char text[] = "hello world";
    char numeric[] = "12.50";
    unsigned char blob[] = {1, 2, 3, 0, 5};
    cr_value src[] = {
        cr_val_textn(text, 5),          /* "hello", not NUL-terminated at 5 in src */
        cr_val_int(7),
        cr_val_null(),
        cr_val_blob(blob, sizeof blob),
        cr_val_numeric(numeric),
        cr_val_datetime(2024, 2, 29, 1, 2, 3, 4),
        cr_val_blob(NULL, 0),
        cr_val_text(""),
    };
    const int n = (int)(sizeof src / sizeof src[0]);
    cr_arena a;
    cr_arena_init(&a, 32);           /* small: the copies span several chunks */
    cr_value *copy = cr_arena_copy_values(&a, src, n);
    assert_non_null(copy);

    /* Change the sources afterwards: the copies are unaffected. */
    memset(text, 'X', sizeof text - 1);
    memset(numeric, '9', sizeof numeric - 1);
    memset(blob, 0xee, sizeof blob);
    src[1].v.i = 99;

    assert_int_equal(copy[0].type, CR_TEXT);
    assert_int_equal(copy[0].v.s.len, 5);
    assert_ptr_not_equal(copy[0].v.s.ptr, text);
    assert_string_equal(copy[0].v.s.ptr, "hello");   /* NUL-terminated at len */
    assert_int_equal(copy[1].type, CR_INT);
    assert_int_equal(copy[1].v.i, 7);
    assert_int_equal(copy[2].type, CR_NULL);
    assert_int_equal(copy[3].type, CR_BLOB);
    assert_int_equal(copy[3].v.blob.len, 5);
    assert_ptr_not_equal(copy[3].v.blob.ptr, blob);
    assert_memory_equal(copy[3].v.blob.ptr, "\1\2\3\0\5", 5);
    assert_int_equal(copy[4].type, CR_NUMERIC);
    assert_string_equal(copy[4].v.s.ptr, "12.50");
    assert_int_equal(copy[4].v.s.len, 5);
    assert_int_equal(copy[5].type, CR_DATETIME);
    assert_int_equal(copy[5].v.dt.year, 2024);
    assert_int_equal(copy[5].v.dt.microsecond, 4);
    assert_int_equal(copy[6].type, CR_BLOB);
    assert_int_equal(copy[6].v.blob.len, 0);
    assert_int_equal(copy[7].type, CR_TEXT);
    assert_string_equal(copy[7].v.s.ptr, "");

    /* Zero values: a valid (non-NULL) empty array. */
    assert_non_null(cr_arena_copy_values(&a, src, 0));
    cr_arena_free(&a);
}

static void test_arena_copy_values_out_of_memory(void **state)
{
    (void)state;
    char long_text[500];
    memset(long_text, 'z', sizeof long_text - 1);
    long_text[sizeof long_text - 1] = '\0';
    cr_value src[] = {cr_val_int(1), cr_val_text(long_text), cr_val_blob(long_text, 300)};
    bool done = false;
    for (long n = 0; n < 20 && !done; n++) {
        cr_arena a;
        cr_arena_init(&a, 64);
        cr_mem_fail_after(n);
        cr_value *copy = cr_arena_copy_values(&a, src, 3);
        cr_mem_fail_after(-1);
        if (copy) {
            done = true;
            assert_string_equal(copy[1].v.s.ptr, long_text);
            assert_memory_equal(copy[2].v.blob.ptr, long_text, 300);
        }
        cr_arena_free(&a);                /* no leak on either path */
    }
    assert_true(done);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_datetime_round_trip),
        cmocka_unit_test(test_datetime_t_separator),
        cmocka_unit_test(test_fraction_digits),
        cmocka_unit_test(test_date_only),
        cmocka_unit_test(test_time_only),
        cmocka_unit_test(test_utc_offsets),
        cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_format_parse_round_trip),
        cmocka_unit_test(test_format_null_arguments),
        cmocka_unit_test(test_datetime_to_utc),
        cmocka_unit_test(test_impossible_calendar_dates),
        cmocka_unit_test(test_parse_uses_length),
        cmocka_unit_test(test_format_kinds),
        cmocka_unit_test(test_format_small_buffer),
        cmocka_unit_test(test_format_out_of_range_fields),
        cmocka_unit_test(test_python_str_and_repr),
        cmocka_unit_test(test_parse_int64),
        cmocka_unit_test(test_format_int64),
        cmocka_unit_test(test_constructors),
        cmocka_unit_test(test_val_now),
        cmocka_unit_test(test_val_utcnow),
        cmocka_unit_test(test_type_names),
        cmocka_unit_test(test_status_names),
        cmocka_unit_test(test_error_records),
        cmocka_unit_test(test_sqlstate_class),
        cmocka_unit_test(test_buf_growth),
        cmocka_unit_test(test_buf_oom_flag),
        cmocka_unit_test(test_buf_put_value),
        cmocka_unit_test(test_arena_many_aligned),
        cmocka_unit_test(test_arena_out_of_memory),
        cmocka_unit_test(test_arena_copy_values),
        cmocka_unit_test(test_arena_copy_values_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
