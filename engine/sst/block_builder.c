/* block_builder.c: builds one block (a data block or the index block) of an SSTable.
 *
 * Block contents, byte by byte (all integers little-endian; varints as in coding.h):
 *
 *   entry 0, entry 1, ..., entry N-1
 *   restart[0] .. restart[R-1]    fixed32 each: offset of a restart entry in the block
 *   R                             fixed32: number of restart points (>= 1)
 *
 * Each entry:
 *
 *   shared      varint32  bytes of the key shared with the previous entry's key
 *   non_shared  varint32  bytes of the key that follow
 *   value_len   varint32  bytes of the value
 *   key_delta   non_shared bytes: the key is prev_key[0..shared) + key_delta
 *   value       value_len bytes
 *
 * Every `stride`-th entry (entry 0, stride, 2*stride, ...) is a restart point: it stores
 * its key whole (shared = 0) and its offset appears in the restart array, so a reader can
 * binary-search the restart points and scan at most `stride` entries. An empty block
 * (never written by the SSTable builder) is the single restart offset 0 and R = 1.
 *
 * The block trailer (type byte and checksum) is added by the SSTable builder. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "amethyst.h"
#include "block.h"
#include "../util/vec.h"

void blk_builder_init(blk_builder *b, int stride)
{
    memset(b, 0, sizeof *b);
    buf_init(&b->buf);
    buf_init(&b->last);
    b->stride = stride >= 1 ? stride : 1;
}

void blk_builder_free(blk_builder *b)
{
    buf_free(&b->buf);
    buf_free(&b->last);
    free(b->restarts);
    b->restarts = NULL;
    b->nrestarts = b->cap_restarts = 0;
}

void blk_builder_reset(blk_builder *b)
{
    buf_clear(&b->buf);
    buf_clear(&b->last);
    b->nrestarts = 0;
    b->counter = 0;
    b->entries = 0;
    b->finished = 0;
}

static int push_restart(blk_builder *b, uint32_t off)
{
    if (vec_reserve_min(&b->restarts, &b->cap_restarts, b->nrestarts + 1, sizeof *b->restarts,
                        16) != AM_OK)
        return AM_ERR_NOMEM;
    b->restarts[b->nrestarts++] = off;
    return AM_OK;
}

int blk_builder_add(blk_builder *b, const char *key, size_t n, const char *v, size_t vn)
{
    assert(!b->finished);
    size_t shared = 0;
    int rc;
    if (b->counter == 0 || b->counter >= b->stride) {
        rc = push_restart(b, (uint32_t)b->buf.len);
        if (rc) return rc;
        b->counter = 0;
    } else {
        size_t m = b->last.len < n ? b->last.len : n;
        const char *p = b->last.data;
        while (shared < m && p[shared] == key[shared]) shared++;
    }
    size_t nonshared = n - shared;
    rc = buf_reserve(&b->buf, 15 + nonshared + vn);
    if (rc) return rc;
    char *p = b->buf.data + b->buf.len;
    p = enc_varint32(p, (uint32_t)shared);
    p = enc_varint32(p, (uint32_t)nonshared);
    p = enc_varint32(p, (uint32_t)vn);
    memcpy(p, key + shared, nonshared);
    p += nonshared;
    if (vn) memcpy(p, v, vn);
    p += vn;
    b->buf.len = (size_t)(p - b->buf.data);

    /* Keep the previous key: only the differing suffix needs copying. */
    if (shared <= b->last.len) b->last.len = shared;
    rc = buf_append(&b->last, key + shared, nonshared);
    if (rc) return rc;
    b->counter++;
    b->entries++;
    return AM_OK;
}

int blk_builder_finish(blk_builder *b, const char **out, size_t *n)
{
    assert(!b->finished);
    int rc = AM_OK;
    if (b->nrestarts == 0) rc = push_restart(b, 0);
    if (!rc) rc = buf_reserve(&b->buf, 4 * b->nrestarts + 4);
    if (rc) return rc;
    for (size_t i = 0; i < b->nrestarts; i++) {
        enc_fixed32(b->buf.data + b->buf.len, b->restarts[i]);
        b->buf.len += 4;
    }
    enc_fixed32(b->buf.data + b->buf.len, (uint32_t)b->nrestarts);
    b->buf.len += 4;
    b->finished = 1;
    *out = b->buf.data;
    *n = b->buf.len;
    return AM_OK;
}
