/* Strict profile.proto decoder for tests. Written from the field numbers of
 * pprof's proto/profile.proto and the protobuf wire format, sharing no code
 * with the encoder it checks. */
#include "pprof_check_int.h"
#include "files.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- messages ---------------------------------------------------------- */

static int value_type(ctx_t *c, span_t m, uint64_t *type, uint64_t *unit) {
  rd_t r = RD(m);
  pprof_fld_t d;
  int k;
  *type = *unit = 0;
  while ((k = pc_next(c, &r, "vv", &d)) > 0) {
    if (d.f == 1)
      *type = d.v;
    else if (d.f == 2)
      *unit = d.v;
  }
  return k < 0 || pc_str_idx(c, *type) || pc_str_idx(c, *unit) ? -1 : 0;
}

static int mapping(ctx_t *c, span_t m) {
  rd_t r = RD(m);
  pprof_fld_t d;
  int k;
  uint64_t *id = PUSH(c, maps);
  if (!id)
    return pc_fail(c, m.p, "out of memory");
  *id = 0;
  /* id, start, limit, offset, filename, build_id, has_* x4 */
  while ((k = pc_next(c, &r, "vvvvvvvvvv", &d)) > 0) {
    if (d.f == 1)
      *id = d.v;
    else if ((d.f == 5 || d.f == 6) && pc_str_idx(c, d.v))
      return -1;
  }
  return k;
}

static int location(ctx_t *c, span_t m) {
  rd_t r = RD(m), lr;
  pprof_fld_t d, e;
  int k, j;
  loc_t *l = PUSH(c, locs);
  if (!l)
    return pc_fail(c, m.p, "out of memory");
  *l = (loc_t){0, c->nlines, 0};
  uint64_t map = 0;
  while ((k = pc_next(c, &r, "vvvmv", &d)) > 0) {
    if (d.f == 1) {
      l->id = d.v;
    } else if (d.f == 2) {
      map = d.v;
    } else if (d.f == 4) { /* Line: function_id, line, column */
      uint64_t fid = 0, *p;
      lr = RD(d.s);
      while ((j = pc_next(c, &lr, "vvv", &e)) > 0)
        if (e.f == 1)
          fid = e.v;
      if (j < 0)
        return -1;
      if (!(p = PUSH(c, lines)))
        return pc_fail(c, m.p, "out of memory");
      *p = fid;
      l = &c->locs[c->nlocs - 1];
      l->nlines++;
    }
  }
  if (k < 0)
    return -1;
  for (size_t i = 0; map && i < c->nmaps; i++)
    if (c->maps[i] == map)
      map = 0;
  if (map)
    return pc_fail(c, m.p, "location %llu: no mapping %llu",
                   (unsigned long long)l->id, (unsigned long long)map);
  return 0;
}

static int function(ctx_t *c, span_t m) {
  rd_t r = RD(m);
  pprof_fld_t d;
  int k;
  fn_t *fn = PUSH(c, fns);
  if (!fn)
    return pc_fail(c, m.p, "out of memory");
  *fn = (fn_t){0, 0};
  /* id, name, system_name, filename, start_line */
  while ((k = pc_next(c, &r, "vvvvv", &d)) > 0) {
    if (d.f == 1)
      fn->id = d.v;
    else if (d.f == 2)
      fn->name = d.v;
    if (d.f >= 2 && d.f <= 4 && pc_str_idx(c, d.v))
      return -1;
  }
  return k;
}

static int each_idx(ctx_t *c, uint64_t v, void *arg) {
  (void)arg;
  return pc_str_idx(c, v);
}

/* Top level: everything but samples, which need the tables. */
static int profile(ctx_t *c, span_t m) {
  rd_t r = RD(m);
  pprof_fld_t d;
  int k;
  /* 1-14: sample_type, sample, mapping, location, function, string_table,
   * drop_frames, keep_frames, time, duration, period_type, period,
   * comment, default_sample_type */
  while ((k = pc_next(c, &r, "mmmmmmvvvvmvrv", &d)) > 0) {
    int rc = 0;
    if (d.f == 1) {
      uint64_t *t = PUSH(c, vt), *u = t ? PUSH(c, vt) : NULL;
      if (u) /* t may have moved */
        rc = value_type(c, d.s, &c->vt[c->nvt - 2], &c->vt[c->nvt - 1]);
      else
        rc = pc_fail(c, d.s.p, "out of memory");
    } else if (d.f == 2) {
      span_t *p = PUSH(c, samples);
      rc = p ? (*p = d.s, 0) : pc_fail(c, d.s.p, "out of memory");
    } else if (d.f == 3) {
      rc = mapping(c, d.s);
    } else if (d.f == 4) {
      rc = location(c, d.s);
    } else if (d.f == 5) {
      rc = function(c, d.s);
    } else if (d.f == 6) {
      span_t *p = PUSH(c, str);
      rc = !p ? pc_fail(c, d.s.p, "out of memory")
           : !pc_utf8_ok(d.s.p, d.s.n)
               ? pc_fail(c, d.s.p, "string %zu is not UTF-8", c->nstr - 1)
               : (*p = d.s, 0);
    } else if (d.f == 7 || d.f == 8 || d.f == 14) {
      rc = pc_str_idx(c, d.v);
    } else if (d.f == 9) {
      c->r->time_nanos = (long long)d.v;
    } else if (d.f == 10) {
      c->r->duration_nanos = (long long)d.v;
    } else if (d.f == 11) {
      c->have_period_type = 1;
      rc = value_type(c, d.s, &c->pt_type, &c->pt_unit);
    } else if (d.f == 12) {
      c->r->period = (long long)d.v;
    } else if (d.f == 13) {
      rc = pc_repeated(c, d.wt, d.v, d.s, each_idx, NULL);
    }
    if (rc)
      return -1;
  }
  return k;
}

/* --- tables ------------------------------------------------------------ */

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

/* Ids non-zero and unique: ids[i * stride] for i < n, sorted in place. */
static int check_ids(ctx_t *c, const char *kind, uint64_t *ids, size_t n) {
  qsort(ids, n, sizeof *ids, cmp_u64);
  for (size_t i = 0; i < n; i++) {
    if (ids[i] == 0)
      return pc_fail(c, NULL, "a %s has id 0", kind);
    if (i && ids[i] == ids[i - 1])
      return pc_fail(c, NULL, "two %ss have id %llu", kind,
                     (unsigned long long)ids[i]);
  }
  return 0;
}

static int cmp_loc(const void *a, const void *b) {
  return cmp_u64(&((const loc_t *)a)->id, &((const loc_t *)b)->id);
}
static int cmp_fn(const void *a, const void *b) {
  return cmp_u64(&((const fn_t *)a)->id, &((const fn_t *)b)->id);
}

static const loc_t *find_loc(const ctx_t *c, uint64_t id) {
  loc_t key = {id, 0, 0};
  return !c->nlocs ? NULL
                   : bsearch(&key, c->locs, c->nlocs, sizeof key, cmp_loc);
}
static const fn_t *find_fn(const ctx_t *c, uint64_t id) {
  fn_t key = {id, 0};
  return !c->nfns ? NULL : bsearch(&key, c->fns, c->nfns, sizeof key, cmp_fn);
}

static int tables(ctx_t *c) {
  if (c->nstr == 0 || c->str[0].n != 0)
    return pc_fail(c, NULL, "string_table[0] is not \"\"");
  for (size_t i = 0; i < c->nidx; i++)
    if (c->idx[i] >= c->nstr)
      return pc_fail(c, NULL, "string index %llu >= %zu strings",
                     (unsigned long long)c->idx[i], c->nstr);
  if (c->nvt == 0)
    return pc_fail(c, NULL, "no sample_type");
  if (!c->have_period_type)
    return pc_fail(c, NULL, "no period_type");
  uint64_t *ids = malloc((c->nmaps + c->nlocs + c->nfns + 1) * sizeof *ids);
  if (!ids)
    return pc_fail(c, NULL, "out of memory");
  for (size_t i = 0; i < c->nmaps; i++)
    ids[i] = c->maps[i];
  int rc = check_ids(c, "mapping", ids, c->nmaps);
  for (size_t i = 0; !rc && i < c->nlocs; i++)
    ids[i] = c->locs[i].id;
  rc = rc ? rc : check_ids(c, "location", ids, c->nlocs);
  for (size_t i = 0; !rc && i < c->nfns; i++)
    ids[i] = c->fns[i].id;
  rc = rc ? rc : check_ids(c, "function", ids, c->nfns);
  free(ids);
  if (rc)
    return -1;
  if (c->nlocs) /* qsort and bsearch want a non-NULL base */
    qsort(c->locs, c->nlocs, sizeof *c->locs, cmp_loc);
  if (c->nfns)
    qsort(c->fns, c->nfns, sizeof *c->fns, cmp_fn);
  for (size_t i = 0; i < c->nlines; i++)
    if (!find_fn(c, c->lines[i]))
      return pc_fail(c, NULL, "a line refers to function %llu, which is absent",
                     (unsigned long long)c->lines[i]);
  return 0;
}

/* --- samples ----------------------------------------------------------- */

static int push_id(ctx_t *c, uint64_t v, void *arg) {
  uint64_t *p = arg ? PUSH(c, svals) : PUSH(c, sids);
  if (!p)
    return pc_fail(c, NULL, "out of memory");
  *p = v;
  return 0;
}

static int is_str(const ctx_t *c, uint64_t i, const char *s) {
  return c->str[i].n == strlen(s) && !memcmp(c->str[i].p, s, c->str[i].n);
}

/* Appends s[0..n) to the stack text being built at *o. */
static void cat(char *buf, size_t *o, bp s, size_t n) {
  if (*o)
    buf[(*o)++] = ';';
  memcpy(buf + *o, s, n);
  *o += n;
}

static int sample(ctx_t *c, span_t m, unsigned flags) {
  static const char nothread[] = "[no thread]";
  rd_t r = RD(m), lr;
  pprof_fld_t d, e;
  int k, j;
  span_t thread = {(bp)nothread, sizeof nothread - 1};
  c->nsids = c->nsvals = 0;
  while ((k = pc_next(c, &r, "rrm", &d)) > 0) {
    if (d.f == 1 || d.f == 2) {
      if (pc_repeated(c, d.wt, d.v, d.s, push_id, d.f == 2 ? c : NULL))
        return -1;
    } else if (d.f == 3) { /* Label: key, str, num, num_unit */
      uint64_t lab[5] = {0};
      lr = RD(d.s);
      while ((j = pc_next(c, &lr, "vvvv", &e)) > 0)
        if (e.f <= 4)
          lab[e.f] = e.v;
      if (j < 0)
        return -1;
      for (int i = 1; i <= 4; i++)
        if (i != 3 && lab[i] >= c->nstr)
          return pc_fail(c, d.s.p, "label string index %llu out of range",
                         (unsigned long long)lab[i]);
      if (is_str(c, lab[1], "thread") && lab[2])
        thread = c->str[lab[2]];
    }
  }
  if (k < 0)
    return -1;
  if (c->nsvals != c->nvt / 2)
    return pc_fail(c, m.p, "sample has %zu values for %zu sample types",
                   c->nsvals, c->nvt / 2);
  size_t len = flags & PPROF_CHECK_THREAD_ROOT ? thread.n + 1 : 1;
  for (size_t i = 0; i < c->nsids; i++) {
    const loc_t *l = find_loc(c, c->sids[i]);
    if (!l)
      return pc_fail(c, m.p, "sample refers to location %llu, which is absent",
                     (unsigned long long)c->sids[i]);
    for (size_t x = 0; x < l->nlines; x++)
      len += c->str[find_fn(c, c->lines[l->line0 + x])->name].n + 1;
  }
  pprof_stack_t *st = PUSH(c, st);
  char *text = st ? malloc(len) : NULL;
  if (!text) {
    c->nst -= st != NULL;
    return pc_fail(c, m.p, "out of memory");
  }
  size_t o = 0;
  if (flags & PPROF_CHECK_THREAD_ROOT)
    cat(text, &o, thread.p, thread.n);
  for (size_t i = c->nsids; i-- > 0;) { /* leaf first: walk back */
    const loc_t *l = find_loc(c, c->sids[i]);
    for (size_t x = l->nlines; x-- > 0;) { /* inlined: callee first */
      span_t nm = c->str[find_fn(c, c->lines[l->line0 + x])->name];
      cat(text, &o, nm.p, nm.n);
    }
  }
  text[o] = '\0';
  *st = (pprof_stack_t){text, 0, 0};
  for (size_t i = 0; i < c->nsvals; i++) {
    if (is_str(c, c->vt[2 * i], "calls"))
      st->calls += (long long)c->svals[i];
    else if (is_str(c, c->vt[2 * i], "wall"))
      st->wall += (long long)c->svals[i];
  }
  return 0;
}

static int cmp_stack(const void *a, const void *b) {
  return strcmp(((const pprof_stack_t *)a)->stack,
                ((const pprof_stack_t *)b)->stack);
}

/* Sorts and merges c->st into the result. */
static void merge(ctx_t *c) {
  size_t n = 0;
  if (c->nst)
    qsort(c->st, c->nst, sizeof *c->st, cmp_stack);
  for (size_t i = 0; i < c->nst; i++) {
    if (n && !strcmp(c->st[n - 1].stack, c->st[i].stack)) {
      c->st[n - 1].calls += c->st[i].calls;
      c->st[n - 1].wall += c->st[i].wall;
      free(c->st[i].stack);
    } else {
      c->st[n++] = c->st[i];
    }
  }
  c->r->stacks = c->st;
  c->r->nstacks = n;
  c->st = NULL;
  c->nst = 0;
}

/* --- entry points ------------------------------------------------------ */

int pprof_check(const void *buf, size_t len, unsigned flags,
                pprof_result_t *r) {
  ctx_t c = {0};
  memset(r, 0, sizeof *r);
  c.base = buf;
  c.r = r;
  int rc = profile(&c, (span_t){buf, len});
  rc = rc ? rc : tables(&c);
  for (size_t i = 0; !rc && i < c.nsamples; i++)
    rc = sample(&c, c.samples[i], flags);
  if (!rc) {
    r->samples = c.nsamples;
    r->locations = c.nlocs;
    r->functions = c.nfns;
    r->mappings = c.nmaps;
    r->strings = c.nstr;
    r->sample_types = c.nvt / 2;
    snprintf(r->period_type, sizeof r->period_type, "%.*s/%.*s",
             (int)c.str[c.pt_type].n, (const char *)c.str[c.pt_type].p,
             (int)c.str[c.pt_unit].n, (const char *)c.str[c.pt_unit].p);
    merge(&c);
  }
  for (size_t i = 0; i < c.nst; i++)
    free(c.st[i].stack);
  free(c.st);
  free(c.str);
  free(c.idx);
  free(c.samples);
  free(c.maps);
  free(c.locs);
  free(c.lines);
  free(c.fns);
  free(c.vt);
  free(c.sids);
  free(c.svals);
  return rc ? -1 : 0;
}

int pprof_check_file(const char *path, unsigned flags, pprof_result_t *r) {
  char *buf;
  size_t len;
  int errnum;
  memset(r, 0, sizeof *r);
  const char *what = file_read(path, &buf, &len, &errnum);
  if (what) {
    snprintf(r->error, sizeof r->error, "%s %s: %s", what, path,
             strerror(errnum));
    return -1;
  }
  int rc = pprof_check(buf, len, flags, r);
  free(buf);
  return rc;
}

const pprof_stack_t *pprof_find(const pprof_result_t *r, const char *stack) {
  pprof_stack_t key = {(char *)stack, 0, 0};
  return r->nstacks
             ? bsearch(&key, r->stacks, r->nstacks, sizeof key, cmp_stack)
             : NULL;
}

void pprof_result_free(pprof_result_t *r) {
  for (size_t i = 0; i < r->nstacks; i++)
    free(r->stacks[i].stack);
  free(r->stacks);
  r->stacks = NULL;
  r->nstacks = 0;
}
