/* Whole files and scratch directories for cflame's tests. */
#include "files.h"

#include <stdio.h>
#include <stdlib.h>

char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  size_t cap = 4096, have = 0, n;
  char *buf = malloc(cap);
  while (buf && (n = fread(buf + have, 1, cap - have - 1, f)) > 0) {
    have += n;
    if (cap - have < 2) {
      char *p = realloc(buf, cap *= 2);
      if (!p)
        free(buf);
      buf = p;
    }
  }
  fclose(f);
  if (!buf)
    return NULL;
  buf[have] = '\0';
  if (len)
    *len = have;
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
