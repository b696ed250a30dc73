/* profile.proto by hand: samples streamed, everything interned written at
 * finish. Field numbers are those of github.com/google/pprof's
 * proto/profile.proto. */
#include "pprof_enc.h"
#include "pprof_intern.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define OUT_CAP ((size_t)64 * 1024)

/* Profile fields, and their wire types: 0 varint, 2 length-delimited. */
enum {
  P_SAMPLE_TYPE = 1,
  P_SAMPLE = 2,
  P_MAPPING = 3,
  P_LOCATION = 4,
  P_FUNCTION = 5,
  P_STRING = 6,
  P_TIME = 9,
  P_DURATION = 10,
  P_PERIOD_TYPE = 11,
  P_PERIOD = 12,
  P_DEFAULT_TYPE = 14
};
enum { WT_VARINT = 0, WT_LEN = 2 };

/* Strings interned at open, in string-table order after "" (index 0). */
enum { S_EMPTY, S_CALLS, S_COUNT, S_WALL, S_NS, S_THREAD, S_FIXED };
static const char *const fixed_str[S_FIXED] = {"",     "calls",       "count",
                                               "wall", "nanoseconds", "thread"};

struct cflame__pprof_s {
  cflame_write_fn fn;
  void *ctx;
  unsigned char *out;
  size_t out_len;
  int err, finished;
  cflame__pprof_tab_t t;
  cflame__pprof_stats_t st;
};

/* --- output ------------------------------------------------------------ */

static void drain(cflame__pprof_t *p) {
  size_t done = 0;
  int zeros = 0;
  while (!p->err && done < p->out_len) {
    long n = p->fn(p->ctx, p->out + done, p->out_len - done);
    if (n > 0) {
      done += (size_t)n;
      zeros = 0;
    } else if (n == -EINTR || (n == 0 && ++zeros < 3)) {
      continue;
    } else {
      p->err = n < 0 ? (int)n : -EIO;
    }
  }
  p->st.bytes += done;
  p->out_len = 0;
}

static void put(cflame__pprof_t *p, const void *src, size_t n) {
  const unsigned char *s = src;
  while (n > 0 && !p->err) {
    if (p->out_len == OUT_CAP)
      drain(p);
    size_t k = OUT_CAP - p->out_len < n ? OUT_CAP - p->out_len : n;
    memcpy(p->out + p->out_len, s, k);
    p->out_len += k;
    s += k;
    n -= k;
  }
}

static size_t vlen(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    n++;
  }
  return n;
}

static void put_varint(cflame__pprof_t *p, uint64_t v) {
  unsigned char b[10];
  size_t n = 0;
  while (v >= 0x80) {
    b[n++] = (unsigned char)(v | 0x80);
    v >>= 7;
  }
  b[n++] = (unsigned char)v;
  put(p, b, n);
}

/* Size of field `f` holding varint v / a length-delimited body of n bytes. */
static size_t fv_len(unsigned f, uint64_t v) {
  return vlen((uint64_t)f << 3) + vlen(v);
}
static size_t fl_len(unsigned f, size_t n) {
  return vlen((uint64_t)f << 3) + vlen(n) + n;
}

static void put_fv(cflame__pprof_t *p, unsigned f, uint64_t v) {
  put_varint(p, (uint64_t)f << 3 | WT_VARINT);
  put_varint(p, v);
}
static void put_fl(cflame__pprof_t *p, unsigned f, size_t n) {
  put_varint(p, (uint64_t)f << 3 | WT_LEN);
  put_varint(p, n);
}

/* --- setup and interning ----------------------------------------------- */

cflame__pprof_t *cflame__pprof_open(cflame_write_fn fn, void *ctx) {
  if (!fn)
    return NULL;
  cflame__pprof_t *p = calloc(1, sizeof *p);
  if (!p)
    return NULL;
  p->fn = fn;
  p->ctx = ctx;
  p->out = malloc(OUT_CAP);
  int ok = p->out != NULL;
  for (int i = 0; ok && i < S_FIXED; i++)
    ok = cflame__pprof_intern_string(&p->t, fixed_str[i],
                                     strlen(fixed_str[i])) == i;
  if (!ok) {
    cflame__pprof_close(p);
    return NULL;
  }
  return p;
}

uint64_t cflame__pprof_function(cflame__pprof_t *p, const char *name, size_t n,
                                const char *file, int64_t start_line) {
  if (!p || (!name && n))
    return 0;
  int64_t ni = cflame__pprof_intern_string(&p->t, name ? name : "", n);
  int64_t fi =
      file ? cflame__pprof_intern_string(&p->t, file, strlen(file)) : S_EMPTY;
  if (ni < 0 || fi < 0)
    return 0; /* an interned orphan string is harmless */
  return cflame__pprof_intern_function(&p->t, (uint32_t)ni, (uint32_t)fi,
                                       start_line);
}

uint64_t cflame__pprof_location(cflame__pprof_t *p, uint64_t function_id,
                                int64_t line) {
  return p ? cflame__pprof_intern_location(&p->t, function_id, line) : 0;
}

/* --- samples ----------------------------------------------------------- */

int cflame__pprof_sample(cflame__pprof_t *p, const uint64_t *loc, size_t n,
                         int64_t calls, int64_t wall_ns,
                         const char *thread_label) {
  if (!p || p->finished || (n && !loc)) {
    if (p)
      p->st.dropped++;
    return -EINVAL;
  }
  if (p->err)
    return p->err;
  size_t ids = 0;
  for (size_t i = 0; i < n; i++) {
    if (loc[i] == 0 || loc[i] > p->t.nloc) {
      p->st.dropped++;
      return -EINVAL;
    }
    ids += vlen(loc[i]);
  }
  int64_t label = -1;
  if (thread_label && (label = cflame__pprof_intern_string(
                           &p->t, thread_label, strlen(thread_label))) < 0) {
    p->st.dropped++;
    return -ENOMEM;
  }
  size_t vals = vlen((uint64_t)calls) + vlen((uint64_t)wall_ns);
  size_t lab = label < 0 ? 0 : fv_len(1, S_THREAD) + fv_len(2, (uint64_t)label);
  size_t body = (n ? fl_len(1, ids) : 0) + fl_len(2, vals) +
                (label < 0 ? 0 : fl_len(3, lab));
  put_fl(p, P_SAMPLE, body);
  if (n) {
    put_fl(p, 1, ids);
    for (size_t i = 0; i < n; i++)
      put_varint(p, loc[i]);
  }
  put_fl(p, 2, vals);
  put_varint(p, (uint64_t)calls);
  put_varint(p, (uint64_t)wall_ns);
  if (label >= 0) {
    put_fl(p, 3, lab);
    put_fv(p, 1, S_THREAD);
    put_fv(p, 2, (uint64_t)label);
  }
  if (p->err)
    return p->err;
  p->st.samples++;
  return 0;
}

/* --- finish ------------------------------------------------------------ */

static void put_value_type(cflame__pprof_t *p, unsigned f, uint64_t type,
                           uint64_t unit) {
  put_fl(p, f, fv_len(1, type) + fv_len(2, unit));
  put_fv(p, 1, type);
  put_fv(p, 2, unit);
}

/* Zero-valued fields are left out, as protobuf encoders do. */
static size_t opt_len(unsigned f, uint64_t v) {
  return v ? fv_len(f, v) : 0;
}
static void put_opt(cflame__pprof_t *p, unsigned f, uint64_t v) {
  if (v)
    put_fv(p, f, v);
}

int cflame__pprof_finish(cflame__pprof_t *p, int64_t time_nanos,
                         int64_t duration_nanos) {
  if (!p || p->finished)
    return -EINVAL;
  p->finished = 1;
  /* Mapping 1: id, has_functions, has_filenames, has_line_numbers. */
  put_fl(p, P_MAPPING, 4 * fv_len(1, 1));
  put_fv(p, 1, 1);
  put_fv(p, 7, 1);
  put_fv(p, 8, 1);
  put_fv(p, 9, 1);
  for (size_t i = 0; i < p->t.nloc; i++) {
    const cflame__pprof_loc_t *l = &p->t.locs[i];
    size_t line = fv_len(1, l->fid) + opt_len(2, (uint64_t)l->line);
    put_fl(p, P_LOCATION, fv_len(1, i + 1) + fv_len(2, 1) + fl_len(4, line));
    put_fv(p, 1, i + 1);
    put_fv(p, 2, 1);
    put_fl(p, 4, line);
    put_fv(p, 1, l->fid);
    put_opt(p, 2, (uint64_t)l->line);
  }
  for (size_t i = 0; i < p->t.nfn; i++) {
    const cflame__pprof_fn_t *f = &p->t.fns[i];
    put_fl(p, P_FUNCTION,
           fv_len(1, i + 1) + opt_len(2, f->name) + opt_len(3, f->name) +
               opt_len(4, f->file) + opt_len(5, (uint64_t)f->start_line));
    put_fv(p, 1, i + 1);
    put_opt(p, 2, f->name); /* name and system_name: the frame text */
    put_opt(p, 3, f->name);
    put_opt(p, 4, f->file);
    put_opt(p, 5, (uint64_t)f->start_line);
  }
  for (size_t i = 0; i < p->t.nstr; i++) {
    put_fl(p, P_STRING, p->t.str[i].len);
    put(p, p->t.chars + p->t.str[i].off, p->t.str[i].len);
  }
  put_value_type(p, P_SAMPLE_TYPE, S_CALLS, S_COUNT);
  put_value_type(p, P_SAMPLE_TYPE, S_WALL, S_NS);
  put_opt(p, P_TIME, (uint64_t)time_nanos);
  put_opt(p, P_DURATION, (uint64_t)duration_nanos);
  put_value_type(p, P_PERIOD_TYPE, S_WALL, S_NS);
  put_fv(p, P_PERIOD, 1);
  put_fv(p, P_DEFAULT_TYPE, S_WALL);
  if (!p->err)
    drain(p);
  return p->err;
}

void cflame__pprof_restart(cflame__pprof_t *p) {
  if (!p)
    return;
  p->finished = 0;
  p->err = 0;
  p->out_len = 0;
  p->st.samples = p->st.dropped = p->st.bytes = 0;
}

void cflame__pprof_stats(const cflame__pprof_t *p, cflame__pprof_stats_t *st) {
  *st = p->st;
  st->functions = p->t.nfn;
  st->locations = p->t.nloc;
  st->strings = p->t.nstr;
  st->mem = sizeof *p + OUT_CAP + p->t.mem;
}

void cflame__pprof_close(cflame__pprof_t *p) {
  if (!p)
    return;
  free(p->out);
  cflame__pprof_intern_free(&p->t);
  free(p);
}
