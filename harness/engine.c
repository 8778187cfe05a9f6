/* engine.c: the registry of harness engines (engine.h): one static const table of
 * families; names are resolved against it and, for families with variants, against the
 * variant list the adapter reports at run time. */
#include "engine.h"

#include <stdio.h>
#include <string.h>

extern const he_ops he_null_ops;
extern const he_ops he_amethyst_ops;
extern const he_ops he_rocksdb_ops;
extern const he_ops he_leveldb_ops;

static const struct family {
    const char *name;             /* "null", "amethyst", "rocksdb", ... */
    const he_ops *ops;
    int bare_variants;            /* 1: each variant is also an engine name by itself */
} families[] = {
    { "null", &he_null_ops, 0 },
    { "amethyst", &he_amethyst_ops, 1 },
    /* Peers (harness/engines/rocksdb.c, leveldb.c; docs/engines.md). */
    { "rocksdb", &he_rocksdb_ops, 0 },
    { "leveldb", &he_leveldb_ops, 0 },
};
#define NFAMILIES (sizeof families / sizeof families[0])

/* Calls fn(arg, variant, len) for each variant in a "a, b, c" list; stops when fn
 * returns non-zero and returns that. */
static int each_variant(const char *list, int (*fn)(void *arg, const char *v, size_t n),
                        void *arg)
{
    for (const char *s = list; s && *s;) {
        while (*s == ' ' || *s == ',') s++;
        size_t n = strcspn(s, ", ");
        if (n) {
            int rc = fn(arg, s, n);
            if (rc) return rc;
        }
        s += n;
    }
    return 0;
}

typedef struct match_ctx {
    const char *want;
} match_ctx;

static int match_variant(void *arg, const char *v, size_t n)
{
    const match_ctx *m = arg;
    return strlen(m->want) == n && !memcmp(m->want, v, n);
}

static int has_variant(const struct family *f, const char *v)
{
    if (!f->ops->variants) return 0;
    match_ctx m = { v };
    return each_variant(f->ops->variants(), match_variant, &m);
}

/* Family and variant of name; the variant points into name (NULL for none). */
static const struct family *resolve(const char *name, const char **variant)
{
    *variant = NULL;
    if (!name) return NULL;
    for (size_t i = 0; i < NFAMILIES; i++) {
        const struct family *f = &families[i];
        size_t n = strlen(f->name);
        if (!f->ops->variants) {
            if (!strcmp(name, f->name)) return f;
            continue;
        }
        if (!strncmp(name, f->name, n) && name[n] == '-' && has_variant(f, name + n + 1)) {
            *variant = name + n + 1;
            return f;
        }
        if (f->bare_variants && has_variant(f, name)) {
            *variant = name;
            return f;
        }
    }
    return NULL;
}

const he_ops *he_find(const char *name, const char **variant)
{
    const char *v;
    const struct family *f = resolve(name, &v);
    if (variant) *variant = v;
    return f ? f->ops : NULL;
}

int he_canonical(const char *name, char *buf, size_t cap)
{
    const char *v;
    const struct family *f = resolve(name, &v);
    if (!f) return -1;
    if (!v) snprintf(buf, cap, "%s", f->name);
    else if (f->bare_variants) snprintf(buf, cap, "%s", v);
    else snprintf(buf, cap, "%s-%s", f->name, v);
    return 0;
}

typedef struct list_ctx {
    const struct family *f;
    void (*emit)(void *arg, const char *name, const char *desc);
    void *arg;
} list_ctx;

static int emit_variant(void *arg, const char *v, size_t n)
{
    const list_ctx *c = arg;
    char name[96], desc[256];
    if (c->f->bare_variants)
        snprintf(name, sizeof name, "%.*s", (int)n, v);
    else
        snprintf(name, sizeof name, "%s-%.*s", c->f->name, (int)n, v);
    if (c->f->bare_variants)
        snprintf(desc, sizeof desc, "%s, %.*s (also %s-%.*s)", c->f->ops->description, (int)n,
                 v, c->f->name, (int)n, v);
    else
        snprintf(desc, sizeof desc, "%s, %.*s", c->f->ops->description, (int)n, v);
    c->emit(c->arg, name, desc);
    return 0;
}

void he_list(void (*emit)(void *arg, const char *name, const char *desc), void *arg)
{
    for (size_t i = 0; i < NFAMILIES; i++) {
        const struct family *f = &families[i];
        if (!f->ops->variants) {
            emit(arg, f->name, f->ops->description);
            continue;
        }
        list_ctx c = { f, emit, arg };
        each_variant(f->ops->variants(), emit_variant, &c);
    }
}

typedef struct names_ctx {
    char *buf;
    size_t cap, len;
} names_ctx;

static void add_name(void *arg, const char *name, const char *desc)
{
    (void)desc;
    names_ctx *c = arg;
    if (c->len >= c->cap) return;
    int n = snprintf(c->buf + c->len, c->cap - c->len, "%s%s", c->len ? ", " : "", name);
    if (n > 0) c->len += (size_t)n;
}

void he_names(char *buf, size_t cap)
{
    if (!cap) return;
    buf[0] = '\0';
    names_ctx c = { buf, cap, 0 };
    he_list(add_name, &c);
}
