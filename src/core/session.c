/* Sessions and guards: installing sinks, flushing and dropping them, and
 * the process-wide hooks (exit, fork) that keep their output whole. */
#include "clock.h"
#include "core.h"
#include "platform.h"
#include "slab.h"

#include <stdlib.h>
#include <string.h>

static cflame_guard_t *guards; /* every guard ever made (never freed) */

static cflame_guard_t *guard_new(void) {
  cflame_guard_t *g = calloc(1, sizeof *g);
  if (g) {
    g->slot = -1;
    g->next = guards;
    guards = g;
  }
  return g;
}

/* Cancellation is off while the sink lock is held: sink callbacks block
 * in write or in user code, and a thread cancelled there would leave the
 * lock held for good. The lock is not recursive, so one saved state
 * serves. */
static int cancel_state;

static void lock(void) {
  int old = cflame__plat_nocancel();
  cflame__thread_hold(1);
  pthread_mutex_lock(&cflame__sink_lock);
  cancel_state = old;
}

static void unlock(void) {
  int old = cancel_state;
  pthread_mutex_unlock(&cflame__sink_lock);
  cflame__thread_hold(0);
  cflame__plat_cancel_restore(old);
}

/* --- install ---------------------------------------------------------------- */

int cflame_sink_install(const cflame_sink_t *vt, void *ud,
                        cflame_guard_t **out) {
  if (!out)
    return CFLAME_EINVAL;
  *out = NULL;
  if (!vt || vt->size < offsetof(cflame_sink_t, attach))
    return CFLAME_EINVAL;
  cflame_sink_t copy;
  memset(&copy, 0, sizeof copy);
  memcpy(&copy, vt, vt->size < sizeof copy ? vt->size : sizeof copy);
  cflame__hooks();
  cflame__clock_init();
  (void)cflame__thread_self(); /* installing is this thread's first call */
  lock();
  int slot = -1;
  for (int i = 0; i < CFLAME_SINKS_MAX && slot < 0; i++)
    if (!(cflame__installed >> i & 1))
      slot = i;
  cflame_guard_t *g = slot >= 0 ? guard_new() : NULL;
  if (!g) {
    unlock();
    return slot < 0 ? CFLAME_EBUSY : CFLAME_ENOMEM;
  }
  cflame__slots[slot].g = g;
  cflame__slots[slot].vt = copy;
  cflame__slots[slot].ud = ud;
  int fresh = cflame__installed == 0;
  cflame__installed |= 1u << slot;
  g->slot = slot;
  if (copy.needs & CFLAME_SINK_RECORDS) {
    size_t want = copy.ring ? copy.ring : 4096, ring = 16;
    while (ring < want && ring < ((size_t)1 << 24))
      ring *= 2;
    if (fresh || ring > cflame__rec_ring)
      st_relaxed(&cflame__rec_ring, ring);
    cflame__rings_prepare(cflame__rec_ring);
  }
  if (fresh)
    cflame__clock_session_start();
  cflame__report_reset();
  cflame__sinks_publish(fresh);
  if (fresh)
    cflame__registry_refilter(); /* callsites come on */
  g->session = cflame__live >> 16;
  if (copy.attach)
    copy.attach(ud, g);
  unlock();
  *out = g;
  return 0;
}

/* --- flush and drop (sink lock held) ----------------------------------------- */

static uint64_t reentry_seen;

static int flush_slot(int slot) {
  uint64_t reentry =
      ld_relaxed(&cflame__counters.faults[CFLAME_FAULT_REENTRY]);
  if (reentry != reentry_seen) {
    reentry_seen = reentry;
    cflame__report_counted(CFLAME_FAULT_REENTRY,
                           "%llu span(s) or event(s) from signal handlers "
                           "interrupted cflame and were dropped",
                           (unsigned long long)reentry);
  }
  cflame__thread_drain_all();
  /* Trees sinks convert ticks at flush (cflame_sink_ticks_ns): the rate
   * must be measured by now even when no record was drained. */
  cflame__clock_calibrate();
  cflame__slot_t *s = &cflame__slots[slot];
  int rc = s->vt.flush ? s->vt.flush(s->ud, s->g) : 0;
  cflame__thread_reap(1u << slot);
  return rc;
}

static int drop_slot(int slot) {
  cflame__slot_t *s = &cflame__slots[slot];
  int rc = flush_slot(slot);
  cflame__thread_release_slot(slot);
  cflame__installed &= ~(1u << slot);
  cflame__thread_reap(cflame__installed ? 1u << slot : ~0u);
  cflame__sinks_publish(0);
  if (!cflame__installed)
    cflame__registry_refilter(); /* callsites go off: spans cost nothing */
  s->g->slot = -1;
  int crc = s->vt.close ? s->vt.close(s->ud, s->g) : 0;
  memset(s, 0, sizeof *s);
  return rc < 0 ? rc : crc;
}

int cflame_guard_flush(cflame_guard_t *g) {
  if (!g)
    return CFLAME_EINVAL;
  if (g->nmembers) {
    int rc = 0;
    for (int i = 0; i < g->nmembers; i++) {
      int r = cflame_guard_flush(g->members[i]);
      if (r < 0 && rc == 0)
        rc = r;
    }
    return rc;
  }
  lock();
  int rc = g->forked ? CFLAME_EFORKED
           : g->slot < 0 ? CFLAME_ECLOSED
                         : flush_slot(g->slot);
  unlock();
  return rc;
}

int cflame_guard_drop(cflame_guard_t *g) {
  if (!g)
    return 0;
  if (g->nmembers) {
    int rc = 0;
    for (int i = 0; i < g->nmembers; i++) {
      int r = cflame_guard_drop(g->members[i]);
      if (r < 0 && rc == 0)
        rc = r;
    }
    return rc;
  }
  lock();
  int rc = 0;
  if (g->slot >= 0 && !g->forked)
    rc = drop_slot(g->slot);
  g->forked = 0; /* a dropped fork-child guard is just dropped */
  unlock();
  return rc;
}

cflame_guard_t *cflame__guard_group(cflame_guard_t *const *members, int n) {
  if (n > CFLAME_SINKS_MAX)
    return NULL;
  lock();
  cflame_guard_t *g = guard_new();
  if (g) {
    memcpy(g->members, members, (size_t)n * sizeof *members);
    g->nmembers = n;
  }
  unlock();
  return g;
}

/* --- clock -------------------------------------------------------------------- */

/* The clock changes only while no sink records (ticks would mix). */
static int change_clock(cflame_clock_fn fn, void *ctx, int source) {
  lock();
  int rc = 0;
  if (cflame__installed)
    rc = CFLAME_EBUSY;
  else
    cflame__clock_select(fn, ctx, source);
  unlock();
  return rc;
}

int cflame_clock_set(cflame_clock_fn fn, void *ctx) {
  return change_clock(fn, ctx, -1);
}

int cflame_clock_use(cflame_clock_source_t source) {
  if (source != CFLAME_CLOCK_AUTO && source != CFLAME_CLOCK_TSC &&
      source != CFLAME_CLOCK_MONOTONIC)
    return CFLAME_EINVAL;
  if (source == CFLAME_CLOCK_TSC &&
      !(CFLAME__HAVE_TSC && cflame__plat_tsc_usable()))
    return CFLAME_EINVAL;
  void *ctx;
  cflame_clock_fn fn = cflame__clock_user(&ctx);
  return change_clock(fn, ctx, (int)source);
}

/* --- exit and fork -------------------------------------------------------------- */

static void at_exit(void) {
  cflame__thread_at_exit();
  cflame_guard_t *live[CFLAME_SINKS_MAX];
  int n = 0;
  lock();
  for (int i = 0; i < CFLAME_SINKS_MAX; i++)
    if (cflame__installed >> i & 1)
      live[n++] = cflame__slots[i].g;
  unlock();
  for (int i = 0; i < n; i++)
    (void)cflame_guard_drop(live[i]);
}

/* Lock order: sink lock, threads lock, registry lock, slab lock, error
 * lock. Every lock is held across fork, so the child finds each one free. */
static void fork_prepare(void) {
  lock();
  pthread_mutex_lock(&cflame__threads_lock);
  cflame__registry_lock_for_fork();
  cflame__slab_lock_for_fork();
  cflame__report_lock_for_fork();
}

static void fork_parent(void) {
  cflame__report_unlock_after_fork();
  cflame__slab_unlock_after_fork();
  cflame__registry_unlock_after_fork();
  pthread_mutex_unlock(&cflame__threads_lock);
  unlock();
}

static void fork_child(void) {
  /* The child records nothing and never writes the parent's data: its
   * copies of the buffers and trees are the parent's to write. Only this
   * thread runs here, so the inner locks can go first. */
  cflame__thread_after_fork_child(cflame__thread_peek());
  cflame__report_unlock_after_fork();
  cflame__slab_after_fork_child();
  cflame__registry_unlock_after_fork();
  pthread_mutex_unlock(&cflame__threads_lock);
  for (int i = 0; i < CFLAME_SINKS_MAX; i++) {
    cflame__slot_t *s = &cflame__slots[i];
    if (!(cflame__installed >> i & 1))
      continue;
    cflame__thread_release_slot(i);
    s->g->forked = 1;
    s->g->slot = -1;
    if (s->vt.forked)
      s->vt.forked(s->ud, s->g);
    memset(s, 0, sizeof *s);
  }
  cflame__installed = 0;
  cflame__sinks_publish(0);
  cflame__registry_refilter();
  unlock();
}

static pthread_once_t hooks_once = PTHREAD_ONCE_INIT;
static void hooks(void) {
  /* Handlers and TSD destructors point into this object from now on. */
  cflame__plat_pin_self();
  atexit(at_exit);
  at_quick_exit(at_exit);
  cflame__plat_atfork(fork_prepare, fork_parent, fork_child);
}

void cflame__hooks(void) {
  pthread_once(&hooks_once, hooks);
}
