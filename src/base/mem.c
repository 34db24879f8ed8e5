/* mem.c — the single allocation path of the library, with a failure hook for tests. */
#include "base/base.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* Allocations left before one fails; negative means never. Atomic because
 * engines are shared between threads. */
static _Atomic long fail_countdown = -1;

void cr_mem_fail_after(long n) { atomic_store(&fail_countdown, n); }

bool cr_mem_fail_disarm(void) { return atomic_exchange(&fail_countdown, -1) >= 0; }

static bool should_fail(void)
{
    long n = atomic_load(&fail_countdown);
    if (n < 0)
        return false;
    /* Count down; the allocation that finds zero fails and disables the hook. */
    while (n >= 0) {
        if (atomic_compare_exchange_weak(&fail_countdown, &n, n - 1))
            return n == 0;
    }
    return false;
}

void *cr_malloc(size_t n)
{
    if (should_fail())
        return NULL;
    return malloc(n ? n : 1);
}

void *cr_calloc(size_t count, size_t n)
{
    if (should_fail())
        return NULL;
    return calloc(count ? count : 1, n ? n : 1);
}

void *cr_realloc(void *p, size_t n)
{
    if (should_fail())
        return NULL;
    return realloc(p, n ? n : 1);
}

void cr_free(void *p) { free(p); }

char *cr_strndup(const char *s, size_t n)
{
    char *d = cr_malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

char *cr_strdup(const char *s) { return s ? cr_strndup(s, strlen(s)) : NULL; }
