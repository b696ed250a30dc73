/* cflame-bench-resolve: the one-time cost of naming instrumented functions.
 * Calls each of bench_resolve_count generated functions (compiled with
 * -finstrument-functions) while a sink records: a function's first
 * recorded call finds its symbol (its module's table is read once) for its
 * size and the exclusion settings, and registers its callsite; its name is
 * made when the flush first reads it. Prints, in ms:
 *   1. the lookup alone: a child process where every function is below
 *      CFLAME_INSTRUMENT_MIN_SIZE (looked up, then never recorded): first
 *      pass minus second pass;
 *   2. lookup and registration: the first pass on one thread minus the
 *      first pass on a second thread (the same new stacks in a fresh tree,
 *      the functions already registered);
 *   3. the flush of the 20,000 stacks at drop, names made and written.
 * Each figure is the median of RUNS processes or threads' passes, with min
 * and max. Not instrumented itself. */
#define _GNU_SOURCE
#include <cflame.h>

#include "bench.h"
#include "bench_instr.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define RUNS 5

static double pass(void) {
  uint64_t t0 = mono_ns();
  for (unsigned i = 0; i < bench_resolve_count; i++)
    bench_resolve_fns[i]();
  return (double)(mono_ns() - t0) / 1e6;
}

static cflame_guard_t *install(void) {
  int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
  cflame_guard_t *g = NULL;
  int rc = cflame_flame_fd(fd, NULL, &g);
  if (rc < 0) {
    fprintf(stderr, "cflame-bench-resolve: %s\n", cflame_strerror(rc));
    exit(1);
  }
  return g;
}

static void *pass_thread(void *arg) {
  *(double *)arg = pass();
  return NULL;
}

static double pass_on_new_thread(void) {
  double ms = 0;
  pthread_t th;
  if (pthread_create(&th, NULL, pass_thread, &ms) != 0)
    exit(1);
  pthread_join(th, NULL);
  return ms;
}

/* In a fresh process (so that nothing is named yet), with a sink: mode 0,
 * every function below the minimum size (resolved, never recorded): the
 * first pass minus the second; mode 1, every function recorded: the first
 * pass on one thread minus the first pass on a second thread; mode 2: the
 * flush at drop after one pass. In ms. */
static double in_child(int mode) {
  int fds[2];
  if (pipe(fds) != 0)
    exit(1);
  pid_t pid = fork();
  if (pid == 0) {
    if (mode == 0)
      setenv("CFLAME_INSTRUMENT_MIN_SIZE", "1000000", 1);
    cflame_guard_t *g = install();
    double d;
    if (mode == 0) {
      double first = pass();
      d = first - pass();
    } else if (mode == 1) {
      double first = pass_on_new_thread();
      d = first - pass_on_new_thread();
    } else {
      (void)pass();
    }
    uint64_t t0 = mono_ns();
    cflame_guard_drop(g);
    if (mode == 2)
      d = (double)(mono_ns() - t0) / 1e6;
    if (write(fds[1], &d, sizeof d) != (ssize_t)sizeof d)
      _exit(1);
    _exit(0);
  }
  double d = -1;
  if (pid < 0 || read(fds[0], &d, sizeof d) != (ssize_t)sizeof d)
    exit(1);
  waitpid(pid, NULL, 0);
  close(fds[0]);
  close(fds[1]);
  return d;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static void report(const char *what, double *v) {
  qsort(v, RUNS, sizeof v[0], cmp_double);
  printf("%-58s %8.1f %8.1f %8.1f\n", what, v[RUNS / 2], v[0], v[RUNS - 1]);
}

int main(void) {
  unsetenv("CFLAME_FLAME");
  unsetenv("CFLAME_INSTRUMENT_MIN_SIZE");
  unsetenv("CFLAME_INSTRUMENT_EXCLUDE");
  printf("%u functions, ms%*s %8s %8s\n", bench_resolve_count, 43, "median",
         "min", "max");
  static const char *const what[] = {
      "first calls: symbols looked up (lookup alone)",
      "first calls: looked up, callsites registered",
      "flush at drop (20,000 stacks, names made and written)"};
  for (int mode = 0; mode < 3; mode++) {
    double v[RUNS];
    for (int r = 0; r < RUNS; r++)
      v[r] = in_child(mode);
    report(what[mode], v);
  }
  return 0;
}
