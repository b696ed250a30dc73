#include "testutil.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

long memout_write(void *ctx, const void *buf, size_t len) {
  memout_t *m = ctx;
  m->calls++;
  if (m->eintr_every && m->calls % m->eintr_every == 0)
    return -EINTR;
  if (m->fail_errno > 0 && m->len >= m->fail_at)
    return -m->fail_errno;
  if (m->fail_errno > 0 && m->len + len > m->fail_at)
    len = m->fail_at - m->len; /* a short write, then the fault */
  if (m->max_chunk && len > m->max_chunk)
    len = m->max_chunk;
  if (m->len + len + 1 > m->cap) {
    size_t cap = m->cap ? m->cap : 1024;
    while (cap < m->len + len + 1)
      cap *= 2;
    char *p = realloc(m->buf, cap);
    if (!p)
      return -ENOMEM;
    m->buf = p;
    m->cap = cap;
  }
  memcpy(m->buf + m->len, buf, len);
  m->len += len;
  m->buf[m->len] = '\0';
  return (long)len;
}

const char *memout_str(memout_t *m) {
  return m->buf ? m->buf : "";
}

void memout_free(memout_t *m) {
  free(m->buf);
  memset(m, 0, sizeof *m);
}

_Thread_local uint64_t tclock_ns;

uint64_t tclock(void *ctx) {
  (void)ctx;
  return tclock_ns;
}

void tclock_install(uint64_t start) {
  tclock_ns = start;
  (void)cflame_clock_set(tclock, NULL);
}

void errlog_fn(void *ctx, cflame_fault_t kind, const char *msg) {
  errlog_t *e = ctx;
  e->count[kind]++;
  strncpy(e->last, msg, sizeof e->last - 1);
  e->last[sizeof e->last - 1] = '\0';
}
