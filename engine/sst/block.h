/* block.h: the block layer under the SSTable: a block builder (prefix-compressed internal
 * keys with a restart point every `stride` entries) and a bounds-checked block reader and
 * iterator. Data blocks and the index block share this format; the bytes are described
 * at the top of block_builder.c and in docs/format.md.
 *
 * Every key in a block is an internal key (ikey.h), at least 8 bytes, ordered by ikey_cmp.
 * The reader trusts nothing: every varint, length and restart offset is checked against the
 * block's bounds, so a corrupt block yields AM_ERR_CORRUPT, never an out-of-bounds read.
 *
 * Thread safety: a builder and an iterator are used by one thread; a blk (decoded block)
 * is immutable and may be shared by any number of iterators. */
#ifndef AM_SST_BLOCK_H
#define AM_SST_BLOCK_H

#include <stddef.h>
#include <stdint.h>
#include "../util/coding.h"

/* Size of the trailer after every block on disk: 1 byte type + fixed32 masked crc32c. */
#define BLK_TRAILER 5
/* Block types, written to disk: never renumber. */
enum { BLK_TYPE_RAW = 0 };

/* ---- builder ---------------------------------------------------------------------- */

typedef struct blk_builder {
    am_buf buf;              /* entries so far, then the restart array once finished */
    uint32_t *restarts;      /* owned: offsets of restart entries */
    size_t nrestarts, cap_restarts;
    am_buf last;             /* the previous key, for prefix compression */
    int stride;              /* entries per restart point, >= 1 */
    int counter;             /* entries since the last restart point */
    uint64_t entries;
    int finished;
} blk_builder;

void blk_builder_init(blk_builder *b, int stride);
void blk_builder_free(blk_builder *b);       /* frees memory; b may be re-initialised */
/* Forgets every entry (keeps the memory) so the builder can build the next block. */
void blk_builder_reset(blk_builder *b);
/* Adds an entry. REQUIRES: not finished; key greater than the previous one.
 * AM_OK or AM_ERR_NOMEM (the block is then unusable: reset it). */
int blk_builder_add(blk_builder *b, const char *key, size_t n, const char *v, size_t vn);
/* Bytes the block will take once finished (without the trailer). */
static inline size_t blk_builder_size(const blk_builder *b)
{
    return b->buf.len + 4 * (b->nrestarts ? b->nrestarts : 1) + 4;
}
static inline int blk_builder_empty(const blk_builder *b) { return b->entries == 0; }
/* Appends the restart array and hands back the block (borrowed from b, valid until
 * reset / free). AM_OK or AM_ERR_NOMEM. */
int blk_builder_finish(blk_builder *b, const char **out, size_t *n);
/* The last key added (borrowed). */
static inline const char *blk_builder_last(const blk_builder *b, size_t *n)
{
    *n = b->last.len;
    return b->last.data;
}

/* ---- reader ----------------------------------------------------------------------- */

/* A decoded view of one block's contents (not the trailer). The bytes are borrowed. */
typedef struct blk {
    const char *data;
    size_t size;
    uint32_t restart_off;    /* where the restart array starts = end of the entries */
    uint32_t nrestarts;
} blk;

/* Checks the restart array (count, and every offset inside the entries, ascending) and
 * fills b. AM_OK or AM_ERR_CORRUPT (without a message: the caller names the file). */
int blk_init(blk *b, const char *data, size_t size);

/* What blk_check found wrong, and where (offset of the entry in the block). */
typedef enum blk_fault_kind {
    BLK_FAULT_MALFORMED,     /* an entry does not parse, or shares more than its predecessor */
    BLK_FAULT_RESTART,       /* a restart offset is not the start of an entry stored whole */
    BLK_FAULT_ORDER,         /* a key is not greater than the one before it */
    BLK_FAULT_LOW,           /* the first key is below the lower bound */
    BLK_FAULT_HIGH           /* the last key is above the upper bound */
} blk_fault_kind;
typedef struct blk_fault {
    blk_fault_kind kind;
    uint32_t off;
} blk_fault;

/* Decodes every entry of b once (REQUIRES: b filled by blk_init) and checks what a reader
 * of the block relies on: every entry parses, each restart offset is the start of an entry
 * whose key is stored whole, every key is greater than the one before it (ikey_cmp), the
 * first key is greater than lo (at least lo when lo_inclusive) and the last key is at most
 * hi. lo / hi NULL: no such bound. An empty block passes. AM_OK, AM_ERR_CORRUPT with *f
 * filled (no message: the caller names the file), or AM_ERR_NOMEM (a key too long for the
 * stack). Costs one pass over the entries, about what iterating the block costs. */
int blk_check(const blk *b, const char *lo, size_t lon, int lo_inclusive, const char *hi,
              size_t hin, blk_fault *f);

/* An iterator over one block. The key is rebuilt into an inline buffer (a heap one only
 * for keys longer than BLK_KEY_INLINE), so iterating a cached block allocates nothing.
 * It points into itself: do not copy a blk_iter after blk_iter_init. */
#define BLK_KEY_INLINE 240
typedef struct blk_iter {
    const blk *b;            /* borrowed */
    uint32_t cur;            /* offset of the current entry; restart_off when not valid */
    uint32_t next;           /* offset of the entry after it */
    int status;              /* AM_OK or AM_ERR_CORRUPT; sticky */
    const char *val;         /* borrowed from the block */
    uint32_t vlen;
    char *key;               /* keybuf or heap */
    size_t klen, kcap;
    char keybuf[BLK_KEY_INLINE];
} blk_iter;

void blk_iter_init(blk_iter *it, const blk *b);
void blk_iter_fini(blk_iter *it);            /* frees a heap key buffer */
void blk_iter_seek_first(blk_iter *it);
/* Positions at the first entry whose key >= target (ikey_cmp order). */
void blk_iter_seek(blk_iter *it, const char *target, size_t n);
void blk_iter_next(blk_iter *it);            /* REQUIRES: valid */
static inline int blk_iter_valid(const blk_iter *it)
{
    return it->status == 0 && it->cur < it->b->restart_off;
}
static inline int blk_iter_status(const blk_iter *it) { return it->status; }
/* Borrowed: the key is valid until the iterator moves; the value as long as the block. */
static inline const char *blk_iter_key(const blk_iter *it, size_t *n)
{
    *n = it->klen;
    return it->key;
}
static inline const char *blk_iter_value(const blk_iter *it, size_t *n)
{
    *n = it->vlen;
    return it->val;
}
/* Offset of the current entry inside the block (for error messages). */
static inline uint32_t blk_iter_offset(const blk_iter *it) { return it->cur; }

#endif
