/* Private to cflame: the core's shared definitions (threads, trees, sites,
 * the sink table). Sinks never include this; they use <cflame/sink.h>. */
#ifndef CFLAME_CORE_H
#define CFLAME_CORE_H

#include "cflame.h"
#include "cflame/sink.h"
#include "field.h"
#include "report.h"
#include "util.h"

#include <pthread.h>

/* --- per-thread call tree ----------------------------------------------- */

/* One node per distinct stack of a thread. Only the owner writes a node;
 * sinks read `self` and `enters` (relaxed) while it runs. */
typedef struct cflame__node_s cflame__node_t;
struct cflame__node_s {
  uint64_t self;                    /* ticks of self time */
  uint64_t enters;                  /* times entered */
  const cflame_callsite_t *cs;      /* NULL for the root and [truncated] */
  uint32_t cs_id;                   /* registry id, or a CFLAME_SITE_* */
  uint32_t parent;                  /* index of the parent node */
  cflame__node_t *cache;            /* owner only: last child entered */
  cflame__node_t *hint;             /* owner only: the sibling entered
                                       right after this one, last time */
  uint32_t index;
  uint32_t depth;                   /* frames below the root */
  /* An instrumented function's node (see CFLAME__CS_FN): the function's
   * address and code size, so that the hooks tell its frames and calls
   * from its code apart without a lookup. Other nodes: 0 and UINTPTR_MAX
   * (every address is "in" them). */
  uintptr_t fn;
  uintptr_t fn_len;
};

/* A callsite made for an instrumented function (instrument_table.c) holds
 * the function's address in reserved_[1] and its code size in
 * reserved_[0]; a span macro's callsite has 0 in reserved_[1]. */
#define CFLAME__CS_FN(cs) ((uintptr_t)(cs)->reserved_[1])
/* The interest of an instrumented function's callsite once its module is
 * unloaded: neither on nor off, and never rewritten by a new filter. */
#define CFLAME__INTEREST_DEAD 3u
#define CFLAME__CS_FN_LEN(cs) ((uintptr_t)(cs)->reserved_[0])

/* Stack slots. Output frames stop at CFLAME_MAX_DEPTH (the tree depth), but
 * a registry span puts a shallow node on a deep slot, so the stack keeps
 * room for one more full tree below any frame it accepts (see push()). */
#define CFLAME__SLOTS (2 * CFLAME_MAX_DEPTH + 2)

typedef struct cflame__frame_s {
  cflame__node_t *node;
  uint64_t serial; /* token of the span that pushed this frame */
  uintptr_t sp;    /* C stack position of the enter (its caller's CFA);
                      the root's is UINTPTR_MAX */
  uintptr_t ra;    /* where in the caller the enter returns to: two enters
                      of one callsite at one position differ here if they
                      are inlined copies (recursion); 0 matches nothing.
                      The span macros make a callsite's first enter from
                      the same call as later ones (CFLAME__ON_ENTER) */
} cflame__frame_t;

/* The C stack position of the calling cflame API function's caller: its
 * canonical frame address, the same at every optimization level (one lea
 * on a frameless fast path). A later enter from a shallower position than
 * a frame still on cflame's stack means that frame was jumped over
 * (longjmp, an exception through C). */
#define CFLAME__CALLER_SP() ((uintptr_t)__builtin_dwarf_cfa())
/* The return address into the caller of the calling API function. */
#define CFLAME__CALLER_RA() ((uintptr_t)__builtin_return_address(0))

/* One enter/exit in the per-thread ring (see cflame_record_t). */
typedef struct cflame__rec_s {
  uint64_t ticks;
  uint32_t node;
  uint32_t kind;
} cflame__rec_t;

/* Serial with this bit set never equals a token: marks the root, a frame
 * whose exit must take the slow path, and (with REG) registry-span frames,
 * whose low bits are the span handle. */
#define CFLAME__SERIAL_NONE (UINT64_C(1) << 63)
#define CFLAME__SERIAL_REG (UINT64_C(1) << 62)
#define CFLAME__HANDLE_MASK (CFLAME__SERIAL_REG - 1)

/* A per-thread direct-mapped cache of (parent node, site id) -> child, in
 * front of the sibling lists: siblings entered in turn stay off the slow
 * path. */
#define CFLAME__CTAB_BITS 10
typedef struct cflame__ctab_s {
  const cflame__node_t *parent;
  cflame__node_t *child;
  uint32_t id;
} cflame__ctab_t;

static inline cflame__ctab_t *cflame__ctab_at(cflame__ctab_t *tab,
                                              const cflame__node_t *parent,
                                              uint32_t id) {
  uint32_t h = ((uint32_t)((uintptr_t)parent >> 3) + id) * 0x9E3779B1u;
  return &tab[h >> (32 - CFLAME__CTAB_BITS)];
}

/* A node's cache and hint before it has children: its callsite is NULL,
 * which no span passes, so the fast paths need no NULL check. */
extern cflame__node_t cflame__no_child;

#define CFLAME__VCACHE 32
typedef struct cflame__vcache_s {
  uint64_t hash;
  uint32_t base, id;
} cflame__vcache_t;

/* The public cflame_thread_t is this struct. */
typedef struct cflame_thread_s cflame__thread_t;
struct cflame_thread_s {
  /* hot: read by every enter/exit */
  uint64_t session;     /* equals cflame__live while recording */
  uint64_t last;        /* timestamp of the previous enter/exit */
  cflame__frame_t *top; /* the innermost frame; &stack[0] = only the root */
  uint32_t overflow;    /* spans open with no stack slot left */
  uint64_t serial;      /* last token handed out */
  int stream;           /* records go to the ring */
  uint64_t slow_tag;    /* CFLAME__SERIAL_NONE: frames skip the exit fast path */
  cflame__rec_t *ring;  /* records: owner produces, the sink lock consumes */
  uint64_t ring_mask;
  cflame__rec_t *spare;   /* offered at install, taken by the owner */
  cflame__rec_t *retired; /* left by the owner, freed at the next install */
  uint64_t head;        /* owner writes (release) */
  uint64_t tail_seen;   /* owner's copy of tail */
  uint64_t tail;        /* consumer writes (release), under the sink lock */
  /* nodes */
  uint32_t nnodes;      /* published with release */
  cflame__ctab_t *ctab; /* owner only; 1 << CFLAME__CTAB_BITS entries */
  uint32_t *nidx;       /* owner only: every node but the root by (parent,
                           site id), open addressing, 0 = empty (tree.c) */
  size_t nidx_mask;
  cflame__node_t *chunks[CFLAME__CHUNKS];
  uint64_t tree;        /* session whose tree this is (cflame__live >> 16) */
  uint64_t start;       /* ticks when this tree began */
  uint64_t born;        /* ticks at the thread's first cflame call */
  uint32_t born_clock;  /* cflame__clock_gen when born was read */
  /* identity, under the threads lock */
  char *name;           /* set by cflame_thread_name, or NULL */
  uint32_t number;      /* 0 for the main thread */
  int dead;             /* the thread has exited */
  uint32_t pending;     /* dead: TREES sinks (bits) yet to flush it */
  volatile int busy;    /* inside a slow path (signal re-entry guard) */
  volatile int holding; /* holds (or waits for) the sink lock */
  uint32_t barrier;     /* frames at or below it are never healed (a
                           resumed fiber's scheduler frames) */
  cflame__thread_t *next;
  void *sink_data[CFLAME_SINKS_MAX]; /* per sink slot, sink lock */
  cflame__vcache_t vcache[CFLAME__VCACHE]; /* owner only */
  cflame__frame_t stack[CFLAME__SLOTS];
};

/* Counts one enter of node n (owner only; sinks read `enters` relaxed);
 * cflame__add_self(n, d) adds d ticks to n's self time the same way. On
 * the fast path a plain add to memory is one instruction where a relaxed
 * load/add/store is three; an aligned 64-bit store is single-copy atomic on
 * every target cflame builds for, so a sink reads an old or a new count,
 * never a torn one (and one instruction is never split by a signal handler
 * of the same thread). Race checkers get the formal form. */
#if defined(__SANITIZE_THREAD__) || UINTPTR_MAX <= 0xffffffffu
/* (A 32-bit target adds 64 bits in two instructions: a sink could read half
 * of an add, or a handler land between them.) */
#define CFLAME__FORMAL_COUNTS 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define CFLAME__FORMAL_COUNTS 1
#endif
#endif
#ifdef CFLAME__FORMAL_COUNTS
#define cflame__bump(n) st_relaxed(&(n)->enters, (n)->enters + 1)
#define cflame__add_self(n, d) st_relaxed(&(n)->self, (n)->self + (d))
#else
#define cflame__bump(n) ((n)->enters++)
/* The slice d is computed apart (the empty asm keeps the compiler from
 * turning it into a load, add, subtract and store), then added to memory. */
static inline __attribute__((always_inline)) void
cflame__add_self_(uint64_t *self, uint64_t d) {
  __asm__("" : "+r"(d));
  *self += d;
}
#define cflame__add_self(n, d) cflame__add_self_(&(n)->self, (d))
#endif

static inline uint32_t cflame__depth(const cflame__thread_t *t) {
  return (uint32_t)(t->top - t->stack);
}

static inline cflame__node_t *cflame__node_at(const cflame__thread_t *t,
                                              uint32_t i) {
  int k = cflame__chunk_of(i);
  return &t->chunks[k][cflame__chunk_off(i, k)];
}

/* Marks t (the calling thread's own state) as holding or waiting for the
 * sink lock, so that a span from a signal handler on it never waits for
 * that lock (it drops instead). */
static inline void cflame__hold(cflame__thread_t *t, int on) {
  signal_fence();
  t->holding = on;
  signal_fence();
}

/* --- sessions and the sink table (sinks.c) ------------------------------- */

/* cflame__live = session << 16 | epoch while any sink is installed, else 0.
 * A new session (fresh trees) starts when the first sink is installed; the
 * epoch changes when what the sinks need changes (records on or off), and
 * a thread whose session word differs re-reads the settings. */
extern uint64_t cflame__live;
/* cflame__live when the fast paths apply (TSC clock, no records), else
 * CFLAME__FAST_NONE: the one word the enter fast path compares. */
extern uint64_t cflame__fast;
#define CFLAME__FAST_NONE (UINT64_MAX - 1)
/* Session settings, published before cflame__live. */
extern int cflame__rec_on;       /* some installed sink takes records */
extern size_t cflame__rec_ring;  /* records per thread ring */
extern int cflame__want_fields;  /* some sink shows fields */
extern int cflame__want_spans;   /* some records sink takes span records */
extern int cflame__want_notes;   /* some sink takes span notes */
extern uint64_t cflame__session_t0; /* ticks at the session start */

/* Held by setup, flush, drop, events to sinks, and by a thread whose ring
 * is full. Lock order: sink lock, then threads lock, then registry lock. */
extern pthread_mutex_t cflame__sink_lock;

/* A guard is never freed: a dropped one must stay safe to drop again. */
struct cflame_guard_s {
  int slot;       /* sink table slot; -1 once dropped, and for groups */
  int forked;     /* made by the parent process before a fork */
  uint64_t session;     /* session it was installed in */
  int nmembers;   /* a group guard (cflame_init_env): its sinks' guards */
  cflame_guard_t *members[CFLAME_SINKS_MAX];
  cflame_guard_t *next; /* every guard ever made */
};

typedef struct cflame__slot_s {
  cflame_guard_t *g;
  cflame_sink_t vt;
  void *ud;
} cflame__slot_t;
extern cflame__slot_t cflame__slots[CFLAME_SINKS_MAX];
extern uint32_t cflame__installed; /* bit per used slot */

/* A guard that owns the given guards (cflame_init_env); NULL if out of
 * memory. */
cflame_guard_t *cflame__guard_group(cflame_guard_t *const *members, int n);
/* Registers the atexit and fork handlers (once). */
void cflame__hooks(void);

/* Bits of installed slots whose sink needs `what` (sink lock held). */
uint32_t cflame__sinks_with(uint32_t what);
/* event.c, for span.c: hands note n (time: `ticks`) to every SPANS sink,
 * under the sink lock; if the calling thread holds that lock already (a
 * signal handler), the note is dropped and counted. */
void cflame__sinks_span_note(cflame_span_note_t *n, uint64_t ticks);
/* Hands t's ring to every RECORDS sink (sink lock held). */
void cflame__sinks_drain(cflame__thread_t *t);
/* Slow path of a record push: the ring is full. 0: store, -1: drop. */
int cflame__ring_full(cflame__thread_t *t);
/* Recomputes and publishes cflame__live/fast from the installed sinks
 * (sink lock held); `fresh` starts a new session. */
void cflame__sinks_publish(int fresh);

/* --- thread states (thread.c) ---------------------------------------------- */

extern pthread_mutex_t cflame__threads_lock;
/* cflame_unwind_auto's setting: heal frames jumped over. */
extern int cflame__unwind_auto;
extern cflame__thread_t *cflame__threads;
/* The calling thread's state; &cflame__sentinel until its first use
 * (stack.c, beside the fast paths that read it). */
extern _Thread_local cflame__thread_t *cflame__tls;
extern cflame__thread_t cflame__sentinel;
/* stack.c: the calling thread's state, NULL before its first use. */
cflame__thread_t *cflame__thread_peek(void);
/* stack.c: the calling thread's state, created on first use (NULL: no
 * memory). */
cflame__thread_t *cflame__thread_self(void);
/* stack.c: the calling thread's state set up for the live session; NULL if
 * no sink is installed (or out of memory). */
cflame__thread_t *cflame__thread_recording(void);
/* stack.c: cflame__hold for the calling thread, if it has a state. */
void cflame__thread_hold(int on);
/* stack.c: ends the calling thread's open spans (process exit). */
void cflame__thread_at_exit(void);
/* A new thread state, listed (not yet the calling thread's). */
cflame__thread_t *cflame__thread_new(void);
/* A private state for the live session that no sink sees (measuring
 * cflame's own cost), and its release. */
cflame__thread_t *cflame__thread_scratch(void);
void cflame__thread_scratch_free(cflame__thread_t *t);
/* overhead.c: measures cflame's own cost per span pair (sink lock held;
 * done when a sink first asks for it in a session). */
void cflame__overhead_calibrate(void);
/* ring.c. Offers t a spare ring of n records (a power of two) unless its
 * ring holds that many, and frees its retired ring (sink lock held, t
 * live). */
void cflame__ring_offer(cflame__thread_t *t, size_t n);
/* Owner, at a session's start with nothing pending: takes up a spare ring
 * if its own is smaller than n (allocates only if it has none and none was
 * offered) and sets the mask for n records at most; -1 if out of memory. */
int cflame__ring_ready(cflame__thread_t *t, size_t n);
void cflame__ring_free(cflame__rec_t *ring);
/* Frees every ring t holds (t is being freed). */
void cflame__rings_free(cflame__thread_t *t);
/* thread.c: offers every live thread a ring of n records (sink lock
 * held). */
void cflame__rings_prepare(size_t n);
/* Brings t up to the live session word `live` (owner only). */
int cflame__thread_begin(cflame__thread_t *t, uint64_t live);
/* t's thread exits (its TSD destructor): hand its data to the sinks. */
void cflame__thread_exit(cflame__thread_t *t);
/* Root label of t: its name, "main" or "thread-N" (buf: 24 bytes). */
const char *cflame__thread_label(const cflame__thread_t *t, char buf[24]);
/* Drops the registry-span references of frames above index `keep`. */
void cflame__thread_release_above(cflame__thread_t *t, uint32_t keep);
/* Exits every open span of t at `now` (thread or process exit). */
void cflame__thread_close_all(cflame__thread_t *t, uint64_t now);
/* tree.c: a new node under parent (NULL: the root) for site `id`; NULL if
 * out of memory. Owner only. */
cflame__node_t *cflame__node_add(cflame__thread_t *t, cflame__node_t *parent,
                                 const cflame_callsite_t *cs, uint32_t id);
/* tree.c: sizes t's node index for node chunks 0..k (0, or -1 if out of
 * memory); empties it (a new tree: the size is kept). */
int cflame__node_index_reserve(cflame__thread_t *t, int k);
void cflame__node_index_clear(cflame__thread_t *t);
/* After the sinks in done_bits flushed (or dropped): frees the dead threads
 * no sink still needs (sink lock held). */
void cflame__thread_reap(uint32_t done_bits);
/* Sink slot `slot` is dropping (sink lock held): hands every thread's data
 * of that slot back through its thread_done. */
void cflame__thread_release_slot(int slot);
/* Drains every thread's ring to the RECORDS sinks (sink lock held). */
void cflame__thread_drain_all(void);
/* fiber.c: pops t's frames above index `keep` at `now` (busy guard held
 * by the caller), counted as jumped over if `unwound`, else as exits. */
void cflame__stack_pop_above(cflame__thread_t *t, uint32_t keep, uint64_t now,
                             int unwound);
/* In a fork child: every thread but `self` is the parent's. */
void cflame__thread_after_fork_child(const cflame__thread_t *self);

/* --- the span stack (stack.c) ----------------------------------------------- */

/* Appends a record to t's ring (t->stream set). Slot and head are written
 * as busy (see cflame__busy_enter): a signal handler's span that lands
 * in between would take the same slot, so it is dropped and counted
 * instead. Before or after, its records simply come first. */
static inline void cflame__record(cflame__thread_t *t, uint32_t kind,
                                  uint32_t node, uint64_t ticks) {
  int was = t->busy;
  t->busy = 1;
  signal_fence();
  if (cflame_likely(t->head - t->tail_seen <= t->ring_mask) ||
      cflame__ring_full(t) == 0) {
    cflame__rec_t *r = &t->ring[t->head & t->ring_mask];
    r->ticks = ticks;
    r->node = node;
    r->kind = kind;
    st_release(&t->head, t->head + 1);
  }
  signal_fence();
  t->busy = was;
}

/* cflame__charge for the fast paths, which run only with the TSC: no check
 * against a clock that went back. Two cores' TSCs may differ by a few
 * ticks, so a slice can come out slightly negative: it wraps here and
 * cancels out in the sums; sinks read a node below zero as zero. */
static inline __attribute__((always_inline)) void
cflame__charge_fast(cflame__thread_t *t, cflame__node_t *n, uint64_t now) {
  cflame__add_self(n, now - t->last);
  t->last = now;
}

/* The fast paths' exit: the top frame's time charged at `now` and the frame
 * popped, the top read again (one subtract from memory). */
static inline __attribute__((always_inline)) void
cflame__pop_fast(cflame__thread_t *t, cflame__frame_t *top, uint64_t now) {
  cflame__charge_fast(t, top->node, now);
  signal_fence();
  t->top--;
}

/* Charges the time since the thread's previous event to node n. */
static inline void cflame__charge(cflame__thread_t *t, cflame__node_t *n,
                                  uint64_t now) {
  /* t->last read once: a signal handler's span in between must not make
   * the slice negative. */
  uint64_t last = ld_relaxed(&t->last);
  if (cflame_unlikely(now < last)) /* a user clock that went back */
    now = last;
  st_relaxed(&n->self, n->self + (now - last));
  st_relaxed(&t->last, now);
}

/* A signal handler that interrupts a slow path on its own thread must not
 * touch the half-updated state: it is dropped and counted instead. */
static inline int cflame__busy_enter(cflame__thread_t *t) {
  if (t->busy) {
    /* Only an atomic add here: formatting or locking is not safe in a
     * signal handler. The next flush reports it. */
    fetch_add(&cflame__counters.faults[CFLAME_FAULT_REENTRY], 1);
    return 0;
  }
  t->busy = 1;
  signal_fence();
  return 1;
}

static inline void cflame__busy_leave(cflame__thread_t *t) {
  signal_fence();
  t->busy = 0;
}

/* tree.c: the child of parent for site `id` (cs: its callsite, NULL for
 * variants), added on first use; below CFLAME_MAX_DEPTH frames,
 * [truncated]. */
cflame__node_t *cflame__stack_child(cflame__thread_t *t, cflame__node_t *parent,
                                    const cflame_callsite_t *cs, uint32_t id);
/* Enters site `id` under t's top at `now`, from C stack position sp (busy
 * guard included). */
cflame_token_t cflame__stack_enter_id(cflame__thread_t *t,
                                     const cflame_callsite_t *cs, uint32_t id,
                                     uint64_t now, uintptr_t sp, uintptr_t ra);
/* Does entering cs from C stack position sp show that frames on top were
 * jumped over? Deeper frames are; so is an open frame of cs itself at the
 * same depth. */
static inline int cflame__stale(const cflame__frame_t *top, uintptr_t sp,
                                uintptr_t ra, const cflame_callsite_t *cs) {
  return sp > top->sp || (sp == top->sp && cs && top->node->cs == cs && ra &&
                          top->ra == ra);
}
/* Writes frame f, its serial first: a signal handler that pushes onto the
 * same slot after that store overwrites the serial too. */
static inline __attribute__((always_inline)) void
cflame__frame_set(cflame__frame_t *f, cflame__node_t *node, uint64_t serial,
                  uintptr_t sp, uintptr_t ra) {
  f->serial = serial;
  signal_fence();
  f->node = node;
  f->sp = sp;
  f->ra = ra;
}

/* stack.c: cflame__frame_set out of line, for cflame__push_top's rare
 * rewrite: a tail call, so the fast paths keep no stack frame and no extra
 * register. Returns serial. */
uint64_t cflame__frame_redo(cflame__frame_t *f, cflame__node_t *node,
                            uint64_t serial, uint64_t tag, uintptr_t sp,
                            uintptr_t ra);

/* The fast paths' push (stack.c, and the instrumentation hooks): pushes
 * child (found under top's node) above top, its serial tagged with
 * `tag`; returns the untagged serial. Unlike push() it checks no room and
 * writes no record: the routes below need neither, or record themselves.
 *
 * A signal handler's span may run at any instruction of this. Until the top
 * moves, the slot above it is free to the handler, which writes its own
 * frame there and leaves the top as it found it; so once the top has moved,
 * the slot is checked and, if a handler wrote it, written again (serials
 * are unique: the handler's span took a later one). After that the slot
 * belongs to this frame, and a handler pushes above it. The fences keep
 * the compiler to this order. */
static inline __attribute__((always_inline)) uint64_t
cflame__push_top(cflame__thread_t *t, cflame__frame_t *top,
                 cflame__node_t *child, uint64_t tag, uintptr_t sp,
                 uintptr_t ra) {
  cflame__bump(child);
  uint64_t serial = ++t->serial;
  signal_fence();
  cflame__frame_set(&top[1], child, serial | tag, sp, ra);
  signal_fence();
  t->top++; /* == top + 1 (a handler leaves the top as it found it): one
               add to memory */
  signal_fence();
  if (cflame_unlikely(top[1].serial != (serial | tag)))
    return cflame__frame_redo(&top[1], child, serial, tag, sp, ra);
  return serial;
}

/* Closes the frames of t that entering cs from sp shows were jumped over
 * (see cflame__stale; cs may be NULL), at `now`; not when running on an
 * alternate signal stack. */
void cflame__stack_heal(cflame__thread_t *t, uintptr_t sp, uintptr_t ra,
                        const cflame_callsite_t *cs, uint64_t now);
/* Enters callsite cs from C stack position sp through the general path
 * (for entry points other than cflame_scope_enter). */
cflame_token_t cflame__stack_enter_at(cflame_callsite_t *cs, uintptr_t sp,
                                     uintptr_t ra);
/* Enters a registry span's frame (ids: its path); `enters` is the span's
 * counter that numbers its enters in CFLAME_RECORD_SPAN records (NULL: no
 * such record). */
int cflame__stack_enter_path(const uint32_t *ids, size_t n, uint64_t handle,
                             uintptr_t sp, uint32_t *enters);
int cflame__stack_exit_handle(uint64_t handle);
/* names.c: t's current stack as site ids, root first (at most max). */
size_t cflame__stack_path(const cflame__thread_t *t, uint32_t *ids,
                          size_t max);

/* --- registry (registry.c) and registry-span slots (slab.c) ---------------- */

typedef struct cflame__site_s {
  char *name;       /* sanitized; NULL until named: read cflame__site_name */
  const char *raw;  /* an instrumented function's symbol name, unsanitized,
                       never freed (symbols.h); NULL for other sites */
  char *target;     /* sanitized; "" when none */
  char *file;       /* sanitized basename */
  const char *function;
  int line;
  int level;
  const cflame_callsite_t *cs; /* plain sites; NULL for variants */
  int cs_static;    /* cs is in an object's data: a dlclose may unmap it */
  int cs_gone;      /* ... and it was: never touch cs again */
  uint32_t base;    /* the plain site of a variant; itself otherwise */
  char *fields;     /* variants: "k=v, k2=v2"; NULL otherwise */
  size_t fields_len;
} cflame__site_t;
uint32_t cflame__registry_register(cflame_callsite_t *cs);
cflame__site_t *cflame__registry_site(uint32_t id);
/* A malloc'd sanitized copy of in[0..len) (a frame name); *repaired set to
 * 1 if anything had to change. NULL if out of memory. */
char *cflame__sanitized_copy(const char *in, size_t len, int *repaired);
/* The same for a NUL-terminated string (read up to 4 names' length; NULL
 * reads as empty). */
char *cflame__sanitized_str(const char *s, int *repaired);
/* s's sanitized name. An instrumented function's site is named here, the
 * first time anything reads its name (a sink, at a flush or a drain), not
 * when its function is first called; "[unknown]" if out of memory (named
 * at a later read). Any thread; may allocate and report. */
const char *cflame__site_name(cflame__site_t *s);
/* Id of the variant of `base` with these fields (interned); base itself
 * if the variant table is full (counted) or memory runs out. */
uint32_t cflame__registry_variant(uint32_t base, const char *fields,
                                  size_t len, uint64_t hash);
/* A callsite owned by the registry for a run-time name (dynamic spans). */
cflame_callsite_t *cflame__registry_dynamic(const char *name,
                                            const char *target, int level);
/* Recomputes every callsite's interest (a sink came or went). */
void cflame__registry_refilter(void);
/* fork: the registry lock is taken in prepare, released in both after. */
void cflame__registry_lock_for_fork(void);
void cflame__registry_unlock_after_fork(void);

/* filter.c (callers hold the registry lock) */
int cflame__filter_enabled(const char *target, int level);
int cflame__filter_parse(const char *directives, int report);
void cflame__filter_env(void);

/* slab.c: registry span slots, reference counted */
void cflame__span_unref(uint64_t handle);

#endif /* CFLAME_CORE_H */
