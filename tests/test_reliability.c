/* Hostile hosts (issue 14): file-size limits, FIFOs without a reader, a
 * rewrite after a cut line, two writers of one file, pthread_cancel inside a
 * blocking write, fork while other threads hold cflame's locks. Each case
 * runs in a child process with a deadline, since the failures these guard
 * against are a killed, hung or deadlocked process. */
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
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child.h"
#include "files.h"
#include "folded_check.h"
#include "sanitizers.h"
#include "testutil.h"

static char dir[64];
static char path[128];

static int setup(void **state) {
  (void)state;
  if (tmpdir_make(dir, sizeof dir, "rel") != 0)
    return -1;
  snprintf(path, sizeof path, "%s/out", dir);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  return tmpdir_remove(dir);
}

/* --- children with a deadline ------------------------------------------- */

/* In a child: a failed check exits with its line number. */
#define CHECK(c)                                                               \
  do {                                                                         \
    if (!(c)) {                                                                \
      fprintf(stderr, "child check failed, line %d: %s\n", __LINE__, #c);      \
      _exit(__LINE__ % 250 + 1);                                               \
    }                                                                          \
  } while (0)

/* n distinct stacks of `ms` each, on the calling thread (injected clock). */
static void stacks(int n, uint64_t ns) {
  for (int i = 0; i < n; i++) {
    char name[64];
    snprintf(name, sizeof name, "a_rather_long_frame_name_for_stack_%04d", i);
    cflame_token_t t = cflame_scope_enter_dynamic(name, NULL,
                                                  CFLAME_LEVEL_INFO);
    tclock_ns += ns;
    cflame_scope_exit(t);
  }
}

/* --- SIGXFSZ (item 3) ------------------------------------------------------ */

static void xfsz_child(void) {
  signal(SIGXFSZ, SIG_DFL);
  struct rlimit rl;
  CHECK(getrlimit(RLIMIT_FSIZE, &rl) == 0);
  rl.rlim_cur = 4096;
  CHECK(setrlimit(RLIMIT_FSIZE, &rl) == 0);
  tclock_install(1000);
  cflame_guard_t *g = NULL;
  CHECK(cflame_flame_file(path, NULL, &g) == 0);
  stacks(200, 1000);
  int rc = cflame_guard_flush(g);
  cflame_stats_t st;
  cflame_stats(&st);
  CHECK(rc == CFLAME_EIO);
  CHECK(st.last_errno == EFBIG);
  CHECK(st.bytes_lost > 0);
  (void)cflame_guard_drop(g);
}

/* A write past RLIMIT_FSIZE fails with EFBIG; it never kills the host. */
static void test_rel_sigxfsz_is_efbig(void **state) {
  (void)state;
  in_child(xfsz_child, 20);
}

/* --- a rewrite after a cut line (item 9) ------------------------------------- */

static void rewrite_child(void) {
  signal(SIGXFSZ, SIG_IGN); /* the cut alone, whatever item 3 does */
  struct rlimit rl, lim;
  CHECK(getrlimit(RLIMIT_FSIZE, &rl) == 0);
  lim = rl;
  lim.rlim_cur = 4010; /* lines are 50 bytes: a cut mid-line */
  tclock_install(1000);
  cflame_guard_t *g = NULL;
  CHECK(cflame_flame_file(path, NULL, &g) == 0);
  stacks(200, 1000);
  CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);
  CHECK(cflame_guard_flush(g) == CFLAME_EIO);
  CHECK(setrlimit(RLIMIT_FSIZE, &rl) == 0);
  CHECK(cflame_guard_flush(g) == 0);
  size_t len = 0;
  char *text = slurp(path, &len);
  CHECK(text);
  folded_check_error_t err;
  size_t lines = 0;
  CHECK(folded_check(text, len, FOLDED_CHECK_SORTED, &err, &lines, NULL) ==
        0);
  CHECK(lines == 200);
  /* Every line is a whole line of this flush, from its first byte. */
  CHECK(strncmp(text, "main;", 5) == 0);
  for (char *p = strchr(text, '\n'); p && p[1]; p = strchr(p + 1, '\n'))
    CHECK(strncmp(p + 1, "main;", 5) == 0);
  free(text);
  CHECK(cflame_guard_drop(g) == 0);
}

/* A flush cut mid-line by EFBIG, then a good one: the rewritten file starts
 * clean (not with the rest of the line that was cut). */
static void test_rel_rewrite_after_cut_starts_clean(void **state) {
  (void)state;
  in_child(rewrite_child, 20);
}

/* --- a FIFO without a reader (item 7) -------------------------------------- */

static void fifo_child(void) {
  CHECK(mkfifo(path, 0600) == 0);
  cflame_guard_t *g = NULL;
  CHECK(cflame_flame_file(path, NULL, &g) == CFLAME_EOPEN);
  CHECK(g == NULL);
  cflame_stats_t st;
  cflame_stats(&st);
  CHECK(st.last_errno == ENXIO);
  /* With a reader it works, and the writes block as usual. */
  int rd = open(path, O_RDONLY | O_NONBLOCK);
  CHECK(rd >= 0);
  tclock_install(1000);
  CHECK(cflame_flame_file(path, NULL, &g) == 0);
  CFLAME_SPAN(t, "fifo_work");
  tclock_ns += 7;
  CFLAME_SPAN_END(t);
  CHECK(cflame_guard_drop(g) == 0);
  char buf[256];
  ssize_t n = read(rd, buf, sizeof buf - 1);
  CHECK(n > 0);
  buf[n] = '\0';
  CHECK(strstr(buf, "main;test_reliability::fifo_work 7\n") != NULL);
  close(rd);
}

/* Setup never blocks on a FIFO nobody reads: a clear error instead. */
static void test_rel_fifo_without_reader(void **state) {
  (void)state;
  in_child(fifo_child, 20);
}

/* --- one writer per file (item 12, within one copy) ------------------------- */

static void second_writer_child(void) {
  tclock_install(1000);
  cflame_guard_t *a = NULL, *b = NULL;
  CHECK(cflame_flame_file(path, NULL, &a) == 0);
  CFLAME_SPAN(t, "first_writer");
  tclock_ns += 5;
  CFLAME_SPAN_END(t);
  CHECK(cflame_guard_flush(a) == 0);
  CHECK(cflame_flame_file(path, NULL, &b) == CFLAME_EOPEN);
  CHECK(b == NULL);
  cflame_stats_t st;
  cflame_stats(&st);
  CHECK(st.last_errno == EBUSY);
  CHECK(cflame_guard_drop(a) == 0);
  size_t len;
  char *text = slurp(path, &len);
  CHECK(text);
  CHECK(strcmp(text, "main;test_reliability::first_writer 5\n") == 0);
  free(text);
  /* Once the first is dropped the file is free again. */
  CHECK(cflame_flame_file(path, NULL, &b) == 0);
  CHECK(cflame_guard_drop(b) == 0);
}

/* A second sink on a file another one writes is refused (EOPEN, errno
 * EBUSY), and the file is not truncated. */
static void test_rel_second_writer_refused(void **state) {
  (void)state;
  in_child(second_writer_child, 20);
}

/* --- pthread_cancel inside a blocking write (item 4) ---------------------------- */

static int gate[2];  /* the writer blocks reading this */
static int ready[2]; /* ... after saying so here */
static memout_t mem;

static long blocking_write(void *ctx, const void *buf, size_t len) {
  (void)ctx;
  char c = 'r';
  (void)!write(ready[1], &c, 1);
  (void)!read(gate[0], &c, 1); /* a cancellation point */
  return memout_write(&mem, buf, len);
}

static cflame_guard_t *cg;

static void *flusher(void *arg) {
  (void)arg;
  CFLAME_SPAN(t, "cancelled_thread");
  CFLAME_SPAN_END(t);
  (void)cflame_guard_flush(cg);
  return NULL;
}

static void *emitter(void *arg) {
  (void)arg;
  CFLAME_EVENT(CFLAME_LEVEL_INFO, "an event");
  return NULL;
}

static void cancel_case(int fmt) {
  CHECK(pipe(gate) == 0 && pipe(ready) == 0);
  memset(&mem, 0, sizeof mem);
  if (fmt)
    CHECK(cflame_fmt_writer(blocking_write, NULL, NULL, &cg) == 0);
  else
    CHECK(cflame_flame_writer(blocking_write, NULL, NULL, &cg) == 0);
  pthread_t th;
  CHECK(pthread_create(&th, NULL, fmt ? emitter : flusher, NULL) == 0);
  char c;
  CHECK(read(ready[0], &c, 1) == 1); /* it is in the write now */
  CHECK(pthread_cancel(th) == 0);
  close(gate[1]); /* every read returns at once from now on */
  CHECK(pthread_join(th, NULL) == 0);
  /* The sink lock is free: flush, drop and a new install go through. */
  (void)cflame_guard_flush(cg);
  (void)cflame_guard_drop(cg);
  cflame_guard_t *g = NULL;
  CHECK(cflame_flame_writer(memout_write, &mem, NULL, &g) == 0);
  CHECK(cflame_guard_drop(g) == 0);
  close(gate[0]);
  close(ready[0]);
  close(ready[1]);
  memout_free(&mem);
}

static void cancel_flush_child(void) {
  cancel_case(0);
}

static void cancel_event_child(void) {
  cancel_case(1);
}

/* A thread cancelled while a flush blocks in the writer leaves no lock
 * held. */
static void test_rel_cancel_in_flush(void **state) {
  (void)state;
  in_child(cancel_flush_child, 20);
}

/* Same for an fmt event written on the emitting thread. */
static void test_rel_cancel_in_event(void **state) {
  (void)state;
  in_child(cancel_event_child, 20);
}

/* --- fork while other threads hold cflame's locks (item 5) ------------------ */

static volatile int stop;
static cflame_span_t shared_span;

static void noop_error(void *ctx, cflame_fault_t kind, const char *msg) {
  (void)ctx, (void)kind, (void)msg;
}

static void *error_lock_loop(void *arg) {
  (void)arg;
  while (!__atomic_load_n(&stop, __ATOMIC_RELAXED))
    cflame_on_error(noop_error, NULL);
  return NULL;
}

static void *registry_loop(void *arg) {
  (void)arg;
  unsigned i = 0;
  while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
    char name[32];
    snprintf(name, sizeof name, "dyn_%u", i++ % 50000);
    cflame_token_t t = cflame_scope_enter_dynamic(name, NULL,
                                                  CFLAME_LEVEL_INFO);
    cflame_scope_exit(t);
    (void)cflame_filter_set("trace");
  }
  return NULL;
}

static void *slab_loop(void *arg) {
  (void)arg;
  static cflame_callsite_t cs = {.name = "slab_loop", .file = __FILE__,
                                 .level = CFLAME_LEVEL_INFO};
  cflame_field_t f = CFLAME_FIELD("k", 1);
  while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
    cflame_span_t s = cflame_span_new(&cs, NULL, 0);
    cflame_span_close(s);
    cflame_span_record(shared_span, &f, 1); /* the slot's spin lock */
  }
  return NULL;
}

static void fork_child_work(void) {
  static cflame_callsite_t fresh = {.name = "child_fresh", .file = __FILE__,
                                    .level = CFLAME_LEVEL_INFO};
  memout_t m;
  memset(&m, 0, sizeof m);
  cflame_guard_t *g = NULL;
  CHECK(cflame_flame_writer(memout_write, &m, NULL, &g) == 0);
  CFLAME_SPAN(t, "child_new_callsite"); /* registry lock */
  cflame_span_t s = cflame_span_new(&fresh, NULL, 0); /* slab lock */
  cflame_span_enter(s);
  cflame_span_exit(s);
  cflame_field_t f = CFLAME_FIELD("c", 2);
  cflame_span_record(shared_span, &f, 1); /* the parent's span's lock */
  cflame_span_close(s);
  CFLAME_SPAN_END(t);
  /* A fault reported through the error callback (error lock). */
  cflame_span_t bogus = {UINT64_C(0xdead0000dead)};
  cflame_span_close(bogus);
  CHECK(cflame_guard_drop(g) == 0);
  CHECK(strstr(memout_str(&m), "child_new_callsite") != NULL);
}

/* 150 forks. Not in ASan or TSan builds: their allocators (clang 14) are
 * not fork-safe. A fork child that allocates while another thread of the
 * parent was inside the sanitizer's allocator waits for ever on the
 * allocator's semaphore (gdb on hung children: SizeClassAllocator64::
 * GetFromAllocator -> Semaphore::Wait, from malloc in the child's
 * cflame_flame_writer or flush), about one run in 25 under load. glibc's
 * malloc is fork-safe, so the other builds run it. A hung child is
 * reported after cleanup, so a failure leaves no sink behind. */
#define FORKS 150

/* Forks many times while three threads take the error, registry, slab and
 * slot locks in loops: every child registers, makes a registry span and
 * reports a fault without hanging. */
static void test_rel_fork_with_busy_locks(void **state) {
  (void)state;
  if (TEST_ASAN || TEST_TSAN)
    skip(); /* see FORKS */
  memout_t m;
  memset(&m, 0, sizeof m);
  cflame_guard_t *g = NULL;
  assert_int_equal(cflame_flame_writer(memout_write, &m, NULL, &g), 0);
  static cflame_callsite_t cs = {.name = "shared", .file = __FILE__,
                                 .level = CFLAME_LEVEL_INFO};
  shared_span = cflame_span_new(&cs, NULL, 0);
  assert_true(shared_span.id != 0);
  stop = 0;
  pthread_t th[3];
  assert_int_equal(pthread_create(&th[0], NULL, error_lock_loop, NULL), 0);
  assert_int_equal(pthread_create(&th[1], NULL, registry_loop, NULL), 0);
  assert_int_equal(pthread_create(&th[2], NULL, slab_loop, NULL), 0);
  int failed = -1, st = 0;
  for (int i = 0; i < FORKS && failed < 0; i++) {
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
      alarm(30);
      fork_child_work();
      _exit(0);
    }
    assert_int_equal(waitpid(pid, &st, 0), pid);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
      failed = i;
  }
  __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
  for (int i = 0; i < 3; i++)
    pthread_join(th[i], NULL);
  cflame_span_close(shared_span);
  cflame_on_error(NULL, NULL);
  (void)cflame_filter_set(NULL);
  assert_int_equal(cflame_guard_drop(g), 0); /* before any failure: m is ours */
  memout_free(&m);
  if (failed >= 0)
    fail_msg("fork %d: child %s %d", failed,
             WIFSIGNALED(st) ? "killed by signal" : "exited",
             WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_rel_sigxfsz_is_efbig, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_rel_rewrite_after_cut_starts_clean,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_rel_fifo_without_reader, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_rel_second_writer_refused, setup,
                                      teardown),
      cmocka_unit_test(test_rel_cancel_in_flush),
      cmocka_unit_test(test_rel_cancel_in_event),
      cmocka_unit_test(test_rel_fork_with_busy_locks),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
