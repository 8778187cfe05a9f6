/* env.h: every file the engine touches goes through an am_env, a table of functions.
 * env_posix.c is the real one; env_fault.c wraps another env to inject failures (fail the
 * Nth write, sync or rename; a power cut that forgets unsynced data) for tests.
 *
 * Thread safety: an env and its functions may be called from any thread; one am_file is
 * used by one thread at a time (the engine serialises appends to a file).
 *
 * Errors: every function returns AM_OK or a negative status and records a one-line message
 * naming the path and the OS error with am_env_error(); an error from the OS "no space"
 * maps to AM_ERR_NOSPACE, other OS errors to AM_ERR_IO. */
#ifndef AM_UTIL_ENV_H
#define AM_UTIL_ENV_H

#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include "amethyst.h"

typedef struct am_env am_env;
typedef struct am_file am_file;   /* an open file; its layout belongs to the env */
typedef struct am_lock am_lock;   /* an advisory lock on a path */

typedef struct am_env_ops {
    /* Creates or truncates path for appending. */
    int (*open_writable)(am_env *env, const char *path, am_file **out);
    /* Opens an existing file for positioned reads. */
    int (*open_readable)(am_env *env, const char *path, am_file **out);
    /* Appends all n bytes with one system call where the OS allows (loops on short writes). */
    int (*append)(am_file *f, const void *buf, size_t n);
    /* Reads up to n bytes at off into buf; *got < n only at end of file. */
    int (*pread)(am_file *f, uint64_t off, size_t n, void *buf, size_t *got);
    int (*sync)(am_file *f);                 /* fdatasync: data reaches stable storage */
    int (*size)(am_file *f, uint64_t *out);
    int (*close)(am_file *f);                /* accepts NULL; frees f even on error */
    int (*remove)(am_env *env, const char *path);
    /* Optional (NULL: not offered). Removes an empty directory; fails if it is not empty. */
    int (*remove_dir)(am_env *env, const char *path);
    int (*rename)(am_env *env, const char *from, const char *to);   /* atomic replace */
    int (*mkdir)(am_env *env, const char *path);    /* AM_OK if it already exists */
    int (*sync_dir)(am_env *env, const char *path); /* makes creates / renames durable */
    int (*exists)(am_env *env, const char *path);   /* 1 yes, 0 no */
    int (*file_size)(am_env *env, const char *path, uint64_t *out);
    /* Calls fn for each entry name (not "." or "..") of dir; stops early if fn returns
       non-zero and returns that value. */
    int (*list_dir)(am_env *env, const char *dir, int (*fn)(void *arg, const char *name),
                    void *arg);
    /* Takes an exclusive advisory lock (creating path); AM_ERR_BUSY if held elsewhere.
       The lock is on the file path names when it returns: an opener that removes the LOCK
       file it created (a failed am_open) does so before it unlocks, and a lock taken on a
       file removed meanwhile is retried on the new one. */
    int (*lock)(am_env *env, const char *path, am_lock **out);
    int (*unlock)(am_env *env, am_lock *l);  /* accepts NULL */
    /* Optional (NULL: not offered). Maps the whole of a file opened with open_readable,
       read-only; *base stays valid until the file is closed. Used for immutable files
       (SSTables), so reads need no system call and no copy. */
    int (*map)(am_file *f, const char **base, uint64_t *len);
    /* Optional (NULL: logs use open_writable). Creates or truncates path as an append-only
       log that may be written through a shared memory mapping, so an append costs no
       system call and is in the OS page cache (safe from a process crash) when it returns.
       Space is reserved ahead (ENOSPC is reported by append, never a SIGBUS) and is zero;
       close trims the file to what was appended. Contract for crash recovery: an append
       stores its first 8 bytes in one store before any later byte, so a process killed
       mid-append leaves those 8 bytes whole, some of the rest, and zeros after. */
    int (*open_log)(am_env *env, const char *path, am_file **out);
} am_env_ops;

struct am_env {
    const am_env_ops *ops;
    void *self;                   /* implementation state */
    pthread_mutex_t err_mu;       /* guards errmsg and errors */
    char errmsg[512];             /* last error, one line */
    uint64_t errors;              /* messages recorded so far */
};

/* The one place every new error passes through (break here in a debugger): records a
 * formatted message on env (if not NULL) and returns code. */
int am_env_error(am_env *env, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Copies the last message into buf (always NUL-terminated). */
void am_env_last_error(am_env *env, char *buf, size_t cap);
/* Maps an errno value to AM_ERR_NOSPACE / AM_ERR_NOMEM / AM_ERR_IO. */
int am_status_from_errno(int err);

/* Initialises fields shared by every env (mutex, empty message). */
void am_env_init_base(am_env *env, const am_env_ops *ops, void *self);
void am_env_destroy_base(am_env *env);

/* The POSIX env. Returns NULL on allocation failure. Free with am_env_posix_free. */
am_env *am_env_posix_new(void);
void am_env_posix_free(am_env *env);

/* Convenience wrappers: env->ops->x(...). */
static inline int env_open_writable(am_env *e, const char *p, am_file **f) { return e->ops->open_writable(e, p, f); }
static inline int env_open_readable(am_env *e, const char *p, am_file **f) { return e->ops->open_readable(e, p, f); }
static inline int env_append(am_env *e, am_file *f, const void *b, size_t n) { return e->ops->append(f, b, n); }
static inline int env_pread(am_env *e, am_file *f, uint64_t off, size_t n, void *b, size_t *got) { return e->ops->pread(f, off, n, b, got); }
static inline int env_sync(am_env *e, am_file *f) { return e->ops->sync(f); }
static inline int env_fsize(am_env *e, am_file *f, uint64_t *out) { return e->ops->size(f, out); }
static inline int env_close(am_env *e, am_file *f) { return e->ops->close(f); }
static inline int env_remove(am_env *e, const char *p) { return e->ops->remove(e, p); }
static inline int env_rename(am_env *e, const char *a, const char *b) { return e->ops->rename(e, a, b); }
static inline int env_mkdir(am_env *e, const char *p) { return e->ops->mkdir(e, p); }
static inline int env_sync_dir(am_env *e, const char *p) { return e->ops->sync_dir(e, p); }
static inline int env_exists(am_env *e, const char *p) { return e->ops->exists(e, p); }
/* Removes path as a best-effort cleanup: the error being returned must survive it, so a
 * failure (often "no such file": the failing call removed its file itself) is not reported
 * and, unless another error was recorded meanwhile, leaves the env's last message as it
 * was. Returns the remove's status, for callers that count leftovers. */
int env_remove_quiet(am_env *e, const char *path);
/* The same for a directory: removes it if it is empty (and the env offers remove_dir);
 * "not empty" and "not offered" are not reported. */
int env_remove_dir_quiet(am_env *e, const char *path);
/* Reads a whole (small) file into a malloc'd buffer. */
int env_read_all(am_env *e, const char *path, char **out, size_t *n);
/* Writes data to path durably: temp file, sync, rename, sync dir. */
int env_write_atomic(am_env *e, const char *dir, const char *name, const void *data, size_t n);

#endif
