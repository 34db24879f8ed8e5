/* repr.c — values as Python shows them: str() for printing one, repr() for
 * a row's tuple and for echo logging, so that a port of a Python program
 * prints what the program printed. */
#include "base/base.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A float's repr: the fewest significant digits that read back as the same
 * double, written fixed when its exponent is in -4..15 and with an exponent
 * of at least two digits otherwise; an integral value keeps ".0". */
void cr_buf_put_double(cr_buf *b, double d)
{
    if (isnan(d)) {
        cr_buf_puts(b, "nan");
        return;
    }
    if (isinf(d)) {
        cr_buf_puts(b, d < 0 ? "-inf" : "inf");
        return;
    }
    char e[40];
    for (int p = 1; p <= 17; p++) {
        snprintf(e, sizeof e, "%.*e", p - 1, d);
        if (strtod(e, NULL) == d)
            break;
    }
    /* e is [-]D[.DDD]e(+|-)XX: its digits and exponent (the point is the
     * locale's, which may be a comma: only the digits are taken). */
    const char *s = e;
    if (*s == '-') {
        cr_buf_putc(b, '-');
        s++;
    }
    char digits[20];
    size_t n = 0;
    for (; *s != 'e'; s++)
        if (*s >= '0' && *s <= '9' && n < sizeof digits)
            digits[n++] = *s;
    int x = atoi(s + 1);
    if (x < -4 || x >= 16) {
        cr_buf_putc(b, digits[0]);
        if (n > 1) {
            cr_buf_putc(b, '.');
            cr_buf_append(b, digits + 1, n - 1);
        }
        cr_buf_printf(b, "e%c%02d", x < 0 ? '-' : '+', abs(x));
    } else if (x >= 0) {
        size_t whole = (size_t)x + 1;
        cr_buf_append(b, digits, n < whole ? n : whole);
        for (size_t i = n; i < whole; i++)
            cr_buf_putc(b, '0');
        cr_buf_putc(b, '.');
        if (n > whole)
            cr_buf_append(b, digits + whole, n - whole);
        else
            cr_buf_putc(b, '0');
    } else {
        cr_buf_puts(b, "0.");
        for (int i = -1; i > x; i--)
            cr_buf_putc(b, '0');
        cr_buf_append(b, digits, n);
    }
}

/* The length of the UTF-8 sequence at s (at most n bytes) and its code
 * point, or 0 when it is not a valid one. */
static size_t utf8_char(const unsigned char *s, size_t n, unsigned *cp)
{
    size_t len = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc0 ? 2 : 0;
    if (len == 0 || len > n || s[0] > 0xf4)
        return 0;
    unsigned c = s[0] & (0x7f >> len);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        c = c << 6 | (s[i] & 0x3f);
    }
    static const unsigned least[] = {0, 0, 0x80, 0x800, 0x10000};
    if (c < least[len] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        return 0;
    *cp = c;
    return len;
}

/* The characters past Latin-1's controls that Python's str.isprintable()
 * refuses, which repr escapes: the separators (Zs but the space, Zl, Zp),
 * the format characters (Cf) and the private-use ones (Co), as of Python
 * 3.11 (Unicode 14). Unassigned code points (Cn), which Python escapes too,
 * are kept: their list changes with every Unicode version. */
static const unsigned nonprintable[][2] = {
    {0xA0, 0xA0},       {0xAD, 0xAD},       {0x600, 0x605},     {0x61C, 0x61C},
    {0x6DD, 0x6DD},     {0x70F, 0x70F},     {0x890, 0x891},     {0x8E2, 0x8E2},
    {0x1680, 0x1680},   {0x180E, 0x180E},   {0x2000, 0x200F},   {0x2028, 0x202F},
    {0x205F, 0x2064},   {0x2066, 0x206F},   {0x3000, 0x3000},   {0xE000, 0xF8FF},
    {0xFEFF, 0xFEFF},   {0xFFF9, 0xFFFB},   {0x110BD, 0x110BD}, {0x110CD, 0x110CD},
    {0x13430, 0x13438}, {0x1BCA0, 0x1BCA3}, {0x1D173, 0x1D17A}, {0xE0001, 0xE0001},
    {0xE0020, 0xE007F}, {0xF0000, 0xFFFFD}, {0x100000, 0x10FFFD},
};

static bool printable(unsigned cp)
{
    if (cp < 0xA0)
        return cp >= 0x20 && cp != 0x7F && (cp < 0x80 || cp > 0x9F);
    for (size_t i = 0; i < sizeof nonprintable / sizeof nonprintable[0]; i++)
        if (cp >= nonprintable[i][0] && cp <= nonprintable[i][1])
            return false;
    return true;
}

/* Python's repr of a str (bytes: prefix 'b'): in single quotes unless it
 * holds one and no double quote; backslash, the quote, \t \n \r escaped,
 * other control characters as \xNN. A str keeps its printable non-ASCII
 * characters and escapes the others as Python does (\xNN, \uNNNN,
 * \UNNNNNNNN); bytes show every byte past ASCII as \xNN. */
void cr_buf_put_pystr(cr_buf *b, const void *data, size_t n, bool bytes)
{
    const unsigned char *s = data;
    bool single = memchr(s, '\'', n) != NULL, dbl = memchr(s, '"', n) != NULL;
    char q = single && !dbl ? '"' : '\'';
    if (bytes)
        cr_buf_putc(b, 'b');
    cr_buf_putc(b, q);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = s[i];
        unsigned cp;
        size_t len;
        if (c == '\\' || c == (unsigned char)q) {
            cr_buf_putc(b, '\\');
            cr_buf_putc(b, (char)c);
        } else if (c == '\t') {
            cr_buf_puts(b, "\\t");
        } else if (c == '\n') {
            cr_buf_puts(b, "\\n");
        } else if (c == '\r') {
            cr_buf_puts(b, "\\r");
        } else if (c >= 0x20 && c < 0x7f) {
            cr_buf_putc(b, (char)c);
        } else if (c >= 0x80 && !bytes && (len = utf8_char(s + i, n - i, &cp))) {
            if (printable(cp))
                cr_buf_append(b, s + i, len);
            else if (cp <= 0xff)
                cr_buf_printf(b, "\\x%02x", cp);
            else if (cp <= 0xffff)
                cr_buf_printf(b, "\\u%04x", cp);
            else
                cr_buf_printf(b, "\\U%08x", cp);
            i += len - 1;
        } else {
            cr_buf_printf(b, "\\x%02x", c);
        }
    }
    cr_buf_putc(b, q);
}

static void put_offset(cr_buf *b, int off)
{
    char text[CR_OFFSET_TEXT];
    cr_buf_append(b, text, (size_t)cr_format_utc_offset(off, text));
}

/* str() of a date, time or datetime: the fraction only when not zero. */
static void put_datetime_str(cr_buf *b, const cr_datetime *dt, cr_type type)
{
    if (type != CR_TIME)
        cr_buf_printf(b, "%04d-%02d-%02d", dt->year, dt->month, dt->day);
    if (type == CR_DATE)
        return;
    if (type == CR_DATETIME)
        cr_buf_putc(b, ' ');
    cr_buf_printf(b, "%02d:%02d:%02d", dt->hour, dt->minute, dt->second);
    if (dt->microsecond)
        cr_buf_printf(b, ".%06d", dt->microsecond);
    if (dt->has_utc_offset)
        put_offset(b, dt->utc_offset);
}

/* repr() of a date, time or datetime: the constructor call, its trailing
 * zero second and microsecond left out as Python leaves them out. */
static void put_datetime_repr(cr_buf *b, const cr_datetime *dt, cr_type type)
{
    if (type == CR_DATE) {
        cr_buf_printf(b, "datetime.date(%d, %d, %d)", dt->year, dt->month, dt->day);
        return;
    }
    if (type == CR_DATETIME)
        cr_buf_printf(b, "datetime.datetime(%d, %d, %d, ", dt->year, dt->month, dt->day);
    else
        cr_buf_puts(b, "datetime.time(");
    cr_buf_printf(b, "%d, %d", dt->hour, dt->minute);
    if (dt->second || dt->microsecond)
        cr_buf_printf(b, ", %d", dt->second);
    if (dt->microsecond)
        cr_buf_printf(b, ", %d", dt->microsecond);
    if (dt->has_utc_offset) {
        if (dt->utc_offset == 0) {
            cr_buf_puts(b, ", tzinfo=datetime.timezone.utc");
        } else {
            /* timedelta's repr: whole days (negative for a negative
             * offset), then the seconds left, 0..86399. */
            int days = dt->utc_offset < 0 ? -1 : 0;
            cr_buf_puts(b, ", tzinfo=datetime.timezone(datetime.timedelta(");
            if (days)
                cr_buf_printf(b, "days=-1, ");
            cr_buf_printf(b, "seconds=%d))", dt->utc_offset - days * 86400);
        }
    }
    cr_buf_putc(b, ')');
}

void cr_buf_put_repr(cr_buf *b, const cr_value *v)
{
    switch (v->type) {
    case CR_TEXT:
        cr_buf_put_pystr(b, v->v.s.ptr, v->v.s.len, false);
        break;
    case CR_NUMERIC:
        cr_buf_printf(b, "Decimal('%.*s')", (int)v->v.s.len, v->v.s.ptr);
        break;
    case CR_DATE:
    case CR_TIME:
    case CR_DATETIME:
        put_datetime_repr(b, &v->v.dt, v->type);
        break;
    default:
        cr_buf_put_str(b, v);
    }
}

void cr_buf_put_str(cr_buf *b, const cr_value *v)
{
    char tmp[24];
    switch (v->type) {
    case CR_NULL: cr_buf_puts(b, "None"); break;
    case CR_INT: cr_buf_append(b, tmp, (size_t)cr_format_int64(v->v.i, tmp)); break;
    case CR_DOUBLE: cr_buf_put_double(b, v->v.d); break;
    case CR_BOOL: cr_buf_puts(b, v->v.b ? "True" : "False"); break;
    case CR_TEXT:
    case CR_NUMERIC: cr_buf_append(b, v->v.s.ptr, v->v.s.len); break;
    case CR_BLOB: cr_buf_put_pystr(b, v->v.blob.ptr, v->v.blob.len, true); break;
    case CR_DATE:
    case CR_TIME:
    case CR_DATETIME: put_datetime_str(b, &v->v.dt, v->type); break;
    }
}

/* b's text into buf as snprintf would; its length, or -1 when it could not
 * be built. b is freed. */
int cr_buf_deliver(cr_buf *b, char *buf, size_t size)
{
    const char *s = cr_buf_cstr(b);
    int n = s && b->len <= (size_t)INT32_MAX ? (int)b->len : -1;
    if (n >= 0 && size) {
        size_t k = b->len < size ? b->len : size - 1;   /* text may hold a NUL */
        memcpy(buf, s, k);
        buf[k] = '\0';
    }
    cr_buf_free(b);
    return n;
}

static bool value_ok(const cr_value *v)
{
    if (v->type == CR_TEXT || v->type == CR_NUMERIC)
        return v->v.s.ptr || !v->v.s.len;
    if (v->type == CR_BLOB)
        return v->v.blob.ptr || !v->v.blob.len;
    return (unsigned)v->type <= CR_NUMERIC;
}

/* v put by put into buf, as snprintf does. */
static int format_value(const cr_value *v, char *buf, size_t size,
                        void (*put)(cr_buf *, const cr_value *))
{
    if (!v || (!buf && size) || !value_ok(v))
        return -1;
    cr_buf b;
    cr_buf_init(&b);
    put(&b, v);
    return cr_buf_deliver(&b, buf, size);
}

int cr_value_format(const cr_value *v, char *buf, size_t size)
{
    return format_value(v, buf, size, cr_buf_put_str);
}

int cr_value_repr(const cr_value *v, char *buf, size_t size)
{
    return format_value(v, buf, size, cr_buf_put_repr);
}
