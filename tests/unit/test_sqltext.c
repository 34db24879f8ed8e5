/* test_sqltext.c — the :name parameter scanner: placeholders per driver style,
 * what is skipped (strings, identifiers, comments, dollar quotes), and
 * out-of-memory at every allocation. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "engine/sqltext.h"

#include <stdio.h>
#include <string.h>

static const cr_param_style all_styles[] = {
    CR_PARAM_QMARK, CR_PARAM_NUMBERED_QMARK, CR_PARAM_DOLLAR,
};

static const char *style_name(cr_param_style s)
{
    return s == CR_PARAM_QMARK ? "QMARK" : s == CR_PARAM_DOLLAR ? "DOLLAR" : "NUMBERED_QMARK";
}

static void parse_ok(const char *sql, cr_param_style style, cr_sqltext *t)
{
    cr_error err = {0};
    cr_status st = cr_sqltext_parse(sql, style, t, &err);
    if (st != CR_OK)
        print_error("parse(%s, %s) -> %s: %s\n", sql, style_name(style), cr_status_name(st),
                    err.message);
    assert_int_equal(st, CR_OK);
    assert_non_null(t->sql);
    cr_error_clear(&err);
}

/* Parse sql, compare the rewritten SQL and the distinct names (a
 * comma-separated list, "" for none). */
static void expect(const char *sql, cr_param_style style, const char *want_sql,
                   const char *want_names)
{
    cr_sqltext t;
    parse_ok(sql, style, &t);
    char names[512] = "";
    for (int i = 0; i < t.nnames; i++) {
        strcat(names, i ? "," : "");
        strcat(names, t.names[i]);
    }
    if (strcmp(t.sql, want_sql) != 0 || strcmp(names, want_names) != 0) {
        print_error("parse(%s, %s):\n  sql   \"%s\" (want \"%s\")\n  names \"%s\" (want \"%s\")\n",
                    sql, style_name(style), t.sql, want_sql, names, want_names);
        cr_sqltext_free(&t);
        fail();
    }
    /* Slots are consistent with the names in every style. */
    for (int k = 0; k < t.nslots; k++) {
        assert_true(t.slot_name[k] >= 0);
        assert_true(t.slot_name[k] < t.nnames);
    }
    if (style != CR_PARAM_QMARK) {
        assert_int_equal(t.nslots, t.nnames);
        for (int k = 0; k < t.nslots; k++)
            assert_int_equal(t.slot_name[k], k);
    }
    cr_sqltext_free(&t);
}

/* The same expectation in every style, for SQL whose placeholders are all
 * distinct names (want_sql written with '?' for QMARK; '?N' / '$N' derived). */
static void expect_all(const char *sql, const char *want_qmark, const char *want_names)
{
    char numbered[512], dollar[512];
    size_t a = 0, b = 0;
    int n = 0;
    for (const char *p = want_qmark; *p; p++) {
        if (*p == '?') {
            n++;
            a += (size_t)snprintf(numbered + a, sizeof numbered - a, "?%d", n);
            b += (size_t)snprintf(dollar + b, sizeof dollar - b, "$%d", n);
        } else {
            numbered[a++] = *p;
            dollar[b++] = *p;
        }
    }
    numbered[a] = dollar[b] = '\0';
    expect(sql, CR_PARAM_QMARK, want_qmark, want_names);
    expect(sql, CR_PARAM_NUMBERED_QMARK, numbered, want_names);
    expect(sql, CR_PARAM_DOLLAR, dollar, want_names);
}

/* ---- the three styles ---------------------------------------------------------- */

static void test_qmark_repeats_per_occurrence(void **state)
{
    (void)state;
    cr_sqltext t;
    parse_ok(":a, :b, :a", CR_PARAM_QMARK, &t);
    assert_string_equal(t.sql, "?, ?, ?");
    assert_int_equal(t.nnames, 2);
    assert_string_equal(t.names[0], "a");
    assert_string_equal(t.names[1], "b");
    assert_int_equal(t.nslots, 3);
    assert_string_equal(t.names[t.slot_name[0]], "a");
    assert_string_equal(t.names[t.slot_name[1]], "b");
    assert_string_equal(t.names[t.slot_name[2]], "a");
    cr_sqltext_free(&t);
    assert_null(t.sql);
    assert_int_equal(t.nnames, 0);
}

static void test_dollar_numbers_per_name(void **state)
{
    (void)state;
    cr_sqltext t;
    parse_ok(":a, :b, :a", CR_PARAM_DOLLAR, &t);
    assert_string_equal(t.sql, "$1, $2, $1");
    assert_int_equal(t.nnames, 2);
    assert_string_equal(t.names[0], "a");
    assert_string_equal(t.names[1], "b");
    assert_int_equal(t.nslots, 2);
    assert_int_equal(t.slot_name[0], 0);
    assert_int_equal(t.slot_name[1], 1);
    cr_sqltext_free(&t);
}

static void test_numbered_qmark(void **state)
{
    (void)state;
    cr_sqltext t;
    parse_ok(":a, :b, :a", CR_PARAM_NUMBERED_QMARK, &t);
    assert_string_equal(t.sql, "?1, ?2, ?1");
    assert_int_equal(t.nnames, 2);
    assert_int_equal(t.nslots, 2);
    cr_sqltext_free(&t);
}

static void test_realistic_statement(void **state)
{
    (void)state;
    const char *sql = "UPDATE users SET name = :name, email = :email WHERE id = :id AND "
                      "(name <> :name OR email <> :email)";
    expect(sql, CR_PARAM_QMARK,
           "UPDATE users SET name = ?, email = ? WHERE id = ? AND (name <> ? OR email <> ?)",
           "name,email,id");
    expect(sql, CR_PARAM_DOLLAR,
           "UPDATE users SET name = $1, email = $2 WHERE id = $3 AND (name <> $1 OR email <> $2)",
           "name,email,id");
    expect(sql, CR_PARAM_NUMBERED_QMARK,
           "UPDATE users SET name = ?1, email = ?2 WHERE id = ?3 AND (name <> ?1 OR email <> ?2)",
           "name,email,id");

    cr_sqltext t;
    parse_ok(sql, CR_PARAM_QMARK, &t);
    static const int want[] = {0, 1, 2, 0, 1};
    assert_int_equal(t.nslots, 5);
    for (int k = 0; k < 5; k++)
        assert_int_equal(t.slot_name[k], want[k]);
    cr_sqltext_free(&t);
}

static void test_many_names_numbering(void **state)
{
    (void)state;
    /* More names than the scanner's first allocation holds; numbers past 9. */
    char sql[512] = "SELECT ", want_d[512] = "SELECT ", want_q[512] = "SELECT ";
    for (int i = 1; i <= 20; i++) {
        char piece[32];
        snprintf(piece, sizeof piece, "%s:p%d", i > 1 ? ", " : "", i);
        strcat(sql, piece);
        snprintf(piece, sizeof piece, "%s$%d", i > 1 ? ", " : "", i);
        strcat(want_d, piece);
        snprintf(piece, sizeof piece, "%s?", i > 1 ? ", " : "");
        strcat(want_q, piece);
    }
    strcat(sql, ", :p20, :p1");
    strcat(want_d, ", $20, $1");
    strcat(want_q, ", ?, ?");
    cr_sqltext t;
    parse_ok(sql, CR_PARAM_DOLLAR, &t);
    assert_string_equal(t.sql, want_d);
    assert_int_equal(t.nnames, 20);
    assert_string_equal(t.names[19], "p20");
    cr_sqltext_free(&t);

    parse_ok(sql, CR_PARAM_QMARK, &t);
    assert_string_equal(t.sql, want_q);
    assert_int_equal(t.nnames, 20);
    assert_int_equal(t.nslots, 22);
    assert_int_equal(t.slot_name[20], 19);
    assert_int_equal(t.slot_name[21], 0);
    cr_sqltext_free(&t);
}

/* ---- what is not a parameter ------------------------------------------------------- */

static void test_single_quoted_strings(void **state)
{
    (void)state;
    expect_all("SELECT ':x', 'it''s :y', :z", "SELECT ':x', 'it''s :y', ?", "z");
    expect_all("SELECT '''', :a, ''':b'''", "SELECT '''', ?, ''':b'''", "a");
    /* An unterminated string runs to the end. */
    expect_all("SELECT :a, ':b", "SELECT ?, ':b", "a");
}

static void test_double_quoted_identifiers(void **state)
{
    (void)state;
    expect_all("SELECT \"a :b\", \":c\" FROM t WHERE x = :x",
               "SELECT \"a :b\", \":c\" FROM t WHERE x = ?", "x");
    expect_all("SELECT \"q\"\":r\" FROM t WHERE :s", "SELECT \"q\"\":r\" FROM t WHERE ?", "s");
}

static void test_backticks_mysql(void **state)
{
    (void)state;
    expect("SELECT `:x`, `a :y` FROM t WHERE c = :z", CR_PARAM_QMARK,
           "SELECT `:x`, `a :y` FROM t WHERE c = ?", "z");
    expect("SELECT `a``:y` FROM t WHERE c = :z", CR_PARAM_QMARK,
           "SELECT `a``:y` FROM t WHERE c = ?", "z");
    /* PostgreSQL has no backtick quoting. */
    expect("SELECT `:x`", CR_PARAM_DOLLAR, "SELECT `$1`", "x");
}

static void test_backslash_is_literal_in_mysql_backticks(void **state)
{
    (void)state;
    /* In MySQL a backslash escapes only inside strings; in a backtick-quoted
     * identifier it is an ordinary character. `a\` is a complete identifier
     * and :x after it a parameter. */
    expect("SELECT `a\\` FROM t WHERE c = :x", CR_PARAM_QMARK,
           "SELECT `a\\` FROM t WHERE c = ?", "x");
}

static void test_backticks_are_identifiers_in_sqlite(void **state)
{
    (void)state;
    /* SQLite accepts MySQL's `quoted identifiers` too ("A keyword enclosed in
     * grave accents is an identifier"), so :x inside one is not a parameter
     * under SQLite's NUMBERED_QMARK style either. */
    expect("SELECT 1 AS `:x`, :y", CR_PARAM_NUMBERED_QMARK, "SELECT 1 AS `:x`, ?1", "y");
}

static void test_line_comments(void **state)
{
    (void)state;
    expect_all("SELECT 1 -- where :x\n, :y", "SELECT 1 -- where :x\n, ?", "y");
    expect_all("SELECT :a -- :b", "SELECT ? -- :b", "a");
    /* A single '-' is an operator. */
    expect_all("SELECT :a - :b", "SELECT ? - ?", "a,b");
}

static void test_block_comments(void **state)
{
    (void)state;
    expect_all("SELECT /* :x\n :y */ :z /**/ :w", "SELECT /* :x\n :y */ ? /**/ ?", "z,w");
    expect_all("SELECT :a /* unterminated :b", "SELECT ? /* unterminated :b", "a");
    expect_all("SELECT :a / :b", "SELECT ? / ?", "a,b");
}

static void test_hash_comments_mysql_only(void **state)
{
    (void)state;
    expect("SELECT 1 # :x\n, :y", CR_PARAM_QMARK, "SELECT 1 # :x\n, ?", "y");
    /* In PostgreSQL '#' is the XOR operator: a parameter follows it. */
    expect("SELECT 5 # :x", CR_PARAM_DOLLAR, "SELECT 5 # $1", "x");
    expect("SELECT 5 # :x", CR_PARAM_NUMBERED_QMARK, "SELECT 5 # ?1", "x");
}

static void test_dollar_quotes_postgresql(void **state)
{
    (void)state;
    expect("SELECT $$ :x $$, :y", CR_PARAM_DOLLAR, "SELECT $$ :x $$, $1", "y");
    expect("SELECT $tag$ it's :x $$ :z $tag$, :y", CR_PARAM_DOLLAR,
           "SELECT $tag$ it's :x $$ :z $tag$, $1", "y");
    expect("DO $body$ BEGIN PERFORM :x; END $body$", CR_PARAM_DOLLAR,
           "DO $body$ BEGIN PERFORM :x; END $body$", "");
    /* Unterminated: to the end. */
    expect("SELECT :a, $q$ :b", CR_PARAM_DOLLAR, "SELECT $1, $q$ :b", "a");
    /* '$' inside an identifier (PostgreSQL allows it after the first
     * character) does not open a dollar quote. */
    expect("SELECT a$$ + :x", CR_PARAM_DOLLAR, "SELECT a$$ + $1", "x");
    /* MySQL and SQLite have no dollar quotes. */
    expect("SELECT $$ :x $$", CR_PARAM_QMARK, "SELECT $$ ? $$", "x");
    expect("SELECT $$ :x $$", CR_PARAM_NUMBERED_QMARK, "SELECT $$ ?1 $$", "x");
}

static void test_postgresql_escape_string(void **state)
{
    (void)state;
    /* E'...' strings take backslash escapes in PostgreSQL: \' does not end
     * the string, so :x is inside it. */
    expect("SELECT E'it\\'s :x', :y", CR_PARAM_DOLLAR, "SELECT E'it\\'s :x', $1", "y");
}

static void test_cast_is_not_a_parameter(void **state)
{
    (void)state;
    expect_all("SELECT x::int", "SELECT x::int", "");
    expect_all("SELECT :x::int, '1'::text", "SELECT ?::int, '1'::text", "x");
    expect_all("SELECT (:a)::numeric(10, 2)", "SELECT (?)::numeric(10, 2)", "a");
}

static void test_escaped_colon(void **state)
{
    (void)state;
    expect_all("SELECT 1 WHERE a = \\:literal", "SELECT 1 WHERE a = :literal", "");
    expect_all("SELECT \\:a, :b", "SELECT :a, ?", "b");
}

static void test_colon_after_word_char(void **state)
{
    (void)state;
    expect_all("SELECT a:b", "SELECT a:b", "");
    expect_all("SELECT '2024-01-01 12:30:00', 12:30, x_:y", "SELECT '2024-01-01 12:30:00', 12:30, x_:y",
               "");
    /* A lone colon, and a colon before a non-word character. */
    expect_all("SELECT : x, :", "SELECT : x, :", "");
    /* After punctuation it is a parameter. */
    expect_all("SELECT (:a),:b,[:c]", "SELECT (?),?,[?]", "a,b,c");
}

static void test_digit_names(void **state)
{
    (void)state;
    expect("SELECT :1, :2, :1", CR_PARAM_DOLLAR, "SELECT $1, $2, $1", "1,2");
    expect("SELECT :1x", CR_PARAM_QMARK, "SELECT ?", "1x");
}

static void test_unicode_names(void **state)
{
    (void)state;
    cr_sqltext t;
    parse_ok("SELECT :na\xc3\xafve, :\xe5\x90\x8d\xe5\x89\x8d FROM t", CR_PARAM_DOLLAR, &t);
    assert_string_equal(t.sql, "SELECT $1, $2 FROM t");
    assert_int_equal(t.nnames, 2);
    assert_string_equal(t.names[0], "na\xc3\xafve");
    assert_string_equal(t.names[1], "\xe5\x90\x8d\xe5\x89\x8d");
    cr_sqltext_free(&t);
    /* A colon after a non-ASCII letter is inside a word. */
    expect_all("SELECT \xc3\xa9:x", "SELECT \xc3\xa9:x", "");
}

static void test_mysql_backslash_escape_in_string(void **state)
{
    (void)state;
    expect("SELECT 'it\\'s :x', :y", CR_PARAM_QMARK, "SELECT 'it\\'s :x', ?", "y");
    expect("SELECT \"say \\\":x\\\"\", :y", CR_PARAM_QMARK, "SELECT \"say \\\":x\\\"\", ?", "y");
    /* An escaped backslash does not escape the quote after it. */
    expect("SELECT 'a\\\\', :y", CR_PARAM_QMARK, "SELECT 'a\\\\', ?", "y");
}

static void test_empty_and_plain(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof all_styles / sizeof all_styles[0]; i++) {
        cr_sqltext t;
        parse_ok("", all_styles[i], &t);
        assert_string_equal(t.sql, "");
        assert_int_equal(t.nnames, 0);
        assert_int_equal(t.nslots, 0);
        cr_sqltext_free(&t);
    }
    expect_all("SELECT 1 FROM t WHERE a = 'x'", "SELECT 1 FROM t WHERE a = 'x'", "");
}

static void test_find(void **state)
{
    (void)state;
    cr_sqltext t;
    parse_ok("INSERT INTO t VALUES (:id, :name, :id, :note)", CR_PARAM_QMARK, &t);
    assert_int_equal(cr_sqltext_find(&t, "id"), 0);
    assert_int_equal(cr_sqltext_find(&t, "name"), 1);
    assert_int_equal(cr_sqltext_find(&t, "note"), 2);
    assert_int_equal(cr_sqltext_find(&t, "nam"), -1);
    assert_int_equal(cr_sqltext_find(&t, "names"), -1);
    assert_int_equal(cr_sqltext_find(&t, ""), -1);
    assert_int_equal(cr_sqltext_find(&t, "ID"), -1);     /* case matters */
    cr_sqltext_free(&t);

    parse_ok("SELECT 1", CR_PARAM_DOLLAR, &t);
    assert_int_equal(cr_sqltext_find(&t, "x"), -1);
    cr_sqltext_free(&t);
}

/* ---- out of memory -------------------------------------------------------------- */

static void test_out_of_memory_everywhere(void **state)
{
    (void)state;
    /* Enough names, slots and text to reach every allocation the scanner
     * makes, including regrowth of each array and of the output buffer. */
    char sql[4096] = "SELECT 'lit :q', \"id :r\" -- c :s\n";
    for (int i = 0; i < 30; i++) {
        char piece[64];
        snprintf(piece, sizeof piece, ", :name_%d, :name_%d::int /* :t */", i, i % 7);
        strcat(sql, piece);
    }
    for (size_t s = 0; s < sizeof all_styles / sizeof all_styles[0]; s++) {
        cr_param_style style = all_styles[s];
        cr_sqltext want;
        parse_ok(sql, style, &want);
        long n;
        for (n = 0; n < 10000; n++) {
            cr_sqltext t;
            cr_error err = {0};
            cr_mem_fail_after(n);
            cr_status st = cr_sqltext_parse(sql, style, &t, &err);
            bool untouched = cr_mem_fail_disarm();
            if (st == CR_OK) {
                /* Success only when no allocation failed, with the full result. */
                assert_true(untouched);
                assert_string_equal(t.sql, want.sql);
                assert_int_equal(t.nnames, want.nnames);
                assert_int_equal(t.nslots, want.nslots);
                assert_memory_equal(t.slot_name, want.slot_name,
                                    sizeof(int) * (size_t)want.nslots);
                cr_sqltext_free(&t);
                cr_error_clear(&err);
                break;
            }
            assert_false(untouched);
            assert_int_equal(st, CR_ERR_NO_MEMORY);
            assert_int_equal(err.cls, CR_ERR_NO_MEMORY);
            /* Nothing is left owned, and freeing again is harmless (the
             * engine frees a failed parse). */
            assert_null(t.sql);
            assert_null(t.names);
            assert_null(t.slot_name);
            assert_int_equal(t.nnames, 0);
            assert_int_equal(t.nslots, 0);
            cr_sqltext_free(&t);
            cr_error_clear(&err);
        }
        assert_true(n < 10000);
        assert_true(n > 10);          /* there were many allocations to fail */
        cr_sqltext_free(&want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_qmark_repeats_per_occurrence),
        cmocka_unit_test(test_dollar_numbers_per_name),
        cmocka_unit_test(test_numbered_qmark),
        cmocka_unit_test(test_realistic_statement),
        cmocka_unit_test(test_many_names_numbering),
        cmocka_unit_test(test_single_quoted_strings),
        cmocka_unit_test(test_double_quoted_identifiers),
        cmocka_unit_test(test_backticks_mysql),
        cmocka_unit_test(test_backslash_is_literal_in_mysql_backticks),
        cmocka_unit_test(test_backticks_are_identifiers_in_sqlite),
        cmocka_unit_test(test_line_comments),
        cmocka_unit_test(test_block_comments),
        cmocka_unit_test(test_hash_comments_mysql_only),
        cmocka_unit_test(test_dollar_quotes_postgresql),
        cmocka_unit_test(test_postgresql_escape_string),
        cmocka_unit_test(test_cast_is_not_a_parameter),
        cmocka_unit_test(test_escaped_colon),
        cmocka_unit_test(test_colon_after_word_char),
        cmocka_unit_test(test_digit_names),
        cmocka_unit_test(test_unicode_names),
        cmocka_unit_test(test_mysql_backslash_escape_in_string),
        cmocka_unit_test(test_empty_and_plain),
        cmocka_unit_test(test_find),
        cmocka_unit_test(test_out_of_memory_everywhere),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
