/* Many threads: exact per-thread totals under a per-thread clock, thread
 * exit with open spans, root naming, flushes racing with recording. */
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

#define THREADS 8
#define ITERS 100000

static memout_t out;
static cflame_guard_t *guard;

static int setup(void **state) {
  (void)state;
  memset(&out, 0, sizeof out);
  tclock_install(0);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  (void)cflame_guard_drop(guard);
  guard = NULL;
  memout_free(&out);
  (void)cflame_clock_set(NULL, NULL);
  return 0;
}

static void drop_and_check(unsigned flags) {
  assert_int_equal(cflame_guard_drop(guard), 0);
  guard = NULL;
  folded_check_error_t e;
  if (folded_check(out.buf, out.len, flags, &e, NULL, NULL) != 0)
    fail_msg("rule %d line %zu: %s", e.rule, e.line, e.msg);
}

/* Sum of the counts of lines whose stack is exactly `stack`. */
static unsigned long long sum_of(const char *text, const char *stack) {
  unsigned long long n = 0;
  size_t len = strlen(stack);
  for (const char *p = text; *p;) {
    const char *nl = strchr(p, '\n');
    if (!strncmp(p, stack, len) && p[len] == ' ')
      n += strtoull(p + len + 1, NULL, 10);
    p = nl + 1;
  }
  return n;
}

static void *worker(void *arg) {
  int id = (int)(intptr_t)arg;
  char name[32];
  snprintf(name, sizeof name, "w-%d", id);
  tclock_ns = 1000000 * (uint64_t)id; /* each thread its own timeline */
  cflame_thread_name(name); /* the thread's clock starts here */
  for (int i = 0; i < ITERS; i++) {
    CFLAME_SPAN(a, "outer");
    tclock_ns += 1;
    CFLAME_SPAN(b, "inner");
    tclock_ns += 2;
    CFLAME_SPAN_END(b);
    tclock_ns += 3;
    CFLAME_SPAN_END(a);
    tclock_ns += (uint64_t)id + 4;
  }
  return NULL;
}

static void run_workers(void) {
  pthread_t th[THREADS];
  for (int i = 0; i < THREADS; i++)
    assert_int_equal(
        pthread_create(&th[i], NULL, worker, (void *)(intptr_t)i), 0);
  for (int i = 0; i < THREADS; i++)
    pthread_join(th[i], NULL);
}

static void check_exact(const char *s, int stream) {
  for (int id = 0; id < THREADS; id++) {
    char stack[64];
    snprintf(stack, sizeof stack, "w-%d", id);
    assert_int_equal(sum_of(s, stack), (unsigned long long)(id + 4) *
                                           (ITERS - 1));
    snprintf(stack, sizeof stack, "w-%d;test_threads::outer", id);
    assert_int_equal(sum_of(s, stack), 4ull * ITERS);
    snprintf(stack, sizeof stack,
             "w-%d;test_threads::outer;test_threads::inner", id);
    assert_int_equal(sum_of(s, stack), 2ull * ITERS);
  }
  (void)stream;
}

static void test_threads_exact_totals_aggregate(void **state) {
  (void)state;
  assert_int_equal(cflame_flame_writer(memout_write, &out, NULL, &guard), 0);
  run_workers();
  drop_and_check(FOLDED_CHECK_SORTED);
  check_exact(memout_str(&out), 0);
  /* One line per distinct stack: 3 per thread, nothing else. */
  size_t lines = 0;
  for (size_t i = 0; i < out.len; i++)
    lines += out.buf[i] == '\n';
  assert_int_equal(lines, 3 * THREADS);
}

static void test_threads_exact_totals_stream(void **state) {
  (void)state;
  cflame_flame_opts_t o = cflame_flame_opts_default();
  o.mode = CFLAME_FLAME_STREAM;
  o.stream_records = 256;
  assert_int_equal(cflame_flame_writer(memout_write, &out, &o, &guard), 0);
  run_workers();
  drop_and_check(0);
  check_exact(memout_str(&out), 1);
}

static void test_threads_collapsed(void **state) {
  (void)state;
  cflame_flame_opts_t o = cflame_flame_opts_default();
  o.threads_collapsed = true;
  o.empty_samples = false;
  assert_int_equal(cflame_flame_writer(memout_write, &out, &o, &guard), 0);
  run_workers();
  drop_and_check(FOLDED_CHECK_SORTED);
  char exp[256];
  snprintf(exp, sizeof exp,
           "all-threads;test_threads::outer %llu\n"
           "all-threads;test_threads::outer;test_threads::inner %llu\n",
           4ull * ITERS * THREADS, 2ull * ITERS * THREADS);
  assert_string_equal(memout_str(&out), exp);
}

static void *leaves_spans_open(void *arg) {
  (void)arg;
  tclock_ns = 50;
  CFLAME_SPAN(a, "left");
  tclock_ns += 2;
  CFLAME_SPAN(b, "open");
  tclock_ns += 5;
  (void)a;
  (void)b;
  return NULL; /* no END: closed at thread exit */
}

static void *unnamed(void *arg) {
  (void)arg;
  tclock_ns = 10;
  CFLAME_SPAN(a, "job");
  tclock_ns += 1;
  CFLAME_SPAN_END(a);
  return NULL;
}

static void test_threads_exit_with_open_spans(void **state) {
  (void)state;
  cflame_stats_t before, after;
  cflame_stats(&before);
  assert_int_equal(cflame_flame_writer(memout_write, &out, NULL, &guard), 0);
  pthread_t th;
  pthread_create(&th, NULL, leaves_spans_open, NULL);
  pthread_join(th, NULL);
  drop_and_check(FOLDED_CHECK_SORTED);
  cflame_stats(&after);
  assert_int_equal(after.spans_closed_at_exit - before.spans_closed_at_exit,
                   2);
  const char *s = memout_str(&out);
  unsigned n = 0;
  char tail[128];
  assert_int_equal(sscanf(s, "thread-%u;test_threads::left 2\n", &n), 1);
  snprintf(tail, sizeof tail,
           "thread-%u;test_threads::left;test_threads::open 5\n", n);
  assert_non_null(strstr(s, tail));
}

static void test_threads_numbered_in_order_of_first_use(void **state) {
  (void)state;
  assert_int_equal(cflame_flame_writer(memout_write, &out, NULL, &guard), 0);
  pthread_t th;
  pthread_create(&th, NULL, unnamed, NULL);
  pthread_join(th, NULL);
  pthread_create(&th, NULL, unnamed, NULL);
  pthread_join(th, NULL);
  drop_and_check(FOLDED_CHECK_SORTED);
  unsigned a = 0, b = 0;
  assert_int_equal(sscanf(memout_str(&out),
                          "thread-%u;test_threads::job 1\n"
                          "thread-%u;test_threads::job 1\n",
                          &a, &b),
                   2);
  assert_int_equal(b, a + 1);
}

static int stop_flushing;

static void *flusher(void *arg) {
  (void)arg;
  while (!__atomic_load_n(&stop_flushing, __ATOMIC_ACQUIRE))
    if (cflame_guard_flush(guard) != 0)
      return (void *)1;
  return NULL;
}

/* Sites of instrumented functions are named when first read: threads that
 * read the same new sites at once all get one copy of each name, made and
 * reported as repaired once (the losers' copies are freed: the sanitizer
 * builds check that and the race). The sites are made as the hooks make
 * them, with a function address and size. */
#define RACE_SITES 64
static cflame_callsite_t race_cs[RACE_SITES];
static char race_names[RACE_SITES][16];
static const char *race_seen[THREADS][RACE_SITES];
static pthread_barrier_t race_start;

static void *race_reader(void *arg) {
  const char **seen = arg;
  pthread_barrier_wait(&race_start);
  for (int i = 0; i < RACE_SITES; i++) {
    cflame_site_info_t si;
    seen[i] = cflame_site_info(race_cs[i].id_, &si) == 0 ? si.name : NULL;
  }
  return NULL;
}

static void test_threads_site_names_made_once(void **state) {
  (void)state;
  for (int i = 0; i < RACE_SITES; i++) {
    snprintf(race_names[i], sizeof race_names[i], "race %02d\n", i);
    race_cs[i] = (cflame_callsite_t){.name = race_names[i],
                                     .target = "threads",
                                     .file = "threads",
                                     .level = CFLAME_LEVEL_INFO};
    /* What instrument_table.c gives a function: its address and size. */
    race_cs[i].reserved_[1] = (void *)(uintptr_t)(0x10000 + 64 * i);
    race_cs[i].reserved_[0] = (void *)(uintptr_t)64;
    (void)cflame_callsite_register(&race_cs[i]);
    assert_true(race_cs[i].id_ != 0);
  }
  cflame_stats_t before, after;
  cflame_stats(&before);
  pthread_t th[THREADS];
  assert_int_equal(pthread_barrier_init(&race_start, NULL, THREADS), 0);
  for (int t = 0; t < THREADS; t++)
    assert_int_equal(
        pthread_create(&th[t], NULL, race_reader, (void *)race_seen[t]), 0);
  for (int t = 0; t < THREADS; t++)
    pthread_join(th[t], NULL);
  pthread_barrier_destroy(&race_start);
  /* Each name was made (and its repair reported) once. */
  cflame_stats(&after);
  assert_int_equal(after.faults[CFLAME_FAULT_NAME] -
                       before.faults[CFLAME_FAULT_NAME],
                   RACE_SITES);
  for (int i = 0; i < RACE_SITES; i++) {
    char want[16];
    snprintf(want, sizeof want, "race %02d?", i); /* the newline repaired */
    assert_non_null(race_seen[0][i]);
    assert_string_equal(race_seen[0][i], want);
    for (int t = 1; t < THREADS; t++)
      assert_ptr_equal(race_seen[t][i], race_seen[0][i]);
  }
}

static void test_threads_flush_while_recording(void **state) {
  (void)state;
  for (int mode = 0; mode < 2; mode++) {
    cflame_flame_opts_t o = cflame_flame_opts_default();
    o.mode = mode ? CFLAME_FLAME_STREAM : CFLAME_FLAME_AGGREGATE;
    o.stream_records = 128;
    memout_free(&out);
    assert_int_equal(cflame_flame_writer(memout_write, &out, &o, &guard), 0);
    __atomic_store_n(&stop_flushing, 0, __ATOMIC_RELEASE);
    pthread_t f;
    pthread_create(&f, NULL, flusher, NULL);
    run_workers();
    __atomic_store_n(&stop_flushing, 1, __ATOMIC_RELEASE);
    void *rc;
    pthread_join(f, &rc);
    assert_null(rc);
    drop_and_check(0); /* several batches: not sorted across them */
    check_exact(memout_str(&out), mode);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_threads_exact_totals_aggregate,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_threads_exact_totals_stream, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_threads_collapsed, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_threads_exit_with_open_spans,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(
          test_threads_numbered_in_order_of_first_use, setup, teardown),
      cmocka_unit_test_setup_teardown(test_threads_site_names_made_once,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_threads_flush_while_recording,
                                      setup, teardown),
  };
  return cmocka_run_group_tests_name("threads", tests, NULL, NULL);
}
