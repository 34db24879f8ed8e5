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
    m->owned_off = m->snap_off + n * sizeof(cr_value);
    m->alloc_size = m->owned_off + n * sizeof(void *);
    return CR_OK;
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
    st = m->name ? mapper_build(m, t, fields, n, md) : cr_error_oom(&md->err);
    if (st) {
        mapper_free(m);
        return st;
    }
    t->mapper = m;
    t->mapper_free = mapper_free;
    *table = t;
    *mapper = m;
    return CR_OK;
}

cr_status cr_mapper_version_id(cr_mapper *m, cr_column *col)
{
    if (!m || !col)
        return CR_ERR_ARGUMENT;
    if (col->table != m->table || m->fields[col->index].kind != CR_FIELD_INT64)
        return CR_ERR_ARGUMENT;
    m->version = (int)col->index;
    m->null_init &= ~(UINT64_C(1) << col->index);
    return CR_OK;
}

const char *cr_mapper_name(const cr_mapper *m) { return m ? m->name : NULL; }
cr_table *cr_mapper_table(const cr_mapper *m) { return m ? m->table : NULL; }
cr_mapper *cr_table_mapper(const cr_table *t)
{
    return t && t->tag == CR_TAG_TABLE && t->mapper_free == mapper_free ? t->mapper : NULL;
}

/* ---- objects ---- */

cr_instance *cr_instance_of(const void *obj)
{
    if (!obj)
        return NULL;
    cr_instance *in = ((const cr_object *)obj)->instance;
    if (!in || in->magic != CR_INSTANCE_MAGIC || in->obj != obj)
        return NULL;
    return in;
}

cr_instance *cr_instance_alloc(const cr_mapper *m)
{
    unsigned char *p = cr_calloc(1, m->alloc_size);
    if (!p)
        return NULL;
    cr_instance *in = (cr_instance *)p;
    in->magic = CR_INSTANCE_MAGIC;
    in->mapper = m;
    in->obj = p + m->obj_off;
    in->snap = (cr_value *)(p + m->snap_off);
    in->owned = (void **)(p + m->owned_off);
    in->insert_level = in->delete_level = -1;
    ((cr_object *)in->obj)->instance = in;
    return in;
}

static void *field_ptr(const cr_instance *in, size_t i)
{
    return (char *)in->obj + in->mapper->fields[i].offset;
}

static void free_snap_value(cr_value *v)
{
    if (v->type == CR_TEXT || v->type == CR_NUMERIC)
        cr_free((void *)v->v.s.ptr);
    else if (v->type == CR_BLOB)
        cr_free((void *)v->v.blob.ptr);
    *v = cr_val_null();
}

void cr_instance_destroy(cr_instance *in)
{
    if (!in)
        return;
    for (size_t i = 0; i < in->mapper->nfields; i++) {
        free_snap_value(&in->snap[i]);
        cr_free(in->owned[i]);
    }
    in->magic = 0;
    cr_free(in);
}

void *cr_object_new(const cr_mapper *m)
{
    if (!m)
        return NULL;
    cr_instance *in = cr_instance_alloc(m);
    if (!in)
        return NULL;
    cr_value null = cr_val_null();
    for (size_t i = 0; i < m->nfields; i++) {
        const cr_value *d = &m->fields[i].col->default_value;
        if (m->null_init >> i & 1)
            cr_field_store(in, i, &null);
        else if (d->type != CR_NULL && cr_field_store(in, i, d)) {
            cr_instance_destroy(in);
            return NULL;
        }
    }
    if (cr_snapshot_take(in)) {
        cr_instance_destroy(in);
        return NULL;
    }
    return in->obj;
}

cr_status cr_object_free(void *obj)
{
    if (!obj)
        return CR_OK;
    cr_instance *in = cr_instance_of(obj);
    if (!in)
        return CR_ERR_UNMAPPED_INSTANCE;
    if (in->owner)
        return CR_ERR_INVALID_REQUEST;
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

static size_t scalar_size(cr_field_kind k)
{
    return k == CR_FIELD_INT64 ? sizeof(int64_t)
           : k == CR_FIELD_DOUBLE ? sizeof(double)
           : k == CR_FIELD_BOOL   ? sizeof(bool)
                                  : sizeof(cr_datetime);
}

/* Whether a scalar field holds NULL: its sentinel, or for a bool the mask
 * bit with false. */
static bool scalar_is_null(const cr_instance *in, size_t i, const void *p)
{
    switch (in->mapper->fields[i].kind) {
    case CR_FIELD_INT64: {
        int64_t v;
        memcpy(&v, p, sizeof v);
        return v == CR_NULL_INT64;
    }
    case CR_FIELD_DOUBLE: {
        double d;
        memcpy(&d, p, sizeof d);
        return d != d;
    }
    case CR_FIELD_DATETIME: {
        cr_datetime dt;
        memcpy(&dt, p, sizeof dt);
        return dt.year == CR_NULL_YEAR;
    }
    case CR_FIELD_BOOL: {
        bool b;
        memcpy(&b, p, sizeof b);
        return (((const cr_object *)in->obj)->nulls >> i & 1) && !b;
    }
    default:
        return false;
    }
}

/* Make scalar field i NULL. */
static void scalar_set_null(cr_instance *in, size_t i, void *p)
{
    cr_object *o = in->obj;
    memset(p, 0, scalar_size(in->mapper->fields[i].kind));
    switch (in->mapper->fields[i].kind) {
    case CR_FIELD_INT64: {
        int64_t v = CR_NULL_INT64;
        memcpy(p, &v, sizeof v);
        break;
    }
    case CR_FIELD_DOUBLE: {
        double d = CR_NULL_DOUBLE;
        memcpy(p, &d, sizeof d);
        break;
    }
    case CR_FIELD_DATETIME: {
        cr_datetime dt = {.year = CR_NULL_YEAR};
        memcpy(p, &dt, sizeof dt);
        break;
    }
    default:
        break;
    }
    o->nulls |= UINT64_C(1) << i;
}

cr_value cr_field_value(const cr_instance *in, size_t i)
{
    const cr_field *f = &in->mapper->fields[i];
    const void *p = field_ptr(in, i);
    if (is_scalar(f->kind) && scalar_is_null(in, i, p))
        return cr_val_null();
    cr_value v = {f->vtype, {0}};
    switch (f->kind) {
    case CR_FIELD_INT64: memcpy(&v.v.i, p, sizeof v.v.i); break;
    case CR_FIELD_DOUBLE: memcpy(&v.v.d, p, sizeof v.v.d); break;
    case CR_FIELD_BOOL: memcpy(&v.v.b, p, sizeof v.v.b); break;
    case CR_FIELD_DATETIME: memcpy(&v.v.dt, p, sizeof v.v.dt); break;
    case CR_FIELD_TEXT: {
        const char *s = *(char *const *)p;
        if (!s)
            return cr_val_null();
        v.v.s.ptr = s;
        v.v.s.len = strlen(s);
        break;
    }
    case CR_FIELD_BLOB: {
        const cr_bytes *b = p;
        if (!b->data)
            return cr_val_null();
        v.v.blob.ptr = b->data;
        v.v.blob.len = b->len;
        break;
    }
    }
    return v;
}

static bool datetime_same(const cr_datetime *a, const cr_datetime *b)
{
    return a->year == b->year && a->month == b->month && a->day == b->day &&
           a->hour == b->hour && a->minute == b->minute && a->second == b->second &&
           a->microsecond == b->microsecond && a->has_utc_offset == b->has_utc_offset &&
           (!a->has_utc_offset || a->utc_offset == b->utc_offset);
}

bool cr_value_same(const cr_value *a, const cr_value *b)
{
    if (a->type != b->type)
        return false;
    switch (a->type) {
    case CR_NULL: return true;
    case CR_INT: return a->v.i == b->v.i;
    case CR_DOUBLE: return memcmp(&a->v.d, &b->v.d, sizeof a->v.d) == 0;
    case CR_BOOL: return a->v.b == b->v.b;
    case CR_TEXT:
    case CR_NUMERIC:
        return a->v.s.len == b->v.s.len && memcmp(a->v.s.ptr, b->v.s.ptr, a->v.s.len) == 0;
    case CR_BLOB:
        return a->v.blob.len == b->v.blob.len &&
               (a->v.blob.len == 0 || memcmp(a->v.blob.ptr, b->v.blob.ptr, a->v.blob.len) == 0);
    case CR_DATE:
    case CR_TIME:
    case CR_DATETIME:
        return datetime_same(&a->v.dt, &b->v.dt);
    }
    return false;
}

/* A heap copy of len bytes, NUL-terminated. */
static char *copy_bytes(const void *p, size_t len)
{
    char *c = cr_malloc(len + 1);
    if (c) {
        if (len)
            memcpy(c, p, len);
        c[len] = '\0';
    }
    return c;
}

cr_status cr_field_store(cr_instance *in, size_t i, const cr_value *v)
{
    const cr_field *f = &in->mapper->fields[i];
    void *p = field_ptr(in, i);
    cr_object *o = in->obj;
    uint64_t bit = UINT64_C(1) << i;
    if (f->kind == CR_FIELD_TEXT || f->kind == CR_FIELD_BLOB) {
        char *copy = NULL;
        if (v->type != CR_NULL) {
            bool blob = v->type == CR_BLOB;
            copy = copy_bytes(blob ? v->v.blob.ptr : v->v.s.ptr, blob ? v->v.blob.len : v->v.s.len);
            if (!copy)
                return CR_ERR_NO_MEMORY;
        }
        cr_free(in->owned[i]);
        in->owned[i] = copy;
        if (f->kind == CR_FIELD_TEXT) {
            *(char **)p = copy;
        } else {
            cr_bytes *b = p;
            b->data = copy;
            b->len = copy ? v->v.blob.len : 0;
        }
        o->nulls &= ~bit;
        return CR_OK;
    }
    if (v->type == CR_NULL) {
        scalar_set_null(in, i, p);
        return CR_OK;
    }
    o->nulls &= ~bit;
    switch (f->kind) {
    case CR_FIELD_INT64: memcpy(p, &v->v.i, sizeof v->v.i); break;
    case CR_FIELD_DOUBLE: memcpy(p, &v->v.d, sizeof v->v.d); break;
    case CR_FIELD_BOOL: memcpy(p, &v->v.b, sizeof v->v.b); break;
    case CR_FIELD_DATETIME: memcpy(p, &v->v.dt, sizeof v->v.dt); break;
    default: break;
    }
    return CR_OK;
}

cr_status cr_snapshot_take(cr_instance *in)
{
    size_t n = in->mapper->nfields;
    cr_value fresh[64];
    for (size_t i = 0; i < n; i++) {
        fresh[i] = cr_field_value(in, i);
        bool text = fresh[i].type == CR_TEXT || fresh[i].type == CR_NUMERIC;
        bool blob = fresh[i].type == CR_BLOB;
        if (!text && !blob)
            continue;
        char *c = copy_bytes(text ? (const void *)fresh[i].v.s.ptr : fresh[i].v.blob.ptr,
                             text ? fresh[i].v.s.len : fresh[i].v.blob.len);
        if (!c) {
            for (size_t j = 0; j < i; j++)
                if (fresh[j].type == CR_TEXT || fresh[j].type == CR_NUMERIC ||
                    fresh[j].type == CR_BLOB)
                    free_snap_value(&fresh[j]);
            return CR_ERR_NO_MEMORY;
        }
        if (text)
            fresh[i].v.s.ptr = c;
        else
            fresh[i].v.blob.ptr = c;
    }
    cr_object *o = in->obj;
    for (size_t i = 0; i < n; i++) {
        free_snap_value(&in->snap[i]);
        in->snap[i] = fresh[i];
        /* The null mask says what the snapshot says. */
        if (is_scalar(in->mapper->fields[i].kind)) {
            if (fresh[i].type == CR_NULL)
                o->nulls |= UINT64_C(1) << i;
            else
                o->nulls &= ~(UINT64_C(1) << i);
        }
    }
    return CR_OK;
}

cr_status cr_object_set_null(void *obj, size_t offset, bool null)
{
    cr_instance *in = cr_instance_of(obj);
    if (!in)
        return CR_ERR_UNMAPPED_INSTANCE;
    int i = field_at(in, offset);
    if (i < 0)
        return CR_ERR_ARGUMENT;
    cr_object *o = obj;
    uint64_t bit = UINT64_C(1) << i;
    if (!null) {
        /* The field keeps what it holds, as a value: 0 for a sentinel. */
        void *p = field_ptr(in, (size_t)i);
        if (is_scalar(in->mapper->fields[i].kind) && scalar_is_null(in, (size_t)i, p))
            memset(p, 0, scalar_size(in->mapper->fields[i].kind));
        o->nulls &= ~bit;
        return CR_OK;
    }
    if (in->mapper->fields[i].kind == CR_FIELD_TEXT || in->mapper->fields[i].kind == CR_FIELD_BLOB) {
        cr_value v = cr_val_null();
        return cr_field_store(in, (size_t)i, &v);
    }
    scalar_set_null(in, (size_t)i, field_ptr(in, (size_t)i));
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
        return CR_ERR_UNMAPPED_INSTANCE;
    int i = field_at(in, offset);
    if (i < 0 || in->mapper->fields[i].kind != kind)
        return CR_ERR_ARGUMENT;
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

/* ---- rows ---- */

uint64_t cr_key_hash(const cr_value *vals, size_t n)
{
    uint64_t h = 1469598103934665603u;
    for (size_t k = 0; k < n; k++) {
        const cr_value *v = &vals[k];
        const unsigned char *p;
        size_t len;
        int64_t iv;
        if (v->type == CR_TEXT || v->type == CR_NUMERIC) {
            p = (const unsigned char *)v->v.s.ptr;
            len = v->v.s.len;
        } else if (v->type == CR_INT || v->type == CR_BOOL) {
            iv = v->type == CR_INT ? v->v.i : v->v.b;
            p = (const unsigned char *)&iv;
            len = sizeof iv;
        } else {
            p = (const unsigned char *)&v->type;
            len = sizeof v->type;
        }
        for (size_t i = 0; i < len; i++)
            h = (h ^ p[i]) * 1099511628211u;
        h = (h ^ 0xff) * 1099511628211u;
    }
    return h;
}

/* Read column c of the row as field i wants it. */
static cr_status read_column(const cr_instance *in, size_t i, const cr_row *row, int c,
                             cr_value *out)
{
    const cr_field *f = &in->mapper->fields[i];
    int isnull = cr_row_is_null_at(row, c);
    if (isnull < 0)
        return CR_ERR_ARGUMENT;
    *out = (cr_value){f->vtype, {0}};
    if (isnull) {
        *out = cr_val_null();
        return CR_OK;
    }
    switch (f->vtype) {
    case CR_INT: return cr_row_int64_at(row, c, &out->v.i);
    case CR_DOUBLE: return cr_row_double_at(row, c, &out->v.d);
    case CR_BOOL: return cr_row_bool_at(row, c, &out->v.b);
    case CR_TEXT: return cr_row_text_at(row, c, &out->v.s.ptr, &out->v.s.len);
    case CR_NUMERIC: {
        cr_status st = cr_row_numeric_at(row, c, &out->v.s.ptr);
        out->v.s.len = st == CR_OK ? strlen(out->v.s.ptr) : 0;
        return st;
    }
    case CR_BLOB: return cr_row_blob_at(row, c, &out->v.blob.ptr, &out->v.blob.len);
    case CR_DATE: return cr_row_date_at(row, c, &out->v.dt);
    case CR_TIME: return cr_row_time_at(row, c, &out->v.dt);
    case CR_DATETIME: return cr_row_datetime_at(row, c, &out->v.dt);
    default: return CR_ERR_INTERNAL;
    }
}

cr_status cr_row_key(const cr_mapper *m, const cr_row *row, int base, cr_value *key,
                     cr_error *err)
{
    cr_instance probe = {.mapper = m};
    for (size_t k = 0; k < m->npk; k++) {
        size_t i = m->pk[k];
        cr_status st = read_column(&probe, i, row, base + (int)i, &key[k]);
        if (st)
            return cr_error_set(err, st, "loading %s: its key column %s: %s", m->name,
                                m->fields[i].col->name, cr_status_name(st));
        if (key[k].type == CR_NULL)
            return cr_error_set(err, CR_ERR_FLUSH, "loading %s: a row whose key column %s is "
                                "NULL", m->name, m->fields[i].col->name);
    }
    return CR_OK;
}

cr_status cr_instance_load_row(cr_instance *in, const cr_row *row, int base, cr_error *err)
{
    const cr_mapper *m = in->mapper;
    for (size_t i = 0; i < m->nfields; i++) {
        cr_value v;
        cr_status st = read_column(in, i, row, base + (int)i, &v);
        if (st) {
            const cr_error *re = cr_row_error(row);
            return cr_error_set(err, st, "loading %s.%s: %s", m->name, m->fields[i].col->name,
                                re ? cr_error_message(re) : cr_status_name(st));
        }
        if (cr_field_store(in, i, &v))
            return cr_error_oom(err);
    }
    if (cr_snapshot_take(in))
        return cr_error_oom(err);
    in->expired = false;
    return CR_OK;
}
