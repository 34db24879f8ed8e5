/* memo.h — what a built statement remembers of the prepared statement its key found last time. */
#ifndef CR_ENGINE_MEMO_H
#define CR_ENGINE_MEMO_H

#include <stdint.h>

/* A statement run again and again on one connection finds its prepared
 * statement here instead of hashing and comparing its key: valid while
 * that connection (pc_id, unique per connection ever opened) has evicted
 * nothing from its cache since (evictions). */
typedef struct cr_prepared_memo {
    uint64_t pc_id;
    uint64_t evictions;
    struct cr_prepared *st;
} cr_prepared_memo;

#endif
