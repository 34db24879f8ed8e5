/* arena.c — bump allocation in chunks, released all at once. */
#include "base/base.h"

#include <string.h>

struct cr_arena_chunk {
    cr_arena_chunk *next;
    size_t used, size;
    _Alignas(max_align_t) unsigned char data[];
};

void cr_arena_init(cr_arena *a, size_t chunk_size)
{
    a->head = NULL;
    a->borrowed = NULL;
    a->chunk_size = chunk_size ? chunk_size : 16384;
}

void cr_arena_init_with(cr_arena *a, void *storage, size_t size, size_t chunk_size)
{
    cr_arena_init(a, chunk_size);
    if (size <= sizeof(cr_arena_chunk))
        return;
    cr_arena_chunk *c = storage;
    c->next = NULL;
    c->used = 0;
    c->size = size - sizeof(cr_arena_chunk);
    a->head = a->borrowed = c;
}

void *cr_arena_alloc(cr_arena *a, size_t n)
{
    const size_t align = _Alignof(max_align_t);
    n = (n + align - 1) & ~(align - 1);
    cr_arena_chunk *c = a->head;
    if (!c || c->size - c->used < n) {
        size_t size = n > a->chunk_size ? n : a->chunk_size;
        c = cr_malloc(sizeof *c + size);
        if (!c)
            return NULL;
        c->size = size;
        c->used = 0;
        c->next = a->head;
        a->head = c;
        /* Grow chunk sizes for big sets so the chunk count stays logarithmic. */
        if (a->chunk_size < (size_t)1 << 24)
            a->chunk_size *= 2;
    }
    void *p = c->data + c->used;
    c->used += n;
    return p;
}

void cr_arena_free(cr_arena *a)
{
    cr_arena_chunk *c = a->head;
    while (c) {
        cr_arena_chunk *next = c->next;
        if (c != a->borrowed)
            cr_free(c);
        c = next;
    }
    a->head = NULL;
    a->borrowed = NULL;
}

cr_value *cr_arena_copy_values(cr_arena *a, const cr_value *src, int n)
{
    cr_value *dst = cr_arena_alloc(a, sizeof(cr_value) * (size_t)(n > 0 ? n : 1));
    if (!dst)
        return NULL;
    for (int i = 0; i < n; i++) {
        dst[i] = src[i];
        if (src[i].type == CR_TEXT || src[i].type == CR_NUMERIC) {
            char *p = cr_arena_alloc(a, src[i].v.s.len + 1);
            if (!p)
                return NULL;
            memcpy(p, src[i].v.s.ptr, src[i].v.s.len);
            p[src[i].v.s.len] = '\0';
            dst[i].v.s.ptr = p;
        } else if (src[i].type == CR_BLOB) {
            void *p = cr_arena_alloc(a, src[i].v.blob.len);
            if (!p)
                return NULL;
            if (src[i].v.blob.len)
                memcpy(p, src[i].v.blob.ptr, src[i].v.blob.len);
            dst[i].v.blob.ptr = p;
        }
    }
    return dst;
}
