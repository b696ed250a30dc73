/* libFuzzer harness for the frame-name sanitizer.
 *
 * Input: byte 0 selects the capacity, the ROOT flag and how the name is
 * passed; the rest is the name. Every property checked here is one the
 * writer relies on to emit names without looking at them again, so each
 * failure aborts with a message naming the broken promise of sanitize.h. */
#include "sanitize.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Around the edges that matter: the 16-byte minimum, "[unknown]" + NUL,
 * CFLAME__NAME_MAX +- 1 and far beyond it. */
static const size_t caps[16] = {16, 17, 18,  19,   20,   24,   31,   32,
                                33, 64, 255, 1023, 1024, 1025, 1026, 4096};

enum { PASS_LEN = 0, PASS_CSTR = 1, PASS_CSTR_LONG = 2, PASS_NULL = 3 };

static void fail(const char *what, const char *in, size_t len, const char *out,
                 size_t n, size_t cap, unsigned flags, unsigned rep) {
  fprintf(stderr,
          "fuzz_sanitize: %s (cap %zu, flags %u, report %u, in %zu "
          "bytes, out %zu bytes)\n  out: \"",
          what, cap, flags, rep, in ? len : 0, n);
  for (size_t i = 0; i < n && i < 200; i++) {
    unsigned char c = (unsigned char)out[i];
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
      fputc(c, stderr);
    else
      fprintf(stderr, "\\x%02X", c);
  }
  fputs("\"\n", stderr);
  abort();
}

#define CHECK(cond, what)                                                      \
  do {                                                                         \
    if (!(cond))                                                               \
      fail(what, in, len, out, n, cap, flags, rep);                            \
  } while (0)

/* Sanitizes into a heap buffer of exactly cap bytes so ASan sees any write
 * past the promised capacity. */
static char *sanitize_exact(size_t cap, const char *in, size_t len, int cstr,
                            unsigned flags, size_t *n, unsigned *rep) {
  char *out = malloc(cap);
  if (!out)
    abort();
  memset(out, 0xA5, cap); /* no accidental NUL where one must be written */
  *rep = 0xdeadu;         /* must be overwritten */
  *n = cstr ? cflame__sanitize_cstr(out, cap, in, flags, rep)
            : cflame__sanitize(out, cap, in, len, flags, rep);
  return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0)
    return 0;
  unsigned sel = data[0];
  size_t cap = caps[sel & 15];
  unsigned flags = (sel & 16) ? CFLAME__SAN_ROOT : 0;
  int pass = (int)((sel >> 5) & 3);
  const size_t bound = (size_t)CFLAME__NAME_MAX * 4; /* sanitize_cstr's */

  /* data + 1 lies in libFuzzer's exact-size copy, so an over-read of the
   * length-delimited form is caught. */
  char *owned = NULL;
  const char *in = (const char *)data + 1;
  size_t len = size - 1;
  int cstr = 0, hit_bound = 0;

  if (pass == PASS_CSTR) {
    owned = malloc(len + 1);
    if (!owned)
      abort();
    memcpy(owned, in, len);
    owned[len] = '\0';
    in = owned;
    len = strlen(owned);
    cstr = 1;
  } else if (pass == PASS_CSTR_LONG) {
    /* Repeats the name past the read bound, NULs made visible, and leaves
     * the buffer unterminated: the cstr form must stop at the bound. */
    size_t total = bound + 64;
    owned = malloc(total);
    if (!owned)
      abort();
    for (size_t i = 0; i < total; i++) {
      char c = len ? in[i % len] : 'x';
      owned[i] = c ? c : '0';
    }
    in = owned;
    len = bound;
    cstr = 1;
    hit_bound = 1;
  } else if (pass == PASS_NULL) {
    in = NULL;
    len = sel & 128 ? size - 1 : 0; /* len must be ignored for NULL */
  }

  size_t n;
  unsigned rep;
  char *out = sanitize_exact(cap, in, len, cstr, flags, &n, &rep);

  size_t limit = cap - 1 < CFLAME__NAME_MAX ? cap - 1 : CFLAME__NAME_MAX;
  CHECK(n <= limit, "output longer than min(cap-1, CFLAME__NAME_MAX)");
  CHECK(out[n] == '\0', "output not NUL-terminated at the returned length");
  CHECK(memchr(out, '\0', n) == NULL, "NUL inside the output");
  CHECK((rep & ~(unsigned)(CFLAME__SAN_CHANGED | CFLAME__SAN_TRUNCATED)) == 0,
        "unknown report bits");
  CHECK(!(rep & CFLAME__SAN_TRUNCATED) || (rep & CFLAME__SAN_CHANGED),
        "TRUNCATED without CHANGED");
  CHECK(cflame__name_is_clean(out, n, flags),
        "cflame__name_is_clean rejects the sanitizer's output");

  /* CHANGED is documented as "any byte was replaced or removed", so an
   * unchanged report means the input is passed through verbatim. */
  if (!in) {
    CHECK(rep & CFLAME__SAN_CHANGED, "NULL input not reported CHANGED");
  } else if (hit_bound) {
    CHECK(rep == (CFLAME__SAN_CHANGED | CFLAME__SAN_TRUNCATED),
          "unterminated name past the cstr bound not reported TRUNCATED");
  } else {
    int same = n == len && memcmp(out, in, len) == 0;
    CHECK(same == (rep == 0), "report 0 <=> output equals input violated");
    if (len <= limit && cflame__name_is_clean(in, len, flags))
      CHECK(rep == 0, "a clean name that fits was changed");
  }

  /* Idempotence: clean output must pass through a second time as is. */
  size_t n2;
  unsigned rep2;
  char *out2 = sanitize_exact(cap, out, n, 0, flags, &n2, &rep2);
  CHECK(n2 == n && memcmp(out2, out, n) == 0,
        "sanitizing the output again changed it");
  CHECK(rep2 == 0, "sanitizing the output again reported a change");
  free(out2);

  /* The cstr form is the length form up to the NUL. */
  if (pass == PASS_CSTR) {
    size_t n3;
    unsigned rep3;
    char *out3 = sanitize_exact(cap, in, len, 0, flags, &n3, &rep3);
    CHECK(n3 == n && memcmp(out3, out, n) == 0 && rep3 == rep,
          "sanitize_cstr differs from sanitize(strlen)");
    free(out3);
  }

  /* Not TRUNCATED means the capacity cost at most trailing whitespace, which
   * is trimmed anyway: the widest capacity must give the same name. */
  if (in && !(rep & CFLAME__SAN_TRUNCATED) && cap != CFLAME__NAME_MAX + 1) {
    size_t n4;
    unsigned rep4;
    char *out4 =
        sanitize_exact(CFLAME__NAME_MAX + 1, in, len, cstr, flags, &n4, &rep4);
    CHECK(n4 == n && memcmp(out4, out, n) == 0,
          "capacity changed the output without TRUNCATED");
    CHECK(rep4 == rep, "capacity changed the report without TRUNCATED");
    free(out4);
  }

  free(out);
  free(owned);
  return 0;
}
