/* report_file.c: the result document's file (report.h): its default name under results/,
 * a check up front that it can be created, and the atomic write (temporary file, fsync,
 * rename, fsync of the directory). report.c builds the document. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "report.h"

/* The directory part of path into buf ("." when it has none). */
static void dir_of(const char *path, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s", path);
    char *slash = strrchr(buf, '/');
    if (!slash) snprintf(buf, cap, ".");
    else if (slash == buf) buf[1] = '\0';
    else *slash = '\0';
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int report_write(const json_t *doc, const char *path, char *err, size_t errcap)
{
    char *text = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS);
    if (!text) {
        snprintf(err, errcap, "out of memory formatting the result");
        return -1;
    }
    char tmp[4200], dir[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    dir_of(path, dir, sizeof dir);
    int rc = -1, fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(err, errcap, "%s: %s", tmp, strerror(errno));
        goto out;
    }
    size_t n = strlen(text);
    text[n] = '\n';                       /* json_dumps leaves no final newline */
    if (write_all(fd, text, n + 1) != 0 || fsync(fd) != 0) {
        snprintf(err, errcap, "%s: %s", tmp, strerror(errno));
        close(fd);
        unlink(tmp);
        goto out;
    }
    if (close(fd) != 0 || rename(tmp, path) != 0) {
        snprintf(err, errcap, "%s: %s", path, strerror(errno));
        unlink(tmp);
        goto out;
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {                       /* the rename's durability: best effort */
        fsync(dfd);
        close(dfd);
    }
    rc = 0;
out:
    free(text);
    return rc;
}

int report_check_writable(const char *path, char *err, size_t errcap)
{
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        snprintf(err, errcap, "-out %s: is a directory", path);
        return -1;
    }
    char dir[4200], probe[4300];
    dir_of(path, dir, sizeof dir);
    snprintf(probe, sizeof probe, "%s/.amethystd-probe.%ld", dir, (long)getpid());
    int fd = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(err, errcap, "-out %s: cannot create a file in %s: %s", path, dir,
                 strerror(errno));
        return -1;
    }
    close(fd);
    unlink(probe);
    return 0;
}

int report_default_path(const char *engine, const char *workload, char *buf, size_t cap,
                        char *err, size_t errcap)
{
    char wl[80];
    size_t n = 0;
    for (const char *s = workload; *s && n + 1 < sizeof wl; s++) {
        char ch = *s;
        int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                 ch == '.' || ch == '-';
        wl[n++] = ok ? ch : '-';
    }
    wl[n] = '\0';
    char stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    struct stat st;
    for (int i = 0; i < 1000; i++) {
        if (i == 0) snprintf(buf, cap, "results/%s_%s_%s.json", engine, wl, stamp);
        else snprintf(buf, cap, "results/%s_%s_%s-%d.json", engine, wl, stamp, i);
        if (stat(buf, &st) != 0) return 0;
    }
    snprintf(err, errcap, "results/: too many runs named %s_%s_%s", engine, wl, stamp);
    return -1;
}
