/* Private to cflame: shared definitions of the core (threads, nodes, sink). */
#ifndef CFLAME_INTERNAL_H
#define CFLAME_INTERNAL_H

#include "cflame.h"

#include <pthread.h>
#include <stdarg.h>
#include <string.h>

#define cflame_likely(x) __builtin_expect(!!(x), 1)
#define cflame_unlikely(x) __builtin_expect(!!(x), 0)

/* Plain C11 atomics would force _Atomic into every struct the flusher
 * shares; the GCC/Clang builtins let hot fields stay ordinary words. */
#define ld_relaxed(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define st_relaxed(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define ld_acquire(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define st_release(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define fetch_add(p, v) __atomic_fetch_add((p), (v), __ATOMIC_RELAXED)

/* --- per-thread call tree ---------------------------------------------- */

/* One node per distinct stack of a thread. The owner writes `self`; the
 * flusher reads it and owns `flushed`. Owner-only links stay private. */
typedef struct cflame__node_s cflame__node_t;
struct cflame__node_s {
  uint64_t self;                    /* ticks of self time (owner writes) */
  uint64_t flushed;                 /* ticks already written (flusher) */
  const cflame_callsite_t *cs;      /* NULL for the root and [truncated] */
  uint32_t cs_id;                   /* registry id, or a CFLAME__ID_* */
  uint32_t parent;                  /* index of the parent node */
  cflame__node_t *first_child;      /* owner only */
  cflame__node_t *next_sibling;     /* owner only */
  cflame__node_t *cache;            /* owner only: last child entered */
  uint32_t index;
  uint32_t depth;                   /* frames below the root */
};

#define CFLAME__ID_ROOT 0u
#define CFLAME__ID_TRUNCATED 0xffffffffu

/* Append-only arrays (nodes, sites, span slots) live in chunks of doubling
 * size that never move, so readers can index them while the owner appends:
 * item i is in chunk cflame__chunk_of(i), at cflame__chunk_off(i, k). */
#define CFLAME__CHUNK0 64u /* items in chunk 0; log2 is 6 */
#define CFLAME__CHUNKS 26

static inline int cflame__chunk_of(uint32_t i) {
  return 31 - __builtin_clz(i + CFLAME__CHUNK0) - 6;
}

static inline uint32_t cflame__chunk_off(uint32_t i, int k) {
  return i + CFLAME__CHUNK0 - (CFLAME__CHUNK0 << k);
}

/* Stack slots. Output frames stop at CFLAME_MAX_DEPTH (the tree depth), but
 * a registry span puts a shallow node on a deep slot, so the stack keeps
 * room for one more full tree below any frame it accepts (see push()). */
#define CFLAME__SLOTS (2 * CFLAME_MAX_DEPTH + 2)

typedef struct cflame__frame_s {
  cflame__node_t *node;
  uint64_t serial; /* token of the span that pushed this frame */
} cflame__frame_t;

/* Stream mode: one fixed-size record per non-empty slice. */
typedef struct cflame__rec_s {
  uint64_t ticks;
  uint32_t node;
  uint32_t pad_;
} cflame__rec_t;

/* Serial with this bit set never equals a token: marks the root, a frame
 * whose END must take the slow path, and (with REG) registry-span frames,
 * whose low bits are the span handle. */
#define CFLAME__SERIAL_NONE (UINT64_C(1) << 63)
#define CFLAME__SERIAL_REG (UINT64_C(1) << 62)
#define CFLAME__HANDLE_MASK (CFLAME__SERIAL_REG - 1)

#define CFLAME__VCACHE 32
typedef struct cflame__vcache_s {
  uint64_t hash;
  uint32_t base, id;
} cflame__vcache_t;

/* Formatted stacks of one thread's nodes, built once and reused by every
 * line that names them. Owned by whoever holds the sink lock. */
typedef struct cflame__text_s {
  char *buf;          /* node i: buf[off[i] .. off[i]+n[i]) = "root;a;b" */
  size_t len, cap;
  uint32_t *off, *n;
  uint32_t count, cap_nodes;
  uint64_t session;   /* the session the text was built for */
  uint32_t name_version; /* the root name it starts with */
} cflame__text_t;

typedef struct cflame__thread_s cflame__thread_t;
struct cflame__thread_s {
  /* hot: read by every enter/exit */
  uint64_t session; /* equals cflame__live while recording */
  uint64_t last;    /* timestamp of the previous enter/exit */
  cflame__frame_t *top; /* the innermost frame; &stack[0] = only the root */
  uint32_t overflow;/* spans open with no stack slot left */
  uint64_t serial;  /* last token handed out */
  int stream;
  uint64_t slow_tag;   /* CFLAME__SERIAL_NONE: frames skip the END fast path */
  cflame__rec_t *ring; /* stream ring, owner produces, flusher consumes */
  uint64_t ring_mask;
  uint64_t head;       /* owner writes (release) */
  uint64_t tail_seen;  /* owner's copy of tail */
  uint64_t tail;       /* consumer writes (release), under the sink lock */
  /* nodes */
  uint32_t nnodes;     /* published with release */
  cflame__node_t *chunks[CFLAME__CHUNKS];
  /* identity, under the threads lock */
  char *name;          /* set by cflame_thread_name, or NULL */
  uint32_t name_version; /* bumped by every rename */
  uint32_t number;     /* 0 for the main thread */
  int dead;            /* the thread has exited */
  volatile int busy;   /* inside a slow path (signal re-entry guard) */
  volatile int holding; /* holds (or waits for) the sink lock */
  cflame__thread_t *next;
  cflame__vcache_t vcache[CFLAME__VCACHE]; /* owner only */
  cflame__text_t text;
  cflame__frame_t stack[CFLAME__SLOTS];
};

/* A guard is never freed: a dropped one must stay safe to drop again. */
enum { CFLAME__GUARD_FLAME = 0, CFLAME__GUARD_FMT = 1 };
struct cflame_guard_s {
  int kind;
  uint64_t session;
  cflame_guard_t *next; /* list of dropped guards */
};

/* fmt.c (sink lock held by the caller for these three) */
int cflame__fmt_flush(cflame_guard_t *g);
int cflame__fmt_drop(cflame_guard_t *g);
void cflame__fmt_after_fork_child(void);
cflame_guard_t *cflame__fmt_current(void);
/* flame.c: registers the atexit and fork handlers (once). */
void cflame__hooks(void);

/* stack.c: the calling thread's root frame / "outer:inner{k=v}" context,
 * written to out (NUL-terminated); returns the length. */
size_t cflame__stack_root(char *out, size_t cap);
const char *cflame__thread_label(const cflame__thread_t *t, char buf[24]);
size_t cflame__stack_context(char *out, size_t cap);

/* Current recording session (0: none). Threads compare it on every event. */
extern uint64_t cflame__live;
/* cflame__live when the clock is the TSC, else CFLAME__FAST_NONE: the one
 * word the enter fast path compares with the thread's session. */
extern uint64_t cflame__fast;
#define CFLAME__FAST_NONE (UINT64_MAX - 1)
/* Held by setup, flush, drop, and by a thread whose stream ring is full. */
extern pthread_mutex_t cflame__sink_lock;
/* Guards the list of thread states and their names. */
extern pthread_mutex_t cflame__threads_lock;
extern cflame__thread_t *cflame__threads;

static inline uint32_t cflame__depth(const cflame__thread_t *t) {
  return (uint32_t)(t->top - t->stack);
}

static inline cflame__node_t *cflame__node_at(cflame__thread_t *t,
                                              uint32_t i) {
  int k = cflame__chunk_of(i);
  return &t->chunks[k][cflame__chunk_off(i, k)];
}

/* Appends s[0..n) to out[0..len), clamped so out keeps room for a NUL
 * (cap > len); returns the new length. */
static inline size_t cflame__put_clamped(char *out, size_t cap, size_t len,
                                         const char *s, size_t n) {
  if (len + n >= cap)
    n = cap - 1 - len;
  memcpy(out + len, s, n);
  return len + n;
}

/* stack.c */
void cflame__stack_close_all(cflame__thread_t *t, uint64_t now);
void cflame__stack_free(cflame__thread_t *t);
void cflame__stack_at_exit(void);
void cflame__stack_after_fork_child(void);

/* stack.c, for registry spans */
int cflame__stack_enter_path(const uint32_t *ids, size_t n, uint64_t handle);
int cflame__stack_exit_handle(uint64_t handle);
size_t cflame__stack_path(uint32_t *ids, size_t max);
/* Marks the calling thread as holding the sink lock, so that a span from a
 * signal handler on it never waits for that lock (it drops instead). */
void cflame__stack_hold(int on);
/* span.c: drops the reference an enter took. */
void cflame__span_unref(uint64_t handle);

/* flame.c: drain the ring of t (sink lock held). */
void cflame__flame_drain(cflame__thread_t *t);
/* flame.c: is a flame sink recording `session` (sink lock held)? */
int cflame__flame_recording(uint64_t session);
/* Starts a recording session for a new sink (sink lock held); returns it. */
uint64_t cflame__session_open(int flame);
/* A sink goes away (sink lock held): ends recording if no sink is left. */
void cflame__session_close(int flame);

/* registry.c: callsites, and their field variants ("name{k=v}" frames) */
typedef struct cflame__site_s {
  char *name;       /* sanitized */
  char *target;     /* sanitized; "" when none */
  char *file;       /* sanitized basename */
  int line;
  int level;
  const cflame_callsite_t *cs; /* plain sites; NULL for variants */
  uint32_t base;    /* the plain site of a variant; itself otherwise */
  char *fields;     /* variants: "k=v, k2=v2"; NULL otherwise */
  size_t fields_len;
  char *frame;      /* composed for frame_session (sink lock) */
  size_t frame_len;
  uint64_t frame_session;
} cflame__site_t;
uint32_t cflame__registry_register(cflame_callsite_t *cs);
cflame__site_t *cflame__registry_site(uint32_t id);
/* Id of the variant of `base` with these fields (interned); base itself
 * if the variant table is full (counted) or memory runs out. */
uint32_t cflame__registry_variant(uint32_t base, const char *fields,
                                  size_t len, uint64_t hash);
uint64_t cflame__hash(const char *p, size_t n, uint64_t seed);

/* filter.c (callers hold the registry lock) */
int cflame__filter_enabled(const char *target, int level);
int cflame__filter_parse(const char *directives, int report);
void cflame__filter_env(void);
void cflame__registry_lock(void);
void cflame__registry_unlock(void);
void cflame__registry_refilter(void);

/* field.c: "k=v, k2=v2", sanitized, at most cap-1 bytes. */
#define CFLAME__FIELDS_MAX 512
size_t cflame__fields_format(char *out, size_t cap, const cflame_field_t *f,
                             size_t n);

/* Does a sink need field text now? (fields_in_frame, or a fmt sink) */
extern int cflame__want_fields;

/* registry.c: errors and counters */
typedef struct cflame__counters_s {
  uint64_t errors[CFLAME_ERR_KIND_COUNT_];
  uint64_t threads, spans_closed_at_exit, lines_written, bytes_written,
      bytes_lost, events, frame_marks, spans_live;
  int last_errno;
} cflame__counters_t;
extern cflame__counters_t cflame__counters;
void cflame__report(cflame_error_kind_t kind, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Same, for an occurrence already counted (e.g. in a signal handler). */
void cflame__report_counted(cflame_error_kind_t kind, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
void cflame__report_reset(void);

#endif /* CFLAME_INTERNAL_H */
