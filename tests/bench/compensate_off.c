/* compensate_work.c with the span macros compiled out: the ground truth of
 * cflame-bench-compensate, timed in the same process. */
#undef CFLAME_ENABLED
#define CFLAME_ENABLED 0
#define COMP_NAME(f) f##_off
#include "compensate_work.c"
