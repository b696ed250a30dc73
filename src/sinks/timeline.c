/* The timeline sink: Chrome Trace Event JSON (array form, one event per
 * line) from the enter/exit records and the events, through the public sink
 * interface. Every line but the last ends in ",\n", so the output only ever
 * stops between events and any prefix loads once "]" is appended; the last
 * line (written at drop) repeats the process name without a comma. */
#include "timeline.h"
#include "builtin.h"
#include "platform.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* --- lines ------------------------------------------------------------------- */

/* Room for one event of `extra` variable bytes plus the fixed members. */
static char *room(tl_t *tl, size_t extra) {
  cflame__writer_t *w = &tl->w;
  if (cflame_likely(w->buf && w->cap - w->len >= extra + 256))
    return w->buf + w->len;
  char *p = cflame__writer_room(w, extra + 256);
  if (!p)
    cflame__tl_dropped("an event (out of memory)");
  return p;
}

static size_t put(char *p, const char *s, size_t n) {
  memcpy(p, s, n);
  return n;
}
#define PUTS(p, lit) put((p), (lit), sizeof(lit) - 1)

/* Ends an event: "},\n" and commit. */
static void end_line(tl_t *tl, char *p, size_t n) {
  n += PUTS(p + n, "},\n");
  cflame__writer_commit(&tl->w, n);
  tl->lines++;
}

/* A thread's timestamp: never before the thread's previous one. */
static uint64_t clamp_ts(tthread_t *th, uint64_t ns) {
  if (ns < th->last)
    return th->last;
  th->last = ns;
  return ns;
}

/* ".ddd" for 0 <= v < 1000 (multiplications for the divisions). */
static inline void put_frac(char *p, unsigned v) {
  unsigned d1 = (v * 41) >> 12, r = v - d1 * 100, d2 = (r * 103) >> 10;
  p[0] = '.';
  p[1] = (char)('0' + d1);
  p[2] = (char)('0' + d2);
  p[3] = (char)('0' + (r - d2 * 10));
}

/* {"ph":PH,"pid":1,"tid":T,"ts":TS for a slice event of th: the text up to
 * the integer microseconds is kept per thread and re-rendered only when
 * they change (consecutive events mostly share them). */
static size_t put_pre(tthread_t *th, char *p, char ph, uint64_t ns) {
  uint64_t us = ns / 1000;
  if (cflame_unlikely(us != th->ts_us || !th->pre_len)) {
    th->pre_len = th->pre_ts + cflame__json_u64(th->pre + th->pre_ts, us);
    th->ts_us = us;
  }
  __builtin_memcpy(p, th->pre, sizeof th->pre);
  p[7] = ph;
  size_t n = th->pre_len;
  put_frac(p + n, (unsigned)(ns - us * 1000));
  return n + 4;
}

/* A duration: short ones without a division loop. */
static size_t put_dur(char *p, uint64_t ns) {
  if (ns >= 1000)
    return cflame__json_ts(p, ns);
  p[0] = '0';
  put_frac(p + 1, (unsigned)ns);
  return 5;
}

/* {"ph":"B"|"E","pid":1,"tid":T,"ts":TS,"name":N[,"args":{...}]} */
static void put_edge(tl_t *tl, tthread_t *th, char ph, uint32_t node,
                     uint64_t ns) {
  const tsite_t *s = tl_site(tl, th, node);
  if (!s)
    return;
  char *p = room(tl, sizeof th->pre + s->len);
  if (!p)
    return;
  size_t n = put_pre(th, p, ph, ns);
  tl_copy16(p + n, s->text, s->len);
  end_line(tl, p, n + s->len);
}

/* {"ph":"X",...,"ts":TS,"dur":D,"name":N} for a span without children. */
static void put_x(tl_t *tl, tthread_t *th, uint32_t node, uint64_t ns,
                  uint64_t end) {
  const tsite_t *s = tl_site(tl, th, node);
  if (!s)
    return;
  char *p = room(tl, sizeof th->pre + s->len);
  if (!p)
    return;
  size_t n = put_pre(th, p, 'X', ns);
  n += PUTS(p + n, ",\"dur\":");
  n += put_dur(p + n, end - ns);
  tl_copy16(p + n, s->text, s->len);
  end_line(tl, p, n + s->len);
}

/* --- slices from records ------------------------------------------------------ */

/* The entered span that is not written yet becomes an open B slice. */
static void settle(tl_t *tl, tthread_t *th) {
  if (!th->pending)
    return;
  uint32_t node = th->pending;
  th->pending = 0;
  if (cflame__tl_push(th, node) != 0) {
    cflame__tl_dropped("a slice (out of memory)");
    return;
  }
  put_edge(tl, th, 'B', node, th->pending_ns);
  tl_held(tl, th);
}

/* Closes and opens slices so that the open ones are exactly the path from
 * the root to `node`. */
static void move_to(tl_t *tl, tthread_t *th, uint32_t node, uint64_t ns) {
  settle(tl, th);
  uint32_t *path = NULL;
  uint32_t len = cflame__tl_path(tl, th, node, &path);
  uint32_t k = 0;
  while (k < len && k < th->depth && th->stack[k] == path[k])
    k++;
  while (th->depth > k)
    put_edge(tl, th, 'E', th->stack[--th->depth], ns);
  for (; k < len; k++) {
    if (cflame__tl_push(th, path[k]) != 0) {
      cflame__tl_dropped("a slice (out of memory)");
      break;
    }
    put_edge(tl, th, 'B', path[k], ns);
  }
}

static void records(void *ud, cflame_guard_t *g, const cflame_thread_t *t,
                    const cflame_record_t *r, size_t n) {
  tl_t *tl = ud;
  tthread_t *th = cflame__tl_thread(tl, g, t);
  if (!th)
    return;
  for (size_t i = 0; i < n; i++) {
    if (cflame_unlikely(r[i].kind == CFLAME_RECORD_SPAN)) { /* names the */
      th->mark = 1, th->mark_id = r[i].ns, th->mark_seq = r[i].node;
      continue; /* next ENTER: registry span ns, its enter node */
    }
    uint64_t ns = clamp_ts(th, r[i].ns);
    uint32_t node = r[i].node;
    uint32_t top = th->pending ? th->pending
                   : th->depth ? th->stack[th->depth - 1]
                               : 0;
    if (!th->begun) { /* where the thread stands when we join it */
      th->begun = 1;
      move_to(tl, th, node, ns);
    } else if (r[i].kind == CFLAME_RECORD_ENTER &&
               tl_parent(tl, th, node) == top && node != 0) {
      settle(tl, th);
      th->pending = node;
      th->pending_ns = ns;
    } else if (r[i].kind == CFLAME_RECORD_EXIT && top != 0 &&
               tl_parent(tl, th, top) == node) {
      if (th->pending) {
        put_x(tl, th, th->pending, th->pending_ns, ns);
        th->pending = 0;
        tl_held(tl, th);
      } else {
        put_edge(tl, th, 'E', top, ns);
        th->depth--;
      }
    } else {
      move_to(tl, th, node, ns);
    }
    if (cflame_unlikely(th->mark)) { /* after its slice began */
      th->mark = 0;
      if (r[i].kind == CFLAME_RECORD_ENTER)
        cflame__tl_span_enter(tl, th, th->mark_id, th->mark_seq, ns);
    }
  }
}

/* --- events -------------------------------------------------------------------- */

static const char *const level_names[] = {"TRACE", "DEBUG", "INFO", "WARN",
                                          "ERROR"};

/* A log event: an instant on its thread; level, target, message and the
 * fields in args. */
static void put_log(tl_t *tl, tthread_t *th, const cflame_event_t *ev,
                    uint64_t ns) {
  cflame_site_info_t si;
  if (cflame_site_info(ev->site, &si) != 0)
    memset(&si, 0, sizeof si);
  const char *msg = ev->message ? ev->message : "";
  size_t ml = strnlen(msg, CFLAME__JSON_ARG_STR_MAX);
  size_t tlen = si.target ? strlen(si.target) : 0;
  size_t args = 2 * CFLAME__JSON_STR_MAX(ml) + CFLAME__JSON_STR_MAX(tlen) +
                TL_ARGS_MAX;
  char *p = room(tl, th->hdr_len + args);
  if (!p)
    return;
  size_t n = PUTS(p, "{\"ph\":\"i\",\"s\":\"t\",");
  n += put(p + n, th->hdr, th->hdr_len);
  n += cflame__json_ts(p + n, ns);
  n += PUTS(p + n, ",\"name\":");
  n += cflame__json_str(p + n, msg, ml);
  int lv = ev->level < 0 ? 0 : ev->level > 4 ? 4 : ev->level;
  n += PUTS(p + n, ",\"args\":{\"level\":\"");
  n += put(p + n, level_names[lv], strlen(level_names[lv]));
  n += PUTS(p + n, "\",\"target\":");
  n += cflame__json_str(p + n, si.target, tlen);
  n += PUTS(p + n, ",\"message\":");
  n += cflame__json_str(p + n, msg, ml);
  size_t dropped = 0;
  size_t a = cflame__json_args(p + n, TL_ARGS_MAX, ev->fields, ev->nfields,
                               &dropped);
  if (a > 2) { /* merge {"k":v} into the open object */
    p[n] = ',';
    n += a;
  } else {
    p[n++] = '}';
  }
  if (dropped)
    cflame__tl_dropped("event fields (too long)");
  end_line(tl, p, n);
}

static void event(void *ud, cflame_guard_t *g, const cflame_event_t *ev) {
  tl_t *tl = ud;
  if (!tl->opts.events)
    return;
  if (ev->kind == CFLAME_EVENT_LOG && ev->level < tl->opts.level)
    return;
  tthread_t *th = ev->thread ? cflame__tl_thread(tl, g, ev->thread) : NULL;
  uint64_t ns = ev->session_ns;
  if (th) {
    settle(tl, th); /* its start is before this event */
    ns = clamp_ts(th, ns);
  }
  const char *name = ev->message;
  size_t nl = name ? strnlen(name, CFLAME__JSON_ARG_STR_MAX) : 0;
  if (ev->kind == CFLAME_EVENT_LOG) {
    if (th)
      put_log(tl, th, ev, ns);
    return;
  }
  if (ev->kind == CFLAME_EVENT_PLOT && !isfinite(ev->value)) {
    cflame__tl_dropped("a plot value (NaN or infinite: JSON has none)");
    return;
  }
  char *p = room(tl, tl->pid_len + CFLAME__JSON_STR_MAX(nl) + 64);
  if (!p)
    return;
  size_t n;
  if (ev->kind == CFLAME_EVENT_PLOT) {
    n = PUTS(p, "{\"ph\":\"C\",");
  } else if (ev->kind == CFLAME_EVENT_FRAME_MARK) {
    n = PUTS(p, "{\"ph\":\"i\",\"s\":\"g\",");
    if (!name) {
      name = "frame";
      nl = 5;
    }
  } else {
    return;
  }
  n += put(p + n, tl->pid, tl->pid_len);
  n += PUTS(p + n, ",\"ts\":");
  n += cflame__json_ts(p + n, ns);
  n += PUTS(p + n, ",\"name\":");
  n += cflame__json_str(p + n, name, nl);
  if (ev->kind == CFLAME_EVENT_PLOT) {
    n += PUTS(p + n, ",\"args\":{\"value\":");
    n += cflame__json_f64(p + n, ev->value);
    p[n++] = '}';
  }
  end_line(tl, p, n);
}

/* --- lifecycle ------------------------------------------------------------------ */

static int flush(void *ud, cflame_guard_t *g) {
  (void)g;
  tl_t *tl = ud;
  /* Spans entered and still open are written as open slices, so the file
   * shows them if the process dies after this flush. */
  for (tthread_t *th = tl->threads; th; th = th->next)
    settle(tl, th);
  fetch_add(&cflame__counters.lines_written, tl->lines);
  tl->lines = 0;
  return cflame__writer_flush(&tl->w) < 0 ? CFLAME_EIO : 0;
}

static void thread_done(void *ud, cflame_guard_t *g, const cflame_thread_t *t,
                        void *data) {
  (void)g, (void)t;
  tl_t *tl = ud;
  tthread_t *th = data;
  /* A thread still inside spans when the sink is dropped (the process is
   * exiting around it, or the guard went early): its slices end at its
   * last record. An exited thread's spans were closed by the core. Only
   * texts cached already are used: t's tree may be gone (fork child). */
  if (th->pending && th->pending < th->known && th->text[th->pending].text) {
    uint32_t node = th->pending;
    th->pending = 0;
    if (cflame__tl_push(th, node) == 0)
      put_edge(tl, th, 'B', node, th->pending_ns);
  }
  th->pending = 0;
  tl_held(tl, th);
  while (th->depth > 0) {
    uint32_t node = th->stack[--th->depth];
    if (node < th->known && th->text[node].text)
      put_edge(tl, th, 'E', node, th->last);
  }
  cflame__tl_thread_free(tl, th);
}

static int close_sink(void *ud, cflame_guard_t *g) {
  (void)g;
  tl_t *tl = ud;
  cflame__tl_spans_end(tl, 1);
  char *p = room(tl, tl->pid_len + CFLAME__JSON_STR_MAX(tl->pname_len));
  if (p) {
    size_t n = cflame__tl_process_line(tl, p);
    n += PUTS(p + n, "}\n]\n");
    cflame__writer_commit(&tl->w, n);
  }
  int rc = cflame__writer_close(&tl->w) < 0 ? CFLAME_EIO : 0;
  cflame__tl_free(tl);
  return rc;
}

static void forked(void *ud, cflame_guard_t *g) {
  (void)g;
  tl_t *tl = ud;
  cflame__tl_spans_end(tl, 0);
  cflame__writer_discard(&tl->w); /* the parent's bytes */
  cflame__tl_free(tl);
}

cflame_timeline_opts_t cflame_timeline_opts_default(void) {
  cflame_timeline_opts_t o;
  memset(&o, 0, sizeof o);
  o.module_path = true;
  o.events = true;
  o.level = CFLAME_LEVEL_TRACE;
  o.buffer_size = 256 * 1024;
  o.ring_records = 16384;
  return o;
}

static int install(cflame_write_fn fn, void *ctx, int fd, int own_fd,
                   const cflame_timeline_opts_t *in, cflame_guard_t **out) {
  cflame_timeline_opts_t o = in ? *in : cflame_timeline_opts_default();
  int rc = CFLAME_EINVAL;
  tl_t *tl = NULL;
  if (!out || o.level < CFLAME_LEVEL_TRACE || o.level > CFLAME_LEVEL_ERROR)
    goto fail;
  *out = NULL;
  if (o.buffer_size == 0)
    o.buffer_size = 256 * 1024;
  if (o.buffer_size > (size_t)1 << 30)
    o.buffer_size = (size_t)1 << 30;
  rc = CFLAME_ENOMEM;
  if (!(tl = cflame__tl_new(&o)))
    goto fail;
  rc = cflame__writer_open(&tl->w, fn, ctx, fd, own_fd, o.buffer_size);
  if (rc < 0)
    goto fail;
  own_fd = 0; /* the writer owns it now */
  char *p = room(tl, tl->pid_len + CFLAME__JSON_STR_MAX(tl->pname_len));
  if (!p)
    goto fail_writer;
  size_t n = PUTS(p, "[\n");
  n += cflame__tl_process_line(tl, p + n);
  end_line(tl, p, n);
  cflame_sink_t vt;
  memset(&vt, 0, sizeof vt);
  vt.size = sizeof vt;
  vt.name = "timeline";
  vt.needs = CFLAME_SINK_RECORDS | CFLAME_SINK_FIELDS | CFLAME_SINK_SPANS |
             (o.events ? CFLAME_SINK_EVENTS : 0u);
  vt.ring = o.ring_records ? o.ring_records : 16384;
  vt.records = records;
  vt.event = event;
  vt.flush = flush;
  vt.thread_done = thread_done;
  vt.close = close_sink;
  vt.forked = forked;
  vt.span = cflame__tl_span_note;
  rc = cflame_sink_install(&vt, tl, out);
  if (rc == 0)
    return 0;
fail_writer:
  cflame__writer_discard(&tl->w);
fail:
  if (tl)
    cflame__tl_free(tl);
  if (own_fd && fd >= 0)
    cflame__plat_close(fd);
  return rc;
}

int cflame_timeline_fd(int fd, const cflame_timeline_opts_t *opts,
                       cflame_guard_t **out) {
  if (fd < 0)
    return CFLAME_EINVAL;
  return install(NULL, NULL, fd, 0, opts, out);
}

int cflame_timeline_writer(cflame_write_fn fn, void *ctx,
                           const cflame_timeline_opts_t *opts,
                           cflame_guard_t **out) {
  if (!fn)
    return CFLAME_EINVAL;
  return install(fn, ctx, -1, 0, opts, out);
}

int cflame__timeline_open(const char *path, int nofollow,
                          const cflame_timeline_opts_t *opts,
                          cflame_guard_t **out) {
  if (!out)
    return CFLAME_EINVAL;
  int fd = cflame__writer_open_path(path, nofollow);
  return fd < 0 ? fd : install(NULL, NULL, fd, 1, opts, out);
}

int cflame_timeline_file(const char *path, const cflame_timeline_opts_t *opts,
                         cflame_guard_t **out) {
  return cflame__timeline_open(path, 0, opts, out);
}
