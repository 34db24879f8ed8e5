/* crucible/migrate.h — schema migrations (Alembic's job): revision files, the version table, upgrade / downgrade, offline SQL and the migration check.
 *
 * Included by crucible.h; not meant to be included on its own.
 *
 * A migrations directory holds revision files (*.rev), plain text meant to be
 * reviewed and written by hand:
 *
 *     -- revision: 2b7c19e4
 *     -- parent: 1a00f3c2           (leave out, or "base", for the first;
 *                                    "a, b" for a revision merging two heads)
 *     -- message: users get an email
 *     -- date: 2026-12-01 08:00:00
 *
 *     -- upgrade
 *     add_column users email varchar(100) not null default ''
 *     create_index ix_users_email on users (email) unique
 *     execute UPDATE users SET email = name
 *         || '@example.com'          (an indented line continues the one above)
 *
 *     -- downgrade
 *     drop_index ix_users_email on users
 *     drop_column users email
 *
 * Lines starting with '#' are comments. Revision ids are 1 to 32 letters,
 * digits or '_'. One operation per line (plus indented continuation lines):
 *
 *   create_table T (ITEM, ...)   ITEM: a column, or a table constraint:
 *                                primary key (c, ...) | unique (c, ...) |
 *                                check (SQL) | foreign key (c, ...) references
 *                                T2 (c, ...) [on delete A] [on update A], each
 *                                optionally after "constraint NAME"
 *   drop_table T                 rename_table T to T2
 *   add_column T COLUMN          drop_column T C
 *   alter_column T C CHANGE...   CHANGE: type TYPE [using (SQL)] | null |
 *                                not null | default VALUE | drop default |
 *                                rename to C2 (using: how PostgreSQL converts
 *                                the values, as postgresql_using; SQLite's
 *                                rebuild CASTs, MySQL converts by itself)
 *   create_index NAME on T (c, ...) [unique] [concurrently]
 *                                                 drop_index NAME on T
 *                                concurrently: PostgreSQL builds the index
 *                                without blocking writes (CREATE INDEX
 *                                CONCURRENTLY), which cannot run in a
 *                                transaction: such a revision runs as on
 *                                MySQL, its progress recorded after each
 *                                operation. Elsewhere the word changes nothing.
 *   create_unique NAME on T (c, ...)              drop_unique NAME on T
 *   create_check NAME on T (SQL)                  drop_check NAME on T
 *   create_foreign_key NAME on T (c, ...) references T2 (c, ...)
 *                      [on delete A] [on update A]
 *                                                 drop_foreign_key NAME on T
 *   execute SQL                  a data statement, sent as written
 *
 *   COLUMN: NAME TYPE [primary key] [not null | null] [unique]
 *           [default VALUE] [references T2 (c) [on delete A] [on update A]]
 *   TYPE:   integer, smallint, bigint, varchar(n) (string(n)), text, boolean,
 *           float, double, numeric(p, s), date, time, datetime (timestamp),
 *           datetime with time zone (timestamptz), blob, json, uuid
 *   VALUE:  a number, a 'string', a word (CURRENT_TIMESTAMP, true) or a
 *           (parenthesized SQL expression): the server default's SQL text
 *   Names are words ([A-Za-z_][A-Za-z0-9_]*) or "double quoted"; every name is
 *   quoted in the SQL as the dialect requires. Keywords are case-insensitive.
 *
 * How each backend runs a revision:
 *   PostgreSQL  one transaction per revision, DDL included (transactional
 *               DDL): a failing revision leaves nothing of itself behind.
 *   SQLite      one transaction per revision; what ALTER TABLE cannot do
 *               (drop or alter a column, add or drop a constraint, add a NOT
 *               NULL column without a default) is a table rebuild following
 *               SQLite's documented procedure (new table, copy, drop, rename,
 *               indexes again, PRAGMA foreign_key_check) with foreign keys
 *               off around the transaction (PRAGMA foreign_keys=OFF before,
 *               ON after: Crucible's SQLite connections have them on).
 *               The table's triggers are read from sqlite_master before the
 *               DROP (which drops them) and made again, as written, after the
 *               indexes; views naming the table survive (the rename runs with
 *               PRAGMA legacy_alter_table=ON, set OFF again after it, so that
 *               it does not refuse them). A rebuild does not rewrite a view
 *               or trigger: when one uses a column the rebuild drops or
 *               renames, the rebuild ends by failing (OperationalError
 *               naming it, "error in view v: no such column: c") and the
 *               revision's transaction leaves the database as it was. (The
 *               rebuild's last statement, ALTER TABLE t RENAME COLUMN c TO c
 *               for its first column, makes SQLite parse every view and
 *               trigger of the database and changes nothing: one already
 *               broken elsewhere stops the rebuild too, named.) Drop
 *               the view or trigger before the operation and create it
 *               again after, in the revision (Alembic's batch mode keeps
 *               neither; PostgreSQL refuses such a change to a view by
 *               itself, MySQL lets the view break).
 *               Consecutive operations that rebuild one table are one
 *               rebuild (Alembic's batch mode: the rows are copied once).
 *   MySQL /     DDL commits at once, so a revision cannot be undone as a
 *   MariaDB     whole. Its progress is written to the version table after
 *               each operation (column progress: "upgrade 2/5"); a failure
 *               inside a revision leaves the operations before it applied
 *               and the version table saying exactly that (each operation
 *               and its progress run in one transaction, so a data statement
 *               and its count commit together; only a connection lost
 *               between a DDL statement and its count leaves the count one
 *               short). cr_migrate_current reports it; upgrade and downgrade
 *               refuse to run until it is repaired by hand and set with
 *               cr_migrate_stamp.
 * The version table, crucible_version (as alembic_version), holds one row per
 * applied head: version_num, and progress (NULL once a revision is complete).
 *
 * Each run takes a lock so that two processes never migrate one database at
 * once: pg_try_advisory_lock on PostgreSQL, GET_LOCK on MySQL (both a lock
 * of the one database: a run on another database of the same server is not
 * held up); on SQLite each revision's transaction re-reads the version table
 * and a second process finds the database locked or the version moved. A held lock is
 * an OperationalError (CR_ERR_OPERATIONAL): at once on PostgreSQL and MySQL,
 * after the connection's busy timeout on SQLite (URL option timeout).
 *
 * The schema each revision works on is known from the revisions before it:
 * the operations of the history are replayed in memory (the "model"), which
 * gives SQLite's rebuilds and MySQL's MODIFY COLUMN the full table and the
 * check the old type of a column. A table made outside the migrations is
 * unknown to the model: the operations that need its definition on a
 * backend refuse it (NotSupportedError) before anything is sent. Schema
 * changes belong in operations, data in execute statements. A rebuild
 * makes the table, its constraints and indexes again from the model, and
 * its triggers from the database (above).
 *
 * Threads: a script is built by one thread and then only read; the run
 * functions may be called from several threads with the same script.
 * Errors: functions taking cr_error **err store the detail there for the
 * caller to free with cr_error_free (NULL on success; err may be NULL).
 */
#ifndef CRUCIBLE_MIGRATE_H
#define CRUCIBLE_MIGRATE_H

/* ------------------------------------------------------------------------
 * Operations as data (what a revision's sections parse into, what the
 * check inspects, and what an autogenerate would produce)
 * ------------------------------------------------------------------------ */

typedef enum cr_migrate_op_kind {
    CR_MIGRATE_CREATE_TABLE,    /* table, columns, constraints               */
    CR_MIGRATE_DROP_TABLE,      /* table                                     */
    CR_MIGRATE_RENAME_TABLE,    /* table, new_name                           */
    CR_MIGRATE_ADD_COLUMN,      /* table, columns[0] (constraints: its unique
                                 * / references, unnamed)                    */
    CR_MIGRATE_DROP_COLUMN,     /* table, name                               */
    CR_MIGRATE_ALTER_COLUMN,    /* table, name, new_type / new_nullable /
                                 * set_default + new_default / new_name      */
    CR_MIGRATE_ADD_CONSTRAINT,  /* table, constraints[0]: an index, unique,
                                 * check or foreign key                      */
    CR_MIGRATE_DROP_CONSTRAINT, /* table, constraints[0].kind and .name      */
    CR_MIGRATE_EXECUTE          /* sql                                       */
} cr_migrate_op_kind;

typedef enum cr_migrate_constraint_kind {
    CR_MIGRATE_PRIMARY_KEY,
    CR_MIGRATE_UNIQUE,
    CR_MIGRATE_CHECK,
    CR_MIGRATE_FOREIGN_KEY,
    CR_MIGRATE_INDEX
} cr_migrate_constraint_kind;

/* A column as a migration declares it. */
typedef struct cr_migrate_column {
    const char *name;
    cr_sqltype type;
    bool primary_key;
    bool nullable;                  /* false for primary key columns          */
    const char *server_default;     /* DEFAULT's SQL text, or NULL            */
} cr_migrate_column;

/* A table constraint or an index. */
typedef struct cr_migrate_constraint {
    cr_migrate_constraint_kind kind;
    const char *name;               /* NULL: unnamed (not for an index)       */
    const char *const *columns;
    size_t ncolumns;
    bool unique;                    /* an index that is unique                */
    const char *sqltext;            /* a check's SQL                          */
    const char *referred_table;     /* a foreign key's                        */
    const char *const *referred_columns;
    const char *ondelete, *onupdate;
} cr_migrate_constraint;

/* One operation. Fields that do not apply to its kind are zero. */
typedef struct cr_migrate_op {
    cr_migrate_op_kind kind;
    const char *table;
    const char *name;               /* the column (drop / alter)              */
    const char *new_name;           /* rename_table; alter_column ... rename  */
    const cr_migrate_column *columns;
    size_t ncolumns;
    const cr_migrate_constraint *constraints;
    size_t nconstraints;
    const cr_sqltype *new_type;     /* alter_column: NULL when unchanged      */
    const char *type_using;         /* alter_column: PostgreSQL's USING (SQL) */
    bool concurrently;              /* create_index: CONCURRENTLY (PostgreSQL) */
    cr_tristate new_nullable;       /* alter_column: CR_AUTO when unchanged,
                                     * CR_YES null, CR_NO not null            */
    bool set_default;               /* alter_column: default changes ...      */
    const char *new_default;        /* ... to this SQL text (NULL: dropped)   */
    const char *sql;                /* execute                                */
    int line;                       /* where it stands in its file            */
} cr_migrate_op;

/* A revision: borrowed from its script, valid until the script is freed. */
typedef struct cr_revision {
    const char *id;
    const char *const *parents;     /* nparents ids; none for the first       */
    size_t nparents;
    const char *message;            /* "" when the file gives none            */
    const char *date;               /* as written, "" when none               */
    const char *file;               /* the file (or name) it was read from    */
    const cr_migrate_op *upgrade;
    size_t nupgrade;
    const cr_migrate_op *downgrade;
    size_t ndowngrade;
} cr_revision;

/* ------------------------------------------------------------------------
 * Scripts: the revisions of a migrations directory
 * ------------------------------------------------------------------------ */

typedef struct cr_migrate_script cr_migrate_script;

/* Read every *.rev file of dir (other files are ignored) and check the
 * history: cr_migrate_script_new, cr_migrate_script_add for each file in
 * name order, cr_migrate_script_resolve. Returns the script, or NULL with
 * the first error in *err: a file that cannot be read (OperationalError), a
 * file that does not parse (ArgumentError "dir/x.rev:12: expected ..."), a
 * history that does not hold together (see cr_migrate_script_resolve). */
CR_API cr_migrate_script *cr_migrate_load(const char *dir, cr_error **err);
/* An empty script (NULL when out of memory), for revisions given as text. */
CR_API cr_migrate_script *cr_migrate_script_new(void);
/* Free the script and its revisions. NULL is a no-op. */
CR_API void cr_migrate_script_free(cr_migrate_script *script);
/* Parse one revision file's text; name is what errors call it (the file
 * name). Both are copied. CR_ERR_ARGUMENT naming the file, the line and
 * what was expected when the text does not parse (the revision is then not
 * added); CR_ERR_INVALID_REQUEST once the script is resolved. Errors are on
 * the script (cr_migrate_script_error). */
CR_API cr_status cr_migrate_script_add(cr_migrate_script *script, const char *name,
                                       const char *text);
/* Build the revision graph: every parent must be a revision of the script
 * (else "broken chain", CR_ERR_INVALID_REQUEST naming the file and the
 * missing id), ids unique, no cycle. Several heads are allowed here (a merge
 * revision is written against them) but refused by upgrades to "head".
 * After it the script takes no more revisions. */
CR_API cr_status cr_migrate_script_resolve(cr_migrate_script *script);
/* The last error on the script, or NULL (an ArgumentError for NULL). */
CR_API const cr_error *cr_migrate_script_error(const cr_migrate_script *script);
/* The revisions of a resolved script, parents before children (history
 * order); 0 / NULL before cr_migrate_script_resolve or out of range. */
CR_API size_t cr_migrate_revision_count(const cr_migrate_script *script);
CR_API const cr_revision *cr_migrate_revision_at(const cr_migrate_script *script, size_t i);
/* The revision with that id, or NULL. */
CR_API const cr_revision *cr_migrate_revision(const cr_migrate_script *script, const char *id);
/* The heads: revisions no other revision names as a parent. Fills up to n
 * of out; returns how many there are. */
CR_API size_t cr_migrate_script_heads(const cr_migrate_script *script, const cr_revision **out,
                                      size_t n);

/* ------------------------------------------------------------------------
 * Running against a database
 * ------------------------------------------------------------------------ */

typedef struct cr_migrate_options {
    /* Run the check first and refuse (CR_ERR_INVALID_REQUEST listing the
     * findings, nothing sent) when it flags anything. */
    bool strict;
} cr_migrate_options;

/* Upgrade the database to target: a revision id, or NULL / "head" for the
 * one head (CR_ERR_INVALID_REQUEST when there are several). Each revision
 * not yet applied that target needs runs, in history order, on one
 * connection of the engine, under the migration lock; the version table is
 * created when missing. opts may be NULL. Errors (all with nothing of a
 * failing revision reported as applied): CR_ERR_ARGUMENT for an unknown
 * target; CR_ERR_INVALID_REQUEST when the database is at a revision the
 * script does not have, or a revision was left part-way (MySQL);
 * CR_ERR_OPERATIONAL when the lock is held or the engine cannot connect;
 * the database's error, with the revision and file named, when an
 * operation fails. */
CR_API cr_status cr_migrate_upgrade(const cr_migrate_script *script, cr_engine *engine,
                                    const char *target, const cr_migrate_options *opts,
                                    cr_error **err);
/* Downgrade to target: a revision id (which must be applied) or "base"
 * (everything undone). Each applied revision after target runs its
 * downgrade, newest first, as cr_migrate_upgrade runs upgrades. */
CR_API cr_status cr_migrate_downgrade(const cr_migrate_script *script, cr_engine *engine,
                                      const char *target, cr_error **err);
/* Set the version table to target (a revision id, "head" or "base")
 * without running anything, as alembic stamp does: for a database made
 * otherwise, or repaired by hand after a revision stopped part-way. */
CR_API cr_status cr_migrate_stamp(const cr_migrate_script *script, cr_engine *engine,
                                  const char *target, cr_error **err);

/* Where a database is, as its version table says. */
typedef struct cr_migrate_state {
    size_t nheads;                  /* 0: at base (or no version table)       */
    const char *const *heads;       /* the applied heads' ids                 */
    const char *partial;            /* a revision left part-way, or NULL      */
    const char *progress;           /* its progress: "upgrade 2/5"            */
} cr_migrate_state;

/* Read the version table (alembic current). *out is the caller's to free
 * with cr_migrate_state_free; NULL on error. */
CR_API cr_status cr_migrate_current(cr_engine *engine, cr_migrate_state **out, cr_error **err);
CR_API void cr_migrate_state_free(cr_migrate_state *state);

/* The SQL an upgrade or downgrade from `from` to `to` would send, without a
 * database (offline mode, alembic upgrade --sql): for dialect "sqlite",
 * "postgresql" or "mysql"; from NULL or "base" starts at base and creates
 * the version table; to NULL or "head" is the head, "base" downgrades
 * everything. Direction: down when to is an ancestor of from. Statements are
 * each followed by ";\n\n", and are exactly those the online run sends for
 * the same step (the reads it makes, of the version table and the lock,
 * left out; on SQLite, rebuilds assume foreign keys on, and make again
 * the triggers that the revisions' execute statements made on the table —
 * CREATE TRIGGER [IF NOT EXISTS] name ... ON table, less those a DROP
 * TRIGGER, a drop_table or a rename_table of the history took away — where
 * the online run makes again those sqlite_master holds: the same SQL when
 * the migrations made them all). *out is the
 * caller's to free with free(). */
CR_API cr_status cr_migrate_offline_sql(const cr_migrate_script *script, const char *dialect,
                                        const char *from, const char *to, char **out,
                                        cr_error **err);

/* ------------------------------------------------------------------------
 * The migration check (Atlas's and squawk's lints)
 * ------------------------------------------------------------------------ */

typedef enum cr_migrate_finding_kind {
    CR_FINDING_DROP_TABLE,          /* the table's rows are lost              */
    CR_FINDING_DROP_COLUMN,         /* the column's values are lost           */
    CR_FINDING_NARROW_TYPE,         /* a type change that may lose or refuse
                                     * values (shorter, smaller, another kind) */
    CR_FINDING_NOT_NULL_NO_DEFAULT, /* a NOT NULL column without a default
                                     * added to a table with rows (fails)     */
    CR_FINDING_INDEX_LOCKS_TABLE    /* CREATE INDEX without CONCURRENTLY: the
                                     * table takes no writes while it builds
                                     * (PostgreSQL)                            */
} cr_migrate_finding_kind;

typedef struct cr_migrate_finding {
    cr_migrate_finding_kind kind;
    const char *revision;           /* borrowed from the script               */
    const char *file;
    int line;
    bool downgrade;                 /* the operation is of the revision's
                                     * downgrade section                      */
    char message[256];              /* "x.rev:4: drop_column users.email ...",
                                     * "x.rev:9: downgrade: drop_column ..."  */
} cr_migrate_finding;

/* Check the way from where the database is (engine given) or from `from`
 * (engine NULL: offline; NULL = base) to target (NULL = head) for the
 * dialect of the engine or, offline, dialect: the upgrades, or — when
 * target is "base" or a revision already applied below the head (from's
 * ancestor offline) — the downgrades that cr_migrate_downgrade would run,
 * newest first, with the same lints: a downgrade that drops a table or a
 * column loses what was written since the upgrade, one that narrows a type
 * back may cut values, one that adds a NOT NULL column without a default
 * fails on a table with rows. With an engine, a NOT NULL column without a
 * default is flagged only when its table has rows; offline, always.
 * *findings (free with free(); NULL when there are none) and *n are set;
 * CR_OK whatever was found. */
CR_API cr_status cr_migrate_check(const cr_migrate_script *script, cr_engine *engine,
                                  const char *dialect, const char *from, const char *target,
                                  cr_migrate_finding **findings, size_t *n, cr_error **err);

/* ------------------------------------------------------------------------
 * Autogenerate: a program's metadata against a live database
 * (alembic revision --autogenerate)
 * ------------------------------------------------------------------------ */

/* The differences between a metadata and a database, as operations. The
 * diff holds copies of every name and string it shows: it outlives the
 * metadata and the engine it was made from. */
typedef struct cr_migrate_diff {
    const cr_migrate_op *upgrade;   /* what makes the database the metadata's */
    size_t nupgrade;
    const cr_migrate_op *downgrade; /* what undoes it, in order               */
    size_t ndowngrade;
    const char *const *notes;       /* what could not be decided: a table or
                                     * column dropped and another added (maybe
                                     * a rename), a type the database reports
                                     * that Crucible cannot map, an unnamed
                                     * constraint that cannot be dropped by
                                     * name. One line each.                   */
    size_t nnotes;
} cr_migrate_diff;

/* Compare metadata with the database of engine through the Inspector, as
 * Alembic's autogenerate does: tables added (create_table with columns,
 * primary key, unique, check and foreign-key constraints; its indexes as
 * create_index) and removed (the downgrade recreates them as reflected),
 * columns added and removed, type changes (compared as the Inspector maps
 * types to Crucible's kinds, after the metadata's type went through the
 * backend's own DDL spelling, so BOOLEAN as TINYINT(1) is no difference;
 * nor is a Float the database keeps as double precision, or a JSON it keeps
 * as text), nullability, server defaults (compared as normalised text:
 * case, spaces, casts, enclosing parentheses, now() / CURRENT_TIMESTAMP(n),
 * true / 1, numbers by value: '0.00' is 0), indexes,
 * unique constraints and foreign keys (by their columns and referred
 * columns; indexes by name) added and removed. Renames are not guessed (a
 * note says when one may be). Check constraints are created with a new
 * table but not compared; the version table crucible_version and tables
 * whose names start with "sqlite_" are ignored (cr_migrate_compare_opts
 * leaves out more: other programs' tables, hand-made indexes). *out is the
 * caller's to free with cr_migrate_diff_free (NULL on error). Errors:
 * CR_ERR_ARGUMENT for NULL arguments or a metadata with a building error;
 * the engine's error when it cannot connect or read the catalog. */
CR_API cr_status cr_migrate_compare(cr_engine *engine, const cr_metadata *metadata,
                                    cr_migrate_diff **out, cr_error **err);
/* Free a diff and everything it holds. NULL is a no-op. */
CR_API void cr_migrate_diff_free(cr_migrate_diff *diff);

/* What a comparison may leave out (Alembic's include_name / include_object):
 * for a program whose database also holds other programs' tables, or
 * tables and indexes made outside its metadata. */
typedef enum cr_migrate_object_kind {
    CR_MIGRATE_OBJECT_TABLE,
    CR_MIGRATE_OBJECT_COLUMN,
    CR_MIGRATE_OBJECT_INDEX,
    CR_MIGRATE_OBJECT_UNIQUE,       /* a unique constraint                    */
    CR_MIGRATE_OBJECT_FOREIGN_KEY
} cr_migrate_object_kind;

/* One object the comparison is about to compare, as the include callback
 * sees it. Strings are borrowed for the call. */
typedef struct cr_migrate_object {
    cr_migrate_object_kind kind;
    const char *table;              /* the table (the object itself, or its)   */
    const char *name;               /* a column's, index's or constraint's
                                     * name (the database's when it has one);
                                     * NULL for a table and for a constraint
                                     * neither side names                     */
    const char *const *columns;     /* an index's or constraint's columns     */
    size_t ncolumns;
    bool in_database;               /* reflected: the database has it         */
    bool in_metadata;               /* the metadata declares it               */
} cr_migrate_object;

typedef struct cr_migrate_compare_options {
    /* Compare only the tables the metadata declares: a table of the
     * database the metadata does not declare is left alone, never dropped
     * (what Alembic users write as include_object returning False for a
     * reflected table with no compare_to). Applied before include. */
    bool metadata_tables_only;
    /* Asked once for each object before it is compared; false leaves it
     * out: nothing is created, dropped or altered for it, and nothing of it
     * is noted. May be NULL (everything is compared).
     *   Tables: every table of the database (the version table and
     *   sqlite_* ones aside, which are never compared) and of the metadata,
     *   before anything of the table is read: a table left out costs no
     *   reflection (include_name's purpose).
     *   Of a table in both: each column, index, unique constraint and
     *   foreign key of either side, once (one in both is asked about once,
     *   with both flags true; constraints are matched by their columns and
     *   referred columns, indexes by name).
     *   Of a table created or dropped whole: its indexes (operations of
     *   their own); its columns and constraints come and go with the table
     *   and are not asked about.
     * Alembic's include_object(object, name, type_, reflected, compare_to):
     * type_ is kind, reflected is in_database && !in_metadata. */
    bool (*include)(void *ctx, const cr_migrate_object *object);
    void *ctx;                      /* include's first argument               */
} cr_migrate_compare_options;

/* cr_migrate_compare with options; opts NULL is cr_migrate_compare. The
 * errors are cr_migrate_compare's. */
CR_API cr_status cr_migrate_compare_opts(cr_engine *engine, const cr_metadata *metadata,
                                         const cr_migrate_compare_options *opts,
                                         cr_migrate_diff **out, cr_error **err);

/* The operations as a revision section's text, one per line in the syntax
 * above (what cr_migrate_script_add parses back into the same operations).
 * *out is the caller's to free with free(). CR_ERR_ARGUMENT for NULL
 * arguments, CR_ERR_NOT_SUPPORTED for what the syntax cannot say (an enum
 * type, a time with time zone), naming the table and column. */
CR_API cr_status cr_migrate_ops_text(const cr_migrate_op *ops, size_t n, char **out,
                                     cr_error **err);

/* Write a new revision in directory after its head, holding the
 * differences between metadata and the database (cr_migrate_compare) as its
 * upgrade and downgrade, and the notes as '#' comments: alembic revision
 * --autogenerate -m message. Refused (CR_ERR_INVALID_REQUEST) when the
 * history has several heads or the database is not at the head (its
 * version table must name the head, or be empty with no revisions yet): the
 * comparison would otherwise count what pending revisions do. *path (may be
 * NULL) is the new file's path, the caller's to free with free(). */
CR_API cr_status cr_migrate_autogenerate(cr_engine *engine, const char *directory,
                                         const cr_metadata *metadata, const char *message,
                                         char **path, cr_error **err);
/* cr_migrate_autogenerate comparing with options (cr_migrate_compare_opts);
 * opts NULL is cr_migrate_autogenerate. */
CR_API cr_status cr_migrate_autogenerate_opts(cr_engine *engine, const char *directory,
                                              const cr_metadata *metadata, const char *message,
                                              const cr_migrate_compare_options *opts,
                                              char **path, cr_error **err);

/* ------------------------------------------------------------------------
 * Embedding: a program's own `db ...` command in one call
 * ------------------------------------------------------------------------ */

/* Run one migration command as the `crucible` tool will: argv[0] is the
 * command, the rest its arguments:
 *     upgrade [TARGET] [--strict] [--sql]   downgrade TARGET [--sql]
 *     current   history   heads   stamp TARGET   check [TARGET]
 * (check to "base" or to an applied revision checks the downgrade)
 *     revision MESSAGE [--autogenerate [--metadata-tables-only]]
 *     merge MESSAGE
 * (a message may also be given as -m MESSAGE). directory holds the revisions. revision writes a new file there,
 * <id>_<message>.rev with a random 12-digit id, the head as its parent and
 * empty sections to fill in (refused when there are several heads); merge
 * writes one whose parents are all the heads. Both report the path.
 * revision --autogenerate fills the revision with the differences between
 * metadata, the program's own schema, and the database
 * (cr_migrate_autogenerate); --metadata-tables-only leaves alone the
 * database's tables the metadata does not declare (cr_migrate_compare_options'
 * metadata_tables_only). metadata is only read, and may be NULL for the
 * other commands (--autogenerate without it is CR_ERR_ARGUMENT). What the command reports (current's revision, the
 * history, the SQL of --sql, the check's findings) goes line by line to
 * out(userdata, line) — the library prints nothing itself; out may be NULL.
 * Returns the status; CR_ERR_ARGUMENT for an unknown command or arguments,
 * CR_ERR_INVALID_REQUEST for check when it finds anything. */
CR_API cr_status cr_migrate_command(cr_engine *engine, const char *directory,
                                    const cr_metadata *metadata, int argc,
                                    const char *const *argv, cr_log_fn out, void *userdata,
                                    cr_error **err);

#endif /* CRUCIBLE_MIGRATE_H */
