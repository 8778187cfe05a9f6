/* fuzz_util.h: what every fuzz target (engine/fuzz/fuzz_*.c, docs/fuzzing.md) shares: a
 * scratch directory per process (made once, emptied between inputs, removed at exit),
 * whole files written and read, a cursor that decodes a framed input, the check that stops
 * a target with a message, and the three symbols each target defines.
 *
 * A target is linked two ways: with libFuzzer (clang -fsanitize=fuzzer, `make fuzz`), which
 * supplies main(), or with fuzz_replay.c (any compiler, `make test`), whose main() feeds it
 * the files of its committed corpus and regression directories, or writes its seeds.
 *
 * Nothing here is engine code: a target keeps its per-process state (scratch directory,
 * env, templates) in statics, made on the first input and freed at exit, so that the leak
 * checker sees nothing when the process ends. Single-threaded. */
#ifndef AM_FUZZ_UTIL_H
#define AM_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "amethyst.h"
#include "util/coding.h"
#include "util/env.h"

/* ---- what each target defines ------------------------------------------------------- */

/* The target's name: its corpus is engine/fuzz/corpus/<name>, its reproducers
 * engine/fuzz/regress/<name>. */
extern const char fuzz_target_name[];
/* Runs one input. Returns 0; a defect stops the process (FUZZ_CHECK, an assert, a
 * sanitizer). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Writes the seed corpus into corpus_dir and the reproducers of known defects (if the
 * target has any) into regress_dir; both exist. Files are named seed-* and known-*. */
void fuzz_generate(const char *corpus_dir, const char *regress_dir);

/* ---- failing ------------------------------------------------------------------------ */

/* Prints "fuzz check failed at file:line: cond: message" to stderr and aborts. */
_Noreturn void fuzz_fail(const char *file, int line, const char *cond, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
#define FUZZ_CHECK(cond, ...) \
    do { if (!(cond)) fuzz_fail(__FILE__, __LINE__, #cond, __VA_ARGS__); } while (0)

/* A status that a reader of untrusted bytes may return: AM_OK, AM_NOT_FOUND or
 * AM_ERR_CORRUPT. Anything else (an I/O error on a scratch file, out of memory on a small
 * input, invalid argument) is a defect of the engine or of the target. */
static inline int fuzz_status_ok(int rc)
{
    return rc == AM_OK || rc == AM_NOT_FOUND || rc == AM_ERR_CORRUPT;
}
/* Checks that a corruption is reported with a message naming what (a path or a directory):
 * the engine promises an error naming the damaged file. */
void fuzz_check_named(int rc, const char *msg, const char *what);

/* With $AM_FUZZ_VERBOSE set (to anything but 0), prints a line to stderr: what a target
 * did with an input (statuses, messages), for reading a reproducer. */
void fuzz_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- the scratch directory ---------------------------------------------------------- */

/* The process's scratch directory, amfuzz-<pid>-<target>-XXXXXX under $AM_FUZZ_SCRATCH if
 * set, else /dev/shm when it is writable, else $TMPDIR or /tmp; made on the first call,
 * removed at exit. (A process stopped by a defect leaves its directory; the next process
 * removes those whose pid no longer runs.) */
const char *fuzz_scratch(void);
/* out = scratch/name (a directory, created if needed and emptied). */
void fuzz_dir(char *out, size_t cap, const char *name);
/* Removes everything inside dir (not dir itself). */
void fuzz_empty_dir(const char *dir);
/* Runs fn at exit, before the scratch directory goes (last registered runs first). */
void fuzz_at_exit(void (*fn)(void));

/* A POSIX env for the process (files mapped, logs mapped), and a fault env over it that
 * injects nothing: it offers neither map nor open_log, so SSTables are read with pread
 * through the block cache. Both made on first use, freed at exit. */
am_env *fuzz_env(void);
am_env *fuzz_env_pread(void);

/* ---- whole files -------------------------------------------------------------------- */

/* Creates or truncates path with data[0..n); fails the process on error. */
void fuzz_write_file(const char *path, const void *data, size_t n);
/* All of path (malloc'd, freed by the caller); fails the process on error. */
char *fuzz_read_file(const char *path, size_t *n);
/* Writes dir/name; for seeds and reproducers. */
void fuzz_put(const char *dir, const char *name, const void *data, size_t n);

/* ---- framed inputs ------------------------------------------------------------------ */

/* A cursor over the input. Past the end every read gives zeros / nothing, so any input
 * decodes to something. */
typedef struct fuzz_in {
    const uint8_t *p, *end;
} fuzz_in;

static inline size_t fuzz_left(const fuzz_in *in) { return (size_t)(in->end - in->p); }
static inline uint8_t fuzz_u8(fuzz_in *in) { return in->p < in->end ? *in->p++ : 0; }
static inline uint16_t fuzz_u16(fuzz_in *in)
{
    uint16_t lo = fuzz_u8(in);
    return (uint16_t)(lo | (uint16_t)fuzz_u8(in) << 8);
}
/* Up to want bytes (fewer at the end of the input); *got says how many. */
const uint8_t *fuzz_bytes(fuzz_in *in, size_t want, size_t *got);

/* The writing side, for seeds: appends a u8, a u16 or bytes to b (fails the process on
 * out of memory). */
void fuzz_put_u8(am_buf *b, unsigned v);
void fuzz_put_u16(am_buf *b, unsigned v);
void fuzz_put_bytes(am_buf *b, const void *p, size_t n);

/* ---- the databases ------------------------------------------------------------------ */

/* Small options for a database target: no background thread, the smallest memtable and
 * files, small blocks and cache, a compaction at two L0 files; bloom filters when bloom is
 * set, the strategy named by the low bits of which (leveled, tiered, lazy-leveled,
 * triangular), on fuzz_env(). */
void fuzz_db_options(am_options *o, int bloom, unsigned which);

/* Reads every live key of db in order: their count, a hash of keys and values, whether the
 * keys were strictly ascending, and the iterator's status (AM_OK or AM_ERR_CORRUPT, else
 * the process stops). With check_gets, for each of the first few keys am_get must return
 * the value the iterator showed. */
typedef struct fuzz_scan {
    uint64_t n, hash;
    int sorted;
    int status;
    char first[256];             /* the first key ("fuzz" when there is none or it is
                                    longer than this) */
    size_t first_len;
} fuzz_scan;
fuzz_scan fuzz_db_scan(am_db *db, int check_gets);

/* A write after recovery: twice, puts a new value under k (kn bytes), flushes (so that
 * the second flush makes the small options compact L0), and checks that am_get returns
 * that value, so that a recovered sequence number too large or too small
 * shows (the new version must be the newest). Returns AM_OK; am_flush's AM_ERR_CORRUPT
 * when the_files_may_lie (a MANIFEST target); or am_put's refusal, which must not be a
 * corruption, I/O error or out of memory, and must come with a message (the caller then
 * checks that the database still opens). */
int fuzz_db_overwrite(am_db *db, const void *k, size_t kn, int the_files_may_lie);
/* Checks that am_get of k returns the value fuzz_db_overwrite wrote (or, when
 * the_files_may_lie, AM_ERR_CORRUPT). */
void fuzz_db_expect_written(am_db *db, const void *k, size_t kn, int the_files_may_lie);

#endif
