/* Record rings: one per thread, allocated once and kept for the thread's
 * life. A session's start never allocates or frees one, so a span in a
 * signal handler that starts a session allocates nothing: a sink that takes
 * records gives every live thread its ring at install. */
#include "core.h"

#include <stdlib.h>

/* The slot before a ring's first record holds its capacity. */
static cflame__rec_t *ring_new(size_t n) {
  cflame__rec_t *r = malloc((n + 1) * sizeof *r);
  if (!r)
    return NULL;
  r[0].ticks = n;
  return r + 1;
}

void cflame__ring_free(cflame__rec_t *ring) {
  if (ring)
    free(ring - 1);
}

size_t cflame__ring_cap(const cflame__rec_t *ring) {
  return (size_t)ring[-1].ticks;
}

int cflame__ring_give(cflame__thread_t *t, size_t n) {
  if (ld_acquire(&t->ring))
    return 0;
  cflame__rec_t *r = ring_new(n), *none = NULL;
  if (!r)
    return -1;
  /* The owner and an installer may race to give the first one. */
  if (!__atomic_compare_exchange_n(&t->ring, &none, r, 0, __ATOMIC_RELEASE,
                                   __ATOMIC_RELAXED))
    cflame__ring_free(r);
  return 0;
}
