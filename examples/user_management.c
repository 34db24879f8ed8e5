/* user_management.c — the seed's chapter "Database Operations", ported to Crucible's ORM.
 *
 * The C port of tests/examples/reference/user_management.py: the engine and
 * a first SELECT 1, the User / Post / Tag models (posts and the many-to-many
 * tags through post_tags), CRUD, filters, sorting, pagination, pattern
 * matching, counting, relationships and joins, joinedload, tags, a
 * transaction with rollback on failure, a session-scope helper in place of
 * the chapter's context manager, IntegrityError handling and a savepoint.
 * Its stdout is tests/examples/user_management.expected.
 *
 * The database is my_sqlite_db.db in the working directory, or the one
 * DATABASE_URL names (PostgreSQL, MariaDB). CRUCIBLE_ECHO=1 logs every
 * statement to stderr. Any unexpected failure is printed to stderr and the
 * program exits with status 1. */
#include <crucible.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* post_tags = Table('post_tags', Base.metadata,
 *     Column('post_id', Integer, ForeignKey('posts.id')),
 *     Column('tag_id', Integer, ForeignKey('tags.id')))                     */
#define POST_TAGS(COLUMN)                                                             \
    COLUMN(post_id, INTEGER, .foreign_key = "posts.id")                               \
    COLUMN(tag_id,  INTEGER, .foreign_key = "tags.id")
CR_DECLARE_TABLE(post_tags_table, POST_TAGS)

/* class User(Base):
 *     __tablename__ = 'users'
 *     id = Column(Integer, primary_key=True)
 *     username = Column(String(50), unique=True, nullable=False)
 *     email = Column(String(100), unique=True, nullable=False)
 *     created_at = Column(DateTime, default=datetime.utcnow)
 *     posts = relationship("Post", back_populates="author", order_by="Post.id") */
#define USER_FIELDS(F)                                                                \
    F(id,         INTEGER,     .primary_key = true)                                   \
    F(username,   STRING(50),  .unique = true, .nullable = CR_NO)                     \
    F(email,      STRING(100), .unique = true, .nullable = CR_NO)                     \
    F(created_at, DATETIME,    .default_fn = cr_val_utcnow)
#define USER_RELATIONSHIPS(R)                                                         \
    R(posts, MANY(Post), .back_populates = "author", .order_by = "id")
CR_MODEL(User, "users", USER_FIELDS, USER_RELATIONSHIPS)

/* class Post(Base):
 *     __tablename__ = 'posts'
 *     id = Column(Integer, primary_key=True)
 *     title = Column(String(200))
 *     content = Column(Text)
 *     user_id = Column(Integer, ForeignKey('users.id'))
 *     author = relationship("User", back_populates="posts")
 *     tags = relationship("Tag", secondary=post_tags, back_populates="posts",
 *                         order_by="Tag.id")                                   */
#define POST_FIELDS(F)                                                                \
    F(id,      INTEGER,     .primary_key = true)                                      \
    F(title,   STRING(200))                                                           \
    F(content, TEXT)                                                                  \
    F(user_id, INTEGER,     .foreign_key = "users.id")
#define POST_RELATIONSHIPS(R)                                                         \
    R(author, ONE(User),  .back_populates = "posts")                                  \
    R(tags,   MANY(Tag),  .secondary = "post_tags", .back_populates = "posts",        \
                          .order_by = "id")
CR_MODEL(Post, "posts", POST_FIELDS, POST_RELATIONSHIPS)

/* class Tag(Base):
 *     __tablename__ = 'tags'
 *     id = Column(Integer, primary_key=True)
 *     name = Column(String(50), unique=True)
 *     posts = relationship("Post", secondary=post_tags, back_populates="tags",
 *                          order_by="Post.id")                                 */
#define TAG_FIELDS(F)                                                                 \
    F(id,   INTEGER,    .primary_key = true)                                          \
    F(name, STRING(50), .unique = true)
#define TAG_RELATIONSHIPS(R)                                                          \
    R(posts, MANY(Post), .secondary = "post_tags", .back_populates = "tags",          \
                         .order_by = "id")
CR_MODEL(Tag, "tags", TAG_FIELDS, TAG_RELATIONSHIPS)

static cr_session *session;

static void die(const char *what, const cr_error *err)
{
    fprintf(stderr, "user_management: %s: %s: %s\n", what,
            err ? cr_error_class_name(err) : "Error", err ? cr_error_message(err) : "out of memory");
    exit(1);
}

static void check(cr_status st, const char *what)
{
    if (st)
        die(what, cr_session_error(session));
}

/* A new User(username=..., email=...) */
static User *new_user(const char *username, const char *email)
{
    User *u = cr_new(User);
    if (!u)
        die("new user", NULL);
    u->username = (char *)username, u->email = (char *)email;
    return u;
}

/* A new Post(title=..., content=..., author=...) */
static Post *new_post(const char *title, const char *content, User *author)
{
    Post *p = cr_new(Post);
    if (!p)
        die("new post", NULL);
    p->title = (char *)title, p->content = (char *)content;
    cr_status st = cr_set_related(p, author, author);
    if (st) {
        fprintf(stderr, "user_management: post.author: %s\n", cr_status_name(st));
        exit(1);
    }
    return p;
}

/* q.all(), for the chapter's queries whose result is not printed; frees q */
static cr_objects *all(cr_stmt *q)
{
    cr_objects *result = cr_query_all(q);
    if (!result)
        die("query", cr_session_error(cr_query_session(q)));
    cr_stmt_free(q);
    return result;
}

static void all_and_drop(cr_stmt *q)
{
    cr_objects_free(all(q));
}

/* q.first() / q.one(); frees q */
static void *first(cr_stmt *q)
{
    void *obj = cr_query_first(q);
    if (!obj)
        die("first", cr_session_error(cr_query_session(q)));
    cr_stmt_free(q);
    return obj;
}

static void *one(cr_stmt *q)
{
    void *obj = cr_query_one(q);
    if (!obj)
        die("one", cr_session_error(cr_query_session(q)));
    cr_stmt_free(q);
    return obj;
}

/* print([post.title for post in user.posts]): ['Hello World', 'SQLAlchemy Tips'] */
static void print_titles(Post *const *posts, size_t n)
{
    printf("[");
    for (size_t i = 0; i < n; i++)
        printf("%s'%s'", i ? ", " : "", posts[i]->title);
    printf("]\n");
}

static const char *text_at(const cr_row *row, int col)
{
    const char *s = NULL;
    size_t len;
    if (cr_row_text_at(row, col, &s, &len))
        die("row", cr_row_error(row));
    return s;
}

/* @contextmanager
 * def get_session():
 *     session = Session()
 *     try:
 *         yield session
 *         session.commit()
 *     except Exception:
 *         session.rollback()
 *         raise
 *     finally:
 *         session.close()
 *
 * C has no with-block: the block is a function, run between the session's
 * opening and its commit (or its rollback, when the block or the commit
 * fails). The session is closed, not freed: the program may use it again,
 * as the chapter does. */
typedef cr_status (*session_block)(cr_session *s, void *arg);

static cr_status get_session(cr_sessionmaker *Session, cr_session **out, session_block block,
                             void *arg)
{
    cr_session *s = cr_sessionmaker_session(Session);
    if (!s)
        return CR_ERR_NO_MEMORY;
    cr_status st = block(s, arg);
    if (st == CR_OK)
        st = cr_session_commit(s);
    if (st != CR_OK)
        cr_session_rollback(s);
    cr_session_close(s);
    *out = s;
    return st;
}

/* with get_session() as session:
 *     user = User(username="charlie", email="charlie@example.com")
 *     session.add(user)                                                     */
static cr_status add_charlie(cr_session *s, void *arg)
{
    (void)arg;
    return cr_session_add(s, new_user("charlie", "charlie@example.com"));
}

int main(void)
{
    /* ---- 5.1 Connecting ----
     * engine = create_engine(DATABASE_URL, future=True)
     * with engine.connect() as connection:
     *     result = connection.execute(text("SELECT 1"))
     *     print(f"Connection successful: {result.fetchone()}") */
    const char *url = getenv("DATABASE_URL");
    const char *echo = getenv("CRUCIBLE_ECHO");
    cr_engine_options opts = {.echo = echo && *echo && strcmp(echo, "0") != 0};
    cr_error *err = NULL;
    cr_engine *engine = cr_create_engine(url && *url ? url : "sqlite:///my_sqlite_db.db", &opts,
                                         &err);
    if (!engine)
        die("create_engine", err);
    cr_conn *connection = cr_engine_connect(engine, &err);
    if (!connection)
        die("connect", err);
    cr_result *result = cr_conn_execute(connection, "SELECT 1", NULL);
    const cr_row *row = result ? cr_result_fetchone(result) : NULL;
    int64_t one_value = 0;
    if (!row || cr_row_int64_at(row, 0, &one_value))
        die("SELECT 1", cr_conn_error(connection));
    printf("Connection successful: (%lld,)\n", (long long)one_value);
    cr_result_free(result);

    /* ---- 5.2 Creating tables ----
     * Base = declarative_base(); the models and post_tags in its metadata
     * Base.metadata.drop_all(engine); Base.metadata.create_all(engine) */
    cr_metadata *md = cr_metadata_new(NULL);
    post_tags_table post_tags;
    if (!md || post_tags_table_define(&post_tags, md, "post_tags") || User_define(md) ||
        Post_define(md) || Tag_define(md) || cr_metadata_configure(md))
        die("models", md ? cr_metadata_error(md) : NULL);
    /* The test databases are shared with the other seed examples, whose
     * tables likes and profiles refer to users and posts: drop those first
     * if they are there, or PostgreSQL and MariaDB refuse. */
    if (cr_conn_exec(connection, "DROP TABLE IF EXISTS likes", NULL) ||
        cr_conn_exec(connection, "DROP TABLE IF EXISTS profiles", NULL) ||
        cr_metadata_drop_all(md, connection, true) ||
        cr_metadata_create_all(md, connection, false) || cr_conn_commit(connection))
        die("create_all", cr_conn_error(connection));

    /* inspector = inspect(engine)
     * tables = inspector.get_table_names()       (sorted; this program's only)
     * print(f"Tables in database: {tables}") */
    cr_inspector *inspector = cr_inspect(connection);
    const char *const *tables;
    size_t ntables = 0;
    if (!inspector || cr_inspector_get_table_names(inspector, &tables, &ntables))
        die("get_table_names", cr_conn_error(connection));
    printf("Tables in database: [");
    const char *sep = "";
    for (size_t i = 0; i < ntables; i++) {
        if (!cr_metadata_table(md, tables[i]))
            continue;
        printf("%s'%s'", sep, tables[i]);
        sep = ", ";
    }
    printf("]\n");
    cr_inspector_free(inspector);
    cr_conn_close(connection);

    /* ---- 5.3 CRUD ----
     * Session = sessionmaker(bind=engine, future=True)
     * session = Session()
     * new_user = User(username="alice", email="alice@example.com")
     * session.add(new_user); session.commit()
     * print(f"Created user with ID: {new_user.id}") */
    cr_sessionmaker *Session = cr_sessionmaker_new(engine, NULL);
    session = cr_sessionmaker_session(Session);
    if (!session)
        die("session", NULL);
    User *alice = new_user("alice", "alice@example.com");
    check(cr_session_add(session, alice), "add alice");
    check(cr_session_commit(session), "commit alice");
    printf("Created user with ID: %lld\n", (long long)alice->id);

    /* all_users = session.query(User).all()
     * for user in all_users:
     *     print(user)             # <User(username='alice', email='alice@example.com')> */
    cr_objects *all_users = all(cr_session_query(session, User));
    CR_FOR_EACH(User, user, all_users)
        printf("<User(username='%s', email='%s')>\n", user->username, user->email);
    cr_objects_free(all_users);

    /* user = session.query(User).filter_by(id=1).first()
     * print(f"User 1: {user.username}") */
    cr_stmt *q = cr_session_query(session, User);
    cr_filter_by(q, "id", 1);
    User *user = first(q);
    printf("User 1: %s\n", user->username);

    /* alice = session.query(User).filter_by(username="alice").first()
     * print(f"Found: {alice.email}") */
    q = cr_session_query(session, User);
    cr_filter_by(q, "username", "alice");
    alice = first(q);
    printf("Found: %s\n", alice->email);

    /* user = session.query(User).filter_by(username="alice").first()
     * user.email = "alice.new@example.com"; session.commit()
     * print(f"Updated email to: {user.email}") */
    q = cr_session_query(session, User);
    cr_filter_by(q, "username", "alice");
    user = first(q);
    user->email = "alice.new@example.com";
    check(cr_session_commit(session), "commit email");
    printf("Updated email to: %s\n", user->email);

    /* user = session.query(User).filter_by(username="alice").first()
     * session.delete(user); session.commit()
     * print("User deleted successfully") */
    q = cr_session_query(session, User);
    cr_filter_by(q, "username", "alice");
    user = first(q);
    check(cr_session_delete(session, user), "delete alice");
    check(cr_session_commit(session), "commit delete");
    printf("User deleted successfully\n");

    /* Best practices: a new alice (the deleted one cannot be added again).
     * try:
     *     session.add(new_user); session.commit()
     * except Exception as e:
     *     session.rollback(); print(f"Error: {e}")
     * finally:
     *     session.close()                                                   */
    if (cr_session_add(session, new_user("alice", "alice@example.com")) ||
        cr_session_commit(session)) {
        printf("Error: %s\n", cr_error_message(cr_session_error(session)));
        cr_session_rollback(session);
    }
    cr_session_close(session);

    /* ---- 5.4 Query filtering ----
     * session.add_all([User(username="erin", email="erin@gmail.com"),
     *                  User(username="frank", email="frank@example.com")])
     * session.commit()                                                        */
    check(cr_session_add_all(session, CR_OBJS(new_user("erin", "erin@gmail.com"),
                                              new_user("frank", "frank@example.com"))),
          "add_all");
    check(cr_session_commit(session), "commit erin, frank");

    /* users = session.query(User).filter_by(username="alice").all()
     * users = session.query(User).filter_by(username="alice",
     *                                       email="alice@example.com").all() */
    q = cr_session_query(session, User);
    cr_filter_by(q, "username", "alice");
    all_and_drop(q);
    q = cr_session_query(session, User);
    cr_filter_by(q, "username", "alice");
    cr_filter_by(q, "email", "alice@example.com");
    all_and_drop(q);

    /* recent_users = session.query(User).filter(User.created_at > datetime(2024, 1, 1)).all() */
    cr_value jan_2024 = cr_val_datetime(2024, 1, 1, 0, 0, 0, 0);
    q = cr_session_query(session, User);
    cr_filter(q, cr_gt(q, User_model.c.created_at, jan_2024));
    all_and_drop(q);

    /* users = session.query(User).filter(or_(User.username == "alice",
     *                                        User.username == "bob")).all() */
    q = cr_session_query(session, User);
    cr_filter(q, cr_or(q, cr_eq(q, User_model.c.username, "alice"),
                       cr_eq(q, User_model.c.username, "bob")));
    all_and_drop(q);

    /* users = session.query(User).filter(and_(
     *     User.created_at > datetime(2024, 1, 1),
     *     or_(User.username.like("a%"), User.email.like("%@gmail.com")))).all() */
    q = cr_session_query(session, User);
    cr_filter(q, cr_and(q, cr_gt(q, User_model.c.created_at, jan_2024),
                        cr_or(q, cr_like(q, User_model.c.username, "a%"),
                              cr_like(q, User_model.c.email, "%@gmail.com"))));
    all_and_drop(q);

    /* users = session.query(User).order_by(User.username).all()
     * users = session.query(User).order_by(User.created_at.desc()).all()
     * users = session.query(User).order_by(User.created_at.desc(), User.username).all() */
    q = cr_session_query(session, User);
    cr_order_by(q, User_model.c.username);
    all_and_drop(q);
    q = cr_session_query(session, User);
    cr_order_by(q, cr_desc(q, User_model.c.created_at));
    all_and_drop(q);
    q = cr_session_query(session, User);
    cr_order_by(q, cr_desc(q, User_model.c.created_at), User_model.c.username);
    all_and_drop(q);

    /* users = session.query(User).limit(10).all()
     * users = session.query(User).offset(10).limit(10).all()
     * user = session.query(User).filter_by(username="alice").first() */
    q = cr_session_query(session, User);
    cr_limit(q, 10);
    all_and_drop(q);
    q = cr_session_query(session, User);
    cr_offset(q, 10);
    cr_limit(q, 10);
    all_and_drop(q);
    q = cr_session_query(session, User);
    cr_filter_by(q, "username", "alice");
    user = first(q);

    /* total = session.query(User).count()
     * print(f"Total users: {total}") */
    int64_t total = 0;
    q = cr_session_query(session, User);
    check(cr_query_count(q, &total), "count");
    cr_stmt_free(q);
    printf("Total users: %lld\n", (long long)total);

    /* recent_count = session.query(User).filter(User.created_at > datetime(2024, 1, 1)).count() */
    int64_t recent_count = 0;
    q = cr_session_query(session, User);
    cr_filter(q, cr_gt(q, User_model.c.created_at, jan_2024));
    check(cr_query_count(q, &recent_count), "count recent");
    cr_stmt_free(q);

    /* users = session.query(User).filter(User.username.like("ali%")).all()
     * users = session.query(User).filter(User.email.ilike("%@GMAIL.COM")).all()
     * users = session.query(User).filter(User.username.contains("ice")).all() */
    q = cr_session_query(session, User);
    cr_filter(q, cr_like(q, User_model.c.username, "ali%"));
    all_and_drop(q);
    q = cr_session_query(session, User);
    cr_filter(q, cr_ilike(q, User_model.c.email, "%@GMAIL.COM"));
    all_and_drop(q);
    q = cr_session_query(session, User);
    cr_filter(q, cr_contains(q, User_model.c.username, "ice"));
    all_and_drop(q);

    /* ---- 5.5 Joins and relationships ----
     * alice = session.query(User).filter_by(username="alice").one()
     * erin = session.query(User).filter_by(username="erin").one()
     * session.add_all([
     *     Post(title="Hello World", content="My first post", author=alice),
     *     Post(title="SQLAlchemy Tips", content="Use sessions wisely", author=alice),
     *     Post(title="Notes by erin", content="Notes from erin", author=erin)])
     * session.commit()                                                         */
    q = cr_session_query(session, User);
    cr_filter_by(q, "username", "alice");
    alice = one(q);
    q = cr_session_query(session, User);
    cr_filter_by(q, "username", "erin");
    User *erin = one(q);
    check(cr_session_add_all(session,
                             CR_OBJS(new_post("Hello World", "My first post", alice),
                                     new_post("SQLAlchemy Tips", "Use sessions wisely", alice),
                                     new_post("Notes by erin", "Notes from erin", erin))),
          "add posts");
    check(cr_session_commit(session), "commit posts");

    /* user = session.query(User).filter_by(username="alice").first()
     * for post in user.posts:          # the lazy load of User.posts
     *     print(f"{user.username} wrote: {post.title}") */
    q = cr_session_query(session, User);
    cr_filter_by(q, "username", "alice");
    user = first(q);
    check(cr_load(user, posts), "load user.posts");
    CR_FOR_EACH(Post, post, &user->posts)
        printf("%s wrote: %s\n", user->username, post->title);

    /* post = session.query(Post).filter_by(id=1).first()
     * print(f"Author: {post.author.username}")       # the lazy load of Post.author */
    q = cr_session_query(session, Post);
    cr_filter_by(q, "id", 1);
    Post *post = first(q);
    check(cr_load(post, author), "load post.author");
    printf("Author: %s\n", post->author->username);

    /* results = session.query(User, Post).join(Post).order_by(Post.id).all()
     * for user, post in results:
     *     print(f"{user.username}: {post.title}") */
    q = cr_select(User_model.table, Post_model.table);
    cr_join_related(q, User_model.r.posts);
    cr_order_by(q, Post_model.c.id);
    cr_result *rows = cr_session_execute(session, q);
    if (!rows)
        die("query(User, Post)", cr_session_error(session));
    while ((row = cr_result_fetchone(rows))) {
        User *u = cr_row_entity(session, row, User);   /* row.User, row.Post */
        Post *p = cr_row_entity(session, row, Post);
        if (!u || !p)
            die("row objects", cr_session_error(session));
        printf("%s: %s\n", u->username, p->title);
    }
    cr_result_free(rows);
    cr_stmt_free(q);

    /* posts = session.query(Post).join(User).filter(User.username == "alice").all() */
    q = cr_session_query(session, Post);
    cr_join_related(q, Post_model.r.author);
    cr_filter(q, cr_eq(q, User_model.c.username, "alice"));
    all_and_drop(q);

    /* results = session.query(User.username, Post.title).join(Post).all() */
    q = cr_select(User_model.c.username, Post_model.c.title);
    cr_join_related(q, User_model.r.posts);
    rows = cr_session_execute(session, q);
    if (!rows)
        die("query(User.username, Post.title)", cr_session_error(session));
    while ((row = cr_result_fetchone(rows)))
        (void)text_at(row, 1);
    cr_result_free(rows);
    cr_stmt_free(q);

    /* results = session.query(User).outerjoin(Post).all() */
    q = cr_session_query(session, User);
    cr_outerjoin_related(q, User_model.r.posts);
    all_and_drop(q);

    /* users = session.query(User).options(joinedload(User.posts)).order_by(User.id).all()
     * for user in users:
     *     print(f"{user.username} has {len(user.posts)} posts") */
    q = cr_session_query(session, User);
    cr_joinedload(q, User_model.r.posts);
    cr_order_by(q, User_model.c.id);
    cr_objects *users = all(q);
    CR_FOR_EACH(User, u, users)
        printf("%s has %zu posts\n", u->username, u->posts.count);
    cr_objects_free(users);

    /* python_tag = Tag(name="python"); sql_tag = Tag(name="sql")
     * hello, tips, notes = session.query(Post).order_by(Post.id).all()
     * hello.tags.append(python_tag)
     * tips.tags.append(python_tag); tips.tags.append(sql_tag)
     * notes.tags.append(sql_tag)
     * session.add_all([python_tag, sql_tag]); session.commit() */
    Tag *python_tag = cr_new(Tag), *sql_tag = cr_new(Tag);
    if (!python_tag || !sql_tag)
        die("new tag", NULL);
    python_tag->name = "python", sql_tag->name = "sql";
    q = cr_session_query(session, Post);
    cr_order_by(q, Post_model.c.id);
    cr_objects *posts = all(q);
    if (posts->count != 3)
        die("three posts", NULL);
    Post *hello = posts->items[0], *tips = posts->items[1], *notes = posts->items[2];
    cr_objects_free(posts);
    check(cr_append(hello, tags, python_tag), "hello.tags.append");
    check(cr_append(tips, tags, python_tag), "tips.tags.append");
    check(cr_append(tips, tags, sql_tag), "tips.tags.append");
    check(cr_append(notes, tags, sql_tag), "notes.tags.append");
    check(cr_session_add_all(session, CR_OBJS(python_tag, sql_tag)), "add tags");
    check(cr_session_commit(session), "commit tags");

    /* for post in session.query(Post).order_by(Post.id).all():
     *     print(f"{post.title} tags: {[tag.name for tag in post.tags]}")
     * for tag in session.query(Tag).order_by(Tag.id).all():
     *     print(f"{tag.name} posts: {[post.title for post in tag.posts]}") */
    q = cr_session_query(session, Post);
    cr_order_by(q, Post_model.c.id);
    posts = all(q);
    CR_FOR_EACH(Post, p, posts) {
        check(cr_load(p, tags), "load post.tags");
        printf("%s tags: [", p->title);
        sep = "";
        CR_FOR_EACH(Tag, tag, &p->tags) {
            printf("%s'%s'", sep, tag->name);
            sep = ", ";
        }
        printf("]\n");
    }
    cr_objects_free(posts);
    q = cr_session_query(session, Tag);
    cr_order_by(q, Tag_model.c.id);
    cr_objects *tags = all(q);
    CR_FOR_EACH(Tag, tag, tags) {
        check(cr_load(tag, posts), "load tag.posts");
        printf("%s posts: ", tag->name);
        print_titles((Post *const *)tag->posts.items, tag->posts.count);
    }
    cr_objects_free(tags);

    /* ---- 5.6 Transactions and error handling ----
     * session = Session()
     * try:
     *     user = User(username="bob", email="bob@example.com"); session.add(user)
     *     post = Post(title="First Post", content="Hello!", author=user); session.add(post)
     *     session.commit()
     *     print("Transaction successful")
     * except Exception as e:
     *     session.rollback(); print(f"Transaction failed: {e}")
     * finally:
     *     session.close()                                                       */
    cr_session_free(session);
    session = cr_sessionmaker_session(Session);
    if (!session)
        die("session", NULL);
    User *bob = new_user("bob", "bob@example.com");
    if (cr_session_add(session, bob) ||
        cr_session_add(session, new_post("First Post", "Hello!", bob)) ||
        cr_session_commit(session)) {
        printf("Transaction failed: %s\n", cr_error_message(cr_session_error(session)));
        cr_session_rollback(session);
    } else {
        printf("Transaction successful\n");
    }
    cr_session_close(session);
    cr_session_free(session);

    /* with get_session() as session:
     *     session.add(User(username="charlie", email="charlie@example.com")) */
    if (get_session(Session, &session, add_charlie, NULL))
        die("get_session", cr_session_error(session));

    /* The context manager's session, closed, is used again: a new transaction.
     * try:
     *     session.add(User(username="alice", email="alice@example.com")); session.commit()
     * except IntegrityError as e:
     *     session.rollback(); print("Duplicate username or email")
     * except OperationalError as e:
     *     session.rollback(); print("Database connection error")
     * except Exception as e:
     *     session.rollback(); print(f"Unexpected error: {e}")                 */
    cr_status st = cr_session_add(session, new_user("alice", "alice@example.com"));
    if (st == CR_OK)
        st = cr_session_commit(session);
    if (st != CR_OK) {
        cr_session_rollback(session);
        if (st == CR_ERR_INTEGRITY)
            printf("Duplicate username or email\n");
        else if (st == CR_ERR_OPERATIONAL)
            printf("Database connection error\n");
        else
            printf("Unexpected error: %s\n", cr_error_message(cr_session_error(session)));
    }

    /* session.begin_nested()           # Create savepoint
     * try:
     *     session.add(User(username="david", email="david@example.com"))
     *     session.commit()             # releases the savepoint, commits the transaction
     * except Exception:
     *     session.rollback()                                                    */
    check(cr_session_begin_nested(session), "begin_nested");
    if (cr_session_add(session, new_user("david", "david@example.com")) ||
        cr_session_commit(session))
        cr_session_rollback(session);

    /* session.close(); session = Session()
     * for user in session.query(User).order_by(User.username).all():
     *     print(f"{user.username} <{user.email}>: {[post.title for post in user.posts]}")
     * session.close()                                                           */
    cr_session_free(session);
    session = cr_sessionmaker_session(Session);
    if (!session)
        die("session", NULL);
    q = cr_session_query(session, User);
    cr_order_by(q, User_model.c.username);
    users = all(q);
    CR_FOR_EACH(User, u, users) {
        check(cr_load(u, posts), "load user.posts");
        printf("%s <%s>: ", u->username, u->email);
        print_titles((Post *const *)u->posts.items, u->posts.count);
    }
    cr_objects_free(users);
    cr_session_free(session);

    cr_sessionmaker_free(Session);
    cr_metadata_free(md);
    cr_engine_free(engine);
    return 0;
}
