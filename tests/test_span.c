/* Registry spans: ancestry stacks across threads, reference counting,
 * closed-handle detection, bounded slab; fields in frames and records. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <cflame.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
  tclock_install(0);
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

static void install(bool fields) {
  cflame_flame_opts_t o = cflame_flame_opts_default();
  o.fields_in_frame = fields;
  assert_int_equal(cflame_flame_writer(memout_write, &out, &o, &guard), 0);
}

static void drop_and_check(void) {
  assert_int_equal(cflame_guard_drop(guard), 0);
  guard = NULL;
  folded_check_error_t e;
  if (folded_check(out.buf, out.len, FOLDED_CHECK_SORTED, &e, NULL, NULL))
    fail_msg("rule %d line %zu: %s\n%s", e.rule, e.line, e.msg,
             memout_str(&out));
}

/* --- cross-thread ---------------------------------------------------------- */

static cflame_span_t task;

static void *pool_thread(void *arg) {
  (void)arg;
  tclock_ns = 100;
  cflame_thread_name("pool");
  cflame_span_enter(task);
  tclock_ns += 7;
  CFLAME_SPAN(io, "io"); /* a scoped span inside a registry span */
  tclock_ns += 2;
  CFLAME_SPAN_END(io);
  cflame_span_exit(task);
  return NULL;
}

static void test_span_task_moves_to_another_thread(void **state) {
  (void)state;
  install(false);
  CFLAME_SPAN(req, "request");
  tclock_ns += 3;
  task = CFLAME_SPAN_NEW("task");
  assert_false(cflame_span_is_none(task));
  tclock_ns += 1;
  CFLAME_SPAN_END(req);
  pthread_t th;
  pthread_create(&th, NULL, pool_thread, NULL);
  pthread_join(th, NULL);
  cflame_span_close(task);
  drop_and_check();
  /* The task's stack is its ancestry (request), not the pool's stack. */
  assert_string_equal(memout_str(&out),
                      "main;test_span::request 4\n"
                      "pool;test_span::request;test_span::task 7\n"
                      "pool;test_span::request;test_span::task;"
                      "test_span::io 2\n");
}

static void *enter_twice(void *arg) {
  cflame_span_t s = *(const cflame_span_t *)arg;
  tclock_ns = 0;
  for (int i = 0; i < 1000; i++) {
    cflame_span_enter(s);
    tclock_ns += 3;
    cflame_span_exit(s);
    tclock_ns += 1;
  }
  return NULL;
}

static void test_span_entered_on_two_threads_at_once(void **state) {
  (void)state;
  install(false);
  cflame_span_t s = CFLAME_SPAN_NEW_ROOT("shared");
  pthread_t a, b;
  pthread_create(&a, NULL, enter_twice, &s);
  pthread_create(&b, NULL, enter_twice, &s);
  pthread_join(a, NULL);
  pthread_join(b, NULL);
  cflame_span_close(s);
  cflame_stats_t st;
  cflame_stats(&st);
  assert_int_equal(st.spans_live, 0);
  drop_and_check();
  /* Each thread has its own "thread-N;test_span::shared 3000" line. */
  const char *txt = memout_str(&out);
  int lines = 0;
  for (const char *p = txt; (p = strstr(p, ";test_span::shared 3000\n"));
       p++)
    lines++;
  assert_int_equal(lines, 2);
}

static void test_span_child_of_and_root(void **state) {
  (void)state;
  install(false);
  CFLAME_SPAN(outer, "outer");
  cflame_span_t root = CFLAME_SPAN_NEW_ROOT("root");
  cflame_span_t conn = CFLAME_SPAN_NEW("conn");
  cflame_span_t child = CFLAME_SPAN_NEW_CHILD_OF(conn, "query");
  CFLAME_SPAN_END(outer);
  cflame_span_enter(root);
  tclock_ns += 1;
  cflame_span_exit(root);
  cflame_span_enter(child);
  tclock_ns += 2;
  cflame_span_enter(conn); /* nested registry spans on one thread */
  tclock_ns += 4;
  cflame_span_exit(conn);
  cflame_span_exit(child);
  cflame_span_close(root);
  cflame_span_close(conn);
  cflame_span_close(child);
  drop_and_check();
  assert_string_equal(memout_str(&out),
                      "main;test_span::outer;test_span::conn 4\n"
                      "main;test_span::outer;test_span::conn;"
                      "test_span::query 2\n"
                      "main;test_span::root 1\n");
}

/* --- reference counting and closed handles ---------------------------------- */

static void test_span_refcount_and_use_after_close(void **state) {
  (void)state;
  install(false);
  cflame_stats_t before, after;
  cflame_stats(&before);
  cflame_span_t s = CFLAME_SPAN_NEW_ROOT("r");
  assert_int_equal(cflame_span_clone(s).id, s.id);
  cflame_span_close(s); /* one reference left */
  cflame_span_enter(s);
  tclock_ns += 5;
  cflame_span_close(s); /* the open enter still holds the span */
  cflame_span_exit(s);  /* last reference: freed now */
  cflame_stats(&after);
  assert_int_equal(after.spans_live, before.spans_live);
  assert_int_equal(after.errors[CFLAME_FAULT_CLOSED_SPAN],
                   before.errors[CFLAME_FAULT_CLOSED_SPAN]);
  /* Every use of the dead handle is caught, counted, harmless. */
  cflame_span_enter(s);
  cflame_span_exit(s);
  cflame_span_record(s, CFLAME__FIELDS(CFLAME_I64("x", 1)));
  assert_true(cflame_span_is_none(cflame_span_clone(s)));
  cflame_span_close(s);
  cflame_stats(&after);
  assert_int_equal(after.errors[CFLAME_FAULT_CLOSED_SPAN] -
                       before.errors[CFLAME_FAULT_CLOSED_SPAN],
                   5);
  assert_int_equal(errs.count[CFLAME_FAULT_CLOSED_SPAN], 1);
  /* A reused slot gets a new generation: the old handle stays dead. */
  cflame_span_t s2 = CFLAME_SPAN_NEW_ROOT("r2");
  assert_true(s2.id != s.id);
  cflame_span_enter(s); /* still rejected */
  cflame_span_close(s2);
  /* Forged and NULL handles. */
  cflame_span_t forged = {0x123456789abcull};
  cflame_span_enter(forged);
  cflame_span_enter(CFLAME_SPAN_NONE);
  cflame_span_exit(CFLAME_SPAN_NONE);
  cflame_span_close(CFLAME_SPAN_NONE);
  drop_and_check();
  assert_string_equal(memout_str(&out), "main;test_span::r 5\n");
}

static void test_span_slab_stays_bounded(void **state) {
  (void)state;
  install(false);
  cflame_span_t live[1000];
  for (int round = 0; round < 200; round++) {
    for (int i = 0; i < 1000; i++) {
      live[i] = CFLAME_SPAN_NEW_ROOT("many");
      cflame_span_enter(live[i]);
      cflame_span_exit(live[i]);
    }
    for (int i = 0; i < 1000; i++)
      cflame_span_close(live[i]);
  }
  cflame_stats_t st;
  cflame_stats(&st);
  assert_int_equal(st.spans_live, 0);
  /* 200k spans made; the handles index at most ~1000 distinct slots. */
  assert_true((live[999].id & 0xffffffffu) <= 1024);
  drop_and_check();
}

static void test_span_exit_on_wrong_thread_is_ignored(void **state) {
  (void)state;
  install(false);
  cflame_span_t s = CFLAME_SPAN_NEW_ROOT("mine");
  cflame_span_exit(s); /* never entered here */
  assert_int_equal(errs.count[CFLAME_FAULT_STALE_EXIT], 1);
  cflame_span_close(s);
  drop_and_check();
  assert_string_equal(memout_str(&out), "");
}

static void descend_under(int n) {
  CFLAME_SPAN(u, "under");
  tclock_ns += 1;
  if (n > 0)
    descend_under(n - 1);
  CFLAME_SPAN_END(u);
}

static void descend(int n, cflame_span_t s) {
  CFLAME_SPAN(d, "down");
  if (n > 0)
    descend(n - 1, s);
  else {
    cflame_span_enter(s); /* a shallow node on a deep stack slot */
    for (int round = 0; round < 2; round++) /* the 2nd round hits caches */
      descend_under(CFLAME_MAX_DEPTH + 50);
    cflame_span_exit(s);
  }
  CFLAME_SPAN_END(d);
}

static void test_span_deep_registry_frame_never_overflows(void **state) {
  (void)state;
  install(false);
  cflame_span_t s = CFLAME_SPAN_NEW_ROOT("shallow");
  cflame_span_enter(s); /* first on a shallow slot: caches fill all the way */
  descend_under(CFLAME_MAX_DEPTH + 50);
  cflame_span_exit(s);
  descend(CFLAME_MAX_DEPTH - 5, s);
  cflame_span_close(s);
  drop_and_check();
  assert_non_null(strstr(memout_str(&out), "main;test_span::shallow;"));
}

static void test_span_extra_close_while_entered(void **state) {
  (void)state;
  install(false);
  cflame_stats_t before, after;
  cflame_stats(&before);
  cflame_span_t a = CFLAME_SPAN_NEW_ROOT("a");
  cflame_span_enter(a);
  cflame_span_close(a);
  cflame_span_close(a); /* one too many: frees a while entered */
  cflame_span_t b = CFLAME_SPAN_NEW_ROOT("b"); /* may reuse a's slot */
  cflame_span_exit(a); /* must not touch b */
  cflame_stats(&after);
  assert_int_equal(after.spans_live - before.spans_live, 1);
  cflame_span_enter(b);
  tclock_ns += 2;
  cflame_span_exit(b);
  cflame_span_close(b);
  cflame_stats(&after);
  assert_int_equal(after.spans_live, before.spans_live);
  drop_and_check();
  assert_non_null(strstr(memout_str(&out), "main;test_span::b 2\n"));
}

/* --- fields ----------------------------------------------------------------- */

static void query(const char *table, int rows) {
  CFLAME_SPAN_F(q, "query", CFLAME_STR("table", table), CFLAME_I64("rows", rows));
  tclock_ns += 10;
  CFLAME_SPAN_END(q);
}

static void test_span_fields_in_frame(void **state) {
  (void)state;
  install(true);
  query("users", 1);
  query("orders", 2);
  query("users", 1);
  query("a;b\n</svg>", -3);
  CFLAME_SPAN(r, "rec");
  tclock_ns += 1;
  CFLAME_RECORD(r, CFLAME_BOOL("hit", true), CFLAME_F64("ratio", 0.5));
  tclock_ns += 2;
  CFLAME_SPAN_END(r);
  cflame_span_t s = CFLAME_SPAN_NEW_ROOT("conn", CFLAME_U64("id", 7));
  cflame_span_record(s, CFLAME__FIELDS(CFLAME_FIELD("peer", "10.0.0.1")));
  cflame_span_enter(s);
  tclock_ns += 4;
  cflame_span_exit(s);
  cflame_span_close(s);
  drop_and_check();
  assert_string_equal(
      memout_str(&out),
      "main;test_span::conn{id=7, peer=10.0.0.1} 4\n"
      "main;test_span::query{table=a:b?</svg>, rows=-3} 10\n"
      "main;test_span::query{table=orders, rows=2} 10\n"
      "main;test_span::query{table=users, rows=1} 20\n"
      "main;test_span::rec 1\n"
      "main;test_span::rec{hit=true, ratio=0.5} 2\n");
}

static void test_span_fields_off_by_default(void **state) {
  (void)state;
  install(false);
  query("users", 1);
  query("orders", 2);
  drop_and_check();
  assert_string_equal(memout_str(&out), "main;test_span::query 20\n");
}

static void test_span_field_generic_types(void **state) {
  (void)state;
  install(true);
  unsigned u = 4000000000u;
  long long neg = -5;
  double d = 1.25;
  _Bool b = 0;
  const char *str = "s";
  CFLAME_SPAN_F(t, "types", CFLAME_FIELD("u", u), CFLAME_FIELD("i", neg),
                CFLAME_FIELD("d", d), CFLAME_FIELD("b", b),
                CFLAME_FIELD("s", str), CFLAME_STR("null", NULL));
  tclock_ns += 1;
  CFLAME_SPAN_END(t);
  drop_and_check();
  assert_string_equal(memout_str(&out),
                      "main;test_span::types{u=4000000000, i=-5, d=1.25, "
                      "b=false, s=s, null=(null)} 1\n");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_span_task_moves_to_another_thread,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_span_entered_on_two_threads_at_once,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_span_child_of_and_root, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_span_refcount_and_use_after_close,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_span_slab_stays_bounded, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_span_exit_on_wrong_thread_is_ignored,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(
          test_span_deep_registry_frame_never_overflows, setup, teardown),
      cmocka_unit_test_setup_teardown(test_span_extra_close_while_entered,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_span_fields_in_frame, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_span_fields_off_by_default, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_span_field_generic_types, setup,
                                      teardown),
  };
  return cmocka_run_group_tests_name("span", tests, NULL, NULL);
}
