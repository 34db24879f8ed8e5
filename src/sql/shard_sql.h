/* shard_sql.h — what a fan-out does to a statement: LIMIT / OFFSET sent down to the shards, ORDER BY items read back. */
#ifndef CR_SHARD_SQL_H
#define CR_SHARD_SQL_H

#include "engine/shardset.h"
#include "sql/stmt.h"

_Static_assert((int)CR_MERGE_DESC == (int)CR_ORDER_DESC &&
               (int)CR_MERGE_NULLS_FIRST == (int)CR_ORDER_NULLS_FIRST &&
               (int)CR_MERGE_NULLS_LAST == (int)CR_ORDER_NULLS_LAST,
               "merge flags are ORDER BY flags");

/* q's LIMIT and OFFSET for one fan-out: limit -1 when none. */
typedef struct cr_limit_push {
    int64_t offset, limit;
    bool active;                 /* q was changed: pop it                    */
    cr_expr *offset_node;
    cr_value limit_was;
} cr_limit_push;

/* Make q fetch what the merge needs from each shard: LIMIT n + m, no
 * OFFSET (applied after the merge); p remembers what q had. Undo with
 * cr_limit_pop before q is handed back. */
void cr_limit_push_down(cr_stmt *q, cr_limit_push *p);
void cr_limit_pop(cr_stmt *q, cr_limit_push *p);

/* The largest ORDER BY a merge follows. */
#define CR_MERGE_MAX_KEYS 16

/* ORDER BY item i of q: the expression ordered by and its CR_ORDER_* flags. */
const cr_expr *cr_order_item(const cr_stmt *q, size_t i, unsigned *flags);
/* Copy the error of a shard onto err, its message prefixed with the
 * shard's name. Returns its class. */
cr_status cr_shard_error(cr_error *err, const char *shard, const cr_error *src);

#endif
