/* target_sst_framed.c: fuzz target "sst_framed": the input describes an SSTable in the
 * framed format of fuzz_sst.h (data blocks as entries or raw contents, and optionally the
 * index, properties and filter blocks); the target writes it with valid checksums and
 * footer, so that mutations reach the block, index, filter and properties decoders instead
 * of failing a checksum, then runs the walk of the raw target (fuzz_sst_exercise).
 * Seeds: the framed equivalents of the raw target's seeds, and files described entry by
 * entry. Known defect: known-out-of-order-merge, as in target_sst.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz_sst.h"
#include "fuzz/fuzz_util.h"
#include "util/ikey.h"

const char fuzz_target_name[] = "sst_framed";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char dir[600], path[700];
    fuzz_dir(dir, sizeof dir, "sst");
    snprintf(path, sizeof path, "%s/000007.sst", dir);
    am_buf file;
    buf_init(&file);
    fuzz_sst_frame_build(data, size, &file);
    fuzz_write_file(path, file.data, file.len);
    buf_free(&file);
    fuzz_sst_exercise(path, (unsigned)size & 3);
    return 0;
}

/* Appends an entry of an ENTRIES body. */
static void put_entry(am_buf *b, const char *ukey, unsigned seq, unsigned kind, const char *v)
{
    fuzz_put_u8(b, (unsigned)strlen(ukey));
    fuzz_put_bytes(b, ukey, strlen(ukey));
    fuzz_put_u8(b, seq);
    fuzz_put_u8(b, kind);
    fuzz_put_u8(b, (unsigned)strlen(v));
    fuzz_put_bytes(b, v, strlen(v));
}

/* nblocks ENTRIES sections of per keys each (ascending; a few with two versions, a few
 * deletions), restart stride p + 1, then a BLOOM section when bloom. */
static void entries_seed(const char *dir, const char *name, int nblocks, int per, unsigned p,
                         int bloom)
{
    am_buf in, body;
    buf_init(&in);
    buf_init(&body);
    int k = 0;
    for (int bl = 0; bl < nblocks; bl++) {
        buf_clear(&body);
        for (int i = 0; i < per; i++, k++) {
            char key[16];
            snprintf(key, sizeof key, "key%03d", k);
            put_entry(&body, key, 200 - (unsigned)k, k % 7 == 3 ? AM_KIND_DELETE : AM_KIND_VALUE,
                      k % 7 == 3 ? "" : "value");
            if (k % 5 == 0) put_entry(&body, key, 100 - (unsigned)k, AM_KIND_VALUE, "old");
        }
        fuzz_sst_put_section(&in, 0 | p << 3, body.data, body.len);
    }
    if (bloom) fuzz_sst_put_section(&in, 5 | 9u << 3, NULL, 0);
    fuzz_put(dir, name, in.data, in.len);
    buf_free(&in);
    buf_free(&body);
}

static const uint8_t out_of_order[] = {
    0x00, 10, 0,                     /* ENTRIES, stride 1, 10 bytes */
    1, 'b', 2, 1, 1, 'x',            /* "b" seq 2 value "x" */
    1, 'a', 1, 1, 1, 'y',            /* "a" seq 1 value "y" */
};

void fuzz_generate(const char *corpus_dir, const char *regress_dir)
{
    fuzz_blob seeds[FUZZ_SST_SEEDS];
    fuzz_sst_seed_files(seeds);
    for (int i = 0; i < FUZZ_SST_SEEDS; i++) {
        char name[400];
        am_buf framed;
        buf_init(&framed);
        fuzz_sst_frame_of_file(seeds[i].data, seeds[i].n, &framed);
        snprintf(name, sizeof name, "seed-raw-%s", seeds[i].name);
        fuzz_put(corpus_dir, name, framed.data, framed.len);
        buf_free(&framed);
        free(seeds[i].data);
    }
    entries_seed(corpus_dir, "seed-entries-one", 1, 6, 15, 0);
    entries_seed(corpus_dir, "seed-entries-blocks", 4, 5, 1, 1);
    entries_seed(corpus_dir, "seed-entries-stride1", 2, 8, 0, 1);
    fuzz_put(regress_dir, "known-out-of-order-merge", out_of_order, sizeof out_of_order);
}
