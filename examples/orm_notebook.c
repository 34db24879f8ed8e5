/* orm_notebook.c — the seed's notebook "users, posts, profiles, likes", ported to Crucible's ORM.
 *
 * The C port of tests/examples/reference/orm_notebook.py: models User, Post
 * and Profile with relationships (one-to-many with back_populates and a
 * delete-orphan cascade, one-to-one, many-to-many through the table likes),
 * then the notebook's cells: CRUD, filtering and ordering, lazy loads of
 * relationships, inner and outer joins, a full outer join written as a
 * UNION. Its stdout is tests/examples/orm_notebook.expected.
 *
 * The database is my_sqlite_db.db in the working directory, or the one
 * DATABASE_URL names (PostgreSQL, MariaDB). CRUCIBLE_ECHO=1 logs every
 * statement to stderr. Any unexpected failure is printed to stderr and the
 * program exits with status 1. */
#include <crucible.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* likes = Table("likes", Base.metadata,
 *     Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
 *     Column("post_id", Integer, ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True)) */
#define LIKES(COLUMN)                                                                   \
    COLUMN(user_id, INTEGER, .primary_key = true, .foreign_key = "users.id",            \
                             .fk_ondelete = "CASCADE")                                  \
    COLUMN(post_id, INTEGER, .primary_key = true, .foreign_key = "posts.id",            \
                             .fk_ondelete = "CASCADE")
CR_DECLARE_TABLE(likes_table, LIKES)

/* class User(Base):
 *     __tablename__ = "users"
 *     id = Column(Integer, primary_key=True)
 *     username = Column(String(50), unique=True, nullable=False)
 *     email = Column(String(100), unique=True, nullable=False)
 *     posts = relationship("Post", back_populates="author",
 *                          cascade="all, delete-orphan", order_by="Post.id")
 *     profile = relationship("Profile", back_populates="user", uselist=False,
 *                            cascade="all, delete-orphan")
 *     liked_posts = relationship("Post", secondary=likes, back_populates="liked_by",
 *                                order_by="Post.id")                              */
#define USER_FIELDS(F)                                                                  \
    F(id,       INTEGER,     .primary_key = true)                                       \
    F(username, STRING(50),  .unique = true, .nullable = CR_NO)                         \
    F(email,    STRING(100), .unique = true, .nullable = CR_NO)
#define USER_RELATIONSHIPS(R)                                                           \
    R(posts,       MANY(Post),   .back_populates = "author",                            \
                                 .cascade = "all, delete-orphan", .order_by = "id")     \
    R(profile,     ONE(Profile), .back_populates = "user",                              \
                                 .cascade = "all, delete-orphan")                       \
    R(liked_posts, MANY(Post),   .secondary = "likes", .back_populates = "liked_by",    \
                                 .order_by = "id")
CR_MODEL(User, "users", USER_FIELDS, USER_RELATIONSHIPS)

/* class Post(Base):
 *     __tablename__ = "posts"
 *     id = Column(Integer, primary_key=True)
 *     title = Column(String(200), nullable=False)
 *     content = Column(Text)
 *     user_id = Column(Integer, ForeignKey("users.id", ondelete="CASCADE"))
 *     author = relationship("User", back_populates="posts")
 *     liked_by = relationship("User", secondary=likes, back_populates="liked_posts",
 *                             order_by="User.id")                                 */
#define POST_FIELDS(F)                                                                  \
    F(id,      INTEGER,     .primary_key = true)                                        \
    F(title,   STRING(200), .nullable = CR_NO)                                          \
    F(content, TEXT)                                                                    \
    F(user_id, INTEGER,     .foreign_key = "users.id", .fk_ondelete = "CASCADE")
#define POST_RELATIONSHIPS(R)                                                           \
    R(author,   ONE(User),  .back_populates = "posts")                                  \
    R(liked_by, MANY(User), .secondary = "likes", .back_populates = "liked_posts",      \
                            .order_by = "id")
CR_MODEL(Post, "posts", POST_FIELDS, POST_RELATIONSHIPS)

/* class Profile(Base):
 *     __tablename__ = "profiles"
 *     id = Column(Integer, primary_key=True)
 *     bio = Column(Text)
 *     user_id = Column(Integer, ForeignKey("users.id", ondelete="CASCADE"), unique=True)
 *     user = relationship("User", back_populates="profile")                      */
#define PROFILE_FIELDS(F)                                                               \
    F(id,      INTEGER, .primary_key = true)                                            \
    F(bio,     TEXT)                                                                    \
    F(user_id, INTEGER, .foreign_key = "users.id", .fk_ondelete = "CASCADE",            \
                        .unique = true)
#define PROFILE_RELATIONSHIPS(R)                                                        \
    R(user, ONE(User), .back_populates = "profile")
CR_MODEL(Profile, "profiles", PROFILE_FIELDS, PROFILE_RELATIONSHIPS)

static cr_session *session;

static void die(const char *what, const cr_error *err)
{
    fprintf(stderr, "orm_notebook: %s: %s: %s\n", what, err ? cr_error_class_name(err) : "Error",
            err ? cr_error_message(err) : "out of memory");
    exit(1);
}

static void check(cr_status st, const char *what)
{
    if (st)
        die(what, cr_session_error(session));
}

/* __repr__ of User and Post: <User(id=2, username='alice', email='alice@new.com')>,
 * <Post(id=5, title='First Post')> */
static void print_user(const User *u)
{
    printf("<User(id=%lld, username='%s', email='%s')>", (long long)u->id, u->username,
           u->email);
}

static void print_post(const Post *p)
{
    printf("<Post(id=%lld, title='%s')>", (long long)p->id, p->title);
}

/* print([...]) of users */
static void print_user_list(cr_objects *users)
{
    printf("[");
    for (size_t i = 0; i < users->count; i++) {
        printf("%s", i ? ", " : "");
        print_user(users->items[i]);
    }
    printf("]\n");
}

/* [post.title for post in user.posts]: the lazy load of User.posts, then its titles */
static void print_post_titles(User *user)
{
    check(cr_load(user, posts), "load user.posts");
    const char *sep = "";
    printf("[");
    CR_FOR_EACH(Post, post, &user->posts) {
        printf("%s'%s'", sep, post->title);
        sep = ", ";
    }
    printf("]\n");
}

/* result = session.query(User)...all(), for the queries whose result is not printed */
static cr_objects *all(cr_stmt *q)
{
    cr_objects *result = cr_query_all(q);
    if (!result)
        die("query", cr_session_error(session));
    cr_stmt_free(q);
    return result;
}

static void all_and_drop(cr_stmt *q)
{
    cr_objects_free(all(q));
}

/* session.execute(stmt): rows of columns */
static cr_result *execute(cr_stmt *stmt)
{
    cr_result *r = cr_session_execute(session, stmt);
    if (!r)
        die("execute", cr_session_error(session));
    return r;
}

static const char *text_at(const cr_row *row, int col)
{
    const char *s = NULL;
    size_t len;
    if (cr_row_is_null_at(row, col))
        return "None";
    if (cr_row_text_at(row, col, &s, &len))
        die("row", cr_row_error(row));
    return s;
}

int main(void)
{
    /* DATABASE_URL = os.environ.get("DATABASE_URL") or "sqlite:///my_sqlite_db.db"
     * engine = create_engine(DATABASE_URL, future=True)
     * SessionLocal = sessionmaker(bind=engine, future=True) */
    const char *url = getenv("DATABASE_URL");
    const char *echo = getenv("CRUCIBLE_ECHO");
    cr_engine_options opts = {.echo = echo && *echo && strcmp(echo, "0") != 0};
    cr_error *err = NULL;
    cr_engine *engine = cr_create_engine(url && *url ? url : "sqlite:///my_sqlite_db.db", &opts,
                                         &err);
    if (!engine)
        die("create_engine", err);
    cr_sessionmaker *SessionLocal = cr_sessionmaker_new(engine, NULL);

    /* Base = declarative_base(), the models and likes in its metadata */
    cr_metadata *md = cr_metadata_new(NULL);
    likes_table likes;
    if (!md || likes_table_define(&likes, md, "likes") || User_define(md) || Post_define(md) ||
        Profile_define(md) || cr_metadata_configure(md))
        die("models", md ? cr_metadata_error(md) : NULL);

    /* ---- In [2] ----
     * Table("post_tags", MetaData()).drop(bind=engine, checkfirst=True)
     * Base.metadata.drop_all(bind=engine)
     * Base.metadata.create_all(bind=engine)
     * session = SessionLocal() */
    cr_conn *conn = cr_engine_connect(engine, &err);
    if (!conn)
        die("connect", err);
    if (cr_conn_exec(conn, "DROP TABLE IF EXISTS post_tags", NULL) ||
        cr_metadata_drop_all(md, conn, true) || cr_metadata_create_all(md, conn, false) ||
        cr_conn_commit(conn))
        die("create_all", cr_conn_error(conn));
    cr_conn_close(conn);
    session = cr_sessionmaker_session(SessionLocal);
    if (!session)
        die("session", NULL);

    /* ---- In [3]: CREATE ----
     * user_john = User(username="john", email="john@example.com") ...
     * session.add_all([user_john, user_alice, user_mark]); session.commit() */
    User *user_john = cr_new(User), *user_alice = cr_new(User), *user_mark = cr_new(User);
    user_john->username = "john", user_john->email = "john@example.com";
    user_alice->username = "alice", user_alice->email = "alice@example.com";
    user_mark->username = "mark", user_mark->email = "mark@example.com";
    check(cr_session_add_all(session, CR_OBJS(user_john, user_alice, user_mark)), "add_all");
    check(cr_session_commit(session), "commit");

    /* new_user = User(username="islam", email="islam@example.com")
     * session.add(new_user); session.commit(); session.refresh(new_user)
     * print("Inserted:", new_user.id, new_user.username) */
    User *new_user = cr_new(User);
    new_user->username = "islam", new_user->email = "islam@example.com";
    check(cr_session_add(session, new_user), "add");
    check(cr_session_commit(session), "commit");
    check(cr_session_refresh(session, new_user), "refresh");
    printf("Inserted: %lld %s\n", (long long)new_user->id, new_user->username);

    /* users = session.query(User).order_by(User.id).all()
     * for user in users:
     *     post = Post(title=f"Post by {user.username}", content=f"A post by {user.username}",
     *                 user_id=user.id)
     *     session.add(post); session.commit() */
    cr_stmt *q = cr_session_query(session, User);
    cr_order_by(q, User_model.c.id);
    cr_objects *users = all(q);
    CR_FOR_EACH(User, user, users) {
        char title[80], content[80];
        snprintf(title, sizeof title, "Post by %s", user->username);
        snprintf(content, sizeof content, "A post by %s", user->username);
        Post *post = cr_new(Post);
        cr_field_set_text(post, title, title);
        cr_field_set_text(post, content, content);
        post->user_id = user->id;
        check(cr_session_add(session, post), "add post");
        check(cr_session_commit(session), "commit post");
    }
    cr_objects_free(users);

    /* ---- In [4]: UPDATE ----
     * user = session.query(User).filter(User.username == "alice").first()
     * user.email = "alice@new.com"; session.commit(); session.refresh(user)
     * print("Updated:", user) */
    q = cr_session_query(session, User);
    cr_filter(q, cr_eq(q, User_model.c.username, "alice"));
    User *user = cr_query_first(q);
    cr_stmt_free(q);
    if (!user)
        die("query alice", cr_session_error(session));
    user->email = "alice@new.com";
    check(cr_session_commit(session), "commit");
    check(cr_session_refresh(session, user), "refresh");
    printf("Updated: ");
    print_user(user);
    printf("\n");

    /* ---- In [5]: DELETE (alice, id 2; the cascade deletes her post) ----
     * session.delete(user); session.commit(); print("User Deleted.") */
    check(cr_session_delete(session, user), "delete");
    check(cr_session_commit(session), "commit delete");
    printf("User Deleted.\n");

    /* ---- In [6]: READ all users with filtering and ordering ---- */
    /* users = session.query(User).all() */
    all_and_drop(cr_session_query(session, User));
    /* first_user = session.query(User).first() */
    q = cr_session_query(session, User);
    User *first_user = cr_query_first(q);
    cr_stmt_free(q);
    /* last_user = session.query(User).order_by(User.id.desc()).first() */
    q = cr_session_query(session, User);
    cr_order_by(q, cr_desc(q, User_model.c.id));
    User *last_user = cr_query_first(q);
    cr_stmt_free(q);
    /* user_by_id = session.get(User, 2)   (alice is gone: None) */
    User *user_by_id = cr_session_get(session, User, 2);
    if (!first_user || !last_user || (!user_by_id && cr_session_error(session)))
        die("read", cr_session_error(session));
    /* user_by_username = session.query(User).filter_by(username='alice').first() */
    q = cr_session_query(session, User);
    cr_filter_by(q, "username", "alice");
    User *user_by_username = cr_query_first(q);
    cr_stmt_free(q);
    if (!user_by_username && cr_session_error(session))
        die("filter_by", cr_session_error(session));

    /* result = session.query(User).filter(User.username == "alice").all() */
    q = cr_session_query(session, User);
    cr_filter(q, cr_eq(q, User_model.c.username, "alice"));
    all_and_drop(q);
    /* result = session.query(User).filter(User.id > 5).all() */
    q = cr_session_query(session, User);
    cr_filter(q, cr_gt(q, User_model.c.id, 5));
    all_and_drop(q);
    /* result = session.query(User).filter(and_(User.id > 5, User.username != "bob")).all() */
    q = cr_session_query(session, User);
    cr_filter(q, cr_and(q, cr_gt(q, User_model.c.id, 5), cr_ne(q, User_model.c.username, "bob")));
    all_and_drop(q);
    /* result = session.query(User).filter(or_(User.username == "alice",
     *                                          User.username == "bob")).all() */
    q = cr_session_query(session, User);
    cr_filter(q, cr_or(q, cr_eq(q, User_model.c.username, "alice"),
                       cr_eq(q, User_model.c.username, "bob")));
    all_and_drop(q);
    /* result = session.query(User).filter(User.username.like("%a%")).all() */
    q = cr_session_query(session, User);
    cr_filter(q, cr_like(q, User_model.c.username, "%a%"));
    all_and_drop(q);
    /* result = session.query(User).filter(User.email.contains("@gmail.com")).all() */
    q = cr_session_query(session, User);
    cr_filter(q, cr_contains(q, User_model.c.email, "@gmail.com"));
    all_and_drop(q);
    /* result = session.query(User).filter(User.username.startswith("a")).all() */
    q = cr_session_query(session, User);
    cr_filter(q, cr_startswith(q, User_model.c.username, "a"));
    all_and_drop(q);
    /* result = session.query(User).filter(User.username.endswith("z")).all() */
    q = cr_session_query(session, User);
    cr_filter(q, cr_endswith(q, User_model.c.username, "z"));
    all_and_drop(q);

    /* result = session.query(User).order_by(User.username).all() */
    q = cr_session_query(session, User);
    cr_order_by(q, User_model.c.username);
    all_and_drop(q);
    /* result = session.query(User).order_by(User.id.desc()).all() */
    q = cr_session_query(session, User);
    cr_order_by(q, cr_desc(q, User_model.c.id));
    all_and_drop(q);
    /* session.query(User).limit(5).all(); session.query(User).offset(10).all() */
    q = cr_session_query(session, User);
    cr_limit(q, 5);
    all_and_drop(q);
    q = cr_session_query(session, User);
    cr_offset(q, 10);
    all_and_drop(q);

    /* result = session.query(User).count(); print(result) */
    q = cr_session_query(session, User);
    int64_t count = 0;
    check(cr_query_count(q, &count), "count");
    cr_stmt_free(q);
    printf("%lld\n", (long long)count);

    /* result = session.query(User.username, User.email).all() */
    q = cr_select(User_model.c.username, User_model.c.email);
    cr_result_free(execute(q));
    cr_stmt_free(q);
    /* result = session.query(User.username).distinct().all() */
    q = cr_select(User_model.c.username);
    cr_distinct(q);
    cr_result_free(execute(q));
    cr_stmt_free(q);

    /* result = session.query(User).filter(User.username == 'islam').filter(User.id > 3).all()
     * print(result) */
    q = cr_session_query(session, User);
    cr_filter(q, cr_eq(q, User_model.c.username, "islam"));
    cr_filter(q, cr_gt(q, User_model.c.id, 3));
    cr_objects *result = all(q);
    print_user_list(result);
    cr_objects_free(result);

    /* result = session.query(User).filter(User.id.in_([1, 2, 3])).all()
     * result = session.query(User).filter(~User.id.in_([1, 2, 3])).all() */
    q = cr_session_query(session, User);
    cr_filter(q, cr_in(q, User_model.c.id, CR_VALUES(cr_val_int(1), cr_val_int(2), cr_val_int(3))));
    all_and_drop(q);
    q = cr_session_query(session, User);
    cr_filter(q, cr_not(q, cr_in(q, User_model.c.id,
                                 CR_VALUES(cr_val_int(1), cr_val_int(2), cr_val_int(3)))));
    all_and_drop(q);

    /* result = session.query(User).filter(User.email == None).all()
     * result = session.query(User).filter(User.email != None).all() */
    q = cr_session_query(session, User);
    cr_filter(q, cr_is_null(q, User_model.c.email));
    all_and_drop(q);
    q = cr_session_query(session, User);
    cr_filter(q, cr_is_not_null(q, User_model.c.email));
    all_and_drop(q);

    /* ---- In [7]: One-to-Many Relationship Example ----
     * new_user = User(username='ahmed', email='ahmed@gmail.com')
     * session.add(new_user); session.commit(); session.refresh(new_user) */
    new_user = cr_new(User);
    new_user->username = "ahmed", new_user->email = "ahmed@gmail.com";
    check(cr_session_add(session, new_user), "add ahmed");
    check(cr_session_commit(session), "commit ahmed");
    check(cr_session_refresh(session, new_user), "refresh ahmed");

    /* post1 = Post(title='First Post', content='This is the first post',
     *              user_id=new_user.id, author=new_user)
     * post2 = Post(title='Second Post', content='This is the second post',
     *              user_id=new_user.id, author=new_user)
     * session.add_all([post1, post2]); session.commit() */
    Post *post1 = cr_new(Post), *post2 = cr_new(Post);
    post1->title = "First Post", post1->content = "This is the first post";
    post1->user_id = new_user->id;
    check(cr_set_related(post1, author, new_user), "post1.author");
    post2->title = "Second Post", post2->content = "This is the second post";
    post2->user_id = new_user->id;
    check(cr_set_related(post2, author, new_user), "post2.author");
    check(cr_session_add_all(session, CR_OBJS(post1, post2)), "add posts");
    check(cr_session_commit(session), "commit posts");

    /* user = session.query(User).order_by(User.id.desc()).first()
     * print("User:", user)
     * print("Posts:", user.posts)   # the lazy load of User.posts */
    q = cr_session_query(session, User);
    cr_order_by(q, cr_desc(q, User_model.c.id));
    user = cr_query_first(q);
    cr_stmt_free(q);
    if (!user)
        die("query last user", cr_session_error(session));
    printf("User: ");
    print_user(user);
    printf("\n");
    check(cr_load(user, posts), "load user.posts");
    const char *sep = "";
    printf("Posts: [");
    CR_FOR_EACH(Post, post, &user->posts) {
        printf("%s", sep);
        print_post(post);
        sep = ", ";
    }
    printf("]\n");

    /* ---- In [8]: One-to-One Relationship Example ----
     * users = session.query(User).order_by(User.id).all()
     * for user in users:
     *     profile = Profile(bio=f"Hello, I'm {user.username}!", user_id=user.id, user=user)
     *     session.add(profile); session.commit()
     * print("profiles added") */
    q = cr_session_query(session, User);
    cr_order_by(q, User_model.c.id);
    users = all(q);
    CR_FOR_EACH(User, u, users) {
        char bio[80];
        snprintf(bio, sizeof bio, "Hello, I'm %s!", u->username);
        Profile *profile = cr_new(Profile);
        cr_field_set_text(profile, bio, bio);
        profile->user_id = u->id;
        check(cr_set_related(profile, user, u), "profile.user");
        check(cr_session_add(session, profile), "add profile");
        check(cr_session_commit(session), "commit profile");
    }
    cr_objects_free(users);
    printf("profiles added\n");

    /* ---- In [9]: Many-to-Many Relationship Example ----
     * for user in session.query(User).order_by(User.id).all():
     *     for post in session.query(Post).order_by(Post.id).all():
     *         if post.author != user:  # A user cannot like their own post
     *             user.liked_posts.append(post)
     *     session.commit() */
    q = cr_session_query(session, User);
    cr_order_by(q, User_model.c.id);
    users = all(q);
    CR_FOR_EACH(User, u, users) {
        cr_stmt *pq = cr_session_query(session, Post);
        cr_order_by(pq, Post_model.c.id);
        cr_objects *posts = all(pq);
        CR_FOR_EACH(Post, post, posts) {
            check(cr_load(post, author), "load post.author");
            if (post->author != u)
                check(cr_append(u, liked_posts, post), "user.liked_posts.append");
        }
        cr_objects_free(posts);
        check(cr_session_commit(session), "commit likes");
    }
    cr_objects_free(users);

    /* ---- In [10]: INNER JOIN ----
     * results = session.query(User).join(Post, User.id == Post.user_id).order_by(User.id).all()
     * for user in results:
     *     print(f"User: {user.username}, Posts: {[post.title for post in user.posts]}") */
    q = cr_session_query(session, User);
    cr_join(q, Post_model.table, cr_eq(q, User_model.c.id, Post_model.c.user_id));
    cr_order_by(q, User_model.c.id);
    cr_objects *results = all(q);
    CR_FOR_EACH(User, u, results) {
        printf("User: %s, Posts: ", u->username);
        print_post_titles(u);
    }
    cr_objects_free(results);

    /* results = session.query(User, Post).join(Post, User.id == Post.user_id)
     *                  .order_by(User.id, Post.id).all()
     * for user, post in results:
     *     print(f"User: {user.username}, Post: {post.title}") */
    q = cr_select(User_model.table, Post_model.table);
    cr_join(q, Post_model.table, cr_eq(q, User_model.c.id, Post_model.c.user_id));
    cr_order_by(q, User_model.c.id, Post_model.c.id);
    cr_result *rows = execute(q);
    for (const cr_row *row; (row = cr_result_fetchone(rows));) {
        User *u = cr_row_entity(session, row, User);   /* row.User, row.Post */
        Post *p = cr_row_entity(session, row, Post);
        if (!u || !p)
            die("row objects", cr_session_error(session));
        printf("User: %s, Post: %s\n", u->username, p->title);
    }
    cr_result_free(rows);
    cr_stmt_free(q);

    /* results = session.query(User.email, Post.title).join(Post, User.id == Post.user_id)
     *                  .order_by(User.id, Post.id).all()
     * for email, title in results:
     *     print(f"Email: {email}, Post Title: {title}") */
    q = cr_select(User_model.c.email, Post_model.c.title);
    cr_join(q, Post_model.table, cr_eq(q, User_model.c.id, Post_model.c.user_id));
    cr_order_by(q, User_model.c.id, Post_model.c.id);
    rows = execute(q);
    for (const cr_row *row; (row = cr_result_fetchone(rows));)
        printf("Email: %s, Post Title: %s\n", text_at(row, 0), text_at(row, 1));
    cr_result_free(rows);
    cr_stmt_free(q);

    /* stmt = select(User.username, Post.title).select_from(User)
     *            .join(Post, User.id == Post.user_id).order_by(User.id, Post.id)
     * results = session.execute(stmt).all()
     * for username, title in results:
     *     print(f"Username: {username}, Post Title: {title}") */
    cr_stmt *stmt = cr_select(User_model.c.username, Post_model.c.title);
    cr_select_from(stmt, User_model.table);
    cr_join(stmt, Post_model.table, cr_eq(stmt, User_model.c.id, Post_model.c.user_id));
    cr_order_by(stmt, User_model.c.id, Post_model.c.id);
    rows = execute(stmt);
    for (const cr_row *row; (row = cr_result_fetchone(rows));)
        printf("Username: %s, Post Title: %s\n", text_at(row, 0), text_at(row, 1));
    cr_result_free(rows);
    cr_stmt_free(stmt);

    /* stmt = select(User).join(Post, User.id == Post.user_id).where(Post.title.like('%First%'))
     * results = session.execute(stmt).all()
     * print(f"results: {results}")    # rows of one User each: [(<User(...)>,)] */
    stmt = cr_select_model(User);
    cr_join(stmt, Post_model.table, cr_eq(stmt, User_model.c.id, Post_model.c.user_id));
    cr_where(stmt, cr_like(stmt, Post_model.c.title, "%First%"));
    rows = execute(stmt);
    sep = "";
    printf("results: [");
    for (const cr_row *row; (row = cr_result_fetchone(rows));) {
        User *u = cr_row_object(session, row, User, 0);
        if (!u)
            die("row object", cr_session_error(session));
        printf("%s(", sep);
        print_user(u);
        printf(",)");
        sep = ", ";
    }
    printf("]\n");
    cr_result_free(rows);
    cr_stmt_free(stmt);

    /* ---- In [11]: Left Join ----
     * results = session.query(User).outerjoin(Post, User.id == Post.user_id)
     *                  .order_by(User.id).all()
     * for user in results:
     *     print(f"User: {user.username}, Posts: {[post.title for post in user.posts]}") */
    q = cr_session_query(session, User);
    cr_outerjoin(q, Post_model.table, cr_eq(q, User_model.c.id, Post_model.c.user_id));
    cr_order_by(q, User_model.c.id);
    results = all(q);
    CR_FOR_EACH(User, u, results) {
        printf("User: %s, Posts: ", u->username);
        print_post_titles(u);
    }
    cr_objects_free(results);

    /* stmt = select(User).outerjoin(Post, User.id == Post.user_id).order_by(User.id)
     * results = session.execute(stmt).scalars().all()   # not made unique: ahmed twice
     * for user in results:
     *     print(user.username, [post.title for post in user.posts]) */
    stmt = cr_select_model(User);
    cr_outerjoin(stmt, Post_model.table, cr_eq(stmt, User_model.c.id, Post_model.c.user_id));
    cr_order_by(stmt, User_model.c.id);
    results = cr_session_all(session, stmt);
    if (!results)
        die("select users", cr_session_error(session));
    CR_FOR_EACH(User, u, results) {
        printf("%s ", u->username);
        print_post_titles(u);
    }
    cr_objects_free(results);
    cr_stmt_free(stmt);

    /* ---- In [12]: Full Outer Join (simulated with UNION) ----
     * left = select(User.username, Post.title).select_from(User)
     *            .outerjoin(Post, User.id == Post.user_id)
     * right = select(User.username, Post.title).select_from(Post)
     *            .outerjoin(User, User.id == Post.user_id)
     * full_outer_join = left.union(right)
     * full_outer_join = full_outer_join.order_by(full_outer_join.selected_columns.username,
     *                                            full_outer_join.selected_columns.title)
     * results = session.execute(full_outer_join).all()
     * for username, title in results:
     *     print(f"Username: {username}, Post Title: {title}") */
    cr_stmt *left = cr_select(User_model.c.username, Post_model.c.title);
    cr_select_from(left, User_model.table);
    cr_outerjoin(left, Post_model.table, cr_eq(left, User_model.c.id, Post_model.c.user_id));
    cr_stmt *right = cr_select(User_model.c.username, Post_model.c.title);
    cr_select_from(right, Post_model.table);
    cr_outerjoin(right, User_model.table, cr_eq(right, User_model.c.id, Post_model.c.user_id));
    cr_stmt *full_outer_join = cr_union(left, right);
    /* The ORDER BY of a UNION names its result columns. */
    cr_order_by(full_outer_join, User_model.c.username, Post_model.c.title);
    rows = execute(full_outer_join);
    for (const cr_row *row; (row = cr_result_fetchone(rows));)
        printf("Username: %s, Post Title: %s\n", text_at(row, 0), text_at(row, 1));
    cr_result_free(rows);
    cr_stmt_free(full_outer_join);

    /* ---- In [13] ----
     * session.close() */
    cr_session_close(session);
    cr_session_free(session);
    cr_sessionmaker_free(SessionLocal);
    cr_metadata_free(md);
    cr_engine_free(engine);
    return 0;
}
