/* The timeline sink's registry spans: a request's lifetime as an async
 * slice (b/e) and flow arrows (s -> f) from the slice it was made in to
 * each of its enters in turn, on whichever thread; byte-exact under the
 * injected clock, and the strict checker on a pool of threads. */
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
#include <unistd.h>

#include "testutil.h"
#include "timeline_check.h"

static memout_t out;
static errlog_t errs;
static cflame_guard_t *guard;
static uint64_t clock_base;

static int setup(void **state) {
  (void)state;
  clock_base += UINT64_C(1000000000000);
  memset(&out, 0, sizeof out);
  memset(&errs, 0, sizeof errs);
  cflame_on_error(errlog_fn, &errs);
  tclock_install(clock_base);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  (void)cflame_guard_drop(guard);
  guard = NULL;
  memout_free(&out);
  cflame_on_error(NULL, NULL);
  (void)cflame_clock_set(NULL, NULL);
  return 0;
}

static void install(const cflame_timeline_opts_t *o) {
  assert_int_equal(cflame_timeline_writer(memout_write, &out, o, &guard), 0);
}

static void check(unsigned flags, timeline_summary_t *sum) {
  timeline_check_error_t e;
  if (timeline_check(out.buf, out.len,
                     flags | TIMELINE_CHECK_E_NAMES | TIMELINE_CHECK_COMPLETE,
                     &e, sum) != 0)
    fail_msg("rule %d line %zu: %s\n%.*s", e.rule, e.line, e.msg,
             (int)(out.len < 8000 ? out.len : 8000), out.buf);
}

static size_t count(const char *s, const char *what) {
  size_t n = 0;
  for (const char *p = s; (p = strstr(p, what)) != NULL; p++)
    n++;
  return n;
}

/* --- one request, two threads, byte for byte -------------------------------- */

static cflame_span_t req;

typedef struct hop_s {
  uint64_t at;  /* the thread's clock */
  int child;    /* a scoped span inside the request */
} hop_t;

static void *serve(void *arg) {
  const hop_t *h = arg;
  tclock_ns = clock_base + h->at;
  cflame_span_enter(req);
  tclock_ns += 4;
  if (h->child) {
    CFLAME_SPAN(parse, "parse");
    tclock_ns += 6;
    CFLAME_SPAN_END(parse);
  }
  tclock_ns += 2;
  cflame_span_exit(req);
  return NULL;
}

static void run_on_thread(hop_t *h) {
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, serve, h), 0);
  assert_int_equal(pthread_join(t, NULL), 0);
}

static void test_flow_request_hops_threads_exact(void **state) {
  (void)state;
  install(NULL);
  CFLAME_SPAN(accept, "accept");
  tclock_ns += 10;
  req = CFLAME_SPAN_NEW_ROOT("request", CFLAME_I64("id", 7));
  tclock_ns += 5;
  CFLAME_SPAN_END(accept);
  hop_t a = {100, 1}, b = {200, 0};
  run_on_thread(&a);
  run_on_thread(&b);
  cflame_span_record(req, (cflame_field_t[]){CFLAME_STR("status", "ok")}, 1);
  tclock_ns = clock_base + 300;
  cflame_span_close(req);
  assert_int_equal(cflame_guard_drop(guard), 0);
  guard = NULL;
  /* Thread-2's records reach the sink before thread-1's: arrows wait for
   * both ends, and a flow line at the start of a slice follows it. */
  char *got = text_without_pid(memout_str(&out));
  assert_non_null(got);
  const char *want =
      "[\n"
      "{\"ph\":\"M\",\"pid\":1,\"name\":\"process_name\",\"args\":{\"name\":"
      "\"cflame\",\"pid\":P}},\n"
      "{\"ph\":\"M\",\"pid\":1,\"tid\":1,\"name\":\"thread_name\",\"args\":{"
      "\"name\":\"main\"}},\n"
      "{\"ph\":\"M\",\"pid\":1,\"tid\":1,\"name\":\"thread_sort_index\","
      "\"args\":{\"sort_index\":1}},\n"
      "{\"ph\":\"b\",\"cat\":\"cflame\",\"id\":1,\"pid\":1,\"tid\":1,"
      "\"ts\":0.010,\"name\":\"test_timeline_flow::request\",\"args\":{"
      "\"id\":\"7\"}},\n"
      "{\"ph\":\"e\",\"cat\":\"cflame\",\"id\":1,\"pid\":1,\"tid\":1,"
      "\"ts\":0.300,\"name\":\"test_timeline_flow::request\",\"args\":{"
      "\"id\":\"7\",\"status\":\"ok\"}},\n"
      "{\"ph\":\"M\",\"pid\":1,\"tid\":3,\"name\":\"thread_name\",\"args\":{"
      "\"name\":\"thread-2\"}},\n"
      "{\"ph\":\"M\",\"pid\":1,\"tid\":3,\"name\":\"thread_sort_index\","
      "\"args\":{\"sort_index\":3}},\n"
      "{\"ph\":\"X\",\"pid\":1,\"tid\":3,\"ts\":0.200,\"dur\":0.006,"
      "\"name\":\"test_timeline_flow::request\",\"args\":{\"id\":\"7\"}},\n"
      "{\"ph\":\"M\",\"pid\":1,\"tid\":2,\"name\":\"thread_name\",\"args\":{"
      "\"name\":\"thread-1\"}},\n"
      "{\"ph\":\"M\",\"pid\":1,\"tid\":2,\"name\":\"thread_sort_index\","
      "\"args\":{\"sort_index\":2}},\n"
      "{\"ph\":\"f\",\"bp\":\"e\",\"cat\":\"cflame\",\"id\":2,\"pid\":1,"
      "\"tid\":3,\"ts\":0.200,\"name\":\"test_timeline_flow::request\"},\n"
      "{\"ph\":\"B\",\"pid\":1,\"tid\":2,\"ts\":0.100,\"name\":"
      "\"test_timeline_flow::request\",\"args\":{\"id\":\"7\"}},\n"
      "{\"ph\":\"f\",\"bp\":\"e\",\"cat\":\"cflame\",\"id\":1,\"pid\":1,"
      "\"tid\":2,\"ts\":0.100,\"name\":\"test_timeline_flow::request\"},\n"
      "{\"ph\":\"s\",\"cat\":\"cflame\",\"id\":2,\"pid\":1,\"tid\":2,"
      "\"ts\":0.100,\"name\":\"test_timeline_flow::request\"},\n"
      "{\"ph\":\"X\",\"pid\":1,\"tid\":2,\"ts\":0.104,\"dur\":0.006,"
      "\"name\":\"test_timeline_flow::parse\"},\n"
      "{\"ph\":\"E\",\"pid\":1,\"tid\":2,\"ts\":0.112,\"name\":"
      "\"test_timeline_flow::request\",\"args\":{\"id\":\"7\"}},\n"
      "{\"ph\":\"X\",\"pid\":1,\"tid\":1,\"ts\":0.000,\"dur\":0.015,"
      "\"name\":\"test_timeline_flow::accept\"},\n"
      "{\"ph\":\"s\",\"cat\":\"cflame\",\"id\":1,\"pid\":1,\"tid\":1,"
      "\"ts\":0.010,\"name\":\"test_timeline_flow::request\"},\n"
      "{\"ph\":\"M\",\"pid\":1,\"name\":\"process_name\",\"args\":{\"name\":"
      "\"cflame\",\"pid\":P}}\n"
      "]\n";
  if (strcmp(got, want) != 0)
    fail_msg("got:\n%s\nwant:\n%s", got, want);
  free(got);
  check(0, NULL);
}

/* --- a pool ---------------------------------------------------------------------- */

#define REQS 30
#define STAGES 3
static cflame_span_t reqs[REQS];
static int stage_of[REQS];
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static int next_job;

/* Each worker takes the next (request, stage) in turn; a request's stages
 * run in order, on whichever worker got them. */
static void *worker(void *arg) {
  tclock_ns = clock_base + (uint64_t)(size_t)arg;
  for (;;) {
    pthread_mutex_lock(&pool_lock);
    int j = next_job < REQS * STAGES ? next_job++ : -1;
    int r = j / STAGES;
    if (j >= 0) {
      tclock_ns = clock_base + 1000 + (uint64_t)j * 50; /* after the last */
      cflame_span_enter(reqs[r]);
      stage_of[r]++;
      tclock_ns += 10;
      CFLAME_SPAN(work, "work");
      tclock_ns += 20;
      CFLAME_SPAN_END(work);
      tclock_ns += 5;
      cflame_span_exit(reqs[r]);
    }
    pthread_mutex_unlock(&pool_lock);
    if (j < 0)
      return NULL;
  }
}

static void test_flow_pool_every_arrow_closed(void **state) {
  (void)state;
  cflame_timeline_opts_t o = cflame_timeline_opts_default();
  o.ring_records = 16; /* rings drain often, threads in any order */
  install(&o);
  CFLAME_SPAN(accept, "accept");
  for (int i = 0; i < REQS; i++) {
    tclock_ns += 3;
    reqs[i] = CFLAME_SPAN_NEW_ROOT("request", CFLAME_I64("id", i));
  }
  tclock_ns += 3;
  CFLAME_SPAN_END(accept);
  pthread_t t[3];
  for (size_t i = 0; i < 3; i++)
    assert_int_equal(pthread_create(&t[i], NULL, worker, (void *)i), 0);
  for (size_t i = 0; i < 3; i++)
    assert_int_equal(pthread_join(t[i], NULL), 0);
  tclock_ns = clock_base + 100000;
  for (int i = 0; i < REQS; i++) {
    assert_int_equal(stage_of[i], STAGES);
    cflame_span_close(reqs[i]);
  }
  assert_int_equal(cflame_guard_drop(guard), 0);
  guard = NULL;
  check(0, NULL);
  /* Made inside accept, then STAGES enters: STAGES arrows each. */
  assert_int_equal(count(out.buf, "\"ph\":\"s\""), REQS * STAGES);
  assert_int_equal(count(out.buf, "\"ph\":\"f\""), REQS * STAGES);
  assert_int_equal(count(out.buf, "\"ph\":\"b\""), REQS);
  assert_int_equal(count(out.buf, "\"ph\":\"e\""), REQS);
  assert_int_equal(errs.count[CFLAME_FAULT_DROPPED], 0);
}

/* --- edges ------------------------------------------------------------------------ */

/* A span made before the sink: its enters are slices, with no arrows or
 * async slice (nothing says where it began). One still open at the drop
 * ends there. */
static void test_flow_unknown_and_open_spans(void **state) {
  (void)state;
  cflame_flame_opts_t fo = cflame_flame_opts_default();
  memout_t sink0;
  memset(&sink0, 0, sizeof sink0);
  cflame_guard_t *g0 = NULL; /* a session is live: the span is made */
  assert_int_equal(cflame_flame_writer(memout_write, &sink0, &fo, &g0), 0);
  cflame_span_t old = CFLAME_SPAN_NEW_ROOT("old");
  install(NULL);
  cflame_span_t open = CFLAME_SPAN_NEW_ROOT("open");
  cflame_span_enter(old);
  tclock_ns += 4;
  cflame_span_exit(old);
  cflame_span_close(old);
  cflame_span_enter(open);
  tclock_ns += 4;
  cflame_span_exit(open);
  tclock_ns += 2;
  assert_int_equal(cflame_guard_drop(guard), 0);
  guard = NULL;
  cflame_span_close(open); /* after the drop: nothing, no crash */
  assert_int_equal(cflame_guard_drop(g0), 0);
  memout_free(&sink0);
  check(0, NULL);
  assert_int_equal(count(out.buf, "\"ph\":\"b\""), 1);
  assert_non_null(strstr(out.buf, "\"ph\":\"e\",\"cat\":\"cflame\",\"id\":1,"));
  assert_int_equal(count(out.buf, "\"ph\":\"s\""), 0);
  assert_int_equal(count(out.buf, "::old\""), 1); /* its slice */
}

/* Records sinks that did not ask for SPANS never see span records. */
static uint32_t kinds_seen;

static void kinds(void *ud, cflame_guard_t *g, const cflame_thread_t *t,
                  const cflame_record_t *r, size_t n) {
  (void)ud, (void)g, (void)t;
  for (size_t i = 0; i < n; i++)
    kinds_seen |= 1u << r[i].kind;
}

static void test_flow_plain_records_sink_sees_no_span_records(void **state) {
  (void)state;
  cflame_sink_t vt;
  memset(&vt, 0, sizeof vt);
  vt.size = sizeof vt;
  vt.needs = CFLAME_SINK_RECORDS;
  vt.records = kinds;
  cflame_guard_t *g2 = NULL;
  kinds_seen = 0;
  install(NULL);
  assert_int_equal(cflame_sink_install(&vt, NULL, &g2), 0);
  cflame_span_t s = CFLAME_SPAN_NEW_ROOT("req");
  for (int i = 0; i < 3; i++) {
    cflame_span_enter(s);
    tclock_ns += 2;
    cflame_span_exit(s);
  }
  cflame_span_close(s);
  assert_int_equal(cflame_guard_drop(g2), 0);
  assert_true(kinds_seen & (1u << CFLAME_RECORD_ENTER));
  assert_false(kinds_seen & (1u << CFLAME_RECORD_SPAN));
  assert_int_equal(cflame_guard_drop(guard), 0);
  guard = NULL;
  check(0, NULL);
  assert_int_equal(count(out.buf, "\"ph\":\"s\""), 2); /* 1->2, 2->3 */
}

int main(void) {
  const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
      T(test_flow_request_hops_threads_exact),
      T(test_flow_pool_every_arrow_closed),
      T(test_flow_unknown_and_open_spans),
      T(test_flow_plain_records_sink_sees_no_span_records),
#undef T
  };
  if (getenv("CFLAME_TEST_FILTER"))
    cmocka_set_test_filter(getenv("CFLAME_TEST_FILTER"));
  return cmocka_run_group_tests(tests, NULL, NULL);
}
