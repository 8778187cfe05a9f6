/* arena.c: the memtable's bump allocator (arena.h). */
#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include "arena.h"

#define ARENA_BLOCK (64u * 1024u)

struct arena_block {
    arena_block *next;
    alignas(max_align_t) char data[];
};

void arena_init(arena *a)
{
    a->ptr = NULL;
    a->left = 0;
    a->blocks = NULL;
    atomic_init(&a->usage, 0);
}

void arena_destroy(arena *a)
{
    arena_block *b = a->blocks;
    while (b) {
        arena_block *next = b->next;
        free(b);
        b = next;
    }
    arena_init(a);
}

static char *new_block(arena *a, size_t n)
{
    arena_block *b = malloc(sizeof *b + n);
    if (!b) return NULL;
    b->next = a->blocks;
    a->blocks = b;
    atomic_fetch_add_explicit(&a->usage, sizeof *b + n, memory_order_relaxed);
    return b->data;
}

void *arena_alloc(arena *a, size_t n)
{
    if (n == 0) n = 1;                        /* a distinct, valid pointer */
    if (n > SIZE_MAX - sizeof(arena_block) - 8) return NULL;
    n = (n + 7) & ~(size_t)7;
    if (n <= a->left) {
        char *p = a->ptr;
        a->ptr += n;
        a->left -= n;
        return p;
    }
    if (n > ARENA_BLOCK / 4) return new_block(a, n);   /* large: its own block */
    char *p = new_block(a, ARENA_BLOCK);
    if (!p) return NULL;
    a->ptr = p + n;
    a->left = ARENA_BLOCK - n;
    return p;
}

size_t arena_memory_usage(const arena *a)
{
    return atomic_load_explicit(&a->usage, memory_order_relaxed);
}
