/* Events, frame marks and plot values: counted, then handed to every sink that takes
 * events, on the emitting thread. */
#include "clock.h"
#include "core.h"
#include "platform.h"

#include <string.h>

static void deliver(cflame_event_t *ev) {
  if (!ld_acquire(&cflame__live))
    return;
  cflame__thread_t *t = cflame__thread_self();
  ev->thread = t;
  ev->ns = cflame__clock_event_ns();
  uint64_t ticks = cflame__now(); /* before any wait for the lock */
  if (t) {
    /* A handler on a thread that holds the sink lock would deadlock. */
    if (t->holding) {
      fetch_add(&cflame__counters.faults[CFLAME_FAULT_REENTRY], 1);
      return;
    }
    cflame__hold(t, 1);
  }
  /* A sink blocked in write must not be cancelled holding the lock. */
  int cancel = cflame__plat_nocancel();
  pthread_mutex_lock(&cflame__sink_lock);
  /* The emitting thread's records up to now go first, so that a sink that
   * also takes records sees this thread's history in time order; then the
   * event gets the records' clock too, converted with the rate they were
   * converted with (calibrating can take the first 10 ms of a run). */
  if (t && cflame__sinks_with(CFLAME_SINK_RECORDS))
    cflame__sinks_drain(t);
  cflame__clock_calibrate();
  uint64_t now = cflame__clock_to_ns(ticks);
  uint64_t t0 = cflame__clock_to_ns(cflame__session_t0);
  ev->session_ns = now > t0 ? now - t0 : 0;
  uint32_t sinks = cflame__sinks_with(CFLAME_SINK_EVENTS);
  for (int i = 0; i < CFLAME_SINKS_MAX; i++)
    if ((sinks >> i & 1) && cflame__slots[i].vt.event)
      cflame__slots[i].vt.event(cflame__slots[i].ud, cflame__slots[i].g, ev);
  pthread_mutex_unlock(&cflame__sink_lock);
  if (t)
    cflame__hold(t, 0);
  cflame__plat_cancel_restore(cancel);
}

void cflame_event_emit(cflame_callsite_t *cs, const cflame_field_t *f,
                       size_t n) {
  if (!cs)
    return;
  uint32_t id = cflame__registry_register(cs);
  if (!id || ld_relaxed(&cs->interest_) != CFLAME_INTEREST_ON)
    return;
  fetch_add(&cflame__counters.events, 1);
  cflame_event_t ev;
  memset(&ev, 0, sizeof ev);
  ev.kind = CFLAME_EVENT_LOG;
  ev.level = cs->level;
  ev.site = id;
  ev.message = cs->name;
  ev.fields = f;
  ev.nfields = f ? n : 0;
  deliver(&ev);
}

void cflame_frame_mark(const char *name) {
  fetch_add(&cflame__counters.frame_marks, 1);
  cflame_event_t ev;
  memset(&ev, 0, sizeof ev);
  ev.kind = CFLAME_EVENT_FRAME_MARK;
  ev.level = CFLAME_LEVEL_INFO;
  ev.message = name;
  deliver(&ev);
}

void cflame_plot(const char *name, double value) {
  cflame_event_t ev;
  memset(&ev, 0, sizeof ev);
  ev.kind = CFLAME_EVENT_PLOT;
  ev.level = CFLAME_LEVEL_INFO;
  ev.message = name ? name : "plot";
  ev.value = value;
  deliver(&ev);
}

uint64_t cflame_sink_clock_ns(void) {
  return cflame__clock_event_ns();
}

uint64_t cflame_sink_ticks_ns(uint64_t ticks) {
  return cflame__clock_to_ns(ticks);
}

/* --- registry span notes ------------------------------------------------- */

void cflame__sinks_span_note(cflame_span_note_t *n, uint64_t ticks) {
  /* A NEW comes from user code (like an event); a CLOSE may also come
   * from a span's exit or a thread's exit, so only threads that already
   * have a state are looked at, and none is made. */
  cflame__thread_t *t = cflame__thread_peek();
  if (t && t->holding) { /* a handler on a thread holding the sink lock */
    fetch_add(&cflame__counters.faults[CFLAME_FAULT_REENTRY], 1);
    return;
  }
  if (t)
    cflame__hold(t, 1);
  int cancel = cflame__plat_nocancel();
  pthread_mutex_lock(&cflame__sink_lock);
  uint32_t sinks = cflame__sinks_with(CFLAME_SINK_SPANS);
  if (sinks) {
    if (n->kind == CFLAME_SPAN_NEW && t) {
      n->thread = t;
      if (cflame__sinks_with(CFLAME_SINK_RECORDS))
        cflame__sinks_drain(t); /* (only if it records in this session) */
    }
    cflame__clock_calibrate();
    uint64_t now = cflame__clock_to_ns(ticks);
    uint64_t t0 = cflame__clock_to_ns(cflame__session_t0);
    n->session_ns = now > t0 ? now - t0 : 0;
  }
  for (int i = 0; i < CFLAME_SINKS_MAX; i++)
    if ((sinks >> i & 1) && cflame__slots[i].vt.span)
      cflame__slots[i].vt.span(cflame__slots[i].ud, cflame__slots[i].g, n);
  pthread_mutex_unlock(&cflame__sink_lock);
  if (t)
    cflame__hold(t, 0);
  cflame__plat_cancel_restore(cancel);
}
