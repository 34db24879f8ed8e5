/* fuzz_url.c — cr_create_engine on arbitrary URL text: no crash, no network, no password shown.
 *
 * Creating an engine must not connect (crucible.h): connect() and
 * getaddrinfo() are replaced here by functions that abort, so a PostgreSQL
 * or MySQL URL that reached the network would be a finding. An in-memory
 * SQLite engine is also connected to (one SELECT), since that touches no
 * file; a SQLite file URL is only parsed and checked. */
#include "fuzz.h"

#include "engine/engine.h"

#include <netdb.h>
#include <sys/socket.h>

int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
    (void)fd, (void)addr, (void)len;
    fuzz_fail("connect() called: creating an engine reached the network");
}

int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                struct addrinfo **res)
{
    (void)hints, (void)res;
    fuzz_fail("getaddrinfo(%s, %s) called: creating an engine resolved a host name",
              node ? node : "NULL", service ? service : "NULL");
}

/* The raw password of the URL text as the parser finds it (user:password@),
 * when the oracle below can judge it: long enough to mean something, not
 * percent-encoded, and nowhere else in the text. */
static bool password_span(const char *url, size_t *start, size_t *len)
{
    const char *sep = strstr(url, "://");
    if (!sep)
        return false;
    const char *p = sep + 3;
    size_t ulen = strcspn(p, ":/");
    if (p[ulen] != ':')
        return false;
    const char *at = strchr(p + ulen + 1, '@');
    if (!at)
        return false;
    *start = (size_t)(p + ulen + 1 - url);
    *len = (size_t)(at - (p + ulen + 1));
    if (*len < 6 || memchr(url + *start, '%', *len) || memchr(url + *start, '+', *len))
        return false;
    char *pw = strndup(url + *start, *len);
    const char *first = strstr(url, pw), *again = first ? strstr(first + 1, pw) : NULL;
    free(pw);
    return first == url + *start && !again;
}

/* What an engine made from url shows: its safe URL, or its error's message. */
static char *shown(const char *url)
{
    cr_error *err = NULL;
    cr_engine *e = cr_create_engine(url, NULL, &err);
    char *s = strdup(e ? cr_engine_url(e) : cr_error_message(err));
    cr_engine_free(e);
    cr_error_free(err);
    return s;
}

/* The password never appears in what is shown, unless the same text with the
 * password replaced shows it too (it is then part of a message's wording or
 * another component). */
static void check_password_hidden(const char *url, const char *text)
{
    size_t start, len;
    if (!password_span(url, &start, &len))
        return;
    char *pw = strndup(url + start, len);
    if (strstr(text, pw)) {
        size_t n = strlen(url);
        char *masked = malloc(n + 1);
        memcpy(masked, url, n + 1);
        memset(masked + start, 'Q', len);
        char *other = shown(masked);
        bool template = strstr(other, pw) != NULL;
        free(other);
        free(masked);
        if (!template)
            fuzz_fail("the password '%s' of '%s' is shown: %s", pw, url, text);
    }
    free(pw);
}

/* Connect to an in-memory SQLite engine whose URL sets no SQLite URI options
 * (with uri=true they could name another VFS, and so a file). */
static void try_memory_engine(cr_engine *e, const char *url)
{
    cr_url parsed;
    cr_error perr = {0};
    if (cr_url_parse(url, &parsed, &perr) != CR_OK)
        fuzz_fail("'%s' made an engine but does not parse: %s", url, perr.message);
    cr_error_clear(&perr);
    bool plain = cr_url_query(&parsed, "uri") == NULL;
    cr_url_free(&parsed);
    if (!plain || !e->memory_shared)
        return;
    cr_error *err = NULL;
    cr_conn *c = cr_engine_connect(e, &err);
    if (!c) {
        cr_error_free(err);
        return;
    }
    cr_result *r = cr_conn_execute(c, "SELECT 1", NULL);
    int64_t one = 0;
    FUZZ_CHECK(r && cr_result_scalar_int64(r, &one) == CR_OK && one == 1,
               "SELECT 1 on '%s' failed", url);
    cr_result_free(r);
    cr_conn_close(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *url = malloc(size + 1);
    memcpy(url, data, size);
    url[size] = '\0';   /* an embedded NUL ends the URL, as it would in C */

    cr_error *err = NULL;
    cr_engine *e = cr_create_engine(url, NULL, &err);
    if (!e) {
        FUZZ_CHECK(err && cr_error_class(err) != CR_OK, "no engine and no error for '%s'", url);
        const char *msg = cr_error_message(err);
        FUZZ_CHECK(msg && *msg, "an empty error message for '%s'", url);
        FUZZ_CHECK(cr_error_class_name(err) != NULL, "no class name");
        check_password_hidden(url, msg);
        cr_error_free(err);
    } else {
        FUZZ_CHECK(err == NULL, "an engine and an error for '%s'", url);
        cr_pool_status st;
        FUZZ_CHECK(cr_engine_pool_status(e, &st) == CR_OK && st.connects == 0 &&
                       st.checked_out == 0 && st.idle == 0,
                   "creating the engine for '%s' opened %ld connections", url, st.connects);
        const char *backend = cr_engine_backend(e);
        FUZZ_CHECK(backend && (!strcmp(backend, "sqlite") || !strcmp(backend, "postgresql") ||
                               !strcmp(backend, "mysql")),
                   "backend '%s'", backend ? backend : "NULL");
        const char *safe = cr_engine_url(e);
        FUZZ_CHECK(safe != NULL, "no URL for '%s'", url);
        check_password_hidden(url, safe);
        /* What is shown parses again (its password is "***"). */
        cr_url again;
        cr_error aerr = {0};
        if (cr_url_parse(safe, &again, &aerr) == CR_OK)
            cr_url_free(&again);
        cr_error_clear(&aerr);
        if (!strcmp(backend, "sqlite"))
            try_memory_engine(e, url);
        cr_engine_free(e);
    }
    free(url);
    return 0;
}
