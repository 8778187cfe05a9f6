/* sst_reader.c: opens an SSTable (format at the top of sst_builder.c), keeps its index,
 * filter and properties in memory, answers point lookups through the block cache, and
 * reads and verifies data blocks for its iterators (sst_iter.c).
 *
 * Every block read from the file has its crc checked before use, and every data block
 * the order of its keys (within the block, and against its index entries and the file's
 * smallest / largest key: verify_data_block); a mismatch, a short read or a malformed
 * block gives AM_ERR_CORRUPT with a message naming the file and offset. Which reads
 * verify a block at every read and which trust one verified before: sst.h.
 * After open, the reader is immutable: gets and iterators may run from any threads
 * (pread does not move a shared file position; the cache locks for itself). */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "amethyst.h"
#include "block.h"
#include "bloom.h"
#include "sst.h"
#include "sst_format.h"
#include "sst_reader_impl.h"
#include "../util/crc32c.h"
#include "../util/hash.h"
#include "../util/ikey.h"

#define LOOKUP_STACK 256           /* lookup keys up to this size live on the stack */

static void cblock_free(void *p)
{
    free(p);
}

int sst_corrupt(const sst_reader *r, uint64_t off, const char *what)
{
    return am_env_error(r->env, AM_ERR_CORRUPT, "%s: corrupt SSTable: %s at offset %llu",
                        r->path, what, (unsigned long long)off);
}

/* Checks a block read into buf (contents + trailer): type and crc. */
static int verify_block(const sst_reader *r, const char *buf, uint64_t off, uint64_t size)
{
    const char *t = buf + size;
    uint32_t want = crc32c_unmask(dec_fixed32(t + 1));
    uint32_t got = crc32c_value(buf, size + 1);   /* contents + type byte */
    if (want != got) return sst_corrupt(r, off, "block checksum mismatch");
    if ((uint8_t)t[0] != BLK_TYPE_RAW) return sst_corrupt(r, off, "unknown block type");
    return AM_OK;
}

/* Separator (index key) of data block i, borrowed from r. */
static inline const char *sep_of(const sst_reader *r, size_t i, size_t *n)
{
    *n = r->idx[i].key_len;
    return r->idx_keys + r->idx[i].key_off;
}

/* The order checks of data block i (b decoded from bytes whose checksum just passed):
 * its keys ascend, the first is above the previous block's separator (block 0: at least
 * the file's smallest key), the last is at most its own separator (the last block: at
 * most the file's largest key, which open checked is at most the last separator). With
 * the index strictly ascending (load_index), blocks are then in order across the file. */
static int check_data_block(const sst_reader *r, size_t i, const blk *b)
{
    size_t lon, hin;
    const char *lo, *hi;
    if (i == 0) { lo = r->props.smallest; lon = r->props.smallest_len; }
    else lo = sep_of(r, i - 1, &lon);
    if (i + 1 == r->nidx) { hi = r->props.largest; hin = r->props.largest_len; }
    else hi = sep_of(r, i, &hin);
    blk_fault f;
    int rc = blk_check(b, lo, lon, i == 0, hi, hin, &f);
    if (rc == AM_OK) return AM_OK;
    if (rc == AM_ERR_NOMEM)
        return am_env_error(r->env, rc, "%s: out of memory checking a data block", r->path);
    const char *what = "malformed entry in data block";
    switch (f.kind) {
    case BLK_FAULT_MALFORMED: break;
    case BLK_FAULT_RESTART: what = "restart point not at a whole key in data block"; break;
    case BLK_FAULT_ORDER: what = "keys out of order in data block"; break;
    case BLK_FAULT_LOW:
        what = i == 0 ? "key below the file's smallest key in data block"
                      : "key not above the previous block's index key (blocks out of order) "
                        "in data block";
        break;
    case BLK_FAULT_HIGH:
        what = i + 1 == r->nidx ? "key above the file's largest key in data block"
                                : "key above the block's index key in data block";
        break;
    }
    return am_env_error(r->env, AM_ERR_CORRUPT, "%s: corrupt SSTable: %s %zu (at offset %llu, "
                        "the block at %llu)", r->path, what, i,
                        (unsigned long long)(r->idx[i].off + f.off),
                        (unsigned long long)r->idx[i].off);
}

/* Every check data block i passes before any of its entries is used, on the bytes at p
 * (contents + trailer): checksum and type, restart array, order (check_data_block).
 * Fills *out. */
int sst_verify_data_block(const sst_reader *r, size_t i, const char *p, blk *out)
{
    const idx_ent *e = &r->idx[i];
    int rc = verify_block(r, p, e->off, e->size);
    if (rc) return rc;
    if (blk_init(out, p, (size_t)e->size)) return sst_corrupt(r, e->off, "malformed data block");
    return check_data_block(r, i, out);
}

/* Reads the block at h (contents + trailer) into buf, which has room for size + 5 bytes;
 * verifies nothing. */
static int pread_block(const sst_reader *r, const sst_handle *h, char *buf)
{
    size_t n = (size_t)h->size + BLK_TRAILER, got = 0;
    int rc = env_pread(r->env, r->f, h->off, n, buf, &got);
    if (rc) return rc;
    if (got != n) return sst_corrupt(r, h->off, "block cut short by the end of the file");
    return AM_OK;
}

/* pread_block, then verify_block. */
static int read_block(const sst_reader *r, const sst_handle *h, char *buf)
{
    int rc = pread_block(r, h, buf);
    return rc ? rc : verify_block(r, buf, h->off, h->size);
}

/* Reads a whole block into a fresh malloc'd buffer (*out, contents only are meaningful). */
static int read_block_alloc(const sst_reader *r, const sst_handle *h, char **out)
{
    *out = NULL;
    char *buf = malloc((size_t)h->size + BLK_TRAILER);
    if (!buf)
        return am_env_error(r->env, AM_ERR_NOMEM, "%s: out of memory for a %llu-byte block",
                            r->path, (unsigned long long)h->size);
    int rc = read_block(r, h, buf);
    if (rc) { free(buf); return rc; }
    *out = buf;
    return AM_OK;
}

/* A handle must lie wholly before the footer. */
static int handle_ok(const sst_reader *r, const sst_handle *h)
{
    uint64_t end = r->file_bytes - SST_FOOTER_SIZE;
    return h->size <= end && h->off <= end - h->size && end - h->size - h->off >= BLK_TRAILER;
}

/* The 8 bytes of user key u (n bytes) from `from` on, big-endian, zero-padded. */
static inline uint64_t pfx_of(const char *u, size_t n, size_t from)
{
    uint64_t v = 0;
    for (size_t i = 0; i < 8; i++)
        v = (v << 8) | (from + i < n ? (uint8_t)u[from + i] : 0);
    return v;
}

/* Computes r->lcp over the separators' user keys and each entry's pfx. */
static void set_prefixes(sst_reader *r)
{
    if (r->nidx == 0) return;
    const char *k0 = r->idx_keys + r->idx[0].key_off;
    size_t lcp = r->idx[0].key_len - IKEY_TRAILER;
    for (size_t i = 1; i < r->nidx && lcp; i++) {
        const char *k = r->idx_keys + r->idx[i].key_off;
        size_t n = r->idx[i].key_len - IKEY_TRAILER, j = 0;
        if (n < lcp) lcp = n;
        while (j < lcp && k[j] == k0[j]) j++;
        lcp = j;
    }
    r->lcp = lcp;
    for (size_t i = 0; i < r->nidx; i++)
        r->idx[i].pfx = pfx_of(r->idx_keys + r->idx[i].key_off,
                               r->idx[i].key_len - IKEY_TRAILER, lcp);
}

static int load_index(sst_reader *r, const sst_handle *h)
{
    char *buf = NULL;
    am_buf keys;
    buf_init(&keys);
    blk b;
    blk_iter it;
    int rc = read_block_alloc(r, h, &buf);
    if (rc) return rc;
    if (blk_init(&b, buf, (size_t)h->size)) {
        rc = sst_corrupt(r, h->off, "malformed index block");
        goto out;
    }
    size_t cap = 0;
    blk_iter_init(&it, &b);
    for (blk_iter_seek_first(&it); blk_iter_valid(&it); blk_iter_next(&it)) {
        size_t kn, vn;
        const char *k = blk_iter_key(&it, &kn), *v = blk_iter_value(&it, &vn);
        idx_ent e = { .key_off = keys.len };
        sst_handle dh;
        const char *p = dec_varint64(v, v + vn, &dh.off);
        if (p) p = dec_varint64(p, v + vn, &dh.size);
        if (!p || !handle_ok(r, &dh) || dh.size > UINT32_MAX || kn > UINT32_MAX) {
            rc = sst_corrupt(r, h->off, "bad block handle in the index");
            break;
        }
        e.off = dh.off;
        e.size = (uint32_t)dh.size;
        e.key_len = (uint32_t)kn;
        if (r->nidx > 0) {
            const idx_ent *pe = &r->idx[r->nidx - 1];
            if (ikey_cmp(keys.data + pe->key_off, pe->key_len, k, kn) >= 0 ||
                e.off < pe->off + pe->size + BLK_TRAILER) {
                rc = sst_corrupt(r, h->off, "index entries out of order");
                break;
            }
        }
        if (r->nidx == cap) {
            cap = cap ? 2 * cap : 64;
            idx_ent *ni = realloc(r->idx, cap * sizeof *ni);
            if (!ni) { rc = AM_ERR_NOMEM; break; }
            r->idx = ni;
        }
        if (buf_append(&keys, k, kn)) { rc = AM_ERR_NOMEM; break; }
        r->idx[r->nidx++] = e;
    }
    if (!rc && blk_iter_status(&it)) rc = blk_iter_status(&it) == AM_ERR_NOMEM
                                          ? AM_ERR_NOMEM
                                          : sst_corrupt(r, h->off, "malformed index block");
    if (rc == AM_ERR_NOMEM)
        rc = am_env_error(r->env, rc, "%s: out of memory loading the index", r->path);
    blk_iter_fini(&it);
    if (!rc) {
        r->idx_keys = keys.data;
        buf_init(&keys);
        set_prefixes(r);
    }
out:
    buf_free(&keys);
    free(buf);
    return rc;
}

static int load_props(sst_reader *r, const sst_handle *h)
{
    char *buf = NULL;
    int rc = read_block_alloc(r, h, &buf);
    if (rc) return rc;
    const char *p = buf, *limit = buf + h->size;
    uint64_t version = 0;
    while (p < limit && !rc) {
        uint32_t tag, n;
        const char *d;
        p = dec_varint32(p, limit, &tag);
        if (p) p = dec_lenprefixed(p, limit, &d, &n);
        if (!p) { rc = sst_corrupt(r, h->off, "malformed properties block"); break; }
        uint64_t v = 0;
        char **keyp = NULL;
        size_t *lenp = NULL;
        switch (tag) {
        case SST_PROP_VERSION: case SST_PROP_ENTRIES: case SST_PROP_DELETIONS:
        case SST_PROP_MIN_SEQ: case SST_PROP_MAX_SEQ: case SST_PROP_DATA_BLOCKS:
            if (dec_varint64(d, d + n, &v) != d + n) {
                rc = sst_corrupt(r, h->off, "malformed property");
                continue;
            }
            if (tag == SST_PROP_VERSION) version = v;
            else if (tag == SST_PROP_ENTRIES) r->props.entries = v;
            else if (tag == SST_PROP_DELETIONS) r->props.deletions = v;
            else if (tag == SST_PROP_MIN_SEQ) r->props.min_seq = v;
            else if (tag == SST_PROP_MAX_SEQ) r->props.max_seq = v;
            break;
        case SST_PROP_SMALLEST: keyp = &r->props.smallest; lenp = &r->props.smallest_len; break;
        case SST_PROP_LARGEST: keyp = &r->props.largest; lenp = &r->props.largest_len; break;
        default: break;   /* a property of a later writer: skipped */
        }
        if (keyp) {
            free(*keyp);
            if (!(*keyp = malloc(n ? n : 1))) {
                rc = am_env_error(r->env, AM_ERR_NOMEM, "%s: out of memory", r->path);
                continue;
            }
            if (n) memcpy(*keyp, d, n);
            *lenp = n;
        }
    }
    if (!rc && version != SST_FORMAT_VERSION)
        rc = sst_corrupt(r, h->off, "unsupported format version in the properties");
    free(buf);
    return rc;
}

/* The smallest / largest keys of the properties against the index, so that a data block
 * needs only its own index entries and these as bounds (check_data_block): with blocks,
 * both are internal keys, smallest <= largest, smallest <= the first separator (the first
 * block's first key) and largest <= the last separator (the last block's last key). */
static int check_props_bounds(const sst_reader *r, const sst_handle *h)
{
    if (r->nidx == 0) return AM_OK;
    const sst_file_info *p = &r->props;
    size_t n0, nl;
    const char *s0 = sep_of(r, 0, &n0), *sl = sep_of(r, r->nidx - 1, &nl);
    if (!p->smallest || !p->largest || p->smallest_len < IKEY_TRAILER ||
        p->largest_len < IKEY_TRAILER)
        return sst_corrupt(r, h->off, "properties without a smallest or largest key");
    if (ikey_cmp(p->smallest, p->smallest_len, p->largest, p->largest_len) > 0 ||
        ikey_cmp(p->smallest, p->smallest_len, s0, n0) > 0 ||
        ikey_cmp(p->largest, p->largest_len, sl, nl) > 0)
        return sst_corrupt(r, h->off, "smallest / largest key in the properties outside the "
                       "index's range");
    return AM_OK;
}

int sst_reader_open(am_env *env, const char *path, uint64_t file_id, blk_cache *cache,
                    sst_reader **out)
{
    *out = NULL;
    sst_reader *r = calloc(1, sizeof *r);
    if (!r || !(r->path = strdup(path))) {
        free(r);
        return am_env_error(env, AM_ERR_NOMEM, "%s: out of memory opening", path);
    }
    r->env = env;
    r->file_id = file_id;
    r->cache = cache;
    r->cache_id = cache_new_id(cache);
    char foot[SST_FOOTER_SIZE];
    size_t got = 0;
    sst_handle filter, index, props;
    int rc = env_open_readable(env, path, &r->f);
    if (!rc) rc = env_fsize(env, r->f, &r->file_bytes);
    if (rc) goto fail;
    if (r->file_bytes < SST_FOOTER_SIZE) {
        rc = am_env_error(env, AM_ERR_CORRUPT, "%s: not an SSTable (%llu bytes, shorter than "
                          "a footer)", path, (unsigned long long)r->file_bytes);
        goto fail;
    }
    uint64_t foot_off = r->file_bytes - SST_FOOTER_SIZE;
    if ((rc = env_pread(env, r->f, foot_off, sizeof foot, foot, &got))) goto fail;
    if (got != sizeof foot || dec_fixed64(foot + SST_FOOT_MAGIC) != SST_MAGIC) {
        rc = am_env_error(env, AM_ERR_CORRUPT, "%s: not an SSTable (no magic number at "
                          "offset %llu)", path, (unsigned long long)foot_off + SST_FOOT_MAGIC);
        goto fail;
    }
    if (crc32c_unmask(dec_fixed32(foot + SST_FOOT_CRC)) != crc32c_value(foot, SST_FOOT_CRC)) {
        rc = sst_corrupt(r, foot_off, "footer checksum mismatch");
        goto fail;
    }
    if (dec_fixed32(foot + SST_FOOT_VERSION) != SST_FORMAT_VERSION) {
        rc = sst_corrupt(r, foot_off + SST_FOOT_VERSION, "unsupported format version");
        goto fail;
    }
    filter = (sst_handle){ dec_fixed64(foot + SST_FOOT_FILTER),
                           dec_fixed64(foot + SST_FOOT_FILTER + 8) };
    index = (sst_handle){ dec_fixed64(foot + SST_FOOT_INDEX),
                          dec_fixed64(foot + SST_FOOT_INDEX + 8) };
    props = (sst_handle){ dec_fixed64(foot + SST_FOOT_PROPS),
                          dec_fixed64(foot + SST_FOOT_PROPS + 8) };
    int has_filter = filter.off != 0 || filter.size != 0;
    if (!handle_ok(r, &index) || !handle_ok(r, &props) || (has_filter && !handle_ok(r, &filter))) {
        rc = sst_corrupt(r, foot_off, "block handle in the footer out of range");
        goto fail;
    }
    if ((rc = load_index(r, &index))) goto fail;
    if (env->ops->map) {
        /* Optional: without a mapping every block is read with pread instead. */
        const char *base;
        uint64_t len;
        if (env->ops->map(r->f, &base, &len) == AM_OK && len == r->file_bytes &&
            (r->verified = calloc(r->nidx / 64 + 1, sizeof *r->verified)) != NULL)
            r->map = base;
    }
    if ((rc = load_props(r, &props))) goto fail;
    if ((rc = check_props_bounds(r, &props))) goto fail;
    r->props.file_bytes = r->file_bytes;
    if (has_filter) {
        if ((rc = read_block_alloc(r, &filter, &r->filter))) goto fail;
        r->filter_len = (size_t)filter.size;
    }
    *out = r;
    return AM_OK;
fail:
    sst_reader_free(r);
    return rc;
}

void sst_reader_free(sst_reader *r)
{
    if (!r) return;
    /* Its cached blocks may point into its mapping: they go with it. Nobody pins them now:
       gets and iterators pin blocks only while they hold the segment, hence the reader. */
    cache_erase_file(r->cache, r->cache_id);
    if (r->f) env_close(r->env, r->f);
    free(r->verified);
    free(r->idx);
    free(r->idx_keys);
    free(r->filter);
    sst_file_info_clear(&r->props);
    free(r->path);
    free(r);
}

uint64_t sst_reader_file_bytes(const sst_reader *r)
{
    return r->file_bytes;
}

const sst_file_info *sst_reader_props(const sst_reader *r)
{
    return &r->props;
}

int sst_reader_may_match(sst_reader *r, const void *k, size_t kn)
{
    if (!r->filter) return 1;
    return bloom_may_match(r->filter, r->filter_len, am_hash64(k, kn));
}

/* First index entry whose separator is >= the internal key t; nidx if none. */
size_t sst_index_lower_bound(const sst_reader *r, const char *t, size_t tn)
{
    if (r->nidx == 0) return 0;
    /* Every separator starts with the lcp bytes of the first one: a target that does not
       is before or after all of them. */
    size_t tu = tn - IKEY_TRAILER, lcp = r->lcp;
    if (lcp) {
        const char *k0 = r->idx_keys + r->idx[0].key_off;
        int c = memcmp(t, k0, tu < lcp ? tu : lcp);
        if (c < 0 || (c == 0 && tu < lcp)) return 0;
        if (c > 0) return r->nidx;
    }
    uint64_t tp = pfx_of(t, tu, lcp);
    size_t lo = 0, hi = r->nidx;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const idx_ent *e = &r->idx[mid];
        int less = e->pfx != tp ? e->pfx < tp
                   : ikey_cmp(r->idx_keys + e->key_off, e->key_len, t, tn) < 0;
        if (less) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

/* With the file mapped, data block i is read in place: it is verified (verify_data_block:
 * checksum and order) the first time this reader touches it (the bitmap remembers), and
 * from then on the mapping serves it as a block cache would serve a verified copy; no
 * system call, copy, lock or malloc. (A block cache entry is likewise verified once, on
 * its way in.) */
int sst_map_block(const sst_reader *r, size_t i, blk *out)
{
    const idx_ent *e = &r->idx[i];
    const char *p = r->map + e->off;
    uint64_t bit = UINT64_C(1) << (i % 64);
    atomic_uint_fast64_t *w = &r->verified[i / 64];
    if (!(atomic_load_explicit(w, memory_order_acquire) & bit)) {
        int rc = sst_verify_data_block(r, i, p, out);
        if (rc) return rc;
        atomic_fetch_or_explicit(w, bit, memory_order_release);
        return AM_OK;
    }
    if (blk_init(out, p, (size_t)e->size)) return sst_corrupt(r, e->off, "malformed data block");
    return AM_OK;
}

/* Reads data block i from the file into a fresh cblock and verifies it. */
int sst_load_cblock(const sst_reader *r, size_t i, cblock **out)
{
    *out = NULL;
    const idx_ent *e = &r->idx[i];
    cblock *cb = malloc(sizeof *cb + (size_t)e->size + BLK_TRAILER);
    if (!cb)
        return am_env_error(r->env, AM_ERR_NOMEM, "%s: out of memory for a block", r->path);
    sst_handle h = { e->off, e->size };
    int rc = pread_block(r, &h, cb->data);
    if (!rc) rc = sst_verify_data_block(r, i, cb->data, &cb->b);
    if (rc) { free(cb); return rc; }
    *out = cb;
    return AM_OK;
}

/* Pins data block i through the cache (reading and inserting it on a miss). */
int sst_pin_block(const sst_reader *r, size_t i, sst_probe *probe, cache_handle **h)
{
    const idx_ent *e = &r->idx[i];
    *h = cache_lookup(r->cache, r->cache_id, e->off);
    if (*h) {
        if (probe) probe->blocks_cache++;
        return AM_OK;
    }
    cblock *cb;
    int rc = sst_load_cblock(r, i, &cb);
    if (rc) return rc;
    if (probe) probe->blocks_disk++;
    *h = cache_insert(r->cache, r->cache_id, e->off, cb, (size_t)e->size, cblock_free);
    if (!*h) return am_env_error(r->env, AM_ERR_NOMEM, "%s: out of memory caching a block",
                                 r->path);
    return AM_OK;
}

int sst_reader_get(sst_reader *r, const void *k, size_t kn, uint64_t seq, sst_probe *probe,
                   sst_found_fn found, void *arg)
{
    return sst_reader_get_hashed(r, k, kn, am_hash64(k, kn), seq, probe, found, arg);
}

int sst_reader_get_hashed(sst_reader *r, const void *k, size_t kn, uint64_t hash,
                          uint64_t seq, sst_probe *probe, sst_found_fn found, void *arg)
{
    if (r->filter) {
        if (probe) probe->bloom_checks++;
        if (!bloom_may_match(r->filter, r->filter_len, hash)) {
            if (probe) probe->bloom_negatives++;
            return AM_NOT_FOUND;
        }
    }
    char stack[LOOKUP_STACK], *lk = stack;
    size_t ln = kn + IKEY_TRAILER;
    if (ln > sizeof stack && !(lk = malloc(ln)))
        return am_env_error(r->env, AM_ERR_NOMEM, "%s: out of memory for a lookup", r->path);
    ikey_build(lk, k, kn, seq > AM_MAX_SEQ ? AM_MAX_SEQ : seq, AM_KIND_MAX);

    int rc = AM_NOT_FOUND;
    size_t i = sst_index_lower_bound(r, lk, ln);
    if (i == r->nidx) goto out;
    cache_handle *h = NULL;
    blk mapped;
    const blk *b = &mapped;
    if (r->map) {
        if ((rc = sst_map_block(r, i, &mapped))) goto out;
        if (probe) probe->blocks_disk++;
    } else {
        if ((rc = sst_pin_block(r, i, probe, &h))) goto out;
        b = &((const cblock *)cache_value(h))->b;
    }
    if (probe) probe->searched = 1;
    blk_iter it;
    blk_iter_init(&it, b);
    blk_iter_seek(&it, lk, ln);
    rc = AM_NOT_FOUND;
    if (blk_iter_valid(&it)) {
        size_t ekn, vn;
        const char *ek = blk_iter_key(&it, &ekn), *v = blk_iter_value(&it, &vn);
        if (ukey_cmp(ek, ekn - IKEY_TRAILER, k, kn) == 0) {
            int kind = ikey_kind(ek, ekn);
            if (kind != AM_KIND_VALUE && kind != AM_KIND_DELETE)
                rc = sst_corrupt(r, r->idx[i].off, "unknown entry kind");
            else
                rc = found(arg, kind, v, vn);
        }
    } else if (blk_iter_status(&it)) {
        rc = blk_iter_status(&it) == AM_ERR_NOMEM
             ? am_env_error(r->env, AM_ERR_NOMEM, "%s: out of memory", r->path)
             : sst_corrupt(r, r->idx[i].off, "malformed entry in data block");
    }
    blk_iter_fini(&it);
    if (h) cache_release(r->cache, h);
out:
    if (lk != stack) free(lk);
    return rc;
}

size_t sst_reader_data_blocks(const sst_reader *r)
{
    return r->nidx;
}
