/* cflame__sort (src/support/sort.c): the in-place sort behind aggregate
 * flushes. Against qsort on inputs that break naive quicksorts (sorted,
 * reversed, all equal, few distinct keys, organ pipe, median-of-three
 * killers) and random ones, with elements of several sizes; the result must
 * be sorted and a permutation of the input (every tag kept once). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "sort.h"

/* A 32-byte element like the flush index's, keyed by `key`; `tag` says
 * which input element it was. */
typedef struct elem_s {
  uint64_t key;
  uint64_t tag;
  char pad[16];
} elem_t;

static unsigned compares;

static int by_key(const void *a, const void *b, void *ctx) {
  const elem_t *x = a, *y = b;
  compares++;
  assert_ptr_equal(ctx, &compares); /* the context reaches the comparison */
  return (x->key > y->key) - (x->key < y->key);
}

static uint64_t rng = 88172645463325252u;
static uint64_t next(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

enum { SORTED, REVERSED, EQUAL, FEW, PIPE, RANDOM, KILLER, SHAPES };

static uint64_t key_of(int shape, size_t i, size_t n) {
  switch (shape) {
  case SORTED: return i;
  case REVERSED: return n - i;
  case EQUAL: return 7;
  case FEW: return next() % 3;
  case PIPE: return i < n / 2 ? i : n - i;
  case KILLER: /* Musser's median-of-3 killer shape */
    return i % 2 ? (i + n / 2) % n : i;
  default: return next() % (n + 1);
  }
}

static void check(int shape, size_t n) {
  elem_t *a = malloc(n * sizeof *a + 1), *want = malloc(n * sizeof *a + 1);
  assert_non_null(a);
  assert_non_null(want);
  for (size_t i = 0; i < n; i++) {
    memset(&a[i], 0, sizeof a[i]);
    a[i].key = key_of(shape, i, n);
    a[i].tag = i;
  }
  memcpy(want, a, n * sizeof *a);
  compares = 0;
  cflame__sort(a, n, sizeof *a, by_key, &compares);
  /* O(n log n) comparisons, whatever the shape: at most 4 n log2 n. */
  unsigned lg = 1;
  for (size_t k = n; k > 1; k >>= 1)
    lg++;
  assert_true(compares <= 4 * n * lg + 64);
  char *seen = calloc(n + 1, 1);
  assert_non_null(seen);
  for (size_t i = 0; i < n; i++) {
    if (i)
      assert_true(a[i - 1].key <= a[i].key);
    assert_true(a[i].tag < n);
    assert_int_equal(seen[a[i].tag], 0);
    seen[a[i].tag] = 1;
    assert_int_equal(a[i].key, want[a[i].tag].key); /* moved whole */
  }
  free(seen);
  free(a);
  free(want);
}

static void test_sort_shapes(void **state) {
  (void)state;
  static const size_t sizes[] = {0, 1, 2, 3, 15, 16, 17, 100, 1000, 65537};
  for (int shape = 0; shape < SHAPES; shape++)
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
      check(shape, sizes[i]);
}

/* Elements of other sizes (the swap moves them in 64-byte pieces). */
static int by_first(const void *a, const void *b, void *ctx) {
  (void)ctx;
  return memcmp(a, b, 1);
}

static void test_sort_element_sizes(void **state) {
  (void)state;
  static const size_t sizes[] = {1, 3, 8, 63, 64, 65, 200};
  for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
    size_t size = sizes[s], n = 300;
    unsigned char *a = malloc(n * size);
    assert_non_null(a);
    for (size_t i = 0; i < n; i++)
      for (size_t k = 0; k < size; k++)
        a[i * size + k] = (unsigned char)(k == 0 ? next() : a[i * size]);
    cflame__sort(a, n, size, by_first, NULL);
    for (size_t i = 0; i < n; i++) {
      if (i)
        assert_true(a[(i - 1) * size] <= a[i * size]);
      for (size_t k = 1; k < size; k++) /* each element moved whole */
        assert_int_equal(a[i * size + k], a[i * size]);
    }
    free(a);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sort_shapes),
      cmocka_unit_test(test_sort_element_sizes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
