/* wal_writer.c: appends framed records to a log file (the WAL and the MANIFEST).
 *
 * Record framing (docs/format.md), all integers little-endian:
 *   bytes 0..3  fixed32 crc32c_mask(crc32c(type byte + payload))
 *   bytes 4..7  fixed32 payload length n (0 .. WAL_MAX_RECORD)
 *   byte  8     type: WAL_FULL (1), the only type; on disk, never renumber
 *   bytes 9..   n payload bytes
 * Records follow each other with no padding and no block structure. Header and payload go
 * to the env in one append, so a crash tears at most the last record. */
#include <stdlib.h>
#include <string.h>

#include "wal.h"
#include "../util/crc32c.h"

/* After a record larger than this, the assembly buffer is released, not kept. */
#define KEEP_BUF_BYTES (4u << 20)

struct wal_writer {
    am_env *env;                        /* borrowed */
    am_file *file;                      /* owned */
    char *path;                         /* owned, for messages */
    am_buf buf;                         /* owned: header + payload of the record in flight */
    uint64_t size;                      /* bytes appended so far */
    int err;                            /* sticky: first failed append or sync */
};

int wal_writer_open(am_env *env, const char *path, wal_writer **out)
{
    int rc = AM_OK;
    wal_writer *w = calloc(1, sizeof *w);
    *out = NULL;
    if (!w || !(w->path = strdup(path))) {
        rc = AM_ERR_NOMEM;
        goto out;
    }
    w->env = env;
    buf_init(&w->buf);
    /* A mapped log when the env offers one: appends then cost no system call. */
    rc = env->ops->open_log ? env->ops->open_log(env, path, &w->file)
                            : env_open_writable(env, path, &w->file);
    if (rc != AM_OK) goto out;
    *out = w;
out:
    if (rc != AM_OK && w) {
        free(w->path);
        free(w);
    }
    return rc;
}

int wal_writer_add(wal_writer *w, const void *payload, size_t n)
{
    int rc = AM_OK;
    if (w->err) return w->err;
    if (n > WAL_MAX_RECORD)         /* refused before anything is written: not sticky */
        return am_env_error(w->env, AM_ERR_INVALID, "%s: record of %zu bytes exceeds the "
                            "log's limit of %lu", w->path, n, (unsigned long)WAL_MAX_RECORD);

    buf_clear(&w->buf);
    if (buf_reserve(&w->buf, WAL_HEADER + n)) return AM_ERR_NOMEM;   /* nothing written */
    char *h = w->buf.data;
    h[8] = (char)WAL_FULL;
    uint32_t crc = crc32c_extend(crc32c_value(h + 8, 1), payload, n);
    enc_fixed32(h, crc32c_mask(crc));
    enc_fixed32(h + 4, (uint32_t)n);
    if (n) memcpy(h + WAL_HEADER, payload, n);
    w->buf.len = WAL_HEADER + n;

    rc = env_append(w->env, w->file, w->buf.data, w->buf.len);
    if (rc == AM_OK) w->size += w->buf.len;
    else w->err = rc;               /* part of the record may be on disk: stop here */
    if (w->buf.cap > KEEP_BUF_BYTES) buf_free(&w->buf);
    return rc;
}

int wal_writer_sync(wal_writer *w)
{
    if (w->err) return w->err;
    int rc = env_sync(w->env, w->file);
    /* After a failed fsync the kernel may have dropped the dirty pages: the file's
       contents are unknown, so no later record may claim to be durable. */
    if (rc != AM_OK) w->err = rc;
    return rc;
}

uint64_t wal_writer_size(const wal_writer *w)
{
    return w->size;
}

int wal_writer_close(wal_writer *w)
{
    if (!w) return AM_OK;
    int rc = env_close(w->env, w->file);
    buf_free(&w->buf);
    free(w->path);
    free(w);
    return rc;
}
