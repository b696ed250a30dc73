/* Tests of the JSON encoders (src/json.c): byte-exact escaping of every
 * class of character and every kind of invalid UTF-8, timestamps, integers,
 * doubles (also under other locales) and field objects. Every output is also
 * read back with the strict parser of tests/support/json_parse.c. */
/* cmocka.h needs these first, in this order. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <float.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "json_parse.h"

#define FFFD "\xEF\xBF\xBD"
/* sizeof keeps embedded NULs in the input */
#define S(lit) lit, sizeof(lit) - 1

/* Printable form of bytes for failure messages. */
static const char *show(const char *s, size_t n) {
  static char buf[1024];
  size_t o = 0;
  for (size_t i = 0; i < n && o + 8 < sizeof buf; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c >= 0x20 && c < 0x7f)
      buf[o++] = (char)c;
    else
      o += (size_t)snprintf(buf + o, sizeof buf - o, "\\x%02X", c);
  }
  buf[o] = '\0';
  return buf;
}

/* Encodes into an exact-size heap buffer (ASan sees any write past the
 * documented worst case), compares, and checks that the strict parser
 * decodes it to `decoded` (NULL: skip that part). */
static void check_str(const char *in, size_t n, const char *want,
                      size_t want_len, const char *decoded, size_t dec_len) {
  size_t cap = CFLAME__JSON_STR_MAX(n), got, pos = 0, out_len;
  char *out = malloc(cap), *back = NULL;
  json_error_t err;

  assert_non_null(out);
  got = cflame__json_str(out, in, n);
  assert_true(got <= cap);
  if (want && (got != want_len || memcmp(out, want, got))) {
    print_error("input  %s\n", show(in, n));
    print_error("want   %s\n", show(want, want_len));
    print_error("got    %s\n", show(out, got));
    fail();
  }
  if (json_parse_string(out, got, &pos, &back, &out_len, &err)) {
    print_error("parser rejects %s: %s\n", show(out, got), err.msg);
    fail();
  }
  assert_int_equal(pos, got);
  if (decoded) {
    assert_int_equal(out_len, dec_len);
    assert_memory_equal(back, decoded, dec_len);
  }
  free(back);
  free(out);
}

/* in -> out, and the parser gives `in` back (valid input). */
#define SAME(in, out) check_str(S(in), S(out), S(in))
/* in -> out; the parser gives `dec` (repaired input). */
#define REPAIR(in, out, dec) check_str(S(in), S(out), S(dec))

static void test_str_ascii_every_byte(void **state) {
  (void)state;
  for (unsigned c = 0; c < 0x80; c++) {
    char in = (char)c, want[16];
    size_t wl;
    switch (c) {
    case '"':
      wl = (size_t)snprintf(want, sizeof want, "\"\\\"\"");
      break;
    case '\\':
      wl = (size_t)snprintf(want, sizeof want, "\"\\\\\"");
      break;
    case '\b':
      wl = (size_t)snprintf(want, sizeof want, "\"\\b\"");
      break;
    case '\f':
      wl = (size_t)snprintf(want, sizeof want, "\"\\f\"");
      break;
    case '\n':
      wl = (size_t)snprintf(want, sizeof want, "\"\\n\"");
      break;
    case '\r':
      wl = (size_t)snprintf(want, sizeof want, "\"\\r\"");
      break;
    case '\t':
      wl = (size_t)snprintf(want, sizeof want, "\"\\t\"");
      break;
    default:
      if (c < 0x20)
        wl = (size_t)snprintf(want, sizeof want, "\"\\u%04x\"", c);
      else
        wl = (size_t)snprintf(want, sizeof want, "\"%c\"", (char)c);
    }
    check_str(&in, 1, want, wl, &in, 1);
  }
}

static void test_str_plain(void **state) {
  (void)state;
  SAME("", "\"\"");
  SAME("parse_request", "\"parse_request\"");
  SAME("a/b<c>&'d' {x=1}", "\"a/b<c>&'d' {x=1}\""); /* '/' stays */
  SAME("say \"hi\"\\", "\"say \\\"hi\\\"\\\\\"");
  SAME("nul\0in", "\"nul\\u0000in\"");
  SAME("\x1b[0m\x7f", "\"\\u001b[0m\x7f\""); /* DEL is copied */
  SAME("a\r\nb\tc\x0b", "\"a\\r\\nb\\tc\\u000b\"");
  /* NULL reads as empty whatever n says */
  check_str(NULL, 5, S("\"\""), NULL, 0);
}

static void test_str_valid_utf8(void **state) {
  (void)state;
  SAME("\xC2\x80", "\"\xC2\x80\"");         /* U+0080 (a C1 control) */
  SAME("caf\xC3\xA9", "\"caf\xC3\xA9\"");   /* U+00E9 */
  SAME("\xDF\xBF", "\"\xDF\xBF\"");         /* U+07FF */
  SAME("\xE0\xA0\x80", "\"\xE0\xA0\x80\""); /* U+0800 */
  SAME("\xE2\x82\xAC", "\"\xE2\x82\xAC\""); /* U+20AC */
  SAME("\xED\x9F\xBF", "\"\xED\x9F\xBF\""); /* U+D7FF */
  SAME("\xEE\x80\x80", "\"\xEE\x80\x80\""); /* U+E000 */
  SAME("\xEF\xBF\xBE\xEF\xBF\xBF", "\"\xEF\xBF\xBE\xEF\xBF\xBF\""); /* FFFE/F */
  SAME("\xF0\x90\x80\x80", "\"\xF0\x90\x80\x80\""); /* U+10000 */
  SAME("\xF0\x9F\x98\x80", "\"\xF0\x9F\x98\x80\""); /* U+1F600 */
  SAME("\xF4\x8F\xBF\xBF", "\"\xF4\x8F\xBF\xBF\""); /* U+10FFFF */
  /* line and paragraph separators are escaped; their neighbours are not */
  SAME("a\xE2\x80\xA8"
       "b",
       "\"a\\u2028b\"");
  SAME("\xE2\x80\xA9", "\"\\u2029\"");
  SAME("\xE2\x80\xA7\xE2\x80\xAA", "\"\xE2\x80\xA7\xE2\x80\xAA\"");
}

static void test_str_invalid_utf8(void **state) {
  (void)state;
  /* stray continuation bytes, one U+FFFD each */
  REPAIR("\x80", "\"" FFFD "\"", FFFD);
  REPAIR("a\xBF\x80z", "\"a" FFFD FFFD "z\"", "a" FFFD FFFD "z");
  /* bytes that never appear in UTF-8 */
  REPAIR("\xC0\xAF", "\"" FFFD FFFD "\"", FFFD FFFD);
  REPAIR("\xC1\xBF", "\"" FFFD FFFD "\"", FFFD FFFD);
  REPAIR("\xF5\x80\x80\x80", "\"" FFFD FFFD FFFD FFFD "\"",
         FFFD FFFD FFFD FFFD);
  REPAIR("\xF8\xFE\xFF", "\"" FFFD FFFD FFFD "\"", FFFD FFFD FFFD);
  /* overlongs: the lead cannot take that second byte */
  REPAIR("\xE0\x80\xAF", "\"" FFFD FFFD FFFD "\"", FFFD FFFD FFFD);
  REPAIR("\xE0\x9F\xBF", "\"" FFFD FFFD FFFD "\"", FFFD FFFD FFFD);
  REPAIR("\xF0\x8F\xBF\xBF", "\"" FFFD FFFD FFFD FFFD "\"",
         FFFD FFFD FFFD FFFD);
  /* UTF-16 surrogates encoded as UTF-8 (CESU), alone and paired */
  REPAIR("\xED\xA0\x80", "\"" FFFD FFFD FFFD "\"", FFFD FFFD FFFD);
  REPAIR("\xED\xBF\xBF", "\"" FFFD FFFD FFFD "\"", FFFD FFFD FFFD);
  REPAIR("\xED\xA0\xBD\xED\xB8\x80", "\"" FFFD FFFD FFFD FFFD FFFD FFFD "\"",
         FFFD FFFD FFFD FFFD FFFD FFFD);
  /* above U+10FFFF */
  REPAIR("\xF4\x90\x80\x80", "\"" FFFD FFFD FFFD FFFD "\"",
         FFFD FFFD FFFD FFFD);
  /* truncated sequences: the valid prefix is one U+FFFD */
  REPAIR("\xC3", "\"" FFFD "\"", FFFD);
  REPAIR("\xE2\x82", "\"" FFFD "\"", FFFD);
  REPAIR("\xF0\x9F\x98", "\"" FFFD "\"", FFFD);
  REPAIR("x\xE2\x82y", "\"x" FFFD "y\"", "x" FFFD "y");
  REPAIR("\xF0\x9F\x98\xF0\x9F\x98\x80", "\"" FFFD "\xF0\x9F\x98\x80\"",
         FFFD "\xF0\x9F\x98\x80");
  REPAIR("\xE2\x82\n", "\"" FFFD "\\n\"", FFFD "\n");
  REPAIR("\xE1\x80\xE2\xF0\x91\x92\xF1\xBF\x41", "\"" FFFD FFFD FFFD FFFD "A\"",
         FFFD FFFD FFFD FFFD "A");
}

/* The documented bound is reached, and never passed on random bytes. */
static void test_str_worst_case(void **state) {
  char in[4096], out[CFLAME__JSON_STR_MAX(sizeof in)];
  unsigned seed = 12345;
  (void)state;

  memset(in, 0x01, sizeof in);
  assert_int_equal(cflame__json_str(out, in, sizeof in),
                   CFLAME__JSON_STR_MAX(sizeof in));
  for (int round = 0; round < 2000; round++) {
    size_t n = (size_t)(round % 64) + 1;
    for (size_t i = 0; i < n; i++) {
      seed = seed * 1103515245u + 12345u;
      in[i] = (char)(seed >> 16);
    }
    check_str(in, n, NULL, 0, NULL, 0);
  }
}

#define TS(ns, want)                                                           \
  do {                                                                         \
    char b_[CFLAME__JSON_TS_MAX + 1];                                          \
    size_t n_ = cflame__json_ts(b_, ns);                                       \
    b_[n_] = '\0';                                                             \
    assert_string_equal(b_, want);                                             \
  } while (0)

static void test_ts(void **state) {
  (void)state;
  TS(0, "0.000");
  TS(1, "0.001");
  TS(999, "0.999");
  TS(1000, "1.000");
  TS(1001, "1.001");
  TS(1234567, "1234.567");
  TS(60000000000ull, "60000000.000");
  TS(UINT64_MAX, "18446744073709551.615");
  assert_int_equal(strlen("18446744073709551.615"), CFLAME__JSON_TS_MAX);
}

static void test_integers(void **state) {
  char b[32];
  (void)state;
#define U64(v, want)                                                           \
  b[cflame__json_u64(b, v)] = '\0';                                            \
  assert_string_equal(b, want)
#define I64(v, want)                                                           \
  b[cflame__json_i64(b, v)] = '\0';                                            \
  assert_string_equal(b, want)
  U64(0, "0");
  U64(7, "7");
  U64(10, "10");
  U64(UINT64_MAX, "18446744073709551615");
  I64(0, "0");
  I64(-1, "-1");
  I64(-10, "-10");
  I64(INT64_MAX, "9223372036854775807");
  I64(INT64_MIN, "-9223372036854775808");
  assert_int_equal(strlen("18446744073709551615"), CFLAME__JSON_U64_MAX);
  assert_int_equal(strlen("-9223372036854775808"), CFLAME__JSON_I64_MAX);
}

/* Encodes v, compares with want, and checks the text is a strict JSON
 * number (or null) that reads back as v. */
static void check_f64(double v, const char *want) {
  char b[CFLAME__JSON_F64_MAX + 1];
  json_value_t jv;
  json_error_t err;
  size_t n = cflame__json_f64(b, v);

  assert_true(n <= CFLAME__JSON_F64_MAX);
  b[n] = '\0';
  assert_string_equal(b, want);
  assert_int_equal(json_parse(b, n, &jv, &err), 0);
  if (isfinite(v)) {
    assert_int_equal(jv.type, JSON_NUMBER);
    assert_true(jv.num == v && signbit(jv.num) == signbit(v));
  } else {
    assert_int_equal(jv.type, JSON_NULL);
  }
  json_free(&jv);
}

static void f64_cases(void) {
  check_f64(0.0, "0");
  check_f64(-0.0, "-0");
  check_f64(1.0, "1");
  check_f64(-2.5, "-2.5");
  check_f64(0.1, "0.1");
  check_f64(1.0 / 3.0, "0.3333333333333333");
  check_f64(2.0 / 3.0, "0.6666666666666666");
  check_f64(123456789012345678.0, "1.2345678901234568e+17");
  check_f64(1e300, "1e+300");
  check_f64(1e-7, "1e-07");
  check_f64(0.1 + 0.2, "0.30000000000000004"); /* needs 17 digits */
  check_f64(DBL_MAX, "1.7976931348623157e+308");
  check_f64(-DBL_MAX, "-1.7976931348623157e+308");
  check_f64(DBL_MIN, "2.2250738585072014e-308");
  check_f64(4.9406564584124654e-324, "4.94065645841247e-324");
  check_f64(NAN, "null");
  check_f64(-NAN, "null");
  check_f64(INFINITY, "null");
  check_f64(-INFINITY, "null");
}

static void test_f64(void **state) {
  (void)state;
  f64_cases();
}

/* The same bytes under a ',' and a multi-byte (U+066B) decimal point. The
 * locales come from the test's LOCPATH (built by CMake with localedef) or
 * the system; the test is skipped only if neither has them. */
static void test_f64_locales(void **state) {
  static const char *const names[] = {"de_DE.UTF-8", "ps_AF.UTF-8"};
  int ran = 0;
  (void)state;
  for (size_t i = 0; i < 2; i++) {
    if (!setlocale(LC_NUMERIC, names[i]))
      continue;
    char probe[16];
    snprintf(probe, sizeof probe, "%.1f", 1.5);
    assert_string_not_equal(probe, "1.5"); /* the locale is in force */
    f64_cases();
    ran++;
  }
  setlocale(LC_NUMERIC, "C");
  if (!ran)
    skip();
}

static cflame_field_t fld(const char *k, int type) {
  cflame_field_t f;
  memset(&f, 0, sizeof f);
  f.key = k;
  f.type = type;
  return f;
}

static void check_args(const cflame_field_t *f, size_t n, size_t cap,
                       const char *want, size_t want_dropped) {
  char *out = malloc(cap);
  size_t dropped = 99, len;
  json_value_t v;
  json_error_t err;

  assert_non_null(out);
  len = cflame__json_args(out, cap, f, n, &dropped);
  assert_true(len <= cap);
  if (len != strlen(want) || memcmp(out, want, len)) {
    print_error("want %s\n", show(want, strlen(want)));
    print_error("got  %s\n", show(out, len));
    fail();
  }
  assert_int_equal(dropped, want_dropped);
  assert_int_equal(json_parse(out, len, &v, &err), 0);
  assert_int_equal(v.type, JSON_OBJECT);
  json_free(&v);
  free(out);
}

static void test_args(void **state) {
  cflame_field_t f[8] = {0};
  (void)state;

  check_args(f, 0, 2, "{}", 0);
  f[0] = CFLAME_I64("rows", -42);
  f[1] = CFLAME_U64("bytes", UINT64_MAX);
  f[2] = CFLAME_F64("ratio", 0.5);
  f[3] = CFLAME_BOOL("hit", 1);
  f[4] = CFLAME_BOOL("miss", 0);
  f[5] = CFLAME_STR("table", "us\"ers\n");
  check_args(f, 6, 4096,
             "{\"rows\":-42,\"bytes\":18446744073709551615,\"ratio\":0.5,"
             "\"hit\":true,\"miss\":false,\"table\":\"us\\\"ers\\n\"}",
             0);
  /* NULL key, NULL string, unknown type, NaN */
  f[0] = CFLAME_STR(NULL, NULL);
  f[1] = fld("odd", 99);
  f[2] = CFLAME_F64("nan", NAN);
  f[3] = CFLAME_STR("k\xFF", "v\xE2\x80\xA8");
  check_args(f, 4, 4096,
             "{\"(null)\":null,\"odd\":null,\"nan\":null,"
             "\"k" FFFD "\":\"v\\u2028\"}",
             0);
  /* too small: a field that cannot fit is left out, a smaller later one
   * still goes in, and the object is always closed */
  f[0] = CFLAME_STR("long", "0123456789012345678901234567890123456789");
  f[1] = CFLAME_BOOL("b", 1);
  check_args(f, 2, 2, "{}", 2);
  check_args(f, 2, 60, "{\"b\":true}", 1);
}

/* Keys and strings are read up to CFLAME__JSON_ARG_STR_MAX bytes, cut
 * before a UTF-8 sequence that crosses the bound. */
static void test_args_long_strings(void **state) {
  enum { M = CFLAME__JSON_ARG_STR_MAX };
  static char s[M + 16], want[M + 64];
  cflame_field_t f;
  (void)state;

  for (int lead_at = M - 3; lead_at <= M; lead_at++) {
    memset(s, 'a', sizeof s);
    memcpy(s + lead_at, "\xE2\x82\xAC", 3); /* 3-byte euro sign */
    s[M + 8] = '\0';
    f = CFLAME_STR("k", s);
    /* kept: everything before the bound if the euro ends by then */
    size_t keep = lead_at + 3 <= M ? M : (size_t)lead_at;
    size_t n =
        (size_t)snprintf(want, sizeof want, "{\"k\":\"%.*s\"}", (int)keep, s);
    assert_true(n < sizeof want);
    check_args(&f, 1, CFLAME__JSON_STR_MAX(M) + 64, want, 0);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_str_ascii_every_byte),
      cmocka_unit_test(test_str_plain),
      cmocka_unit_test(test_str_valid_utf8),
      cmocka_unit_test(test_str_invalid_utf8),
      cmocka_unit_test(test_str_worst_case),
      cmocka_unit_test(test_ts),
      cmocka_unit_test(test_integers),
      cmocka_unit_test(test_f64),
      cmocka_unit_test(test_f64_locales),
      cmocka_unit_test(test_args),
      cmocka_unit_test(test_args_long_strings),
  };
  return cmocka_run_group_tests_name("json", tests, NULL, NULL);
}
