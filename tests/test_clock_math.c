/* The clock's 64-bit multiply-shift and shift-divide (no __int128, so that
 * 32-bit targets build) against the 128-bit forms they replace. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "clock.h"

#ifdef __SIZEOF_INT128__
__extension__ typedef unsigned __int128 u128;

static uint64_t ref_mul_shr32(uint64_t a, uint64_t b) {
  return (uint64_t)(((u128)a * b) >> 32);
}

static uint64_t ref_shl32_div(uint64_t n, uint64_t d) {
  return (uint64_t)(((u128)n << 32) / d);
}

static uint64_t rng = 0x9e3779b97f4a7c15u;
static uint64_t next(void) { /* xorshift64* */
  rng ^= rng >> 12;
  rng ^= rng << 25;
  rng ^= rng >> 27;
  return rng * 0x2545f4914f6cdd1du;
}

static const uint64_t edge[] = {0,          1,          2,
                                0xffffffffu, 0x100000000u, 0x100000001u,
                                UINT64_MAX / 2, UINT64_MAX / 2 + 1,
                                UINT64_MAX - 1, UINT64_MAX};
#define NEDGE (sizeof edge / sizeof edge[0])

static void test_clock_math_mul_shr32_matches_int128(void **state) {
  (void)state;
  for (size_t i = 0; i < NEDGE; i++)
    for (size_t j = 0; j < NEDGE; j++)
      assert_int_equal(cflame__mul_shr32(edge[i], edge[j]),
                       ref_mul_shr32(edge[i], edge[j]));
  for (int i = 0; i < 100000; i++) {
    uint64_t a = next(), b = next() >> (i % 64);
    assert_int_equal(cflame__mul_shr32(a, b), ref_mul_shr32(a, b));
  }
}

static void test_clock_math_shl32_div_matches_int128(void **state) {
  (void)state;
  for (size_t i = 0; i < NEDGE; i++)
    for (size_t j = 0; j < NEDGE; j++)
      if (edge[j])
        assert_int_equal(cflame__shl32_div(edge[i], edge[j]),
                         ref_shl32_div(edge[i], edge[j]));
  for (int i = 0; i < 100000; i++) {
    uint64_t n = next() >> (i % 64), d = next() >> ((i / 64) % 64);
    if (d == 0)
      d = 1;
    assert_int_equal(cflame__shl32_div(n, d), ref_shl32_div(n, d));
  }
}
#endif

/* Known answers, also where there is no 128-bit type to compare with. */
static void test_clock_math_known_values(void **state) {
  (void)state;
  /* 10 ms measured as 3e7 ticks: a third of a ns per tick, as 32.32. */
  assert_int_equal(cflame__shl32_div(10000000u, 30000000u), 1431655765u);
  /* A 3 GHz TSC: 10^9 ticks are a third of a second (rounded down). */
  assert_int_equal(cflame__mul_shr32(1000000000u, 1431655765u), 333333333u);
  /* A 25 MHz counter: 40 ns per tick, a multiplier above 2^32. */
  uint64_t m = cflame__shl32_div(4000000000u, 100000000u);
  assert_int_equal(m, UINT64_C(40) << 32);
  assert_int_equal(cflame__mul_shr32(UINT64_C(1) << 40, m),
                   UINT64_C(40) << 40);
  assert_int_equal(cflame__mul_shr32(UINT64_C(0xffffffffffff), m),
                   UINT64_C(0xffffffffffff) * 40);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_clock_math_known_values),
#ifdef __SIZEOF_INT128__
      cmocka_unit_test(test_clock_math_mul_shr32_matches_int128),
      cmocka_unit_test(test_clock_math_shl32_div_matches_int128),
#endif
  };
  return cmocka_run_group_tests_name("clock_math", tests, NULL, NULL);
}
