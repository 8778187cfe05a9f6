/* testutil_db.c: the database / env fixture, small options and a checked open. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "testutil_db.h"
#include "util/env_fault.h"

int tu_setup(void **state)
{
    tu_fixture *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    tu_tempdir(fx->base, sizeof fx->base, program_invocation_short_name);
    snprintf(fx->dir, sizeof fx->dir, "%s/db", fx->base);
    fx->posix = am_env_posix_new();
    assert_non_null(fx->posix);
    fx->fault = am_env_fault_new(fx->posix);
    assert_non_null(fx->fault);
    tu_small_options(&fx->o, 0);
    *state = fx;
    return 0;
}

int tu_teardown(void **state)
{
    tu_fixture *fx = *state;
    am_env_fault_free(fx->fault);
    am_env_posix_free(fx->posix);
    tu_rmtree(fx->base);
    free(fx);
    return 0;
}

void tu_small_options(am_options *o, int bg)
{
    am_options_init(o);
    o->background_threads = bg;
    o->memtable_bytes = 64u << 10;
    o->target_file_bytes = 64u << 10;
    o->block_bytes = 512;
}

am_db *tu_open(const char *dir, const am_options *o)
{
    char msg[512] = "";
    am_db *db = NULL;
    int rc = am_open_msg(dir, o, &db, msg, sizeof msg);
    if (rc != AM_OK) fail_msg("am_open %s: %s (%s)", dir, am_strerror(rc), msg);
    assert_non_null(db);
    return db;
}

size_t tu_strategies(char names[][32], size_t max)
{
    size_t n = 0;
    const char *p = am_strategy_names();
    while (*p && n < max) {
        size_t len = strcspn(p, ",");
        snprintf(names[n++], 32, "%.*s", (int)len, p);
        p += len;
        while (*p == ',' || *p == ' ') p++;
    }
    return n;
}
