/* merge.c: merge_run, the one merge kernel (merge.h). Flushes and compactions both walk a
 * sorted internal iterator through it: it drops what no reader can see and writes SSTables
 * (sst_builder), split at target_file_bytes between user keys.
 *
 * Visibility by stripes: with live snapshots s_0 < s_1 < ... < s_{k-1}, an entry of
 * sequence q belongs to stripe i = the index of the first snapshot >= q (k when none: only
 * the newest readers see it). A reader at s_i sees exactly the stripes <= i. Within one
 * user key (newest first) an entry is kept when it is the first of its key or its stripe
 * differs from that of the entry just before it; otherwise that newer entry hides it from
 * every reader that could see it. This is the rule of merge.h ("a snapshot lies between
 * it and the newer entry kept before it") in a form needing no lookahead.
 *
 * Bottommost: nothing older of the key exists below the inputs. A tombstone in stripe 0
 * (no snapshot older than it) is then seen by every reader that could see anything older
 * of its key, so it is dropped, and the older entries of its key fall to the stripe rule
 * above (they share stripe 0 with it). A tombstone above stripe 0 is kept: an older
 * snapshot may still read a value it hides from newer readers.
 *
 * Input order: every entry must follow the one before it in internal-key order (that is
 * what sst_builder_add requires). Readers check the order of what they read, but an input
 * may still break it (an unchecked source, two overlapping files that a run lists as
 * disjoint, one write recovered into two files): each key is compared with the previous
 * one, which costs a trailer compare beyond the user-key compare the drop rules make
 * anyway, and a key not greater than the previous one (the same internal key twice
 * included: a sequence number names one write, so a second copy means the tree is wrong
 * somewhere) fails the merge with AM_ERR_CORRUPT (outputs removed) rather than reaching
 * the builder or being dropped as a shadowed version.
 *
 * Writes no format of its own: outputs are SSTables (sst_builder.c). Thread safety: one
 * call runs on one thread; it takes no lock (new_file_number locks for itself). */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "amethyst.h"
#include "compact/merge.h"
#include "version/fname.h"
#include "util/coding.h"
#include "util/ikey.h"
#include "util/vec.h"

#define STOP_CHECK_EVERY 256
#define PATH_CAP 4096

void merge_result_clear(merge_result *r)
{
    for (size_t i = 0; i < r->nout; i++) {
        free(r->out[i].smallest);
        free(r->out[i].largest);
    }
    free(r->out);
    memset(r, 0, sizeof(*r));
}

/* Up to 32 bytes of user key k for a message: printable ASCII as is, the rest as \xNN. */
static void key_text(char *out, size_t cap, const char *k, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0, i = 0;
    for (; i < n && i < 32 && o + 5 < cap; i++) {
        unsigned char c = (unsigned char)k[i];
        if (c >= 0x20 && c < 0x7f && c != '\\') {
            out[o++] = (char)c;
        } else {
            out[o++] = '\\'; out[o++] = 'x';
            out[o++] = hex[c >> 4]; out[o++] = hex[c & 15];
        }
    }
    if (i < n && o + 4 < cap) { memcpy(out + o, "...", 3); o += 3; }
    out[o] = 0;
}

/* The error for input entry `entry` (key k, kn bytes), which does not follow the previous
 * entry (user key prev, pn bytes, trailer ptrailer). */
static int out_of_order(const merge_params *p, uint64_t entry, const char *k, size_t kn,
                        const char *prev, size_t pn, uint64_t ptrailer)
{
    char a[200], b[200];
    key_text(a, sizeof a, k, kn - IKEY_TRAILER);
    key_text(b, sizeof b, prev, pn);
    return am_env_error(p->env, AM_ERR_CORRUPT, "merge into %s: input out of order: entry "
                        "%llu, key '%s' seq %llu, is not after the previous entry, key '%s' "
                        "seq %llu", p->dir, (unsigned long long)entry, a,
                        (unsigned long long)ikey_seq(k, kn), b,
                        (unsigned long long)(ptrailer >> 8));
}

/* Stripe of seq: index of the first snapshot >= seq, n when none. */
static size_t stripe_of(const uint64_t *snap, size_t n, uint64_t seq)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (snap[mid] < seq) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

typedef struct merger {
    const merge_params *p;
    merge_result *r;
    sst_builder *b;               /* the output being written, or NULL */
    uint64_t b_id;
    char path[PATH_CAP];          /* of b */
} merger;

/* Starts a new output file. On failure no file is left behind. */
static int open_output(merger *m)
{
    m->b_id = m->p->new_file_number(m->p->arg);
    fname_sst(m->path, sizeof(m->path), m->p->dir, m->b_id);
    int rc = sst_builder_new(m->p->env, m->path, &m->p->sst, &m->b);
    if (rc != AM_OK) {
        m->b = NULL;
        /* Only if it was created: a failed remove would replace the env's message. */
        if (env_exists(m->p->env, m->path) == 1) (void)env_remove(m->p->env, m->path);
    }
    return rc;
}

/* Finishes the current output and records it in r. On failure the file is removed. */
static int close_output(merger *m)
{
    merge_result *r = m->r;
    if (vec_reserve_min(&r->out, &r->cap_out, r->nout + 1, sizeof *r->out, 4) != AM_OK)
        return AM_ERR_NOMEM;           /* b stays open: the caller abandons it */
    sst_file_info fi;
    memset(&fi, 0, sizeof(fi));
    sst_builder *b = m->b;
    m->b = NULL;
    int rc = sst_builder_finish(b, &fi);
    if (rc != AM_OK) {
        sst_file_info_clear(&fi);
        (void)env_remove(m->p->env, m->path);
        return rc;
    }
    seg_desc *d = &r->out[r->nout++];
    memset(d, 0, sizeof(*d));
    d->id = m->b_id;
    d->level = m->p->out_level;
    d->run = m->p->out_run;
    d->tag = m->p->out_tag;
    d->bytes = fi.file_bytes;
    d->entries = fi.entries;
    d->deletions = fi.deletions;
    d->min_seq = fi.min_seq;
    d->max_seq = fi.max_seq;
    d->smallest = fi.smallest; d->smallest_len = fi.smallest_len;   /* ownership moves */
    d->largest = fi.largest;   d->largest_len = fi.largest_len;
    r->bytes_written += fi.file_bytes;
    return AM_OK;
}

int merge_run(am_iiter *input, const merge_params *p, merge_result *r)
{
    memset(r, 0, sizeof(*r));
    merger m = { .p = p, .r = r };
    am_buf cur;                          /* user key of the entries being walked */
    buf_init(&cur);
    int rc = AM_OK, have_key = 0, wrote_key = 0;
    uint64_t prev_trailer = 0;           /* of the previous entry (its user key: cur) */
    size_t prev_stripe = 0, since_check = 0;
    const size_t nsnap = p->snapshots ? p->nsnapshots : 0;

    size_t kn;
    iter_seek_first(input);
    const char *k = iter_key_if_valid(input, &kn);
    for (; k; k = iter_next_key(input, &kn)) {
        if (p->stop && ++since_check >= STOP_CHECK_EVERY) {
            since_check = 0;
            if (atomic_load_explicit(p->stop, memory_order_relaxed)) {
                rc = am_env_error(p->env, AM_ERR_IO, "merge into %s stopped (shutdown)",
                                  p->dir);
                break;
            }
        }
        size_t vn;
        const char *v = iter_value(input, &vn);
        if (kn < IKEY_TRAILER) {
            rc = am_env_error(p->env, AM_ERR_CORRUPT, "merge into %s: internal key of %zu "
                              "bytes (entry %llu of the input)", p->dir, kn,
                              (unsigned long long)r->entries_in);
            break;
        }
        uint64_t trailer = ikey_trailer(k, kn);
        size_t ukn = kn - IKEY_TRAILER;
        /* Internal-key order: user key ascending, then trailer descending. */
        int c = have_key ? ukey_cmp(k, ukn, cur.data, cur.len) : 1;
        if (c < 0 || (c == 0 && trailer >= prev_trailer)) {
            rc = out_of_order(p, r->entries_in, k, kn, cur.data, cur.len, prev_trailer);
            break;
        }
        prev_trailer = trailer;
        r->entries_in++;
        if (p->observe_key) p->observe_key(p->observe_arg, k, kn);
        r->bytes_read += kn + vn;
        uint64_t seq = trailer >> 8;
        int kind = (int)(trailer & 0xff);
        size_t stripe = nsnap ? stripe_of(p->snapshots, nsnap, seq) : 0;

        int first = c != 0;
        if (first) {
            buf_clear(&cur);
            if ((rc = buf_append(&cur, k, ukn)) != AM_OK) break;
            have_key = 1;
            wrote_key = 0;
        }
        int keep = first || stripe != prev_stripe;
        prev_stripe = stripe;
        if (keep && kind == AM_KIND_DELETE && p->bottommost && stripe == 0) keep = 0;
        if (!keep) {
            r->dropped++;
            continue;
        }

        /* Cut only before the first kept entry of a user key. */
        if (m.b && !wrote_key && p->target_file_bytes &&
            sst_builder_file_bytes(m.b) >= p->target_file_bytes) {
            if ((rc = close_output(&m)) != AM_OK) break;
        }
        if (!m.b && (rc = open_output(&m)) != AM_OK) break;
        if ((rc = sst_builder_add(m.b, k, kn, v, vn)) != AM_OK) break;
        wrote_key = 1;
        r->entries_out++;
    }
    if (rc == AM_OK) rc = iter_status(input);
    if (rc == AM_OK && m.b) rc = close_output(&m);

    buf_free(&cur);
    if (rc != AM_OK) {
        /* Remove every output: the one in progress, then those finished. */
        if (m.b) {
            sst_builder_abandon(m.b);
            (void)env_remove(p->env, m.path);
        }
        for (size_t i = 0; i < r->nout; i++) {
            char path[PATH_CAP];
            fname_sst(path, sizeof(path), p->dir, r->out[i].id);
            (void)env_remove(p->env, path);
        }
        merge_result_clear(r);
    }
    return rc;
}
