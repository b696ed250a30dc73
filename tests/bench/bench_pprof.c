/* cflame-bench-pprof: what writing a pprof profile costs.
 *
 *   cflame-bench-pprof [--stacks N] [--runs K] [--out FILE]
 *
 * Encodes N (default 110000) distinct stacks of depth 10-20 with realistic
 * frame names ("http::server::handle_request", ...) on 8 threads, the way
 * the pprof sink will at a flush: per stack, one function + location
 * lookup per frame and one sample. Prints, as the median of K runs (default
 * 7) with min and max:
 *   fresh    a new encoder: every function/location interned, then finish
 *   again    the same encoder after cflame__pprof_restart: every lookup hits
 *   cached   location ids looked up once per name, then samples only (a
 *            sink mapping callsite ids to location ids)
 * written to /dev/null, then once to a regular file (--out, default
 * /tmp/cflame-bench.pb), with the file size next to the size of the folded
 * text of the same stacks and the encoder's memory.
 */
#define _POSIX_C_SOURCE 200809L
#include "pprof_enc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_RUNS  101
#define MAX_DEPTH 20
#define THREADS   8

static const char *const modules[] = {
    "http::server", "http::client",  "db::pool", "db::query", "json",
    "cache::lru",   "auth::token",   "io::file", "net::tcp",  "sched",
    "log",          "render::html",  "tls",      "queue",     "metrics",
    "config",       "storage::blob", "rpc",      "compress",  "crypto::sha256"};
static const char *const verbs[] = {
    "handle_request", "dispatch",  "read",    "write",   "parse_object",
    "encode",         "lookup",    "acquire", "release", "flush",
    "wait",           "poll",      "connect", "send",    "recv",
    "validate",       "serialize", "insert",  "evict",   "step"};
#define NMOD  (sizeof modules / sizeof modules[0])
#define NVERB (sizeof verbs / sizeof verbs[0])
#define VOCAB (NMOD * NVERB) /* 400 frame names */

static char names[VOCAB][48];

typedef struct {
  unsigned depth, thread;
  unsigned short frame[MAX_DEPTH]; /* root first, indexes into names */
  long long wall, calls;
} stack_t_;

static uint64_t mix(uint64_t x) {
  x ^= x >> 31;
  x *= 0x7fb5d329728ea185ULL;
  x ^= x >> 27;
  x *= 0x81dadef4bc2dd44dULL;
  return x ^ (x >> 33);
}

/* Stack i: upper frames shared by many stacks (as in real programs), the
 * last two frames (i % VOCAB, i / VOCAB) make it distinct for i < VOCAB^2. */
static void make_stack(stack_t_ *s, unsigned i) {
  s->depth = 10 + (unsigned)(mix(i) % 11);
  s->thread = i % THREADS;
  for (unsigned d = 0; d + 2 < s->depth; d++) {
    unsigned shift = d < 14 ? 17 - d : 3;
    s->frame[d] =
        (unsigned short)(mix((uint64_t)d << 40 ^ (i >> shift)) % VOCAB);
  }
  s->frame[s->depth - 2] = (unsigned short)(i / VOCAB % VOCAB);
  s->frame[s->depth - 1] = (unsigned short)(i % VOCAB);
  s->wall = 1000 + (long long)(mix(i ^ 0xabcdef) % 10000000);
  s->calls = 1 + (long long)(mix(i ^ 0x1234) % 100);
}

static long fd_write(void *ctx, const void *buf, size_t len) {
  ssize_t n = write(*(int *)ctx, buf, len);
  return n < 0 ? -errno : (long)n;
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Encodes every stack into p; returns 0 or the first error. cache NULL:
 * look every frame up; else cache[name] is its location id, as a sink that
 * maps callsite ids to location ids would have it. */
static int encode(cflame__pprof_t *p, const stack_t_ *st, unsigned n,
                  const uint64_t *cache) {
  static const char *const tname[THREADS] = {"worker-0", "worker-1", "worker-2",
                                             "worker-3", "worker-4", "worker-5",
                                             "worker-6", "worker-7"};
  uint64_t loc[MAX_DEPTH];
  for (unsigned i = 0; i < n; i++) {
    const stack_t_ *s = &st[i];
    for (unsigned d = 0; cache && d < s->depth; d++)
      loc[s->depth - 1 - d] = cache[s->frame[d]];
    for (unsigned d = 0; !cache && d < s->depth; d++) {
      const char *nm = names[s->frame[d]];
      uint64_t fn = cflame__pprof_function(p, nm, strlen(nm), NULL, 0);
      loc[s->depth - 1 - d] = cflame__pprof_location(p, fn, 0);
    }
    int rc = cflame__pprof_sample(p, loc, s->depth, s->calls, s->wall,
                                  tname[s->thread]);
    if (rc)
      return rc;
  }
  return cflame__pprof_finish(p, 1700000000000000000, 1000000000);
}

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static void report(const char *what, double *t, int k, unsigned n) {
  qsort(t, (size_t)k, sizeof *t, cmp_d);
  double med = t[k / 2];
  printf("%-44s median %7.2f ms (min %.2f, max %.2f) = %.2f M stacks/s\n", what,
         med, t[0], t[k - 1], n / med / 1e3);
}

int main(int argc, char **argv) {
  unsigned n = 110000;
  int runs = 7;
  const char *out = "/tmp/cflame-bench.pb";
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--stacks") && i + 1 < argc)
      n = (unsigned)strtoul(argv[++i], NULL, 10);
    else if (!strcmp(argv[i], "--runs") && i + 1 < argc)
      runs = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--out") && i + 1 < argc)
      out = argv[++i];
    else {
      fputs("usage: cflame-bench-pprof [--stacks N] [--runs K] [--out F]\n",
            stderr);
      return 2;
    }
  }
  if (runs < 1 || runs > MAX_RUNS || n == 0 || n > VOCAB * VOCAB) {
    fprintf(stderr, "runs 1..%d, stacks 1..%zu\n", MAX_RUNS, VOCAB * VOCAB);
    return 2;
  }
  for (size_t i = 0; i < VOCAB; i++)
    snprintf(names[i], sizeof names[i], "%s::%s", modules[i % NMOD],
             verbs[i / NMOD]);
  stack_t_ *st = malloc(n * sizeof *st);
  if (!st)
    return 1;
  size_t folded = 0, frames = 0; /* "worker-N;f;f;f COUNT\n" per stack */
  for (unsigned i = 0; i < n; i++) {
    make_stack(&st[i], i);
    char num[24];
    folded += strlen("worker-0") + 1 +
              (size_t)snprintf(num, sizeof num, "%lld", st[i].wall) + 1;
    for (unsigned d = 0; d < st[i].depth; d++)
      folded += strlen(names[st[i].frame[d]]) + 1;
    frames += st[i].depth;
  }

  int null = open("/dev/null", O_WRONLY);
  double fresh[MAX_RUNS], again[MAX_RUNS], cached[MAX_RUNS];
  static uint64_t cache[VOCAB];
  cflame__pprof_stats_t s = {0};
  for (int r = 0; r < runs; r++) {
    double t0 = now_ms();
    cflame__pprof_t *p = cflame__pprof_open(fd_write, &null);
    if (!p || encode(p, st, n, NULL))
      return 1;
    double t1 = now_ms();
    cflame__pprof_restart(p);
    if (encode(p, st, n, NULL))
      return 1;
    double t2 = now_ms();
    cflame__pprof_restart(p);
    for (size_t i = 0; i < VOCAB; i++)
      cache[i] = cflame__pprof_location(
          p, cflame__pprof_function(p, names[i], strlen(names[i]), NULL, 0), 0);
    if (encode(p, st, n, cache))
      return 1;
    cached[r] = now_ms() - t2;
    cflame__pprof_stats(p, &s);
    cflame__pprof_close(p);
    fresh[r] = t1 - t0;
    again[r] = t2 - t1;
  }
  close(null);
  printf("%u distinct stacks, %zu frames (depth 10-20, %zu names), "
         "%d threads\n",
         n, frames, (size_t)VOCAB, THREADS);
  report("fresh encoder (intern + encode) -> /dev/null", fresh, runs, n);
  report("restarted encoder (lookups hit) -> /dev/null", again, runs, n);
  report("location ids cached by the caller -> /dev/null", cached, runs, n);

  int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  double t0 = now_ms();
  cflame__pprof_t *p = fd < 0 ? NULL : cflame__pprof_open(fd_write, &fd);
  if (!p || encode(p, st, n, NULL) || close(fd)) {
    perror(out);
    return 1;
  }
  printf("fresh encoder -> %s: %.2f ms\n", out, now_ms() - t0);
  cflame__pprof_close(p);
  printf("pprof file: %llu bytes (%.1f B/stack); folded text of the same "
         "stacks: %zu bytes (x%.2f)\n",
         (unsigned long long)s.bytes, (double)s.bytes / n, folded,
         (double)folded / (double)s.bytes);
  printf("encoder memory: %zu bytes (%zu functions, %zu locations, %zu "
         "strings): grows with distinct frames, not stacks\n",
         s.mem, s.functions, s.locations, s.strings);
  free(st);
  return 0;
}
