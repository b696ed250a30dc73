/* Field formatting: "k=v, k2=v2", every key and value sanitized like a frame
 * name, so field text can never break a folded line or a fmt line. */
#include "field.h"
#include "util.h"
#include "sanitize.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define VALUE_MAX 128 /* bytes of one formatted value */


/* Decimal digits of v into out (room for 20); returns the count. */
static size_t dec(char *out, uint64_t v) {
  char tmp[20];
  size_t n = 0;
  do {
    tmp[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  for (size_t i = 0; i < n; i++)
    out[i] = tmp[n - 1 - i];
  return n;
}

/* Keys are nearly always short identifiers: copy those as they are and
 * leave everything else to the sanitizer. */
static size_t put_key(char *out, size_t cap, const char *key) {
  size_t n = 0;
  if (key) {
    for (; n + 1 < cap && key[n]; n++) {
      char c = key[n];
      if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
            (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
        break;
      out[n] = c;
    }
    if (n > 0 && key[n] == '\0') {
      out[n] = '\0';
      return n;
    }
  }
  return cflame__sanitize_cstr(out, cap, key, 0, NULL);
}

/* A value that could end in " digits" is fine inside "{...}": the rules
 * only bind the frame's end, which is '}'. Keys and strings are sanitized;
 * numbers are plain ASCII already. */
size_t cflame__fields_format(char *out, size_t cap, const cflame_field_t *f,
                             size_t n) {
  size_t len = 0;
  if (cap == 0)
    return 0;
  for (size_t i = 0; i < n && len + 8 < cap; i++) {
    char key[64], val[VALUE_MAX + 1];
    size_t kl = put_key(key, sizeof key, f[i].key);
    size_t vl = 0;
    switch (f[i].type) {
    case CFLAME_FIELD_I64:
      if (f[i].v.i64 < 0) {
        val[0] = '-';
        vl = 1 + dec(val + 1, 0 - (uint64_t)f[i].v.i64);
      } else {
        vl = dec(val, (uint64_t)f[i].v.i64);
      }
      break;
    case CFLAME_FIELD_U64:
      vl = dec(val, f[i].v.u64);
      break;
    case CFLAME_FIELD_F64:
      if (isnan(f[i].v.f64))
        vl = (size_t)snprintf(val, sizeof val, "NaN");
      else
        vl = (size_t)snprintf(val, sizeof val, "%g", f[i].v.f64);
      break;
    case CFLAME_FIELD_BOOL:
      vl = f[i].v.b ? 4 : 5;
      memcpy(val, f[i].v.b ? "true" : "false", vl);
      break;
    case CFLAME_FIELD_STR:
      if (!f[i].v.str)
        vl = (size_t)snprintf(val, sizeof val, "(null)");
      else
        vl = cflame__sanitize_cstr(val, sizeof val, f[i].v.str, 0, NULL);
      break;
    default:
      vl = (size_t)snprintf(val, sizeof val, "?");
      break;
    }
    if (vl >= sizeof val)
      vl = sizeof val - 1;
    if (i > 0)
      len = cflame__put_clamped(out, cap, len, ", ", 2);
    len = cflame__put_clamped(out, cap, len, key, kl);
    len = cflame__put_clamped(out, cap, len, "=", 1);
    len = cflame__put_clamped(out, cap, len, val, vl);
  }
  /* A cut can split a UTF-8 sequence: drop an incomplete last one. */
  size_t i = len;
  while (i > 0 && ((unsigned char)out[i - 1] & 0xc0) == 0x80)
    i--;
  if (i > 0) {
    unsigned char lead = (unsigned char)out[i - 1];
    size_t need = lead < 0x80 ? 1 : lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
    if (len - (i - 1) < need)
      len = i - 1;
  }
  out[len] = '\0';
  return len;
}
