/* Tests for the timeline checker (tests/support/timeline_check.c): valid
 * hand-made files with exact per-thread figures, every cut of one, and one
 * invalid file per rule, rejected with its rule, line and message. */
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

#include "timeline_check.h"

/* sizeof keeps embedded NULs */
#define S(lit) lit, sizeof(lit) - 1

/* Thread 1:1 named "t", then the body's lines, then the close. */
#define TN(tid, name)                                                          \
  "{\"ph\":\"M\",\"pid\":1,\"tid\":" #tid                                      \
  ",\"name\":\"thread_name\",\"args\":{\"name\":\"" name "\"}}"
#define HEAD        "[\n" TN(1, "t") ",\n"
#define DOC(body)   HEAD body "\n]\n"
#define EV(rest)    "{\"pid\":1,\"tid\":1," rest "}"
#define B(ts, name) EV("\"ph\":\"B\",\"ts\":" #ts ",\"name\":\"" name "\"")
#define E(ts)       EV("\"ph\":\"E\",\"ts\":" #ts)
#define IEV_ARGS(a) EV("\"ph\":\"i\",\"ts\":1,\"name\":\"i\",\"args\":" a)
#define X(ts, dur, name)                                                       \
  EV("\"ph\":\"X\",\"ts\":" #ts ",\"dur\":" #dur ",\"name\":\"" name "\"")

/* A complete file that uses every kind of event the sink writes. */
/* clang-format off */
static const char valid[] =
    "[\n"
    TN(1, "main") ",\n"
    "{\"ph\":\"M\",\"pid\":1,\"name\":\"process_name\",\"args\":{\"name\":"
    "\"demo \\ud83d\\ude00\"}},\n"
    TN(2, "worker") ",\n"
    "{\"ph\":\"M\",\"pid\":1,\"tid\":2,\"name\":\"thread_sort_index\","
    "\"args\":{\"sort_index\":-1}},\n"
    "{\"ph\":\"B\",\"pid\":1,\"tid\":1,\"ts\":0.000,\"name\":\"main\"},\n"
    "{\"ph\":\"B\",\"pid\":1,\"tid\":1,\"ts\":1.500,\"name\":\"parse\","
    "\"cat\":\"x\",\"args\":{\"s\":\"caf\xC3\xA9\",\"n\":[1,{}]}},\n"
    "{\"ph\":\"X\",\"pid\":1,\"tid\":1,\"ts\":2.000,\"dur\":0.250,"
    "\"name\":\"lex\"},\n"
    "{\"ph\":\"X\",\"pid\":1,\"tid\":1,\"ts\":2.000,\"dur\":0.100,"
    "\"name\":\"tok\"},\n"
    "{\"ph\":\"s\",\"pid\":1,\"tid\":1,\"ts\":2.500,\"name\":\"req\","
    "\"cat\":\"flow\",\"id\":7},\n"
    "{\"ph\":\"E\",\"pid\":1,\"tid\":1,\"ts\":3.000,\"name\":\"parse\"},\n"
    "{\"ph\":\"i\",\"pid\":1,\"tid\":1,\"ts\":3.000,\"name\":\"mark\","
    "\"s\":\"t\"},\n"
    "{\"ph\":\"i\",\"pid\":1,\"ts\":3.100,\"name\":\"global\",\"s\":\"g\"},\n"
    "{\"ph\":\"C\",\"pid\":1,\"ts\":3.200,\"name\":\"queue\","
    "\"args\":{\"depth\":3,\"load\":0.5}},\n"
    "{\"ph\":\"b\",\"pid\":1,\"tid\":1,\"ts\":3.300,\"name\":\"io\","
    "\"cat\":\"net\",\"id\":\"0x1\"},\n"
    "{\"ph\":\"E\",\"pid\":1,\"tid\":1,\"ts\":10.000},\n"
    "{ \"ph\" : \"X\", \"pid\":1,\"tid\":2,\"ts\":4,\"dur\":5,"
    "\"name\":\"work\"},\n"
    "{\"ph\":\"f\",\"pid\":1,\"tid\":2,\"ts\":4.500,\"name\":\"req\","
    "\"cat\":\"flow\",\"id\":7,\"bp\":\"e\"},\n"
    "{\"ph\":\"e\",\"pid\":1,\"tid\":2,\"ts\":8.000,\"name\":\"io\","
    "\"cat\":\"net\",\"id\":\"0x1\"},\n"
    "{\"ph\":\"X\",\"pid\":1,\"tid\":2,\"ts\":9.000,\"dur\":0.001,"
    "\"name\":\"tail\"}\n"
    "]\n";
/* clang-format on */

static void test_valid_file(void **state) {
  timeline_check_error_t err;
  timeline_summary_t sum;
  const timeline_thread_t *t;
  (void)state;

  if (timeline_check(S(valid), TIMELINE_CHECK_COMPLETE, &err, &sum)) {
    print_error("line %zu byte %zu: %s\n", err.line, err.byte, err.msg);
    fail();
  }
  assert_int_equal(err.rule, TL_OK);
  assert_int_equal(sum.cut, 0);
  assert_int_equal(sum.events, 19);
  assert_int_equal(sum.nthreads, 2);
  t = timeline_thread(&sum, 1, 1);
  assert_non_null(t);
  assert_string_equal(t->name, "main");
  assert_int_equal(t->events, 9);
  assert_int_equal(t->slices, 4);
  assert_int_equal(t->top_ns, 10000); /* main: 0 .. 10 us */
  t = timeline_thread(&sum, 1, 2);
  assert_non_null(t);
  assert_string_equal(t->name, "worker");
  assert_int_equal(t->events, 4);
  assert_int_equal(t->slices, 2);
  assert_int_equal(t->top_ns, 5001); /* work 5 us + tail 1 ns */
  assert_null(timeline_thread(&sum, 1, 3));
  timeline_summary_free(&sum);
  timeline_summary_free(&sum); /* safe twice */

  /* its last E has no name: allowed, unless names are required */
  assert_int_equal(timeline_check(S(valid), TIMELINE_CHECK_E_NAMES, &err, NULL),
                   -1);
  assert_int_equal(err.rule, TL_FIELD);
  assert_int_equal(err.line, 16);
  assert_non_null(strstr(err.msg, "\"name\""));
}

/* Durations in ns, exactly, through ts/dur with 0-3 decimals, and large. */
static void test_exact_totals(void **state) {
  /* clang-format off */
  static const char doc[] = DOC(
      B(0, "a") ",\n" E(0.001) ",\n" B(1.01, "b") ",\n" E(2.1) ",\n"
      X(3, 0.999, "c") ",\n" B(18446744073709.551, "d") ",\n"
      E(18446744073709.552));
  /* clang-format on */
  timeline_summary_t sum;
  (void)state;
  assert_int_equal(timeline_check(S(doc), 0, NULL, &sum), 0);
  assert_int_equal(sum.nthreads, 1);
  assert_int_equal(sum.threads[0].top_ns, 1 + 1090 + 999 + 1);
  assert_int_equal(sum.threads[0].slices, 4);
  timeline_summary_free(&sum);
}

/* Every cut the writer can make (between lines, after an event with or
 * without its ",") is a valid cut file; a cut inside a line never is. */
static void test_every_cut(void **state) {
  char *buf = malloc(sizeof valid);
  size_t len = sizeof valid - 1;
  (void)state;
  assert_non_null(buf);
  memcpy(buf, valid, len);
  for (size_t cut = 0; cut < len; cut++) {
    timeline_check_error_t err;
    timeline_summary_t sum;
    int at_line_end = cut >= 2 && buf[cut - 1] == '\n';
    /* an event's own '}' is followed by ',' or LF, an inner one is not */
    int after_event = cut >= 1 && buf[cut - 1] == '}' &&
                      (buf[cut] == ',' || buf[cut] == '\n');
    int rc = timeline_check(buf, cut, 0, &err, &sum);
    if ((at_line_end || after_event) != (rc == 0)) {
      print_error("cut at %zu: rc %d, %s\n", cut, rc, err.msg);
      fail();
    }
    if (rc == 0) {
      assert_int_equal(sum.cut, 1);
      timeline_summary_free(&sum);
      assert_int_equal(
          timeline_check(buf, cut, TIMELINE_CHECK_COMPLETE, &err, NULL), -1);
      assert_int_equal(err.rule, TL_INCOMPLETE);
    } else {
      assert_int_equal(err.rule, TL_FRAMING);
    }
  }
  free(buf);
}

/* Cut files may leave slices, async spans and flows open; a B still open
 * does not count in the totals. */
static void test_cut_open(void **state) {
  /* clang-format off */
  static const char doc[] = HEAD X(0, 2, "x") ",\n" B(5, "open") ",\n"
      EV("\"ph\":\"s\",\"ts\":6,\"name\":\"f\",\"cat\":\"c\",\"id\":1") ",\n"
      EV("\"ph\":\"b\",\"ts\":6,\"name\":\"a\",\"cat\":\"c\",\"id\":1") ",\n";
  /* clang-format on */
  timeline_summary_t sum;
  (void)state;
  assert_int_equal(timeline_check(S(doc), 0, NULL, &sum), 0);
  assert_int_equal(sum.cut, 1);
  assert_int_equal(sum.threads[0].top_ns, 2000);
  assert_int_equal(sum.threads[0].slices, 1);
  timeline_summary_free(&sum);
}

static void test_small_valid(void **state) {
  /* clang-format off */
  static const struct {
    const char *what, *data;
    size_t len;
  } ok[] = {
      {"empty complete", S("[\n]\n")},
      {"empty cut", S("[\n")},
      {"one event", S(DOC(B(0, "a") ",\n" E(1)))},
      {"cut after LF of the last event", S(HEAD B(0, "a") "\n")},
      {"threads go back in time against each other",
       S(DOC(TN(2, "u") ",\n" B(5, "a") ",\n" E(6) ",\n"
             "{\"ph\":\"B\",\"pid\":1,\"tid\":2,\"ts\":1,\"name\":\"b\"},\n"
             "{\"ph\":\"E\",\"pid\":1,\"tid\":2,\"ts\":2}"))},
      {"name given after the events", S("[\n" B(0, "a") ",\n" E(1) ",\n"
                                       TN(1, "late") "\n]\n")},
      {"equal ts", S(DOC(B(1, "a") ",\n" B(1, "b") ",\n" E(1) ",\n" E(1)))},
      {"X next to X", S(DOC(X(0, 1, "a") ",\n" X(1, 1, "b")))},
      {"B inside X", S(DOC(X(0, 5, "a") ",\n" B(1, "b") ",\n" E(5)))},
      {"flows in either file order",
       S(DOC(X(0, 9, "a") ",\n"
             EV("\"ph\":\"f\",\"ts\":5,\"name\":\"f\",\"cat\":\"c\","
                "\"id\":\"k\",\"bp\":\"e\"") ",\n"
             "{\"ph\":\"X\",\"pid\":1,\"tid\":2,\"ts\":0,\"dur\":1,"
             "\"name\":\"z\"},\n"
             "{\"ph\":\"s\",\"pid\":1,\"tid\":2,\"ts\":0.5,\"name\":\"f\","
             "\"cat\":\"c\",\"id\":\"k\"},\n" TN(2, "u")))},
      {"a flow written after its thread moved on (bound by time)",
       S(DOC(X(0, 5, "a") ",\n" X(10, 2, "b") ",\n"
             EV("\"ph\":\"s\",\"ts\":1,\"name\":\"f\",\"cat\":\"c\",\"id\":1")
             ",\n"
             EV("\"ph\":\"f\",\"ts\":11,\"name\":\"f\",\"cat\":\"c\","
                "\"id\":1,\"bp\":\"e\"")))},
      {"nested async with one key",
       S(DOC(EV("\"ph\":\"b\",\"ts\":1,\"name\":\"a\",\"cat\":\"c\",\"id\":1")
             ",\n"
             EV("\"ph\":\"b\",\"ts\":2,\"name\":\"b\",\"cat\":\"c\",\"id\":1")
             ",\n"
             EV("\"ph\":\"e\",\"ts\":3,\"name\":\"b\",\"cat\":\"c\",\"id\":1")
             ",\n"
             EV("\"ph\":\"e\",\"ts\":4,\"name\":\"a\",\"cat\":\"c\","
                "\"id\":1")))},
      {"a key repeated inside args", S(DOC(IEV_ARGS("{\"k\":1,\"k\":2}")))},
      {"process-scope instant and counter without tid",
       S(DOC("{\"ph\":\"i\",\"pid\":1,\"ts\":0,\"name\":\"p\",\"s\":\"p\"},\n"
             "{\"ph\":\"C\",\"pid\":1,\"ts\":0,\"name\":\"c\","
             "\"args\":{\"v\":-1.5e3}}"))},
  };
  /* clang-format on */
  (void)state;
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    timeline_check_error_t err;
    if (timeline_check(ok[i].data, ok[i].len, 0, &err, NULL)) {
      print_error("%s: line %zu: %s\n", ok[i].what, err.line, err.msg);
      fail();
    }
  }
}

typedef struct {
  const char *what;
  const char *data;
  size_t len;
  timeline_rule_t rule;
  size_t line;
  const char *msg; /* a part of the expected message */
} bad_t;

#include "test_timeline_bad.h"

static void test_bad_files(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    timeline_check_error_t err;
    timeline_summary_t sum;
    int rc = timeline_check(bad[i].data, bad[i].len, 0, &err, &sum);
    if (rc != -1 || err.rule != bad[i].rule || err.line != bad[i].line ||
        !strstr(err.msg, bad[i].msg)) {
      print_error("%s: rc %d rule %d line %zu: %s\n", bad[i].what, rc,
                  (int)err.rule, err.line, err.msg);
      print_error("  wanted rule %d line %zu: ...%s...\n", (int)bad[i].rule,
                  bad[i].line, bad[i].msg);
      fail();
    }
    assert_null(sum.threads);
  }
}

/* The byte offsets point at the problem. */
static void test_byte_offsets(void **state) {
  static const char back[] = DOC(B(5, "a") ",\n" E(4));
  static const char json[] = DOC("{\"ph\":\"B\",\"pid\":1,\"tid\":1,"
                                 "\"ts\":1,\"name\":\"a\",}");
  timeline_check_error_t err;
  (void)state;
  assert_int_equal(timeline_check(S(back), 0, &err, NULL), -1);
  assert_int_equal(err.rule, TL_ORDER);
  assert_int_equal(err.byte, strstr(back, "\"ts\":4") - back + 5);
  assert_int_equal(timeline_check(S(json), 0, &err, NULL), -1);
  assert_int_equal(err.rule, TL_JSON);
  assert_int_equal(err.byte, strstr(json, ",}") - json + 1);
}

static void test_file_io(void **state) {
  char path[] = "/tmp/cflame-tl-XXXXXX";
  timeline_check_error_t err;
  timeline_summary_t sum;
  int fd = mkstemp(path);
  (void)state;
  assert_true(fd >= 0);
  assert_int_equal(write(fd, valid, sizeof valid - 1),
                   (ssize_t)(sizeof valid - 1));
  close(fd);
  assert_int_equal(timeline_check_file(path, 0, &err, &sum), 0);
  assert_int_equal(sum.events, 19);
  timeline_summary_free(&sum);
  unlink(path);
  assert_int_equal(timeline_check_file(path, 0, &err, &sum), -1);
  assert_int_equal(err.rule, TL_IO);
  assert_non_null(strstr(err.msg, "cannot open"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_valid_file),   cmocka_unit_test(test_exact_totals),
      cmocka_unit_test(test_every_cut),    cmocka_unit_test(test_cut_open),
      cmocka_unit_test(test_small_valid),  cmocka_unit_test(test_bad_files),
      cmocka_unit_test(test_byte_offsets), cmocka_unit_test(test_file_io),
  };
  return cmocka_run_group_tests_name("timeline_check", tests, NULL, NULL);
}
