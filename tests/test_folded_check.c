/* Tests for the folded-stack checker used by the writer tests. */
#define _POSIX_C_SOURCE 200809L

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka.h needs the four headers above first */
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "folded_check.h"

/* sizeof keeps embedded NULs; rows are plain data so they read as a table */
#define S(lit) lit, sizeof(lit) - 1

typedef struct {
  const char *what;
  const char *data;
  size_t len;
  unsigned flags;
  int rule;    /* expected rule, 0 = accepted */
  size_t line; /* expected line of the problem */
} row_t;

#define SORTED FOLDED_CHECK_SORTED

static const row_t bad[] = {
    /* 1: strict UTF-8, no BOM */
    {"invalid byte", S("a\xFF 1\n"), 0, 1, 1},
    {"stray continuation", S("a\x80 1\n"), 0, 1, 1},
    {"overlong /", S("\xC0\xAF 1\n"), 0, 1, 1},
    {"overlong 3-byte", S("\xE0\x80\xAF 1\n"), 0, 1, 1},
    {"surrogate", S("\xED\xA0\x80 1\n"), 0, 1, 1},
    {"above U+10FFFF", S("\xF4\x90\x80\x80 1\n"), 0, 1, 1},
    {"truncated mid-line", S("a\xE2\x82 1\n"), 0, 1, 1},
    {"truncated at EOF", S("a 1\nb 1\xE2"), 0, 1, 2},
    {"BOM",
     S("\xEF\xBB\xBF"
       "a 1\n"),
     0, 1, 1},
    /* 2: STACK SP COUNT LF */
    {"CRLF", S("a;b 1\r\n"), 0, 2, 1},
    {"CR in stack", S("a 1\na\rb 1\n"), 0, 2, 2},
    {"tab before count", S("a;b\t1\n"), 0, 2, 1},
    {"tab and space before count", S("a;b\t 1\n"), 0, 2, 1},
    {"two spaces", S("a;b  1\n"), 0, 2, 1},
    {"trailing space", S("a;b 1 \n"), 0, 2, 1},
    {"trailing tab", S("a;b 1\t\n"), 0, 2, 1},
    {"no count", S("a;b\n"), 0, 2, 1},
    {"empty count", S("a;b \n"), 0, 2, 1},
    {"missing final newline", S("a 1\na;b 1"), 0, 2, 2},
    /* 3: no blank lines */
    {"blank line", S("a 1\n\nb 1\n"), 0, 3, 2},
    {"lone newline", S("\n"), 0, 3, 1},
    {"whitespace-only line", S("a 1\n \t\n"), 0, 3, 2},
    /* 4: COUNT is [1-9][0-9]* */
    {"count 0", S("a;b 0\n"), 0, 4, 1},
    {"count 007", S("a;b 007\n"), 0, 4, 1},
    {"count -1", S("a;b -1\n"), 0, 4, 1},
    {"count +1", S("a;b +1\n"), 0, 4, 1},
    {"count 1.5", S("a;b 1.5\n"), 0, 4, 1},
    {"count 1e3", S("a;b 1e3\n"), 0, 4, 1},
    {"count 0x10", S("a;b 0x10\n"), 0, 4, 1},
    {"count then NBSP", S("a;b 1\xC2\xA0\n"), 0, 4, 1},
    /* 5: counts and total <= 2^53 */
    {"count 2^53+1", S("a;b 9007199254740993\n"), 0, 5, 1},
    {"count 2^64", S("a;b 18446744073709551616\n"), 0, 5, 1},
    {"total overflow", S("a 9007199254740992\nb 1\n"), 0, 5, 2},
    /* 6: merged and sorted, only when asked */
    {"unsorted", S("b 1\na 1\n"), SORTED, 6, 2},
    {"duplicate", S("a;b 1\na;b 2\n"), SORTED, 6, 2},
    {"longer before prefix", S("a;b 1\na 1\n"), SORTED, 6, 2},
    {"high byte before ASCII", S("\xC3\xA9 1\nz 1\n"), SORTED, 6, 2},
    /* 7 shows up through the frames a ';' inside a name creates */
    {"[u8; 8]", S("[u8; 8] 1\n"), 0, 9, 1},
    /* 8: no controls */
    {"NUL", S("a\0b 1\n"), 0, 8, 1},
    {"ESC", S("a\x1B[0m 1\n"), 0, 8, 1},
    {"tab in frame", S("a\tb 1\n"), 0, 8, 1},
    {"DEL", S("a\x7F 1\n"), 0, 8, 1},
    {"U+2028",
     S("a\xE2\x80\xA8"
       "b 1\n"),
     0, 8, 1},
    {"U+2029",
     S("a\xE2\x80\xA9"
       "b 1\n"),
     0, 8, 1},
    {"U+FFFE", S("a\xEF\xBF\xBE 1\n"), 0, 8, 1},
    {"U+FFFF", S("a\xEF\xBF\xBF 1\n"), 0, 8, 1},
    /* 9: trimmed frames */
    {"leading space", S(" a 1\n"), 0, 9, 1},
    {"space before ';'", S("a ;b 1\n"), 0, 9, 1},
    {"space after ';'", S("a; b 1\n"), 0, 9, 1},
    {"leading NBSP",
     S("a;\xC2\xA0"
       "b 1\n"),
     0, 9, 1},
    {"trailing U+3000", S("a;b\xE3\x80\x80 1\n"), 0, 9, 1},
    {"trailing U+0085", S("a\xC2\x85;b 1\n"), 0, 9, 1},
    /* 10: no empty frames */
    {"empty frame", S("a;;b 1\n"), 0, 10, 1},
    {"leading ';'", S(";a 1\n"), 0, 10, 1},
    {"trailing ';'", S("a; 1\n"), 0, 10, 1},
    {"empty stack", S(" 1\n"), 0, 10, 1},
    /* 11: no frame ends in whitespace + digits */
    {"sleep 5 leaf", S("main;sleep 5 1\n"), 0, 11, 1},
    {"sleep 5 root", S("sleep 5;main 1\n"), 0, 11, 1},
    {"NBSP then digits",
     S("a;b\xC2\xA0"
       "42 1\n"),
     0, 11, 1},
    {"U+2003 then digits",
     S("x\xE2\x80\x83"
       "7;b 1\n"),
     0, 11, 1},
    /* 12: first frame does not start with "# " */
    {"# comment", S("a 1\n# a;b 1\n"), 0, 12, 2},
    {"# count", S("# 5\n"), 0, 12, 1},
    /* first problem in file order wins */
    {"first of two", S("a 1\nb 0\nc\xFF 1\n"), 0, 4, 2},
};

static const row_t good[] = {
    {"empty file", S(""), 0, 0, 0},
    {"single", S("a 1\n"), 0, 0, 0},
    {"interior spaces", S("main;do some work;inner loop 5\n"), 0, 0, 0},
    {"::", S("app::main;std::vec::Vec<T>::push 3\n"), 0, 0, 0},
    {"{}", S("a;{closure} 1\n"), 0, 0, 0},
    {"xml specials", S("x=<>&\"' 1\n"), 0, 0, 0},
    {"punctuation", S("a/b.c:(x) 1\n"), 0, 0, 0},
    {"tracing-flame", S("ThreadId(1)-main;mod::span:file.c:12 7\n"), 0, 0, 0},
    {"multibyte",
     S("r\xC3\xA9sum\xC3\xA9;\xE6\x97\xA5\xE6\x9C\xAC;"
       "\xF0\x9F\x98\x80 2\n"),
     0, 0, 0},
    {"U+10FFFF", S("\xF4\x8F\xBF\xBF 1\n"), 0, 0, 0},
    {"U+FEFF past start",
     S("a;\xEF\xBB\xBF"
       "b 1\n"),
     0, 0, 0},
    {"interior NBSP",
     S("a\xC2\xA0"
       "b 1\n"),
     0, 0, 0},
    {"[u8: 8]", S("[u8: 8] 1\n"), 0, 0, 0},
    {"sleep_5", S("main;sleep_5 1\n"), 0, 0, 0},
    {"digits without space", S("a5;123 1\n"), 0, 0, 0},
    {"digits inside", S("a 5b 1\n"), 0, 0, 0},
    {"# not followed by space", S("#a 1\n"), 0, 0, 0},
    {"count 2^53", S("a;b 9007199254740992\n"), 0, 0, 0},
    {"total 2^53", S("a 9007199254740991\nb 1\n"), 0, 0, 0},
    {"time order unsorted", S("b 1\na 1\nb 1\n"), 0, 0, 0},
    {"sorted", S("a 1\na;b 2\nb 1\n\xC3\xA9 1\n"), SORTED, 0, 0},
};

static void check_row(const row_t *r) {
  folded_check_error_t err;
  size_t lines = 99;
  unsigned long long total = 99;
  int rc = folded_check(r->data, r->len, r->flags, &err, &lines, &total);
  int as_expected =
      r->rule == 0 ? rc == 0
                   : rc == -1 && err.rule == r->rule && err.line == r->line;

  if (!as_expected)
    fail_msg("%s: got rc %d rule %d line %zu (%s), want rule %d line %zu",
             r->what, rc, err.rule, err.line, err.msg, r->rule, r->line);
  if (r->rule == 0) {
    assert_int_equal(err.rule, 0);
    return;
  }
  assert_int_equal(lines, r->line - 1);
  assert_true(err.msg[0] != '\0');
  for (const char *p = err.msg; *p; p++)
    if (*p < 0x20 || *p > 0x7E)
      fail_msg("%s: unprintable byte in message \"%s\"", r->what, err.msg);
}

static void check_rule(int rule) {
  size_t seen = 0;

  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    if (bad[i].rule == rule) {
      check_row(&bad[i]);
      seen++;
    }
  }
  assert_true(seen > 0);
}

static void expect(const char *buf, size_t len, unsigned flags, int rule,
                   size_t line) {
  row_t r = {"built input", buf, len, flags, rule, line};
  check_row(&r);
}

/* Builds a line of `n` frames "f;f;...;f 1\n". */
static char *frames(size_t n, size_t *len) {
  char *buf = malloc(2 * n + 3);
  size_t k = 0;

  assert_non_null(buf);
  for (size_t i = 0; i < n; i++) {
    buf[k++] = 'f';
    buf[k++] = ';';
  }
  memcpy(buf + k - 1, " 1\n", 3);
  *len = k + 2;
  return buf;
}

static void test_folded_check_good_inputs_accepted(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof good / sizeof *good; i++)
    check_row(&good[i]);
}

static void test_folded_check_bad_inputs_rejected(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    check_row(&bad[i]);
}

static void test_folded_check_rule1_strict_utf8_no_bom(void **state) {
  (void)state;
  check_rule(1);
  expect(S("\xE2\x82\xAC;\xF0\x90\x80\x80 1\n"), 0, 0, 0);
}

static void test_folded_check_rule2_line_shape(void **state) {
  (void)state;
  check_rule(2);
  expect(S("a b;c d 1\n"), 0, 0, 0);
}

static void test_folded_check_rule3_no_blank_lines(void **state) {
  (void)state;
  check_rule(3);
}

static void test_folded_check_rule4_count_syntax(void **state) {
  (void)state;
  check_rule(4);
  expect(S("a 10\nb 1234567890\n"), 0, 0, 0);
}

static void test_folded_check_rule5_count_limits(void **state) {
  (void)state;
  check_rule(5);
}

static void test_folded_check_rule6_sorted_only_when_asked(void **state) {
  (void)state;
  check_rule(6);
  expect(S("a;b 1\na;b 2\n"), 0, 0, 0);
  expect(S("a 1\na;b 1\nab 1\n"), SORTED, 0, 0);
}

static void test_folded_check_rule7_semicolon_splits_name(void **state) {
  (void)state;
  expect(S("[u8; 8] 1\n"), 0, 9, 1);
  expect(S("x;y;z 1\n"), 0, 0, 0);
}

static void test_folded_check_rule8_no_controls(void **state) {
  (void)state;
  check_rule(8);
}

static void test_folded_check_rule9_frames_trimmed(void **state) {
  (void)state;
  check_rule(9);
}

static void test_folded_check_rule10_no_empty_frames(void **state) {
  (void)state;
  check_rule(10);
}

static void test_folded_check_rule11_no_trailing_space_digits(void **state) {
  (void)state;
  check_rule(11);
}

static void test_folded_check_rule12_no_hash_space(void **state) {
  (void)state;
  check_rule(12);
}

static void test_folded_check_rule13_depth_2048(void **state) {
  size_t len;
  char *buf = frames(2048, &len);

  (void)state;
  expect(buf, len, 0, 0, 0);
  free(buf);
  buf = frames(2049, &len);
  expect(buf, len, 0, 13, 1);
  free(buf);
}

static void test_folded_check_mib_frame(void **state) {
  size_t n = 1 << 20;
  char *buf = malloc(n + 8);
  folded_check_error_t err;

  (void)state;
  assert_non_null(buf);
  memset(buf, 'x', n);
  memcpy(buf + n, " 1\n", 3);
  expect(buf, n + 3, 0, 0, 0);
  /* the excerpt must show the problem, not the start of the frame */
  buf[n - 1] = '\x1B';
  assert_int_equal(folded_check(buf, n + 3, 0, &err, NULL, NULL), -1);
  assert_int_equal(err.rule, 8);
  assert_non_null(strstr(err.msg, "\\x1B"));
  free(buf);
}

static void test_folded_check_lines_and_total(void **state) {
  size_t lines;
  unsigned long long total;

  (void)state;
  assert_int_equal(folded_check(S("a 1\nb 2\nc 4\n"), 0, NULL, &lines, &total),
                   0);
  assert_int_equal(lines, 3);
  assert_int_equal(total, 7);
  assert_int_equal(folded_check(S(""), 0, NULL, &lines, &total), 0);
  assert_int_equal(lines, 0);
  assert_int_equal(total, 0);
  /* a failure reports only what came before the bad line */
  assert_int_equal(folded_check(S("a 1\nb 2\nc 0\n"), 0, NULL, &lines, &total),
                   -1);
  assert_int_equal(lines, 2);
  assert_int_equal(total, 3);
}

static void test_folded_check_file(void **state) {
  char path[] = "/tmp/folded_check_XXXXXX";
  folded_check_error_t err;
  size_t lines;
  unsigned long long total;
  int fd = mkstemp(path);

  (void)state;
  assert_true(fd >= 0);
  assert_int_equal(write(fd, "a;b 5\nc 6\n", 10), 10);
  close(fd);
  assert_int_equal(folded_check_file(path, SORTED, &err, &lines, &total), 0);
  assert_int_equal(lines, 2);
  assert_int_equal(total, 11);
  unlink(path);

  assert_int_equal(folded_check_file(path, 0, &err, &lines, &total), -1);
  assert_int_equal(err.rule, 0);
  assert_non_null(strstr(err.msg, "cannot open"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_folded_check_good_inputs_accepted),
      cmocka_unit_test(test_folded_check_bad_inputs_rejected),
      cmocka_unit_test(test_folded_check_rule1_strict_utf8_no_bom),
      cmocka_unit_test(test_folded_check_rule2_line_shape),
      cmocka_unit_test(test_folded_check_rule3_no_blank_lines),
      cmocka_unit_test(test_folded_check_rule4_count_syntax),
      cmocka_unit_test(test_folded_check_rule5_count_limits),
      cmocka_unit_test(test_folded_check_rule6_sorted_only_when_asked),
      cmocka_unit_test(test_folded_check_rule7_semicolon_splits_name),
      cmocka_unit_test(test_folded_check_rule8_no_controls),
      cmocka_unit_test(test_folded_check_rule9_frames_trimmed),
      cmocka_unit_test(test_folded_check_rule10_no_empty_frames),
      cmocka_unit_test(test_folded_check_rule11_no_trailing_space_digits),
      cmocka_unit_test(test_folded_check_rule12_no_hash_space),
      cmocka_unit_test(test_folded_check_rule13_depth_2048),
      cmocka_unit_test(test_folded_check_mib_frame),
      cmocka_unit_test(test_folded_check_lines_and_total),
      cmocka_unit_test(test_folded_check_file),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
