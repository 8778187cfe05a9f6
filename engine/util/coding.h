/* coding.h: fixed-width little-endian and varint encodings used by every on-disk format
 * (docs/format.md), and a growable byte buffer.
 * Decoders take (p, limit) and return the byte after what they read, or NULL when the
 * input is truncated or malformed; they never read past limit. */
#ifndef AM_UTIL_CODING_H
#define AM_UTIL_CODING_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline void enc_fixed32(char *p, uint32_t v) { memcpy(p, &v, 4); } /* x86/arm LE */
static inline void enc_fixed64(char *p, uint64_t v) { memcpy(p, &v, 8); }
static inline uint32_t dec_fixed32(const char *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline uint64_t dec_fixed64(const char *p) { uint64_t v; memcpy(&v, p, 8); return v; }

/* Writes v as a varint at p (at most 5 / 10 bytes); returns the byte after. */
char *enc_varint32(char *p, uint32_t v);
char *enc_varint64(char *p, uint64_t v);
int varint_length(uint64_t v);
const char *dec_varint32(const char *p, const char *limit, uint32_t *v);
const char *dec_varint64(const char *p, const char *limit, uint64_t *v);
/* A varint32 length followed by that many bytes. */
const char *dec_lenprefixed(const char *p, const char *limit, const char **data, uint32_t *n);

/* A growable buffer. Functions return 0 or AM_ERR_NOMEM (and then leave buf as it was). */
typedef struct am_buf {
    char *data;       /* owned, unless borrowed */
    size_t len, cap;
    int borrowed;     /* data is the caller's (e.g. on the stack): copied out on growth,
                         never freed */
} am_buf;
/* Starts b on caller memory (no allocation until it outgrows cap). */
void buf_init_borrowed(am_buf *b, char *mem, size_t cap);
void buf_init(am_buf *b);
void buf_free(am_buf *b);              /* frees data, leaves b empty and reusable */
static inline void buf_clear(am_buf *b) { b->len = 0; }
int buf_reserve(am_buf *b, size_t extra); /* ensures cap >= len + extra */
int buf_append(am_buf *b, const void *p, size_t n);
int buf_put_fixed32(am_buf *b, uint32_t v);
int buf_put_fixed64(am_buf *b, uint64_t v);
int buf_put_varint32(am_buf *b, uint32_t v);
int buf_put_varint64(am_buf *b, uint64_t v);
int buf_put_lenprefixed(am_buf *b, const void *p, size_t n); /* varint32 len + bytes */

#endif
