/* The pprof sink's setup and teardown: installing it on a file, an fd or a
 * write callback, and letting it go at drop or in a fork child. */
#include "pprof.h"
#include "writer.h"

#include <stdlib.h>
#include <string.h>

static void pprof_free(pprof_t *p) {
  cflame__pprof_close(p->enc);
  if (p->own_fd && p->fd >= 0)
    cflame__plat_close(p->fd);
  cflame__pprof_retired_free(&p->retired);
  free(p->site_loc);
  free(p->text);
  free(p->stack);
  free(p);
}

static int close_sink(void *ud, cflame_guard_t *g) {
  (void)g;
  pprof_free(ud);
  return 0;
}

/* Nothing is buffered between flushes: the child only lets go. */
static void forked(void *ud, cflame_guard_t *g) {
  (void)g;
  pprof_free(ud);
}

cflame_pprof_opts_t cflame_pprof_opts_default(void) {
  cflame_pprof_opts_t o;
  memset(&o, 0, sizeof o);
  o.empty_samples = true;
  o.module_path = true;
  o.fields_in_frame = false;
  o.compensate = false;
  return o;
}

static long fd_write(void *ctx, const void *buf, size_t len) {
  return cflame__plat_write((int)(intptr_t)ctx, buf, len);
}

static int install(cflame_write_fn fn, void *ctx, int fd, int own_fd,
                   const cflame_pprof_opts_t *opts, cflame_guard_t **out) {
  pprof_t *p = out ? calloc(1, sizeof *p) : NULL;
  if (!p) {
    if (own_fd)
      cflame__plat_close(fd);
    return out ? CFLAME_ENOMEM : CFLAME_EINVAL;
  }
  *out = NULL;
  p->opts = opts ? *opts : cflame_pprof_opts_default();
  p->fd = fd;
  p->own_fd = own_fd;
  p->rewrite_at = fd >= 0 && !fn ? cflame__plat_regular_offset(fd) : -1;
  p->enc = fn ? cflame__pprof_open(fn, ctx)
              : cflame__pprof_open(fd_write, (void *)(intptr_t)fd);
  if (!p->enc) {
    pprof_free(p);
    return CFLAME_ENOMEM;
  }
  cflame_sink_t vt;
  memset(&vt, 0, sizeof vt);
  vt.size = sizeof vt;
  vt.name = "pprof";
  vt.needs =
      CFLAME_SINK_TREES | (p->opts.fields_in_frame ? CFLAME_SINK_FIELDS : 0u) |
      (p->opts.compensate ? CFLAME_SINK_PRECISE : 0u);
  cflame__pprof_callbacks(&vt);
  vt.close = close_sink;
  vt.forked = forked;
  int rc = cflame_sink_install(&vt, p, out);
  if (rc != 0)
    pprof_free(p);
  return rc;
}

int cflame_pprof_fd(int fd, const cflame_pprof_opts_t *opts,
                    cflame_guard_t **out) {
  if (fd < 0)
    return CFLAME_EINVAL;
  return install(NULL, NULL, fd, 0, opts, out);
}

int cflame_pprof_writer(cflame_write_fn fn, void *ctx,
                        const cflame_pprof_opts_t *opts, cflame_guard_t **out) {
  if (!fn)
    return CFLAME_EINVAL;
  return install(fn, ctx, -1, 0, opts, out);
}

/* Opens path (O_NOFOLLOW if asked) and installs a pprof sink on it. */
int cflame__pprof_sink_open(const char *path, int nofollow,
                            const cflame_pprof_opts_t *opts,
                            cflame_guard_t **out) {
  if (!out)
    return CFLAME_EINVAL;
  int fd = cflame__writer_open_path(path, nofollow);
  return fd < 0 ? fd : install(NULL, NULL, fd, 1, opts, out);
}

int cflame_pprof_file(const char *path, const cflame_pprof_opts_t *opts,
                      cflame_guard_t **out) {
  return cflame__pprof_sink_open(path, 0, opts, out);
}
