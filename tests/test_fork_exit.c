/* Process boundaries: what reaches the file when a process ends every way
 * it can (run in a helper, cflame-exit-child), and that a fork child never
 * writes the parent's data but can record its own. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <cflame.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "files.h"
#include "folded_check.h"
#include "testutil.h"

#ifndef EXIT_CHILD
#error "EXIT_CHILD must name the cflame-exit-child helper"
#endif

extern char **environ;

static cflame_guard_t *guard;
static char dir[64];

static int setup(void **state) {
  (void)state;
  return tmpdir_make(dir, sizeof dir, "fork");
}

static int teardown(void **state) {
  (void)state;
  (void)cflame_guard_drop(guard);
  guard = NULL;
  (void)cflame_clock_set(NULL, NULL);
  return tmpdir_remove(dir);
}

/* The whole file as a NUL-terminated string (caller frees); NULL if it
 * cannot be read. */
/* Does some line start with `prefix` and contain `part` in its stack? */
static int has_line(const char *text, const char *prefix, const char *part) {
  for (const char *p = text; *p;) {
    const char *nl = strchr(p, '\n');
    size_t len = nl ? (size_t)(nl - p) : strlen(p);
    const char *sp = memrchr(p, ' ', len);
    size_t stack = sp ? (size_t)(sp - p) : len;
    if (!strncmp(p, prefix, strlen(prefix)) &&
        (!part || memmem(p, stack, part, strlen(part))))
      return 1;
    if (!nl)
      break;
    p = nl + 1;
  }
  return 0;
}

/* --- process exit, in the helper ------------------------------------------ */

/* Runs the helper with MODE (in stream mode if `stream`), waits, and
 * returns the file it wrote. */
static char *run_child(const char *mode, int stream, size_t *len) {
  char path[160];
  snprintf(path, sizeof path, "%s/%s-%s.folded", dir, mode,
           stream ? "stream" : "aggregate");
  char *argv[] = {EXIT_CHILD, (char *)mode, path, stream ? "stream" : NULL,
                  NULL};
  pid_t pid;
  int rc = posix_spawn(&pid, EXIT_CHILD, NULL, NULL, argv, environ);
  if (rc != 0)
    fail_msg("posix_spawn %s: %s", EXIT_CHILD, strerror(rc));
  int status = wait_child(pid);
  assert_true(status != -1);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    fail_msg("mode %s stream %d: helper %s %d", mode, stream,
             WIFEXITED(status) ? "exited with" : "killed by signal",
             WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
  /* Stream files keep time order: only aggregate ones are sorted. */
  folded_check_error_t e;
  if (folded_check_file(path, stream ? 0 : FOLDED_CHECK_SORTED, &e, NULL,
                        NULL) != 0)
    fail_msg("mode %s stream %d: rule %d line %zu: %s", mode, stream, e.rule,
             e.line, e.msg);
  char *text = slurp(path, len);
  assert_non_null(text);
  return text;
}

/* Everything up to the end is there, in both modes: the main thread's
 * spans, the ones it had open (closed by the exit), both workers', and
 * those of a thread that had exited before. */
static void expect_everything(const char *mode, int main_inner_closed) {
  for (int stream = 0; stream < 2; stream++) {
    size_t len = 0;
    char *s = run_child(mode, stream, &len);
    int ok = has_line(s, "main;", "exit_child::work") &&
             has_line(s, "worker-1;", "exit_child::step") &&
             has_line(s, "worker-2;", "exit_child::step") &&
             has_line(s, "brief;", "exit_child::once") &&
             (!main_inner_closed ||
              has_line(s, "main;", "exit_child::work;exit_child::inner"));
    if (!ok)
      fail_msg("mode %s stream %d: missing lines in\n%s", mode, stream, s);
    free(s);
  }
}

static void test_exit_return_from_main_keeps_all(void **state) {
  (void)state;
  expect_everything("return", 1);
}

static void test_exit_exit_in_nested_span_keeps_all(void **state) {
  (void)state;
  expect_everything("exit", 1);
}

static void test_exit_quick_exit_keeps_all(void **state) {
  (void)state;
  expect_everything("quick_exit", 1);
}

static void test_exit_from_worker_thread_keeps_all(void **state) {
  (void)state;
  /* main is blocked inside "work": its time up to its last enter is in. */
  expect_everything("thread-exit", 0);
}

static void test_exit_immediate_exit_loses_unflushed(void **state) {
  (void)state;
  size_t len = 1;
  char *s = run_child("_exit", 0, &len);
  assert_int_equal(len, 0); /* documented: _exit skips the handlers */
  free(s);
}

/* In stream mode lines reach the file whenever a ring fills, so after _exit
 * the file holds part of the data: still whole lines only (run_child checks
 * the file, last line included). */
static void test_exit_immediate_exit_stream_leaves_whole_lines(void **state) {
  (void)state;
  size_t len = 0;
  char *s = run_child("_exit", 1, &len);
  assert_true(len > 0);
  free(s);
}

/* --- fork ---------------------------------------------------------------- */

/* Failed expectations in the child, as bits of its exit status. */
enum {
  CHILD_SPAN_RECORDED = 1,  /* a span had a token without a sink */
  CHILD_FLUSH = 2,          /* flush(parent guard) != CFLAME_EFORKED */
  CHILD_DROP = 4,           /* drop(parent guard) != 0 */
  CHILD_FLUSH_DROPPED = 8,  /* flush after that != CFLAME_ECLOSED */
  CHILD_INSTALL = 16,       /* own sink not installed */
  CHILD_OWN_SPAN = 32,      /* own span had no token */
  CHILD_OWN_DROP = 64       /* own drop != 0 */
};

static int go_fd[2]; /* the parent's worker waits on this pipe */

static void *parent_worker(void *arg) {
  (void)arg;
  tclock_ns = 1000;
  (void)cflame_thread_name("pw");
  {
    CFLAME_SPAN(t, "w-before");
    tclock_ns += 3;
    CFLAME_SPAN_END(t);
  }
  char c;
  /* Alive across the fork, inside no span, waiting. */
  while (read(go_fd[0], &c, 1) < 0 && errno == EINTR) {
  }
  {
    CFLAME_SPAN(t, "w-after");
    tclock_ns += 4;
    CFLAME_SPAN_END(t);
  }
  return NULL;
}

static int child_body(const char *own_path) {
  int bad = 0;
  {
    CFLAME_SPAN(t, "child-noop");
    tclock_ns += 50;
    if (t != 0)
      bad |= CHILD_SPAN_RECORDED;
    CFLAME_SPAN_END(t);
  }
  if (cflame_guard_flush(guard) != CFLAME_EFORKED)
    bad |= CHILD_FLUSH;
  if (cflame_guard_drop(guard) != 0)
    bad |= CHILD_DROP;
  if (cflame_guard_flush(guard) != CFLAME_ECLOSED)
    bad |= CHILD_FLUSH_DROPPED;
  cflame_guard_t *own = NULL;
  if (cflame_flame_file(own_path, NULL, &own) != 0)
    return bad | CHILD_INSTALL;
  {
    CFLAME_SPAN(t, "child-work");
    tclock_ns += 9;
    if (t == 0)
      bad |= CHILD_OWN_SPAN;
    CFLAME_SPAN_END(t);
  }
  if (cflame_guard_drop(own) != 0)
    bad |= CHILD_OWN_DROP;
  return bad;
}

static void test_fork_child_never_writes_parent_data(void **state) {
  (void)state;
  char ppath[128], cpath[160];
  snprintf(ppath, sizeof ppath, "%s/parent.folded", dir);
  tclock_install(100);
  assert_int_equal(cflame_flame_file(ppath, NULL, &guard), 0);
  assert_int_equal(pipe(go_fd), 0);
  pthread_t w;
  assert_int_equal(pthread_create(&w, NULL, parent_worker, NULL), 0);
  {
    CFLAME_SPAN(t, "before");
    tclock_ns += 5;
    CFLAME_SPAN_END(t);
  }
  assert_int_equal(cflame_guard_flush(guard), 0); /* some of it on disk */
  {
    CFLAME_SPAN(t, "pending"); /* and some not, at the fork */
    tclock_ns += 2;
    CFLAME_SPAN_END(t);
  }
  fflush(NULL);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    snprintf(cpath, sizeof cpath, "%s/child-%ld.folded", dir, (long)getpid());
    _exit(child_body(cpath));
  }
  snprintf(cpath, sizeof cpath, "%s/child-%ld.folded", dir, (long)pid);
  int status = wait_child(pid);
  assert_true(status != -1);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    fail_msg("child: %s %d (bits: 1 span recorded, 2 flush, 4 drop, "
             "8 flush after drop, 16 install, 32 own span, 64 own drop)",
             WIFEXITED(status) ? "status" : "signal",
             WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
  assert_int_equal(write(go_fd[1], "g", 1), 1);
  assert_int_equal(pthread_join(w, NULL), 0);
  close(go_fd[0]);
  close(go_fd[1]);
  tclock_ns += 1;
  {
    CFLAME_SPAN(t, "after");
    tclock_ns += 7;
    CFLAME_SPAN_END(t);
  }
  assert_int_equal(cflame_guard_drop(guard), 0);
  guard = NULL;

  folded_check_error_t e;
  if (folded_check_file(ppath, FOLDED_CHECK_SORTED, &e, NULL, NULL) != 0)
    fail_msg("parent: rule %d line %zu: %s", e.rule, e.line, e.msg);
  char *s = slurp(ppath, NULL);
  assert_non_null(s);
  /* Exactly once each, nothing of the child's. */
  assert_string_equal(s, "main 1\n"
                         "main;test_fork_exit::after 7\n"
                         "main;test_fork_exit::before 5\n"
                         "main;test_fork_exit::pending 2\n"
                         "pw;test_fork_exit::w-after 4\n"
                         "pw;test_fork_exit::w-before 3\n");
  free(s);
  if (folded_check_file(cpath, FOLDED_CHECK_SORTED, &e, NULL, NULL) != 0)
    fail_msg("child: rule %d line %zu: %s", e.rule, e.line, e.msg);
  s = slurp(cpath, NULL);
  assert_non_null(s);
  assert_string_equal(s, "main;test_fork_exit::child-work 9\n");
  free(s);
}

/* Appends to a file through its own fd, which a fork child shares: any
 * write the child made would show up in the parent's file. */
static long fd_append(void *ctx, const void *buf, size_t len) {
  ssize_t n = write(*(int *)ctx, buf, len);
  return n < 0 ? -errno : (long)n;
}

static void test_fork_child_exit_writes_nothing(void **state) {
  (void)state;
  for (int mode = 0; mode < 2; mode++) {
    char path[128];
    snprintf(path, sizeof path, "%s/append-%d.folded", dir, mode);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC,
                  0644);
    assert_true(fd >= 0);
    tclock_install(0);
    cflame_flame_opts_t o = cflame_flame_opts_default();
    o.mode = mode ? CFLAME_FLAME_STREAM : CFLAME_FLAME_AGGREGATE;
    assert_int_equal(cflame_flame_writer(fd_append, &fd, &o, &guard), 0);
    {
      CFLAME_SPAN(t, "a");
      tclock_ns += 3;
      CFLAME_SPAN_END(t);
    }
    tclock_ns += 1;
    CFLAME_SPAN(open_at_fork, "b");
    tclock_ns += 2;
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
      /* Unflushed parent data, an open span, a guard never dropped: the
       * exit handlers must write none of it. */
      CFLAME_SPAN(t, "child");
      tclock_ns += 100;
      (void)t;
      exit(0);
    }
    int status = wait_child(pid);
    assert_true(status != -1);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    tclock_ns += 4;
    CFLAME_SPAN_END(open_at_fork);
    assert_int_equal(cflame_guard_drop(guard), 0);
    guard = NULL;
    close(fd);
    folded_check_error_t e;
    if (folded_check_file(path, mode ? 0 : FOLDED_CHECK_SORTED, &e, NULL,
                          NULL) != 0)
      fail_msg("mode %d: rule %d line %zu: %s", mode, e.rule, e.line, e.msg);
    char *s = slurp(path, NULL);
    assert_non_null(s);
    if (mode == 0)
      assert_string_equal(s, "main 1\n"
                             "main;test_fork_exit::a 3\n"
                             "main;test_fork_exit::b 6\n");
    else
      assert_string_equal(s, "main;test_fork_exit::a 3\n"
                             "main 1\n"
                             "main;test_fork_exit::b 6\n");
    free(s);
  }
}

static void test_fork_child_own_sink_written_at_exit(void **state) {
  (void)state;
  char ppath[128], cpath[160];
  snprintf(ppath, sizeof ppath, "%s/parent.folded", dir);
  snprintf(cpath, sizeof cpath, "%s/child-own.folded", dir);
  tclock_install(0);
  assert_int_equal(cflame_flame_file(ppath, NULL, &guard), 0);
  {
    CFLAME_SPAN(t, "parent-work");
    tclock_ns += 5;
    CFLAME_SPAN_END(t);
  }
  fflush(NULL);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    /* The parent's guard is left alone; the child's own sink is the one
     * installed at exit, with a span still open. */
    cflame_guard_t *own = NULL;
    if (cflame_flame_file(cpath, NULL, &own) != 0)
      _exit(1);
    CFLAME_SPAN(t, "child-exit");
    tclock_ns += 9;
    (void)t;
    exit(0);
  }
  int status = wait_child(pid);
  assert_true(status != -1);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
  assert_int_equal(cflame_guard_drop(guard), 0);
  guard = NULL;
  char *s = slurp(cpath, NULL);
  assert_non_null(s);
  assert_string_equal(s, "main;test_fork_exit::child-exit 9\n");
  free(s);
  s = slurp(ppath, NULL);
  assert_non_null(s);
  assert_string_equal(s, "main;test_fork_exit::parent-work 5\n");
  free(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_exit_return_from_main_keeps_all,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_exit_exit_in_nested_span_keeps_all,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_exit_quick_exit_keeps_all, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_exit_from_worker_thread_keeps_all,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_exit_immediate_exit_loses_unflushed,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(
          test_exit_immediate_exit_stream_leaves_whole_lines, setup, teardown),
      cmocka_unit_test_setup_teardown(test_fork_child_never_writes_parent_data,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_fork_child_exit_writes_nothing,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_fork_child_own_sink_written_at_exit,
                                      setup, teardown),
  };
  return cmocka_run_group_tests_name("fork_exit", tests, NULL, NULL);
}
