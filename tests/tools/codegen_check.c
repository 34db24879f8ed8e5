/* codegen_check.c — built against the header `crucible codegen` wrote: recreates the schema, uses the models. */
#define MODELS_IMPLEMENTATION
#include "models.h"

#include <stdio.h>
#include <string.h>

static int fail(const char *what, const cr_error *err)
{
    fprintf(stderr, "codegen_check: %s: %s\n", what, err ? cr_error_message(err) : "failed");
    return 1;
}

/* The generated relationships at work: a user with a profile, a post they
 * wrote and another user edited, tagged twice, a referral. */
static int use_models(cr_engine *engine)
{
    cr_session *s = cr_session_new(engine, NULL);
    CgUser *ann = cr_new(CgUser), *bob = cr_new(CgUser);
    ann->username = "ann";
    bob->username = "bob";
    CgProfile *pr = cr_new(CgProfile);
    pr->motto = "hi";
    CgPost *p = cr_new(CgPost);
    p->title = "first";
    CgTag *t1 = cr_new(CgTag), *t2 = cr_new(CgTag);
    t1->name = "c";
    t2->name = "sql";
    cr_session_add(s, ann);
    cr_session_add(s, bob);
    if (cr_set_related(pr, user, ann) || cr_set_related(p, author, ann) ||
        cr_set_related(p, editor, bob) || cr_append(p, cg_tags, t1) ||
        cr_append(p, cg_tags, t2) || cr_set_related(bob, referrer, ann) ||
        cr_session_commit(s))
        return fail("flush", cr_session_error(s));
    int64_t ann_id = ann->id;
    cr_session_free(s);

    s = cr_session_new(engine, NULL);
    CgUser *u = cr_session_get(s, CgUser, cr_val_int(ann_id));
    int status = 0;
    if (!u || cr_load(u, cg_posts_author) || cr_load(u, cg_profile) ||
        cr_load(u, referrer_reverse))
        status = fail("load", cr_session_error(s));
    else if (u->cg_posts_author.count != 1 || u->cg_posts_editor.count != 0 || !u->cg_profile ||
             strcmp(u->cg_profile->motto, "hi") != 0 || u->referrer_reverse.count != 1)
        status = fail("loaded objects", NULL);
    else {
        CgPost *post = u->cg_posts_author.items[0];
        if (cr_load(post, cg_tags) || cr_load(post, editor) || post->cg_tags.count != 2 ||
            !post->editor || strcmp(post->editor->username, "bob") != 0)
            status = fail("post's relationships", cr_session_error(s));
    }
    cr_session_free(s);
    if (!status)
        printf("models: ok\n");
    return status;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: codegen_check URL\n");
        return 2;
    }
    cr_metadata *md = cr_metadata_new(NULL);
    if (models_define(md) || cr_metadata_configure(md))
        return fail("models_define", cr_metadata_error(md));
    cr_error *err = NULL;
    cr_engine *engine = cr_create_engine(argv[1], NULL, &err);
    int status = 0;
    if (!engine)
        status = fail("engine", err);
    else if (cr_metadata_drop_all_engine(md, engine, true, &err) ||
             cr_metadata_create_all_engine(md, engine, false, &err))
        status = fail("create", err);
    else if (use_models(engine) != 0)
        status = 1;
    cr_error_free(err);
    cr_engine_free(engine);
    cr_metadata_free(md);
    return status;
}
