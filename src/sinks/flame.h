/* Private to cflame: the flame sink's state, shared by flame.c (the sink)
 * and flame_text.c (folded text). Uses only <cflame/sink.h> of the core. */
#ifndef CFLAME_FLAME_H
#define CFLAME_FLAME_H

#include "cflame/sink.h"
#include "report.h"
#include "writer.h"

#include <string.h>

#define COUNT_MAX (UINT64_C(1) << 53) /* FORMAT.md rule 5 */

typedef struct strbuf_s {
  char *p;
  size_t len, cap;
  int oom;
} strbuf_t;

/* A stack of a batch: its text is at off in the batch's own buffer (base
 * NULL), or in a buffer owned elsewhere (a thread's text cache, the exited
 * threads' batch) that may move but lives through the flush: *base + off.
 * So a flush copies no stack text of a live thread. */
typedef struct entry_s {
  char *const *base;
  size_t off, len;
  uint64_t ns;
} entry_t;

/* Stacks with their counts; merged = sorted bytewise, one entry per stack. */
typedef struct batch_s {
  strbuf_t text;
  entry_t *e;
  size_t n, cap;
} batch_t;

/* Formatted stacks of one thread's nodes, built once and reused by every
 * line that names them. */
typedef struct text_s {
  char *buf; /* node i: buf[off[i] .. off[i]+n[i]) = "root;a;b" */
  size_t len, cap;
  uint32_t *off, *n;
  uint32_t count, cap_nodes;
  char *root; /* the root text the cache was built with */
} text_t;

/* Per thread (cflame_thread_data). */
typedef struct fthread_s {
  uint64_t *base;    /* aggregate: node self ticks when the sink attached */
  uint64_t *flushed; /* aggregate: node self ticks written so far */
  uint32_t cap;
  int begun;         /* stream: cur/last are set */
  uint32_t cur;      /* stream: the node now charged */
  uint64_t last;     /* stream: ns of the previous record */
  text_t text;
} fthread_t;

typedef struct frame_s {
  char *p;
  size_t len;
} frame_t;

typedef struct flame_s {
  cflame_flame_opts_t opts;
  cflame__writer_t w;
  uint64_t total_ns;    /* grand total written (rule 5) */
  batch_t batch;        /* aggregate: all stacks of one flush */
  batch_t retired;      /* aggregate rewrite: exited threads' totals */
  int64_t rewrite_at;   /* offset where a rewritten file starts, or -1 */
  uint64_t lines;       /* lines written, not yet in the counters */
  uint64_t *own;        /* compensate: one thread's own ticks per node */
  uint32_t own_cap;
  frame_t *frames;      /* frame text per site id, built once */
  size_t nframes;
} flame_t;

/* flame_text.c */
void cflame__sb_put(strbuf_t *b, const char *s, size_t n);
void cflame__sb_free(strbuf_t *b);
/* Checks the root text of ft against t's current name (call once per
 * batch of lines of t). */
void cflame__flame_text_check(flame_t *f, const cflame_thread_t *t,
                              fthread_t *ft);
void cflame__flame_text_free(text_t *x);
void cflame__flame_frames_free(flame_t *f);
/* Extends x up to node `index`; 0 or -1 (out of memory). */
int cflame__flame_text_build(flame_t *f, const cflame_thread_t *t, text_t *x,
                             uint32_t index);
/* Decimal digits of v into out (room for 20); returns the count. */
size_t cflame__u64_dec(char *out, uint64_t v);

/* --- per line (inline: stream mode calls these once per record) ---------- */

static const char cflame__digit_pairs[201] =
    "0001020304050607080910111213141516171819"
    "2021222324252627282930313233343536373839"
    "4041424344454647484950515253545556575859"
    "6061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

/* Digits of v, written backwards from end, two at a time; returns the
 * count. */
/* Decimal digits of v (1 for 0): from its bit length, then one compare. */
static inline size_t cflame__dec_digits(uint64_t v) {
  static const uint64_t pow10[20] = {1u,
                                     10u,
                                     100u,
                                     1000u,
                                     10000u,
                                     100000u,
                                     1000000u,
                                     10000000u,
                                     100000000u,
                                     1000000000u,
                                     10000000000u,
                                     100000000000u,
                                     1000000000000u,
                                     10000000000000u,
                                     100000000000000u,
                                     1000000000000000u,
                                     10000000000000000u,
                                     100000000000000000u,
                                     1000000000000000000u,
                                     10000000000000000000u};
  /* floor(bits * log10(2)) + 1 digits is right or one too many */
  unsigned bits = 64 - (unsigned)__builtin_clzll(v | 1);
  size_t n = (bits * 1233u >> 12) + 1;
  return n - ((v | 1) < pow10[n - 1]);
}

static inline size_t cflame__dec_back(char *end, uint64_t v) {
  char *q = end;
  while (v >= 100) {
    unsigned r = (unsigned)(v % 100);
    v /= 100;
    q -= 2;
    q[0] = cflame__digit_pairs[2 * r];
    q[1] = cflame__digit_pairs[2 * r + 1];
  }
  if (v >= 10) {
    q -= 2;
    q[0] = cflame__digit_pairs[2 * v];
    q[1] = cflame__digit_pairs[2 * v + 1];
  } else {
    *--q = (char)('0' + v);
  }
  return (size_t)(end - q);
}

/* The folded stack of node `index` of t ("root;a;b"), cached in ft. */
static inline int cflame__flame_node_text(flame_t *f, const cflame_thread_t *t,
                            fthread_t *ft, uint32_t index, const char **p,
                            size_t *len) {
  text_t *x = &ft->text;
  if (cflame_unlikely(index >= x->count) && cflame__flame_text_build(f, t, x, index) != 0)
    return -1;
  *p = x->buf + x->off[index];
  *len = x->n[index];
  return 0;
}

/* Clamps a count to rule 5; returns 0 if nothing may be written. */
static inline uint64_t cflame__flame_admit(flame_t *f, uint64_t ns) {
  if (cflame_unlikely(ns > COUNT_MAX)) {
    cflame__report(CFLAME_FAULT_COUNT, "a count above 2^53 ns was clamped");
    ns = COUNT_MAX;
  }
  if (cflame_unlikely(f->total_ns + ns > COUNT_MAX)) {
    cflame__report(CFLAME_FAULT_COUNT, "the file total reached 2^53 ns; "
                                       "later counts are dropped");
    ns = COUNT_MAX - f->total_ns;
  }
  f->total_ns += ns;
  return ns;
}

/* Writes "stack count\n"; `slack`: 8 readable bytes follow the stack. */
static inline void cflame__flame_line(flame_t *f, const char *stack,
                                      size_t len, uint64_t ns, int slack) {
  cflame__writer_t *w = &f->w;
  char *p = cflame_likely(w->cap - w->len >= len + 22)
                ? w->buf + w->len
                : cflame__writer_room(w, len + 22);
  if (cflame_unlikely(!p)) { /* a line longer than the whole buffer */
    char num[24];
    num[0] = ' ';
    size_t n = 1 + cflame__u64_dec(num + 1, ns);
    num[n++] = '\n';
    cflame__writer_put(w, stack, len);
    cflame__writer_put(w, num, n);
  } else {
    /* Stacks are short: word copies beat a call to memcpy. They may read
     * up to 7 bytes past the text (the text buffer keeps that slack) and
     * write up to 7 past it (the room has 22 to spare). */
    if (slack && len <= 128) {
      const char *restrict from = stack;
      char *restrict to = p; /* the text never overlaps the output */
      for (size_t i = 0; i < len; i += 8) {
        uint64_t v;
        memcpy(&v, from + i, 8);
        memcpy(to + i, &v, 8);
      }
    } else {
      memcpy(p, stack, len);
    }
    p[len] = ' ';
    size_t n = cflame__dec_digits(ns); /* to write them in place */
    cflame__dec_back(p + len + 1 + n, ns);
    p[len + 1 + n] = '\n';
    cflame__writer_commit(w, len + n + 2);
  }
  f->lines++;
}

/* Adds one stack; 0, or -1 (out of memory: nothing added, oom set). */
int cflame__batch_add(batch_t *b, const char *stack, size_t len,
                      uint64_t ns);
entry_t *cflame__batch_slot(batch_t *b);
void cflame__batch_clear(batch_t *b);
void cflame__batch_free(batch_t *b);
/* Adds one stack by reference (see entry_t); 0, or -1 (oom set). */
int cflame__batch_ref(batch_t *b, char *const *base, size_t off, size_t len,
                      uint64_t ns);
/* The text of entry i. */
static inline const char *cflame__batch_text(const batch_t *b, size_t i) {
  const entry_t *e = &b->e[i];
  return (e->base ? *e->base : b->text.p) + e->off;
}
/* Sorts and merges equal stacks, in place (allocates nothing). */
void cflame__batch_merge(batch_t *b);
/* Drops the text of merged-away entries once it is most of b's text. */
void cflame__batch_compact(batch_t *b);
void cflame__batch_write(flame_t *f, const batch_t *b);

#endif /* CFLAME_FLAME_H */
