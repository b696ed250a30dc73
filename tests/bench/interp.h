/* A small expression language for cflame-bench-realistic: generator,
 * tokenizer, recursive-descent parser, pretty-printer and tree-walking
 * evaluator, built twice into one program from the same text: instrumented
 * (interp_round_on, interp_on.c) and with the span macros compiled out
 * (interp_round_off, interp_off.c). */
#ifndef CFLAME_BENCH_INTERP_H
#define CFLAME_BENCH_INTERP_H

#include <stdint.h>

/* What one round did; identical for the two builds of the same round. */
typedef struct interp_stats_s {
  uint64_t checksum; /* hash of every value the program printed */
  uint64_t tokens;   /* tokens lexed (source and its pretty-printed copy) */
  uint64_t nodes;    /* AST nodes built */
  uint64_t calls;    /* function calls evaluated (user and builtin) */
  uint64_t bytes;    /* bytes of generated source */
} interp_stats_t;

/* One round: generates a program from `seed` whose main loop runs `iters`
 * times, tokenizes and parses it, pretty-prints the tree, parses the
 * printed text again and checks that it prints the same, then evaluates
 * it. Returns 0, or -1 on an internal error (message on stderr). */
int interp_round_on(uint32_t seed, int iters, interp_stats_t *st);
int interp_round_off(uint32_t seed, int iters, interp_stats_t *st);
/* The compiled-out text built with -finstrument-functions (interp_auto.c,
 * cflame-bench-autointerp only). */
int interp_round_auto(uint32_t seed, int iters, interp_stats_t *st);

#endif /* CFLAME_BENCH_INTERP_H */
