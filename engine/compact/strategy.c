/* strategy.c: the registry of compaction strategies (strategy.h). One static const list;
 * a new strategy drops in by adding one line to STRATEGY_LIST (its am_strategy object and
 * its name), which feeds both the lookup table and strategy_names(). */
#include <string.h>

#include "compact/strategy.h"

/* X(object, "name"): one line per strategy, in the order strategy_names() lists them. */
#define STRATEGY_LIST(X) \
    X(am_strategy_leveled, "leveled")

#define AS_POINTER(obj, name) &obj,
static const am_strategy *const strategies[] = { STRATEGY_LIST(AS_POINTER) };
#undef AS_POINTER
#define NSTRATEGIES (sizeof(strategies) / sizeof(strategies[0]))

/* ", leveled, tiered" as one literal; strategy_names() skips the leading ", ". */
#define AS_NAME(obj, name) ", " name
static const char names[] = STRATEGY_LIST(AS_NAME);
#undef AS_NAME

const am_strategy *strategy_find(const char *name)
{
    if (!name) return NULL;
    for (size_t i = 0; i < NSTRATEGIES; i++)
        if (strcmp(strategies[i]->name, name) == 0) return strategies[i];
    return NULL;
}

const char *strategy_names(void)
{
    return names + 2;
}
