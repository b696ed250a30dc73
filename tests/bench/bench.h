/* Shared by bench.c and bench_off.c (the compiled-out translation unit). */
#ifndef CFLAME_BENCH_H
#define CFLAME_BENCH_H

#include <stdint.h>

/* Keeps the compiler from merging or deleting loop bodies; emits nothing. */
#define BENCH_BARRIER() __asm__ volatile("" ::: "memory")

/* n iterations of 3 nested span pairs built with CFLAME_ENABLED=0. */
void bench_loop_off(uint64_t n);

#endif /* CFLAME_BENCH_H */
