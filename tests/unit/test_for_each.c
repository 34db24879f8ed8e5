/* test_for_each.c — CR_FOR_EACH over lists and collections: empty ones (items NULL),
 * break and continue, a body that appends to the collection it walks, and a list given
 * by a call (evaluated once; NULL, as a failed query gives, walks nothing). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <crucible.h>

#include <stdlib.h>

typedef struct Item {
    int value;
} Item;

/* An unloaded relationship or an empty result: count 0, items NULL. The
 * loop must not form NULL + 0 (UBSan's pointer-overflow check). */
static void test_empty(void **state)
{
    (void)state;
    cr_collection none = {0, NULL, 0};
    int visits = 0;
    CR_FOR_EACH(Item, it, &none)
        visits += it->value;
    cr_objects empty = {0, NULL};
    CR_FOR_EACH(Item, it, &empty)
        visits += it->value;
    assert_int_equal(visits, 0);
}

static void test_order_break_continue(void **state)
{
    (void)state;
    Item a = {1}, b = {2}, c = {3}, d = {4};
    void *items[] = {&a, &b, &c, &d};
    cr_objects list = {4, items};
    int sum = 0, seen = 0;
    CR_FOR_EACH(Item, it, &list) {
        seen = seen * 10 + it->value;
        if (it->value == 2)
            continue;
        if (it->value == 3)
            break;
        sum += it->value;
    }
    assert_int_equal(seen, 123);   /* in order, stopped at 3 */
    assert_int_equal(sum, 1);      /* 2 skipped by continue */

    /* Nested loops over the same list keep their own places. */
    int pairs = 0;
    CR_FOR_EACH(Item, x, &list)
        CR_FOR_EACH(Item, y, &list)
            pairs += x->value < y->value;
    assert_int_equal(pairs, 6);
}

/* A body that appends to the collection it walks: the items move (realloc)
 * and the loop must read them afresh, visiting the new ones too. Under
 * AddressSanitizer a stale pointer into the old array is a report. */
static void test_append_while_walking(void **state)
{
    (void)state;
    Item items[20];
    for (int i = 0; i < 20; i++)
        items[i].value = i;
    cr_collection c = {1, malloc(sizeof(void *)), 1};
    assert_non_null(c.items);
    c.items[0] = &items[0];
    int visited = 0;
    CR_FOR_EACH(Item, it, &c) {
        visited++;
        if (it->value + 1 < 20) {   /* grow by one each time: a new array each time */
            void **grown = malloc((c.count + 1) * sizeof *grown);
            assert_non_null(grown);
            for (size_t i = 0; i < c.count; i++)
                grown[i] = c.items[i];
            grown[c.count++] = &items[it->value + 1];
            free(c.items);
            c.items = grown;
            c.capacity = c.count;
        }
    }
    assert_int_equal(visited, 20);
    free(c.items);
}

/* The list a call gives: counted, so that the test sees how often the
 * loop evaluates its list argument. */
static int calls;
static cr_objects *the_list(cr_objects *list)
{
    calls++;
    return list;
}

/* for user in session.query(User).all() ported word for word: the call is
 * made once (it ran the query again at every step, leaking each list), and
 * a NULL list (the query failed) walks nothing instead of crashing. */
static void test_list_evaluated_once(void **state)
{
    (void)state;
    Item a = {1}, b = {2}, c = {3};
    void *items[] = {&a, &b, &c};
    cr_objects list = {3, items};
    int sum = 0;
    calls = 0;
    CR_FOR_EACH(Item, it, the_list(&list))
        sum += it->value;
    assert_int_equal(sum, 6);
    assert_int_equal(calls, 1);
    calls = 0;
    CR_FOR_EACH(Item, it, the_list(NULL))
        sum += it->value;
    assert_int_equal(sum, 6);
    assert_int_equal(calls, 1);
    const cr_collection coll = {3, items, 3};
    CR_FOR_EACH(Item, it, &coll)   /* a const one, as a const parent gives */
        sum += it->value;
    assert_int_equal(sum, 12);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_order_break_continue),
        cmocka_unit_test(test_append_while_walking),
        cmocka_unit_test(test_list_evaluated_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
