/* machine.c: the "machine" object of the result (docs/results.md): what ran the run.
 * Every field comes from the running system (/proc/cpuinfo, sysconf, uname, statfs);
 * a field that cannot be read is null. */
#include <stdio.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "report.h"

static json_t *cpu_model(void)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return json_null();
    char line[1024];
    json_t *model = NULL;
    while (!model && fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) && strncmp(line, "Processor", 9)) continue;
        char *colon = strchr(line, ':');
        if (!colon) continue;
        char *s = colon + 1;
        while (*s == ' ' || *s == '\t') s++;
        s[strcspn(s, "\n")] = '\0';
        model = json_string(s);
    }
    fclose(f);
    return model ? model : json_null();
}

/* statfs magic numbers of the file systems a database is likely to sit on. */
static const struct {
    unsigned long magic;
    const char *name;
} fs_names[] = {
    { 0xEF53, "ext4" },          /* ext2/3/4 share it */
    { 0x58465342, "xfs" },       { 0x9123683E, "btrfs" },   { 0x01021994, "tmpfs" },
    { 0x794C7630, "overlayfs" }, { 0x2FC12FC1, "zfs" },     { 0x6969, "nfs" },
    { 0xF2F52010, "f2fs" },      { 0x65735546, "fuse" },    { 0x858458F6, "ramfs" },
    { 0x5346544E, "ntfs" },      { 0x4D44, "vfat" },        { 0x6A656A63, "virtiofs" },
    { 0x01021997, "9p" },        { 0x73717368, "squashfs" }, { 0xFF534D42, "cifs" },
};

static json_t *fs_type(const char *dir)
{
    struct statfs st;
    if (!dir || statfs(dir, &st) != 0) return json_null();
    unsigned long magic = (unsigned long)st.f_type;
    for (size_t i = 0; i < sizeof fs_names / sizeof fs_names[0]; i++)
        if (fs_names[i].magic == magic) return json_string(fs_names[i].name);
    char buf[32];
    snprintf(buf, sizeof buf, "0x%lx", magic);
    return json_string(buf);
}

json_t *machine_info(const char *dir, const clk_src *clk)
{
    json_t *m = json_object();
    if (!m) return NULL;
    struct utsname u;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    json_object_set_new(m, "cpu_model", cpu_model());
    json_object_set_new(m, "cores", cores > 0 ? json_integer(cores) : json_null());
    json_object_set_new(m, "memory_bytes",
                        pages > 0 && page > 0 ? json_integer((json_int_t)pages * page) : json_null());
    if (uname(&u) == 0) {
        char k[512];
        snprintf(k, sizeof k, "%s %s", u.sysname, u.release);
        json_object_set_new(m, "kernel", json_string(k));
        json_object_set_new(m, "arch", json_string(u.machine));
    } else {
        json_object_set_new(m, "kernel", json_null());
        json_object_set_new(m, "arch", json_null());
    }
    json_object_set_new(m, "db_filesystem", fs_type(dir));
    json_t *c = json_object();
    json_object_set_new(c, "source", json_string(clk->tsc ? "tsc" : "clock_gettime"));
    json_object_set_new(c, "ticks_per_second", json_real(clk->hz));
    json_object_set_new(c, "note", json_string(clk->why));
    json_object_set_new(m, "latency_clock", c);
    return m;
}
