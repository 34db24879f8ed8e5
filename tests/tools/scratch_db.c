/* scratch_db.c — a database of its own for a test (the tutorial's, the command's): created empty, or dropped. */
#include <crucible.h>

#include <stdio.h>
#include <string.h>

/* scratch_db create|drop URL NAME: on the server of URL, (re)create the
 * database NAME and print URL with NAME as its database, or drop NAME. */
int main(int argc, char **argv)
{
    if (argc != 4 || (strcmp(argv[1], "create") != 0 && strcmp(argv[1], "drop") != 0)) {
        fprintf(stderr, "usage: scratch_db create|drop URL NAME\n");
        return 2;
    }
    const char *url = argv[2], *name = argv[3];
    const char *scheme = strstr(url, "://");
    const char *path = scheme ? strchr(scheme + 3, '/') : NULL;
    if (!path) {
        fprintf(stderr, "scratch_db: no database in %s\n", url);
        return 2;
    }
    const char *query = strchr(path, '?');
    cr_error *err = NULL;
    cr_engine *e = cr_create_engine(url, &(cr_engine_options){.isolation_level = "AUTOCOMMIT"},
                                    &err);
    cr_conn *c = e ? cr_engine_connect(e, &err) : NULL;
    char sql[256];
    int status = 0;
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s", name);
    if (!c || cr_conn_exec(c, sql, NULL)) {
        fprintf(stderr, "scratch_db: %s\n", c ? cr_error_message(cr_conn_error(c))
                                               : cr_error_message(err));
        status = 1;
    } else if (strcmp(argv[1], "create") == 0) {
        snprintf(sql, sizeof sql, "CREATE DATABASE %s", name);
        if (cr_conn_exec(c, sql, NULL)) {
            fprintf(stderr, "scratch_db: %s\n", cr_error_message(cr_conn_error(c)));
            status = 1;
        } else {
            printf("%.*s/%s%s\n", (int)(path - url), url, name, query ? query : "");
        }
    }
    cr_error_free(err);
    cr_conn_close(c);
    cr_engine_free(e);
    return status;
}
