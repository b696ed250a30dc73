/* Part of the interpreter of cflame-bench-realistic (see interp_int.h):
 * the tree-walking evaluator and one round of the whole pipeline. */
#include "interp_int.h"

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
