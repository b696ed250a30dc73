/* Events and the fmt sink: one human-readable line per event, with the
 * thread, its span context and the fields, like tracing's fmt layer. */
#include "clock.h"
#include "internal.h"
#include "writer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct {
  cflame_guard_t *guard; /* installed fmt guard, or NULL (sink lock) */
  cflame_guard_t *dropped;
  cflame_fmt_opts_t opts;
  cflame__writer_t w;
  uint64_t start; /* event clock at install */
  uint64_t forked_session;
} fmt;
static int fmt_level = -1; /* least level printed; -1 = no fmt sink */

cflame_fmt_opts_t cflame_fmt_opts_default(void) {
  cflame_fmt_opts_t o;
  memset(&o, 0, sizeof o);
  o.level = CFLAME_TRACE;
  o.span_context = true;
  o.thread_name = true;
  o.buffer_size = 16 * 1024;
  return o;
}

static int install(cflame_write_fn fn, void *ctx, int fd,
                   const cflame_fmt_opts_t *in, cflame_guard_t **out) {
  if (!out)
    return CFLAME_EINVAL;
  *out = NULL;
  cflame_fmt_opts_t o = in ? *in : cflame_fmt_opts_default();
  if (o.level < CFLAME_TRACE || o.level > CFLAME_ERROR)
    return CFLAME_EINVAL;
  cflame_guard_t *g = calloc(1, sizeof *g);
  if (!g)
    return CFLAME_ENOMEM;
  cflame__hooks();
  cflame__clock_init();
  pthread_mutex_lock(&cflame__sink_lock);
  int rc = fmt.guard ? CFLAME_EBUSY
                     : cflame__writer_open(&fmt.w, fn, ctx, fd, 0,
                                           o.buffer_size ? o.buffer_size
                                                         : 16 * 1024);
  if (rc == 0) {
    fmt.opts = o;
    fmt.guard = g;
    fmt.start = cflame__clock_event_ns();
    g->kind = CFLAME__GUARD_FMT;
    g->session = cflame__session_open(0);
    st_release(&fmt_level, o.level);
  }
  pthread_mutex_unlock(&cflame__sink_lock);
  if (rc != 0) {
    free(g);
    return rc;
  }
  *out = g;
  return 0;
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

int cflame__fmt_flush(cflame_guard_t *g) {
  if (g->session == fmt.forked_session && g != fmt.guard)
    return CFLAME_ECHILD;
  if (g != fmt.guard)
    return CFLAME_ECLOSED;
  return cflame__writer_flush(&fmt.w) < 0 ? CFLAME_EIO : 0;
}

int cflame__fmt_drop(cflame_guard_t *g) {
  if (g != fmt.guard)
    return 0;
  st_release(&fmt_level, -1);
  int rc = cflame__writer_close(&fmt.w) < 0 ? CFLAME_EIO : 0;
  fmt.guard = NULL;
  g->next = fmt.dropped;
  fmt.dropped = g;
  cflame__session_close(0);
  return rc;
}

cflame_guard_t *cflame__fmt_current(void) {
  return fmt.guard;
}

void cflame__fmt_after_fork_child(void) {
  if (!fmt.guard)
    return;
  /* Like the flame sink, the child stays quiet: its buffered bytes are the
   * parent's to write. */
  fmt.forked_session = fmt.guard->session;
  cflame__writer_discard(&fmt.w);
  fmt.guard = NULL;
  st_relaxed(&fmt_level, -1);
}

/* --- events -------------------------------------------------------------- */

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

static int is_frame_mark(const cflame_field_t *f, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (f[i].type == CFLAME_FIELD_BOOL && f[i].v.b && f[i].key &&
        strcmp(f[i].key, "frame_mark") == 0)
      return 1;
  return 0;
}

void cflame_event_emit(cflame_callsite_t *cs, const cflame_field_t *f,
                       size_t n) {
  if (!cs)
    return;
  uint32_t id = cflame__registry_register(cs);
  if (!id || ld_relaxed(&cs->interest_) != 2)
    return;
  fetch_add(&cflame__counters.events, 1);
  if (f && is_frame_mark(f, n))
    fetch_add(&cflame__counters.frame_marks, 1);
  int least = ld_acquire(&fmt_level);
  if (least < 0 || cs->level < least)
    return;
  int level = cs->level < CFLAME_TRACE   ? CFLAME_TRACE
              : cs->level > CFLAME_ERROR ? CFLAME_ERROR
                                         : cs->level;
  char line[4096];
  uint64_t ns = cflame__clock_event_ns();
  pthread_mutex_lock(&cflame__sink_lock);
  if (!fmt.guard) {
    pthread_mutex_unlock(&cflame__sink_lock);
    return;
  }
  uint64_t t = ns > fmt.start ? ns - fmt.start : 0;
  cflame_fmt_opts_t o = fmt.opts;
  pthread_mutex_unlock(&cflame__sink_lock);

  size_t len = (size_t)snprintf(line, sizeof line, "%4llu.%06llus %s ",
                                (unsigned long long)(t / 1000000000u),
                                (unsigned long long)(t / 1000u % 1000000u),
                                level_names[level]);
  if (o.thread_name) {
    len += cflame__stack_root(line + len, sizeof line - len);
    len = put_text(line, sizeof line, len, ": ");
  }
  if (o.span_context) {
    size_t c = cflame__stack_context(line + len, sizeof line - len - 2);
    if (c) {
      len += c;
      len = put_text(line, sizeof line, len, ": ");
    }
  }
  len = put_text(line, sizeof line, len, cs->name ? cs->name : "");
  if (f && n) {
    char text[CFLAME__FIELDS_MAX];
    cflame__fields_format(text, sizeof text, f, n);
    len = put_text(line, sizeof line, len, " ");
    len = put_text(line, sizeof line, len, text);
  }
  if (len > sizeof line - 2)
    len = sizeof line - 2;
  line[len++] = '\n';

  pthread_mutex_lock(&cflame__sink_lock);
  if (fmt.guard) {
    cflame__writer_put(&fmt.w, line, len);
    if (cflame__writer_flush(&fmt.w) < 0)
      cflame__report(CFLAME_ERR_DROPPED, "fmt sink: an event line was lost");
  }
  pthread_mutex_unlock(&cflame__sink_lock);
}
