/* A sink of the benchmarks' own that counts span pairs: the enter counts of
 * every call-tree node, summed at each flush (cflame-bench-realistic,
 * cflame-bench-autointerp). */
#ifndef CFLAME_BENCH_COUNT_H
#define CFLAME_BENCH_COUNT_H

#include "cflame.h"

#include <stdint.h>

/* Installs the counting sink; *sum is written at each flush. Exits the
 * program if it cannot. */
cflame_guard_t *bench_count_install(uint64_t *sum);

/* Span pairs entered since the sink was installed (flushes it). */
uint64_t bench_count_now(cflame_guard_t *count, uint64_t *sum);

#endif
