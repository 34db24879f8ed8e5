/* sqlite_driver.c — the SQLite driver over libsqlite3: connections, statements, type and error mapping. */
#include "dialects/driver.h"

#include <ctype.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Transaction control runs on every transaction: BEGIN, COMMIT and the like
 * are kept prepared instead of parsed by sqlite3_exec each time. */
enum { SIMPLE_CACHE = 8 };

struct cr_driver_conn {
    sqlite3 *db;
    struct {
        char *sql;
        sqlite3_stmt *st;
    } simple[SIMPLE_CACHE];
};

/* How a column's values are read, decided from its declared type as
 * SQLAlchemy's SQLite types store them. */
enum hint { H_NONE, H_BOOL, H_DATE, H_TIME, H_DATETIME, H_NUMERIC, H_JSON };

struct cr_driver_stmt {
    sqlite3 *db;
    sqlite3_stmt *st;            /* NULL for SQL that holds no statement */
    int nparams;
    int ncols;
    unsigned char *hints;        /* per column */
    signed char *scales;         /* per column: NUMERIC(p, s)'s s, or -1 */
    char (*numbuf)[64];          /* per column: numbers shown as numerics */
    cr_buf params;               /* copies of text/blob parameters */
    bool readonly;               /* sqlite3_stmt_readonly: it changes no rows */
    int reprepared;              /* SQLITE_STMTSTATUS_REPREPARE at the last load */
    bool pending_row;            /* execute's step produced a row not yet fetched */
    bool stepped;                /* stepped since the last reset */
    bool done;
    int64_t rowcount;
    sqlite3_int64 changes_before;   /* total changes when it last executed */
};

/* The exception sqlite3 (Python's module) raises for a result code, which is
 * what SQLAlchemy passes on. */
static cr_status class_of(int code)
{
    switch (code & 0xff) {
    case SQLITE_CONSTRAINT: case SQLITE_MISMATCH:
        return CR_ERR_INTEGRITY;
    case SQLITE_TOOBIG:
        return CR_ERR_DATA;
    case SQLITE_NOMEM:
        return CR_ERR_NO_MEMORY;
    case SQLITE_INTERNAL: case SQLITE_NOTFOUND:
        return CR_ERR_INTERNAL;
    case SQLITE_MISUSE: case SQLITE_RANGE:
        return CR_ERR_INTERFACE;
    case SQLITE_ERROR: case SQLITE_PERM: case SQLITE_ABORT: case SQLITE_BUSY:
    case SQLITE_LOCKED: case SQLITE_READONLY: case SQLITE_INTERRUPT: case SQLITE_IOERR:
    case SQLITE_FULL: case SQLITE_CANTOPEN: case SQLITE_PROTOCOL: case SQLITE_EMPTY:
    case SQLITE_SCHEMA: case SQLITE_AUTH:
        return CR_ERR_OPERATIONAL;
    default:
        return CR_ERR_DATABASE;
    }
}

static cr_status db_error(sqlite3 *db, int rc, cr_error *err)
{
    int code = db ? sqlite3_extended_errcode(db) : rc;
    if ((code & 0xff) != (rc & 0xff))
        code = rc;
    cr_status cls = cr_error_set_db(err, class_of(code), NULL, code,
                                    db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    /* Another connection held the lock past the busy timeout: running the
     * transaction again may succeed. */
    err->retryable = (code & 0xff) == SQLITE_BUSY || (code & 0xff) == SQLITE_LOCKED;
    return cls;
}

static bool truthy(const char *v)
{
    return strcmp(v, "true") == 0 || strcmp(v, "1") == 0 || strcmp(v, "True") == 0;
}

/* The longest busy timeout sqlite3_busy_timeout's int of milliseconds holds. */
#define MAX_TIMEOUT_SECONDS 2147483

/* What the URL asks of a connection. */
typedef struct sl_options {
    int flags;              /* for sqlite3_open_v2 */
    double timeout;         /* busy timeout, seconds */
    bool foreign_keys;      /* PRAGMA foreign_keys=ON */
    const char *journal;    /* the PRAGMA journal_mode to run, or NULL */
} sl_options;

/* The journal modes PRAGMA journal_mode takes, and the statement for each. */
static const struct {
    const char *name, *pragma;
} journal_modes[] = {
    {"delete", "PRAGMA journal_mode=delete"}, {"truncate", "PRAGMA journal_mode=truncate"},
    {"persist", "PRAGMA journal_mode=persist"}, {"memory", "PRAGMA journal_mode=memory"},
    {"wal", "PRAGMA journal_mode=wal"},       {"off", "PRAGMA journal_mode=off"},
};

static const char *journal_pragma(const char *v)
{
    for (size_t i = 0; i < CR_ARRAY_LEN(journal_modes); i++)
        if (strcasecmp(v, journal_modes[i].name) == 0)
            return journal_modes[i].pragma;
    return NULL;
}

/* Options SQLAlchemy's pysqlite dialect accepts in the URL; with uri=true the
 * others go into the SQLite URI, as there. */
static cr_status build_path(const cr_url *url, cr_buf *path, sl_options *o, cr_error *err)
{
    const char *db = url->database && *url->database ? url->database : ":memory:";
    const char *uri = cr_url_query(url, "uri");
    bool is_uri = uri && truthy(uri);
    o->timeout = 5.0;             /* Python's sqlite3 default */
    o->foreign_keys = true;
    o->journal = NULL;
    cr_buf_puts(path, db);
    char sep = strchr(db, '?') ? '&' : '?';
    for (size_t i = 0; i < url->nquery; i++) {
        const char *k = url->query_keys[i], *v = url->query_values[i];
        if (strcmp(k, "timeout") == 0) {
            char *end;
            o->timeout = strtod(v, &end);
            /* Written so that NaN fails too. */
            if (end == v || *end || !(o->timeout >= 0 && o->timeout <= MAX_TIMEOUT_SECONDS))
                return cr_error_set(err, CR_ERR_ARGUMENT,
                                    "SQLite URL option timeout must be a number of seconds "
                                    "from 0 to %d, not '%s'", MAX_TIMEOUT_SECONDS, v);
        } else if (strcmp(k, "foreign_keys") == 0) {
            if (!cr_url_parse_flag(v, &o->foreign_keys))
                return cr_error_set(err, CR_ERR_ARGUMENT,
                                    "SQLite URL option foreign_keys must be 1 or 0 (true or "
                                    "false, on or off), not '%s'", v);
        } else if (strcmp(k, "journal_mode") == 0) {
            if (!(o->journal = journal_pragma(v)))
                return cr_error_set(err, CR_ERR_ARGUMENT,
                                    "SQLite URL option journal_mode must be delete, truncate, "
                                    "persist, memory, wal or off, not '%s'", v);
        } else if (strcmp(k, "uri") == 0 || strcmp(k, "check_same_thread") == 0) {
            /* check_same_thread: Python's; connections here are never shared. */
        } else if (is_uri) {
            cr_buf_printf(path, "%c%s=%s", sep, k, v);
            sep = '&';
        } else {
            return cr_error_set(err, CR_ERR_ARGUMENT,
                                "unknown SQLite URL option '%s' (known: timeout, "
                                "foreign_keys, journal_mode, uri, check_same_thread; with "
                                "uri=true, SQLite URI parameters)", k);
        }
    }
    o->flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (is_uri)
        o->flags |= SQLITE_OPEN_URI;
    return path->oom ? cr_error_oom(err) : CR_OK;
}

static cr_status check_url(const cr_url *url, cr_buf *path, sl_options *o, cr_error *err)
{
    if (url->nhosts > 1)
        return cr_error_set(err, CR_ERR_ARGUMENT,
                            "a SQLite URL names no hosts (this one has %zu): SQLite is a file, "
                            "write sqlite:///relative.db or sqlite:////absolute/path.db",
                            url->nhosts);
    if (url->host || url->username || url->port)
        return cr_error_set(err, CR_ERR_ARGUMENT,
                            "a SQLite URL names no host or user: write sqlite:///relative.db, "
                            "sqlite:////absolute/path.db or sqlite://");
    return build_path(url, path, o, err);
}

/* The URL's options checked when the engine is made, before any connect. */
static cr_status sl_check_url(const cr_url *url, cr_error *err)
{
    cr_buf path;
    cr_buf_init(&path);
    sl_options o;
    cr_status st = check_url(url, &path, &o, err);
    cr_buf_free(&path);
    return st;
}

static void sl_close(cr_driver_conn *dc);

static cr_status sl_connect(const cr_url *url, cr_driver_conn **out, cr_error *err)
{
    cr_buf path;
    cr_buf_init(&path);
    sl_options o = {0};
    cr_status st = check_url(url, &path, &o, err);
    if (st) {
        cr_buf_free(&path);
        return st;
    }
    cr_driver_conn *dc = cr_calloc(1, sizeof *dc);
    if (!dc) {
        cr_buf_free(&path);
        return cr_error_oom(err);
    }
    int rc = sqlite3_open_v2(cr_buf_cstr(&path), &dc->db, o.flags, NULL);
    if (rc != SQLITE_OK) {
        st = db_error(dc->db, rc, err);
        size_t n = strlen(err->message);
        snprintf(err->message + n, sizeof err->message - n, " (database '%s')",
                 cr_buf_cstr(&path));
        sqlite3_close(dc->db);
        cr_free(dc);
        cr_buf_free(&path);
        return st;
    }
    cr_buf_free(&path);
    sqlite3_extended_result_codes(dc->db, 1);
    sqlite3_busy_timeout(dc->db, (int)(o.timeout * 1000));
    const char *pragmas[] = {o.foreign_keys ? "PRAGMA foreign_keys=ON" : NULL, o.journal};
    for (size_t i = 0; i < CR_ARRAY_LEN(pragmas); i++) {
        if (pragmas[i] && (rc = sqlite3_exec(dc->db, pragmas[i], NULL, NULL, NULL)) != SQLITE_OK) {
            st = db_error(dc->db, rc, err);
            sl_close(dc);
            return st;
        }
    }
    *out = dc;
    return CR_OK;
}

static void sl_close(cr_driver_conn *dc)
{
    if (!dc)
        return;
    for (int i = 0; i < SIMPLE_CACHE; i++) {
        sqlite3_finalize(dc->simple[i].st);
        cr_free(dc->simple[i].sql);
    }
    sqlite3_close_v2(dc->db);
    cr_free(dc);
}

static bool has_more_sql(const char *p);

/* The cached prepared form of sql, preparing it into a free slot; NULL when
 * it is not one simple statement or the cache is full. */
static sqlite3_stmt *simple_stmt(cr_driver_conn *dc, const char *sql)
{
    int free_slot = -1;
    for (int i = 0; i < SIMPLE_CACHE; i++) {
        if (dc->simple[i].sql && strcmp(dc->simple[i].sql, sql) == 0)
            return dc->simple[i].st;
        if (!dc->simple[i].sql && free_slot < 0)
            free_slot = i;
    }
    if (free_slot < 0 || strlen(sql) > 64)
        return NULL;
    sqlite3_stmt *st = NULL;
    const char *tail = NULL;
    if (sqlite3_prepare_v3(dc->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, &tail) != SQLITE_OK ||
        !st || (tail && has_more_sql(tail))) {
        sqlite3_finalize(st);
        return NULL;
    }
    char *copy = cr_strdup(sql);
    if (!copy) {
        sqlite3_finalize(st);
        return NULL;
    }
    dc->simple[free_slot].sql = copy;
    dc->simple[free_slot].st = st;
    return st;
}

static cr_status sl_exec_simple(cr_driver_conn *dc, const char *sql, cr_error *err)
{
    sqlite3_stmt *st = simple_stmt(dc, sql);
    if (!st) {
        int rc = sqlite3_exec(dc->db, sql, NULL, NULL, NULL);
        return rc == SQLITE_OK ? CR_OK : db_error(dc->db, rc, err);
    }
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        ;
    cr_status status = rc == SQLITE_DONE ? CR_OK : db_error(dc->db, rc, err);
    sqlite3_reset(st);
    return status;
}

static cr_status sl_set_isolation(cr_driver_conn *dc, const char *level, cr_error *err)
{
    const char *canon = cr_isolation_canonical(level);
    const char *sql = NULL;
    if (canon && strcmp(canon, "SERIALIZABLE") == 0)
        sql = "PRAGMA read_uncommitted = 0";
    else if (canon && strcmp(canon, "READ UNCOMMITTED") == 0)
        sql = "PRAGMA read_uncommitted = 1";
    if (!sql)
        return cr_error_set(err, CR_ERR_ARGUMENT,
                            "SQLite has no isolation level '%s' (it has SERIALIZABLE, "
                            "READ UNCOMMITTED and AUTOCOMMIT)", level ? level : "(null)");
    return sl_exec_simple(dc, sql, err);
}

/* Whether SQL text left after a statement holds anything but blanks, ';'
 * and comments. */
static bool has_more_sql(const char *p)
{
    for (;;) {
        while (isspace((unsigned char)*p) || *p == ';')
            p++;
        if (p[0] == '-' && p[1] == '-') {
            p += strcspn(p, "\n");
        } else if (p[0] == '/' && p[1] == '*') {
            const char *end = strstr(p + 2, "*/");
            if (!end)
                return false;
            p = end + 2;
        } else {
            return *p != '\0';
        }
    }
}

/* The scale s of a declared "NUMERIC(p, s)", or -1. */
static int scale_of(const char *decl)
{
    const char *comma = decl ? strchr(decl, ',') : NULL;
    if (!comma)
        return -1;
    int s = atoi(comma + 1);
    return s >= 0 && s <= 30 ? s : -1;
}

static enum hint hint_of(const char *decl)
{
    if (!decl)
        return H_NONE;
    char up[64];
    size_t i = 0;
    for (; decl[i] && i < sizeof up - 1; i++)
        up[i] = (char)toupper((unsigned char)decl[i]);
    up[i] = '\0';
    if (strstr(up, "JSON"))
        return H_JSON;
    if (strstr(up, "BOOL"))
        return H_BOOL;
    if (strstr(up, "DATETIME") || strstr(up, "TIMESTAMP"))
        return H_DATETIME;
    if (strstr(up, "DATE"))
        return H_DATE;
    if (strstr(up, "TIME"))
        return H_TIME;
    if (strstr(up, "NUMERIC") || strstr(up, "DECIMAL"))
        return H_NUMERIC;
    return H_NONE;
}

/* (Re)read the column hints when the column count is new. */
static cr_status load_columns(cr_driver_stmt *s, cr_error *err)
{
    int n = s->st ? sqlite3_column_count(s->st) : 0;
    if (s->st)
        s->readonly = sqlite3_stmt_readonly(s->st) != 0;
    if (n == s->ncols && (n == 0 || s->hints))
        return CR_OK;
    cr_free(s->hints);
    cr_free(s->scales);
    cr_free(s->numbuf);
    s->hints = NULL;
    s->scales = NULL;
    s->numbuf = NULL;
    s->ncols = 0;
    if (n == 0)
        return CR_OK;
    s->hints = cr_malloc((size_t)n);
    s->scales = cr_malloc((size_t)n);
    s->numbuf = cr_malloc(sizeof *s->numbuf * (size_t)n);
    if (!s->hints || !s->scales || !s->numbuf)
        return cr_error_oom(err);
    for (int i = 0; i < n; i++) {
        const char *decl = sqlite3_column_decltype(s->st, i);
        s->hints[i] = (unsigned char)hint_of(decl);
        s->scales[i] = (signed char)scale_of(decl);
    }
    s->ncols = n;
    return CR_OK;
}

static void sl_finalize(cr_driver_stmt *s)
{
    if (!s)
        return;
    sqlite3_finalize(s->st);
    cr_free(s->hints);
    cr_free(s->scales);
    cr_free(s->numbuf);
    cr_buf_free(&s->params);
    cr_free(s);
}

static cr_status sl_prepare(cr_driver_conn *dc, const char *sql, int nparams,
                            cr_driver_stmt **out, cr_error *err)
{
    cr_driver_stmt *s = cr_calloc(1, sizeof *s);
    if (!s)
        return cr_error_oom(err);
    s->db = dc->db;
    s->nparams = nparams;
    const char *tail = NULL;
    int rc = sqlite3_prepare_v3(dc->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s->st, &tail);
    cr_status st = CR_OK;
    if (rc != SQLITE_OK)
        st = db_error(dc->db, rc, err);
    else if (tail && has_more_sql(tail))
        st = cr_error_set(err, CR_ERR_PROGRAMMING, "you can only execute one statement at a time");
    else if (s->st && sqlite3_bind_parameter_count(s->st) != nparams)
        st = cr_error_set(err, CR_ERR_ARGUMENT,
                          "the statement has %d bind parameters but %d named ones; write "
                          "parameters as :name", sqlite3_bind_parameter_count(s->st), nparams);
    else
        st = load_columns(s, err);
    if (st) {
        sl_finalize(s);
        return st;
    }
    *out = s;
    return CR_OK;
}

/* Bytes a parameter needs in the statement's parameter buffer. */
static size_t param_size(const cr_value *v)
{
    switch (v->type) {
    case CR_TEXT: case CR_NUMERIC: return v->v.s.len + 1;
    case CR_BLOB: return v->v.blob.len + 1;
    case CR_DATE: case CR_TIME: case CR_DATETIME: return 40;
    default: return 0;
    }
}

/* bind_all in general: every type, text and bytes copied where the rows are
 * read after the call. */
static __attribute__((noinline)) cr_status bind_any(cr_driver_stmt *s, const cr_value *params,
                                                    cr_error *err)
{
    /* SQLite reads bound bytes while stepping. A statement without columns
     * steps to its end inside execute, so the caller's bytes serve; one that
     * returns rows steps on after the call has returned, so its text and
     * blobs are copied into one buffer that is reused, sized first so it does
     * not move while binding. */
    bool copy = s->ncols > 0;
    size_t need = 0;
    for (int i = 0; i < s->nparams; i++)
        if (copy || params[i].type == CR_DATE || params[i].type == CR_TIME ||
            params[i].type == CR_DATETIME)
            need += param_size(&params[i]);
    cr_buf_clear(&s->params);
    if (need && !cr_buf_reserve(&s->params, need))
        return cr_error_oom(err);
    char *p = s->params.data;
    int rc = SQLITE_OK;
    for (int i = 0; i < s->nparams && rc == SQLITE_OK; i++) {
        const cr_value *v = &params[i];
        int idx = i + 1;
        switch (v->type) {
        case CR_NULL:
            rc = sqlite3_bind_null(s->st, idx);
            break;
        case CR_INT:
            rc = sqlite3_bind_int64(s->st, idx, v->v.i);
            break;
        case CR_BOOL:
            rc = sqlite3_bind_int(s->st, idx, v->v.b ? 1 : 0);
            break;
        case CR_DOUBLE:
            rc = sqlite3_bind_double(s->st, idx, v->v.d);
            break;
        case CR_TEXT:
        case CR_NUMERIC:
            if (!copy) {
                rc = sqlite3_bind_text(s->st, idx, v->v.s.ptr, (int)v->v.s.len, SQLITE_STATIC);
                break;
            }
            memcpy(p, v->v.s.ptr, v->v.s.len);
            rc = sqlite3_bind_text(s->st, idx, p, (int)v->v.s.len, SQLITE_STATIC);
            p += v->v.s.len + 1;
            break;
        case CR_BLOB:
            if (!copy) {
                rc = sqlite3_bind_blob(s->st, idx, v->v.blob.ptr, (int)v->v.blob.len,
                                       SQLITE_STATIC);
                break;
            }
            if (v->v.blob.len)
                memcpy(p, v->v.blob.ptr, v->v.blob.len);
            rc = sqlite3_bind_blob(s->st, idx, p, (int)v->v.blob.len, SQLITE_STATIC);
            p += v->v.blob.len + 1;
            break;
        case CR_DATE:
        case CR_TIME:
        case CR_DATETIME: {
            /* SQLAlchemy's SQLite DATETIME and TIME keep no offset and read
             * back a naive value: an aware one is stored as the same
             * instant in UTC, which is what that naive value then means. */
            cr_datetime dt = v->v.dt;
            if (cr_datetime_to_utc(&dt, v->type) != CR_OK)
                return cr_error_set(err, CR_ERR_DATA, "parameter %d: the datetime is out of "
                                    "range (years 1 to 9999) once moved to UTC", idx);
            int n = cr_datetime_format(&dt, v->type, p, 40);
            rc = sqlite3_bind_text(s->st, idx, p, n, SQLITE_STATIC);
            p += 40;
            break;
        }
        default:
            return cr_error_set(err, CR_ERR_ARGUMENT, "parameter %d has an unknown type %d",
                                idx, (int)v->type);
        }
    }
    return rc == SQLITE_OK ? CR_OK : db_error(s->db, rc, err);
}

/* The parameters, bound. The common case first, on every execute:
 * integers and doubles (keys), and the text of a statement without columns
 * (an INSERT, an UPDATE), which steps to its end before the call returns
 * and so may bind the caller's bytes as they are; anything else goes the
 * general way. */
static CR_HOT cr_status bind_all(cr_driver_stmt *s, const cr_value *params, cr_error *err)
{
    int i = 0, rc = SQLITE_OK;
    for (; i < s->nparams && rc == SQLITE_OK; i++) {
        const cr_value *v = &params[i];
        if (v->type == CR_INT)
            rc = sqlite3_bind_int64(s->st, i + 1, v->v.i);
        else if (v->type == CR_DOUBLE)
            rc = sqlite3_bind_double(s->st, i + 1, v->v.d);
        else if (v->type == CR_TEXT && s->ncols == 0)
            rc = sqlite3_bind_text(s->st, i + 1, v->v.s.ptr, (int)v->v.s.len, SQLITE_STATIC);
        else
            return bind_any(s, params, err);
    }
    return rc == SQLITE_OK ? CR_OK : db_error(s->db, rc, err);
}

/* The rows the statement itself changed: not those of the foreign key
 * actions (ON DELETE CASCADE) or triggers it set off, which the total
 * counts. Nothing changed at all: 0 (sqlite3_changes still tells of the
 * statement before). */
static sqlite3_int64 own_changes(sqlite3 *db, sqlite3_int64 total_before)
{
    return sqlite3_total_changes64(db) == total_before ? 0 : sqlite3_changes64(db);
}

static CR_HOT cr_status sl_execute(cr_driver_stmt *s, const cr_value *params, bool stream,
                                   cr_error *err)
{
    (void)stream;                     /* SQLite always steps row by row */
    s->pending_row = false;
    s->done = true;
    s->rowcount = -1;
    if (!s->st)
        return CR_OK;
    if (s->stepped)
        sqlite3_reset(s->st);
    s->stepped = false;
    cr_status st = bind_all(s, params, err);
    if (st)
        return st;
    /* What a read-only query changes is nothing: no count to take. */
    sqlite3_int64 before = s->ncols == 0 || !s->readonly ? sqlite3_total_changes64(s->db) : 0;
    s->changes_before = before;
    s->stepped = true;
    int rc = sqlite3_step(s->st);
    if (rc == SQLITE_ROW) {
        s->pending_row = true;
        s->done = false;
    } else if (rc != SQLITE_DONE) {
        st = db_error(s->db, rc, err);
        sqlite3_reset(s->st);
        s->stepped = false;
        return st;
    }
    /* SQLite re-prepares a statement by itself when the schema changes
     * (while stepping): only then may its columns be others. */
    int reprepared = sqlite3_stmt_status(s->st, SQLITE_STMTSTATUS_REPREPARE, 0);
    if (reprepared != s->reprepared) {
        if ((st = load_columns(s, err)))
            return st;
        s->reprepared = reprepared;
    }
    if (s->ncols == 0 || !s->readonly)
        s->rowcount = own_changes(s->db, before);
    return CR_OK;
}

static int sl_ncols(cr_driver_stmt *s) { return s->ncols; }

/* SQLite re-prepares a statement by itself when the schema changes; its
 * count of those, as the last execute saw it, is the shape. */
static uint64_t sl_shape(cr_driver_stmt *s)
{
    return (uint64_t)s->reprepared;
}
static const char *sl_colname(cr_driver_stmt *s, int i) { return sqlite3_column_name(s->st, i); }

/* Cell i (its storage class t) into v, for a column whose declared type
 * asks for more than the storage class says: booleans, dates and times,
 * numerics at their scale. */
static __attribute__((noinline)) void read_hinted(cr_driver_stmt *s, int i, sqlite3_value *cell,
                                                  int t, cr_value *v)
{
    enum hint h = (enum hint)s->hints[i];
    /* A JSON column's declared type gives it NUMERIC affinity, so a JSON
     * number is stored as one: it reads as its text all the same. */
    if (h == H_JSON && (t == SQLITE_INTEGER || t == SQLITE_FLOAT))
        t = SQLITE_TEXT;
    switch (t) {
    case SQLITE_NULL:
        v->type = CR_NULL;
        break;
    case SQLITE_INTEGER: {
        sqlite3_int64 x = sqlite3_value_int64(cell);
        if (h == H_BOOL && (x == 0 || x == 1)) {
            v->type = CR_BOOL;
            v->v.b = x != 0;
        } else if (h == H_NUMERIC) {
            /* NUMERIC affinity stores whole numbers as integers; they
             * read at the declared scale all the same, as SQLAlchemy's
             * Numeric reads them ("%.6f" of 0 is "0.000000"). At most
             * 20 + 1 + 30 characters: numbuf holds them. */
            char *p = s->numbuf[i];
            int n = cr_format_int64(x, p), sc = s->scales[i];
            if (sc > 0) {
                p[n++] = '.';
                memset(p + n, '0', (size_t)sc);
                n += sc;
                p[n] = '\0';
            }
            v->type = CR_NUMERIC;
            v->v.s.len = (size_t)n;
            v->v.s.ptr = p;
        } else {
            v->type = CR_INT;
            v->v.i = x;
        }
        break;
    }
    case SQLITE_FLOAT:
        v->type = CR_DOUBLE;
        v->v.d = sqlite3_value_double(cell);
        if (h == H_NUMERIC) {
            /* SQLite keeps NUMERIC as REAL; show it at the declared scale,
             * as SQLAlchemy's Numeric does. */
            int sc = s->scales[i];
            int n = sc >= 0 ? snprintf(s->numbuf[i], sizeof s->numbuf[i], "%.*f", sc, v->v.d)
                            : snprintf(s->numbuf[i], sizeof s->numbuf[i], "%.15g", v->v.d);
            if (n > 0 && (size_t)n < sizeof s->numbuf[i]) {
                v->type = CR_NUMERIC;
                v->v.s.ptr = s->numbuf[i];
                v->v.s.len = (size_t)n;
            }
        }
        break;
    case SQLITE_TEXT: {
        const char *text = (const char *)sqlite3_value_text(cell);
        size_t n = (size_t)sqlite3_value_bytes(cell);
        cr_type kind;
        if (h >= H_DATE && h <= H_DATETIME &&
            cr_datetime_parse(text, n, &v->v.dt, &kind) == CR_OK) {
            v->type = kind;
        } else if (h == H_JSON && text && cr_json_is_null(text, n)) {
            v->type = CR_NULL;
        } else {
            v->type = h == H_NUMERIC ? CR_NUMERIC : CR_TEXT;
            v->v.s.ptr = text ? text : "";
            v->v.s.len = n;
        }
        break;
    }
    default: {
        const void *b = sqlite3_value_blob(cell);
        v->type = CR_BLOB;
        v->v.blob.len = (size_t)sqlite3_value_bytes(cell);
        v->v.blob.ptr = b ? b : "";
        break;
    }
    }
}

/* One sqlite3_column_value per column, read with the value API: the
 * connection is opened NOMUTEX and used by one thread at a time, which is
 * what makes the unprotected value safe to read. A column without a hint
 * reads as its storage class says, here; the others (and blobs) the general
 * way. */
static CR_INLINE void read_row(cr_driver_stmt *s, cr_value *row)
{
    for (int i = 0; i < s->ncols; i++) {
        cr_value *v = &row[i];
        sqlite3_value *cell = sqlite3_column_value(s->st, i);
        int t = sqlite3_value_type(cell);
        if (s->hints[i] != H_NONE || t == SQLITE_BLOB) {
            read_hinted(s, i, cell, t, v);
        } else if (t == SQLITE_INTEGER) {
            v->type = CR_INT;
            v->v.i = sqlite3_value_int64(cell);
        } else if (t == SQLITE_TEXT) {
            const char *text = (const char *)sqlite3_value_text(cell);
            v->type = CR_TEXT;
            v->v.s.len = (size_t)sqlite3_value_bytes(cell);
            v->v.s.ptr = text ? text : "";
        } else if (t == SQLITE_FLOAT) {
            v->type = CR_DOUBLE;
            v->v.d = sqlite3_value_double(cell);
        } else {
            v->type = CR_NULL;
        }
    }
}

static CR_HOT int sl_fetch(cr_driver_stmt *s, cr_value *row, cr_error *err)
{
    if (s->pending_row) {
        s->pending_row = false;
        read_row(s, row);
        return CR_ROW;
    }
    if (s->done)
        return CR_DONE;
    int rc = sqlite3_step(s->st);
    if (rc == SQLITE_ROW) {
        read_row(s, row);
        return CR_ROW;
    }
    s->done = true;
    if (rc == SQLITE_DONE) {
        /* A statement with RETURNING counts its changes when it ends. */
        if (!s->readonly)
            s->rowcount = own_changes(s->db, s->changes_before);
        return CR_DONE;
    }
    return db_error(s->db, rc, err);
}

static int64_t sl_rowcount(cr_driver_stmt *s) { return s->rowcount; }

static cr_status sl_lastrowid(cr_driver_stmt *s, int64_t *out, cr_error *err)
{
    (void)err;
    /* Asked right after the execute, before anything else runs. */
    *out = sqlite3_last_insert_rowid(s->db);
    return CR_OK;
}

static CR_HOT void sl_reset(cr_driver_stmt *s)
{
    if (s->st && s->stepped)
        sqlite3_reset(s->st);
    s->stepped = false;
    s->pending_row = false;
    s->done = true;
}

const cr_driver cr_sqlite_driver = {
    .name = "sqlite",
    .param_style = CR_PARAM_NUMBERED_QMARK,
    .default_isolation = "SERIALIZABLE",
    .check_url = sl_check_url,
    .connect = sl_connect,
    .close = sl_close,
    .exec_simple = sl_exec_simple,
    .set_isolation = sl_set_isolation,
    .prepare = sl_prepare,
    .finalize = sl_finalize,
    .execute = sl_execute,
    .ncols = sl_ncols,
    .shape = sl_shape,
    .colname = sl_colname,
    .fetch = sl_fetch,
    .rowcount = sl_rowcount,
    .lastrowid = sl_lastrowid,
    .reset = sl_reset,
};
