/* bench_shards.c — the cost of a fan-out's merge: cr_shard_set_fetch against running the same SELECT on each shard by hand, on SQLite files.
 *
 *   build/bench/bench_shards [--shards N] [--rows N] [--reps N]
 *
 * Each shard holds rows/shards rows. Three queries: no ORDER BY
 * (concatenation), ORDER BY two columns (the k-way merge), and the same with
 * LIMIT 100 OFFSET 1000 (LIMIT pushed down). "By hand" connects to each
 * shard, runs the statement and fetches every row into a row set, as the
 * fan-out does, without merging. Prints the best of reps for each and the
 * ratio. */
#include <crucible.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define ROW(F)                                                                         \
    F(id,    INTEGER,    .primary_key = true, .autoincrement = CR_NO)                  \
    F(name,  STRING(40))                                                               \
    F(score, INTEGER)
CR_MODEL(Row, "bench_rows", ROW)

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, const cr_error *e)
{
    fprintf(stderr, "bench_shards: %s: %s\n", what, cr_error_message(e));
    exit(1);
}

/* Fetch q on every shard into row sets, freed after: the work without the merge. */
static size_t by_hand(cr_shard_set *set, cr_stmt *q)
{
    size_t rows = 0;
    for (size_t i = 0; i < cr_shard_set_count(set); i++) {
        cr_conn *c = cr_shard_set_connect(set, cr_shard_set_name(set, i));
        if (!c)
            die("connect", cr_shard_set_error(set));
        cr_result *r = cr_conn_execute_stmt(c, q);
        if (!r)
            die("execute", cr_conn_error(c));
        cr_rowset *rs = cr_result_fetchall(r);
        rows += cr_rowset_count(rs);
        cr_rowset_free(rs);
        cr_result_free(r);
        cr_conn_close(c);
    }
    return rows;
}

static size_t fan_out(cr_shard_set *set, cr_stmt *q)
{
    cr_rowset *rs = cr_shard_set_fetch(set, q, NULL, 0);
    if (!rs)
        die("fetch", cr_shard_set_error(set));
    size_t n = cr_rowset_count(rs);
    cr_rowset_free(rs);
    return n;
}

static void measure(const char *what, cr_shard_set *set, cr_stmt *q, int reps)
{
    double best_hand = 1e9, best_fan = 1e9;
    size_t hand_rows = 0, fan_rows = 0;
    for (int r = 0; r < reps; r++) {
        double t = now();
        hand_rows = by_hand(set, q);
        double t2 = now();
        fan_rows = fan_out(set, q);
        double t3 = now();
        if (t2 - t < best_hand) best_hand = t2 - t;
        if (t3 - t2 < best_fan) best_fan = t3 - t2;
    }
    printf("%-34s by hand %8.2f ms (%zu rows fetched)  fan-out %8.2f ms (%zu rows merged)  "
           "ratio %.2f\n", what, best_hand * 1e3, hand_rows, best_fan * 1e3, fan_rows,
           best_fan / best_hand);
}

int main(int argc, char **argv)
{
    int nshards = 4, rows = 100000, reps = 5;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--shards") == 0) nshards = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--rows") == 0) rows = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--reps") == 0) reps = atoi(argv[i + 1]);
    }
    if (nshards < 1 || nshards > 16 || rows < nshards || reps < 1) {
        fprintf(stderr, "usage: %s [--shards 1..16] [--rows N] [--reps N]\n", argv[0]);
        return 2;
    }
    char dir[] = "/tmp/crucible-bench-shards-XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    cr_metadata *md = cr_metadata_new(NULL);
    if (!md || Row_define(md))
        return 1;
    cr_shard_set *set = cr_shard_set_new(NULL);
    char url[200], name[16];
    for (int s = 0; s < nshards; s++) {
        snprintf(url, sizeof url, "sqlite:///%s/shard%d.db", dir, s);
        snprintf(name, sizeof name, "s%d", s);
        if (cr_shard_set_add_url(set, name, url, NULL))
            die("add_url", cr_shard_set_error(set));
        cr_conn *c = cr_shard_set_connect(set, name);
        if (!c || cr_metadata_create_all(md, c, false))
            die("create", c ? cr_conn_error(c) : cr_shard_set_error(set));
        cr_stmt *ins = cr_insert(Row_model.table);
        cr_set(ins, Row_model.c.id, cr_bindparam(ins, "id"));
        cr_set(ins, Row_model.c.name, cr_bindparam(ins, "name"));
        cr_set(ins, Row_model.c.score, cr_bindparam(ins, "score"));
        for (int i = s; i < rows; i += nshards) {
            char text[40];
            snprintf(text, sizeof text, "name %d", (i * 7919) % rows);
            if (cr_conn_exec_stmt_params(c, ins, CR_PARAMS({"id", cr_val_int(i)},
                                                           {"name", cr_val_text(text)},
                                                           {"score", cr_val_int(i % 1000)})))
                die("insert", cr_conn_error(c));
        }
        if (cr_conn_commit(c))
            die("commit", cr_conn_error(c));
        cr_stmt_free(ins);
        cr_conn_close(c);
    }
    printf("%d SQLite shards, %d rows in all, best of %d\n", nshards, rows, reps);
    cr_stmt *q = cr_select(Row_model.table);
    measure("SELECT * (concatenated)", set, q, reps);
    cr_order_by(q, cr_desc(q, Row_model.c.score), Row_model.c.name);
    measure("ORDER BY score DESC, name (merged)", set, q, reps);
    cr_limit(q, 100);
    cr_offset(q, 1000);
    measure("... LIMIT 100 OFFSET 1000", set, q, reps);
    cr_stmt_free(q);
    cr_shard_set_free(set);
    cr_metadata_free(md);
    for (int s = 0; s < nshards; s++) {
        snprintf(url, sizeof url, "%s/shard%d.db", dir, s);
        unlink(url);
    }
    rmdir(dir);
    return 0;
}
