/* ast.h — the expression tree that statements are built of, shared by the schema and sql layers. */
#ifndef CR_AST_H
#define CR_AST_H

#include "base/base.h"

/* Every object a list may hold starts with one of these tags, so that a
 * list of `const void *` can be checked and told apart at run time. */
enum {
    CR_TAG_TABLE = 0x43725461,   /* cr_table   */
    CR_TAG_EXPR = 0x43724578,    /* cr_expr (a cr_column is one too) */
    CR_TAG_STMT = 0x43725374     /* cr_stmt    */
};

typedef enum cr_node_kind {
    CR_N_COLUMN,         /* a table's column (struct cr_column)             */
    CR_N_BIND,           /* a bound value                                   */
    CR_N_NULL, CR_N_TRUE, CR_N_FALSE,
    CR_N_LITERAL,        /* SQL text written by the program                 */
    CR_N_BINARY,         /* left op right                                   */
    CR_N_AND, CR_N_OR,   /* list                                            */
    CR_N_NOT,
    CR_N_IS_NULL, CR_N_IS_NOT_NULL,
    CR_N_IN, CR_N_NOT_IN,              /* left IN (list of binds)          */
    CR_N_IN_SELECT, CR_N_NOT_IN_SELECT,
    CR_N_BETWEEN,
    CR_N_LIKE_ESCAPE,    /* contains / startswith / endswith                */
    CR_N_SCALAR_SUB, CR_N_EXISTS,
    CR_N_ORDER,          /* asc / desc / nulls first / last                 */
    CR_N_FUNC,
    CR_N_COUNT_STAR,
    CR_N_CURRENT_TIMESTAMP,
    CR_N_LENGTH,
    CR_N_CASE,
    CR_N_CAST,
    CR_N_LABEL,
    CR_N_OVER,
    CR_N_ALIAS,          /* FROM item: table AS name                        */
    CR_N_SUBQUERY,       /* FROM item: (SELECT ...) AS name                 */
    CR_N_CTE,            /* FROM item: a CTE by name                        */
    CR_N_FROM_COLUMN,    /* a column of an alias / subquery / CTE           */
    CR_N_EXCLUDED        /* excluded.col / VALUES(col) in an upsert         */
} cr_node_kind;

typedef struct cr_expr cr_expr;
typedef struct cr_stmt cr_stmt;

/* A named placeholder (cr_bindparam): a bind whose value is given at each
 * execution. The column it meets types those values. */
typedef struct cr_param_node {
    const char *name;
    const struct cr_column *col;     /* set when it meets one, else NULL      */
    int plain_type;                  /* the cr_type a value given for it is
                                      * sent as it is (the column's own: an
                                      * INT for an integer column ...), or -1 */
} cr_param_node;

/* Flags of a CR_N_BIND. */
enum {
    CR_BIND_DEFAULT_FN = 1           /* a client default function's value: made
                                      * again at each execution               */
};

/* A list of nodes (or of items: tables, columns, expressions). */
typedef struct cr_list {
    void **items;
    size_t n, cap;
} cr_list;

/* Order flags of CR_N_ORDER. */
enum { CR_ORDER_DESC = 1, CR_ORDER_NULLS_FIRST = 2, CR_ORDER_NULLS_LAST = 4 };

struct cr_expr {
    uint32_t tag;                /* CR_TAG_EXPR                               */
    uint8_t kind;                /* cr_node_kind                              */
    uint8_t op;                  /* cr_operator, order flags ...              */
    uint8_t type;                /* cr_sqltype_kind of its value, or NONE     */
    uint8_t flags;               /* CR_N_BIND: CR_BIND_*                      */
    int bind_index;              /* CR_N_BIND: its place among the statement's
                                  * values, set each time the statement is keyed */
    uint32_t mark;               /* FROM items, binds: the key walk that saw it last */
    const char *hint;            /* CR_N_BIND: the column it meets, for its name */
    cr_stmt *owner;              /* the statement whose arena holds it; NULL
                                  * for a table's column                      */
    cr_param_node *param;        /* CR_N_BIND: a named placeholder, else NULL */
    union {
        cr_value value;                                  /* BIND              */
        const char *text;                                /* LITERAL, FUNC name */
        struct { cr_expr *left, *right; } bin;           /* BINARY            */
        struct { cr_expr *e; cr_expr *a, *b; char escape; } un; /* NOT, IS NULL,
                                                           ORDER, BETWEEN (a, b),
                                                           LIKE_ESCAPE (a: pattern) */
        cr_list list;                                    /* AND, OR           */
        struct { cr_expr *e; cr_expr **vals; size_t n; } in;   /* IN, NOT IN */
        struct { cr_expr *e; cr_stmt *sub; } sub;        /* IN_SELECT, SCALAR_SUB,
                                                            EXISTS, SUBQUERY, CTE */
        struct { const char *name; cr_list args; bool distinct; } func; /* FUNC */
        struct { cr_list whens, thens; cr_expr *otherwise; } cases;     /* CASE */
        struct { cr_expr *e; int type[4]; } cast;       /* CAST: cr_sqltype kind,
                                                           length, precision, scale */
        struct { cr_expr *e; const char *name; } label;  /* LABEL, ALIAS (e: the
                                                            table), SUBQUERY/CTE name */
        struct { cr_expr *e; cr_list partition, order; } over;  /* OVER      */
        struct { cr_expr *from; const char *name; struct cr_column *col; } fcol;
                                                         /* FROM_COLUMN, EXCLUDED */
    } u;
    /* FROM items (ALIAS, SUBQUERY, CTE) keep what they were made of here. */
    struct cr_table *table;      /* ALIAS: the aliased table                  */
    cr_stmt *stmt;               /* SUBQUERY, CTE: the SELECT                  */
    cr_stmt *recursive;          /* CTE: the recursive member                 */
    bool cte_recursive;
};

#endif
