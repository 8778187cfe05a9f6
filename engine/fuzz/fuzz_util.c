/* fuzz_util.c: the scratch directory, files, input cursor, checks and database helpers that
 * the fuzz targets share (fuzz_util.h). */
#include "fuzz/fuzz_util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/env_fault.h"
#include "util/hash.h"
#include "util/ikey.h"

#define MAX_AT_EXIT 16
#define SCAN_GET_CHECKS 16

/* Per-process state of the harness (not of the engine). */
static struct {
    char scratch[512];
    int have_scratch;
    am_env *posix, *pread;
    void (*at_exit[MAX_AT_EXIT])(void);
    int nat_exit;
} fz;

_Noreturn void fuzz_fail(const char *file, int line, const char *cond, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "fuzz check failed at %s:%d: %s: ", file, line, cond);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
    abort();
}

void fuzz_log(const char *fmt, ...)
{
    static int verbose = -1;
    if (verbose < 0) {
        const char *v = getenv("AM_FUZZ_VERBOSE");
        verbose = v && *v && strcmp(v, "0") != 0;
    }
    if (!verbose) return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void fuzz_check_named(int rc, const char *msg, const char *what)
{
    if (rc != AM_ERR_CORRUPT) return;
    FUZZ_CHECK(msg && strstr(msg, what), "corruption reported without naming %s: \"%s\"",
               what, msg ? msg : "(null)");
}

/* ---- scratch directory ---- */

static void rm_tree(const char *path);

static void empty_dir_at(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    char p[1024];
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        rm_tree(p);
    }
    closedir(d);
}

static void rm_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0) return;
    if (S_ISDIR(st.st_mode)) {
        empty_dir_at(path);
        rmdir(path);
    } else {
        unlink(path);
    }
}

static void run_at_exit(void)
{
    while (fz.nat_exit > 0) fz.at_exit[--fz.nat_exit]();
    if (fz.pread) am_env_fault_free(fz.pread);
    if (fz.posix) am_env_posix_free(fz.posix);
    fz.pread = fz.posix = NULL;
    if (fz.have_scratch) rm_tree(fz.scratch);
    fz.have_scratch = 0;
}

static int writable_dir(const char *d)
{
    struct stat st;
    return d && *d && stat(d, &st) == 0 && S_ISDIR(st.st_mode) && access(d, W_OK | X_OK) == 0;
}

/* A process that stops on a defect (abort, sanitizer) skips its exit handlers and leaves
 * its scratch directory, amfuzz-<pid>-*: removes those of processes no longer running. */
static void sweep_stale(const char *base)
{
    DIR *d = opendir(base);
    if (!d) return;
    struct dirent *e;
    char p[1024];
    while ((e = readdir(d)) != NULL) {
        long pid;
        char rest[256];
        if (sscanf(e->d_name, "amfuzz-%ld-%255s", &pid, rest) != 2 || pid <= 0) continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;   /* alive, or not ours */
        snprintf(p, sizeof p, "%s/%s", base, e->d_name);
        rm_tree(p);
    }
    closedir(d);
}

const char *fuzz_scratch(void)
{
    if (fz.have_scratch) return fz.scratch;
    const char *base = getenv("AM_FUZZ_SCRATCH");
    if (!writable_dir(base)) base = writable_dir("/dev/shm") ? "/dev/shm" : getenv("TMPDIR");
    if (!writable_dir(base)) base = "/tmp";
    sweep_stale(base);
    snprintf(fz.scratch, sizeof fz.scratch, "%s/amfuzz-%ld-%s-XXXXXX", base, (long)getpid(),
             fuzz_target_name);
    FUZZ_CHECK(mkdtemp(fz.scratch) != NULL, "mkdtemp %s: %s", fz.scratch, strerror(errno));
    fz.have_scratch = 1;
    atexit(run_at_exit);
    return fz.scratch;
}

void fuzz_dir(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", fuzz_scratch(), name);
    if (mkdir(out, 0755) != 0)
        FUZZ_CHECK(errno == EEXIST, "mkdir %s: %s", out, strerror(errno));
    empty_dir_at(out);
}

void fuzz_empty_dir(const char *dir)
{
    empty_dir_at(dir);
}

void fuzz_at_exit(void (*fn)(void))
{
    (void)fuzz_scratch();   /* registers run_at_exit first, so it runs last */
    FUZZ_CHECK(fz.nat_exit < MAX_AT_EXIT, "too many exit handlers");
    fz.at_exit[fz.nat_exit++] = fn;
}

am_env *fuzz_env(void)
{
    if (!fz.posix) {
        (void)fuzz_scratch();
        fz.posix = am_env_posix_new();
        FUZZ_CHECK(fz.posix != NULL, "out of memory for an env");
    }
    return fz.posix;
}

am_env *fuzz_env_pread(void)
{
    if (!fz.pread) {
        fz.pread = am_env_fault_new(fuzz_env());
        FUZZ_CHECK(fz.pread != NULL, "out of memory for an env");
    }
    return fz.pread;
}

/* ---- files ---- */

void fuzz_write_file(const char *path, const void *data, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    FUZZ_CHECK(fd >= 0, "open %s: %s", path, strerror(errno));
    const char *p = data;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        FUZZ_CHECK(w > 0, "write %s: %s", path, strerror(errno));
        p += w;
        n -= (size_t)w;
    }
    FUZZ_CHECK(close(fd) == 0, "close %s: %s", path, strerror(errno));
}

char *fuzz_read_file(const char *path, size_t *n)
{
    int fd = open(path, O_RDONLY);
    FUZZ_CHECK(fd >= 0, "open %s: %s", path, strerror(errno));
    struct stat st;
    FUZZ_CHECK(fstat(fd, &st) == 0, "stat %s: %s", path, strerror(errno));
    size_t size = (size_t)st.st_size, got = 0;
    char *buf = malloc(size ? size : 1);
    FUZZ_CHECK(buf != NULL, "out of memory reading %s", path);
    while (got < size) {
        ssize_t r = read(fd, buf + got, size - got);
        FUZZ_CHECK(r > 0, "read %s: %s", path, r < 0 ? strerror(errno) : "short");
        got += (size_t)r;
    }
    close(fd);
    *n = size;
    return buf;
}

void fuzz_put(const char *dir, const char *name, const void *data, size_t n)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    fuzz_write_file(path, data, n);
}

/* ---- framed inputs ---- */

const uint8_t *fuzz_bytes(fuzz_in *in, size_t want, size_t *got)
{
    size_t n = fuzz_left(in) < want ? fuzz_left(in) : want;
    const uint8_t *p = in->p;
    in->p += n;
    *got = n;
    return p;
}

void fuzz_put_bytes(am_buf *b, const void *p, size_t n)
{
    FUZZ_CHECK(buf_append(b, p, n) == AM_OK, "out of memory");
}

void fuzz_put_u8(am_buf *b, unsigned v)
{
    char c = (char)(v & 0xff);
    fuzz_put_bytes(b, &c, 1);
}

void fuzz_put_u16(am_buf *b, unsigned v)
{
    char c[2] = { (char)(v & 0xff), (char)((v >> 8) & 0xff) };
    fuzz_put_bytes(b, c, 2);
}

/* ---- databases ---- */

void fuzz_db_options(am_options *o, int bloom, unsigned which)
{
    static const char *const strategies[] = { "leveled", "tiered", "lazy-leveled",
                                              "triangular", "adaptive" };
    am_options_init(o);
    o->strategy = strategies[which % (sizeof strategies / sizeof strategies[0])];
    o->adapt_clock_ops = 1;                /* adaptive decides by operations, not time */
    o->background_threads = 0;             /* flushes and merges inline: deterministic */
    o->memtable_bytes = 64u << 10;         /* the smallest allowed */
    o->target_file_bytes = 64u << 10;
    o->block_bytes = 256;
    o->block_cache_bytes = 64u << 10;
    o->index_stride = 4;
    o->bloom_bits_per_key = bloom ? 10 : 0;
    o->l0_compaction_trigger = 2;
    o->env = fuzz_env();
}

fuzz_scan fuzz_db_scan(am_db *db, int check_gets)
{
    fuzz_scan s = { 0, UINT64_C(0xcbf29ce484222325), 1, AM_OK };
    am_buf prev;
    buf_init(&prev);
    am_iter *it = am_iter_new(db, NULL);
    FUZZ_CHECK(it != NULL, "am_iter_new: out of memory");
    for (am_iter_seek_first(it); am_iter_valid(it); am_iter_next(it)) {
        size_t kn, vn;
        const void *k = am_iter_key(it, &kn), *v = am_iter_value(it, &vn);
        s.hash = s.hash * 31 + am_hash64(k, kn);
        s.hash = s.hash * 31 + am_hash64(v, vn);
        if (s.n > 0 && ukey_cmp(prev.data, prev.len, k, kn) >= 0) s.sorted = 0;
        if (s.n == 0 && kn <= sizeof s.first) {
            memcpy(s.first, k, kn);
            s.first_len = kn;
        }

        buf_clear(&prev);
        fuzz_put_bytes(&prev, k, kn);
        if (check_gets && s.n < SCAN_GET_CHECKS) {
            void *got = NULL;
            size_t gn = 0;
            int rc = am_get(db, NULL, k, kn, &got, &gn);
            FUZZ_CHECK(rc == AM_OK || rc == AM_ERR_CORRUPT, "am_get of a key the iterator "
                       "showed: %s", am_strerror(rc));
            if (rc == AM_OK)
                FUZZ_CHECK(gn == vn && (vn == 0 || memcmp(got, v, vn) == 0),
                           "am_get and the iterator disagree on a value (%zu vs %zu bytes)",
                           gn, vn);
            am_free(got);
        }
        s.n++;
    }
    s.status = am_iter_status(it);
    am_iter_free(it);
    buf_free(&prev);
    if (!s.first_len) {
        memcpy(s.first, "fuzz", 4);
        s.first_len = 4;
    }
    FUZZ_CHECK(s.status == AM_OK || s.status == AM_ERR_CORRUPT, "a scan ended with %s",
               am_strerror(s.status));
    return s;
}

static const char written[] = "written after recovery";

void fuzz_db_expect_written(am_db *db, const void *k, size_t kn, int the_files_may_lie)
{
    void *got = NULL;
    size_t gn = 0;
    int rc = am_get(db, NULL, k, kn, &got, &gn);
    FUZZ_CHECK(rc == AM_OK || (the_files_may_lie && rc == AM_ERR_CORRUPT),
               "am_get of the key just written: %s", am_strerror(rc));
    if (rc == AM_OK)
        FUZZ_CHECK(gn == sizeof written - 1 && memcmp(got, written, gn) == 0,
                   "am_get of the key just written returns an older value (%zu bytes)", gn);
    am_free(got);
}

int fuzz_db_overwrite(am_db *db, const void *k, size_t kn, int the_files_may_lie)
{
    int rc = AM_OK;
    /* Twice: two L0 files, which the small options compact (with what lies below). */
    for (int i = 0; i < 2 && rc == AM_OK; i++) {
        rc = am_put(db, k, kn, written, sizeof written - 1);
        /* A refusal is allowed (sequence numbers used up, say), if it says why; a write
           the engine itself calls corrupt, or an I/O error, is not. */
        FUZZ_CHECK(rc == AM_OK || (rc != AM_ERR_CORRUPT && rc != AM_ERR_IO &&
                                   rc != AM_ERR_NOMEM && am_errmsg(db)[0]),
                   "am_put after recovery: %s (\"%s\")", am_strerror(rc), am_errmsg(db));
        if (rc != AM_OK) return rc;
        rc = am_flush(db);
        FUZZ_CHECK(rc == AM_OK || (the_files_may_lie && rc == AM_ERR_CORRUPT),
                   "am_flush after recovery: %s (\"%s\")", am_strerror(rc), am_errmsg(db));
        if (rc == AM_OK) fuzz_db_expect_written(db, k, kn, the_files_may_lie);
    }
    return rc;
}
