/* The sink interface: several sinks from one run agree, a user sink sees
 * records, trees, enter counts and events exactly, and the lifecycle
 * callbacks come once each, in order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <cflame.h>
#include <cflame/sink.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "folded_check.h"
#include "testutil.h"

static memout_t agg, stream, fmt;

static int setup(void **state) {
  (void)state;
  memset(&agg, 0, sizeof agg);
  memset(&stream, 0, sizeof stream);
  memset(&fmt, 0, sizeof fmt);
  tclock_install(0);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  memout_free(&agg);
  memout_free(&stream);
  memout_free(&fmt);
  (void)cflame_clock_set(NULL, NULL);
  return 0;
}

static void work(int depth) {
  CFLAME_SPAN(s, "work");
  tclock_ns += 3;
  if (depth > 0)
    work(depth - 1);
  CFLAME_SPAN_END(s);
  CFLAME_SPAN(t, "tail");
  tclock_ns += 1;
  CFLAME_SPAN_END(t);
}

static void *worker(void *arg) {
  (void)arg;
  tclock_ns = 0;
  (void)cflame_thread_name("w");
  for (int i = 0; i < 50; i++)
    work(i % 4);
  return NULL;
}

static void test_sinks_three_at_once_agree(void **state) {
  (void)state;
  cflame_guard_t *ga, *gs, *gf;
  cflame_flame_opts_t so = cflame_flame_opts_default();
  so.mode = CFLAME_FLAME_STREAM;
  so.stream_records = 16; /* rings fill and drain many times */
  cflame_fmt_opts_t fo = cflame_fmt_opts_default();
  fo.thread_name = false;
  cflame_flame_opts_t ao = cflame_flame_opts_default();
  ao.compensate = true; /* an injected clock is exact: it changes nothing */
  assert_int_equal(cflame_flame_writer(memout_write, &agg, &ao, &ga), 0);
  assert_int_equal(cflame_flame_writer(memout_write, &stream, &so, &gs), 0);
  assert_int_equal(cflame_fmt_writer(memout_write, &fmt, &fo, &gf), 0);
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, worker, NULL), 0);
  for (int i = 0; i < 40; i++)
    work(i % 3);
  CFLAME_SPAN(s, "outer");
  CFLAME_INFO_EV("inside");
  CFLAME_SPAN_END(s);
  assert_int_equal(pthread_join(th, NULL), 0);
  assert_int_equal(cflame_guard_flush(ga), 0); /* flushes are per sink */
  assert_int_equal(cflame_guard_drop(gf), 0);
  assert_int_equal(cflame_guard_drop(gs), 0);
  assert_int_equal(cflame_guard_drop(ga), 0);
  folded_check_error_t e;
  if (folded_check(agg.buf, agg.len, 0, &e, NULL, NULL) ||
      folded_check(stream.buf, stream.len, 0, &e, NULL, NULL))
    fail_msg("rule %d line %zu: %s", e.rule, e.line, e.msg);
  char *a = folded_sums(memout_str(&agg)),
       *b = folded_sums(memout_str(&stream));
  assert_string_equal(a, b);
  if (!strstr(a, "w;test_sinks::work;test_sinks::work 111\n"))
    fail_msg("%s", a);
  assert_true(stream.len > agg.len); /* one line per slice there */
  free(a);
  free(b);
  assert_string_equal(memout_str(&fmt), "   0.000000s  INFO outer: inside\n");
}

/* --- a user sink
 * -------------------------------------------------------------- */

typedef struct spy_s {
  char log[4096];
  int attached, closed, flushes, done;
  cflame_guard_t *g;
} spy_t;

static void spy_put(spy_t *s, const char *fmt_, ...) {
  va_list ap;
  va_start(ap, fmt_);
  size_t len = strlen(s->log);
  vsnprintf(s->log + len, sizeof s->log - len, fmt_, ap);
  va_end(ap);
}

static void spy_attach(void *ud, cflame_guard_t *g) {
  spy_t *s = ud;
  s->attached++;
  s->g = g;
}

static const char *site_name(uint32_t site) {
  cflame_site_info_t si;
  return cflame_site_info(site, &si) == 0 ? si.name : "-";
}

static void spy_records(void *ud, cflame_guard_t *g, const cflame_thread_t *t,
                        const cflame_record_t *r, size_t n) {
  spy_t *s = ud;
  (void)g;
  static const char *const kinds[] = {"begin", "enter", "exit", "switch"};
  for (size_t i = 0; i < n; i++) {
    cflame_node_t node;
    assert_int_equal(cflame_thread_node(t, r[i].node, &node), 0);
    spy_put(s, "%s@%llu:%s ", kinds[r[i].kind], (unsigned long long)r[i].ns,
            r[i].node ? site_name(node.site) : "root");
  }
}

static void spy_event(void *ud, cflame_guard_t *g, const cflame_event_t *ev) {
  spy_t *s = ud;
  (void)g;
  char ctx[64];
  cflame_event_context(ctx, sizeof ctx);
  spy_put(s, "%s(%s,%zu fields,in %s) ",
          ev->kind == CFLAME_EVENT_FRAME_MARK ? "mark" : "event",
          ev->message ? ev->message : "main", ev->nfields, ctx);
}

static int spy_node(void *ctx, const cflame_thread_t *t) {
  spy_t *s = ctx;
  for (uint32_t i = 1; i < cflame_thread_nodes(t); i++) {
    cflame_node_t node;
    assert_int_equal(cflame_thread_node(t, i, &node), 0);
    spy_put(s, "node %s d%u self %llu x%llu; ", site_name(node.site),
            node.depth, (unsigned long long)node.self_ns,
            (unsigned long long)node.enters);
  }
  void **slot = cflame_thread_data(t, s->g);
  if (!*slot)
    *slot = malloc(1);
  return 0;
}

static int spy_flush(void *ud, cflame_guard_t *g) {
  spy_t *s = ud;
  s->flushes++;
  return cflame_sink_each_thread(g, spy_node, s);
}

static void spy_done(void *ud, cflame_guard_t *g, const cflame_thread_t *t,
                     void *data) {
  (void)g, (void)t;
  ((spy_t *)ud)->done++;
  free(data);
}

static int spy_close(void *ud, cflame_guard_t *g) {
  (void)g;
  ((spy_t *)ud)->closed++;
  return 0;
}

static void test_sinks_user_sink_sees_everything(void **state) {
  (void)state;
  spy_t spy;
  memset(&spy, 0, sizeof spy);
  cflame_sink_t vt;
  memset(&vt, 0, sizeof vt);
  vt.size = sizeof vt;
  vt.needs = CFLAME_SINK_TREES | CFLAME_SINK_RECORDS | CFLAME_SINK_EVENTS;
  vt.attach = spy_attach;
  vt.records = spy_records;
  vt.event = spy_event;
  vt.flush = spy_flush;
  vt.thread_done = spy_done;
  vt.close = spy_close;
  cflame_guard_t *g = NULL;
  assert_int_equal(cflame_sink_install(NULL, &spy, &g), CFLAME_EINVAL);
  assert_int_equal(cflame_sink_install(&vt, &spy, &g), 0);
  assert_int_equal(spy.attached, 1);
  tclock_ns = 10;
  CFLAME_SPAN(a, "a");
  tclock_ns = 12;
  CFLAME_SPAN(b, "b");
  CFLAME_INFO_EV("hi", CFLAME_I64("k", 1));
  CFLAME_FRAME_MARK_NAMED("render");
  tclock_ns = 15;
  CFLAME_SPAN_END(b);
  for (int i = 0; i < 2; i++) {
    CFLAME_SPAN(c, "c");
    tclock_ns += 1;
    CFLAME_SPAN_END(c);
  }
  tclock_ns = 20;
  CFLAME_SPAN_END(a);
  assert_int_equal(cflame_guard_drop(g), 0);
  assert_int_equal(cflame_guard_drop(g), 0);
  assert_int_equal(spy.closed, 1);
  assert_int_equal(spy.done, 1);
  assert_int_equal(spy.flushes, 1);
  assert_string_equal(
      spy.log,
      /* an event comes after its thread's records up to it */
      "begin@10:root enter@10:a enter@12:b "
      "event(hi,1 fields,in a:b) mark(render,0 fields,in a:b) "
      "exit@15:a enter@15:c exit@16:a "
      "enter@16:c exit@17:a exit@20:root "
      "node a d1 self 5 x1; node b d2 self 3 x1; node c d2 self 2 x2; ");
}

static void test_sinks_joining_sink_counts_from_its_install(void **state) {
  (void)state;
  cflame_guard_t *g1, *g2;
  assert_int_equal(cflame_flame_writer(memout_write, &agg, NULL, &g1), 0);
  CFLAME_SPAN(a, "a");
  tclock_ns += 5;
  assert_int_equal(cflame_flame_writer(memout_write, &stream, NULL, &g2), 0);
  tclock_ns += 2;
  CFLAME_SPAN_END(a);
  assert_int_equal(cflame_guard_drop(g2), 0);
  assert_int_equal(cflame_guard_drop(g1), 0);
  assert_string_equal(memout_str(&agg), "main;test_sinks::a 7\n");
  /* The slice in progress at its install (no event split it) is counted
   * whole by the joining sink. */
  assert_string_equal(memout_str(&stream), "main;test_sinks::a 7\n");
}

/* compensate on the real clock: cflame's own calibration spans register
 * cleanly (no repaired name reported) and never reach the output. */
static void test_sinks_compensate_real_clock(void **state) {
  (void)state;
  (void)cflame_clock_set(NULL, NULL);
  errlog_t log;
  memset(&log, 0, sizeof log);
  cflame_on_error(errlog_fn, &log);
  cflame_flame_opts_t o = cflame_flame_opts_default();
  o.compensate = true;
  cflame_guard_t *g = NULL;
  assert_int_equal(cflame_flame_writer(memout_write, &agg, &o, &g), 0);
  work(3);
  assert_int_equal(cflame_guard_drop(g), 0);
  cflame_on_error(NULL, NULL);
  for (int k = 0; k < CFLAME_FAULT_KIND_COUNT_; k++)
    assert_int_equal(log.count[k], 0);
  const char *text = memout_str(&agg);
  assert_int_equal(
      folded_check(text, strlen(text), FOLDED_CHECK_SORTED, NULL, NULL, NULL),
      0);
  assert_null(strstr(text, "calibration"));
  assert_non_null(strstr(text, "main;test_sinks::work"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_sinks_compensate_real_clock, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_sinks_three_at_once_agree, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_sinks_user_sink_sees_everything,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(
          test_sinks_joining_sink_counts_from_its_install, setup, teardown),
  };
  return cmocka_run_group_tests_name("sinks", tests, NULL, NULL);
}
