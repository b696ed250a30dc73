/* JSON encoders: strings (escaped, UTF-8 repaired), timestamps, integers,
 * doubles and field objects, written in place with a known worst case. */
#include "json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char hex[16] = "0123456789abcdef";

/* How each ASCII byte is written: 0 as is, 'u' as \u00XX, any other value
 * as that letter after a backslash. */
/* clang-format off */
#define U 'u'
static const unsigned char ascii_esc[128] = {
    /* 00 */ U, U, U, U, U, U, U, U, 'b', 't', 'n', U, 'f', 'r', U, U,
    /* 10 */ U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U,
    /* 20 */ 0, 0, '"', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    /* 30 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    /* 40 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    /* 50 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, '\\', 0, 0, 0,
    /* 60 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    /* 70 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};
#undef U
/* clang-format on */

/* Length of the well-formed UTF-8 sequence at p (avail > 0 bytes, p[0] >=
 * 0x80), or 0 with *bad set to the length of its maximal ill-formed
 * subpart (>= 1): the bytes that one U+FFFD replaces (Unicode 3.9, table
 * 3-7 gives the second-byte ranges). */
static size_t utf8_len(const unsigned char *p, size_t avail, size_t *bad) {
  unsigned c = p[0];
  unsigned lo = 0x80, hi = 0xBF;
  size_t need, i;

  if (c >= 0xC2 && c <= 0xDF) {
    need = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    need = 3;
    if (c == 0xE0)
      lo = 0xA0; /* overlong below U+0800 */
    else if (c == 0xED)
      hi = 0x9F; /* surrogates */
  } else if (c >= 0xF0 && c <= 0xF4) {
    need = 4;
    if (c == 0xF0)
      lo = 0x90; /* overlong below U+10000 */
    else if (c == 0xF4)
      hi = 0x8F; /* above U+10FFFF */
  } else {
    *bad = 1; /* continuation byte, C0, C1, F5-FF */
    return 0;
  }
  for (i = 1; i < need; i++) {
    if (i >= avail || p[i] < lo || p[i] > hi) {
      *bad = i;
      return 0;
    }
    lo = 0x80;
    hi = 0xBF;
  }
  return need;
}

#define ONES  0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

/* Does any byte of x need more than a copy? Exact (no false positives):
 * (v - ONES*k) & ~v & HIGHS is nonzero iff some byte of v is below k, for
 * k <= 0x80, and a byte of x equals q iff that byte of x ^ q*ONES is 0. */
static int needs_care(uint64_t x) {
  uint64_t q = x ^ (ONES * '"'), b = x ^ (ONES * '\\');
  return ((x | ((x - ONES * 0x20) & ~x) | ((q - ONES) & ~q) |
           ((b - ONES) & ~b)) &
          HIGHS) != 0;
}

size_t cflame__json_str(char *out, const char *s, size_t n) {
  const unsigned char *p = (const unsigned char *)s;
  const unsigned char *end = s ? p + n : p;
  char *o = out;

  *o++ = '"';
  while (p < end) {
    /* 8 plain bytes at a time (no control, '"', '\\' or non-ASCII byte):
     * most names are short identifiers. */
    while (end - p >= 8) {
      uint64_t x;
      memcpy(&x, p, 8);
      if (needs_care(x))
        break;
      memcpy(o, p, 8);
      o += 8;
      p += 8;
    }
    if (p == end)
      break;
    unsigned c = *p;
    if (c < 0x80) {
      unsigned e = ascii_esc[c];
      p++;
      if (!e) {
        *o++ = (char)c;
      } else if (e != 'u') {
        o[0] = '\\';
        o[1] = (char)e;
        o += 2;
      } else {
        memcpy(o, "\\u00", 4);
        o[4] = hex[c >> 4];
        o[5] = hex[c & 15];
        o += 6;
      }
      continue;
    }
    size_t bad = 0, len = utf8_len(p, (size_t)(end - p), &bad);
    if (!len) {
      memcpy(o, "\xEF\xBF\xBD", 3);
      o += 3;
      p += bad;
    } else if (len == 3 && c == 0xE2 && p[1] == 0x80 &&
               (p[2] == 0xA8 || p[2] == 0xA9)) {
      memcpy(o, p[2] == 0xA8 ? "\\u2028" : "\\u2029", 6);
      o += 6;
      p += 3;
    } else {
      memcpy(o, p, len);
      o += len;
      p += len;
    }
  }
  *o++ = '"';
  return (size_t)(o - out);
}

/* "00".."99", so digits go out two per division. */
static const char digits2[200] =
    "0001020304050607080910111213141516171819202122232425262728293031323334"
    "3536373839404142434445464748495051525354555657585960616263646566676869"
    "707172737475767778798081828384858687888990919293949596979899";

/* Decimal digits of v, most significant first, written from the last one
 * back (the length first, so no scratch buffer and no copy). */
static size_t put_dec(char *out, uint64_t v) {
  /* clang-format off */
  static const uint64_t pow10[19] = {
      10ull, 100ull, 1000ull, 10000ull, 100000ull, 1000000ull, 10000000ull,
      100000000ull, 1000000000ull, 10000000000ull, 100000000000ull,
      1000000000000ull, 10000000000000ull, 100000000000000ull,
      1000000000000000ull, 10000000000000000ull, 100000000000000000ull,
      1000000000000000000ull, 10000000000000000000ull};
  /* clang-format on */
  size_t n = 1, i;
  while (n < 20 && v >= pow10[n - 1])
    n++;
  i = n;
  while (v >= 100) {
    unsigned d = (unsigned)(v % 100) * 2;
    v /= 100;
    out[--i] = digits2[d + 1];
    out[--i] = digits2[d];
  }
  if (v >= 10) {
    out[1] = digits2[v * 2 + 1];
    out[0] = digits2[v * 2];
  } else {
    out[0] = (char)('0' + v);
  }
  return n;
}

size_t cflame__json_ts(char *out, uint64_t ns) {
  size_t n = put_dec(out, ns / 1000);
  unsigned frac = (unsigned)(ns % 1000);
  out[n] = '.';
  out[n + 1] = (char)('0' + frac / 100);
  out[n + 2] = (char)('0' + frac / 10 % 10);
  out[n + 3] = (char)('0' + frac % 10);
  return n + 4;
}

size_t cflame__json_u64(char *out, uint64_t v) {
  return put_dec(out, v);
}

size_t cflame__json_i64(char *out, int64_t v) {
  if (v >= 0)
    return put_dec(out, (uint64_t)v);
  out[0] = '-';
  return 1 + put_dec(out + 1, 0 - (uint64_t)v);
}

size_t cflame__json_f64(char *out, double v) {
  char tmp[64];
  size_t n = 0, i;
  int prec, k = 0;

  if (!isfinite(v)) {
    memcpy(out, "null", 4);
    return 4;
  }
  /* snprintf and strtod read the same locale, so the round trip holds in
   * any locale; the decimal point is normalized below. */
  for (prec = 15; prec <= 17; prec++) {
    k = snprintf(tmp, sizeof tmp, "%.*g", prec, v);
    if (k > 0 && (size_t)k < sizeof tmp && strtod(tmp, NULL) == v)
      break;
  }
  if (k <= 0 || (size_t)k >= sizeof tmp) {
    memcpy(out, "null", 4); /* cannot happen with %g; stay valid anyway */
    return 4;
  }
  /* %g yields sign, digits, one decimal point (whatever bytes the locale
   * uses for it) and an exponent "e[+-]dd": keep the ASCII parts and write
   * any other run of bytes as a single '.'. */
  for (i = 0; i < (size_t)k && n < CFLAME__JSON_F64_MAX; i++) {
    char c = tmp[i];
    if ((c >= '0' && c <= '9') || c == '-' || c == '+' || c == 'e')
      out[n++] = c;
    else if (n == 0 || out[n - 1] != '.')
      out[n++] = '.';
  }
  return n;
}

/* Bounded strlen, cut before a UTF-8 sequence that crosses the bound. */
static size_t arg_len(const char *s) {
  const unsigned char *p = (const unsigned char *)s;
  const char *z = memchr(s, '\0', CFLAME__JSON_ARG_STR_MAX);
  size_t n = CFLAME__JSON_ARG_STR_MAX, i;

  if (z)
    return (size_t)(z - s);
  /* s continues past the bound, so p[n] is readable. */
  if ((p[n] & 0xC0) != 0x80)
    return n;
  for (i = n; i > 0 && n - i < 3; i--)
    if ((p[i - 1] & 0xC0) != 0x80)
      return p[i - 1] >= 0xC0 ? i - 1 : n;
  return n;
}

size_t cflame__json_args(char *out, size_t cap, const cflame_field_t *f,
                         size_t n, size_t *dropped) {
  size_t len = 1, lost = 0, i;

  out[0] = '{';
  for (i = 0; i < n; i++) {
    const char *key = f[i].key ? f[i].key : "(null)";
    size_t kl = arg_len(key), vl = 0, worst;
    int is_str = f[i].type == CFLAME_FIELD_STR && f[i].v.str;

    if (is_str)
      vl = arg_len(f[i].v.str);
    /* separator, key, ':', value, and the closing '}' still to come */
    worst = 1 + CFLAME__JSON_STR_MAX(kl) + 1 +
            (is_str ? CFLAME__JSON_STR_MAX(vl) : CFLAME__JSON_F64_MAX) + 1;
    if (cap < len || cap - len < worst) {
      lost++;
      continue;
    }
    if (len > 1)
      out[len++] = ',';
    len += cflame__json_str(out + len, key, kl);
    out[len++] = ':';
    /* a NULL string goes to default: null */
    switch (f[i].type == CFLAME_FIELD_STR && !is_str ? -1 : f[i].type) {
    case CFLAME_FIELD_I64:
      len += cflame__json_i64(out + len, f[i].v.i64);
      break;
    case CFLAME_FIELD_U64:
      len += cflame__json_u64(out + len, f[i].v.u64);
      break;
    case CFLAME_FIELD_F64:
      len += cflame__json_f64(out + len, f[i].v.f64);
      break;
    case CFLAME_FIELD_BOOL:
      memcpy(out + len, f[i].v.b ? "true" : "false", f[i].v.b ? 4 : 5);
      len += f[i].v.b ? 4 : 5;
      break;
    case CFLAME_FIELD_STR:
      len += cflame__json_str(out + len, f[i].v.str, vl);
      break;
    default: /* unknown type, or a NULL string */
      memcpy(out + len, "null", 4);
      len += 4;
      break;
    }
  }
  out[len++] = '}';
  if (dropped)
    *dropped = lost;
  return len;
}
