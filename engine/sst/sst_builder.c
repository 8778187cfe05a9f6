/* sst_builder.c: writes an SSTable. Owns the file format, described here byte by byte
 * (and in docs/format.md). All integers are little-endian; varints as in coding.h.
 *
 * File layout:
 *
 *   data block 0 | data block 1 | ... | data block N-1
 *   filter block        (absent when bloom_bits_per_key == 0)
 *   properties block
 *   index block
 *   footer              (64 bytes, fixed size)
 *
 * Every block (data, filter, properties, index) is stored as
 *
 *   contents   `size` bytes
 *   type       1 byte: 0 = uncompressed contents (the only type so far; never renumber)
 *   crc        fixed32: crc32c_mask(crc32c(contents + type byte))
 *
 * and is addressed by a handle (offset of the contents, size of the contents without the
 * 5-byte trailer). A reader verifies the crc of every block it reads.
 *
 * Data block: the block format of block_builder.c (prefix-compressed internal keys, a
 * restart point every index_stride entries, fixed32 restart offsets, fixed32 count),
 * entries in ascending internal-key order (ikey.h). A block is cut once its size reaches
 * block_bytes; one user key's versions may span two blocks.
 *
 * Index block: the same block format with a restart point at every entry, one entry per
 * data block, in file order:
 *   key    an internal key S with  last key of the block <= S < first key of the next
 *          block (the last block uses its last key). S is the last key itself, or a
 *          shorter user key between the two user keys with trailer (AM_MAX_SEQ << 8 |
 *          AM_KIND_MAX).
 *   value  varint64 offset, varint64 size: the data block's handle.
 *
 * Filter block: the bloom filter of bloom.c over the distinct user keys of the file
 * (internal key minus its 8-byte trailer): bit array, then one byte k.
 *
 * Properties block: a sequence of records, each
 *   tag varint32 | len varint32 | len bytes of value
 * with the tags of sst_format.h: 1 format version (varint32), 2 entries, 3 deletions,
 * 4 min seq, 5 max seq (varint64 each), 6 smallest and 7 largest internal key (raw
 * bytes), 8 number of data blocks (varint64). A reader skips tags it does not know.
 *
 * Footer (64 bytes, at file size - 64):
 *    0  fixed64 filter offset    8  fixed64 filter size     (both 0: no filter)
 *   16  fixed64 index offset    24  fixed64 index size
 *   32  fixed64 props offset    40  fixed64 props size
 *   48  fixed32 format version (1)
 *   52  fixed32 crc32c_mask(crc32c(footer bytes 0..51))
 *   56  fixed64 magic 0x3154534854454d41 (the bytes "AMETHST1")
 *
 * Output goes through a 64 KiB buffer so the file sees large appends. Errors are sticky:
 * the first failed step is remembered and returned by every later add and by finish. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "amethyst.h"
#include "block.h"
#include "bloom.h"
#include "sst.h"
#include "sst_format.h"
#include "../util/crc32c.h"
#include "../util/hash.h"
#include "../util/ikey.h"
#include "../util/vec.h"

#define WRITE_BUFFER (64 * 1024)
#define DEFAULT_BLOCK_BYTES 4096
#define DEFAULT_STRIDE 16

struct sst_builder {
    am_env *env;                 /* borrowed */
    am_file *f;                  /* owned */
    char *path;                  /* owned copy, for messages */
    sst_options o;
    blk_builder data, index;
    am_buf out;                  /* bytes not yet handed to the file */
    uint64_t written;            /* bytes handed to the file */
    int pending;                 /* a finished data block awaits its index entry */
    sst_handle pend;             /* its handle */
    am_buf pend_key;             /* its last key */
    am_buf scratch;              /* separators, index values, filter, properties */
    uint64_t *hashes;            /* owned: one per distinct user key (bloom) */
    size_t nh, caph;
    uint64_t entries, deletions, min_seq, max_seq, blocks;
    am_buf smallest;
    int status;                  /* first error; sticky */
};

void sst_file_info_clear(sst_file_info *fi)
{
    if (!fi) return;
    free(fi->smallest);
    free(fi->largest);
    memset(fi, 0, sizeof *fi);
}

int sst_builder_new(am_env *env, const char *path, const sst_options *o, sst_builder **out)
{
    *out = NULL;
    sst_builder *b = calloc(1, sizeof *b);
    if (!b) return am_env_error(env, AM_ERR_NOMEM, "%s: out of memory for a builder", path);
    b->env = env;
    b->o = *o;
    if (b->o.block_bytes == 0) b->o.block_bytes = DEFAULT_BLOCK_BYTES;
    if (b->o.index_stride < 1) b->o.index_stride = DEFAULT_STRIDE;
    if (b->o.bloom_bits_per_key < 0) b->o.bloom_bits_per_key = 0;
    blk_builder_init(&b->data, b->o.index_stride);
    blk_builder_init(&b->index, 1);
    buf_init(&b->out);
    buf_init(&b->pend_key);
    buf_init(&b->scratch);
    buf_init(&b->smallest);
    b->min_seq = UINT64_MAX;
    int rc = AM_OK;
    b->path = strdup(path);
    if (!b->path || buf_reserve(&b->out, WRITE_BUFFER + 1024)) {
        rc = am_env_error(env, AM_ERR_NOMEM, "%s: out of memory for a builder", path);
        goto fail;
    }
    rc = env_open_writable(env, path, &b->f);
    if (rc) goto fail;
    *out = b;
    return AM_OK;
fail:
    b->f = NULL;
    sst_builder_abandon(b);
    return rc;
}

static int nomem(sst_builder *b)
{
    return am_env_error(b->env, AM_ERR_NOMEM, "%s: out of memory building an SSTable",
                        b->path);
}

static int flush_out(sst_builder *b)
{
    if (b->out.len == 0) return AM_OK;
    int rc = env_append(b->env, b->f, b->out.data, b->out.len);
    if (rc) return rc;
    b->written += b->out.len;
    buf_clear(&b->out);
    return AM_OK;
}

/* Appends contents + trailer to the output and fills h. */
static int emit_block(sst_builder *b, const char *contents, size_t n, sst_handle *h)
{
    h->off = b->written + b->out.len;
    h->size = n;
    char trailer[BLK_TRAILER];
    trailer[0] = (char)BLK_TYPE_RAW;
    uint32_t crc = crc32c_extend(crc32c_value(contents, n), trailer, 1);
    enc_fixed32(trailer + 1, crc32c_mask(crc));
    if (buf_reserve(&b->out, n + BLK_TRAILER)) return nomem(b);
    memcpy(b->out.data + b->out.len, contents, n);
    memcpy(b->out.data + b->out.len + n, trailer, BLK_TRAILER);
    b->out.len += n + BLK_TRAILER;
    return b->out.len >= WRITE_BUFFER ? flush_out(b) : AM_OK;
}

/* Puts into b->scratch the index key for a block whose last key is a and whose successor
 * starts with key c (c NULL for the last block). */
static int separator(sst_builder *b, const char *a, size_t an, const char *c, size_t cn)
{
    am_buf *s = &b->scratch;
    buf_clear(s);
    if (c) {
        size_t ua = an - 8, uc = cn - 8, m = ua < uc ? ua : uc, p = 0;
        while (p < m && a[p] == c[p]) p++;
        if (p < m) {
            unsigned char x = (unsigned char)a[p], y = (unsigned char)c[p];
            if (x < 0xff && x + 1 < y && p + 1 < ua) {
                /* a[0..p) + (x+1) is > a's user key and < c's, and shorter */
                if (buf_reserve(s, p + 1 + 8)) return nomem(b);
                memcpy(s->data, a, p);
                s->data[p] = (char)(x + 1);
                enc_fixed64(s->data + p + 1, ikey_pack(AM_MAX_SEQ, AM_KIND_MAX));
                s->len = p + 1 + 8;
                return AM_OK;
            }
        }
    }
    return buf_append(s, a, an) ? nomem(b) : AM_OK;
}

static int add_index_entry(sst_builder *b, const char *next, size_t nn)
{
    int rc = separator(b, b->pend_key.data, b->pend_key.len, next, nn);
    if (rc) return rc;
    char v[20], *p = enc_varint64(v, b->pend.off);
    p = enc_varint64(p, b->pend.size);
    if (blk_builder_add(&b->index, b->scratch.data, b->scratch.len, v, (size_t)(p - v)))
        return nomem(b);
    b->pending = 0;
    return AM_OK;
}

static int flush_data_block(sst_builder *b)
{
    const char *contents;
    size_t n, kn;
    if (blk_builder_finish(&b->data, &contents, &n)) return nomem(b);
    int rc = emit_block(b, contents, n, &b->pend);
    if (rc) return rc;
    const char *last = blk_builder_last(&b->data, &kn);
    buf_clear(&b->pend_key);
    if (buf_append(&b->pend_key, last, kn)) return nomem(b);
    b->pending = 1;
    b->blocks++;
    blk_builder_reset(&b->data);
    return AM_OK;
}

int sst_builder_add(sst_builder *b, const char *ikey, size_t n, const char *v, size_t vn)
{
    if (b->status) return b->status;
    int rc = AM_OK;
    if (n < IKEY_TRAILER || n > UINT32_MAX || vn > UINT32_MAX) {
        rc = am_env_error(b->env, AM_ERR_INVALID, "%s: bad entry (key %zu, value %zu bytes)",
                          b->path, n, vn);
        goto out;
    }
#ifndef NDEBUG
    /* An in-memory invariant, not a check of data: every caller hands over keys in order
       (the merge kernel, which all flushes and compactions go through, checks its input
       and fails the merge with AM_ERR_CORRUPT before an out-of-order key gets here). */
    {
        size_t ln;
        const char *last = blk_builder_last(&b->data, &ln);
        if (blk_builder_empty(&b->data)) { last = b->pend_key.data; ln = b->pend_key.len; }
        assert(b->entries == 0 || ikey_cmp(last, ln, ikey, n) < 0);
    }
#endif
    if (b->pending && (rc = add_index_entry(b, ikey, n))) goto out;

    if (b->o.bloom_bits_per_key > 0) {
        uint64_t h = am_hash64(ikey, n - 8);
        if (b->nh == 0 || b->hashes[b->nh - 1] != h) {
            if (vec_reserve_min(&b->hashes, &b->caph, b->nh + 1, sizeof *b->hashes, 1024)) {
                rc = nomem(b);
                goto out;
            }
            b->hashes[b->nh++] = h;
        }
    }
    if (blk_builder_add(&b->data, ikey, n, v, vn)) { rc = nomem(b); goto out; }

    uint64_t seq = ikey_seq(ikey, n);
    if (b->entries == 0 && buf_append(&b->smallest, ikey, n)) { rc = nomem(b); goto out; }
    b->entries++;
    if (ikey_kind(ikey, n) == AM_KIND_DELETE) b->deletions++;
    if (seq < b->min_seq) b->min_seq = seq;
    if (seq > b->max_seq) b->max_seq = seq;

    if (blk_builder_size(&b->data) >= b->o.block_bytes) rc = flush_data_block(b);
out:
    b->status = rc;
    return rc;
}

uint64_t sst_builder_entries(const sst_builder *b)
{
    return b->entries;
}

uint64_t sst_builder_file_bytes(const sst_builder *b)
{
    return b->written + b->out.len +
           (blk_builder_empty(&b->data) ? 0 : blk_builder_size(&b->data) + BLK_TRAILER);
}

static int put_prop_u64(am_buf *p, uint32_t tag, uint64_t v)
{
    char tmp[10];
    int n = (int)(enc_varint64(tmp, v) - tmp);
    if (buf_put_varint32(p, tag) || buf_put_varint32(p, (uint32_t)n)) return AM_ERR_NOMEM;
    return buf_append(p, tmp, (size_t)n);
}

static int put_prop_bytes(am_buf *p, uint32_t tag, const char *d, size_t n)
{
    if (buf_put_varint32(p, tag)) return AM_ERR_NOMEM;
    return buf_put_lenprefixed(p, d, n);
}

static int write_props(sst_builder *b, const char *largest, size_t ln, sst_handle *h)
{
    am_buf *p = &b->scratch;
    buf_clear(p);
    int rc = put_prop_u64(p, SST_PROP_VERSION, SST_FORMAT_VERSION);
    if (!rc) rc = put_prop_u64(p, SST_PROP_ENTRIES, b->entries);
    if (!rc) rc = put_prop_u64(p, SST_PROP_DELETIONS, b->deletions);
    if (!rc) rc = put_prop_u64(p, SST_PROP_MIN_SEQ, b->entries ? b->min_seq : 0);
    if (!rc) rc = put_prop_u64(p, SST_PROP_MAX_SEQ, b->max_seq);
    if (!rc) rc = put_prop_bytes(p, SST_PROP_SMALLEST, b->smallest.data, b->smallest.len);
    if (!rc) rc = put_prop_bytes(p, SST_PROP_LARGEST, largest, ln);
    if (!rc) rc = put_prop_u64(p, SST_PROP_DATA_BLOCKS, b->blocks);
    if (rc) return nomem(b);
    return emit_block(b, p->data, p->len, h);
}

static void put_handle(char *p, const sst_handle *h)
{
    enc_fixed64(p, h->off);
    enc_fixed64(p + 8, h->size);
}

static char *dup_bytes(const char *p, size_t n)
{
    char *d = malloc(n ? n : 1);
    if (d && n) memcpy(d, p, n);
    return d;
}

int sst_builder_finish(sst_builder *b, sst_file_info *info)
{
    int rc = b->status;
    sst_handle filter = { 0, 0 }, props, index;
    const char *contents;
    size_t n;
    if (info) memset(info, 0, sizeof *info);
    if (rc) goto out;

    if (!blk_builder_empty(&b->data) && (rc = flush_data_block(b))) goto out;
    if (b->pending && (rc = add_index_entry(b, NULL, 0))) goto out;

    if (b->o.bloom_bits_per_key > 0) {
        buf_clear(&b->scratch);
        rc = bloom_build(b->hashes, b->nh, b->o.bloom_bits_per_key, &b->scratch);
        if (rc) {
            rc = am_env_error(b->env, rc, "%s: cannot build the bloom filter (%zu keys)",
                              b->path, b->nh);
            goto out;
        }
        if ((rc = emit_block(b, b->scratch.data, b->scratch.len, &filter))) goto out;
    }
    /* pend_key holds the last key of the file (empty for an empty file). */
    if ((rc = write_props(b, b->pend_key.data, b->pend_key.len, &props))) goto out;
    if (blk_builder_finish(&b->index, &contents, &n)) { rc = nomem(b); goto out; }
    if ((rc = emit_block(b, contents, n, &index))) goto out;

    char foot[SST_FOOTER_SIZE];
    put_handle(foot + SST_FOOT_FILTER, &filter);
    put_handle(foot + SST_FOOT_INDEX, &index);
    put_handle(foot + SST_FOOT_PROPS, &props);
    enc_fixed32(foot + SST_FOOT_VERSION, SST_FORMAT_VERSION);
    enc_fixed32(foot + SST_FOOT_CRC, crc32c_mask(crc32c_value(foot, SST_FOOT_CRC)));
    enc_fixed64(foot + SST_FOOT_MAGIC, SST_MAGIC);
    if (buf_append(&b->out, foot, sizeof foot)) { rc = nomem(b); goto out; }
    if ((rc = flush_out(b))) goto out;
    if ((rc = env_sync(b->env, b->f))) goto out;
    rc = env_close(b->env, b->f);
    b->f = NULL;
    if (rc) goto out;

    if (info) {
        info->file_bytes = b->written;
        info->entries = b->entries;
        info->deletions = b->deletions;
        info->min_seq = b->entries ? b->min_seq : 0;
        info->max_seq = b->max_seq;
        info->smallest = dup_bytes(b->smallest.data, b->smallest.len);
        info->largest = dup_bytes(b->pend_key.data, b->pend_key.len);
        if (!info->smallest || !info->largest) {
            sst_file_info_clear(info);
            rc = nomem(b);
            goto out;
        }
        info->smallest_len = b->smallest.len;
        info->largest_len = b->pend_key.len;
    }
out:
    sst_builder_abandon(b);
    return rc;
}

void sst_builder_abandon(sst_builder *b)
{
    if (!b) return;
    if (b->f) env_close(b->env, b->f);
    blk_builder_free(&b->data);
    blk_builder_free(&b->index);
    buf_free(&b->out);
    buf_free(&b->pend_key);
    buf_free(&b->scratch);
    buf_free(&b->smallest);
    free(b->hashes);
    free(b->path);
    free(b);
}
