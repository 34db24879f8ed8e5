/* row.c — reading a row through a table's column handle. */
#include "engine/engine.h"
#include "sql/stmt.h"

/* The result column that is col: by handle when the statement was compiled
 * (so users.id and posts.id are told apart), else by its name (-2). A column
 * of that name that is known to be another table's column is not col: -3,
 * with the error on the row, rather than the other column's value. */
static int column_index(const cr_row *row, const cr_column *col)
{
    if (!row || !col)
        return -1;
    if (row->colkeys) {
        for (int i = 0; i < row->ncols; i++)
            if (row->colkeys[i] == col)
                return i;
        int i = cr_row_index(row, col->name);
        const struct cr_column *other = i >= 0 ? row->colkeys[i] : NULL;
        if (other) {
            cr_error_set(row->err, CR_ERR_ARGUMENT, "column %s.%s is not in this row (its "
                         "'%s' is %s.%s)", col->table->name, col->name, col->name,
                         other->table->name, other->name);
            return -3;
        }
    }
    return -2;
}

#define BY_COLUMN(get, ...)                                                       \
    {                                                                                  \
        int i = column_index(row, col);                                                \
        if (i == -3)                                                                   \
            return CR_ERR_ARGUMENT;                                                    \
        if (i == -2)                                                                   \
            return get##_named(row, col->name, __VA_ARGS__);                            \
        return get##_at(row, i, __VA_ARGS__);                                          \
    }

const cr_value *cr_row_value_column(const cr_row *row, const cr_column *col)
{
    int i = column_index(row, col);
    if (i == -3)
        return NULL;
    return i == -2 ? cr_row_value_named(row, col->name) : cr_row_value_at(row, i);
}

int cr_row_is_null_column(const cr_row *row, const cr_column *col)
{
    int i = column_index(row, col);
    if (i == -3)
        return -1;
    return i == -2 ? cr_row_is_null_named(row, col->name) : cr_row_is_null_at(row, i);
}

cr_status cr_row_int64_column(const cr_row *row, const cr_column *col, int64_t *out)
    BY_COLUMN(cr_row_int64, out)
cr_status cr_row_double_column(const cr_row *row, const cr_column *col, double *out)
    BY_COLUMN(cr_row_double, out)
cr_status cr_row_bool_column(const cr_row *row, const cr_column *col, bool *out)
    BY_COLUMN(cr_row_bool, out)
cr_status cr_row_text_column(const cr_row *row, const cr_column *col, const char **out, size_t *len)
    BY_COLUMN(cr_row_text, out, len)
cr_status cr_row_blob_column(const cr_row *row, const cr_column *col, const void **out, size_t *len)
    BY_COLUMN(cr_row_blob, out, len)
cr_status cr_row_numeric_column(const cr_row *row, const cr_column *col, const char **out)
    BY_COLUMN(cr_row_numeric, out)
cr_status cr_row_date_column(const cr_row *row, const cr_column *col, cr_datetime *out)
    BY_COLUMN(cr_row_date, out)
cr_status cr_row_time_column(const cr_row *row, const cr_column *col, cr_datetime *out)
    BY_COLUMN(cr_row_time, out)
cr_status cr_row_datetime_column(const cr_row *row, const cr_column *col, cr_datetime *out)
    BY_COLUMN(cr_row_datetime, out)
