/* Thread states: created on a thread's first use, set up for each session,
 * handed over at thread exit, and what sinks may read of them. */
#include "clock.h"
#include "core.h"
#include "platform.h"
#include "sanitize.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

pthread_mutex_t cflame__threads_lock = PTHREAD_MUTEX_INITIALIZER;
int cflame__unwind_auto = 1;

void cflame_unwind_auto(bool on) {
  st_relaxed(&cflame__unwind_auto, on ? 1 : 0);
}
cflame__thread_t *cflame__threads;

static uint32_t thread_numbers; /* last "thread-N" handed out */

void cflame__thread_release_above(cflame__thread_t *t, uint32_t keep) {
  for (uint32_t i = cflame__depth(t); i > keep; i--) {
    uint64_t s = t->stack[i].serial;
    if ((s & CFLAME__SERIAL_REG) && (s & CFLAME__SERIAL_NONE))
      cflame__span_unref(s & CFLAME__HANDLE_MASK);
  }
}

/* A state with its root frame, listed nowhere yet. */
static cflame__thread_t *thread_alloc(void) {
  cflame__thread_t *t = calloc(1, sizeof *t);
  if (!t)
    return NULL;
  t->chunks[0] = calloc(CFLAME__CHUNK0, sizeof(cflame__node_t));
  t->ctab = calloc((size_t)1 << CFLAME__CTAB_BITS, sizeof *t->ctab);
  if (!t->chunks[0] || !t->ctab || cflame__node_index_reserve(t, 0) != 0) {
    free(t->chunks[0]);
    free(t->ctab);
    free(t->nidx);
    free(t);
    return NULL;
  }
  cflame__node_add(t, NULL, NULL, CFLAME_SITE_ROOT);
  t->stack[0].node = cflame__node_at(t, 0);
  t->stack[0].serial = CFLAME__SERIAL_NONE;
  t->stack[0].sp = UINTPTR_MAX;
  t->top = &t->stack[0];
  return t;
}

cflame__thread_t *cflame__thread_new(void) {
  cflame__thread_t *t = thread_alloc();
  if (!t)
    return NULL;
  /* Serials are unique per thread, so a token ended on the wrong thread is
   * (almost always) recognised as foreign. */
  if (!cflame__plat_is_main_thread())
    t->number = __atomic_add_fetch(&thread_numbers, 1, __ATOMIC_RELAXED);
  t->serial = (uint64_t)(t->number & 0x7fffffu) << 40;
  t->born_clock = ld_relaxed(&cflame__clock_gen);
  t->born = cflame__now();
  pthread_mutex_lock(&cflame__threads_lock);
  t->next = cflame__threads;
  cflame__threads = t;
  pthread_mutex_unlock(&cflame__threads_lock);
  fetch_add(&cflame__counters.threads, 1);
  return t;
}

/* The tag of a thread's frames in a session that records (`rec`) or not:
 * the exit fast path handles only record-free sessions on the TSC, out of
 * precise mode; every other frame carries CFLAME__SERIAL_NONE. */
static uint64_t slow_tag(int rec) {
  return rec || ld_relaxed(&cflame__clock_mode) != CFLAME__CLOCK_TSC ||
                 ld_relaxed(&cflame__precise)
             ? CFLAME__SERIAL_NONE
             : 0;
}

cflame__thread_t *cflame__thread_scratch(void) {
  cflame__thread_t *t = thread_alloc();
  if (!t)
    return NULL;
  uint64_t live = ld_relaxed(&cflame__live);
  t->serial = UINT64_C(0x7fffff) << 40;
  t->tree = live >> 16;
  t->slow_tag = slow_tag(ld_relaxed(&cflame__rec_on));
  t->start = t->last = cflame__now();
  t->session = live;
  return t;
}

void cflame__thread_scratch_free(cflame__thread_t *t) {
  for (int k = 0; k < CFLAME__CHUNKS; k++)
    free(t->chunks[k]);
  free(t->ctab);
  free(t->nidx);
  free(t);
}

/* A fresh tree and stack for session `tree`. No sink reads t meanwhile:
 * they read a thread's tree only while it is the live session's, and the
 * live session cannot change without the sink lock. */
static void tree_reset(cflame__thread_t *t, uint64_t tree) {
  cflame__thread_release_above(t, 0);
  /* The node chunks are kept and reused: a session's start allocates and
   * frees nothing, so a span in a signal handler that starts one cannot
   * deadlock in malloc. */
  t->nnodes = 0;
  memset(t->ctab, 0, ((size_t)1 << CFLAME__CTAB_BITS) * sizeof *t->ctab);
  cflame__node_index_clear(t);
  cflame__node_add(t, NULL, NULL, CFLAME_SITE_ROOT);
  t->top = &t->stack[0];
  t->overflow = 0;
  t->head = t->tail = t->tail_seen = 0; /* the ring is kept, if any */
  t->stream = 0;
  /* The thread's clock starts at its first cflame call (naming it, an
   * event, installing a sink, a span), but not before the session. */
  uint64_t now = cflame__now(), start = now;
  if (t->born_clock == ld_relaxed(&cflame__clock_gen)) {
    uint64_t t0 = ld_relaxed(&cflame__session_t0);
    start = t->born > t0 ? t->born : t0;
    if (start > now) /* another thread's clock (an injected one) */
      start = now;
  }
  t->start = start;
  t->last = start;
  /* Last: a sink that sees the live session here sees the reset tree. */
  st_release(&t->tree, tree);
}

/* Brings t up to the live session word: a fresh tree for a new session,
 * else the settings of the new epoch (records on or off). */
int cflame__thread_begin(cflame__thread_t *t, uint64_t live) {
  int fresh = t->tree != live >> 16;
  if (fresh)
    tree_reset(t, live >> 16);
  int was = t->stream;
  int rec = ld_relaxed(&cflame__rec_on);
  /* Only while nothing of the ring is pending may it change. */
  if (rec && t->head == ld_acquire(&t->tail) &&
      cflame__ring_ready(t, ld_relaxed(&cflame__rec_ring)) != 0) {
    rec = 0;
    cflame__report(CFLAME_FAULT_DROPPED,
                   "out of memory for a thread's record ring; its records "
                   "are dropped");
  }
  t->stream = rec;
  if (rec && !was) {
    /* Frames entered before records began exit through the slow path, so
     * that every exit a sink sees was preceded by its enter or a BEGIN. */
    for (uint32_t i = 1; i <= cflame__depth(t); i++)
      t->stack[i].serial |= CFLAME__SERIAL_NONE;
    cflame__record(t, CFLAME_RECORD_BEGIN, t->top->node->index,
                   fresh ? t->start : cflame__now());
  }
  t->slow_tag = slow_tag(rec);
  st_release(&t->session, live);
  return 0;
}

void cflame__rings_prepare(size_t n) {
  pthread_mutex_lock(&cflame__threads_lock);
  for (cflame__thread_t *t = cflame__threads; t; t = t->next)
    if (!t->dead)
      cflame__ring_offer(t, n); /* else the owner tries at its start */
  pthread_mutex_unlock(&cflame__threads_lock);
}

static void thread_free(cflame__thread_t *t) {
  for (int i = 0; i < CFLAME_SINKS_MAX; i++)
    if (t->sink_data[i] && (cflame__installed >> i & 1) &&
        cflame__slots[i].vt.thread_done)
      cflame__slots[i].vt.thread_done(cflame__slots[i].ud, cflame__slots[i].g,
                                      t, t->sink_data[i]);
  for (int k = 0; k < CFLAME__CHUNKS; k++)
    free(t->chunks[k]);
  free(t->ctab);
  free(t->nidx);
  cflame__rings_free(t);
  free(t->name);
  free(t);
}

void cflame__thread_close_all(cflame__thread_t *t, uint64_t now) {
  if (cflame__depth(t) == 0 && t->overflow == 0)
    return;
  fetch_add(&cflame__counters.spans_closed_at_exit,
            (uint64_t)cflame__depth(t) + t->overflow);
  cflame__charge(t, t->top->node, now);
  now = t->last; /* as charged (a clock that went back is held) */
  cflame__thread_release_above(t, 0);
  if (t->stream)
    for (uint32_t i = cflame__depth(t); i > 0; i--)
      cflame__record(t, CFLAME_RECORD_EXIT, t->stack[i - 1].node->index, now);
  t->top = &t->stack[0];
  t->overflow = 0;
  t->barrier = 0;
}

void cflame__thread_exit(cflame__thread_t *t) {
  if (t->session == ld_acquire(&cflame__live))
    cflame__thread_close_all(t, cflame__now());
  cflame__thread_release_above(t, 0);
  t->top = &t->stack[0];
  /* A recording thread's data waits for the sinks' next flush. */
  pthread_mutex_lock(&cflame__sink_lock);
  pthread_mutex_lock(&cflame__threads_lock);
  uint64_t live = cflame__live;
  int keep = live && t->tree == live >> 16;
  if (keep) {
    t->dead = 1;
    t->pending = cflame__sinks_with(CFLAME_SINK_TREES);
  } else {
    for (cflame__thread_t **pp = &cflame__threads; *pp; pp = &(*pp)->next)
      if (*pp == t) {
        *pp = t->next;
        break;
      }
  }
  pthread_mutex_unlock(&cflame__threads_lock);
  if (!keep)
    thread_free(t);
  pthread_mutex_unlock(&cflame__sink_lock);
}

void cflame__thread_after_fork_child(const cflame__thread_t *self) {
  /* Only the forking thread survives; the others' states are the parent's.
   * The child records nothing of them; they are freed with their tree. */
  for (cflame__thread_t *t = cflame__threads; t; t = t->next)
    if (t != self) {
      t->dead = 1;
      t->pending = 0;
      t->tail = t->head; /* the parent's records, never ours to hand on */
    }
}

/* --- frames jumped over (longjmp, exceptions through C) ------------------ */

void cflame__stack_heal(cflame__thread_t *t, uintptr_t sp, uintptr_t ra,
                        const cflame_callsite_t *cs, uint64_t now) {
  if (!ld_relaxed(&cflame__unwind_auto))
    return;
  uint32_t d = cflame__depth(t), i = d, floor = t->barrier;
  if (floor > d) /* the frames it guarded have exited */
    floor = t->barrier = d;
  while (i > floor && t->stack[i].sp < sp)
    i--;
  /* At the same depth, an open frame of the very callsite being entered
   * belongs to an activation that was jumped over (a loop re-enters a
   * scope only after leaving it; recursion is deeper). */
  for (uint32_t j = i; cs && ra && j > floor && t->stack[j].sp == sp; j--)
    if (t->stack[j].node->cs == cs && t->stack[j].ra == ra) {
      i = j - 1;
      break;
    }
  /* A span in a handler on an alternate signal stack is not shallower
   * than the code it interrupted: it only runs elsewhere. */
  if (i == d || cflame__plat_on_altstack())
    return;
  cflame__charge(t, t->stack[d].node, now);
  cflame__thread_release_above(t, i);
  if (t->stream)
    for (uint32_t j = d; j > i; j--)
      cflame__record(t, CFLAME_RECORD_EXIT, t->stack[j - 1].node->index, now);
  uint64_t n = (uint64_t)(d - i) + t->overflow;
  t->overflow = 0;
  t->top = &t->stack[i];
  fetch_add(&cflame__counters.faults[CFLAME_FAULT_UNWOUND], n);
  cflame__report_counted(CFLAME_FAULT_UNWOUND,
                         "%llu span(s) were jumped over (longjmp or an "
                         "exception through C); closed when a shallower "
                         "enter came",
                         (unsigned long long)n);
}

/* --- handing over to sinks (sink lock held) -------------------------------- */

void cflame__thread_drain_all(void) {
  pthread_mutex_lock(&cflame__threads_lock);
  for (cflame__thread_t *t = cflame__threads; t; t = t->next)
    cflame__sinks_drain(t);
  pthread_mutex_unlock(&cflame__threads_lock);
}

void cflame__thread_reap(uint32_t done_bits) {
  pthread_mutex_lock(&cflame__threads_lock);
  cflame__thread_t **pp = &cflame__threads;
  while (*pp) {
    cflame__thread_t *t = *pp;
    if (t->dead)
      t->pending &= ~done_bits;
    if (t->dead && t->pending == 0 && (!t->ring || t->tail == t->head)) {
      *pp = t->next;
      thread_free(t);
    } else {
      pp = &t->next;
    }
  }
  pthread_mutex_unlock(&cflame__threads_lock);
}

void cflame__thread_release_slot(int slot) {
  cflame__slot_t *s = &cflame__slots[slot];
  pthread_mutex_lock(&cflame__threads_lock);
  for (cflame__thread_t *t = cflame__threads; t; t = t->next) {
    if (t->sink_data[slot] && s->vt.thread_done)
      s->vt.thread_done(s->ud, s->g, t, t->sink_data[slot]);
    t->sink_data[slot] = NULL;
  }
  pthread_mutex_unlock(&cflame__threads_lock);
}

/* --- names ------------------------------------------------------------------ */

const char *cflame__thread_label(const cflame__thread_t *t, char buf[24]) {
  if (t->name)
    return t->name;
  if (t->number == 0)
    return "main";
  snprintf(buf, 24, "thread-%u", (unsigned)t->number);
  return buf;
}

/* --- for sinks ---------------------------------------------------------------- */

void cflame_thread_info(const cflame_thread_t *t, cflame_thread_info_t *out) {
  static _Thread_local char buf[24];
  memset(out, 0, sizeof *out);
  out->name = cflame__thread_label(t, buf);
  out->number = t->number;
  out->exited = t->dead != 0;
  uint64_t t0 = cflame__clock_to_ns(ld_relaxed(&cflame__session_t0));
  uint64_t s = cflame__clock_to_ns(t->start);
  out->start_ns = s > t0 ? s - t0 : 0;
}

uint32_t cflame_thread_nodes(const cflame_thread_t *t) {
  return ld_acquire(&t->nnodes);
}

int cflame_thread_node(const cflame_thread_t *t, uint32_t i,
                       cflame_node_t *out) {
  if (i >= ld_acquire(&t->nnodes))
    return -1;
  const cflame__node_t *n = cflame__node_at(t, i);
  uint64_t self = ld_relaxed(&n->self);
  /* Two cores' TSCs may differ by a few ticks: a slice can wrap slightly
   * below zero (it cancels out in the sums); read that as zero. */
  if ((int64_t)self < 0)
    self = 0;
  memset(out, 0, sizeof *out);
  out->index = i;
  out->parent = n->parent;
  out->site = n->cs_id;
  out->depth = n->depth;
  out->self_ns = cflame__clock_to_ns(self);
  out->self_ticks = self;
  out->enters = ld_relaxed(&n->enters);
  return 0;
}

void **cflame_thread_data(const cflame_thread_t *t, const cflame_guard_t *g) {
  int slot = g ? g->slot : -1;
  return slot >= 0 ? &((cflame__thread_t *)t)->sink_data[slot] : NULL;
}

int cflame_sink_each_thread(cflame_guard_t *g,
                            int (*fn)(void *ctx, const cflame_thread_t *t),
                            void *ctx) {
  int slot = g ? g->slot : -1;
  uint64_t live = ld_relaxed(&cflame__live);
  if (slot < 0 || !fn || !live)
    return 0;
  int rc = 0;
  pthread_mutex_lock(&cflame__threads_lock);
  for (cflame__thread_t *t = cflame__threads; t && rc == 0; t = t->next) {
    if (ld_acquire(&t->tree) != live >> 16 || (t->dead && !(t->pending >> slot & 1)))
      continue;
    rc = fn(ctx, t);
  }
  pthread_mutex_unlock(&cflame__threads_lock);
  return rc;
}
