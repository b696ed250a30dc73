/* Private to cflame: the flame sink's state, shared by flame.c (the sink)
 * and flame_text.c (folded text). Uses only <cflame/sink.h> of the core. */
#ifndef CFLAME_FLAME_H
#define CFLAME_FLAME_H

#include "cflame/sink.h"
#include "report.h"
#include "writer.h"

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
  uint64_t *base;    /* aggregate: node self ns when the sink attached */
  uint64_t *flushed; /* aggregate: node self ns written so far */
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
  frame_t *frames;      /* frame text per site id, built once */
  size_t nframes;
} flame_t;

/* flame_text.c */
void cflame__sb_put(strbuf_t *b, const char *s, size_t n);
void cflame__sb_free(strbuf_t *b);
/* The folded stack of node `index` of t ("root;a;b"), cached in ft. */
int cflame__flame_node_text(flame_t *f, const cflame_thread_t *t,
                            fthread_t *ft, uint32_t index, const char **p,
                            size_t *len);
/* Checks the root text of ft against t's current name (call once per
 * batch of lines of t). */
void cflame__flame_text_check(flame_t *f, const cflame_thread_t *t,
                              fthread_t *ft);
void cflame__flame_text_free(text_t *x);
void cflame__flame_frames_free(flame_t *f);
/* Clamps a count to rule 5; returns 0 if nothing may be written. */
uint64_t cflame__flame_admit(flame_t *f, uint64_t ns);
/* Writes "stack count\n"; `slack`: 8 readable bytes follow the stack. */
void cflame__flame_line(flame_t *f, const char *stack, size_t len,
                        uint64_t ns, int slack);
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
