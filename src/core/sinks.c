/* The sink table: which sinks are installed, what they need, the session
 * word that recording threads compare, and handing records to sinks. */
#include "clock.h"
#include "core.h"
#include "platform.h"

#include <stddef.h>
#include <stdlib.h>

pthread_mutex_t cflame__sink_lock = PTHREAD_MUTEX_INITIALIZER;
uint64_t cflame__live;
uint64_t cflame__fast = CFLAME__FAST_NONE;
int cflame__rec_on;
size_t cflame__rec_ring = 4096;
int cflame__want_fields;
int cflame__want_spans;
int cflame__want_notes;
/* Set for good once span records were on: from then on a drain looks for
 * them (a ring may hold some after their sink went). */
static int spans_ever;
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
      st_relaxed(&cflame__session_t0, cflame__now());
    } else {
      epoch = (epoch + 1) & 0xffffu;
    }
    live = sessions << 16 | epoch;
  }
  int rec = cflame__sinks_with(CFLAME_SINK_RECORDS) != 0;
  st_relaxed(&cflame__rec_on, rec);
  st_relaxed(&cflame__want_fields,
             cflame__sinks_with(CFLAME_SINK_FIELDS) != 0);
  st_relaxed(&cflame__want_notes, cflame__sinks_with(CFLAME_SINK_SPANS) != 0);
  int spans = (cflame__sinks_with(CFLAME_SINK_SPANS) &
               cflame__sinks_with(CFLAME_SINK_RECORDS)) != 0;
  if (spans)
    spans_ever = 1;
  st_relaxed(&cflame__want_spans, spans);
  int tsc = ld_relaxed(&cflame__clock_mode) == CFLAME__CLOCK_TSC;
  int precise = live && tsc && cflame__sinks_with(CFLAME_SINK_PRECISE) != 0;
  st_relaxed(&cflame__precise, precise);
  int fast = live && !rec && !precise && tsc;
  st_release(&cflame__fast, fast ? live : CFLAME__FAST_NONE);
  st_release(&cflame__live, live);
}

/* --- records ---------------------------------------------------------------- */

_Static_assert(sizeof(cflame__rec_t) == sizeof(cflame_record_t) &&
                   offsetof(cflame__rec_t, node) ==
                       offsetof(cflame_record_t, node) &&
                   offsetof(cflame__rec_t, kind) ==
                       offsetof(cflame_record_t, kind),
               "ring records are handed to sinks as they are");

/* The records of r[0..n) but the CFLAME_RECORD_SPAN ones, in runs. */
static void deliver_plain(const cflame__slot_t *s, const cflame__thread_t *t,
                          const cflame_record_t *r, size_t n) {
  size_t from = 0;
  for (size_t i = 0; i <= n; i++)
    if (i == n || r[i].kind == CFLAME_RECORD_SPAN) {
      if (i > from)
        s->vt.records(s->ud, s->g, t, r + from, i - from);
      from = i + 1;
    }
}

static void deliver(cflame__thread_t *t, const cflame__rec_t *r, size_t n,
                    uint32_t sinks, int spans) {
  /* The slots between tail and head are the consumer's: converted in
   * place, they are passed on without a copy. */
  const cflame_record_t *out = (const cflame_record_t *)(const void *)r;
  for (int i = 0; i < CFLAME_SINKS_MAX; i++) {
    const cflame__slot_t *s = &cflame__slots[i];
    if (!(sinks >> i & 1) || !s->vt.records)
      continue;
    if (spans && !(s->vt.needs & CFLAME_SINK_SPANS))
      deliver_plain(s, t, out, n);
    else
      s->vt.records(s->ud, s->g, t, out, n);
  }
}

/* Ticks to ns since the session start, in place; returns whether there
 * were span records (their `ns` is a span id, kept). */
static int convert(cflame__rec_t *r, size_t n, uint64_t t0) {
  int spans = 0;
  if (!spans_ever) { /* the plain loop */
    for (size_t i = 0; i < n; i++) {
      uint64_t ns = cflame__clock_to_ns(r[i].ticks);
      r[i].ticks = ns > t0 ? ns - t0 : 0;
    }
    return 0;
  }
  for (size_t i = 0; i < n; i++) {
    if (cflame_unlikely(r[i].kind == CFLAME_RECORD_SPAN)) {
      spans = 1;
      continue;
    }
    uint64_t ns = cflame__clock_to_ns(r[i].ticks);
    r[i].ticks = ns > t0 ? ns - t0 : 0;
  }
  return spans;
}

/* Hands at most `max` of t's oldest records over. */
static void drain(cflame__thread_t *t, uint64_t max) {
  uint32_t sinks = cflame__sinks_with(CFLAME_SINK_RECORDS);
  /* Only while its owner cannot be setting the ring up (see thread.c). */
  if (!t->dead && ld_acquire(&t->session) != cflame__live)
    return;
  if (!ld_acquire(&t->ring))
    return;
  uint64_t head = ld_acquire(&t->head);
  if (head - t->tail > max)
    head = t->tail + max;
  if (sinks && t->tail != head) {
    cflame__clock_calibrate();
    uint64_t t0 = cflame__clock_to_ns(ld_relaxed(&cflame__session_t0));
    for (uint64_t i = t->tail; i < head;) {
      /* Up to the ring's end, then from its start. */
      size_t at = (size_t)(i & t->ring_mask);
      size_t n = (size_t)(head - i);
      if (n > t->ring_mask + 1 - at)
        n = t->ring_mask + 1 - at;
      int spans = convert(&t->ring[at], n, t0);
      deliver(t, &t->ring[at], n, sinks, spans);
      i += n;
    }
  }
  st_release(&t->tail, head);
}

void cflame__sinks_drain(cflame__thread_t *t) {
  drain(t, UINT64_MAX);
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
   * place a span can wait on another thread (a flush in progress). Only
   * the oldest eighth goes: the pair that finds the ring full waits for
   * that much sink work, not a whole ring's (the ring fills again 8 times
   * as often, at the same cost per record). */
  int cancel = cflame__plat_nocancel(); /* sinks may block in write */
  cflame__hold(t, 1);
  pthread_mutex_lock(&cflame__sink_lock);
  drain(t, (t->ring_mask + 1) / 8 ? (t->ring_mask + 1) / 8 : 1);
  pthread_mutex_unlock(&cflame__sink_lock);
  cflame__hold(t, 0);
  cflame__plat_cancel_restore(cancel);
  t->tail_seen = ld_acquire(&t->tail);
  return 0;
}
