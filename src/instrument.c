/* Auto-instrumentation: the __cyg_profile_func_enter/exit hooks that GCC and
 * Clang call around every function compiled with -finstrument-functions.
 * Each function address becomes a callsite of its own (named from the ELF
 * symbol tables, once, at its first call), entered at the instrumented
 * function's own stack position (cflame__stack_enter_at) and exited with
 * cflame_scope_exit, so instrumented functions and span macros share one
 * stack. A per-thread shadow stack of (function, stack position, call
 * site, token) frames pairs each exit with its enter and heals: frames that
 * a longjmp jumped over are ended at the next enter from a shallower stack
 * position, or at the exit of a function below them. The hooks touch only
 * the calling thread's state; a function's first call takes the table lock
 * once (instrument_table.c). */
#include "instrument.h"

#include "core.h"
#include "platform.h"
#include "util.h"

#include <cflame.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

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

/* Shadow stack depth per thread; deeper calls are counted, not recorded. */
#define DEPTH 2048
/* Per-thread direct-mapped cache of function address -> callsite. */
#define CACHE 512

typedef struct frame_s {
  const void *fn;
  uintptr_t len;       /* of fn's code: calls from inside it are children */
  uintptr_t sp;        /* stack position of the enter hook's call */
  const void *caller;  /* the call site the compiler passed */
  cflame_token_t tok;  /* 0: not recorded */
} frame_t;

typedef struct cache_s {
  const void *fn;
  cflame_callsite_t *cs;
  uintptr_t len;
  uintptr_t pad_;
} cache_t;

typedef struct ithread_s {
  uint32_t overflow; /* calls deeper than DEPTH still open */
  int busy;          /* inside a slow path: nested hooks are not recorded */
  uintptr_t lo, hi;  /* this thread's stack; outside it nothing heals */
  cache_t cache[CACHE];
  frame_t frames[DEPTH + 1];
  /* The top while calls are too deep: no function, no code, lowest stack
   * position, so that both hooks take their slow paths. */
  frame_t deep;
} ithread_t;

static _Thread_local ithread_t *self;
static _Thread_local int creating; /* in thread_slow: hooks do nothing */

/* What the hooks' fast paths read, each one thread-local load (%fs-relative
 * in a static cflame, built initial-exec): the top frame (frames[0] is a
 * sentinel; `deep` while calls deeper than DEPTH are open), the cache, and
 * &frames[DEPTH] (they push below it). Before the thread's state exists
 * they point at zeroed stand-ins: no function, no cached address, lowest
 * stack position, so both hooks take their slow paths without a NULL
 * check. */
static frame_t no_frame;
static cache_t no_cache[CACHE];
static _Thread_local frame_t *top_ = &no_frame;
static _Thread_local cache_t *cache_ = no_cache;
static _Thread_local frame_t *limit_;

/* Frames in use, the sentinel included. */
NO_INSTR static uint32_t depth_of(const ithread_t *t) {
  return (uint32_t)(top_ - t->frames) + 1;
}

/* --- per-thread state ---------------------------------------------------- */

static pthread_key_t key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;

NO_INSTR static void thread_gone(void *arg) {
  if (self == arg) {
    self = NULL;
    top_ = &no_frame;
    cache_ = no_cache;
    limit_ = NULL;
  }
  free(arg);
}

NO_INSTR static void key_create(void) {
  (void)pthread_key_create(&key, thread_gone);
}

/* The thread's stack, so that a hook running elsewhere (an alternate
 * signal stack, a fiber) is never taken for a shallower frame. */
NO_INSTR static void stack_bounds(ithread_t *t) {
  if (cflame__plat_stack_bounds(&t->lo, &t->hi) != 0) {
    t->lo = 0;
    t->hi = UINTPTR_MAX;
  }
}

__attribute__((noinline)) NO_INSTR static ithread_t *thread_slow(void) {
  if (creating)
    return NULL; /* a hook inside our own setup */
  creating = 1;
  cflame__fntab_setup();
  pthread_once(&key_once, key_create);
  ithread_t *t = calloc(1, sizeof *t);
  if (t) {
    /* The sentinel: never deeper than anything, and every call site is
     * inside it, so the first frame never takes the slow path. */
    t->frames[0].sp = UINTPTR_MAX;
    t->frames[0].len = UINTPTR_MAX;
    top_ = &t->frames[0];
    cache_ = t->cache;
    limit_ = &t->frames[DEPTH];
    stack_bounds(t);
    (void)pthread_setspecific(key, t);
  }
  self = t;
  creating = 0;
  return t;
}

/* --- shadow stack --------------------------------------------------------- */

NO_INSTR static int on_stack(const ithread_t *t, uintptr_t sp) {
  return sp >= t->lo && sp < t->hi;
}

/* Drops frames [j, depth): ending the lowest recorded one ends every span
 * entered after it too (cflame counts them as out of order). */
NO_INSTR static void drop_from(ithread_t *t, uint32_t j) {
  for (uint32_t k = j; k < depth_of(t); k++)
    if (t->frames[k].tok) {
      cflame_scope_exit(t->frames[k].tok);
      break;
    }
  top_ = &t->frames[j - 1];
}

/* Was the call from `caller` made by the code of frame f? */
NO_INSTR static int in_body(const frame_t *f, const void *caller) {
  return (uintptr_t)caller - (uintptr_t)f->fn < f->len;
}

/* Where the instrumented function that called the hook keeps its return
 * address (`caller`): the lowest stack word in [sp, limit) that holds it,
 * looking at most 4 KiB up; 0 if none does. A stray copy lower down only
 * makes the answer lower, which heals less, never more. */
NO_INSTR static uintptr_t return_slot(const ithread_t *t, uintptr_t sp,
                                      const void *caller, uintptr_t limit) {
  if (limit - sp > 4096)
    limit = sp + 4096;
  for (uintptr_t a = sp; a < limit && a + sizeof(void *) <= t->hi;
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
NO_INSTR static int inlined_in(const ithread_t *t, uint32_t o, uintptr_t sp,
                               const void *caller) {
  const frame_t *owner = &t->frames[o];
  if (caller == owner->caller)
    return 1;
  return in_body(owner, caller) &&
         !return_slot(t, sp, caller, t->frames[o - 1].sp);
}

/* An enter that the top frame cannot be the caller of: a function inlined
 * into the top one, a call through code that is not instrumented (a libc
 * callback), or the top frame (and maybe more) was left by longjmp without
 * its exit hook. Frames at or below the new function's own position are
 * gone; the position is `sp` for functions inlined where they were called,
 * else the slot of the function's return address. */
__attribute__((noinline)) NO_INSTR static void
enter_heal(ithread_t *t, uintptr_t sp, const void *caller) {
  if (!on_stack(t, sp))
    return; /* an alternate signal stack or a fiber is not shallower */
  uint32_t j = depth_of(t);
  while (j > 1 && on_stack(t, t->frames[j - 1].sp)) {
    uintptr_t at = t->frames[j - 1].sp;
    if (at > sp)
      break;
    if (at < sp) {
      j--;
      continue;
    }
    uint32_t o = j - 1; /* the frame whose stack position this is */
    while (o > 1 && t->frames[o - 1].sp == sp)
      o--;
    if (inlined_in(t, o, sp, caller))
      goto out;
    j = o;
  }
  /* Not inlined: every frame at or below the slot of the new function's
   * return address is gone, whatever the sizes of the frames (a sibling of
   * a dead frame may sit lower than it, or be the same function). */
  if (j > 1) {
    uintptr_t entry = return_slot(t, sp, caller, UINTPTR_MAX);
    while (entry && j > 1 && t->frames[j - 1].sp <= entry &&
           on_stack(t, t->frames[j - 1].sp))
      j--;
  }
out:
  if (j < depth_of(t)) {
    t->overflow = 0;
    drop_from(t, j);
  }
}

/* An exit that is not the top frame's: the frames above the function's own
 * (the topmost of that function) were left by longjmp. The stack position
 * cannot tell more here: GCC may call the exit hook as a tail call, from
 * the caller's position, so an exit is matched by function only; frames a
 * longjmp left below a recursive function are healed at the next enter. An
 * exit of a function never entered (nested in a slow path) is ignored. */
__attribute__((noinline)) NO_INSTR static void exit_slow(const void *fn) {
  ithread_t *t = self;
  if (!t || t->busy)
    return;
  if (t->overflow) {
    if (--t->overflow == 0)
      top_ = &t->frames[DEPTH];
    return;
  }
  for (uint32_t j = depth_of(t) - 1; j > 0; j--)
    if (t->frames[j].fn == fn) {
      drop_from(t, j);
      return;
    }
}

/* What the cache holds for a function that is never recorded: filtered
 * out for good (never registered, so no filter change turns it on). */
static cflame_callsite_t skipped = {.interest_ = CFLAME_INTEREST_OFF};

/* The callsite of fn on a cache miss. Returns 0 if the frame must not be
 * pushed (a hook nested in our own slow path). */
__attribute__((noinline)) NO_INSTR static int miss(ithread_t *t, cache_t *c,
                                                   const void *fn,
                                                   cflame_callsite_t **out) {
  cflame__fnent_t *e = cflame__fntab_find(fn);
  if (!e) {
    if (t->busy)
      return 0;
    t->busy = 1;
    e = cflame__fntab_add(fn);
    t->busy = 0;
  }
  *out = e && e->cs ? e->cs : &skipped;
  if (e) {
    c->fn = fn;
    c->cs = *out;
    c->len = e->len;
  }
  return 1;
}

/* --- hooks ---------------------------------------------------------------- */

/* The hook's stack position: the instrumented function's stack pointer
 * when it called the hook (the hook's canonical frame address). */
#define STACK_POS(v) ((v) = (uintptr_t)__builtin_dwarf_cfa())

/* Everything the enter hook's fast path does not handle: the thread's first
 * hook, a cache miss, a frame left by longjmp or inlining, a stack that is
 * too deep. */
__attribute__((noinline)) NO_INSTR static void
enter_slow(const void *fn, const void *caller, uintptr_t sp) {
  ithread_t *t = self;
  if (!t && !(t = thread_slow()))
    return;
  if (top_ == &t->deep) {
    /* Deeper still; or the deep calls were left by longjmp. */
    if (!on_stack(t, sp) || sp < t->frames[DEPTH].sp) {
      t->overflow++;
      return;
    }
    t->overflow = 0;
    top_ = &t->frames[DEPTH];
  }
  const frame_t *top = top_;
  if (top->sp <= sp || !in_body(top, caller))
    enter_heal(t, sp, caller);
  cache_t *c = &cache_[((uintptr_t)fn >> 4) & (CACHE - 1)];
  cflame_callsite_t *cs = c->cs;
  if (c->fn != fn && !miss(t, c, fn, &cs))
    return;
  /* Not cached only when out of memory. */
  uintptr_t len = c->fn == fn ? c->len : CFLAME__LEN_UNKNOWN;
  if (top_ >= &t->frames[DEPTH]) {
    t->overflow = 1;
    top_ = &t->deep;
    return;
  }
  frame_t *f = top_ + 1;
  f->fn = fn;
  f->len = len;
  f->sp = sp;
  f->caller = caller;
  f->tok = 0;
  top_ = f;
  if (ld_relaxed(&cs->interest_) == CFLAME_INTEREST_ON)
    f->tok = cflame__stack_enter_at(cs, sp, 0);
}

HOOK HOOK_OPT void __cyg_profile_func_enter(void *fn, void *caller) {
  uintptr_t sp;
  STACK_POS(sp);
  frame_t *top = top_;
  cache_t *c = &cache_[((uintptr_t)fn >> 4) & (CACHE - 1)];
  if (cflame_unlikely(c->fn != fn || top->sp <= sp ||
                      !in_body(top, caller) || top >= limit_)) {
    enter_slow(fn, caller, sp);
    return;
  }
  frame_t *f = top + 1;
  f->fn = fn;
  f->len = c->len;
  f->sp = sp;
  f->caller = caller;
  f->tok = 0;
  top_ = f;
  cflame_callsite_t *cs = c->cs;
  /* The core heals by stack position too: it must see the function's own
   * position (a span macro inside the function enters from there), not
   * the hook's, whose frame size differs from path to path. */
  if (ld_relaxed(&cs->interest_) == CFLAME_INTEREST_ON)
    f->tok = cflame__stack_enter_at(cs, sp, 0);
}

HOOK void __cyg_profile_func_exit(void *fn, void *caller) {
  (void)caller;
  frame_t *f = top_;
  if (cflame_likely(f->fn == fn)) { /* never for `deep` or `no_frame` */
    top_ = f - 1;
    if (f->tok)
      cflame_scope_exit(f->tok);
    return;
  }
  exit_slow(fn);
}
