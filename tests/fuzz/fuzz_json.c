/* libFuzzer harness for the JSON encoders (src/json.c).
 *
 * The whole input is a string for cflame__json_str: the output must fit the
 * documented worst case, be accepted by the strict parser of the tests
 * (tests/support/json_parse.c) and decode to the input with each maximal
 * ill-formed subpart replaced by U+FFFD, as computed here by an independent
 * WHATWG-style decoder (so to the input itself when it was valid UTF-8).
 * The first 8 bytes, read as an integer and as a double, also drive the
 * number encoders. Each failure aborts naming the broken promise. */
#include "json.h"
#include "json_parse.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void die(const char *what, const char *out, size_t n) {
  fprintf(stderr, "fuzz_json: %s\n  out (%zu bytes): ", what, n);
  for (size_t i = 0; i < n && i < 300; i++) {
    unsigned char c = (unsigned char)out[i];
    if (c >= 0x20 && c < 0x7f)
      fputc(c, stderr);
    else
      fprintf(stderr, "\\x%02X", c);
  }
  fputc('\n', stderr);
  abort();
}

static size_t put_cp(unsigned char *o, uint32_t cp) {
  if (cp < 0x80) {
    o[0] = (unsigned char)cp;
    return 1;
  }
  if (cp < 0x800) {
    o[0] = (unsigned char)(0xC0 | cp >> 6);
    o[1] = (unsigned char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    o[0] = (unsigned char)(0xE0 | cp >> 12);
    o[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
    o[2] = (unsigned char)(0x80 | (cp & 0x3F));
    return 3;
  }
  o[0] = (unsigned char)(0xF0 | cp >> 18);
  o[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
  o[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
  o[3] = (unsigned char)(0x80 | (cp & 0x3F));
  return 4;
}

/* The WHATWG Encoding standard's UTF-8 decoder, re-encoded: out needs 3n
 * bytes. Returns the length; *valid = no replacement was made. */
static size_t reference(const unsigned char *in, size_t n, unsigned char *out,
                        int *valid) {
  unsigned needed = 0, seen = 0, lower = 0x80, upper = 0xBF;
  uint32_t cp = 0;
  size_t o = 0;
  *valid = 1;
  for (size_t i = 0; i < n; i++) {
    unsigned b = in[i];
    if (needed == 0) {
      if (b <= 0x7F) {
        out[o++] = (unsigned char)b;
      } else if (b >= 0xC2 && b <= 0xDF) {
        needed = 1;
        cp = b & 0x1F;
      } else if (b >= 0xE0 && b <= 0xEF) {
        lower = b == 0xE0 ? 0xA0 : 0x80;
        upper = b == 0xED ? 0x9F : 0xBF;
        needed = 2;
        cp = b & 0x0F;
      } else if (b >= 0xF0 && b <= 0xF4) {
        lower = b == 0xF0 ? 0x90 : 0x80;
        upper = b == 0xF4 ? 0x8F : 0xBF;
        needed = 3;
        cp = b & 0x07;
      } else {
        o += put_cp(out + o, 0xFFFD);
        *valid = 0;
      }
      continue;
    }
    if (b < lower || b > upper) {
      cp = needed = seen = 0;
      lower = 0x80;
      upper = 0xBF;
      o += put_cp(out + o, 0xFFFD);
      *valid = 0;
      i--; /* the byte starts over */
      continue;
    }
    lower = 0x80;
    upper = 0xBF;
    cp = cp << 6 | (b & 0x3F);
    if (++seen == needed) {
      o += put_cp(out + o, cp);
      cp = needed = seen = 0;
    }
  }
  if (needed) {
    o += put_cp(out + o, 0xFFFD);
    *valid = 0;
  }
  return o;
}

static void check_string(const uint8_t *data, size_t size) {
  size_t cap = CFLAME__JSON_STR_MAX(size), n, pos = 0, dec_len, ref_len;
  char *out = malloc(cap), *dec = NULL;
  unsigned char *ref = malloc(size * 3 + 1);
  json_error_t err;
  int valid;

  if (!out || !ref)
    abort();
  n = cflame__json_str(out, (const char *)data, size);
  if (n > cap)
    die("output longer than CFLAME__JSON_STR_MAX", out, n);
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)out[i];
    if (c < 0x20)
      die("raw control character in the output", out, n);
    if (c == 0xE2 && i + 2 < n && (unsigned char)out[i + 1] == 0x80 &&
        ((unsigned char)out[i + 2] == 0xA8 ||
         (unsigned char)out[i + 2] == 0xA9))
      die("raw U+2028/U+2029 in the output", out, n);
  }
  if (json_parse_string(out, n, &pos, &dec, &dec_len, &err)) {
    fprintf(stderr, "parser: %s at %zu\n", err.msg, err.off);
    die("the strict parser rejects the output", out, n);
  }
  if (pos != n)
    die("the output is more than one string token", out, n);
  ref_len = reference(data, size, ref, &valid);
  if (dec_len != ref_len || memcmp(dec, ref, ref_len))
    die(valid ? "valid UTF-8 input does not decode back to itself"
              : "repaired input differs from the reference decoder",
        out, n);
  free(dec);
  free(ref);
  free(out);
}

static void check_numbers(const uint8_t *data) {
  char b[64], want[64];
  uint64_t u;
  int64_t i;
  double d;
  size_t n;

  memcpy(&u, data, 8);
  memcpy(&i, data, 8);
  memcpy(&d, data, 8);

  n = cflame__json_u64(b, u);
  snprintf(want, sizeof want, "%llu", (unsigned long long)u);
  if (n > CFLAME__JSON_U64_MAX || n != strlen(want) || memcmp(b, want, n))
    die("json_u64 differs from printf decimal", b, n);
  n = cflame__json_i64(b, i);
  snprintf(want, sizeof want, "%lld", (long long)i);
  if (n > CFLAME__JSON_I64_MAX || n != strlen(want) || memcmp(b, want, n))
    die("json_i64 differs from printf decimal", b, n);
  n = cflame__json_ts(b, u);
  snprintf(want, sizeof want, "%llu.%03u", (unsigned long long)(u / 1000),
           (unsigned)(u % 1000));
  if (n > CFLAME__JSON_TS_MAX || n != strlen(want) || memcmp(b, want, n))
    die("json_ts differs from ns/1000 with 3 decimals", b, n);

  json_value_t v;
  json_error_t err;
  n = cflame__json_f64(b, d);
  if (n > CFLAME__JSON_F64_MAX)
    die("json_f64 longer than CFLAME__JSON_F64_MAX", b, n);
  if (json_parse(b, n, &v, &err))
    die("json_f64 output is not strict JSON", b, n);
  if (isfinite(d)
          ? v.type != JSON_NUMBER || v.num != d || signbit(v.num) != signbit(d)
          : v.type != JSON_NULL)
    die("json_f64 does not read back as the same double (or null)", b, n);
  json_free(&v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  check_string(data, size);
  if (size >= 8)
    check_numbers(data);
  return 0;
}
