/* Record rings, one per thread. A span in a signal handler may start its
 * thread's session, so a session's start never calls malloc or free when
 * it can help it: a sink that takes records gives every live thread, at
 * install, a spare ring of the size it asks for (cflame__ring_offer), and
 * the owner takes it up at its session's start (cflame__ring_ready). A ring
 * it leaves is retired, not freed: the next install frees it (sink lock),
 * or the thread's end. Only a thread born after the install allocates its
 * own first ring, at its first span. */
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

static size_t cap(const cflame__rec_t *ring) {
  return (size_t)ring[-1].ticks;
}

void cflame__ring_free(cflame__rec_t *ring) {
  if (ring)
    free(ring - 1);
}

void cflame__rings_free(cflame__thread_t *t) {
  cflame__ring_free(t->ring);
  cflame__ring_free(t->spare);
  cflame__ring_free(t->retired);
}

void cflame__ring_offer(cflame__thread_t *t, size_t n) {
  cflame__ring_free(__atomic_exchange_n(&t->retired, NULL, __ATOMIC_ACQUIRE));
  const cflame__rec_t *r = ld_acquire(&t->ring); /* kept till we free it */
  if (r && cap(r) >= n)
    return;
  cflame__rec_t *fresh = ring_new(n);
  if (fresh) /* a spare the owner did not take is ours to free */
    cflame__ring_free(__atomic_exchange_n(&t->spare, fresh, __ATOMIC_ACQ_REL));
}

int cflame__ring_ready(cflame__thread_t *t, size_t n) {
  cflame__rec_t *r = t->ring;
  if (!r || (cap(r) < n && !ld_acquire(&t->retired))) {
    cflame__rec_t *s = __atomic_exchange_n(&t->spare, NULL, __ATOMIC_ACQ_REL);
    if (s && r && cap(s) <= cap(r)) {
      cflame__ring_free(s); /* no use (nor any reader but us): not offered
                               below the ring's size, so never in practice */
      s = NULL;
    }
    if (!s && !r)
      s = ring_new(n); /* born after the install: its first span */
    if (s) {
      st_release(&t->ring, s);
      if (r) /* freed by the next install, or the thread's end */
        st_release(&t->retired, r);
      r = s;
    }
    if (!r)
      return -1;
  }
  /* Smaller than asked (no spare, or the last one still retired): used as
   * it is, drained more often. */
  t->ring_mask = (n < cap(r) ? n : cap(r)) - 1;
  return 0;
}
