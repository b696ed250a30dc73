/* The flame sink on one thread: exact folded output under an injected clock,
 * both modes, every option combination, repairs of misuse, setup errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <cflame.h>
#include <cflame/sink.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "folded_check.h"
#include "testutil.h"

static memout_t out;
static errlog_t errs;
static cflame_guard_t *guard;

static int setup(void **state) {
  (void)state;
  memset(&out, 0, sizeof out);
  memset(&errs, 0, sizeof errs);
  cflame_on_error(errlog_fn, &errs);
  tclock_install(1000);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  (void)cflame_guard_drop(guard);
  guard = NULL;
  (void)cflame_thread_name("main");
  memout_free(&out);
  cflame_on_error(NULL, NULL);
  (void)cflame_clock_set(NULL, NULL);
  return 0;
}

static void install(const cflame_flame_opts_t *o) {
  assert_int_equal(cflame_flame_writer(memout_write, &out, o, &guard), 0);
}

static void drop_and_check(unsigned flags) {
  assert_int_equal(cflame_guard_drop(guard), 0);
  guard = NULL;
  folded_check_error_t e;
  if (folded_check(out.buf, out.len, flags, &e, NULL, NULL) != 0)
    fail_msg("rule %d line %zu: %s\n%s", e.rule, e.line, e.msg,
             memout_str(&out));
}

/* --- the reference script ---------------------------------------------- */

static int line_parse, line_lex, line_emit, line_tail;

/* 1000: enter parse (+10) enter lex (+5) exit lex (+3) exit parse (+7)
 * enter emit (+4) exit emit (+2) enter tail (+1) exit tail. */
static void script(void) {
  line_parse = __LINE__; CFLAME_SPAN(parse, "parse");
  tclock_ns += 10;
  line_lex = __LINE__; CFLAME_SPAN(lex, "lex");
  tclock_ns += 5;
  CFLAME_SPAN_END(lex);
  tclock_ns += 3;
  CFLAME_SPAN_END(parse);
  tclock_ns += 7;
  line_emit = __LINE__; CFLAME_SPAN(emit, "emit");
  tclock_ns += 4;
  CFLAME_SPAN_END(emit);
  tclock_ns += 2;
  line_tail = __LINE__; CFLAME_SPAN(tail, "tail");
  tclock_ns += 1;
  CFLAME_SPAN_END(tail);
}

/* The frame text the options ask for, built independently of the sink. */
static const char *frame(const cflame_flame_opts_t *o, const char *name,
                         int line) {
  static char buf[8][128];
  static int next;
  char *b = buf[next++ % 8];
  snprintf(b, 128, "%s%s", o->module_path ? "test_flame::" : "", name);
  if (o->file_and_line)
    snprintf(b + strlen(b), 128 - strlen(b), ":test_flame.c:%d", line);
  return b;
}

static void expect_aggregate(const cflame_flame_opts_t *o, char *exp,
                             size_t cap) {
  const char *root = o->threads_collapsed ? "all-threads" : "main";
  const char *fe = frame(o, "emit", line_emit);
  const char *fp = frame(o, "parse", line_parse);
  const char *fl = frame(o, "lex", line_lex);
  const char *ft = frame(o, "tail", line_tail);
  /* Lines sorted bytewise by stack; module names sort the same as bare. */
  snprintf(exp, cap, "%s%s%s;%s 4\n%s;%s 13\n%s;%s;%s 5\n%s;%s 1\n",
           o->empty_samples ? root : "", o->empty_samples ? " 9\n" : "",
           root, fe, root, fp, root, fp, fl, root, ft);
}

static void expect_stream(const cflame_flame_opts_t *o, char *exp,
                          size_t cap) {
  const char *root = o->threads_collapsed ? "all-threads" : "main";
  const char *fe = frame(o, "emit", line_emit);
  const char *fp = frame(o, "parse", line_parse);
  const char *fl = frame(o, "lex", line_lex);
  const char *ft = frame(o, "tail", line_tail);
  char r7[64] = "", r2[64] = "";
  if (o->empty_samples) {
    snprintf(r7, sizeof r7, "%s 7\n", root);
    snprintf(r2, sizeof r2, "%s 2\n", root);
  }
  snprintf(exp, cap,
           "%s;%s 10\n%s;%s;%s 5\n%s;%s 3\n%s%s;%s 4\n%s%s;%s 1\n", root,
           fp, root, fp, fl, root, fp, r7, root, fe, r2, root, ft);
}

static void run_combo(cflame_flame_mode_t mode, unsigned bits) {
  cflame_flame_opts_t o = cflame_flame_opts_default();
  o.mode = mode;
  o.empty_samples = bits & 1;
  o.threads_collapsed = (bits >> 1) & 1;
  o.module_path = (bits >> 2) & 1;
  o.file_and_line = (bits >> 3) & 1;
  memout_free(&out);
  tclock_ns = 1000;
  install(&o);
  script();
  drop_and_check(mode == CFLAME_FLAME_AGGREGATE ? FOLDED_CHECK_SORTED : 0);
  char exp[1024];
  if (mode == CFLAME_FLAME_AGGREGATE)
    expect_aggregate(&o, exp, sizeof exp);
  else
    expect_stream(&o, exp, sizeof exp);
  if (strcmp(memout_str(&out), exp) != 0)
    fail_msg("mode %d options %u:\n--- got\n%s--- expected\n%s", mode, bits,
             memout_str(&out), exp);
}

static void test_flame_aggregate_every_option(void **state) {
  (void)state;
  for (unsigned bits = 0; bits < 16; bits++)
    run_combo(CFLAME_FLAME_AGGREGATE, bits);
}

static void test_flame_stream_every_option(void **state) {
  (void)state;
  for (unsigned bits = 0; bits < 16; bits++)
    run_combo(CFLAME_FLAME_STREAM, bits);
}

static void test_flame_defaults_exact(void **state) {
  (void)state;
  install(NULL);
  script();
  drop_and_check(FOLDED_CHECK_SORTED);
  assert_string_equal(memout_str(&out), "main 9\n"
                                        "main;test_flame::emit 4\n"
                                        "main;test_flame::parse 13\n"
                                        "main;test_flame::parse;test_flame::lex 5\n"
                                        "main;test_flame::tail 1\n");
}

/* --- both modes give the same sums --------------------------------------- */

typedef struct sum_s {
  char stack[256];
  unsigned long long n;
} sum_t;

static size_t sums_of(const char *text, sum_t *s, size_t max) {
  size_t k = 0;
  const char *p = text;
  while (*p) {
    const char *nl = strchr(p, '\n');
    const char *sp = nl;
    while (sp > p && sp[-1] != ' ')
      sp--;
    size_t len = (size_t)(sp - 1 - p);
    unsigned long long v = strtoull(sp, NULL, 10);
    size_t i;
    for (i = 0; i < k; i++)
      if (strlen(s[i].stack) == len && !memcmp(s[i].stack, p, len))
        break;
    if (i == k) {
      if (!(k < max && len < sizeof s[0].stack))
        fail_msg("k=%zu len=%zu: %.*s", k, len, (int)len, p);
      memcpy(s[k].stack, p, len);
      s[k].stack[len] = '\0';
      s[k++].n = 0;
    }
    s[i].n += v;
    p = nl + 1;
  }
  return k;
}

static int sum_cmp(const void *a, const void *b) {
  return strcmp(((const sum_t *)a)->stack, ((const sum_t *)b)->stack);
}

/* A pseudo-random walk of nested spans over 6 callsites. */
static void random_script(unsigned seed) {
  cflame_token_t toks[16];
  int depth = 0;
  for (int step = 0; step < 5000; step++) {
    seed = seed * 1103515245u + 12345u;
    unsigned r = seed >> 16;
    if (step > 0)
      tclock_ns += r % 7; /* zero-length slices included */
    if (depth < 16 && (depth == 0 || r % 3 != 0)) {
      switch (r % 6) {
      case 0: { CFLAME_SPAN(t, "a"); toks[depth++] = t; break; }
      case 1: { CFLAME_SPAN(t, "b"); toks[depth++] = t; break; }
      case 2: { CFLAME_SPAN(t, "c"); toks[depth++] = t; break; }
      case 3: { CFLAME_SPAN(t, "d"); toks[depth++] = t; break; }
      case 4: { CFLAME_SPAN(t, "e e"); toks[depth++] = t; break; }
      default: { CFLAME_SPAN(t, "f;g"); toks[depth++] = t; break; }
      }
    } else {
      CFLAME_SPAN_END(toks[--depth]);
    }
  }
  while (depth > 0)
    CFLAME_SPAN_END(toks[--depth]);
}

static void test_flame_modes_equal_sums(void **state) {
  (void)state;
  static sum_t agg[4096], str[4096];
  size_t na = 0, ns = 0;
  for (int mode = 0; mode < 2; mode++) {
    cflame_flame_opts_t o = cflame_flame_opts_default();
    o.mode = mode ? CFLAME_FLAME_STREAM : CFLAME_FLAME_AGGREGATE;
    o.stream_records = 64; /* force many ring drains */
    memout_free(&out);
    tclock_ns = 5000;
    install(&o);
    random_script(42);
    drop_and_check(mode ? 0 : FOLDED_CHECK_SORTED);
    if (mode)
      ns = sums_of(memout_str(&out), str, 4096);
    else
      na = sums_of(memout_str(&out), agg, 4096);
  }
  qsort(str, ns, sizeof *str, sum_cmp);
  qsort(agg, na, sizeof *agg, sum_cmp);
  assert_true(na > 10);
  assert_int_equal(na, ns);
  unsigned long long total = 0;
  for (size_t i = 0; i < na; i++) {
    assert_string_equal(agg[i].stack, str[i].stack);
    assert_int_equal(agg[i].n, str[i].n);
    total += agg[i].n;
  }
  /* Every nanosecond between the first and last event is in the file. */
  assert_int_equal(total, tclock_ns - 5000);
}

/* --- misuse is repaired, counted and reported once ----------------------- */

static void test_flame_out_of_order_end(void **state) {
  (void)state;
  cflame_stats_t before, after;
  cflame_stats(&before);
  install(NULL);
  CFLAME_SPAN(a, "a");
  tclock_ns += 1;
  CFLAME_SPAN(b, "b");
  tclock_ns += 2;
  CFLAME_SPAN(c, "c");
  tclock_ns += 3;
  CFLAME_SPAN_END(a); /* b and c exit with a, at this moment */
  tclock_ns += 4;
  CFLAME_SPAN_END(c); /* already exited: ignored */
  CFLAME_SPAN_END(b);
  tclock_ns += 5;
  CFLAME_SPAN(d, "d");
  tclock_ns += 6;
  CFLAME_SPAN_END(d);
  drop_and_check(FOLDED_CHECK_SORTED);
  assert_string_equal(memout_str(&out), "main 9\n"
                                        "main;test_flame::a 1\n"
                                        "main;test_flame::a;test_flame::b 2\n"
                                        "main;test_flame::a;test_flame::b;"
                                        "test_flame::c 3\n"
                                        "main;test_flame::d 6\n");
  cflame_stats(&after);
  assert_int_equal(after.errors[CFLAME_FAULT_OUT_OF_ORDER] -
                       before.errors[CFLAME_FAULT_OUT_OF_ORDER],
                   1);
  assert_int_equal(after.errors[CFLAME_FAULT_STALE_EXIT] -
                       before.errors[CFLAME_FAULT_STALE_EXIT],
                   2);
  assert_int_equal(errs.count[CFLAME_FAULT_OUT_OF_ORDER], 1);
  assert_int_equal(errs.count[CFLAME_FAULT_STALE_EXIT], 1); /* reported once */
  assert_non_null(strstr(errs.last, "already exited"));
}

static void test_flame_end_without_span_is_ignored(void **state) {
  (void)state;
  CFLAME_SPAN_END(0); /* nothing installed: silent */
  CFLAME_SPAN_END(12345);
  install(NULL);
  CFLAME_SPAN_END(0);      /* 0 means "nothing entered": silent */
  CFLAME_SPAN_END(999999); /* never handed out: counted */
  CFLAME_SPAN(a, "a");
  tclock_ns += 3;
  CFLAME_SPAN_END(a);
  drop_and_check(FOLDED_CHECK_SORTED);
  assert_string_equal(memout_str(&out), "main;test_flame::a 3\n");
  assert_int_equal(errs.count[CFLAME_FAULT_STALE_EXIT], 1);
}

static void test_flame_spans_without_sink_are_noops(void **state) {
  (void)state;
  CFLAME_SPAN(a, "a");
  assert_int_equal(a, 0);
  CFLAME_SPAN_END(a);
  install(NULL);
  CFLAME_SPAN(b, "b"); /* entered before drop, ended after: harmless */
  tclock_ns += 2;
  drop_and_check(0);
  CFLAME_SPAN_END(b);
  assert_string_equal(memout_str(&out), "");
}

/* Not inlined into itself: see README "longjmp, exceptions, coroutines,
 * fibers" for what healing does the first time an inlined recursion runs. */
__attribute__((noinline)) static void recurse(int n) {
  CFLAME_SPAN(s, "r");
  tclock_ns += 1;
  if (n > 1)
    recurse(n - 1);
  CFLAME_SPAN_END(s);
}

static void test_flame_depth_is_capped(void **state) {
  (void)state;
  install(NULL);
  recurse(CFLAME_MAX_DEPTH + 100);
  CFLAME_SPAN(after, "after");
  tclock_ns += 7;
  CFLAME_SPAN_END(after);
  drop_and_check(FOLDED_CHECK_SORTED);
  const char *s = memout_str(&out);
  /* Frames: main + (MAX_DEPTH - 1) spans + [truncated]. */
  const char *t = strstr(s, ";[truncated] ");
  assert_non_null(t);
  /* [truncated] holds the 101 deepest spans' self time: one ns each. */
  assert_int_equal(strtoull(t + 13, NULL, 10), 101);
  const char *line = t;
  while (line > s && line[-1] != '\n')
    line--;
  unsigned frames = 1;
  for (const char *p = line; p < t + 1; p++)
    frames += *p == ';';
  assert_int_equal(frames, CFLAME_MAX_DEPTH + 1);
  assert_non_null(strstr(s, "main;test_flame::after 7\n"));
  assert_int_equal(errs.count[CFLAME_FAULT_DEPTH], 1);
}

/* A node with thousands of children, entered in one order and again in the
 * reverse order, each with a child of its own: every child is found again
 * (one line each, both enters charged to it), and the node index grows
 * through several sizes (over 6,000 nodes). */
#define WIDE 3000
static int count_nodes(void *ctx, const cflame_thread_t *t) {
  *(uint32_t *)ctx += cflame_thread_nodes(t);
  return 0;
}

static int nodes_flush(void *ud, cflame_guard_t *g) {
  *(uint32_t *)ud = 0;
  return cflame_sink_each_thread(g, count_nodes, ud);
}

static void test_flame_wide_node_children_found_again(void **state) {
  (void)state;
  static cflame_callsite_t cs[WIDE];
  static char names[WIDE][8];
  static cflame_callsite_t leaf = {.name = "leaf", .target = "w",
                                   .file = "wide.c",
                                   .level = CFLAME_LEVEL_INFO};
  for (int i = 0; i < WIDE; i++) {
    snprintf(names[i], sizeof names[i], "c%04d", i);
    cs[i] = (cflame_callsite_t){.name = names[i], .target = "w",
                                .file = "wide.c", .level = CFLAME_LEVEL_INFO};
  }
  static const cflame_sink_t nodes_vt = {.size = sizeof(cflame_sink_t),
                                         .needs = CFLAME_SINK_TREES,
                                         .name = "nodes",
                                         .flush = nodes_flush};
  uint32_t nodes = 0;
  cflame_guard_t *ng = NULL;
  assert_int_equal(cflame_sink_install(&nodes_vt, &nodes, &ng), 0);
  install(NULL);
  CFLAME_SPAN(wide, "wide");
  tclock_ns += 5;
  for (int pass = 0; pass < 2; pass++)
    for (int k = 0; k < WIDE; k++) {
      int i = pass ? WIDE - 1 - k : k;
      cflame_token_t c = cflame_scope_enter(&cs[i]);
      tclock_ns += 1 + (uint64_t)i % 7;
      cflame_token_t l = cflame_scope_enter(&leaf);
      tclock_ns += 2;
      cflame_scope_exit(l);
      cflame_scope_exit(c);
    }
  CFLAME_SPAN_END(wide);
  /* One node each: the root, wide, every child and its leaf. */
  assert_int_equal(cflame_guard_drop(ng), 0);
  assert_int_equal(nodes, 2 + 2 * WIDE);
  drop_and_check(FOLDED_CHECK_SORTED);
  const char *s = memout_str(&out);
  size_t lines = 0;
  for (const char *p = s; *p; p++)
    lines += *p == '\n';
  assert_int_equal(lines, 1 + 2 * WIDE); /* wide, each child and its leaf */
  assert_non_null(strstr(s, "main;test_flame::wide 5\n"));
  for (int i = 0; i < WIDE; i += 499) {
    char want[96];
    snprintf(want, sizeof want, "main;test_flame::wide;w::c%04d %d\n", i,
             2 * (1 + i % 7));
    if (!strstr(s, want))
      fail_msg("missing %s", want);
    snprintf(want, sizeof want, "main;test_flame::wide;w::c%04d;w::leaf 4\n",
             i);
    if (!strstr(s, want))
      fail_msg("missing %s", want);
  }
}

/* --- names ---------------------------------------------------------------- */

static void test_flame_hostile_names_pass_format(void **state) {
  (void)state;
  install(NULL);
  assert_int_equal(cflame_thread_name("\xef\xbb\xbf# evil;\r\nthread 1"),
                   0); /* a BOM would start the file */
  /* Each callsite is a distinct static: hostile literals of every kind. */
  { CFLAME_SPAN(s, "[u8; 8]"); tclock_ns++; CFLAME_SPAN_END(s); }
  { CFLAME_SPAN(s, "tab\there"); tclock_ns++; CFLAME_SPAN_END(s); }
  { CFLAME_SPAN(s, "cr\rlf\nesc\x1b[0m"); tclock_ns++; CFLAME_SPAN_END(s); }
  { CFLAME_SPAN(s, "ls\xe2\x80\xa8ps\xe2\x80\xa9"); tclock_ns++; CFLAME_SPAN_END(s); }
  { CFLAME_SPAN(s, "bad\xff\xc0\xaf\xed\xa0\x80"); tclock_ns++; CFLAME_SPAN_END(s); }
  { CFLAME_SPAN(s, "  padded  "); tclock_ns++; CFLAME_SPAN_END(s); }
  { CFLAME_SPAN(s, ""); tclock_ns++; CFLAME_SPAN_END(s); }
  { CFLAME_SPAN(s, NULL); tclock_ns++; CFLAME_SPAN_END(s); }
  { CFLAME_SPAN(s, "sleep 5"); tclock_ns++; CFLAME_SPAN_END(s); }
  { CFLAME_SPAN(s, "x\xc2\xa0" "42"); tclock_ns++; CFLAME_SPAN_END(s); }
  { CFLAME_SPAN(s, "&amp;<tag>\"'"); tclock_ns++; CFLAME_SPAN_END(s); }
  { CFLAME_SPAN(s, "\xef\xbf\xbe\x7f"); tclock_ns++; CFLAME_SPAN_END(s); }
  drop_and_check(FOLDED_CHECK_SORTED);
  const char *s = memout_str(&out);
  assert_non_null(strstr(s, "?# evil:??thread_1;test_flame::[u8: 8] 1\n"));
  assert_non_null(strstr(s, ";test_flame::tab?here 1\n"));
  assert_non_null(strstr(s, ";test_flame::cr?lf?esc?[0m 1\n"));
  assert_non_null(strstr(s, ";test_flame::ls?ps? 1\n"));
  assert_non_null(strstr(s, ";test_flame::bad?????? 1\n"));
  assert_non_null(strstr(s, ";test_flame::padded 1\n"));
  assert_non_null(strstr(s, ";test_flame::[unknown] 2\n")); /* "" + NULL */
  assert_non_null(strstr(s, ";test_flame::sleep_5 1\n"));
  assert_non_null(strstr(s, ";test_flame::x_42 1\n"));
  assert_non_null(strstr(s, ";test_flame::&amp:<tag>\"' 1\n"));
  assert_non_null(strstr(s, ";test_flame::?? 1\n"));
  assert_true(errs.count[CFLAME_FAULT_NAME] >= 1);
}

static void test_flame_huge_name_is_clamped(void **state) {
  (void)state;
  static char huge[1 << 20];
  memset(huge, 'x', sizeof huge - 1);
  static cflame_callsite_t cs = {huge, "t", "f.c", 1, CFLAME_LEVEL_INFO, NULL, 0, 0, {0, 0}};
  install(NULL);
  cflame_token_t tok = cflame_scope_enter(&cs);
  tclock_ns += 1;
  cflame_scope_exit(tok);
  drop_and_check(FOLDED_CHECK_SORTED);
  assert_true(out.len < 2048);
  assert_non_null(strstr(memout_str(&out), "main;t::xxxx"));
}

static void test_flame_target_and_thread_name(void **state) {
  (void)state;
  static cflame_callsite_t net = {"recv", "net::http", "src/net/http.c", 7,
                                  CFLAME_LEVEL_INFO, NULL, 0, 0, {0, 0}};
  static cflame_callsite_t stem = {"parse", NULL, "src/net/parser.c", 9,
                                   CFLAME_LEVEL_INFO, NULL, 0, 0, {0, 0}};
  cflame_flame_opts_t o = cflame_flame_opts_default();
  o.file_and_line = true;
  install(&o);
  assert_int_equal(cflame_thread_name("io loop"), 0);
  cflame_token_t a = cflame_scope_enter(&net);
  tclock_ns += 2;
  cflame_token_t b = cflame_scope_enter(&stem);
  tclock_ns += 3;
  cflame_scope_exit(b);
  cflame_scope_exit(a);
  drop_and_check(FOLDED_CHECK_SORTED);
  assert_string_equal(memout_str(&out),
                      "io loop;net::http::recv:http.c:7 2\n"
                      "io loop;net::http::recv:http.c:7;parser::parse:"
                      "parser.c:9 3\n");
  assert_int_equal(cflame_thread_name(NULL), CFLAME_EINVAL);
  assert_int_equal(cflame_thread_name("main"), 0);
}

/* --- flush and guards ------------------------------------------------------ */

static void test_flame_flush_writes_deltas(void **state) {
  (void)state;
  install(NULL);
  CFLAME_SPAN(a, "a");
  tclock_ns += 5;
  CFLAME_SPAN_END(a);
  assert_int_equal(cflame_guard_flush(guard), 0);
  assert_string_equal(memout_str(&out), "main;test_flame::a 5\n");
  assert_int_equal(cflame_guard_flush(guard), 0); /* nothing new */
  assert_string_equal(memout_str(&out), "main;test_flame::a 5\n");
  CFLAME_SPAN(b, "a");
  tclock_ns += 2;
  CFLAME_SPAN_END(b);
  drop_and_check(0);
  assert_string_equal(memout_str(&out), "main;test_flame::a 5\n"
                                        "main;test_flame::a 2\n");
}

/* A thread's clock starts at its first cflame call, whatever it is: the
 * root frame holds the time from there to its first span. */
static int first_call;

static void *named_late(void *arg) {
  (void)arg;
  tclock_ns = 0;
  if (first_call == 0)
    (void)cflame_thread_name("t");
  else
    CFLAME_INFO_EV("hello");
  tclock_ns = 10;
  CFLAME_SPAN(a, "a");
  tclock_ns = 30;
  CFLAME_SPAN_END(a);
  return NULL;
}

static void test_flame_clock_starts_at_first_call(void **state) {
  (void)state;
  static const char *const want[2] = {
      "t 10\nt;test_flame::a 20\n",
      "thread-N 10\nthread-N;test_flame::a 20\n"};
  for (int mode = 0; mode < 2; mode++)
    for (first_call = 0; first_call < 2; first_call++) {
      cflame_flame_opts_t o = cflame_flame_opts_default();
      o.mode = mode ? CFLAME_FLAME_STREAM : CFLAME_FLAME_AGGREGATE;
      tclock_ns = 0; /* threads' clocks here are one clock, as real ones */
      install(&o);
      pthread_t th;
      assert_int_equal(pthread_create(&th, NULL, named_late, NULL), 0);
      pthread_join(th, NULL);
      drop_and_check(mode ? 0 : FOLDED_CHECK_SORTED);
      /* thread-N: unnamed threads are numbered in order of first use */
      char *got = folded_sums(memout_str(&out));
      for (char *p = strstr(got, "thread-"); p; p = strstr(p + 1, "thread-"))
        for (char *q = p + 7; *q >= '0' && *q <= '9'; q++)
          *q = 'N';
      char *n = strstr(got, "thread-N");
      if (n) /* "thread-NN 10" -> "thread-N 10" */
        for (char *r; (r = strstr(got, "NN"));)
          memmove(r, r + 1, strlen(r));
      assert_string_equal(got, want[first_call]);
      free(got);
      memout_free(&out);
      memset(&out, 0, sizeof out);
    }
}

static void test_flame_guard_lifecycle(void **state) {
  (void)state;
  cflame_guard_t *g2 = NULL;
  assert_int_equal(cflame_guard_drop(NULL), 0);
  assert_int_equal(cflame_guard_flush(NULL), CFLAME_EINVAL);
  install(NULL);
  /* Several sinks at once, up to CFLAME_SINKS_MAX; one more is refused. */
  cflame_guard_t *more[CFLAME_SINKS_MAX] = {0};
  memout_t sink_out[CFLAME_SINKS_MAX];
  memset(sink_out, 0, sizeof sink_out);
  for (int i = 1; i < CFLAME_SINKS_MAX; i++)
    assert_int_equal(
        cflame_flame_writer(memout_write, &sink_out[i], NULL, &more[i]), 0);
  assert_int_equal(cflame_flame_writer(memout_write, &out, NULL, &g2),
                   CFLAME_EBUSY);
  assert_null(g2);
  for (int i = 1; i < CFLAME_SINKS_MAX; i++) {
    assert_int_equal(cflame_guard_drop(more[i]), 0);
    memout_free(&sink_out[i]);
  }
  assert_int_equal(cflame_clock_set(NULL, NULL), CFLAME_EBUSY);
  assert_int_equal(cflame_clock_use(CFLAME_CLOCK_MONOTONIC), CFLAME_EBUSY);
  assert_int_equal(cflame_guard_drop(guard), 0);
  assert_int_equal(cflame_guard_drop(guard), 0); /* idempotent */
  assert_int_equal(cflame_guard_flush(guard), CFLAME_ECLOSED);
  guard = NULL;
  assert_int_equal(cflame_flame_writer(NULL, NULL, NULL, &g2), CFLAME_EINVAL);
  assert_int_equal(cflame_flame_writer(memout_write, &out, NULL, NULL),
                   CFLAME_EINVAL);
  assert_int_equal(cflame_flame_fd(-1, NULL, &g2), CFLAME_EINVAL);
  assert_int_equal(cflame_flame_file(NULL, NULL, &g2), CFLAME_EINVAL);
  assert_int_equal(cflame_flame_file("", NULL, &g2), CFLAME_EINVAL);
  assert_int_equal(cflame_flame_file("/nonexistent/dir/x.folded", NULL, &g2),
                   CFLAME_EOPEN);
  cflame_flame_opts_t o = cflame_flame_opts_default();
  o.mode = (cflame_flame_mode_t)7;
  assert_int_equal(cflame_flame_writer(memout_write, &out, &o, &g2),
                   CFLAME_EINVAL);
  assert_string_equal(cflame_strerror(CFLAME_EBUSY),
                      "busy: a sink is installed, or CFLAME_SINKS_MAX of them");
  assert_string_equal(cflame_strerror(12345), "unknown error");
  assert_string_equal(cflame_strerror(0), "success");
}

static void *exiting_thread(void *arg) {
  (void)arg;
  tclock_ns = 0;
  cflame_thread_name("gone");
  CFLAME_SPAN(a, "work");
  tclock_ns += 6;
  CFLAME_SPAN_END(a);
  return NULL;
}

static void test_flame_file_rewritten_whole_at_each_flush(void **state) {
  (void)state;
  char path[] = "/tmp/cflame-test-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
  assert_int_equal(cflame_flame_file(path, NULL, &guard), 0);
  script();
  pthread_t th;
  pthread_create(&th, NULL, exiting_thread, NULL);
  pthread_join(th, NULL);
  assert_int_equal(cflame_guard_flush(guard), 0);
  folded_check_error_t e;
  size_t lines = 0;
  unsigned long long total = 0;
  assert_int_equal(
      folded_check_file(path, FOLDED_CHECK_SORTED, &e, &lines, &total), 0);
  assert_int_equal(lines, 6);
  assert_int_equal(total, 38);
  script(); /* the same stacks again: merged, not appended */
  assert_int_equal(cflame_guard_drop(guard), 0);
  guard = NULL;
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  char buf[512] = {0};
  assert_true(fread(buf, 1, sizeof buf - 1, f) > 0);
  fclose(f);
  assert_string_equal(buf, "gone;test_flame::work 6\n"
                           "main 18\n"
                           "main;test_flame::emit 8\n"
                           "main;test_flame::parse 26\n"
                           "main;test_flame::parse;test_flame::lex 10\n"
                           "main;test_flame::tail 2\n");
  unlink(path);
}

static void test_flame_env_setup(void **state) {
  (void)state;
  char path[] = "/tmp/cflame-env-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
  unsetenv("CFLAME_FLAME");
  assert_int_equal(cflame_init_env(&guard), 0);
  assert_null(guard);
  setenv("CFLAME_FLAME", path, 1);
  setenv("CFLAME_FLAME_MODE", "stream", 1);
  setenv("CFLAME_FLAME_MODULE_PATH", "0", 1);
  setenv("CFLAME_FLAME_EMPTY_SAMPLES", "maybe", 1); /* bad: ignored */
  assert_int_equal(cflame_init_env(&guard), 0);
  assert_non_null(guard);
  assert_int_equal(errs.count[CFLAME_FAULT_CONFIG], 1);
  { CFLAME_SPAN(a, "a"); tclock_ns += 4; CFLAME_SPAN_END(a); }
  tclock_ns += 1;
  { CFLAME_SPAN(b, "b"); tclock_ns += 2; CFLAME_SPAN_END(b); }
  assert_int_equal(cflame_guard_drop(guard), 0);
  guard = NULL;
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  char buf[256] = {0};
  assert_true(fread(buf, 1, sizeof buf - 1, f) > 0);
  fclose(f);
  assert_string_equal(buf, "main;a 4\nmain 1\nmain;b 2\n");
  unsetenv("CFLAME_FLAME");
  unsetenv("CFLAME_FLAME_MODE");
  unsetenv("CFLAME_FLAME_MODULE_PATH");
  unsetenv("CFLAME_FLAME_EMPTY_SAMPLES");
  unlink(path);
}

static void test_flame_env_refuses_symlink(void **state) {
  (void)state;
  char dir[] = "/tmp/cflame-link-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char target[64], link[64];
  snprintf(target, sizeof target, "%s/target", dir);
  snprintf(link, sizeof link, "%s/link", dir);
  assert_int_equal(symlink(target, link), 0);
  setenv("CFLAME_FLAME", link, 1);
  assert_int_equal(cflame_init_env(&guard), CFLAME_EOPEN);
  assert_null(guard);
  assert_int_equal(access(target, F_OK), -1); /* nothing created */
  unsetenv("CFLAME_FLAME");
  unlink(link);
  rmdir(dir);
}

/* --- the writer -------------------------------------------------------------- */

static void test_flame_writer_retries_short_and_eintr(void **state) {
  (void)state;
  out.max_chunk = 3;
  out.eintr_every = 2;
  cflame_flame_opts_t o = cflame_flame_opts_default();
  o.buffer_size = 16; /* clamped up to the minimum; still many writes */
  install(&o);
  script();
  drop_and_check(FOLDED_CHECK_SORTED);
  assert_non_null(strstr(memout_str(&out), "main;test_flame::parse 13\n"));
}

static int torn_writes;

static long whole_lines_write(void *ctx, const void *buf, size_t len) {
  if (len && ((const char *)buf)[len - 1] != '\n')
    torn_writes++;
  return memout_write(ctx, buf, len);
}

/* Lines longer than the writer's buffer, and a write error among them. */
static void long_stack(int n) {
  static cflame_callsite_t cs[8];
  static char names[8][1001];
  if (!cs[n].name) {
    memset(names[n], 'a' + n, 1000);
    cs[n] = (cflame_callsite_t){names[n], "t", "f.c", n, CFLAME_LEVEL_INFO, NULL, 0, 0, {0, 0}};
  }
  cflame_token_t tok = cflame_scope_enter(&cs[n]);
  tclock_ns += 1;
  if (n < 7)
    long_stack(n + 1);
  cflame_scope_exit(tok);
}

static void test_flame_long_lines_survive_write_errors(void **state) {
  (void)state;
  cflame_flame_opts_t o = cflame_flame_opts_default();
  o.buffer_size = 4096;
  o.mode = CFLAME_FLAME_STREAM;
  memout_t clean = {0};
  for (int pass = 0; pass < 2; pass++) {
    memout_t *m = pass ? &out : &clean;
    if (pass) {
      out.fail_errno = EIO;
      out.fail_at = 6000; /* inside the second ~8 KiB line */
    }
    tclock_ns = 1000;
    assert_int_equal(cflame_flame_writer(memout_write, m, &o, &guard), 0);
    long_stack(0);
    int rc = cflame_guard_flush(guard);
    assert_int_equal(rc, pass ? CFLAME_EIO : 0);
    out.fail_errno = 0;
    long_stack(0);
    assert_int_equal(cflame_guard_drop(guard), 0);
    guard = NULL;
  }
  folded_check_error_t e;
  if (folded_check(out.buf, out.len, 0, &e, NULL, NULL) != 0)
    fail_msg("rule %d line %zu: %s", e.rule, e.line, e.msg);
  /* Every line of the faulty run is a whole line of the clean run. */
  for (char *p = out.buf; p < out.buf + out.len;) {
    char *nl = memchr(p, '\n', (size_t)(out.buf + out.len - p));
    assert_non_null(nl);
    *nl = '\0';
    assert_non_null(strstr(clean.buf, p));
    *nl = '\n';
    p = nl + 1;
  }
  assert_true(out.len < clean.len);
  memout_free(&clean);
}

static void test_flame_writer_writes_whole_lines(void **state) {
  (void)state;
  cflame_flame_opts_t o = cflame_flame_opts_default();
  o.mode = CFLAME_FLAME_STREAM;
  o.buffer_size = 4096; /* many buffer-full writes */
  o.stream_records = 64;
  torn_writes = 0;
  assert_int_equal(cflame_flame_writer(whole_lines_write, &out, &o, &guard),
                   0);
  for (int i = 0; i < 5000; i++)
    script();
  drop_and_check(0);
  assert_true(out.len > 10 * 4096);
  assert_int_equal(torn_writes, 0); /* a crash between writes tears nothing */
}

static void test_flame_write_error_is_returned_and_counted(void **state) {
  (void)state;
  cflame_stats_t before, after;
  cflame_stats(&before);
  out.fail_errno = ENOSPC;
  out.fail_at = 10; /* in the middle of the first line */
  install(NULL);
  script();
  assert_int_equal(cflame_guard_flush(guard), CFLAME_EIO);
  cflame_stats(&after);
  assert_int_equal(after.last_errno, ENOSPC);
  assert_true(after.bytes_lost > before.bytes_lost);
  assert_int_equal(errs.count[CFLAME_FAULT_WRITE], 1);
  /* The fault clears: the cut line is completed, then new lines follow. */
  out.fail_errno = 0;
  CFLAME_SPAN(a, "late");
  tclock_ns += 3;
  CFLAME_SPAN_END(a);
  drop_and_check(0);
  /* "main 9\nmai" went out before the fault; the rest of that line is
   * written first once the fault clears, the later lines were lost. */
  assert_string_equal(memout_str(&out), "main 9\n"
                                        "main;test_flame::emit 4\n"
                                        "main;test_flame::late 3\n");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_flame_defaults_exact, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_flame_aggregate_every_option,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_flame_stream_every_option, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_flame_modes_equal_sums, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_flame_out_of_order_end, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_flame_end_without_span_is_ignored,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_flame_spans_without_sink_are_noops,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_flame_depth_is_capped, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_flame_wide_node_children_found_again,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_flame_hostile_names_pass_format,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_flame_huge_name_is_clamped, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_flame_target_and_thread_name,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_flame_flush_writes_deltas, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_flame_clock_starts_at_first_call,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_flame_guard_lifecycle, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_flame_file_rewritten_whole_at_each_flush, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_flame_env_setup, setup, teardown),
      cmocka_unit_test_setup_teardown(test_flame_env_refuses_symlink, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_flame_writer_retries_short_and_eintr,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(
          test_flame_write_error_is_returned_and_counted, setup, teardown),
      cmocka_unit_test_setup_teardown(test_flame_writer_writes_whole_lines,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(
          test_flame_long_lines_survive_write_errors, setup, teardown),
  };
  return cmocka_run_group_tests_name("flame", tests, NULL, NULL);
}
