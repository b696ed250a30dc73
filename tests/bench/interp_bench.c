/* What the two interpreter benchmarks share (interp_bench.h). */
#include "interp_bench.h"

#include "cflame/sink.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

uint64_t interp_run(round_fn fn, int rounds, uint32_t seed0, int iters) {
  uint64_t sum = 0;
  for (int r = 0; r < rounds; r++) {
    interp_stats_t st;
    if (fn(seed0 + (uint32_t)r, iters, &st) != 0)
      exit(1);
    sum = sum * 31 + st.checksum;
  }
  return sum;
}

void interp_run_one(round_fn fn, int rounds, uint32_t seed, int iters) {
  for (int r = 0; r < rounds; r++)
    interp_run(fn, 1, seed, iters);
}

int interp_opts_parse(interp_opts_t *o, int argc, char **argv,
                      int min_size_ok) {
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--callgrind-case") && i + 2 < argc) {
      o->cg_case = argv[i + 1];
      o->cg_n = strtoull(argv[i + 2], NULL, 10);
      return 0;
    }
    if (!strcmp(argv[i], "--quick")) {
      o->runs = 3;
      o->rounds = 2;
      o->iters = 100;
    } else if (!strcmp(argv[i], "--runs") && i + 1 < argc) {
      o->runs = atoi(argv[++i]);
    } else if (!strcmp(argv[i], "--rounds") && i + 1 < argc) {
      o->rounds = atoi(argv[++i]);
    } else if (!strcmp(argv[i], "--iters") && i + 1 < argc) {
      o->iters = atoi(argv[++i]);
    } else if (!strcmp(argv[i], "--out") && i + 1 < argc) {
      o->out = argv[++i];
    } else if (min_size_ok && !strcmp(argv[i], "--min-size") && i + 1 < argc) {
      o->min_size = argv[++i];
    } else {
      return strcmp(argv[i], "--help") ? 2 : 1;
    }
  }
  return o->runs < 1 || o->runs > INTERP_MAX_RUNS || o->rounds < 1 ||
                 o->iters < 1
             ? 2
             : 0;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

double interp_median(uint64_t *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_u64);
  return n % 2 ? (double)v[n / 2]
               : ((double)v[n / 2 - 1] + (double)v[n / 2]) / 2;
}
