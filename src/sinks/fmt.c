/* The fmt sink: one human-readable line per event, with the thread, its
 * span context and the fields, like tracing's fmt layer. */
#include "cflame/sink.h"
#include "field.h"
#include "report.h"
#include "writer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct fmt_s {
  cflame_fmt_opts_t opts;
  cflame__writer_t w;
  uint64_t start; /* event clock at install */
} fmt_t;

cflame_fmt_opts_t cflame_fmt_opts_default(void) {
  cflame_fmt_opts_t o;
  memset(&o, 0, sizeof o);
  o.level = CFLAME_LEVEL_TRACE;
  o.span_context = true;
  o.thread_name = true;
  o.buffer_size = 16 * 1024;
  return o;
}

static const char *const level_names[] = {"TRACE", "DEBUG", " INFO", " WARN",
                                          "ERROR"};

/* Appends s, with controls replaced so an event is always one line. */
static size_t put_text(char *out, size_t cap, size_t len, const char *s) {
  for (; s && *s && len + 1 < cap; s++) {
    unsigned char c = (unsigned char)*s;
    out[len++] = c < 0x20 || c == 0x7f ? '?' : (char)c;
  }
  return len;
}

static void event(void *ud, cflame_guard_t *g, const cflame_event_t *ev) {
  (void)g;
  fmt_t *f = ud;
  if (ev->level < f->opts.level)
    return;
  int level = ev->level < CFLAME_LEVEL_TRACE   ? CFLAME_LEVEL_TRACE
              : ev->level > CFLAME_LEVEL_ERROR ? CFLAME_LEVEL_ERROR
                                               : ev->level;
  uint64_t t = ev->ns > f->start ? ev->ns - f->start : 0;
  char line[4096];
  size_t len = (size_t)snprintf(line, sizeof line, "%4llu.%06llus %s ",
                                (unsigned long long)(t / 1000000000u),
                                (unsigned long long)(t / 1000u % 1000000u),
                                level_names[level]);
  if (f->opts.thread_name) {
    cflame_thread_info_t info;
    const char *name = "thread";
    if (ev->thread) {
      cflame_thread_info(ev->thread, &info);
      name = info.name;
    }
    len = put_text(line, sizeof line, len, name);
    len = put_text(line, sizeof line, len, ": ");
  }
  if (f->opts.span_context) {
    size_t c = cflame_event_context(line + len, sizeof line - len - 2);
    if (c) {
      len += c;
      len = put_text(line, sizeof line, len, ": ");
    }
  }
  if (ev->kind == CFLAME_EVENT_FRAME_MARK) {
    len = put_text(line, sizeof line, len, "frame mark");
    if (ev->message) {
      len = put_text(line, sizeof line, len, " ");
      len = put_text(line, sizeof line, len, ev->message);
    }
  } else {
    len = put_text(line, sizeof line, len, ev->message ? ev->message : "");
  }
  if (ev->fields && ev->nfields) {
    char text[CFLAME__FIELDS_MAX];
    cflame__fields_format(text, sizeof text, ev->fields, ev->nfields);
    len = put_text(line, sizeof line, len, " ");
    len = put_text(line, sizeof line, len, text);
  }
  if (len > sizeof line - 2)
    len = sizeof line - 2;
  line[len++] = '\n';
  cflame__writer_put(&f->w, line, len);
  if (cflame__writer_flush(&f->w) < 0)
    cflame__report(CFLAME_FAULT_DROPPED, "fmt sink: an event line was lost");
}

static void attach(void *ud, cflame_guard_t *g) {
  (void)g;
  ((fmt_t *)ud)->start = cflame_sink_clock_ns();
}

static int flush(void *ud, cflame_guard_t *g) {
  (void)g;
  fmt_t *f = ud;
  return cflame__writer_flush(&f->w) < 0 ? CFLAME_EIO : 0;
}

static int close_sink(void *ud, cflame_guard_t *g) {
  (void)g;
  fmt_t *f = ud;
  int rc = cflame__writer_close(&f->w) < 0 ? CFLAME_EIO : 0;
  free(f);
  return rc;
}

static void forked(void *ud, cflame_guard_t *g) {
  (void)g;
  fmt_t *f = ud;
  /* Like the flame sink, the child stays quiet: its buffered bytes are the
   * parent's to write. */
  cflame__writer_discard(&f->w);
  free(f);
}

static int install(cflame_write_fn fn, void *ctx, int fd,
                   const cflame_fmt_opts_t *in, cflame_guard_t **out) {
  if (!out)
    return CFLAME_EINVAL;
  *out = NULL;
  cflame_fmt_opts_t o = in ? *in : cflame_fmt_opts_default();
  if (o.level < CFLAME_LEVEL_TRACE || o.level > CFLAME_LEVEL_ERROR)
    return CFLAME_EINVAL;
  fmt_t *f = calloc(1, sizeof *f);
  if (!f)
    return CFLAME_ENOMEM;
  f->opts = o;
  int rc = cflame__writer_open(&f->w, fn, ctx, fd, 0,
                               o.buffer_size ? o.buffer_size : 16 * 1024);
  if (rc < 0) {
    free(f);
    return rc;
  }
  cflame_sink_t vt;
  memset(&vt, 0, sizeof vt);
  vt.size = sizeof vt;
  vt.name = "fmt";
  vt.needs = CFLAME_SINK_EVENTS | CFLAME_SINK_FIELDS;
  vt.attach = attach;
  vt.event = event;
  vt.flush = flush;
  vt.close = close_sink;
  vt.forked = forked;
  rc = cflame_sink_install(&vt, f, out);
  if (rc < 0) {
    (void)cflame__writer_close(&f->w);
    free(f);
  }
  return rc;
}

int cflame_fmt_fd(int fd, const cflame_fmt_opts_t *opts,
                  cflame_guard_t **out) {
  if (fd < 0)
    return CFLAME_EINVAL;
  return install(NULL, NULL, fd, opts, out);
}

int cflame_fmt_writer(cflame_write_fn fn, void *ctx,
                      const cflame_fmt_opts_t *opts, cflame_guard_t **out) {
  if (!fn)
    return CFLAME_EINVAL;
  return install(fn, ctx, -1, opts, out);
}
