/* Tests of the strict pprof decoder (tests/support/pprof_check.c): one
 * hand-built profile, valid, then broken one rule at a time. */
/* cmocka.h needs these first, in this order. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <string.h>

#include "pprof_check.h"

/* --- the validator's rules, on hand-built messages --------------------- */

typedef struct {
  unsigned char b[256];
  size_t n;
} pb_t;

static void pv(pb_t *m, uint64_t v) {
  do {
    m->b[m->n++] = (unsigned char)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
    v >>= 7;
  } while (v);
}
static void pf(pb_t *m, unsigned f, uint64_t v) {
  pv(m, f << 3);
  pv(m, v);
}
static void pl(pb_t *m, unsigned f, const void *s, size_t n) {
  pv(m, f << 3 | 2);
  pv(m, n);
  memcpy(m->b + m->n, s, n);
  m->n += n;
}
static void pm(pb_t *m, unsigned f, const pb_t *sub) {
  pl(m, f, sub->b, sub->n);
}

enum bad {
  OK,
  UNPACKED,
  STR0,
  STRIDX,
  UTF8,
  FN_ID0,
  FN_DUP,
  LOC_MISSING,
  FN_MISSING,
  MAP_MISSING,
  NVALUES,
  NO_PERIOD_TYPE,
  NO_SAMPLE_TYPE,
  WIRETYPE,
  GROUP,
  LONG_VARINT,
  BIG_VARINT,
  LEN_PAST_END,
  TRUNCATED
};

/* strings "", calls, count, f; one function, location, sample "f" = 5. */
static size_t build(enum bad bad, pb_t *out) {
  pb_t vt = {0}, fn = {0}, line = {0}, lc = {0}, s = {0}, ids = {0};
  *out = (pb_t){0};
  const char *strs[] = {bad == STR0 ? "x" : "", "calls", "count",
                        bad == UTF8 ? "\xc0\xaf" : "f"};
  for (int i = 0; i < 4; i++)
    pl(out, 6, strs[i], strlen(strs[i]));
  pf(&vt, 1, 1);
  pf(&vt, 2, 2);
  if (bad != NO_SAMPLE_TYPE)
    pm(out, 1, &vt);
  if (bad != NO_PERIOD_TYPE)
    pm(out, 11, &vt);
  pf(&fn, 1, bad == FN_ID0 ? 0 : 1);
  if (bad == WIRETYPE)
    pl(&fn, 2, "\x03", 1);
  else
    pf(&fn, 2, bad == STRIDX ? 4 : 3);
  pm(out, 5, &fn);
  if (bad == FN_DUP)
    pm(out, 5, &fn);
  pf(&line, 1, bad == FN_MISSING ? 2 : 1);
  pf(&lc, 1, 1);
  if (bad == MAP_MISSING)
    pf(&lc, 2, 3);
  pm(&lc, 4, &line);
  pm(out, 4, &lc);
  if (bad == UNPACKED) {
    pf(&s, 1, 1);
    pf(&s, 2, 5);
  } else {
    pv(&ids, bad == LOC_MISSING ? 2 : 1);
    pl(&s, 1, ids.b, ids.n);
    pl(&s, 2, bad == NVALUES ? "\x05\x05" : "\x05", bad == NVALUES ? 2 : 1);
  }
  pm(out, 2, &s);
  if (bad == GROUP)
    pv(out, 13 << 3 | 3);
  if (bad == LONG_VARINT)
    memcpy(out->b + out->n, "\x48\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01",
           12),
        out->n += 12;
  if (bad == BIG_VARINT) /* 10 bytes, but 2^64 */
    memcpy(out->b + out->n, "\x48\x80\x80\x80\x80\x80\x80\x80\x80\x80\x02", 11),
        out->n += 11;
  if (bad == LEN_PAST_END)
    memcpy(out->b + out->n,
           "\x32\x05"
           "ab",
           4),
        out->n += 4;
  if (bad == TRUNCATED) /* time_nanos, cut inside its varint */
    memcpy(out->b + out->n, "\x48\x80", 2), out->n += 2;
  return out->n;
}

static void test_pprof_check_rules(void **state) {
  (void)state;
  static const struct {
    enum bad bad;
    const char *why;
  } bads[] = {
      {STR0, "string_table[0]"},
      {STRIDX, "string index 4"},
      {UTF8, "not UTF-8"},
      {FN_ID0, "function has id 0"},
      {FN_DUP, "two functions"},
      {LOC_MISSING, "location 2"},
      {FN_MISSING, "function 2"},
      {MAP_MISSING, "no mapping 3"},
      {NVALUES, "2 values for 1"},
      {NO_PERIOD_TYPE, "no period_type"},
      {NO_SAMPLE_TYPE, "no sample_type"},
      {WIRETYPE, "wire type 2"},
      {GROUP, "wire type 3"},
      {LONG_VARINT, "longer than 10 bytes"},
      {BIG_VARINT, "above 2^64-1"},
      {LEN_PAST_END, "past the end"},
      {TRUNCATED, "truncated varint"},
  };
  pb_t m;
  pprof_result_t r;
  for (enum bad ok = OK; ok <= UNPACKED; ok++) {
    build(ok, &m);
    if (pprof_check(m.b, m.n, 0, &r))
      fail_msg("case %d: %s", (int)ok, r.error);
    assert_int_equal(r.nstacks, 1);
    assert_string_equal(r.stacks[0].stack, "f");
    assert_int_equal(r.stacks[0].calls, 5);
    assert_int_equal(r.stacks[0].wall, 0);
    pprof_result_free(&r);
  }
  for (size_t i = 0; i < sizeof bads / sizeof bads[0]; i++) {
    build(bads[i].bad, &m);
    assert_int_equal(pprof_check(m.b, m.n, 0, &r), -1);
    if (!strstr(r.error, bads[i].why))
      fail_msg("case %d: \"%s\" lacks \"%s\"", (int)bads[i].bad, r.error,
               bads[i].why);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_pprof_check_rules),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
