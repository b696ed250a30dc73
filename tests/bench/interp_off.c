/* The interpreter with the span macros compiled out (CFLAME_ENABLED=0), as
 * interp_round_off: the baseline of cflame-bench-realistic, the same text
 * as interp_on.c. The library target exports CFLAME_ENABLED=1 to its users,
 * so this file overrides it before cflame.h is read. */
#undef CFLAME_ENABLED
#define CFLAME_ENABLED 0
#define INTERP_ENTRY interp_round_off
#include "interp_text.c"
#include "interp_parse.c"
#include "interp_eval.c"
