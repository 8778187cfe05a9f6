/* target_wal.c: fuzz target "wal": the input is the raw bytes of a log file. The target
 * reads it with wal_reader_next to the end and walks every record with batch_iterate, as
 * WAL replay does (without the memtable: target_wal_db.c replays into a database).
 *
 * Checks: the reader ends with AM_NOT_FOUND (end or torn tail) or AM_ERR_CORRUPT naming the
 * file; the records it returned are contiguous from offset 0 and end where it says the
 * valid part ends (the whole file when the tail is not torn); batch_iterate returns AM_OK
 * or AM_ERR_CORRUPT and hands the handler only records within the limits of amethyst.h.
 * Seeds: logs written by a database and by wal_writer (several records, a torn tail,
 * zeros after the last record, empty). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "fuzz/fuzz_util.h"
#include "util/hash.h"
#include "util/ikey.h"
#include "wal/wal.h"

const char fuzz_target_name[] = "wal";

typedef struct walk {
    uint64_t records;
    uint64_t hash;
} walk;

static int on_record(void *arg, uint64_t seq, int kind, const char *k, size_t kn,
                     const char *v, size_t vn)
{
    walk *w = arg;
    FUZZ_CHECK(kind == AM_KIND_VALUE || kind == AM_KIND_DELETE, "record of kind %d", kind);
    FUZZ_CHECK(seq <= AM_MAX_SEQ, "record with sequence %llu", (unsigned long long)seq);
    FUZZ_CHECK(kn >= 1 && kn <= AM_MAX_KEY_BYTES && vn <= AM_MAX_VALUE_BYTES,
               "record with a %zu-byte key and a %zu-byte value", kn, vn);
    FUZZ_CHECK(kind == AM_KIND_VALUE || vn == 0, "a deletion with a value");
    w->hash = w->hash * 31 + am_hash64(k, kn) + am_hash64(v, vn);
    w->records++;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char dir[600], path[700], msg[600];
    fuzz_dir(dir, sizeof dir, "wal");
    snprintf(path, sizeof path, "%s/000003.log", dir);
    fuzz_write_file(path, data, size);

    wal_reader *r = NULL;
    int rc = wal_reader_open(fuzz_env(), path, &r);
    FUZZ_CHECK(rc == AM_OK, "wal_reader_open: %s", am_strerror(rc));
    walk w = { 0, 0 };
    batch_handler h = { .arg = &w, .record = on_record };
    uint64_t framed = 0;
    const char *rec;
    size_t n;
    while ((rc = wal_reader_next(r, &rec, &n)) == AM_OK) {
        FUZZ_CHECK(framed + WAL_HEADER + n <= size, "a record runs past the end of the file");
        framed += WAL_HEADER + n;
        (void)am_hash64(rec, n);               /* every byte of the record is readable */
        int brc = batch_iterate(rec, n, &h);
        FUZZ_CHECK(brc == AM_OK || brc == AM_ERR_CORRUPT, "batch_iterate: %s",
                   am_strerror(brc));
    }
    FUZZ_CHECK(rc == AM_NOT_FOUND || rc == AM_ERR_CORRUPT, "wal_reader_next: %s",
               am_strerror(rc));
    if (rc == AM_ERR_CORRUPT) {
        am_env_last_error(fuzz_env(), msg, sizeof msg);
        fuzz_check_named(rc, msg, path);
    } else {
        uint64_t valid = 0;
        int torn = wal_reader_torn(r, &valid);
        FUZZ_CHECK(valid == framed, "the valid part ends at %llu, the records at %llu",
                   (unsigned long long)valid, (unsigned long long)framed);
        FUZZ_CHECK(torn ? valid < size : valid == size, "torn %d with %llu of %zu bytes valid",
                   torn, (unsigned long long)valid, size);
    }
    int again = wal_reader_next(r, &rec, &n);
    FUZZ_CHECK(again == rc, "the reader's end is not sticky: %s then %s", am_strerror(rc),
               am_strerror(again));
    wal_reader_close(r);
    return 0;
}

/* ---- seeds ---- */

/* An encoded batch of n puts (and a deletion every third) starting at key first, stamped
 * with seq; appended to out. */
static void batch_of(am_buf *out, uint64_t seq, int first, int n)
{
    am_batch *b = am_batch_new();
    FUZZ_CHECK(b != NULL, "out of memory");
    for (int i = first; i < first + n; i++) {
        char k[16], v[32];
        int kn = snprintf(k, sizeof k, "key%04d", i), vn = snprintf(v, sizeof v, "value-%d", i);
        int rc = i % 3 == 2 ? am_batch_delete(b, k, (size_t)kn)
                            : am_batch_put(b, k, (size_t)kn, v, (size_t)vn);
        FUZZ_CHECK(rc == AM_OK, "am_batch");
    }
    batch_set_seq(b->rep.data, seq);
    fuzz_put_bytes(out, b->rep.data, b->rep.len);
    am_batch_free(b);
}

/* A log written by wal_writer with nrec batches; returns its bytes in out. */
static void writer_log(const char *dir, int nrec, am_buf *out)
{
    char path[700];
    snprintf(path, sizeof path, "%s/w.log", dir);
    wal_writer *w = NULL;
    FUZZ_CHECK(wal_writer_open(fuzz_env(), path, &w) == AM_OK, "wal_writer_open");
    uint64_t seq = 1;
    for (int i = 0; i < nrec; i++) {
        am_buf b;
        buf_init(&b);
        batch_of(&b, seq, i * 4, 1 + i % 4);
        seq += 1 + (uint64_t)(i % 4);
        FUZZ_CHECK(wal_writer_add(w, b.data, b.len) == AM_OK, "wal_writer_add");
        buf_free(&b);
    }
    FUZZ_CHECK(wal_writer_close(w) == AM_OK, "wal_writer_close");
    size_t n;
    char *data = fuzz_read_file(path, &n);
    fuzz_put_bytes(out, data, n);
    free(data);
}

/* The log a database leaves behind: puts, a deletion and a batch, closed unflushed. */
static void db_log(const char *dir, am_buf *out)
{
    char db_dir[700], path[800];
    snprintf(db_dir, sizeof db_dir, "%s/db", dir);
    am_options o;
    fuzz_db_options(&o, 1, 0);
    am_db *db = NULL;
    FUZZ_CHECK(am_open(db_dir, &o, &db) == AM_OK, "am_open");
    FUZZ_CHECK(am_put(db, "apple", 5, "red", 3) == AM_OK, "am_put");
    FUZZ_CHECK(am_put(db, "banana", 6, "yellow", 6) == AM_OK, "am_put");
    FUZZ_CHECK(am_delete(db, "apple", 5) == AM_OK, "am_delete");
    am_batch *b = am_batch_new();
    FUZZ_CHECK(b && am_batch_put(b, "cherry", 6, "dark", 4) == AM_OK &&
               am_batch_put(b, "date", 4, "", 0) == AM_OK &&
               am_batch_delete(b, "banana", 6) == AM_OK, "am_batch");
    FUZZ_CHECK(am_write(db, b, 1) == AM_OK, "am_write");
    am_batch_free(b);
    FUZZ_CHECK(am_close(db) == AM_OK, "am_close");
    /* A new database takes file number 1 for its MANIFEST and 2 for its first log. */
    snprintf(path, sizeof path, "%s/000002.log", db_dir);
    size_t n;
    char *data = fuzz_read_file(path, &n);
    FUZZ_CHECK(n > 0, "the database left an empty log");
    fuzz_put_bytes(out, data, n);
    free(data);
}

void fuzz_generate(const char *corpus_dir, const char *regress_dir)
{
    (void)regress_dir;
    char dir[600];
    fuzz_dir(dir, sizeof dir, "seeds");
    am_buf b;
    buf_init(&b);

    db_log(dir, &b);
    fuzz_put(corpus_dir, "seed-db.log", b.data, b.len);

    buf_clear(&b);
    writer_log(dir, 6, &b);
    fuzz_put(corpus_dir, "seed-writer.log", b.data, b.len);
    fuzz_put(corpus_dir, "seed-torn.log", b.data, b.len - 5);      /* last record cut */
    size_t len = b.len;
    char zeros[64] = { 0 };
    fuzz_put_bytes(&b, zeros, sizeof zeros);                        /* a mapped log's reserve */
    fuzz_put(corpus_dir, "seed-zero-tail.log", b.data, b.len);
    b.len = len;
    b.data[len - 1] ^= 1;                                           /* bad last record */
    fuzz_put(corpus_dir, "seed-bad-last.log", b.data, b.len);
    fuzz_put(corpus_dir, "seed-empty.log", "", 0);
    buf_free(&b);
    fuzz_empty_dir(dir);
}
