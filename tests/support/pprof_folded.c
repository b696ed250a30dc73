/* Per-stack totals of a decoded pprof profile against folded-stack text:
 * the check that the pprof and folded outputs of one run agree. */
#include "pprof_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  const char *s;
  size_t n;
  unsigned long long count;
} line_t;

static int cmp_line(const void *a, const void *b) {
  const line_t *x = a, *y = b;
  int c = memcmp(x->s, y->s, x->n < y->n ? x->n : y->n);
  return c ? c : (x->n > y->n) - (x->n < y->n);
}

/* Parses "stack count\n" lines into a sorted, merged array; -1 if a line
 * has no count. */
static int parse(const char *buf, size_t len, line_t **out, size_t *nout,
                 char *msg, size_t cap) {
  size_t n = 0, k = 0;
  for (size_t i = 0; i < len; i++)
    n += buf[i] == '\n';
  line_t *l = malloc((n + 1) * sizeof *l);
  if (!l)
    return snprintf(msg, cap, "out of memory"), -1;
  for (const char *p = buf, *end = buf + len; p < end;) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    const char *e = nl ? nl : end, *sp = e;
    while (sp > p && sp[-1] != ' ')
      sp--;
    char *stop;
    unsigned long long c = sp > p ? strtoull(sp, &stop, 10) : 0;
    if (sp == p || sp == e || stop != e) {
      free(l);
      return snprintf(msg, cap, "folded line %zu has no count", k + 1), -1;
    }
    l[k++] = (line_t){p, (size_t)(sp - 1 - p), c};
    p = e + 1;
  }
  if (k)
    qsort(l, k, sizeof *l, cmp_line);
  size_t m = 0;
  for (size_t i = 0; i < k; i++) {
    if (m && !cmp_line(&l[m - 1], &l[i]))
      l[m - 1].count += l[i].count;
    else
      l[m++] = l[i];
  }
  *out = l;
  *nout = m;
  return 0;
}

static double tolerance; /* relative; 0: exact */

void pprof_compare_tolerance(double rel) {
  tolerance = rel;
}

static int differ(unsigned long long a, unsigned long long b) {
  unsigned long long d = a > b ? a - b : b - a;
  /* With a tolerance, also a few ns of rounding on small counts. */
  return d != 0 && (tolerance == 0 || d > 1000) &&
         (double)d > tolerance * (double)(a > b ? a : b);
}

int pprof_compare_folded(const pprof_result_t *r, const char *buf, size_t len,
                         char *msg, size_t cap) {
  line_t *l;
  size_t n, i = 0, j = 0;
  if (parse(buf, len, &l, &n, msg, cap))
    return -1;
  int rc = 0;
  while (!rc && (i < r->nstacks || j < n)) {
    const pprof_stack_t *s = i < r->nstacks ? &r->stacks[i] : NULL;
    line_t key = {s ? s->stack : "", s ? strlen(s->stack) : 0, 0};
    int c = !s ? 1 : j == n ? -1 : cmp_line(&key, &l[j]);
    if (c < 0 && s->wall == 0) { /* folded output never writes 0 */
      i++;
    } else if (c < 0) {
      snprintf(msg, cap, "stack \"%s\" (wall %lld) is not in the folded text",
               s->stack, s->wall);
      rc = -1;
    } else if (c > 0) {
      snprintf(msg, cap, "folded stack \"%.*s\" (%llu) is not in the profile",
               (int)l[j].n, l[j].s, l[j].count);
      rc = -1;
    } else if (differ((unsigned long long)s->wall, l[j].count)) {
      snprintf(msg, cap, "stack \"%s\": wall %lld in the profile, %llu folded",
               s->stack, s->wall, l[j].count);
      rc = -1;
    } else {
      i++;
      j++;
    }
  }
  free(l);
  return rc;
}
