/* The span loop of bench.c with the macros compiled out (CFLAME_ENABLED=0):
 * the "compiled out: 0 ns" goal. The library target exports
 * CFLAME_ENABLED=1 to its users, so this file overrides it. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, in bench.h */
#undef CFLAME_ENABLED
#define CFLAME_ENABLED 0
#include "cflame.h"

#include "bench.h"

__attribute__((noinline)) void bench_loop_off(uint64_t n) {
  for (uint64_t i = 0; i < n; i++) {
    CFLAME_SPAN(a, "outer");
    CFLAME_SPAN(b, "middle");
    CFLAME_SPAN(c, "inner");
    BENCH_BARRIER();
    CFLAME_SPAN_END(c);
    CFLAME_SPAN_END(b);
    CFLAME_SPAN_END(a);
  }
}
