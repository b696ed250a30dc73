/* Tests of the frame-name sanitizer (src/sanitize.c): one table per rule of
 * FORMAT.md, then a randomized comparison against a small model. */
/* cmocka.h needs these first, in this order. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sanitize.h"

#define CH         CFLAME__SAN_CHANGED
#define TR         CFLAME__SAN_TRUNCATED
#define ROOT       CFLAME__SAN_ROOT
#define BIG_CAP    (CFLAME__NAME_MAX + 1)
#define CSTR_BOUND ((size_t)CFLAME__NAME_MAX * 4)

struct scase {
  const char *in;
  size_t len;
  unsigned flags;
  const char *out;
  unsigned report;
};

/* sizeof keeps embedded NULs in the input. */
#define CASE(lit, fl, o, rep)                                                  \
  { lit, sizeof(lit) - 1, fl, o, rep }
#define RUN(table) run_table(table, sizeof(table) / sizeof(table[0]), #table)

/* Printable form of arbitrary bytes for failure messages. */
static const char *esc(const char *s, size_t n) {
  static char buf[512];
  size_t i, o = 0;
  if (!s)
    return "(NULL)";
  for (i = 0; i < n && o + 40 < sizeof buf; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c >= 0x20 && c < 0x7F && c != '\\')
      buf[o++] = (char)c;
    else
      o += (size_t)snprintf(buf + o, sizeof buf - o, "\\x%02X", c);
  }
  if (i < n)
    o += (size_t)snprintf(buf + o, sizeof buf - o, "...(%zu bytes)", n);
  buf[o] = '\0';
  return buf;
}

/* Exact-size heap copy, so ASan flags any read past len. */
static char *dup_exact(const char *s, size_t n) {
  char *p = malloc(n ? n : 1);
  assert_non_null(p);
  if (n)
    memcpy(p, s, n);
  return p;
}

static size_t limit_of(size_t cap) {
  return cap - 1 < CFLAME__NAME_MAX ? cap - 1 : CFLAME__NAME_MAX;
}

/* Checks every promise for one call: expected bytes and report, bounds, the
 * result is clean and a fixed point, is_clean agrees with report == 0, and
 * the cstr form and a NULL report give the same bytes. */
static void check_one(const char *what, const char *in, size_t len,
                      unsigned flags, size_t cap, const char *want,
                      size_t want_len, unsigned want_rep) {
  char *src = in ? dup_exact(in, len) : NULL;
  char *out = malloc(cap), *again = malloc(cap);
  unsigned rep = 0xDEAD, rep2 = 0xDEAD;
  size_t n, n2;

  assert_non_null(out);
  assert_non_null(again);
  n = cflame__sanitize(out, cap, src, len, flags, &rep);
  if (n != want_len || memcmp(out, want, n) != 0 || out[n] != '\0' ||
      rep != want_rep) {
    print_error("%s: input \"%s\" flags %u cap %zu\n", what, esc(in, len),
                flags, cap);
    print_error("  got  \"%s\" report %u\n", esc(out, n), rep);
    print_error("  want \"%s\" report %u\n", esc(want, want_len), want_rep);
    fail();
  }
  assert_true(n <= limit_of(cap));
  assert_true(cflame__name_is_clean(out, n, flags));

  n2 = cflame__sanitize(again, cap, out, n, flags, &rep2);
  assert_int_equal(n2, n);
  assert_memory_equal(again, out, n);
  assert_int_equal(rep2, 0);

  if (in && len <= limit_of(cap))
    assert_int_equal(cflame__name_is_clean(in, len, flags), rep == 0);

  n2 = cflame__sanitize(again, cap, src, len, flags, NULL);
  assert_int_equal(n2, n);
  assert_memory_equal(again, out, n);

  if (!in || (memchr(in, '\0', len) == NULL && len < CSTR_BOUND)) {
    char *z = NULL;
    if (in) {
      z = malloc(len + 1);
      assert_non_null(z);
      memcpy(z, in, len);
      z[len] = '\0';
    }
    rep2 = 0xDEAD;
    n2 = cflame__sanitize_cstr(again, cap, z, flags, &rep2);
    assert_int_equal(n2, n);
    assert_memory_equal(again, out, n);
    assert_int_equal(rep2, rep);
    free(z);
  }
  free(src);
  free(out);
  free(again);
}

static void run_table(const struct scase *t, size_t n, const char *name) {
  size_t i;
  char what[96];
  for (i = 0; i < n; i++) {
    snprintf(what, sizeof what, "%s[%zu]", name, i);
    check_one(what, t[i].in, t[i].len, t[i].flags, BIG_CAP, t[i].out,
              strlen(t[i].out), t[i].report);
  }
}

static void test_sanitize_semicolon(void **state) {
  static const struct scase t[] = {
      CASE("[u8; 8]", 0, "[u8: 8]", CH),
      CASE(";", 0, ":", CH),
      CASE("a;;b", ROOT, "a::b", CH),
      CASE(";x;", 0, ":x:", CH),
  };
  (void)state;
  RUN(t);
}

static void test_sanitize_controls(void **state) {
  static const struct scase t[] = {
      CASE("a\tb", 0, "a?b", CH),
      CASE("a\rb", 0, "a?b", CH),
      CASE("a\nb", 0, "a?b", CH),
      CASE("a\x1b[0mb", 0, "a?[0mb", CH),
      CASE("a\0b", 0, "a?b", CH),
      CASE("\0", 0, "?", CH),
      CASE("a\x7f", 0, "a?", CH),
      CASE("\x01\x1f", 0, "??", CH),
      /* C0 controls are replaced before trimming, so they stay as `?`. */
      CASE("\tx\n", 0, "?x?", CH),
      CASE("a\xE2\x80\xA8z", 0, "a?z", CH), /* U+2028 */
      CASE("a\xE2\x80\xA9z", 0, "a?z", CH), /* U+2029 */
      CASE("a\xEF\xBF\xBEz", 0, "a?z", CH), /* U+FFFE */
      CASE("a\xEF\xBF\xBFz", 0, "a?z", CH), /* U+FFFF */
      CASE("\xE2\x80\xA8", 0, "?", CH),
  };
  (void)state;
  RUN(t);
}

static void test_sanitize_invalid_utf8(void **state) {
  static const struct scase t[] = {
      CASE("\xFF", 0, "?", CH),
      CASE("a\xFF"
           "b",
           0, "a?b", CH),
      CASE("\xC0\xAF", 0, "??", CH),      /* overlong '/' */
      CASE("\xE0\x80\xAF", 0, "???", CH), /* overlong '/' */
      CASE("\xF0\x80\x80\xAF", 0, "????", CH),
      CASE("\xED\xA0\x80", 0, "???", CH),      /* surrogate U+D800 */
      CASE("\xED\xBF\xBF", 0, "???", CH),      /* surrogate U+DFFF */
      CASE("\xF4\x90\x80\x80", 0, "????", CH), /* U+110000 */
      CASE("\xF5\x80\x80\x80", 0, "????", CH),
      CASE("\xF8\x88\x80\x80\x80", 0, "?????", CH),
      CASE("\xE2\x82", 0, "??", CH),   /* truncated at the end */
      CASE("\xE2\x82x", 0, "??x", CH), /* truncated mid-string */
      CASE("\xF0\x9F\x94", 0, "???", CH),
      CASE("\x80", 0, "?", CH), /* stray continuation */
      CASE("\xC2", 0, "?", CH),
      CASE("\xC2\xC2\xA9", 0, "?\xC2\xA9", CH), /* resync on the next lead */
      CASE("\xE2\x82\xAC\xAC", 0, "\xE2\x82\xAC?", CH),
  };
  (void)state;
  RUN(t);
}

static void test_sanitize_trim(void **state) {
  static const struct scase t[] = {
      CASE("  main  ", 0, "main", CH),
      CASE(" a b ", 0, "a b", CH),
      CASE("\xC2\xA0x\xC2\xA0", 0, "x", CH),         /* NBSP */
      CASE("\xE3\x80\x80x\xE2\x80\x8A", 0, "x", CH), /* U+3000, U+200A */
      CASE("\xC2\x85x\xE1\x9A\x80", 0, "x", CH),     /* U+0085, U+1680 */
      CASE("\xE2\x80\xAFx\xE2\x81\x9F", 0, "x", CH), /* U+202F, U+205F */
      CASE("x\xE2\x80\x80", 0, "x", CH),             /* U+2000 */
      /* Interior Unicode whitespace is legal and kept. */
      CASE("a\xC2\xA0"
           "b",
           0,
           "a\xC2\xA0"
           "b",
           0),
      CASE("a\xC2\x85"
           "b",
           0,
           "a\xC2\x85"
           "b",
           0),
      /* U+200B is not White_Space. */
      CASE("\xE2\x80\x8B", 0, "\xE2\x80\x8B", 0),
  };
  (void)state;
  RUN(t);
}

static void test_sanitize_empty(void **state) {
  static const struct scase t[] = {
      CASE("", 0, "[unknown]", CH),
      CASE("", ROOT, "[unknown]", CH),
      CASE("   ", 0, "[unknown]", CH),
      CASE("\xC2\xA0\xE3\x80\x80 ", 0, "[unknown]", CH),
      CASE("[unknown]", 0, "[unknown]", 0),
  };
  (void)state;
  RUN(t);
  check_one("NULL", NULL, 0, 0, BIG_CAP, "[unknown]", 9, CH);
  check_one("NULL len 5", NULL, 5, ROOT, 16, "[unknown]", 9, CH);
}

static void test_sanitize_trailing_digits(void **state) {
  static const struct scase t[] = {
      CASE("sleep 5", 0, "sleep_5", CH),
      CASE("sleep 5", ROOT, "sleep_5", CH),
      CASE("sleep 500 ", 0, "sleep_500", CH),
      CASE("a 1 2", 0, "a 1_2", CH),
      CASE("x\xC2\xA0"
           "42",
           0, "x_42", CH),
      CASE("x\xE3\x80\x80"
           "7",
           0, "x_7", CH),
      CASE("x  9", 0, "x _9", CH),
      CASE("  9", 0, "9", CH),
      CASE("x ?9", 0, "x ?9", 0),
      CASE("x 9a", 0, "x 9a", 0),
      CASE("x_9", 0, "x_9", 0),
      CASE("x9", 0, "x9", 0),
      CASE("file.c:12", 0, "file.c:12", 0),
      CASE("x\t9", 0, "x?9", CH), /* tab is already `?` */
  };
  (void)state;
  RUN(t);
}

static void test_sanitize_root_comment(void **state) {
  static const struct scase t[] = {
      CASE("# comment", ROOT, "? comment", CH),
      CASE("# comment", 0, "# comment", 0),
      CASE("  # comment", ROOT, "? comment", CH),
      CASE("#comment", ROOT, "#comment", 0),
      CASE("#", ROOT, "#", 0),
      CASE("# ", ROOT, "#", CH),
      CASE("# 5", ROOT, "#_5", CH), /* rule 11 already removed the "# " */
      CASE("#  5", ROOT, "? _5", CH),
      CASE("#\xC2\xA0x", ROOT, "#\xC2\xA0x", 0),
  };
  (void)state;
  RUN(t);
}

static void test_sanitize_clean_unchanged(void **state) {
  static const struct scase t[] = {
      CASE("main", ROOT, "main", 0),
      CASE("std::vector<int>::push_back", 0, "std::vector<int>::push_back", 0),
      CASE("mod::span:file.c:12", 0, "mod::span:file.c:12", 0),
      CASE("ThreadId(1)-main", ROOT, "ThreadId(1)-main", 0),
      CASE("all-threads", ROOT, "all-threads", 0),
      CASE("f(a, b) {x} = <&\"'>/", 0, "f(a, b) {x} = <&\"'>/", 0),
      CASE("do_work_[k]", 0, "do_work_[k]", 0),
      CASE("caf\xC3\xA9", 0, "caf\xC3\xA9", 0),
      CASE("\xE2\x82\xAC", 0, "\xE2\x82\xAC", 0),
      CASE("\xF0\x9F\x94\xA5", 0, "\xF0\x9F\x94\xA5", 0),
      CASE("\xF4\x8F\xBF\xBF", 0, "\xF4\x8F\xBF\xBF", 0), /* U+10FFFF */
      CASE("\xEF\xBF\xBD", 0, "\xEF\xBF\xBD", 0),         /* U+FFFD */
      CASE("\xEE\x80\x80", 0, "\xEE\x80\x80", 0),         /* U+E000 */
      CASE("\xED\x9F\xBF", 0, "\xED\x9F\xBF", 0),         /* U+D7FF */
      CASE("\xF0\x9F\xBF\xBE", 0, "\xF0\x9F\xBF\xBE", 0), /* U+1FFFE */
      CASE("\xC2\x80", 0, "\xC2\x80", 0),                 /* C1 is allowed */
      CASE("?", 0, "?", 0),
      CASE("5", ROOT, "5", 0),
  };
  (void)state;
  RUN(t);
}

static void test_sanitize_clamp_1mib(void **state) {
  const size_t big = (size_t)1 << 20;
  char *in = malloc(big), *want = malloc(CFLAME__NAME_MAX);
  (void)state;
  assert_non_null(in);
  assert_non_null(want);
  memset(in, 'a', big);
  memset(want, 'a', CFLAME__NAME_MAX);
  check_one("1MiB", in, big, 0, BIG_CAP, want, CFLAME__NAME_MAX, CH | TR);
  check_one("1MiB cap 4096", in, big, 0, 4096, want, CFLAME__NAME_MAX, CH | TR);

  /* Exactly at the limit is not a change. */
  check_one("1024", in, CFLAME__NAME_MAX, ROOT, BIG_CAP, want, CFLAME__NAME_MAX,
            0);
  check_one("1025", in, CFLAME__NAME_MAX + 1, 0, BIG_CAP, want,
            CFLAME__NAME_MAX, CH | TR);

  /* Dropping only trailing whitespace at the clamp loses nothing. */
  memset(in + CFLAME__NAME_MAX, ' ', 1000);
  check_one("1024 + spaces", in, CFLAME__NAME_MAX + 1000, 0, BIG_CAP, want,
            CFLAME__NAME_MAX, CH);
  in[CFLAME__NAME_MAX + 999] = 'b';
  check_one("1024 + spaces + b", in, CFLAME__NAME_MAX + 1000, 0, BIG_CAP, want,
            CFLAME__NAME_MAX, CH | TR);

  /* Leading whitespace does not use up the budget. */
  memset(in, ' ', 5000);
  memcpy(in + 5000, "foo", 3);
  check_one("spaces + foo", in, 5003, 0, BIG_CAP, "foo", 3, CH);

  /* The clamp may expose whitespace + digits, rule 11 runs after it. */
  memset(in, 'a', big);
  memcpy(in + CFLAME__NAME_MAX - 3, " 12345", 6);
  memcpy(want + CFLAME__NAME_MAX - 3, "_12", 3);
  check_one("clamp then rule 11", in, CFLAME__NAME_MAX + 3, 0, BIG_CAP, want,
            CFLAME__NAME_MAX, CH | TR);
  free(in);
  free(want);
}

static void test_sanitize_clamp_no_split(void **state) {
  char in[CFLAME__NAME_MAX + 8], want[CFLAME__NAME_MAX + 8];
  (void)state;
  memset(in, 'a', sizeof in);
  memset(want, 'a', sizeof want);

  memcpy(in + 1023, "\xE2\x82\xAC", 3);
  check_one("1023+euro", in, 1026, 0, BIG_CAP, want, 1023, CH | TR);
  memcpy(in + 1022, "\xE2\x82\xAC", 3);
  check_one("1022+euro", in, 1025, 0, BIG_CAP, want, 1022, CH | TR);
  memcpy(in + 1021, "\xE2\x82\xAC", 3);
  memcpy(want + 1021, "\xE2\x82\xAC", 3);
  check_one("1021+euro", in, 1024, 0, BIG_CAP, want, 1024, 0);

  memset(in, 'a', sizeof in);
  memcpy(in + 1021, "\xF0\x9F\x94\xA5", 4);
  check_one("1021+4byte", in, 1025, 0, BIG_CAP, want, 1021, CH | TR);

  /* A replacement `?` is one byte, so it fits where the original did not. */
  memcpy(in + 1021, "\xE2\x80\xA8", 3);
  memcpy(in + 1024, "zz", 2);
  memcpy(want + 1021, "?zz", 3);
  check_one("1021+U+2028", in, 1026, 0, BIG_CAP, want, 1024, CH);
}

static void test_sanitize_small_cap(void **state) {
  (void)state;
  check_one("cap16", "abcdefghijklmnopqrstuvwxyz", 26, 0, 16, "abcdefghijklmno",
            15, CH | TR);
  check_one("cap16 fits", "abcdefghijklmno", 15, 0, 16, "abcdefghijklmno", 15,
            0);
  check_one("cap16 euro", "aaaaaaaaaaaaaa\xE2\x82\xAC", 17, 0, 16,
            "aaaaaaaaaaaaaa", 14, CH | TR);
  check_one("cap16 ws", "aaaaaaaaaaaaa  bbb", 18, 0, 16, "aaaaaaaaaaaaa", 13,
            CH | TR);
  check_one("cap16 digits", "aaaaaaaaaa 12345678", 19, 0, 16, "aaaaaaaaaa_1234",
            15, CH | TR);
  check_one("cap16 empty", "", 0, 0, 16, "[unknown]", 9, CH);
  check_one("cap100",
            "0123456789012345678901234567890123456789012345678901"
            "234567890123456789012345678901234567890123456789",
            100, 0, 100,
            "0123456789012345678901234567890123456789012345678901"
            "23456789012345678901234567890123456789012345678",
            99, CH | TR);
}

static void test_sanitize_null_report(void **state) {
  char out[32];
  (void)state;
  assert_int_equal(cflame__sanitize(out, sizeof out, "a;b", 3, 0, NULL), 3);
  assert_string_equal(out, "a:b");
  assert_int_equal(cflame__sanitize_cstr(out, sizeof out, NULL, ROOT, NULL), 9);
  assert_string_equal(out, "[unknown]");
}

/* The cstr form must stop at its bound even without a NUL; the buffers are
 * exact-size so ASan catches a read past it. */
static void test_sanitize_cstr_bounded(void **state) {
  char *in = malloc(CSTR_BOUND), *want = malloc(CFLAME__NAME_MAX);
  char out[BIG_CAP];
  unsigned rep;
  size_t n;
  (void)state;
  assert_non_null(in);
  assert_non_null(want);
  memset(want, 'b', CFLAME__NAME_MAX);

  memset(in, 'b', CSTR_BOUND);
  n = cflame__sanitize_cstr(out, sizeof out, in, 0, &rep);
  assert_int_equal(n, CFLAME__NAME_MAX);
  assert_memory_equal(out, want, n);
  assert_int_equal(rep, CH | TR);

  /* Unread bytes may hold more of the name: TRUNCATED even with room. */
  memset(in, ' ', 3500);
  n = cflame__sanitize_cstr(out, sizeof out, in, 0, &rep);
  assert_int_equal(n, CSTR_BOUND - 3500);
  assert_memory_equal(out, want, n);
  assert_int_equal(rep, CH | TR);

  /* A sequence cut by the bound is dropped, not turned into `?`. */
  memcpy(in + CSTR_BOUND - 2, "\xE2\x82", 2);
  n = cflame__sanitize_cstr(out, sizeof out, in, 0, &rep);
  assert_int_equal(n, CSTR_BOUND - 3502);
  assert_memory_equal(out, want, n);
  assert_int_equal(rep, CH | TR);

  memset(in, ' ', CSTR_BOUND);
  n = cflame__sanitize_cstr(out, sizeof out, in, ROOT, &rep);
  assert_string_equal(out, "[unknown]");
  assert_int_equal(rep, CH | TR);

  /* One byte short of the bound, with its NUL, is read whole. */
  memset(in, ' ', CSTR_BOUND);
  in[CSTR_BOUND - 3] = 'x';
  in[CSTR_BOUND - 1] = '\0';
  n = cflame__sanitize_cstr(out, sizeof out, in, 0, &rep);
  assert_string_equal(out, "x");
  assert_int_equal(rep, CH);
  free(in);
  free(want);
}

static void test_sanitize_is_clean(void **state) {
  char big[CFLAME__NAME_MAX + 1];
  (void)state;
  assert_true(cflame__name_is_clean("main", 4, ROOT));
  assert_false(cflame__name_is_clean(NULL, 0, 0));
  assert_false(cflame__name_is_clean("", 0, 0));
  assert_false(cflame__name_is_clean("a;b", 3, 0));
  assert_false(cflame__name_is_clean("a\0b", 3, 0));
  assert_false(cflame__name_is_clean(" a", 2, 0));
  assert_false(cflame__name_is_clean("a ", 2, 0));
  assert_false(cflame__name_is_clean("a\xC2\xA0", 3, 0));
  assert_false(cflame__name_is_clean("sleep 5", 7, 0));
  assert_false(cflame__name_is_clean("x\xC2\xA0"
                                     "42",
                                     5, 0));
  assert_true(cflame__name_is_clean("a 1_2", 5, 0));
  assert_false(cflame__name_is_clean("# x", 3, ROOT));
  assert_true(cflame__name_is_clean("# x", 3, 0));
  assert_false(cflame__name_is_clean("\xC0\xAF", 2, 0));
  assert_false(cflame__name_is_clean("\xED\xA0\x80", 3, 0));
  assert_false(cflame__name_is_clean("\xF4\x90\x80\x80", 4, 0));
  assert_false(cflame__name_is_clean("\xE2\x82", 2, 0));
  assert_false(cflame__name_is_clean("\xE2\x80\xA9", 3, 0));
  assert_true(cflame__name_is_clean("\xE2\x82\xAC", 3, 0));
  /* Only the first len bytes count. */
  assert_true(cflame__name_is_clean("ab;", 2, 0));
  assert_false(cflame__name_is_clean("\xE2\x82\xAC", 2, 0));
  memset(big, 'a', sizeof big);
  assert_true(cflame__name_is_clean(big, CFLAME__NAME_MAX, 0));
  assert_false(cflame__name_is_clean(big, CFLAME__NAME_MAX + 1, 0));
}

/* --- randomized ---------------------------------------------------------- */

#define SEED       UINT64_C(0x5EED0F1A3E5A417)
#define ITERATIONS 200000
#define MAX_IN     8192

static uint64_t rng_state;

static uint64_t rng(void) { /* xorshift64* */
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * UINT64_C(2685821657736338717);
}

static size_t pick(size_t n) {
  return (size_t)(rng() % n);
}

/* Pieces that sit on the edges of every rule; mixed with random bytes. */
static const char *const frags[] = {
    "a",
    "Z",
    "_",
    "0",
    "5",
    "9",
    " ",
    ";",
    "#",
    "# ",
    ":",
    "?",
    "\t",
    "\n",
    "\r",
    "\x1b",
    "\x7f",
    "\x01",
    "\xC2\xA0",
    "\xC2\x85",
    "\xE1\x9A\x80",
    "\xE2\x80\x80",
    "\xE2\x80\x8A",
    "\xE2\x80\x8B",
    "\xE2\x80\xAF",
    "\xE2\x81\x9F",
    "\xE3\x80\x80",
    "\xE2\x80\xA8",
    "\xE2\x80\xA9",
    "\xEF\xBF\xBE",
    "\xEF\xBF\xBF",
    "\xEF\xBF\xBD",
    "\xC3\xA9",
    "\xE2\x82\xAC",
    "\xF0\x9F\x94\xA5",
    "\xF4\x8F\xBF\xBF",
    "\xED\x9F\xBF",
    "\xED\xA0\x80",
    "\xC0\xAF",
    "\xC1\xBF",
    "\xE0\x80\xAF",
    "\xE0\x9F\xBF",
    "\xF0\x8F\xBF\xBF",
    "\xF4\x90\x80\x80",
    "\xF5",
    "\xF8",
    "\xFF",
    "\x80",
    "\xBF",
    "\xC2",
    "\xE2\x82",
    "\xF0\x9F",
    "\xF0\x9F\x94",
    "[unknown]",
};
#define NFRAGS (sizeof frags / sizeof frags[0])

/* One output unit of the model: a whole input character or a `?`. */
struct unit {
  char b[4];
  size_t n;
  int ws, digit;
};
static struct unit units[MAX_IN];

static int model_ws(uint32_t cp) {
  static const uint32_t list[] = {
      0x20,   0x85,   0xA0,   0x1680, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004,
      0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200A, 0x202F, 0x205F, 0x3000};
  size_t i;
  for (i = 0; i < sizeof list / sizeof list[0]; i++)
    if (list[i] == cp)
      return 1;
  return 0;
}

/* Length of the well-formed character at s, or 0: tries each length and
 * checks the value, the straightforward reading of the definition. */
static size_t model_char(const unsigned char *s, size_t n, uint32_t *cp) {
  static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
  static const unsigned mask[5] = {0, 0x7F, 0x1F, 0x0F, 0x07};
  static const unsigned tag[5] = {0, 0x00, 0xC0, 0xE0, 0xF0};
  size_t len, j;
  for (len = 1; len <= 4 && len <= n; len++) {
    uint32_t v;
    int ok = (s[0] & ~mask[len] & 0xFF) == tag[len];
    v = s[0] & mask[len];
    for (j = 1; ok && j < len; j++) {
      ok = (s[j] & 0xC0) == 0x80;
      v = (v << 6) | (s[j] & 0x3F);
    }
    if (!ok)
      continue;
    if (v < min[len] || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
      return 0;
    *cp = v;
    return len;
  }
  return 0;
}

/* The rules applied literally, step by step, on an array of units. */
static size_t model(const char *in, size_t len, size_t cap, unsigned flags,
                    char *out, unsigned *rep) {
  const unsigned char *s = (const unsigned char *)in;
  size_t limit = limit_of(cap), nu = 0, pos = 0, first, end, last, d, i, o;
  size_t total = 0;
  int truncated = 0;

  while (pos < len) {
    struct unit *u = &units[nu++];
    uint32_t cp = 0;
    size_t k = model_char(s + pos, len - pos, &cp);
    u->ws = u->digit = 0;
    u->n = 1;
    if (k == 0) {
      u->b[0] = '?';
      k = 1;
    } else if (cp == ';') {
      u->b[0] = ':';
    } else if (cp < 0x20 || cp == 0x7F || cp == 0x2028 || cp == 0x2029 ||
               cp == 0xFFFE || cp == 0xFFFF) {
      u->b[0] = '?';
    } else {
      memcpy(u->b, s + pos, k);
      u->n = k;
      u->ws = model_ws(cp);
      u->digit = cp >= '0' && cp <= '9';
    }
    pos += k;
  }
  for (first = 0; first < nu && units[first].ws; first++)
    ;
  for (end = first; end < nu && total + units[end].n <= limit; end++)
    total += units[end].n;
  for (i = end; i < nu; i++)
    truncated |= !units[i].ws;
  for (last = end; last > first && units[last - 1].ws; last--)
    ;
  for (d = last; d > first && units[d - 1].digit; d--)
    ;
  if (d < last && d > first && units[d - 1].ws) {
    units[d - 1].b[0] = '_';
    units[d - 1].n = 1;
  }
  for (o = 0, i = first; i < last; i++) {
    memcpy(out + o, units[i].b, units[i].n);
    o += units[i].n;
  }
  if ((flags & ROOT) && o >= 2 && out[0] == '#' && out[1] == ' ')
    out[0] = '?';
  if (o == 0) {
    memcpy(out, "[unknown]", 9);
    o = 9;
  }
  out[o] = '\0';
  *rep = truncated ? CH | TR : (o != len || memcmp(out, in, len)) ? CH : 0;
  return o;
}

static size_t gen(char *buf) {
  size_t n = 0, parts, r = pick(100);
  parts = r < 70 ? pick(40) : r < 95 ? pick(300) : 600 + pick(1200);
  while (parts-- > 0 && n + 16 < MAX_IN) {
    if (pick(4) == 0) {
      buf[n++] = (char)(rng() & 0xFF);
    } else {
      const char *f = frags[pick(NFRAGS)];
      size_t fl = strlen(f);
      memcpy(buf + n, f, fl);
      n += fl;
    }
  }
  if (pick(20) == 0 && n + 1 < MAX_IN)
    buf[n++] = '\0'; /* strlen cannot express it, "\0" in frags neither */
  return n;
}

static void random_fail(uint64_t seed, long iter, const char *in, size_t len,
                        size_t cap, unsigned flags, const char *why) {
  print_error("random: %s\n  seed 0x%llX iteration %ld cap %zu flags %u\n"
              "  input (%zu bytes) \"%s\"\n",
              why, (unsigned long long)seed, iter, cap, flags, len,
              esc(in, len));
  fail();
}

static void test_sanitize_property_random(void **state) {
  static char gen_buf[MAX_IN], want[MAX_IN + 1];
  const char *env = getenv("CFLAME_SANITIZE_SEED");
  uint64_t seed = env ? (uint64_t)strtoull(env, NULL, 0) : SEED;
  long iter;
  (void)state;

  rng_state = seed ? seed : SEED;
  for (iter = 0; iter < ITERATIONS; iter++) {
    size_t len = gen(gen_buf), cap, n, n2, wn, zl;
    unsigned flags = (unsigned)pick(2) ? ROOT : 0, rep = 0xDEAD, rep2 = 0xDEAD,
             wrep;
    char *in, *out, *again;

    cap = pick(3) ? BIG_CAP + pick(64) : 16 + pick(200);
    in = malloc(len + 1);
    out = malloc(cap);
    again = malloc(cap);
    assert_non_null(in);
    assert_non_null(out);
    assert_non_null(again);
    memcpy(in, gen_buf, len);
    in[len] = '\0';

    n = cflame__sanitize(out, cap, in, len, flags, &rep);
    if (n > limit_of(cap) || out[n] != '\0')
      random_fail(seed, iter, in, len, cap, flags, "exceeds cap");
    if (!cflame__name_is_clean(out, n, flags))
      random_fail(seed, iter, in, len, cap, flags, "output not clean");
    n2 = cflame__sanitize(again, cap, out, n, flags, &rep2);
    if (n2 != n || memcmp(again, out, n) != 0 || rep2 != 0)
      random_fail(seed, iter, in, len, cap, flags, "not idempotent");
    if (len <= limit_of(cap) &&
        cflame__name_is_clean(in, len, flags) != (rep == 0))
      random_fail(seed, iter, in, len, cap, flags, "is_clean != report 0");
    wn = model(in, len, cap, flags, want, &wrep);
    if (wn != n || memcmp(want, out, n) != 0 || wrep != rep) {
      print_error("  got  \"%s\" report %u\n", esc(out, n), rep);
      print_error("  want \"%s\" report %u\n", esc(want, wn), wrep);
      random_fail(seed, iter, in, len, cap, flags, "differs from model");
    }
    /* The cstr form is the len form up to the first NUL. */
    for (zl = 0; in[zl] != '\0'; zl++)
      ;
    n = cflame__sanitize(out, cap, in, zl, flags, &rep);
    n2 = cflame__sanitize_cstr(again, cap, in, flags, &rep2);
    if (zl < CSTR_BOUND &&
        (n2 != n || memcmp(again, out, n) != 0 || rep2 != rep))
      random_fail(seed, iter, in, len, cap, flags, "cstr != len form");
    free(in);
    free(out);
    free(again);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sanitize_semicolon),
      cmocka_unit_test(test_sanitize_controls),
      cmocka_unit_test(test_sanitize_invalid_utf8),
      cmocka_unit_test(test_sanitize_trim),
      cmocka_unit_test(test_sanitize_empty),
      cmocka_unit_test(test_sanitize_trailing_digits),
      cmocka_unit_test(test_sanitize_root_comment),
      cmocka_unit_test(test_sanitize_clean_unchanged),
      cmocka_unit_test(test_sanitize_clamp_1mib),
      cmocka_unit_test(test_sanitize_clamp_no_split),
      cmocka_unit_test(test_sanitize_small_cap),
      cmocka_unit_test(test_sanitize_null_report),
      cmocka_unit_test(test_sanitize_cstr_bounded),
      cmocka_unit_test(test_sanitize_is_clean),
      cmocka_unit_test(test_sanitize_property_random),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
