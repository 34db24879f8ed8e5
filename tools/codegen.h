/* codegen.h — the `crucible` command's pieces: schema listing and C declaration generation. */
#ifndef CRUCIBLE_TOOLS_CODEGEN_H
#define CRUCIBLE_TOOLS_CODEGEN_H

#include <crucible.h>

#include <stdio.h>

/* Which tables a command looks at: all, or those named (a comma-separated
 * list), less those excluded. */
typedef struct tool_tables {
    const char *only;       /* "users,posts" or NULL */
    const char *exclude;    /* "crucible_version" or NULL */
} tool_tables;

bool tool_table_wanted(const tool_tables *sel, const char *name);

/* Write what the Inspector sees of each table, a deterministic text (the
 * round-trip tests compare two listings). Returns CR_OK, or the failing
 * status with the detail on conn. */
cr_status tool_inspect(FILE *out, cr_conn *conn, const tool_tables *sel);

/* What `crucible codegen` writes. */
typedef struct codegen_options {
    const char *prefix;       /* <prefix>_define(md), guard <PREFIX>_H; "models" */
    bool tables_only;         /* table declarations only, no models           */
    const char *source;       /* the URL to name in the header comment        */
} codegen_options;

/* Write a C header declaring every wanted table of the database on conn —
 * as a model (CR_DECLARE_MODEL / CR_DEFINE_MODEL, with relationships from
 * the foreign keys) or as a table (CR_DECLARE_TABLE) — and a function
 * <prefix>_define(cr_metadata *md) defining them all, in its
 * implementation section (#define <PREFIX>_IMPLEMENTATION in one .c file).
 * Returns CR_OK or the failing status; a database error is on conn, any
 * other is described in msg (size bytes). */
cr_status tool_codegen(FILE *out, cr_conn *conn, const tool_tables *sel,
                       const codegen_options *opt, char *msg, size_t size);

#endif
