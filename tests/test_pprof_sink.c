/* The pprof sink: exact stacks and values under the injected clock, read
 * back with the strict decoder of tests/support/pprof_check.c; the same
 * per-stack totals as a flame sink of the same run; enter counts; hostile
 * names; write errors; fork and exit; one complete profile per flush. */
/* cmocka.h needs these first, in this order. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <cflame.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "files.h"
#include "pprof_check.h"
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

static void decode(const void *buf, size_t len, pprof_result_t *r) {
  if (pprof_check(buf ? buf : "", len, PPROF_CHECK_THREAD_ROOT, r))
    fail_msg("invalid profile: %s", r->error);
}

static void expect(const pprof_result_t *r, const char *stack, long long calls,
                   long long wall) {
  const pprof_stack_t *s = pprof_find(r, stack);
  if (!s)
    fail_msg("stack \"%s\" missing", stack);
  if (s->calls != calls || s->wall != wall)
    fail_msg("%s: calls %lld wall %lld, expected %lld %lld", stack, s->calls,
             s->wall, calls, wall);
}

/* 1000: enter parse (+10) enter lex (+5) exit lex (+3) exit parse (+7)
 * enter emit (+4) exit emit (+2) enter tail (+1) exit tail. */
static void script(void) {
  CFLAME_SPAN(parse, "parse");
  tclock_ns += 10;
  CFLAME_SPAN(lex, "lex");
  tclock_ns += 5;
  CFLAME_SPAN_END(lex);
  tclock_ns += 3;
  CFLAME_SPAN_END(parse);
  tclock_ns += 7;
  CFLAME_SPAN(emit, "emit");
  tclock_ns += 4;
  CFLAME_SPAN_END(emit);
  tclock_ns += 2;
  CFLAME_SPAN(tail, "tail");
  tclock_ns += 1;
  CFLAME_SPAN_END(tail);
}

#define F(x) "test_pprof_sink::" x

static void expect_script(const pprof_result_t *r, long long k) {
  expect(r, "main;" F("parse"), k, 13 * k);
  expect(r, "main;" F("parse") ";" F("lex"), k, 5 * k);
  expect(r, "main;" F("emit"), k, 4 * k);
  expect(r, "main;" F("tail"), k, k);
}

static void test_pprof_sink_script_exact(void **state) {
  (void)state;
  assert_int_equal(cflame_pprof_writer(memout_write, &out, NULL, &guard), 0);
  script();
  assert_int_equal(cflame_guard_drop(guard), 0);
  guard = NULL;
  pprof_result_t r;
  decode(out.buf, out.len, &r);
  assert_int_equal(r.nstacks, 5);
  expect_script(&r, 1);
  expect(&r, "main", 0, 9); /* time outside spans: no frame, the label */
  assert_int_equal(r.locations, 4);
  assert_int_equal(r.functions, 4);
  assert_int_equal(r.sample_types, 2);
  assert_string_equal(r.period_type, "wall/nanoseconds");
  assert_int_equal(r.period, 1);
  assert_int_equal(r.duration_nanos, 32); /* install at 1000, drop at 1032 */
  assert_true(r.time_nanos > 1500000000LL * 1000000000LL);
  pprof_result_free(&r);
  /* Functions carry the callsite's file. */
  const char file[] = "test_pprof_sink.c";
  int found = 0;
  for (size_t i = 0; i + sizeof file - 1 <= out.len && !found; i++)
    found = !memcmp(out.buf + i, file, sizeof file - 1);
  assert_true(found);
}

static void test_pprof_sink_options(void **state) {
  (void)state;
  cflame_pprof_opts_t o = cflame_pprof_opts_default();
  o.empty_samples = false;
  o.module_path = false;
  assert_int_equal(cflame_pprof_writer(memout_write, &out, &o, &guard), 0);
  script();
  assert_int_equal(cflame_guard_drop(guard), 0);
  guard = NULL;
  pprof_result_t r;
  decode(out.buf, out.len, &r);
  assert_int_equal(r.nstacks, 4);
  assert_null(pprof_find(&r, "main"));
  expect(&r, "main;parse;lex", 1, 5);
  expect(&r, "main;tail", 1, 1);
  pprof_result_free(&r);
}

static void test_pprof_sink_enter_counts(void **state) {
  (void)state;
  assert_int_equal(cflame_pprof_writer(memout_write, &out, NULL, &guard), 0);
  for (int i = 0; i < 5; i++) {
    CFLAME_SPAN(a, "outer");
    for (int j = 0; j < 3; j++) {
      CFLAME_SPAN(b, "inner");
      tclock_ns += 2;
      CFLAME_SPAN_END(b);
    }
    tclock_ns += 1;
    CFLAME_SPAN_END(a);
  }
  assert_int_equal(cflame_guard_drop(guard), 0);
  guard = NULL;
  pprof_result_t r;
  decode(out.buf, out.len, &r);
  expect(&r, "main;" F("outer"), 5, 5);
  expect(&r, "main;" F("outer") ";" F("inner"), 15, 30);
  pprof_result_free(&r);
}

/* --- equal to the flame sink -----------------------------------------------
 */

static void *worker(void *arg) {
  tclock_ns = 0;
  (void)cflame_thread_name((const char *)arg);
  for (int i = 0; i < 3; i++) {
    CFLAME_SPAN(a, "job");
    tclock_ns += 7;
    CFLAME_SPAN(b, "step");
    tclock_ns += 3;
    CFLAME_SPAN_END(b);
    CFLAME_SPAN_END(a);
    tclock_ns += 1;
  }
  return NULL;
}

/* One pprof and one flame sink through memory writers; after every flush
 * the new profile's per-stack totals equal the folded lines just added. */
static void test_pprof_sink_equals_flame(void **state) {
  (void)state;
  memout_t folded = {0};
  cflame_guard_t *fg = NULL;
  assert_int_equal(cflame_flame_writer(memout_write, &folded, NULL, &fg), 0);
  assert_int_equal(cflame_pprof_writer(memout_write, &out, NULL, &guard), 0);
  size_t pp = 0, fp = 0;
  for (int round = 0; round < 3; round++) {
    script();
    if (round != 1) {
      pthread_t th[2];
      pthread_create(&th[0], NULL, worker, "w-1");
      pthread_create(&th[1], NULL, worker, "w-2");
      pthread_join(th[0], NULL);
      pthread_join(th[1], NULL);
    }
    assert_int_equal(cflame_guard_flush(fg), 0);
    assert_int_equal(cflame_guard_flush(guard), 0);
    pprof_result_t r;
    decode(out.buf + pp, out.len - pp, &r);
    char msg[512];
    if (pprof_compare_folded(&r, folded.buf + fp, folded.len - fp, msg,
                             sizeof msg))
      fail_msg("round %d: %s", round, msg);
    expect_script(&r, 1);
    if (round != 1)
      expect(&r, "w-1;" F("job") ";" F("step"), 3, 9);
    else
      assert_null(pprof_find(&r, "w-1;" F("job")));
    pprof_result_free(&r);
    pp = out.len;
    fp = folded.len;
  }
  assert_int_equal(cflame_guard_drop(fg), 0);
  memout_free(&folded);
}

/* --- names -------------------------------------------------------------------
 */

static void test_pprof_sink_hostile_names(void **state) {
  (void)state;
  assert_int_equal(cflame_pprof_writer(memout_write, &out, NULL, &guard), 0);
  assert_int_equal(cflame_thread_name("\xef\xbb\xbf# evil;\r\nthread 1"), 0);
  /* clang-format off */
  { CFLAME_SPAN(s, "[u8; 8]"); tclock_ns++; CFLAME_SPAN_END(s); }
  { CFLAME_SPAN(s, "cr\rlf\nesc\x1b[0m"); tclock_ns++; CFLAME_SPAN_END(s); }
  { CFLAME_SPAN(s, "bad\xff\xc0\xaf\xed\xa0\x80"); tclock_ns++; CFLAME_SPAN_END(s); }
  { CFLAME_SPAN(s, ""); tclock_ns++; CFLAME_SPAN_END(s); }
  { CFLAME_SPAN(s, NULL); tclock_ns++; CFLAME_SPAN_END(s); }
  { CFLAME_SPAN(s, "&amp;<tag>\"'"); tclock_ns++; CFLAME_SPAN_END(s); }
  /* clang-format on */
  assert_int_equal(cflame_guard_drop(guard), 0);
  guard = NULL;
  pprof_result_t r;
  decode(out.buf, out.len, &r); /* strings valid UTF-8, indexes in range */
  const char *root = "?# evil:??thread_1;";
  char s[128];
  snprintf(s, sizeof s, "%s" F("[u8: 8]"), root);
  expect(&r, s, 1, 1);
  snprintf(s, sizeof s, "%s" F("cr?lf?esc?[0m"), root);
  expect(&r, s, 1, 1);
  snprintf(s, sizeof s, "%s" F("bad??????"), root);
  expect(&r, s, 1, 1);
  snprintf(s, sizeof s, "%s" F("[unknown]"), root); /* "" and NULL */
  expect(&r, s, 2, 2);
  snprintf(s, sizeof s, "%s" F("&amp:<tag>\"'"), root);
  expect(&r, s, 1, 1);
  pprof_result_free(&r);
}

/* --- errors, fork, exit
 * --------------------------------------------------------- */

static void test_pprof_sink_write_errors(void **state) {
  (void)state;
  const int codes[] = {ENOSPC, EPIPE};
  for (int c = 0; c < 2; c++) {
    memout_free(&out);
    memset(&errs, 0, sizeof errs);
    assert_int_equal(cflame_pprof_writer(memout_write, &out, NULL, &guard), 0);
    out.fail_errno = codes[c];
    out.fail_at = 10;
    script();
    assert_int_equal(cflame_guard_flush(guard), CFLAME_EIO);
    cflame_stats_t st;
    cflame_stats(&st);
    assert_int_equal(st.last_errno, codes[c]);
    assert_true(errs.count[CFLAME_FAULT_WRITE] >= 1);
    assert_int_equal(out.len, 10);
    /* The fault clears: the next flush is a whole profile again, of the
     * interval since the failed one. */
    out.fail_errno = 0;
    out.len = 0;
    script();
    assert_int_equal(cflame_guard_drop(guard), 0);
    guard = NULL;
    pprof_result_t r;
    decode(out.buf, out.len, &r);
    expect_script(&r, 1);
    pprof_result_free(&r);
  }
}

static long fd_append(void *ctx, const void *buf, size_t len) {
  ssize_t n = write(*(int *)ctx, buf, len);
  return n < 0 ? -errno : (long)n;
}

static void test_pprof_sink_fork_child_writes_nothing(void **state) {
  (void)state;
  char path[] = "/tmp/cflame-pprof-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  assert_int_equal(cflame_pprof_writer(fd_append, &fd, NULL, &guard), 0);
  script();
  assert_int_equal(cflame_guard_flush(guard), 0);
  off_t size = lseek(fd, 0, SEEK_END);
  assert_true(size > 0);
  CFLAME_SPAN(open_at_fork, "pending");
  tclock_ns += 2;
  fflush(NULL);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    /* Unflushed parent data, an open span, a guard never dropped. */
    CFLAME_SPAN(t, "child");
    tclock_ns += 100;
    (void)t;
    exit(0);
  }
  int status = wait_child(pid);
  assert_true(status != -1);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
  assert_int_equal(lseek(fd, 0, SEEK_END), size);
  tclock_ns += 3;
  CFLAME_SPAN_END(open_at_fork);
  assert_int_equal(cflame_guard_drop(guard), 0);
  guard = NULL;
  size_t len;
  char *buf = slurp(path, &len);
  assert_non_null(buf);
  pprof_result_t r;
  decode(buf + size, len - (size_t)size, &r);
  assert_int_equal(r.nstacks, 1);
  expect(&r, "main;" F("pending"), 1, 5);
  pprof_result_free(&r);
  free(buf);
  close(fd);
  unlink(path);
}

static void *exit_inside_span(void *arg) {
  (void)arg;
  tclock_ns = 0;
  (void)cflame_thread_name("gone");
  CFLAME_SPAN(w, "warm");
  tclock_ns += 1;
  CFLAME_SPAN_END(w);
  tclock_ns += 2; /* root time: a retired sample without frames */
  CFLAME_SPAN(a, "work");
  tclock_ns += 6;
  CFLAME_SPAN(b, "open");
  tclock_ns += 4;
  (void)a, (void)b;
  return NULL; /* both spans left open: closed at thread exit */
}

/* A regular file is rewritten whole: the run so far, exited threads too. */
static void test_pprof_sink_file_rewritten_whole(void **state) {
  (void)state;
  char path[] = "/tmp/cflame-pprof-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
  assert_int_equal(cflame_pprof_file(path, NULL, &guard), 0);
  script();
  pthread_t th;
  pthread_create(&th, NULL, exit_inside_span, NULL);
  pthread_join(th, NULL);
  assert_int_equal(cflame_guard_flush(guard), 0);
  pprof_result_t r;
  assert_int_equal(pprof_check_file(path, PPROF_CHECK_THREAD_ROOT, &r), 0);
  expect_script(&r, 1);
  expect(&r, "gone;" F("work"), 1, 6);
  expect(&r, "gone;" F("work") ";" F("open"), 1, 4);
  expect(&r, "gone;" F("warm"), 1, 1);
  expect(&r, "gone", 0, 2);
  pprof_result_free(&r);
  script();
  assert_int_equal(cflame_guard_flush(guard), 0);
  script();
  assert_int_equal(cflame_guard_drop(guard), 0);
  guard = NULL;
  assert_int_equal(pprof_check_file(path, PPROF_CHECK_THREAD_ROOT, &r), 0);
  expect_script(&r, 3);
  expect(&r, "main", 0, 27);
  expect(&r, "gone;" F("work"), 1, 6);
  expect(&r, "gone;" F("work") ";" F("open"), 1, 4);
  expect(&r, "gone", 0, 2);
  assert_int_equal(r.duration_nanos, 3 * 32);
  pprof_result_free(&r);
  unlink(path);
}

/* A process that exits without dropping its guard, inside a span, writes
 * a complete profile at exit. */
static void test_pprof_sink_process_exit_in_span(void **state) {
  (void)state;
  char path[] = "/tmp/cflame-pprof-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
  fflush(NULL);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    cflame_guard_t *g;
    tclock_install(0);
    if (cflame_pprof_file(path, NULL, &g) != 0)
      _exit(3);
    CFLAME_SPAN(a, "outer");
    tclock_ns += 5;
    CFLAME_SPAN(b, "inner");
    tclock_ns += 7;
    (void)a, (void)b;
    exit(0);
  }
  int status = wait_child(pid);
  assert_true(status != -1);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
  pprof_result_t r;
  if (pprof_check_file(path, PPROF_CHECK_THREAD_ROOT, &r))
    fail_msg("%s", r.error);
  expect(&r, "main;" F("outer"), 1, 5);
  expect(&r, "main;" F("outer") ";" F("inner"), 1, 7);
  pprof_result_free(&r);
  unlink(path);
}

/* To a pipe each flush is one complete profile of its interval. */
static void test_pprof_sink_pipe_profile_per_flush(void **state) {
  (void)state;
  int p[2];
  assert_int_equal(pipe(p), 0);
  assert_int_equal(fcntl(p[0], F_SETFL, O_NONBLOCK), 0);
  assert_int_equal(cflame_pprof_fd(p[1], NULL, &guard), 0);
  static char buf[65536];
  for (int round = 0; round < 4; round++) {
    for (int k = 0; k < round; k++)
      script();
    tclock_ns += 100;
    assert_int_equal(cflame_guard_flush(guard), 0);
    ssize_t n = read(p[0], buf, sizeof buf);
    assert_true(n > 0);
    pprof_result_t r;
    decode(buf, (size_t)n, &r);
    assert_int_equal(r.duration_nanos, 32 * round + 100);
    if (round == 0) { /* the thread records from its first span on */
      assert_int_equal(r.nstacks, 0);
      assert_int_equal(r.samples, 0);
    } else {
      expect_script(&r, round);
      /* Time after the last exit is charged at the next enter. */
      expect(&r, "main", 0, 9 * round + (round > 1 ? 100 : 0));
    }
    pprof_result_free(&r);
  }
  assert_int_equal(cflame_guard_drop(guard), 0);
  guard = NULL;
  close(p[0]);
  close(p[1]);
}

static int stop_spinning;

static void *spinner(void *arg) {
  (void)arg;
  for (unsigned i = 0; !__atomic_load_n(&stop_spinning, __ATOMIC_ACQUIRE);
       i++) {
    CFLAME_SPAN(a, "spin");
    tclock_ns += 1;
    if (i % 3 == 0) {
      CFLAME_SPAN(b, "inner");
      tclock_ns += 2;
      CFLAME_SPAN_END(b);
    }
    CFLAME_SPAN_END(a);
  }
  return NULL;
}

/* Flushes while two threads record: every profile is valid (TSan runs this
 * one too). */
static void test_pprof_sink_flush_while_recording(void **state) {
  (void)state;
  assert_int_equal(cflame_pprof_writer(memout_write, &out, NULL, &guard), 0);
  __atomic_store_n(&stop_spinning, 0, __ATOMIC_RELEASE);
  pthread_t th[2];
  for (int i = 0; i < 2; i++)
    assert_int_equal(pthread_create(&th[i], NULL, spinner, NULL), 0);
  size_t cuts[21] = {0};
  for (int k = 1; k <= 20; k++) {
    script();
    assert_int_equal(cflame_guard_flush(guard), 0);
    cuts[k] = out.len;
  }
  __atomic_store_n(&stop_spinning, 1, __ATOMIC_RELEASE);
  for (int i = 0; i < 2; i++)
    pthread_join(th[i], NULL);
  for (int k = 1; k <= 20; k++) {
    pprof_result_t r;
    decode(out.buf + cuts[k - 1], cuts[k] - cuts[k - 1], &r);
    expect_script(&r, 1);
    pprof_result_free(&r);
  }
}

static void test_pprof_sink_env_and_setup_errors(void **state) {
  (void)state;
  char path[] = "/tmp/cflame-pprof-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
  assert_int_equal(cflame_pprof_fd(-1, NULL, &guard), CFLAME_EINVAL);
  assert_int_equal(cflame_pprof_writer(NULL, NULL, NULL, &guard),
                   CFLAME_EINVAL);
  assert_int_equal(cflame_pprof_file("", NULL, &guard), CFLAME_EINVAL);
  assert_int_equal(cflame_pprof_file("/nonexistent/dir/x.pb", NULL, &guard),
                   CFLAME_EOPEN);
  assert_int_equal(setenv("CFLAME_PPROF", path, 1), 0);
  int rc = cflame_init_env(&guard);
  unsetenv("CFLAME_PPROF");
  assert_int_equal(rc, 0);
  assert_non_null(guard);
  script();
  assert_int_equal(cflame_guard_drop(guard), 0);
  guard = NULL;
  pprof_result_t r;
  assert_int_equal(pprof_check_file(path, PPROF_CHECK_THREAD_ROOT, &r), 0);
  expect_script(&r, 1);
  pprof_result_free(&r);
  unlink(path);
}

int main(void) {
  const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
      T(test_pprof_sink_script_exact),
      T(test_pprof_sink_options),
      T(test_pprof_sink_enter_counts),
      T(test_pprof_sink_equals_flame),
      T(test_pprof_sink_hostile_names),
      T(test_pprof_sink_write_errors),
      T(test_pprof_sink_fork_child_writes_nothing),
      T(test_pprof_sink_file_rewritten_whole),
      T(test_pprof_sink_process_exit_in_span),
      T(test_pprof_sink_pipe_profile_per_flush),
      T(test_pprof_sink_flush_while_recording),
      T(test_pprof_sink_env_and_setup_errors),
#undef T
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
