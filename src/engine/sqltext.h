/* sqltext.h — textual SQL with :name parameters, rewritten into a driver's placeholder style. */
#ifndef CR_SQLTEXT_H
#define CR_SQLTEXT_H

#include "dialects/driver.h"

typedef struct cr_sqltext {
    char *sql;          /* the SQL in the driver's placeholder style          */
    int nnames;         /* distinct parameter names, in order of appearance    */
    char **names;
    int nslots;         /* placeholders the driver binds, in order            */
    int *slot_name;     /* for each placeholder, the index of its name        */
} cr_sqltext;

/* Rewrite sql's :name parameters (SQLAlchemy text() rules: not after a word
 * character, ':' or '\'; "\:" is a literal colon; quoted strings, quoted
 * identifiers, comments and PostgreSQL dollar quotes are left alone). */
cr_status cr_sqltext_parse(const char *sql, cr_param_style style, cr_sqltext *out,
                           cr_error *err);
void cr_sqltext_free(cr_sqltext *t);
/* Index of name among t's names, or -1. */
int cr_sqltext_find(const cr_sqltext *t, const char *name);

#endif
