/* cflame-bench-realistic: what cflame costs a real program.
 *
 *   cflame-bench-realistic [--quick] [--runs K] [--rounds R] [--iters I]
 *                          [--out FILE]
 *   cflame-bench-realistic --callgrind-case realistic|realistic_off|
 *                                           realistic_nosink N
 *
 * The program is an interpreter (interp_*.c: generator, tokenizer, parser,
 * pretty-printer, evaluator; 51 functions with CFLAME_FN) built twice from
 * the same text: instrumented, and with the macros compiled out. One run
 * interprets R generated programs (R rounds, seeds 1..R). Runs alternate
 * between the builds; printed: wall time of each (median of K), their
 * ratio, the same for the instrumented build with no sink installed and
 * with every span filtered out (against compiled-out runs beside them),
 * span pairs per run (the enter counts of every call-tree node,
 * summed by a small sink of our own), added ns per pair, and the miss rate
 * cflame_stats().slow_enters / enters, cold (the first run: every stack's
 * first enter is slow by design) and warm (the later runs).
 * Instructions per pair come from tests/bench/callgrind.sh (case
 * realistic), which runs the --callgrind-case modes: warm-up, then N rounds
 * of one seed, printing the pairs entered in those N rounds (nosink: the
 * instrumented build with no sink ever installed; off: compiled out).
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
#include <time.h>
#include <unistd.h>

#define MAX_RUNS INTERP_MAX_RUNS

static interp_opts_t opt = {.runs = 5, .rounds = 8, .iters = 12000};

static void die(const char *what, int rc) {
  fprintf(stderr, "cflame-bench-realistic: %s: %s (%d)\n", what,
          cflame_strerror(rc), rc);
  exit(1);
}

static cflame_guard_t *flame_install(int fd) {
  cflame_guard_t *g = NULL;
  int rc = cflame_flame_fd(fd, NULL, &g);
  if (rc < 0)
    die("install the flame sink", rc);
  return g;
}

static uint64_t slow_now(void) {
  cflame_stats_t st;
  cflame_stats(&st);
  return st.slow_enters;
}

/* --- callgrind mode ---------------------------------------------------------- */

static int callgrind_case(const char *name, uint64_t n) {
  int on = !strcmp(name, "realistic");
  if (!strcmp(name, "realistic_nosink")) { /* compiled in, never installed */
    interp_run_one(interp_round_on, 1, 1, 200);
    interp_run_one(interp_round_on, (int)n, 1, 200);
    printf("case=%s n=%" PRIu64 " pairs=0 slow=0 clock=%s\n", name, n,
           cflame_clock_name());
    return 0;
  }
  if (!on && strcmp(name, "realistic_off") != 0) {
    fprintf(stderr, "cflame-bench-realistic: unknown case %s\n", name);
    return 2;
  }
  int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
  uint64_t sum = 0, e0 = 0, e1 = 0, s0, s1;
  cflame_guard_t *flame = flame_install(fd), *count = bench_count_install(&sum);
  round_fn fn = on ? interp_round_on : interp_round_off;
  interp_run_one(fn, 1, 1, 200); /* warm-up: every stack exists after it */
  e0 = bench_count_now(count, &sum);
  s0 = slow_now();
  interp_run_one(fn, (int)n, 1, 200);
  s1 = slow_now();
  e1 = bench_count_now(count, &sum);
  cflame_guard_drop(count);
  cflame_guard_drop(flame);
  close(fd);
  printf("case=%s n=%" PRIu64 " pairs=%" PRIu64 " slow=%" PRIu64
         " clock=%s\n", name, n, e1 - e0, s1 - s0, cflame_clock_name());
  return 0;
}

/* --- main ---------------------------------------------------------------------- */

static void usage(FILE *f) {
  fprintf(f, "usage: cflame-bench-realistic [--quick] [--runs K] "
             "[--rounds R] [--iters I] [--out FILE]\n"
             "       cflame-bench-realistic --callgrind-case "
             "realistic|realistic_off|realistic_nosink N\n");
}

/* A fresh instrumented run with its folded output in opt.out. */
static void write_out(void) {
  int fd = open(opt.out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    perror(opt.out);
    exit(1);
  }
  cflame_guard_t *g = flame_install(fd);
  interp_run(interp_round_on, opt.rounds, 1, opt.iters);
  int rc = cflame_guard_drop(g);
  close(fd);
  if (rc < 0)
    die("write the folded output", rc);
  printf("folded output of one instrumented run: %s\n", opt.out);
}

int main(int argc, char **argv) {
  int rc = interp_opts_parse(&opt, argc, argv, 0);
  if (rc) {
    usage(rc == 1 ? stdout : stderr);
    return rc == 1 ? 0 : 2;
  }
  if (opt.cg_case)
    return callgrind_case(opt.cg_case, opt.cg_n);

  /* Same answers from both builds, or the comparison means nothing. */
  uint64_t want = interp_run(interp_round_off, opt.rounds, 1, opt.iters);
  int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
  uint64_t sum = 0;
  cflame_guard_t *flame = flame_install(fd), *count = bench_count_install(&sum);
  uint64_t t_on[MAX_RUNS], t_off[MAX_RUNS], slow[MAX_RUNS];
  uint64_t e0 = bench_count_now(count, &sum), e_first = 0;
  for (int r = 0; r < opt.runs; r++) {
    uint64_t t0 = mono_ns();
    uint64_t c_off = interp_run(interp_round_off, opt.rounds, 1, opt.iters);
    uint64_t t1 = mono_ns(), s0 = slow_now();
    uint64_t c_on = interp_run(interp_round_on, opt.rounds, 1, opt.iters);
    uint64_t t2 = mono_ns();
    slow[r] = slow_now() - s0;
    if (r == 0)
      e_first = bench_count_now(count, &sum) - e0;
    if (c_on != want || c_off != want) {
      fprintf(stderr, "cflame-bench-realistic: checksums differ\n");
      return 1;
    }
    t_off[r] = t1 - t0;
    t_on[r] = t2 - t1;
  }
  uint64_t enters = bench_count_now(count, &sum) - e0;
  cflame_guard_drop(count);
  cflame_guard_drop(flame);

  /* Compiled in but not recording: no sink at all, then a sink with every
   * span filtered out; each against compiled-out runs beside it. */
  uint64_t t_off2[MAX_RUNS], t_nosink[MAX_RUNS], t_filt[MAX_RUNS];
  for (int r = 0; r < opt.runs; r++) {
    uint64_t t0 = mono_ns();
    interp_run(interp_round_off, opt.rounds, 1, opt.iters);
    uint64_t t1 = mono_ns();
    interp_run(interp_round_on, opt.rounds, 1, opt.iters);
    uint64_t t2 = mono_ns();
    flame = flame_install(fd);
    rc = cflame_filter_set("warn"); /* CFLAME_FN spans are INFO */
    if (rc < 0)
      die("cflame_filter_set", rc);
    uint64_t t3 = mono_ns();
    interp_run(interp_round_on, opt.rounds, 1, opt.iters);
    uint64_t t4 = mono_ns();
    if ((rc = cflame_filter_set(NULL)) < 0)
      die("cflame_filter_set", rc);
    cflame_guard_drop(flame);
    t_off2[r] = t1 - t0;
    t_nosink[r] = t2 - t1;
    t_filt[r] = t4 - t3;
  }
  close(fd);

  uint64_t pairs = opt.runs ? enters / (uint64_t)opt.runs : 0;
  uint64_t slow_warm = 0;
  for (int r = 1; r < opt.runs; r++)
    slow_warm += slow[r];
  uint64_t cold = slow[0];
  double med_on = interp_median(t_on, opt.runs);
  double med_off = interp_median(t_off, opt.runs);
  char load[128] = "?";
  FILE *lf = fopen("/proc/loadavg", "r");
  if (lf) {
    if (!fgets(load, sizeof load, lf))
      snprintf(load, sizeof load, "?");
    load[strcspn(load, "\n")] = '\0';
    fclose(lf);
  }
  printf("cflame %s realistic bench: clock %s; interpreter, %d programs x "
         "%d loop iterations per run; %d runs, alternating; loadavg %s\n",
         cflame_version(), cflame_clock_name(), opt.rounds, opt.iters,
         opt.runs, load);
  printf("%-34s %12.1f ms\n", "compiled out (median)", med_off / 1e6);
  printf("%-34s %12.1f ms\n", "instrumented, aggregate (median)",
         med_on / 1e6);
  printf("%-34s %12.3f\n", "ratio instrumented / compiled out",
         med_on / med_off);
  double med_off2 = interp_median(t_off2, opt.runs);
  printf("%-34s %12.1f ms, ratio %.3f\n", "compiled in, no sink (median)",
         interp_median(t_nosink, opt.runs) / 1e6,
         interp_median(t_nosink, opt.runs) / med_off2);
  printf("%-34s %12.1f ms, ratio %.3f\n", "compiled in, filtered out",
         interp_median(t_filt, opt.runs) / 1e6,
         interp_median(t_filt, opt.runs) / med_off2);
  printf("%-34s %12.1f ms (beside the two above)\n", "compiled out, again",
         med_off2 / 1e6);
  printf("%-34s %12" PRIu64 "\n", "span pairs per run", pairs);
  if (pairs == 0 || e_first != pairs) {
    printf("(no spans recorded: cflame is compiled out in this build)\n");
  } else {
    printf("%-34s %12.2f ns\n", "added per span pair",
           (med_on - med_off) / (double)pairs);
    printf("%-34s %12.4f %% (%" PRIu64 " of %" PRIu64 ")\n",
           "slow enters, first run (cold)", 100.0 * (double)cold /
           (double)pairs, cold, pairs);
    if (opt.runs > 1)
      printf("%-34s %12.4f %% (%" PRIu64 " of %" PRIu64 ")\n",
             "slow enters, later runs (warm)",
             100.0 * (double)slow_warm / (double)(enters - pairs), slow_warm,
             enters - pairs);
  }
  printf("instructions per pair: sh tests/bench/callgrind.sh "
         "BUILD/tests/bench/cflame-bench (case realistic)\n");
  if (opt.out)
    write_out();
  return 0;
}
