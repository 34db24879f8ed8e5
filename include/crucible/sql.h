/* crucible/sql.h — the SQL expression language: select, insert, update, delete, compiled per dialect.
 *
 * Included by crucible.h; not meant to be included on its own.
 *
 * A statement (cr_stmt) is built from tables, columns and values, then
 * executed on a connection or rendered to SQL text for a dialect. Every value
 * becomes a bound parameter: nothing a value holds can change the SQL.
 *
 *     cr_stmt *q = cr_select(posts.c.title, users.c.name);
 *     cr_join(q, users.table, cr_eq(q, posts.c.user_id, users.c.id));
 *     cr_where(q, cr_eq(q, users.c.id, alice_id));
 *     cr_order_by(q, cr_desc(q, posts.c.published_at));
 *     cr_result *r = cr_conn_execute_stmt(conn, q);
 *     ...
 *     cr_result_free(r);
 *     cr_stmt_free(q);
 *
 * Memory. A statement owns everything built for it: the expressions made by
 * calls taking it as their first argument live until cr_stmt_free(q). A
 * statement embedded in another (a subquery, a CTE, a member of a UNION,
 * the SELECT of an INSERT ... SELECT) is adopted: the outer statement frees
 * it. Only a SELECT (or a compound of SELECTs) is adopted, and only once: a
 * statement already adopted, a DML statement, or a statement that contains
 * the adopter is refused (InvalidRequestError / ArgumentError). Text and
 * blob values are copied when they are given.
 *
 * Ownership. An expression (or alias, subquery, CTE) belongs to the
 * statement it was built on. Another statement may use it only when the two
 * end up in one statement tree: an enclosing statement's alias read in its
 * subquery, or a subquery's expression in the statement that adopts it.
 * Anything else (a condition shared by a list query and its count query, an
 * expression of a statement since freed) makes compiling and executing fail
 * with InvalidRequestError naming both statements; build the expression on
 * each statement that uses it. Nothing of a freed statement is read.
 *
 * Errors. Building never fails loudly: a mistake (a column of a table the
 * statement cannot see, a value of the wrong type for its column, an empty
 * cr_and, out of memory) is recorded on the statement and reported — with
 * its class and a message naming what is wrong — by cr_stmt_error and by
 * the call that executes or renders it, before anything is sent. Builder
 * calls after the first error do nothing.
 *
 * Operands. Where a call takes an operand (cr_eq, cr_add, cr_set, ...), it
 * may be a column (cr_column *), an expression (cr_expr *), a cr_value, a C
 * string, a bool, an integer or a floating-point number: values become bound
 * parameters, typed after the column they are compared with or assigned to
 * (so `cr_eq(q, users.c.is_active, 1)` binds a boolean). A column takes
 * values of its own type, and: a BOOLEAN the integers 0 and 1; a FLOAT or
 * NUMERIC an integer; a DATE, TIME or DATETIME ISO-8601 text that
 * cr_datetime_parse reads ("2024-01-02 03:04:05", a date alone being
 * midnight for a DATETIME), bound as the typed value. Anything else is an
 * ArgumentError saying what the column takes. NULL (the pointer), a NULL
 * text pointer and cr_val_null() are None, SQL NULL: cr_eq(q, x, NULL)
 * renders "x IS NULL", as == None does (cr_ne "IS NOT NULL"; <, <=, >, >=
 * with None are refused); only cr_bind binds a NULL as a parameter.
 * Integers, floats, booleans, dates and blobs are sent with their own type;
 * a text value (or a NULL) that no column types and that nothing around it
 * types either (x IS NULL, a select-list item, x || y of two such, length)
 * is cast on PostgreSQL ($1::VARCHAR), so that it runs there as it does on
 * SQLite and MySQL.
 * Because these are macros, pass q as a plain variable.
 *
 * Lists. Calls taking a list (cr_select, cr_columns, cr_order_by,
 * cr_group_by, cr_and, cr_or, cr_func ...) take tables, columns and
 * expressions (pointers); a table stands for all of its columns.
 *
 * Threads. A statement belongs to one thread at a time; the tables it uses
 * may be shared.
 */
#ifndef CRUCIBLE_SQL_H
#define CRUCIBLE_SQL_H

typedef struct cr_expr cr_expr;
typedef struct cr_stmt cr_stmt;
typedef struct cr_compiled cr_compiled;

/* ------------------------------------------------------------------------
 * Statements
 * ------------------------------------------------------------------------ */

/* The list macros (cr_select, cr_columns, cr_order_by, cr_group_by,
 * cr_correlate, cr_correlate_except, cr_returning, cr_and, cr_or, cr_func and
 * the functions made with it, cr_partition_by, cr_window_order_by) pass their
 * items between two &cr_list_mark, so that a NULL item — a failed lookup, say —
 * is an ArgumentError naming its place, not the list's silent end. An array
 * built by hand for a *_items function ends with NULL instead. */
CR_API extern const char cr_list_mark;
#define CR__ITEMS(...) ((const void *const[]){&cr_list_mark, __VA_ARGS__, &cr_list_mark})

/* SELECT of the listed tables, columns and expressions. NULL when out of
 * memory. cr_select_new makes one with no columns yet (add them with
 * cr_columns, for expressions that need the statement to be built). */
CR_API cr_stmt *cr_select_items(const void *const *items);
#define cr_select(...) cr_select_items(CR__ITEMS(__VA_ARGS__))
CR_API cr_stmt *cr_select_new(void);
/* INSERT INTO t, UPDATE t, DELETE FROM t. */
CR_API cr_stmt *cr_insert(cr_table *t);
CR_API cr_stmt *cr_update(cr_table *t);
CR_API cr_stmt *cr_delete(cr_table *t);
/* Free a statement, the expressions built for it and the statements it
 * adopted. NULL is a no-op, and so is a statement another adopted (its
 * adopter frees it). */
CR_API void cr_stmt_free(cr_stmt *q);
/* The first error met while building q (it stays: every later compile or
 * execution reports it); else the error of q's last compile (or of the
 * checks of its last execution) when that failed, which the next compile or
 * execution clears: a construct one dialect lacks does not spoil q for
 * another. NULL when there is neither. */
CR_API const cr_error *cr_stmt_error(const cr_stmt *q);

/* ---- SELECT clauses ---- */
/* Add columns to the SELECT list (add_columns). */
CR_API void cr_columns_items(cr_stmt *q, const void *const *items);
#define cr_columns(q, ...) cr_columns_items(q, CR__ITEMS(__VA_ARGS__))
/* WHERE: each call is ANDed with the ones before (select, update, delete).
 * A condition holding a window function (cr_over) is refused, in WHERE,
 * HAVING and GROUP BY alike (InvalidRequestError): filter on it in an
 * enclosing SELECT. */
CR_API void cr_where(cr_stmt *q, cr_expr *condition);
/* FROM: a table, an alias, a derived table or a CTE (select_from). */
CR_API void cr_select_from(cr_stmt *q, const void *from);
/* JOIN target ON condition, joined to the FROM built so far. condition NULL:
 * the foreign key between the two tables (an error unless exactly one). */
CR_API void cr_join(cr_stmt *q, const void *target, cr_expr *condition);
CR_API void cr_outerjoin(cr_stmt *q, const void *target, cr_expr *condition);
/* FULL OUTER JOIN; NotSupportedError at execute where the backend has none. */
CR_API void cr_full_outerjoin(cr_stmt *q, const void *target, cr_expr *condition);
CR_API void cr_order_by_items(cr_stmt *q, const void *const *items);
#define cr_order_by(q, ...) cr_order_by_items(q, CR__ITEMS(__VA_ARGS__))
CR_API void cr_group_by_items(cr_stmt *q, const void *const *items);
#define cr_group_by(q, ...) cr_group_by_items(q, CR__ITEMS(__VA_ARGS__))
CR_API void cr_having(cr_stmt *q, cr_expr *condition);
/* LIMIT and OFFSET, bound as parameters, in each dialect's syntax. */
CR_API void cr_limit(cr_stmt *q, int64_t n);
CR_API void cr_offset(cr_stmt *q, int64_t n);
CR_API void cr_distinct(cr_stmt *q);
/* FOR UPDATE (with_for_update); flags combine the CR_FOR_* below. */
enum {
    CR_FOR_UPDATE = 0,
    CR_FOR_NOWAIT = 1,       /* NOWAIT                           */
    CR_FOR_SKIP_LOCKED = 2,  /* SKIP LOCKED                      */
    CR_FOR_SHARE = 4         /* FOR SHARE (read=True)            */
};
CR_API void cr_for_update(cr_stmt *q, int flags);

/* UNION, UNION ALL, INTERSECT, EXCEPT of two selects: a new statement that
 * adopts both (NULL when out of memory; a bad operand is its error). The
 * CTEs of the members are written once, at the top of the compound; a
 * member with its own ORDER BY / LIMIT, or itself a compound, is grouped:
 * (SELECT ...), or SELECT * FROM (SELECT ...) on SQLite. */
CR_API cr_stmt *cr_union(cr_stmt *a, cr_stmt *b);
CR_API cr_stmt *cr_union_all(cr_stmt *a, cr_stmt *b);
CR_API cr_stmt *cr_intersect(cr_stmt *a, cr_stmt *b);
CR_API cr_stmt *cr_except(cr_stmt *a, cr_stmt *b);

/* Correlation (correlate(), correlate_except()). A SELECT used as a value
 * or a condition inside another (cr_scalar_subquery, cr_exists,
 * cr_in_select) and naming more than one FROM item leaves out of its FROM
 * those the enclosing SELECT has, as SQLAlchemy does; when that would leave
 * it no FROM at all, compiling fails with InvalidRequestError ("returned no
 * FROM clauses due to auto-correlation"). cr_correlate(q, items...) names the
 * FROM items (tables, aliases, CTEs) q correlates instead, whatever their
 * number, and cr_correlate(q, NULL) none; cr_correlate_except(q, items...)
 * correlates every item of the enclosing SELECTs but those. A later call
 * replaces an earlier one. */
CR_API void cr_correlate_items(cr_stmt *q, const void *const *items);
#define cr_correlate(q, ...) cr_correlate_items(q, CR__ITEMS(__VA_ARGS__))
CR_API void cr_correlate_except_items(cr_stmt *q, const void *const *items);
#define cr_correlate_except(q, ...) \
    cr_correlate_except_items(q, CR__ITEMS(__VA_ARGS__))

/* ---- FROM items built from statements ---- */
/* A SELECT used as a table, FROM (SELECT ...) AS name (subquery()). q
 * adopts sub. Use it in cr_select_from / cr_join and read its columns with
 * cr_c. */
CR_API cr_expr *cr_subquery(cr_stmt *q, cr_stmt *sub, const char *name);
/* WITH name AS (SELECT ...), attached to q (cte()); recursive adds
 * RECURSIVE. For a recursive CTE, build the anchor SELECT, make the CTE from
 * it, then cr_cte_union_all it with a SELECT that refers to the CTE. */
CR_API cr_expr *cr_cte(cr_stmt *q, cr_stmt *sub, const char *name, bool recursive);
CR_API void cr_cte_union_all(cr_stmt *q, cr_expr *cte, cr_stmt *recursive_part);
/* A table under another name: FROM users AS u (alias()). */
CR_API cr_expr *cr_alias(cr_stmt *q, cr_table *t, const char *name);
/* The named column of an alias, a subquery or a CTE (alias.c.name). */
CR_API cr_expr *cr_c(cr_stmt *q, cr_expr *from, const char *name);

/* ---- INSERT / UPDATE values ---- */
/* Set a column's value (values(col=value)); the value may be any operand. */
CR_API void cr_set_expr(cr_stmt *q, cr_column *col, cr_expr *value);
#define cr_set(q, col, v) cr_set_expr(q, col, CR__OPERAND(q, v))
/* Finish the row being set and start another: INSERT ... VALUES (...),
 * (...) (values([...])). Every row sets the same columns. */
CR_API void cr_next_row(cr_stmt *q);
/* Many rows at once: ncols columns, nrows rows of values laid end to end. */
CR_API void cr_values_rows(cr_stmt *q, cr_column *const *cols, size_t ncols,
                           const cr_value *values, size_t nrows);
/* INSERT INTO t (cols) SELECT ...; q adopts sel. The SELECT must give as
 * many columns as are named (ArgumentError otherwise); an INSERT takes one
 * SELECT (a second is an InvalidRequestError). With an upsert, the
 * SELECT gets a WHERE on SQLite, which would read ON CONFLICT as a join
 * condition otherwise. */
CR_API void cr_from_select(cr_stmt *q, cr_column *const *cols, size_t ncols, cr_stmt *sel);
/* RETURNING the listed items (insert, update, delete) where the backend has
 * it (PostgreSQL, SQLite 3.35+, MariaDB 10.5+ for insert and delete);
 * NotSupportedError at execute otherwise. The items are of the table
 * written only (ArgumentError otherwise; a subquery may read others). */
CR_API void cr_returning_items(cr_stmt *q, const void *const *items);
#define cr_returning(q, ...) cr_returning_items(q, CR__ITEMS(__VA_ARGS__))
/* INSERT: fetch back what the server filled in — the generated key and the
 * columns with a server_default the statement did not set — through
 * RETURNING where the backend has it (return_defaults()); read them with
 * cr_result_returned_defaults. Without RETURNING only the key is known. */
CR_API void cr_return_defaults(cr_stmt *q);
/* Upsert. ON CONFLICT (cols) DO NOTHING / DO UPDATE SET ... on PostgreSQL
 * and SQLite (where an INSERT of no values, DEFAULT VALUES, takes none:
 * NotSupportedError); on MySQL ON DUPLICATE KEY UPDATE (any unique key;
 * cols are not rendered) and, for do nothing, an update of the first
 * conflict column to itself. Set the columns to update with cr_conflict_set; cr_excluded is the
 * value the row would have had (excluded.col / VALUES(col)). */
CR_API void cr_on_conflict_do_nothing(cr_stmt *q, cr_column *const *cols, size_t ncols);
CR_API void cr_on_conflict_do_update(cr_stmt *q, cr_column *const *cols, size_t ncols);
CR_API void cr_conflict_set_expr(cr_stmt *q, cr_column *col, cr_expr *value);
#define cr_conflict_set(q, col, v) cr_conflict_set_expr(q, col, CR__OPERAND(q, v))
/* cr_excluded: on an INSERT after cr_on_conflict_do_update only
 * (InvalidRequestError otherwise), for cr_conflict_set's values. */
CR_API cr_expr *cr_excluded(cr_stmt *q, cr_column *col);

/* ------------------------------------------------------------------------
 * Expressions. Each returns a node owned by q (NULL after an error on q).
 * Operands are parenthesized by precedence as SQLAlchemy does: one of the
 * operator's own level is grouped on either side unless it is the same
 * associative operator, (a = b) < (c > d), (a - b) - c, a + b + c.
 * ------------------------------------------------------------------------ */

typedef enum cr_operator {
    CR_OP_EQ, CR_OP_NE, CR_OP_LT, CR_OP_LE, CR_OP_GT, CR_OP_GE,
    CR_OP_ADD, CR_OP_SUB, CR_OP_MUL, CR_OP_DIV, CR_OP_MOD, CR_OP_CONCAT,
    CR_OP_LIKE, CR_OP_NOT_LIKE, CR_OP_ILIKE, CR_OP_NOT_ILIKE
} cr_operator;

/* left op right, built on q. The macros below take their operands as they
 * come — column handles, expressions, C values (bound as parameters) — and
 * are what programs write: cr_eq(q, users.c.name, "ann"). */
CR_API cr_expr *cr_binary(cr_stmt *q, cr_operator op, cr_expr *left, cr_expr *right);
#define cr_eq(q, a, b)       cr_binary(q, CR_OP_EQ, CR__OPERAND(q, a), CR__OPERAND(q, b))
#define cr_ne(q, a, b)       cr_binary(q, CR_OP_NE, CR__OPERAND(q, a), CR__OPERAND(q, b))
#define cr_lt(q, a, b)       cr_binary(q, CR_OP_LT, CR__OPERAND(q, a), CR__OPERAND(q, b))
#define cr_le(q, a, b)       cr_binary(q, CR_OP_LE, CR__OPERAND(q, a), CR__OPERAND(q, b))
#define cr_gt(q, a, b)       cr_binary(q, CR_OP_GT, CR__OPERAND(q, a), CR__OPERAND(q, b))
#define cr_ge(q, a, b)       cr_binary(q, CR_OP_GE, CR__OPERAND(q, a), CR__OPERAND(q, b))
#define cr_add(q, a, b)      cr_binary(q, CR_OP_ADD, CR__OPERAND(q, a), CR__OPERAND(q, b))
#define cr_sub(q, a, b)      cr_binary(q, CR_OP_SUB, CR__OPERAND(q, a), CR__OPERAND(q, b))
#define cr_mul(q, a, b)      cr_binary(q, CR_OP_MUL, CR__OPERAND(q, a), CR__OPERAND(q, b))
#define cr_div(q, a, b)      cr_binary(q, CR_OP_DIV, CR__OPERAND(q, a), CR__OPERAND(q, b))
#define cr_mod(q, a, b)      cr_binary(q, CR_OP_MOD, CR__OPERAND(q, a), CR__OPERAND(q, b))
/* a || b (CONCAT(a, b) on MySQL). */
#define cr_concat(q, a, b)   cr_binary(q, CR_OP_CONCAT, CR__OPERAND(q, a), CR__OPERAND(q, b))
#define cr_like(q, a, b)     cr_binary(q, CR_OP_LIKE, CR__OPERAND(q, a), CR__OPERAND(q, b))
#define cr_not_like(q, a, b) cr_binary(q, CR_OP_NOT_LIKE, CR__OPERAND(q, a), CR__OPERAND(q, b))
/* Case-insensitive LIKE: ILIKE on PostgreSQL, lower(a) LIKE lower(b) elsewhere. */
#define cr_ilike(q, a, b)    cr_binary(q, CR_OP_ILIKE, CR__OPERAND(q, a), CR__OPERAND(q, b))
#define cr_not_ilike(q, a, b) cr_binary(q, CR_OP_NOT_ILIKE, CR__OPERAND(q, a), CR__OPERAND(q, b))

/* LIKE '%s%' / 's%' / '%s' with %, _ and the escape character in s escaped
 * (contains(..., autoescape=True)). */
CR_API cr_expr *cr_contains(cr_stmt *q, cr_expr *e, const char *s);
CR_API cr_expr *cr_startswith(cr_stmt *q, cr_expr *e, const char *s);
CR_API cr_expr *cr_endswith(cr_stmt *q, cr_expr *e, const char *s);

/* AND / OR of the listed conditions (at least one). */
CR_API cr_expr *cr_and_items(cr_stmt *q, const void *const *items);
CR_API cr_expr *cr_or_items(cr_stmt *q, const void *const *items);
#define cr_and(q, ...) cr_and_items(q, CR__ITEMS(__VA_ARGS__))
#define cr_or(q, ...)  cr_or_items(q, CR__ITEMS(__VA_ARGS__))
CR_API cr_expr *cr_not(cr_stmt *q, cr_expr *e);
CR_API cr_expr *cr_is_null(cr_stmt *q, cr_expr *e);
CR_API cr_expr *cr_is_not_null(cr_stmt *q, cr_expr *e);
/* e IN (values...) / NOT IN; an empty list is false (true for NOT IN). */
CR_API cr_expr *cr_in_values(cr_stmt *q, cr_expr *e, const cr_value *values, size_t n);
CR_API cr_expr *cr_not_in_values(cr_stmt *q, cr_expr *e, const cr_value *values, size_t n);
#define cr_in(q, e, ...) cr_in_values(q, CR__OPERAND(q, e), __VA_ARGS__)
#define cr_not_in(q, e, ...) cr_not_in_values(q, CR__OPERAND(q, e), __VA_ARGS__)
/* A list of values in place: cr_in(q, col, CR_VALUES(cr_val_int(1), cr_val_int(2))) */
#define CR_VALUES(...) ((const cr_value[]){__VA_ARGS__}), \
    (sizeof((const cr_value[]){__VA_ARGS__}) / sizeof(cr_value))
/* e IN (SELECT ...); q adopts sub. */
CR_API cr_expr *cr_in_select(cr_stmt *q, cr_expr *e, cr_stmt *sub);
CR_API cr_expr *cr_not_in_select(cr_stmt *q, cr_expr *e, cr_stmt *sub);
CR_API cr_expr *cr_between_expr(cr_stmt *q, cr_expr *e, cr_expr *low, cr_expr *high);
#define cr_between(q, e, lo, hi) \
    cr_between_expr(q, CR__OPERAND(q, e), CR__OPERAND(q, lo), CR__OPERAND(q, hi))
/* (SELECT ...) as a value, EXISTS (SELECT ...); q adopts sub. */
CR_API cr_expr *cr_scalar_subquery(cr_stmt *q, cr_stmt *sub);
CR_API cr_expr *cr_exists(cr_stmt *q, cr_stmt *sub);

/* ORDER BY modifiers. What they return is an ORDER BY item (of cr_order_by
 * or cr_window_order_by) and nothing else: used as an operand, a condition or
 * a column it is an ArgumentError. Applied to an ordering, a modifier
 * replaces the one it contradicts: cr_nulls_first(q, cr_nulls_last(q, x))
 * is x NULLS FIRST, cr_asc(q, cr_desc(q, x)) is x ASC. */
CR_API cr_expr *cr_asc(cr_stmt *q, cr_expr *e);
CR_API cr_expr *cr_desc(cr_stmt *q, cr_expr *e);
/* NULLS FIRST / LAST (emulated with an IS NULL sort key on MySQL). */
CR_API cr_expr *cr_nulls_first(cr_stmt *q, cr_expr *e);
CR_API cr_expr *cr_nulls_last(cr_stmt *q, cr_expr *e);

/* Any SQL function by name: cr_func(q, "coalesce", a, b). The name is
 * identifiers (letters, digits, '_', not starting with a digit) joined by
 * dots, such as "pg_catalog.lower"; anything else is an ArgumentError. */
CR_API cr_expr *cr_func_items(cr_stmt *q, const char *name, const void *const *args);
#define cr_func(q, name, ...) cr_func_items(q, name, CR__ITEMS(__VA_ARGS__))
/* A function of no arguments: cr_func0(q, "random") renders random(). */
CR_API cr_expr *cr_func0(cr_stmt *q, const char *name);
CR_API cr_expr *cr_count(cr_stmt *q, cr_expr *e);      /* count(e)          */
CR_API cr_expr *cr_count_star(cr_stmt *q);             /* count(*)          */
CR_API cr_expr *cr_count_distinct(cr_stmt *q, cr_expr *e);
#define cr_sum(q, e)    cr_func(q, "sum", e)
#define cr_avg(q, e)    cr_func(q, "avg", e)
#define cr_min(q, e)    cr_func(q, "min", e)
#define cr_max(q, e)    cr_func(q, "max", e)
#define cr_lower(q, e)  cr_func(q, "lower", e)
#define cr_upper(q, e)  cr_func(q, "upper", e)
#define cr_coalesce(q, ...) cr_func(q, "coalesce", __VA_ARGS__)
/* length(e), counting characters: char_length on MySQL, where length counts bytes. */
CR_API cr_expr *cr_length(cr_stmt *q, cr_expr *e);
/* CURRENT_TIMESTAMP. */
CR_API cr_expr *cr_current_timestamp(cr_stmt *q);

/* CASE WHEN cond THEN result ... ELSE otherwise END: make it with cr_case,
 * add branches with cr_case_when, and cr_case_else (optional). */
CR_API cr_expr *cr_case(cr_stmt *q);
CR_API void cr_case_when_expr(cr_stmt *q, cr_expr *c, cr_expr *condition, cr_expr *result);
#define cr_case_when(q, c, cond, result) cr_case_when_expr(q, c, cond, CR__OPERAND(q, result))
CR_API void cr_case_else_expr(cr_stmt *q, cr_expr *c, cr_expr *otherwise);
#define cr_case_else(q, c, v) cr_case_else_expr(q, c, CR__OPERAND(q, v))
/* CAST(e AS type), the type rendered for each dialect. */
CR_API cr_expr *cr_cast(cr_stmt *q, cr_expr *e, cr_sqltype type);
/* e AS name, in a SELECT list; rows are read by that name (label()). */
CR_API cr_expr *cr_label(cr_stmt *q, cr_expr *e, const char *name);
/* Window function: e OVER (PARTITION BY ... ORDER BY ...). Add the parts
 * with cr_partition_by and cr_window_order_by on the node it returns. e is
 * a function (cr_func, cr_count_star ...); anything else, a column say, is
 * an ArgumentError. */
CR_API cr_expr *cr_over(cr_stmt *q, cr_expr *e);
CR_API void cr_partition_by_items(cr_stmt *q, cr_expr *window, const void *const *items);
#define cr_partition_by(q, w, ...) cr_partition_by_items(q, w, CR__ITEMS(__VA_ARGS__))
CR_API void cr_window_order_by_items(cr_stmt *q, cr_expr *window, const void *const *items);
#define cr_window_order_by(q, w, ...) \
    cr_window_order_by_items(q, w, CR__ITEMS(__VA_ARGS__))

/* A value as a bound parameter (what operands other than None become),
 * typed by what it meets; the value is copied. A NULL value stays a bound
 * NULL here: cr_eq(q, x, cr_bind(q, cr_val_null())) is "x = ?", true for no
 * row. */
CR_API cr_expr *cr_bind(cr_stmt *q, cr_value v);
/* A named placeholder (bindparam("id")): a bound parameter whose value is
 * given each time the statement runs, by name (cr_conn_execute_stmt_params,
 * cr_conn_executemany_stmt_params). Use it as any operand; like a value, it
 * is typed after the column it meets (cr_eq(q, users.c.id,
 * cr_bindparam(q, "id")), cr_set(q, users.c.name, cr_bindparam(q, "name")))
 * and then takes what that column takes, checked at each execution. One
 * that meets no column takes any value, sent with the value's own type
 * (where PostgreSQL cannot infer a type for it, wrap it in cr_cast). The
 * same name may be used more than once: every place gets the one value.
 * name is letters, digits and '_', not starting with a digit (else an
 * ArgumentError on q); it is copied. A NULL value given to a placeholder is
 * SQL NULL as a bound value: x = NULL, which no row matches (use cr_is_null
 * for IS NULL). cr_stmt_compile renders a placeholder with its name (:id in
 * the generic dialect), its value NULL. */
CR_API cr_expr *cr_bindparam(cr_stmt *q, const char *name);
/* SQL written by the program, pasted as is (literal_column / text): never
 * pass data here. */
CR_API cr_expr *cr_literal(cr_stmt *q, const char *sql);
CR_API cr_expr *cr_null(cr_stmt *q);
CR_API cr_expr *cr_true(cr_stmt *q);     /* true / 1 where there is no boolean */
CR_API cr_expr *cr_false(cr_stmt *q);

/* Calls taking an expression take a column as well: these macros of the
 * same names convert a cr_column * to the expression it is. */
#define CR__EXPR(e) _Generic((e), cr_column *: (cr_expr *)(void *)(e), default: (e))
#define cr_where(q, e) cr_where(q, CR__EXPR(e))
#define cr_having(q, e) cr_having(q, CR__EXPR(e))
#define cr_not(q, e) cr_not(q, CR__EXPR(e))
#define cr_is_null(q, e) cr_is_null(q, CR__EXPR(e))
#define cr_is_not_null(q, e) cr_is_not_null(q, CR__EXPR(e))
#define cr_asc(q, e) cr_asc(q, CR__EXPR(e))
#define cr_desc(q, e) cr_desc(q, CR__EXPR(e))
#define cr_nulls_first(q, e) cr_nulls_first(q, CR__EXPR(e))
#define cr_nulls_last(q, e) cr_nulls_last(q, CR__EXPR(e))
#define cr_count(q, e) cr_count(q, CR__EXPR(e))
#define cr_count_distinct(q, e) cr_count_distinct(q, CR__EXPR(e))
#define cr_length(q, e) cr_length(q, CR__EXPR(e))
#define cr_label(q, e, name) cr_label(q, CR__EXPR(e), name)
#define cr_over(q, e) cr_over(q, CR__EXPR(e))
#define cr_contains(q, e, s) cr_contains(q, CR__EXPR(e), s)
#define cr_startswith(q, e, s) cr_startswith(q, CR__EXPR(e), s)
#define cr_endswith(q, e, s) cr_endswith(q, CR__EXPR(e), s)
#define cr_in_select(q, e, sub) cr_in_select(q, CR__EXPR(e), sub)
#define cr_not_in_select(q, e, sub) cr_not_in_select(q, CR__EXPR(e), sub)
#define cr_cast(q, e, type) cr_cast(q, CR__EXPR(e), type)

/* ------------------------------------------------------------------------
 * Rendering and execution
 * ------------------------------------------------------------------------ */

/* Compile q for a dialect: "sqlite", "postgresql", "mysql", or NULL for
 * the generic one with :name parameters that str(stmt) shows. The caller
 * frees the result with cr_compiled_free. NULL on error (cr_stmt_error); an
 * error of this compile only (a construct the dialect lacks, an unknown
 * dialect) does not stay on q. */
CR_API cr_compiled *cr_stmt_compile(cr_stmt *q, const char *dialect);
CR_API void cr_compiled_free(cr_compiled *c);
/* The SQL text, with the dialect's parameter markers ($1, ?, ?1 ...). */
CR_API const char *cr_compiled_sql(const cr_compiled *c);
/* Parameters in the order the markers number or place them: name_1 style
 * names as SQLAlchemy gives them (a placeholder's own name, its value NULL:
 * values are given at execution), and the values. A value's text or bytes
 * belong to q: valid until q is freed or compiled or executed again. */
CR_API size_t cr_compiled_param_count(const cr_compiled *c);
CR_API const char *cr_compiled_param_name(const cr_compiled *c, size_t i);
CR_API const cr_value *cr_compiled_param_value(const cr_compiled *c, size_t i);

/* Execute q on conn (connection.execute(stmt)); q is not consumed and may
 * be executed again. A statement of a shape executed before on the
 * connection reuses its compiled SQL and prepared statement. Returns a
 * result the caller frees, or NULL with the error on the connection. */
CR_API cr_result *cr_conn_execute_stmt(cr_conn *conn, cr_stmt *q);
/* As cr_conn_execute_stmt, discarding the result. */
CR_API cr_status cr_conn_exec_stmt(cr_conn *conn, cr_stmt *q);
/* Execute q with values for its placeholders (connection.execute(stmt,
 * {"id": 7})): params is a list ended by a NULL name, as CR_PARAMS builds,
 * or NULL for none:
 *
 *     cr_stmt *q = cr_select(users.table);
 *     cr_where(q, cr_eq(q, users.c.id, cr_bindparam(q, "id")));
 *     for (...) {
 *         cr_result *r = cr_conn_execute_stmt_params(conn, q, CR_PARAMS({"id", cr_val_int(id)}));
 *         ...
 *     }
 *
 * Every placeholder needs a value and every value a placeholder; a value
 * must fit the column its placeholder met, as a value given when building
 * does (an integer for an INTEGER, 0 / 1 or a bool for a BOOLEAN ...). A
 * mistake is an ArgumentError on conn naming the parameter, before anything
 * is sent; q stays as it was. A statement run again unchanged is not keyed
 * or compiled again: what its first execution found (its shape, where each
 * value goes) is kept on q until a builder call changes q (or a statement
 * inside it), and each later execution only puts the new values in place
 * before running the connection's prepared statement. Text and blobs are
 * read during the call (and, for a result still being read, from the
 * driver's copy): they need not outlive it. cr_conn_execute_stmt on a
 * statement with placeholders is an ArgumentError naming the first one.
 * Returns a result the caller frees, or NULL with the error on conn. */
CR_API cr_result *cr_conn_execute_stmt_params(cr_conn *conn, cr_stmt *q,
                                              const cr_param *params);
/* As cr_conn_execute_stmt_params, discarding the result. */
CR_API cr_status cr_conn_exec_stmt_params(cr_conn *conn, cr_stmt *q, const cr_param *params);
/* Execute q once per parameter set (executemany with a list of
 * dictionaries): names holds nparams placeholder names; values holds nsets
 * sets of nparams values each, laid end to end. For statements that return
 * no rows: an INSERT, UPDATE or DELETE without RETURNING (anything else is
 * an ArgumentError). Every set is checked, as cr_conn_execute_stmt_params
 * checks one, before the first is sent; the statement is prepared once and
 * run per set. The result has no rows and no inserted primary keys; its
 * rowcount is the total over all sets (-1 when a backend does not say). */
CR_API cr_result *cr_conn_executemany_stmt_params(cr_conn *conn, cr_stmt *q,
                                                  const char *const *names, size_t nparams,
                                                  const cr_value *values, size_t nsets);
/* Execute an INSERT once per row of values (executemany with a list of
 * rows): ncols columns, nsets rows laid end to end. The rows are sent in
 * batches of many rows per statement (INSERT ... VALUES (...), (...)), as
 * SQLAlchemy's insertmanyvalues does; rowcount is the total. Client-side
 * defaults of the columns not given are applied to every row. */
CR_API cr_result *cr_conn_executemany_stmt(cr_conn *conn, cr_stmt *insert,
                                           cr_column *const *cols, size_t ncols,
                                           const cr_value *values, size_t nsets);

/* The primary key of the row an INSERT of one row made (inserted_primary_key):
 * a row of the primary key columns, by name. Borrowed until the result is
 * freed. NULL with CR_ERR_INVALID_REQUEST when the statement was no INSERT
 * or inserted several rows. */
CR_API const cr_row *cr_result_inserted_primary_key(cr_result *res);
/* The primary keys of every row an INSERT made, in the order of its rows
 * (inserted_primary_key_rows). Borrowed until the result is freed. */
CR_API const cr_rowset *cr_result_inserted_primary_key_rows(cr_result *res);

/* The values return_defaults fetched for the first row: the generated key
 * and the server defaults, by name or column handle. Borrowed until the
 * result is freed; NULL with CR_ERR_INVALID_REQUEST when there are none. */
CR_API const cr_row *cr_result_returned_defaults(cr_result *res);

/* Statement cache counters of an engine (compiled shapes found or made). */
typedef struct cr_cache_stats {
    uint64_t hits, misses;
    int size;              /* shapes kept per connection (statement_cache_size) */
} cr_cache_stats;
CR_API cr_status cr_engine_cache_stats(cr_engine *engine, cr_cache_stats *out);

/* Rows read through a column handle: the column of a table selected as
 * itself (not under a label). The cr_row_* macros of crucible.h choose
 * these when given a cr_column *: cr_row_text(row, users.c.name, &s, NULL).
 * A handle the row does not hold is CR_ERR_ARGUMENT, also when the row has
 * a column of that name from another table (posts.id on a row of users). */
CR_API const cr_value *cr_row_value_column(const cr_row *row, const cr_column *col);
CR_API int cr_row_is_null_column(const cr_row *row, const cr_column *col);
CR_API cr_status cr_row_int64_column(const cr_row *row, const cr_column *col, int64_t *out);
CR_API cr_status cr_row_double_column(const cr_row *row, const cr_column *col, double *out);
CR_API cr_status cr_row_bool_column(const cr_row *row, const cr_column *col, bool *out);
CR_API cr_status cr_row_text_column(const cr_row *row, const cr_column *col, const char **out,
                                    size_t *len);
CR_API cr_status cr_row_blob_column(const cr_row *row, const cr_column *col, const void **out,
                                    size_t *len);
CR_API cr_status cr_row_numeric_column(const cr_row *row, const cr_column *col, const char **out);
CR_API cr_status cr_row_date_column(const cr_row *row, const cr_column *col, cr_datetime *out);
CR_API cr_status cr_row_time_column(const cr_row *row, const cr_column *col, cr_datetime *out);
CR_API cr_status cr_row_datetime_column(const cr_row *row, const cr_column *col, cr_datetime *out);
/* The nullable reads of crucible.h by column handle (cr_row_*_or_null). */
CR_API cr_status cr_row_int64_or_null_column(const cr_row *row, const cr_column *col,
                                             int64_t *out, bool *is_null);
CR_API cr_status cr_row_double_or_null_column(const cr_row *row, const cr_column *col,
                                              double *out, bool *is_null);
CR_API cr_status cr_row_bool_or_null_column(const cr_row *row, const cr_column *col, bool *out,
                                            bool *is_null);
CR_API cr_status cr_row_text_or_null_column(const cr_row *row, const cr_column *col,
                                            const char **out, size_t *len, bool *is_null);
CR_API cr_status cr_row_blob_or_null_column(const cr_row *row, const cr_column *col,
                                            const void **out, size_t *len, bool *is_null);
CR_API cr_status cr_row_numeric_or_null_column(const cr_row *row, const cr_column *col,
                                               const char **out, bool *is_null);
CR_API cr_status cr_row_date_or_null_column(const cr_row *row, const cr_column *col,
                                            cr_datetime *out, bool *is_null);
CR_API cr_status cr_row_time_or_null_column(const cr_row *row, const cr_column *col,
                                            cr_datetime *out, bool *is_null);
CR_API cr_status cr_row_datetime_or_null_column(const cr_row *row, const cr_column *col,
                                                cr_datetime *out, bool *is_null);

/* ------------------------------------------------------------------------
 * Operand conversion (what the operand macros expand to)
 * ------------------------------------------------------------------------ */
CR_API cr_expr *cr__operand_expr(cr_stmt *q, cr_expr *e);
CR_API cr_expr *cr__operand_column(cr_stmt *q, cr_column *c);
CR_API cr_expr *cr__operand_value(cr_stmt *q, cr_value v);
CR_API cr_expr *cr__operand_text(cr_stmt *q, const char *s);
CR_API cr_expr *cr__operand_null(cr_stmt *q, const void *p);
CR_API cr_expr *cr__operand_bool(cr_stmt *q, bool b);
CR_API cr_expr *cr__operand_int(cr_stmt *q, long long i);
CR_API cr_expr *cr__operand_uint(cr_stmt *q, unsigned long long i);
CR_API cr_expr *cr__operand_double(cr_stmt *q, double d);
#define CR__OPERAND(q, x) _Generic((x),                                   \
    cr_expr *: cr__operand_expr, cr_column *: cr__operand_column,        \
    cr_value: cr__operand_value,                                          \
    char *: cr__operand_text, const char *: cr__operand_text,            \
    void *: cr__operand_null, bool: cr__operand_bool,                     \
    signed char: cr__operand_int, short: cr__operand_int,                 \
    int: cr__operand_int, long: cr__operand_int, long long: cr__operand_int, \
    unsigned char: cr__operand_uint, unsigned short: cr__operand_uint,    \
    unsigned: cr__operand_uint, unsigned long: cr__operand_uint,          \
    unsigned long long: cr__operand_uint,                                 \
    float: cr__operand_double, double: cr__operand_double)(q, x)

#endif /* CRUCIBLE_SQL_H */
