/* profile.proto by hand: samples streamed, everything interned written at
 * finish. Field numbers are those of github.com/google/pprof's
 * proto/profile.proto. */
#include "pprof_enc.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define OUT_CAP ((size_t)64 * 1024)
#define MAX_ENTRIES ((size_t)UINT32_MAX - 1)

/* Profile fields, and their wire types: 0 varint, 2 length-delimited. */
enum {
  P_SAMPLE_TYPE = 1, P_SAMPLE = 2, P_MAPPING = 3, P_LOCATION = 4,
  P_FUNCTION = 5, P_STRING = 6, P_TIME = 9, P_DURATION = 10,
  P_PERIOD_TYPE = 11, P_PERIOD = 12, P_DEFAULT_TYPE = 14
};
enum { WT_VARINT = 0, WT_LEN = 2 };

/* Strings interned at open, in string-table order after "" (index 0). */
enum { S_EMPTY, S_CALLS, S_COUNT, S_WALL, S_NS, S_THREAD, S_FIXED };
static const char *const fixed_str[S_FIXED] = {"", "calls", "count", "wall",
                                               "nanoseconds", "thread"};

typedef struct { size_t off; uint32_t len, h; } str_t;
typedef struct { uint32_t name, file, h; int64_t start_line; } fn_t;
typedef struct { uint64_t fid; int64_t line; uint32_t h; } loc_t;

/* Open addressing; a slot holds entry index + 1, 0 is empty. */
typedef struct { uint32_t *slot; size_t mask, used; } idx_t;

struct cflame__pprof_s {
  cflame_write_fn fn;
  void *ctx;
  unsigned char *out;
  size_t out_len;
  int err, finished;
  char *chars;
  size_t chars_len, chars_cap;
  str_t *str;
  fn_t *fns;
  loc_t *locs;
  size_t nstr, nfn, nloc, str_cap, fn_cap, loc_cap;
  idx_t str_ix, fn_ix, loc_ix;
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

/* --- interning --------------------------------------------------------- */

static uint32_t mix(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  return (uint32_t)h;
}

static uint32_t hash_bytes(const char *s, size_t n, uint64_t seed) {
  uint64_t h = 0xcbf29ce484222325ULL ^ seed;
  for (size_t i = 0; i < n; i++)
    h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
  return mix(h);
}

/* arr grown to hold `need` elements (arr itself if it already does), or
 * NULL with arr left as it was. */
static void *grow(void *arr, size_t *cap, size_t need, size_t elem,
                  size_t *mem) {
  if (need <= *cap)
    return arr;
  size_t c = *cap ? *cap : 64;
  while (c < need)
    c *= 2;
  if (c > SIZE_MAX / elem)
    return NULL;
  void *q = realloc(arr, c * elem);
  if (!q)
    return NULL;
  *mem += (c - *cap) * elem;
  *cap = c;
  return q;
}

/* Rehashes into twice the slots; hashes[i * stride] is entry i's hash. */
static int ix_grow(idx_t *ix, const char *entries, size_t stride,
                   size_t hoff, size_t *mem) {
  size_t n = ix->slot ? (ix->mask + 1) * 2 : 256;
  uint32_t *s = calloc(n, sizeof *s);
  if (!s)
    return -ENOMEM;
  for (size_t e = 0; e < ix->used; e++) {
    uint32_t h;
    memcpy(&h, entries + e * stride + hoff, sizeof h);
    size_t i = h & (n - 1);
    while (s[i])
      i = (i + 1) & (n - 1);
    s[i] = (uint32_t)e + 1;
  }
  *mem += (n - (ix->slot ? ix->mask + 1 : 0)) * sizeof *s;
  free(ix->slot);
  ix->slot = s;
  ix->mask = n - 1;
  return 0;
}

/* Makes room for one more entry in a table and its index: 0 or -ENOMEM.
 * *q is the table's new address (NULL: unchanged), stored by the caller. */
static int room(cflame__pprof_t *p, void **q, void *arr, size_t *cap,
                size_t n, size_t elem, idx_t *ix, size_t hoff) {
  if (n >= MAX_ENTRIES || !(*q = grow(arr, cap, n + 1, elem, &p->st.mem)))
    return -ENOMEM;
  if ((ix->used + 1) * 2 > (ix->slot ? ix->mask + 1 : 0))
    return ix_grow(ix, *q, elem, hoff, &p->st.mem);
  return 0;
}
/* Length of the valid UTF-8 sequence at s (n > 0 bytes), 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n) {
  unsigned c = s[0];
  size_t k = c < 0x80 ? 1 : c >= 0xC2 && c <= 0xDF ? 2
             : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
  if (k == 0 || k > n)
    return 0;
  for (size_t i = 1; i < k; i++)
    if ((s[i] & 0xC0) != 0x80)
      return 0;
  if ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] > 0x9F) ||
      (c == 0xF0 && s[1] < 0x90) || (c == 0xF4 && s[1] > 0x8F))
    return 0; /* overlong, surrogate, above U+10FFFF */
  return k;
}

/* Copies s[0..n) to dst with each invalid UTF-8 byte turned into '?'. */
static void utf8_repair(char *dst, const char *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    size_t k = utf8_len((const unsigned char *)s + i, n - i);
    if (k == 0) {
      dst[i++] = '?';
      continue;
    }
    memcpy(dst + i, s + i, k);
    i += k;
  }
}

/* String-table index of s[0..n) (interned, repaired), or -1 if no memory. */
static int64_t intern(cflame__pprof_t *p, const char *s, size_t n) {
  if (n > UINT32_MAX)
    n = UINT32_MAX; /* clamp: a string's length is a uint32 here */
  char *c = grow(p->chars, &p->chars_cap, p->chars_len + n + 1, 1, &p->st.mem);
  if (!c)
    return -1;
  p->chars = c;
  char *tmp = p->chars + p->chars_len; /* repaired form, not yet committed */
  utf8_repair(tmp, s, n);
  uint32_t h = hash_bytes(tmp, n, 0);
  for (size_t i = h & p->str_ix.mask; p->str_ix.slot && p->str_ix.slot[i];
       i = (i + 1) & p->str_ix.mask) {
    const str_t *e = &p->str[p->str_ix.slot[i] - 1];
    if (e->h == h && e->len == n && !memcmp(p->chars + e->off, tmp, n))
      return p->str_ix.slot[i] - 1;
  }
  void *q = NULL;
  int rc = room(p, &q, p->str, &p->str_cap, p->nstr, sizeof *p->str,
                &p->str_ix, offsetof(str_t, h));
  if (q)
    p->str = q;
  if (rc)
    return -1;
  p->str[p->nstr] = (str_t){p->chars_len, (uint32_t)n, h};
  p->chars_len += n;
  size_t i = h & p->str_ix.mask;
  while (p->str_ix.slot[i])
    i = (i + 1) & p->str_ix.mask;
  p->str_ix.slot[i] = (uint32_t)++p->nstr;
  p->str_ix.used++;
  return (int64_t)p->nstr - 1;
}

cflame__pprof_t *cflame__pprof_open(cflame_write_fn fn, void *ctx) {
  if (!fn)
    return NULL;
  cflame__pprof_t *p = calloc(1, sizeof *p);
  if (!p)
    return NULL;
  p->fn = fn;
  p->ctx = ctx;
  p->out = malloc(OUT_CAP);
  p->st.mem = sizeof *p + OUT_CAP;
  int ok = p->out != NULL;
  for (int i = 0; ok && i < S_FIXED; i++)
    ok = intern(p, fixed_str[i], strlen(fixed_str[i])) == i;
  if (!ok) {
    cflame__pprof_close(p);
    return NULL;
  }
  return p;
}

uint64_t cflame__pprof_function(cflame__pprof_t *p, const char *name,
                                size_t n, const char *file,
                                int64_t start_line) {
  if (!p || (!name && n))
    return 0;
  int64_t ni = intern(p, name ? name : "", n);
  int64_t fi = file ? intern(p, file, strlen(file)) : S_EMPTY;
  if (ni < 0 || fi < 0)
    return 0; /* an interned orphan string is harmless */
  uint32_t h = mix((uint64_t)ni << 32 ^ (uint64_t)fi);
  for (size_t i = h & p->fn_ix.mask; p->fn_ix.slot && p->fn_ix.slot[i];
       i = (i + 1) & p->fn_ix.mask) {
    const fn_t *e = &p->fns[p->fn_ix.slot[i] - 1];
    if (e->name == (uint32_t)ni && e->file == (uint32_t)fi)
      return p->fn_ix.slot[i];
  }
  void *q = NULL;
  int rc = room(p, &q, p->fns, &p->fn_cap, p->nfn, sizeof *p->fns, &p->fn_ix,
                offsetof(fn_t, h));
  if (q)
    p->fns = q;
  if (rc)
    return 0;
  p->fns[p->nfn] = (fn_t){(uint32_t)ni, (uint32_t)fi, h, start_line};
  size_t i = h & p->fn_ix.mask;
  while (p->fn_ix.slot[i])
    i = (i + 1) & p->fn_ix.mask;
  p->fn_ix.slot[i] = (uint32_t)++p->nfn;
  p->fn_ix.used++;
  return p->nfn;
}

uint64_t cflame__pprof_location(cflame__pprof_t *p, uint64_t function_id,
                                int64_t line) {
  if (!p || function_id == 0 || function_id > p->nfn)
    return 0;
  uint32_t h = mix(function_id * 0x9e3779b97f4a7c15ULL ^ (uint64_t)line);
  for (size_t i = h & p->loc_ix.mask; p->loc_ix.slot && p->loc_ix.slot[i];
       i = (i + 1) & p->loc_ix.mask) {
    const loc_t *e = &p->locs[p->loc_ix.slot[i] - 1];
    if (e->fid == function_id && e->line == line)
      return p->loc_ix.slot[i];
  }
  void *q = NULL;
  int rc = room(p, &q, p->locs, &p->loc_cap, p->nloc, sizeof *p->locs,
                &p->loc_ix, offsetof(loc_t, h));
  if (q)
    p->locs = q;
  if (rc)
    return 0;
  p->locs[p->nloc] = (loc_t){function_id, line, h};
  size_t i = h & p->loc_ix.mask;
  while (p->loc_ix.slot[i])
    i = (i + 1) & p->loc_ix.mask;
  p->loc_ix.slot[i] = (uint32_t)++p->nloc;
  p->loc_ix.used++;
  return p->nloc;
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
    if (loc[i] == 0 || loc[i] > p->nloc) {
      p->st.dropped++;
      return -EINVAL;
    }
    ids += vlen(loc[i]);
  }
  int64_t label = -1;
  if (thread_label && (label = intern(p, thread_label,
                                      strlen(thread_label))) < 0) {
    p->st.dropped++;
    return -ENOMEM;
  }
  size_t vals = vlen((uint64_t)calls) + vlen((uint64_t)wall_ns);
  size_t lab = label < 0 ? 0
                         : fv_len(1, S_THREAD) + fv_len(2, (uint64_t)label);
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
  for (size_t i = 0; i < p->nloc; i++) {
    const loc_t *l = &p->locs[i];
    size_t line = fv_len(1, l->fid) + opt_len(2, (uint64_t)l->line);
    put_fl(p, P_LOCATION, fv_len(1, i + 1) + fv_len(2, 1) + fl_len(4, line));
    put_fv(p, 1, i + 1);
    put_fv(p, 2, 1);
    put_fl(p, 4, line);
    put_fv(p, 1, l->fid);
    put_opt(p, 2, (uint64_t)l->line);
  }
  for (size_t i = 0; i < p->nfn; i++) {
    const fn_t *f = &p->fns[i];
    put_fl(p, P_FUNCTION, fv_len(1, i + 1) + opt_len(2, f->name) +
                              opt_len(3, f->name) + opt_len(4, f->file) +
                              opt_len(5, (uint64_t)f->start_line));
    put_fv(p, 1, i + 1);
    put_opt(p, 2, f->name); /* name and system_name: the frame text */
    put_opt(p, 3, f->name);
    put_opt(p, 4, f->file);
    put_opt(p, 5, (uint64_t)f->start_line);
  }
  for (size_t i = 0; i < p->nstr; i++) {
    put_fl(p, P_STRING, p->str[i].len);
    put(p, p->chars + p->str[i].off, p->str[i].len);
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
  st->functions = p->nfn;
  st->locations = p->nloc;
  st->strings = p->nstr;
}

void cflame__pprof_close(cflame__pprof_t *p) {
  if (!p)
    return;
  free(p->out);
  free(p->chars);
  free(p->str);
  free(p->fns);
  free(p->locs);
  free(p->str_ix.slot);
  free(p->fn_ix.slot);
  free(p->loc_ix.slot);
  free(p);
}
