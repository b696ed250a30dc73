#include "testutil.h"

#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

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

typedef struct sum_s {
  char *stack;
  unsigned long long count;
} sum_t;

static int sum_cmp(const void *a, const void *b) {
  return strcmp(((const sum_t *)a)->stack, ((const sum_t *)b)->stack);
}

char *folded_sums(const char *text) {
  size_t n = 0, cap = 64, total = 1;
  sum_t *e = malloc(cap * sizeof *e);
  for (const char *p = text; p && *p;) {
    const char *nl = strchr(p, '\n'), *sp = nl;
    if (!nl)
      break;
    while (sp > p && *sp != ' ')
      sp--;
    if (n == cap)
      e = realloc(e, (cap *= 2) * sizeof *e);
    e[n].stack = strndup(p, (size_t)(sp - p));
    e[n].count = strtoull(sp + 1, NULL, 10);
    total += (size_t)(sp - p) + 24;
    n++;
    p = nl + 1;
  }
  qsort(e, n, sizeof *e, sum_cmp);
  char *out = malloc(total);
  size_t len = 0;
  out[0] = '\0';
  for (size_t i = 0; i < n;) {
    size_t j = i;
    unsigned long long c = 0;
    for (; j < n && strcmp(e[i].stack, e[j].stack) == 0; j++)
      c += e[j].count;
    len += (size_t)sprintf(out + len, "%s %llu\n", e[i].stack, c);
    i = j;
  }
  for (size_t i = 0; i < n; i++)
    free(e[i].stack);
  free(e);
  return out;
}

char *text_without_pid(const char *s) {
  char pid[32];
  int pl = snprintf(pid, sizeof pid, "\"pid\":%ld", (long)getpid());
  char *r = malloc(strlen(s) + 1);
  if (!r)
    return NULL;
  size_t n = 0;
  while (*s) {
    if (!strncmp(s, pid, (size_t)pl)) {
      memcpy(r + n, "\"pid\":P", 7);
      n += 7;
      s += pl;
    } else {
      r[n++] = *s++;
    }
  }
  r[n] = '\0';
  return r;
}

int wait_child(pid_t pid) {
  int status;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR)
      return -1;
  return status;
}
