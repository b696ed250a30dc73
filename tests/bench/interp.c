/* The language of cflame-bench-realistic (see interp.h), with CFLAME_FN in
 * nearly every function: tiny accessors run millions of times (env_get,
 * arith, tok_peek, buf_putc), recursion (eval_expr, parse_unary, fib in the
 * generated program) and a wide tree (four phases, dozens of functions).
 * interp_off.c includes this file with CFLAME_ENABLED=0 and another entry
 * name, so both builds come from this one text.
 *
 * Language: int64 values (+ - * wrap; / and % by 0 give 0), statements
 *   fn f(a, b) { ... }   let x = e;   x = e;   while (e) { ... }
 *   if (e) { ... } else { ... }   return e;   print e;
 * expressions with == != < <= > >= + - * / % unary -, calls to user
 * functions and the builtins min, max, abs, mix, isqrt. */
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

/* --- text buffers ----------------------------------------------------------- */

typedef struct buf_s {
  char *p;
  size_t len, cap;
  int oom;
} buf_t;

static int buf_room(buf_t *b, size_t more) {
  CFLAME_FN();
  if (b->len + more + 1 <= b->cap)
    return 1;
  size_t cap = b->cap ? b->cap : 4096;
  while (cap < b->len + more + 1)
    cap *= 2;
  char *p = realloc(b->p, cap);
  if (!p) {
    b->oom = 1;
    return 0;
  }
  b->p = p;
  b->cap = cap;
  return 1;
}

static void buf_putc(buf_t *b, char c) {
  if (b->len + 2 > b->cap && !buf_room(b, 1))
    return;
  b->p[b->len++] = c;
  b->p[b->len] = '\0';
}

static void buf_puts(buf_t *b, const char *s) {
  CFLAME_FN();
  size_t n = strlen(s);
  if (!buf_room(b, n))
    return;
  memcpy(b->p + b->len, s, n + 1);
  b->len += n;
}

static void buf_putint(buf_t *b, int64_t v) {
  CFLAME_FN();
  char tmp[24];
  snprintf(tmp, sizeof tmp, "%lld", (long long)v);
  buf_puts(b, tmp);
}

/* --- the interpreter's state ------------------------------------------------ */

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

/* --- generator: a deterministic program per seed --------------------------- */

static uint32_t rng_next(interp_t *it) {
  CFLAME_FN();
  it->rng = it->rng * 6364136223846793005u + 1442695040888963407u;
  return (uint32_t)(it->rng >> 33);
}

static void gen_expr(interp_t *it, buf_t *b, int depth, int fidx, int *called) {
  CFLAME_FN();
  static const char *const ops[] = {" + ", " - ", " * ", " / ", " % ",
                                    " < ", " == ", " + "};
  static const char *const builtins[] = {"min(", "max(", "mix("};
  uint32_t r = rng_next(it);
  if (depth == 0 || r % 5 == 0) {
    if (r % 3 == 0)
      buf_putint(b, (int64_t)(r >> 8) % 100);
    else
      buf_puts(b, r % 3 == 1 ? "x" : "y");
    return;
  }
  switch ((r >> 4) % 8) {
  case 5:
    buf_puts(b, builtins[(r >> 8) % 3]);
    gen_expr(it, b, depth - 1, fidx, called);
    buf_puts(b, ", ");
    gen_expr(it, b, depth - 1, fidx, called);
    buf_putc(b, ')');
    return;
  case 6:
    buf_puts(b, (r >> 8) % 3 == 0 ? "abs(" : (r >> 8) % 3 == 1 ? "-(" : "isqrt(");
    gen_expr(it, b, depth - 1, fidx, called);
    buf_putc(b, ')');
    return;
  case 7:
    if (fidx > 0 && !*called) {
      *called = 1;
      buf_putc(b, 'f');
      buf_putint(b, (int64_t)((r >> 8) % (uint32_t)fidx));
      buf_putc(b, '(');
      gen_expr(it, b, depth - 1, fidx, called);
      buf_puts(b, ", ");
      gen_expr(it, b, depth - 1, fidx, called);
      buf_putc(b, ')');
      return;
    }
    /* fall through */
  default:
    buf_putc(b, '(');
    gen_expr(it, b, depth - 1, fidx, called);
    buf_puts(b, ops[(r >> 8) % 8]);
    gen_expr(it, b, depth - 1, fidx, called);
    buf_putc(b, ')');
  }
}

static void gen_fn(interp_t *it, buf_t *b, int k) {
  CFLAME_FN();
  int called = 0;
  buf_puts(b, "fn f");
  buf_putint(b, k);
  buf_puts(b, "(x, y) {\n  let t = ");
  gen_expr(it, b, 5, k, &called);
  buf_puts(b, ";\n  if (t < 0) { t = -t; }\n  return t % 100000 + ");
  gen_expr(it, b, 3, k, &called);
  buf_puts(b, ";\n}\n");
}

static void gen_program(interp_t *it, buf_t *b, int iters) {
  CFLAME_FN();
  buf_puts(b, "fn fib(n) { if (n < 2) { return n; } "
              "return fib(n - 1) + fib(n - 2); }\n"
              "fn gcd(a, b) { while (b != 0) { let t = a % b; a = b; b = t; } "
              "return a; }\n"
              "fn collatz(n) {\n  let s = 0;\n  while (n > 1) {\n"
              "    if (n % 2 == 0) { n = n / 2; } else { n = 3 * n + 1; }\n"
              "    s = s + 1;\n  }\n  return s;\n}\n");
  for (int k = 0; k < NFUNCS; k++)
    gen_fn(it, b, k);
  buf_puts(b, "let i = 0;\nlet acc = 0;\nwhile (i < ");
  buf_putint(b, iters);
  buf_puts(b, ") {\n  acc = mix(acc, f");
  buf_putint(b, NFUNCS - 1);
  buf_puts(b, "(i, acc % 1000));\n"
              "  acc = acc + fib(9) + gcd(i * 7 + 3, 1071) + "
              "collatz(i % 97 + 1);\n"
              "  if (i % 64 == 0) { print acc; }\n  i = i + 1;\n}\n"
              "print acc;\n");
}

/* --- symbols and tokens ----------------------------------------------------- */

static uint32_t sym_hash(const char *s, size_t n) {
  CFLAME_FN();
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < n; i++)
    h = (h ^ (unsigned char)s[i]) * 16777619u;
  return h;
}

/* Names live in an open-addressing table indexed by their hash. */
static int sym_intern(interp_t *it, const char *s, size_t n) {
  CFLAME_FN();
  uint32_t i = sym_hash(s, n) % MAX_SYMS;
  for (int probes = 0; probes < MAX_SYMS; probes++, i = (i + 1) % MAX_SYMS) {
    if (!it->names[i]) {
      it->names[i] = malloc(n + 1);
      if (!it->names[i]) {
        fail(it, "out of memory");
        return 0;
      }
      memcpy(it->names[i], s, n);
      it->names[i][n] = '\0';
      it->nsyms++;
      return (int)i;
    }
    if (strlen(it->names[i]) == n && !memcmp(it->names[i], s, n))
      return (int)i;
  }
  fail(it, "too many names");
  return 0;
}

static int lex_is_digit(char c) {
  return c >= '0' && c <= '9';
}

static int lex_is_ident(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
         lex_is_digit(c);
}

static const char *lex_skip_space(const char *s) {
  CFLAME_FN();
  while (*s == ' ' || *s == '\n' || *s == '\t')
    s++;
  return s;
}

static const char *lex_number(const char *s, tok_t *t) {
  CFLAME_FN();
  t->kind = T_NUM;
  t->num = 0;
  while (lex_is_digit(*s))
    t->num = t->num * 10 + (*s++ - '0');
  return s;
}

static const char *lex_word(interp_t *it, const char *s, tok_t *t) {
  CFLAME_FN();
  static const struct { const char *w; int kind; } kws[] = {
      {"fn", T_FN},         {"let", T_LET},       {"while", T_WHILE},
      {"if", T_IF},         {"else", T_ELSE},     {"return", T_RETURN},
      {"print", T_PRINT}};
  const char *e = s;
  while (lex_is_ident(*e))
    e++;
  size_t n = (size_t)(e - s);
  for (size_t k = 0; k < sizeof kws / sizeof kws[0]; k++)
    if (strlen(kws[k].w) == n && !memcmp(kws[k].w, s, n)) {
      t->kind = kws[k].kind;
      return e;
    }
  t->kind = T_IDENT;
  t->sym = sym_intern(it, s, n);
  return e;
}

static const char *lex_op(interp_t *it, const char *s, tok_t *t) {
  CFLAME_FN();
  static const struct { char a, b; int op; } two[] = {
      {'=', '=', OP_EQ}, {'!', '=', OP_NE}, {'<', '=', OP_LE}, {'>', '=', OP_GE}};
  t->kind = T_OP;
  for (size_t k = 0; k < sizeof two / sizeof two[0]; k++)
    if (s[0] == two[k].a && s[1] == two[k].b) {
      t->op = two[k].op;
      return s + 2;
    }
  if (!strchr("(){},;=+-*/%<>", *s))
    fail(it, "bad character");
  t->op = (unsigned char)*s;
  return s + 1;
}

/* The whole text into p->toks (one token per byte at most, plus EOF). */
static int lex_all(interp_t *it, parser_t *p, const char *src, size_t len) {
  CFLAME_FN();
  p->toks = malloc((len + 1) * sizeof *p->toks);
  if (!p->toks)
    return -1;
  p->ntok = p->pos = 0;
  for (const char *s = lex_skip_space(src); *s && !it->err;
       s = lex_skip_space(s)) {
    tok_t *t = &p->toks[p->ntok++];
    memset(t, 0, sizeof *t);
    if (lex_is_digit(*s))
      s = lex_number(s, t);
    else if (lex_is_ident(*s))
      s = lex_word(it, s, t);
    else
      s = lex_op(it, s, t);
  }
  memset(&p->toks[p->ntok], 0, sizeof *p->toks);
  p->toks[p->ntok].kind = T_EOF;
  it->st->tokens += p->ntok;
  return it->err ? -1 : 0;
}

/* --- parser: tokens -> tree ------------------------------------------------- */

static const tok_t *tok_peek(const parser_t *p) {
  CFLAME_FN();
  return &p->toks[p->pos];
}

static int tok_accept(parser_t *p, int kind, int op) {
  CFLAME_FN();
  const tok_t *t = tok_peek(p);
  if (t->kind != kind || (kind == T_OP && t->op != op))
    return 0;
  p->pos++;
  return 1;
}

static void tok_expect(interp_t *it, parser_t *p, int kind, int op) {
  CFLAME_FN();
  if (!tok_accept(p, kind, op))
    fail(it, "syntax error");
}

static node_t *node_new(interp_t *it, parser_t *p, int kind) {
  CFLAME_FN();
  if (p->nnodes == p->cap) { /* every node takes a token: never here */
    fail(it, "too many nodes");
    p->nnodes = 0;
  }
  node_t *n = &p->nodes[p->nnodes++];
  memset(n, 0, sizeof *n);
  n->kind = kind;
  it->st->nodes++;
  return n;
}

static node_t *parse_expr(interp_t *it, parser_t *p);

/* "(a, b, ...)" after a name; the arguments are linked by next. */
static node_t *parse_args(interp_t *it, parser_t *p, int *nargs) {
  CFLAME_FN();
  node_t *first = NULL, **tail = &first;
  *nargs = 0;
  if (!tok_accept(p, T_OP, ')')) {
    do {
      *tail = parse_expr(it, p);
      tail = &(*tail)->next;
      ++*nargs;
    } while (!it->err && tok_accept(p, T_OP, ','));
    tok_expect(it, p, T_OP, ')');
  }
  return first;
}

static node_t *parse_primary(interp_t *it, parser_t *p) {
  CFLAME_FN();
  const tok_t *t = tok_peek(p);
  node_t *n;
  if (tok_accept(p, T_NUM, 0)) {
    n = node_new(it, p, K_NUM);
    n->num = t->num;
  } else if (tok_accept(p, T_IDENT, 0)) {
    n = node_new(it, p, K_VAR);
    n->sym = t->sym;
    if (tok_accept(p, T_OP, '(')) {
      n->kind = K_CALL;
      n->a = parse_args(it, p, &n->nargs);
    }
  } else if (tok_accept(p, T_OP, '(')) {
    n = parse_expr(it, p);
    tok_expect(it, p, T_OP, ')');
  } else {
    fail(it, "expected an expression");
    n = node_new(it, p, K_NUM);
  }
  return n;
}

static node_t *parse_unary(interp_t *it, parser_t *p) {
  CFLAME_FN();
  if (!it->err && tok_accept(p, T_OP, '-')) {
    node_t *n = node_new(it, p, K_NEG);
    n->a = parse_unary(it, p);
    return n;
  }
  return parse_primary(it, p);
}

static node_t *binary(interp_t *it, parser_t *p, int op, node_t *a, node_t *b) {
  CFLAME_FN();
  node_t *n = node_new(it, p, K_BIN);
  n->op = op;
  n->a = a;
  n->b = b;
  return n;
}

/* Which of ops[] the next token is (and takes it), or 0. */
static int take_op(parser_t *p, const int *ops) {
  CFLAME_FN();
  for (; *ops; ops++)
    if (tok_accept(p, T_OP, *ops))
      return *ops;
  return 0;
}

static node_t *parse_term(interp_t *it, parser_t *p) {
  CFLAME_FN();
  static const int ops[] = {'*', '/', '%', 0};
  node_t *n = parse_unary(it, p);
  for (int op; !it->err && (op = take_op(p, ops)) != 0;)
    n = binary(it, p, op, n, parse_unary(it, p));
  return n;
}

static node_t *parse_sum(interp_t *it, parser_t *p) {
  CFLAME_FN();
  static const int ops[] = {'+', '-', 0};
  node_t *n = parse_term(it, p);
  for (int op; !it->err && (op = take_op(p, ops)) != 0;)
    n = binary(it, p, op, n, parse_term(it, p));
  return n;
}

static node_t *parse_expr(interp_t *it, parser_t *p) {
  CFLAME_FN();
  static const int ops[] = {OP_EQ, OP_NE, OP_LE, OP_GE, '<', '>', 0};
  node_t *n = parse_sum(it, p);
  int op = it->err ? 0 : take_op(p, ops);
  return op ? binary(it, p, op, n, parse_sum(it, p)) : n;
}

static node_t *parse_stmt(interp_t *it, parser_t *p);

static node_t *parse_block(interp_t *it, parser_t *p) {
  CFLAME_FN();
  node_t *n = node_new(it, p, K_BLOCK), **tail = &n->a;
  tok_expect(it, p, T_OP, '{');
  while (!it->err && !tok_accept(p, T_OP, '}')) {
    *tail = parse_stmt(it, p);
    tail = &(*tail)->next;
  }
  return n;
}

static node_t *parse_stmt(interp_t *it, parser_t *p) {
  CFLAME_FN();
  const tok_t *t = tok_peek(p);
  node_t *n;
  if (tok_accept(p, T_WHILE, 0) || tok_accept(p, T_IF, 0)) {
    n = node_new(it, p, t->kind == T_WHILE ? K_WHILE : K_IF);
    tok_expect(it, p, T_OP, '(');
    n->a = parse_expr(it, p);
    tok_expect(it, p, T_OP, ')');
    n->b = parse_block(it, p);
    if (n->kind == K_IF && tok_accept(p, T_ELSE, 0))
      n->c = parse_block(it, p);
    return n;
  }
  if (tok_accept(p, T_LET, 0) || tok_accept(p, T_IDENT, 0)) {
    n = node_new(it, p, t->kind == T_LET ? K_LET : K_SET);
    if (t->kind == T_LET) {
      n->sym = tok_peek(p)->sym;
      tok_expect(it, p, T_IDENT, 0);
    } else {
      n->sym = t->sym;
    }
    tok_expect(it, p, T_OP, '=');
  } else if (tok_accept(p, T_RETURN, 0) || tok_accept(p, T_PRINT, 0)) {
    n = node_new(it, p, t->kind == T_RETURN ? K_RET : K_PRINT);
  } else {
    fail(it, "expected a statement");
    return node_new(it, p, K_PRINT);
  }
  n->a = parse_expr(it, p);
  tok_expect(it, p, T_OP, ';');
  return n;
}

static node_t *parse_fn(interp_t *it, parser_t *p) {
  CFLAME_FN();
  node_t *n = node_new(it, p, K_FN);
  n->sym = tok_peek(p)->sym;
  tok_expect(it, p, T_IDENT, 0);
  tok_expect(it, p, T_OP, '(');
  n->a = parse_args(it, p, &n->nargs);
  for (node_t *a = n->a; a; a = a->next)
    if (a->kind != K_VAR)
      fail(it, "a parameter must be a name");
  n->b = parse_block(it, p);
  return n;
}

/* Items linked by next; NULL on error. */
static node_t *parse_program(interp_t *it, parser_t *p) {
  CFLAME_FN();
  node_t *first = NULL, **tail = &first;
  p->cap = p->ntok + 1;
  p->nnodes = 0;
  p->nodes = malloc(p->cap * sizeof *p->nodes);
  if (!p->nodes)
    return NULL;
  while (!it->err && tok_peek(p)->kind != T_EOF) {
    *tail = tok_accept(p, T_FN, 0) ? parse_fn(it, p) : parse_stmt(it, p);
    tail = &(*tail)->next;
  }
  return it->err ? NULL : first;
}

/* --- pretty-printer: tree -> canonical text ----------------------------------- */

static const char *op_text(int op) {
  static char one[2];
  switch (op) {
  case OP_EQ: return "==";
  case OP_NE: return "!=";
  case OP_LE: return "<=";
  case OP_GE: return ">=";
  default:
    one[0] = (char)op;
    return one;
  }
}

static void pp_expr(interp_t *it, buf_t *b, const node_t *n) {
  CFLAME_FN();
  switch (n->kind) {
  case K_NUM:
    buf_putint(b, n->num);
    break;
  case K_VAR:
    buf_puts(b, it->names[n->sym]);
    break;
  case K_NEG:
    buf_puts(b, "-(");
    pp_expr(it, b, n->a);
    buf_putc(b, ')');
    break;
  case K_CALL:
    buf_puts(b, it->names[n->sym]);
    buf_putc(b, '(');
    for (const node_t *a = n->a; a; a = a->next) {
      pp_expr(it, b, a);
      if (a->next)
        buf_puts(b, ", ");
    }
    buf_putc(b, ')');
    break;
  default:
    buf_putc(b, '(');
    pp_expr(it, b, n->a);
    buf_putc(b, ' ');
    buf_puts(b, op_text(n->op));
    buf_putc(b, ' ');
    pp_expr(it, b, n->b);
    buf_putc(b, ')');
  }
}

static void pp_indent(buf_t *b, int depth) {
  CFLAME_FN();
  for (int i = 0; i < depth; i++)
    buf_puts(b, "  ");
}

static void pp_stmt(interp_t *it, buf_t *b, const node_t *n, int depth);

static void pp_block(interp_t *it, buf_t *b, const node_t *n, int depth) {
  CFLAME_FN();
  buf_puts(b, "{\n");
  for (const node_t *s = n->a; s; s = s->next)
    pp_stmt(it, b, s, depth + 1);
  pp_indent(b, depth);
  buf_putc(b, '}');
}

static void pp_stmt(interp_t *it, buf_t *b, const node_t *n, int depth) {
  CFLAME_FN();
  static const char *const head[] = {[K_LET] = "let ", [K_SET] = "",
                                     [K_RET] = "return ", [K_PRINT] = "print "};
  pp_indent(b, depth);
  if (n->kind == K_WHILE || n->kind == K_IF) {
    buf_puts(b, n->kind == K_WHILE ? "while (" : "if (");
    pp_expr(it, b, n->a);
    buf_puts(b, ") ");
    pp_block(it, b, n->b, depth);
    if (n->c) {
      buf_puts(b, " else ");
      pp_block(it, b, n->c, depth);
    }
  } else {
    buf_puts(b, head[n->kind]);
    if (n->kind == K_LET || n->kind == K_SET) {
      buf_puts(b, it->names[n->sym]);
      buf_puts(b, " = ");
    }
    pp_expr(it, b, n->a);
    buf_putc(b, ';');
  }
  buf_putc(b, '\n');
}

static void pp_program(interp_t *it, buf_t *b, const node_t *prog) {
  CFLAME_FN();
  for (const node_t *n = prog; n; n = n->next) {
    if (n->kind != K_FN) {
      pp_stmt(it, b, n, 0);
      continue;
    }
    buf_puts(b, "fn ");
    buf_puts(b, it->names[n->sym]);
    buf_putc(b, '(');
    for (const node_t *a = n->a; a; a = a->next) {
      buf_puts(b, it->names[a->sym]);
      if (a->next)
        buf_puts(b, ", ");
    }
    buf_puts(b, ") ");
    pp_block(it, b, n->b, 0);
    buf_putc(b, '\n');
  }
}

/* --- evaluator: variables in per-call hash tables ---------------------------- */

static uint32_t env_hash(int sym) {
  return ((uint32_t)sym * 2654435761u) >> 27; /* 5 bits: FRAME_SLOTS */
}

/* The slot of sym in f, or where it would go (key -1) if absent. */
static int env_slot(frame_t *f, int sym) {
  uint32_t i = env_hash(sym);
  for (int probes = 0; probes < FRAME_SLOTS; probes++) {
    if (f->keys[i] == sym || f->keys[i] == -1)
      return (int)i;
    i = (i + 1) & (FRAME_SLOTS - 1);
  }
  return -1;
}

static int64_t env_get(interp_t *it, int sym) {
  CFLAME_FN();
  frame_t *f = &it->frames[it->depth];
  int i = env_slot(f, sym);
  if (i < 0 || f->keys[i] != sym) {
    f = &it->frames[0];
    i = env_slot(f, sym);
  }
  if (i < 0 || f->keys[i] != sym) {
    fail(it, "undefined variable");
    return 0;
  }
  return f->vals[i];
}

/* let defines in the current call; = assigns where the name lives. */
static void env_set(interp_t *it, int sym, int64_t v, int define) {
  CFLAME_FN();
  frame_t *f = &it->frames[it->depth];
  int i = env_slot(f, sym);
  if (!define && (i < 0 || f->keys[i] != sym)) {
    frame_t *g = &it->frames[0];
    int j = env_slot(g, sym);
    if (j >= 0 && g->keys[j] == sym) {
      f = g;
      i = j;
    }
  }
  if (i < 0) {
    fail(it, "too many variables");
    return;
  }
  f->keys[i] = sym;
  f->vals[i] = v;
}

static frame_t *frame_push(interp_t *it) {
  CFLAME_FN();
  if (it->depth + 1 >= MAX_FRAMES) {
    fail(it, "calls nested too deep");
    return NULL;
  }
  frame_t *f = &it->frames[++it->depth];
  memset(f->keys, 0xff, sizeof f->keys);
  return f;
}

static void frame_pop(interp_t *it) {
  CFLAME_FN();
  it->depth--;
}

static int is_true(int64_t v) {
  return v != 0;
}

static int64_t arith(int op, int64_t a, int64_t b) {
  CFLAME_FN();
  uint64_t x = (uint64_t)a, y = (uint64_t)b;
  switch (op) {
  case '+': return (int64_t)(x + y);
  case '-': return (int64_t)(x - y);
  case '*': return (int64_t)(x * y);
  case '/': return b == 0 ? 0 : b == -1 ? (int64_t)(0 - x) : a / b;
  case '%': return b == 0 || b == -1 ? 0 : a % b;
  case '<': return a < b;
  case '>': return a > b;
  case OP_EQ: return a == b;
  case OP_NE: return a != b;
  case OP_LE: return a <= b;
  case OP_GE: return a >= b;
  default: return 0;
  }
}

static int64_t eval_expr(interp_t *it, const node_t *n);
static int eval_block(interp_t *it, const node_t *n);

static int64_t eval_binop(interp_t *it, const node_t *n) {
  CFLAME_FN();
  int64_t a = eval_expr(it, n->a);
  return arith(n->op, a, eval_expr(it, n->b));
}

/* Square root of |v| rounded down, a bit at a time (a mid-sized builtin). */
static int64_t isqrt(int64_t v) {
  CFLAME_FN();
  uint64_t x = v < 0 ? 0 - (uint64_t)v : (uint64_t)v, r = 0;
  for (uint64_t bit = (uint64_t)1 << 62; bit; bit >>= 2) {
    if (x >= r + bit) {
      x -= r + bit;
      r = (r >> 1) + bit;
    } else {
      r >>= 1;
    }
  }
  return (int64_t)r;
}

static int64_t eval_builtin(interp_t *it, int sym, const int64_t *v, int n) {
  CFLAME_FN();
  if (sym == it->sym_abs && n == 1)
    return v[0] < 0 ? (int64_t)(0 - (uint64_t)v[0]) : v[0];
  if (sym == it->sym_isqrt && n == 1)
    return isqrt(v[0]);
  if (n != 2)
    fail(it, "wrong number of arguments");
  else if (sym == it->sym_min)
    return v[0] < v[1] ? v[0] : v[1];
  else if (sym == it->sym_max)
    return v[0] > v[1] ? v[0] : v[1];
  else if (sym == it->sym_mix)
    return (int64_t)((((uint64_t)v[0] ^ (uint64_t)v[1]) * 0x100000001b3u) >> 16);
  else
    fail(it, "undefined function");
  return 0;
}

static int64_t eval_call(interp_t *it, const node_t *n) {
  CFLAME_FN();
  int64_t v[MAX_ARGS];
  int k = 0;
  it->st->calls++;
  for (const node_t *a = n->a; a && k < MAX_ARGS; a = a->next)
    v[k++] = eval_expr(it, a);
  const node_t *fn = it->fns[n->sym];
  if (!fn)
    return eval_builtin(it, n->sym, v, k);
  if (fn->nargs != k || !frame_push(it)) {
    fail(it, "bad call");
    return 0;
  }
  k = 0;
  for (const node_t *a = fn->a; a; a = a->next)
    env_set(it, a->sym, v[k++], 1);
  int64_t r = eval_block(it, fn->b) ? it->frames[it->depth].ret : 0;
  frame_pop(it);
  return r;
}

static int64_t eval_expr(interp_t *it, const node_t *n) {
  CFLAME_FN();
  if (it->err)
    return 0;
  switch (n->kind) {
  case K_NUM: return n->num;
  case K_VAR: return env_get(it, n->sym);
  case K_NEG: return (int64_t)(0 - (uint64_t)eval_expr(it, n->a));
  case K_CALL: return eval_call(it, n);
  default: return eval_binop(it, n);
  }
}

static void eval_print(interp_t *it, int64_t v) {
  CFLAME_FN();
  it->st->checksum = (it->st->checksum ^ (uint64_t)v) * 0x100000001b3u;
}

/* 1 when a return ran (value in the frame), else 0. */
static int eval_stmt(interp_t *it, const node_t *n) {
  CFLAME_FN();
  switch (n->kind) {
  case K_LET:
  case K_SET:
    env_set(it, n->sym, eval_expr(it, n->a), n->kind == K_LET);
    return 0;
  case K_WHILE:
    while (!it->err && is_true(eval_expr(it, n->a)))
      if (eval_block(it, n->b))
        return 1;
    return 0;
  case K_IF:
    if (is_true(eval_expr(it, n->a)))
      return eval_block(it, n->b);
    return n->c ? eval_block(it, n->c) : 0;
  case K_RET:
    it->frames[it->depth].ret = eval_expr(it, n->a);
    return 1;
  default:
    eval_print(it, eval_expr(it, n->a));
    return 0;
  }
}

static int eval_block(interp_t *it, const node_t *n) {
  CFLAME_FN();
  for (const node_t *s = n->a; s && !it->err; s = s->next)
    if (eval_stmt(it, s))
      return 1;
  return 0;
}

static void eval_program(interp_t *it, const node_t *prog) {
  CFLAME_FN();
  memset(it->frames[0].keys, 0xff, sizeof it->frames[0].keys);
  it->depth = 0;
  for (const node_t *n = prog; n; n = n->next)
    if (n->kind == K_FN)
      it->fns[n->sym] = n;
  for (const node_t *n = prog; n && !it->err; n = n->next)
    if (n->kind != K_FN && eval_stmt(it, n))
      break;
}

/* --- one round --------------------------------------------------------------- */

static void parser_free(parser_t *p) {
  free(p->toks);
  free(p->nodes);
}

/* Source text -> tree -> printed text. */
static node_t *front(interp_t *it, parser_t *p, const char *src, size_t len,
                     buf_t *out) {
  CFLAME_FN();
  node_t *prog = NULL;
  CFLAME_SPAN(lex, "lex");
  int rc = lex_all(it, p, src, len);
  CFLAME_SPAN_END(lex);
  if (rc == 0) {
    CFLAME_SPAN(parse, "parse");
    prog = parse_program(it, p);
    CFLAME_SPAN_END(parse);
  }
  if (prog) {
    CFLAME_SPAN(pp, "pretty_print");
    pp_program(it, out, prog);
    CFLAME_SPAN_END(pp);
  }
  return prog;
}

int INTERP_ENTRY(uint32_t seed, int iters, interp_stats_t *st) {
  CFLAME_FN();
  interp_t *it = calloc(1, sizeof *it);
  buf_t src = {0}, text1 = {0}, text2 = {0};
  parser_t p1 = {0}, p2 = {0};
  int rc = -1;
  memset(st, 0, sizeof *st);
  if (!it)
    return -1;
  it->st = st;
  it->rng = seed * 0x9e3779b97f4a7c15u + 1;
  it->frames = calloc(MAX_FRAMES, sizeof *it->frames);
  if (!it->frames)
    goto out;
  CFLAME_SPAN(gen, "generate");
  gen_program(it, &src, iters);
  CFLAME_SPAN_END(gen);
  st->bytes = src.len;
  if (src.oom)
    goto out;
  it->sym_min = sym_intern(it, "min", 3);
  it->sym_max = sym_intern(it, "max", 3);
  it->sym_abs = sym_intern(it, "abs", 3);
  it->sym_mix = sym_intern(it, "mix", 3);
  it->sym_isqrt = sym_intern(it, "isqrt", 5);
  node_t *prog = front(it, &p1, src.p, src.len, &text1);
  if (!prog || text1.oom)
    goto out;
  CFLAME_SPAN(re, "reparse");
  node_t *prog2 = front(it, &p2, text1.p, text1.len, &text2);
  CFLAME_SPAN_END(re);
  if (!prog2 || text2.oom)
    goto out;
  if (text1.len != text2.len || memcmp(text1.p, text2.p, text1.len) != 0) {
    fail(it, "printed program does not print the same after parsing");
    goto out;
  }
  CFLAME_SPAN(ev, "evaluate");
  eval_program(it, prog2);
  CFLAME_SPAN_END(ev);
  rc = it->err ? -1 : 0;
out:
  if (it->err)
    fprintf(stderr, "interp: seed %u: %s\n", (unsigned)seed, it->err);
  else if (rc != 0)
    fprintf(stderr, "interp: seed %u: out of memory\n", (unsigned)seed);
  parser_free(&p1);
  parser_free(&p2);
  free(src.p);
  free(text1.p);
  free(text2.p);
  for (int i = 0; i < MAX_SYMS; i++)
    free(it->names[i]);
  free(it->frames);
  free(it);
  return rc;
}
