/* Thread state and the span hot path: enter/exit touch only the calling
 * thread's memory -- no lock, no allocation, no formatting in steady state. */
#include "clock.h"
#include "internal.h"
#include "sanitize.h"

#include <stdlib.h>
#include <string.h>

uint64_t cflame__live;
pthread_mutex_t cflame__threads_lock = PTHREAD_MUTEX_INITIALIZER;
cflame__thread_t *cflame__threads;

/* Session options, published before cflame__live (see flame.c). */
int cflame__session_stream;
size_t cflame__session_ring;

/* Every thread starts here: its session never matches and its root serial
 * never equals a token, so both fast paths fall through to the slow path
 * without a NULL check. Never written. */
static cflame__thread_t sentinel = {
    .session = UINT64_MAX, .stack = {{NULL, CFLAME__SERIAL_NONE}}};
static _Thread_local cflame__thread_t *tls = &sentinel;

static pthread_key_t exit_key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static uint32_t thread_numbers; /* last "thread-N" handed out */

/* --- the call tree ------------------------------------------------------ */

static cflame__node_t *node_add(cflame__thread_t *t, cflame__node_t *parent,
                                const cflame_callsite_t *cs, uint32_t id) {
  uint32_t i = t->nnodes;
  uint32_t p = i + CFLAME__CHUNK0;
  int k = 31 - __builtin_clz(p) - 6;
  if (k >= CFLAME__CHUNKS)
    return NULL;
  if (!t->chunks[k]) {
    t->chunks[k] = calloc((size_t)CFLAME__CHUNK0 << k, sizeof(cflame__node_t));
    if (!t->chunks[k])
      return NULL;
  }
  cflame__node_t *n = cflame__node_at(t, i);
  memset(n, 0, sizeof *n);
  n->cs = cs;
  n->cs_id = id;
  n->index = i;
  if (parent) {
    n->parent = parent->index;
    n->next_sibling = parent->first_child;
    parent->first_child = n;
  }
  st_release(&t->nnodes, i + 1); /* the flusher may read it from now on */
  return n;
}

static cflame__node_t *child_of(cflame__thread_t *t, cflame__node_t *parent,
                                const cflame_callsite_t *cs, uint32_t id) {
  cflame__node_t *c;
  for (c = parent->first_child; c; c = c->next_sibling)
    if (c->cs_id == id)
      break;
  if (!c)
    c = node_add(t, parent, cs, id);
  if (c)
    parent->cache = c;
  return c;
}

/* --- stream ring ---------------------------------------------------------- */

static void ring_full(cflame__thread_t *t) {
  t->tail_seen = ld_acquire(&t->tail);
  if (t->head - t->tail_seen <= t->ring_mask)
    return;
  /* Nobody drained us in time: format our own records. This is the one
   * place a span can wait on another thread (a flush in progress). */
  pthread_mutex_lock(&cflame__sink_lock);
  if (ld_acquire(&cflame__live) == t->session)
    cflame__flame_drain(t);
  else
    st_release(&t->tail, t->head);
  pthread_mutex_unlock(&cflame__sink_lock);
  t->tail_seen = ld_acquire(&t->tail);
}

static inline void ring_push(cflame__thread_t *t, uint32_t node,
                             uint64_t ticks) {
  if (cflame_unlikely(t->head - t->tail_seen > t->ring_mask))
    ring_full(t);
  cflame__rec_t *r = &t->ring[t->head & t->ring_mask];
  r->ticks = ticks;
  r->node = node;
  st_release(&t->head, t->head + 1);
}

/* Charges the time since the thread's previous event to node n. */
static inline void charge(cflame__thread_t *t, cflame__node_t *n,
                          uint64_t now) {
  if (cflame_unlikely(now < t->last)) /* a user clock that went back */
    now = t->last;
  uint64_t dt = now - t->last;
  t->last = now;
  st_relaxed(&n->self, n->self + dt);
  if (t->stream && dt)
    ring_push(t, n->index, dt);
}

/* --- thread states -------------------------------------------------------- */

static void thread_exit(void *arg);

static void key_create(void) {
  (void)pthread_key_create(&exit_key, thread_exit);
}

static cflame__thread_t *thread_create(void) {
  cflame__thread_t *t = calloc(1, sizeof *t);
  if (!t)
    return NULL;
  t->chunks[0] = calloc(CFLAME__CHUNK0, sizeof(cflame__node_t));
  if (!t->chunks[0]) {
    free(t);
    return NULL;
  }
  node_add(t, NULL, NULL, CFLAME__ID_ROOT);
  t->stack[0].node = cflame__node_at(t, 0);
  t->stack[0].serial = CFLAME__SERIAL_NONE;
  /* Serials are unique per thread, so a token ended on the wrong thread is
   * (almost always) recognised as foreign. */
  if (!cflame__plat_is_main_thread())
    t->number = __atomic_add_fetch(&thread_numbers, 1, __ATOMIC_RELAXED);
  t->serial = (uint64_t)(t->number & 0x7fffffu) << 40;
  pthread_once(&key_once, key_create);
  (void)pthread_setspecific(exit_key, t);
  pthread_mutex_lock(&cflame__threads_lock);
  t->next = cflame__threads;
  cflame__threads = t;
  pthread_mutex_unlock(&cflame__threads_lock);
  fetch_add(&cflame__counters.threads, 1);
  tls = t;
  return t;
}

/* Starts recording thread t in session `live`: a fresh tree and stack. The
 * flusher ignores t until t->session equals the live session. */
static int thread_begin(cflame__thread_t *t, uint64_t live) {
  for (int k = 1; k < CFLAME__CHUNKS; k++) {
    free(t->chunks[k]);
    t->chunks[k] = NULL;
  }
  t->nnodes = 0;
  node_add(t, NULL, NULL, CFLAME__ID_ROOT);
  t->depth = 0;
  t->overflow = 0;
  t->stream = cflame__session_stream;
  free(t->ring);
  t->ring = NULL;
  t->head = t->tail = t->tail_seen = 0;
  if (t->stream) {
    size_t n = cflame__session_ring;
    t->ring = malloc(n * sizeof *t->ring);
    if (!t->ring)
      return -1;
    t->ring_mask = n - 1;
  }
  t->last = cflame__now();
  st_release(&t->session, live);
  return 0;
}

void cflame__stack_free(cflame__thread_t *t) {
  for (int k = 0; k < CFLAME__CHUNKS; k++)
    free(t->chunks[k]);
  free(t->ring);
  free(t->name);
  free(t);
}

/* Exits every open span of t at `now` (thread or process exit). */
void cflame__stack_close_all(cflame__thread_t *t, uint64_t now) {
  if (t == &sentinel || (t->depth == 0 && t->overflow == 0))
    return;
  fetch_add(&cflame__counters.spans_closed_at_exit,
            (uint64_t)t->depth + t->overflow);
  charge(t, t->stack[t->depth].node, now);
  t->depth = 0;
  t->overflow = 0;
}

static void thread_exit(void *arg) {
  cflame__thread_t *t = arg;
  tls = &sentinel;
  if (t->session == ld_acquire(&cflame__live))
    cflame__stack_close_all(t, cflame__now());
  /* A recording thread's data waits for the next flush, which frees it. */
  pthread_mutex_lock(&cflame__threads_lock);
  int keep = t->session == ld_acquire(&cflame__live);
  if (keep) {
    t->dead = 1;
  } else {
    for (cflame__thread_t **pp = &cflame__threads; *pp; pp = &(*pp)->next)
      if (*pp == t) {
        *pp = t->next;
        break;
      }
  }
  pthread_mutex_unlock(&cflame__threads_lock);
  if (!keep)
    cflame__stack_free(t);
}

cflame__thread_t *cflame__stack_self(void) {
  return tls != &sentinel ? tls : thread_create();
}

void cflame__stack_at_exit(void) {
  cflame__thread_t *t = tls;
  if (t != &sentinel && t->session == ld_acquire(&cflame__live))
    cflame__stack_close_all(t, cflame__now());
}

void cflame__stack_after_fork_child(void) {
  /* Only the forking thread survives; the others' states are the parent's
   * and are released by the child's next flush. */
  for (cflame__thread_t *t = cflame__threads; t; t = t->next)
    if (t != tls)
      t->dead = 1;
}

/* --- slow paths -------------------------------------------------------- */

static cflame_token_t enter_slow(cflame__thread_t *t, cflame_callsite_t *cs,
                                 uint64_t now) {
  uint32_t d = t->depth;
  cflame__node_t *cur = t->stack[d].node;
  charge(t, cur, now);
  uint64_t serial = ++t->serial;
  if (d == CFLAME_MAX_DEPTH) { /* already under [truncated]: count only */
    t->overflow++;
    return serial;
  }
  cflame__node_t *child;
  uint64_t mark = 0;
  if (d + 1 == CFLAME_MAX_DEPTH) {
    child = child_of(t, cur, NULL, CFLAME__ID_TRUNCATED);
    mark = CFLAME__SERIAL_NONE; /* keeps its END off the fast path */
    cflame__report(CFLAME_ERR_DEPTH,
                   "stack deeper than %d spans; deeper frames are "
                   "charged to [truncated]",
                   CFLAME_MAX_DEPTH - 1);
  } else {
    uint32_t id = cflame__registry_register(cs);
    child = id ? child_of(t, cur, cs, id) : NULL;
  }
  if (!child)
    return 0; /* out of memory: the span is simply not recorded */
  t->stack[d + 1].node = child;
  t->stack[d + 1].serial = serial | mark;
  t->depth = d + 1;
  return serial;
}

static cflame_token_t enter_setup(cflame_callsite_t *cs) {
  uint64_t live = ld_acquire(&cflame__live);
  if (live == 0 || !cs)
    return 0;
  cflame__thread_t *t = tls;
  if (t == &sentinel && !(t = thread_create()))
    return 0;
  if (t->session != live && thread_begin(t, live) != 0)
    return 0;
  return enter_slow(t, cs, cflame__now());
}

static void end_slow(cflame__thread_t *t, cflame_token_t tok) {
  if (tok == 0 || t == &sentinel)
    return;
  uint32_t d = t->depth;
  uint64_t top = t->stack[d].serial & ~CFLAME__SERIAL_NONE;
  if (t->overflow && tok > top && tok <= t->serial) {
    charge(t, t->stack[d].node, cflame__now());
    t->overflow--;
    return;
  }
  uint32_t i = d;
  while (i > 0 && (t->stack[i].serial & ~CFLAME__SERIAL_NONE) != tok)
    i--;
  if (i == 0) {
    cflame__report(CFLAME_ERR_STALE_END,
                   "END of a span that already exited or belongs to another "
                   "thread; ignored");
    return;
  }
  charge(t, t->stack[d].node, cflame__now());
  if (i != d || t->overflow) {
    const cflame_callsite_t *cs = t->stack[i].node->cs;
    cflame__report(CFLAME_ERR_OUT_OF_ORDER,
                   "END of span \"%s\" while %u span(s) entered after it were "
                   "open; they exit with it",
                   cs && cs->id_ ? cflame__registry_site(cs->id_)->name
                                 : "[truncated]",
                   (unsigned)(d - i) + t->overflow);
  }
  t->overflow = 0;
  t->depth = i - 1;
}

/* --- fast paths ------------------------------------------------------------ */

cflame_token_t cflame_callsite_enter(cflame_callsite_t *cs) {
  cflame__thread_t *t = tls;
  if (cflame_unlikely(t->session != ld_relaxed(&cflame__live)))
    return enter_setup(cs);
  uint64_t now = cflame__now();
  uint32_t d = t->depth;
  cflame__node_t *cur = t->stack[d].node;
  cflame__node_t *child = cur->cache;
  if (cflame_unlikely(!child || child->cs != cs))
    return enter_slow(t, cs, now);
  charge(t, cur, now);
  uint64_t serial = ++t->serial;
  t->stack[d + 1].node = child;
  t->stack[d + 1].serial = serial;
  t->depth = d + 1;
  return serial;
}

void cflame_span_end(cflame_token_t tok) {
  cflame__thread_t *t = tls;
  uint32_t d = t->depth;
  if (cflame_unlikely(t->stack[d].serial != tok)) {
    end_slow(t, tok);
    return;
  }
  charge(t, t->stack[d].node, cflame__now());
  t->depth = d - 1;
}

int cflame_thread_name(const char *name) {
  if (!name)
    return CFLAME_EINVAL;
  char buf[CFLAME__NAME_MAX + 1];
  unsigned report = 0;
  size_t n = cflame__sanitize_cstr(buf, sizeof buf, name, CFLAME__SAN_ROOT,
                                   &report);
  if (report)
    cflame__report(CFLAME_ERR_NAME, "thread name \"%s\" was repaired", buf);
  char *copy = malloc(n + 1);
  if (!copy)
    return CFLAME_ENOMEM;
  memcpy(copy, buf, n + 1);
  cflame__thread_t *t = cflame__stack_self();
  if (!t) {
    free(copy);
    return CFLAME_ENOMEM;
  }
  pthread_mutex_lock(&cflame__threads_lock);
  char *old = t->name;
  t->name = copy;
  pthread_mutex_unlock(&cflame__threads_lock);
  free(old);
  return 0;
}
