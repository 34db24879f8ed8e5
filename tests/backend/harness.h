/* harness.h — what the backend suite needs to know about the backend it runs against. */
#ifndef CR_TEST_HARNESS_H
#define CR_TEST_HARNESS_H

#include <crucible.h>

/* The backend under test: "sqlite", "postgresql" or "mysql". */
extern const char *backend;
/* Its URL (a temporary file database for SQLite). */
extern const char *backend_url;

/* The backend named on the command line (prog sqlite|postgresql|mysql; exits
 * 2 otherwise) and its URL; exits 77 (skip) when the backend has no server,
 * or 1 when CRUCIBLE_REQUIRE_ALL_BACKENDS=1. */
void harness_init(int argc, char **argv);
void harness_cleanup(void);
/* Run tests as the cmocka group <suite>_<backend>[_<part>] (cmocka.h comes
 * before this header); returns the number that failed. */
int harness_run(const char *suite, const char *part, const struct CMUnitTest *tests, size_t n,
                CMFixtureFunction group_teardown);
#define HARNESS_RUN(suite, part, tests, teardown) \
    harness_run(suite, part, tests, sizeof tests / sizeof tests[0], teardown)

/* CLOCK_MONOTONIC seconds; sleep that many seconds (whole, even when a
 * signal interrupts it). */
double harness_now(void);
void harness_sleep(double seconds);

/* system(cmd), after marking every open file descriptor close-on-exec, so
 * that a server the command starts does not inherit the test's sockets (a
 * database connection held open by a server would never see its peer go). */
int harness_system(const char *cmd);
/* rm -rf a temporary directory a test made (fails the test if that fails). */
void harness_remove_dir(const char *dir);
/* Whether the database of e has a table (or view) of that name, read through
 * a connection of its own (fails the test when the Inspector fails). */
bool harness_has_table(cr_engine *e, const char *name);
/* On the server of backend_url (PostgreSQL or MySQL): drop the database
 * name, and, when url is not NULL, create it again empty and write its URL
 * (backend_url's, naming that database) into url. The test user may make
 * databases named crucible_scratch_* (scripts/test-servers.sh). */
void harness_scratch_database(const char *name, char *url, size_t size);
/* The marking alone, for a test that starts servers some other way. */
void harness_cloexec_all(void);

bool is_sqlite(void);
bool is_pg(void);
bool is_mysql(void);

/* Column type spellings for this backend. */
const char *t_pk(void);        /* auto-increment integer primary key */
const char *t_double(void);
const char *t_blob(void);
const char *t_datetime(void);
const char *t_time(void);

/* Fail the test, showing the error, when call does not return CR_OK. */
#define ASSERT_OK(call, handle_error)                                                        \
    do {                                                                                     \
        cr_status st_ = (call);                                                              \
        if (st_ != CR_OK) {                                                                  \
            print_error("%s -> %s: %s\n", #call, cr_status_name(st_),                        \
                        cr_error_message(handle_error));                                     \
            fail();                                                                          \
        }                                                                                    \
    } while (0)

/* The call, which stores its error in err_ (cr_error **), must fail with
 * this class and a message holding text. */
#define MIGRATE_FAILS(cls, text, call)                                               \
    do {                                                                             \
        cr_error *err_ = NULL;                                                       \
        cr_status st_ = (call);                                                      \
        const char *msg_ = cr_error_message(err_);                                   \
        if (st_ != (cls) || !strstr(msg_, text)) {                                   \
            print_error("%s -> %s: %s (wanted %s with '%s')\n", #call,               \
                        cr_status_name(st_), msg_, cr_status_name(cls), text);       \
            cr_error_free(err_);                                                     \
            fail();                                                                  \
        }                                                                            \
        cr_error_free(err_);                                                         \
    } while (0)

/* (Re)create table name with columns, committed; drop it (rolling back
 * whatever the connection had open first). */
void create_table(cr_conn *c, const char *name, const char *columns);
void drop_table(cr_conn *c, const char *name);

/* An engine for the backend with optional options; fails the test on error. */
cr_engine *new_engine(const cr_engine_options *options);
/* The same for another URL (a proxy's, a replica's). */
cr_engine *new_engine_at(const char *url, const cr_engine_options *options);
cr_conn *connect_ok(cr_engine *engine);
/* Run SQL that must succeed (fails the test, showing the error, if not). */
void exec_ok(cr_conn *conn, const char *sql);
/* Run SQL and return its single int64 value. */
int64_t scalar_int(cr_conn *conn, const char *sql);
/* The same on a connection of its own, closed after. */
int64_t engine_scalar_int(cr_engine *engine, const char *sql);
/* Run sql on a connection of its own and commit (a change behind a
 * session's back). */
void engine_exec(cr_engine *engine, const char *sql);

/* The statements sent by an engine made with .echo = true and .log_fn =
 * harness_capture since harness_log_reset: a line each, parameter lines
 * left out, PostgreSQL's $n written ?. CRUCIBLE_TEST_ECHO=1 shows every
 * echo line on stderr too. */
extern char harness_log[1 << 16];
extern size_t harness_log_len;
void harness_capture(void *userdata, const char *line);
void harness_log_reset(void);
/* How many statements the log holds (BEGIN, COMMIT, ROLLBACK, SAVEPOINT,
 * RELEASE and the N+1 report left out); whether one starts with prefix. */
size_t harness_statements(void);
bool harness_sent(const char *prefix);
#define ASSERT_SENT(prefix)                                                            \
    do {                                                                               \
        if (!harness_sent(prefix))                                                     \
            print_error("no statement starting with: %s\nsent:\n%s\n", prefix, harness_log); \
        assert_true(harness_sent(prefix));                                             \
    } while (0)
/* Some statement holds text. */
#define ASSERT_SENT_TEXT(text)                                                         \
    do {                                                                               \
        if (!strstr(harness_log, text))                                                \
            print_error("no statement with: %s\nsent:\n%s\n", text, harness_log);        \
        assert_non_null(strstr(harness_log, text));                                    \
    } while (0)
#define ASSERT_STATEMENTS(n)                                                           \
    do {                                                                               \
        if (harness_statements() != (n))                                               \
            print_error("expected %d statements, sent:\n%s\n", (int)(n), harness_log);    \
        assert_int_equal(harness_statements(), (n));                                   \
    } while (0)

/* A session of engine that harness_free_sessions (a test's teardown) frees
 * when a failed assertion left it open: an open transaction would hold the
 * next test's DROP TABLE. harness_session_free frees one the test ends. */
cr_session *harness_session(cr_engine *engine, const cr_session_options *o);
void harness_session_free(cr_session *s);
/* q's objects (cr_query_all on s's statement q), asserted; s's error
 * printed when there are none. */
cr_objects *harness_all(cr_session *s, cr_stmt *q);
/* The session's flush plan (cr_session_plan) is exactly want. */
void harness_assert_plan(cr_session *s, const char *want);
int harness_free_sessions(void **state);

/* Drop and create md's tables, committed, and reset the log (a test's
 * setup); drop them (a group teardown). */
void harness_recreate(cr_engine *engine, cr_metadata *md);
void harness_drop(cr_engine *engine, cr_metadata *md);
/* An ORM suite's engine, echoing into harness_log (exits 1 when it cannot
 * be made; the suite frees it), and md's tables recreated for each test
 * (harness_orm_setup) and dropped after the group (harness_orm_teardown). */
cr_engine *harness_orm_engine(cr_metadata *md);
int harness_orm_setup(void **state);
int harness_orm_teardown(void **state);

#endif
