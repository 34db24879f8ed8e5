/* error.c — error records: SQLAlchemy's classes, SQLSTATE, driver code, message, statement. */
#include "base/base.h"

#include <stdio.h>
#include <string.h>

static const char *const class_names[] = {
    [CR_OK] = "OK",
    [CR_ERR_INTERFACE] = "InterfaceError",
    [CR_ERR_DATABASE] = "DatabaseError",
    [CR_ERR_DATA] = "DataError",
    [CR_ERR_OPERATIONAL] = "OperationalError",
    [CR_ERR_INTEGRITY] = "IntegrityError",
    [CR_ERR_INTERNAL] = "InternalError",
    [CR_ERR_PROGRAMMING] = "ProgrammingError",
    [CR_ERR_NOT_SUPPORTED] = "NotSupportedError",
    [CR_ERR_ARGUMENT] = "ArgumentError",
    [CR_ERR_INVALID_REQUEST] = "InvalidRequestError",
    [CR_ERR_NO_RESULT_FOUND] = "NoResultFound",
    [CR_ERR_MULTIPLE_RESULTS] = "MultipleResultsFound",
    [CR_ERR_RESOURCE_CLOSED] = "ResourceClosedError",
    [CR_ERR_NO_MEMORY] = "OutOfMemoryError",
    [CR_ERR_TIMEOUT] = "TimeoutError",
    [CR_ERR_PENDING_ROLLBACK] = "PendingRollbackError",
    [CR_ERR_STALE_DATA] = "StaleDataError",
    [CR_ERR_DETACHED_INSTANCE] = "DetachedInstanceError",
    [CR_ERR_OBJECT_DELETED] = "ObjectDeletedError",
    [CR_ERR_FLUSH] = "FlushError",
    [CR_ERR_UNMAPPED_INSTANCE] = "UnmappedInstanceError",
};

const char *cr_status_name(cr_status status)
{
    if ((unsigned)status < CR_ARRAY_LEN(class_names) && class_names[status])
        return class_names[status];
    return "UnknownError";
}

/* Handed out when even an error record cannot be allocated. */
static cr_error oom_error = {
    .cls = CR_ERR_NO_MEMORY, .message = "out of memory",
};

cr_status cr_error_class(const cr_error *e) { return e ? e->cls : CR_OK; }
const char *cr_error_class_name(const cr_error *e) { return cr_status_name(cr_error_class(e)); }
const char *cr_error_sqlstate(const cr_error *e) { return e ? e->sqlstate : ""; }
long cr_error_code(const cr_error *e) { return e ? e->code : 0; }
const char *cr_error_message(const cr_error *e) { return e ? e->message : ""; }
const char *cr_error_statement(const cr_error *e) { return e ? e->statement : NULL; }
bool cr_error_is_disconnect(const cr_error *e) { return e && e->disconnect; }

/* SQLSTATE 40001 (serialization failure) and 40P01 (deadlock) are standard;
 * drivers mark what their backends report otherwise, and the engine marks a
 * connection lost before COMMIT was sent. A COMMIT whose outcome is unknown
 * never is: running it again could commit it twice. */
bool cr_error_is_retryable(const cr_error *e)
{
    return e && !e->commit_unknown &&
           (e->retryable || strcmp(e->sqlstate, "40001") == 0 ||
            strcmp(e->sqlstate, "40P01") == 0);
}

bool cr_error_is_commit_unknown(const cr_error *e) { return e && e->commit_unknown; }

void cr_error_free(cr_error *e)
{
    if (!e || e == &oom_error)
        return;
    cr_free(e->statement);
    cr_free(e);
}

void cr_error_clear_slow(cr_error *e)
{
    cr_free(e->statement);
    e->statement = NULL;
    e->cls = CR_OK;
    e->sqlstate[0] = '\0';
    e->code = 0;
    e->disconnect = false;
    e->retryable = false;
    e->commit_unknown = false;
    e->message[0] = '\0';
}

cr_status cr_error_set(cr_error *e, cr_status cls, const char *fmt, ...)
{
    cr_error_clear(e);
    e->cls = cls;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    return cls;
}

cr_status cr_error_set_db(cr_error *e, cr_status cls, const char *sqlstate,
                          long code, const char *message)
{
    cr_error_clear(e);
    e->cls = cls;
    e->code = code;
    if (sqlstate)
        snprintf(e->sqlstate, sizeof e->sqlstate, "%s", sqlstate);
    snprintf(e->message, sizeof e->message, "%s", message ? message : "");
    size_t n = strlen(e->message);
    while (n > 0 && (e->message[n - 1] == '\n' || e->message[n - 1] == ' '))
        e->message[--n] = '\0';
    return cls;
}

cr_status cr_tristate_check(cr_tristate t, const char *option, cr_error *e)
{
    if (t.value <= CR_NO.value)
        return CR_OK;
    return cr_error_set(e, CR_ERR_ARGUMENT, "%s must be CR_AUTO, CR_YES or CR_NO (got %d)",
                        option, t.value);
}

void cr_error_set_statement(cr_error *e, const char *sql)
{
    cr_free(e->statement);
    e->statement = sql ? cr_strdup(sql) : NULL;
}

cr_status cr_error_oom(cr_error *e)
{
    return cr_error_set(e, CR_ERR_NO_MEMORY, "out of memory");
}

void cr_error_copy(cr_error *dst, const cr_error *src)
{
    if (dst == src)
        return;
    char *stmt = dst->statement;
    *dst = *src;
    dst->statement = src->statement ? cr_strdup(src->statement) : NULL;
    cr_free(stmt);
}

cr_error *cr_error_dup(const cr_error *e)
{
    cr_error *copy = cr_calloc(1, sizeof *copy);
    if (!copy)
        return &oom_error;
    cr_error_copy(copy, e);
    return copy;
}

/* The DBAPI drivers classify by SQLSTATE class (psycopg2's table, which
 * SQLAlchemy passes through); we follow it so an error has the same class in
 * C as in Python. */
cr_status cr_sqlstate_class(const char *s)
{
    if (!s || strlen(s) < 2)
        return CR_ERR_DATABASE;
    char a = s[0], b = s[1];
    switch (a) {
    case '0':
        if (b == 'A') return CR_ERR_NOT_SUPPORTED;
        if (b == '8') return CR_ERR_OPERATIONAL;
        break;
    case '2':
        switch (b) {
        case '0': case '1': return CR_ERR_PROGRAMMING;
        case '2': return CR_ERR_DATA;
        case '3': return CR_ERR_INTEGRITY;
        case '4': case '5': case 'B': case 'D': case 'F': return CR_ERR_INTERNAL;
        case '6': case '7': case '8': return CR_ERR_OPERATIONAL;
        }
        break;
    case '3':
        switch (b) {
        case '4': return CR_ERR_OPERATIONAL;
        case '8': case '9': case 'B': return CR_ERR_INTERNAL;
        case 'D': case 'F': return CR_ERR_PROGRAMMING;
        }
        break;
    case '4':
        if (b == '0') return CR_ERR_OPERATIONAL;   /* serialization failure, deadlock */
        if (b == '2' || b == '4') return CR_ERR_PROGRAMMING;
        break;
    case '5': case 'F': case 'H':
        return CR_ERR_OPERATIONAL;
    case 'P': case 'X':
        return CR_ERR_INTERNAL;
    }
    return CR_ERR_DATABASE;
}
