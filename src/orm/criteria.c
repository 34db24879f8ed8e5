/* criteria.c — conditions along relationships: any(), has(), with_parent(). */
#include "orm/orm.h"

#include <stdio.h>

/* r, resolved, when q can take a condition along it; else NULL with the
 * error on q. */
static cr_relationship *usable(cr_stmt *q, const cr_relationship *cr, const char *what)
{
    if (!q || cr_stmt_error(q))
        return NULL;
    cr_relationship *r = (cr_relationship *)cr;
    cr_error e;
    cr_error_init(&e);
    if (!r || cr_rel_ready(r, &e)) {
        cr_stmt_fail(q, r ? e.cls : CR_ERR_ARGUMENT, "%s: %s", what,
                     r ? cr_error_message(&e) : "the relationship is NULL (was its model "
                     "defined?)");
        cr_error_clear(&e);
        return NULL;
    }
    return r;
}

/* EXISTS (SELECT target.pk FROM target [, secondary] WHERE <r's join with
 * the parent's table> [AND criterion]), correlated to the parent's table
 * of the enclosing query: RelationshipProperty.Comparator.any() / has(). */
static cr_expr *related_exists(cr_stmt *q, const cr_relationship *cr, cr_expr *criterion,
                               bool many)
{
    const char *what = many ? "any()" : "has()";
    cr_relationship *r = usable(q, cr, what);
    if (!r)
        return NULL;
    const cr_mapper *t = r->target;
    if (r->many != many) {
        cr_stmt_fail(q, CR_ERR_INVALID_REQUEST, "%s of %s.%s: not for %s; use %s", what,
                     r->parent->name, r->name, many ? "a ONE relationship" : "a collection",
                     many ? "has() (cr_has)" : "any() (cr_any)");
        return NULL;
    }
    if (!cr_stmt_reads_table(q, r->parent->table)) {
        cr_stmt_fail(q, CR_ERR_ARGUMENT, "%s of %s.%s: the statement does not read %s's table "
                     "%s (a relationship of another model?)", what, r->parent->name, r->name,
                     r->parent->name, r->parent->table->name);
        return NULL;
    }
    /* A relationship of a table to itself reads its target through an
     * alias, the criterion adapted to it, as SQLAlchemy does: EXISTS
     * (SELECT nodes_1.id FROM nodes AS nodes_1 WHERE nodes.id =
     * nodes_1.parent_id AND nodes_1.name = ?). */
    cr_expr *alias = NULL;
    if (r->parent == t) {
        char name[80];
        snprintf(name, sizeof name, "%.70s_1", t->table->name);
        if (!(alias = cr_alias(q, t->table, name)))
            return NULL;
        if (criterion && !(criterion = cr_expr_adapt(q, criterion, t->table, alias, what)))
            return NULL;
    }
    cr_column *pk = t->fields[t->pk[0]].col;
    const void *target = alias ? (const void *)alias : (const void *)t->table;
    cr_expr *key = alias ? cr_c(q, alias, pk->name) : (cr_expr *)(void *)pk;
    cr_stmt *sub = key ? cr_select(key) : NULL;
    if (!sub) {
        if (key)
            cr_stmt_fail(q, CR_ERR_NO_MEMORY, "out of memory");
        return NULL;
    }
    if (r->kind == CR_REL_MANY_TO_MANY) {
        cr_select_from(sub, target);   /* two tables: both named */
        cr_select_from(sub, r->secondary);
        cr_where(sub, cr_rel_secondary_on(sub, r, false));
        cr_where(sub, cr_rel_secondary_on_from(sub, r, true, alias, NULL));
        cr_correlate_except(sub, target, (const void *)r->secondary);
    } else {
        cr_where(sub, cr_rel_on(sub, r, NULL, alias));
        cr_correlate_except(sub, target);
    }
    if (criterion)
        cr_where(sub, criterion);
    return cr_exists(q, sub);   /* q adopts sub (or frees it) */
}

cr_expr *cr_related_any(cr_stmt *q, const cr_relationship *r, cr_expr *criterion)
{
    return related_exists(q, r, criterion, true);
}

cr_expr *cr_related_has(cr_stmt *q, const cr_relationship *r, cr_expr *criterion)
{
    return related_exists(q, r, criterion, false);
}

/* column = the parent's field value, bound. */
static cr_expr *key_equals(cr_stmt *q, cr_column *col, const cr_instance *parent, size_t field)
{
    return cr_binary(q, CR_OP_EQ, cr__operand_column(q, col),
                     cr_bind(q, cr_field_value(parent, field)));
}

cr_expr *cr_with_parent_object(cr_stmt *q, const void *obj, const cr_relationship *cr)
{
    const char *what = "with_parent()";
    cr_relationship *r = usable(q, cr, what);
    if (!r)
        return NULL;
    cr_instance *in = obj ? cr_instance_of(obj) : NULL;
    if (!in) {
        cr_stmt_fail(q, obj ? CR_ERR_UNMAPPED_INSTANCE : CR_ERR_ARGUMENT, "%s along %s.%s: %s",
                     what, r->parent->name, r->name, obj ? "not an object of a model (made by "
                     "cr_new or loaded)" : "the parent object is NULL");
        return NULL;
    }
    if (in->mapper != r->parent) {
        cr_stmt_fail(q, CR_ERR_ARGUMENT, "%s along %s.%s: the parent is a %s, not a %s", what,
                     r->parent->name, r->name, in->mapper->name, r->parent->name);
        return NULL;
    }
    if (in->state != CR_INST_PERSISTENT) {
        cr_stmt_fail(q, CR_ERR_INVALID_REQUEST, "%s along %s.%s: the parent is %s; it must be "
                     "persistent (in a session, its row flushed)", what, r->parent->name, r->name,
                     cr_object_state_name(cr_object_state_of(obj)));
        return NULL;
    }
    const cr_mapper *t = r->target;
    if (!cr_stmt_reads_table(q, t->table)) {
        cr_stmt_fail(q, CR_ERR_ARGUMENT, "%s along %s.%s: the statement does not read %s's table "
                     "%s", what, r->parent->name, r->name, t->name, t->table->name);
        return NULL;
    }
    /* A many-to-many: EXISTS (SELECT ... FROM secondary WHERE target =
     * secondary AND secondary = key), a condition only: q's FROM stays its own. */
    cr_stmt *on = q;
    if (r->kind == CR_REL_MANY_TO_MANY) {
        if (!(on = cr_select(r->sec_remote[0]))) {
            cr_stmt_fail(q, CR_ERR_NO_MEMORY, "out of memory");
            return NULL;
        }
        cr_where(on, cr_rel_secondary_on(on, r, true));
        cr_correlate_except(on, r->secondary);
    }
    cr_expr *cond = NULL;
    for (size_t k = 0; k < r->nkeys; k++) {
        cr_expr *e;
        if (r->kind == CR_REL_MANY_TO_MANY)
            e = key_equals(on, r->sec_local[k], in, r->ref[k]);
        else if (r->kind == CR_REL_ONE_TO_MANY)
            e = key_equals(on, t->fields[r->fk[k]].col, in, r->ref[k]);
        else
            e = key_equals(on, t->fields[r->ref[k]].col, in, r->fk[k]);
        cond = cond ? cr_and(on, cond, e) : e;
    }
    if (on != q) {
        cr_where(on, cond);
        return cr_exists(q, on);
    }
    return cond;
}
