/* Private to cflame: the buffered writer. Used under the sink lock only. */
#ifndef CFLAME_WRITER_H
#define CFLAME_WRITER_H

#include "report.h"

typedef struct cflame__writer_s {
  cflame_write_fn fn;
  void *ctx;
  int fd;       /* for the built-in fd writer; -1 otherwise */
  int own_fd;   /* close fd at writer close */
  char *buf;
  size_t cap, len;
  size_t torn;  /* leading bytes that finish a line cut by an error */
  int err;      /* first errno since the last flush, 0 if none */
} cflame__writer_t;

/* Opens path for an output (see cflame__plat_open_out): an fd, or
 * CFLAME_EINVAL / CFLAME_EOPEN with the errno recorded and reported. */
int cflame__writer_open_path(const char *path, int nofollow);
/* Sets up a writer around fn/ctx (fn NULL: write to fd). */
int cflame__writer_open(cflame__writer_t *w, cflame_write_fn fn, void *ctx,
                        int fd, int own_fd, size_t cap);
/* Appends p[0..n), writing the buffer out whenever it fills. */
void cflame__writer_put(cflame__writer_t *w, const char *p, size_t n);
/* Room for n bytes at the end of the buffer, writing out the complete lines
 * before it or growing the buffer if needed; NULL only if out of memory.
 * Follow with commit. */
char *cflame__writer_room(cflame__writer_t *w, size_t n);
/* Adds the n bytes just written at the room pointer. */
static inline void cflame__writer_commit(cflame__writer_t *w, size_t n) {
  w->len += n;
}
/* Writes out the buffer. Returns 0 or the first -errno seen since the
 * previous flush (the error is then cleared). */
int cflame__writer_flush(cflame__writer_t *w);
/* Flushes, frees, closes an owned fd; safe twice. Returns as flush. */
int cflame__writer_close(cflame__writer_t *w);
/* Forgets what is buffered (a cut line's rest too) and cuts the fd's file
 * at offset, to write it anew from there. Returns 0 or -errno. */
int cflame__writer_rewind(cflame__writer_t *w, int64_t offset);
/* Closes without writing what is buffered (fork child). */
void cflame__writer_discard(cflame__writer_t *w);

#endif /* CFLAME_WRITER_H */
