/* crucible/orm.h — the ORM: models over plain C structs, Session, identity map, unit of work, queries.
 *
 * Included by crucible.h; not meant to be included on its own.
 *
 * A model is declared once, as an X-macro of fields — name, SQL type, then
 * options of cr_column_def — and gives a plain C struct, a Table in a
 * cr_metadata, the column handles of the expression language and the mapper:
 *
 *     #define USER_FIELDS(F)                                              \
 *         F(id,        INTEGER,     .primary_key = true)                  \
 *         F(username,  STRING(50),  .nullable = CR_NO, .unique = true)    \
 *         F(email,     STRING(100))                                       \
 *         F(is_active, BOOLEAN,     .default_value = cr_val_bool(true))
 *     CR_MODEL(User, "users", USER_FIELDS)
 *
 * stands for the SQLAlchemy class
 *
 *     class User(Base):
 *         __tablename__ = "users"
 *         id = Column(Integer, primary_key=True)
 *         username = Column(String(50), nullable=False, unique=True)
 *         email = Column(String(100))
 *         is_active = Column(Boolean, default=True)
 *
 * and declares
 *
 *     typedef struct User { cr_object _cr; int64_t id; char *username;
 *                           char *email; bool is_active; } User;
 *     User_model        .mapper, .table and .c.<field> column handles
 *     User_define(md)   creates the table in md and the mapper
 *
 * A misspelt field or column (u->usrname, User_model.c.usrname) does not
 * compile. In a program of several files, put CR_DECLARE_MODEL(User,
 * USER_FIELDS) in a header and CR_DEFINE_MODEL(User, "users", USER_FIELDS)
 * in one .c file; CR_MODEL is both.
 *
 * A struct of the program's own. CR_MODEL_OF(User, "users", USER_FIELDS)
 * (and CR_DECLARE_MODEL_OF in a header, with CR_DEFINE_MODEL in one .c)
 * maps a struct User the program declares itself, as SQLAlchemy's
 * map_imperatively maps an existing class: it begins with cr_object _cr and
 * holds each field of the list, and its relationships', with the C type the
 * field's type gives (below); its other members are the program's, in any
 * order among them (counters, buffers, pointers to its own data). The ORM
 * never reads nor writes those: a change to them is nothing to flush, a
 * refresh or expiry leaves them as they are, and an object the session
 * loads has them zero — a CR_LOAD listener can fill them, as @reconstructor
 * does. A member of another type than its field's (an int for an INTEGER,
 * char name[20] for a STRING) fails to compile, naming the member and the
 * type it needs. What such a member points to is the program's to free
 * before the object is.
 *
 *     struct User {
 *         cr_object _cr;
 *         int64_t id;
 *         char *username;
 *         int logins;                 not mapped
 *     };
 *     #define USER_FIELDS(F) F(id, INTEGER, .primary_key = true) \
 *                            F(username, STRING(50))
 *     CR_MODEL_OF(User, "users", USER_FIELDS)
 *
 * Field types. The SQL type decides the C type of the field:
 *     INTEGER, SMALLINTEGER, BIGINTEGER         int64_t
 *     FLOAT, DOUBLE                             double
 *     BOOLEAN                                   bool
 *     STRING(n), TEXT, NUMERIC(p, s), JSON,
 *     UUID, ENUM(name, values)                  char *   (NUMERIC as exact decimal text)
 *     DATE, TIME, DATETIME, DATETIME_TZ         cr_datetime
 *     LARGEBINARY                               cr_bytes (data and len)
 *
 * NULL. A char * or cr_bytes field is NULL when its pointer is NULL; an
 * integer field when it holds CR_NULL_INT64 (INT64_MIN), a double when it
 * holds a NaN (CR_NULL_DOUBLE), a datetime when its year is CR_NULL_YEAR.
 * A bool is NULL when its bit in the object's null mask is set and it holds
 * false: assigning true makes it a value; to store false in a NULL bool,
 * clear the bit (cr_field_clear_null). cr_field_set_null(u, age) makes any
 * field NULL and cr_field_is_null(u, age) asks. Loading a NULL sets the
 * field so. A new object starts with NULL in its nullable fields without a
 * constant default (bools excepted: they start false) and in those whose
 * value the database or a callback computes (autoincrement keys, server
 * defaults, default_fn): a field the program never assigns is inserted as
 * its column's default or NULL.
 *
 * Strings. A string or blob field points either at text the object owns —
 * what the library loaded, or gave it with cr_field_set_text — or at text the
 * program owns (a literal, or a buffer of its own that stays valid while the
 * field points at it). The library frees only what it allocated; assigning a
 * literal (u->email = "a@b.c") is always safe and never leaks. Text the
 * library loaded is read-only: to change a field, point it at new text.
 * Once a flush has written the object, its fields hold the library's copy
 * of the text written, as if loaded: a program's buffer may then be reused
 * (snprintf(buf, ...); post->title = buf; in a loop that commits each post),
 * and changing it in place changes no object. Never free a field's text.
 *
 * Objects and the session. cr_new(User) makes a zeroed object (constant
 * client defaults filled in), owned by the program until it is added to a
 * session (cr_object_free frees one never added). Objects added to or loaded
 * by a session belong to it: they stay readable after cr_session_close (then
 * detached, as after cr_session_expunge_all) and are freed by
 * cr_session_free — or handed back to the program by cr_session_expunge. States are SQLAlchemy's: transient, pending,
 * persistent, deleted, detached.
 *
 * expire_on_commit. A field read in C cannot load anything, so expiring an
 * object (at commit, by default, at rollback, or by cr_session_expire) keeps
 * its fields as they were last loaded or flushed (a change not flushed is
 * discarded, as SQLAlchemy discards it) and marks it expired: the next time the session
 * hands it out (cr_session_get, a query), loads one of its relationships
 * (cr_load) or cr_session_refresh is called, its fields are loaded again
 * from the database. A field set by hand after the expiry keeps its value
 * through that load (SQLAlchemy loads only the attributes not set since)
 * and is written by the next flush; cr_session_refresh discards it. A field
 * set to the value it already held is no change C can see: if another
 * writer may have changed the row since, cr_session_refresh before setting
 * it. A rollback first puts back, in fields and snapshot, the values its
 * rolled-back flushes replaced (the row as the transaction, or the
 * savepoint, found it), so the fields read what the database holds again.
 *
 * The unit of work. cr_session_flush (and commit, and autoflush before a
 * query) compares each persistent object's fields with the values last
 * loaded or flushed — no setters, no flags to keep — and computes an ordered
 * plan: INSERTs of referred-to tables before referring ones, in batches of
 * many rows per statement with generated keys and server defaults fetched
 * back through RETURNING; UPDATEs of only the changed columns; DELETEs in the
 * reverse order. The plan is data (cr_session_plan) before it runs, and every
 * statement appears in the engine's echo log. A flush that fails rolls back
 * the transaction, restores every object to its state before the flush, and
 * the session refuses further work with CR_ERR_PENDING_ROLLBACK until
 * cr_session_rollback.
 *
 * Errors are kept on the session (cr_session_error) and name the object
 * (mapper and primary key). Threads: a session and its objects belong to one
 * thread at a time; mappers are built once, then shared read-only.
 */
#ifndef CRUCIBLE_ORM_H
#define CRUCIBLE_ORM_H

typedef struct cr_mapper cr_mapper;
typedef struct cr_session cr_session;
typedef struct cr_sessionmaker cr_sessionmaker;
struct cr_instance;

/* The header every model struct starts with. instance is the library's
 * bookkeeping and seal vouches for it (a struct from malloc or the stack,
 * or a copy of an object, fails the seal: every call taking an object then
 * reports CR_ERR_UNMAPPED_INSTANCE without following its junk); nulls is
 * the null mask of the scalar fields (bit i: field i, in declaration order;
 * a model has at most 64 fields). */
typedef struct cr_object {
    struct cr_instance *instance;
    uint64_t nulls;
    uintptr_t seal;
} cr_object;

/* What a scalar field holds when it is NULL (a bool: the mask bit, and false). */
#define CR_NULL_INT64 INT64_MIN
#define CR_NULL_DOUBLE (__builtin_nan(""))
#define CR_NULL_YEAR (-2147483647 - 1)

/* A LARGEBINARY field: bytes and their length (data NULL: NULL). */
typedef struct cr_bytes {
    void *data;
    size_t len;
} cr_bytes;

/* How a field is stored in the struct. */
typedef enum cr_field_kind {
    CR_FIELD_INT64, CR_FIELD_DOUBLE, CR_FIELD_BOOL, CR_FIELD_TEXT, CR_FIELD_BLOB,
    CR_FIELD_DATETIME
} cr_field_kind;

/* One field of a model: its place in the struct and its kind. */
typedef struct cr_field_def {
    size_t offset;
    cr_field_kind kind;
} cr_field_def;

/* Objects as the ORM hands them out: count pointers to model structs. The
 * list is the caller's (cr_objects_free); the objects are the session's. */
typedef struct cr_objects {
    size_t count;
    void **items;
} cr_objects;
CR_API void cr_objects_free(cr_objects *list);
/* for user in users: CR_FOR_EACH(User, user, users) { ... user->name ... }
 * Works on a cr_objects list and on a relationship's cr_collection (empty or
 * not loaded included; CR_FOR_EACH(Post, post, &user->posts)); break and
 * continue work as in a for loop. The list argument is evaluated once, and a
 * NULL list walks nothing — but a list a call returns
 * (CR_FOR_EACH(User, u, cr_query_all(q))) is then never freed: keep it in a
 * variable and cr_objects_free it after the loop.
 * It steps by index and reads count and items afresh at each step, as a
 * Python for loop over a list does: a collection changed inside the loop
 * (cr_append, cr_remove) is never read from freed memory; an element
 * appended is visited, and removing the current one skips the next. To
 * change a collection while visiting each of its members once, iterate a
 * copy. */
#define CR_FOR_EACH(T, var, list)                                                     \
    for (size_t var##_at_ = 0, var##_once_ = 1; var##_once_; var##_once_ = 0)        \
        for (const void *var##_list_ = (list); var##_once_; var##_once_ = 0)          \
            for (T *var; var##_list_ && var##_at_ < CR__SEQ(list, var##_list_)->count && \
                         ((var = (T *)CR__SEQ(list, var##_list_)->items[var##_at_]), 1);  \
                 var##_at_++)
/* The list CR_FOR_EACH holds as p, seen as the type of list (which is not
 * evaluated again: _Generic only looks at its type). */
#define CR__SEQ(list, p)                                                             \
    _Generic((list), cr_objects *: (const cr_objects *)(p),                          \
             const cr_objects *: (const cr_objects *)(p),                            \
             cr_collection *: (const cr_collection *)(p),                            \
             const cr_collection *: (const cr_collection *)(p))

/* ------------------------------------------------------------------------
 * Mappers and objects
 * ------------------------------------------------------------------------ */

/* Create the table name in md from the column definitions and build the
 * mapper of a struct of struct_size bytes whose fields fields[i] hold column
 * i. Stores the column handles through handles[i], the table in *table and
 * the mapper in *mapper (owned by md: freed with it). What CR_DEFINE_MODEL
 * expands to. cr_metadata_free sets those handles (and the relationships'
 * of cr_model_relationships) back to NULL, so they must outlive md, as a
 * model's globals (User_model) do: cr_new(User) is NULL after. */
CR_API cr_status cr_model_define(cr_metadata *md, const char *model_name, const char *table_name,
                                 size_t struct_size, const cr_column_def *defs,
                                 const cr_field_def *fields, size_t n,
                                 cr_column **const *handles, cr_table **table,
                                 cr_mapper **mapper);
/* version_id_col: col (an integer column of the mapper's table) counts the
 * row's versions. INSERT sets it to 1, every UPDATE increments it and both
 * UPDATE and DELETE check it: a row changed or deleted by another writer
 * meanwhile is CR_ERR_STALE_DATA. */
CR_API cr_status cr_mapper_version_id(cr_mapper *m, cr_column *col);
/* Mapper events: SQLAlchemy's before_insert, after_insert, before_update,
 * after_update, before_delete and after_delete. A listener is called with
 * the session, the flush's connection (in the flush's transaction: the
 * listener may run statements on it, an audit row say) and the object, for
 * every object of the mapper a flush inserts, updates or deletes:
 * - CR_BEFORE_*: before the flush sends anything, once it knows what it
 *   writes (cascades followed; a new object taking over a deleted one's row
 *   is an update), in the flush's order (referred-to tables first, deletes
 *   last). What the listener sets in the object's fields is written by
 *   this flush (updated_at, a slug), and a listener may refuse the object.
 *   An update listener is called for an object with something to write: a
 *   changed field (C sees no change in a field set to the value it held) or
 *   a foreign key a relationship sets; SQLAlchemy also calls it for an
 *   object whose only change is a collection. A foreign key the flush takes
 *   from a new related object's generated key is not set yet (SQLAlchemy,
 *   which runs the events table by table, has set it): it is in CR_AFTER_*.
 * - CR_AFTER_*: once every statement of the flush ran, in the same order:
 *   generated keys and server defaults are in the object. A field changed
 *   here is written by the next flush (a commit's flush is the last, and
 *   expire_on_commit then discards it).
 * A listener returning anything but CR_OK fails the flush, which rolls back
 * as after a failed statement; the session's error names the event and the
 * object and has the listener's status as its class (FlushError for a value
 * that is no cr_status), or is the error of a statement the listener ran on
 * conn that failed. While it runs, a listener may change its object's
 * fields and run statements on conn; calls on the session and
 * relationship calls (cr_load, cr_append, ...) on its objects are refused
 * (CR_ERR_INVALID_REQUEST), as SQLAlchemy allows mapper events no session
 * operations, and cr_session_free must not be called. Listeners of an
 * event run in the order registered.
 * Register them while setting up, before sessions flush objects of the
 * mapper (registering is not safe against flushes in other threads).
 * cr_session_plan and the bulk calls (cr_query_update, cr_query_delete, ...)
 * call none, as SQLAlchemy's bulk operations.
 * Two instance events (SQLAlchemy's InstanceEvents) tell of objects read
 * from rows rather than written, with the connection that read them (for
 * cr_row_entity, the session's: NULL when it has none open):
 * - CR_LOAD: an object the session makes from a row (a query, cr_session_get,
 *   a lazy or eager load, cr_row_entity), once, as its fields are loaded;
 *   its relationships are not yet (SQLAlchemy's load event, what
 *   @reconstructor registers). Not for an object the identity map already
 *   holds.
 * - CR_REFRESH: an object of the session whose fields a row loaded again:
 *   an expired object reloaded (by a query, cr_session_get, a lazy load or
 *   cr_session_refresh) or one a populate_existing query met.
 * What such a listener sets in a field the row loaded counts as loaded, as
 * SQLAlchemy commits it with the row: the next flush does not write it (a
 * field set by hand since the expiry stays a change). The rules above hold:
 * session and relationship calls are refused inside, and an error fails the
 * query, get or load (the session's error names the event and the object);
 * objects it loaded before stay in the session. A statement the listener
 * runs on conn fails while a streamed query (cr_session_stream) reads. */
typedef enum cr_mapper_event {
    CR_BEFORE_INSERT, CR_AFTER_INSERT, CR_BEFORE_UPDATE, CR_AFTER_UPDATE,
    CR_BEFORE_DELETE, CR_AFTER_DELETE, CR_LOAD, CR_REFRESH
} cr_mapper_event;
typedef cr_status (*cr_mapper_listener)(cr_session *s, cr_conn *conn, void *obj,
                                        void *userdata);
/* event.listen(User, "before_update", fn): NULL m or fn, or an event out of
 * range, is CR_ERR_ARGUMENT. */
CR_API cr_status cr_mapper_listen(cr_mapper *m, cr_mapper_event event, cr_mapper_listener fn,
                                  void *userdata);
/* cr_listen(User, CR_BEFORE_UPDATE, touch, NULL) */
#define cr_listen(T, event, fn, userdata) \
    cr_mapper_listen(T##_model.mapper, (event), (fn), (userdata))
/* The model's name ("User") and its table. */
CR_API const char *cr_mapper_name(const cr_mapper *m);
CR_API cr_table *cr_mapper_table(const cr_mapper *m);
/* The mapper of a table made by a model, or NULL. */
CR_API cr_mapper *cr_table_mapper(const cr_table *t);

/* A new object of the mapper's model, zeroed, constant client defaults
 * filled in, nullable fields NULL; owned by the program. NULL when out of
 * memory or when m is NULL (the model was not defined). */
CR_API void *cr_object_new(const cr_mapper *m);
#define cr_new(T) ((T *)cr_object_new(T##_model.mapper))
/* Free an object in no session: one the program owns (transient, or given
 * back by cr_session_expunge), or one a session keeps detached (after
 * cr_session_close, cr_session_expunge_all or a rollback), which that
 * session then no longer frees. An object in a session (pending,
 * persistent, deleted) is left alone (CR_ERR_INVALID_REQUEST): the session
 * frees it. NULL is a no-op. */
CR_API cr_status cr_object_free(void *obj);
/* The mapper of an object made by cr_new or loaded, else NULL. A call
 * taking an object reads its cr_object header and nothing more until that
 * proves it an object: a model struct from malloc (its bytes as malloc left
 * them) or the stack is refused, never followed. */
CR_API cr_mapper *cr_object_mapper(const void *obj);

typedef enum cr_object_state {
    CR_STATE_INVALID = 0,   /* not an object of a mapper (not made by cr_new) */
    CR_STATE_TRANSIENT,     /* in no session, never flushed                  */
    CR_STATE_PENDING,       /* added, not yet flushed                        */
    CR_STATE_PERSISTENT,    /* in a session, with a row in the database      */
    CR_STATE_DELETED,       /* its DELETE was flushed, not yet committed     */
    CR_STATE_DETACHED       /* has (had) a row, in no session                */
} cr_object_state;
/* The state of an object (inspect(obj).transient, .pending ...). */
CR_API cr_object_state cr_object_state_of(const void *obj);
/* "transient", "pending", "persistent", "deleted", "detached", "invalid". */
CR_API const char *cr_object_state_name(cr_object_state st);
/* Whether the object is expired (reloaded when next handed out). */
CR_API bool cr_object_expired(const void *obj);
/* "User(id=5)": the mapper and primary key, as errors name objects, into buf
 * (as snprintf). */
CR_API int cr_object_describe(const void *obj, char *buf, size_t size);

/* Field helpers, by field name: cr_field_set_null(u, age). */
CR_API cr_status cr_object_set_null(void *obj, size_t offset, bool null);
CR_API bool cr_object_is_null(const void *obj, size_t offset);
/* Give a string field a copy of s, owned by the object (NULL: NULL). */
CR_API cr_status cr_object_set_text(void *obj, size_t offset, const char *s);
/* Give a blob field a copy of len bytes, owned by the object. */
CR_API cr_status cr_object_set_blob(void *obj, size_t offset, const void *data, size_t len);
#define CR__FIELD_OFFSET(obj, field) ((size_t)((const char *)&(obj)->field - (const char *)(obj)))
#define cr_field_set_null(obj, field) cr_object_set_null((obj), CR__FIELD_OFFSET(obj, field), true)
#define cr_field_clear_null(obj, field) cr_object_set_null((obj), CR__FIELD_OFFSET(obj, field), false)
#define cr_field_is_null(obj, field) cr_object_is_null((obj), CR__FIELD_OFFSET(obj, field))
#define cr_field_set_text(obj, field, s) cr_object_set_text((obj), CR__FIELD_OFFSET(obj, field), (s))
#define cr_field_set_blob(obj, field, p, n) \
    cr_object_set_blob((obj), CR__FIELD_OFFSET(obj, field), (p), (n))

/* ------------------------------------------------------------------------
 * Sessions
 * ------------------------------------------------------------------------ */

/* Session options (sessionmaker(...)); zero fields take SQLAlchemy's
 * defaults. */
typedef struct cr_session_options {
    cr_tristate autoflush;          /* flush before each query (default yes) */
    cr_tristate expire_on_commit;   /* expire every object at commit (yes)   */
    int lazy_warn_threshold;        /* N+1 report after this many lazy loads
                                     * of one relationship: 0 is 10 under
                                     * echo and off otherwise; -1 off        */
    /* Read from the engine's replicas (crucible/replica.h): until the
     * session writes in a transaction, its queries, gets, refreshes and
     * lazy loads run on a read-only connection (cr_engine_connect_readonly);
     * its first write (a flush, a bulk update, begin_nested,
     * cr_session_connection) moves the transaction to the primary, where
     * it stays until commit or rollback. After its own commit, the session's
     * next reads wait for a replica that has replayed that commit (a
     * read-your-writes token), or go to the primary. Ignored by a session
     * bound to a connection. Off by default. */
    bool read_from_replicas;
} cr_session_options;

/* Session events: SQLAlchemy's session events, on one session
 * (cr_session_listen) or on every session a sessionmaker makes after the call
 * (cr_sessionmaker_listen). A listener is given the session and the
 * connection of its transaction (NULL where the event names none).
 * - CR_AFTER_BEGIN: the session has taken a connection for a transaction
 *   (its first query or write; with read_from_replicas, the replica's, then
 *   the primary's at the first write). conn is that connection: run what
 *   every transaction needs on it (SET LOCAL ..., SET search_path ...). A
 *   savepoint of begin_nested calls none. The session's own calls are
 *   refused inside. An error fails the call that began, and the connection
 *   is given back.
 * - CR_BEFORE_FLUSH: at the start of a flush that has something to write
 *   (cr_session_flush, a commit's, an autoflush), before it plans: the
 *   listener may add, delete and change objects, and the flush writes them
 *   as they are then (an updated_at on every changed object, an audit
 *   object). Inside it, queries run without autoflush, and a flush,
 *   commit, rollback or close is refused (InvalidRequestError). conn is
 *   NULL until the session has begun. A listener returning an error stops
 *   the flush before anything is sent: the call returns the error (named on
 *   the session) and the transaction goes on, as when SQLAlchemy's listener
 *   raises.
 * - CR_AFTER_FLUSH: once a flush has sent everything, on its connection,
 *   before the listeners of CR_AFTER_FLUSH_POSTEXEC. Inside it,
 *   cr_session_objects gives what the flush wrote (NEW: inserted, DIRTY:
 *   updated, DELETED: deleted), generated keys filled in: as SQLAlchemy's
 *   session.new / .dirty / .deleted still list them there. Statements may
 *   run on conn (an audit row per object); queries run without autoflush;
 *   objects added or changed are written by the next flush (a commit
 *   flushes until nothing is left, at most 100 times). An error fails the
 *   flush: the transaction is rolled back, as for a failed statement.
 * - CR_AFTER_FLUSH_POSTEXEC: the same, but cr_session_objects gives the
 *   session as it is after the flush.
 * - CR_BEFORE_COMMIT: at the start of cr_session_commit and of
 *   cr_session_commit_nested, before their flush: the session may be used
 *   (queries, changes, flushes), and what the listener changes is
 *   committed. A commit, rollback or close inside it is refused. An error
 *   stops the commit before it flushes; the transaction goes on.
 * - CR_AFTER_COMMIT: after cr_session_commit's COMMIT (not a savepoint's).
 *   The session is in no transaction: calls on it are refused
 *   (CR_ERR_INVALID_REQUEST), as it can emit no SQL in SQLAlchemy; conn is
 *   NULL. An error a listener returns is what cr_session_commit returns,
 *   with the session's error naming it; the transaction is committed all
 *   the same.
 * - CR_AFTER_ROLLBACK: after the database rolled back the session's
 *   transaction or a savepoint of begin_nested: cr_session_rollback,
 *   cr_session_rollback_nested, or a failed flush, which rolls back at
 *   once (the later cr_session_rollback, having nothing left to roll back,
 *   calls none). Objects are not yet restored. Calls on the session are
 *   refused inside; conn is NULL. An error is what the rollback call
 *   returns ("(the transaction is rolled back)"); after a failed flush the
 *   flush's own error is kept.
 * A listener must not free the session. Listeners of an event run in the
 * order registered. NULL s, f or fn, or an event out of range, is
 * CR_ERR_ARGUMENT; a listener's status that is no cr_status is reported as
 * CR_ERR_INVALID_REQUEST. */
typedef enum cr_session_event {
    CR_BEFORE_FLUSH, CR_AFTER_COMMIT, CR_AFTER_BEGIN, CR_AFTER_FLUSH, CR_AFTER_FLUSH_POSTEXEC,
    CR_BEFORE_COMMIT, CR_AFTER_ROLLBACK
} cr_session_event;
typedef cr_status (*cr_session_listener)(cr_session *s, cr_conn *conn, void *userdata);

/* A session factory (sessionmaker(bind=engine, ...)): the engine and the
 * options of every session it makes. The engine must outlive it. */
CR_API cr_sessionmaker *cr_sessionmaker_new(cr_engine *engine, const cr_session_options *options);
CR_API void cr_sessionmaker_free(cr_sessionmaker *f);
/* A new session (SessionLocal()); NULL when out of memory. */
CR_API cr_session *cr_sessionmaker_session(cr_sessionmaker *f);
CR_API cr_status cr_sessionmaker_listen(cr_sessionmaker *f, cr_session_event event,
                                        cr_session_listener fn, void *userdata);
CR_API cr_status cr_session_listen(cr_session *s, cr_session_event event,
                                   cr_session_listener fn, void *userdata);
/* A session on an engine directly (Session(engine)); options may be NULL. */
CR_API cr_session *cr_session_new(cr_engine *engine, const cr_session_options *options);
/* A session that joins a connection the program holds (Session(bind=conn)):
 * when the connection is in a transaction, the session works inside a
 * savepoint of its own, so that its commit and rollback leave the outer
 * transaction to the program (the test-suite pattern). The session never
 * closes the connection; when the program closes it first, every later call
 * of the session that needs it fails with CR_ERR_RESOURCE_CLOSED. */
CR_API cr_session *cr_session_new_bind(cr_conn *conn, const cr_session_options *options);
/* Close the session (rolling back what is open) and free it with every
 * object it owns. NULL is a no-op. */
CR_API void cr_session_free(cr_session *s);
/* The last error on the session, or NULL when the last call succeeded (an
 * ArgumentError for a NULL session). */
CR_API const cr_error *cr_session_error(const cr_session *s);

/* Add an object (session.add): a transient one becomes pending, a detached
 * one persistent again; an object of this session is left as it is, but
 * for a deletion not yet flushed, which this takes back. The session takes
 * ownership. An object of another open session, or one whose DELETE was
 * flushed or committed, is refused (CR_ERR_INVALID_REQUEST). The
 * save-update cascade follows loaded relationships, the other side's too:
 * cr_set_related(post, author, user) with only the user in a session
 * brings the post in. It also takes what they held before changes not yet
 * flushed (a post removed from user->posts, the author a post had before
 * cr_set_related), as SQLAlchemy's cascades the pending history, so that
 * the flush can write what the change means for them. */
CR_API cr_status cr_session_add(cr_session *s, void *obj);
/* Add n objects (add_all). */
CR_API cr_status cr_session_add_all(cr_session *s, void *const *objs, size_t n);
#define CR_OBJS(...) ((void *const[]){__VA_ARGS__}), \
    (sizeof((void *const[]){__VA_ARGS__}) / sizeof(void *))
/* Mark a persistent object for deletion at the next flush; a detached one
 * is attached to the session first (session.delete), and so are the
 * detached objects its delete cascade reaches (expunged with it). One whose DELETE
 * this session already flushed (a cascade's, by an autoflush), or that was
 * committed, is left as it is: CR_OK. A pending one has no
 * row: CR_ERR_INVALID_REQUEST, as for an object of no or another session
 * (cr_session_expunge takes a pending one out); cr_session_add of the
 * object before the flush takes the deletion back. A new object added with its primary key takes over
 * its row at that flush: one UPDATE instead of the DELETE and an INSERT
 * (SQLAlchemy's row switch) that sets the fields the program changed since
 * cr_new made the object (and those its relationships set); the others
 * keep the row's values, which the object takes, client defaults not
 * applied. A field left as cr_new made it is not cleared: change it after
 * the flush. */
CR_API cr_status cr_session_delete(cr_session *s, void *obj);
/* Flush pending changes: run the unit of work's plan. An expired object
 * with a field to write, or whose reference cr_set_related set since the
 * expiry (even to what it held), is loaded first (a SELECT before its
 * UPDATE, as SQLAlchemy's flush loads an object with an attribute set): the
 * fields set since the expiry are written, the others take the row's
 * values, and it is expired no longer; its row gone is
 * CR_ERR_OBJECT_DELETED. */
CR_API cr_status cr_session_flush(cr_session *s);
/* Flush, then commit the transaction and give the connection back. With
 * expire_on_commit, every object is expired. Inside cr_session_begin_nested
 * this releases every savepoint and commits the whole transaction, as
 * SQLAlchemy 2.0's session.commit() does (1.4's legacy Session committed
 * only the savepoint: cr_session_commit_nested does that). */
CR_API cr_status cr_session_commit(cr_session *s);
/* Roll the transaction back — all of it, savepoints included, as 2.0's
 * session.rollback() does (cr_session_rollback_nested rolls back only to the
 * innermost savepoint): objects added since it began become transient
 * again (still owned by the session until freed or re-added), deleted ones
 * persistent, and every persistent object is expired. Clears a pending
 * rollback. After a call failed because the connection was lost
 * (cr_error_is_disconnect), the rollback succeeds as well (the server rolled
 * back already) and the session's next call works on a new connection. */
CR_API cr_status cr_session_rollback(cr_session *s);
/* Roll back what is open, give the connection back and detach every object
 * (they stay readable, freed by cr_session_free). The session may be used
 * again. */
CR_API cr_status cr_session_close(cr_session *s);

/* SAVEPOINT (session.begin_nested()): flushes, then opens a savepoint.
 * cr_session_rollback_nested rolls back to it — what was flushed since is
 * undone, objects added since (flushed or pending) become transient, objects
 * changed since are expired — and cr_session_commit_nested releases it.
 * A flush that fails inside (cr_session_commit_nested, a flush, an
 * autoflush) rolls back to the savepoint at once, as SQLAlchemy's does, and
 * leaves what was flushed before it alone; the session then refuses work
 * (CR_ERR_PENDING_ROLLBACK) until cr_session_rollback_nested, which closes
 * the savepoint and goes on in the enclosing transaction (or until
 * cr_session_rollback, which rolls back everything). Lost the connection,
 * the whole transaction is rolled back, as for a flush outside. */
CR_API cr_status cr_session_begin_nested(cr_session *s);
CR_API cr_status cr_session_commit_nested(cr_session *s);
CR_API cr_status cr_session_rollback_nested(cr_session *s);

/* Reload the object's fields from its row now (session.refresh); a row
 * gone is CR_ERR_OBJECT_DELETED. It first expires the object as
 * cr_session_expire does (its changes not flushed are discarded, its
 * relationships become unloaded, the objects they reach along
 * refresh-expire cascades expired), then autoflushes the other objects'
 * changes, then reloads its fields and, as
 * SQLAlchemy's refresh does, the relationships that load eagerly by
 * default: .lazy = CR_LOAD_JOINED ones in the same SELECT (LEFT OUTER
 * JOIN), CR_LOAD_SELECTIN ones by SELECT ... IN after it, and down the
 * chain the eager relationships of the objects so loaded. Lazy ones stay
 * unloaded (cr_load loads them); related objects already in the session
 * and not expired keep their fields, as a query leaves them. */
CR_API cr_status cr_session_refresh(cr_session *s, void *obj);
/* Mark one object, or all, expired (session.expire / expire_all). Every
 * relationship of an expired object becomes unloaded, its changes not
 * flushed discarded (cr_load reloads it); the objects a loaded relationship
 * with the refresh-expire cascade reaches ("all" has it) are expired too,
 * and a pending one reached so leaves the session (transient, still the
 * session's to free), as SQLAlchemy's cascade does. */
CR_API cr_status cr_session_expire(cr_session *s, void *obj);
CR_API cr_status cr_session_expire_all(cr_session *s);
/* Remove an object from the session and give it to the program, which frees
 * it (cr_object_free) or adds it to a session (expunge). cr_session_expunge
 * gives back with it the objects its loaded relationships with the expunge
 * cascade ("all" has it) reach, and theirs: the program frees each of those
 * too (they stay reachable through obj). An object of the session that
 * still refers to an expunged one, or holds it in a collection, does not
 * take it in again at a flush, and that link is not written (SQLAlchemy's
 * flush does not proceed with an object not in the session), until
 * cr_session_add or a relationship call that cascades takes it in.
 * cr_session_expunge_all empties the
 * session (expunge_all): every object is detached, the identity map empty,
 * and the objects stay the session's to free, as after cr_session_close —
 * cr_session_free frees them, unless the program frees one first
 * (cr_object_free) or another session takes it (cr_session_add). */
CR_API cr_status cr_session_expunge(cr_session *s, void *obj);
CR_API cr_status cr_session_expunge_all(cr_session *s);
/* make_transient(obj): the object forgets its row. Taken out of its session
 * if in one (no cascade) and given to the program, it becomes transient
 * with the values its fields hold, so that adding it again INSERTs a new
 * row of them: with its key field set NULL first, a copy of the row under a
 * key the database generates. An expired object's fields had no values to
 * keep (SQLAlchemy's expired attributes are lost): they become NULL, and
 * its relationships not loaded since lose what they held (NULL, empty). A
 * pending, transient or deleted object is taken out as well; one in no
 * session stays whose it was (the program's, or a closed session's to
 * free). Other relationships are left as they are: an object of the session that
 * still refers to it, or holds it in a collection, does not take it in
 * again at a flush, and that link is not written (SQLAlchemy's flush does
 * not proceed with an object not in the session), until cr_session_add or
 * a relationship call that cascades takes it in. CR_ERR_ARGUMENT
 * for what is not an object made by cr_new or loaded; inside a listener of
 * its session, that session's error (refused). */
CR_API cr_status cr_make_transient(void *obj);
/* make_transient_to_detached(obj): a transient object becomes detached, as
 * if a session had loaded it with the values its fields hold (the row's, the
 * program says): cr_session_add then makes it persistent without a SELECT,
 * and what the program changes afterwards is written by an UPDATE. Its key
 * fields must all hold values. CR_ERR_INVALID_REQUEST for an object that is
 * not transient or lacks a key value, CR_ERR_ARGUMENT for what is not an
 * object, CR_ERR_NO_MEMORY. */
CR_API cr_status cr_make_transient_to_detached(void *obj);
/* Copy the state of obj onto the session's object of the same primary key,
 * loaded when not in the identity map or made pending when there is no row
 * (session.merge). Of an object made by cr_new and never flushed, only the
 * fields the program set are copied onto an existing one, as SQLAlchemy
 * copies only the attributes set: those changed since cr_new, or given by
 * cr_field_set_null / cr_field_clear_null / cr_field_set_text (a NULL so
 * given is copied); a field left NULL or at its default keeps the row's
 * value. Of an expired object (committed, then expunged, say), only the
 * fields changed since the expiry are copied: the others are stale, and
 * the existing object keeps the row's values, as SQLAlchemy merges no
 * expired attribute. Likewise its relationships: one holding something, or given by
 * cr_set_related / cr_append / cr_remove (cr_set_related(copy, pet, NULL)
 * lets the row's go), is merged; one left empty as cr_new made it keeps
 * what the row holds. Along obj's loaded relationships with the merge cascade
 * (the default "save-update, merge" and "all" have it) the related objects
 * are merged the same way, each once, and the copy's relationship is set to
 * their copies (the other sides kept in step; a collection's members no
 * longer there are treated as removed: their key set NULL, or deleted with
 * delete-orphan). Returns the session's object, NULL on error (on the
 * session). What it would merge is checked first: a relationship holding
 * an object of the wrong model, or one that cannot resolve, is refused
 * naming it before anything changes. A merge that fails leaves the session
 * as it was: every row it needs (the object of each key, the relationships
 * of those it replaces) is read before it changes anything, so a database
 * error changes nothing (what those reads loaded stays loaded, unchanged,
 * as after a query); out of memory halfway puts back the relationships it
 * changed and drops the copies it made, and the fields it copies onto
 * objects of the session are copied last, when nothing can fail. obj and
 * what it reaches are left to their owner. Autoflush runs before, not
 * during, as get's does (when objects were added or deleted, or
 * relationship calls changed something). An object of this session is
 * returned as it is, after that autoflush: a pending one is persistent
 * then, as SQLAlchemy's merge finds it by its key; but one whose DELETE
 * was flushed (by that autoflush, say) is merged as any other object: its
 * row gone, the result is a new pending copy of it, as in SQLAlchemy. */
CR_API void *cr_session_merge(cr_session *s, void *obj);

/* The object of this primary key (session.get): from the identity map when
 * there, without SQL (reloaded first when expired; one marked for deletion
 * too, as SQLAlchemy's get gives it), else loaded; NULL with
 * no error when there is no such row. values: one per primary key column,
 * in key order. Its autoflush flushes only when objects were added or
 * deleted (what decides whether the row is there): changed fields wait for
 * the next flush, so that a get costs no scan of the identity map. */
CR_API void *cr_session_get_values(cr_session *s, const cr_mapper *m, const cr_value *values,
                                   size_t n);
/* cr_session_get(s, User, 5), cr_session_get(s, Tag, "c"): a one-column key. */
#define cr_session_get(s, T, key) \
    ((T *)cr_session_get_values((s), T##_model.mapper, (const cr_value[]){CR__KEYVAL(key)}, 1))
#define CR__KEYVAL(x) _Generic((x), char *: cr_val_text, const char *: cr_val_text, \
    cr_value: cr__keyval_value, double: cr_val_double, float: cr_val_double, \
    default: cr__keyval_int)(x)
static inline cr_value cr__keyval_value(cr_value v) { return v; }
static inline cr_value cr__keyval_int(int64_t i) { return cr_val_int(i); }

/* Whether autoflush is on; cr_session_set_autoflush(s, false) is
 * no_autoflush (restore it with true). */
CR_API void cr_session_set_autoflush(cr_session *s, bool on);
/* The connection the session works on (checked out and a transaction begun
 * when there is none yet): session.connection(). */
CR_API cr_conn *cr_session_connection(cr_session *s);
/* How many objects the identity map holds (len(session.identity_map)): the
 * persistent ones, those marked for deletion among them; not the pending. */
CR_API size_t cr_session_identity_count(const cr_session *s);
/* Whether any object is new, deleted or changed (session.dirty / new /
 * deleted not empty). */
CR_API bool cr_session_has_changes(cr_session *s);
/* session.is_modified(obj): whether obj, an object of s, differs from what
 * was last loaded or flushed: a field (a pending object: one set since
 * cr_new), a collection appended to or removed from, a ONE field holding
 * another object. False for NULL, or an object not in s. */
CR_API bool cr_session_is_modified(cr_session *s, const void *obj);
/* session.in_transaction(): whether the session has begun a transaction
 * (by its first query or write) not yet committed or rolled back; after a
 * failed flush, until cr_session_rollback. in_nested_transaction(): whether
 * a savepoint of cr_session_begin_nested is open (or waits for
 * cr_session_rollback_nested after a failed flush). False for NULL. */
CR_API bool cr_session_in_transaction(const cr_session *s);
CR_API bool cr_session_in_nested_transaction(const cr_session *s);
/* session.new, session.dirty, session.deleted: a list of the session's
 * pending objects (in the order added), of its persistent objects with a
 * changed field (C sees no change in a field set to the value it held, nor
 * in a collection), or of those marked for deletion. Inside a
 * CR_AFTER_FLUSH listener: what that flush inserted, updated and deleted,
 * in its order. Free the list with cr_objects_free; the objects stay the
 * session's. NULL when out of memory, s is NULL or which is out of range. */
typedef enum cr_session_set { CR_SESSION_NEW, CR_SESSION_DIRTY, CR_SESSION_DELETED } cr_session_set;
CR_API cr_objects *cr_session_objects(cr_session *s, cr_session_set which);

/* The flush plan that cr_session_flush would run now, as text, a line per
 * step: "INSERT users 3", "UPDATE users (email) 1", "DELETE posts 2". The
 * caller frees it with free(). NULL on error. */
CR_API char *cr_session_plan(cr_session *s);

/* ------------------------------------------------------------------------
 * Queries
 *
 * 2.0 style: build a SELECT of a model's table with the expression language
 * — cr_select(User_model.table), or cr_select_model(User) — and run it
 * through the session: cr_session_all, _first, _one, _one_or_none return
 * objects (session.scalars(stmt)). Rows become objects through the identity
 * map: a row whose object is already in the session gives that same pointer,
 * and its fields the program changed are not overwritten (populate_existing
 * is off); an expired object is reloaded from the row.
 *
 * As Query does, cr_query_all gives each object once (a JOIN that repeats a
 * user per post gives the user once); cr_session_all gives one per row.
 *
 * Query style: cr_session_query(s, User) makes such a statement tied to the
 * session (session.query(User)); filter it with cr_filter / cr_filter_by and
 * the statement calls (cr_order_by, cr_limit ...), run it with cr_query_all,
 * _first, _one, _one_or_none, _count, _exists, and free it with cr_stmt_free.
 * Each runs autoflush first. Such a statement lives no longer than its
 * session: free it before cr_session_free (a session only closed may still
 * run it).
 * ------------------------------------------------------------------------ */

/* A SELECT of a model's table (select(User)), and one tied to a session
 * (session.query(User)), as described above; the caller frees either with
 * cr_stmt_free. NULL when out of memory. A NULL m (the model's _define not
 * called) or s gives a statement holding that error (cr_stmt_error), which
 * running it reports. */
CR_API cr_stmt *cr_select_mapper(const cr_mapper *m);
#define cr_select_model(T) cr_select_mapper(T##_model.mapper)
CR_API cr_stmt *cr_session_query_mapper(cr_session *s, const cr_mapper *m);
#define cr_session_query(s, T) cr_session_query_mapper((s), T##_model.mapper)
/* filter(condition): cr_where. filter_by(field=value): field is the name of
 * a field of the query's model. None — cr_val_null(), a NULL text, or a field's
 * own NULL marker passed as it is (CR_NULL_INT64, CR_NULL_DOUBLE) — is
 * IS NULL: cr_filter_by(q, "user_id", post->user_id) finds the rows whose
 * user_id is NULL when post's is. */
#define cr_filter(q, cond) cr_where(q, cond)
CR_API void cr_filter_by_value(cr_stmt *q, const char *field, cr_value v);
#define cr_filter_by(q, field, v) cr_filter_by_value(q, field, CR__KEYVAL(v))

/* One object per row of q (session.scalars(stmt).all()), after autoflush;
 * the list is the caller's (cr_objects_free), the objects the session's.
 * NULL on error, the detail on the session. */
CR_API cr_objects *cr_session_all(cr_session *s, cr_stmt *q);
/* The first object (LIMIT 1 is added when q has no LIMIT), NULL with no
 * error when there is none. */
CR_API void *cr_session_first(cr_session *s, cr_stmt *q);
/* Exactly one: CR_ERR_NO_RESULT_FOUND / CR_ERR_MULTIPLE_RESULTS otherwise. */
CR_API void *cr_session_one(cr_session *s, cr_stmt *q);
CR_API void *cr_session_one_or_none(cr_session *s, cr_stmt *q);
/* Execute any statement in the session's transaction after autoflush
 * (session.execute): rows of columns, freed by the caller. */
CR_API cr_result *cr_session_execute(cr_session *s, cr_stmt *q);
/* Rows of objects and columns (select(User, Post, func.count(...))): the
 * session's object of mapper m in the row's columns [column, column +
 * fields), through the identity map as a query gives it. Select the model's
 * table to have its columns in the row: cr_select(User_model.table,
 * Post_model.table) puts Post's at cr_table_column_count(User_model.table).
 * column -1 finds them (cr_row_entity(s, row, Post), row.Post). A row of a
 * statement built with the expression language knows its columns: a
 * position that does not hold m's, or a model whose columns it does not
 * hold, is CR_ERR_ARGUMENT (a row of textual SQL is read as told). */
CR_API void *cr_session_row_object(cr_session *s, const cr_row *row, const cr_mapper *m,
                                   int column);
#define cr_row_object(s, row, T, column) \
    ((T *)cr_session_row_object((s), (row), T##_model.mapper, (column)))
#define cr_row_entity(s, row, T) ((T *)cr_session_row_object((s), (row), T##_model.mapper, -1))
/* SELECT count(*) FROM (q) (query.count()). */
CR_API cr_status cr_session_count(cr_session *s, cr_stmt *q, int64_t *out);

/* Objects a batch at a time, at flat memory (yield_per): the rows are
 * streamed from the server (stream_results) and each cr_stream_next gives up
 * to yield_per more objects — an empty list at the end, NULL on error (on the
 * session). Objects the stream loaded and the program left unchanged leave
 * the session and are freed when the next batch is fetched or the stream is
 * freed; those the program changed or deleted stay, for the next flush.
 * While the stream is open the session's connection runs nothing else: no
 * other query, no flush. The list is the stream's. A stream lives no longer
 * than its session: free it before cr_session_free (after cr_session_close
 * it reports the closed result, CR_ERR_RESOURCE_CLOSED, or ends). */
typedef struct cr_object_stream cr_object_stream;
CR_API cr_object_stream *cr_session_stream(cr_session *s, cr_stmt *q, size_t yield_per);
CR_API cr_objects *cr_stream_next(cr_object_stream *st);
CR_API void cr_stream_free(cr_object_stream *st);

/* Bulk UPDATE and DELETE by query (query.filter(...).update({...}) /
 * .delete()): the rows q selects are changed or deleted by statements of
 * many rows each (WHERE key IN (...)), after autoflush, in the session's
 * transaction. The objects of those rows already in the session are kept in
 * step (synchronize_session): they take the new values, or become deleted.
 * rowcount (may be NULL) receives the rows changed. */
typedef struct cr_assignment {
    cr_column *column;
    cr_value value;
} cr_assignment;
/* CR_ASSIGN({User_model.c.active, cr_val_bool(false)}, ...): a list and its length. */
#define CR_ASSIGN(...) ((const cr_assignment[]){__VA_ARGS__}), \
    (sizeof((const cr_assignment[]){__VA_ARGS__}) / sizeof(cr_assignment))
CR_API cr_status cr_session_update_where(cr_session *s, cr_stmt *q, const cr_assignment *set,
                                         size_t nset, int64_t *rowcount);
CR_API cr_status cr_session_delete_where(cr_session *s, cr_stmt *q, int64_t *rowcount);
CR_API cr_status cr_query_update(cr_stmt *q, const cr_assignment *set, size_t nset,
                                 int64_t *rowcount);
CR_API cr_status cr_query_delete(cr_stmt *q, int64_t *rowcount);

/* The same through the session a cr_session_query statement carries. A
 * statement of no session (cr_select_model) is refused: NULL, or
 * CR_ERR_INVALID_REQUEST, with the error on the statement (cr_stmt_error,
 * until its next execution) — a NULL from cr_query_first is not "no row"
 * then. */
CR_API cr_objects *cr_query_all(cr_stmt *q);
CR_API void *cr_query_first(cr_stmt *q);
CR_API void *cr_query_one(cr_stmt *q);
CR_API void *cr_query_one_or_none(cr_stmt *q);
CR_API cr_status cr_query_count(cr_stmt *q, int64_t *out);
CR_API cr_status cr_query_exists(cr_stmt *q, bool *out);
/* The session of a cr_session_query statement (NULL for other statements). */
CR_API cr_session *cr_query_session(const cr_stmt *q);

/* ------------------------------------------------------------------------
 * Relationships
 *
 * A model declares its relationships beside its fields, as a second X-macro:
 * name, ONE(Model) or MANY(Model), then options of cr_relationship_def:
 *
 *     #define USER_RELATIONSHIPS(R)                                        \
 *         R(posts,       MANY(Post),    .back_populates = "author",        \
 *                                       .cascade = "all, delete-orphan",   \
 *                                       .order_by = "id")                  \
 *         R(profile,     ONE(Profile),  .back_populates = "user")          \
 *         R(liked_posts, MANY(Post),    .secondary = "likes")
 *     CR_MODEL(User, "users", USER_FIELDS, USER_RELATIONSHIPS)
 *
 *     #define POST_RELATIONSHIPS(R) R(author, ONE(User))
 *     CR_MODEL(Post, "posts", POST_FIELDS, POST_RELATIONSHIPS)
 *
 * ONE(Post) is a field `struct Post *`, MANY(Post) a cr_collection of Post
 * objects. The direction follows the foreign keys, as in SQLAlchemy: ONE on
 * the side whose table holds the foreign key is many-to-one (post->author);
 * ONE on the other side is one-to-one (uselist=False: user->profile); MANY
 * is one-to-many, or many-to-many through .secondary (an association table
 * of the same metadata, holding a foreign key to each side). On a table
 * that refers to itself, ONE is the many-to-one side (a comment's parent)
 * and MANY the one-to-many side (its replies). .foreign_keys names the
 * column(s) to use when several foreign keys could join the two tables
 * ("posts.editor_id"). back_populates and backref are the same thing in C:
 * each names the other side's relationship, which the other model declares
 * too (it needs a field to hold it) — naming it on either side links both.
 * Relationships resolve as models are defined; a target model or secondary
 * table not defined by the first use is reported then, naming the
 * relationship.
 *
 * Reading. A relationship not loaded reads as NULL / an empty collection,
 * never garbage; cr_is_loaded(user, posts) tells which. cr_load(user, posts)
 * loads it (the lazy load: one SELECT, or none for a many-to-one whose
 * object is in the identity map), returning a status; it does nothing when
 * it is loaded already. A new object's relationships are loaded (empty)
 * from the start. Loader options on a query load them eagerly instead:
 * cr_joinedload, cr_selectinload; cr_raiseload makes cr_load an error (to
 * catch N+1 loads in tests). An expired object's relationships keep what
 * they held as last loaded or flushed (changes not flushed are discarded by
 * the expiry, as they are for its fields) and count as not loaded: cr_load
 * reloads them. On a detached object a relationship not loaded can be
 * neither loaded nor changed (CR_ERR_DETACHED_INSTANCE). A lazy load
 * autoflushes first when objects were added or deleted, or a relationship
 * call changed something, since the last flush; a field changed by hand
 * (post->user_id = 5, or a plain post->author = user) is not looked for,
 * since finding it would compare every object of the session at every
 * load: flush first when a lazy load must see such a change.
 *
 * Changing. cr_set_related(post, author, user), cr_append(user, posts, post)
 * and cr_remove(user, posts, post) change one side and keep the other side
 * (back_populates) in step in memory when it is loaded; appending to a
 * collection not loaded loads it first. A collection changes only through
 * these calls. A plain assignment of a ONE field (post->author = user) is
 * allowed too: it is picked up at the next flush, which sets the foreign
 * key and brings the loaded other side in step then. A field assignment of
 * the foreign key itself (post->user_id = 5) is a column change like any
 * other; while the relationship still points at an object, the flush sets
 * the key from that object.
 *
 * The unit of work. Adding an object adds the objects its relationships
 * reach (the save-update cascade); a flush sets each foreign key from its
 * related object once that one is inserted (generated keys included),
 * inserts and deletes rows of the association table as many-to-many
 * collections change, and sets the foreign key of a child removed from a
 * one-to-many collection to NULL — or deletes it, with delete-orphan. A
 * pending child (never flushed) that leaves a delete-orphan relationship —
 * cr_remove(user, posts, post), cr_set_related(post, author, NULL), a
 * one-to-one given another object — leaves the session at once, as
 * SQLAlchemy expunges it: no INSERT (it has no row to delete), transient,
 * and still the session's to free (unless cr_object_free frees it), with what
 * its loaded relationships with the expunge cascade reach. Appended to a
 * parent again (or added), it is pending again; moved to another parent
 * directly (cr_append(bob, posts, post), cr_set_related(post, author, bob))
 * it is no orphan and is inserted under that parent.
 * On a many-to-one or a many-to-many, delete-orphan needs .single_parent =
 * true, as in SQLAlchemy (relationship(cascade="all, delete-orphan",
 * single_parent=True)): the object a parent lets go of (set to NULL or to
 * another, cr_remove) is deleted by the next flush unless another parent
 * took it meanwhile, or, pending, leaves the session there and then. A
 * second parent is refused by cr_set_related and cr_append and, for plain
 * assignments, by the flush (CR_ERR_INVALID_REQUEST, "... is only allowed a
 * single parent"); objects loaded that way from the database are left as
 * they are.
 * Deleting an object deletes its children along "delete" cascades (loading
 * a collection not loaded, unless passive_deletes leaves them to the
 * database's ON DELETE CASCADE; that load autoflushes first, as a lazy
 * load does), sets their foreign key to NULL otherwise,
 * and deletes its association rows. A pending child a delete cascade
 * reaches is taken out of the session without an INSERT: transient, and
 * still the session's to free (the program may hold no pointer to it), as a
 * rollback leaves one. Cascades are SQLAlchemy's:
 * "save-update", "merge", "delete", "delete-orphan", "refresh-expire",
 * "expunge", "all" (all but delete-orphan); the default is "save-update,
 * merge". merge, refresh-expire and expunge follow loaded relationships
 * only (cr_session_merge, cr_session_expire and cr_session_refresh,
 * cr_session_expunge).
 *
 * post_update. Two rows that refer to each other (a department's head is
 * one of its employees; two employees managing each other) cannot be
 * inserted by INSERTs alone: a flush that meets such a cycle fails with
 * CR_ERR_FLUSH naming the relationship before anything is sent
 * (cr_session_plan reports it too), and the session waits for
 * cr_session_rollback. Declare one side
 * .post_update = true: that foreign key is then set by an UPDATE after the
 * INSERTs, and before a row with it is deleted an UPDATE sets it NULL, so
 * that the DELETEs may come in any order (on a one-to-many: the key of each
 * loaded child deleted with the parent). The key it sets no longer orders
 * the tables of a flush, and it counts for both relationships of a
 * back_populates pair (one UPDATE per row).
 *
 * Errors. A related object of the wrong model (CR_ERR_ARGUMENT) or of
 * another session (CR_ERR_INVALID_REQUEST) is refused by the calls, by
 * cr_session_add's cascade and by the flush (before its statements are
 * sent; the failed flush then waits for cr_session_rollback, as any does),
 * with a message naming the relationship ("relationship Post.author:
 * ..."); the other session and its objects are not touched.
 * ------------------------------------------------------------------------ */

typedef struct cr_relationship cr_relationship;

/* A MANY relationship's field: count objects of the target model. Read it
 * freely (CR_FOR_EACH(Post, post, &user->posts)); change it only through
 * cr_append / cr_remove. Its memory is the library's. */
typedef struct cr_collection {
    size_t count;
    void **items;
    size_t capacity;
} cr_collection;

/* How a relationship loads (lazy=..., and the loader options). */
typedef enum cr_loader {
    CR_LOAD_DEFAULT = 0,   /* the relationship's own strategy (lazy)    */
    CR_LOAD_LAZY,          /* "select": on cr_load, one SELECT         */
    CR_LOAD_SELECTIN,      /* after the query: one SELECT ... IN       */
    CR_LOAD_JOINED,        /* in the query: LEFT OUTER JOIN            */
    CR_LOAD_RAISE          /* cr_load fails (CR_ERR_INVALID_REQUEST)   */
} cr_loader;

/* One relationship of a model. name, target, offset and many are filled by
 * the declaration macros. */
typedef struct cr_relationship_def {
    const char *name;            /* the field                                  */
    const char *target;          /* the related model's name                   */
    size_t offset;               /* of the field in the struct                 */
    bool many;                   /* MANY: a cr_collection                      */
    const char *back_populates;  /* the other side's relationship              */
    const char *backref;         /* the same as back_populates                 */
    const char *secondary;       /* many-to-many: the association table        */
    const char *cascade;         /* "all, delete-orphan"; NULL: "save-update, merge"
                                  * ("merge" when viewonly)                    */
    const char *order_by;        /* a collection's order: target columns,
                                  * "created_at desc, id" (or "Post.id",
                                  * "posts.id", as SQLAlchemy writes them)     */
    const char *foreign_keys;    /* "table.column, ...": which foreign key     */
    cr_loader lazy;              /* the default loader                         */
    bool passive_deletes;        /* leave unloaded children to ON DELETE       */
    bool post_update;            /* set this foreign key by a second UPDATE    */
    bool viewonly;               /* read only: the flush ignores it; a cascade
                                  * of save-update, delete or delete-orphan is
                                  * refused (CR_ERR_ARGUMENT)                  */
    bool single_parent;          /* many-to-one, many-to-many: an object has at
                                  * most one parent through it (a second is
                                  * CR_ERR_INVALID_REQUEST); what delete-orphan
                                  * on either needs                            */
} cr_relationship_def;

/* Give the mapper m its relationships (what CR_DEFINE_MODEL with
 * relationships expands to): handles[i] receives relationship i. Errors are
 * on m's metadata. */
CR_API cr_status cr_model_relationships(cr_mapper *m, const cr_relationship_def *defs, size_t n,
                                        cr_relationship **const *handles);
/* Resolve every relationship of md's models now (configure_mappers()): an
 * error names the first that cannot be (a model or secondary table not
 * defined, no foreign key or an ambiguous one). Optional: relationships
 * resolve as models are defined, and are checked at their first use. */
CR_API cr_status cr_metadata_configure(cr_metadata *md);
/* A relationship's name ("posts"), its model and the related model. */
CR_API const char *cr_relationship_name(const cr_relationship *r);
CR_API cr_mapper *cr_relationship_parent(const cr_relationship *r);
CR_API cr_mapper *cr_relationship_target(const cr_relationship *r);

/* cr_load(user, bio) of a column field loads it when a query left it out
 * (deferred columns: see cr_query_defer) or its object is expired, and
 * does nothing otherwise; cr_is_loaded(user, bio) says whether it holds
 * the loaded value. */
/* The relationship calls, by field: cr_load(user, posts). Each returns a
 * status; for an object in a session the message is on the session
 * (cr_session_error). The related object must be of the relationship's
 * target model (CR_ERR_ARGUMENT otherwise). */
/* The error of the calling thread's last relationship call (cr_load,
 * cr_set_related, cr_append, cr_remove), whether or not its object is in a
 * session (detached, transient: no session holds the message); NULL when
 * that call succeeded. Valid until the thread's next relationship call. */
CR_API const cr_error *cr_relationship_error(void);
CR_API cr_status cr_object_load(void *obj, size_t offset);
CR_API bool cr_object_loaded(const void *obj, size_t offset);
CR_API cr_status cr_object_set_related(void *obj, size_t offset, void *target);
CR_API cr_status cr_object_append(void *obj, size_t offset, void *child);
CR_API cr_status cr_object_remove(void *obj, size_t offset, void *child);
#define cr_load(obj, rel) cr_object_load((obj), CR__FIELD_OFFSET(obj, rel))
#define cr_is_loaded(obj, rel) cr_object_loaded((obj), CR__FIELD_OFFSET(obj, rel))
/* post.author = user; the target's type is checked at compile time. */
#define cr_set_related(obj, rel, target) \
    ((void)sizeof((obj)->rel == (target)), cr_object_set_related((obj), CR__FIELD_OFFSET(obj, rel), (target)))
#define cr_append(obj, rel, child) cr_object_append((obj), CR__FIELD_OFFSET(obj, rel), (child))
#define cr_remove(obj, rel, child) cr_object_remove((obj), CR__FIELD_OFFSET(obj, rel), (child))

/* Loader options of a query (options(joinedload(User.posts))): the path is
 * relationships from the query's model, each from the previous one's target:
 * cr_selectinload(q, User_model.r.posts, Post_model.r.tags) loads tags with
 * SELECT ... IN, and posts as another option says, else eagerly the same
 * way (selectinload(User.posts).selectinload(Post.tags)); likewise
 * cr_joinedload(q, User_model.r.posts, Post_model.r.tags) joins both.
 * joinedload adds LEFT OUTER JOINs to the query's own statement for the run
 * (through an alias of the secondary table for a many-to-many; a level
 * below a selectin level loads with SELECT ... IN); parents come once each.
 * When the query has a LIMIT, an OFFSET or DISTINCT (cr_query_first adds
 * LIMIT 1) and a collection is joined, the query goes into a subquery,
 * SELECT anon_1.* ... FROM (the query) AS anon_1 LEFT OUTER JOIN ..., ordered
 * by the query's ORDER BY on anon_1: the limit counts parents, and each gets
 * all its children (an ORDER BY item that is not a column of the model is
 * added to the subquery's columns for the run, labelled anon_order_<n>).
 * selectinload runs one more SELECT per relationship
 * after the query (keys in IN batches); lazyload leaves it to cr_load;
 * raiseload makes cr_load fail. A path that does not follow from the query's
 * model is an error of the statement. */
CR_API void cr_query_loader(cr_stmt *q, cr_loader how, const cr_relationship *const *path,
                            size_t n);
#define CR__RELS(...) ((const cr_relationship *const[]){__VA_ARGS__}), \
    (sizeof((const cr_relationship *const[]){__VA_ARGS__}) / sizeof(cr_relationship *))
#define cr_joinedload(q, ...) cr_query_loader((q), CR_LOAD_JOINED, CR__RELS(__VA_ARGS__))
#define cr_selectinload(q, ...) cr_query_loader((q), CR_LOAD_SELECTIN, CR__RELS(__VA_ARGS__))
#define cr_lazyload(q, ...) cr_query_loader((q), CR_LOAD_LAZY, CR__RELS(__VA_ARGS__))
#define cr_raiseload(q, ...) cr_query_loader((q), CR_LOAD_RAISE, CR__RELS(__VA_ARGS__))

/* Deferred columns (SQLAlchemy's deferred(), defer(), undefer(),
 * load_only()). A field declared .deferred = true is left out of its
 * model's queries, as are those cr_defer(q, User_model.c.bio) leaves out
 * of one query; cr_undefer(q, col) loads a deferred one with the query,
 * and cr_load_only(q, User_model.c.name, ...) loads only the fields named
 * (and the primary key). The primary key, a version counter and foreign
 * keys are always loaded (cr_defer of one is an error of the statement,
 * load_only adds them). The SQL selects NULL in the column's place (NULL
 * AS bio), so rows keep the model's layout.
 *
 * A field left out holds NULL in an object the query makes, and what it
 * held in one it reloads; cr_is_loaded(user, bio) is false until
 * cr_load(user, bio) loads it (SELECT users.bio FROM users WHERE users.id
 * = ?; an expired object is reloaded first, a detached one is
 * CR_ERR_DETACHED_INSTANCE) or a query selecting it meets the object. A
 * field set by the program is written by the flush whether loaded or not,
 * and keeps its value through such loads; one not loaded and not set is
 * never written, and cr_session_merge does not copy it. An option naming
 * a column of another model, or given to a statement that does not select
 * its model's table first, is an error of the statement. */
CR_API void cr_query_defer(cr_stmt *q, const cr_column *col, bool defer);
CR_API void cr_query_load_only(cr_stmt *q, const cr_column *const *cols, size_t n);
#define cr_defer(q, col) cr_query_defer((q), (col), true)
#define cr_undefer(q, col) cr_query_defer((q), (col), false)
#define cr_load_only(q, ...) \
    cr_query_load_only((q), (const cr_column *const[]){__VA_ARGS__}, \
                       sizeof((const cr_column *const[]){__VA_ARGS__}) / sizeof(cr_column *))

/* Reload the objects of the query's rows even when the session holds them
 * already (execution_options(populate_existing=True)): their fields take
 * the row's, unflushed changes to them are discarded, and their
 * relationships load again — at once those the query's loader options
 * name, the others when next asked. The objects its eager loads reach are
 * reloaded too. With cr_for_update, the objects hold what the lock was
 * taken on. Without it, an object of the session that is not expired keeps
 * its fields, whatever the row says. A NULL statement is ignored. */
CR_API void cr_query_populate_existing(cr_stmt *q);

/* JOIN along a relationship, the ON clause from its foreign key
 * (query.join(User.posts)); a many-to-many joins through its secondary
 * table. The statement must already select from the relationship's model.
 * A relationship of a table to itself would name the table twice: the
 * statement's InvalidRequestError (join a cr_alias with an ON clause). */
CR_API void cr_join_related(cr_stmt *q, const cr_relationship *r);
CR_API void cr_outerjoin_related(cr_stmt *q, const cr_relationship *r);

/* contains_eager: fill the relationships of a path from a join the query
 * wrote itself, instead of loading them another way:
 *
 *     cr_join_related(q, User_model.r.posts);
 *     cr_filter(q, cr_like(q, Post_model.c.title, "a%"));
 *     cr_contains_eager(q, User_model.r.posts);
 *
 * Each run adds the target table's columns to the query's own (SQLAlchemy
 * has the program add them; here the join names the table) and the
 * collection holds the targets of the rows that matched, in row order, as
 * SQLAlchemy does: not necessarily all of them. The target table itself
 * must be read by the query (joined, or in FROM); else the run fails with
 * CR_ERR_INVALID_REQUEST. A path of more than one relationship fills each
 * level from the same rows (join each level first). Not with a joinedload
 * of a collection under LIMIT / OFFSET / DISTINCT, which wraps the query in
 * a subquery (CR_ERR_NOT_SUPPORTED). A path that does not follow from the
 * query's model or a NULL relationship is an error of the statement, as for
 * cr_query_loader. */
CR_API void cr_query_contains_eager(cr_stmt *q, const cr_relationship *const *path, size_t n);
#define cr_contains_eager(q, ...) cr_query_contains_eager((q), CR__RELS(__VA_ARGS__))

/* Conditions along a relationship, for cr_filter / cr_where, built on q:
 *
 * cr_any(q, User_model.r.posts, criterion) is User.posts.any(criterion):
 * EXISTS (SELECT posts.id FROM posts WHERE users.id = posts.user_id AND
 * criterion), through the secondary table for a many-to-many; criterion
 * may be NULL (has any at all) and is an expression built on q, on the
 * target's columns. cr_has(q, Post_model.r.author, criterion) is the same
 * for a ONE relationship (Post.author.has(...)). The subquery correlates
 * the parent's table to the enclosing query, which must read it (select or
 * join it). Errors, on q (the call returns NULL): a NULL or unresolvable
 * relationship (CR_ERR_ARGUMENT, or the resolution's), cr_any of a ONE /
 * cr_has of a MANY (CR_ERR_INVALID_REQUEST), a relationship whose parent's
 * table q does not read (CR_ERR_ARGUMENT). A relationship of a table to
 * itself (Node.children) reads its target through an alias, and the
 * criterion's columns of that table are read from the alias, as SQLAlchemy
 * adapts them: cr_any(q, Node_model.r.children, cr_eq(q, Node_model.c.name,
 * "kid")) is EXISTS (SELECT nodes_1.id FROM nodes AS nodes_1 WHERE nodes.id
 * = nodes_1.parent_id AND nodes_1.name = ?); there a criterion holding a
 * subquery or a window is CR_ERR_NOT_SUPPORTED (write the EXISTS with
 * cr_alias and cr_exists). */
CR_API cr_expr *cr_related_any(cr_stmt *q, const cr_relationship *r, cr_expr *criterion);
CR_API cr_expr *cr_related_has(cr_stmt *q, const cr_relationship *r, cr_expr *criterion);
#define cr_any(q, rel, criterion) cr_related_any((q), (rel), CR__EXPR(criterion))
#define cr_has(q, rel, criterion) cr_related_has((q), (rel), CR__EXPR(criterion))

/* cr_with_parent(q, user, User_model.r.posts) is with_parent(user,
 * User.posts): the condition selecting the objects of the relationship of
 * one parent object, posts.user_id = <user's id> (bound, the value it holds
 * now); for a many-to-many EXISTS (SELECT likes.post_id FROM likes WHERE
 * posts.id = likes.post_id AND likes.user_id = <id>), so that q's FROM stays
 * as it is; for a ONE relationship users.id = <post's user_id>. q must read the
 * target's table. Errors, on q (NULL returned): a NULL relationship or
 * parent (CR_ERR_ARGUMENT), a parent that is no model object
 * (CR_ERR_UNMAPPED_INSTANCE) or one of another model than the
 * relationship's (CR_ERR_ARGUMENT), a parent that is not persistent —
 * transient, pending (flush it first), deleted or detached
 * (CR_ERR_INVALID_REQUEST), a target table q does not read
 * (CR_ERR_ARGUMENT). */
CR_API cr_expr *cr_with_parent_object(cr_stmt *q, const void *parent, const cr_relationship *r);
#define cr_with_parent(q, parent, rel) cr_with_parent_object((q), (parent), (rel))

/* How many lazy loads a session ran, all relationships together. Past
 * lazy_warn_threshold (cr_session_options; default 10 under echo, else off)
 * loads of one relationship in one session, the echo log says once that it
 * is an N+1 pattern and names the relationship. */
CR_API size_t cr_session_lazy_loads(const cr_session *s);

/* ------------------------------------------------------------------------
 * Model declaration macros (see the top of this file)
 * ------------------------------------------------------------------------ */

#define CR__CAT(a, b) CR__CAT_(a, b)
#define CR__CAT_(a, b) a##b
#define CR__FIRST(a, ...) a
#define CR__TYPE_OF(...) CR__FIRST(__VA_ARGS__, ~)

#define CR__CTYPE_INTEGER int64_t
#define CR__CTYPE_SMALLINTEGER int64_t
#define CR__CTYPE_BIGINTEGER int64_t
#define CR__CTYPE_FLOAT double
#define CR__CTYPE_DOUBLE double
#define CR__CTYPE_BOOLEAN bool
#define CR__CTYPE_STRING(n) char *
#define CR__CTYPE_TEXT char *
#define CR__CTYPE_NUMERIC(p, s) char *
#define CR__CTYPE_JSON char *
#define CR__CTYPE_UUID char *
#define CR__CTYPE_ENUM(name, values) char *
#define CR__CTYPE_DATE cr_datetime
#define CR__CTYPE_TIME cr_datetime
#define CR__CTYPE_DATETIME cr_datetime
#define CR__CTYPE_DATETIME_TZ cr_datetime
#define CR__CTYPE_LARGEBINARY cr_bytes

#define CR__FKIND_INTEGER CR_FIELD_INT64
#define CR__FKIND_SMALLINTEGER CR_FIELD_INT64
#define CR__FKIND_BIGINTEGER CR_FIELD_INT64
#define CR__FKIND_FLOAT CR_FIELD_DOUBLE
#define CR__FKIND_DOUBLE CR_FIELD_DOUBLE
#define CR__FKIND_BOOLEAN CR_FIELD_BOOL
#define CR__FKIND_STRING(n) CR_FIELD_TEXT
#define CR__FKIND_TEXT CR_FIELD_TEXT
#define CR__FKIND_NUMERIC(p, s) CR_FIELD_TEXT
#define CR__FKIND_JSON CR_FIELD_TEXT
#define CR__FKIND_UUID CR_FIELD_TEXT
#define CR__FKIND_ENUM(name, values) CR_FIELD_TEXT
#define CR__FKIND_DATE CR_FIELD_DATETIME
#define CR__FKIND_TIME CR_FIELD_DATETIME
#define CR__FKIND_DATETIME CR_FIELD_DATETIME
#define CR__FKIND_DATETIME_TZ CR_FIELD_DATETIME
#define CR__FKIND_LARGEBINARY CR_FIELD_BLOB

#define CR__MODEL_MEMBER(field, ...) CR__CAT(CR__CTYPE_, CR__TYPE_OF(__VA_ARGS__)) field;
#define CR__MODEL_FIELD(field, ...) \
    {offsetof(cr__model_self, field), CR__CAT(CR__FKIND_, CR__TYPE_OF(__VA_ARGS__))},

/* Relationship fields: ONE(T) a pointer, MANY(T) a collection. */
#define CR__RTYPE_ONE(T) struct T *
#define CR__RTYPE_MANY(T) cr_collection
#define CR__RDEF_ONE(T) .target = #T, .many = false
#define CR__RDEF_MANY(T) .target = #T, .many = true
#define CR__REL_MEMBER(field, ...) CR__CAT(CR__RTYPE_, CR__TYPE_OF(__VA_ARGS__)) field;
#define CR__REL_HANDLE_FIELD(field, ...) cr_relationship *field;
#define CR__REL_DEF(field, ...) \
    {.name = #field, .offset = offsetof(cr__model_self, field), CR__RDEF_##__VA_ARGS__},
#define CR__REL_HANDLE(field, ...) &t->r.field,

/* CR_DECLARE_MODEL(T, FIELDS) or (T, FIELDS, RELATIONSHIPS) */
#define CR__PICK3(a, b, c, name, ...) name
#define CR__PICK4(a, b, c, d, name, ...) name
#define CR_DECLARE_MODEL(...) \
    CR__PICK3(__VA_ARGS__, CR__DECLARE_MODEL_R, CR__DECLARE_MODEL_F, ~)(__VA_ARGS__)
#define CR_DEFINE_MODEL(...) \
    CR__PICK4(__VA_ARGS__, CR__DEFINE_MODEL_R, CR__DEFINE_MODEL_F, ~)(__VA_ARGS__)
#define CR_MODEL(...) CR__PICK4(__VA_ARGS__, CR__MODEL_R, CR__MODEL_F, ~)(__VA_ARGS__)
#define CR_DECLARE_MODEL_OF(...) \
    CR__PICK3(__VA_ARGS__, CR__DECLARE_MODEL_OF_R, CR__DECLARE_MODEL_OF_F, ~)(__VA_ARGS__)
#define CR_MODEL_OF(...) CR__PICK4(__VA_ARGS__, CR__MODEL_OF_R, CR__MODEL_OF_F, ~)(__VA_ARGS__)

/* The declarations besides the struct: T##_model and T##_define. */
#define CR__DECLARE_MODEL_OF_F(T, FIELDS)                                                  \
    typedef struct T T;                                                                    \
    typedef struct T##_model_t {                                                           \
        cr_mapper *mapper;                                                                 \
        cr_table *table;                                                                   \
        struct { FIELDS(CR__TABLE_FIELD) } c;                                              \
    } T##_model_t;                                                                         \
    extern T##_model_t T##_model;                                                          \
    cr_status T##_define(cr_metadata *md);

#define CR__DECLARE_MODEL_OF_R(T, FIELDS, RELS)                                            \
    typedef struct T T;                                                                    \
    typedef struct T##_model_t {                                                           \
        cr_mapper *mapper;                                                                 \
        cr_table *table;                                                                   \
        struct { FIELDS(CR__TABLE_FIELD) } c;                                              \
        struct { RELS(CR__REL_HANDLE_FIELD) } r;                                           \
    } T##_model_t;                                                                         \
    extern T##_model_t T##_model;                                                          \
    cr_status T##_define(cr_metadata *md);

/* The struct CR_MODEL declares. */
#define CR__STRUCT_F(T, FIELDS)                                                            \
    struct T {                                                                             \
        cr_object _cr;                                                                     \
        FIELDS(CR__MODEL_MEMBER)                                                           \
    };
#define CR__STRUCT_R(T, FIELDS, RELS)                                                      \
    struct T {                                                                             \
        cr_object _cr;                                                                     \
        FIELDS(CR__MODEL_MEMBER)                                                           \
        RELS(CR__REL_MEMBER)                                                               \
    };

#define CR__DECLARE_MODEL_F(T, FIELDS) CR__STRUCT_F(T, FIELDS) CR__DECLARE_MODEL_OF_F(T, FIELDS)
#define CR__DECLARE_MODEL_R(T, FIELDS, RELS) \
    CR__STRUCT_R(T, FIELDS, RELS) CR__DECLARE_MODEL_OF_R(T, FIELDS, RELS)

/* Compile-time checks of the struct a model maps (CR_MODEL_OF): it begins
 * with cr_object _cr, and each mapped member has the C type its SQL type
 * (or relationship) gives. A pointer to the member is what is compared, so
 * that an array (char name[32]) is not taken for the char * it decays to. */
#define CR__CHECK_BASE                                                                     \
    _Static_assert(offsetof(cr__model_self, _cr) == 0 &&                                   \
                       _Generic(&((cr__model_self *)0)->_cr, cr_object *: 1, default: 0),  \
                   "a mapped struct must begin with the member cr_object _cr");
#define CR__CHECK_MEMBER(field, ctype) CR__CHECK_MEMBER_(field, ctype)
#define CR__CHECK_MEMBER_(field, ctype)                                                    \
    _Static_assert(_Generic(&((cr__model_self *)0)->field, ctype *: 1, default: 0),        \
                   "the mapped member " #field " must be declared " #ctype " " #field);
#define CR__CHECK_FIELD(field, ...) \
    CR__CHECK_MEMBER(field, CR__CAT(CR__CTYPE_, CR__TYPE_OF(__VA_ARGS__)))
#define CR__CHECK_REL(field, ...) \
    CR__CHECK_MEMBER(field, CR__CAT(CR__RTYPE_, CR__TYPE_OF(__VA_ARGS__)))

#define CR__DEFINE_MODEL_BODY(T, tablename, FIELDS)                                        \
        typedef T cr__model_self;                                                          \
        CR__CHECK_BASE                                                                     \
        FIELDS(CR__CHECK_FIELD)                                                            \
        T##_model_t *t = &T##_model;                                                       \
        const cr_column_def defs[] = {FIELDS(CR__TABLE_DEF)};                              \
        const cr_field_def fields[] = {FIELDS(CR__MODEL_FIELD)};                           \
        cr_column **const handles[] = {FIELDS(CR__TABLE_HANDLE)};                          \
        cr_status st = cr_model_define(md, #T, tablename, sizeof(T), defs, fields,         \
                                       sizeof defs / sizeof defs[0], handles, &t->table,   \
                                       &t->mapper);

#define CR__DEFINE_MODEL_F(T, tablename, FIELDS)                                           \
    T##_model_t T##_model;                                                                 \
    cr_status T##_define(cr_metadata *md)                                                  \
    {                                                                                      \
        CR__DEFINE_MODEL_BODY(T, tablename, FIELDS)                                        \
        return st;                                                                         \
    }

#define CR__DEFINE_MODEL_R(T, tablename, FIELDS, RELS)                                     \
    T##_model_t T##_model;                                                                 \
    cr_status T##_define(cr_metadata *md)                                                  \
    {                                                                                      \
        CR__DEFINE_MODEL_BODY(T, tablename, FIELDS)                                        \
        RELS(CR__CHECK_REL)                                                                \
        const cr_relationship_def rels[] = {RELS(CR__REL_DEF)};                            \
        cr_relationship **const rhandles[] = {RELS(CR__REL_HANDLE)};                       \
        return st ? st : cr_model_relationships(t->mapper, rels,                           \
                                                sizeof rels / sizeof rels[0], rhandles);   \
    }

#define CR__MODEL_OF_F(T, tablename, FIELDS) \
    CR__DECLARE_MODEL_OF_F(T, FIELDS)        \
    CR__DEFINE_MODEL_F(T, tablename, FIELDS)
#define CR__MODEL_OF_R(T, tablename, FIELDS, RELS) \
    CR__DECLARE_MODEL_OF_R(T, FIELDS, RELS)        \
    CR__DEFINE_MODEL_R(T, tablename, FIELDS, RELS)
#define CR__MODEL_F(T, tablename, FIELDS) \
    CR__STRUCT_F(T, FIELDS) CR__MODEL_OF_F(T, tablename, FIELDS)
#define CR__MODEL_R(T, tablename, FIELDS, RELS) \
    CR__STRUCT_R(T, FIELDS, RELS) CR__MODEL_OF_R(T, tablename, FIELDS, RELS)

#endif /* CRUCIBLE_ORM_H */
