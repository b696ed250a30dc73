/* Auto-instrumentation: a program built with -finstrument-functions
 * (cflame-instr-child, through cflame_instrument()) run with CFLAME_FLAME
 * set writes every function's stack, named from its symbol tables, with no
 * setup code. The helper steps its own clock by 1000 ns per reading, so the
 * whole file is known byte for byte. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "files.h"
#include "folded_check.h"
#include "testutil.h"

#if !defined(INSTR_CHILD) || !defined(INSTR_CHILD_TSC) || !defined(INSTR_PLUGIN2)
#error "INSTR_CHILD must name the cflame-instr-child helper"
#endif

/* Frames: functions carry their module's stem as target, the macro span
 * its source file's stem. */
#define M "main;cflame-instr-child::main"
#define C ";cflame-instr-child::"
#define PL ";libcflame_instr_plugin::"

static char dir[64];

static int setup(void **state) {
  (void)state;
  return tmpdir_make(dir, sizeof dir, "instr");
}

static int teardown(void **state) {
  (void)state;
  return tmpdir_remove(dir);
}

/* Runs the helper in MODE with CFLAME_FLAME and the extra NAME=value
 * settings (NULL-terminated), checks the file against FORMAT.md (sorted
 * unless `stream`) and returns it. *total gets the sum of its counts. The
 * helper must exit with 0, or be killed by signal `sig` if not 0. */

static char *run_sig(const char *exe, const char *mode, int stream,
                     unsigned long long *total, const char *const *extra,
                     int sig) {
  char path[128], flame[160];
  snprintf(path, sizeof path, "%s/%s.folded", dir, mode);
  snprintf(flame, sizeof flame, "CFLAME_FLAME=%s", path);
  unlink(path);
  /* The caller's environment without any CFLAME_ setting, then ours. */
  extern char **environ;
  size_t n = 0;
  while (environ[n])
    n++;
  const char **env = calloc(n + 8, sizeof *env);
  assert_non_null(env);
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    if (strncmp(environ[i], "CFLAME_", 7) != 0)
      env[k++] = environ[i];
  env[k++] = flame;
  if (stream)
    env[k++] = "CFLAME_FLAME_MODE=stream";
  for (size_t i = 0; extra && extra[i]; i++)
    env[k++] = extra[i];
  char *argv[] = {(char *)exe, (char *)mode, INSTR_PLUGIN, INSTR_PLUGIN2,
                  NULL};
  pid_t pid;
  int rc = posix_spawn(&pid, exe, NULL, NULL, argv, (char **)env);
  free(env);
  if (rc != 0)
    fail_msg("posix_spawn %s: %s", exe, strerror(rc));
  int status = wait_child(pid);
  assert_true(status != -1);
  if (sig ? !WIFSIGNALED(status) || WTERMSIG(status) != sig
          : !WIFEXITED(status) || WEXITSTATUS(status) != 0)
    fail_msg("mode %s: helper %s %d", mode,
             WIFEXITED(status) ? "exited with" : "killed by signal",
             WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
  folded_check_error_t e;
  if (folded_check_file(path, stream ? 0 : FOLDED_CHECK_SORTED, &e, NULL,
                        total) != 0)
    fail_msg("mode %s: rule %d line %zu: %s", mode, e.rule, e.line, e.msg);
  char *text = slurp(path, NULL);
  assert_non_null(text);
  return text;
}

static char *run_exe(const char *exe, const char *mode, int stream,
                     unsigned long long *total, const char *const *extra) {
  return run_sig(exe, mode, stream, total, extra, 0);
}

static char *run(const char *mode, int stream, unsigned long long *total,
                 const char *const *extra) {
  return run_exe(INSTR_CHILD, mode, stream, total, extra);
}

static void expect_text(const char *mode, const char *const *extra,
                        const char *want) {
  char *got = run(mode, 0, NULL, extra);
  if (strcmp(got, want) != 0)
    fail_msg("mode %s: got\n%s\nwanted\n%s", mode, got, want);
  free(got);
}

/* Every reading of the helper's clock is 1000 ns after the previous one on
 * its thread, and each enter or exit reads it once: a count is 1000 ns per
 * enter or exit charged to that stack. The root's clock starts at the
 * thread's first cflame call, the install at the first instrumented call:
 * one reading more than its first enter. */
static const char main_text[] =
    "main 2000\n"
    M " 8000\n"
    /* longjmp left jump_outer and jump_inner without their exits: they end
     * when after_jump is entered, and after_jump sits under do_longjmp. */
    M C "do_longjmp 3000\n"
    M C "do_longjmp" C "after_jump 1000\n"
    M C "do_longjmp" C "jump_outer 1000\n"
    M C "do_longjmp" C "jump_outer" C "jump_inner 1000\n"
    M C "global_work 3000\n"
    M C "global_work" C "static_leaf 2000\n"
    /* Inlined (always_inline) functions still nest under their caller. */
    M C "inlined_parent 3000\n"
    M C "inlined_parent" C "inlined_child 2000\n"
    M C "inlined_parent" C "inlined_child" C "static_leaf 1000\n"
    M C "inlined_parent" C "inlined_mid 2000\n"
    M C "inlined_parent" C "inlined_mid" C "inlined_child 2000\n"
    M C "inlined_parent" C "inlined_mid" C "inlined_child" C "static_leaf 1000\n"
    M C "recurse 2000\n"
    M C "recurse" C "recurse 2000\n"
    M C "recurse" C "recurse" C "recurse 2000\n"
    M C "recurse" C "recurse" C "recurse" C "recurse 1000\n"
    M C "run_threads 1000\n"
    M C "use_plugin 2000\n"
    /* dlclose'd before the process exits: still named. */
    M C "use_plugin" PL "plugin_entry 4000\n"
    M C "use_plugin" PL "plugin_entry" PL "plugin_helper 3000\n"
    M C "with_scope 2000\n"
    M C "with_scope;instr_child::macro_scope 2000\n"
    M C "with_scope;instr_child::macro_scope" C "static_leaf 1000\n"
    "thread-1 1000\n"
    "thread-1" C "worker 2000\n"
    "thread-1" C "worker" C "global_work 2000\n"
    "thread-1" C "worker" C "global_work" C "static_leaf 1000\n"
    "thread-2 1000\n"
    "thread-2" C "worker 2000\n"
    "thread-2" C "worker" C "global_work 3000\n"
    "thread-2" C "worker" C "global_work" C "static_leaf 2000\n";

static void test_instrument_every_function_named_exact_stacks(void **state) {
  (void)state;
  expect_text("main", NULL, main_text);
}

/* Stream mode writes a line per enter and exit: the same per-stack sums,
 * so the same total. */
static void test_instrument_stream_same_sums(void **state) {
  (void)state;
  unsigned long long agg = 0, stream = 0;
  free(run("main", 0, &agg, NULL));
  free(run("main", 1, &stream, NULL));
  assert_int_equal(agg, 68000);
  assert_int_equal(stream, agg);
}

/* exit() three functions deep: every open function ends at exit. */
static void test_instrument_exit_from_deep_inside(void **state) {
  (void)state;
  expect_text("exit", NULL,
              "main 2000\n"
              M " 2000\n"
              M C "exit_a 1000\n"
              M C "exit_a" C "exit_b 1000\n"
              M C "exit_a" C "exit_b" C "exit_c 1000\n"
              M C "global_work 2000\n"
              M C "global_work" C "static_leaf 1000\n");
}

/* The fork child runs instrumented functions and exits; the file holds
 * the parent's stacks only, once. */
static void test_instrument_fork_child_writes_nothing(void **state) {
  (void)state;
  expect_text("fork", NULL,
              "main 2000\n"
              M " 2000\n"
              M C "do_fork 1000\n");
}

/* recurse(2100): 2101 calls, deeper than cflame's stack. Below
 * CFLAME_MAX_DEPTH frames every call is charged to one [truncated] node,
 * and below the stack's last slot calls are counted, not pushed; after the
 * recursion returns the next calls nest where they are. Every enter and
 * exit reads the clock once, recorded or counted: 2104 calls (main, 2101
 * recurse, global_work and static_leaf) and the install, 4209 readings of
 * 1000 ns. The 1591 calls below the 510 named recurse frames are
 * [truncated]: 3182 readings, but for the first enter's (its parent's). */
static void test_instrument_deeper_than_the_stack(void **state) {
  (void)state;
  unsigned long long total = 0;
  char *got = run("deep", 0, &total, NULL);
  assert_int_equal(total, 4209000ull);
  assert_non_null(strstr(got, "main 2000\n" M " 3000\n"
                              M C "global_work 2000\n"
                              M C "global_work" C "static_leaf 1000\n"));
  assert_non_null(strstr(got, C "recurse;[truncated] 3181000\n"));
  free(got);
}

/* A program that calls cflame_init_env itself gets the guard of the sink
 * the first instrumented call installed (one sink, one copy of each
 * stack); dropping it writes the file and ends the recording. */
static void test_instrument_own_init_env_takes_the_guard(void **state) {
  (void)state;
  expect_text("initenv", NULL,
              "main 2000\n"
              M " 2000\n"
              M C "global_work 2000\n"
              M C "global_work" C "static_leaf 1000\n"
              M C "own_init_env 1000\n"
              M C "own_init_env" C "global_work 2000\n"
              M C "own_init_env" C "global_work" C "static_leaf 1000\n");
}

/* A plugin unloaded, then another one with the same code (other names):
 * the loader puts it where the first one was (the helper says so on
 * stderr), yet each keeps its own names and counts. */
#define PL2 ";libcflame_instr_plugin2::"
static void test_instrument_reload_at_same_address(void **state) {
  (void)state;
  expect_text("reload", NULL,
              "main 2000\n"
              M " 2000\n"
              M C "reload 3000\n"
              M C "reload" C "use_plugin 2000\n"
              M C "reload" C "use_plugin" PL "plugin_entry 4000\n"
              M C "reload" C "use_plugin" PL "plugin_entry" PL
              "plugin_helper 3000\n"
              M C "reload" C "use_twin 2000\n"
              M C "reload" C "use_twin" PL2 "other_entry 4000\n"
              M C "reload" C "use_twin" PL2 "other_entry" PL2
              "other_helper 3000\n");
}

/* Functions inlined into another, called again: their hooks come from the
 * owner's stack position with the owner's call site, and nest under it
 * every time (with the TSC, the later calls take the hooks' cached push for
 * inlined functions: test_instrument_fast_paths_same_files). */
static void test_instrument_inlined_called_again(void **state) {
  (void)state;
  expect_text("inlined", NULL,
              "main 2000\n"
              M " 4000\n"
              M C "inlined_parent 9000\n"
              M C "inlined_parent" C "inlined_child 6000\n"
              M C "inlined_parent" C "inlined_child" C "static_leaf 3000\n"
              M C "inlined_parent" C "inlined_mid 6000\n"
              M C "inlined_parent" C "inlined_mid" C "inlined_child 6000\n"
              M C "inlined_parent" C "inlined_mid" C "inlined_child" C
              "static_leaf 3000\n");
}

/* A function's name is made when the flush first reads it, not at its first
 * call: the helper checks that its too-long name is reported as repaired
 * only by the flush. The name is clamped to 1024 bytes. */
static void test_instrument_names_made_at_flush(void **state) {
  (void)state;
  char name[1025], want[4096];
  for (size_t i = 0; i < 1024; i++)
    name[i] = i < 5 ? "lazy_"[i] : "abcdefgh"[(i - 5) % 8];
  name[1024] = '\0';
  snprintf(want, sizeof want,
           "main 2000\n" M " 1000\n" M C "lazy_name 1000\n"
           M C "lazy_name" C "%s 2000\n"
           M C "lazy_name" C "%s" C "global_work 2000\n"
           M C "lazy_name" C "%s" C "global_work" C "static_leaf 1000\n",
           name, name, name);
  expect_text("lazyname", NULL, want);
}

/* Excluded functions are not recorded: their time is their caller's. */
static void test_instrument_exclude_by_name_and_glob(void **state) {
  (void)state;
  const char *const extra[] = {"CFLAME_INSTRUMENT_EXCLUDE=static_* , exit_b",
                               NULL};
  expect_text("exit", extra,
              "main 2000\n"
              M " 2000\n"
              M C "exit_a 1000\n"
              M C "exit_a" C "exit_c 1000\n"
              M C "global_work 1000\n");
}

/* CFLAME_FILTER applies to functions by target, the module's stem. */
static void test_instrument_filter_by_module(void **state) {
  (void)state;
  const char *const extra[] = {
      "CFLAME_FILTER=info,libcflame_instr_plugin=off", NULL};
  char *got = run("main", 0, NULL, extra);
  if (strstr(got, "plugin_") || !strstr(got, M C "use_plugin 1000\n") ||
      !strstr(got, M C "with_scope;instr_child::macro_scope 2000\n"))
    fail_msg("got\n%s", got);
  free(got);
}

/* Functions smaller than the minimum size are not recorded; with a huge
 * minimum only the macro span is left. */
static void test_instrument_min_size_skips_small(void **state) {
  (void)state;
  const char *const extra[] = {"CFLAME_INSTRUMENT_MIN_SIZE=1000000", NULL};
  expect_text("main", extra,
              "main 2000\n"
              "main;instr_child::macro_scope 1000\n");
}

/* longjmp out of a recursion into its second level: the three levels it
 * left end when rec_after is entered, and rec_after sits under the second
 * level (the same function as the frames it replaces). */
static void test_instrument_longjmp_within_recursion(void **state) {
  (void)state;
#define R C "rec_jump"
  expect_text("recjump", NULL,
              "main 2000\n"
              M " 2000\n"
              M R " 2000\n"
              M R R " 3000\n"
              M R R C "rec_after 1000\n"
              M R R R " 1000\n"
              M R R R R " 1000\n"
              M R R R R R " 1000\n");
#undef R
}

/* A signal handler on an alternate stack: its functions nest under the
 * interrupted function, which keeps its frame (an alternate stack is not a
 * shallower position). */
static void test_instrument_signal_on_alternate_stack(void **state) {
  (void)state;
  expect_text("signal", NULL,
              "main 2000\n"
              M " 2000\n"
              M C "do_signal 3000\n"
              M C "do_signal" C "on_signal 2000\n"
              M C "do_signal" C "on_signal" C "sig_leaf 1000\n"
              M C "do_signal" C "sig_outer 3000\n"
              M C "do_signal" C "sig_outer" C "on_signal 2000\n"
              M C "do_signal" C "sig_outer" C "on_signal" C "sig_leaf 1000\n"
              M C "do_signal" C "sig_outer" C "static_leaf 1000\n");
}

/* abort() loses what was not flushed, as with the span macros, but the
 * file stays valid (here: empty, nothing was flushed). */
static void test_instrument_abort_leaves_valid_file(void **state) {
  (void)state;
  unsigned long long total = 1;
  char *got = run_sig(INSTR_CHILD, "abort", 0, &total, NULL, SIGABRT);
  assert_int_equal(total, 0);
  assert_string_equal(got, "");
  free(got);
}

/* Four threads meet 128 new functions at the same time (the table grows
 * under them): every thread has every function, named, with exact counts
 * (100 calls of 1000 ns each; the worker is charged each enter). */
static void test_instrument_threads_race_on_new_functions(void **state) {
  (void)state;
  unsigned long long total = 0;
  char *got = run("race", 0, &total, NULL);
  size_t fns = 0, workers = 0;
  char *save = NULL;
  for (char *line = strtok_r(got, "\n", &save); line;
       line = strtok_r(NULL, "\n", &save)) {
    if (strncmp(line, "thread-", 7) != 0)
      continue;
    const char *w = strstr(line, C "race_worker");
    if (!w)
      continue;
    w += strlen(C "race_worker");
    if (!strcmp(w, " 12801000"))
      workers++;
    else if (!strncmp(w, C "race_", strlen(C "race_")) &&
             !strcmp(strchr(w, ' '), " 100000"))
      fns++;
    else
      fail_msg("unexpected line %s", line);
  }
  assert_int_equal(workers, 4);
  assert_int_equal(fns, 4 * 128);
  free(got);
}

/* Without .symtab (stripped) the executable's functions read
 * module+0xoffset, the offset being the ELF address (as addr2line takes
 * it): the same stacks, the same counts. */
static void test_instrument_stripped_reads_offsets(void **state) {
  (void)state;
  unsigned long long total = 0;
  char *got = run_exe(INSTR_STRIPPED, "exit", 0, &total, NULL);
  assert_int_equal(total, 10000);
  static const char frame[] = "cflame-instr-stripped::cflame-instr-stripped+0x";
  /* Sorted by address now, so compared per depth: lines and their sum. */
  const int want_lines[] = {1, 1, 2, 2, 1}, want_sum[] = {2000, 2000, 3000,
                                                           2000, 1000};
  int lines[5] = {0}, sum[5] = {0};
  char *save = NULL;
  for (char *line = strtok_r(got, "\n", &save); line;
       line = strtok_r(NULL, "\n", &save)) {
    char *sp = strrchr(line, ' ');
    assert_non_null(sp);
    *sp = '\0';
    assert_true(strncmp(line, "main", 4) == 0);
    int depth = 0;
    for (char *p = strchr(line, ';'); p; p = strchr(p + 1, ';'), depth++) {
      if (strncmp(p + 1, frame, sizeof frame - 1) != 0)
        fail_msg("frame %s", p + 1);
      const char *hex = p + sizeof frame;
      size_t n = strspn(hex, "0123456789abcdef");
      assert_true(n > 0 && (hex[n] == ';' || hex[n] == '\0'));
    }
    assert_true(depth < 5);
    lines[depth]++;
    sum[depth] += atoi(sp + 1);
  }
  for (int d = 0; d < 5; d++) {
    assert_int_equal(lines[d], want_lines[d]);
    assert_int_equal(sum[d], want_sum[d]);
  }
  free(got);
}

/* The same programs on the hooks' fast paths (cflame-instr-child-tsc: the
 * library reads the injected clock where it reads the TSC): the same files,
 * byte for byte, but for the module's name. */
static void test_instrument_fast_paths_same_files(void **state) {
  (void)state;
  static const char *const modes[] = {"main",    "exit",    "recjump",
                                      "signal",  "deep",    "fork",
                                      "initenv", "inlined", "reload",
                                      "exit",    "main",    "recjump"};
  const char *const excl[] = {"CFLAME_INSTRUMENT_EXCLUDE=static_*,exit_b",
                              NULL};
  /* compensate on the TSC: precise mode, where the hooks leave their fast
   * paths (the fake TSC's calibration takes nothing out). */
  const char *const precise[] = {"CFLAME_FLAME_COMPENSATE=1", NULL};
  for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
    const char *const *extra = i == 9 ? excl : NULL;
    char *slow = run(modes[i], 0, NULL, extra);
    char *fast = run_exe(INSTR_CHILD_TSC, modes[i], 0, NULL,
                         i >= 10 ? precise : extra);
    char *w = fast;
    for (const char *r = fast; *r;) /* "child-tsc::" -> "child::" */
      if (strncmp(r, "child-tsc::", 11) == 0) {
        memcpy(w, "child::", 7);
        w += 7;
        r += 11;
      } else {
        *w++ = *r++;
      }
    *w = '\0';
    if (strcmp(slow, fast) != 0)
      fail_msg("mode %s: fast paths wrote\n%s\nslow paths\n%s", modes[i],
               fast, slow);
    free(slow);
    free(fast);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(
          test_instrument_every_function_named_exact_stacks, setup, teardown),
      cmocka_unit_test_setup_teardown(test_instrument_stream_same_sums, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_instrument_exit_from_deep_inside,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(
          test_instrument_fork_child_writes_nothing, setup, teardown),
      cmocka_unit_test_setup_teardown(
          test_instrument_own_init_env_takes_the_guard, setup, teardown),
      cmocka_unit_test_setup_teardown(
          test_instrument_deeper_than_the_stack, setup, teardown),
      cmocka_unit_test_setup_teardown(test_instrument_reload_at_same_address,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_instrument_inlined_called_again,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_instrument_names_made_at_flush,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_instrument_exclude_by_name_and_glob,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_instrument_filter_by_module, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_instrument_min_size_skips_small,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_instrument_stripped_reads_offsets,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(
          test_instrument_threads_race_on_new_functions, setup, teardown),
      cmocka_unit_test_setup_teardown(test_instrument_longjmp_within_recursion,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_instrument_signal_on_alternate_stack,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_instrument_abort_leaves_valid_file,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_instrument_fast_paths_same_files,
                                      setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
