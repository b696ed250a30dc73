/* Stack switching the C stack cannot show: marks to unwind to by hand, and
 * fibers whose open spans are set aside at a switch and put back at the
 * next one. */
#include "clock.h"
#include "core.h"

#include <stdlib.h>
#include <string.h>

/* The calling thread, recording, with no slow path of its own running. */
static cflame__thread_t *owner(void) {
  cflame__thread_t *t = cflame__thread_peek();
  if (!t || t->session != ld_acquire(&cflame__live) || !cflame__busy_enter(t))
    return NULL;
  return t;
}

/* Pops t's frames above index `keep` at `now`, as jumped over (unwound)
 * or set aside (a suspended fiber: no count, references kept). The
 * instrumentation hooks end functions with it too. */
void cflame__stack_pop_above(cflame__thread_t *t, uint32_t keep, uint64_t now,
                      int unwound) {
  uint32_t d = cflame__depth(t);
  cflame__charge(t, t->top->node, now);
  if (unwound) {
    cflame__thread_release_above(t, keep);
    fetch_add(&cflame__counters.faults[CFLAME_FAULT_UNWOUND],
              (uint64_t)(d - keep) + t->overflow);
  }
  if (t->stream)
    for (uint32_t j = d; j > keep; j--)
      cflame__record(t, CFLAME_RECORD_EXIT, t->stack[j - 1].node->index, now);
  t->overflow = 0;
  t->top = &t->stack[keep];
  if (t->barrier > keep)
    t->barrier = keep;
}

cflame_mark_t cflame_mark(void) {
  cflame_mark_t m;
  memset(&m, 0, sizeof m);
  cflame__thread_t *t = cflame__thread_peek();
  if (t && t->session == ld_acquire(&cflame__live)) {
    m.depth = cflame__depth(t);
    m.serial = t->top->serial;
  }
  return m;
}

void cflame_unwind(cflame_mark_t m) {
  cflame__thread_t *t = owner();
  if (!t)
    return;
  /* The marked frame must still be there: else it was exited (or unwound)
   * already and everything above it with it. */
  if (m.depth < cflame__depth(t) && t->stack[m.depth].serial == m.serial)
    cflame__stack_pop_above(t, m.depth, cflame__now(), 1);
  cflame__busy_leave(t);
}

/* --- fibers --------------------------------------------------------------- */

typedef struct saved_s {
  uint32_t site;
  uint64_t serial;
  uintptr_t sp;
} saved_t;

struct cflame_fiber_s {
  saved_t *f;
  uint32_t n, cap;
  uint32_t below;   /* the scheduler's depth while the fiber runs */
  uint32_t barrier; /* the thread's barrier before the fiber ran */
  int running;
};

cflame_fiber_t *cflame_fiber_new(void) {
  return calloc(1, sizeof(cflame_fiber_t));
}

void cflame_fiber_free(cflame_fiber_t *f) {
  if (!f)
    return;
  /* Registry spans open in a fiber that never resumes hold references. */
  for (uint32_t i = 0; i < f->n; i++)
    if ((f->f[i].serial & CFLAME__SERIAL_REG) &&
        (f->f[i].serial & CFLAME__SERIAL_NONE))
      cflame__span_unref(f->f[i].serial & CFLAME__HANDLE_MASK);
  free(f->f);
  free(f);
}

int cflame_fiber_resume(cflame_fiber_t *f) {
  if (!f || f->running)
    return CFLAME_EINVAL;
  f->running = 1;
  cflame__thread_t *t = owner();
  if (!t)
    return 0; /* nothing records: the saved frames wait */
  uint64_t now = cflame__now();
  cflame__charge(t, t->top->node, now);
  f->below = cflame__depth(t);
  f->barrier = t->barrier;
  t->barrier = f->below;
  uint32_t i = 0;
  for (; i < f->n && cflame__depth(t) + 1 < CFLAME__SLOTS - CFLAME_MAX_DEPTH;
       i++) {
    const cflame__site_t *s = cflame__registry_site(f->f[i].site);
    cflame__node_t *node = cflame__stack_child(t, t->top->node,
                                               s ? s->cs : NULL, f->f[i].site);
    if (!node)
      break;
    cflame__frame_t *fr = t->top + 1;
    fr->node = node;
    fr->serial = f->f[i].serial;
    fr->sp = f->f[i].sp;
    t->top = fr;
    if (t->stream)
      cflame__record(t, CFLAME_RECORD_ENTER, node->index, now);
  }
  uint32_t lost = f->n - i; /* no room (or memory): dropped, counted */
  for (; i < f->n; i++)
    if ((f->f[i].serial & CFLAME__SERIAL_REG) &&
        (f->f[i].serial & CFLAME__SERIAL_NONE))
      cflame__span_unref(f->f[i].serial & CFLAME__HANDLE_MASK);
  f->n = 0;
  cflame__busy_leave(t);
  if (lost)
    cflame__report(CFLAME_FAULT_DEPTH,
                   "%u span(s) of a resumed fiber did not fit; dropped",
                   (unsigned)lost);
  return 0;
}

int cflame_fiber_suspend(cflame_fiber_t *f) {
  if (!f || !f->running)
    return CFLAME_EINVAL;
  f->running = 0;
  cflame__thread_t *t = owner();
  if (!t)
    return 0;
  uint32_t d = cflame__depth(t), below = f->below < d ? f->below : d;
  int rc = 0;
  if (d - below > f->cap) {
    saved_t *p = realloc(f->f, (d - below) * sizeof *p);
    if (p) {
      f->f = p;
      f->cap = d - below;
    } else {
      rc = CFLAME_ENOMEM;
    }
  }
  if (rc == 0) {
    for (uint32_t i = below + 1; i <= d; i++) {
      saved_t *s = &f->f[f->n++];
      s->site = t->stack[i].node->cs_id;
      s->serial = t->stack[i].serial;
      s->sp = t->stack[i].sp;
    }
    cflame__stack_pop_above(t, below, cflame__now(), 0);
  } else {
    cflame__stack_pop_above(t, below, cflame__now(), 1); /* lost, counted */
  }
  t->barrier = f->barrier < below ? f->barrier : below;
  cflame__busy_leave(t);
  return rc;
}
