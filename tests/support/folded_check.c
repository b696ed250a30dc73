/* Strict checker for the folded-stack format described in FORMAT.md. */
#include "folded_check.h"
#include "files.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_COUNT  (1ULL << 53)
#define MAX_FRAMES 2048
#define EXCERPT    20 /* bytes of context shown on each side of a problem */
#define MSG_CAP    sizeof(((folded_check_error_t *)0)->msg)

typedef unsigned char byte;

/* The line being checked, so every failure can quote it. */
typedef struct {
  folded_check_error_t *err;
  size_t line;
  const byte *lo, *hi; /* line content, without its '\n' */
} where_t;

static void put(char *msg, size_t *n, const char *s) {
  while (*s && *n + 1 < MSG_CAP)
    msg[(*n)++] = *s++;
  msg[*n] = '\0';
}

/* Excerpt around `at`, escaped so the message is printable ASCII whatever
 * the input holds (NUL, ESC, invalid UTF-8 ...). */
static void put_excerpt(char *msg, size_t *n, const where_t *w,
                        const byte *at) {
  const byte *from = (size_t)(at - w->lo) > EXCERPT ? at - EXCERPT : w->lo;
  const byte *to = (size_t)(w->hi - at) > EXCERPT ? at + EXCERPT : w->hi;
  char esc[8];

  put(msg, n, " near \"");
  if (from > w->lo)
    put(msg, n, "...");
  for (const byte *p = from; p < to; p++) {
    if (*p == '"' || *p == '\\')
      snprintf(esc, sizeof esc, "\\%c", *p);
    else if (*p >= 0x20 && *p < 0x7f)
      snprintf(esc, sizeof esc, "%c", *p);
    else
      snprintf(esc, sizeof esc, "\\x%02X", *p);
    put(msg, n, esc);
  }
  if (to < w->hi)
    put(msg, n, "...");
  put(msg, n, "\"");
}

static int fail(const where_t *w, int rule, const byte *at, const char *fmt,
                ...) {
  folded_check_error_t *err = w->err;
  va_list ap;
  size_t n;
  int k;

  if (!err)
    return -1;
  err->rule = rule;
  err->line = w->line;
  va_start(ap, fmt);
  k = vsnprintf(err->msg, sizeof err->msg, fmt, ap);
  va_end(ap);
  n = k < 0 ? 0 : (size_t)k < sizeof err->msg ? (size_t)k : sizeof err->msg - 1;
  err->msg[n] = '\0';
  put_excerpt(err->msg, &n, w, at);
  return -1;
}

/* Length of the strict UTF-8 sequence at p (n > 0 bytes available), 0 if it
 * is invalid: overlong, surrogate, above U+10FFFF or truncated. */
static size_t utf8_seq(const byte *p, size_t n, uint32_t *cp) {
  static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
  size_t len;
  uint32_t v;

  if (p[0] < 0x80) {
    *cp = p[0];
    return 1;
  }
  if (p[0] >= 0xC2 && p[0] <= 0xDF) {
    len = 2;
    v = p[0] & 0x1F;
  } else if ((p[0] & 0xF0) == 0xE0) {
    len = 3;
    v = p[0] & 0x0F;
  } else if (p[0] >= 0xF0 && p[0] <= 0xF4) {
    len = 4;
    v = p[0] & 0x07;
  } else {
    return 0;
  }
  if (n < len)
    return 0;
  for (size_t i = 1; i < len; i++) {
    if ((p[i] & 0xC0) != 0x80)
      return 0;
    v = v << 6 | (p[i] & 0x3F);
  }
  if (v < min[len] || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
    return 0;
  *cp = v;
  return len;
}

/* Unicode White_Space; what inferno and flamegraph.pl split and trim on. */
static int is_space(uint32_t c) {
  return c == ' ' || (c >= 0x09 && c <= 0x0D) || c == 0x85 || c == 0xA0 ||
         c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 ||
         c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

static int is_forbidden(uint32_t c) {
  return c < 0x20 || c == 0x7F || c == 0x2028 || c == 0x2029 || c == 0xFFFE ||
         c == 0xFFFF;
}

/* Code point ending just before `end`; the text is already valid UTF-8. */
static uint32_t last_cp(const byte *lo, const byte *end, const byte **start) {
  const byte *p = end - 1;
  uint32_t cp;

  while (p > lo && (*p & 0xC0) == 0x80)
    p--;
  utf8_seq(p, (size_t)(end - p), &cp);
  *start = p;
  return cp;
}

static int check_frame(const where_t *w, const byte *f, const byte *e,
                       size_t index) {
  const byte *p, *q;
  uint32_t cp;
  size_t n;

  for (p = f; p < e; p += n) {
    n = utf8_seq(p, (size_t)(e - p), &cp);
    if (is_forbidden(cp))
      return fail(w, 8, p, "forbidden character U+%04lX in frame %zu",
                  (unsigned long)cp, index + 1);
  }
  utf8_seq(f, (size_t)(e - f), &cp);
  if (is_space(cp))
    return fail(w, 9, f, "frame %zu starts with whitespace U+%04lX", index + 1,
                (unsigned long)cp);
  if (is_space(cp = last_cp(f, e, &p)))
    return fail(w, 9, p, "frame %zu ends with whitespace U+%04lX", index + 1,
                (unsigned long)cp);
  /* inferno and flamegraph.pl take "<space><digits>" at the end of a line as
   * a second count, and --reverse puts any frame there */
  for (q = e; q > f && q[-1] >= '0' && q[-1] <= '9'; q--)
    ;
  if (q < e && q > f && is_space(last_cp(f, q, &p)))
    return fail(w, 11, p, "frame %zu ends in whitespace + digits", index + 1);
  return 0;
}

static int check_stack(const where_t *w, const byte *lo, const byte *hi) {
  const byte *f = lo, *e;
  size_t i;
  int rc;

  if (lo == hi)
    return fail(w, 10, lo, "empty stack");
  for (i = 0;; i++) {
    e = memchr(f, ';', (size_t)(hi - f));
    if (!e)
      e = hi;
    if (i == MAX_FRAMES)
      return fail(w, 13, f, "more than %d frames", MAX_FRAMES);
    if (f == e)
      return fail(w, 10, f,
                  i == 0    ? "empty frame: stack starts with ';'"
                  : e == hi ? "empty frame: stack ends with ';'"
                            : "empty frame: ';;'");
    if ((rc = check_frame(w, f, e, i)))
      return rc;
    if (e == hi)
      return 0;
    f = e + 1;
  }
}

static int check_count(const where_t *w, const byte *c, const byte *hi,
                       unsigned long long *total) {
  unsigned long long v = 0;

  for (const byte *p = c; p < hi; p++) {
    if (*p == '\t')
      return fail(w, 2, p, "tab in the count field");
    if (*p < '0' || *p > '9')
      return fail(w, 4, c, "count is not [1-9][0-9]*");
  }
  if (*c == '0')
    return fail(w, 4, c, hi - c == 1 ? "count is 0" : "count has leading 0");
  for (const byte *p = c; p < hi; p++) {
    v = v * 10 + (unsigned)(*p - '0');
    if (v > MAX_COUNT)
      return fail(w, 5, c, "count exceeds 2^53");
  }
  if (v > MAX_COUNT - *total)
    return fail(w, 5, c, "grand total exceeds 2^53");
  *total += v;
  return 0;
}

static int check_line(const where_t *w, int first, unsigned flags,
                      const byte **prev, size_t *prev_len,
                      unsigned long long *total) {
  const byte *lo = w->lo, *hi = w->hi, *p, *sep;
  uint32_t cp;
  size_t n;
  int rc;

  if (first && hi - lo >= 3 && !memcmp(lo, "\xEF\xBB\xBF", 3))
    return fail(w, 1, lo, "byte order mark");
  for (p = lo; p < hi; p += n)
    if (!(n = utf8_seq(p, (size_t)(hi - p), &cp)))
      return fail(w, 1, p, "invalid UTF-8");
  for (p = lo; p < hi && (*p == ' ' || *p == '\t'); p++)
    ;
  if (p == hi)
    return fail(w, 3, lo, lo == hi ? "blank line" : "whitespace-only line");
  if ((p = memchr(lo, '\r', (size_t)(hi - lo))))
    return fail(w, 2, p, "CR (lines must end in LF only)");
  if (hi - lo >= 2 && lo[0] == '#' && lo[1] == ' ')
    return fail(w, 12, lo, "line starts with \"# \" (inferno skips it)");

  for (sep = hi; sep > lo && sep[-1] != ' '; sep--)
    ;
  if (sep == lo)
    return fail(w, 2, hi, "no space before the count");
  sep--;
  if (sep + 1 == hi)
    return fail(w, 2, sep, "trailing space or missing count");
  if (sep > lo && (sep[-1] == ' ' || sep[-1] == '\t'))
    return fail(w, 2, sep - 1, "more than one blank before the count");
  if ((rc = check_count(w, sep + 1, hi, total)))
    return rc;
  if ((rc = check_stack(w, lo, sep)))
    return rc;

  n = (size_t)(sep - lo);
  if ((flags & FOLDED_CHECK_SORTED) && *prev) {
    int c = memcmp(*prev, lo, *prev_len < n ? *prev_len : n);
    if (c > 0 || (c == 0 && *prev_len > n))
      return fail(w, 6, lo, "stack sorts before the previous line's");
    if (c == 0 && *prev_len == n)
      return fail(w, 6, lo, "duplicate stack (merge it)");
  }
  *prev = lo;
  *prev_len = n;
  return 0;
}

int folded_check(const char *buf, size_t len, unsigned flags,
                 folded_check_error_t *err, size_t *lines_out,
                 unsigned long long *total_out) {
  static const char empty[1];
  if (!buf)
    buf = empty; /* a writer that never wrote leaves a NULL buffer */
  const byte *p = (const byte *)buf, *end = p + len, *nl, *prev = NULL;
  size_t good = 0, prev_len = 0;
  unsigned long long total = 0, line_total;
  where_t w = {err, 0, NULL, NULL};
  int rc = 0;

  if (err) {
    err->rule = 0;
    err->line = 0;
    err->msg[0] = '\0';
  }
  for (; p < end; p = nl + 1) {
    nl = memchr(p, '\n', (size_t)(end - p));
    w.line = good + 1;
    w.lo = p;
    w.hi = nl ? nl : end;
    line_total = total;
    if ((rc = check_line(&w, p == (const byte *)buf, flags, &prev, &prev_len,
                         &line_total)))
      break;
    if (!nl) {
      rc = fail(&w, 2, w.hi, "missing final newline");
      break;
    }
    total = line_total;
    good++;
  }
  if (lines_out)
    *lines_out = good;
  if (total_out)
    *total_out = total;
  return rc;
}

static int io_fail(folded_check_error_t *err, const char *what, int errnum) {
  if (err) {
    err->rule = 0;
    err->line = 0;
    snprintf(err->msg, sizeof err->msg, "%s: %s", what,
             errnum ? strerror(errnum) : "I/O error");
  }
  return -1;
}

int folded_check_file(const char *path, unsigned flags,
                      folded_check_error_t *err, size_t *lines_out,
                      unsigned long long *total_out) {
  char *buf;
  size_t len;
  int errnum;

  if (lines_out)
    *lines_out = 0;
  if (total_out)
    *total_out = 0;
  const char *what = file_read(path, &buf, &len, &errnum);
  if (what)
    return io_fail(err, what, errnum);
  int rc = folded_check(buf, len, flags, err, lines_out, total_out);
  free(buf);
  return rc;
}
