/* schema.h — internal structures of MetaData, Table, Column and constraints. */
#ifndef CR_SCHEMA_H
#define CR_SCHEMA_H

#include "sql/ast.h"

typedef enum cr_constraint_kind {
    CR_CONSTRAINT_PRIMARY_KEY,
    CR_CONSTRAINT_UNIQUE,
    CR_CONSTRAINT_CHECK,
    CR_CONSTRAINT_FOREIGN_KEY,
    CR_CONSTRAINT_INDEX
} cr_constraint_kind;

/* A table-level constraint or index. Column-level options (unique, index,
 * foreign_key) are turned into these when the column is added, so DDL and
 * reflection deal with one form. */
typedef struct cr_constraint {
    cr_constraint_kind kind;
    char *name;                  /* after the naming convention; NULL: unnamed */
    struct cr_column **cols;     /* ncols columns of the table                */
    size_t ncols;
    char *sqltext;               /* CHECK                                     */
    char **ref_tables;           /* FOREIGN KEY: "table" of each ref           */
    char **ref_columns;          /* FOREIGN KEY: "column" of each ref          */
    char *ondelete, *onupdate;   /* FOREIGN KEY, NULL when not given           */
    bool unique;                 /* INDEX                                     */
} cr_constraint;

struct cr_column {
    cr_expr base;                /* kind CR_N_COLUMN; type = its kind          */
    char *name;
    struct cr_table *table;
    size_t index;                /* position in the table                      */
    cr_sqltype type;             /* enum_values / enum_name owned (copied)     */
    bool primary_key;
    cr_tristate autoincrement;   /* as declared                                */
    bool nullable;               /* resolved                                   */
    bool unique, indexed;
    cr_value default_value;      /* text / blob bytes owned                    */
    cr_default_fn default_fn;
    char *server_default;
    cr_value onupdate_value;
    cr_default_fn onupdate_fn;
    char *comment;
    cr_tristate nullable_declared; /* as declared, to resolve again when a
                                    * PRIMARY KEY constraint names the column */
};

struct cr_table {
    uint32_t tag;                /* CR_TAG_TABLE                               */
    char *name;
    struct cr_metadata *md;
    struct cr_column **cols;
    size_t ncols, cap;
    cr_constraint **constraints; /* in declaration order; at most one PK       */
    size_t ncons, conscap;
    uint64_t serial;             /* set on first use by cr_table_serial (sql/) */
    struct cr_column **pkcols;   /* columns declared primary_key, in order     */
    size_t npk, pkcap;
    /* The ORM's mapper of the table (orm/), freed with the table. */
    void *mapper;
    void (*mapper_free)(void *mapper);
};

struct cr_metadata {
    cr_error err;                /* first building error                       */
    cr_naming_convention naming; /* owned copies                               */
    struct cr_table **tables;
    size_t ntables, cap;
};

/* The table's primary key columns in key order (a PRIMARY KEY constraint
 * when there is one, else the columns declared primary_key), and how many. */
size_t cr_table_pk(const cr_table *t, struct cr_column *const **cols);
/* The column whose value the database generates on INSERT (SERIAL,
 * AUTO_INCREMENT, rowid), or NULL: the single integer primary key column
 * unless autoincrement = CR_NO, or a column with autoincrement = CR_YES. */
struct cr_column *cr_table_autoincrement(const cr_table *t);

#endif
