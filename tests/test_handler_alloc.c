/* A span in a signal handler allocates nothing once its callsite has been
 * used on the thread (issue 14, item 6), in every session state: the
 * handler's span may be the thread's first of a new session, whose sink
 * takes records (a ring) or not, with a ring of another size than the
 * thread's last one, or none before.
 *
 * malloc, calloc, realloc and free are wrapped (glibc's __libc_* entry
 * points) and count the calls made while the handler runs. Sanitizer
 * builds replace the allocator themselves, so there the test is skipped. */
#define _GNU_SOURCE
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

#include "sanitizers.h"
#include "testutil.h"

#if TEST_ASAN || TEST_TSAN || TEST_MSAN || !defined(__GLIBC__)
#define NO_WRAP 1
#endif

#ifndef NO_WRAP
/* --- counting allocator ---------------------------------------------------- */

extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);
extern void __libc_free(void *p);

static volatile sig_atomic_t in_handler;
static volatile int handler_allocs;

void *malloc(size_t n) {
  if (in_handler)
    handler_allocs++;
  return __libc_malloc(n);
}
void *calloc(size_t n, size_t size) {
  if (in_handler)
    handler_allocs++;
  return __libc_calloc(n, size);
}
void *realloc(void *p, size_t n) {
  if (in_handler)
    handler_allocs++;
  return __libc_realloc(p, n);
}
void free(void *p) {
  if (in_handler && p)
    handler_allocs++;
  __libc_free(p);
}

/* --- the handler ---------------------------------------------------------- */

static void on_usr1(int sig) {
  (void)sig;
  in_handler = 1;
  CFLAME_SPAN(h, "handler");
  tclock_ns += 5;
  CFLAME_SPAN_END(h);
  in_handler = 0;
}

static memout_t out;
static cflame_guard_t *g;

/* A failed test must not leave its sink to the next one. */
static int teardown(void **state) {
  (void)state;
  if (g)
    (void)cflame_guard_drop(g);
  g = NULL;
  memout_free(&out);
  return 0;
}

/* Installs a flame sink: mode and ring size (0: the default); NULL if that
 * failed. */
static cflame_guard_t *install(cflame_flame_mode_t mode, size_t ring) {
  cflame_flame_opts_t o = cflame_flame_opts_default();
  o.mode = mode;
  o.module_path = false;
  if (ring)
    o.stream_records = ring;
  o.buffer_size = 4096; /* records drained to it reach `out` soon */
  cflame_guard_t *s = NULL;
  return cflame_flame_writer(memout_write, &out, &o, &s) == 0 ? s : NULL;
}

typedef struct session_s {
  cflame_flame_mode_t mode;
  size_t ring;
} session_t;

/* Off cmocka's thread: a failed check returns its line. */
#define CHECK(c)                                                               \
  do {                                                                         \
    if (!(c))                                                                  \
      return __LINE__;                                                         \
  } while (0)

/* Session a, with the handler's callsite used there (outside the handler
 * and in it), then session b, whose first span on this thread is the
 * handler's: it must allocate nothing, be recorded, and leave the thread a
 * ring of the size b asked for. */
static int handler_starts_here(session_t a, session_t b) {
  tclock_install(1000);
  CHECK((g = install(a.mode, a.ring)) != NULL);
  on_usr1(0);
  raise(SIGUSR1);
  CHECK(cflame_guard_drop(g) == 0);
  g = NULL;
  memout_free(&out);

  CHECK((g = install(b.mode, b.ring)) != NULL);
  handler_allocs = 0;
  raise(SIGUSR1); /* the thread's first span of this session */
  CHECK(handler_allocs == 0);
  /* 2400 records, some 20 KB of lines: a ring of the size b asked for
   * (256, or at least 4096) has drained them through the sink's 4 KiB
   * buffer before any flush, or not. */
  for (int i = 0; i < 1200; i++) {
    CFLAME_SPAN(x, "x");
    tclock_ns += 1;
    CFLAME_SPAN_END(x);
  }
  if (b.mode == CFLAME_FLAME_STREAM)
    CHECK((out.len > 0) == (b.ring == 256));
  tclock_ns += 1;
  CHECK(cflame_guard_drop(g) == 0);
  g = NULL;
  /* Recorded: 5 ns in the handler's span, in either mode. */
  CHECK(strstr(memout_str(&out), ";handler 5\n") != NULL);
  memout_free(&out);
  return 0;
}

typedef struct pair_s {
  session_t a, b;
  int failed_line;
} pair_t;

static void *pair_main(void *arg) {
  pair_t *p = arg;
  p->failed_line = handler_starts_here(p->a, p->b);
  return NULL;
}

/* On a new thread each time: its ring is what these two sessions made. */
static void handler_starts(session_t a, session_t b) {
  pair_t p = {a, b, 0};
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, pair_main, &p), 0);
  assert_int_equal(pthread_join(th, NULL), 0);
  if (p.failed_line)
    fail_msg("check at line %d failed", p.failed_line);
}

static void test_handler_ring_smaller(void **state) {
  (void)state;
  handler_starts((session_t){CFLAME_FLAME_STREAM, 4096},
                 (session_t){CFLAME_FLAME_STREAM, 256});
}

static void test_handler_ring_larger(void **state) {
  (void)state;
  handler_starts((session_t){CFLAME_FLAME_STREAM, 256},
                 (session_t){CFLAME_FLAME_STREAM, 8192});
}

static void test_handler_first_ring(void **state) {
  (void)state;
  handler_starts((session_t){CFLAME_FLAME_AGGREGATE, 0},
                 (session_t){CFLAME_FLAME_STREAM, 4096});
}

static void test_handler_no_ring(void **state) {
  (void)state;
  handler_starts((session_t){CFLAME_FLAME_STREAM, 0},
                 (session_t){CFLAME_FLAME_AGGREGATE, 0});
  handler_starts((session_t){CFLAME_FLAME_AGGREGATE, 0},
                 (session_t){CFLAME_FLAME_AGGREGATE, 0});
}

/* The counter itself sees allocations made in the handler. */
static void test_handler_counter_counts(void **state) {
  (void)state;
  in_handler = 1;
  handler_allocs = 0;
  void *volatile p = malloc(16);
  free(p);
  in_handler = 0;
  assert_int_equal(handler_allocs, 2);
}

int main(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr1;
  sigaction(SIGUSR1, &sa, NULL);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_handler_counter_counts),
      cmocka_unit_test_teardown(test_handler_ring_smaller, teardown),
      cmocka_unit_test_teardown(test_handler_ring_larger, teardown),
      cmocka_unit_test_teardown(test_handler_first_ring, teardown),
      cmocka_unit_test_teardown(test_handler_no_ring, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

#else
static void not_here(void **state) {
  (void)state;
  skip(); /* the allocator cannot be wrapped in this build */
}
int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(not_here)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
#endif
