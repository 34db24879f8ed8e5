/* tristate_bool.c — a bool written for a three-valued option must not build
 * quietly: `.nullable = false` would be 0, CR_AUTO, a nullable column.
 * check-install.sh builds it with OFF as CR_NO (it must build) and as false
 * in a column's options or assigned to a session option (each must fail
 * under -Wall -Werror). */
#include <crucible.h>
#include <crucible/orm.h>
#include <stdbool.h>

#ifndef COLUMN_OFF
#define COLUMN_OFF CR_NO
#endif
#ifndef OPTION_OFF
#define OPTION_OFF CR_NO
#endif

#define NOTE_FIELDS(F)                          \
    F(id,   INTEGER,    .primary_key = true)    \
    F(text, STRING(50), .nullable = COLUMN_OFF)
CR_MODEL(Note, "notes", NOTE_FIELDS)

int main(void)
{
    cr_session_options o = {.autoflush = CR_YES};
    o.expire_on_commit = OPTION_OFF;
    return o.expire_on_commit.value == CR_NO.value ? 0 : 1;
}
