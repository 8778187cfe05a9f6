/* target_wal_db.c: fuzz target "wal_db": WAL replay into a database. The input is split
 * into records that the real wal_writer frames (valid checksums) into the logs of a fresh
 * database directory (made once by am_open and am_close, then copied), which am_open then
 * recovers: every log replayed into the memtable, flushed to L0, compacted inline.
 *
 * Input:
 *   options (1 byte): bit 0 bloom filters, bits 1..3 the strategy (fuzz_db_options)
 *   then records, each  ctl (1 byte) | length (2 bytes, little-endian) | payload
 *     ctl & 3    the log it goes to: 000002.log (the fresh database's own) + (ctl & 3)
 *     ctl & 4    flip a bit of its checksum once written (a damaged record)
 *     ctl & 8    cut its log in the middle of this record (a torn tail; what follows in
 *                that log is lost)
 *     ctl & 16   stamp the payload (a write batch) with the sequence after the previous
 *                stamped batch's records, as the engine would
 *
 * Checks: am_open returns AM_OK or AM_ERR_CORRUPT with a message naming the directory.
 * After a successful open, every file is the engine's own: a scan must succeed with keys
 * in order and agree with am_get; a write and a flush must succeed and the write be the
 * newest version of its key (fuzz_db_overwrite); close must succeed, and a second open
 * must succeed and show exactly the same keys and values.
 * Known defects: known-duplicate-record, one checksum-valid record twice (the same batch,
 * the same sequence), which replay inserts twice into the memtable (skl_insert's assert);
 * known-batch-at-max-seq, a batch at the last sequence number, after which no write fits. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "fuzz/fuzz_util.h"
#include "wal/wal.h"

const char fuzz_target_name[] = "wal_db";

#define NLOGS 4
#define FIRST_LOG 2

static struct {
    char *current, *manifest;    /* the fresh database's CURRENT and MANIFEST-000001 */
    size_t current_n, manifest_n;
    char db[600];
} wd;

static void wd_free(void)
{
    free(wd.current);
    free(wd.manifest);
    wd.current = wd.manifest = NULL;
}

static void wd_init(void)
{
    if (wd.current) return;
    char tmpl[600], path[700];
    fuzz_dir(tmpl, sizeof tmpl, "template");
    am_options o;
    fuzz_db_options(&o, 0, 0);
    am_db *db = NULL;
    FUZZ_CHECK(am_open(tmpl, &o, &db) == AM_OK, "am_open of a fresh database");
    FUZZ_CHECK(am_close(db) == AM_OK, "am_close of a fresh database");
    snprintf(path, sizeof path, "%s/CURRENT", tmpl);
    wd.current = fuzz_read_file(path, &wd.current_n);
    FUZZ_CHECK(wd.current_n == 16 && memcmp(wd.current, "MANIFEST-000001\n", 16) == 0,
               "a fresh database names another MANIFEST");
    snprintf(path, sizeof path, "%s/MANIFEST-000001", tmpl);
    wd.manifest = fuzz_read_file(path, &wd.manifest_n);
    fuzz_empty_dir(tmpl);
    fuzz_at_exit(wd_free);
}

typedef struct damage {
    int log;
    uint64_t off;
    int cut;                     /* 1: truncate the log at off; 0: flip a bit at off */
} damage;

static void log_path(char *out, size_t cap, int log)
{
    snprintf(out, cap, "%s/%06d.log", wd.db, FIRST_LOG + log);
}

/* Writes the logs described by the input; applies the damage once they are closed. */
static void write_logs(fuzz_in *in)
{
    wal_writer *w[NLOGS] = { 0 };
    damage *dmg = NULL;
    size_t ndmg = 0, cap = 0;
    uint64_t next_seq = 1;
    am_buf stamped;
    buf_init(&stamped);
    while (fuzz_left(in) > 0) {
        unsigned ctl = fuzz_u8(in);
        size_t n;
        const uint8_t *p = fuzz_bytes(in, fuzz_u16(in), &n);
        int log = (int)(ctl & 3);
        char path[700];
        if (!w[log]) {
            log_path(path, sizeof path, log);
            FUZZ_CHECK(wal_writer_open(fuzz_env(), path, &w[log]) == AM_OK, "wal_writer_open");
        }
        const void *payload = p;
        if ((ctl & 16) && n >= BATCH_HEADER) {
            buf_clear(&stamped);
            fuzz_put_bytes(&stamped, p, n);
            batch_set_seq(stamped.data, next_seq);
            next_seq += batch_count(stamped.data);
            payload = stamped.data;
        }
        uint64_t off = wal_writer_size(w[log]);
        FUZZ_CHECK(wal_writer_add(w[log], payload, n) == AM_OK, "wal_writer_add");
        if (ctl & 12) {
            if (ndmg + 2 > cap) {
                cap = cap ? 2 * cap : 16;
                dmg = realloc(dmg, cap * sizeof *dmg);
                FUZZ_CHECK(dmg != NULL, "out of memory");
            }
            if (ctl & 4) dmg[ndmg++] = (damage){ log, off, 0 };
            if (ctl & 8) dmg[ndmg++] = (damage){ log, off + (WAL_HEADER + n) / 2, 1 };
        }
    }
    for (int i = 0; i < NLOGS; i++)
        if (w[i]) FUZZ_CHECK(wal_writer_close(w[i]) == AM_OK, "wal_writer_close");
    for (size_t i = 0; i < ndmg; i++) {
        char path[700];
        log_path(path, sizeof path, dmg[i].log);
        size_t n;
        char *data = fuzz_read_file(path, &n);
        if (dmg[i].off < n) {
            if (dmg[i].cut) n = (size_t)dmg[i].off;
            else data[dmg[i].off] ^= 0x20;
            fuzz_write_file(path, data, n);
        }
        free(data);
    }
    free(dmg);
    buf_free(&stamped);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wd_init();
    fuzz_dir(wd.db, sizeof wd.db, "db");
    fuzz_put(wd.db, "CURRENT", wd.current, wd.current_n);
    fuzz_put(wd.db, "MANIFEST-000001", wd.manifest, wd.manifest_n);
    fuzz_in in = { data, data + size };
    unsigned opt = fuzz_u8(&in);
    write_logs(&in);

    am_options o;
    fuzz_db_options(&o, opt & 1, (opt >> 1) & 7);
    char msg[600] = "";
    am_db *db = NULL;
    int rc = am_open_msg(wd.db, &o, &db, msg, sizeof msg);
    FUZZ_CHECK(rc == AM_OK || rc == AM_ERR_CORRUPT, "am_open: %s (%s)", am_strerror(rc), msg);
    if (rc != AM_OK) {
        fuzz_log("am_open: %s (%s)", am_strerror(rc), msg);
        fuzz_check_named(rc, msg, wd.db);
        return 0;
    }
    fuzz_log("am_open: ok");
    fuzz_scan s1 = fuzz_db_scan(db, 1);
    FUZZ_CHECK(s1.status == AM_OK && s1.sorted, "a scan after recovery: %s, %s",
               am_strerror(s1.status), s1.sorted ? "in order" : "out of order");
    fuzz_log("scan: %llu keys", (unsigned long long)s1.n);
    int wrc = fuzz_db_overwrite(db, s1.first, s1.first_len, 0);
    fuzz_log("write after recovery: %s", am_strerror(wrc));
    if (wrc == AM_OK) {
        s1 = fuzz_db_scan(db, 1);
        FUZZ_CHECK(s1.status == AM_OK && s1.sorted, "a scan after a write: %s, %s",
                   am_strerror(s1.status), s1.sorted ? "in order" : "out of order");
    }
    rc = am_close(db);
    FUZZ_CHECK(rc == AM_OK || wrc != AM_OK, "am_close after recovery: %s", am_strerror(rc));

    rc = am_open_msg(wd.db, &o, &db, msg, sizeof msg);
    FUZZ_CHECK(rc == AM_OK, "the second open fails: %s (%s)", am_strerror(rc), msg);
    if (wrc != AM_OK) {                 /* a refused write: the database still opens */
        FUZZ_CHECK(am_close(db) == AM_OK, "am_close after the second open");
        return 0;
    }
    fuzz_scan s2 = fuzz_db_scan(db, 1);
    FUZZ_CHECK(s2.status == AM_OK && s2.n == s1.n && s2.hash == s1.hash,
               "the second open shows other data (%llu keys, then %llu)",
               (unsigned long long)s1.n, (unsigned long long)s2.n);
    rc = am_close(db);
    FUZZ_CHECK(rc == AM_OK, "am_close after the second open: %s", am_strerror(rc));
    return 0;
}

/* ---- seeds ---- */

/* Appends a record: ctl, length, then an encoded batch of n puts from key first (a
 * deletion every fourth), stamped with seq. Returns the batch's count. */
static uint32_t put_record(am_buf *in, unsigned ctl, uint64_t seq, int first, int n, int vlen)
{
    am_batch *b = am_batch_new();
    FUZZ_CHECK(b != NULL, "out of memory");
    char v[256];
    memset(v, 'v', sizeof v);
    for (int i = first; i < first + n; i++) {
        char k[16];
        int kn = snprintf(k, sizeof k, "k%05d", i);
        int rc = i % 4 == 3 ? am_batch_delete(b, k, (size_t)kn)
                            : am_batch_put(b, k, (size_t)kn, v, (size_t)vlen);
        FUZZ_CHECK(rc == AM_OK, "am_batch");
    }
    batch_set_seq(b->rep.data, seq);
    fuzz_put_u8(in, ctl);
    fuzz_put_u16(in, (unsigned)b->rep.len);
    fuzz_put_bytes(in, b->rep.data, b->rep.len);
    uint32_t count = batch_count(b->rep.data);
    am_batch_free(b);
    return count;
}

void fuzz_generate(const char *corpus_dir, const char *regress_dir)
{
    am_buf in;
    buf_init(&in);
    uint64_t seq;

    /* One log, three batches in sequence; then the same stamped by the target. */
    fuzz_put_u8(&in, 0);
    seq = 1;
    for (int i = 0; i < 3; i++) seq += put_record(&in, 0, seq, i * 5, 5, 8);
    fuzz_put(corpus_dir, "seed-one-log", in.data, in.len);
    buf_clear(&in);
    fuzz_put_u8(&in, 1 | 1 << 1);               /* bloom, tiered */
    for (int i = 0; i < 3; i++) put_record(&in, 16, 0, i * 3, 4, 3);
    fuzz_put(corpus_dir, "seed-stamped", in.data, in.len);

    /* Two logs (the second newer), overwriting keys of the first. */
    buf_clear(&in);
    fuzz_put_u8(&in, 0);
    seq = 1;
    seq += put_record(&in, 0, seq, 0, 10, 4);
    seq += put_record(&in, 1, seq, 5, 10, 6);
    seq += put_record(&in, 1, seq, 12, 3, 0);
    fuzz_put(corpus_dir, "seed-two-logs", in.data, in.len);

    /* A torn last record, and a damaged one with a record after it. */
    buf_clear(&in);
    fuzz_put_u8(&in, 2 << 1);                   /* lazy-leveled */
    seq = 1;
    seq += put_record(&in, 0, seq, 0, 6, 4);
    seq += put_record(&in, 8, seq, 6, 6, 4);
    fuzz_put(corpus_dir, "seed-torn", in.data, in.len);
    buf_clear(&in);
    fuzz_put_u8(&in, 0);
    seq = 1;
    seq += put_record(&in, 4, seq, 0, 6, 4);
    seq += put_record(&in, 0, seq, 6, 6, 4);
    fuzz_put(corpus_dir, "seed-damaged", in.data, in.len);

    /* Enough to fill the 64 KiB memtable during replay (a flush mid-log), over two logs. */
    buf_clear(&in);
    fuzz_put_u8(&in, 1 | 3 << 1);               /* bloom, triangular */
    seq = 1;
    for (int i = 0; i < 6; i++) seq += put_record(&in, i < 3 ? 0 : 2, seq, i * 300, 400, 2);
    fuzz_put(corpus_dir, "seed-flush", in.data, in.len);

    /* Known defect: the same checksum-valid record twice. */
    buf_clear(&in);
    fuzz_put_u8(&in, 0);
    put_record(&in, 0, 1, 0, 1, 1);
    put_record(&in, 0, 1, 0, 1, 1);
    fuzz_put(regress_dir, "known-duplicate-record", in.data, in.len);

    /* Known defect (found with this target): a checksum-valid batch whose one record takes
       sequence AM_MAX_SEQ, the largest there is. Replay accepts it, so the next write's
       sequence does not fit: am_put appends it to the log, then fails with AM_ERR_CORRUPT
       and no message, and the next am_open refuses that log ("malformed write batch"). */
    buf_clear(&in);
    fuzz_put_u8(&in, 0);
    put_record(&in, 0, (UINT64_C(1) << 56) - 1, 0, 1, 1);
    fuzz_put(regress_dir, "known-batch-at-max-seq", in.data, in.len);
    buf_free(&in);
}
