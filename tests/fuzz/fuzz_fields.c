/* libFuzzer harness for the field formatter cflame__fields_format().
 *
 * Field text goes inside a frame ("name{k=v, k2=v2}") and into fmt lines
 * without being looked at again, so whatever the keys and values hold and
 * wherever the capacity cuts, the output must be a clean piece of a frame
 * name: strict UTF-8, no control character, no ';', no U+2028/2029/FFFE/
 * FFFF. Beyond that it must be the untruncated text cut short: every field
 * "key=value" joined by ", ", and nothing lost unless the capacity ran out.
 *
 * Input layout (every read past the end yields zeros):
 *   sel    bits 0-2 number of fields - 1; bit 3 set: the capacity is the
 *          next 2 bytes mod 1024 + 1, else caps[bits 4-7]
 *   field  type byte: bits 0-2 the kind (see rd_field), the rest its
 *          variant; key length byte (255: NULL key) and the key's bytes;
 *          then the value: 8 bytes for numbers, 1 for a bool or a special
 *          double, a 2-byte length and the bytes for a string (repeated
 *          when the input runs out first; length 0xFFFF: NULL). */
#include "fuzz_input.h"
#include <cflame.h>

#include "folded_check.h"
#include "core.h"
#include "sanitize.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FIELDS 8
/* Mirrors field.c: a value is clipped to this many bytes on its own, and a
 * key is sanitized into 64 bytes (so at most 63). */
#define VALUE_MAX 128
#define KEY_CAP   64

/* The edges of the formatter's cut: nothing fits below 9, and around a
 * value's and the whole text's clip. */
static const size_t caps[16] = {1,   2,   8,   9,   10,  11,  16,  64,
                                128, 129, 137, 256, 511, 512, 513, 1024};

/* Doubles that print oddly: NaN of either sign, infinities, -0, the
 * subnormal edges, and %g's switch to exponents. */
static const double specials[16] = {
    NAN,       -NAN,    INFINITY, -INFINITY, -0.0, 0.0,  DBL_MIN,  4.9e-324,
    -4.9e-324, DBL_MAX, -DBL_MAX, 1e-310,    0.1,  1e21, 123456.5, -1e-5};


/* A C string of up to `want` input bytes in a block of its exact size, so
 * a read past its NUL is caught. An embedded NUL ends it early. */
static char *rd_cstr(rd_t *r, size_t want) {
  if (want > r->n)
    want = r->n;
  char *s = malloc(want + 1);
  if (!s)
    abort();
  if (want)
    memcpy(s, r->p, want);
  s[want] = '\0';
  r->p += want;
  r->n -= want;
  return s;
}

/* Same, `want` bytes long whatever is left of the input: the bytes there
 * are repeated (NULs made visible), so a string can pass the 4 KiB bound
 * of cflame__sanitize_cstr in an input shorter than that. */
static char *rd_long(rd_t *r, size_t want) {
  size_t have = want < r->n ? want : r->n;
  char *s = rd_cstr(r, have);
  if (have == want)
    return s;
  char *l = realloc(s, want + 1);
  if (!l)
    abort();
  for (size_t i = have; i < want; i++) {
    char c = have ? l[i % have] : 'x';
    l[i] = c ? c : '0';
  }
  l[want] = '\0';
  return l;
}

/* Owned copies of the keys and strings, freed after the input. */
typedef struct fields_s {
  cflame_field_t f[MAX_FIELDS];
  char *own[2 * MAX_FIELDS];
  size_t n, nown;
} fields_t;

static const char *keep(fields_t *fs, char *s) {
  fs->own[fs->nown++] = s;
  return s;
}

static void rd_field(rd_t *r, fields_t *fs) {
  cflame_field_t *f = &fs->f[fs->n++];
  unsigned t = rd_u8(r), kl = rd_u8(r);
  f->key = kl == 255 ? NULL : keep(fs, rd_cstr(r, kl));
  switch (t & 7) {
  case 0:
    f->type = CFLAME_FIELD_I64;
    f->v.i64 = (int64_t)rd_uint(r, 8);
    break;
  case 1:
    f->type = CFLAME_FIELD_U64;
    f->v.u64 = rd_uint(r, 8);
    break;
  case 2: { /* any bit pattern: NaN payloads, subnormals */
    uint64_t bits = rd_uint(r, 8);
    f->type = CFLAME_FIELD_F64;
    memcpy(&f->v.f64, &bits, sizeof bits);
    break;
  }
  case 3:
    f->type = CFLAME_FIELD_F64;
    f->v.f64 = specials[rd_u8(r) & 15];
    break;
  case 4:
    f->type = CFLAME_FIELD_BOOL;
    f->v.b = rd_u8(r) & 1;
    break;
  case 5: { /* past the value clip and the 4 KiB read bound */
    size_t len = (size_t)rd_uint(r, 2);
    f->type = CFLAME_FIELD_STR;
    f->v.str = len == 0xFFFF ? NULL : keep(fs, rd_long(r, len % 8192));
    break;
  }
  case 6:
    f->type = CFLAME_FIELD_STR;
    f->v.str = NULL;
    break;
  default: { /* a type the library does not know */
    static const int bad[4] = {5, -1, 1000, INT32_MIN};
    f->type = bad[(t >> 3) & 3];
    f->v.u64 = rd_uint(r, 8);
    break;
  }
  }
}

/* --- the untruncated text ------------------------------------------------- */

/* One field's "key=value" as the documented format says it is written:
 * numbers in C's %lld/%llu/%g, NaN as "NaN", bools as true/false, a NULL
 * string as "(null)", anything else as "?"; keys and strings sanitized
 * like frame names. */
static size_t field_text(char *out, const cflame_field_t *f) {
  size_t n = cflame__sanitize_cstr(out, KEY_CAP, f->key, 0, NULL);
  out[n++] = '=';
  char *v = out + n;
  switch (f->type) {
  case CFLAME_FIELD_I64:
    return n + (size_t)sprintf(v, "%lld", (long long)f->v.i64);
  case CFLAME_FIELD_U64:
    return n + (size_t)sprintf(v, "%llu", (unsigned long long)f->v.u64);
  case CFLAME_FIELD_F64:
    if (isnan(f->v.f64))
      return n + (size_t)sprintf(v, "NaN");
    return n + (size_t)sprintf(v, "%g", f->v.f64);
  case CFLAME_FIELD_BOOL:
    return n + (size_t)sprintf(v, "%s", f->v.b ? "true" : "false");
  case CFLAME_FIELD_STR:
    if (!f->v.str)
      return n + (size_t)sprintf(v, "(null)");
    return n + cflame__sanitize_cstr(v, VALUE_MAX + 1, f->v.str, 0, NULL);
  default:
    return n + (size_t)sprintf(v, "?");
  }
}

/* --- checks --------------------------------------------------------------- */

static void fail(const char *what, const char *out, size_t len, size_t cap,
                 const char *full, size_t full_len) {
  fprintf(stderr, "fuzz_fields: %s (cap %zu, length %zu)\n", what, cap, len);
  const char *label[2] = {"output", "untruncated"};
  const char *buf[2] = {out, full};
  size_t n[2] = {len, full_len};
  for (int k = 0; k < 2; k++) {
    fprintf(stderr, "  %s: \"", label[k]);
    for (size_t i = 0; buf[k] && i < n[k] && i < 1200; i++) {
      unsigned char c = (unsigned char)buf[k][i];
      if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
        fputc(c, stderr);
      else
        fprintf(stderr, "\\x%02X", c);
    }
    fputs("\"\n", stderr);
  }
  abort();
}

/* First problem of buf[0..len) as a piece of a frame name, or NULL. Strict
 * UTF-8: no overlong form, surrogate, code point above U+10FFFF or cut
 * sequence. */
static const char *unclean(const unsigned char *p, size_t len) {
  size_t i = 0;
  while (i < len) {
    unsigned c = p[i];
    uint32_t cp;
    size_t n;
    if (c < 0x80) {
      if (c < 0x20 || c == 0x7f)
        return "control character";
      if (c == ';')
        return "';'";
      i++;
      continue;
    }
    if (c >= 0xc2 && c <= 0xdf) {
      n = 2;
      cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
      n = 3;
      cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 4;
      cp = c & 0x07;
    } else {
      return "invalid UTF-8 lead byte";
    }
    if (len - i < n)
      return "UTF-8 sequence cut at the end";
    for (size_t k = 1; k < n; k++) {
      if ((p[i + k] & 0xc0) != 0x80)
        return "UTF-8 sequence cut short";
      cp = cp << 6 | (p[i + k] & 0x3f);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000))
      return "overlong UTF-8";
    if (cp >= 0xd800 && cp <= 0xdfff)
      return "UTF-8 surrogate";
    if (cp > 0x10ffff)
      return "code point above U+10FFFF";
    if (cp == 0x2028 || cp == 0x2029 || cp == 0xfffe || cp == 0xffff)
      return "U+2028/2029/FFFE/FFFF";
    i += n;
  }
  return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  rd_t r = {data, size};
  unsigned sel = rd_u8(&r);
  size_t cap = sel & 8 ? 1 + (size_t)rd_uint(&r, 2) % 1024 : caps[sel >> 4];
  fields_t fs;
  memset(&fs, 0, sizeof fs);
  size_t nf = 1 + (sel & 7);
  while (fs.n < nf)
    rd_field(&r, &fs);

  /* The text with nothing cut: KEY_CAP + '=' + VALUE_MAX + ", " a field. */
  static char full[MAX_FIELDS * (KEY_CAP + VALUE_MAX + 4)];
  size_t full_len = 0;
  for (size_t i = 0; i < nf; i++) {
    if (i > 0) {
      memcpy(full + full_len, ", ", 2);
      full_len += 2;
    }
    full_len += field_text(full + full_len, &fs.f[i]);
  }

  /* Exactly cap bytes, filled so a missing NUL shows. */
  char *out = malloc(cap);
  if (!out)
    abort();
  memset(out, 0xA5, cap);
  size_t len = cflame__fields_format(out, cap, fs.f, nf);

#define CHECK(cond, what)                                                      \
  do {                                                                         \
    if (!(cond))                                                               \
      fail(what, out, len < cap ? len : cap, cap, full, full_len);             \
  } while (0)

  CHECK(len < cap, "returned length not below the capacity");
  CHECK(out[len] == '\0', "output not NUL-terminated at the returned length");
  CHECK(strlen(out) == len, "NUL inside the output");
  const char *why = unclean((const unsigned char *)out, len);
  CHECK(!why, why);
  CHECK(full_len >= len && memcmp(out, full, len) == 0,
        "output is not the untruncated text cut short");
  /* A field starts only with 8 bytes to spare, and a cut drops at most an
   * incomplete 3-byte remainder of a UTF-8 sequence. */
  if (full_len + 8 < cap)
    CHECK(len == full_len, "output cut though everything fit");
  else if (cap > 8)
    CHECK(len + 3 >= (full_len < cap - 8 ? full_len : cap - 8),
          "output cut shorter than the capacity forces");

  /* As a frame in a folded line, the text must pass the strict checker. */
  char *line = malloc(len + 32);
  if (!line)
    abort();
  int ll = snprintf(line, len + 32, "root;name{%s} 1\n", out);
  folded_check_error_t err;
  if (folded_check(line, (size_t)ll, 0, &err, NULL, NULL) != 0) {
    fprintf(stderr, "  FORMAT.md rule %d: %s\n", err.rule, err.msg);
    CHECK(0, "the frame name{...} violates FORMAT.md");
  }
  free(line);

  /* A capacity of 0 writes nothing at all (ASan sees any byte). */
  char *none = malloc(0);
  if (cflame__fields_format(none, 0, fs.f, nf) != 0)
    CHECK(0, "capacity 0 returned a length");
  free(none);

  free(out);
  for (size_t i = 0; i < fs.nown; i++)
    free(fs.own[i]);
  return 0;
}
