/* job.c: the compaction job, the plain description a strategy fills (strategy.h): its
 * input list and where the output goes. Holds values only, never a file or a segment
 * pointer, so a job can be built, compared and printed without a database. */
#include <stdlib.h>
#include <string.h>

#include "amethyst.h"
#include "compact/strategy.h"

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
    if (j->ninputs == j->cap_inputs) {
        size_t cap = j->cap_inputs ? j->cap_inputs * 2 : 8;
        void *p = realloc(j->inputs, cap * sizeof(*j->inputs));
        if (!p) return AM_ERR_NOMEM;
        j->inputs = p;
        j->cap_inputs = cap;
    }
    j->inputs[j->ninputs].level = level;
    j->inputs[j->ninputs].id = id;
    j->ninputs++;
    return AM_OK;
}
