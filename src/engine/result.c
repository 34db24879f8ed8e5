/* result.c — results: streaming rows, row sets, first/one/scalar, and typed column access. */
#include "engine/engine.h"

#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

static const cr_error null_result_error = {
    .cls = CR_ERR_ARGUMENT, .message = "result handle is NULL",
};

/* A result of a statement that returns no rows: its outcome read, the
 * statement given back. */
static __attribute__((noinline)) cr_result *rowless(cr_conn *c, cr_result *r, cr_prepared *st)
{
    const cr_driver *drv = c->engine->drv;
    cr_error scratch;
    cr_error_init(&scratch);   /* not the 1 KiB message: every INSERT passes here */
    r->lastrowid_status = drv->lastrowid(st->ds, &r->lastrowid, &scratch);
    cr_error_clear(&scratch);
    cr_prepared_release(c, st, true);
    r->exhausted = true;
    return r;
}

static CR_COLD cr_result *not_made(cr_conn *c, cr_result *r, cr_prepared *st)
{
    if (!r)
        cr_error_oom(&c->err);
    if (st)
        cr_prepared_release(c, st, true);
    cr_free(r);
    return NULL;
}

CR_HOT cr_result *cr_result_new(cr_conn *c, cr_prepared *st)
{
    const cr_driver *drv = c->engine->drv;
    /* A loop of executes frees each result before the next: reuse it. */
    cr_result *r = c->spare ? c->spare : cr_malloc(sizeof *r);
    c->spare = NULL;
    if (!r || (st && cr_prepared_sync_columns(st, drv, &c->err)))
        return not_made(c, r, st);
    bool rows = st && st->ncols > 0;
    r->conn = c;
    r->stmt = rows ? st : NULL;
    r->returns_rows = rows;
    r->exhausted = !rows;
    r->closed = false;
    r->scalars = false;
    r->ncols = rows ? st->ncols : 0;
    r->rowcount = st ? drv->rowcount(st->ds) : 0;
    r->lastrowid = 0;
    r->lastrowid_status = CR_ERR_NOT_SUPPORTED;
    r->row = (cr_row){0};
    r->held = (cr_row){0};
    cr_arena_init(&r->arena, 1024);
    r->colnames = rows ? st->colnames : NULL;
    r->colkeys = rows && st->ncolkeys == st->ncols ? st->colkeys : NULL;
    r->inserted_pk = NULL;
    r->returned_defaults = NULL;
    r->is_insert = false;
    r->built = false;
    r->kept = false;
    r->prev = NULL;
    r->next = c->results;
    cr_error_init(&r->err);
    if (c->results)
        c->results->prev = r;
    c->results = r;
    if (st && !rows)
        return rowless(c, r, st);
    if (rows && c->stream)
        c->streaming = r;
    return r;
}

/* No more rows will be read: let the statement run again. */
static CR_HOT void finish(cr_result *r)
{
    if (!r->exhausted && r->stmt)
        r->conn->engine->drv->reset(r->stmt->ds);
    r->exhausted = true;
    if (r->conn && r->conn->streaming == r)
        r->conn->streaming = NULL;
}

CR_HOT void cr_result_detach(cr_result *r)
{
    cr_conn *c = r->conn;
    if (!c)
        return;
    finish(r);
    if (r->stmt)
        cr_prepared_release(c, r->stmt, false);
    r->stmt = NULL;
    r->colnames = NULL;
    r->colkeys = NULL;
    /* The current row of fetchone points into the driver's statement, gone
     * now: its getters report the result closed instead of reading it. */
    r->row.values = NULL;
    r->row.ncols = 0;
    r->row.colnames = NULL;
    r->row.colkeys = NULL;
    if (r->prev) r->prev->next = r->next; else c->results = r->next;
    if (r->next) r->next->prev = r->prev;
    r->prev = r->next = NULL;
    r->conn = NULL;
}

CR_HOT void cr_result_free(cr_result *r)
{
    if (!r || r->kept)
        return;
    cr_conn *c = r->conn;
    cr_result_detach(r);
    cr_rowset_free(r->inserted_pk);
    cr_rowset_free(r->returned_defaults);
    cr_arena_free(&r->arena);
    cr_error_clear(&r->err);
    if (c && !c->spare) {
        r->inserted_pk = r->returned_defaults = NULL;
        r->kept = true;
        c->spare = r;
    } else {
        cr_free(r);
    }
}

const cr_error *cr_result_error(const cr_result *r)
{
    if (!r)
        return &null_result_error;
    return r->err.cls ? &r->err : NULL;
}

bool cr_result_returns_rows(const cr_result *r) { return r && r->returns_rows; }
int64_t cr_result_rowcount(const cr_result *r) { return r ? r->rowcount : -1; }

int cr_result_column_count(const cr_result *r)
{
    if (!r)
        return -1;
    return r->scalars && r->ncols ? 1 : r->ncols;
}

const char *cr_result_column_name(cr_result *r, int i)
{
    if (!r)
        return NULL;
    cr_error_clear(&r->err);
    if (!r->colnames) {
        cr_error_set(&r->err, CR_ERR_RESOURCE_CLOSED,
                     r->returns_rows ? "the result's connection is closed"
                                     : "this result does not return rows");
        return NULL;
    }
    if (i < 0 || i >= cr_result_column_count(r)) {
        cr_error_set(&r->err, CR_ERR_ARGUMENT, "column index %d is out of range (%d columns)", i,
                     cr_result_column_count(r));
        return NULL;
    }
    return r->colnames[i];
}

cr_status cr_result_lastrowid(cr_result *r, int64_t *out)
{
    if (!r || !out)
        return CR_ERR_ARGUMENT;
    cr_error_clear(&r->err);
    if (r->lastrowid_status == CR_OK) {
        *out = r->lastrowid;
        return CR_OK;
    }
    return cr_error_set(&r->err, r->lastrowid_status,
                        r->returns_rows ? "lastrowid is only known for statements that return no rows"
                                        : "the %s backend reports no last inserted row id; add "
                                          "RETURNING to the INSERT and read the row",
                        r->conn ? r->conn->engine->drv->name : "database");
}

/* Check a result can be read from. */
static CR_HOT cr_status readable(cr_result *r)
{
    if (!r)
        return CR_ERR_ARGUMENT;
    cr_error_clear(&r->err);
    if (!r->returns_rows)
        return cr_error_set(&r->err, CR_ERR_RESOURCE_CLOSED,
                            "this result does not return rows; it is closed automatically");
    if (!r->conn)
        return cr_error_set(&r->err, CR_ERR_RESOURCE_CLOSED,
                            "this result's connection is closed");
    if (r->closed)
        return cr_error_set(&r->err, CR_ERR_RESOURCE_CLOSED, "this result is closed");
    return CR_OK;
}

/* Read the next row into the statement's row buffer: CR_ROW, CR_DONE, or
 * an error recorded on the result. */
static CR_HOT int advance(cr_result *r)
{
    if (r->exhausted)
        return CR_DONE;
    cr_conn *c = r->conn;
    int rc = c->engine->drv->fetch(r->stmt->ds, r->stmt->row, &r->err);
    if (rc == CR_ROW)
        return rc;
    if (rc == CR_DONE)   /* what the statement did is known once it ends */
        r->rowcount = c->engine->drv->rowcount(r->stmt->ds);
    if (rc != CR_DONE) {
        cr_conn_note_error(c, &r->err, false);
        cr_error_set_statement(&r->err, r->stmt->sql);
    }
    finish(r);
    return rc;
}

static void set_row(cr_result *r, cr_row *row, const cr_value *values, char *const *names,
                    const void *const *keys)
{
    row->values = values;
    row->ncols = cr_result_column_count(r);
    row->colnames = names;
    row->colkeys = keys;
    row->err = &r->err;
}

/* The column handles, copied where the rows outlive the statement. */
static const void **copy_keys(cr_arena *a, const void *const *keys, int n, bool *oom)
{
    if (!keys)
        return NULL;
    const void **out = cr_arena_alloc(a, sizeof(void *) * (size_t)(n ? n : 1));
    if (!out)
        *oom = true;
    else
        for (int i = 0; i < n; i++)
            out[i] = keys[i];
    return out;
}

CR_HOT const cr_row *cr_result_fetchone(cr_result *r)
{
    if (readable(r) || advance(r) != CR_ROW)
        return NULL;
    set_row(r, &r->row, r->stmt->row, r->colnames, r->colkeys);
    return &r->row;
}

static char **copy_names(cr_arena *a, char *const *names, int n)
{
    char **out = cr_arena_alloc(a, sizeof(char *) * (size_t)(n ? n : 1));
    for (int i = 0; out && i < n; i++) {
        size_t len = strlen(names[i]);
        if (!(out[i] = cr_arena_alloc(a, len + 1)))
            return NULL;
        memcpy(out[i], names[i], len + 1);
    }
    return out;
}

static cr_rowset *fetch_rows(cr_result *r, size_t limit)
{
    if (readable(r))
        return NULL;
    cr_rowset *rs = cr_calloc(1, sizeof *rs);
    if (!rs) {
        cr_error_oom(&r->err);
        return NULL;
    }
    cr_arena_init(&rs->arena, 16384);
    rs->ncols = cr_result_column_count(r);
    bool oom = false;
    if (!(rs->colnames = copy_names(&rs->arena, r->colnames, rs->ncols)))
        goto oom;
    rs->colkeys = copy_keys(&rs->arena, r->colkeys, rs->ncols, &oom);
    if (oom)
        goto oom;
    while (rs->count < limit) {
        int rc = advance(r);
        if (rc == CR_DONE)
            break;
        if (rc != CR_ROW) {
            cr_rowset_free(rs);
            return NULL;
        }
        if (rs->count == rs->cap) {
            size_t cap = rs->cap ? rs->cap * 2 : 16;
            cr_row *rows = cr_realloc(rs->rows, cap * sizeof *rows);
            if (!rows)
                goto oom;
            rs->rows = rows;
            rs->cap = cap;
        }
        cr_value *vals = cr_arena_copy_values(&rs->arena, r->stmt->row, rs->ncols);
        if (!vals)
            goto oom;
        cr_row *row = &rs->rows[rs->count++];
        row->values = vals;
        row->ncols = rs->ncols;
        row->colnames = rs->colnames;
        row->colkeys = rs->colkeys;
        row->err = &rs->err;
    }
    return rs;
oom:
    cr_rowset_free(rs);
    cr_error_oom(&r->err);
    return NULL;
}

cr_rowset *cr_rowset_build(int ncols, char *const *names, const cr_value *values, size_t nrows)
{
    cr_rowset *rs = cr_calloc(1, sizeof *rs);
    if (!rs)
        return NULL;
    cr_arena_init(&rs->arena, 1024);
    rs->ncols = ncols;
    rs->rows = cr_calloc(nrows ? nrows : 1, sizeof *rs->rows);
    if (!rs->rows || !(rs->colnames = copy_names(&rs->arena, names, ncols)))
        goto oom;
    for (size_t i = 0; i < nrows; i++) {
        cr_value *vals = cr_arena_copy_values(&rs->arena, values + i * (size_t)ncols, ncols);
        if (!vals)
            goto oom;
        rs->rows[i] = (cr_row){vals, ncols, rs->colnames, NULL, &rs->err};
    }
    rs->count = rs->cap = nrows;
    return rs;
oom:
    cr_rowset_free(rs);
    return NULL;
}

cr_rowset *cr_result_fetchmany(cr_result *r, size_t n) { return fetch_rows(r, n); }
cr_rowset *cr_result_fetchall(cr_result *r) { return fetch_rows(r, SIZE_MAX); }
cr_rowset *cr_result_all(cr_result *r) { return fetch_rows(r, SIZE_MAX); }

/* Keep the current row past the statement's reset, in the result's arena. */
static const cr_row *hold_row(cr_result *r)
{
    int n = cr_result_column_count(r);
    bool oom = false;
    char **names = copy_names(&r->arena, r->colnames, n);
    const void **keys = copy_keys(&r->arena, r->colkeys, n, &oom);
    cr_value *vals = names && !oom ? cr_arena_copy_values(&r->arena, r->stmt->row, n) : NULL;
    if (!vals) {
        cr_error_oom(&r->err);
        return NULL;
    }
    set_row(r, &r->held, vals, names, keys);
    return &r->held;
}

/* first / one / one_or_none: at most two rows read, then the result closes. */
static const cr_row *single(cr_result *r, bool need_one, bool allow_more)
{
    if (readable(r))
        return NULL;
    const cr_row *row = NULL;
    int rc = advance(r);
    if (rc == CR_ROW) {
        row = hold_row(r);
        if (row && !allow_more) {
            rc = advance(r);
            if (rc == CR_ROW)
                cr_error_set(&r->err, CR_ERR_MULTIPLE_RESULTS,
                             "multiple rows were found when exactly one was required");
            if (rc != CR_DONE)
                row = NULL;
        }
    } else if (rc == CR_DONE && need_one) {
        cr_error_set(&r->err, CR_ERR_NO_RESULT_FOUND,
                     "no row was found when one was required");
    }
    finish(r);
    r->closed = true;
    return row;
}

const cr_row *cr_result_first(cr_result *r) { return single(r, false, true); }
const cr_row *cr_result_one(cr_result *r) { return single(r, true, false); }
const cr_row *cr_result_one_or_none(cr_result *r) { return single(r, false, false); }

static cr_status scalar(cr_result *r, cr_value *out, bool one)
{
    if (!r || !out)
        return CR_ERR_ARGUMENT;
    const cr_row *row = one ? cr_result_one(r) : cr_result_first(r);
    if (r->err.cls)
        return r->err.cls;
    *out = row && row->ncols > 0 ? row->values[0] : cr_val_null();
    return CR_OK;
}

cr_status cr_result_scalar(cr_result *r, cr_value *out) { return scalar(r, out, false); }
cr_status cr_result_scalar_one(cr_result *r, cr_value *out) { return scalar(r, out, true); }

/* The row a typed scalar getter reads: the first; NoResultFound when there
 * is none. */
static const cr_row *scalar_row(cr_result *r, const void *out)
{
    if (!out) {
        cr_error_set(&r->err, CR_ERR_ARGUMENT, "scalar: the output pointer is NULL");
        return NULL;
    }
    const cr_row *row = cr_result_first(r);
    if (!row && !r->err.cls)
        cr_error_set(&r->err, CR_ERR_NO_RESULT_FOUND,
                     "scalar: the statement returned no row to read a value from");
    return row;
}

#define TYPED_SCALAR(getter)                                                        \
    {                                                                                     \
        if (!r)                                                                           \
            return CR_ERR_ARGUMENT;                                                       \
        const cr_row *row = scalar_row(r, out);                                           \
        return row ? getter : r->err.cls;                                                 \
    }
cr_status cr_result_scalar_int64(cr_result *r, int64_t *out)
    TYPED_SCALAR(cr_row_int64_at(row, 0, out))
cr_status cr_result_scalar_double(cr_result *r, double *out)
    TYPED_SCALAR(cr_row_double_at(row, 0, out))
cr_status cr_result_scalar_bool(cr_result *r, bool *out)
    TYPED_SCALAR(cr_row_bool_at(row, 0, out))
cr_status cr_result_scalar_text(cr_result *r, const char **out, size_t *len)
    TYPED_SCALAR(cr_row_text_at(row, 0, out, len))

cr_status cr_result_inserted_id(cr_result *r, int64_t *out)
{
    if (!r || !out)
        return CR_ERR_ARGUMENT;
    if (!r->built)
        return cr_result_lastrowid(r, out);   /* textual SQL */
    cr_error_clear(&r->err);
    if (!r->is_insert)
        return cr_error_set(&r->err, CR_ERR_INVALID_REQUEST,
                            "inserted_id: the statement is not an INSERT of values (cr_insert)");
    const cr_rowset *pk = r->inserted_pk;
    if (!pk || pk->count != 1 || pk->ncols != 1)
        return cr_error_set(&r->err, CR_ERR_INVALID_REQUEST,
                            "inserted_id: the INSERT made %zu rows, with a primary key of %d "
                            "columns; read cr_result_inserted_primary_key_rows",
                            pk ? pk->count : 0, pk ? pk->ncols : 0);
    const cr_value *v = &pk->rows[0].values[0];
    if (v->type != CR_INT)
        return cr_error_set(&r->err, CR_ERR_INVALID_REQUEST,
                            "inserted_id: the inserted primary key is %s, not an integer; read "
                            "cr_result_inserted_primary_key", cr_type_name(v->type));
    *out = v->v.i;
    return CR_OK;
}

cr_result *cr_result_scalars(cr_result *r)
{
    if (r)
        r->scalars = true;
    return r;
}

size_t cr_rowset_count(const cr_rowset *rs) { return rs ? rs->count : 0; }

const cr_row *cr_rowset_row(const cr_rowset *rs, size_t i)
{
    return rs && i < rs->count ? &rs->rows[i] : NULL;
}

void cr_rowset_free(cr_rowset *rs)
{
    if (!rs)
        return;
    for (size_t i = 0; i < rs->nparts; i++)
        cr_rowset_free(rs->parts[i]);
    cr_free(rs->parts);
    cr_free(rs->shards);
    cr_arena_free(&rs->arena);
    cr_free(rs->rows);
    cr_error_clear(&rs->err);
    cr_free(rs);
}

/* ---- rows ------------------------------------------------------------------ */

static const cr_error null_row_error = {
    .cls = CR_ERR_ARGUMENT, .message = "row handle is NULL",
};

int cr_row_column_count(const cr_row *row) { return row ? row->ncols : -1; }

const char *cr_row_column_name(const cr_row *row, int i)
{
    return row && i >= 0 && i < row->ncols ? row->colnames[i] : NULL;
}

const cr_error *cr_row_error(const cr_row *row)
{
    if (!row)
        return &null_row_error;
    return row->err->cls ? row->err : NULL;
}

int cr_row_index(const cr_row *row, const char *name)
{
    if (!row || !name)
        return -1;
    for (int i = 0; i < row->ncols; i++)
        if (strcmp(row->colnames[i], name) == 0)
            return i;
    return -1;
}

/* Getters by name pass this as the index. */
#define BY_NAME INT_MIN

/* Resolve a column by index or, when idx is BY_NAME, by name; errors name
 * what was asked. */
static const cr_value *lookup(const cr_row *row, int idx, const char *name, int *found)
{
    if (!row)
        return NULL;
    cr_error_clear(row->err);
    if (!row->values) {
        cr_error_set(row->err, CR_ERR_RESOURCE_CLOSED,
                     "this row is gone: its result's connection was closed");
        return NULL;
    }
    if (idx == BY_NAME && !name) {
        cr_error_set(row->err, CR_ERR_ARGUMENT, "column name is NULL");
        return NULL;
    }
    if (idx == BY_NAME) {
        idx = cr_row_index(row, name);
        if (idx < 0) {
            cr_buf cols;
            cr_buf_init(&cols);
            for (int i = 0; i < row->ncols; i++)
                cr_buf_printf(&cols, "%s%s", i ? ", " : "", row->colnames[i]);
            cr_error_set(row->err, CR_ERR_ARGUMENT, "no column named '%s' (columns: %s)", name,
                         cr_buf_cstr(&cols) ? cr_buf_cstr(&cols) : "...");
            cr_buf_free(&cols);
            return NULL;
        }
    } else if (idx < 0 || idx >= row->ncols) {
        cr_error_set(row->err, CR_ERR_ARGUMENT, "column index %d is out of range (the row has %d "
                     "column%s)", idx, row->ncols, row->ncols == 1 ? "" : "s");
        return NULL;
    }
    *found = idx;
    return &row->values[idx];
}

/* The status of a getter that found no value (the class lookup recorded:
 * a bad column, or the row gone) or was given no output pointer. */
static cr_status missed(const cr_row *row, const cr_value *v)
{
    if (!row)
        return CR_ERR_ARGUMENT;
    if (!v)
        return cr_error_class(row->err);
    return cr_error_set(row->err, CR_ERR_ARGUMENT, "the output pointer is NULL");
}

static cr_status wrong_type(const cr_row *row, int idx, const cr_value *v, const char *wanted)
{
    return cr_error_set(row->err, CR_ERR_ARGUMENT, "column %d ('%s') holds %s, not %s", idx,
                        row->colnames[idx], cr_type_name(v->type), wanted);
}

const cr_value *cr_row_value_at(const cr_row *row, int col)
{
    int i;
    return lookup(row, col, NULL, &i);
}

const cr_value *cr_row_value_named(const cr_row *row, const char *col)
{
    int i;
    return lookup(row, BY_NAME, col, &i);
}

int cr_row_format(const cr_row *row, char *buf, size_t size)
{
    if (!row || !row->values || (!buf && size))
        return -1;
    cr_buf b;
    cr_buf_init(&b);
    cr_buf_putc(&b, '(');
    for (int i = 0; i < row->ncols; i++) {
        if (i)
            cr_buf_puts(&b, ", ");
        cr_buf_put_repr(&b, &row->values[i]);
    }
    cr_buf_puts(&b, row->ncols == 1 ? ",)" : ")");
    return cr_buf_deliver(&b, buf, size);
}

static int is_null(const cr_row *row, int col, const char *name)
{
    int i;
    const cr_value *v = lookup(row, col, name, &i);
    return v ? v->type == CR_NULL : -1;
}

int cr_row_is_null_at(const cr_row *row, int col) { return is_null(row, col, NULL); }
int cr_row_is_null_named(const cr_row *row, const char *col) { return is_null(row, BY_NAME, col); }

/* Each getter: resolve the column, convert what may be converted, else say
 * what the column holds. */
static __attribute__((noinline)) cr_status get_int64(const cr_row *row, int col,
                                                     const char *name, int64_t *out)
{
    int i;
    const cr_value *v = lookup(row, col, name, &i);
    if (!v || !out)
        return missed(row, v);
    if (v->type == CR_INT) { *out = v->v.i; return CR_OK; }
    if (v->type == CR_BOOL) { *out = v->v.b; return CR_OK; }
    if (v->type == CR_NUMERIC && cr_parse_int64(v->v.s.ptr, v->v.s.len, out))
        return CR_OK;
    return wrong_type(row, i, v, "INTEGER");
}

static __attribute__((noinline)) cr_status get_double(const cr_row *row, int col,
                                                      const char *name, double *out)
{
    int i;
    const cr_value *v = lookup(row, col, name, &i);
    if (!v || !out)
        return missed(row, v);
    if (v->type == CR_DOUBLE) { *out = v->v.d; return CR_OK; }
    if (v->type == CR_INT) { *out = (double)v->v.i; return CR_OK; }
    if (v->type == CR_NUMERIC) { *out = strtod(v->v.s.ptr, NULL); return CR_OK; }
    return wrong_type(row, i, v, "DOUBLE");
}

static __attribute__((noinline)) cr_status get_bool(const cr_row *row, int col,
                                                    const char *name, bool *out)
{
    int i;
    const cr_value *v = lookup(row, col, name, &i);
    if (!v || !out)
        return missed(row, v);
    if (v->type == CR_BOOL) { *out = v->v.b; return CR_OK; }
    if (v->type == CR_INT && (v->v.i == 0 || v->v.i == 1)) { *out = v->v.i; return CR_OK; }
    return wrong_type(row, i, v, "BOOLEAN");
}

static __attribute__((noinline)) cr_status get_text(const cr_row *row, int col,
                                                    const char *name, const char **out,
                                                    size_t *len)
{
    int i;
    const cr_value *v = lookup(row, col, name, &i);
    if (!v || !out)
        return missed(row, v);
    if (v->type != CR_TEXT)
        return wrong_type(row, i, v, "TEXT");
    *out = v->v.s.ptr;
    if (len)
        *len = v->v.s.len;
    return CR_OK;
}

static cr_status get_blob(const cr_row *row, int col, const char *name, const void **out,
                          size_t *len)
{
    int i;
    const cr_value *v = lookup(row, col, name, &i);
    if (!v || !out)
        return missed(row, v);
    if (v->type != CR_BLOB)
        return wrong_type(row, i, v, "BLOB");
    *out = v->v.blob.ptr;
    if (len)
        *len = v->v.blob.len;
    return CR_OK;
}

static cr_status get_numeric(const cr_row *row, int col, const char *name, const char **out)
{
    int i;
    const cr_value *v = lookup(row, col, name, &i);
    if (!v || !out)
        return missed(row, v);
    if (v->type != CR_NUMERIC)
        return wrong_type(row, i, v, "NUMERIC");
    *out = v->v.s.ptr;
    return CR_OK;
}

static cr_status get_temporal(const cr_row *row, int col, const char *name, cr_datetime *out,
                              cr_type want)
{
    int i;
    const cr_value *v = lookup(row, col, name, &i);
    if (!v || !out)
        return missed(row, v);
    cr_datetime dt;
    cr_type kind = v->type;
    if (kind != CR_TEXT)
        dt = v->v.dt;
    else if (cr_datetime_parse(v->v.s.ptr, v->v.s.len, &dt, &kind) != CR_OK)
        kind = CR_TEXT;   /* (the parse sets kind only when it succeeds) */
    /* A datetime also answers for its date; a date is a datetime at midnight. */
    if (kind == want || (want == CR_DATE && kind == CR_DATETIME) ||
        (want == CR_DATETIME && kind == CR_DATE)) {
        *out = dt;
        if (want == CR_DATE)
            out->hour = out->minute = out->second = out->microsecond = 0;
        return CR_OK;
    }
    return wrong_type(row, i, v, cr_type_name(want));
}

/* The common case of each getter by index, on every row read: an index in
 * range on a live row, with no error recorded, whose value is already of
 * the type asked for. Any other case (and every error) goes the general
 * way. */
static inline const cr_value *plain_at(const cr_row *row, int idx, const void *out)
{
    if (!row || !out || !row->values || (unsigned)idx >= (unsigned)row->ncols)
        return NULL;
    /* An error left from before: the general getter clears it. */
    if (!cr_error_is_clear(row->err))
        return NULL;
    return &row->values[idx];
}

CR_HOT cr_status cr_row_int64_at(const cr_row *r, int c, int64_t *o)
{
    const cr_value *v = plain_at(r, c, o);
    if (v && v->type == CR_INT) {
        *o = v->v.i;
        return CR_OK;
    }
    return get_int64(r, c, NULL, o);
}

CR_HOT cr_status cr_row_double_at(const cr_row *r, int c, double *o)
{
    const cr_value *v = plain_at(r, c, o);
    if (v && v->type == CR_DOUBLE) {
        *o = v->v.d;
        return CR_OK;
    }
    return get_double(r, c, NULL, o);
}

CR_HOT cr_status cr_row_text_at(const cr_row *r, int c, const char **o, size_t *n)
{
    const cr_value *v = plain_at(r, c, o);
    if (v && v->type == CR_TEXT) {
        *o = v->v.s.ptr;
        if (n)
            *n = v->v.s.len;
        return CR_OK;
    }
    return get_text(r, c, NULL, o, n);
}

CR_HOT cr_status cr_row_bool_at(const cr_row *r, int c, bool *o)
{
    const cr_value *v = plain_at(r, c, o);
    if (v && v->type == CR_BOOL) {
        *o = v->v.b;
        return CR_OK;
    }
    return get_bool(r, c, NULL, o);
}

cr_status cr_row_int64_named(const cr_row *r, const char *c, int64_t *o) { return get_int64(r, BY_NAME, c, o); }
cr_status cr_row_double_named(const cr_row *r, const char *c, double *o) { return get_double(r, BY_NAME, c, o); }
cr_status cr_row_bool_named(const cr_row *r, const char *c, bool *o) { return get_bool(r, BY_NAME, c, o); }
cr_status cr_row_text_named(const cr_row *r, const char *c, const char **o, size_t *n) { return get_text(r, BY_NAME, c, o, n); }
cr_status cr_row_blob_at(const cr_row *r, int c, const void **o, size_t *n) { return get_blob(r, c, NULL, o, n); }
cr_status cr_row_blob_named(const cr_row *r, const char *c, const void **o, size_t *n) { return get_blob(r, BY_NAME, c, o, n); }
cr_status cr_row_numeric_at(const cr_row *r, int c, const char **o) { return get_numeric(r, c, NULL, o); }
cr_status cr_row_numeric_named(const cr_row *r, const char *c, const char **o) { return get_numeric(r, BY_NAME, c, o); }
cr_status cr_row_date_at(const cr_row *r, int c, cr_datetime *o) { return get_temporal(r, c, NULL, o, CR_DATE); }
cr_status cr_row_date_named(const cr_row *r, const char *c, cr_datetime *o) { return get_temporal(r, BY_NAME, c, o, CR_DATE); }
cr_status cr_row_time_at(const cr_row *r, int c, cr_datetime *o) { return get_temporal(r, c, NULL, o, CR_TIME); }
cr_status cr_row_time_named(const cr_row *r, const char *c, cr_datetime *o) { return get_temporal(r, BY_NAME, c, o, CR_TIME); }
cr_status cr_row_datetime_at(const cr_row *r, int c, cr_datetime *o) { return get_temporal(r, c, NULL, o, CR_DATETIME); }
cr_status cr_row_datetime_named(const cr_row *r, const char *c, cr_datetime *o) { return get_temporal(r, BY_NAME, c, o, CR_DATETIME); }
