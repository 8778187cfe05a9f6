/* strategy.c: the registry of compaction strategies (strategy.h). strategy.h's
 * STRATEGY_LIST (one line per strategy: its am_strategy object and its name) feeds the
 * objects' declarations there and, here, the lookup table and strategy_names(). */
#include <string.h>

#include "compact/strategy.h"

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

const char *am_reason_name(int reason)
{
    static const char *const names_by_reason[AM_REASONS] = {
        [AM_REASON_L0] = "L0", [AM_REASON_LEVEL_SIZE] = "size", [AM_REASON_TIER_FULL] = "tier",
        [AM_REASON_SWITCH_LEVELED] = "switch-leveled",
        [AM_REASON_SWITCH_TIERED] = "switch-tiered", [AM_REASON_MANUAL] = "manual",
    };
    return reason >= 0 && reason < AM_REASONS ? names_by_reason[reason] : "?";
}

const char *strategy_names(void)
{
    return names + 2;
}
