/* test_picker.c: compaction strategies, driven by the text files in engine/tests/picker/
 * (Pebble style: an LSM shape, the jobs in flight, and the job a strategy must pick from
 * them). Also checks the strategy registry.
 *
 * File format, one directive per line ('#' starts a comment, blank lines are ignored):
 *   case NAME                 starts a case: empty tree, default options, fresh strategy
 *   strategy NAME             the strategy under test (default "leveled")
 *   opt k=v ...               l0_trigger, l1_bytes, fanout, target_file, memtable,
 *                             tier_fanout, adapt_clock_ops, and the adaptive controller's
 *                             adapt_window, adapt_cooldown, adapt_global_cooldown,
 *                             adapt_read_threshold, adapt_write_threshold (decimals)
 *   L<n> id=N LO..HI [run=R] [bytes=B] [seq=A..B] [tag=leveled|tiered] [reads=N]
 *        [writes=N] [busy]
 *                             one segment; user keys LO..HI; run defaults to id on L0
 *                             and to n on deeper levels, seq to id..id, bytes to 1000;
 *                             reads / writes are its counters (default 0); busy: it is
 *                             the one input of a job in flight writing its own level
 *   expect none               pick returns 0
 *   expect reason=R out=N inputs=L0:7,L1:3 [bottommost=0|1] [trivial=0|1] [run=R]
 *          [tag=leveled|tiered] [target=B]
 *                             pick returns this job (inputs compared as a set)
 *   pending B                 pending_bytes returns B
 *   busy L1:3,L2:9 [out=N] [run=R]
 *                             a job with these inputs is in flight, writing level N
 *                             (default: the deepest listed) run R (default 0, a new run)
 *   running                   the job the last expect returned is in flight (as the
 *                             engine runs it while later picks go on)
 *   free L1:3                 every job in flight holding a listed segment is over
 *   count L1:3 [reads=N] [writes=N]
 *                             sets a segment's counters (as lookups and flushes would)
 *   tick OPS [MICROS]         the clock later picks see (MICROS default 0; a clocked
 *                             strategy only)
 * Every pick is given the tree, the jobs in flight and the clock (am_pick_env), as the
 * engine gives them. Every expect / pending of a case runs against the same strategy
 * instance, so a case can follow state across picks (the round-robin pointer). The tree
 * does not change between picks (only busy / running / free / count do); segment lines
 * after the first expect are an error. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "amethyst.h"
#include "compact/inflight.h"
#include "compact/strategy.h"
#include "version/version.h"
#include "util/ikey.h"
#include "testutil.h"

#define MAX_SEGS 256

typedef struct pcase {
    const char *file;
    int line;                     /* of the directive being run, for messages */
    char name[128];
    char strategy[32];
    am_options opts;
    am_segment *segs[MAX_SEGS];
    int seg_busy[MAX_SEGS];       /* marked busy on its line */
    size_t nsegs;
    inflight_set inf;             /* the jobs in flight */
    am_job last;                  /* what the last expect returned (ninputs 0: none) */
    uint64_t ops, micros;         /* the clock (tick) */
    am_version *v;                /* built at the first expect / pending */
    const am_strategy *st;
    void *self;
    int checks;                   /* expects / pendings run in this case */
} pcase;

#define CHECK(c, cond, ...)                                                        \
    do {                                                                             \
        if (!(cond)) {                                                               \
            char m_[4096];                                                            \
            snprintf(m_, sizeof(m_), __VA_ARGS__);                                   \
            fail_msg("%s:%d (case %s): %s", (c)->file, (c)->line, (c)->name, m_);    \
        }                                                                            \
    } while (0)

static void case_reset(pcase *c)
{
    if (c->self) c->st->destroy(c->self);
    inflight_free(&c->inf);
    job_clear(&c->last);
    version_unref(c->v);
    for (size_t i = 0; i < c->nsegs; i++) seg_unref(c->segs[i]);
    const char *file = c->file;
    memset(c, 0, sizeof(*c));
    c->file = file;
    strcpy(c->strategy, "leveled");
    /* Zero options: every strategy falls back to its defaults for a zero field. */
    memset(&c->opts, 0, sizeof(c->opts));
}

static uint64_t num(pcase *c, const char *s)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    CHECK(c, end != s && *end == 0, "bad number '%s'", s);
    return v;
}

/* Splits "A..B" into two strings in place. */
static void split_range(pcase *c, char *s, char **a, char **b)
{
    char *dots = strstr(s, "..");
    CHECK(c, dots != NULL, "expected LO..HI, got '%s'", s);
    *dots = 0;
    *a = s;
    *b = dots + 2;
}

static int tag_of(pcase *c, const char *s)
{
    if (strcmp(s, "leveled") == 0) return AM_TAG_LEVELED;
    if (strcmp(s, "tiered") == 0) return AM_TAG_TIERED;
    CHECK(c, 0, "unknown tag '%s'", s);
    return -1;
}

static void parse_opt(pcase *c, char *save)
{
    char *tok;
    while ((tok = strtok_r(NULL, " \t", &save))) {
        char *eq = strchr(tok, '=');
        CHECK(c, eq != NULL, "opt wants k=v, got '%s'", tok);
        *eq = 0;
        double *dv = strcmp(tok, "adapt_window") == 0 ? &c->opts.adapt_window
                   : strcmp(tok, "adapt_cooldown") == 0 ? &c->opts.adapt_cooldown
                   : strcmp(tok, "adapt_global_cooldown") == 0 ? &c->opts.adapt_global_cooldown
                   : strcmp(tok, "adapt_read_threshold") == 0 ? &c->opts.adapt_read_threshold
                   : strcmp(tok, "adapt_write_threshold") == 0 ? &c->opts.adapt_write_threshold
                   : NULL;
        if (dv) {
            char *end;
            *dv = strtod(eq + 1, &end);
            CHECK(c, end != eq + 1 && *end == 0, "bad decimal '%s'", eq + 1);
            continue;
        }
        uint64_t v = num(c, eq + 1);
        if (strcmp(tok, "l0_trigger") == 0) c->opts.l0_compaction_trigger = (int)v;
        else if (strcmp(tok, "l1_bytes") == 0) c->opts.l1_target_bytes = v;
        else if (strcmp(tok, "fanout") == 0) c->opts.level_fanout = (int)v;
        else if (strcmp(tok, "target_file") == 0) c->opts.target_file_bytes = v;
        else if (strcmp(tok, "memtable") == 0) c->opts.memtable_bytes = v;
        else if (strcmp(tok, "tier_fanout") == 0) c->opts.tier_fanout = (int)v;
        else if (strcmp(tok, "adapt_clock_ops") == 0) c->opts.adapt_clock_ops = (int)v;
        else CHECK(c, 0, "unknown option '%s'", tok);
    }
}

static void parse_seg(pcase *c, int level, char *save)
{
    CHECK(c, c->v == NULL, "segment after the first expect");
    CHECK(c, c->nsegs < MAX_SEGS, "too many segments");
    CHECK(c, level >= 0 && level < AM_MAX_LEVELS, "bad level %d", level);
    seg_desc d;
    memset(&d, 0, sizeof(d));
    d.level = level;
    d.bytes = 1000;
    d.tag = AM_TAG_LEVELED;
    int has_run = 0, has_seq = 0, busy = 0;
    char *lo = NULL, *hi = NULL, *tok;
    while ((tok = strtok_r(NULL, " \t", &save))) {
        char *a, *b;
        if (strncmp(tok, "id=", 3) == 0) d.id = num(c, tok + 3);
        else if (strncmp(tok, "run=", 4) == 0) { d.run = num(c, tok + 4); has_run = 1; }
        else if (strncmp(tok, "bytes=", 6) == 0) d.bytes = num(c, tok + 6);
        else if (strncmp(tok, "tag=", 4) == 0) d.tag = tag_of(c, tok + 4);
        else if (strncmp(tok, "reads=", 6) == 0) d.reads = num(c, tok + 6);
        else if (strncmp(tok, "writes=", 7) == 0) d.writes = num(c, tok + 7);
        else if (strncmp(tok, "seq=", 4) == 0) {
            split_range(c, tok + 4, &a, &b);
            d.min_seq = num(c, a);
            d.max_seq = num(c, b);
            has_seq = 1;
        } else if (strcmp(tok, "busy") == 0) busy = 1;
        else if (strstr(tok, "..")) split_range(c, tok, &lo, &hi);
        else CHECK(c, 0, "unknown segment field '%s'", tok);
    }
    CHECK(c, d.id != 0, "segment without id=");
    CHECK(c, lo && hi && *lo && *hi, "segment without a key range LO..HI");
    CHECK(c, ukey_cmp(lo, strlen(lo), hi, strlen(hi)) <= 0, "range %s..%s reversed", lo, hi);
    if (!has_run) d.run = level == 0 ? d.id : (uint64_t)level;
    if (!has_seq) d.min_seq = d.max_seq = d.id;
    d.entries = 1;
    size_t ln = strlen(lo), hn = strlen(hi);
    char *sk = malloc(ln + 8), *lk = malloc(hn + 8);
    assert_true(sk && lk);
    ikey_build(sk, lo, ln, d.max_seq, AM_KIND_VALUE);
    ikey_build(lk, hi, hn, d.min_seq, AM_KIND_VALUE);
    d.smallest = sk; d.smallest_len = ln + 8;
    d.largest = lk;  d.largest_len = hn + 8;
    am_segment *s = seg_new_detached(&d);
    free(sk);
    free(lk);
    assert_non_null(s);
    c->seg_busy[c->nsegs] = busy;
    c->segs[c->nsegs++] = s;
}

/* Puts a job with inputs in[0..n) in flight, writing out (-1: the deepest input's level)
 * run out_run. */
static void put_in_flight(pcase *c, const seg_ref *in, size_t n, int out, uint64_t out_run)
{
    am_job j;
    job_init(&j);
    int deepest = 0;
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(job_add_input(&j, in[i].level, in[i].id), AM_OK);
        if (in[i].level > deepest) deepest = in[i].level;
    }
    j.out_level = out >= 0 ? out : deepest;
    j.out_run = out_run;
    uint64_t ticket;
    assert_int_equal(inflight_add(&c->inf, c->v, &j, &ticket), AM_OK);
    job_clear(&j);
}

/* Builds the version and the strategy on first use; segments marked busy on their lines
 * become jobs in flight. */
static void ready(pcase *c)
{
    if (c->v) return;
    c->v = version_build(c->segs, c->nsegs);
    assert_non_null(c->v);
    for (size_t i = 0; i < c->nsegs; i++)
        if (c->seg_busy[i]) {
            seg_ref r = { c->segs[i]->d.level, c->segs[i]->d.id };
            put_in_flight(c, &r, 1, -1, 0);
        }
    c->st = strategy_find(c->strategy);
    CHECK(c, c->st != NULL, "unknown strategy '%s'", c->strategy);
    c->self = c->st->create(&c->opts);
    assert_non_null(c->self);
}

static int cmp_ref(const void *a, const void *b)
{
    const seg_ref *x = a, *y = b;
    if (x->level != y->level) return x->level < y->level ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

static void format_job(const am_job *j, char *out, size_t cap)
{
    size_t n = 0;
    n += (size_t)snprintf(out + n, cap - n, "reason=%s out=%d inputs=",
                          am_reason_name(j->reason),
                          j->out_level);
    for (size_t i = 0; i < j->ninputs && n < cap; i++)
        n += (size_t)snprintf(out + n, cap - n, "%sL%d:%llu", i ? "," : "",
                              j->inputs[i].level, (unsigned long long)j->inputs[i].id);
    if (n < cap)
        snprintf(out + n, cap - n, " bottommost=%d trivial=%d run=%llu tag=%d target=%llu",
                 j->bottommost, j->trivial_move, (unsigned long long)j->out_run, j->out_tag,
                 (unsigned long long)j->target_file_bytes);
}

static void run_expect(pcase *c, char *save)
{
    ready(c);
    am_job job;
    job_init(&job);
    am_pick_env env;
    inflight_env(&c->inf, c->v, c->ops, c->micros, &env);
    int got = c->st->pick(c->self, &env, &job);
    job_clear(&c->last);
    char desc[1024];
    format_job(&job, desc, sizeof(desc));
    char *tok = strtok_r(NULL, " \t", &save);
    CHECK(c, tok != NULL, "empty expect");
    if (strcmp(tok, "none") == 0) {
        CHECK(c, got == 0, "expected no job, got %.1000s", desc);
        CHECK(c, job.ninputs == 0, "pick returned 0 but left inputs");
        job_clear(&job);
        c->checks++;
        return;
    }
    CHECK(c, got == 1, "expected a job, got none");
    qsort(job.inputs, job.ninputs, sizeof(seg_ref), cmp_ref);
    int has_reason = 0, has_out = 0, has_inputs = 0;
    for (; tok; tok = strtok_r(NULL, " \t", &save)) {
        char *eq = strchr(tok, '=');
        CHECK(c, eq != NULL, "expect wants k=v, got '%s'", tok);
        *eq = 0;
        char *val = eq + 1;
        if (strcmp(tok, "reason") == 0) {
            has_reason = 1;
            CHECK(c, strcmp(am_reason_name(job.reason), val) == 0,
                  "reason: want %s, got %s", val, desc);
        } else if (strcmp(tok, "out") == 0) {
            has_out = 1;
            CHECK(c, (uint64_t)job.out_level == num(c, val), "out: want %s, got %s", val, desc);
        } else if (strcmp(tok, "inputs") == 0) {
            has_inputs = 1;
            seg_ref want[MAX_SEGS];
            size_t nw = 0;
            char *s2, *item;
            for (item = strtok_r(val, ",", &s2); item; item = strtok_r(NULL, ",", &s2)) {
                int lv;
                unsigned long long id;
                CHECK(c, sscanf(item, "L%d:%llu", &lv, &id) == 2, "bad input '%s'", item);
                CHECK(c, nw < MAX_SEGS, "too many inputs");
                want[nw].level = lv;
                want[nw].id = id;
                nw++;
            }
            qsort(want, nw, sizeof(seg_ref), cmp_ref);
            int same = nw == job.ninputs;
            for (size_t i = 0; same && i < nw; i++)
                same = want[i].level == job.inputs[i].level && want[i].id == job.inputs[i].id;
            CHECK(c, same, "inputs differ: got %s", desc);
        } else if (strcmp(tok, "bottommost") == 0) {
            CHECK(c, (uint64_t)job.bottommost == num(c, val), "bottommost: got %s", desc);
        } else if (strcmp(tok, "trivial") == 0) {
            CHECK(c, (uint64_t)job.trivial_move == num(c, val), "trivial: got %s", desc);
        } else if (strcmp(tok, "run") == 0) {
            CHECK(c, job.out_run == num(c, val), "run: got %s", desc);
        } else if (strcmp(tok, "tag") == 0) {
            CHECK(c, job.out_tag == tag_of(c, val), "tag: got %s", desc);
        } else if (strcmp(tok, "target") == 0) {
            CHECK(c, job.target_file_bytes == num(c, val), "target: got %s", desc);
        } else {
            CHECK(c, 0, "unknown expect field '%s'", tok);
        }
    }
    CHECK(c, has_reason && has_out && has_inputs, "expect needs reason=, out= and inputs=");
    /* Picks never name a segment twice, nor a busy one. */
    for (size_t i = 0; i < job.ninputs; i++) {
        if (i) CHECK(c, cmp_ref(&job.inputs[i - 1], &job.inputs[i]) != 0, "input twice: %s", desc);
        CHECK(c, !inflight_busy(&c->inf, job.inputs[i].level, job.inputs[i].id),
              "busy input picked: %s", desc);
    }
    c->last = job;                            /* for `running` */
    c->checks++;
}

/* The segment named "L<n>:<id>". */
static am_segment *find_seg(pcase *c, const char *item)
{
    int lv;
    unsigned long long id;
    CHECK(c, sscanf(item, "L%d:%llu", &lv, &id) == 2, "bad segment '%s'", item);
    for (size_t k = 0; k < c->nsegs; k++)
        if (c->segs[k]->d.level == lv && c->segs[k]->d.id == id) return c->segs[k];
    CHECK(c, 0, "no segment %s", item);
    return NULL;
}

/* count L1:3 reads=N writes=N: sets the live counters, as lookups and flushes would. */
static void set_counts(pcase *c, char *save)
{
    char *item = strtok_r(NULL, " \t", &save), *tok;
    CHECK(c, item != NULL, "count needs L<n>:<id>");
    am_segment *s = find_seg(c, item);
    while ((tok = strtok_r(NULL, " \t", &save))) {
        if (strncmp(tok, "reads=", 6) == 0)
            atomic_store(&s->reads, num(c, tok + 6));
        else if (strncmp(tok, "writes=", 7) == 0)
            atomic_store(&s->writes, num(c, tok + 7));
        else
            CHECK(c, 0, "count wants reads= / writes=, got '%s'", tok);
    }
}

/* busy LIST [out=N] [run=R]: a job with the listed inputs is in flight. free LIST: every
 * job in flight holding a listed segment is over. */
static void mark(pcase *c, char *save, int busy)
{
    ready(c);
    char *list = strtok_r(NULL, " \t", &save), *s2, *item, *tok;
    CHECK(c, list != NULL, "busy / free need L<n>:<id>,...");
    seg_ref in[MAX_SEGS];
    size_t n = 0;
    for (item = strtok_r(list, ",", &s2); item; item = strtok_r(NULL, ",", &s2)) {
        const am_segment *g = find_seg(c, item);
        CHECK(c, n < MAX_SEGS, "too many segments");
        in[n++] = (seg_ref){ g->d.level, g->d.id };
    }
    int out = -1;
    uint64_t run = 0;
    while ((tok = strtok_r(NULL, " \t", &save))) {
        CHECK(c, busy, "free takes only the segments");
        if (strncmp(tok, "out=", 4) == 0) out = (int)num(c, tok + 4);
        else if (strncmp(tok, "run=", 4) == 0) run = num(c, tok + 4);
        else CHECK(c, 0, "busy wants out= / run=, got '%s'", tok);
    }
    if (busy) {
        put_in_flight(c, in, n, out, run);
        return;
    }
    for (size_t k = 0; k < n; k++)
        for (size_t j = c->inf.n; j-- > 0;) {
            const am_inflight *f = &c->inf.jobs[j];
            int holds = 0;
            for (size_t i = 0; i < f->ninputs && !holds; i++)
                holds = f->inputs[i].level == in[k].level && f->inputs[i].id == in[k].id;
            if (holds) inflight_done(&c->inf, c->inf.tickets[j]);
        }
}

static void run_file(const char *path, int *ncases)
{
    FILE *f = fopen(path, "r");
    if (!f) fail_msg("cannot open %s", path);
    pcase *c = calloc(1, sizeof(*c));
    assert_non_null(c);
    c->file = path;
    case_reset(c);
    int in_case = 0;
    char line[1024];
    int lineno = 0;
    while (fgets(line, sizeof(line), f)) {
        lineno++;
        c->line = lineno;
        line[strcspn(line, "#\r\n")] = 0;      /* comment and line end */
        char *save, *kw = strtok_r(line, " \t", &save);
        if (!kw) continue;
        if (strcmp(kw, "case") == 0) {
            if (in_case) CHECK(c, c->checks > 0, "case has no expect");
            case_reset(c);
            c->line = lineno;
            char *nm = strtok_r(NULL, "", &save);
            snprintf(c->name, sizeof(c->name), "%s", nm ? nm : "?");
            in_case = 1;
            (*ncases)++;
            continue;
        }
        CHECK(c, in_case, "'%s' before the first case", kw);
        if (strcmp(kw, "strategy") == 0) {
            char *nm = strtok_r(NULL, " \t", &save);
            CHECK(c, nm && c->v == NULL, "strategy needs a name, before any expect");
            snprintf(c->strategy, sizeof(c->strategy), "%s", nm);
        } else if (strcmp(kw, "opt") == 0) {
            CHECK(c, c->v == NULL, "opt after the first expect");
            parse_opt(c, save);
        } else if (kw[0] == 'L' && kw[1] >= '0' && kw[1] <= '9' && kw[2] == 0) {
            parse_seg(c, kw[1] - '0', save);
        } else if (strcmp(kw, "expect") == 0) {
            run_expect(c, save);
        } else if (strcmp(kw, "busy") == 0 || strcmp(kw, "free") == 0) {
            mark(c, save, kw[0] == 'b');
        } else if (strcmp(kw, "running") == 0) {
            CHECK(c, c->last.ninputs > 0, "running: the last expect returned no job");
            uint64_t ticket;
            assert_int_equal(inflight_add(&c->inf, c->v, &c->last, &ticket), AM_OK);
        } else if (strcmp(kw, "count") == 0) {
            ready(c);
            set_counts(c, save);
        } else if (strcmp(kw, "tick") == 0) {
            ready(c);
            char *ops = strtok_r(NULL, " \t", &save), *us = strtok_r(NULL, " \t", &save);
            CHECK(c, ops != NULL, "tick needs OPS [MICROS]");
            CHECK(c, c->st->clocked, "strategy %s reads no clock", c->strategy);
            c->ops = num(c, ops);
            c->micros = us ? num(c, us) : 0;
        } else if (strcmp(kw, "pending") == 0) {
            ready(c);
            char *tok = strtok_r(NULL, " \t", &save);
            CHECK(c, tok != NULL, "pending needs a number");
            uint64_t want = num(c, tok);
            CHECK(c, c->st->pending_bytes != NULL, "strategy has no pending_bytes");
            uint64_t got = c->st->pending_bytes(c->self, c->v);
            CHECK(c, got == want, "pending: want %llu, got %llu", (unsigned long long)want,
                  (unsigned long long)got);
            c->checks++;
        } else {
            CHECK(c, 0, "unknown directive '%s'", kw);
        }
    }
    if (in_case) CHECK(c, c->checks > 0, "case has no expect");
    case_reset(c);
    free(c);
    fclose(f);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The picker directory sits beside this file (the tests run from the repo root). */
static void picker_dir(char *out, size_t cap)
{
    const char *env = getenv("AM_PICKER_DIR");
    if (env && *env) { snprintf(out, cap, "%s", env); return; }
    const char *me = __FILE__;
    const char *slash = strrchr(me, '/');
    if (slash) snprintf(out, cap, "%.*s/picker", (int)(slash - me), me);
    else snprintf(out, cap, "picker");
}

static void test_picker_files(void **state)
{
    (void)state;
    char dir[1024];
    picker_dir(dir, sizeof(dir));
    DIR *d = opendir(dir);
    if (!d) fail_msg("cannot open picker directory %s (run from the repo root)", dir);
    char *names[64];
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t len = strlen(de->d_name);
        if (len < 5 || strcmp(de->d_name + len - 4, ".txt") != 0) continue;
        assert_true(n < 64);
        names[n] = malloc(strlen(dir) + len + 2);
        assert_non_null(names[n]);
        sprintf(names[n], "%s/%s", dir, de->d_name);
        n++;
    }
    closedir(d);
    qsort(names, n, sizeof(*names), cmp_str);
    assert_true(n >= 7);                      /* one file per rule */
    int ncases = 0;
    for (size_t i = 0; i < n; i++) {
        int before = ncases;
        run_file(names[i], &ncases);
        if (ncases == before) fail_msg("%s holds no case", names[i]);
        free(names[i]);
    }
    print_message("picker: %d cases in %zu files\n", ncases, n);
}

static void test_registry(void **state)
{
    (void)state;
    const am_strategy *s = strategy_find("leveled");
    assert_ptr_equal(s, &am_strategy_leveled);
    assert_string_equal(s->name, "leveled");
    assert_null(strategy_find("no-such-strategy"));
    assert_null(strategy_find(NULL));
    assert_null(strategy_find(""));
    /* Every listed name is found, under its own name. */
    char names[256];
    snprintf(names, sizeof(names), "%s", strategy_names());
    assert_non_null(strstr(names, "leveled"));
    char *save, *tok;
    int count = 0;
    for (tok = strtok_r(names, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
        const am_strategy *t = strategy_find(tok);
        assert_non_null(t);
        assert_string_equal(t->name, tok);
        count++;
    }
    assert_true(count >= 1);
}

/* Create with NULL options uses defaults; destroy accepts what create made; job helpers. */
static void test_defaults_and_job(void **state)
{
    (void)state;
    void *self = am_strategy_leveled.create(NULL);
    assert_non_null(self);
    am_version *v = version_build(NULL, 0);
    assert_non_null(v);
    am_job j;
    job_init(&j);
    am_pick_env env = { .v = v };
    assert_int_equal(am_strategy_leveled.pick(self, &env, &j), 0);
    assert_int_equal(am_strategy_leveled.pending_bytes(self, v), 0);
    for (uint64_t i = 0; i < 100; i++) assert_int_equal(job_add_input(&j, 1, i), AM_OK);
    assert_int_equal(j.ninputs, 100);
    assert_int_equal(j.inputs[99].id, 99);
    job_clear(&j);
    assert_int_equal(j.ninputs, 0);
    assert_null(j.inputs);
    version_unref(v);
    am_strategy_leveled.destroy(self);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_picker_files),
        cmocka_unit_test(test_registry),
        cmocka_unit_test(test_defaults_and_job),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
