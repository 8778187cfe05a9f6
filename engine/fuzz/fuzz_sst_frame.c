/* fuzz_sst_frame.c: the framed SSTable format of the framed target (described in
 * fuzz_sst.h): the builder that turns a framed input into a file with valid checksums and
 * footer, the converter from a real SSTable to its framed equivalent, and the seed files
 * written by the engine's real builder. */
#include "fuzz/fuzz_sst.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "amethyst.h"
#include "fuzz/fuzz_util.h"
#include "sst/block.h"
#include "sst/bloom.h"
#include "sst/sst.h"
#include "sst/sst_format.h"
#include "util/crc32c.h"
#include "util/hash.h"
#include "util/ikey.h"

enum { SEC_ENTRIES, SEC_RAW, SEC_INDEX, SEC_PROPS, SEC_FILTER, SEC_BLOOM, SEC_GAP, SEC_VERSION };

void fuzz_sst_put_section(am_buf *b, unsigned tag, const void *body, size_t n)
{
    FUZZ_CHECK(n <= 0xffff, "a section of %zu bytes", n);
    fuzz_put_u8(b, tag);
    fuzz_put_u16(b, (unsigned)n);
    fuzz_put_bytes(b, body, n);
}

/* ---- building a file ---- */

typedef struct frame {
    am_buf file;                 /* the file so far (borrowed from the caller) */
    am_buf *out;
    blk_builder index;           /* generated index */
    am_buf last;                 /* last separator added to it */
    int have_index_raw, have_props_raw, have_filter, bloom_bits;
    const uint8_t *index_raw, *props_raw, *filter_raw;
    size_t index_raw_n, props_raw_n, filter_raw_n;
    uint32_t version;
    uint64_t *hashes;            /* user keys of ENTRIES blocks, for BLOOM */
    size_t nh, caph;
    uint64_t entries, deletions, min_seq, max_seq, blocks;
    am_buf smallest, largest;
} frame;

static void put_block(am_buf *out, const char *contents, size_t n, sst_handle *h)
{
    h->off = out->len;
    h->size = n;
    char trailer[BLK_TRAILER];
    trailer[0] = (char)BLK_TYPE_RAW;
    uint32_t crc = crc32c_extend(crc32c_value(contents, n), trailer, 1);
    enc_fixed32(trailer + 1, crc32c_mask(crc));
    fuzz_put_bytes(out, contents, n);
    fuzz_put_bytes(out, trailer, BLK_TRAILER);
}

/* Adds the index entry of a data block at h whose last key is k (NULL: none known). */
static void index_add(frame *f, const char *k, size_t kn, const sst_handle *h)
{
    if (!k) {
        /* Above the previous separator: its user key with 0xff appended (or 0xff). */
        static const char trailer0[IKEY_TRAILER] = { 0 };
        size_t un = f->last.len >= IKEY_TRAILER ? f->last.len - IKEY_TRAILER : 0;
        am_buf s;
        buf_init(&s);
        fuzz_put_bytes(&s, f->last.data ? f->last.data : "", un);
        fuzz_put_bytes(&s, "\xff", 1);
        fuzz_put_bytes(&s, trailer0, IKEY_TRAILER);
        buf_clear(&f->last);
        fuzz_put_bytes(&f->last, s.data, s.len);
        buf_free(&s);
    } else {
        buf_clear(&f->last);
        fuzz_put_bytes(&f->last, k, kn);
    }
    char v[20], *p = enc_varint64(v, h->off);
    p = enc_varint64(p, h->size);
    FUZZ_CHECK(blk_builder_add(&f->index, f->last.data, f->last.len, v, (size_t)(p - v)) ==
               AM_OK, "out of memory");
}

static void add_hash(frame *f, uint64_t h)
{
    if (f->nh == f->caph) {
        f->caph = f->caph ? 2 * f->caph : 64;
        f->hashes = realloc(f->hashes, f->caph * sizeof *f->hashes);
        FUZZ_CHECK(f->hashes != NULL, "out of memory");
    }
    f->hashes[f->nh++] = h;
}

/* An ENTRIES section: entries decoded from the body, built into one data block. */
static void entries_block(frame *f, const uint8_t *body, size_t n, unsigned p)
{
    fuzz_in in = { body, body + n };
    blk_builder b;
    blk_builder_init(&b, (int)p + 1);
    char key[255 + IKEY_TRAILER];
    while (fuzz_left(&in) > 0) {
        size_t un, vn;
        const uint8_t *u = fuzz_bytes(&in, fuzz_u8(&in), &un);
        uint64_t seq = fuzz_u8(&in);
        unsigned kind = fuzz_u8(&in);
        const uint8_t *v = fuzz_bytes(&in, fuzz_u8(&in), &vn);
        if (un) memcpy(key, u, un);
        enc_fixed64(key + un, seq << 8 | kind);
        size_t kn = un + IKEY_TRAILER;
        FUZZ_CHECK(blk_builder_add(&b, key, kn, (const char *)v, vn) == AM_OK, "out of memory");
        add_hash(f, am_hash64(key, un));
        if (f->entries == 0) fuzz_put_bytes(&f->smallest, key, kn);
        buf_clear(&f->largest);
        fuzz_put_bytes(&f->largest, key, kn);
        f->entries++;
        if (kind == AM_KIND_DELETE) f->deletions++;
        if (seq < f->min_seq) f->min_seq = seq;
        if (seq > f->max_seq) f->max_seq = seq;
    }
    const char *contents;
    size_t cn, ln;
    FUZZ_CHECK(blk_builder_finish(&b, &contents, &cn) == AM_OK, "out of memory");
    sst_handle h;
    put_block(f->out, contents, cn, &h);
    const char *last = blk_builder_last(&b, &ln);
    index_add(f, blk_builder_empty(&b) ? NULL : last, ln, &h);
    blk_builder_free(&b);
    f->blocks++;
}

/* A RAW section: the contents as given; the index entry uses its last key when the
 * engine's block reader can find one. */
static void raw_block(frame *f, const uint8_t *body, size_t n)
{
    sst_handle h;
    put_block(f->out, (const char *)body, n, &h);
    blk b;
    am_buf last;
    buf_init(&last);
    if (blk_init(&b, (const char *)body, n) == AM_OK) {
        blk_iter it;
        blk_iter_init(&it, &b);
        for (blk_iter_seek_first(&it); blk_iter_valid(&it); blk_iter_next(&it)) {
            size_t kn;
            const char *k = blk_iter_key(&it, &kn);
            buf_clear(&last);
            fuzz_put_bytes(&last, k, kn);
        }
        blk_iter_fini(&it);
    }
    index_add(f, last.len ? last.data : NULL, last.len, &h);
    buf_free(&last);
    f->blocks++;
}

static void put_prop_u64(am_buf *p, uint32_t tag, uint64_t v)
{
    char tmp[10];
    size_t n = (size_t)(enc_varint64(tmp, v) - tmp);
    FUZZ_CHECK(buf_put_varint32(p, tag) == AM_OK && buf_put_varint32(p, (uint32_t)n) == AM_OK,
               "out of memory");
    fuzz_put_bytes(p, tmp, n);
}

static void put_prop_bytes(am_buf *p, uint32_t tag, const am_buf *v)
{
    FUZZ_CHECK(buf_put_varint32(p, tag) == AM_OK &&
               buf_put_lenprefixed(p, v->data ? v->data : "", v->len) == AM_OK, "out of memory");
}

static void put_handle(char *p, const sst_handle *h)
{
    enc_fixed64(p, h->off);
    enc_fixed64(p + 8, h->size);
}

/* Filter, properties, index and footer after the data blocks. */
static void finish(frame *f)
{
    sst_handle filter = { 0, 0 }, props, index;
    am_buf tmp;
    buf_init(&tmp);
    if (f->have_filter) {
        put_block(f->out, (const char *)f->filter_raw, f->filter_raw_n, &filter);
    } else if (f->bloom_bits) {
        FUZZ_CHECK(bloom_build(f->hashes, f->nh, f->bloom_bits, &tmp) == AM_OK, "bloom_build");
        put_block(f->out, tmp.data, tmp.len, &filter);
    }
    if (f->have_props_raw) {
        put_block(f->out, (const char *)f->props_raw, f->props_raw_n, &props);
    } else {
        buf_clear(&tmp);
        put_prop_u64(&tmp, SST_PROP_VERSION, SST_FORMAT_VERSION);
        put_prop_u64(&tmp, SST_PROP_ENTRIES, f->entries);
        put_prop_u64(&tmp, SST_PROP_DELETIONS, f->deletions);
        put_prop_u64(&tmp, SST_PROP_MIN_SEQ, f->entries ? f->min_seq : 0);
        put_prop_u64(&tmp, SST_PROP_MAX_SEQ, f->max_seq);
        put_prop_bytes(&tmp, SST_PROP_SMALLEST, &f->smallest);
        put_prop_bytes(&tmp, SST_PROP_LARGEST, &f->largest);
        put_prop_u64(&tmp, SST_PROP_DATA_BLOCKS, f->blocks);
        put_block(f->out, tmp.data, tmp.len, &props);
    }
    if (f->have_index_raw) {
        put_block(f->out, (const char *)f->index_raw, f->index_raw_n, &index);
    } else {
        const char *contents;
        size_t n;
        FUZZ_CHECK(blk_builder_finish(&f->index, &contents, &n) == AM_OK, "out of memory");
        put_block(f->out, contents, n, &index);
    }
    char foot[SST_FOOTER_SIZE];
    put_handle(foot + SST_FOOT_FILTER, &filter);
    put_handle(foot + SST_FOOT_INDEX, &index);
    put_handle(foot + SST_FOOT_PROPS, &props);
    enc_fixed32(foot + SST_FOOT_VERSION, f->version);
    enc_fixed32(foot + SST_FOOT_CRC, crc32c_mask(crc32c_value(foot, SST_FOOT_CRC)));
    enc_fixed64(foot + SST_FOOT_MAGIC, SST_MAGIC);
    fuzz_put_bytes(f->out, foot, sizeof foot);
    buf_free(&tmp);
}

void fuzz_sst_frame_build(const uint8_t *data, size_t size, am_buf *file)
{
    frame f;
    memset(&f, 0, sizeof f);
    f.out = file;
    f.version = SST_FORMAT_VERSION;
    f.min_seq = UINT64_MAX;
    blk_builder_init(&f.index, 1);
    buf_init(&f.last);
    buf_init(&f.smallest);
    buf_init(&f.largest);
    fuzz_in in = { data, data + size };
    while (fuzz_left(&in) > 0) {
        unsigned tag = fuzz_u8(&in), p = tag >> 3;
        size_t n;
        const uint8_t *body = fuzz_bytes(&in, fuzz_u16(&in), &n);
        switch (tag & 7) {
        case SEC_ENTRIES: entries_block(&f, body, n, p); break;
        case SEC_RAW: raw_block(&f, body, n); break;
        case SEC_INDEX: f.have_index_raw = 1; f.index_raw = body; f.index_raw_n = n; break;
        case SEC_PROPS: f.have_props_raw = 1; f.props_raw = body; f.props_raw_n = n; break;
        case SEC_FILTER: f.have_filter = 1; f.filter_raw = body; f.filter_raw_n = n; break;
        case SEC_BLOOM: f.bloom_bits = (int)p + 1; break;
        case SEC_GAP: fuzz_put_bytes(file, body, n); break;
        case SEC_VERSION: f.version = n ? body[0] : SST_FORMAT_VERSION; break;
        }
    }
    finish(&f);
    blk_builder_free(&f.index);
    buf_free(&f.last);
    buf_free(&f.smallest);
    buf_free(&f.largest);
    free(f.hashes);
}

/* ---- a real file to sections ---- */

static sst_handle handle_at(const char *p)
{
    return (sst_handle){ dec_fixed64(p), dec_fixed64(p + 8) };
}

void fuzz_sst_frame_of_file(const char *file, size_t n, am_buf *framed)
{
    FUZZ_CHECK(n >= SST_FOOTER_SIZE, "not an SSTable");
    const char *foot = file + n - SST_FOOTER_SIZE;
    sst_handle filter = handle_at(foot + SST_FOOT_FILTER), index = handle_at(foot + SST_FOOT_INDEX),
               props = handle_at(foot + SST_FOOT_PROPS);
    blk b;
    FUZZ_CHECK(blk_init(&b, file + index.off, (size_t)index.size) == AM_OK, "bad index");
    blk_iter it;
    blk_iter_init(&it, &b);
    uint64_t expect = 0;
    for (blk_iter_seek_first(&it); blk_iter_valid(&it); blk_iter_next(&it)) {
        size_t vn;
        const char *v = blk_iter_value(&it, &vn);
        sst_handle h;
        const char *q = dec_varint64(v, v + vn, &h.off);
        FUZZ_CHECK(q && dec_varint64(q, v + vn, &h.size), "bad index entry");
        FUZZ_CHECK(h.off == expect, "data blocks are not contiguous");
        fuzz_sst_put_section(framed, SEC_RAW, file + h.off, (size_t)h.size);
        expect = h.off + h.size + BLK_TRAILER;
    }
    blk_iter_fini(&it);
    if (filter.size) fuzz_sst_put_section(framed, SEC_FILTER, file + filter.off, (size_t)filter.size);
    fuzz_sst_put_section(framed, SEC_PROPS, file + props.off, (size_t)props.size);
    fuzz_sst_put_section(framed, SEC_INDEX, file + index.off, (size_t)index.size);
}

/* ---- seeds from the real builder ---- */

typedef struct seed_spec {
    const char *name;
    unsigned keys, maxver, keypad, valpad;
    size_t block_bytes;
    int stride, bloom;
} seed_spec;

static const seed_spec seeds[FUZZ_SST_SEEDS] = {
    { "tiny", 3, 1, 0, 4, 4096, 16, 10 },
    { "blocks", 40, 3, 0, 8, 256, 4, 0 },
    { "empty", 0, 1, 0, 0, 4096, 16, 0 },
    { "longkey", 4, 2, 300, 200, 512, 2, 10 },
    { "bloom", 80, 1, 0, 2, 512, 8, 10 },
};

/* Writes one seed file with the builder: spec's keys, 1..maxver versions, every fifth
 * version a deletion. */
static void build_seed(const seed_spec *s, const char *path)
{
    sst_options o = { .block_bytes = s->block_bytes, .index_stride = s->stride,
                      .bloom_bits_per_key = s->bloom };
    sst_builder *b = NULL;
    FUZZ_CHECK(sst_builder_new(fuzz_env(), path, &o, &b) == AM_OK, "sst_builder_new");
    char ukey[512], key[512 + IKEY_TRAILER], val[512];
    uint64_t seq = 1000;
    unsigned nth = 0;
    for (unsigned i = 0; i < s->keys; i++) {
        int un = snprintf(ukey, 32, "key-%05u", i * 7);
        memset(ukey + un, 'k', s->keypad);
        un += (int)s->keypad;
        unsigned nv = 1 + (i * 5 + 3) % s->maxver;
        for (unsigned j = 0; j < nv; j++) {
            int kind = (++nth % 5 == 0) ? AM_KIND_DELETE : AM_KIND_VALUE;
            ikey_build(key, ukey, (size_t)un, seq - j * 10, kind);   /* newest first */
            int vn = 0;
            if (kind == AM_KIND_VALUE) {
                vn = snprintf(val, 32, "v%u.%u", i, j);
                memset(val + vn, 'a' + (int)(i % 26), s->valpad);
                vn += (int)s->valpad;
            }
            FUZZ_CHECK(sst_builder_add(b, key, (size_t)un + IKEY_TRAILER, val, (size_t)vn) ==
                       AM_OK, "sst_builder_add");
        }
        seq += 100;
    }
    FUZZ_CHECK(sst_builder_finish(b, NULL) == AM_OK, "sst_builder_finish");
}

void fuzz_sst_seed_files(fuzz_blob out[FUZZ_SST_SEEDS])
{
    char dir[600], path[700];
    fuzz_dir(dir, sizeof dir, "seeds");
    for (int i = 0; i < FUZZ_SST_SEEDS; i++) {
        snprintf(path, sizeof path, "%s/%s.sst", dir, seeds[i].name);
        build_seed(&seeds[i], path);
        snprintf(out[i].name, sizeof out[i].name, "%s", seeds[i].name);
        out[i].data = fuzz_read_file(path, &out[i].n);
    }
    fuzz_empty_dir(dir);
}
