/* test_env.c: the POSIX env (files, names, errors, the LOCK file, env_write_atomic, the
 * quiet remove of cleanups, remove_dir) and the fault-injecting env (fail the Nth call of a kind,
 * sticky faults, counts, power cuts that forget unsynced bytes and unsynced new names,
 * dead mode). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"
#include "testutil_db.h"
#include "util/env.h"
#include "util/env_fault.h"

/* The tests work in base (an empty temporary directory) through posix and fault (which
 * wraps posix). */
typedef tu_fixture fixture;

/* base/name into buf. */
static const char *pj(char *buf, size_t cap, const fixture *fx, const char *name)
{
    snprintf(buf, cap, "%s/%s", fx->base, name);
    return buf;
}

/* Opens path for writing through e (created or truncated); fails the test otherwise. */
static am_file *create(am_env *e, const char *path)
{
    am_file *f = NULL;
    assert_int_equal(env_open_writable(e, path, &f), AM_OK);
    assert_non_null(f);
    return f;
}

/* Creates path with data through env; sync and close. */
static void put_file(am_env *e, const char *path, const char *data, int sync)
{
    am_file *f = create(e, path);
    assert_int_equal(env_append(e, f, data, strlen(data)), AM_OK);
    if (sync) assert_int_equal(env_sync(e, f), AM_OK);
    assert_int_equal(env_close(e, f), AM_OK);
}

/* Asserts path holds exactly want (read through the posix env). */
static void assert_file(am_env *e, const char *path, const char *want)
{
    char *data = NULL;
    size_t n = 0;
    int rc = env_read_all(e, path, &data, &n);
    if (rc != AM_OK) fail_msg("read %s: status %d", path, rc);
    assert_int_equal(n, strlen(want));
    assert_memory_equal(data, want, n);
    free(data);
}

static void assert_msg_has(am_env *e, const char *needle)
{
    char msg[512];
    am_env_last_error(e, msg, sizeof msg);
    if (!strstr(msg, needle)) fail_msg("error message \"%s\" lacks \"%s\"", msg, needle);
}

/* Asserts a call of e returned want and e's message holds needle (a path, a phrase). */
static void expect_err(am_env *e, int rc, int want, const char *needle)
{
    assert_int_equal(rc, want);
    assert_msg_has(e, needle);
}

/* ---------------- POSIX env ---------------- */

static void test_posix_write_read(void **state)
{
    fixture *fx = *state;
    am_env *e = fx->posix;
    char p[512];
    am_file *f = create(e, pj(p, sizeof p, fx, "data"));
    uint64_t sz = 99;
    assert_int_equal(env_fsize(e, f, &sz), AM_OK);
    assert_int_equal(sz, 0);
    assert_int_equal(env_append(e, f, "hello", 5), AM_OK);
    assert_int_equal(env_append(e, f, "", 0), AM_OK);
    assert_int_equal(env_append(e, f, "world", 5), AM_OK);
    assert_int_equal(env_sync(e, f), AM_OK);
    assert_int_equal(env_fsize(e, f, &sz), AM_OK);
    assert_int_equal(sz, 10);
    assert_int_equal(env_close(e, f), AM_OK);

    char buf[64];
    size_t got = 99;
    assert_int_equal(env_open_readable(e, p, &f), AM_OK);
    assert_int_equal(env_pread(e, f, 0, 10, buf, &got), AM_OK);
    assert_int_equal(got, 10);
    assert_memory_equal(buf, "helloworld", 10);
    assert_int_equal(env_pread(e, f, 3, 4, buf, &got), AM_OK);
    assert_int_equal(got, 4);
    assert_memory_equal(buf, "lowo", 4);
    /* Short only at end of file. */
    assert_int_equal(env_pread(e, f, 5, sizeof buf, buf, &got), AM_OK);
    assert_int_equal(got, 5);
    assert_memory_equal(buf, "world", 5);
    assert_int_equal(env_pread(e, f, 10, 8, buf, &got), AM_OK);
    assert_int_equal(got, 0);
    assert_int_equal(env_pread(e, f, 1000, 8, buf, &got), AM_OK);
    assert_int_equal(got, 0);
    assert_int_equal(env_fsize(e, f, &sz), AM_OK);
    assert_int_equal(sz, 10);
    assert_int_equal(env_close(e, f), AM_OK);

    assert_int_equal(e->ops->file_size(e, p, &sz), AM_OK);
    assert_int_equal(sz, 10);
    assert_int_equal(env_exists(e, p), 1);
    assert_file(e, p, "helloworld");
    assert_int_equal(env_close(e, NULL), AM_OK);
}

static void test_posix_open_writable_truncates(void **state)
{
    fixture *fx = *state;
    am_env *e = fx->posix;
    char p[512];
    pj(p, sizeof p, fx, "t");
    put_file(e, p, "long old contents", 1);
    put_file(e, p, "new", 1);
    assert_file(e, p, "new");
}

static void test_posix_large_append(void **state)
{
    fixture *fx = *state;
    am_env *e = fx->posix;
    char p[512];
    pj(p, sizeof p, fx, "big");
    size_t n = 3u << 20;
    char *src = malloc(n), *back = malloc(n);
    assert_non_null(src);
    assert_non_null(back);
    tu_rng r = { 42 };
    for (size_t i = 0; i < n; i++) src[i] = (char)tu_next(&r);
    am_file *f = create(e, p);
    assert_int_equal(env_append(e, f, src, n), AM_OK);
    assert_int_equal(env_close(e, f), AM_OK);
    size_t got = 0;
    assert_int_equal(env_open_readable(e, p, &f), AM_OK);
    assert_int_equal(env_pread(e, f, 0, n, back, &got), AM_OK);
    assert_int_equal(got, n);
    assert_memory_equal(src, back, n);
    assert_int_equal(env_close(e, f), AM_OK);
    free(src);
    free(back);
}

/* A mapped log: appends of every size (across several growths of the reservation) read
 * back exactly, size() is what was appended while the file on disk holds zeroed reserve,
 * close trims the file to the log, and a sync in between keeps everything. */
static void test_posix_mapped_log(void **state)
{
    fixture *fx = *state;
    am_env *e = fx->posix;
    assert_non_null(e->ops->open_log);
    char p[512];
    pj(p, sizeof p, fx, "000007.log");
    size_t cap = 5u << 20, len = 0;
    char *src = malloc(cap), *back = NULL;
    assert_non_null(src);
    tu_rng r = { 9 };
    for (size_t i = 0; i < cap; i++) src[i] = (char)tu_next(&r);
    am_file *f = NULL;
    assert_int_equal(e->ops->open_log(e, p, &f), AM_OK);
    static const size_t steps[] = { 0, 1, 7, 8, 9, 4096, 100000, 1u << 20, 3u << 20 };
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        size_t n = steps[i] < cap - len ? steps[i] : cap - len;
        assert_int_equal(env_append(e, f, src + len, n), AM_OK);
        len += n;
        uint64_t sz = 0;
        assert_int_equal(env_fsize(e, f, &sz), AM_OK);
        assert_int_equal(sz, len);
        uint64_t disk = 0;
        assert_int_equal(e->ops->file_size(e, p, &disk), AM_OK);
        assert_true(disk >= len);                 /* reserved ahead */
        if (i == 4) assert_int_equal(env_sync(e, f), AM_OK);
    }
    uint64_t disk = 0;
    assert_int_equal(e->ops->file_size(e, p, &disk), AM_OK);
    assert_non_null(back = malloc((size_t)disk));
    size_t got = 0;
    am_file *rf = NULL;
    assert_int_equal(env_open_readable(e, p, &rf), AM_OK);   /* while still open: the log, */
    assert_int_equal(env_pread(e, rf, 0, (size_t)disk, back, &got), AM_OK);
    assert_memory_equal(src, back, len);
    for (size_t i = len; i < got; i++) assert_int_equal(back[i], 0);   /* then zeros */
    assert_int_equal(env_close(e, rf), AM_OK);
    assert_int_equal(env_close(e, f), AM_OK);
    assert_int_equal(e->ops->file_size(e, p, &disk), AM_OK);
    assert_int_equal(disk, len);                  /* trimmed at close */
    free(src);
    free(back);
}

static void test_posix_rename_remove(void **state)
{
    fixture *fx = *state;
    am_env *e = fx->posix;
    char a[512], b[512], c[512];
    pj(a, sizeof a, fx, "a");
    pj(b, sizeof b, fx, "b");
    pj(c, sizeof c, fx, "c");
    put_file(e, a, "AAA", 1);
    put_file(e, b, "BB", 1);
    /* Rename replaces an existing target atomically. */
    assert_int_equal(env_rename(e, a, b), AM_OK);
    assert_int_equal(env_exists(e, a), 0);
    assert_file(e, b, "AAA");
    /* ... and creates a fresh one. */
    assert_int_equal(env_rename(e, b, c), AM_OK);
    assert_int_equal(env_exists(e, b), 0);
    assert_file(e, c, "AAA");
    assert_int_equal(env_sync_dir(e, fx->base), AM_OK);
    assert_int_equal(env_remove(e, c), AM_OK);
    assert_int_equal(env_exists(e, c), 0);
}

/* A quiet remove is a cleanup: its failure leaves the message of the error being returned
 * (through the POSIX env and through the fault env over it); a success removes. */
static void test_remove_quiet_keeps_the_message(void **state)
{
    fixture *fx = *state;
    am_env *envs[2] = { fx->posix, fx->fault };
    for (int i = 0; i < 2; i++) {
        am_env *e = envs[i];
        char a[512], msg[512];
        pj(a, sizeof a, fx, "quiet");
        am_env_error(e, AM_ERR_NOSPACE, "the first error");
        assert_true(env_remove_quiet(e, a) < 0);           /* no such file */
        am_env_last_error(e, msg, sizeof msg);
        assert_string_equal(msg, "the first error");
        put_file(e, a, "x", 1);
        assert_int_equal(env_remove_quiet(e, a), AM_OK);
        assert_int_equal(env_exists(e, a), 0);
        /* A plain remove still reports its failure. */
        assert_true(env_remove(e, a) < 0);
        am_env_last_error(e, msg, sizeof msg);
        assert_non_null(strstr(msg, "quiet"));
    }
}

static void test_posix_mkdir(void **state)
{
    fixture *fx = *state;
    am_env *e = fx->posix;
    char d[512], f[512];
    pj(d, sizeof d, fx, "sub");
    pj(f, sizeof f, fx, "plain");
    assert_int_equal(env_mkdir(e, d), AM_OK);
    assert_int_equal(env_mkdir(e, d), AM_OK);    /* already there: fine */
    assert_int_equal(env_exists(e, d), 1);
    assert_int_equal(env_sync_dir(e, d), AM_OK);
    put_file(e, f, "x", 0);
    assert_int_equal(env_mkdir(e, f), AM_ERR_IO); /* a file is in the way */
    assert_msg_has(e, f);
}

typedef struct names {
    int n, calls;
    int stop_after;            /* return 7 from the callback at this call; 0: never */
    char seen[8][32];
} names;

static int collect(void *arg, const char *name)
{
    names *s = arg;
    s->calls++;
    if (s->n < 8) snprintf(s->seen[s->n++], sizeof s->seen[0], "%s", name);
    return s->stop_after && s->calls == s->stop_after ? 7 : 0;
}

static int has_name(const names *s, const char *name)
{
    for (int i = 0; i < s->n; i++)
        if (!strcmp(s->seen[i], name)) return 1;
    return 0;
}

/* Asserts dir holds exactly one entry, name (no temporary file left behind). */
static void expect_only_entry(am_env *e, const char *dir, const char *name)
{
    names s = { 0 };
    assert_int_equal(e->ops->list_dir(e, dir, collect, &s), AM_OK);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.seen[0], name);
}

static void list_dir_checks(const fixture *fx, am_env *e)
{
    char p[512];
    put_file(e, pj(p, sizeof p, fx, "x1"), "1", 0);
    put_file(e, pj(p, sizeof p, fx, "x2"), "2", 0);
    assert_int_equal(env_mkdir(e, pj(p, sizeof p, fx, "d3")), AM_OK);
    names s = { 0 };
    assert_int_equal(e->ops->list_dir(e, fx->base, collect, &s), AM_OK);
    assert_int_equal(s.n, 3);
    assert_true(has_name(&s, "x1"));
    assert_true(has_name(&s, "x2"));
    assert_true(has_name(&s, "d3"));
    assert_false(has_name(&s, "."));
    assert_false(has_name(&s, ".."));
    /* The callback stops the walk; its value comes back unchanged. */
    names t = { .stop_after = 2 };
    assert_int_equal(e->ops->list_dir(e, fx->base, collect, &t), 7);
    assert_int_equal(t.calls, 2);
    /* An empty directory calls nothing. */
    names u = { 0 };
    assert_int_equal(e->ops->list_dir(e, p, collect, &u), AM_OK);
    assert_int_equal(u.calls, 0);
}

static void test_posix_list_dir(void **state)
{
    fixture *fx = *state;
    list_dir_checks(fx, fx->posix);
}

/* Every failing call names the path (and the OS reason) and maps to AM_ERR_IO. */
static void test_posix_errors_name_path(void **state)
{
    fixture *fx = *state;
    am_env *e = fx->posix;
    char missing[512], deep[512];
    pj(missing, sizeof missing, fx, "no-such-file");
    pj(deep, sizeof deep, fx, "no-such-dir/file");
    am_file *f = (am_file *)1;
    uint64_t sz;
    am_lock *l = (am_lock *)1;
    names s = { 0 };
    expect_err(e, e->ops->open_readable(e, missing, &f), AM_ERR_IO, missing);
    assert_null(f);
    f = (am_file *)1;
    expect_err(e, e->ops->open_writable(e, deep, &f), AM_ERR_IO, deep);
    assert_null(f);
    expect_err(e, env_remove(e, missing), AM_ERR_IO, missing);
    expect_err(e, env_rename(e, missing, deep), AM_ERR_IO, missing);
    expect_err(e, e->ops->file_size(e, missing, &sz), AM_ERR_IO, missing);
    expect_err(e, e->ops->list_dir(e, missing, collect, &s), AM_ERR_IO, missing);
    assert_int_equal(s.calls, 0);
    expect_err(e, env_sync_dir(e, missing), AM_ERR_IO, missing);
    expect_err(e, e->ops->lock(e, deep, &l), AM_ERR_IO, deep);
    assert_null(l);
    assert_int_equal(env_exists(e, missing), 0);
    /* The OS reason is in the message too. */
    assert_msg_has(e, "No such file");
}

/* Runs lock(path) in a child process and returns the child's status (as a positive
 * exit code: -rc). fcntl locks are per process, so only a child shows "elsewhere". */
static int lock_in_child(const char *path)
{
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        am_env *e = am_env_posix_new();
        am_lock *l = NULL;
        int rc = e ? e->ops->lock(e, path, &l) : AM_ERR_NOMEM;
        if (rc == AM_OK) e->ops->unlock(e, l);
        _exit(-rc);
    }
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    return -WEXITSTATUS(st);
}

static void test_posix_lock_other_process(void **state)
{
    fixture *fx = *state;
    am_env *e = fx->posix;
    char p[512];
    pj(p, sizeof p, fx, "LOCK");
    am_lock *l = NULL;
    assert_int_equal(e->ops->lock(e, p, &l), AM_OK);
    assert_non_null(l);
    assert_int_equal(env_exists(e, p), 1);        /* lock creates the file */
    assert_int_equal(lock_in_child(p), AM_ERR_BUSY);
    assert_int_equal(e->ops->unlock(e, l), AM_OK);
    assert_int_equal(lock_in_child(p), AM_OK);    /* released */
    assert_int_equal(e->ops->unlock(e, NULL), AM_OK);
    /* Through the fault env the lock is the base env's. */
    assert_int_equal(fx->fault->ops->lock(fx->fault, p, &l), AM_OK);
    assert_int_equal(lock_in_child(p), AM_ERR_BUSY);
    assert_int_equal(fx->fault->ops->unlock(fx->fault, l), AM_OK);
    assert_int_equal(lock_in_child(p), AM_OK);
}

/* remove_dir removes an empty directory and refuses one that is not; the quiet form
 * leaves the message of the error being returned (POSIX env, and through the fault env). */
static void test_remove_dir(void **state)
{
    fixture *fx = *state;
    am_env *envs[2] = { fx->posix, fx->fault };
    for (int i = 0; i < 2; i++) {
        am_env *e = envs[i];
        char d[512], f[600], msg[512];
        pj(d, sizeof d, fx, "sub");
        snprintf(f, sizeof f, "%s/file", d);
        assert_int_equal(env_mkdir(e, d), AM_OK);
        put_file(e, f, "x", 1);
        assert_true(e->ops->remove_dir(e, d) < 0);
        assert_msg_has(e, "sub");
        am_env_error(e, AM_ERR_IO, "the first error");
        assert_true(env_remove_dir_quiet(e, d) < 0);
        am_env_last_error(e, msg, sizeof msg);
        assert_string_equal(msg, "the first error");
        assert_int_equal(env_exists(e, f), 1);
        assert_int_equal(env_remove(e, f), AM_OK);
        assert_int_equal(env_remove_dir_quiet(e, d), AM_OK);
        assert_int_equal(env_exists(e, d), 0);
    }
}

/* A LOCK file removed by its holder before it unlocks (what a failed am_open does with
 * the one it created) leaves nothing locked: the next opener creates and locks a new one. */
static void test_posix_lock_after_removed_lock_file(void **state)
{
    fixture *fx = *state;
    am_env *e = fx->posix;
    char p[512];
    pj(p, sizeof p, fx, "LOCK");
    am_lock *l = NULL;
    assert_int_equal(e->ops->lock(e, p, &l), AM_OK);
    assert_int_equal(env_remove(e, p), AM_OK);
    assert_int_equal(e->ops->unlock(e, l), AM_OK);
    assert_int_equal(lock_in_child(p), AM_OK);
    assert_int_equal(e->ops->lock(e, p, &l), AM_OK);
    assert_int_equal(env_exists(e, p), 1);
    assert_int_equal(lock_in_child(p), AM_ERR_BUSY);
    assert_int_equal(e->ops->unlock(e, l), AM_OK);
}

/* The contract says AM_ERR_BUSY when the lock is "held elsewhere"; a second open of the
 * same db from the same process must be refused too, or two db handles would write the
 * same files. (fcntl locks alone cannot see this: they are per process, and closing any
 * descriptor of the file drops the lock; flock(2) locks are per open file and can.) */
static void test_posix_lock_same_process(void **state)
{
    fixture *fx = *state;
    am_env *e = fx->posix;
    char p[512];
    pj(p, sizeof p, fx, "LOCK");
    am_lock *l1 = NULL, *l2 = NULL;
    assert_int_equal(e->ops->lock(e, p, &l1), AM_OK);
    int rc = e->ops->lock(e, p, &l2);
    if (rc == AM_OK) e->ops->unlock(e, l2);
    assert_int_equal(rc, AM_ERR_BUSY);
    assert_null(l2);
    assert_msg_has(e, p);
    /* Still held by l1 after the refused attempt. */
    assert_int_equal(lock_in_child(p), AM_ERR_BUSY);
    assert_int_equal(e->ops->unlock(e, l1), AM_OK);
    assert_int_equal(e->ops->lock(e, p, &l2), AM_OK);
    assert_int_equal(e->ops->unlock(e, l2), AM_OK);
}

static void test_read_all(void **state)
{
    fixture *fx = *state;
    am_env *e = fx->posix;
    char p[512];
    pj(p, sizeof p, fx, "empty");
    put_file(e, p, "", 0);
    char *data = NULL;
    size_t n = 99;
    assert_int_equal(env_read_all(e, p, &data, &n), AM_OK);
    assert_int_equal(n, 0);
    assert_non_null(data);
    assert_int_equal(data[0], '\0');     /* NUL-terminated for text files */
    free(data);
    pj(p, sizeof p, fx, "missing");
    data = (char *)1;
    assert_int_equal(env_read_all(e, p, &data, &n), AM_ERR_IO);
    assert_null(data);
    assert_msg_has(e, p);
}

static void test_write_atomic(void **state)
{
    fixture *fx = *state;
    am_env *e = fx->posix;
    char p[512];
    pj(p, sizeof p, fx, "CURRENT");
    assert_int_equal(env_write_atomic(e, fx->base, "CURRENT", "MANIFEST-000001\n", 16), AM_OK);
    assert_file(e, p, "MANIFEST-000001\n");
    assert_int_equal(env_write_atomic(e, fx->base, "CURRENT", "MANIFEST-000002\n", 16), AM_OK);
    assert_file(e, p, "MANIFEST-000002\n");
    /* No temporary file is left behind. */
    expect_only_entry(e, fx->base, "CURRENT");
    /* A directory that does not exist: an error naming it. */
    char bad[512];
    pj(bad, sizeof bad, fx, "nodir");
    expect_err(e, env_write_atomic(e, bad, "CURRENT", "x", 1), AM_ERR_IO, bad);
}

/* ---------------- fault env: pass-through ---------------- */

static void test_fault_passes_through(void **state)
{
    fixture *fx = *state;
    am_env *e = fx->fault;
    char a[512], b[512];
    pj(a, sizeof a, fx, "a");
    pj(b, sizeof b, fx, "b");
    put_file(e, a, "through", 1);
    assert_file(e, a, "through");
    assert_int_equal(env_rename(e, a, b), AM_OK);
    assert_int_equal(env_exists(e, a), 0);
    assert_int_equal(env_exists(e, b), 1);
    uint64_t sz = 0;
    assert_int_equal(e->ops->file_size(e, b, &sz), AM_OK);
    assert_int_equal(sz, 7);
    assert_int_equal(env_remove(e, b), AM_OK);
    assert_int_equal(env_exists(e, b), 0);
    list_dir_checks(fx, e);
    /* Base errors come back with the base's message. */
    expect_err(e, env_remove(e, a), AM_ERR_IO, a);
    assert_int_equal(env_write_atomic(e, fx->base, "CURRENT", "x\n", 2), AM_OK);
    assert_file(e, pj(a, sizeof a, fx, "CURRENT"), "x\n");
    assert_int_equal(env_close(e, NULL), AM_OK);
}

/* ---------------- fault env: fail the Nth call ---------------- */

static void test_fault_nth_write(void **state)
{
    fixture *fx = *state;
    am_env *e = fx->fault;
    char p[512];
    am_file *f = create(e, pj(p, sizeof p, fx, "w"));
    uint64_t base = fault_env_count(e, FAULT_WRITE);
    fault_env_fail_nth(e, FAULT_WRITE, 3, AM_ERR_IO, 0);
    assert_int_equal(env_append(e, f, "1", 1), AM_OK);
    assert_int_equal(env_append(e, f, "2", 1), AM_OK);
    expect_err(e, env_append(e, f, "3", 1), AM_ERR_IO, "injected fault");
    assert_msg_has(e, p);
    assert_int_equal(env_append(e, f, "4", 1), AM_OK);   /* not sticky: fires once */
    assert_int_equal(env_append(e, f, "5", 1), AM_OK);
    assert_int_equal(fault_env_count(e, FAULT_WRITE), base + 5);
    assert_int_equal(env_close(e, f), AM_OK);
    assert_file(fx->posix, p, "1245");                    /* the failed append wrote nothing */
}

static void test_fault_sticky_nospace(void **state)
{
    fixture *fx = *state;
    am_env *e = fx->fault;
    char p[512];
    am_file *f = create(e, pj(p, sizeof p, fx, "s"));
    fault_env_fail_nth(e, FAULT_WRITE, 2, AM_ERR_NOSPACE, 1);
    assert_int_equal(env_append(e, f, "a", 1), AM_OK);
    for (int i = 0; i < 5; i++) {
        expect_err(e, env_append(e, f, "b", 1), AM_ERR_NOSPACE, "injected fault");
    }
    /* Other kinds are unaffected. */
    assert_int_equal(env_sync(e, f), AM_OK);
    fault_env_fail_nth(e, FAULT_WRITE, 0, 0, 0);           /* disarm */
    assert_int_equal(env_append(e, f, "c", 1), AM_OK);
    assert_int_equal(env_close(e, f), AM_OK);
    assert_file(fx->posix, p, "ac");
}

static void test_fault_nth_sync(void **state)
{
    fixture *fx = *state;
    am_env *e = fx->fault;
    char p[512];
    am_file *f = create(e, pj(p, sizeof p, fx, "y"));
    assert_int_equal(env_append(e, f, "abc", 3), AM_OK);
    uint64_t c0 = fault_env_count(e, FAULT_SYNC);
    /* sync and sync_dir share a kind: the 2nd of them fails. */
    fault_env_fail_nth(e, FAULT_SYNC, 2, AM_ERR_IO, 0);
    assert_int_equal(env_sync_dir(e, fx->base), AM_OK);
    expect_err(e, env_sync(e, f), AM_ERR_IO, "injected fault");
    assert_msg_has(e, p);
    assert_int_equal(fault_env_count(e, FAULT_SYNC), c0 + 2);
    fault_env_fail_nth(e, FAULT_SYNC, 1, AM_ERR_IO, 0);
    assert_int_equal(env_sync_dir(e, fx->base), AM_ERR_IO);
    assert_msg_has(e, fx->base);
    assert_int_equal(env_close(e, f), AM_OK);
    /* Neither failed sync made anything durable: the name was synced by the first
       sync_dir, the bytes never. */
    assert_int_equal(fault_env_power_cut(e), AM_OK);
    assert_int_equal(env_exists(fx->posix, p), 1);
    assert_int_equal(tu_file_size(p), 0);
}

static void test_fault_nth_rename(void **state)
{
    fixture *fx = *state;
    am_env *e = fx->fault;
    char a[512], b[512];
    pj(a, sizeof a, fx, "from");
    pj(b, sizeof b, fx, "to");
    put_file(e, a, "A", 1);
    put_file(e, b, "B", 1);
    fault_env_fail_nth(e, FAULT_RENAME, 1, AM_ERR_IO, 0);
    expect_err(e, env_rename(e, a, b), AM_ERR_IO, "injected fault");
    assert_msg_has(e, a);
    assert_file(e, a, "A");                                 /* nothing moved */
    assert_file(e, b, "B");
    assert_int_equal(fault_env_count(e, FAULT_RENAME), 1);
    assert_int_equal(env_rename(e, a, b), AM_OK);
    assert_file(e, b, "A");
    /* env_write_atomic reports the failure, keeps the old file, leaves no temp file. */
    fault_env_fail_nth(e, FAULT_RENAME, 1, AM_ERR_NOSPACE, 0);
    assert_int_equal(env_write_atomic(e, fx->base, "to", "new", 3), AM_ERR_NOSPACE);
    assert_file(e, b, "A");
    expect_only_entry(e, fx->base, "to");
}

static void test_fault_nth_open_and_read(void **state)
{
    fixture *fx = *state;
    am_env *e = fx->fault;
    char p[512];
    pj(p, sizeof p, fx, "o");
    am_file *f = (am_file *)1;
    fault_env_fail_nth(e, FAULT_OPEN, 1, AM_ERR_NOSPACE, 0);
    assert_int_equal(env_open_writable(e, p, &f), AM_ERR_NOSPACE);
    assert_null(f);
    assert_msg_has(e, "injected fault");
    assert_msg_has(e, p);
    assert_int_equal(env_exists(e, p), 0);                 /* nothing created */
    put_file(e, p, "readme", 1);
    assert_int_equal(fault_env_count(e, FAULT_OPEN), 2);
    /* open_readable is not FAULT_OPEN. */
    assert_int_equal(env_open_readable(e, p, &f), AM_OK);
    assert_int_equal(fault_env_count(e, FAULT_OPEN), 2);
    char buf[8];
    size_t got = 0;
    fault_env_fail_nth(e, FAULT_READ, 2, AM_ERR_IO, 0);
    assert_int_equal(env_pread(e, f, 0, 6, buf, &got), AM_OK);
    assert_int_equal(got, 6);
    assert_int_equal(env_pread(e, f, 0, 6, buf, &got), AM_ERR_IO);
    assert_int_equal(got, 0);
    assert_msg_has(e, "injected fault");
    assert_int_equal(env_pread(e, f, 2, 4, buf, &got), AM_OK);
    assert_memory_equal(buf, "adme", 4);
    assert_int_equal(fault_env_count(e, FAULT_READ), 3);
    assert_int_equal(env_close(e, f), AM_OK);
}

/* Counts start at 0, count every call of their kind (failed ones too) and nothing else. */
static void test_fault_counts(void **state)
{
    fixture *fx = *state;
    am_env *e = fx->fault;
    for (int k = 0; k < FAULT_KINDS; k++) assert_int_equal(fault_env_count(e, k), 0);
    char p[512], q[512];
    pj(p, sizeof p, fx, "c");
    pj(q, sizeof q, fx, "d");
    am_file *f = create(e, p);
    for (int i = 0; i < 4; i++) assert_int_equal(env_append(e, f, "x", 1), AM_OK);
    fault_env_fail_nth(e, FAULT_WRITE, 1, AM_ERR_IO, 0);
    assert_int_equal(env_append(e, f, "x", 1), AM_ERR_IO);
    assert_int_equal(env_sync(e, f), AM_OK);
    assert_int_equal(env_close(e, f), AM_OK);
    assert_int_equal(env_sync_dir(e, fx->base), AM_OK);
    assert_int_equal(env_rename(e, p, q), AM_OK);
    assert_int_equal(env_remove(e, q), AM_OK);
    assert_int_equal(fault_env_count(e, FAULT_OPEN), 1);
    assert_int_equal(fault_env_count(e, FAULT_WRITE), 5);
    assert_int_equal(fault_env_count(e, FAULT_SYNC), 2);
    assert_int_equal(fault_env_count(e, FAULT_RENAME), 1);
    assert_int_equal(fault_env_count(e, FAULT_READ), 0);
}

/* Arming counts from now, not from the start. */
static void test_fault_arm_is_relative(void **state)
{
    fixture *fx = *state;
    am_env *e = fx->fault;
    char p[512];
    am_file *f = create(e, pj(p, sizeof p, fx, "r"));
    for (int i = 0; i < 10; i++) assert_int_equal(env_append(e, f, "x", 1), AM_OK);
    fault_env_fail_nth(e, FAULT_WRITE, 1, AM_ERR_IO, 0);
    assert_int_equal(env_append(e, f, "y", 1), AM_ERR_IO);
    /* Re-arming replaces the previous arm. */
    fault_env_fail_nth(e, FAULT_WRITE, 5, AM_ERR_IO, 0);
    fault_env_fail_nth(e, FAULT_WRITE, 2, AM_ERR_IO, 0);
    assert_int_equal(env_append(e, f, "y", 1), AM_OK);
    assert_int_equal(env_append(e, f, "y", 1), AM_ERR_IO);
    for (int i = 0; i < 5; i++) assert_int_equal(env_append(e, f, "z", 1), AM_OK);
    assert_int_equal(env_close(e, f), AM_OK);
}

/* ---------------- fault env: power cut ---------------- */

static void test_power_cut_drops_unsynced_bytes(void **state)
{
    fixture *fx = *state;
    am_env *e = fx->fault;
    char p[512], q[512];
    am_file *f = create(e, pj(p, sizeof p, fx, "log"));
    am_file *g = create(e, pj(q, sizeof q, fx, "never-synced"));
    assert_int_equal(env_sync_dir(e, fx->base), AM_OK);     /* both names durable */
    assert_int_equal(env_append(e, f, "durable|", 8), AM_OK);
    assert_int_equal(env_sync(e, f), AM_OK);
    assert_int_equal(env_append(e, f, "lost", 4), AM_OK);
    assert_int_equal(env_append(e, g, "gone", 4), AM_OK);
    assert_int_equal(env_close(e, f), AM_OK);
    assert_int_equal(env_close(e, g), AM_OK);
    assert_file(fx->posix, p, "durable|lost");             /* before the cut: all there */
    assert_int_equal(fault_env_power_cut(e), AM_OK);
    assert_file(fx->posix, p, "durable|");
    assert_file(fx->posix, q, "");
    /* A second cut changes nothing. */
    assert_int_equal(fault_env_power_cut(e), AM_OK);
    assert_file(fx->posix, p, "durable|");
}

static void test_power_cut_removes_unsynced_names(void **state)
{
    fixture *fx = *state;
    am_env *e = fx->fault;
    char old[512], fresh[512], synced[512], sub[512], inner[600];
    pj(old, sizeof old, fx, "old");
    pj(fresh, sizeof fresh, fx, "fresh");
    pj(synced, sizeof synced, fx, "synced");
    pj(sub, sizeof sub, fx, "sub");
    snprintf(inner, sizeof inner, "%s/inner", sub);
    put_file(fx->posix, old, "from before", 1);         /* not written through the fault env */
    assert_int_equal(env_mkdir(e, sub), AM_OK);
    put_file(e, synced, "kept", 1);
    put_file(e, inner, "inner", 1);
    assert_int_equal(env_sync_dir(e, fx->base), AM_OK);  /* commits "synced", not "inner" */
    put_file(e, fresh, "data synced, name not", 1);
    assert_int_equal(fault_env_power_cut(e), AM_OK);
    assert_int_equal(env_exists(fx->posix, fresh), 0);
    assert_int_equal(env_exists(fx->posix, inner), 0);
    assert_file(fx->posix, synced, "kept");
    assert_file(fx->posix, old, "from before");
    /* A trailing slash on the directory is the same directory. */
    put_file(e, inner, "inner", 1);
    char slashed[520];
    snprintf(slashed, sizeof slashed, "%s/", sub);
    assert_int_equal(env_sync_dir(e, slashed), AM_OK);
    assert_int_equal(fault_env_power_cut(e), AM_OK);
    assert_file(fx->posix, inner, "inner");
}

/* Rewriting a file that existed: the name survives, the unsynced new contents do not. */
static void test_power_cut_truncated_existing_file(void **state)
{
    fixture *fx = *state;
    am_env *e = fx->fault;
    char p[512];
    pj(p, sizeof p, fx, "re");
    put_file(fx->posix, p, "old contents", 1);
    am_file *f = create(e, p);
    assert_int_equal(env_append(e, f, "new", 3), AM_OK);
    assert_int_equal(env_close(e, f), AM_OK);
    assert_int_equal(fault_env_power_cut(e), AM_OK);
    assert_int_equal(env_exists(fx->posix, p), 1);
    assert_int_equal(tu_file_size(p), 0);
}

static void test_power_cut_and_renames(void **state)
{
    fixture *fx = *state;
    am_env *e = fx->fault;
    char cur[512], tmp[512], dst[512];
    pj(cur, sizeof cur, fx, "CURRENT");
    pj(tmp, sizeof tmp, fx, "tmp");
    pj(dst, sizeof dst, fx, "dst");
    /* env_write_atomic is durable. */
    assert_int_equal(env_write_atomic(e, fx->base, "CURRENT", "one\n", 4), AM_OK);
    assert_int_equal(fault_env_power_cut(e), AM_OK);
    assert_file(fx->posix, cur, "one\n");
    /* Replacing an existing name without a directory sync: the new file is there (its
       synced bytes), the old one is gone. */
    put_file(e, tmp, "two\n", 1);
    assert_int_equal(env_rename(e, tmp, cur), AM_OK);
    assert_int_equal(fault_env_power_cut(e), AM_OK);
    assert_file(fx->posix, cur, "two\n");
    assert_int_equal(env_exists(fx->posix, tmp), 0);
    /* A new file renamed to a fresh name with no directory sync vanishes. */
    put_file(e, tmp, "three", 1);
    assert_int_equal(env_rename(e, tmp, dst), AM_OK);
    assert_int_equal(fault_env_power_cut(e), AM_OK);
    assert_int_equal(env_exists(fx->posix, dst), 0);
    assert_int_equal(env_exists(fx->posix, tmp), 0);
    /* ... and survives once the directory is synced; its unsynced tail does not. */
    am_file *f = create(e, tmp);
    assert_int_equal(env_append(e, f, "four", 4), AM_OK);
    assert_int_equal(env_sync(e, f), AM_OK);
    assert_int_equal(env_append(e, f, "tail", 4), AM_OK);
    assert_int_equal(env_close(e, f), AM_OK);
    assert_int_equal(env_rename(e, tmp, dst), AM_OK);
    assert_int_equal(env_sync_dir(e, fx->base), AM_OK);
    assert_int_equal(fault_env_power_cut(e), AM_OK);
    assert_file(fx->posix, dst, "four");
    /* A removed file stays removed. */
    assert_int_equal(env_remove(e, dst), AM_OK);
    assert_int_equal(fault_env_power_cut(e), AM_OK);
    assert_int_equal(env_exists(fx->posix, dst), 0);
}

/* A file removed behind the fault env's back does not make the cut fail. */
static void test_power_cut_tolerates_missing_files(void **state)
{
    fixture *fx = *state;
    am_env *e = fx->fault;
    char a[512], b[512];
    pj(a, sizeof a, fx, "a");
    pj(b, sizeof b, fx, "b");
    put_file(e, a, "aa", 0);
    assert_int_equal(env_sync_dir(e, fx->base), AM_OK);
    put_file(e, b, "bb", 0);
    assert_int_equal(unlink(a), 0);
    assert_int_equal(unlink(b), 0);
    assert_int_equal(fault_env_power_cut(e), AM_OK);
}

/* ---------------- fault env: dead mode ---------------- */

static void test_dead_mode(void **state)
{
    fixture *fx = *state;
    am_env *e = fx->fault;
    char p[512], q[512], lk[512];
    pj(p, sizeof p, fx, "wal");
    pj(q, sizeof q, fx, "other");
    pj(lk, sizeof lk, fx, "LOCK");
    am_lock *l = NULL;
    assert_int_equal(e->ops->lock(e, lk, &l), AM_OK);
    am_file *f = create(e, p), *r = NULL;
    assert_int_equal(env_append(e, f, "synced|", 7), AM_OK);
    assert_int_equal(env_sync(e, f), AM_OK);
    assert_int_equal(env_append(e, f, "unsynced", 8), AM_OK);
    put_file(e, q, "q", 1);
    assert_int_equal(env_sync_dir(e, fx->base), AM_OK);
    assert_int_equal(env_open_readable(e, q, &r), AM_OK);
    uint64_t counts[FAULT_KINDS];
    for (int k = 0; k < FAULT_KINDS; k++) counts[k] = fault_env_count(e, k);

    fault_env_set_dead(e, 1);
    char buf[8];
    size_t got;
    uint64_t sz;
    am_file *g = (am_file *)1;
    names s = { 0 };
    am_lock *l2 = (am_lock *)1;
    expect_err(e, env_append(e, f, "more", 4), AM_ERR_IO, "injected fault");
    assert_int_equal(env_sync(e, f), AM_ERR_IO);
    assert_int_equal(env_fsize(e, f, &sz), AM_ERR_IO);
    assert_int_equal(env_pread(e, r, 0, 1, buf, &got), AM_ERR_IO);
    assert_int_equal(env_open_writable(e, q, &g), AM_ERR_IO);
    assert_null(g);
    g = (am_file *)1;
    assert_int_equal(env_open_readable(e, q, &g), AM_ERR_IO);
    assert_null(g);
    assert_int_equal(env_remove(e, q), AM_ERR_IO);
    assert_int_equal(env_rename(e, q, p), AM_ERR_IO);
    char sub[512];
    assert_int_equal(env_mkdir(e, pj(sub, sizeof sub, fx, "sub")), AM_ERR_IO);
    assert_int_equal(env_sync_dir(e, fx->base), AM_ERR_IO);
    assert_int_equal(env_exists(e, q), AM_ERR_IO);
    assert_int_equal(e->ops->file_size(e, q, &sz), AM_ERR_IO);
    assert_int_equal(e->ops->list_dir(e, fx->base, collect, &s), AM_ERR_IO);
    assert_int_equal(s.calls, 0);
    assert_int_equal(e->ops->lock(e, lk, &l2), AM_ERR_IO);
    assert_null(l2);
    assert_int_equal(env_write_atomic(e, fx->base, "CURRENT", "x", 1), AM_ERR_IO);
    /* Nothing changed on disk, nothing counted. */
    assert_file(fx->posix, p, "synced|unsynced");
    assert_file(fx->posix, q, "q");
    assert_int_equal(env_exists(fx->posix, sub), 0);
    char cur[512];
    assert_int_equal(env_exists(fx->posix, pj(cur, sizeof cur, fx, "CURRENT")), 0);
    for (int k = 0; k < FAULT_KINDS; k++) assert_int_equal(fault_env_count(e, k), counts[k]);
    /* Abandon: close and unlock fail but release their handles (ASan checks leaks). */
    assert_int_equal(env_close(e, f), AM_ERR_IO);
    assert_int_equal(env_close(e, r), AM_ERR_IO);
    assert_int_equal(e->ops->unlock(e, l), AM_ERR_IO);
    /* The cut works on a dead env; then a fresh env sees only durable state. */
    assert_int_equal(fault_env_power_cut(e), AM_OK);
    am_env *fresh = am_env_fault_new(fx->posix);
    assert_non_null(fresh);
    assert_file(fresh, p, "synced|");
    assert_file(fresh, q, "q");
    assert_int_equal(fresh->ops->lock(fresh, lk, &l), AM_OK);   /* the lock was released */
    assert_int_equal(fresh->ops->unlock(fresh, l), AM_OK);
    am_env_fault_free(fresh);
    /* Revived. */
    fault_env_set_dead(e, 0);
    assert_int_equal(env_exists(e, q), 1);
    put_file(e, q, "alive", 1);
    assert_file(e, q, "alive");
}

/* An armed fault waits while the env is dead (dead calls are not counted). */
static void test_dead_mode_does_not_consume_faults(void **state)
{
    fixture *fx = *state;
    am_env *e = fx->fault;
    char p[512];
    am_file *f = create(e, pj(p, sizeof p, fx, "z"));
    fault_env_fail_nth(e, FAULT_WRITE, 1, AM_ERR_NOSPACE, 0);
    fault_env_set_dead(e, 1);
    assert_int_equal(env_append(e, f, "x", 1), AM_ERR_IO);
    fault_env_set_dead(e, 0);
    assert_int_equal(env_append(e, f, "x", 1), AM_ERR_NOSPACE);
    assert_int_equal(env_append(e, f, "x", 1), AM_OK);
    assert_int_equal(env_close(e, f), AM_OK);
}

/* ---------------- fault env: threads ---------------- */

typedef struct writer_arg {
    am_env *env;
    char path[600];
    int seed;
    uint64_t synced;           /* bytes at the last sync */
    int rc;
} writer_arg;

static void *writer(void *p)
{
    writer_arg *w = p;
    am_file *f = NULL;
    tu_rng r = { (uint64_t)w->seed };
    uint64_t size = 0;
    int rc = env_open_writable(w->env, w->path, &f);
    for (int i = 0; rc == AM_OK && i < 300; i++) {
        char chunk[64];
        size_t n = 1 + (size_t)tu_below(&r, sizeof chunk);
        memset(chunk, 'a' + w->seed, n);
        rc = env_append(w->env, f, chunk, n);
        size += n;
        if (rc == AM_OK && tu_below(&r, 10) == 0 && (rc = env_sync(w->env, f)) == AM_OK)
            w->synced = size;
    }
    int crc = env_close(w->env, f);
    w->rc = rc != AM_OK ? rc : crc;
    return NULL;
}

/* Several threads writing and syncing their own files at once; the cut keeps exactly
 * what each synced. (Run under TSan by hand: the fault env's state is behind one mutex.) */
static void test_fault_threads(void **state)
{
    fixture *fx = *state;
    am_env *e = fx->fault;
    enum { W = 4 };
    writer_arg args[W];
    pthread_t th[W];
    for (int i = 0; i < W; i++) {
        memset(&args[i], 0, sizeof args[i]);
        args[i].env = e;
        args[i].seed = i + 1;
        snprintf(args[i].path, sizeof args[i].path, "%s/w%d", fx->base, i);
        assert_int_equal(pthread_create(&th[i], NULL, writer, &args[i]), 0);
    }
    for (int i = 0; i < 100; i++) (void)fault_env_count(e, FAULT_WRITE);
    for (int i = 0; i < W; i++) assert_int_equal(pthread_join(th[i], NULL), 0);
    assert_int_equal(fault_env_count(e, FAULT_WRITE), W * 300);
    assert_int_equal(env_sync_dir(e, fx->base), AM_OK);
    assert_int_equal(fault_env_power_cut(e), AM_OK);
    for (int i = 0; i < W; i++) {
        assert_int_equal(args[i].rc, AM_OK);
        assert_int_equal(tu_file_size(args[i].path), args[i].synced);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, tu_setup, tu_teardown)
        T(test_posix_write_read),
        T(test_posix_open_writable_truncates),
        T(test_posix_large_append),
        T(test_posix_mapped_log),
        T(test_posix_rename_remove),
        T(test_remove_quiet_keeps_the_message),
        T(test_posix_mkdir),
        T(test_posix_list_dir),
        T(test_posix_errors_name_path),
        T(test_posix_lock_other_process),
        T(test_posix_lock_after_removed_lock_file),
        T(test_remove_dir),
        T(test_posix_lock_same_process),
        T(test_read_all),
        T(test_write_atomic),
        T(test_fault_passes_through),
        T(test_fault_nth_write),
        T(test_fault_sticky_nospace),
        T(test_fault_nth_sync),
        T(test_fault_nth_rename),
        T(test_fault_nth_open_and_read),
        T(test_fault_counts),
        T(test_fault_arm_is_relative),
        T(test_power_cut_drops_unsynced_bytes),
        T(test_power_cut_removes_unsynced_names),
        T(test_power_cut_truncated_existing_file),
        T(test_power_cut_and_renames),
        T(test_power_cut_tolerates_missing_files),
        T(test_dead_mode),
        T(test_dead_mode_does_not_consume_faults),
        T(test_fault_threads),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
