/* core_crud.c — the seed's SQLAlchemy Core CRUD walkthrough (users and posts), ported to Crucible.
 *
 * The same tables, the same steps in the same order and the same report
 * lines as the Python program (its SQLite version), without the emoji.
 * Booleans print as True / False and datetimes as Python prints them
 * (2026-11-22 05:17:32.067438, no fraction when the microsecond is 0).
 *
 * The database is my_sqlite_db.db in the working directory, or the one
 * DATABASE_URL names:
 *
 *     build/examples/core_crud
 *     DATABASE_URL='postgresql://user:secret@localhost/mydb' build/examples/core_crud
 *     DATABASE_URL='mysql://user:secret@127.0.0.1:3306/mydb' build/examples/core_crud
 *
 * Unlike the seed, it starts from an empty schema (it drops the two tables
 * first), so every run prints the same ids. The seed creates its engine with
 * echo=True, which SQLAlchemy writes to its log; here echo is opt-in:
 * CRUCIBLE_ECHO=1 writes every statement and its parameters to stderr, and
 * stdout keeps only the report lines.
 *
 * Any failure is printed to stderr (class and message) and the program
 * exits with status 1. */
#include <crucible.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Database schema definition ---- */

#define USERS(COLUMN)                                                                \
    COLUMN(id,         INTEGER,     .primary_key = true, .autoincrement = CR_YES)    \
    COLUMN(name,       STRING(50),  .nullable = CR_NO)                               \
    COLUMN(email,      STRING(100), .nullable = CR_NO, .unique = true)               \
    COLUMN(is_active,  BOOLEAN,     .default_value = cr_val_bool(true))          \
    COLUMN(created_at, DATETIME,    .default_fn = cr_val_now)
CR_DECLARE_TABLE(users_table, USERS)

#define POSTS(COLUMN)                                                                \
    COLUMN(id,           INTEGER,     .primary_key = true, .autoincrement = CR_YES)  \
    COLUMN(title,        STRING(200), .nullable = CR_NO)                             \
    COLUMN(content,      STRING(0),   .nullable = CR_NO)                             \
    COLUMN(user_id,      INTEGER,     .foreign_key = "users.id")                     \
    COLUMN(published_at, DATETIME,    .default_fn = cr_val_now)
CR_DECLARE_TABLE(posts_table, POSTS)

/* ---- Reporting ---- */

static void report_error(const char *what, const cr_error *err)
{
    fprintf(stderr, "core_crud: %s: %s: %s\n", what, cr_error_class_name(err),
            cr_error_message(err));
}

/* A column's value as Python's str() prints it: True, None,
 * 2024-01-02 03:04:05.123456. */
static cr_status format_value(const cr_row *row, cr_column *col, char *buf, size_t size)
{
    const cr_value *v = cr_row_value(row, col);
    if (!v)
        return cr_error_class(cr_row_error(row));
    cr_value_format(v, buf, size);
    return CR_OK;
}

/* ---- CRUD ---- */

/* The statement, result and rows of the step in progress, freed between
 * steps and on failure. */
typedef struct step {
    cr_stmt *q;
    cr_result *r;
    cr_rowset *rows;
} step;

static void step_end(step *s)
{
    cr_rowset_free(s->rows);
    cr_result_free(s->r);
    cr_stmt_free(s->q);
    *s = (step){0};
}

/* connection.execute(q): NULL, with the error reported, on failure. */
static cr_result *execute(cr_conn *conn, step *s)
{
    s->r = cr_conn_execute_stmt(conn, s->q);
    if (!s->r)
        report_error("execute", cr_conn_error(conn));
    return s->r;
}

/* connection.execute(q).fetchall(). */
static cr_rowset *fetchall(cr_conn *conn, step *s)
{
    if (!execute(conn, s))
        return NULL;
    s->rows = cr_result_fetchall(s->r);
    if (!s->rows)
        report_error("fetchall", cr_result_error(s->r));
    return s->rows;
}

static int commit(cr_conn *conn)
{
    if (cr_conn_commit(conn) == CR_OK)
        return 0;
    report_error("commit", cr_conn_error(conn));
    return 1;
}

static int read_failed(const cr_row *row)
{
    report_error("reading a row", cr_row_error(row));
    return 1;
}

static int perform_crud_operations(cr_conn *conn, users_table *users, posts_table *posts)
{
    step s = {0};
    const cr_row *row;
    int64_t alice_id = 0, bob_id, charlie_id, david_id;
    char when[48] = "", active[8] = "";
    const char *name = "", *email = "", *title = "", *content = "";
    int64_t id = 0, user_id = 0;

    /* ---- CREATE: insert new users ---- */
    printf("Inserting new users..\n");
    /* Insert a single user. */
    s.q = cr_insert(users->table);
    cr_set(s.q, users->c.name, "Alice");
    cr_set(s.q, users->c.email, "alice@example.com");
    cr_set(s.q, users->c.is_active, true);
    cr_set(s.q, users->c.created_at, cr_val_now());
    if (!execute(conn, &s))
        goto fail;
    if (cr_result_inserted_id(s.r, &alice_id)) {
        report_error("inserted_primary_key", cr_result_error(s.r));
        goto fail;
    }
    printf("User Alice inserted with ID: %lld\n", (long long)alice_id);
    step_end(&s);
    if (commit(conn))
        goto fail;

    /* Insert multiple users: one INSERT with three rows of values. */
    s.q = cr_insert(users->table);
    cr_set(s.q, users->c.name, "Bob");
    cr_set(s.q, users->c.email, "bob@example.com");
    cr_set(s.q, users->c.is_active, true);
    cr_set(s.q, users->c.created_at, cr_val_now());
    cr_next_row(s.q);
    cr_set(s.q, users->c.name, "Charlie");
    cr_set(s.q, users->c.email, "charlie@example.com");
    cr_set(s.q, users->c.is_active, false);
    cr_set(s.q, users->c.created_at, cr_val_now());
    cr_next_row(s.q);
    cr_set(s.q, users->c.name, "David");
    cr_set(s.q, users->c.email, "david@example.com");
    cr_set(s.q, users->c.is_active, false);
    cr_set(s.q, users->c.created_at, cr_val_now());
    if (!execute(conn, &s))
        goto fail;
    printf("Multiple users inserted, total rows affected: %lld\n",
           (long long)cr_result_rowcount(s.r));
    step_end(&s);

    /* Get the IDs of the inserted users. */
    s.q = cr_select(users->c.id);
    cr_where(s.q, cr_in(s.q, users->c.email,
                        CR_VALUES(cr_val_text("bob@example.com"),
                                  cr_val_text("charlie@example.com"),
                                  cr_val_text("david@example.com"))));
    if (!fetchall(conn, &s))
        goto fail;
    size_t n = cr_rowset_count(s.rows);
    if (n < 3) {
        fprintf(stderr, "core_crud: expected 3 user IDs, found %zu\n", n);
        goto fail;
    }
    int64_t user_ids[3];
    printf("User IDs of inserted users: [");
    for (size_t i = 0; i < n; i++) {
        row = cr_rowset_row(s.rows, i);
        if (cr_row_int64(row, users->c.id, &id) && read_failed(row))
            goto fail;
        if (i < 3)
            user_ids[i] = id;
        printf("%s%lld", i ? ", " : "", (long long)id);
    }
    printf("]\n");
    step_end(&s);
    bob_id = user_ids[0];
    printf("Bob's ID: %lld\n", (long long)bob_id);
    charlie_id = user_ids[1];
    printf("Charlie's ID: %lld\n", (long long)charlie_id);
    david_id = user_ids[2];
    printf("David's ID: %lld\n", (long long)david_id);

    /* ---- CREATE: insert new posts ---- */
    printf("Inserting new posts..\n");
    static const struct { const char *title, *content; } post_rows[] = {
        {"Alices First Post", "This is Alice's first post."},
        {"Bobs First Post", "This is Bob's first post."},
        {"Charlies First Post", "This is Charlie's first post."},
        {"Davids First Post", "This is David's first post."},
    };
    const int64_t post_user_ids[] = {alice_id, bob_id, charlie_id, david_id};
    s.q = cr_insert(posts->table);
    for (size_t i = 0; i < 4; i++) {
        if (i)
            cr_next_row(s.q);
        cr_set(s.q, posts->c.title, post_rows[i].title);
        cr_set(s.q, posts->c.content, post_rows[i].content);
        cr_set(s.q, posts->c.user_id, post_user_ids[i]);
        cr_set(s.q, posts->c.published_at, cr_val_now());
    }
    if (!execute(conn, &s))
        goto fail;
    printf("Multiple posts inserted, total rows affected: %lld\n",
           (long long)cr_result_rowcount(s.r));
    step_end(&s);
    if (commit(conn))
        goto fail;

    /* ---- READ: query users ---- */
    printf("Querying users..\n");
    s.q = cr_select(users->table);
    if (!fetchall(conn, &s))
        goto fail;
    printf("Total users found: %zu\n", cr_rowset_count(s.rows));
    for (size_t i = 0; (row = cr_rowset_row(s.rows, i)); i++) {
        if ((cr_row_int64(row, users->c.id, &id) ||
             cr_row_text(row, users->c.name, &name, NULL) ||
             cr_row_text(row, users->c.email, &email, NULL) ||
             format_value(row, users->c.is_active, active, sizeof active) ||
             format_value(row, users->c.created_at, when, sizeof when)) &&
            read_failed(row))
            goto fail;
        printf("User ID: %lld, Name: %s, Email: %s, Active: %s, Created At: %s\n",
               (long long)id, name, email, active, when);
    }
    step_end(&s);

    /* ---- SELECT with WHERE ---- */
    printf("Querying active users..\n");
    s.q = cr_select(users->table);
    cr_where(s.q, cr_eq(s.q, users->c.is_active, true));
    cr_order_by(s.q, users->c.name);
    if (!fetchall(conn, &s))
        goto fail;
    printf("Total active users found: %zu\n", cr_rowset_count(s.rows));
    for (size_t i = 0; (row = cr_rowset_row(s.rows, i)); i++) {
        if ((cr_row_int64(row, users->c.id, &id) ||
             cr_row_text(row, users->c.name, &name, NULL) ||
             cr_row_text(row, users->c.email, &email, NULL) ||
             format_value(row, users->c.created_at, when, sizeof when)) &&
            read_failed(row))
            goto fail;
        printf("Active User ID: %lld, Name: %s, Email: %s, Created At: %s\n", (long long)id,
               name, email, when);
    }
    step_end(&s);

    printf("Querying users with specific User ID..\n");
    s.q = cr_select(users->c.name);
    cr_where(s.q, cr_eq(s.q, users->c.id, alice_id));
    if (!execute(conn, &s))
        goto fail;
    /* scalar(): None when there is no row. */
    const char *user_name = "None";
    cr_status st = cr_result_scalar_text(s.r, &user_name, NULL);
    if (st && st != CR_ERR_NO_RESULT_FOUND) {
        report_error("scalar", cr_result_error(s.r));
        goto fail;
    }
    printf("User with ID %lld found: %s\n", (long long)alice_id, user_name);
    step_end(&s);

    printf("Quering 1st two Posts..\n");
    s.q = cr_select(posts->table);
    cr_limit(s.q, 2);
    if (!fetchall(conn, &s))
        goto fail;
    for (size_t i = 0; (row = cr_rowset_row(s.rows, i)); i++) {
        if ((cr_row_int64(row, posts->c.id, &id) ||
             cr_row_text(row, posts->c.title, &title, NULL) ||
             cr_row_text(row, posts->c.content, &content, NULL) ||
             cr_row_int64(row, posts->c.user_id, &user_id) ||
             format_value(row, posts->c.published_at, when, sizeof when)) &&
            read_failed(row))
            goto fail;
        printf("Post ID: %lld, Title: %s, Content: %s, User ID: %lld, Published At: %s\n",
               (long long)id, title, content, (long long)user_id, when);
    }
    step_end(&s);

    printf("Querying posts by User ID..\n");
    s.q = cr_select(posts->c.title, users->c.name);
    cr_join(s.q, users->table, cr_eq(s.q, posts->c.user_id, users->c.id));
    cr_where(s.q, cr_eq(s.q, users->c.id, alice_id));
    cr_order_by(s.q, cr_desc(s.q, posts->c.published_at));
    if (!fetchall(conn, &s))
        goto fail;
    for (size_t i = 0; (row = cr_rowset_row(s.rows, i)); i++) {
        if ((cr_row_text(row, posts->c.title, &title, NULL) ||
             cr_row_text(row, users->c.name, &name, NULL)) &&
            read_failed(row))
            goto fail;
        printf("Post Title: %s, User Name: %s\n", title, name);
    }
    step_end(&s);

    /* ---- UPDATE: update user information ---- */
    printf("Updating user information..\n");
    s.q = cr_update(users->table);
    cr_where(s.q, cr_eq(s.q, users->c.email, "bob@example.com"));
    cr_set(s.q, users->c.name, "Robert");
    if (!execute(conn, &s) || commit(conn))
        goto fail;
    printf("User Bob updated, rows affected: %lld\n", (long long)cr_result_rowcount(s.r));
    step_end(&s);
    /* Verify the update. */
    s.q = cr_select(users->table);
    cr_where(s.q, cr_eq(s.q, users->c.email, "bob@example.com"));
    if (!execute(conn, &s))
        goto fail;
    row = cr_result_fetchone(s.r);
    if (!row) {
        if (cr_result_error(s.r))
            report_error("fetchone", cr_result_error(s.r));
        else
            fprintf(stderr, "core_crud: the updated user is gone\n");
        goto fail;
    }
    if ((cr_row_int64(row, users->c.id, &id) || cr_row_text(row, users->c.name, &name, NULL) ||
         cr_row_text(row, users->c.email, &email, NULL)) &&
        read_failed(row))
        goto fail;
    printf("Updated User: ID: %lld, Name: %s, Email: %s\n", (long long)id, name, email);
    step_end(&s);

    printf("Updating Multiple Users..\n");
    s.q = cr_update(users->table);
    cr_where(s.q, cr_eq(s.q, users->c.is_active, false));
    cr_set(s.q, users->c.is_active, true);
    if (!execute(conn, &s) || commit(conn))
        goto fail;
    printf("Multiple users updated, rows affected: %lld\n", (long long)cr_result_rowcount(s.r));
    step_end(&s);
    /* Verify the update. */
    s.q = cr_select(users->table);
    cr_where(s.q, cr_eq(s.q, users->c.is_active, true));
    if (!fetchall(conn, &s))
        goto fail;
    printf("Total active users after update: %zu\n", cr_rowset_count(s.rows));
    step_end(&s);

    /* ---- DELETE: delete users and posts ---- */
    printf("Deleting users and posts..\n");
    /* Delete a specific post. The seed inserted "Bobs First Post" and deletes
     * "Bob's First Post": no row matches, as in the Python program. */
    s.q = cr_delete(posts->table);
    cr_where(s.q, cr_eq(s.q, posts->c.title, "Bob's First Post"));
    if (!execute(conn, &s) || commit(conn))
        goto fail;
    printf("Post 'Bob's First Post' deleted, rows affected: %lld\n",
           (long long)cr_result_rowcount(s.r));
    step_end(&s);

    /* Delete the posts of a user: the foreign key has no ON DELETE CASCADE,
     * so they go before the user does. */
    s.q = cr_delete(posts->table);
    cr_where(s.q, cr_eq(s.q, posts->c.user_id, charlie_id));
    if (!execute(conn, &s) || commit(conn))
        goto fail;
    printf("Posts by user 'Charlie' deleted, rows affected: %lld\n",
           (long long)cr_result_rowcount(s.r));
    step_end(&s);
    /* Verify the deletion. */
    s.q = cr_select(posts->table);
    cr_where(s.q, cr_eq(s.q, posts->c.user_id, charlie_id));
    if (!fetchall(conn, &s))
        goto fail;
    if (cr_rowset_count(s.rows) == 0)
        printf("All posts by user 'Charlie' successfully deleted.\n");
    step_end(&s);

    s.q = cr_delete(users->table);
    cr_where(s.q, cr_eq(s.q, users->c.name, "Charlie"));
    if (!execute(conn, &s) || commit(conn))
        goto fail;
    printf("User 'Charlie' deleted, rows affected: %lld\n", (long long)cr_result_rowcount(s.r));
    step_end(&s);
    /* Verify the deletion. */
    s.q = cr_select(users->table);
    cr_where(s.q, cr_eq(s.q, users->c.name, "Charlie"));
    if (!execute(conn, &s))
        goto fail;
    row = cr_result_fetchone(s.r);
    if (!row && cr_result_error(s.r)) {
        report_error("fetchone", cr_result_error(s.r));
        goto fail;
    }
    if (!row) {
        printf("User 'Charlie' successfully deleted.\n");
    } else {
        if (cr_row_text(row, users->c.name, &name, NULL) && read_failed(row))
            goto fail;
        printf("User 'Charlie' still exists: %s\n", name);
    }
    step_end(&s);

    /* Verify with the total of users and of posts. */
    s.q = cr_select(users->c.name);
    if (!fetchall(conn, &s))
        goto fail;
    printf("Total users after deletion: %zu\n", cr_rowset_count(s.rows));
    step_end(&s);
    s.q = cr_select(posts->c.title);
    if (!fetchall(conn, &s))
        goto fail;
    printf("Total posts after deletion: %zu\n", cr_rowset_count(s.rows));
    step_end(&s);
    return 0;

fail:
    step_end(&s);
    return 1;
}

/* ---- Engine and schema ---- */

/* metadata.create_all(engine), from an empty schema: the tables of an
 * earlier run are dropped first, so every run prints the same thing. */
static int create_schema(cr_engine *engine, cr_metadata *metadata)
{
    cr_error *err = NULL;
    /* The test databases are shared with the other seed examples, whose
     * tables likes, profiles and post_tags refer to users and posts: drop
     * those first if they are there, or PostgreSQL and MariaDB refuse. */
    cr_conn *conn = cr_engine_connect(engine, &err);
    if (!conn || cr_conn_exec(conn, "DROP TABLE IF EXISTS likes", NULL) ||
        cr_conn_exec(conn, "DROP TABLE IF EXISTS profiles", NULL) ||
        cr_conn_exec(conn, "DROP TABLE IF EXISTS post_tags", NULL) || cr_conn_commit(conn)) {
        report_error("drop", conn ? cr_conn_error(conn) : err);
        cr_conn_close(conn);
        cr_error_free(err);
        return 1;
    }
    cr_conn_close(conn);
    if (cr_metadata_drop_all_engine(metadata, engine, true, &err) ||
        cr_metadata_create_all_engine(metadata, engine, true, &err)) {
        report_error("create_all", err);
        cr_error_free(err);
        return 1;
    }
    return 0;
}

int main(void)
{
    const char *url = getenv("DATABASE_URL");
    if (!url || !*url)
        url = "sqlite:///my_sqlite_db.db";
    const char *echo_env = getenv("CRUCIBLE_ECHO");
    bool echo = echo_env && *echo_env && strcmp(echo_env, "0") != 0;

    cr_metadata *metadata = cr_metadata_new(NULL);
    if (!metadata) {
        fprintf(stderr, "core_crud: out of memory\n");
        return 1;
    }
    users_table users;
    posts_table posts;
    if (users_table_define(&users, metadata, "users") ||
        posts_table_define(&posts, metadata, "posts")) {
        report_error("declaring the tables", cr_metadata_error(metadata));
        cr_metadata_free(metadata);
        return 1;
    }

    cr_error *err = NULL;
    cr_engine *engine = cr_create_engine(url, &(cr_engine_options){.echo = echo}, &err);
    if (!engine) {
        report_error("create_engine", err);
        cr_error_free(err);
        cr_metadata_free(metadata);
        return 1;
    }
    printf("Engine created for database: %s\n", cr_engine_url(engine));
    int rc = create_schema(engine, metadata);
    if (rc == 0) {
        printf("database ready for CRUD operation: %s\n", cr_engine_url(engine));
        cr_conn *conn = cr_engine_connect(engine, &err);
        if (conn) {
            rc = perform_crud_operations(conn, &users, &posts);
            cr_conn_close(conn);
        } else {
            report_error("connect", err);
            cr_error_free(err);
            rc = 1;
        }
    }
    cr_engine_free(engine);
    cr_metadata_free(metadata);
    return rc;
}
