/* Spans jumped over heal themselves: longjmp across 1, 3 and 600 frames,
 * a protected-call loop, a longjmp out of a signal handler, a handler on an
 * alternate signal stack (no false healing), marks, and ucontext fibers. */
#define _GNU_SOURCE /* ucontext, sigaltstack, MAP_ANONYMOUS */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <cflame.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

#include "folded_check.h"
#include "testutil.h"

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
  cflame_unwind_auto(true);
  return 0;
}

static void install(int stream) {
  cflame_flame_opts_t o = cflame_flame_opts_default();
  o.mode = stream ? CFLAME_FLAME_STREAM : CFLAME_FLAME_AGGREGATE;
  assert_int_equal(cflame_flame_writer(memout_write, &out, &o, &guard), 0);
}

/* Drops the sink and returns the validated per-stack sums (malloc'd). */
static char *drop_sums(void) {
  assert_int_equal(cflame_guard_drop(guard), 0);
  guard = NULL;
  folded_check_error_t e;
  if (folded_check(out.buf, out.len, 0, &e, NULL, NULL) != 0)
    fail_msg("rule %d line %zu: %s", e.rule, e.line, e.msg);
  assert_null(strstr(memout_str(&out), "[truncated]"));
  return folded_sums(memout_str(&out));
}

static uint64_t unwound(void) {
  cflame_stats_t st;
  cflame_stats(&st);
  return st.faults[CFLAME_FAULT_UNWOUND];
}

/* --- longjmp across N frames ------------------------------------------------ */

static jmp_buf env;
static volatile int jump = 1;

__attribute__((noinline)) static void dive(int n) {
  CFLAME_SPAN(t, "dive");
  tclock_ns += 1;
  if (n > 1)
    dive(n - 1);
  else if (jump)
    longjmp(env, 1);
  CFLAME_SPAN_END(t); /* not reached while jump is set */
}

__attribute__((noinline)) static void after(void) {
  CFLAME_SPAN(t, "after");
  tclock_ns += 2;
  CFLAME_SPAN_END(t);
}

/* The expected sums: depth d of the recursion, `rounds` ns each. */
static char *expected_dive(int depth, int rounds) {
  size_t cap = (size_t)depth * (size_t)depth * 20 + 1024, len = 0;
  char *e = malloc(cap);
  len += (size_t)sprintf(e, "main;test_unwind::after 2\n");
  char stack[64 * 1024] = "main";
  size_t sl = 4;
  for (int d = 1; d <= depth; d++) {
    sl += (size_t)sprintf(stack + sl, ";test_unwind::dive");
    len += (size_t)snprintf(e + len, cap - len, "%s %d\n", stack, rounds);
  }
  char *sorted = folded_sums(e);
  free(e);
  return sorted;
}

/* The setjmp sits one call below whoever enters the next span, as a
 * protected call sits below the code that goes on after it. */
__attribute__((noinline)) static void dive_rounds(int depth, int rounds) {
  for (volatile int r = 0; r < rounds; r++)
    if (!setjmp(env))
      dive(depth);
}

static void run_dives(int depth, int rounds, int stream) {
  install(stream);
  uint64_t before = unwound();
  dive_rounds(depth, rounds);
  after(); /* shallower: heals the last round */
  assert_int_equal(unwound() - before, (uint64_t)depth * (uint64_t)rounds);
  char *got = drop_sums(), *want = expected_dive(depth, rounds);
  assert_string_equal(got, want);
  free(got);
  free(want);
}

static void test_unwind_longjmp_one_frame(void **state) {
  (void)state;
  run_dives(1, 50, 0);
}

static void test_unwind_longjmp_three_frames_both_modes(void **state) {
  (void)state;
  run_dives(3, 40, 0);
  memout_free(&out);
  memset(&out, 0, sizeof out);
  run_dives(3, 40, 1);
}

static void test_unwind_longjmp_deep(void **state) {
  (void)state;
  /* Deeper than the 511 frames a stack keeps: the rounds must not pile up
   * (each starts from main again), so the file stays exact above the cap. */
  install(0);
  uint64_t before = unwound();
  dive_rounds(600, 3);
  after();
  assert_int_equal(unwound() - before, 3 * 600);
  assert_int_equal(cflame_guard_drop(guard), 0);
  guard = NULL;
  const char *text = memout_str(&out);
  /* lines are sorted: "after" comes first, right under main */
  assert_int_equal(strncmp(text, "main;test_unwind::after 2\n", 26), 0);
  /* depth 1 and the [truncated] tail each got exactly the 3 rounds */
  assert_non_null(strstr(text, "main;test_unwind::dive 3\n"));
  const char *tr = strstr(text, "[truncated] ");
  assert_non_null(tr);
  assert_int_equal(strtol(tr + 12, NULL, 10), 3 * (600 - (CFLAME_MAX_DEPTH - 1)));
}

/* --- a protected-call loop (Lua's pcall, a C library's error handling) ---- */

__attribute__((noinline)) static int risky(int i) {
  CFLAME_SPAN(t, "risky");
  tclock_ns += 1;
  if (i % 2)
    longjmp(env, 1);
  CFLAME_SPAN_END(t);
  return i;
}

__attribute__((noinline)) static int pcall(int i) {
  if (setjmp(env))
    return -1;
  return risky(i);
}

__attribute__((noinline)) static void interpreter(void) {
  CFLAME_SPAN(t, "interpret");
  for (int i = 0; i < 100; i++) {
    (void)pcall(i);
    CFLAME_SPAN(s, "step");
    tclock_ns += 1;
    CFLAME_SPAN_END(s);
  }
  CFLAME_SPAN_END(t);
}

/* Recursion the compiler may inline into one frame (Release builds do):
 * its levels share one stack position and are told apart by their return
 * addresses, from the callsite's very first enter on. */
static inline void recurse(int n) {
  CFLAME_SPAN(s, "recurse");
  tclock_ns += 1;
  if (n > 0)
    recurse(n - 1);
  CFLAME_SPAN_END(s);
}

static void test_unwind_inlined_recursion_first_call(void **state) {
  (void)state;
  errlog_t log;
  memset(&log, 0, sizeof log);
  cflame_on_error(errlog_fn, &log);
  install(0);
  recurse(3); /* the callsite's first enters */
  recurse(3);
  char *sums = drop_sums();
  cflame_on_error(NULL, NULL);
  assert_string_equal(sums,
                      "main;test_unwind::recurse 2\n"
                      "main;test_unwind::recurse;test_unwind::recurse 2\n"
                      "main;test_unwind::recurse;test_unwind::recurse;"
                      "test_unwind::recurse 2\n"
                      "main;test_unwind::recurse;test_unwind::recurse;"
                      "test_unwind::recurse;test_unwind::recurse 2\n");
  free(sums);
  for (int k = 0; k < CFLAME_FAULT_KIND_COUNT_; k++)
    assert_int_equal(log.count[k], 0);
}

static void test_unwind_protected_call_loop(void **state) {
  (void)state;
  install(0);
  uint64_t before = unwound();
  interpreter();
  assert_int_equal(unwound() - before, 50);
  char *got = drop_sums();
  assert_string_equal(got, "main;test_unwind::interpret;test_unwind::risky 100\n"
                           "main;test_unwind::interpret;test_unwind::step 100\n");
  free(got);
}

/* --- signals ------------------------------------------------------------------ */

static sigjmp_buf senv;

/* Registered before the handler first runs: a callsite's first use
 * allocates, which a signal handler must not. */
static cflame_callsite_t handler_cs = {"handler", NULL, __FILE__, __LINE__,
                                       CFLAME_LEVEL_INFO, NULL, 0,
                                       CFLAME_INTEREST_UNKNOWN, {0, 0}};

static void jumping_handler(int sig) {
  (void)sig;
  (void)cflame_scope_enter(&handler_cs); /* never exited: the jump */
  tclock_ns += 4;
  siglongjmp(senv, 1);
}

__attribute__((noinline)) static void interrupted(void) {
  CFLAME_SPAN(t, "interrupted");
  tclock_ns += 1;
  raise(SIGUSR1);
  CFLAME_SPAN_END(t);
}

__attribute__((noinline)) static void signal_rounds(void) {
  for (volatile int r = 0; r < 5; r++)
    if (!sigsetjmp(senv, 1))
      interrupted();
}

static void test_unwind_longjmp_out_of_signal_handler(void **state) {
  (void)state;
  struct sigaction sa, old;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = jumping_handler;
  sigemptyset(&sa.sa_mask);
  assert_int_equal(sigaction(SIGUSR1, &sa, &old), 0);
  install(0);
  (void)cflame_callsite_register(&handler_cs);
  signal_rounds();
  after();
  char *got = drop_sums();
  assert_string_equal(got, "main;test_unwind::after 2\n"
                           "main;test_unwind::interrupted 5\n"
                           "main;test_unwind::interrupted;test_unwind::handler "
                           "20\n");
  free(got);
  sigaction(SIGUSR1, &old, NULL);
}

/* A handler on an alternate stack mapped above the thread's stack: its
 * span looks shallower than the interrupted frames, yet closes none. */
static char low_stack[256 * 1024] __attribute__((aligned(64)));

static cflame_callsite_t alt_cs = {"alt_handler", NULL, __FILE__, __LINE__,
                                   CFLAME_LEVEL_INFO, NULL, 0,
                                   CFLAME_INTEREST_UNKNOWN, {0, 0}};

static void alt_handler(int sig) {
  (void)sig;
  cflame_token_t t = cflame_scope_enter(&alt_cs);
  tclock_ns += 3;
  cflame_scope_exit(t);
}

__attribute__((noinline)) static void on_low_stack(void) {
  CFLAME_SPAN(t, "work");
  tclock_ns += 1;
  raise(SIGUSR2);
  tclock_ns += 1;
  CFLAME_SPAN_END(t);
}

static void *low_thread(void *arg) {
  void *alt = arg;
  stack_t ss = {.ss_sp = alt, .ss_size = 256 * 1024, .ss_flags = 0};
  if (sigaltstack(&ss, NULL) != 0)
    return (void *)1;
  tclock_ns = 0;
  on_low_stack();
  ss.ss_flags = SS_DISABLE;
  sigaltstack(&ss, NULL);
  return NULL;
}

static void test_unwind_alternate_signal_stack_heals_nothing(void **state) {
  (void)state;
  void *alt = mmap(NULL, 256 * 1024, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  assert_true(alt != MAP_FAILED);
  /* The point of the test: the handler's stack lies above the thread's. */
  assert_true((uintptr_t)alt > (uintptr_t)low_stack);
  struct sigaction sa, old;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = alt_handler;
  sa.sa_flags = SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  assert_int_equal(sigaction(SIGUSR2, &sa, &old), 0);
  install(0);
  (void)cflame_callsite_register(&alt_cs); /* not in the handler */
  uint64_t before = unwound();
  pthread_attr_t at;
  pthread_attr_init(&at);
  pthread_attr_setstack(&at, low_stack, sizeof low_stack);
  pthread_t th;
  assert_int_equal(pthread_create(&th, &at, low_thread, alt), 0);
  void *rc;
  pthread_join(th, &rc);
  assert_null(rc);
  assert_int_equal(unwound() - before, 0);
  char *got = drop_sums();
  assert_string_equal(got, "thread-1;test_unwind::work 2\n"
                           "thread-1;test_unwind::work;test_unwind::alt_handler "
                           "3\n");
  free(got);
  sigaction(SIGUSR2, &old, NULL);
  munmap(alt, 256 * 1024);
}

/* --- marks ------------------------------------------------------------------------ */

static void test_unwind_mark_and_unwind(void **state) {
  (void)state;
  install(0);
  CFLAME_SPAN(a, "a");
  cflame_mark_t m = cflame_mark();
  CFLAME_SPAN(b, "b");
  CFLAME_SPAN(c, "c");
  tclock_ns += 5;
  uint64_t before = unwound();
  cflame_unwind(m); /* b and c close now */
  assert_int_equal(unwound() - before, 2);
  tclock_ns += 1;
  cflame_unwind(m); /* nothing left above the mark */
  CFLAME_SPAN_END(c); /* stale now: ignored */
  CFLAME_SPAN_END(a);
  (void)b;
  char *got = drop_sums();
  assert_string_equal(got, "main;test_unwind::a 1\n"
                           "main;test_unwind::a;test_unwind::b;test_unwind::c "
                           "5\n");
  free(got);
}

/* --- fibers ----------------------------------------------------------------------- */

static ucontext_t sched_ctx, fib_ctx[2];
static cflame_fiber_t *fib[2];
static cflame_token_t fib_tok[2];

static void fiber_body(int k) {
  /* A span open across the switches: entered in one run, exited in the
   * next, with the scheduler doing its own spans in between. */
  cflame_token_t t;
  if (k) {
    CFLAME_SPAN(tb, "fiber_b");
    t = tb;
  } else {
    CFLAME_SPAN(ta, "fiber_a");
    t = ta;
  }
  fib_tok[k] = t;
  tclock_ns += (uint64_t)(k + 1);
  swapcontext(&fib_ctx[k], &sched_ctx);
  tclock_ns += 10;
  CFLAME_SPAN_END(t);
  swapcontext(&fib_ctx[k], &sched_ctx);
}

static void fiber_a(void) { fiber_body(0); }
static void fiber_b(void) { fiber_body(1); }

static void run_fiber(int k) {
  assert_int_equal(cflame_fiber_resume(fib[k]), 0);
  swapcontext(&sched_ctx, &fib_ctx[k]);
  assert_int_equal(cflame_fiber_suspend(fib[k]), 0);
}

static void test_unwind_ucontext_fibers(void **state) {
  (void)state;
  install(0);
  void (*bodies[2])(void) = {fiber_a, fiber_b};
  char *stacks[2];
  for (int k = 0; k < 2; k++) {
    fib[k] = cflame_fiber_new();
    assert_non_null(fib[k]);
    stacks[k] = malloc(128 * 1024);
    getcontext(&fib_ctx[k]);
    fib_ctx[k].uc_stack.ss_sp = stacks[k];
    fib_ctx[k].uc_stack.ss_size = 128 * 1024;
    fib_ctx[k].uc_link = &sched_ctx;
    makecontext(&fib_ctx[k], bodies[k], 0);
  }
  uint64_t before = unwound();
  CFLAME_SPAN(s, "schedule");
  run_fiber(0);
  run_fiber(1);
  CFLAME_SPAN(g, "gap"); /* the scheduler's own work between runs */
  tclock_ns += 7;
  CFLAME_SPAN_END(g);
  run_fiber(1);
  run_fiber(0);
  CFLAME_SPAN_END(s);
  assert_int_equal(unwound() - before, 0);
  assert_true(fib_tok[0] != 0 && fib_tok[1] != 0);
  assert_int_equal(cflame_fiber_resume(NULL), CFLAME_EINVAL);
  assert_int_equal(cflame_fiber_suspend(fib[0]), CFLAME_EINVAL);
  for (int k = 0; k < 2; k++) {
    cflame_fiber_free(fib[k]);
    free(stacks[k]);
  }
  char *got = drop_sums();
  assert_string_equal(got, "main;test_unwind::schedule;test_unwind::fiber_a 11\n"
                           "main;test_unwind::schedule;test_unwind::fiber_b 12\n"
                           "main;test_unwind::schedule;test_unwind::gap 7\n");
  free(got);
}

int main(void) {
  const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
      T(test_unwind_inlined_recursion_first_call),
      T(test_unwind_longjmp_one_frame),
      T(test_unwind_longjmp_three_frames_both_modes),
      T(test_unwind_longjmp_deep),
      T(test_unwind_protected_call_loop),
      T(test_unwind_longjmp_out_of_signal_handler),
      T(test_unwind_alternate_signal_stack_heals_nothing),
      T(test_unwind_mark_and_unwind),
      T(test_unwind_ucontext_fibers),
#undef T
  };
  return cmocka_run_group_tests_name("unwind", tests, NULL, NULL);
}
