/* Whole files and scratch directories for cflame's tests. */
#include "files.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

const char *file_read(const char *path, char **buf, size_t *len,
                      int *errnum) {
  *buf = NULL;
  *len = 0;
  errno = 0;
  FILE *f = fopen(path, "rb");
  if (!f) {
    *errnum = errno;
    return "cannot open";
  }
  size_t cap = 4096, have = 0, n;
  char *b = malloc(cap);
  while (b && (n = fread(b + have, 1, cap - have - 1, f)) > 0) {
    have += n;
    if (cap - have < 2) {
      char *p = realloc(b, cap *= 2);
      if (!p)
        free(b);
      b = p;
    }
  }
  *errnum = !b ? ENOMEM : ferror(f) ? (errno ? errno : EIO) : 0;
  fclose(f);
  if (*errnum) {
    free(b);
    return "cannot read";
  }
  b[have] = '\0';
  *buf = b;
  *len = have;
  return NULL;
}

char *slurp(const char *path, size_t *len) {
  char *buf;
  size_t n;
  int errnum;
  if (file_read(path, &buf, &n, &errnum))
    return NULL;
  if (len)
    *len = n;
  return buf;
}

int tmpdir_make(char *dir, size_t size, const char *tag) {
  int n = snprintf(dir, size, "/tmp/cflame-%s-XXXXXX", tag);
  if (n < 0 || (size_t)n >= size)
    return -1;
  return mkdtemp(dir) ? 0 : -1;
}

int tmpdir_remove(const char *dir) {
  char cmd[256];
  int n = snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (n < 0 || (size_t)n >= sizeof cmd)
    return -1;
  return system(cmd) == 0 ? 0 : -1;
}
