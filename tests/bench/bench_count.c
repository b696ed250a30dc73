/* The benchmarks' counting sink (bench_count.h). */
#include "bench_count.h"

#include "cflame/sink.h"

#include <stdio.h>
#include <stdlib.h>

static int sum_thread(void *ctx, const cflame_thread_t *t) {
  uint64_t *sum = ctx;
  for (uint32_t i = 1; i < cflame_thread_nodes(t); i++) {
    cflame_node_t node;
    if (cflame_thread_node(t, i, &node) == 0)
      *sum += node.enters;
  }
  return 0;
}

static int count_flush(void *ud, cflame_guard_t *g) {
  uint64_t *sum = ud;
  *sum = 0;
  return cflame_sink_each_thread(g, sum_thread, sum);
}

cflame_guard_t *bench_count_install(uint64_t *sum) {
  static const cflame_sink_t vt = {.size = sizeof(cflame_sink_t),
                                   .needs = CFLAME_SINK_TREES,
                                   .name = "enters",
                                   .flush = count_flush};
  cflame_guard_t *g = NULL;
  int rc = cflame_sink_install(&vt, sum, &g);
  if (rc < 0) {
    fprintf(stderr, "install the counting sink: %s\n", cflame_strerror(rc));
    exit(1);
  }
  return g;
}

uint64_t bench_count_now(cflame_guard_t *count, uint64_t *sum) {
  int rc = cflame_guard_flush(count);
  if (rc < 0) {
    fprintf(stderr, "flush the counting sink: %s\n", cflame_strerror(rc));
    exit(1);
  }
  return *sum;
}
