/* test_url.c — database URLs parsed as SQLAlchemy parses them, rendered without
 * the password, and the errors cr_create_engine reports for bad ones. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "dialects/driver.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A password that appears nowhere else in any URL below. */
#define SECRET "tiger-s3cr3t"

/* Parse a URL that must be valid. */
static void parse_ok(const char *text, cr_url *u)
{
    cr_error err = {0};
    cr_status st = cr_url_parse(text, u, &err);
    if (st != CR_OK)
        print_error("cr_url_parse(%s) -> %s: %s\n", text, cr_status_name(st), err.message);
    assert_int_equal(st, CR_OK);
    assert_int_equal(err.cls, CR_OK);
    cr_error_clear(&err);
}

/* Parse a URL that must be rejected with ArgumentError; message must contain
 * want (when not NULL) and never the password SECRET. The URL is left zeroed. */
static void parse_fails(const char *text, const char *want)
{
    cr_url u;
    memset(&u, 0x5a, sizeof u);       /* garbage: parse must reset it */
    cr_error err = {0};
    cr_status st = cr_url_parse(text, &u, &err);
    assert_int_equal(st, CR_ERR_ARGUMENT);
    assert_int_equal(err.cls, CR_ERR_ARGUMENT);
    assert_true(err.message[0] != '\0');
    if (want && !strstr(err.message, want)) {
        print_error("message for %s: \"%s\" does not mention \"%s\"\n", text ? text : "(null)",
                    err.message, want);
        fail();
    }
    assert_null(strstr(err.message, SECRET));
    /* Nothing is left owned by the URL after a failed parse. */
    assert_null(u.backend);
    assert_null(u.password);
    assert_null(u.query_keys);
    assert_int_equal(u.nquery, 0);
    cr_url_free(&u);                  /* and freeing it again is harmless */
    cr_error_clear(&err);
}

/* ---- SQLite forms ------------------------------------------------------------ */

static void test_sqlite_relative(void **state)
{
    (void)state;
    cr_url u;
    parse_ok("sqlite:///relative.db", &u);
    assert_string_equal(u.backend, "sqlite");
    assert_null(u.driver);
    assert_null(u.username);
    assert_null(u.password);
    assert_null(u.host);
    assert_int_equal(u.port, 0);
    assert_string_equal(u.database, "relative.db");
    assert_int_equal(u.nquery, 0);
    cr_url_free(&u);
}

static void test_sqlite_absolute(void **state)
{
    (void)state;
    cr_url u;
    parse_ok("sqlite:////absolute/path.db", &u);
    assert_string_equal(u.backend, "sqlite");
    assert_null(u.host);
    assert_string_equal(u.database, "/absolute/path.db");
    cr_url_free(&u);
}

static void test_sqlite_no_database(void **state)
{
    (void)state;
    cr_url u;
    parse_ok("sqlite://", &u);
    assert_string_equal(u.backend, "sqlite");
    assert_null(u.database);
    assert_null(u.host);
    assert_null(u.username);
    assert_int_equal(u.port, 0);
    assert_int_equal(u.nquery, 0);
    cr_url_free(&u);
}

static void test_sqlite_memory(void **state)
{
    (void)state;
    cr_url u;
    parse_ok("sqlite:///:memory:", &u);
    assert_string_equal(u.database, ":memory:");
    assert_null(u.host);
    assert_int_equal(u.port, 0);
    cr_url_free(&u);
}

static void test_sqlite_driver_and_query(void **state)
{
    (void)state;
    cr_url u;
    parse_ok("sqlite+pysqlite:///file.db?timeout=2.5&uri=true", &u);
    assert_string_equal(u.backend, "sqlite");
    assert_string_equal(u.driver, "pysqlite");
    assert_string_equal(u.database, "file.db");
    assert_int_equal(u.nquery, 2);
    assert_string_equal(cr_url_query(&u, "timeout"), "2.5");
    assert_string_equal(cr_url_query(&u, "uri"), "true");
    cr_url_free(&u);
}

/* ---- server URLs ------------------------------------------------------------- */

static void test_postgresql_all_parts(void **state)
{
    (void)state;
    cr_url u;
    parse_ok("postgresql://user:pass@host:5432/db?sslmode=require&connect_timeout=10", &u);
    assert_string_equal(u.backend, "postgresql");
    assert_null(u.driver);
    assert_string_equal(u.username, "user");
    assert_string_equal(u.password, "pass");
    assert_string_equal(u.host, "host");
    assert_int_equal(u.port, 5432);
    assert_string_equal(u.database, "db");
    assert_int_equal(u.nquery, 2);
    /* In URL order. */
    assert_string_equal(u.query_keys[0], "sslmode");
    assert_string_equal(u.query_values[0], "require");
    assert_string_equal(u.query_keys[1], "connect_timeout");
    assert_string_equal(u.query_values[1], "10");
    assert_string_equal(cr_url_query(&u, "connect_timeout"), "10");
    assert_string_equal(cr_url_query(&u, "sslmode"), "require");
    assert_null(cr_url_query(&u, "application_name"));
    assert_null(cr_url_query(&u, "sslmod"));
    cr_url_free(&u);
}

static void test_query_order_kept(void **state)
{
    (void)state;
    cr_url u;
    parse_ok("postgresql://h/db?z=1&a=2&m=3", &u);
    assert_int_equal(u.nquery, 3);
    assert_string_equal(u.query_keys[0], "z");
    assert_string_equal(u.query_keys[1], "a");
    assert_string_equal(u.query_keys[2], "m");
    assert_string_equal(u.query_values[0], "1");
    assert_string_equal(u.query_values[1], "2");
    assert_string_equal(u.query_values[2], "3");
    cr_url_free(&u);
}

static void test_postgresql_drivers(void **state)
{
    (void)state;
    cr_url u;
    parse_ok("postgresql+libpq://scott@localhost/test", &u);
    assert_string_equal(u.backend, "postgresql");
    assert_string_equal(u.driver, "libpq");
    assert_string_equal(u.username, "scott");
    assert_null(u.password);
    assert_string_equal(u.host, "localhost");
    assert_string_equal(u.database, "test");
    cr_url_free(&u);

    parse_ok("postgresql+psycopg2://scott@localhost/test", &u);
    assert_string_equal(u.backend, "postgresql");
    assert_string_equal(u.driver, "psycopg2");
    cr_url_free(&u);

    parse_ok("postgresql+psycopg://localhost/test", &u);
    assert_string_equal(u.driver, "psycopg");
    cr_url_free(&u);
}

static void test_unknown_driver_rejected(void **state)
{
    (void)state;
    parse_fails("postgresql+nonsense://scott:" SECRET "@localhost/test", "nonsense");
    parse_fails("mysql+psycopg2://scott:" SECRET "@localhost/test", "psycopg2");
    /* A prefix of a known driver is not that driver. */
    parse_fails("postgresql+psyco://localhost/test", "psyco");
    parse_fails("postgresql+libpqx://localhost/test", "libpqx");
}

static void test_mysql_and_mariadb(void **state)
{
    (void)state;
    cr_url u;
    parse_ok("mysql://scott:tiger@db.example.com:3307/shop?charset=utf8mb4", &u);
    assert_string_equal(u.backend, "mysql");
    assert_null(u.driver);
    assert_string_equal(u.username, "scott");
    assert_string_equal(u.password, "tiger");
    assert_string_equal(u.host, "db.example.com");
    assert_int_equal(u.port, 3307);
    assert_string_equal(u.database, "shop");
    assert_string_equal(cr_url_query(&u, "charset"), "utf8mb4");
    cr_url_free(&u);

    parse_ok("mariadb://scott@localhost/shop", &u);
    assert_string_equal(u.backend, "mysql");      /* mariadb maps to mysql */
    assert_null(u.driver);
    assert_string_equal(u.database, "shop");
    cr_url_free(&u);

    parse_ok("mysql+mariadb://scott@localhost/shop", &u);
    assert_string_equal(u.backend, "mysql");
    assert_string_equal(u.driver, "mariadb");
    cr_url_free(&u);

    parse_ok("mariadb+mariadbconnector://localhost/shop", &u);
    assert_string_equal(u.backend, "mysql");
    assert_string_equal(u.driver, "mariadbconnector");
    cr_url_free(&u);

    parse_ok("mysql+pymysql://localhost/shop", &u);
    assert_string_equal(u.driver, "pymysql");
    cr_url_free(&u);
}

static void test_percent_decoding(void **state)
{
    (void)state;
    cr_url u;
    parse_ok("postgresql://us%20er:p%40ss%3Aw%2Frd@host/db", &u);
    assert_string_equal(u.username, "us er");
    assert_string_equal(u.password, "p@ss:w/rd");
    assert_string_equal(u.host, "host");
    assert_string_equal(u.database, "db");
    cr_url_free(&u);

    /* Lower-case hex digits decode too. */
    parse_ok("postgresql://a%2fb:c%3ad@host/db", &u);
    assert_string_equal(u.username, "a/b");
    assert_string_equal(u.password, "c:d");
    cr_url_free(&u);

    /* A '%' not followed by two hex digits stays as it is (Python's unquote). */
    parse_ok("postgresql://user:50%zz%4@host/db", &u);
    assert_string_equal(u.password, "50%zz%4");
    cr_url_free(&u);

    /* '+' is a space only in the query, not in user or password. */
    parse_ok("postgresql://a+b:c+d@host/db", &u);
    assert_string_equal(u.username, "a+b");
    assert_string_equal(u.password, "c+d");
    cr_url_free(&u);
}

static void test_password_with_unencoded_slash(void **state)
{
    (void)state;
    cr_url u;
    parse_ok("postgresql://user:pa/ss/wd@host:5432/db", &u);
    assert_string_equal(u.username, "user");
    assert_string_equal(u.password, "pa/ss/wd");
    assert_string_equal(u.host, "host");
    assert_int_equal(u.port, 5432);
    assert_string_equal(u.database, "db");
    cr_url_free(&u);
}

static void test_user_without_password(void **state)
{
    (void)state;
    cr_url u;
    parse_ok("postgresql://scott@host:5432/db", &u);
    assert_string_equal(u.username, "scott");
    assert_null(u.password);
    assert_string_equal(u.host, "host");
    assert_int_equal(u.port, 5432);
    cr_url_free(&u);

    /* The user name runs to the ':' before the password, so it may hold an
     * '@'; the password runs to the next '@'. */
    parse_ok("postgresql://me@corp:pw@host/db", &u);
    assert_string_equal(u.username, "me@corp");
    assert_string_equal(u.password, "pw");
    assert_string_equal(u.host, "host");
    cr_url_free(&u);

    /* Without a password the last '@' before the host ends the user name. */
    parse_ok("postgresql://me@corp@host:1/db", &u);
    assert_string_equal(u.username, "me@corp");
    assert_null(u.password);
    assert_string_equal(u.host, "host");
    assert_int_equal(u.port, 1);
    cr_url_free(&u);

    /* An '@' in a SQLite path is part of the path. */
    parse_ok("sqlite:///dir/a@b.db", &u);
    assert_null(u.username);
    assert_string_equal(u.database, "dir/a@b.db");
    cr_url_free(&u);

    /* An empty password is a password, not none. */
    parse_ok("postgresql://scott:@host/db", &u);
    assert_string_equal(u.username, "scott");
    assert_non_null(u.password);
    assert_string_equal(u.password, "");
    cr_url_free(&u);
}

static void test_ipv6_host(void **state)
{
    (void)state;
    cr_url u;
    parse_ok("postgresql://user:pw@[::1]:5432/db", &u);
    assert_string_equal(u.host, "::1");
    assert_int_equal(u.port, 5432);
    assert_string_equal(u.database, "db");
    cr_url_free(&u);

    parse_ok("postgresql://[2001:db8::7]/db", &u);
    assert_string_equal(u.host, "2001:db8::7");
    assert_int_equal(u.port, 0);
    assert_string_equal(u.database, "db");
    char *s = cr_url_render_safe(&u);
    assert_non_null(s);
    assert_string_equal(s, "postgresql://[2001:db8::7]/db");
    cr_free(s);
    cr_url_free(&u);

    parse_fails("postgresql://[::1/db", "[");
}

static void test_no_port(void **state)
{
    (void)state;
    cr_url u;
    parse_ok("postgresql://user:pw@host/db", &u);
    assert_string_equal(u.host, "host");
    assert_int_equal(u.port, 0);
    cr_url_free(&u);

    /* Host and port with no database, then a query. */
    parse_ok("postgresql://host:6543?sslmode=disable", &u);
    assert_string_equal(u.host, "host");
    assert_int_equal(u.port, 6543);
    assert_null(u.database);
    assert_string_equal(cr_url_query(&u, "sslmode"), "disable");
    cr_url_free(&u);

    /* Bounds of the valid range. */
    parse_ok("postgresql://host:1/db", &u);
    assert_int_equal(u.port, 1);
    cr_url_free(&u);
    parse_ok("postgresql://host:65535/db", &u);
    assert_int_equal(u.port, 65535);
    cr_url_free(&u);
}

static void test_bad_ports(void **state)
{
    (void)state;
    parse_fails("postgresql://user:" SECRET "@host:0/db", "'0'");
    parse_fails("postgresql://user:" SECRET "@host:70000/db", "70000");
    parse_fails("postgresql://user:" SECRET "@host:65536/db", "65536");
    parse_fails("postgresql://user:" SECRET "@host:abc/db", "abc");
    parse_fails("postgresql://user:" SECRET "@host:-5/db", "-5");
    parse_fails("postgresql://host:12x?sslmode=require", "12x");
}

static void test_unknown_backend(void **state)
{
    (void)state;
    parse_fails("oracle://scott:" SECRET "@host/db", "oracle");
    parse_fails("mssql+pyodbc://scott:" SECRET "@host/db", "mssql");
    /* Backends are matched exactly, not by prefix. */
    parse_fails("postgres://host/db", "postgres");
    parse_fails("sqlite3:///x.db", "sqlite3");
}

static void test_not_a_url(void **state)
{
    (void)state;
    parse_fails("relative.db", NULL);
    parse_fails("sqlite:/x.db", NULL);
    parse_fails("://host/db", NULL);
    parse_fails("", NULL);
    parse_fails("postgre sql://host/db", NULL);
    parse_fails(NULL, "NULL");
}

static void test_query_decoding(void **state)
{
    (void)state;
    cr_url u;
    parse_ok("postgresql://host/db?application_name=my+app%20one&opt%2Dkey=a%26b%3Dc", &u);
    assert_int_equal(u.nquery, 2);
    assert_string_equal(cr_url_query(&u, "application_name"), "my app one");
    assert_string_equal(cr_url_query(&u, "opt-key"), "a&b=c");
    cr_url_free(&u);

    /* An empty value is a value; empty segments between '&' are skipped. */
    parse_ok("postgresql://host/db?a=&&b=2&", &u);
    assert_int_equal(u.nquery, 2);
    assert_string_equal(cr_url_query(&u, "a"), "");
    assert_string_equal(cr_url_query(&u, "b"), "2");
    cr_url_free(&u);

    /* '=' inside a value is part of the value. */
    parse_ok("postgresql://host/db?options=-c%20search_path=s1", &u);
    assert_string_equal(cr_url_query(&u, "options"), "-c search_path=s1");
    cr_url_free(&u);
}

static void test_query_without_value(void **state)
{
    (void)state;
    parse_fails("postgresql://user:" SECRET "@host/db?sslmode", "sslmode");
    parse_fails("postgresql://host/db?a=1&flagonly&b=2", "flagonly");
    parse_fails("postgresql://host/db?=value", NULL);
}

/* ---- rendering --------------------------------------------------------------- */

static void test_render_masks_password(void **state)
{
    (void)state;
    cr_url u;
    parse_ok("postgresql://scott:" SECRET "@db.example.com:5432/prod?sslmode=require", &u);
    char *s = cr_url_render_safe(&u);
    assert_non_null(s);
    assert_string_equal(s, "postgresql://scott:***@db.example.com:5432/prod?sslmode=require");
    assert_null(strstr(s, SECRET));
    cr_free(s);
    cr_url_free(&u);

    /* The decoded form of an encoded password does not appear either. */
    parse_ok("mysql+pymysql://root:hun%40ter2@localhost/shop", &u);
    s = cr_url_render_safe(&u);
    assert_non_null(s);
    assert_string_equal(s, "mysql+pymysql://root:***@localhost/shop");
    assert_null(strstr(s, "hun@ter2"));
    assert_null(strstr(s, "hun%40ter2"));
    cr_free(s);
    cr_url_free(&u);

    /* No password: nothing to mask, no ":***". */
    parse_ok("postgresql://scott@host/db", &u);
    s = cr_url_render_safe(&u);
    assert_string_equal(s, "postgresql://scott@host/db");
    cr_free(s);
    cr_url_free(&u);

    /* A user name that needs encoding is re-encoded. */
    parse_ok("postgresql://a%40b:" SECRET "@host/db", &u);
    s = cr_url_render_safe(&u);
    assert_string_equal(s, "postgresql://a%40b:***@host/db");
    cr_free(s);
    cr_url_free(&u);
}

static void test_render_masks_password_option(void **state)
{
    (void)state;
    cr_url u;
    parse_ok("postgresql://host/db?user=scott&password=" SECRET "&sslmode=require", &u);
    assert_string_equal(cr_url_query(&u, "password"), SECRET);
    char *s = cr_url_render_safe(&u);
    assert_non_null(s);
    assert_null(strstr(s, SECRET));
    assert_string_equal(s, "postgresql://host/db?user=scott&password=***&sslmode=require");
    cr_free(s);
    cr_url_free(&u);
}

static void test_render_sqlite_forms(void **state)
{
    (void)state;
    static const char *const forms[] = {
        "sqlite://", "sqlite:///relative.db", "sqlite:////absolute/path.db",
        "sqlite:///:memory:", "postgresql+psycopg2://scott:***@h:1234/d",
    };
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        cr_url u;
        parse_ok(forms[i], &u);
        char *s = cr_url_render_safe(&u);
        assert_non_null(s);
        assert_string_equal(s, forms[i]);
        cr_free(s);
        cr_url_free(&u);
    }
}

/* ---- editing ---------------------------------------------------------------- */

static void test_set_query_and_database(void **state)
{
    (void)state;
    cr_url u;
    cr_error err = {0};
    parse_ok("postgresql://host/db?sslmode=require", &u);

    /* Add a new option: appended after the existing one. */
    assert_int_equal(cr_url_set_query(&u, "connect_timeout", "10", &err), CR_OK);
    assert_int_equal(u.nquery, 2);
    assert_string_equal(u.query_keys[1], "connect_timeout");
    assert_string_equal(cr_url_query(&u, "connect_timeout"), "10");

    /* Replace an existing one: no new entry. */
    assert_int_equal(cr_url_set_query(&u, "sslmode", "disable", &err), CR_OK);
    assert_int_equal(u.nquery, 2);
    assert_string_equal(u.query_keys[0], "sslmode");
    assert_string_equal(cr_url_query(&u, "sslmode"), "disable");

    /* The value is copied, not borrowed. */
    char value[8] = "abc";
    assert_int_equal(cr_url_set_query(&u, "application_name", value, &err), CR_OK);
    value[0] = 'X';
    assert_string_equal(cr_url_query(&u, "application_name"), "abc");

    assert_int_equal(cr_url_set_database(&u, "other", &err), CR_OK);
    assert_string_equal(u.database, "other");

    char *s = cr_url_render_safe(&u);
    assert_string_equal(s, "postgresql://host/other?sslmode=disable&connect_timeout=10"
                           "&application_name=abc");
    cr_free(s);
    cr_url_free(&u);

    /* Setting on a URL that had no query and no database. */
    parse_ok("sqlite://", &u);
    assert_int_equal(cr_url_set_database(&u, "x.db", &err), CR_OK);
    assert_int_equal(cr_url_set_query(&u, "uri", "true", &err), CR_OK);
    assert_string_equal(u.database, "x.db");
    assert_int_equal(u.nquery, 1);
    assert_string_equal(cr_url_query(&u, "uri"), "true");
    cr_url_free(&u);
    assert_int_equal(err.cls, CR_OK);
    cr_error_clear(&err);
}

static void test_set_query_out_of_memory(void **state)
{
    (void)state;
    cr_url u;
    parse_ok("postgresql://host/db?a=1", &u);
    bool done = false;
    for (long n = 0; n < 50 && !done; n++) {
        cr_error err = {0};
        cr_mem_fail_after(n);
        cr_status st = cr_url_set_query(&u, "b", "2", &err);
        cr_mem_fail_after(-1);
        if (st == CR_OK) {
            done = true;
        } else {
            assert_int_equal(st, CR_ERR_NO_MEMORY);
            assert_int_equal(err.cls, CR_ERR_NO_MEMORY);
            /* The URL is unchanged and still usable. */
            assert_int_equal(u.nquery, 1);
            assert_string_equal(cr_url_query(&u, "a"), "1");
            assert_null(cr_url_query(&u, "b"));
        }
        cr_error_clear(&err);
    }
    assert_true(done);
    assert_int_equal(u.nquery, 2);
    assert_string_equal(cr_url_query(&u, "b"), "2");
    cr_url_free(&u);
}

static void test_parse_out_of_memory(void **state)
{
    (void)state;
    const char *text = "postgresql+psycopg2://us%20er:pw@[::1]:5432/db?a=1&b=x+y&c=3";
    bool done = false;
    for (long n = 0; n < 200 && !done; n++) {
        cr_url u;
        cr_error err = {0};
        cr_mem_fail_after(n);
        cr_status st = cr_url_parse(text, &u, &err);
        cr_mem_fail_after(-1);
        if (st == CR_OK) {
            done = true;
            assert_string_equal(u.username, "us er");
            assert_string_equal(u.host, "::1");
            assert_string_equal(cr_url_query(&u, "b"), "x y");
            assert_int_equal(u.nquery, 3);
        } else {
            assert_int_equal(st, CR_ERR_NO_MEMORY);
            assert_null(u.backend);
        }
        cr_url_free(&u);
        cr_error_clear(&err);
    }
    assert_true(done);
}

/* ---- through the public API ------------------------------------------------- */

/* cr_create_engine must fail with ArgumentError naming want, without the password. */
static void engine_fails(const char *url, const cr_engine_options *opts, cr_status cls,
                         const char *want)
{
    cr_error *err = (cr_error *)0x1;   /* must be overwritten */
    cr_engine *e = cr_create_engine(url, opts, &err);
    assert_null(e);
    assert_non_null(err);
    assert_true(err != (cr_error *)0x1);
    assert_int_equal(cr_error_class(err), cls);
    assert_string_equal(cr_error_class_name(err), cr_status_name(cls));
    const char *msg = cr_error_message(err);
    assert_non_null(msg);
    if (want && !strstr(msg, want)) {
        print_error("cr_create_engine(%s): \"%s\" does not mention \"%s\"\n",
                    url ? url : "(null)", msg, want);
        fail();
    }
    assert_null(strstr(msg, SECRET));
    assert_null(cr_error_statement(err));
    cr_error_free(err);

    /* err may be NULL: still no engine, no crash, no leak. */
    assert_null(cr_create_engine(url, opts, NULL));
}

static void test_engine_bad_urls(void **state)
{
    (void)state;
    engine_fails("postgresql://scott:" SECRET "@host:70000/db", NULL, CR_ERR_ARGUMENT, "70000");
    engine_fails("postgresql://scott:" SECRET "@host:abc/db", NULL, CR_ERR_ARGUMENT, "abc");
    engine_fails("oracle://scott:" SECRET "@host/db", NULL, CR_ERR_ARGUMENT, "oracle");
    engine_fails("postgresql+nonsense://scott:" SECRET "@host/db", NULL, CR_ERR_ARGUMENT,
                 "nonsense");
    engine_fails("postgresql://scott:" SECRET "@host/db?sslmode", NULL, CR_ERR_ARGUMENT,
                 "sslmode");
    engine_fails("scott:" SECRET "@host/db", NULL, CR_ERR_ARGUMENT, NULL);
    engine_fails("", NULL, CR_ERR_ARGUMENT, NULL);
}

/* Issue 8, finding 4: every numeric SQLite URL option is range-checked when
 * the engine is created (no float-to-int overflow at connect), and an
 * in-memory engine connects at its first checkout, not before. */
static void test_sqlite_numeric_options(void **state)
{
    (void)state;
    if (!cr_backend_available("sqlite"))
        skip();
    static const char *const bad[] = {
        "sqlite://?timeout=1e40", "sqlite://?timeout=nan", "sqlite://?timeout=-nan",
        "sqlite://?timeout=inf", "sqlite://?timeout=-1", "sqlite://?timeout=2147484",
        "sqlite:///never-created.db?timeout=1e40", "sqlite:///never-created.db?timeout=NaN",
        "sqlite:///never-created.db?timeout=0x1p99", "sqlite:///never-created.db?timeout=",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        engine_fails(bad[i], NULL, CR_ERR_ARGUMENT, "timeout");
    /* The range's ends are fine. */
    cr_engine *e = cr_create_engine("sqlite://?timeout=0", NULL, NULL);
    assert_non_null(e);
    cr_engine_free(e);
    e = cr_create_engine("sqlite://?timeout=2147483", NULL, NULL);
    assert_non_null(e);
    cr_conn *c = cr_engine_connect(e, NULL);
    assert_non_null(c);
    cr_conn_close(c);
    cr_engine_free(e);
}

/* The MySQL URL's numeric and flag options too, when the engine is made. */
static void test_mysql_options_checked_at_create(void **state)
{
    (void)state;
    if (!cr_backend_available("mysql"))
        skip();
    engine_fails("mysql://u:" SECRET "@127.0.0.1:1/db?connect_timeout=1e40", NULL,
                 CR_ERR_ARGUMENT, "connect_timeout");
    engine_fails("mysql://u@127.0.0.1:1/db?read_timeout=-1", NULL, CR_ERR_ARGUMENT,
                 "read_timeout");
    engine_fails("mysql://u@127.0.0.1:1/db?write_timeout=2147483648", NULL, CR_ERR_ARGUMENT,
                 "write_timeout");
    engine_fails("mysql://u@127.0.0.1:1/db?write_timeout=nan", NULL, CR_ERR_ARGUMENT,
                 "write_timeout");
    engine_fails("mysql://u@127.0.0.1:1/db?ssl_verify_server_cert=maybe", NULL, CR_ERR_ARGUMENT,
                 "ssl_verify_server_cert");
    engine_fails("mysql://u@127.0.0.1:1/db?bogus=1", NULL, CR_ERR_ARGUMENT, "bogus");
    engine_fails("mysql://u@127.0.0.1:1/db?charset=", NULL, CR_ERR_ARGUMENT, "charset");
    /* Good options make an engine; nothing is connected yet. */
    cr_engine *e = cr_create_engine("mysql://u@127.0.0.1:1/db?connect_timeout=2147483647&"
                                    "ssl_verify_server_cert=false&charset=utf8mb4", NULL, NULL);
    assert_non_null(e);
    cr_engine_free(e);
}

#ifdef CRUCIBLE_HAVE_SQLITE
#include <sqlite3.h>
static void test_sqlite_memory_engine_connects_lazily(void **state)
{
    (void)state;
    /* A SQLite connection costs SQLite tens of kilobytes: none may be open
     * after cr_create_engine alone. */
    sqlite3_initialize();
    sqlite3_int64 before = sqlite3_memory_used();
    cr_engine *e = cr_create_engine("sqlite://", NULL, NULL);
    assert_non_null(e);
    sqlite3_int64 after_create = sqlite3_memory_used();
    if (after_create - before > 1024)
        print_error("cr_create_engine(\"sqlite://\") took %lld bytes of SQLite memory\n",
                    (long long)(after_create - before));
    assert_true(after_create - before <= 1024);
    /* The first checkout opens it, and the database is shared by all of the
     * engine's connections and outlives them. */
    cr_conn *c = cr_engine_connect(e, NULL);
    assert_non_null(c);
    assert_true(sqlite3_memory_used() - before > 1024);
    assert_int_equal(cr_conn_exec(c, "CREATE TABLE kept (x INTEGER)", NULL), CR_OK);
    assert_int_equal(cr_conn_commit(c), CR_OK);
    cr_conn_close(c);
    cr_engine_dispose(e);
    c = cr_engine_connect(e, NULL);
    assert_non_null(c);
    assert_int_equal(cr_conn_exec(c, "INSERT INTO kept VALUES (1)", NULL), CR_OK);
    cr_conn_close(c);
    cr_engine_free(e);
    assert_true(sqlite3_memory_used() - before <= 1024);
}
#endif

static void test_engine_database_url_env(void **state)
{
    (void)state;
    char *saved = getenv("DATABASE_URL") ? strdup(getenv("DATABASE_URL")) : NULL;

    unsetenv("DATABASE_URL");
    engine_fails(NULL, NULL, CR_ERR_ARGUMENT, "DATABASE_URL");

#ifdef CRUCIBLE_HAVE_SQLITE
    setenv("DATABASE_URL", "sqlite://", 1);
    cr_error *err = NULL;
    cr_engine *e = cr_create_engine(NULL, NULL, &err);
    assert_non_null(e);
    assert_null(err);
    assert_string_equal(cr_engine_backend(e), "sqlite");
    assert_string_equal(cr_engine_url(e), "sqlite://");
    /* It is a usable engine. */
    cr_conn *c = cr_engine_connect(e, &err);
    assert_non_null(c);
    cr_result *r = cr_conn_execute(c, "SELECT 40 + 2", NULL);
    assert_non_null(r);
    cr_value v;
    assert_int_equal(cr_result_scalar(r, &v), CR_OK);
    assert_int_equal(v.type, CR_INT);
    assert_int_equal(v.v.i, 42);
    cr_result_free(r);
    cr_conn_close(c);
    cr_engine_free(e);

    /* An explicit URL wins over DATABASE_URL. */
    setenv("DATABASE_URL", "oracle://nowhere/x", 1);
    e = cr_create_engine("sqlite:///:memory:", NULL, &err);
    assert_non_null(e);
    assert_string_equal(cr_engine_url(e), "sqlite:///:memory:");
    cr_engine_free(e);
    /* And a bad DATABASE_URL is reported like a bad URL. */
    engine_fails(NULL, NULL, CR_ERR_ARGUMENT, "oracle");
#endif

    if (saved) {
        setenv("DATABASE_URL", saved, 1);
        free(saved);
    } else {
        unsetenv("DATABASE_URL");
    }
}

static void test_engine_url_masks_password(void **state)
{
    (void)state;
    if (!cr_backend_available("postgresql"))
        skip();
    cr_error *err = NULL;
    /* No connection is made until the first connect. */
    cr_engine *e = cr_create_engine("postgresql+psycopg2://scott:" SECRET
                                    "@localhost:5432/test?sslmode=disable&password=" SECRET,
                                    NULL, &err);
    assert_non_null(e);
    assert_null(err);
    assert_string_equal(cr_engine_backend(e), "postgresql");
    const char *shown = cr_engine_url(e);
    assert_non_null(shown);
    assert_null(strstr(shown, SECRET));
    assert_string_equal(shown, "postgresql+psycopg2://scott:***@localhost:5432/test"
                               "?sslmode=disable&password=***");
    cr_engine_free(e);
}

/* libpq's multi-host form: every host with its port, in URL order; a host
 * without a port takes the backend's default (0); IPv6 in brackets. */
static void test_multi_host(void **state)
{
    (void)state;
    cr_url u;
    parse_ok("postgresql://me:pw@h1:5432,h2:5433,[::1]:5434,h4/db?"
             "target_session_attrs=read-write", &u);
    assert_int_equal(u.nhosts, 4);
    assert_string_equal(u.hosts[0].name, "h1");
    assert_int_equal(u.hosts[0].port, 5432);
    assert_string_equal(u.hosts[1].name, "h2");
    assert_int_equal(u.hosts[1].port, 5433);
    assert_string_equal(u.hosts[2].name, "::1");
    assert_int_equal(u.hosts[2].port, 5434);
    assert_string_equal(u.hosts[3].name, "h4");
    assert_int_equal(u.hosts[3].port, 0);
    /* host and port are the first host's */
    assert_string_equal(u.host, "h1");
    assert_int_equal(u.port, 5432);
    assert_string_equal(u.username, "me");
    assert_string_equal(u.password, "pw");
    assert_string_equal(u.database, "db");
    assert_string_equal(cr_url_query(&u, "target_session_attrs"), "read-write");
    char *safe = cr_url_render_safe(&u);
    assert_string_equal(safe, "postgresql://me:***@h1:5432,h2:5433,[::1]:5434,h4/db?"
                              "target_session_attrs=read-write");
    cr_free(safe);
    cr_url_free(&u);

    parse_ok("mysql://u:p@h1:3306,h2:3307/shop", &u);
    assert_string_equal(u.backend, "mysql");
    assert_int_equal(u.nhosts, 2);
    assert_string_equal(u.hosts[1].name, "h2");
    assert_int_equal(u.hosts[1].port, 3307);
    assert_string_equal(u.database, "shop");
    cr_url_free(&u);

    /* Without a database or with only options after the hosts. */
    parse_ok("postgresql://[fe80::1],10.0.0.2:6000?connect_timeout=2", &u);
    assert_int_equal(u.nhosts, 2);
    assert_string_equal(u.hosts[0].name, "fe80::1");
    assert_int_equal(u.hosts[0].port, 0);
    assert_string_equal(u.hosts[1].name, "10.0.0.2");
    assert_int_equal(u.hosts[1].port, 6000);
    assert_null(u.database);
    cr_url_free(&u);

    /* One host is a list of one. */
    parse_ok("postgresql://h:5/db", &u);
    assert_int_equal(u.nhosts, 1);
    assert_string_equal(u.hosts[0].name, "h");
    assert_int_equal(u.hosts[0].port, 5);
    cr_url_free(&u);
    parse_ok("postgresql:///db", &u);
    assert_int_equal(u.nhosts, 0);
    assert_null(u.hosts);
    cr_url_free(&u);

    /* SQLAlchemy's spelling: hosts as repeated options, none in the authority
     * (the PostgreSQL driver reads them). */
    parse_ok("postgresql://me@/db?host=h1:5432&host=h2", &u);
    assert_null(u.host);
    assert_int_equal(u.nhosts, 0);
    assert_int_equal(u.nquery, 2);
    assert_string_equal(u.query_values[1], "h2");
    cr_url_free(&u);
}

/* A host list that cannot be right is refused, naming what is wrong. */
static void test_multi_host_errors(void **state)
{
    (void)state;
    parse_fails("postgresql://u:" SECRET "@h1:5432,h2:99999/db", "99999");
    parse_fails("postgresql://u:" SECRET "@h1:5432,h2:x/db", "'x'");
    parse_fails("postgresql://u:" SECRET "@h1,,h2/db", "empty entry");
    parse_fails("postgresql://u:" SECRET "@h1,/db", "empty entry");
    parse_fails("postgresql://u:" SECRET "@,h1/db", "empty entry");
    parse_fails("postgresql://u:" SECRET "@h1,:5433/db", "port but no host");
    parse_fails("postgresql://u:" SECRET "@h1,[::1/db", "unterminated '['");
    parse_fails("postgresql://u:" SECRET "@h1,[::1]x/db", "after ']'");
    parse_fails("postgresql://u:" SECRET "@h1,::1:5432/db", "brackets");
    parse_fails("mysql://u:" SECRET "@h1:0,h2/db", "'0'");
}

/* The parser of one host, which the PostgreSQL driver also uses for
 * ?host= options. */
static void test_parse_host(void **state)
{
    (void)state;
    cr_url_host h;
    cr_error err = {0};
    assert_int_equal(cr_url_parse_host("db.example:7", 12, &h, &err), CR_OK);
    assert_string_equal(h.name, "db.example");
    assert_int_equal(h.port, 7);
    cr_free(h.name);
    assert_int_equal(cr_url_parse_host("/var/run/postgresql", 19, &h, &err), CR_OK);
    assert_string_equal(h.name, "/var/run/postgresql");
    assert_int_equal(h.port, 0);
    cr_free(h.name);
    assert_int_equal(cr_url_parse_host("[::1]:1", 7, &h, &err), CR_OK);
    assert_string_equal(h.name, "::1");
    assert_int_equal(h.port, 1);
    cr_free(h.name);
    assert_int_equal(cr_url_parse_host("", 0, &h, &err), CR_OK);
    assert_null(h.name);
    assert_int_equal(h.port, 0);
    assert_int_equal(cr_url_parse_host("h:65536", 7, &h, &err), CR_ERR_ARGUMENT);
    assert_non_null(strstr(err.message, "65536"));
    assert_null(h.name);
    cr_error_clear(&err);
}

/* Engines: the masked URL shows every host; SQLite refuses hosts. */
static void test_multi_host_engine(void **state)
{
    (void)state;
    cr_error *err = NULL;
    cr_engine *e = cr_create_engine("postgresql://me:" SECRET "@h1:5432,[::1]:5433,h3/db?"
                                    "target_session_attrs=read-write", NULL, &err);
    assert_non_null(e);
    assert_string_equal(cr_engine_url(e), "postgresql://me:***@h1:5432,[::1]:5433,h3/db?"
                                          "target_session_attrs=read-write");
    cr_engine_free(e);
    e = cr_create_engine("mysql://me:" SECRET "@h1:3306,h2:3307/db", NULL, &err);
    assert_non_null(e);
    assert_string_equal(cr_engine_url(e), "mysql://me:***@h1:3306,h2:3307/db");
    cr_engine_free(e);
    assert_null(cr_create_engine("sqlite://h1,h2/x.db", NULL, &err));
    assert_int_equal(cr_error_class(err), CR_ERR_ARGUMENT);
    assert_non_null(strstr(cr_error_message(err), "names no hosts (this one has 2)"));
    cr_error_free(err);
    err = NULL;
    assert_null(cr_create_engine("sqlite://h1/x.db", NULL, &err));
    assert_int_equal(cr_error_class(err), CR_ERR_ARGUMENT);
    assert_non_null(strstr(cr_error_message(err), "names no host"));
    cr_error_free(err);
}

static void test_engine_bad_options(void **state)
{
    (void)state;
    cr_engine_options o = {0};
    o.isolation_level = "bogus";
    engine_fails("sqlite://", &o, CR_ERR_ARGUMENT, "bogus");

    /* Negative counts other than CR_NONE and CR_UNLIMITED are refused. */
    o = (cr_engine_options){0};
    o.pool_size = -7;
    engine_fails("sqlite://", &o, CR_ERR_ARGUMENT, "pool_size");

    o = (cr_engine_options){0};
    o.max_overflow = -3;
    engine_fails("sqlite://", &o, CR_ERR_ARGUMENT, "max_overflow");

    o = (cr_engine_options){0};
    o.pool_timeout = -0.5;
    engine_fails("sqlite://", &o, CR_ERR_ARGUMENT, "pool_timeout");

    o = (cr_engine_options){0};
    o.pool_recycle = -2;
    engine_fails("sqlite://", &o, CR_ERR_ARGUMENT, "pool_recycle");

    o = (cr_engine_options){0};
    o.poolclass = (cr_pool_class)9;
    engine_fails("sqlite://", &o, CR_ERR_ARGUMENT, "poolclass");

    o = (cr_engine_options){0};
    o.statement_cache_size = -3;
    engine_fails("sqlite://", &o, CR_ERR_ARGUMENT, "statement_cache_size");

    /* A bad URL is reported before bad options. */
    o = (cr_engine_options){0};
    o.isolation_level = "bogus";
    engine_fails("oracle://x/y", &o, CR_ERR_ARGUMENT, "oracle");

#ifdef CRUCIBLE_HAVE_SQLITE
    /* Valid spellings of levels are accepted (case and '_' are free). */
    o = (cr_engine_options){0};
    o.isolation_level = "read_uncommitted";
    cr_error *err = NULL;
    cr_engine *e = cr_create_engine("sqlite://", &o, &err);
    assert_non_null(e);
    assert_null(err);
    cr_engine_free(e);
#endif
}

static void test_isolation_canonical(void **state)
{
    (void)state;
    assert_string_equal(cr_isolation_canonical("serializable"), "SERIALIZABLE");
    assert_string_equal(cr_isolation_canonical("READ COMMITTED"), "READ COMMITTED");
    assert_string_equal(cr_isolation_canonical("repeatable_read"), "REPEATABLE READ");
    assert_string_equal(cr_isolation_canonical("Read Uncommitted"), "READ UNCOMMITTED");
    assert_string_equal(cr_isolation_canonical("autocommit"), "AUTOCOMMIT");
    assert_null(cr_isolation_canonical("bogus"));
    assert_null(cr_isolation_canonical("READ"));
    assert_null(cr_isolation_canonical("READ COMMITTEDX"));
    assert_null(cr_isolation_canonical(""));
    assert_null(cr_isolation_canonical(NULL));
}

static void test_backend_available(void **state)
{
    (void)state;
#ifdef CRUCIBLE_HAVE_SQLITE
    assert_true(cr_backend_available("sqlite"));
#endif
    assert_false(cr_backend_available("oracle"));
    assert_false(cr_backend_available("mariadb"));   /* a scheme, not a backend */
    assert_false(cr_backend_available(""));
    assert_false(cr_backend_available(NULL));
}

/* cr_url_take_query: every occurrence goes, the last value is handed over,
 * the other options keep their order. */
static void test_take_query(void **state)
{
    (void)state;
    cr_url u;
    parse_ok("postgresql://u@h/db?a=1&prepared_statements=yes&b=2&prepared_statements=off", &u);
    char *v = cr_url_take_query(&u, "prepared_statements");
    assert_string_equal(v, "off");
    cr_free(v);
    assert_int_equal(u.nquery, 2);
    assert_string_equal(u.query_keys[0], "a");
    assert_string_equal(u.query_keys[1], "b");
    assert_string_equal(u.query_values[1], "2");
    assert_null(cr_url_take_query(&u, "prepared_statements"));
    assert_int_equal(u.nquery, 2);
    cr_url_free(&u);
}

/* prepared_statements is Crucible's own URL option: consumed on every
 * backend (MySQL and SQLite would refuse an option they do not know), a
 * bad value named, and CR_NO refused where the driver cannot run
 * statements without named server ones. */
static void test_prepared_statements_option(void **state)
{
    (void)state;
    engine_fails("postgresql://u:" SECRET "@h/db?prepared_statements=sometimes", NULL,
                 CR_ERR_ARGUMENT, "prepared_statements must be true or false");
    engine_fails("postgresql://u@h/db?prepared_statements=", NULL, CR_ERR_ARGUMENT,
                 "prepared_statements");
    cr_engine_options bad = {.prepared_statements = (cr_tristate){7}};
    engine_fails("postgresql://u@h/db", &bad, CR_ERR_ARGUMENT,
                 "prepared_statements must be CR_AUTO, CR_YES or CR_NO (got 7)");
    if (cr_backend_available("postgresql")) {
        cr_engine *e = cr_create_engine("postgresql://u:" SECRET "@h/db?prepared_statements=false",
                                        NULL, NULL);
        assert_non_null(e);
        /* The URL the engine shows is the one it was given. */
        assert_string_equal(cr_engine_url(e), "postgresql://u:***@h/db?prepared_statements=false");
        cr_engine_free(e);
        cr_engine_options no = {.prepared_statements = CR_NO};
        assert_non_null(e = cr_create_engine("postgresql://u@h/db?prepared_statements=TRUE", &no,
                                             NULL));
        cr_engine_free(e);
    }
    if (cr_backend_available("mysql")) {
        cr_engine *e = cr_create_engine("mysql://u@127.0.0.1:1/db?prepared_statements=on", NULL,
                                        NULL);
        assert_non_null(e);
        cr_engine_free(e);
        engine_fails("mysql://u@127.0.0.1:1/db?prepared_statements=0", NULL,
                     CR_ERR_NOT_SUPPORTED, "not supported by the mysql driver");
        cr_engine_options no = {.prepared_statements = CR_NO};
        engine_fails("mysql://u@127.0.0.1:1/db", &no, CR_ERR_NOT_SUPPORTED,
                     "prepared_statements=false");
    }
    if (cr_backend_available("sqlite")) {
        cr_engine *e = cr_create_engine("sqlite://?prepared_statements=1", NULL, NULL);
        assert_non_null(e);
        cr_conn *c = cr_engine_connect(e, NULL);
        assert_non_null(c);
        cr_conn_close(c);
        cr_engine_free(e);
        engine_fails("sqlite://?prepared_statements=no", NULL, CR_ERR_NOT_SUPPORTED,
                     "not supported by the sqlite driver");
        /* CR_YES overrides the URL's false. */
        cr_engine_options yes = {.prepared_statements = CR_YES};
        assert_non_null(e = cr_create_engine("sqlite://?prepared_statements=no", &yes, NULL));
        cr_engine_free(e);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sqlite_relative),
        cmocka_unit_test(test_sqlite_absolute),
        cmocka_unit_test(test_sqlite_no_database),
        cmocka_unit_test(test_sqlite_memory),
        cmocka_unit_test(test_sqlite_driver_and_query),
        cmocka_unit_test(test_postgresql_all_parts),
        cmocka_unit_test(test_query_order_kept),
        cmocka_unit_test(test_postgresql_drivers),
        cmocka_unit_test(test_unknown_driver_rejected),
        cmocka_unit_test(test_mysql_and_mariadb),
        cmocka_unit_test(test_percent_decoding),
        cmocka_unit_test(test_password_with_unencoded_slash),
        cmocka_unit_test(test_user_without_password),
        cmocka_unit_test(test_ipv6_host),
        cmocka_unit_test(test_no_port),
        cmocka_unit_test(test_bad_ports),
        cmocka_unit_test(test_unknown_backend),
        cmocka_unit_test(test_not_a_url),
        cmocka_unit_test(test_query_decoding),
        cmocka_unit_test(test_query_without_value),
        cmocka_unit_test(test_render_masks_password),
        cmocka_unit_test(test_render_masks_password_option),
        cmocka_unit_test(test_render_sqlite_forms),
        cmocka_unit_test(test_set_query_and_database),
        cmocka_unit_test(test_set_query_out_of_memory),
        cmocka_unit_test(test_parse_out_of_memory),
        cmocka_unit_test(test_engine_bad_urls),
        cmocka_unit_test(test_engine_database_url_env),
        cmocka_unit_test(test_engine_url_masks_password),
        cmocka_unit_test(test_multi_host),
        cmocka_unit_test(test_multi_host_errors),
        cmocka_unit_test(test_parse_host),
        cmocka_unit_test(test_multi_host_engine),
        cmocka_unit_test(test_engine_bad_options),
        cmocka_unit_test(test_sqlite_numeric_options),
        cmocka_unit_test(test_mysql_options_checked_at_create),
#ifdef CRUCIBLE_HAVE_SQLITE
        cmocka_unit_test(test_sqlite_memory_engine_connects_lazily),
#endif
        cmocka_unit_test(test_isolation_canonical),
        cmocka_unit_test(test_backend_available),
        cmocka_unit_test(test_take_query),
        cmocka_unit_test(test_prepared_statements_option),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
