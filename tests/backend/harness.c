/* harness.c — backend selection, per-backend type names and helpers for the backend suite. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const char *backend;
const char *backend_url;
static char sqlite_dir[256];
static char sqlite_url[512];

int harness_run(const char *suite, const char *part, const struct CMUnitTest *tests, size_t n,
                CMFixtureFunction group_teardown)
{
    char group[96];
    snprintf(group, sizeof group, "%s_%s%s%s", suite, backend, part ? "_" : "", part ? part : "");
    return _cmocka_run_group_tests(group, tests, n, NULL, group_teardown);
}

double harness_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void harness_sleep(double seconds)
{
    struct timespec ts = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

int harness_system(const char *cmd)
{
    harness_cloexec_all();
    fflush(NULL);
    return system(cmd);
}

void harness_remove_dir(const char *dir)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

bool harness_has_table(cr_engine *e, const char *name)
{
    cr_conn *c = connect_ok(e);
    cr_inspector *insp = cr_inspect(c);
    assert_non_null(insp);
    bool exists = false;
    ASSERT_OK(cr_inspector_has_table(insp, name, &exists), cr_conn_error(c));
    cr_inspector_free(insp);
    cr_conn_rollback(c);
    cr_conn_close(c);
    return exists;
}

void harness_scratch_database(const char *name, char *url, size_t size)
{
    char sql[256];
    cr_engine *admin = new_engine(&(cr_engine_options){.isolation_level = "AUTOCOMMIT"});
    cr_conn *c = connect_ok(admin);
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s", name);
    exec_ok(c, sql);
    if (url) {
        snprintf(sql, sizeof sql, "CREATE DATABASE %s", name);
        exec_ok(c, sql);
        const char *path = strchr(strstr(backend_url, "://") + 3, '/');
        const char *query = strchr(path, '?');
        int n = snprintf(url, size, "%.*s/%s%s", (int)(path - backend_url), backend_url, name,
                         query ? query : "");
        assert_true(n > 0 && (size_t)n < size);
    }
    cr_conn_close(c);
    cr_engine_free(admin);
}

void harness_init(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s sqlite|postgresql|mysql\n", argv[0]);
        exit(2);
    }
    const char *name = argv[1];
    backend = name;
    if (strcmp(name, "sqlite") == 0) {
        snprintf(sqlite_dir, sizeof sqlite_dir, "%s/crucible-test-XXXXXX",
                 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
        if (!mkdtemp(sqlite_dir)) {
            perror("mkdtemp");
            exit(1);
        }
        snprintf(sqlite_url, sizeof sqlite_url, "sqlite:///%s/test.db", sqlite_dir);
        backend_url = sqlite_url;
        return;
    }
    const char *var = strcmp(name, "postgresql") == 0 ? "CRUCIBLE_PG_URL"
                      : strcmp(name, "mysql") == 0     ? "CRUCIBLE_MYSQL_URL"
                                                       : NULL;
    if (!var) {
        fprintf(stderr, "unknown backend '%s' (sqlite, postgresql, mysql)\n", name);
        exit(1);
    }
    backend_url = getenv(var);
    const char *require = getenv("CRUCIBLE_REQUIRE_ALL_BACKENDS");
    bool required = require && strcmp(require, "1") == 0;
    if (!backend_url || !*backend_url) {
        fprintf(stderr, "%s is not set: no %s server to test against%s\n", var, name,
                required ? " (CRUCIBLE_REQUIRE_ALL_BACKENDS=1: failing)" : "; skipping");
        exit(required ? 1 : 77);
    }
    if (!cr_backend_available(name)) {
        fprintf(stderr, "this build has no %s driver%s\n", name,
                required ? " (CRUCIBLE_REQUIRE_ALL_BACKENDS=1: failing)" : "; skipping");
        exit(required ? 1 : 77);
    }
}

void harness_cleanup(void)
{
    if (sqlite_dir[0]) {
        char path[512];
        const char *files[] = {"test.db", "test.db-journal", "test.db-wal", "test.db-shm"};
        for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
            snprintf(path, sizeof path, "%s/%s", sqlite_dir, files[i]);
            unlink(path);
        }
        rmdir(sqlite_dir);
    }
}

bool is_sqlite(void) { return strcmp(backend, "sqlite") == 0; }
bool is_pg(void) { return strcmp(backend, "postgresql") == 0; }
bool is_mysql(void) { return strcmp(backend, "mysql") == 0; }

const char *t_pk(void)
{
    return is_pg() ? "SERIAL PRIMARY KEY"
           : is_mysql() ? "INTEGER NOT NULL AUTO_INCREMENT PRIMARY KEY"
                        : "INTEGER PRIMARY KEY";
}
const char *t_double(void) { return "DOUBLE PRECISION"; }
const char *t_blob(void) { return is_pg() ? "BYTEA" : is_mysql() ? "LONGBLOB" : "BLOB"; }
const char *t_datetime(void) { return is_pg() ? "TIMESTAMP" : is_mysql() ? "DATETIME(6)" : "DATETIME"; }
const char *t_time(void) { return is_mysql() ? "TIME(6)" : "TIME"; }

cr_engine *new_engine(const cr_engine_options *options)
{
    return new_engine_at(backend_url, options);
}

cr_engine *new_engine_at(const char *url, const cr_engine_options *options)
{
    cr_error *err = NULL;
    cr_engine *e = cr_create_engine(url, options, &err);
    if (!e) {
        print_error("create_engine: %s: %s\n", cr_error_class_name(err), cr_error_message(err));
        cr_error_free(err);
        fail();
    }
    return e;
}

cr_conn *connect_ok(cr_engine *engine)
{
    cr_error *err = NULL;
    cr_conn *c = cr_engine_connect(engine, &err);
    if (!c) {
        print_error("connect: %s: %s\n", cr_error_class_name(err), cr_error_message(err));
        cr_error_free(err);
        fail();
    }
    return c;
}

void exec_ok(cr_conn *conn, const char *sql)
{
    if (cr_conn_exec(conn, sql, NULL) != CR_OK) {
        print_error("%s\n  failed: %s: %s\n", sql, cr_error_class_name(cr_conn_error(conn)),
                    cr_error_message(cr_conn_error(conn)));
        fail();
    }
}

int64_t scalar_int(cr_conn *conn, const char *sql)
{
    cr_result *r = cr_conn_execute(conn, sql, NULL);
    if (!r) {
        print_error("%s\n  failed: %s\n", sql, cr_error_message(cr_conn_error(conn)));
        fail();
    }
    cr_value v;
    if (cr_result_scalar_one(r, &v) != CR_OK) {
        print_error("%s\n  scalar_one: %s\n", sql, cr_error_message(cr_result_error(r)));
        cr_result_free(r);
        fail();
    }
    int64_t out = v.type == CR_INT ? v.v.i : v.type == CR_BOOL ? v.v.b : -999999;
    if (v.type == CR_NUMERIC)
        out = strtoll(v.v.s.ptr, NULL, 10);
    cr_result_free(r);
    return out;
}

int64_t engine_scalar_int(cr_engine *engine, const char *sql)
{
    cr_conn *c = connect_ok(engine);
    int64_t n = scalar_int(c, sql);
    cr_conn_close(c);
    return n;
}

void engine_exec(cr_engine *engine, const char *sql)
{
    cr_conn *c = connect_ok(engine);
    exec_ok(c, sql);
    ASSERT_OK(cr_conn_commit(c), cr_conn_error(c));
    cr_conn_close(c);
}

void create_table(cr_conn *c, const char *name, const char *columns)
{
    char sql[1024];
    snprintf(sql, sizeof sql, "DROP TABLE IF EXISTS %s", name);
    exec_ok(c, sql);
    snprintf(sql, sizeof sql, "CREATE TABLE %s (%s)", name, columns);
    exec_ok(c, sql);
    ASSERT_OK(cr_conn_commit(c), cr_conn_error(c));
}

void drop_table(cr_conn *c, const char *name)
{
    char sql[256];
    cr_conn_rollback(c);
    snprintf(sql, sizeof sql, "DROP TABLE IF EXISTS %s", name);
    exec_ok(c, sql);
    ASSERT_OK(cr_conn_commit(c), cr_conn_error(c));
}

/* ---- the echo log, sessions, schema ---- */

char harness_log[1 << 16];
size_t harness_log_len;

void harness_capture(void *userdata, const char *line)
{
    (void)userdata;
    if (getenv("CRUCIBLE_TEST_ECHO"))
        fprintf(stderr, "  | %s\n", line);
    if (line[0] == '[' || strncmp(line, "Engine created", 14) == 0)
        return;
    if (harness_log_len + 2 >= sizeof harness_log)
        return;   /* full: the lines after are dropped */
    for (const char *p = line; *p && harness_log_len + 2 < sizeof harness_log; p++) {
        if (*p == '$' && p[1] >= '0' && p[1] <= '9') {
            harness_log[harness_log_len++] = '?';
            while (p[1] >= '0' && p[1] <= '9')
                p++;
            continue;
        }
        harness_log[harness_log_len++] = *p == '\n' ? ' ' : *p;
    }
    harness_log[harness_log_len++] = '\n';
    harness_log[harness_log_len] = '\0';
}

void harness_log_reset(void)
{
    harness_log_len = 0;
    harness_log[0] = '\0';
}

size_t harness_statements(void)
{
    static const char *const not_statements[] = {"BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT",
                                                 "RELEASE", "N+1"};
    size_t n = 0;
    for (const char *p = harness_log; *p;) {
        const char *e = strchr(p, '\n');
        bool counted = true;
        for (size_t i = 0; i < sizeof not_statements / sizeof *not_statements; i++)
            counted &= strncmp(p, not_statements[i], strlen(not_statements[i])) != 0;
        n += counted;
        p = e ? e + 1 : p + strlen(p);
    }
    return n;
}

bool harness_sent(const char *prefix)
{
    for (const char *p = harness_log; *p;) {
        if (strncmp(p, prefix, strlen(prefix)) == 0)
            return true;
        const char *e = strchr(p, '\n');
        p = e ? e + 1 : p + strlen(p);
    }
    return false;
}

static cr_session *open_sessions[8];

cr_session *harness_session(cr_engine *engine, const cr_session_options *o)
{
    cr_session *s = cr_session_new(engine, o);
    assert_non_null(s);
    for (size_t i = 0; i < 8; i++)
        if (!open_sessions[i]) {
            open_sessions[i] = s;
            break;
        }
    return s;
}

cr_objects *harness_all(cr_session *s, cr_stmt *q)
{
    cr_objects *list = cr_query_all(q);
    if (!list)
        print_error("%s\n", cr_error_message(cr_session_error(s)));
    assert_non_null(list);
    return list;
}

void harness_assert_plan(cr_session *s, const char *want)
{
    char *plan = cr_session_plan(s);
    if (!plan)
        print_error("%s\n", cr_error_message(cr_session_error(s)));
    assert_non_null(plan);
    assert_string_equal(plan, want);
    free(plan);
}

void harness_session_free(cr_session *s)
{
    for (size_t i = 0; i < 8; i++)
        if (open_sessions[i] == s)
            open_sessions[i] = NULL;
    cr_session_free(s);
}

int harness_free_sessions(void **state)
{
    (void)state;
    for (size_t i = 0; i < 8; i++) {
        cr_session_free(open_sessions[i]);
        open_sessions[i] = NULL;
    }
    return 0;
}

void harness_recreate(cr_engine *engine, cr_metadata *md)
{
    cr_conn *c = connect_ok(engine);
    ASSERT_OK(cr_metadata_drop_all(md, c, true), cr_conn_error(c));
    ASSERT_OK(cr_metadata_create_all(md, c, false), cr_conn_error(c));
    ASSERT_OK(cr_conn_commit(c), cr_conn_error(c));
    cr_conn_close(c);
    harness_log_reset();
}

void harness_drop(cr_engine *engine, cr_metadata *md)
{
    cr_conn *c = connect_ok(engine);
    cr_metadata_drop_all(md, c, true);
    cr_conn_commit(c);
    cr_conn_close(c);
}

static cr_engine *suite_engine;
static cr_metadata *suite_md;

cr_engine *harness_orm_engine(cr_metadata *md)
{
    cr_engine_options o = {.echo = true, .log_fn = harness_capture};
    cr_error *err = NULL;
    suite_engine = cr_create_engine(backend_url, &o, &err);
    if (!suite_engine) {
        fprintf(stderr, "engine: %s\n", cr_error_message(err));
        exit(1);
    }
    suite_md = md;
    return suite_engine;
}

int harness_orm_setup(void **state)
{
    (void)state;
    harness_recreate(suite_engine, suite_md);
    return 0;
}

int harness_orm_teardown(void **state)
{
    (void)state;
    harness_drop(suite_engine, suite_md);
    return 0;
}

/* Mark every file descriptor close-on-exec, so that a server started by the
 * script does not inherit this process's sockets. */
void harness_cloexec_all(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return;
    struct dirent *ent;
    while ((ent = readdir(d)) != NULL) {
        int fd = atoi(ent->d_name);
        if (fd <= 2 || fd == dirfd(d))
            continue;
        int flags = fcntl(fd, F_GETFD);
        if (flags >= 0)
            fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
    }
    closedir(d);
}
