/* Compiled with -finstrument-functions for cflame-bench-instr: an empty
 * function (one enter+exit hook pair per call) and one that the benchmark
 * excludes by name at run time. */
#include "bench_instr.h"

volatile unsigned bench_instr_sink;

__attribute__((noinline)) void bench_instr_empty(void) {
  __asm__ volatile("");
}

/* Four siblings called in turn: the stack cache of their parent misses on
 * every call, as in real code that calls several functions in a loop. */
__attribute__((noinline)) void bench_instr_a(void) {
  bench_instr_sink = 1;
}

__attribute__((noinline)) void bench_instr_b(void) {
  bench_instr_sink = 2;
}

__attribute__((noinline)) void bench_instr_c(void) {
  bench_instr_sink = 3;
}

__attribute__((noinline)) void bench_instr_d(void) {
  bench_instr_sink = 4;
}

/* Instrumented, calling back through code that is not (like a comparator
 * called by qsort): each call of `fn` is not made from this function's
 * code, which the hooks check the slow way. */
__attribute__((noinline)) void bench_instr_via(void (*relay)(uint64_t),
                                               uint64_t n) {
  relay(n);
}

__attribute__((noinline)) void bench_instr_excluded(void) {
  __asm__ volatile("");
}
