/* cli_util.h: helpers for the tests that run the built amethystd (test_cli, test_results):
 * where the binary is (AMETHYSTD, set by `make test`; else build/<AM_TEST_FLAVOR>/amethystd),
 * running it with stdout and stderr captured to files, temporary directories, reading
 * files and JSON. Header-only: each test is one file. */
#ifndef AM_HARNESS_TESTS_CLI_UTIL_H
#define AM_HARNESS_TESTS_CLI_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static inline const char *cu_binary(void)
{
    static char path[512];
    const char *env = getenv("AMETHYSTD");
    if (env && *env) return env;
    const char *flavor = getenv("AM_TEST_FLAVOR");
    snprintf(path, sizeof path, "build/%s/amethystd", flavor && *flavor ? flavor : "rel");
    return path;
}

/* Starts amethystd with args (NULL-terminated, without argv[0]); stdout and stderr go to
 * out_path and err_path (NULL: /dev/null). Returns the pid, or -1. */
static inline pid_t cu_spawn_in(const char *cwd, const char *const *args, const char *out_path,
                                const char *err_path);
static inline pid_t cu_spawn(const char *const *args, const char *out_path, const char *err_path)
{
    return cu_spawn_in(NULL, args, out_path, err_path);
}

/* The same, started in directory cwd (NULL: this one); the binary's path is made absolute
 * first. */
static inline pid_t cu_spawn_in(const char *cwd, const char *const *args, const char *out_path,
                                const char *err_path)
{
    const char *argv[64];
    char bin[4096];
    int n = 0;
    argv[n++] = cu_binary();
    if (cwd && realpath(argv[0], bin)) argv[0] = bin;
    for (int i = 0; args[i] && n < 63; i++) argv[n++] = args[i];
    argv[n] = NULL;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, out_path ? out_path : "/dev/null",
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, err_path ? err_path : "/dev/null",
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (cwd) posix_spawn_file_actions_addchdir_np(&fa, cwd);
    pid_t pid;
    int rc = posix_spawn(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    return rc == 0 ? pid : -1;
}

/* Exit status of pid, or 128 + the signal that killed it, or -1. */
static inline int cu_wait(pid_t pid)
{
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) return -1;
    if (WIFEXITED(st)) return WEXITSTATUS(st);
    if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
    return -1;
}

static inline int cu_run(const char *const *args, const char *out_path, const char *err_path)
{
    pid_t pid = cu_spawn(args, out_path, err_path);
    return pid < 0 ? -1 : cu_wait(pid);
}

/* The whole file, NUL-terminated (malloc'd), or NULL. */
static inline char *cu_read(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    for (size_t got; buf && (got = fread(buf + n, 1, cap - n - 1, f)) > 0;) {
        n += got;
        if (n + 1 == cap) {
            char *b = realloc(buf, cap *= 2);
            if (!b) {
                free(buf);
                buf = NULL;
            }
            buf = b;
        }
    }
    fclose(f);
    if (buf) buf[n] = '\0';
    return buf;
}

static inline int cu_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static inline void cu_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f) return;
    fputs(text, f);
    fclose(f);
}

static inline void cu_tmpdir(char *buf, size_t cap)
{
    const char *t = getenv("TMPDIR");
    snprintf(buf, cap, "%s/amethystd-test-XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(buf)) buf[0] = '\0';
}

static inline int cu_rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static inline void cu_rmtree(const char *dir)
{
    if (dir && *dir) nftw(dir, cu_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static inline json_t *cu_load_json(const char *path)
{
    json_error_t e;
    json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &e);
    if (!j) fprintf(stderr, "%s: %s (line %d)\n", path, e.text, e.line);
    return j;
}

#endif
