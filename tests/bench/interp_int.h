/* Private to cflame's realistic benchmark: the interpreter's types.
 *
 * The language of cflame-bench-realistic (see interp.h), with CFLAME_FN in
 * most functions: tiny accessors run millions of times (env_get, arith,
 * tok_peek, tok_accept), recursion (eval_expr, parse_unary, fib in the
 * generated program) and a wide tree (four phases, dozens of functions).
 * Its text is interp_text.c, interp_parse.c and interp_eval.c, never
 * compiled alone: interp_on.c and interp_off.c (CFLAME_ENABLED=0) include
 * all three in that order as one translation unit each, so that the
 * instrumented and the compiled-out build are the same text, optimized
 * the same way.
 *
 * Language: int64 values (+ - * wrap; / and % by 0 give 0), statements
 *   fn f(a, b) { ... }   let x = e;   x = e;   while (e) { ... }
 *   if (e) { ... } else { ... }   return e;   print e;
 * expressions with == != < <= > >= + - * / % unary -, calls to user
 * functions and the builtins min, max, abs, mix, isqrt. */
#ifndef CFLAME_BENCH_INTERP_INT_H
#define CFLAME_BENCH_INTERP_INT_H

/* One frame prefix, interp::, for the three parts. */
#define CFLAME_TARGET "interp"
#include "cflame.h"

#include "interp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef INTERP_ENTRY
#define INTERP_ENTRY interp_round_on
#endif

#define MAX_SYMS 256
#define FRAME_SLOTS 32 /* power of two */
#define MAX_FRAMES 256
#define MAX_ARGS 8
#define NFUNCS 12 /* generated f0..f11, each may call one lower f */

typedef struct buf_s {
  char *p;
  size_t len, cap;
  int oom;
} buf_t;

enum { T_EOF, T_NUM, T_IDENT, T_FN, T_LET, T_WHILE, T_IF, T_ELSE, T_RETURN,
       T_PRINT, T_OP };
enum { OP_EQ = 256, OP_NE, OP_LE, OP_GE };
enum { K_NUM, K_VAR, K_BIN, K_NEG, K_CALL, K_LET, K_SET, K_WHILE, K_IF, K_RET,
       K_PRINT, K_BLOCK, K_FN };

typedef struct tok_s {
  int kind, op, sym;
  int64_t num;
} tok_t;

typedef struct node_s {
  int kind, op, sym, nargs;
  int64_t num;
  struct node_s *a, *b, *c, *next;
} node_t;

typedef struct parser_s {
  tok_t *toks;
  size_t ntok, pos;
  node_t *nodes;
  size_t nnodes, cap;
} parser_t;

typedef struct frame_s {
  int32_t keys[FRAME_SLOTS];
  int64_t vals[FRAME_SLOTS];
  int64_t ret;
} frame_t;

typedef struct interp_s {
  char *names[MAX_SYMS];
  int nsyms;
  int sym_min, sym_max, sym_abs, sym_mix, sym_isqrt;
  const node_t *fns[MAX_SYMS];
  frame_t *frames; /* [0] holds the globals */
  int depth;
  const char *err;
  interp_stats_t *st;
  uint64_t rng;
} interp_t;

static void fail(interp_t *it, const char *msg) {
  if (!it->err)
    it->err = msg;
}

#endif /* CFLAME_BENCH_INTERP_INT_H */
