/* Registry spans: long-lived, reference counted, enterable on any thread.
 * Slots live in a slab that never shrinks and are reused through a free
 * list; handles carry a generation so a closed one is caught, not used. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

/* Handle = generation (30 bits) << 32 | (slot index + 1): never 0 and below
 * CFLAME__SERIAL_REG, so it fits in a stack frame's serial. */
#define GEN_MASK 0x3fffffffu

typedef struct slot_s {
  uint64_t word;          /* generation << 32 | references (atomic) */
  cflame_callsite_t *cs;
  uint32_t base;          /* registry id of cs */
  uint32_t own;           /* site id for the current fields (0: stale) */
  uint32_t *path;         /* ancestry, root first */
  size_t npath;
  char *fields;           /* "k=v, ..." recorded so far, or NULL */
  size_t fields_len;
  int lock;               /* spin lock for fields/own */
  uint32_t next_free;     /* index + 1 of the next free slot */
} slot_t;

_Static_assert(sizeof(void *) == 8, "span handles need 64-bit pointers");

static slot_t *chunks[CFLAME__CHUNKS];
static uint32_t nslots;    /* slots ever made */
static uint32_t free_head; /* index + 1, 0 = none */
static pthread_mutex_t slab_lock = PTHREAD_MUTEX_INITIALIZER;

static slot_t *slot_at(uint32_t i) {
  int k = cflame__chunk_of(i);
  return &chunks[k][cflame__chunk_off(i, k)];
}

static void slot_lock(slot_t *s) {
  while (__atomic_exchange_n(&s->lock, 1, __ATOMIC_ACQUIRE))
    ;
}

static void slot_unlock(slot_t *s) {
  __atomic_store_n(&s->lock, 0, __ATOMIC_RELEASE);
}

static uint64_t handle_of(cflame_span_t *h) {
  return (uint64_t)(uintptr_t)h;
}

/* The slot of h if h is a live handle, with one more reference; else NULL
 * (reported as use of a closed span). */
static slot_t *acquire(uint64_t h, const char *op) {
  uint32_t idx = (uint32_t)h;
  uint32_t gen = (uint32_t)(h >> 32);
  if (idx == 0 || idx > ld_acquire(&nslots) || (h >> 62) != 0)
    goto bad;
  slot_t *s = slot_at(idx - 1);
  uint64_t w = ld_acquire(&s->word);
  do {
    if ((uint32_t)(w >> 32) != gen || (uint32_t)w == 0)
      goto bad;
  } while (!__atomic_compare_exchange_n(&s->word, &w, w + 1, 1,
                                        __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE));
  return s;
bad:
  cflame__report(CFLAME_ERR_CLOSED_SPAN,
                 "%s on a closed or invalid span handle; ignored", op);
  return NULL;
}

/* Last reference gone (word w, refs 0): nobody can acquire the slot now,
 * so it is ours to clear before the new generation is published. */
static void slot_free(slot_t *s, uint64_t w, uint64_t h) {
  free(s->path);
  free(s->fields);
  s->path = NULL;
  s->fields = NULL;
  s->npath = s->fields_len = 0;
  fetch_add(&cflame__counters.spans_live, (uint64_t)-1);
  pthread_mutex_lock(&slab_lock);
  uint32_t gen = ((uint32_t)(w >> 32) + 1) & GEN_MASK;
  st_release(&s->word, (uint64_t)gen << 32);
  s->next_free = free_head;
  free_head = (uint32_t)h;
  pthread_mutex_unlock(&slab_lock);
}

/* Drops one reference of h, but only while h is live: a double close (even
 * racing on two threads), or an exit after an extra close freed the span,
 * is reported instead of underflowing a slot that may be another span's. */
static void release(uint64_t h, const char *what) {
  uint32_t idx = (uint32_t)h;
  uint32_t gen = (uint32_t)(h >> 32);
  if (idx == 0 || idx > ld_acquire(&nslots) || (h >> 62) != 0)
    goto bad;
  slot_t *s = slot_at(idx - 1);
  uint64_t w = ld_acquire(&s->word);
  do {
    if ((uint32_t)(w >> 32) != gen || (uint32_t)w == 0)
      goto bad;
  } while (!__atomic_compare_exchange_n(&s->word, &w, w - 1, 1,
                                        __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE));
  if ((uint32_t)(w - 1) == 0)
    slot_free(s, w - 1, h);
  return;
bad:
  cflame__report(CFLAME_ERR_CLOSED_SPAN, "%s; ignored", what);
}

void cflame__span_unref(uint64_t h) {
  release(h, "a registry span was closed while entered: its exit");
}

static slot_t *slot_new(uint32_t *index) {
  pthread_mutex_lock(&slab_lock);
  slot_t *s = NULL;
  if (free_head) {
    *index = free_head - 1;
    s = slot_at(*index);
    free_head = s->next_free;
  } else {
    uint32_t i = nslots;
    int k = cflame__chunk_of(i);
    if (k < CFLAME__CHUNKS && !chunks[k])
      chunks[k] = calloc((size_t)CFLAME__CHUNK0 << k, sizeof(slot_t));
    if (k < CFLAME__CHUNKS && chunks[k]) {
      s = slot_at(i);
      *index = i;
      st_release(&nslots, i + 1);
    }
  }
  pthread_mutex_unlock(&slab_lock);
  return s;
}

/* Site id of the span itself, with its fields when a sink shows them. */
static uint32_t own_id(slot_t *s) {
  if (!s->fields_len || !ld_relaxed(&cflame__want_fields))
    return s->base;
  slot_lock(s);
  if (!s->own)
    s->own = cflame__registry_variant(
        s->base, s->fields, s->fields_len,
        cflame__hash(s->fields, s->fields_len, s->base));
  uint32_t id = s->own;
  slot_unlock(s);
  return id;
}

static int append_fields(slot_t *s, const cflame_field_t *f, size_t n) {
  char text[CFLAME__FIELDS_MAX];
  size_t len = cflame__fields_format(text, sizeof text, f, n);
  if (!len)
    return 0;
  slot_lock(s);
  size_t sep = s->fields_len ? 2 : 0;
  size_t total = s->fields_len + sep + len;
  if (total >= CFLAME__FIELDS_MAX) { /* keep the frame bounded */
    slot_unlock(s);
    cflame__report(CFLAME_ERR_DROPPED, "span fields longer than %d bytes; "
                                       "later records dropped",
                   CFLAME__FIELDS_MAX);
    return -1;
  }
  char *p = realloc(s->fields, total + 1);
  if (p) {
    if (sep)
      memcpy(p + s->fields_len, ", ", 2);
    memcpy(p + s->fields_len + sep, text, len);
    p[total] = '\0';
    s->fields = p;
    s->fields_len = total;
    s->own = 0;
  }
  slot_unlock(s);
  return p ? 0 : -1;
}

/* parent_path: ancestry ids, root first (copied). */
static cflame_span_t *create(cflame_callsite_t *cs, const uint32_t *parent_path,
                             size_t n, const cflame_field_t *f, size_t nf) {
  if (!cs)
    return NULL;
  uint32_t base = cflame__registry_register(cs);
  if (!base || ld_relaxed(&cs->interest_) != 2)
    return NULL;
  uint32_t *path = NULL;
  if (n) {
    path = malloc(n * sizeof *path);
    if (!path)
      return NULL;
    memcpy(path, parent_path, n * sizeof *path);
  }
  uint32_t idx;
  slot_t *s = slot_new(&idx);
  if (!s) {
    free(path);
    return NULL;
  }
  s->cs = cs;
  s->base = base;
  s->own = 0;
  s->path = path;
  s->npath = n;
  s->fields = NULL;
  s->fields_len = 0;
  if (f && nf)
    (void)append_fields(s, f, nf);
  uint64_t w = ld_relaxed(&s->word);
  uint32_t gen = (uint32_t)(w >> 32);
  st_release(&s->word, ((uint64_t)gen << 32) | 1u);
  fetch_add(&cflame__counters.spans_live, 1);
  return (cflame_span_t *)(uintptr_t)(((uint64_t)gen << 32) | (idx + 1));
}

cflame_span_t *cflame_span_new(cflame_callsite_t *cs, const cflame_field_t *f,
                               size_t n) {
  uint32_t path[CFLAME_MAX_DEPTH];
  size_t np = cflame__stack_path(path, CFLAME_MAX_DEPTH - 1);
  return create(cs, path, np, f, n);
}

cflame_span_t *cflame_span_new_root(cflame_callsite_t *cs,
                                    const cflame_field_t *f, size_t n) {
  return create(cs, NULL, 0, f, n);
}

cflame_span_t *cflame_span_new_child_of(cflame_span_t *parent,
                                        cflame_callsite_t *cs,
                                        const cflame_field_t *f, size_t n) {
  if (!parent)
    return cflame_span_new_root(cs, f, n);
  slot_t *p = acquire(handle_of(parent), "new child of");
  if (!p)
    return NULL;
  uint32_t path[CFLAME_MAX_DEPTH];
  size_t np = p->npath < CFLAME_MAX_DEPTH - 1 ? p->npath : CFLAME_MAX_DEPTH - 2;
  if (np)
    memcpy(path, p->path, np * sizeof *path);
  path[np++] = own_id(p);
  cflame_span_t *s = create(cs, path, np, f, n);
  cflame__span_unref(handle_of(parent));
  return s;
}

void cflame_span_enter(cflame_span_t *h) {
  if (!h)
    return;
  uint64_t handle = handle_of(h);
  slot_t *s = acquire(handle, "enter");
  if (!s)
    return;
  uint32_t ids[CFLAME_MAX_DEPTH + 1];
  size_t n = s->npath;
  if (n)
    memcpy(ids, s->path, n * sizeof *ids);
  ids[n++] = own_id(s);
  /* The reference is kept by the frame until its exit. */
  if (cflame__stack_enter_path(ids, n, handle) != 0)
    cflame__span_unref(handle);
}

void cflame_span_exit(cflame_span_t *h) {
  if (!h)
    return;
  if (cflame__stack_exit_handle(handle_of(h)) != 0) {
    slot_t *s = acquire(handle_of(h), "exit");
    if (!s)
      return;
    cflame__report(CFLAME_ERR_STALE_END,
                   "exit of a registry span not entered on this thread; "
                   "ignored");
    cflame__span_unref(handle_of(h));
  }
}

void cflame_span_record(cflame_span_t *h, const cflame_field_t *f,
                        size_t n) {
  if (!h || !f || !n)
    return;
  slot_t *s = acquire(handle_of(h), "record");
  if (!s)
    return;
  (void)append_fields(s, f, n);
  cflame__span_unref(handle_of(h));
}

cflame_span_t *cflame_span_clone(cflame_span_t *h) {
  if (!h)
    return NULL;
  return acquire(handle_of(h), "clone") ? h : NULL;
}

void cflame_span_close(cflame_span_t *h) {
  if (h)
    release(handle_of(h), "close on a closed or invalid span handle");
}
