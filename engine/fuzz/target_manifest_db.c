/* target_manifest_db.c: fuzz target "manifest_db": recovery from a MANIFEST. The input's
 * records are framed by the real wal_writer (valid checksums) into MANIFEST-000001 of a
 * database directory, CURRENT names it, and the SSTables it may name are present or
 * absent as the input says; then am_open (vset_recover: replay, open every segment,
 * version_build; WAL recovery; inline compaction), a scan, am_compact, am_close.
 *
 * The SSTables come from a library made once per process by a real database (four
 * flushes of overlapping and disjoint key ranges and a deletion, then a compaction into
 * L1): each keeps its own file number, and bit i of the input's first byte puts library
 * file i (in file-number order) into the directory.
 *
 * Input:
 *   present (1 byte)   bit i: library SSTable i is in the directory
 *   options (1 byte)   bit 0 bloom filters, bits 1..3 the strategy (fuzz_db_options),
 *                      bits 4..7: if not 0, an empty log with that number is there too
 *   then records, each  length (2 bytes, little-endian; bit 15: flip a bit of the
 *                      record's checksum once written) | payload (an encoded version edit)
 *
 * Checks: am_open returns AM_OK or AM_ERR_CORRUPT with a message naming the directory; a
 * scan, am_compact and am_close return AM_OK or a corruption (the MANIFEST may describe
 * a library file wrongly); a scan that succeeds shows its keys in order; a write (to a key
 * of two library files) and a flush succeed, and the write is the newest version of its
 * key before and after am_compact (fuzz_db_overwrite), after which a scan finds no
 * corruption that the first one did not. When all of them succeed, a second open must
 * succeed and show the same keys and values.
 * Known defects: known-add-smallest-above-largest, an ADDED field whose smallest key is
 * above its largest, naming a library file that is present (run_disjoint's assert in
 * version_build); known-add-ranges-not-the-files, two files in one run whose recorded
 * key ranges are disjoint but whose contents overlap (a scan out of order). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz_util.h"
#include "sst/sst.h"
#include "version/edit.h"
#include "version/fname.h"
#include "version/vset.h"
#include "wal/wal.h"

const char fuzz_target_name[] = "manifest_db";

#define MAX_LIB 8
#define OVERWRITE_KEY "k0099"      /* in the library's first two files */

typedef struct lib_file {
    uint64_t id;
    char *data;                  /* owned */
    size_t n;
} lib_file;

static struct {
    lib_file lib[MAX_LIB];
    size_t nlib;
    char *stage[2];              /* the library database's MANIFEST after each stage */
    size_t stage_n[2];
    char db[600];
} md;

static void md_free(void)
{
    for (size_t i = 0; i < md.nlib; i++) free(md.lib[i].data);
    md.nlib = 0;
    for (int i = 0; i < 2; i++) free(md.stage[i]);
    memset(&md, 0, sizeof md);
}

typedef struct lister {
    const char *dir;
} lister;

/* Adds every SSTable of dir not yet in the library. */
static int collect_sst(void *arg, const char *name)
{
    lister *l = arg;
    int kind;
    uint64_t id;
    if (!fname_parse(name, &kind, &id) || kind != FILE_SST) return 0;
    for (size_t i = 0; i < md.nlib; i++)
        if (md.lib[i].id == id) return 0;
    FUZZ_CHECK(md.nlib < MAX_LIB, "the library holds more than %d files", MAX_LIB);
    char path[800];
    snprintf(path, sizeof path, "%s/%s", l->dir, name);
    lib_file *f = &md.lib[md.nlib++];
    f->id = id;
    f->data = fuzz_read_file(path, &f->n);
    return 0;
}

static int cmp_lib(const void *a, const void *b)
{
    const lib_file *x = a, *y = b;
    return x->id < y->id ? -1 : x->id > y->id;
}

static char *live_manifest(const char *dir, size_t *n)
{
    char path[700];
    snprintf(path, sizeof path, "%s/CURRENT", dir);
    size_t cn;
    char *cur = fuzz_read_file(path, &cn);
    FUZZ_CHECK(cn > 1 && cur[cn - 1] == '\n', "CURRENT");
    snprintf(path, sizeof path, "%s/%.*s", dir, (int)(cn - 1), cur);
    free(cur);
    return fuzz_read_file(path, n);
}

static void put_range(am_db *db, int first, int n, const char *tag)
{
    for (int i = first; i < first + n; i++) {
        char k[16], v[32];
        int kn = snprintf(k, sizeof k, "k%04d", i), vn = snprintf(v, sizeof v, "%s-%d", tag, i);
        FUZZ_CHECK(am_put(db, k, (size_t)kn, v, (size_t)vn) == AM_OK, "am_put");
    }
}

/* The library: stage 0, four L0 files (k0000..0099, k0050..0149 newer, k0200..0249, and
 * deletions of k0000..0019 with k0300..0309); stage 1, a reopen that merges L0 into L1. */
static void md_init(void)
{
    if (md.db[0]) return;
    char dir[600];
    fuzz_dir(dir, sizeof dir, "library");
    lister l = { dir };
    am_options o;
    fuzz_db_options(&o, 1, 0);
    o.l0_compaction_trigger = 100;       /* stage 0 keeps every flush in L0 */
    am_db *db = NULL;
    FUZZ_CHECK(am_open(dir, &o, &db) == AM_OK, "am_open of the library");
    put_range(db, 0, 100, "a");
    FUZZ_CHECK(am_flush(db) == AM_OK, "am_flush");
    put_range(db, 50, 100, "b");
    FUZZ_CHECK(am_flush(db) == AM_OK, "am_flush");
    put_range(db, 200, 50, "c");
    FUZZ_CHECK(am_flush(db) == AM_OK, "am_flush");
    for (int i = 0; i < 20; i++) {
        char k[16];
        int kn = snprintf(k, sizeof k, "k%04d", i);
        FUZZ_CHECK(am_delete(db, k, (size_t)kn) == AM_OK, "am_delete");
    }
    put_range(db, 300, 10, "d");
    FUZZ_CHECK(am_flush(db) == AM_OK, "am_flush");
    FUZZ_CHECK(am_close(db) == AM_OK, "am_close");
    am_env *env = fuzz_env();
    FUZZ_CHECK(env->ops->list_dir(env, dir, collect_sst, &l) == AM_OK, "list_dir");
    md.stage[0] = live_manifest(dir, &md.stage_n[0]);

    o.l0_compaction_trigger = 2;
    FUZZ_CHECK(am_open(dir, &o, &db) == AM_OK, "reopen of the library");
    FUZZ_CHECK(am_compact(db) == AM_OK && am_close(db) == AM_OK, "compaction of the library");
    FUZZ_CHECK(env->ops->list_dir(env, dir, collect_sst, &l) == AM_OK, "list_dir");
    md.stage[1] = live_manifest(dir, &md.stage_n[1]);
    qsort(md.lib, md.nlib, sizeof md.lib[0], cmp_lib);
    fuzz_empty_dir(dir);
    fuzz_dir(md.db, sizeof md.db, "db");
    fuzz_at_exit(md_free);
}

/* Writes the directory the input describes. */
static void write_db(fuzz_in *in, unsigned present, unsigned opt)
{
    char path[800];
    for (size_t i = 0; i < md.nlib; i++) {
        if (!(present & 1u << i)) continue;
        fname_sst(path, sizeof path, md.db, md.lib[i].id);
        fuzz_write_file(path, md.lib[i].data, md.lib[i].n);
    }
    if (opt >> 4) {
        fname_wal(path, sizeof path, md.db, opt >> 4);
        fuzz_write_file(path, "", 0);
    }
    snprintf(path, sizeof path, "%s/MANIFEST-000001", md.db);
    wal_writer *w = NULL;
    FUZZ_CHECK(wal_writer_open(fuzz_env(), path, &w) == AM_OK, "wal_writer_open");
    uint64_t flip[64];
    size_t nflip = 0;
    while (fuzz_left(in) > 0) {
        unsigned len = fuzz_u16(in);
        size_t n;
        const uint8_t *p = fuzz_bytes(in, len & 0x7fff, &n);
        if ((len & 0x8000) && nflip < 64) flip[nflip++] = wal_writer_size(w);
        FUZZ_CHECK(wal_writer_add(w, p, n) == AM_OK, "wal_writer_add");
    }
    FUZZ_CHECK(wal_writer_close(w) == AM_OK, "wal_writer_close");
    if (nflip) {
        size_t n;
        char *data = fuzz_read_file(path, &n);
        for (size_t i = 0; i < nflip; i++) data[flip[i]] ^= 0x20;
        fuzz_write_file(path, data, n);
        free(data);
    }
    fuzz_put(md.db, "CURRENT", "MANIFEST-000001\n", 16);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    md_init();
    fuzz_empty_dir(md.db);
    fuzz_in in = { data, data + size };
    unsigned present = fuzz_u8(&in), opt = fuzz_u8(&in);
    write_db(&in, present, opt);

    am_options o;
    fuzz_db_options(&o, opt & 1, (opt >> 1) & 7);
    char msg[600] = "";
    am_db *db = NULL;
    int rc = am_open_msg(md.db, &o, &db, msg, sizeof msg);
    FUZZ_CHECK(rc == AM_OK || rc == AM_ERR_CORRUPT, "am_open: %s (%s)", am_strerror(rc), msg);
    if (rc != AM_OK) {
        fuzz_log("am_open: %s (%s)", am_strerror(rc), msg);
        fuzz_check_named(rc, msg, md.db);
        return 0;
    }
    fuzz_log("am_open: ok");
    /* Keys out of order are wrong data, whatever the MANIFEST said (am_get is not checked
       against the iterator: a MANIFEST may put newer files below older ones, which no
       check at open can rule out). */
    fuzz_scan s1 = fuzz_db_scan(db, 0);
    FUZZ_CHECK(s1.status != AM_OK || s1.sorted, "a scan after recovery shows keys out of order");
    fuzz_log("scan: %s, %llu keys", am_strerror(s1.status), (unsigned long long)s1.n);
    /* A key of two library files: the write must stay the newest through the merges. */
    int wrc = fuzz_db_overwrite(db, OVERWRITE_KEY, sizeof OVERWRITE_KEY - 1, 1);
    int refused = wrc != AM_OK && wrc != AM_ERR_CORRUPT;   /* am_put said no */
    int crc = refused ? wrc : am_compact(db);
    fuzz_log("write: %s, compact: %s", am_strerror(wrc), am_strerror(crc));
    FUZZ_CHECK(refused || crc == AM_OK || crc == AM_ERR_CORRUPT || crc == AM_ERR_READONLY,
               "am_compact: %s", am_strerror(crc));
    if (wrc == AM_OK && crc == AM_OK) {
        fuzz_db_expect_written(db, OVERWRITE_KEY, sizeof OVERWRITE_KEY - 1, 1);
        int before = s1.status;
        s1 = fuzz_db_scan(db, 0);
        /* The first scan read every live file without error, and since then the engine
           has only written files of its own: nothing may read as corrupt now. */
        FUZZ_CHECK(before != AM_OK || s1.status == AM_OK, "a scan after a write and a "
                   "compaction finds corruption that the first scan did not (\"%s\")",
                   am_errmsg(db));
        FUZZ_CHECK(s1.status != AM_OK || s1.sorted, "a scan after a write shows keys out of order");
    }
    int close_rc = am_close(db);
    fuzz_log("close: %s", am_strerror(close_rc));
    FUZZ_CHECK(refused || close_rc == AM_OK || close_rc == AM_ERR_CORRUPT, "am_close: %s",
               am_strerror(close_rc));
    if (!refused && (s1.status != AM_OK || wrc != AM_OK || crc != AM_OK || close_rc != AM_OK))
        return 0;

    /* After a refused write nothing has changed since the first open (its own merges are
       done): the database must open again. */
    rc = am_open_msg(md.db, &o, &db, msg, sizeof msg);
    FUZZ_CHECK(rc == AM_OK, "the second open fails: %s (%s)", am_strerror(rc), msg);
    if (refused) {
        FUZZ_CHECK(am_close(db) == AM_OK, "am_close after the second open");
        return 0;
    }
    fuzz_scan s2 = fuzz_db_scan(db, 0);
    fuzz_log("second open: ok, scan: %s, %llu keys (first: %llu)", am_strerror(s2.status),
             (unsigned long long)s2.n, (unsigned long long)s1.n);
    FUZZ_CHECK(s2.status == AM_OK && s2.n == s1.n && s2.hash == s1.hash,
               "after a compaction and a reopen the data differ (%llu keys, then %llu)",
               (unsigned long long)s1.n, (unsigned long long)s2.n);
    FUZZ_CHECK(am_close(db) == AM_OK, "am_close after the second open");
    return 0;
}

/* ---- seeds ---- */

/* present, options, then every record of a MANIFEST's bytes, re-framed as input records. */
static void seed_of_manifest(am_buf *in, unsigned present, unsigned opt, const char *m,
                             size_t n)
{
    char path[700];
    char dir[600];
    fuzz_dir(dir, sizeof dir, "seedm");
    snprintf(path, sizeof path, "%s/MANIFEST", dir);
    fuzz_write_file(path, m, n);
    fuzz_put_u8(in, present);
    fuzz_put_u8(in, opt);
    wal_reader *r = NULL;
    FUZZ_CHECK(wal_reader_open(fuzz_env(), path, &r) == AM_OK, "wal_reader_open");
    const char *rec;
    size_t rn;
    while (wal_reader_next(r, &rec, &rn) == AM_OK) {
        fuzz_put_u16(in, (unsigned)rn);
        fuzz_put_bytes(in, rec, rn);
    }
    wal_reader_close(r);
    fuzz_empty_dir(dir);
}

/* An ADDED field: library file f at level / run, claiming the user keys [smallest,
 * largest] (each with trailer 0). */
static void add_desc(version_edit *e, const lib_file *f, int level, uint64_t run,
                     const char *smallest, const char *largest)
{
    char s[32], l[32];
    size_t sn = strlen(smallest), ln = strlen(largest);
    memcpy(s, smallest, sn);
    memset(s + sn, 0, 8);
    memcpy(l, largest, ln);
    memset(l + ln, 0, 8);
    seg_desc d = { .id = f->id, .level = level, .run = run, .bytes = f->n, .entries = 1,
                   .min_seq = 1, .max_seq = 1000, .smallest = s, .smallest_len = sn + 8,
                   .largest = l, .largest_len = ln + 8 };
    FUZZ_CHECK(edit_add_segment(e, &d) == AM_OK, "edit_add_segment");
}

/* An ADDED field for library file i exactly as the file describes itself (its size and
 * properties), at level / run. */
static void add_true_desc(version_edit *e, size_t i, int level, uint64_t run)
{
    char path[800];
    fname_sst(path, sizeof path, md.db, md.lib[i].id);
    fuzz_write_file(path, md.lib[i].data, md.lib[i].n);
    sst_reader *r = NULL;
    FUZZ_CHECK(sst_reader_open(fuzz_env(), path, md.lib[i].id, NULL, &r) == AM_OK,
               "a library file does not open");
    const sst_file_info *pi = sst_reader_props(r);
    seg_desc d = { .id = md.lib[i].id, .level = level, .run = run, .bytes = pi->file_bytes,
                   .entries = pi->entries, .deletions = pi->deletions,
                   .min_seq = pi->min_seq, .max_seq = pi->max_seq,
                   .smallest = pi->smallest, .smallest_len = pi->smallest_len,
                   .largest = pi->largest, .largest_len = pi->largest_len };
    FUZZ_CHECK(edit_add_segment(e, &d) == AM_OK, "edit_add_segment");
    sst_reader_free(r);
    fuzz_empty_dir(md.db);
}

/* Appends e, with the fields a first record needs, as one input record. */
static void put_edit(am_buf *in, version_edit *e, uint64_t next_file, uint64_t last_seq)
{
    e->has_next_file = 1; e->next_file = next_file;
    e->has_strategy = 1; strcpy(e->strategy, "leveled");
    e->has_log_number = 1; e->log_number = 0;
    e->has_last_seq = 1; e->last_seq = last_seq;
    am_buf b;
    buf_init(&b);
    FUZZ_CHECK(edit_encode(e, &b) == AM_OK, "edit_encode");
    fuzz_put_u16(in, (unsigned)b.len);
    fuzz_put_bytes(in, b.data, b.len);
    buf_free(&b);
    edit_clear(e);
}

/* One input: present, options 0, one edit adding library file 0 as it is, at level,
 * with the counters given. */
static void put_one_file(am_buf *in, int level, uint64_t next_file, uint64_t last_seq)
{
    version_edit e;
    edit_init(&e);
    buf_clear(in);
    fuzz_put_u8(in, 1);
    fuzz_put_u8(in, 0);
    add_true_desc(&e, 0, level, 1);
    put_edit(in, &e, next_file, last_seq);
}

void fuzz_generate(const char *corpus_dir, const char *regress_dir)
{
    md_init();
    am_buf in;
    buf_init(&in);
    unsigned all = (1u << md.nlib) - 1;
    seed_of_manifest(&in, all, 0, md.stage[0], md.stage_n[0]);
    fuzz_put(corpus_dir, "seed-l0", in.data, in.len);
    buf_clear(&in);
    seed_of_manifest(&in, all, 1 | 1 << 1, md.stage[1], md.stage_n[1]);
    fuzz_put(corpus_dir, "seed-l1-tiered", in.data, in.len);
    buf_clear(&in);
    seed_of_manifest(&in, all & ~1u, 0, md.stage[0], md.stage_n[0]);    /* one file missing */
    fuzz_put(corpus_dir, "seed-missing", in.data, in.len);
    buf_clear(&in);
    seed_of_manifest(&in, all, 3 << 4, md.stage[1], md.stage_n[1]);     /* and a log */
    fuzz_put(corpus_dir, "seed-with-log", in.data, in.len);

    /* Known defect: library file 0, present, added with smallest "k9" > largest "k0". */
    version_edit e;
    edit_init(&e);
    buf_clear(&in);
    fuzz_put_u8(&in, 1);
    fuzz_put_u8(&in, 0);
    add_desc(&e, &md.lib[0], 1, 1, "k9", "k0");
    put_edit(&in, &e, 100, 10000);
    fuzz_put(regress_dir, "known-add-smallest-above-largest", in.data, in.len);

    /* Known defect (found by this target): library files 0 (k0000..k0099) and 1
       (k0050..k0149) added to one L1 run claiming the disjoint ranges k0000..k0049 and
       k0050..k0149. Nothing compares the claims with the files' own properties: the run
       is read as one sorted sequence, so a scan shows k0050..k0099 twice, first with
       file 0's older values (am_get, going by the claimed ranges, finds file 1's). */
    buf_clear(&in);
    fuzz_put_u8(&in, 3);
    fuzz_put_u8(&in, 0);
    add_desc(&e, &md.lib[0], 1, 1, "k0000", "k0049");
    add_desc(&e, &md.lib[1], 1, 1, "k0050", "k0149");
    put_edit(&in, &e, 100, 10000);
    fuzz_put(regress_dir, "known-add-ranges-not-the-files", in.data, in.len);

    /* Known defects (found with this target), each with library file 0 (k0000..k0099,
       sequences 1..100) described exactly as the file describes itself:
       - LAST_SEQ 5, below the file's sequences: recovery keeps it, so the next writes
         reuse sequences 6, 7 and the file's k0099 (sequence 100) shadows them; once a
         compaction merges them the write is gone (am_get: not found);
       - LAST_SEQ 2^64 - 1, above AM_MAX_SEQ: the next write's sequence wraps to 0, the
         same loss;
       - LAST_SEQ AM_MAX_SEQ: the next write's sequence does not fit; am_put appends it
         to the log, then fails with AM_ERR_CORRUPT and no message, and the next am_open
         refuses the log ("malformed write batch"): the database no longer opens;
       - NEXT_FILE 2^64 - 2 with the file (number 4) at L3: file numbers wrap past
         2^64 - 1 to 0, 1, ..., and the fifth file made after that, 000004.sst, is
         created over the live one (a later scan: "corrupt SSTable"). */
    put_one_file(&in, 0, 100, 5);
    fuzz_put(regress_dir, "known-last-seq-below-the-files", in.data, in.len);
    put_one_file(&in, 0, 100, UINT64_MAX);
    fuzz_put(regress_dir, "known-last-seq-above-max", in.data, in.len);
    put_one_file(&in, 0, 100, (UINT64_C(1) << 56) - 1);
    fuzz_put(regress_dir, "known-last-seq-at-max", in.data, in.len);
    put_one_file(&in, 3, UINT64_MAX - 1, 10000);
    fuzz_put(regress_dir, "known-next-file-wraps", in.data, in.len);
    buf_free(&in);
}
