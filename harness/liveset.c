/* liveset.c: the live-pair account of liveset.h. Slot k holds 0 when key k is absent,
 * else 1 + the value size of its live version. */
#include "liveset.h"

#include <stdatomic.h>
#include <stdlib.h>

struct liveset {
    uint64_t capacity;
    _Atomic int overflow;
    _Atomic uint32_t *slot;       /* owned; capacity slots */
};

liveset *ls_new(uint64_t capacity)
{
    liveset *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->capacity = capacity;
    atomic_init(&s->overflow, 0);
    /* calloc zeroes: an all-zero _Atomic uint32_t is a valid 0 on every target we build. */
    s->slot = calloc(capacity ? capacity : 1, sizeof *s->slot);
    if (!s->slot) {
        free(s);
        return NULL;
    }
    return s;
}

void ls_free(liveset *s)
{
    if (!s) return;
    free((void *)s->slot);
    free(s);
}

static int64_t swap_slot(liveset *s, uint64_t key, size_t kn, uint32_t now, int64_t *dkeys)
{
    *dkeys = 0;
    if (key >= s->capacity) {
        atomic_store_explicit(&s->overflow, 1, memory_order_relaxed);
        return 0;
    }
    uint32_t old = atomic_exchange_explicit(&s->slot[key], now, memory_order_relaxed);
    int64_t before = old ? (int64_t)kn + (int64_t)(old - 1) : 0;
    int64_t after = now ? (int64_t)kn + (int64_t)(now - 1) : 0;
    *dkeys = (now != 0) - (old != 0);
    return after - before;
}

int64_t ls_put(liveset *s, uint64_t key, size_t kn, uint32_t vn, int64_t *dkeys)
{
    return swap_slot(s, key, kn, vn + 1, dkeys);
}

int64_t ls_del(liveset *s, uint64_t key, size_t kn, int64_t *dkeys)
{
    return swap_slot(s, key, kn, 0, dkeys);
}

int ls_overflowed(const liveset *s)
{
    return atomic_load_explicit(&((liveset *)s)->overflow, memory_order_relaxed);
}
