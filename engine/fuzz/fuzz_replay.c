/* fuzz_replay.c: the main() that replays a fuzz target without libFuzzer, so `make test`
 * runs every committed input with the normal compiler, plain and under ASan + UBSan
 * (docs/fuzzing.md). Linked with one target (fuzz_<name>.c) as fuzz_replay_<name>.
 *
 *   fuzz_replay_<name>                 every file of engine/fuzz/corpus/<name> and of
 *                                      engine/fuzz/regress/<name> (relative to the current
 *                                      directory, or to $AM_FUZZ_ROOT instead of engine/fuzz)
 *   fuzz_replay_<name> PATH...         those files, or every file of those directories
 *   fuzz_replay_<name> -generate ROOT  writes the seeds into ROOT/corpus/<name> and the
 *                                      known defects' reproducers into ROOT/regress/<name>
 *
 * Each input is read into a buffer of exactly its size (as libFuzzer does, so a read past
 * its end is caught by ASan) and passed to LLVMFuzzerTestOneInput. Files are run in name
 * order; names starting with '.' and README files are skipped. A defect stops the process
 * (abort or a sanitizer report): the name of the input being run is printed first. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz/fuzz_util.h"

/* The sanitizers' hook for "about to die" (weak: absent in a plain build). */
extern void __sanitizer_set_death_callback(void (*cb)(void)) __attribute__((weak));

static char current[1024];          /* the input being run, for the crash message */

static void say_current(void)
{
    if (!current[0]) return;
    static const char pre[] = "fuzz replay: the input being run was ";
    (void)!write(2, pre, sizeof pre - 1);
    (void)!write(2, current, strlen(current));
    (void)!write(2, "\n", 1);
}

static void on_signal(int sig)
{
    say_current();
    signal(sig, SIG_DFL);
    raise(sig);
}

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static void run_file(const char *path)
{
    size_t n;
    char *data = fuzz_read_file(path, &n);
    /* Exactly n bytes, so that ASan sees a read past the end of the input. */
    uint8_t *exact = malloc(n ? n : 1);
    FUZZ_CHECK(exact != NULL, "out of memory for %s", path);
    if (n) memcpy(exact, data, n);
    free(data);
    snprintf(current, sizeof current, "%s", path);
    LLVMFuzzerTestOneInput(exact, n);
    current[0] = 0;
    free(exact);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs every file of dir in name order; returns how many. */
static size_t run_dir(const char *dir)
{
    DIR *d = opendir(dir);
    FUZZ_CHECK(d != NULL, "cannot open %s: %s", dir, strerror(errno));
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || strncmp(e->d_name, "README", 6) == 0) continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            names = realloc(names, cap * sizeof *names);
            FUZZ_CHECK(names != NULL, "out of memory");
        }
        names[n] = strdup(e->d_name);
        FUZZ_CHECK(names[n] != NULL, "out of memory");
        n++;
    }
    closedir(d);
    if (n) qsort(names, n, sizeof *names, cmp_str);
    size_t ran = 0;
    for (size_t i = 0; i < n; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (!is_dir(path)) {
            run_file(path);
            ran++;
        }
        free(names[i]);
    }
    free(names);
    return ran;
}

static size_t run_path(const char *p)
{
    if (is_dir(p)) return run_dir(p);
    run_file(p);
    return 1;
}

static void make_dir(const char *p)
{
    if (mkdir(p, 0755) != 0)
        FUZZ_CHECK(errno == EEXIST, "mkdir %s: %s", p, strerror(errno));
}

static void generate(const char *root)
{
    char corpus[1024], regress[1024];
    snprintf(corpus, sizeof corpus, "%s/corpus", root);
    snprintf(regress, sizeof regress, "%s/regress", root);
    make_dir(root);
    make_dir(corpus);
    make_dir(regress);
    snprintf(corpus, sizeof corpus, "%s/corpus/%s", root, fuzz_target_name);
    snprintf(regress, sizeof regress, "%s/regress/%s", root, fuzz_target_name);
    make_dir(corpus);
    make_dir(regress);
    fuzz_generate(corpus, regress);
    rmdir(regress);            /* only if the target wrote nothing there */
    printf("fuzz %s: seeds written to %s\n", fuzz_target_name, corpus);
}

int main(int argc, char **argv)
{
    if (__sanitizer_set_death_callback) __sanitizer_set_death_callback(say_current);
    signal(SIGABRT, on_signal);     /* assert() and FUZZ_CHECK */
    if (!__sanitizer_set_death_callback) {
        /* Without a sanitizer; with one, its own handler reports these. */
        signal(SIGSEGV, on_signal);
        signal(SIGBUS, on_signal);
    }
    if (argc == 3 && strcmp(argv[1], "-generate") == 0) {
        generate(argv[2]);
        return 0;
    }
    if (argc > 1 && argv[1][0] == '-') {
        fprintf(stderr, "usage: %s [-generate ROOT | PATH...]\n", argv[0]);
        return 2;
    }
    size_t ran = 0;
    if (argc > 1) {
        for (int i = 1; i < argc; i++) ran += run_path(argv[i]);
        printf("fuzz %s: %zu inputs replayed\n", fuzz_target_name, ran);
        return 0;
    }
    const char *root = getenv("AM_FUZZ_ROOT");
    if (!root || !*root) root = "engine/fuzz";
    char corpus[1024], regress[1024];
    snprintf(corpus, sizeof corpus, "%s/corpus/%s", root, fuzz_target_name);
    snprintf(regress, sizeof regress, "%s/regress/%s", root, fuzz_target_name);
    size_t nc = run_dir(corpus);      /* fails when missing: run from the repository */
    size_t nr = is_dir(regress) ? run_dir(regress) : 0;
    FUZZ_CHECK(nc > 0, "%s holds no input", corpus);
    printf("fuzz %s: %zu corpus inputs and %zu reproducers replayed\n", fuzz_target_name,
           nc, nr);
    return 0;
}
