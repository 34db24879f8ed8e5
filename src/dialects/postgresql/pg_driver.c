/* pg_driver.c — the PostgreSQL driver: Crucible's driver contract over libpq. */
#include "dialects/driver.h"

#include <libpq-fe.h>

#include <errno.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Type OIDs (the server's pg_type_d.h is not part of libpq's headers). */
enum {
    OID_BOOL = 16, OID_BYTEA = 17, OID_INT8 = 20, OID_INT2 = 21, OID_INT4 = 23,
    OID_OID = 26, OID_FLOAT4 = 700, OID_FLOAT8 = 701, OID_DATE = 1082,
    OID_TIME = 1083, OID_TIMESTAMP = 1114, OID_TIMESTAMPTZ = 1184,
    OID_NUMERIC = 1700, OID_JSON = 114, OID_JSONB = 3802
};

/* How a result column becomes a cr_value, decided once per execute. */
enum { K_TEXT, K_BOOL, K_INT, K_DOUBLE, K_NUMERIC, K_DATE, K_TIME, K_DATETIME, K_BYTEA, K_JSON };

/* Scratch text for one parameter: numbers, dates, times. */
#define PG_NUMBUF 64

struct cr_driver_conn {
    PGconn *pg;
    unsigned long counter;       /* names server statements cr_1, cr_2, ... */
    bool unnamed;                /* no named server statements (poolers)    */
    cr_driver_stmt *streamer;    /* the statement whose streamed result is open */
    cr_buf pending;              /* DEALLOCATEs deferred until outside a transaction */
};

typedef struct pg_bytes {
    unsigned char *data;
    size_t cap;
} pg_bytes;

struct cr_driver_stmt {
    cr_driver_conn *dc;
    char *sql;
    int nparams;

    /* The server statement: its name and the parameter types it was
     * prepared with. */
    bool prepared;
    char name[32];
    Oid *oids;

    /* Per-execute parameter arrays, allocated once at prepare. */
    Oid *cur;
    const char **values;
    int *lengths;
    int *formats;
    char (*num)[PG_NUMBUF];
    char *text;                  /* copies of text parameters, NUL-terminated */
    size_t textcap;

    /* The outcome of the last execute. */
    PGresult *res;               /* buffered result, or the current streamed row */
    int nrows, row;              /* buffered: rows and the next one to read */
    int ncols;
    int64_t rowcount;
    bool streaming;              /* stream: more PGresults to read */
    bool pending_row;            /* stream: res holds a row not yet returned */
    bool interrupted;            /* stream: discarded by another statement */
    bool stale;                  /* last error: server statement gone or outdated */

    /* Columns: conversion, blob buffers and names, grown, never shrunk. */
    int colcap;
    unsigned char *kinds;
    pg_bytes *blobs;
    size_t *name_off;
    cr_buf names;
};

static void pg_reset(cr_driver_stmt *st);

/* ---- errors ---------------------------------------------------------------- */

static bool starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Map a failed result (or, when r is NULL, the connection's error). */
static cr_status map_error(cr_driver_conn *dc, const PGresult *r, cr_error *err)
{
    const char *msg = r ? PQresultErrorMessage(r) : NULL;
    if (!msg || !*msg)
        msg = PQerrorMessage(dc->pg);
    if (!msg || !*msg)
        msg = "unknown libpq error";
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    const char *sev = r ? PQresultErrorField(r, PG_DIAG_SEVERITY) : NULL;

    /* Drop the "ERROR:  " (or "FATAL:  ", localized) prefix; keep DETAIL. */
    if (sev && *sev && starts_with(msg, sev) && msg[strlen(sev)] == ':') {
        msg += strlen(sev) + 1;
        while (*msg == ' ')
            msg++;
    } else if (starts_with(msg, "ERROR:  ")) {
        msg += 8;
    }

    bool gone = PQstatus(dc->pg) == CONNECTION_BAD;
    if (state && (starts_with(state, "08") || strcmp(state, "57P01") == 0 ||
                  strcmp(state, "57P02") == 0 || strcmp(state, "57P03") == 0))
        gone = true;

    cr_status cls;
    if (gone)
        cls = CR_ERR_OPERATIONAL;
    else if (state && *state)
        cls = cr_sqlstate_class(state);
    else
        cls = CR_ERR_INTERFACE;   /* raised by libpq itself: misuse, out of memory */
    cr_error_set_db(err, cls, state && *state ? state : NULL, 0, msg);
    err->disconnect = gone;
    return cls;
}

/* A result in COPY state has to be ended before the connection is usable. */
static void end_copy(PGconn *pg, ExecStatusType s)
{
    if (s == PGRES_COPY_IN) {
        PQputCopyEnd(pg, "COPY is not supported by Crucible");
    } else if (s == PGRES_COPY_OUT) {
        char *buf;
        while (PQgetCopyData(pg, &buf, 0) > 0)
            PQfreemem(buf);
    }
}

static void drain(PGconn *pg)
{
    PGresult *r;
    while ((r = PQgetResult(pg)) != NULL) {
        ExecStatusType s = PQresultStatus(r);
        PQclear(r);
        if (s == PGRES_COPY_IN || s == PGRES_COPY_OUT)
            end_copy(pg, s);
        else if (s == PGRES_COPY_BOTH)
            break;   /* replication protocol: never started by us */
    }
}

/* Reject COPY and leave the connection idle. Returns the status. */
static cr_status refuse_copy(cr_driver_conn *dc, ExecStatusType s, cr_error *err)
{
    end_copy(dc->pg, s);
    drain(dc->pg);
    return cr_error_set(err, CR_ERR_NOT_SUPPORTED,
                        "COPY is not supported through Crucible's PostgreSQL driver");
}

/* ---- connection-level housekeeping ------------------------------------------ */

/* End another statement's streamed result so that this connection can run
 * something else; that statement's next fetch reports it. */
static void claim(cr_driver_conn *dc, cr_driver_stmt *st)
{
    cr_driver_stmt *other = dc->streamer;
    if (!other || other == st)
        return;
    drain(dc->pg);
    other->streaming = false;
    other->interrupted = true;
    dc->streamer = NULL;
}

/* Whether DEALLOCATE can run now without affecting anything: outside a
 * transaction (a failure there could abort the caller's), no stream open. */
static bool can_deallocate(cr_driver_conn *dc)
{
    return !dc->streamer && PQstatus(dc->pg) == CONNECTION_OK &&
           PQtransactionStatus(dc->pg) == PQTRANS_IDLE;
}

static void flush_pending(cr_driver_conn *dc)
{
    if (dc->pending.len == 0 || !can_deallocate(dc))
        return;
    PQclear(PQexec(dc->pg, dc->pending.data));   /* errors ignored */
    cr_buf_clear(&dc->pending);
}

/* Drop a server statement now, or later when that is not safe yet. */
static void deallocate(cr_driver_conn *dc, const char *name)
{
    if (PQstatus(dc->pg) != CONNECTION_OK)
        return;
    if (can_deallocate(dc)) {
        char sql[64];
        snprintf(sql, sizeof sql, "DEALLOCATE %s", name);
        PQclear(PQexec(dc->pg, sql));
        return;
    }
    cr_buf_printf(&dc->pending, "DEALLOCATE %s;", name);
    if (dc->pending.oom) {   /* forget them: they go when the session ends */
        cr_buf_free(&dc->pending);
        cr_buf_init(&dc->pending);
    }
}

/* ---- connect / close --------------------------------------------------------- */

static void silent_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* libpq's complaints about the connection options themselves (its messages
 * may come after a "connection to server at ... failed: " prefix). */
static bool is_argument_error(const char *msg)
{
    static const char *const marks[] = {
        "invalid connection option",                /* unknown keyword          */
        "for connection option",                    /* invalid integer value .. */
        "invalid port number",
        "SSL protocol version",                     /* ssl_min/max_protocol_... */
        "invalid URI query parameter",
    };
    for (size_t i = 0; i < CR_ARRAY_LEN(marks); i++)
        if (strstr(msg, marks[i]))
            return true;
    /* "invalid sslmode value: ...", "invalid target_session_attrs value: ..." */
    for (const char *p = strstr(msg, "invalid "); p; p = strstr(p + 1, "invalid ")) {
        const char *q = p + 8;
        while (*q && *q != ' ' && *q != '\n')
            q++;
        if (strncmp(q, " value: ", 8) == 0)
            return true;
    }
    return false;
}

/* Add one host to libpq's comma-separated host and port lists (an empty
 * entry is libpq's default). */
static void add_host(cr_buf *hosts, cr_buf *ports, const cr_url_host *h, size_t index)
{
    if (index) {
        cr_buf_putc(hosts, ',');
        cr_buf_putc(ports, ',');
    }
    if (h->name)
        cr_buf_puts(hosts, h->name);
    if (h->port)
        cr_buf_printf(ports, "%d", h->port);
}

/* libpq's host and port lists: the URL's hosts (postgresql://u@h1:5432,h2/db)
 * then SQLAlchemy's spelling, a repeated host option (?host=h1:5432&host=h2).
 * With several, libpq tries them in order (and target_session_attrs picks the
 * primary among them). Leaves the lists empty when the URL names no host. */
static cr_status host_lists(const cr_url *url, cr_buf *hosts, cr_buf *ports, cr_error *err)
{
    size_t n = 0;
    for (size_t i = 0; i < url->nhosts; i++)
        add_host(hosts, ports, &url->hosts[i], n++);
    for (size_t i = 0; i < url->nquery; i++) {
        if (strcmp(url->query_keys[i], "host") != 0)
            continue;
        const char *v = url->query_values[i];
        cr_url_host h;
        cr_status st = cr_url_parse_host(v, strlen(v), &h, err);
        if (st)
            return st;
        add_host(hosts, ports, &h, n++);
        cr_free(h.name);
    }
    return hosts->oom || ports->oom ? cr_error_oom(err) : CR_OK;
}

/* ---- connecting: libpq's blocking connect, with the notices silenced from the start ---- */

/* libpq's connect_timeout as libpq reads it (the URL, PGCONNECT_TIMEOUT, a
 * service file): whole seconds for each host, at least 2; 0 for none. */
static cr_status connect_timeout_of(PGconn *pg, int *out, cr_error *err)
{
    *out = 0;
    PQconninfoOption *opts = PQconninfo(pg);
    if (!opts)
        return cr_error_oom(err);
    cr_status st = CR_OK;
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        if (strcmp(o->keyword, "connect_timeout") != 0 || !o->val || !*o->val)
            continue;
        char *end;
        errno = 0;
        long v = strtol(o->val, &end, 10);
        while (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r')
            end++;
        if (end == o->val || *end || errno || v > INT_MAX || v < INT_MIN)
            st = cr_error_set(err, CR_ERR_ARGUMENT,
                              "invalid integer value \"%s\" for connection option "
                              "\"connect_timeout\"", o->val);
        else
            *out = v <= 0 ? 0 : v < 2 ? 2 : (int)v;
    }
    PQconninfoFree(opts);
    return st;
}

/* Whether the connection has moved on to another host or address since
 * *seen (noted there then): connect_timeout runs afresh for each. */
static bool moved_on(PGconn *pg, char *seen, size_t size)
{
    char now[1024];
    const char *h = PQhost(pg), *p = PQport(pg), *a = PQhostaddr(pg);
    snprintf(now, sizeof now, "%s\n%s\n%s", h ? h : "", p ? p : "", a ? a : "");
    if (strcmp(now, seen) == 0)
        return false;
    snprintf(seen, size, "%s", now);
    return true;
}

/* Drive a connection that PQconnectStartParams began to its end, as
 * PQconnectdbParams would. False when the host it is at gave no answer
 * within timeout seconds (0: no limit); pg is then still in progress. */
static bool finish_connect(PGconn *pg, int timeout)
{
    PostgresPollingStatusType flag = PGRES_POLLING_WRITING;
    char seen[1024] = "";
    double deadline = 0;
    while (flag == PGRES_POLLING_READING || flag == PGRES_POLLING_WRITING) {
        int ms = -1;
        if (timeout) {
            if (moved_on(pg, seen, sizeof seen))
                deadline = cr_now_seconds() + timeout;
            double left = deadline - cr_now_seconds();
            if (left <= 0)
                return false;
            ms = (int)(left * 1000) + 1;
        }
        struct pollfd w = {.fd = PQsocket(pg),
                           .events = flag == PGRES_POLLING_READING ? POLLIN : POLLOUT};
        int r = poll(&w, 1, ms);
        if (r == 0 || (r < 0 && errno == EINTR))
            continue;
        flag = PQconnectPoll(pg);   /* a failed poll() shows there as well */
    }
    return true;
}

/* Entry i of a comma-separated list of libpq's, and its length. */
static const char *list_entry(const char *list, size_t i, size_t *len)
{
    for (; i > 0 && list; i--) {
        list = strchr(list, ',');
        if (list)
            list++;
    }
    if (!list)
        return NULL;
    const char *end = strchr(list, ',');
    *len = end ? (size_t)(end - list) : strlen(list);
    return list;
}

/* The entry of the host list (from first on) that pg is trying now. */
static size_t host_at(PGconn *pg, const char *hosts, const char *ports, size_t first)
{
    const char *h = PQhost(pg), *p = PQport(pg);
    size_t hl, pl;
    const char *he;
    for (size_t i = first; (he = list_entry(hosts, i, &hl)) != NULL; i++) {
        const char *pe = ports ? list_entry(ports, i, &pl) : NULL;
        bool host_ok = hl == 0 || (h && strlen(h) == hl && strncmp(h, he, hl) == 0);
        bool port_ok = !pe || pl == 0 || (p && strlen(p) == pl && strncmp(p, pe, pl) == 0);
        if (host_ok && port_ok)
            return i;
    }
    return first;
}

/* Connect as PQconnectdbParams(keys, vals) does, but with the notice
 * processor set before the first byte is read: libpq's default prints on
 * stderr the notices a server sends while a connection starts (a WARNING for
 * a setting it cannot apply, the FATAL of a session killed as it starts).
 * A host that gives no answer within connect_timeout is left for the hosts
 * after it in the list, as libpq does. */
static cr_status connect_hosts(const char **keys, const char **vals, PGconn **out,
                               cr_error *err)
{
    int ih = -1, ip = -1;
    for (int i = 0; keys[i]; i++) {
        if (strcmp(keys[i], "host") == 0)
            ih = i;
        else if (strcmp(keys[i], "port") == 0)
            ip = i;
    }
    const char *hosts = ih >= 0 ? vals[ih] : NULL, *ports = ip >= 0 ? vals[ip] : NULL;
    cr_buf sub_hosts, sub_ports, lost;
    cr_buf_init(&sub_hosts);
    cr_buf_init(&sub_ports);
    cr_buf_init(&lost);
    cr_status st = CR_OK;
    size_t first = 0;
    for (;;) {
        PGconn *pg = PQconnectStartParams(keys, vals, 0);
        if (!pg) {
            st = cr_error_oom(err);
            break;
        }
        PQsetNoticeProcessor(pg, silent_notice, NULL);   /* the library never prints */
        int timeout = 0;
        if (PQstatus(pg) != CONNECTION_BAD && (st = connect_timeout_of(pg, &timeout, err))) {
            PQfinish(pg);
            break;
        }
        if (PQstatus(pg) != CONNECTION_BAD && !finish_connect(pg, timeout)) {
            size_t at = hosts ? host_at(pg, hosts, ports, first) : 0, len;
            const char *h = PQhost(pg), *p = PQport(pg);
            cr_buf_printf(&lost, "connection to server at \"%s\", port %s failed: timeout "
                          "expired\n", h ? h : "", p ? p : "");
            PQfinish(pg);
            if (!hosts || !list_entry(hosts, at + 1, &len)) {
                st = lost.oom ? cr_error_oom(err)
                              : cr_error_set_db(err, CR_ERR_OPERATIONAL, NULL, 0,
                                                cr_buf_cstr(&lost));
                err->disconnect = false;
                break;
            }
            /* Again, with the hosts after it. */
            first = at + 1;
            cr_buf_clear(&sub_hosts);
            cr_buf_puts(&sub_hosts, list_entry(hosts, first, &len));
            vals[ih] = cr_buf_cstr(&sub_hosts);
            if (ports && list_entry(ports, first, &len)) {
                cr_buf_clear(&sub_ports);
                cr_buf_puts(&sub_ports, list_entry(ports, first, &len));
                vals[ip] = cr_buf_cstr(&sub_ports);
            }
            if (sub_hosts.oom || sub_ports.oom) {
                st = cr_error_oom(err);
                break;
            }
            continue;
        }
        if (PQstatus(pg) != CONNECTION_OK) {
            cr_buf_puts(&lost, PQerrorMessage(pg));
            const char *msg = cr_buf_cstr(&lost);
            st = is_argument_error(msg) ? CR_ERR_ARGUMENT : CR_ERR_OPERATIONAL;
            cr_error_set_db(err, st, NULL, 0, msg);
            err->disconnect = false;
            PQfinish(pg);
            break;
        }
        *out = pg;
        break;
    }
    cr_buf_free(&sub_hosts);
    cr_buf_free(&sub_ports);
    cr_buf_free(&lost);
    return st;
}

static cr_status pg_connect(const cr_url *url, cr_driver_conn **out, cr_error *err)
{
    *out = NULL;
    size_t max = 7 + url->nquery;
    const char **keys = cr_calloc(max, sizeof *keys);
    const char **vals = cr_calloc(max, sizeof *vals);
    cr_driver_conn *dc = cr_calloc(1, sizeof *dc);
    if (dc)
        cr_buf_init(&dc->pending);
    if (!keys || !vals || !dc) {
        cr_free(keys);
        cr_free(vals);
        cr_free(dc);
        return cr_error_oom(err);
    }
    cr_buf hosts, ports;
    cr_buf_init(&hosts);
    cr_buf_init(&ports);
    cr_status hst = host_lists(url, &hosts, &ports, err);
    if (hst) {
        cr_buf_free(&hosts);
        cr_buf_free(&ports);
        cr_free(keys);
        cr_free(vals);
        cr_free(dc);
        return hst;
    }
    size_t n = 0;
#define ADD(k, v) do { if (v) { keys[n] = (k); vals[n] = (v); n++; } } while (0)
    /* A list of only commas is all defaults: left out, as a lone host is. */
    if (strspn(cr_buf_cstr(&hosts), ",") < hosts.len)
        ADD("host", cr_buf_cstr(&hosts));
    if (strspn(cr_buf_cstr(&ports), ",") < ports.len)
        ADD("port", cr_buf_cstr(&ports));
    ADD("dbname", url->database);
    ADD("user", url->username);
    ADD("password", url->password);
    for (size_t i = 0; i < url->nquery; i++)
        if (strcmp(url->query_keys[i], "host") != 0)
            ADD(url->query_keys[i], url->query_values[i]);
    ADD("client_encoding", "UTF8");   /* last, so it wins */
#undef ADD
    keys[n] = NULL;
    vals[n] = NULL;

    PGconn *pg = NULL;
    cr_status cst = connect_hosts(keys, vals, &pg, err);
    cr_buf_free(&hosts);
    cr_buf_free(&ports);
    cr_free(keys);
    cr_free(vals);
    if (cst) {
        cr_free(dc);
        return cst;
    }
    dc->pg = pg;

    /* Dates, times and timestamps are parsed in ISO form. */
    const char *ds = PQparameterStatus(pg, "DateStyle");
    if (!ds || !starts_with(ds, "ISO")) {
        PGresult *r = PQexec(pg, "SET DateStyle = 'ISO, MDY'");
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            cr_status cls = map_error(dc, r, err);
            PQclear(r);
            PQfinish(pg);
            cr_free(dc);
            return cls;
        }
        PQclear(r);
    }
    *out = dc;
    return CR_OK;
}

static void pg_close(cr_driver_conn *dc)
{
    if (!dc)
        return;
    PQfinish(dc->pg);
    cr_buf_free(&dc->pending);
    cr_free(dc);
}

/* ---- simple statements -------------------------------------------------------- */

static cr_status pg_exec_simple(cr_driver_conn *dc, const char *sql, cr_error *err)
{
    claim(dc, NULL);
    flush_pending(dc);
    PGresult *r = PQexec(dc->pg, sql);
    ExecStatusType s = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    cr_status status = CR_OK;
    switch (s) {
    case PGRES_COMMAND_OK:
    case PGRES_TUPLES_OK:
    case PGRES_EMPTY_QUERY:
        break;
    case PGRES_COPY_IN:
    case PGRES_COPY_OUT:
        status = refuse_copy(dc, s, err);
        break;
    default:
        status = map_error(dc, r, err);
        break;
    }
    PQclear(r);
    return status;
}

/* Run prefix followed by the isolation level, checked against PostgreSQL's. */
static cr_status with_isolation(cr_driver_conn *dc, const char *prefix, const char *level,
                                cr_error *err)
{
    const char *canon = level ? cr_isolation_canonical(level) : NULL;
    if (!canon || (strcmp(canon, "SERIALIZABLE") != 0 && strcmp(canon, "REPEATABLE READ") != 0 &&
                   strcmp(canon, "READ COMMITTED") != 0 &&
                   strcmp(canon, "READ UNCOMMITTED") != 0))
        return cr_error_set(err, CR_ERR_ARGUMENT,
                            "Invalid value '%s' for isolation_level. Valid isolation levels "
                            "for postgresql are AUTOCOMMIT, READ COMMITTED, READ UNCOMMITTED, "
                            "REPEATABLE READ, SERIALIZABLE",
                            level ? level : "(null)");
    char sql[96];
    snprintf(sql, sizeof sql, "%s%s", prefix, canon);
    return pg_exec_simple(dc, sql, err);
}

static cr_status pg_set_isolation(cr_driver_conn *dc, const char *level, cr_error *err)
{
    return with_isolation(dc, "SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL ",
                          level, err);
}

static cr_status pg_begin_isolated(cr_driver_conn *dc, const char *level, cr_error *err)
{
    return with_isolation(dc, "BEGIN ISOLATION LEVEL ", level, err);
}

static void pg_unnamed_statements(cr_driver_conn *dc)
{
    dc->unnamed = true;
}

/* ---- statements ------------------------------------------------------------------ */

static void pg_finalize(cr_driver_stmt *st)
{
    if (!st)
        return;
    pg_reset(st);
    if (st->prepared)
        deallocate(st->dc, st->name);
    cr_free(st->sql);
    cr_free(st->oids);
    cr_free(st->cur);
    cr_free(st->values);
    cr_free(st->lengths);
    cr_free(st->formats);
    cr_free(st->num);
    cr_free(st->text);
    for (int i = 0; i < st->colcap; i++)
        cr_free(st->blobs[i].data);
    cr_free(st->blobs);
    cr_free(st->kinds);
    cr_free(st->name_off);
    cr_buf_free(&st->names);
    cr_free(st);
}

static cr_status pg_prepare(cr_driver_conn *dc, const char *sql, int nparams,
                            cr_driver_stmt **out, cr_error *err)
{
    *out = NULL;
    if (nparams < 0 || nparams > 65535)
        return cr_error_set(err, CR_ERR_ARGUMENT,
                            "PostgreSQL takes at most 65535 parameters in a statement (got %d)",
                            nparams);
    cr_driver_stmt *st = cr_calloc(1, sizeof *st);
    if (!st)
        return cr_error_oom(err);
    st->dc = dc;
    st->nparams = nparams;
    st->rowcount = -1;
    cr_buf_init(&st->names);
    st->sql = cr_strdup(sql);
    if (!st->sql)
        goto oom;
    if (nparams > 0) {
        size_t n = (size_t)nparams;
        st->oids = cr_calloc(n, sizeof *st->oids);
        st->cur = cr_calloc(n, sizeof *st->cur);
        st->values = cr_calloc(n, sizeof *st->values);
        st->lengths = cr_calloc(n, sizeof *st->lengths);
        st->formats = cr_calloc(n, sizeof *st->formats);
        st->num = cr_calloc(n, sizeof *st->num);
        if (!st->oids || !st->cur || !st->values || !st->lengths || !st->formats || !st->num)
            goto oom;
    }
    *out = st;
    return CR_OK;
oom:
    pg_finalize(st);
    return cr_error_oom(err);
}

/* PostgreSQL's spelling of a double, independent of the C locale. */
static void format_double(double d, char *out)
{
    if (isnan(d)) {
        memcpy(out, "NaN", 4);
        return;
    }
    if (isinf(d)) {
        if (d > 0)
            memcpy(out, "Infinity", 9);
        else
            memcpy(out, "-Infinity", 10);
        return;
    }
    char tmp[PG_NUMBUF];
    snprintf(tmp, sizeof tmp, "%.17g", d);
    /* Only a decimal point can be anything but [0-9eE+-]; a locale may spell
     * it otherwise (even in several bytes). */
    char *o = out;
    for (const char *p = tmp; *p;) {
        char c = *p;
        if ((c >= '0' && c <= '9') || c == 'e' || c == 'E' || c == '+' || c == '-') {
            *o++ = c;
            p++;
        } else {
            *o++ = '.';
            while (*p && !((*p >= '0' && *p <= '9') || *p == 'e' || *p == 'E' ||
                           *p == '+' || *p == '-'))
                p++;
        }
    }
    *o = '\0';
}

/* Fill the parameter arrays from params. Sets *binary when a parameter goes
 * in binary format and *retype when the server statement must be prepared
 * (again) for these types. */
static cr_status bind_params(cr_driver_stmt *st, const cr_value *params, bool *binary,
                             bool *retype, cr_error *err)
{
    *binary = false;
    *retype = !st->prepared;
    size_t need = 0;
    for (int i = 0; i < st->nparams; i++)
        if (params[i].type == CR_TEXT || params[i].type == CR_NUMERIC)
            need += params[i].v.s.len + 1;
    if (need > st->textcap) {
        size_t cap = st->textcap ? st->textcap * 2 : 256;
        if (cap < need)
            cap = need;
        char *p = cr_realloc(st->text, cap);
        if (!p)
            return cr_error_oom(err);
        st->text = p;
        st->textcap = cap;
    }
    char *tp = st->text;
    for (int i = 0; i < st->nparams; i++) {
        const cr_value *v = &params[i];
        char *num = st->num[i];
        Oid oid = 0;
        const char *val = num;
        int len = 0, fmt = 0;
        switch (v->type) {
        case CR_NULL:
            /* Keep the type prepared: a NULL fits any. */
            oid = st->prepared ? st->oids[i] : 0;
            val = NULL;
            break;
        case CR_INT:
            oid = OID_INT8;
            cr_format_int64(v->v.i, num);
            break;
        case CR_DOUBLE:
            oid = OID_FLOAT8;
            format_double(v->v.d, num);
            break;
        case CR_BOOL:
            oid = OID_BOOL;
            val = v->v.b ? "t" : "f";
            break;
        case CR_TEXT:
        case CR_NUMERIC: {
            size_t n = v->v.s.len;
            if (n && memchr(v->v.s.ptr, '\0', n))
                return cr_error_set(err, CR_ERR_DATA,
                                    "parameter %d: PostgreSQL text cannot contain a NUL "
                                    "byte (bind the bytes as a blob)", i + 1);
            oid = v->type == CR_TEXT ? 0 : OID_NUMERIC;   /* text: the server infers */
            if (n)
                memcpy(tp, v->v.s.ptr, n);
            tp[n] = '\0';
            val = tp;
            tp += n + 1;
            break;
        }
        case CR_DATE:
        case CR_TIME:
        case CR_DATETIME:
            oid = v->type == CR_DATE   ? OID_DATE
                  : v->type == CR_TIME ? OID_TIME
                  : v->v.dt.has_utc_offset ? OID_TIMESTAMPTZ : OID_TIMESTAMP;
            if (cr_datetime_format(&v->v.dt, v->type, num, PG_NUMBUF) >= PG_NUMBUF)
                return cr_error_set(err, CR_ERR_DATA, "parameter %d: %s value out of range",
                                    i + 1, cr_type_name(v->type));
            break;
        case CR_BLOB:
            if (v->v.blob.len > INT_MAX)
                return cr_error_set(err, CR_ERR_DATA,
                                    "parameter %d: blob of %zu bytes is too large for libpq",
                                    i + 1, v->v.blob.len);
            oid = OID_BYTEA;
            val = v->v.blob.len ? (const char *)v->v.blob.ptr : "";
            len = (int)v->v.blob.len;
            fmt = 1;
            *binary = true;
            break;
        default:
            return cr_error_set(err, CR_ERR_ARGUMENT, "parameter %d: unknown value type %d",
                                i + 1, (int)v->type);
        }
        st->cur[i] = oid;
        st->values[i] = val;
        st->lengths[i] = len;
        st->formats[i] = fmt;
        if (st->prepared && oid != st->oids[i])
            *retype = true;
    }
    return CR_OK;
}

/* Prepare the statement on the server with the types in st->cur, under a
 * fresh name; the previous server statement, if any, is dropped. */
static cr_status server_prepare(cr_driver_stmt *st, cr_error *err)
{
    cr_driver_conn *dc = st->dc;
    flush_pending(dc);
    char name[32];
    snprintf(name, sizeof name, "cr_%lu", ++dc->counter);
    PGresult *r = PQprepare(dc->pg, name, st->sql, st->nparams, st->cur);
    if (!r || PQresultStatus(r) != PGRES_COMMAND_OK) {
        cr_status status = map_error(dc, r, err);
        PQclear(r);
        return status;
    }
    PQclear(r);
    if (st->prepared)
        deallocate(dc, st->name);
    memcpy(st->name, name, sizeof name);
    if (st->nparams)
        memcpy(st->oids, st->cur, (size_t)st->nparams * sizeof *st->oids);
    st->prepared = true;
    return CR_OK;
}

static int col_kind(Oid t)
{
    switch (t) {
    case OID_BOOL: return K_BOOL;
    case OID_INT2: case OID_INT4: case OID_INT8: case OID_OID: return K_INT;
    case OID_FLOAT4: case OID_FLOAT8: return K_DOUBLE;
    case OID_NUMERIC: return K_NUMERIC;
    case OID_DATE: return K_DATE;
    case OID_TIME: return K_TIME;
    case OID_TIMESTAMP: case OID_TIMESTAMPTZ: return K_DATETIME;
    case OID_BYTEA: return K_BYTEA;
    case OID_JSON: case OID_JSONB: return K_JSON;
    default: return K_TEXT;
    }
}

/* Read the columns of a result: conversions and names. */
static cr_status setup_columns(cr_driver_stmt *st, const PGresult *r, cr_error *err)
{
    int n = PQnfields(r);
    if (n > st->colcap) {
        size_t cap = (size_t)n;
        unsigned char *kinds = cr_realloc(st->kinds, cap * sizeof *kinds);
        if (kinds)
            st->kinds = kinds;
        size_t *off = cr_realloc(st->name_off, cap * sizeof *off);
        if (off)
            st->name_off = off;
        pg_bytes *blobs = cr_realloc(st->blobs, cap * sizeof *blobs);
        if (blobs) {
            memset(blobs + st->colcap, 0, (cap - (size_t)st->colcap) * sizeof *blobs);
            st->blobs = blobs;
        }
        if (!kinds || !off || !blobs) {
            st->ncols = 0;
            return cr_error_oom(err);
        }
        st->colcap = n;
    }
    cr_buf_clear(&st->names);
    for (int i = 0; i < n; i++) {
        const char *name = PQfname(r, i);
        st->kinds[i] = (unsigned char)col_kind(PQftype(r, i));
        st->name_off[i] = st->names.len;
        cr_buf_append(&st->names, name, strlen(name) + 1);
    }
    if (st->names.oom) {
        cr_buf_free(&st->names);
        cr_buf_init(&st->names);
        st->ncols = 0;
        return cr_error_oom(err);
    }
    st->ncols = n;
    return CR_OK;
}

static int64_t cmd_tuples(PGresult *r)
{
    const char *s = PQcmdTuples(r);
    int64_t n;
    if (!s || !*s || !cr_parse_int64(s, strlen(s), &n))
        return -1;
    return n;
}

/* Whether an execute failed because the server statement is gone (DISCARD
 * ALL, DEALLOCATE ALL) or its cached plan can no longer return the same row
 * type (a table altered under it): preparing again fixes both. */
static bool is_stale(const PGresult *r)
{
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    if (!state)
        return false;
    if (strcmp(state, "26000") == 0)
        return true;
    if (strcmp(state, "0A000") == 0) {
        const char *fn = PQresultErrorField(r, PG_DIAG_SOURCE_FUNCTION);
        const char *msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
        return (fn && strcmp(fn, "RevalidateCachedQuery") == 0) ||
               (msg && strstr(msg, "cached plan must not change result type"));
    }
    return false;
}

static void end_stream(cr_driver_stmt *st)
{
    if (st->streaming) {
        drain(st->dc->pg);
        st->streaming = false;
    }
    if (st->dc->streamer == st)
        st->dc->streamer = NULL;
}

static cr_status run_buffered(cr_driver_stmt *st, bool binary, cr_error *err)
{
    cr_driver_conn *dc = st->dc;
    const int *lengths = binary ? st->lengths : NULL, *formats = binary ? st->formats : NULL;
    /* Unnamed: Parse, Bind, Describe, Execute and Sync go as one message
     * batch, which a pooler hands to one server connection whole. */
    PGresult *r = dc->unnamed ? PQexecParams(dc->pg, st->sql, st->nparams, st->cur, st->values,
                                             lengths, formats, 0)
                              : PQexecPrepared(dc->pg, st->name, st->nparams, st->values,
                                               lengths, formats, 0);
    ExecStatusType s = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    cr_status status = CR_OK;
    switch (s) {
    case PGRES_TUPLES_OK:
        status = setup_columns(st, r, err);
        if (status != CR_OK)
            break;
        st->rowcount = cmd_tuples(r);
        st->nrows = PQntuples(r);
        st->row = 0;
        st->res = r;
        return CR_OK;
    case PGRES_COMMAND_OK:
    case PGRES_EMPTY_QUERY:
        st->rowcount = cmd_tuples(r);
        break;
    case PGRES_COPY_IN:
    case PGRES_COPY_OUT:
        status = refuse_copy(dc, s, err);
        break;
    default:
        st->stale = is_stale(r);
        status = map_error(dc, r, err);
        break;
    }
    PQclear(r);
    return status;
}

static cr_status run_streamed(cr_driver_stmt *st, bool binary, cr_error *err)
{
    cr_driver_conn *dc = st->dc;
    const int *lengths = binary ? st->lengths : NULL, *formats = binary ? st->formats : NULL;
    if (!(dc->unnamed ? PQsendQueryParams(dc->pg, st->sql, st->nparams, st->cur, st->values,
                                          lengths, formats, 0)
                      : PQsendQueryPrepared(dc->pg, st->name, st->nparams, st->values, lengths,
                                            formats, 0)))
        return map_error(dc, NULL, err);
    (void)PQsetSingleRowMode(dc->pg);   /* cannot fail right after the send */
    st->streaming = true;
    dc->streamer = st;

    /* Wait for the first row (or the end) to learn the columns. */
    PGresult *r = PQgetResult(dc->pg);
    ExecStatusType s = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    cr_status status = CR_OK;
    switch (s) {
    case PGRES_SINGLE_TUPLE:
        status = setup_columns(st, r, err);
        if (status != CR_OK)
            break;
        st->res = r;
        st->pending_row = true;
        return CR_OK;
    case PGRES_TUPLES_OK:
        status = setup_columns(st, r, err);
        st->rowcount = cmd_tuples(r);
        break;
    case PGRES_COMMAND_OK:
    case PGRES_EMPTY_QUERY:
        st->rowcount = cmd_tuples(r);
        break;
    case PGRES_COPY_IN:
    case PGRES_COPY_OUT:
        PQclear(r);
        r = NULL;
        st->streaming = false;
        dc->streamer = NULL;
        return refuse_copy(dc, s, err);
    default:
        st->stale = is_stale(r);
        status = map_error(dc, r, err);
        break;
    }
    PQclear(r);
    end_stream(st);
    return status;
}

static cr_status pg_execute(cr_driver_stmt *st, const cr_value *params, bool stream,
                            cr_error *err)
{
    cr_driver_conn *dc = st->dc;
    pg_reset(st);
    claim(dc, st);
    st->rowcount = -1;
    st->ncols = 0;
    st->interrupted = false;

    bool binary, retype;
    cr_status status = bind_params(st, params, &binary, &retype, err);
    if (status != CR_OK)
        return status;
    if (dc->unnamed)   /* the types travel with each execution */
        return stream ? run_streamed(st, binary, err) : run_buffered(st, binary, err);
    for (int attempt = 0;; attempt++) {
        if (retype) {
            status = server_prepare(st, err);
            if (status != CR_OK)
                return status;
        }
        st->stale = false;
        status = stream ? run_streamed(st, binary, err) : run_buffered(st, binary, err);
        if (status == CR_OK || !st->stale || attempt > 0 ||
            PQtransactionStatus(dc->pg) != PQTRANS_IDLE)
            return status;
        /* Outside a transaction nothing was lost: prepare again and retry. */
        if (strcmp(err->sqlstate, "26000") == 0)
            st->prepared = false;   /* gone already: nothing to deallocate */
        retype = true;
    }
}

static int pg_ncols(cr_driver_stmt *st)
{
    return st->ncols;
}

static const char *pg_colname(cr_driver_stmt *st, int i)
{
    if (i < 0 || i >= st->ncols)
        return NULL;
    return st->names.data + st->name_off[i];
}

/* ---- rows ------------------------------------------------------------------------ */

static int hexval(unsigned char c)
{
    if ((unsigned)(c - '0') < 10u)
        return c - '0';
    c |= 0x20;
    if ((unsigned)(c - 'a') < 6u)
        return c - 'a' + 10;
    return -1;
}

static bool bytes_reserve(pg_bytes *b, size_t n)
{
    if (n <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap * 2 : 64;
    if (cap < n)
        cap = n;
    unsigned char *p = cr_realloc(b->data, cap);
    if (!p)
        return false;
    b->data = p;
    b->cap = cap;
    return true;
}

/* Decode bytea text output ("\x0a1b" hex, or the old escape format) into b.
 * Returns the length, or -1 on a malformed value, -2 when out of memory. */
static long decode_bytea(pg_bytes *b, const char *p, size_t len)
{
    if (len >= 2 && p[0] == '\\' && p[1] == 'x') {
        size_t n = (len - 2) / 2;
        if ((len - 2) % 2)
            return -1;
        if (!bytes_reserve(b, n))
            return -2;
        const unsigned char *s = (const unsigned char *)p + 2;
        for (size_t i = 0; i < n; i++) {
            int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
            if (hi < 0 || lo < 0)
                return -1;
            b->data[i] = (unsigned char)(hi << 4 | lo);
        }
        return (long)n;
    }
    if (!bytes_reserve(b, len))
        return -2;
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        if (p[i] != '\\') {
            b->data[o++] = (unsigned char)p[i++];
        } else if (i + 1 < len && p[i + 1] == '\\') {
            b->data[o++] = '\\';
            i += 2;
        } else if (i + 3 < len && (unsigned)(p[i + 1] - '0') < 4u &&
                   (unsigned)(p[i + 2] - '0') < 8u && (unsigned)(p[i + 3] - '0') < 8u) {
            b->data[o++] = (unsigned char)((p[i + 1] - '0') << 6 | (p[i + 2] - '0') << 3 |
                                           (p[i + 3] - '0'));
            i += 4;
        } else {
            return -1;
        }
    }
    return (long)o;
}

/* strtod, exact and locale-independent. PostgreSQL prints the shortest text
 * that reads back exactly; most values take Clinger's fast path (at most 2^53
 * in the digits, a power of ten that is exact as a double), where one
 * correctly rounded multiplication or division gives the correct result. */
static double parse_double(const char *s, size_t len)
{
    static const double p10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                 1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    const char *p = s, *end = s + len;
    bool neg = false, any = false;
    uint64_t m = 0;
    int exp = 0;
    if (p < end && (*p == '-' || *p == '+'))
        neg = *p++ == '-';
    for (; p < end && (unsigned)(*p - '0') < 10u; p++, any = true)
        if ((m = m * 10 + (uint64_t)(*p - '0')) > ((uint64_t)1 << 53))
            goto slow;
    if (p < end && *p == '.')
        for (p++; p < end && (unsigned)(*p - '0') < 10u; p++, any = true, exp--)
            if ((m = m * 10 + (uint64_t)(*p - '0')) > ((uint64_t)1 << 53))
                goto slow;
    if (!any)
        goto slow;
    if (p < end && (*p == 'e' || *p == 'E')) {
        bool eneg = false;
        int e = 0;
        p++;
        if (p < end && (*p == '-' || *p == '+'))
            eneg = *p++ == '-';
        if (p == end)
            goto slow;
        for (; p < end && (unsigned)(*p - '0') < 10u; p++)
            if ((e = e * 10 + (*p - '0')) > 1000)
                goto slow;
        exp += eneg ? -e : e;
    }
    if (p != end || exp < -22 || exp > 22)
        goto slow;
    double d = (double)m;
    d = exp < 0 ? d / p10[-exp] : d * p10[exp];
    return neg ? -d : d;
slow:;
    /* s is NUL-terminated (PGresult values are). */
    char *stop;
    double d2 = strtod(s, &stop);
    if (stop != end && *stop == '.' && len < 64) {
        /* A locale whose decimal point is not '.'. */
        char buf[128];
        const char *dp = localeconv()->decimal_point;
        size_t dl = strlen(dp), o = 0;
        for (size_t i = 0; i < len && o + dl < sizeof buf; i++) {
            if (s[i] == '.') {
                memcpy(buf + o, dp, dl);
                o += dl;
            } else {
                buf[o++] = s[i];
            }
        }
        buf[o] = '\0';
        d2 = strtod(buf, NULL);
    }
    return d2;
}

/* Convert row ri of r into row[]. */
static int convert_row(cr_driver_stmt *st, const PGresult *r, int ri, cr_value *row,
                       cr_error *err)
{
    for (int c = 0; c < st->ncols; c++) {
        cr_value *v = &row[c];
        if (PQgetisnull(r, ri, c)) {
            v->type = CR_NULL;
            continue;
        }
        const char *p = PQgetvalue(r, ri, c);
        size_t len = (size_t)PQgetlength(r, ri, c);
        switch (st->kinds[c]) {
        case K_BOOL:
            v->type = CR_BOOL;
            v->v.b = p[0] == 't';
            continue;
        case K_INT:
            if (!cr_parse_int64(p, len, &v->v.i))
                break;
            v->type = CR_INT;
            continue;
        case K_DOUBLE:
            v->type = CR_DOUBLE;
            v->v.d = parse_double(p, len);
            continue;
        case K_NUMERIC:
            v->type = CR_NUMERIC;
            v->v.s.ptr = p;
            v->v.s.len = len;
            continue;
        case K_DATE:
        case K_TIME:
        case K_DATETIME: {
            cr_type t;
            if (cr_datetime_parse(p, len, &v->v.dt, &t) != CR_OK)
                break;   /* 'infinity', BC dates ...: as text */
            v->type = st->kinds[c] == K_DATE   ? CR_DATE
                      : st->kinds[c] == K_TIME ? CR_TIME
                                               : CR_DATETIME;
            continue;
        }
        case K_BYTEA: {
            pg_bytes *b = &st->blobs[c];
            long n = decode_bytea(b, p, len);
            if (n == -2)
                return cr_error_oom(err);
            if (n < 0)
                break;
            v->type = CR_BLOB;
            v->v.blob.ptr = n ? (const void *)b->data : "";
            v->v.blob.len = (size_t)n;
            continue;
        }
        case K_JSON:
            if (!cr_json_is_null(p, len))
                break;
            v->type = CR_NULL;
            continue;
        default:
            break;
        }
        v->type = CR_TEXT;
        v->v.s.ptr = p;
        v->v.s.len = len;
    }
    return CR_ROW;
}

static int pg_fetch(cr_driver_stmt *st, cr_value *row, cr_error *err)
{
    if (st->pending_row) {
        st->pending_row = false;
        return convert_row(st, st->res, 0, row, err);
    }
    if (!st->streaming) {
        if (st->interrupted)
            return cr_error_set(err, CR_ERR_INVALID_REQUEST,
                                "the rest of this streamed result was discarded because "
                                "another statement ran on the connection");
        if (!st->res || st->row >= st->nrows)
            return CR_DONE;
        return convert_row(st, st->res, st->row++, row, err);
    }

    cr_driver_conn *dc = st->dc;
    PQclear(st->res);
    st->res = NULL;
    PGresult *r = PQgetResult(dc->pg);
    if (!r) {
        end_stream(st);
        return CR_DONE;
    }
    ExecStatusType s = PQresultStatus(r);
    if (s == PGRES_SINGLE_TUPLE) {
        st->res = r;
        return convert_row(st, r, 0, row, err);
    }
    int out = CR_DONE;
    if (s == PGRES_TUPLES_OK)
        st->rowcount = cmd_tuples(r);
    else
        out = map_error(dc, r, err);
    PQclear(r);
    end_stream(st);
    return out;
}

static int64_t pg_rowcount(cr_driver_stmt *st)
{
    return st->rowcount;
}

static cr_status pg_lastrowid(cr_driver_stmt *st, int64_t *out, cr_error *err)
{
    (void)st;
    (void)out;
    return cr_error_set(err, CR_ERR_NOT_SUPPORTED,
                        "PostgreSQL has no last inserted row id; add RETURNING to the "
                        "INSERT and read the row");
}

static void pg_reset(cr_driver_stmt *st)
{
    PQclear(st->res);
    st->res = NULL;
    st->pending_row = false;
    st->nrows = st->row = 0;
    end_stream(st);
}

/* ---- replication ------------------------------------------------------------------ */

/* Run a query of one row and one column; its text (NULL: SQL NULL) in buf. */
static cr_status pg_scalar_text(cr_driver_conn *dc, const char *sql, char *buf, size_t size,
                                bool *is_null, cr_error *err)
{
    claim(dc, NULL);
    flush_pending(dc);
    PGresult *r = PQexec(dc->pg, sql);
    cr_status st = CR_OK;
    if (!r || PQresultStatus(r) != PGRES_TUPLES_OK)
        st = map_error(dc, r, err);
    else if (PQntuples(r) != 1 || PQnfields(r) != 1)
        st = cr_error_set(err, CR_ERR_INTERNAL, "%s: expected one value", sql);
    else if ((*is_null = PQgetisnull(r, 0, 0)))
        buf[0] = '\0';
    else if ((size_t)PQgetlength(r, 0, 0) >= size)
        st = cr_error_set(err, CR_ERR_INTERNAL, "%s: value too long", sql);
    else
        memcpy(buf, PQgetvalue(r, 0, 0), (size_t)PQgetlength(r, 0, 0) + 1);
    PQclear(r);
    return st;
}

/* The end of the WAL inserted so far: past every commit record written,
 * including those not yet flushed (pg_current_wal_lsn() is the flushed end,
 * which an asynchronous commit may not have reached). When the last record
 * ended on a page boundary, the insert position is past the next page's
 * header (24 bytes, 40 at a segment's start), where no replica's replay
 * position (the end of the last record replayed) can be before another
 * record comes: the boundary is the position then. */
static cr_status pg_write_position(cr_driver_conn *dc, char *buf, size_t size, cr_error *err)
{
    bool is_null = false;
    cr_status st = pg_scalar_text(
        dc,
        "SELECT (CASE WHEN (l - '0/0') % s = 40 THEN l - 40 "
        "WHEN (l - '0/0') % b = 24 THEN l - 24 ELSE l END)::text "
        "FROM (SELECT pg_current_wal_insert_lsn() AS l, "
        "current_setting('wal_block_size')::numeric AS b, "
        "pg_size_bytes(current_setting('wal_segment_size')) AS s) AS x",
        buf, size, &is_null, err);
    if (st == CR_OK && is_null)
        st = cr_error_set(err, CR_ERR_INTERNAL, "pg_current_wal_insert_lsn() is NULL");
    return st;
}

static cr_status pg_check_position(const char *pos, cr_error *err)
{
    uint64_t lsn;
    return cr_lsn_parse(pos, &lsn, err);
}

/* Poll the replay position: PostgreSQL has no call that waits for one (its
 * replay is seen in microseconds on loopback; the sleep grows to 2 ms). */
static cr_status pg_wait_position(cr_driver_conn *dc, const char *pos, double timeout,
                                  bool *reached, cr_error *err)
{
    uint64_t want, have;
    cr_status st = cr_lsn_parse(pos, &want, err);
    struct timespec pause = {0, 100000};
    double start = cr_now_seconds();
    while (st == CR_OK) {
        char buf[64];
        bool is_null = false;
        if ((st = pg_scalar_text(dc, "SELECT pg_last_wal_replay_lsn()::text", buf, sizeof buf,
                                 &is_null, err)))
            break;
        if (is_null || (st = cr_lsn_parse(buf, &have, err)) || have >= want) {
            *reached = st == CR_OK;    /* NULL: not in recovery, a primary */
            break;
        }
        if (cr_now_seconds() - start >= timeout) {
            *reached = false;
            break;
        }
        nanosleep(&pause, NULL);
        if (pause.tv_nsec < 2000000)
            pause.tv_nsec *= 2;
    }
    return st;
}

/* Seconds since the last transaction replayed, when there is WAL received
 * and not yet replayed; else caught up. */
static cr_status pg_replica_lag(cr_driver_conn *dc, double *seconds, cr_error *err)
{
    char buf[64];
    bool is_null = false;
    cr_status st = pg_scalar_text(
        dc,
        "SELECT CASE WHEN NOT pg_is_in_recovery() THEN 0 "
        "WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() THEN 0 "
        "ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0) "
        "END::float8::text",
        buf, sizeof buf, &is_null, err);
    if (st == CR_OK)
        *seconds = is_null ? 0 : strtod(buf, NULL);
    return st;
}

static int pg_socket(cr_driver_conn *dc) { return PQsocket(dc->pg); }

const cr_driver cr_postgresql_driver = {
    .name = "postgresql",
    .param_style = CR_PARAM_DOLLAR,
    .default_isolation = "READ COMMITTED",
    .connect = pg_connect,
    .close = pg_close,
    .exec_simple = pg_exec_simple,
    .set_isolation = pg_set_isolation,
    .unnamed_statements = pg_unnamed_statements,
    .begin_isolated = pg_begin_isolated,
    .prepare = pg_prepare,
    .finalize = pg_finalize,
    .execute = pg_execute,
    .ncols = pg_ncols,
    .colname = pg_colname,
    .fetch = pg_fetch,
    .rowcount = pg_rowcount,
    .lastrowid = pg_lastrowid,
    .reset = pg_reset,
    .write_position = pg_write_position,
    .check_position = pg_check_position,
    .merge_position = cr_lsn_merge,
    .wait_position = pg_wait_position,
    .replica_lag = pg_replica_lag,
    .socket = pg_socket,
};
