/* The span stack and its hot path: enter/exit touch only the calling
 * thread's memory -- no lock, no allocation, no formatting in steady state. */
#include "clock.h"
#include "core.h"
#include "platform.h"

#include <stdio.h>
#include <string.h>

/* Every thread starts at the sentinel (never written): its session never
 * matches and its root serial never equals a token, so both fast paths fall
 * to the slow path with no NULL check. Defined beside the fast paths, which
 * then read them %fs-relative with no GOT load. */
cflame__thread_t cflame__sentinel = {
    .session = UINT64_MAX,
    .top = &cflame__sentinel.stack[0],
    .stack = {{NULL, CFLAME__SERIAL_NONE, UINTPTR_MAX, 0}}};
_Thread_local cflame__thread_t *cflame__tls = &cflame__sentinel;
#define tls cflame__tls
#define sentinel cflame__sentinel

/* --- the calling thread ---------------------------------------------------- */

static pthread_key_t exit_key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;

static void exit_hook(void *arg) {
  tls = &sentinel;
  cflame__thread_exit(arg);
}

static void key_create(void) {
  cflame__plat_pin_self(); /* exit_hook must never be unmapped */
  (void)pthread_key_create(&exit_key, exit_hook);
}

cflame__thread_t *cflame__thread_peek(void) {
  return tls != &sentinel ? tls : NULL;
}

cflame__thread_t *cflame__thread_self(void) {
  if (tls != &sentinel)
    return tls;
  cflame__thread_t *t = cflame__thread_new();
  if (t) {
    pthread_once(&key_once, key_create);
    (void)pthread_setspecific(exit_key, t);
    tls = t;
  }
  return t;
}

cflame__thread_t *cflame__thread_recording(void) {
  uint64_t live = ld_acquire(&cflame__live);
  if (live == 0)
    return NULL;
  cflame__thread_t *t = cflame__thread_self();
  if (t && t->session != live && cflame__thread_begin(t, live) != 0)
    return NULL;
  return t;
}

void cflame__thread_hold(int on) {
  if (tls != &sentinel)
    cflame__hold(tls, on);
}

void cflame__thread_at_exit(void) {
  cflame__thread_t *t = tls;
  if (t != &sentinel && t->session == ld_acquire(&cflame__live))
    cflame__thread_close_all(t, cflame__now());
}

/* --- slow paths -------------------------------------------------------- */

/* Pushes a frame for `node` (already charged up to now). The fast path
 * never checks the stack's end: from a frame it can follow cached children
 * at most down to the tree's cap, so a frame is only accepted with room for
 * that many more slots below it. */
static cflame_token_t push(cflame__thread_t *t, cflame__node_t *node,
                           uint64_t tag, uint64_t now, uintptr_t sp,
                           uintptr_t ra, uint32_t *enters) {
  uint32_t d = cflame__depth(t);
  uint64_t serial = ++t->serial;
  if (d + 1 + (CFLAME_MAX_DEPTH - node->depth) >= CFLAME__SLOTS) {
    /* No room: counted, charged to the top. */
    if (tag & CFLAME__SERIAL_REG)
      return 0;
    t->overflow++;
    t->stack[d].serial |= CFLAME__SERIAL_NONE; /* its exit leaves fast path */
    return serial;
  }
  cflame__bump(node);
  /* A registry span's frame is managed by hand (entered and exited from
   * anywhere): frames below it are never taken for jumped over. */
  cflame__frame_set(&t->stack[d + 1], node, tag ? tag : serial | t->slow_tag,
                    tag & CFLAME__SERIAL_REG ? UINTPTR_MAX : sp, ra);
  t->top = &t->stack[d + 1];
  if (t->stream) {
    /* A registry span's enter, named for SPANS sinks by the record before
     * it (its `ticks` hold the span's handle: never converted). */
    if (enters && ld_relaxed(&cflame__want_spans))
      cflame__record(t, CFLAME_RECORD_SPAN, fetch_add(enters, 1) + 1,
                     tag & CFLAME__HANDLE_MASK);
    cflame__record(t, CFLAME_RECORD_ENTER, node->index, now);
  }
  return serial;
}

/* Enters site `id` under the current top (cs NULL for field variants). */
cflame_token_t cflame__stack_enter_id(cflame__thread_t *t,
                                     const cflame_callsite_t *cs, uint32_t id,
                                     uint64_t now, uintptr_t sp,
                                     uintptr_t ra) {
  if (!cflame__busy_enter(t))
    return 0;
  if (cflame_unlikely(cflame__stale(t->top, sp, ra, cs)))
    cflame__stack_heal(t, sp, ra, cs, now);
  cflame__node_t *cur = t->top->node;
  cflame__charge(t, cur, now);
  cflame_token_t tok = 0;
  cflame__node_t *child = cflame__stack_child(t, cur, cs, id);
  if (child)
    tok = push(t, child, 0, now, sp, ra, NULL);
  else /* out of memory: not recorded, counted */
    fetch_add(&cflame__counters.faults[CFLAME_FAULT_DROPPED], 1);
  cflame__busy_leave(t);
  return tok;
}

__attribute__((noinline)) static cflame_token_t
enter_slow(cflame_callsite_t *cs, uint64_t now, uintptr_t sp, uintptr_t ra,
           cflame__thread_t *t) {
  if (!cs)
    return 0;
  fetch_add(&cflame__counters.slow_enters, 1);
  uint32_t id = cflame__registry_register(cs);
  if (!id || ld_relaxed(&cs->interest_) != CFLAME_INTEREST_ON)
    return 0;
  return cflame__stack_enter_id(t, cs, id, now, sp, ra);
}

static cflame_token_t enter_setup(cflame_callsite_t *cs, uintptr_t sp,
                                  uintptr_t ra) {
  if (!cs)
    return 0;
  cflame__thread_t *t = cflame__thread_recording();
  if (t)
    return enter_slow(cs, cflame__now(), sp, ra, t);
  /* Nothing records: a callsite the span macro passed unregistered (see
   * CFLAME__ON_ENTER) is registered now, off, so later enters stop in the
   * macro. */
  if (ld_relaxed(&cs->interest_) == CFLAME_INTEREST_UNKNOWN)
    (void)cflame_callsite_register(cs);
  return 0;
}

/* Pops frames down to index i - 1 (the frame at i is the one exited). */
static void pop_to(cflame__thread_t *t, uint32_t i, const char *what) {
  uint32_t d = cflame__depth(t);
  uint64_t now = cflame__now();
  cflame__charge(t, t->stack[d].node, now);
  if (i != d || t->overflow)
    cflame__report(CFLAME_FAULT_OUT_OF_ORDER,
                   "exit of %s while %u span(s) entered after it were open; "
                   "they exit with it",
                   what, (unsigned)(d - i) + t->overflow);
  cflame__thread_release_above(t, i - 1);
  if (t->stream)
    for (uint32_t j = d; j >= i; j--)
      cflame__record(t, CFLAME_RECORD_EXIT, t->stack[j - 1].node->index, now);
  t->overflow = 0;
  t->top = &t->stack[i - 1];
  if (t->barrier >= i)
    t->barrier = i - 1;
}

static uint32_t find_frame(const cflame__thread_t *t, uint64_t serial) {
  uint32_t i = cflame__depth(t);
  while (i > 0 && t->stack[i].serial != serial)
    i--;
  return i;
}

__attribute__((noinline)) static void end_slow(cflame__thread_t *t,
                                               cflame_token_t tok) {
  if (tok == 0 || (int64_t)tok < 0 || t == &sentinel || !cflame__busy_enter(t))
    return;
  uint32_t d = cflame__depth(t);
  uint64_t top = t->stack[d].serial & ~CFLAME__SERIAL_NONE;
  if (t->overflow && tok > top && tok <= t->serial) {
    cflame__charge(t, t->stack[d].node, cflame__now());
    if (--t->overflow == 0 && !(t->stack[d].serial & CFLAME__SERIAL_REG))
      t->stack[d].serial = top | t->slow_tag;
    cflame__busy_leave(t);
    return;
  }
  uint32_t i = d;
  while (i > 0 && (t->stack[i].serial & ~CFLAME__SERIAL_NONE) != tok)
    i--;
  if (i == 0) {
    cflame__report(CFLAME_FAULT_STALE_EXIT,
                   "exit of a span that already exited or belongs to another "
                   "thread; ignored");
  } else {
    cflame__site_t *s = cflame__registry_site(t->stack[i].node->cs_id);
    char what[96];
    snprintf(what, sizeof what, "span \"%.60s\"",
             s ? cflame__site_name(s) : "[truncated]");
    pop_to(t, i, what);
  }
  cflame__busy_leave(t);
}

/* --- registry span frames (span.c) ---------------------------------------- */

int cflame__stack_enter_path(const uint32_t *ids, size_t n, uint64_t handle,
                             uintptr_t sp, uint32_t *enters) {
  cflame__thread_t *t = cflame__thread_recording();
  if (!t)
    return -1;
  if (!cflame__busy_enter(t))
    return -1;
  uint64_t now = cflame__now();
  if (sp > t->top->sp)
    cflame__stack_heal(t, sp, 0, NULL, now);
  cflame__charge(t, t->top->node, now);
  cflame__node_t *node = t->stack[0].node;
  for (size_t i = 0; i < n && node; i++) {
    const cflame__site_t *s = cflame__registry_site(ids[i]);
    node = cflame__stack_child(t, node, s ? s->cs : NULL, ids[i]);
  }
  cflame_token_t tok =
      node ? push(t, node, CFLAME__SERIAL_NONE | CFLAME__SERIAL_REG | handle,
                  now, sp, 0, enters)
           : 0;
  cflame__busy_leave(t);
  if (!tok)
    cflame__report(CFLAME_FAULT_DEPTH, "registry span entered below "
                                       "CFLAME_MAX_DEPTH frames; dropped");
  return tok ? 0 : -1;
}

int cflame__stack_exit_handle(uint64_t handle) {
  cflame__thread_t *t = tls;
  if (t == &sentinel)
    return -1;
  uint32_t i = find_frame(t, CFLAME__SERIAL_NONE | CFLAME__SERIAL_REG | handle);
  if (i == 0 || !cflame__busy_enter(t))
    return -1;
  pop_to(t, i, "a registry span");
  cflame__busy_leave(t);
  return 0;
}

/* --- fast paths ------------------------------------------------------------ */

/* frame_set out of line, for push_top's rare rewrite (core.h). */
__attribute__((noinline)) uint64_t
cflame__frame_redo(cflame__frame_t *f, cflame__node_t *node, uint64_t serial,
                   uint64_t tag, uintptr_t sp, uintptr_t ra) {
  cflame__frame_set(f, node, serial | tag, sp, ra);
  return serial;
}

/* The fast paths only run in record-free sessions with the TSC clock, out
 * of precise mode (clock.h), on a thread set up for the live session
 * (cflame__fast equals its session); everything else, including the first
 * span of a thread, takes these out-of-line routes. Keeping every call out
 * of the fast paths (or in tail position) lets them run in caller-saved
 * registers with no stack frame. `precise` (a constant): precise mode's
 * copy, out of line of its own so that the others keep their registers. */
static inline __attribute__((always_inline)) cflame_token_t
enter_body(cflame_callsite_t *cs, uintptr_t sp, uintptr_t ra, int precise) {
  cflame__thread_t *t = tls;
  if (t->session != ld_acquire(&cflame__live))
    return enter_setup(cs, sp, ra);
  uint64_t now = cflame__now_as(precise);
  cflame__frame_t *top = t->top;
  cflame__node_t *cur = top->node;
  cflame__node_t *child = cur->cache;
  if (child->cs != cs && (child = child->hint)->cs == cs)
    cur->cache = child; /* siblings in turn, as on the fast path */
  if (child->cs != cs || t->busy || cflame__stale(top, sp, ra, cs))
    return enter_slow(cs, now, sp, ra, t);
  cflame__charge(t, cur, now);
  uint64_t serial = cflame__push_top(t, top, child, t->slow_tag, sp, ra);
  if (t->stream)
    cflame__record(t, CFLAME_RECORD_ENTER, child->index, now);
  if (precise)
    cflame__plat_fence(); /* done before the span's work starts */
  return serial;
}

__attribute__((noinline)) static cflame_token_t
enter_precise(cflame_callsite_t *cs, uintptr_t sp, uintptr_t ra) {
  return enter_body(cs, sp, ra, 1);
}

__attribute__((noinline)) static cflame_token_t
enter_generic(cflame_callsite_t *cs, uintptr_t sp, uintptr_t ra) {
  if (cflame_unlikely(ld_relaxed(&cflame__precise)))
    return enter_precise(cs, sp, ra);
  return enter_body(cs, sp, ra, 0);
}

/* The one-entry cache missed: try the sibling entered after the cached one
 * last time (loops over siblings), then the per-thread child cache, and
 * enter there without leaving the fast path's shape (no stack frame).
 * `hinted` (a constant): the caller found the top not jumped over from
 * below and the hint not cs's, so only the child cache is left to try
 * (and, at the top frame's own position, the recursion check). */
static inline __attribute__((always_inline)) cflame_token_t
miss(cflame_callsite_t *cs, uint64_t now, uintptr_t sp, uintptr_t ra,
     int hinted) {
  cflame__thread_t *t = tls;
  cflame__frame_t *top = t->top;
  cflame__node_t *cur = top->node, *last = cur->cache;
  cflame__node_t *child = last->hint;
  if (hinted ? sp == top->sp && cflame__stale(top, sp, ra, cs)
             : cflame__stale(top, sp, ra, cs)) /* jumped over: heal there */
    return enter_slow(cs, now, sp, ra, t);
  if (hinted || child->cs != cs) {
    uint32_t id = cs ? ld_relaxed(&cs->id_) : 0;
    const cflame__ctab_t *e = cflame__ctab_at(t->ctab, cur, id);
    if (e->parent != cur || e->id != id || !id || e->child->cs != cs)
      return enter_slow(cs, now, sp, ra, t);
    child = e->child;
  }
  if (child->cs != cur->cs) { /* recursion stays uncached */
    if (last != &cflame__no_child)
      last->hint = child;
    cur->cache = child;
  }
  cflame__charge_fast(t, cur, now);
  return cflame__push_top(t, top, child, 0, sp, ra);
}

__attribute__((noinline)) static cflame_token_t
enter_miss(cflame_callsite_t *cs, uint64_t now, uintptr_t sp, uintptr_t ra) {
  return miss(cs, now, sp, ra, 0);
}

/* enter_miss after the sibling hint missed. */
__attribute__((noinline)) static cflame_token_t
enter_unhinted(cflame_callsite_t *cs, uint64_t now, uintptr_t sp,
               uintptr_t ra) {
  return miss(cs, now, sp, ra, 1);
}

static inline __attribute__((always_inline)) void
end_body(cflame_token_t tok, cflame__thread_t *t, int precise) {
  if (precise)
    cflame__plat_fence(); /* the span's work is done before this starts */
  cflame__frame_t *top = t->top;
  if ((int64_t)tok <= 0 || t->overflow ||
      (top->serial & ~CFLAME__SERIAL_NONE) != tok) {
    end_slow(t, tok);
    return;
  }
  uint64_t now = cflame__now_as(precise);
  t->top = top - 1;
  cflame__charge(t, top->node, now);
  if (t->stream)
    cflame__record(t, CFLAME_RECORD_EXIT, top[-1].node->index, now);
  if (precise)
    cflame__plat_fence();
}

__attribute__((noinline)) static void end_precise(cflame_token_t tok,
                                                  cflame__thread_t *t) {
  end_body(tok, t, 1);
}

__attribute__((noinline)) static void end_generic(cflame_token_t tok,
                                                  cflame__thread_t *t) {
  if (cflame_unlikely(ld_relaxed(&cflame__precise))) {
    end_precise(tok, t);
    return;
  }
  end_body(tok, t, 0);
}

/* own_ra (a constant): ra is the return address of the function enter_fast
 * is inlined into, read where it is used rather than held in a register
 * (one move less on the fast path). */
#define RA() (own_ra ? CFLAME__CALLER_RA() : ra)
static inline __attribute__((always_inline)) cflame_token_t
enter_fast(cflame_callsite_t *cs, uintptr_t sp, uintptr_t ra, int own_ra) {
  cflame__thread_t *t = tls;
  if (cflame_unlikely(t->session != ld_relaxed(&cflame__fast)))
    return enter_generic(cs, sp, RA());
  uint64_t now = cflame__plat_tsc();
  cflame__frame_t *top = t->top;
  cflame__node_t *cur = top->node;
  cflame__node_t *child = cur->cache; /* never NULL: see cflame__node_add */
  if (cflame_unlikely(sp > top->sp)) /* frames jumped over */
    return enter_miss(cs, now, sp, RA());
  if (child->cs != cs) {
    /* Siblings entered in turn: the one after the cached child. */
    child = child->hint;
    if (cflame_unlikely(child->cs != cs))
      return enter_unhinted(cs, now, sp, RA());
    cur->cache = child;
  }
  cflame__charge_fast(t, cur, now);
  return cflame__push_top(t, top, child, 0, sp, RA());
}
#undef RA

cflame_token_t cflame_scope_enter(cflame_callsite_t *cs) {
  uintptr_t sp = CFLAME__CALLER_SP();
  __asm__("" : "+r"(sp)); /* computed once, not again for each use */
  return enter_fast(cs, sp, 0, 1);
}

/* The same for callers that know their own position (field and name
 * variants pass their caller's). */
cflame_token_t cflame__stack_enter_at(cflame_callsite_t *cs, uintptr_t sp,
                                     uintptr_t ra) {
  return enter_fast(cs, sp, ra, 0);
}

void cflame_scope_exit(cflame_token_t tok) {
  cflame__thread_t *t = tls;
  cflame__frame_t *top = t->top;
  /* Tokens never have the top bit. Frames that must not pop here have it:
   * the root, registry spans, and every frame of a session that is not
   * record-free with the TSC; so one compare (plus the sign, against
   * forged tokens) picks the fast case. */
  if (cflame_unlikely(top->serial != tok || (int64_t)tok < 0)) {
    end_generic(tok, t);
    return;
  }
  cflame__pop_fast(t, top, cflame__plat_tsc());
}
