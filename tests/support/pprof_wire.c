/* The protobuf wire format, read strictly: varints of at most 10 bytes,
 * lengths in bounds, known wire types only. */
#include "pprof_check_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int pc_fail(ctx_t *c, bp at, const char *fmt, ...) {
  va_list ap;
  int k = snprintf(c->r->error, sizeof c->r->error,
                   "offset %td: ", at ? at - c->base : 0);
  va_start(ap, fmt);
  vsnprintf(c->r->error + k, sizeof c->r->error - (size_t)k, fmt, ap);
  va_end(ap);
  return -1;
}

/* Appends one element to a growable array: a pointer to it, NULL if out of
 * memory. */
void *pc_push(void *arrp, size_t *n, size_t *cap, size_t elem) {
  void **arr = arrp;
  if (*n == *cap) {
    size_t c = *cap ? *cap * 2 : 16;
    void *q = realloc(*arr, c * elem);
    if (!q)
      return NULL;
    *arr = q;
    *cap = c;
  }
  return (char *)*arr + (*n)++ * elem;
}

/* --- wire format ------------------------------------------------------- */

static int pc_varint(ctx_t *c, rd_t *r, uint64_t *v) {
  uint64_t x = 0;
  bp at = r->p;
  for (int i = 0; i < 10; i++) {
    if (r->p == r->end)
      return pc_fail(c, at, "truncated varint");
    unsigned b = *r->p++;
    if (i == 9 && b > 1) /* a continuation bit, or bits past 2^64 */
      return pc_fail(c, at, "varint longer than 10 bytes or above 2^64-1");
    x |= (uint64_t)(b & 0x7f) << (7 * i);
    if (!(b & 0x80)) {
      *v = x;
      return 0;
    }
  }
  return -1; /* not reached: the 10th byte ends it or fails */
}

/* Reads a key; *f the field number, *wt the wire type (0, 1, 2 or 5). */
static int pc_key(ctx_t *c, rd_t *r, unsigned *f, unsigned *wt) {
  uint64_t k = 0;
  bp at = r->p;
  if (pc_varint(c, r, &k))
    return -1;
  *wt = (unsigned)(k & 7);
  if (k >> 3 == 0 || k >> 3 > 0x1fffffff)
    return pc_fail(c, at, "field number %llu out of range",
                   (unsigned long long)(k >> 3));
  if (*wt != 0 && *wt != 1 && *wt != 2 && *wt != 5)
    return pc_fail(c, at, "wire type %u (groups or invalid) not allowed", *wt);
  *f = (unsigned)(k >> 3);
  return 0;
}

/* The value of a field of wire type wt: *v for varint/fixed, *s for LEN. */
static int pc_value(ctx_t *c, rd_t *r, unsigned wt, uint64_t *v, span_t *s) {
  bp at = r->p;
  size_t room = (size_t)(r->end - r->p);
  if (wt == 0)
    return pc_varint(c, r, v);
  if (wt == 1 || wt == 5) {
    size_t n = wt == 1 ? 8 : 4;
    if (room < n)
      return pc_fail(c, at, "truncated fixed%zu", n * 8);
    r->p += n;
    *v = 0;
    return 0;
  }
  if (pc_varint(c, r, v))
    return -1;
  if (*v > (uint64_t)(r->end - r->p))
    return pc_fail(c, at, "length %llu runs past the end of its message",
                   (unsigned long long)*v);
  s->p = r->p;
  s->n = (size_t)*v;
  r->p += s->n;
  return 0;
}

/* Wire type required by known field f of a message whose scalars are
 * listed in `scalar` (one char per field number from 1: 'v' varint,
 * 'r' repeated varint, packed or not, 'm' message/string); 'x' unknown. */
static int pc_want(ctx_t *c, bp at, const char *spec, unsigned f, unsigned wt) {
  char k = f <= strlen(spec) ? spec[f - 1] : 'x';
  if (k == 'x' || (k == 'v' && wt == 0) || (k == 'm' && wt == 2) ||
      (k == 'r' && (wt == 0 || wt == 2)))
    return 0;
  return pc_fail(c, at, "field %u has wire type %u", f, wt);
}

/* Calls each(c, v) for a repeated varint field: one value or a packed run. */
int pc_repeated(ctx_t *c, unsigned wt, uint64_t v, span_t s,
                int (*each)(ctx_t *, uint64_t, void *), void *arg) {
  if (wt == 0)
    return each(c, v, arg);
  rd_t r = {s.p, s.p + s.n};
  while (r.p < r.end)
    if (pc_varint(c, &r, &v) || each(c, v, arg))
      return -1;
  return 0;
}

/* The next field of a message into *d: 1, 0 at its end, -1 if invalid.
 * spec as in pc_want(). */
int pc_next(ctx_t *c, rd_t *r, const char *spec, pprof_fld_t *d) {
  if (r->p == r->end)
    return 0;
  bp at = r->p;
  d->v = 0;
  d->s = (span_t){NULL, 0};
  if (pc_key(c, r, &d->f, &d->wt) || pc_want(c, at, spec, d->f, d->wt) ||
      pc_value(c, r, d->wt, &d->v, &d->s))
    return -1;
  return 1;
}

int pc_str_idx(ctx_t *c, uint64_t v) {
  uint64_t *p = PUSH(c, idx);
  if (!p)
    return pc_fail(c, NULL, "out of memory");
  *p = v;
  return 0;
}

int pc_utf8_ok(bp s, size_t n) {
  for (size_t i = 0; i < n;) {
    unsigned b = s[i];
    size_t k = b < 0x80                 ? 1
               : b >= 0xC2 && b <= 0xDF ? 2
               : b >= 0xE0 && b <= 0xEF ? 3
               : b >= 0xF0 && b <= 0xF4 ? 4
                                        : 0;
    if (!k || k > n - i)
      return 0;
    for (size_t j = 1; j < k; j++)
      if ((s[i + j] & 0xC0) != 0x80)
        return 0;
    if ((b == 0xE0 && s[i + 1] < 0xA0) || (b == 0xED && s[i + 1] > 0x9F) ||
        (b == 0xF0 && s[i + 1] < 0x90) || (b == 0xF4 && s[i + 1] > 0x8F))
      return 0;
    i += k;
  }
  return 1;
}
