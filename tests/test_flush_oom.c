/* Out of memory during aggregate flushes (issue 14, item 10): the flame
 * sink's sources (flame.c, flame_text.c) are compiled into this binary with
 * support/failalloc.h forced in, and every allocation of a flush is made to
 * fail in turn, once and from then on. After each, and after a later flush
 * that may allocate, the file is valid (FORMAT.md, sorted), and its total is
 * exact unless a loss was counted. */
#define _GNU_SOURCE
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
#include <unistd.h>

#include "files.h"
#include "folded_check.h"
#include "testutil.h"

/* --- allocation failures ----------------------------------------------- */

#undef malloc
#undef calloc
#undef realloc
long failalloc_at = -1, failalloc_count;
int failalloc_once;

static int failing(void) {
  long k = failalloc_count++;
  return failalloc_at >= 0 &&
         (failalloc_once ? k == failalloc_at : k >= failalloc_at);
}
void *failalloc_malloc(size_t n) {
  return failing() ? NULL : malloc(n);
}
void *failalloc_calloc(size_t n, size_t size) {
  return failing() ? NULL : calloc(n, size);
}
void *failalloc_realloc(void *p, size_t n) {
  return failing() ? NULL : realloc(p, n);
}

/* --- the case ------------------------------------------------------------- */

static char dir[64], path[128];

static void *exiting_thread(void *arg) {
  (void)arg;
  tclock_ns = 1000;
  for (int i = 0; i < 40; i++) {
    char name[32];
    snprintf(name, sizeof name, "gone_%02d", i);
    cflame_token_t t = cflame_scope_enter_dynamic(name, NULL,
                                                  CFLAME_LEVEL_INFO);
    tclock_ns += 10;
    cflame_scope_exit(t);
  }
  return NULL;
}

static void some_spans(int round) {
  for (int i = 0; i < 30; i++) {
    char name[32];
    snprintf(name, sizeof name, "live_%d_%02d", round, i);
    cflame_token_t t = cflame_scope_enter_dynamic(name, NULL,
                                                  CFLAME_LEVEL_INFO);
    tclock_ns += 7;
    cflame_scope_exit(t);
  }
}

/* Valid, sorted, no empty stack; returns the total of its counts. */
static unsigned long long check_file(void) {
  folded_check_error_t err;
  unsigned long long total = 0;
  if (folded_check_file(path, FOLDED_CHECK_SORTED, &err, NULL, &total) != 0)
    fail_msg("invalid output: rule %d line %zu: %s", err.rule, err.line,
             err.msg);
  return total;
}

static uint64_t dropped(void) {
  cflame_stats_t st;
  cflame_stats(&st);
  return st.faults[CFLAME_FAULT_DROPPED];
}

/* Returns how many allocations the flush made (k < 0: none fails). */
static long one_case(long k, int once) {
  tclock_install(1000);
  cflame_guard_t *g = NULL;
  assert_int_equal(cflame_flame_file(path, NULL, &g), 0);
  some_spans(0);
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, exiting_thread, NULL), 0);
  pthread_join(th, NULL);
  uint64_t lost0 = dropped();
  failalloc_once = once;
  long before = failalloc_count;
  failalloc_at = k < 0 ? -1 : before + k;
  (void)cflame_guard_flush(g);
  failalloc_at = -1;
  long made = failalloc_count - before;
  (void)check_file();
  some_spans(1);
  assert_int_equal(cflame_guard_flush(g), 0);
  unsigned long long total = check_file();
  /* 30 + 30 spans of 7 on main, 40 of 10 on the thread that exited. */
  if (dropped() == lost0)
    assert_int_equal(total, 60 * 7 + 40 * 10);
  else
    assert_true(total >= 60 * 7 && total <= 60 * 7 + 40 * 10);
  assert_int_equal(cflame_guard_drop(g), 0);
  assert_int_equal(check_file(), total);
  (void)cflame_clock_set(NULL, NULL);
  return made;
}

static void noop_error(void *ctx, cflame_fault_t kind, const char *msg) {
  (void)ctx, (void)kind, (void)msg;
}

/* Every allocation of a flush fails in turn, once and from then on. */
static void test_flush_oom_every_allocation(void **state) {
  (void)state;
  cflame_on_error(noop_error, NULL);
  long n = one_case(-1, 0);
  assert_true(n > 0);
  for (long k = 0; k <= n; k++) {
    (void)one_case(k, 1);
    (void)one_case(k, 0);
  }
  cflame_on_error(NULL, NULL);
}

static int setup(void **state) {
  (void)state;
  if (tmpdir_make(dir, sizeof dir, "oom") != 0)
    return -1;
  snprintf(path, sizeof path, "%s/out", dir);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  return tmpdir_remove(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_flush_oom_every_allocation),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
