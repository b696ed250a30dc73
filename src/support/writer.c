/* The buffered writer: whole buffers out, EINTR and short writes retried,
 * and errors that never tear a line once the fault clears. */
#include "writer.h"
#include "platform.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static long fd_write(void *ctx, const void *buf, size_t len) {
  return cflame__plat_write((int)(intptr_t)ctx, buf, len);
}

int cflame__writer_open(cflame__writer_t *w, cflame_write_fn fn, void *ctx,
                        int fd, int own_fd, size_t cap) {
  memset(w, 0, sizeof *w);
  if (cap < 4096)
    cap = 4096;
  w->buf = malloc(cap);
  if (!w->buf)
    return CFLAME_ENOMEM;
  w->cap = cap;
  w->fd = fd;
  w->own_fd = own_fd;
  if (fn) {
    w->fn = fn;
    w->ctx = ctx;
  } else {
    w->fn = fd_write;
    w->ctx = (void *)(intptr_t)fd;
  }
  return 0;
}

/* Writes buf[0..upto) out and keeps buf[upto..len) (the start of a line
 * not yet complete), so the output only ever ends between lines. On a
 * failure after `done` bytes, the rest of the line that was cut is kept too
 * (the next write completes it) and the whole lines after it are dropped
 * and counted. */
static void drain(cflame__writer_t *w, size_t upto) {
  size_t done = 0, keep = 0;
  int retries = 0;
  while (done < upto) {
    long n = w->fn(w->ctx, w->buf + done, upto - done);
    if (n > 0) {
      done += (size_t)n;
      retries = 0;
      continue;
    }
    if (n == -EINTR || (n == 0 && ++retries < 3))
      continue;
    int e = n == 0 ? EIO : (int)-n;
    if (!w->err)
      w->err = e;
    st_relaxed(&cflame__counters.last_errno, e);
    if (done < w->torn || (done > 0 && w->buf[done - 1] != '\n')) {
      char *nl = memchr(w->buf + done, '\n', upto - done);
      keep = nl ? (size_t)(nl - (w->buf + done)) + 1 : upto - done;
    }
    fetch_add(&cflame__counters.bytes_lost, upto - done - keep);
    cflame__report(CFLAME_FAULT_WRITE, "write failed: %s; %zu bytes dropped",
                   strerror(e), upto - done - keep);
    break;
  }
  fetch_add(&cflame__counters.bytes_written, done);
  /* Kept: the cut line's rest, then the unwritten partial line. */
  memmove(w->buf, w->buf + done, keep);
  memmove(w->buf + keep, w->buf + upto, w->len - upto);
  w->len = keep + (w->len - upto);
  w->torn = keep;
}

/* Writes out what can go without cutting a line. */
static void drain_lines(cflame__writer_t *w) {
  size_t end = w->len;
  while (end > 0 && w->buf[end - 1] != '\n')
    end--;
  /* A line longer than the whole buffer has to go out in pieces. */
  drain(w, end ? end : w->len);
}

char *cflame__writer_room(cflame__writer_t *w, size_t n) {
  if (!w->buf)
    return NULL;
  if (w->cap - w->len < n)
    drain_lines(w);
  if (w->cap - w->len < n) {
    /* A line longer than the buffer: grow it, so that every write still
     * ends between lines (a deep stack of long names can reach ~2 MiB). */
    size_t cap = w->cap;
    while (cap - w->len < n && cap <= ((size_t)1 << 30))
      cap *= 2;
    char *p = cap - w->len >= n ? realloc(w->buf, cap) : NULL;
    if (!p)
      return NULL;
    w->buf = p;
    w->cap = cap;
  }
  return w->buf + w->len;
}

void cflame__writer_put(cflame__writer_t *w, const char *p, size_t n) {
  if (!w->buf)
    return;
  while (n > 0) {
    if (w->len == w->cap) {
      drain_lines(w);
      if (w->len == w->cap) { /* nothing could be made room for */
        fetch_add(&cflame__counters.bytes_lost, n);
        return;
      }
    }
    size_t room = w->cap - w->len;
    size_t k = n < room ? n : room;
    memcpy(w->buf + w->len, p, k);
    w->len += k;
    p += k;
    n -= k;
  }
}

int cflame__writer_flush(cflame__writer_t *w) {
  if (!w->buf)
    return 0;
  if (w->len)
    drain(w, w->len);
  int e = w->err;
  w->err = 0;
  return e ? -e : 0;
}

int cflame__writer_close(cflame__writer_t *w) {
  int rc = cflame__writer_flush(w);
  free(w->buf);
  w->buf = NULL;
  w->len = w->cap = 0;
  if (w->own_fd && w->fd >= 0)
    cflame__plat_close(w->fd);
  w->fd = -1;
  w->own_fd = 0;
  return rc;
}

int cflame__writer_rewind(cflame__writer_t *w, int64_t offset) {
  /* What is buffered (the rest of a line cut by an error before, or lines
   * not written) belonged to the old contents: it must not start the new
   * ones. */
  if (w->len)
    fetch_add(&cflame__counters.bytes_lost, w->len);
  w->len = w->torn = 0;
  return w->fd >= 0 ? cflame__plat_truncate(w->fd, offset) : 0;
}

void cflame__writer_discard(cflame__writer_t *w) {
  w->len = w->torn = 0;
  w->err = 0;
  (void)cflame__writer_close(w); /* nothing left to flush: frees, closes */
}

int cflame__writer_open_path(const char *path, int nofollow) {
  if (!path || !*path)
    return CFLAME_EINVAL;
  int fd = cflame__plat_open_out(path, nofollow);
  if (fd < 0) {
    st_relaxed(&cflame__counters.last_errno, -fd);
    cflame__report(CFLAME_FAULT_CONFIG, "cannot open %s: %s", path,
                   strerror(-fd));
    return CFLAME_EOPEN;
  }
  return fd;
}
