/* The header from C++: every macro compiled and run, byte-exact folded and
 * fmt output with an injected clock, and an exception that leaves three
 * CFLAME_SCOPEs ends them in order (cflame::scope is RAII). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* Debian's cmocka 1.1.5 header has no extern "C" guard of its own. */
extern "C" {
#include <cmocka.h>
}

#include <cflame.h>

#include <stdexcept>
#include <string>

namespace {

uint64_t now_ns;
std::string out, fout;
cflame_guard_t *guard, *fguard;
unsigned errors_seen;

uint64_t test_clock(void *) {
  return now_ns;
}

/* A cflame_write_fn appending to a std::string (never throws past here). */
long to_string(void *ctx, const void *buf, size_t len) {
  try {
    static_cast<std::string *>(ctx)->append(static_cast<const char *>(buf),
                                            len);
  } catch (...) {
    return -12; /* ENOMEM */
  }
  return static_cast<long>(len);
}

void count_errors(void *, cflame_error_kind_t, const char *) {
  errors_seen++;
}

int setup(void **) {
  out.clear();
  fout.clear();
  errors_seen = 0;
  now_ns = 0;
  cflame_on_error(count_errors, nullptr);
  assert_int_equal(cflame_clock_set(test_clock, nullptr), 0);
  return 0;
}

int teardown(void **) {
  (void)cflame_guard_drop(fguard);
  (void)cflame_guard_drop(guard);
  guard = fguard = nullptr;
  cflame_on_error(nullptr, nullptr);
  (void)cflame_clock_set(nullptr, nullptr);
  return 0;
}

void install(bool fields_in_frame) {
  cflame_flame_opts_t o = cflame_flame_opts_default();
  o.fields_in_frame = fields_in_frame;
  assert_int_equal(cflame_flame_writer(to_string, &out, &o, &guard), 0);
}

const char *drop() {
  assert_int_equal(cflame_guard_drop(guard), 0);
  guard = nullptr;
  return out.c_str();
}

/* --- scoped spans ------------------------------------------------------- */

int scoped(int n) {
  CFLAME_FN();
  now_ns += 1;
  {
    CFLAME_SCOPE("block");
    now_ns += 10;
    if (n > 0)
      return n; /* leaves both scopes */
  }
  now_ns += 100;
  return 0;
}

void test_cxx_scoped_spans_exact(void **) {
  now_ns = 1000; /* the clock starts at install: no root time */
  install(true);
  CFLAME_SPAN(a, "a");
  now_ns += 2;
  CFLAME_SPAN_L(b, CFLAME_LEVEL_WARN, "b");
  now_ns += 3;
  CFLAME_SPAN_END(b);
  assert_int_equal(scoped(1), 1);
  assert_int_equal(scoped(0), 0);
  int evaluated = 0;
  CFLAME_SPAN_F(c, "c", CFLAME_I64("i", -(++evaluated)), CFLAME_U64("u", 7u),
                CFLAME_F64("f", 2.5), CFLAME_BOOL("b", evaluated > 0),
                CFLAME_STR("s", std::string("x;y").c_str()));
  assert_int_equal(evaluated, 1); /* counting the fields evaluates nothing */
  now_ns += 4;
  CFLAME_RECORD(c, CFLAME_I64("r", 5));
  now_ns += 5;
  CFLAME_SPAN_END(c);
  CFLAME_SPAN_END(a);
  /* Time before the thread's first span and after its last exit is not
   * charged; "c" with the record is a new frame (fields_in_frame). */
  assert_string_equal(drop(),
                      "main;test_cxx::a 2\n"
                      "main;test_cxx::a;test_cxx::b 3\n"
                      "main;test_cxx::a;test_cxx::c{i=-1, u=7, f=2.5, b=true, "
                      "s=x:y, r=5} 5\n"
                      "main;test_cxx::a;test_cxx::c{i=-1, u=7, f=2.5, b=true, "
                      "s=x:y} 4\n"
                      "main;test_cxx::a;test_cxx::scoped 102\n"
                      "main;test_cxx::a;test_cxx::scoped;test_cxx::block 20\n");
  assert_int_equal(errors_seen, 0);
}

/* --- exceptions ---------------------------------------------------------- */

void inner() {
  CFLAME_SCOPE("inner");
  now_ns += 4;
  throw std::runtime_error("boom");
}

void middle() {
  CFLAME_SCOPE("middle");
  now_ns += 2;
  inner();
  now_ns += 1000; /* never reached */
}

void outer() {
  CFLAME_FN();
  now_ns += 1;
  middle();
}

void test_cxx_exception_ends_three_scopes(void **) {
  install(false);
  cflame_stats_t before, after;
  cflame_stats(&before);
  CFLAME_SPAN(req, "request");
  bool caught = false;
  try {
    outer();
  } catch (const std::runtime_error &e) {
    caught = std::string(e.what()) == "boom";
  }
  assert_true(caught);
  now_ns += 8; /* after the catch: the request's own time again */
  CFLAME_SPAN_END(req);
  cflame_stats(&after);
  /* Each scope ended in order: nothing had to be repaired. */
  assert_int_equal(after.errors[CFLAME_FAULT_OUT_OF_ORDER],
                   before.errors[CFLAME_FAULT_OUT_OF_ORDER]);
  assert_int_equal(after.errors[CFLAME_FAULT_STALE_EXIT],
                   before.errors[CFLAME_FAULT_STALE_EXIT]);
  assert_string_equal(drop(),
                      "main;test_cxx::request 8\n"
                      "main;test_cxx::request;test_cxx::outer 1\n"
                      "main;test_cxx::request;test_cxx::outer;"
                      "test_cxx::middle 2\n"
                      "main;test_cxx::request;test_cxx::outer;"
                      "test_cxx::middle;test_cxx::inner 4\n");
  assert_int_equal(errors_seen, 0);
}

void test_cxx_scope_object_token(void **) {
  now_ns = 10;
  install(false);
  {
    static cflame_callsite_t cs = {"manual", "app", __FILE__, __LINE__,
                            CFLAME_LEVEL_INFO, nullptr, 0, 0, {nullptr, nullptr}};
    cflame::scope s(cflame_scope_enter(&cs));
    assert_true(s.token() != 0);
    now_ns += 3;
  }
  cflame::scope none(0); /* nothing entered: destroying it does nothing */
  assert_int_equal(none.token(), 0);
  assert_string_equal(drop(), "main;app::manual 3\n");
}

/* --- registry spans -------------------------------------------------------- */

cflame_span_t make_task(uint64_t id) {
  return CFLAME_SPAN_NEW("task", CFLAME_U64("id", id));
}

void test_cxx_registry_spans_exact(void **) {
  install(true);
  CFLAME_SPAN(outer_tok, "outer");
  cflame_span_t t1 = make_task(1), t2 = make_task(2); /* one callsite */
  cflame_span_t bare = CFLAME_SPAN_NEW("bare");
  cflame_span_t root = CFLAME_SPAN_NEW_ROOT("root", CFLAME_BOOL("r", 1));
  cflame_span_t root2 = CFLAME_SPAN_NEW_ROOT("root2");
  int parents = 0;
  cflame_span_t kid = CFLAME_SPAN_NEW_CHILD_OF((++parents, t1), "kid",
                                                CFLAME_I64("k", 3));
  cflame_span_t kid2 = CFLAME_SPAN_NEW_CHILD_OF(root, "kid2");
  assert_int_equal(parents, 1); /* the parent is evaluated once */
  CFLAME_SPAN_END(outer_tok);
  cflame_span_t all[] = {t1, t2, bare, root, root2, kid, kid2};
  uint64_t step = 1;
  for (cflame_span_t s : all) {
    assert_false(cflame_span_is_none(s));
    cflame_span_enter(s);
    now_ns += step;
    step *= 2;
    cflame_span_exit(s);
  }
  for (cflame_span_t s : all)
    cflame_span_close(s);
  cflame_stats_t st;
  cflame_stats(&st);
  assert_int_equal(st.spans_live, 0);
  assert_string_equal(drop(),
                      "main;test_cxx::outer;test_cxx::bare 4\n"
                      "main;test_cxx::outer;test_cxx::task{id=1} 1\n"
                      "main;test_cxx::outer;test_cxx::task{id=1};"
                      "test_cxx::kid{k=3} 32\n"
                      "main;test_cxx::outer;test_cxx::task{id=2} 2\n"
                      "main;test_cxx::root2 16\n"
                      "main;test_cxx::root{r=true} 8\n"
                      "main;test_cxx::root{r=true};test_cxx::kid2 64\n");
}

/* --- events and CFLAME_FIELD ------------------------------------------------ */

enum color { RED, GREEN };

void test_cxx_events_and_field_types_exact(void **) {
  cflame_fmt_opts_t fo = cflame_fmt_opts_default(); /* installed at 0 */
  assert_int_equal(cflame_fmt_writer(to_string, &fout, &fo, &fguard), 0);
  now_ns = 1500000;
  CFLAME_SPAN(s, "ctx");
  char buf[] = "buf";
  const color c = GREEN;
  CFLAME_EVENT(CFLAME_LEVEL_INFO, "types", CFLAME_FIELD("i", -3),
               CFLAME_FIELD("l", 4L), CFLAME_FIELD("ll", -5LL),
               CFLAME_FIELD("u", 3u), CFLAME_FIELD("ull", 6ULL),
               CFLAME_FIELD("d", 2.5), CFLAME_FIELD("f", 0.5f),
               CFLAME_FIELD("b", true), CFLAME_FIELD("s", "str"),
               CFLAME_FIELD("buf", buf), CFLAME_FIELD("ch", 'A'),
               CFLAME_FIELD("uc", static_cast<unsigned char>(200)),
               CFLAME_FIELD("e", c));
  CFLAME_TRACE_EV("t");
  CFLAME_DEBUG_EV("d", CFLAME_I64("n", 1));
  now_ns += 250000;
  CFLAME_INFO_EV("i");
  CFLAME_WARN_EV("w", CFLAME_STR("why", "slow"));
  CFLAME_ERROR_EV("e", CFLAME_F64("x", 0.25), CFLAME_BOOL("y", 0));
  CFLAME_FRAME_MARK();
  CFLAME_SPAN_END(s);
  cflame_stats_t st;
  cflame_stats(&st);
  assert_int_equal(st.frame_marks > 0, 1);
  assert_int_equal(cflame_guard_drop(fguard), 0);
  fguard = nullptr;
  assert_string_equal(
      fout.c_str(),
      "   0.001500s  INFO main: ctx: types i=-3, l=4, ll=-5, u=3, ull=6, "
      "d=2.5, f=0.5, b=true, s=str, buf=buf, ch=65, uc=200, e=1\n"
      "   0.001500s TRACE main: ctx: t\n"
      "   0.001500s DEBUG main: ctx: d n=1\n"
      "   0.001750s  INFO main: ctx: i\n"
      "   0.001750s  WARN main: ctx: w why=slow\n"
      "   0.001750s ERROR main: ctx: e x=0.25, y=false\n"
      "   0.001750s  INFO main: ctx: frame mark\n");
}

/* Field counts are compile-time constants in C++ too. */
static_assert(CFLAME__NFIELDS(CFLAME_I64("a", 1), CFLAME_I64("b", 2),
                              CFLAME_STR("c", "3")) == 3,
              "CFLAME__NFIELDS counts at compile time");

} // namespace

int main() {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_cxx_scoped_spans_exact, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_cxx_exception_ends_three_scopes,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_cxx_scope_object_token, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_cxx_registry_spans_exact, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_cxx_events_and_field_types_exact,
                                      setup, teardown),
  };
  return cmocka_run_group_tests_name("cxx", tests, nullptr, nullptr);
}
