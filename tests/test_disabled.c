/* CFLAME_ENABLED=0: every macro vanishes, arguments are type-checked but
 * never evaluated, and the program still builds and runs. */
#undef CFLAME_ENABLED
#define CFLAME_ENABLED 0

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <cflame.h>

#include "testutil.h"

static int evaluated;

static const char *side_effect(void) {
  evaluated++;
  return "never";
}

static int64_t side_value(void) {
  evaluated++;
  return 1;
}

static void scoped(void) {
  CFLAME_FN();
  CFLAME_SCOPE(side_effect());
  tclock_ns += 5;
}

static void test_disabled_macros_vanish(void **state) {
  (void)state;
  memout_t out = {0};
  cflame_guard_t *g = NULL;
  tclock_install(100);
  assert_int_equal(cflame_flame_writer(memout_write, &out, NULL, &g), 0);
  CFLAME_SPAN(a, side_effect());
  tclock_ns += 3;
  scoped();
  CFLAME_SPAN_F(f, side_effect(), CFLAME_I64("n", side_value()));
  CFLAME_RECORD(f, CFLAME_I64("m", side_value()));
  CFLAME_SPAN_L(l, CFLAME_LEVEL_ERROR, side_effect());
  CFLAME_SPAN_END(l);
  CFLAME_SPAN_END(f);
  CFLAME_EVENT(CFLAME_LEVEL_ERROR, "never", CFLAME_I64("n", side_value()));
  CFLAME_WARN_EV("never");
  CFLAME_FRAME_MARK();
  CFLAME_PLOT("never", side_value());
  cflame_span_t r = CFLAME_SPAN_NEW("never", CFLAME_I64("n", side_value()));
  cflame_span_t c = CFLAME_SPAN_NEW_CHILD_OF(r, "never");
  assert_true(cflame_span_is_none(r));
  assert_true(cflame_span_is_none(c));
  CFLAME_SPAN_END(a);
  assert_int_equal(a, 0);
  assert_int_equal(f, 0);
  assert_int_equal(evaluated, 0);
  assert_int_equal(cflame_guard_drop(g), 0);
  assert_int_equal(out.len, 0); /* nothing was recorded */
  memout_free(&out);
  assert_int_equal(cflame_clock_set(NULL, NULL), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_disabled_macros_vanish),
  };
  return cmocka_run_group_tests_name("disabled", tests, NULL, NULL);
}
