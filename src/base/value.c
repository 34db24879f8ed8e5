/* value.c — typed values: constructors, names, integer and date/time text forms; the monotonic clock. */
#include "base/base.h"

#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

/* The clock's date and time, broken down locally or in UTC. */
static cr_value clock_now(bool utc)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    time_t secs = tv.tv_sec;
    if (utc)
        gmtime_r(&secs, &tm);
    else
        localtime_r(&secs, &tm);
    return cr_val_datetime(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                           tm.tm_min, tm.tm_sec, (int)tv.tv_usec);
}

cr_value cr_val_now(void)
{
    return clock_now(false);
}

cr_value cr_val_utcnow(void)
{
    return clock_now(true);
}

const char *cr_type_name(cr_type type)
{
    static const char *const names[] = {
        [CR_NULL] = "NULL",   [CR_INT] = "INTEGER",   [CR_DOUBLE] = "DOUBLE",
        [CR_BOOL] = "BOOLEAN", [CR_TEXT] = "TEXT",    [CR_BLOB] = "BLOB",
        [CR_DATE] = "DATE",   [CR_TIME] = "TIME",     [CR_DATETIME] = "DATETIME",
        [CR_NUMERIC] = "NUMERIC",
    };
    if ((unsigned)type < CR_ARRAY_LEN(names))
        return names[type];
    return "UNKNOWN";
}

int cr_format_int64(int64_t v, char *buf)
{
    char tmp[24];
    int n = 0;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    int len = 0;
    if (v < 0)
        buf[len++] = '-';
    while (n)
        buf[len++] = tmp[--n];
    buf[len] = '\0';
    return len;
}

bool cr_parse_int64(const char *s, size_t len, int64_t *out)
{
    size_t i = 0;
    bool neg = false;
    if (i < len && (s[i] == '-' || s[i] == '+'))
        neg = s[i++] == '-';
    if (i == len)
        return false;
    uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    uint64_t u = 0;
    for (; i < len; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (d > 9)
            return false;
        if (u > (limit - d) / 10)
            return false;
        u = u * 10 + d;
    }
    *out = neg ? (int64_t)(0 - u) : (int64_t)u;
    return true;
}

static bool json_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

bool cr_json_is_null(const char *s, size_t len)
{
    while (len && json_space(s[0]))
        s++, len--;
    while (len && json_space(s[len - 1]))
        len--;
    return len == 4 && memcmp(s, "null", 4) == 0;
}

int cr_format_utc_offset(int offset, char *out)
{
    long long off = offset;
    char sign = off < 0 ? '-' : '+';
    if (off < 0)
        off = -off;
    int n = snprintf(out, CR_OFFSET_TEXT, "%c%02lld:%02lld", sign, off / 3600, off / 60 % 60);
    if (off % 60)
        n += snprintf(out + n, CR_OFFSET_TEXT - (size_t)n, ":%02lld", off % 60);
    return n;
}

int cr_datetime_format(const cr_datetime *dt, cr_type type, char *buf, size_t size)
{
    /* Wide enough for any int in every field, so nothing here overflows; a
     * value out of calendar range is rejected before it is bound
     * (cr_datetime_check), not here. */
    char tmp[160];
    int n;
    if (!dt || (!buf && size) || (type != CR_DATE && type != CR_TIME && type != CR_DATETIME))
        return -1;
    if (type == CR_DATE)
        n = snprintf(tmp, sizeof tmp, "%04d-%02d-%02d", dt->year, dt->month, dt->day);
    else if (type == CR_TIME)
        n = snprintf(tmp, sizeof tmp, "%02d:%02d:%02d.%06d", dt->hour, dt->minute, dt->second,
                     dt->microsecond);
    else
        n = snprintf(tmp, sizeof tmp, "%04d-%02d-%02d %02d:%02d:%02d.%06d", dt->year, dt->month,
                     dt->day, dt->hour, dt->minute, dt->second, dt->microsecond);
    if (n > 0 && type != CR_DATE && dt->has_utc_offset)
        n += cr_format_utc_offset(dt->utc_offset, tmp + n);
    if (size)
        snprintf(buf, size, "%s", tmp);
    return n;
}

static int days_in_month(int year, int month)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : days[month - 1];
}

cr_status cr_datetime_check(const cr_datetime *dt, cr_type type, char *why, size_t size)
{
    if (type == CR_DATE || type == CR_DATETIME) {
        if (dt->year < 1 || dt->year > 9999) {
            snprintf(why, size, "year %d is out of range 1..9999", dt->year);
            return CR_ERR_DATA;
        }
        if (dt->month < 1 || dt->month > 12) {
            snprintf(why, size, "month %d is out of range 1..12", dt->month);
            return CR_ERR_DATA;
        }
        if (dt->day < 1 || dt->day > days_in_month(dt->year, dt->month)) {
            snprintf(why, size, "day %d is out of range for %04d-%02d", dt->day, dt->year,
                     dt->month);
            return CR_ERR_DATA;
        }
    }
    if (type == CR_TIME || type == CR_DATETIME) {
        if (dt->hour < 0 || dt->hour > 23 || dt->minute < 0 || dt->minute > 59 ||
            dt->second < 0 || dt->second > 59 || dt->microsecond < 0 ||
            dt->microsecond > 999999) {
            snprintf(why, size, "time %d:%d:%d.%d is out of range", dt->hour, dt->minute,
                     dt->second, dt->microsecond);
            return CR_ERR_DATA;
        }
        if (dt->has_utc_offset && (dt->utc_offset <= -86400 || dt->utc_offset >= 86400)) {
            snprintf(why, size, "UTC offset %d s is not within a day", dt->utc_offset);
            return CR_ERR_DATA;
        }
    }
    return CR_OK;
}

static bool decimal_digits(const char **p, const char *end)
{
    const char *start = *p;
    while (*p < end && **p >= '0' && **p <= '9')
        ++*p;
    return *p > start;
}

/* The n bytes at p spell word (lower case) in any case. */
static bool same_word(const char *p, size_t n, const char *word)
{
    size_t i = 0;
    for (; i < n && word[i]; i++)
        if ((p[i] | 0x20) != word[i])
            return false;
    return i == n && !word[i];
}

/* Whether the n bytes at s are a decimal number as Python's Decimal reads
 * one: a sign, digits with a point, an exponent; or NaN, Infinity, Inf. */
static bool is_decimal(const char *s, size_t n)
{
    const char *p = s, *end = s + n;
    if (p < end && (*p == '+' || *p == '-'))
        p++;
    if (same_word(p, (size_t)(end - p), "nan") || same_word(p, (size_t)(end - p), "inf") ||
        same_word(p, (size_t)(end - p), "infinity"))
        return true;
    bool whole = decimal_digits(&p, end), part = false;
    if (p < end && *p == '.') {
        p++;
        part = decimal_digits(&p, end);
    }
    if (!whole && !part)
        return false;
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        if (!decimal_digits(&p, end))
            return false;
    }
    return p == end;
}

cr_status cr_value_check(const cr_value *v, char *why, size_t size)
{
    switch (v->type) {
    case CR_NULL: case CR_INT: case CR_DOUBLE: case CR_BOOL:
        return CR_OK;
    case CR_TEXT: case CR_NUMERIC:
        if (!v->v.s.ptr && v->v.s.len) {
            snprintf(why, size, "a %s value with a NULL pointer and length %zu",
                     cr_type_name(v->type), v->v.s.len);
            return CR_ERR_ARGUMENT;
        }
        if (v->type == CR_NUMERIC && !is_decimal(v->v.s.ptr, v->v.s.len)) {
            snprintf(why, size, "NUMERIC value '%.*s' is not a decimal number (digits, with a "
                     "sign, a point and an exponent if any)", (int)(v->v.s.len > 40 ? 40 :
                     v->v.s.len), v->v.s.ptr ? v->v.s.ptr : "");
            return CR_ERR_ARGUMENT;
        }
        return CR_OK;
    case CR_BLOB:
        if (!v->v.blob.ptr && v->v.blob.len) {
            snprintf(why, size, "a BLOB value with a NULL pointer and length %zu",
                     v->v.blob.len);
            return CR_ERR_ARGUMENT;
        }
        return CR_OK;
    case CR_DATE: case CR_TIME: case CR_DATETIME:
        return cr_datetime_check(&v->v.dt, v->type, why, size);
    }
    snprintf(why, size, "no valid type (%d)", (int)v->type);
    return CR_ERR_ARGUMENT;
}

/* Days since 1970-01-01 of a proleptic Gregorian date, and back (Howard
 * Hinnant's days_from_civil / civil_from_days). */
static long long days_from_civil(long long y, int m, int d)
{
    y -= m <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    long long yoe = y - era * 400;
    long long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(long long z, cr_datetime *dt)
{
    z += 719468;
    long long era = (z >= 0 ? z : z - 146096) / 146097;
    long long doe = z - era * 146097;
    long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long long mp = (5 * doy + 2) / 153;
    dt->day = (int)(doy - (153 * mp + 2) / 5 + 1);
    dt->month = (int)(mp < 10 ? mp + 3 : mp - 9);
    dt->year = (int)(yoe + era * 400 + (dt->month <= 2));
}

cr_status cr_datetime_to_utc(cr_datetime *dt, cr_type type)
{
    if (!dt->has_utc_offset)
        return CR_OK;
    long long secs = (long long)dt->hour * 3600 + dt->minute * 60 + dt->second -
                     dt->utc_offset;
    long long day = 0;
    if (type == CR_DATETIME)
        day = days_from_civil(dt->year, dt->month, dt->day);
    /* Floor division: a negative time of day belongs to the day before. */
    long long shift = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
    secs -= shift * 86400;
    cr_datetime out = *dt;
    if (type == CR_DATETIME) {
        civil_from_days(day + shift, &out);
        if (out.year < 1 || out.year > 9999)
            return CR_ERR_DATA;
    }
    out.hour = (int)(secs / 3600);
    out.minute = (int)(secs / 60 % 60);
    out.second = (int)(secs % 60);
    out.utc_offset = 0;
    out.has_utc_offset = false;
    *dt = out;
    return CR_OK;
}

/* Reads exactly ndigits digits at *p. */
static bool digits(const char **p, const char *end, int ndigits, int *out)
{
    int v = 0;
    for (int i = 0; i < ndigits; i++) {
        if (*p >= end || (unsigned)(**p - '0') > 9)
            return false;
        v = v * 10 + (**p - '0');
        (*p)++;
    }
    *out = v;
    return true;
}

static bool parse_date(const char **p, const char *end, cr_datetime *dt)
{
    return digits(p, end, 4, &dt->year) && *p < end && *(*p)++ == '-' &&
           digits(p, end, 2, &dt->month) && *p < end && *(*p)++ == '-' &&
           digits(p, end, 2, &dt->day) && dt->month >= 1 && dt->month <= 12 &&
           dt->day >= 1 && dt->day <= days_in_month(dt->year, dt->month);
}

static bool parse_time(const char **p, const char *end, cr_datetime *dt)
{
    if (!digits(p, end, 2, &dt->hour) || *p >= end || *(*p)++ != ':' ||
        !digits(p, end, 2, &dt->minute))
        return false;
    if (*p < end && **p == ':') {
        (*p)++;
        if (!digits(p, end, 2, &dt->second))
            return false;
        if (*p < end && **p == '.') {
            (*p)++;
            int us = 0, n = 0;
            while (*p < end && (unsigned)(**p - '0') <= 9) {
                if (n < 6)
                    us = us * 10 + (**p - '0');
                n++;
                (*p)++;
            }
            if (n == 0)
                return false;
            for (; n < 6; n++)
                us *= 10;
            dt->microsecond = us;
        }
    }
    if (*p < end && (**p == 'Z' || **p == '+' || **p == '-')) {
        char sign = *(*p)++;
        int hh = 0, mm = 0, ss = 0;
        if (sign != 'Z') {
            if (!digits(p, end, 2, &hh))
                return false;
            if (*p < end && **p == ':')
                (*p)++;
            if (*p < end && !digits(p, end, 2, &mm))
                return false;
            if (*p < end && **p == ':')   /* PostgreSQL prints odd historic offsets */
                (*p)++;
            if (*p < end && !digits(p, end, 2, &ss))
                return false;
        }
        /* Within a day, as the formatter writes it back (+HH:MM[:SS]). */
        if (hh > 23 || mm > 59 || ss > 59)
            return false;
        int off = hh * 3600 + mm * 60 + ss;
        dt->utc_offset = sign == '-' ? -off : off;
        dt->has_utc_offset = true;
    }
    return dt->hour <= 24 && dt->minute <= 59 && dt->second <= 60;
}

cr_status cr_datetime_parse(const char *text, size_t len, cr_datetime *out, cr_type *type)
{
    if (!text || !out)
        return CR_ERR_ARGUMENT;
    cr_datetime dt = {0};
    const char *p = text, *end = text + len;
    cr_type kind;
    if (len >= 5 && p[2] == ':') {
        kind = CR_TIME;
        if (!parse_time(&p, end, &dt))
            return CR_ERR_DATA;
    } else {
        if (!parse_date(&p, end, &dt))
            return CR_ERR_DATA;
        kind = CR_DATE;
        if (p < end && (*p == ' ' || *p == 'T')) {
            p++;
            kind = CR_DATETIME;
            if (!parse_time(&p, end, &dt))
                return CR_ERR_DATA;
        }
    }
    if (p != end)
        return CR_ERR_DATA;
    *out = dt;
    if (type)
        *type = kind;
    return CR_OK;
}

double cr_now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
