/* Thread state and the span hot path: enter/exit touch only the calling
 * thread's memory -- no lock, no allocation, no formatting in steady state. */
#include "clock.h"
#include "internal.h"
#include "platform.h"
#include "sanitize.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint64_t cflame__live;
uint64_t cflame__fast = CFLAME__FAST_NONE;
pthread_mutex_t cflame__threads_lock = PTHREAD_MUTEX_INITIALIZER;
cflame__thread_t *cflame__threads;

/* Session options, published before cflame__live (see flame.c). */
int cflame__session_stream;
size_t cflame__session_ring;

/* Every thread starts here: its session never matches and its root serial
 * never equals a token, so both fast paths fall through to the slow path
 * without a NULL check. Never written. */
static cflame__thread_t sentinel = {.session = UINT64_MAX,
                                    .top = &sentinel.stack[0],
                                    .stack = {{NULL, CFLAME__SERIAL_NONE}}};
static _Thread_local cflame__thread_t *tls = &sentinel;

static pthread_key_t exit_key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static uint32_t thread_numbers; /* last "thread-N" handed out */

/* --- the call tree ------------------------------------------------------ */

/* What a node's child cache holds before its first child: its callsite is
 * NULL, which no span passes, so the fast path needs no NULL check. */
static cflame__node_t no_child;

static cflame__node_t *node_add(cflame__thread_t *t, cflame__node_t *parent,
                                const cflame_callsite_t *cs, uint32_t id) {
  uint32_t i = t->nnodes;
  int k = cflame__chunk_of(i);
  if (k >= CFLAME__CHUNKS)
    return NULL;
  if (!t->chunks[k]) {
    t->chunks[k] = calloc((size_t)CFLAME__CHUNK0 << k, sizeof(cflame__node_t));
    if (!t->chunks[k])
      return NULL;
  }
  cflame__node_t *n = cflame__node_at(t, i);
  memset(n, 0, sizeof *n);
  n->cache = &no_child;
  n->cs = cs;
  n->cs_id = id;
  n->index = i;
  if (parent) {
    n->depth = parent->depth + 1;
    n->parent = parent->index;
    n->next_sibling = parent->first_child;
    parent->first_child = n;
  }
  st_release(&t->nnodes, i + 1); /* the flusher may read it from now on */
  return n;
}

/* The child of parent for site `id` (cs: its callsite, NULL for variants),
 * added on first use. Below CFLAME_MAX_DEPTH frames everything is charged to
 * one [truncated] node. */
static cflame__node_t *child_of(cflame__thread_t *t, cflame__node_t *parent,
                                const cflame_callsite_t *cs, uint32_t id) {
  if (parent->cs_id == CFLAME__ID_TRUNCATED)
    return parent;
  if (parent->depth + 1 >= CFLAME_MAX_DEPTH) {
    cs = NULL;
    id = CFLAME__ID_TRUNCATED;
  }
  cflame__node_t *c;
  for (c = parent->first_child; c; c = c->next_sibling)
    if (c->cs_id == id)
      break;
  if (!c) {
    c = node_add(t, parent, cs, id);
    if (c && id == CFLAME__ID_TRUNCATED)
      cflame__report(CFLAME_ERR_DEPTH,
                     "stack deeper than %d frames; deeper ones are charged "
                     "to [truncated]",
                     CFLAME_MAX_DEPTH - 1);
  }
  if (c)
    parent->cache = c;
  return c;
}

/* --- stream ring ---------------------------------------------------------- */

/* Returns 0 if the record may be stored, -1 to drop it. */
__attribute__((noinline)) static int ring_full(cflame__thread_t *t) {
  t->tail_seen = ld_acquire(&t->tail);
  if (t->head - t->tail_seen <= t->ring_mask)
    return 0;
  if (t->holding) { /* a signal handler, while this thread holds the lock */
    fetch_add(&cflame__counters.errors[CFLAME_ERR_REENTRY], 1);
    return -1;
  }
  /* Nobody drained us in time: format our own records. This is the one
   * place a span can wait on another thread (a flush in progress). */
  cflame__stack_hold(1);
  pthread_mutex_lock(&cflame__sink_lock);
  if (cflame__flame_recording(t->session))
    cflame__flame_drain(t);
  else
    st_release(&t->tail, t->head);
  pthread_mutex_unlock(&cflame__sink_lock);
  cflame__stack_hold(0);
  t->tail_seen = ld_acquire(&t->tail);
  return 0;
}

void cflame__stack_hold(int on) {
  cflame__thread_t *t = tls;
  if (t != &sentinel) {
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    t->holding = on;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
  }
}

static inline void ring_push(cflame__thread_t *t, uint32_t node,
                             uint64_t ticks) {
  if (cflame_unlikely(t->head - t->tail_seen > t->ring_mask) &&
      ring_full(t) != 0)
    return;
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

/* Drops the references held by registry-span frames above `keep`. */
static void release_above(cflame__thread_t *t, uint32_t keep) {
  for (uint32_t i = cflame__depth(t); i > keep; i--) {
    uint64_t s = t->stack[i].serial;
    if ((s & CFLAME__SERIAL_REG) && (s & CFLAME__SERIAL_NONE))
      cflame__span_unref(s & CFLAME__HANDLE_MASK);
  }
}

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
  t->top = &t->stack[0];
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
  release_above(t, 0);
  /* The formatted stacks were the old session's; no flusher reads a thread
   * whose session is stale, so they can go now. */
  free(t->text.buf);
  free(t->text.off);
  free(t->text.n);
  memset(&t->text, 0, sizeof t->text);
  for (int k = 1; k < CFLAME__CHUNKS; k++) {
    free(t->chunks[k]);
    t->chunks[k] = NULL;
  }
  t->nnodes = 0;
  node_add(t, NULL, NULL, CFLAME__ID_ROOT);
  t->top = &t->stack[0];
  t->overflow = 0;
  /* Published before cflame__live; a newer session's values only make this
   * thread start again at its next event (its session is then stale). */
  t->stream = ld_relaxed(&cflame__session_stream);
  free(t->ring);
  t->ring = NULL;
  t->head = t->tail = t->tail_seen = 0;
  if (t->stream) {
    size_t n = ld_relaxed(&cflame__session_ring);
    t->ring = malloc(n * sizeof *t->ring);
    if (!t->ring)
      return -1;
    t->ring_mask = n - 1;
  }
  /* Stream sessions and other clocks than the TSC keep their frames off
   * the END fast path, which handles only aggregate mode with the TSC. */
  t->slow_tag = t->stream || ld_relaxed(&cflame__clock_mode) != CFLAME__CLOCK_TSC
                    ? CFLAME__SERIAL_NONE
                    : 0;
  t->last = cflame__now();
  st_release(&t->session, live);
  return 0;
}

void cflame__stack_free(cflame__thread_t *t) {
  for (int k = 0; k < CFLAME__CHUNKS; k++)
    free(t->chunks[k]);
  free(t->text.buf);
  free(t->text.off);
  free(t->text.n);
  free(t->ring);
  free(t->name);
  free(t);
}

/* Exits every open span of t at `now` (thread or process exit). */
void cflame__stack_close_all(cflame__thread_t *t, uint64_t now) {
  if (t == &sentinel || (cflame__depth(t) == 0 && t->overflow == 0))
    return;
  fetch_add(&cflame__counters.spans_closed_at_exit,
            (uint64_t)cflame__depth(t) + t->overflow);
  charge(t, t->stack[cflame__depth(t)].node, now);
  release_above(t, 0);
  t->top = &t->stack[0];
  t->overflow = 0;
}

static void thread_exit(void *arg) {
  cflame__thread_t *t = arg;
  tls = &sentinel;
  if (t->session == ld_acquire(&cflame__live))
    cflame__stack_close_all(t, cflame__now());
  release_above(t, 0);
  t->top = &t->stack[0];
  /* A recording thread's data waits for the next flush, which frees it. */
  pthread_mutex_lock(&cflame__sink_lock);
  pthread_mutex_lock(&cflame__threads_lock);
  int keep = cflame__flame_recording(t->session);
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
  pthread_mutex_unlock(&cflame__sink_lock);
  if (!keep)
    cflame__stack_free(t);
}

static cflame__thread_t *stack_self(void) {
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

/* A signal handler that interrupts a slow path on its own thread must not
 * touch the half-updated state: it is dropped and counted instead. */
static int busy_enter(cflame__thread_t *t) {
  if (t->busy) {
    /* Only an atomic add here: formatting or locking is not safe in a
     * signal handler. The next flush reports it. */
    fetch_add(&cflame__counters.errors[CFLAME_ERR_REENTRY], 1);
    return 0;
  }
  t->busy = 1;
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  return 1;
}

static void busy_leave(cflame__thread_t *t) {
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  t->busy = 0;
}

/* Pushes a frame for `node` (already charged up to now). The fast path
 * never checks the stack's end: from a frame it can follow cached children
 * at most down to the tree's cap, so a frame is only accepted with room for
 * that many more slots below it. */
static cflame_token_t push(cflame__thread_t *t, cflame__node_t *node,
                           uint64_t tag) {
  uint32_t d = cflame__depth(t);
  uint64_t serial = ++t->serial;
  if (d + 1 + (CFLAME_MAX_DEPTH - node->depth) >= CFLAME__SLOTS) {
    /* No room: counted, charged to the top. */
    if (tag & CFLAME__SERIAL_REG)
      return 0;
    t->overflow++;
    t->stack[d].serial |= CFLAME__SERIAL_NONE; /* its END leaves fast path */
    return serial;
  }
  t->stack[d + 1].node = node;
  t->stack[d + 1].serial = tag ? tag : serial | t->slow_tag;
  t->top = &t->stack[d + 1];
  return serial;
}

/* Thread state for recording, set up for the live session; NULL if no sink
 * is installed (or out of memory). */
static cflame__thread_t *recording_self(void) {
  uint64_t live = ld_acquire(&cflame__live);
  if (live == 0)
    return NULL;
  cflame__thread_t *t = tls;
  if (t == &sentinel && !(t = thread_create()))
    return NULL;
  if (t->session != live && thread_begin(t, live) != 0)
    return NULL;
  return t;
}

/* Enters site `id` under the current top (cs NULL for field variants). */
static cflame_token_t enter_id(cflame__thread_t *t, const cflame_callsite_t *cs,
                               uint32_t id, uint64_t now) {
  if (!busy_enter(t))
    return 0;
  cflame__node_t *cur = t->stack[cflame__depth(t)].node;
  charge(t, cur, now);
  cflame_token_t tok = 0;
  cflame__node_t *child = child_of(t, cur, cs, id);
  if (child) /* else out of memory: the span is simply not recorded */
    tok = push(t, child, 0);
  busy_leave(t);
  return tok;
}

__attribute__((noinline)) static cflame_token_t
enter_slow(cflame__thread_t *t, cflame_callsite_t *cs, uint64_t now) {
  uint32_t id = cflame__registry_register(cs);
  if (!id || ld_relaxed(&cs->interest_) != 2)
    return 0;
  return enter_id(t, cs, id, now);
}

static cflame_token_t enter_setup(cflame_callsite_t *cs) {
  if (!cs)
    return 0;
  cflame__thread_t *t = recording_self();
  return t ? enter_slow(t, cs, cflame__now()) : 0;
}

/* Pops frames down to index i - 1 (the frame at i is the one ended). */
static void pop_to(cflame__thread_t *t, uint32_t i, const char *what) {
  uint32_t d = cflame__depth(t);
  charge(t, t->stack[d].node, cflame__now());
  if (i != d || t->overflow)
    cflame__report(CFLAME_ERR_OUT_OF_ORDER,
                   "END of %s while %u span(s) entered after it were open; "
                   "they exit with it",
                   what, (unsigned)(d - i) + t->overflow);
  release_above(t, i - 1);
  t->overflow = 0;
  t->top = &t->stack[i - 1];
}

static uint32_t find_frame(const cflame__thread_t *t, uint64_t serial) {
  uint32_t i = cflame__depth(t);
  while (i > 0 && t->stack[i].serial != serial)
    i--;
  return i;
}

__attribute__((noinline)) static void end_slow(cflame__thread_t *t,
                                               cflame_token_t tok) {
  if (tok == 0 || (int64_t)tok < 0 || t == &sentinel || !busy_enter(t))
    return;
  uint32_t d = cflame__depth(t);
  uint64_t top = t->stack[d].serial & ~CFLAME__SERIAL_NONE;
  if (t->overflow && tok > top && tok <= t->serial) {
    charge(t, t->stack[d].node, cflame__now());
    if (--t->overflow == 0 && !(t->stack[d].serial & CFLAME__SERIAL_REG))
      t->stack[d].serial = top | t->slow_tag;
    busy_leave(t);
    return;
  }
  uint32_t i = d;
  while (i > 0 && (t->stack[i].serial & ~CFLAME__SERIAL_NONE) != tok)
    i--;
  if (i == 0) {
    cflame__report(CFLAME_ERR_STALE_END,
                   "END of a span that already exited or belongs to another "
                   "thread; ignored");
  } else {
    const cflame__site_t *s = cflame__registry_site(t->stack[i].node->cs_id);
    char what[96];
    snprintf(what, sizeof what, "span \"%.60s\"", s ? s->name : "[truncated]");
    pop_to(t, i, what);
  }
  busy_leave(t);
}

/* --- fields on scoped spans ------------------------------------------------- */

/* Site id of `base` carrying `fields`, through a small per-thread cache so
 * that repeated field sets skip the registry lock. */
static uint32_t variant(cflame__thread_t *t, uint32_t base, const char *fields,
                        size_t len) {
  if (len == 0)
    return base;
  uint64_t h = cflame__hash(fields, len, base);
  cflame__vcache_t *c = &t->vcache[h % CFLAME__VCACHE];
  if (c->hash == h && c->base == base) {
    const cflame__site_t *s = cflame__registry_site(c->id);
    if (s && s->fields_len == len && !memcmp(s->fields, fields, len))
      return c->id;
  }
  uint32_t id = cflame__registry_variant(base, fields, len, h);
  c->hash = h;
  c->base = base;
  c->id = id;
  return id;
}

cflame_token_t cflame_callsite_enter_f(cflame_callsite_t *cs,
                                       const cflame_field_t *f, size_t n) {
  if (!ld_relaxed(&cflame__want_fields) || !f || n == 0)
    return cflame_callsite_enter(cs);
  cflame__thread_t *t = recording_self();
  if (!t || !cs)
    return 0;
  uint32_t id = cflame__registry_register(cs);
  if (!id || ld_relaxed(&cs->interest_) != 2)
    return 0;
  char text[CFLAME__FIELDS_MAX];
  size_t len = cflame__fields_format(text, sizeof text, f, n);
  return enter_id(t, NULL, variant(t, id, text, len), cflame__now());
}

void cflame_token_record(cflame_token_t tok, const cflame_field_t *f,
                         size_t n) {
  cflame__thread_t *t = tls;
  if (!tok || !f || n == 0 || t == &sentinel ||
      !ld_relaxed(&cflame__want_fields) || t->session != ld_acquire(&cflame__live))
    return;
  uint32_t d = cflame__depth(t);
  if (t->overflow || (t->stack[d].serial & ~CFLAME__SERIAL_NONE) != tok)
    return; /* only the innermost span can change its frame */
  if (!busy_enter(t))
    return;
  cflame__node_t *node = t->stack[d].node;
  const cflame__site_t *s = cflame__registry_site(node->cs_id);
  if (s) {
    char text[CFLAME__FIELDS_MAX];
    size_t len = 0;
    if (s->fields) {
      len = s->fields_len < sizeof text - 3 ? s->fields_len : sizeof text - 3;
      memcpy(text, s->fields, len);
      text[len++] = ',';
      text[len++] = ' ';
    }
    len += cflame__fields_format(text + len, sizeof text - len, f, n);
    uint32_t id = variant(t, s->base, text, len);
    cflame__node_t *parent = cflame__node_at(t, node->parent);
    charge(t, node, cflame__now());
    cflame__node_t *next = child_of(t, parent, NULL, id);
    if (next)
      t->stack[d].node = next;
  }
  busy_leave(t);
}

/* --- registry span frames (span.c) ---------------------------------------- */

int cflame__stack_enter_path(const uint32_t *ids, size_t n, uint64_t handle) {
  cflame__thread_t *t = recording_self();
  if (!t)
    return -1;
  if (!busy_enter(t))
    return -1;
  uint64_t now = cflame__now();
  charge(t, t->stack[cflame__depth(t)].node, now);
  cflame__node_t *node = t->stack[0].node;
  for (size_t i = 0; i < n && node; i++) {
    const cflame__site_t *s = cflame__registry_site(ids[i]);
    node = child_of(t, node, s ? s->cs : NULL, ids[i]);
  }
  cflame_token_t tok = node ? push(t, node, CFLAME__SERIAL_NONE |
                                                CFLAME__SERIAL_REG | handle)
                            : 0;
  busy_leave(t);
  if (!tok)
    cflame__report(CFLAME_ERR_DEPTH, "registry span entered below "
                                     "CFLAME_MAX_DEPTH frames; dropped");
  return tok ? 0 : -1;
}

int cflame__stack_exit_handle(uint64_t handle) {
  cflame__thread_t *t = tls;
  if (t == &sentinel)
    return -1;
  uint32_t i = find_frame(t, CFLAME__SERIAL_NONE | CFLAME__SERIAL_REG | handle);
  if (i == 0 || !busy_enter(t))
    return -1;
  pop_to(t, i, "a registry span");
  busy_leave(t);
  return 0;
}

size_t cflame__stack_path(uint32_t *ids, size_t max) {
  cflame__thread_t *t = tls;
  if (t == &sentinel || t->session != ld_acquire(&cflame__live))
    return 0;
  size_t n = 0;
  for (cflame__node_t *node = t->top->node; node->index != 0 && n < max;
       node = cflame__node_at(t, node->parent))
    ids[n++] = node->cs_id;
  for (size_t i = 0; i < n / 2; i++) { /* root first */
    uint32_t x = ids[i];
    ids[i] = ids[n - 1 - i];
    ids[n - 1 - i] = x;
  }
  return n;
}

/* --- fast paths ------------------------------------------------------------ */

/* The fast paths only run in aggregate mode with the TSC clock, on a
 * recording thread (cflame__fast equals the thread's session); everything else, including
 * the first span of a thread, takes these out-of-line routes. Keeping every
 * call out of the fast paths (or in tail position) lets them run in
 * caller-saved registers with no stack frame. */
__attribute__((noinline)) static cflame_token_t
enter_generic(cflame_callsite_t *cs) {
  cflame__thread_t *t = tls;
  if (t->session != ld_acquire(&cflame__live))
    return enter_setup(cs);
  uint64_t now = cflame__now();
  cflame__frame_t *top = t->top;
  cflame__node_t *cur = top->node;
  cflame__node_t *child = cur->cache;
  if (child->cs != cs || t->busy)
    return enter_slow(t, cs, now);
  charge(t, cur, now);
  uint64_t serial = ++t->serial;
  top[1].node = child;
  top[1].serial = serial | t->slow_tag;
  t->top = top + 1;
  return serial;
}

__attribute__((noinline)) static cflame_token_t
enter_miss(cflame__thread_t *t, cflame_callsite_t *cs, uint64_t now) {
  return enter_slow(t, cs, now);
}

__attribute__((noinline)) static void end_generic(cflame__thread_t *t,
                                                  cflame_token_t tok) {
  cflame__frame_t *top = t->top;
  if ((int64_t)tok <= 0 || t->overflow ||
      (top->serial & ~CFLAME__SERIAL_NONE) != tok) {
    end_slow(t, tok);
    return;
  }
  t->top = top - 1;
  charge(t, top->node, cflame__now());
}

cflame_token_t cflame_callsite_enter(cflame_callsite_t *cs) {
  cflame__thread_t *t = tls;
  if (cflame_unlikely(t->session != ld_relaxed(&cflame__fast)))
    return enter_generic(cs);
  uint64_t now = cflame__plat_tsc();
  cflame__frame_t *top = t->top;
  cflame__node_t *cur = top->node;
  cflame__node_t *child = cur->cache; /* never NULL: see node_add */
  if (cflame_unlikely(child->cs != cs))
    return enter_miss(t, cs, now);
  /* Two cores' TSCs may differ by a few ticks: a slice can come out
   * slightly negative. It wraps here and cancels out in the sums; flush
   * reads a node below zero as zero. */
  st_relaxed(&cur->self, cur->self + (now - t->last));
  t->last = now;
  uint64_t serial = ++t->serial;
  top[1].node = child;
  top[1].serial = serial;
  t->top = top + 1;
  return serial;
}

void cflame_span_end(cflame_token_t tok) {
  cflame__thread_t *t = tls;
  cflame__frame_t *top = t->top;
  /* Tokens never have the top bit. Frames that must not pop here have it:
   * the root, registry spans, and every frame of a session that is not
   * aggregate-with-TSC; so one compare (plus the sign, against forged
   * tokens) picks the fast case. */
  if (cflame_unlikely(top->serial != tok || (int64_t)tok < 0)) {
    end_generic(t, tok);
    return;
  }
  uint64_t now = cflame__plat_tsc();
  cflame__node_t *node = top->node;
  st_relaxed(&node->self, node->self + (now - t->last));
  t->last = now;
  t->top = top - 1;
}

/* --- descriptions for the fmt sink ---------------------------------------- */

const char *cflame__thread_label(const cflame__thread_t *t, char buf[24]) {
  if (t->name)
    return t->name;
  if (t->number == 0)
    return "main";
  snprintf(buf, 24, "thread-%u", (unsigned)t->number);
  return buf;
}

size_t cflame__stack_root(char *out, size_t cap) {
  cflame__thread_t *t = stack_self();
  char buf[24];
  const char *label = t ? cflame__thread_label(t, buf)
                        : (cflame__plat_is_main_thread() ? "main" : "thread");
  size_t len = cflame__put_clamped(out, cap, 0, label, strlen(label));
  out[len] = '\0';
  return len;
}

size_t cflame__stack_context(char *out, size_t cap) {
  if (cap == 0)
    return 0;
  uint32_t ids[CFLAME_MAX_DEPTH + 1];
  size_t n = cflame__stack_path(ids, CFLAME_MAX_DEPTH + 1), len = 0;
  for (size_t i = 0; i < n; i++) {
    const cflame__site_t *site = cflame__registry_site(ids[i]);
    const char *name = site ? site->name : "[truncated]";
    if (i > 0)
      len = cflame__put_clamped(out, cap, len, ":", 1);
    len = cflame__put_clamped(out, cap, len, name, strlen(name));
    if (site && site->fields) {
      len = cflame__put_clamped(out, cap, len, "{", 1);
      len = cflame__put_clamped(out, cap, len, site->fields,
                                site->fields_len);
      len = cflame__put_clamped(out, cap, len, "}", 1);
    }
  }
  out[len] = '\0';
  return len;
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
  cflame__thread_t *t = stack_self();
  if (!t) {
    free(copy);
    return CFLAME_ENOMEM;
  }
  pthread_mutex_lock(&cflame__threads_lock);
  char *old = t->name;
  t->name = copy;
  t->name_version++;
  pthread_mutex_unlock(&cflame__threads_lock);
  free(old);
  return 0;
}
