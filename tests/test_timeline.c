/* The timeline sink: byte-exact files under the injected clock, the strict
 * checker on bigger runs (threads, registry spans, events, plots, marks,
 * hostile names, small rings, write errors, fork and exit paths), and
 * per-thread totals equal to a flame sink's sums from the same run. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <cflame.h>
#include <cflame/sink.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "files.h"
#include "testutil.h"
#include "timeline_check.h"

extern char **environ;

static memout_t out, out2;
static errlog_t errs;
static cflame_guard_t *guard, *guard2; /* guard2: a flame sink beside */

/* Each test's clock starts far beyond the previous test's: a thread's
 * clock must never go back, even across sessions. */
static uint64_t clock_base;

static int setup(void **state) {
  (void)state;
  clock_base += UINT64_C(1000000000000);
  memset(&out, 0, sizeof out);
  memset(&out2, 0, sizeof out2);
  memset(&errs, 0, sizeof errs);
  cflame_on_error(errlog_fn, &errs);
  tclock_install(clock_base);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  (void)cflame_guard_drop(guard);
  guard = NULL;
  (void)cflame_guard_drop(guard2);
  guard2 = NULL;
  (void)cflame_thread_name("main");
  (void)cflame_filter_set("");
  memout_free(&out);
  memout_free(&out2);
  cflame_on_error(NULL, NULL);
  (void)cflame_clock_set(NULL, NULL);
  return 0;
}

static void install(const cflame_timeline_opts_t *o) {
  assert_int_equal(cflame_timeline_writer(memout_write, &out, o, &guard), 0);
}

/* Checks buf, failing with the checker's message and the text. */
static void check(const char *buf, size_t len, unsigned flags,
                  timeline_summary_t *sum) {
  timeline_check_error_t e;
  if (timeline_check(buf, len, flags | TIMELINE_CHECK_E_NAMES, &e, sum) != 0)
    fail_msg("rule %d line %zu: %s\n%.*s", e.rule, e.line, e.msg,
             (int)(len < 6000 ? len : 6000), buf);
}

static void drop_and_check(unsigned flags, timeline_summary_t *sum) {
  assert_int_equal(cflame_guard_drop(guard), 0);
  guard = NULL;
  check(out.buf, out.len, flags | TIMELINE_CHECK_COMPLETE, sum);
}

static void expect_text(const char *want) {
  char *got = text_without_pid(memout_str(&out));
  assert_non_null(got);
  if (strcmp(got, want) != 0)
    fail_msg("got:\n%s\nwant:\n%s", got, want);
  free(got);
}

/* --- byte-exact ------------------------------------------------------------ */

static void test_timeline_exact_small_file(void **state) {
  (void)state;
  install(NULL);
  CFLAME_SPAN(parse, "parse");
  tclock_ns += 10;
  CFLAME_SPAN(lex, "lex");
  tclock_ns += 5;
  CFLAME_SPAN_END(lex);
  CFLAME_EVENT(CFLAME_LEVEL_WARN, "slow", CFLAME_I64("rows", 5));
  tclock_ns += 3;
  CFLAME_SPAN_END(parse);
  CFLAME_PLOT("queue", 2.5);
  tclock_ns += 1;
  CFLAME_FRAME_MARK();
  CFLAME_FRAME_MARK_NAMED("render");
  tclock_ns += 1234567;
  CFLAME_SPAN_F(req, "req", CFLAME_I64("id", 7));
  tclock_ns += 2;
  CFLAME_SPAN(in, "in");
  tclock_ns += 3;
  CFLAME_SPAN_END(in);
  CFLAME_SPAN_END(req);
  assert_int_equal(cflame_guard_drop(guard), 0);
  guard = NULL;
  expect_text(
      "[\n"
      "{\"ph\":\"M\",\"pid\":1,\"name\":\"process_name\",\"args\":{\"name\":"
      "\"cflame\",\"pid\":P}},\n"
      "{\"ph\":\"M\",\"pid\":1,\"tid\":1,\"name\":\"thread_name\",\"args\":{"
      "\"name\":\"main\"}},\n"
      "{\"ph\":\"M\",\"pid\":1,\"tid\":1,\"name\":\"thread_sort_index\","
      "\"args\":{\"sort_index\":1}},\n"
      "{\"ph\":\"B\",\"pid\":1,\"tid\":1,\"ts\":0.000,\"name\":"
      "\"test_timeline::parse\"},\n"
      "{\"ph\":\"X\",\"pid\":1,\"tid\":1,\"ts\":0.010,\"dur\":0.005,"
      "\"name\":\"test_timeline::lex\"},\n"
      "{\"ph\":\"i\",\"s\":\"t\",\"pid\":1,\"tid\":1,\"ts\":0.015,\"name\":"
      "\"slow\",\"args\":{\"level\":\"WARN\",\"target\":\"test_timeline\","
      "\"message\":\"slow\",\"rows\":5}},\n"
      "{\"ph\":\"E\",\"pid\":1,\"tid\":1,\"ts\":0.018,\"name\":"
      "\"test_timeline::parse\"},\n"
      "{\"ph\":\"C\",\"pid\":1,\"ts\":0.018,\"name\":\"queue\",\"args\":{"
      "\"value\":2.5}},\n"
      "{\"ph\":\"i\",\"s\":\"g\",\"pid\":1,\"ts\":0.019,\"name\":\"frame\"},\n"
      "{\"ph\":\"i\",\"s\":\"g\",\"pid\":1,\"ts\":0.019,\"name\":\"render\"},"
      "\n"
      "{\"ph\":\"B\",\"pid\":1,\"tid\":1,\"ts\":1234.586,\"name\":"
      "\"test_timeline::req\",\"args\":{\"id\":\"7\"}},\n"
      "{\"ph\":\"X\",\"pid\":1,\"tid\":1,\"ts\":1234.588,\"dur\":0.003,"
      "\"name\":\"test_timeline::in\"},\n"
      "{\"ph\":\"E\",\"pid\":1,\"tid\":1,\"ts\":1234.591,\"name\":"
      "\"test_timeline::req\",\"args\":{\"id\":\"7\"}},\n"
      "{\"ph\":\"M\",\"pid\":1,\"name\":\"process_name\",\"args\":{\"name\":"
      "\"cflame\",\"pid\":P}}\n"
      "]\n");
  check(out.buf, out.len, TIMELINE_CHECK_COMPLETE, NULL);
}

/* A flush writes the spans still open as B, so the file cut there loads
 * with them; the rest follows at drop. Options change names and levels. */
static void test_timeline_flush_writes_open_spans(void **state) {
  (void)state;
  cflame_timeline_opts_t o = cflame_timeline_opts_default();
  o.module_path = false;
  o.level = CFLAME_LEVEL_INFO;
  o.process_name = "app \"1\"";
  install(&o);
  CFLAME_SPAN(a, "a");
  tclock_ns += 4;
  CFLAME_SPAN(b, "b");
  CFLAME_EVENT(CFLAME_LEVEL_DEBUG, "hidden");
  tclock_ns += 4;
  assert_int_equal(cflame_guard_flush(guard), 0);
  expect_text(
      "[\n"
      "{\"ph\":\"M\",\"pid\":1,\"name\":\"process_name\",\"args\":{\"name\":"
      "\"app \\\"1\\\"\",\"pid\":P}},\n"
      "{\"ph\":\"M\",\"pid\":1,\"tid\":1,\"name\":\"thread_name\",\"args\":{"
      "\"name\":\"main\"}},\n"
      "{\"ph\":\"M\",\"pid\":1,\"tid\":1,\"name\":\"thread_sort_index\","
      "\"args\":{\"sort_index\":1}},\n"
      "{\"ph\":\"B\",\"pid\":1,\"tid\":1,\"ts\":0.000,\"name\":\"a\"},\n"
      "{\"ph\":\"B\",\"pid\":1,\"tid\":1,\"ts\":0.004,\"name\":\"b\"},\n");
  check(out.buf, out.len, 0, NULL);
  CFLAME_SPAN_END(b);
  tclock_ns += 1;
  CFLAME_SPAN_END(a);
  timeline_summary_t sum;
  drop_and_check(0, &sum);
  assert_int_equal(sum.threads[0].slices, 2);
  assert_int_equal(sum.threads[0].top_ns, 9);
  timeline_summary_free(&sum);
  assert_null(strstr(out.buf, "hidden"));
}

/* A timeline installed beside a flame sink while spans are open starts
 * with those spans open at the thread's first record after the join (the
 * core writes it at the thread's next enter or exit). */
static void test_timeline_joins_inside_open_spans(void **state) {
  (void)state;
  assert_int_equal(cflame_flame_writer(memout_write, &out2, NULL, &guard2),
                   0);
  CFLAME_SPAN(outer, "outer");
  tclock_ns += 100;
  install(NULL);
  tclock_ns += 5;
  CFLAME_SPAN(inner, "inner");
  tclock_ns += 5;
  CFLAME_SPAN_END(inner);
  tclock_ns += 5;
  CFLAME_SPAN_END(outer);
  timeline_summary_t sum;
  drop_and_check(0, &sum);
  assert_int_equal(sum.threads[0].slices, 2);
  assert_int_equal(sum.threads[0].top_ns, 10); /* from the inner enter */
  timeline_summary_free(&sum);
  assert_non_null(strstr(out.buf, "\"ph\":\"B\",\"pid\""));
}

/* A user sink that takes records and events: a plot arrives with its value
 * and the records' time (session ns), after the emitting thread's records
 * up to it. */
typedef struct seen_s {
  int records, plot_after_records;
  uint64_t last_record_ns, plot_ns;
  double value;
  uint32_t kind;
} seen_t;

static void seen_records(void *ud, cflame_guard_t *g, const cflame_thread_t *t,
                         const cflame_record_t *r, size_t n) {
  (void)g, (void)t;
  seen_t *s = ud;
  s->records += (int)n;
  s->last_record_ns = r[n - 1].ns;
}

static void seen_event(void *ud, cflame_guard_t *g, const cflame_event_t *ev) {
  (void)g;
  seen_t *s = ud;
  s->kind = ev->kind;
  s->value = ev->value;
  s->plot_ns = ev->session_ns;
  s->plot_after_records = s->records;
}

static void test_timeline_plot_event_on_the_record_clock(void **state) {
  (void)state;
  static seen_t seen; /* outlives the sink: the drop delivers records */
  memset(&seen, 0, sizeof seen);
  cflame_sink_t vt;
  memset(&vt, 0, sizeof vt);
  vt.size = sizeof vt;
  vt.name = "seen";
  vt.needs = CFLAME_SINK_RECORDS | CFLAME_SINK_EVENTS;
  vt.records = seen_records;
  vt.event = seen_event;
  assert_int_equal(cflame_sink_install(&vt, &seen, &guard), 0);
  tclock_ns += 7;
  CFLAME_SPAN(a, "a");
  tclock_ns += 10;
  CFLAME_PLOT("p", 3.5);
  assert_int_equal(seen.kind, CFLAME_EVENT_PLOT);
  assert_true(seen.value == 3.5);
  assert_int_equal(seen.plot_ns, 17);
  assert_int_equal(seen.last_record_ns, 7); /* the enter, drained first */
  assert_true(seen.plot_after_records >= 2); /* BEGIN and ENTER */
  CFLAME_SPAN_END(a);
  assert_int_equal(cflame_guard_drop(guard), 0);
  guard = NULL;
}

/* --- hostile names ------------------------------------------------------------ */

static void test_timeline_hostile_names_stay_json(void **state) {
  (void)state;
  install(NULL);
  (void)cflame_thread_name("th\"r\\e\x01\xff");
  CFLAME_SPAN(a, "q\"uote\\back\tslash\x1b\xc3\x28 \xe2\x80\xa8");
  tclock_ns += 2;
  CFLAME_SPAN_F(b, "f", CFLAME_STR("k\"ey", "v\"al\n\xfe"),
                CFLAME_F64("x", 1.5));
  tclock_ns += 2;
  CFLAME_EVENT(CFLAME_LEVEL_ERROR, "m\"sg\x7f\xed\xa0\x80",
               CFLAME_STR("s\\", "\x80\x80"), CFLAME_F64("nan", NAN),
               CFLAME_BOOL("b", true), CFLAME_U64("u", UINT64_MAX));
  CFLAME_PLOT("pl\"ot\x02", -0.25);
  CFLAME_PLOT("inf", INFINITY); /* JSON has none: counted, not written */
  CFLAME_FRAME_MARK_NAMED("fr\"ame\\");
  CFLAME_SPAN_END(b);
  tclock_ns += 2;
  CFLAME_SPAN_END(a);
  timeline_summary_t sum;
  drop_and_check(0, &sum);
  assert_int_equal(sum.nthreads, 1);
  assert_int_equal(sum.threads[0].slices, 2);
  assert_int_equal(sum.threads[0].top_ns, 6);
  /* sanitized by the core like a frame name */
  assert_string_equal(sum.threads[0].name, "th\"r\\e??");
  timeline_summary_free(&sum);
  assert_non_null(strstr(out.buf, "\"name\":\"pl\\\"ot\\u0002\""));
  assert_non_null(strstr(out.buf, "\"nan\":null"));
  assert_non_null(strstr(out.buf, "\"u\":18446744073709551615"));
  assert_null(strstr(out.buf, "\"inf\""));
  assert_true(errs.count[CFLAME_FAULT_DROPPED] >= 1);
}

/* --- threads, registry spans, parity with the flame sink ------------------------ */

static cflame_span_t request;

static void *worker(void *arg) {
  int id = (int)(size_t)arg;
  char name[16];
  snprintf(name, sizeof name, "w-%d", id);
  (void)cflame_thread_name(name);
  tclock_ns = clock_base + 5000 + (uint64_t)id * 7;
  for (int i = 0; i < 300; i++) {
    CFLAME_SPAN(job, "job");
    tclock_ns += 3 + (uint64_t)id;
    CFLAME_SPAN_F(step, "step", CFLAME_I64("i", i % 3));
    tclock_ns += 2;
    if (i % 50 == 0) {
      CFLAME_EVENT(CFLAME_LEVEL_INFO, "tick", CFLAME_I64("i", i));
      CFLAME_PLOT("depth", i);
    }
    CFLAME_SPAN_END(step);
    tclock_ns += 1;
    CFLAME_SPAN_END(job);
    tclock_ns += 1;
  }
  /* The request hops here: entered once on each worker. */
  cflame_span_enter(request);
  tclock_ns += 11;
  CFLAME_SPAN(part, "part");
  tclock_ns += 4;
  CFLAME_SPAN_END(part);
  cflame_span_exit(request);
  return NULL;
}

/* Sums per root of folded text ("root;a;b 12"). */
static uint64_t folded_root_sum(const char *text, const char *root) {
  uint64_t total = 0;
  size_t rl = strlen(root);
  for (const char *l = text; *l;) {
    const char *nl = strchr(l, '\n');
    const char *sp = nl ? nl : l + strlen(l);
    while (sp > l && sp[-1] != ' ')
      sp--;
    if (!strncmp(l, root, rl) && l[rl] == ';')
      total += strtoull(sp, NULL, 10);
    l = nl ? nl + 1 : l + strlen(l);
  }
  return total;
}

static void test_timeline_threads_match_flame_sums(void **state) {
  (void)state;
  cflame_flame_opts_t fopts = cflame_flame_opts_default();
  fopts.empty_samples = false;
  cflame_timeline_opts_t o = cflame_timeline_opts_default();
  o.ring_records = 64; /* rings fill and drain many times */
  install(&o);
  assert_int_equal(
      cflame_flame_writer(memout_write, &out2, &fopts, &guard2), 0);
  request = CFLAME_SPAN_NEW("request", CFLAME_I64("id", 42));
  for (int i = 1; i <= 3; i++) {
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, worker, (void *)(size_t)i), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
  }
  cflame_span_close(request);
  CFLAME_SPAN(m, "main_work");
  tclock_ns += 9;
  CFLAME_SPAN_END(m);
  assert_int_equal(cflame_guard_drop(guard2), 0);
  guard2 = NULL;
  timeline_summary_t sum;
  drop_and_check(0, &sum);
  assert_int_equal(sum.nthreads, 4);
  const char *text = memout_str(&out2);
  for (size_t i = 0; i < sum.nthreads; i++) {
    const timeline_thread_t *th = &sum.threads[i];
    uint64_t want = folded_root_sum(text, th->name);
    if (th->top_ns != want)
      fail_msg("thread %s: timeline %llu ns, flame %llu ns\n%s", th->name,
               (unsigned long long)th->top_ns, (unsigned long long)want, text);
    assert_true(want > 0);
    if (strcmp(th->name, "main") != 0)
      assert_int_equal(th->slices, 600 + 2);
  }
  timeline_summary_free(&sum);
  assert_int_equal(errs.count[CFLAME_FAULT_DROPPED], 0);
  assert_non_null(strstr(out.buf, "\"name\":\"test_timeline::request\","
                                  "\"args\":{\"id\":\"42\"}"));
}

/* --- faults ------------------------------------------------------------------------ */

/* A writer that fails for good: what it took ends inside the event it cut
 * (the writer keeps the rest for a retry that never comes); every event
 * before is whole, so the file up to its last line end loads as a cut file.
 * The drop returns the error and the loss is counted. */
static void test_timeline_write_error_leaves_loadable_prefix(void **state) {
  (void)state;
  out.fail_errno = ENOSPC;
  out.fail_at = 700;
  cflame_timeline_opts_t o = cflame_timeline_opts_default();
  o.buffer_size = 4096;
  install(&o);
  for (int i = 0; i < 500; i++) {
    CFLAME_SPAN(a, "a");
    CFLAME_SPAN(b, "b");
    tclock_ns += 1;
    CFLAME_SPAN_END(b);
    CFLAME_SPAN_END(a);
  }
  assert_int_equal(cflame_guard_drop(guard), CFLAME_EIO);
  guard = NULL;
  assert_true(out.len > 0 && out.len <= 700);
  size_t whole = out.len;
  while (whole > 0 && out.buf[whole - 1] != '\n')
    whole--;
  assert_true(whole > 100);
  check(out.buf, whole, 0, NULL);
  assert_true(errs.count[CFLAME_FAULT_WRITE] >= 1);
  cflame_stats_t st;
  cflame_stats(&st);
  assert_true(st.bytes_lost > 0);
}

/* Filtered-out spans and events never reach the file. */
static void test_timeline_filter_applies(void **state) {
  (void)state;
  assert_int_equal(cflame_filter_set("warn"), 0);
  install(NULL);
  CFLAME_SPAN(a, "quiet"); /* INFO: filtered */
  CFLAME_EVENT(CFLAME_LEVEL_INFO, "info_event");
  CFLAME_EVENT(CFLAME_LEVEL_WARN, "warn_event");
  tclock_ns += 1;
  CFLAME_SPAN_END(a);
  drop_and_check(0, NULL);
  assert_null(strstr(out.buf, "quiet"));
  assert_null(strstr(out.buf, "info_event"));
  assert_non_null(strstr(out.buf, "warn_event"));
}

/* --- processes ------------------------------------------------------------------------ */

static char dir[64];

#ifdef EXIT_CHILD
/* Runs the exit helper in timeline mode; returns its checked file. */
static char *run_child(const char *mode, unsigned flags, size_t *len) {
  char path[160];
  snprintf(path, sizeof path, "%s/%s.json", dir, mode);
  char *argv[] = {EXIT_CHILD, (char *)mode, path, "timeline", NULL};
  pid_t pid;
  int rc = posix_spawn(&pid, EXIT_CHILD, NULL, NULL, argv, environ);
  if (rc != 0)
    fail_msg("posix_spawn %s: %s", EXIT_CHILD, strerror(rc));
  int status = wait_child(pid);
  assert_true(status != -1);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    fail_msg("mode %s: helper status %d", mode, status);
  char *text = slurp(path, len);
  assert_non_null(text);
  check(text, *len, flags, NULL);
  return text;
}

static void test_timeline_exit_paths_close_the_file(void **state) {
  (void)state;
  static const char *const modes[] = {"return", "exit", "quick_exit",
                                      "thread-exit"};
  for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
    size_t len;
    char *s = run_child(modes[i], TIMELINE_CHECK_COMPLETE, &len);
    if (!strstr(s, "\"name\":\"worker-2\"") || !strstr(s, "\"brief\"") ||
        !strstr(s, "exit_child::work") || !strstr(s, "exit_child::step"))
      fail_msg("mode %s: missing threads or spans", modes[i]);
    free(s);
  }
}

/* _exit skips every handler: what reached the file is a loadable prefix. */
static void test_timeline_immediate_exit_leaves_prefix(void **state) {
  (void)state;
  size_t len;
  char *s = run_child("_exit", 0, &len);
  assert_true(len > 2);
  free(s);
}
#endif

/* A fork child never writes the parent's buffered events. */
static void test_timeline_fork_child_writes_nothing(void **state) {
  (void)state;
  char path[160];
  snprintf(path, sizeof path, "%s/fork.json", dir);
  assert_int_equal(cflame_timeline_file(path, NULL, &guard), 0);
  CFLAME_SPAN(a, "before_fork");
  tclock_ns += 3;
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    /* No cmocka assertion in the child (a failure would run the parent's
     * teardown here): the exit status says what went wrong. */
    CFLAME_SPAN(c, "in_child");
    CFLAME_SPAN_END(c);
    int bad = cflame_guard_flush(guard) != CFLAME_EFORKED;
    bad |= (cflame_guard_drop(guard) != 0) << 1; /* discards, writes none */
    _exit(bad);
  }
  int status = wait_child(pid);
  assert_true(status != -1);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    fail_msg("fork child: status %d", status);
  CFLAME_SPAN_END(a);
  assert_int_equal(cflame_guard_drop(guard), 0);
  guard = NULL;
  size_t len;
  char *s = slurp(path, &len);
  assert_non_null(s);
  check(s, len, TIMELINE_CHECK_COMPLETE, NULL);
  assert_null(strstr(s, "in_child"));
  char *first = strstr(s, "process_name");
  assert_non_null(first);
  char *second = strstr(first + 1, "process_name");
  assert_non_null(second);
  assert_null(strstr(second + 1, "process_name")); /* one start, one end */
  free(s);
}

/* CFLAME_TIMELINE and CFLAME_FLAME together: two sinks, one guard. */
static void test_timeline_env_with_flame(void **state) {
  (void)state;
  char tp[160], fp[160];
  snprintf(tp, sizeof tp, "%s/env.json", dir);
  snprintf(fp, sizeof fp, "%s/env.folded", dir);
  setenv("CFLAME_TIMELINE", tp, 1);
  setenv("CFLAME_FLAME", fp, 1);
  int rc = cflame_init_env(&guard);
  unsetenv("CFLAME_TIMELINE");
  unsetenv("CFLAME_FLAME");
  assert_int_equal(rc, 0);
  CFLAME_SPAN(a, "env_span");
  tclock_ns += 5;
  CFLAME_SPAN_END(a);
  assert_int_equal(cflame_guard_drop(guard), 0);
  guard = NULL;
  size_t len;
  char *s = slurp(tp, &len);
  assert_non_null(s);
  timeline_summary_t sum;
  check(s, len, TIMELINE_CHECK_COMPLETE, &sum);
  assert_int_equal(sum.threads[0].top_ns, 5);
  timeline_summary_free(&sum);
  free(s);
  s = slurp(fp, &len);
  assert_non_null(s);
  assert_string_equal(s, "main;test_timeline::env_span 5\n");
  free(s);
}

static int group_setup(void **state) {
  (void)state;
  return tmpdir_make(dir, sizeof dir, "timeline");
}

static int group_teardown(void **state) {
  (void)state;
  return tmpdir_remove(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
      T(test_timeline_exact_small_file),
      T(test_timeline_flush_writes_open_spans),
      T(test_timeline_joins_inside_open_spans),
      T(test_timeline_plot_event_on_the_record_clock),
      T(test_timeline_hostile_names_stay_json),
      T(test_timeline_threads_match_flame_sums),
      T(test_timeline_write_error_leaves_loadable_prefix),
      T(test_timeline_filter_applies),
#ifdef EXIT_CHILD
      T(test_timeline_exit_paths_close_the_file),
      T(test_timeline_immediate_exit_leaves_prefix),
#endif
      T(test_timeline_fork_child_writes_nothing),
      T(test_timeline_env_with_flame),
#undef T
  };
  if (getenv("CFLAME_TEST_FILTER")) /* e.g. "*threads*" */
    cmocka_set_test_filter(getenv("CFLAME_TEST_FILTER"));
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
