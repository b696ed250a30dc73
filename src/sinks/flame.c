/* The flame sink: folded stacks from the call trees (aggregate) or from the
 * enter/exit records (stream), through the public sink interface. */
#include "flame.h"
#include "builtin.h"
#include "platform.h"

#include <stdlib.h>
#include <string.h>

/* --- per-thread state ---------------------------------------------------- */

static fthread_t *fthread(const cflame_thread_t *t, cflame_guard_t *g) {
  void **slot = cflame_thread_data(t, g);
  if (!slot)
    return NULL;
  if (!*slot)
    *slot = calloc(1, sizeof(fthread_t));
  return *slot;
}

/* Room for n nodes in ft's per-node arrays (new ones zero). */
static int fthread_room(fthread_t *ft, uint32_t n) {
  if (n <= ft->cap)
    return 0;
  uint32_t c = ft->cap ? ft->cap : 64;
  while (c < n)
    c *= 2;
  uint64_t *b = realloc(ft->base, c * sizeof *b);
  if (b)
    ft->base = b;
  uint64_t *fl = realloc(ft->flushed, c * sizeof *fl);
  if (fl)
    ft->flushed = fl;
  if (!b || !fl)
    return -1;
  memset(ft->base + ft->cap, 0, (c - ft->cap) * sizeof *b);
  memset(ft->flushed + ft->cap, 0, (c - ft->cap) * sizeof *fl);
  ft->cap = c;
  return 0;
}

static void thread_done(void *ud, cflame_guard_t *g, const cflame_thread_t *t,
                        void *data) {
  (void)ud, (void)g, (void)t;
  fthread_t *ft = data;
  free(ft->base);
  free(ft->flushed);
  cflame__flame_text_free(&ft->text);
  free(ft);
}

/* t's node self ticks, from node 0 up to n: with cflame's own cost taken
 * out (the compensate option), else as recorded; NULL for "as recorded". */
static const uint64_t *own_ticks(flame_t *f, const cflame_thread_t *t,
                                 uint32_t n) {
  if (!f->opts.compensate || n == 0)
    return NULL;
  if (n > f->own_cap) {
    uint64_t *p = realloc(f->own, n * sizeof *p);
    if (!p)
      return NULL; /* out of memory: this flush as recorded */
    f->own = p;
    f->own_cap = n;
  }
  return cflame_thread_own_ticks(t, f->own, n) == (int)n ? f->own : NULL;
}

static uint64_t self_of(const uint64_t *own, const cflame_node_t *node) {
  if (own)
    return own[node->index];
  return node->self_ticks; /* never below zero: cflame_thread_node */
}

/* A sink installed while threads already record counts from now on. */
typedef struct visit_s {
  flame_t *f;
  cflame_guard_t *g;
  batch_t *batch;
  batch_t *retired;
  int rewrite;
} visit_t;

static int baseline(void *ctx, const cflame_thread_t *t) {
  visit_t *v = ctx;
  uint32_t n = cflame_thread_nodes(t);
  fthread_t *ft = fthread(t, v->g);
  if (!ft || fthread_room(ft, n) != 0)
    return 0;
  const uint64_t *own = own_ticks(v->f, t, n);
  for (uint32_t i = 0; i < n; i++) {
    cflame_node_t node;
    if (cflame_thread_node(t, i, &node) == 0)
      ft->base[i] = ft->flushed[i] = self_of(own, &node);
  }
  return 0;
}

static void attach(void *ud, cflame_guard_t *g) {
  visit_t v = {ud, g, NULL, NULL, 0};
  if (((flame_t *)ud)->opts.mode == CFLAME_FLAME_AGGREGATE)
    (void)cflame_sink_each_thread(g, baseline, &v);
}

/* --- stream mode ------------------------------------------------------------ */

static void records(void *ud, cflame_guard_t *g, const cflame_thread_t *t,
                    const cflame_record_t *r, size_t n) {
  flame_t *f = ud;
  fthread_t *ft = fthread(t, g);
  if (!ft)
    return;
  cflame__flame_text_check(f, t, ft);
  /* Locals, since every byte written to the output may alias *ft. */
  int begun = ft->begun, empty = f->opts.empty_samples;
  uint32_t cur = ft->cur;
  uint64_t last = ft->last;
  for (size_t i = 0; i < n; i++) {
    uint64_t at = r[i].ns;
    if (begun && at > last && (cur != 0 || empty)) {
      uint64_t ns = cflame__flame_admit(f, at - last);
      const char *p;
      size_t len;
      if (ns && cflame__flame_node_text(f, t, ft, cur, &p, &len) == 0)
        cflame__flame_line(f, p, len, ns, 1);
    }
    /* The first record a sink sees of a thread (normally its BEGIN) only
     * says where the thread is. */
    begun = 1;
    cur = r[i].node;
    if (at > last || r[i].kind == CFLAME_RECORD_BEGIN)
      last = at;
  }
  ft->begun = begun;
  ft->cur = cur;
  ft->last = last;
  fetch_add(&cflame__counters.lines_written, f->lines);
  f->lines = 0;
}

/* --- aggregate mode ----------------------------------------------------------- */

/* Adds t's stacks to b: the time since the last flush, or with
 * `cumulative` all of it since the sink attached. */
static void collect(visit_t *v, const cflame_thread_t *t, fthread_t *ft,
                    batch_t *b, int cumulative) {
  flame_t *f = v->f;
  uint32_t n = cflame_thread_nodes(t);
  if (fthread_room(ft, n) != 0) {
    b->text.oom = 1;
    return;
  }
  cflame__flame_text_check(f, t, ft);
  const uint64_t *own = own_ticks(f, t, n);
  for (uint32_t i = 0; i < n; i++) {
    cflame_node_t node;
    if (cflame_thread_node(t, i, &node) != 0)
      break;
    /* Ticks kept, converted at both ends with today's rate: a refined
     * rate never makes a grown stack look smaller. */
    uint64_t self = self_of(own, &node), ns;
    if (cumulative)
      ns = self > ft->base[i] ? cflame_sink_ticks_ns(self) -
                                    cflame_sink_ticks_ns(ft->base[i])
                              : 0;
    else
      ns = self > ft->flushed[i] ? cflame_sink_ticks_ns(self) -
                                       cflame_sink_ticks_ns(ft->flushed[i])
                                 : 0;
    if (ns == 0 || (i == 0 && !f->opts.empty_samples))
      continue;
    const char *p;
    size_t len;
    /* Out of memory: what was not added stays unflushed, for next time. */
    if (cflame__flame_node_text(f, t, ft, i, &p, &len) != 0 ||
        (b == v->retired ? cflame__batch_add(b, p, len, ns)
                         : cflame__batch_ref(b, &ft->text.buf,
                                             (size_t)(p - ft->text.buf), len,
                                             ns)) != 0) {
      b->text.oom = 1;
      return;
    }
    if (!cumulative)
      ft->flushed[i] = self;
  }
}

static int collect_thread(void *ctx, const cflame_thread_t *t) {
  visit_t *v = ctx;
  fthread_t *ft = fthread(t, v->g);
  if (!ft) {
    v->batch->text.oom = 1;
    return 0;
  }
  cflame_thread_info_t info;
  cflame_thread_info(t, &info);
  if (v->rewrite && info.exited) /* its totals outlive it */
    collect(v, t, ft, v->retired, 1);
  else
    collect(v, t, ft, v->batch, v->rewrite);
  return 0;
}

/* Aggregate output to a regular file is rewritten whole at each flush, so
 * the file is always one merged, sorted set of stacks; elsewhere each flush
 * appends the stacks that grew since the previous one. */
static int flush(void *ud, cflame_guard_t *g) {
  flame_t *f = ud;
  if (f->opts.mode == CFLAME_FLAME_AGGREGATE) {
    int rewrite = f->rewrite_at >= 0;
    cflame__batch_clear(&f->batch);
    size_t retired = f->retired.n;
    visit_t v = {f, g, &f->batch, &f->retired, rewrite};
    (void)cflame_sink_each_thread(g, collect_thread, &v);
    if (rewrite) {
      /* An exited thread is reaped after this flush: what could not be
       * kept of it is lost, and counted. */
      if (f->retired.text.oom) {
        cflame__report(CFLAME_FAULT_DROPPED, "out of memory keeping an "
                       "exited thread's stacks; some of its time is lost");
        f->retired.text.oom = 0;
      }
      if (f->retired.n != retired) {
        cflame__batch_merge(&f->retired);
        cflame__batch_compact(&f->retired);
      }
      for (size_t i = 0; i < f->retired.n && !f->batch.text.oom; i++)
        (void)cflame__batch_ref(&f->batch, &f->retired.text.p,
                                f->retired.e[i].off, f->retired.e[i].len,
                                f->retired.e[i].ns);
      cflame__batch_merge(&f->batch);
      if (f->batch.text.oom) {
        /* The file keeps the previous flush, whole; the next one retries
         * (rewrites are cumulative). */
        cflame__report(CFLAME_FAULT_DROPPED, "out of memory during a "
                       "flush; the output keeps the previous one");
        return CFLAME_ENOMEM;
      }
      int e = cflame__writer_rewind(&f->w, f->rewrite_at);
      if (e < 0) {
        cflame__report(CFLAME_FAULT_WRITE, "cannot rewind the output: %s",
                       strerror(-e));
        st_relaxed(&cflame__counters.last_errno, -e);
      }
      f->total_ns = 0;
    } else {
      cflame__batch_merge(&f->batch);
      if (f->batch.text.oom)
        cflame__report(CFLAME_FAULT_DROPPED, "out of memory during a "
                       "flush; the stacks left out follow at the next one");
    }
    cflame__batch_write(f, &f->batch);
  }
  fetch_add(&cflame__counters.lines_written, f->lines);
  f->lines = 0;
  return cflame__writer_flush(&f->w) < 0 ? CFLAME_EIO : 0;
}

/* --- lifecycle ------------------------------------------------------------------ */

static void flame_free(flame_t *f) {
  free(f->own);
  cflame__batch_free(&f->batch);
  cflame__batch_free(&f->retired);
  cflame__flame_frames_free(f);
  free(f);
}

static int close_sink(void *ud, cflame_guard_t *g) {
  (void)g;
  flame_t *f = ud;
  int rc = cflame__writer_close(&f->w) < 0 ? CFLAME_EIO : 0;
  flame_free(f);
  return rc;
}

static void forked(void *ud, cflame_guard_t *g) {
  (void)g;
  flame_t *f = ud;
  cflame__writer_discard(&f->w);
  flame_free(f);
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
  o.compensate = false;
  o.buffer_size = 64 * 1024;
  o.stream_records = 4096;
  return o;
}

static int install(cflame_write_fn fn, void *ctx, int fd, int own_fd,
                   const cflame_flame_opts_t *opts_in, cflame_guard_t **out) {
  cflame_flame_opts_t opts =
      opts_in ? *opts_in : cflame_flame_opts_default();
  int rc = CFLAME_EINVAL;
  flame_t *f = NULL;
  if (!out || (opts.mode != CFLAME_FLAME_AGGREGATE &&
               opts.mode != CFLAME_FLAME_STREAM))
    goto fail;
  *out = NULL;
  if (opts.buffer_size == 0)
    opts.buffer_size = 64 * 1024;
  if (opts.buffer_size > (size_t)1 << 30)
    opts.buffer_size = (size_t)1 << 30;
  rc = CFLAME_ENOMEM;
  f = calloc(1, sizeof *f);
  if (!f)
    goto fail;
  f->opts = opts;
  rc = cflame__writer_open(&f->w, fn, ctx, fd, own_fd, opts.buffer_size);
  if (rc < 0)
    goto fail;
  own_fd = 0; /* the writer owns it now */
  f->rewrite_at = fd >= 0 && !fn && opts.mode == CFLAME_FLAME_AGGREGATE
                      ? cflame__plat_regular_offset(fd)
                      : -1;
  cflame_sink_t vt;
  memset(&vt, 0, sizeof vt);
  vt.size = sizeof vt;
  vt.name = "flame";
  vt.needs = (opts.mode == CFLAME_FLAME_STREAM ? CFLAME_SINK_RECORDS
                                                : CFLAME_SINK_TREES) |
             (opts.fields_in_frame ? CFLAME_SINK_FIELDS : 0u) |
             (opts.compensate && opts.mode == CFLAME_FLAME_AGGREGATE
                  ? CFLAME_SINK_PRECISE
                  : 0u);
  vt.ring = opts.stream_records;
  vt.attach = attach;
  vt.records = records;
  vt.flush = flush;
  vt.thread_done = thread_done;
  vt.close = close_sink;
  vt.forked = forked;
  rc = cflame_sink_install(&vt, f, out);
  if (rc == 0)
    return 0;
  (void)cflame__writer_close(&f->w);
  flame_free(f);
  return rc;
fail:
  if (f)
    flame_free(f);
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

/* Opens path (O_NOFOLLOW if asked) and installs a flame sink on it. */
int cflame__flame_open(const char *path, int nofollow,
                       const cflame_flame_opts_t *opts, cflame_guard_t **out) {
  if (!out)
    return CFLAME_EINVAL;
  int fd = cflame__writer_open_path(path, nofollow);
  return fd < 0 ? fd : install(NULL, NULL, fd, 1, opts, out);
}

int cflame_flame_file(const char *path, const cflame_flame_opts_t *opts,
                      cflame_guard_t **out) {
  return cflame__flame_open(path, 0, opts, out);
}
