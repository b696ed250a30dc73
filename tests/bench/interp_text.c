/* Part of the interpreter of cflame-bench-realistic (see interp_int.h):
 * text buffers, the program generator, symbols and the tokenizer. */
#include "interp_int.h"

/* --- text buffers ----------------------------------------------------------- */

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
