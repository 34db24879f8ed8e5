/* buf.c — growable byte buffers that record allocation failure instead of failing each append. */
#include "base/base.h"

#include <stdio.h>
#include <string.h>

void cr_buf_init(cr_buf *b) { memset(b, 0, sizeof *b); }

void cr_buf_init_with(cr_buf *b, char *storage, size_t cap)
{
    cr_buf_init(b);
    b->data = storage;
    b->cap = cap;
    b->borrowed = true;
    if (cap)
        storage[0] = '\0';
}

void cr_buf_free(cr_buf *b)
{
    if (!b->borrowed)
        cr_free(b->data);
    cr_buf_init(b);
}

void cr_buf_clear(cr_buf *b)
{
    b->len = 0;
    b->oom = false;
    if (b->data)
        b->data[0] = '\0';
}

bool cr_buf_reserve(cr_buf *b, size_t extra)
{
    if (b->oom)
        return false;
    size_t need = b->len + extra + 1;          /* room for the NUL */
    if (need <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    char *p = b->borrowed ? cr_malloc(cap) : cr_realloc(b->data, cap);
    if (!p) {
        b->oom = true;
        return false;
    }
    if (b->borrowed && b->len)
        memcpy(p, b->data, b->len);
    b->borrowed = false;
    b->data = p;
    b->cap = cap;
    return true;
}

void cr_buf_append(cr_buf *b, const void *p, size_t n)
{
    if (!cr_buf_reserve(b, n))
        return;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void cr_buf_puts(cr_buf *b, const char *s) { cr_buf_append(b, s, strlen(s)); }

void cr_buf_putc(cr_buf *b, char c) { cr_buf_append(b, &c, 1); }

void cr_buf_printf(cr_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char small[256];
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        va_end(ap2);
        return;
    }
    if ((size_t)n < sizeof small) {
        cr_buf_append(b, small, (size_t)n);
    } else if (cr_buf_reserve(b, (size_t)n)) {
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap2);
        b->len += (size_t)n;
    }
    va_end(ap2);
}

const char *cr_buf_cstr(cr_buf *b)
{
    if (b->oom)
        return NULL;
    if (!b->data)
        return "";
    return b->data;
}

/* Values are shown as Python's repr would show them, as SQLAlchemy's echo does;
 * long text and blobs are cut so a log line stays readable. */
void cr_buf_put_value(cr_buf *b, const cr_value *v)
{
    char tmp[64];
    switch (v->type) {
    case CR_TEXT: {
        /* As repr shows it, cut at 200 bytes (not inside a character). */
        size_t n = v->v.s.len > 200 ? 200 : v->v.s.len;
        while (n < v->v.s.len && n > 0 && ((unsigned char)v->v.s.ptr[n] & 0xc0) == 0x80)
            n--;
        cr_buf_put_pystr(b, v->v.s.ptr, n, false);
        if (n < v->v.s.len)
            cr_buf_printf(b, " ... (%zu characters truncated) ...", v->v.s.len - n);
        break;
    }
    case CR_BLOB:
        cr_buf_printf(b, "<%zu bytes>", v->v.blob.len);
        break;
    case CR_DATE:
    case CR_TIME:
    case CR_DATETIME:
        cr_datetime_format(&v->v.dt, v->type, tmp, sizeof tmp);
        cr_buf_printf(b, "'%s'", tmp);
        break;
    default:                /* None, numbers, booleans: repr (repr.c) */
        cr_buf_put_repr(b, v);
    }
}
