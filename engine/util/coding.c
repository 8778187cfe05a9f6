/* coding.c: varints and the growable byte buffer (formats in coding.h). */
#include <stdlib.h>
#include "amethyst.h"
#include "coding.h"

char *enc_varint32(char *p, uint32_t v) { return enc_varint64(p, v); }

char *enc_varint64(char *p, uint64_t v)
{
    unsigned char *u = (unsigned char *)p;
    while (v >= 0x80) {
        *u++ = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    *u++ = (unsigned char)v;
    return (char *)u;
}

int varint_length(uint64_t v)
{
    int n = 1;
    while (v >= 0x80) { v >>= 7; n++; }
    return n;
}

const char *dec_varint64(const char *p, const char *limit, uint64_t *v)
{
    uint64_t r = 0;
    for (int shift = 0; shift <= 63 && p < limit; shift += 7) {
        uint64_t b = (unsigned char)*p++;
        if (shift == 63 && b > 1) return NULL;      /* overflows 64 bits */
        r |= (b & 0x7f) << shift;
        if (!(b & 0x80)) { *v = r; return p; }
    }
    return NULL;
}

const char *dec_varint32(const char *p, const char *limit, uint32_t *v)
{
    if (p < limit && !((unsigned char)*p & 0x80)) {   /* the common one-byte case */
        *v = (unsigned char)*p;
        return p + 1;
    }
    uint64_t r;
    p = dec_varint64(p, limit, &r);
    if (!p || r > UINT32_MAX) return NULL;
    *v = (uint32_t)r;
    return p;
}

const char *dec_lenprefixed(const char *p, const char *limit, const char **data, uint32_t *n)
{
    p = dec_varint32(p, limit, n);
    if (!p || (size_t)(limit - p) < *n) return NULL;
    *data = p;
    return p + *n;
}

void buf_init(am_buf *b) { b->data = NULL; b->len = b->cap = 0; b->borrowed = 0; }

void buf_init_borrowed(am_buf *b, char *mem, size_t cap)
{
    b->data = mem;
    b->len = 0;
    b->cap = cap;
    b->borrowed = 1;
}

void buf_free(am_buf *b)
{
    if (!b->borrowed) free(b->data);
    buf_init(b);
}

int buf_reserve(am_buf *b, size_t extra)
{
    if (b->cap - b->len >= extra) return AM_OK;
    size_t need = b->len + extra;
    if (need < b->len) return AM_ERR_NOMEM;          /* overflow */
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need) cap = cap * 2 > cap ? cap * 2 : need;
    char *d;
    if (b->borrowed) {
        if ((d = malloc(cap)) && b->len) memcpy(d, b->data, b->len);
    } else {
        d = realloc(b->data, cap);
    }
    if (!d) return AM_ERR_NOMEM;
    b->borrowed = 0;
    b->data = d;
    b->cap = cap;
    return AM_OK;
}

int buf_append(am_buf *b, const void *p, size_t n)
{
    if (buf_reserve(b, n)) return AM_ERR_NOMEM;
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
    return AM_OK;
}

int buf_put_fixed32(am_buf *b, uint32_t v)
{
    char t[4];
    enc_fixed32(t, v);
    return buf_append(b, t, 4);
}

int buf_put_fixed64(am_buf *b, uint64_t v)
{
    char t[8];
    enc_fixed64(t, v);
    return buf_append(b, t, 8);
}

int buf_put_varint32(am_buf *b, uint32_t v) { return buf_put_varint64(b, v); }

int buf_put_varint64(am_buf *b, uint64_t v)
{
    char t[10];
    return buf_append(b, t, (size_t)(enc_varint64(t, v) - t));
}

int buf_put_lenprefixed(am_buf *b, const void *p, size_t n)
{
    if (n > UINT32_MAX) return AM_ERR_INVALID;
    if (buf_reserve(b, 5 + n)) return AM_ERR_NOMEM;
    buf_put_varint32(b, (uint32_t)n);
    return buf_append(b, p, n);
}
