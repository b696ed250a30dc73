/* Private to cflame: shared definitions of the core (threads, nodes, sink). */
#ifndef CFLAME_INTERNAL_H
#define CFLAME_INTERNAL_H

#include "cflame.h"

#include <pthread.h>
#include <stdarg.h>

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
};

#define CFLAME__ID_ROOT 0u
#define CFLAME__ID_TRUNCATED 0xffffffffu

/* Nodes live in chunks of doubling size that never move, so the flusher can
 * read them while the owner appends. */
#define CFLAME__CHUNK0 64u
#define CFLAME__CHUNKS 26

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

/* Serial with this bit set never equals a token: marks root/[truncated]. */
#define CFLAME__SERIAL_NONE (UINT64_C(1) << 63)

typedef struct cflame__thread_s cflame__thread_t;
struct cflame__thread_s {
  /* hot: read by every enter/exit */
  uint64_t session; /* equals cflame__live while recording */
  uint64_t last;    /* timestamp of the previous enter/exit */
  uint32_t depth;   /* index of the top frame; 0 = only the root */
  uint32_t overflow;/* spans open beyond CFLAME_MAX_DEPTH */
  uint64_t serial;  /* last token handed out */
  int stream;
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
  uint32_t number;     /* 0 for the main thread */
  int dead;            /* the thread has exited */
  cflame__thread_t *next;
  cflame__frame_t stack[CFLAME_MAX_DEPTH + 1];
};

/* Current recording session (0: none). Threads compare it on every event. */
extern uint64_t cflame__live;
/* Held by setup, flush, drop, and by a thread whose stream ring is full. */
extern pthread_mutex_t cflame__sink_lock;
/* Guards the list of thread states and their names. */
extern pthread_mutex_t cflame__threads_lock;
extern cflame__thread_t *cflame__threads;

static inline cflame__node_t *cflame__node_at(cflame__thread_t *t,
                                              uint32_t i) {
  uint32_t p = i + CFLAME__CHUNK0;
  int k = 31 - __builtin_clz(p) - 6; /* log2(CHUNK0) == 6 */
  return &t->chunks[k][p - (CFLAME__CHUNK0 << k)];
}

/* stack.c */
void cflame__stack_init(void);
void cflame__stack_close_all(cflame__thread_t *t, uint64_t now);
cflame__thread_t *cflame__stack_self(void);
void cflame__stack_free(cflame__thread_t *t);
void cflame__stack_at_exit(void);
void cflame__stack_after_fork_child(void);

/* flame.c: drain the ring of t (sink lock held). */
void cflame__flame_drain(cflame__thread_t *t);

/* registry.c: callsites */
typedef struct cflame__site_s {
  char *name;       /* sanitized */
  char *target;     /* sanitized; "" when none */
  char *file;       /* sanitized basename */
  int line;
  char *frame;      /* composed for frame_session (sink lock) */
  size_t frame_len;
  uint64_t frame_session;
} cflame__site_t;
uint32_t cflame__registry_register(cflame_callsite_t *cs);
cflame__site_t *cflame__registry_site(uint32_t id);

/* registry.c: errors and counters */
typedef struct cflame__counters_s {
  uint64_t errors[CFLAME_ERR_KIND_COUNT_];
  uint64_t threads, spans_closed_at_exit, lines_written, bytes_written,
      bytes_lost;
  int last_errno;
} cflame__counters_t;
extern cflame__counters_t cflame__counters;
void cflame__report(cflame_error_kind_t kind, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
void cflame__report_reset(void);

#endif /* CFLAME_INTERNAL_H */
