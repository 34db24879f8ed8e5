/* instance.c — an object's memory: its fields as values, its snapshot, the text it owns, rows into it. */
#include "orm/orm.h"

#include <string.h>

/* One allocation holds the instance, the struct, the snapshot (a second
 * struct), the field buffers and — for an object made from a row — the
 * row's text. A text or blob buffer the library made is freed when neither
 * the field (fbuf) nor the snapshot refers to it any more, unless it lies in
 * the allocation itself. */

/* What an object's header holds beside its instance pointer: a function
 * of both addresses, which junk (or a copy of the header elsewhere) matches
 * with odds of one in 2^64, so that the pointer is followed only when it is
 * the library's. */
static uintptr_t seal_of(const cr_instance *in, const void *obj)
{
    return (((uintptr_t)in ^ (uintptr_t)obj) * (uintptr_t)0x9e3779b97f4a7c15u) ^
           (uintptr_t)CR_INSTANCE_MAGIC;
}

cr_instance *cr_instance_of(const void *obj)
{
    if (!obj)
        return NULL;
    const cr_object *h = obj;
    cr_instance *in = h->instance;
    if (!in || h->seal != seal_of(in, obj) || in->magic != CR_INSTANCE_MAGIC || in->obj != obj)
        return NULL;
    return in;
}

cr_instance *cr_instance_alloc(const cr_mapper *m, size_t extra)
{
    unsigned char *p = cr_calloc(1, m->alloc_size + extra);
    if (!p)
        return NULL;
    cr_instance *in = (cr_instance *)p;
    in->magic = CR_INSTANCE_MAGIC;
    in->mapper = m;
    in->obj = p + m->obj_off;
    in->snap = p + m->snap_off;
    in->fbuf = (void **)(p + m->fbuf_off);
    in->size = m->alloc_size + extra;
    in->insert_level = in->delete_level = -1;
    ((cr_object *)in->obj)->instance = in;
    ((cr_object *)in->obj)->seal = seal_of(in, in->obj);
    return in;
}

static bool is_bytes(cr_field_kind k) { return k == CR_FIELD_TEXT || k == CR_FIELD_BLOB; }

static void *slot(const cr_instance *in, const void *base, size_t i)
{
    return (char *)base + in->mapper->fields[i].offset;
}

/* The buffer a text or blob field of base points at. */
static void *buffer_of(const cr_instance *in, const void *base, size_t i)
{
    void *p = slot(in, base, i);
    return in->mapper->fields[i].kind == CR_FIELD_TEXT ? *(void **)p : ((cr_bytes *)p)->data;
}

static void release(const cr_instance *in, void *buf)
{
    const char *b = buf, *lo = (const char *)in;
    if (buf && !(b >= lo && b < lo + in->size))
        cr_free(buf);
}

void cr_instance_destroy(cr_instance *in)
{
    if (!in)
        return;
    for (size_t i = 0; i < in->mapper->nfields; i++) {
        if (!is_bytes(in->mapper->fields[i].kind))
            continue;
        void *snapbuf = buffer_of(in, in->snap, i);
        if (snapbuf != in->fbuf[i])
            release(in, snapbuf);
        release(in, in->fbuf[i]);
    }
    cr_rel_forget(in);
    cr_instance_forget_saves(in);
    in->magic = 0;
    ((cr_object *)in->obj)->seal = 0;
    cr_free(in);
}

size_t cr_scalar_size(cr_field_kind k)
{
    return k == CR_FIELD_INT64 ? sizeof(int64_t)
           : k == CR_FIELD_DOUBLE ? sizeof(double)
           : k == CR_FIELD_BOOL   ? sizeof(bool)
                                  : sizeof(cr_datetime);
}

/* Whether every field of the object holds the very bytes its snapshot
 * holds, with the same null mask: then it is unchanged, found without
 * reading a value. Text and blobs compare by pointer, which is enough since
 * loaded text is read-only (a new value is a new pointer). False only means
 * "compare the values" (a NaN, -0.0, an equal copy of the text). */
bool cr_instance_same_bytes(const cr_instance *in)
{
    const cr_mapper *m = in->mapper;
    const char *o = in->obj, *sn = in->snap;
    if (((const cr_object *)o)->nulls != ((const cr_object *)sn)->nulls)
        return false;
    for (size_t i = 0; i < m->nfields; i++) {
        const cr_field *f = &m->fields[i];
        const char *a = o + f->offset, *b = sn + f->offset;
        uint64_t x, y;
        switch (f->kind) {
        case CR_FIELD_INT64:
        case CR_FIELD_DOUBLE:   /* as bits: a NaN (NULL) equals itself */
            memcpy(&x, a, sizeof x);
            memcpy(&y, b, sizeof y);
            if (x != y)
                return false;
            break;
        case CR_FIELD_TEXT:
            if (*(char *const *)a != *(char *const *)b)
                return false;
            break;
        default:
            if (memcmp(a, b, f->kind == CR_FIELD_BLOB ? sizeof(cr_bytes)
                                                      : cr_scalar_size(f->kind)) != 0)
                return false;
            break;
        }
    }
    return true;
}

/* Whether scalar field i of base holds NULL: its sentinel, or for a bool
 * the mask bit with false. */
static bool scalar_is_null(const cr_instance *in, const void *base, size_t i)
{
    const void *p = slot(in, base, i);
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
        return (((const cr_object *)base)->nulls >> i & 1) && !b;
    }
    default:
        return false;
    }
}

void cr_instance_set_null(cr_instance *in, size_t i)
{
    void *p = slot(in, in->obj, i);
    cr_field_kind kind = in->mapper->fields[i].kind;
    if (is_bytes(kind)) {
        cr_value null = cr_val_null();
        cr_field_store(in, i, &null);
        return;
    }
    memset(p, 0, cr_scalar_size(kind));
    if (kind == CR_FIELD_INT64) {
        int64_t v = CR_NULL_INT64;
        memcpy(p, &v, sizeof v);
    } else if (kind == CR_FIELD_DOUBLE) {
        double d = CR_NULL_DOUBLE;
        memcpy(p, &d, sizeof d);
    } else if (kind == CR_FIELD_DATETIME) {
        cr_datetime dt = {.year = CR_NULL_YEAR};
        memcpy(p, &dt, sizeof dt);
    }
    ((cr_object *)in->obj)->nulls |= UINT64_C(1) << i;
}

void cr_instance_clear_null(cr_instance *in, size_t i)
{
    cr_field_kind kind = in->mapper->fields[i].kind;
    if (!is_bytes(kind) && scalar_is_null(in, in->obj, i))
        memset(slot(in, in->obj, i), 0, cr_scalar_size(kind));
    ((cr_object *)in->obj)->nulls &= ~(UINT64_C(1) << i);
}

static cr_value value_of(const cr_instance *in, const void *base, size_t i)
{
    const cr_field *f = &in->mapper->fields[i];
    const void *p = slot(in, base, i);
    if (!is_bytes(f->kind) && scalar_is_null(in, base, i))
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

cr_value cr_field_value(const cr_instance *in, size_t i) { return value_of(in, in->obj, i); }
cr_value cr_snap_value(const cr_instance *in, size_t i) { return value_of(in, in->snap, i); }

bool cr_field_key(const cr_instance *in, cr_value *key)
{
    const cr_mapper *m = in->mapper;
    bool whole = true;
    for (size_t k = 0; k < m->npk; k++) {
        key[k] = cr_field_value(in, m->pk[k]);
        whole = whole && key[k].type != CR_NULL;
    }
    return whole;
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

/* Point a text or blob slot of base at buf (len bytes; buf NULL: NULL). */
static void point(const cr_instance *in, void *base, size_t i, void *buf, size_t len)
{
    void *p = slot(in, base, i);
    if (in->mapper->fields[i].kind == CR_FIELD_TEXT) {
        *(char **)p = buf;
    } else {
        ((cr_bytes *)p)->data = buf;
        ((cr_bytes *)p)->len = buf ? len : 0;
    }
}

/* The bytes of a text or blob value, and a NUL-terminated copy at dst. */
static size_t value_bytes(const cr_value *v, const void **src)
{
    bool blob = v->type == CR_BLOB;
    *src = blob ? v->v.blob.ptr : (const void *)v->v.s.ptr;
    return blob ? v->v.blob.len : v->v.s.len;
}

static char *copy_into(char *dst, const void *src, size_t len)
{
    if (len)
        memcpy(dst, src, len);
    dst[len] = '\0';
    return dst;
}

static void store_scalar(cr_instance *in, size_t i, const cr_value *v)
{
    void *p = slot(in, in->obj, i);
    if (v->type == CR_NULL) {
        cr_instance_set_null(in, i);
        return;
    }
    ((cr_object *)in->obj)->nulls &= ~(UINT64_C(1) << i);
    switch (in->mapper->fields[i].kind) {
    case CR_FIELD_INT64: memcpy(p, &v->v.i, sizeof v->v.i); break;
    case CR_FIELD_DOUBLE: memcpy(p, &v->v.d, sizeof v->v.d); break;
    case CR_FIELD_BOOL: memcpy(p, &v->v.b, sizeof v->v.b); break;
    case CR_FIELD_DATETIME: memcpy(p, &v->v.dt, sizeof v->v.dt); break;
    default: break;
    }
}

cr_status cr_field_prepare(const cr_instance *in, size_t i, const cr_value *v,
                           cr_field_prep *out)
{
    out->v = *v;
    out->buf = NULL;
    out->len = 0;
    if (!is_bytes(in->mapper->fields[i].kind) || v->type == CR_NULL)
        return CR_OK;
    const void *src;
    size_t len = value_bytes(v, &src);
    char *buf = cr_malloc(len + 1);
    if (!buf)
        return CR_ERR_NO_MEMORY;
    out->buf = copy_into(buf, src, len);
    out->len = len;
    return CR_OK;
}

void cr_field_apply(cr_instance *in, size_t i, cr_field_prep *p)
{
    if (!is_bytes(in->mapper->fields[i].kind)) {
        store_scalar(in, i, &p->v);
        return;
    }
    void *old = in->fbuf[i];
    in->fbuf[i] = p->buf;
    point(in, in->obj, i, p->buf, p->len);
    p->buf = NULL;
    if (old != buffer_of(in, in->snap, i))
        release(in, old);
}

cr_status cr_field_store(cr_instance *in, size_t i, const cr_value *v)
{
    cr_field_prep p;
    if (cr_field_prepare(in, i, v, &p))
        return CR_ERR_NO_MEMORY;
    cr_field_apply(in, i, &p);
    return CR_OK;
}

cr_status cr_snapshot_take(cr_instance *in) { return cr_snapshot_take_fields(in, UINT64_MAX); }

cr_status cr_snapshot_take_fields(cr_instance *in, uint64_t fields)
{
    const cr_mapper *m = in->mapper;
    in->as_made = false;
    void *fresh[64];
    /* First every copy the new snapshot needs, so that running out of
     * memory leaves the old one whole. */
    for (size_t i = 0; i < m->nfields; i++) {
        fresh[i] = NULL;
        if (!is_bytes(m->fields[i].kind) || !(fields >> i & 1))
            continue;
        cr_value now = cr_field_value(in, i), was = cr_snap_value(in, i);
        void *cur = buffer_of(in, in->obj, i);
        if (now.type == CR_NULL)
            continue;
        if (cur == in->fbuf[i]) {
            fresh[i] = cur;
        } else if (cr_value_same(&now, &was)) {
            fresh[i] = buffer_of(in, in->snap, i);
        } else {
            const void *src;
            size_t len = value_bytes(&now, &src);
            char *buf = cr_malloc(len + 1);
            if (!buf) {
                for (size_t j = 0; j < i; j++)
                    if (fresh[j] && fresh[j] != in->fbuf[j] &&
                        fresh[j] != buffer_of(in, in->snap, j))
                        release(in, fresh[j]);
                return CR_ERR_NO_MEMORY;
            }
            fresh[i] = copy_into(buf, src, len);
        }
    }
    cr_object *o = in->obj;
    for (size_t i = 0; i < m->nfields; i++) {
        const cr_field *f = &m->fields[i];
        if (!(fields >> i & 1))
            continue;
        if (!is_bytes(f->kind)) {
            memcpy(slot(in, in->snap, i), slot(in, o, i), cr_scalar_size(f->kind));
            continue;
        }
        void *old = buffer_of(in, in->snap, i), *was_own = in->fbuf[i];
        cr_value now = cr_field_value(in, i);
        size_t len = now.type == CR_BLOB ? now.v.blob.len : 0;
        point(in, in->snap, i, fresh[i], len);
        /* The object takes the text it now holds as its own, as if loaded:
         * a program's buffer the field pointed at is free for reuse (a loop
         * writing each title into one buffer must not rewrite the rows of
         * the objects before). */
        if (fresh[i] && buffer_of(in, o, i) != fresh[i]) {
            point(in, o, i, fresh[i], len);
            in->fbuf[i] = fresh[i];
        }
        if (old != fresh[i] && old != in->fbuf[i])
            release(in, old);
        if (was_own && was_own != old && was_own != in->fbuf[i])
            release(in, was_own);
    }
    /* The snapshot's null mask says which bools are NULL. */
    uint64_t nulls = 0;
    for (size_t i = 0; i < m->nfields; i++)
        if (m->fields[i].kind == CR_FIELD_BOOL && cr_field_value(in, i).type == CR_NULL)
            nulls |= UINT64_C(1) << i;
    o->nulls = (o->nulls & ~fields) | (nulls & fields);
    cr_object *snap = in->snap;
    snap->nulls = (snap->nulls & ~fields) | (nulls & fields);
    return CR_OK;
}

/* ---- what a rollback undoes ---- */

typedef struct cr_saved {
    struct cr_saved *below;      /* kept at a lower level                     */
    int level;
    cr_value vals[];             /* nfields, then their text and bytes        */
} cr_saved;

cr_status cr_instance_save(cr_instance *in, int level)
{
    if (in->saved && in->saved->level >= level)
        return CR_OK;   /* this level's first change is kept already */
    const cr_mapper *m = in->mapper;
    size_t bytes = sizeof(cr_saved) + m->nfields * sizeof(cr_value);
    for (size_t i = 0; i < m->nfields; i++) {
        cr_value v = cr_snap_value(in, i);
        const void *src;
        if (v.type != CR_NULL && is_bytes(m->fields[i].kind))
            bytes += value_bytes(&v, &src) + 1;
    }
    cr_saved *sv = cr_malloc(bytes);
    if (!sv)
        return CR_ERR_NO_MEMORY;
    char *text = (char *)&sv->vals[m->nfields];
    for (size_t i = 0; i < m->nfields; i++) {
        cr_value v = cr_snap_value(in, i);
        const void *src;
        if (v.type != CR_NULL && is_bytes(m->fields[i].kind)) {
            size_t len = value_bytes(&v, &src);
            char *copy = copy_into(text, src, len);
            text += len + 1;
            if (v.type == CR_BLOB)
                v.v.blob.ptr = copy;
            else
                v.v.s.ptr = copy;
        }
        sv->vals[i] = v;
    }
    sv->level = level;
    sv->below = in->saved;
    in->saved = sv;
    return CR_OK;
}

bool cr_instance_unsave(cr_instance *in, int level)
{
    cr_saved *oldest = NULL;
    while (in->saved && in->saved->level >= level) {
        cr_saved *t = in->saved;
        in->saved = t->below;
        cr_free(oldest);
        oldest = t;
    }
    if (!oldest)
        return false;
    bool done = true;
    for (size_t i = 0; i < in->mapper->nfields && done; i++)
        done = cr_field_store(in, i, &oldest->vals[i]) == CR_OK;
    /* Out of memory: the fields go back to the snapshot (the expiry after). */
    done = done && cr_snapshot_take(in) == CR_OK;
    cr_free(oldest);
    return done;
}

void cr_instance_release_save(cr_instance *in, int level)
{
    cr_saved *top = in->saved;
    if (!top || top->level < level)
        return;
    if (top->below && top->below->level == level - 1) {   /* the older one stands */
        in->saved = top->below;
        cr_free(top);
    } else {
        top->level = level - 1;
    }
}

void cr_instance_forget_saves(cr_instance *in)
{
    while (in->saved) {
        cr_saved *t = in->saved;
        in->saved = t->below;
        cr_free(t);
    }
}

/* ---- rows ---- */

/* A 64-bit finalizer (MurmurHash3's): every input bit moves every output
 * bit. */
static uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= UINT64_C(0xff51afd7ed558ccd);
    x ^= x >> 33;
    x *= UINT64_C(0xc4ceb9fe1a85ec53);
    return x ^ (x >> 33);
}

uint64_t cr_key_hash(const cr_value *vals, size_t n)
{
    /* The common key, one integer: four consecutive keys hash to four
     * consecutive values (the identity map's slots, one cache line), each
     * four to a well-spread place, so that rows loaded in key order probe
     * memory in order. */
    if (n == 1 && vals[0].type == CR_INT) {
        uint64_t x = (uint64_t)vals[0].v.i;
        return mix64(x >> 2) << 2 | (x & 3);
    }
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
    return mix64(h);
}

/* Read column c of the row as field i of m wants it. */
static cr_status read_column(const cr_mapper *m, size_t i, const cr_row *row, int c,
                             cr_value *out)
{
    const cr_field *f = &m->fields[i];
    /* The common case, read in place: a NULL, or a value of the field's
     * type that needs no conversion (a NUMERIC's text is normalised). */
    if (row->values && c >= 0 && c < row->ncols) {
        const cr_value *raw = &row->values[c];
        if (raw->type == CR_NULL) {
            *out = cr_val_null();
            return CR_OK;
        }
        if (raw->type == f->vtype && f->vtype != CR_NUMERIC) {
            *out = *raw;
            return CR_OK;
        }
    }
    /* Else through the checked getters, which convert or say what is
     * wrong. */
    *out = (cr_value){f->vtype, {0}};
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

static cr_status read_failed(const cr_mapper *m, size_t i, const cr_row *row, cr_status st,
                             cr_error *err)
{
    const cr_error *re = cr_row_error(row);
    return cr_error_set(err, st, "loading %s.%s: %s", m->name, m->fields[i].col->name,
                        re ? cr_error_message(re) : cr_status_name(st));
}

cr_status cr_row_key(const cr_mapper *m, const cr_row *row, int base, cr_value *key,
                     cr_error *err)
{
    for (size_t k = 0; k < m->npk; k++) {
        size_t i = m->pk[k];
        cr_status st = read_column(m, i, row, base + (int)i, &key[k]);
        if (st)
            return read_failed(m, i, row, st, err);
        if (key[k].type == CR_NULL)
            return cr_error_set(err, CR_ERR_FLUSH, "loading %s: a row whose key column %s is "
                                "NULL", m->name, m->fields[i].col->name);
    }
    return CR_OK;
}

/* The row into an object (expired, or with fields not loaded): the fields
 * of the mask. A field set by hand since the expiry (one that differs from
 * the snapshot, which the expiry left equal to the fields) keeps its value,
 * copied before anything is released, as SQLAlchemy loads only the
 * attributes not set since; the snapshot takes the row's value either way,
 * so the next flush writes the kept ones. A row that cannot be read leaves
 * the object as it was. */
cr_status cr_instance_load_fields(cr_instance *in, const cr_row *row, int base, uint64_t fields,
                                  cr_error *err)
{
    const cr_mapper *m = in->mapper;
    cr_value vals[64];
    for (size_t i = 0; i < m->nfields; i++) {
        if (!(fields >> i & 1))
            continue;
        cr_status st = read_column(m, i, row, base + (int)i, &vals[i]);
        if (st)
            return read_failed(m, i, row, st, err);
    }
    cr_field_prep kept[64];
    uint64_t keep = 0;
    bool oom = false;
    for (size_t i = 0; i < m->nfields && !oom; i++) {
        if (!(fields >> i & 1))
            continue;
        cr_value now = cr_field_value(in, i), was = cr_snap_value(in, i);
        if (cr_value_same(&now, &was))
            continue;
        oom = cr_field_prepare(in, i, &now, &kept[i]) != CR_OK;
        if (!oom)
            keep |= UINT64_C(1) << i;
    }
    for (size_t i = 0; i < m->nfields && !oom; i++)
        if (fields >> i & 1)
            oom = cr_field_store(in, i, &vals[i]) != CR_OK;
    oom = oom || cr_snapshot_take_fields(in, fields) != CR_OK;
    for (size_t i = 0; i < m->nfields; i++) {
        if (!(keep >> i & 1))
            continue;
        if (oom)
            cr_free(kept[i].buf);
        else
            cr_field_apply(in, i, &kept[i]);
    }
    if (oom)
        return cr_error_oom(err);
    in->expired = in->touched = false;
    return CR_OK;
}

cr_instance *cr_instance_from_row(const cr_mapper *m, const cr_row *row, int base, cr_error *err)
{
    cr_value vals[64];
    size_t extra = 0;
    for (size_t i = 0; i < m->nfields; i++) {
        cr_status st = read_column(m, i, row, base + (int)i, &vals[i]);
        if (st) {
            read_failed(m, i, row, st, err);
            return NULL;
        }
        if (vals[i].type != CR_NULL && is_bytes(m->fields[i].kind)) {
            const void *src;
            extra += value_bytes(&vals[i], &src) + 1;
        }
    }
    cr_instance *in = cr_instance_alloc(m, extra);
    if (!in) {
        cr_error_oom(err);
        return NULL;
    }
    char *text = (char *)in + m->alloc_size;
    for (size_t i = 0; i < m->nfields; i++) {
        if (!is_bytes(m->fields[i].kind)) {
            store_scalar(in, i, &vals[i]);
            memcpy(slot(in, in->snap, i), slot(in, in->obj, i),
                   cr_scalar_size(m->fields[i].kind));
            continue;
        }
        if (vals[i].type == CR_NULL)
            continue;
        const void *src;
        size_t len = value_bytes(&vals[i], &src);
        char *buf = copy_into(text, src, len);
        text += len + 1;
        in->fbuf[i] = buf;
        point(in, in->obj, i, buf, len);
        point(in, in->snap, i, buf, len);
    }
    ((cr_object *)in->snap)->nulls = ((cr_object *)in->obj)->nulls;
    return in;
}

bool cr_ptr_in(void *const *list, size_t n, const void *p)
{
    for (size_t i = 0; i < n; i++)
        if (list[i] == p)
            return true;
    return false;
}
