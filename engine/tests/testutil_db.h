/* testutil_db.h: what the engine tests that open databases or use envs share: a fixture
 * with a fresh temporary directory, a POSIX env and a fault env over it; small options
 * that make little data flush and merge; and an am_open that fails the test with the
 * status and message. Include after <cmocka.h>. */
#ifndef AM_TESTUTIL_DB_H
#define AM_TESTUTIL_DB_H

#include "amethyst.h"
#include "util/env.h"

typedef struct tu_fixture {
    char base[256];    /* a fresh temporary directory; tu_teardown removes it */
    char dir[300];     /* base/db: where a database goes (not created) */
    am_env *posix;     /* a POSIX env; owned */
    am_env *fault;     /* a fault env over posix; owned (a test may replace it) */
    am_options o;      /* tu_small_options(&o, 0) */
} tu_fixture;

/* cmocka setup: *state becomes a new tu_fixture, its directory named after the test
 * binary. Fails the test on error. */
int tu_setup(void **state);
/* cmocka teardown: frees the envs, removes base and everything in it, frees the fixture. */
int tu_teardown(void **state);

/* am_options_init, then 64 KiB memtables and target files, 512-byte blocks and bg
 * background threads (0: every flush and merge runs inline, deterministic). */
void tu_small_options(am_options *o, int bg);

/* Every registered strategy's name (am_strategy_names), in registry order, so that tests
 * run under each without a list to keep up to date. Returns how many (at most max). */
#define TU_MAX_STRATEGIES 16
size_t tu_strategies(char names[][32], size_t max);

/* am_open_msg(dir, o); fails the test naming dir, the status and the message. */
am_db *tu_open(const char *dir, const am_options *o);

#endif
