/* repair_shared.h: the inside of am_repair (amethyst.h; docs/format.md, "Repair"), shared by
 *   repair.c           the order of the steps: options, lock, directory, merge, install,
 *                      set aside
 *   repair_manifest.c  what it reads of CURRENT and the old MANIFESTs: the strategy, the
 *                      log floor, the tables their edits removed
 *   repair_read.c      what it reads of each SSTable (verified block by block) and each
 *                      log (replayed into a memtable)
 *   repair_iter.c      the merge's inputs: a damaged table's readable blocks, and the
 *                      filter that drops exact duplicates in front of the merge kernel
 *   repair_report.c    the report's lines
 * repair.c calls the others; they call only repair_report.c.
 * Single-threaded: one am_repair call owns everything here and takes no lock but the
 * database's LOCK file. */
#ifndef AM_REPAIR_SHARED_H
#define AM_REPAIR_SHARED_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "amethyst.h"
#include "util/env.h"
#include "util/coding.h"
#include "util/iter.h"
#include "mem/memtable.h"
#include "sst/sst.h"
#include "compact/merge.h"
#include "version/fname.h"

#define RP_PATH 4096
#define RP_WHY 384

/* An engine file found in the directory: its name as found (fname_parse accepts numbers
 * without padding, so a name is never rebuilt from its number) and its number. */
typedef struct rp_file {
    char *name;                /* owned */
    uint64_t id;
} rp_file;

typedef struct rp_files {
    rp_file *f;                /* owned; sorted by id, then name */
    size_t n, cap;
} rp_files;

/* What became of an SSTable. */
enum {
    RP_SST_KEPT = 0,           /* every block verified: all its entries are merged */
    RP_SST_SALVAGED,           /* damaged: the entries of its readable blocks are merged */
    RP_SST_LOST,               /* damaged, nothing readable (or it cannot be opened) */
    RP_SST_EMPTY,              /* intact, but holds no entry */
    RP_SST_OBSOLETE            /* removed from the tree by a readable MANIFEST edit: unread */
};

typedef struct rp_sst {
    const rp_file *file;       /* borrowed from the directory listing */
    int fate;                  /* RP_SST_* */
    sst_reader *r;             /* owned; open from the scan until the merge is done */
    size_t nblocks, nbad;
    unsigned char *bad;        /* owned: per data block, 1 = left out; NULL: none */
    uint64_t entries, deletions, max_seq;
    am_buf smallest, largest;  /* internal keys of the entries kept */
    char why[RP_WHY];          /* the first damage met, for the report */
} rp_sst;

/* What became of a log. */
enum {
    RP_LOG_REPLAYED = 0,       /* read to its end (a torn last record is a normal end) */
    RP_LOG_DAMAGED,            /* the records before the damage replayed, the rest dropped */
    RP_LOG_FLUSHED             /* below the old MANIFEST's log number: not replayed */
};

typedef struct rp_log {
    const rp_file *file;       /* borrowed */
    int fate;                  /* RP_LOG_* */
    memtable *mem;             /* owned: what was replayed; NULL when nothing */
    uint64_t records, entries, max_seq;
    uint64_t valid_bytes;      /* end of the last record replayed */
    uint64_t file_bytes;
    int torn;                  /* it ended in a torn record ... */
    int zero_tail;             /* ... or in zeros (a mapped log's reserved space) */
    char why[RP_WHY];
} rp_log;

typedef struct repair {
    am_env *env;               /* borrowed (o->env) or owned_env */
    am_env *owned_env;
    const char *dir;           /* borrowed */
    char lost[RP_PATH];        /* dir/lost */
    am_options o;              /* resolved and checked; o.strategy as chosen */
    const char *strategy_opt;  /* borrowed: the caller's strategy, NULL: the recorded one */
    sst_options sopt;          /* of the tables written */
    void (*report)(void *arg, const char *line);
    void *report_arg;

    /* The directory as found under the lock. */
    rp_files ssts, logs, manifests, temps;
    int has_current;
    uint64_t max_number;       /* largest file number in dir */

    /* From CURRENT and the old MANIFESTs (repair_manifest.c). */
    char strategy[32];         /* the strategy the new MANIFEST records */
    uint64_t log_floor;        /* logs below it were flushed (largest log number read) */
    uint64_t *obsolete;        /* owned, sorted: tables a readable edit removed for good */
    size_t nobsolete;

    /* What was read. */
    rp_sst *sst;               /* owned, ssts.n of them */
    rp_log *log;               /* owned, logs.n of them */
    uint64_t max_seq;          /* largest sequence among the entries read */
    uint64_t next;             /* the next file number to hand out */

    /* The merge and what it wrote. */
    merge_result out;
    uint64_t duplicates;       /* exact duplicate internal keys dropped */
    uint64_t conflicts;        /* of which with a different value (the first met kept) */
    size_t moved;              /* files set aside into lost/ */
} repair;

/* repair.c: one line to the caller's report (printf format; nothing when it has none). */
void rp_say(repair *rp, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A user key for a report line: printable bytes as they are, others as \xNN, cut after 32
 * bytes with "...". Always NUL-terminated. */
void rp_key_text(char *out, size_t cap, const char *ukey, size_t n);

/* dir/name into out. */
static inline void rp_path(const repair *rp, const char *name, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s", rp->dir, name);
}
/* The env's last message (a failure's detail) into why (RP_WHY bytes). */
static inline void rp_why(const repair *rp, char *why)
{
    am_env_last_error(rp->env, why, RP_WHY);
}

/* repair_manifest.c and repair_read.c. Each returns AM_OK when the files were dealt with,
 * damaged or not (fates and report lines say how); an error only for what stops the
 * repair (no memory). */
/* Reads CURRENT and every MANIFEST: sets rp->strategy, rp->log_floor and rp->obsolete. */
int rp_read_manifests(repair *rp);
/* 1 if table id is in rp->obsolete. */
int rp_is_obsolete(const repair *rp, uint64_t id);
/* Opens s's file and reads every data block (checksums, entry order and kinds): fills s. */
int rp_read_sst(repair *rp, rp_sst *s);
/* Replays l's records into a new memtable (unless the log is below rp->log_floor). */
int rp_read_log(repair *rp, rp_log *l);

/* repair_iter.c */
/* The entries of s the scan kept: the whole file, or only its readable blocks. Takes
 * nothing; s (and its reader) must outlive the iterator. NULL on OOM. */
am_iiter *rp_sst_iter_new(rp_sst *s);
/* Passes in's entries through, dropping each whose internal key equals the one before it
 * (counted in *dups; those whose value differs also in *conflicts). Takes ownership of in
 * (freed on failure too). NULL on OOM. */
am_iiter *rp_dedup_new(am_iiter *in, uint64_t *dups, uint64_t *conflicts);

#endif
