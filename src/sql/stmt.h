/* stmt.h — internal structure of statements, their keys and their compiled form. */
#ifndef CR_STMT_H
#define CR_STMT_H

#include "dialects/dialect.h"
#include "engine/memo.h"
#include "schema/schema.h"
#include "sql/ast.h"

typedef enum cr_stmt_kind {
    CR_STMT_SELECT, CR_STMT_INSERT, CR_STMT_UPDATE, CR_STMT_DELETE, CR_STMT_COMPOUND
} cr_stmt_kind;

typedef enum cr_join_kind { CR_JOIN_INNER, CR_JOIN_LEFT, CR_JOIN_FULL } cr_join_kind;
typedef enum cr_compound_op {
    CR_UNION, CR_UNION_ALL, CR_INTERSECT, CR_EXCEPT
} cr_compound_op;
typedef enum cr_correlate_mode {
    CR_CORRELATE_AUTO,           /* SQLAlchemy's auto-correlation             */
    CR_CORRELATE_ONLY,           /* correlate(items): those only              */
    CR_CORRELATE_EXCEPT          /* correlate_except(items): all but those    */
} cr_correlate_mode;
typedef enum cr_conflict_kind { CR_CONFLICT_NONE, CR_CONFLICT_NOTHING, CR_CONFLICT_UPDATE } cr_conflict_kind;

typedef struct cr_join_clause {
    const void *target;          /* cr_table * or a FROM node                 */
    cr_expr *on;
    cr_join_kind kind;
} cr_join_clause;

/* A statement's use of an expression (or FROM item) built on another one,
 * not (yet) part of the same statement tree: checked when it is compiled,
 * by serial number, so that a freed statement is never read. */
typedef struct cr_foreign {
    uint64_t serial;             /* the owner's serial                       */
    cr_stmt_kind kind;           /* the owner's kind, for the message        */
    const char *what;            /* the call that took it                    */
} cr_foreign;

/* col = value in a VALUES row, a SET list or an upsert's SET. */
typedef struct cr_assign {
    struct cr_column *col;
    cr_expr *value;
} cr_assign;

struct cr_stmt {
    uint32_t tag;                /* CR_TAG_STMT                               */
    cr_stmt_kind kind;
    cr_error *err;               /* first building error, or NULL             */
    cr_error *compile_err;       /* the last compile's error (cls CR_OK: none);
                                  * not a building error: the next compile
                                  * (another dialect) starts clean            */
    uint64_t serial;             /* unique per statement made                 */
    cr_stmt *parent;             /* the statement that adopted this one       */
    cr_list foreign;             /* cr_foreign *: expressions of others used  */
    cr_arena arena;              /* every node built for the statement        */
    cr_list adopted;             /* statements this one frees                 */

    /* SELECT */
    cr_list columns;             /* items: tables, expressions               */
    cr_list froms;               /* explicit FROM items                       */
    cr_list joins;               /* cr_join_clause *, onto the first FROM            */
    cr_expr *where, *having;
    cr_list group_by, order_by;
    cr_expr *limit, *offset;     /* binds                                     */
    bool distinct;
    int for_update;              /* -1: none; else CR_FOR_* flags             */
    cr_list ctes;                /* CTE nodes, in the order they were made    */
    cr_correlate_mode correlate; /* and its FROM items: */
    cr_list correlate_items;
    /* ORM (orm/): the mapper whose objects the SELECT loads, and the session
     * a session.query() statement runs through. Opaque here. */
    const void *orm_mapper;
    void *orm_session;
    void *orm_loads;             /* loader options (in the arena)             */
    bool orm_populate;           /* populate_existing                         */
    bool orm_fields;             /* columns 0 .. nfields-1 are the model's
                                  * fields one by one (some left out)         */
    uint64_t orm_unloaded;       /* those left out (defer, load_only)         */

    /* INSERT, UPDATE, DELETE */
    struct cr_table *table;
    cr_list row;                 /* cr_assign *: the row being set / the SET list */
    cr_list rows;                /* cr_list *: finished rows of a multi-row VALUES */
    cr_stmt *from_select;
    cr_list from_select_cols;
    cr_list returning;
    bool return_defaults;        /* fetch back server defaults (INSERT)       */
    cr_conflict_kind conflict;
    cr_list conflict_cols, conflict_sets;

    /* COMPOUND */
    cr_compound_op op;
    cr_stmt *left, *right;

    /* Scratch of one execution, rebuilt by cr_stmt_key. */
    cr_list eff_rows;            /* INSERT: each row's cr_assign * list with
                                  * client defaults added; UPDATE: one list   */
    cr_buf key;                  /* the shape                                 */
    cr_value *binds;             /* values in bind_index order                */
    size_t nbinds, bindcap;
    /* What the last keying found, kept while q is unchanged: a statement run
     * again with new values for its placeholders is not keyed again. */
    bool keyed;                  /* key, binds and layout are current         */
    cr_prepared_memo memo;       /* the prepared statement the key found last */
    bool rekey_each_time;        /* a client default gave text or bytes,
                                  * copied into the arena by keying           */
    struct cr_placeholder *placeholders;   /* heap, nplaceholders of them     */
    size_t nplaceholders, placeholdercap;
    bool placeholders_plain;     /* each rendered once, names all different:
                                  * values given in their order bind directly */

    /* A small statement lives in one allocation: its first arena chunk,
     * key and values are here. Must stay last (not zeroed when made). */
    cr_value inline_binds[8];
    char inline_key[256];
    _Alignas(max_align_t) unsigned char inline_arena[1536];
};

/* A placeholder met by the key walk, in walk order: its node and its
 * bind index (-1 when it is not rendered, inside an empty IN). */
typedef struct cr_placeholder {
    cr_expr *e;
    int bind_index;
} cr_placeholder;

/* One output column of a compiled SELECT (or RETURNING). */
typedef struct cr_result_column {
    char *name;
    const struct cr_column *col; /* the table column it is, or NULL            */
} cr_result_column;

/* A statement compiled for a dialect. */
struct cr_compiled {
    char *sql;
    size_t nslots;
    int *slot_bind;              /* placeholder k takes bind slot_bind[k]     */
    char **param_names;          /* per placeholder                           */
    cr_value *param_values;      /* per placeholder (cr_stmt_compile only)    */
    size_t ncolumns;
    cr_result_column *columns;   /* what the rows hold                        */
    /* INSERT: how to give inserted_primary_key. */
    bool pk_returning;           /* RETURNING of the generated key was added:
                                  * the first returned column                 */
    bool defaults_returning;     /* return_defaults: the RETURNING columns are
                                  * kept for cr_result_returned_defaults      */
};

/* Whether name may name a placeholder (cr_bindparam): letters, digits and
 * '_', not starting with a digit, 1 to CR_PARAM_NAME_MAX characters. */
#define CR_PARAM_NAME_MAX 100
bool cr_is_param_name(const char *name);

/* Compute q's key and bind values for this execution (client defaults
 * evaluated now). CR_OK or q's error. */
cr_status cr_stmt_key(cr_stmt *q);
/* q (or a statement inside it) changed: what its last keying found is no
 * longer current, nor that of the statements enclosing it. */
void cr_stmt_changed(cr_stmt *q);
/* Make q's bind values current for another execution without keying it
 * again (client default functions evaluated now), when q is unchanged since
 * its last keying; else key it (cr_stmt_key). CR_OK or q's error. */
cr_status cr_stmt_key_again(cr_stmt *q);
/* Whether cr_stmt_key_again(q) has nothing to do: q keyed, unchanged since,
 * without an error, and no INSERT or UPDATE (whose client default functions
 * are evaluated again). */
static inline bool cr_stmt_key_is_current(const cr_stmt *q)
{
    return q->keyed && !q->err && (!q->compile_err || cr_error_is_clear(q->compile_err)) &&
           q->kind != CR_STMT_INSERT && q->kind != CR_STMT_UPDATE;
}

/* Whether v fits a column col, converting it to what the column holds (an
 * integer to a boolean or a double, ISO-8601 text to a datetime). CR_OK, or
 * the error's class with a message in msg ("column t.c is INTEGER, which
 * takes an integer; ..."). */
cr_status cr_value_fit_column(cr_value *v, const struct cr_column *col, char *msg, size_t n);

/* Compile q (keyed) for dialect d. implicit_pk: add RETURNING of the
 * primary key to a one-row INSERT where the dialect needs it. */
cr_status cr_stmt_compile_into(cr_stmt *q, const cr_dialect *d, bool implicit_pk,
                               cr_compiled *out, cr_error *err);
void cr_compiled_clear(cr_compiled *c);

/* Every expression q's tree uses belongs to a statement of the tree; else
 * CR_ERR_INVALID_REQUEST naming both statements (a compile error). */
cr_status cr_stmt_check_owners(cr_stmt *q);

/* Record a compile error of q: reported by cr_stmt_error until the next
 * compile or execution, never a building error. Returns cls. */
cr_status cr_stmt_compile_fail(cr_stmt *q, cr_status cls, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Take back sub, which q adopted for one execution (the ORM's count and
 * exists wrap a query the program still owns): q no longer frees it and sub
 * may be adopted again. */
void cr_stmt_unadopt(cr_stmt *q, cr_stmt *sub);
/* Room for one more adopted statement, so that adopting one cannot fail
 * for memory (which would free it). */
bool cr_stmt_reserve_adoption(cr_stmt *q);

/* Record a building error on q (first wins). */
void cr_stmt_fail(cr_stmt *q, cr_status cls, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Call fn for each expression e is made of (not looking into the
 * statements of subqueries). */
void cr_expr_each_child(const cr_expr *e, void (*fn)(const cr_expr *child, void *ctx),
                        void *ctx);
/* The same, by the slot that holds each child, for a rewrite to replace. */
void cr_expr_each_slot(cr_expr *e, void (*fn)(cr_expr **slot, void *ctx), void *ctx);
/* e built on q with t's columns read from alias (an alias of t) instead, as
 * SQLAlchemy adapts a condition to an aliased table: the nodes above such a
 * column copied on q, the rest shared. A subquery, window or FROM item in e
 * fails q (CR_ERR_NOT_SUPPORTED, what naming the call); NULL then. */
cr_expr *cr_expr_adapt(cr_stmt *q, cr_expr *e, const struct cr_table *t, cr_expr *alias,
                       const char *what);

/* The assignment of col in a VALUES row or SET list, or NULL. */
const cr_assign *cr_assign_find(const cr_list *row, const struct cr_column *col);

/* Lists (arena-backed when a is given, else heap). */
bool cr_list_push(cr_arena *a, cr_list *l, void *item);

/* A unique, never reused number per table (key material that survives the
 * table's address being reused). */
uint64_t cr_table_serial(const struct cr_table *t);

#endif
