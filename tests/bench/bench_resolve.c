/* cflame-bench-resolve: the one-time cost of naming instrumented functions.
 * Calls each of bench_resolve_count generated functions (compiled with
 * -finstrument-functions) once, which resolves its name from the symbol
 * table and registers its callsite, then all of them again (steady state),
 * and prints both passes in ms: the difference is the resolution cost. Then
 * the same with an aggregate sink, and the flush. Not instrumented itself. */
#define _GNU_SOURCE
#include <cflame.h>

#include "bench_instr.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static double pass(void) {
  double t0 = now_ms();
  for (unsigned i = 0; i < bench_resolve_count; i++)
    bench_resolve_fns[i]();
  return now_ms() - t0;
}

int main(void) {
  unsetenv("CFLAME_FLAME");
  /* No sink for the two timed passes: names are resolved and callsites
   * registered at a function's first call either way, and a sink would add
   * the cost of 20,000 new stacks under one parent. */
  double first = pass(), second = pass();
  printf("%u functions: first calls %.1f ms (names resolved, callsites "
         "registered), second calls %.2f ms, resolution %.1f ms "
         "(%.2f us per function)\n",
         bench_resolve_count, first, second, first - second,
         (first - second) * 1e3 / bench_resolve_count);
  int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
  cflame_guard_t *g = NULL;
  int rc = cflame_flame_fd(fd, NULL, &g);
  if (rc < 0) {
    fprintf(stderr, "cflame-bench-resolve: %s\n", cflame_strerror(rc));
    return 1;
  }
  double rec = pass(), again = pass();
  printf("with an aggregate sink: first pass %.1f ms (20,000 new stacks under "
         "one parent), second %.1f ms\n", rec, again);
  double t0 = now_ms();
  cflame_guard_drop(g);
  printf("flush of %u stacks at drop: %.1f ms\n", bench_resolve_count,
         now_ms() - t0);
  close(fd);
  return 0;
}
