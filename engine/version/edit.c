/* edit.c: version edits (the MANIFEST's records): building them, and their encoding.
 *
 * An encoded edit is a sequence of fields, each a varint32 tag followed by its value. The
 * tags below are written to disk: never renumber them, only add new ones.
 *
 *   tag 1 LOG_NUMBER  varint64 log number (WALs below it are obsolete)
 *   tag 2 NEXT_FILE   varint64 next unused file number
 *   tag 3 LAST_SEQ    varint64 last sequence number used
 *   tag 4 STRATEGY    varint32 length (1..31) + that many bytes (no NUL) of the name
 *   tag 5 DELETED     varint32 level | varint64 file id
 *   tag 6 ADDED       varint32 level | varint64 file id | varint64 run id |
 *                     varint32 tag (0 leveled, 1 tiered) |
 *                     varint64 bytes | varint64 entries | varint64 deletions |
 *                     varint64 min_seq | varint64 max_seq |
 *                     varint64 reads | varint64 writes |
 *                     varint32 length + smallest internal key (>= 8 bytes) |
 *                     varint32 length + largest internal key (>= 8 bytes)
 *
 * Fields 1-4 appear at most once. The encoder writes 1, 2, 3, 4, every 5, every 6 in that
 * order; the decoder accepts any order. An unknown tag, a truncated or out-of-range value,
 * or a repeated field 1-4 makes the record AM_ERR_CORRUPT (the record's checksum already
 * passed, so such a record was written by a newer or broken engine). docs/format.md
 * has the same table. edit_check then checks a decoded edit's values (key order, sequence
 * range, numbers, nothing listed twice); recovery runs both on every record. */
#include "edit.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "amethyst.h"
#include "../util/ikey.h"
#include "../util/vec.h"

/* On disk: never renumber. */
enum {
    TAG_LOG_NUMBER = 1,
    TAG_NEXT_FILE = 2,
    TAG_LAST_SEQ = 3,
    TAG_STRATEGY = 4,
    TAG_DELETED = 5,
    TAG_ADDED = 6,
};

void edit_init(version_edit *e)
{
    memset(e, 0, sizeof(*e));
}

static void desc_free_keys(seg_desc *d)
{
    free(d->smallest);
    free(d->largest);
    d->smallest = d->largest = NULL;
    d->smallest_len = d->largest_len = 0;
}

void edit_clear(version_edit *e)
{
    for (size_t i = 0; i < e->nadded; i++) desc_free_keys(&e->added[i]);
    free(e->added);
    free(e->deleted);
    edit_init(e);
}

int edit_delete_segment(version_edit *e, int level, uint64_t id)
{
    int rc = vec_reserve(&e->deleted, &e->cap_deleted, e->ndeleted + 1, sizeof(seg_ref));
    if (rc) return rc;
    e->deleted[e->ndeleted].level = level;
    e->deleted[e->ndeleted].id = id;
    e->ndeleted++;
    return AM_OK;
}

static char *dup_bytes(const char *p, size_t n)
{
    char *q = malloc(n ? n : 1);
    if (q && n) memcpy(q, p, n);
    return q;
}

int edit_add_segment(version_edit *e, const seg_desc *d)
{
    int rc = vec_reserve(&e->added, &e->cap_added, e->nadded + 1, sizeof(seg_desc));
    if (rc) return rc;
    seg_desc c = *d;
    c.smallest = dup_bytes(d->smallest, d->smallest_len);
    c.largest = dup_bytes(d->largest, d->largest_len);
    if (!c.smallest || !c.largest) {
        free(c.smallest);
        free(c.largest);
        return AM_ERR_NOMEM;
    }
    e->added[e->nadded++] = c;
    return AM_OK;
}

/* Encoded size bound of one added segment, so the buffer grows once per segment. */
static size_t desc_bound(const seg_desc *d)
{
    return 1 + 5 + 10 + 10 + 5 + 7 * 10 + 5 + d->smallest_len + 5 + d->largest_len;
}

static char *put_lenprefixed(char *p, const char *s, size_t n)
{
    p = enc_varint32(p, (uint32_t)n);
    if (n) memcpy(p, s, n);
    return p + n;
}

int edit_encode(const version_edit *e, am_buf *out)
{
    int rc = AM_OK;
    if (e->has_log_number &&
        ((rc = buf_put_varint32(out, TAG_LOG_NUMBER)) || (rc = buf_put_varint64(out, e->log_number))))
        return rc;
    if (e->has_next_file &&
        ((rc = buf_put_varint32(out, TAG_NEXT_FILE)) || (rc = buf_put_varint64(out, e->next_file))))
        return rc;
    if (e->has_last_seq &&
        ((rc = buf_put_varint32(out, TAG_LAST_SEQ)) || (rc = buf_put_varint64(out, e->last_seq))))
        return rc;
    if (e->has_strategy) {
        size_t n = strnlen(e->strategy, sizeof(e->strategy));
        assert(n > 0 && n < sizeof(e->strategy));
        if ((rc = buf_put_varint32(out, TAG_STRATEGY)) ||
            (rc = buf_put_lenprefixed(out, e->strategy, n)))
            return rc;
    }
    for (size_t i = 0; i < e->ndeleted; i++) {
        assert(e->deleted[i].level >= 0 && e->deleted[i].level < AM_MAX_LEVELS);
        if ((rc = buf_put_varint32(out, TAG_DELETED)) ||
            (rc = buf_put_varint32(out, (uint32_t)e->deleted[i].level)) ||
            (rc = buf_put_varint64(out, e->deleted[i].id)))
            return rc;
    }
    for (size_t i = 0; i < e->nadded; i++) {
        const seg_desc *d = &e->added[i];
        assert(d->level >= 0 && d->level < AM_MAX_LEVELS);
        assert(d->smallest_len >= IKEY_TRAILER && d->largest_len >= IKEY_TRAILER);
        if ((rc = buf_reserve(out, desc_bound(d)))) return rc;
        char *p = out->data + out->len;
        p = enc_varint32(p, TAG_ADDED);
        p = enc_varint32(p, (uint32_t)d->level);
        p = enc_varint64(p, d->id);
        p = enc_varint64(p, d->run);
        p = enc_varint32(p, (uint32_t)d->tag);
        p = enc_varint64(p, d->bytes);
        p = enc_varint64(p, d->entries);
        p = enc_varint64(p, d->deletions);
        p = enc_varint64(p, d->min_seq);
        p = enc_varint64(p, d->max_seq);
        p = enc_varint64(p, d->reads);
        p = enc_varint64(p, d->writes);
        p = put_lenprefixed(p, d->smallest, d->smallest_len);
        p = put_lenprefixed(p, d->largest, d->largest_len);
        out->len = (size_t)(p - out->data);
    }
    return AM_OK;
}

/* Reads a level (0 .. AM_MAX_LEVELS-1); NULL if truncated or out of range. */
static const char *get_level(const char *p, const char *limit, int *level)
{
    uint32_t v;
    p = dec_varint32(p, limit, &v);
    if (!p || v >= AM_MAX_LEVELS) return NULL;
    *level = (int)v;
    return p;
}

/* Reads one ADDED field into d (keys malloc'd only when everything parsed). */
static const char *get_desc(const char *p, const char *limit, seg_desc *d, int *nomem)
{
    uint32_t tag;
    const char *s, *l;
    uint32_t sn, ln;
    memset(d, 0, sizeof(*d));
    if (!(p = get_level(p, limit, &d->level))) return NULL;
    if (!(p = dec_varint64(p, limit, &d->id))) return NULL;
    if (!(p = dec_varint64(p, limit, &d->run))) return NULL;
    if (!(p = dec_varint32(p, limit, &tag)) || (tag != AM_TAG_LEVELED && tag != AM_TAG_TIERED))
        return NULL;
    d->tag = (int)tag;
    if (!(p = dec_varint64(p, limit, &d->bytes))) return NULL;
    if (!(p = dec_varint64(p, limit, &d->entries))) return NULL;
    if (!(p = dec_varint64(p, limit, &d->deletions))) return NULL;
    if (!(p = dec_varint64(p, limit, &d->min_seq))) return NULL;
    if (!(p = dec_varint64(p, limit, &d->max_seq))) return NULL;
    if (!(p = dec_varint64(p, limit, &d->reads))) return NULL;
    if (!(p = dec_varint64(p, limit, &d->writes))) return NULL;
    if (!(p = dec_lenprefixed(p, limit, &s, &sn)) || sn < IKEY_TRAILER) return NULL;
    if (!(p = dec_lenprefixed(p, limit, &l, &ln)) || ln < IKEY_TRAILER) return NULL;
    d->smallest = dup_bytes(s, sn);
    d->largest = dup_bytes(l, ln);
    if (!d->smallest || !d->largest) {
        desc_free_keys(d);
        *nomem = 1;
        return NULL;
    }
    d->smallest_len = sn;
    d->largest_len = ln;
    return p;
}

int edit_decode(version_edit *e, const char *p, size_t n)
{
    assert(e->nadded == 0 && e->ndeleted == 0 && !e->has_log_number && !e->has_next_file &&
           !e->has_last_seq && !e->has_strategy);
    const char *limit = p + n;
    int rc = AM_OK;
    while (p < limit) {
        uint32_t tag;
        if (!(p = dec_varint32(p, limit, &tag))) goto corrupt;
        switch (tag) {
        case TAG_LOG_NUMBER:
            if (e->has_log_number || !(p = dec_varint64(p, limit, &e->log_number))) goto corrupt;
            e->has_log_number = 1;
            break;
        case TAG_NEXT_FILE:
            if (e->has_next_file || !(p = dec_varint64(p, limit, &e->next_file))) goto corrupt;
            e->has_next_file = 1;
            break;
        case TAG_LAST_SEQ:
            if (e->has_last_seq || !(p = dec_varint64(p, limit, &e->last_seq))) goto corrupt;
            e->has_last_seq = 1;
            break;
        case TAG_STRATEGY: {
            const char *s;
            uint32_t sn;
            if (e->has_strategy || !(p = dec_lenprefixed(p, limit, &s, &sn))) goto corrupt;
            if (sn == 0 || sn >= sizeof(e->strategy) || memchr(s, 0, sn)) goto corrupt;
            memcpy(e->strategy, s, sn);
            e->strategy[sn] = 0;
            e->has_strategy = 1;
            break;
        }
        case TAG_DELETED: {
            int level;
            uint64_t id;
            if (!(p = get_level(p, limit, &level)) || !(p = dec_varint64(p, limit, &id)))
                goto corrupt;
            if ((rc = edit_delete_segment(e, level, id))) goto fail;
            break;
        }
        case TAG_ADDED: {
            int nomem = 0;
            if ((rc = vec_reserve(&e->added, &e->cap_added, e->nadded + 1, sizeof(seg_desc))))
                goto fail;
            if (!(p = get_desc(p, limit, &e->added[e->nadded], &nomem))) {
                if (nomem) { rc = AM_ERR_NOMEM; goto fail; }
                goto corrupt;
            }
            e->nadded++;
            break;
        }
        default:
            goto corrupt;
        }
    }
    return AM_OK;
corrupt:
    rc = AM_ERR_CORRUPT;
fail:
    edit_clear(e);
    return rc;
}

/* ---- checks of a decoded edit ---- */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The first number listed twice among n (sorted in place), in *dup; 0 if none. */
static int find_twice(uint64_t *ids, size_t n, uint64_t *dup)
{
    if (n > 1) qsort(ids, n, sizeof *ids, cmp_u64);
    for (size_t i = 1; i < n; i++)
        if (ids[i] == ids[i - 1]) {
            *dup = ids[i];
            return 1;
        }
    return 0;
}

static int check_desc(const seg_desc *d, char *why, size_t cap)
{
    if (d->level < 0 || d->level >= AM_MAX_LEVELS)
        snprintf(why, cap, "adds segment %" PRIu64 " at level %d (levels are 0 .. %d)", d->id,
                 d->level, AM_MAX_LEVELS - 1);
    else if (d->id == 0 || d->id > EDIT_MAX_FILE_NUMBER)
        snprintf(why, cap, "adds a segment with file number %" PRIu64 " (1 .. %" PRIu64 ")",
                 d->id, (uint64_t)EDIT_MAX_FILE_NUMBER);
    else if (d->tag != AM_TAG_LEVELED && d->tag != AM_TAG_TIERED)
        snprintf(why, cap, "adds segment %" PRIu64 " with tag %d (0 leveled or 1 tiered)",
                 d->id, d->tag);
    else if (d->smallest_len < IKEY_TRAILER || d->largest_len < IKEY_TRAILER)
        snprintf(why, cap, "adds segment %" PRIu64 " with a key shorter than 8 bytes", d->id);
    else if (ikey_cmp(d->smallest, d->smallest_len, d->largest, d->largest_len) > 0)
        snprintf(why, cap, "adds segment %" PRIu64 " whose smallest key sorts after its "
                 "largest", d->id);
    else if (d->min_seq > d->max_seq)
        snprintf(why, cap, "adds segment %" PRIu64 " with min_seq %" PRIu64 " above max_seq "
                 "%" PRIu64, d->id, d->min_seq, d->max_seq);
    else if (d->max_seq > AM_MAX_SEQ)
        snprintf(why, cap, "adds segment %" PRIu64 " with max_seq %" PRIu64 " above the "
                 "largest sequence number %" PRIu64, d->id, d->max_seq, (uint64_t)AM_MAX_SEQ);
    else
        return AM_OK;
    return AM_ERR_CORRUPT;
}

int edit_check(const version_edit *e, char *why, size_t cap)
{
    int rc = AM_OK;
    /* A sequence or file number past these could not be handed out without wrapping
       onto one in use (a new write, or file, would then shadow or replace an old one). */
    if (e->has_last_seq && e->last_seq > AM_MAX_SEQ) {
        snprintf(why, cap, "records last sequence %" PRIu64 ", above the largest sequence "
                 "number %" PRIu64, e->last_seq, (uint64_t)AM_MAX_SEQ);
        return AM_ERR_CORRUPT;
    }
    if ((e->has_next_file && e->next_file > EDIT_MAX_FILE_NUMBER) ||
        (e->has_log_number && e->log_number > EDIT_MAX_FILE_NUMBER)) {
        snprintf(why, cap, "records file number %" PRIu64 ", above the largest this engine "
                 "hands out (%" PRIu64 ")",
                 e->has_next_file && e->next_file > EDIT_MAX_FILE_NUMBER ? e->next_file
                                                                          : e->log_number,
                 (uint64_t)EDIT_MAX_FILE_NUMBER);
        return AM_ERR_CORRUPT;
    }
    for (size_t i = 0; rc == AM_OK && i < e->ndeleted; i++) {
        const seg_ref *r = &e->deleted[i];
        if (r->level < 0 || r->level >= AM_MAX_LEVELS || r->id == 0) {
            snprintf(why, cap, "deletes segment %" PRIu64 " at level %d", r->id, r->level);
            rc = AM_ERR_CORRUPT;
        }
    }
    for (size_t i = 0; rc == AM_OK && i < e->nadded; i++) rc = check_desc(&e->added[i], why, cap);
    if (rc != AM_OK) return rc;
    size_t n = e->nadded > e->ndeleted ? e->nadded : e->ndeleted;
    uint64_t *ids = n ? malloc(n * sizeof *ids) : NULL;
    if (n && !ids) return AM_ERR_NOMEM;
    uint64_t dup = 0;
    for (size_t i = 0; i < e->nadded; i++) ids[i] = e->added[i].id;
    if (find_twice(ids, e->nadded, &dup)) {
        snprintf(why, cap, "adds segment %" PRIu64 " twice", dup);
        rc = AM_ERR_CORRUPT;
    }
    for (size_t i = 0; rc == AM_OK && i < e->ndeleted; i++) ids[i] = e->deleted[i].id;
    if (rc == AM_OK && find_twice(ids, e->ndeleted, &dup)) {
        snprintf(why, cap, "deletes segment %" PRIu64 " twice", dup);
        rc = AM_ERR_CORRUPT;
    }
    free(ids);
    return rc;
}
