/* bench.c — Crucible against the raw client libraries, in one process.
 *
 *   bench [sqlite|postgresql|mysql ...] [--rows N] [--quick] [--reps N]
 *         [--only insert,lookup,fetch,orm,rel,unprepared,replicas] [--no-settle]
 *
 * For each backend asked for (all three by default) it runs three workloads
 * through Crucible and through the backend's own client library (libsqlite3,
 * libpq, libmariadb), alternating the two, and reports the best (minimum)
 * time of each, their ratio crucible/raw and, for the fetch workload, the
 * peak RSS growth. The workloads:
 *
 *   1. insert N rows (default 100,000) in one transaction into
 *      bench_items(id, name, qty, price): Crucible with cr_conn_exec and
 *      CR_PARAMS per row, and again with one cr_conn_executemany; raw with a
 *      statement prepared once and bound and executed per row.
 *   2. N/10 single-row selects by primary key, every column read into a
 *      struct; raw with a statement prepared once and executed per lookup.
 *      On SQLite the time reported is the best block of 1,000 lookups
 *      (LOOKUP_BLOCK) times the blocks in a run, for each side.
 *   3. fetch 5N rows (inserted first, not timed) into structs: Crucible with
 *      a fetchone loop and the typed getters, raw through the client API.
 *      PostgreSQL and MySQL run it twice: with the client's default
 *      buffering, and streamed (cr_conn_set_stream_results; raw: libpq's
 *      single-row mode, mysql_stmt_fetch without mysql_stmt_store_result).
 *
 * Each workload runs a third time through the SQL expression language
 * (Core): insert() with cr_conn_executemany_stmt (multi-row VALUES batches),
 * a select() by primary key built anew for every lookup (the statement
 * cache's hit path) and built once with cr_bindparam and executed for every
 * lookup with cr_conn_execute_stmt_params (a reused statement: no rebuild,
 * no new key), and select(table) fetched buffered and streamed.
 *
 * And through the ORM (bench_orm): N new objects flushed in one transaction
 * with their generated keys fetched back (raw: its rows inserted one by
 * one), N/10 session gets by primary key against an empty identity map, and
 * 5N rows loaded as objects, all at once and with a yield_per stream.
 *
 * And through relationships (bench_rel): models BenchUser and BenchPost
 * (bench_users, bench_posts: a one-to-many relationship "posts" ordered by
 * id, its back side "author"). N/10 users (default 10,000), each with 10
 * new posts appended with cr_append, flushed in one transaction (raw: the
 * users inserted, then the posts, one row per statement, each generated key
 * fetched back: RETURNING on PostgreSQL, the last insert id on SQLite and
 * MySQL). Then every user loaded and every post touched (keys, title
 * length), in a fresh session each time: lazily (one cr_load per user: the
 * N+1 pattern, run once only, see bench_rel), with cr_joinedload and with
 * cr_selectinload; raw: one hand-written LEFT JOIN ordered by user and post,
 * read into user structs each with an array of its posts. Every load is
 * checked against the data, user by user and post by post.
 *
 * And without named server-side statements (bench_unprepared, PostgreSQL
 * only): the N/10 lookups by primary key and N/10 inserts (exec per row, one
 * transaction) through an engine with prepared_statements = CR_NO (each
 * statement the unnamed one: Parse, Bind, Execute and Sync in one round
 * trip, parsed and planned by the server every time) against the default
 * engine (prepared once per connection), as a ratio. Direct to PostgreSQL,
 * and through PgBouncer when CRUCIBLE_PGBOUNCER_SINGLE_URL is set
 * (scripts/scaleout/pgbouncer.sh): its pool of one server connection, where
 * one client's named statements stay usable, so that the prepared path can
 * run there too. Its own table after the others.
 *
 * Both sides do the same work: the same data, generated before the timer
 * starts; the same transaction (raw code issues BEGIN/COMMIT around the
 * lookups and the fetch, as Crucible's implicit BEGIN does); SQLite on a
 * file in a fresh temporary directory, opened with the same flags. Every
 * row read is checked against the data afterwards. Before each timed run
 * the program waits (up to 20 s) for the machine to go idle: the servers
 * run on the same two cores and keep working after a big insert or a DROP.
 * --quick (a tenth of the sizes, for a smoke run) skips that wait.
 *
 * And read replicas (bench_replicas, --only replicas): the router's cost
 * per read against a primary-key read, and reads from threads spread over
 * the replicas against the primary alone; see its section.
 *
 * URLs: SQLite uses DIR/bench.db in a temporary directory; PostgreSQL reads
 * CRUCIBLE_PG_URL, MySQL CRUCIBLE_MYSQL_URL (postgresql://user:pass@host:
 * port/db, password percent-encoded). A backend whose URL is not set is
 * reported as skipped. Every call is checked: any failure prints the error,
 * drops the table, removes the files and exits with status 1.
 */
#include "crucible.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#ifdef __GLIBC__
#include <malloc.h>
#endif

#ifdef CRUCIBLE_HAVE_SQLITE
#include <sqlite3.h>
#endif
#ifdef CRUCIBLE_HAVE_POSTGRESQL
#include <libpq-fe.h>
#endif
#ifdef CRUCIBLE_HAVE_MYSQL
#include <mysql.h>
#endif

/* The timed workload functions stay out of line, so that a profile
 * (perf, callgrind) shows each one with its callees. */
#define NOINLINE __attribute__((noinline))

/* ------------------------------------------------------------------------
 * Data
 * ------------------------------------------------------------------------ */

/* One row of bench_items, as both sides read it. */
typedef struct item {
    int64_t id;
    char name[100];
    size_t name_len;
    int64_t qty;
    double price;
} item;

static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz";

/* The row with this id: names of 7 to 40 characters, prices with many
 * significant digits (so the text protocols carry full-precision doubles). */
static void gen_item(int64_t id, item *it)
{
    int n = snprintf(it->name, sizeof it->name, "item-%" PRId64 "-%.*s", id, (int)(id % 23),
                     alphabet);
    it->id = id;
    it->name_len = (size_t)n;
    it->qty = (id * 7919) % 1000;
    it->price = (double)id * 0.37 + 0.01;
}

static const char INSERT_SQL[] =
    "INSERT INTO bench_items (id, name, qty, price) VALUES (:id, :name, :qty, :price)";
static const char LOOKUP_SQL[] = "SELECT id, name, qty, price FROM bench_items WHERE id = :id";
static const char FETCH_SQL[] = "SELECT id, name, qty, price FROM bench_items";

/* The relationship workloads' data: users 1..n, each with POSTS_PER_USER
 * posts. Post j (0-based) of user i (1-based) is row (i-1)*POSTS_PER_USER+j
 * of the posts; once the posts are inserted in that order into an empty
 * table, its key is that row + 1. */
#define POSTS_PER_USER 10
#define REL_TEXT 48            /* room for a name or title and its NUL */

typedef struct rel_text {
    char s[REL_TEXT];
    size_t len;
} rel_text;

typedef struct rel_data {
    size_t users;              /* the posts are users * POSTS_PER_USER */
    rel_text *names;           /* [users] */
    rel_text *titles;          /* [users * POSTS_PER_USER] */
} rel_data;

/* The hand-written side of the relationship loads: parent structs, each
 * with an array of its children, built from the rows of one JOIN. */
typedef struct raw_post {
    int64_t id, user_id;
    char title[REL_TEXT];
    size_t title_len;
} raw_post;

typedef struct raw_user {
    int64_t id;
    char name[REL_TEXT];
    size_t name_len;
    raw_post *posts;
    size_t nposts, cap;
} raw_user;

typedef struct raw_users {
    raw_user *v;
    size_t n, cap;
} raw_users;

static const char REL_JOIN_SQL[] =
    "SELECT u.id, u.name, p.id, p.user_id, p.title FROM bench_users u "
    "LEFT OUTER JOIN bench_posts p ON p.user_id = u.id ORDER BY u.id, p.id";

/* What a load "touches": every user's name and every post's keys and title. */
typedef struct rel_sum {
    uint64_t users, posts, keys, text;
} rel_sum;

/* ------------------------------------------------------------------------
 * Failure and cleanup
 * ------------------------------------------------------------------------ */

typedef struct raw_api raw_api;

/* What has to be undone when the program stops, normally or not. */
static struct {
    const raw_api *raw;        /* backend in progress */
    const char *raw_url;       /* its raw connection string (SQLite: the path) */
    void *raw_conn;
    cr_engine *engine;
    cr_conn *conn;             /* a Crucible connection checked out */
    bool table;                /* bench_items may exist on a server */
    bool rel_tables;           /* bench_users and bench_posts may exist */
    char *tmpdir;              /* SQLite's directory and file */
    char *dbpath;
    bool dying;
} G;

static void cleanup(void);

static _Noreturn void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static _Noreturn void die(const char *fmt, ...)
{
    char msg[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
        msg[--n] = '\0';
    fflush(stdout);
    fprintf(stderr, "bench: error: %s\n", msg);
    if (!G.dying) {
        G.dying = true;
        cleanup();
    }
    exit(1);
}

static _Noreturn void die_cr(const char *what, const cr_error *e)
{
    const char *state = cr_error_sqlstate(e);
    const char *stmt = cr_error_statement(e);
    die("%s: Crucible %s%s%s%s (code %ld): %s%s%s%s", what, cr_error_class_name(e),
        *state ? " [" : "", state, *state ? "]" : "", cr_error_code(e), cr_error_message(e),
        stmt ? " [statement: " : "", stmt ? stmt : "", stmt ? "]" : "");
}

/* Crucible calls on a connection: the detail is on the connection. */
#define CR_CHECK(conn, call, what)                      \
    do {                                                \
        if ((call) != CR_OK)                            \
            die_cr((what), cr_conn_error(conn));        \
    } while (0)

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        die("out of memory (%zu bytes)", n);
    return p;
}

/* ------------------------------------------------------------------------
 * Clock and memory
 * ------------------------------------------------------------------------ */

static double now(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        die("clock_gettime failed");
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Busy (not idle) and total jiffies of all CPUs from /proc/stat; false if
 * unreadable. */
static bool cpu_jiffies(unsigned long long *busy, unsigned long long *total)
{
    FILE *f = fopen("/proc/stat", "r");
    if (!f)
        return false;
    unsigned long long v[8] = {0};
    int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
                   &v[4], &v[5], &v[6], &v[7]);
    fclose(f);
    if (n < 5)
        return false;
    *total = 0;
    for (int i = 0; i < 8; i++)
        *total += v[i];
    *busy = *total - v[3];   /* iowait counts: a server flushing to disk is busy */
    return true;
}

/* Lookups are timed in blocks of LOOKUP_BLOCK as well as whole. On SQLite a
 * run of 10,000 lookups (about 15 ms) on this shared VM is seldom free of
 * other guests' interference, and its best over 21 runs moved by +-10%
 * between processes, while a block of 1,000 often runs clean: the SQLite
 * lookup lines report each side's best block over all its runs, times the
 * blocks in a run. */
#define LOOKUP_BLOCK 1000

typedef struct block_clock {
    double t, best;
    size_t done;
} block_clock;

static double lookup_block_best;   /* the best block of the last lookup run */

static void block_start(block_clock *b)
{
    b->best = INFINITY;
    b->done = 0;
    b->t = now();
}

/* One more lookup done: a block ends every LOOKUP_BLOCK. */
static inline void block_tick(block_clock *b)
{
    if (++b->done % LOOKUP_BLOCK)
        return;
    double t = now();
    if (t - b->t < b->best)
        b->best = t - b->t;
    b->t = t;
}

static void block_end(const block_clock *b) { lookup_block_best = b->best; }

static bool settle_enabled = true;

/* Wait until the machine is nearly idle (three 100 ms windows in a row under
 * 5% of all CPUs busy or waiting for I/O), at most 20 s: a database server on the same machine goes
 * on working after a big insert or a DROP TABLE (flushing, purging), and on
 * two cores that would be measured as part of the next run. */
static void settle(const char *backend)
{
    if (!settle_enabled)
        return;
    unsigned long long b0, t0;
    if (!cpu_jiffies(&b0, &t0))
        return;
    double start = now();
    double busy = 0;
    int quiet = 0;
    while (quiet < 3) {
        if (now() - start > 20) {
            fprintf(stderr, "bench: %s: the machine stayed busy (%.0f%% of all CPUs); timings "
                            "may be noisy\n", backend, 100 * busy);
            return;
        }
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
        unsigned long long b1, t1;
        if (!cpu_jiffies(&b1, &t1))
            return;
        busy = t1 > t0 ? (double)(b1 - b0) / (double)(t1 - t0) : 0;
        quiet = busy < 0.05 ? quiet + 1 : 0;
        b0 = b1;
        t0 = t1;
    }
    double waited = now() - start;
    if (waited > 1.0)
        fprintf(stderr, "bench: %s: waited %.1f s for the machine to go idle\n", backend, waited);
}

/* A "VmRSS:"-style field of /proc/self/status in kB, or -1. */
static long status_kb(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return -1;
    char line[256];
    long kb = -1;
    size_t klen = strlen(key);
    while (fgets(line, sizeof line, f))
        if (strncmp(line, key, klen) == 0) {
            kb = strtol(line + klen, NULL, 10);
            break;
        }
    fclose(f);
    return kb;
}

static long maxrss_kb(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        die("getrusage failed");
    return ru.ru_maxrss;
}

/* Peak RSS growth over a stretch of code: VmHWM is reset to the current RSS
 * (Linux >= 4.0: "5" into /proc/self/clear_refs) and compared with it
 * afterwards; where that is not possible, ru_maxrss before and after, which
 * only shows growth beyond the process's earlier peak. */
typedef struct rss_probe {
    bool hwm;
    long base_kb;
} rss_probe;

static bool rss_exact = true;   /* false once the fallback was used */

static void rss_begin(rss_probe *p)
{
#ifdef __GLIBC__
    malloc_trim(0);   /* memory freed by an earlier run must not hide this one's */
#endif
    p->hwm = false;
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (f) {
        p->hwm = fputs("5", f) >= 0;
        p->hwm = (fclose(f) == 0) && p->hwm;
    }
    p->base_kb = p->hwm ? status_kb("VmRSS:") : -1;
    if (p->base_kb < 0) {
        p->hwm = false;
        rss_exact = false;
        p->base_kb = maxrss_kb();
    }
}

static long rss_end(const rss_probe *p)
{
    long peak = p->hwm ? status_kb("VmHWM:") : maxrss_kb();
    long d = peak - p->base_kb;
    return d > 0 ? d : 0;
}

/* ------------------------------------------------------------------------
 * Checks of what was read
 * ------------------------------------------------------------------------ */

static void copy_name(item *o, const char *s, size_t len)
{
    if (!s || len >= sizeof o->name)
        die("row %" PRId64 ": name %s", o->id, s ? "longer than 99 bytes" : "is NULL");
    memcpy(o->name, s, len);
    o->name[len] = '\0';
    o->name_len = len;
}

static void check_item(const char *who, const item *got, int64_t want_id)
{
    item want;
    gen_item(want_id, &want);
    if (got->id != want.id || got->qty != want.qty || got->price != want.price ||
        got->name_len != want.name_len || memcmp(got->name, want.name, want.name_len) != 0)
        die("%s: wrong row: got (%" PRId64 ", '%s', %" PRId64 ", %.17g), want (%" PRId64
            ", '%s', %" PRId64 ", %.17g)", who, got->id, got->name, got->qty, got->price,
            want.id, want.name, want.qty, want.price);
}

/* Every fetched row is right and each id of 1..n came exactly once. */
static void check_fetched(const char *who, const item *rows, size_t got, size_t n)
{
    if (got != n)
        die("%s: fetched %zu rows, expected %zu", who, got, n);
    unsigned char *seen = calloc(n + 1, 1);
    if (!seen)
        die("out of memory");
    for (size_t i = 0; i < n; i++) {
        int64_t id = rows[i].id;
        if (id < 1 || (uint64_t)id > n || seen[id]) {
            free(seen);
            die("%s: unexpected or repeated id %" PRId64, who, id);
        }
        seen[id] = 1;
        check_item(who, &rows[i], id);
    }
    free(seen);
}

/* ---- The relationship workloads' data and checks ---- */

static void gen_rel(rel_data *d, size_t users)
{
    size_t posts = users * POSTS_PER_USER;
    d->users = users;
    d->names = xmalloc(sizeof *d->names * users);
    d->titles = xmalloc(sizeof *d->titles * posts);
    for (size_t i = 0; i < users; i++) {
        int n = snprintf(d->names[i].s, REL_TEXT, "user-%zu-%.*s", i + 1, (int)(i % 19),
                         alphabet);
        d->names[i].len = (size_t)n;
    }
    for (size_t k = 0; k < posts; k++) {
        int n = snprintf(d->titles[k].s, REL_TEXT, "post-%zu-%.*s", k + 1, (int)(k % 23),
                         alphabet);
        d->titles[k].len = (size_t)n;
    }
}

static void free_rel(rel_data *d)
{
    free(d->names);
    free(d->titles);
}

/* One row of the raw JOIN: a new parent when its key changes, the child (if
 * the outer join found one) appended to the current parent's array. */
static inline void rel_row(raw_users *out, int64_t uid, const char *name, size_t name_len,
                           bool has_post, int64_t pid, int64_t puid, const char *title,
                           size_t title_len)
{
    if (out->n == 0 || out->v[out->n - 1].id != uid) {
        if (out->n == out->cap) {
            size_t cap = out->cap ? out->cap * 2 : 64;
            raw_user *v = realloc(out->v, sizeof *v * cap);
            if (!v)
                die("out of memory");
            out->v = v;
            out->cap = cap;
        }
        raw_user *u = &out->v[out->n++];
        if (name_len >= REL_TEXT)
            die("raw join: a name of %zu bytes", name_len);
        u->id = uid;
        memcpy(u->name, name, name_len);
        u->name[name_len] = '\0';
        u->name_len = name_len;
        u->posts = NULL;
        u->nposts = u->cap = 0;
    }
    if (!has_post)
        return;
    raw_user *u = &out->v[out->n - 1];
    if (u->nposts == u->cap) {
        size_t cap = u->cap ? u->cap * 2 : 8;
        raw_post *v = realloc(u->posts, sizeof *v * cap);
        if (!v)
            die("out of memory");
        u->posts = v;
        u->cap = cap;
    }
    raw_post *p = &u->posts[u->nposts++];
    if (title_len >= REL_TEXT)
        die("raw join: a title of %zu bytes", title_len);
    p->id = pid;
    p->user_id = puid;
    memcpy(p->title, title, title_len);
    p->title[title_len] = '\0';
    p->title_len = title_len;
}

static void raw_users_free(raw_users *out)
{
    for (size_t i = 0; i < out->n; i++)
        free(out->v[i].posts);
    free(out->v);
    memset(out, 0, sizeof *out);
}

static void raw_users_touch(const raw_users *out, rel_sum *sum)
{
    for (size_t i = 0; i < out->n; i++) {
        const raw_user *u = &out->v[i];
        sum->users++;
        sum->text += u->name_len;
        for (size_t j = 0; j < u->nposts; j++) {
            const raw_post *p = &u->posts[j];
            sum->posts++;
            sum->keys += (uint64_t)p->id + (uint64_t)p->user_id;
            sum->text += p->title_len;
        }
    }
}

/* What touching every user and post of d (keys as inserted) must sum to. */
static rel_sum rel_expected(const rel_data *d)
{
    rel_sum e = {d->users, d->users * POSTS_PER_USER, 0, 0};
    for (size_t i = 0; i < d->users; i++) {
        e.text += d->names[i].len;
        for (size_t j = 0; j < POSTS_PER_USER; j++) {
            size_t k = i * POSTS_PER_USER + j;
            e.keys += (uint64_t)(k + 1) + (uint64_t)(i + 1);
            e.text += d->titles[k].len;
        }
    }
    return e;
}

static void rel_check_sum(const char *who, const rel_sum *got, const rel_data *d)
{
    rel_sum e = rel_expected(d);
    if (got->users != e.users || got->posts != e.posts || got->keys != e.keys ||
        got->text != e.text)
        die("%s: touched %" PRIu64 " users and %" PRIu64 " posts (key sum %" PRIu64
            ", text %" PRIu64 "), expected %" PRIu64 " and %" PRIu64 " (%" PRIu64 ", %" PRIu64 ")",
            who, got->users, got->posts, got->keys, got->text, e.users, e.posts, e.keys, e.text);
}

/* User k (0-based) of a load, against the data: its key, its name, its
 * posts in key order with their keys, foreign keys and titles. */
static void rel_check_user(const char *who, const rel_data *d, size_t k, int64_t id,
                           const char *name, size_t nposts)
{
    if (id != (int64_t)k + 1 || strcmp(name, d->names[k].s) != 0)
        die("%s: user %zu is (%" PRId64 ", '%s'), expected (%zu, '%s')", who, k, id, name, k + 1,
            d->names[k].s);
    if (nposts != POSTS_PER_USER)
        die("%s: user %" PRId64 " has %zu posts, expected %d", who, id, nposts, POSTS_PER_USER);
}

static void rel_check_post(const char *who, const rel_data *d, size_t k, size_t j, int64_t id,
                           int64_t user_id, const char *title)
{
    size_t row = k * POSTS_PER_USER + j;
    if (id != (int64_t)row + 1 || user_id != (int64_t)k + 1 || strcmp(title, d->titles[row].s))
        die("%s: post %zu of user %zu is (%" PRId64 ", %" PRId64 ", '%s'), expected (%zu, %zu, "
            "'%s')", who, j, k + 1, id, user_id, title, row + 1, k + 1, d->titles[row].s);
}

static void raw_users_check(const char *who, const raw_users *out, const rel_data *d)
{
    if (out->n != d->users)
        die("%s: %zu users, expected %zu", who, out->n, d->users);
    for (size_t k = 0; k < out->n; k++) {
        const raw_user *u = &out->v[k];
        rel_check_user(who, d, k, u->id, u->name, u->nposts);
        for (size_t j = 0; j < u->nposts; j++)
            rel_check_post(who, d, k, j, u->posts[j].id, u->posts[j].user_id,
                           u->posts[j].title);
    }
}

/* ------------------------------------------------------------------------
 * The raw client libraries
 * ------------------------------------------------------------------------ */

struct raw_api {
    const char *name;          /* Crucible's backend name */
    const char *env;           /* the URL's environment variable; NULL: SQLite file */
    const char *create_sql;
    bool two_modes;            /* fetch both buffered and streamed */
    const char *(*version)(void);
    /* NULL with the reason in err. */
    void *(*open)(const char *url, char *err, size_t errlen);
    void (*close)(void *h);
    bool (*try_exec)(void *h, const char *sql, char *err, size_t errlen);
    int64_t (*scalar)(void *h, const char *sql);
    /* The workloads; each returns its time. */
    double (*insert)(void *h, const item *src, size_t n);
    double (*lookup)(void *h, const int64_t *ids, size_t n, item *out);
    double (*fetch)(void *h, bool stream, item *out, size_t cap, size_t *got);
    /* The relationship workloads, timed by the caller. rel_insert inserts
     * every user, then every post, one row per statement, each generated
     * key fetched back into user_ids / post_ids, in one transaction;
     * rel_join runs REL_JOIN_SQL in a transaction into out (empty). */
    void (*rel_insert)(void *h, const rel_data *d, int64_t *user_ids, int64_t *post_ids);
    void (*rel_join)(void *h, raw_users *out);
};

static void raw_exec(const raw_api *api, void *h, const char *sql)
{
    char err[1024];
    if (!api->try_exec(h, sql, err, sizeof err))
        die("%s: %s (raw %s)", sql, err, api->name);
}

/* ---- SQLite --------------------------------------------------------------- */
#ifdef CRUCIBLE_HAVE_SQLITE

static _Noreturn void rawsl_die(sqlite3 *db, const char *what)
{
    die("%s: sqlite3: %s (code %d)", what, sqlite3_errmsg(db), sqlite3_extended_errcode(db));
}

static const char *rawsl_version(void)
{
    static char v[64];
    snprintf(v, sizeof v, "libsqlite3 %s", sqlite3_libversion());
    return v;
}

static void *rawsl_open(const char *path, char *err, size_t errlen)
{
    sqlite3 *db = NULL;
    /* The flags Crucible's driver opens with. */
    int rc = sqlite3_open_v2(path, &db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_busy_timeout(db, 5000);
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "%s", db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close(db);
        return NULL;
    }
    return db;
}

static void rawsl_close(void *h)
{
    if (sqlite3_close(h) != SQLITE_OK)
        fprintf(stderr, "bench: warning: sqlite3_close: %s\n", sqlite3_errmsg(h));
}

static bool rawsl_try_exec(void *h, const char *sql, char *err, size_t errlen)
{
    char *msg = NULL;
    int rc = sqlite3_exec(h, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK)
        snprintf(err, errlen, "sqlite3: %s", msg ? msg : sqlite3_errstr(rc));
    sqlite3_free(msg);
    return rc == SQLITE_OK;
}

static void rawsl_exec(sqlite3 *db, const char *sql)
{
    char err[1024];
    if (!rawsl_try_exec(db, sql, err, sizeof err))
        die("%s: %s", sql, err);
}

static sqlite3_stmt *rawsl_prepare(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK || !st)
        rawsl_die(db, sql);
    return st;
}

static void rawsl_finalize(sqlite3 *db, sqlite3_stmt *st)
{
    if (sqlite3_finalize(st) != SQLITE_OK)
        rawsl_die(db, "sqlite3_finalize");
}

static int64_t rawsl_scalar(void *h, const char *sql)
{
    sqlite3 *db = h;
    sqlite3_stmt *st = rawsl_prepare(db, sql);
    if (sqlite3_step(st) != SQLITE_ROW)
        rawsl_die(db, sql);
    int64_t v = sqlite3_column_int64(st, 0);
    rawsl_finalize(db, st);
    return v;
}

static void rawsl_read(sqlite3 *db, sqlite3_stmt *st, item *o)
{
    o->id = sqlite3_column_int64(st, 0);
    const char *name = (const char *)sqlite3_column_text(st, 1);
    if (!name)
        rawsl_die(db, "sqlite3_column_text");
    copy_name(o, name, (size_t)sqlite3_column_bytes(st, 1));
    o->qty = sqlite3_column_int64(st, 2);
    o->price = sqlite3_column_double(st, 3);
}

NOINLINE static double rawsl_insert(void *h, const item *src, size_t n)
{
    sqlite3 *db = h;
    double t0 = now();
    rawsl_exec(db, "BEGIN");
    sqlite3_stmt *st = rawsl_prepare(
        db, "INSERT INTO bench_items (id, name, qty, price) VALUES (?1, ?2, ?3, ?4)");
    for (size_t i = 0; i < n; i++) {
        const item *it = &src[i];
        if (sqlite3_bind_int64(st, 1, it->id) != SQLITE_OK ||
            sqlite3_bind_text(st, 2, it->name, (int)it->name_len, SQLITE_STATIC) != SQLITE_OK ||
            sqlite3_bind_int64(st, 3, it->qty) != SQLITE_OK ||
            sqlite3_bind_double(st, 4, it->price) != SQLITE_OK)
            rawsl_die(db, "sqlite3_bind");
        if (sqlite3_step(st) != SQLITE_DONE)
            rawsl_die(db, "insert");
        if (sqlite3_reset(st) != SQLITE_OK)
            rawsl_die(db, "sqlite3_reset");
    }
    rawsl_finalize(db, st);
    rawsl_exec(db, "COMMIT");
    return now() - t0;
}

NOINLINE static double rawsl_lookup(void *h, const int64_t *ids, size_t n, item *out)
{
    sqlite3 *db = h;
    double t0 = now();
    rawsl_exec(db, "BEGIN");
    sqlite3_stmt *st = rawsl_prepare(db, "SELECT id, name, qty, price FROM bench_items WHERE id = ?1");
    block_clock bc;
    block_start(&bc);
    for (size_t i = 0; i < n; i++) {
        if (sqlite3_bind_int64(st, 1, ids[i]) != SQLITE_OK)
            rawsl_die(db, "sqlite3_bind_int64");
        if (sqlite3_step(st) != SQLITE_ROW)
            rawsl_die(db, "lookup");
        rawsl_read(db, st, &out[i]);
        if (sqlite3_reset(st) != SQLITE_OK)
            rawsl_die(db, "sqlite3_reset");
        block_tick(&bc);
    }
    block_end(&bc);
    rawsl_finalize(db, st);
    rawsl_exec(db, "COMMIT");
    return now() - t0;
}

NOINLINE static double rawsl_fetch(void *h, bool stream, item *out, size_t cap, size_t *got)
{
    (void)stream;   /* sqlite3_step always streams */
    sqlite3 *db = h;
    size_t n = 0;
    double t0 = now();
    rawsl_exec(db, "BEGIN");
    sqlite3_stmt *st = rawsl_prepare(db, "SELECT id, name, qty, price FROM bench_items");
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap)
            die("raw sqlite: more rows than the %zu inserted", cap);
        rawsl_read(db, st, &out[n++]);
    }
    if (rc != SQLITE_DONE)
        rawsl_die(db, "fetch");
    rawsl_finalize(db, st);
    rawsl_exec(db, "COMMIT");
    *got = n;
    return now() - t0;
}

NOINLINE static void rawsl_rel_insert(void *h, const rel_data *d, int64_t *user_ids,
                                      int64_t *post_ids)
{
    sqlite3 *db = h;
    rawsl_exec(db, "BEGIN");
    sqlite3_stmt *st = rawsl_prepare(db, "INSERT INTO bench_users (name) VALUES (?1)");
    for (size_t i = 0; i < d->users; i++) {
        if (sqlite3_bind_text(st, 1, d->names[i].s, (int)d->names[i].len, SQLITE_STATIC) !=
            SQLITE_OK)
            rawsl_die(db, "sqlite3_bind_text");
        if (sqlite3_step(st) != SQLITE_DONE)
            rawsl_die(db, "insert user");
        user_ids[i] = sqlite3_last_insert_rowid(db);
        if (sqlite3_reset(st) != SQLITE_OK)
            rawsl_die(db, "sqlite3_reset");
    }
    rawsl_finalize(db, st);
    st = rawsl_prepare(db, "INSERT INTO bench_posts (user_id, title) VALUES (?1, ?2)");
    for (size_t k = 0; k < d->users * POSTS_PER_USER; k++) {
        if (sqlite3_bind_int64(st, 1, user_ids[k / POSTS_PER_USER]) != SQLITE_OK ||
            sqlite3_bind_text(st, 2, d->titles[k].s, (int)d->titles[k].len, SQLITE_STATIC) !=
                SQLITE_OK)
            rawsl_die(db, "sqlite3_bind");
        if (sqlite3_step(st) != SQLITE_DONE)
            rawsl_die(db, "insert post");
        post_ids[k] = sqlite3_last_insert_rowid(db);
        if (sqlite3_reset(st) != SQLITE_OK)
            rawsl_die(db, "sqlite3_reset");
    }
    rawsl_finalize(db, st);
    rawsl_exec(db, "COMMIT");
}

NOINLINE static void rawsl_rel_join(void *h, raw_users *out)
{
    sqlite3 *db = h;
    rawsl_exec(db, "BEGIN");
    sqlite3_stmt *st = rawsl_prepare(db, REL_JOIN_SQL);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 1);
        if (!name)
            rawsl_die(db, "sqlite3_column_text");
        bool has_post = sqlite3_column_type(st, 2) != SQLITE_NULL;
        const char *title = has_post ? (const char *)sqlite3_column_text(st, 4) : "";
        if (!title)
            rawsl_die(db, "sqlite3_column_text");
        rel_row(out, sqlite3_column_int64(st, 0), name, (size_t)sqlite3_column_bytes(st, 1),
                has_post, sqlite3_column_int64(st, 2), sqlite3_column_int64(st, 3), title,
                has_post ? (size_t)sqlite3_column_bytes(st, 4) : 0);
    }
    if (rc != SQLITE_DONE)
        rawsl_die(db, "join");
    rawsl_finalize(db, st);
    rawsl_exec(db, "COMMIT");
}

static const raw_api sqlite_api = {
    .name = "sqlite",
    .env = NULL,
    .create_sql = "CREATE TABLE bench_items (id INTEGER PRIMARY KEY, name TEXT, qty INTEGER, "
                  "price DOUBLE)",
    .two_modes = false,
    .version = rawsl_version,
    .open = rawsl_open,
    .close = rawsl_close,
    .try_exec = rawsl_try_exec,
    .scalar = rawsl_scalar,
    .insert = rawsl_insert,
    .lookup = rawsl_lookup,
    .fetch = rawsl_fetch,
    .rel_insert = rawsl_rel_insert,
    .rel_join = rawsl_rel_join,
};
#endif /* CRUCIBLE_HAVE_SQLITE */

/* ---- PostgreSQL (libpq) ---------------------------------------------------- */
#ifdef CRUCIBLE_HAVE_POSTGRESQL

static const char *rawpq_version(void)
{
    static char v[64];
    int n = PQlibVersion();
    snprintf(v, sizeof v, "libpq %d.%d", n / 10000, n % 10000);
    return v;
}

static void rawpq_quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* A result of the status wanted, else the error. */
static PGresult *rawpq_want(PGconn *c, PGresult *r, ExecStatusType want, const char *what)
{
    if (!r || PQresultStatus(r) != want) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", r ? PQresultErrorMessage(r) : PQerrorMessage(c));
        if (!*msg)
            snprintf(msg, sizeof msg, "unexpected status %s",
                     r ? PQresStatus(PQresultStatus(r)) : "(no result)");
        PQclear(r);
        die("%s: libpq: %s", what, msg);
    }
    return r;
}

static void rawpq_cmd(PGconn *c, const char *sql)
{
    PQclear(rawpq_want(c, PQexec(c, sql), PGRES_COMMAND_OK, sql));
}

static bool rawpq_try_exec(void *h, const char *sql, char *err, size_t errlen)
{
    PGresult *r = PQexec(h, sql);
    ExecStatusType s = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    bool ok = s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK;
    if (!ok)
        snprintf(err, errlen, "libpq: %s", r ? PQresultErrorMessage(r) : PQerrorMessage(h));
    PQclear(r);
    return ok;
}

static void *rawpq_open(const char *url, char *err, size_t errlen)
{
    PGconn *c = PQconnectdb(url);
    if (!c) {
        snprintf(err, errlen, "libpq: out of memory");
        return NULL;
    }
    if (PQstatus(c) != CONNECTION_OK) {
        snprintf(err, errlen, "libpq: %s", PQerrorMessage(c));
        PQfinish(c);
        return NULL;
    }
    PQsetNoticeProcessor(c, rawpq_quiet, NULL);   /* "table does not exist, skipping" */
    /* A lock left by a bug must fail the run, not hang it. */
    if (!rawpq_try_exec(c, "SET lock_timeout = '60s'", err, errlen)) {
        PQfinish(c);
        return NULL;
    }
    return c;
}

static void rawpq_close(void *h) { PQfinish(h); }

static int64_t rawpq_scalar(void *h, const char *sql)
{
    PGresult *r = rawpq_want(h, PQexec(h, sql), PGRES_TUPLES_OK, sql);
    if (PQntuples(r) != 1 || PQnfields(r) < 1 || PQgetisnull(r, 0, 0)) {
        PQclear(r);
        die("%s: expected one non-NULL value", sql);
    }
    int64_t v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return v;
}

static void rawpq_read(const PGresult *r, int i, item *o)
{
    o->id = strtoll(PQgetvalue(r, i, 0), NULL, 10);
    copy_name(o, PQgetvalue(r, i, 1), (size_t)PQgetlength(r, i, 1));
    o->qty = strtoll(PQgetvalue(r, i, 2), NULL, 10);
    o->price = strtod(PQgetvalue(r, i, 3), NULL);
}

NOINLINE static double rawpq_insert(void *h, const item *src, size_t n)
{
    PGconn *c = h;
    char idb[24], qtyb[24], priceb[40];
    const char *vals[4] = {idb, NULL, qtyb, priceb};
    double t0 = now();
    rawpq_cmd(c, "BEGIN");
    PQclear(rawpq_want(c,
                    PQprepare(c, "bench_insert",
                              "INSERT INTO bench_items (id, name, qty, price) "
                              "VALUES ($1, $2, $3, $4)", 4, NULL),
                    PGRES_COMMAND_OK, "prepare insert"));
    for (size_t i = 0; i < n; i++) {
        const item *it = &src[i];
        snprintf(idb, sizeof idb, "%" PRId64, it->id);
        vals[1] = it->name;
        snprintf(qtyb, sizeof qtyb, "%" PRId64, it->qty);
        snprintf(priceb, sizeof priceb, "%.17g", it->price);
        PQclear(rawpq_want(c, PQexecPrepared(c, "bench_insert", 4, vals, NULL, NULL, 0),
                        PGRES_COMMAND_OK, "insert"));
    }
    rawpq_cmd(c, "DEALLOCATE bench_insert");
    rawpq_cmd(c, "COMMIT");
    return now() - t0;
}

NOINLINE static double rawpq_lookup(void *h, const int64_t *ids, size_t n, item *out)
{
    PGconn *c = h;
    char idb[24];
    const char *vals[1] = {idb};
    double t0 = now();
    rawpq_cmd(c, "BEGIN");
    PQclear(rawpq_want(c,
                    PQprepare(c, "bench_lookup",
                              "SELECT id, name, qty, price FROM bench_items WHERE id = $1", 1,
                              NULL),
                    PGRES_COMMAND_OK, "prepare lookup"));
    block_clock bc;
    block_start(&bc);
    for (size_t i = 0; i < n; i++) {
        snprintf(idb, sizeof idb, "%" PRId64, ids[i]);
        PGresult *r = rawpq_want(c, PQexecPrepared(c, "bench_lookup", 1, vals, NULL, NULL, 0),
                              PGRES_TUPLES_OK, "lookup");
        if (PQntuples(r) != 1) {
            PQclear(r);
            die("raw postgresql lookup of id %" PRId64 ": no row", ids[i]);
        }
        rawpq_read(r, 0, &out[i]);
        PQclear(r);
        block_tick(&bc);
    }
    block_end(&bc);
    rawpq_cmd(c, "DEALLOCATE bench_lookup");
    rawpq_cmd(c, "COMMIT");
    return now() - t0;
}

NOINLINE static double rawpq_fetch(void *h, bool stream, item *out, size_t cap, size_t *got)
{
    PGconn *c = h;
    size_t n = 0;
    double t0 = now();
    rawpq_cmd(c, "BEGIN");
    PQclear(rawpq_want(c,
                    PQprepare(c, "bench_fetch", "SELECT id, name, qty, price FROM bench_items",
                              0, NULL),
                    PGRES_COMMAND_OK, "prepare fetch"));
    if (!stream) {
        PGresult *r = rawpq_want(c, PQexecPrepared(c, "bench_fetch", 0, NULL, NULL, NULL, 0),
                              PGRES_TUPLES_OK, "fetch");
        int rows = PQntuples(r);
        if ((size_t)rows > cap) {
            PQclear(r);
            die("raw postgresql: more rows than the %zu inserted", cap);
        }
        for (int i = 0; i < rows; i++)
            rawpq_read(r, i, &out[n++]);
        PQclear(r);
    } else {
        if (!PQsendQueryPrepared(c, "bench_fetch", 0, NULL, NULL, NULL, 0))
            die("PQsendQueryPrepared: %s", PQerrorMessage(c));
        if (!PQsetSingleRowMode(c))
            die("PQsetSingleRowMode failed");
        for (;;) {
            PGresult *r = PQgetResult(c);
            if (!r)
                die("fetch: libpq: the result ended without PGRES_TUPLES_OK");
            if (PQresultStatus(r) == PGRES_TUPLES_OK) {
                PQclear(r);
                break;
            }
            rawpq_want(c, r, PGRES_SINGLE_TUPLE, "fetch (single-row mode)");
            if (n == cap) {
                PQclear(r);
                die("raw postgresql: more rows than the %zu inserted", cap);
            }
            rawpq_read(r, 0, &out[n++]);
            PQclear(r);
        }
        PGresult *r = PQgetResult(c);
        if (r) {
            PQclear(r);
            die("fetch: libpq: a result after the end of the rows");
        }
    }
    rawpq_cmd(c, "DEALLOCATE bench_fetch");
    rawpq_cmd(c, "COMMIT");
    *got = n;
    return now() - t0;
}

NOINLINE static void rawpq_rel_insert(void *h, const rel_data *d, int64_t *user_ids,
                                      int64_t *post_ids)
{
    PGconn *c = h;
    char uidb[24];
    const char *vals[2];
    rawpq_cmd(c, "BEGIN");
    PQclear(rawpq_want(c,
                    PQprepare(c, "rel_user",
                              "INSERT INTO bench_users (name) VALUES ($1) RETURNING id", 1, NULL),
                    PGRES_COMMAND_OK, "prepare insert user"));
    PQclear(rawpq_want(c,
                    PQprepare(c, "rel_post",
                              "INSERT INTO bench_posts (user_id, title) VALUES ($1, $2) "
                              "RETURNING id", 2, NULL),
                    PGRES_COMMAND_OK, "prepare insert post"));
    for (size_t i = 0; i < d->users; i++) {
        vals[0] = d->names[i].s;
        PGresult *r = rawpq_want(c, PQexecPrepared(c, "rel_user", 1, vals, NULL, NULL, 0),
                                 PGRES_TUPLES_OK, "insert user");
        user_ids[i] = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        PQclear(r);
    }
    vals[0] = uidb;
    for (size_t k = 0; k < d->users * POSTS_PER_USER; k++) {
        snprintf(uidb, sizeof uidb, "%" PRId64, user_ids[k / POSTS_PER_USER]);
        vals[1] = d->titles[k].s;
        PGresult *r = rawpq_want(c, PQexecPrepared(c, "rel_post", 2, vals, NULL, NULL, 0),
                                 PGRES_TUPLES_OK, "insert post");
        post_ids[k] = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        PQclear(r);
    }
    rawpq_cmd(c, "DEALLOCATE rel_user");
    rawpq_cmd(c, "DEALLOCATE rel_post");
    rawpq_cmd(c, "COMMIT");
}

NOINLINE static void rawpq_rel_join(void *h, raw_users *out)
{
    PGconn *c = h;
    rawpq_cmd(c, "BEGIN");
    PQclear(rawpq_want(c, PQprepare(c, "rel_join", REL_JOIN_SQL, 0, NULL), PGRES_COMMAND_OK,
                       "prepare join"));
    PGresult *r = rawpq_want(c, PQexecPrepared(c, "rel_join", 0, NULL, NULL, NULL, 0),
                             PGRES_TUPLES_OK, "join");
    int rows = PQntuples(r);
    for (int i = 0; i < rows; i++) {
        bool has_post = !PQgetisnull(r, i, 2);
        rel_row(out, strtoll(PQgetvalue(r, i, 0), NULL, 10), PQgetvalue(r, i, 1),
                (size_t)PQgetlength(r, i, 1), has_post,
                has_post ? strtoll(PQgetvalue(r, i, 2), NULL, 10) : 0,
                has_post ? strtoll(PQgetvalue(r, i, 3), NULL, 10) : 0, PQgetvalue(r, i, 4),
                (size_t)PQgetlength(r, i, 4));
    }
    PQclear(r);
    rawpq_cmd(c, "DEALLOCATE rel_join");
    rawpq_cmd(c, "COMMIT");
}

static const raw_api postgresql_api = {
    .name = "postgresql",
    .env = "CRUCIBLE_PG_URL",
    .create_sql = "CREATE TABLE bench_items (id integer PRIMARY KEY, name varchar(100), "
                  "qty integer, price double precision)",
    .two_modes = true,
    .version = rawpq_version,
    .open = rawpq_open,
    .close = rawpq_close,
    .try_exec = rawpq_try_exec,
    .scalar = rawpq_scalar,
    .insert = rawpq_insert,
    .lookup = rawpq_lookup,
    .fetch = rawpq_fetch,
    .rel_insert = rawpq_rel_insert,
    .rel_join = rawpq_rel_join,
};
#endif /* CRUCIBLE_HAVE_POSTGRESQL */

/* ---- MySQL / MariaDB (libmariadb) ----------------------------------------- */
#ifdef CRUCIBLE_HAVE_MYSQL

static const char *rawmy_version(void)
{
    static char v[64];
    snprintf(v, sizeof v, "libmariadb %s", mysql_get_client_info());
    return v;
}

static _Noreturn void rawmy_stmt_die(MYSQL_STMT *st, const char *what)
{
    die("%s: libmariadb: %s (%u)", what, mysql_stmt_error(st), mysql_stmt_errno(st));
}

/* %XX-decode s[0..n) into a fresh string. */
static char *pct_decode(const char *s, size_t n)
{
    char *out = xmalloc(n + 1), *o = out;
    for (size_t i = 0; i < n; i++) {
        static const char hex[] = "0123456789abcdef0123456789ABCDEF";
        const char *hi, *lo;
        if (s[i] == '%' && i + 2 < n &&
            (hi = strchr(hex, s[i + 1])) && (lo = strchr(hex, s[i + 2]))) {
            *o++ = (char)(((hi - hex) % 16) << 4 | (lo - hex) % 16);
            i += 2;
        } else {
            *o++ = s[i];
        }
    }
    *o = '\0';
    return out;
}

typedef struct rawmy_url {
    char *user, *pass, *host, *db;
    unsigned port;
} rawmy_url;

/* mysql://user:pass@host:port/db?options — the options are ignored. */
static bool rawmy_parse_url(const char *url, rawmy_url *u, char *err, size_t errlen)
{
    memset(u, 0, sizeof *u);
    const char *p = strstr(url, "://");
    if (!p) {
        snprintf(err, errlen, "not a URL (scheme://user:pass@host:port/db)");
        return false;
    }
    p += 3;
    const char *end = p + strcspn(p, "/?");
    const char *at = NULL;
    for (const char *q = p; q < end; q++)
        if (*q == '@')
            at = q;
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        u->user = pct_decode(p, (size_t)((colon ? colon : at) - p));
        if (colon)
            u->pass = pct_decode(colon + 1, (size_t)(at - colon - 1));
        p = at + 1;
    }
    const char *hend;
    if (*p == '[') {   /* [::1]:3306 */
        const char *rb = memchr(p, ']', (size_t)(end - p));
        if (!rb) {
            snprintf(err, errlen, "unclosed '[' in the host");
            return false;
        }
        u->host = pct_decode(p + 1, (size_t)(rb - p - 1));
        hend = rb + 1;
    } else {
        const char *colon = memchr(p, ':', (size_t)(end - p));
        hend = colon ? colon : end;
        u->host = pct_decode(p, (size_t)(hend - p));
    }
    if (hend < end && *hend == ':') {
        char *stop;
        unsigned long port = strtoul(hend + 1, &stop, 10);
        if (stop != end || port == 0 || port > 65535) {
            snprintf(err, errlen, "bad port in the URL");
            return false;
        }
        u->port = (unsigned)port;
    }
    if (*end == '/') {
        size_t dn = strcspn(end + 1, "?");
        if (dn)
            u->db = pct_decode(end + 1, dn);
    }
    return true;
}

static void rawmy_url_free(rawmy_url *u)
{
    free(u->user);
    free(u->pass);
    free(u->host);
    free(u->db);
}

static bool rawmy_try_exec(void *h, const char *sql, char *err, size_t errlen)
{
    MYSQL *m = h;
    if (mysql_real_query(m, sql, (unsigned long)strlen(sql)) == 0) {
        MYSQL_RES *res = mysql_store_result(m);
        if (res) {
            mysql_free_result(res);
            return true;
        }
        if (mysql_field_count(m) == 0)
            return true;
    }
    snprintf(err, errlen, "libmariadb: %s (%u)", mysql_error(m), mysql_errno(m));
    return false;
}

static void rawmy_exec(MYSQL *m, const char *sql)
{
    char err[1024];
    if (!rawmy_try_exec(m, sql, err, sizeof err))
        die("%s: %s", sql, err);
}

static void *rawmy_open(const char *url, char *err, size_t errlen)
{
    rawmy_url u;
    err[0] = '\0';
    if (!rawmy_parse_url(url, &u, err, errlen)) {
        rawmy_url_free(&u);
        return NULL;
    }
    MYSQL *m = mysql_init(NULL);
    if (!m) {
        snprintf(err, errlen, "mysql_init: out of memory");
        rawmy_url_free(&u);
        return NULL;
    }
    if (!mysql_real_connect(m, u.host, u.user, u.pass, u.db, u.port, NULL, 0)) {
        snprintf(err, errlen, "libmariadb: %s (%u)", mysql_error(m), mysql_errno(m));
        mysql_close(m);
        rawmy_url_free(&u);
        return NULL;
    }
    rawmy_url_free(&u);
    /* Autocommit as Crucible's driver sets it (BEGIN/COMMIT are explicit);
     * a lock left by a bug fails the run instead of hanging it. */
    if (mysql_autocommit(m, 1) != 0 ||
        !rawmy_try_exec(m, "SET SESSION lock_wait_timeout = 60", err, errlen)) {
        if (!*err)
            snprintf(err, errlen, "libmariadb: %s", mysql_error(m));
        mysql_close(m);
        return NULL;
    }
    return m;
}

static void rawmy_close(void *h) { mysql_close(h); }

static int64_t rawmy_scalar(void *h, const char *sql)
{
    MYSQL *m = h;
    if (mysql_real_query(m, sql, (unsigned long)strlen(sql)) != 0)
        die("%s: libmariadb: %s", sql, mysql_error(m));
    MYSQL_RES *res = mysql_store_result(m);
    if (!res)
        die("%s: libmariadb: %s", sql, mysql_error(m));
    MYSQL_ROW row = mysql_fetch_row(res);
    if (!row || !row[0]) {
        mysql_free_result(res);
        die("%s: expected one non-NULL value", sql);
    }
    int64_t v = strtoll(row[0], NULL, 10);
    mysql_free_result(res);
    return v;
}

static MYSQL_STMT *rawmy_prepare(MYSQL *m, const char *sql)
{
    MYSQL_STMT *st = mysql_stmt_init(m);
    if (!st)
        die("mysql_stmt_init: %s", mysql_error(m));
    if (mysql_stmt_prepare(st, sql, (unsigned long)strlen(sql)) != 0)
        rawmy_stmt_die(st, sql);
    return st;
}

static void rawmy_stmt_close(MYSQL_STMT *st)
{
    if (mysql_stmt_close(st) != 0)
        die("mysql_stmt_close failed");
}

/* Result buffers of SELECT id, name, qty, price. */
typedef struct rawmy_outrow {
    MYSQL_BIND b[4];
    long long id, qty;
    double price;
    char name[256];
    unsigned long len[4];
    my_bool null[4], error[4];
} rawmy_outrow;

static void rawmy_bind_out(MYSQL_STMT *st, rawmy_outrow *o)
{
    memset(o, 0, sizeof *o);
    o->b[0].buffer_type = MYSQL_TYPE_LONGLONG;
    o->b[0].buffer = &o->id;
    o->b[1].buffer_type = MYSQL_TYPE_STRING;
    o->b[1].buffer = o->name;
    o->b[1].buffer_length = sizeof o->name;
    o->b[2].buffer_type = MYSQL_TYPE_LONGLONG;
    o->b[2].buffer = &o->qty;
    o->b[3].buffer_type = MYSQL_TYPE_DOUBLE;
    o->b[3].buffer = &o->price;
    for (int i = 0; i < 4; i++) {
        o->b[i].length = &o->len[i];
        o->b[i].is_null = &o->null[i];
        o->b[i].error = &o->error[i];
    }
    if (mysql_stmt_bind_result(st, o->b) != 0)
        rawmy_stmt_die(st, "mysql_stmt_bind_result");
}

/* mysql_stmt_fetch: true for a row, false at the end. */
static bool rawmy_fetch_row(MYSQL_STMT *st, rawmy_outrow *o, item *it)
{
    int rc = mysql_stmt_fetch(st);
    if (rc == MYSQL_NO_DATA)
        return false;
    if (rc == 1)
        rawmy_stmt_die(st, "mysql_stmt_fetch");
    if (rc == MYSQL_DATA_TRUNCATED)
        die("mysql_stmt_fetch: a column was truncated");
    if (o->null[0] || o->null[1] || o->null[2] || o->null[3])
        die("mysql_stmt_fetch: unexpected NULL");
    it->id = o->id;
    copy_name(it, o->name, o->len[1]);
    it->qty = o->qty;
    it->price = o->price;
    return true;
}

NOINLINE static double rawmy_insert(void *h, const item *src, size_t n)
{
    MYSQL *m = h;
    MYSQL_BIND b[4];
    long long id, qty;
    double price;
    double t0 = now();
    rawmy_exec(m, "BEGIN");
    MYSQL_STMT *st =
        rawmy_prepare(m, "INSERT INTO bench_items (id, name, qty, price) VALUES (?, ?, ?, ?)");
    for (size_t i = 0; i < n; i++) {
        const item *it = &src[i];
        id = it->id;
        qty = it->qty;
        price = it->price;
        memset(b, 0, sizeof b);
        b[0].buffer_type = MYSQL_TYPE_LONGLONG;
        b[0].buffer = &id;
        b[1].buffer_type = MYSQL_TYPE_STRING;
        b[1].buffer = (void *)it->name;
        b[1].buffer_length = (unsigned long)it->name_len;
        b[2].buffer_type = MYSQL_TYPE_LONGLONG;
        b[2].buffer = &qty;
        b[3].buffer_type = MYSQL_TYPE_DOUBLE;
        b[3].buffer = &price;
        if (mysql_stmt_bind_param(st, b) != 0)
            rawmy_stmt_die(st, "mysql_stmt_bind_param");
        if (mysql_stmt_execute(st) != 0)
            rawmy_stmt_die(st, "insert");
    }
    rawmy_stmt_close(st);
    rawmy_exec(m, "COMMIT");
    return now() - t0;
}

NOINLINE static double rawmy_lookup(void *h, const int64_t *ids, size_t n, item *out)
{
    MYSQL *m = h;
    MYSQL_BIND pb[1];
    long long id;
    rawmy_outrow o;
    double t0 = now();
    rawmy_exec(m, "BEGIN");
    MYSQL_STMT *st = rawmy_prepare(m, "SELECT id, name, qty, price FROM bench_items WHERE id = ?");
    rawmy_bind_out(st, &o);
    block_clock bc;
    block_start(&bc);
    for (size_t i = 0; i < n; i++) {
        id = ids[i];
        memset(pb, 0, sizeof pb);
        pb[0].buffer_type = MYSQL_TYPE_LONGLONG;
        pb[0].buffer = &id;
        if (mysql_stmt_bind_param(st, pb) != 0)
            rawmy_stmt_die(st, "mysql_stmt_bind_param");
        if (mysql_stmt_execute(st) != 0)
            rawmy_stmt_die(st, "lookup");
        if (!rawmy_fetch_row(st, &o, &out[i]))
            die("raw mysql lookup of id %" PRId64 ": no row", ids[i]);
        if (mysql_stmt_free_result(st) != 0)
            rawmy_stmt_die(st, "mysql_stmt_free_result");
        block_tick(&bc);
    }
    block_end(&bc);
    rawmy_stmt_close(st);
    rawmy_exec(m, "COMMIT");
    return now() - t0;
}

NOINLINE static double rawmy_fetch(void *h, bool stream, item *out, size_t cap, size_t *got)
{
    MYSQL *m = h;
    rawmy_outrow o;
    size_t n = 0;
    double t0 = now();
    rawmy_exec(m, "BEGIN");
    MYSQL_STMT *st = rawmy_prepare(m, "SELECT id, name, qty, price FROM bench_items");
    if (mysql_stmt_execute(st) != 0)
        rawmy_stmt_die(st, "fetch");
    rawmy_bind_out(st, &o);
    if (!stream && mysql_stmt_store_result(st) != 0)
        rawmy_stmt_die(st, "mysql_stmt_store_result");
    item scratch;
    while (rawmy_fetch_row(st, &o, n < cap ? &out[n] : &scratch))
        if (++n > cap)
            die("raw mysql: more rows than the %zu inserted", cap);
    if (mysql_stmt_free_result(st) != 0)
        rawmy_stmt_die(st, "mysql_stmt_free_result");
    rawmy_stmt_close(st);
    rawmy_exec(m, "COMMIT");
    *got = n;
    return now() - t0;
}

NOINLINE static void rawmy_rel_insert(void *h, const rel_data *d, int64_t *user_ids,
                                      int64_t *post_ids)
{
    MYSQL *m = h;
    MYSQL_BIND b[2];
    long long uid;
    rawmy_exec(m, "BEGIN");
    MYSQL_STMT *st = rawmy_prepare(m, "INSERT INTO bench_users (name) VALUES (?)");
    for (size_t i = 0; i < d->users; i++) {
        memset(b, 0, sizeof b);
        b[0].buffer_type = MYSQL_TYPE_STRING;
        b[0].buffer = (void *)d->names[i].s;
        b[0].buffer_length = (unsigned long)d->names[i].len;
        if (mysql_stmt_bind_param(st, b) != 0)
            rawmy_stmt_die(st, "mysql_stmt_bind_param");
        if (mysql_stmt_execute(st) != 0)
            rawmy_stmt_die(st, "insert user");
        user_ids[i] = (int64_t)mysql_stmt_insert_id(st);
    }
    rawmy_stmt_close(st);
    st = rawmy_prepare(m, "INSERT INTO bench_posts (user_id, title) VALUES (?, ?)");
    for (size_t k = 0; k < d->users * POSTS_PER_USER; k++) {
        uid = user_ids[k / POSTS_PER_USER];
        memset(b, 0, sizeof b);
        b[0].buffer_type = MYSQL_TYPE_LONGLONG;
        b[0].buffer = &uid;
        b[1].buffer_type = MYSQL_TYPE_STRING;
        b[1].buffer = (void *)d->titles[k].s;
        b[1].buffer_length = (unsigned long)d->titles[k].len;
        if (mysql_stmt_bind_param(st, b) != 0)
            rawmy_stmt_die(st, "mysql_stmt_bind_param");
        if (mysql_stmt_execute(st) != 0)
            rawmy_stmt_die(st, "insert post");
        post_ids[k] = (int64_t)mysql_stmt_insert_id(st);
    }
    rawmy_stmt_close(st);
    rawmy_exec(m, "COMMIT");
}

NOINLINE static void rawmy_rel_join(void *h, raw_users *out)
{
    MYSQL *m = h;
    MYSQL_BIND b[5];
    long long uid, pid, puid;
    char name[256], title[256];
    unsigned long len[5];
    my_bool null[5], error[5];
    rawmy_exec(m, "BEGIN");
    MYSQL_STMT *st = rawmy_prepare(m, REL_JOIN_SQL);
    if (mysql_stmt_execute(st) != 0)
        rawmy_stmt_die(st, "join");
    memset(b, 0, sizeof b);
    b[0].buffer_type = MYSQL_TYPE_LONGLONG;
    b[0].buffer = &uid;
    b[1].buffer_type = MYSQL_TYPE_STRING;
    b[1].buffer = name;
    b[1].buffer_length = sizeof name;
    b[2].buffer_type = MYSQL_TYPE_LONGLONG;
    b[2].buffer = &pid;
    b[3].buffer_type = MYSQL_TYPE_LONGLONG;
    b[3].buffer = &puid;
    b[4].buffer_type = MYSQL_TYPE_STRING;
    b[4].buffer = title;
    b[4].buffer_length = sizeof title;
    for (int i = 0; i < 5; i++) {
        b[i].length = &len[i];
        b[i].is_null = &null[i];
        b[i].error = &error[i];
    }
    if (mysql_stmt_bind_result(st, b) != 0)
        rawmy_stmt_die(st, "mysql_stmt_bind_result");
    if (mysql_stmt_store_result(st) != 0)
        rawmy_stmt_die(st, "mysql_stmt_store_result");
    int rc;
    while ((rc = mysql_stmt_fetch(st)) == 0) {
        if (null[0] || null[1])
            die("raw mysql join: unexpected NULL");
        bool has_post = !null[2];
        rel_row(out, uid, name, len[1], has_post, pid, puid, title, has_post ? len[4] : 0);
    }
    if (rc == MYSQL_DATA_TRUNCATED)
        die("mysql_stmt_fetch: a column was truncated");
    if (rc != MYSQL_NO_DATA)
        rawmy_stmt_die(st, "mysql_stmt_fetch");
    if (mysql_stmt_free_result(st) != 0)
        rawmy_stmt_die(st, "mysql_stmt_free_result");
    rawmy_stmt_close(st);
    rawmy_exec(m, "COMMIT");
}

static const raw_api mysql_api = {
    .name = "mysql",
    .env = "CRUCIBLE_MYSQL_URL",
    .create_sql = "CREATE TABLE bench_items (id integer PRIMARY KEY, name varchar(100), "
                  "qty integer, price double)",
    .two_modes = true,
    .version = rawmy_version,
    .open = rawmy_open,
    .close = rawmy_close,
    .try_exec = rawmy_try_exec,
    .scalar = rawmy_scalar,
    .insert = rawmy_insert,
    .lookup = rawmy_lookup,
    .fetch = rawmy_fetch,
    .rel_insert = rawmy_rel_insert,
    .rel_join = rawmy_rel_join,
};
#endif /* CRUCIBLE_HAVE_MYSQL */

/* ------------------------------------------------------------------------
 * The same workloads through Crucible
 * ------------------------------------------------------------------------ */

/* ---- The same through the SQL expression language (Core) ---- */

/* bench_items as a table of Crucible's schema (the raw side creates it). */
#define BENCH_ITEMS(COLUMN)                                                  \
    COLUMN(id, INTEGER, .primary_key = true, .autoincrement = CR_NO)        \
    COLUMN(name, STRING(100))                                               \
    COLUMN(qty, INTEGER)                                                    \
    COLUMN(price, DOUBLE)
CR_DECLARE_TABLE(items_table, BENCH_ITEMS)
static items_table items;
static cr_metadata *items_md;

static void core_define(void)
{
    if (!(items_md = cr_metadata_new(NULL)) || items_table_define(&items, items_md, "bench_items"))
        die("defining bench_items: %s",
            items_md ? cr_error_message(cr_metadata_error(items_md)) : "out of memory");
}

static cr_conn *cr_checkout(void)
{
    cr_error *err = NULL;
    cr_conn *c = cr_engine_connect(G.engine, &err);
    if (!c)
        die_cr("cr_engine_connect", err);
    G.conn = c;
    return c;
}

static void cr_checkin(cr_conn *c)
{
    G.conn = NULL;
    cr_conn_close(c);
}

static void cr_read(const cr_row *row, item *o)
{
    const char *name;
    size_t len;
    if (cr_row_int64_at(row, 0, &o->id) != CR_OK ||
        cr_row_text_at(row, 1, &name, &len) != CR_OK ||
        cr_row_int64_at(row, 2, &o->qty) != CR_OK ||
        cr_row_double_at(row, 3, &o->price) != CR_OK)
        die_cr("reading a row", cr_row_error(row));
    copy_name(o, name, len);
}

/* The one row a lookup by id returned, read into *out; the result freed. */
static void read_lookup(cr_conn *c, cr_result *r, const char *what, int64_t id, item *out)
{
    if (!r)
        die_cr(what, cr_conn_error(c));
    const cr_row *row = cr_result_fetchone(r);
    if (!row) {
        if (cr_result_error(r))
            die_cr(what, cr_result_error(r));
        die("%s of id %" PRId64 ": no row", what, id);
    }
    cr_read(row, out);
    cr_result_free(r);
}

NOINLINE static double cr_insert_exec(const item *src, size_t n)
{
    double t0 = now();
    cr_conn *c = cr_checkout();
    CR_CHECK(c, cr_conn_begin(c), "BEGIN");
    for (size_t i = 0; i < n; i++) {
        const item *it = &src[i];
        CR_CHECK(c,
                 cr_conn_exec(c, INSERT_SQL,
                              CR_PARAMS({"id", cr_val_int(it->id)},
                                        {"name", cr_val_textn(it->name, it->name_len)},
                                        {"qty", cr_val_int(it->qty)},
                                        {"price", cr_val_double(it->price)})),
                 "insert");
    }
    CR_CHECK(c, cr_conn_commit(c), "COMMIT");
    cr_checkin(c);
    return now() - t0;
}

/* executemany: of textual SQL, or (core) of insert(), whose rows go in
 * batches of multi-row VALUES. */
NOINLINE static double cr_insert_many(const item *src, size_t n, bool core)
{
    static const char *const names[] = {"id", "name", "qty", "price"};
    double t0 = now();
    cr_value *vals = xmalloc(sizeof *vals * 4 * n);
    for (size_t i = 0; i < n; i++) {
        const item *it = &src[i];
        vals[4 * i + 0] = cr_val_int(it->id);
        vals[4 * i + 1] = cr_val_textn(it->name, it->name_len);
        vals[4 * i + 2] = cr_val_int(it->qty);
        vals[4 * i + 3] = cr_val_double(it->price);
    }
    cr_conn *c = cr_checkout();
    CR_CHECK(c, cr_conn_begin(c), "BEGIN");
    cr_stmt *q = core ? cr_insert(items.table) : NULL;
    cr_result *r = core ? cr_conn_executemany_stmt(c, q, CR_COLS(items.c.id, items.c.name,
                                                                  items.c.qty, items.c.price),
                                                   vals, n)
                        : cr_conn_executemany(c, INSERT_SQL, names, 4, vals, n);
    if (!r)
        die_cr("executemany", cr_conn_error(c));
    int64_t count = cr_result_rowcount(r);
    cr_result_free(r);
    cr_stmt_free(q);
    if (count != (int64_t)n)
        die("executemany: rowcount %" PRId64 ", expected %zu", count, n);
    CR_CHECK(c, cr_conn_commit(c), "COMMIT");
    cr_checkin(c);
    free(vals);
    return now() - t0;
}

NOINLINE static double cr_lookup(const int64_t *ids, size_t n, item *out)
{
    double t0 = now();
    cr_conn *c = cr_checkout();
    block_clock bc;
    block_start(&bc);
    for (size_t i = 0; i < n; i++) {
        cr_result *r = cr_conn_execute(c, LOOKUP_SQL, CR_PARAMS({"id", cr_val_int(ids[i])}));
        read_lookup(c, r, "lookup", ids[i], &out[i]);
        block_tick(&bc);
    }
    block_end(&bc);
    CR_CHECK(c, cr_conn_commit(c), "COMMIT");   /* of the implicit BEGIN */
    cr_checkin(c);
    return now() - t0;
}

/* A select() by primary key built once, with a placeholder for the key,
 * executed for every lookup with the key's value (connection.execute(stmt,
 * {"id": id})). */
NOINLINE static double core_lookup_reused(const int64_t *ids, size_t n, item *out)
{
    double t0 = now();
    cr_conn *c = cr_checkout();
    cr_stmt *q = cr_select(items.c.id, items.c.name, items.c.qty, items.c.price);
    cr_where(q, cr_eq(q, items.c.id, cr_bindparam(q, "id")));
    block_clock bc;
    block_start(&bc);
    for (size_t i = 0; i < n; i++) {
        cr_result *r = cr_conn_execute_stmt_params(c, q, CR_PARAMS({"id", cr_val_int(ids[i])}));
        read_lookup(c, r, "core reused lookup", ids[i], &out[i]);
        block_tick(&bc);
    }
    block_end(&bc);
    cr_stmt_free(q);
    CR_CHECK(c, cr_conn_commit(c), "COMMIT");
    cr_checkin(c);
    return now() - t0;
}

/* Every row of the table: textual SQL, or (core) select(table). */
NOINLINE static double cr_fetch(bool stream, bool core, item *out, size_t cap, size_t *got)
{
    size_t n = 0;
    double t0 = now();
    cr_conn *c = cr_checkout();
    if (stream)
        CR_CHECK(c, cr_conn_set_stream_results(c, true), "cr_conn_set_stream_results");
    cr_stmt *q = core ? cr_select(items.table) : NULL;
    cr_result *r = core ? cr_conn_execute_stmt(c, q) : cr_conn_execute(c, FETCH_SQL, NULL);
    if (!r)
        die_cr("fetch", cr_conn_error(c));
    const cr_row *row;
    while ((row = cr_result_fetchone(r)) != NULL) {
        if (n == cap)
            die("crucible: more rows than the %zu inserted", cap);
        cr_read(row, &out[n++]);
    }
    if (cr_result_error(r))
        die_cr("fetch: fetchone", cr_result_error(r));
    cr_result_free(r);
    cr_stmt_free(q);
    CR_CHECK(c, cr_conn_commit(c), "COMMIT");
    cr_checkin(c);
    *got = n;
    return now() - t0;
}

/* Each lookup builds its select() anew: the statement cache's hit path. */
NOINLINE static double core_lookup(const int64_t *ids, size_t n, item *out)
{
    double t0 = now();
    cr_conn *c = cr_checkout();
    block_clock bc;
    block_start(&bc);
    for (size_t i = 0; i < n; i++) {
        cr_stmt *q = cr_select(items.c.id, items.c.name, items.c.qty, items.c.price);
        cr_where(q, cr_eq(q, items.c.id, ids[i]));
        cr_result *r = cr_conn_execute_stmt(c, q);
        read_lookup(c, r, "core lookup", ids[i], &out[i]);
        cr_stmt_free(q);
        block_tick(&bc);
    }
    block_end(&bc);
    CR_CHECK(c, cr_conn_commit(c), "COMMIT");
    cr_checkin(c);
    return now() - t0;
}


/* ---- The same through the ORM ---- */

/* bench_items as a model: the ORM's objects, with a generated key. */
#define BENCH_OBJ(F)                                                         \
    F(id, INTEGER, .primary_key = true)                                     \
    F(name, STRING(100))                                                    \
    F(qty, INTEGER)                                                         \
    F(price, DOUBLE)
CR_MODEL(BenchObj, "bench_items", BENCH_OBJ)
static cr_metadata *orm_md;

static void orm_define(void)
{
    if (!(orm_md = cr_metadata_new(NULL)) || BenchObj_define(orm_md))
        die("defining the BenchObj model: %s",
            orm_md ? cr_error_message(cr_metadata_error(orm_md)) : "out of memory");
}

static void orm_check(cr_session *s, cr_status st, const char *what)
{
    if (st != CR_OK)
        die_cr(what, cr_session_error(s));
}

static void obj_read(const BenchObj *o, item *out)
{
    out->id = o->id;
    copy_name(out, o->name, strlen(o->name));
    out->qty = o->qty;
    out->price = o->price;
}

/* flush n new objects in one transaction, their generated keys fetched back:
 * session.add_all(objs); session.commit(). */
NOINLINE static double orm_flush(const item *src, size_t n)
{
    double t0 = now();
    cr_session *s = cr_session_new(G.engine, NULL);
    if (!s)
        die("cr_session_new: out of memory");
    BenchObj **objs = xmalloc(sizeof *objs * n);
    for (size_t i = 0; i < n; i++) {
        BenchObj *o = objs[i] = cr_new(BenchObj);
        if (!o)
            die("cr_new: out of memory");
        o->name = (char *)src[i].name;   /* the program's text, valid meanwhile */
        o->qty = src[i].qty;
        o->price = src[i].price;
        orm_check(s, cr_session_add(s, o), "session add");
    }
    orm_check(s, cr_session_commit(s), "session commit");
    double t = now() - t0;
    for (size_t i = 0; i < n; i++)
        if (objs[i]->id != (int64_t)i + 1)
            die("ORM flush: object %zu got key %" PRId64 ", expected %zu", i, objs[i]->id, i + 1);
    free(objs);
    cr_session_free(s);
    return t;
}

/* n session.get()s by primary key, each a miss of the identity map. */
NOINLINE static double orm_get(const int64_t *ids, size_t n, item *out)
{
    double t0 = now();
    cr_session *s = cr_session_new(G.engine, NULL);
    if (!s)
        die("cr_session_new: out of memory");
    for (size_t i = 0; i < n; i++) {
        BenchObj *o = cr_session_get(s, BenchObj, ids[i]);
        if (!o)
            die_cr("ORM get", cr_session_error(s));
        obj_read(o, &out[i]);
    }
    orm_check(s, cr_session_commit(s), "session commit");
    cr_session_free(s);
    return now() - t0;
}

/* Every row as an object: session.scalars(select(BenchObj)).all(), or a
 * yield_per stream of 1,000 at a time. */
NOINLINE static double orm_load(bool stream, item *out, size_t cap, size_t *got)
{
    size_t n = 0;
    double t0 = now();
    cr_session *s = cr_session_new(G.engine, NULL);
    cr_stmt *q = cr_select_model(BenchObj);
    if (!s || !q)
        die("ORM load: out of memory");
    if (stream) {
        cr_object_stream *st = cr_session_stream(s, q, 1000);
        cr_objects *batch;
        if (!st)
            die_cr("ORM stream", cr_session_error(s));
        while ((batch = cr_stream_next(st)) && batch->count)
            for (size_t i = 0; i < batch->count && n < cap; i++)
                obj_read(batch->items[i], &out[n++]);
        if (!batch)
            die_cr("ORM stream: next", cr_session_error(s));
        cr_stream_free(st);
    } else {
        cr_objects *all = cr_session_all(s, q);
        if (!all)
            die_cr("ORM load", cr_session_error(s));
        for (size_t i = 0; i < all->count && n < cap; i++)
            obj_read(all->items[i], &out[n++]);
        cr_objects_free(all);
    }
    cr_stmt_free(q);
    orm_check(s, cr_session_commit(s), "session commit");
    cr_session_free(s);
    *got = n;
    return now() - t0;
}

/* ---- Relationships through the ORM ---- */

/* bench_users and bench_posts: a one-to-many relationship, its other side
 * many-to-one. The foreign key is indexed, as a real schema's is (MySQL
 * indexes it anyway): without it every lazy or selectin load of one user's
 * posts scans the whole posts table. */
#define BENCH_USER_FIELDS(F)                                                 \
    F(id, INTEGER, .primary_key = true)                                     \
    F(name, STRING(100))
#define BENCH_USER_RELATIONSHIPS(R)                                          \
    R(posts, MANY(BenchPost), .back_populates = "author", .order_by = "id")
CR_MODEL(BenchUser, "bench_users", BENCH_USER_FIELDS, BENCH_USER_RELATIONSHIPS)

#define BENCH_POST_FIELDS(F)                                                 \
    F(id, INTEGER, .primary_key = true)                                     \
    F(user_id, INTEGER, .foreign_key = "bench_users.id", .index = true)     \
    F(title, STRING(100))
#define BENCH_POST_RELATIONSHIPS(R)                                          \
    R(author, ONE(BenchUser), .back_populates = "posts")
CR_MODEL(BenchPost, "bench_posts", BENCH_POST_FIELDS, BENCH_POST_RELATIONSHIPS)
static cr_metadata *rel_md;

static void rel_define(void)
{
    if (!(rel_md = cr_metadata_new(NULL)) || BenchUser_define(rel_md) ||
        BenchPost_define(rel_md) || cr_metadata_configure(rel_md))
        die("defining the BenchUser and BenchPost models: %s",
            rel_md ? cr_error_message(cr_metadata_error(rel_md)) : "out of memory");
}

/* n users, each with POSTS_PER_USER new posts appended to its collection,
 * flushed in one transaction (session.add_all(users); session.commit()).
 * The objects stay in the session (*sp) for the check. */
NOINLINE static double orm_rel_flush(const rel_data *d, BenchUser **users, cr_session **sp)
{
    double t0 = now();
    cr_session *s = *sp = cr_session_new(G.engine, NULL);
    if (!s)
        die("cr_session_new: out of memory");
    for (size_t i = 0; i < d->users; i++) {
        BenchUser *u = users[i] = cr_new(BenchUser);
        if (!u)
            die("cr_new: out of memory");
        u->name = (char *)d->names[i].s;   /* the program's text, valid meanwhile */
        orm_check(s, cr_session_add(s, u), "session add");
        for (size_t j = 0; j < POSTS_PER_USER; j++) {
            BenchPost *p = cr_new(BenchPost);
            if (!p)
                die("cr_new: out of memory");
            p->title = (char *)d->titles[i * POSTS_PER_USER + j].s;
            orm_check(s, cr_append(u, posts, p), "append a post");
        }
    }
    orm_check(s, cr_session_commit(s), "session commit");
    return now() - t0;
}

/* The objects of a flush, against the data: users' keys 1..n in order, each
 * post's foreign key its user's key, every key distinct. */
static void orm_rel_flush_check(const rel_data *d, BenchUser *const *users)
{
    size_t nposts = d->users * POSTS_PER_USER;
    unsigned char *seen = calloc(nposts + 1, 1);
    if (!seen)
        die("out of memory");
    for (size_t i = 0; i < d->users; i++) {
        const BenchUser *u = users[i];
        if (u->id != (int64_t)i + 1)
            die("ORM rel flush: user %zu got key %" PRId64 ", expected %zu", i, u->id, i + 1);
        if (u->posts.count != POSTS_PER_USER)
            die("ORM rel flush: user %" PRId64 " holds %zu posts", u->id, u->posts.count);
        CR_FOR_EACH(BenchPost, p, &u->posts) {
            if (p->user_id != u->id || p->author != u)
                die("ORM rel flush: post %" PRId64 " of user %" PRId64 " has user_id %" PRId64,
                    p->id, u->id, p->user_id);
            if (p->id < 1 || (uint64_t)p->id > nposts || seen[p->id])
                die("ORM rel flush: unexpected or repeated post key %" PRId64, p->id);
            seen[p->id] = 1;
        }
    }
    free(seen);
}

/* Every user with its posts, each post touched: lazily (one SELECT per
 * user's posts, cr_load), or eagerly through a loader option. The session
 * stays open (*sp) for the check; *out holds the users. */
NOINLINE static double orm_rel_load(cr_loader how, cr_objects **out, cr_session **sp,
                                    rel_sum *sum)
{
    double t0 = now();
    cr_session *s = *sp = cr_session_new(G.engine, NULL);
    if (!s)
        die("cr_session_new: out of memory");
    cr_stmt *q = cr_session_query(s, BenchUser);
    if (!q)
        die("cr_session_query: out of memory");
    cr_order_by(q, BenchUser_model.c.id);
    if (how == CR_LOAD_JOINED)
        cr_joinedload(q, BenchUser_model.r.posts);
    else if (how == CR_LOAD_SELECTIN)
        cr_selectinload(q, BenchUser_model.r.posts);
    cr_objects *users = *out = cr_query_all(q);
    if (!users)
        die_cr("ORM rel load", cr_session_error(s));
    CR_FOR_EACH(BenchUser, u, users) {
        if (how == CR_LOAD_LAZY)
            orm_check(s, cr_load(u, posts), "cr_load(user, posts)");
        sum->users++;
        sum->text += strlen(u->name);
        CR_FOR_EACH(BenchPost, p, &u->posts) {
            sum->posts++;
            sum->keys += (uint64_t)p->id + (uint64_t)p->user_id;
            sum->text += strlen(p->title);
        }
    }
    cr_stmt_free(q);
    orm_check(s, cr_session_commit(s), "session commit");
    return now() - t0;
}

static void orm_rel_load_check(const char *who, const cr_objects *users, const rel_data *d)
{
    if (users->count != d->users)
        die("%s: %zu users, expected %zu", who, users->count, d->users);
    for (size_t k = 0; k < users->count; k++) {
        const BenchUser *u = users->items[k];
        rel_check_user(who, d, k, u->id, u->name, u->posts.count);
        for (size_t j = 0; j < u->posts.count; j++) {
            const BenchPost *p = u->posts.items[j];
            rel_check_post(who, d, k, j, p->id, p->user_id, p->title);
            if (p->author && p->author != u)
                die("%s: post %" PRId64 " has another author", who, p->id);
        }
    }
}

/* ------------------------------------------------------------------------
 * Results
 * ------------------------------------------------------------------------ */

/* The ratio each line aims at: the engine's paths 1.15x of the raw library,
 * the expression language's 1.2x; PostgreSQL's batched inserts against
 * libpq's one row per round trip at least 3x faster. */
#define TARGET 1.15
#define CORE_TARGET 1.2
#define REUSED_TARGET 1.05   /* a statement built once, run with new values */
#define BULK_TARGET (1.0 / 3.0)
#define ORM_TARGET 2.0

typedef struct line {
    const char *backend;
    char workload[64];
    bool skipped;
    char note[160];            /* why skipped */
    double raw, cr;
    bool has_rss;
    long rss_raw_kb, rss_cr_kb;
    double target;             /* crucible/raw at most; 0: TARGET */
} line;

static line lines[64];
static int nlines;
static char versions[256];   /* the client libraries measured against */
static int unprepared_runs;  /* routes bench_unprepared measured (its own table) */
static int reps_used;

static line *add_line(const char *backend)
{
    if (nlines == (int)(sizeof lines / sizeof lines[0]))
        die("too many result lines");
    line *l = &lines[nlines++];
    memset(l, 0, sizeof *l);
    l->backend = backend;
    return l;
}

static void skip_backend(const char *backend, const char *why)
{
    line *l = add_line(backend);
    l->skipped = true;
    snprintf(l->note, sizeof l->note, "%s", why);
    fprintf(stderr, "bench: %s: skipped (%s)\n", backend, why);
}

static double line_target(const line *l) { return l->target > 0 ? l->target : TARGET; }

static void print_tables(void)
{
    printf("\n%-11s %-50s %10s %14s %8s\n", "backend", "workload", "raw (s)", "crucible (s)",
           "ratio");
    for (int i = 0; i < nlines; i++) {
        const line *l = &lines[i];
        if (l->skipped)
            printf("%-11s skipped: %s\n", l->backend, l->note);
        else
            printf("%-11s %-50s %10.4f %14.4f %7.2fx%s\n", l->backend, l->workload, l->raw,
                   l->cr, l->cr / l->raw, l->cr / l->raw > line_target(l) ? "  (above target)" : "");
    }
    bool any_rss = false;
    for (int i = 0; i < nlines; i++)
        any_rss |= lines[i].has_rss;
    if (any_rss) {
        printf("\n%-11s %-50s %14s %14s\n", "backend", "peak RSS growth during", "raw (MiB)",
               "crucible (MiB)");
        for (int i = 0; i < nlines; i++)
            if (lines[i].has_rss)
                printf("%-11s %-50s %14.1f %14.1f\n", lines[i].backend, lines[i].workload,
                       lines[i].rss_raw_kb / 1024.0, lines[i].rss_cr_kb / 1024.0);
        if (!rss_exact)
            printf("(RSS: VmHWM could not be reset; growth is ru_maxrss beyond the earlier "
                   "peak and may read low)\n");
    }

    long ncpu = -1;
#ifdef _SC_NPROCESSORS_ONLN
    ncpu = sysconf(_SC_NPROCESSORS_ONLN);
#endif
    printf("\nCrucible %s against %s, in the same process; best of %d runs per side",
           CRUCIBLE_VERSION, *versions ? versions : "no client library", reps_used);
    if (ncpu > 0)
        printf("; %ld CPUs", ncpu);
    printf(".\n");
    printf("\n| backend | workload | raw (s) | crucible (s) | crucible/raw |\n");
    printf("|---|---|--:|--:|--:|\n");
    for (int i = 0; i < nlines; i++) {
        const line *l = &lines[i];
        if (l->skipped)
            printf("| %s | skipped: %s | | | |\n", l->backend, l->note);
        else
            printf("| %s | %s | %.4f | %.4f | %s%.2fx%s |\n", l->backend, l->workload, l->raw,
                   l->cr, l->cr / l->raw > line_target(l) ? "**" : "", l->cr / l->raw,
                   l->cr / l->raw > line_target(l) ? "**" : "");
    }
    if (any_rss) {
        printf("\n| backend | peak RSS growth during | raw (MiB) | crucible (MiB) |\n");
        printf("|---|---|--:|--:|\n");
        for (int i = 0; i < nlines; i++)
            if (lines[i].has_rss)
                printf("| %s | %s | %.1f | %.1f |\n", lines[i].backend, lines[i].workload,
                       lines[i].rss_raw_kb / 1024.0, lines[i].rss_cr_kb / 1024.0);
    }

    int above = 0, measured = 0;
    for (int i = 0; i < nlines; i++) {
        measured += !lines[i].skipped;
        if (!lines[i].skipped && lines[i].cr / lines[i].raw > line_target(&lines[i]))
            above++;
    }
    if (!measured) {
        if (!unprepared_runs)
            printf("\nNothing was measured.\n");
    } else if (above) {
        printf("\nAbove target:\n");
        for (int i = 0; i < nlines; i++)
            if (!lines[i].skipped && lines[i].cr / lines[i].raw > line_target(&lines[i]))
                printf("  %s: %s: %.2fx (target %.2fx)\n", lines[i].backend, lines[i].workload,
                       lines[i].cr / lines[i].raw, line_target(&lines[i]));
    } else {
        printf("\nEvery ratio is within its target (engine %.2fx, Core %.2fx, Core reused "
               "statement %.2fx, PostgreSQL bulk insert %.2fx).\n", TARGET, CORE_TARGET,
               REUSED_TARGET, BULK_TARGET);
    }
}

/* ------------------------------------------------------------------------
 * Running a backend
 * ------------------------------------------------------------------------ */

typedef struct sizes {
    size_t insert, lookups, fetch, rel_users;
    int reps;
    bool do_insert, do_lookup, do_fetch, do_orm, do_rel, do_unprepared;   /* --only */
} sizes;

static void drop_table(void)
{
    raw_exec(G.raw, G.raw_conn, "DROP TABLE IF EXISTS bench_items");
}

/* An empty bench_items. SQLite also gives the freed pages back, so that each
 * run starts from the same small file. */
static void reset_table(void)
{
    drop_table();
    if (!G.raw->env)
        raw_exec(G.raw, G.raw_conn, "VACUUM");
    G.table = true;
    raw_exec(G.raw, G.raw_conn, G.raw->create_sql);
}

static void check_table(const char *who, const item *src, size_t n)
{
    int64_t qty = 0;
    for (size_t i = 0; i < n; i++)
        qty += src[i].qty;
    int64_t count = G.raw->scalar(G.raw_conn, "SELECT count(*) FROM bench_items");
    int64_t sum_id = G.raw->scalar(G.raw_conn, "SELECT sum(id) FROM bench_items");
    int64_t sum_qty = G.raw->scalar(G.raw_conn, "SELECT sum(qty) FROM bench_items");
    int64_t want_id = (int64_t)n * ((int64_t)n + 1) / 2;
    if (count != (int64_t)n || sum_id != want_id || sum_qty != qty)
        die("%s: the table holds %" PRId64 " rows (id sum %" PRId64 ", qty sum %" PRId64
            "), expected %zu (%" PRId64 ", %" PRId64 ")", who, count, sum_id, sum_qty, n,
            want_id, qty);
}

static void progress(const char *backend, const char *what, int rep, int reps, double t)
{
    fprintf(stderr, "bench: %s: %-34s run %d/%d: %.4f s\n", backend, what, rep + 1, reps, t);
}

static double min_d(double a, double b) { return a < b ? a : b; }

/* 1. Inserts: raw, exec per row and executemany, in an order that rotates
 * from one repetition to the next. */
static void bench_insert(const raw_api *api, const sizes *sz, const item *src)
{
    static const char *const what[4] = {"insert raw", "insert crucible exec",
                                        "insert crucible executemany", "insert core executemany"};
    const char *bn = api->name;
    size_t n = sz->insert;
    double best[4] = {INFINITY, INFINITY, INFINITY, INFINITY};
    for (int rep = 0; rep < sz->reps; rep++)
        for (int k = 0; k < 4; k++) {
            int v = (k + rep) % 4;
            reset_table();
            settle(bn);
            double t = v == 0 ? api->insert(G.raw_conn, src, n)
                     : v == 1 ? cr_insert_exec(src, n)
                     : cr_insert_many(src, n, v == 3);
            check_table(what[v], src, n);
            progress(bn, what[v], rep, sz->reps, t);
            best[v] = min_d(best[v], t);
        }
    line *l = add_line(bn);
    snprintf(l->workload, sizeof l->workload, "insert %zu rows (1 tx, exec per row)", n);
    l->raw = best[0];
    l->cr = best[1];
    l = add_line(bn);
    snprintf(l->workload, sizeof l->workload, "insert %zu rows (1 tx, executemany)", n);
    l->raw = best[0];
    l->cr = best[2];
    l = add_line(bn);
    snprintf(l->workload, sizeof l->workload, "Core insert() executemany %zu rows", n);
    l->raw = best[0];
    l->cr = best[3];
    /* Against one row per round trip, batching must win where there are
     * round trips to save (a server). */
    l->target = api->env ? BULK_TARGET : CORE_TARGET;
}

/* 2. Lookups by primary key, at random among the sz->insert rows that the
 * table holds. */
static void bench_lookup(const raw_api *api, const sizes *sz, item *out)
{
    const char *bn = api->name;
    size_t n = sz->insert, nl = sz->lookups;
    int64_t *ids = xmalloc(sizeof *ids * nl);
    uint64_t x = 88172645463325252ULL;   /* xorshift64: the same ids every time */
    for (size_t i = 0; i < nl; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        ids[i] = (int64_t)(x % n) + 1;
    }
    /* In blocks on SQLite only: against a server a block's time is at the
     * mercy of the server's own scheduling on the same two cores. */
    bool blocks = strcmp(bn, "sqlite") == 0;
    double best[4] = {INFINITY, INFINITY, INFINITY, INFINITY};
    static const char *const what[4] = {"lookups raw", "lookups crucible", "lookups core",
                                        "lookups core reused"};
    for (int rep = 0; rep < sz->reps; rep++)
        for (int k = 0; k < 4; k++) {
            int v = (k + rep) % 4;
            memset(out, 0, sizeof *out * nl);
            settle(bn);
            lookup_block_best = INFINITY;
            double t = v == 0 ? api->lookup(G.raw_conn, ids, nl, out)
                     : v == 1 ? cr_lookup(ids, nl, out)
                     : v == 2 ? core_lookup(ids, nl, out)
                              : core_lookup_reused(ids, nl, out);
            for (size_t i = 0; i < nl; i++)
                check_item(what[v], &out[i], ids[i]);
            progress(bn, what[v], rep, sz->reps, t);
            /* SQLite: the best block, scaled to the run (fewer lookups
             * than a block: the run itself). */
            best[v] = min_d(best[v], !blocks || nl < LOOKUP_BLOCK
                                         ? t
                                         : lookup_block_best * (double)nl / LOOKUP_BLOCK);
        }
    free(ids);
    line *l = add_line(bn);
    snprintf(l->workload, sizeof l->workload, "%zu selects by primary key", nl);
    l->raw = best[0];
    l->cr = best[1];
    l = add_line(bn);
    snprintf(l->workload, sizeof l->workload, "Core select() by pk, built anew x%zu", nl);
    l->raw = best[0];
    l->cr = best[2];
    l->target = CORE_TARGET;
    l = add_line(bn);
    snprintf(l->workload, sizeof l->workload, "Core select() by pk, reused (bindparam) x%zu", nl);
    l->raw = best[0];
    l->cr = best[3];
    l->target = REUSED_TARGET;
}

/* 3. Fetch all sz->fetch rows of the table into structs that are already
 * resident (so the RSS growth is the client's and Crucible's own): with the
 * client's default buffering where it has one, and streamed. */
static void bench_fetch(const raw_api *api, const sizes *sz, item *out)
{
    const char *bn = api->name;
    size_t nf = sz->fetch;
    for (int mode = api->two_modes ? 0 : 1; mode < 2; mode++) {
        bool stream = mode == 1;
        double best[3] = {INFINITY, INFINITY, INFINITY};
        long rss[3] = {0, 0, 0};
        static const char *const what[2][3] = {
            {"fetch buffered raw", "fetch buffered crucible", "fetch buffered core"},
            {"fetch streamed raw", "fetch streamed crucible", "fetch streamed core"}};
        for (int rep = 0; rep < sz->reps; rep++)
            for (int k = 0; k < 3; k++) {
                int v = (k + rep) % 3;
                size_t got = 0;
                memset(out, 0, sizeof *out * nf);
                settle(bn);
                rss_probe probe;
                rss_begin(&probe);
                double t = v == 0 ? api->fetch(G.raw_conn, stream, out, nf, &got)
                         : cr_fetch(stream, v == 2, out, nf, &got);
                long grew = rss_end(&probe);
                check_fetched(what[stream][v], out, got, nf);
                progress(bn, what[stream][v], rep, sz->reps, t);
                best[v] = min_d(best[v], t);
                rss[v] = grew > rss[v] ? grew : rss[v];
            }
        const char *mode_name = stream ? (api->two_modes ? "stream_results" : "streamed")
                                       : "buffered";
        for (int v = 1; v <= 2; v++) {
            line *l = add_line(bn);
            snprintf(l->workload, sizeof l->workload, "%sfetch %zu rows (%s)",
                     v == 2 ? "Core select() " : "", nf, mode_name);
            l->raw = best[0];
            l->cr = best[v];
            l->has_rss = true;
            l->rss_raw_kb = rss[0];
            l->rss_cr_kb = rss[v];
            l->target = v == 2 ? CORE_TARGET : 0;
        }
    }
}

/* bench_items as the ORM's model creates it (its key generated: SERIAL,
 * AUTO_INCREMENT, rowid), empty. */
static void orm_reset_table(void)
{
    drop_table();
    if (!G.raw->env)
        raw_exec(G.raw, G.raw_conn, "VACUUM");
    G.table = true;
    cr_conn *c = cr_checkout();
    CR_CHECK(c, cr_metadata_create_all(orm_md, c, false), "create_all");
    CR_CHECK(c, cr_conn_commit(c), "COMMIT");
    cr_checkin(c);
}

/* 5. The ORM beside the raw library doing the same by hand: n new objects
 * flushed (keys generated and fetched back; raw inserts its rows one by
 * one), n/10 gets by primary key against an empty identity map, and 5n rows
 * loaded as objects, all at once and streamed with yield_per. */
static void bench_orm(const raw_api *api, const sizes *sz, const item *src, item *out)
{
    const char *bn = api->name;
    size_t n = sz->insert, nl = sz->lookups, nf = sz->fetch;
    double best[2] = {INFINITY, INFINITY};
    for (int rep = 0; rep < sz->reps; rep++)
        for (int k = 0; k < 2; k++) {
            int v = (k + rep) % 2;
            orm_reset_table();
            settle(bn);
            double t = v == 0 ? api->insert(G.raw_conn, src, n) : orm_flush(src, n);
            check_table(v ? "ORM flush" : "insert raw", src, n);
            progress(bn, v ? "ORM flush" : "insert raw (ORM table)", rep, sz->reps, t);
            best[v] = min_d(best[v], t);
        }
    line *l = add_line(bn);
    snprintf(l->workload, sizeof l->workload, "ORM flush %zu new objects, keys back", n);
    l->raw = best[0];
    l->cr = best[1];
    l->target = ORM_TARGET;

    /* Distinct keys: every get misses the identity map. */
    int64_t *ids = xmalloc(sizeof *ids * nl);
    for (size_t i = 0; i < nl; i++)
        ids[i] = (int64_t)((i * 7919) % n) + 1;
    best[0] = best[1] = INFINITY;
    for (int rep = 0; rep < sz->reps; rep++)
        for (int k = 0; k < 2; k++) {
            int v = (k + rep) % 2;
            memset(out, 0, sizeof *out * nl);
            settle(bn);
            double t = v == 0 ? api->lookup(G.raw_conn, ids, nl, out) : orm_get(ids, nl, out);
            for (size_t i = 0; i < nl; i++)
                check_item(v ? "ORM get" : "lookups raw", &out[i], ids[i]);
            progress(bn, v ? "ORM get" : "lookups raw", rep, sz->reps, t);
            best[v] = min_d(best[v], t);
        }
    free(ids);
    l = add_line(bn);
    snprintf(l->workload, sizeof l->workload, "ORM get() x%zu, empty identity map", nl);
    l->raw = best[0];
    l->cr = best[1];
    l->target = ORM_TARGET;

    orm_reset_table();
    double t = api->insert(G.raw_conn, src, nf);
    check_table("populate", src, nf);
    fprintf(stderr, "bench: %s: populated %zu rows in %.2f s\n", bn, nf, t);
    for (int mode = 0; mode < 2; mode++) {
        bool stream = mode == 1;
        long rss[2] = {0, 0};
        best[0] = best[1] = INFINITY;
        for (int rep = 0; rep < sz->reps; rep++)
            for (int k = 0; k < 2; k++) {
                int v = (k + rep) % 2;
                size_t got = 0;
                memset(out, 0, sizeof *out * nf);
                settle(bn);
                rss_probe probe;
                rss_begin(&probe);
                t = v == 0 ? api->fetch(G.raw_conn, stream, out, nf, &got)
                           : orm_load(stream, out, nf, &got);
                long grew = rss_end(&probe);
                check_fetched(v ? "ORM load" : "fetch raw", out, got, nf);
                progress(bn, v ? (stream ? "ORM load yield_per" : "ORM load all")
                               : (stream ? "fetch streamed raw" : "fetch raw"),
                         rep, sz->reps, t);
                best[v] = min_d(best[v], t);
                rss[v] = grew > rss[v] ? grew : rss[v];
            }
        l = add_line(bn);
        snprintf(l->workload, sizeof l->workload, "ORM load %zu objects (%s)", nf,
                 stream ? "yield_per 1000" : "all at once");
        l->raw = best[0];
        l->cr = best[1];
        l->target = ORM_TARGET;
        l->has_rss = true;
        l->rss_raw_kb = rss[0];
        l->rss_cr_kb = rss[1];
    }
}

/* bench_users and bench_posts as the models create them, empty. */
static void rel_reset_tables(void)
{
    raw_exec(G.raw, G.raw_conn, "DROP TABLE IF EXISTS bench_posts");
    raw_exec(G.raw, G.raw_conn, "DROP TABLE IF EXISTS bench_users");
    if (!G.raw->env)
        raw_exec(G.raw, G.raw_conn, "VACUUM");
    G.rel_tables = true;
    cr_conn *c = cr_checkout();
    CR_CHECK(c, cr_metadata_create_all(rel_md, c, false), "create_all");
    CR_CHECK(c, cr_conn_commit(c), "COMMIT");
    cr_checkin(c);
}

/* What the tables hold after a flush of d: row counts, key sums, text
 * lengths, and each title's length weighted by its user's key (a post
 * under the wrong user shows). */
static void rel_check_tables(const char *who, const rel_data *d)
{
    int64_t n = (int64_t)d->users, np = n * POSTS_PER_USER;
    int64_t name_len = 0, title_len = 0, weighted = 0;
    for (size_t i = 0; i < d->users; i++) {
        name_len += (int64_t)d->names[i].len;
        for (size_t j = 0; j < POSTS_PER_USER; j++) {
            size_t len = d->titles[i * POSTS_PER_USER + j].len;
            title_len += (int64_t)len;
            weighted += (int64_t)(i + 1) * (int64_t)len;
        }
    }
    int64_t want[] = {n, n * (n + 1) / 2, name_len, np, np * (np + 1) / 2,
                      POSTS_PER_USER * (n * (n + 1) / 2), title_len, weighted};
    static const char *const sql[] = {
        "SELECT count(*) FROM bench_users",
        "SELECT sum(id) FROM bench_users",
        "SELECT sum(length(name)) FROM bench_users",
        "SELECT count(*) FROM bench_posts",
        "SELECT sum(id) FROM bench_posts",
        "SELECT sum(user_id) FROM bench_posts",
        "SELECT sum(length(title)) FROM bench_posts",
        "SELECT sum(user_id * length(title)) FROM bench_posts",
    };
    for (size_t i = 0; i < sizeof sql / sizeof sql[0]; i++) {
        int64_t got = G.raw->scalar(G.raw_conn, sql[i]);
        if (got != want[i])
            die("%s: %s gives %" PRId64 ", expected %" PRId64, who, sql[i], got, want[i]);
    }
}

/* The raw side's keys of a flush: users 1..n, posts 1..n*POSTS_PER_USER in
 * the order inserted. */
static void rel_check_keys(const rel_data *d, const int64_t *user_ids, const int64_t *post_ids)
{
    for (size_t i = 0; i < d->users; i++)
        if (user_ids[i] != (int64_t)i + 1)
            die("raw rel insert: user %zu got key %" PRId64, i, user_ids[i]);
    for (size_t k = 0; k < d->users * POSTS_PER_USER; k++)
        if (post_ids[k] != (int64_t)k + 1)
            die("raw rel insert: post %zu got key %" PRId64, k, post_ids[k]);
}

/* 6. Relationships: n users each with POSTS_PER_USER posts flushed (raw: the
 * rows inserted one by one, keys fetched back), then loaded with every post
 * touched, lazily (N+1), with joinedload and with selectinload, each beside
 * the raw library reading one hand-written JOIN into parent structs with
 * child arrays. */
static void bench_rel(const raw_api *api, const sizes *sz, const rel_data *d)
{
    const char *bn = api->name;
    size_t n = d->users, np = n * POSTS_PER_USER;
    int64_t *user_ids = xmalloc(sizeof *user_ids * n);
    int64_t *post_ids = xmalloc(sizeof *post_ids * np);
    BenchUser **users = xmalloc(sizeof *users * n);
    double best[4] = {INFINITY, INFINITY, INFINITY, INFINITY};
    for (int rep = 0; rep < sz->reps; rep++)
        for (int k = 0; k < 2; k++) {
            int v = (k + rep) % 2;
            rel_reset_tables();
            settle(bn);
            double t;
            if (v == 0) {
                double t0 = now();
                api->rel_insert(G.raw_conn, d, user_ids, post_ids);
                t = now() - t0;
                rel_check_keys(d, user_ids, post_ids);
            } else {
                cr_session *s;
                t = orm_rel_flush(d, users, &s);
                orm_rel_flush_check(d, users);
                cr_session_free(s);
            }
            rel_check_tables(v ? "ORM rel flush" : "raw rel insert", d);
            progress(bn, v ? "ORM flush users + posts" : "insert users + posts raw", rep,
                     sz->reps, t);
            best[v] = min_d(best[v], t);
        }
    line *l = add_line(bn);
    snprintf(l->workload, sizeof l->workload, "ORM flush %zu users x %d new posts", n,
             POSTS_PER_USER);
    l->raw = best[0];
    l->cr = best[1];
    l->target = ORM_TARGET;

    /* The tables as the raw side fills them: keys in the data's order. */
    rel_reset_tables();
    double t0 = now();
    api->rel_insert(G.raw_conn, d, user_ids, post_ids);
    fprintf(stderr, "bench: %s: populated %zu users and %zu posts in %.2f s\n", bn, n, np,
            now() - t0);
    rel_check_keys(d, user_ids, post_ids);
    rel_check_tables("populate", d);

    static const cr_loader how[4] = {CR_LOAD_DEFAULT, CR_LOAD_LAZY, CR_LOAD_JOINED,
                                     CR_LOAD_SELECTIN};
    static const char *const what[4] = {"rel load raw JOIN", "rel load lazy (N+1)",
                                        "rel load joinedload", "rel load selectinload"};
    for (int v = 0; v < 4; v++)
        best[v] = INFINITY;
    for (int rep = 0; rep < sz->reps; rep++)
        for (int k = 0; k < 4; k++) {
            int v = (k + rep) % 4;
            rel_sum sum = {0, 0, 0, 0};
            settle(bn);
            double t;
            if (v == 0) {
                raw_users out = {NULL, 0, 0};
                t0 = now();
                api->rel_join(G.raw_conn, &out);
                raw_users_touch(&out, &sum);
                t = now() - t0;
                raw_users_check(what[v], &out, d);
                raw_users_free(&out);
            } else {
                cr_session *s;
                cr_objects *objs;
                t = orm_rel_load(how[v], &objs, &s, &sum);
                orm_rel_load_check(what[v], objs, d);
                cr_objects_free(objs);
                cr_session_free(s);
            }
            rel_check_sum(what[v], &sum, d);
            progress(bn, what[v], rep, sz->reps, t);
            best[v] = min_d(best[v], t);
        }
    static const char *const name[4] = {"", "lazy (N+1)", "joinedload", "selectinload"};
    for (int v = 1; v < 4; v++) {
        l = add_line(bn);
        snprintf(l->workload, sizeof l->workload, "ORM load %zu users x %d posts, %s", n,
                 POSTS_PER_USER, name[v]);
        l->raw = best[0];
        l->cr = best[v];
        /* The N+1 pattern has no target against one JOIN: it shows what
         * eager loading saves. */
        l->target = v == 1 ? INFINITY : ORM_TARGET;
    }
    free(users);
    free(user_ids);
    free(post_ids);
}

/* Fill the empty table with rows 1..n (not timed). */
static void populate(const raw_api *api, const item *src, size_t n)
{
    reset_table();
    double t = api->insert(G.raw_conn, src, n);
    check_table("populate", src, n);
    fprintf(stderr, "bench: %s: populated %zu rows in %.2f s\n", api->name, n, t);
}

/* 4. The pool (SQLite): what a checkout and return cost beside one select by
 * primary key, and how a request loop (check out, select, return) scales
 * from one thread to two threads sharing the engine's pool. */
static struct {
    bool done;
    double checkout_us, lookup_us;   /* per operation */
    double one_thread, two_threads;  /* seconds for the same total work */
} pool_fig;

typedef struct pool_job {
    const int64_t *ids;
    size_t n;
    double seconds;
} pool_job;

static void pool_requests(const int64_t *ids, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        cr_error *err = NULL;
        cr_conn *c = cr_engine_connect(G.engine, &err);
        if (!c)
            die_cr("pool request: connect", err);
        cr_result *r = cr_conn_execute(c, LOOKUP_SQL, CR_PARAMS({"id", cr_val_int(ids[i])}));
        if (!r)
            die_cr("pool request: lookup", cr_conn_error(c));
        const cr_row *row = cr_result_fetchone(r);
        item it;
        if (!row)
            die("pool request: no row for id %" PRId64, ids[i]);
        cr_read(row, &it);
        check_item("pool request", &it, ids[i]);
        cr_result_free(r);
        cr_conn_close(c);
    }
}

static void *pool_thread(void *arg)
{
    pool_job *job = arg;
    double t0 = now();
    pool_requests(job->ids, job->n);
    job->seconds = now() - t0;
    return NULL;
}

static void bench_pool(const sizes *sz, item *out)
{
    size_t nl = sz->lookups, n = sz->insert;
    int64_t *ids = xmalloc(sizeof *ids * nl * 2);
    uint64_t x = 2463534242ULL;
    for (size_t i = 0; i < nl * 2; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        ids[i] = (int64_t)(x % n) + 1;
    }
    double best_co = INFINITY, best_lk = INFINITY, best_1 = INFINITY, best_2 = INFINITY;
    size_t nco = nl * 10;
    for (int rep = 0; rep < sz->reps; rep++) {
        settle("sqlite");
        double t0 = now();
        for (size_t i = 0; i < nco; i++) {
            cr_error *err = NULL;
            cr_conn *c = cr_engine_connect(G.engine, &err);
            if (!c)
                die_cr("pool checkout", err);
            cr_conn_close(c);
        }
        best_co = min_d(best_co, (now() - t0) / (double)nco);
        best_lk = min_d(best_lk, cr_lookup(ids, nl, out) / (double)nl);
        progress("sqlite", "pool checkout+return", rep, sz->reps, best_co * (double)nco);

        settle("sqlite");
        t0 = now();
        pool_requests(ids, nl * 2);
        best_1 = min_d(best_1, now() - t0);
        pool_job jobs[2] = {{ids, nl, 0}, {ids + nl, nl, 0}};
        pthread_t th[2];
        t0 = now();
        for (int k = 0; k < 2; k++)
            if (pthread_create(&th[k], NULL, pool_thread, &jobs[k]) != 0)
                die("pthread_create failed");
        for (int k = 0; k < 2; k++)
            pthread_join(th[k], NULL);
        best_2 = min_d(best_2, now() - t0);
        progress("sqlite", "pool requests, 2 threads", rep, sz->reps, best_2);
    }
    free(ids);
    pool_fig.done = true;
    pool_fig.checkout_us = best_co * 1e6;
    pool_fig.lookup_us = best_lk * 1e6;
    pool_fig.one_thread = best_1;
    pool_fig.two_threads = best_2;
}

static void print_pool(void)
{
    if (!pool_fig.done)
        return;
    printf("\nPool (SQLite):\n");
    printf("  checkout + return of a pooled connection: %.3f us; one select by primary key: "
           "%.3f us; ratio %.3f (target < 0.1)\n",
           pool_fig.checkout_us, pool_fig.lookup_us, pool_fig.checkout_us / pool_fig.lookup_us);
    printf("  requests (checkout, select by primary key, return): 1 thread %.4f s, 2 threads "
           "%.4f s for the same work: %.2fx as fast (target >= 1.6x)\n",
           pool_fig.one_thread, pool_fig.two_threads, pool_fig.one_thread / pool_fig.two_threads);
    printf("\n| pool workload (SQLite) | measured | target |\n|---|--:|--:|\n");
    printf("| checkout + return / one select by primary key | %.3f | < 0.1 |\n",
           pool_fig.checkout_us / pool_fig.lookup_us);
    printf("| request loop, 2 threads vs 1 | %.2fx | >= 1.6x |\n",
           pool_fig.one_thread / pool_fig.two_threads);
}

/* 5. Statements without named server-side statements (prepared_statements =
 * CR_NO) against the prepared path: lookups by primary key and inserts, each
 * side through its own engine, direct and through PgBouncer. */
static struct {
    int n;
    struct {
        const char *route;
        double lookup[2], insert[2];   /* [0]: prepared, [1]: unnamed */
    } r[2];
    size_t lookups, inserts;
} unprepared_fig;

static void bench_unprepared(const sizes *sz, const item *src, item *out, const char *cr_url)
{
    static const char *const what[2][2] = {{"lookups prepared", "lookups unnamed"},
                                           {"inserts prepared", "inserts unnamed"}};
    size_t nl = sz->lookups, n = sz->lookups;
    int64_t *ids = xmalloc(sizeof *ids * nl);
    uint64_t x = 88172645463325252ULL;
    for (size_t i = 0; i < nl; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        ids[i] = (int64_t)(x % n) + 1;
    }
    const char *bouncer = getenv("CRUCIBLE_PGBOUNCER_SINGLE_URL");
    const char *routes[2][2] = {{"direct to PostgreSQL", cr_url},
                                {"through PgBouncer (transaction mode)", bouncer}};
    cr_engine *saved = G.engine;
    unprepared_fig.lookups = nl;
    unprepared_fig.inserts = n;
    unprepared_fig.n = 0;
    for (int route = 0; route < 2; route++) {
        const char *url = routes[route][1];
        if (!url || !*url) {
            fprintf(stderr, "bench: postgresql: CRUCIBLE_PGBOUNCER_SINGLE_URL is not set: "
                            "no run through PgBouncer\n");
            continue;
        }
        cr_engine *engines[2] = {NULL, NULL};
        for (int mode = 0; mode < 2; mode++) {
            cr_engine_options o = {.prepared_statements = mode ? CR_NO : CR_YES};
            cr_error *cerr = NULL;
            if (!(engines[mode] = cr_create_engine(url, &o, &cerr))) {
                cr_engine_free(engines[0]);
                die_cr("cr_create_engine", cerr);
            }
        }
        /* The lookups read one table, the inserts refill it: each side in
         * turn, the order rotating from one repetition to the next. */
        double best[2][2] = {{INFINITY, INFINITY}, {INFINITY, INFINITY}};
        populate(G.raw, src, n);
        for (int work = 0; work < 2; work++)
            for (int rep = 0; rep < sz->reps; rep++)
                for (int k = 0; k < 2; k++) {
                    int mode = (k + rep) % 2;
                    G.engine = engines[mode];
                    double t;
                    if (work == 0) {
                        memset(out, 0, sizeof *out * nl);
                        settle("postgresql");
                        t = cr_lookup(ids, nl, out);
                        for (size_t i = 0; i < nl; i++)
                            check_item(what[0][mode], &out[i], ids[i]);
                    } else {
                        reset_table();
                        settle("postgresql");
                        t = cr_insert_exec(src, n);
                        check_table(what[1][mode], src, n);
                    }
                    progress("postgresql", what[work][mode], rep, sz->reps, t);
                    best[work][mode] = min_d(best[work][mode], t);
                }
        G.engine = saved;
        cr_engine_free(engines[0]);
        cr_engine_free(engines[1]);
        int i = unprepared_fig.n++;
        unprepared_runs = unprepared_fig.n;
        unprepared_fig.r[i].route = routes[route][0];
        for (int mode = 0; mode < 2; mode++) {
            unprepared_fig.r[i].lookup[mode] = best[0][mode];
            unprepared_fig.r[i].insert[mode] = best[1][mode];
        }
    }
    free(ids);
}

static void print_unprepared(void)
{
    if (!unprepared_fig.n)
        return;
    printf("\nPostgreSQL statements without named prepared statements (prepared_statements=false)"
           " against the prepared path:\n");
    printf("\n| route | workload | prepared (s) | unnamed (s) | unnamed/prepared |\n");
    printf("|---|---|--:|--:|--:|\n");
    for (int i = 0; i < unprepared_fig.n; i++) {
        const char *route = unprepared_fig.r[i].route;
        double *l = unprepared_fig.r[i].lookup, *w = unprepared_fig.r[i].insert;
        printf("| %s | %zu selects by primary key | %.4f | %.4f | %.2fx |\n", route,
               unprepared_fig.lookups, l[0], l[1], l[1] / l[0]);
        printf("| %s | insert %zu rows (1 tx, exec per row) | %.4f | %.4f | %.2fx |\n", route,
               unprepared_fig.inserts, w[0], w[1], w[1] / w[0]);
    }
}

static void run_backend(const raw_api *api, const char *raw_url, const char *cr_url,
                        const sizes *sz, const item *src, item *out, const rel_data *rel)
{
    char err[1024];
    G.raw = api;
    G.raw_url = raw_url;
    if (!(G.raw_conn = api->open(raw_url, err, sizeof err)))
        die("%s: connecting with the raw client library: %s", api->name, err);
    cr_error *cerr = NULL;
    if (!(G.engine = cr_create_engine(cr_url, NULL, &cerr)))
        die_cr("cr_create_engine", cerr);
    fprintf(stderr, "bench: %s: %s, Crucible %s\n", api->name, api->version(), CRUCIBLE_VERSION);
    size_t vl = strlen(versions);
    snprintf(versions + vl, sizeof versions - vl, "%s%s", vl ? ", " : "", api->version());

    if (sz->do_insert)
        bench_insert(api, sz, src);   /* leaves the table with sz->insert rows */
    if (sz->do_lookup) {
        if (!sz->do_insert)
            populate(api, src, sz->insert);
        bench_lookup(api, sz, out);
        if (!api->env)   /* the embedded backend: the pool's own cost shows */
            bench_pool(sz, out);
    }
    if (sz->do_fetch) {
        populate(api, src, sz->fetch);
        bench_fetch(api, sz, out);
    }
    if (sz->do_orm)
        bench_orm(api, sz, src, out);
    if (sz->do_rel)
        bench_rel(api, sz, rel);
    if (sz->do_unprepared && strcmp(api->name, "postgresql") == 0)
        bench_unprepared(sz, src, out, cr_url);

    drop_table();
    G.table = false;
    raw_exec(api, G.raw_conn, "DROP TABLE IF EXISTS bench_posts");
    raw_exec(api, G.raw_conn, "DROP TABLE IF EXISTS bench_users");
    G.rel_tables = false;
    cr_engine_free(G.engine);
    G.engine = NULL;
    api->close(G.raw_conn);
    G.raw_conn = NULL;
    G.raw = NULL;
}

/* Undo what a run left: Crucible's connection and engine first (a
 * transaction of theirs would hold locks), then the table, through a fresh
 * raw connection (the old one may be mid-statement), then SQLite's files. */
static void cleanup(void)
{
    if (G.conn) {
        cr_conn_close(G.conn);
        G.conn = NULL;
    }
    if (G.engine) {
        cr_engine_free(G.engine);
        G.engine = NULL;
    }
    if (G.raw && G.raw_conn) {
        G.raw->close(G.raw_conn);
        G.raw_conn = NULL;
    }
    if (G.raw && G.raw->env && (G.table || G.rel_tables)) {
        static const char *const drops[] = {"DROP TABLE IF EXISTS bench_items",
                                            "DROP TABLE IF EXISTS bench_posts",
                                            "DROP TABLE IF EXISTS bench_users"};
        char err[1024] = "";
        void *h = G.raw->open(G.raw_url, err, sizeof err);
        for (size_t i = 0; i < sizeof drops / sizeof drops[0]; i++)
            if (!h || !G.raw->try_exec(h, drops[i], err, sizeof err)) {
                fprintf(stderr, "bench: %s on %s failed: %s\n", drops[i], G.raw->name, err);
                break;
            }
        if (h)
            G.raw->close(h);
        G.table = false;
        G.rel_tables = false;
    }
    if (G.dbpath) {
        static const char *const suffixes[] = {"", "-journal", "-wal", "-shm"};
        for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
            char p[4096];
            snprintf(p, sizeof p, "%s%s", G.dbpath, suffixes[i]);
            unlink(p);
        }
        free(G.dbpath);
        G.dbpath = NULL;
    }
    if (G.tmpdir) {
        if (rmdir(G.tmpdir) != 0)
            fprintf(stderr, "bench: could not remove %s\n", G.tmpdir);
        free(G.tmpdir);
        G.tmpdir = NULL;
    }
}

/* ------------------------------------------------------------------------
 * Read replicas (--only replicas)
 *
 * A primary with its replicas (scripts/scaleout/pg-replicas.sh: two
 * PostgreSQL streaming replicas; mariadb-replica.sh: one MariaDB replica),
 * from CRUCIBLE_PG_PRIMARY_URL, CRUCIBLE_PG_REPLICA1_URL, ..._REPLICA2_URL
 * and CRUCIBLE_MYSQL_PRIMARY_URL, CRUCIBLE_MYSQL_REPLICA_URL. Every read is
 * a checkout, a select of one row by primary key, the row read and checked,
 * the connection back (AUTOCOMMIT on every engine: no BEGIN / ROLLBACK
 * round trips to blur the comparison). It prints:
 *   - the router's own cost: a read-only checkout and close through an
 *     engine with one replica, less a plain checkout and close on an engine
 *     on that replica, against a primary-key read on the primary (target:
 *     under 5%); and the same difference measured with the statement;
 *   - a read that waits for a read-your-writes token;
 *   - reads from 4 threads for 2 s: the primary alone (cr_engine_connect)
 *     against the replicas (cr_engine_connect_readonly), and how the
 *     replicas shared them. On this two-core machine the servers share the
 *     cores the client runs on, so the throughput ratio says little about
 *     more machines; the overhead and the spread are what carry over.
 * ------------------------------------------------------------------------ */

#define REPLICA_ROWS 10000
#define REPLICA_SELECT "SELECT id, name, qty FROM bench_replica_items WHERE id = :id"

static cr_engine *replica_engine(const char *url, const char *const *replicas, int n)
{
    cr_engine_options o = {.isolation_level = "AUTOCOMMIT", .pool_size = 8};
    cr_error *err = NULL;
    cr_engine *e = cr_create_engine(url, &o, &err);
    if (!e)
        die_cr("replicas: cr_create_engine", err);
    for (int i = 0; i < n; i++)
        if (cr_engine_add_replica(e, replicas[i], &err))
            die_cr("replicas: cr_engine_add_replica", err);
    return e;
}

/* One read by primary key, on a connection checked out as asked. */
static void replica_read(cr_engine *e, bool routed, const char *token, int64_t id)
{
    cr_error *err = NULL;
    cr_conn *c = !routed ? cr_engine_connect(e, &err)
                 : token ? cr_engine_connect_readonly_after(e, token, &err)
                         : cr_engine_connect_readonly(e, &err);
    if (!c)
        die_cr("replicas: checkout", err);
    cr_result *r = cr_conn_execute(c, REPLICA_SELECT, CR_PARAMS({"id", cr_val_int(id)}));
    if (!r)
        die_cr("replicas: select", cr_conn_error(c));
    const cr_row *row = cr_result_fetchone(r);
    int64_t got = 0;
    if (!row || cr_row_int64(row, 0, &got) != CR_OK || got != id)
        die("replicas: row %" PRId64 " not read back", id);
    cr_result_free(r);
    cr_conn_close(c);
}

/* Seconds per read (best of reps runs of n). */
static double replica_per_read(cr_engine *e, bool routed, const char *token, int n, int reps)
{
    double best = INFINITY;
    for (int rep = 0; rep < reps; rep++) {
        double t0 = now();
        for (int k = 0; k < n; k++)
            replica_read(e, routed, token, 1 + (int64_t)((k * 7919L) % REPLICA_ROWS));
        double t = (now() - t0) / n;
        best = t < best ? t : best;
    }
    return best;
}

/* Seconds per checkout and close, no statement (best of reps runs of n). */
static double replica_per_checkout(cr_engine *e, bool routed, int n, int reps)
{
    double best = INFINITY;
    for (int rep = 0; rep < reps; rep++) {
        double t0 = now();
        for (int k = 0; k < n; k++) {
            cr_error *err = NULL;
            cr_conn *c = routed ? cr_engine_connect_readonly(e, &err) : cr_engine_connect(e, &err);
            if (!c)
                die_cr("replicas: checkout", err);
            cr_conn_close(c);
        }
        double t = (now() - t0) / n;
        best = t < best ? t : best;
    }
    return best;
}

typedef struct replica_worker {
    cr_engine *e;
    bool routed;
    double until;
    long reads;
} replica_worker;

static void *replica_thread(void *p)
{
    replica_worker *w = p;
    int64_t id = (int64_t)(uintptr_t)w % REPLICA_ROWS;
    while (now() < w->until) {
        for (int k = 0; k < 50; k++, w->reads++)
            replica_read(w->e, w->routed, NULL, 1 + (id = (id * 7919 + 13) % REPLICA_ROWS));
    }
    return NULL;
}

/* Reads per second from nthreads threads for seconds. */
static double replica_throughput(cr_engine *e, bool routed, int nthreads, double seconds)
{
    pthread_t t[16];
    replica_worker w[16];
    double until = now() + seconds;
    for (int i = 0; i < nthreads; i++) {
        w[i] = (replica_worker){e, routed, until, 0};
        if (pthread_create(&t[i], NULL, replica_thread, &w[i]) != 0)
            die("replicas: pthread_create failed");
    }
    long reads = 0;
    for (int i = 0; i < nthreads; i++) {
        pthread_join(t[i], NULL);
        reads += w[i].reads;
    }
    return (double)reads / seconds;
}

static void bench_replicas(const char *backend, int reps, bool quick)
{
    bool pg = strcmp(backend, "postgresql") == 0;
    const char *primary = getenv(pg ? "CRUCIBLE_PG_PRIMARY_URL" : "CRUCIBLE_MYSQL_PRIMARY_URL");
    const char *replicas[2] = {getenv(pg ? "CRUCIBLE_PG_REPLICA1_URL" : "CRUCIBLE_MYSQL_REPLICA_URL"),
                               pg ? getenv("CRUCIBLE_PG_REPLICA2_URL") : NULL};
    int n = replicas[1] && *replicas[1] ? 2 : 1;
    if (!primary || !*primary || !replicas[0] || !*replicas[0]) {
        printf("\nreplicas (%s): skipped: %s is not set (scripts/scaleout/%s)\n", backend,
               pg ? "CRUCIBLE_PG_PRIMARY_URL / CRUCIBLE_PG_REPLICA1_URL"
                  : "CRUCIBLE_MYSQL_PRIMARY_URL / CRUCIBLE_MYSQL_REPLICA_URL",
               pg ? "pg-replicas.sh" : "mariadb-replica.sh");
        return;
    }
    int reads = quick ? 500 : 4000, checkouts = quick ? 5000 : 50000;
    double seconds = quick ? 0.5 : 2.0;

    /* The table, on the primary; read back on every replica before timing. */
    cr_engine *p = replica_engine(primary, NULL, 0);
    cr_conn *c = cr_engine_connect(p, NULL);
    if (!c)
        die("replicas: cannot connect to %s", primary);
    CR_CHECK(c, cr_conn_exec(c, "DROP TABLE IF EXISTS bench_replica_items", NULL), "drop");
    CR_CHECK(c, cr_conn_exec(c, "CREATE TABLE bench_replica_items (id BIGINT PRIMARY KEY, "
                                "name VARCHAR(40), qty INTEGER)", NULL), "create");
    CR_CHECK(c, cr_conn_exec(c, "BEGIN", NULL), "begin");
    for (int64_t id = 1; id <= REPLICA_ROWS; id++)
        CR_CHECK(c, cr_conn_exec(c, "INSERT INTO bench_replica_items VALUES (:id, 'item', :q)",
                                 CR_PARAMS({"id", cr_val_int(id)}, {"q", cr_val_int(id % 97)})),
                 "insert");
    CR_CHECK(c, cr_conn_exec(c, "COMMIT", NULL), "commit");
    char token[CR_TOKEN_MAX];
    CR_CHECK(c, cr_conn_commit_token(c, token, sizeof token), "commit token");
    cr_conn_close(c);
    cr_engine *all = replica_engine(primary, replicas, n);
    cr_replica_options ro = {.wait_timeout = 60, .primary_fallback = CR_NO};
    cr_error *err = NULL;
    if (cr_engine_set_replica_options(all, &ro, &err))
        die_cr("replicas: options", err);
    for (int i = 0; i < 2 * n; i++)
        replica_read(all, true, token, 1);   /* every replica has the rows */
    cr_engine *one = replica_engine(primary, replicas, 1);
    cr_engine *unchecked = replica_engine(primary, replicas, 1);
    cr_replica_options uo = {.check_connections = CR_NO};
    if (cr_engine_set_replica_options(unchecked, &uo, &err))
        die_cr("replicas: options", err);
    cr_engine *direct = replica_engine(replicas[0], NULL, 0);
    settle(backend);

    double t_pk = replica_per_read(p, false, NULL, reads, reps);
    double c_plain = replica_per_checkout(direct, false, checkouts, reps);
    double c_routed = replica_per_checkout(one, true, checkouts, reps);
    double c_unchecked = replica_per_checkout(unchecked, true, checkouts, reps);
    double t_direct = replica_per_read(direct, false, NULL, reads, reps);
    double t_routed = replica_per_read(one, true, NULL, reads, reps);
    double t_unchecked = replica_per_read(unchecked, true, NULL, reads, reps);
    double t_token = replica_per_read(all, true, token, reads, reps);
    printf("\nread replicas (%s, %d replica%s; a read = checkout + PK select + close, "
           "AUTOCOMMIT)\n", backend, n, n == 1 ? "" : "s");
    printf("  PK read on the primary directly          %8.1f us\n", t_pk * 1e6);
    printf("  checkout+close, plain engine on replica  %8.3f us\n", c_plain * 1e6);
    printf("  checkout+close, routed to that replica   %8.3f us\n", c_routed * 1e6);
    printf("  routing overhead per read                %8.3f us = %.2f%% of a PK read "
           "(target < 5%%)\n", (c_routed - c_plain) * 1e6, 100 * (c_routed - c_plain) / t_pk);
    printf("    of which the socket check (one poll)   %8.3f us; without it (check_connections "
           "CR_NO) %.3f us = %.2f%%\n", (c_routed - c_unchecked) * 1e6,
           (c_unchecked - c_plain) * 1e6, 100 * (c_unchecked - c_plain) / t_pk);
    printf("  PK read, plain engine on replica         %8.1f us\n", t_direct * 1e6);
    printf("  PK read, routed to that replica          %8.1f us (%+.1f%% of a PK read; "
           "noise of a loaded machine included)\n", t_routed * 1e6,
           100 * (t_routed - t_direct) / t_pk);
    printf("  PK read, routed, check_connections CR_NO %8.1f us (%+.1f%%)\n", t_unchecked * 1e6,
           100 * (t_unchecked - t_direct) / t_pk);
    printf("  PK read waiting for a token (replayed)   %8.1f us\n", t_token * 1e6);

    settle(backend);
    double tp_primary = replica_throughput(p, false, 4, seconds);
    long before[2] = {0, 0};
    for (int i = 0; i < n; i++) {
        cr_replica_status st;
        cr_engine_replica_status(all, i, &st);
        before[i] = st.reads;
    }
    settle(backend);
    double tp_replicas = replica_throughput(all, true, 4, seconds);
    printf("  4 threads, %.1f s: primary alone %.0f reads/s, %d replica%s %.0f reads/s "
           "(%.2fx)\n", seconds, tp_primary, n, n == 1 ? "" : "s", tp_replicas,
           tp_replicas / tp_primary);
    printf("  spread:");
    for (int i = 0; i < n; i++) {
        cr_replica_status st;
        cr_engine_replica_status(all, i, &st);
        printf(" replica %d %ld reads%s", i, st.reads - before[i], i + 1 < n ? "," : "");
    }
    cr_replica_status ps;
    cr_engine_replica_status(all, -1, &ps);
    printf(", primary (fallback) %ld\n", ps.reads);
    fflush(stdout);

    c = cr_engine_connect(p, NULL);
    if (c)
        cr_conn_exec(c, "DROP TABLE IF EXISTS bench_replica_items", NULL);
    cr_conn_close(c);
    cr_engine_free(direct);
    cr_engine_free(unchecked);
    cr_engine_free(one);
    cr_engine_free(all);
    cr_engine_free(p);
}

/* ------------------------------------------------------------------------
 * main
 * ------------------------------------------------------------------------ */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: bench [sqlite|postgresql|mysql ...] [--rows N] [--quick] [--reps N]\n"
            "             [--only insert,lookup,fetch,orm,rel,unprepared,replicas]\n"
            "             [--no-settle]\n"
            "\n"
            "Runs each workload through Crucible and through the raw client library and\n"
            "prints the best time of each and their ratio (crucible/raw).\n"
            "  --rows N   rows inserted (default 100000); the lookups are N/10, the\n"
            "             fetch reads 5*N rows, the relationship workloads have N/10\n"
            "             users with 10 posts each\n"
            "  --quick    a tenth of every size (a smoke run)\n"
            "  --reps N   runs of each side of each workload, best taken (default 3)\n"
            "  --only W   only these workloads: insert, lookup, fetch, orm, rel,\n"
            "             unprepared (PostgreSQL: prepared_statements=false against the\n"
            "             prepared path, direct and through PgBouncer at\n"
            "             $CRUCIBLE_PGBOUNCER_SINGLE_URL when set), replicas (needs the\n"
            "             topologies of scripts/scaleout/pg-replicas.sh and\n"
            "             mariadb-replica.sh) (comma-separated)\n"
            "  --no-settle  do not wait for the machine to go idle before each run\n"
            "             (the default waits, up to 20 s; --quick never waits)\n"
            "Backends (default: all three): SQLite on a file in a temporary directory;\n"
            "PostgreSQL at $CRUCIBLE_PG_URL; MySQL/MariaDB at $CRUCIBLE_MYSQL_URL.\n"
            "A backend whose URL is not set is skipped.\n");
}

static size_t parse_count(const char *opt, const char *s)
{
    char *end;
    unsigned long long v = s ? strtoull(s, &end, 10) : 0;
    if (!s || !*s || *end || v == 0 || v > 100000000ULL || s[0] == '-') {
        fprintf(stderr, "bench: %s needs a positive count\n", opt);
        usage(stderr);
        exit(2);
    }
    return (size_t)v;
}

/* "insert,fetch" and the like. */
static bool parse_only(const char *list, bool *insert, bool *lookup, bool *fetch, bool *orm,
                       bool *rel, bool *unprepared, bool *replicas)
{
    if (!*list)
        return false;
    while (*list) {
        size_t n = strcspn(list, ",");
        if (n == 6 && strncmp(list, "insert", n) == 0)
            *insert = true;
        else if (n == 6 && strncmp(list, "lookup", n) == 0)
            *lookup = true;
        else if (n == 5 && strncmp(list, "fetch", n) == 0)
            *fetch = true;
        else if (n == 3 && strncmp(list, "orm", n) == 0)
            *orm = true;
        else if (n == 3 && strncmp(list, "rel", n) == 0)
            *rel = true;
        else if (n == 10 && strncmp(list, "unprepared", n) == 0)
            *unprepared = true;
        else if (n == 8 && strncmp(list, "replicas", n) == 0)
            *replicas = true;
        else
            return false;
        list += n;
        if (*list == ',')
            list++;
    }
    return true;
}

/* libpq takes the URL itself, without a "+driver" part. */
static char *libpq_url(const char *url)
{
    const char *sep = strstr(url, "://");
    const char *plus = strchr(url, '+');
    char *out = xmalloc(strlen(url) + 16);
    if (sep && plus && plus < sep)
        snprintf(out, strlen(url) + 16, "postgresql%s", sep);
    else
        snprintf(out, strlen(url) + 16, "%s", url);
    return out;
}

int main(int argc, char **argv)
{
    size_t rows = 100000;
    bool quick = false;
    bool only_insert = false, only_lookup = false, only_fetch = false, only_orm = false,
         only_rel = false, only_unprepared = false, only_replicas = false;
    int reps = 3;
    const char *want[8];
    int nwant = 0;
    core_define();
    orm_define();
    rel_define();
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--rows") == 0) {
            rows = parse_count(a, i + 1 < argc ? argv[++i] : NULL);
        } else if (strncmp(a, "--rows=", 7) == 0) {
            rows = parse_count("--rows", a + 7);
        } else if (strcmp(a, "--reps") == 0) {
            reps = (int)parse_count(a, i + 1 < argc ? argv[++i] : NULL);
        } else if (strncmp(a, "--reps=", 7) == 0) {
            reps = (int)parse_count("--reps", a + 7);
        } else if (strcmp(a, "--quick") == 0) {
            quick = true;
        } else if (strcmp(a, "--only") == 0 || strncmp(a, "--only=", 7) == 0) {
            const char *list = a[6] == '=' ? a + 7 : (i + 1 < argc ? argv[++i] : "");
            if (!parse_only(list, &only_insert, &only_lookup, &only_fetch, &only_orm,
                            &only_rel, &only_unprepared, &only_replicas)) {
                fprintf(stderr, "bench: --only takes insert, lookup, fetch, orm, rel, "
                                "unprepared and/or replicas, separated by commas\n");
                usage(stderr);
                return 2;
            }
        } else if (strcmp(a, "--no-settle") == 0) {
            settle_enabled = false;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "sqlite") == 0 || strcmp(a, "postgresql") == 0 ||
                   strcmp(a, "mysql") == 0) {
            if (nwant < 8)
                want[nwant++] = a;
        } else if (strcmp(a, "postgres") == 0 || strcmp(a, "pg") == 0) {
            if (nwant < 8)
                want[nwant++] = "postgresql";
        } else if (strcmp(a, "mariadb") == 0) {
            if (nwant < 8)
                want[nwant++] = "mysql";
        } else {
            fprintf(stderr, "bench: unknown argument '%s'\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (nwant == 0) {
        want[nwant++] = "sqlite";
        want[nwant++] = "postgresql";
        want[nwant++] = "mysql";
    }
    bool all = !only_insert && !only_lookup && !only_fetch && !only_orm && !only_rel &&
               !only_unprepared && !only_replicas;
    sizes sz = {rows, rows / 10, rows * 5, rows / 10, reps, all || only_insert,
                all || only_lookup, all || only_fetch, all || only_orm, all || only_rel,
                all || only_unprepared};
    reps_used = reps;
    if (quick) {
        settle_enabled = false;
        sz.insert /= 10;
        sz.lookups /= 10;
        sz.fetch /= 10;
        sz.rel_users /= 10;
    }
    if (sz.insert == 0)
        sz.insert = 1;
    if (sz.lookups == 0)
        sz.lookups = 1;
    if (sz.fetch == 0)
        sz.fetch = 1;
    if (sz.rel_users == 0)
        sz.rel_users = 1;

    /* The data, made once: rows 1..fetch (the inserts use the first ones). */
    size_t nsrc = sz.fetch > sz.insert ? sz.fetch : sz.insert;
    size_t nout = sz.fetch > sz.lookups ? sz.fetch : sz.lookups;
    item *src = xmalloc(sizeof *src * nsrc);
    item *out = xmalloc(sizeof *out * nout);
    for (size_t i = 0; i < nsrc; i++)
        gen_item((int64_t)i + 1, &src[i]);
    memset(out, 0, sizeof *out * nout);   /* resident before any RSS is measured */
    rel_data rel = {0, NULL, NULL};
    if (sz.do_rel)
        gen_rel(&rel, sz.rel_users);

    printf("Crucible %s benchmark: insert %zu rows, %zu lookups, fetch %zu rows, %zu users x %d "
           "posts; best of %d runs per side\n", CRUCIBLE_VERSION, sz.insert, sz.lookups,
           sz.fetch, sz.rel_users, POSTS_PER_USER, sz.reps);
    fflush(stdout);

    for (int w = 0; w < nwant; w++) {
        const char *name = want[w];
        bool dup = false;
        for (int j = 0; j < w; j++)
            dup |= strcmp(want[j], name) == 0;
        if (dup)
            continue;
        const raw_api *api = NULL;
#ifdef CRUCIBLE_HAVE_SQLITE
        if (strcmp(name, "sqlite") == 0)
            api = &sqlite_api;
#endif
#ifdef CRUCIBLE_HAVE_POSTGRESQL
        if (strcmp(name, "postgresql") == 0)
            api = &postgresql_api;
#endif
#ifdef CRUCIBLE_HAVE_MYSQL
        if (strcmp(name, "mysql") == 0)
            api = &mysql_api;
#endif
        if (!api || !cr_backend_available(name)) {
            skip_backend(name, "not built: its client library was not found");
            continue;
        }
        if (!api->env) {
            /* SQLite: a file in a directory of our own. */
            const char *tmp = getenv("TMPDIR");
            size_t len = strlen(tmp && *tmp ? tmp : "/tmp") + 64;
            G.tmpdir = xmalloc(len);
            snprintf(G.tmpdir, len, "%s/crucible-bench-XXXXXX", tmp && *tmp ? tmp : "/tmp");
            if (!mkdtemp(G.tmpdir)) {
                free(G.tmpdir);
                G.tmpdir = NULL;
                die("mkdtemp failed");
            }
            G.dbpath = xmalloc(len + 16);
            snprintf(G.dbpath, len + 16, "%s/bench.db", G.tmpdir);
            char *url = xmalloc(len + 32);
            snprintf(url, len + 32, "sqlite:///%s", G.dbpath);   /* absolute: four slashes */
            run_backend(api, G.dbpath, url, &sz, src, out, &rel);
            free(url);
            cleanup();
            continue;
        }
        const char *url = getenv(api->env);
        if (!url || !*url) {
            char why[96];
            snprintf(why, sizeof why, "%s is not set", api->env);
            skip_backend(name, why);
            continue;
        }
        char *raw_url = strcmp(name, "postgresql") == 0 ? libpq_url(url) : NULL;
        run_backend(api, raw_url ? raw_url : url, url, &sz, src, out, &rel);
        cleanup();
        free(raw_url);
    }

    print_tables();
    print_pool();
    print_unprepared();
    for (int w = 0; (all || only_replicas) && w < nwant; w++)
        if (strcmp(want[w], "sqlite") != 0 && cr_backend_available(want[w]))
            bench_replicas(want[w], sz.reps, quick);
    cr_metadata_free(items_md);
    cr_metadata_free(orm_md);
    cr_metadata_free(rel_md);
    free_rel(&rel);
    free(src);
    free(out);
    return 0;
}
