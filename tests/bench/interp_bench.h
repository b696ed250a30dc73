/* What cflame-bench-realistic and cflame-bench-autointerp share: running
 * the interpreter, their options, and a sink of their own that counts span
 * pairs (the enter counts of every call-tree node, summed at each flush). */
#ifndef CFLAME_BENCH_INTERP_BENCH_H
#define CFLAME_BENCH_INTERP_BENCH_H

#include "cflame.h"

#include "interp.h"

#include <stdint.h>

#define INTERP_MAX_RUNS 51

typedef int (*round_fn)(uint32_t seed, int iters, interp_stats_t *st);

/* One run: `rounds` programs, seeds seed0, seed0 + 1, ...; returns their
 * checksum. Exits the program if a round fails. */
uint64_t interp_run(round_fn fn, int rounds, uint32_t seed0, int iters);

/* `rounds` rounds of the one program of `seed` (the callgrind cases: after
 * a warm-up round of it, every stack exists). */
void interp_run_one(round_fn fn, int rounds, uint32_t seed, int iters);

/* The median of v[0..n) (sorts v), in v's units; n >= 1. */
double interp_median(uint64_t *v, int n);

typedef struct interp_opts_s {
  int runs, rounds, iters;
  const char *out;      /* --out FILE */
  const char *min_size; /* --min-size BYTES, if allowed */
  const char *cg_case;  /* --callgrind-case NAME N */
  uint64_t cg_n;
} interp_opts_t;

/* Parses argv into *o (defaults already in it): --quick, --runs K,
 * --rounds R, --iters I, --out FILE, --callgrind-case NAME N, and
 * --min-size BYTES if min_size_ok. Returns 0, 1 for --help, 2 for bad
 * usage. */
int interp_opts_parse(interp_opts_t *o, int argc, char **argv,
                      int min_size_ok);

/* Installs the counting sink; *sum is written at each flush. Exits the
 * program if it cannot. */
cflame_guard_t *bench_count_install(uint64_t *sum);

/* Span pairs entered since the sink was installed (flushes it). */
uint64_t bench_count_now(cflame_guard_t *count, uint64_t *sum);

#endif
