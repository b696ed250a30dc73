/* The sink table: which sinks are installed, what they need, the session
 * word that recording threads compare, and handing records to sinks. */
#include "clock.h"
#include "core.h"
#include "platform.h"

#include <stdlib.h>

pthread_mutex_t cflame__sink_lock = PTHREAD_MUTEX_INITIALIZER;
uint64_t cflame__live;
uint64_t cflame__fast = CFLAME__FAST_NONE;
int cflame__rec_on;
size_t cflame__rec_ring = 4096;
int cflame__want_fields;
uint64_t cflame__session_t0;
cflame__slot_t cflame__slots[CFLAME_SINKS_MAX];
uint32_t cflame__installed;

static uint64_t sessions; /* last session number handed out */
static uint32_t epoch;    /* bumped at every change within a session */

uint32_t cflame__sinks_with(uint32_t what) {
  uint32_t bits = 0;
  for (int i = 0; i < CFLAME_SINKS_MAX; i++)
    if ((cflame__installed >> i & 1) && (cflame__slots[i].vt.needs & what))
      bits |= 1u << i;
  return bits;
}

void cflame__sinks_publish(int fresh) {
  uint64_t live = 0;
  if (cflame__installed) {
    if (fresh || ld_relaxed(&cflame__live) == 0) {
      sessions++;
      epoch = 0;
      cflame__session_t0 = cflame__now();
    } else {
      epoch = (epoch + 1) & 0xffffu;
    }
    live = sessions << 16 | epoch;
  }
  int rec = cflame__sinks_with(CFLAME_SINK_RECORDS) != 0;
  st_relaxed(&cflame__rec_on, rec);
  st_relaxed(&cflame__want_fields,
             cflame__sinks_with(CFLAME_SINK_FIELDS) != 0);
  int fast = live && !rec &&
             ld_relaxed(&cflame__clock_mode) == CFLAME__CLOCK_TSC;
  st_release(&cflame__fast, fast ? live : CFLAME__FAST_NONE);
  st_release(&cflame__live, live);
}

/* --- records ---------------------------------------------------------------- */

#define BATCH 256

static void deliver(cflame__thread_t *t, const cflame_record_t *r, size_t n,
                    uint32_t sinks) {
  for (int i = 0; i < CFLAME_SINKS_MAX; i++)
    if ((sinks >> i & 1) && cflame__slots[i].vt.records)
      cflame__slots[i].vt.records(cflame__slots[i].ud, cflame__slots[i].g, t,
                                  r, n);
}

void cflame__sinks_drain(cflame__thread_t *t) {
  uint32_t sinks = cflame__sinks_with(CFLAME_SINK_RECORDS);
  /* Only while its owner cannot be setting the ring up (see thread.c). */
  if (!t->dead && ld_acquire(&t->session) != cflame__live)
    return;
  if (!t->ring)
    return;
  uint64_t head = ld_acquire(&t->head);
  if (sinks && t->tail != head) {
    cflame__clock_calibrate();
    uint64_t t0 = cflame__clock_to_ns(cflame__session_t0);
    cflame_record_t batch[BATCH];
    size_t n = 0;
    for (uint64_t i = t->tail; i < head; i++) {
      const cflame__rec_t *r = &t->ring[i & t->ring_mask];
      uint64_t ns = cflame__clock_to_ns(r->ticks);
      batch[n].ns = ns > t0 ? ns - t0 : 0;
      batch[n].node = r->node;
      batch[n].kind = r->kind;
      if (++n == BATCH) {
        deliver(t, batch, n, sinks);
        n = 0;
      }
    }
    if (n)
      deliver(t, batch, n, sinks);
  }
  st_release(&t->tail, head);
}

int cflame__ring_full(cflame__thread_t *t) {
  t->tail_seen = ld_acquire(&t->tail);
  if (t->head - t->tail_seen <= t->ring_mask)
    return 0;
  if (t->holding) { /* a signal handler, while this thread holds the lock */
    fetch_add(&cflame__counters.faults[CFLAME_FAULT_REENTRY], 1);
    return -1;
  }
  /* Nobody drained us in time: hand our own records over. This is the one
   * place a span can wait on another thread (a flush in progress). */
  int cancel = cflame__plat_nocancel(); /* sinks may block in write */
  cflame__hold(t, 1);
  pthread_mutex_lock(&cflame__sink_lock);
  cflame__sinks_drain(t);
  pthread_mutex_unlock(&cflame__sink_lock);
  cflame__hold(t, 0);
  cflame__plat_cancel_restore(cancel);
  t->tail_seen = ld_acquire(&t->tail);
  return 0;
}
