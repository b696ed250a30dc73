/* cflame-bench-autointerp: what auto-instrumentation costs a real program.
 *
 *   cflame-bench-autointerp [--quick] [--runs K] [--rounds R] [--iters I]
 *                           [--min-size BYTES] [--out FILE]
 *   cflame-bench-autointerp --callgrind-case auto|nosink|off N
 *
 * The interpreter of cflame-bench-realistic (interp_*.c: generator,
 * tokenizer, parser, pretty-printer, evaluator, five parts in three files)
 * built twice from the same text, both with its span macros compiled out:
 * plainly (interp_off.c) and with -finstrument-functions (interp_auto.c,
 * through cflame_instrument), so that cflame records every function it
 * does not inline. Runs alternate between the builds; printed: the wall time
 * of each (median of K) with the flame sink writing to /dev/null and with no
 * sink installed (the hooks' floor: what -finstrument-functions costs with
 * hooks that return at once), instrumented calls per run (enter counts of
 * every call-tree node, from a counting sink), the ns cflame adds per call
 * over the no-sink build, and that against two rdtsc reads timed in the same
 * run. --min-size sets CFLAME_INSTRUMENT_MIN_SIZE: functions whose code is
 * smaller are never recorded (their calls still reach the hooks).
 *
 * --callgrind-case runs N rounds of one program after a warm-up round and
 * prints the calls recorded in those N rounds: under
 * `valgrind --tool=callgrind`, (Ir(auto, 2N) - Ir(auto, N)) / calls(N) is
 * the instructions per instrumented call with the call itself, "nosink" and
 * "off" the same build with no sink ever installed and the plain build.
 * --out FILE writes the folded output of one more instrumented run there.
 * Never run by ctest except as a smoke test (--quick --out). */
#define _GNU_SOURCE
#include "bench.h"
#include "interp_bench.h"
#include "cflame.h"

#include "interp.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_RUNS INTERP_MAX_RUNS

static volatile uint64_t keep;

static interp_opts_t opt = {.runs = 5, .rounds = 2, .iters = 3000};

static cflame_guard_t *flame_install(int fd) {
  cflame_guard_t *g = NULL;
  int rc = cflame_flame_fd(fd, NULL, &g);
  if (rc < 0) {
    fprintf(stderr, "cflame-bench-autointerp: install the flame sink: %s\n",
            cflame_strerror(rc));
    exit(1);
  }
  return g;
}

/* ns per two back-to-back TSC reads (the floor a call's two reads cost). */
static double two_reads_ns(void) {
  const int n = 2000000;
  uint64_t t0 = mono_ns(), x = 0;
  for (int i = 0; i < n; i++) {
    x += cycles();
    x ^= cycles();
  }
  uint64_t t1 = mono_ns();
  keep = x;
  return (double)(t1 - t0) / n;
}

static int callgrind_case(const char *name, uint64_t n) {
  round_fn fn = !strcmp(name, "off") ? interp_round_off : interp_round_auto;
  if (strcmp(name, "auto") && strcmp(name, "nosink") && strcmp(name, "off")) {
    fprintf(stderr, "cflame-bench-autointerp: unknown case %s\n", name);
    return 2;
  }
  int fd = -1;
  uint64_t sum = 0, e0 = 0, e1 = 0;
  cflame_guard_t *flame = NULL, *count = NULL;
  if (!strcmp(name, "auto")) {
    fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    flame = flame_install(fd);
    count = bench_count_install(&sum);
  }
  interp_run_one(fn, 1, 1, 200); /* warm-up: every stack exists after it */
  if (count)
    e0 = bench_count_now(count, &sum);
  interp_run_one(fn, (int)n, 1, 200);
  if (count) {
    e1 = bench_count_now(count, &sum);
    cflame_guard_drop(count);
    cflame_guard_drop(flame);
    close(fd);
  }
  printf("case=%s n=%" PRIu64 " calls=%" PRIu64 " clock=%s\n", name, n,
         e1 - e0, cflame_clock_name());
  return 0;
}

static void usage(FILE *f) {
  fprintf(f, "usage: cflame-bench-autointerp [--quick] [--runs K] "
             "[--rounds R] [--iters I] [--min-size BYTES] [--out FILE]\n"
             "       cflame-bench-autointerp --callgrind-case "
             "auto|nosink|off N\n");
}

int main(int argc, char **argv) {
  /* The first instrumented call reads the environment: nothing from the
   * caller's may install a sink of its own. */
  unsetenv("CFLAME_FLAME");
  unsetenv("CFLAME_FILTER");
  unsetenv("CFLAME_INSTRUMENT_EXCLUDE");
  unsetenv("CFLAME_INSTRUMENT_MIN_SIZE");
  int rc = interp_opts_parse(&opt, argc, argv, 1);
  if (rc) {
    usage(rc == 1 ? stdout : stderr);
    return rc == 1 ? 0 : 2;
  }
  if (opt.cg_case)
    return callgrind_case(opt.cg_case, opt.cg_n);
  if (opt.min_size)
    setenv("CFLAME_INSTRUMENT_MIN_SIZE", opt.min_size, 1);

  /* Same answers from both builds, or the comparison means nothing. */
  uint64_t want = interp_run(interp_round_off, opt.rounds, 1, opt.iters);
  uint64_t t_off[MAX_RUNS], t_nosink[MAX_RUNS], t_on[MAX_RUNS];
  for (int r = 0; r < opt.runs; r++) {
    uint64_t t0 = mono_ns();
    uint64_t c_off = interp_run(interp_round_off, opt.rounds, 1, opt.iters);
    uint64_t t1 = mono_ns();
    uint64_t c_auto = interp_run(interp_round_auto, opt.rounds, 1, opt.iters);
    uint64_t t2 = mono_ns();
    if (c_off != want || c_auto != want) {
      fprintf(stderr, "cflame-bench-autointerp: checksums differ\n");
      return 1;
    }
    t_off[r] = t1 - t0;
    t_nosink[r] = t2 - t1;
  }
  int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
  uint64_t sum = 0;
  cflame_guard_t *flame = flame_install(fd);
  cflame_guard_t *count = bench_count_install(&sum);
  interp_run(interp_round_auto, 1, 1, opt.iters); /* warm-up: the call trees */
  uint64_t e0 = bench_count_now(count, &sum);
  double reads = 0;
  for (int r = 0; r < opt.runs; r++) {
    uint64_t t0 = mono_ns();
    interp_run(interp_round_auto, opt.rounds, 1, opt.iters);
    t_on[r] = mono_ns() - t0;
    reads += two_reads_ns() / opt.runs;
  }
  uint64_t calls = (bench_count_now(count, &sum) - e0) / (uint64_t)opt.runs;
  cflame_guard_drop(count);
  cflame_guard_drop(flame);
  close(fd);

  double off = interp_median(t_off, opt.runs) / 1e6;
  double nosink = interp_median(t_nosink, opt.runs) / 1e6;
  double on = interp_median(t_on, opt.runs) / 1e6;
  printf("cflame %s auto-instrumented interpreter: clock %s; %d programs x "
         "%d loop iterations per run; %d runs\n",
         cflame_version(), cflame_clock_name(), opt.rounds, opt.iters,
         opt.runs);
  printf("%-44s %10.1f ms\n", "plain build (median)", off);
  printf("%-44s %10.1f ms, x %.2f\n", "-finstrument-functions, no sink",
         nosink, nosink / off);
  printf("%-44s %10.1f ms, x %.2f\n", "-finstrument-functions, flame sink",
         on, on / off);
  printf("%-44s %10" PRIu64 "\n", "recorded calls per run", calls);
  if (calls) {
    double per = (on - nosink) * 1e6 / (double)calls;
    printf("%-44s %10.2f ns (two rdtsc reads: %.2f ns, x %.2f)\n",
           "cflame per recorded call, over no sink", per, reads,
           per / reads);
  }
  if (opt.out) {
    int out = open(opt.out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out < 0) {
      perror(opt.out);
      return 1;
    }
    cflame_guard_t *g = flame_install(out);
    interp_run(interp_round_auto, opt.rounds, 1, opt.iters);
    rc = cflame_guard_drop(g);
    close(out);
    if (rc < 0)
      return 1;
    printf("folded output of one instrumented run: %s\n", opt.out);
  }
  return 0;
}
