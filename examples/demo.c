/* demo.c — Crucible's main job: the core API end to end on SQLite, or on the database DATABASE_URL names.
 *
 * Creates a table, inserts, queries, updates and deletes, rolls a savepoint
 * back and catches an IntegrityError, printing what happens at each step.
 * Run with --echo to see every statement as SQLAlchemy's echo=True shows it. */
#include <crucible.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failed(const char *what, const cr_error *err)
{
    fprintf(stderr, "demo: %s failed: %s: %s\n", what, cr_error_class_name(err),
            cr_error_message(err));
    return 1;
}

/* Table DDL differs per backend until the schema layer exists. */
static const char *create_users_sql(const char *backend)
{
    if (strcmp(backend, "postgresql") == 0)
        return "CREATE TABLE demo_users (id SERIAL PRIMARY KEY, name VARCHAR(50) NOT NULL, "
               "email VARCHAR(100) NOT NULL UNIQUE, is_active BOOLEAN, created_at TIMESTAMP)";
    if (strcmp(backend, "mysql") == 0)
        return "CREATE TABLE demo_users (id INTEGER NOT NULL AUTO_INCREMENT PRIMARY KEY, "
               "name VARCHAR(50) NOT NULL, email VARCHAR(100) NOT NULL UNIQUE, "
               "is_active BOOL, created_at DATETIME(6))";
    return "CREATE TABLE demo_users (id INTEGER NOT NULL PRIMARY KEY, name VARCHAR(50) NOT NULL, "
           "email VARCHAR(100) NOT NULL UNIQUE, is_active BOOLEAN, created_at DATETIME)";
}

static int insert_user(cr_conn *conn, const char *name, const char *email, bool active,
                       int64_t *id)
{
    cr_result *r = cr_conn_execute(conn,
        "INSERT INTO demo_users (name, email, is_active, created_at) "
        "VALUES (:name, :email, :is_active, :created_at) RETURNING id",
        CR_PARAMS({"name", cr_val_text(name)}, {"email", cr_val_text(email)},
                  {"is_active", cr_val_bool(active)}, {"created_at", cr_val_now()}));
    if (!r)
        return failed("insert", cr_conn_error(conn));
    cr_value v;
    cr_status st = cr_result_scalar_one(r, &v);
    if (st == CR_OK)
        *id = v.v.i;
    else
        failed("reading the new id", cr_result_error(r));
    cr_result_free(r);
    return st != CR_OK;
}

static int print_users(cr_conn *conn, const char *title)
{
    cr_result *r = cr_conn_execute(conn,
        "SELECT id, name, email, is_active, created_at FROM demo_users ORDER BY id", NULL);
    if (!r)
        return failed("select", cr_conn_error(conn));
    printf("%s\n", title);
    const cr_row *row;
    while ((row = cr_result_fetchone(r))) {
        int64_t id;
        const char *name, *email;
        bool active;
        cr_datetime created;
        char when[40];
        if (cr_row_int64(row, "id", &id) || cr_row_text(row, "name", &name, NULL) ||
            cr_row_text(row, "email", &email, NULL) || cr_row_bool(row, "is_active", &active) ||
            cr_row_datetime(row, "created_at", &created)) {
            int rc = failed("reading a row", cr_row_error(row));
            cr_result_free(r);
            return rc;
        }
        cr_datetime_format(&created, CR_DATETIME, when, sizeof when);
        printf("  User ID: %lld, Name: %s, Email: %s, Active: %s, Created At: %s\n",
               (long long)id, name, email, active ? "True" : "False", when);
    }
    int rc = cr_result_error(r) ? failed("fetch", cr_result_error(r)) : 0;
    cr_result_free(r);
    return rc;
}

static int run(cr_conn *conn)
{
    if (cr_conn_exec(conn, "DROP TABLE IF EXISTS demo_users", NULL) ||
        cr_conn_exec(conn, create_users_sql(cr_engine_backend(cr_conn_engine(conn))), NULL) ||
        cr_conn_commit(conn))
        return failed("creating the table", cr_conn_error(conn));
    printf("Table demo_users created\n");

    int64_t alice, bob, charlie;
    if (insert_user(conn, "Alice", "alice@example.com", true, &alice) ||
        insert_user(conn, "Bob", "bob@example.com", true, &bob) ||
        insert_user(conn, "Charlie", "charlie@example.com", false, &charlie))
        return 1;
    if (cr_conn_commit(conn))
        return failed("commit", cr_conn_error(conn));
    printf("Inserted users with IDs %lld, %lld, %lld\n", (long long)alice, (long long)bob,
           (long long)charlie);
    if (print_users(conn, "All users:"))
        return 1;

    /* A scalar query with a bound parameter. */
    cr_result *r = cr_conn_execute(conn, "SELECT name FROM demo_users WHERE id = :id",
                                   CR_PARAMS({"id", cr_val_int(alice)}));
    cr_value name;
    if (!r || cr_result_scalar(r, &name)) {
        int rc = failed("scalar", r ? cr_result_error(r) : cr_conn_error(conn));
        cr_result_free(r);
        return rc;
    }
    printf("User with ID %lld is %s\n", (long long)alice, name.v.s.ptr);
    cr_result_free(r);

    /* Update, with the rows it matched. */
    r = cr_conn_execute(conn, "UPDATE demo_users SET name = :name WHERE email = :email",
                        CR_PARAMS({"name", cr_val_text("Robert")},
                                  {"email", cr_val_text("bob@example.com")}));
    if (!r)
        return failed("update", cr_conn_error(conn));
    printf("Renamed Bob to Robert, rows affected: %lld\n", (long long)cr_result_rowcount(r));
    cr_result_free(r);
    if (cr_conn_commit(conn))
        return failed("commit", cr_conn_error(conn));

    /* A savepoint: the delete inside it is rolled back, the outer work stays. */
    if (cr_conn_begin_nested(conn) ||
        cr_conn_exec(conn, "DELETE FROM demo_users", NULL) ||
        cr_conn_rollback_savepoint(conn))
        return failed("savepoint", cr_conn_error(conn));
    r = cr_conn_execute(conn, "SELECT count(*) FROM demo_users", NULL);
    cr_value count = {0};
    if (!r || cr_result_scalar(r, &count)) {
        cr_result_free(r);
        return failed("count", cr_conn_error(conn));
    }
    cr_result_free(r);
    printf("Deleted every user inside a savepoint and rolled it back: %lld users remain\n",
           (long long)count.v.i);

    /* An IntegrityError, caught and reported; the transaction is rolled back. */
    int64_t dup;
    r = cr_conn_execute(conn,
        "INSERT INTO demo_users (name, email, is_active) VALUES (:name, :email, :active)",
        CR_PARAMS({"name", cr_val_text("Alice Again")},
                  {"email", cr_val_text("alice@example.com")}, {"active", cr_val_bool(true)}));
    if (r) {
        cr_result_free(r);
        fprintf(stderr, "demo: a duplicate email was accepted\n");
        return 1;
    }
    const cr_error *err = cr_conn_error(conn);
    printf("Caught %s inserting a duplicate email (SQLSTATE '%s', driver code %ld): %s\n",
           cr_error_class_name(err), cr_error_sqlstate(err), cr_error_code(err),
           cr_error_message(err));
    (void)dup;
    if (cr_conn_rollback(conn))
        return failed("rollback", cr_conn_error(conn));

    /* Delete one row. */
    r = cr_conn_execute(conn, "DELETE FROM demo_users WHERE id = :id",
                        CR_PARAMS({"id", cr_val_int(charlie)}));
    if (!r)
        return failed("delete", cr_conn_error(conn));
    printf("Deleted Charlie, rows affected: %lld\n", (long long)cr_result_rowcount(r));
    cr_result_free(r);
    if (cr_conn_commit(conn))
        return failed("commit", cr_conn_error(conn));
    if (print_users(conn, "Users after the changes:"))
        return 1;
    if (cr_conn_exec(conn, "DROP TABLE demo_users", NULL) || cr_conn_commit(conn))
        return failed("dropping the table", cr_conn_error(conn));
    return 0;
}

int main(int argc, char **argv)
{
    bool echo = argc > 1 && strcmp(argv[1], "--echo") == 0;
    const char *url = getenv("DATABASE_URL");
    if (!url || !*url)
        url = "sqlite://";
    cr_error *err = NULL;
    cr_engine *engine = cr_create_engine(url, &(cr_engine_options){.echo = echo}, &err);
    if (!engine) {
        failed("creating the engine", err);
        cr_error_free(err);
        return 1;
    }
    printf("Engine created for database: %s\n", cr_engine_url(engine));
    cr_conn *conn = cr_engine_connect(engine, &err);
    if (!conn) {
        failed("connecting", err);
        cr_error_free(err);
        cr_engine_free(engine);
        return 1;
    }
    int rc = run(conn);
    cr_conn_close(conn);
    cr_engine_free(engine);
    if (rc == 0)
        printf("Demo finished\n");
    return rc;
}
