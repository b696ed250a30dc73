/* CFLAME_ENABLED=0 from C++: every macro still compiles (arguments
 * type-checked), none evaluates anything, nothing is recorded. */
#undef CFLAME_ENABLED
#define CFLAME_ENABLED 0

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* Debian's cmocka 1.1.5 header has no extern "C" guard of its own. */
extern "C" {
#include <cmocka.h>
}

#include <cflame.h>

#include <string>

namespace {

int evaluated;

const char *side_effect() {
  evaluated++;
  return "never";
}

int64_t side_value() {
  evaluated++;
  return 1;
}

cflame_span_t side_span() {
  evaluated++;
  return CFLAME_SPAN_NONE;
}

long to_string(void *ctx, const void *buf, size_t len) {
  static_cast<std::string *>(ctx)->append(static_cast<const char *>(buf), len);
  return static_cast<long>(len);
}

void scoped() {
  CFLAME_FN();
  CFLAME_SCOPE(side_effect());
}

void test_cxx_disabled_macros_vanish(void **) {
  std::string out;
  cflame_guard_t *g = nullptr;
  assert_int_equal(cflame_flame_writer(to_string, &out, nullptr, &g), 0);
  CFLAME_SPAN(a, side_effect());
  scoped();
  CFLAME_SPAN_L(l, CFLAME_LEVEL_ERROR, side_effect());
  CFLAME_SPAN_F(f, side_effect(), CFLAME_I64("n", side_value()),
                CFLAME_FIELD("x", side_value()), CFLAME_STR("s", "v"));
  CFLAME_RECORD(f, CFLAME_U64("m", side_value()), CFLAME_F64("d", 1.5),
                CFLAME_BOOL("b", side_value()));
  CFLAME_EVENT(CFLAME_LEVEL_ERROR, "never", CFLAME_I64("n", side_value()));
  CFLAME_TRACE_EV("never");
  CFLAME_DEBUG_EV("never", CFLAME_FIELD("d", 2.0));
  CFLAME_INFO_EV("never");
  CFLAME_WARN_EV("never", CFLAME_STR("k", side_effect()));
  CFLAME_ERROR_EV("never");
  CFLAME_FRAME_MARK();
  cflame_span_t r = CFLAME_SPAN_NEW("never", CFLAME_I64("n", side_value()));
  cflame_span_t r2 = CFLAME_SPAN_NEW_ROOT(side_effect());
  cflame_span_t c = CFLAME_SPAN_NEW_CHILD_OF(side_span(), "never",
                                              CFLAME_I64("n", side_value()));
  CFLAME_SPAN_END(f);
  CFLAME_SPAN_END(l);
  CFLAME_SPAN_END(a);
  assert_true(cflame_span_is_none(r));
  assert_true(cflame_span_is_none(r2));
  assert_true(cflame_span_is_none(c));
  assert_int_equal(a, 0);
  assert_int_equal(f, 0);
  assert_int_equal(l, 0);
  assert_int_equal(evaluated, 0);
  assert_int_equal(cflame_guard_drop(g), 0);
  assert_int_equal(out.size(), 0); /* nothing was recorded */
}

} // namespace

int main() {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_cxx_disabled_macros_vanish),
  };
  return cmocka_run_group_tests_name("cxx_disabled", tests, nullptr, nullptr);
}
