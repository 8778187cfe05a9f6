/* target_sst.c: fuzz target "sst": the input is the raw bytes of an SSTable. The file is
 * opened, iterated three ways, searched and merged through the merge kernel
 * (fuzz_sst_exercise in fuzz_sst.h). Seeds: files written by the engine's builder.
 * Known defect: known-out-of-order-merge.sst, a file whose checksums are valid but whose
 * two keys are out of order, opens and reads, then the merge kernel hands the keys to
 * sst_builder_add in that order (its assert). */
#include <stdio.h>
#include <stdlib.h>

#include "fuzz/fuzz_sst.h"
#include "fuzz/fuzz_util.h"

const char fuzz_target_name[] = "sst";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char dir[600], path[700];
    fuzz_dir(dir, sizeof dir, "sst");
    snprintf(path, sizeof path, "%s/000007.sst", dir);
    fuzz_write_file(path, data, size);
    fuzz_sst_exercise(path, (unsigned)size & 3);
    return 0;
}

/* Two entries, "b" then "a", in one data block (restart at every entry). */
static const uint8_t out_of_order[] = {
    0x00, 10, 0,                     /* ENTRIES, stride 1, 10 bytes */
    1, 'b', 2, 1, 1, 'x',            /* "b" seq 2 value "x" */
    1, 'a', 1, 1, 1, 'y',            /* "a" seq 1 value "y" */
};

void fuzz_generate(const char *corpus_dir, const char *regress_dir)
{
    fuzz_blob seeds[FUZZ_SST_SEEDS];
    fuzz_sst_seed_files(seeds);
    for (int i = 0; i < FUZZ_SST_SEEDS; i++) {
        char name[400];
        snprintf(name, sizeof name, "seed-%s.sst", seeds[i].name);
        fuzz_put(corpus_dir, name, seeds[i].data, seeds[i].n);
        free(seeds[i].data);
    }
    am_buf file;
    buf_init(&file);
    fuzz_sst_frame_build(out_of_order, sizeof out_of_order, &file);
    fuzz_put(regress_dir, "known-out-of-order-merge.sst", file.data, file.len);
    buf_free(&file);
}
