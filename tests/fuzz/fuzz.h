/* fuzz.h — what the libFuzzer targets share: a failed oracle aborts with a message. */
#ifndef CRUCIBLE_FUZZ_H
#define CRUCIBLE_FUZZ_H

#include <crucible.h>

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An oracle failed: say which and how, then abort so that libFuzzer keeps
 * the input as a crash. */
static inline __attribute__((noreturn, format(printf, 1, 2))) void fuzz_fail(const char *fmt,
                                                                             ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("\n*** fuzz oracle failed: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs("\n", stderr);
    va_end(ap);
    abort();
}

#define FUZZ_CHECK(cond, ...)      \
    do {                           \
        if (!(cond))               \
            fuzz_fail(__VA_ARGS__); \
    } while (0)

/* Bytes read from the front of the input, zeros once it is used up. */
typedef struct fuzz_input {
    const uint8_t *p;
    size_t n;
} fuzz_input;

static inline unsigned fuzz_byte(fuzz_input *in)
{
    if (!in->n)
        return 0;
    in->n--;
    return *in->p++;
}

static inline bool fuzz_more(const fuzz_input *in) { return in->n > 0; }

#endif /* CRUCIBLE_FUZZ_H */
