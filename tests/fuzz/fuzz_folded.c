/* libFuzzer harness for the folded writer, end to end through the public
 * API: the input is a script of span enters/ends (well-nested, out of order
 * and bogus), clock moves, thread renames and flushes under fuzz-chosen
 * options and writer faults. Whatever the script does, the bytes handed to
 * the writer must pass the strict FORMAT.md validator; and when the writer
 * misbehaved, the script runs again on a well-behaved writer and the two
 * outputs must agree (identical, or only whole lines missing).
 *
 * Input layout (every read past the end yields zeros):
 *   cfg0  bit 0 stream mode, 1 empty_samples, 2 threads_collapsed,
 *         3 module_path, 4 file_and_line, 5-6 buffer_size, 7 small ring
 *   cfg1  bits 0-1 short writes, 2-3 EINTR, 4-6 failing writes, 7 END all
 *         spans before the final drop
 *   clk   bits 0-1 clock start (0 / byte / 8 bytes / near UINT64_MAX),
 *         2 fields_in_frame; failing writes: 2 more bytes (first failing
 *         call, how many)
 *   ops   one byte each: low nibble = opcode, high nibble = slot/param,
 *         then the opcode's operands (see run_op and run_ext).
 *
 * A pprof sink with the same options runs beside the flame sink, on a
 * writer that never fails: each of its flushes must be one complete
 * profile that passes the strict decoder (tests/support/pprof_check.c),
 * and in aggregate mode its wall per stack must equal the folded lines of
 * the same flush. */
#include "fuzz_input.h"
#include <cflame.h>

#include "folded_check.h"
#include "pprof_check.h"
#include "testutil.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS     16
#define MAX_OPS   2000
#define MAX_CALLS 20000 /* enter/end calls, so repeats stay bounded too */
/* An event that the clock moved before writes at most one line of the
 * current stack; a 500-deep stack of 1 KiB names would write hundreds of
 * MiB. The script stops once the output could exceed this, which keeps an
 * execution in milliseconds (formatting and checking dominate). */
#define OUT_BUDGET ((size_t)256 << 10)
#define STACK_CAP  1024
#define STALE_CAP  64
#define HANDLES    8
#define MAX_FIELDS 3
/* Distinct callsites kept alive across inputs; beyond this, new ones are
 * mapped onto old ones so a long run cannot exhaust memory. */
#define INTERN_MAX (1u << 18)

/* --- input reader --------------------------------------------------------- */

/* Up to `want` bytes of the input, without copying. */
static size_t rd_take(rd_t *r, size_t want, const uint8_t **out) {
  if (want > r->n)
    want = r->n;
  *out = r->p;
  r->p += want;
  r->n -= want;
  return want;
}

/* A string operand: length byte 0 = NULL, 255 = a 2-byte length follows
 * (names past CFLAME__NAME_MAX), else length - 1 bytes. */
typedef struct str_s {
  const uint8_t *p;
  size_t len;
  int null;
} str_t;

static str_t rd_str(rd_t *r) {
  str_t s = {NULL, 0, 0};
  unsigned l = rd_u8(r);
  if (l == 0) {
    s.null = 1;
    return s;
  }
  size_t want = l == 255 ? (size_t)rd_uint(r, 2) : l - 1;
  s.len = rd_take(r, want, &s.p);
  return s;
}

/* --- callsites ------------------------------------------------------------ */

/* The library keeps every callsite it has seen and sanitizes its name only
 * once, so a callsite can never be reused with other bytes. Each distinct
 * (slot, name, target, file, line) gets its own callsite for the life of
 * the process; the slot is part of the key so that two slots with the same
 * text stay two callsites whose identical stacks the writer must merge. */
typedef struct intern_s {
  uint64_t hash;
  size_t klen;
  char *key;
  cflame_callsite_t *cs;
} intern_t;

static intern_t *itab; /* open addressing, power-of-two size */
static size_t itab_cap, itab_n;
static cflame_callsite_t **iall; /* by creation order, for the overflow map */

typedef struct slot_s {
  str_t name, target, file;
  int line, level;
  cflame_callsite_t *cs; /* NULL until entered or after a redefinition */
} slot_t;

static uint64_t fnv(const char *p, size_t n) {
  uint64_t h = 1469598103934665603u;
  for (size_t i = 0; i < n; i++)
    h = (h ^ (unsigned char)p[i]) * 1099511628211u;
  return h;
}

static char *dup_or_null(const str_t *s) {
  if (s->null)
    return NULL;
  char *c = malloc(s->len + 1);
  if (!c)
    abort();
  if (s->len)
    memcpy(c, s->p, s->len);
  c[s->len] = '\0';
  return c;
}

static size_t put_key_str(char *k, const str_t *s) {
  size_t n = 0;
  k[n++] = (char)s->null;
  memcpy(k + n, &s->len, sizeof s->len);
  n += sizeof s->len;
  if (s->len)
    memcpy(k + n, s->p, s->len);
  return n + s->len;
}

static void itab_grow(void) {
  size_t cap = itab_cap ? itab_cap * 2 : 1024;
  intern_t *t = calloc(cap, sizeof *t);
  if (!t)
    abort();
  for (size_t i = 0; i < itab_cap; i++) {
    if (!itab[i].key)
      continue;
    size_t j = itab[i].hash & (cap - 1);
    while (t[j].key)
      j = (j + 1) & (cap - 1);
    t[j] = itab[i];
  }
  free(itab);
  itab = t;
  itab_cap = cap;
}

static cflame_callsite_t *callsite_for(unsigned slot, const slot_t *s) {
  size_t klen = 1 + 2 * sizeof(int) + 3 * (1 + sizeof(size_t)) + s->name.len +
                s->target.len + s->file.len;
  char *key = malloc(klen);
  if (!key)
    abort();
  size_t n = 0;
  key[n++] = (char)slot;
  memcpy(key + n, &s->line, sizeof s->line);
  n += sizeof s->line;
  memcpy(key + n, &s->level, sizeof s->level);
  n += sizeof s->level;
  n += put_key_str(key + n, &s->name);
  n += put_key_str(key + n, &s->target);
  n += put_key_str(key + n, &s->file);
  uint64_t h = fnv(key, n);

  if (itab_n * 2 >= itab_cap)
    itab_grow();
  size_t j = h & (itab_cap - 1);
  for (; itab[j].key; j = (j + 1) & (itab_cap - 1)) {
    if (itab[j].hash == h && itab[j].klen == n &&
        memcmp(itab[j].key, key, n) == 0) {
      free(key);
      return itab[j].cs;
    }
  }
  if (itab_n >= INTERN_MAX) {
    free(key);
    return iall[h % itab_n];
  }
  /* Zeroed, so id_ is 0 until the library registers it. */
  cflame_callsite_t *cs = calloc(1, sizeof *cs);
  if (!cs)
    abort();
  cs->name = dup_or_null(&s->name);
  cs->target = dup_or_null(&s->target);
  cs->file = dup_or_null(&s->file);
  cs->line = s->line;
  cs->level = s->level;
  if (!iall && !(iall = malloc(INTERN_MAX * sizeof *iall)))
    abort();
  iall[itab_n] = cs;
  itab[j] = (intern_t){h, n, key, cs};
  itab_n++;
  return cs;
}

/* --- writer with faults --------------------------------------------------- */

typedef struct out_s {
  memout_t m; /* short writes and EINTR are memout's own */
  unsigned calls;
  unsigned fail_from, fail_len; /* calls in [from, from+len) fail ... */
  int fail_zero;                /* ... returning 0 instead of -EIO */
  int last_failed;              /* the final call failed: its line may be cut */
} out_t;

static long fault_write(void *ctx, const void *buf, size_t len) {
  out_t *o = ctx;
  unsigned c = o->calls++;
  if (o->fail_len && c >= o->fail_from && c - o->fail_from < o->fail_len) {
    o->last_failed = 1;
    return o->fail_zero ? 0 : -EIO;
  }
  long n = memout_write(&o->m, buf, len);
  o->last_failed = n < 0 && n != -EINTR;
  return n;
}

/* --- the script ----------------------------------------------------------- */

typedef struct state_s {
  slot_t slot[SLOTS];
  cflame_token_t stack[STACK_CAP]; /* tokens we believe are open */
  cflame_span_t hstack[STACK_CAP]; /* registry span of that frame, or NULL */
  size_t text[STACK_CAP + 1];      /* upper bound of each stack's text */
  size_t depth;
  size_t root_len, out_len; /* upper bounds, against budget */
  size_t budget;
  uint64_t event_clock; /* clock at the previous enter/end */
  int module_path, file_and_line;
  cflame_token_t stale[STALE_CAP]; /* tokens already ended */
  size_t nstale;
  cflame_token_t last_tok;
  uint64_t clk_min, clk_max; /* range the clock has covered */
  unsigned calls;
  unsigned flushes;
  int writer_fails; /* the writer may fail, so may a flush */
  int fields_in_frame;
  /* Registry span handles, kept after close so stale ones get used too. */
  cflame_span_t h[HANDLES];
  size_t htext[HANDLES];   /* upper bound of the span's stack text */
  unsigned hrefs[HANDLES]; /* references we hold (close drops one) */
  cflame_guard_t *g;
  cflame_guard_t *pg; /* the pprof sink beside it */
  struct run_s *run;
} state_t;

static void cut(struct run_s *res);

static const char *const default_files[4] = {"src/fuzz/alpha.c", "beta.c", "",
                                             "dir.d/noext"};

static void slot_defaults(state_t *st) {
  static char names[SLOTS][8];
  for (unsigned i = 0; i < SLOTS; i++) {
    snprintf(names[i], sizeof names[i], "f%u", i);
    slot_t *s = &st->slot[i];
    s->name = (str_t){(const uint8_t *)names[i], strlen(names[i]), 0};
    s->target = (str_t){NULL, 0, 1};
    const char *f = default_files[i & 3];
    s->file = (str_t){(const uint8_t *)f, strlen(f), 0};
    s->line = (int)(i * 10);
    s->level = CFLAME_LEVEL_INFO;
    s->cs = NULL;
  }
}

static void set_clock(state_t *st, uint64_t v) {
  tclock_ns = v;
  if (v < st->clk_min)
    st->clk_min = v;
  if (v > st->clk_max)
    st->clk_max = v;
}

/* A clock must not go back: saturate rather than wrap. */
static void clock_add(state_t *st, uint64_t d) {
  set_clock(st, tclock_ns + d < tclock_ns ? UINT64_MAX : tclock_ns + d);
}

static size_t cap_len(const str_t *s) {
  if (s->null)
    return 9; /* "[unknown]" */
  return s->len < 1024 ? (s->len ? s->len : 9) : 1024;
}

/* Bytes the frame of slot s can take, at most: sanitizing never makes a
 * name longer, and each part is clamped to CFLAME__NAME_MAX. */
static size_t frame_len(const state_t *st, const slot_t *s) {
  size_t n = 1 + cap_len(&s->name);
  if (st->module_path)
    n += 2 + (s->target.null ? cap_len(&s->file) : cap_len(&s->target));
  if (st->file_and_line)
    n += 2 + cap_len(&s->file) + 11;
  return n;
}

/* Accounts for the line an enter or end may write: none if no time passed
 * since the previous one, as zero time is never written. */
static void charge_line(state_t *st) {
  if (tclock_ns == st->event_clock)
    return;
  st->event_clock = tclock_ns;
  st->out_len += st->root_len + st->text[st->depth] + 22;
}

static int busy(const state_t *st) {
  return st->calls < MAX_CALLS && st->out_len < st->budget;
}

static void retire(state_t *st, cflame_token_t t) {
  st->stale[st->nstale++ % STALE_CAP] = t;
}

static void enter(state_t *st, unsigned slot) {
  slot_t *s = &st->slot[slot];
  if (!s->cs)
    s->cs = callsite_for(slot, s);
  cflame_token_t t = cflame_scope_enter(s->cs);
  st->calls++;
  charge_line(st);
  if (t)
    st->last_tok = t;
  if (st->depth < STACK_CAP) {
    st->text[st->depth + 1] = st->text[st->depth] + frame_len(st, s);
    st->hstack[st->depth] = CFLAME_SPAN_NONE;
    st->stack[st->depth++] = t;
  }
}

/* Ends the token `k` places below our top; the library closes the ones
 * above it too, so they leave our stack as well. */
static void end_at(state_t *st, size_t k) {
  if (st->depth == 0)
    return;
  if (k >= st->depth)
    k = st->depth - 1;
  size_t i = st->depth - 1 - k;
  cflame_scope_exit(st->stack[i]);
  st->calls++;
  charge_line(st);
  while (st->depth > i)
    retire(st, st->stack[--st->depth]);
}

static cflame_token_t odd_token(state_t *st, rd_t *r, unsigned kind) {
  cflame_token_t top = st->depth ? st->stack[st->depth - 1] : st->last_tok;
  switch (kind & 7) {
  case 0:
    return 0;
  case 1: { /* already ended */
    size_t n = st->nstale < STALE_CAP ? st->nstale : STALE_CAP;
    return n ? st->stale[rd_u8(r) % n] : st->last_tok;
  }
  case 2: /* never handed out yet */
    return st->last_tok + 1 + rd_u8(r);
  case 3: /* another thread's serial space */
    return top + ((uint64_t)(1 + rd_u8(r)) << 40);
  case 4: /* tag bits the library may use internally */
    return top ^ ((uint64_t)1 << (63 - (rd_u8(r) & 7)));
  default: /* anything, but relative: serials run on from one run to the
            * next, and both runs must meet the same tokens */
    return st->last_tok + rd_uint(r, 8);
  }
}

static void advance(state_t *st, rd_t *r, unsigned p) {
  uint64_t d;
  switch (p & 7) {
  case 0:
    d = 0;
    break;
  case 1:
    d = rd_u8(r);
    break;
  case 2:
    d = rd_uint(r, 2) << 10;
    break;
  case 3:
    d = rd_uint(r, 4) << 8;
    break;
  case 4: /* anything, count clamps included */
    d = rd_uint(r, 8);
    break;
  case 5: /* just around the 2^53 count limit */
    d = ((uint64_t)1 << 53) - 128 + rd_u8(r);
    break;
  case 6:
    d = (uint64_t)1 << (32 + (rd_u8(r) & 31));
    break;
  default:
    d = 1 + (p >> 3);
    break;
  }
  clock_add(st, d);
}

/* --- fields, registry spans, events, filters ------------------------------ */

/* The filter is process-wide: an input that set one leaves it for the next
 * to reset (resetting every time would re-evaluate every callsite). */
static int filter_dirty;

typedef struct fields_s {
  cflame_field_t f[MAX_FIELDS];
  char *own[2 * MAX_FIELDS]; /* NUL-terminated copies to free */
  size_t n, nown, text;      /* text: upper bound of the formatted form */
} fields_t;

static const char *own_str(fields_t *fs, const str_t *s) {
  char *c = dup_or_null(s);
  fs->own[fs->nown++] = c;
  return c;
}

/* Keys and string values may be NULL; doubles come from raw bits, so NaN,
 * infinities and subnormals all occur. */
static void rd_fields(rd_t *r, fields_t *fs) {
  memset(fs, 0, sizeof *fs);
  fs->n = rd_u8(r) % (MAX_FIELDS + 1);
  for (size_t i = 0; i < fs->n; i++) {
    cflame_field_t *f = &fs->f[i];
    unsigned type = rd_u8(r);
    str_t k = rd_str(r);
    f->key = own_str(fs, &k);
    f->type = (int)(type % 6); /* 5: not a type */
    switch (f->type) {
    case CFLAME_FIELD_STR: {
      str_t v = rd_str(r);
      f->v.str = own_str(fs, &v);
      break;
    }
    case CFLAME_FIELD_BOOL:
      f->v.b = rd_u8(r) & 1;
      break;
    default: {
      uint64_t bits = rd_uint(r, 8);
      memcpy(&f->v, &bits, sizeof bits);
      break;
    }
    }
    /* Keys are clamped to 63 bytes and values to 128 when formatted. */
    fs->text += 4 + (k.len < 63 ? k.len : 63) + 128;
  }
  if (fs->text > 512)
    fs->text = 512;
}

/* Bytes the fields add to a frame, at most. */
static size_t ftext(const state_t *st, const fields_t *fs) {
  return st->fields_in_frame && fs->n ? fs->text + 2 : 0;
}

static void free_fields(fields_t *fs) {
  for (size_t i = 0; i < fs->nown; i++)
    free(fs->own[i]);
}

static cflame_callsite_t *slot_cs(state_t *st, unsigned slot) {
  slot_t *s = &st->slot[slot & 15];
  if (!s->cs)
    s->cs = callsite_for(slot & 15, s);
  return s->cs;
}

/* The handle named by an operand byte: one of ours (live or stale) or,
 * for 0xFF, a forged one from the next 8 bytes. A forged handle gets a
 * generation no slot reaches in a fuzzing run: one that happened to name a
 * live span would make the output depend on what earlier inputs left. */
static cflame_span_t rd_handle(state_t *st, rd_t *r, int *idx) {
  unsigned b = rd_u8(r);
  *idx = -1;
  if (b == 0xFF)
    return (cflame_span_t){rd_uint(r, 8) | (UINT64_C(1) << 61)};
  *idx = (int)(b % HANDLES);
  return st->h[*idx];
}

static void keep_handle(state_t *st, rd_t *r, cflame_span_t h, size_t text) {
  if (cflame_span_is_none(h))
    return;
  unsigned i = rd_u8(r) % HANDLES;
  /* An overwritten handle is closed first so spans do not pile up. */
  while (st->hrefs[i]) {
    cflame_span_close(st->h[i]);
    st->hrefs[i]--;
  }
  st->h[i] = h;
  st->htext[i] = text;
  st->hrefs[i] = 1;
}

static void run_ext(state_t *st, rd_t *r, unsigned e) {
  unsigned code = e & 15, q = e >> 4;
  fields_t fs;
  int idx;
  switch (code) {
  case 0: { /* record on one of our open tokens (only the top may change) */
    size_t k = rd_u8(r);
    cflame_token_t tok =
        st->depth ? st->stack[st->depth - 1 - k % st->depth] : st->last_tok;
    rd_fields(r, &fs);
    cflame_scope_record(tok, fs.f, fs.n);
    if (st->depth)
      st->text[st->depth] += ftext(st, &fs);
    free_fields(&fs);
    break;
  }
  case 1:
  case 2:
  case 3: { /* new span: under our stack, as a root, as a child of h */
    cflame_span_t parent = CFLAME_SPAN_NONE, h;
    size_t base = 0;
    if (code == 3) {
      parent = rd_handle(st, r, &idx);
      base = idx >= 0 ? st->htext[idx] : 0;
    } else if (code == 1) {
      base = st->text[st->depth];
    }
    cflame_callsite_t *cs = slot_cs(st, q);
    rd_fields(r, &fs);
    h = code == 1   ? cflame_span_new(cs, fs.f, fs.n)
        : code == 2 ? cflame_span_new_root(cs, fs.f, fs.n)
                    : cflame_span_new_child_of(parent, cs, fs.f, fs.n);
    keep_handle(st, r, h, base + frame_len(st, &st->slot[q]) + ftext(st, &fs));
    free_fields(&fs);
    break;
  }
  case 4: { /* enter: a frame on our stack that no token ends */
    cflame_span_t h = rd_handle(st, r, &idx);
    cflame_span_enter(h);
    st->calls++;
    charge_line(st);
    if (st->depth < STACK_CAP) {
      st->text[st->depth + 1] = idx >= 0 ? st->htext[idx] : 0;
      st->hstack[st->depth] = h;
      st->stack[st->depth++] = 0;
    }
    break;
  }
  case 5: { /* exit: our frames above its topmost entry go too */
    cflame_span_t h = rd_handle(st, r, &idx);
    cflame_span_exit(h);
    st->calls++;
    charge_line(st);
    /* NONE would match our plain frames */
    size_t i = cflame_span_is_none(h) ? 0 : st->depth;
    while (i > 0 && st->hstack[i - 1].id != h.id)
      i--;
    if (i > 0)
      while (st->depth >= i)
        retire(st, st->stack[--st->depth]);
    break;
  }
  case 6: {
    cflame_span_t h = rd_handle(st, r, &idx);
    rd_fields(r, &fs);
    cflame_span_record(h, fs.f, fs.n);
    if (idx >= 0)
      st->htext[idx] += ftext(st, &fs);
    free_fields(&fs);
    break;
  }
  case 7: {
    cflame_span_t h = rd_handle(st, r, &idx);
    if (cflame_span_clone(h).id == h.id && !cflame_span_is_none(h) && idx >= 0)
      st->hrefs[idx]++;
    break;
  }
  case 8: { /* possibly one close too many: a misuse to be caught */
    cflame_span_t h = rd_handle(st, r, &idx);
    cflame_span_close(h);
    if (idx >= 0 && st->hrefs[idx])
      st->hrefs[idx]--;
    break;
  }
  case 9:
    rd_fields(r, &fs);
    cflame_event_emit(slot_cs(st, q), fs.f, fs.n);
    free_fields(&fs);
    break;
  case 10: { /* directives; every callsite is re-evaluated */
    str_t d = rd_str(r);
    char *dir = dup_or_null(&d);
    (void)cflame_filter_set(dir);
    free(dir);
    filter_dirty = 1;
    break;
  }
  case 11: /* a level the callsite is made with (5: not a level) */
    st->slot[q].level = (int)(rd_u8(r) % 6);
    st->slot[q].cs = NULL;
    break;
  case 12:
    (void)cflame_callsite_register(slot_cs(st, q));
    break;
  default: { /* enter with fields */
    cflame_callsite_t *cs = slot_cs(st, q);
    rd_fields(r, &fs);
    cflame_token_t t = cflame_scope_enter_f(cs, fs.f, fs.n);
    st->calls++;
    charge_line(st);
    if (t)
      st->last_tok = t;
    if (st->depth < STACK_CAP) {
      st->text[st->depth + 1] =
          st->text[st->depth] + frame_len(st, &st->slot[q]) + ftext(st, &fs);
      st->hstack[st->depth] = CFLAME_SPAN_NONE;
      st->stack[st->depth++] = t;
    }
    free_fields(&fs);
    break;
  }
  }
}

static void run_op(state_t *st, rd_t *r) {
  unsigned op = rd_u8(r), code = op & 15, p = op >> 4;
  switch (code) {
  case 0:
    enter(st, p);
    break;
  case 1: /* the newer API, one opcode further */
    run_ext(st, r, rd_u8(r));
    break;
  case 2:
  case 3:
    end_at(st, 0);
    break;
  case 4: /* out of order: ends spans entered after it as well */
    end_at(st, rd_u8(r));
    break;
  case 5:
    cflame_scope_exit(odd_token(st, r, p));
    st->calls++;
    charge_line(st);
    break;
  case 6:
    advance(st, r, p);
    break;
  case 7: { /* a clock that jumps ahead to an absolute time */
    /* Never back: a clock must not go back, and the TSC fast paths charge
     * a backward step (cross-core skew) as a negative slice by design. */
    uint64_t v = rd_uint(r, 8);
    set_clock(st, v > tclock_ns ? v : tclock_ns);
    break;
  }
  case 8: {
    str_t s = rd_str(r);
    char *name = dup_or_null(&s);
    if (name && strlen(name) > st->root_len)
      st->root_len = strlen(name) < 1024 ? strlen(name) : 1024;
    int rc = cflame_thread_name(name);
    if (rc != (name ? 0 : CFLAME_EINVAL)) {
      fprintf(stderr, "fuzz_folded: cflame_thread_name returned %d\n", rc);
      abort();
    }
    free(name);
    break;
  }
  case 9: {
    int rc = cflame_guard_flush(st->g);
    if (cflame_guard_flush(st->pg) != 0) {
      fprintf(stderr, "fuzz_folded: the pprof sink's flush failed\n");
      abort();
    }
    cut(st->run);
    if (rc != 0 && !st->writer_fails) {
      fprintf(stderr,
              "fuzz_folded: cflame_guard_flush: %s with a writer "
              "that never fails\n",
              cflame_strerror(rc));
      abort();
    }
    st->flushes++;
    break;
  }
  case 10:
    st->slot[p].name = rd_str(r);
    st->slot[p].cs = NULL;
    break;
  case 11:
    st->slot[p].target = rd_str(r);
    st->slot[p].cs = NULL;
    break;
  case 12:
    st->slot[p].file = rd_str(r);
    st->slot[p].cs = NULL;
    break;
  case 13:
    st->slot[p].line = (int)(uint32_t)rd_uint(r, 4);
    st->slot[p].cs = NULL;
    break;
  case 14: { /* deep nesting, past CFLAME_MAX_DEPTH if asked */
    unsigned n = 1 + rd_u8(r) * 3, adv = rd_u8(r);
    for (unsigned i = 0; i < n && busy(st); i++) {
      enter(st, (p + i * (adv >> 4)) & 15);
      clock_add(st, adv & 15);
    }
    break;
  }
  default: /* unwind: all of ours in order, or just the bottom one */
    if (p & 1)
      end_at(st, st->depth);
    else
      while (st->depth && busy(st))
        end_at(st, 0);
    break;
  }
}

/* --- one run -------------------------------------------------------------- */

typedef struct run_s {
  out_t o;
  memout_t pp;  /* the pprof sink's output */
  size_t *cuts; /* after each flush: pp.len, then o.m.len */
  size_t ncuts, cuts_cap;
  int compare; /* folded and pprof frames are the same text */
  int rc;      /* of cflame_guard_drop */
  int stream;
  int perturbed;    /* writer faults, short writes, EINTR or a small buffer */
  unsigned flushes; /* explicit ones, before the drop */
  uint64_t clk_min, clk_max;
} run_t;

/* Where one profile (and one flush's folded lines) ends. */
static void cut(run_t *res) {
  if (res->ncuts + 2 > res->cuts_cap) {
    res->cuts_cap = res->cuts_cap ? res->cuts_cap * 2 : 64;
    res->cuts = realloc(res->cuts, res->cuts_cap * sizeof *res->cuts);
    if (!res->cuts)
      abort();
  }
  res->cuts[res->ncuts++] = res->pp.len;
  res->cuts[res->ncuts++] = res->o.m.len;
}

/* Runs the script once. With `perturb` 0 the writer options of the input
 * are ignored (but their bytes still consumed, so the ops line up), which
 * gives the reference output a perturbed run is compared against. */
static void run_script(const uint8_t *data, size_t size, int perturb,
                       run_t *res) {
  rd_t r = {data, size};
  unsigned cfg0 = rd_u8(&r), cfg1 = rd_u8(&r), clk = rd_u8(&r);

  memset(res, 0, sizeof *res);
  cflame_flame_opts_t opts = cflame_flame_opts_default();
  res->stream = cfg0 & 1;
  opts.mode = res->stream ? CFLAME_FLAME_STREAM : CFLAME_FLAME_AGGREGATE;
  opts.empty_samples = cfg0 & 2;
  opts.threads_collapsed = cfg0 & 4;
  opts.module_path = cfg0 & 8;
  opts.file_and_line = cfg0 & 16;
  opts.fields_in_frame = clk & 4;
  /* The ring size stays the same in both runs: a small ring is drained at
   * other times, which may legitimately pick up a later thread name. */
  opts.stream_records = cfg0 & 128 ? 1 : 4096; /* 1 rounds up to 16 */

  static const size_t bufsz[4] = {0, 1, 4096, 4097};
  static const size_t chunk[4] = {0, 1, 7, 4095};
  static const unsigned eintr[4] = {0, 2, 3, 17};
  out_t *o = &res->o;
  unsigned fault = (cfg1 >> 4) & 7;
  if (perturb) {
    opts.buffer_size = bufsz[(cfg0 >> 5) & 3];
    o->m.max_chunk = chunk[cfg1 & 3];
    o->m.eintr_every = eintr[(cfg1 >> 2) & 3];
  }

  uint64_t start;
  switch (clk & 3) {
  case 0:
    start = 0;
    break;
  case 1:
    start = rd_u8(&r);
    break;
  case 2:
    start = rd_uint(&r, 8);
    break;
  default:
    start = UINT64_MAX - rd_u8(&r);
    break;
  }
  if (fault >= 4) { /* transient write failures */
    unsigned from = rd_u8(&r), len = 1 + rd_u8(&r) % 8;
    if (perturb) {
      o->fail_from = from;
      o->fail_len = len;
      o->fail_zero = fault & 1;
    }
  }
  res->perturbed =
      opts.buffer_size || o->m.max_chunk || o->m.eintr_every || o->fail_len;

  state_t *st = calloc(1, sizeof *st);
  if (!st)
    abort();
  st->clk_min = st->clk_max = st->event_clock = start;
  st->root_len = 11; /* "all-threads" */
  /* Tiny writes cost a writer call per byte or few: less output then. The
   * reference run must stop at the same op, so this ignores `perturb`. */
  st->budget =
      (cfg1 & 3) == 1 || (cfg1 & 3) == 2 ? OUT_BUDGET / 16 : OUT_BUDGET;
  st->writer_fails = o->fail_len != 0;
  st->fields_in_frame = opts.fields_in_frame;
  st->module_path = opts.module_path;
  st->file_and_line = opts.file_and_line;
  slot_defaults(st);

  if (filter_dirty) {
    (void)cflame_filter_set(NULL);
    filter_dirty = 0;
  }
  tclock_install(start);
  /* The root name outlives a session; reset it so each run stands alone. */
  if (cflame_thread_name("main") != 0)
    abort();
  int rc = cflame_flame_writer(fault_write, o, &opts, &st->g);
  if (rc != 0) {
    fprintf(stderr, "fuzz_folded: cflame_flame_writer: %s\n",
            cflame_strerror(rc));
    abort();
  }
  cflame_pprof_opts_t popts = cflame_pprof_opts_default();
  popts.empty_samples = opts.empty_samples;
  popts.module_path = opts.module_path;
  popts.fields_in_frame = opts.fields_in_frame;
  res->compare = !res->stream && !opts.threads_collapsed && !opts.file_and_line;
  st->run = res;
  rc = cflame_pprof_writer(memout_write, &res->pp, &popts, &st->pg);
  if (rc != 0) {
    fprintf(stderr, "fuzz_folded: cflame_pprof_writer: %s\n",
            cflame_strerror(rc));
    abort();
  }
  for (unsigned ops = 0; ops < MAX_OPS && r.n > 0 && busy(st); ops++)
    run_op(st, &r);
  if (cfg1 & 128)
    while (st->depth && busy(st))
      end_at(st, 0);
  res->rc = cflame_guard_drop(st->g);
  if (cflame_guard_drop(st->pg) != 0) {
    fprintf(stderr, "fuzz_folded: the pprof sink's drop failed\n");
    abort();
  }
  cut(res);
  /* Registry spans outlive the session: let ours go, so that a long run
   * does not pile them up (exits after the drop are a case of their own). */
  for (size_t i = st->depth; i-- > 0;)
    if (!cflame_span_is_none(st->hstack[i]))
      cflame_span_exit(st->hstack[i]);
  for (unsigned i = 0; i < HANDLES; i++)
    for (; st->hrefs[i]; st->hrefs[i]--)
      cflame_span_close(st->h[i]);
  res->flushes = st->flushes;
  res->clk_min = st->clk_min;
  res->clk_max = st->clk_max;
  free(st);
}

/* --- checks --------------------------------------------------------------- */

static void show(const char *label, const char *buf, size_t len) {
  fprintf(stderr, "  %s (%zu bytes, first 2000 shown):\n", label, len);
  if (buf)
    fwrite(buf, 1, len < 2000 ? len : 2000, stderr);
  fputc('\n', stderr);
}

static void fail(const run_t *a, const run_t *ref,
                 const folded_check_error_t *err, const char *what) {
  fprintf(stderr, "fuzz_folded: %s\n", what);
  if (err)
    fprintf(stderr, "  FORMAT.md rule %d, line %zu: %s\n", err->rule, err->line,
            err->msg);
  show("output", a->o.m.buf, a->o.m.len);
  if (ref)
    show("reference output (no writer faults)", ref->o.m.buf, ref->o.m.len);
  abort();
}

/* The part of the output that must be valid. A failure on the very last
 * write may cut the line it was writing (the writer keeps the rest for a
 * next write that never comes); everything before that line must still be
 * right. Any earlier failure may only cost whole lines. */
static size_t valid_len(const run_t *a) {
  size_t len = a->o.m.len;
  if (a->o.last_failed)
    while (len > 0 && a->o.m.buf[len - 1] != '\n')
      len--;
  return len;
}

static void check_run(const run_t *a) {
  if (a->rc != 0 && !a->o.fail_len)
    fail(a, NULL, NULL,
         "cflame_guard_drop failed with a writer that never "
         "fails");
  /* Sorted and merged only if the final drop was the one flush: batches of
   * intermediate flushes are appended, each sorted on its own. */
  unsigned flags = !a->stream && a->flushes == 0 ? FOLDED_CHECK_SORTED : 0;
  folded_check_error_t err;
  unsigned long long total;
  if (folded_check(a->o.m.buf, valid_len(a), flags, &err, NULL, &total) != 0)
    fail(a, NULL, &err, "output violates FORMAT.md");
  /* Every count is a slice of clock time on this one thread, so together
   * they cannot exceed the span of time the clock covered. */
  if (total > a->clk_max - a->clk_min)
    fail(a, NULL, NULL, "counts add up to more time than elapsed");
}

/* Every flush of the pprof sink wrote one complete, valid profile; with
 * the same frame texts, a writer that lost nothing and no count clamped,
 * its wall per stack equals the folded lines of that flush. */
static void check_pprof(const run_t *a) {
  int same = a->compare && !a->o.fail_len &&
             a->clk_max - a->clk_min <= (UINT64_C(1) << 53);
  for (size_t k = 0; k < a->ncuts; k += 2) {
    size_t p0 = k ? a->cuts[k - 2] : 0, f0 = k ? a->cuts[k - 1] : 0;
    pprof_result_t r;
    if (pprof_check(a->pp.buf ? a->pp.buf + p0 : "", a->cuts[k] - p0,
                    PPROF_CHECK_THREAD_ROOT, &r) != 0) {
      fprintf(stderr, "fuzz_folded: profile %zu is invalid: %s\n", k / 2,
              r.error);
      abort();
    }
    char msg[512];
    if (same && pprof_compare_folded(&r, a->o.m.buf ? a->o.m.buf + f0 : "",
                                     a->cuts[k + 1] - f0, msg, sizeof msg)) {
      fprintf(stderr, "fuzz_folded: profile %zu vs folded: %s\n", k / 2, msg);
      show("folded output", a->o.m.buf, a->o.m.len);
      abort();
    }
    pprof_result_free(&r);
  }
}

/* Short writes, EINTR and the buffer size must not change a byte; failing
 * writes may only drop whole lines, so what is left is the reference's
 * lines with some left out. A line torn by a write error can still be valid
 * folded syntax (a wrong stack), which only this comparison catches. */
static void check_against(const run_t *a, const run_t *ref) {
  const char *p = a->o.m.buf, *q = ref->o.m.buf;
  size_t plen = valid_len(a), qlen = ref->o.m.len;
  if (!a->o.fail_len) {
    if (plen != qlen || (plen && memcmp(p, q, plen) != 0))
      fail(a, ref, NULL,
           "a second run of the script differs: short "
           "writes, EINTR or the buffer size changed the "
           "output, or an earlier session left state behind");
    return;
  }
  size_t i = 0, j = 0;
  while (i < plen) {
    const char *pe = memchr(p + i, '\n', plen - i);
    size_t pl = (size_t)(pe - (p + i)) + 1; /* valid_len ends in '\n' */
    for (;;) {
      if (j >= qlen)
        fail(a, ref, NULL,
             "a write error left a line the reference does not "
             "have (a torn line, or state left by an earlier "
             "session)");
      const char *qe = memchr(q + j, '\n', qlen - j);
      size_t ql = (size_t)(qe - (q + j)) + 1;
      j += ql;
      if (ql == pl && memcmp(p + i, q + j - ql, pl) == 0)
        break;
    }
    i += pl;
  }
}

/* --- entry points --------------------------------------------------------- */

static void silent(void *ctx, cflame_fault_t kind, const char *msg) {
  (void)ctx;
  (void)kind;
  (void)msg;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  cflame_on_error(silent, NULL);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  run_t a, ref;
  run_script(data, size, 1, &a);
  check_run(&a);
  check_pprof(&a);
  if (a.perturbed) {
    run_script(data, size, 0, &ref);
    check_run(&ref);
    check_pprof(&ref);
    check_against(&a, &ref);
    memout_free(&ref.o.m);
    memout_free(&ref.pp);
    free(ref.cuts);
  }
  memout_free(&a.o.m);
  memout_free(&a.pp);
  free(a.cuts);
  return 0;
}
