/* Registry-span slots: a slab that never shrinks, reused through a free
 * list; handles carry a generation so a closed one is caught, not used. */
#include "slab.h"

#include <stdlib.h>
#include <string.h>



static slot_t *chunks[CFLAME__CHUNKS];
static uint32_t nslots;    /* slots ever made */
static uint32_t free_head; /* index + 1, 0 = none */
static pthread_mutex_t slab_lock = PTHREAD_MUTEX_INITIALIZER;

static slot_t *slot_at(uint32_t i) {
  int k = cflame__chunk_of(i);
  return &chunks[k][cflame__chunk_off(i, k)];
}

void cflame__slot_lock(slot_t *s) {
  while (__atomic_exchange_n(&s->lock, 1, __ATOMIC_ACQUIRE))
    ;
}

void cflame__slot_unlock(slot_t *s) {
  __atomic_store_n(&s->lock, 0, __ATOMIC_RELEASE);
}

/* Adds delta to the references of h's slot while h is live (its
 * generation, at least one reference): the slot, and in *w the word it
 * held before; NULL if h is not live. */
static slot_t *slot_adjust(uint64_t h, uint64_t delta, uint64_t *w) {
  uint32_t idx = (uint32_t)h;
  uint32_t gen = (uint32_t)(h >> 32);
  if (idx == 0 || idx > ld_acquire(&nslots) || (h >> 62) != 0)
    return NULL;
  slot_t *s = slot_at(idx - 1);
  *w = ld_acquire(&s->word);
  do {
    if ((uint32_t)(*w >> 32) != gen || (uint32_t)*w == 0)
      return NULL;
  } while (!__atomic_compare_exchange_n(&s->word, w, *w + delta, 1,
                                        __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE));
  return s;
}

/* The slot of h if h is a live handle, with one more reference; else NULL
 * (reported as use of a closed span). */
slot_t *cflame__slab_acquire(uint64_t h, const char *op) {
  uint64_t w;
  slot_t *s = slot_adjust(h, 1, &w);
  if (!s)
    cflame__report(CFLAME_FAULT_CLOSED_SPAN,
                   "%s on a closed or invalid span handle; ignored", op);
  return s;
}

void (*cflame__slab_closing)(slot_t *s, uint64_t h);

/* Last reference gone (word w, refs 0): nobody can acquire the slot now,
 * so it is ours to clear before the new generation is published. */
static void slot_free(slot_t *s, uint64_t w, uint64_t h) {
  if (s->noted) {
    void (*closing)(slot_t *, uint64_t) = ld_acquire(&cflame__slab_closing);
    if (closing)
      closing(s, h);
    s->enters = 0; /* only a noted span's enters are counted */
    s->noted = 0;
  }
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
void cflame__slab_release(uint64_t h, const char *what) {
  uint64_t w;
  slot_t *s = slot_adjust(h, (uint64_t)-1, &w);
  if (!s)
    cflame__report(CFLAME_FAULT_CLOSED_SPAN, "%s; ignored", what);
  else if ((uint32_t)(w - 1) == 0)
    slot_free(s, w - 1, h);
}

void cflame__span_unref(uint64_t h) {
  cflame__slab_release(h, "a registry span was closed while entered: its exit");
}

slot_t *cflame__slab_new(uint32_t *index) {
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

void cflame__slab_lock_for_fork(void) {
  pthread_mutex_lock(&slab_lock);
}

void cflame__slab_unlock_after_fork(void) {
  pthread_mutex_unlock(&slab_lock);
}

void cflame__slab_after_fork_child(void) {
  /* A slot's spin lock taken by a thread that is not in the child would
   * spin for ever: only this thread runs, so every one is free now. */
  uint32_t n = ld_relaxed(&nslots);
  for (uint32_t i = 0; i < n; i++)
    __atomic_store_n(&slot_at(i)->lock, 0, __ATOMIC_RELAXED);
  pthread_mutex_unlock(&slab_lock);
}
