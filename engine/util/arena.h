/* arena.h: bump allocator for the memtable. Memory is handed out from 64 KiB blocks (a
 * larger block for a large request) and freed only all at once, with the arena: a skiplist
 * node is never freed on its own.
 * Thread safety: one allocating thread at a time (the write leader); memory_usage() may be
 * read from any thread. */
#ifndef AM_UTIL_ARENA_H
#define AM_UTIL_ARENA_H

#include <stdatomic.h>
#include <stddef.h>

typedef struct arena_block arena_block;
typedef struct arena {
    char *ptr;                   /* next free byte in the current block */
    size_t left;                 /* bytes left in it */
    arena_block *blocks;         /* owned, singly linked */
    atomic_size_t usage;         /* bytes allocated from the OS, incl. headers */
} arena;

void arena_init(arena *a);
void arena_destroy(arena *a);
/* Memory aligned to 8 bytes; NULL on
 * allocation failure. */
void *arena_alloc(arena *a, size_t n);
size_t arena_memory_usage(const arena *a);

#endif
