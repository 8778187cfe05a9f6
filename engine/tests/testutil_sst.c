/* testutil_sst.c: locating and resealing the blocks of an SSTable (testutil_sst.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "amethyst.h"
#include "sst/block.h"
#include "sst/sst_format.h"
#include "util/crc32c.h"
#include "testutil_sst.h"

static tu_sst_block footer_handle(const char *d, size_t n, int field)
{
    assert_true(n >= SST_FOOTER_SIZE);
    const char *f = d + n - SST_FOOTER_SIZE + field;
    tu_sst_block h = { dec_fixed64(f), dec_fixed64(f + 8) };
    assert_true(h.off + h.size + BLK_TRAILER <= n - SST_FOOTER_SIZE);
    return h;
}

size_t tu_sst_data_blocks(const char *d, size_t n, tu_sst_block *out, size_t max)
{
    tu_sst_block ih = footer_handle(d, n, SST_FOOT_INDEX);
    blk b;
    assert_int_equal(blk_init(&b, d + ih.off, (size_t)ih.size), AM_OK);
    blk_iter it;
    blk_iter_init(&it, &b);
    size_t nb = 0;
    for (blk_iter_seek_first(&it); blk_iter_valid(&it); blk_iter_next(&it)) {
        size_t vn;
        const char *v = blk_iter_value(&it, &vn);
        tu_sst_block h;
        const char *p = dec_varint64(v, v + vn, &h.off);
        assert_non_null(p);
        assert_non_null(dec_varint64(p, v + vn, &h.size));
        assert_true(h.off + h.size + BLK_TRAILER <= ih.off);
        if (nb < max) out[nb] = h;
        nb++;
    }
    assert_int_equal(blk_iter_status(&it), AM_OK);
    blk_iter_fini(&it);
    return nb;
}

static void seal(char *d, tu_sst_block h)
{
    char *t = d + h.off + h.size;
    uint32_t crc = crc32c_value(d + h.off, (size_t)h.size + 1);   /* contents + type byte */
    enc_fixed32(t + 1, crc32c_mask(crc));
}

void tu_sst_reseal(char *d, size_t n)
{
    enum { MAX_BLOCKS = 1 << 16 };
    tu_sst_block *blocks = malloc(MAX_BLOCKS * sizeof *blocks);
    assert_non_null(blocks);
    size_t nb = tu_sst_data_blocks(d, n, blocks, MAX_BLOCKS);
    assert_true(nb <= MAX_BLOCKS);
    for (size_t i = 0; i < nb; i++) seal(d, blocks[i]);
    free(blocks);
    tu_sst_block filter = footer_handle(d, n, SST_FOOT_FILTER);
    if (filter.off || filter.size) seal(d, filter);
    seal(d, footer_handle(d, n, SST_FOOT_PROPS));
    seal(d, footer_handle(d, n, SST_FOOT_INDEX));
    char *foot = d + n - SST_FOOTER_SIZE;
    enc_fixed32(foot + SST_FOOT_CRC, crc32c_mask(crc32c_value(foot, SST_FOOT_CRC)));
}

size_t tu_find(const char *d, size_t n, const void *needle, size_t nn)
{
    for (size_t i = 0; i + nn <= n; i++)
        if (memcmp(d + i, needle, nn) == 0) return i;
    fail_msg("the bytes looked for are not there (%zu bytes)", nn);
    return 0;
}

void tu_swap_bytes(char *d, size_t a, size_t b, size_t len)
{
    char *tmp = malloc(len ? len : 1);
    assert_non_null(tmp);
    assert_true(a + len <= b || b + len <= a);
    memcpy(tmp, d + a, len);
    memcpy(d + a, d + b, len);
    memcpy(d + b, tmp, len);
    free(tmp);
}
