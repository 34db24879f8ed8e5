/* base.h — internal foundations: allocation, growable buffers, errors, arenas. */
#ifndef CR_BASE_H
#define CR_BASE_H

#include "crucible.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CR_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* The code every execute and fetch runs (a lookup by key runs it hundreds
 * of thousands of times a second): optimised for speed and placed together
 * by the compiler and linker (.text.hot). */
#if defined(__GNUC__)
#define CR_HOT __attribute__((hot))
/* Its rare ways out (errors, the general cases): kept out of line and
 * apart, so that the common way stays short. */
#define CR_COLD __attribute__((noinline, cold))
/* An entry point of the hot path that runs a whole chain of the engine's
 * layers: every call in it inlined, up to the CR_COLD and noinline ones. */
#define CR_FLATTEN __attribute__((hot, flatten))
/* A step of the hot path inlined into each caller whatever its size. */
#define CR_INLINE inline __attribute__((always_inline))
#else
#define CR_FLATTEN
#define CR_INLINE inline
#define CR_HOT
#define CR_COLD
#endif

/* Internal fetch outcomes; distinct from every cr_status. */
enum { CR_ROW = 100, CR_DONE = 101 };

/* ---- allocation ------------------------------------------------------------
 * Every allocation of the library goes through these, so that a test build can
 * make the n-th one fail (cr_mem_fail_after) and check nothing leaks or
 * crashes when memory runs out. */
void *cr_malloc(size_t n);
void *cr_calloc(size_t count, size_t n);
void *cr_realloc(void *p, size_t n);
void cr_free(void *p);
char *cr_strdup(const char *s);
char *cr_strndup(const char *s, size_t n);
/* Test hook: the allocation after the next n succeeds fails; -1 disables. */
void cr_mem_fail_after(long n);
/* Disarm the hook; true when the armed failure never happened. */
bool cr_mem_fail_disarm(void);

/* ---- growable byte buffer --------------------------------------------------
 * Appends never fail loudly: a failed allocation sets oom and later appends do
 * nothing, so a caller builds a whole string and checks once. */
typedef struct cr_buf {
    char *data;
    size_t len, cap;
    bool oom;
    bool borrowed;      /* data is the caller's storage: never freed */
} cr_buf;

void cr_buf_init(cr_buf *b);
/* Start in the caller's storage of cap bytes; growing moves to the heap. */
void cr_buf_init_with(cr_buf *b, char *storage, size_t cap);
void cr_buf_free(cr_buf *b);
void cr_buf_clear(cr_buf *b);
bool cr_buf_reserve(cr_buf *b, size_t extra);
void cr_buf_append(cr_buf *b, const void *p, size_t n);
void cr_buf_puts(cr_buf *b, const char *s);
void cr_buf_putc(cr_buf *b, char c);
void cr_buf_printf(cr_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* NUL-terminated contents ("" when empty); NULL after an allocation failure. */
const char *cr_buf_cstr(cr_buf *b);
/* Append a value as echo logging shows it: 'text', 42, None, b'..'. */
void cr_buf_put_value(cr_buf *b, const cr_value *v);
/* repr.c: values as Python shows them. put_str: str() (what print shows);
 * put_repr: repr() (a tuple's items); put_double: a float's repr; put_pystr:
 * the repr of a str, or of bytes when bytes. */
void cr_buf_put_str(cr_buf *b, const cr_value *v);
void cr_buf_put_repr(cr_buf *b, const cr_value *v);
void cr_buf_put_double(cr_buf *b, double d);
void cr_buf_put_pystr(cr_buf *b, const void *data, size_t n, bool bytes);
/* b's text into buf as snprintf would write it; its length, -1 when b ran
 * out of memory. Frees b. */
int cr_buf_deliver(cr_buf *b, char *buf, size_t size);

/* ---- arena -----------------------------------------------------------------
 * Bump allocation in chunks, freed all at once (row sets, cached rows). */
typedef struct cr_arena_chunk cr_arena_chunk;
typedef struct cr_arena {
    cr_arena_chunk *head;
    size_t chunk_size;
    cr_arena_chunk *borrowed;   /* the caller's first chunk: never freed */
} cr_arena;

void cr_arena_init(cr_arena *a, size_t chunk_size);
/* Start in the caller's storage (aligned for any object, size bytes), so
 * that a small arena costs no allocation; later chunks come from the heap. */
void cr_arena_init_with(cr_arena *a, void *storage, size_t size, size_t chunk_size);
void *cr_arena_alloc(cr_arena *a, size_t n);
void cr_arena_free(cr_arena *a);
/* Deep copy of n values into the arena (text and blobs copied, text kept
 * NUL-terminated). NULL when out of memory. */
cr_value *cr_arena_copy_values(cr_arena *a, const cr_value *src, int n);

/* ---- errors ---------------------------------------------------------------- */
struct cr_error {
    cr_status cls;
    char *statement;      /* owned; NULL when not about a statement (beside
                           * cls: "no error" is read from one cache line) */
    char sqlstate[6];
    long code;
    bool disconnect;
    bool retryable;       /* running the transaction again may succeed */
    bool commit_unknown;  /* lost while a COMMIT (or an AUTOCOMMIT statement)
                           * was in flight: it may or may not have happened */
    char message[1024];
};

/* Equal parameter names; the same pointer needs no comparing (a list
 * naming one literal twice, an executemany's names against each other).
 * Names are short: compared inline rather than by a call on every
 * execute. */
static inline bool cr_same_name(const char *a, const char *b)
{
    if (a == b)
        return true;
    while (*a && *a == *b)
        a++, b++;
    return *a == *b;
}

/* Whether e records nothing: no error, and no statement left from one. */
static inline bool cr_error_is_clear(const cr_error *e)
{
    return e->cls == CR_OK && !e->statement;
}
/* Reset to "no error". Inline because every successful call does it. */
CR_COLD void cr_error_clear_slow(cr_error *e);
static inline void cr_error_clear(cr_error *e)
{
    if (!cr_error_is_clear(e))
        cr_error_clear_slow(e);
}
/* Make a fresh record "no error" without touching its message buffer. */
static inline void cr_error_init(cr_error *e)
{
    e->cls = CR_OK;
    e->sqlstate[0] = '\0';
    e->code = 0;
    e->disconnect = false;
    e->retryable = false;
    e->commit_unknown = false;
    e->message[0] = '\0';
    e->statement = NULL;
}
/* Record an error of Crucible's own; returns cls. */
cr_status cr_error_set(cr_error *e, cr_status cls, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Record an error reported by a driver. sqlstate may be NULL; message is the
 * driver's text (trailing newlines trimmed). Returns cls. */
cr_status cr_error_set_db(cr_error *e, cr_status cls, const char *sqlstate,
                          long code, const char *message);
/* CR_OK for a cr_tristate holding CR_AUTO, CR_YES or CR_NO; otherwise
 * CR_ERR_ARGUMENT naming the option. */
cr_status cr_tristate_check(cr_tristate t, const char *option, cr_error *e);
/* Attach the statement the error is about (copied). */
CR_COLD void cr_error_set_statement(cr_error *e, const char *sql);
/* Deep copy src into dst (dst's previous statement is freed). */
void cr_error_copy(cr_error *dst, const cr_error *src);
/* A heap copy of e for the caller of cr_create_engine and friends; a static
 * out-of-memory error when even that fails. */
cr_error *cr_error_dup(const cr_error *e);
cr_status cr_error_oom(cr_error *e);
/* The class for a SQLSTATE (its first two characters decide, as psycopg2
 * decides): 23 integrity, 22 data, 42 programming, 08 operational ... The
 * MySQL driver classifies by error number instead, as the Python MySQL
 * drivers do. */
cr_status cr_sqlstate_class(const char *sqlstate);

/* ---- values ----------------------------------------------------------------*/
/* Whether a date, time or datetime is a real one (days per month, leap
 * years, 00:00:00 to 23:59:59.999999, offset within a day). On CR_ERR_DATA
 * writes the reason into why. */
cr_status cr_datetime_check(const cr_datetime *dt, cr_type type, char *why, size_t size);
/* Whether a value can be bound or kept: a known type, text, numeric and
 * blob with a pointer for their length (NULL only with length 0), real
 * dates and times (cr_datetime_check). On error writes the reason into why
 * and returns CR_ERR_ARGUMENT (CR_ERR_DATA for an impossible date or time). */
cr_status cr_value_check(const cr_value *v, char *why, size_t size);
/* Whether v is a null, a number or a boolean: a value cr_value_check always
 * passes, which a caller on every execute skips the call for. */
static inline bool cr_value_check_needless(const cr_value *v)
{
    return (unsigned)v->type <= CR_BOOL;
}
/* The same instant as a UTC time without offset: for a datetime the date
 * moves with it, a time wraps around the day. A value without an offset is
 * left alone. CR_ERR_DATA (dt unchanged) when the date leaves years
 * 1..9999. The fields must be in range (cr_datetime_check). */
cr_status cr_datetime_to_utc(cr_datetime *dt, cr_type type);
/* Seconds on CLOCK_MONOTONIC (immune to wall-clock changes). */
double cr_now_seconds(void);
/* Small integers to text without printf (hot path). Returns the length. */
int cr_format_int64(int64_t v, char *buf);
/* Parse a decimal integer; false when the text is not one or overflows. */
bool cr_parse_int64(const char *s, size_t len, int64_t *out);
/* A UTC offset in seconds as "+HH:MM", with ":SS" when it has seconds
 * (historic offsets such as LMT's -07:52:58), into out (CR_OFFSET_TEXT
 * bytes, enough for any int). Returns the length. */
#define CR_OFFSET_TEXT 24
int cr_format_utc_offset(int offset, char *out);
/* Whether a JSON column's text is the document null (JSON's whitespace
 * around it allowed): it reads as NULL, as SQLAlchemy's JSON reads it
 * (None). */
bool cr_json_is_null(const char *s, size_t len);

#endif
