/* mysql_driver.c — the MySQL/MariaDB driver: server-side prepared statements over MariaDB Connector/C. */
#include "dialects/driver.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mysql.h>

/* ------------------------------------------------------------------------
 * Types
 * ------------------------------------------------------------------------ */

/* How a result column is bound and what cr_type it yields. */
typedef enum col_kind {
    K_NULL,      /* MYSQL_TYPE_NULL: always NULL                           */
    K_INT,       /* integer types bound as LONGLONG        -> CR_INT       */
    K_BOOL,      /* TINYINT(1), what BOOLEAN is: 0 and 1   -> CR_BOOL, other
                  * values                                -> CR_INT       */
    K_UINT,      /* BIGINT UNSIGNED bound as LONGLONG      -> CR_INT / CR_NUMERIC */
    K_DOUBLE,    /* DOUBLE bound as DOUBLE                 -> CR_DOUBLE    */
    K_FLOAT,     /* FLOAT bound as FLOAT, read as the shortest decimal that
                  * gives the float back                   -> CR_DOUBLE    */
    K_DECIMAL,   /* DECIMAL as text                        -> CR_NUMERIC   */
    K_DATE,      /* MYSQL_TIME                             -> CR_DATE      */
    K_TIME,      /* MYSQL_TIME                             -> CR_TIME      */
    K_DATETIME,  /* DATETIME, TIMESTAMP as MYSQL_TIME      -> CR_DATETIME  */
    K_TEXT,      /* character strings                      -> CR_TEXT      */
    K_JSON,      /* JSON (its format in the result's extended metadata)
                  * as text; the document null              -> CR_NULL      */
    K_BLOB,      /* binary strings (charset 63)            -> CR_BLOB      */
    K_BIT        /* BIT(n) as big-endian bytes             -> CR_INT       */
} col_kind;

#define BINARY_CHARSET 63u
/* A string column's buffer starts at its declared length + 1, kept within
 * these bounds, and grows when a longer value arrives. */
#define STRBUF_MIN 64u
#define STRBUF_MAX 256u

typedef struct my_col {
    col_kind kind;
    /* What the binding was derived from, to notice a change after execute. */
    enum enum_field_types ftype;
    unsigned int funsigned;
    unsigned int charsetnr;
    union {
        long long i;
        double d;
        float f;
        MYSQL_TIME t;
    } num;
    char *buf;               /* strings: grows, reused row after row */
    size_t cap;
    unsigned long length;
    my_bool is_null;
    my_bool error;
} my_col;

/* Storage of a bound parameter that is not borrowed from the caller. */
typedef union my_pval {
    long long i;
    double d;
    signed char b;
    MYSQL_TIME t;
} my_pval;

struct cr_driver_stmt {
    cr_driver_conn *dc;              /* NULL once the connection was closed */
    cr_driver_stmt *prev, *next;     /* the connection's live statements */
    MYSQL_STMT *stmt;
    char *sql;
    size_t sql_len;
    int nparams;
    MYSQL_BIND *pbind;
    my_pval *pval;
    int ncols;                       /* result columns of the last execute */
    int nbound;                      /* columns rbind/cols are derived for */
    int cols_cap;
    MYSQL_BIND *rbind;
    my_col *cols;
    bool has_result;                 /* executed with a result set not yet freed */
    bool buffered;                   /* the rows were stored at execute */
    bool more_pending;               /* CALL: further results wait on the wire */
};

struct cr_driver_conn {
    MYSQL *mysql;
    cr_driver_stmt *stmts;           /* live statements, to orphan at close */
    int nstmts;
    cr_driver_stmt *streaming;       /* its unbuffered rows are being read */
    /* Statements finalized while another streamed: closing them would make
     * the client library drain the stream, so they are closed after it.
     * Room for every live statement is reserved at prepare. */
    MYSQL_STMT **deferred;
    int ndeferred, deferred_cap;
};

/* ------------------------------------------------------------------------
 * Errors
 * ------------------------------------------------------------------------ */

/* The class SQLAlchemy gives a MySQL error. SQLAlchemy's MySQL dialects pass
 * the DBAPI's exception class through, and both mysqlclient (the default
 * DBAPI of mysql://) and MariaDB Connector/Python classify by error number,
 * not by SQLSTATE: "Unknown column" (1054, SQLSTATE 42S22) and "Table
 * already exists" (1050, 42S01) are OperationalError there, not
 * ProgrammingError. This follows their tables; where they differ it takes
 * the DataError of Connector/Python for division by zero (SQLSTATE 22012)
 * and InterfaceError for client-side misuse. */
static cr_status classify(unsigned int code, const char *sqlstate, bool *disconnect)
{
    *disconnect = false;
    switch (code) {
    /* The connection is gone. */
    case 1053:  /* ER_SERVER_SHUTDOWN                      */
    case 1927:  /* ER_CONNECTION_KILLED                    */
    case 2006:  /* CR_SERVER_GONE_ERROR                    */
    case 2013:  /* CR_SERVER_LOST                          */
    case 2055:  /* CR_SERVER_LOST_EXTENDED                 */
    case 4031:  /* ER_CLIENT_INTERACTION_TIMEOUT (MySQL 8) */
    case 5013:  /* CR_ERR_NET_READ                         */
    case 5014:  /* CR_ERR_NET_WRITE                        */
        *disconnect = true;
        return CR_ERR_OPERATIONAL;

    /* IntegrityError */
    case 1048:  /* ER_BAD_NULL_ERROR             */
    case 1062:  /* ER_DUP_ENTRY                  */
    case 1169:  /* ER_DUP_UNIQUE                 */
    case 1215:  /* ER_CANNOT_ADD_FOREIGN         */
    case 1216:  /* ER_NO_REFERENCED_ROW          */
    case 1217:  /* ER_ROW_IS_REFERENCED          */
    case 1364:  /* ER_NO_DEFAULT_FOR_FIELD       */
    case 1451:  /* ER_ROW_IS_REFERENCED_2        */
    case 1452:  /* ER_NO_REFERENCED_ROW_2        */
    case 1557:  /* ER_FOREIGN_DUPLICATE_KEY      */
    case 1586:  /* ER_DUP_ENTRY_WITH_KEY_NAME    */
    case 3819:  /* ER_CHECK_CONSTRAINT_VIOLATED (MySQL 8) */
    case 4025:  /* ER_CONSTRAINT_FAILED (MariaDB CHECK)   */
        return CR_ERR_INTEGRITY;

    /* ProgrammingError */
    case 1007:  /* ER_DB_CREATE_EXISTS                    */
    case 1064:  /* ER_PARSE_ERROR                         */
    case 1102:  /* ER_WRONG_DB_NAME                       */
    case 1103:  /* ER_WRONG_TABLE_NAME                    */
    case 1110:  /* ER_FIELD_SPECIFIED_TWICE               */
    case 1111:  /* ER_INVALID_GROUP_FUNC_USE              */
    case 1112:  /* ER_UNSUPPORTED_EXTENSION               */
    case 1113:  /* ER_TABLE_MUST_HAVE_COLUMNS             */
    case 1146:  /* ER_NO_SUCH_TABLE                       */
    case 1149:  /* ER_SYNTAX_ERROR                        */
    case 1179:  /* ER_CANT_DO_THIS_DURING_AN_TRANSACTION  */
        return CR_ERR_PROGRAMMING;

    /* DataError */
    case 1171:  /* ER_PRIMARY_CANT_HAVE_NULL     */
    case 1230:  /* ER_NO_DEFAULT                 */
    case 1263:  /* ER_WARN_NULL_TO_NOTNULL       */
    case 1264:  /* ER_WARN_DATA_OUT_OF_RANGE     */
    case 1265:  /* WARN_DATA_TRUNCATED           */
    case 1365:  /* ER_DIVISION_BY_ZERO           */
    case 1366:  /* ER_TRUNCATED_WRONG_VALUE_FOR_FIELD: "Incorrect integer / string value" */
    case 1367:  /* ER_ILLEGAL_VALUE_FOR_TYPE     */
    case 1406:  /* ER_DATA_TOO_LONG              */
    case 1441:  /* ER_DATETIME_FUNCTION_OVERFLOW */
        return CR_ERR_DATA;

    /* NotSupportedError */
    case 1196:  /* ER_WARNING_NOT_COMPLETE_ROLLBACK */
    case 1235:  /* ER_NOT_SUPPORTED_YET             */
    case 1286:  /* ER_UNKNOWN_STORAGE_ENGINE        */
    case 1289:  /* ER_FEATURE_DISABLED              */
        return CR_ERR_NOT_SUPPORTED;

    /* Misuse of the client library. */
    case 2014:  /* CR_COMMANDS_OUT_OF_SYNC   */
    case 2030:  /* CR_NO_PREPARE_STMT        */
    case 2031:  /* CR_PARAMS_NOT_BOUND       */
    case 2034:  /* CR_INVALID_PARAMETER_NO   */
    case 2035:  /* CR_INVALID_BUFFER_USE     */
    case 2036:  /* CR_UNSUPPORTED_PARAM_TYPE */
    case 2051:  /* CR_NO_DATA                */
    case 2052:  /* CR_NO_STMT_METADATA       */
    case 2053:  /* CR_NO_RESULT_SET          */
    case 2056:  /* CR_STMT_CLOSED            */
    case 2057:  /* CR_NEW_STMT_METADATA      */
        return CR_ERR_INTERFACE;
    case 0:
        return CR_ERR_INTERFACE;
    default:
        break;
    }
    /* Server errors of SQLSTATE class 08 (network read/write errors,
     * aborted connections): the server has dropped the connection. */
    if (code >= 1000 && code < 2000 && sqlstate && sqlstate[0] == '0' && sqlstate[1] == '8')
        *disconnect = true;
    if (code < 1000)  /* the server's operating-system errors, as both DBAPIs */
        return CR_ERR_INTERNAL;
    return CR_ERR_OPERATIONAL;  /* other server errors and client errors */
}

/* A Galera node refuses statements with error 1047 (ER_UNKNOWN_COM_ERROR,
 * SQLSTATE 08S01) and a message starting with this while it is not a synced
 * member of the cluster's primary component. */
#define WSREP_NOT_READY "WSREP has not yet prepared node for application use"

static cr_status set_error(cr_error *err, unsigned int code, const char *sqlstate,
                           const char *message)
{
    bool disconnect;
    if (sqlstate && !sqlstate[0])
        sqlstate = NULL;
    cr_status cls = classify(code, sqlstate, &disconnect);
    cr_error_set_db(err, cls, sqlstate, (long)code,
                    message && message[0] ? message : "unknown MySQL client error");
    err->disconnect = disconnect;
    /* Deadlock and lock wait timeout: the transaction may succeed if run
     * again (1213 also carries SQLSTATE 40001; a Galera certification
     * failure is reported as this deadlock). */
    err->retryable = code == 1213 || code == 1205;
    if (code == 1047 && message && strncmp(message, WSREP_NOT_READY, strlen(WSREP_NOT_READY)) == 0) {
        /* The node left the primary component (a partition, lost quorum)
         * or is still joining: this connection is of no use until it
         * rejoins, so it is treated as lost (the pool replaces it), and the
         * statement was refused before it ran, so the transaction may be
         * run again, on a new connection — which a multi-host URL opens on
         * a node that is ready. */
        snprintf(err->message, sizeof err->message,
                 "%s: this Galera node is not a synced member of the cluster's primary "
                 "component (it left the cluster, lost quorum or is still joining)",
                 WSREP_NOT_READY);
        err->disconnect = true;
        err->retryable = true;
    }
    return cls;
}

static cr_status conn_error(MYSQL *m, cr_error *err)
{
    return set_error(err, mysql_errno(m), mysql_sqlstate(m), mysql_error(m));
}

/* The statement's error; some failures (reading streamed rows) are recorded
 * only on the connection. */
static cr_status stmt_error(MYSQL_STMT *s, cr_error *err)
{
    MYSQL *m = s->mysql;
    if (mysql_stmt_errno(s) == 0 && m && mysql_errno(m) != 0)
        return conn_error(m, err);
    return set_error(err, mysql_stmt_errno(s), mysql_stmt_sqlstate(s), mysql_stmt_error(s));
}

static cr_status busy_error(cr_error *err)
{
    return cr_error_set_db(err, CR_ERR_INTERFACE, "HY000", 2014,
                           "Commands out of sync: a streamed result is still being read "
                           "on this connection");
}

static cr_status closed_error(cr_error *err)
{
    return cr_error_set(err, CR_ERR_RESOURCE_CLOSED,
                        "the MySQL connection of this statement is closed");
}

/* ------------------------------------------------------------------------
 * Connections
 * ------------------------------------------------------------------------ */

static const char known_options[] =
    "unix_socket, charset, connect_timeout, read_timeout, write_timeout, ssl_ca, "
    "ssl_cert, ssl_key, ssl_capath, ssl_cipher, ssl_verify_server_cert";

static bool ascii_ieq(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        char x = *a, y = *b;
        if (x >= 'A' && x <= 'Z') x = (char)(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z') y = (char)(y - 'A' + 'a');
        if (x != y)
            return false;
    }
    return *a == *b;
}

static cr_status parse_seconds(const char *key, const char *value, unsigned int *out,
                               cr_error *err)
{
    int64_t v;
    if (!value || !cr_parse_int64(value, strlen(value), &v) || v < 0 || v > INT_MAX)
        return cr_error_set(err, CR_ERR_ARGUMENT,
                            "MySQL URL option '%s' must be a whole number of seconds, not '%s'",
                            key, value ? value : "");
    *out = (unsigned int)v;
    return CR_OK;
}

static cr_status parse_flag(const char *key, const char *value, my_bool *out, cr_error *err)
{
    if (value && (ascii_ieq(value, "true") || ascii_ieq(value, "1") || ascii_ieq(value, "yes"))) {
        *out = 1;
        return CR_OK;
    }
    if (value && (ascii_ieq(value, "false") || ascii_ieq(value, "0") || ascii_ieq(value, "no"))) {
        *out = 0;
        return CR_OK;
    }
    return cr_error_set(err, CR_ERR_ARGUMENT,
                        "MySQL URL option '%s' must be true or false, not '%s'", key,
                        value ? value : "");
}

/* Apply the URL's query options to m; unix_socket is returned, not set.
 * With m NULL, only check them (when the engine is made). */
static cr_status apply_options(MYSQL *m, const cr_url *url, const char **unix_socket,
                               cr_error *err)
{
    const char *charset = "utf8mb4";
    cr_status rc;
    for (size_t i = 0; i < url->nquery; i++) {
        const char *k = url->query_keys[i], *v = url->query_values[i];
        int opt = -1;
        if (!k)
            continue;
        if (strcmp(k, "unix_socket") == 0) {
            *unix_socket = v && v[0] ? v : NULL;
        } else if (strcmp(k, "charset") == 0) {
            if (!v || !v[0])
                return cr_error_set(err, CR_ERR_ARGUMENT, "MySQL URL option 'charset' is empty");
            charset = v;
        } else if (strcmp(k, "connect_timeout") == 0 || strcmp(k, "read_timeout") == 0 ||
                   strcmp(k, "write_timeout") == 0) {
            unsigned int secs;
            if ((rc = parse_seconds(k, v, &secs, err)))
                return rc;
            enum mysql_option o = k[0] == 'c' ? MYSQL_OPT_CONNECT_TIMEOUT
                                : k[0] == 'r' ? MYSQL_OPT_READ_TIMEOUT
                                              : MYSQL_OPT_WRITE_TIMEOUT;
            if (m && mysql_optionsv(m, o, &secs))
                return conn_error(m, err);
        } else if (strcmp(k, "ssl_ca") == 0) {
            opt = MYSQL_OPT_SSL_CA;
        } else if (strcmp(k, "ssl_cert") == 0) {
            opt = MYSQL_OPT_SSL_CERT;
        } else if (strcmp(k, "ssl_key") == 0) {
            opt = MYSQL_OPT_SSL_KEY;
        } else if (strcmp(k, "ssl_capath") == 0) {
            opt = MYSQL_OPT_SSL_CAPATH;
        } else if (strcmp(k, "ssl_cipher") == 0) {
            opt = MYSQL_OPT_SSL_CIPHER;
        } else if (strcmp(k, "ssl_verify_server_cert") == 0) {
            my_bool on;
            if ((rc = parse_flag(k, v, &on, err)))
                return rc;
            if (m && mysql_optionsv(m, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &on))
                return conn_error(m, err);
        } else {
            return cr_error_set(err, CR_ERR_ARGUMENT,
                                "unknown MySQL URL option '%s' (known: %s)", k, known_options);
        }
        if (opt >= 0) {
            if (!v || !v[0])
                return cr_error_set(err, CR_ERR_ARGUMENT, "MySQL URL option '%s' is empty", k);
            if (m && mysql_optionsv(m, (enum mysql_option)opt, v))
                return conn_error(m, err);
        }
    }
    if (m && mysql_optionsv(m, MYSQL_SET_CHARSET_NAME, charset))
        return conn_error(m, err);
    return CR_OK;
}

static cr_status my_check_url(const cr_url *url, cr_error *err)
{
    const char *unix_socket = NULL;
    return apply_options(NULL, url, &unix_socket, err);
}

/* Open one session to host:port (NULL, 0: the client's defaults) with the
 * URL's options. Connection failures are OperationalError whatever the code. */
static cr_status connect_host(const cr_url *url, const cr_url_host *host, MYSQL **out,
                              cr_error *err)
{
    *out = NULL;
    MYSQL *m = mysql_init(NULL);
    if (!m)
        return cr_error_oom(err);
    const char *unix_socket = NULL;
    cr_status rc = apply_options(m, url, &unix_socket, err);
    if (rc)
        goto fail;
    my_bool off = 0;
    unsigned int no_infile = 0;
    if (mysql_optionsv(m, MYSQL_OPT_RECONNECT, &off) ||
        mysql_optionsv(m, MYSQL_OPT_LOCAL_INFILE, &no_infile)) {
        rc = conn_error(m, err);
        goto fail;
    }
    if (!mysql_real_connect(m, host ? host->name : NULL, url->username, url->password,
                            url->database, host ? (unsigned int)host->port : 0u, unix_socket,
                            CLIENT_FOUND_ROWS | CLIENT_MULTI_RESULTS)) {
        conn_error(m, err);
        err->cls = CR_ERR_OPERATIONAL;
        err->disconnect = false;
        rc = CR_ERR_OPERATIONAL;
        goto fail;
    }
    /* The engine issues BEGIN/COMMIT itself: the session must autocommit. */
    unsigned int status = 0;
    if (mariadb_get_infov(m, MARIADB_CONNECTION_SERVER_STATUS, &status) ||
        !(status & SERVER_STATUS_AUTOCOMMIT)) {
        if (mysql_autocommit(m, 1)) {
            rc = conn_error(m, err);
            goto fail;
        }
    }
    *out = m;
    return CR_OK;
fail:
    mysql_close(m);
    return rc;
}

/* Whether a node of a multi-host URL that accepted the connection should
 * take the session (on false, err says why, and the next host is tried).
 * A MariaDB Galera node answers while it is not a synced member of the
 * primary component — cut off from the others, without quorum, joining, or
 * a donor blocked by its state transfer — and then refuses the session's
 * statements (1047). One round trip tells: wsrep_local_state is 4 (Synced)
 * on a node that is, and no such status exists on a server that is not a
 * Galera node (MySQL, or MariaDB without a wsrep provider), which is
 * usable. */
static bool node_usable(MYSQL *m, const cr_url *url, cr_error *err)
{
    (void)url;
    static const char q[] = "SHOW GLOBAL STATUS LIKE 'wsrep_local_state%'";
    if (mysql_real_query(m, q, (unsigned long)strlen(q))) {
        conn_error(m, err);
        err->cls = CR_ERR_OPERATIONAL;
        return false;
    }
    MYSQL_RES *res = mysql_store_result(m);
    if (!res) {
        conn_error(m, err);
        err->cls = CR_ERR_OPERATIONAL;
        return false;
    }
    char state[8] = "", comment[32] = "";
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res))) {
        if (!row[0] || !row[1])
            continue;
        if (strcmp(row[0], "wsrep_local_state") == 0)
            snprintf(state, sizeof state, "%s", row[1]);
        else if (strcmp(row[0], "wsrep_local_state_comment") == 0)
            snprintf(comment, sizeof comment, "%s", row[1]);
    }
    mysql_free_result(res);
    if (!state[0] || strcmp(state, "4") == 0)
        return true;
    cr_error_set(err, CR_ERR_OPERATIONAL,
                 "this Galera node is not a synced member of the cluster's primary component "
                 "(wsrep_local_state %s, %s): passed over", state, comment[0] ? comment : "?");
    return false;
}

/* Append "host:port: reason" for one failed host to the list in msg. */
static void note_failure(cr_buf *msg, const cr_url_host *h, const cr_error *err)
{
    cr_buf_puts(msg, msg->len ? "; " : "");
    cr_buf_printf(msg, strchr(h->name, ':') ? "[%s]" : "%s", h->name);
    if (h->port)
        cr_buf_printf(msg, ":%d", h->port);
    cr_buf_printf(msg, ": %s", err->message);
}

/* MariaDB Connector/C takes one host: with several in the URL
 * (mysql://u@h1:3306,h2:3307/db) they are tried in order and the session
 * goes to the first that connects and is usable; when none does, one
 * OperationalError lists every host's failure. */
static cr_status my_connect(const cr_url *url, cr_driver_conn **out, cr_error *err)
{
    *out = NULL;
    /* Thread-safe and idempotent in Connector/C (pthread_once inside). */
    if (mysql_library_init(0, NULL, NULL))
        return cr_error_set(err, CR_ERR_OPERATIONAL, "could not initialise the MySQL client library");
    cr_driver_conn *dc = cr_calloc(1, sizeof *dc);
    if (!dc)
        return cr_error_oom(err);
    MYSQL *m = NULL;
    cr_status rc;
    if (url->nhosts <= 1) {
        rc = connect_host(url, url->nhosts ? &url->hosts[0] : NULL, &m, err);
    } else {
        cr_buf failures;
        cr_buf_init(&failures);
        rc = CR_ERR_OPERATIONAL;
        for (size_t i = 0; i < url->nhosts && rc; i++) {
            rc = connect_host(url, &url->hosts[i], &m, err);
            if (rc == CR_OK && !node_usable(m, url, err)) {
                mysql_close(m);
                m = NULL;
                rc = CR_ERR_OPERATIONAL;
            }
            if (rc == CR_ERR_OPERATIONAL)
                note_failure(&failures, &url->hosts[i], err);
            else if (rc)
                break;      /* a bad option or out of memory: the same on every host */
        }
        if (rc == CR_ERR_OPERATIONAL) {
            cr_error_set(err, CR_ERR_OPERATIONAL, "could not connect to any of the %zu hosts: %s",
                         url->nhosts, failures.oom ? "(out of memory)" : cr_buf_cstr(&failures));
        }
        cr_buf_free(&failures);
    }
    if (rc) {
        cr_free(dc);
        return rc;
    }
    dc->mysql = m;
    *out = dc;
    return CR_OK;
}

static void close_deferred(cr_driver_conn *dc)
{
    for (int i = 0; i < dc->ndeferred; i++)
        mysql_stmt_close(dc->deferred[i]);
    dc->ndeferred = 0;
}

/* The streamed result of dc->streaming is over: the connection is free. */
static void stream_end(cr_driver_conn *dc)
{
    dc->streaming = NULL;
    close_deferred(dc);
}

static void my_close(cr_driver_conn *dc)
{
    if (!dc)
        return;
    /* Closing the connection first detaches the statement handles, which
     * then close locally without a round trip each. */
    mysql_close(dc->mysql);
    close_deferred(dc);
    for (cr_driver_stmt *st = dc->stmts, *next; st; st = next) {
        next = st->next;
        mysql_stmt_close(st->stmt);
        st->stmt = NULL;
        st->dc = NULL;
        st->prev = st->next = NULL;
    }
    cr_free(dc->deferred);
    cr_free(dc);
}

static cr_status my_exec_simple(cr_driver_conn *dc, const char *sql, cr_error *err)
{
    if (dc->streaming)
        return busy_error(err);
    MYSQL *m = dc->mysql;
    if (mysql_real_query(m, sql, (unsigned long)strlen(sql)))
        return conn_error(m, err);
    for (;;) {
        MYSQL_RES *res = mysql_store_result(m);
        if (res)
            mysql_free_result(res);
        else if (mysql_field_count(m) != 0)
            return conn_error(m, err);
        int more = mysql_next_result(m);
        if (more < 0)
            return CR_OK;
        if (more > 0)
            return conn_error(m, err);
    }
}

static cr_status my_set_isolation(cr_driver_conn *dc, const char *level, cr_error *err)
{
    const char *canon = level ? cr_isolation_canonical(level) : NULL;
    if (!canon || strcmp(canon, "AUTOCOMMIT") == 0)
        return cr_error_set(err, CR_ERR_ARGUMENT,
                            "invalid isolation level '%s' for MySQL (valid: SERIALIZABLE, "
                            "REPEATABLE READ, READ COMMITTED, READ UNCOMMITTED)",
                            level ? level : "(null)");
    char sql[96];
    snprintf(sql, sizeof sql, "SET SESSION TRANSACTION ISOLATION LEVEL %s", canon);
    return my_exec_simple(dc, sql, err);
}

/* ------------------------------------------------------------------------
 * Statements
 * ------------------------------------------------------------------------ */

static void stmt_unlink(cr_driver_stmt *st)
{
    cr_driver_conn *dc = st->dc;
    if (!dc)
        return;
    if (st->prev) st->prev->next = st->next; else dc->stmts = st->next;
    if (st->next) st->next->prev = st->prev;
    st->prev = st->next = NULL;
    dc->nstmts--;
}

static void stmt_free_memory(cr_driver_stmt *st)
{
    for (int i = 0; i < st->cols_cap; i++)
        cr_free(st->cols[i].buf);
    cr_free(st->cols);
    cr_free(st->rbind);
    cr_free(st->pbind);
    cr_free(st->pval);
    cr_free(st->sql);
    cr_free(st);
}

static cr_status my_prepare(cr_driver_conn *dc, const char *sql, int nparams,
                            cr_driver_stmt **out, cr_error *err)
{
    *out = NULL;
    if (dc->streaming)
        return busy_error(err);
    if (nparams < 0)
        return cr_error_set(err, CR_ERR_ARGUMENT, "negative parameter count");
    /* Room to defer the close of every live statement (see deferred). */
    if (dc->deferred_cap < dc->nstmts + 1) {
        int cap = dc->deferred_cap ? dc->deferred_cap * 2 : 16;
        while (cap < dc->nstmts + 1)
            cap *= 2;
        MYSQL_STMT **d = cr_realloc(dc->deferred, sizeof *d * (size_t)cap);
        if (!d)
            return cr_error_oom(err);
        dc->deferred = d;
        dc->deferred_cap = cap;
    }
    cr_driver_stmt *st = cr_calloc(1, sizeof *st);
    if (!st)
        return cr_error_oom(err);
    st->sql_len = strlen(sql);
    st->nparams = nparams;
    if (!(st->sql = cr_strndup(sql, st->sql_len)))
        goto oom;
    if (nparams > 0) {
        st->pbind = cr_calloc((size_t)nparams, sizeof *st->pbind);
        st->pval = cr_calloc((size_t)nparams, sizeof *st->pval);
        if (!st->pbind || !st->pval)
            goto oom;
    }
    if (!(st->stmt = mysql_stmt_init(dc->mysql))) {
        cr_status rc = conn_error(dc->mysql, err);
        stmt_free_memory(st);
        return rc;
    }
    if (mysql_stmt_prepare(st->stmt, sql, (unsigned long)st->sql_len)) {
        cr_status rc = stmt_error(st->stmt, err);
        mysql_stmt_close(st->stmt);
        stmt_free_memory(st);
        return rc;
    }
    unsigned long have = mysql_stmt_param_count(st->stmt);
    if (have != (unsigned long)nparams) {
        cr_error_set(err, CR_ERR_ARGUMENT,
                     "the statement has %lu parameter placeholders but %d values are bound",
                     have, nparams);
        mysql_stmt_close(st->stmt);
        stmt_free_memory(st);
        return CR_ERR_ARGUMENT;
    }
    st->ncols = (int)mysql_stmt_field_count(st->stmt);
    st->dc = dc;
    st->next = dc->stmts;
    if (dc->stmts)
        dc->stmts->prev = st;
    dc->stmts = st;
    dc->nstmts++;
    *out = st;
    return CR_OK;
oom:
    stmt_free_memory(st);
    return cr_error_oom(err);
}

/* Discard what is left of the last execution: unread rows and, after a
 * CALL, the results that follow. */
static void release_result(cr_driver_stmt *st)
{
    cr_driver_conn *dc = st->dc;
    if (st->has_result) {
        mysql_stmt_free_result(st->stmt);
        st->has_result = false;
        if (dc->streaming == st) {
            if (mysql_more_results(dc->mysql))
                st->more_pending = true;
            stream_end(dc);
        }
    }
    while (st->more_pending) {
        st->more_pending = false;
        if (mysql_stmt_next_result(st->stmt) != 0)
            break;
        if (mysql_stmt_field_count(st->stmt) > 0)
            mysql_stmt_free_result(st->stmt);
        st->more_pending = mysql_more_results(dc->mysql) != 0;
    }
}

static void my_reset(cr_driver_stmt *st)
{
    if (!st || !st->stmt || !st->dc)
        return;
    /* While another statement streams, touching the connection would drain
     * that stream; this one's buffered rows go at its next execute. */
    if (st->dc->streaming && st->dc->streaming != st)
        return;
    release_result(st);
}

static void my_finalize(cr_driver_stmt *st)
{
    if (!st)
        return;
    cr_driver_conn *dc = st->dc;
    if (st->stmt) {
        if (dc && dc->streaming && dc->streaming != st) {
            dc->deferred[dc->ndeferred++] = st->stmt;   /* room reserved at prepare */
        } else {
            if (dc && dc->streaming == st)
                dc->streaming = NULL;   /* closing drains its rows */
            mysql_stmt_close(st->stmt);
            if (dc && !dc->streaming)
                close_deferred(dc);
        }
    }
    stmt_unlink(st);
    stmt_free_memory(st);
}

static void time_param(MYSQL_TIME *t, const cr_datetime *dt, cr_type type)
{
    memset(t, 0, sizeof *t);
    if (type != CR_TIME) {
        t->year = (unsigned int)(dt->year < 0 ? 0 : dt->year);
        t->month = (unsigned int)(dt->month < 0 ? 0 : dt->month);
        t->day = (unsigned int)(dt->day < 0 ? 0 : dt->day);
    }
    if (type == CR_DATE) {
        t->time_type = MYSQL_TIMESTAMP_DATE;
        return;
    }
    int h = dt->hour, mi = dt->minute, s = dt->second, us = dt->microsecond;
    if (type == CR_TIME && (h < 0 || mi < 0 || s < 0 || us < 0)) {
        t->neg = 1;
        h = h < 0 ? -h : h;
        mi = mi < 0 ? -mi : mi;
        s = s < 0 ? -s : s;
        us = us < 0 ? -us : us;
    }
    t->hour = (unsigned int)(h < 0 ? 0 : h);
    t->minute = (unsigned int)(mi < 0 ? 0 : mi);
    t->second = (unsigned int)(s < 0 ? 0 : s);
    t->second_part = (unsigned long)(us < 0 ? 0 : us);
    t->time_type = type == CR_TIME ? MYSQL_TIMESTAMP_TIME : MYSQL_TIMESTAMP_DATETIME;
}

static cr_status bind_params(cr_driver_stmt *st, const cr_value *params, cr_error *err)
{
    for (int i = 0; i < st->nparams; i++) {
        const cr_value *v = &params[i];
        MYSQL_BIND *b = &st->pbind[i];
        my_pval *pv = &st->pval[i];
        memset(b, 0, sizeof *b);
        switch (v->type) {
        case CR_NULL:
            b->buffer_type = MYSQL_TYPE_NULL;
            break;
        case CR_INT:
            pv->i = (long long)v->v.i;
            b->buffer_type = MYSQL_TYPE_LONGLONG;
            b->buffer = &pv->i;
            break;
        case CR_DOUBLE:
            pv->d = v->v.d;
            b->buffer_type = MYSQL_TYPE_DOUBLE;
            b->buffer = &pv->d;
            break;
        case CR_BOOL:
            pv->b = v->v.b ? 1 : 0;
            b->buffer_type = MYSQL_TYPE_TINY;
            b->buffer = &pv->b;
            break;
        case CR_TEXT:
        case CR_NUMERIC:
            b->buffer_type = v->type == CR_TEXT ? MYSQL_TYPE_STRING : MYSQL_TYPE_NEWDECIMAL;
            b->buffer = v->v.s.ptr ? (void *)v->v.s.ptr : (void *)"";
            b->buffer_length = v->v.s.ptr ? (unsigned long)v->v.s.len : 0;
            break;
        case CR_BLOB:
            b->buffer_type = MYSQL_TYPE_BLOB;
            b->buffer = v->v.blob.ptr ? (void *)v->v.blob.ptr : (void *)"";
            b->buffer_length = v->v.blob.ptr ? (unsigned long)v->v.blob.len : 0;
            break;
        case CR_DATE:
        case CR_TIME:
        case CR_DATETIME:
            time_param(&pv->t, &v->v.dt, v->type);
            b->buffer_type = v->type == CR_DATE ? MYSQL_TYPE_DATE
                           : v->type == CR_TIME ? MYSQL_TYPE_TIME
                                                : MYSQL_TYPE_DATETIME;
            b->buffer = &pv->t;
            break;
        default:
            return cr_error_set(err, CR_ERR_ARGUMENT,
                                "parameter %d has an unknown value type %d", i + 1, (int)v->type);
        }
    }
    if (st->nparams > 0 && mysql_stmt_bind_param(st->stmt, st->pbind))
        return stmt_error(st->stmt, err);
    return CR_OK;
}

static bool grow_buf(my_col *c, size_t need)
{
    if (c->cap >= need)
        return true;
    size_t cap = c->cap ? c->cap : STRBUF_MIN;
    while (cap < need)
        cap *= 2;
    char *p = cr_realloc(c->buf, cap);
    if (!p)
        return false;
    c->buf = p;
    c->cap = cap;
    return true;
}

/* Whether a column is JSON: MariaDB's JSON is LONGTEXT, told apart by the
 * format its extended metadata gives ("json"); MySQL's has its own type. */
static bool is_json(const MYSQL_FIELD *f)
{
    MARIADB_CONST_STRING format = {NULL, 0};
    if (f->type == MYSQL_TYPE_JSON)
        return true;
    return mariadb_field_attr(&format, f, MARIADB_FIELD_ATTR_FORMAT_NAME) == 0 &&
           format.length == 4 && memcmp(format.str, "json", 4) == 0;
}

/* Derive how column i is bound from its field. */
static bool derive_col(my_col *c, MYSQL_BIND *b, const MYSQL_FIELD *f)
{
    c->ftype = f->type;
    c->funsigned = f->flags & UNSIGNED_FLAG;
    c->charsetnr = f->charsetnr;
    memset(b, 0, sizeof *b);
    b->is_null = &c->is_null;
    b->length = &c->length;
    b->error = &c->error;
    size_t want = 0;
    switch (f->type) {
    case MYSQL_TYPE_NULL:
        c->kind = K_NULL;
        b->buffer_type = MYSQL_TYPE_NULL;
        break;
    case MYSQL_TYPE_TINY:
    case MYSQL_TYPE_SHORT:
    case MYSQL_TYPE_INT24:
    case MYSQL_TYPE_LONG:
    case MYSQL_TYPE_LONGLONG:
    case MYSQL_TYPE_YEAR:
        c->kind = f->type == MYSQL_TYPE_LONGLONG && c->funsigned ? K_UINT : K_INT;
        /* MariaDB's BOOLEAN is TINYINT(1): read as SQLAlchemy's Boolean
         * reads it, as SQLite's BOOLEAN and PostgreSQL's boolean read. */
        if (f->type == MYSQL_TYPE_TINY && f->length == 1 && !c->funsigned)
            c->kind = K_BOOL;
        b->buffer_type = MYSQL_TYPE_LONGLONG;
        b->buffer = &c->num.i;
        b->is_unsigned = c->funsigned ? 1 : 0;
        /* Values above INT64_MAX are given as decimal text, made here. */
        if (c->kind == K_UINT && !grow_buf(c, 32))
            return false;
        break;
    case MYSQL_TYPE_FLOAT:
        c->kind = K_FLOAT;
        b->buffer_type = MYSQL_TYPE_FLOAT;
        b->buffer = &c->num.f;
        break;
    case MYSQL_TYPE_DOUBLE:
        c->kind = K_DOUBLE;
        b->buffer_type = MYSQL_TYPE_DOUBLE;
        b->buffer = &c->num.d;
        break;
    case MYSQL_TYPE_DATE:
    case MYSQL_TYPE_NEWDATE:
        c->kind = K_DATE;
        b->buffer_type = MYSQL_TYPE_DATE;
        b->buffer = &c->num.t;
        break;
    case MYSQL_TYPE_TIME:
        c->kind = K_TIME;
        b->buffer_type = MYSQL_TYPE_TIME;
        b->buffer = &c->num.t;
        break;
    case MYSQL_TYPE_DATETIME:
    case MYSQL_TYPE_TIMESTAMP:
        c->kind = K_DATETIME;
        b->buffer_type = f->type;
        b->buffer = &c->num.t;
        break;
    case MYSQL_TYPE_BIT:
        c->kind = K_BIT;
        b->buffer_type = MYSQL_TYPE_BLOB;
        want = 16;
        break;
    case MYSQL_TYPE_DECIMAL:
    case MYSQL_TYPE_NEWDECIMAL:
        c->kind = K_DECIMAL;
        b->buffer_type = MYSQL_TYPE_STRING;
        want = f->length + 2;
        break;
    default:   /* CHAR, VARCHAR, TEXT, BLOB, ENUM, SET, JSON, GEOMETRY */
        c->kind = f->charsetnr == BINARY_CHARSET && f->type != MYSQL_TYPE_JSON ? K_BLOB : K_TEXT;
        if (c->kind == K_TEXT && is_json(f))
            c->kind = K_JSON;
        b->buffer_type = c->kind == K_BLOB ? MYSQL_TYPE_BLOB : MYSQL_TYPE_STRING;
        want = f->length + 1;
        break;
    }
    if (want) {   /* bound as bytes into the column's own buffer */
        if (want < STRBUF_MIN) want = STRBUF_MIN;
        if (want > STRBUF_MAX) want = STRBUF_MAX;
        if (!grow_buf(c, want))
            return false;
        b->buffer = c->buf;
        b->buffer_length = (unsigned long)(c->cap - 1);   /* keep a byte for the NUL */
    }
    return true;
}

/* Bind the result columns of the execution that just ran, deriving the
 * binding again when the columns differ from those it was made for. */
static cr_status setup_result(cr_driver_stmt *st, cr_error *err)
{
    int n = st->ncols;
    const MYSQL_FIELD *f = mariadb_stmt_fetch_fields(st->stmt);
    if (!f)
        return cr_error_set(err, CR_ERR_INTERFACE, "the MySQL result has no column metadata");
    bool same = n == st->nbound;
    for (int i = 0; same && i < n; i++) {
        const my_col *c = &st->cols[i];
        same = c->ftype == f[i].type && c->charsetnr == f[i].charsetnr &&
               c->funsigned == (f[i].flags & UNSIGNED_FLAG);
    }
    if (!same) {
        if (n > st->cols_cap) {
            my_col *cols = cr_realloc(st->cols, sizeof *cols * (size_t)n);
            if (!cols)
                return cr_error_oom(err);
            memset(cols + st->cols_cap, 0, sizeof *cols * (size_t)(n - st->cols_cap));
            st->cols = cols;
            st->cols_cap = n;
            MYSQL_BIND *rb = cr_realloc(st->rbind, sizeof *rb * (size_t)n);
            if (!rb) {
                st->nbound = 0;
                return cr_error_oom(err);
            }
            st->rbind = rb;
        }
        st->nbound = 0;
        for (int i = 0; i < n; i++)
            if (!derive_col(&st->cols[i], &st->rbind[i], &f[i]))
                return cr_error_oom(err);
        st->nbound = n;
    }
    /* The library copies the binds; it drops its copy whenever it
     * reallocates the metadata (a CALL's results), so bind every time. */
    if (mysql_stmt_bind_result(st->stmt, st->rbind))
        return stmt_error(st->stmt, err);
    return CR_OK;
}

static bool starts_with_word(const char *s, const char *word)
{
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' || *s == '(')
        s++;
    size_t n = strlen(word);
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        if (c != word[i])
            return false;
    }
    char c = s[n];
    return !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_');
}

/* The server sent a different number of result columns than the statement
 * was prepared with (its table was altered): the library refuses the
 * result. Drain it and prepare the statement again. A query is then run
 * again, once (*retry); a statement with side effects (INSERT ... RETURNING)
 * is not: it has run, its rows are lost, and that is reported — its next
 * execution works. */
static cr_status new_metadata(cr_driver_stmt *st, bool *retry, cr_error *err)
{
    *retry = starts_with_word(st->sql, "SELECT") || starts_with_word(st->sql, "WITH") ||
             starts_with_word(st->sql, "SHOW") || starts_with_word(st->sql, "VALUES") ||
             starts_with_word(st->sql, "TABLE") || starts_with_word(st->sql, "DESCRIBE") ||
             starts_with_word(st->sql, "EXPLAIN");
    mysql_stmt_free_result(st->stmt);
    st->nbound = 0;
    if (mysql_stmt_prepare(st->stmt, st->sql, (unsigned long)st->sql_len)) {
        *retry = false;
        return stmt_error(st->stmt, err);
    }
    if (mysql_stmt_param_count(st->stmt) != (unsigned long)st->nparams) {
        *retry = false;
        return cr_error_set(err, CR_ERR_INTERFACE,
                            "the statement's parameters changed when it was prepared again");
    }
    if (*retry)
        return CR_OK;
    return cr_error_set_db(err, CR_ERR_INTERFACE, "HY000", 2057,
                           "the statement ran, but its result columns changed since it was "
                           "prepared (was a table altered?); its rows were discarded and it "
                           "was prepared again");
}

static cr_status my_execute(cr_driver_stmt *st, const cr_value *params, bool stream,
                            cr_error *err)
{
    cr_driver_conn *dc = st->dc;
    if (!dc || !st->stmt)
        return closed_error(err);
    if (dc->streaming && dc->streaming != st)
        return busy_error(err);
    if (st->nparams > 0 && !params)
        return cr_error_set(err, CR_ERR_ARGUMENT, "no values for the statement's parameters");
    release_result(st);
    st->ncols = 0;
    cr_status rc;
    for (int attempt = 0;; attempt++) {
        if ((rc = bind_params(st, params, err)))
            return rc;
        if (!mysql_stmt_execute(st->stmt))
            break;
        if (mysql_stmt_errno(st->stmt) != 2057 /* CR_NEW_STMT_METADATA */ || attempt > 0)
            return stmt_error(st->stmt, err);
        bool retry;
        if ((rc = new_metadata(st, &retry, err)) || !retry)
            return rc;
    }
    st->ncols = (int)mysql_stmt_field_count(st->stmt);
    if (st->ncols == 0) {
        st->more_pending = mysql_more_results(dc->mysql) != 0;
        return CR_OK;
    }
    st->has_result = true;
    if ((rc = setup_result(st, err))) {
        release_result(st);
        return rc;
    }
    if (stream) {
        st->buffered = false;
        dc->streaming = st;
        return CR_OK;
    }
    st->buffered = true;
    if (mysql_stmt_store_result(st->stmt)) {
        /* The rows ended in an error (or the connection broke). The library
         * leaves the statement waiting for a result that is over, which
         * would make it and the connection's other statements block or
         * refuse; mysql_stmt_reset puts it back to prepared. */
        rc = stmt_error(st->stmt, err);
        st->has_result = false;
        st->ncols = 0;
        mysql_stmt_reset(st->stmt);
        return rc;
    }
    st->more_pending = mysql_more_results(dc->mysql) != 0;
    return CR_OK;
}

static int my_ncols(cr_driver_stmt *st)
{
    return st ? st->ncols : 0;
}

static const char *my_colname(cr_driver_stmt *st, int i)
{
    if (!st || !st->stmt || i < 0 || i >= st->ncols)
        return NULL;
    const MYSQL_FIELD *f = mariadb_stmt_fetch_fields(st->stmt);
    return f ? f[i].name : NULL;
}

/* A row came back with some strings longer than their buffers: grow those
 * and read the columns again. */
static cr_status refetch_truncated(cr_driver_stmt *st, cr_error *err)
{
    bool rebind = false;
    for (int i = 0; i < st->ncols; i++) {
        my_col *c = &st->cols[i];
        if (!c->error || c->is_null || !c->buf)
            continue;
        if (!grow_buf(c, (size_t)c->length + 1))
            return cr_error_oom(err);
        st->rbind[i].buffer = c->buf;
        st->rbind[i].buffer_length = (unsigned long)(c->cap - 1);
        if (mysql_stmt_fetch_column(st->stmt, &st->rbind[i], (unsigned int)i, 0))
            return stmt_error(st->stmt, err);
        rebind = true;
    }
    /* Only now: rebinding overwrites the library's row positions that
     * mysql_stmt_fetch_column reads. */
    if (rebind && mysql_stmt_bind_result(st->stmt, st->rbind))
        return stmt_error(st->stmt, err);
    return CR_OK;
}


/* A single-precision float as the double of its shortest decimal form that
 * reads back as the same float: 0.1f is 0.1, not 0.10000000149011612, as
 * the Python MySQL drivers read FLOAT (they get the server's text). At
 * most 9 significant digits are ever needed. */
static double float_as_decimal(float f)
{
    char text[32];
    for (int digits = 1; digits <= 9; digits++) {
        snprintf(text, sizeof text, "%.*g", digits, (double)f);
        if (strtof(text, NULL) == f)
            return strtod(text, NULL);
    }
    return (double)f;   /* NaN */
}
static int my_fetch(cr_driver_stmt *st, cr_value *row, cr_error *err)
{
    if (!st->stmt || !st->dc)
        return closed_error(err);
    if (!st->has_result)
        return CR_DONE;
    cr_driver_conn *dc = st->dc;
    int rc = mysql_stmt_fetch(st->stmt);
    if (rc == MYSQL_NO_DATA) {
        if (dc->streaming == st) {
            st->has_result = false;
            st->more_pending = mysql_more_results(dc->mysql) != 0;
            stream_end(dc);
        }
        return CR_DONE;
    }
    if (rc == 1) {
        cr_status s = stmt_error(st->stmt, err);
        if (dc->streaming == st) {
            st->has_result = false;
            stream_end(dc);
        }
        return s;
    }
    if (rc == MYSQL_DATA_TRUNCATED) {
        cr_status s = refetch_truncated(st, err);
        if (s)
            return s;
    }
    for (int i = 0; i < st->ncols; i++) {
        my_col *c = &st->cols[i];
        cr_value *v = &row[i];
        if (c->is_null) {
            v->type = CR_NULL;
            continue;
        }
        switch (c->kind) {
        case K_NULL:
            v->type = CR_NULL;
            break;
        case K_INT:
            v->type = CR_INT;
            v->v.i = (int64_t)c->num.i;
            break;
        case K_BOOL:
            if (c->num.i == 0 || c->num.i == 1) {
                v->type = CR_BOOL;
                v->v.b = c->num.i == 1;
            } else {
                v->type = CR_INT;
                v->v.i = (int64_t)c->num.i;
            }
            break;
        case K_UINT: {
            unsigned long long u = (unsigned long long)c->num.i;
            if (u <= (unsigned long long)INT64_MAX) {
                v->type = CR_INT;
                v->v.i = (int64_t)u;
            } else {
                int n = snprintf(c->buf, c->cap, "%llu", u);
                v->type = CR_NUMERIC;
                v->v.s.ptr = c->buf;
                v->v.s.len = (size_t)n;
            }
            break;
        }
        case K_DOUBLE:
            v->type = CR_DOUBLE;
            v->v.d = c->num.d;
            break;
        case K_FLOAT:
            v->type = CR_DOUBLE;
            v->v.d = float_as_decimal(c->num.f);
            break;
        case K_BIT: {
            unsigned long long u = 0;
            size_t n = c->length < 8 ? c->length : 8;
            for (size_t k = 0; k < n; k++)
                u = (u << 8) | (unsigned char)c->buf[k];
            if (u <= (unsigned long long)INT64_MAX) {
                v->type = CR_INT;
                v->v.i = (int64_t)u;
            } else {
                int len = snprintf(c->buf, c->cap, "%llu", u);
                v->type = CR_NUMERIC;
                v->v.s.ptr = c->buf;
                v->v.s.len = (size_t)len;
            }
            break;
        }
        case K_DECIMAL:
        case K_TEXT:
        case K_JSON:
        case K_BLOB:
            if (c->length >= c->cap)   /* cannot happen: truncation is refetched */
                return cr_error_set(err, CR_ERR_INTERFACE,
                                    "column %d was truncated by the MySQL client", i + 1);
            c->buf[c->length] = '\0';
            if (c->kind == K_JSON && cr_json_is_null(c->buf, c->length)) {
                v->type = CR_NULL;
                break;
            }
            v->type = c->kind == K_DECIMAL ? CR_NUMERIC
                      : c->kind == K_BLOB  ? CR_BLOB
                                           : CR_TEXT;
            if (v->type == CR_BLOB) {
                v->v.blob.ptr = c->buf;
                v->v.blob.len = c->length;
            } else {
                v->v.s.ptr = c->buf;
                v->v.s.len = c->length;
            }
            break;
        case K_DATE:
        case K_TIME:
        case K_DATETIME: {
            const MYSQL_TIME *t = &c->num.t;
            /* Zero dates ('0000-00-00') read as NULL, as mysqlclient does. */
            if (c->kind != K_TIME && t->year == 0 && t->month == 0 && t->day == 0) {
                v->type = CR_NULL;
                break;
            }
            cr_datetime *dt = &v->v.dt;
            memset(dt, 0, sizeof *dt);
            v->type = c->kind == K_DATE ? CR_DATE : c->kind == K_TIME ? CR_TIME : CR_DATETIME;
            if (c->kind != K_TIME) {
                dt->year = (int)t->year;
                dt->month = (int)t->month;
                dt->day = (int)t->day;
            }
            if (c->kind != K_DATE) {
                dt->hour = (int)t->hour;
                dt->minute = (int)t->minute;
                dt->second = (int)t->second;
                dt->microsecond = (int)t->second_part;
                if (c->kind == K_TIME && t->neg) {
                    /* A negative interval: every field carries the sign. */
                    dt->hour = -dt->hour;
                    dt->minute = -dt->minute;
                    dt->second = -dt->second;
                    dt->microsecond = -dt->microsecond;
                }
            }
            break;
        }
        }
    }
    return CR_ROW;
}

static int64_t my_rowcount(cr_driver_stmt *st)
{
    if (!st || !st->stmt || !st->dc)
        return -1;
    if (st->ncols > 0)
        return st->buffered && st->has_result ? (int64_t)mysql_stmt_num_rows(st->stmt) : -1;
    my_ulonglong n = mysql_stmt_affected_rows(st->stmt);
    return n == (my_ulonglong)-1 ? -1 : (int64_t)n;
}

static cr_status my_lastrowid(cr_driver_stmt *st, int64_t *out, cr_error *err)
{
    if (!st || !st->stmt || !st->dc)
        return closed_error(err);
    *out = (int64_t)mysql_stmt_insert_id(st->stmt);
    return CR_OK;
}

/* ------------------------------------------------------------------------
 * Replication (MariaDB GTIDs)
 * ------------------------------------------------------------------------ */

/* Run sql and keep its result (NULL when it returns no rows). */
static cr_status my_query_result(cr_driver_conn *dc, const char *sql, MYSQL_RES **out,
                                 cr_error *err)
{
    if (dc->streaming)
        return busy_error(err);
    MYSQL *m = dc->mysql;
    if (mysql_real_query(m, sql, (unsigned long)strlen(sql)))
        return conn_error(m, err);
    *out = mysql_store_result(m);
    if (!*out && mysql_field_count(m) != 0)
        return conn_error(m, err);
    return CR_OK;
}

/* The first column of a one-row query as text into buf ("" for NULL). */
static cr_status my_scalar_text(cr_driver_conn *dc, const char *sql, char *buf, size_t size,
                                bool *is_null, cr_error *err)
{
    MYSQL_RES *res = NULL;
    cr_status st = my_query_result(dc, sql, &res, err);
    MYSQL_ROW row = st || !res ? NULL : mysql_fetch_row(res);
    unsigned long *len = row ? mysql_fetch_lengths(res) : NULL;
    if (!st && (!row || !len))
        st = cr_error_set(err, CR_ERR_INTERNAL, "%s: expected one row", sql);
    else if (!st && (*is_null = row[0] == NULL))
        buf[0] = '\0';
    else if (!st && len[0] >= size)
        st = cr_error_set(err, CR_ERR_INTERNAL, "%s: value too long", sql);
    else if (!st)
        memcpy(buf, row[0], len[0] + 1);
    if (res)
        mysql_free_result(res);
    return st;
}

/* The GTIDs of every transaction in this server's binary log (the global
 * position, not the session's @@last_gtid: it also covers commits of other
 * sessions, which read-your-writes across requests needs). */
static cr_status my_write_position(cr_driver_conn *dc, char *buf, size_t size, cr_error *err)
{
    bool is_null = false;
    return my_scalar_text(dc, "SELECT @@GLOBAL.gtid_binlog_pos", buf, size, &is_null, err);
}

static cr_status my_wait_position(cr_driver_conn *dc, const char *pos, double timeout,
                                  bool *reached, cr_error *err)
{
    cr_status st = cr_gtid_check(pos, err);
    if (st)
        return st;
    if (!*pos) {
        *reached = true;      /* nothing was ever written */
        return CR_OK;
    }
    /* Checked above: digits, '-' and ',' only, safe inside the quotes. */
    char sql[CR_POSITION_MAX + 64], buf[32];
    snprintf(sql, sizeof sql, "SELECT MASTER_GTID_WAIT('%s', %.3f)", pos, timeout);
    bool is_null = false;
    if ((st = my_scalar_text(dc, sql, buf, sizeof buf, &is_null, err)))
        return st;
    *reached = !is_null && strcmp(buf, "0") == 0;   /* -1: timed out */
    return CR_OK;
}

/* Seconds_Behind_Master of SHOW SLAVE STATUS: NULL while its threads are
 * stopped, which counts as lagging without bound; no row: not a replica. */
static cr_status my_replica_lag(cr_driver_conn *dc, double *seconds, cr_error *err)
{
    MYSQL_RES *res = NULL;
    cr_status st = my_query_result(dc, "SHOW SLAVE STATUS", &res, err);
    if (st || !res)
        return st;
    MYSQL_ROW row = mysql_fetch_row(res);
    *seconds = 0;
    if (row) {
        unsigned n = mysql_num_fields(res);
        MYSQL_FIELD *f = mysql_fetch_fields(res);
        for (unsigned i = 0; i < n; i++)
            if (strcmp(f[i].name, "Seconds_Behind_Master") == 0)
                *seconds = row[i] ? strtod(row[i], NULL) : INFINITY;
    }
    mysql_free_result(res);
    return CR_OK;
}

static int my_socket_fd(cr_driver_conn *dc) { return (int)mysql_get_socket(dc->mysql); }

const cr_driver cr_mysql_driver = {
    .name = "mysql",
    .param_style = CR_PARAM_QMARK,
    .default_isolation = "REPEATABLE READ",
    .check_url = my_check_url,
    .connect = my_connect,
    .close = my_close,
    .exec_simple = my_exec_simple,
    .set_isolation = my_set_isolation,
    .prepare = my_prepare,
    .finalize = my_finalize,
    .execute = my_execute,
    .ncols = my_ncols,
    .colname = my_colname,
    .fetch = my_fetch,
    .rowcount = my_rowcount,
    .lastrowid = my_lastrowid,
    .reset = my_reset,
    .write_position = my_write_position,
    .check_position = cr_gtid_check,
    .merge_position = cr_gtid_merge,
    .wait_position = my_wait_position,
    .replica_lag = my_replica_lag,
    .socket = my_socket_fd,
};
