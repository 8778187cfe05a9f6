/* batch.c: write batches (batch.h and the public am_batch_* functions of amethyst.h).
 *
 * The encoded batch is the WAL record payload (docs/format.md, "Write batch"), all
 * integers little-endian:
 *   bytes 0..7   fixed64 sequence of the first record (0 until the engine stamps it)
 *   bytes 8..11  fixed32 count of records
 *   then count records, each:
 *     1 byte kind: AM_KIND_VALUE (1) or AM_KIND_DELETE (0) (util/ikey.h: never renumber)
 *     varint32 key length (1 .. AM_MAX_KEY_BYTES) | key bytes
 *     value records only: varint32 value length (0 .. AM_MAX_VALUE_BYTES) | value bytes
 * Record i takes sequence (header sequence + i).
 *
 * rep.len is 0 (batch_init could not allocate the header; the first put adds it) or at
 * least BATCH_HEADER. */
#include "batch.h"

#include <stdlib.h>
#include <string.h>

#include "util/ikey.h"
#include "wal/wal.h"

static int ensure_header(am_batch *b, size_t extra)
{
    size_t hdr = b->rep.len < BATCH_HEADER ? BATCH_HEADER : 0;
    if (extra > SIZE_MAX - hdr || buf_reserve(&b->rep, hdr + extra)) return AM_ERR_NOMEM;
    if (hdr) {
        memset(b->rep.data, 0, BATCH_HEADER);
        b->rep.len = BATCH_HEADER;
    }
    return AM_OK;
}

void batch_init(am_batch *b)
{
    buf_init(&b->rep);
    b->user_bytes = 0;
    b->deletes = 0;
    (void)ensure_header(b, 0);     /* on failure rep stays empty; the first put retries */
}

void batch_destroy(am_batch *b)
{
    buf_free(&b->rep);
}

am_batch *am_batch_new(void)
{
    am_batch *b = malloc(sizeof *b);
    if (!b) return NULL;
    batch_init(b);
    if (b->rep.len < BATCH_HEADER) {
        free(b);
        return NULL;
    }
    return b;
}

void am_batch_free(am_batch *b)
{
    if (!b) return;
    batch_destroy(b);
    free(b);
}

void am_batch_clear(am_batch *b)
{
    if (!b) return;
    if (b->rep.len >= BATCH_HEADER) {
        memset(b->rep.data, 0, BATCH_HEADER);
        b->rep.len = BATCH_HEADER;
    }
    b->user_bytes = 0;
    b->deletes = 0;
}

size_t am_batch_count(const am_batch *b)
{
    if (!b || b->rep.len < BATCH_HEADER) return 0;
    return batch_count(b->rep.data);
}

/* Appends one record; the batch is unchanged on any failure. */
static int add_record(am_batch *b, int kind, const void *k, size_t kn, const void *v,
                      size_t vn)
{
    if (!b || !k || kn == 0 || kn > AM_MAX_KEY_BYTES) return AM_ERR_INVALID;
    if (kind == AM_KIND_VALUE && ((!v && vn) || vn > AM_MAX_VALUE_BYTES)) return AM_ERR_INVALID;
    if (am_batch_count(b) == UINT32_MAX) return AM_ERR_INVALID;

    size_t need = 1 + (size_t)varint_length(kn) + kn;
    if (kind == AM_KIND_VALUE) need += (size_t)varint_length(vn) + vn;
    /* A batch must fit in one WAL record; refuse now rather than fail at am_write. */
    size_t have = b->rep.len < BATCH_HEADER ? BATCH_HEADER : b->rep.len;
    if (have + need > WAL_MAX_RECORD) return AM_ERR_INVALID;
    int rc = ensure_header(b, need);
    if (rc != AM_OK) return rc;

    char *p = b->rep.data + b->rep.len;
    *p++ = (char)kind;
    p = enc_varint32(p, (uint32_t)kn);
    memcpy(p, k, kn);
    p += kn;
    if (kind == AM_KIND_VALUE) {
        p = enc_varint32(p, (uint32_t)vn);
        if (vn) memcpy(p, v, vn);
        p += vn;
    }
    b->rep.len = (size_t)(p - b->rep.data);
    enc_fixed32(b->rep.data + 8, batch_count(b->rep.data) + 1);
    b->user_bytes += kn + (kind == AM_KIND_VALUE ? vn : 0);
    if (kind == AM_KIND_DELETE) b->deletes++;
    return AM_OK;
}

int am_batch_put(am_batch *b, const void *k, size_t kn, const void *v, size_t vn)
{
    return add_record(b, AM_KIND_VALUE, k, kn, v, vn);
}

int am_batch_delete(am_batch *b, const void *k, size_t kn)
{
    return add_record(b, AM_KIND_DELETE, k, kn, NULL, 0);
}

int batch_append(am_batch *dst, const am_batch *src)
{
    uint32_t add = (uint32_t)am_batch_count(src);
    if (add == 0) return AM_OK;
    uint32_t have = (uint32_t)am_batch_count(dst);
    if (have > UINT32_MAX - add) return AM_ERR_INVALID;    /* 4G records: unreachable */
    size_t n = src->rep.len - BATCH_HEADER;
    int rc = ensure_header(dst, n);
    if (rc != AM_OK) return rc;
    memcpy(dst->rep.data + dst->rep.len, src->rep.data + BATCH_HEADER, n);
    dst->rep.len += n;
    enc_fixed32(dst->rep.data + 8, have + add);
    dst->user_bytes += src->user_bytes;
    dst->deletes += src->deletes;
    return AM_OK;
}

/* Parses the record at *pp (< limit). AM_ERR_CORRUPT if it is malformed. */
static int parse_record(const char **pp, const char *limit, int *kind, const char **k,
                        uint32_t *kn, const char **v, uint32_t *vn)
{
    const char *p = *pp;
    *kind = (unsigned char)*p++;
    if (*kind != AM_KIND_VALUE && *kind != AM_KIND_DELETE) return AM_ERR_CORRUPT;
    p = dec_lenprefixed(p, limit, k, kn);
    if (!p || *kn == 0 || *kn > AM_MAX_KEY_BYTES) return AM_ERR_CORRUPT;
    *v = NULL;
    *vn = 0;
    if (*kind == AM_KIND_VALUE) {
        p = dec_lenprefixed(p, limit, v, vn);
        if (!p || *vn > AM_MAX_VALUE_BYTES) return AM_ERR_CORRUPT;
    }
    *pp = p;
    return AM_OK;
}

int batch_iterate(const char *rep, size_t n, const batch_handler *h)
{
    if (!rep || n < BATCH_HEADER) return AM_ERR_CORRUPT;
    uint64_t seq = batch_seq(rep);
    uint32_t count = batch_count(rep);
    const char *limit = rep + n, *p;
    int kind;
    const char *k, *v;
    uint32_t kn, vn;

    /* Every record takes a sequence number that must fit in an internal key. */
    if (seq > AM_MAX_SEQ || (count && count - 1 > AM_MAX_SEQ - seq)) return AM_ERR_CORRUPT;

    /* Pass 1 validates the whole batch, so that the handler sees all of it or nothing:
       a batch is applied atomically, also when replayed from a damaged log. */
    uint32_t seen = 0;
    for (p = rep + BATCH_HEADER; p < limit; seen++) {
        if (seen == count) return AM_ERR_CORRUPT;          /* more records than counted */
        if (parse_record(&p, limit, &kind, &k, &kn, &v, &vn)) return AM_ERR_CORRUPT;
    }
    if (seen != count) return AM_ERR_CORRUPT;

    p = rep + BATCH_HEADER;
    for (uint32_t i = 0; i < count; i++) {
        (void)parse_record(&p, limit, &kind, &k, &kn, &v, &vn);
        int rc = h->record(h->arg, seq + i, kind, k, kn, v, vn);
        if (rc != 0) return rc;
    }
    return AM_OK;
}
