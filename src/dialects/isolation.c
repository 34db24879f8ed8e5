/* isolation.c — isolation level names shared by the dialects. */
#include "dialects/driver.h"

#include <ctype.h>
#include <string.h>

const char *cr_isolation_canonical(const char *level)
{
    static const char *const names[] = {
        "SERIALIZABLE", "REPEATABLE READ", "READ COMMITTED", "READ UNCOMMITTED", "AUTOCOMMIT",
    };
    if (!level)
        return NULL;
    for (size_t i = 0; i < CR_ARRAY_LEN(names); i++) {
        const char *a = level, *b = names[i];
        /* Case-insensitive; '_' stands for ' ' as in SQLAlchemy's spellings. */
        while (*a && *b && (toupper((unsigned char)*a) == *b || (*a == '_' && *b == ' ')))
            a++, b++;
        if (!*a && !*b)
            return names[i];
    }
    return NULL;
}
