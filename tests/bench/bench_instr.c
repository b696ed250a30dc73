/* cflame-bench-instr: what one auto-instrumented call costs.
 *
 *   cflame-bench-instr [--quick]
 *   cflame-bench-instr --callgrind-case NAME N   (for callgrind.sh)
 *
 * One "pair" is one call of an empty function compiled with
 * -finstrument-functions: its enter and exit hooks. Every figure is ns per
 * call, the median of 11 runs (5 with --quick) with min and max, next to
 * baselines measured in the same process: the same loop calling an empty
 * function that is not instrumented, and the loop reading the TSC twice.
 *
 * Cases: empty (not instrumented), rdtsc (two reads per call, no call),
 * nosink (instrumented, no sink installed), excluded (instrumented,
 * excluded by CFLAME_INSTRUMENT_EXCLUDE), instr (aggregate flame sink to
 * /dev/null, the real thing), four (the same, calling four functions in
 * turn, so cflame's one-entry child cache misses), callback (the same,
 * called from an instrumented function through code that is not, like a
 * qsort comparator); callgrind only: compensate (instr with compensate on,
 * precise mode). This file itself is not instrumented. */
#define _GNU_SOURCE
#include <cflame.h>

#include "bench.h"
#include "bench_instr.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile uint64_t sink_u64;

__attribute__((noinline)) static void plain_empty(void) {
  __asm__ volatile("");
}

typedef void (*loop_fn)(uint64_t n);

__attribute__((noinline)) static void loop_plain(uint64_t n) {
  for (uint64_t i = 0; i < n; i++)
    plain_empty();
}

__attribute__((noinline)) static void loop_rdtsc(uint64_t n) {
  uint64_t acc = 0;
  for (uint64_t i = 0; i < n; i++) {
    uint64_t a = cycles();
    uint64_t b = cycles();
    acc += b - a;
  }
  sink_u64 = acc;
}

__attribute__((noinline)) static void loop_instr(uint64_t n) {
  for (uint64_t i = 0; i < n; i++)
    bench_instr_empty();
}

/* n calls, to four functions in turn. */
__attribute__((noinline)) static void loop_four(uint64_t n) {
  for (uint64_t i = 0; i < n; i += 4) {
    bench_instr_a();
    bench_instr_b();
    bench_instr_c();
    bench_instr_d();
  }
}

/* n calls of the empty function, from an instrumented function through
 * this (not instrumented) one. */
__attribute__((noinline)) static void loop_via(uint64_t n) {
  bench_instr_via(loop_instr, n);
}

__attribute__((noinline)) static void loop_excluded(uint64_t n) {
  for (uint64_t i = 0; i < n; i++)
    bench_instr_excluded();
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static void row(const char *name, loop_fn fn, uint64_t n, int runs,
                double base) {
  double v[16];
  fn(n / 10); /* warm-up: first calls resolve, caches fill */
  for (int r = 0; r < runs; r++) {
    uint64_t t0 = mono_ns();
    fn(n);
    v[r] = (double)(mono_ns() - t0) / (double)n;
  }
  qsort(v, (size_t)runs, sizeof v[0], cmp_double);
  double med = v[runs / 2];
  printf("%-34s %8.2f %8.2f %8.2f %8.2f\n", name, med, v[0], v[runs - 1],
         base > 0 ? med / base : 1.0);
}

/* A flame sink on fd; `compensate`: with its own cost taken out (precise
 * mode). */
static cflame_guard_t *install(int fd, int compensate) {
  cflame_flame_opts_t o = cflame_flame_opts_default();
  o.compensate = compensate;
  cflame_guard_t *g = NULL;
  int rc = cflame_flame_fd(fd, &o, &g);
  if (rc < 0) {
    fprintf(stderr, "cflame-bench-instr: %s\n", cflame_strerror(rc));
    exit(1);
  }
  return g;
}

static double median_of(loop_fn fn, uint64_t n, int runs) {
  double v[16];
  fn(n / 10);
  for (int r = 0; r < runs; r++) {
    uint64_t t0 = mono_ns();
    fn(n);
    v[r] = (double)(mono_ns() - t0) / (double)n;
  }
  qsort(v, (size_t)runs, sizeof v[0], cmp_double);
  return v[runs / 2];
}

static int callgrind_case(const char *name, uint64_t n) {
  loop_fn fn;
  int sink = 0, compensate = 0;
  if (!strcmp(name, "empty"))
    fn = loop_plain;
  else if (!strcmp(name, "rdtsc"))
    fn = loop_rdtsc;
  else if (!strcmp(name, "nosink"))
    fn = loop_instr;
  else if (!strcmp(name, "excluded")) {
    fn = loop_excluded;
    sink = 1;
  } else if (!strcmp(name, "instr")) {
    fn = loop_instr;
    sink = 1;
  } else if (!strcmp(name, "four")) {
    fn = loop_four;
    sink = 1;
  } else if (!strcmp(name, "compensate")) {
    fn = loop_instr;
    sink = compensate = 1;
  } else if (!strcmp(name, "callback")) {
    fn = loop_via;
    sink = 1;
  } else {
    fprintf(stderr, "cflame-bench-instr: unknown case %s\n", name);
    return 2;
  }
  int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
  cflame_guard_t *g = sink ? install(fd, compensate) : NULL;
  fn(20000);
  fn(n);
  cflame_guard_drop(g);
  close(fd);
  printf("case=%s n=%" PRIu64 " units=1 clock=%s\n", name, n,
         cflame_clock_name());
  return 0;
}

int main(int argc, char **argv) {
  /* Read at the first hook, which comes later than this. */
  unsetenv("CFLAME_FLAME");
  setenv("CFLAME_INSTRUMENT_EXCLUDE", "bench_instr_excluded", 1);
  if (argc == 4 && !strcmp(argv[1], "--callgrind-case"))
    return callgrind_case(argv[2], strtoull(argv[3], NULL, 10));
  int quick = argc > 1 && !strcmp(argv[1], "--quick");
  int runs = quick ? 5 : 11;
  uint64_t n = quick ? 1000000 : 4000000;
  int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
  printf("%-34s %8s %8s %8s %8s\n", "case (ns per call)", "median", "min",
         "max", "x rdtsc2");
  double base = median_of(loop_rdtsc, n, runs);
  row("empty call, not instrumented", loop_plain, n, runs, base);
  row("two rdtsc reads", loop_rdtsc, n, runs, base);
  row("instrumented, no sink", loop_instr, n, runs, base);
  cflame_guard_t *g = install(fd, 0);
  row("instrumented, excluded by name", loop_excluded, n, runs, base);
  row("instrumented, aggregate sink", loop_instr, n, runs, base);
  row("same, four functions in turn", loop_four, n, runs, base);
  row("same, called back through libc-like code", loop_via, n, runs, base);
  cflame_guard_drop(g);
  close(fd);
  printf("clock: %s\n", cflame_clock_name());
  return 0;
}
