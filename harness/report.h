/* report.h: the run's JSON document (schema "amethyst-result/1", every field described in
 * docs/results.md): report_build (report.c) makes it, report_write (report_file.c) writes
 * it atomically; and the summary table on stderr (report.c). */
#ifndef AM_HARNESS_REPORT_H
#define AM_HARNESS_REPORT_H

#include <jansson.h>
#include <stdio.h>

#include "run.h"

#define REPORT_SCHEMA "amethyst-result/1"

/* The whole document; NULL on OOM. The caller owns it (json_decref). */
json_t *report_build(const run_config *cfg, const wl_workload *w, const he_ops *ops,
                     const char *variant, const run_result *res);

/* Writes doc to path atomically: a temporary file beside it, fsync, rename, fsync of the
 * directory. Returns 0, or -1 with the reason in err (the target is then untouched). */
int report_write(const json_t *doc, const char *path, char *err, size_t errcap);

/* "results/<engine>_<workload>_<UTC time>.json" (workload name reduced to [A-Za-z0-9._-],
 * a -N suffix if that file exists) into buf; creates nothing (the caller makes results/). Returns 0, or
 * -1 with the reason in err. */
int report_default_path(const char *engine, const char *workload, char *buf, size_t cap,
                        char *err, size_t errcap);

/* Checks up front that a file can be created at path (creates and removes a probe beside
 * it). Returns 0, or -1 with the reason in err. */
int report_check_writable(const char *path, char *err, size_t errcap);

/* Phase and total figures as a small table on f. */
void report_summary(FILE *f, const wl_workload *w, const run_result *res);

/* The "machine" object: CPU model, cores, memory, kernel, file system of dir, clock. */
json_t *machine_info(const char *dir, const clk_src *clk);

#endif
