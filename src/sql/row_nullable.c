/* row_nullable.c — typed column reads that report a NULL instead of failing on it. */
#include "crucible.h"

/* Whether the value the state of cr_row_is_null_* describes is NULL, told
 * through is_null when the caller gave it. A bad column (-1) is not NULL:
 * the typed getter then reports it. */
static bool reported_null(int state, bool *is_null)
{
    if (!is_null)
        return false;
    *is_null = state == 1;
    return *is_null;
}

/* The _at, _named and _column forms of one getter: when the value is NULL,
 * report it and leave *out alone; else read it as the getter does. */
#define OR_NULL(get, T)                                                                   \
    cr_status get##_or_null_at(const cr_row *row, int col, T out, bool *is_null)           \
    {                                                                                     \
        return reported_null(cr_row_is_null_at(row, col), is_null)                        \
                   ? CR_OK : get##_at(row, col, out);                                     \
    }                                                                                     \
    cr_status get##_or_null_named(const cr_row *row, const char *col, T out,              \
                                  bool *is_null)                                          \
    {                                                                                     \
        return reported_null(cr_row_is_null_named(row, col), is_null)                     \
                   ? CR_OK : get##_named(row, col, out);                                  \
    }                                                                                     \
    cr_status get##_or_null_column(const cr_row *row, const cr_column *col, T out,        \
                                   bool *is_null)                                         \
    {                                                                                     \
        return reported_null(cr_row_is_null_column(row, col), is_null)                    \
                   ? CR_OK : get##_column(row, col, out);                                 \
    }

/* The same for the getters that also give a length. */
#define OR_NULL_LEN(get, T)                                                               \
    cr_status get##_or_null_at(const cr_row *row, int col, T out, size_t *len,            \
                               bool *is_null)                                             \
    {                                                                                     \
        return reported_null(cr_row_is_null_at(row, col), is_null)                        \
                   ? CR_OK : get##_at(row, col, out, len);                                \
    }                                                                                     \
    cr_status get##_or_null_named(const cr_row *row, const char *col, T out, size_t *len, \
                                  bool *is_null)                                          \
    {                                                                                     \
        return reported_null(cr_row_is_null_named(row, col), is_null)                     \
                   ? CR_OK : get##_named(row, col, out, len);                             \
    }                                                                                     \
    cr_status get##_or_null_column(const cr_row *row, const cr_column *col, T out,        \
                                   size_t *len, bool *is_null)                            \
    {                                                                                     \
        return reported_null(cr_row_is_null_column(row, col), is_null)                    \
                   ? CR_OK : get##_column(row, col, out, len);                            \
    }

OR_NULL(cr_row_int64, int64_t *)
OR_NULL(cr_row_double, double *)
OR_NULL(cr_row_bool, bool *)
OR_NULL_LEN(cr_row_text, const char **)
OR_NULL_LEN(cr_row_blob, const void **)
OR_NULL(cr_row_numeric, const char **)
OR_NULL(cr_row_date, cr_datetime *)
OR_NULL(cr_row_time, cr_datetime *)
OR_NULL(cr_row_datetime, cr_datetime *)
