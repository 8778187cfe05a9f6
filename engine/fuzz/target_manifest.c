/* target_manifest.c: fuzz target "manifest": the input is the payload of one MANIFEST
 * record, decoded by edit_decode (the framing is the log format, fuzzed by target_wal.c).
 *
 * Checks: edit_decode returns AM_OK or AM_ERR_CORRUPT, and after AM_ERR_CORRUPT the edit
 * is empty. A decoded edit must encode (edit_encode asserts what the decoder promises:
 * levels, key lengths, the strategy name) and decode again to the same edit.
 * Seeds: the records of MANIFESTs written by a database (a new one, flushes, a compaction),
 * and edits made field by field. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz_util.h"
#include "util/hash.h"
#include "version/edit.h"
#include "version/version.h"
#include "wal/wal.h"

const char fuzz_target_name[] = "manifest";

static int same_desc(const seg_desc *a, const seg_desc *b)
{
    return a->id == b->id && a->level == b->level && a->run == b->run && a->tag == b->tag &&
           a->bytes == b->bytes && a->entries == b->entries && a->deletions == b->deletions &&
           a->min_seq == b->min_seq && a->max_seq == b->max_seq && a->reads == b->reads &&
           a->writes == b->writes && a->smallest_len == b->smallest_len &&
           a->largest_len == b->largest_len &&
           memcmp(a->smallest, b->smallest, a->smallest_len) == 0 &&
           memcmp(a->largest, b->largest, a->largest_len) == 0;
}

static int same_edit(const version_edit *a, const version_edit *b)
{
    if (a->has_log_number != b->has_log_number || a->has_next_file != b->has_next_file ||
        a->has_last_seq != b->has_last_seq || a->has_strategy != b->has_strategy ||
        a->ndeleted != b->ndeleted || a->nadded != b->nadded)
        return 0;
    if ((a->has_log_number && a->log_number != b->log_number) ||
        (a->has_next_file && a->next_file != b->next_file) ||
        (a->has_last_seq && a->last_seq != b->last_seq) ||
        (a->has_strategy && strcmp(a->strategy, b->strategy) != 0))
        return 0;
    for (size_t i = 0; i < a->ndeleted; i++)
        if (a->deleted[i].level != b->deleted[i].level || a->deleted[i].id != b->deleted[i].id)
            return 0;
    for (size_t i = 0; i < a->nadded; i++)
        if (!same_desc(&a->added[i], &b->added[i])) return 0;
    return 1;
}

static int is_empty(const version_edit *e)
{
    return !e->has_log_number && !e->has_next_file && !e->has_last_seq && !e->has_strategy &&
           e->ndeleted == 0 && e->nadded == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    version_edit e, again;
    edit_init(&e);
    edit_init(&again);
    int rc = edit_decode(&e, (const char *)data, size);
    FUZZ_CHECK(rc == AM_OK || rc == AM_ERR_CORRUPT, "edit_decode: %s", am_strerror(rc));
    if (rc != AM_OK) {
        FUZZ_CHECK(is_empty(&e), "a failed decode left fields in the edit");
        edit_clear(&e);
        return 0;
    }
    am_buf buf;
    buf_init(&buf);
    FUZZ_CHECK(edit_encode(&e, &buf) == AM_OK, "edit_encode of a decoded edit");
    rc = edit_decode(&again, buf.data ? buf.data : "", buf.len);
    FUZZ_CHECK(rc == AM_OK, "a decoded edit, encoded again, does not decode: %s",
               am_strerror(rc));
    FUZZ_CHECK(same_edit(&e, &again), "decode(encode(edit)) differs from the edit");
    buf_free(&buf);
    edit_clear(&e);
    edit_clear(&again);
    return 0;
}

/* ---- seeds ---- */

/* Hashes of the records written as seeds so far: a record already written is skipped. */
static uint64_t written[64];
static size_t nwritten;

/* Writes every record of the MANIFEST at path not written before as a seed named
 * prefix-<i>. */
static void records_of(const char *path, const char *corpus_dir, const char *prefix)
{
    wal_reader *r = NULL;
    FUZZ_CHECK(wal_reader_open(fuzz_env(), path, &r) == AM_OK, "wal_reader_open %s", path);
    const char *rec;
    size_t n;
    for (int i = 0; wal_reader_next(r, &rec, &n) == AM_OK; i++) {
        uint64_t h = am_hash64(rec, n);
        size_t k = 0;
        while (k < nwritten && written[k] != h) k++;
        if (k < nwritten || nwritten == 64) continue;
        written[nwritten++] = h;
        char name[64];
        snprintf(name, sizeof name, "%s-%d", prefix, i);
        fuzz_put(corpus_dir, name, rec, n);
    }
    wal_reader_close(r);
}

/* The live MANIFEST of the database in dir (CURRENT names it). */
static void manifest_of(const char *dir, char *out, size_t cap)
{
    char path[700];
    snprintf(path, sizeof path, "%s/CURRENT", dir);
    size_t n;
    char *cur = fuzz_read_file(path, &n);
    FUZZ_CHECK(n > 1 && cur[n - 1] == '\n', "CURRENT");
    snprintf(out, cap, "%s/%.*s", dir, (int)(n - 1), cur);
    free(cur);
}

static void put_keys(am_db *db, int first, int n)
{
    for (int i = first; i < first + n; i++) {
        char k[16];
        int kn = snprintf(k, sizeof k, "k%04d", i);
        FUZZ_CHECK(am_put(db, k, (size_t)kn, "value", 5) == AM_OK, "am_put");
    }
}

void fuzz_generate(const char *corpus_dir, const char *regress_dir)
{
    (void)regress_dir;
    char dir[600], path[800];
    fuzz_dir(dir, sizeof dir, "seeds");
    am_options o;
    fuzz_db_options(&o, 0, 0);
    am_db *db = NULL;

    /* A new database, closed: the snapshot and the edit of its first open. */
    FUZZ_CHECK(am_open(dir, &o, &db) == AM_OK && am_close(db) == AM_OK, "a new database");
    manifest_of(dir, path, sizeof path);
    records_of(path, corpus_dir, "seed-new");

    /* Flushes and a compaction (two L0 files trigger it), then a reopen. */
    FUZZ_CHECK(am_open(dir, &o, &db) == AM_OK, "am_open");
    put_keys(db, 0, 20);
    FUZZ_CHECK(am_flush(db) == AM_OK, "am_flush");
    put_keys(db, 10, 20);
    FUZZ_CHECK(am_delete(db, "k0003", 5) == AM_OK && am_flush(db) == AM_OK, "am_flush");
    manifest_of(dir, path, sizeof path);
    records_of(path, corpus_dir, "seed-flushes");
    FUZZ_CHECK(am_close(db) == AM_OK, "am_close");
    /* A reopen writes a fresh MANIFEST: a snapshot of the live segments. */
    FUZZ_CHECK(am_open(dir, &o, &db) == AM_OK && am_close(db) == AM_OK, "a reopen");
    manifest_of(dir, path, sizeof path);
    records_of(path, corpus_dir, "seed-reopened");

    /* Edits field by field. */
    version_edit e;
    edit_init(&e);
    e.has_log_number = 1; e.log_number = 7;
    e.has_next_file = 1; e.next_file = 12;
    e.has_last_seq = 1; e.last_seq = 1000;
    e.has_strategy = 1; strcpy(e.strategy, "tiered");
    FUZZ_CHECK(edit_delete_segment(&e, 0, 5) == AM_OK && edit_delete_segment(&e, 3, 9) == AM_OK,
               "edit_delete_segment");
    char small[16] = "aaa", large[16] = "zzz";
    memset(small + 3, 0, 8);
    memset(large + 3, 0xff, 8);
    seg_desc d = { .id = 11, .level = 2, .run = 4, .tag = AM_TAG_TIERED, .bytes = 4096,
                   .entries = 30, .deletions = 2, .min_seq = 1, .max_seq = 999, .reads = 5,
                   .writes = 6, .smallest = small, .smallest_len = 11, .largest = large,
                   .largest_len = 11 };
    FUZZ_CHECK(edit_add_segment(&e, &d) == AM_OK, "edit_add_segment");
    am_buf b;
    buf_init(&b);
    FUZZ_CHECK(edit_encode(&e, &b) == AM_OK, "edit_encode");
    fuzz_put(corpus_dir, "seed-every-field", b.data, b.len);
    edit_clear(&e);
    buf_free(&b);
    fuzz_put(corpus_dir, "seed-empty", "", 0);
    fuzz_empty_dir(dir);
}
