/* Tests of the pprof encoder (src/pprof_enc.c), read back with the strict
 * decoder of tests/support/pprof_check.c (its own rules: test_pprof_check). */
/* cmocka.h needs these first, in this order. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pprof_check.h"
#include "pprof_enc.h"
#include "testutil.h"

/* Location of a frame given by name only. */
static uint64_t loc(cflame__pprof_t *p, const char *name) {
  uint64_t f = cflame__pprof_function(p, name, strlen(name), NULL, 0);
  assert_int_not_equal(f, 0);
  uint64_t l = cflame__pprof_location(p, f, 0);
  assert_int_not_equal(l, 0);
  return l;
}

static void decode(memout_t *m, unsigned flags, pprof_result_t *r) {
  if (pprof_check(m->buf ? m->buf : "", m->len, flags, r)) {
    fail_msg("invalid profile: %s", r->error);
  }
}

static void expect(const pprof_result_t *r, const char *stack, long long calls,
                   long long wall) {
  const pprof_stack_t *s = pprof_find(r, stack);
  if (!s)
    fail_msg("stack \"%s\" missing", stack);
  assert_int_equal(s->calls, calls);
  assert_int_equal(s->wall, wall);
}

/* --- encoder ----------------------------------------------------------- */

/* Every byte of the empty profile, from the field numbers of profile.proto:
 * mapping 1, the string table, two sample types, time, duration, period
 * type, period, default sample type. */
static void test_pprof_empty_bytes(void **state) {
  (void)state;
  /* clang-format off */
  static const unsigned char want[] =
      "\x1a\x08\x08\x01\x38\x01\x40\x01\x48\x01" /* mapping */
      "\x32\x00"
      "\x32\x05" "calls" "\x32\x05" "count" "\x32\x04" "wall"
      "\x32\x0b" "nanoseconds" "\x32\x06" "thread"
      "\x0a\x04\x08\x01\x10\x02" "\x0a\x04\x08\x03\x10\x04" /* types */
      "\x48\x01" "\x50\xac\x02"                               /* times */
      "\x5a\x04\x08\x03\x10\x04" "\x60\x01" "\x70\x03";
  /* clang-format on */
  memout_t m = {0};
  cflame__pprof_t *p = cflame__pprof_open(memout_write, &m);
  assert_non_null(p);
  assert_int_equal(cflame__pprof_finish(p, 1, 300), 0);
  assert_int_equal(m.len, sizeof want - 1);
  assert_memory_equal(m.buf, want, sizeof want - 1);

  pprof_result_t r;
  decode(&m, 0, &r);
  assert_int_equal(r.nstacks, 0);
  assert_int_equal(r.sample_types, 2);
  assert_string_equal(r.period_type, "wall/nanoseconds");
  assert_int_equal(r.period, 1);
  assert_int_equal(r.time_nanos, 1);
  assert_int_equal(r.duration_nanos, 300);
  /* A second finish is refused and writes nothing. */
  assert_int_equal(cflame__pprof_finish(p, 1, 300), -EINVAL);
  assert_int_equal(m.len, sizeof want - 1);
  pprof_result_free(&r);
  cflame__pprof_close(p);
  memout_free(&m);
}

static void test_pprof_known_stacks(void **state) {
  (void)state;
  memout_t m = {0};
  cflame__pprof_t *p = cflame__pprof_open(memout_write, &m);
  assert_non_null(p);
  uint64_t mn = loc(p, "main"), a = loc(p, "a"), b = loc(p, "b");
  /* Interned: the same frame text gives the same function and location. */
  assert_int_equal(loc(p, "a"), a);
  uint64_t fc = cflame__pprof_function(p, "c", 1, "src/c.c", 10);
  assert_int_not_equal(fc, 0);
  assert_int_equal(cflame__pprof_function(p, "c", 1, "src/c.c", 99), fc);
  assert_int_not_equal(cflame__pprof_function(p, "c", 1, "src/d.c", 10), fc);
  uint64_t c12 = cflame__pprof_location(p, fc, 12);
  assert_int_not_equal(c12, cflame__pprof_location(p, fc, 13));
  assert_int_equal(cflame__pprof_location(p, fc, 12), c12);
  static const char hostile[] = "say \"hi\" \\ ;x {a=1} \xc3\xbcn\xc3\xaf"
                                "\xe2\x82\xac\xf0\x9f\x98\x80 bad\xff";
  uint64_t h = loc(p, hostile);

  const uint64_t s1[] = {a, mn}, s2[] = {b, a, mn}, s3[] = {a, b, a, mn},
                 s4[] = {c12, mn}, s5[] = {h, a, mn};
  assert_int_equal(cflame__pprof_sample(p, s1, 2, 1, 100, "main"), 0);
  assert_int_equal(cflame__pprof_sample(p, s2, 3, 2, 200, "main"), 0);
  assert_int_equal(cflame__pprof_sample(p, s3, 4, 1, 50, "main"), 0);
  assert_int_equal(cflame__pprof_sample(p, s4, 2, 3, 7, "worker-1"), 0);
  assert_int_equal(cflame__pprof_sample(p, s5, 3, 1, 9, NULL), 0);
  /* The same stack on another thread, and twice on one. */
  assert_int_equal(cflame__pprof_sample(p, s1, 2, 4, 1000, "worker-1"), 0);
  assert_int_equal(cflame__pprof_sample(p, s1, 2, 1, 1, "main"), 0);
  /* Huge and negative values survive (10-byte varints). */
  assert_int_equal(cflame__pprof_sample(p, &mn, 1, -1, INT64_MAX, "main"), 0);
  assert_int_equal(cflame__pprof_finish(p, 1700000000000000000, 5), 0);
  cflame__pprof_stats_t st;
  cflame__pprof_stats(p, &st);
  assert_int_equal(st.samples, 8);
  assert_int_equal(st.dropped, 0);
  assert_int_equal(st.bytes, m.len);
  assert_int_equal(st.functions, 6);
  assert_int_equal(st.locations, 6);

  pprof_result_t r;
  decode(&m, 0, &r);
  assert_int_equal(r.samples, 8);
  assert_int_equal(r.nstacks, 6);
  expect(&r, "main", -1, INT64_MAX);
  expect(&r, "main;a", 6, 1101);
  expect(&r, "main;a;b", 2, 200);
  expect(&r, "main;a;b;a", 1, 50);
  expect(&r, "main;c", 3, 7);
  /* The invalid byte was repaired; quotes, `;` and UTF-8 kept as they are. */
  expect(&r,
         "main;a;say \"hi\" \\ ;x {a=1} \xc3\xbcn\xc3\xaf"
         "\xe2\x82\xac\xf0\x9f\x98\x80 bad?",
         1, 9);
  assert_int_equal(r.time_nanos, 1700000000000000000);
  assert_int_equal(r.duration_nanos, 5);
  pprof_result_free(&r);

  /* With the thread label as the root frame, as folded output has it. */
  decode(&m, PPROF_CHECK_THREAD_ROOT, &r);
  assert_int_equal(r.nstacks, 7);
  expect(&r, "main;main;a", 2, 101);
  expect(&r, "worker-1;main;a", 4, 1000);
  expect(&r, "worker-1;main;c", 3, 7);
  expect(&r,
         "[no thread];main;a;say \"hi\" \\ ;x {a=1} \xc3\xbcn\xc3\xaf"
         "\xe2\x82\xac\xf0\x9f\x98\x80 bad?",
         1, 9);
  pprof_result_free(&r);
  cflame__pprof_close(p);
  memout_free(&m);
}

static void test_pprof_bad_ids_refused(void **state) {
  (void)state;
  memout_t m = {0};
  cflame__pprof_t *p = cflame__pprof_open(memout_write, &m);
  uint64_t a = loc(p, "a");
  const uint64_t zero[] = {a, 0}, unknown[] = {a + 1};
  assert_int_equal(cflame__pprof_location(p, 0, 1), 0);
  assert_int_equal(cflame__pprof_location(p, 2, 1), 0);
  assert_int_equal(cflame__pprof_function(p, NULL, 3, NULL, 0), 0);
  assert_int_equal(cflame__pprof_sample(p, zero, 2, 1, 1, NULL), -EINVAL);
  assert_int_equal(cflame__pprof_sample(p, unknown, 1, 1, 1, NULL), -EINVAL);
  assert_int_equal(cflame__pprof_sample(p, NULL, 1, 1, 1, NULL), -EINVAL);
  assert_int_equal(cflame__pprof_sample(p, &a, 1, 1, 1, "t"), 0);
  assert_int_equal(cflame__pprof_finish(p, 0, 0), 0);
  assert_int_equal(cflame__pprof_sample(p, &a, 1, 1, 1, "t"), -EINVAL);
  cflame__pprof_stats_t st;
  cflame__pprof_stats(p, &st);
  assert_int_equal(st.samples, 1);
  assert_int_equal(st.dropped, 4);
  pprof_result_t r;
  decode(&m, PPROF_CHECK_THREAD_ROOT, &r);
  assert_int_equal(r.nstacks, 1);
  expect(&r, "t;a", 1, 1);
  pprof_result_free(&r);
  cflame__pprof_close(p);
  cflame__pprof_close(NULL);
  assert_null(cflame__pprof_open(NULL, NULL));
  memout_free(&m);
}

/* Enough samples to fill the 64 KiB buffer several times. */
#define MANY 20000

static int write_many(memout_t *m, int *first_err) {
  cflame__pprof_t *p = cflame__pprof_open(memout_write, m);
  assert_non_null(p);
  uint64_t ids[3] = {loc(p, "leaf"), loc(p, "mid"), loc(p, "root")};
  *first_err = 0;
  for (int i = 0; i < MANY; i++) {
    int rc = cflame__pprof_sample(p, ids, 3, 1, i, "th");
    if (rc && !*first_err)
      *first_err = rc;
    if (*first_err)
      assert_int_equal(rc, *first_err); /* sticky */
  }
  int rc = cflame__pprof_finish(p, 0, 0);
  cflame__pprof_close(p);
  return rc;
}

static void test_pprof_write_errors(void **state) {
  (void)state;
  memout_t ref = {0}, m = {.fail_errno = ENOSPC, .fail_at = 100000};
  int err;
  assert_int_equal(write_many(&ref, &err), 0);
  assert_int_equal(err, 0);
  /* A full disk halfway: the samples after it and finish report it. */
  assert_int_equal(write_many(&m, &err), -ENOSPC);
  assert_int_equal(err, -ENOSPC);
  assert_int_equal(m.len, 100000);
  assert_memory_equal(m.buf, ref.buf, m.len);
  memout_free(&m);
  /* Failing from the first byte: only finish writes, and reports it. */
  cflame__pprof_t *p = cflame__pprof_open(memout_write, &m);
  m.fail_errno = EPIPE;
  assert_int_equal(cflame__pprof_finish(p, 0, 0), -EPIPE);
  cflame__pprof_close(p);
  memout_free(&m);
  /* Short writes and EINTR are retried: the same bytes arrive. */
  m.max_chunk = 7;
  m.eintr_every = 3;
  assert_int_equal(write_many(&m, &err), 0);
  assert_int_equal(m.len, ref.len);
  assert_memory_equal(m.buf, ref.buf, ref.len);
  pprof_result_t r;
  decode(&m, PPROF_CHECK_THREAD_ROOT, &r);
  expect(&r, "th;root;mid;leaf", MANY, (long long)MANY * (MANY - 1) / 2);
  pprof_result_free(&r);
  memout_free(&m);
  memout_free(&ref);
}

static long zero_write(void *ctx, const void *buf, size_t len) {
  (void)buf;
  (void)len;
  ++*(int *)ctx;
  return 0;
}

static void test_pprof_zero_writes_are_eio(void **state) {
  (void)state;
  int calls = 0;
  cflame__pprof_t *p = cflame__pprof_open(zero_write, &calls);
  assert_int_equal(cflame__pprof_finish(p, 0, 0), -EIO);
  assert_int_equal(calls, 3);
  cflame__pprof_close(p);
}

/* A complete profile per flush: restart keeps the ids, not the samples. */
static void test_pprof_restart(void **state) {
  (void)state;
  memout_t m = {0};
  cflame__pprof_t *p = cflame__pprof_open(memout_write, &m);
  uint64_t a = loc(p, "a"), b = loc(p, "b");
  const uint64_t ab[] = {b, a};
  assert_int_equal(cflame__pprof_sample(p, ab, 2, 1, 10, NULL), 0);
  assert_int_equal(cflame__pprof_finish(p, 0, 0), 0);
  memout_free(&m);
  cflame__pprof_restart(p);
  assert_int_equal(loc(p, "b"), b);
  assert_int_equal(cflame__pprof_sample(p, &a, 1, 2, 20, NULL), 0);
  assert_int_equal(cflame__pprof_finish(p, 0, 0), 0);
  pprof_result_t r;
  decode(&m, 0, &r);
  assert_int_equal(r.nstacks, 1);
  expect(&r, "a", 2, 20);
  assert_int_equal(r.functions, 2);
  pprof_result_free(&r);
  cflame__pprof_close(p);
  memout_free(&m);
}

/* The check that pprof and folded outputs of one run agree. */
static void test_pprof_compare_folded(void **state) {
  (void)state;
  memout_t m = {0};
  cflame__pprof_t *p = cflame__pprof_open(memout_write, &m);
  uint64_t mn = loc(p, "main"), a = loc(p, "a");
  const uint64_t ma[] = {a, mn};
  assert_int_equal(cflame__pprof_sample(p, &mn, 1, 1, 7, "main"), 0);
  assert_int_equal(cflame__pprof_sample(p, ma, 2, 2, 100, "main"), 0);
  assert_int_equal(cflame__pprof_sample(p, ma, 2, 1, 0, "w"), 0); /* 0 ns */
  assert_int_equal(cflame__pprof_finish(p, 0, 0), 0);
  pprof_result_t r;
  decode(&m, PPROF_CHECK_THREAD_ROOT, &r);
  static const struct {
    const char *folded, *diff; /* diff NULL: they agree */
  } cases[] = {
      {"main;main 7\nmain;main;a 100\n", NULL},
      {"main;main;a 60\nmain;main 7\nmain;main;a 40\n", NULL}, /* summed */
      {"main;main 7\nmain;main;a 101\n", "wall 100 in the profile, 101"},
      {"main;main;a 100\n", "\"main;main\" (wall 7) is not in the folded"},
      {"main;main 7\nmain;main;a 100\nw;x 1\n", "\"w;x\" (1) is not in"},
      {"main;main 7\nmain;main;a\n", "line 2 has no count"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char msg[256] = "";
    int rc = pprof_compare_folded(&r, cases[i].folded, strlen(cases[i].folded),
                                  msg, sizeof msg);
    if (!cases[i].diff ? rc != 0 : rc != -1 || !strstr(msg, cases[i].diff))
      fail_msg("case %zu: rc %d, \"%s\"", i, rc, msg);
  }
  pprof_result_free(&r);
  cflame__pprof_close(p);
  memout_free(&m);
}

/* --- allocation failure ----------------------------------------------- */

/* The encoder's sources are compiled with support/failalloc.h forced in. */
#undef malloc
#undef calloc
#undef realloc
long failalloc_at = -1, failalloc_count;
int failalloc_once;

static int fail_now(void) {
  long k = failalloc_count++;
  return failalloc_at >= 0 &&
         (failalloc_once ? k == failalloc_at : k >= failalloc_at);
}
void *failalloc_malloc(size_t n) {
  return fail_now() ? NULL : malloc(n);
}
void *failalloc_calloc(size_t n, size_t size) {
  return fail_now() ? NULL : calloc(n, size);
}
void *failalloc_realloc(void *p, size_t n) {
  return fail_now() ? NULL : realloc(p, n);
}

#define NALLOC 600

/* Builds a profile with allocation number `at` failing; returns how many
 * allocations were made. Whatever fails, finish succeeds, the file is
 * valid and holds exactly the samples that were accepted. */
static long alloc_run(long at, int once) {
  memout_t m = {0};
  failalloc_count = 0;
  failalloc_at = at;
  failalloc_once = once;
  cflame__pprof_t *p = cflame__pprof_open(memout_write, &m);
  if (!p) {
    failalloc_at = -1;
    assert_int_equal(m.len, 0);
    return failalloc_count;
  }
  long long ok = 0, ok_wall = 0;
  for (int i = 0; i < NALLOC; i++) {
    char name[32], thread[16];
    snprintf(name, sizeof name, "fn_%d", i);
    snprintf(thread, sizeof thread, "t%d", i % 50);
    uint64_t f = cflame__pprof_function(p, name, strlen(name), "f.c", i);
    uint64_t root = cflame__pprof_location(
        p, cflame__pprof_function(p, "root", 4, NULL, 0), 0);
    const uint64_t st[2] = {cflame__pprof_location(p, f, i % 7), root};
    int rc = cflame__pprof_sample(p, st, 2, 1, i + 1, thread);
    if (rc == 0) {
      ok++;
      ok_wall += i + 1;
    } else if (rc == -EINVAL) {
      assert_true(st[0] == 0 || st[1] == 0);
    } else {
      assert_int_equal(rc, -ENOMEM);
    }
  }
  long before_finish = failalloc_count;
  assert_int_equal(cflame__pprof_finish(p, 1, 2), 0);
  assert_int_equal(failalloc_count, before_finish); /* finish allocates not */
  long n = failalloc_count;
  failalloc_at = -1;
  cflame__pprof_stats_t s;
  cflame__pprof_stats(p, &s);
  assert_int_equal(s.samples, ok);
  assert_int_equal(s.dropped, NALLOC - ok);
  pprof_result_t r;
  decode(&m, 0, &r);
  assert_int_equal(r.samples, ok);
  long long wall = 0;
  for (size_t i = 0; i < r.nstacks; i++)
    wall += r.stacks[i].wall;
  assert_int_equal(wall, ok_wall);
  pprof_result_free(&r);
  cflame__pprof_close(p);
  memout_free(&m);
  return n;
}

static void test_pprof_alloc_failures(void **state) {
  (void)state;
  long total = alloc_run(-1, 0);
  assert_true(total > 10); /* the tables grew several times */
  for (long at = 0; at <= total; at++) {
    alloc_run(at, 1); /* one allocation fails */
    alloc_run(at, 0); /* that one and every later one */
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_pprof_empty_bytes),
      cmocka_unit_test(test_pprof_known_stacks),
      cmocka_unit_test(test_pprof_bad_ids_refused),
      cmocka_unit_test(test_pprof_write_errors),
      cmocka_unit_test(test_pprof_zero_writes_are_eio),
      cmocka_unit_test(test_pprof_restart),
      cmocka_unit_test(test_pprof_compare_folded),
      cmocka_unit_test(test_pprof_alloc_failures),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
