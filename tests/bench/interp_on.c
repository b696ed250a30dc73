/* The interpreter instrumented: interp_round_on (see interp_int.h). */
#include "interp_text.c"
#include "interp_parse.c"
#include "interp_eval.c"
