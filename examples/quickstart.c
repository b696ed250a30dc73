/* Quick start: nested spans around real work, written as a flamegraph. */
#define _POSIX_C_SOURCE 200809L /* nanosleep */
#include <cflame.h>

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define N 50000
static int v[N];

static int cmp_int(const void *a, const void *b) {
  int x = *(const int *)a, y = *(const int *)b;
  return (x > y) - (x < y);
}

/* CFLAME_FN() is a span named after the function, ended with the block. */
static long sort_and_sum(unsigned seed) {
  CFLAME_FN();
  CFLAME_SPAN(fill, "fill");
  srand(seed);
  for (int i = 0; i < N; i++)
    v[i] = rand() % 1000;
  CFLAME_SPAN_END(fill);
  {
    CFLAME_SCOPE("sort");
    qsort(v, N, sizeof *v, cmp_int);
  }
  long sum = 0; /* charged to sort_and_sum itself: its self time */
  for (int i = 0; i < N; i++)
    sum += v[i];
  return sum;
}

/* Wall time: the flamegraph shows this although the CPU is idle. */
static void nap(long ms) {
  CFLAME_FN();
  struct timespec ts = {0, ms * 1000000L};
  nanosleep(&ts, NULL);
}

static int fail(const char *what, int rc) {
  fprintf(stderr, "quickstart: %s: %s\n", what, cflame_strerror(rc));
  return 1;
}

int main(int argc, char **argv) {
  const char *path = argc > 1 ? argv[1] : "quickstart.folded";
  cflame_guard_t *flame, *log; /* folded stacks to a file, events to stderr */
  int rc = cflame_flame_file(path, NULL, &flame);
  if (rc < 0 || (rc = cflame_fmt_fd(2, NULL, &log)) < 0)
    return fail("setup", rc);
  CFLAME_SPAN(rounds, "rounds");
  for (unsigned round = 0; round < 3; round++) {
    long sum = sort_and_sum(round + 1);
    CFLAME_INFO_EV("round done", CFLAME_U64("round", round),
                   CFLAME_I64("sum", sum));
  }
  CFLAME_SPAN_END(rounds);
  nap(20);
  if ((rc = cflame_guard_drop(log)) < 0 || (rc = cflame_guard_drop(flame)) < 0)
    return fail("teardown", rc);
  fprintf(stderr, "quickstart: wrote %s\n", path);
  return 0;
}
