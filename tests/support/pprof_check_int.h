/* Private to cflame's tests: the decoder state and protobuf wire-format
 * readers shared by pprof_check.c and pprof_wire.c. */
#ifndef CFLAME_TESTS_PPROF_CHECK_INT_H
#define CFLAME_TESTS_PPROF_CHECK_INT_H

#include "pprof_check.h"

#include <stddef.h>
#include <stdint.h>

typedef const unsigned char *bp;
typedef struct {
  bp p, end;
} rd_t;
typedef struct {
  bp p;
  size_t n;
} span_t;

typedef struct {
  uint64_t id;
  size_t line0, nlines;
} loc_t;
typedef struct {
  uint64_t id, name;
} fn_t;

typedef struct {
  bp base;
  pprof_result_t *r;
  span_t *str;
  size_t nstr, cstr;
  uint64_t *idx; /* every string index seen, checked once all are known */
  size_t nidx, cidx;
  span_t *samples;
  size_t nsamples, csamples;
  uint64_t *maps;
  size_t nmaps, cmaps;
  loc_t *locs;
  size_t nlocs, clocs;
  uint64_t *lines; /* per location line: function id */
  size_t nlines, clines;
  fn_t *fns;
  size_t nfns, cfns;
  uint64_t *vt; /* sample types: type, unit pairs */
  size_t nvt, cvt;
  uint64_t *sids, *svals; /* the sample being read */
  size_t nsids, csids, nsvals, csvals;
  int have_period_type;
  uint64_t pt_type, pt_unit;
  pprof_stack_t *st;
  size_t nst, cst;
} ctx_t;

typedef struct {
  unsigned f, wt;
  uint64_t v;
  span_t s;
} pprof_fld_t;

/* Sets c->r->error to "offset N: " + the message; returns -1. */
int pc_fail(ctx_t *c, bp at, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Appends one element to a growable array: a pointer to it, NULL if out of
 * memory. PUSH(c, f) for ctx_t array f with its nf/cf counters. */
void *pc_push(void *arrp, size_t *n, size_t *cap, size_t elem);
#define PUSH(c, f) pc_push(&(c)->f, &(c)->n##f, &(c)->c##f, sizeof *(c)->f)

/* A reader over the bytes of a message. */
#define RD(m) ((rd_t){(m).p, (m).p + (m).n})

/* The next field of a message into *d: 1, 0 at its end, -1 if invalid.
 * spec: one char per field number from 1, 'v' varint, 'r' repeated varint
 * (packed or not), 'm' message or string, 'x' or beyond: unknown (any wire
 * type but groups). */
int pc_next(ctx_t *c, rd_t *r, const char *spec, pprof_fld_t *d);

/* Calls each(c, v, arg) for a repeated varint field: one value or a packed
 * run. */
int pc_repeated(ctx_t *c, unsigned wt, uint64_t v, span_t s,
                int (*each)(ctx_t *, uint64_t, void *), void *arg);

/* Records a string index, checked once the whole table is known. */
int pc_str_idx(ctx_t *c, uint64_t v);

/* Is s[0..n) strict UTF-8? */
int pc_utf8_ok(bp s, size_t n);

#endif /* CFLAME_TESTS_PPROF_CHECK_INT_H */
