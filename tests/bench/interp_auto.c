/* The interpreter as a program that never heard of cflame, built with
 * -finstrument-functions (cflame_instrument), as interp_round_auto: its
 * span macros are compiled out (CFLAME_ENABLED=0) and every function is
 * recorded by the hooks instead. The same text as interp_off.c. */
#undef CFLAME_ENABLED
#define CFLAME_ENABLED 0
#define INTERP_ENTRY interp_round_auto
#include "interp_text.c"
#include "interp_parse.c"
#include "interp_eval.c"
