/* Auto-instrumentation: the __cyg_profile_func_enter/exit hooks that GCC and
 * Clang call around every function compiled with -finstrument-functions.
 * Each function address becomes a callsite of its own (its symbol found at
 * its first call while a sink records, instrument_table.c; named when a
 * sink first reads the name, site.c). The hooks keep no stack of their own:
 * a function's frame is a frame of cflame's span stack (core.h), whose node
 * knows the function's address and code size, whose sp is the function's
 * stack position and whose ra the call site the compiler passed. Span
 * macros nest in the same stack; one push and one pop per call.
 *
 * Frames that a longjmp jumped over are ended at the next enter that their
 * top cannot be the caller of (a shallower stack position, or a call site
 * outside the top function's code), or at the exit of a function below
 * them. The hooks touch only the calling thread's state. */
#include "instrument.h"

#include "clock.h"
#include "core.h"
#include "platform.h"
#include "util.h"

#include <cflame.h>

#define NO_INSTR CFLAME__NO_INSTR

/* Exported from the shared library too: they are what -finstrument-functions
 * calls. */
#define HOOK __attribute__((visibility("default"), no_instrument_function))
/* GCC pairs the frame's stores through a vector register (four
 * instructions for two stores): not in the hooks. */
#if defined(__GNUC__) && !defined(__clang__)
#define HOOK_OPT __attribute__((optimize("no-tree-slp-vectorize")))
#else
#define HOOK_OPT
#endif
HOOK void __cyg_profile_func_enter(void *fn, void *caller);
HOOK void __cyg_profile_func_exit(void *fn, void *caller);

#define tls cflame__tls

/* Per thread, slow paths only: the thread's stack (outside it nothing
 * heals: an alternate signal stack, a fiber), and a guard against hooks
 * nested in our own slow path (a user's instrumented malloc). */
static _Thread_local uintptr_t stack_lo, stack_hi;
static _Thread_local int stack_known, in_slow;
/* The settings and the CFLAME_FLAME sink are set up (once per process). */
static int ready;

NO_INSTR static void stack_bounds(void) {
  if (cflame__plat_stack_bounds(&stack_lo, &stack_hi) != 0) {
    stack_lo = 0;
    stack_hi = UINTPTR_MAX;
  }
  stack_known = 1;
}

NO_INSTR static int on_stack(uintptr_t sp) {
  return sp >= stack_lo && sp < stack_hi;
}

/* Was the call from `caller` made by the code of node n's function? Every
 * call is "in" a node that is no function's (a span macro's, the root). */
NO_INSTR static inline int in_body(const cflame__node_t *n,
                                   const void *caller) {
  return (uintptr_t)caller - n->fn < n->fn_len;
}

/* --- healing (slow paths) -------------------------------------------------- */

/* Where the instrumented function that called the hook keeps its return
 * address (`caller`): the lowest stack word in [sp, limit) that holds it,
 * looking at most 4 KiB up; 0 if none does. A stray copy lower down only
 * makes the answer lower, which heals less, never more. */
NO_INSTR static uintptr_t return_slot(uintptr_t sp, const void *caller,
                                      uintptr_t limit) {
  if (limit - sp > 4096)
    limit = sp + 4096;
  for (uintptr_t a = sp; a < limit && a + sizeof(void *) <= stack_hi;
       a += sizeof(void *))
    if (*(const void *const *)a == caller)
      return a;
  return 0;
}

/* Functions inlined into a function run in its stack frame: their hooks
 * see its stack position. Is a call from `caller` at the position of the
 * frames o.. (o the lowest there) such a call? Clang passes the owner's
 * own call site; GCC a call site inside the owner's code, and being no
 * real call it left no return address on the stack (a real call from that
 * code would be deeper: it comes from a sibling of a dead frame). */
NO_INSTR static int inlined_in(const cflame__thread_t *t, uint32_t o,
                               uintptr_t sp, const void *caller) {
  const cflame__frame_t *owner = &t->stack[o];
  if ((uintptr_t)caller == owner->ra)
    return 1;
  return in_body(owner->node, caller) &&
         !return_slot(sp, caller, t->stack[o - 1].sp);
}

/* An enter that the top frame cannot be the caller of: a function inlined
 * into the top one, a call through code that is not instrumented (a libc
 * callback), or the top frame (and maybe more) was left by longjmp without
 * its exit hook. Frames at or below the new function's own position are
 * gone; the position is `sp` for functions inlined where they were called,
 * else the slot of the function's return address. Frames a fiber's resume
 * guards (the barrier) and registry spans (sp UINTPTR_MAX) stay. Returns
 * 1 if the enter is of a function inlined into the top frame's (after the
 * healing) at that frame's position. */
NO_INSTR static int heal(cflame__thread_t *t, uintptr_t sp,
                         const void *caller) {
  int inlined = 0;
  if (!on_stack(sp))
    return 0; /* an alternate signal stack or a fiber is not shallower */
  uint32_t d = cflame__depth(t), floor = t->barrier, keep = d;
  if (floor > d)
    floor = d;
  while (keep > floor && on_stack(t->stack[keep].sp)) {
    uintptr_t at = t->stack[keep].sp;
    if (at > sp)
      break;
    if (at < sp) {
      keep--;
      continue;
    }
    uint32_t o = keep; /* the lowest frame at this stack position */
    while (o - 1 > floor && t->stack[o - 1].sp == sp)
      o--;
    if (inlined_in(t, o, sp, caller)) {
      inlined = 1;
      goto out;
    }
    keep = o - 1;
  }
  /* Not inlined: every frame at or below the slot of the new function's
   * return address is gone, whatever the sizes of the frames (a sibling of
   * a dead frame may sit lower than it, or be the same function). */
  if (keep > floor) {
    uintptr_t entry = return_slot(sp, caller, UINTPTR_MAX);
    while (entry && keep > floor && t->stack[keep].sp <= entry &&
           on_stack(t->stack[keep].sp))
      keep--;
  }
out:
  if (keep < d) {
    if (!cflame__busy_enter(t))
      return 0;
    cflame__stack_pop_above(t, keep, cflame__now(), 1);
    cflame__busy_leave(t);
  }
  return inlined;
}

/* --- slow paths ------------------------------------------------------------ */

/* A direct-mapped cache in front of the function table (any thread, no
 * lock: entries are never freed and a slot holds one whole pointer), so
 * that a function that is never recorded costs little more than a hook
 * call. */
#define FRONT 4096
static cflame__fnent_t *front[FRONT];

NO_INSTR static inline cflame__fnent_t **front_slot(const void *fn) {
  return &front[((uintptr_t)fn >> 4) & (FRONT - 1)];
}

/* The table entry of fn if the front cache has it, else NULL. */
NO_INSTR static inline cflame__fnent_t *front_find(const void *fn) {
  cflame__fnent_t *e = ld_acquire(front_slot(fn));
  return e && ld_relaxed(&e->fn) == fn ? e : NULL;
}

/* Is fn a function that is never recorded (excluded, below the minimum
 * size)? Only the front cache is asked: false when unsure. */
NO_INSTR static inline int skipped(const void *fn) {
  const cflame__fnent_t *e = front_find(fn);
  return e && !e->cs;
}

/* Once per process, at the first hook: the settings and the sink of
 * CFLAME_FLAME. Returns 0 if this hook must do nothing (it runs inside
 * that setup). */
__attribute__((noinline)) NO_INSTR static int setup(void) {
  if (in_slow)
    return 0;
  in_slow = 1;
  cflame__fntab_setup();
  in_slow = 0;
  st_release(&ready, 1);
  return 1;
}

/* Pushes child (under top's node cur) for the call from `caller` at sp, at
 * `now`: the core's fast push, with the call site as return address. */
NO_INSTR static inline __attribute__((always_inline)) void
push(cflame__thread_t *t, cflame__frame_t *top, cflame__node_t *cur,
     cflame__node_t *child, uintptr_t sp, const void *caller, uint64_t now) {
  cflame__charge_fast(t, cur, now);
  (void)cflame__push_top(t, top, child, 0, sp, (uintptr_t)caller);
}

/* The enter of a recorded function that the fast path did not take. */
__attribute__((noinline)) NO_INSTR static void
enter_full(const void *fn, const void *caller, uintptr_t sp,
           cflame__fnent_t *e) {
  if (in_slow)
    return; /* a hook nested in our own slow path */
  cflame__thread_t *t = tls;
  if (t->session != ld_acquire(&cflame__live) &&
      !(t = cflame__thread_recording()))
    return;
  if (t->busy)
    return;
  if (!stack_known)
    stack_bounds();
  if (!e && !(e = cflame__fntab_find(fn))) {
    in_slow = 1;
    e = cflame__fntab_add(fn);
    in_slow = 0;
    if (!e)
      return;
  }
  if (ld_relaxed(front_slot(fn)) != e)
    st_release(front_slot(fn), e);
  cflame_callsite_t *cs = e->cs;
  if (!cs || ld_relaxed(&cs->interest_) != CFLAME_INTEREST_ON)
    return;
  cflame__frame_t *top = t->top;
  int inlined = 0; /* into the top frame's function, at its position */
  if (top->sp <= sp || !in_body(top->node, caller)) {
    inlined = heal(t, sp, caller);
    top = t->top;
  }
  /* Record-free with the TSC, and a child the caches find (one the fast
   * path would have taken but for the checks above, a function inlined
   * into the top one, or recursion, which the core never caches): pushed
   * as on the fast path. */
  cflame__node_t *cur = top->node, *last = cur->cache, *child = last;
  if (child->fn != (uintptr_t)fn)
    child = last->hint;
  if (child->fn != (uintptr_t)fn) {
    uint32_t id = ld_relaxed(&cs->id_);
    const cflame__ctab_t *c = cflame__ctab_at(t->ctab, cur, id);
    child = c->parent == cur && c->id == id ? c->child : &cflame__no_child;
  }
  if (t->session == ld_relaxed(&cflame__fast) && child->cs == cs &&
      (sp < top->sp || inlined)) {
    if (child != last && child->cs != cur->cs) {
      /* The caches learn it as the core's do (recursion stays out). */
      if (last != &cflame__no_child && last->hint != child)
        last->hint = child;
      cur->cache = child;
    }
    push(t, top, cur, child, sp, caller, cflame__plat_tsc());
    return;
  }
  uint32_t d = cflame__depth(t);
  /* No return address for the core to compare: this file heals. */
  if (cflame__stack_enter_id(t, cs, ld_relaxed(&cs->id_), cflame__now(), sp,
                             0) &&
      cflame__depth(t) == d + 1)
    t->top->ra = (uintptr_t)caller;
}

__attribute__((noinline)) NO_INSTR static void
first_hooks(const void *fn, const void *caller, uintptr_t sp);

/* Everything the enter hook's fast path does not handle: the first hook, a
 * thread's first call, a function's first call under this parent, a
 * function that is not recorded, a frame left by longjmp or an inlined
 * function, a session that is not record-free with the TSC. No stack
 * frame before the cheap exits. */
__attribute__((noinline)) NO_INSTR static void
enter_slow(const void *fn, const void *caller, uintptr_t sp) {
  if (cflame_unlikely(!ld_acquire(&ready))) {
    first_hooks(fn, caller, sp); /* a tail call: no stack frame here */
    return;
  }
  if (!ld_relaxed(&cflame__live))
    return; /* nothing records */
  cflame__fnent_t *e = front_find(fn);
  if (e && (!e->cs || ld_relaxed(&e->cs->interest_) != CFLAME_INTEREST_ON))
    return;
  enter_full(fn, caller, sp, e);
}

/* The hooks before the setup is done. */
__attribute__((noinline)) NO_INSTR static void
first_hooks(const void *fn, const void *caller, uintptr_t sp) {
  if (setup())
    enter_slow(fn, caller, sp);
}

/* An exit that is not the top frame's, or in a session that is not
 * record-free with the TSC: the frames above the function's own (the
 * topmost of that function) were left by longjmp. The stack position
 * cannot tell more here: GCC may call the exit hook as a tail call, from
 * the caller's position, so an exit is matched by function only; frames a
 * longjmp left below a recursive function are healed at the next enter.
 * The exit of a function that has no frame (never recorded) changes
 * nothing. */
__attribute__((noinline)) NO_INSTR static void exit_full(const void *fn) {
  cflame__thread_t *t = cflame__thread_peek();
  if (!t || in_slow || t->busy || t->session != ld_acquire(&cflame__live))
    return;
  const cflame__fnent_t *e = cflame__fntab_find(fn);
  if (!e || !e->cs || !cflame__busy_enter(t))
    return;
  uint32_t d = cflame__depth(t);
  if (t->overflow) {
    /* Calls deeper than the stack: the innermost is this one. */
    cflame__charge(t, t->top->node, cflame__now());
    uint64_t s = t->top->serial;
    if (--t->overflow == 0 && !(s & CFLAME__SERIAL_REG))
      t->top->serial = (s & ~CFLAME__SERIAL_NONE) | t->slow_tag;
  } else {
    /* Below cflame's depth every frame is [truncated]: the innermost is
     * this function's. */
    uint32_t i = d;
    if (t->top->node->cs_id != CFLAME_SITE_TRUNCATED)
      while (i > 0 && t->stack[i].node->fn != (uintptr_t)fn)
        i--;
    if (i > 0) {
      uint64_t now = cflame__now();
      if (i < d)
        cflame__stack_pop_above(t, i, now, 1);
      cflame__stack_pop_above(t, i - 1, now, 0);
    }
  }
  cflame__busy_leave(t);
}

/* The exit hook's slow path: cheap exits first (no stack frame). */
__attribute__((noinline)) NO_INSTR static void exit_slow(const void *fn) {
  if (!ld_relaxed(&cflame__live))
    return; /* nothing records */
  const cflame__fnent_t *e = front_find(fn);
  if (e && !e->cs)
    return; /* never recorded */
  exit_full(fn);
}

/* The enter hook's cache missed: a function that is never recorded
 * (excluded, below the minimum size) stops here. */
__attribute__((noinline)) NO_INSTR static void
enter_miss(const void *fn, const void *caller, uintptr_t sp) {
  if (!skipped(fn))
    enter_slow(fn, caller, sp);
}

/* The top frame is not the function's: so too at its exit. */
__attribute__((noinline)) NO_INSTR static void exit_miss(const void *fn) {
  if (!skipped(fn))
    exit_slow(fn);
}

/* The enter hook found the function in the caches, but at the top frame's
 * position or called from outside the top function's code. The frames at
 * one position are a function and those inlined into it (the lowest is
 * their owner; a fiber's barrier bounds them): GCC and Clang call an inlined
 * function's hooks from its owner's position with its owner's call site,
 * and a call made by inlined code comes from the owner's code. Either is
 * pushed at once, as healing would conclude (inlined_in) after a look at
 * the stack; anything else takes the slow path. */
__attribute__((noinline)) NO_INSTR static void
enter_odd(const void *fn, const void *caller, uintptr_t sp) {
  cflame__thread_t *t = tls;
  cflame__frame_t *top = t->top;
  const cflame__frame_t *floor = t->stack + t->barrier, *o = top;
  if (sp > top->sp || top <= floor || (sp < top->sp && top[-1].sp != top->sp))
    goto slow; /* frames a longjmp left, or a call through other code */
  while (o - 1 > floor && o[-1].sp == top->sp)
    o--;
  cflame__node_t *cur = top->node, *child = cur->cache;
  if (sp == top->sp ? (uintptr_t)caller != o->ra
                    : o == top || !in_body(o->node, caller))
    goto slow;
  if (child->fn == (uintptr_t)fn &&
      ld_relaxed(&child->cs->interest_) == CFLAME_INTEREST_ON) {
    push(t, top, cur, child, sp, caller, cflame__plat_tsc());
    return;
  }
slow:
  enter_slow(fn, caller, sp);
}

/* --- hooks ------------------------------------------------------------------ */

/* The enter fast path: the function was entered under the top frame's node
 * before (its one-entry child cache, or the sibling entered after that one
 * last time), from deeper on the stack, by the top function's own code
 * (else the top may be a frame a longjmp left), and is recorded. Then it is
 * the core's enter fast path with the function's own stack position. */
HOOK HOOK_OPT void __cyg_profile_func_enter(void *fn, void *caller) {
  /* The instrumented function's stack pointer when it called the hook (the
   * hook's canonical frame address): span macros in it enter from there
   * too. */
  uintptr_t sp = (uintptr_t)__builtin_dwarf_cfa();
  cflame__thread_t *t = tls;
  if (cflame_unlikely(t->session != ld_relaxed(&cflame__fast)))
    goto slow;
  cflame__frame_t *top = t->top;
  cflame__node_t *cur = top->node;
  cflame__node_t *child = cur->cache; /* never NULL: see cflame__node_add */
  if (cflame_unlikely(child->fn != (uintptr_t)fn)) {
    child = child->hint; /* siblings called in turn */
    if (child->fn != (uintptr_t)fn)
      goto miss;
    cur->cache = child;
  }
  if (cflame_unlikely(sp >= top->sp || !in_body(cur, caller) ||
                      ld_relaxed(&child->cs->interest_) !=
                          CFLAME_INTEREST_ON))
    goto odd;
  push(t, top, cur, child, sp, caller, cflame__plat_tsc());
  return;
odd:
  enter_odd(fn, caller, sp);
  return;
miss:
  enter_miss(fn, caller, sp);
  return;
slow:
  enter_slow(fn, caller, sp);
}

/* The exit fast path: the top frame is the function's and pops fast (its
 * serial has no slow-path bit: the sentinel's, a root's, a registry span's
 * and every frame of a session that is not record-free with the TSC
 * have). */
HOOK void __cyg_profile_func_exit(void *fn, void *caller) {
  (void)caller;
  cflame__thread_t *t = tls;
  cflame__frame_t *top = t->top;
  if (cflame_unlikely((int64_t)top->serial < 0)) {
    exit_slow(fn);
    return;
  }
  if (cflame_unlikely(top->node->fn != (uintptr_t)fn)) {
    exit_miss(fn);
    return;
  }
  cflame__pop_fast(t, top, cflame__plat_tsc());
}
