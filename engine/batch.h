/* batch.h: the encoded form of a write batch, which is also the WAL record payload
 * (docs/format.md, "Write batch"):
 *
 *   fixed64 sequence of the first record | fixed32 count | count records
 *   record: kind (1 byte: AM_KIND_VALUE or AM_KIND_DELETE) | varint32 key length | key |
 *           (value records only) varint32 value length | value
 *
 * Records take consecutive sequence numbers from the header's. A batch is encoded once by
 * am_batch_put / am_batch_delete; the engine stamps the sequence and writes it as is. */
#ifndef AM_BATCH_H
#define AM_BATCH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "amethyst.h"
#include "util/coding.h"

#define BATCH_HEADER 12

struct am_batch {
    am_buf rep;             /* owned: header + records */
    uint64_t user_bytes;    /* keys + values, for statistics */
    uint32_t deletes;
};

/* In-place initialisation for a batch on the stack (am_put uses one). */
void batch_init(am_batch *b);
/* The same on caller memory (mem, cap >= BATCH_HEADER): no allocation until the batch
 * outgrows it. batch_destroy is still required. */
static inline void batch_init_inline(am_batch *b, char *mem, size_t cap)
{
    buf_init_borrowed(&b->rep, mem, cap);
    memset(mem, 0, BATCH_HEADER);
    b->rep.len = BATCH_HEADER;
    b->user_bytes = 0;
    b->deletes = 0;
}
void batch_destroy(am_batch *b);

static inline uint32_t batch_count(const char *rep) { return dec_fixed32(rep + 8); }
static inline uint64_t batch_seq(const char *rep) { return dec_fixed64(rep); }
static inline void batch_set_seq(char *rep, uint64_t seq) { enc_fixed64(rep, seq); }

/* batch_init leaves rep holding a zeroed header (BATCH_HEADER bytes), as here. */

/* Appends src's records to dst (group commit); AM_OK or AM_ERR_NOMEM. */
int batch_append(am_batch *dst, const am_batch *src);

typedef struct batch_handler {
    void *arg;
    /* Called once per record in order, with its sequence; a non-zero return stops and is
       returned. */
    int (*record)(void *arg, uint64_t seq, int kind, const char *k, size_t kn,
                  const char *v, size_t vn);
} batch_handler;

/* Walks an encoded batch (from the WAL: untrusted). AM_ERR_CORRUPT if it is malformed
 * (count disagrees, truncated record, unknown kind); AM_OK otherwise. */
int batch_iterate(const char *rep, size_t n, const batch_handler *h);

#endif
