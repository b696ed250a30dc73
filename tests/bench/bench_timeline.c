/* cflame-bench-timeline: what a span pair costs with the timeline sink alone
 * (output to /dev/null), next to two rdtsc reads measured in the same run;
 * bytes written per pair, MB/s, and the worst stall of a recording thread
 * (a pair that found its ring full and drained part of it to the writer
 * itself).
 *
 *   cflame-bench-timeline [--runs K] [--ms T]
 *   cflame-bench-timeline --callgrind N   (N leaf pairs and nothing else:
 *       run it under valgrind --tool=callgrind with N and 2N; instructions
 *       per pair = (Ir(2N) - Ir(N)) / N, drains and formatting included)
 *
 * Rows: "leaf" is one pair per iteration (each pair one X event); "nested3"
 * is the 3-nested loop of cflame-bench (B, B, X, E, E per 3 pairs). Figures
 * are the median of K runs (default 11) of about T ms (default 200). */
#define _GNU_SOURCE
#define CFLAME_TARGET "bench" /* frames "bench::a", as in cflame-bench */
#include "cflame.h"

#include "bench.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile uint64_t sink_u64;

__attribute__((noinline)) static void loop_cycles(uint64_t n) {
  uint64_t acc = 0;
  for (uint64_t i = 0; i < n; i++) {
    uint64_t a = cycles();
    BENCH_BARRIER();
    uint64_t b = cycles();
    acc += b - a;
  }
  sink_u64 = acc;
}

__attribute__((noinline)) static void loop_leaf(uint64_t n) {
  for (uint64_t i = 0; i < n; i++) {
    CFLAME_SPAN(a, "a");
    BENCH_BARRIER();
    CFLAME_SPAN_END(a);
  }
}

/* 3 pairs per iteration: n is counted in pairs. */
__attribute__((noinline)) static void loop_nested3(uint64_t n) {
  for (uint64_t i = 0; i < n / 3; i++) {
    CFLAME_SPAN(a, "outer");
    CFLAME_SPAN(b, "middle");
    CFLAME_SPAN(c, "inner");
    BENCH_BARRIER();
    CFLAME_SPAN_END(c);
    CFLAME_SPAN_END(b);
    CFLAME_SPAN_END(a);
  }
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static int runs = 11;
static double run_ms = 200;

/* ns per pair of fn over about run_ms, n pairs per call calibrated first. */
static double time_pairs(void (*fn)(uint64_t), uint64_t *pairs) {
  uint64_t n = 3000;
  for (;;) {
    uint64_t t0 = mono_ns();
    fn(n);
    *pairs += n - n % 3; /* the calibration's bytes count too */
    double ms = (double)(mono_ns() - t0) / 1e6;
    if (ms > run_ms / 4 || n > (UINT64_C(1) << 34)) {
      n = (uint64_t)((double)n * run_ms / (ms > 0.001 ? ms : 0.001));
      break;
    }
    n *= 4;
  }
  n -= n % 3;
  double v[101];
  for (int r = 0; r < runs; r++) {
    uint64_t t0 = mono_ns();
    fn(n);
    v[r] = (double)(mono_ns() - t0) / (double)n;
  }
  qsort(v, (size_t)runs, sizeof v[0], cmp);
  *pairs += n * (uint64_t)runs;
  return v[runs / 2];
}

static void row(const char *label, void (*fn)(uint64_t), int devnull,
                double rdtsc2) {
  cflame_guard_t *g = NULL;
  if (cflame_timeline_fd(devnull, NULL, &g) != 0) {
    fprintf(stderr, "cannot install the timeline sink\n");
    exit(1);
  }
  cflame_stats_t s0, s1;
  cflame_stats(&s0);
  uint64_t pairs = 0;
  uint64_t t0 = mono_ns();
  double ns = time_pairs(fn, &pairs);
  (void)cflame_guard_flush(g);
  double secs = (double)(mono_ns() - t0) / 1e9;
  cflame_stats(&s1);
  (void)cflame_guard_drop(g);
  double bytes = (double)(s1.bytes_written - s0.bytes_written);
  printf("%-28s %9.1f %9.2f %12.1f %9.0f\n", label, ns, ns / rdtsc2,
         bytes / (double)pairs, bytes / secs / 1e6);
}

/* The longest single pair over many, each timed with rdtsc: the pairs that
 * found their ring full drained it to the writer themselves. */
static void stall(int devnull) {
  cflame_guard_t *g = NULL;
  if (cflame_timeline_fd(devnull, NULL, &g) != 0)
    exit(1);
  /* Warm up: the first drain of a run waits for the TSC calibration
   * (10 ms, once per process); that is not a ring-full stall. */
  loop_leaf(100000);
  (void)cflame_guard_flush(g);
  const uint64_t n = 2000000;
  uint64_t worst = 0, m0 = mono_ns(), c0 = cycles();
  /* Pairs slower than 10 us, in cycles (the rate measured over 10 ms). */
  uint64_t t1 = mono_ns(), k1 = cycles();
  while (mono_ns() - t1 < 10000000u) {
  }
  uint64_t slow_cycles =
      (uint64_t)(10000.0 * (double)(cycles() - k1) / (double)(mono_ns() - t1));
  enum { SLOW_MAX = 100000 };
  static double slow[SLOW_MAX];
  size_t nslow = 0;
  for (uint64_t i = 0; i < n; i++) {
    uint64_t a = cycles();
    CFLAME_SPAN(x, "a");
    BENCH_BARRIER();
    CFLAME_SPAN_END(x);
    uint64_t d = cycles() - a;
    if (d > worst)
      worst = d;
    if (d > slow_cycles && nslow < SLOW_MAX)
      slow[nslow++] = (double)d;
  }
  double ns_per_cycle =
      (double)(mono_ns() - m0) / (double)(cycles() - c0 ? cycles() - c0 : 1);
  qsort(slow, nslow, sizeof slow[0], cmp);
  printf("pairs above 10 us: %zu, median %.1f us (a ring drained by its own"
         " thread, or the thread preempted)\n",
         nslow, nslow ? slow[nslow / 2] * ns_per_cycle / 1e3 : 0.0);
  (void)cflame_guard_drop(g);
  printf("worst single pair over %" PRIu64 " (default ring of 16384 records,"
         " its oldest eighth drained by the recording thread when full):"
         " %.1f us; a full ring every %d pairs\n",
         n, (double)worst * ns_per_cycle / 1e3, 16384 / 8 / 2);
}

int main(int argc, char **argv) {
  if (argc == 3 && !strcmp(argv[1], "--callgrind")) {
    int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    cflame_guard_t *g = NULL;
    if (fd < 0 || cflame_timeline_fd(fd, NULL, &g) != 0)
      return 1;
    loop_leaf(strtoull(argv[2], NULL, 10));
    int rc = cflame_guard_drop(g) != 0;
    close(fd);
    return rc;
  }
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--runs") && i + 1 < argc)
      runs = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--ms") && i + 1 < argc)
      run_ms = atof(argv[++i]);
    else {
      fprintf(stderr, "usage: cflame-bench-timeline [--runs K] [--ms T]\n");
      return 2;
    }
  }
  if (runs < 1 || runs > 101)
    runs = 11;
  int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (devnull < 0)
    return 1;
  uint64_t dummy = 0;
  double rdtsc2 = time_pairs(loop_cycles, &dummy);
  printf("clock: %s; %d runs of ~%.0f ms; output to /dev/null\n",
         cflame_clock_name(), runs, run_ms);
  printf("%-28s %9s %9s %12s %9s\n", "case", "ns/pair", "x 2 rdtsc",
         "bytes/pair", "MB/s");
  printf("%-28s %9.1f %9.2f %12s %9s\n", "two rdtsc reads", rdtsc2, 1.0, "-",
         "-");
  row("timeline, leaf pairs (X)", loop_leaf, devnull, rdtsc2);
  row("timeline, 3 nested (B/X/E)", loop_nested3, devnull, rdtsc2);
  stall(devnull);
  close(devnull);
  return 0;
}
