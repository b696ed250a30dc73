/* Part of the interpreter of cflame-bench-realistic (see interp_int.h):
 * the recursive-descent parser and the pretty-printer. */
#include "interp_int.h"

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
