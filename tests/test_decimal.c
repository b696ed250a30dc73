/* The flame sink's decimal counts (src/sinks/flame.h): cflame__dec_digits
 * and cflame__dec_back against snprintf at every power of ten and of two,
 * one either side, and the ends of the range. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "flame.h"

static void check(uint64_t v) {
  char want[32], got[32];
  int n = snprintf(want, sizeof want, "%llu", (unsigned long long)v);
  assert_int_equal(cflame__dec_digits(v), (size_t)n);
  assert_int_equal(cflame__dec_back(got + n, v), (size_t)n);
  assert_memory_equal(got, want, (size_t)n);
}

static void test_decimal_edges(void **state) {
  (void)state;
  uint64_t p = 1;
  for (int i = 0; i < 20; i++) {
    check(p - 1);
    check(p);
    check(p + 1);
    if (i < 19)
      p *= 10;
  }
  for (int b = 0; b < 64; b++) {
    check((uint64_t)1 << b);
    check(((uint64_t)1 << b) - 1);
  }
  check(0);
  check(UINT64_MAX);
  check(UINT64_MAX - 1);
  check((uint64_t)1 << 53); /* the largest count a file holds */
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_decimal_edges)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
