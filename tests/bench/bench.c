/* cflame-bench: what a span costs.
 *
 *   cflame-bench [--quick] [--runs K] [--ms T] [--case NAME[,NAME...]]...
 *   cflame-bench --callgrind-case NAME N      (used by callgrind.sh)
 *
 * A "span pair" is one CFLAME_SPAN + CFLAME_SPAN_END. The timed loop nests
 * three of them, so one iteration is three pairs; every figure is ns per
 * pair: the median of K >= 7 runs of about T ms each, with min and max.
 * Baselines measured in the same process: an empty loop of the same shape,
 * and the same loop reading a clock twice per pair (rdtsc, and
 * clock_gettime(CLOCK_MONOTONIC)).
 *
 * Cases (default: all):
 *   nosink     spans while no sink is installed (the cheap exit)
 *   filtered   aggregate sink installed, spans filtered out (filter "warn")
 *   off        the same loop compiled with CFLAME_ENABLED=0
 *   aggregate  default options, output to /dev/null
 *   stream     CFLAME_FLAME_STREAM, output to /dev/null
 *   compensate aggregate with compensate on (precise mode), to /dev/null
 *   stream_file  the same into a regular file in $TMPDIR or /tmp (removed
 *              after; about 60 bytes per pair, several GB in a full run)
 *   fields     CFLAME_SPAN_F with one i64 field, aggregate, fields ignored
 *              (default) and fields_in_frame
 *   registry   CFLAME_SPAN_NEW + enter + exit + close, one set per
 *              iteration: that row is ns per set, not per pair
 *   threads2   aggregate, two threads running the loop at once
 *   flush100k  one cflame_guard_flush of ~100k distinct stacks, to /dev/null
 *              and to a regular file, against bare write(2) of as many bytes
 *   pprof100k  the same flush through a pprof sink (cflame_pprof_fd): one
 *              complete profile.proto of the same stacks
 *   rss        memory after warm-up vs after many more spans, both modes
 * Peak RSS (getrusage ru_maxrss) is printed after every case.
 */
#define _GNU_SOURCE
#include "cflame.h"

#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#if defined(__GLIBC__) &&                                                      \
    (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
#include <malloc.h>
#define BENCH_HAVE_MALLINFO2 1
#else
#define BENCH_HAVE_MALLINFO2 0
#endif

#define MAX_RUNS 101
#define PAIRS_PER_ITER 3

/* --- helpers ------------------------------------------------------------ */

#define CHECK(call) check_rc((call), #call, __LINE__)

static void check_rc(int rc, const char *what, int line) {
  if (rc != 0) {
    fprintf(stderr, "cflame-bench:%d: %s failed: %s (%d)\n", line, what,
            cflame_strerror(rc), rc);
    exit(1);
  }
}

static void die_errno(const char *what) {
  fprintf(stderr, "cflame-bench: %s: %s\n", what, strerror(errno));
  exit(1);
}

static long peak_rss_kib(void) {
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) != 0)
    return -1;
  return ru.ru_maxrss; /* KiB on Linux */
}

static long cur_rss_kib(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  long size = 0, res = -1;
  if (!f)
    return -1;
  if (fscanf(f, "%ld %ld", &size, &res) != 2)
    res = -1;
  fclose(f);
  return res < 0 ? -1 : res * (sysconf(_SC_PAGESIZE) / 1024);
}

/* Bytes handed out by malloc (all arenas), or -1 where unknown. */
static long long heap_in_use(void) {
#if BENCH_HAVE_MALLINFO2
  struct mallinfo2 mi = mallinfo2();
  return (long long)(mi.uordblks + mi.hblkhd);
#else
  return -1;
#endif
}

/* A new file in $TMPDIR (else /tmp) named after stem, opened for appending;
 * its name in path. */
static int temp_file(char *path, size_t cap, const char *stem) {
  const char *dir = getenv("TMPDIR");
  snprintf(path, cap, "%s/%s-XXXXXX", dir && *dir ? dir : "/tmp", stem);
  int fd = mkstemp(path);
  if (fd < 0 || fcntl(fd, F_SETFL, O_APPEND) != 0)
    die_errno(path);
  return fd;
}

static int open_devnull(void) {
  int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    die_errno("/dev/null");
  return fd;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

typedef struct stat_s {
  double med, min, max;
} stat_t;

static stat_t summarize(double *v, int n) {
  stat_t s;
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  s.min = v[0];
  s.max = v[n - 1];
  s.med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  return s;
}

/* --- the loops: 3 nested pairs per iteration ------------------------------ */

typedef void (*loop_fn)(uint64_t n);

static volatile uint64_t sink_u64;

__attribute__((noinline)) static void loop_empty(uint64_t n) {
  for (uint64_t i = 0; i < n; i++) {
    BENCH_BARRIER();
    BENCH_BARRIER();
    BENCH_BARRIER();
    BENCH_BARRIER();
    BENCH_BARRIER();
    BENCH_BARRIER();
  }
}

__attribute__((noinline)) static void loop_cycles(uint64_t n) {
  uint64_t acc = 0;
  for (uint64_t i = 0; i < n; i++) {
    uint64_t a0 = cycles();
    uint64_t b0 = cycles();
    uint64_t c0 = cycles();
    BENCH_BARRIER();
    uint64_t c1 = cycles();
    uint64_t b1 = cycles();
    uint64_t a1 = cycles();
    acc += (a1 - a0) + (b1 - b0) + (c1 - c0);
  }
  sink_u64 = acc;
}

__attribute__((noinline)) static void loop_gettime(uint64_t n) {
  uint64_t acc = 0;
  for (uint64_t i = 0; i < n; i++) {
    uint64_t a0 = mono_ns();
    uint64_t b0 = mono_ns();
    uint64_t c0 = mono_ns();
    BENCH_BARRIER();
    uint64_t c1 = mono_ns();
    uint64_t b1 = mono_ns();
    uint64_t a1 = mono_ns();
    acc += (a1 - a0) + (b1 - b0) + (c1 - c0);
  }
  sink_u64 = acc;
}

__attribute__((noinline)) static void loop_fields(uint64_t n) {
  for (uint64_t i = 0; i < n; i++) {
    CFLAME_SPAN_F(a, "outer", CFLAME_I64("n", 1));
    CFLAME_SPAN_F(b, "middle", CFLAME_I64("n", 2));
    CFLAME_SPAN_F(c, "inner", CFLAME_I64("n", 3));
    BENCH_BARRIER();
    CFLAME_SPAN_END(c);
    CFLAME_SPAN_END(b);
    CFLAME_SPAN_END(a);
  }
}

/* One registry span set per iteration (1 unit, not 3 pairs). */
__attribute__((noinline)) static void loop_registry(uint64_t n) {
  for (uint64_t i = 0; i < n; i++) {
    cflame_span_t s = CFLAME_SPAN_NEW("task");
    cflame_span_enter(s);
    BENCH_BARRIER();
    cflame_span_exit(s);
    cflame_span_close(s);
  }
}

__attribute__((noinline)) static void loop_spans(uint64_t n) {
  for (uint64_t i = 0; i < n; i++) {
    CFLAME_SPAN(a, "outer");
    CFLAME_SPAN(b, "middle");
    CFLAME_SPAN(c, "inner");
    BENCH_BARRIER();
    CFLAME_SPAN_END(c);
    CFLAME_SPAN_END(b);
    CFLAME_SPAN_END(a);
  }
}

/* Eight sibling leaves under one outer span, entered in turn (a loop body
 * calling several functions): every pair is a sibling of the one before.
 * Unrolled by eight iterations (24 pairs), so the loop costs what the
 * chain's does; n is rounded up to a multiple of 8. */
#define SIB(k)                                                                 \
  do {                                                                         \
    CFLAME_SPAN(s, "sibling" #k);                                              \
    BENCH_BARRIER();                                                           \
    CFLAME_SPAN_END(s);                                                        \
  } while (0)
#define SIB8() SIB(0); SIB(1); SIB(2); SIB(3); SIB(4); SIB(5); SIB(6); SIB(7)

__attribute__((noinline)) static void loop_siblings(uint64_t n) {
  CFLAME_SPAN(outer, "outer");
  for (uint64_t i = 0; i < n; i += 8) {
    SIB8();
    SIB8();
    SIB8();
  }
  CFLAME_SPAN_END(outer);
}

/* --- options and measurement ----------------------------------------------- */

enum {
  C_NOSINK = 1 << 0,
  C_OFF = 1 << 1,
  C_AGG = 1 << 2,
  C_STREAM = 1 << 3,
  C_THREADS2 = 1 << 4,
  C_FLUSH = 1 << 5,
  C_RSS = 1 << 6,
  C_FILTERED = 1 << 7,
  C_FIELDS = 1 << 8,
  C_REGISTRY = 1 << 9,
  C_SIBLINGS = 1 << 10,
  C_TEARDOWN = 1 << 11,
  C_PPROF = 1 << 12,
  C_STREAM_FILE = 1 << 13,
  C_COMPENSATE = 1 << 14,
  C_ALL = (1 << 15) - 1
};

static const struct {
  const char *name;
  unsigned bit;
} case_names[] = {{"nosink", C_NOSINK},     {"filtered", C_FILTERED},
                  {"off", C_OFF},           {"aggregate", C_AGG},
                  {"stream", C_STREAM},     {"stream_file", C_STREAM_FILE},
                  {"fields", C_FIELDS},
                  {"registry", C_REGISTRY}, {"threads2", C_THREADS2},
                  {"flush100k", C_FLUSH},   {"pprof100k", C_PPROF},
                  {"rss", C_RSS},
                  {"siblings", C_SIBLINGS}, {"teardown", C_TEARDOWN},
                  {"compensate", C_COMPENSATE},
                  {"all", C_ALL}};

static struct {
  int quick;
  int runs;
  double run_ms;
  unsigned cases;
} opt = {0, 11, 80.0, 0};

static struct {
  stat_t empty, cyc, mono;
} base;

/* Iterations that take about opt.run_ms (the first calls also warm up). */
static uint64_t calibrate(loop_fn fn) {
  uint64_t n = 256;
  for (;;) {
    uint64_t t0 = mono_ns();
    fn(n);
    uint64_t dt = mono_ns() - t0;
    if (dt >= 4000000u || n >= (UINT64_C(1) << 40)) {
      if (dt == 0)
        dt = 1;
      double k = opt.run_ms * 1e6 / (double)dt;
      uint64_t m = (uint64_t)((double)n * k);
      return m ? m : 1;
    }
    n *= 4;
  }
}

/* ns per unit of fn (units per iteration: 3 span pairs, or 1 for the
 * registry loop): opt.runs runs of `iters` iterations (0: calibrate). */
static stat_t measure_u(loop_fn fn, uint64_t iters, int units) {
  double v[MAX_RUNS];
  if (!iters)
    iters = calibrate(fn);
  fn(iters / 8 + 1);
  for (int r = 0; r < opt.runs; r++) {
    uint64_t t0 = mono_ns();
    fn(iters);
    uint64_t dt = mono_ns() - t0;
    v[r] = (double)dt / ((double)iters * units);
  }
  return summarize(v, opt.runs);
}

static stat_t measure_n(loop_fn fn, uint64_t iters) {
  return measure_u(fn, iters, PAIRS_PER_ITER);
}

static stat_t measure(loop_fn fn) {
  return measure_n(fn, 0);
}

static void table_head(void) {
  printf("%-30s %9s %9s %9s %9s %9s %9s %11s\n", "case", "ns/pair", "min",
         "max", "x empty", "x 2" CYCLES_NAME, "x 2gettm", "peakRSS KiB");
  printf("%-30s %9s %9s %9s %9s %9s %9s %11s\n", "----", "(median)", "", "",
         "loop", "", "", "");
}

static void row(const char *name, stat_t s) {
  printf("%-30s %9.3f %9.3f %9.3f %9.1f %9.2f %9.2f %11ld\n", name, s.med,
         s.min, s.max, s.med / base.empty.med, s.med / base.cyc.med,
         s.med / base.mono.med, peak_rss_kib());
  fflush(stdout);
}

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void note(const char *fmt, ...) {
  va_list ap;
  printf("    ");
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  printf("\n");
  fflush(stdout);
}

static uint64_t errors_total(void) {
  cflame_stats_t st;
  cflame_stats(&st);
  uint64_t n = 0;
  for (int k = 0; k < CFLAME_FAULT_KIND_COUNT_; k++)
    n += st.errors[k];
  return n;
}

static void on_error(void *ctx, cflame_fault_t kind, const char *msg) {
  (void)ctx;
  fprintf(stderr, "cflame-bench: cflame reported error kind %d: %s\n",
          (int)kind, msg);
}

static cflame_guard_t *install_opts(int fd, const cflame_flame_opts_t *o) {
  cflame_guard_t *g = NULL;
  CHECK(cflame_flame_fd(fd, o, &g));
  return g;
}

static cflame_guard_t *install(int fd, cflame_flame_mode_t mode) {
  cflame_flame_opts_t o = cflame_flame_opts_default();
  o.mode = mode;
  return install_opts(fd, &o);
}

/* --- cases ----------------------------------------------------------------- */

static void case_simple(const char *label, loop_fn fn, int fd, int mode) {
  cflame_guard_t *g = mode >= 0 ? install(fd, (cflame_flame_mode_t)mode) : NULL;
  cflame_stats_t s0, s1;
  cflame_stats(&s0);
  stat_t s = measure(fn);
  CHECK(cflame_guard_drop(g));
  cflame_stats(&s1);
  row(label, s);
  if (mode == CFLAME_FLAME_STREAM)
    note("stream: %" PRIu64 " lines, %" PRIu64 " bytes written to /dev/null",
         s1.lines_written - s0.lines_written,
         s1.bytes_written - s0.bytes_written);
}

/* Aggregate with compensate on: precise mode (fenced clock reads, no fast
 * paths), which is what taking cflame's cost out costs. */
static void case_compensate(int fd) {
  cflame_flame_opts_t o = cflame_flame_opts_default();
  o.compensate = true;
  cflame_guard_t *g = install_opts(fd, &o);
  stat_t s = measure(loop_spans);
  CHECK(cflame_guard_drop(g));
  row("aggregate, compensate (precise)", s);
}

/* Stream mode into a regular file (in $TMPDIR, else /tmp; removed after). */
static void case_stream_file(void) {
  char path[4096];
  int fd = temp_file(path, sizeof path, "cflame-bench-stream");
  cflame_stats_t s0, s1;
  cflame_stats(&s0);
  cflame_guard_t *g = install(fd, CFLAME_FLAME_STREAM);
  stat_t s = measure(loop_spans);
  CHECK(cflame_guard_drop(g));
  cflame_stats(&s1);
  row("stream to a regular file", s);
  uint64_t bytes = s1.bytes_written - s0.bytes_written;
  uint64_t pairs = (s1.lines_written - s0.lines_written) / 2;
  close(fd);
  unlink(path);
  /* The floor: bare write(2)s of as many bytes, in 64 KiB chunks, into a
   * new file beside it (at most 512 MiB). */
  static char chunk[64 * 1024];
  memset(chunk, 'x', sizeof chunk);
  uint64_t n = bytes < ((uint64_t)512 << 20) ? bytes : (uint64_t)512 << 20;
  fd = temp_file(path, sizeof path, "cflame-bench-write");
  uint64_t t0 = mono_ns(), done = 0;
  while (done < n) {
    ssize_t w = write(fd, chunk, sizeof chunk);
    if (w <= 0)
      die_errno(path);
    done += (uint64_t)w;
  }
  double ns_byte = (double)(mono_ns() - t0) / (double)done;
  close(fd);
  unlink(path);
  double per_pair = pairs ? (double)bytes / (double)pairs : 0;
  note("stream_file: %" PRIu64 " bytes, %.1f per pair (files removed); "
       "bare write(2) of as many into a new file: %.2f ns per byte, %.1f ns "
       "per pair (x %.2f the 2 reads)",
       bytes, per_pair, ns_byte, ns_byte * per_pair,
       ns_byte * per_pair / base.cyc.med);
}

static void case_filtered(int fd) {
  cflame_guard_t *g = install(fd, CFLAME_FLAME_AGGREGATE);
  CHECK(cflame_filter_set("warn")); /* the loop's spans are INFO */
  stat_t s = measure(loop_spans);
  CHECK(cflame_filter_set(NULL));
  CHECK(cflame_guard_drop(g));
  row("filtered (filter \"warn\")", s);
}

static void case_fields(int fd) {
  cflame_flame_opts_t o = cflame_flame_opts_default();
  for (int in_frame = 0; in_frame < 2; in_frame++) {
    o.fields_in_frame = in_frame != 0;
    cflame_guard_t *g = install_opts(fd, &o);
    stat_t s = measure(loop_fields);
    CHECK(cflame_guard_drop(g));
    row(in_frame ? "fields: 1 i64, in frame" : "fields: 1 i64, not in frame",
        s);
  }
}

static void case_registry(int fd) {
  cflame_guard_t *g = install(fd, CFLAME_FLAME_AGGREGATE);
  stat_t s = measure_u(loop_registry, 0, 1);
  CHECK(cflame_guard_drop(g));
  row("registry new+enter+exit+close", s);
  note("registry: ns per new+enter+exit+close set, not per pair");
}

typedef struct worker_s {
  pthread_t th;
  pthread_barrier_t *bar;
  const char *name;
  uint64_t iters;
  uint64_t t0[MAX_RUNS], t1[MAX_RUNS];
} worker_t;

static void *worker_main(void *arg) {
  worker_t *w = arg;
  CHECK(cflame_thread_name(w->name));
  loop_spans(w->iters / 8 + 1); /* creates this thread's state, warms up */
  for (int r = 0; r < opt.runs; r++) {
    int rc = pthread_barrier_wait(w->bar);
    if (rc != 0 && rc != PTHREAD_BARRIER_SERIAL_THREAD) {
      fprintf(stderr, "cflame-bench: pthread_barrier_wait: %s\n",
              strerror(rc));
      exit(1);
    }
    w->t0[r] = mono_ns();
    loop_spans(w->iters);
    w->t1[r] = mono_ns();
  }
  return NULL;
}

static void case_threads2(int fd) {
  cflame_guard_t *g = install(fd, CFLAME_FLAME_AGGREGATE);
  uint64_t iters = calibrate(loop_spans);
  stat_t one = measure_n(loop_spans, iters); /* 1-thread reference */
  pthread_barrier_t bar;
  worker_t w[2];
  static const char *names[2] = {"bench-w0", "bench-w1"};
  if (pthread_barrier_init(&bar, NULL, 2) != 0)
    die_errno("pthread_barrier_init");
  for (int i = 0; i < 2; i++) {
    memset(&w[i], 0, sizeof w[i]);
    w[i].bar = &bar;
    w[i].name = names[i];
    w[i].iters = iters;
    int rc = pthread_create(&w[i].th, NULL, worker_main, &w[i]);
    if (rc != 0) {
      errno = rc;
      die_errno("pthread_create");
    }
  }
  for (int i = 0; i < 2; i++)
    pthread_join(w[i].th, NULL);
  CHECK(cflame_guard_drop(g));
  pthread_barrier_destroy(&bar);

  double per[2][MAX_RUNS], thr[MAX_RUNS];
  double pairs = (double)iters * PAIRS_PER_ITER;
  for (int r = 0; r < opt.runs; r++) {
    uint64_t start = w[0].t0[r] < w[1].t0[r] ? w[0].t0[r] : w[1].t0[r];
    uint64_t end = w[0].t1[r] > w[1].t1[r] ? w[0].t1[r] : w[1].t1[r];
    for (int i = 0; i < 2; i++)
      per[i][r] = (double)(w[i].t1[r] - w[i].t0[r]) / pairs;
    thr[r] = 2 * pairs / (double)(end - start); /* pairs per ns */
  }
  row("threads2: 1-thread reference", one);
  row("threads2: thread bench-w0", summarize(per[0], opt.runs));
  row("threads2: thread bench-w1", summarize(per[1], opt.runs));
  stat_t t = summarize(thr, opt.runs);
  double one_thr = 1.0 / one.med;
  note("threads2: throughput %.1f M pairs/s with 2 threads (min %.1f, max "
       "%.1f) vs %.1f M pairs/s with 1: x%.2f (ideal x2.00)",
       t.med * 1e3, t.min * 1e3, t.max * 1e3, one_thr * 1e3, t.med / one_thr);
}

/* 100 distinct callsites "s0".."s99", one per switch case. */
#define SITE(n)                                                                \
  case n: {                                                                    \
    CFLAME_SPAN(tok, "s" #n);                                                  \
    return tok;                                                                \
  }
#define SITES10(d)                                                             \
  SITE(d##0)                                                                   \
  SITE(d##1)                                                                   \
  SITE(d##2)                                                                   \
  SITE(d##3)                                                                   \
  SITE(d##4)                                                                   \
  SITE(d##5)                                                                   \
  SITE(d##6)                                                                   \
  SITE(d##7)                                                                   \
  SITE(d##8)                                                                   \
  SITE(d##9)

static cflame_token_t site_enter(int i) {
  switch (i) {
    SITES10()
    SITES10(1)
    SITES10(2)
    SITES10(3)
    SITES10(4)
    SITES10(5)
    SITES10(6)
    SITES10(7)
    SITES10(8)
    SITES10(9)
  default:
    break;
  }
  return 0;
}

/* Enters every stack s<i>;s<j>;s<k> for i, j < 100 and k < 10: 100 000
 * leaves, 110 100 nodes below the root (so 110 100 span pairs), each with
 * time of its own. */
#define TOUCH_PAIRS 110100.0
static void touch_stacks(void) {
  for (int i = 0; i < 100; i++) {
    cflame_token_t a = site_enter(i);
    for (int j = 0; j < 100; j++) {
      cflame_token_t b = site_enter(j);
      for (int k = 0; k < 10; k++) {
        cflame_token_t c = site_enter(k);
        CFLAME_SPAN_END(c);
      }
      CFLAME_SPAN_END(b);
    }
    CFLAME_SPAN_END(a);
  }
}

static void rewind_fd(int fd, int regular) {
  if (!regular)
    return;
  if (ftruncate(fd, 0) != 0 || lseek(fd, 0, SEEK_SET) != 0)
    die_errno("truncating the flush file");
}

/* Times a flush of the 100k stacks to fd, then bare write(2)s of as many
 * bytes in writer-sized chunks to the same fd. */
static void flush100k_to(int fd, int regular, const char *label, int pprof) {
  cflame_flame_opts_t o = cflame_flame_opts_default();
  size_t chunk = o.buffer_size;
  cflame_guard_t *g = NULL;
  if (pprof)
    CHECK(cflame_pprof_fd(fd, NULL, &g));
  else
    g = install(fd, CFLAME_FLAME_AGGREGATE);
  cflame_stats_t s0, s1;
  double fl[MAX_RUNS], wr[MAX_RUNS];

  /* site_enter() returns with its span open: stack positions cannot tell
   * that from a longjmp, so healing is off here (README "longjmp"). */
  cflame_unwind_auto(false);
  uint64_t t0 = mono_ns();
  touch_stacks(); /* creates the nodes */
  uint64_t t_create = mono_ns() - t0;
  t0 = mono_ns();
  touch_stacks();
  uint64_t t_touch = mono_ns() - t0;
  rewind_fd(fd, regular);
  cflame_stats(&s0);
  t0 = mono_ns();
  CHECK(cflame_guard_flush(g));
  uint64_t t_first = mono_ns() - t0;
  cflame_stats(&s1);
  uint64_t lines = s1.lines_written - s0.lines_written;
  uint64_t bytes = s1.bytes_written - s0.bytes_written;
  long heap_first = (long)heap_in_use();

  for (int r = 0; r < opt.runs; r++) {
    touch_stacks(); /* every stack grows, so every stack is written again */
    rewind_fd(fd, regular);
    cflame_stats(&s0);
    t0 = mono_ns();
    CHECK(cflame_guard_flush(g));
    fl[r] = (double)(mono_ns() - t0);
    cflame_stats(&s1);
    if (s1.lines_written - s0.lines_written != lines)
      note("%s: run %d wrote %" PRIu64 " lines, not %" PRIu64, label, r,
           s1.lines_written - s0.lines_written, lines);
  }
  long heap_last = (long)heap_in_use();
  CHECK(cflame_guard_drop(g));
  cflame_unwind_auto(true);
  rewind_fd(fd, regular);

  char *buf = malloc(chunk);
  if (!buf)
    die_errno("malloc");
  memset(buf, 'x', chunk);
  for (int r = 0; r < opt.runs; r++) {
    rewind_fd(fd, regular);
    t0 = mono_ns();
    for (uint64_t done = 0; done < bytes;) {
      size_t n = bytes - done < chunk ? (size_t)(bytes - done) : chunk;
      ssize_t k = write(fd, buf, n);
      if (k < 0 && errno == EINTR)
        continue;
      if (k <= 0)
        die_errno("write");
      done += (uint64_t)k;
    }
    wr[r] = (double)(mono_ns() - t0);
  }
  rewind_fd(fd, regular);
  free(buf);

  stat_t f = summarize(fl, opt.runs), w = summarize(wr, opt.runs);
  if (pprof) /* samples are not lines: every node, the root too */
    lines = (uint64_t)TOUCH_PAIRS + 1;
  if (pprof)
    printf("pprof100k -> %s: one profile of %" PRIu64 " stacks, %" PRIu64
           " bytes per flush\n",
           label, lines, bytes);
  else
    printf("flush100k -> %s: %" PRIu64 " lines (stacks), %" PRIu64
           " bytes per flush\n",
           label, lines, bytes);
  note("creating the stacks (first pass, 110100 pairs): %.1f ms; touching "
       "them again: %.1f ms (%.1f ns/pair)",
       t_create / 1e6, t_touch / 1e6, t_touch / TOUCH_PAIRS);
  note("first flush: %.1f ms", t_first / 1e6);
  note("flush:  median %.2f ms (min %.2f, max %.2f) = %.2f M stacks/s, "
       "%.0f MB/s",
       f.med / 1e6, f.min / 1e6, f.max / 1e6, (double)lines / f.med * 1e3,
       (double)bytes / f.med * 1e3);
  note("write(2) of the same bytes in %zu-byte chunks: median %.3f ms "
       "(min %.3f, max %.3f) = %.0f MB/s; flush / write = x%.1f",
       chunk, w.med / 1e6, w.min / 1e6, w.max / 1e6,
       (double)bytes / w.med * 1e3, f.med / w.med);
  if (heap_first >= 0)
    note("heap in use after first flush %ld KiB, after the last %ld KiB; "
         "peak RSS %ld KiB",
         heap_first / 1024, heap_last / 1024, peak_rss_kib());
  else
    note("peak RSS %ld KiB", peak_rss_kib());
  fflush(stdout);
}

static void case_flush100k(int devnull, int pprof) {
  flush100k_to(devnull, 0, "/dev/null", pprof);
  char path[4096];
  int fd = temp_file(path, sizeof path, "cflame-bench");
  unlink(path);
  char label[4200];
  snprintf(label, sizeof label, "regular file %.4000s", path);
  flush100k_to(fd, 1, label, pprof);
  close(fd);
}

/* A short CLI tool: in a fresh process (so the clock's calibration starts
 * there), install a flame sink, run one span, drop the guard. Prints the
 * median wall time of install..drop over K processes. */
static void case_teardown(void) {
  enum { K = 21 };
  double us[K];
  for (int i = 0; i < K; i++) {
    int p[2];
    if (pipe(p) != 0)
      die_errno("pipe");
    pid_t pid = fork();
    if (pid < 0)
      die_errno("fork");
    if (pid == 0) {
      int fd = open_devnull();
      uint64_t t0 = mono_ns();
      cflame_guard_t *g = install(fd, CFLAME_FLAME_AGGREGATE);
      {
        CFLAME_SPAN(s, "work");
        BENCH_BARRIER();
        CFLAME_SPAN_END(s);
      }
      CHECK(cflame_guard_drop(g));
      uint64_t dt = mono_ns() - t0;
      if (write(p[1], &dt, sizeof dt) != (ssize_t)sizeof dt)
        _exit(1);
      _exit(0);
    }
    uint64_t dt = 0;
    if (read(p[0], &dt, sizeof dt) != (ssize_t)sizeof dt)
      die_errno("read");
    close(p[0]);
    close(p[1]);
    waitpid(pid, NULL, 0);
    us[i] = (double)dt / 1000.0;
  }
  for (int i = 1; i < K; i++) /* insertion sort */
    for (int j = i; j > 0 && us[j - 1] > us[j]; j--) {
      double x = us[j];
      us[j] = us[j - 1];
      us[j - 1] = x;
    }
  printf("teardown: install + 1 span + drop in a fresh process: median %.1f "
         "us (min %.1f, max %.1f, %d processes)\n",
         us[K / 2], us[0], us[K - 1], K);
}

static void case_rss(int fd) {
  uint64_t warm = opt.quick ? 200000 : 1000000;
  uint64_t more = opt.quick ? 2000000 : 20000000;
  for (int m = 0; m < 2; m++) {
    cflame_flame_mode_t mode = m ? CFLAME_FLAME_STREAM : CFLAME_FLAME_AGGREGATE;
    cflame_guard_t *g = install(fd, mode);
    loop_spans(warm);
    long long h0 = heap_in_use();
    long r0 = cur_rss_kib();
    loop_spans(more);
    long long h1 = heap_in_use();
    long r1 = cur_rss_kib();
    CHECK(cflame_guard_drop(g));
    printf("rss %-9s after %" PRIu64 " warm-up pairs: heap %lld B, RSS %ld "
           "KiB; after %" PRIu64 " more: heap %lld B (delta %lld), RSS %ld "
           "KiB (delta %ld); peak RSS %ld KiB\n",
           m ? "stream" : "aggregate", warm * PAIRS_PER_ITER, h0, r0,
           more * PAIRS_PER_ITER, h1, h1 - h0, r1, r1 - r0, peak_rss_kib());
  }
  fflush(stdout);
}

/* --- callgrind mode -------------------------------------------------------- */

/* Warm-up, then n iterations; callgrind.sh runs n and 2n and subtracts.
 * Prints the units (span pairs or registry sets) per iteration. */
static int callgrind_case(const char *name, uint64_t n) {
  loop_fn fn = loop_spans;
  int mode = -1, units = PAIRS_PER_ITER, filtered = 0;
  cflame_flame_opts_t o = cflame_flame_opts_default();
  if (!strcmp(name, "empty"))
    fn = loop_empty;
  else if (!strcmp(name, "rdtsc") || !strcmp(name, "cycles"))
    fn = loop_cycles;
  else if (!strcmp(name, "gettime"))
    fn = loop_gettime;
  else if (!strcmp(name, "off"))
    fn = bench_loop_off;
  else if (!strcmp(name, "nosink"))
    ;
  else if (!strcmp(name, "aggregate"))
    mode = CFLAME_FLAME_AGGREGATE;
  else if (!strcmp(name, "siblings")) {
    mode = CFLAME_FLAME_AGGREGATE;
    fn = loop_siblings;
  }
  else if (!strcmp(name, "stream"))
    mode = CFLAME_FLAME_STREAM;
  else if (!strcmp(name, "compensate")) {
    mode = CFLAME_FLAME_AGGREGATE;
    o.compensate = true;
  }
  else if (!strcmp(name, "filtered")) {
    mode = CFLAME_FLAME_AGGREGATE;
    filtered = 1;
  } else if (!strcmp(name, "fields")) {
    mode = CFLAME_FLAME_AGGREGATE;
    fn = loop_fields;
  } else if (!strcmp(name, "fields_frame")) {
    mode = CFLAME_FLAME_AGGREGATE;
    fn = loop_fields;
    o.fields_in_frame = true;
  } else if (!strcmp(name, "registry")) {
    mode = CFLAME_FLAME_AGGREGATE;
    fn = loop_registry;
    units = 1;
  } else {
    fprintf(stderr, "cflame-bench: unknown callgrind case %s\n", name);
    return 2;
  }
  int fd = open_devnull();
  cflame_guard_t *g = NULL;
  if (mode >= 0) {
    o.mode = (cflame_flame_mode_t)mode;
    g = install_opts(fd, &o);
  }
  if (filtered)
    CHECK(cflame_filter_set("warn"));
  fn(20000);
  fn(n);
  CHECK(cflame_guard_drop(g));
  close(fd);
  printf("case=%s n=%" PRIu64 " units=%d clock=%s\n", name, n, units,
         cflame_clock_name());
  return 0;
}

/* --- main ------------------------------------------------------------------ */

static void usage(FILE *f) {
  fprintf(f,
          "usage: cflame-bench [--quick] [--runs K] [--ms T] "
          "[--case NAME[,NAME...]]...\n"
          "       cflame-bench --callgrind-case NAME N\n"
          "cases: nosink filtered off aggregate siblings stream stream_file "
          "compensate fields registry "
          "threads2 flush100k pprof100k teardown rss all\n"
          "callgrind cases: empty rdtsc gettime off nosink filtered "
          "aggregate siblings stream compensate fields fields_frame registry\n");
}

static int parse_cases(const char *arg) {
  char buf[256];
  snprintf(buf, sizeof buf, "%s", arg);
  for (char *save = NULL, *t = strtok_r(buf, ",", &save); t;
       t = strtok_r(NULL, ",", &save)) {
    size_t i;
    for (i = 0; i < sizeof case_names / sizeof case_names[0]; i++)
      if (!strcmp(t, case_names[i].name))
        break;
    if (i == sizeof case_names / sizeof case_names[0]) {
      fprintf(stderr, "cflame-bench: unknown case %s\n", t);
      return -1;
    }
    opt.cases |= case_names[i].bit;
  }
  return 0;
}

int main(int argc, char **argv) {
  int runs = 0;
  double ms = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--quick")) {
      opt.quick = 1;
    } else if (!strcmp(argv[i], "--case") && i + 1 < argc) {
      if (parse_cases(argv[++i]) != 0)
        return 2;
    } else if (!strcmp(argv[i], "--runs") && i + 1 < argc) {
      runs = atoi(argv[++i]);
    } else if (!strcmp(argv[i], "--ms") && i + 1 < argc) {
      ms = atof(argv[++i]);
    } else if (!strcmp(argv[i], "--callgrind-case") && i + 2 < argc) {
      cflame_on_error(on_error, NULL);
      return callgrind_case(argv[i + 1], strtoull(argv[i + 2], NULL, 10));
    } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      usage(stdout);
      return 0;
    } else {
      usage(stderr);
      return 2;
    }
  }
  if (opt.quick) {
    opt.runs = 7;
    opt.run_ms = 10.0;
  }
  if (runs)
    opt.runs = runs < 7 ? 7 : runs > MAX_RUNS ? MAX_RUNS : runs;
  if (ms > 0)
    opt.run_ms = ms;
  if (!opt.cases)
    opt.cases = C_ALL;
  cflame_on_error(on_error, NULL);

  char load[128] = "?";
  FILE *lf = fopen("/proc/loadavg", "r");
  if (lf) {
    if (!fgets(load, sizeof load, lf))
      snprintf(load, sizeof load, "?");
    load[strcspn(load, "\n")] = '\0';
    fclose(lf);
  }
  printf("cflame %s bench: clock %s; %d runs of ~%.0f ms per figure; "
         "%ld CPUs online; loadavg %s\n",
         cflame_version(), cflame_clock_name(), opt.runs, opt.run_ms,
         sysconf(_SC_NPROCESSORS_ONLN), load);
  printf("span pair = CFLAME_SPAN + CFLAME_SPAN_END, 3 nested per "
         "iteration; ns per pair: median of %d runs, min, max\n\n",
         opt.runs);

  base.empty = measure(loop_empty);
  base.cyc = measure(loop_cycles);
  base.mono = measure(loop_gettime);
  table_head();
  row("baseline: empty loop", base.empty);
  row("baseline: 2 " CYCLES_NAME " reads", base.cyc);
  row("baseline: 2 clock_gettime", base.mono);

  int devnull = open_devnull();
  uint64_t err0 = errors_total();
  if (opt.cases & C_NOSINK)
    case_simple("nosink (no sink installed)", loop_spans, -1, -1);
  if (opt.cases & C_FILTERED)
    case_filtered(devnull);
  if (opt.cases & C_OFF)
    case_simple("off (CFLAME_ENABLED=0)", bench_loop_off, -1, -1);
  if (opt.cases & C_AGG)
    case_simple("aggregate", loop_spans, devnull, CFLAME_FLAME_AGGREGATE);
  if (opt.cases & C_SIBLINGS)
    case_simple("siblings (8 in turn, aggregate)", loop_siblings, devnull,
                CFLAME_FLAME_AGGREGATE);
  if (opt.cases & C_STREAM)
    case_simple("stream", loop_spans, devnull, CFLAME_FLAME_STREAM);
  if (opt.cases & C_COMPENSATE)
    case_compensate(devnull);
  if (opt.cases & C_STREAM_FILE)
    case_stream_file();
  if (opt.cases & C_FIELDS)
    case_fields(devnull);
  if (opt.cases & C_REGISTRY)
    case_registry(devnull);
  if (opt.cases & C_THREADS2)
    case_threads2(devnull);
  if (opt.cases & (C_FLUSH | C_PPROF | C_RSS))
    printf("\n");
  if (opt.cases & C_FLUSH)
    case_flush100k(devnull, 0);
  if (opt.cases & C_PPROF)
    case_flush100k(devnull, 1);
  if (opt.cases & C_TEARDOWN)
    case_teardown();
  if (opt.cases & C_RSS)
    case_rss(devnull);
  close(devnull);

  uint64_t errs = errors_total() - err0;
  printf("\npeak RSS %ld KiB; cflame errors counted during the run: %" PRIu64
         "\n",
         peak_rss_kib(), errs);
  return errs ? 1 : 0;
}
