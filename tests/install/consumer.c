/* consumer.c — a program outside the tree that uses an installed Crucible. */
#include <crucible.h>
#include <stdio.h>
int main(void) {
    cr_engine *e = cr_create_engine("sqlite://", NULL, NULL);
    cr_conn *c = cr_engine_connect(e, NULL);
    cr_result *r = cr_conn_execute(c, "SELECT :a * 2", CR_PARAMS({"a", cr_val_int(21)}));
    cr_value v; cr_result_scalar(r, &v);
    printf("%lld\n", (long long)v.v.i);
    cr_result_free(r); cr_conn_close(c); cr_engine_free(e);
    return v.v.i == 42 ? 0 : 1;
}
