/* shardset.h — internal structure of a shard set and the merge that fan-out queries and the sharded session share. */
#ifndef CR_SHARDSET_H
#define CR_SHARDSET_H

#include "engine/engine.h"

typedef struct cr_shard {
    char name[64];
    cr_engine *engine;
    bool owned;                  /* made by cr_shard_set_add_url: freed with the set */
} cr_shard;

struct cr_shard_set {
    cr_shard_choosers choosers;
    cr_shard shards[CR_SHARD_MAX];
    size_t n;
    cr_error err;
};

/* The index of the named shard, or -1. */
int cr_shard_find(const cr_shard_set *set, const char *name);
/* The index of the shard the program names; -1 with an ArgumentError on
 * err naming it and the set's shards. */
int cr_shard_named(const cr_shard_set *set, const char *name, cr_error *err);
/* The index of the shard a chooser (what: "key", "object" ...) returned;
 * -1 with an ArgumentError on err naming the name and the set's shards. */
int cr_shard_resolve(const cr_shard_set *set, const char *name, const char *what, cr_error *err);
/* The shards to run q on: the nnames names given, else the query
 * chooser's, else all, into idx (CR_SHARD_MAX room). Returns how many; 0
 * with the error on err. */
size_t cr_shard_targets(cr_shard_set *set, const cr_stmt *q, const char *const *names,
                        size_t nnames, int *idx, cr_error *err);

/* How a key orders: the values of sql/ast.h's CR_ORDER_* flags (checked
 * there), which the engine layer does not see. */
enum { CR_MERGE_DESC = 1, CR_MERGE_NULLS_FIRST = 2, CR_MERGE_NULLS_LAST = 4 };

/* One ORDER BY key of a merge: where its value is (a column of the row, a
 * field of the object) and its CR_MERGE_* flags. */
typedef struct cr_order_key {
    int at;
    unsigned flags;
} cr_order_key;

/* -1, 0 or 1 as a sorts before, with or after b under one ORDER BY key,
 * NULLs placed as flags say, else high (PostgreSQL) or low. */
int cr_order_compare(const cr_value *a, const cr_value *b, unsigned flags, bool nulls_high);

/* The merge of nsrc sources, each sorted, of counts[s] items: compare
 * items (s1, i1) and (s2, i2); NULL concatenates them in source order. */
typedef int (*cr_merge_cmp)(void *ctx, size_t s1, size_t i1, size_t s2, size_t i2);
/* A place in a merge: source and item. */
typedef struct cr_merge_pick {
    uint32_t src;
    size_t idx;
} cr_merge_pick;
/* Write the merged order of the items into out (room for them all),
 * skipping the first offset and stopping after limit (-1: no limit);
 * returns how many were written. Ties go to the lower source. */
size_t cr_merge_order(size_t nsrc, const size_t *counts, cr_merge_cmp cmp, void *ctx,
                      int64_t offset, int64_t limit, cr_merge_pick *out);

/* One row set of parts (the shards' sets, taken: freed with it or on
 * failure; the array itself stays the caller's), the rows merged by keys
 * (nkeys 0: concatenated), shard_names[s] the name of part s (copied). NULL when out of memory (on err). */
cr_rowset *cr_rowset_merge(cr_rowset **parts, const char *const *shard_names, size_t nparts,
                           const cr_order_key *keys, size_t nkeys, bool nulls_high,
                           int64_t offset, int64_t limit, cr_error *err);

#endif
