/* cflame-bench-compensate: does the flame sink's `compensate` option give
 * back true widths? Ground truth measured in the same process.
 *
 *   cflame-bench-compensate [--quick] [--runs K] [--ms T] [--out FILE]
 *
 * For each shape (a parent span calling N child spans of known cost, plus
 * its own work; compensate_work.c), the same code compiled out
 * (compensate_off.c) is timed with clock_gettime: the parent call, and its
 * N children alone. Then the instrumented parent runs under a flame sink
 * writing to memory (cflame_flame_writer, module_path off), once with
 * compensate = false and once with true; the folded text gives the
 * parent's total (its line plus its child's line) and the children's total
 * (the child line). Printed per shape: the true times per parent call and,
 * for each setting, measured / true for both (goal with compensation: each
 * within 10 %, i.e. 0.90-1.10). Every figure is the median of K runs of
 * about T ms, the two builds and settings interleaved in each run.
 * --out FILE writes the folded output of the last compensated run.
 * Never run by ctest except as a smoke test (--quick --out). */
#define _GNU_SOURCE
#include "bench.h"
#include "cflame.h"

#include "compensate.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_RUNS 51

static struct {
  int runs;
  double ms;
  const char *out;
} opt = {9, 40.0, NULL};

static const comp_shape_t shapes[] = {
    {100, 5, 500},     /* tiny children (~10 ns): overhead dominates */
    {100, 25, 2500},   /* small children (~50 ns) */
    {50, 150, 7500},   /* mid-sized children (~300 ns) */
    {8, 2500, 20000},  /* few large children: overhead negligible */
};
#define NSHAPES (sizeof shapes / sizeof shapes[0])

static volatile uint64_t keep;

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* --- folded output in memory ------------------------------------------------ */

typedef struct mem_s {
  char *p;
  size_t len, cap;
} mem_t;

static long mem_write(void *ctx, const void *buf, size_t len) {
  mem_t *m = ctx;
  if (m->len + len + 1 > m->cap) {
    size_t cap = m->cap ? m->cap : 4096;
    while (cap < m->len + len + 1)
      cap *= 2;
    char *p = realloc(m->p, cap);
    if (!p)
      return -12; /* -ENOMEM */
    m->p = p;
    m->cap = cap;
  }
  memcpy(m->p + m->len, buf, len);
  m->len += len;
  m->p[m->len] = '\0';
  return (long)len;
}

/* The count of the line whose stack is exactly `stack`, or 0. */
static uint64_t folded_count(const char *text, const char *stack) {
  size_t n = strlen(stack);
  for (const char *l = text; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : l)
    if (!strncmp(l, stack, n) && l[n] == ' ')
      return strtoull(l + n + 1, NULL, 10);
  return 0;
}

/* --- measurement --------------------------------------------------------------- */

typedef struct result_s {
  double parent, children; /* ns per parent call */
} result_t;

typedef uint64_t (*shape_fn)(uint64_t x, const comp_shape_t *c);

static double time_calls(shape_fn fn, const comp_shape_t *c, int reps) {
  uint64_t x = 1, t0 = mono_ns();
  for (int r = 0; r < reps; r++)
    x = fn(x, c);
  uint64_t dt = mono_ns() - t0;
  keep = x;
  return (double)dt / reps;
}

/* reps instrumented parent calls under a fresh flame sink; the widths read
 * back from its folded output. Keeps the text in *last if asked. */
static result_t flame_run(const comp_shape_t *c, int reps, bool compensate,
                          mem_t *last) {
  mem_t m = {0};
  cflame_flame_opts_t o = cflame_flame_opts_default();
  o.module_path = false;
  o.compensate = compensate;
  cflame_guard_t *g = NULL;
  int rc = cflame_flame_writer(mem_write, &m, &o, &g);
  if (rc < 0) {
    fprintf(stderr, "cflame-bench-compensate: install: %s\n",
            cflame_strerror(rc));
    exit(1);
  }
  uint64_t x = 1;
  for (int r = 0; r < reps; r++)
    x = comp_parent_on(x, c);
  keep = x;
  if ((rc = cflame_guard_drop(g)) < 0) {
    fprintf(stderr, "cflame-bench-compensate: drop: %s\n",
            cflame_strerror(rc));
    exit(1);
  }
  const char *text = m.p ? m.p : "";
  uint64_t child = folded_count(text, "main;parent;child");
  uint64_t self = folded_count(text, "main;parent");
  result_t res = {(double)(self + child) / reps, (double)child / reps};
  if (last) {
    free(last->p);
    *last = m;
  } else {
    free(m.p);
  }
  return res;
}

/* Parent calls that take about opt.ms uninstrumented. */
static int calibrate(const comp_shape_t *c) {
  double ns = time_calls(comp_parent_off, c, 50);
  double reps = opt.ms * 1e6 / (ns > 1 ? ns : 1);
  return reps < 1 ? 1 : reps > 1e7 ? 10000000 : (int)reps;
}

static void shape_row(const comp_shape_t *c, mem_t *last) {
  double tp[MAX_RUNS], tc[MAX_RUNS], p0[MAX_RUNS], c0[MAX_RUNS],
      p1[MAX_RUNS], c1[MAX_RUNS];
  int reps = calibrate(c);
  flame_run(c, reps / 8 + 1, true, NULL); /* warm-up, calibration */
  for (int r = 0; r < opt.runs; r++) {
    tp[r] = time_calls(comp_parent_off, c, reps);
    tc[r] = time_calls(comp_children_off, c, reps);
    result_t off = flame_run(c, reps, false, NULL);
    result_t on = flame_run(c, reps, true, r == opt.runs - 1 ? last : NULL);
    p0[r] = off.parent;
    c0[r] = off.children;
    p1[r] = on.parent;
    c1[r] = on.children;
  }
  double truth_p = median(tp, opt.runs), truth_c = median(tc, opt.runs);
  printf("%3d x %5d + %6d %10.0f %10.0f | %8.3f %8.3f | %8.3f %8.3f\n",
         c->children, c->child_iters, c->own_iters, truth_p, truth_c,
         median(p0, opt.runs) / truth_p, median(c0, opt.runs) / truth_c,
         median(p1, opt.runs) / truth_p, median(c1, opt.runs) / truth_c);
  fflush(stdout);
}

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--quick")) {
      opt.runs = 3;
      opt.ms = 2;
    } else if (!strcmp(argv[i], "--runs") && i + 1 < argc) {
      opt.runs = atoi(argv[++i]);
    } else if (!strcmp(argv[i], "--ms") && i + 1 < argc) {
      opt.ms = atof(argv[++i]);
    } else if (!strcmp(argv[i], "--out") && i + 1 < argc) {
      opt.out = argv[++i];
    } else {
      fprintf(stderr, "usage: cflame-bench-compensate [--quick] [--runs K] "
                      "[--ms T] [--out FILE]\n");
      return 2;
    }
  }
  if (opt.runs < 1 || opt.runs > MAX_RUNS || opt.ms <= 0) {
    fprintf(stderr, "cflame-bench-compensate: bad --runs or --ms\n");
    return 2;
  }
  printf("cflame %s compensation bench: clock %s; %d runs of ~%.0f ms per "
         "figure (medians)\n",
         cflame_version(), cflame_clock_name(), opt.runs, opt.ms);
  printf("shape: N children x child steps + parent's own steps (1 step ~ 4 "
         "cycles); true ns per parent call from the compiled-out build;\n"
         "ratios = flame width / true time (goal with compensation: "
         "0.90-1.10)\n\n");
  printf("%-22s %10s %10s | %17s | %17s\n", "", "true ns", "true ns",
         "compensate=false", "compensate=true");
  printf("%-22s %10s %10s | %8s %8s | %8s %8s\n", "shape", "parent",
         "children", "parent", "children", "parent", "children");
  mem_t last = {0};
  for (size_t i = 0; i < NSHAPES; i++)
    shape_row(&shapes[i], &last);
  int rc = 0;
  if (opt.out) {
    FILE *f = fopen(opt.out, "wb");
    if (f && fwrite(last.p ? last.p : "", 1, last.len, f) != last.len)
      rc = 1;
    if (!f || fclose(f) != 0 || rc) {
      perror(opt.out);
      rc = 1;
    } else {
      printf("\nfolded output of the last compensated run: %s\n", opt.out);
    }
  }
  free(last.p);
  return rc;
}
