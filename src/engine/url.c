/* url.c — database URLs parsed as SQLAlchemy parses them, and rendered without the password. */
#include "dialects/driver.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Percent-decode s[0..n); plus_is_space for query strings. NULL when out of
 * memory; a '%' not followed by two hex digits is kept as it is, as Python's
 * unquote does. */
static char *decode(const char *s, size_t n, bool plus_is_space)
{
    char *out = cr_malloc(n + 1), *o = out;
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
            *o++ = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        } else if (plus_is_space && s[i] == '+') {
            *o++ = ' ';
        } else {
            *o++ = s[i];
        }
    }
    *o = '\0';
    return out;
}

void cr_url_free(cr_url *u)
{
    if (!u)
        return;
    cr_free(u->backend);
    cr_free(u->driver);
    cr_free(u->username);
    if (u->password) {
        /* Do not leave the password lying in freed memory. */
        volatile char *p = u->password;
        while (*p)
            *p++ = '\0';
        cr_free(u->password);
    }
    for (size_t i = 0; i < u->nhosts; i++)
        cr_free(u->hosts[i].name);
    cr_free(u->hosts);
    cr_free(u->database);
    for (size_t i = 0; i < u->nquery; i++) {
        cr_free(u->query_keys[i]);
        cr_free(u->query_values[i]);
    }
    cr_free(u->query_keys);
    cr_free(u->query_values);
    memset(u, 0, sizeof *u);
}

const char *cr_url_query(const cr_url *u, const char *key)
{
    for (size_t i = 0; i < u->nquery; i++)
        if (strcmp(u->query_keys[i], key) == 0)
            return u->query_values[i];
    return NULL;
}

/* Backends and the driver names accepted after '+'. Python URLs name Python
 * drivers; each backend here has one C client, so those names select it. */
static const struct {
    const char *scheme, *backend;
    const char *drivers[7];
} backends[] = {
    {"sqlite", "sqlite", {"pysqlite", "sqlite3", NULL}},
    {"postgresql", "postgresql", {"libpq", "psycopg", "psycopg2", NULL}},
    {"mysql", "mysql", {"mariadb", "mariadbconnector", "mysqldb", "pymysql", "mysqlconnector", NULL}},
    {"mariadb", "mysql", {"mariadb", "mariadbconnector", "mysqldb", "pymysql", "mysqlconnector", NULL}},
};

static cr_status set_backend(cr_url *u, const char *name, size_t n, cr_error *err)
{
    const char *plus = memchr(name, '+', n);
    size_t blen = plus ? (size_t)(plus - name) : n;
    for (size_t i = 0; i < CR_ARRAY_LEN(backends); i++) {
        if (strlen(backends[i].scheme) != blen || memcmp(backends[i].scheme, name, blen) != 0)
            continue;
        if (plus) {
            size_t dlen = n - blen - 1;
            bool known = false;
            for (const char *const *d = backends[i].drivers; *d; d++)
                known |= strlen(*d) == dlen && memcmp(*d, plus + 1, dlen) == 0;
            if (!known) {
                char list[160] = "";
                for (const char *const *d = backends[i].drivers; *d; d++)
                    snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s",
                             d == backends[i].drivers ? "" : ", ", *d);
                return cr_error_set(err, CR_ERR_ARGUMENT,
                                    "unknown driver '%.*s' for backend '%s' (known: %s)",
                                    (int)dlen, plus + 1, backends[i].scheme, list);
            }
            if (!(u->driver = cr_strndup(plus + 1, dlen)))
                return cr_error_oom(err);
        }
        if (!(u->backend = cr_strdup(backends[i].backend)))
            return cr_error_oom(err);
        return CR_OK;
    }
    return cr_error_set(err, CR_ERR_ARGUMENT,
                        "unknown database backend '%.*s' in URL (known: sqlite, "
                        "postgresql, mysql, mariadb)", (int)blen, name);
}

static cr_status parse_query(cr_url *u, const char *q, cr_error *err)
{
    size_t count = 1;
    for (const char *p = q; *p; p++)
        count += *p == '&';
    u->query_keys = cr_calloc(count, sizeof(char *));
    u->query_values = cr_calloc(count, sizeof(char *));
    if (!u->query_keys || !u->query_values)
        return cr_error_oom(err);
    while (*q) {
        const char *amp = strchr(q, '&');
        size_t n = amp ? (size_t)(amp - q) : strlen(q);
        if (n > 0) {
            const char *eq = memchr(q, '=', n);
            if (!eq)
                return cr_error_set(err, CR_ERR_ARGUMENT,
                                    "URL query option '%.*s' has no value (write key=value)",
                                    (int)n, q);
            char *k = decode(q, (size_t)(eq - q), true);
            char *v = decode(eq + 1, n - (size_t)(eq - q) - 1, true);
            u->query_keys[u->nquery] = k;
            u->query_values[u->nquery] = v;
            u->nquery++;
            if (!k || !v)
                return cr_error_oom(err);
            if (!*k)
                return cr_error_set(err, CR_ERR_ARGUMENT, "URL query option with an empty name");
        }
        q += n + (amp ? 1 : 0);
    }
    return CR_OK;
}

cr_status cr_url_parse_host(const char *spec, size_t len, cr_url_host *out, cr_error *err)
{
    out->name = NULL;
    out->port = 0;
    const char *end = spec + len, *p = spec, *name = spec;
    size_t nlen;
    if (len > 0 && *spec == '[') {
        const char *close = memchr(spec, ']', len);
        if (!close)
            return cr_error_set(err, CR_ERR_ARGUMENT,
                                "URL host '%.*s' has an unterminated '['", (int)len, spec);
        name = spec + 1;
        nlen = (size_t)(close - name);
        p = close + 1;
        if (p < end && *p != ':')
            return cr_error_set(err, CR_ERR_ARGUMENT,
                                "URL host '%.*s': expected ':port' after ']'", (int)len, spec);
    } else {
        const char *colon = memchr(spec, ':', len);
        nlen = colon ? (size_t)(colon - spec) : len;
        p = spec + nlen;
    }
    if (p < end) {      /* at ':' */
        p++;
        size_t plen = (size_t)(end - p);
        int64_t port = 0;
        /* A bare IPv6 address lands here too: its colons make a bad port. */
        if (plen > 0 && (!cr_parse_int64(p, plen, &port) || port < 1 || port > 65535))
            return cr_error_set(err, CR_ERR_ARGUMENT,
                                "URL port '%.*s' is not a number from 1 to 65535%s",
                                (int)(plen > 20 ? 20 : plen), p,
                                memchr(p, ':', plen) ? " (write an IPv6 address in brackets: "
                                                       "[::1]:5432)" : "");
        out->port = (int)port;
    }
    if (nlen > 0 && !(out->name = cr_strndup(name, nlen)))
        return cr_error_oom(err);
    return CR_OK;
}

/* The authority's hosts, s[0..n): none, one, or a comma-separated list. */
static cr_status parse_hosts(cr_url *u, const char *s, size_t n, cr_error *err)
{
    if (n == 0)
        return CR_OK;
    size_t count = 1;
    for (size_t i = 0; i < n; i++)
        count += s[i] == ',';
    if (!(u->hosts = cr_calloc(count, sizeof *u->hosts)))
        return cr_error_oom(err);
    const char *p = s, *end = s + n;
    for (size_t i = 0; i < count; i++) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        size_t len = comma ? (size_t)(comma - p) : (size_t)(end - p);
        if (count > 1 && len == 0)
            return cr_error_set(err, CR_ERR_ARGUMENT,
                                "URL host list '%.*s' has an empty entry (write "
                                "host1:port1,host2:port2)", (int)(n > 200 ? 200 : n), s);
        cr_status st = cr_url_parse_host(p, len, &u->hosts[u->nhosts], err);
        if (st)
            return st;
        u->nhosts++;
        if (count > 1 && !u->hosts[u->nhosts - 1].name)
            return cr_error_set(err, CR_ERR_ARGUMENT,
                                "URL host list '%.*s' has an entry with a port but no host",
                                (int)(n > 200 ? 200 : n), s);
        p += len + (comma ? 1 : 0);
    }
    u->host = u->hosts[0].name;
    u->port = u->hosts[0].port;
    return CR_OK;
}

static cr_status parse(const char *s, cr_url *u, cr_error *err)
{
    const char *sep = strstr(s, "://");
    size_t slen = sep ? (size_t)(sep - s) : 0;
    for (size_t i = 0; i < slen; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '+')
            slen = 0;
    if (!sep || slen == 0)
        return cr_error_set(err, CR_ERR_ARGUMENT,
                            "could not parse database URL: expected "
                            "backend://[user[:password]@]host[:port]/database or sqlite:///path");
    cr_status st = set_backend(u, s, slen, err);
    if (st)
        return st;
    const char *p = sep + 3;

    /* user[:password]@ — as SQLAlchemy's pattern: the user stops at ':' or '/',
     * the password at the first '@' after it. */
    size_t ulen = strcspn(p, ":/");
    const char *at = NULL;
    if (p[ulen] == ':' && (at = strchr(p + ulen + 1, '@')) != NULL) {
        if (!(u->username = decode(p, ulen, false)) ||
            !(u->password = decode(p + ulen + 1, (size_t)(at - p - ulen - 1), false)))
            return cr_error_oom(err);
        p = at + 1;
    } else {
        const char *last = NULL;
        for (const char *q = p; q < p + ulen; q++)
            if (*q == '@')
                last = q;
        if (last) {
            if (!(u->username = decode(p, (size_t)(last - p), false)))
                return cr_error_oom(err);
            p = last + 1;
        }
    }

    /* host[:port], [ipv6][:port], or several of them separated by commas
     * (libpq's multi-host form, for failover). */
    st = parse_hosts(u, p, strcspn(p, "/?"), err);
    if (st)
        return st;
    p += strcspn(p, "/?");
    if (*p == '/') {
        p++;
        size_t dlen = strcspn(p, "?");
        if (!(u->database = cr_strndup(p, dlen)))
            return cr_error_oom(err);
        p += dlen;
    }
    if (*p == '?')
        return parse_query(u, p + 1, err);
    if (*p)
        return cr_error_set(err, CR_ERR_ARGUMENT, "could not parse database URL near '%.20s'", p);
    return CR_OK;
}

cr_status cr_url_parse(const char *s, cr_url *u, cr_error *err)
{
    memset(u, 0, sizeof *u);
    if (!s)
        return cr_error_set(err, CR_ERR_ARGUMENT, "database URL is NULL");
    cr_status st = parse(s, u, err);
    if (st)
        cr_url_free(u);
    return st;
}

/* Percent-encode what would otherwise change how the URL reads. */
static void put_encoded(cr_buf *b, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (isalnum(c) || strchr("-._~", c))
            cr_buf_putc(b, (char)c);
        else
            cr_buf_printf(b, "%%%02X", c);
    }
}

char *cr_url_render_safe(const cr_url *u)
{
    cr_buf b;
    cr_buf_init(&b);
    cr_buf_puts(&b, u->backend);
    if (u->driver)
        cr_buf_printf(&b, "+%s", u->driver);
    cr_buf_puts(&b, "://");
    if (u->username) {
        put_encoded(&b, u->username);
        if (u->password)
            cr_buf_puts(&b, ":***");
        cr_buf_putc(&b, '@');
    }
    for (size_t i = 0; i < u->nhosts; i++) {
        const char *name = u->hosts[i].name;
        if (i)
            cr_buf_putc(&b, ',');
        if (name)
            cr_buf_printf(&b, strchr(name, ':') ? "[%s]" : "%s", name);
        if (u->hosts[i].port)
            cr_buf_printf(&b, ":%d", u->hosts[i].port);
    }
    if (u->database)
        cr_buf_printf(&b, "/%s", u->database);
    for (size_t i = 0; i < u->nquery; i++) {
        cr_buf_putc(&b, i ? '&' : '?');
        put_encoded(&b, u->query_keys[i]);
        cr_buf_putc(&b, '=');
        /* A password may also travel as an option. */
        if (strcmp(u->query_keys[i], "password") == 0)
            cr_buf_puts(&b, "***");
        else
            put_encoded(&b, u->query_values[i]);
    }
    if (b.oom) {
        cr_buf_free(&b);
        return NULL;
    }
    return b.data ? b.data : cr_strdup("");
}

cr_status cr_url_set_database(cr_url *u, const char *database, cr_error *err)
{
    char *copy = cr_strdup(database);
    if (!copy)
        return cr_error_oom(err);
    cr_free(u->database);
    u->database = copy;
    return CR_OK;
}

cr_status cr_url_set_query(cr_url *u, const char *key, const char *value, cr_error *err)
{
    char *v = cr_strdup(value);
    if (!v)
        return cr_error_oom(err);
    for (size_t i = 0; i < u->nquery; i++) {
        if (strcmp(u->query_keys[i], key) == 0) {
            cr_free(u->query_values[i]);
            u->query_values[i] = v;
            return CR_OK;
        }
    }
    char *k = cr_strdup(key);
    char **keys = k ? cr_realloc(u->query_keys, sizeof(char *) * (u->nquery + 1)) : NULL;
    if (keys)
        u->query_keys = keys;
    char **vals = keys ? cr_realloc(u->query_values, sizeof(char *) * (u->nquery + 1)) : NULL;
    if (!vals) {
        cr_free(k);
        cr_free(v);
        return cr_error_oom(err);
    }
    u->query_values = vals;
    u->query_keys[u->nquery] = k;
    u->query_values[u->nquery] = v;
    u->nquery++;
    return CR_OK;
}

char *cr_url_take_query(cr_url *u, const char *key)
{
    char *value = NULL;
    size_t kept = 0;
    for (size_t i = 0; i < u->nquery; i++) {
        if (strcmp(u->query_keys[i], key) == 0) {
            cr_free(u->query_keys[i]);
            cr_free(value);
            value = u->query_values[i];
            continue;
        }
        u->query_keys[kept] = u->query_keys[i];
        u->query_values[kept] = u->query_values[i];
        kept++;
    }
    u->nquery = kept;
    return value;
}

bool cr_url_parse_flag(const char *v, bool *out)
{
    static const char *const yes[] = {"1", "true", "on", "yes"}, *const no[] = {"0", "false",
                                                                               "off", "no"};
    for (size_t i = 0; v && i < CR_ARRAY_LEN(yes); i++) {
        if (strcasecmp(v, yes[i]) == 0 || strcasecmp(v, no[i]) == 0) {
            *out = strcasecmp(v, yes[i]) == 0;
            return true;
        }
    }
    return false;
}
