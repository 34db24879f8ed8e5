/* test_replication_positions.c — read-your-writes positions without a server: PostgreSQL WAL LSNs and MariaDB GTID lists parsed, checked and merged (src/dialects/replication.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "dialects/driver.h"

#include <string.h>

static void test_lsn_parse(void **state)
{
    (void)state;
    cr_error err;
    cr_error_init(&err);
    uint64_t v = 0;
    assert_int_equal(cr_lsn_parse("16/B374D848", &v, &err), CR_OK);
    assert_true(v == ((uint64_t)0x16 << 32 | 0xB374D848u));
    assert_int_equal(cr_lsn_parse("0/0", &v, &err), CR_OK);
    assert_true(v == 0);
    assert_int_equal(cr_lsn_parse("FFFFFFFF/ffffffff", &v, &err), CR_OK);
    assert_true(v == UINT64_MAX);
    const char *bad[] = {"", "/", "1/", "/1", "1-2", "x/1", "1/2/3", "123456789/0", "1/2 ", NULL};
    for (int i = 0; i < 10; i++) {
        assert_int_equal(cr_lsn_parse(bad[i], &v, &err), CR_ERR_ARGUMENT);
        assert_non_null(strstr(err.message, "not a PostgreSQL WAL position"));
        cr_error_clear(&err);
    }
}

/* The later of two LSNs, compared as numbers, not as text. */
static void test_lsn_merge(void **state)
{
    (void)state;
    cr_error err;
    cr_error_init(&err);
    char pos[CR_POSITION_MAX] = "";
    assert_int_equal(cr_lsn_merge(pos, sizeof pos, "0/9000", &err), CR_OK);
    assert_string_equal(pos, "0/9000");
    assert_int_equal(cr_lsn_merge(pos, sizeof pos, "0/10000", &err), CR_OK);
    assert_string_equal(pos, "0/10000");            /* 0x10000 > 0x9000 */
    assert_int_equal(cr_lsn_merge(pos, sizeof pos, "0/FFFF", &err), CR_OK);
    assert_string_equal(pos, "0/10000");
    assert_int_equal(cr_lsn_merge(pos, sizeof pos, "1/0", &err), CR_OK);
    assert_string_equal(pos, "1/0");
    assert_int_equal(cr_lsn_merge(pos, sizeof pos, "nonsense", &err), CR_ERR_ARGUMENT);
    assert_string_equal(pos, "1/0");                /* left as it was */
    cr_error_clear(&err);
    char small[4] = "";
    assert_int_equal(cr_lsn_merge(small, sizeof small, "0/10000", &err), CR_ERR_ARGUMENT);
    cr_error_clear(&err);
}

static void test_gtid_check(void **state)
{
    (void)state;
    cr_error err;
    cr_error_init(&err);
    const char *good[] = {"", "0-1-42", "0-1-42,1-2-7", "4294967295-4294967295-18446744073709551615"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        assert_int_equal(cr_gtid_check(good[i], &err), CR_OK);
    const char *bad[] = {"0-1", "0-1-", "a-1-2", "0-1-2,", "0-1-2;DROP", "'0-1-2'", "0-1-2 ",
                         "-1-1-1", "4294967296-1-1", "0-1-18446744073709551616", NULL};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(cr_gtid_check(bad[i], &err), CR_ERR_ARGUMENT);
        cr_error_clear(&err);
    }
}

/* Per domain, the later sequence; domains of either side kept. */
static void test_gtid_merge(void **state)
{
    (void)state;
    cr_error err;
    cr_error_init(&err);
    char pos[CR_POSITION_MAX] = "";
    assert_int_equal(cr_gtid_merge(pos, sizeof pos, "0-1-5", &err), CR_OK);
    assert_string_equal(pos, "0-1-5");
    assert_int_equal(cr_gtid_merge(pos, sizeof pos, "0-1-3,1-2-9", &err), CR_OK);
    assert_string_equal(pos, "0-1-5,1-2-9");
    assert_int_equal(cr_gtid_merge(pos, sizeof pos, "1-3-10,0-1-12", &err), CR_OK);
    assert_string_equal(pos, "0-1-12,1-3-10");
    assert_int_equal(cr_gtid_merge(pos, sizeof pos, "", &err), CR_OK);
    assert_string_equal(pos, "0-1-12,1-3-10");
    assert_int_equal(cr_gtid_merge(pos, sizeof pos, "0-1-x", &err), CR_ERR_ARGUMENT);
    assert_string_equal(pos, "0-1-12,1-3-10");
    cr_error_clear(&err);
    char small[8] = "";
    assert_int_equal(cr_gtid_merge(small, sizeof small, "0-1-12,1-3-10", &err), CR_ERR_ARGUMENT);
    assert_string_equal(small, "");
    cr_error_clear(&err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lsn_parse),
        cmocka_unit_test(test_lsn_merge),
        cmocka_unit_test(test_gtid_check),
        cmocka_unit_test(test_gtid_merge),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
