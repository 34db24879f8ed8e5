/* crucible/schema.h — schema in C: MetaData, Table, Column, types, constraints, DDL, Inspector.
 *
 * Included by crucible.h; not meant to be included on its own.
 *
 * A cr_metadata owns its tables, a table owns its columns and constraints.
 * Tables are declared in one of two ways:
 *
 *   Statically, so that a misspelled column is a compile error. List the
 *   columns in an X-macro — name, type, then options of cr_column_def — and
 *   declare the table's struct from it:
 *
 *       #define USERS(COLUMN)                                                 \
 *           COLUMN(id,         INTEGER,     .primary_key = true)              \
 *           COLUMN(name,       STRING(50),  .nullable = CR_NO)                \
 *           COLUMN(is_active,  BOOLEAN,     .default_value = cr_val_bool(true))  \
 *           COLUMN(created_at, DATETIME,    .default_fn = cr_val_now)
 *       CR_DECLARE_TABLE(users_table, USERS)
 *
 *       users_table users;
 *       users_table_define(&users, metadata, "users");
 *       ... cr_eq(q, users.c.name, "Alice") ...   users.c.nmae does not compile
 *
 *   At run time, by name (reflected or dynamic tables): cr_table_new,
 *   cr_table_add_column, and cr_table_column to find a column by name.
 *
 * Metadata is built by one thread and then read by any number (statements
 * only read it). Errors while building are kept on the metadata
 * (cr_metadata_error); DDL errors are reported on the connection that ran it.
 */
#ifndef CRUCIBLE_SCHEMA_H
#define CRUCIBLE_SCHEMA_H

/* ------------------------------------------------------------------------
 * Types
 * ------------------------------------------------------------------------ */

typedef enum cr_sqltype_kind {
    CR_SQLTYPE_NONE = 0,     /* unknown (an expression's type not yet known) */
    CR_SQLTYPE_INTEGER,      /* Integer                                      */
    CR_SQLTYPE_SMALLINT,     /* SmallInteger                                 */
    CR_SQLTYPE_BIGINT,       /* BigInteger                                   */
    CR_SQLTYPE_STRING,       /* String(length); length 0: unbounded          */
    CR_SQLTYPE_TEXT,         /* Text                                         */
    CR_SQLTYPE_BOOLEAN,      /* Boolean                                      */
    CR_SQLTYPE_FLOAT,        /* Float (single precision where the backend has it) */
    CR_SQLTYPE_DOUBLE,       /* Double                                       */
    CR_SQLTYPE_NUMERIC,      /* Numeric(precision, scale)                    */
    CR_SQLTYPE_DATE,         /* Date                                         */
    CR_SQLTYPE_TIME,         /* Time                                         */
    CR_SQLTYPE_DATETIME,     /* DateTime(timezone)                           */
    CR_SQLTYPE_BINARY,       /* LargeBinary                                  */
    CR_SQLTYPE_JSON,         /* JSON: text holding a JSON document; the
                              * document null reads as NULL (SQLAlchemy's None) */
    CR_SQLTYPE_UUID,         /* Uuid: text "xxxxxxxx-xxxx-..."               */
    CR_SQLTYPE_ENUM          /* Enum(values...)                              */
} cr_sqltype_kind;

/* A column's SQL type. Build one with the CR_SQL_* macros below. */
typedef struct cr_sqltype {
    cr_sqltype_kind kind;
    int length;                      /* String: characters; 0 = unbounded     */
    int precision, scale;            /* Numeric                               */
    bool timezone;                   /* DateTime, Time: WITH TIME ZONE        */
    const char *const *enum_values;  /* Enum: NULL-terminated list            */
    const char *enum_name;           /* Enum: the type's name (PostgreSQL)    */
} cr_sqltype;

/* Type initializers, usable in cr_column_def and anywhere a cr_sqltype is
 * initialized. In CR_DECLARE_TABLE columns the CR_SQL_ prefix is left out. */
#define CR_SQL_INTEGER           {CR_SQLTYPE_INTEGER, 0, 0, 0, false, NULL, NULL}
#define CR_SQL_SMALLINTEGER      {CR_SQLTYPE_SMALLINT, 0, 0, 0, false, NULL, NULL}
#define CR_SQL_BIGINTEGER        {CR_SQLTYPE_BIGINT, 0, 0, 0, false, NULL, NULL}
#define CR_SQL_STRING(n)         {CR_SQLTYPE_STRING, (n), 0, 0, false, NULL, NULL}
#define CR_SQL_TEXT              {CR_SQLTYPE_TEXT, 0, 0, 0, false, NULL, NULL}
#define CR_SQL_BOOLEAN           {CR_SQLTYPE_BOOLEAN, 0, 0, 0, false, NULL, NULL}
#define CR_SQL_FLOAT             {CR_SQLTYPE_FLOAT, 0, 0, 0, false, NULL, NULL}
#define CR_SQL_DOUBLE            {CR_SQLTYPE_DOUBLE, 0, 0, 0, false, NULL, NULL}
#define CR_SQL_NUMERIC(p, s)     {CR_SQLTYPE_NUMERIC, 0, (p), (s), false, NULL, NULL}
#define CR_SQL_DATE              {CR_SQLTYPE_DATE, 0, 0, 0, false, NULL, NULL}
#define CR_SQL_TIME              {CR_SQLTYPE_TIME, 0, 0, 0, false, NULL, NULL}
#define CR_SQL_DATETIME          {CR_SQLTYPE_DATETIME, 0, 0, 0, false, NULL, NULL}
#define CR_SQL_DATETIME_TZ       {CR_SQLTYPE_DATETIME, 0, 0, 0, true, NULL, NULL}
#define CR_SQL_LARGEBINARY       {CR_SQLTYPE_BINARY, 0, 0, 0, false, NULL, NULL}
#define CR_SQL_JSON              {CR_SQLTYPE_JSON, 0, 0, 0, false, NULL, NULL}
#define CR_SQL_UUID              {CR_SQLTYPE_UUID, 0, 0, 0, false, NULL, NULL}
/* name: the type's name on PostgreSQL; values: a NULL-terminated array. */
#define CR_SQL_ENUM(name, values) {CR_SQLTYPE_ENUM, 0, 0, 0, false, (values), (name)}

/* The type's SQLAlchemy name: "INTEGER", "VARCHAR(50)", "NUMERIC(10, 2)" ...
 * into buf (as snprintf; returns the length needed). buf may be NULL when
 * size is 0; -1, writing nothing, when type is NULL or buf is NULL with a
 * size. */
CR_API int cr_sqltype_render(const cr_sqltype *type, char *buf, size_t size);

/* ------------------------------------------------------------------------
 * MetaData, tables, columns
 * ------------------------------------------------------------------------ */

typedef struct cr_metadata cr_metadata;
typedef struct cr_table cr_table;
typedef struct cr_column cr_column;

/* A default computed on the client at each INSERT (or UPDATE, for onupdate),
 * as Column(default=datetime.now) does. Text it returns must stay valid
 * until the statement is executed (a string literal, say). */
typedef cr_value (*cr_default_fn)(void);

/* What a column is. Zero fields take SQLAlchemy's defaults. */
typedef struct cr_column_def {
    const char *name;
    cr_sqltype type;
    bool primary_key;
    /* CR_AUTO: an integer primary key that is the table's only one
     * autoincrements (SERIAL / AUTO_INCREMENT / rowid). */
    cr_tristate autoincrement;
    /* CR_AUTO: nullable unless part of the primary key. */
    cr_tristate nullable;
    bool unique;                    /* UNIQUE (an unnamed constraint)        */
    bool index;                     /* CREATE INDEX ix_<table>_<column>      */
    cr_value default_value;         /* client-side constant (CR_NULL: none)  */
    cr_default_fn default_fn;       /* client-side callback                  */
    const char *server_default;     /* DEFAULT clause text: "0", "now()" ... */
    cr_value onupdate_value;        /* applied by UPDATE when not given      */
    cr_default_fn onupdate_fn;
    const char *comment;
    /* ForeignKey("users.id"): "table.column" (or "schema.table.column"). */
    const char *foreign_key;
    const char *fk_ondelete;        /* "CASCADE", "SET NULL", ...            */
    const char *fk_onupdate;
    /* ORM only (a model's field; Core ignores it): deferred(Column(...)).
     * The model's queries leave the column out until asked: cr_load(obj,
     * field) loads it, cr_undefer(q, col) loads it with a query. Not for a
     * primary key or version column. */
    bool deferred;
} cr_column_def;

/* Constraint names made from a pattern, as MetaData(naming_convention=...)
 * does. Patterns use %(table_name)s, %(column_0_name)s, %(column_0_label)s,
 * %(constraint_name)s and %(referred_table_name)s. NULL: unnamed (the
 * database names it), except indexes, which default to
 * "ix_%(column_0_label)s". */
typedef struct cr_naming_convention {
    const char *ix, *uq, *ck, *fk, *pk;
} cr_naming_convention;

/* A new, empty MetaData; NULL when out of memory. naming may be NULL. */
CR_API cr_metadata *cr_metadata_new(const cr_naming_convention *naming);
/* Free the metadata, its tables and columns, and the mappers of its models
 * (whose handles, User_model, it sets to NULL). Statements that refer to
 * them, and the sessions and objects of its models, must be freed first.
 * NULL is a no-op. */
CR_API void cr_metadata_free(cr_metadata *md);
/* The first error met while building the metadata, or NULL (an
 * ArgumentError for a NULL metadata, as from a failed cr_metadata_new). Building calls
 * after an error keep working on what they can, so a program may check
 * once, after the whole schema is declared. */
CR_API const cr_error *cr_metadata_error(const cr_metadata *md);
/* The tables in the order they were added, and by name (NULL: none). */
CR_API size_t cr_metadata_table_count(const cr_metadata *md);
CR_API cr_table *cr_metadata_table_at(const cr_metadata *md, size_t i);
CR_API cr_table *cr_metadata_table(const cr_metadata *md, const char *name);
/* The tables in foreign-key dependency order (referred tables first), as
 * metadata.sorted_tables. Fills up to n entries of out; returns the count. */
CR_API size_t cr_metadata_sorted_tables(const cr_metadata *md, cr_table **out, size_t n);

/* A new table with no columns; NULL on error (a name already used). */
CR_API cr_table *cr_table_new(cr_metadata *md, const char *name);
/* Add a column; returns its handle (owned by the table) or NULL on error
 * (a duplicate name, an unknown type, a String on which length < 0, a
 * default value that is not a valid value: text or blob with a NULL pointer
 * and a length, an impossible date). */
CR_API cr_column *cr_table_add_column(cr_table *t, const cr_column_def *def);
/* Create a table with these columns in one call, storing each column's
 * handle through handles[i] (may be NULL). CR_DECLARE_TABLE uses it.
 * defs may be NULL only when n is 0; otherwise nothing is created and the
 * call returns CR_ERR_ARGUMENT (on the metadata). */
CR_API cr_status cr_table_define(cr_metadata *md, const char *name, const cr_column_def *defs,
                                 size_t n, cr_column **const *handles, cr_table **out);

/* A table's name, its metadata, and its columns in the order they were
 * added (cr_table_column_at: NULL past the end). */
CR_API const char *cr_table_name(const cr_table *t);
CR_API cr_metadata *cr_table_metadata(const cr_table *t);
CR_API size_t cr_table_column_count(const cr_table *t);
CR_API cr_column *cr_table_column_at(const cr_table *t, size_t i);
/* The column of that name, or NULL (no error is recorded). */
CR_API cr_column *cr_table_column(const cr_table *t, const char *name);

/* Table-level constraints. cols arrays hold n column handles of this table
 * (CR_COLS builds one in place). name may be NULL to use the naming
 * convention or let the database choose. */
CR_API cr_status cr_table_primary_key(cr_table *t, const char *name, cr_column *const *cols,
                                      size_t n);
CR_API cr_status cr_table_unique(cr_table *t, const char *name, cr_column *const *cols, size_t n);
/* CHECK (sqltext): the text is SQL, written by the program, never data. */
CR_API cr_status cr_table_check(cr_table *t, const char *name, const char *sqltext);
CR_API cr_status cr_table_index(cr_table *t, const char *name, bool unique,
                                cr_column *const *cols, size_t n);
/* FOREIGN KEY (cols) REFERENCES (refs): refs[i] is "table.column". */
CR_API cr_status cr_table_foreign_key(cr_table *t, const char *name, cr_column *const *cols,
                                      size_t n, const char *const *refs, const char *ondelete,
                                      const char *onupdate);
#define CR_COLS(...) ((cr_column *const[]){__VA_ARGS__}), \
    (sizeof((cr_column *const[]){__VA_ARGS__}) / sizeof(cr_column *))

/* A column's name, table and type, and whether it is (part of) the primary
 * key and may hold NULL. */
CR_API const char *cr_column_name(const cr_column *col);
CR_API cr_table *cr_column_table(const cr_column *col);
CR_API const cr_sqltype *cr_column_type(const cr_column *col);
CR_API bool cr_column_primary_key(const cr_column *col);
CR_API bool cr_column_nullable(const cr_column *col);

/* Declare a table type from an X-macro of columns (see the top of this
 * file). CR_DECLARE_TABLE(T, COLUMNS) declares
 *     typedef struct T { cr_table *table; struct { cr_column *<name>...; } c; } T;
 *     cr_status T_define(T *t, cr_metadata *md, const char *name);
 * T_define creates the table in md and fills every handle. */
#define CR__TABLE_FIELD(column, ...) cr_column *column;
#define CR__TABLE_DEF(column, ...) {.name = #column, .type = CR_SQL_##__VA_ARGS__},
#define CR__TABLE_HANDLE(column, ...) &t->c.column,
#define CR_DECLARE_TABLE(T, COLUMNS)                                                   \
    typedef struct T {                                                                 \
        cr_table *table;                                                               \
        struct { COLUMNS(CR__TABLE_FIELD) } c;                                         \
    } T;                                                                               \
    static inline cr_status T##_define(T *t, cr_metadata *md, const char *name)        \
    {                                                                                  \
        const cr_column_def defs[] = {COLUMNS(CR__TABLE_DEF)};                         \
        cr_column **const handles[] = {COLUMNS(CR__TABLE_HANDLE)};                     \
        return cr_table_define(md, name, defs, sizeof defs / sizeof defs[0], handles, \
                               &t->table);                                             \
    }

/* ------------------------------------------------------------------------
 * DDL
 * ------------------------------------------------------------------------ */

/* CREATE TABLE (and its indexes) for every table, referred tables first;
 * with checkfirst, tables that exist are left alone. Runs on conn in its
 * transaction (beginning one as any statement does); the caller commits.
 * Errors are on the connection. A foreign key that names a table not in
 * the metadata, or a column that table does not have, is
 * CR_ERR_INVALID_REQUEST (SQLAlchemy's NoReferencedTableError /
 * NoReferencedColumnError) before any statement is sent; cr_table_create
 * checks its table's foreign keys so. */
CR_API cr_status cr_metadata_create_all(cr_metadata *md, cr_conn *conn, bool checkfirst);
/* DROP TABLE for every table, referring tables first. */
CR_API cr_status cr_metadata_drop_all(cr_metadata *md, cr_conn *conn, bool checkfirst);
/* metadata.create_all(engine) / drop_all(engine): as the two above, on a
 * connection of their own that is committed (rolled back on failure) and
 * closed, so the tables are there for every later connection. Returns the
 * status; the detail, when err is not NULL, is stored in *err for the caller
 * to free with cr_error_free (*err is NULL on success). */
CR_API cr_status cr_metadata_create_all_engine(cr_metadata *md, cr_engine *engine,
                                               bool checkfirst, cr_error **err);
CR_API cr_status cr_metadata_drop_all_engine(cr_metadata *md, cr_engine *engine,
                                             bool checkfirst, cr_error **err);
/* One table: CREATE TABLE and its CREATE INDEXes, or DROP TABLE. */
CR_API cr_status cr_table_create(cr_table *t, cr_conn *conn, bool checkfirst);
CR_API cr_status cr_table_drop(cr_table *t, cr_conn *conn, bool checkfirst);
/* The CREATE TABLE statement for a dialect ("sqlite", "postgresql",
 * "mysql"), without its indexes; the caller frees it with free(). NULL on
 * error, reported on the metadata. */
CR_API char *cr_table_create_sql(cr_table *t, const char *dialect);

/* ------------------------------------------------------------------------
 * Inspector (reflection)
 * ------------------------------------------------------------------------ */

typedef struct cr_inspector cr_inspector;

/* A column as the database describes it. */
typedef struct cr_reflected_column {
    const char *name;
    cr_sqltype type;             /* mapped back to a Crucible type           */
    const char *type_name;       /* the database's own spelling: "VARCHAR(50)" */
    bool nullable;
    const char *default_sql;     /* the server default's SQL text, or NULL   */
    bool autoincrement;
    const char *comment;         /* or NULL                                  */
} cr_reflected_column;

/* A constraint or index: its name (NULL when the database has none), its
 * columns; for foreign keys the referred table and columns and actions. */
typedef struct cr_reflected_constraint {
    const char *name;
    const char *const *columns;
    size_t ncolumns;
    const char *referred_table;
    const char *const *referred_columns;
    const char *ondelete, *onupdate;     /* NULL when the default (NO ACTION) */
    bool unique;                         /* indexes                            */
} cr_reflected_constraint;

/* An inspector reads the schema through conn (inspect(connection)). What its
 * getters return is borrowed until the inspector is freed. Errors are on
 * the connection. Every getter clears its outputs first; a NULL inspector
 * is CR_ERR_ARGUMENT, a NULL output pointer CR_ERR_ARGUMENT (on the
 * connection). The inspector lives no longer than its connection's handle:
 * once cr_conn_close has closed it, every getter returns
 * CR_ERR_RESOURCE_CLOSED (there is no connection to hold the detail), and
 * the inspector must still be freed. */
CR_API cr_inspector *cr_inspect(cr_conn *conn);
CR_API void cr_inspector_free(cr_inspector *insp);
/* The names of the tables, sorted. */
CR_API cr_status cr_inspector_get_table_names(cr_inspector *insp, const char *const **names,
                                              size_t *n);
CR_API cr_status cr_inspector_has_table(cr_inspector *insp, const char *table, bool *exists);
CR_API cr_status cr_inspector_get_columns(cr_inspector *insp, const char *table,
                                          const cr_reflected_column **cols, size_t *n);
/* The primary key; its columns in key order (ncolumns 0 when none). */
CR_API cr_status cr_inspector_get_pk_constraint(cr_inspector *insp, const char *table,
                                                const cr_reflected_constraint **pk);
CR_API cr_status cr_inspector_get_foreign_keys(cr_inspector *insp, const char *table,
                                               const cr_reflected_constraint **fks, size_t *n);
CR_API cr_status cr_inspector_get_indexes(cr_inspector *insp, const char *table,
                                          const cr_reflected_constraint **ixs, size_t *n);
CR_API cr_status cr_inspector_get_unique_constraints(cr_inspector *insp, const char *table,
                                                     const cr_reflected_constraint **uqs,
                                                     size_t *n);
/* A table as the Inspector reads it: what the getters above return for it,
 * in one. Borrowed from the inspector, like the getters' results. */
typedef struct cr_reflected_table {
    const char *name;
    const cr_reflected_column *columns;     /* in column order                */
    size_t ncolumns;
    const cr_reflected_constraint *pk;      /* never NULL; ncolumns 0: none   */
    const cr_reflected_constraint *fks;     /* foreign keys                   */
    size_t nfks;
    const cr_reflected_constraint *indexes; /* as get_indexes: with those that
                                             * back a unique constraint (PostgreSQL,
                                             * MySQL) and expression indexes (a
                                             * NULL column)                   */
    size_t nindexes;
    const cr_reflected_constraint *uniques; /* unique constraints             */
    size_t nuniques;
} cr_reflected_table;

/* Read one table whole: its columns, primary key, foreign keys, indexes and
 * unique constraints (check constraints are not read). *out is cleared
 * first. Errors as the getters': CR_ERR_ARGUMENT for a NULL inspector, table
 * or out; CR_ERR_INVALID_REQUEST "no such table" when there is no such
 * table; the database's error otherwise (on the connection). */
CR_API cr_status cr_inspector_get_table(cr_inspector *insp, const char *table,
                                        cr_reflected_table *out);
/* Read every table of the database (the current schema), or those include
 * takes, as cr_inspector_get_table does, in name order (MetaData.reflect(
 * only=...)): include(ctx, name) is asked once per name before anything of
 * that table is read, so a large schema costs only what is kept; include
 * NULL keeps every table. *tables (an array of *n, borrowed from the
 * inspector) and *n are cleared first; errors as cr_inspector_get_table's. */
CR_API cr_status cr_inspector_get_tables(cr_inspector *insp,
                                         bool (*include)(void *ctx, const char *table),
                                         void *ctx, const cr_reflected_table **tables,
                                         size_t *n);
/* Table(name, metadata, autoload_with=conn): read the table's columns,
 * primary key, foreign keys, unique constraints and indexes into md.
 * Returns the new table (owned by md) or NULL on error. */
CR_API cr_table *cr_metadata_reflect_table(cr_metadata *md, cr_conn *conn, const char *name);

#endif /* CRUCIBLE_SCHEMA_H */
