/* env_posix.c: the real env, over POSIX file descriptors. Appends are one write(2) each
 * (looping only on a short write), or for logs (open_log) a copy into a shared mapping of
 * space reserved with posix_fallocate; reads are pread(2), or a read-only mmap(2) of the
 * whole file for immutable files that ask for it; sync is fdatasync(2); locks are
 * open-file-description fcntl(F_OFD_SETLK) write locks on the LOCK file: unlike F_SETLK
 * locks (per process, dropped by closing any descriptor of the file), a second lock from
 * the same process is refused with AM_ERR_BUSY. */
#include <dirent.h>
#include <errno.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "env.h"

struct am_file {
    int fd;
    am_env *env;
    void *map;        /* whole-file read-only mapping, or NULL */
    size_t map_len;
    char *log;        /* open_log: writable shared mapping of the reserved space, or NULL */
    size_t log_cap;   /* bytes reserved and mapped */
    size_t log_len;   /* bytes appended */
    size_t log_synced;/* bytes known durable (sync) */
    char path[];      /* for messages */
};

#define LOG_FIRST_RESERVE (1u << 20)   /* a log's first reservation */
#define LOG_MAX_STEP (64u << 20)       /* reservations double up to this step */

struct am_lock {
    int fd;
};

static int os_error(am_env *env, const char *op, const char *path)
{
    int err = errno;
    return am_env_error(env, am_status_from_errno(err), "%s %s: %s", op, path, strerror(err));
}

static int new_file(am_env *env, const char *path, int fd, am_file **out)
{
    size_t n = strlen(path) + 1;
    am_file *f = malloc(sizeof *f + n);
    if (!f) {
        close(fd);
        return AM_ERR_NOMEM;
    }
    f->fd = fd;
    f->env = env;
    f->map = NULL;
    f->map_len = 0;
    f->log = NULL;
    f->log_cap = f->log_len = f->log_synced = 0;
    memcpy(f->path, path, n);
    *out = f;
    return AM_OK;
}

static int posix_open_writable(am_env *env, const char *path, am_file **out)
{
    *out = NULL;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return os_error(env, "create", path);
    return new_file(env, path, fd, out);
}

static int posix_open_readable(am_env *env, const char *path, am_file **out)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return os_error(env, "open", path);
    return new_file(env, path, fd, out);
}

/* Reserves (fallocate: real blocks, zero-filled) and maps at least need bytes of a log. */
static int log_grow(am_file *f, size_t need)
{
    size_t cap = f->log_cap ? f->log_cap : LOG_FIRST_RESERVE;
    while (cap < need) cap += cap < LOG_MAX_STEP ? cap : LOG_MAX_STEP;
    int err = posix_fallocate(f->fd, (off_t)f->log_cap, (off_t)(cap - f->log_cap));
    if (err) {
        errno = err;
        return os_error(f->env, "reserve log space in", f->path);
    }
    void *p = f->log ? mremap(f->log, f->log_cap, cap, MREMAP_MAYMOVE)
                     : mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_SHARED, f->fd, 0);
    if (p == MAP_FAILED) return os_error(f->env, "map log", f->path);
    f->log = p;
    f->log_cap = cap;
    return AM_OK;
}

static int posix_open_log(am_env *env, const char *path, am_file **out)
{
    *out = NULL;
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return os_error(env, "create", path);
    am_file *f;
    int rc = new_file(env, path, fd, &f);
    if (rc == AM_OK && (rc = log_grow(f, LOG_FIRST_RESERVE)) != AM_OK) {
        close(f->fd);
        unlink(path);
        free(f);
        return rc;
    }
    if (rc == AM_OK) *out = f;
    return rc;
}

/* Appends to a mapped log: the first 8 bytes in one store, fenced, then the rest (see
 * open_log in env.h: a killed append leaves a whole header and zeros after the record). */
static int log_append(am_file *f, const char *p, size_t n)
{
    if (n > f->log_cap - f->log_len) {
        int rc = log_grow(f, f->log_len + n);
        if (rc != AM_OK) return rc;
    }
    char *dst = f->log + f->log_len;
    if (n >= 8) {
        uint64_t head;
        memcpy(&head, p, 8);
        memcpy(dst, &head, 8);                        /* one 8-byte store */
        /* Ordered against this thread being interrupted (a kill): the kernel then sees its
           stores in program order, so a compiler barrier is the fence needed. */
        atomic_signal_fence(memory_order_seq_cst);
        memcpy(dst + 8, p + 8, n - 8);
    } else if (n) {
        memcpy(dst, p, n);
    }
    f->log_len += n;
    return AM_OK;
}

static int posix_append(am_file *f, const void *buf, size_t n)
{
    if (f->log) return log_append(f, buf, n);
    const char *p = buf;
    while (n > 0) {
        ssize_t w = write(f->fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return os_error(f->env, "write", f->path);
        }
        p += w;
        n -= (size_t)w;
    }
    return AM_OK;
}

static int posix_pread(am_file *f, uint64_t off, size_t n, void *buf, size_t *got)
{
    char *p = buf;
    size_t done = 0;
    while (done < n) {
        ssize_t r = pread(f->fd, p + done, n - done, (off_t)(off + done));
        if (r < 0) {
            if (errno == EINTR) continue;
            *got = done;
            return os_error(f->env, "read", f->path);
        }
        if (r == 0) break;
        done += (size_t)r;
    }
    *got = done;
    return AM_OK;
}

static int posix_sync(am_file *f)
{
    if (f->log) {
        /* Only the pages written since the last sync (msync wants a page-aligned start).
           msync(MS_SYNC) writes them back as fdatasync would (the size was fixed by the
           reservation), so one call, not both. */
        if (f->log_len > f->log_synced) {
            size_t page = (size_t)sysconf(_SC_PAGESIZE);
            size_t from = f->log_synced / page * page;
            if (msync(f->log + from, f->log_len - from, MS_SYNC) != 0)
                return os_error(f->env, "sync", f->path);
            f->log_synced = f->log_len;
        }
        return AM_OK;
    }
    if (fdatasync(f->fd) != 0) return os_error(f->env, "sync", f->path);
    return AM_OK;
}

static int posix_size(am_file *f, uint64_t *out)
{
    if (f->log) {
        *out = f->log_len;
        return AM_OK;
    }
    struct stat st;
    if (fstat(f->fd, &st) != 0) return os_error(f->env, "stat", f->path);
    *out = (uint64_t)st.st_size;
    return AM_OK;
}

static int posix_close(am_file *f)
{
    if (!f) return AM_OK;
    int rc = AM_OK;
    if (f->map) munmap(f->map, f->map_len);
    if (f->log) {
        /* Trim the reserve: the file ends where the log does. */
        munmap(f->log, f->log_cap);
        if (ftruncate(f->fd, (off_t)f->log_len) != 0) rc = os_error(f->env, "trim", f->path);
    }
    if (close(f->fd) != 0) rc = os_error(f->env, "close", f->path);
    free(f);
    return rc;
}

static int posix_map(am_file *f, const char **base, uint64_t *len)
{
    if (!f->map) {
        struct stat st;
        if (fstat(f->fd, &st) != 0) return os_error(f->env, "stat", f->path);
        if (st.st_size == 0)
            return am_env_error(f->env, AM_ERR_IO, "map %s: empty file", f->path);
        void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, f->fd, 0);
        if (p == MAP_FAILED) return os_error(f->env, "map", f->path);
        f->map = p;
        f->map_len = (size_t)st.st_size;
    }
    *base = f->map;
    *len = f->map_len;
    return AM_OK;
}

static int posix_remove(am_env *env, const char *path)
{
    if (unlink(path) != 0) return os_error(env, "remove", path);
    return AM_OK;
}

static int posix_remove_dir(am_env *env, const char *path)
{
    if (rmdir(path) != 0) return os_error(env, "remove directory", path);
    return AM_OK;
}

static int posix_rename(am_env *env, const char *from, const char *to)
{
    if (rename(from, to) != 0) {
        int err = errno;
        return am_env_error(env, am_status_from_errno(err), "rename %s to %s: %s", from, to,
                            strerror(err));
    }
    return AM_OK;
}

static int posix_mkdir(am_env *env, const char *path)
{
    if (mkdir(path, 0755) != 0 && errno != EEXIST) return os_error(env, "mkdir", path);
    struct stat st;
    if (stat(path, &st) != 0) return os_error(env, "stat", path);
    if (!S_ISDIR(st.st_mode))
        return am_env_error(env, AM_ERR_IO, "mkdir %s: exists and is not a directory", path);
    return AM_OK;
}

static int posix_sync_dir(am_env *env, const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return os_error(env, "open directory", path);
    int rc = AM_OK;
    if (fsync(fd) != 0) rc = os_error(env, "sync directory", path);
    close(fd);
    return rc;
}

static int posix_exists(am_env *env, const char *path)
{
    (void)env;
    return access(path, F_OK) == 0;
}

static int posix_file_size(am_env *env, const char *path, uint64_t *out)
{
    struct stat st;
    if (stat(path, &st) != 0) return os_error(env, "stat", path);
    *out = (uint64_t)st.st_size;
    return AM_OK;
}

static int posix_list_dir(am_env *env, const char *dir, int (*fn)(void *, const char *),
                          void *arg)
{
    DIR *d = opendir(dir);
    if (!d) return os_error(env, "list", dir);
    int rc = AM_OK;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        if ((rc = fn(arg, de->d_name)) != 0) break;
    }
    closedir(d);
    return rc;
}

/* 1 if fd is still the file path names (no one removed or replaced it). */
static int same_file(int fd, const char *path)
{
    struct stat a, b;
    return fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev &&
           a.st_ino == b.st_ino;
}

static int posix_lock(am_env *env, const char *path, am_lock **out)
{
    *out = NULL;
    /* A failed open removes the LOCK file it created, still holding the lock; an opener
       that opened that file just before, and locks it just after, holds a lock on a file
       no name leads to: it tries again on the file path now names. */
    for (int attempt = 0;; attempt++) {
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0) return os_error(env, "create", path);
        struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
        if (fcntl(fd, F_OFD_SETLK, &fl) != 0) {
            int err = errno;
            close(fd);
            if (err == EACCES || err == EAGAIN)
                return am_env_error(env, AM_ERR_BUSY, "lock %s: held by another process", path);
            errno = err;
            return os_error(env, "lock", path);
        }
        if (!same_file(fd, path)) {
            close(fd);
            if (attempt < 8) continue;
            return am_env_error(env, AM_ERR_BUSY, "lock %s: the file keeps being replaced",
                                path);
        }
        am_lock *l = malloc(sizeof *l);
        if (!l) {
            close(fd);
            return AM_ERR_NOMEM;
        }
        l->fd = fd;
        *out = l;
        return AM_OK;
    }
}

static int posix_unlock(am_env *env, am_lock *l)
{
    (void)env;
    if (!l) return AM_OK;
    close(l->fd);      /* closing releases the fcntl lock */
    free(l);
    return AM_OK;
}

static const am_env_ops posix_ops = {
    .open_writable = posix_open_writable,
    .open_readable = posix_open_readable,
    .append = posix_append,
    .pread = posix_pread,
    .sync = posix_sync,
    .size = posix_size,
    .close = posix_close,
    .remove = posix_remove,
    .remove_dir = posix_remove_dir,
    .rename = posix_rename,
    .mkdir = posix_mkdir,
    .sync_dir = posix_sync_dir,
    .exists = posix_exists,
    .file_size = posix_file_size,
    .list_dir = posix_list_dir,
    .lock = posix_lock,
    .unlock = posix_unlock,
    .map = posix_map,
    .open_log = posix_open_log,
};

am_env *am_env_posix_new(void)
{
    am_env *env = malloc(sizeof *env);
    if (env) am_env_init_base(env, &posix_ops, NULL);
    return env;
}

void am_env_posix_free(am_env *env)
{
    if (!env) return;
    am_env_destroy_base(env);
    free(env);
}
