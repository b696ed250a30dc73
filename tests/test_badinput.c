/* Every public entry point fed bad input: no crash, a clear error code or a
 * counted repair, and output that still obeys FORMAT.md. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <cflame.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "folded_check.h"
#include "testutil.h"

static memout_t out;
static errlog_t errs;
static cflame_guard_t *guard;
static char *huge; /* 1 MiB of hostile bytes */

static int group_setup(void **state) {
  (void)state;
  huge = malloc(1 << 20);
  if (!huge)
    return -1;
  for (size_t i = 0; i < (1u << 20) - 1; i++)
    huge[i] = "a;\n\r\t\x1b\xff\xc0 7#"[i % 11]; /* 11 bytes, no NUL */
  huge[(1 << 20) - 1] = '\0';
  return 0;
}

static int group_teardown(void **state) {
  (void)state;
  free(huge);
  return 0;
}

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
  (void)cflame_thread_name("main");
  (void)cflame_filter_set(NULL);
  cflame_on_error(NULL, NULL);
  (void)cflame_clock_set(NULL, NULL);
  return 0;
}

static void check_output(unsigned flags) {
  folded_check_error_t e;
  if (folded_check(out.buf, out.len, flags, &e, NULL, NULL) != 0)
    fail_msg("rule %d line %zu: %s", e.rule, e.line, e.msg);
}

/* Every entry point before any setup: silent no-ops or clear errors. */
static void test_badinput_before_setup(void **state) {
  (void)state;
  static cflame_callsite_t cs = {"x", NULL, NULL, 0, CFLAME_LEVEL_INFO, NULL, 0, 0, {0, 0}};
  assert_int_equal(cflame_scope_enter(&cs), 0);
  assert_int_equal(cflame_scope_enter(NULL), 0);
  assert_int_equal(cflame_scope_enter_f(NULL, NULL, 3), 0);
  cflame_scope_exit(0);
  cflame_scope_exit(42);
  cflame_scope_record(7, NULL, 2);
  cflame_event_emit(NULL, NULL, 0);
  assert_int_equal(cflame_guard_flush(NULL), CFLAME_EINVAL);
  assert_int_equal(cflame_guard_drop(NULL), 0);
  assert_int_equal(cflame_init_env(NULL), CFLAME_EINVAL);
  assert_int_equal(cflame_thread_name(NULL), CFLAME_EINVAL);
  assert_int_equal(cflame_callsite_register(NULL), 0);
  cflame_stats(NULL);
  assert_true(cflame_span_is_none(cflame_span_new(NULL, NULL, 0)));
  assert_true(cflame_span_is_none(cflame_span_new_root(NULL, NULL, 5)));
  assert_true(cflame_span_is_none(cflame_span_clone(CFLAME_SPAN_NONE)));
  assert_string_equal(cflame_strerror(-9999), "unknown error");
  assert_string_equal(cflame_strerror(1), "unknown error");
  assert_non_null(cflame_version());
  assert_int_equal(cflame_clock_use((cflame_clock_source_t)99), CFLAME_EINVAL);
}

static void test_badinput_setup_arguments(void **state) {
  (void)state;
  cflame_guard_t *g = (cflame_guard_t *)&g; /* must be reset or untouched */
  cflame_flame_opts_t o = cflame_flame_opts_default();
  assert_int_equal(cflame_flame_file(NULL, &o, &g), CFLAME_EINVAL);
  assert_int_equal(cflame_flame_file("", &o, &g), CFLAME_EINVAL);
  assert_int_equal(cflame_flame_file("/tmp/x", &o, NULL), CFLAME_EINVAL);
  assert_int_equal(cflame_flame_file(huge, &o, &g), CFLAME_EOPEN);
  assert_int_equal(cflame_flame_fd(-5, &o, &g), CFLAME_EINVAL);
  assert_int_equal(cflame_flame_writer(NULL, NULL, &o, &g), CFLAME_EINVAL);
  o.mode = (cflame_flame_mode_t)-1;
  assert_int_equal(cflame_flame_writer(memout_write, &out, &o, &g),
                   CFLAME_EINVAL);
  o = cflame_flame_opts_default();
  o.buffer_size = (size_t)-1; /* clamped, not trusted */
  o.stream_records = (size_t)-1;
  o.mode = CFLAME_FLAME_STREAM;
  assert_int_equal(cflame_flame_writer(memout_write, &out, &o, &guard), 0);
  assert_int_equal(cflame_fmt_writer(NULL, NULL, NULL, &g), CFLAME_EINVAL);
  assert_int_equal(cflame_fmt_writer(memout_write, &out, NULL, NULL),
                   CFLAME_EINVAL);
  assert_int_equal(cflame_guard_drop(guard), 0);
  assert_int_equal(cflame_guard_drop(guard), 0);
  assert_int_equal(cflame_guard_flush(guard), CFLAME_ECLOSED);
  guard = NULL;
}

static void test_badinput_hostile_dynamic_strings(void **state) {
  (void)state;
  cflame_flame_opts_t o = cflame_flame_opts_default();
  o.fields_in_frame = true;
  o.file_and_line = true;
  assert_int_equal(cflame_flame_writer(memout_write, &out, &o, &guard), 0);
  assert_int_equal(cflame_thread_name(huge), 0);
  assert_int_equal(cflame_thread_name(""), 0);
  assert_int_equal(cflame_thread_name("# 1"), 0);
  /* Callsites with hostile name, target and file, made at run time. */
  static cflame_callsite_t cs[4];
  const char *names[] = {huge, "\xed\xa0\x80;\n", NULL, "  9"};
  for (int i = 0; i < 4; i++) {
    cs[i] = (cflame_callsite_t){names[i], i == 1 ? huge : NULL,
                                i == 2 ? huge : NULL, -5, CFLAME_LEVEL_INFO, NULL, 0, 0, {0, 0}};
    cflame_token_t t = cflame_scope_enter_f(
        &cs[i],
        (const cflame_field_t[]){CFLAME_STR(huge, huge),
                                 CFLAME_STR(NULL, "v 1"),
                                 CFLAME_F64("nan", NAN),
                                 CFLAME_F64("inf", INFINITY)},
        4);
    tclock_ns += 3;
    cflame_scope_record(t, (const cflame_field_t[]){CFLAME_STR("k;", "\n")},
                        1);
    tclock_ns += 1;
    cflame_scope_exit(t);
  }
  cflame_span_t s = cflame_span_new_root(
      &cs[0], (const cflame_field_t[]){CFLAME_STR("x", huge)}, 1);
  for (int i = 0; i < 20; i++) /* records grow past the cap: dropped */
    cflame_span_record(s, (const cflame_field_t[]){CFLAME_STR("x", huge)}, 1);
  cflame_span_enter(s);
  tclock_ns += 2;
  cflame_span_exit(s);
  cflame_span_close(s);
  assert_int_equal(cflame_filter_set(huge), CFLAME_EINVAL);
  assert_int_equal(cflame_guard_drop(guard), 0);
  guard = NULL;
  check_output(FOLDED_CHECK_SORTED);
  assert_true(out.len > 0);
  assert_true(errs.count[CFLAME_FAULT_NAME] >= 1);
  assert_true(errs.count[CFLAME_FAULT_DROPPED] >= 1);
}

static void test_badinput_misuse_of_tokens(void **state) {
  (void)state;
  assert_int_equal(cflame_flame_writer(memout_write, &out, NULL, &guard), 0);
  cflame_scope_exit(0);
  cflame_scope_exit(UINT64_MAX);
  cflame_scope_exit((uint64_t)1 << 63);
  CFLAME_SPAN(a, "a");
  /* A NULL callsite, with a sink and a stack that has no child yet (and
   * again once it has one): rejected on every path, nothing charged. */
  assert_int_equal(cflame_scope_enter(NULL), 0);
  CFLAME_SPAN(b, "b");
  assert_int_equal(cflame_scope_enter(NULL), 0);
  tclock_ns += 1;
  CFLAME_SPAN_END(a); /* out of order */
  CFLAME_SPAN_END(a); /* twice */
  CFLAME_SPAN_END(b); /* already closed by a */
  cflame_scope_record(b, (const cflame_field_t[]){CFLAME_I64("x", 1)}, 1);
  assert_int_equal(cflame_guard_flush(guard), 0);
  assert_int_equal(cflame_guard_drop(guard), 0);
  guard = NULL;
  CFLAME_SPAN_END(a); /* after drop */
  check_output(0);
  cflame_stats_t st;
  cflame_stats(&st);
  assert_true(st.errors[CFLAME_FAULT_OUT_OF_ORDER] >= 1);
  assert_true(st.errors[CFLAME_FAULT_STALE_EXIT] >= 3);
}

/* --- signals ------------------------------------------------------------ */

static volatile sig_atomic_t handler_tokens;

static void on_signal(int sig) {
  (void)sig;
  CFLAME_SPAN(h, "from-handler");
  handler_tokens += h != 0;
  CFLAME_SPAN_END(h);
}

/* The error callback runs inside a slow path: raising a signal from it puts
 * a span in the handler while the thread is inside cflame. */
static void raise_in_callback(void *ctx, cflame_fault_t kind,
                              const char *msg) {
  (void)ctx;
  (void)msg;
  if (kind == CFLAME_FAULT_DEPTH)
    raise(SIGUSR1);
}

static void deep(int n) {
  CFLAME_SPAN(s, "deep");
  if (n > 0)
    deep(n - 1);
  CFLAME_SPAN_END(s);
}

static void test_badinput_signal_reentry_is_dropped(void **state) {
  (void)state;
  struct sigaction sa, old;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGUSR1, &sa, &old);
  cflame_stats_t before, after;
  cflame_stats(&before);
  assert_int_equal(cflame_flame_writer(memout_write, &out, NULL, &guard), 0);
  /* A callsite's first use allocates (not async-signal-safe): warm it up
   * outside the handler, as README asks. */
  on_signal(0);
  raise(SIGUSR1); /* outside cflame: the handler's span is recorded */
  assert_int_equal(handler_tokens, 2);
  cflame_on_error(raise_in_callback, NULL);
  deep(CFLAME_MAX_DEPTH + 2); /* reports DEPTH from inside a slow path */
  cflame_on_error(errlog_fn, &errs);
  assert_int_equal(handler_tokens, 2); /* the re-entrant span was dropped */
  cflame_stats(&after);
  assert_int_equal(after.errors[CFLAME_FAULT_REENTRY] -
                       before.errors[CFLAME_FAULT_REENTRY],
                   1);
  assert_int_equal(cflame_guard_drop(guard), 0);
  guard = NULL;
  sigaction(SIGUSR1, &old, NULL);
  check_output(FOLDED_CHECK_SORTED);
}

/* --- files ---------------------------------------------------------------- */

static void test_badinput_file_mode_and_cloexec(void **state) {
  (void)state;
  char path[] = "/tmp/cflame-mode-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
  unlink(path);
  mode_t old = umask(077);
  assert_int_equal(cflame_flame_file(path, NULL, &guard), 0);
  umask(old);
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600); /* 0644 minus umask 077 */
  /* The output fd is close-on-exec: find it among our fds. */
  int found = 0;
  for (int i = 3; i < 1024; i++) {
    char link[64], target[256];
    snprintf(link, sizeof link, "/proc/self/fd/%d", i);
    ssize_t n = readlink(link, target, sizeof target - 1);
    if (n <= 0)
      continue;
    target[n] = '\0';
    if (strcmp(target, path) == 0) {
      assert_true(fcntl(i, F_GETFD) & FD_CLOEXEC);
      found = 1;
    }
  }
  assert_true(found);
  assert_int_equal(cflame_guard_drop(guard), 0);
  guard = NULL;
  unlink(path);
}

static void test_badinput_epipe_does_not_kill(void **state) {
  (void)state;
  int p[2];
  assert_int_equal(pipe(p), 0);
  close(p[0]); /* the reader went away */
  assert_int_equal(cflame_flame_fd(p[1], NULL, &guard), 0);
  CFLAME_SPAN(a, "a");
  tclock_ns += 1;
  CFLAME_SPAN_END(a);
  assert_int_equal(cflame_guard_flush(guard), CFLAME_EIO); /* no SIGPIPE */
  cflame_stats_t st;
  cflame_stats(&st);
  assert_int_equal(st.last_errno, EPIPE);
  assert_int_equal(cflame_guard_drop(guard), 0); /* nothing left to write */
  guard = NULL;
  close(p[1]);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_badinput_before_setup, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_badinput_setup_arguments, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_badinput_hostile_dynamic_strings,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_badinput_misuse_of_tokens, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_badinput_signal_reentry_is_dropped,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_badinput_file_mode_and_cloexec,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_badinput_epipe_does_not_kill, setup,
                                      teardown),
  };
  return cmocka_run_group_tests_name("badinput", tests, group_setup,
                                     group_teardown);
}
