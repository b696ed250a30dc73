/* Shared by the two builds of cflame-bench-compensate's workload. */
#ifndef CFLAME_BENCH_COMPENSATE_H
#define CFLAME_BENCH_COMPENSATE_H

#include <stdint.h>

/* A parent span calling `children` child spans of child_iters steps each,
 * then doing own_iters steps of its own (one step: about 4 cycles). */
typedef struct comp_shape_s {
  int children, child_iters, own_iters;
} comp_shape_t;

/* One parent call; returns the chain's value (keep it). */
uint64_t comp_parent_on(uint64_t x, const comp_shape_t *c);
uint64_t comp_parent_off(uint64_t x, const comp_shape_t *c);
/* The parent's children alone, no parent span, no own work. */
uint64_t comp_children_on(uint64_t x, const comp_shape_t *c);
uint64_t comp_children_off(uint64_t x, const comp_shape_t *c);
/* One child call. */
uint64_t comp_child_on(uint64_t x, int iters);
uint64_t comp_child_off(uint64_t x, int iters);

#endif /* CFLAME_BENCH_COMPENSATE_H */
