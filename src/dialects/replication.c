/* replication.c — replication positions shared by the drivers: WAL LSNs (PostgreSQL) and GTID lists (MariaDB). */
#include "dialects/driver.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One hexadecimal half of an LSN: 1 to 8 digits. */
static bool hex_half(const char **p, uint32_t *out)
{
    uint64_t v = 0;
    int n = 0;
    for (const char *s = *p;; s++, n++) {
        int d = *s >= '0' && *s <= '9' ? *s - '0'
              : *s >= 'A' && *s <= 'F' ? *s - 'A' + 10
              : *s >= 'a' && *s <= 'f' ? *s - 'a' + 10 : -1;
        if (d < 0) {
            *p = s;
            break;
        }
        v = v * 16 + (uint64_t)d;
    }
    *out = (uint32_t)v;
    return n >= 1 && n <= 8;
}

cr_status cr_lsn_parse(const char *text, uint64_t *out, cr_error *err)
{
    const char *p = text;
    uint32_t hi, lo;
    if (!text || !hex_half(&p, &hi) || *p++ != '/' || !hex_half(&p, &lo) || *p)
        return cr_error_set(err, CR_ERR_ARGUMENT,
                            "'%s' is not a PostgreSQL WAL position (an LSN such as "
                            "'16/B374D848')", text ? text : "(null)");
    *out = (uint64_t)hi << 32 | lo;
    return CR_OK;
}

cr_status cr_lsn_merge(char *into, size_t size, const char *pos, cr_error *err)
{
    uint64_t a = 0, b = 0;
    cr_status st;
    if ((*into && (st = cr_lsn_parse(into, &a, err))) || (st = cr_lsn_parse(pos, &b, err)))
        return st;
    if (*into && a >= b)
        return CR_OK;
    if (strlen(pos) >= size)
        return cr_error_set(err, CR_ERR_ARGUMENT, "position '%s' is too long", pos);
    memcpy(into, pos, strlen(pos) + 1);
    return CR_OK;
}

/* A GTID list: domain-server-sequence, comma separated. */
typedef struct gtid {
    uint32_t domain, server;
    uint64_t seq;
} gtid;

#define MAX_DOMAINS 64

static bool number(const char **p, uint64_t max, uint64_t *out)
{
    if (**p < '0' || **p > '9')
        return false;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(*p, &end, 10);
    if (errno || v > max)
        return false;
    *p = end;
    *out = v;
    return true;
}

static cr_status gtid_parse(const char *text, gtid *g, size_t *n, cr_error *err)
{
    const char *p = text;
    *n = 0;
    if (!text)
        return cr_error_set(err, CR_ERR_ARGUMENT, "the GTID position is NULL");
    while (*p) {
        uint64_t d, s, q;
        if (*n == MAX_DOMAINS || !number(&p, UINT32_MAX, &d) || *p++ != '-' ||
            !number(&p, UINT32_MAX, &s) || *p++ != '-' || !number(&p, UINT64_MAX, &q) ||
            (*p && *p != ','))
            return cr_error_set(err, CR_ERR_ARGUMENT,
                                "'%s' is not a MariaDB GTID position (domain-server-sequence, "
                                "comma separated, such as '0-1-42')", text);
        g[(*n)++] = (gtid){(uint32_t)d, (uint32_t)s, q};
        if (*p == ',' && !*++p)
            return cr_error_set(err, CR_ERR_ARGUMENT,
                                "'%s' is not a MariaDB GTID position: it ends with a comma",
                                text);
    }
    return CR_OK;
}

cr_status cr_gtid_check(const char *text, cr_error *err)
{
    gtid g[MAX_DOMAINS];
    size_t n;
    return gtid_parse(text, g, &n, err);
}

cr_status cr_gtid_merge(char *into, size_t size, const char *pos, cr_error *err)
{
    gtid a[2 * MAX_DOMAINS], b[MAX_DOMAINS];
    size_t na, nb;
    cr_status st;
    if ((st = gtid_parse(into, a, &na, err)) || (st = gtid_parse(pos, b, &nb, err)))
        return st;
    /* Per domain, the later transaction (a domain's sequence only grows). */
    for (size_t j = 0; j < nb; j++) {
        size_t i = 0;
        while (i < na && a[i].domain != b[j].domain)
            i++;
        if (i == na)
            a[na++] = b[j];
        else if (b[j].seq > a[i].seq)
            a[i] = b[j];
    }
    if (na > MAX_DOMAINS)
        return cr_error_set(err, CR_ERR_ARGUMENT, "more than %d GTID domains", MAX_DOMAINS);
    char out[CR_POSITION_MAX];
    size_t len = 0;
    for (size_t i = 0; i < na; i++) {
        int w = snprintf(out + len, sizeof out - len, "%s%" PRIu32 "-%" PRIu32 "-%" PRIu64,
                         i ? "," : "", a[i].domain, a[i].server, a[i].seq);
        if (w < 0 || (size_t)w >= sizeof out - len || len + (size_t)w >= size)
            return cr_error_set(err, CR_ERR_ARGUMENT,
                                "the merged GTID position is longer than %zu bytes", size - 1);
        len += (size_t)w;
    }
    memcpy(into, out, len + 1);
    return CR_OK;
}
