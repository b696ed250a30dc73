/* The flame sink: turns per-thread call trees (aggregate) or slice records
 * (stream) into folded-stack lines, and the guard that owns it. */
#include "clock.h"
#include "internal.h"
#include "platform.h"
#include "writer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

pthread_mutex_t cflame__sink_lock = PTHREAD_MUTEX_INITIALIZER;
extern int cflame__session_stream;
extern size_t cflame__session_ring;


#define COUNT_MAX (UINT64_C(1) << 53) /* FORMAT.md rule 5 */

typedef struct strbuf_s {
  char *p;
  size_t len, cap;
  int oom;
} strbuf_t;

typedef struct entry_s {
  size_t off, len; /* stack text in the batch buffer */
  uint64_t ns;
} entry_t;

/* Stacks with their counts; merged = sorted bytewise, one entry per stack. */
typedef struct batch_s {
  strbuf_t text;
  entry_t *e;
  size_t n, cap;
} batch_t;

static void batch_free(batch_t *b);

static struct {
  cflame_guard_t *guard;    /* installed guard, or NULL */
  cflame_guard_t *dropped;  /* every guard ever dropped */
  cflame_flame_opts_t opts;
  cflame__writer_t w;
  uint64_t total_ns;        /* grand total written (rule 5) */
  uint64_t forked_session;  /* session inherited by a fork child */
  batch_t batch;     /* aggregate: all stacks of one flush */
  batch_t retired;   /* aggregate rewrite: exited threads' totals */
  int64_t rewrite_at;       /* offset where a rewritten file starts, or -1 */
  uint64_t reentry_seen;    /* REENTRY count already reported */
  uint64_t lines;           /* lines written, not yet in the counters */
} sink;

static uint64_t session_counter;
static int flame_on, fmt_on;
int cflame__want_fields;

/* --- sessions -------------------------------------------------------------- */

static void publish_live(uint64_t live) {
  int fast = live && ld_relaxed(&cflame__clock_mode) == CFLAME__CLOCK_TSC &&
             !ld_relaxed(&cflame__session_stream);
  st_release(&cflame__fast, fast ? live : CFLAME__FAST_NONE);
  st_release(&cflame__live, live);
}

/* Threads record while any sink is installed. A flame sink always starts a
 * fresh session (fresh trees); a fmt sink joins the current one. */
uint64_t cflame__session_open(int flame) {
  uint64_t live = ld_relaxed(&cflame__live);
  if (flame || live == 0)
    live = ++session_counter;
  if (flame)
    flame_on = 1;
  else
    fmt_on = 1;
  st_relaxed(&cflame__want_fields,
             fmt_on || (flame_on && sink.opts.fields_in_frame));
  publish_live(live);
  return live;
}

void cflame__session_close(int flame) {
  if (flame)
    flame_on = 0;
  else
    fmt_on = 0;
  st_relaxed(&cflame__want_fields,
             fmt_on || (flame_on && sink.opts.fields_in_frame));
  if (!flame_on && !fmt_on)
    publish_live(0);
}

int cflame__flame_recording(uint64_t session) {
  return sink.guard && sink.guard->session == session;
}

/* --- small buffers ----------------------------------------------------- */

/* Room for n more bytes (and a NUL); 0, or -1 with oom set. */
static int sb_reserve(strbuf_t *b, size_t n) {
  if (b->len + n + 1 <= b->cap)
    return 0;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < b->len + n + 1)
    cap *= 2;
  char *p = realloc(b->p, cap);
  if (!p) {
    b->oom = 1;
    return -1;
  }
  b->p = p;
  b->cap = cap;
  return 0;
}

static void sb_put(strbuf_t *b, const char *s, size_t n) {
  if (sb_reserve(b, n) != 0)
    return;
  memcpy(b->p + b->len, s, n);
  b->len += n;
}

static void sb_free(strbuf_t *b) {
  free(b->p);
  memset(b, 0, sizeof *b);
}

static inline size_t dec_back(char *end, uint64_t v);

static size_t u64_dec(char *out, uint64_t v) {
  char tmp[20];
  size_t n = dec_back(tmp + sizeof tmp, v);
  memcpy(out, tmp + sizeof tmp - n, n);
  return n;
}

/* --- frame text -------------------------------------------------------- */

static const char truncated_frame[] = "[truncated]";

/* The frame of a callsite under this session's options, built once. */
static void put_frame(strbuf_t *b, uint32_t id) {
  if (id == CFLAME__ID_TRUNCATED) {
    sb_put(b, truncated_frame, sizeof truncated_frame - 1);
    return;
  }
  cflame__site_t *s = cflame__registry_site(id);
  if (!s) {
    sb_put(b, "[unknown]", 9);
    return;
  }
  uint64_t session = sink.guard->session;
  if (s->frame_session != session || !s->frame) {
    strbuf_t f = {0};
    if (sink.opts.module_path && s->target[0]) {
      sb_put(&f, s->target, strlen(s->target));
      sb_put(&f, "::", 2);
    }
    sb_put(&f, s->name, strlen(s->name));
    if (s->fields && sink.opts.fields_in_frame) {
      sb_put(&f, "{", 1);
      sb_put(&f, s->fields, s->fields_len);
      sb_put(&f, "}", 1);
    }
    if (sink.opts.file_and_line) {
      char num[24];
      sb_put(&f, ":", 1);
      sb_put(&f, s->file, strlen(s->file));
      sb_put(&f, ":", 1);
      sb_put(&f, num, u64_dec(num, (uint64_t)(s->line < 0 ? 0 : s->line)));
    }
    if (f.oom) {
      sb_free(&f);
      sb_put(b, s->name, strlen(s->name));
      return;
    }
    free(s->frame);
    s->frame = f.p;
    s->frame_len = f.len;
    s->frame_session = session;
  }
  sb_put(b, s->frame, s->frame_len);
}

static const char *root_of(const cflame__thread_t *t, char buf[24]);

/* The stack "root;frame;...;frame" of node `index` of t, extending t's cache
 * up to that node. Nodes are numbered in creation order, so a parent's text
 * always exists first. A rename of the thread rebuilds the cache. */
static void text_check(cflame__thread_t *t) {
  cflame__text_t *x = &t->text;
  if (cflame_unlikely(x->session != sink.guard->session ||
                      x->name_version != t->name_version)) {
    x->count = 0;
    x->len = 0;
    x->session = sink.guard->session;
    x->name_version = t->name_version;
  }
}

__attribute__((noinline)) static int text_build(cflame__thread_t *t,
                                                uint32_t index,
                                                const char **p, size_t *len);

/* Call text_check(t) first (once per batch). */
static inline int node_text(cflame__thread_t *t, uint32_t index,
                            const char **p, size_t *len) {
  cflame__text_t *x = &t->text;
  if (cflame_likely(index < x->count)) {
    *p = x->buf + x->off[index];
    *len = x->n[index];
    return 0;
  }
  return text_build(t, index, p, len);
}

static int text_build(cflame__thread_t *t, uint32_t index, const char **p,
                      size_t *len) {
  cflame__text_t *x = &t->text;
  while (x->count <= index) {
    uint32_t i = x->count;
    if (i == x->cap_nodes) {
      uint32_t c = x->cap_nodes ? x->cap_nodes * 2 : 64;
      uint32_t *off = realloc(x->off, c * sizeof *off);
      if (off)
        x->off = off;
      uint32_t *n = realloc(x->n, c * sizeof *n);
      if (n)
        x->n = n;
      if (!off || !n)
        return -1;
      x->cap_nodes = c;
    }
    strbuf_t b = {x->buf, x->len, x->cap, 0};
    size_t start = b.len;
    if (i > 0) {
      cflame__node_t *node = cflame__node_at(t, i);
      /* The parent's text moves if b grows: reserve, then copy by offset. */
      size_t plen = x->n[node->parent];
      if (sb_reserve(&b, plen) == 0) {
        memcpy(b.p + b.len, b.p + x->off[node->parent], plen);
        b.len += plen;
        sb_put(&b, ";", 1);
        put_frame(&b, node->cs_id);
      }
    } else {
      char buf[24];
      const char *root = root_of(t, buf);
      sb_put(&b, root, strlen(root));
    }
    /* 8 bytes of slack after the text, for write_line's word copies. */
    int bad = b.oom || sb_reserve(&b, 8) != 0 || b.len > UINT32_MAX;
    x->buf = b.p; /* it may have moved even if something failed */
    x->cap = b.cap;
    if (bad)
      return -1;
    x->off[i] = (uint32_t)start;
    x->n[i] = (uint32_t)(b.len - start);
    x->len = b.len;
    x->count = i + 1;
  }
  *p = x->buf + x->off[index];
  *len = x->n[index];
  return 0;
}

static const char *root_of(const cflame__thread_t *t, char buf[24]) {
  return sink.opts.threads_collapsed ? "all-threads"
                                     : cflame__thread_label(t, buf);
}

/* Appends "root;frame;...;frame" of node `index` of thread t. */
static void put_stack(strbuf_t *b, cflame__thread_t *t, uint32_t index) {
  const char *p;
  size_t len;
  text_check(t);
  if (node_text(t, index, &p, &len) != 0) {
    b->oom = 1;
    return;
  }
  sb_put(b, p, len);
}

/* Clamps a count to rule 5; returns 0 if nothing may be written. */
static uint64_t admit(uint64_t ns) {
  if (ns > COUNT_MAX) {
    cflame__report(CFLAME_ERR_COUNT, "a count above 2^53 ns was clamped");
    ns = COUNT_MAX;
  }
  if (sink.total_ns + ns > COUNT_MAX) {
    cflame__report(CFLAME_ERR_COUNT, "the file total reached 2^53 ns; "
                                     "later counts are dropped");
    ns = COUNT_MAX - sink.total_ns;
  }
  sink.total_ns += ns;
  return ns;
}

static const char digit_pairs[201] =
    "0001020304050607080910111213141516171819"
    "2021222324252627282930313233343536373839"
    "4041424344454647484950515253545556575859"
    "6061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

/* Digits of v, written backwards from end, two at a time; returns the
 * count. */
static inline size_t dec_back(char *end, uint64_t v) {
  char *q = end;
  while (v >= 100) {
    unsigned r = (unsigned)(v % 100);
    v /= 100;
    q -= 2;
    q[0] = digit_pairs[2 * r];
    q[1] = digit_pairs[2 * r + 1];
  }
  if (v >= 10) {
    q -= 2;
    q[0] = digit_pairs[2 * v];
    q[1] = digit_pairs[2 * v + 1];
  } else {
    *--q = (char)('0' + v);
  }
  return (size_t)(end - q);
}

/* Writes "stack count\n", formatted straight into the writer's buffer.
 * `slack`: 8 readable bytes follow the stack text (node texts have them). */
static inline void write_line(const char *stack, size_t len, uint64_t ns,
                              int slack) {
  cflame__writer_t *w = &sink.w;
  char *p = cflame_likely(w->cap - w->len >= len + 22)
                ? w->buf + w->len
                : cflame__writer_room(w, len + 22);
  if (cflame_unlikely(!p)) { /* a line longer than the whole buffer */
    char num[24];
    num[0] = ' ';
    size_t n = 1 + u64_dec(num + 1, ns);
    num[n++] = '\n';
    cflame__writer_put(&sink.w, stack, len);
    cflame__writer_put(&sink.w, num, n);
  } else {
    /* Stacks are short: word copies beat a call to memcpy. They may read
     * up to 7 bytes past the text (the text buffer keeps that slack) and
     * write up to 7 past it (the room has 22 to spare). */
    if (slack && len <= 128) {
      for (size_t i = 0; i < len; i += 8) {
        uint64_t v;
        memcpy(&v, stack + i, 8);
        memcpy(p + i, &v, 8);
      }
    } else {
      memcpy(p, stack, len);
    }
    p[len] = ' ';
    size_t n = 1; /* digits of ns, counted to write them in place */
    for (uint64_t ten = 10; n < 20 && ns >= ten; ten *= 10)
      n++;
    dec_back(p + len + 1 + n, ns);
    p[len + 1 + n] = '\n';
    cflame__writer_commit(w, len + n + 2);
  }
  sink.lines++;
}

/* --- stream mode ------------------------------------------------------- */

void cflame__flame_drain(cflame__thread_t *t) {
  cflame__clock_calibrate();
  text_check(t);
  uint64_t head = ld_acquire(&t->head);
  for (uint64_t i = t->tail; i < head; i++) {
    const cflame__rec_t *r = &t->ring[i & t->ring_mask];
    if (r->node == 0 && !sink.opts.empty_samples)
      continue;
    uint64_t ns = admit(cflame__clock_to_ns(r->ticks));
    const char *p;
    size_t len;
    if (ns == 0 || node_text(t, r->node, &p, &len) != 0)
      continue;
    write_line(p, len, ns, 1);
  }
  st_release(&t->tail, head);
  fetch_add(&cflame__counters.lines_written, sink.lines);
  sink.lines = 0;
}

/* --- aggregate mode ---------------------------------------------------- */


static entry_t *batch_slot(batch_t *b) {
  if (b->n == b->cap) {
    size_t c = b->cap ? b->cap * 2 : 256;
    entry_t *e = realloc(b->e, c * sizeof *e);
    if (!e) {
      b->text.oom = 1;
      return NULL;
    }
    b->e = e;
    b->cap = c;
  }
  return &b->e[b->n];
}

static void batch_add(batch_t *b, const char *stack, size_t len,
                      uint64_t ns) {
  entry_t *e = batch_slot(b);
  if (!e)
    return;
  *e = (entry_t){b->text.len, len, ns};
  sb_put(&b->text, stack, len);
  b->n++;
}

static void batch_clear(batch_t *b) {
  b->text.len = 0;
  b->text.oom = 0;
  b->n = 0;
}

static void batch_free(batch_t *b) {
  sb_free(&b->text);
  free(b->e);
  memset(b, 0, sizeof *b);
}

static const char *sort_base; /* qsort has no context argument in C11 */

static int entry_cmp(const void *a, const void *b) {
  const entry_t *x = a, *y = b;
  size_t n = x->len < y->len ? x->len : y->len;
  int c = memcmp(sort_base + x->off, sort_base + y->off, n);
  if (c)
    return c;
  return (x->len > y->len) - (x->len < y->len);
}

/* Sorts, sums equal stacks and compacts the text. */
static void batch_merge(batch_t *b) {
  if (b->n == 0 || b->text.oom)
    return;
  sort_base = b->text.p;
  qsort(b->e, b->n, sizeof *b->e, entry_cmp);
  batch_t m = {0};
  for (size_t i = 0; i < b->n;) {
    uint64_t ns = 0;
    size_t j = i;
    for (; j < b->n && entry_cmp(&b->e[i], &b->e[j]) == 0; j++)
      ns = ns + b->e[j].ns > COUNT_MAX ? COUNT_MAX : ns + b->e[j].ns;
    batch_add(&m, b->text.p + b->e[i].off, b->e[i].len, ns);
    i = j;
  }
  if (m.text.oom) {
    batch_free(&m);
    return;
  }
  batch_free(b);
  *b = m;
}

static void batch_write(const batch_t *b) {
  if (b->text.oom) {
    cflame__report(CFLAME_ERR_WRITE, "out of memory formatting a flush");
    return;
  }
  for (size_t i = 0; i < b->n; i++) {
    uint64_t ns = admit(b->e[i].ns);
    if (ns)
      write_line(b->text.p + b->e[i].off, b->e[i].len, ns, 0);
  }
}

/* Adds t's stacks to b: the time since the last flush, or with
 * `cumulative` all of it. */
static void collect(cflame__thread_t *t, batch_t *b, int cumulative) {
  uint32_t n = ld_acquire(&t->nnodes);
  for (uint32_t i = 0; i < n; i++) {
    cflame__node_t *node = cflame__node_at(t, i);
    uint64_t self = ld_relaxed(&node->self);
    if ((int64_t)self < 0) /* TSC skew between cores: see the fast path */
      self = 0;
    uint64_t ns;
    if (cumulative) {
      ns = cflame__clock_to_ns(self);
    } else {
      if (self <= node->flushed)
        continue;
      ns = cflame__clock_to_ns(self) - cflame__clock_to_ns(node->flushed);
      node->flushed = self;
    }
    if (ns == 0 || (i == 0 && !sink.opts.empty_samples))
      continue;
    entry_t *e = batch_slot(b);
    if (!e)
      return;
    size_t off = b->text.len;
    put_stack(&b->text, t, i);
    *e = (entry_t){off, b->text.len - off, ns};
    b->n++;
  }
}

/* --- flush ------------------------------------------------------------- */

/* Writes what every thread recorded; frees threads that have exited.
 * Aggregate output to a regular file is rewritten whole at each flush, so
 * the file is always one merged, sorted set of stacks; elsewhere each flush
 * appends the stacks that grew since the previous one. */
static int flush_locked(void) {
  uint64_t live = sink.guard->session;
  uint64_t reentry = ld_relaxed(&cflame__counters.errors[CFLAME_ERR_REENTRY]);
  if (reentry != sink.reentry_seen) {
    sink.reentry_seen = reentry;
    cflame__report_counted(CFLAME_ERR_REENTRY, "%llu span(s) from signal handlers "
                                       "interrupted cflame and were dropped",
                   (unsigned long long)reentry);
  }
  int stream = sink.opts.mode == CFLAME_FLAME_STREAM;
  int rewrite = !stream && sink.rewrite_at >= 0;
  cflame__clock_calibrate();
  batch_clear(&sink.batch);
  size_t retired = sink.retired.n;
  pthread_mutex_lock(&cflame__threads_lock);
  cflame__thread_t **pp = &cflame__threads;
  while (*pp) {
    cflame__thread_t *t = *pp;
    if (ld_acquire(&t->session) == live) {
      if (stream)
        cflame__flame_drain(t);
      else if (rewrite && t->dead) /* its totals outlive it */
        collect(t, &sink.retired, 1);
      else
        collect(t, &sink.batch, rewrite);
    }
    if (t->dead) {
      *pp = t->next;
      cflame__stack_free(t);
    } else {
      pp = &t->next;
    }
  }
  pthread_mutex_unlock(&cflame__threads_lock);
  if (rewrite) {
    if (sink.retired.n != retired)
      batch_merge(&sink.retired);
    for (size_t i = 0; i < sink.retired.n; i++)
      batch_add(&sink.batch, sink.retired.text.p + sink.retired.e[i].off,
                sink.retired.e[i].len, sink.retired.e[i].ns);
    int e = cflame__plat_truncate(sink.w.fd, sink.rewrite_at);
    if (e < 0) {
      cflame__report(CFLAME_ERR_WRITE, "cannot rewind the output: %s",
                     strerror(-e));
      st_relaxed(&cflame__counters.last_errno, -e);
    }
    sink.total_ns = 0;
  }
  if (!stream) {
    batch_merge(&sink.batch);
    batch_write(&sink.batch);
  }
  fetch_add(&cflame__counters.lines_written, sink.lines);
  sink.lines = 0;
  int rc = cflame__writer_flush(&sink.w);
  return rc < 0 ? CFLAME_EIO : 0;
}

/* --- guard ------------------------------------------------------------- */

static void at_exit(void) {
  cflame__stack_at_exit();
  pthread_mutex_lock(&cflame__sink_lock);
  cflame_guard_t *g = sink.guard;
  cflame_guard_t *f = cflame__fmt_current();
  pthread_mutex_unlock(&cflame__sink_lock);
  if (g)
    (void)cflame_guard_drop(g);
  if (f)
    (void)cflame_guard_drop(f);
}

static void fork_prepare(void) {
  pthread_mutex_lock(&cflame__sink_lock);
  pthread_mutex_lock(&cflame__threads_lock);
}

static void fork_parent(void) {
  pthread_mutex_unlock(&cflame__threads_lock);
  pthread_mutex_unlock(&cflame__sink_lock);
}

static void fork_child(void) {
  /* The child records nothing and never writes the parent's data: its
   * copy of the buffer and the trees are the parent's to write. */
  cflame__stack_after_fork_child();
  cflame__fmt_after_fork_child();
  publish_live(0);
  flame_on = fmt_on = 0;
  if (sink.guard) {
    sink.forked_session = sink.guard->session;
    cflame__writer_discard(&sink.w);
    sink.guard = NULL;
  }
  pthread_mutex_unlock(&cflame__threads_lock);
  pthread_mutex_unlock(&cflame__sink_lock);
}

static pthread_once_t hooks_once = PTHREAD_ONCE_INIT;
static void hooks(void) {
  atexit(at_exit);
  at_quick_exit(at_exit);
  cflame__plat_atfork(fork_prepare, fork_parent, fork_child);
}

void cflame__hooks(void) {
  pthread_once(&hooks_once, hooks);
}

cflame_flame_opts_t cflame_flame_opts_default(void) {
  cflame_flame_opts_t o;
  memset(&o, 0, sizeof o);
  o.mode = CFLAME_FLAME_AGGREGATE;
  o.empty_samples = true;
  o.threads_collapsed = false;
  o.module_path = true;
  o.file_and_line = false;
  o.fields_in_frame = false;
  o.buffer_size = 64 * 1024;
  o.stream_records = 4096;
  return o;
}

static int install(cflame_write_fn fn, void *ctx, int fd, int own_fd,
                   const cflame_flame_opts_t *opts_in, cflame_guard_t **out) {
  cflame_flame_opts_t opts =
      opts_in ? *opts_in : cflame_flame_opts_default();
  int rc = 0;
  if (!out || (opts.mode != CFLAME_FLAME_AGGREGATE &&
               opts.mode != CFLAME_FLAME_STREAM)) {
    rc = CFLAME_EINVAL;
    goto fail;
  }
  *out = NULL;
  if (opts.buffer_size == 0)
    opts.buffer_size = 64 * 1024;
  if (opts.buffer_size > (size_t)1 << 30)
    opts.buffer_size = (size_t)1 << 30;
  size_t ring = 16;
  while (ring < opts.stream_records && ring < ((size_t)1 << 24))
    ring *= 2;
  opts.stream_records = ring;
  cflame__hooks();
  cflame__clock_init();

  cflame_guard_t *g = calloc(1, sizeof *g);
  if (!g) {
    rc = CFLAME_ENOMEM;
    goto fail;
  }
  pthread_mutex_lock(&cflame__sink_lock);
  if (sink.guard) {
    pthread_mutex_unlock(&cflame__sink_lock);
    free(g);
    rc = CFLAME_EBUSY;
    goto fail;
  }
  rc = cflame__writer_open(&sink.w, fn, ctx, fd, own_fd, opts.buffer_size);
  if (rc < 0) {
    pthread_mutex_unlock(&cflame__sink_lock);
    free(g);
    goto fail;
  }
  sink.opts = opts;
  sink.total_ns = 0;
  sink.rewrite_at = fd >= 0 && !fn && opts.mode == CFLAME_FLAME_AGGREGATE
                        ? cflame__plat_regular_offset(fd)
                        : -1;
  sink.guard = g;
  g->kind = CFLAME__GUARD_FLAME;
  st_relaxed(&cflame__session_stream, opts.mode == CFLAME_FLAME_STREAM);
  st_relaxed(&cflame__session_ring, opts.stream_records);
  cflame__clock_session_start();
  cflame__report_reset();
  g->session = cflame__session_open(1);
  pthread_mutex_unlock(&cflame__sink_lock);
  *out = g;
  return 0;
fail:
  if (own_fd && fd >= 0)
    cflame__plat_close(fd);
  return rc;
}

int cflame_flame_fd(int fd, const cflame_flame_opts_t *opts,
                    cflame_guard_t **out) {
  if (fd < 0)
    return CFLAME_EINVAL;
  return install(NULL, NULL, fd, 0, opts, out);
}

int cflame_flame_writer(cflame_write_fn fn, void *ctx,
                        const cflame_flame_opts_t *opts,
                        cflame_guard_t **out) {
  if (!fn)
    return CFLAME_EINVAL;
  return install(fn, ctx, -1, 0, opts, out);
}

static int open_and_install(const char *path, int nofollow,
                            const cflame_flame_opts_t *opts,
                            cflame_guard_t **out) {
  if (!path || !*path || !out)
    return CFLAME_EINVAL;
  pthread_mutex_lock(&cflame__sink_lock);
  int busy = sink.guard != NULL;
  pthread_mutex_unlock(&cflame__sink_lock);
  if (busy)
    return CFLAME_EBUSY; /* checked again when installing */
  int fd = cflame__plat_open_out(path, nofollow);
  if (fd < 0) {
    st_relaxed(&cflame__counters.last_errno, -fd);
    return CFLAME_EOPEN;
  }
  return install(NULL, NULL, fd, 1, opts, out);
}

int cflame_flame_file(const char *path, const cflame_flame_opts_t *opts,
                      cflame_guard_t **out) {
  return open_and_install(path, 0, opts, out);
}

int cflame_guard_flush(cflame_guard_t *g) {
  if (!g)
    return CFLAME_EINVAL;
  cflame__stack_hold(1);
  pthread_mutex_lock(&cflame__sink_lock);
  int rc;
  if (g->kind == CFLAME__GUARD_FMT)
    rc = cflame__fmt_flush(g);
  else if (g->session == sink.forked_session)
    rc = CFLAME_ECHILD;
  else if (g != sink.guard)
    rc = CFLAME_ECLOSED;
  else
    rc = flush_locked();
  pthread_mutex_unlock(&cflame__sink_lock);
  cflame__stack_hold(0);
  return rc;
}

int cflame_guard_drop(cflame_guard_t *g) {
  if (!g)
    return 0;
  cflame__stack_hold(1);
  pthread_mutex_lock(&cflame__sink_lock);
  int rc = 0;
  if (g->kind == CFLAME__GUARD_FMT) {
    rc = cflame__fmt_drop(g);
  } else if (g == sink.guard) {
    rc = flush_locked();
    /* A fmt sink left alone records no slices. */
    st_relaxed(&cflame__session_stream, 0);
    cflame__session_close(1);
    if (cflame__writer_close(&sink.w) < 0)
      rc = CFLAME_EIO;
    sink.guard = NULL;
    g->next = sink.dropped;
    sink.dropped = g;
    batch_free(&sink.batch);
    batch_free(&sink.retired);
  } else if (g->session == sink.forked_session) {
    g->next = sink.dropped;
    sink.dropped = g;
    sink.forked_session = 0;
  }
  pthread_mutex_unlock(&cflame__sink_lock);
  cflame__stack_hold(0);
  return rc;
}

/* --- environment --------------------------------------------------------- */

static int env_bool(const char *var, bool *out) {
  const char *v = cflame__plat_getenv(var);
  if (!v || !*v)
    return 0;
  if (!strcmp(v, "1") || !strcmp(v, "true") || !strcmp(v, "yes") ||
      !strcmp(v, "on")) {
    *out = true;
  } else if (!strcmp(v, "0") || !strcmp(v, "false") || !strcmp(v, "no") ||
             !strcmp(v, "off")) {
    *out = false;
  } else {
    cflame__report(CFLAME_ERR_CONFIG,
                   "%s: expected 0/1/true/false/yes/no/on/off; ignored", var);
    return -1;
  }
  return 0;
}

int cflame_init_env(cflame_guard_t **out) {
  if (!out)
    return CFLAME_EINVAL;
  *out = NULL;
  const char *path = cflame__plat_getenv("CFLAME_FLAME");
  if (!path || !*path)
    return 0;
  cflame_flame_opts_t o = cflame_flame_opts_default();
  const char *mode = cflame__plat_getenv("CFLAME_FLAME_MODE");
  if (mode && *mode) {
    if (!strcmp(mode, "aggregate"))
      o.mode = CFLAME_FLAME_AGGREGATE;
    else if (!strcmp(mode, "stream"))
      o.mode = CFLAME_FLAME_STREAM;
    else
      cflame__report(CFLAME_ERR_CONFIG,
                     "CFLAME_FLAME_MODE: expected aggregate or stream; "
                     "using aggregate");
  }
  (void)env_bool("CFLAME_FLAME_EMPTY_SAMPLES", &o.empty_samples);
  (void)env_bool("CFLAME_FLAME_THREADS_COLLAPSED", &o.threads_collapsed);
  (void)env_bool("CFLAME_FLAME_MODULE_PATH", &o.module_path);
  (void)env_bool("CFLAME_FLAME_FILE_AND_LINE", &o.file_and_line);
  (void)env_bool("CFLAME_FLAME_FIELDS_IN_FRAME", &o.fields_in_frame);
  const char *clock = cflame__plat_getenv("CFLAME_CLOCK");
  if (clock && *clock) {
    int rc = CFLAME_EINVAL;
    if (!strcmp(clock, "auto"))
      rc = cflame_clock_use(CFLAME_CLOCK_AUTO);
    else if (!strcmp(clock, "tsc"))
      rc = cflame_clock_use(CFLAME_CLOCK_TSC);
    else if (!strcmp(clock, "monotonic"))
      rc = cflame_clock_use(CFLAME_CLOCK_MONOTONIC);
    if (rc < 0)
      cflame__report(CFLAME_ERR_CONFIG,
                     "CFLAME_CLOCK: expected auto, tsc or monotonic (usable "
                     "here); ignored");
  }
  return open_and_install(path, 1, &o, out);
}
