/* The workload of cflame-bench-compensate, instrumented; compensate_off.c
 * builds the same text with the span macros compiled out. Every function is
 * noinline so both builds keep the same calls and the compiled-out one is a
 * true ground truth for the instrumented one. */
#include "cflame.h"

#include "compensate.h"

#ifndef COMP_NAME
#define COMP_NAME(f) f##_on
#endif

/* iters steps of a dependent multiply-add chain: about 4 cycles a step,
 * never vectorized or folded (the asm hides the value). */
static inline uint64_t spin(uint64_t x, int iters) {
  for (int i = 0; i < iters; i++) {
    x = x * 6364136223846793005u + 1442695040888963407u;
    __asm__ volatile("" : "+r"(x));
  }
  return x;
}

__attribute__((noinline)) uint64_t COMP_NAME(comp_child)(uint64_t x,
                                                         int iters) {
  CFLAME_SPAN(s, "child");
  x = spin(x, iters);
  CFLAME_SPAN_END(s);
  return x;
}

__attribute__((noinline)) uint64_t COMP_NAME(comp_parent)(uint64_t x,
                                                          const comp_shape_t *c) {
  CFLAME_SPAN(s, "parent");
  for (int k = 0; k < c->children; k++)
    x = COMP_NAME(comp_child)(x, c->child_iters);
  x = spin(x, c->own_iters);
  CFLAME_SPAN_END(s);
  return x;
}

__attribute__((noinline)) uint64_t COMP_NAME(comp_children)(uint64_t x,
                                                            const comp_shape_t *c) {
  for (int k = 0; k < c->children; k++)
    x = COMP_NAME(comp_child)(x, c->child_iters);
  return x;
}
