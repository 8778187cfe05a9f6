/* env.c: what every env shares: the error message slot, errno mapping, and the helpers
 * built on the env table (read a whole file, write a file atomically). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "env.h"

void am_env_init_base(am_env *env, const am_env_ops *ops, void *self)
{
    env->ops = ops;
    env->self = self;
    pthread_mutex_init(&env->err_mu, NULL);
    env->errmsg[0] = '\0';
    env->errors = 0;
}

void am_env_destroy_base(am_env *env) { pthread_mutex_destroy(&env->err_mu); }

/* noinline: a debugger breakpoint here sees every new error. */
__attribute__((noinline)) int am_env_error(am_env *env, int code, const char *fmt, ...)
{
    if (!env) return code;
    char msg[sizeof env->errmsg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&env->err_mu);
    memcpy(env->errmsg, msg, sizeof msg);
    env->errors++;
    pthread_mutex_unlock(&env->err_mu);
    return code;
}

void am_env_last_error(am_env *env, char *buf, size_t cap)
{
    if (!cap) return;
    if (!env) { buf[0] = '\0'; return; }
    pthread_mutex_lock(&env->err_mu);
    snprintf(buf, cap, "%s", env->errmsg);
    pthread_mutex_unlock(&env->err_mu);
}

int am_status_from_errno(int err)
{
    switch (err) {
    case ENOSPC: case EDQUOT: return AM_ERR_NOSPACE;
    case ENOMEM: return AM_ERR_NOMEM;
    default: return AM_ERR_IO;
    }
}

/* Runs op(e, path) as a best-effort cleanup: a failure takes back its own message. */
static int quietly(am_env *e, int (*op)(am_env *, const char *), const char *path)
{
    char saved[sizeof e->errmsg];
    pthread_mutex_lock(&e->err_mu);
    memcpy(saved, e->errmsg, sizeof saved);
    uint64_t before = e->errors;
    pthread_mutex_unlock(&e->err_mu);
    int rc = op(e, path);
    if (rc != AM_OK) {
        /* Only the call's own message (one) is taken back; a newer one from another
           thread stays. */
        pthread_mutex_lock(&e->err_mu);
        if (e->errors == before + 1) memcpy(e->errmsg, saved, sizeof saved);
        pthread_mutex_unlock(&e->err_mu);
    }
    return rc;
}

int env_remove_quiet(am_env *e, const char *path)
{
    return quietly(e, e->ops->remove, path);
}

int env_remove_dir_quiet(am_env *e, const char *path)
{
    return e->ops->remove_dir ? quietly(e, e->ops->remove_dir, path) : AM_ERR_INVALID;
}

int env_read_all(am_env *e, const char *path, char **out, size_t *n)
{
    am_file *f = NULL;
    char *data = NULL;
    uint64_t size = 0;
    size_t got = 0;
    *out = NULL;
    *n = 0;
    int rc = env_open_readable(e, path, &f);
    if (rc == AM_OK) rc = env_fsize(e, f, &size);
    if (rc == AM_OK && size > (64u << 20))
        rc = am_env_error(e, AM_ERR_CORRUPT, "%s: unexpectedly large (%llu bytes)", path,
                          (unsigned long long)size);
    if (rc == AM_OK && !(data = malloc(size + 1))) rc = AM_ERR_NOMEM;
    if (rc == AM_OK) rc = env_pread(e, f, 0, size, data, &got);
    if (rc == AM_OK) {
        data[got] = '\0';
        *out = data;
        *n = got;
        data = NULL;
    }
    free(data);
    if (f) env_close(e, f);
    return rc;
}

int env_write_atomic(am_env *e, const char *dir, const char *name, const void *data, size_t n)
{
    char tmp[4096], dst[4096];
    snprintf(tmp, sizeof tmp, "%s/%s.tmp", dir, name);
    snprintf(dst, sizeof dst, "%s/%s", dir, name);
    am_file *f = NULL;
    int rc = env_open_writable(e, tmp, &f);
    if (rc == AM_OK) rc = env_append(e, f, data, n);
    if (rc == AM_OK) rc = env_sync(e, f);
    if (f) {
        int crc = env_close(e, f);
        if (rc == AM_OK) rc = crc;
    }
    int created = f != NULL;
    if (rc == AM_OK) rc = env_rename(e, tmp, dst);
    if (rc == AM_OK) {
        rc = env_sync_dir(e, dir);
    } else if (created) {
        (void)env_remove_quiet(e, tmp);    /* the first error's message is the news */
    }
    return rc;
}
