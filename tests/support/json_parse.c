/* Strict JSON parser for the tests: recursive descent into json_value_t. */
#include "json_parse.h"

#include <locale.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  const unsigned char *b;
  size_t len, pos;
  unsigned flags;
  json_error_t *err;
} parser_t;

static int fail(parser_t *p, size_t off, const char *fmt, ...) {
  va_list ap;
  if (!p->err)
    return -1;
  p->err->off = off;
  va_start(ap, fmt);
  vsnprintf(p->err->msg, sizeof p->err->msg, fmt, ap);
  va_end(ap);
  return -1;
}

/* A short printable description of the byte at off, for messages. */
static const char *what_at(const parser_t *p, size_t off, char *buf,
                           size_t cap) {
  if (off >= p->len)
    return "end of input";
  unsigned c = p->b[off];
  if (c >= 0x20 && c < 0x7f)
    snprintf(buf, cap, "'%c'", (char)c);
  else
    snprintf(buf, cap, "byte 0x%02X", c);
  return buf;
}

static void skip_ws(parser_t *p) {
  while (p->pos < p->len) {
    unsigned c = p->b[p->pos];
    if (c == ' ' || c == '\t' ||
        (!(p->flags & JSON_ONE_LINE) && (c == '\n' || c == '\r')))
      p->pos++;
    else
      break;
  }
}

/* Decodes the well-formed UTF-8 sequence at s (n bytes available) into *cp
 * and returns its length, or 0 if it is ill-formed. */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp) {
  size_t len, i;
  uint32_t v;
  if (s[0] < 0x80) {
    *cp = s[0];
    return 1;
  }
  if ((s[0] & 0xE0) == 0xC0) {
    len = 2;
    v = s[0] & 0x1F;
  } else if ((s[0] & 0xF0) == 0xE0) {
    len = 3;
    v = s[0] & 0x0F;
  } else if ((s[0] & 0xF8) == 0xF0) {
    len = 4;
    v = s[0] & 0x07;
  } else {
    return 0;
  }
  if (n < len)
    return 0;
  for (i = 1; i < len; i++) {
    if ((s[i] & 0xC0) != 0x80)
      return 0;
    v = v << 6 | (s[i] & 0x3F);
  }
  if ((len == 2 && v < 0x80) || (len == 3 && v < 0x800) ||
      (len == 4 && v < 0x10000) || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
    return 0;
  *cp = v;
  return len;
}

static int hex4(const unsigned char *s, uint32_t *v) {
  *v = 0;
  for (int i = 0; i < 4; i++) {
    unsigned c = s[i], d;
    if (c >= '0' && c <= '9')
      d = c - '0';
    else if (c >= 'a' && c <= 'f')
      d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      d = c - 'A' + 10;
    else
      return -1;
    *v = *v << 4 | d;
  }
  return 0;
}

static size_t put_utf8(char *o, uint32_t cp) {
  if (cp < 0x80) {
    o[0] = (char)cp;
    return 1;
  }
  if (cp < 0x800) {
    o[0] = (char)(0xC0 | cp >> 6);
    o[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    o[0] = (char)(0xE0 | cp >> 12);
    o[1] = (char)(0x80 | (cp >> 6 & 0x3F));
    o[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  o[0] = (char)(0xF0 | cp >> 18);
  o[1] = (char)(0x80 | (cp >> 12 & 0x3F));
  o[2] = (char)(0x80 | (cp >> 6 & 0x3F));
  o[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

/* A decoded string is never longer than its token, so one allocation of the
 * token's size is enough. */
static int parse_string(parser_t *p, char **out, size_t *out_len) {
  size_t start = p->pos, i, end;
  char *o, *s;

  /* find the closing quote first (a backslash always escapes one byte) */
  for (end = start + 1; end < p->len && p->b[end] != '"'; end++)
    if (p->b[end] == '\\')
      end++;
  if (end >= p->len)
    return fail(p, start, "unterminated string");
  s = o = malloc(end - start + 1);
  if (!s)
    return fail(p, start, "out of memory");
  for (i = start + 1; i < end;) {
    unsigned c = p->b[i];
    if (c < 0x20) {
      free(s);
      return fail(p, i, "raw control character 0x%02X in string", c);
    }
    if (c >= 0x80) {
      uint32_t cp;
      size_t n = utf8_decode(p->b + i, end - i, &cp);
      if (!n) {
        free(s);
        return fail(p, i, "invalid UTF-8 in string (byte 0x%02X)", c);
      }
      memcpy(o, p->b + i, n);
      o += n;
      i += n;
      continue;
    }
    if (c != '\\') {
      *o++ = (char)c;
      i++;
      continue;
    }
    unsigned e = p->b[i + 1];
    const char *simple = strchr("\"\\/bfnrt", (int)e);
    if (e && simple) {
      static const char dec[] = "\"\\/\b\f\n\r\t";
      *o++ = dec[simple - "\"\\/bfnrt"];
      i += 2;
      continue;
    }
    uint32_t cp, lo;
    if (e != 'u') {
      free(s);
      return fail(p, i, "invalid escape '\\%c'",
                  e >= 0x20 && e < 0x7f ? e : '?');
    }
    if (i + 6 > end || hex4(p->b + i + 2, &cp)) {
      free(s);
      return fail(p, i, "\\u needs four hex digits");
    }
    if (cp >= 0xDC00 && cp <= 0xDFFF) {
      free(s);
      return fail(p, i, "lone low surrogate \\u%04X", (unsigned)cp);
    }
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      if (i + 12 > end || p->b[i + 6] != '\\' || p->b[i + 7] != 'u' ||
          hex4(p->b + i + 8, &lo) || lo < 0xDC00 || lo > 0xDFFF) {
        free(s);
        return fail(p, i, "lone high surrogate \\u%04X", (unsigned)cp);
      }
      cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
      i += 6;
    }
    o += put_utf8(o, cp);
    i += 6;
  }
  *o = '\0';
  *out = s;
  *out_len = (size_t)(o - s);
  p->pos = end + 1;
  return 0;
}

static int parse_number(parser_t *p, json_value_t *v) {
  size_t i = p->pos, start = i;
  const unsigned char *b = p->b;
  char tmp[64], *copy = tmp;
  const char *dp = localeconv()->decimal_point;
  size_t dpl = strlen(dp), k = 0;

  if (i < p->len && b[i] == '-')
    i++;
  if (i >= p->len || b[i] < '0' || b[i] > '9')
    return fail(p, start, "invalid number");
  if (b[i] == '0') {
    i++;
    if (i < p->len && b[i] >= '0' && b[i] <= '9')
      return fail(p, start, "leading zero in number");
  } else {
    while (i < p->len && b[i] >= '0' && b[i] <= '9')
      i++;
  }
  if (i < p->len && b[i] == '.') {
    if (++i >= p->len || b[i] < '0' || b[i] > '9')
      return fail(p, start, "digit expected after '.'");
    while (i < p->len && b[i] >= '0' && b[i] <= '9')
      i++;
  }
  if (i < p->len && (b[i] == 'e' || b[i] == 'E')) {
    if (++i < p->len && (b[i] == '+' || b[i] == '-'))
      i++;
    if (i >= p->len || b[i] < '0' || b[i] > '9')
      return fail(p, start, "digit expected in exponent");
    while (i < p->len && b[i] >= '0' && b[i] <= '9')
      i++;
  }
  v->type = JSON_NUMBER;
  v->text = (const char *)b + start;
  v->text_len = i - start;
  /* strtod wants the locale's decimal point, which may be several bytes */
  if (v->text_len + dpl >= sizeof tmp &&
      !(copy = malloc(v->text_len + dpl + 1)))
    return fail(p, start, "out of memory");
  for (size_t j = 0; j < v->text_len; j++) {
    if (v->text[j] == '.') {
      memcpy(copy + k, dp, dpl);
      k += dpl;
    } else {
      copy[k++] = v->text[j];
    }
  }
  copy[k] = '\0';
  v->num = strtod(copy, NULL);
  if (copy != tmp)
    free(copy);
  p->pos = i;
  return 0;
}

static int parse_value(parser_t *p, json_value_t *v, int depth);

/* Arrays and objects: elements separated by ',', no trailing comma. */
static int parse_container(parser_t *p, json_value_t *v, int depth) {
  int obj = p->b[p->pos] == '{';
  char close = obj ? '}' : ']', what[24];
  size_t cap = 0;

  v->type = obj ? JSON_OBJECT : JSON_ARRAY;
  if (depth >= JSON_MAX_DEPTH)
    return fail(p, p->pos, "nesting deeper than %d", JSON_MAX_DEPTH);
  p->pos++;
  skip_ws(p);
  if (p->pos < p->len && p->b[p->pos] == (unsigned char)close) {
    p->pos++;
    return 0;
  }
  for (;;) {
    if (v->len == cap) {
      size_t ncap = cap ? cap * 2 : 4;
      json_value_t *items = realloc(v->items, ncap * sizeof *items);
      if (items)
        v->items = items;
      char **keys = obj ? realloc(v->keys, ncap * sizeof *keys) : NULL;
      if (keys)
        v->keys = keys;
      size_t *kl = obj ? realloc(v->key_lens, ncap * sizeof *kl) : NULL;
      if (kl)
        v->key_lens = kl;
      if (!items || (obj && (!keys || !kl)))
        return fail(p, p->pos, "out of memory");
      cap = ncap;
    }
    json_value_t *item = &v->items[v->len];
    memset(item, 0, sizeof *item);
    skip_ws(p);
    if (obj) {
      size_t koff = p->pos;
      if (p->pos >= p->len || p->b[p->pos] != '"')
        return fail(p, p->pos, "object key (a string) expected, got %s",
                    what_at(p, p->pos, what, sizeof what));
      if (parse_string(p, &v->keys[v->len], &v->key_lens[v->len]))
        return -1;
      for (size_t k = 0;
           depth == 0 && (p->flags & JSON_UNIQUE_TOP) && k < v->len; k++)
        if (v->key_lens[k] == v->key_lens[v->len] &&
            !memcmp(v->keys[k], v->keys[v->len], v->key_lens[k])) {
          int n = (int)(v->key_lens[k] < 40 ? v->key_lens[k] : 40);
          free(v->keys[v->len]);
          return fail(p, koff, "duplicate key \"%.*s\"", n, v->keys[k]);
        }
      skip_ws(p);
      if (p->pos >= p->len || p->b[p->pos] != ':') {
        free(v->keys[v->len]);
        return fail(p, p->pos, "':' expected, got %s",
                    what_at(p, p->pos, what, sizeof what));
      }
      p->pos++;
    }
    int rc = parse_value(p, item, depth + 1);
    v->len++; /* owned from now on, even half-built */
    if (rc)
      return -1;
    skip_ws(p);
    if (p->pos < p->len && p->b[p->pos] == ',') {
      p->pos++;
      skip_ws(p);
      if (p->pos < p->len && p->b[p->pos] == (unsigned char)close)
        return fail(p, p->pos, "trailing comma before '%c'", close);
      continue;
    }
    if (p->pos < p->len && p->b[p->pos] == (unsigned char)close) {
      p->pos++;
      return 0;
    }
    return fail(p, p->pos, "',' or '%c' expected, got %s", close,
                what_at(p, p->pos, what, sizeof what));
  }
}

static int parse_value(parser_t *p, json_value_t *v, int depth) {
  static const struct {
    const char *word;
    json_type_t type;
  } lits[] = {{"null", JSON_NULL}, {"true", JSON_TRUE}, {"false", JSON_FALSE}};
  char what[24];

  skip_ws(p);
  v->off = p->pos;
  if (p->pos >= p->len)
    return fail(p, p->pos, "value expected, got end of input");
  unsigned c = p->b[p->pos];
  if (c == '{' || c == '[')
    return parse_container(p, v, depth);
  if (c == '"') {
    v->type = JSON_STRING;
    return parse_string(p, &v->str, &v->len);
  }
  if (c == '-' || (c >= '0' && c <= '9'))
    return parse_number(p, v);
  for (size_t i = 0; i < sizeof lits / sizeof lits[0]; i++) {
    size_t n = strlen(lits[i].word);
    if (p->len - p->pos >= n && !memcmp(p->b + p->pos, lits[i].word, n)) {
      v->type = lits[i].type;
      p->pos += n;
      return 0;
    }
  }
  return fail(p, p->pos, "value expected, got %s",
              what_at(p, p->pos, what, sizeof what));
}

int json_parse_value(const char *buf, size_t len, size_t *pos, unsigned flags,
                     json_value_t *out, json_error_t *err) {
  parser_t p = {(const unsigned char *)buf, len, *pos, flags, err};
  memset(out, 0, sizeof *out);
  if (parse_value(&p, out, 0)) {
    json_free(out);
    return -1;
  }
  *pos = p.pos;
  return 0;
}

int json_parse(const char *buf, size_t len, json_value_t *out,
               json_error_t *err) {
  size_t pos = 0;
  parser_t p = {(const unsigned char *)buf, len, 0, 0, err};
  char what[24];
  if (json_parse_value(buf, len, &pos, 0, out, err))
    return -1;
  p.pos = pos;
  skip_ws(&p);
  if (p.pos == len)
    return 0;
  json_free(out);
  return fail(&p, p.pos, "end of input expected after the value, got %s",
              what_at(&p, p.pos, what, sizeof what));
}

void json_free(json_value_t *v) {
  size_t i;
  if (v->items)
    for (i = 0; i < v->len; i++)
      json_free(&v->items[i]);
  if (v->keys)
    for (i = 0; i < v->len; i++)
      free(v->keys[i]);
  free(v->items);
  free(v->keys);
  free(v->key_lens);
  free(v->str);
  memset(v, 0, sizeof *v);
}

const json_value_t *json_get(const json_value_t *v, const char *key) {
  size_t n = strlen(key);
  if (v->type != JSON_OBJECT)
    return NULL;
  for (size_t i = 0; i < v->len; i++)
    if (v->key_lens[i] == n && !memcmp(v->keys[i], key, n))
      return &v->items[i];
  return NULL;
}

int json_parse_string(const char *buf, size_t len, size_t *pos, char **out,
                      size_t *out_len, json_error_t *err) {
  parser_t p = {(const unsigned char *)buf, len, *pos, 0, err};
  if (p.pos >= len || buf[p.pos] != '"')
    return fail(&p, p.pos, "string expected");
  if (parse_string(&p, out, out_len))
    return -1;
  *pos = p.pos;
  return 0;
}
