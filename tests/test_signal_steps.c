/* A signal at every instruction of the span fast paths (issue 14, item 8).
 *
 * A child process runs a short sequence of spans (a parent entering two
 * children in turn, so the one-entry cache, the sibling hint and the exit
 * fast path all run) under ptrace. The parent single-steps it and, in a
 * fresh child for each instruction boundary k of the sequence, delivers
 * SIGUSR1 after exactly k steps. The handler enters and exits a span of its
 * own. Whatever instruction it interrupts, the stack must stay consistent:
 * the handler's span lands on the stack that was current (or is dropped and
 * counted if it interrupted a slow path), no span exits out of order or
 * stale, nothing is taken for jumped over, and a span entered after the
 * sequence is at the top level.
 *
 * The library is the fake-TSC build, so the fast paths run with a counting
 * clock (each read advances it), whatever the machine. x86-64 Linux only
 * (PTRACE_SINGLESTEP). */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <cflame.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sanitizers.h"
#include "testutil.h"

#if defined(__linux__) && defined(__x86_64__)
#include <sys/ptrace.h>

/* --- the child ------------------------------------------------------------ */

static uint64_t ticks;
static uint64_t step_clock(void *ctx) {
  (void)ctx;
  /* One instruction: a signal cannot split it. */
  return __atomic_add_fetch(&ticks, 1, __ATOMIC_RELAXED);
}

static volatile int handled;

static void on_usr1(int sig) {
  (void)sig;
  handled++;
  CFLAME_SPAN(h, "h");
  CFLAME_SPAN_END(h);
}

static volatile int warm;

/* Inside each span while warming up, the handler's span runs once (called,
 * not raised: a callsite's first use allocates, which README forbids in a
 * handler), so that every node it can land on exists before the stepped
 * run, and the stepped run allocates nothing. */
static void maybe_raise(void) {
  if (warm)
    on_usr1(0);
}

__attribute__((noinline)) static void leaf(int which) {
  if (which) {
    CFLAME_SPAN(t, "one");
    maybe_raise();
    CFLAME_SPAN_END(t);
  } else {
    CFLAME_SPAN(t, "two");
    maybe_raise();
    CFLAME_SPAN_END(t);
  }
}

__attribute__((noinline)) static void sequence(void) {
  CFLAME_SPAN(t, "outer");
  maybe_raise();
  leaf(1);
  leaf(0);
  leaf(1);
  CFLAME_SPAN_END(t);
}

/* The stacks the handler's span may land on, and the sequence's own. */
static const char *const allowed[] = {
    "main",          "main;outer",     "main;outer;one", "main;outer;two",
    "main;h",        "main;outer;h",   "main;outer;one;h",
    "main;outer;two;h", "main;after"};

static int check_output(const char *text, const errlog_t *log, int calls) {
  int bad = 0, after = 0, h = 0;
  for (const char *line = text; *line;) {
    const char *nl = strchr(line, '\n');
    size_t len = nl ? (size_t)(nl - line) : strlen(line);
    const char *sp = memrchr(line, ' ', len);
    size_t stack = sp ? (size_t)(sp - line) : len;
    int ok = 0;
    for (size_t i = 0; i < sizeof allowed / sizeof *allowed; i++)
      if (strlen(allowed[i]) == stack && !memcmp(allowed[i], line, stack))
        ok = 1;
    if (!ok) {
      fprintf(stderr, "unexpected stack: %.*s\n", (int)len, line);
      bad = 1;
    }
    after += stack == 10 && !memcmp(line, "main;after", 10);
    h += stack >= 2 && !memcmp(line + stack - 2, ";h", 2);
    line += len + (nl != NULL);
  }
  if (after != 1) {
    fprintf(stderr, "\"main;after\" %d times, want once\n", after);
    bad = 1;
  }
  /* Each handler span is on some stack, or was dropped and counted. */
  if (h + (int)log->count[CFLAME_FAULT_REENTRY] != calls) {
    fprintf(stderr, "handler spans: %d lines, %u dropped, %d calls\n", h,
            log->count[CFLAME_FAULT_REENTRY], calls);
    bad = 1;
  }
  static const cflame_fault_t never[] = {CFLAME_FAULT_OUT_OF_ORDER,
                                         CFLAME_FAULT_STALE_EXIT,
                                         CFLAME_FAULT_UNWOUND};
  for (size_t i = 0; i < sizeof never / sizeof *never; i++)
    if (log->count[never[i]]) {
      fprintf(stderr, "fault %d reported: %s\n", (int)never[i], log->last);
      bad = 1;
    }
  return bad;
}

static cflame_flame_mode_t mode;

static void child(int traced) {
  static memout_t out;
  static errlog_t log;
  cflame_on_error(errlog_fn, &log);
  if (cflame_clock_set(step_clock, NULL) != 0)
    _exit(10);
  cflame_flame_opts_t o = cflame_flame_opts_default();
  o.module_path = false;
  o.mode = mode;
  cflame_guard_t *g = NULL;
  if (cflame_flame_writer(memout_write, &out, &o, &g) != 0)
    _exit(11);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr1;
  sigaction(SIGUSR1, &sa, NULL);
  warm = 1;
  maybe_raise();
  sequence();
  warm = 0;
  sequence();
  /* What warming up left is not under test: start counting from here. */
  if (cflame_guard_flush(g) != 0)
    _exit(12);
  memout_free(&out);
  memset(&log, 0, sizeof log);
  handled = 0;
  if (traced && ptrace(PTRACE_TRACEME, 0, NULL, NULL) != 0)
    _exit(13);
  raise(SIGSTOP); /* the parent starts stepping here */
  sequence();
  raise(SIGSTOP); /* and stops here */
  CFLAME_SPAN(z, "after");
  CFLAME_SPAN_END(z);
  if (cflame_guard_drop(g) != 0)
    _exit(14);
  _exit(check_output(memout_str(&out), &log, handled) ? 1 : 0);
}

/* --- the tracer ----------------------------------------------------------- */

/* Forks a traced child and steps it `steps` instructions past its first
 * stop (all of them to its second stop if steps < 0), then delivers
 * SIGUSR1 there, unless steps < 0. Returns the number of steps taken, or -1
 * if the child did not exit 0. */
static long run(long steps) {
  fflush(NULL);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    alarm(60);
    child(1);
  }
  int st = 0;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  assert_true(WIFSTOPPED(st) && WSTOPSIG(st) == SIGSTOP);
  long n = 0;
  for (;;) {
    if (steps >= 0 && n == steps) {
      assert_int_equal(ptrace(PTRACE_CONT, pid, NULL, (void *)SIGUSR1), 0);
      break;
    }
    assert_int_equal(ptrace(PTRACE_SINGLESTEP, pid, NULL, NULL), 0);
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFSTOPPED(st));
    if (WSTOPSIG(st) != SIGTRAP) { /* the second stop */
      assert_int_equal(WSTOPSIG(st), SIGSTOP);
      assert_true(steps < 0);
      assert_int_equal(ptrace(PTRACE_CONT, pid, NULL, NULL), 0);
      break;
    }
    n++;
  }
  /* Let it run to its end, suppressing the second SIGSTOP. */
  for (;;) {
    assert_int_equal(waitpid(pid, &st, 0), pid);
    if (!WIFSTOPPED(st))
      break;
    int sig = WSTOPSIG(st) == SIGSTOP ? 0 : WSTOPSIG(st);
    assert_int_equal(ptrace(PTRACE_CONT, pid, NULL, (void *)(intptr_t)sig),
                     0);
  }
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    fprintf(stderr, "child with the signal after %ld steps: %s %d\n", steps,
            WIFEXITED(st) ? "exited" : "killed by signal",
            WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
    return -1;
  }
  return n;
}

/* Sanitizer builds run many times the instructions, and each child is
 * stepped up to its boundary: there a sample of boundaries checks the
 * harness; the plain and Release builds check every one. */
#if TEST_ASAN || TEST_TSAN
#define SAMPLED 1
#endif

static void signal_at_every_instruction(void **state) {
  mode = *(cflame_flame_mode_t *)*state;
  long total = run(-1); /* no signal: counts the sequence's instructions */
  assert_true(total > 0);
  long stride = 1;
#ifdef SAMPLED
  stride = total / 40 + 1;
#endif
  long failed = 0, first = -1, tried = 0;
  for (long k = 0; k <= total; k += stride, tried++)
    if (run(k) < 0 && failed++ == 0)
      first = k;
  if (failed)
    fail_msg("%ld of %ld instruction boundaries left a wrong stack (first: "
             "after %ld steps)",
             failed, tried, first);
  printf("signal delivered at %ld of %ld instruction boundaries\n", tried,
         total + 1);
}

/* The check itself must be able to fail: a handler span neither written
 * nor counted as dropped, an unknown stack, a reported fault. */
static void check_refuses_bad_output(void **state) {
  (void)state;
  errlog_t log;
  memset(&log, 0, sizeof log);
  assert_int_equal(check_output("main;after 1\nmain;outer;h 2\n", &log, 1),
                   0);
  assert_int_equal(check_output("main;after 1\n", &log, 0), 0);
  assert_int_not_equal(check_output("main;after 1\n", &log, 1), 0);
  assert_int_not_equal(check_output("main;after 1\nmain;outer;one;h;one 2\n"
                                    "main;h 1\n",
                                    &log, 1),
                       0);
  assert_int_not_equal(check_output("main;h;after 1\n", &log, 1), 0);
  log.count[CFLAME_FAULT_STALE_EXIT] = 1;
  assert_int_not_equal(check_output("main;after 1\nmain;h 2\n", &log, 1), 0);
}

int main(void) {
  /* Aggregate sessions run the fast paths; stream sessions the routes that
   * also write records. */
  static cflame_flame_mode_t aggregate = CFLAME_FLAME_AGGREGATE,
                             stream = CFLAME_FLAME_STREAM;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(check_refuses_bad_output),
      cmocka_unit_test_prestate(signal_at_every_instruction, &aggregate),
      cmocka_unit_test_prestate(signal_at_every_instruction, &stream),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

#else
static void not_here(void **state) {
  (void)state;
  skip(); /* needs PTRACE_SINGLESTEP on x86-64 Linux */
}
int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(not_here)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
#endif
