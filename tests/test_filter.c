/* Levels and filter directives; events and the fmt sink, byte for byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <cflame.h>
#include <pthread.h>
#include <string.h>

#include "folded_check.h"
#include "testutil.h"

static memout_t out, fout;
static errlog_t errs;
static cflame_guard_t *guard, *fguard;

static int setup(void **state) {
  (void)state;
  memset(&out, 0, sizeof out);
  memset(&fout, 0, sizeof fout);
  memset(&errs, 0, sizeof errs);
  cflame_on_error(errlog_fn, &errs);
  tclock_install(1000);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  (void)cflame_guard_drop(guard);
  (void)cflame_guard_drop(fguard);
  guard = fguard = NULL;
  memout_free(&out);
  memout_free(&fout);
  (void)cflame_filter_set(NULL);
  cflame_on_error(NULL, NULL);
  (void)cflame_clock_set(NULL, NULL);
  return 0;
}

/* Distinct callsites with explicit targets and levels. */
static cflame_callsite_t http_debug = {"recv", "net::http", "h.c", 1,
                                       CFLAME_LEVEL_DEBUG, NULL, 0, 0, {0, 0}};
static cflame_callsite_t http_trace = {"bytes", "net::http", "h.c", 2,
                                       CFLAME_LEVEL_TRACE, NULL, 0, 0, {0, 0}};
static cflame_callsite_t net_info = {"dial", "net", "n.c", 3, CFLAME_LEVEL_INFO, NULL, 0, 0, {0, 0}};
static cflame_callsite_t netw_info = {"scan", "network", "w.c", 4,
                                      CFLAME_LEVEL_INFO, NULL, 0, 0, {0, 0}};
static cflame_callsite_t parser_debug = {"lex", "parser", "p.c", 5,
                                         CFLAME_LEVEL_DEBUG, NULL, 0, 0, {0, 0}};
static cflame_callsite_t parser_warn = {"bad", "parser", "p.c", 6, CFLAME_LEVEL_WARN, NULL, 0, 0, {0, 0}};
static cflame_callsite_t other_info = {"misc", "other", "o.c", 7, CFLAME_LEVEL_INFO, NULL, 0, 0, {0, 0}};
static cflame_callsite_t other_error = {"boom", "other", "o.c", 8,
                                        CFLAME_LEVEL_ERROR, NULL, 0, 0, {0, 0}};

/* Is cs entered (as the macros would decide)? */
static int on(cflame_callsite_t *cs) {
  if (__atomic_load_n(&cs->interest_, __ATOMIC_RELAXED) == 1)
    return 0;
  cflame_token_t t = cflame_scope_enter(cs);
  if (t)
    cflame_scope_exit(t);
  return t != 0;
}

static unsigned mask(void) {
  cflame_callsite_t *all[] = {&http_debug,   &http_trace,  &net_info,
                              &netw_info,    &parser_debug, &parser_warn,
                              &other_info,   &other_error};
  unsigned m = 0;
  for (unsigned i = 0; i < 8; i++)
    m |= (unsigned)on(all[i]) << i;
  return m;
}

enum {
  HTTP_DEBUG = 1,
  HTTP_TRACE = 2,
  NET_INFO = 4,
  NETW_INFO = 8,
  PARSER_DEBUG = 16,
  PARSER_WARN = 32,
  OTHER_INFO = 64,
  OTHER_ERROR = 128,
  ALL = 255
};

static void test_filter_directives_and_precedence(void **state) {
  (void)state;
  assert_int_equal(cflame_flame_writer(memout_write, &out, NULL, &guard), 0);
  assert_int_equal(mask(), ALL); /* no filter: everything */
  assert_int_equal(cflame_filter_set("info"), 0);
  assert_int_equal(mask(), NET_INFO | NETW_INFO | PARSER_WARN | OTHER_INFO |
                               OTHER_ERROR);
  assert_int_equal(cflame_filter_set("parser=debug"), 0);
  assert_int_equal(mask(), PARSER_DEBUG | PARSER_WARN); /* no default: off */
  assert_int_equal(cflame_filter_set("net::http=trace,warn"), 0);
  assert_int_equal(mask(), HTTP_DEBUG | HTTP_TRACE | PARSER_WARN |
                               OTHER_ERROR);
  /* "net" covers net and net::http, never "network"; longest target wins
   * whatever the order. */
  assert_int_equal(cflame_filter_set("net::http=debug, net=error , trace"), 0);
  assert_int_equal(mask(), HTTP_DEBUG | NETW_INFO | PARSER_DEBUG |
                               PARSER_WARN | OTHER_INFO | OTHER_ERROR);
  assert_int_equal(cflame_filter_set("net=Info,,parser"), 0);
  assert_int_equal(mask(), NET_INFO | PARSER_DEBUG | PARSER_WARN);
  assert_int_equal(cflame_filter_set("off"), 0);
  assert_int_equal(mask(), 0);
  assert_int_equal(cflame_filter_set("net=off,error"), 0);
  assert_int_equal(mask(), OTHER_ERROR);
  assert_int_equal(cflame_filter_set(""), 0);
  assert_int_equal(mask(), ALL);
  assert_int_equal(errs.count[CFLAME_FAULT_CONFIG], 0);
}

static void test_filter_invalid_directives_skipped(void **state) {
  (void)state;
  assert_int_equal(cflame_flame_writer(memout_write, &out, NULL, &guard), 0);
  assert_int_equal(cflame_filter_set("parser=loud,warn"), CFLAME_EINVAL);
  assert_int_equal(mask(), PARSER_WARN | OTHER_ERROR); /* warn applied */
  assert_int_equal(errs.count[CFLAME_FAULT_CONFIG], 1);
  assert_non_null(strstr(errs.last, "\"parser=loud\""));
  assert_non_null(strstr(errs.last, "unknown level"));
  assert_int_equal(cflame_filter_set("=debug,a b=info,x;y,error"),
                   CFLAME_EINVAL);
  assert_int_equal(mask(), OTHER_ERROR);
  /* Nothing valid at all: a typo must not switch every span off. */
  assert_int_equal(cflame_filter_set("debug!"), CFLAME_EINVAL);
  assert_int_equal(mask(), ALL);
  /* Of two directives for one target, the last wins. */
  assert_int_equal(cflame_filter_set("net=info,net=error,trace"), 0);
  assert_int_equal(mask(), NETW_INFO | PARSER_DEBUG | PARSER_WARN |
                               OTHER_INFO | OTHER_ERROR);
}

static void test_filter_disabled_spans_record_nothing(void **state) {
  (void)state;
  assert_int_equal(cflame_flame_writer(memout_write, &out, NULL, &guard), 0);
  assert_int_equal(cflame_filter_set("warn"), 0);
  int evaluated = 0;
  for (int i = 0; i < 3; i++) {
    CFLAME_SPAN(a, "info-span");
    CFLAME_SPAN_L(b, CFLAME_LEVEL_DEBUG, "debug-span");
    CFLAME_SPAN_F(c, "fields", CFLAME_I64("n", ++evaluated));
    tclock_ns += 5;
    assert_int_equal(a, 0);
    assert_int_equal(b, 0);
    assert_int_equal(c, 0);
    CFLAME_SPAN_END(c);
    CFLAME_SPAN_END(b);
    CFLAME_SPAN_END(a);
    CFLAME_SPAN_L(w, CFLAME_LEVEL_WARN, "warn-span");
    tclock_ns += 1;
    CFLAME_SPAN_END(w);
  }
  assert_int_equal(evaluated, 0); /* fields of a disabled span: not built */
  assert_true(cflame_span_is_none(CFLAME_SPAN_NEW("registry-info")));
  assert_int_equal(cflame_guard_drop(guard), 0);
  guard = NULL;
  /* The thread's clock starts at its first span, filtered or not (a
   * callsite's first use enters cflame, which registers it): all 15 ns
   * outside the warn span are the root's. */
  assert_string_equal(memout_str(&out), "main 15\n"
                                        "main;test_filter::warn-span 3\n");
}

/* --- events and the fmt sink ----------------------------------------------- */

static void *named_worker(void *arg) {
  (void)arg;
  tclock_ns = 1000 + 2500000000ull;
  cflame_thread_name("w1");
  CFLAME_ERROR_EV("from a worker");
  return NULL;
}

static void test_filter_fmt_lines_exact(void **state) {
  (void)state;
  cflame_fmt_opts_t fo = cflame_fmt_opts_default();
  fo.level = CFLAME_LEVEL_INFO;
  assert_int_equal(cflame_fmt_writer(memout_write, &fout, &fo, &fguard), 0);
  assert_int_equal(cflame_flame_writer(memout_write, &out, NULL, &guard), 0);
  cflame_stats_t before, after;
  cflame_stats(&before);
  CFLAME_INFO_EV("hello");
  tclock_ns += 1234567;
  CFLAME_SPAN_F(req, "request", CFLAME_I64("id", 7));
  CFLAME_SPAN(parse, "parse");
  CFLAME_WARN_EV("slow query", CFLAME_I64("ms", 12), CFLAME_STR("q", "a;b"));
  CFLAME_DEBUG_EV("not shown");
  CFLAME_EVENT(CFLAME_LEVEL_INFO, "bad\nline\x1b[0m");
  CFLAME_FRAME_MARK();
  CFLAME_SPAN_END(parse);
  CFLAME_SPAN_END(req);
  pthread_t th;
  pthread_create(&th, NULL, named_worker, NULL);
  pthread_join(th, NULL);
  cflame_stats(&after);
  assert_int_equal(after.frame_marks - before.frame_marks, 1);
  assert_int_equal(after.events - before.events, 5); /* marks apart */
  assert_int_equal(cflame_guard_flush(fguard), 0);
  assert_string_equal(
      memout_str(&fout),
      "   0.000000s  INFO main: hello\n"
      "   0.001234s  WARN main: request{id=7}:parse: slow query ms=12, "
      "q=a:b\n"
      "   0.001234s  INFO main: request{id=7}:parse: bad?line?[0m\n"
      "   0.001234s  INFO main: request{id=7}:parse: frame mark\n"
      "   2.500000s ERROR w1: from a worker\n");
  /* The flame sink ignores events. */
  assert_int_equal(cflame_guard_drop(guard), 0);
  guard = NULL;
  assert_null(strstr(memout_str(&out), "slow"));
  assert_int_equal(cflame_guard_drop(fguard), 0);
  assert_int_equal(cflame_guard_drop(fguard), 0);
  assert_int_equal(cflame_guard_flush(fguard), CFLAME_ECLOSED);
  fguard = NULL;
}

static void test_filter_fmt_alone_and_busy(void **state) {
  (void)state;
  cflame_fmt_opts_t fo = cflame_fmt_opts_default();
  fo.thread_name = false;
  fo.span_context = false;
  cflame_guard_t *g2 = NULL, *g3 = NULL;
  memout_t fout2;
  memset(&fout2, 0, sizeof fout2);
  assert_int_equal(cflame_fmt_writer(memout_write, &fout, &fo, &fguard), 0);
  /* A second fmt sink beside the first gets the same lines. */
  assert_int_equal(cflame_fmt_writer(memout_write, &fout2, &fo, &g3), 0);
  assert_int_equal(cflame_fmt_fd(-1, &fo, &g2), CFLAME_EINVAL);
  fo.level = 42;
  assert_int_equal(cflame_fmt_writer(memout_write, &fout, &fo, &g2),
                   CFLAME_EINVAL);
  CFLAME_SPAN(s, "ctx");
  CFLAME_TRACE_EV("plain", CFLAME_BOOL("ok", 1));
  CFLAME_SPAN_END(s);
  assert_int_equal(cflame_filter_set("error"), 0);
  CFLAME_WARN_EV("filtered");
  assert_int_equal(cflame_guard_drop(fguard), 0);
  assert_int_equal(cflame_guard_drop(g3), 0);
  fguard = NULL;
  assert_string_equal(memout_str(&fout), "   0.000000s TRACE plain ok=true\n");
  assert_string_equal(memout_str(&fout2), memout_str(&fout));
  memout_free(&fout2);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_filter_directives_and_precedence,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_filter_invalid_directives_skipped,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_filter_disabled_spans_record_nothing,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_filter_fmt_lines_exact, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_filter_fmt_alone_and_busy, setup,
                                      teardown),
  };
  return cmocka_run_group_tests_name("filter", tests, NULL, NULL);
}
