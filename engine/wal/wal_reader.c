/* wal_reader.c: reads back the records of a log file written by wal_writer.c (framing
 * described there and in docs/format.md) and tells a torn tail from corruption.
 *
 * The file is streamed through one buffer in large chunks (READ_CHUNK); a record that
 * does not fit grows the buffer to its size, which is checked against the file size and
 * WAL_MAX_RECORD first, so a damaged length never makes the reader allocate for nothing.
 * Every access is bounded by the bytes actually in the buffer. */
#include <stdlib.h>
#include <string.h>

#include "wal.h"
#include "../util/crc32c.h"

#define READ_CHUNK (256u << 10)

struct wal_reader {
    am_env *env;                        /* borrowed */
    am_file *file;                      /* owned */
    char *path;                         /* owned, for messages */
    uint64_t fsize;                     /* file size at open (less if it shrank since) */
    char *buf;                          /* owned: file bytes [buf_off, buf_off + end) */
    size_t cap, pos, end;               /* unread bytes are buf[pos .. end) */
    uint64_t buf_off;
    int state;                          /* AM_OK reading; AM_NOT_FOUND at end; or error */
    int torn;                           /* the log ended in a torn record */
    uint64_t valid;                     /* end of the last good record */
    uint64_t rec_off;                   /* start of the last record returned */
};

int wal_reader_open(am_env *env, const char *path, wal_reader **out)
{
    int rc = AM_OK;
    wal_reader *r = calloc(1, sizeof *r);
    *out = NULL;
    if (!r || !(r->path = strdup(path))) {
        rc = AM_ERR_NOMEM;
        goto out;
    }
    r->env = env;
    rc = env_open_readable(env, path, &r->file);
    if (rc == AM_OK) rc = env_fsize(env, r->file, &r->fsize);
    if (rc != AM_OK) goto out;
    *out = r;
out:
    if (rc != AM_OK && r) {
        if (r->file) env_close(env, r->file);
        free(r->path);
        free(r);
    }
    return rc;
}

void wal_reader_close(wal_reader *r)
{
    if (!r) return;
    env_close(r->env, r->file);
    free(r->buf);
    free(r->path);
    free(r);
}

/* Makes at least need unread bytes available, or all that the file still holds when it
 * has fewer. Moves the buffer contents (pointers into it go stale). Returns AM_OK, the
 * env's read error, or AM_ERR_NOMEM (the reader stays usable). */
static int fill(wal_reader *r, size_t need)
{
    if (r->end - r->pos >= need) return AM_OK;
    if (r->buf_off + r->end >= r->fsize) return AM_OK;          /* nothing more to read */
    size_t avail = r->end - r->pos;
    if (r->pos) {                       /* keep the unread bytes, drop the rest */
        memmove(r->buf, r->buf + r->pos, avail);
        r->buf_off += r->pos;
        r->pos = 0;
        r->end = avail;
    }
    if (r->cap < need) {
        size_t cap = need < READ_CHUNK ? READ_CHUNK : need;
        char *b = realloc(r->buf, cap);
        if (!b) return AM_ERR_NOMEM;
        r->buf = b;
        r->cap = cap;
    }
    while (r->end < need) {
        uint64_t off = r->buf_off + r->end;
        if (off >= r->fsize) break;
        size_t want = r->cap - r->end;
        if (want > r->fsize - off) want = (size_t)(r->fsize - off);
        size_t got = 0;
        int rc = env_pread(r->env, r->file, off, want, r->buf + r->end, &got);
        if (rc != AM_OK) return rc;
        r->end += got;
        if (got < want) {               /* the file shrank since open: it ends here */
            r->fsize = off + got;
            break;
        }
    }
    return AM_OK;
}

static int stop_torn(wal_reader *r, uint64_t off)
{
    r->torn = 1;
    r->valid = off;
    r->state = AM_NOT_FOUND;
    return AM_NOT_FOUND;
}

/* The record at off (declared to end at `end`, within the file) failed a check: a torn
 * tail if every byte from its declared end to the end of the file is zero (nothing was
 * appended after it: a crash during its own append, into space reserved ahead or at the
 * end of the file), else corruption. */
static int bad_record(wal_reader *r, uint64_t off, uint64_t end, const char *why)
{
    uint64_t skip = end - off;            /* bytes of the record itself */
    for (;;) {
        size_t avail = r->end - r->pos;
        if (skip >= avail) {
            skip -= avail;
            r->pos = r->end;
        } else {
            r->pos += (size_t)skip;
            skip = 0;
            for (size_t i = r->pos; i < r->end; i++) {
                if (r->buf[i] != 0) {
                    r->state = am_env_error(r->env, AM_ERR_CORRUPT,
                                            "%s: corrupt log record at offset %llu: %s", r->path,
                                            (unsigned long long)off, why);
                    return r->state;
                }
            }
            r->pos = r->end;
        }
        if (r->buf_off + r->end >= r->fsize) return stop_torn(r, off);
        int rc = fill(r, 1);
        if (rc != AM_OK) return rc;
        if (r->end == r->pos) return stop_torn(r, off);          /* file shrank */
    }
}

int wal_reader_next(wal_reader *r, const char **rec, size_t *n)
{
    *rec = NULL;
    *n = 0;
    if (r->state != AM_OK) return r->state;

    uint64_t off = r->buf_off + r->pos;
    int rc = fill(r, WAL_HEADER);
    if (rc != AM_OK) return rc;
    size_t avail = r->end - r->pos;
    if (avail == 0) {                   /* a clean end */
        r->valid = off;
        r->state = AM_NOT_FOUND;
        return AM_NOT_FOUND;
    }
    if (avail < WAL_HEADER) return stop_torn(r, off);            /* a cut header */

    const char *h = r->buf + r->pos;
    uint32_t len = dec_fixed32(h + 4);
    unsigned type = (unsigned char)h[8];
    if (off + WAL_HEADER + len > r->fsize) return stop_torn(r, off);   /* ends past EOF */
    uint64_t rec_end = off + WAL_HEADER + len;
    if (len > WAL_MAX_RECORD) return bad_record(r, off, rec_end, "length too large");
    if (type != WAL_FULL) return bad_record(r, off, rec_end, "unknown record type");

    rc = fill(r, WAL_HEADER + (size_t)len);
    if (rc != AM_OK) return rc;
    if (r->end - r->pos < WAL_HEADER + (size_t)len) return stop_torn(r, off);  /* shrank */
    h = r->buf + r->pos;
    uint32_t want = crc32c_unmask(dec_fixed32(h));
    uint32_t got = crc32c_extend(crc32c_value(h + 8, 1), h + WAL_HEADER, len);
    if (want != got) return bad_record(r, off, rec_end, "checksum mismatch");

    r->pos += WAL_HEADER + (size_t)len;
    r->rec_off = off;
    r->valid = off + WAL_HEADER + len;
    *rec = h + WAL_HEADER;
    *n = len;
    return AM_OK;
}

uint64_t wal_reader_offset(const wal_reader *r)
{
    return r->rec_off;
}

int wal_reader_torn(const wal_reader *r, uint64_t *valid_bytes)
{
    if (valid_bytes) *valid_bytes = r->valid;
    return r->torn;
}
