/* cflame-bench-json: speed of the JSON encoders the timeline sink calls per
 * event. Prints ns per call (median of 11 runs, with min and max) for short
 * ASCII span names, a name that needs escapes and UTF-8 checks, timestamps
 * and a few fields, next to a plain memcpy of the same names.
 *
 *   cflame-bench-json [ITERATIONS]      (default 2000000 per run)
 */
#define _POSIX_C_SOURCE 200809L

#include "json.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RUNS      11
#define BARRIER() __asm__ volatile("" ::: "memory")

/* Typical span names: module::function, 6-24 bytes of plain ASCII. */
static const char *const names[8] = {
    "main",         "parse_request", "db::query",   "worker-1",
    "flame::flush", "http::handle",  "json_encode", "lock_wait"};
static size_t lens[8];
static char out[4096];
static volatile size_t sink;

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

typedef size_t (*case_fn)(uint64_t i);

static size_t c_memcpy(uint64_t i) {
  size_t n = lens[i & 7];
  out[0] = '"';
  memcpy(out + 1, names[i & 7], n);
  out[n + 1] = '"';
  return n + 2;
}

static size_t c_str(uint64_t i) {
  return cflame__json_str(out, names[i & 7], lens[i & 7]);
}

static size_t c_str_hostile(uint64_t i) {
  static const char s[] = "caf\xC3\xA9 \"q\"\t\xE2\x82\xAC\xFF";
  return cflame__json_str(out, s, sizeof s - 1 - (i & 1));
}

static size_t c_ts(uint64_t i) {
  return cflame__json_ts(out, 1234567890123ull + i * 977);
}

static size_t c_args(uint64_t i) {
  cflame_field_t f[3] = {CFLAME_STR("table", "users"),
                         CFLAME_I64("rows", (int64_t)i),
                         CFLAME_BOOL("hit", i & 1)};
  return cflame__json_args(out, sizeof out, f, 3, NULL);
}

static size_t c_f64(uint64_t i) {
  return cflame__json_f64(out, (double)i * 0.001);
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static void run(const char *what, case_fn fn, uint64_t iters) {
  double t[RUNS];
  for (int r = 0; r < RUNS; r++) {
    size_t acc = 0;
    double t0 = now_ns();
    for (uint64_t i = 0; i < iters; i++) {
      acc += fn(i);
      BARRIER();
    }
    t[r] = (now_ns() - t0) / (double)iters;
    sink += acc;
  }
  qsort(t, RUNS, sizeof t[0], cmp);
  printf("%-34s %7.2f ns/call  (min %.2f, max %.2f)\n", what, t[RUNS / 2], t[0],
         t[RUNS - 1]);
}

int main(int argc, char **argv) {
  uint64_t iters = argc > 1 ? strtoull(argv[1], NULL, 10) : 2000000;
  size_t total = 0;
  for (int i = 0; i < 8; i++)
    total += lens[i] = strlen(names[i]);
  printf("%llu calls per run, median of %d runs; names average %.1f bytes\n",
         (unsigned long long)iters, RUNS, (double)total / 8);
  run("memcpy of a name + quotes", c_memcpy, iters);
  run("json_str, short ASCII name", c_str, iters);
  run("json_str, 17 bytes to escape/repair", c_str_hostile, iters);
  run("json_ts", c_ts, iters);
  run("json_args, 3 fields (str,i64,bool)", c_args, iters);
  run("json_f64 (snprintf+strtod)", c_f64, iters / 10 ? iters / 10 : 1);
  return 0;
}
