/* snapshot.h — a database's schema (and rows) as text through the Inspector, for suites that compare a schema before and after. */
#ifndef CR_TEST_SNAPSHOT_H
#define CR_TEST_SNAPSHOT_H

#include <crucible.h>

typedef struct text {
    char buf[1 << 15];
    size_t len;
} text;

/* Append to t, as printf; fails the test when t is full. */
void put(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Every table whose name starts with prefix: columns (in their order, or
 * by name when by_name: a column a downgrade adds back comes last), primary
 * key, foreign keys, indexes and unique constraints, and the rows (ordered
 * by id) when with_rows. */
void snapshot_of(cr_engine *engine, const char *prefix, text *t, bool with_rows, bool by_name);
/* Fail the test, showing both, when a and b differ. */
void same_text(const text *a, const text *b, const char *what);

#endif
