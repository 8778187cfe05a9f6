/* job.c: the compaction job, the plain description a strategy fills (strategy.h): its
 * input list and where the output goes. Holds values only, never a file or a segment
 * pointer, so a job can be built, compared and printed without a database. */
#include <stdlib.h>
#include <string.h>

#include "amethyst.h"
#include "compact/strategy.h"
#include "util/vec.h"

void job_init(am_job *j)
{
    memset(j, 0, sizeof(*j));
    j->reason = JOB_MANUAL;
    j->out_tag = AM_TAG_LEVELED;
}

void job_clear(am_job *j)
{
    free(j->inputs);
    job_init(j);
}

/* Appends (level, id). Returns AM_OK or AM_ERR_NOMEM (and then j is unchanged). */
int job_add_input(am_job *j, int level, uint64_t id)
{
    if (vec_reserve(&j->inputs, &j->cap_inputs, j->ninputs + 1, sizeof *j->inputs) != AM_OK)
        return AM_ERR_NOMEM;
    j->inputs[j->ninputs].level = level;
    j->inputs[j->ninputs].id = id;
    j->ninputs++;
    return AM_OK;
}
