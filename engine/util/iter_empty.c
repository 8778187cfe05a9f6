/* iter_empty.c: the iterator over nothing (iter.h), for empty sources and for reporting an
 * error through the iterator interface (e.g. a segment whose file could not be read). */
#include <stdlib.h>

#include "amethyst.h"
#include "util/iter.h"

typedef struct empty_iter {
    am_iiter base;
    int status;
} empty_iter;

static void e_seek_first(am_iiter *it) { (void)it; }
static void e_seek(am_iiter *it, const char *k, size_t n) { (void)it; (void)k; (void)n; }
static void e_next(am_iiter *it) { (void)it; }
static int e_valid(const am_iiter *it) { (void)it; return 0; }
static const char *e_key(const am_iiter *it, size_t *n) { (void)it; *n = 0; return NULL; }
static const char *e_value(const am_iiter *it, size_t *n) { (void)it; *n = 0; return NULL; }
static int e_status(const am_iiter *it) { return ((const empty_iter *)it)->status; }
static void e_destroy(am_iiter *it) { free(it); }

static const am_iiter_ops empty_ops = {
    .seek_first = e_seek_first, .seek = e_seek, .next = e_next, .valid = e_valid,
    .key = e_key, .value = e_value, .status = e_status, .destroy = e_destroy,
};

am_iiter *iter_new_empty(int status)
{
    empty_iter *e = malloc(sizeof(*e));
    if (!e) return NULL;
    e->base.ops = &empty_ops;
    e->status = status;
    return &e->base;
}
