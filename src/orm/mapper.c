/* mapper.c — models: mappers from field declarations, objects, their fields, snapshots and rows. */
#include "orm/orm.h"

#include <stdio.h>
#include <string.h>

#define ALIGN16(n) (((n) + 15) & ~(size_t)15)

/* ---- mappers ---- */

static void mapper_free(void *p)
{
    cr_mapper *m = p;
    if (!m)
        return;
    /* Clear the model's handles that still hold this mapper's objects (a
     * model defined again in another metadata holds that one's). */
    if (m->handle && *m->handle == m)
        *m->handle = NULL;
    if (m->table_handle && *m->table_handle == m->table)
        *m->table_handle = NULL;
    for (size_t i = 0; m->column_handles && i < m->nfields; i++)
        if (m->column_handles[i] && *m->column_handles[i] == m->fields[i].col)
            *m->column_handles[i] = NULL;
    cr_free(m->column_handles);
    cr_free(m->listeners);
    cr_mapper_free_relationships(m);
    cr_free(m->name);
    cr_free(m->fields);
    cr_free(m->pk);
    cr_free(m);
}

static cr_type value_type(const cr_column *col, cr_field_kind kind)
{
    switch (kind) {
    case CR_FIELD_INT64: return CR_INT;
    case CR_FIELD_DOUBLE: return CR_DOUBLE;
    case CR_FIELD_BOOL: return CR_BOOL;
    case CR_FIELD_BLOB: return CR_BLOB;
    case CR_FIELD_TEXT: return col->type.kind == CR_SQLTYPE_NUMERIC ? CR_NUMERIC : CR_TEXT;
    case CR_FIELD_DATETIME:
        return col->type.kind == CR_SQLTYPE_DATE   ? CR_DATE
               : col->type.kind == CR_SQLTYPE_TIME ? CR_TIME
                                                   : CR_DATETIME;
    }
    return CR_NULL;
}

static bool is_scalar(cr_field_kind k) { return k != CR_FIELD_TEXT && k != CR_FIELD_BLOB; }

/* The mapper's fields, key and layout from the table just made. */
static cr_status mapper_build(cr_mapper *m, cr_table *t, const cr_field_def *fields, size_t n,
                              cr_metadata *md)
{
    m->fields = cr_calloc(n, sizeof *m->fields);
    m->pk = cr_calloc(n, sizeof *m->pk);
    if (!m->fields || !m->pk)
        return cr_error_oom(&md->err);
    m->nfields = n;
    m->table = t;
    m->version = -1;
    m->autoinc = -1;
    for (size_t i = 0; i < n; i++) {
        cr_field *f = &m->fields[i];
        f->offset = fields[i].offset;
        f->kind = fields[i].kind;
        f->col = t->cols[i];
        f->vtype = value_type(f->col, f->kind);
        if (f->offset < sizeof(cr_object) || f->offset >= m->size)
            return cr_error_set(&md->err, CR_ERR_ARGUMENT, "model %s: field %zu lies outside "
                                "the struct", m->name, i + 1);
    }
    struct cr_column *const *pkcols;
    size_t npk = cr_table_pk(t, &pkcols);
    if (npk == 0)
        return cr_error_set(&md->err, CR_ERR_ARGUMENT, "model %s: table '%s' has no primary "
                            "key; a mapper needs one", m->name, t->name);
    if (npk > 8)
        return cr_error_set(&md->err, CR_ERR_ARGUMENT, "model %s: a primary key of %zu "
                            "columns (a mapper takes up to 8)", m->name, npk);
    for (size_t k = 0; k < npk; k++)
        m->pk[m->npk++] = pkcols[k]->index;
    const struct cr_column *ai = cr_table_autoincrement(t);
    if (ai)
        m->autoinc = (int)ai->index;
    /* Which fields a new object starts NULL: those whose value the database
     * or a callback computes, and nullable ones with no constant default —
     * but a bool only when computed (its NULL is the mask bit with false,
     * and false is what programs assign). */
    for (size_t i = 0; i < n; i++) {
        const struct cr_column *c = m->fields[i].col;
        bool computed = c->default_fn || c->server_default || (int)i == m->autoinc;
        bool open = c->nullable && c->default_value.type == CR_NULL;
        if (is_scalar(m->fields[i].kind) &&
            (computed || (open && m->fields[i].kind != CR_FIELD_BOOL)))
            m->null_init |= UINT64_C(1) << i;
    }
    m->obj_off = ALIGN16(sizeof(cr_instance));
    m->snap_off = ALIGN16(m->obj_off + m->size);
    m->fbuf_off = ALIGN16(m->snap_off + m->size);
    m->alloc_size = m->fbuf_off + n * sizeof(void *);
    return CR_OK;
}

uint64_t cr_mapper_key_fields(const cr_mapper *m)
{
    uint64_t keys = 0;
    for (size_t k = 0; k < m->npk; k++)
        keys |= UINT64_C(1) << m->pk[k];
    const cr_table *t = m->table;
    for (size_t c = 0; c < t->ncons; c++)
        for (size_t k = 0; t->constraints[c]->kind == CR_CONSTRAINT_FOREIGN_KEY &&
                           k < t->constraints[c]->ncols; k++)
            keys |= UINT64_C(1) << t->constraints[c]->cols[k]->index;
    return keys;
}

cr_status cr_model_define(cr_metadata *md, const char *model_name, const char *table_name,
                          size_t struct_size, const cr_column_def *defs,
                          const cr_field_def *fields, size_t n, cr_column **const *handles,
                          cr_table **table, cr_mapper **mapper)
{
    if (mapper)
        *mapper = NULL;
    if (table)
        *table = NULL;
    if (!md || !model_name || !defs || !fields || !mapper || !table)
        return CR_ERR_ARGUMENT;
    if (n == 0 || n > 64)
        return cr_error_set(&md->err, CR_ERR_ARGUMENT, "model %s: %zu fields (a model has 1 to "
                            "64)", model_name, n);
    cr_table *t;
    cr_status st = cr_table_define(md, table_name, defs, n, handles, &t);
    if (st)
        return st;
    cr_mapper *m = cr_calloc(1, sizeof *m);
    if (!m)
        return cr_error_oom(&md->err);
    m->name = cr_strdup(model_name);
    m->size = struct_size;
    m->column_handles = handles ? cr_calloc(n, sizeof *m->column_handles) : NULL;
    st = m->name && (m->column_handles || !handles) ? mapper_build(m, t, fields, n, md)
                                                    : cr_error_oom(&md->err);
    if (st) {
        mapper_free(m);
        return st;
    }
    uint64_t keys = cr_mapper_key_fields(m);
    for (size_t i = 0; i < n && !st; i++) {
        if (!defs[i].deferred)
            continue;
        if (keys >> i & 1)
            st = cr_error_set(&md->err, CR_ERR_ARGUMENT, "model %s: field %s is part of %s, "
                              "which every load reads: it cannot be deferred", model_name,
                              t->cols[i]->name, t->cols[i]->primary_key ? "the primary key"
                                                                        : "a foreign key");
        m->deferred |= UINT64_C(1) << i;
    }
    if (st) {
        mapper_free(m);
        return st;
    }
    for (size_t i = 0; handles && i < n; i++)
        m->column_handles[i] = handles[i];
    t->mapper = m;
    t->mapper_free = mapper_free;
    *table = t;
    *mapper = m;
    m->table_handle = table;
    m->handle = mapper;
    return CR_OK;
}

cr_status cr_mapper_version_id(cr_mapper *m, cr_column *col)
{
    if (!m || !col)
        return CR_ERR_ARGUMENT;
    if (col->table != m->table || m->fields[col->index].kind != CR_FIELD_INT64 ||
        m->deferred >> col->index & 1)
        return CR_ERR_ARGUMENT;
    m->version = (int)col->index;
    m->null_init &= ~(UINT64_C(1) << col->index);
    return CR_OK;
}

cr_status cr_mapper_listen(cr_mapper *m, cr_mapper_event event, cr_mapper_listener fn,
                           void *userdata)
{
    if (!m || !fn || (unsigned)event > CR_REFRESH)
        return CR_ERR_ARGUMENT;
    struct cr_listener *l = cr_realloc(m->listeners, (m->nlisteners + 1) * sizeof *l);
    if (!l)
        return CR_ERR_NO_MEMORY;
    l[m->nlisteners++] = (struct cr_listener){event, fn, userdata};
    m->listeners = l;
    m->listen_mask |= 1u << event;
    return CR_OK;
}

cr_status cr_mapper_fire(cr_session *s, const cr_instance *in, cr_mapper_event ev)
{
    const cr_mapper *m = in->mapper;
    bool listening = s->listening;
    s->listening = true;
    cr_status rc = CR_OK;
    for (size_t i = 0; i < m->nlisteners && !rc; i++)
        if (m->listeners[i].event == ev) {
            if (s->conn)
                cr_error_clear(&s->conn->err);
            rc = m->listeners[i].fn(s, s->conn, in->obj, m->listeners[i].userdata);
        }
    s->listening = listening;
    return rc;
}

cr_status cr_mapper_listener_failed(cr_session *s, const cr_instance *in, cr_mapper_event ev,
                                    cr_status rc, const char *what, cr_status otherwise)
{
    static const char *const names[] = {"before_insert", "after_insert", "before_update",
                                        "after_update",  "before_delete", "after_delete",
                                        "load",          "refresh"};
    /* A statement the listener ran failed: that error, as for the session's own. */
    if (s->conn && cr_conn_error(s->conn))
        return cr_session_conn_failed(s, s->conn);
    cr_buf b;
    cr_buf_init(&b);
    cr_describe(in, &b);
    cr_status st = cr_session_fail(s, cr_listener_class(rc, otherwise),
                                   "the %s of %s failed: its %s listener returned %s", what,
                                   cr_buf_cstr(&b) ? cr_buf_cstr(&b) : in->mapper->name,
                                   names[ev], cr_status_name(rc));
    cr_buf_free(&b);
    return st;
}

const char *cr_mapper_name(const cr_mapper *m) { return m ? m->name : NULL; }
cr_table *cr_mapper_table(const cr_mapper *m) { return m ? m->table : NULL; }
cr_mapper *cr_table_mapper(const cr_table *t)
{
    return t && t->tag == CR_TAG_TABLE && t->mapper_free == mapper_free ? t->mapper : NULL;
}

/* ---- objects ---- */

void *cr_object_new(const cr_mapper *m)
{
    if (!m)
        return NULL;
    cr_instance *in = cr_instance_alloc(m, 0);
    if (!in)
        return NULL;
    for (size_t i = 0; i < m->nfields; i++) {
        const cr_value *d = &m->fields[i].col->default_value;
        if (m->null_init >> i & 1)
            cr_instance_set_null(in, i);
        else if (d->type != CR_NULL && cr_field_store(in, i, d)) {
            cr_instance_destroy(in);
            return NULL;
        }
    }
    if (cr_snapshot_take(in)) {
        cr_instance_destroy(in);
        return NULL;
    }
    for (size_t i = 0; i < m->nrels; i++)
        cr_relstate_of(in, i)->loaded = true;   /* a new object's are empty */
    in->as_made = true;
    return in->obj;
}

cr_status cr_object_free(void *obj)
{
    if (!obj)
        return CR_OK;
    cr_instance *in = cr_instance_of(obj);
    if (!in)
        return CR_ERR_UNMAPPED_INSTANCE;
    if (in->owner && in->session)
        return CR_ERR_INVALID_REQUEST;
    cr_owner_unlink(in);
    cr_instance_destroy(in);
    return CR_OK;
}

cr_mapper *cr_object_mapper(const void *obj)
{
    cr_instance *in = cr_instance_of(obj);
    return in ? (cr_mapper *)in->mapper : NULL;
}

cr_object_state cr_object_state_of(const void *obj)
{
    cr_instance *in = cr_instance_of(obj);
    if (!in)
        return CR_STATE_INVALID;
    switch ((cr_inst_state)in->state) {
    case CR_INST_TRANSIENT: return CR_STATE_TRANSIENT;
    case CR_INST_PENDING: return CR_STATE_PENDING;
    case CR_INST_PERSISTENT: return CR_STATE_PERSISTENT;
    case CR_INST_DELETED: return CR_STATE_DELETED;
    case CR_INST_DETACHED: return CR_STATE_DETACHED;
    }
    return CR_STATE_INVALID;
}

const char *cr_object_state_name(cr_object_state st)
{
    static const char *const names[] = {"invalid", "transient", "pending", "persistent",
                                        "deleted", "detached"};
    return (unsigned)st < CR_ARRAY_LEN(names) ? names[st] : "invalid";
}

bool cr_object_expired(const void *obj)
{
    cr_instance *in = cr_instance_of(obj);
    return in && in->expired;
}

void cr_describe(const cr_instance *in, cr_buf *b)
{
    const cr_mapper *m = in->mapper;
    cr_buf_printf(b, "%s(", m->name);
    for (size_t k = 0; k < m->npk; k++) {
        size_t i = m->pk[k];
        cr_value v = cr_field_value(in, i);
        cr_buf_printf(b, "%s%s=", k ? ", " : "", m->fields[i].col->name);
        cr_buf_put_value(b, &v);
    }
    cr_buf_putc(b, ')');
}

int cr_object_describe(const void *obj, char *buf, size_t size)
{
    cr_instance *in = cr_instance_of(obj);
    cr_buf b;
    cr_buf_init(&b);
    if (in)
        cr_describe(in, &b);
    else
        cr_buf_puts(&b, "<not a mapped object>");
    const char *s = cr_buf_cstr(&b);
    int n = s ? snprintf(buf, buf ? size : 0, "%s", s) : -1;
    cr_buf_free(&b);
    return n;
}

/* ---- fields ---- */

static int field_at(const cr_instance *in, size_t offset)
{
    for (size_t i = 0; i < in->mapper->nfields; i++)
        if (in->mapper->fields[i].offset == offset)
            return (int)i;
    return -1;
}

cr_status cr_object_set_null(void *obj, size_t offset, bool null)
{
    cr_instance *in = cr_instance_of(obj);
    if (!in)
        return obj ? CR_ERR_UNMAPPED_INSTANCE : CR_ERR_ARGUMENT;
    int i = field_at(in, offset);
    if (i < 0)
        return CR_ERR_ARGUMENT;
    if (null)
        cr_instance_set_null(in, (size_t)i);
    else
        cr_instance_clear_null(in, (size_t)i);
    in->given |= UINT64_C(1) << i;
    return CR_OK;
}

bool cr_object_is_null(const void *obj, size_t offset)
{
    cr_instance *in = cr_instance_of(obj);
    int i = in ? field_at(in, offset) : -1;
    if (i < 0)
        return false;
    return cr_field_value(in, (size_t)i).type == CR_NULL;
}

static cr_status set_bytes(void *obj, size_t offset, cr_value v, cr_field_kind kind)
{
    cr_instance *in = cr_instance_of(obj);
    if (!in)
        return obj ? CR_ERR_UNMAPPED_INSTANCE : CR_ERR_ARGUMENT;
    int i = field_at(in, offset);
    if (i < 0 || in->mapper->fields[i].kind != kind)
        return CR_ERR_ARGUMENT;
    in->given |= UINT64_C(1) << i;
    return cr_field_store(in, (size_t)i, &v);
}

cr_status cr_object_set_text(void *obj, size_t offset, const char *s)
{
    return set_bytes(obj, offset, cr_val_text(s), CR_FIELD_TEXT);
}

cr_status cr_object_set_blob(void *obj, size_t offset, const void *data, size_t len)
{
    if (!data && len)
        return CR_ERR_ARGUMENT;
    return set_bytes(obj, offset, cr_val_blob(data, len), CR_FIELD_BLOB);
}

