/* orm_basics.c — the seed's ORM notebook (models, session, CRUD, queries), ported to Crucible's ORM.
 *
 * Models User and Post over plain C structs, linked by the relationship
 * User.posts with backref 'author'; a session: add / add_all / commit,
 * refresh, query with filter, filter_by and ordering, get, update by
 * changing a field, delete, and a rollback after an IntegrityError followed
 * by a retry. Then the "refined code" of the seed's tutorial
 * (../shared/seeds/001): its functions create_user, create_post,
 * get_all_users and get_all_posts, each with a session of its own, and the
 * post's author reached through the backref.
 *
 * The database is my_sqlite_db.db in the working directory, or the one
 * DATABASE_URL names (PostgreSQL, MariaDB). CRUCIBLE_ECHO=1 logs every
 * statement the session sends to stderr. Any unexpected failure is printed to
 * stderr and the program exits with status 1. */
#include <crucible.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* class User(Base):
 *     __tablename__ = "users"
 *     id = Column(Integer, primary_key=True)
 *     username = Column(String(50), unique=True, nullable=False)
 *     email = Column(String(100), nullable=False)
 *     posts = relationship('Post', backref='author')                      */
#define USER_FIELDS(F)                                                      \
    F(id,       INTEGER,     .primary_key = true)                           \
    F(username, STRING(50),  .unique = true, .nullable = CR_NO)             \
    F(email,    STRING(100), .nullable = CR_NO)
#define USER_RELATIONSHIPS(R)                                               \
    R(posts, MANY(Post), .backref = "author")
CR_MODEL(User, "users", USER_FIELDS, USER_RELATIONSHIPS)

/* class Post(Base):
 *     __tablename__ = "posts"
 *     id = Column(Integer, primary_key=True)
 *     title = Column(String(200), nullable=False)
 *     content = Column(Text)
 *     user_id = Column(Integer, ForeignKey("users.id"))
 * and the backref's side, post.author: in C the struct needs the field, so
 * Post declares it.                                                       */
#define POST_FIELDS(F)                                                      \
    F(id,      INTEGER,     .primary_key = true)                            \
    F(title,   STRING(200), .nullable = CR_NO)                              \
    F(content, TEXT)                                                        \
    F(user_id, INTEGER,     .foreign_key = "users.id")
#define POST_RELATIONSHIPS(R)                                               \
    R(author, ONE(User))
CR_MODEL(Post, "posts", POST_FIELDS, POST_RELATIONSHIPS)

static cr_sessionmaker *SessionLocal;

static void die(const char *what, const cr_error *err)
{
    fprintf(stderr, "orm_basics: %s: %s: %s\n", what, err ? cr_error_class_name(err) : "Error",
            err ? cr_error_message(err) : "out of memory");
    exit(1);
}

/* __repr__: <User(id=2, username='alice', email='alice@new.com')> */
static void print_user(const char *label, const User *u)
{
    printf("%s<User(id=%lld, username='%s', email='%s')>\n", label, (long long)u->id,
           u->username, u->email);
}

/* The seed's refined code: each function opens a session of its own.
 *
 * def create_user(name, email):
 *     session = Session()
 *     try:
 *         new_user = User(name=name, email=email)
 *         session.add(new_user); session.commit()
 *         print("New user added successfully!")
 *     except Exception as e:
 *         print(f"Error: {e}"); session.rollback()
 *     finally:
 *         session.close()                                                 */
static void create_user(const char *name, const char *email)
{
    cr_session *session = cr_sessionmaker_session(SessionLocal);
    if (!session)
        die("session", NULL);
    User *new_user = cr_new(User);
    if (!new_user)
        die("new user", NULL);
    cr_field_set_text(new_user, username, name);
    cr_field_set_text(new_user, email, email);
    if (cr_session_add(session, new_user) || cr_session_commit(session)) {
        printf("Error: %s\n", cr_error_message(cr_session_error(session)));
        cr_session_rollback(session);
    } else {
        printf("New user added successfully!\n");
    }
    cr_session_free(session);
}

/* def create_post(title, content, user_id): the same, with
 *     new_post = Post(title=title, content=content, user_id=user_id)
 *     print("New post added successfully!")                              */
static void create_post(const char *title, const char *content, int64_t user_id)
{
    cr_session *session = cr_sessionmaker_session(SessionLocal);
    if (!session)
        die("session", NULL);
    Post *new_post = cr_new(Post);
    if (!new_post)
        die("new post", NULL);
    cr_field_set_text(new_post, title, title);
    cr_field_set_text(new_post, content, content);
    new_post->user_id = user_id;
    if (cr_session_add(session, new_post) || cr_session_commit(session)) {
        printf("Error: %s\n", cr_error_message(cr_session_error(session)));
        cr_session_rollback(session);
    } else {
        printf("New post added successfully!\n");
    }
    cr_session_free(session);
}

/* def get_all_users():
 *     users = session.query(User).all()
 *     for user in users:
 *         print(f"Name: {user.name}, Email: {user.email}")
 * (order added: by id, so that every backend prints the same order)      */
static void get_all_users(void)
{
    cr_session *session = cr_sessionmaker_session(SessionLocal);
    if (!session)
        die("session", NULL);
    cr_stmt *q = cr_session_query(session, User);
    cr_order_by(q, User_model.c.id);
    cr_objects *users = cr_query_all(q);
    if (!users)
        printf("Error: %s\n", cr_error_message(cr_session_error(session)));
    else
        CR_FOR_EACH(User, user, users)
            printf("Name: %s, Email: %s\n", user->username, user->email);
    cr_objects_free(users);
    cr_stmt_free(q);
    cr_session_free(session);
}

/* def get_all_posts():
 *     posts = session.query(Post).all()
 *     for post in posts:
 *         print(f"Title: {post.title}, Content: {post.content}, Author ID: {post.user_id}")
 * (order added: by id) and, added, the author through the backref:
 *         print(f"  by {post.author.name}")                              */
static void get_all_posts(void)
{
    cr_session *session = cr_sessionmaker_session(SessionLocal);
    if (!session)
        die("session", NULL);
    cr_stmt *q = cr_session_query(session, Post);
    cr_order_by(q, Post_model.c.id);
    cr_objects *posts = cr_query_all(q);
    if (!posts)
        printf("Error: %s\n", cr_error_message(cr_session_error(session)));
    else
        CR_FOR_EACH(Post, post, posts) {
            printf("Title: %s, Content: %s, Author ID: %lld\n", post->title, post->content,
                   (long long)post->user_id);
            if (cr_load(post, author))
                die("post.author", cr_session_error(session));
            printf("  by %s\n", post->author ? post->author->username : "None");
        }
    cr_objects_free(posts);
    cr_stmt_free(q);
    cr_session_free(session);
}

static void print_users(const char *label, cr_objects *users)
{
    printf("%s", label);
    for (size_t i = 0; users && i < users->count; i++) {
        User *u = users->items[i];
        printf("%s%s", i ? ", " : "", u->username);
    }
    printf("\n");
}

int main(void)
{
    const char *url = getenv("DATABASE_URL");
    const char *echo = getenv("CRUCIBLE_ECHO");
    cr_engine_options opts = {.echo = echo && *echo && strcmp(echo, "0") != 0};
    cr_error *err = NULL;
    cr_engine *engine = cr_create_engine(url && *url ? url : "sqlite:///my_sqlite_db.db", &opts,
                                         &err);
    if (!engine)
        die("create_engine", err);

    /* Base.metadata.drop_all(engine); Base.metadata.create_all(engine) */
    cr_metadata *md = cr_metadata_new(NULL);
    if (!md || User_define(md) || Post_define(md))
        die("models", md ? cr_metadata_error(md) : NULL);
    cr_conn *conn = cr_engine_connect(engine, &err);
    if (!conn)
        die("connect", err);
    /* The test databases are shared with the other seed examples, whose
     * tables likes, profiles and post_tags refer to users and posts: drop
     * those first if they are there, or PostgreSQL and MariaDB refuse. */
    if (cr_conn_exec(conn, "DROP TABLE IF EXISTS likes", NULL) ||
        cr_conn_exec(conn, "DROP TABLE IF EXISTS profiles", NULL) ||
        cr_conn_exec(conn, "DROP TABLE IF EXISTS post_tags", NULL) ||
        cr_metadata_drop_all(md, conn, true) || cr_metadata_create_all(md, conn, false) ||
        cr_conn_commit(conn))
        die("create_all", cr_conn_error(conn));
    cr_conn_close(conn);

    /* SessionLocal = sessionmaker(bind=engine); session = SessionLocal() */
    SessionLocal = cr_sessionmaker_new(engine, NULL);
    cr_session *session = cr_sessionmaker_session(SessionLocal);
    if (!session)
        die("session", NULL);

    /* ---- CREATE ---- */
    User *john = cr_new(User), *alice = cr_new(User), *mark = cr_new(User);
    john->username = "john", john->email = "john@example.com";
    alice->username = "alice", alice->email = "alice@example.com";
    mark->username = "mark", mark->email = "mark@example.com";
    if (cr_session_add_all(session, CR_OBJS(john, alice, mark)) || cr_session_commit(session))
        die("add_all", cr_session_error(session));

    User *new_user = cr_new(User);
    new_user->username = "islam", new_user->email = "islam@example.com";
    if (cr_session_add(session, new_user) || cr_session_commit(session) ||
        cr_session_refresh(session, new_user))
        die("add", cr_session_error(session));
    printf("Inserted: %lld %s\n", (long long)new_user->id, new_user->username);

    cr_stmt *q = cr_session_query(session, User);
    cr_objects *users = cr_query_all(q);
    if (!users)
        die("query", cr_session_error(session));
    CR_FOR_EACH(User, user, users) {
        char title[80], content[80];
        snprintf(title, sizeof title, "Post by %s", user->username);
        snprintf(content, sizeof content, "A post by %s", user->username);
        Post *post = cr_new(Post);
        /* The buffers are the program's: give the object its own copies. */
        cr_field_set_text(post, title, title);
        cr_field_set_text(post, content, content);
        post->user_id = user->id;
        if (cr_session_add(session, post) || cr_session_commit(session))
            die("add post", cr_session_error(session));
    }
    cr_objects_free(users);
    cr_stmt_free(q);
    printf("Posts added: 4\n");

    /* ---- UPDATE ---- */
    q = cr_session_query(session, User);
    cr_filter(q, cr_eq(q, User_model.c.username, "alice"));
    User *user = cr_query_first(q);
    cr_stmt_free(q);
    if (!user)
        die("query alice", cr_session_error(session));
    user->email = "alice@new.com";
    if (cr_session_commit(session) || cr_session_refresh(session, user))
        die("update", cr_session_error(session));
    print_user("Updated: ", user);

    /* ---- READ, filtered and ordered ---- */
    q = cr_session_query(session, User);
    cr_order_by(q, User_model.c.id);
    users = cr_query_all(q);
    print_users("All users: ", users);
    cr_objects_free(users);
    User *first_user = cr_query_first(q);
    cr_stmt_free(q);
    q = cr_session_query(session, User);
    cr_order_by(q, cr_desc(q, User_model.c.id));
    User *last_user = cr_query_first(q);
    cr_stmt_free(q);
    User *user_by_id = cr_session_get(session, User, 2);
    q = cr_session_query(session, User);
    cr_filter_by(q, "username", "alice");
    User *user_by_username = cr_query_first(q);
    cr_stmt_free(q);
    if (!first_user || !last_user || !user_by_id || !user_by_username)
        die("read", cr_session_error(session));
    printf("First: %s, last: %s, id 2: %s, by username: %s (same object as id 2: %s)\n",
           first_user->username, last_user->username, user_by_id->username,
           user_by_username->username, user_by_id == user_by_username ? "yes" : "no");

    q = cr_session_query(session, User);
    cr_filter(q, cr_or(q, cr_eq(q, User_model.c.username, "john"), cr_gt(q, User_model.c.id, 3)));
    cr_order_by(q, User_model.c.username);
    users = cr_query_all(q);
    print_users("john or id > 3: ", users);
    cr_objects_free(users);
    int64_t n = 0;
    if (cr_query_count(q, &n))
        die("count", cr_session_error(session));
    printf("Count: %lld\n", (long long)n);
    cr_stmt_free(q);

    /* select(Post).where(Post.user_id == 2), 2.0 style */
    q = cr_select_model(Post);
    cr_where(q, cr_eq(q, Post_model.c.user_id, 2));
    cr_objects *posts = cr_session_all(session, q);
    cr_stmt_free(q);
    if (!posts)
        die("select posts", cr_session_error(session));
    CR_FOR_EACH(Post, p, posts)
        printf("Post %lld: %s (%s)\n", (long long)p->id, p->title, p->content);

    /* ---- DELETE ---- */
    CR_FOR_EACH(Post, p, posts)
        cr_session_delete(session, p);
    cr_objects_free(posts);
    if (cr_session_delete(session, user) || cr_session_commit(session))
        die("delete", cr_session_error(session));
    printf("User Deleted. alice is now %s\n", cr_object_state_name(cr_object_state_of(user)));

    /* ---- ROLLBACK after an IntegrityError, then a retry ---- */
    User *dup = cr_new(User);
    dup->username = "john", dup->email = "john2@example.com";
    cr_session_add(session, dup);
    cr_status st = cr_session_commit(session);
    printf("Duplicate username: %s\n", cr_status_name(st));
    st = cr_session_flush(session);
    printf("Before rollback: %s\n", cr_status_name(st));
    cr_session_rollback(session);
    dup->username = "johnny";
    if (cr_session_add(session, dup) || cr_session_commit(session))
        die("retry", cr_session_error(session));
    printf("Retried: %s is %s, with a new id: %s\n", dup->username,
           cr_object_state_name(cr_object_state_of(dup)), dup->id > 4 ? "yes" : "no");

    q = cr_session_query(session, User);
    cr_order_by(q, User_model.c.id);
    users = cr_query_all(q);
    print_users("Users now: ", users);
    cr_objects_free(users);
    cr_stmt_free(q);

    cr_session_free(session);

    /* ---- The refined code's example usage ----
     * create_user("Hemendra", "hemendra@example.com")
     * create_post("My First Post", "This is the content of my first post.", user_id=1)
     * get_all_users()
     * get_all_posts()                                                       */
    create_user("Hemendra", "hemendra@example.com");
    create_post("My First Post", "This is the content of my first post.", 1);
    get_all_users();
    get_all_posts();

    cr_sessionmaker_free(SessionLocal);
    cr_metadata_free(md);
    cr_engine_free(engine);
    return 0;
}
