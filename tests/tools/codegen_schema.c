/* codegen_schema.c — creates the schema that `crucible codegen` must declare again (tests/tools). */
#include <crucible.h>

#include <stdio.h>

/* Every kind of column, a self-referential key, a named index. */
#define USERS(C)                                                                        \
    C(id, INTEGER, .primary_key = true)                                                 \
    C(username, STRING(50), .nullable = CR_NO, .unique = true)                          \
    C(email, STRING(100), .index = true)                                                \
    C(karma, INTEGER, .nullable = CR_NO, .server_default = "0")                         \
    C(active, BOOLEAN)                                                                  \
    C(balance, NUMERIC(10, 2))                                                          \
    C(score, DOUBLE)                                                                    \
    C(born, DATE)                                                                       \
    C(created, DATETIME)                                                                \
    C(photo, LARGEBINARY)                                                               \
    C(bio, TEXT)                                                                        \
    C(big, BIGINTEGER)                                                                  \
    C(small, SMALLINTEGER)                                                              \
    C(referrer_id, INTEGER, .foreign_key = "cg_users.id", .fk_ondelete = "SET NULL")
CR_DECLARE_TABLE(users_t, USERS)

/* Two keys to one table, a named unique pair, an index on two columns. */
#define POSTS(C)                                                                        \
    C(id, INTEGER, .primary_key = true)                                                 \
    C(author_id, INTEGER, .nullable = CR_NO, .foreign_key = "cg_users.id",              \
                          .fk_ondelete = "CASCADE")                                     \
    C(editor_id, INTEGER, .foreign_key = "cg_users.id")                                 \
    C(title, STRING(200), .nullable = CR_NO)
CR_DECLARE_TABLE(posts_t, POSTS)

/* One-to-one: a unique foreign key. */
#define PROFILES(C)                                                                     \
    C(id, INTEGER, .primary_key = true)                                                 \
    C(user_id, INTEGER, .unique = true, .foreign_key = "cg_users.id")                   \
    C(motto, STRING(80))
CR_DECLARE_TABLE(profiles_t, PROFILES)

#define TAGS(C)                                                                         \
    C(id, INTEGER, .primary_key = true)                                                 \
    C(name, STRING(30), .nullable = CR_NO, .unique = true)
CR_DECLARE_TABLE(tags_t, TAGS)

/* The association table of posts and tags. */
#define POST_TAGS(C)                                                                    \
    C(post_id, INTEGER, .primary_key = true, .foreign_key = "cg_posts.id",              \
                        .fk_ondelete = "CASCADE")                                       \
    C(tag_id, INTEGER, .primary_key = true, .foreign_key = "cg_tags.id",                \
                       .fk_ondelete = "CASCADE")
CR_DECLARE_TABLE(post_tags_t, POST_TAGS)

/* A composite primary key of text, and a composite foreign key to it. */
#define REGIONS(C)                                                                      \
    C(code, STRING(8), .primary_key = true)                                             \
    C(country, STRING(2), .primary_key = true)                                          \
    C(name, TEXT)
CR_DECLARE_TABLE(regions_t, REGIONS)

#define OFFICES(C)                                                                      \
    C(id, INTEGER, .primary_key = true)                                                 \
    C(region_code, STRING(8))                                                           \
    C(region_country, STRING(2))
CR_DECLARE_TABLE(offices_t, OFFICES)

/* No primary key: a table, not a model. */
#define AUDIT(C)                                                                        \
    C(at, DATETIME, .nullable = CR_NO)                                                  \
    C(note, TEXT)
CR_DECLARE_TABLE(audit_t, AUDIT)

static int fail(const char *what, const char *msg)
{
    fprintf(stderr, "codegen_schema: %s: %s\n", what, msg ? msg : "?");
    return 1;
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return fail("usage", "codegen_schema URL");
    cr_metadata *md = cr_metadata_new(NULL);
    users_t users;
    posts_t posts;
    profiles_t profiles;
    tags_t tags;
    post_tags_t post_tags;
    regions_t regions;
    offices_t offices;
    audit_t audit;
    users_t_define(&users, md, "cg_users");
    posts_t_define(&posts, md, "cg_posts");
    profiles_t_define(&profiles, md, "cg_profiles");
    tags_t_define(&tags, md, "cg_tags");
    post_tags_t_define(&post_tags, md, "cg_post_tags");
    regions_t_define(&regions, md, "cg_regions");
    offices_t_define(&offices, md, "cg_offices");
    audit_t_define(&audit, md, "cg_audit");
    cr_table_unique(posts.table, "uq_cg_posts_author_title", CR_COLS(posts.c.author_id, posts.c.title));
    cr_table_index(posts.table, "ix_cg_posts_editor_title", false,
                   CR_COLS(posts.c.editor_id, posts.c.title));
    cr_table_foreign_key(offices.table, "fk_cg_offices_region",
                         CR_COLS(offices.c.region_code, offices.c.region_country),
                         (const char *const[]){"cg_regions.code", "cg_regions.country"},
                         "CASCADE", NULL);
    /* Names that are no C identifiers. */
    cr_table *odd = cr_table_new(md, "cg odd-names");
    cr_table_add_column(odd, &(cr_column_def){.name = "unit-price", .type = CR_SQL_DOUBLE});
    cr_table_add_column(odd, &(cr_column_def){.name = "qty", .type = CR_SQL_INTEGER,
                                              .nullable = CR_NO});
    if (cr_metadata_error(md))
        return fail("metadata", cr_error_message(cr_metadata_error(md)));

    cr_error *err = NULL;
    cr_engine *engine = cr_create_engine(argv[1], NULL, &err);
    if (!engine)
        return fail("engine", cr_error_message(err));
    int status = 0;
    if (cr_metadata_drop_all_engine(md, engine, true, &err) ||
        cr_metadata_create_all_engine(md, engine, false, &err))
        status = fail("create", cr_error_message(err));
    cr_error_free(err);
    cr_engine_free(engine);
    cr_metadata_free(md);
    return status;
}
