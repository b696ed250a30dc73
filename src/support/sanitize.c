/* Frame-name sanitizer: makes any byte string a name that every folded-stack
 * reader parses the same way (FORMAT.md rules 1 and 7-13). */
#include "sanitize.h"

#include <stdint.h>
#include <string.h>

/* Decoder results above U+10FFFF, so they never collide with a character. */
#define BAD     ((uint32_t)0x110000) /* invalid at the lead byte */
#define PARTIAL ((uint32_t)0x110001) /* valid so far, cut by the input end */

static const char unknown[] = "[unknown]";

/* Decodes the character at s[0..n), n >= 1, and returns its length. The
 * allowed range of the second byte (Unicode table 3-7) rejects overlongs,
 * surrogates and > U+10FFFF at the first byte that makes them impossible;
 * a rejected sequence reports length 1 so each of its bytes becomes one `?`
 * and resynchronisation is automatic. */
static size_t decode(const unsigned char *s, size_t n, uint32_t *cp) {
  unsigned c = s[0], lo = 0x80, hi = 0xBF;
  size_t need, i;
  uint32_t v;

  if (c < 0x80) {
    *cp = c;
    return 1;
  }
  if (c < 0xC2) { /* stray continuation, or a lead that is always overlong */
    *cp = BAD;
    return 1;
  }
  if (c < 0xE0) {
    need = 2;
    v = c & 0x1F;
  } else if (c < 0xF0) {
    need = 3;
    v = c & 0x0F;
    if (c == 0xE0)
      lo = 0xA0; /* lower is overlong */
    else if (c == 0xED)
      hi = 0x9F; /* higher is a surrogate */
  } else if (c < 0xF5) {
    need = 4;
    v = c & 0x07;
    if (c == 0xF0)
      lo = 0x90; /* lower is overlong */
    else if (c == 0xF4)
      hi = 0x8F; /* higher is above U+10FFFF */
  } else {
    *cp = BAD;
    return 1;
  }
  for (i = 1; i < need; i++) {
    unsigned b;
    if (i >= n) {
      *cp = PARTIAL;
      return i;
    }
    b = s[i];
    if (b < lo || b > hi) {
      *cp = BAD;
      return 1;
    }
    lo = 0x80;
    hi = 0xBF;
    v = (v << 6) | (b & 0x3F);
  }
  *cp = v;
  return need;
}

/* Unicode White_Space minus what forbidden() already turns into `?`. */
static int is_ws(uint32_t cp) {
  return cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200A) || cp == 0x202F || cp == 0x205F ||
         cp == 0x3000;
}

/* NUL and ESC break the SVG's XML; CR, LF, U+2028 and U+2029 make speedscope
 * drop frames; U+FFFE/U+FFFF are not XML characters. */
static int forbidden(uint32_t cp) {
  return cp < 0x20 || cp == 0x7F || cp == 0x2028 || cp == 0x2029 ||
         cp == 0xFFFE || cp == 0xFFFF;
}

/* Would the rest of the input vanish anyway as trailing whitespace? Decides
 * whether stopping at the clamp really lost anything. */
static int rest_is_ws(const unsigned char *s, size_t n) {
  size_t pos = 0;
  while (pos < n) {
    uint32_t cp;
    pos += decode(s + pos, n - pos, &cp);
    if (cp >= BAD || !is_ws(cp))
      return 0;
  }
  return 1;
}

/* Byte length of the whitespace character that ends exactly at buf[end],
 * or 0. buf is our own output, hence valid UTF-8, so a matching suffix that
 * starts with a lead byte is a whole character. */
static size_t ws_len_before(const char *buf, size_t end) {
  const unsigned char *p = (const unsigned char *)buf + end;
  if (end >= 1 && p[-1] == 0x20)
    return 1;
  if (end >= 2 && p[-2] == 0xC2 && (p[-1] == 0x85 || p[-1] == 0xA0))
    return 2;
  if (end < 3)
    return 0;
  if ((p[-3] == 0xE1 && p[-2] == 0x9A && p[-1] == 0x80) ||
      (p[-3] == 0xE2 && p[-2] == 0x80 &&
       ((p[-1] >= 0x80 && p[-1] <= 0x8A) || p[-1] == 0xAF)) ||
      (p[-3] == 0xE2 && p[-2] == 0x81 && p[-1] == 0x9F) ||
      (p[-3] == 0xE3 && p[-2] == 0x80 && p[-1] == 0x80))
    return 3;
  return 0;
}

/* more: the input goes on past len but may not be read (cstr bound). */
static size_t run(char *out, size_t cap, const char *in, size_t len, int more,
                  unsigned flags, unsigned *report) {
  const unsigned char *s = (const unsigned char *)in;
  size_t limit, pos = 0, o = 0, keep = 0, d, w;
  unsigned rep = 0;

  if (report)
    *report = 0;
  if (!out || cap == 0)
    return 0;
  limit = cap - 1 < CFLAME__NAME_MAX ? cap - 1 : CFLAME__NAME_MAX;
  if (!in)
    len = 0;

  /* One pass: replace, drop leading whitespace, clamp. keep is the length
   * up to the last non-whitespace character, i.e. after trimming. */
  while (pos < len) {
    uint32_t cp;
    size_t k = decode(s + pos, len - pos, &cp), n = k;
    const unsigned char *src = s + pos;
    unsigned char sub = 0;

    if (cp == PARTIAL && more)
      break; /* the missing bytes lie past what we may read */
    if (cp >= BAD) {
      sub = '?';
      k = 1;
    } else if (cp == ';') {
      sub = ':';
    } else if (forbidden(cp)) {
      sub = '?';
    } else if (o == 0 && is_ws(cp)) {
      rep |= CFLAME__SAN_CHANGED;
      pos += k;
      continue;
    }
    if (sub) {
      rep |= CFLAME__SAN_CHANGED;
      src = &sub;
      n = 1;
    }
    if (n > limit - o) {
      rep |= CFLAME__SAN_CHANGED;
      if (!rest_is_ws(s + pos, len - pos))
        rep |= CFLAME__SAN_TRUNCATED;
      break;
    }
    memcpy(out + o, src, n);
    o += n;
    if (sub || !is_ws(cp))
      keep = o;
    pos += k;
  }
  if (more)
    rep |= CFLAME__SAN_CHANGED | CFLAME__SAN_TRUNCATED;

  if (keep < o) {
    rep |= CFLAME__SAN_CHANGED;
    o = keep;
  }

  /* Rule 11: readers split "sleep 5" into a name and a second count. */
  d = o;
  while (d > 0 && out[d - 1] >= '0' && out[d - 1] <= '9')
    d--;
  if (d < o && (w = ws_len_before(out, d)) > 0) {
    out[d - w] = '_';
    memmove(out + d - w + 1, out + d, o - d);
    o -= w - 1;
    rep |= CFLAME__SAN_CHANGED;
  }

  /* Rule 12: inferno skips a line that starts with "# " as a comment. */
  if ((flags & CFLAME__SAN_ROOT) && o >= 2 && out[0] == '#' && out[1] == ' ') {
    out[0] = '?';
    rep |= CFLAME__SAN_CHANGED;
  }
  /* Rule 1: a root frame starts the file's first line, where U+FEFF would
   * read as a byte order mark. */
  if ((flags & CFLAME__SAN_ROOT) && o >= 3 && (unsigned char)out[0] == 0xEF &&
      (unsigned char)out[1] == 0xBB && (unsigned char)out[2] == 0xBF) {
    out[0] = '?';
    memmove(out + 1, out + 3, o - 3);
    o -= 2;
    rep |= CFLAME__SAN_CHANGED;
  }

  if (o == 0) {
    o = sizeof unknown - 1;
    if (o > limit) { /* only when the caller broke cap >= 16 */
      o = limit;
      rep |= CFLAME__SAN_TRUNCATED;
    }
    memcpy(out, unknown, o);
    rep |= CFLAME__SAN_CHANGED;
  }
  out[o] = '\0';
  if (report)
    *report = rep;
  return o;
}

size_t cflame__sanitize(char *out, size_t cap, const char *in, size_t len,
                        unsigned flags, unsigned *report) {
  return run(out, cap, in, len, 0, flags, report);
}

size_t cflame__sanitize_cstr(char *out, size_t cap, const char *in,
                             unsigned flags, unsigned *report) {
  const size_t bound = (size_t)CFLAME__NAME_MAX * 4;
  size_t n = 0;

  if (in)
    while (n < bound && in[n] != '\0')
      n++;
  return run(out, cap, in, n, in && n == bound, flags, report);
}

/* Deliberately shares nothing with the sanitizer's decoder: it decodes by
 * bit pattern and then checks the value, so a slip in either one shows up
 * when the tests compare them. */
int cflame__name_is_clean(const char *buf, size_t len, unsigned flags) {
  const unsigned char *s = (const unsigned char *)buf;
  size_t i = 0, digits = 0;
  int ws = 0, ws_before_digits = 0;

  if (!buf || len == 0 || len > CFLAME__NAME_MAX)
    return 0;
  while (i < len) {
    unsigned c = s[i];
    size_t n, j;
    uint32_t cp, min;

    if (c < 0x80) {
      n = 1;
      cp = c;
      min = 0;
    } else if ((c & 0xE0) == 0xC0) {
      n = 2;
      cp = c & 0x1F;
      min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      n = 3;
      cp = c & 0x0F;
      min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      n = 4;
      cp = c & 0x07;
      min = 0x10000;
    } else {
      return 0;
    }
    if (n > len - i)
      return 0;
    for (j = 1; j < n; j++) {
      if ((s[i + j] & 0xC0) != 0x80)
        return 0;
      cp = (cp << 6) | (s[i + j] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return 0;
    if (cp == ';' || forbidden(cp))
      return 0;
    if (i == 0 && is_ws(cp))
      return 0;
    if (cp >= '0' && cp <= '9') {
      if (digits++ == 0)
        ws_before_digits = ws;
    } else {
      digits = 0;
    }
    ws = is_ws(cp);
    i += n;
  }
  if (ws || (digits > 0 && ws_before_digits))
    return 0;
  if ((flags & CFLAME__SAN_ROOT) && len >= 2 && s[0] == '#' && s[1] == ' ')
    return 0;
  if ((flags & CFLAME__SAN_ROOT) && len >= 3 && (unsigned char)s[0] == 0xEF &&
      (unsigned char)s[1] == 0xBB && (unsigned char)s[2] == 0xBF)
    return 0;
  return 1;
}
