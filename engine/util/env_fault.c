/* env_fault.c: the fault-injecting env (env_fault.h). It forwards every call to a base env
 * and keeps, for each file written through it, what a power cut would leave behind.
 *
 * What is modelled (and what is not):
 *  - Data: each file created or truncated by open_writable is tracked with its current
 *    size (bytes appended through this env) and its synced size (the size at its last
 *    successful sync). A power cut truncates the file to its synced size. A file that
 *    existed before open_writable truncated it counts as having 0 synced bytes.
 *  - Names: a file that did not exist when open_writable created it is "new" until
 *    sync_dir of its parent directory (the text before its last '/', "." if none)
 *    succeeds; a power cut removes every new file.
 *  - Renames take effect at once and are never undone: the tracked state moves to the
 *    new name. Renaming onto an existing name makes the result durable as a name (real
 *    file systems leave the old or the new file there, never neither; we keep the new
 *    one). Renaming to a fresh name keeps the source's "new" flag, now relative to the
 *    destination directory, so a new file renamed without a sync_dir still vanishes.
 *    Not modelled: a rename of a durable file being forgotten after a power cut.
 *  - Removes (of files and empty directories), mkdir and locks take effect at once and
 *    are never undone.
 *  - An injected failure changes nothing: the append writes no byte, the sync makes
 *    nothing durable, the rename does not happen, the open creates nothing.
 *  - Dead mode: every call fails with AM_ERR_IO and changes nothing on disk and in the
 *    tracked state; calls are not counted. close and unlock still release the base
 *    handle and free memory (a dead process's descriptors and locks go away too) so that
 *    a test can abandon a db, power_cut, and reopen in the same process.
 *
 * One mutex guards the tracked state, the counters and the armed faults. It is held
 * across the forwarded call for every operation that changes state (open_writable,
 * append, sync, sync_dir, rename, remove, close, power_cut), so a power cut never sees
 * half an update; it is released before reads (pread, size, exists, file_size,
 * open_readable, list_dir: list_dir's callback may call back into the env).
 *
 * An am_file handed out here is a fault_file (cast to am_file *, never dereferenced as
 * one); it holds the base env's file and, for writable files, a reference to the tracked
 * entry, so that remove or rename of an open file does not free state still in use. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "env_fault.h"

typedef struct tracked {
    char *path;                /* owned */
    uint64_t size;             /* bytes appended since open_writable */
    uint64_t synced;           /* bytes durable: size at the last successful sync */
    int created;               /* created since the last sync_dir of its directory */
    int listed;                /* still on fault_env.files (not removed / replaced) */
    int refs;                  /* open handles + 1 while listed; freed at 0 */
    struct tracked *next;
} tracked;

typedef struct fault_arm {
    uint64_t at;               /* count at which the fault fires; 0: disarmed */
    int status;
    int sticky;
} fault_arm;

typedef struct fault_env {
    am_env env;                /* first: &fe->env is what callers hold */
    am_env *base;              /* borrowed */
    pthread_mutex_t mu;
    tracked *files;            /* owned list of tracked files */
    uint64_t count[FAULT_KINDS];
    fault_arm arm[FAULT_KINDS];
    int dead;
} fault_env;

typedef struct fault_file {
    fault_env *fe;             /* borrowed */
    am_file *base;             /* owned: closed by our close */
    tracked *t;                /* one reference; NULL for readable files */
    char path[];               /* for messages */
} fault_file;

static const char *const kind_names[FAULT_KINDS] = {
    [FAULT_WRITE] = "write", [FAULT_SYNC] = "sync", [FAULT_RENAME] = "rename",
    [FAULT_OPEN] = "open", [FAULT_READ] = "read",
};

#define NO_KIND (-1)

static fault_env *fenv(am_env *env) { return env->self; }
static fault_file *ffile(am_file *f) { return (fault_file *)(void *)f; }

/* Copies the base env's message onto ours for a failed forwarded call; returns rc. */
static int pass_error(fault_env *fe, int rc)
{
    if (rc >= 0) return rc;
    char msg[sizeof fe->env.errmsg];
    am_env_last_error(fe->base, msg, sizeof msg);
    return am_env_error(&fe->env, rc, "%s", msg);
}

/* Called with mu held, before every call: refuses it when dead, counts it, and fires an
 * armed fault. Returns AM_OK or the failure status (message recorded). */
static int gate(fault_env *fe, int kind, const char *op, const char *path)
{
    if (fe->dead)
        return am_env_error(&fe->env, AM_ERR_IO, "injected fault: dead env refuses %s %s", op,
                            path);
    if (kind == NO_KIND) return AM_OK;
    uint64_t c = ++fe->count[kind];
    fault_arm *a = &fe->arm[kind];
    if (a->at == 0 || c < a->at || (c > a->at && !a->sticky)) return AM_OK;
    int status = a->status;
    if (!a->sticky) a->at = 0;
    return am_env_error(&fe->env, status, "injected fault: %s %s (%s call %llu)", op, path,
                        kind_names[kind], (unsigned long long)c);
}

static int gate_locked(fault_env *fe, int kind, const char *op, const char *path)
{
    pthread_mutex_lock(&fe->mu);
    int rc = gate(fe, kind, op, path);
    pthread_mutex_unlock(&fe->mu);
    return rc;
}

/* ---- tracked files (all with mu held) ---- */

static tracked *find(fault_env *fe, const char *path)
{
    for (tracked *t = fe->files; t; t = t->next)
        if (!strcmp(t->path, path)) return t;
    return NULL;
}

static void unref(tracked *t)
{
    if (t && --t->refs == 0) {
        free(t->path);
        free(t);
    }
}

/* Takes t off the list (it stays alive while open handles refer to it). */
static void unlist(fault_env *fe, tracked *t)
{
    for (tracked **pp = &fe->files; *pp; pp = &(*pp)->next) {
        if (*pp == t) {
            *pp = t->next;
            t->next = NULL;
            t->listed = 0;
            unref(t);
            return;
        }
    }
}

/* Length of the directory part of path ("a/b/c" -> 3 for "a/b"); 0 when there is none,
 * meaning "." */
static size_t dir_len(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash) return 0;
    while (slash > path && slash[-1] == '/') slash--;
    return slash == path ? 1 : (size_t)(slash - path);   /* "/x" lives in "/" */
}

/* Whether path lives directly in dir (dir compared without trailing slashes). */
static int in_dir(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/') n--;
    size_t d = dir_len(path);
    if (d == 0) return n == 1 && dir[0] == '.';
    return d == n && !memcmp(path, dir, n);
}

/* ---- file operations ---- */

static int wrap_file(fault_env *fe, const char *path, am_file *base, tracked *t, am_file **out)
{
    size_t n = strlen(path) + 1;
    fault_file *ff = malloc(sizeof *ff + n);
    if (!ff) {
        fe->base->ops->close(base);
        return am_env_error(&fe->env, AM_ERR_NOMEM, "fault env: no memory to open %s", path);
    }
    ff->fe = fe;
    ff->base = base;
    ff->t = t;
    memcpy(ff->path, path, n);
    *out = (am_file *)(void *)ff;
    return AM_OK;
}

static int fault_open_writable(am_env *env, const char *path, am_file **out)
{
    fault_env *fe = fenv(env);
    am_file *base = NULL;
    tracked *t = NULL;
    *out = NULL;
    pthread_mutex_lock(&fe->mu);
    int rc = gate(fe, FAULT_OPEN, "open", path);
    if (rc != AM_OK) goto out;
    tracked *old = find(fe, path);
    int existed = old ? 1 : fe->base->ops->exists(fe->base, path);
    t = calloc(1, sizeof *t);
    if (t) t->path = strdup(path);
    if (!t || !t->path) {
        rc = am_env_error(env, AM_ERR_NOMEM, "fault env: no memory to track %s", path);
        goto out;
    }
    rc = pass_error(fe, fe->base->ops->open_writable(fe->base, path, &base));
    if (rc != AM_OK) goto out;
    /* The file is now empty; if it was new and its directory never synced, it stays new. */
    t->created = old ? old->created : existed != 1;
    if (old) unlist(fe, old);
    t->listed = 1;
    t->refs = 2;               /* the list and the handle */
    t->next = fe->files;
    fe->files = t;
    rc = wrap_file(fe, path, base, t, out);
    if (rc != AM_OK) t->refs = 1;   /* the list keeps it: the base file exists, empty */
    t = NULL;                       /* owned by the list now */
out:
    pthread_mutex_unlock(&fe->mu);
    if (t) {
        free(t->path);
        free(t);
    }
    return rc;
}

static int fault_open_readable(am_env *env, const char *path, am_file **out)
{
    fault_env *fe = fenv(env);
    am_file *base = NULL;
    *out = NULL;
    int rc = gate_locked(fe, NO_KIND, "open", path);
    if (rc == AM_OK) rc = pass_error(fe, fe->base->ops->open_readable(fe->base, path, &base));
    if (rc == AM_OK) rc = wrap_file(fe, path, base, NULL, out);
    return rc;
}

static int fault_append(am_file *f, const void *buf, size_t n)
{
    fault_file *ff = ffile(f);
    fault_env *fe = ff->fe;
    pthread_mutex_lock(&fe->mu);
    int rc = gate(fe, FAULT_WRITE, "append to", ff->path);
    if (rc == AM_OK) rc = pass_error(fe, fe->base->ops->append(ff->base, buf, n));
    /* On a base failure some bytes may have reached the file; size stays an upper bound
       only of what we know, which is fine: power_cut truncates to synced anyway. */
    if (rc == AM_OK && ff->t) ff->t->size += n;
    pthread_mutex_unlock(&fe->mu);
    return rc;
}

static int fault_pread(am_file *f, uint64_t off, size_t n, void *buf, size_t *got)
{
    fault_file *ff = ffile(f);
    fault_env *fe = ff->fe;
    *got = 0;
    int rc = gate_locked(fe, FAULT_READ, "read", ff->path);
    if (rc == AM_OK) rc = pass_error(fe, fe->base->ops->pread(ff->base, off, n, buf, got));
    return rc;
}

static int fault_sync(am_file *f)
{
    fault_file *ff = ffile(f);
    fault_env *fe = ff->fe;
    pthread_mutex_lock(&fe->mu);
    int rc = gate(fe, FAULT_SYNC, "sync", ff->path);
    if (rc == AM_OK) rc = pass_error(fe, fe->base->ops->sync(ff->base));
    if (rc == AM_OK && ff->t) ff->t->synced = ff->t->size;
    pthread_mutex_unlock(&fe->mu);
    return rc;
}

static int fault_size(am_file *f, uint64_t *out)
{
    fault_file *ff = ffile(f);
    fault_env *fe = ff->fe;
    int rc = gate_locked(fe, NO_KIND, "size of", ff->path);
    if (rc == AM_OK) rc = pass_error(fe, fe->base->ops->size(ff->base, out));
    return rc;
}

/* Frees f whatever happens; when dead, still closes the base file (see the top). */
static int fault_close(am_file *f)
{
    if (!f) return AM_OK;
    fault_file *ff = ffile(f);
    fault_env *fe = ff->fe;
    pthread_mutex_lock(&fe->mu);
    int rc = gate(fe, NO_KIND, "close", ff->path);
    int brc = fe->base->ops->close(ff->base);
    if (rc == AM_OK) rc = pass_error(fe, brc);
    unref(ff->t);
    pthread_mutex_unlock(&fe->mu);
    free(ff);
    return rc;
}

/* ---- path operations ---- */

static int fault_remove(am_env *env, const char *path)
{
    fault_env *fe = fenv(env);
    pthread_mutex_lock(&fe->mu);
    int rc = gate(fe, NO_KIND, "remove", path);
    if (rc == AM_OK) rc = pass_error(fe, fe->base->ops->remove(fe->base, path));
    if (rc == AM_OK) {
        tracked *t = find(fe, path);
        if (t) unlist(fe, t);
    }
    pthread_mutex_unlock(&fe->mu);
    return rc;
}

static int fault_remove_dir(am_env *env, const char *path)
{
    fault_env *fe = fenv(env);
    if (!fe->base->ops->remove_dir) return AM_ERR_INVALID;
    pthread_mutex_lock(&fe->mu);
    int rc = gate(fe, NO_KIND, "remove directory", path);
    if (rc == AM_OK) rc = pass_error(fe, fe->base->ops->remove_dir(fe->base, path));
    pthread_mutex_unlock(&fe->mu);
    return rc;
}

static int fault_rename(am_env *env, const char *from, const char *to)
{
    fault_env *fe = fenv(env);
    char *copy = NULL;
    pthread_mutex_lock(&fe->mu);
    int rc = gate(fe, FAULT_RENAME, "rename", from);
    if (rc != AM_OK) goto out;
    tracked *src = find(fe, from), *dst = find(fe, to);
    int to_existed = dst ? 1 : fe->base->ops->exists(fe->base, to) == 1;
    if (src && !(copy = strdup(to))) {
        rc = am_env_error(env, AM_ERR_NOMEM, "fault env: no memory to rename %s", from);
        goto out;
    }
    rc = pass_error(fe, fe->base->ops->rename(fe->base, from, to));
    if (rc != AM_OK || !strcmp(from, to)) goto out;
    int dst_created = dst ? dst->created : 0;
    if (dst) unlist(fe, dst);
    if (src) {
        free(src->path);
        src->path = copy;
        copy = NULL;
        if (to_existed) src->created = dst_created;
    }
out:
    pthread_mutex_unlock(&fe->mu);
    free(copy);
    return rc;
}

static int fault_mkdir(am_env *env, const char *path)
{
    fault_env *fe = fenv(env);
    pthread_mutex_lock(&fe->mu);
    int rc = gate(fe, NO_KIND, "mkdir", path);
    if (rc == AM_OK) rc = pass_error(fe, fe->base->ops->mkdir(fe->base, path));
    pthread_mutex_unlock(&fe->mu);
    return rc;
}

static int fault_sync_dir(am_env *env, const char *path)
{
    fault_env *fe = fenv(env);
    pthread_mutex_lock(&fe->mu);
    int rc = gate(fe, FAULT_SYNC, "sync directory", path);
    if (rc == AM_OK) rc = pass_error(fe, fe->base->ops->sync_dir(fe->base, path));
    if (rc == AM_OK)
        for (tracked *t = fe->files; t; t = t->next)
            if (in_dir(t->path, path)) t->created = 0;
    pthread_mutex_unlock(&fe->mu);
    return rc;
}

static int fault_exists(am_env *env, const char *path)
{
    fault_env *fe = fenv(env);
    int rc = gate_locked(fe, NO_KIND, "exists", path);
    if (rc == AM_OK) rc = pass_error(fe, fe->base->ops->exists(fe->base, path));
    return rc;
}

static int fault_file_size(am_env *env, const char *path, uint64_t *out)
{
    fault_env *fe = fenv(env);
    int rc = gate_locked(fe, NO_KIND, "size of", path);
    if (rc == AM_OK) rc = pass_error(fe, fe->base->ops->file_size(fe->base, path, out));
    return rc;
}

typedef struct list_ctx {
    int (*fn)(void *arg, const char *name);
    void *arg;
    int stopped;               /* fn returned non-zero: its value is passed on as is */
} list_ctx;

static int list_one(void *arg, const char *name)
{
    list_ctx *c = arg;
    int rc = c->fn(c->arg, name);
    if (rc != 0) c->stopped = 1;
    return rc;
}

static int fault_list_dir(am_env *env, const char *dir, int (*fn)(void *arg, const char *name),
                          void *arg)
{
    fault_env *fe = fenv(env);
    int rc = gate_locked(fe, NO_KIND, "list", dir);
    if (rc != AM_OK) return rc;
    list_ctx c = { fn, arg, 0 };
    rc = fe->base->ops->list_dir(fe->base, dir, list_one, &c);
    return c.stopped ? rc : pass_error(fe, rc);
}

static int fault_lock(am_env *env, const char *path, am_lock **out)
{
    fault_env *fe = fenv(env);
    *out = NULL;
    pthread_mutex_lock(&fe->mu);
    int rc = gate(fe, NO_KIND, "lock", path);
    if (rc == AM_OK) rc = pass_error(fe, fe->base->ops->lock(fe->base, path, out));
    pthread_mutex_unlock(&fe->mu);
    return rc;
}

/* Releases the base lock even when dead (see the top). */
static int fault_unlock(am_env *env, am_lock *l)
{
    if (!l) return AM_OK;
    fault_env *fe = fenv(env);
    pthread_mutex_lock(&fe->mu);
    int rc = gate(fe, NO_KIND, "unlock", "lock");
    int brc = fe->base->ops->unlock(fe->base, l);
    if (rc == AM_OK) rc = pass_error(fe, brc);
    pthread_mutex_unlock(&fe->mu);
    return rc;
}

static const am_env_ops fault_ops = {
    .open_writable = fault_open_writable,
    .open_readable = fault_open_readable,
    .append = fault_append,
    .pread = fault_pread,
    .sync = fault_sync,
    .size = fault_size,
    .close = fault_close,
    .remove = fault_remove,
    .remove_dir = fault_remove_dir,
    .rename = fault_rename,
    .mkdir = fault_mkdir,
    .sync_dir = fault_sync_dir,
    .exists = fault_exists,
    .file_size = fault_file_size,
    .list_dir = fault_list_dir,
    .lock = fault_lock,
    .unlock = fault_unlock,
};

/* ---- public ---- */

am_env *am_env_fault_new(am_env *base)
{
    fault_env *fe = calloc(1, sizeof *fe);
    if (!fe) return NULL;
    if (pthread_mutex_init(&fe->mu, NULL) != 0) {
        free(fe);
        return NULL;
    }
    fe->base = base;
    am_env_init_base(&fe->env, &fault_ops, fe);
    return &fe->env;
}

/* REQUIRES: no file opened through env is still open. */
void am_env_fault_free(am_env *env)
{
    if (!env) return;
    fault_env *fe = fenv(env);
    while (fe->files) unlist(fe, fe->files);
    pthread_mutex_destroy(&fe->mu);
    am_env_destroy_base(&fe->env);
    free(fe);
}

void fault_env_fail_nth(am_env *env, fault_kind kind, uint64_t n, int status, int sticky)
{
    fault_env *fe = fenv(env);
    if ((int)kind < 0 || kind >= FAULT_KINDS) return;
    pthread_mutex_lock(&fe->mu);
    fault_arm *a = &fe->arm[kind];
    a->at = n ? fe->count[kind] + n : 0;
    a->status = status < 0 ? status : AM_ERR_IO;
    a->sticky = sticky != 0;
    pthread_mutex_unlock(&fe->mu);
}

uint64_t fault_env_count(am_env *env, fault_kind kind)
{
    fault_env *fe = fenv(env);
    if ((int)kind < 0 || kind >= FAULT_KINDS) return 0;
    pthread_mutex_lock(&fe->mu);
    uint64_t c = fe->count[kind];
    pthread_mutex_unlock(&fe->mu);
    return c;
}

/* Works in dead mode too (the power cut is what follows a death). Goes straight to the
 * file system with unlink(2) / truncate(2): it plays the hardware, not the engine. A file
 * already gone is skipped. On error the rest is still done and the first error returned. */
int fault_env_power_cut(am_env *env)
{
    fault_env *fe = fenv(env);
    int rc = AM_OK;
    pthread_mutex_lock(&fe->mu);
    tracked *t = fe->files;
    while (t) {
        tracked *next = t->next;
        /* Truncating even when size == synced also drops bytes a failed append may have
           left behind. */
        int bad = t->created ? unlink(t->path) : truncate(t->path, (off_t)t->synced);
        int err = errno;
        if (bad && err != ENOENT && rc == AM_OK)
            rc = am_env_error(env, am_status_from_errno(err), "power cut: %s %s: %s",
                              t->created ? "remove" : "truncate", t->path, strerror(err));
        if (t->created) unlist(fe, t);
        else t->size = t->synced;
        t = next;
    }
    pthread_mutex_unlock(&fe->mu);
    return rc;
}

void fault_env_set_dead(am_env *env, int dead)
{
    fault_env *fe = fenv(env);
    pthread_mutex_lock(&fe->mu);
    fe->dead = dead != 0;
    pthread_mutex_unlock(&fe->mu);
}
