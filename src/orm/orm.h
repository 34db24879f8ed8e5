/* orm.h — internal structures of the ORM: mappers, instance state, the session, the flush plan. */
#ifndef CR_ORM_H
#define CR_ORM_H

#include "engine/engine.h"
#include "sql/stmt.h"

/* One field: where it is in the struct, how it is stored, its column. */
typedef struct cr_field {
    size_t offset;
    cr_field_kind kind;
    struct cr_column *col;
    cr_type vtype;               /* the value type it binds as               */
} cr_field;

typedef enum cr_rel_kind {
    CR_REL_MANY_TO_ONE, CR_REL_ONE_TO_MANY, CR_REL_MANY_TO_MANY
} cr_rel_kind;

enum {
    CR_CASCADE_SAVE_UPDATE = 1, CR_CASCADE_MERGE = 2, CR_CASCADE_DELETE = 4,
    CR_CASCADE_DELETE_ORPHAN = 8, CR_CASCADE_REFRESH = 16, CR_CASCADE_EXPUNGE = 32
};

#define CR_REL_MAX_KEYS 8

/* A relationship of a mapper. Its keys pair columns as the foreign key does:
 *   many-to-one:  the parent's field fk[k] holds the target's field ref[k];
 *   one-to-many:  the target's field fk[k] holds the parent's field ref[k];
 *   many-to-many: secondary column sec_local[k] holds the parent's field
 *                 ref[k], sec_remote[k] the target's field tref[k]. */
struct cr_relationship {
    char *name;
    struct cr_relationship **handle; /* where the model's define stored it  */
    struct cr_mapper *parent;
    size_t index;                /* among the parent's relationships          */
    size_t offset;               /* of the field                              */
    bool many;                   /* a cr_collection, else a pointer           */
    char *target_name, *secondary_name, *back_name, *foreign_keys, *order_text;
    unsigned cascade;
    cr_loader lazy;
    bool passive_deletes, post_update, viewonly, single_parent;
    /* Resolved: */
    bool resolved;
    struct cr_mapper *target;
    cr_table *secondary;
    cr_rel_kind kind;
    size_t nkeys;
    size_t fk[CR_REL_MAX_KEYS], ref[CR_REL_MAX_KEYS];
    struct cr_column *sec_local[CR_REL_MAX_KEYS], *sec_remote[CR_REL_MAX_KEYS];
    size_t tref[CR_REL_MAX_KEYS], ntkeys;
    struct cr_relationship *back;
    size_t norder;
    struct cr_column *order[4];
    bool desc[4];
};

/* What an object knows about one of its relationships. A ONE field's value
 * as loaded or flushed is the snapshot struct's pointer. */
typedef struct cr_relstate {
    bool loaded;
    bool changed;                /* a collection changed since orig was taken */
    bool given;                  /* set by a call (cr_set_related, cr_append,
                                  * cr_remove): merge copies it from an object
                                  * never flushed even when empty            */
    bool raise;                  /* loaded by a query with raiseload          */
    bool collecting;             /* a joined load is filling it (gen)         */
    uint32_t gen;                /* the joined load that saw it last          */
    void **orig;                 /* a collection's members as loaded or
                                  * flushed (heap), norig of them             */
    size_t norig;
} cr_relstate;

struct cr_mapper {
    char *name;                  /* "User"                                   */
    cr_table *table;
    size_t size;                 /* the model struct                         */
    cr_field *fields;            /* one per column, in column order          */
    size_t nfields;
    size_t *pk;                  /* field indexes of the primary key, in key order */
    size_t npk;
    int autoinc;                 /* field the database generates, or -1      */
    int version;                 /* version_id_col field, or -1              */
    uint64_t null_init;          /* null bits a new object starts with       */
    uint64_t deferred;           /* fields its queries leave out (bit i: field
                                  * i), deferred(Column(...))                 */
    struct cr_relationship **rels;
    size_t nrels;
    size_t rel_off;              /* the cr_relstate array in an object       */
    /* Layout of an object's one allocation: instance, struct, snapshot
     * (a second struct), the field buffers, then text loaded with it. */
    size_t obj_off, snap_off, fbuf_off, alloc_size;
    struct cr_listener *listeners; /* mapper events, in the order registered */
    size_t nlisteners;
    unsigned listen_mask;        /* bit e: a listener of event e             */
    /* Where cr_model_define stored the handles (a model's globals): the
     * metadata clears them as it frees the mapper, so that cr_new(User)
     * after cr_metadata_free is NULL, not a freed mapper. */
    struct cr_mapper **handle;
    cr_table **table_handle;
    cr_column ***column_handles; /* nfields of them (entries may be NULL)  */
};

/* One listener of a mapper event (cr_mapper_listen). */
struct cr_listener {
    cr_mapper_event event;
    cr_mapper_listener fn;
    void *userdata;
};

/* The listeners of session events of a session or a sessionmaker. */
typedef struct cr_session_hooks {
    struct cr_session_hook {
        cr_session_event event;
        cr_session_listener fn;
        void *userdata;
    } *items;
    size_t n;
} cr_session_hooks;

#define CR_INSTANCE_MAGIC 0x4f524d49u

typedef enum cr_inst_state {
    CR_INST_TRANSIENT, CR_INST_PENDING, CR_INST_PERSISTENT, CR_INST_DELETED, CR_INST_DETACHED
} cr_inst_state;

/* What the session knows about one object. Lives in the object's allocation. */
typedef struct cr_instance {
    uint32_t magic;
    uint8_t state;               /* cr_inst_state                            */
    bool marked_delete;          /* persistent: DELETE at the next flush     */
    bool expired;
    bool in_map;                 /* in the session's identity map            */
    bool orphaned;               /* marked deleted by the flush running now
                                  * (delete-orphan): undone if it fails       */
    bool keys_back;              /* cr_session_restore put its fields back   */
    bool as_made;                /* its snapshot is as cr_new made it: never
                                  * flushed nor loaded                        */
    bool touched;                /* expired, a reference of it set since: the
                                  * next flush loads it, as SQLAlchemy's does
                                  * an object with an attribute set           */
    bool row_deleted;            /* detached by the commit of its DELETE: never
                                  * persistent again (SQLAlchemy's deleted)  */
    bool kept_out;               /* cr_session_expunge or cr_make_transient
                                  * took it out: the flush's cascade leaves it
                                  * out, and what links a session's object to
                                  * it is not written (SQLAlchemy cascaded at
                                  * the call, before), until it is added again */
    uint32_t seen_gen;           /* the joined load that listed it last       */
    uint32_t populated_gen;      /* the populate_existing run that reloaded it */
    const cr_mapper *mapper;
    void *obj;                   /* the model struct                         */
    struct cr_session *owner;    /* who frees it; NULL: the program          */
    struct cr_session *session;  /* pending / persistent / deleted in        */
    void *snap;                  /* the struct as last loaded or flushed (a new
                                  * object's: as made); its text and blobs are
                                  * the library's, in this allocation or heap */
    void **fbuf;                 /* nfields: text / blob the library gave the
                                  * field (it may be the snapshot's too)     */
    size_t size;                 /* of this allocation                       */
    uint64_t hash;               /* of the identity key (the snapshot's key) */
    struct cr_instance *prev, *next; /* the owner's list                     */
    uint64_t order;              /* when it was added: INSERT order          */
    int insert_level;            /* savepoint level its INSERT was flushed at;
                                  * -1: persistent before the transaction    */
    int delete_level;            /* same for its DELETE                       */
    struct cr_saved *saved;      /* the snapshots from before the flushed
                                  * changes of each savepoint level, innermost
                                  * first (cr_instance_save), or NULL         */
    uint64_t given;              /* as_made: fields a call set (bit i: field
                                  * i), set even when equal to as made       */
    uint64_t unloaded;           /* fields the query that loaded it left out
                                  * (deferred): they hold what they held (a
                                  * new object's NULL) until cr_load or a
                                  * query that selects them                  */
    const struct cr_relationship *left_parent; /* a delete-orphan collection of
                                  * a new parent that let this persistent
                                  * object go: an orphan at the flush unless it
                                  * has a parent again (SQLAlchemy's has-parent
                                  * flag; a persistent parent's collection
                                  * tells by itself)                          */
    struct flush_note *note;     /* the running flush's notes on it, or NULL  */
} cr_instance;

struct cr_session {
    cr_engine *engine;
    cr_conn *conn;               /* while a transaction is open              */
    cr_conn *bind;               /* a connection the program gave, or NULL   */
    bool bound;                  /* made with one: NULL bind means it closed */
    cr_conn_ref bind_ref;        /* clears bind when the program closes it   */
    bool outer_savepoint;        /* joined a transaction: works in a savepoint */
    bool autoflush, expire_on_commit;
    cr_error err;
    bool need_rollback;          /* a flush failed                           */
    bool nested_lost;            /* ... inside begin_nested, and rolled back
                                  * to its savepoint: rollback_nested closes
                                  * that level without SQL                   */
    bool flushing;
    bool listening;              /* a listener that may not use it runs      */
    bool committing;             /* a before_commit listener runs            */
    cr_objects **flushed;        /* an after_flush listener runs: what the
                                  * flush wrote (cr_session_set order)     */
    cr_session_hooks hooks;      /* session event listeners                   */
    bool unsaved;                /* objects may be pending or marked deleted:
                                  * set by add / delete / merge, cleared by a
                                  * flush and a rollback                     */
    bool rel_changed;            /* a relationship call changed one of its
                                  * objects: cleared by a flush and a rollback */
    int level;                   /* begin_nested savepoints open             */
    cr_instance *head, *tail;    /* objects it owns                          */
    struct {                     /* SELECT ... WHERE key = :pk_0 per mapper,  */
        const cr_mapper *m;      /* built once for get and refresh            */
        cr_stmt *q;
    } bykey[8];
    size_t nbykey;
    struct lazy_stmt {           /* the lazy load of a relationship            */
        const struct cr_relationship *r;
        cr_stmt *q;
    } *lazyq;
    size_t nlazyq;
    size_t lazy_loads;           /* lazy loads run                            */
    uint32_t load_gen;           /* joined loads run                          */
    uint32_t populate_gen;       /* the populate_existing run going on, or 0  */
    uint32_t populate_runs;      /* such runs so far                           */
    size_t *lazy_per_rel;        /* per relationship (by lazyq index)         */
    int lazy_warn;               /* N+1 report threshold, 0: off              */
    /* The identity map: open addressing, linear probing, each slot holding
     * its instance's key hash so that a probe reads no instance but the
     * one whose hash matches (session.c). At most half full. */
    struct cr_map_slot {
        uint64_t hash;
        cr_instance *in;         /* NULL: empty                              */
    } *slots;
    size_t nslots, nmap;         /* nslots: 0 or a power of two              */
    uint64_t order;
    /* read_from_replicas: whether conn is a read-only connection, and the
     * session's last commit, for its next reads to wait for ("" none;
     * token_lost: its position could not be read, so reads go to the
     * primary). */
    bool read_replicas, reading, token_lost;
    char token[CR_TOKEN_MAX];
};

struct cr_sessionmaker {
    cr_engine *engine;
    cr_session_options options;
    cr_session_hooks hooks;      /* copied into each session it makes       */
};

/* mapper.c */
/* The fields of m's primary key and of its table's foreign keys (bit i:
 * field i), as the table's constraints are now. */
uint64_t cr_mapper_key_fields(const cr_mapper *m);
void cr_mapper_free_relationships(cr_mapper *m);
cr_instance *cr_instance_of(const void *obj);
/* The field's value as it binds (text and blobs borrowed from the object). */
cr_value cr_field_value(const cr_instance *in, size_t i);
/* The primary key the fields hold into key (npk values); false when part of
 * it is NULL (a new object's, say). */
bool cr_field_key(const cr_instance *in, cr_value *key);
bool cr_value_same(const cr_value *a, const cr_value *b);
/* Set field i from v, text and blobs copied into memory the object owns. */
cr_status cr_field_store(cr_instance *in, size_t i, const cr_value *v);
/* cr_field_store in two steps, for a caller that must not fail halfway:
 * prepare copies v's text or blob (CR_ERR_NO_MEMORY: nothing to free), apply
 * stores it and cannot fail (v's text is no longer read). A prepared value
 * not applied is freed with cr_free(p->buf). */
typedef struct cr_field_prep {
    cr_value v;                  /* a scalar's value                          */
    char *buf;                   /* a text or blob's copy, NUL-terminated     */
    size_t len;
} cr_field_prep;
cr_status cr_field_prepare(const cr_instance *in, size_t i, const cr_value *v,
                           cr_field_prep *out);
void cr_field_apply(cr_instance *in, size_t i, cr_field_prep *p);
/* Make the snapshot the field values now (copies); CR_ERR_NO_MEMORY leaves
 * the old one. _fields: only the fields of the mask (bit i: field i). */
cr_status cr_snapshot_take(cr_instance *in);
cr_status cr_snapshot_take_fields(cr_instance *in, uint64_t fields);
/* Call the listeners of ev of the object's mapper, in the order registered,
 * with the session's connection, until one fails (its status returned);
 * the session refuses calls while they run. */
cr_status cr_mapper_fire(cr_session *s, const cr_instance *in, cr_mapper_event ev);
/* The error of a listener of ev that returned rc: the statement it ran on
 * the session's connection that failed, else "the <what> of User(id=5)
 * failed: its <event> listener returned ..." of rc's class (otherwise for a
 * value that is no cr_status). */
cr_status cr_mapper_listener_failed(cr_session *s, const cr_instance *in, cr_mapper_event ev,
                                    cr_status rc, const char *what, cr_status otherwise);
void cr_instance_destroy(cr_instance *in);
/* What a rollback undoes in memory. Before a flush first changes the row of
 * `in` at savepoint level (0: the transaction), cr_instance_save keeps its
 * snapshot (the row as that level found it). cr_instance_unsave, at a
 * rollback to level, makes fields and snapshot what was kept before level's
 * first change again and forgets the kept ones of level and deeper (true
 * when it did; out of memory leaves them as they were). A savepoint released
 * into level - 1 passes what it kept on (cr_instance_release_save); a commit
 * or the object leaving the session forgets everything kept
 * (cr_instance_forget_saves). */
cr_status cr_instance_save(cr_instance *in, int level);
bool cr_instance_unsave(cr_instance *in, int level);
void cr_instance_release_save(cr_instance *in, int level);
void cr_instance_forget_saves(cr_instance *in);
/* Expire a persistent object: its changes not flushed, to fields and
 * relationships, are discarded (as SQLAlchemy discards them), its
 * relationships unloaded; its fields reload when it is next handed out. */
void cr_instance_expire(cr_instance *in);
/* A new transient instance of m, zeroed, with extra bytes for text. */
cr_instance *cr_instance_alloc(const cr_mapper *m, size_t extra);
/* A new instance holding the row's columns [base, base + nfields): one
 * allocation, the text inside it. */
cr_instance *cr_instance_from_row(const cr_mapper *m, const cr_row *row, int base, cr_error *err);
/* Make field i NULL; clear its NULL (a sentinel becomes 0). */
void cr_instance_set_null(cr_instance *in, size_t i);
void cr_instance_clear_null(cr_instance *in, size_t i);
/* Field i as last loaded or flushed. */
cr_value cr_snap_value(const cr_instance *in, size_t i);
/* The hash of an identity key: its low bits well spread (the identity
 * map's slot), and a one-integer key's near its neighbours'. */
uint64_t cr_key_hash(const cr_value *vals, size_t n);
/* "User(id=5)" */
void cr_describe(const cr_instance *in, cr_buf *b);
/* Load the row's columns [base, base + nfields) into the object: the
 * fields of the mask (bit i: field i), the others left as they are. */
cr_status cr_instance_load_fields(cr_instance *in, const cr_row *row, int base, uint64_t fields,
                                  cr_error *err);
#define cr_instance_load_row(in, row, base, err) \
    cr_instance_load_fields((in), (row), (base), UINT64_MAX, (err))
/* The primary key of the mapper's object in the row (text borrowed from it). */
cr_status cr_row_key(const cr_mapper *m, const cr_row *row, int base, cr_value *key,
                     cr_error *err);

/* session.c */
cr_status cr_session_begin_if_needed(cr_session *s);
/* As cr_session_begin_if_needed, for work that writes: a session reading
 * from a replica moves to the primary first. */
cr_status cr_session_begin_for_write(cr_session *s);
/* End the session's transaction (and its savepoints): commit or roll back,
 * give the connection back. */
cr_status cr_session_end(cr_session *s, bool commit);
/* After a rollback to savepoint level (0: the whole transaction): undo what
 * the database forgot (objects inserted since and pending ones transient,
 * deleted ones persistent again, the rest expired). */
void cr_session_restore(cr_session *s, int level);
cr_status cr_session_fail(cr_session *s, cr_status cls, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
cr_status cr_session_enter(cr_session *s);
/* The error class of a listener's failure rc: rc, or otherwise when rc is
 * no cr_status. */
static inline cr_status cr_listener_class(cr_status rc, cr_status otherwise)
{
    return rc > CR_OK && rc <= CR_ERR_UNMAPPED_INSTANCE ? rc : otherwise;
}
/* Call the session's listeners of the event, given conn; a failure is the
 * session's error. _shut: the session refused to them meanwhile. */
cr_status cr_session_fire(cr_session *s, cr_session_event event, cr_conn *conn);
cr_status cr_session_fire_shut(cr_session *s, cr_session_event event, cr_conn *conn);
bool cr_session_listens(const cr_session *s, cr_session_event event);
/* Whether it has after_flush or after_flush_postexec listeners. */
bool cr_session_listens_after_flush(const cr_session *s);
cr_status cr_session_check(cr_session *s);
/* Execute a statement the ORM built on the session's connection: NULL with
 * the error on the session when it could not be built (NULL: out of
 * memory) or failed. The caller frees q. */
cr_result *cr_session_run(cr_session *s, cr_stmt *q);
/* The same, with values for q's placeholders (cr_bindparam). */
cr_result *cr_session_run_params(cr_session *s, cr_stmt *q, const cr_param *params);
/* Copy the connection's last error onto the session; returns its class. */
cr_status cr_session_conn_failed(cr_session *s, cr_conn *c);
cr_instance *cr_map_find(cr_session *s, const cr_mapper *m, const cr_value *key, uint64_t hash);
void cr_map_insert(cr_session *s, cr_instance *in);
/* The same, given the hash of in's key (cr_key_hash of its snapshot's). */
void cr_map_insert_hashed(cr_session *s, cr_instance *in, uint64_t hash);
void cr_map_remove(cr_session *s, cr_instance *in);
/* Empty the map at once (its instances' in_map is the caller's to clear). */
void cr_map_clear(cr_session *s);
cr_status cr_map_reserve(cr_session *s, size_t extra);
/* What cr_session_add refuses of an object: its DELETE flushed in s, or
 * committed (SQLAlchemy's "has been deleted"). */
cr_status cr_session_refuse_deleted(cr_session *s, cr_instance *in);
void cr_owner_link(cr_session *s, cr_instance *in);
/* Take in off its owner's list (nobody frees it then); no owner: nothing. */
void cr_owner_unlink(cr_instance *in);
cr_status cr_session_autoflush(cr_session *s);
/* Add one object (no cascade); expunge one. */
cr_status cr_session_add_instance(cr_session *s, cr_instance *in);
void cr_session_expunge_instance(cr_session *s, cr_instance *in);
/* Take an object out of the session (pending: transient; else detached)
 * but keep it the session's to free: what cr_session_expunge_instance does
 * before it hands the object to the program. A cascade (delete,
 * delete-orphan) that reaches a pending object uses it alone, since the
 * program may hold no pointer to that object. */
void cr_session_take_out(cr_session *s, cr_instance *in);

/* flush.c */
cr_status cr_flush(cr_session *s);
char *cr_flush_describe(cr_session *s);
/* Whether a flush would write anything (a dry plan; one that cannot be
 * made counts). */
bool cr_flush_has_work(cr_session *s);
/* Append obj to list, whose items have room for *cap; false when out of
 * memory (list then freed). */
bool cr_objects_push(cr_objects *list, size_t *cap, void *obj);
/* A new list of list's objects; NULL when out of memory. */
cr_objects *cr_objects_copy(const cr_objects *list);
/* Whether a persistent object's fields differ from its snapshot. */
bool cr_instance_dirty(const cr_instance *in);
/* Whether a collection of the object changed, or a ONE field holds another
 * object than when last loaded or flushed. */
bool cr_instance_rel_changed(const cr_instance *in);
bool cr_instance_same_bytes(const cr_instance *in);

/* relationship.c */
cr_relstate *cr_relstate_of(const cr_instance *in, size_t r);
/* The field of relationship r in the object: a pointer or a collection. */
void **cr_rel_ref(const cr_instance *in, const cr_relationship *r);
void **cr_rel_snap_ref(const cr_instance *in, const cr_relationship *r);
cr_collection *cr_rel_coll(const cr_instance *in, const cr_relationship *r);
/* Resolve r when it is not yet; an error on err names it. */
cr_status cr_rel_ready(cr_relationship *r, cr_error *err);
/* Every relationship of m resolved (configure_mappers at first use): the
 * first that cannot be is the error. */
cr_status cr_mapper_rels_ready(const cr_mapper *m, cr_error *err);
/* A many-to-many's join condition with its secondary table: the target's
 * key columns (target_side) or the parent's against the secondary's. */
cr_expr *cr_rel_secondary_on(cr_stmt *q, const cr_relationship *r, bool target_side);
/* The condition of r (not many-to-many) between parent_from and
 * target_from: the tables themselves when NULL, else aliases of them
 * (loading.c). */
cr_expr *cr_rel_on(cr_stmt *q, const cr_relationship *r, cr_expr *parent_from,
                   cr_expr *target_from);
/* Whether q reads table t itself (not an alias of it): selects it, names
 * it in FROM or joins it (loading.c). */
bool cr_stmt_reads_table(const cr_stmt *q, const cr_table *t);
/* cr_rel_secondary_on between aliases (NULL: the table itself): `from` of the parent's
 * or the target's table, secondary_from of the secondary (loading.c). */
cr_expr *cr_rel_secondary_on_from(cr_stmt *q, const cr_relationship *r, bool target_side,
                                  cr_expr *from, cr_expr *secondary_from);
/* Make the other side of r on `other` name `in` (add) or not, when loaded. */
cr_status cr_rel_back_link(cr_instance *other, const cr_relationship *r, cr_instance *in,
                           bool add);
/* Load relationship r of the object now, as cr_load does. */
cr_status cr_rel_load(cr_session *s, cr_instance *in, cr_relationship *r);
/* Whether r's parent deletes the children it lets go of (a one-to-many
 * with delete-orphan, not viewonly). */
bool cr_rel_deletes_orphans(const cr_relationship *r);
/* Whether the target a parent lets go of through r is deleted: a
 * many-to-one or many-to-many with delete-orphan (and single_parent). */
bool cr_rel_orphans_target(const cr_relationship *r);
/* The members of a ONE or MANY relationship as an array (a ONE: 0 or 1). */
size_t cr_rel_members(const cr_instance *in, const cr_relationship *r, void ***items,
                      void **one);
/* Mark relationships of an object loaded and take their snapshot (a new
 * object, after a flush). CR_ERR_NO_MEMORY leaves the old ones. */
cr_status cr_rel_snapshot(cr_instance *in);
void cr_rel_forget(cr_instance *in);          /* free what relstate holds   */
void cr_rel_expire(cr_instance *in);
/* Whether p is among list[0..n-1] (a collection's members, its snapshot). */
bool cr_ptr_in(void *const *list, size_t n, const void *p);
/* Empty what an object's relationships not loaded hold (stale members of
 * an expiry), but for references and collections set since: a transient
 * object keeps only what it holds (SQLAlchemy's make_transient drops
 * expired attributes). */
void cr_rel_drop_unloaded(cr_instance *in);
/* Put relationships back as last loaded or flushed (a rollback). */
void cr_rel_restore(cr_instance *in);
/* Point each many-to-one of `in` (and its snapshot) at the session's object
 * of the key its fields hold, or NULL (not in the identity map, or a NULL
 * key): after a rollback put the fields back. */
void cr_rel_match_keys(cr_session *s, cr_instance *in);
bool cr_collection_has(const cr_collection *c, const void *obj);
cr_status cr_collection_push(cr_collection *c, void *obj);
bool cr_collection_drop(cr_collection *c, const void *obj);
/* Set a loaded collection (or ONE) to objs, marking it loaded. */
cr_status cr_rel_set_loaded(cr_instance *in, cr_relationship *r, void **objs, size_t n);
/* The save-update cascade of session.add: in added, then what its loaded
 * relationships reach; an object reached whose DELETE was flushed is an
 * error, as in SQLAlchemy. */
cr_status cr_rel_cascade_add(cr_session *s, cr_instance *in);
/* The same pass in a flush, standing in for SQLAlchemy's attribute events:
 * an object reached whose DELETE was flushed is passed by (it may sit in a
 * collection loaded before its delete, which no event would cascade from). */
cr_status cr_rel_flush_cascade_add(cr_session *s, cr_instance *in);
/* Cascade delete from in (cr_session_delete). */
cr_status cr_rel_cascade_delete(cr_session *s, cr_instance *in, bool orphan);
/* Whether cr_rel_cascade_delete has a relationship of in to load. */
bool cr_rel_delete_loads(const cr_instance *in);
/* cascade.c: expunge in and what it reaches along expunge cascades;
 * expire it and what it reaches along refresh-expire (loaded
 * relationships only, as SQLAlchemy's cascade_iterator). */
cr_status cr_cascade_expunge(cr_session *s, cr_instance *in);
/* What cr_cascade_expunge would take out, in first, without taking it:
 * the caller frees *out. */
cr_status cr_cascade_expunge_list(cr_session *s, cr_instance *in, cr_instance ***out,
                                  size_t *nout);
cr_status cr_cascade_expire(cr_session *s, cr_instance *in);
/* Load what the query's loader options ask for the objects it loaded. */
cr_status cr_rel_eager(cr_session *s, cr_stmt *q, const cr_mapper *m, void **objs, size_t n);

/* loading.c: joined eager loads, run inside a query's own statement. The
 * entries are in path order: an entry's parent comes before it. */
typedef struct cr_joined {
    size_t n;
    struct cr_relationship *rels[8];
    int base[8];                 /* where the target's columns start in a row */
    int from[8];                 /* the entry whose child is the parent; -1:
                                  * the row's own object                      */
    uint64_t unloaded[8];        /* the target's fields the row leaves out    */
    bool restore;                /* q was extended in place:                  */
    size_t ncolumns, njoins, norder;   /* q's lists before                   */
    cr_stmt *outer;              /* or the SELECT wrapping q, to run instead  */
    uint32_t gen;
} cr_joined;
/* Add q's joined relationships (joinedload, contains_eager, and their
 * chains) for one run: how many (0: none), SIZE_MAX on error (on the
 * session). Run cr_joined_stmt(q, j); cr_joined_end undoes it once the
 * result is freed. */
size_t cr_joined_begin(cr_session *s, cr_stmt *q, const cr_mapper *m, cr_joined *j);
#define cr_joined_stmt(q, j) ((j)->outer ? (j)->outer : (q))
void cr_joined_end(cr_stmt *q, cr_joined *j);
cr_status cr_joined_row(cr_session *s, cr_joined *j, cr_instance *parent, const cr_row *row);
cr_status cr_joined_finish(cr_session *s, cr_joined *j, void **objs, size_t n);

/* query.c */
/* Field i of m as a SELECT item read from `from` (NULL: m's table): its
 * column, or NULL named as the column when bit i of unloaded leaves it
 * out, so that rows keep the model's layout. */
cr_expr *cr_field_item(cr_stmt *q, cr_expr *from, const cr_mapper *m, size_t i,
                       uint64_t unloaded);
/* Add m's fields to q's columns, those of unloaded left out but for the
 * ones every load reads (key, version, foreign keys). */
void cr_mapper_columns(cr_stmt *q, cr_expr *from, const cr_mapper *m, uint64_t unloaded);
/* The placeholder names of a key's values: "pk_0" .. "pk_7". */
extern const char *const cr_key_names[8];
/* The session's object for the row's columns [base, base + nfields), of
 * which those of unloaded are placeholders (deferred fields). */
void *cr_session_object_at(cr_session *s, const cr_mapper *m, const cr_row *row, int base,
                           uint64_t unloaded);
/* Objects of q's rows, run with values for its placeholders. */
cr_objects *cr_session_all_params(cr_session *s, cr_stmt *q, const cr_param *params);
/* Reload one object by its key (refresh / an expired object handed out). */
cr_status cr_instance_reload(cr_session *s, cr_instance *in);
/* cr_session_refresh's reload of an expired object: its fields, and the
 * relationships that load eagerly by default (joined in its SELECT,
 * selectin after it, as SQLAlchemy's refresh does); a row gone is
 * CR_ERR_OBJECT_DELETED. */
cr_status cr_instance_refresh(cr_session *s, cr_instance *in);
/* Load field i of an object of s, left out by the query that loaded it
 * (deferred): one SELECT of its column by key; an expired object is
 * reloaded first. A field set since keeps its value. */
cr_status cr_instance_load_field(cr_session *s, cr_instance *in, size_t i);

#endif
