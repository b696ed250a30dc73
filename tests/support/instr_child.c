/* Helper for test_instrument: a program compiled with -finstrument-functions
 * (and no span calls but one CFLAME_SCOPE) that test_instrument runs with
 * CFLAME_FLAME set, so it must record every function with zero setup code.
 *
 *   cflame-instr-child MODE [PLUGIN [PLUGIN2]]
 *   MODE: main   global, static, recursive functions, a macro scope inside
 *                an instrumented function, longjmp out of two functions,
 *                PLUGIN dlopen'ed, called and dlclose'd, two threads
 *         exit   exit() from three functions deep
 *         fork   a child calls functions and exits; the parent's file only
 *         race   four threads call the same 128 functions at once
 *         recjump longjmp out of a recursion into a shallower level of it
 *         signal a handler on an alternate stack calls functions
 *         abort  abort() two functions deep (killed by SIGABRT)
 *         deep   a recursion deeper than cflame's stack (2100 calls),
 *                then a call: it must nest where it is
 *         initenv the program calls cflame_init_env itself, then drops
 *                the guard: it owns the sink the first call installed
 *         reload PLUGIN dlopen'ed, called, dlclose'd, then PLUGIN2 (the
 *                same code, other names), likely at the same address
 *         inlined the functions inlined into inlined_parent, three times:
 *                the later times take the hooks' cached pushes
 *         lazyname a function whose name is too long for a frame: its name
 *                is made (and reported as repaired) at the flush, not at
 *                its first call
 *
 * The clock is injected before the first hook (a constructor that is not
 * instrumented): every reading on a thread is 1000 ns after the previous
 * one, so each slice is exactly 1000 ns and the output is deterministic.
 * Exit status 0, or 2 for bad usage / a failed dlopen. */
#define _XOPEN_SOURCE 700 /* sigaltstack */
#include <cflame.h>

#include <dlfcn.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))
#define NO_INSTR __attribute__((no_instrument_function))

static _Thread_local uint64_t ticks;

NO_INSTR static uint64_t step_clock(void *ctx) {
  (void)ctx;
  return ticks += 1000;
}

NO_INSTR __attribute__((constructor(101))) static void clock_first(void) {
  (void)cflame_clock_set(step_clock, NULL);
}

static volatile int sink;
int global_work(int n);

static NOINLINE int static_leaf(int x) {
  sink = x;
  return x;
}

NOINLINE int global_work(int n) {
  int s = 0;
  for (int i = 0; i < n; i++)
    s += static_leaf(i);
  return s;
}

static NOINLINE int recurse(int n) {
  if (n == 0)
    return 0;
  return 1 + recurse(n - 1);
}

/* A span macro inside an instrumented function nests under it. */
static NOINLINE void with_scope(void) {
  CFLAME_SCOPE("macro_scope");
  static_leaf(7);
}

/* Inlined functions run in their caller's stack frame: they must still
 * nest under it (not be taken for frames a longjmp left). */
static inline __attribute__((always_inline)) void inlined_child(void) {
  static_leaf(5);
}

static inline __attribute__((always_inline)) void inlined_mid(void) {
  inlined_child();
}

static NOINLINE void inlined_parent(void) {
  inlined_mid();
  inlined_child();
}

static jmp_buf jump;

static NOINLINE void jump_inner(void) {
  longjmp(jump, 1);
}

static NOINLINE void jump_outer(void) {
  jump_inner();
  sink = 1; /* never reached */
}

static NOINLINE void after_jump(void) {
  sink = 2;
}

/* jump_outer and jump_inner never return: the call after the longjmp must
 * sit under do_longjmp, not under them. */
static NOINLINE void do_longjmp(void) {
  if (setjmp(jump) == 0)
    jump_outer();
  after_jump();
}

/* recjump: longjmp from five levels of recursion back to the second; the
 * function called next belongs under the second level. */
static jmp_buf rec_jump_buf;

static NOINLINE void rec_after(void) {
  sink = 6;
}

static NOINLINE void rec_jump(int level) {
  if (level == 2 && setjmp(rec_jump_buf) != 0) {
    rec_after();
    return;
  }
  if (level == 5)
    longjmp(rec_jump_buf, 1);
  rec_jump(level + 1);
  sink = level; /* not a tail call */
}

static void *plugin_at; /* where the last plugin's entry was */

/* Loads path, calls its function fn, unloads it (inlined, not a frame). */
NO_INSTR static inline __attribute__((always_inline)) int
call_plugin(const char *path, const char *fn) {
  void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    fprintf(stderr, "instr-child: dlopen: %s\n", dlerror());
    return -1;
  }
  int (*entry)(int);
  *(void **)&entry = dlsym(h, fn);
  plugin_at = *(void **)&entry;
  int r = entry ? entry(3) : -1;
  dlclose(h);
  return r;
}

static NOINLINE int use_plugin(const char *path) {
  return call_plugin(path, "plugin_entry");
}

static NOINLINE int use_twin(const char *path) {
  return call_plugin(path, "other_entry");
}

/* reload: the plugin, unloaded, then its twin (other names), which the
 * loader tends to put at the same address: each keeps its own names. */
static NOINLINE int reload(const char *path, const char *path2) {
  if (use_plugin(path) < 0)
    return -1;
  void *first = plugin_at;
  if (use_twin(path2) < 0)
    return -1;
  fprintf(stderr, "instr-child: reload: the twin's entry %s\n",
          plugin_at == first ? "took the first one's address"
                             : "is elsewhere");
  return 0;
}

/* race: four threads call 128 functions at once, each resolved by
 * whichever thread gets there first while the others look it up. */
#define RACE_FNS 128
#define RACE_CALLS 100
static _Thread_local volatile int race_sink;
#define F(n)                                                                   \
  static NOINLINE void race_##n(void) { race_sink = n; }
#define F8(n)                                                                  \
  F(n##0) F(n##1) F(n##2) F(n##3) F(n##4) F(n##5) F(n##6) F(n##7)
F8(1) F8(2) F8(3) F8(4) F8(5) F8(6) F8(7) F8(8)
F8(9) F8(10) F8(11) F8(12) F8(13) F8(14) F8(15) F8(16)
#define R8(n)                                                                  \
  race_##n##0, race_##n##1, race_##n##2, race_##n##3, race_##n##4,             \
      race_##n##5, race_##n##6, race_##n##7
static void (*const race_fns[RACE_FNS])(void) = {
    R8(1), R8(2),  R8(3),  R8(4),  R8(5),  R8(6),  R8(7),  R8(8),
    R8(9), R8(10), R8(11), R8(12), R8(13), R8(14), R8(15), R8(16)};

static NOINLINE void *race_worker(void *arg) {
  size_t start = (size_t)arg * 37;
  for (int c = 0; c < RACE_CALLS; c++)
    for (size_t i = 0; i < RACE_FNS; i++)
      race_fns[(start + i * 7) % RACE_FNS]();
  return NULL;
}

static NOINLINE int run_race(void) {
  pthread_t th[4];
  for (size_t i = 0; i < 4; i++)
    if (pthread_create(&th[i], NULL, race_worker, (void *)i) != 0)
      return -1;
  for (size_t i = 0; i < 4; i++)
    pthread_join(th[i], NULL);
  return 0;
}

static NOINLINE void *worker(void *arg) {
  global_work((int)(size_t)arg);
  return NULL;
}

static NOINLINE int run_threads(void) {
  /* One after the other, so that thread-1 and thread-2 are always the same
   * threads. */
  for (size_t i = 1; i <= 2; i++) {
    pthread_t th;
    if (pthread_create(&th, NULL, worker, (void *)i) != 0)
      return -1;
    pthread_join(th, NULL);
  }
  return 0;
}

static volatile int exit_status;

static NOINLINE void exit_c(void) {
  exit(exit_status);
}

static NOINLINE void exit_b(void) {
  exit_c();
  sink = 3; /* never reached */
}

static NOINLINE void exit_a(void) {
  exit_b();
  sink = 4; /* never reached */
}

/* signal: a handler on an alternate stack calls instrumented functions;
 * they nest under the interrupted one, and the frames below stay. */
static NOINLINE void sig_leaf(void) {
  sink = 9;
}

static NOINLINE void on_signal(int sig) {
  (void)sig;
  sig_leaf();
}

static NOINLINE void sig_outer(void) {
  raise(SIGUSR1);
  static_leaf(1);
}

static NOINLINE int do_signal(void) {
  static char alt[64 * 1024];
  stack_t ss = {.ss_sp = alt, .ss_size = sizeof alt, .ss_flags = 0};
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sa.sa_flags = SA_ONSTACK;
  if (sigaltstack(&ss, NULL) != 0 || sigaction(SIGUSR1, &sa, NULL) != 0)
    return -1;
  /* A function's first call names it (allocates, locks): not in a handler. */
  on_signal(0);
  sig_outer();
  return 0;
}

static NOINLINE void abort_b(void) {
  abort();
}

static NOINLINE void abort_a(void) {
  abort_b();
  sink = 5; /* never reached */
}

static NOINLINE int in_child(void) {
  return global_work(2);
}

static NOINLINE int do_fork(void) {
  pid_t pid = fork();
  if (pid < 0)
    return -1;
  if (pid == 0) {
    in_child();
    exit(0);
  }
  int status;
  while (waitpid(pid, &status, 0) < 0) {
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* The program's own zero-code setup: it must get the guard of the sink
 * that the first instrumented call installed, not a second sink on the
 * same file. Dropping it ends the recording. */
static NOINLINE int own_init_env(void) {
  cflame_guard_t *g = NULL;
  if (cflame_init_env(&g) != 0 || !g)
    return -1;
  global_work(1);
  return cflame_guard_drop(g) == 0 ? 0 : -1;
}

/* A function named "lazy_" and 1024 more characters: longer than a frame
 * name may be (1024 bytes), so naming it reports a repaired name. */
#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define X2(a) CAT(a, a)
#define X8(a) X2(X2(X2(a)))
#define X128(a) X8(X8(X2(a)))
static NOINLINE void CAT(lazy_, X128(abcdefgh))(void) {
  global_work(1);
}

/* Names are made when the flush reads them: no repaired name is reported
 * before it, one after. */
static NOINLINE int lazy_name(void) {
  cflame_stats_t before, after;
  CAT(lazy_, X128(abcdefgh))();
  cflame_stats(&before);
  cflame_guard_t *g = NULL;
  if (cflame_init_env(&g) != 0 || !g || cflame_guard_flush(g) != 0)
    return -1;
  cflame_stats(&after);
  if (before.faults[CFLAME_FAULT_NAME] != 0 ||
      after.faults[CFLAME_FAULT_NAME] != 1) {
    fprintf(stderr, "name faults: %llu before the flush, %llu after\n",
            (unsigned long long)before.faults[CFLAME_FAULT_NAME],
            (unsigned long long)after.faults[CFLAME_FAULT_NAME]);
    return -1;
  }
  return cflame_guard_drop(g) == 0 ? 0 : -1;
}

int main(int argc, char **argv) {
  if (argc < 2)
    return 2;
  if (!strcmp(argv[1], "exit")) {
    global_work(1);
    exit_a();
  }
  if (!strcmp(argv[1], "recjump")) {
    rec_jump(1);
    return 0;
  }
  if (!strcmp(argv[1], "signal"))
    return do_signal() == 0 ? 0 : 3;
  if (!strcmp(argv[1], "abort")) {
    global_work(1);
    abort_a();
  }
  if (!strcmp(argv[1], "race"))
    return run_race() == 0 ? 0 : 3;
  if (!strcmp(argv[1], "fork"))
    return do_fork() == 0 ? 0 : 3;
  if (!strcmp(argv[1], "deep")) {
    recurse(2100);
    global_work(1);
    return 0;
  }
  if (!strcmp(argv[1], "initenv")) {
    global_work(1);
    return own_init_env() == 0 ? 0 : 3;
  }
  if (!strcmp(argv[1], "reload"))
    return argc < 4 || reload(argv[2], argv[3]) != 0 ? 2 : 0;
  if (!strcmp(argv[1], "inlined")) {
    for (int i = 0; i < 3; i++)
      inlined_parent();
    return 0;
  }
  if (!strcmp(argv[1], "lazyname"))
    return lazy_name() == 0 ? 0 : 3;
  if (strcmp(argv[1], "main") != 0 || argc < 3)
    return 2;
  global_work(2);
  recurse(3);
  with_scope();
  inlined_parent();
  do_longjmp();
  if (use_plugin(argv[2]) < 0)
    return 2;
  if (run_threads() != 0)
    return 3;
  return 0;
}
